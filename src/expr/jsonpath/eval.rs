//! Evaluation as client-go's `FindResults` with `AllowMissingKeys(false)`, then the Go
//! adapter's reading of the results. Every step returns, with its error, the values client-go
//! returns with it: a `[?(…)]` existence filter ignores the error and keeps the item when those
//! values are not empty, and that shows in results.

use super::compare::{equal, go_type, less, less_equal};
use super::{Node, Numbers, Reason, Slice};
use serde_json::Value;
use std::borrow::Cow;

/// One value in flight, with how its numbers compare.
#[derive(Debug, Clone)]
pub(super) struct Item<'a> {
    pub(super) v: Cow<'a, Value>,
    /// Integers are int64 (Kubernetes decoding); else every number is a float64.
    pub(super) ints: bool,
    /// The document root (its children take their number model from [`Numbers`]).
    root: bool,
}

impl<'a> Item<'a> {
    fn literal(v: Value) -> Item<'a> {
        Item {
            v: Cow::Owned(v),
            ints: true,
            root: false,
        }
    }
}

/// An error, with the values client-go returns alongside it.
struct Fail<'a> {
    partial: Vec<Item<'a>>,
    msg: Reason,
}

type Walk<'a> = Result<Vec<Item<'a>>, Fail<'a>>;

fn fail<'a, T>(partial: Vec<Item<'a>>, msg: impl Into<Reason>) -> Result<T, Fail<'a>> {
    Err(Fail {
        partial,
        msg: msg.into(),
    })
}

struct Eval<'n> {
    numbers: &'n Numbers,
}

/// `ExtractField` over `nodes`: null for blank output, the value for one match, else a list.
pub(super) fn extract(nodes: &[Node], root: &Value, numbers: &Numbers) -> Result<Value, Reason> {
    if nodes.iter().any(has_range) {
        return Err(
            "a path with {range} gives no value: client-go rewrites the parsed path while it runs a range"
                .into(),
        );
    }
    let e = Eval { numbers };
    let start = Item {
        v: Cow::Borrowed(root),
        ints: matches!(numbers, Numbers::Ints),
        root: true,
    };
    let mut found: Vec<Item> = Vec::new();
    for node in nodes {
        let results = e.walk(vec![start.clone()], node).map_err(|f| f.msg)?;
        found.extend(results);
    }
    let blank = found.iter().all(|i| match i.v.as_ref() {
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    });
    if blank {
        return Ok(Value::Null);
    }
    let mut values: Vec<Value> = found.into_iter().map(|i| i.v.into_owned()).collect();
    Ok(match values.len() {
        1 => values.remove(0),
        _ => Value::Array(values),
    })
}

fn has_range(node: &Node) -> bool {
    match node {
        Node::Identifier(name) => name == "range",
        Node::List(l) => l.iter().any(has_range),
        Node::Union(u) => u.iter().flatten().any(has_range),
        Node::Filter { left, right, .. } => left.iter().chain(right).any(has_range),
        _ => false,
    }
}

impl Eval<'_> {
    fn child<'a>(&self, parent: &Item<'a>, key: Option<&str>, v: Cow<'a, Value>) -> Item<'a> {
        let ints = if parent.root {
            match self.numbers {
                Numbers::Floats => false,
                Numbers::Ints => true,
                Numbers::IntsUnder(keys) => key.is_some_and(|k| keys.iter().any(|x| x == k)),
            }
        } else {
            parent.ints
        };
        Item {
            v,
            ints,
            root: false,
        }
    }

    fn walk<'a>(&self, input: Vec<Item<'a>>, node: &Node) -> Walk<'a> {
        match node {
            Node::List(list) => self.list(input, list),
            Node::Text(t) => Ok(vec![Item::literal(Value::String(t.clone()))]),
            Node::Int(i) => Ok(repeat(&input, Value::from(*i))),
            Node::Float(f) => Ok(repeat(
                &input,
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            )),
            Node::Bool(b) => Ok(repeat(&input, Value::Bool(*b))),
            Node::Field(name) => self.field(input, name),
            Node::Array(s) => self.array(input, s),
            Node::Filter { left, right, op } => self.filter(input, left, right, op),
            Node::Wildcard => Ok(self.wildcard(&input)),
            Node::Recursive => Ok(self.recursive(input)),
            Node::Union(lists) => {
                let mut out = Vec::new();
                for l in lists {
                    match self.list(input.clone(), l) {
                        Ok(r) => out.extend(r),
                        Err(f) => return fail(input, f.msg),
                    }
                }
                Ok(out)
            }
            Node::Identifier(name) if name == "end" => {
                fail(Vec::new(), "not in range, nothing to end")
            }
            Node::Identifier(name) => fail(input, format!("unrecognized identifier {name}")),
        }
    }

    fn list<'a>(&self, input: Vec<Item<'a>>, nodes: &[Node]) -> Walk<'a> {
        let mut cur = input;
        for n in nodes {
            cur = self.walk(cur, n)?;
        }
        Ok(cur)
    }

    fn field<'a>(&self, input: Vec<Item<'a>>, name: &str) -> Walk<'a> {
        if input.is_empty() {
            return Ok(input);
        }
        let mut out = Vec::new();
        for item in &input {
            let found = match &item.v {
                Cow::Borrowed(Value::Object(m)) => m.get(name).map(Cow::Borrowed),
                Cow::Owned(Value::Object(m)) => m.get(name).cloned().map(Cow::Owned),
                _ => None,
            };
            if let Some(v) = found {
                out.push(self.child(item, Some(name), v));
            }
        }
        if out.is_empty() {
            return fail(out, format!("{name} is not found"));
        }
        Ok(out)
    }

    fn array<'a>(&self, input: Vec<Item<'a>>, s: &Slice) -> Walk<'a> {
        let mut out = Vec::new();
        for item in &input {
            let len = match item.v.as_ref() {
                Value::Null => continue,
                Value::Array(a) => a.len() as i64,
                other => {
                    return fail(
                        input.clone(),
                        format!("{} is not array or slice", go_type(other, item.ints)),
                    );
                }
            };
            let mut start = s.start.unwrap_or(0);
            if start < 0 {
                start += len;
            }
            let mut end = s.end.unwrap_or(len);
            if end < 0 || (end == 0 && s.derived) {
                end += len;
            }
            if end == start {
                return Ok(out);
            }
            if start >= len || start < 0 {
                return fail(
                    input.clone(),
                    format!("array index out of bounds: index {start}, length {len}"),
                );
            }
            if end > len || end < 0 {
                return fail(
                    input.clone(),
                    format!(
                        "array index out of bounds: index {}, length {len}",
                        end.wrapping_sub(1)
                    ),
                );
            }
            if start > end {
                return fail(
                    input.clone(),
                    format!("starting index {start} is greater than ending index {end}"),
                );
            }
            let step = match s.step {
                Some(st) if st <= 0 => return fail(input.clone(), "step must be > 0"),
                Some(st) => st as usize,
                None => 1,
            };
            for i in (start as usize..end as usize).step_by(step) {
                let v = match &item.v {
                    Cow::Borrowed(Value::Array(a)) => Cow::Borrowed(&a[i]),
                    Cow::Owned(Value::Array(a)) => Cow::Owned(a[i].clone()),
                    _ => continue,
                };
                out.push(self.child(item, None, v));
            }
        }
        Ok(out)
    }

    fn children<'a>(&self, item: &Item<'a>) -> Vec<Item<'a>> {
        match &item.v {
            Cow::Borrowed(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| self.child(item, Some(k), Cow::Borrowed(v)))
                .collect(),
            Cow::Owned(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| self.child(item, Some(k), Cow::Owned(v.clone())))
                .collect(),
            Cow::Borrowed(Value::Array(a)) => a
                .iter()
                .map(|v| self.child(item, None, Cow::Borrowed(v)))
                .collect(),
            Cow::Owned(Value::Array(a)) => a
                .iter()
                .map(|v| self.child(item, None, Cow::Owned(v.clone())))
                .collect(),
            // A string's elements are its bytes (uint8).
            _ => match item.v.as_ref() {
                Value::String(s) => s
                    .bytes()
                    .map(|b| self.child(item, None, Cow::Owned(Value::from(b))))
                    .map(|mut i| {
                        i.ints = true;
                        i
                    })
                    .collect(),
                _ => Vec::new(),
            },
        }
    }

    fn wildcard<'a>(&self, input: &[Item<'a>]) -> Vec<Item<'a>> {
        input.iter().flat_map(|i| self.children(i)).collect()
    }

    fn recursive<'a>(&self, input: Vec<Item<'a>>) -> Vec<Item<'a>> {
        let mut out = Vec::new();
        for item in input {
            let kids = self.children(&item);
            if !kids.is_empty() {
                out.push(item);
                out.extend(self.recursive(kids));
            }
        }
        out
    }

    fn filter<'a>(
        &self,
        input: Vec<Item<'a>>,
        left: &[Node],
        right: &[Node],
        op: &str,
    ) -> Walk<'a> {
        let mut out = Vec::new();
        for item in &input {
            if !item.v.is_array() {
                let what = match item.v.as_ref() {
                    Value::Null => "<invalid reflect.Value>".to_string(),
                    other => other.to_string(),
                };
                return fail(
                    input.clone(),
                    format!("{what} is not array or slice and cannot be filtered"),
                );
            }
            for elem in self.children(item) {
                let lefts = self.list(vec![elem.clone()], left);
                if op == "exists" {
                    let lefts = lefts.unwrap_or_else(|f| f.partial);
                    if !lefts.is_empty() {
                        out.push(elem);
                    }
                    continue;
                }
                let Some(l) = one(
                    lefts.map_err(|f| Fail {
                        partial: input.clone(),
                        msg: f.msg,
                    })?,
                    &input,
                )?
                else {
                    continue;
                };
                let rights = self.list(vec![elem.clone()], right).map_err(|f| Fail {
                    partial: input.clone(),
                    msg: f.msg,
                })?;
                let Some(r) = one(rights, &input)? else {
                    continue;
                };
                let pass = match op {
                    "<" => less(&l, &r),
                    ">" => less_equal(&l, &r).map(|b| !b),
                    "==" => equal(&l, &r),
                    "!=" => equal(&l, &r).map(|b| !b),
                    "<=" => less_equal(&l, &r),
                    ">=" => less(&l, &r).map(|b| !b),
                    other => return fail(out, format!("unrecognized filter operator {other}")),
                };
                match pass {
                    Ok(true) => out.push(elem),
                    Ok(false) => {}
                    Err(e) => return fail(out, e),
                }
            }
        }
        Ok(out)
    }
}

/// The one value a filter side gave: none skips the item, several are an error.
fn one<'a>(mut v: Vec<Item<'a>>, input: &[Item<'a>]) -> Result<Option<Item<'a>>, Fail<'a>> {
    match v.len() {
        0 => Ok(None),
        1 => Ok(v.pop()),
        _ => fail(input.to_vec(), "can only compare one element at a time"),
    }
}

fn repeat<'a>(input: &[Item<'a>], v: Value) -> Vec<Item<'a>> {
    input.iter().map(|_| Item::literal(v.clone())).collect()
}
