//! A serde deserializer over [`Node`] that knows where it is: every error carries the field
//! path and the line, unknown keys are reported as `field X not found in type T` (all of them,
//! not just the first), and scalars decode by yaml.v3's rules.

use super::{Node, NodeKind};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde_json::Value;
use std::cell::RefCell;
use std::fmt;

/// A decoding error located in the document.
#[derive(Debug, Clone, PartialEq)]
pub struct DeError {
    /// Field path such as `clients.hyperfleet_api.timeout` (empty for the document root).
    pub path: String,
    /// 1-based line; 0 when unknown.
    pub line: usize,
    pub message: String,
    /// Child indices from the root to the failing node, used to retry without it.
    ipath: Option<Vec<usize>>,
}

impl DeError {
    fn at(node: &Node, path: &str, ipath: &[usize], message: String) -> Self {
        DeError {
            path: path.to_string(),
            line: node.line,
            message,
            ipath: Some(ipath.to_vec()),
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
        }
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            path: String::new(),
            line: 0,
            message: msg.to_string(),
            ipath: None,
        }
    }
}

/// Decodes `node` into `T`, failing on the first problem.
pub fn decode<T: DeserializeOwned>(node: &Node) -> Result<T, DeError> {
    let (value, mut errors) = decode_collecting::<T>(node);
    match value {
        Some(v) if errors.is_empty() => Ok(v),
        _ => Err(errors.remove(0)),
    }
}

/// Decodes `node` into `T` and reports every unknown key and every type error, not just the
/// first: a node that fails to decode is dropped and the decode is retried without it.
pub fn decode_collecting<T: DeserializeOwned>(node: &Node) -> (Option<T>, Vec<DeError>) {
    let mut tree = node.clone();
    let mut fatal = Vec::new();
    for _ in 0..64 {
        let unknown = RefCell::new(Vec::new());
        let de = De {
            node: &tree,
            path: String::new(),
            ipath: Vec::new(),
            unknown: &unknown,
        };
        match T::deserialize(de) {
            Ok(v) => {
                let mut all = unknown.into_inner();
                all.extend(fatal);
                all.sort_by_key(|e: &DeError| e.line);
                return (Some(v), all);
            }
            Err(e) => {
                let removable = e.ipath.clone().filter(|p| !p.is_empty());
                fatal.push(e);
                match removable {
                    Some(p) if remove_at(&mut tree, &p) => continue,
                    _ => break,
                }
            }
        }
    }
    fatal.sort_by_key(|e| e.line);
    (None, fatal)
}

fn remove_at(node: &mut Node, ipath: &[usize]) -> bool {
    let (first, rest) = match ipath.split_first() {
        Some(x) => x,
        None => return false,
    };
    match &mut node.kind {
        NodeKind::Map(entries) if *first < entries.len() => {
            if rest.is_empty() {
                entries.remove(*first);
                true
            } else {
                remove_at(&mut entries[*first].1, rest)
            }
        }
        NodeKind::Seq(items) if *first < items.len() => {
            if rest.is_empty() {
                items.remove(*first);
                true
            } else {
                remove_at(&mut items[*first], rest)
            }
        }
        _ => false,
    }
}

struct De<'a> {
    node: &'a Node,
    path: String,
    ipath: Vec<usize>,
    unknown: &'a RefCell<Vec<DeError>>,
}

impl<'a> De<'a> {
    fn child(&self, node: &'a Node, seg: &str, index: usize, is_key: bool) -> De<'a> {
        let path = if is_key {
            if self.path.is_empty() {
                seg.to_string()
            } else {
                format!("{}.{}", self.path, seg)
            }
        } else {
            format!("{}[{}]", self.path, index)
        };
        let mut ipath = self.ipath.clone();
        ipath.push(index);
        De {
            node,
            path,
            ipath,
            unknown: self.unknown,
        }
    }

    fn err(&self, message: String) -> DeError {
        DeError::at(self.node, &self.path, &self.ipath, message)
    }

    fn type_err(&self, want: &str) -> DeError {
        let got = match &self.node.kind {
            NodeKind::Scalar { text, .. } => format!("{} `{}`", tag_of(&self.node.to_json()), text),
            NodeKind::Seq(_) => "!!seq".to_string(),
            NodeKind::Map(_) => "!!map".to_string(),
        };
        self.err(format!("cannot unmarshal {got} into {want}"))
    }

    fn locate(&self, mut e: DeError) -> DeError {
        // Errors built by serde (custom, missing field, ...) know nothing of their position.
        if e.ipath.is_none() {
            e.line = self.node.line;
            e.path = self.path.clone();
            e.ipath = Some(self.ipath.clone());
        }
        e
    }

    fn scalar_json(&self) -> Option<Value> {
        matches!(self.node.kind, NodeKind::Scalar { .. }).then(|| self.node.to_json())
    }
}

fn tag_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "!!null",
        Value::Bool(_) => "!!bool",
        Value::Number(n) if n.is_f64() => "!!float",
        Value::Number(_) => "!!int",
        Value::String(_) => "!!str",
        Value::Array(_) => "!!seq",
        Value::Object(_) => "!!map",
    }
}

macro_rules! int_method {
    ($method:ident, $visit:ident, $ty:ty, $name:literal) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            match self.scalar_json() {
                Some(Value::Number(n)) if !n.is_f64() => {
                    let v = n
                        .as_i64()
                        .map(|v| <$ty>::try_from(v).ok())
                        .or_else(|| n.as_u64().map(|v| <$ty>::try_from(v).ok()));
                    match v.flatten() {
                        Some(v) => visitor.$visit(v),
                        None => Err(self.type_err($name)),
                    }
                }
                _ => Err(self.type_err($name)),
            }
        }
    };
}

impl<'de> de::Deserializer<'de> for De<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            NodeKind::Scalar { .. } => match self.node.to_json() {
                Value::Null => visitor.visit_unit(),
                Value::Bool(b) => visitor.visit_bool(b),
                Value::Number(n) => {
                    if let Some(i) = n.as_i64() {
                        visitor.visit_i64(i)
                    } else if let Some(u) = n.as_u64() {
                        visitor.visit_u64(u)
                    } else {
                        visitor.visit_f64(n.as_f64().unwrap_or_default())
                    }
                }
                Value::String(s) => visitor.visit_string(s),
                _ => Err(self.type_err("any")),
            },
            NodeKind::Seq(_) => self.deserialize_seq(visitor),
            NodeKind::Map(_) => self.deserialize_map(visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar_json() {
            Some(Value::Bool(b)) => visitor.visit_bool(b),
            _ => Err(self.type_err("bool")),
        }
    }

    int_method!(deserialize_i8, visit_i8, i8, "int8");
    int_method!(deserialize_i16, visit_i16, i16, "int16");
    int_method!(deserialize_i32, visit_i32, i32, "int32");
    int_method!(deserialize_i64, visit_i64, i64, "int");
    int_method!(deserialize_u8, visit_u8, u8, "uint8");
    int_method!(deserialize_u16, visit_u16, u16, "uint16");
    int_method!(deserialize_u32, visit_u32, u32, "uint32");
    int_method!(deserialize_u64, visit_u64, u64, "uint64");

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.scalar_json() {
            Some(Value::Number(n)) => visitor.visit_f64(n.as_f64().unwrap_or_default()),
            _ => Err(self.type_err("float64")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            // yaml.v3 decodes any scalar into a string field using its text.
            NodeKind::Scalar { text, .. } => visitor.visit_string(text.clone()),
            _ => Err(self.type_err("string")),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.node.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            NodeKind::Seq(items) => {
                let acc = SeqAcc {
                    de: &self,
                    items,
                    pos: 0,
                };
                visitor.visit_seq(acc).map_err(|e| self.locate(e))
            }
            _ if self.node.is_null() => visitor.visit_seq(SeqAcc {
                de: &self,
                items: &[],
                pos: 0,
            }),
            _ => Err(self.type_err("sequence")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.visit_mapping(visitor, None)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.visit_mapping(visitor, Some((name, fields)))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.kind {
            NodeKind::Scalar { text, .. } => {
                let de: de::value::StringDeserializer<DeError> = text.clone().into_deserializer();
                visitor.visit_enum(de).map_err(|e| self.locate(e))
            }
            _ => Err(self.type_err("string")),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

impl<'a> De<'a> {
    fn visit_mapping<'de, V: Visitor<'de>>(
        self,
        visitor: V,
        schema: Option<(&'static str, &'static [&'static str])>,
    ) -> Result<V::Value, DeError> {
        let entries: &[(Node, Node)] = match &self.node.kind {
            NodeKind::Map(entries) => entries,
            _ if self.node.is_null() => &[],
            _ => return Err(self.type_err(schema.map(|s| s.0).unwrap_or("map"))),
        };
        let acc = MapAcc {
            de: &self,
            entries,
            pos: 0,
            schema,
            value: None,
        };
        visitor.visit_map(acc).map_err(|e| self.locate(e))
    }
}

struct SeqAcc<'a, 'b> {
    de: &'b De<'a>,
    items: &'a [Node],
    pos: usize,
}

impl<'de> de::SeqAccess<'de> for SeqAcc<'_, '_> {
    type Error = DeError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some(item) = self.items.get(self.pos) else {
            return Ok(None);
        };
        let child = self.de.child(item, "", self.pos, false);
        self.pos += 1;
        let located = child.clone_ref();
        seed.deserialize(child)
            .map(Some)
            .map_err(|e| located.locate(e))
    }
}

impl<'a> De<'a> {
    fn clone_ref(&self) -> De<'a> {
        De {
            node: self.node,
            path: self.path.clone(),
            ipath: self.ipath.clone(),
            unknown: self.unknown,
        }
    }
}

struct MapAcc<'a, 'b> {
    de: &'b De<'a>,
    entries: &'a [(Node, Node)],
    pos: usize,
    schema: Option<(&'static str, &'static [&'static str])>,
    value: Option<De<'a>>,
}

impl<'de> de::MapAccess<'de> for MapAcc<'_, '_> {
    type Error = DeError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        while let Some((key, value)) = self.entries.get(self.pos) {
            let index = self.pos;
            self.pos += 1;
            let key_text = key
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| key.to_json().to_string());
            if let Some((type_name, fields)) = self.schema
                && !fields.contains(&key_text.as_str())
            {
                let child = self.de.child(key, &key_text, index, true);
                let msg = format!("field {key_text} not found in type {type_name}");
                self.de.unknown.borrow_mut().push(DeError {
                    ipath: None,
                    ..child.err(msg)
                });
                continue;
            }
            let key_de: de::value::StringDeserializer<DeError> =
                key_text.clone().into_deserializer();
            let k = seed.deserialize(key_de)?;
            self.value = Some(self.de.child(value, &key_text, index, true));
            return Ok(Some(k));
        }
        Ok(None)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DeError> {
        let child = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("value requested before key"))?;
        let located = child.clone_ref();
        seed.deserialize(child).map_err(|e| located.locate(e))
    }
}
