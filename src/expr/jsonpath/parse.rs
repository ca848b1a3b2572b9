//! The parser of client-go's JSONPath templates, rule for rule: literal text outside `{…}`,
//! and inside an action fields (`.a`, `a\.b`), `..`, `*`, `[…]` indexes, slices and unions,
//! `'…'` keys, `[?(…)]` filters, quoted text, numbers, `true`/`false` and identifiers
//! (`range`, `end`). Error texts are client-go's, since the adapter prints them.

use super::lex::{
    alphanumeric, go_atoi, go_parse_float, go_sharp_u, is_go_digit, terminator, unquote,
};
use super::{Node, Reason, Slice};

/// Parses a whole template: text and actions.
pub(super) fn parse(input: &str) -> Result<Vec<Node>, Reason> {
    let mut p = Parser {
        input,
        pos: 0,
        start: 0,
    };
    let mut root = Vec::new();
    p.text(&mut root)?;
    Ok(root)
}

/// Parses `text` as the inside of one action (client-go's `parseAction`).
fn action(text: &str) -> Result<Vec<Node>, Reason> {
    let wrapped = format!("{{{text}}}");
    let mut nodes = parse(&wrapped)?;
    match nodes.first_mut() {
        Some(Node::List(list)) => Ok(std::mem::take(list)),
        _ => Ok(Vec::new()),
    }
}

struct Parser<'a> {
    input: &'a str,
    pos: usize,
    start: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.input[self.pos..]
    }

    fn next(&mut self) -> Option<char> {
        let c = self.rest().chars().next()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn backup(&mut self, c: Option<char>) {
        if let Some(c) = c {
            self.pos -= c.len_utf8();
        }
    }

    fn consume(&mut self) -> &str {
        let s = &self.input[self.start..self.pos];
        self.start = self.pos;
        s
    }

    /// The byte two before the position (client-go's `input[pos-2]`).
    fn before_last(&self) -> Option<u8> {
        self.pos.checked_sub(2).map(|i| self.input.as_bytes()[i])
    }

    fn text(&mut self, root: &mut Vec<Node>) -> Result<(), Reason> {
        loop {
            if self.rest().starts_with('{') {
                if self.pos > self.start {
                    let t = self.consume().to_string();
                    root.push(Node::Text(t));
                }
                self.pos += 1;
                self.consume();
                let mut list = Vec::new();
                self.inside(&mut list)?;
                root.push(Node::List(list));
                continue;
            }
            if self.next().is_none() {
                break;
            }
        }
        if self.pos > self.start {
            let t = self.consume().to_string();
            root.push(Node::Text(t));
        }
        Ok(())
    }

    /// Inside an action, up to and including its `}`.
    fn inside(&mut self, cur: &mut Vec<Node>) -> Result<(), Reason> {
        loop {
            let rest = self.rest();
            if rest.starts_with('}') {
                self.pos += 1;
                self.consume();
                return Ok(());
            }
            if rest.starts_with("[?(") {
                self.filter(cur)?;
                continue;
            }
            if rest.starts_with("..") {
                if matches!(cur.last(), Some(Node::Recursive)) {
                    return Err("invalid multiple recursive descent".into());
                }
                self.pos += 2;
                self.consume();
                cur.push(Node::Recursive);
                if self.peek().is_some_and(alphanumeric) {
                    self.field(cur);
                }
                continue;
            }
            let r = self.next();
            match r {
                None | Some('\r' | '\n') => return Err("unclosed action".into()),
                Some(' ' | '@' | '$') => {
                    self.consume();
                }
                Some('[') => self.array(cur)?,
                Some(q @ ('"' | '\'')) => self.quote(cur, q)?,
                Some('.') => self.field(cur),
                Some(c) if c == '+' || c == '-' || is_go_digit(c) => {
                    self.backup(r);
                    self.number(cur)?;
                }
                Some(c) if alphanumeric(c) => {
                    self.backup(r);
                    self.identifier(cur);
                }
                Some(c) => {
                    return Err(
                        format!("unrecognized character in action: {}", go_sharp_u(c)).into(),
                    );
                }
            }
        }
    }

    fn identifier(&mut self, cur: &mut Vec<Node>) {
        loop {
            let r = self.next();
            if r.is_none_or(terminator) {
                self.backup(r);
                break;
            }
        }
        let value = self.consume();
        cur.push(match value {
            "true" => Node::Bool(true),
            "false" => Node::Bool(false),
            other => Node::Identifier(other.to_string()),
        });
    }

    fn number(&mut self, cur: &mut Vec<Node>) -> Result<(), Reason> {
        if matches!(self.peek(), Some('+' | '-')) {
            self.next();
        }
        loop {
            let r = self.next();
            if !r.is_some_and(|c| c == '.' || is_go_digit(c)) {
                self.backup(r);
                break;
            }
        }
        let value = self.consume();
        if let Some(i) = go_atoi(value) {
            cur.push(Node::Int(i));
        } else if let Some(f) = go_parse_float(value) {
            cur.push(Node::Float(f));
        } else {
            return Err(format!("cannot parse number {value}").into());
        }
        Ok(())
    }

    fn array(&mut self, cur: &mut Vec<Node>) -> Result<(), Reason> {
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated array".into()),
                Some(']') => break,
                _ => {}
            }
        }
        let text = self.consume();
        let mut text = &text[1..text.len() - 1];
        if text == "*" {
            text = ":";
        }
        let parts: Vec<&str> = text.split(',').collect();
        if parts.len() > 1 {
            let mut union = Vec::new();
            for part in parts {
                union.push(action(&format!("[{}]", part.trim_matches(' ')))?);
            }
            cur.push(Node::Union(union));
            return Ok(());
        }
        if let Some(key) = text
            .strip_prefix('\'')
            .and_then(|t| t.strip_suffix('\''))
            .filter(|k| !k.contains('\''))
        {
            cur.extend(action(&format!(".{key}"))?);
            return Ok(());
        }
        cur.push(Node::Array(slice(text)?));
        Ok(())
    }

    fn filter(&mut self, cur: &mut Vec<Node>) -> Result<(), Reason> {
        self.pos += 3;
        self.consume();
        let (mut begin, mut end, mut pair) = (false, false, '\0');
        loop {
            let r = self.next();
            match r {
                None | Some('\n') => return Err("unterminated filter".into()),
                Some(q @ ('"' | '\'')) => {
                    if !begin {
                        begin = true;
                        pair = q;
                        continue;
                    }
                    if self.before_last() != Some(b'\\') && q == pair {
                        end = true;
                    }
                }
                Some(')') if begin == end => break,
                _ => {}
            }
        }
        if self.next() != Some(']') {
            return Err("unclosed array expect ]".into());
        }
        let text = self.consume();
        let text = &text[..text.len() - 2];
        match split_comparison(text) {
            None => cur.push(Node::Filter {
                left: action(text)?,
                right: Vec::new(),
                op: "exists".into(),
            }),
            Some((l, op, r)) => {
                let left = action(l)?;
                let right = action(r)?;
                cur.push(Node::Filter {
                    left,
                    right,
                    op: op.to_string(),
                });
            }
        }
        Ok(())
    }

    fn quote(&mut self, cur: &mut Vec<Node>, end: char) -> Result<(), Reason> {
        loop {
            match self.next() {
                None | Some('\n') => return Err("unterminated quoted string".into()),
                Some(c) if c == end && self.before_last() != Some(b'\\') => break,
                _ => {}
            }
        }
        let value = self.consume().to_string();
        let s = unquote(&value).map_err(|e| format!("unquote string {value} error {e}"))?;
        cur.push(Node::Text(s));
        Ok(())
    }

    fn field(&mut self, cur: &mut Vec<Node>) {
        self.consume();
        loop {
            let r = self.next();
            if r == Some('\\') {
                self.next();
            } else if r.is_none_or(terminator) {
                self.backup(r);
                break;
            }
        }
        let value = self.consume();
        cur.push(if value == "*" {
            Node::Wildcard
        } else {
            Node::Field(value.replace('\\', ""))
        });
    }
}

/// `[start:end:step]` as client-go reads it (`^(-?\d*)(:-?\d*)?(:-?\d*)?$`).
fn slice(text: &str) -> Result<Slice, Reason> {
    let invalid = || Reason::from(format!("invalid array index {text}"));
    let mut groups = text.splitn(3, ':');
    let first = groups.next().unwrap_or_default();
    let second = groups.next();
    let third = groups.next();
    let well_formed = |g: &str| {
        let digits = g.strip_prefix('-').unwrap_or(g);
        digits.chars().all(|c| c.is_ascii_digit())
    };
    if !well_formed(first) || !second.is_none_or(well_formed) || !third.is_none_or(well_formed) {
        return Err(invalid());
    }
    let number = |g: &str| go_atoi(g).ok_or_else(|| format!("array index {g} is not a number"));
    let start = if first.is_empty() {
        None
    } else {
        Some(number(first)?)
    };
    let (end, derived) = match second {
        // Go's `int` arithmetic: `[9223372036854775807]` wraps, as it does there.
        None => (Some(start.unwrap_or(0).wrapping_add(1)), true),
        Some("") => (None, false),
        Some(g) => (Some(number(g)?), false),
    };
    let step = match third {
        None | Some("") => None,
        Some(g) => Some(number(g)?),
    };
    Ok(Slice {
        start,
        end,
        derived,
        step,
    })
}

/// client-go's filter split `^([^!<>=]+)([!<>=]+)(.+?)$`.
fn split_comparison(text: &str) -> Option<(&str, &str, &str)> {
    let is_op = |c: char| matches!(c, '!' | '<' | '>' | '=');
    let op_start = text.find(is_op)?;
    if op_start == 0 {
        return None;
    }
    let rest = &text[op_start..];
    let op_len = rest.find(|c| !is_op(c))?;
    let right = &rest[op_len..];
    Some((&text[..op_start], &rest[..op_len], right)).filter(|_| !right.is_empty())
}
