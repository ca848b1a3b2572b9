//! What the expressions of one event see: the event data, the params (captures, API responses
//! and built payloads included), the discovered resources and the time, and the two views of
//! them kept in step: template data (each param converted once per change) and CEL variables
//! (set one at a time; `adapter` and `resources` refreshed only when they changed).

use crate::expr::CelScope;
use crate::expr::jsonpath::{JsonPath, Numbers};
use crate::expr::template::{Tv, to_template_value};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, LazyLock};

/// One event's variables.
pub(super) struct Vars<'a> {
    /// Every identifier some CEL expression reads: other params are never converted to CEL.
    cel_names: &'a HashSet<String>,
    /// CEL's `env`.
    env_map: &'a Value,
    /// The redacted config: the `config` built-in.
    config: &'a Value,
    /// Built-ins whose value is lent (`event`, `config`, `env`): `params` holds a null in their
    /// place, keeping the key order [`Vars::all`] shows, until a param of that name replaces it.
    lent: Vec<&'static str>,
    /// CEL's `event` (the event data).
    pub event: Value,
    /// Params, captures, API responses and built payloads: the template data and CEL's
    /// top-level variables.
    pub params: Map<String, Value>,
    /// `resources.*`.
    pub resources: Map<String, Value>,
    /// Resources found gone (deleted), kept apart until the end.
    gone: BTreeSet<String>,
    /// The time the event started running (CEL's `now()`).
    pub now: DateTime<Utc>,
    /// Params converted for templates, one conversion per change.
    tparams: BTreeMap<Arc<str>, Tv>,
    tdata: Option<Tv>,
    /// CEL variables, updated one variable at a time as params change.
    scope: CelScope,
    /// `adapter` and `resources` changed since they were last put in the scope.
    stale: bool,
    /// While payloads are built, new params reach templates but not CEL (one CEL snapshot).
    defer_cel: bool,
    /// Params set while CEL was deferred.
    deferred: Vec<String>,
}

impl<'a> Vars<'a> {
    pub fn new(
        cel_names: &'a HashSet<String>,
        env_map: &'a Value,
        config: &'a Value,
        now: DateTime<Utc>,
    ) -> Self {
        Vars {
            cel_names,
            env_map,
            config,
            lent: Vec::new(),
            event: Value::Object(Map::new()),
            params: Map::new(),
            resources: Map::new(),
            gone: BTreeSet::new(),
            now,
            tparams: BTreeMap::new(),
            tdata: None,
            scope: CelScope::new(&Map::new(), now),
            stale: true,
            defer_cel: false,
            deferred: Vec::new(),
        }
    }

    /// The discovered resources, and whether any resource key was ever set (found or gone).
    pub fn take_resources(&mut self) -> (Map<String, Value>, bool) {
        let had_keys = !self.resources.is_empty() || !self.gone.is_empty();
        (std::mem::take(&mut self.resources), had_keys)
    }

    /// Sets a param for templates and CEL. In CEL, `adapter`, `resources`, `event` and `env`
    /// always mean the runtime's values.
    pub fn set_param(&mut self, name: &str, value: Value) {
        self.lent.retain(|b| *b != name);
        self.tparams
            .insert(Arc::from(name), to_template_value(&value));
        self.tdata = None;
        if self.defer_cel {
            self.deferred.push(name.to_string());
        } else if !is_runtime_name(name) && self.cel_names.contains(name) {
            self.scope.set(name, &value);
        }
        self.params.insert(name.to_string(), value);
    }

    /// Sets a built-in param whose value is lent (`event`, `config`, `env`), with its template
    /// value already converted: nothing is copied.
    pub fn set_lent(&mut self, name: &'static str, converted: Tv) {
        self.tparams.insert(Arc::from(name), converted);
        self.tdata = None;
        // `event` (the one lent value this borrows from) is a runtime name: never set here.
        if !is_runtime_name(name)
            && self.cel_names.contains(name)
            && let Some(v) = self.lent_shared(name)
        {
            self.scope.set(name, v);
        }
        self.params.insert(name.to_string(), Value::Null);
        self.lent.push(name);
    }

    /// The value of a lent built-in.
    fn lent_value(&self, name: &str) -> Option<&Value> {
        match name {
            "event" => Some(&self.event),
            other => self.lent_shared(other),
        }
    }

    /// The lent built-ins shared by every event (`config`, `env`).
    fn lent_shared(&self, name: &str) -> Option<&'a Value> {
        match name {
            "config" => Some(self.config),
            "env" => Some(self.env_map),
            _ => None,
        }
    }

    /// A param's value, lent built-ins included.
    fn param(&self, name: &str) -> Option<&Value> {
        if self.lent.contains(&name) {
            return self.lent_value(name);
        }
        self.params.get(name)
    }

    /// Sets the event data (CEL `event`) and the environment (CEL `env`).
    pub fn set_event(&mut self, data: Value) {
        if self.cel_names.contains("event") {
            self.scope.set("event", &data);
        }
        if self.cel_names.contains("env") {
            self.scope.set("env", self.env_map);
        }
        self.event = data;
    }

    /// Holds new params back from CEL (while payloads are built) or releases them.
    pub fn defer_cel(&mut self, defer: bool) {
        self.defer_cel = defer;
        if !defer {
            for name in std::mem::take(&mut self.deferred) {
                let wanted = !is_runtime_name(&name) && self.cel_names.contains(&name);
                // Deferred params were set by `set_param`: never lent.
                if let Some(v) = self.params.get(&name).filter(|_| wanted) {
                    self.scope.set(&name, v);
                }
            }
        }
    }

    /// Marks `adapter.*` or `resources` as changed for CEL.
    pub fn invalidate(&mut self) {
        self.stale = true;
    }

    /// Whether `adapter` or `resources` changed since CEL last saw them.
    pub fn scope_stale(&self) -> bool {
        self.stale
    }

    /// Sets or clears a discovered resource.
    pub fn set_resource(&mut self, name: &str, obj: Option<Value>) {
        match obj {
            Some(o) => {
                self.gone.remove(name);
                self.resources.insert(name.to_string(), o);
            }
            None => {
                self.resources.remove(name);
                self.gone.insert(name.to_string());
            }
        }
        self.invalidate();
    }

    /// One top-level variable as CEL sees it; `adapter` is asked for only when it is read.
    fn var(&self, name: &str, adapter: impl FnOnce() -> Value) -> Option<Value> {
        match name {
            "adapter" => Some(adapter()),
            "resources" => Some(Value::Object(self.resources.clone())),
            "event" => Some(self.event.clone()),
            "env" => Some(self.env_map.clone()),
            other if self.defer_cel && self.deferred.iter().any(|d| d == other) => None,
            other => self.param(other).cloned(),
        }
    }

    /// The variables CEL and condition fields see (§5.2), as one JSON object.
    fn all(&self, adapter: Value) -> Map<String, Value> {
        let mut vars = self.params.clone();
        for name in &self.lent {
            if let (Some(slot), Some(v)) = (vars.get_mut(*name), self.lent_value(name)) {
                *slot = v.clone();
            }
        }
        vars.insert("adapter".into(), adapter);
        vars.insert("resources".into(), Value::Object(self.resources.clone()));
        vars.insert("event".into(), self.event.clone());
        vars.insert("env".into(), self.env_map.clone());
        vars
    }

    /// Reads a JSONPath over the CEL variables, copying only the variable it starts with. As in
    /// the Go adapter, `resources` holds Kubernetes objects (integers kept) and the rest event
    /// and API data (every number a float64), which decides how filters compare numbers.
    pub fn read_path(&self, path: &JsonPath, adapter: impl FnOnce() -> Value) -> Value {
        let (first, value) = match (path.root_fields(), path.root_field()) {
            // One discovered object, not the whole set.
            (Some(("resources", name)), _) => {
                let one = self
                    .resources
                    .get(name)
                    .map(|o| (name.to_string(), o.clone()));
                ("resources", Some(Value::Object(one.into_iter().collect())))
            }
            (_, Some(first)) => (first, self.var(first, adapter)),
            (_, None) => {
                return path.get_with(&Value::Object(self.all(adapter())), read_path_numbers());
            }
        };
        let mut root = Map::new();
        if let Some(v) = value {
            root.insert(first.to_string(), v);
        }
        path.get_with(&Value::Object(root), read_path_numbers())
    }

    /// The CEL scope; `adapter` is the fresh `adapter.*` when [`Vars::scope_stale`] said so.
    pub fn scope(&mut self, adapter: Option<Value>) -> &CelScope {
        if let Some(adapter) = adapter.filter(|_| self.stale) {
            self.scope.set("adapter", &adapter);
            if self.cel_names.contains("resources") {
                self.scope.set_map("resources", &self.resources);
            }
            self.stale = false;
        }
        &self.scope
    }

    /// The params as one template value (rebuilt only after a change).
    pub fn template_data(&mut self) -> Tv {
        self.tdata
            .get_or_insert_with(|| Tv::Map(Arc::new(self.tparams.clone())))
            .clone()
    }
}

/// Names CEL always takes from the runtime, whatever a param of that name holds.
fn is_runtime_name(name: &str) -> bool {
    matches!(name, "adapter" | "resources" | "event" | "env")
}

/// The number model of the CEL variables for JSONPath filters (see [`Vars::read_path`]).
fn read_path_numbers() -> &'static Numbers {
    static NUMBERS: LazyLock<Numbers> =
        LazyLock::new(|| Numbers::IntsUnder(vec!["resources".into()]));
    &NUMBERS
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A path is read over only the part of the scope it starts in; the answer is the one the
    /// whole scope gives.
    #[test]
    fn reading_part_of_the_scope_is_reading_all_of_it() {
        let names: HashSet<String> = HashSet::new();
        let env = json!({"REGION": "eu"});
        let config = json!({"adapter": {"name": "a"}});
        let mut vars = Vars::new(&names, &env, &config, Utc::now());
        vars.set_event(json!({"id": "c1", "generation": 3}));
        vars.set_param("clusterId", json!("c1"));
        vars.set_resource(
            "ns",
            Some(json!({"metadata": {"name": "c1", "labels": {"x": "1"}}, "spec": {"n": 2}, "items": [{"name": "i0"}]})),
        );
        vars.set_resource(
            "cm",
            Some(json!({"metadata": {"name": "cm1"}, "data": {"k": "v"}})),
        );
        vars.set_resource("gone", None);
        let adapter = || json!({"name": "a", "executionStatus": "success"});
        let all = Value::Object(vars.all(adapter()));
        for text in [
            "{.resources.ns.metadata.name}",
            "{.resources.ns.spec.n}",
            "{.resources.ns}",
            "{.resources.ns.items[0].name}",
            "{.resources.ns.items[*].name}",
            "{.resources.cm.data.k}",
            "{.resources.gone.metadata}",
            "{.resources.missing}",
            "{.resources.ns.metadata.missing}",
            "{.resources}",
            "{.resources.*.metadata.name}",
            "{.resources..name}",
            "{.resources[?(@.metadata.name==\"c1\")].spec.n}",
            "{.event.id}",
            "{.clusterId}",
            "{.adapter.executionStatus}",
            "{.env.REGION}",
            "{..name}",
        ] {
            let path = JsonPath::compile(text).unwrap();
            assert_eq!(
                vars.read_path(&path, adapter),
                path.get_with(&all, read_path_numbers()),
                "{text}"
            );
        }
    }
}
