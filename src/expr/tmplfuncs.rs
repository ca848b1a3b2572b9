//! The template function map of the Go adapter (§4.2), with Go's argument order: `s` comes
//! first (`trimPrefix s prefix`), so in pipe form the piped value becomes the LAST argument,
//! exactly as in the Go adapter, because existing templates were written against it.

use super::gofmt::{format_float, sprint};
use super::gotime::{self, GO_TIME_STRING};
use super::template::from_template_value;
use chrono::{DateTime, Utc};
use gotmpl::{FuncMap, TemplateError as GtErr, Value as Tv};
use std::sync::Arc;

type FnResult = gotmpl::Result<Tv>;

fn err(msg: impl Into<String>) -> GtErr {
    GtErr::Exec(msg.into())
}

fn want_args(name: &str, args: &[Tv], n: usize) -> Result<(), GtErr> {
    if args.len() != n {
        return Err(GtErr::ArgCount {
            name: name.to_string(),
            expected: n,
            got: args.len(),
        });
    }
    Ok(())
}

/// Go's `reflect` type name of a value, for "wrong type" errors.
fn go_type(v: &Tv) -> &'static str {
    match v {
        Tv::Nil => "nil",
        Tv::Bool(_) => "bool",
        Tv::Int(_) => "int64",
        Tv::Uint(_) => "uint64",
        Tv::Float(_) => "float64",
        Tv::String(_) => "string",
        Tv::List(_) => "[]interface {}",
        Tv::Map(_) => "map[string]interface {}",
        _ => "func",
    }
}

fn s_arg(args: &[Tv], i: usize) -> Result<&str, GtErr> {
    match args.get(i) {
        Some(Tv::String(s)) => Ok(s),
        Some(other) => Err(err(format!(
            "wrong type for value; expected string; got {}",
            go_type(other)
        ))),
        None => Err(err("missing argument")),
    }
}

fn string_fn(name: &'static str, f: fn(&str) -> String) -> (String, gotmpl::ValueFunc) {
    let func = move |args: &[Tv]| -> FnResult {
        want_args(name, args, 1)?;
        Ok(Tv::String(f(s_arg(args, 0)?).into()))
    };
    (name.to_string(), Arc::new(func))
}

fn string2_fn(name: &'static str, f: fn(&str, &str) -> Tv) -> (String, gotmpl::ValueFunc) {
    let func = move |args: &[Tv]| -> FnResult {
        want_args(name, args, 2)?;
        Ok(f(s_arg(args, 0)?, s_arg(args, 1)?))
    };
    (name.to_string(), Arc::new(func))
}

/// The `%v` text of a template value, as Go prints it.
pub fn go_sprint(v: &Tv) -> String {
    match v {
        Tv::Float(f) => format_float(*f),
        Tv::String(s) => s.to_string(),
        other => sprint(&from_template_value(other)),
    }
}

/// The adapter's `int`/`int64`: Go's conversion of a float64 (out of range or NaN gives the
/// minimum int64, as on amd64), and `strconv.Atoi` with its error ignored (a syntax error gives
/// 0, an out-of-range number the clamped value).
fn to_int(v: &Tv) -> i64 {
    match v {
        Tv::Int(i) => *i,
        Tv::Uint(u) => *u as i64,
        Tv::Float(f) if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(f) => {
            *f as i64
        }
        Tv::Float(_) => i64::MIN,
        Tv::String(s) => go_atoi(s),
        _ => 0,
    }
}

fn go_atoi(s: &str) -> i64 {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    s.parse::<i64>().unwrap_or(if s.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// The adapter's `float`/`float64`: `strconv.ParseFloat` with its error ignored — Go's
/// syntax (`inf`, `infinity`, `nan` in any case, hexadecimal `0x1p-2`, `_` between digits);
/// a syntax error gives 0, an overflow ±Inf.
fn to_float(v: &Tv) -> f64 {
    match v {
        Tv::Int(i) => *i as f64,
        Tv::Uint(u) => *u as f64,
        Tv::Float(f) => *f,
        Tv::String(s) => go_parse_float(s).unwrap_or(0.0),
        _ => 0.0,
    }
}

fn go_parse_float(s: &str) -> Option<f64> {
    let (sign, body) = match s.strip_prefix('-') {
        Some(b) => (-1.0, b),
        None => (1.0, s.strip_prefix('+').unwrap_or(s)),
    };
    match body.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => return Some(sign * f64::INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    // Underscores only between digits (Go's rule for number literals).
    let bytes = body.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'_'
            && !(i > 0
                && bytes[i - 1].is_ascii_hexdigit()
                && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit))
        {
            return None;
        }
    }
    let body = body.replace('_', "");
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        return parse_hex_float(hex).map(|f| sign * f);
    }
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    body.parse::<f64>().ok().map(|f| sign * f)
}

/// `<hex mantissa>[.<hex>]p<exp>` (the `0x` already removed); the exponent is required, as in Go.
fn parse_hex_float(s: &str) -> Option<f64> {
    let (mantissa, exp) = s.split_once(['p', 'P'])?;
    let exp: i32 = exp.parse().ok()?;
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int.chars() {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        value += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(value * 2f64.powi(exp))
}

fn date_fn(args: &[Tv]) -> FnResult {
    want_args("date", args, 2)?;
    let layout = s_arg(args, 0)?;
    let t = match &args[1] {
        Tv::String(s) => gotime::parse_time(s)
            .ok_or_else(|| err(format!("date: cannot read {s:?} as a time")))?,
        other => {
            return Err(err(format!(
                "wrong type for value; expected time.Time; got {}",
                go_type(other)
            )));
        }
    };
    Ok(Tv::String(gotime::format(&t, layout).into()))
}

thread_local! {
    /// The time `now` returns while a render runs under [`with_now`].
    static NOW: std::cell::Cell<Option<DateTime<Utc>>> = const { std::cell::Cell::new(None) };
}

/// Runs `render` with `now` returning `at` (the executor passes its Clock port's time, so a
/// dry run with a fixed clock renders the same bytes every run). Rendering is synchronous, so a
/// thread-local cannot leak into another event's render.
pub fn with_now<R>(at: DateTime<Utc>, render: impl FnOnce() -> R) -> R {
    struct Restore(Option<DateTime<Utc>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            NOW.set(self.0);
        }
    }
    let _restore = Restore(NOW.replace(Some(at)));
    render()
}

/// The render's time: the one given to [`with_now`], else the system clock (renders outside
/// the executor, such as one-off tools, have no Clock port).
fn render_now() -> DateTime<Utc> {
    NOW.get().unwrap_or_else(Utc::now)
}

/// Builds the function map (once per template compile; cheap Arc clones).
pub fn func_map() -> FuncMap {
    let mut m = FuncMap::new();
    let now = |_: &[Tv]| -> FnResult {
        let t = render_now().fixed_offset();
        Ok(Tv::String(gotime::format(&t, GO_TIME_STRING).into()))
    };
    m.insert("now".into(), Arc::new(now));
    m.insert("date".into(), Arc::new(date_fn));
    m.insert("dateFormat".into(), Arc::new(date_fn));
    for (k, f) in [
        string_fn("lower", super::gocase::lower),
        string_fn("upper", super::gocase::upper),
        string_fn("title", super::gocase::title),
        string_fn("trim", |s| s.trim().to_string()),
        string_fn("quote", super::gocase::quote),
        string2_fn("trimPrefix", |s, p| {
            Tv::String(s.strip_prefix(p).unwrap_or(s).into())
        }),
        string2_fn("trimSuffix", |s, p| {
            Tv::String(s.strip_suffix(p).unwrap_or(s).into())
        }),
        string2_fn("contains", |s, sub| Tv::Bool(s.contains(sub))),
        string2_fn("hasPrefix", |s, p| Tv::Bool(s.starts_with(p))),
        string2_fn("hasSuffix", |s, p| Tv::Bool(s.ends_with(p))),
    ] {
        m.insert(k, f);
    }
    let replace = |args: &[Tv]| -> FnResult {
        want_args("replace", args, 3)?;
        Ok(Tv::String(
            s_arg(args, 0)?
                .replace(s_arg(args, 1)?, s_arg(args, 2)?)
                .into(),
        ))
    };
    m.insert("replace".into(), Arc::new(replace));
    let default = |args: &[Tv]| -> FnResult {
        want_args("default", args, 2)?;
        Ok(match &args[1] {
            Tv::Nil => args[0].clone(),
            Tv::String(s) if s.is_empty() => args[0].clone(),
            v => v.clone(),
        })
    };
    m.insert("default".into(), Arc::new(default));
    for name in ["int", "int64"] {
        let f = move |args: &[Tv]| -> FnResult {
            want_args(name, args, 1)?;
            Ok(Tv::Int(to_int(&args[0])))
        };
        m.insert(name.into(), Arc::new(f));
    }
    for name in ["float", "float64"] {
        let f = move |args: &[Tv]| -> FnResult {
            want_args(name, args, 1)?;
            Ok(Tv::Float(to_float(&args[0])))
        };
        m.insert(name.into(), Arc::new(f));
    }
    let string = |args: &[Tv]| -> FnResult {
        want_args("string", args, 1)?;
        Ok(Tv::String(go_sprint(&args[0]).into()))
    };
    m.insert("string".into(), Arc::new(string));
    // Go's comparison builtins, with integers and floats comparing by value.
    m.insert("eq".into(), Arc::new(super::tmplcompare::eq));
    m.insert("ne".into(), Arc::new(super::tmplcompare::ne));
    for name in ["lt", "le", "gt", "ge"] {
        m.insert(name.into(), Arc::new(super::tmplcompare::ordered(name)));
    }
    m
}
