//! The `adapter` binary as a command (a clean environment, its output), the configs `serve`
//! would load, and the conformance corpus in `../shared/conformance`.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The project's root directory (where `Cargo.toml`, `examples/` and `tests/` are).
pub fn project_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The `adapter` binary cargo built for the running integration test: it sits in the profile
/// directory, one level above the test executable in `deps/` (cargo builds a package's binaries
/// before its integration tests). `HYPERFLEET_ADAPTER_BIN` overrides it.
pub fn adapter_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("HYPERFLEET_ADAPTER_BIN") {
        return bin.into();
    }
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile = exe
        .parent()
        .filter(|d| d.ends_with("deps"))
        .and_then(|d| d.parent())
        .unwrap_or_else(|| panic!("{} is not in a cargo deps/ directory", exe.display()));
    let bin = profile.join(format!("adapter{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} does not exist: run the adapter's integration tests through cargo, which builds it",
        bin.display()
    );
    bin
}

/// `../shared/conformance`, or `None` (with a clear message) when it is not beside the project.
/// With `HYPERFLEET_REQUIRE_CONFORMANCE=1` (set by `.ci/run`) a missing corpus is a failure.
pub fn conformance() -> Option<PathBuf> {
    let dir = project_root().join("../shared/conformance");
    if dir.is_dir() {
        return Some(dir.canonicalize().expect("canonical conformance path"));
    }
    if std::env::var("HYPERFLEET_REQUIRE_CONFORMANCE").is_ok_and(|v| v == "1") {
        panic!(
            "../shared/conformance is required (HYPERFLEET_REQUIRE_CONFORMANCE=1) but {} does not exist",
            dir.display()
        );
    }
    eprintln!(
        "NOTE: {} not found; conformance test not run",
        dir.display()
    );
    None
}

/// Runs the `adapter` binary with a clean environment (plus `env`).
pub fn adapter(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(adapter_bin());
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run adapter")
}

/// A dry run of task config `t` under adapter config `a` on event file `e`, with `extra` flags,
/// in a clean environment.
pub fn dry_run(a: &str, t: &str, e: &str, extra: &[&str]) -> Output {
    let mut args = vec!["serve", "-c", a, "-t", t, "--dry-run-event", e];
    args.extend_from_slice(extra);
    adapter(&args, &[])
}

/// What a command printed on stdout (lossy UTF-8).
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What a command printed on stderr (lossy UTF-8).
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Loads an adapter config and a task config as `serve` does, with no flags and an empty
/// environment.
pub fn load_configs(adapter: PathBuf, task: PathBuf) -> hyperfleet_adapter::config::Loaded {
    let env = hyperfleet_adapter::config::MapEnv::default();
    hyperfleet_adapter::config::load(&hyperfleet_adapter::config::LoadOptions {
        adapter_path: Some(adapter),
        task_path: Some(task),
        flags: vec![],
        env: &env,
        binary_version: "0.0.0-dev".into(),
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_root_holds_the_adapter_package() {
        let manifest = std::fs::read_to_string(project_root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("name = \"hyperfleet-adapter\""));
    }

    #[test]
    fn the_example_configs_load() {
        let ex = project_root().join("examples");
        let loaded = load_configs(
            ex.join("adapter-config.yaml"),
            ex.join("kubernetes/task-config.yaml"),
        );
        assert!(!loaded.adapter.adapter.name.is_empty());
    }
}
