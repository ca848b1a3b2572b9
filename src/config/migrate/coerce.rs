//! The weak decoding of the E adapter file (Viper and mapstructure, contract §3.9): the typed
//! value each legacy value stood for, or a refusal where the legacy loader failed too.

use super::report::{ChangeKind, Refusal, Refused};
use super::tables::V;
use super::walk::{Walker, raw_like, string_like};
use crate::golang::{GoDuration, parse_bool};
use crate::yaml::{Node, NodeKind};
use serde_json::Value;

impl Walker<'_> {
    /// A plain scalar that YAML reads as a number, bool or null, written as its text.
    pub(super) fn quote_text(&mut self, v: &Node, path: &str) -> Node {
        let NodeKind::Scalar {
            text,
            plain: true,
            tag: None,
        } = &v.kind
        else {
            return v.clone();
        };
        if matches!(v.to_json(), Value::String(_)) {
            return v.clone();
        }
        self.edits.replace_string(self.src, v, text);
        self.report(
            v.line,
            ChangeKind::Coerce,
            format!("{path}: {text} -> {text:?} (a string field)"),
        );
        string_like(text, v)
    }

    /// Weak decoding of the E adapter file (§3.9).
    pub(super) fn coerce(
        &mut self,
        v_kind: V,
        k: &Node,
        v: &Node,
        path: &str,
    ) -> Result<Option<Node>, Refused> {
        let json = v.to_json();
        let text = v.as_str().unwrap_or_default().to_string();
        let bad = |why: &str| Refusal::BadValue {
            field: path.to_string(),
            value: text.clone(),
            why: why.to_string(),
        };
        let new: Option<String> = match (v_kind, &json) {
            (V::Bool, Value::Bool(_)) | (V::Int, Value::Number(_))
                if json.is_i64() || json.is_boolean() =>
            {
                None
            }
            (V::Bool, Value::String(s)) => match parse_bool(s) {
                Some(b) => Some(b.to_string()),
                None => {
                    return Err(self.refuse(
                        v.line,
                        path,
                        bad("not a boolean Go's strconv.ParseBool accepts"),
                    ));
                }
            },
            (V::Bool, Value::Number(n)) => Some((n.as_f64() != Some(0.0)).to_string()),
            (V::Int, Value::Number(n)) => {
                Some((n.as_f64().unwrap_or(0.0).trunc() as i64).to_string())
            }
            (V::Int, Value::String(s)) => match s.trim().parse::<i64>() {
                Ok(i) => Some(i.to_string()),
                Err(_) => match s.trim().parse::<f64>() {
                    Ok(f) => Some((f.trunc() as i64).to_string()),
                    Err(_) => return Err(self.refuse(v.line, path, bad("not an integer"))),
                },
            },
            (V::Int, Value::Bool(b)) => Some(if *b { "1" } else { "0" }.to_string()),
            (V::Float, Value::Number(_)) => None,
            (V::Float, Value::String(s)) => match s.trim().parse::<f64>() {
                Ok(_) => Some(s.trim().to_string()),
                Err(_) => return Err(self.refuse(v.line, path, bad("not a number"))),
            },
            (V::Duration, Value::String(s)) => match GoDuration::parse(s) {
                Ok(_) => None,
                Err(e) => return Err(self.refuse(v.line, path, bad(&e.to_string()))),
            },
            (V::Duration, Value::Number(n)) if n.is_i64() => {
                let n = n.as_i64().unwrap_or(0);
                if n == 0 {
                    self.drop_entry(k, path, "0 is the default");
                    return Ok(None);
                }
                self.report(
                    v.line,
                    ChangeKind::Warn,
                    format!("{path}: a bare number was nanoseconds in the legacy loader; written as {n}ns (probably not what was meant)"),
                );
                Some(format!("{n}ns"))
            }
            (V::DurationText, Value::String(_) | Value::Number(_)) => {
                let t = match &json {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if let Err(e) = GoDuration::parse(&t) {
                    return Err(self.refuse(v.line, path, bad(&e.to_string())));
                }
                (!matches!(json, Value::String(_))).then_some(t)
            }
            (_, Value::Null) => None,
            _ => return Err(self.refuse(v.line, path, bad("wrong type"))),
        };
        let Some(new) = new else {
            return Ok(Some(v.clone()));
        };
        let node = if matches!(v_kind, V::Duration | V::DurationText) {
            self.edits.replace_string(self.src, v, &new);
            string_like(&new, v)
        } else {
            self.edits.replace_raw(self.src, v, &new);
            raw_like(&new, v)
        };
        self.report(
            v.line,
            ChangeKind::Coerce,
            format!("{path}: {text:?} -> {new}"),
        );
        Ok(Some(node))
    }
}
