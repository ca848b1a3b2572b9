//! Go's textual forms the adapter reproduces byte for byte: `time.Duration` text, `strconv`
//! booleans and float printing, `fmt`'s `%v` of decoded JSON. A leaf: config, the expression
//! languages and the YAML loader all read and print values the way the Go adapter did, and
//! none of them depends on another for it.

pub mod duration;
pub mod fmt;

pub use duration::GoDuration;

/// The texts `strconv.ParseBool` reads as true.
pub const TRUE_TEXTS: [&str; 6] = ["1", "t", "T", "TRUE", "true", "True"];
/// The texts `strconv.ParseBool` reads as false.
pub const FALSE_TEXTS: [&str; 6] = ["0", "f", "F", "FALSE", "false", "False"];

/// Go's `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Option<bool> {
    if TRUE_TEXTS.contains(&s) {
        Some(true)
    } else if FALSE_TEXTS.contains(&s) {
        Some(false)
    } else {
        None
    }
}
