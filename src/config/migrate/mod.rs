//! `adapter config migrate`: converts the legacy configuration shapes of the Go adapter (the
//! `apiVersion/kind/metadata/spec` envelopes: E adapter and task files, the merged single file M,
//! the debug dump D) into the current two-file format, keeping comments and key order by
//! editing the source text, and reporting every change. The contract is the project's legacy
//! format specification; `docs/migrating.md` is the user's view.
//!
//! Pure: the caller reads the files (and the `ref` files, through [`RefReader`]) and writes the
//! outputs.

mod coerce;
mod detect;
mod doc;
mod edit;
mod merge;
mod refs;
mod report;
mod resources;
mod rewrite;
mod tables;
mod walk;

pub use detect::Shape;
pub use report::{Change, ChangeKind, Refusal, Refused};
pub use rewrite::RewriteError;

use crate::config::{AdapterConfig, TaskConfig};
use crate::yaml::{self, Node};
use edit::Source;
use std::path::{Path, PathBuf};
use walk::Walker;

/// The largest input file accepted (the loader's YAML bounds apply as well).
pub const MAX_INPUT_BYTES: usize = 4 << 20;

/// Choices the contract leaves to the operator.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Keep keys that were inert in the legacy loader but are active now (`when`, capture
    /// `default`, `lifecycle`, current spellings).
    pub keep_inert: bool,
    /// Remove `discovery.namespace: "*"` instead of keeping it with a warning.
    pub fix_star_namespace: bool,
    /// Move task keys found in an E adapter file (inert there) into a task file instead of
    /// dropping them.
    pub split: bool,
    /// Write this `adapter.version` instead of the legacy one.
    pub set_version: Option<String>,
    /// The running binary's version, for the compatibility check of `adapter.version`.
    pub binary_version: String,
}

/// What the caller says a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Detected from the file.
    Any,
    /// Given as the task config (`--task-config`).
    Task,
}

/// One input file.
#[derive(Debug, Clone)]
pub struct Input {
    pub path: PathBuf,
    pub text: String,
    pub role: Role,
}

/// What an output file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputRole {
    Adapter,
    Task,
    /// A `manifest.ref` or `build_ref` file the task file names.
    Ref,
}

/// One converted file.
#[derive(Debug, Clone)]
pub struct Output {
    pub role: OutputRole,
    /// Where it belongs: beside its input (a split task file: `task-config.yaml` there).
    pub path: PathBuf,
    /// Its name relative to the input's directory (the name under `-o DIR`).
    pub relative: PathBuf,
    pub text: String,
    /// The text it replaces (`None`: a new file).
    pub original: Option<String>,
    /// The input file it came from.
    pub source: PathBuf,
}

impl Output {
    /// Whether writing it changes anything.
    pub fn changed(&self) -> bool {
        self.original.as_deref() != Some(self.text.as_str())
    }
}

/// The converted files and every change made.
#[derive(Debug, Clone, Default)]
pub struct Migration {
    pub outputs: Vec<Output>,
    pub changes: Vec<Change>,
    /// The shape of each input's first document.
    pub shapes: Vec<(PathBuf, Shape)>,
}

/// Reads a `ref` file named by a task file.
pub trait RefReader {
    /// The text of `rel`, resolved against `dir` (the task file's directory).
    fn read(&self, dir: &Path, rel: &str) -> std::io::Result<String>;
}

/// The name of the task file split out of a merged file.
pub const SPLIT_TASK_NAME: &str = "task-config.yaml";

struct Doc {
    input: usize,
    src: Source,
    range: (usize, usize),
    root: Node,
    shape: Shape,
}

fn refused(file: &Path, line: usize, reason: Refusal) -> Refused {
    Refused {
        file: file.to_path_buf(),
        line,
        path: String::new(),
        reason: Box::new(reason),
    }
}

/// Parses the documents of every input and detects their shapes.
fn documents(inputs: &[Input], changes: &mut Vec<Change>) -> Result<Vec<Doc>, Refused> {
    let mut docs = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        if input.text.len() > MAX_INPUT_BYTES {
            return Err(refused(&input.path, 0, Refusal::TooLarge(MAX_INPUT_BYTES)));
        }
        let ranges = detect::documents(&input.text);
        for (n, &(first, last)) in ranges.iter().enumerate() {
            let masked: String = input
                .text
                .split('\n')
                .enumerate()
                .map(|(j, l)| {
                    if (first..=last).contains(&(j + 1)) {
                        l
                    } else {
                        ""
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            let root = yaml::parse(&masked)
                .map_err(|e| refused(&input.path, e.line, Refusal::Syntax(e)))?;
            let shape = match detect::detect(&root) {
                Ok(s) => s,
                Err((line, Refusal::NotAConfig(kind))) if n > 0 => {
                    changes.push(Change {
                        file: input.path.clone(),
                        line,
                        kind: ChangeKind::Drop,
                        message: format!(
                            "document {} (kind {kind:?}) is not a configuration; left out",
                            n + 1
                        ),
                    });
                    continue;
                }
                Err((line, reason)) => return Err(refused(&input.path, line, reason)),
            };
            if n > 0 {
                changes.push(Change {
                    file: input.path.clone(),
                    line: first,
                    kind: ChangeKind::Split,
                    message: format!(
                        "document {} was not read by the legacy loader (only the first document of a file is); converted into a file of its own",
                        n + 1
                    ),
                });
            }
            let mut src = Source::new(&input.text);
            src.doc_first = first;
            docs.push(Doc {
                input: i,
                src,
                range: (first, last),
                root: merge::expand_merges(&root).0,
                shape,
            });
        }
    }
    Ok(docs)
}

/// Converts the legacy files into current-format files.
pub fn migrate(
    inputs: &[Input],
    opts: &Options,
    refs: &dyn RefReader,
) -> Result<Migration, Refused> {
    let mut m = Migration::default();
    let docs = documents(inputs, &mut m.changes)?;
    for d in &docs {
        if !m.shapes.iter().any(|(p, _)| p == &inputs[d.input].path) {
            m.shapes.push((inputs[d.input].path.clone(), d.shape));
        }
        let input = &inputs[d.input];
        if input.role == Role::Task && !matches!(d.shape, Shape::ETask | Shape::Current) {
            return Err(refused(
                &input.path,
                d.root.line,
                Refusal::WrongRole {
                    expected: "task config",
                    found: d.shape.describe().into(),
                },
            ));
        }
    }
    // Adapter-side documents first: the E task file's templates saw the adapter file's labels.
    let mut labels: Option<Vec<(String, String)>> = None;
    let mut adapter_name: Option<(String, PathBuf)> = None;
    let mut order: Vec<&Doc> = docs.iter().filter(|d| d.shape != Shape::ETask).collect();
    order.extend(docs.iter().filter(|d| d.shape == Shape::ETask));
    for d in order {
        let input = &inputs[d.input];
        if d.shape == Shape::Current {
            m.changes.push(Change {
                file: input.path.clone(),
                line: 0,
                kind: ChangeKind::Warn,
                message: "already in the current format; nothing to do".into(),
            });
            let task_keys = ["params", "preconditions", "resources", "post"];
            let task =
                input.role == Role::Task || task_keys.iter().any(|k| d.root.get(k).is_some());
            m.outputs.push(Output {
                role: if task {
                    OutputRole::Task
                } else {
                    OutputRole::Adapter
                },
                path: input.path.clone(),
                relative: file_name(&input.path),
                text: input.text.clone(),
                original: Some(input.text.clone()),
                source: input.path.clone(),
            });
            continue;
        }
        let walker = Walker::new(&d.src, input.path.clone(), opts);
        let adapter_labels = (d.shape == Shape::ETask).then(|| labels.clone()).flatten();
        let c = doc::convert(&d.src, &d.root, d.shape, walker, adapter_labels)?;
        if d.shape != Shape::ETask {
            labels = Some(c.metadata.labels.clone());
            adapter_name = c.metadata.name.clone().map(|n| (n, input.path.clone()));
        } else if let (Some((a, _)), Some(t)) = (&adapter_name, &c.metadata.name)
            && a != t
        {
            m.changes.push(Change {
                file: input.path.clone(),
                line: d.root.line_of("metadata.name"),
                kind: ChangeKind::Warn,
                message: format!(
                    "the task file's metadata.name {t:?} differs from the adapter's {a:?}; templates now see {a:?} (as from v0.1.0 on)"
                ),
            });
        }
        let mut walker = c.walker;
        let dir = input
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let split = c.adapter.is_some() && c.task.is_some();
        if let Some(part) = c.adapter {
            let text = finish(
                part,
                &d.src,
                d.range,
                &input.path,
                &mut walker,
                "adapter config",
            )?;
            m.outputs.push(Output {
                role: OutputRole::Adapter,
                path: input.path.clone(),
                relative: file_name(&input.path),
                text,
                original: Some(input.text.clone()),
                source: input.path.clone(),
            });
        }
        if let Some(part) = c.task {
            let text = finish(
                part,
                &d.src,
                d.range,
                &input.path,
                &mut walker,
                "task config",
            )?;
            let taken = m.outputs.iter().any(|o| o.path == input.path);
            let (path, relative, original) = if split || taken {
                (
                    dir.join(SPLIT_TASK_NAME),
                    PathBuf::from(SPLIT_TASK_NAME),
                    None,
                )
            } else {
                (
                    input.path.clone(),
                    file_name(&input.path),
                    Some(input.text.clone()),
                )
            };
            m.outputs.push(Output {
                role: OutputRole::Task,
                path,
                relative,
                text,
                original,
                source: input.path.clone(),
            });
            for r in std::mem::take(&mut walker.refs) {
                refs::ref_file(&r, &dir, &input.path, &mut walker, refs, &mut m)?;
            }
        }
        m.changes.extend(walker.changes);
    }
    for role in [OutputRole::Adapter, OutputRole::Task] {
        let of_role: Vec<&Output> = m.outputs.iter().filter(|o| o.role == role).collect();
        if of_role.len() > 1 {
            let what = if role == OutputRole::Adapter {
                "adapter config"
            } else {
                "task config"
            };
            return Err(refused(&of_role[1].source, 0, Refusal::TooMany(what)));
        }
    }
    m.changes
        .sort_by(|a, b| a.file.cmp(&b.file).then(a.line.cmp(&b.line)));
    m.changes.dedup();
    Ok(m)
}

fn file_name(p: &Path) -> PathBuf {
    p.file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| p.to_path_buf())
}

/// Renders a part's edits, checks the text means the converted tree (else re-serialises the
/// tree), and checks the result decodes strictly in the current format.
fn finish(
    part: doc::Part,
    src: &Source,
    range: (usize, usize),
    file: &Path,
    w: &mut Walker<'_>,
    what: &'static str,
) -> Result<String, Refused> {
    let want = part.tree.to_json();
    let text = match part.edits.render(src, range) {
        Ok(t) if yaml::parse(&t).map(|n| n.to_json()).ok().as_ref() == Some(&want) => t,
        other => {
            let why = match other {
                Err(e) => e,
                Ok(_) => "the edited text did not read back as the converted configuration".into(),
            };
            w.report(
                range.0,
                ChangeKind::Warn,
                format!("{what}: comments and formatting not preserved ({why}); the converted configuration was re-serialised"),
            );
            if has_alias(src, range) {
                w.report(
                    range.0,
                    ChangeKind::ExpandAlias,
                    "anchors, aliases and merge keys expanded",
                );
            }
            yaml::to_yaml_string_indent(&want, 2)
        }
    };
    let root = yaml::parse(&text).map_err(|e| refused(file, e.line, Refusal::Syntax(e)))?;
    let errs = if what == "adapter config" {
        yaml::decode_collecting::<AdapterConfig>(&root).1
    } else {
        yaml::decode_collecting::<TaskConfig>(&root).1
    };
    if let Some(e) = errs.into_iter().next() {
        return Err(refused(
            file,
            0,
            Refusal::OutputInvalid {
                what,
                message: format!("{}: {}", e.path, e.message),
            },
        ));
    }
    Ok(text)
}

fn has_alias(src: &Source, range: (usize, usize)) -> bool {
    (range.0..=range.1).any(|n| {
        let l = src.line(n);
        l.contains(": *") || l.contains("- *") || l.contains("<<:")
    })
}
