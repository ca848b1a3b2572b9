//! Phase 4, `post_actions`: payloads built from one CEL snapshot, then the post-actions in
//! order, stopping at the first failure, with the post-action 404 rule (§6.8).

use super::error::Failure;
use super::executor::Run;
use super::result::{Phase, PostActionResult, StepError, StepStatus};
use crate::config::task::{Payload, PostAction, When, is_value_def};
use crate::expr::template::all_roots;
use crate::expr::{manifest::sort_keys, matched};
use serde_json::{Map, Value};

/// A post-action that failed, with whether its cause is a resource-not-found 404.
struct ActionFailure {
    message: String,
    not_found: bool,
}

impl Run<'_> {
    pub async fn post_actions(&mut self) {
        let ex = self.ex;
        let Some(post) = ex.loaded.task.post.as_ref() else {
            tracing::info!("Phase post_actions: RUNNING - 0 configured");
            tracing::info!("Phase post_actions: SUCCESS - 0 executed");
            return;
        };
        tracing::info!(
            "Phase post_actions: RUNNING - {} configured",
            post.post_actions.len()
        );
        let skipped = match self.build_payloads(&post.payloads) {
            Ok(s) => s,
            Err(e) => {
                let msg =
                    format!("[post_actions] build_payloads: failed to build post payloads: {e}");
                tracing::error!(error = %e, "Failed to build post payloads");
                self.result.adapter.execution_error = Some(StepError::new(
                    "post_actions",
                    "build_payloads",
                    e.to_string(),
                ));
                self.result.fail(
                    Phase::PostActions,
                    format!("post action execution failed: {msg}"),
                );
                return;
            }
        };
        for (j, action) in post.post_actions.iter().enumerate() {
            if let Err(f) = self.post_action(j, action, &skipped).await {
                if f.not_found {
                    self.post_action_not_found();
                } else {
                    self.result.adapter.execution_error =
                        Some(StepError::new("post_actions", &action.name, &f.message));
                    self.result.fail(
                        Phase::PostActions,
                        format!("post action execution failed: {}", f.message),
                    );
                    tracing::error!("Phase post_actions: FAILED");
                }
                return;
            }
        }
        tracing::info!(
            "Phase post_actions: SUCCESS - {} executed",
            self.result.post_actions.len()
        );
    }

    fn post_action_not_found(&mut self) {
        tracing::info!("Phase post_actions: resource not found, skipping remaining post-actions");
        self.result.resources_skipped = true;
        self.result.skip_reason = "ResourceNotFound".into();
        if let Some(last) = self.result.post_actions.last_mut() {
            last.status = StepStatus::Skipped;
            last.skip_reason = "ResourceNotFound".into();
            last.error = None;
        }
        if !self.result.is_failed() {
            let a = &mut self.result.adapter;
            a.resources_skipped = true;
            a.skip_reason = "ResourceNotFound".into();
            a.execution_error = None;
        }
    }

    /// Builds every payload; returns the names of those skipped by their `when`.
    fn build_payloads(&mut self, payloads: &[Payload]) -> Result<Vec<String>, Failure> {
        if payloads.is_empty() {
            return Ok(Vec::new());
        }
        tracing::info!("Building {} post payloads", payloads.len());
        // One CEL snapshot for every payload: payloads reach templates as they are built, but
        // CEL only after the last one (a payload cannot see another in CEL).
        self.defer_cel(true);
        let result = self.build_all(payloads);
        self.defer_cel(false);
        result
    }

    fn build_all(&mut self, payloads: &[Payload]) -> Result<Vec<String>, Failure> {
        let mut skipped = Vec::new();
        for (i, p) in payloads.iter().enumerate() {
            let base = format!("post.payloads[{i}]");
            if let Some(expr) = When::expr(&p.when) {
                let c = self
                    .cel(&format!("{base}.when.expression"), expr)
                    .map_err(|e| {
                        Failure::from(e).context(format!(
                            "failed to evaluate when condition for payload '{}'",
                            p.name
                        ))
                    })?;
                let v = c.eval_in(self.scope()).map_err(|e| {
                    Failure::from(e).context(format!(
                        "when condition evaluation error for payload '{}'",
                        p.name
                    ))
                })?;
                if !matched(&v) {
                    tracing::info!("Payload '{}' skipped: when condition is false", p.name);
                    skipped.push(p.name.clone());
                    continue;
                }
            }
            let def = p.build_def().unwrap_or(&Value::Null);
            let built = self
                .build_value(&format!("{base}.build"), def)
                .map_err(|e| e.context(format!("failed to build payload '{}'", p.name)))?;
            let json = sort_keys(&built).to_string();
            if self.ex.detail {
                self.result.payloads.push((p.name.clone(), json.clone()));
            }
            self.set_param(&p.name, Value::String(json));
        }
        Ok(skipped)
    }

    fn build_value(&mut self, path: &str, v: &Value) -> Result<Value, Failure> {
        match v {
            Value::Object(m) if is_value_def(m) => self.value_def(path, m),
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, child) in m {
                    let cpath = format!("{path}.{k}");
                    let key = self.render(&format!("{cpath}#key"), k)?;
                    out.insert(key, self.build_value(&cpath, child)?);
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| self.build_value(&format!("{path}[{i}]"), item))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Value::String(s) => Ok(Value::String(self.render(path, s)?)),
            other => Ok(other.clone()),
        }
    }

    fn value_def(&mut self, path: &str, m: &Map<String, Value>) -> Result<Value, Failure> {
        let expr = m
            .get("expression")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty());
        let field = m
            .get("field")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty());
        let default = m.get("default").cloned().unwrap_or(Value::Null);
        match (expr, field) {
            (Some(_), Some(_)) => Err(Failure::config(
                "field and expression are mutually exclusive; only one should be specified",
            )),
            (Some(e), None) => {
                let c = self.cel(&format!("{path}.expression"), e)?;
                Ok(c.eval_in(self.scope()).unwrap_or_else(|err| {
                    tracing::warn!("CEL evaluation failed for {e:?}: {err}");
                    default
                }))
            }
            (None, Some(f)) => {
                let p = self.jsonpath(&format!("{path}.field"), f)?;
                match self.read_path(&p) {
                    Value::Null => Ok(default),
                    v => Ok(v),
                }
            }
            (None, None) => Ok(default),
        }
    }

    async fn post_action(
        &mut self,
        j: usize,
        action: &PostAction,
        skipped: &[String],
    ) -> Result<(), ActionFailure> {
        let base = format!("post.post_actions[{j}]");
        let mut res = PostActionResult {
            name: action.name.clone(),
            ..Default::default()
        };
        if let Some(call) = &action.api_call
            && let Some(p) = referenced_skipped_payload(call.body.as_deref().unwrap_or(""), skipped)
        {
            tracing::info!(
                "PostAction[{}] skipped: payload '{p}' was not built",
                action.name
            );
            self.action_skipped(res, format!("referenced payload '{p}' was skipped"));
            return Ok(());
        }
        if let Some(expr) = When::expr(&action.when) {
            match self.eval(&format!("{base}.when.expression"), expr) {
                Ok(v) if matched(&v) => {}
                Ok(_) => {
                    tracing::info!(
                        "PostAction[{}] skipped: when condition is false",
                        action.name
                    );
                    self.action_skipped(res, format!("when condition evaluated to false: {expr}"));
                    return Ok(());
                }
                Err(e) => {
                    let message = format!(
                        "[post_actions] {}: failed to evaluate when condition: {e}",
                        action.name
                    );
                    return self.action_failed(res, message, false);
                }
            }
        }
        if let Some(log) = &action.log {
            self.log_action(&format!("{base}.log"), log);
        }
        if let Some(call) = &action.api_call {
            res.api_call_made = true;
            if let Err(f) = self
                .api_call(
                    Phase::PostActions,
                    &action.name,
                    &format!("{base}.api_call"),
                    call,
                )
                .await
            {
                let what = if f.status == 0 {
                    "API call failed"
                } else {
                    "API call returned non-success status"
                };
                let message = format!("[post_actions] {}: {what}: {}", action.name, f.message);
                return self.action_failed(res, message, f.is_resource_not_found());
            }
        }
        tracing::info!(
            "PostAction[{}] processed: SUCCESS - status=success",
            action.name
        );
        self.result.post_actions.push(res);
        Ok(())
    }

    fn action_skipped(&mut self, mut res: PostActionResult, reason: String) {
        tracing::info!(
            "PostAction[{}] processed: SKIPPED - reason={reason}",
            res.name
        );
        res.status = StepStatus::Skipped;
        res.skip_reason = reason;
        self.result.post_actions.push(res);
    }

    fn action_failed(
        &mut self,
        mut res: PostActionResult,
        message: String,
        not_found: bool,
    ) -> Result<(), ActionFailure> {
        tracing::error!(error = %message, "PostAction[{}] processed: FAILED", res.name);
        res.status = StepStatus::Failed;
        res.error = Some(message.clone());
        self.result.post_actions.push(res);
        Err(ActionFailure { message, not_found })
    }
}

/// The first skipped payload a body template references as a top-level field.
fn referenced_skipped_payload(body: &str, skipped: &[String]) -> Option<String> {
    if skipped.is_empty() || !body.contains("{{") {
        return None;
    }
    let roots = all_roots(body);
    skipped.iter().find(|s| roots.contains(s)).cloned()
}
