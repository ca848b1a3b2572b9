//! Phase 2, `preconditions`: sequential, stopping at the first error or NOT_MET, with the
//! deprecated `api_call` + `capture` form and the 404 resource-not-found rule (§6.3).

use super::error::Failure;
use super::executor::Run;
use super::result::{Phase, PreconditionResult, StepError, StepStatus};
use crate::config::task::{LogAction, Precondition};
use crate::expr::criteria::{describe_failure, evaluate};
use crate::expr::{CelScope, matched};
use serde_json::{Map, Value};

enum Outcome {
    Met,
    NotMet(String),
    Failed(String),
    /// The precondition's API call found that the resource is gone.
    Gone,
}

impl Run<'_> {
    /// Runs phase 2. Returns false when processing stops entirely (resource not found).
    pub async fn evaluate_preconditions(&mut self) -> bool {
        let ex = self.ex;
        let pcs = &ex.loaded.task.preconditions;
        tracing::info!("Phase preconditions: RUNNING - {} configured", pcs.len());
        for (i, pc) in pcs.iter().enumerate() {
            if let Some(log) = &pc.log {
                self.log_action(&format!("preconditions[{i}].log"), log);
            }
            let mut res = PreconditionResult {
                name: pc.name.clone(),
                ..Default::default()
            };
            let outcome = self.one_precondition(i, pc, &mut res).await;
            match outcome {
                Outcome::Met => {
                    tracing::info!("Precondition[{}] evaluated: MET", pc.name);
                    res.matched = true;
                    self.result.preconditions.push(res);
                }
                Outcome::Gone => {
                    tracing::info!(
                        "Phase preconditions: resource not found, stopping processing gracefully"
                    );
                    res.status = StepStatus::Skipped;
                    self.result.preconditions.push(res);
                    self.result.resources_skipped = true;
                    self.result.skip_reason = "ResourceNotFound".into();
                    self.result.stopped_at = Some(Phase::Preconditions);
                    let a = &mut self.result.adapter;
                    a.resources_skipped = true;
                    a.skip_reason = "ResourceNotFound".into();
                    a.execution_error = None;
                    return false;
                }
                Outcome::NotMet(details) => {
                    tracing::info!("Precondition[{}] evaluated: NOT_MET - {details}", pc.name);
                    let reason = format!("precondition '{}' not met: {details}", pc.name);
                    res.detail = details;
                    self.result.preconditions.push(res);
                    self.result.resources_skipped = true;
                    self.result.skip_reason = reason.clone();
                    self.result.adapter.skip(&reason);
                    self.invalidate();
                    tracing::info!("Phase preconditions: SUCCESS - NOT_MET - {reason}");
                    return true;
                }
                Outcome::Failed(err) => {
                    tracing::error!("Precondition[{}] evaluated: FAILED", pc.name);
                    res.status = StepStatus::Failed;
                    res.error = Some(err.clone());
                    self.result.preconditions.push(res);
                    self.result.fail(
                        Phase::Preconditions,
                        format!("precondition evaluation failed: error={err}"),
                    );
                    self.result.adapter.set_error("PreconditionFailed", &err);
                    self.result.adapter.skip(&err);
                    self.result.resources_skipped = true;
                    self.result.skip_reason = "PreconditionFailed".into();
                    self.invalidate();
                    tracing::error!("Phase preconditions: FAILED");
                    return true;
                }
            }
        }
        tracing::info!("Phase preconditions: SUCCESS - MET - {} passed", pcs.len());
        true
    }

    async fn one_precondition(
        &mut self,
        i: usize,
        pc: &Precondition,
        res: &mut PreconditionResult,
    ) -> Outcome {
        if let Some(call) = &pc.api_call {
            let base = format!("preconditions[{i}].api_call");
            let response = match self
                .api_call(Phase::Preconditions, &pc.name, &base, call)
                .await
            {
                Ok(body) => body,
                Err(f) if f.is_resource_not_found() => return Outcome::Gone,
                Err(f) => return self.precondition_error(pc, f.message),
            };
            let value = match serde_json::from_str::<Value>(&response) {
                Ok(v @ Value::Object(_)) => v,
                _ => {
                    return self.precondition_error(
                        pc,
                        format!(
                            "precondition {:?}: failed to parse API response as JSON object",
                            pc.name
                        ),
                    );
                }
            };
            self.set_param(&pc.name, value.clone());
            if let Err(e) = self.captures(i, pc, &value, res) {
                return self.precondition_error(pc, e.to_string());
            }
        }
        match (&pc.conditions, pc.expression.as_deref().map(str::trim)) {
            (Some(conds), _) if !conds.is_empty() => self.conditions(i, pc),
            (_, Some(expr)) if !expr.is_empty() => {
                let path = format!("preconditions[{i}].expression");
                match self.eval(&path, expr) {
                    Ok(v) if matched(&v) => Outcome::Met,
                    Ok(v) => Outcome::NotMet(format!("expression {expr:?} evaluated to {v}")),
                    // Like the Go adapter: an evaluation error is "not met", not a failure.
                    Err(e @ crate::expr::CelError::Eval { .. }) => {
                        Outcome::NotMet(format!("CEL error: {e}"))
                    }
                    Err(e) => Outcome::Failed(format!("CEL expression evaluation failed: {e}")),
                }
            }
            _ => Outcome::Met,
        }
    }

    fn precondition_error(&mut self, pc: &Precondition, message: String) -> Outcome {
        if self.result.adapter.execution_error.is_none() {
            self.result.adapter.execution_error =
                Some(StepError::new("preconditions", &pc.name, &message));
        }
        Outcome::Failed(message)
    }

    fn conditions(&mut self, i: usize, pc: &Precondition) -> Outcome {
        let mut failures = Vec::new();
        for (j, c) in pc.conditions.iter().flatten().enumerate() {
            let path = self.jsonpath(
                &format!("preconditions[{i}].conditions[{j}].field"),
                &c.field,
            );
            let actual = match path {
                Ok(p) => self.read_path(&p),
                Err(e) => return Outcome::Failed(e.to_string()),
            };
            match evaluate(&c.operator, &actual, c.expected()) {
                Ok(true) => {}
                Ok(false) => failures.push(describe_failure(
                    &c.field,
                    &c.operator,
                    c.expected(),
                    &actual,
                )),
                Err(e) => {
                    return Outcome::Failed(format!(
                        "condition {} ({} {}): {e}",
                        j, c.field, c.operator
                    ));
                }
            }
        }
        if failures.is_empty() {
            Outcome::Met
        } else {
            Outcome::NotMet(failures.join("; "))
        }
    }

    /// Captures from a precondition's API response: the scope is the response's top-level keys
    /// plus the precondition name bound to the whole response.
    fn captures(
        &mut self,
        i: usize,
        pc: &Precondition,
        response: &Value,
        res: &mut PreconditionResult,
    ) -> Result<(), Failure> {
        if pc.capture.is_empty() {
            return Ok(());
        }
        let mut scope_vars: Map<String, Value> = response.as_object().cloned().unwrap_or_default();
        scope_vars.insert(pc.name.clone(), response.clone());
        let root = Value::Object(scope_vars.clone());
        let scope = CelScope::new(&scope_vars, self.vars.now);
        for (j, cap) in pc.capture.iter().enumerate() {
            let base = format!("preconditions[{i}].capture[{j}]");
            let value = if let Some(field) = &cap.field {
                let p = self.jsonpath(&format!("{base}.field"), field)?;
                match (p.get(&root), &cap.default) {
                    (Value::Null, Some(d)) => d.clone(),
                    (Value::Null, None) => {
                        tracing::warn!(
                            "Failed to capture '{}': field {field:?} not found",
                            cap.name
                        );
                        Value::Null
                    }
                    (v, _) => v,
                }
            } else {
                let expr = cap.expression.as_deref().unwrap_or_default();
                let c = self.cel(&format!("{base}.expression"), expr)?;
                c.eval_in(&scope).unwrap_or_else(|e| {
                    tracing::warn!("CEL evaluation failed for {:?}: {e}", cap.name);
                    Value::Null
                })
            };
            res.captures.push((cap.name.clone(), value.clone()));
            self.set_param(&cap.name, value);
        }
        Ok(())
    }

    /// Renders and logs a `log` action (prefixed `[config] `).
    pub fn log_action(&mut self, base: &str, log: &LogAction) {
        let msg = match self.render(&format!("{base}.message"), &log.message) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "failed to render log message");
                return;
            }
        };
        match log.level.to_lowercase().as_str() {
            "debug" => tracing::debug!("[config] {msg}"),
            "warn" | "warning" => tracing::warn!("[config] {msg}"),
            "error" => tracing::error!("[config] {msg}"),
            _ => tracing::info!("[config] {msg}"),
        }
    }
}
