//! Expressions compiled at load time, keyed by their config path, so the executor never
//! parses CEL, templates or JSONPath per event.

use crate::expr::{CelExpr, Template, jsonpath::JsonPath};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct Compiled {
    /// e.g. `preconditions[0].expression` → program.
    pub cel: BTreeMap<String, CelExpr>,
    /// e.g. `resources[1].manifest`, `post.payloads[0].build.status` → template.
    pub templates: BTreeMap<String, Template>,
    /// e.g. `preconditions[0].conditions[1].field` → path.
    pub paths: BTreeMap<String, JsonPath>,
}

impl Compiled {
    /// Number of compiled expressions of each kind `(cel, templates, paths)`.
    pub fn counts(&self) -> (usize, usize, usize) {
        (self.cel.len(), self.templates.len(), self.paths.len())
    }
}
