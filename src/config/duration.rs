//! Go `time.Duration` text: parsing (`1h2m3.5s`, `500ms`, `1.5h`, `-2s`) and printing
//! (`Duration.String()`: `1m51s`, `500ms`, `0s`), so configs and `config-dump` read as before.

use serde::{Deserialize, Deserializer};
use std::fmt;

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

    /// Parses Go's duration syntax; the error text matches Go's `time.ParseDuration`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let orig = s;
        let invalid = || format!("time: invalid duration \"{orig}\"");
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
        let mut total: f64 = 0.0;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let num = &rest[..num_len];
            if num.is_empty() || num == "." {
                return Err(invalid());
            }
            let value: f64 = num.parse().map_err(|_| invalid())?;
            rest = &rest[num_len..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let scale = match unit {
                "ns" => 1.0,
                "us" | "µs" | "μs" => 1e3,
                "ms" => 1e6,
                "s" => 1e9,
                "m" => 60e9,
                "h" => 3600e9,
                "" => return Err(format!("time: missing unit in duration \"{orig}\"")),
                other => {
                    return Err(format!(
                        "time: unknown unit \"{other}\" in duration \"{orig}\""
                    ));
                }
            };
            total += value * scale;
        }
        if total > i64::MAX as f64 {
            return Err(invalid());
        }
        let nanos = total.round() as i64;
        Ok(GoDuration(if neg { -nanos } else { nanos }))
    }
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
            GoDuration::parse("10").unwrap_err(),
            "time: missing unit in duration \"10\""
        );
        assert_eq!(
            GoDuration::parse("3x").unwrap_err(),
            "time: unknown unit \"x\" in duration \"3x\""
        );
        assert!(GoDuration::parse("").is_err());
        assert!(GoDuration::parse("s").is_err());
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
