//! A block-style YAML emitter shaped like yaml.v3's output: sequences indented under their
//! key, strings quoted only when they would otherwise read back as another type or are not
//! valid plain scalars, multi-line strings as literal blocks, floats in Go's `%g` form.

use super::resolve_plain;
use crate::golang::fmt::format_float;
use serde_json::Value;
use std::fmt::Write;

/// Emits `value` with yaml.v3's default 4-space indentation.
pub fn to_yaml_string(value: &Value) -> String {
    to_yaml_string_indent(value, 4)
}

/// How one string is written as a single-line scalar: plain when it reads back as the same
/// string, else single- or double-quoted (never a block scalar).
pub fn inline_string(s: &str) -> String {
    if resolve_plain(s) == Value::String(s.to_string()) && !s.contains('\n') && plain_allowed(s) {
        return s.to_string();
    }
    double_quoted(s)
}

/// A string as a double-quoted scalar.
pub fn double_quoted_string(s: &str) -> String {
    double_quoted(s)
}

/// Emits `value` with the given indentation width.
pub fn to_yaml_string_indent(value: &Value, indent: usize) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => emit_map(&mut out, m, 0, indent),
        Value::Array(a) if !a.is_empty() => emit_seq(&mut out, a, 0, indent),
        other => {
            out.push_str(&scalar(other, 0, indent));
            out.push('\n');
        }
    }
    out
}

fn emit_map(out: &mut String, map: &serde_json::Map<String, Value>, level: usize, indent: usize) {
    for (k, v) in map {
        pad(out, level);
        out.push_str(&string_scalar(k, level, indent, true));
        out.push(':');
        emit_value_after_key(out, v, level, indent);
    }
}

fn emit_value_after_key(out: &mut String, v: &Value, level: usize, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            emit_map(out, m, level + indent, indent);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            emit_seq(out, a, level + indent, indent);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other, level + indent, indent));
            out.push('\n');
        }
    }
}

fn emit_seq(out: &mut String, items: &[Value], level: usize, indent: usize) {
    for item in items {
        pad(out, level);
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => {
                // The first key sits on the dash line; the rest align with it.
                let inner = level + 2;
                let mut first = true;
                for (k, v) in m {
                    if !first {
                        pad(out, inner);
                    }
                    first = false;
                    out.push_str(&string_scalar(k, inner, indent, true));
                    out.push(':');
                    emit_value_after_key(out, v, inner, indent);
                }
            }
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                emit_seq(out, a, level + 2, indent);
            }
            other => {
                out.push_str(&scalar(other, level + 2, indent));
                out.push('\n');
            }
        }
    }
}

fn pad(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn scalar(v: &Value, level: usize, indent: usize) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (_, Some(u)) => u.to_string(),
            _ => {
                let f = n.as_f64().unwrap_or_default();
                if f.is_infinite() {
                    if f > 0.0 {
                        ".inf".into()
                    } else {
                        "-.inf".into()
                    }
                } else if f.is_nan() {
                    ".nan".into()
                } else {
                    format_float(f)
                }
            }
        },
        Value::String(s) => string_scalar(s, level, indent, false),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

fn string_scalar(s: &str, level: usize, _indent: usize, is_key: bool) -> String {
    if resolve_plain(s) != Value::String(s.to_string()) {
        return double_quoted(s);
    }
    if s.contains('\n') && !is_key {
        return if literal_allowed(s) {
            literal_block(s, level)
        } else {
            double_quoted(s)
        };
    }
    if plain_allowed(s) {
        return s.to_string();
    }
    if s.chars().all(|c| !c.is_control() || c == '\t') {
        return format!("'{}'", s.replace('\'', "''"));
    }
    double_quoted(s)
}

fn literal_block(s: &str, level: usize) -> String {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let mut out = format!("|{chomp}");
    let body = if trailing >= 1 { &s[..s.len() - 1] } else { s };
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            pad(&mut out, level);
            out.push_str(line);
        }
    }
    // The caller appends the final newline.
    out
}

/// Literal blocks cannot express leading blank lines or indentation, nor trailing spaces.
fn literal_allowed(s: &str) -> bool {
    !s.starts_with([' ', '\n', '\t'])
        && !s.split('\n').any(|l| l.ends_with([' ', '\t']))
        && !s.chars().any(|c| c.is_control() && c != '\n')
}

/// libyaml's plain-scalar analysis, reduced to the cases that matter for config values.
fn plain_allowed(s: &str) -> bool {
    if s.is_empty() || s.starts_with(' ') || s.ends_with(' ') {
        return false;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // `-` and `?` and `:` are fine when followed by a non-space character.
        let second = s.chars().nth(1);
        let ok = matches!(first, '-' | '?' | ':') && second.is_some_and(|c| c != ' ');
        if !ok {
            return false;
        }
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.contains('\t') {
        return false;
    }
    if s.chars().any(|c| c.is_control() || c == '\u{feff}') {
        return false;
    }
    !(s.starts_with("---") || s.starts_with("..."))
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
