//! CEL: programs compiled once at load, evaluated per event against JSON-shaped variables,
//! with the optional syntax, the strings and lists extensions, and the adapter's eight
//! custom functions (`now toJson dig conditionStatus conditionAge stableFor
//! statusFeedbackValue triState`).
//!
//! Numbers: a JSON integer becomes a CEL `int` and any other JSON number a `double` (the Go
//! adapter fed every JSON number as a double, so `generation + 1` failed there; here it works).

use super::celfuncs;
use cel::common::types::{
    CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt,
};
use cel::common::value::Val;
use cel::objects::{Key, Map as ObjMap, OptionalValue};
use cel::{Context, Env, Program, Value as Cel};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

pub(crate) mod presence;

static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| {
    let mut env = Env::stdlib();
    // Both extensions are part of the environment the Go adapter builds (ext.Strings, ext.Lists).
    let _ = env.add_extension(cel::extensions::strings);
    let _ = env.add_extension(cel::extensions::lists);
    Arc::new(env)
});

/// A compiled CEL expression.
#[derive(Clone)]
pub struct CelExpr {
    source: String,
    program: Option<Arc<Program>>,
    /// The program's expression with every `has()` made lenient (see [`presence`]).
    expr: Option<Arc<cel::parser::Expression>>,
}

impl std::fmt::Debug for CelExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CelExpr({:?})", self.source)
    }
}

/// Why a CEL expression failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CelError {
    /// The text is not valid CEL (a config bug).
    #[error("CEL parse error for expression {expr:?}: failed to parse expression: {issues}")]
    Parse { expr: String, issues: String },
    /// Evaluation failed (missing key, wrong types, ...).
    #[error("CEL evaluation error for expression {expr:?}: {message}")]
    Eval { expr: String, message: String },
}

impl CelExpr {
    /// Compiles `source` (trimmed). An empty expression always evaluates to `true`.
    pub fn compile(source: &str) -> Result<CelExpr, CelError> {
        let trimmed = source.trim();
        if trimmed.is_empty() {
            return Ok(CelExpr {
                source: String::new(),
                program: None,
                expr: None,
            });
        }
        let program = ENV.compile(trimmed).map_err(|e| CelError::Parse {
            expr: trimmed.to_string(),
            issues: e.to_string(),
        })?;
        let expr = presence::lenient(program.expression());
        Ok(CelExpr {
            source: trimmed.to_string(),
            program: Some(Arc::new(program)),
            expr: Some(Arc::new(expr)),
        })
    }

    /// The trimmed source text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The top-level variables the expression reads (for scope checks).
    pub fn variables(&self) -> Vec<String> {
        match &self.program {
            Some(p) => p
                .references()
                .variables()
                .into_iter()
                .map(str::to_string)
                .collect(),
            None => Vec::new(),
        }
    }

    /// Evaluates against `vars` (each key a top-level CEL variable) at time `now`. To evaluate
    /// several expressions over the same variables, build one [`CelScope`] and use
    /// [`CelExpr::eval_in`]: the variables are converted once.
    pub fn eval(&self, vars: &Map<String, Value>, now: DateTime<Utc>) -> Result<Value, CelError> {
        self.eval_in(&CelScope::new(vars, now))
    }

    /// Evaluates in a prepared scope.
    pub fn eval_in(&self, scope: &CelScope) -> Result<Value, CelError> {
        let Some(expr) = &self.expr else {
            return Ok(Value::Bool(true));
        };
        let result = scope.ctx.resolve(expr).map_err(|e| CelError::Eval {
            expr: self.source.clone(),
            message: e.to_string(),
        })?;
        Ok(from_cel(&result))
    }

    /// Evaluates and applies the "matched" truthiness rule.
    pub fn eval_matched(
        &self,
        vars: &Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Result<bool, CelError> {
        self.eval(vars, now).map(|v| matched(&v))
    }
}

/// Variables converted to CEL once, with the custom functions bound to one evaluation time.
pub struct CelScope {
    ctx: Context<'static, 'static>,
}

impl CelScope {
    pub fn new(vars: &Map<String, Value>, now: DateTime<Utc>) -> Self {
        let mut ctx = Context::with_env(ENV.clone());
        celfuncs::register(&mut ctx, now);
        for (k, v) in vars {
            ctx.add_variable_as_val(k.clone(), to_val(v));
        }
        CelScope { ctx }
    }

    /// Sets (or replaces) one variable; only that value is converted.
    pub fn set(&mut self, name: &str, value: &Value) {
        self.ctx
            .add_variable_as_val(name.to_string(), to_val(value));
    }

    /// Sets a map variable from borrowed entries (no intermediate JSON value).
    pub fn set_map(&mut self, name: &str, entries: &Map<String, Value>) {
        self.ctx
            .add_variable_as_val(name.to_string(), map_to_val(entries));
    }
}

/// JSON → the evaluator's own values, with [`to_cel`]'s number rules, built directly: going
/// through [`to_cel`] built every map and list twice (the crate copies a `Value` into its
/// boxed form entry by entry).
pub fn to_val(v: &Value) -> Box<dyn Val> {
    match v {
        Value::Null => Box::new(CelNull),
        Value::Bool(b) => Box::new(CelBool::from(*b)),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Box::new(CelInt::from(i))
            } else if let Some(u) = n.as_u64() {
                Box::new(CelUInt::from(u))
            } else {
                Box::new(CelDouble::from(n.as_f64().unwrap_or_default()))
            }
        }
        Value::String(s) => Box::new(CelString::from(s.clone())),
        Value::Array(a) => Box::new(CelList::from(a.iter().map(to_val).collect::<Vec<_>>())),
        Value::Object(m) => map_to_val(m),
    }
}

fn map_to_val(m: &Map<String, Value>) -> Box<dyn Val> {
    let map: HashMap<CelMapKey, Box<dyn Val>> = m
        .iter()
        .map(|(k, v)| (CelMapKey::from(k.clone()), to_val(v)))
        .collect();
    Box::new(CelMap::from(map))
}

/// The Go adapter's truthiness of a CEL result: bool → itself; null → false; string, list, map →
/// non-empty; any other value (numbers included, even 0) → true.
pub fn matched(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        Value::Number(_) => true,
    }
}

/// JSON → CEL. Integers stay `int` (or `uint` above `i64::MAX`); other numbers are `double`.
pub fn to_cel(v: &Value) -> Cel {
    match v {
        Value::Null => Cel::Null,
        Value::Bool(b) => Cel::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Cel::Int(i)
            } else if let Some(u) = n.as_u64() {
                Cel::UInt(u)
            } else {
                Cel::Float(n.as_f64().unwrap_or_default())
            }
        }
        Value::String(s) => Cel::String(Arc::new(s.clone())),
        Value::Array(a) => Cel::List(Arc::new(a.iter().map(to_cel).collect())),
        Value::Object(m) => map_to_cel(m),
    }
}

fn map_to_cel(m: &Map<String, Value>) -> Cel {
    let map: HashMap<Key, Cel> = m
        .iter()
        .map(|(k, v)| (Key::from(k.clone()), to_cel(v)))
        .collect();
    Cel::Map(ObjMap { map: Arc::new(map) })
}

/// CEL → JSON. Timestamps become RFC 3339 strings, durations Go duration text, optionals their
/// value (or null), bytes a string.
pub fn from_cel(v: &Cel) -> Value {
    match v {
        Cel::Null => Value::Null,
        Cel::Bool(b) => Value::Bool(*b),
        Cel::Int(i) => Value::from(*i),
        Cel::UInt(u) => Value::from(*u),
        Cel::Float(f) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Cel::String(s) => Value::String(s.to_string()),
        Cel::Bytes(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        Cel::List(l) => Value::Array(l.iter().map(from_cel).collect()),
        Cel::Map(m) => {
            let mut entries: Vec<(String, Value)> = m
                .map
                .iter()
                .map(|(k, v)| (key_string(k), from_cel(v)))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect())
        }
        Cel::Timestamp(t) => Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        Cel::Duration(d) => Value::String(
            crate::golang::GoDuration(d.num_nanoseconds().unwrap_or(i64::MAX)).to_string(),
        ),
        Cel::Opaque(o) => match o.downcast_ref::<OptionalValue>() {
            Some(opt) => opt.value().map(from_cel).unwrap_or(Value::Null),
            None => Value::Null,
        },
        _ => Value::Null,
    }
}

fn key_string(k: &Key) -> String {
    match k {
        Key::String(s) => s.to_string(),
        Key::Int(i) => i.to_string(),
        Key::Uint(u) => u.to_string(),
        Key::Bool(b) => b.to_string(),
    }
}

#[cfg(test)]
mod tests;
