//! CEL as cel-go evaluates it in the Go adapter (no cel-go oracle runs here: each rule comes from
//! cel-go's code and the Go adapter's declarations, `../shared/spec/upstream-behaviour.md` §5).
//! Each row: expression, expected value (`Ok`) or an error (`Err` with a fragment of its text).

use chrono::{TimeZone, Utc};
use hyperfleet_adapter::expr::CelExpr;
use serde_json::{Map, Value, json};

fn vars() -> Map<String, Value> {
    json!({
        "api": {"spec": null, "status": {"conditions": null}, "name": "c1", "count": 3},
        "s": "text",
        "n": 3,
        "d": 3.0,
        "conds": [
            {"type": "Ready", "status": "True", "last_transition_time": "2026-01-01T11:00:00Z"},
            {"type": "Frac", "status": "True", "last_transition_time": "2026-01-01T11:59:59.999999999+00:00"},
            {"type": "Offset", "status": "True", "last_transition_time": "2026-01-01T13:00:00+02:00"},
            {"type": "Lower", "status": "True", "last_transition_time": "2026-01-01t11:00:00z"},
            {"type": "Space", "status": "True", "last_transition_time": "2026-01-01 11:00:00Z"},
            {"type": "Future", "status": "True", "last_transition_time": "2026-01-01T12:00:10Z"}
        ],
        "fb": {"values": [{"name": "phase"}, {"name": "phase", "fieldValue": {"string": "Running"}}]},
        "l": [1, 2, 3],
        "empty": []
    })
    .as_object()
    .unwrap()
    .clone()
}

fn eval(expr: &str) -> Result<Value, String> {
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
    CelExpr::compile(expr)
        .map_err(|e| e.to_string())?
        .eval(&vars(), now)
        .map_err(|e| e.to_string())
}

fn check(rows: &[(&str, Result<Value, &str>)]) {
    let mut wrong = Vec::new();
    for (expr, want) in rows {
        let got = eval(expr);
        let ok = match (&got, want) {
            (Ok(a), Ok(b)) => a == b,
            (Err(e), Err(frag)) => e.contains(frag),
            _ => false,
        };
        if !ok {
            wrong.push(format!("{expr}: got {got:?}, want {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn has_on_null_or_a_scalar_is_false() {
    check(&[
        ("has(api.spec)", Ok(json!(true))),
        ("has(api.spec.x)", Ok(json!(false))),
        ("has(api.spec) && has(api.spec.x)", Ok(json!(false))),
        ("has(api.status.conditions.x)", Ok(json!(false))),
        ("has(s.x)", Ok(json!(false))),
        ("has(n.x)", Ok(json!(false))),
        ("has(api.missing)", Ok(json!(false))),
        ("has(api.name)", Ok(json!(true))),
    ]);
}

#[test]
fn custom_functions_check_argument_types_and_counts() {
    check(&[
        (
            "conditionStatus(null, 'Ready')",
            Err("no matching overload"),
        ),
        ("conditionStatus(conds, 1)", Err("no matching overload")),
        ("conditionStatus(conds)", Err("no matching overload")),
        ("now(1)", Err("no matching overload")),
        (
            "stableFor(conds, 'Ready', 300.0)",
            Err("no matching overload"),
        ),
        ("triState(1, false)", Err("no matching overload")),
        ("dig(api, 1)", Err("no matching overload")),
        ("statusFeedbackValue(fb)", Err("no matching overload")),
        ("conditionStatus(conds, 'Ready')", Ok(json!("True"))),
        ("conditionStatus(empty, 'Ready')", Ok(json!("Unknown"))),
        ("dig(api, 'name')", Ok(json!("c1"))),
        ("triState(false, true)", Ok(json!("False"))),
    ]);
}

#[test]
fn to_json_prints_numbers_as_go_does() {
    check(&[
        ("toJson(3.0)", Ok(json!("3"))),
        ("toJson(d)", Ok(json!("3"))),
        ("toJson(2.5)", Ok(json!("2.5"))),
        ("toJson(n)", Ok(json!("3"))),
        ("toJson([1.0, 2])", Ok(json!("[1,2]"))),
        (
            "toJson({'b': 1.0, 'a': 'x'})",
            Ok(json!(r#"{"a":"x","b":1}"#)),
        ),
        ("toJson(1e21)", Ok(json!("1e+21"))),
        ("toJson(0.000001)", Ok(json!("0.000001"))),
        ("toJson(0.0000001)", Ok(json!("1e-7"))),
        // Not HTML-escaped (docs/compatibility.md: the JSON is for APIs).
        ("toJson('<&>')", Ok(json!(r#""<&>""#))),
    ]);
}

#[test]
fn condition_age_parses_rfc_3339_as_go_does() {
    check(&[
        ("conditionAge(conds, 'Ready')", Ok(json!(3600))),
        ("conditionAge(conds, 'Frac')", Ok(json!(0))),
        ("conditionAge(conds, 'Offset')", Ok(json!(3600))),
        ("conditionAge(conds, 'Lower')", Ok(json!(-1))),
        ("conditionAge(conds, 'Space')", Ok(json!(-1))),
        ("conditionAge(conds, 'Future')", Ok(json!(-10))),
        ("conditionAge(conds, 'Missing')", Ok(json!(-1))),
    ]);
}

#[test]
fn stable_for_and_status_feedback_follow_go() {
    check(&[
        ("stableFor(conds, 'Ready', 3600)", Ok(json!(true))),
        ("stableFor(conds, 'Ready', 3601)", Ok(json!(false))),
        ("stableFor(conds, 'Future', -60)", Ok(json!(true))),
        ("stableFor(conds, 'Lower', -60)", Ok(json!(true))),
        ("stableFor(conds, 'Missing', -60)", Ok(json!(false))),
        ("statusFeedbackValue(fb, 'phase')", Ok(json!("Running"))),
        ("statusFeedbackValue(fb, 'other')", Ok(json!(""))),
    ]);
}

#[test]
fn optional_list_helpers() {
    check(&[
        ("l.first()", Ok(json!(1))),
        ("l.last()", Ok(json!(3))),
        ("empty.first().hasValue()", Ok(json!(false))),
        ("l.first().orValue(0)", Ok(json!(1))),
        (
            "optional.unwrap([optional.of(1), optional.none(), optional.of(3)])",
            Ok(json!([1, 3])),
        ),
    ]);
}

#[test]
fn has_looks_through_optionals() {
    check(&[
        ("has(api.?status.conditions)", Ok(json!(true))),
        ("has(api.?status.x)", Ok(json!(false))),
        ("has(api.?missing.x)", Ok(json!(false))),
        ("has(api.?spec.x)", Ok(json!(false))),
        ("has(l.x)", Ok(json!(false))),
        ("has({'a': 1}.a)", Ok(json!(true))),
    ]);
}

#[test]
fn dig_walks_maps_lists_and_everything_else_as_json() {
    check(&[
        ("dig(api, 'status.conditions')", Ok(json!(null))),
        ("dig(api, 'status.conditions.x')", Ok(json!(null))),
        ("dig(api, ' name ')", Ok(json!("c1"))),
        ("dig(api, '')", Ok(vars()["api"].clone())),
        ("dig(conds, '0.type')", Ok(json!("Ready"))),
        ("dig(conds, '9.type')", Ok(json!(null))),
        ("dig(conds, 'x')", Ok(json!(null))),
        ("dig(s, 'x')", Ok(json!(null))),
        ("dig(api, 'name.x')", Ok(json!(null))),
        // Not plain JSON on the way: an optional is read as its value, a map's non-string
        // keys as their text, a timestamp as its RFC 3339 text.
        ("dig(api.?status, 'conditions')", Ok(json!(null))),
        ("dig(optional.of({'a': {'b': 1}}), 'a.b')", Ok(json!(1))),
        ("dig({1: 'one'}, '1')", Ok(json!("one"))),
        (
            "dig({'t': timestamp('2026-01-01T00:00:00Z')}, 't')",
            Ok(json!("2026-01-01T00:00:00Z")),
        ),
        ("dig({'a': [1, {'b': true}]}, 'a.1.b')", Ok(json!(true))),
        ("dig(api)", Err("no matching overload")),
        ("dig(api, 'a', 'b')", Err("no matching overload")),
    ]);
}
