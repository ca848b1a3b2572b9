//! Label selectors as the API server parses and matches them.

use super::*;
/// One label-selector requirement.
#[derive(Debug)]
pub(super) enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

impl Requirement {
    pub(super) fn matches(&self, labels: Option<&Value>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        match self {
            Requirement::Equals(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        }
    }
}

pub(super) fn valid_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 317
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

pub(super) fn valid_value(s: &str) -> bool {
    s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Parses a label selector the way the API server does (the subset the adapter and tests use).
pub(super) fn parse_selector(text: &str) -> Result<Vec<Requirement>, String> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
        .into_iter()
        .map(|p| {
            let p = p.trim();
            let bad = || format!("{p:?}: invalid label selector");
            let check = |k: &str, vs: &[&str]| {
                if valid_label(k) && vs.iter().all(|v| valid_value(v)) {
                    Ok(())
                } else {
                    Err(bad())
                }
            };
            let set = |rest: &str| -> Result<Vec<String>, String> {
                let inner = rest
                    .trim()
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(bad)?;
                Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
            };
            if let Some(k) = p.strip_prefix('!') {
                check(k, &[])?;
                return Ok(Requirement::NotExists(k.to_string()));
            }
            if let Some((k, v)) = p.split_once("!=") {
                check(k.trim(), &[v.trim()])?;
                return Ok(Requirement::NotEquals(k.trim().into(), v.trim().into()));
            }
            if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                check(k.trim(), &[v.trim()])?;
                return Ok(Requirement::Equals(k.trim().into(), v.trim().into()));
            }
            if let Some((k, rest)) = p.split_once(" notin ") {
                let vs = set(rest)?;
                check(k.trim(), &vs.iter().map(String::as_str).collect::<Vec<_>>())?;
                return Ok(Requirement::NotIn(k.trim().into(), vs));
            }
            if let Some((k, rest)) = p.split_once(" in ") {
                let vs = set(rest)?;
                check(k.trim(), &vs.iter().map(String::as_str).collect::<Vec<_>>())?;
                return Ok(Requirement::In(k.trim().into(), vs));
            }
            check(p, &[])?;
            Ok(Requirement::Exists(p.to_string()))
        })
        .collect()
}
