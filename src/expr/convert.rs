//! Param `type:` conversions (§3.1.1): string, int/int64, float/float64, bool, with the Go
//! adapter's rules and error texts.

use super::gofmt::{format_float_fixed, sprint};
use serde_json::Value;

text_error!(
    /// Why a param value could not be converted to its declared `type:` (the Go adapter's texts).
    ConvertError
);

/// The types a param may declare.
pub const SUPPORTED: &[&str] = &["string", "int", "int64", "float", "float64", "bool"];

/// Converts `v` to `kind`.
pub fn convert(v: &Value, kind: &str) -> Result<Value, ConvertError> {
    match kind {
        "string" => Ok(Value::String(to_string(v))),
        "int" | "int64" => to_int(v).map(Value::from),
        "float" | "float64" => to_float(v).map(|f| {
            serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::Null)
        }),
        "bool" => to_bool(v).map(Value::Bool),
        other => Err(format!(
            "unsupported type: {other} (supported: string, int, int64, float, float64, bool)"
        )
        .into()),
    }
}

fn to_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => format_float_fixed(n.as_f64().unwrap_or_default()),
        other => sprint(other),
    }
}

fn to_int(v: &Value) -> Result<i64, ConvertError> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(i)
            } else if let Some(u) = n.as_u64() {
                Err(format!("uint64 value {u} overflows int64").into())
            } else {
                Ok(n.as_f64().unwrap_or_default().trunc() as i64)
            }
        }
        Value::String(s) => s
            .parse::<i64>()
            .or_else(|_| s.parse::<f64>().map(|f| f.trunc() as i64))
            .map_err(|_| format!("cannot convert string '{s}' to int").into()),
        Value::Bool(b) => Ok(i64::from(*b)),
        other => Err(format!("cannot convert {} to int", go_type(other)).into()),
    }
}

fn to_float(v: &Value) -> Result<f64, ConvertError> {
    match v {
        Value::Number(n) => Ok(n.as_f64().unwrap_or_default()),
        Value::String(s) => s
            .parse::<f64>()
            .map_err(|_| format!("cannot convert string '{s}' to float: strconv.ParseFloat: parsing {s:?}: invalid syntax").into()),
        Value::Bool(b) => Ok(if *b { 1.0 } else { 0.0 }),
        other => Err(format!("cannot convert {} to float", go_type(other)).into()),
    }
}

fn to_bool(v: &Value) -> Result<bool, ConvertError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => {
            if s.is_empty() {
                return Ok(false);
            }
            if let Some(b) = crate::golang::parse_bool(s) {
                return Ok(b);
            }
            match s.to_lowercase().as_str() {
                "yes" | "y" | "on" | "1" => Ok(true),
                "no" | "n" | "off" | "0" => Ok(false),
                _ => Err(format!("cannot convert string '{s}' to bool").into()),
            }
        }
        Value::Number(n) => Ok(n.as_f64().unwrap_or_default() != 0.0),
        other => Err(format!("cannot convert {} to bool", go_type(other)).into()),
    }
}

/// Go's `%T` name of a JSON-shaped value.
pub fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(n) if n.is_u64() => "uint64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

#[cfg(test)]
mod tests {
    use super::convert;
    use serde_json::json;

    #[test]
    fn to_string_rules() {
        assert_eq!(convert(&json!(5.0), "string").unwrap(), json!("5"));
        assert_eq!(
            convert(&json!(1e21), "string").unwrap(),
            json!("1000000000000000000000")
        );
        assert_eq!(convert(&json!(7), "string").unwrap(), json!("7"));
        assert_eq!(convert(&json!(true), "string").unwrap(), json!("true"));
        assert_eq!(
            convert(&json!({"a": 1}), "string").unwrap(),
            json!("map[a:1]")
        );
    }

    #[test]
    fn to_int_rules() {
        assert_eq!(convert(&json!(3.9), "int").unwrap(), json!(3));
        assert_eq!(convert(&json!(-3.9), "int64").unwrap(), json!(-3));
        assert_eq!(convert(&json!("42"), "int").unwrap(), json!(42));
        assert_eq!(convert(&json!("4.7"), "int").unwrap(), json!(4));
        assert_eq!(convert(&json!(true), "int").unwrap(), json!(1));
        assert_eq!(
            convert(&json!("x"), "int").unwrap_err().to_string(),
            "cannot convert string 'x' to int"
        );
        assert_eq!(
            convert(&json!(u64::MAX), "int").unwrap_err().to_string(),
            format!("uint64 value {} overflows int64", u64::MAX)
        );
        assert_eq!(
            convert(&json!([1]), "int").unwrap_err().to_string(),
            "cannot convert []interface {} to int"
        );
    }

    #[test]
    fn to_float_and_bool_rules() {
        assert_eq!(convert(&json!("1.5"), "float").unwrap(), json!(1.5));
        assert_eq!(convert(&json!(2), "float64").unwrap(), json!(2.0));
        assert!(
            convert(&json!("abc"), "float")
                .unwrap_err()
                .to_string()
                .starts_with("cannot convert string 'abc' to float")
        );
        for (s, b) in [
            ("yes", true),
            ("Y", true),
            ("on", true),
            ("1", true),
            ("t", true),
            ("TRUE", true),
            ("no", false),
            ("off", false),
            ("0", false),
            ("F", false),
            ("", false),
        ] {
            assert_eq!(convert(&json!(s), "bool").unwrap(), json!(b), "{s}");
        }
        assert_eq!(
            convert(&json!("maybe"), "bool").unwrap_err().to_string(),
            "cannot convert string 'maybe' to bool"
        );
        assert_eq!(convert(&json!(0), "bool").unwrap(), json!(false));
        assert_eq!(convert(&json!(2.5), "bool").unwrap(), json!(true));
        assert!(
            convert(&json!(1), "uuid")
                .unwrap_err()
                .to_string()
                .starts_with("unsupported type: uuid")
        );
    }
}
