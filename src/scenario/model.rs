//! The `scenario.yaml` schema: what a scenario feeds the dry run and what it expects back.
//! Every struct refuses unknown keys (reported with their line by the YAML decoder).

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// One scenario file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Shown in reports beside the scenario's name.
    #[serde(default)]
    pub description: String,
    /// The CloudEvent: a file path (relative to the scenario file) or an inline mapping.
    #[serde(default)]
    pub event: Option<Value>,
    /// The recorded HyperFleet API responses (the `--dry-run-api-responses` format): a file
    /// path or an inline mapping.
    #[serde(default)]
    pub api_responses: Option<Value>,
    /// The objects that exist before the event (the `--dry-run-discovery` format): a file path
    /// or an inline mapping.
    #[serde(default)]
    pub discovery: Option<Value>,
    /// The time the run happens at (RFC 3339); default: `adapter test --time`.
    #[serde(default)]
    pub time: Option<String>,
    /// The whole environment the configs and the run see (nothing of the process's).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub expect: Expect,
}

/// What the run must have done. Every part is optional; a scenario with none still runs and
/// fails only when its inputs do not load.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The execution's overall status.
    #[serde(default)]
    pub result: Option<ResultWord>,
    /// Precondition name → outcome.
    #[serde(default)]
    pub preconditions: BTreeMap<String, PreconditionWord>,
    /// Resource name → what the executor did with it.
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceWord>,
    /// Post-action name → outcome.
    #[serde(default)]
    pub post_actions: BTreeMap<String, PostActionWord>,
    /// Built payload name → checks on its JSON.
    #[serde(default)]
    pub payloads: BTreeMap<String, DocCheck>,
    /// Requests that must have been made.
    #[serde(default)]
    pub requests: Vec<RequestExpect>,
    /// Requests that must not have been made.
    #[serde(default)]
    pub no_requests: Vec<NoRequest>,
    /// Path → value over the whole outcome (see `view`).
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
    /// CEL expressions over the whole outcome, each of which must be true.
    #[serde(default)]
    pub cel: Vec<String>,
}

/// Checks on one JSON document (a payload or a request body).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocCheck {
    /// Path (`conditions[0].type`, `metadata.labels["a/b"]`) → expected value.
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
    /// CEL expressions that must be true; the document is the variable `doc`.
    #[serde(default)]
    pub cel: Vec<String>,
    /// A file (relative to the scenario file) holding the whole expected document;
    /// `adapter test --update` writes it from the actual one.
    #[serde(default)]
    pub golden: Option<String>,
}

/// A request that must have been made.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestExpect {
    /// The HTTP method, or `*` (the default) for any.
    #[serde(default = "any_method")]
    pub method: String,
    /// A regular expression matched unanchored against the request URL (as `urlPattern` is).
    pub url: String,
    /// Only requests made by this param, precondition or post-action.
    #[serde(default)]
    pub step: Option<String>,
    /// How many matching requests exactly (default: at least one).
    #[serde(default)]
    pub count: Option<usize>,
    /// The response status of the last matching request.
    #[serde(default)]
    pub status: Option<u16>,
    /// Checks on the JSON body of the last matching request.
    #[serde(default)]
    pub body: Option<DocCheck>,
}

/// A request that must not have been made.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoRequest {
    #[serde(default = "any_method")]
    pub method: String,
    pub url: String,
}

fn any_method() -> String {
    "*".into()
}

macro_rules! words {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
        pub enum $name {
            $( #[serde(rename = $text)] $variant, )*
        }

        impl $name {
            pub fn as_str(&self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )*
                }
            }
        }
    };
}

words! {
    /// The execution's status.
    ResultWord { Success = "success", Failed = "failed" }
}

words! {
    /// A precondition's outcome: its conditions held (`met`) or not (`not_met`), it failed (an
    /// API or CEL error), its API call found no resource (`not_found`), or it did not run.
    PreconditionWord {
        Met = "met",
        NotMet = "not_met",
        Failed = "failed",
        NotFound = "not_found",
        NotRun = "not_run",
    }
}

words! {
    /// What the executor did with a resource, `failed`, or `not_run` (not reached).
    ResourceWord {
        Create = "create",
        Update = "update",
        Recreate = "recreate",
        Skip = "skip",
        Delete = "delete",
        Failed = "failed",
        NotRun = "not_run",
    }
}

words! {
    /// A post-action's outcome.
    PostActionWord {
        Executed = "executed",
        Skipped = "skipped",
        Failed = "failed",
        NotRun = "not_run",
    }
}
