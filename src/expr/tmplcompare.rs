//! The comparison functions of Go templates (`eq ne lt le gt ge`), with the project's number rule:
//! JSON integers are integers here where the Go adapter had only float64, so an integer and a
//! float compare by value (`eq .n 3.0`, `gt .replicas 0.0`) — in Go both sides were float64 and
//! compared; failing here would break a template that worked there. Every other pair follows
//! Go's rules: same basic kind compares, int and uint compare by value, nil equals only nil,
//! lists and maps are not comparable, anything else is `incompatible types for comparison`.

use gotmpl::{TemplateError as GtErr, Value as Tv};
use std::cmp::Ordering;

type FnResult = gotmpl::Result<Tv>;

fn err(msg: impl Into<String>) -> GtErr {
    GtErr::Exec(msg.into())
}

fn incompatible(a: &Tv, b: &Tv) -> GtErr {
    err(format!(
        "incompatible types for comparison: {} and {}",
        a.type_name(),
        b.type_name()
    ))
}

/// A number as the comparison sees it.
enum Num {
    Int(i64),
    Uint(u64),
    Float(f64),
}

fn num(v: &Tv) -> Option<Num> {
    match v {
        Tv::Int(i) => Some(Num::Int(*i)),
        Tv::Uint(u) => Some(Num::Uint(*u)),
        Tv::Float(f) => Some(Num::Float(*f)),
        _ => None,
    }
}

/// Orders two numbers of any kinds; `None` for NaN.
fn num_cmp(a: &Num, b: &Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(y)),
        (Num::Uint(x), Num::Uint(y)) => Some(x.cmp(y)),
        (Num::Int(x), Num::Uint(y)) => Some(if *x < 0 {
            Ordering::Less
        } else {
            (*x as u64).cmp(y)
        }),
        (Num::Uint(x), Num::Int(y)) => Some(if *y < 0 {
            Ordering::Greater
        } else {
            x.cmp(&(*y as u64))
        }),
        (Num::Float(x), Num::Float(y)) => x.partial_cmp(y),
        (Num::Float(x), Num::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Num::Int(x), Num::Float(y)) => (*x as f64).partial_cmp(y),
        (Num::Float(x), Num::Uint(y)) => x.partial_cmp(&(*y as f64)),
        (Num::Uint(x), Num::Float(y)) => (*x as f64).partial_cmp(y),
    }
}

fn equal(a: &Tv, b: &Tv) -> gotmpl::Result<bool> {
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return Ok(num_cmp(&x, &y) == Some(Ordering::Equal));
    }
    match (a, b) {
        (Tv::Nil, Tv::Nil) => Ok(true),
        (Tv::Nil, _) | (_, Tv::Nil) => Ok(false),
        (Tv::Bool(x), Tv::Bool(y)) => Ok(x == y),
        (Tv::String(x), Tv::String(y)) => Ok(x == y),
        (Tv::List(_), Tv::List(_)) | (Tv::Map(_), Tv::Map(_)) => {
            Err(err(format!("non-comparable type {}", a.type_name())))
        }
        _ => Err(incompatible(a, b)),
    }
}

fn order(a: &Tv, b: &Tv) -> gotmpl::Result<Ordering> {
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return num_cmp(&x, &y).ok_or_else(|| err("invalid type for comparison"));
    }
    match (a, b) {
        (Tv::String(x), Tv::String(y)) => Ok(x.cmp(y)),
        _ if a.type_name() != b.type_name() => Err(incompatible(a, b)),
        _ => Err(err("invalid type for comparison")),
    }
}

fn two<'a>(name: &str, args: &'a [Tv]) -> gotmpl::Result<(&'a Tv, &'a Tv)> {
    match args {
        [a, b] => Ok((a, b)),
        _ => Err(GtErr::ArgCount {
            name: name.to_string(),
            expected: 2,
            got: args.len(),
        }),
    }
}

/// `eq x y z…`: whether `x` equals any of the others.
pub fn eq(args: &[Tv]) -> FnResult {
    let Some((first, rest)) = args.split_first().filter(|(_, r)| !r.is_empty()) else {
        return Err(GtErr::ArgCount {
            name: "eq".into(),
            expected: 2,
            got: args.len(),
        });
    };
    for other in rest {
        if equal(first, other)? {
            return Ok(Tv::Bool(true));
        }
    }
    Ok(Tv::Bool(false))
}

pub fn ne(args: &[Tv]) -> FnResult {
    let (a, b) = two("ne", args)?;
    Ok(Tv::Bool(!equal(a, b)?))
}

/// `lt le gt ge`.
pub fn ordered(name: &'static str) -> impl Fn(&[Tv]) -> FnResult + Send + Sync {
    move |args| {
        let (a, b) = two(name, args)?;
        let o = order(a, b)?;
        Ok(Tv::Bool(match name {
            "lt" => o == Ordering::Less,
            "le" => o != Ordering::Greater,
            "gt" => o == Ordering::Greater,
            _ => o != Ordering::Less,
        }))
    }
}
