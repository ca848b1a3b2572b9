//! The files a task file names (`manifest.ref`, `build_ref`): read through the caller's
//! [`RefReader`], converted with the template (and, for builds, CEL and field-path) rewrites
//! only — their keys are data — and reported where a `{{ }}` sits in a YAML comment.

use super::edit::Source;
use super::report::{ChangeKind, Refusal, Refused};
use super::walk::{self, Walker};
use super::{Migration, Output, OutputRole, RefReader, refused};
use crate::yaml;
use std::path::Path;

/// Converts a `manifest.ref` / `build_ref` file: template (and, for builds, CEL and field
/// path) rewrites only; keys are never renamed.
pub(super) fn ref_file(
    r: &walk::RefRequest,
    dir: &Path,
    task: &Path,
    w: &mut Walker<'_>,
    reader: &dyn RefReader,
    m: &mut Migration,
) -> Result<(), Refused> {
    let rel = Path::new(&r.path);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        w.report(
            r.line,
            ChangeKind::Warn,
            format!("ref {:?} not followed (outside the task file's directory); check it for .metadata references", r.path),
        );
        return Ok(());
    }
    if m.outputs
        .iter()
        .any(|o| o.role == OutputRole::Ref && o.relative == rel)
    {
        return Ok(());
    }
    let text = reader.read(dir, &r.path).map_err(|e| Refused {
        file: task.to_path_buf(),
        line: r.line,
        path: String::new(),
        reason: Box::new(Refusal::Ref(r.path.clone(), e.to_string())),
    })?;
    let path = dir.join(rel);
    let src = Source::new(&text);
    let root = yaml::parse(&text).map_err(|e| refused(&path, e.line, Refusal::Syntax(e)))?;
    let mut rw = Walker::new(&src, path.clone(), w.opts);
    rw.rules = w.rules.clone();
    let tree = rw.ref_content(&root, r.build)?;
    for (n, line) in text.split('\n').enumerate() {
        if let Some(c) = line.find('#')
            && line[c..].contains("{{")
            && (line[..c].trim().is_empty() || line[..c].ends_with(' '))
        {
            rw.report(
                n + 1,
                ChangeKind::Warn,
                "a {{ }} inside a YAML comment: the current adapter renders the whole file as text, so this comment's template now runs (remove the braces)",
            );
        }
    }
    let want = tree.to_json();
    let out = match rw.edits.render(&src, (1, src.len())) {
        Ok(t) if yaml::parse(&t).map(|n| n.to_json()).ok().as_ref() == Some(&want) => t,
        _ => {
            rw.report(
                1,
                ChangeKind::Warn,
                "comments and formatting not preserved; re-serialised",
            );
            yaml::to_yaml_string_indent(&want, 2)
        }
    };
    let out = if out.trim() == text.trim() {
        text.clone()
    } else {
        out
    };
    m.changes.extend(rw.changes);
    m.outputs.push(Output {
        role: OutputRole::Ref,
        path,
        relative: rel.to_path_buf(),
        text: out,
        original: Some(text),
        source: task.to_path_buf(),
    });
    Ok(())
}
