//! Compile-once cost and per-event cost of the expression layer, on the largest task config of
//! the conformance corpus (the CEL showcase) when `../shared/conformance` is present, else on
//! the project's own `examples/`.
//!
//! Also: loading a mapping of 300,000 keys against a list of 300,000 items, which must take
//! about the same time (duplicate-key detection is linear, not a scan per key).
//!
//! `cargo bench --bench config_pipeline`

use criterion::{Criterion, criterion_group, criterion_main};
use hyperfleet_adapter::config::{self, LoadOptions, Loaded, MapEnv};
use hyperfleet_adapter::expr::CelScope;
use hyperfleet_adapter::expr::template::to_template_value;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn paths() -> (PathBuf, PathBuf, Value) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("../shared/conformance/upstream/test/testdata/dryrun");
    if corpus.is_dir() {
        let responses: Value = serde_json::from_str(
            &std::fs::read_to_string(
                corpus.join("cel-showcase/dryrun-cel-showcase-api-responses.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let body = responses["responses"][0]["responses"][0]["body"].clone();
        (
            corpus.join("dryrun-kubernetes-adapter-config.yaml"),
            corpus.join("cel-showcase/dryrun-cel-showcase-task-config.yaml"),
            body,
        )
    } else {
        eprintln!("../shared/conformance not found: benchmarking examples/ instead");
        let cluster =
            json!({"name": "c", "spec": {"provider": "aws"}, "status": {"conditions": []}});
        (
            root.join("examples/adapter-config.yaml"),
            root.join("examples/kubernetes/task-config.yaml"),
            cluster,
        )
    }
}

fn load(a: &Path, t: &Path, env: &MapEnv) -> Loaded {
    let opts = LoadOptions {
        adapter_path: Some(a.to_path_buf()),
        task_path: Some(t.to_path_buf()),
        flags: vec![],
        env,
        binary_version: "0.0.0-dev".into(),
    };
    config::load(&opts).expect("benchmark config loads")
}

/// Variables shaped like a real event mid-pipeline: params, the API response, resources.
fn variables(loaded: &Loaded, api_body: &Value) -> serde_json::Map<String, Value> {
    let mut vars = serde_json::Map::new();
    for p in &loaded.task.params {
        vars.insert(p.name.clone(), json!("abc123"));
    }
    vars.insert("generation".into(), json!(5));
    vars.insert("fetchCluster".into(), api_body.clone());
    vars.insert("cluster".into(), api_body.clone());
    vars.insert(
        "event".into(),
        json!({"id": "abc123", "kind": "Cluster", "generation": 5}),
    );
    vars.insert("env".into(), json!({}));
    vars.insert("adapter".into(), json!({"executionStatus": "success", "resourcesSkipped": false, "errorMessage": "", "resourceErrors": {}}));
    vars.insert("resources".into(), json!({
        "namespace0": {"metadata": {"name": "abc123", "labels": {"a": "b"}}, "status": {"phase": "Active"}},
        "configmap0": {"metadata": {"name": "abc123-config"}, "data": {"cluster_id": "abc123", "cluster_name": "abc123"}},
        "configmap1": {"metadata": {"name": "abc123-extra"}, "data": {"feature_flags": "x", "max_replicas": "10", "endpoint": "e"}}
    }));
    vars
}

fn bench(c: &mut Criterion) {
    let (a, t, body) = paths();
    let env = MapEnv::default();
    let loaded = load(&a, &t, &env);
    let (cel, tmpl, jp) = loaded.compiled.counts();
    eprintln!(
        "{}: {cel} CEL expressions, {tmpl} templates, {jp} JSONPath fields",
        t.display()
    );
    c.bench_function("load_and_compile_task_config", |b| {
        b.iter(|| load(&a, &t, &env))
    });
    let vars = variables(&loaded, &body);
    let now = chrono::Utc::now();
    c.bench_function("evaluate_all_cel", |b| {
        b.iter(|| {
            // One scope per event phase, as the executor does: variables converted once.
            let scope = CelScope::new(&vars, now);
            for expr in loaded.compiled.cel.values() {
                let _ = std::hint::black_box(expr.eval_in(&scope));
            }
        })
    });
    let data = to_template_value(&Value::Object(vars.clone()));
    c.bench_function("render_all_templates", |b| {
        b.iter(|| {
            for t in loaded.compiled.templates.values() {
                let _ = std::hint::black_box(t.render(&data));
            }
        })
    });
    let root = Value::Object(vars.clone());
    c.bench_function("evaluate_all_jsonpaths", |b| {
        b.iter(|| {
            for p in loaded.compiled.paths.values() {
                std::hint::black_box(p.get(&root));
            }
        })
    });
}

/// A block mapping (`k0: v0` ...) or block sequence (`- v0` ...) of `n` entries.
fn wide(n: usize, mapping: bool) -> String {
    let mut s = String::with_capacity(n * 16);
    for i in 0..n {
        if mapping {
            s.push_str(&format!("k{i}: v{i}\n"));
        } else {
            s.push_str(&format!("- v{i}\n"));
        }
    }
    s
}

fn bench_wide_yaml(c: &mut Criterion) {
    let mut group = c.benchmark_group("yaml_300k");
    group.sample_size(10);
    for (name, text) in [
        ("mapping_parse_to_json", wide(300_000, true)),
        ("list_parse_to_json", wide(300_000, false)),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| hyperfleet_adapter::yaml::parse(&text).map(|n| n.to_json()))
        });
    }
    group.bench_function("mapping_parse_value", |b| {
        let text = wide(300_000, true);
        b.iter(|| hyperfleet_adapter::yaml::parse_value(&text))
    });
    group.finish();
}

criterion_group!(benches, bench, bench_wide_yaml);
criterion_main!(benches);
