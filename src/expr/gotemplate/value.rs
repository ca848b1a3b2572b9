//! Template values: what Go's `encoding/json` and the adapter's functions put behind an
//! `interface{}`, each with its Go type (it shows in `%T`, in `%!d(float64=3.14)` and in Go's
//! "wrong type" errors).

use chrono::{DateTime, FixedOffset};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// The nil interface (JSON `null`).
    Nil,
    Bool(bool),
    /// Go `int`: template number constants, `len`, the adapter's `int`.
    Int(i64),
    /// Go `int64`: JSON integers (the project's number model), `type: int` params, `int64`.
    Int64(i64),
    /// Go `uint64`: JSON integers beyond int64.
    Uint64(u64),
    Float(f64),
    String(Arc<str>),
    /// `[]interface {}`.
    List(Arc<Vec<Value>>),
    /// `map[string]interface {}`.
    Map(Arc<BTreeMap<Arc<str>, Value>>),
    /// `time.Time` (from `now`).
    Time(DateTime<FixedOffset>),
}

impl Value {
    /// Go's `reflect.Type.String()` of the value's dynamic type.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Int64(_) => "int64",
            Value::Uint64(_) => "uint64",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Time(_) => "time.Time",
        }
    }

    pub fn str(s: &str) -> Value {
        Value::String(s.into())
    }

    /// Go's truth (`if`, `with`, `and`, `or`, `not`): false, 0, nil, and empty strings, lists
    /// and maps are false.
    pub fn truth(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) | Value::Int64(i) => *i != 0,
            Value::Uint64(u) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Time(_) => true,
        }
    }
}

/// A value as Go's `reflect.Value` holds it during execution: invalid (no value at all), or a
/// value whose static type is `interface {}` (what a map lookup or list index gives, possibly
/// the nil interface), or a concrete value.
#[derive(Debug, Clone, PartialEq)]
pub struct Rv {
    pub v: Value,
    pub iface: bool,
}

impl Rv {
    pub const INVALID: Rv = Rv {
        v: Value::Nil,
        iface: false,
    };

    pub fn concrete(v: Value) -> Rv {
        Rv { v, iface: false }
    }

    pub fn boxed(v: Value) -> Rv {
        Rv { v, iface: true }
    }

    pub fn is_valid(&self) -> bool {
        self.iface || self.v != Value::Nil
    }

    /// Go's static type name (`interface {}` for boxed values).
    pub fn type_name(&self) -> &'static str {
        if self.iface {
            "interface {}"
        } else {
            self.v.type_name()
        }
    }

    /// What `evalPipeline` does to an `interface {}` result: the value inside (the nil
    /// interface becomes invalid).
    pub fn unboxed(self) -> Rv {
        Rv {
            v: self.v,
            iface: false,
        }
    }
}
