//! Checking one run against its scenario's expectations: each failed expectation becomes a
//! [`Mismatch`] naming the expectation, its line in the scenario file, what differs and a diff
//! of expected against actual. `--update` writes golden files instead of comparing them.

use super::error::ScenarioError;
use super::load::{CelCheck, Compiled, DocCompiled, FieldCheck, Scenario, read_bounded};
use super::model::{DocCheck, PostActionWord, PreconditionWord, ResourceWord};
use super::path::{Seg, lookup};
use super::view;
use crate::domain::ExecutionResult;
use crate::expr::cel::CelScope;
use crate::expr::manifest::sort_keys;
use crate::textdiff;
use serde_json::{Map, Value};
use std::path::PathBuf;

mod requests;

/// One failed expectation.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Where in the scenario file, e.g. `expect.resources.clusterNamespace`.
    pub label: String,
    /// Its line in the scenario file (0 when unknown).
    pub line: usize,
    /// What differs, in one line.
    pub message: String,
    /// Expected against actual (`-`/`+` lines), or context; may be empty.
    pub diff: String,
}

/// What checking one run found.
#[derive(Debug, Default)]
pub struct Checked {
    pub mismatches: Vec<Mismatch>,
    /// How many expectations were checked.
    pub count: usize,
    /// Golden files `--update` wrote.
    pub updated: Vec<PathBuf>,
}

/// Checks `result` against `scenario`'s expectations.
pub fn check(
    scenario: &Scenario,
    compiled: &Compiled,
    result: &ExecutionResult,
    adapter: (&str, &str),
    update: bool,
) -> Result<Checked, ScenarioError> {
    let view = view::view(result, adapter.0, adapter.1);
    let mut c = Checker {
        scenario,
        scope: CelScope::new(&view, scenario.time),
        view: &view,
        result,
        update,
        out: Checked::default(),
    };
    c.typed();
    let e = &scenario.spec.expect;
    for ((name, check), comp) in e.payloads.iter().zip(&compiled.payloads) {
        c.payload(name, check, comp)?;
    }
    for (i, (r, (url, body))) in e.requests.iter().zip(&compiled.requests).enumerate() {
        c.request(i, r, url, body)?;
    }
    for (i, (r, url)) in e.no_requests.iter().zip(&compiled.no_requests).enumerate() {
        c.no_request(i, &r.method, url);
    }
    let whole = Value::Object(view.clone());
    c.fields(&compiled.fields, &whole);
    c.cels(&compiled.cel, "the outcome", None);
    let mut out = c.out;
    out.mismatches.sort_by_key(|m| m.line);
    Ok(out)
}

struct Checker<'a> {
    scenario: &'a Scenario,
    view: &'a Map<String, Value>,
    scope: CelScope,
    result: &'a ExecutionResult,
    update: bool,
    out: Checked,
}

/// Pretty JSON with sorted keys (stable diffs), or `<absent>`.
fn shown(v: Option<&Value>) -> String {
    match v {
        None => "<absent>".into(),
        Some(v) => serde_json::to_string_pretty(&sort_keys(v)).unwrap_or_default(),
    }
}

/// JSON equality where numbers compare by value (a YAML `3` equals a JSON `3.0`).
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || ((x.is_f64() || y.is_f64()) && x.as_f64() == y.as_f64())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

impl Checker<'_> {
    fn line(&self, segs: &[&str]) -> usize {
        let segs: Vec<Seg> = segs
            .iter()
            .map(|s| match s.parse::<usize>() {
                Ok(n) => Seg::Index(n),
                Err(_) => Seg::Key(s.to_string()),
            })
            .collect();
        self.scenario.line(&segs)
    }

    fn fail(&mut self, label: String, line: usize, message: String, mut diff: String) {
        if !diff.is_empty() && !diff.ends_with('\n') {
            diff.push('\n');
        }
        self.out.mismatches.push(Mismatch {
            label,
            line,
            message,
            diff,
        });
    }

    /// Compares an outcome word; `what` names the step (`resource "x"`), `why` adds the
    /// actual step's error or reason.
    fn word(&mut self, at: &[&str], what: String, expected: &str, actual: &str, why: String) {
        self.out.count += 1;
        if expected == actual {
            return;
        }
        let mut message = format!("{what}: expected {expected}, got {actual}");
        if !why.is_empty() {
            message.push_str(&format!(" ({why})"));
        }
        let diff = textdiff::expected_actual(expected, actual);
        let line = self.line(at);
        self.fail(at.join("."), line, message, diff);
    }

    /// `result`, `preconditions`, `resources`, `post_actions`.
    fn typed(&mut self) {
        let scenario = self.scenario;
        let e = &scenario.spec.expect;
        let r = self.result;
        if let Some(want) = e.result {
            let actual = if r.is_failed() { "failed" } else { "success" };
            let errors: Vec<String> = r
                .errors
                .iter()
                .map(|(p, e)| format!("{}: {e}", p.as_str()))
                .collect();
            let at = ["expect", "result"];
            self.word(
                &at,
                "result".into(),
                want.as_str(),
                actual,
                errors.join("; "),
            );
        }
        for (name, want) in &e.preconditions {
            let found = r.preconditions.iter().find(|p| &p.name == name);
            let actual = found.map_or(PreconditionWord::NotRun, view::precondition_word);
            let why = found
                .map(|p| p.error.clone().unwrap_or_else(|| p.detail.clone()))
                .unwrap_or_default();
            let at = ["expect", "preconditions", name.as_str()];
            let what = format!("precondition {name:?}");
            self.word(&at, what, want.as_str(), actual.as_str(), why);
        }
        for (name, want) in &e.resources {
            let found = r.resources.iter().find(|x| &x.name == name);
            let actual = found.map_or(ResourceWord::NotRun, view::resource_word);
            let why = match found {
                Some(x) => x.error.clone().unwrap_or_default(),
                None if r.resources_skipped => format!("resources skipped: {}", r.skip_reason),
                None => String::new(),
            };
            let at = ["expect", "resources", name.as_str()];
            let what = format!("resource {name:?}");
            self.word(&at, what, want.as_str(), actual.as_str(), why);
        }
        for (name, want) in &e.post_actions {
            let found = r.post_actions.iter().find(|a| &a.name == name);
            let actual = found.map_or(PostActionWord::NotRun, view::post_action_word);
            let why = found
                .map(|a| a.error.clone().unwrap_or_else(|| a.skip_reason.clone()))
                .unwrap_or_default();
            let at = ["expect", "post_actions", name.as_str()];
            let what = format!("post-action {name:?}");
            self.word(&at, what, want.as_str(), actual.as_str(), why);
        }
    }

    fn payload(
        &mut self,
        name: &str,
        check: &DocCheck,
        comp: &DocCompiled,
    ) -> Result<(), ScenarioError> {
        let label = format!("expect.payloads.{name}");
        let Some(doc) = self.view["payloads"].get(name).cloned() else {
            self.out.count += 1;
            let built: Vec<&String> = self.result.payloads.iter().map(|(n, _)| n).collect();
            let line = self.line(&["expect", "payloads", name]);
            let message = format!("no payload {name:?} was built (built: {built:?})");
            self.fail(label, line, message, String::new());
            return Ok(());
        };
        let at = ["expect", "payloads", name];
        self.document(&label, &at, &doc, check, comp)
    }

    fn document(
        &mut self,
        label: &str,
        at: &[&str],
        doc: &Value,
        check: &DocCheck,
        comp: &DocCompiled,
    ) -> Result<(), ScenarioError> {
        self.fields(&comp.fields, doc);
        self.cels(&comp.cel, label, Some(doc));
        if let Some(golden) = &check.golden {
            let line = self.line(&[at, &["golden"][..]].concat());
            self.golden(&format!("{label}.golden"), line, golden, doc)?;
        }
        Ok(())
    }

    fn fields(&mut self, checks: &[FieldCheck], doc: &Value) {
        for f in checks {
            self.out.count += 1;
            let actual = lookup(doc, &f.path);
            if actual.is_some_and(|a| json_eq(&f.expected, a)) {
                continue;
            }
            let (want, got) = (shown(Some(&f.expected)), shown(actual));
            let message = match actual {
                None => format!(
                    "{}: expected {}, but there is no such field",
                    f.text,
                    one_line(&f.expected)
                ),
                Some(a) => format!(
                    "{}: expected {}, got {}",
                    f.text,
                    one_line(&f.expected),
                    one_line(a)
                ),
            };
            self.fail(
                f.label.clone(),
                f.line,
                message,
                textdiff::expected_actual(&want, &got),
            );
        }
    }

    fn cels(&mut self, checks: &[CelCheck], what: &str, doc: Option<&Value>) {
        // Top-level expressions see no `doc` (not the last document checked).
        self.scope.set("doc", doc.unwrap_or(&Value::Null));
        for c in checks {
            self.out.count += 1;
            let context = doc.map(|d| shown(Some(d))).unwrap_or_default();
            match c.expr.eval_in(&self.scope) {
                Ok(Value::Bool(true)) => {}
                Ok(other) => {
                    let message = format!(
                        "CEL `{}` over {what} is {}, expected true",
                        c.expr.source(),
                        one_line(&other)
                    );
                    self.fail(c.label.clone(), c.line, message, context);
                }
                Err(e) => self.fail(c.label.clone(), c.line, e.to_string(), context),
            }
        }
    }

    fn golden(
        &mut self,
        label: &str,
        line: usize,
        rel: &str,
        actual: &Value,
    ) -> Result<(), ScenarioError> {
        self.out.count += 1;
        let path = self.scenario.dir.join(rel);
        let shown_path = path.display().to_string();
        let mut text = serde_json::to_string_pretty(actual).unwrap_or_default();
        text.push('\n');
        if self.update {
            let same = std::fs::read_to_string(&path).is_ok_and(|t| t == text);
            if !same {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|source| ScenarioError::WriteGolden {
                        path: shown_path.clone(),
                        source,
                    })?;
                }
                std::fs::write(&path, &text).map_err(|source| ScenarioError::WriteGolden {
                    path: shown_path.clone(),
                    source,
                })?;
                self.out.updated.push(path);
            }
            return Ok(());
        }
        if !path.exists() {
            let message = format!(
                "golden file {shown_path} does not exist (adapter test --update writes it)"
            );
            self.fail(
                label.into(),
                line,
                message,
                textdiff::expected_actual("", &shown(Some(actual))),
            );
            return Ok(());
        }
        let expected_text = read_bounded(&path)?;
        let expected: Value =
            serde_json::from_str(&expected_text).map_err(|source| ScenarioError::Json {
                path: shown_path.clone(),
                source,
            })?;
        if !json_eq(&expected, actual) {
            let message = format!("the document differs from golden file {shown_path}");
            let d = textdiff::expected_actual(&shown(Some(&expected)), &shown(Some(actual)));
            self.fail(label.into(), line, message, d);
        }
        Ok(())
    }
}

fn one_line(v: &Value) -> String {
    let s = serde_json::to_string(v).unwrap_or_default();
    if s.len() > 120 {
        let mut end = 117;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &s[..end])
    } else {
        s
    }
}
