//! Go's string case functions and `%q`, rune for rune: `strings.ToUpper`/`ToLower` use
//! Unicode's simple (one-to-one) mappings, so `ß` and `ﬁ` stay themselves in upper case and
//! `İ` lowers to `i`; `title` is `cases.Title(language.English)`: words (letters, digits and `_`,
//! with `.`, `'` and `:` inside a word between letters) get a title-case first letter (`ǆ` →
//! `ǅ`, `ﬁ` → `Fi`) and the rest lower-cased (with the Greek final sigma); `quote` escapes what
//! Go's `strconv.IsPrint` calls unprintable (`\u00a0`, `\u200b`, `\ufeff`, `\x7f`).

/// `strings.ToUpper`.
pub fn upper(s: &str) -> String {
    s.chars()
        .map(|c| one(c.to_uppercase()).unwrap_or(c))
        .collect()
}

/// `strings.ToLower`.
pub fn lower(s: &str) -> String {
    s.chars()
        .map(|c| match one(c.to_lowercase()) {
            Some(l) => l,
            // U+0130 is the only letter whose full lower case is two characters; its simple
            // mapping is `i`.
            None if c == '\u{130}' => 'i',
            None => c,
        })
        .collect()
}

/// The single character of a case mapping, if it is one character.
fn one(mut m: impl Iterator<Item = char>) -> Option<char> {
    let c = m.next()?;
    m.next().is_none().then_some(c)
}

/// `cases.Title(language.English).String(s)`.
pub fn title(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        if !word_char(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < chars.len() {
            let c = chars[i];
            let joins = matches!(c, '.' | '\'' | ':' | '\u{b7}' | '\u{2019}')
                && chars[i - 1].is_alphabetic()
                && chars.get(i + 1).is_some_and(|n| n.is_alphabetic());
            if word_char(c) || joins {
                i += 1;
            } else {
                break;
            }
        }
        // The first cased letter of the word is title-cased (leading digits are uncased:
        // `0x1p` becomes `0X1p`); the rest is lower-cased.
        let word = &chars[start..i];
        let first = word
            .iter()
            .position(|c| c.to_lowercase().ne(c.to_uppercase()))
            .unwrap_or(0);
        let head: String = word[..first].iter().collect();
        out.push_str(&head.to_lowercase());
        out.push_str(&title_char(word[first]));
        let rest: String = word[first + 1..].iter().collect();
        out.push_str(&rest.to_lowercase());
    }
    out
}

fn word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The title case of one character (full mapping).
fn title_char(c: char) -> String {
    match c {
        '\u{1c4}'..='\u{1c6}' => "\u{1c5}".into(),
        '\u{1c7}'..='\u{1c9}' => "\u{1c8}".into(),
        '\u{1ca}'..='\u{1cc}' => "\u{1cb}".into(),
        '\u{1f1}'..='\u{1f3}' => "\u{1f2}".into(),
        '\u{fb00}' => "Ff".into(),
        '\u{fb01}' => "Fi".into(),
        '\u{fb02}' => "Fl".into(),
        '\u{fb03}' => "Ffi".into(),
        '\u{fb04}' => "Ffl".into(),
        '\u{fb05}' | '\u{fb06}' => "St".into(),
        '\u{df}' => "Ss".into(),
        c => {
            let up: Vec<char> = c.to_uppercase().collect();
            if up.len() == 1 {
                up[0].to_string()
            } else {
                // Letters with a one-character title case of their own (Greek with iota
                // subscript) keep it; Rust has no title-case table, so they stay as they are.
                c.to_string()
            }
        }
    }
}

/// Go's `%q` of a string.
pub fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if !go_printable(c) => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32))
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32))
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space;
/// not other spaces, controls, format characters, private use or unassigned code points.
pub(crate) fn go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    let format = matches!(u,
        0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x8e2 | 0x180e | 0x200b..=0x200f
        | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff | 0xfff9..=0xfffb
        | 0x110bd | 0x110cd | 0x1bca0..=0x1bca3 | 0x1d173..=0x1d17a | 0xe0001 | 0xe0020..=0xe007f);
    let private = matches!(u, 0xe000..=0xf8ff | 0xf0000..=0xffffd | 0x100000..=0x10fffd);
    let nonchar = (u & 0xfffe) == 0xfffe || (0xfdd0..=0xfdef).contains(&u);
    !(format || private || nonchar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_case_mappings_as_go() {
        assert_eq!(upper("straße ﬁre ῼ ǆ"), "STRAßE ﬁRE ῼ Ǆ");
        assert_eq!(lower("İstanbul ΣΑΣ ῼ"), "istanbul σασ ῳ");
    }

    #[test]
    fn title_as_cases_title_english() {
        for (s, want) in [
            ("ǆemo", "ǅemo"),
            ("ÉCOLE", "École"),
            ("ﬁre", "Fire"),
            ("o'neil", "O'neil"),
            ("foo_bar", "Foo_bar"),
            ("foo-bar", "Foo-Bar"),
            ("foo.bar", "Foo.bar"),
            ("x1y2", "X1y2"),
            ("ΣΑΣ", "Σας"),
            ("hello\u{a0}world", "Hello\u{a0}World"),
            ("a\tb", "A\tB"),
            ("foo_bar-baz.qux", "Foo_bar-Baz.qux"),
        ] {
            assert_eq!(title(s), want, "{s}");
        }
    }

    #[test]
    fn quote_escapes_what_go_cannot_print() {
        assert_eq!(
            quote("a\"b\\c\n\t\u{7}\u{a0}\u{200b}\u{feff}\u{7f}é"),
            "\"a\\\"b\\\\c\\n\\t\\a\\u00a0\\u200b\\ufeff\\x7fé\""
        );
    }
}
