//! Task config validation: the structural rules (required fields, XORs, name patterns,
//! operators), the semantic rules (CEL parses, template variables, transports, lifecycle) and
//! the scope checks `adapter validate` adds. Every expression is compiled here, once, and kept
//! in [`Compiled`] for the executor.

use super::compiled::Compiled;
use super::env::EnvSource;
use super::problem::Problem;
use super::task::*;
use crate::expr::criteria::OPERATORS;
use crate::expr::template::{TemplateError, all_roots, simple_references};
use crate::expr::{CelExpr, Template, jsonpath::JsonPath};
use crate::yaml::Node;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// Names every template may use without defining them.
pub const TEMPLATE_BUILTINS: &[&str] = &["adapter", "config", "env", "event", "now", "date"];
/// Names every CEL expression may use without defining them.
pub const CEL_BUILTINS: &[&str] = &["adapter", "resources", "event", "env", "config"];

pub(super) struct Validator<'a> {
    file: &'a Path,
    root: &'a Node,
    env: &'a dyn EnvSource,
    pub problems: Vec<Problem>,
    pub compiled: Compiled,
}

fn name_ok(n: &str) -> bool {
    let mut c = n.chars();
    c.next().is_some_and(|f| f.is_ascii_lowercase())
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

impl<'a> Validator<'a> {
    pub fn new(file: &'a Path, root: &'a Node, env: &'a dyn EnvSource) -> Self {
        Validator {
            file,
            root,
            env,
            problems: Vec::new(),
            compiled: Compiled::default(),
        }
    }

    fn err(&mut self, path: &str, message: impl Into<String>) {
        let line = self.root.line_of(path);
        self.problems
            .push(Problem::error(self.file, line, path, message));
    }

    fn warn(&mut self, path: &str, message: impl Into<String>) {
        let line = self.root.line_of(path);
        self.problems
            .push(Problem::warning(self.file, line, path, message));
    }

    fn required(&mut self, path: &str, value: &str) {
        if value.trim().is_empty() {
            self.err(path, format!("{path} is required"));
        }
    }

    fn pattern_name(&mut self, path: &str, value: &str) {
        if value.is_empty() {
            self.err(path, format!("{path} is required"));
        } else if !name_ok(value) {
            self.err(
                path,
                format!("{path} {value:?}: must start with lowercase letter and contain only letters, numbers, underscores (no hyphens)"),
            );
        }
    }

    /// Runs every check over `task`.
    pub fn run(&mut self, task: &TaskConfig) {
        let scope = Scope::of(task);
        if let Some(post) = &task.post {
            self.post_structure(post);
        }
        self.params(task, &scope);
        self.preconditions(task, &scope);
        self.resources(task, &scope);
        if let Some(post) = &task.post {
            self.post_semantics(post, &scope);
        }
    }

    // ---- params -------------------------------------------------------------------------

    fn params(&mut self, task: &TaskConfig, scope: &Scope) {
        let mut earlier: BTreeSet<String> = BTreeSet::new();
        for (i, p) in task.params.iter().enumerate() {
            let base = format!("params[{i}]");
            self.required(&format!("{base}.name"), &p.name);
            match &p.source {
                None => self.err(
                    &format!("{base}.source"),
                    format!("{base}.source is required"),
                ),
                Some(ParamSource::Path(s)) if s.trim().is_empty() => {
                    self.err(
                        &format!("{base}.source"),
                        format!("{base}.source is required"),
                    );
                }
                Some(ParamSource::Path(s)) => {
                    if let Some(var) = s.strip_prefix("env.")
                        && p.required
                        && p.default.is_none()
                        && self.env.var(var).is_none_or(|v| v.is_empty())
                    {
                        self.err(
                            &base,
                            format!("{base}: required environment variable {var} is not set"),
                        );
                    }
                }
                Some(ParamSource::ApiCall(call)) => {
                    let allowed = scope.with_template_builtins(&earlier);
                    self.api_call(&format!("{base}.source.api_call"), call, &allowed);
                }
                Some(ParamSource::Expression(e)) => {
                    let mut allowed: BTreeSet<String> = earlier.clone();
                    allowed.extend(CEL_BUILTINS.iter().map(|s| s.to_string()));
                    self.cel(&format!("{base}.source.expression"), e, Some(&allowed));
                }
                Some(ParamSource::File(f)) => {
                    let path = format!("{base}.source.file.path");
                    if f.path.trim().is_empty() {
                        self.err(&path, format!("{path}: path is required for file source"));
                    } else if !f.path.starts_with('/') {
                        self.warn(&path, format!("{path}: file source path {:?} is not absolute; in container deployments, use absolute paths for mounted volumes", f.path));
                    }
                }
            }
            if let Some(kind) = &p.kind
                && !crate::expr::convert::SUPPORTED.contains(&kind.as_str())
            {
                self.err(
                    &format!("{base}.type"),
                    format!("{base}.type: unsupported type: {kind} (supported: string, int, int64, float, float64, bool)"),
                );
            }
            earlier.insert(p.name.clone());
        }
    }

    // ---- preconditions ------------------------------------------------------------------

    fn preconditions(&mut self, task: &TaskConfig, scope: &Scope) {
        let mut cel_scope = scope.params.clone();
        cel_scope.extend(CEL_BUILTINS.iter().map(|s| s.to_string()));
        for (i, pc) in task.preconditions.iter().enumerate() {
            let base = format!("preconditions[{i}]");
            self.pattern_name(&format!("{base}.name"), &pc.name);
            if pc.api_call.is_none()
                && pc.conditions.is_none()
                && pc.expression.as_deref().is_none_or(|e| e.trim().is_empty())
            {
                self.err(&base, format!("{base}: must specify api_call, conditions"));
            }
            if let Some(call) = &pc.api_call {
                self.warn(&format!("{base}.api_call"), format!(
                    "{base}.api_call: DEPRECATED: precondition {:?} uses api_call directly. Move the api_call block to a params entry with source.api_call instead. Direct api_call on preconditions will be removed in a future release.\n  params:\n    - name: {:?}\n      source:\n        api_call:\n          ...",
                    pc.name, pc.name
                ));
                let allowed = scope.all_template_names();
                self.api_call(&format!("{base}.api_call"), call, &allowed);
                cel_scope.insert(pc.name.clone());
            }
            for (j, cap) in pc.capture.iter().enumerate() {
                let cbase = format!("{base}.capture[{j}]");
                self.required(&format!("{cbase}.name"), &cap.name);
                match (&cap.field, &cap.expression) {
                    (None, None) => self.err(
                        &cbase,
                        format!("{cbase}: must have either 'field' or 'expression' set"),
                    ),
                    (Some(_), Some(_)) => self.err(
                        &cbase,
                        format!("{cbase}: 'field' and 'expression' are mutually exclusive"),
                    ),
                    (Some(f), None) => self.jsonpath(&format!("{cbase}.field"), f),
                    (None, Some(e)) => self.cel(&format!("{cbase}.expression"), e, None),
                }
                cel_scope.insert(cap.name.clone());
            }
            if let Some(conds) = &pc.conditions {
                for (j, c) in conds.iter().enumerate() {
                    self.condition(&format!("{base}.conditions[{j}]"), c);
                }
            }
            if let Some(e) = &pc.expression {
                if pc.conditions.is_some() {
                    self.warn(&format!("{base}.expression"), format!("{base}.expression: ignored because conditions are also set (only conditions are evaluated)"));
                }
                self.cel(&format!("{base}.expression"), e, Some(&cel_scope));
            }
            if let Some(log) = &pc.log {
                self.log_action(&format!("{base}.log"), log, &scope.all_template_names());
            }
        }
    }

    fn condition(&mut self, path: &str, c: &Condition) {
        if c.value.is_some() && c.values.is_some() {
            self.err(
                path,
                format!("{path}: condition has both 'value' and 'values' keys; use only one"),
            );
        }
        let op_path = format!("{path}.operator");
        if c.operator.is_empty() {
            self.err(&op_path, format!("{op_path} is required"));
        } else if !OPERATORS.contains(&c.operator.as_str()) {
            self.err(
                &op_path,
                format!(
                    "{op_path}: invalid operator {:?}, must be one of: {}",
                    c.operator,
                    OPERATORS.join(", ")
                ),
            );
        } else {
            let expected = c.expected();
            match (c.operator.as_str(), expected) {
                ("exists", Some(_)) => self.err(
                    path,
                    format!("{path}: value/values should not be set for operator \"exists\""),
                ),
                ("exists", None) => {}
                (op, None) => self.err(
                    path,
                    format!("{path}: value is required for operator {op:?}"),
                ),
                ("in" | "notIn", Some(v)) if !v.is_array() => {
                    self.err(
                        path,
                        format!("{path}: value must be a list for operator {:?}", c.operator),
                    );
                }
                _ => {}
            }
        }
        self.required(&format!("{path}.field"), &c.field);
        if !c.field.is_empty() {
            self.jsonpath(&format!("{path}.field"), &c.field);
        }
    }

    // ---- resources ----------------------------------------------------------------------

    fn resources(&mut self, task: &TaskConfig, scope: &Scope) {
        let names = scope.all_template_names();
        let mut seen = BTreeSet::new();
        let mut dup = false;
        let mut cel_scope = scope.all_cel_names();
        for (i, r) in task.resources.iter().enumerate() {
            let base = format!("resources[{i}]");
            self.pattern_name(&format!("{base}.name"), &r.name);
            dup |= !r.name.is_empty() && !seen.insert(r.name.clone());
            self.transport(&base, r, &names);
            match &r.discovery {
                None => self.err(
                    &format!("{base}.discovery"),
                    format!("{base}.discovery is required"),
                ),
                Some(d) => self.discovery(&format!("{base}.discovery"), d, &names),
            }
            for (j, nd) in r.nested_discoveries.iter().enumerate() {
                let nbase = format!("{base}.nested_discoveries[{j}]");
                self.pattern_name(&format!("{nbase}.name"), &nd.name);
                match &nd.discovery {
                    None => self.err(
                        &format!("{nbase}.discovery"),
                        format!("{nbase}.discovery is required"),
                    ),
                    Some(d) => self.discovery(&format!("{nbase}.discovery"), d, &names),
                }
            }
            self.manifest(&base, r, &names);
            self.lifecycle(&base, r, &cel_scope);
            cel_scope.insert(r.name.clone());
        }
        if dup {
            self.err("resources", "resources: contains duplicate name values");
        }
    }

    fn transport(&mut self, base: &str, r: &Resource, names: &BTreeSet<String>) {
        let Some(t) = &r.transport else { return };
        let cpath = format!("{base}.transport.client");
        match t.client.as_deref() {
            None | Some("") => self.err(&cpath, format!("{cpath} is required")),
            Some("kubernetes") => {}
            Some("maestro") => {
                let tpath = format!("{base}.transport.maestro.target_cluster");
                match t.maestro.as_ref() {
                    None => self.err(&format!("{base}.transport"), format!("{base}.transport: maestro transport config is required when client is \"maestro\"")),
                    Some(m) => match m.target_cluster.as_deref() {
                        None | Some("") => self.err(&tpath, format!("{tpath} is required")),
                        Some(tc) => self.template(&tpath, tc, names),
                    },
                }
            }
            Some(other) => self.err(
                &cpath,
                format!("{cpath} {other:?} is invalid (allowed: kubernetes, maestro)"),
            ),
        }
    }

    fn discovery(&mut self, path: &str, d: &Discovery, names: &BTreeSet<String>) {
        match (&d.by_name, &d.by_selectors) {
            (None, None) => self.err(
                path,
                format!("{path}: must have either 'by_name' or 'by_selectors' set"),
            ),
            (Some(_), Some(_)) => self.err(
                path,
                format!("{path}: 'by_selectors' and 'by_name' are mutually exclusive"),
            ),
            _ => {}
        }
        if let Some(ns) = &d.namespace {
            self.template(&format!("{path}.namespace"), ns, names);
        }
        if let Some(n) = &d.by_name {
            self.template(&format!("{path}.by_name"), n, names);
        }
        if let Some(sel) = &d.by_selectors {
            let lpath = format!("{path}.by_selectors.label_selector");
            match &sel.label_selector {
                None => self.err(&lpath, format!("{lpath} is required")),
                Some(m) if m.is_empty() => {
                    self.err(&lpath, format!("{lpath}: must have at least 1 element(s)"))
                }
                Some(m) => {
                    for (k, v) in m {
                        self.template(&format!("{lpath}.{k}#key"), k, names);
                        self.template(&format!("{lpath}[{k}]"), v, names);
                    }
                }
            }
        }
    }

    fn manifest(&mut self, base: &str, r: &Resource, names: &BTreeSet<String>) {
        let path = format!("{base}.manifest");
        let Some(m) = &r.manifest else {
            self.err(
                &path,
                format!("{path}: manifest is required for {} transport", r.client()),
            );
            return;
        };
        let text = match m {
            Value::String(s) if s.trim().is_empty() => {
                self.err(
                    &path,
                    format!("{path}: manifest is required for {} transport", r.client()),
                );
                return;
            }
            Value::String(s) => s.clone(),
            // A ref that could not be loaded was already reported.
            Value::Object(_) if crate::config::refs::manifest_ref(m).is_some() => return,
            Value::Object(map) => {
                for key in ["apiVersion", "kind"] {
                    if map
                        .get(key)
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        self.err(
                            &format!("{path}.{key}"),
                            format!("{path}.{key}: {key} is required in the manifest"),
                        );
                    }
                }
                let name = map
                    .get("metadata")
                    .and_then(|md| md.get("name"))
                    .and_then(Value::as_str);
                if name.is_none_or(str::is_empty) {
                    self.err(
                        &format!("{path}.metadata"),
                        format!("{path}.metadata.name: metadata.name is required in the manifest"),
                    );
                }
                crate::expr::manifest::map_to_template_text(m)
            }
            _ => {
                self.err(
                    &path,
                    format!("{path}: manifest must be a mapping, a string or {{ref: <file>}}"),
                );
                return;
            }
        };
        self.template(&path, &text, names);
    }

    fn lifecycle(&mut self, base: &str, r: &Resource, cel_scope: &BTreeSet<String>) {
        let Some(lc) = &r.lifecycle else { return };
        if let Some(c) = &lc.create {
            let p = format!("{base}.lifecycle.create.when.expression");
            match When::expr(&c.when) {
                None => self.err(&p, format!("{p}: lifecycle.create.when.expression is required when lifecycle.create is configured")),
                Some(e) => self.cel(&p, e, Some(cel_scope)),
            }
        }
        if let Some(d) = &lc.delete {
            if let Some(pp) = &d.propagation_policy
                && !matches!(pp.as_str(), "Background" | "Foreground" | "Orphan")
            {
                let p = format!("{base}.lifecycle.delete.propagationPolicy");
                self.err(&p, format!("{p}: invalid propagationPolicy {pp:?}: must be one of Background, Foreground, Orphan"));
            }
            let p = format!("{base}.lifecycle.delete.when.expression");
            match When::expr(&d.when) {
                None => self.err(&p, format!("{p}: lifecycle.delete.when.expression is required: without it the resource will never be deleted")),
                Some(e) => self.cel(&p, e, Some(cel_scope)),
            }
        }
    }

    // ---- post ---------------------------------------------------------------------------

    fn post_structure(&mut self, post: &Post) {
        for (i, p) in post.payloads.iter().enumerate() {
            let base = format!("post.payloads[{i}]");
            self.required(&format!("{base}.name"), &p.name);
            match (&p.build, &p.build_ref) {
                (None, None) => self.err(
                    &base,
                    format!("{base}: must have either 'build' or 'build_ref' set"),
                ),
                (Some(_), Some(_)) => self.err(
                    &base,
                    format!("{base}: 'build' and 'build_ref' are mutually exclusive"),
                ),
                _ => {}
            }
            if p.when.is_some() && When::expr(&p.when).is_none() {
                self.err(
                    &format!("{base}.when.expression"),
                    format!("{base}.when.expression is required"),
                );
            }
        }
        for (i, a) in post.post_actions.iter().enumerate() {
            let base = format!("post.post_actions[{i}]");
            self.pattern_name(&format!("{base}.name"), &a.name);
            if a.when.is_some() && When::expr(&a.when).is_none() {
                self.err(
                    &format!("{base}.when.expression"),
                    format!("{base}.when.expression is required"),
                );
            }
        }
    }

    fn post_semantics(&mut self, post: &Post, scope: &Scope) {
        let names = scope.all_template_names();
        let cel_scope = scope.all_cel_names();
        for (i, p) in post.payloads.iter().enumerate() {
            let base = format!("post.payloads[{i}]");
            if let Some(e) = When::expr(&p.when) {
                self.cel(&format!("{base}.when.expression"), e, Some(&cel_scope));
            }
            if let Some(b) = p.build_def() {
                self.build_value(&format!("{base}.build"), b, &names, &cel_scope);
            }
        }
        let mut action_scope = cel_scope.clone();
        action_scope.extend(post.payloads.iter().map(|p| p.name.clone()));
        for (i, a) in post.post_actions.iter().enumerate() {
            let base = format!("post.post_actions[{i}]");
            if let Some(e) = When::expr(&a.when) {
                self.cel(&format!("{base}.when.expression"), e, Some(&action_scope));
            }
            if let Some(call) = &a.api_call {
                self.api_call(&format!("{base}.api_call"), call, &names);
            }
            if let Some(log) = &a.log {
                self.log_action(&format!("{base}.log"), log, &names);
            }
        }
    }

    /// Walks an inline payload build: `expression` strings are CEL, `field` strings JSONPath,
    /// every other string (and every map key) a template.
    pub fn build_value(
        &mut self,
        path: &str,
        v: &Value,
        names: &BTreeSet<String>,
        cel_scope: &BTreeSet<String>,
    ) {
        match v {
            Value::String(s) => self.template(path, s, names),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.build_value(&format!("{path}[{i}]"), item, names, cel_scope);
                }
            }
            Value::Object(m) if is_value_def(m) => {
                let text = |k: &str| {
                    m.get(k)
                        .and_then(Value::as_str)
                        .filter(|s| !s.trim().is_empty())
                };
                match (text("expression"), text("field")) {
                    (Some(_), Some(_)) => self.err(
                        path,
                        format!("{path}: field and expression are mutually exclusive; only one should be specified"),
                    ),
                    (Some(e), None) => self.cel(&format!("{path}.expression"), e, Some(cel_scope)),
                    (None, Some(f)) => self.jsonpath(&format!("{path}.field"), f),
                    (None, None) => {}
                }
            }
            Value::Object(m) => {
                for (k, val) in m {
                    let child = format!("{path}.{k}");
                    self.template(&format!("{child}#key"), k, names);
                    self.build_value(&child, val, names, cel_scope);
                }
            }
            _ => {}
        }
    }

    // ---- leaves -------------------------------------------------------------------------

    fn api_call(&mut self, base: &str, call: &ApiCall, names: &BTreeSet<String>) {
        let mpath = format!("{base}.method");
        if call.method.is_empty() {
            self.err(&mpath, format!("{mpath} is required"));
        } else if !matches!(
            call.method.as_str(),
            "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
        ) {
            self.err(
                &mpath,
                format!(
                    "{mpath} {:?} is invalid (allowed: GET, POST, PUT, PATCH, DELETE)",
                    call.method
                ),
            );
        }
        let upath = format!("{base}.url");
        if call.url.is_empty() {
            self.err(&upath, format!("{upath} is required"));
        } else {
            self.template_with(&upath, &call.url, names, Template::compile_url);
        }
        if let Some(body) = &call.body {
            self.template(&format!("{base}.body"), body, names);
        }
        for (j, h) in call.headers.iter().enumerate() {
            self.template(&format!("{base}.headers[{j}].value"), &h.value, names);
        }
        if let Some(t) = &call.timeout
            && super::GoDuration::parse(t).is_err()
        {
            self.warn(
                &format!("{base}.timeout"),
                format!("{base}.timeout: failed to parse timeout '{t}', using default timeout"),
            );
        }
    }

    fn log_action(&mut self, base: &str, log: &LogAction, names: &BTreeSet<String>) {
        self.template(&format!("{base}.message"), &log.message, names);
        if !matches!(
            log.level.as_str(),
            "" | "debug" | "info" | "warn" | "warning" | "error"
        ) {
            self.warn(
                &format!("{base}.level"),
                format!(
                    "{base}.level: unknown log level {:?}, info is used",
                    log.level
                ),
            );
        }
    }

    /// Compiles a template and checks its variables: simple references (the Go validator's
    /// check) are errors; other roots that are never defined are warnings.
    pub fn template(&mut self, path: &str, text: &str, names: &BTreeSet<String>) {
        self.template_with(path, text, names, Template::compile);
    }

    /// [`Self::template`] with the compiler to use (URL templates get their guard).
    fn template_with(
        &mut self,
        path: &str,
        text: &str,
        names: &BTreeSet<String>,
        compile: fn(&str) -> Result<Template, TemplateError>,
    ) {
        let clean = path.trim_end_matches("#key");
        match compile(text) {
            Err(e) => {
                let line = match &e {
                    TemplateError::Parse { line: Some(n), .. } => {
                        action_on_line(text, *n).map(|a| self.root.line_of_text(clean, a))
                    }
                    _ => None,
                };
                let line = line.unwrap_or_else(|| self.root.line_of(clean));
                self.problems.push(Problem::error(
                    self.file,
                    line,
                    clean,
                    format!("{clean}: {e}"),
                ));
            }
            Ok(t) => {
                if !t.is_dynamic() {
                    return;
                }
                let mut reported = BTreeSet::new();
                for var in simple_references(text) {
                    if !is_defined(&var, names) && reported.insert(root_of(&var).to_string()) {
                        let line = self.root.line_of_text(clean, &format!(".{var}"));
                        let msg = format!("{clean}: undefined template variable {var:?}");
                        self.problems
                            .push(Problem::error(self.file, line, clean, msg));
                    }
                }
                for root in all_roots(text) {
                    if !names.contains(&root)
                        && root != "resources"
                        && reported.insert(root.clone())
                    {
                        self.warn(clean, format!("{clean}: template variable {root:?} is not defined by any param, capture or payload"));
                    }
                }
                self.compiled.templates.insert(path.to_string(), t);
            }
        }
    }

    /// Compiles a CEL expression; with `scope`, warns about identifiers not in scope there.
    pub fn cel(&mut self, path: &str, expr: &str, scope: Option<&BTreeSet<String>>) {
        match CelExpr::compile(expr) {
            Err(e) => {
                let issues = match &e {
                    crate::expr::CelError::Parse { issues, .. } => issues.clone(),
                    other => other.to_string(),
                };
                self.err(path, format!("{path}: CEL parse error: {issues}"));
            }
            Ok(c) => {
                if let Some(scope) = scope {
                    let bound = comprehension_vars(expr);
                    for v in c.variables() {
                        if !scope.contains(&v) && !bound.contains(&v) {
                            self.warn(path, format!("{path}: CEL identifier {v:?} is not in scope here (not a param, capture or built-in available at this point)"));
                        }
                    }
                }
                self.compiled.cel.insert(path.to_string(), c);
            }
        }
    }

    fn jsonpath(&mut self, path: &str, text: &str) {
        match JsonPath::compile(text) {
            Ok(p) => {
                self.compiled.paths.insert(path.to_string(), p);
            }
            Err(e) => self.err(path, format!("{path}: {e}")),
        }
    }
}

/// Variables bound by comprehension macros (`list.filter(c, ...)`), which are not free.
fn comprehension_vars(expr: &str) -> BTreeSet<String> {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\b(?:all|exists|exists_one|map|filter|sortBy|optMap|optFlatMap|transformList|transformMap)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,(?:\s*([A-Za-z_][A-Za-z0-9_]*)\s*,)?")
            .expect("valid regex")
    });
    let mut out = BTreeSet::new();
    for c in RE.captures_iter(expr) {
        out.insert(c[1].to_string());
        if let Some(m) = c.get(2) {
            out.insert(m.as_str().to_string());
        }
    }
    out
}

fn root_of(var: &str) -> &str {
    var.split('.').next().unwrap_or(var)
}

/// The Go validator's rule: `a.b.c` is defined if `a.b.c` or its root is, or it is
/// `resources.<name>` of a declared resource.
fn is_defined(var: &str, names: &BTreeSet<String>) -> bool {
    if names.contains(var) || names.contains(root_of(var)) {
        return true;
    }
    let mut parts = var.split('.');
    parts.next() == Some("resources")
        && parts
            .next()
            .is_some_and(|r| names.contains(&format!("resources.{r}")))
}

/// The names a task config defines, for template and CEL scope checks.
pub(super) struct Scope {
    pub params: BTreeSet<String>,
    pub captures: BTreeSet<String>,
    pub payloads: BTreeSet<String>,
    pub resources: BTreeSet<String>,
    pub api_preconditions: BTreeSet<String>,
}

impl Scope {
    pub fn of(task: &TaskConfig) -> Scope {
        let params = task.params.iter().map(|p| p.name.clone()).collect();
        let captures = task
            .preconditions
            .iter()
            .flat_map(|p| p.capture.iter().map(|c| c.name.clone()))
            .collect();
        let api_preconditions = task
            .preconditions
            .iter()
            .filter(|p| p.api_call.is_some())
            .map(|p| p.name.clone())
            .collect();
        let payloads = task
            .post
            .iter()
            .flat_map(|p| p.payloads.iter().map(|x| x.name.clone()))
            .collect();
        let mut resources = BTreeSet::new();
        for r in &task.resources {
            resources.insert(r.name.clone());
            resources.extend(r.nested_discoveries.iter().map(|n| n.name.clone()));
        }
        Scope {
            params,
            captures,
            payloads,
            resources,
            api_preconditions,
        }
    }

    fn with_template_builtins(&self, names: &BTreeSet<String>) -> BTreeSet<String> {
        let mut s = names.clone();
        s.extend(TEMPLATE_BUILTINS.iter().map(|x| x.to_string()));
        s
    }

    /// Everything a template may reference (the Go validator's list).
    pub fn all_template_names(&self) -> BTreeSet<String> {
        let mut s = self.with_template_builtins(&self.params);
        s.extend(self.captures.iter().cloned());
        s.extend(self.payloads.iter().cloned());
        s.extend(self.api_preconditions.iter().cloned());
        s.extend(self.resources.iter().map(|r| format!("resources.{r}")));
        s
    }

    /// Everything a CEL expression after the preconditions may reference.
    pub fn all_cel_names(&self) -> BTreeSet<String> {
        let mut s = self.params.clone();
        s.extend(self.captures.iter().cloned());
        s.extend(self.api_preconditions.iter().cloned());
        s.extend(CEL_BUILTINS.iter().map(|x| x.to_string()));
        s
    }
}

/// The first action (`{{ ... }}`) on line `n` (1-based) of a template, to find the line of
/// the file a parse error is on when the template is a whole manifest.
fn action_on_line(text: &str, n: usize) -> Option<&str> {
    let line = text.lines().nth(n.checked_sub(1)?)?;
    let start = line.find("{{")?;
    let end = line[start..]
        .find("}}")
        .map_or(line.len(), |e| start + e + 2);
    Some(&line[start..end])
}
