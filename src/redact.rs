//! Secrets kept out of everything the adapter prints: log lines at every level, the dry-run
//! trace (text and JSON), `config-dump`, `/config`, and the errors `main` prints.
//!
//! Two rules, applied wherever text leaves the process:
//! - **URL userinfo**: the password of any `scheme://user:password@host` becomes `***`
//!   (`amqp://user:***@host`), wherever the URL appears (a config value, an HTTP client error,
//!   a retry log line's `url.full`).
//! - **Secret values**: the value of every environment variable whose name looks secret
//!   ([`looks_secret`]) — and, in the dry-run trace, of every param whose name looks secret or
//!   that reads such a variable — is replaced by [`REDACTED`] wherever it appears. Values
//!   shorter than [`MIN_SECRET_LEN`] characters, `true`/`false` and numbers are not masked (they
//!   would blank out unrelated text such as every `true` in a log).

use std::borrow::Cow;
use std::sync::RwLock;

/// What a secret value is replaced by.
pub const REDACTED: &str = "**REDACTED**";

/// What the password of a URL is replaced by.
pub const URL_PASSWORD_MASK: &str = "***";

/// Shorter values are not masked (see the module docs).
pub const MIN_SECRET_LEN: usize = 4;

/// Whether a variable or param name says its value is a secret.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_uppercase();
    ["TOKEN", "PASSWORD", "PASSWD", "SECRET", "KEY", "CREDENTIAL"]
        .iter()
        .any(|s| upper.contains(s))
}

/// Replaces the password of every URL in `text` with [`URL_PASSWORD_MASK`].
pub fn redact_urls(text: &str) -> Cow<'_, str> {
    if !text.contains("://") || !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends at the first character that cannot be in it.
        let end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>' | '`') || c.is_whitespace()
            })
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..colon + 1]);
                out.push_str(URL_PASSWORD_MASK);
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Values to mask.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Secrets {
    /// Longest first, so a secret that contains another is masked whole.
    values: Vec<String>,
}

impl Secrets {
    /// The values of the variables in `vars` whose names look secret.
    pub fn from_env<'a>(vars: impl IntoIterator<Item = (&'a String, &'a String)>) -> Secrets {
        let mut s = Secrets::default();
        for (name, value) in vars {
            if looks_secret(name) {
                s.add(value);
            }
        }
        s
    }

    /// Adds a value (ignored when too short or plainly not a secret).
    pub fn add(&mut self, value: &str) {
        let worth = value.chars().count() >= MIN_SECRET_LEN
            && !matches!(value, "true" | "false")
            && value.parse::<f64>().is_err();
        if worth && !self.values.iter().any(|v| v == value) {
            self.values.push(value.to_string());
            self.values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with URL passwords and secret values masked.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = redact_urls(text);
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = Cow::Owned(out.replace(v.as_str(), REDACTED));
            }
        }
        out
    }

    /// Masks every string (keys and values) of a JSON value in place.
    pub fn mask_json(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(s) => {
                if let Cow::Owned(m) = self.mask(s) {
                    *s = m;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask_json(v)),
            Value::Object(map) => self.mask_map(map),
            _ => {}
        }
    }

    /// Masks every key and value of a JSON object in place.
    pub fn mask_map(&self, map: &mut serde_json::Map<String, serde_json::Value>) {
        map.values_mut().for_each(|v| self.mask_json(v));
        if !map.keys().any(|k| matches!(self.mask(k), Cow::Owned(_))) {
            return;
        }
        let masked: serde_json::Map<String, serde_json::Value> = std::mem::take(map)
            .into_iter()
            .map(|(k, v)| (self.mask(&k).into_owned(), v))
            .collect();
        *map = masked;
    }
}

static GLOBAL: RwLock<Option<Secrets>> = RwLock::new(None);

/// Sets the secrets every log line is masked with (done once at startup, from the process
/// environment).
pub fn install(secrets: Secrets) {
    if let Ok(mut g) = GLOBAL.write() {
        *g = Some(secrets);
    }
}

/// Masks `text` with the installed secrets (URL passwords always).
pub fn mask(text: &str) -> Cow<'_, str> {
    match GLOBAL.read().ok().as_deref().and_then(Option::as_ref) {
        Some(s) => s.mask(text),
        None => redact_urls(text),
    }
}

/// Masks a JSON object (a log line) with the installed secrets (URL passwords always).
pub fn mask_map(map: &mut serde_json::Map<String, serde_json::Value>) {
    match GLOBAL.read().ok().as_deref().and_then(Option::as_ref) {
        Some(s) => s.mask_map(map),
        None => Secrets::default().mask_map(map),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_masked_wherever_they_appear() {
        assert_eq!(
            redact_urls("GET http://u:p4ss@api:8000/x failed"),
            "GET http://u:***@api:8000/x failed"
        );
        assert_eq!(
            redact_urls("a amqp://guest:guest@h:5672/ and https://x:y@z"),
            "a amqp://guest:***@h:5672/ and https://x:***@z"
        );
        assert_eq!(
            redact_urls("{\"url\":\"http://a:b@c/d\"}"),
            "{\"url\":\"http://a:***@c/d\"}"
        );
        assert_eq!(redact_urls("http://host/p@x:1"), "http://host/p@x:1");
        assert_eq!(redact_urls("http://user@host"), "http://user@host");
        assert!(matches!(redact_urls("no urls"), Cow::Borrowed(_)));
    }

    #[test]
    fn secret_values_are_masked_by_name() {
        let vars: Vec<(String, String)> = [
            ("API_TOKEN", "s3cr3t-token-value"),
            ("DB_PASSWORD", "hunter22"),
            ("REGION", "eu-west-1"),
            ("FEATURE_KEY", "true"),
            ("SHORT_SECRET", "ab"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let s = Secrets::from_env(vars.iter().map(|(k, v)| (k, v)));
        assert_eq!(
            s.mask("token=s3cr3t-token-value pw=hunter22 region=eu-west-1 ok=true"),
            "token=**REDACTED** pw=**REDACTED** region=eu-west-1 ok=true"
        );
        let mut v = serde_json::json!({"a": ["x hunter22"], "hunter22": 1});
        s.mask_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"a": ["x **REDACTED**"], "**REDACTED**": 1})
        );
    }
}
