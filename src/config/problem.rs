//! A located config problem (file, line, field path, message) and the error that carries a
//! list of them, so every problem is reported at once.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One problem found in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub file: PathBuf,
    /// 1-based line, 0 when the value came from the environment or a flag.
    pub line: usize,
    /// Field path, e.g. `resources[0].discovery.by_name`.
    pub path: String,
    /// The full message (it names the path, as the Go adapter's messages do).
    pub message: String,
}

impl Problem {
    pub fn error(
        file: &Path,
        line: usize,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            severity: Severity::Error,
            file: file.to_path_buf(),
            line,
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn warning(
        file: &Path,
        line: usize,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(file, line, path, message)
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A config that failed to load: what was being done, and every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// e.g. `task config validation failed`.
    pub context: String,
    pub problems: Vec<Problem>,
}

impl ConfigError {
    pub fn new(context: impl Into<String>, problems: Vec<Problem>) -> Self {
        ConfigError {
            context: context.into(),
            problems,
        }
    }

    /// A failure with a single message and no location.
    pub fn plain(context: impl Into<String>, file: &Path, message: impl Into<String>) -> Self {
        ConfigError::new(context, vec![Problem::error(file, 0, "", message)])
    }

    /// The error problems only.
    pub fn errors(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().filter(|p| p.is_error())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors: Vec<&Problem> = self.errors().collect();
        match errors.as_slice() {
            [one] => write!(f, "{}: {}", self.context, one),
            many => {
                write!(
                    f,
                    "{}: validation failed with {} error(s):",
                    self.context,
                    many.len()
                )?;
                for p in many {
                    write!(f, "\n  - {p}")?;
                }
                Ok(())
            }
        }
    }
}
