//! Fault injection through the real binary: hostile YAML in every loader (adapter config, task
//! config, `broker.yaml`, a rendered manifest per event) fails with the file and line, exit 1,
//! inside a 512 MiB address-space limit; a 300,000-key mapping loads.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_adapter");
const MIB: u64 = 1024 * 1024;

/// Runs the adapter under `ulimit -v` (address space), so a runaway allocation ends in an
/// allocation failure instead of swapping the machine, and under `ulimit -t` (CPU seconds,
/// 50× what the slowest case needs in a debug build) so that a quadratic regression fails
/// instead of never finishing.
fn limited(limit: u64, args: &[&str], env: &[(&str, &str)]) -> Output {
    let script = format!(
        "ulimit -v {}; ulimit -t 300; exec \"$0\" \"$@\"",
        limit / 1024
    );
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script).arg(BIN).args(args).env_clear();
    cmd.env("HYPERFLEET_TRACING_ENABLED", "false");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run adapter")
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The examples' configs in a temporary directory, plus the extra files given.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        for (from, to) in [
            ("adapter-config.yaml", "adapter.yaml"),
            ("kubernetes/task-config.yaml", "task.yaml"),
            ("kubernetes/job.yaml", "job.yaml"),
            ("event.json", "event.json"),
            ("api-responses.json", "api-responses.json"),
        ] {
            std::fs::copy(examples.join(from), dir.path().join(to)).unwrap();
        }
        Files { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap()
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Appends `extra` to `name`; returns the first line of the appended text.
    fn append(&self, name: &str, extra: &str) -> usize {
        let text = self.read(name);
        self.write(name, &format!("{text}{extra}"));
        text.lines().count() + 1
    }

    fn config_dump(&self) -> Output {
        let (a, t) = (self.path("adapter.yaml"), self.path("task.yaml"));
        limited(512 * MIB, &["config-dump", "-c", &a, "-t", &t], &[])
    }

    /// `publish` of the example event with `broker` as `BROKER_CONFIG_FILE`.
    fn publish(&self, broker: &str) -> Output {
        let event = self.path("event.json");
        limited(
            512 * MIB,
            &["publish", "--event", &event, "--topic", "t"],
            &[("BROKER_CONFIG_FILE", broker)],
        )
    }

    /// A dry run of the example event.
    fn dry_run(&self) -> Output {
        let (a, t) = (self.path("adapter.yaml"), self.path("task.yaml"));
        let (e, r) = (self.path("event.json"), self.path("api-responses.json"));
        let args = [
            "serve",
            "-c",
            &a,
            "-t",
            &t,
            "--dry-run-event",
            &e,
            "--dry-run-api-responses",
            &r,
        ];
        limited(512 * MIB, &args, &[])
    }
}

/// Asserts a clean refusal: exit 1 (not a signal, not an allocation abort) and `needle` in the
/// error line.
fn assert_refused(out: &Output, needle: &str) {
    assert_refused_with(out, Some(1), needle);
}

fn assert_refused_with(out: &Output, code: Option<i32>, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), code, "{}\n{err}", out.status);
    let last = err.lines().last().unwrap_or_default();
    assert!(last.contains(needle), "{needle:?} not in {last:?}");
}

/// The line `err` gives for `file` (`FILE:LINE: ...`).
fn line_in(out: &Output, file: &str) -> usize {
    let err = stderr(out);
    let at = err
        .rfind(&format!("{file}:"))
        .expect("the error names the file")
        + file.len()
        + 1;
    let digits: String = err[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().expect("a line number after the file")
}

/// Proves the limit leaves room for a normal run: the refusals below are the adapter's own.
#[test]
fn normal_configs_run_within_the_memory_limit() {
    let f = Files::new();
    let out = f.config_dump();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(f.dry_run().status.success());
}

#[test]
fn an_alias_bomb_in_the_adapter_config_is_refused_with_file_and_line() {
    let f = Files::new();
    let line = f.append(
        "adapter.yaml",
        &kit::hostile::billion_laughs("bomb", 0, 9, 9),
    );
    let out = f.config_dump();
    let at = format!("{}:{}: ", f.path("adapter.yaml"), line + 5);
    assert_refused(&out, &format!("{at}document contains excessive aliasing"));
}

#[test]
fn an_alias_bomb_in_the_task_config_is_refused_with_file_and_line() {
    let f = Files::new();
    let line = f.append("task.yaml", &kit::hostile::billion_laughs("bomb", 0, 9, 9));
    let out = f.config_dump();
    assert_refused(&out, "document contains excessive aliasing");
    // The 200 nodes before the bomb lower the ratio: it trips at l5 here, not l4.
    assert_eq!(line_in(&out, &f.path("task.yaml")), line + 6);
}

#[test]
fn an_alias_bomb_in_broker_yaml_is_refused_with_file_and_line() {
    let f = Files::new();
    let head = "type: rabbitmq\nrabbitmq:\n  url: amqp://guest:guest@127.0.0.1:5672/\n";
    let broker = f.write(
        "broker.yaml",
        &format!("{head}{}", kit::hostile::billion_laughs("bomb", 0, 9, 9)),
    );
    let broker = broker.display().to_string();
    let out = f.publish(&broker);
    assert_refused(
        &out,
        &format!("{broker}:9: yaml: line 9: document contains excessive aliasing"),
    );
    // `serve` reads it at startup, after the configs.
    let task = f.write(
        "params-only.yaml",
        "params:\n  - name: x\n    source: event.id\n",
    );
    let (a, t) = (f.path("adapter.yaml"), task.display().to_string());
    let (hp, mp) = (free_port().to_string(), free_port().to_string());
    let args = [
        "serve",
        "-c",
        &a,
        "-t",
        &t,
        "--health-port",
        &hp,
        "--metrics-port",
        &mp,
    ];
    let out = limited(512 * MIB, &args, &[("BROKER_CONFIG_FILE", &broker)]);
    assert_refused(
        &out,
        &format!("{broker}:9: yaml: line 9: document contains excessive aliasing"),
    );
}

#[test]
fn a_manifest_that_renders_to_an_alias_bomb_fails_its_event() {
    let f = Files::new();
    // The bomb appears only once the template has run, in the per-event parse.
    let bomb = kit::hostile::billion_laughs("bomb{{ .generation }}", 0, 9, 9);
    let line = f.append("job.yaml", &bomb);
    let out = f.dry_run();
    // A failed event is reported in the trace and on stderr; the dry run itself succeeds, as
    // the Go adapter's does.
    let wanted = format!(
        "Error in resources: resource execution failed: [resources] bootstrapJob: failed to render manifest: failed to parse rendered manifest as YAML: yaml: line {}: document contains excessive aliasing",
        line + 5
    );
    assert_refused_with(&out, Some(0), &wanted);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Result: FAILED"));
}

#[test]
fn a_nul_byte_is_refused_in_every_loader_with_file_line_and_column() {
    let f = Files::new();
    let line = f.append("adapter.yaml", "extra: a\0b\n");
    let at = format!("{}:{line}: column 9: ", f.path("adapter.yaml"));
    assert_refused(
        &f.config_dump(),
        &format!("{at}control characters are not allowed (U+0000)"),
    );

    let f = Files::new();
    let line = f.append("task.yaml", "# trailing\0comment\n");
    let at = format!("{}:{line}: column 11: ", f.path("task.yaml"));
    assert_refused(
        &f.config_dump(),
        &format!("{at}control characters are not allowed (U+0000)"),
    );

    let broker = f.write("broker.yaml", "type: rabbitmq\n\0rabbitmq: {}\n");
    let broker = broker.display().to_string();
    let out = f.publish(&broker);
    assert_refused(
        &out,
        &format!("{broker}:2: yaml: line 2: column 1: control characters are not allowed"),
    );
}

#[test]
fn nesting_beyond_the_bound_is_refused_with_the_line() {
    let f = Files::new();
    let line = f.append("task.yaml", &kit::hostile::deep_block("deep", 0, 1000));
    // The root, then one map per line: the 129th collection opens on `line + 128`.
    let at = format!("{}:{}: ", f.path("task.yaml"), line + 128);
    assert_refused(&f.config_dump(), &format!("{at}exceeded max depth of 128"));

    let f = Files::new();
    f.append(
        "adapter.yaml",
        &format!("deep: {}\n", kit::hostile::deep_flow(100_000)),
    );
    let out = f.config_dump();
    assert_refused(&out, &f.path("adapter.yaml"));
}

#[test]
fn a_300000_key_mapping_loads() {
    let f = Files::new();
    let task = f.read("task.yaml");
    let wide = kit::hostile::wide_map("items", 6, 300_000);
    f.write(
        "task.yaml",
        &task.replacen("    discovery:\n", &format!("{wide}    discovery:\n"), 1),
    );
    let (a, t) = (f.path("adapter.yaml"), f.path("task.yaml"));
    // The tree, its JSON, the template text and the dump of 600,000 scalars take ~360 MB.
    let out = limited(1024 * MIB, &["config-dump", "-c", &a, "-t", &t], &[]);
    assert!(out.status.success(), "{}\n{}", out.status, stderr(&out));
    let dump = String::from_utf8_lossy(&out.stdout);
    assert!(dump.contains("k299999: v299999\n"));
}
