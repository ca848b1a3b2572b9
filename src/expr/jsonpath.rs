//! Kubernetes JSONPath (the `k8s.io/client-go/util/jsonpath` dialect) for condition fields,
//! captures and payload `field:` values: `a.b.c` (wrapped to `{.a.b.c}`), `{.a.b}`, `[0]`,
//! `[*]`, slices, `..` and filters `[?(@.x=='y')]`. Missing keys are not errors.

use serde_json::Value;

/// A compiled path.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    source: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(i64),
    Slice(Option<i64>, Option<i64>),
    Wildcard,
    Recursive,
    Filter(Filter),
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    path: Vec<Step>,
    op: Option<(String, Value)>,
}

impl JsonPath {
    /// Parses `a.b.c` or `{.a.b[0]}`.
    pub fn compile(text: &str) -> Result<JsonPath, String> {
        let t = text.trim();
        let inner = if let Some(body) = t.strip_prefix('{') {
            body.strip_suffix('}')
                .ok_or_else(|| format!("unclosed action in JSONPath {text:?}"))?
        } else {
            t
        };
        let inner = inner.trim();
        let inner = inner.strip_prefix('$').unwrap_or(inner);
        let body = if inner.starts_with('.') || inner.starts_with('[') || inner.is_empty() {
            inner.to_string()
        } else {
            format!(".{inner}")
        };
        let steps = parse_steps(&body).map_err(|e| format!("invalid JSONPath {text:?}: {e}"))?;
        Ok(JsonPath {
            source: text.to_string(),
            steps,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The top-level field the path starts with (`a` in `a.b[0]`), if it starts with one.
    pub fn root_field(&self) -> Option<&str> {
        match self.steps.first() {
            Some(Step::Field(name)) => Some(name),
            _ => None,
        }
    }

    /// Every match, in document order.
    pub fn find_all(&self, root: &Value) -> Vec<Value> {
        apply(&self.steps, vec![root.clone()])
    }

    /// The criteria-engine reading: no match or blank text → null; one match → it; several → a list.
    pub fn get(&self, root: &Value) -> Value {
        let mut found = self.find_all(root);
        match found.len() {
            0 => Value::Null,
            1 => {
                let v = found.remove(0);
                if is_blank(&v) { Value::Null } else { v }
            }
            _ => Value::Array(found),
        }
    }
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

fn apply(steps: &[Step], mut cur: Vec<Value>) -> Vec<Value> {
    for step in steps {
        let mut next = Vec::new();
        for v in &cur {
            step_into(step, v, &mut next);
        }
        cur = next;
    }
    cur
}

fn step_into(step: &Step, v: &Value, out: &mut Vec<Value>) {
    match step {
        Step::Field(name) => {
            if let Some(x) = v.as_object().and_then(|m| m.get(name)) {
                out.push(x.clone());
            }
        }
        Step::Index(i) => {
            if let Some(a) = v.as_array() {
                let idx = if *i < 0 { a.len() as i64 + i } else { *i };
                if let Some(x) = usize::try_from(idx).ok().and_then(|i| a.get(i)) {
                    out.push(x.clone());
                }
            }
        }
        Step::Slice(start, end) => {
            if let Some(a) = v.as_array() {
                let len = a.len() as i64;
                let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
                let s = norm(start.unwrap_or(0));
                let e = norm(end.unwrap_or(len));
                if s < e {
                    out.extend(a[s as usize..e as usize].iter().cloned());
                }
            }
        }
        Step::Wildcard => match v {
            Value::Array(a) => out.extend(a.iter().cloned()),
            Value::Object(m) => out.extend(m.values().cloned()),
            _ => {}
        },
        Step::Recursive => collect_recursive(v, out),
        Step::Filter(f) => {
            if let Some(a) = v.as_array() {
                out.extend(a.iter().filter(|item| filter_matches(f, item)).cloned());
            }
        }
    }
}

fn collect_recursive(v: &Value, out: &mut Vec<Value>) {
    out.push(v.clone());
    match v {
        Value::Array(a) => a.iter().for_each(|x| collect_recursive(x, out)),
        Value::Object(m) => m.values().for_each(|x| collect_recursive(x, out)),
        _ => {}
    }
}

fn filter_matches(f: &Filter, item: &Value) -> bool {
    let found = apply(&f.path, vec![item.clone()]);
    let Some((op, lit)) = &f.op else {
        return !found.is_empty();
    };
    found.iter().any(|v| compare(v, op, lit))
}

fn compare(v: &Value, op: &str, lit: &Value) -> bool {
    if let (Some(a), Some(b)) = (v.as_f64(), lit.as_f64()) {
        return match op {
            "==" => a == b,
            "!=" => a != b,
            "<" => a < b,
            ">" => a > b,
            "<=" => a <= b,
            ">=" => a >= b,
            _ => false,
        };
    }
    match op {
        "==" => v == lit,
        "!=" => v != lit,
        _ => match (v.as_str(), lit.as_str()) {
            (Some(a), Some(b)) => match op {
                "<" => a < b,
                ">" => a > b,
                "<=" => a <= b,
                ">=" => a >= b,
                _ => false,
            },
            _ => false,
        },
    }
}

fn parse_steps(s: &str) -> Result<Vec<Step>, String> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut steps = Vec::new();
    while i < b.len() {
        match b[i] {
            b'.' if b.get(i + 1) == Some(&b'.') => {
                steps.push(Step::Recursive);
                i += 2;
                if i < b.len() && b[i] != b'[' {
                    let start = i;
                    while i < b.len() && b[i] != b'.' && b[i] != b'[' {
                        i += 1;
                    }
                    steps.push(field_step(&s[start..i]));
                }
            }
            b'.' => {
                i += 1;
                let start = i;
                while i < b.len() && b[i] != b'.' && b[i] != b'[' {
                    i += 1;
                }
                let name = &s[start..i];
                if name.is_empty() {
                    if i < b.len() {
                        continue;
                    }
                    break;
                }
                steps.push(field_step(name));
            }
            b'[' => {
                let end = matching_bracket(s, i)?;
                steps.push(bracket_step(&s[i + 1..end])?);
                i = end + 1;
            }
            b' ' => i += 1,
            c => return Err(format!("unexpected character {:?}", c as char)),
        }
    }
    Ok(steps)
}

fn field_step(name: &str) -> Step {
    if name == "*" {
        Step::Wildcard
    } else {
        Step::Field(name.to_string())
    }
}

fn matching_bracket(s: &str, open: usize) -> Result<usize, String> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (i, c) in s[open..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => {
                depth -= 1;
                if depth == 0 {
                    return Ok(open + i);
                }
            }
            _ => {}
        }
    }
    Err("unterminated [".into())
}

fn bracket_step(inner: &str) -> Result<Step, String> {
    let t = inner.trim();
    if t == "*" {
        return Ok(Step::Wildcard);
    }
    if let Some(f) = t.strip_prefix("?(").and_then(|x| x.strip_suffix(')')) {
        return parse_filter(f).map(Step::Filter);
    }
    if let Some(q) = unquote(t) {
        return Ok(Step::Field(q));
    }
    if let Some((a, b)) = t.split_once(':') {
        let parse = |x: &str| -> Result<Option<i64>, String> {
            let x = x.split(':').next().unwrap_or("").trim();
            if x.is_empty() {
                Ok(None)
            } else {
                x.parse()
                    .map(Some)
                    .map_err(|_| format!("invalid slice bound {x:?}"))
            }
        };
        return Ok(Step::Slice(parse(a)?, parse(b)?));
    }
    t.parse::<i64>()
        .map(Step::Index)
        .map_err(|_| format!("invalid array index {t:?}"))
}

fn unquote(t: &str) -> Option<String> {
    for q in ['\'', '"'] {
        if t.len() >= 2 && t.starts_with(q) && t.ends_with(q) {
            return Some(t[1..t.len() - 1].to_string());
        }
    }
    None
}

fn parse_filter(f: &str) -> Result<Filter, String> {
    let f = f.trim();
    for op in ["==", "!=", "<=", ">=", "<", ">"] {
        if let Some((lhs, rhs)) = split_outside_quotes(f, op) {
            let path = filter_path(lhs.trim())?;
            let rhs = rhs.trim();
            let lit = match unquote(rhs) {
                Some(s) => Value::String(s),
                None => {
                    serde_json::from_str(rhs).unwrap_or_else(|_| Value::String(rhs.to_string()))
                }
            };
            return Ok(Filter {
                path,
                op: Some((op.to_string(), lit)),
            });
        }
    }
    Ok(Filter {
        path: filter_path(f)?,
        op: None,
    })
}

fn filter_path(p: &str) -> Result<Vec<Step>, String> {
    let rest = p
        .strip_prefix('@')
        .ok_or_else(|| format!("filter must start with @: {p:?}"))?;
    parse_steps(rest)
}

fn split_outside_quotes<'a>(s: &'a str, op: &str) -> Option<(&'a str, &'a str)> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if s[i..].starts_with(op) => return Some((&s[..i], &s[i + op.len()..])),
            None => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::JsonPath;
    use serde_json::json;

    fn get(path: &str, v: &serde_json::Value) -> serde_json::Value {
        JsonPath::compile(path).unwrap().get(v)
    }

    #[test]
    fn plain_and_braced_paths() {
        let v = json!({"a": {"b": {"c": 3}}, "s": "", "items": [{"adapter": "x", "n": 1}, {"adapter": "y", "n": 2}]});
        assert_eq!(get("a.b.c", &v), json!(3));
        assert_eq!(get("{.a.b.c}", &v), json!(3));
        assert_eq!(get("a.missing.c", &v), json!(null));
        assert_eq!(get("s", &v), json!(null), "blank output reads as nil");
        assert_eq!(get("{.items[*].adapter}", &v), json!(["x", "y"]));
        assert_eq!(get("{.items[0].adapter}", &v), json!("x"));
        assert_eq!(get("{.items[-1].n}", &v), json!(2));
        assert_eq!(get("{.items[?(@.adapter=='y')].n}", &v), json!(2));
        assert_eq!(get("{.items[?(@.n>1)].adapter}", &v), json!("y"));
        assert_eq!(get("{.items[0:1].adapter}", &v), json!("x"));
        assert_eq!(get("{..adapter}", &v), json!(["x", "y"]));
        assert_eq!(get("{.items[?(@.adapter)].n}", &v), json!([1, 2]));
    }

    #[test]
    fn null_parents_are_nil_and_bad_paths_fail() {
        let v = json!({"a": null});
        assert_eq!(get("a.b.c", &v), json!(null));
        assert!(JsonPath::compile("{.a[").is_err());
        assert!(JsonPath::compile("{.a.b").is_err());
        assert!(JsonPath::compile("{.items[x]}").is_err());
    }
}
