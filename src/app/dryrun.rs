//! Dry-run mode: the whole pipeline from files — the event, recorded API responses and
//! discovery overrides — with the in-memory transport standing in for Kubernetes and Maestro,
//! and a trace of what happened on stdout.

use super::cli::ServeArgs;
use super::trace::{self, TraceInput};
use crate::adapters::api::RecordedApi;
use crate::adapters::transport::MemoryTransport;
use crate::config::{EnvSource, Loaded};
use crate::domain::event::CloudEvent;
use crate::domain::{Executor, Ports};
use crate::ports::FixedClock;
use anyhow::{Context, Result, anyhow};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// Loads a CloudEvent file, with the Go adapter's error texts.
pub fn load_event(path: &Path) -> Result<CloudEvent, String> {
    let shown = path.display().to_string();
    let bytes =
        std::fs::read(path).map_err(|e| format!("failed to read event file {shown:?}: {e}"))?;
    CloudEvent::parse(&bytes).map_err(|e| match e {
        crate::domain::event::EventError::Json(m) => {
            format!("failed to parse CloudEvent from {shown:?}: {m}")
        }
        other => format!("invalid CloudEvent in {shown:?}: {other}"),
    })
}

/// Loads a discovery-overrides file into the store.
pub fn load_discovery(path: &Path, store: &MemoryTransport) -> Result<usize, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "failed to read discovery overrides file {:?}: {e}",
            path.display().to_string()
        )
    })?;
    let v: Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "failed to parse discovery overrides JSON in {:?}: {e}",
            path.display().to_string()
        )
    })?;
    let map = v.as_object().ok_or_else(|| {
        format!(
            "failed to parse discovery overrides JSON in {:?}: expected an object of name → object",
            path.display().to_string()
        )
    })?;
    for (name, obj) in map {
        for field in ["apiVersion", "kind"] {
            if obj
                .get(field)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(format!(
                    "discovery override {name:?} in {:?} is missing required field {field:?}",
                    path.display().to_string()
                ));
            }
        }
        store.insert(obj.clone());
    }
    Ok(map.len())
}

/// Everything a dry run produced.
pub struct DryRun {
    pub result: crate::domain::ExecutionResult,
    pub store: Arc<MemoryTransport>,
}

/// Runs the dry run described by `args` on the loaded config.
pub fn run(loaded: Loaded, args: &ServeArgs, env: Arc<dyn EnvSource>) -> Result<DryRun> {
    let event = load_event(Path::new(&args.dry_run_event))
        .map_err(|e| anyhow!("failed to load event: {e}"))?;
    let api = if args.dry_run_api_responses.is_empty() {
        RecordedApi::default()
    } else {
        RecordedApi::load(Path::new(&args.dry_run_api_responses))
            .map_err(|e| anyhow!("failed to load dryrun responses: {e}"))?
    };
    let now = args.dry_run_time.unwrap_or_else(chrono::Utc::now);
    let store = Arc::new(MemoryTransport::new(now));
    if !args.dry_run_discovery.is_empty() {
        load_discovery(Path::new(&args.dry_run_discovery), &store)
            .map_err(|e| anyhow!("failed to load discovery overrides: {e}"))?;
    }
    let ports = Ports {
        clock: Arc::new(FixedClock(now)),
        ..Ports::with_transport(Arc::new(api), store.clone(), env)
    };
    let executor = Executor::new(Arc::new(loaded), ports);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let result = runtime.block_on(executor.execute(&event.id, &event.kind, &event.data));
    Ok(DryRun { result, store })
}

/// Prints the trace (stdout) and the per-phase errors of a failed execution (stderr).
pub fn print(dry: &DryRun, loaded_task: &Value, args: &ServeArgs) -> Result<()> {
    let env_names = trace::referenced_env_names(&loaded_task.to_string());
    let ops = dry.store.operations();
    let input = TraceInput {
        result: &dry.result,
        operations: &ops,
        verbose: args.dry_run_verbose,
        env_names: &env_names,
    };
    let text = if args.dry_run_output == "json" {
        let mut s = serde_json::to_string_pretty(&trace::json(&input))?;
        s.push('\n');
        s
    } else {
        trace::text(&input)
    };
    std::io::stdout().write_all(text.as_bytes())?;
    for (phase, err) in &dry.result.errors {
        // The same masking as the trace: these lines go to CI logs too.
        eprintln!("Error in {}: {}", phase.as_str(), trace::mask(&input, err));
    }
    Ok(())
}
