//! Go `time.Duration` text: parsing (`1h2m3.5s`, `500ms`, `1.5h`, `-2s`) and printing
//! (`Duration.String()`: `1m51s`, `500ms`, `0s`), so configs and `config-dump` read as before.

use serde::{Deserialize, Deserializer};
use std::fmt;

/// A duration text `time.ParseDuration` refuses; the text is Go's
/// (`time: invalid duration "x"`, `time: unknown unit "d" in duration "1d"`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DurationError(String);

/// A signed duration in nanoseconds, as Go stores it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoDuration(pub i64);

impl GoDuration {
    pub const fn from_secs(s: i64) -> Self {
        GoDuration(s * 1_000_000_000)
    }

    pub fn is_zero(&self) -> bool {
        self.0 == 0
    }

    pub fn is_negative(&self) -> bool {
        self.0 < 0
    }

    /// The duration as a std duration (negative values clamp to zero).
    pub fn to_std(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.0.max(0) as u64)
    }

    /// Parses Go's duration syntax with `time.ParseDuration`'s arithmetic: whole units in
    /// unsigned integers (so values above 2^53 ns keep every digit), a fraction added as Go adds
    /// it (`1.0000000005s` is 1000000000 ns), overflow past 2^63 refused. The error texts are
    /// Go's.
    pub fn parse(s: &str) -> Result<Self, DurationError> {
        const LIMIT: u64 = 1 << 63;
        let orig = s;
        let invalid = || DurationError(format!("time: invalid duration \"{orig}\""));
        let (neg, mut rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        if rest == "0" {
            return Ok(GoDuration(0));
        }
        if rest.is_empty() {
            return Err(invalid());
        }
        let mut total: u64 = 0;
        while !rest.is_empty() {
            if !rest.starts_with(|c: char| c == '.' || c.is_ascii_digit()) {
                return Err(invalid());
            }
            let (whole, after) = leading_int(rest).ok_or_else(invalid)?;
            let pre = after.len() != rest.len();
            rest = after;
            let (mut frac, mut scale, mut post) = (0u64, 1f64, false);
            if let Some(after_dot) = rest.strip_prefix('.') {
                let (f, sc, after) = leading_fraction(after_dot);
                post = after.len() != after_dot.len();
                (frac, scale, rest) = (f, sc, after);
            }
            if !pre && !post {
                return Err(invalid());
            }
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let unit_ns: u64 = match unit {
                "ns" => 1,
                "us" | "µs" | "μs" => 1_000,
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60_000_000_000,
                "h" => 3_600_000_000_000,
                "" => {
                    return Err(DurationError(format!(
                        "time: missing unit in duration \"{orig}\""
                    )));
                }
                other => {
                    return Err(DurationError(format!(
                        "time: unknown unit \"{other}\" in duration \"{orig}\""
                    )));
                }
            };
            if whole > LIMIT / unit_ns {
                return Err(invalid());
            }
            let mut v = whole * unit_ns;
            if frac > 0 {
                // As Go: float64 is exact enough for a fraction of the largest unit (an hour).
                v += (frac as f64 * (unit_ns as f64 / scale)) as u64;
                if v > LIMIT {
                    return Err(invalid());
                }
            }
            total += v;
            if total > LIMIT {
                return Err(invalid());
            }
        }
        if neg {
            // -2^63 is representable; wrapping_neg maps 2^63 onto it.
            return Ok(GoDuration((total as i64).wrapping_neg()));
        }
        i64::try_from(total).map(GoDuration).map_err(|_| invalid())
    }
}

/// Go's `leadingInt`: the leading digits of `s` as an integer (None past 2^63) and the rest.
fn leading_int(s: &str) -> Option<(u64, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let mut x: u64 = 0;
    for b in s[..end].bytes() {
        if x > (1 << 63) / 10 {
            return None;
        }
        x = x * 10 + u64::from(b - b'0');
        if x > 1 << 63 {
            return None;
        }
    }
    Some((x, &s[end..]))
}

/// Go's `leadingFraction`: the leading digits as an integer and its scale (10^digits kept);
/// digits past what fits are read and dropped.
fn leading_fraction(s: &str) -> (u64, f64, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (mut x, mut scale, mut overflow) = (0u64, 1f64, false);
    for b in s[..end].bytes() {
        if overflow {
            continue;
        }
        if x > (i64::MAX as u64) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + u64::from(b - b'0');
        if y > 1 << 63 {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, &s[end..])
}

impl fmt::Display for GoDuration {
    /// Go's `Duration.String()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.0 < 0;
        let u = self.0.unsigned_abs();
        let sign = if neg { "-" } else { "" };
        if u == 0 {
            return write!(f, "0s");
        }
        if u < 1_000_000_000 {
            let (div, unit) = if u < 1_000 {
                (1, "ns")
            } else if u < 1_000_000 {
                (1_000, "µs")
            } else {
                (1_000_000, "ms")
            };
            return write!(f, "{sign}{}{unit}", frac(u, div));
        }
        let hours = u / 3_600_000_000_000;
        let mins = (u / 60_000_000_000) % 60;
        let secs_nanos = u % 60_000_000_000;
        let secs = frac(secs_nanos, 1_000_000_000);
        if hours > 0 {
            write!(f, "{sign}{hours}h{mins}m{secs}s")
        } else if mins > 0 {
            write!(f, "{sign}{mins}m{secs}s")
        } else {
            write!(f, "{sign}{secs}s")
        }
    }
}

/// `v / div` with the fractional part printed without trailing zeros.
fn frac(v: u64, div: u64) -> String {
    let whole = v / div;
    let rem = v % div;
    if rem == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{rem:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        GoDuration::parse(s.trim()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::GoDuration;

    #[test]
    fn parses_go_syntax() {
        assert_eq!(GoDuration::parse("1h2m3.5s").unwrap().0, 3_723_500_000_000);
        assert_eq!(GoDuration::parse("500ms").unwrap().0, 500_000_000);
        assert_eq!(
            GoDuration::parse("1.5h").unwrap(),
            GoDuration::from_secs(5400)
        );
        assert_eq!(GoDuration::parse("-2s").unwrap().0, -2_000_000_000);
        assert_eq!(GoDuration::parse("0").unwrap().0, 0);
        assert_eq!(
            GoDuration::parse("10").unwrap_err().to_string(),
            "time: missing unit in duration \"10\""
        );
        assert_eq!(
            GoDuration::parse("3x").unwrap_err().to_string(),
            "time: unknown unit \"x\" in duration \"3x\""
        );
        assert!(GoDuration::parse("").is_err());
        assert!(GoDuration::parse("s").is_err());
    }

    /// Values checked against Go's `time.ParseDuration` (integer sums, fractions truncated as
    /// Go truncates them, the full int64 range).
    #[test]
    fn parses_with_go_integer_arithmetic() {
        let ok = |s: &str| GoDuration::parse(s).unwrap().0;
        assert_eq!(ok("1.0000000005s"), 1_000_000_000);
        assert_eq!(ok("1.9999999999s"), 1_999_999_999);
        assert_eq!(ok("9007199254740993ns"), 9_007_199_254_740_993);
        assert_eq!(ok("9223372036854775807ns"), i64::MAX);
        assert_eq!(ok("2562047h47m16.854775807s"), i64::MAX);
        assert_eq!(ok("-9223372036854775808ns"), i64::MIN);
        assert_eq!(ok("0.1s"), 100_000_000);
        assert_eq!(ok(".5s"), 500_000_000);
        assert_eq!(ok("1.s"), 1_000_000_000);
        assert_eq!(ok("1h0.000000000000000000001s"), 3_600_000_000_000);
        assert_eq!(
            ok("1.00000000000000000000000000000000000001h"),
            3_600_000_000_000
        );
        assert_eq!(ok("3µs2μs1us"), 6_000);
        for bad in [
            "9223372036854775808ns",
            "2562047h47m16.854775808s",
            "-9223372036854775809ns",
            "99999999999999999999s",
            ".s",
            "1..5s",
            "+",
            "-",
        ] {
            assert!(GoDuration::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prints_like_go() {
        assert_eq!(GoDuration::from_secs(111).to_string(), "1m51s");
        assert_eq!(GoDuration::from_secs(10).to_string(), "10s");
        assert_eq!(GoDuration(500_000_000).to_string(), "500ms");
        assert_eq!(GoDuration(0).to_string(), "0s");
        assert_eq!(GoDuration(3_723_500_000_000).to_string(), "1h2m3.5s");
        assert_eq!(GoDuration(1_500).to_string(), "1.5µs");
        assert_eq!(GoDuration(-90_000_000_000).to_string(), "-1m30s");
    }
}
