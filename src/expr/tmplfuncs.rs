//! The template function map of the Go adapter (§4.2), with the Go signatures the Go adapter
//! declares (so a wrong argument type fails as Go's does: `wrong type for value; expected
//! string; got float64`) and Go's argument order: `s` comes first (`trimPrefix s prefix`), so in
//! pipe form the piped value becomes the LAST argument, exactly as in the Go adapter.

use super::gotemplate::exec::{Func, FuncError, FuncMap, Ty};
use super::gotemplate::number::go_parse_float;
use super::gotemplate::{Rv, Value as Tv, fmt as gofmt};
use super::gotime;
use chrono::{DateTime, Utc};

fn ok(v: Tv) -> Result<Rv, FuncError> {
    Ok(Rv::concrete(v))
}

fn text(a: &Rv) -> &str {
    match &a.v {
        Tv::String(s) => s,
        _ => "",
    }
}

fn string_fn(f: fn(&str) -> String) -> Func {
    Func::new(&[Ty::Str], None, move |a| ok(Tv::str(&f(text(&a[0])))))
}

fn string2_fn(f: fn(&str, &str) -> Tv) -> Func {
    Func::new(&[Ty::Str, Ty::Str], None, move |a| {
        ok(f(text(&a[0]), text(&a[1])))
    })
}

/// The adapter's `int`/`int64`: Go's conversion of a float64 (out of range or NaN gives the
/// minimum int64, as on amd64), and `strconv.Atoi` with its error ignored (a syntax error gives
/// 0, an out-of-range number the clamped value).
fn to_int(v: &Tv) -> i64 {
    match v {
        Tv::Int(i) | Tv::Int64(i) => *i,
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
        Tv::Int(i) | Tv::Int64(i) => *i as f64,
        Tv::Float(f) => *f,
        Tv::String(s) => go_parse_float(s).unwrap_or(0.0),
        _ => 0.0,
    }
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

/// Builds the adapter's function map.
pub fn func_map() -> FuncMap {
    let mut m = FuncMap::new();
    m.insert(
        "now".into(),
        Func::new(&[], None, |_| ok(Tv::Time(render_now().fixed_offset()))),
    );
    let date = || {
        Func::new(&[Ty::Str, Ty::Time], None, |a| match &a[1].v {
            Tv::Time(t) => ok(Tv::str(&gotime::format(t, text(&a[0])))),
            _ => Err("date: not a time".into()),
        })
    };
    m.insert("date".into(), date());
    m.insert("dateFormat".into(), date());
    m.insert("lower".into(), string_fn(super::gocase::lower));
    m.insert("upper".into(), string_fn(super::gocase::upper));
    m.insert("title".into(), string_fn(super::gocase::title));
    m.insert(
        "trim".into(),
        string_fn(|s| s.trim_matches(is_go_space).to_string()),
    );
    m.insert("quote".into(), string_fn(super::gocase::quote));
    m.insert(
        "trimPrefix".into(),
        string2_fn(|s, p| Tv::str(s.strip_prefix(p).unwrap_or(s))),
    );
    m.insert(
        "trimSuffix".into(),
        string2_fn(|s, p| Tv::str(s.strip_suffix(p).unwrap_or(s))),
    );
    m.insert(
        "contains".into(),
        string2_fn(|s, sub| Tv::Bool(s.contains(sub))),
    );
    m.insert(
        "hasPrefix".into(),
        string2_fn(|s, p| Tv::Bool(s.starts_with(p))),
    );
    m.insert(
        "hasSuffix".into(),
        string2_fn(|s, p| Tv::Bool(s.ends_with(p))),
    );
    m.insert(
        "replace".into(),
        Func::new(&[Ty::Str, Ty::Str, Ty::Str], None, |a| {
            ok(Tv::str(&go_replace_all(
                text(&a[0]),
                text(&a[1]),
                text(&a[2]),
            )))
        }),
    );
    m.insert(
        "default".into(),
        Func::new(&[Ty::Any, Ty::Any], None, |a| {
            Ok(Rv::boxed(match &a[1].v {
                Tv::Nil => a[0].v.clone(),
                Tv::String(s) if s.is_empty() => a[0].v.clone(),
                v => v.clone(),
            }))
        }),
    );
    m.insert(
        "int".into(),
        Func::new(&[Ty::Any], None, |a| ok(Tv::Int(to_int(&a[0].v)))),
    );
    m.insert(
        "int64".into(),
        Func::new(&[Ty::Any], None, |a| ok(Tv::Int64(to_int(&a[0].v)))),
    );
    for name in ["float", "float64"] {
        m.insert(
            name.into(),
            Func::new(&[Ty::Any], None, |a| ok(Tv::Float(to_float(&a[0].v)))),
        );
    }
    m.insert(
        "string".into(),
        Func::new(&[Ty::Any], None, |a| {
            ok(Tv::str(&gofmt::sprint(std::slice::from_ref(&a[0].v))))
        }),
    );
    m
}

/// `unicode.IsSpace`, which `strings.TrimSpace` trims.
fn is_go_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    ) || (!c.is_ascii() && c.is_whitespace())
}

/// `strings.ReplaceAll`: an empty `old` inserts `new` before every character and at the end.
fn go_replace_all(s: &str, old: &str, new: &str) -> String {
    if !old.is_empty() {
        return s.replace(old, new);
    }
    let mut out = String::with_capacity(s.len() + new.len() * (s.len() + 1));
    for c in s.chars() {
        out.push_str(new);
        out.push(c);
    }
    out.push_str(new);
    out
}
