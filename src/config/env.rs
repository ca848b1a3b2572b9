//! Where configuration reads the environment: a small trait, so tests pass a map instead of
//! mutating the process environment.

use std::collections::BTreeMap;

/// Read access to environment variables.
pub trait EnvSource: Send + Sync {
    /// The value of `key`, if set (set-but-empty returns `Some("")`).
    fn var(&self, key: &str) -> Option<String>;
    /// Every variable, for the `env` built-in and the `HYPERFLEET_<PATH>` overrides.
    fn vars(&self) -> BTreeMap<String, String>;
}

/// The real process environment.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok()
    }

    fn vars(&self) -> BTreeMap<String, String> {
        std::env::vars().collect()
    }
}

/// A fixed set of variables (tests, dry-run).
#[derive(Debug, Default, Clone)]
pub struct MapEnv(pub BTreeMap<String, String>);

impl MapEnv {
    /// The variables of `pairs` (an array or a slice of `(name, value)`).
    pub fn from_pairs<'a>(pairs: impl AsRef<[(&'a str, &'a str)]>) -> Self {
        MapEnv(
            pairs
                .as_ref()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}

impl EnvSource for MapEnv {
    fn var(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }

    fn vars(&self) -> BTreeMap<String, String> {
        self.0.clone()
    }
}

/// A non-empty value of `key`.
pub fn non_empty(env: &dyn EnvSource, key: &str) -> Option<String> {
    env.var(key).filter(|v| !v.is_empty())
}
