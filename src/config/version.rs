//! The adapter-version compatibility check: the config's `adapter.version` and the binary's
//! version must share major.minor. Lenient semver like Masterminds/semver: optional `v`,
//! missing minor/patch, pre-release and build metadata.

/// The outcome of comparing the config version with the binary version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionCheck {
    Ok,
    Skipped,
    /// Skipped with a warning (message, offending version).
    Warn(&'static str, String),
    Mismatch(String),
}

/// `(major, minor, patch)` of a lenient semver string.
pub fn parse_lenient(v: &str) -> Option<(u64, u64, u64)> {
    let v = v.strip_prefix('v').unwrap_or(v);
    let core = v.split(['-', '+']).next()?;
    if core.is_empty() {
        return None;
    }
    let mut parts = core.split('.');
    let mut nums = [0u64; 3];
    for (i, slot) in nums.iter_mut().enumerate() {
        match parts.next() {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                if p.len() > 1 && p.starts_with('0') {
                    return None;
                }
                *slot = p.parse().ok()?;
            }
            Some(_) => return None,
            None if i > 0 => break,
            None => return None,
        }
    }
    if parts.next().is_some() {
        return None;
    }
    let rest = &v[core.len()..];
    if let Some(pre) = rest.strip_prefix('-') {
        let pre = pre.split('+').next().unwrap_or("");
        if pre.is_empty()
            || !pre
                .split('.')
                .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            return None;
        }
    }
    Some((nums[0], nums[1], nums[2]))
}

/// Compares as the Go adapter does (§2.3).
pub fn check(config_version: &str, binary_version: &str) -> VersionCheck {
    if config_version.is_empty() || binary_version.is_empty() {
        return VersionCheck::Skipped;
    }
    let Some(cfg) = parse_lenient(config_version) else {
        return VersionCheck::Warn(
            "config version is not valid semver",
            config_version.to_string(),
        );
    };
    let Some(bin) = parse_lenient(binary_version) else {
        return VersionCheck::Warn(
            "binary version is not valid semver",
            binary_version.to_string(),
        );
    };
    if bin == (0, 0, 0) {
        return VersionCheck::Skipped;
    }
    if cfg.0 == bin.0 && cfg.1 == bin.1 {
        return VersionCheck::Ok;
    }
    VersionCheck::Mismatch(format!(
        "adapter version mismatch: config {:?} (major.minor={}.{}) != adapter {:?} (major.minor={}.{})",
        config_version, cfg.0, cfg.1, binary_version, bin.0, bin.1
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compatibility_rules() {
        assert_eq!(check("1.2.3", "1.2.3"), VersionCheck::Ok);
        assert_eq!(check("1.2.0", "v1.2.9"), VersionCheck::Ok);
        assert_eq!(check("1.2.0-rc1", "1.2.3"), VersionCheck::Ok);
        assert!(
            matches!(check("1.3.0", "1.2.0"), VersionCheck::Mismatch(m) if m.contains("adapter version mismatch"))
        );
        assert!(matches!(check("2.2.0", "1.2.0"), VersionCheck::Mismatch(_)));
        assert_eq!(check("1.2.0", ""), VersionCheck::Skipped);
        assert_eq!(check("", "1.2.0"), VersionCheck::Skipped);
        for v in ["0.0.0-dev", "0.0.0-master", "v0.0.0-dev"] {
            assert_eq!(check("9.9.9", v), VersionCheck::Skipped);
        }
        assert!(
            matches!(check("not-a-version", "1.2.0"), VersionCheck::Warn(m, _) if m == "config version is not valid semver")
        );
        assert!(
            matches!(check("1.2.0", "dev"), VersionCheck::Warn(m, _) if m == "binary version is not valid semver")
        );
        assert!(matches!(check("dev", "dev"), VersionCheck::Warn(m, _) if m.starts_with("config")));
        assert_eq!(parse_lenient("v1"), Some((1, 0, 0)));
        assert_eq!(parse_lenient("1.2"), Some((1, 2, 0)));
    }
}
