//! One legacy document converted: the envelope unwrapped, `spec`'s children routed to the
//! adapter part and/or the task part by the shape, user names made valid (§3.11), and for each
//! part the converted tree plus the text edits that produce it.

use super::detect::Shape;
use super::edit::{Edits, Source};
use super::report::{ChangeKind, Refusal, Refused};
use super::rewrite::Rules;
use super::tables::{self, Row, V};
use super::walk::{Names, Walker, join, key_like, string_like, valid_name};
use crate::config::version::{VersionCheck, check};
use crate::yaml::{self, Node, NodeKind};

/// One output part: what it must mean, and the edits that produce it from the source.
pub(super) struct Part {
    pub(super) tree: Node,
    pub(super) edits: Edits,
}

/// What the legacy `metadata` held.
#[derive(Debug, Clone, Default)]
pub(super) struct Metadata {
    pub(super) name: Option<String>,
    pub(super) namespace: Option<String>,
    pub(super) labels: Vec<(String, String)>,
}

pub(super) struct Converted<'a> {
    pub(super) adapter: Option<Part>,
    pub(super) task: Option<Part>,
    pub(super) metadata: Metadata,
    pub(super) walker: Walker<'a>,
}

/// Where a `spec` child goes.
enum Route {
    AdapterSection,
    Adapter(&'static Row),
    /// M's `hyperfleetApi` / `kubernetes`: under `clients.` in the adapter file.
    Client(&'static Row),
    Task(&'static Row),
    Inert(&'static str),
}

const M_CLIENTS: &[Row] = &[
    Row {
        old: "hyperfleetApi",
        new: "hyperfleet_api",
        v: V::Map(tables::M_API),
    },
    Row {
        old: "kubernetes",
        new: "kubernetes",
        v: V::Map(tables::M_KUBE),
    },
];

fn route(shape: Shape, key: &str, split: bool) -> Route {
    let find = |rows: &'static [Row], ci: bool| {
        rows.iter().find(|r| {
            if ci {
                r.old.eq_ignore_ascii_case(key)
            } else {
                r.old == key
            }
        })
    };
    let adapter_file = matches!(shape, Shape::EAdapter | Shape::Dump);
    let task_file = matches!(shape, Shape::ETask | Shape::Merged | Shape::Dump)
        || (shape == Shape::EAdapter && split);
    if key == "adapter" || (adapter_file && key.eq_ignore_ascii_case("adapter")) {
        return if shape == Shape::ETask {
            Route::Inert("inert in the task file (the legacy loader ignored it)")
        } else {
            Route::AdapterSection
        };
    }
    if adapter_file && let Some(r) = find(tables::E_ADAPTER, true) {
        return Route::Adapter(r);
    }
    if shape == Shape::Merged
        && let Some(r) = find(M_CLIENTS, false)
    {
        return Route::Client(r);
    }
    if let Some(r) = find(tables::TASK, false) {
        return if task_file {
            Route::Task(r)
        } else {
            Route::Inert(
                "a task key in the adapter file was inert (the legacy loader ignored it; --split moves it to a task file)",
            )
        };
    }
    Route::Inert("inert (the legacy loader ignored it)")
}

fn scalar_text(n: &Node) -> Option<String> {
    n.as_str().map(str::to_string)
}

/// Reads `metadata` (labels lower-cased when Viper read the file).
fn metadata(node: Option<&Node>, lower: bool) -> Metadata {
    let Some(node) = node else {
        return Metadata::default();
    };
    let labels = match node.get("labels").map(|l| &l.kind) {
        Some(NodeKind::Map(entries)) => entries
            .iter()
            .filter_map(|(k, v)| {
                let k = k.as_str()?;
                let k = if lower {
                    k.to_lowercase()
                } else {
                    k.to_string()
                };
                Some((k, scalar_text(v).unwrap_or_default()))
            })
            .collect(),
        _ => Vec::new(),
    };
    Metadata {
        name: node.get("name").and_then(scalar_text),
        namespace: node.get("namespace").and_then(scalar_text),
        labels,
    }
}

fn sanitize(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Some(f) = s.chars().next()
        && f.is_ascii_uppercase()
    {
        s.replace_range(0..1, &f.to_ascii_lowercase().to_string());
    }
    if !s.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
        s = format!("n_{s}");
    }
    s
}

fn names_of<'n>(spec: &'n Node, list: &str, inner: Option<&str>) -> Vec<&'n str> {
    let items = |n: &'n Node| match &n.kind {
        NodeKind::Seq(items) => items.iter().collect::<Vec<_>>(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    let (outer, sub) = match list.split_once('.') {
        Some((a, b)) => (spec.get(a), Some(b)),
        None => (spec.get(list), None),
    };
    let outer = match (outer, sub) {
        (Some(o), Some(b)) => o.get(b),
        (o, _) => o,
    };
    for item in outer.map(items).unwrap_or_default() {
        match inner {
            None => out.extend(item.get("name").and_then(Node::as_str)),
            Some(field) => {
                for sub in item.get(field).map(items).unwrap_or_default() {
                    out.extend(sub.get("name").and_then(Node::as_str));
                }
            }
        }
    }
    out
}

/// The §3.11 renames: invalid precondition and post-action names, and params, captures and
/// preconditions named like a built-in that now hides them (`env`, `event`).
fn plan_names(spec: &Node) -> Names {
    let params = names_of(spec, "params", None);
    let captures = names_of(spec, "preconditions", Some("capture"));
    let preconditions = names_of(spec, "preconditions", None);
    let payloads = names_of(spec, "post.payloads", None);
    let resources = names_of(spec, "resources", None);
    let actions = names_of(spec, "post.postActions", None);
    let mut taken: Vec<String> = [&params, &captures, &preconditions, &payloads, &resources]
        .iter()
        .flat_map(|l| l.iter().map(|s| s.to_string()))
        .collect();
    let builtin = |s: &str| matches!(s, "env" | "event");
    let mut plan = |list: &[&str], pattern: bool| {
        let mut out: Vec<(String, String)> = Vec::new();
        for &old in list {
            if !(builtin(old) || (pattern && !valid_name(old))) || out.iter().any(|(o, _)| o == old)
            {
                continue;
            }
            let base = sanitize(old);
            let mut new = base.clone();
            let mut n = 2;
            while builtin(&new) || (new != old && taken.contains(&new)) {
                new = format!("{base}_{n}");
                n += 1;
            }
            taken.push(new.clone());
            out.push((old.to_string(), new));
        }
        out
    };
    Names {
        params: plan(&params, false),
        captures: plan(&captures, false),
        preconditions: plan(&preconditions, true),
        post_actions: plan(&actions, true),
    }
}

/// Converts one enveloped document.
pub(super) fn convert<'a>(
    src: &'a Source,
    root: &Node,
    shape: Shape,
    walker: Walker<'a>,
    adapter_labels: Option<Vec<(String, String)>>,
) -> Result<Converted<'a>, Refused> {
    let mut w = walker;
    let weak = matches!(shape, Shape::EAdapter | Shape::Dump);
    let NodeKind::Map(entries) = &root.kind else {
        return Err(w.refuse(root.line, "", Refusal::NotAMapping));
    };
    let md = metadata(root.get("metadata"), weak);
    let mut adapter_only = Edits::default();
    let mut task_only = Edits::default();
    let mut spec: Option<(&Node, &Node)> = None;
    for (k, v) in entries {
        let key = k.as_str().unwrap_or_default();
        let ext = src.extent(k);
        match key {
            "apiVersion" | "kind" => w.edits.delete(ext.first, ext.last),
            "metadata" => {
                w.edits.delete(ext.key_line, ext.last);
                task_only.delete(ext.first, ext.key_line - 1);
                metadata_report(&mut w, v, &md, shape);
            }
            "spec" => spec = Some((k, v)),
            _ => w.drop_entry(k, key, "inert (the legacy loader ignored it)"),
        }
    }
    w.report(
        root.line,
        ChangeKind::Move,
        format!(
            "{}: envelope (apiVersion, kind, metadata, spec) removed; spec's keys are now top-level",
            shape.describe()
        ),
    );
    let empty = Node {
        kind: NodeKind::Map(Vec::new()),
        line: root.line,
        col: 1,
    };
    let (spec_key, spec) = spec.unwrap_or((&empty, &empty));
    let NodeKind::Map(children) = &spec.kind else {
        return Err(w.refuse(spec.line, "spec", Refusal::NotAMapping));
    };
    let spec_indent = children
        .first()
        .map_or(2, |(k, _)| src.key_indent(k))
        .max(1);
    if !children.is_empty() {
        let ext = src.extent(spec_key);
        if children[0].0.line <= spec_key.line {
            w.edits.unsupported("spec written in flow style");
        }
        w.edits.delete(spec_key.line, spec_key.line);
        w.edits
            .indent(spec_key.line + 1, ext.last, -(spec_indent as isize));
    }

    if root.get("kind").and_then(Node::as_str) == Some("AdapterDeploymentConfig") {
        w.report(root.line, ChangeKind::Warn, "kind AdapterDeploymentConfig (a sample name no release accepted) read as an AdapterConfig");
    }
    if let Some(NodeKind::Seq(params)) = spec.get("params").map(|p| &p.kind) {
        for (i, p) in params.iter().enumerate() {
            if p.get("source").is_none() {
                return Err(w.refuse(p.line, &format!("spec.params[{i}]"), Refusal::NoSource));
            }
        }
    }
    // Rules for every template and CEL text of the file.
    w.names = plan_names(spec);
    let user = |n: &str| names_of(spec, "params", None).contains(&n);
    w.rules = Rules {
        namespace: (shape == Shape::Merged)
            .then(|| md.namespace.clone())
            .flatten(),
        labels: match shape {
            Shape::ETask => adapter_labels,
            _ => Some(md.labels.clone()),
        },
        user_adapter: user("adapter"),
        user_config: user("config"),
        renames: [&w.names.params, &w.names.captures, &w.names.preconditions]
            .into_iter()
            .flatten()
            .cloned()
            .collect(),
    };
    w.merged = shape == Shape::Merged;

    let mut adapter_out: Vec<(Node, Node)> = Vec::new();
    let mut clients_out: Vec<(Node, Node)> = Vec::new();
    let mut client_keys: Vec<&Node> = Vec::new();
    let mut task_out: Vec<(Node, Node)> = Vec::new();
    let mut adapter_section: Option<(&Node, &Node)> = None;
    for (k, v) in children {
        let key = k.as_str().unwrap_or_default();
        let ext = src.extent(k);
        match route(shape, key, w.opts.split) {
            Route::AdapterSection => {
                adapter_section = Some((k, v));
                task_only.delete(ext.first, ext.last);
            }
            Route::Adapter(row) => {
                if row.old == "log" {
                    w.report(k.line, ChangeKind::Copy, "spec.log -> log (inert in v0.1.x, read now; it changes logging only, LOG_* variables still win)");
                }
                w.weak = weak;
                if let Some(e) = w.entry(row, k, v, "spec")? {
                    adapter_out.push(e);
                }
                w.weak = false;
                task_only.delete(ext.first, ext.last);
            }
            Route::Client(row) => {
                if let Some(e) = w.entry(row, k, v, "spec")? {
                    w.report(
                        k.line,
                        ChangeKind::Move,
                        format!("spec.{key} -> clients.{}", row.new),
                    );
                    clients_out.push(e);
                    client_keys.push(k);
                }
                task_only.delete(ext.first, ext.last);
            }
            Route::Task(row) => {
                if let Some(e) = w.entry(row, k, v, "spec")? {
                    task_out.push(e);
                }
                adapter_only.delete(ext.first, ext.last);
            }
            Route::Inert(why) => {
                if tables::PROPOSAL.contains(&key) {
                    return Err(w.refuse(
                        k.line,
                        &join("spec", key),
                        Refusal::Proposal(key.into()),
                    ));
                }
                w.drop_entry(k, &join("spec", key), why);
            }
        }
    }
    if shape == Shape::Merged
        && let Some(base) = spec.get("hyperfleetApi").and_then(|a| a.get("baseUrl"))
    {
        w.report(
            base.line,
            ChangeKind::Warn,
            "spec.hyperfleetApi.baseUrl was ignored by the merged-format binary (HYPERFLEET_API_BASE_URL only); \
             it is now used when that variable is not set",
        );
    }

    if shape == Shape::Dump {
        w.report(root.line, ChangeKind::Warn, "a debug dump shows ref'd manifests inlined: they stay inline (the ref files cannot be recovered from it); debug_config: true was only set to print the dump, turn it off if not wanted");
    }
    if let Some(NodeKind::Seq(items)) = spec.get("preconditions").map(|p| &p.kind) {
        for (i, p) in items.iter().enumerate() {
            if let Some(call) = p.get("apiCall") {
                w.report(call.line, ChangeKind::Warn, format!(
                    "spec.preconditions[{i}].apiCall kept as a precondition api_call: the current adapter loads it with a deprecation warning; \
                     moving it to a param (source api_call) would not behave the same. A 404 response now stops processing silently where the legacy adapter reported a failed precondition"
                ));
            }
        }
    }
    let wants_adapter = shape != Shape::ETask;
    let wants_task = matches!(shape, Shape::ETask | Shape::Dump) || !task_out.is_empty();
    let adapter = if wants_adapter {
        let name = md
            .name
            .clone()
            .ok_or_else(|| w.refuse(root.line, "metadata.name", Refusal::NoName))?;
        let section = adapter_block(
            &mut w,
            src,
            &mut adapter_only,
            adapter_section,
            &name,
            spec,
            spec_indent,
        )?;
        let mut tree = vec![section];
        tree.extend(adapter_out);
        if !clients_out.is_empty() {
            let first = src.extent(client_keys[0]);
            adapter_only.insert(first.first, vec!["clients:".to_string()]);
            for k in &client_keys {
                let e = src.extent(k);
                adapter_only.indent(e.first, e.last, spec_indent as isize);
            }
            let at = client_keys[0];
            tree.push((
                key_like("clients", at),
                Node {
                    kind: NodeKind::Map(clients_out),
                    line: at.line,
                    col: at.col,
                },
            ));
        }
        let mut edits = w.edits.clone();
        edits.extend(&adapter_only);
        Some(Part {
            tree: map_node(tree, root),
            edits,
        })
    } else {
        None
    };
    let task = if wants_task {
        if wants_adapter {
            w.report(
                root.line,
                ChangeKind::Split,
                "split into an adapter config and a task config (pass both: --config and --task-config)",
            );
        }
        let mut edits = w.edits.clone();
        edits.extend(&task_only);
        Some(Part {
            tree: map_node(task_out, root),
            edits,
        })
    } else {
        None
    };
    Ok(Converted {
        adapter,
        task,
        metadata: md,
        walker: w,
    })
}

fn map_node(entries: Vec<(Node, Node)>, at: &Node) -> Node {
    Node {
        kind: NodeKind::Map(entries),
        line: at.line,
        col: 1,
    }
}

fn metadata_report(w: &mut Walker<'_>, v: &Node, md: &Metadata, shape: Shape) {
    let line = v.line;
    if shape == Shape::ETask {
        w.report(
            line,
            ChangeKind::Drop,
            "metadata.name of the task file: the current format has one name, in the adapter file",
        );
    } else {
        w.report(line, ChangeKind::Move, "metadata.name -> adapter.name");
    }
    if !md.labels.is_empty() {
        w.report(
            line,
            ChangeKind::Drop,
            "metadata.labels (no current equivalent; folded where templates or CEL read them)",
        );
    }
    if md.namespace.is_some() {
        w.report(
            line,
            ChangeKind::Drop,
            "metadata.namespace (no current equivalent; folded where templates or CEL read it)",
        );
    }
    if let NodeKind::Map(entries) = &v.kind {
        for (k, _) in entries {
            let key = k.as_str().unwrap_or_default();
            if !matches!(key, "name" | "labels" | "namespace") {
                w.report(k.line, ChangeKind::Drop, format!("metadata.{key}: inert"));
            }
        }
    }
}

/// The `adapter:` section: `name` from `metadata.name`, `version` kept when the running
/// binary would accept it (§5.9), other keys dropped.
fn adapter_block(
    w: &mut Walker<'_>,
    src: &Source,
    adapter_only: &mut Edits,
    section: Option<(&Node, &Node)>,
    name: &str,
    spec: &Node,
    spec_indent: usize,
) -> Result<(Node, Node), Refused> {
    let name_text = yaml::inline_string(name);
    let mut out: Vec<(Node, Node)> = Vec::new();
    let Some((k, v)) = section else {
        let before = match &spec.kind {
            NodeKind::Map(c) if !c.is_empty() => src.extent(&c[0].0).first,
            _ => src.len() + 1,
        };
        let pad = " ".repeat(spec_indent);
        let mut lines = vec!["adapter:".to_string(), format!("{pad}name: {name_text}")];
        let mut inner = vec![(key_like("name", spec), string_like(name, spec))];
        if let Some(ver) = &w.opts.set_version {
            lines.push(format!("{pad}version: {}", yaml::double_quoted_string(ver)));
            inner.push((key_like("version", spec), string_like(ver, spec)));
        }
        adapter_only.insert(before, lines);
        return Ok((key_like("adapter", spec), map_node(inner, spec)));
    };
    let NodeKind::Map(entries) = &v.kind else {
        return Err(w.refuse(v.line, "spec.adapter", Refusal::NotAMapping));
    };
    let Some((first, _)) = entries.first() else {
        w.edits.unsupported("spec.adapter is empty");
        return Ok((
            key_like("adapter", k),
            map_node(vec![(key_like("name", k), string_like(name, k))], k),
        ));
    };
    let pad = " ".repeat(src.key_indent(first).saturating_sub(spec_indent));
    adapter_only.insert(
        src.extent(first).first,
        vec![format!("{pad}name: {name_text}")],
    );
    out.push((key_like("name", k), string_like(name, k)));
    for (ek, ev) in entries {
        let key = ek.as_str().unwrap_or_default();
        let path = format!("spec.adapter.{key}");
        if key != "version" {
            if key == "name" && ev.as_str() != Some(name) {
                w.report(ek.line, ChangeKind::Warn, format!("spec.adapter.name {:?} differs from metadata.name {name:?}; metadata.name was the one used", ev.as_str().unwrap_or_default()));
            }
            w.drop_entry(ek, &path, "inert (the legacy loader ignored it)");
            continue;
        }
        if let Some(ver) = &w.opts.set_version {
            w.edits.replace_string(src, ev, ver);
            w.report(
                ev.line,
                ChangeKind::Rewrite,
                format!("{path}: set to {ver:?} (--set-version)"),
            );
            out.push((key_like("version", ek), string_like(ver, ev)));
            continue;
        }
        let text = ev.as_str().unwrap_or_default();
        match check(text, &w.opts.binary_version) {
            VersionCheck::Mismatch(m) => {
                w.drop_entry(ek, &path, &format!("omitted: this binary would refuse it ({m}); the field is optional now (--set-version sets one)"));
            }
            _ => {
                w.report(
                    ek.line,
                    ChangeKind::Move,
                    format!("{path} -> adapter.version"),
                );
                out.push((key_like("version", ek), ev.clone()));
            }
        }
    }
    Ok((key_like("adapter", k), map_node(out, k)))
}
