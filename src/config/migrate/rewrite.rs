//! The only rewrites of template and CEL text (contract §5.5, §5.6, §3.11): the legacy
//! `metadata` variable becomes `adapter.name` / `config.adapter.name` or is folded to its
//! literal value, and renamed names follow their new spelling. Everything else in the text is
//! left byte for byte.

/// What the rewrites need to know about the legacy file.
#[derive(Debug, Clone, Default)]
pub(super) struct Rules {
    /// `metadata.namespace` of an M file (`None`: not available, a reference is refused).
    pub(super) namespace: Option<String>,
    /// `metadata.labels` seen by the templates (`None`: not available).
    pub(super) labels: Option<Vec<(String, String)>>,
    /// A user param called `adapter` exists: templates must write `.config.adapter.name`.
    pub(super) user_adapter: bool,
    /// A user param called `config` exists: `config.adapter.name` would read it.
    pub(super) user_config: bool,
    /// Old name → new name (preconditions and params renamed by §3.11).
    pub(super) renames: Vec<(String, String)>,
}

/// A reference the rewrites cannot express.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    #[error(
        "the template variable .eventMetadata (CloudEvent attributes, Dec 2025) has no equivalent \
         in the current format; rewrite the template to read the event data"
    )]
    EventMetadata,
    #[error(
        "`{0}` reads the legacy metadata variable in a way that has no equivalent (only \
         metadata.name, metadata.namespace and single labels can be converted)"
    )]
    Metadata(String),
    #[error("`{0}` reads metadata.namespace, which only the merged single-file format had")]
    NoNamespace(String),
    #[error(
        "`{0}` reads a metadata label that the file does not define (or the adapter file was not given)"
    )]
    NoLabel(String),
    #[error(
        "`{0}` must become config.adapter.name, but a user param called `config` hides the \
         built-in; rename that param first"
    )]
    ConfigShadowed(String),
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The identifier starting at byte `i` of `s`.
fn ident_at(s: &str, i: usize) -> &str {
    let end = s[i..]
        .char_indices()
        .find(|&(_, c)| !ident_char(c))
        .map_or(s.len(), |(j, _)| i + j);
    &s[i..end]
}

fn go_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Rules {
    fn label(&self, key: &str, shown: &str) -> Result<String, RewriteError> {
        self.labels
            .as_ref()
            .and_then(|l| l.iter().find(|(k, _)| k == key))
            .map(|(_, v)| v.clone())
            .ok_or_else(|| RewriteError::NoLabel(shown.to_string()))
    }

    fn renamed(&self, name: &str) -> Option<&str> {
        self.renames
            .iter()
            .find(|(o, _)| o == name)
            .map(|(_, n)| n.as_str())
    }

    /// Rewrites the Go template actions of `text`; `None` when nothing changes.
    pub(super) fn template(&self, text: &str) -> Result<Option<String>, RewriteError> {
        if !text.contains("{{") {
            return Ok(None);
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        // One entry per open block: whether it rebinds the dot (range, with, block).
        let mut scopes: Vec<bool> = Vec::new();
        while let Some(open) = rest.find("{{") {
            out.push_str(&rest[..open]);
            let after = &rest[open + 2..];
            let Some(close) = action_end(after) else {
                out.push_str(&rest[open..]);
                rest = "";
                break;
            };
            let inner = &after[..close];
            let root = !scopes.iter().any(|&r| r);
            out.push_str(&self.action(inner, root)?);
            let body = inner.trim_start_matches('-').trim();
            match body.split(|c: char| c.is_whitespace()).next().unwrap_or("") {
                "range" | "with" | "block" => scopes.push(true),
                "if" | "define" => scopes.push(false),
                "end" => {
                    scopes.pop();
                }
                _ => {}
            }
            rest = &after[close + 2..];
        }
        out.push_str(rest);
        Ok((out != text).then_some(out))
    }

    /// One action `{{inner}}` rewritten (with its braces).
    fn action(&self, inner: &str, root: bool) -> Result<String, RewriteError> {
        let trimmed = inner.trim();
        let simple = !inner.starts_with('-') && !inner.ends_with('-');
        if simple {
            if trimmed == ".metadata.namespace" || trimmed == "$.metadata.namespace" {
                let shown = format!("{{{{{inner}}}}}");
                if root || trimmed.starts_with('$') {
                    return self
                        .namespace
                        .clone()
                        .ok_or(RewriteError::NoNamespace(shown));
                }
            }
            if let Some(key) = label_index(trimmed).or_else(|| label_field(trimmed))
                && (root || trimmed.contains('$'))
            {
                return self.label(&key, &format!("{{{{{inner}}}}}"));
            }
        }
        let mut out = String::new();
        let b = inner.as_bytes();
        let mut i = 0;
        while i < inner.len() {
            let c = inner[i..].chars().next().unwrap_or(' ');
            if c == '"' || c == '`' || c == '\'' {
                let end = skip_literal(inner, i, c);
                out.push_str(&inner[i..end]);
                i = end;
                continue;
            }
            let prev = if i == 0 { ' ' } else { b[i - 1] as char };
            let dollar = prev == '$';
            let bounded = !ident_char(prev) && prev != ')' && prev != ']' && prev != '.';
            if c == '.' && (bounded || dollar) && (root || dollar) {
                let (used, text) = self.field_ref(inner, i)?;
                if used > 0 {
                    out.push_str(&text);
                    i += used;
                    continue;
                }
            }
            if inner[i..].starts_with("index")
                && bounded
                && let Some((used, text)) = self.index_ref(inner, i, root)?
            {
                out.push_str(&text);
                i += used;
                continue;
            }
            out.push(c);
            i += c.len_utf8();
        }
        Ok(format!("{{{{{out}}}}}"))
    }

    /// A field chain `.a.b…` at byte `i`; returns the bytes consumed and their replacement.
    fn field_ref(&self, s: &str, i: usize) -> Result<(usize, String), RewriteError> {
        let first = ident_at(s, i + 1);
        if first.is_empty() {
            return Ok((0, String::new()));
        }
        if first == "eventMetadata" {
            return Err(RewriteError::EventMetadata);
        }
        if first == "metadata" {
            let after = i + 1 + first.len();
            let second = s[after..]
                .strip_prefix('.')
                .map(|r| ident_at(r, 0))
                .unwrap_or("");
            let shown = s[i..].split_whitespace().next().unwrap_or("").to_string();
            return match second {
                "name" => {
                    let name = if self.user_adapter {
                        ".config.adapter.name"
                    } else {
                        ".adapter.name"
                    };
                    Ok((after + 5 - i, name.to_string()))
                }
                "namespace" => {
                    let ns = self
                        .namespace
                        .as_ref()
                        .ok_or(RewriteError::NoNamespace(shown))?;
                    Ok((after + 10 - i, go_string(ns)))
                }
                "labels" => {
                    let rest = &s[after + 7..];
                    let key = rest
                        .strip_prefix('.')
                        .map(|r| ident_at(r, 0))
                        .filter(|k| !k.is_empty())
                        .ok_or(RewriteError::Metadata(shown.clone()))?;
                    let v = self.label(key, &shown)?;
                    Ok((after + 8 + key.len() - i, go_string(&v)))
                }
                _ => Err(RewriteError::Metadata(shown)),
            };
        }
        if let Some(new) = self.renamed(first) {
            return Ok((first.len() + 1, format!(".{new}")));
        }
        Ok((0, String::new()))
    }

    /// `index .metadata.labels "k"`, `index . "Old"` at byte `i`.
    fn index_ref(
        &self,
        s: &str,
        i: usize,
        root: bool,
    ) -> Result<Option<(usize, String)>, RewriteError> {
        let rest = &s[i + 5..];
        let args = rest.trim_start();
        let ws = rest.len() - args.len();
        if ws == 0 {
            return Ok(None);
        }
        let (target, tail) = match args.split_once(|c: char| c.is_whitespace()) {
            Some(p) => p,
            None => return Ok(None),
        };
        let key_text = tail.trim_start();
        if !key_text.starts_with('"') {
            return Ok(None);
        }
        let end = skip_literal(key_text, 0, '"');
        let key = &key_text[1..end - 1];
        let consumed = s.len() - (key_text.len() - end) - i;
        let dollar = target.starts_with('$');
        match target {
            ".metadata.labels" | "$.metadata.labels" if root || dollar => {
                let v = self.label(key, &s[i..i + consumed])?;
                Ok(Some((consumed, go_string(&v))))
            }
            "." | "$" if root || dollar => Ok(self.renamed(key).map(|new| {
                (
                    consumed,
                    format!("{}{target} {}", &s[i..i + 5 + ws], go_string(new)),
                )
            })),
            _ => Ok(None),
        }
    }

    /// Rewrites a CEL expression with the params scope; `None` when nothing changes.
    pub(super) fn cel(&self, text: &str) -> Result<Option<String>, RewriteError> {
        let bound = macro_bound(text);
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        while i < text.len() {
            let c = text[i..].chars().next().unwrap_or(' ');
            if c == '"' || c == '\'' {
                let end = skip_literal(text, i, c);
                out.push_str(&text[i..end]);
                i = end;
                continue;
            }
            if !(c.is_ascii_alphabetic() || c == '_') {
                out.push(c);
                i += c.len_utf8();
                continue;
            }
            let id = ident_at(text, i);
            let prev = text[..i].trim_end().chars().last();
            let member = prev == Some('.') || text[..i].ends_with(|c: char| ident_char(c));
            if member {
                out.push_str(id);
                i += id.len();
                continue;
            }
            if id == "metadata" && !bound {
                let (used, new) = self.cel_metadata(text, i)?;
                out.push_str(&new);
                i += used;
                continue;
            }
            match self.renamed(id) {
                Some(new) => out.push_str(new),
                None => out.push_str(id),
            }
            i += id.len();
        }
        Ok((out != text).then_some(out))
    }

    fn cel_metadata(&self, s: &str, i: usize) -> Result<(usize, String), RewriteError> {
        let after = i + "metadata".len();
        let rest = &s[after..];
        let (sep, r) = if let Some(r) = rest.strip_prefix(".?") {
            (".?", r)
        } else if let Some(r) = rest.strip_prefix('.') {
            (".", r)
        } else {
            return Err(RewriteError::Metadata(
                s[i..].split_whitespace().next().unwrap_or("").into(),
            ));
        };
        let field = ident_at(r, 0);
        let shown = format!("metadata{sep}{field}");
        let used = after - i + sep.len() + field.len();
        match field {
            "name" => {
                if self.user_config {
                    return Err(RewriteError::ConfigShadowed(shown));
                }
                Ok((used, format!("config.adapter{sep}name")))
            }
            "namespace" => {
                let ns = self
                    .namespace
                    .as_ref()
                    .ok_or(RewriteError::NoNamespace(shown))?;
                Ok((used, go_string(ns)))
            }
            "labels" => {
                let labels = self.labels.as_ref().ok_or(RewriteError::NoLabel(shown))?;
                let items: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| format!("{}: {}", go_string(k), go_string(v)))
                    .collect();
                Ok((used, format!("{{{}}}", items.join(", "))))
            }
            _ => Err(RewriteError::Metadata(shown)),
        }
    }

    /// Rewrites a field path (`conditions[].field`, build `field`): a leading `metadata.name`
    /// segment and renamed first segments, also inside `{…}` JSONPath.
    pub(super) fn field_path(&self, text: &str) -> Result<Option<String>, RewriteError> {
        let mut out = String::new();
        let mut rest = text;
        if !text.contains('{') {
            return Ok(self.path_head(text)?.filter(|n| n != text));
        }
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..=open]);
            let inner = &rest[open + 1..];
            let close = inner.find('}').unwrap_or(inner.len());
            let path = &inner[..close];
            match path.strip_prefix('.') {
                Some(p) => match self.path_head(p)? {
                    Some(new) => {
                        out.push('.');
                        out.push_str(&new);
                    }
                    None => out.push_str(path),
                },
                None => out.push_str(path),
            }
            rest = &inner[close..];
        }
        out.push_str(rest);
        Ok((out != text).then_some(out))
    }

    fn path_head(&self, p: &str) -> Result<Option<String>, RewriteError> {
        let (lead, p) = match p.strip_prefix('.') {
            Some(r) => (".", r),
            None => ("", p),
        };
        let head = ident_at(p, 0);
        let tail = &p[head.len()..];
        if head == "metadata" {
            return if tail == ".name" || tail.starts_with(".name.") || tail.starts_with(".name[") {
                if self.user_config {
                    return Err(RewriteError::ConfigShadowed(p.to_string()));
                }
                Ok(Some(format!("{lead}config.adapter{tail}")))
            } else {
                Err(RewriteError::Metadata(p.to_string()))
            };
        }
        Ok(self.renamed(head).map(|new| format!("{lead}{new}{tail}")))
    }
}

/// The byte offset just past `}}` ending an action that starts at `s[0]`, skipping string
/// literals (a `}}` inside a quoted argument does not close the action).
fn action_end(s: &str) -> Option<usize> {
    let mut i = 0;
    while i < s.len() {
        let c = s[i..].chars().next()?;
        match c {
            '"' | '`' | '\'' => i = skip_literal(s, i, c),
            '}' if s[i..].starts_with("}}") => return Some(i),
            _ => i += c.len_utf8(),
        }
    }
    None
}

/// The offset just past the literal quoted by `q` that starts at `s[i]`.
fn skip_literal(s: &str, i: usize, q: char) -> usize {
    let mut chars = s[i + 1..].char_indices();
    while let Some((j, c)) = chars.next() {
        if c == '\\' && q != '`' {
            chars.next();
        } else if c == q {
            return i + 1 + j + 1;
        }
    }
    s.len()
}

/// `index .metadata.labels "k"` (or `$.metadata.labels`) as a whole action: the key.
fn label_index(s: &str) -> Option<String> {
    let rest = s.strip_prefix("index")?.trim_start();
    let rest = rest
        .strip_prefix(".metadata.labels")
        .or_else(|| rest.strip_prefix("$.metadata.labels"))?;
    let key = rest.trim().strip_prefix('"')?.strip_suffix('"')?;
    (!key.contains('"')).then(|| key.to_string())
}

/// `.metadata.labels.k` as a whole action: the key.
fn label_field(s: &str) -> Option<String> {
    let k = s
        .strip_prefix(".metadata.labels.")
        .or_else(|| s.strip_prefix("$.metadata.labels."))?;
    (!k.is_empty() && k.chars().all(ident_char)).then(|| k.to_string())
}

/// Whether a macro binds `metadata` as its variable (`items.map(metadata, …)`).
fn macro_bound(text: &str) -> bool {
    text.match_indices("metadata").any(|(i, _)| {
        text[..i].trim_end().ends_with('(') && text[i + 8..].trim_start().starts_with(',')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            namespace: Some("fleet-system".into()),
            labels: Some(vec![("team".into(), "blue".into())]),
            renames: vec![
                ("get-cluster".into(), "get_cluster".into()),
                ("Old".into(), "old".into()),
            ],
            ..Rules::default()
        }
    }

    #[test]
    fn templates() {
        let r = rules();
        let t = |s: &str| r.template(s).unwrap().unwrap_or_else(|| s.to_string());
        assert_eq!(t("{{ .metadata.name }}"), "{{ .adapter.name }}");
        assert_eq!(
            t("x-{{ $.metadata.name | lower }}"),
            "x-{{ $.adapter.name | lower }}"
        );
        assert_eq!(t("{{ .metadata.namespace }}"), "fleet-system");
        assert_eq!(
            t("{{ .metadata.namespace | upper }}"),
            "{{ \"fleet-system\" | upper }}"
        );
        assert_eq!(t("{{ index .metadata.labels \"team\" }}"), "blue");
        assert_eq!(
            t("{{ range .items }}{{ .metadata.name }}{{ end }}"),
            "{{ range .items }}{{ .metadata.name }}{{ end }}"
        );
        assert_eq!(
            t("{{ range .items }}{{ $.metadata.name }}{{ end }}{{ .metadata.name }}"),
            "{{ range .items }}{{ $.adapter.name }}{{ end }}{{ .adapter.name }}"
        );
        assert_eq!(
            t("{{ .Old.status }} {{ index . \"get-cluster\" }}"),
            "{{ .old.status }} {{ index . \"get_cluster\" }}"
        );
        assert_eq!(
            t("{{ $x.metadata.name }} {{ .clusterId }}"),
            "{{ $x.metadata.name }} {{ .clusterId }}"
        );
        assert_eq!(
            t("metadata: {{ \".metadata.name\" }}"),
            "metadata: {{ \".metadata.name\" }}"
        );
        assert!(matches!(
            r.template("{{ .eventMetadata.id }}"),
            Err(RewriteError::EventMetadata)
        ));
        assert!(matches!(
            r.template("{{ .metadata }}"),
            Err(RewriteError::Metadata(_))
        ));
        assert!(matches!(
            r.template("{{ index .metadata.labels \"nope\" }}"),
            Err(RewriteError::NoLabel(_))
        ));
    }

    #[test]
    fn cel() {
        let r = rules();
        let c = |s: &str| r.cel(s).unwrap().unwrap_or_else(|| s.to_string());
        assert_eq!(
            c("generation > 0 && metadata.name != \"\""),
            "generation > 0 && config.adapter.name != \"\""
        );
        assert_eq!(
            c("resources.job.metadata.name == 'metadata.name'"),
            "resources.job.metadata.name == 'metadata.name'"
        );
        assert_eq!(c("metadata.namespace"), "\"fleet-system\"");
        assert_eq!(c("metadata.labels.team"), "{\"team\": \"blue\"}.team");
        assert_eq!(
            c("Old.x + items.map(m, m.Old)"),
            "old.x + items.map(m, m.Old)"
        );
        assert_eq!(
            c("items.map(metadata, metadata.name)"),
            "items.map(metadata, metadata.name)"
        );
        assert!(r.cel("metadata").is_err());
    }

    #[test]
    fn field_paths() {
        let r = rules();
        let f = |s: &str| r.field_path(s).unwrap().unwrap_or_else(|| s.to_string());
        assert_eq!(f("metadata.name"), "config.adapter.name");
        assert_eq!(f("{.metadata.name}"), "{.config.adapter.name}");
        assert_eq!(f("Old.status.phase"), "old.status.phase");
        assert_eq!(f("clusterName"), "clusterName");
        assert!(r.field_path("metadata.labels").is_err());
    }
}
