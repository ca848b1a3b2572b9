//! The commands: `version`, `config-dump`, `validate`, `schema`, and `serve` (the dry run, or the
//! startup sequence in `run`); `publish`, `config migrate` and `test` have modules of their own.

use super::cli::{Cli, Command, ConfigArgs, ServeArgs, ValidateArgs};
use super::message;
use crate::config::{self, EnvSource, LoadOptions, Loaded, Problem, ProcessEnv};
use crate::dryrun;
use crate::logging::{self, LogSettings};
use crate::version::{BUILD_DATE, COMMIT, VERSION};
use crate::yaml;
use anyhow::{Result, bail};
use serde_json::Value;
use std::io::Write;
use std::sync::Arc;

/// Runs a parsed command line. Errors are printed by `main` as `Error: <message>` (exit 1).
pub fn run(cli: Cli) -> Result<i32> {
    let env = ProcessEnv;
    // Before anything can log: every line is masked with the secret-named variables' values.
    crate::redact::install(crate::redact::Secrets::from_env(&env.vars()));
    match cli.command {
        Command::Version => {
            println!("Version:    {VERSION}\nCommit:     {COMMIT}\nBuild Date: {BUILD_DATE}");
            Ok(0)
        }
        Command::ConfigDump(args) => config_dump(&args, &env),
        Command::Validate(args) => validate(&args, &env),
        Command::Serve(args) => serve(&args, &env),
        Command::Publish(args) => super::publish::run(&args, &env),
        Command::Config(cmd) => super::migrate::run(&cmd),
        Command::Schema(args) => schema(&args),
        Command::Test(args) => super::test::run(&args),
    }
}

/// `schema adapter|task|broker`: the JSON Schema on stdout.
fn schema(args: &super::cli::SchemaArgs) -> Result<i32> {
    use crate::config::schema::{ConfigFile, render};
    let Some(file) = ConfigFile::from_name(&args.file) else {
        bail!(
            "unknown config file {:?} (adapter, task or broker)",
            args.file
        );
    };
    std::io::stdout().write_all(render(file).as_bytes())?;
    Ok(0)
}

fn options<'a>(args: &ConfigArgs, env: &'a dyn EnvSource) -> LoadOptions<'a> {
    LoadOptions {
        adapter_path: args.config.clone(),
        task_path: args.task_config.clone(),
        flags: args.overrides(),
        env,
        binary_version: VERSION.to_string(),
    }
}

fn init_logging(args: &ConfigArgs, env: &dyn EnvSource, force_stderr: bool, component: &str) {
    let mut settings = LogSettings::bootstrap(
        env,
        args.log_level.as_deref(),
        args.log_format.as_deref(),
        args.log_output.as_deref(),
    );
    settings.component = component.to_string();
    logging::init(&settings, force_stderr);
}

fn log_warnings(warnings: &[Problem]) {
    for w in warnings {
        tracing::warn!(file = %w.file.display(), line = w.line, path = %w.path, "{}", w.message);
    }
}

fn load(args: &ConfigArgs, env: &dyn EnvSource) -> Result<Loaded> {
    match config::load(&options(args, env)) {
        Ok(l) => {
            log_warnings(&l.warnings);
            Ok(l)
        }
        Err(e) => {
            tracing::error!(error = %e, "Failed to load adapter configuration");
            bail!("failed to load adapter configuration: {e}")
        }
    }
}

/// The merged, redacted configuration in the Go adapter's top-level order.
pub fn dump_value(l: &Loaded) -> Value {
    let mut adapter = l.adapter.redacted().to_dump_value();
    let mut out = serde_json::Map::new();
    let task = l.task_value.as_object().cloned().unwrap_or_default();
    if let Some(post) = task.get("post") {
        out.insert("post".into(), post.clone());
    }
    if let Some(log) = adapter.remove("log") {
        out.insert("log".into(), log);
    }
    if let Some(a) = adapter.remove("adapter") {
        out.insert("adapter".into(), a);
    }
    for key in ["params", "preconditions", "resources"] {
        if let Some(v) = task.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    for (k, v) in adapter {
        out.insert(k, v);
    }
    Value::Object(out)
}

/// `serve` with `--dry-run-*`: fixed warn-level text logs on stderr, the trace on stdout, exit 0
/// even when the simulated execution failed.
fn dry_run_command(args: &ServeArgs) -> Result<i32> {
    let env = Arc::new(ProcessEnv);
    let settings = LogSettings {
        level: "warn".into(),
        format: "text".into(),
        output: "stderr".into(),
        component: "dry-run".into(),
    };
    logging::init(&settings, true);
    let loaded = load(&args.config, env.as_ref())?;
    if args.dry_run_event.is_empty() {
        bail!("--dry-run-event is required for dry-run mode");
    }
    let task_value = loaded.task_value.clone();
    let dry = dryrun::run(loaded, args, env).map_err(message)?;
    dryrun::print(&dry, &task_value, args).map_err(message)?;
    Ok(0)
}

fn config_dump(args: &ConfigArgs, env: &dyn EnvSource) -> Result<i32> {
    init_logging(args, env, true, "config-dump");
    tracing::info!("Loading adapter configuration...");
    let loaded = load(args, env)?;
    let text = yaml::to_yaml_string(&dump_value(&loaded));
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(0)
}

fn validate(args: &ValidateArgs, env: &dyn EnvSource) -> Result<i32> {
    init_logging(&args.config, env, true, "validate");
    let report = config::load_report(&options(&args.config, env));
    let mut errors = 0;
    let mut warnings = 0;
    let mut out = String::new();
    for p in &report.problems {
        let as_error = p.is_error() || args.strict;
        if as_error {
            errors += 1;
        } else {
            warnings += 1;
        }
        out.push_str(&format!(
            "{}: {p}\n",
            if as_error { "error" } else { "warning" }
        ));
    }
    if let Some(l) = &report.loaded {
        let (cel, tmpl, paths) = l.compiled.counts();
        out.push_str(&format!(
            "checked {} and {}: {cel} CEL expressions, {tmpl} templates, {paths} JSONPath fields\n",
            l.adapter_path.display(),
            l.task_path.display()
        ));
    }
    out.push_str(&format!("{errors} error(s), {warnings} warning(s)\n"));
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(if errors > 0 { 1 } else { 0 })
}

fn serve(args: &ServeArgs, env: &dyn EnvSource) -> Result<i32> {
    if args.is_dry_run() {
        return dry_run_command(args);
    }
    let loaded = match config::load(&options(&args.config, env)) {
        Ok(l) => l,
        Err(e) => {
            init_logging(&args.config, env, false, "hyperfleet-adapter");
            tracing::info!(
                "Starting Hyperfleet Adapter version={VERSION} commit={COMMIT} built={BUILD_DATE}"
            );
            tracing::error!(error = %e, "Failed to load adapter configuration");
            bail!("failed to load adapter configuration: {e}")
        }
    };
    super::run::serve(loaded, args, Arc::new(ProcessEnv), |loaded| {
        tracing::info!(
            "Starting Hyperfleet Adapter version={VERSION} commit={COMMIT} built={BUILD_DATE}"
        );
        log_warnings(&loaded.warnings);
    })
}
