//! Plain-scalar resolution as yaml.v3 does it: `true/True/TRUE`, `null/~/""`, Go `ParseInt`
//! base-0 integers (so `0123` is octal 83, `0x1F` is 31, `1_000` is 1000), YAML floats,
//! `.inf`/`.nan`, and timestamps (re-printed as RFC 3339). `yes`/`on` stay strings.

use serde_json::{Number, Value};

/// Resolves a scalar node; quoted and explicitly `!!str`-tagged scalars stay strings.
pub(crate) fn resolve_scalar(text: &str, plain: bool, tag: Option<&str>) -> Value {
    match tag {
        Some("tag:yaml.org,2002:str") | Some("!!str") => return Value::String(text.to_string()),
        Some("tag:yaml.org,2002:int") | Some("!!int") => {
            return parse_go_int(text).unwrap_or_else(|| Value::String(text.to_string()));
        }
        Some("tag:yaml.org,2002:float") | Some("!!float") => {
            return text
                .parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(text.to_string()));
        }
        Some("tag:yaml.org,2002:bool") | Some("!!bool") => {
            if let Some(b) = parse_bool(text) {
                return Value::Bool(b);
            }
        }
        _ => {}
    }
    if !plain {
        return Value::String(text.to_string());
    }
    resolve_plain(text)
}

/// Resolves the text of a plain (unquoted) scalar.
pub fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        _ => {}
    }
    if let Some(b) = parse_bool(text) {
        return Value::Bool(b);
    }
    let first = text.as_bytes()[0];
    if first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.') {
        if let Some(v) = parse_go_int(text) {
            return v;
        }
        if is_yaml_float(text)
            && let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64)
        {
            return Value::Number(n);
        }
        if let Some(ts) = parse_timestamp(text) {
            return Value::String(ts);
        }
    }
    Value::String(text.to_string())
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint` for values above `i64::MAX`.
pub(crate) fn parse_go_int(text: &str) -> Option<Value> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits, prefixed) =
        if let Some(r) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
            (16, r, true)
        } else if let Some(r) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
            (8, r, true)
        } else if let Some(r) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
            (2, r, true)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..], true)
        } else {
            (10, body, false)
        };
    // Go allows underscores only with base prefix semantics (base 0), between digits.
    if digits.is_empty()
        || digits.starts_with('_') && !prefixed
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    if clean.is_empty() || !clean.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(&clean, radix).ok()?;
    if neg {
        let v = i128::try_from(magnitude).ok()?.checked_neg()?;
        i64::try_from(v).ok().map(|v| Value::Number(v.into()))
    } else if let Ok(v) = i64::try_from(magnitude) {
        Some(Value::Number(v.into()))
    } else {
        u64::try_from(magnitude)
            .ok()
            .map(|v| Value::Number(v.into()))
    }
}

/// yaml.v3's float pattern: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, plus infinities.
fn is_yaml_float(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mantissa_ok = if let Some(frac) = mantissa.strip_prefix('.') {
        !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit())
    } else {
        let mut parts = mantissa.splitn(2, '.');
        let int = parts.next().unwrap_or("");
        let frac = parts.next().unwrap_or("");
        !int.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
    };
    let exp_ok = match exp {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
        }
    };
    mantissa_ok && exp_ok
}

/// yaml.v3 timestamp forms, printed back as RFC 3339 (what Go's JSON encoding of a time gives).
fn parse_timestamp(text: &str) -> Option<String> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat};
    if text.len() >= 8
        && let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
    {
        return Some(format!("{}T00:00:00Z", d.format("%Y-%m-%d")));
    }
    let normalized = text.replacen('t', "T", 1);
    if let Ok(dt) = DateTime::parse_from_rfc3339(&normalized) {
        let use_z = dt.offset().local_minus_utc() == 0;
        return Some(dt.to_rfc3339_opts(SecondsFormat::AutoSi, use_z));
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(text, fmt) {
            return Some(dt.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true));
        }
    }
    None
}
