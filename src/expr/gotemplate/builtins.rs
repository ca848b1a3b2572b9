//! Go's template builtins (`and or not len index slice print printf println html js urlquery
//! call eq ne lt le gt ge`) with Go's signatures and error texts, and the `time.Time` methods a
//! template can call on `now`.
//!
//! One deliberate difference: an integer and a float compare by value (`eq .n 3.0`,
//! `gt .replicas 0.0`). JSON integers are integers here where the Go adapter had only float64,
//! so a comparison that worked there (float64 against a float constant) must keep working; Go
//! itself refuses int-vs-float comparisons, so no output of a template that works in Go
//! changes.

use super::exec::{Func, FuncError, FuncMap, Ty};
use super::fmt;
use super::value::{Rv, Value};
use chrono::{DateTime, Datelike, FixedOffset, Timelike};
use std::cmp::Ordering;
use std::sync::Arc;

fn builtin(
    params: &[Ty],
    variadic: Option<Ty>,
    call: impl Fn(&[Rv]) -> Result<Rv, FuncError> + Send + Sync + 'static,
) -> Func {
    let mut f = Func::new(params, variadic, call);
    f.builtin = true;
    f
}

fn ok(v: Value) -> Result<Rv, FuncError> {
    Ok(Rv::concrete(v))
}

/// Go's `indirectInterface`: the value inside an interface (the nil interface → invalid).
fn indirect_iface(v: &Rv) -> Rv {
    v.clone().unboxed()
}

/// A value passed as `interface {}` (the nil interface and invalid values both read as nil).
fn any_arg(v: &Rv) -> Value {
    v.v.clone()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    String,
}

fn basic_kind(v: &Rv) -> Result<Kind, &'static str> {
    Ok(match &v.v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Uint64(_) => Kind::Uint,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => return Err("invalid type for comparison"),
    })
}

fn int_of(v: &Rv) -> i64 {
    match v.v {
        Value::Int(i) | Value::Int64(i) => i,
        _ => 0,
    }
}

fn uint_of(v: &Rv) -> u64 {
    match v.v {
        Value::Uint64(u) => u,
        _ => 0,
    }
}

fn float_of(v: &Rv) -> f64 {
    match v.v {
        Value::Float(f) => f,
        Value::Int(i) | Value::Int64(i) => i as f64,
        Value::Uint64(u) => u as f64,
        _ => 0.0,
    }
}

/// The project's number rule: a JSON integer (int64 or uint64 here, float64 in the Go adapter)
/// against a float64 compares by value. Go's own `int` (template constants, `len`, `int`) keeps
/// Go's refusal.
fn int_float(a: &Rv, b: &Rv) -> bool {
    matches!(
        (&a.v, &b.v),
        (Value::Int64(_) | Value::Uint64(_), Value::Float(_))
            | (Value::Float(_), Value::Int64(_) | Value::Uint64(_))
    )
}

fn eq(args: &[Rv]) -> Result<Rv, FuncError> {
    let a1 = indirect_iface(&args[0]);
    if args.len() < 2 {
        return Err("missing argument for comparison".into());
    }
    let k1 = basic_kind(&a1).unwrap_or(Kind::Invalid);
    for arg in &args[1..] {
        let a = indirect_iface(arg);
        let k2 = basic_kind(&a).unwrap_or(Kind::Invalid);
        let truth = if k1 != k2 {
            match (k1, k2) {
                (Kind::Int, Kind::Uint) => int_of(&a1) >= 0 && int_of(&a1) as u64 == uint_of(&a),
                (Kind::Uint, Kind::Int) => int_of(&a) >= 0 && uint_of(&a1) == int_of(&a) as u64,
                _ if int_float(&a1, &a) => float_of(&a1) == float_of(&a),
                _ => {
                    if a1.is_valid() && a.is_valid() {
                        return Err("incompatible types for comparison".into());
                    }
                    false
                }
            }
        } else {
            match (&a1.v, &a.v) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::String(x), Value::String(y)) => x == y,
                _ if k1 == Kind::Float => float_of(&a1) == float_of(&a),
                _ if k1 == Kind::Int => int_of(&a1) == int_of(&a),
                _ if k1 == Kind::Uint => uint_of(&a1) == uint_of(&a),
                _ => {
                    // Neither is a basic kind: nil, lists, maps, times.
                    let same_kind = std::mem::discriminant(&a1.v) == std::mem::discriminant(&a.v);
                    if !same_kind && a1.is_valid() && a.is_valid() {
                        return Err(format!(
                            "non-comparable types {}: {}, {}: {}",
                            fmt::sprintf("%s", std::slice::from_ref(&a1.v)),
                            a1.v.type_name(),
                            a.v.type_name(),
                            fmt::sprint(std::slice::from_ref(&a.v))
                        )
                        .into());
                    }
                    if !a1.is_valid() || !a.is_valid() {
                        a1.is_valid() == a.is_valid()
                    } else if matches!(a.v, Value::List(_) | Value::Map(_)) {
                        return Err(format!(
                            "non-comparable type {}: {}",
                            fmt::sprintf("%s", std::slice::from_ref(&a.v)),
                            a.v.type_name()
                        )
                        .into());
                    } else {
                        a1.v == a.v
                    }
                }
            }
        };
        if truth {
            return ok(Value::Bool(true));
        }
    }
    ok(Value::Bool(false))
}

fn lt_bool(a: &Rv, b: &Rv) -> Result<bool, FuncError> {
    let a = indirect_iface(a);
    let k1 = basic_kind(&a)?;
    let b = indirect_iface(b);
    let k2 = basic_kind(&b)?;
    if k1 != k2 {
        return match (k1, k2) {
            (Kind::Int, Kind::Uint) => Ok(int_of(&a) < 0 || (int_of(&a) as u64) < uint_of(&b)),
            (Kind::Uint, Kind::Int) => Ok(int_of(&b) >= 0 && uint_of(&a) < int_of(&b) as u64),
            _ if int_float(&a, &b) => Ok(float_of(&a)
                .partial_cmp(&float_of(&b))
                .is_some_and(|o| o == Ordering::Less)),
            _ => Err("incompatible types for comparison".into()),
        };
    }
    Ok(match (&a.v, &b.v) {
        (Value::String(x), Value::String(y)) => x < y,
        _ => match k1 {
            Kind::Bool => return Err("invalid type for comparison".into()),
            Kind::Float => float_of(&a) < float_of(&b),
            Kind::Int => int_of(&a) < int_of(&b),
            _ => uint_of(&a) < uint_of(&b),
        },
    })
}

fn eq_bool(a: &Rv, b: &Rv) -> Result<bool, FuncError> {
    Ok(eq(&[a.clone(), b.clone()])?.v == Value::Bool(true))
}

fn cmp_fn(name: &'static str) -> Func {
    builtin(&[Ty::Reflect, Ty::Reflect], None, move |a| {
        let (x, y) = (&a[0], &a[1]);
        let r = match name {
            "ne" => !eq_bool(x, y)?,
            "lt" => lt_bool(x, y)?,
            "le" => lt_bool(x, y)? || eq_bool(x, y)?,
            "gt" => !(lt_bool(x, y)? || eq_bool(x, y)?),
            _ => !lt_bool(x, y)?,
        };
        ok(Value::Bool(r))
    })
}

/// Go's `indexArg`.
fn index_arg(index: &Rv, cap: usize) -> Result<usize, FuncError> {
    if index.iface {
        return Err("cannot index slice/array with type interface {}".into());
    }
    let x: i64 = match &index.v {
        Value::Int(i) | Value::Int64(i) => *i,
        Value::Uint64(u) => *u as i64,
        Value::Nil if !index.iface => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!("cannot index slice/array with type {}", other.type_name()).into());
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(format!("index out of range: {x}").into());
    }
    Ok(x as usize)
}

/// The capacity Go's `encoding/json` leaves on a decoded array (grown by `append`, doubling),
/// which `slice` may reach past the length.
fn json_cap(len: usize) -> usize {
    if len == 0 {
        0
    } else if len <= 256 {
        len.next_power_of_two()
    } else {
        len
    }
}

fn index(args: &[Rv]) -> Result<Rv, FuncError> {
    let mut item = indirect_iface(&args[0]);
    if !item.is_valid() {
        return Err("index of untyped nil".into());
    }
    for index in &args[1..] {
        let index = indirect_iface(index);
        if item.iface && item.v == Value::Nil {
            return Err("index of nil pointer".into());
        }
        item = match &item.v {
            Value::List(l) => {
                let x = index_arg(&index, l.len())?;
                match l.get(x) {
                    Some(v) => Rv::boxed(v.clone()),
                    None => return Err("reflect: slice index out of range".into()),
                }
            }
            Value::String(s) => {
                let x = index_arg(&index, s.len())?;
                match s.as_bytes().get(x) {
                    Some(b) => Rv::concrete(Value::Uint64(u64::from(*b))),
                    None => return Err("reflect: string index out of range".into()),
                }
            }
            Value::Map(m) => {
                let key = match &index.v {
                    Value::String(k) => k.clone(),
                    Value::Nil if !index.iface => {
                        return Err("value is nil; should be of type string".into());
                    }
                    other => {
                        return Err(format!(
                            "value has type {}; should be string",
                            other.type_name()
                        )
                        .into());
                    }
                };
                Rv::boxed(m.get(&key).cloned().unwrap_or(Value::Nil))
            }
            other => return Err(format!("can't index item of type {}", other.type_name()).into()),
        };
    }
    Ok(item)
}

fn slice(args: &[Rv]) -> Result<Rv, FuncError> {
    let item = indirect_iface(&args[0]);
    if !item.is_valid() {
        return Err("slice of untyped nil".into());
    }
    let indexes = &args[1..];
    if indexes.len() > 3 {
        return Err(format!("too many slice indexes: {}", indexes.len()).into());
    }
    let (len, cap) = match &item.v {
        Value::String(s) => {
            if indexes.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            (s.len(), s.len())
        }
        Value::List(l) => (l.len(), json_cap(l.len())),
        other => return Err(format!("can't slice item of type {}", other.type_name()).into()),
    };
    let mut idx = [0, len, 0];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(index, cap)?;
    }
    if idx[0] > idx[1] {
        return Err(format!("invalid slice index: {} > {}", idx[0], idx[1]).into());
    }
    if indexes.len() == 3 && idx[1] > idx[2] {
        return Err(format!("invalid slice index: {} > {}", idx[1], idx[2]).into());
    }
    Ok(Rv::concrete(match &item.v {
        Value::String(s) => Value::String(
            String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]])
                .as_ref()
                .into(),
        ),
        Value::List(l) => Value::List(Arc::new(
            (idx[0]..idx[1])
                .map(|i| l.get(i).cloned().unwrap_or(Value::Nil))
                .collect(),
        )),
        _ => Value::Nil,
    }))
}

fn length(args: &[Rv]) -> Result<Rv, FuncError> {
    let item = &args[0];
    if item.iface && item.v == Value::Nil {
        return Err("len of nil pointer".into());
    }
    let n = match &item.v {
        Value::String(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Map(m) => m.len(),
        Value::Nil => return Err("reflect: call of reflect.Value.Type on zero Value".into()),
        other => return Err(format!("len of type {}", other.type_name()).into()),
    };
    ok(Value::Int(n as i64))
}

/// Go's `evalArgs` for `html`, `js` and `urlquery`.
fn eval_args(args: &[Rv]) -> String {
    if let [
        Rv {
            v: Value::String(s),
            ..
        },
    ] = args
    {
        return s.to_string();
    }
    let vals: Vec<Value> = args
        .iter()
        .map(|a| match &a.v {
            Value::Nil => Value::str("<no value>"),
            v => v.clone(),
        })
        .collect();
    fmt::sprint(&vals)
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u00{:02X}", c as u32)),
            c if c.is_ascii() || fmt::is_print(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

/// `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn values(args: &[Rv]) -> Vec<Value> {
    args.iter().map(any_arg).collect()
}

/// Go's builtin functions.
pub fn builtins() -> FuncMap {
    let mut m = FuncMap::new();
    let unreachable = |_: &[Rv]| -> Result<Rv, FuncError> { Err("unreachable".into()) };
    m.insert(
        "and".into(),
        builtin(&[Ty::Reflect], Some(Ty::Reflect), unreachable),
    );
    m.insert(
        "or".into(),
        builtin(&[Ty::Reflect], Some(Ty::Reflect), unreachable),
    );
    m.insert(
        "not".into(),
        builtin(&[Ty::Reflect], None, |a| ok(Value::Bool(!a[0].v.truth()))),
    );
    m.insert("len".into(), builtin(&[Ty::Reflect], None, length));
    m.insert(
        "index".into(),
        builtin(&[Ty::Reflect], Some(Ty::Reflect), index),
    );
    m.insert(
        "slice".into(),
        builtin(&[Ty::Reflect], Some(Ty::Reflect), slice),
    );
    m.insert(
        "print".into(),
        builtin(&[], Some(Ty::Any), |a| {
            ok(Value::str(&fmt::sprint(&values(a))))
        }),
    );
    m.insert(
        "println".into(),
        builtin(&[], Some(Ty::Any), |a| {
            ok(Value::str(&fmt::sprintln(&values(a))))
        }),
    );
    m.insert(
        "printf".into(),
        builtin(&[Ty::Str], Some(Ty::Any), |a| {
            let Value::String(f) = &a[0].v else {
                return Err("printf: format is not a string".into());
            };
            ok(Value::str(&fmt::sprintf(f, &values(&a[1..]))))
        }),
    );
    m.insert(
        "html".into(),
        builtin(&[], Some(Ty::Any), |a| {
            ok(Value::str(&html_escape(&eval_args(a))))
        }),
    );
    m.insert(
        "js".into(),
        builtin(&[], Some(Ty::Any), |a| {
            ok(Value::str(&js_escape(&eval_args(a))))
        }),
    );
    m.insert(
        "urlquery".into(),
        builtin(&[], Some(Ty::Any), |a| {
            ok(Value::str(&query_escape(&eval_args(a))))
        }),
    );
    m.insert(
        "call".into(),
        builtin(&[Ty::Reflect], Some(Ty::Reflect), |a| {
            let f = indirect_iface(&a[0]);
            if !f.is_valid() {
                return Err("call of nil".into());
            }
            Err(format!("non-function of type {}", f.v.type_name()).into())
        }),
    );
    m.insert("eq".into(), builtin(&[Ty::Reflect], Some(Ty::Reflect), eq));
    for name in ["ne", "lt", "le", "gt", "ge"] {
        m.insert(name.into(), cmp_fn(name));
    }
    m
}

/// The methods of `time.Time` a template may call (`{{ now.UTC.Year }}`).
pub fn time_method(name: &str, t: DateTime<FixedOffset>) -> Option<Func> {
    let int = |v: i64| ok(Value::Int(v));
    let f = match name {
        "Year" => Func::new(&[], None, move |_| int(i64::from(t.year()))),
        "Day" => Func::new(&[], None, move |_| int(i64::from(t.day()))),
        "Hour" => Func::new(&[], None, move |_| int(i64::from(t.hour()))),
        "Minute" => Func::new(&[], None, move |_| int(i64::from(t.minute()))),
        "Second" => Func::new(&[], None, move |_| int(i64::from(t.second()))),
        "Nanosecond" => Func::new(&[], None, move |_| int(i64::from(t.nanosecond()))),
        "YearDay" => Func::new(&[], None, move |_| int(i64::from(t.ordinal()))),
        "Unix" => Func::new(&[], None, move |_| ok(Value::Int64(t.timestamp()))),
        "UnixMilli" => Func::new(&[], None, move |_| ok(Value::Int64(t.timestamp_millis()))),
        "UnixNano" => Func::new(&[], None, move |_| {
            ok(Value::Int64(t.timestamp_nanos_opt().unwrap_or_default()))
        }),
        "UTC" => Func::new(&[], None, move |_| {
            ok(Value::Time(t.with_timezone(&chrono::Utc).fixed_offset()))
        }),
        "Local" => Func::new(&[], None, move |_| ok(Value::Time(t))),
        "IsZero" => Func::new(&[], None, move |_| {
            ok(Value::Bool(
                t.timestamp() == -62_135_596_800 && t.nanosecond() == 0,
            ))
        }),
        "String" => Func::new(&[], None, move |_| {
            ok(Value::str(&crate::expr::gotime::format(
                &t,
                crate::expr::gotime::GO_TIME_STRING,
            )))
        }),
        "Format" => Func::new(&[Ty::Str], None, move |a| match &a[0].v {
            Value::String(layout) => ok(Value::str(&crate::expr::gotime::format(&t, layout))),
            _ => Err("Format: layout is not a string".into()),
        }),
        _ => return None,
    };
    Some(f)
}
