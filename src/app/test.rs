//! `adapter test`: runs the scenarios of a task config ([`crate::scenario`]) and reports them as
//! text or JUnit XML. Exit 0 when every scenario passed, 1 when an expectation failed, 2 when a
//! scenario (or the configs under its env) could not be loaded or run.

use super::cli::TestArgs;
use super::message;
use crate::scenario::{self, Options, report};
use anyhow::Result;
use std::io::Write;
use std::path::PathBuf;

/// Runs `adapter test`.
pub fn run(args: &TestArgs) -> Result<i32> {
    let options = options(args);
    let suite = match scenario::run(&options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: {e}");
            return Ok(2);
        }
    };
    let suite_name = options
        .task_path
        .as_ref()
        .map_or_else(|| "scenarios".to_string(), |p| p.display().to_string());
    let junit = report::junit(&suite, &suite_name);
    if let Some(path) = &args.junit_file {
        std::fs::write(path, &junit)
            .map_err(|e| message(format!("writing {}: {e}", path.display())))?;
    }
    let out = if args.output == "junit" {
        junit
    } else {
        report::text(&suite)
    };
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(suite.exit_code())
}

fn options(args: &TestArgs) -> Options {
    let task_path = args.config.task_config.clone();
    let paths = if args.scenarios.is_empty() {
        let dir = task_path
            .as_ref()
            .and_then(|t| t.parent())
            .map(PathBuf::from)
            .unwrap_or_default();
        vec![dir.join("scenarios")]
    } else {
        args.scenarios.clone()
    };
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    Options {
        adapter_path: args.config.config.clone(),
        task_path,
        flags: args.config.overrides(),
        paths,
        filter: args.filter.clone(),
        jobs: args.jobs.map_or(cpus, |j| j as usize),
        update: args.update,
        time: args.time,
    }
}
