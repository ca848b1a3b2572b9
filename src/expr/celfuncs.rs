//! The adapter's custom CEL functions, written over JSON values so their rules are plain Rust
//! and testable without CEL.

use super::cel::{from_cel, to_cel};
use cel::extractors::Arguments;
use cel::{Context, ExecutionError, Value as Cel};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use std::sync::Arc;

type R = Result<Cel, ExecutionError>;

/// A custom function over JSON arguments.
type JsonFn = Box<dyn Fn(&[Value]) -> Result<Value, String> + Send + Sync>;

/// Registers the eight functions on an evaluation context; `now` is the evaluation time.
pub fn register(ctx: &mut Context<'_, '_>, now: DateTime<Utc>) {
    let fns: [(&str, JsonFn); 8] = [
        (
            "now",
            Box::new(move |_| {
                Ok(Value::String(
                    now.to_rfc3339_opts(SecondsFormat::Secs, true),
                ))
            }),
        ),
        (
            "toJson",
            Box::new(|a| arg(a, 0).map(|v| Value::String(to_json(v)))),
        ),
        ("dig", Box::new(|a| Ok(dig(arg(a, 0)?, str_arg(a, 1)?)))),
        (
            "conditionStatus",
            Box::new(|a| Ok(Value::String(condition_status(arg(a, 0)?, str_arg(a, 1)?)))),
        ),
        (
            "conditionAge",
            Box::new(move |a| Ok(Value::from(condition_age(arg(a, 0)?, str_arg(a, 1)?, now)))),
        ),
        (
            "stableFor",
            Box::new(move |a| {
                let secs = arg(a, 2)?
                    .as_f64()
                    .ok_or("stableFor: seconds must be a number")?;
                Ok(Value::Bool(stable_for(
                    arg(a, 0)?,
                    str_arg(a, 1)?,
                    secs as i64,
                    now,
                )))
            }),
        ),
        (
            "statusFeedbackValue",
            Box::new(|a| {
                Ok(Value::String(status_feedback_value(
                    arg(a, 0)?,
                    str_arg(a, 1)?,
                )))
            }),
        ),
        (
            "triState",
            Box::new(|a| {
                let t = arg(a, 0)?
                    .as_bool()
                    .ok_or("triState: arguments must be bool")?;
                let f = arg(a, 1)?
                    .as_bool()
                    .ok_or("triState: arguments must be bool")?;
                Ok(Value::String(tri_state(t, f).into()))
            }),
        ),
    ];
    for (name, f) in fns {
        let f = Arc::new(f);
        let name_owned = name.to_string();
        let _ = ctx.add_function(name, move |Arguments(args): Arguments| -> R {
            let json: Vec<Value> = args.iter().map(from_cel).collect();
            f(&json)
                .map(|v| to_cel(&v))
                .map_err(|e| ExecutionError::function_error(&name_owned, e))
        });
    }
}

fn arg(a: &[Value], i: usize) -> Result<&Value, String> {
    a.get(i)
        .ok_or_else(|| format!("missing argument {}", i + 1))
}

fn str_arg(a: &[Value], i: usize) -> Result<&str, String> {
    arg(a, i)?
        .as_str()
        .ok_or_else(|| format!("argument {} must be a string", i + 1))
}

/// Compact JSON with map keys sorted (as Go's encoding/json prints maps).
pub fn to_json(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut e: Vec<(&String, &Value)> = m.iter().collect();
                e.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(e.into_iter().map(|(k, v)| (k.clone(), sorted(v))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string(&sorted(v)).unwrap_or_default()
}

/// Dot-path traversal through maps and lists (numeric segments index lists); missing → null.
pub fn dig(target: &Value, path: &str) -> Value {
    let mut cur = target;
    for seg in path
        .trim()
        .split('.')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let next = match cur {
            Value::Object(m) => m.get(seg),
            Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return Value::Null,
        }
    }
    cur.clone()
}

fn find_condition<'a>(list: &'a Value, kind: &str) -> Option<&'a serde_json::Map<String, Value>> {
    list.as_array()?
        .iter()
        .filter_map(Value::as_object)
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
}

/// The `status` of the first condition of `type`, or `"Unknown"`.
pub fn condition_status(list: &Value, kind: &str) -> String {
    find_condition(list, kind)
        .and_then(|c| c.get("status"))
        .and_then(Value::as_str)
        .unwrap_or("Unknown")
        .to_string()
}

/// Whole seconds since the condition's `last_transition_time`, or -1.
pub fn condition_age(list: &Value, kind: &str, now: DateTime<Utc>) -> i64 {
    find_condition(list, kind)
        .and_then(|c| c.get("last_transition_time"))
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| (now - t.with_timezone(&Utc)).num_seconds())
        .unwrap_or(-1)
}

/// True iff the condition's status is `"True"` and it has held for at least `secs` seconds.
pub fn stable_for(list: &Value, kind: &str, secs: i64, now: DateTime<Utc>) -> bool {
    condition_status(list, kind) == "True" && {
        let age = condition_age(list, kind, now);
        age >= 0 && age >= secs
    }
}

/// `fb.values[name == N].fieldValue.string`, or `""`.
pub fn status_feedback_value(fb: &Value, name: &str) -> String {
    fb.get("values")
        .and_then(Value::as_array)
        .and_then(|vals| {
            vals.iter()
                .filter_map(Value::as_object)
                .find(|v| v.get("name").and_then(Value::as_str) == Some(name))
        })
        .and_then(|v| v.get("fieldValue"))
        .and_then(|fv| fv.get("string"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// `"True"` if `t`, else `"False"` if `f`, else `"Unknown"`.
pub fn tri_state(t: bool, f: bool) -> &'static str {
    if t {
        "True"
    } else if f {
        "False"
    } else {
        "Unknown"
    }
}
