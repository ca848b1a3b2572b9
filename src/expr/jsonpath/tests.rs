use super::{JsonPath, Numbers};
use serde_json::{Value, json};

fn get(path: &str, v: &Value) -> Value {
    JsonPath::compile(path).unwrap().get(v)
}

#[test]
fn plain_and_braced_paths() {
    let v = json!({"a": {"b": {"c": 3}}, "s": "", "items": [{"adapter": "x", "n": 1}, {"adapter": "y", "n": 2}]});
    assert_eq!(get("a.b.c", &v), json!(3));
    assert_eq!(get(" .a.b.c ", &v), json!(3));
    assert_eq!(get("{.a.b.c}", &v), json!(3));
    assert_eq!(get("s", &v), json!(null), "blank output reads as no value");
    assert_eq!(get("{.items[*].adapter}", &v), json!(["x", "y"]));
    assert_eq!(get("{.items[0].adapter}", &v), json!("x"));
    assert_eq!(get("{.items[-1].n}", &v), json!(2));
    assert_eq!(get("{.items[?(@.adapter=='y')].n}", &v), json!(2));
    assert_eq!(get("{.items[0:1].adapter}", &v), json!("x"));
    assert_eq!(get("{..adapter}", &v), json!(["x", "y"]));
    assert_eq!(get("{.items[?(@.adapter)].n}", &v), json!([1, 2]));
    assert_eq!(get("{.a.b.c}-{.s}", &v), json!([3, "-", ""]));
}

#[test]
fn missing_keys_and_bad_indexes_are_errors_read_as_no_value() {
    let v = json!({"a": null, "l": [1, 2]});
    let p = JsonPath::compile("a.b.c").unwrap();
    assert_eq!(
        p.get(&v),
        json!(null),
        "a null parent is skipped: b is not found"
    );
    assert_eq!(
        p.extract(&v, &Numbers::Floats).unwrap_err().to_string(),
        "failed to execute JSONPath: b is not found"
    );
    let p = JsonPath::compile("{.l[5]}").unwrap();
    assert_eq!(
        p.extract(&v, &Numbers::Floats).unwrap_err().to_string(),
        "failed to execute JSONPath: array index out of bounds: index 5, length 2"
    );
}

#[test]
fn numbers_compare_by_the_kind_the_go_adapter_decodes() {
    let v = json!({"items": [{"n": 1}, {"n": 2}], "resources": {"job": {"items": [{"n": 1}]}}});
    let int_literal = JsonPath::compile("{.items[?(@.n>1)].n}").unwrap();
    // API data holds float64 only: an integer literal cannot be compared with it.
    assert_eq!(int_literal.get(&v), json!(null));
    assert_eq!(int_literal.get_with(&v, &Numbers::Ints), json!(2));
    let float_literal = JsonPath::compile("{.items[?(@.n>1.0)].n}").unwrap();
    assert_eq!(float_literal.get(&v), json!(2));
    let resources = JsonPath::compile("{.resources.job.items[?(@.n==1)].n}").unwrap();
    assert_eq!(
        resources.get_with(&v, &Numbers::IntsUnder(vec!["resources".into()])),
        json!(1)
    );
}

#[test]
fn client_go_parse_errors_are_refused_with_its_text() {
    for (path, err) in [
        ("", "empty field path"),
        ("{.a[", "invalid field path '{.a[': unterminated array"),
        ("{.a.b", "invalid field path '{.a.b': unclosed action"),
        (
            "{.items[x]}",
            "invalid field path '{.items[x]}': invalid array index x",
        ),
        (
            "{#}",
            "invalid field path '{#}': unrecognized character in action: U+0023 '#'",
        ),
        (
            "{....a}",
            "invalid field path '{....a}': invalid multiple recursive descent",
        ),
    ] {
        assert_eq!(
            JsonPath::compile(path).unwrap_err().to_string(),
            err,
            "{path}"
        );
    }
}

#[test]
fn escaped_dots_and_quoted_keys_follow_client_go() {
    let v = json!({"metadata": {"annotations": {"hyperfleet.io/generation": "3", "a": {"b": "nested"}}}});
    assert_eq!(
        get("{.metadata.annotations.hyperfleet\\.io/generation}", &v),
        json!("3")
    );
    // A quoted key is read as a field path again: `['a.b']` is `.a.b`.
    assert_eq!(get("{.metadata.annotations['a.b']}", &v), json!("nested"));
}

#[test]
fn range_never_gives_a_value() {
    let v = json!({"items": [{"name": "a"}]});
    assert_eq!(get("{range .items[*]}{.name}{end}", &v), json!(null));
}

#[test]
fn extreme_indexes_are_errors_not_panics() {
    let v = json!({"l": [1, 2]});
    for path in [
        "{.l[9223372036854775807]}",
        "{.l[-9223372036854775808]}",
        "{.l[0:-9223372036854775808]}",
        "{.l[99999999999999999999]}",
    ] {
        let p = JsonPath::compile(path);
        assert!(p.is_err() || p.unwrap().get(&v) == json!(null), "{path}");
    }
}
