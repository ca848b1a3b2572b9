//! CEL tests: the language features the corpus uses, the custom functions and the number rule.

use super::*;
use chrono::TimeZone;
use serde_json::json;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

fn vars() -> Map<String, Value> {
    json!({
        "clusterId": "c1",
        "generation": 5,
        "ratio": 0.5,
        "enabled": true,
        "tags": ["b", "a", "b"],
        "cluster": {
            "name": "one",
            "spec": {"provider": "aws", "node_pools": [{"name": "p2", "replicas": 3}, {"name": "p1", "replicas": 1}]},
            "status": {"conditions": [
                {"type": "Ready", "status": "True", "last_transition_time": "2026-01-01T11:00:00Z"},
                {"type": "Reconciled", "status": "False", "last_transition_time": "bad"}
            ]}
        },
        "resources": {"ns": {"metadata": {"name": "c1"}, "status": {"phase": "Active"}}},
        "adapter": {"executionStatus": "success", "resourcesSkipped": false, "executionError": null},
        "fb": {"values": [{"name": "phase", "fieldValue": {"type": "String", "string": "Running"}}]}
    })
    .as_object()
    .unwrap()
    .clone()
}

fn eval(expr: &str) -> Value {
    CelExpr::compile(expr)
        .unwrap()
        .eval(&vars(), now())
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
}

#[test]
fn basics_and_macros() {
    assert_eq!(eval("clusterId == 'c1'"), json!(true));
    assert_eq!(
        eval("generation + 1"),
        json!(6),
        "JSON integers are CEL ints"
    );
    assert_eq!(eval("generation > 4 && ratio < 1.0"), json!(true));
    assert_eq!(eval("clusterId in ['c1', 'c2']"), json!(true));
    assert_eq!(
        eval("cluster.spec.node_pools.map(p, p.name)"),
        json!(["p2", "p1"])
    );
    assert_eq!(
        eval("cluster.spec.node_pools.filter(p, p.replicas > 2).size()"),
        json!(1)
    );
    assert_eq!(
        eval("cluster.spec.node_pools.exists(p, p.name == 'p1')"),
        json!(true)
    );
    assert_eq!(
        eval("cluster.spec.node_pools.all(p, p.replicas > 0)"),
        json!(true)
    );
    assert_eq!(eval("has(cluster.spec.provider)"), json!(true));
    assert_eq!(eval("has(cluster.spec.region)"), json!(false));
    assert_eq!(eval("enabled ? 'yes' : 'no'"), json!("yes"));
    assert_eq!(eval("string(generation) + '-' + clusterId"), json!("5-c1"));
    assert_eq!(
        eval(
            "(timestamp('2026-01-01T12:00:10Z') - timestamp('2026-01-01T12:00:00Z')).getSeconds()"
        ),
        json!(10)
    );
}

#[test]
fn optional_syntax() {
    assert_eq!(
        eval("resources.?ns.?status.?phase.orValue('')"),
        json!("Active")
    );
    assert_eq!(
        eval("resources.?missing.?status.?phase.orValue('none')"),
        json!("none")
    );
    assert_eq!(eval("!resources.?missing.hasValue()"), json!(true));
    assert_eq!(
        eval("adapter.?executionError.?message.orValue('no details')"),
        json!("no details")
    );
}

#[test]
fn strings_and_lists_extensions() {
    assert_eq!(eval("'a-b-c'.split('-')"), json!(["a", "b", "c"]));
    assert_eq!(eval("'ABC'.lowerAscii()"), json!("abc"));
    assert_eq!(eval("tags.distinct()"), json!(["b", "a"]));
    assert_eq!(eval("tags.distinct().sort()"), json!(["a", "b"]));
    assert_eq!(eval("tags.slice(0, 1)"), json!(["b"]));
    assert_eq!(eval("[[1], [2, 3]].flatten()"), json!([1, 2, 3]));
    assert_eq!(
        eval("cluster.spec.node_pools.sortBy(p, p.replicas).map(p, p.name)"),
        json!(["p1", "p2"])
    );
}

#[test]
fn custom_functions() {
    assert_eq!(eval("now()"), json!("2026-01-01T12:00:00Z"));
    assert_eq!(
        eval("timestamp(now()) > timestamp('2025-01-01T00:00:00Z')"),
        json!(true)
    );
    assert_eq!(
        eval("toJson(resources.ns.metadata)"),
        json!("{\"name\":\"c1\"}")
    );
    assert_eq!(eval("dig(cluster, 'spec.node_pools.1.name')"), json!("p1"));
    assert_eq!(eval("dig(cluster, 'spec.missing.x')"), json!(null));
    assert_eq!(
        eval("conditionStatus(cluster.status.conditions, 'Ready')"),
        json!("True")
    );
    assert_eq!(
        eval("conditionStatus(cluster.status.conditions, 'Gone')"),
        json!("Unknown")
    );
    assert_eq!(
        eval("conditionAge(cluster.status.conditions, 'Ready')"),
        json!(3600)
    );
    assert_eq!(
        eval("conditionAge(cluster.status.conditions, 'Reconciled')"),
        json!(-1)
    );
    assert_eq!(eval("conditionAge([], 'Ready')"), json!(-1));
    assert_eq!(
        eval("stableFor(cluster.status.conditions, 'Ready', 600)"),
        json!(true)
    );
    assert_eq!(
        eval("stableFor(cluster.status.conditions, 'Ready', 7200)"),
        json!(false)
    );
    assert_eq!(
        eval("stableFor(cluster.status.conditions, 'Reconciled', 0)"),
        json!(false)
    );
    assert_eq!(eval("statusFeedbackValue(fb, 'phase')"), json!("Running"));
    assert_eq!(eval("statusFeedbackValue(fb, 'other')"), json!(""));
    assert_eq!(eval("statusFeedbackValue('x', 'phase')"), json!(""));
    assert_eq!(eval("triState(true, true)"), json!("True"));
    assert_eq!(eval("triState(false, true)"), json!("False"));
    assert_eq!(eval("triState(false, false)"), json!("Unknown"));
}

#[test]
fn errors_and_truthiness() {
    let e = CelExpr::compile("this is not valid CEL !!!").unwrap_err();
    assert!(
        e.to_string().starts_with("CEL parse error for expression"),
        "{e}"
    );
    assert!(
        e.to_string().contains("ERROR: <input>:1:6: Syntax error"),
        "{e}"
    );
    let missing = CelExpr::compile("cluster.nope.x")
        .unwrap()
        .eval(&vars(), now())
        .unwrap_err();
    assert!(
        missing.to_string().contains("No such key: nope"),
        "{missing}"
    );
    let undeclared = CelExpr::compile("nothere == 1")
        .unwrap()
        .eval(&vars(), now())
        .unwrap_err();
    assert!(matches!(undeclared, CelError::Eval { .. }));
    assert_eq!(
        CelExpr::compile("   ")
            .unwrap()
            .eval(&vars(), now())
            .unwrap(),
        json!(true)
    );
    for (v, m) in [
        (json!(true), true),
        (json!(false), false),
        (json!(null), false),
        (json!(""), false),
        (json!("false"), true),
        (json!(0), true),
        (json!(0.0), true),
        (json!([]), false),
        (json!({"a": 1}), true),
    ] {
        assert_eq!(matched(&v), m, "{v}");
    }
}

#[test]
fn reports_referenced_variables() {
    let c = CelExpr::compile("a.b > 1 && c.exists(x, x == d)").unwrap();
    let vars = c.variables();
    assert!(
        vars.contains(&"a".to_string())
            && vars.contains(&"c".to_string())
            && vars.contains(&"d".to_string()),
        "{vars:?}"
    );
}

#[test]
fn to_val_is_to_cel_converted() {
    let cases = [
        json!(null),
        json!(true),
        json!(-3),
        json!(u64::MAX),
        json!(0.5),
        json!(1e300),
        json!("text"),
        json!([1, "a", [null, 2.5], {"k": false}]),
        Value::Object(vars()),
    ];
    for v in cases {
        let direct = Cel::try_from(to_val(&v).as_ref()).unwrap();
        assert_eq!(direct, to_cel(&v), "{v}");
    }
}
