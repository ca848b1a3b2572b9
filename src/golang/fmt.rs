//! Go's number and value printing, where our output must match what Go printed: `%g`
//! shortest floats (`1e+06`, `1.5`), `strconv.FormatFloat(f, 'f', -1)` for `type: string`
//! conversions, and `%v` of nested values (`map[a:1 b:x]`, `[1 a true]`, `<nil>`).

use serde_json::Value;

/// Shortest decimal digits of `f` and its decimal exponent: `f = 0.d1d2d3… × 10^dp`.
fn shortest_digits(f: f64) -> (String, i32) {
    let s = format!("{:e}", f.abs());
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    (digits.to_string(), exp.parse::<i32>().unwrap_or(0) + 1)
}

/// `strconv.FormatFloat(f, 'g', -1, 64)`, which is also what `%v` prints for a float64.
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let sign = if f < 0.0 { "-" } else { "" };
    let (digits, dp) = shortest_digits(f);
    let exp = dp - 1;
    if !(-4..6).contains(&exp) {
        let (head, tail) = digits.split_at(1);
        let frac = if tail.is_empty() {
            String::new()
        } else {
            format!(".{tail}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{head}{frac}e{esign}{:02}", exp.abs());
    }
    format!("{sign}{}", fixed(&digits, dp))
}

/// `strconv.FormatFloat(f, 'f', -1, 64)`: shortest digits, never an exponent.
pub fn format_float_fixed(f: f64) -> String {
    if !f.is_finite() {
        return format_float(f);
    }
    if f == 0.0 {
        return "0".into();
    }
    let sign = if f < 0.0 { "-" } else { "" };
    let (digits, dp) = shortest_digits(f);
    format!("{sign}{}", fixed(&digits, dp))
}

/// How Go's `encoding/json` writes a float64: shortest digits, `'f'` form between 1e-6 and 1e21,
/// else `'e'` form with a one-digit negative exponent kept short (`1e-7`, `1e+21`). `None` for
/// NaN and infinities, which `encoding/json` refuses.
pub fn json_float(f: f64) -> Option<String> {
    if !f.is_finite() {
        return None;
    }
    let abs = f.abs();
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        return Some(format_float_fixed(f));
    }
    let sign = if f < 0.0 { "-" } else { "" };
    let (digits, dp) = shortest_digits(f);
    let (head, tail) = digits.split_at(1);
    let frac = if tail.is_empty() {
        String::new()
    } else {
        format!(".{tail}")
    };
    let exp = dp - 1;
    let esign = if exp < 0 { '-' } else { '+' };
    Some(format!("{sign}{head}{frac}e{esign}{}", exp.abs()))
}

fn fixed(digits: &str, dp: i32) -> String {
    if dp <= 0 {
        format!("0.{}{}", "0".repeat((-dp) as usize), digits)
    } else if dp as usize >= digits.len() {
        format!("{}{}", digits, "0".repeat(dp as usize - digits.len()))
    } else {
        let (a, b) = digits.split_at(dp as usize);
        format!("{a}.{b}")
    }
}

/// Go's `fmt.Sprint` of a JSON-shaped value (`%v`): maps sorted by key as `map[k:v]`, lists as
/// `[a b]`, null as `<nil>`, floats in `%g` form.
pub fn sprint(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (_, Some(u)) => u.to_string(),
            _ => format_float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(sprint).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", k, sprint(&m[*k])))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go_percent_v() {
        assert_eq!(format_float(5.0), "5");
        assert_eq!(format_float(1.5), "1.5");
        assert_eq!(format_float(1234567.0), "1.234567e+06");
        assert_eq!(format_float(1000000.0), "1e+06");
        assert_eq!(format_float(-0.00001), "-1e-05");
        assert_eq!(format_float(100000.0), "100000");
        assert_eq!(format_float(0.0001), "0.0001");
        assert_eq!(format_float(1e21), "1e+21");
    }

    #[test]
    fn fixed_floats_never_use_exponents() {
        assert_eq!(format_float_fixed(5.0), "5");
        assert_eq!(format_float_fixed(1e21), "1000000000000000000000");
        assert_eq!(format_float_fixed(0.25), "0.25");
        assert_eq!(format_float_fixed(-1.5e-7), "-0.00000015");
    }

    #[test]
    fn sprint_nested_values() {
        let v = serde_json::json!({"b": "x", "a": 1, "c": [1, "a", true, null]});
        assert_eq!(sprint(&v), "map[a:1 b:x c:[1 a true <nil>]]");
    }
}
