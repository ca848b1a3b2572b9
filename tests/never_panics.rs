//! Property tests: random YAML, random expressions and random templates never panic the
//! loader or the expression layer; they load or fail with an error.

use hyperfleet_adapter::config::{self, LoadOptions, MapEnv};
use hyperfleet_adapter::expr::{CelExpr, Template, jsonpath::JsonPath};
use hyperfleet_adapter::yaml;
use proptest::prelude::*;

fn yaml_fragment() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "params",
        "preconditions",
        "resources",
        "post",
        "name",
        "source",
        "manifest",
        "discovery",
        "by_name",
        "expression",
        "conditions",
        "operator",
        "value",
        "payloads",
        "build",
        "ref",
        "when",
        "lifecycle",
        "x",
    ]);
    let scalar = prop::sample::select(vec![
        "a",
        "\"{{ .x }}\"",
        "1",
        "0123",
        "true",
        "~",
        "[]",
        "{}",
        "'q'",
        "- 1",
        "{{",
        "&a",
        "*a",
        "!!int x",
        "|\n  t",
    ]);
    prop::collection::vec((key, scalar, 0usize..4, any::<bool>()), 0..24).prop_map(|items| {
        let mut s = String::new();
        for (k, v, indent, dash) in items {
            s.push_str(&"  ".repeat(indent));
            if dash {
                s.push_str("- ");
            }
            s.push_str(&format!("{k}: {v}\n"));
        }
        s
    })
}

proptest! {
    #[test]
    fn yaml_parse_and_emit_never_panic(text in "\\PC{0,200}") {
        if let Ok(node) = yaml::parse(&text) {
            let v = node.to_json();
            let _ = yaml::to_yaml_string(&v);
        }
    }

    #[test]
    fn task_loader_never_panics(text in yaml_fragment()) {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.yaml");
        std::fs::write(&a, "adapter:\n  name: p\n").unwrap();
        let t = dir.path().join("t.yaml");
        std::fs::write(&t, &text).unwrap();
        let env = MapEnv::default();
        let opts = LoadOptions { adapter_path: Some(a), task_path: Some(t), flags: vec![], env: &env, binary_version: "0.0.0-dev".into() };
        let report = config::load_report(&opts);
        prop_assert!(report.loaded.is_some() || !report.problems.is_empty());
    }

    #[test]
    fn emitted_yaml_reads_back_the_same(v in json_value()) {
        let text = yaml::to_yaml_string(&v);
        let back = yaml::parse(&text).unwrap().to_json();
        prop_assert_eq!(back, v, "{}", text);
    }

    #[test]
    fn expressions_never_panic(expr in "[a-z.?()\\[\\]'\"0-9 =!&|+<>,:{}-]{0,40}") {
        if let Ok(c) = CelExpr::compile(&expr) {
            let vars = serde_json::json!({"a": {"b": [1, 2]}, "s": "x"}).as_object().unwrap().clone();
            let _ = c.eval(&vars, chrono::Utc::now());
        }
        if let Ok(t) = Template::compile(&format!("{{{{ {expr} }}}}")) {
            let _ = t.render_json(&serde_json::json!({"a": 1}));
        }
        let _ = JsonPath::compile(&expr).map(|p| p.get(&serde_json::json!({"a": [1]})));
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z0-9 :#'\"{}.\\-\\n]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z][a-z0-9_]{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
