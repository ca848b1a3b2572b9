//! What an execution produced: the overall status, per-phase errors, one result per
//! precondition, resource and post-action, the API calls made, and the `adapter.*` metadata
//! CEL sees. The dry-run trace and the metrics read these.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The four phases, in order (the metric label values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    ParamExtraction,
    Preconditions,
    Resources,
    PostActions,
}

impl Phase {
    pub fn as_str(&self) -> &'static str {
        match self {
            Phase::ParamExtraction => "param_extraction",
            Phase::Preconditions => "preconditions",
            Phase::Resources => "resources",
            Phase::PostActions => "post_actions",
        }
    }
}

/// Success or failure of a whole execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    Success,
    Failed,
}

/// The outcome of one step (precondition, resource, post-action).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepStatus {
    #[default]
    Success,
    Failed,
    Skipped,
}

impl StepStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            StepStatus::Success => "success",
            StepStatus::Failed => "failed",
            StepStatus::Skipped => "skipped",
        }
    }
}

/// A failure detail as CEL sees it in `adapter.executionError` / `adapter.resourceErrors`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    pub phase: String,
    pub step: String,
    pub message: String,
}

impl StepError {
    pub fn new(
        phase: impl Into<String>,
        step: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        StepError {
            phase: phase.into(),
            step: step.into(),
            message: message.into(),
        }
    }

    fn to_json(&self) -> Value {
        json!({"phase": self.phase, "step": self.step, "message": self.message})
    }
}

/// `adapter.*` in CEL: the execution metadata.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AdapterMeta {
    pub failed: bool,
    pub resources_skipped: bool,
    pub skip_reason: String,
    pub error_reason: String,
    pub error_message: String,
    pub execution_error: Option<StepError>,
    pub resource_errors: BTreeMap<String, StepError>,
}

impl AdapterMeta {
    /// Marks the execution failed with a reason (`ParameterExtractionFailed`, ...). Like the Go
    /// adapter, the first failure detail wins; when none was recorded yet this one is, with the
    /// reason as its phase.
    pub fn set_error(&mut self, reason: &str, message: &str) {
        self.failed = true;
        self.error_reason = reason.to_string();
        self.error_message = message.to_string();
        if self.execution_error.is_none() {
            self.execution_error = Some(StepError::new(reason, "", message));
        }
    }

    /// Records a per-resource failure (first execution error wins).
    pub fn record_resource_error(&mut self, name: &str, message: &str) {
        let e = StepError::new("resources", name, message);
        if self.execution_error.is_none() {
            self.execution_error = Some(e.clone());
        }
        self.resource_errors.insert(name.to_string(), e);
    }

    /// Skips the remaining work with a reason (first reason wins).
    pub fn skip(&mut self, reason: &str) {
        self.resources_skipped = true;
        if self.skip_reason.is_empty() {
            self.skip_reason = reason.to_string();
        }
    }

    /// The CEL value, with the adapter's name and version alongside the metadata.
    pub fn to_json(&self, name: &str, version: &str) -> Value {
        let errors: Map<String, Value> = self
            .resource_errors
            .iter()
            .map(|(k, v)| (k.clone(), v.to_json()))
            .collect();
        json!({
            "name": name,
            "version": version,
            "executionStatus": if self.failed { "failed" } else { "success" },
            "resourcesSkipped": self.resources_skipped,
            "skipReason": self.skip_reason,
            "errorReason": self.error_reason,
            "errorMessage": self.error_message,
            "executionError": self.execution_error.as_ref().map(StepError::to_json),
            "resourceErrors": errors,
        })
    }
}

/// One HyperFleet API call made during the execution.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiCallRecord {
    pub phase: Phase,
    /// The param, precondition or post-action that made it.
    pub step: String,
    pub method: String,
    pub url: String,
    pub request_body: Option<String>,
    /// 0 when no response was received.
    pub status: u16,
    pub response_body: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PreconditionResult {
    pub name: String,
    pub status: StepStatus,
    pub matched: bool,
    /// NOT_MET details, or the error text.
    pub detail: String,
    pub error: Option<String>,
    pub captures: Vec<(String, Value)>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceResult {
    pub name: String,
    pub kind: String,
    pub namespace: String,
    pub resource_name: String,
    pub status: StepStatus,
    pub operation: Option<crate::ports::Operation>,
    pub reason: String,
    pub error: Option<String>,
    /// For deletions: the object as found before deleting it.
    pub discovered_state: Option<Value>,
    /// The rendered manifest that was applied.
    pub rendered: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PostActionResult {
    pub name: String,
    pub status: StepStatus,
    pub skip_reason: String,
    pub error: Option<String>,
    pub api_call_made: bool,
}

/// Everything one execution produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExecutionResult {
    pub event_id: String,
    pub event_type: String,
    pub status: Status,
    pub resources_skipped: bool,
    pub skip_reason: String,
    /// Set when processing stopped early because the resource is gone (a 404 on a required
    /// param's or a precondition's API call): the phase that found it.
    pub stopped_at: Option<Phase>,
    /// Phase → error text (`parameter extraction failed: ...`).
    pub errors: BTreeMap<Phase, String>,
    /// Params in extraction order (built-ins first), as extracted.
    pub params: Vec<(String, Value)>,
    pub preconditions: Vec<PreconditionResult>,
    pub resources: Vec<ResourceResult>,
    /// Discovered resources as CEL saw them at the end (name → object; gone ones absent).
    pub discovered: Map<String, Value>,
    /// Whether the context ever held a resource key (even one confirmed gone).
    pub had_resource_keys: bool,
    /// Built payloads (name → JSON text).
    pub payloads: Vec<(String, String)>,
    pub post_actions: Vec<PostActionResult>,
    pub api_calls: Vec<ApiCallRecord>,
    pub adapter: AdapterMeta,
}

impl ExecutionResult {
    pub fn fail(&mut self, phase: Phase, message: String) {
        self.status = Status::Failed;
        self.errors.insert(phase, message);
    }

    pub fn is_failed(&self) -> bool {
        self.status == Status::Failed
    }
}
