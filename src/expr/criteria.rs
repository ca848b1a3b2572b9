//! Structured precondition conditions: the eight operators with the Go adapter's semantics
//! (type-strict equality, `exists` emptiness rules) and error texts.

use super::gofmt::sprint;
use serde_json::Value;

text_error!(
    /// Why a condition could not be evaluated (the Go adapter's texts); the precondition fails.
    CriteriaError
);

/// The operators a condition may use.
pub const OPERATORS: &[&str] = &[
    "equals",
    "notEquals",
    "in",
    "notIn",
    "contains",
    "greaterThan",
    "lessThan",
    "exists",
];

/// Evaluates `field <op> expected`. Errors make the precondition FAILED (not NOT_MET).
pub fn evaluate(op: &str, field: &Value, expected: Option<&Value>) -> Result<bool, CriteriaError> {
    let exp = expected.unwrap_or(&Value::Null);
    match op {
        "equals" => Ok(strict_eq(field, exp)),
        "notEquals" => Ok(!strict_eq(field, exp)),
        "in" => contains_in_list(exp, field),
        "notIn" => contains_in_list(exp, field).map(|b| !b),
        "contains" => contains(field, exp),
        "greaterThan" => compare(field, exp).map(|(a, b)| a > b),
        "lessThan" => compare(field, exp).map(|(a, b)| a < b),
        "exists" => Ok(exists(field)),
        other => Err(format!("unsupported operator: {other}").into()),
    }
}

/// Go's `reflect.DeepEqual` over decoded JSON/YAML: a float never equals an integer.
pub fn strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if x.is_f64() != y.is_f64() {
                return false;
            }
            x == y || (x.as_f64() == y.as_f64() && x.is_f64())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| strict_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| strict_eq(v, w)))
        }
        _ => a == b,
    }
}

fn contains_in_list(list: &Value, needle: &Value) -> Result<bool, CriteriaError> {
    match list {
        Value::Null => Err("expected list cannot be nil".into()),
        Value::Array(items) => Ok(items.iter().any(|i| strict_eq(i, needle))),
        other => Err(format!("expected list to be a slice or array, got {}", kind(other)).into()),
    }
}

fn contains(field: &Value, needle: &Value) -> Result<bool, CriteriaError> {
    if field.is_null() {
        return Err("fieldValue cannot be nil".into());
    }
    if needle.is_null() {
        return Err("needle cannot be nil".into());
    }
    match field {
        Value::String(s) => match needle {
            Value::String(n) => Ok(s.contains(n.as_str())),
            _ => Err("needle must be a string when field is a string".into()),
        },
        Value::Object(m) => Ok(match needle {
            Value::String(k) => m.contains_key(k),
            other => m.contains_key(&sprint(other)),
        }),
        Value::Array(items) => Ok(items.iter().any(|i| strict_eq(i, needle))),
        _ => Err("contains operator requires string, slice, array, or map field type".into()),
    }
}

fn compare(field: &Value, exp: &Value) -> Result<(f64, f64), CriteriaError> {
    let a = number(field).map_err(|e| format!("failed to convert field value to number: {e}"))?;
    let b =
        number(exp).map_err(|e| format!("failed to convert comparison value to number: {e}"))?;
    Ok((a, b))
}

fn number(v: &Value) -> Result<f64, CriteriaError> {
    match v {
        Value::Number(n) => Ok(n.as_f64().unwrap_or_default()),
        other => Err(format!(
            "cannot convert {} to float64",
            super::convert::go_type(other)
        )
        .into()),
    }
}

/// `exists`: false for null, `""`, empty list or map; true otherwise (`false` and `0` included).
pub fn exists(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        _ => true,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Object(_) => "map",
        _ => "invalid",
    }
}

/// The NOT_MET detail for one failed condition: `<field> <op> <expected> (actual: <value>)`.
pub fn describe_failure(field: &str, op: &str, expected: Option<&Value>, actual: &Value) -> String {
    let exp = expected.map(sprint).unwrap_or_else(|| "<nil>".into());
    format!("{field} {op} {exp} (actual: {})", sprint(actual))
}

#[cfg(test)]
mod tests;
