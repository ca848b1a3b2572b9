//! Go template tests: missingkey=error, Go printing, the custom function map, reference checks.

use super::*;
use serde_json::json;

fn data() -> Value {
    json!({
        "clusterId": "Cluster-1", "n": 3, "f": 1.5, "big": 1000000.0, "nil": null, "empty": "",
        "m": {"b": "x", "a": 1}, "l": [1, "a", true], "name": "  padded  ", "ts": "2026-03-07T09:05:03Z"
    })
}

fn r(src: &str) -> String {
    render_str(src, &data()).unwrap_or_else(|e| panic!("{src}: {e}"))
}

#[test]
fn literal_text_is_untouched() {
    assert_eq!(r("no actions here }}"), "no actions here }}");
    assert!(!Template::compile("plain").unwrap().is_dynamic());
}

#[test]
fn printing_follows_go() {
    assert_eq!(r("{{ .clusterId }}"), "Cluster-1");
    assert_eq!(r("{{ .n }}"), "3");
    assert_eq!(r("{{ .f }}"), "1.5");
    assert_eq!(r("{{ .nil }}"), "<no value>");
    assert_eq!(r("{{ .m }}"), "map[a:1 b:x]");
    assert_eq!(r("{{ .l }}"), "[1 a true]");
    assert_eq!(
        r("{{ string .big }}"),
        "1e+06",
        "the string function prints %v like Go"
    );
}

#[test]
fn missing_keys_are_errors() {
    let e = render_str("{{ .missing }}", &data()).unwrap_err();
    assert!(matches!(e, TemplateError::Execute(_)));
    assert!(
        e.to_string().starts_with("failed to execute template:"),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("map has no entry for key \"missing\""),
        "Go's wording: {e}"
    );
    let e = render_str("{{ .missing | default \"d\" }}", &data()).unwrap_err();
    assert!(
        e.to_string().contains("missing"),
        "default cannot rescue a missing key: {e}"
    );
    let e = Template::compile("{{ .x ").unwrap_err();
    assert!(
        e.to_string().starts_with("failed to parse template:"),
        "{e}"
    );
}

#[test]
fn custom_functions_with_go_argument_order() {
    assert_eq!(r("{{ .clusterId | lower }}"), "cluster-1");
    assert_eq!(r("{{ upper .clusterId }}"), "CLUSTER-1");
    assert_eq!(r("{{ title \"hello world\" }}"), "Hello World");
    assert_eq!(r("{{ trim .name }}"), "padded");
    assert_eq!(r("{{ trimPrefix .clusterId \"Cluster-\" }}"), "1");
    assert_eq!(r("{{ trimSuffix .clusterId \"-1\" }}"), "Cluster");
    assert_eq!(
        r("{{ \"Cluster-\" | trimPrefix .clusterId }}"),
        "1",
        "piped value is the last argument"
    );
    assert_eq!(r("{{ replace .clusterId \"-\" \"_\" }}"), "Cluster_1");
    assert_eq!(r("{{ contains .clusterId \"ter\" }}"), "true");
    assert_eq!(
        r("{{ hasPrefix .clusterId \"Clu\" }} {{ hasSuffix .clusterId \"2\" }}"),
        "true false"
    );
    assert_eq!(r("{{ quote .clusterId }}"), "\"Cluster-1\"");
    assert_eq!(
        r("{{ .empty | default \"d\" }} {{ .nil | default \"d\" }} {{ .n | default 9 }}"),
        "d d 3"
    );
    assert_eq!(
        r("{{ int \"42\" }} {{ int .f }} {{ int64 \"x\" }}"),
        "42 1 0"
    );
    assert_eq!(r("{{ float \"2.5\" }} {{ float64 .n }}"), "2.5 3");
    assert_eq!(r("{{ string .n }}"), "3");
    let at = chrono::DateTime::parse_from_rfc3339("2026-03-07T09:05:03Z")
        .unwrap()
        .to_utc();
    let dated = crate::expr::tmplfuncs::with_now(at, || {
        r("{{ now | date \"2006-01-02\" }} {{ dateFormat \"15:04\" now }} {{ now.UTC.Year }}")
    });
    assert_eq!(dated, "2026-03-07 09:05 2026");
    // `date` takes a time.Time, as in Go: a string is a type error, not a parsed time.
    let e = render_str("{{ .ts | date \"2006-01-02\" }}", &data()).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("wrong type for value; expected time.Time; got string"),
        "{e}"
    );
    let e = render_str("{{ lower .n }}", &data()).unwrap_err();
    assert!(
        e.to_string()
            .contains("wrong type for value; expected string; got int64"),
        "{e}"
    );
}

#[test]
fn go_builtins_and_control_flow() {
    assert_eq!(r("{{ if eq .n 3 }}three{{ else }}other{{ end }}"), "three");
    assert_eq!(
        r("{{ range $i, $v := .l }}{{ $i }}={{ $v }};{{ end }}"),
        "0=1;1=a;2=true;"
    );
    assert_eq!(r("{{ index .m \"b\" }}"), "x");
    assert_eq!(r("{{ printf \"%s-%d\" .clusterId .n }}"), "Cluster-1-3");
    assert_eq!(r("{{- .n -}}  "), "3");
    assert_eq!(r("{{ len .l }}"), "3");
}

#[test]
fn variable_reference_scans() {
    assert_eq!(
        simple_references("{{ .a.b }} {{ .c | lower }} {{ if .d }}{{ end }}"),
        vec!["a.b", "c"]
    );
    let roots = all_roots("{{ if .d }}{{ index .m \"k.z\" }}{{ $v.x }}{{ end }}{{ .a.b }}");
    assert_eq!(roots, vec!["d", "m", "a"]);
}

#[test]
fn integers_and_floats_compare_by_value_in_both_directions() {
    // `.n` is the JSON integer 3 (a float64 in the Go adapter, where these worked).
    assert_eq!(
        r("{{ eq .n 3.0 }} {{ eq 3.0 .n }} {{ ne .n 3.5 }}"),
        "true true true"
    );
    assert_eq!(
        r("{{ gt .n 0.0 }} {{ lt 2.5 .n }} {{ ge .n 3.0 }} {{ le .f .n }}"),
        "true true true true"
    );
    assert_eq!(
        r("{{ eq .n 1 2 3 }} {{ eq .clusterId \"Cluster-1\" }}"),
        "true true"
    );
    assert_eq!(r("{{ eq .nil .nil }} {{ eq .nil 1 }}"), "true false");
    let err = |src: &str| render_str(src, &data()).unwrap_err().to_string();
    assert!(err("{{ eq .n \"3\" }}").contains("incompatible types for comparison"));
    assert!(err("{{ eq .l .l }}").contains("non-comparable type"));
    assert!(err("{{ lt true false }}").contains("invalid type for comparison"));
}

#[test]
fn conversions_at_the_edges_follow_go() {
    assert_eq!(
        r(
            r#"{{ int "9223372036854775808" }} {{ int64 "-9223372036854775809" }} {{ int " 5" }} {{ int "+5" }}"#
        ),
        "9223372036854775807 -9223372036854775808 0 5"
    );
    assert_eq!(
        r("{{ int 1e20 }} {{ int64 -3.99 }}"),
        "-9223372036854775808 -3"
    );
    assert_eq!(
        r(r#"{{ float "0x1p-2" }} {{ float64 "1_000" }} {{ float "1__0" }} {{ float "x" }}"#),
        "0.25 1000 0 0"
    );
}
