//! What the converter did, one line per change (file, input line, kind, old → new), and the
//! typed reasons it refuses a file.

use super::rewrite::RewriteError;
use crate::yaml::SyntaxError;
use std::fmt;
use std::path::PathBuf;

/// The kind of one change (contract §5.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Rename,
    Move,
    Drop,
    Coerce,
    Rewrite,
    Fold,
    ExpandAlias,
    Split,
    RenameName,
    Copy,
    Warn,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Rename => "rename",
            ChangeKind::Move => "move",
            ChangeKind::Drop => "drop",
            ChangeKind::Coerce => "coerce",
            ChangeKind::Rewrite => "rewrite",
            ChangeKind::Fold => "fold",
            ChangeKind::ExpandAlias => "expand-alias",
            ChangeKind::Split => "split",
            ChangeKind::RenameName => "rename-name",
            ChangeKind::Copy => "copy",
            ChangeKind::Warn => "warn",
        }
    }
}

/// One change, located in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub file: PathBuf,
    /// 1-based line of the input (0: the file as a whole).
    pub line: usize,
    pub kind: ChangeKind,
    pub message: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.kind.as_str(),
            self.message
        )
    }
}

/// A file the converter will not convert, with where and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}:{line}: {}{reason}", file.display(), if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct Refused {
    pub file: PathBuf,
    pub line: usize,
    /// The legacy key path, e.g. `spec.params[1].source` (empty for the file as a whole).
    pub path: String,
    pub reason: Box<Refusal>,
}

/// Why a file is refused (contract §5.12).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    #[error("{0}")]
    Syntax(SyntaxError),
    #[error("the document is empty (every loader failed on it too)")]
    Empty,
    #[error("the document is not a mapping")]
    NotAMapping,
    #[error(
        "unsupported apiVersion {0:?}: no adapter release accepted anything but hyperfleet.redhat.com/v1alpha1"
    )]
    ApiVersion(String),
    #[error("kind {0:?} is not an adapter configuration (a Kubernetes object, e.g. a ref target)")]
    NotAConfig(String),
    #[error(
        "{0:?} belongs to a design proposal that no adapter release executed; there is no behaviour to migrate"
    )]
    Proposal(String),
    #[error(
        "param source {0:?} read a Secret or ConfigMap from the cluster, which the current format cannot do: \
         mount it and use `source: {{file: {{path: ...}}}}`, or expose it as an env var (secretKeyRef) and use env.NAME"
    )]
    ClusterSource(String),
    #[error("param has no source (it never loaded in any version)")]
    NoSource,
    #[error("{0}")]
    Rewrite(RewriteError),
    #[error("{field} {value:?}: {why} (the legacy adapter refused it too)")]
    BadValue {
        field: String,
        value: String,
        why: String,
    },
    #[error("resource name {0:?} is used more than once")]
    DuplicateResource(String),
    #[error(
        "name {0:?} does not match ^[a-z][a-zA-Z0-9_]*$ (the legacy adapter refused it too, so nothing can be renamed safely)"
    )]
    InvalidResourceName(String),
    #[error(
        "keys {0:?} and {1:?} differ only in case (the legacy loader read one of them, unpredictably)"
    )]
    CaseCollision(String, String),
    #[error("given as the {expected} file, but it is {found}")]
    WrongRole {
        expected: &'static str,
        found: String,
    },
    #[error("{0} files were found for one adapter; give one adapter config and one task config")]
    TooMany(&'static str),
    #[error("metadata.name is missing (it was required by every legacy loader)")]
    NoName,
    #[error("the migrated {what} does not load: {message} (a converter bug; please report it)")]
    OutputInvalid { what: &'static str, message: String },
    #[error("ref {0:?} cannot be read: {1}")]
    Ref(String, String),
    #[error(
        "{0:?} without the apiVersion/kind envelope: a hand-converted hybrid that never loaded in any \
         version; add the legacy envelope back or convert it by hand (see docs/migrating.md)"
    )]
    Hybrid(String),
    #[error(
        "a legacy configuration embedded in another file (Helm values or a ConfigMap) is not converted in place: \
         copy it into a file of its own, run `adapter config migrate` on that, and put the result back"
    )]
    Embedded,
    #[error("input larger than {0} bytes")]
    TooLarge(usize),
}
