//! Go reference-time layouts (`2006-01-02T15:04:05Z07:00`) for the template `date` functions,
//! and Go's `time.Time.String()` form, which is how `now` travels through a template.

use chrono::{DateTime, Datelike, FixedOffset, Timelike};

/// Go's `Time.String()` layout (without the monotonic clock reading).
pub const GO_TIME_STRING: &str = "2006-01-02 15:04:05.999999999 -0700 MST";

const TOKENS: &[&str] = &[
    "January",
    "Monday",
    "Z07:00:00",
    "-07:00:00",
    "Z070000",
    "-070000",
    "Z07:00",
    "-07:00",
    "Z0700",
    "-0700",
    "2006",
    "Jan",
    "Mon",
    "MST",
    "Z07",
    "-07",
    "002",
    "__2",
    "_2",
    "15",
    "01",
    "02",
    "03",
    "04",
    "05",
    "06",
    "PM",
    "pm",
    "1",
    "2",
    "3",
    "4",
    "5",
];

/// Formats `t` with a Go layout string.
pub fn format(t: &DateTime<FixedOffset>, layout: &str) -> String {
    let mut out = String::new();
    let mut rest = layout;
    while !rest.is_empty() {
        if let Some((frac, len)) = fractional(rest) {
            out.push_str(&format_frac(t.nanosecond(), frac, len));
            rest = &rest[len + 1..];
            continue;
        }
        match TOKENS.iter().find(|tok| rest.starts_with(**tok)) {
            Some(tok) => {
                out.push_str(&token(t, tok));
                rest = &rest[tok.len()..];
            }
            None => {
                let c = rest.chars().next().unwrap_or_default();
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// `.000` / `,000` (fixed) or `.999` (trimmed) fractional seconds: (trim zeros?, digits).
fn fractional(s: &str) -> Option<(bool, usize)> {
    let mut chars = s.chars();
    let sep = chars.next()?;
    if sep != '.' && sep != ',' {
        return None;
    }
    let digit = chars.next()?;
    if digit != '0' && digit != '9' {
        return None;
    }
    let n = s[1..].chars().take_while(|c| *c == digit).count();
    // Go only treats the run as fractional seconds when no other digit follows it.
    if s[1 + n..].starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some((digit == '9', n))
}

fn format_frac(nanos: u32, trim: bool, len: usize) -> String {
    let digits = format!("{:09}", nanos % 1_000_000_000);
    let mut d = digits[..len.min(9)].to_string();
    if trim {
        d = d.trim_end_matches('0').to_string();
        if d.is_empty() {
            return String::new();
        }
    }
    format!(".{d}")
}

fn token(t: &DateTime<FixedOffset>, tok: &str) -> String {
    let off = t.offset().local_minus_utc();
    let (sign, abs) = if off < 0 { ('-', -off) } else { ('+', off) };
    let (oh, om, os) = (abs / 3600, (abs / 60) % 60, abs % 60);
    let hour12 = match t.hour() % 12 {
        0 => 12,
        h => h,
    };
    match tok {
        "January" => t.format("%B").to_string(),
        "Jan" => t.format("%b").to_string(),
        "Monday" => t.format("%A").to_string(),
        "Mon" => t.format("%a").to_string(),
        "2006" => format!("{:04}", t.year()),
        "06" => format!("{:02}", t.year() % 100),
        "01" => format!("{:02}", t.month()),
        "1" => t.month().to_string(),
        "02" => format!("{:02}", t.day()),
        "2" => t.day().to_string(),
        "_2" => format!("{:>2}", t.day()),
        "__2" => format!("{:>3}", t.ordinal()),
        "002" => format!("{:03}", t.ordinal()),
        "15" => format!("{:02}", t.hour()),
        "03" => format!("{hour12:02}"),
        "3" => hour12.to_string(),
        "04" => format!("{:02}", t.minute()),
        "4" => t.minute().to_string(),
        "05" => format!("{:02}", t.second()),
        "5" => t.second().to_string(),
        "PM" => (if t.hour() >= 12 { "PM" } else { "AM" }).into(),
        "pm" => (if t.hour() >= 12 { "pm" } else { "am" }).into(),
        "MST" => {
            if off == 0 {
                "UTC".into()
            } else {
                format!("{sign}{oh:02}{om:02}")
            }
        }
        _ if tok.starts_with('Z') && off == 0 => "Z".into(),
        "Z07:00:00" | "-07:00:00" => format!("{sign}{oh:02}:{om:02}:{os:02}"),
        "Z070000" | "-070000" => format!("{sign}{oh:02}{om:02}{os:02}"),
        "Z07:00" | "-07:00" => format!("{sign}{oh:02}:{om:02}"),
        "Z0700" | "-0700" => format!("{sign}{oh:02}{om:02}"),
        "Z07" | "-07" => format!("{sign}{oh:02}"),
        other => other.to_string(),
    }
}

/// Parses the time forms a template may hand to `date`: Go's `Time.String()` and RFC 3339.
pub fn parse_time(s: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t);
    }
    // "2006-01-02 15:04:05.999999999 -0700 MST": drop the zone abbreviation.
    let mut parts: Vec<&str> = s.split(' ').collect();
    if parts.len() == 4 {
        parts.pop();
    }
    DateTime::parse_from_str(&parts.join(" "), "%Y-%m-%d %H:%M:%S%.f %z").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-03-07T09:05:03.120Z").unwrap()
    }

    #[test]
    fn go_layouts() {
        assert_eq!(
            format(&t(), "2006-01-02T15:04:05Z07:00"),
            "2026-03-07T09:05:03Z"
        );
        assert_eq!(format(&t(), "2006-01-02"), "2026-03-07");
        assert_eq!(
            format(&t(), "Jan 2, 2006 at 3:04pm (MST)"),
            "Mar 7, 2026 at 9:05am (UTC)"
        );
        assert_eq!(format(&t(), "15:04:05.000"), "09:05:03.120");
        assert_eq!(format(&t(), "15:04:05.999"), "09:05:03.12");
        assert_eq!(
            format(&t(), GO_TIME_STRING),
            "2026-03-07 09:05:03.12 +0000 UTC"
        );
        let plus2 = DateTime::parse_from_rfc3339("2026-03-07T09:05:03+02:00").unwrap();
        assert_eq!(
            format(&plus2, "2006-01-02T15:04:05Z07:00"),
            "2026-03-07T09:05:03+02:00"
        );
        assert_eq!(
            format(&plus2, "Monday January 02 -0700"),
            "Saturday March 07 +0200"
        );
    }

    #[test]
    fn parses_go_time_string_and_rfc3339() {
        let s = format(&t(), GO_TIME_STRING);
        assert_eq!(parse_time(&s).unwrap(), t());
        assert_eq!(parse_time("2026-03-07T09:05:03.12Z").unwrap(), t());
    }
}
