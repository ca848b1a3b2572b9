//! Loading both config files: read, parse with positions, reject the legacy envelope with a
//! pointer at `adapter config migrate`, decode strictly (every unknown key reported), layer env and flags, load
//! file references, validate and compile. [`load_report`] returns every problem found;
//! [`load`] fails on the first stage that has errors, with that stage's wording.

use super::adapter::AdapterConfig;
use super::compiled::Compiled;
use super::env::EnvSource;
use super::layering::apply_overrides;
use super::problem::{ConfigError, Problem};
use super::task::TaskConfig;
use super::validate::Validator;
use super::version::{VersionCheck, check};
use crate::yaml::{self, Node, NodeKind};
use std::path::{Path, PathBuf};

/// Where the adapter looks for its config when neither flag nor env var names one.
pub const STANDARD_CONFIG_PATHS: &[&str] =
    &["/etc/hyperfleet/config.yaml", "./configs/config.yaml"];

/// What to load.
pub struct LoadOptions<'a> {
    /// `--config` / `HYPERFLEET_ADAPTER_CONFIG`.
    pub adapter_path: Option<PathBuf>,
    /// `--task-config` / `HYPERFLEET_TASK_CONFIG`.
    pub task_path: Option<PathBuf>,
    /// Flags given on the command line, as `(config path, text)`.
    pub flags: Vec<(String, String)>,
    pub env: &'a dyn EnvSource,
    /// The binary's version, for the compatibility check.
    pub binary_version: String,
}

/// Both configs, loaded, validated and compiled.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub adapter: AdapterConfig,
    pub task: TaskConfig,
    pub compiled: Compiled,
    pub adapter_path: PathBuf,
    pub task_path: PathBuf,
    /// The directory file references resolve against.
    pub task_dir: PathBuf,
    /// Warnings found while loading (deprecations, scope hints, version skips).
    pub warnings: Vec<Problem>,
    /// The task config as written, with `manifest.ref` files inlined (for `config-dump`).
    pub task_value: serde_json::Value,
}

/// Everything found while loading, errors and warnings alike.
#[derive(Debug, Default)]
pub struct Report {
    pub loaded: Option<Loaded>,
    pub problems: Vec<Problem>,
    /// The wording of the first failing stage (e.g. `task config validation failed`).
    pub context: Option<String>,
}

/// No adapter config path was given and none of the standard paths exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "adapter config file path is required (use --config flag or HYPERFLEET_ADAPTER_CONFIG env var)"
)]
pub struct NoAdapterConfig;

/// The adapter config path: explicit, else the first standard path that exists.
pub fn discover_adapter_path(explicit: Option<PathBuf>) -> Result<PathBuf, NoAdapterConfig> {
    if let Some(p) = explicit.filter(|p| !p.as_os_str().is_empty()) {
        return Ok(p);
    }
    STANDARD_CONFIG_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or(NoAdapterConfig)
}

/// Loads both files and fails on the first stage with errors.
pub fn load(opts: &LoadOptions<'_>) -> Result<Loaded, ConfigError> {
    let report = load_report(opts);
    match report.loaded {
        Some(l) if !report.problems.iter().any(Problem::is_error) => Ok(l),
        _ => Err(ConfigError::new(
            report
                .context
                .unwrap_or_else(|| "failed to load config".into()),
            report.problems,
        )),
    }
}

/// Loads both files and returns every problem found (for `adapter validate`).
pub fn load_report(opts: &LoadOptions<'_>) -> Report {
    let mut report = Report::default();
    let adapter_path = match discover_adapter_path(opts.adapter_path.clone()) {
        Ok(p) => p,
        Err(msg) => {
            return fail(
                report,
                "failed to load adapter config",
                Path::new("<config>"),
                msg.to_string(),
            );
        }
    };
    let adapter = load_adapter(&adapter_path, opts, &mut report);
    let Some(task_path) = opts.task_path.clone().filter(|p| !p.as_os_str().is_empty()) else {
        let msg = "task config file path is required (use --task-config flag or HYPERFLEET_TASK_CONFIG env var)";
        return fail(
            report,
            "failed to load task config",
            Path::new("<task-config>"),
            msg.into(),
        );
    };
    let task = load_task(&task_path, opts.env, &mut report);
    if let (Some(adapter), Some((task, compiled, task_dir, task_value))) = (adapter, task) {
        let warnings = report
            .problems
            .iter()
            .filter(|p| !p.is_error())
            .cloned()
            .collect();
        report.loaded = Some(Loaded {
            adapter,
            task,
            compiled,
            adapter_path,
            task_path,
            task_dir,
            warnings,
            task_value,
        });
    }
    report
}

fn fail(mut report: Report, context: &str, file: &Path, msg: String) -> Report {
    report.problems.push(Problem::error(file, 0, "", msg));
    report.context.get_or_insert_with(|| context.to_string());
    report
}

fn set_context(report: &mut Report, problems: &[Problem], context: &str) {
    if problems.iter().any(Problem::is_error) {
        report.context.get_or_insert_with(|| context.to_string());
    }
}

fn read_and_parse(path: &Path, what: &str, report: &mut Report) -> Option<Node> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            let msg = format!(
                "failed to read {what} file {:?}: {e}",
                path.display().to_string()
            );
            *report = fail(
                std::mem::take(report),
                &format!("failed to load {what}"),
                path,
                msg,
            );
            return None;
        }
    };
    match yaml::parse(&text) {
        Ok(node) => Some(node),
        Err(e) => {
            let p = Problem::error(path, e.line, "", e.kind.to_string());
            report.problems.push(p);
            report
                .context
                .get_or_insert_with(|| format!("failed to parse {what} YAML"));
            None
        }
    }
}

/// Rejects the pre-0.2.0 `apiVersion/kind/metadata/spec` envelope, naming the command that
/// converts it.
fn legacy_envelope(root: &Node, path: &Path, what: &str) -> Option<Problem> {
    let has = |k: &str| root.get(k).is_some();
    if !(has("apiVersion") || (has("kind") && has("spec")) || (has("spec") && has("metadata"))) {
        return None;
    }
    let hint = format!(
        "the apiVersion/kind/metadata/spec envelope was replaced in v0.2.0 by flat snake_case YAML: \
         convert the {what} file with `adapter config migrate {}` (it keeps comments and reports every change; \
         see docs/migrating.md)",
        path.display()
    );
    let msg = match root.get("apiVersion").and_then(Node::as_str) {
        Some(v) => format!("unsupported apiVersion {v:?}: {hint}"),
        None => format!("unsupported config format: {hint}"),
    };
    let line = root
        .get("apiVersion")
        .or(root.get("spec"))
        .map(|n| n.line)
        .unwrap_or(1);
    Some(Problem::error(path, line, "apiVersion", msg))
}

/// Hint for a task-config-shaped file given as the adapter config (the old merged format).
fn merged_format_hint(root: &Node) -> Option<&'static str> {
    let NodeKind::Map(entries) = &root.kind else {
        return None;
    };
    let task_keys = [
        "params",
        "preconditions",
        "resources",
        "post",
        "hyperfleet_api",
        "kubernetes",
    ];
    entries.iter().any(|(k, _)| k.as_str().is_some_and(|k| task_keys.contains(&k))).then_some(
        "this looks like the old merged single-file format: keep adapter/clients/log settings in --config \
         (clients.hyperfleet_api, clients.kubernetes, ...) and move params/preconditions/resources/post to --task-config",
    )
}

fn located(path: &Path, errs: Vec<yaml::DeError>) -> Vec<Problem> {
    errs.into_iter()
        .map(|e| {
            let msg = if e.line == 0 && !e.path.is_empty() {
                format!("{}: {} (value from environment or flag)", e.path, e.message)
            } else if e.path.is_empty() {
                e.message
            } else {
                format!("{}: {}", e.path, e.message)
            };
            Problem::error(path, e.line, e.path, msg)
        })
        .collect()
}

fn load_adapter(path: &Path, opts: &LoadOptions<'_>, report: &mut Report) -> Option<AdapterConfig> {
    let mut root = read_and_parse(path, "adapter config", report)?;
    if let Some(p) = legacy_envelope(&root, path, "adapter config") {
        report.problems.push(p);
        report
            .context
            .get_or_insert_with(|| "failed to parse adapter config YAML".into());
        return None;
    }
    let (_, strict_errs) = yaml::decode_collecting::<AdapterConfig>(&root);
    if !strict_errs.is_empty() {
        let mut problems = located(path, strict_errs);
        if let Some(hint) = merged_format_hint(&root) {
            problems.push(Problem::error(path, 1, "", hint));
        }
        set_context(report, &problems, "failed to parse adapter config YAML");
        report.problems.extend(problems);
        return None;
    }
    if let Err(e) = apply_overrides(&mut root, opts.env, &opts.flags) {
        *report = fail(
            std::mem::take(report),
            "failed to unmarshal adapter config",
            path,
            e.to_string(),
        );
        return None;
    }
    let config = match yaml::decode::<AdapterConfig>(&root) {
        Ok(c) => c,
        Err(e) => {
            let problems = located(path, vec![e]);
            set_context(report, &problems, "failed to unmarshal adapter config");
            report.problems.extend(problems);
            return None;
        }
    };
    let problems: Vec<Problem> = config
        .validate()
        .into_iter()
        .map(|(p, m)| Problem::error(path, root.line_of(&p), p, m))
        .collect();
    set_context(report, &problems, "adapter config validation failed");
    let invalid = !problems.is_empty();
    report.problems.extend(problems);
    match check(&config.adapter.version, &opts.binary_version) {
        VersionCheck::Ok | VersionCheck::Skipped => {}
        VersionCheck::Warn(why, v) => report.problems.push(Problem::warning(
            path,
            root.line_of("adapter.version"),
            "adapter.version",
            format!("Skipping adapter version validation: {why} (version {v:?})"),
        )),
        VersionCheck::Mismatch(m) => {
            report.problems.push(Problem::error(
                path,
                root.line_of("adapter.version"),
                "adapter.version",
                m,
            ));
            report
                .context
                .get_or_insert_with(|| "adapter version validation failed".into());
            return None;
        }
    }
    (!invalid).then_some(config)
}

type LoadedTask = (TaskConfig, Compiled, PathBuf, serde_json::Value);

fn load_task(path: &Path, env: &dyn EnvSource, report: &mut Report) -> Option<LoadedTask> {
    let root = read_and_parse(path, "task config", report)?;
    if let Some(p) = legacy_envelope(&root, path, "task config") {
        report.problems.push(p);
        report
            .context
            .get_or_insert_with(|| "failed to parse task config YAML".into());
        return None;
    }
    let (task, errs) = yaml::decode_collecting::<TaskConfig>(&root);
    let parse_problems = located(path, errs);
    set_context(report, &parse_problems, "failed to parse task config YAML");
    report.problems.extend(parse_problems);
    let mut task = task?;
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = abs.parent().map(Path::to_path_buf).unwrap_or_default();
    let ref_problems = super::refs::load_refs(&mut task, &dir, path, &root);
    set_context(
        report,
        &ref_problems,
        "task config file reference validation failed",
    );
    report.problems.extend(ref_problems);
    let mut v = Validator::new(path, &root, env);
    v.run(&task);
    set_context(report, &v.problems, "task config validation failed");
    let ok = !report.problems.iter().any(Problem::is_error);
    report.problems.extend(v.problems);
    let ok = ok && !report.problems.iter().any(Problem::is_error);
    let mut value = root.to_json();
    if let Some(items) = value.get_mut("resources").and_then(|r| r.as_array_mut()) {
        for (item, r) in items.iter_mut().zip(&task.resources) {
            if let (Some(obj), Some(m)) = (item.as_object_mut(), &r.manifest) {
                obj.insert("manifest".into(), m.clone());
            }
        }
    }
    ok.then_some((task, v.compiled, dir, value))
}
