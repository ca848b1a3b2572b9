//! The walk over one legacy region: each key is looked up in the mapping tables, its value
//! converted, and the same decision is made twice — on the converted tree (what the output must
//! mean) and as a text edit (what the output looks like).

use super::Options;
use super::edit::{Edits, Source};
use super::report::{Change, ChangeKind, Refusal, Refused};
use super::rewrite::{RewriteError, Rules};
use super::tables::{self, Row, Sp, V};
use crate::yaml::{Node, NodeKind};
use serde_json::Value;
use std::path::PathBuf;

/// A `manifest.ref` or `build_ref` file the task names.
#[derive(Debug, Clone, PartialEq)]
pub struct RefRequest {
    pub path: String,
    pub build: bool,
    pub line: usize,
}

/// Renames of user-chosen names (§3.11, §5.6), by the kind of name.
#[derive(Debug, Clone, Default)]
pub(super) struct Names {
    pub(super) preconditions: Vec<(String, String)>,
    pub(super) post_actions: Vec<(String, String)>,
    pub(super) params: Vec<(String, String)>,
    pub(super) captures: Vec<(String, String)>,
}

pub(super) struct Walker<'a> {
    pub(super) src: &'a Source,
    pub(super) file: PathBuf,
    pub(super) opts: &'a Options,
    pub(super) rules: Rules,
    pub(super) names: Names,
    pub(super) edits: Edits,
    pub(super) changes: Vec<Change>,
    /// Viper's rules: case-insensitive keys and weak typing (E adapter file).
    pub(super) weak: bool,
    /// Shape M: relative API URLs were joined to the base URL verbatim.
    pub(super) merged: bool,
    pub(super) refs: Vec<RefRequest>,
    resource_names: Vec<String>,
    pub(super) manifest_work: Option<(Node, Node)>,
}

pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// A key node with new text, at the old key's position.
pub(super) fn key_like(text: &str, at: &Node) -> Node {
    Node {
        kind: NodeKind::Scalar {
            text: text.to_string(),
            plain: true,
            tag: None,
        },
        line: at.line,
        col: at.col,
    }
}

/// A string node (never resolved to another type) at `at`'s position.
pub(super) fn string_like(text: &str, at: &Node) -> Node {
    Node {
        kind: NodeKind::Scalar {
            text: text.to_string(),
            plain: false,
            tag: None,
        },
        line: at.line,
        col: at.col,
    }
}

/// A plain scalar (a typed value such as `true` or `4`) at `at`'s position.
pub(super) fn raw_like(text: &str, at: &Node) -> Node {
    key_like(text, at)
}

/// Whether a name matches `^[a-z][a-zA-Z0-9_]*$`.
pub(super) fn valid_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_lowercase())
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl<'a> Walker<'a> {
    pub(super) fn new(src: &'a Source, file: PathBuf, opts: &'a Options) -> Self {
        Walker {
            src,
            file,
            opts,
            rules: Rules::default(),
            names: Names::default(),
            edits: Edits::default(),
            changes: Vec::new(),
            weak: false,
            merged: false,
            refs: Vec::new(),
            resource_names: Vec::new(),
            manifest_work: None,
        }
    }

    pub(super) fn refuse(&self, line: usize, path: &str, reason: Refusal) -> Refused {
        Refused {
            file: self.file.clone(),
            line,
            path: path.to_string(),
            reason: Box::new(reason),
        }
    }

    pub(super) fn report(&mut self, line: usize, kind: ChangeKind, message: impl Into<String>) {
        self.changes.push(Change {
            file: self.file.clone(),
            line,
            kind,
            message: message.into(),
        });
    }

    /// Deletes an entry from the text and reports why.
    pub(super) fn drop_entry(&mut self, key: &Node, path: &str, why: &str) {
        if !self.src.key_starts_line(key) {
            self.edits.unsupported(format!(
                "line {}: {path} cannot be removed as text",
                key.line
            ));
        }
        let ext = self.src.extent(key);
        self.edits.delete(ext.first, ext.last);
        self.report(key.line, ChangeKind::Drop, format!("{path}: {why}"));
    }

    pub(super) fn rewrite_err(&self, node: &Node, path: &str, e: RewriteError) -> Refused {
        self.refuse(node.line, path, Refusal::Rewrite(e))
    }

    /// Converts a mapping region by its rows.
    pub(super) fn map(&mut self, node: &Node, rows: &[Row], path: &str) -> Result<Node, Refused> {
        let NodeKind::Map(entries) = &node.kind else {
            return Ok(node.clone());
        };
        let mut out: Vec<(Node, Node)> = Vec::new();
        let mut matched: Vec<(&str, &str)> = Vec::new();
        for (k, v) in entries {
            let key = k.as_str().unwrap_or_default();
            let row = rows.iter().find(|r| {
                if self.weak {
                    r.old.eq_ignore_ascii_case(key)
                } else {
                    r.old == key
                }
            });
            let Some(row) = row else {
                self.unknown(k, v, rows, entries, path, &mut out)?;
                continue;
            };
            if let Some((_, other)) = matched.iter().find(|(o, _)| *o == row.old) {
                return Err(self.refuse(
                    k.line,
                    path,
                    Refusal::CaseCollision(other.to_string(), key.to_string()),
                ));
            }
            matched.push((row.old, key));
            if let Some(e) = self.entry(row, k, v, path)? {
                out.push(e);
            }
        }
        Ok(Node {
            kind: NodeKind::Map(out),
            ..node.clone()
        })
    }

    /// Converts one entry by its row: the value, and the key renamed in text and tree.
    pub(super) fn entry(
        &mut self,
        row: &Row,
        k: &Node,
        v: &Node,
        path: &str,
    ) -> Result<Option<(Node, Node)>, Refused> {
        let key = k.as_str().unwrap_or_default();
        let p = join(path, key);
        let Some(value) = self.value(row, k, v, &p)? else {
            return Ok(None);
        };
        if key != row.new {
            self.edits.rename_key(self.src, k, row.new);
            let how = if key != row.old {
                " (matched case-insensitively, as the legacy loader did)"
            } else {
                ""
            };
            self.report(
                k.line,
                ChangeKind::Rename,
                format!("{p} -> {}{how}", row.new),
            );
        }
        Ok(Some((key_like(row.new, k), value)))
    }

    pub(super) fn unknown(
        &mut self,
        k: &Node,
        v: &Node,
        rows: &[Row],
        siblings: &[(Node, Node)],
        path: &str,
        out: &mut Vec<(Node, Node)>,
    ) -> Result<(), Refused> {
        let key = k.as_str().unwrap_or_default();
        let p = join(path, key);
        let proposal =
            tables::PROPOSAL.contains(&key) || (path.ends_with("post") && key == "params");
        if proposal {
            return Err(self.refuse(k.line, &p, Refusal::Proposal(key.to_string())));
        }
        let gained = tables::current_spelling(rows, key)
            || tables::GAINED_MEANING.contains(&key)
            || (tables::is_merged_api(rows) && key == "version");
        if !gained {
            self.drop_entry(k, &p, "inert (the legacy loader ignored it)");
            return Ok(());
        }
        let legacy_twin = rows
            .iter()
            .any(|r| r.new == key && siblings.iter().any(|(s, _)| s.as_str() == Some(r.old)));
        if self.opts.keep_inert && !legacy_twin {
            self.report(
                k.line,
                ChangeKind::Warn,
                format!("{p}: inert in the legacy loader but active now; kept (--keep-inert)"),
            );
            out.push((k.clone(), v.clone()));
            return Ok(());
        }
        let why = if legacy_twin {
            "inert duplicate of its legacy spelling, which the legacy loader read"
        } else {
            "inert in the legacy loader but active in the current format; dropped (--keep-inert keeps it)"
        };
        self.drop_entry(k, &p, why);
        Ok(())
    }

    fn seq(&mut self, node: &Node, rows: &[Row], path: &str) -> Result<Node, Refused> {
        let NodeKind::Seq(items) = &node.kind else {
            return Ok(node.clone());
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let converted = self.map(item, rows, &p)?;
            out.push(if tables::is_resource(rows) {
                self.finish_resource(item, converted, &p)?
            } else {
                converted
            });
        }
        Ok(Node {
            kind: NodeKind::Seq(out),
            ..node.clone()
        })
    }

    fn value(
        &mut self,
        row: &Row,
        k: &Node,
        v: &Node,
        path: &str,
    ) -> Result<Option<Node>, Refused> {
        match row.v {
            V::Copy | V::Free => Ok(Some(v.clone())),
            V::Str if self.weak => Ok(Some(self.quote_text(v, path))),
            V::Str => Ok(Some(v.clone())),
            V::Bool | V::Int | V::Float | V::Duration | V::DurationText if self.weak => {
                self.coerce(row.v, k, v, path)
            }
            V::Bool | V::Int | V::Float | V::Duration | V::DurationText => Ok(Some(v.clone())),
            V::Template => self.text(v, path, Rules::template).map(Some),
            V::Cel => self.text(v, path, Rules::cel).map(Some),
            V::Path => self.text(v, path, Rules::field_path).map(Some),
            V::Map(rows) => self.map(v, rows, path).map(Some),
            V::Seq(rows) => self.seq(v, rows, path).map(Some),
            V::Special(sp) => self.special(sp, k, v, path),
        }
    }

    /// Rewrites one string value with `f`, in the tree and in the text.
    pub(super) fn text(
        &mut self,
        v: &Node,
        path: &str,
        f: fn(&Rules, &str) -> Result<Option<String>, RewriteError>,
    ) -> Result<Node, Refused> {
        let Value::String(s) = v.to_json() else {
            return Ok(v.clone());
        };
        match f(&self.rules, &s).map_err(|e| self.rewrite_err(v, path, e))? {
            None => Ok(v.clone()),
            Some(new) => {
                self.edits.replace_string(self.src, v, &new);
                let kind = if s.contains("metadata.namespace") || s.contains("metadata.labels") {
                    ChangeKind::Fold
                } else {
                    ChangeKind::Rewrite
                };
                self.report(v.line, kind, format!("{path}: {s:?} -> {new:?}"));
                Ok(string_like(&new, v))
            }
        }
    }

    /// Template rewrites of every string and key of a free-form region (manifests, labels).
    pub(super) fn free_templates(
        &mut self,
        node: &Node,
        path: &str,
        build: Option<&str>,
    ) -> Result<Node, Refused> {
        match &node.kind {
            NodeKind::Scalar { .. } => {
                let f: fn(&Rules, &str) -> Result<Option<String>, RewriteError> = match build {
                    Some("expression") => Rules::cel,
                    Some("field") => Rules::field_path,
                    _ => Rules::template,
                };
                self.text(node, path, f)
            }
            NodeKind::Seq(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let ctx = build.map(|_| "");
                    out.push(self.free_templates(item, &format!("{path}[{i}]"), ctx)?);
                }
                Ok(Node {
                    kind: NodeKind::Seq(out),
                    ..node.clone()
                })
            }
            NodeKind::Map(entries) => {
                let mut out = Vec::new();
                for (k, v) in entries {
                    let key = k.as_str().unwrap_or_default().to_string();
                    let p = join(path, &key);
                    let new_key = self.text(k, &p, Rules::template)?;
                    let ctx = build.map(|_| key.as_str());
                    out.push((new_key, self.free_templates(v, &p, ctx)?));
                }
                Ok(Node {
                    kind: NodeKind::Map(out),
                    ..node.clone()
                })
            }
        }
    }

    /// The content of a `ref` file: a manifest (templates) or a payload build.
    pub(super) fn ref_content(&mut self, root: &Node, build: bool) -> Result<Node, Refused> {
        self.free_templates(root, "", build.then_some(""))
    }

    fn special(&mut self, sp: Sp, k: &Node, v: &Node, path: &str) -> Result<Option<Node>, Refused> {
        match sp {
            Sp::ParamSource => self.param_source(v, path).map(Some),
            Sp::ParamName => self.name(v, path, Kind::Param).map(Some),
            Sp::PreconditionName => self.name(v, path, Kind::Precondition).map(Some),
            Sp::PostActionName => self.name(v, path, Kind::PostAction).map(Some),
            Sp::CaptureName => self.name(v, path, Kind::Capture).map(Some),
            Sp::ResourceName => self.resource_name(v, path).map(Some),
            Sp::Url => self.url(v, path).map(Some),
            Sp::Conditions => self.conditions(v, path).map(Some),
            Sp::Manifest => self.manifest(v, path).map(Some),
            Sp::ManifestWork => {
                self.manifest_work = Some((k.clone(), v.clone()));
                Ok(None)
            }
            Sp::Namespace => {
                if v.as_str() == Some("*") {
                    if self.opts.fix_star_namespace {
                        self.drop_entry(
                            k,
                            path,
                            "\"*\" never meant all namespaces (--fix-star-namespace)",
                        );
                        return Ok(None);
                    }
                    self.report(
                        v.line,
                        ChangeKind::Warn,
                        format!("{path}: \"*\" is a literal namespace name in every version (not all namespaces); kept (--fix-star-namespace removes it)"),
                    );
                }
                self.text(v, path, Rules::template).map(Some)
            }
            Sp::Labels => self.free_templates(v, path, None).map(Some),
            Sp::Build => self.free_templates(v, path, Some("")).map(Some),
            Sp::BuildRef => {
                if let Some(p) = v.as_str() {
                    self.refs.push(RefRequest {
                        path: p.to_string(),
                        build: true,
                        line: v.line,
                    });
                }
                Ok(Some(v.clone()))
            }
        }
    }

    fn param_source(&mut self, v: &Node, path: &str) -> Result<Node, Refused> {
        let Value::String(s) = v.to_json() else {
            return Err(self.refuse(
                v.line,
                path,
                Refusal::BadValue {
                    field: path.to_string(),
                    value: v.to_json().to_string(),
                    why: "a param source was a string in every legacy version".into(),
                },
            ));
        };
        if s.is_empty() {
            return Err(self.refuse(v.line, path, Refusal::NoSource));
        }
        if s.starts_with("secret.") || s.starts_with("configmap.") {
            return Err(self.refuse(v.line, path, Refusal::ClusterSource(s)));
        }
        if s.starts_with("env.") || s.starts_with("event.") {
            return Ok(v.clone());
        }
        let new = format!("event.{s}");
        self.edits.replace_string(self.src, v, &new);
        self.report(
            v.line,
            ChangeKind::Rewrite,
            format!("{path}: {s:?} -> {new:?} (a bare source was a path into the event data)"),
        );
        Ok(string_like(&new, v))
    }

    fn name(&mut self, v: &Node, path: &str, kind: Kind) -> Result<Node, Refused> {
        let Some(old) = v.as_str() else {
            return Ok(v.clone());
        };
        let list = match kind {
            Kind::Param => &self.names.params,
            Kind::Precondition => &self.names.preconditions,
            Kind::PostAction => &self.names.post_actions,
            Kind::Capture => &self.names.captures,
        };
        let Some((_, new)) = list.iter().find(|(o, _)| o == old).cloned() else {
            return Ok(v.clone());
        };
        self.edits.replace_string(self.src, v, &new);
        self.report(
            v.line,
            ChangeKind::RenameName,
            format!("{path}: {old:?} -> {new:?}"),
        );
        Ok(string_like(&new, v))
    }

    fn resource_name(&mut self, v: &Node, path: &str) -> Result<Node, Refused> {
        let name = v.as_str().unwrap_or_default().to_string();
        if !valid_name(&name) {
            return Err(self.refuse(v.line, path, Refusal::InvalidResourceName(name)));
        }
        if !path.contains("nested") {
            if self.resource_names.contains(&name) {
                return Err(self.refuse(v.line, path, Refusal::DuplicateResource(name)));
            }
            self.resource_names.push(name);
        }
        Ok(v.clone())
    }

    fn url(&mut self, v: &Node, path: &str) -> Result<Node, Refused> {
        let node = self.text(v, path, Rules::template)?;
        let Some(url) = node.as_str().map(str::to_string) else {
            return Ok(node);
        };
        let literal =
            !(url.starts_with("http://") || url.starts_with("https://") || url.starts_with("{{"));
        let trimmed = url.trim_start_matches('/');
        if !self.merged || !literal || trimmed.starts_with("api/") || url.contains("{{ .config.") {
            return Ok(node);
        }
        let new = format!("{{{{ .config.clients.hyperfleet_api.base_url }}}}/{trimmed}");
        if node.line == v.line && node != *v {
            // Already rewritten once: the text edit would overlap.
            self.edits
                .unsupported(format!("line {}: url rewritten twice", v.line));
        } else {
            self.edits.replace_string(self.src, v, &new);
        }
        self.report(
            v.line,
            ChangeKind::Rewrite,
            format!("{path}: {url:?} -> {new:?} (the merged-format client joined relative URLs to the base URL as written; the current one inserts /api/hyperfleet/<version>/)"),
        );
        Ok(string_like(&new, v))
    }

    fn conditions(&mut self, v: &Node, path: &str) -> Result<Node, Refused> {
        let NodeKind::Seq(items) = &v.kind else {
            return Ok(v.clone());
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let mut c = self.map(item, tables::CONDITION, &p)?;
            let exists = item.get("operator").and_then(Node::as_str) == Some("exists");
            if let (true, NodeKind::Map(entries), NodeKind::Map(src)) =
                (exists, &mut c.kind, &item.kind)
            {
                for (k, _) in src {
                    if matches!(k.as_str(), Some("value" | "values")) {
                        let kp = join(&p, k.as_str().unwrap_or_default());
                        self.drop_entry(k, &kp, "an `exists` condition takes no value (it was ignored; the current loader rejects it)");
                    }
                }
                entries.retain(|(k, _)| !matches!(k.as_str(), Some("value" | "values")));
            }
            out.push(c);
        }
        Ok(Node {
            kind: NodeKind::Seq(out),
            ..v.clone()
        })
    }
}

/// Which names a rename applies to.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Param,
    Precondition,
    PostAction,
    Capture,
}
