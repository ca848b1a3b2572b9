//! The project's own implementation of Go's `text/template` (as of Go 1.19, the version the Go
//! adapter's oracle is built with): lexer, parser, executor and Go's `fmt` verbs. The Go
//! reference implementation, driven through `../shared/oracles/go-template`, is its
//! specification; `tests/oracle.rs` holds the frozen differential suite.
//!
//! Bounds (documented in `docs/compatibility.md`): parentheses, controls and definitions nest at
//! most [`parse::MAX_NESTING`] deep in a text; at run time template calls nest at most
//! [`exec::MAX_DEPTH`] deep and at most [`exec::MAX_FRAMES`] lists and pipelines run nested, the
//! output is at most [`exec::MAX_OUTPUT`] bytes, and at most [`exec::MAX_STEPS`] actions and
//! commands run. Each bound fails the parse or the render with an error that names it.

pub mod builtins;
pub mod exec;
pub mod fmt;
pub mod lex;
pub mod number;
pub mod parse;
pub mod value;

pub use exec::{ExecError, Func, FuncMap, Ty};
pub use parse::{Node, ParseError, TreeSet};
pub use value::{Rv, Value};

use std::sync::Arc;

/// A parsed template set: the main template under `name` and every `define`/`block`.
#[derive(Clone)]
pub struct Compiled {
    name: String,
    text: String,
    trees: TreeSet,
    funcs: Arc<FuncMap>,
}

impl Compiled {
    /// Parses `text` as Go's `template.New(name).Funcs(funcs).Parse(text)` does.
    pub fn parse(name: &str, text: &str, funcs: Arc<FuncMap>) -> Result<Compiled, ParseError> {
        let trees = parse::parse(name, text, &|f| funcs.contains_key(f))?;
        Ok(Compiled {
            name: name.to_string(),
            text: text.to_string(),
            trees,
            funcs,
        })
    }

    /// Executes the main template with `data` as dot.
    pub fn execute(&self, data: &Value) -> Result<String, ExecError> {
        self.execute_bounded(data, exec::MAX_STEPS)
    }

    /// Executes the main template with a step budget of `max_steps`.
    pub fn execute_bounded(&self, data: &Value, max_steps: u64) -> Result<String, ExecError> {
        exec::Program {
            name: &self.name,
            text: &self.text,
            trees: &self.trees,
            funcs: &self.funcs,
            max_steps,
        }
        .execute(data.clone())
    }

    /// The main template's body, for tree rewrites (the URL guard).
    pub fn main_mut(&mut self) -> Option<&mut Vec<Node>> {
        self.trees.get_mut(&self.name)
    }
}

/// Go's builtins plus `extra` (later entries win, as `Funcs` does).
pub fn func_map(extra: FuncMap) -> Arc<FuncMap> {
    let mut m = builtins::builtins();
    m.extend(extra);
    Arc::new(m)
}
