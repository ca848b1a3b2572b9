//! Phase 1, `param_extraction`: built-ins, then every param in order (§3.1, §6.2).

use super::api::ApiFailure;
use super::error::Failure;
use super::executor::Run;
use super::result::Phase;
use crate::config::task::{Param, ParamSource};
use crate::expr::convert;
use crate::expr::template::to_template_value;
use serde_json::{Value, json};

const MAX_FILE_BYTES: u64 = 1_048_576;

/// Why a param could not be extracted.
#[derive(Debug, thiserror::Error)]
enum ParamError {
    /// A 404 meaning the resource is gone (from an `api_call` source).
    #[error(transparent)]
    NotFound(ApiFailure),
    #[error(transparent)]
    Other(#[from] Failure),
}

impl Run<'_> {
    /// Runs phase 1. Returns false when the event must stop here.
    pub async fn extract_params(&mut self) -> bool {
        tracing::info!("Phase param_extraction: RUNNING");
        let info = &self.ex.loaded.adapter.adapter;
        let adapter = json!({"name": info.name, "version": info.version});
        self.set_param("adapter", adapter.clone());
        // `event`, `config` and `env` are lent to the expressions, not copied; `config` and
        // `env` are the same for every event, converted for templates once.
        let event_t = to_template_value(&self.vars.event);
        let [config_t, env_t] = self.ex.builtin_templates.clone();
        self.vars.set_lent("event", event_t);
        self.vars.set_lent("config", config_t);
        self.vars.set_lent("env", env_t);
        if self.ex.detail {
            self.result.params.extend([
                ("adapter".to_string(), adapter),
                ("event".to_string(), self.vars.event.clone()),
                ("config".to_string(), self.ex.config_redacted.clone()),
                ("env".to_string(), self.ex.env_map.clone()),
            ]);
        }
        let ex = self.ex;
        for (i, p) in ex.loaded.task.params.iter().enumerate() {
            let Some(source) = &p.source else { continue };
            if !self.extract_param(i, p, source).await {
                return false;
            }
        }
        tracing::debug!(
            "Parameter extraction completed: extracted {} params",
            self.vars.params.len()
        );
        true
    }

    /// Extracts one param: resolve, default, convert, store. Returns false when the event
    /// must stop here.
    async fn extract_param(&mut self, i: usize, p: &Param, source: &ParamSource) -> bool {
        let outcome = self.resolve(i, p, source).await;
        let value = match outcome {
            Ok(v) => v,
            Err(e) if p.required => {
                if let (ParamError::NotFound(_), ParamSource::ApiCall(_)) = (&e, source) {
                    return self.stop_not_found(&p.name);
                }
                let msg = format!(
                    "[param_extraction] {}: failed to extract required parameter '{}' from source '{}': {}",
                    p.name,
                    p.name,
                    source.describe(),
                    e
                );
                return self.param_failure(msg);
            }
            Err(e) => {
                tracing::debug!("optional param {} not extracted: {e}", p.name);
                if let Some(d) = &p.default {
                    self.set_param(&p.name, d.clone());
                    self.record_param(&p.name, d);
                }
                return true;
            }
        };
        let Some(mut value) = value else {
            return true;
        };
        if (value.is_null() || value.as_str() == Some(""))
            && let Some(d) = &p.default
        {
            value = d.clone();
        }
        let convertible = matches!(source, ParamSource::Path(_) | ParamSource::File(_));
        if let (Some(kind), true, false) = (&p.kind, convertible, value.is_null()) {
            match convert::convert(&value, kind) {
                Ok(v) => value = v,
                Err(e) if p.required => {
                    let msg = format!(
                        "[param_extraction] {}: failed to convert parameter '{}' to type '{}': {e}",
                        p.name, p.name, kind
                    );
                    return self.param_failure(msg);
                }
                Err(_) => match &p.default {
                    Some(d) => value = d.clone(),
                    None => return true,
                },
            }
        }
        if !value.is_null() {
            self.record_param(&p.name, &value);
            self.set_param(&p.name, value);
        }
        true
    }

    /// Keeps an extracted param in the result (when the executor keeps detail).
    fn record_param(&mut self, name: &str, value: &Value) {
        if self.ex.detail {
            self.result.params.push((name.to_string(), value.clone()));
        }
    }

    fn param_failure(&mut self, msg: String) -> bool {
        tracing::error!(error = %format!("parameter extraction failed: {msg}"), "Phase param_extraction: FAILED");
        self.result
            .adapter
            .set_error("ParameterExtractionFailed", &msg);
        self.result.fail(
            Phase::ParamExtraction,
            format!("parameter extraction failed: {msg}"),
        );
        false
    }

    /// A required `api_call` param whose resource is gone: stop gracefully, as a precondition
    /// 404 does (the Go adapter failed the event here instead).
    fn stop_not_found(&mut self, name: &str) -> bool {
        tracing::info!(
            "Phase param_extraction: resource not found (param {name}), stopping processing gracefully"
        );
        self.result.resources_skipped = true;
        self.result.skip_reason = "ResourceNotFound".into();
        self.result.stopped_at = Some(Phase::ParamExtraction);
        self.result.adapter.resources_skipped = true;
        self.result.adapter.skip_reason = "ResourceNotFound".into();
        false
    }

    /// Resolves one source. `Ok(None)` means "no value" (not stored).
    async fn resolve(
        &mut self,
        i: usize,
        p: &Param,
        source: &ParamSource,
    ) -> Result<Option<Value>, ParamError> {
        match source {
            ParamSource::Path(path) => self.resolve_path(path).map(Some).map_err(ParamError::from),
            ParamSource::Expression(e) => {
                let path = format!("params[{i}].source.expression");
                // Param expressions see only what is defined so far: no resources yet.
                self.eval(&path, e).map(Some).map_err(|err| {
                    ParamError::Other(
                        Failure::from(err)
                            .context(format!("param {:?}: CEL expression error", p.name)),
                    )
                })
            }
            ParamSource::ApiCall(call) => {
                let base = format!("params[{i}].source.api_call");
                let body = self
                    .api_call(Phase::ParamExtraction, &p.name, &base, call)
                    .await
                    .map_err(|f| {
                        if f.is_resource_not_found() {
                            ParamError::NotFound(f)
                        } else {
                            ParamError::Other(f.into())
                        }
                    })?;
                match serde_json::from_str::<Value>(&body) {
                    Ok(v @ Value::Object(_)) => Ok(Some(v)),
                    Ok(_) => Err(Failure::data(format!(
                        "param {:?}: failed to parse API response as JSON: not an object",
                        p.name
                    ))
                    .into()),
                    Err(e) => Err(Failure::data(format!(
                        "param {:?}: failed to parse API response as JSON: {e}",
                        p.name
                    ))
                    .into()),
                }
            }
            ParamSource::File(f) => self
                .read_file(&p.name, &f.path, f.trim, p.required)
                .map(Some)
                .map_err(ParamError::from),
        }
    }

    fn read_file(
        &self,
        name: &str,
        path: &str,
        trim: bool,
        required: bool,
    ) -> Result<Value, Failure> {
        let bytes = self
            .ex
            .ports
            .files
            .read_limited(path, MAX_FILE_BYTES)
            .map_err(|e| Failure::data(format!("param {name:?}: opening {path:?}: {e}")))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(Failure::data(format!(
                "param {name:?}: file {path:?} exceeds maximum size of {MAX_FILE_BYTES} bytes"
            )));
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let text = if trim { text.trim().to_string() } else { text };
        if required && text.trim().is_empty() {
            return Err(Failure::data(format!(
                "param {name:?}: file {path:?} is empty"
            )));
        }
        Ok(Value::String(text))
    }

    /// `env.X`, `event.a.b`, `config.a.b`, `<param>[.path]`, else a path into the event data.
    fn resolve_path(&self, source: &str) -> Result<Value, Failure> {
        if let Some(var) = source.strip_prefix("env.") {
            return self
                .ex
                .ports
                .env
                .var(var)
                .map(Value::String)
                .ok_or_else(|| Failure::data(format!("environment variable {var} not set")));
        }
        if let Some(path) = source.strip_prefix("event.") {
            return dot_path(&self.vars.event, path);
        }
        if let Some(path) = source.strip_prefix("config.") {
            return dot_path(&self.ex.config_value, path);
        }
        let (first, rest) = source.split_once('.').unwrap_or((source, ""));
        if let Some(param) = self.vars.params.get(first).filter(|_| !is_builtin(first)) {
            if rest.is_empty() {
                return Ok(param.clone());
            }
            if !param.is_object() {
                return Err(Failure::data(format!(
                    "param {first:?} is not a map (got {}), cannot derive {source:?} from it",
                    convert::go_type(param)
                )));
            }
            return dot_path(param, rest);
        }
        dot_path(&self.vars.event, source)
    }
}

fn is_builtin(name: &str) -> bool {
    matches!(name, "adapter" | "config" | "env" | "event")
}

/// Map-only dot-path navigation with the Go adapter's error texts.
pub(super) fn dot_path(root: &Value, path: &str) -> Result<Value, Failure> {
    let mut cur = root;
    for seg in path.split('.').filter(|s| !s.is_empty()) {
        match cur {
            Value::Object(m) => match m.get(seg) {
                Some(v) => cur = v,
                None => {
                    return Err(Failure::data(format!(
                        "field '{seg}' not found at path '{path}'"
                    )));
                }
            },
            other => {
                return Err(Failure::data(format!(
                    "cannot access field '{seg}': parent is not a map (got {})",
                    convert::go_type(other)
                )));
            }
        }
    }
    Ok(cur.clone())
}

#[cfg(test)]
mod tests {
    use super::dot_path;
    use serde_json::json;

    #[test]
    fn dot_paths() {
        let v = json!({"a": {"b": 1}, "s": "x"});
        assert_eq!(dot_path(&v, "a.b").unwrap(), json!(1));
        assert_eq!(dot_path(&v, "a..b").unwrap(), json!(1));
        assert_eq!(
            dot_path(&v, "a.c").unwrap_err().to_string(),
            "field 'c' not found at path 'a.c'"
        );
        assert_eq!(
            dot_path(&v, "s.x").unwrap_err().to_string(),
            "cannot access field 'x': parent is not a map (got string)"
        );
    }
}
