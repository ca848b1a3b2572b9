//! Differential suites: the project's Go templates and Kubernetes JSONPath against the Go
//! reference implementations' answers, frozen in `tests/data/oracle/` by `scripts/oracle-freeze`
//! (which builds the oracles of `../shared/oracles` and regenerates the corpus).
//!
//! Every case is classified; the cases that do not agree are listed, with their class, in
//! `tests/data/oracle/*.known`. A case that disagrees and is not listed (or is listed with another
//! class) fails the test, and so does a listed case that now agrees: the list can only shrink.
//! `HYPERFLEET_ORACLE_BLESS=1 cargo test --test oracle` rewrites the lists from the current
//! behaviour; `-- --nocapture` prints the agreement per category.

use hyperfleet_adapter::expr::convert;
use hyperfleet_adapter::expr::jsonpath::{JsonPath, Numbers};
use hyperfleet_adapter::expr::template::{Template, TemplateError};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/oracle")
}

/// The frozen cases of `name`, their shared documents resolved.
fn cases(name: &str) -> Vec<Map<String, Value>> {
    let shared: Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("data.json")).unwrap()).unwrap();
    std::fs::read_to_string(dir().join(name))
        .unwrap()
        .lines()
        .map(|l| {
            let mut c: Map<String, Value> = serde_json::from_str(l).unwrap();
            if let Some(Value::String(r)) = c.remove("data_ref") {
                c.insert("data".into(), shared[&r].clone());
            }
            c
        })
        .collect()
}

/// How the project's answer compares with Go's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// Same bytes, or the same error in the same phase.
    Agree,
    /// Same as Go with integers decoded as integers: the documented number model.
    AgreeInts,
    /// Both fail in the same phase, with another message.
    Message,
    /// Both fail, in another phase (parse vs execution).
    Phase,
    /// Go fails, the project gives a value: the worst class (silently different data).
    Accepts,
    /// Go gives a value, the project fails.
    Fails,
    /// Both give a value; the values differ.
    Differs,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::Agree => "agree",
            Class::AgreeInts => "agree-ints",
            Class::Message => "message",
            Class::Phase => "phase",
            Class::Accepts => "accepts",
            Class::Fails => "fails",
            Class::Differs => "differs",
        }
    }

    fn agrees(self) -> bool {
        matches!(self, Class::Agree | Class::AgreeInts)
    }
}

/// An answer: `Ok(value)` or `Err((phase, message))`.
type Answer = Result<Value, (String, String)>;

fn go_answer(a: &Value) -> Answer {
    match a.get("error") {
        Some(e) => Err((
            a["phase"].as_str().unwrap_or_default().to_string(),
            e.as_str().unwrap_or_default().to_string(),
        )),
        None => Ok(a["value"].clone()),
    }
}

fn classify(ours: &Answer, go: &Answer, same: impl Fn(&Value, &Value) -> bool) -> Class {
    match (ours, go) {
        (Ok(a), Ok(b)) if same(a, b) => Class::Agree,
        (Ok(_), Ok(_)) => Class::Differs,
        (Err((p, m)), Err((q, n))) if p == q && m == n => Class::Agree,
        (Err((p, _)), Err((q, _))) if p == q => Class::Message,
        (Err(_), Err(_)) => Class::Phase,
        (Ok(_), Err(_)) => Class::Accepts,
        (Err(_), Ok(_)) => Class::Fails,
    }
}

/// Checks the classes against the known list `name`, prints the table, and fails on any change.
/// With `HYPERFLEET_ORACLE_DUMP=DIR`, also writes the project's answers to `DIR/<name>.ours`.
fn judge(name: &str, classes: Vec<(String, String, Class, Answer)>) {
    if let Ok(out) = std::env::var("HYPERFLEET_ORACLE_DUMP") {
        let text: String = classes
            .iter()
            .map(|(id, _, c, a)| {
                let a = match a {
                    Ok(v) => serde_json::json!({"value": v}),
                    Err((p, m)) => serde_json::json!({"phase": p, "error": m}),
                };
                format!(
                    "{}\n",
                    serde_json::json!({"id": id, "class": c.name(), "ours": a})
                )
            })
            .collect();
        std::fs::write(PathBuf::from(out).join(format!("{name}.ours")), text).unwrap();
    }
    let classes: Vec<(String, String, Class)> = classes
        .into_iter()
        .map(|(id, cat, c, _)| (id, cat, c))
        .collect();
    let path = dir().join(name);
    if std::env::var("HYPERFLEET_ORACLE_BLESS").is_ok_and(|v| v == "1") {
        let text: String = classes
            .iter()
            .filter(|(_, _, c)| !c.agrees())
            .map(|(id, _, c)| format!("{id} {}\n", c.name()))
            .collect();
        std::fs::write(&path, text).unwrap();
    }
    let known: BTreeMap<String, String> = std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(id, c)| (id.to_string(), c.to_string()))
        .collect();
    let mut table: BTreeMap<(String, Class), usize> = BTreeMap::new();
    let mut totals: BTreeMap<String, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for (id, cat, class) in &classes {
        *table.entry((cat.clone(), *class)).or_default() += 1;
        *totals.entry(cat.clone()).or_default() += 1;
        match (class.agrees(), known.get(id)) {
            (true, Some(was)) => problems.push(format!(
                "{id}: now agrees (was {was}); remove it from {name}"
            )),
            (false, None) => problems.push(format!("{id}: {} (not in {name})", class.name())),
            (false, Some(was)) if was != class.name() => {
                problems.push(format!("{id}: {} (listed as {was})", class.name()))
            }
            _ => {}
        }
    }
    let all = [
        Class::Agree,
        Class::AgreeInts,
        Class::Message,
        Class::Phase,
        Class::Accepts,
        Class::Fails,
        Class::Differs,
    ];
    let mut report = format!(
        "{name}: category total {}\n",
        all.map(Class::name).join(" ")
    );
    let mut agreeing = 0;
    for (cat, total) in &totals {
        let row: Vec<String> = all
            .iter()
            .map(|c| {
                table
                    .get(&(cat.clone(), *c))
                    .copied()
                    .unwrap_or(0)
                    .to_string()
            })
            .collect();
        let ok = table.get(&(cat.clone(), Class::Agree)).unwrap_or(&0)
            + table.get(&(cat.clone(), Class::AgreeInts)).unwrap_or(&0);
        agreeing += ok;
        report += &format!(
            "  {cat} {total} {} ({:.1}%)\n",
            row.join(" "),
            100.0 * ok as f64 / *total as f64
        );
    }
    report += &format!(
        "  all {} agree {agreeing} ({:.1}%)\n",
        classes.len(),
        100.0 * agreeing as f64 / classes.len() as f64
    );
    eprintln!("{report}");
    assert!(
        problems.is_empty(),
        "{} case(s) changed against {name}:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

fn str_of<'a>(c: &'a Map<String, Value>, k: &str) -> &'a str {
    c.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// Renders as the executor does: `type:` conversions for the keys in `go_types`, then the
/// template against the JSON data.
fn render(c: &Map<String, Value>) -> Answer {
    let mut data = c["data"].clone();
    if let Some(Value::Object(types)) = c.get("go_types") {
        for (k, kind) in types {
            let v = data[k].clone();
            match convert::convert(&v, kind.as_str().unwrap_or_default()) {
                Ok(v) => data[k] = v,
                // The oracle converts as the Go adapter does and reports a failure as a bad
                // request.
                Err(e) => return Err(("request".into(), format!("bad go_types: {e}"))),
            }
        }
    }
    let t = Template::compile(str_of(c, "text")).map_err(|e| match e {
        TemplateError::Parse { .. } => ("compile".to_string(), e.to_string()),
        TemplateError::Execute(_) => ("eval".to_string(), e.to_string()),
    })?;
    t.render_json(&data)
        .map(Value::String)
        .map_err(|e| ("eval".into(), e.to_string()))
}

#[test]
fn templates_agree_with_go_text_template() {
    let classes = cases("template.jsonl")
        .iter()
        .map(|c| {
            let ours = render(c);
            let mut class = classify(&ours, &go_answer(&c["go"]), |a, b| a == b);
            if !class.agrees()
                && let Some(ints) = c.get("go_ints")
                && classify(&ours, &go_answer(ints), |a, b| a == b).agrees()
            {
                class = Class::AgreeInts;
            }
            (
                str_of(c, "id").to_string(),
                str_of(c, "cat").to_string(),
                class,
                ours,
            )
        })
        .collect();
    judge("template.known", classes);
}

/// Equal as the adapter would see them; the matches of a path over map entries (Go's random map
/// order) as multisets.
fn same_extract(unordered: bool) -> impl Fn(&Value, &Value) -> bool {
    move |a, b| {
        if same_json(a, b) {
            return true;
        }
        match (a, b) {
            (Value::Array(x), Value::Array(y)) if unordered && x.len() == y.len() => {
                let mut unused: Vec<&Value> = y.iter().collect();
                x.iter()
                    .all(|v| match unused.iter().position(|w| same_json(v, w)) {
                        Some(i) => {
                            unused.swap_remove(i);
                            true
                        }
                        None => false,
                    })
            }
            _ => false,
        }
    }
}

/// JSON equality with numbers compared by value (Go's float64 `2` is `2`, the project's `2.0`
/// from the same document is the same number).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_json(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn jsonpath_agrees_with_client_go_as_the_adapter_calls_it() {
    let classes = cases("jsonpath.jsonl")
        .iter()
        .map(|c| {
            let go = &c["go"];
            let extract = &go["extract"];
            // What the adapter's ExtractField hands back: a returned error fails the caller; an
            // error it keeps in the field result reads as no value.
            let go_answer: Answer = match extract.get("error") {
                Some(e) if extract["returned"] == Value::Bool(true) => Err((
                    go["phase"].as_str().unwrap_or("compile").to_string(),
                    e.as_str().unwrap_or_default().to_string(),
                )),
                Some(_) => Ok(Value::Null),
                None => Ok(extract["value"].clone()),
            };
            let numbers = match c.get("ints") {
                Some(Value::Bool(true)) => Numbers::Ints,
                Some(Value::Array(keys)) => Numbers::IntsUnder(
                    keys.iter()
                        .filter_map(|k| k.as_str().map(str::to_string))
                        .collect(),
                ),
                _ => Numbers::Floats,
            };
            let ours: Answer = JsonPath::compile(str_of(c, "path"))
                .map(|p| p.get_with(&c["data"], &numbers))
                .map_err(|e| ("compile".to_string(), e.to_string()));
            let unordered = go["unordered"] == Value::Bool(true);
            let class = classify(&ours, &go_answer, same_extract(unordered));
            (
                str_of(c, "id").to_string(),
                str_of(c, "cat").to_string(),
                class,
                ours,
            )
        })
        .collect();
    judge("jsonpath.known", classes);
}
