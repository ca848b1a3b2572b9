//! `adapter test`: scenarios for a task config, each one event, recorded API responses and
//! discovered objects run through the dry-run engine ([`crate::dryrun::execute`]) and checked
//! against its expectations. Scenarios run in parallel on a bounded pool of threads; the report
//! lists them in path order. The format is documented in docs/testing-adapters.md.

pub mod error;
pub mod expect;
pub mod load;
pub mod model;
pub mod path;
pub mod report;
pub mod view;

#[cfg(test)]
mod tests;

pub use error::{Invalid, ScenarioError};
pub use expect::Mismatch;

use crate::config::{self, ConfigError, Loaded, MapEnv};
use crate::dryrun;
use chrono::{DateTime, Utc};
use load::Scenario;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The time scenarios run at unless they or `--time` say otherwise, so that a scenario's
/// timestamps are the same on every run.
pub const DEFAULT_TIME: &str = "2026-01-01T00:00:00Z";

/// Stack of each worker thread: a run is the whole pipeline on one thread, like a dry run on the
/// main thread (whose stack is 8 MiB).
const WORKER_STACK: usize = 8 << 20;

/// What `adapter test` runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub adapter_path: Option<PathBuf>,
    pub task_path: Option<PathBuf>,
    /// Adapter-config flags given on the command line, as `(config path, text)`.
    pub flags: Vec<(String, String)>,
    /// Scenario files and folders.
    pub paths: Vec<PathBuf>,
    /// Only scenarios whose name contains one of these (all when empty).
    pub filter: Vec<String>,
    /// Scenarios run at once (at least 1).
    pub jobs: usize,
    /// Write golden files from the actual documents instead of comparing them.
    pub update: bool,
    /// The time of scenarios that name none.
    pub time: DateTime<Utc>,
}

/// How one scenario ended.
#[derive(Debug)]
pub enum Outcome {
    Passed {
        checked: usize,
    },
    Failed {
        checked: usize,
        mismatches: Vec<Mismatch>,
    },
    /// The scenario (or the configs under its env) could not be loaded or run.
    Broken(ScenarioError),
}

/// One scenario's result.
#[derive(Debug)]
pub struct ScenarioReport {
    pub name: String,
    pub description: String,
    pub file: PathBuf,
    pub outcome: Outcome,
    pub elapsed: Duration,
    /// Golden files `--update` wrote.
    pub updated: Vec<PathBuf>,
}

/// Every scenario's result, in path order.
#[derive(Debug, Default)]
pub struct Suite {
    pub reports: Vec<ScenarioReport>,
    pub elapsed: Duration,
}

impl Suite {
    /// (passed, failed, broken).
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for r in &self.reports {
            match r.outcome {
                Outcome::Passed { .. } => c.0 += 1,
                Outcome::Failed { .. } => c.1 += 1,
                Outcome::Broken(_) => c.2 += 1,
            }
        }
        c
    }

    /// 0 when every scenario passed, 2 when one is broken, else 1.
    pub fn exit_code(&self) -> i32 {
        match self.counts() {
            (_, _, b) if b > 0 => 2,
            (_, f, _) if f > 0 => 1,
            _ => 0,
        }
    }
}

/// Why no scenario ran.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error(transparent)]
    Find(#[from] ScenarioError),
    #[error("no scenarios found in {0}")]
    NoScenarios(String),
    #[error("no scenario name contains {filter:?} (of {count} found)")]
    Filtered { filter: Vec<String>, count: usize },
}

type ConfigCache = BTreeMap<BTreeMap<String, String>, Result<Arc<Loaded>, Arc<ConfigError>>>;

/// Finds, loads and runs the scenarios.
pub fn run(options: &Options) -> Result<Suite, SuiteError> {
    let started = tokio::time::Instant::now();
    let files = load::find(&options.paths)?;
    let shown: Vec<String> = options
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    if files.is_empty() {
        return Err(SuiteError::NoScenarios(shown.join(", ")));
    }
    let count = files.len();
    let files: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| {
            let name = load::name_of(f);
            options.filter.is_empty() || options.filter.iter().any(|p| name.contains(p.as_str()))
        })
        .collect();
    if files.is_empty() {
        return Err(SuiteError::Filtered {
            filter: options.filter.clone(),
            count,
        });
    }
    let mut configs = ConfigCache::new();
    let prepared: Vec<Prepared> = files
        .iter()
        .map(|f| prepare(f, options, &mut configs))
        .collect();
    let n = prepared.len();
    let queue: Vec<Mutex<Option<Prepared>>> =
        prepared.into_iter().map(|p| Mutex::new(Some(p))).collect();
    let slots: Vec<Mutex<Option<ScenarioReport>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let take = |i: usize| queue[i].lock().ok().and_then(|mut p| p.take());
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..options.jobs.clamp(1, n) {
            let spawned = std::thread::Builder::new()
                .stack_size(WORKER_STACK)
                .spawn_scoped(s, || {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        if let Some(p) = take(i) {
                            let report = execute(p, options.update);
                            if let Ok(mut slot) = slots[i].lock() {
                                *slot = Some(report);
                            }
                        }
                    }
                });
            if spawned.is_err() {
                break;
            }
        }
    });
    // What no worker ran (none could be started) runs on this thread.
    let reports = slots
        .into_iter()
        .enumerate()
        .filter_map(|(i, slot)| {
            let done = slot.into_inner().ok().flatten();
            done.or_else(|| take(i).map(|p| execute(p, options.update)))
        })
        .collect();
    Ok(Suite {
        reports,
        elapsed: started.elapsed(),
    })
}

/// A scenario loaded with its configs, or why it could not be.
struct Prepared {
    file: PathBuf,
    loaded: Result<(Scenario, Arc<Loaded>), ScenarioError>,
}

fn prepare(file: &std::path::Path, options: &Options, configs: &mut ConfigCache) -> Prepared {
    let loaded = load::load(file, options.time).and_then(|scenario| {
        let config = configs
            .entry(scenario.spec.env.clone())
            .or_insert_with(|| load_config(options, &scenario.spec.env))
            .clone()
            .map_err(|source| ScenarioError::Config {
                path: file.display().to_string(),
                source,
            })?;
        Ok((scenario, config))
    });
    Prepared {
        file: file.to_path_buf(),
        loaded,
    }
}

fn load_config(
    options: &Options,
    env: &BTreeMap<String, String>,
) -> Result<Arc<Loaded>, Arc<ConfigError>> {
    let env = MapEnv(env.clone());
    config::load(&config::LoadOptions {
        adapter_path: options.adapter_path.clone(),
        task_path: options.task_path.clone(),
        flags: options.flags.clone(),
        env: &env,
        binary_version: crate::version::VERSION.to_string(),
    })
    .map(Arc::new)
    .map_err(Arc::new)
}

fn execute(p: Prepared, update: bool) -> ScenarioReport {
    let started = tokio::time::Instant::now();
    let mut report = ScenarioReport {
        name: load::name_of(&p.file),
        description: String::new(),
        file: p.file,
        outcome: Outcome::Passed { checked: 0 },
        elapsed: Duration::ZERO,
        updated: Vec::new(),
    };
    report.outcome = match p.loaded {
        Err(e) => Outcome::Broken(e),
        Ok((scenario, loaded)) => {
            report.description = scenario.description.clone();
            match run_one(&scenario, &loaded, update) {
                Ok(checked) if checked.mismatches.is_empty() => {
                    report.updated = checked.updated;
                    Outcome::Passed {
                        checked: checked.count,
                    }
                }
                Ok(checked) => {
                    report.updated = checked.updated;
                    Outcome::Failed {
                        checked: checked.count,
                        mismatches: checked.mismatches,
                    }
                }
                Err(e) => Outcome::Broken(e),
            }
        }
    };
    report.elapsed = started.elapsed();
    report
}

fn run_one(
    scenario: &Scenario,
    loaded: &Loaded,
    update: bool,
) -> Result<expect::Checked, ScenarioError> {
    let compiled = scenario.compile()?;
    let inputs = scenario.inputs()?;
    let env = Arc::new(MapEnv(scenario.spec.env.clone()));
    let adapter = (
        loaded.adapter.adapter.name.clone(),
        loaded.adapter.adapter.version.clone(),
    );
    let dry =
        dryrun::execute(loaded.clone(), inputs, env).map_err(|source| ScenarioError::Run {
            path: scenario.file.display().to_string(),
            source,
        })?;
    expect::check(
        scenario,
        &compiled,
        &dry.result,
        (&adapter.0, &adapter.1),
        update,
    )
}
