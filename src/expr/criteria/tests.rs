//! The eight condition operators with the Go adapter's semantics and error texts.

use super::*;
use serde_json::json;

fn ev(op: &str, field: Value, exp: Value) -> Result<bool, CriteriaError> {
    evaluate(
        op,
        &field,
        if exp.is_null() && op == "exists" {
            None
        } else {
            Some(&exp)
        },
    )
}

#[test]
fn equality_is_type_strict() {
    assert_eq!(ev("equals", json!("a"), json!("a")), Ok(true));
    assert_eq!(ev("equals", json!(3), json!(3)), Ok(true));
    assert_eq!(
        ev("equals", json!(3.0), json!(3)),
        Ok(false),
        "float64 never equals an int"
    );
    assert_eq!(ev("equals", json!(null), json!(null)), Ok(true));
    assert_eq!(ev("equals", json!(null), json!("a")), Ok(false));
    assert_eq!(ev("notEquals", json!("a"), json!("b")), Ok(true));
}

#[test]
fn membership() {
    assert_eq!(ev("in", json!("aws"), json!(["aws", "gcp"])), Ok(true));
    assert_eq!(
        ev("notIn", json!("Terminating"), json!(["Active"])),
        Ok(true)
    );
    assert_eq!(
        ev("in", json!("a"), json!("a")),
        Err("expected list to be a slice or array, got string".into())
    );
    assert_eq!(
        evaluate("in", &json!("a"), None),
        Err("expected list cannot be nil".into())
    );
}

#[test]
fn contains_rules() {
    assert_eq!(ev("contains", json!("hello"), json!("ell")), Ok(true));
    assert_eq!(ev("contains", json!(["a", "b"]), json!("b")), Ok(true));
    assert_eq!(ev("contains", json!({"k": 1}), json!("k")), Ok(true));
    assert_eq!(
        ev("contains", json!(null), json!("x")),
        Err("fieldValue cannot be nil".into())
    );
    assert_eq!(
        ev("contains", json!("s"), json!(1)),
        Err("needle must be a string when field is a string".into())
    );
    assert_eq!(
        ev("contains", json!(5), json!("x")),
        Err("contains operator requires string, slice, array, or map field type".into())
    );
}

#[test]
fn numeric_comparisons() {
    assert_eq!(ev("greaterThan", json!(5), json!(3)), Ok(true));
    assert_eq!(ev("greaterThan", json!(3.0), json!(3)), Ok(false));
    assert_eq!(ev("lessThan", json!(-1), json!(0)), Ok(true));
    assert_eq!(
        ev("greaterThan", json!("5"), json!(3)),
        Err("failed to convert field value to number: cannot convert string to float64".into())
    );
    assert_eq!(
        ev("lessThan", json!(1), json!("x")),
        Err(
            "failed to convert comparison value to number: cannot convert string to float64".into()
        )
    );
}

#[test]
fn exists_rules() {
    for (v, want) in [
        (json!(null), false),
        (json!(""), false),
        (json!([]), false),
        (json!({}), false),
        (json!(0), true),
        (json!(false), true),
        (json!("x"), true),
    ] {
        assert_eq!(ev("exists", v.clone(), json!(null)), Ok(want), "{v}");
    }
}

#[test]
fn failure_detail_format() {
    assert_eq!(
        describe_failure(
            "status.phase",
            "equals",
            Some(&json!("Ready")),
            &json!("Pending")
        ),
        "status.phase equals Ready (actual: Pending)"
    );
    assert_eq!(
        describe_failure("x", "exists", None, &json!(null)),
        "x exists <nil> (actual: <nil>)"
    );
}
