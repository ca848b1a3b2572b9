//! The full pipeline per event on in-memory ports: the `kubernetes` and `cel-showcase`
//! conformance scenarios (params with an API call, preconditions, two or three resources with
//! discovery, payload build, status post-action). Falls back to the project's examples when
//! `../shared/conformance` is absent.
//!
//! `cargo bench --bench executor`

use criterion::{Criterion, criterion_group, criterion_main};
use hyperfleet_adapter::adapters::api::RecordedApi;
use hyperfleet_adapter::adapters::transport::MemoryTransport;
use hyperfleet_adapter::config::{self, LoadOptions, MapEnv};
use hyperfleet_adapter::domain::{Executor, Ports};
use hyperfleet_adapter::dryrun::load_discovery;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The same allocator as the binary, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Scenario {
    name: &'static str,
    adapter: PathBuf,
    task: PathBuf,
    responses: PathBuf,
    discovery: PathBuf,
}

fn scenarios() -> Vec<Scenario> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let d = root.join("../shared/conformance/upstream/test/testdata/dryrun");
    if d.is_dir() {
        vec![
            Scenario {
                name: "kubernetes",
                adapter: d.join("dryrun-kubernetes-adapter-config.yaml"),
                task: d.join("kubernetes/dryrun-kubernetes-task-config.yaml"),
                responses: d.join("dryrun-api-responses.json"),
                discovery: d.join("kubernetes/dryrun-kubernetes-discovery.json"),
            },
            Scenario {
                name: "cel-showcase",
                adapter: d.join("dryrun-kubernetes-adapter-config.yaml"),
                task: d.join("cel-showcase/dryrun-cel-showcase-task-config.yaml"),
                responses: d.join("cel-showcase/dryrun-cel-showcase-api-responses.json"),
                discovery: d.join("cel-showcase/dryrun-cel-showcase-discovery.json"),
            },
        ]
    } else {
        eprintln!("../shared/conformance not found: benchmarking examples/ instead");
        let e = root.join("examples");
        vec![Scenario {
            name: "examples-kubernetes",
            adapter: e.join("adapter-config.yaml"),
            task: e.join("kubernetes/task-config.yaml"),
            responses: e.join("api-responses.json"),
            discovery: e.join("kubernetes/discovery.json"),
        }]
    }
}

/// An environment the size of a pod's: each Service in the namespace adds seven variables
/// (`<NAME>_SERVICE_HOST`, `_PORT`, ...); six Services and the pod's own make ~45.
fn pod_env() -> MapEnv {
    let mut vars = vec![
        (
            "HOSTNAME".to_string(),
            "adapter-7d9f8b6c5-x2x4q".to_string(),
        ),
        ("HOME".into(), "/".into()),
        ("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()),
    ];
    for svc in [
        "KUBERNETES",
        "HYPERFLEET_API",
        "MAESTRO",
        "MAESTRO_GRPC",
        "RABBITMQ",
        "OTEL_COLLECTOR",
    ] {
        vars.push((format!("{svc}_SERVICE_HOST"), "10.96.0.1".into()));
        vars.push((format!("{svc}_SERVICE_PORT"), "443".into()));
        vars.push((format!("{svc}_PORT"), "tcp://10.96.0.1:443".into()));
        vars.push((format!("{svc}_PORT_443_TCP"), "tcp://10.96.0.1:443".into()));
        vars.push((format!("{svc}_PORT_443_TCP_PROTO"), "tcp".into()));
        vars.push((format!("{svc}_PORT_443_TCP_PORT"), "443".into()));
        vars.push((format!("{svc}_PORT_443_TCP_ADDR"), "10.96.0.1".into()));
    }
    let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    MapEnv::from_pairs(pairs)
}

fn executor(s: &Scenario) -> Executor {
    let env = pod_env();
    let loaded = config::load(&LoadOptions {
        adapter_path: Some(s.adapter.clone()),
        task_path: Some(s.task.clone()),
        flags: vec![],
        env: &env,
        binary_version: "0.0.0-dev".into(),
    })
    .expect("scenario config loads");
    let store = Arc::new(MemoryTransport::default());
    load_discovery(Path::new(&s.discovery), &store).expect("discovery loads");
    let ports = Ports::with_transport(
        Arc::new(RecordedApi::load(&s.responses).expect("responses load")),
        store.clone(),
        Arc::new(env),
    );
    Executor::new(Arc::new(loaded), ports)
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let event = br#"{"id":"abc123","kind":"Cluster","href":"/api/clusters_mgmt/v1/clusters/abc123","generation":5}"#;
    for (i, s) in scenarios().iter().enumerate() {
        // As the serve loop runs it (no detail kept for a trace); the first scenario also with
        // detail, as a dry run runs it.
        let serve = executor(s).without_detail();
        let mut runs = vec![(format!("execute_{}", s.name), serve)];
        if i == 0 {
            runs.push((format!("execute_{}_detail", s.name), executor(s)));
        }
        for (name, ex) in runs {
            bench_one(c, &runtime, &name, &ex, event);
        }
    }
}

fn bench_one(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    ex: &Executor,
    event: &[u8],
) {
    let first = runtime.block_on(ex.execute("bench", "io.hyperfleet.cluster.updated", event));
    assert!(!first.is_failed(), "{name}: {:?}", first.errors);
    c.bench_function(name, |b| {
        b.iter(|| {
            runtime.block_on(ex.execute(
                "bench",
                "io.hyperfleet.cluster.updated",
                std::hint::black_box(event),
            ))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
