//! Text edits on a legacy file's source, located by the parsed nodes' lines and columns: rename
//! a key token, replace a scalar token, delete an entry with the comment lines directly above
//! it, insert lines, shift indentation. Everything else in the file (comments, blank lines,
//! quoting, key order) is copied as it was. An edit the text cannot express marks the file
//! `unsupported`, and the caller re-serialises the converted tree instead.

use crate::yaml::{self, Node, NodeKind};

/// The lines of one source text.
pub(super) struct Source {
    lines: Vec<String>,
    /// The first line of the document (lines before it belong to other documents).
    pub(super) doc_first: usize,
}

/// The lines an entry occupies: comments directly above, its key line, and its value.
#[derive(Debug, Clone, Copy)]
pub(super) struct Extent {
    pub(super) first: usize,
    pub(super) key_line: usize,
    pub(super) last: usize,
}

/// Where a scalar's text is in the source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Token {
    /// A scalar on one line, bytes `start..end` of `line` (quotes included).
    Inline {
        line: usize,
        start: usize,
        end: usize,
        quote: Quote,
    },
    /// A literal block scalar (`|`): content lines `first..=last`, indented by `indent`.
    Literal {
        first: usize,
        last: usize,
        indent: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Quote {
    Plain,
    Single,
    Double,
}

impl Source {
    pub(super) fn new(text: &str) -> Self {
        Source {
            lines: text.split('\n').map(str::to_string).collect(),
            doc_first: 1,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.lines.len()
    }

    /// Line `n` (1-based), empty outside the text.
    pub(super) fn line(&self, n: usize) -> &str {
        n.checked_sub(1)
            .and_then(|i| self.lines.get(i))
            .map_or("", String::as_str)
    }

    fn indent(&self, n: usize) -> usize {
        let l = self.line(n);
        l.len() - l.trim_start_matches(' ').len()
    }

    fn is_blank(&self, n: usize) -> bool {
        self.line(n).trim().is_empty()
    }

    fn is_comment(&self, n: usize) -> bool {
        self.line(n).trim_start().starts_with('#')
    }

    /// The byte offset of 1-based character column `col` in line `n`.
    pub(super) fn byte_of(&self, n: usize, col: usize) -> Option<usize> {
        let l = self.line(n);
        match l.char_indices().nth(col.checked_sub(1)?) {
            Some((b, _)) => Some(b),
            None if l.chars().count() == col - 1 => Some(l.len()),
            None => None,
        }
    }

    /// The indentation (in characters) of the key node: its column minus one.
    pub(super) fn key_indent(&self, key: &Node) -> usize {
        key.col.saturating_sub(1)
    }

    /// Whether only spaces precede the key on its line (not `- key:` or a flow mapping).
    pub(super) fn key_starts_line(&self, key: &Node) -> bool {
        self.byte_of(key.line, key.col)
            .is_some_and(|b| self.line(key.line)[..b].trim().is_empty())
    }

    /// The first line of the document holding content (not blank, not a comment, no `---`).
    fn first_content_line(&self) -> usize {
        (self.doc_first..=self.len())
            .find(|&n| !self.is_blank(n) && !self.is_comment(n) && !self.line(n).starts_with("---"))
            .unwrap_or(self.doc_first)
    }

    /// The lines of the entry whose key is `key`.
    pub(super) fn extent(&self, key: &Node) -> Extent {
        let ind = self.key_indent(key);
        let mut last = key.line;
        for n in key.line + 1..=self.len() {
            if self.is_blank(n) {
                continue;
            }
            if self.indent(n) <= ind {
                if self.is_comment(n) {
                    continue;
                }
                break;
            }
            last = n;
        }
        let mut first = key.line;
        if key.line != self.first_content_line() {
            while first > self.doc_first && self.is_comment(first - 1) {
                first -= 1;
            }
        }
        Extent {
            first,
            key_line: key.line,
            last,
        }
    }

    /// Where the scalar `node` is written, or `None` for anything but a one-line scalar or a
    /// literal block (anchors, tags, folded and multi-line scalars).
    pub(super) fn token(&self, node: &Node) -> Option<Token> {
        let NodeKind::Scalar { text, .. } = &node.kind else {
            return None;
        };
        let line = self.line(node.line);
        let start = self.byte_of(node.line, node.col)?;
        let rest = &line[start..];
        let inline = |len: usize, quote| Token::Inline {
            line: node.line,
            start,
            end: start + len,
            quote,
        };
        match rest.chars().next() {
            Some('"') => closing(rest, '"').map(|len| inline(len, Quote::Double)),
            Some('\'') => closing(rest, '\'').map(|len| inline(len, Quote::Single)),
            Some('|') => self.literal(node.line),
            Some('>' | '&' | '!' | '*') => None,
            _ if !text.contains('\n') && rest.starts_with(text.as_str()) => {
                Some(inline(text.len(), Quote::Plain))
            }
            _ => None,
        }
    }

    fn literal(&self, header: usize) -> Option<Token> {
        let first = (header + 1..=self.len()).find(|&n| !self.is_blank(n))?;
        let indent = self.indent(first);
        if indent <= self.indent(header) {
            return None;
        }
        let mut last = first;
        for n in first..=self.len() {
            if self.is_blank(n) {
                continue;
            }
            if self.indent(n) < indent {
                break;
            }
            last = n;
        }
        Some(Token::Literal {
            first,
            last,
            indent,
        })
    }
}

/// The length of a quoted scalar starting at `s[0]`, when it closes on the same line.
fn closing(s: &str, q: char) -> Option<usize> {
    let mut chars = s.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if q == '"' => {
                chars.next();
            }
            c if c == q => {
                if q == '\'' && chars.peek().is_some_and(|&(_, n)| n == '\'') {
                    chars.next();
                    continue;
                }
                return Some(i + 1);
            }
            _ => {}
        }
    }
    None
}

/// The edits of one output file.
#[derive(Debug, Default, Clone)]
pub(super) struct Edits {
    replace: Vec<(usize, usize, usize, String)>,
    delete: Vec<(usize, usize)>,
    insert: Vec<(usize, Vec<String>)>,
    after: Vec<(usize, Vec<String>)>,
    indent: Vec<(usize, usize, isize)>,
    /// Why the text cannot express the conversion, if it cannot.
    pub(super) unsupported: Option<String>,
}

impl Edits {
    pub(super) fn replace(&mut self, line: usize, start: usize, end: usize, text: String) {
        self.replace.push((line, start, end, text));
    }

    pub(super) fn delete(&mut self, first: usize, last: usize) {
        self.delete.push((first, last));
    }

    /// Inserts finished lines (indentation included) before original line `before`.
    pub(super) fn insert(&mut self, before: usize, lines: Vec<String>) {
        self.insert.push((before, lines));
    }

    /// Inserts lines after original line `line`, when that line is kept, shifted as that line is.
    pub(super) fn insert_after(&mut self, line: usize, lines: Vec<String>) {
        self.after.push((line, lines));
    }

    pub(super) fn indent(&mut self, first: usize, last: usize, delta: isize) {
        self.indent.push((first, last, delta));
    }

    pub(super) fn unsupported(&mut self, why: impl Into<String>) {
        self.unsupported.get_or_insert_with(|| why.into());
    }

    pub(super) fn extend(&mut self, other: &Edits) {
        self.replace.extend(other.replace.iter().cloned());
        self.delete.extend(other.delete.iter().copied());
        self.insert.extend(other.insert.iter().cloned());
        self.after.extend(other.after.iter().cloned());
        self.indent.extend(other.indent.iter().copied());
        if let Some(u) = &other.unsupported {
            self.unsupported(u.clone());
        }
    }

    /// Whether any replacement falls inside lines `first..=last`.
    pub(super) fn touches(&self, first: usize, last: usize) -> bool {
        self.replace
            .iter()
            .any(|(l, ..)| (first..=last).contains(l))
    }

    /// Renames the key token of `key` (plain or quoted) to `new`.
    pub(super) fn rename_key(&mut self, src: &Source, key: &Node, new: &str) {
        match src.token(key) {
            Some(Token::Inline {
                line, start, end, ..
            }) => self.replace(line, start, end, yaml::inline_string(new)),
            _ => self.unsupported(format!("line {}: key written in an unusual form", key.line)),
        }
    }

    /// Replaces the scalar `node` with the string `value`, keeping its quoting style where the
    /// value allows it.
    pub(super) fn replace_string(&mut self, src: &Source, node: &Node, value: &str) {
        let old = node.as_str().unwrap_or_default();
        match src.token(node) {
            Some(Token::Inline {
                line,
                start,
                end,
                quote,
            }) => {
                let text = match quote {
                    Quote::Single if !value.contains('\n') => {
                        format!("'{}'", value.replace('\'', "''"))
                    }
                    Quote::Double => yaml::double_quoted_string(value),
                    _ => yaml::inline_string(value),
                };
                self.replace(line, start, end, text);
            }
            Some(Token::Literal {
                first,
                last,
                indent,
            }) => {
                let (olds, news): (Vec<&str>, Vec<&str>) =
                    (old.lines().collect(), value.lines().collect());
                let content: Vec<usize> = (first..=last).collect();
                if olds.len() != news.len() || olds.len() != content.len() {
                    return self.unsupported(format!("line {first}: multi-line value rewritten"));
                }
                for ((o, n), l) in olds.iter().zip(&news).zip(content) {
                    if o != n {
                        let pad = " ".repeat(indent);
                        if src.line(l) != format!("{pad}{o}") {
                            return self.unsupported(format!("line {l}: block scalar"));
                        }
                        self.replace(l, 0, src.line(l).len(), format!("{pad}{n}"));
                    }
                }
            }
            None => self.unsupported(format!(
                "line {}: value written in an unusual form",
                node.line
            )),
        }
    }

    /// Replaces the scalar `node` with raw YAML text (a typed value such as `true` or `4`).
    pub(super) fn replace_raw(&mut self, src: &Source, node: &Node, raw: &str) {
        match src.token(node) {
            Some(Token::Inline {
                line, start, end, ..
            }) => self.replace(line, start, end, raw.to_string()),
            _ => self.unsupported(format!(
                "line {}: value written in an unusual form",
                node.line
            )),
        }
    }

    /// The edited text. Lines outside `keep` (other documents) are left out.
    pub(super) fn render(&self, src: &Source, keep: (usize, usize)) -> Result<String, String> {
        if let Some(u) = &self.unsupported {
            return Err(u.clone());
        }
        let mut out: Vec<String> = Vec::new();
        for n in 1..=src.len() + 1 {
            for (_, lines) in self.insert.iter().filter(|(b, _)| *b == n) {
                out.extend(lines.iter().cloned());
            }
            if n > src.len() || n < keep.0 || n > keep.1 {
                continue;
            }
            if self.delete.iter().any(|&(a, b)| (a..=b).contains(&n)) {
                continue;
            }
            let mut text = src.line(n).to_string();
            let mut reps: Vec<_> = self.replace.iter().filter(|r| r.0 == n).collect();
            reps.sort_by(|a, b| b.1.cmp(&a.1).then(a.3.cmp(&b.3)));
            // An aliased node is converted once per use: the same edit twice is one edit.
            reps.dedup();
            let mut limit = usize::MAX;
            for (_, start, end, new) in reps {
                if *end > limit || *end > text.len() {
                    return Err(format!("line {n}: overlapping edits"));
                }
                text.replace_range(*start..*end, new);
                limit = *start;
            }
            let delta: isize = self
                .indent
                .iter()
                .filter(|(a, b, _)| (*a..=*b).contains(&n))
                .map(|(_, _, d)| d)
                .sum();
            out.push(shift(&text, delta).ok_or_else(|| format!("line {n}: indentation"))?);
            // Lines inserted after a kept line move with its indentation.
            for (_, lines) in self.after.iter().filter(|(a, _)| *a == n) {
                for l in lines {
                    out.push(shift(l, delta).ok_or_else(|| format!("line {n}: indentation"))?);
                }
            }
        }
        while out
            .first()
            .is_some_and(|l| l.trim().is_empty() || l == "---")
        {
            out.remove(0);
        }
        while out
            .last()
            .is_some_and(|l| l.trim().is_empty() || l == "...")
        {
            out.pop();
        }
        let mut text = out.join("\n");
        text.push('\n');
        Ok(text)
    }
}

/// Shifts a line's indentation; comments with too little indentation go to column 0.
fn shift(line: &str, delta: isize) -> Option<String> {
    if delta == 0 || line.trim().is_empty() {
        return Some(line.to_string());
    }
    if delta > 0 {
        return Some(format!("{}{line}", " ".repeat(delta as usize)));
    }
    let have = line.len() - line.trim_start_matches(' ').len();
    let drop = delta.unsigned_abs();
    if have >= drop {
        Some(line[drop..].to_string())
    } else if line.trim_start().starts_with('#') {
        Some(line.trim_start().to_string())
    } else {
        None
    }
}
