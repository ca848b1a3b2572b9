//! Go's `fmt` (`Sprint`, `Sprintln`, `Sprintf`) and `strconv.FormatFloat` over template
//! values: every verb, flag, width, precision and argument index, and Go's error forms
//! (`%!d(float64=3.14)`, `%!d(MISSING)`, `%!(EXTRA string=x)`, `%!(NOVERB)`, `%!(BADWIDTH)`).

use super::value::Value;
use crate::expr::gotime;

/// `strconv.Quote`.
pub fn quote(s: &str) -> String {
    crate::expr::gocase::quote(s)
}

/// `strconv.QuoteToASCII`.
fn quote_ascii(s: &str) -> String {
    let q = quote(s);
    let mut out = String::with_capacity(q.len());
    for c in q.chars() {
        match c as u32 {
            0..=0x7f => out.push(c),
            u if u < 0x10000 => out.push_str(&format!("\\u{u:04x}")),
            u => out.push_str(&format!("\\U{u:08x}")),
        }
    }
    out
}

/// `strconv.IsPrint`.
pub fn is_print(c: char) -> bool {
    crate::expr::gocase::go_printable(c)
}

/// `unicode.IsDigit` (decimal digits of any script).
pub fn is_go_digit(c: char) -> bool {
    // Rust has no Nd test: digits of other scripts are numeric but not alphabetic.
    c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric() && !c.is_alphabetic())
}

/// Go's `time.Time.String()`.
fn time_string(t: &chrono::DateTime<chrono::FixedOffset>) -> String {
    gotime::format(t, gotime::GO_TIME_STRING)
}

/// Decimal digits of `|f|` (no trailing zeros) and the decimal point position: `0.d1d2… × 10^dp`.
struct Digits {
    d: Vec<u8>,
    dp: i32,
}

/// Shortest digits, or `sig` significant digits correctly rounded.
fn digits(f: f64, sig: Option<usize>) -> Digits {
    let s = match sig {
        None => format!("{:e}", f.abs()),
        Some(n) => format!("{:.*e}", n.saturating_sub(1), f.abs()),
    };
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let mut d: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    while d.len() > 1 && d.last() == Some(&b'0') {
        d.pop();
    }
    if d == [b'0'] {
        return Digits { d: vec![], dp: 0 };
    }
    Digits {
        d,
        dp: exp.parse::<i32>().unwrap_or(0) + 1,
    }
}

/// Go's `fmtE`: `d.ddddde±dd` with `prec` digits after the point.
fn fmt_e(neg: bool, digs: &Digits, prec: usize, fmt: u8) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let first = digs.d.first().copied().unwrap_or(b'0');
    out.push(first as char);
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(digs.d.get(i).copied().unwrap_or(b'0') as char);
        }
    }
    out.push(fmt as char);
    let exp = if digs.d.is_empty() { 0 } else { digs.dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
    out
}

/// Go's `fmtF`: `ddd.dddd` with `prec` digits after the point.
fn fmt_f(neg: bool, digs: &Digits, prec: usize) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if digs.dp > 0 {
        for i in 0..digs.dp as usize {
            out.push(digs.d.get(i).copied().unwrap_or(b'0') as char);
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 0..prec as i32 {
            let j = digs.dp + i;
            let c = if j < 0 {
                b'0'
            } else {
                digs.d.get(j as usize).copied().unwrap_or(b'0')
            };
            out.push(c as char);
        }
    }
    out
}

/// `strconv.FormatFloat(f, fmt, prec, 64)` for `e E f g G` (prec −1: shortest), `x X` and `b`.
pub fn format_float(f: f64, fmt: u8, prec: i32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let neg = f.is_sign_negative();
    match fmt {
        b'x' | b'X' => return hex_float(f, fmt, prec),
        b'b' => {
            let bits = f.to_bits();
            let mut exp = ((bits >> 52) & 0x7ff) as i32;
            let mut mant = bits & ((1 << 52) - 1);
            if exp == 0 {
                exp = 1;
            } else {
                mant |= 1 << 52;
            }
            exp -= 1023 + 52;
            let sign = if neg { "-" } else { "" };
            let esign = if exp >= 0 { "+" } else { "" };
            return format!("{sign}{mant}p{esign}{exp}");
        }
        _ => {}
    }
    let shortest = prec < 0;
    match fmt {
        b'e' | b'E' => {
            let digs = if shortest {
                digits(f, None)
            } else {
                digits(f, Some(prec as usize + 1))
            };
            let p = if shortest {
                digs.d.len().saturating_sub(1)
            } else {
                prec as usize
            };
            fmt_e(neg, &digs, p, fmt)
        }
        b'f' => {
            if shortest {
                let digs = digits(f, None);
                let p = (digs.d.len() as i32 - digs.dp).max(0) as usize;
                fmt_f(neg, &digs, p)
            } else {
                let s = format!("{:.*}", prec as usize, f.abs());
                if neg { format!("-{s}") } else { s }
            }
        }
        _ => {
            // 'g' / 'G'
            let mut p = prec;
            if p == 0 {
                p = 1;
            }
            let digs = if shortest {
                digits(f, None)
            } else {
                digits(f, Some(p as usize))
            };
            let nd = digs.d.len().max(1) as i32;
            let dp = if digs.d.is_empty() { 1 } else { digs.dp };
            let mut eprec = if shortest { nd } else { p };
            if eprec > nd && nd >= dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            let mut p = if shortest { nd } else { p };
            if exp < -4 || exp >= eprec {
                if p > nd {
                    p = nd;
                }
                return fmt_e(neg, &digs, (p - 1).max(0) as usize, fmt + b'e' - b'g');
            }
            if p > dp {
                p = nd;
            }
            fmt_f(neg, &digs, (p - dp).max(0) as usize)
        }
    }
}

/// `%x` of a float: `-0x1.8p+01`.
fn hex_float(f: f64, fmt: u8, prec: i32) -> String {
    let neg = f.is_sign_negative();
    let bits = f.to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i32;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        if mant == 0 {
            exp = 0;
        } else {
            exp = -1022;
            while mant & (1 << 52) == 0 {
                mant <<= 1;
                exp -= 1;
            }
            mant &= (1 << 52) - 1;
        }
    } else {
        exp -= 1023;
    }
    let zero = f == 0.0;
    // 52 fraction bits = 13 hex digits.
    let mut frac = mant;
    let mut int = if zero { 0u64 } else { 1 };
    let mut ndig = 13usize;
    if prec >= 0 && (prec as usize) < 13 {
        let shift = (13 - prec as usize) * 4;
        let half = 1u64 << (shift - 1);
        let rem = frac & ((1 << shift) - 1);
        frac >>= shift;
        if rem > half || (rem == half && frac & 1 == 1) {
            frac += 1;
            if prec == 0 || frac >> (prec as usize * 4) != 0 {
                if prec == 0 {
                    int += frac;
                    frac = 0;
                } else {
                    frac &= (1 << (prec as usize * 4)) - 1;
                    int += 1;
                }
            }
        }
        if int == 2 {
            int = 1;
            exp += 1;
        }
        ndig = prec as usize;
    }
    let mut hex = if ndig > 0 {
        format!("{frac:0ndig$x}")
    } else {
        String::new()
    };
    if prec < 0 {
        while hex.ends_with('0') {
            hex.pop();
        }
    } else if (prec as usize) > 13 {
        hex.push_str(&"0".repeat(prec as usize - 13));
    }
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str("0x");
    out.push_str(&int.to_string());
    if !hex.is_empty() {
        out.push('.');
        out.push_str(&hex);
    }
    out.push('p');
    out.push(if exp >= 0 { '+' } else { '-' });
    out.push_str(&format!("{:02}", exp.abs()));
    if fmt == b'X' {
        out = out.to_uppercase();
    }
    out
}

#[derive(Default, Clone, Copy)]
struct Flags {
    wid: Option<usize>,
    prec: Option<usize>,
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
}

struct Printer {
    buf: String,
    f: Flags,
}

fn go_type(v: &Value) -> &'static str {
    v.type_name()
}

impl Printer {
    fn new() -> Printer {
        Printer {
            buf: String::new(),
            f: Flags::default(),
        }
    }

    fn write_padding(&mut self, n: usize) {
        let c = if self.f.zero { '0' } else { ' ' };
        self.buf.extend(std::iter::repeat_n(c, n));
    }

    fn pad(&mut self, s: &str) {
        let Some(wid) = self.f.wid.filter(|w| *w > 0) else {
            self.buf.push_str(s);
            return;
        };
        let width = wid.saturating_sub(s.chars().count());
        if !self.f.minus {
            self.write_padding(width);
            self.buf.push_str(s);
        } else {
            self.buf.push_str(s);
            self.write_padding(width);
        }
    }

    fn fmt_s(&mut self, s: &str) {
        let s = self.truncate(s);
        self.pad(&s);
    }

    fn truncate(&self, s: &str) -> String {
        match self.f.prec {
            Some(p) => s.chars().take(p).collect(),
            None => s.to_string(),
        }
    }

    fn bad_verb(&mut self, verb: char, v: Option<&Value>) {
        self.buf.push_str("%!");
        self.buf.push(verb);
        self.buf.push('(');
        match v {
            Some(v) => {
                // Go prints the operand with the verb's flags, width and precision.
                self.buf.push_str(go_type(v));
                self.buf.push('=');
                self.print_arg(v, 'v', 0);
            }
            None => self.buf.push_str("<nil>"),
        }
        self.buf.push(')');
    }

    fn fmt_integer(&mut self, u: u64, base: u32, signed: bool, verb: char, upper: bool) {
        let negative = signed && (u as i64) < 0;
        let mut u = if negative {
            (u as i64).unsigned_abs()
        } else {
            u
        };
        let mut prec = 0usize;
        if let Some(p) = self.f.prec {
            prec = p;
            if p == 0 && u == 0 {
                let z = self.f.zero;
                self.f.zero = false;
                self.write_padding(self.f.wid.unwrap_or(0));
                self.f.zero = z;
                return;
            }
        } else if self.f.zero
            && let Some(w) = self.f.wid
        {
            prec = w;
            if negative || self.f.plus || self.f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let digits: &[u8] = if upper {
            b"0123456789ABCDEFX"
        } else {
            b"0123456789abcdefx"
        };
        let mut buf: Vec<u8> = Vec::new();
        loop {
            buf.push(digits[(u % u64::from(base)) as usize]);
            u /= u64::from(base);
            if u == 0 {
                break;
            }
        }
        while buf.len() < prec {
            buf.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => buf.extend_from_slice(b"b0"),
                8 if buf.last() != Some(&b'0') => buf.push(b'0'),
                16 => {
                    buf.push(digits[16]);
                    buf.push(b'0');
                }
                _ => {}
            }
        }
        if verb == 'O' {
            buf.extend_from_slice(b"o0");
        }
        if negative {
            buf.push(b'-');
        } else if self.f.plus {
            buf.push(b'+');
        } else if self.f.space {
            buf.push(b' ');
        }
        buf.reverse();
        let s = String::from_utf8(buf).unwrap_or_default();
        let z = self.f.zero;
        self.f.zero = false;
        self.pad(&s);
        self.f.zero = z;
    }

    fn fmt_c(&mut self, u: u64) {
        let c = u32::try_from(u)
            .ok()
            .and_then(char::from_u32)
            .unwrap_or('\u{FFFD}');
        self.pad(&c.to_string());
    }

    fn fmt_qc(&mut self, u: u64) {
        let c = u32::try_from(u)
            .ok()
            .and_then(char::from_u32)
            .unwrap_or('\u{FFFD}');
        let q = quote_rune(c, self.f.plus);
        self.pad(&q);
    }

    fn fmt_unicode(&mut self, u: u64) {
        let mut s = format!("U+{u:04X}");
        if let Some(p) = self.f.prec.filter(|p| *p > 4) {
            s = format!("U+{u:0p$X}");
        }
        if self.f.sharp
            && let Some(c) = u32::try_from(u).ok().and_then(char::from_u32)
            && is_print(c)
        {
            s.push_str(&format!(" '{c}'"));
        }
        let z = self.f.zero;
        self.f.zero = false;
        self.pad(&s);
        self.f.zero = z;
    }

    fn fmt_int(&mut self, v: &Value, u: u64, signed: bool, verb: char) {
        match verb {
            'v' if self.f.sharp_v && !signed => {
                let s = self.f.sharp;
                self.f.sharp = true;
                self.fmt_integer(u, 16, false, 'v', false);
                self.f.sharp = s;
            }
            'v' | 'd' => self.fmt_integer(u, 10, signed, verb, false),
            'b' => self.fmt_integer(u, 2, signed, verb, false),
            'o' | 'O' => self.fmt_integer(u, 8, signed, verb, false),
            'x' => self.fmt_integer(u, 16, signed, verb, false),
            'X' => self.fmt_integer(u, 16, signed, verb, true),
            'c' => self.fmt_c(u),
            'q' => self.fmt_qc(u),
            'U' => self.fmt_unicode(u),
            _ => self.bad_verb(verb, Some(v)),
        }
    }

    fn fmt_float(&mut self, v: f64, verb: char) {
        let (fmt, prec) = match verb {
            'v' => (b'g', -1),
            'b' | 'g' | 'G' | 'x' | 'X' => (verb as u8, -1),
            'f' | 'e' | 'E' => (verb as u8, 6),
            'F' => (b'f', 6),
            _ => {
                self.bad_verb(verb, Some(&Value::Float(v)));
                return;
            }
        };
        let prec = self.f.prec.map(|p| p as i32).unwrap_or(prec);
        let mut num = format_float(v, fmt, prec);
        if !num.starts_with(['-', '+']) {
            num.insert(0, '+');
        }
        if self.f.space && num.starts_with('+') && !self.f.plus {
            num.replace_range(0..1, " ");
        }
        if num[1..].starts_with(['I', 'N']) {
            let z = self.f.zero;
            self.f.zero = false;
            if num[1..].starts_with('N') && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad(&num);
            self.f.zero = z;
            return;
        }
        if self.f.sharp && verb != 'b' {
            let mut digits: i32 = 0;
            if matches!(verb, 'v' | 'g' | 'G' | 'x') {
                digits = if prec == -1 { 6 } else { prec };
            }
            let bytes = num.as_bytes().to_vec();
            let mut head: Vec<u8> = Vec::new();
            let mut tail: Vec<u8> = Vec::new();
            let mut has_point = false;
            let mut saw_nonzero = false;
            let mut i = 1;
            head.push(bytes[0]);
            while i < bytes.len() {
                let c = bytes[i];
                match c {
                    b'.' => {
                        has_point = true;
                        head.push(c);
                    }
                    b'p' | b'P' => {
                        tail.extend_from_slice(&bytes[i..]);
                        break;
                    }
                    b'e' | b'E' if verb != 'x' && verb != 'X' => {
                        tail.extend_from_slice(&bytes[i..]);
                        break;
                    }
                    _ => {
                        if c != b'0' {
                            saw_nonzero = true;
                        }
                        if saw_nonzero {
                            digits -= 1;
                        }
                        head.push(c);
                    }
                }
                i += 1;
            }
            if !has_point {
                if head.len() == 2 && head[1] == b'0' {
                    digits -= 1;
                }
                head.push(b'.');
            }
            while digits > 0 {
                head.push(b'0');
                digits -= 1;
            }
            head.extend_from_slice(&tail);
            num = String::from_utf8(head).unwrap_or_default();
        }
        if self.f.plus || !num.starts_with('+') {
            if self.f.zero
                && let Some(w) = self.f.wid
                && w > num.len()
            {
                self.buf.push_str(&num[..1]);
                self.write_padding(w - num.len());
                self.buf.push_str(&num[1..]);
                return;
            }
            self.pad(&num);
            return;
        }
        let rest = num[1..].to_string();
        self.pad(&rest);
    }

    fn fmt_sx(&mut self, s: &str, upper: bool) {
        let digits: &[u8] = if upper {
            b"0123456789ABCDEFX"
        } else {
            b"0123456789abcdefx"
        };
        let b = s.as_bytes();
        let mut length = b.len();
        if let Some(p) = self.f.prec
            && p < length
        {
            length = p;
        }
        let mut width = 2 * length;
        if width > 0 {
            if self.f.space {
                if self.f.sharp {
                    width *= 2;
                }
                width += length - 1;
            } else if self.f.sharp {
                width += 2;
            }
        } else {
            if let Some(w) = self.f.wid {
                self.write_padding(w);
            }
            return;
        }
        if let Some(w) = self.f.wid
            && w > width
            && !self.f.minus
        {
            self.write_padding(w - width);
        }
        let mut out = String::new();
        if self.f.sharp {
            out.push('0');
            out.push(digits[16] as char);
        }
        for (i, c) in b.iter().take(length).enumerate() {
            if self.f.space && i > 0 {
                out.push(' ');
                if self.f.sharp {
                    out.push('0');
                    out.push(digits[16] as char);
                }
            }
            out.push(digits[(c >> 4) as usize] as char);
            out.push(digits[(c & 0xf) as usize] as char);
        }
        self.buf.push_str(&out);
        if let Some(w) = self.f.wid
            && w > width
            && self.f.minus
        {
            self.write_padding(w - width);
        }
    }

    fn fmt_q(&mut self, s: &str) {
        let s = self.truncate(s);
        if self.f.sharp && can_backquote(&s) {
            self.pad(&format!("`{s}`"));
            return;
        }
        let q = if self.f.plus {
            quote_ascii(&s)
        } else {
            quote(&s)
        };
        self.pad(&q);
    }

    fn fmt_string(&mut self, s: &str, verb: char, v: &Value) {
        match verb {
            'v' if self.f.sharp_v => self.fmt_q(s),
            'v' | 's' => self.fmt_s(s),
            'x' => self.fmt_sx(s, false),
            'X' => self.fmt_sx(s, true),
            'q' => self.fmt_q(s),
            _ => self.bad_verb(verb, Some(v)),
        }
    }

    /// Go's `printArg` (depth 0) and `printValue` (nested).
    fn print_arg(&mut self, v: &Value, verb: char, depth: usize) {
        if depth == 0 {
            if let Value::Nil = v {
                match verb {
                    'T' | 'v' => self.pad("<nil>"),
                    _ => self.bad_verb(verb, None),
                }
                return;
            }
            if verb == 'T' {
                self.fmt_s(go_type(v));
                return;
            }
            if verb == 'p' {
                self.bad_verb('p', Some(v));
                return;
            }
        }
        match v {
            Value::Nil => {
                // A nil interface inside a list or map prints as `<nil>` whatever the verb.
                if self.f.sharp_v {
                    self.buf.push_str("interface {}(nil)");
                } else {
                    self.buf.push_str("<nil>");
                }
            }
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }),
                _ => self.bad_verb(verb, Some(v)),
            },
            Value::Int(i) | Value::Int64(i) => self.fmt_int(v, *i as u64, true, verb),
            Value::Uint64(u) => self.fmt_int(v, *u, false, verb),
            Value::Float(f) => self.fmt_float(*f, verb),
            Value::String(s) => self.fmt_string(s, verb, v),
            Value::Time(t) => {
                if self.f.sharp_v {
                    self.buf.push_str(&time_string(t));
                } else if matches!(verb, 'v' | 's' | 'x' | 'X' | 'q') {
                    self.fmt_string(&time_string(t), verb, v);
                } else {
                    self.bad_verb(verb, Some(v));
                }
            }
            Value::List(items) => {
                if self.f.sharp_v {
                    self.buf.push_str("[]interface {}{");
                    for (i, x) in items.iter().enumerate() {
                        if i > 0 {
                            self.buf.push_str(", ");
                        }
                        self.print_arg(x, verb, depth + 1);
                    }
                    self.buf.push('}');
                } else {
                    self.buf.push('[');
                    for (i, x) in items.iter().enumerate() {
                        if i > 0 {
                            self.buf.push(' ');
                        }
                        self.print_arg(x, verb, depth + 1);
                    }
                    self.buf.push(']');
                }
            }
            Value::Map(m) => {
                if self.f.sharp_v {
                    self.buf.push_str("map[string]interface {}{");
                } else {
                    self.buf.push_str("map[");
                }
                for (i, (k, x)) in m.iter().enumerate() {
                    if i > 0 {
                        if self.f.sharp_v {
                            self.buf.push_str(", ");
                        } else {
                            self.buf.push(' ');
                        }
                    }
                    self.print_arg(&Value::String(k.clone()), verb, depth + 1);
                    self.buf.push(':');
                    self.print_arg(x, verb, depth + 1);
                }
                self.buf.push(if self.f.sharp_v { '}' } else { ']' });
            }
        }
    }

    fn print_top(&mut self, v: &Value, verb: char) {
        self.print_arg(v, verb, 0);
    }
}

fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !(c < ' ' || c == '\u{7f}')))
}

/// `strconv.QuoteRune` (`'x'`), ASCII-only with `ascii`.
fn quote_rune(c: char, ascii: bool) -> String {
    let inner = match c {
        '\'' => "\\'".to_string(),
        '"' => "\"".to_string(),
        _ => {
            let q = if ascii {
                quote_ascii(&c.to_string())
            } else {
                quote(&c.to_string())
            };
            q[1..q.len() - 1].to_string()
        }
    };
    format!("'{inner}'")
}

/// `fmt.Sprint`: operands separated by a space when neither side is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut p = Printer::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            p.buf.push(' ');
        }
        p.f = Flags::default();
        p.print_top(a, 'v');
        prev_string = is_string;
    }
    p.buf
}

/// `fmt.Sprintln`.
pub fn sprintln(args: &[Value]) -> String {
    let mut p = Printer::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            p.buf.push(' ');
        }
        p.f = Flags::default();
        p.print_top(a, 'v');
    }
    p.buf.push('\n');
    p.buf
}

const TOO_LARGE: usize = 1_000_000;

/// Go's `parsenum`.
fn parse_num(s: &[u8], start: usize, end: usize) -> (Option<usize>, usize) {
    if start >= end {
        return (None, end);
    }
    let mut num = 0usize;
    let mut isnum = false;
    let mut i = start;
    while i < end && s[i].is_ascii_digit() {
        if num > TOO_LARGE {
            return (None, end);
        }
        num = num * 10 + usize::from(s[i] - b'0');
        isnum = true;
        i += 1;
    }
    (isnum.then_some(num), i)
}

/// `intFromArg`: an int argument for `*` widths.
fn int_from_arg(args: &[Value], arg_num: usize) -> (Option<i64>, usize) {
    if arg_num >= args.len() {
        return (None, arg_num);
    }
    let n = match &args[arg_num] {
        Value::Int(i) | Value::Int64(i) => Some(*i),
        Value::Uint64(u) => i64::try_from(*u).ok(),
        _ => None,
    };
    let n = n.filter(|n| n.unsigned_abs() <= TOO_LARGE as u64);
    (n, arg_num + 1)
}

/// `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut p = Printer::new();
    let s = format.as_bytes();
    let end = s.len();
    let mut arg_num = 0usize;
    let mut reordered = false;
    let mut i = 0usize;
    'format: while i < end {
        let mut good_arg_num = true;
        let last = i;
        while i < end && s[i] != b'%' {
            i += 1;
        }
        if i > last {
            p.buf.push_str(&format[last..i]);
        }
        if i >= end {
            break;
        }
        i += 1;
        p.f = Flags::default();
        while i < end {
            let c = s[i];
            match c {
                b'#' => p.f.sharp = true,
                b'0' => p.f.zero = !p.f.minus,
                b'+' => p.f.plus = true,
                b'-' => {
                    p.f.minus = true;
                    p.f.zero = false;
                }
                b' ' => p.f.space = true,
                _ => {
                    if c.is_ascii_lowercase() && arg_num < args.len() {
                        if c == b'v' {
                            p.f.sharp_v = p.f.sharp;
                            p.f.sharp = false;
                            p.f.plus_v = p.f.plus;
                            p.f.plus = false;
                        }
                        p.print_top(&args[arg_num], c as char);
                        arg_num += 1;
                        i += 1;
                        continue 'format;
                    }
                    break;
                }
            }
            i += 1;
        }
        // Argument index, width.
        let mut after_index;
        (arg_num, i, after_index) =
            arg_number(arg_num, s, i, args.len(), &mut reordered, &mut good_arg_num);
        if i < end && s[i] == b'*' {
            i += 1;
            let (n, next) = int_from_arg(args, arg_num);
            arg_num = next;
            match n {
                Some(n) => {
                    p.f.wid = Some(n.unsigned_abs() as usize);
                    if n < 0 {
                        p.f.minus = true;
                        p.f.zero = false;
                    }
                }
                None => p.buf.push_str("%!(BADWIDTH)"),
            }
            after_index = false;
        } else {
            let (w, next) = parse_num(s, i, end);
            p.f.wid = w;
            i = next;
            if after_index && w.is_some() {
                good_arg_num = false;
            }
        }
        // Precision.
        if i + 1 < end && s[i] == b'.' {
            i += 1;
            if after_index {
                good_arg_num = false;
            }
            (arg_num, i, after_index) =
                arg_number(arg_num, s, i, args.len(), &mut reordered, &mut good_arg_num);
            if i < end && s[i] == b'*' {
                i += 1;
                let (n, next) = int_from_arg(args, arg_num);
                arg_num = next;
                match n {
                    Some(n) if n >= 0 => p.f.prec = Some(n as usize),
                    Some(_) => p.f.prec = None,
                    None => {
                        p.f.prec = None;
                        p.buf.push_str("%!(BADPREC)");
                    }
                }
                after_index = false;
            } else {
                let (pr, next) = parse_num(s, i, end);
                i = next;
                p.f.prec = Some(pr.unwrap_or(0));
            }
        }
        if !after_index {
            (arg_num, i, after_index) =
                arg_number(arg_num, s, i, args.len(), &mut reordered, &mut good_arg_num);
        }
        let _ = after_index;
        if i >= end {
            p.buf.push_str("%!(NOVERB)");
            break;
        }
        let verb = format[i..].chars().next().unwrap_or('?');
        i += verb.len_utf8();
        match verb {
            '%' => p.buf.push('%'),
            _ if !good_arg_num => {
                p.buf.push_str("%!");
                p.buf.push(verb);
                p.buf.push_str("(BADINDEX)");
            }
            _ if arg_num >= args.len() => {
                p.buf.push_str("%!");
                p.buf.push(verb);
                p.buf.push_str("(MISSING)");
            }
            _ => {
                if verb == 'v' {
                    p.f.sharp_v = p.f.sharp;
                    p.f.sharp = false;
                    p.f.plus_v = p.f.plus;
                    p.f.plus = false;
                }
                p.print_top(&args[arg_num], verb);
                arg_num += 1;
            }
        }
    }
    if !reordered && arg_num < args.len() {
        p.f = Flags::default();
        p.buf.push_str("%!(EXTRA ");
        for (i, a) in args[arg_num..].iter().enumerate() {
            if i > 0 {
                p.buf.push_str(", ");
            }
            if let Value::Nil = a {
                p.buf.push_str("<nil>");
            } else {
                p.buf.push_str(go_type(a));
                p.buf.push('=');
                p.print_top(a, 'v');
            }
        }
        p.buf.push(')');
    }
    p.buf
}

/// Go's `argNumber`: an explicit `[n]` argument index at `i`.
fn arg_number(
    arg_num: usize,
    s: &[u8],
    i: usize,
    num_args: usize,
    reordered: &mut bool,
    good: &mut bool,
) -> (usize, usize, bool) {
    if s.len() <= i || s[i] != b'[' {
        return (arg_num, i, false);
    }
    *reordered = true;
    let (index, wid, ok) = parse_arg_number(&s[i..]);
    if ok && index.is_some_and(|x| x < num_args) {
        return (index.unwrap_or(0), i + wid, true);
    }
    *good = false;
    (arg_num, i + wid, ok)
}

fn parse_arg_number(s: &[u8]) -> (Option<usize>, usize, bool) {
    if s.len() < 3 {
        return (Some(0), 1, false);
    }
    for i in 1..s.len() {
        if s[i] == b']' {
            let (w, newi) = parse_num(s, 1, i);
            return match w {
                Some(w) if newi == i => (w.checked_sub(1), i + 1, true),
                _ => (Some(0), i + 1, false),
            };
        }
    }
    (Some(0), 1, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_strconv() {
        assert_eq!(format_float(1e6, b'g', -1), "1e+06");
        assert_eq!(format_float(1e21, b'g', -1), "1e+21");
        assert_eq!(format_float(100000.0, b'g', -1), "100000");
        assert_eq!(format_float(1.23456, b'f', 2), "1.23");
        assert_eq!(format_float(3.0, b'e', 6), "3.000000e+00");
        assert_eq!(format_float(0.000012345, b'g', 3), "1.23e-05");
        assert_eq!(format_float(123456.0, b'g', 3), "1.23e+05");
        assert_eq!(format_float(1.5, b'x', -1), "0x1.8p+00");
        assert_eq!(format_float(0.0, b'e', -1), "0e+00");
    }

    #[test]
    fn printf_verbs_and_errors() {
        let f = Value::Float(2.5);
        assert_eq!(sprintf("%d", std::slice::from_ref(&f)), "%!d(float64=2.5)");
        assert_eq!(
            sprintf("%5.1f|%-4d|%04d", &[f, Value::Int(7), Value::Int(-7)]),
            "  2.5|7   |-007"
        );
        assert_eq!(sprintf("%d %d", &[Value::Int(1)]), "1 %!d(MISSING)");
        assert_eq!(
            sprintf("%d", &[Value::Int(1), Value::str("x")]),
            "1%!(EXTRA string=x)"
        );
        assert_eq!(
            sprintf("%T %q %x", &[Value::Nil, Value::Int(65), Value::str("hi")]),
            "<nil> 'A' 6869"
        );
        assert_eq!(
            sprint(&[Value::Int(1), Value::Int(2), Value::str("a"), Value::Int(3)]),
            "1 2a3"
        );
    }
}
