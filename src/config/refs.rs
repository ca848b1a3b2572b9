//! File references of the task config (`manifest.ref`, `build_ref`): resolved against the task
//! config's directory, never allowed to escape it, and loaded once at startup.

use super::problem::Problem;
use super::task::TaskConfig;
use crate::yaml::Node;
use serde_json::Value;
use std::path::{Component, Path, PathBuf};

text_error!(
    /// Why a `ref`/`build_ref` cannot be read: it escapes the task config directory, names a
    /// directory or a missing file, or leads outside through a symbolic link. The text names the
    /// config path and the reference.
    RefError
);

/// Lexically cleans a path (Go's `filepath.Clean`): removes `.` and resolves `..`.
fn clean(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Resolves `reference` against `base`, refusing paths outside it.
pub fn resolve(base: &Path, reference: &str) -> Result<PathBuf, RefError> {
    let base = &clean(base);
    let joined = if Path::new(reference).is_absolute() {
        PathBuf::from(reference)
    } else {
        base.join(reference)
    };
    let resolved = clean(&joined);
    if !resolved.starts_with(base) {
        return Err(format!("path {reference:?} escapes base directory").into());
    }
    Ok(resolved)
}

/// Checks that `reference` names a file inside `base` — lexically, and again after every
/// symbolic link is resolved — and returns its real path (the one to read, so a link changed
/// after the check cannot redirect the read). Links that stay inside the directory are fine:
/// Kubernetes ConfigMap and projected-volume mounts are made of them (`job.yaml ->
/// ..data/job.yaml`, `..data -> ..2026_12_01_…`).
fn check_file(base: &Path, reference: &str, path: &str) -> Result<PathBuf, RefError> {
    let resolved = resolve(base, reference).map_err(|e| RefError::from(format!("{path}: {e}")))?;
    match std::fs::metadata(&resolved) {
        Ok(m) if m.is_dir() => {
            return Err(format!(
                "{path}: referenced path {reference:?} is a directory, not a file"
            )
            .into());
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "{path}: referenced file {reference:?} does not exist (resolved to {:?})",
                resolved.display().to_string()
            )
            .into());
        }
        Err(e) => return Err(format!("{path}: error checking file {reference:?}: {e}").into()),
    }
    let base_dir = if base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base
    };
    let real_base = std::fs::canonicalize(base_dir).map_err(|e| {
        format!(
            "{path}: error resolving the task config directory {:?}: {e}",
            base_dir.display().to_string()
        )
    })?;
    let real = std::fs::canonicalize(&resolved)
        .map_err(|e| RefError::from(format!("{path}: error resolving file {reference:?}: {e}")))?;
    if !real.starts_with(&real_base) {
        return Err(format!(
            "{path}: referenced file {reference:?} is a symbolic link (or inside one) to {:?}, outside the task config directory {:?}",
            real.display().to_string(),
            real_base.display().to_string()
        ).into());
    }
    Ok(real)
}

/// The `ref` of a manifest map (a map whose `ref` key is a string).
pub fn manifest_ref(m: &Value) -> Option<&str> {
    m.as_object()
        .and_then(|o| o.get("ref"))
        .and_then(Value::as_str)
}

/// Checks and loads every reference: manifest refs become their raw text; build refs become
/// the parsed YAML mapping. Returns every problem found.
pub fn load_refs(task: &mut TaskConfig, base: &Path, file: &Path, root: &Node) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut fail = |path: &str, msg: String| {
        problems.push(Problem::error(file, root.line_of(path), path, msg))
    };
    for (i, r) in task.resources.iter_mut().enumerate() {
        let path = format!("resources[{i}].manifest.ref");
        let Some(reference) = r
            .manifest
            .as_ref()
            .and_then(manifest_ref)
            .map(str::to_string)
        else {
            continue;
        };
        if reference.trim().is_empty() {
            fail(&path, format!("{path}: manifest ref cannot be empty"));
            continue;
        }
        match check_file(base, &reference, &path).and_then(|p| {
            std::fs::read_to_string(&p).map_err(|e| {
                RefError(format!(
                    "{path}: failed to read file {:?}: {e}",
                    p.display().to_string()
                ))
            })
        }) {
            Ok(text) => r.manifest = Some(Value::String(text)),
            Err(e) => fail(&path, e.to_string()),
        }
    }
    if let Some(post) = task.post.as_mut() {
        for (i, p) in post.payloads.iter_mut().enumerate() {
            let path = format!("post.payloads[{i}].build_ref");
            let Some(reference) = p.build_ref.clone() else {
                continue;
            };
            let loaded = check_file(base, &reference, &path).and_then(|resolved| {
                let text = std::fs::read_to_string(&resolved)
                    .map_err(|e| RefError::from(format!("{path}: failed to read file {:?}: {e}", resolved.display().to_string())))?;
                let node = crate::yaml::parse(&text)
                    .map_err(|e| RefError::from(format!("{path}: failed to parse YAML file {reference:?}: {e}")))?;
                match node.to_json() {
                    v @ Value::Object(_) => Ok(v),
                    _ => Err(format!("{path}: failed to parse YAML file {reference:?}: build definition must be a mapping").into()),
                }
            });
            match loaded {
                Ok(v) => p.loaded_build = Some(v),
                Err(e) => fail(&path, e.to_string()),
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::resolve;
    use std::path::Path;

    #[test]
    fn refs_stay_inside_the_base_directory() {
        let base = Path::new("/etc/adapter");
        assert_eq!(
            resolve(base, "job.yaml").unwrap(),
            Path::new("/etc/adapter/job.yaml")
        );
        assert_eq!(
            resolve(base, "./a/../job.yaml").unwrap(),
            Path::new("/etc/adapter/job.yaml")
        );
        assert_eq!(
            resolve(base, "/etc/adapter/job.yaml").unwrap(),
            Path::new("/etc/adapter/job.yaml")
        );
        assert!(
            resolve(base, "../secret")
                .unwrap_err()
                .to_string()
                .contains("escapes base directory")
        );
        assert!(
            resolve(base, "/etc/passwd")
                .unwrap_err()
                .to_string()
                .contains("escapes base directory")
        );
    }
}
