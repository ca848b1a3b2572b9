//! Dry-run mode: the whole pipeline from files — the event, recorded API responses and
//! discovery overrides — with the in-memory transport standing in for Kubernetes and Maestro,
//! and a trace of what happened on stdout ([`trace`]).

pub mod trace;

use crate::adapters::api::RecordedApi;
use crate::adapters::transport::MemoryTransport;
use crate::config::{EnvSource, Loaded};
use crate::domain::event::{CloudEvent, EventError};
use crate::domain::{Executor, Ports};
use crate::ports::FixedClock;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trace::TraceInput;

/// What a dry run reads and how it prints: `serve`'s `--dry-run-*` flags (the composition root
/// converts its command line into these, so this module does not know the CLI).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// The CloudEvent file.
    pub event: PathBuf,
    /// The recorded HyperFleet API responses, if any.
    pub api_responses: Option<PathBuf>,
    /// The objects discovery finds, if any.
    pub discovery: Option<PathBuf>,
    /// The time the run happens at; the current time when `None`.
    pub time: Option<DateTime<Utc>>,
    /// Show rendered manifests and API bodies.
    pub verbose: bool,
    /// The trace as JSON instead of text.
    pub json: bool,
}

/// A dry-run input file that could not be used. The messages are the Go adapter's, and carry
/// their cause's text; the cause, where it is an error value, is also the `source()`.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("failed to read event file {path:?}: {source}")]
    ReadEvent {
        path: String,
        source: std::io::Error,
    },
    #[error("failed to parse CloudEvent from {path:?}: {message}")]
    EventJson {
        path: String,
        message: String,
        source: EventError,
    },
    #[error("invalid CloudEvent in {path:?}: {source}")]
    InvalidEvent { path: String, source: EventError },
    #[error("failed to read discovery overrides file {path:?}: {source}")]
    ReadDiscovery {
        path: String,
        source: std::io::Error,
    },
    #[error("failed to parse discovery overrides JSON in {path:?}: {source}")]
    DiscoveryJson {
        path: String,
        source: serde_json::Error,
    },
    #[error(
        "failed to parse discovery overrides JSON in {path:?}: expected an object of name → object"
    )]
    DiscoveryNotObject { path: String },
    #[error("discovery override {name:?} in {path:?} is missing required field {field:?}")]
    DiscoveryField {
        name: String,
        path: String,
        field: &'static str,
    },
}

/// Why a dry run did not produce a trace. Each message names the step, then the cause's text.
#[derive(Debug, thiserror::Error)]
pub enum DryRunError {
    #[error("failed to load event: {0}")]
    Event(#[source] LoadError),
    #[error("failed to load dryrun responses: {0}")]
    ApiResponses(#[source] crate::adapters::api::recorded::ResponsesError),
    #[error("failed to load discovery overrides: {0}")]
    Discovery(#[source] LoadError),
    #[error("starting the runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// Writing the trace (stdout closed, ...): the cause's own text.
    #[error(transparent)]
    Output(#[from] std::io::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// Loads a CloudEvent file, with the Go adapter's error texts.
pub fn load_event(path: &Path) -> Result<CloudEvent, LoadError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| LoadError::ReadEvent {
        path: shown.clone(),
        source,
    })?;
    parse_event(&bytes, shown)
}

/// Parses a CloudEvent document; `shown` names it in errors.
pub fn parse_event(bytes: &[u8], shown: String) -> Result<CloudEvent, LoadError> {
    CloudEvent::parse(bytes).map_err(|e| match &e {
        EventError::Json(m) => LoadError::EventJson {
            path: shown,
            message: m.clone(),
            source: e,
        },
        _ => LoadError::InvalidEvent {
            path: shown,
            source: e,
        },
    })
}

/// Loads a discovery-overrides file into the store.
pub fn load_discovery(path: &Path, store: &MemoryTransport) -> Result<usize, LoadError> {
    let objects = read_discovery(path)?;
    let n = objects.len();
    objects.into_iter().for_each(|o| store.insert(o));
    Ok(n)
}

/// Reads a discovery-overrides file: the objects that exist before the event.
pub fn read_discovery(path: &Path) -> Result<Vec<Value>, LoadError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::ReadDiscovery {
        path: shown.clone(),
        source,
    })?;
    let v: Value = serde_json::from_str(&text).map_err(|source| LoadError::DiscoveryJson {
        path: shown.clone(),
        source,
    })?;
    discovery_objects(&v, &shown)
}

/// The objects of a discovery-overrides document (name → object, each with `apiVersion` and
/// `kind`); `shown` names the document in errors.
pub fn discovery_objects(v: &Value, shown: &str) -> Result<Vec<Value>, LoadError> {
    let map = v.as_object().ok_or_else(|| LoadError::DiscoveryNotObject {
        path: shown.to_string(),
    })?;
    let mut objects = Vec::with_capacity(map.len());
    for (name, obj) in map {
        for field in ["apiVersion", "kind"] {
            if obj
                .get(field)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(LoadError::DiscoveryField {
                    name: name.clone(),
                    path: shown.to_string(),
                    field,
                });
            }
        }
        objects.push(obj.clone());
    }
    Ok(objects)
}

/// Everything a dry run produced.
pub struct DryRun {
    pub result: crate::domain::ExecutionResult,
    pub store: Arc<MemoryTransport>,
}

/// Runs the dry run `options` describe on the loaded config. `options` is anything that
/// converts into [`Options`] (the composition root passes its `serve` arguments).
pub fn run(
    loaded: Loaded,
    options: impl Into<Options>,
    env: Arc<dyn EnvSource>,
) -> Result<DryRun, DryRunError> {
    let options = options.into();
    let event = load_event(&options.event).map_err(DryRunError::Event)?;
    let api = match &options.api_responses {
        None => RecordedApi::default(),
        Some(path) => RecordedApi::load(path).map_err(DryRunError::ApiResponses)?,
    };
    let discovery = match &options.discovery {
        None => Vec::new(),
        Some(path) => read_discovery(path).map_err(DryRunError::Discovery)?,
    };
    let inputs = Inputs {
        event,
        api,
        discovery,
        now: options.time.unwrap_or_else(Utc::now),
    };
    execute(loaded, inputs, env)
}

/// The loaded inputs of one dry run (what [`run`] reads from files; `adapter test` builds them
/// from scenario files or inline documents).
pub struct Inputs {
    pub event: CloudEvent,
    pub api: RecordedApi,
    /// The objects that exist before the event (discovery overrides).
    pub discovery: Vec<Value>,
    /// The time the run happens at.
    pub now: DateTime<Utc>,
}

/// Executes one event on the loaded config with the memory transport and the recorded API.
pub fn execute(
    loaded: Loaded,
    inputs: Inputs,
    env: Arc<dyn EnvSource>,
) -> Result<DryRun, DryRunError> {
    let Inputs {
        event,
        api,
        discovery,
        now,
    } = inputs;
    let store = Arc::new(MemoryTransport::new(now));
    discovery.into_iter().for_each(|o| store.insert(o));
    let ports = Ports {
        clock: Arc::new(FixedClock(now)),
        ..Ports::with_transport(Arc::new(api), store.clone(), env)
    };
    let executor = Executor::new(Arc::new(loaded), ports);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DryRunError::Runtime)?;
    let result = runtime.block_on(executor.execute_event(&event));
    Ok(DryRun { result, store })
}

/// Prints the trace (stdout) and the per-phase errors of a failed execution (stderr).
pub fn print(
    dry: &DryRun,
    loaded_task: &Value,
    options: impl Into<Options>,
) -> Result<(), DryRunError> {
    let options = options.into();
    let env_names = trace::referenced_env_names(&loaded_task.to_string());
    let ops = dry.store.operations();
    let input = TraceInput {
        result: &dry.result,
        operations: &ops,
        verbose: options.verbose,
        env_names: &env_names,
    };
    let text = if options.json {
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
