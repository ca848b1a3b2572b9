//! Field paths of `fields` expectations: dotted keys with `[n]` indices and quoted keys for
//! names holding dots or slashes (`metadata.labels["hyperfleet.io/cluster-id"]`).

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A path that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("empty path")]
    Empty,
    #[error("empty key at byte {0}")]
    EmptyKey(usize),
    #[error("unclosed '[' at byte {0}")]
    Unclosed(usize),
    #[error("{0:?} is neither an index nor a quoted key")]
    BadBracket(String),
}

/// Parses `a.b[0]["c.d"]`.
pub fn parse(path: &str) -> Result<Vec<Seg>, PathError> {
    let mut segs = Vec::new();
    let bytes = path.as_bytes();
    let mut i = 0;
    let mut key = String::new();
    let mut after_bracket = false;
    while i < bytes.len() {
        match bytes[i] {
            b'.' => {
                if key.is_empty() && !after_bracket {
                    return Err(PathError::EmptyKey(i));
                }
                if !key.is_empty() {
                    segs.push(Seg::Key(std::mem::take(&mut key)));
                }
                after_bracket = false;
                i += 1;
            }
            b'[' => {
                if !key.is_empty() {
                    segs.push(Seg::Key(std::mem::take(&mut key)));
                }
                let end = path[i..]
                    .find(']')
                    .map(|e| i + e)
                    .ok_or(PathError::Unclosed(i))?;
                let inner = &path[i + 1..end];
                segs.push(bracket(inner)?);
                after_bracket = true;
                i = end + 1;
            }
            _ => {
                let c = path[i..].chars().next().unwrap_or_default();
                key.push(c);
                after_bracket = false;
                i += c.len_utf8();
            }
        }
    }
    if !key.is_empty() {
        segs.push(Seg::Key(key));
    } else if !after_bracket && !segs.is_empty() {
        return Err(PathError::EmptyKey(path.len()));
    }
    if segs.is_empty() {
        return Err(PathError::Empty);
    }
    Ok(segs)
}

fn bracket(inner: &str) -> Result<Seg, PathError> {
    if let Ok(n) = inner.parse::<usize>() {
        return Ok(Seg::Index(n));
    }
    let quoted = (inner.len() >= 2)
        .then(|| {
            inner
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .or_else(|| inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        })
        .flatten();
    match quoted {
        Some(k) => Ok(Seg::Key(k.to_string())),
        None => Err(PathError::BadBracket(inner.to_string())),
    }
}

/// The value at `segs`, if there is one.
pub fn lookup<'a>(root: &'a Value, segs: &[Seg]) -> Option<&'a Value> {
    segs.iter().try_fold(root, |v, seg| match seg {
        Seg::Key(k) => v.as_object()?.get(k),
        Seg::Index(n) => v.as_array()?.get(*n),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_looks_up() {
        let doc = json!({"status": {"conditions": [{"type": "Applied"}]}, "m": {"a.b/c": 1}});
        let p = parse("status.conditions[0].type").unwrap();
        assert_eq!(lookup(&doc, &p), Some(&json!("Applied")));
        let p = parse(r#"m["a.b/c"]"#).unwrap();
        assert_eq!(p, [Seg::Key("m".into()), Seg::Key("a.b/c".into())]);
        assert_eq!(lookup(&doc, &p), Some(&json!(1)));
        assert_eq!(lookup(&doc, &parse("status.conditions[1]").unwrap()), None);
        assert_eq!(lookup(&doc, &parse("status.missing").unwrap()), None);
    }

    #[test]
    fn refuses_malformed_paths() {
        assert_eq!(parse(""), Err(PathError::Empty));
        assert_eq!(parse("a..b"), Err(PathError::EmptyKey(2)));
        assert_eq!(parse("a."), Err(PathError::EmptyKey(2)));
        assert_eq!(parse("a[0"), Err(PathError::Unclosed(1)));
        assert_eq!(parse("a[x]"), Err(PathError::BadBracket("x".into())));
    }
}
