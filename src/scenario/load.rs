//! Finding scenarios and loading one: its file read within bounds, decoded strictly (unknown
//! keys refused with their line), its event, API responses and discovery resolved from files or
//! inline documents, and every expectation's CEL and path compiled before anything runs.

use super::error::{Invalid, ScenarioError};
use super::model::ScenarioFile;
use super::path::{self, Seg};
use crate::adapters::api::RecordedApi;
use crate::dryrun;
use crate::expr::cel::CelExpr;
use crate::yaml::{self, Node, NodeKind};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest scenario input file read (scenario files, events, API responses, discovery and
/// golden files): 4 MiB.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// The file name that makes a folder a scenario.
pub const SCENARIO_FILE: &str = "scenario.yaml";

/// Reads a file of at most [`MAX_FILE_BYTES`].
pub fn read_bounded(path: &Path) -> Result<String, ScenarioError> {
    let shown = || path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| ScenarioError::Read {
        path: shown(),
        source,
    })?;
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|source| ScenarioError::Read {
            path: shown(),
            source,
        })?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(ScenarioError::TooLarge {
            path: shown(),
            max: MAX_FILE_BYTES,
        });
    }
    Ok(text)
}

/// The scenario files under `paths`: a file is a scenario; a folder holding `scenario.yaml`
/// is one; any other folder holds scenarios as sub-folders with a `scenario.yaml` and as
/// `*.yaml` files. Sorted by path, without duplicates.
pub fn find(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ScenarioError> {
    let mut out = Vec::new();
    for p in paths {
        let shown = || p.display().to_string();
        if p.is_file() {
            out.push(p.clone());
            continue;
        }
        if !p.is_dir() {
            return Err(ScenarioError::NoSuchPath { path: shown() });
        }
        if p.join(SCENARIO_FILE).is_file() {
            out.push(p.join(SCENARIO_FILE));
            continue;
        }
        let entries = std::fs::read_dir(p).map_err(|source| ScenarioError::Read {
            path: shown(),
            source,
        })?;
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| ScenarioError::Read {
                path: shown(),
                source,
            })?;
            let child = entry.path();
            if child.is_dir() && child.join(SCENARIO_FILE).is_file() {
                found.push(child.join(SCENARIO_FILE));
            } else if child.is_file()
                && child.extension().is_some_and(|e| e == "yaml" || e == "yml")
            {
                found.push(child);
            }
        }
        found.sort();
        out.extend(found);
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|p| seen.insert(p.clone()));
    Ok(out)
}

/// A scenario's name: its folder's name for `scenario.yaml`, else the file's stem.
pub fn name_of(file: &Path) -> String {
    let named = if file.file_name().is_some_and(|n| n == SCENARIO_FILE) {
        file.parent().and_then(Path::file_name)
    } else {
        file.file_stem()
    };
    named
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string())
}

/// A compiled CEL expectation and where it was written.
pub struct CelCheck {
    pub expr: CelExpr,
    pub line: usize,
    pub label: String,
}

/// A parsed `fields` expectation.
pub struct FieldCheck {
    pub path: Vec<Seg>,
    pub text: String,
    pub expected: Value,
    pub line: usize,
    pub label: String,
}

/// One scenario, loaded and checked, ready to run.
pub struct Scenario {
    pub name: String,
    pub file: PathBuf,
    pub dir: PathBuf,
    pub description: String,
    pub root: Node,
    pub spec: ScenarioFile,
    pub time: DateTime<Utc>,
    /// The event, API responses and discovery documents as JSON (read once, parsed per run).
    event: (Value, String),
    api: Option<(Value, String)>,
    discovery: Option<(Value, String)>,
}

/// Loads the scenario file `file`; `default_time` when it names none.
pub fn load(file: &Path, default_time: DateTime<Utc>) -> Result<Scenario, ScenarioError> {
    let shown = file.display().to_string();
    let text = read_bounded(file)?;
    let root = yaml::parse(&text).map_err(|source| ScenarioError::Syntax {
        path: shown.clone(),
        line: source.line,
        source,
    })?;
    let spec: ScenarioFile = match yaml::decode_collecting(&root) {
        (Some(spec), errors) if errors.is_empty() => spec,
        (_, errors) => {
            return Err(ScenarioError::Schema {
                path: shown,
                errors,
            });
        }
    };
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let invalid = |field: &str, problem: Invalid| ScenarioError::Invalid {
        path: shown.clone(),
        line: line_at(&root, &[Seg::Key(field.into())]),
        field: field.into(),
        problem,
    };
    let time = match &spec.time {
        None => default_time,
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|t| t.to_utc())
            .map_err(|e| invalid("time", Invalid::Time(e)))?,
    };
    let event = match &spec.event {
        None => return Err(invalid("event", Invalid::MissingEvent)),
        Some(v) => document(&dir, v).map_err(|p| invalid("event", p))??,
    };
    let api = match &spec.api_responses {
        None => None,
        Some(v) => Some(document(&dir, v).map_err(|p| invalid("api_responses", p))??),
    };
    let discovery = match &spec.discovery {
        None => None,
        Some(v) => Some(document(&dir, v).map_err(|p| invalid("discovery", p))??),
    };
    let scenario = Scenario {
        name: name_of(file),
        file: file.to_path_buf(),
        dir,
        description: spec.description.clone(),
        root,
        spec,
        time,
        event,
        api,
        discovery,
    };
    // Every input and expectation is checked now, so a broken scenario never runs.
    scenario.inputs()?;
    scenario.compile()?;
    Ok(scenario)
}

/// A file path (read and parsed as JSON) or an inline document, with the name errors show.
fn document(dir: &Path, v: &Value) -> Result<Result<(Value, String), ScenarioError>, Invalid> {
    match v {
        Value::String(rel) => {
            let path = dir.join(rel);
            let shown = path.display().to_string();
            Ok(read_bounded(&path).and_then(|text| {
                serde_json::from_str(&text)
                    .map(|v| (v, shown.clone()))
                    .map_err(|source| ScenarioError::Json {
                        path: shown.clone(),
                        source,
                    })
            }))
        }
        Value::Object(_) => Ok(Ok((v.clone(), "<inline>".into()))),
        _ => Err(Invalid::NotFileOrMapping),
    }
}

impl Scenario {
    /// The dry run's inputs (each run gets its own API call counters and store).
    pub fn inputs(&self) -> Result<dryrun::Inputs, ScenarioError> {
        let at = |field: &str| self.line(&[Seg::Key(field.into())]);
        let (event_doc, event_name) = &self.event;
        let bytes = serde_json::to_vec(event_doc).map_err(|source| ScenarioError::Json {
            path: event_name.clone(),
            source,
        })?;
        let event = dryrun::parse_event(&bytes, self.shown_input(event_name, "event")).map_err(
            |source| ScenarioError::Event {
                path: self.file.display().to_string(),
                line: at("event"),
                source,
            },
        )?;
        let api = match &self.api {
            None => RecordedApi::default(),
            Some((doc, _)) => RecordedApi::parse(&doc.to_string()).map_err(|source| {
                ScenarioError::ApiResponses {
                    path: self.file.display().to_string(),
                    line: at("api_responses"),
                    source,
                }
            })?,
        };
        let discovery = match &self.discovery {
            None => Vec::new(),
            Some((doc, name)) => {
                dryrun::discovery_objects(doc, &self.shown_input(name, "discovery")).map_err(
                    |source| ScenarioError::Discovery {
                        path: self.file.display().to_string(),
                        line: at("discovery"),
                        source,
                    },
                )?
            }
        };
        Ok(dryrun::Inputs {
            event,
            api,
            discovery,
            now: self.time,
        })
    }

    fn shown_input(&self, name: &str, field: &str) -> String {
        if name == "<inline>" {
            format!("{} ({field})", self.file.display())
        } else {
            name.to_string()
        }
    }

    /// The line of the node at `segs` in the scenario file (or of its deepest existing parent).
    pub fn line(&self, segs: &[Seg]) -> usize {
        line_at(&self.root, segs)
    }

    fn invalid(&self, segs: &[Seg], label: &str, problem: Invalid) -> ScenarioError {
        ScenarioError::Invalid {
            path: self.file.display().to_string(),
            line: self.line(segs),
            field: label.to_string(),
            problem,
        }
    }

    /// Compiles every CEL expression, field path and URL pattern of the expectations.
    pub fn compile(&self) -> Result<Compiled, ScenarioError> {
        let e = &self.spec.expect;
        let mut c = Compiled {
            fields: self.fields(&["expect", "fields"], &e.fields)?,
            cel: self.cels(&["expect", "cel"], &e.cel)?,
            ..Compiled::default()
        };
        for (name, check) in &e.payloads {
            let base = ["expect", "payloads", name.as_str()];
            c.payloads.push(DocCompiled {
                fields: self.fields(&[&base[..], &["fields"][..]].concat(), &check.fields)?,
                cel: self.cels(&[&base[..], &["cel"][..]].concat(), &check.cel)?,
            });
        }
        for (i, r) in e.requests.iter().enumerate() {
            let base = [
                Seg::Key("expect".into()),
                Seg::Key("requests".into()),
                Seg::Index(i),
            ];
            let label = format!("expect.requests[{i}]");
            let url = self.regex(&base, &label, &r.url)?;
            let body = match &r.body {
                None => DocCompiled::default(),
                Some(b) => {
                    let idx = i.to_string();
                    let at = ["expect", "requests", idx.as_str(), "body"];
                    DocCompiled {
                        fields: self.fields(&[&at[..], &["fields"][..]].concat(), &b.fields)?,
                        cel: self.cels(&[&at[..], &["cel"][..]].concat(), &b.cel)?,
                    }
                }
            };
            c.requests.push((url, body));
        }
        for (i, r) in e.no_requests.iter().enumerate() {
            let base = [
                Seg::Key("expect".into()),
                Seg::Key("no_requests".into()),
                Seg::Index(i),
            ];
            let label = format!("expect.no_requests[{i}]");
            c.no_requests.push(self.regex(&base, &label, &r.url)?);
        }
        Ok(c)
    }

    fn regex(&self, base: &[Seg], label: &str, url: &str) -> Result<regex::Regex, ScenarioError> {
        regex::Regex::new(url).map_err(|e| {
            let at = [base, &[Seg::Key("url".into())][..]].concat();
            self.invalid(&at, &format!("{label}.url"), Invalid::Regex(e))
        })
    }

    fn fields(
        &self,
        at: &[&str],
        fields: &std::collections::BTreeMap<String, Value>,
    ) -> Result<Vec<FieldCheck>, ScenarioError> {
        let mut out = Vec::new();
        for (text, expected) in fields {
            let segs = segs_of(at, Some(text));
            let label = format!("{}.{text}", at.join("."));
            let path =
                path::parse(text).map_err(|e| self.invalid(&segs, &label, Invalid::Path(e)))?;
            out.push(FieldCheck {
                path,
                text: text.clone(),
                expected: expected.clone(),
                line: self.line(&segs),
                label,
            });
        }
        Ok(out)
    }

    fn cels(&self, at: &[&str], sources: &[String]) -> Result<Vec<CelCheck>, ScenarioError> {
        let mut out = Vec::new();
        for (i, source) in sources.iter().enumerate() {
            let mut segs = segs_of(at, None);
            segs.push(Seg::Index(i));
            let label = format!("{}[{i}]", at.join("."));
            let expr = CelExpr::compile(source)
                .map_err(|e| self.invalid(&segs, &label, Invalid::Cel(e)))?;
            out.push(CelCheck {
                expr,
                line: self.line(&segs),
                label,
            });
        }
        Ok(out)
    }
}

fn segs_of(at: &[&str], last: Option<&str>) -> Vec<Seg> {
    at.iter()
        .copied()
        .chain(last)
        .map(|k| match k.parse::<usize>() {
            Ok(n) => Seg::Index(n),
            Err(_) => Seg::Key(k.to_string()),
        })
        .collect()
}

/// The compiled expectations of one scenario (in the order of [`super::model::Expect`]'s
/// maps and lists).
#[derive(Default)]
pub struct Compiled {
    pub fields: Vec<FieldCheck>,
    pub cel: Vec<CelCheck>,
    pub payloads: Vec<DocCompiled>,
    pub requests: Vec<(regex::Regex, DocCompiled)>,
    pub no_requests: Vec<regex::Regex>,
}

/// The compiled checks of one document.
#[derive(Default)]
pub struct DocCompiled {
    pub fields: Vec<FieldCheck>,
    pub cel: Vec<CelCheck>,
}

/// The line of the node at `segs` (keys matched literally), or of its deepest existing parent.
pub fn line_at(root: &Node, segs: &[Seg]) -> usize {
    let mut node = root;
    for seg in segs {
        let next = match (&node.kind, seg) {
            (NodeKind::Map(entries), Seg::Key(k)) => entries
                .iter()
                .find(|(key, _)| key.as_str() == Some(k.as_str()))
                .map(|(key, v)| if v.is_null() { key } else { v }),
            (NodeKind::Seq(items), Seg::Index(i)) => items.get(*i),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    node.line
}
