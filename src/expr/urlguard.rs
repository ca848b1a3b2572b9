//! The rule that keeps a substituted value inside the URL position the config gave it.
//!
//! An `api_call.url` template is parsed as any template, then every printing action gets one
//! more pipeline stage (as Go's html/template appends its escapers) that checks the printed
//! value against the position of the action in the URL:
//!
//! - **start** (no literal text before it, e.g. `{{ .baseUrl }}` or `{{ .href }}`): any URL,
//!   but no fragment (`#`), no control character and no `.`/`..` path segment (also as
//!   `%2e`);
//! - **path segment** (after literal text that ends with `/`): one whole segment — not empty,
//!   not `.` or `..`, and none of `/ \ ? # %` or control characters;
//! - **inside a segment** (after other literal path text): the same characters refused, `.` and
//!   `..` allowed (they are not a segment there);
//! - **query** (after a literal `?`): no `#`, `&` or control character.
//!
//! So an event whose id is `x/../../version` or `abc?admin=true#` fails its API call with an
//! error that names the value, instead of reaching another resource. Values that are plain
//! identifiers (the only ones a HyperFleet resource path is built from) pass unchanged, so the
//! request bytes of every URL the Go adapter built from well-formed data are unchanged.

use super::gotemplate::exec::{Func, FuncError, Ty};
use super::gotemplate::parse::{Arg, Command, Node, Pipe};
use super::gotemplate::{Rv, Value as Tv, fmt as gofmt};

/// Where in the URL an action prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Position {
    Start,
    Segment,
    InSegment,
    Query,
}

impl Position {
    /// The template function that checks a value printed at this position.
    pub fn func_name(self) -> &'static str {
        match self {
            Position::Start => "hyperfleetUrlStart",
            Position::Segment => "hyperfleetUrlSegment",
            Position::InSegment => "hyperfleetUrlInSegment",
            Position::Query => "hyperfleetUrlQuery",
        }
    }

    const ALL: [Position; 4] = [
        Position::Start,
        Position::Segment,
        Position::InSegment,
        Position::Query,
    ];

    /// The position after literal `text` printed at this position.
    fn after_text(self, text: &str) -> Position {
        if text.is_empty() {
            return self;
        }
        if self == Position::Query || text.contains(['?', '#']) {
            return Position::Query;
        }
        if text.ends_with('/') {
            Position::Segment
        } else {
            Position::InSegment
        }
    }
}

/// Why a value may not be printed where the URL template puts it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlValueError {
    #[error("value {value:?} is not allowed in a URL path segment: {reason}")]
    Segment { value: String, reason: &'static str },
    #[error("value {value:?} is not allowed in a URL query: {reason}")]
    Query { value: String, reason: &'static str },
    #[error("value {value:?} is not allowed as a URL: {reason}")]
    Start { value: String, reason: &'static str },
}

/// Checks `value` printed at `pos`.
pub fn check(pos: Position, value: &str) -> Result<(), UrlValueError> {
    let control = value.chars().any(|c| c.is_control());
    let reason = match pos {
        Position::Start => {
            if control {
                Some("it contains a control character")
            } else if value.contains('#') {
                Some("it contains a fragment ('#')")
            } else if has_dot_segment(value) {
                Some("it contains a '.' or '..' path segment")
            } else {
                None
            }
        }
        Position::Segment | Position::InSegment => {
            if control {
                Some("it contains a control character")
            } else if let Some(c) = value.chars().find(|c| matches!(c, '/' | '\\')) {
                Some(if c == '/' {
                    "it contains '/'"
                } else {
                    "it contains '\\'"
                })
            } else if value.contains('?') {
                Some("it contains '?'")
            } else if value.contains('#') {
                Some("it contains '#'")
            } else if value.contains('%') {
                Some("it contains '%'")
            } else if pos == Position::Segment && value.is_empty() {
                Some("it is empty")
            } else if pos == Position::Segment && matches!(value, "." | "..") {
                Some("it is a '.' or '..' segment")
            } else {
                None
            }
        }
        Position::Query => {
            if control {
                Some("it contains a control character")
            } else if value.contains('#') {
                Some("it contains '#'")
            } else if value.contains('&') {
                Some("it contains '&'")
            } else {
                None
            }
        }
    };
    match (reason, pos) {
        (None, _) => Ok(()),
        (Some(reason), Position::Start) => Err(UrlValueError::Start {
            value: value.to_string(),
            reason,
        }),
        (Some(reason), Position::Query) => Err(UrlValueError::Query {
            value: value.to_string(),
            reason,
        }),
        (Some(reason), _) => Err(UrlValueError::Segment {
            value: value.to_string(),
            reason,
        }),
    }
}

/// Whether the path of `url` (query excluded) has a `.` or `..` segment, also percent-encoded.
fn has_dot_segment(url: &str) -> bool {
    let path = url.split('?').next().unwrap_or(url);
    let path = match path.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, p)| p),
        None => path,
    };
    path.split('/').any(|seg| {
        let decoded = seg.to_ascii_lowercase().replace("%2e", ".");
        matches!(decoded.as_str(), "." | "..")
    })
}

/// The guard functions, to be added to a URL template's function map.
pub fn funcs() -> Vec<(String, Func)> {
    Position::ALL
        .iter()
        .map(|&pos| {
            let f = Func::new(&[Ty::Any], None, move |args: &[Rv]| {
                let value = &args[0].v;
                let printed = match value {
                    Tv::String(s) => s.to_string(),
                    other => gofmt::sprint(std::slice::from_ref(other)),
                };
                check(pos, &printed)
                    .map(|()| Rv::boxed(value.clone()))
                    .map_err(|e| FuncError(e.to_string()))
            });
            (pos.func_name().to_string(), f)
        })
        .collect()
}

/// Appends the guard of its position to every printing action of `tree`.
pub fn guard(tree: &mut [Node]) {
    guard_list(tree, Position::Start);
}

/// Guards the actions of `list` entered at `pos`; returns the position after it.
fn guard_list(list: &mut [Node], mut pos: Position) -> Position {
    for node in list {
        pos = match node {
            Node::Text(t) => pos.after_text(t),
            Node::Action(pipe) => {
                if pipe.decl.is_empty() {
                    append_guard(pipe, pos);
                    // Two values printed back to back are one segment for the checks that follow.
                    match pos {
                        Position::Segment => Position::InSegment,
                        other => other,
                    }
                } else {
                    pos
                }
            }
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                let body = guard_list(&mut b.list, pos);
                let other = match &mut b.else_list {
                    Some(e) => guard_list(e, pos),
                    None => pos,
                };
                body.max(other)
            }
            Node::Template { .. } | Node::Break(_) | Node::Continue(_) => pos,
        };
    }
    pos
}

fn append_guard(pipe: &mut Pipe, pos: Position) {
    let at = pipe.pos;
    pipe.cmds.push(Command {
        pos: at,
        args: vec![Arg::Identifier(at, pos.func_name().to_string())],
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_pass_everywhere() {
        for pos in Position::ALL {
            for v in [
                "abc123",
                "2d1e0b0c-7f1b-4c3e-9a51-8f5a2f3c9e10",
                "v1",
                "cluster-a",
            ] {
                assert_eq!(check(pos, v), Ok(()), "{pos:?} {v}");
            }
        }
    }

    #[test]
    fn segments_refuse_what_changes_the_path() {
        for v in [
            "x/../../../../version",
            "..",
            ".",
            "",
            "abc?admin=true",
            "abc#",
            "a%2Fb",
            "a\\b",
            "a\nb",
        ] {
            assert!(check(Position::Segment, v).is_err(), "{v:?}");
        }
        assert_eq!(check(Position::InSegment, ".."), Ok(()));
        assert!(check(Position::InSegment, "a/b").is_err());
    }

    #[test]
    fn start_values_may_be_urls_without_dot_segments_or_fragments() {
        assert_eq!(check(Position::Start, "http://api:8000/prefix"), Ok(()));
        assert_eq!(
            check(Position::Start, "/api/hyperfleet/v1/clusters/abc"),
            Ok(())
        );
        for v in [
            "http://api:8000/a/../version",
            "/clusters/%2E%2E/version",
            "/clusters/./x",
            "http://api/x#frag",
        ] {
            assert!(check(Position::Start, v).is_err(), "{v:?}");
        }
    }

    #[test]
    fn query_values_may_not_add_parameters_or_fragments() {
        assert_eq!(check(Position::Query, "name='a b'"), Ok(()));
        assert!(check(Position::Query, "x&admin=true").is_err());
        assert!(check(Position::Query, "x#").is_err());
    }

    #[test]
    fn positions_follow_the_literal_text() {
        use Position::*;
        assert_eq!(Start.after_text(""), Start);
        assert_eq!(Start.after_text("/clusters/"), Segment);
        assert_eq!(Start.after_text("/clusters/c-"), InSegment);
        assert_eq!(Segment.after_text("/statuses?x="), Query);
        assert_eq!(Query.after_text("/"), Query);
    }
}
