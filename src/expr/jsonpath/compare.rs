//! Filter comparisons as Go's template functions (`eq`, `lt`, `le`) make them: by Go kind, an
//! int64 never equal to a float64, booleans not ordered.

use super::Reason;
use super::eval::Item;
use serde_json::Value;
use std::cmp::Ordering;

/// A value's kind as Go's template comparison functions see it.
#[derive(Debug, PartialEq)]
enum Kind<'v> {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'v str),
}

const BAD_TYPE: &str = "invalid type for comparison";
const INCOMPATIBLE: &str = "incompatible types for comparison";

fn kind<'v>(i: &'v Item) -> Result<Kind<'v>, Reason> {
    match i.v.as_ref() {
        Value::Bool(b) => Ok(Kind::Bool(*b)),
        Value::String(s) => Ok(Kind::Str(s)),
        Value::Number(n) => match n.as_i64() {
            Some(x) if i.ints && !n.is_f64() => Ok(Kind::Int(x)),
            _ => Ok(Kind::Float(n.as_f64().unwrap_or(f64::NAN))),
        },
        _ => Err(BAD_TYPE.into()),
    }
}

pub(super) fn equal(a: &Item, b: &Item) -> Result<bool, Reason> {
    Ok(match (kind(a)?, kind(b)?) {
        (Kind::Bool(x), Kind::Bool(y)) => x == y,
        (Kind::Int(x), Kind::Int(y)) => x == y,
        (Kind::Float(x), Kind::Float(y)) => x == y,
        (Kind::Str(x), Kind::Str(y)) => x == y,
        _ => return Err(INCOMPATIBLE.into()),
    })
}

pub(super) fn less(a: &Item, b: &Item) -> Result<bool, Reason> {
    Ok(match (kind(a)?, kind(b)?) {
        (Kind::Int(x), Kind::Int(y)) => x < y,
        (Kind::Float(x), Kind::Float(y)) => x.partial_cmp(&y) == Some(Ordering::Less),
        (Kind::Str(x), Kind::Str(y)) => x < y,
        (Kind::Bool(_), Kind::Bool(_)) => return Err(BAD_TYPE.into()),
        _ => return Err(INCOMPATIBLE.into()),
    })
}

pub(super) fn less_equal(a: &Item, b: &Item) -> Result<bool, Reason> {
    if less(a, b)? {
        return Ok(true);
    }
    equal(a, b)
}

/// The Go type of a JSON value as the adapter decodes it.
pub(super) fn go_type(v: &Value, ints: bool) -> &'static str {
    match v {
        Value::Object(_) => "map[string]interface {}",
        Value::Array(_) => "[]interface {}",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        Value::Number(n) if ints && n.is_i64() => "int64",
        Value::Number(_) => "float64",
        Value::Null => "<nil>",
    }
}
