//! The adapter's custom CEL functions, written over JSON values so their rules are plain Rust
//! and testable without CEL.

use super::cel::{from_cel, to_cel};
use cel::common::types::{CelMapKey, CelString};
use cel::common::value::{BuiltinRef, CowVal, Val};
use cel::extractors::Arguments;
use cel::{Context, ExecutionError, FunctionContext, Value as Cel};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use std::sync::Arc;

text_error!(
    /// Why one of the adapter's CEL functions refused its arguments (becomes the CEL evaluation
    /// error).
    CelFuncError
);

type R = Result<Cel, ExecutionError>;

/// A function over the evaluator's own values (the `cel` crate's function type, which it does
/// not name publicly): its arguments are not converted.
type RawFn = Box<
    dyn for<'c, 'a> Fn(&mut FunctionContext<'c, 'a>) -> Result<CowVal<'c, 'a>, ExecutionError>
        + Send
        + Sync,
>;

/// A custom function over JSON arguments.
type JsonFn = Box<dyn Fn(&[Value]) -> Result<Value, CelFuncError> + Send + Sync>;

/// Registers the eight functions on an evaluation context; `now` is the evaluation time.
pub fn register(ctx: &mut Context<'_, '_>, now: DateTime<Utc>) {
    let has: RawFn = Box::new(super::cel::presence::has);
    let _ = ctx.add_function(super::cel::presence::HAS, has);
    register_optional_helpers(ctx);
    let dig: RawFn = Box::new(dig_raw);
    let _ = ctx.add_function("dig", dig);
    let fns: [(&str, JsonFn); 7] = [
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
            Box::new(|a| to_json(arg(a, 0)?).map(Value::String)),
        ),
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
        let params = signature(name);
        let _ = ctx.add_function(name, move |Arguments(args): Arguments| -> R {
            check_overload(&name_owned, params, &args)?;
            let json: Vec<Value> = args.iter().map(from_cel).collect();
            f(&json)
                .map(|v| to_cel(&v))
                .map_err(|e| ExecutionError::function_error(&name_owned, e))
        });
    }
}

/// `dig(target, path)` over the evaluator's values: the walk reads maps and lists where they
/// live, and only the value found is converted (to JSON and back, as every custom function's
/// result is). Anything else on the way (an optional, a map with non-string keys, a
/// timestamp) takes the JSON path: the whole target converted, then [`dig`].
fn dig_raw<'c, 'a>(ftx: &mut FunctionContext<'c, 'a>) -> Result<CowVal<'c, 'a>, ExecutionError> {
    let path = match ftx.args.as_slice() {
        [_, p] => p.downcast_ref::<CelString>().map(|p| p.inner().to_string()),
        _ => None,
    };
    let Some(path) = path else {
        let args = ftx
            .args
            .iter()
            .map(|a| Cel::try_from(a.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        check_overload("dig", signature("dig"), &args)?;
        return Err(ExecutionError::function_error(
            "dig",
            "takes a target and a path",
        ));
    };
    let target: &(dyn Val + 'a) = ftx.args[0].as_ref();
    let json = match walk(target, &path) {
        Walk::Found(v) => from_cel(&Cel::try_from(v)?),
        Walk::Missing => Value::Null,
        Walk::Other => dig(&from_cel(&Cel::try_from(target)?), &path),
    };
    Ok(CowVal::Owned(super::cel::to_val(&json)))
}

/// Where a dig's walk over maps (string keys) and lists ended.
enum Walk<'b, 'v> {
    Found(&'b (dyn Val + 'v)),
    Missing,
    /// A value whose JSON form the walk cannot read off in place.
    Other,
}

fn walk<'b, 'v>(mut cur: &'b (dyn Val + 'v), path: &str) -> Walk<'b, 'v> {
    for seg in dig_segments(path) {
        let next = match cur.as_builtin() {
            BuiltinRef::Map(m) => {
                let found = m.inner().get(&CelMapKey::from(seg.to_string()));
                if found.is_none()
                    && m.inner()
                        .keys()
                        .any(|k| k.inner().downcast_ref::<CelString>().is_none())
                {
                    return Walk::Other;
                }
                found
            }
            BuiltinRef::List(l) => seg.parse::<usize>().ok().and_then(|i| l.inner().get(i)),
            _ => return Walk::Other,
        };
        match next {
            Some(v) => cur = v.as_ref(),
            None => return Walk::Missing,
        }
    }
    Walk::Found(cur)
}

/// The list helpers of cel-go's optional library that the Go adapter's `cel.OptionalTypes()`
/// brings and the `cel` crate lacks: `list.first()`, `list.last()` (an optional of the element)
/// and `optional.unwrap(list)` (the values of the optionals that have one).
fn register_optional_helpers(ctx: &mut Context<'_, '_>) {
    use cel::extractors::This;
    use cel::objects::OptionalValue;
    fn optional(v: Option<&Cel>) -> Cel {
        Cel::Opaque(Arc::new(match v {
            Some(v) => OptionalValue::of(v.clone()),
            None => OptionalValue::none(),
        }))
    }
    let _ = ctx.add_function("first", |This(list): This<Arc<Vec<Cel>>>| {
        optional(list.first())
    });
    let _ = ctx.add_function("last", |This(list): This<Arc<Vec<Cel>>>| {
        optional(list.last())
    });
    let _ = ctx.add_function("optional.unwrap", |list: Arc<Vec<Cel>>| -> R {
        let mut out = Vec::new();
        for item in list.iter() {
            let Cel::Opaque(o) = item else {
                return Err(ExecutionError::no_such_overload(
                    "optional.unwrap",
                    vec![item.type_of().to_string()],
                ));
            };
            match o.downcast_ref::<OptionalValue>() {
                Some(opt) => out.extend(opt.value().cloned()),
                None => {
                    return Err(ExecutionError::no_such_overload(
                        "optional.unwrap",
                        vec!["opaque".into()],
                    ));
                }
            }
        }
        Ok(Cel::List(Arc::new(out)))
    });
}

/// A parameter type of a custom function's declaration in the Go adapter.
#[derive(Clone, Copy, PartialEq)]
enum Param {
    Dyn,
    List,
    Str,
    Int,
    Bool,
}

/// The declared parameters of each custom function (`../shared/spec/upstream-behaviour.md`
/// §5.3): cel-go dispatches on them at run time, so a call that matches none is an error.
fn signature(name: &str) -> &'static [Param] {
    use Param::*;
    match name {
        "now" => &[],
        "toJson" => &[Dyn],
        "dig" | "statusFeedbackValue" => &[Dyn, Str],
        "conditionStatus" | "conditionAge" => &[List, Str],
        "stableFor" => &[List, Str, Int],
        "triState" => &[Bool, Bool],
        _ => &[],
    }
}

/// Refuses a call whose arguments match no declared overload, naming their CEL types.
fn check_overload(name: &str, params: &[Param], args: &[Cel]) -> Result<(), ExecutionError> {
    let fits = args.len() == params.len()
        && params.iter().zip(args).all(|(p, a)| match p {
            Param::Dyn => true,
            Param::List => matches!(a, Cel::List(_)),
            Param::Str => matches!(a, Cel::String(_)),
            Param::Int => matches!(a, Cel::Int(_)),
            Param::Bool => matches!(a, Cel::Bool(_)),
        });
    if fits {
        return Ok(());
    }
    let types = args
        .iter()
        .map(|a| match a {
            Cel::Null => "null_type".to_string(),
            Cel::Float(_) => "double".to_string(),
            other => other.type_of().to_string(),
        })
        .collect();
    Err(ExecutionError::no_such_overload(name, types))
}

fn arg(a: &[Value], i: usize) -> Result<&Value, CelFuncError> {
    a.get(i)
        .ok_or_else(|| format!("missing argument {}", i + 1).into())
}

fn str_arg(a: &[Value], i: usize) -> Result<&str, CelFuncError> {
    arg(a, i)?
        .as_str()
        .ok_or_else(|| format!("argument {} must be a string", i + 1).into())
}

/// Compact JSON as Go's `encoding/json` writes the native value: map keys sorted, a float64 in
/// Go's form (`3`, not `3.0`; `1e-7`; `1e+21`). Strings are not HTML-escaped
/// (docs/compatibility.md). NaN and infinities are refused, as Go refuses them.
pub fn to_json(v: &Value) -> Result<String, CelFuncError> {
    let mut out = String::new();
    write_json(v, &mut out)?;
    Ok(out)
}

fn write_json(v: &Value, out: &mut String) -> Result<(), CelFuncError> {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_json(v, out)?;
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(v, out)?;
            }
            out.push(']');
        }
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            out.push_str(&super::gofmt::json_float(f).ok_or_else(|| {
                format!("json: unsupported value: {}", super::gofmt::format_float(f))
            })?);
        }
        other => out.push_str(&other.to_string()),
    }
    Ok(())
}

/// The steps of a `dig` path: dot-separated, trimmed, empty ones dropped.
fn dig_segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('.').map(str::trim).filter(|s| !s.is_empty())
}

/// Dot-path traversal through maps and lists (numeric segments index lists); missing → null.
pub fn dig(target: &Value, path: &str) -> Value {
    let mut cur = target;
    for seg in dig_segments(path) {
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
        .filter(|t| go_rfc3339_shape(t))
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| (now - t.with_timezone(&Utc)).num_seconds())
        .unwrap_or(-1)
}

/// What Go's `time.Parse(time.RFC3339, …)` insists on beyond chrono's reading: an upper-case
/// `T` between date and time, and `Z` or a `±hh:mm` offset (chrono also takes `t`, a space
/// and `z`).
fn go_rfc3339_shape(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 20
        && b[10] == b'T'
        && (t.ends_with('Z') || {
            let off = &b[b.len() - 6..];
            matches!(off[0], b'+' | b'-') && off[3] == b':'
        })
}

/// True iff the condition's status is `"True"` and it has held for at least `secs` seconds.
pub fn stable_for(list: &Value, kind: &str, secs: i64, now: DateTime<Utc>) -> bool {
    // As in Go: an unknown age (-1) passes a negative threshold.
    condition_status(list, kind) == "True" && condition_age(list, kind, now) >= secs
}

/// `fb.values[name == N].fieldValue.string`, or `""`.
pub fn status_feedback_value(fb: &Value, name: &str) -> String {
    // The first entry of that name that has a string value: entries without one are passed
    // over, as the Go adapter's loop does.
    fb.get("values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .filter(|v| v.get("name").and_then(Value::as_str) == Some(name))
        .find_map(|v| v.get("fieldValue")?.get("string")?.as_str())
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
