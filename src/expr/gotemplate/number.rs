//! Go's `strconv` as the template parser uses it: number constants (`ParseInt`/`ParseUint` with
//! base prefixes and underscores, `ParseFloat`), and `UnquoteChar` for string and character
//! constants.

use super::lex::ItemType;
use super::parse::Number;

/// Go's `underscoreOK`: underscores only between digits (a base prefix counts as a digit).
fn underscore_ok(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s).as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if s.len() >= 2 && s[0] == b'0' && matches!(s[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = s[1].eq_ignore_ascii_case(&b'x');
    }
    while i < s.len() {
        let c = s[i];
        if c.is_ascii_digit() || hex && c.is_ascii_hexdigit() {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// `strconv.ParseUint(s, 0, 64)`: `None` on a syntax or range error.
pub fn parse_uint(s0: &str) -> Option<u64> {
    if s0.is_empty() {
        return None;
    }
    let b = s0.as_bytes();
    let (base, digits) = if b[0] == b'0' {
        match b.get(1).map(u8::to_ascii_lowercase) {
            Some(b'b') if b.len() >= 3 => (2, &s0[2..]),
            Some(b'o') if b.len() >= 3 => (8, &s0[2..]),
            Some(b'x') if b.len() >= 3 => (16, &s0[2..]),
            _ => (8, &s0[1..]),
        }
    } else {
        (10, s0)
    };
    let mut n: u64 = 0;
    let mut underscores = false;
    for c in digits.chars() {
        if c == '_' {
            underscores = true;
            continue;
        }
        let d = c.to_digit(16).filter(|d| *d < base)?;
        n = n.checked_mul(u64::from(base))?.checked_add(u64::from(d))?;
    }
    if underscores && !underscore_ok(s0) {
        return None;
    }
    Some(n)
}

/// `strconv.ParseInt(s, 0, 64)`.
pub fn parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = parse_uint(body)?;
    if neg {
        if u > 1 << 63 {
            return None;
        }
        Some((u as i64).wrapping_neg())
    } else {
        i64::try_from(u).ok()
    }
}

/// `strconv.ParseFloat(s, 64)`: `None` on a syntax error, `Err` with the value on a range
/// error.
pub fn parse_float(s: &str) -> Option<Result<f64, f64>> {
    let f = go_parse_float(s)?;
    let body = s.trim_start_matches(['+', '-']).to_ascii_lowercase();
    if f.is_infinite() && !body.starts_with("inf") {
        return Some(Err(f));
    }
    Some(Ok(f))
}

/// `strconv.ParseFloat` syntax: `inf`, `infinity`, `nan` in any case, hexadecimal `0x1p-2`,
/// `_` between digits; `None` on a syntax error; overflow gives ±Inf.
pub fn go_parse_float(s: &str) -> Option<f64> {
    let (sign, body) = match s.strip_prefix('-') {
        Some(b) => (-1.0, b),
        None => (1.0, s.strip_prefix('+').unwrap_or(s)),
    };
    match body.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => return Some(sign * f64::INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if body.contains('_') && !underscore_ok(body) {
        return None;
    }
    let body = body.replace('_', "");
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        return parse_hex_float(hex).map(|f| sign * f);
    }
    if body.is_empty()
        || !body
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

/// One decoded piece of a quoted string: a character, or a raw byte from `\x`/octal escapes.
#[derive(Debug, Clone, Copy)]
pub enum Piece {
    Char(char),
    Byte(u8),
}

/// Go's `strconv.UnquoteChar`: the first character or escape of `s` and the rest.
pub fn unquote_char(s: &str, quote: u8) -> Option<(Piece, &str)> {
    let c = s.chars().next()?;
    if c as u32 == u32::from(quote) && (quote == b'\'' || quote == b'"') {
        return None;
    }
    if c != '\\' {
        return Some((Piece::Char(c), &s[c.len_utf8()..]));
    }
    let rest = &s[1..];
    let e = rest.chars().next()?;
    let rest = &rest[e.len_utf8()..];
    let simple = |c: char| Some((Piece::Char(c), rest));
    match e {
        'a' => simple('\u{7}'),
        'b' => simple('\u{8}'),
        'f' => simple('\u{c}'),
        'n' => simple('\n'),
        'r' => simple('\r'),
        't' => simple('\t'),
        'v' => simple('\u{b}'),
        '\\' => simple('\\'),
        '\'' | '"' if e as u32 == u32::from(quote) => simple(e),
        'x' | 'u' | 'U' => {
            let n = match e {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let hex = rest.get(..n)?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let v = u32::from_str_radix(hex, 16).ok()?;
            let tail = &rest[n..];
            if e == 'x' {
                return Some((Piece::Byte(v as u8), tail));
            }
            Some((Piece::Char(char::from_u32(v)?), tail))
        }
        '0'..='7' => {
            let oct = s.get(1..4)?;
            if !oct.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return None;
            }
            let v = u32::from_str_radix(oct, 8).ok()?;
            if v > 255 {
                return None;
            }
            Some((Piece::Byte(v as u8), &s[4..]))
        }
        _ => None,
    }
}

/// Go's `parse.NumberNode` construction for a number, character or complex constant.
/// Why a number constant is malformed (Go's parser texts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadNumber(String);

pub fn parse(text: &str, typ: ItemType) -> Result<Number, BadNumber> {
    let mut n = Number {
        text: text.to_string(),
        ..Number::default()
    };
    if typ == ItemType::CharConstant {
        let inner = &text[1..];
        let (piece, tail) =
            unquote_char(inner, b'\'').ok_or_else(|| BadNumber("invalid syntax".into()))?;
        if tail != "'" {
            return Err(BadNumber(format!("malformed character constant: {text}")));
        }
        let r = match piece {
            Piece::Char(c) => c as u32,
            Piece::Byte(b) => u32::from(b),
        };
        n.is_int = true;
        n.is_uint = true;
        n.is_float = true;
        n.int = i64::from(r);
        n.uint = u64::from(r);
        n.float = f64::from(r);
        return Ok(n);
    }
    if typ == ItemType::Complex {
        return Err(BadNumber(format!(
            "complex constants are not supported: {}",
            super::fmt::quote(text)
        )));
    }
    if let Some(imag) = text.strip_suffix('i')
        && let Some(Ok(f)) = parse_float(imag)
    {
        n.is_complex = true;
        n.is_float = f == 0.0;
        if n.is_float {
            n.float = 0.0;
            n.is_int = true;
            n.is_uint = true;
        }
        return Ok(n);
    }
    if let Some(u) = parse_uint(text) {
        n.is_uint = true;
        n.uint = u;
    }
    if let Some(i) = parse_int(text) {
        n.is_int = true;
        n.int = i;
        if i == 0 {
            n.is_uint = true;
        }
    }
    if n.is_int {
        n.is_float = true;
        n.float = n.int as f64;
    } else if n.is_uint {
        n.is_float = true;
        n.float = n.uint as f64;
    } else if let Some(Ok(f)) = parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(BadNumber(format!(
                "integer overflow: {}",
                super::fmt::quote(text)
            )));
        }
        n.is_float = true;
        n.float = f;
        if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) && f.fract() == 0.0 {
            n.is_int = true;
            n.int = f as i64;
        }
        if (0.0..1.844_674_407_370_955_2e19).contains(&f) && f.fract() == 0.0 {
            n.is_uint = true;
            n.uint = f as u64;
        }
    }
    if !n.is_int && !n.is_uint && !n.is_float {
        return Err(BadNumber(format!(
            "illegal number syntax: {}",
            super::fmt::quote(text)
        )));
    }
    Ok(n)
}
