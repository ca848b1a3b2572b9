//! The bounds of the YAML layer, through its public API: yaml.v3's aliasing rule at its exact
//! boundary, control characters, linear-time mappings, and a nesting depth that every
//! recursive walk of the pipeline survives on a 2 MiB (tokio worker sized) stack.

use hyperfleet_adapter::app::{Cli, cli::Command, commands::dump_value};
use hyperfleet_adapter::config::{self, LoadOptions, MapEnv};
use hyperfleet_adapter::dryrun;
use hyperfleet_adapter::yaml;
use serde_json::json;
use std::sync::Arc;

/// `m` aliases of an anchored list of 999 scalars. yaml.v3 counts 1005 + 1001·m decodes of
/// which 1000·m come through an alias: the ratio passes 0.99 between m = 110 and m = 111.
fn ratio_doc(m: usize) -> String {
    let items: Vec<String> = (0..999).map(|i| format!("x{i}")).collect();
    let aliases = vec!["*a"; m].join(", ");
    format!("a: &a [{}]\nb: [{aliases}]\n", items.join(", "))
}

#[test]
fn aliases_are_refused_exactly_where_yaml_v3_refuses_them() {
    let ok = yaml::parse(&ratio_doc(110)).expect("110 aliases are within yaml.v3's ratio");
    assert_eq!(ok.to_json()["b"].as_array().unwrap().len(), 110);
    assert!(yaml::parse_value(&ratio_doc(110)).is_ok());
    for err in [
        yaml::parse(&ratio_doc(111)).unwrap_err(),
        yaml::parse_value(&ratio_doc(111)).unwrap_err(),
    ] {
        assert_eq!(
            err.to_string(),
            "yaml: line 2: document contains excessive aliasing"
        );
    }
}

/// The document of one case of `tests/data/yaml_v3_aliasing.jsonl`, built as
/// `scripts/yaml-v3-aliasing/main.go` builds it for yaml.v3.
fn oracle_doc(case: &serde_json::Value) -> String {
    let n = |key: &str| case[key].as_u64().unwrap() as usize;
    let fanouts: Vec<usize> = case["fanouts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_u64().unwrap() as usize)
        .collect();
    let items: Vec<String> = (0..n("k")).map(|i| format!("x{i}")).collect();
    let mut doc = format!("a0: &a0 [{}]\n", items.join(", "));
    for (d, f) in fanouts.iter().enumerate() {
        let entries: Vec<String> = (0..*f).map(|i| format!("k{i}: *a{d}")).collect();
        doc += &format!("a{}: &a{} {{{}}}\n", d + 1, d + 1, entries.join(", "));
    }
    doc += &match n("plain") {
        0 => "p: 1\n".to_string(),
        p => format!("p: [{}]\n", vec!["y"; p].join(", ")),
    };
    let alias = format!("*a{}", fanouts.len());
    doc += &format!("b: [{}]\n", vec![alias.as_str(); n("m")].join(", "));
    if n("q") > 0 {
        doc += &format!("q: [{}]\n", vec!["z"; n("q")].join(", "));
    }
    doc
}

#[test]
fn three_hundred_aliasing_shapes_are_judged_as_yaml_v3_judges_them() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/yaml_v3_aliasing.jsonl"
    );
    let cases = std::fs::read_to_string(path).unwrap();
    for line in cases.lines() {
        let case: serde_json::Value = serde_json::from_str(line).unwrap();
        let refused = yaml::parse(&oracle_doc(&case)).map_err(|e| e.kind).err();
        let expected = case["refused"]
            .as_bool()
            .unwrap()
            .then_some(yaml::SyntaxErrorKind::ExcessiveAliasing);
        assert_eq!(refused, expected, "{line}");
    }
}

#[test]
fn a_billion_laughs_fails_at_its_first_excessive_alias() {
    let doc = kit::hostile::billion_laughs("bomb", 0, 9, 9);
    for err in [
        yaml::parse(&doc).unwrap_err(),
        yaml::parse_value(&doc).unwrap_err(),
    ] {
        // 9⁴ = 6561 decodes at l4 cross the 99% ratio; nothing larger was ever built.
        assert_eq!(
            err.to_string(),
            "yaml: line 6: document contains excessive aliasing"
        );
    }
}

#[test]
fn ordinary_aliases_give_the_same_tree_as_before() {
    let doc =
        "base: &b {a: 1, b: [x, 'y']}\none: *b\ntwo: {c: *b}\nlist: &l [1, 2]\nthree: [*l, *l]\n";
    let expected = json!({
        "base": {"a": 1, "b": ["x", "y"]},
        "one": {"a": 1, "b": ["x", "y"]},
        "two": {"c": {"a": 1, "b": ["x", "y"]}},
        "list": [1, 2],
        "three": [[1, 2], [1, 2]],
    });
    assert_eq!(yaml::parse(doc).unwrap().to_json(), expected);
    assert_eq!(yaml::parse_value(doc).unwrap(), expected);
}

#[test]
fn long_aliased_text_is_bounded_in_bytes() {
    // 200 aliases of a 100 KiB scalar pass yaml.v3's node count (too few nodes to judge) but
    // would copy 20 MB of text.
    let doc = format!(
        "s: &s {}\nl: [{}]\n",
        "x".repeat(100 * 1024),
        vec!["*s"; 200].join(", ")
    );
    assert_eq!(
        yaml::parse(&doc).unwrap_err().to_string(),
        "yaml: line 2: document contains excessive aliasing: aliases copy more than 16777216 bytes of text"
    );
    let fits = format!(
        "s: &s {}\nl: [{}]\n",
        "x".repeat(100 * 1024),
        vec!["*s"; 150].join(", ")
    );
    assert!(yaml::parse_value(&fits).is_ok());
}

#[test]
fn control_characters_are_refused_with_line_and_column() {
    for (doc, code) in [
        ("a: 1\nb: x\0y\nc: 3\n", "0000"),
        ("a: 1\nb: x\u{7}y\n", "0007"),
    ] {
        for err in [
            yaml::parse(doc).unwrap_err(),
            yaml::parse_value(doc).unwrap_err(),
        ] {
            assert_eq!(
                err.to_string(),
                format!("yaml: line 2: column 5: control characters are not allowed (U+{code})")
            );
        }
    }
    // Allowed: tab, CR, NEL, and a leading byte order mark, which yaml.v3 drops.
    let v = yaml::parse("\u{feff}a: \"x\ty\"\r\nb: z\u{85}\n")
        .unwrap()
        .to_json();
    assert_eq!(v["a"], json!("x\ty"));
    assert!(v.get("\u{feff}a").is_none());
}

#[test]
fn nesting_beyond_the_bound_is_refused_not_overflowed() {
    let too_deep = kit::hostile::deep_block("k", 0, yaml::MAX_DEPTH);
    let err = yaml::parse(&too_deep).unwrap_err();
    assert_eq!(
        err.kind,
        yaml::SyntaxErrorKind::TooDeep {
            max: yaml::MAX_DEPTH
        }
    );
    assert!(
        err.to_string().ends_with("exceeded max depth of 128"),
        "{err}"
    );
    assert!(yaml::parse_value(&too_deep).is_err());
    assert!(yaml::parse(&kit::hostile::deep_block("k", 0, yaml::MAX_DEPTH - 1)).is_ok());
    // 100,000 open brackets: the scanner's own flow limit or ours, never a crash.
    assert!(yaml::parse(&kit::hostile::deep_flow(100_000)).is_err());
    assert!(yaml::parse_value(&kit::hostile::deep_flow(100_000)).is_err());
    // An alias may not carry a deep anchor below the bound either: 1 + 63 maps + 64 lists.
    let with_alias = |maps: usize| {
        let anchored = format!("a: &a {}\n", kit::hostile::deep_flow(64));
        anchored + &kit::hostile::deep_block("b", 0, maps).replace("d: leaf", "d: *a")
    };
    assert!(yaml::parse(&with_alias(63)).is_ok());
    assert_eq!(
        yaml::parse(&with_alias(64)).unwrap_err().kind,
        yaml::SyntaxErrorKind::TooDeep {
            max: yaml::MAX_DEPTH
        }
    );
}

/// Loads, dumps and dry-runs a config nested to the depth bound, on a thread with the stack of
/// a tokio worker: parse, decode, layering, validation, template compile, per-event render and
/// parse, traces and every drop run there.
#[test]
fn the_depth_bound_is_survived_on_a_tokio_worker_stack() {
    let dir = tempfile::tempdir().unwrap();
    let adapter = dir.path().join("adapter.yaml");
    std::fs::write(&adapter, "adapter:\n  name: deep\n  version: \"0.1.0\"\n").unwrap();
    // root(1) resources(2) item(3) manifest(4), then maps down to the bound.
    let deep_map = kit::hostile::deep_block("deep", 6, yaml::MAX_DEPTH - 4);
    let manifest = format!(
        "      apiVersion: v1\n      kind: ConfigMap\n      metadata:\n        name: \"d-{{{{ .id }}}}\"\n{deep_map}"
    );
    let rendered = kit::hostile::deep_block("deep", 0, yaml::MAX_DEPTH - 1);
    std::fs::write(
        dir.path().join("deep.yaml"),
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"s-{{{{ .id }}}}\"\n{rendered}"
        ),
    )
    .unwrap();
    let task = dir.path().join("task.yaml");
    std::fs::write(
        &task,
        format!(
            "params:\n  - name: id\n    source: event.id\nresources:\n  - name: asMap\n    manifest:\n{manifest}    discovery:\n      by_name: \"d-{{{{ .id }}}}\"\n  - name: asRef\n    manifest:\n      ref: deep.yaml\n    discovery:\n      by_name: \"s-{{{{ .id }}}}\"\npost:\n  payloads:\n    - name: p\n      build:\n        seen:\n          expression: resources.asMap.metadata.name + resources.asRef.metadata.name\n"
        ),
    )
    .unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"specversion":"1.0","id":"e1","type":"t","source":"s","data":{"id":"c1"}}"#,
    )
    .unwrap();
    let (a, t, e) = (adapter.clone(), task.clone(), event.clone());
    let worker = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let env = MapEnv::default();
            let opts = LoadOptions {
                adapter_path: Some(a.clone()),
                task_path: Some(t.clone()),
                flags: vec![],
                env: &env,
                binary_version: "0.0.0-dev".into(),
            };
            let loaded = config::load(&opts).expect("a config at the depth bound loads");
            let dump = yaml::to_yaml_string(&dump_value(&loaded));
            let cli = <Cli as clap::Parser>::try_parse_from([
                "adapter".as_ref(),
                "serve".as_ref(),
                "-c".as_ref(),
                a.as_os_str(),
                "-t".as_ref(),
                t.as_os_str(),
                "--dry-run-event".as_ref(),
                e.as_os_str(),
                "--dry-run-verbose".as_ref(),
            ])
            .unwrap();
            let Command::Serve(args) = cli.command else {
                unreachable!()
            };
            let task_value = loaded.task_value.clone();
            let dry = dryrun::run(loaded, &args, Arc::new(MapEnv::default())).unwrap();
            dryrun::print(&dry, &task_value, &args).unwrap();
            let errors = format!("{:?}", dry.result.errors);
            let mut applied: Vec<String> = dry
                .store
                .objects()
                .iter()
                .map(|o| {
                    o["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                })
                .collect();
            applied.sort();
            let payload = format!("{:?}", dry.result.payloads);
            (dump.len(), errors, applied, payload)
        })
        .unwrap();
    let (dump_len, errors, applied, payload) = worker.join().expect("no stack overflow");
    assert!(dump_len > 0);
    assert_eq!(errors, "{}");
    assert!(payload.contains("d-c1s-c1"), "{payload}");
    assert_eq!(applied, ["d-c1", "s-c1"], "both deep manifests applied");
}
