//! The bounds every YAML document is held to while it is built, whatever the loader: the
//! characters yaml.v3's reader accepts, a nesting depth our recursive code survives, and
//! yaml.v3's rule against excessive aliasing, applied to counts kept per anchor so that an
//! alias is refused before its subtree is copied, never after.

use super::{SyntaxError, SyntaxErrorKind};
use std::collections::HashMap;

/// The deepest nesting of collections a document may have (yaml.v3 allows 10000). Every
/// recursive walk of a tree (to JSON, serde decoding, the emitter, template data, CEL values,
/// the trace, `Drop`) must survive this depth on a 2 MiB tokio worker stack in a debug build:
/// `tests/yaml_limits.rs` runs the whole pipeline there at this depth. Measured, the debug
/// pipeline survives 320 levels and overflows at 384; 128 keeps a 2.5× margin and is far
/// deeper than any Kubernetes manifest (a large CRD schema nests about 30-50 levels).
pub const MAX_DEPTH: usize = 128;

/// The most scalar text that alias expansion may copy into one document. yaml.v3 has no such
/// bound because Go shares the strings of an aliased node; we copy them, so a long scalar
/// aliased a few hundred thousand times (which yaml.v3's node-count rule allows) would
/// otherwise take gigabytes.
pub const MAX_ALIAS_BYTES: u64 = 16 << 20;

/// Whether yaml.v3's reader accepts `c` (its `yaml_parser_update_buffer` check).
fn allowed(c: char) -> bool {
    matches!(c as u32,
        0x09 | 0x0A | 0x0D | 0x20..=0x7E | 0x85 | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

/// Refuses the characters yaml.v3 refuses (saphyr stops silently at a NUL, dropping the rest
/// of the file) and strips a leading byte order mark, which yaml.v3's reader consumes.
pub(crate) fn check_text(text: &str) -> Result<&str, SyntaxError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (mut line, mut col) = (1, 1);
    for c in text.chars() {
        if !allowed(c) {
            return Err(SyntaxError {
                line,
                col,
                kind: SyntaxErrorKind::ControlCharacter {
                    code: c as u32,
                    col,
                },
            });
        }
        if c == '\n' {
            (line, col) = (line + 1, 1);
        } else {
            col += 1;
        }
    }
    Ok(text)
}

/// What one node weighs once every alias under it is expanded: the decode steps yaml.v3
/// would take for it, the scalar bytes it holds, and how many collection levels it spans
/// (0 for a scalar).
#[derive(Debug, Clone, Copy)]
struct Size {
    nodes: u64,
    bytes: u64,
    height: usize,
}

impl Size {
    fn add_child(&mut self, child: Size) {
        self.nodes += child.nodes;
        self.bytes += child.bytes;
        self.height = self.height.max(1 + child.height);
    }
}

/// yaml.v3's `allowedAliasRatio`: 99% of decodes may come from aliases up to 400,000 decodes,
/// 10% from 4,000,000, linear in between.
fn allowed_alias_ratio(decodes: u64) -> f64 {
    const LOW: u64 = 400_000;
    const HIGH: u64 = 4_000_000;
    match decodes {
        d if d <= LOW => 0.99,
        d if d >= HIGH => 0.10,
        d => 0.99 - 0.89 * ((d - LOW) as f64 / (HIGH - LOW) as f64),
    }
}

/// Counts kept while a document is built, event by event, in document order, which is the
/// order yaml.v3's decoder visits the expanded tree (keys included, plus one for the document).
pub(crate) struct Limits {
    decodes: u64,
    aliased: u64,
    alias_bytes: u64,
    open: Vec<Size>,
    anchors: HashMap<usize, Size>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            decodes: 1,
            aliased: 0,
            alias_bytes: 0,
            open: Vec::new(),
            anchors: HashMap::new(),
        }
    }
}

impl Limits {
    /// A collection starts.
    pub(crate) fn open(&mut self, line: usize, col: usize) -> Result<(), SyntaxError> {
        if self.open.len() >= MAX_DEPTH {
            return Err(too_deep(line, col));
        }
        self.decodes += 1;
        self.check(line, col)?;
        self.open.push(Size {
            nodes: 1,
            bytes: 0,
            height: 1,
        });
        Ok(())
    }

    /// The innermost collection ends; `anchor` (0: none) names it.
    pub(crate) fn close(&mut self, anchor: usize) {
        if let Some(size) = self.open.pop() {
            self.finish(size, anchor);
        }
    }

    /// A scalar of `len` bytes.
    pub(crate) fn scalar(
        &mut self,
        len: usize,
        anchor: usize,
        line: usize,
        col: usize,
    ) -> Result<(), SyntaxError> {
        self.decodes += 1;
        self.check(line, col)?;
        let size = Size {
            nodes: 1,
            bytes: len as u64,
            height: 0,
        };
        self.finish(size, anchor);
        Ok(())
    }

    /// An alias of anchor `id`: accepted only if copying its subtree stays within the rules,
    /// so the caller may clone it afterwards.
    pub(crate) fn alias(&mut self, id: usize, line: usize, col: usize) -> Result<(), SyntaxError> {
        let target = *self.anchors.get(&id).ok_or(SyntaxError {
            line,
            col,
            kind: SyntaxErrorKind::UnknownAnchor,
        })?;
        if self.open.len() + target.height > MAX_DEPTH {
            return Err(too_deep(line, col));
        }
        // The alias node itself, then every node of the target with the alias depth raised.
        // The ratio only grows while an expansion proceeds, so checking at its end is checking
        // at each of its steps.
        self.decodes += 1 + target.nodes;
        self.aliased += target.nodes;
        self.alias_bytes += target.bytes;
        self.check(line, col)?;
        if self.alias_bytes > MAX_ALIAS_BYTES {
            return Err(SyntaxError {
                line,
                col,
                kind: SyntaxErrorKind::AliasBytes {
                    limit: MAX_ALIAS_BYTES,
                },
            });
        }
        let size = Size {
            nodes: 1 + target.nodes,
            ..target
        };
        self.add_to_parent(size);
        Ok(())
    }

    fn finish(&mut self, size: Size, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, size);
        }
        self.add_to_parent(size);
    }

    fn add_to_parent(&mut self, size: Size) {
        if let Some(parent) = self.open.last_mut() {
            parent.add_child(size);
        }
    }

    /// yaml.v3's test in `decoder.unmarshal`, run after every count change.
    fn check(&self, line: usize, col: usize) -> Result<(), SyntaxError> {
        let (a, d) = (self.aliased, self.decodes);
        if a > 100 && d > 1000 && a as f64 / d as f64 > allowed_alias_ratio(d) {
            return Err(SyntaxError {
                line,
                col,
                kind: SyntaxErrorKind::ExcessiveAliasing,
            });
        }
        Ok(())
    }
}

fn too_deep(line: usize, col: usize) -> SyntaxError {
    SyntaxError {
        line,
        col,
        kind: SyntaxErrorKind::TooDeep { max: MAX_DEPTH },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_alias_ratio_follows_yaml_v3() {
        assert_eq!(allowed_alias_ratio(1_000), 0.99);
        assert_eq!(allowed_alias_ratio(400_000), 0.99);
        assert!((allowed_alias_ratio(2_200_000) - 0.545).abs() < 1e-9);
        assert_eq!(allowed_alias_ratio(4_000_000), 0.10);
        assert_eq!(allowed_alias_ratio(40_000_000), 0.10);
    }

    #[test]
    fn yaml_v3_refuses_these_characters_and_accepts_the_rest() {
        for c in [
            '\0', '\u{1}', '\u{8}', '\u{b}', '\u{c}', '\u{1f}', '\u{7f}', '\u{84}',
        ] {
            assert!(!allowed(c), "{:?}", c);
        }
        for c in ['\u{9f}', '\u{fffe}', '\u{ffff}'] {
            assert!(!allowed(c), "{:?}", c);
        }
        for c in [
            '\t', '\n', '\r', ' ', '~', '\u{85}', '\u{a0}', 'é', '\u{feff}', '😀',
        ] {
            assert!(allowed(c), "{:?}", c);
        }
    }

    #[test]
    fn a_control_character_is_located() {
        let err = check_text("a: 1\nb: x\0y\n").unwrap_err();
        assert_eq!((err.line, err.col), (2, 5));
        assert_eq!(
            err.kind,
            SyntaxErrorKind::ControlCharacter { code: 0, col: 5 }
        );
        assert_eq!(check_text("\u{feff}a: 1\n").unwrap(), "a: 1\n");
    }
}
