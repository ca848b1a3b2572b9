//! Tests for the positioned YAML tree, scalar resolution, located decoding and the emitter.

use super::*;
use serde::Deserialize;
use serde_json::json;

#[test]
fn resolves_scalars_like_yaml_v3() {
    let doc = "a: 0123\nb: 0x1F\nc: 0o17\nd: 1_000\ne: 1e3\nf: yes\ng: on\nh: ~\ni: 2026-01-01\nj: '5'\nk: true\nl: True\nm: 3.5\nn: -7\no: 18446744073709551615\np: \"\"\nq:\nr: .inf\n";
    let v = parse(doc).unwrap().to_json();
    assert_eq!(v["a"], json!(83));
    assert_eq!(v["b"], json!(31));
    assert_eq!(v["c"], json!(15));
    assert_eq!(v["d"], json!(1000));
    assert_eq!(v["e"], json!(1000.0));
    assert_eq!(v["f"], json!("yes"));
    assert_eq!(v["g"], json!("on"));
    assert_eq!(v["h"], json!(null));
    assert_eq!(v["i"], json!("2026-01-01T00:00:00Z"));
    assert_eq!(v["j"], json!("5"));
    assert_eq!(v["k"], json!(true));
    assert_eq!(v["l"], json!(true));
    assert_eq!(v["m"], json!(3.5));
    assert_eq!(v["n"], json!(-7));
    assert_eq!(v["o"], json!(u64::MAX));
    assert_eq!(v["p"], json!(""));
    assert_eq!(v["q"], json!(null));
    assert!(
        v["r"].is_null() || v["r"].is_string(),
        "infinity is not representable in JSON"
    );
}

#[test]
fn lines_are_tracked_for_paths() {
    let doc = "params:\n  - name: a\n    source: event.id\n  - name: b\n    source:\n      expression: x\n";
    let root = parse(doc).unwrap();
    assert_eq!(root.line_of("params[1].source.expression"), 6);
    assert_eq!(root.line_of("params[1].name"), 4);
    assert_eq!(
        root.line_of("params[1].missing.deeper"),
        4,
        "deepest existing node"
    );
}

#[test]
fn syntax_errors_carry_a_line() {
    let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
    assert!(err.line >= 1, "{err:?}");
    let dup = parse("a: 1\na: 2\n").unwrap_err();
    assert_eq!(dup.line, 2);
    assert_eq!(dup.kind, SyntaxErrorKind::DuplicateKey("a".into()));
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "Outer")]
struct Outer {
    #[serde(default)]
    name: String,
    #[serde(default)]
    count: i64,
    #[serde(default)]
    inner: Option<Inner>,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename = "Inner")]
struct Inner {
    #[serde(default)]
    flag: bool,
}

#[test]
fn every_unknown_key_is_reported_with_its_line() {
    let root = parse("name: x\nnmae: y\ninner:\n  flag: true\n  flg: false\n").unwrap();
    let (v, errs) = decode_collecting::<Outer>(&root);
    assert_eq!(v.unwrap().name, "x");
    let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        msgs,
        vec![
            "line 2: nmae: field nmae not found in type Outer",
            "line 5: inner.flg: field flg not found in type Inner"
        ]
    );
}

#[test]
fn type_errors_are_all_reported() {
    let root = parse("name: [1]\ncount: abc\ninner:\n  flag: maybe\n").unwrap();
    let (_, errs) = decode_collecting::<Outer>(&root);
    let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert!(
        msgs[0].starts_with("line 1: name: cannot unmarshal !!seq into string"),
        "{msgs:?}"
    );
    assert!(
        msgs[1].starts_with("line 2: count: cannot unmarshal !!str `abc` into int"),
        "{msgs:?}"
    );
    assert!(
        msgs[2].starts_with("line 4: inner.flag: cannot unmarshal !!str `maybe` into bool"),
        "{msgs:?}"
    );
}

#[test]
fn plain_numbers_decode_into_string_fields() {
    let root = parse("name: 123\n").unwrap();
    assert_eq!(decode::<Outer>(&root).unwrap().name, "123");
}

#[test]
fn emitter_round_trips_and_quotes_like_yaml_v3() {
    let v = json!({
        "s": "plain", "n": "123", "b": "true", "t": "{{ .x }}", "multi": "a\nb\n", "e": "", "colon": "a: b",
        "list": [1, {"k": "v", "k2": [true]}], "empty": {}, "f": 1000000.0, "lead": "-x", "dash": "- x"
    });
    let text = to_yaml_string(&v);
    assert!(text.contains("n: \"123\"\n"), "{text}");
    assert!(text.contains("b: \"true\"\n"), "{text}");
    assert!(text.contains("t: '{{ .x }}'\n"), "{text}");
    assert!(text.contains("multi: |\n    a\n    b\n"), "{text}");
    assert!(text.contains("f: 1e+06\n"), "{text}");
    assert!(
        text.contains("list:\n    - 1\n    - k: v\n      k2:\n          - true\n"),
        "{text}"
    );
    let back = parse(&text).unwrap().to_json();
    for key in [
        "s", "n", "b", "t", "multi", "e", "colon", "list", "empty", "lead", "dash",
    ] {
        assert_eq!(back[key], v[key], "{key} in\n{text}");
    }
}
