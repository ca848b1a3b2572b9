//! The executor: holds the loaded config and the ports, and runs one event through the four
//! phases. `Run` is the per-event state (params, discovered resources, `adapter.*` metadata,
//! results) with cached template data and CEL scope, so values are converted once per change,
//! not once per expression.

use super::error::Failure;
use super::event::{CloudEvent, DataError, parse_data};
use super::result::{ExecutionResult, Phase};
use super::vars::Vars;
use crate::config::{EnvSource, Loaded};
use crate::expr::jsonpath::{JsonPath, JsonPathError};
use crate::expr::template::to_template_value;
use crate::expr::{CelError, CelExpr, CelScope, Template, TemplateError};
use crate::ports::{Clock, ExecutionObserver, Files, HyperfleetApi, Target, Transport};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Expressions compiled per event because they were missing from the load-time cache. Stays 0
/// for any config that went through validation; tests assert it.
pub static LATE_COMPILES: AtomicUsize = AtomicUsize::new(0);

/// The outside world the executor talks to.
#[derive(Clone)]
pub struct Ports {
    pub api: Arc<dyn HyperfleetApi>,
    /// Transport for `transport.client: kubernetes` resources.
    pub kubernetes: Option<Arc<dyn Transport>>,
    /// Transport for `transport.client: maestro` resources.
    pub maestro: Option<Arc<dyn Transport>>,
    pub clock: Arc<dyn Clock>,
    pub env: Arc<dyn EnvSource>,
    pub files: Arc<dyn Files>,
    /// Optional: hears about deletions in progress (metrics).
    pub observer: Option<Arc<dyn ExecutionObserver>>,
}

impl Ports {
    /// One transport for both clients (dry runs, tests), the system clock, local files, no
    /// observer. Fields can be replaced afterwards.
    pub fn with_transport(
        api: Arc<dyn HyperfleetApi>,
        transport: Arc<dyn Transport>,
        env: Arc<dyn EnvSource>,
    ) -> Self {
        Ports {
            api,
            kubernetes: Some(transport.clone()),
            maestro: Some(transport),
            clock: Arc::new(crate::ports::SystemClock),
            env,
            files: Arc::new(crate::ports::LocalFiles),
            observer: None,
        }
    }
}

/// Runs events through the task config. Cheap to share: one per process.
pub struct Executor {
    pub(super) loaded: Arc<Loaded>,
    pub(super) ports: Ports,
    /// The config as a map (unredacted), for `config.*` param sources.
    pub(super) config_value: Value,
    /// The redacted config, for the `config` built-in templates see.
    pub(super) config_redacted: Value,
    pub(super) env_map: Value,
    /// Every identifier some CEL expression of the task config reads: other params are never
    /// converted to CEL values.
    pub(super) cel_names: std::collections::HashSet<String>,
    /// The `config` and `env` built-ins as template values, converted once.
    pub(super) builtin_templates: [crate::expr::template::Tv; 2],
    /// Whether results keep what only a trace shows (see [`Executor::without_detail`]).
    pub(super) detail: bool,
}

impl Executor {
    pub fn new(loaded: Arc<Loaded>, ports: Ports) -> Self {
        let config_value = loaded.adapter.to_param_value();
        let config_redacted = loaded.adapter.redacted().to_param_value();
        let config_template = to_template_value(&config_redacted);
        let env_map = Value::Object(
            ports
                .env
                .vars()
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        );
        let cel_names = loaded
            .compiled
            .cel
            .values()
            .flat_map(|c| c.variables())
            .collect();
        Executor {
            loaded,
            ports,
            config_value,
            config_redacted,
            builtin_templates: [config_template, to_template_value(&env_map)],
            env_map,
            cel_names,
            detail: true,
        }
    }

    /// Results keep the outcome only: statuses, errors, skip reasons and the API calls made,
    /// but not the extracted params, rendered manifests, objects found before deletion,
    /// request and response bodies or built payloads, which only a dry-run trace or a test
    /// reads. The serve loop runs this way: per event, nothing is copied for the record.
    pub fn without_detail(mut self) -> Self {
        self.detail = false;
        self
    }

    pub fn loaded(&self) -> &Loaded {
        &self.loaded
    }

    /// The ports it runs over.
    pub fn ports(&self) -> &Ports {
        &self.ports
    }

    /// Runs one event's data through the pipeline. Never fails: failures are in the result.
    /// Everything it logs carries the event id (span `Execute`).
    pub async fn execute(&self, event_id: &str, event_type: &str, data: &[u8]) -> ExecutionResult {
        self.execute_parsed(event_id, event_type, parse_data(data), |_| {})
            .await
    }

    /// [`Executor::execute`] on a CloudEvent, whose data is already decoded.
    pub async fn execute_event(&self, event: &CloudEvent) -> ExecutionResult {
        self.execute_parsed(&event.id, &event.kind, event.data.to_map(), |_| {})
            .await
    }

    /// [`Executor::execute`] on data already decoded ([`EventData::into_map`](super::event::EventData::into_map): the serve loop
    /// parses each message once), with `adopt` called on the `Execute` span before it is
    /// entered (the composition root uses it to join the event's distributed trace and record
    /// the span's `trace_id`/`span_id` fields).
    pub async fn execute_parsed(
        &self,
        event_id: &str,
        event_type: &str,
        parsed: Result<Map<String, Value>, DataError>,
        adopt: impl FnOnce(&tracing::Span),
    ) -> ExecutionResult {
        use tracing::Instrument;
        let fields = parsed
            .as_ref()
            .map(super::event::log_fields)
            .unwrap_or_else(|_| "{}".into());
        let span = tracing::info_span!(
            "Execute",
            event_id,
            event_type,
            log_fields = %fields,
            trace_id = tracing::field::Empty,
            span_id = tracing::field::Empty,
        );
        adopt(&span);
        self.run(event_id, event_type, parsed)
            .instrument(span)
            .await
    }

    async fn run(
        &self,
        event_id: &str,
        event_type: &str,
        parsed: Result<Map<String, Value>, DataError>,
    ) -> ExecutionResult {
        let mut run = Run::new(self, event_id, event_type);
        let event_data = match parsed {
            Ok(m) => m,
            Err(e) => {
                let msg = format!("failed to parse event data: {e}");
                tracing::error!(event_id, error = %msg, "Failed to parse event data");
                run.result.fail(Phase::ParamExtraction, msg);
                return run.finish();
            }
        };
        run.set_event(Value::Object(event_data));
        if !run.extract_params().await {
            return run.finish();
        }
        if run.evaluate_preconditions().await {
            run.process_resources().await;
            run.post_actions().await;
        }
        run.finish()
    }
}

/// One event's run: the executor (config and ports) it runs under, what the expressions see
/// ([`Vars`]: event, params, resources, time) and what happened ([`ExecutionResult`]: the
/// per-step results, API calls and payloads).
pub(super) struct Run<'a> {
    pub ex: &'a Executor,
    pub result: ExecutionResult,
    pub vars: Vars<'a>,
}

impl<'a> Run<'a> {
    fn new(ex: &'a Executor, event_id: &str, event_type: &str) -> Self {
        let result = ExecutionResult {
            event_id: event_id.into(),
            event_type: event_type.into(),
            ..Default::default()
        };
        let now = ex.ports.clock.now();
        Run {
            ex,
            result,
            vars: Vars::new(&ex.cel_names, &ex.env_map, &ex.config_redacted, now),
        }
    }

    fn finish(mut self) -> ExecutionResult {
        let (discovered, had_keys) = self.vars.take_resources();
        self.result.had_resource_keys = had_keys;
        self.result.discovered = discovered;
        self.result
    }

    /// Sets a param (or capture, API response, payload) for templates and CEL.
    pub fn set_param(&mut self, name: &str, value: Value) {
        self.vars.set_param(name, value);
    }

    /// Sets the event data (CEL `event`) and the environment (CEL `env`).
    pub fn set_event(&mut self, data: Value) {
        self.vars.set_event(data);
    }

    /// Holds new params back from CEL (while payloads are built) or releases them.
    pub fn defer_cel(&mut self, defer: bool) {
        self.vars.defer_cel(defer);
    }

    /// Marks `adapter.*` or `resources` as changed for CEL.
    pub fn invalidate(&mut self) {
        self.vars.invalidate();
    }

    /// Sets or clears a discovered resource.
    pub fn set_resource(&mut self, name: &str, obj: Option<Value>) {
        self.vars.set_resource(name, obj);
    }

    /// `adapter.*` as CEL sees it.
    fn adapter_json(&self) -> Value {
        let info = &self.ex.loaded.adapter.adapter;
        self.result.adapter.to_json(&info.name, &info.version)
    }

    /// Reads a JSONPath over the CEL variables (see [`Vars::read_path`]).
    pub fn read_path(&self, path: &JsonPath) -> Value {
        self.vars.read_path(path, || self.adapter_json())
    }

    /// The CEL scope, with `adapter` and `resources` brought up to date.
    pub fn scope(&mut self) -> &CelScope {
        let adapter = self.vars.scope_stale().then(|| self.adapter_json());
        self.vars.scope(adapter)
    }

    /// Renders the template compiled at `path` (or `text` itself when it has no actions).
    pub fn render(&mut self, path: &str, text: &str) -> Result<String, TemplateError> {
        self.render_with(path, text, Template::compile)
    }

    /// Renders an `api_call.url` template, with the guard on substituted values.
    pub fn render_url(&mut self, path: &str, text: &str) -> Result<String, TemplateError> {
        self.render_with(path, text, Template::compile_url)
    }

    fn render_with(
        &mut self,
        path: &str,
        text: &str,
        compile: fn(&str) -> Result<Template, TemplateError>,
    ) -> Result<String, TemplateError> {
        if !text.contains("{{") {
            return Ok(text.to_string());
        }
        let template = match self.ex.loaded.compiled.templates.get(path) {
            Some(t) => t.clone(),
            None => {
                LATE_COMPILES.fetch_add(1, Ordering::Relaxed);
                compile(text)?
            }
        };
        let data = self.vars.template_data();
        let now = self.ex.ports.clock.now();
        crate::expr::tmplfuncs::with_now(now, || template.render(&data))
    }

    /// The CEL program compiled at `path`.
    pub fn cel(&self, path: &str, text: &str) -> Result<CelExpr, CelError> {
        match self.ex.loaded.compiled.cel.get(path) {
            Some(c) => Ok(c.clone()),
            None => {
                LATE_COMPILES.fetch_add(1, Ordering::Relaxed);
                CelExpr::compile(text)
            }
        }
    }

    /// Evaluates the CEL program at `path` in the current scope.
    pub fn eval(&mut self, path: &str, text: &str) -> Result<Value, CelError> {
        let expr = self.cel(path, text)?;
        expr.eval_in(self.scope())
    }

    /// The JSONPath compiled at `path`.
    pub fn jsonpath(&self, path: &str, text: &str) -> Result<JsonPath, JsonPathError> {
        match self.ex.loaded.compiled.paths.get(path) {
            Some(p) => Ok(p.clone()),
            None => {
                LATE_COMPILES.fetch_add(1, Ordering::Relaxed);
                JsonPath::compile(text)
            }
        }
    }

    /// The transport for a resource's client.
    pub fn transport(&self, client: &str) -> Result<Arc<dyn Transport>, Failure> {
        let (t, feature) = match client {
            "maestro" => (&self.ex.ports.maestro, "maestro"),
            _ => (&self.ex.ports.kubernetes, "k8s"),
        };
        t.clone().ok_or_else(|| {
            Failure::config(format!(
                "no {client} transport is configured (configure clients.{} in the adapter config and build with feature `{feature}`)",
                if client == "maestro" { "maestro" } else { "kubernetes" }
            ))
        })
    }

    pub fn target(&mut self, index: usize) -> Result<Target, TemplateError> {
        let r = &self.ex.loaded.task.resources[index];
        if r.client() != "maestro" {
            return Ok(Target::Kubernetes);
        }
        let text = r
            .transport
            .as_ref()
            .and_then(|t| t.maestro.as_ref())
            .and_then(|m| m.target_cluster.clone())
            .unwrap_or_default();
        let path = format!("resources[{index}].transport.maestro.target_cluster");
        let consumer = self.render(&path, &text)?;
        Ok(Target::Maestro { consumer })
    }
}
