//! The API server's object semantics: kinds, versions, create/update/apply/delete with
//! generations, field ownership, finalizers, garbage collection and namespaces.

use super::*;
/// A parsed resource path.
pub(super) struct Target {
    t: ResourceType,
    namespace: String,
    name: Option<String>,
}

impl State {
    pub(super) fn find_kind(&self, api_version: &str, kind: &str) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| t.api_version() == api_version && t.kind == kind)
            .cloned()
    }

    pub(super) fn find_plural(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    pub(super) fn next_version(&mut self) -> String {
        self.version += 1;
        self.version.to_string()
    }

    pub(super) fn route(
        &mut self,
        method: &Method,
        path: &str,
        query: &BTreeMap<String, String>,
        content_type: &str,
        body: &[u8],
    ) -> Reply {
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        if method == Method::GET
            && let Some(doc) = self.discovery(&segs)
        {
            return doc;
        }
        let (group, version, rest) = match segs.as_slice() {
            ["api", v, rest @ ..] if !rest.is_empty() => ("", *v, rest),
            ["apis", g, v, rest @ ..] if !rest.is_empty() => (*g, *v, rest),
            _ => return not_found_path(),
        };
        let (namespace, plural, name) = match rest {
            ["namespaces", ns, plural, name] => (*ns, *plural, Some(*name)),
            ["namespaces", ns, plural] => (*ns, *plural, None),
            [plural, name] => ("", *plural, Some(*name)),
            [plural] => ("", *plural, None),
            _ => return not_found_path(),
        };
        let Some(t) = self.find_plural(group, version, plural) else {
            return not_found_path();
        };
        if !t.namespaced && !namespace.is_empty() {
            return not_found_path();
        }
        let target = Target {
            t,
            namespace: namespace.to_string(),
            name: name.map(str::to_string),
        };
        let parsed = || -> Result<Value, Reply> {
            serde_json::from_slice(body).map_err(|e| {
                status(
                    400,
                    "BadRequest",
                    &format!("error decoding body: {e}"),
                    Value::Null,
                )
            })
        };
        let result = match (method.clone(), target.name.is_some()) {
            (Method::GET, true) => self.get_one(&target),
            (Method::GET, false) => self.list(&target, query),
            (Method::POST, false) => parsed().and_then(|b| self.create(&target, b, query)),
            (Method::PUT, true) => parsed().and_then(|b| self.replace(&target, b, query)),
            (Method::PATCH, true) => {
                parsed().and_then(|b| self.patch(&target, b, query, content_type))
            }
            (Method::DELETE, true) => {
                let opts: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                let policy = opts
                    .get("propagationPolicy")
                    .and_then(Value::as_str)
                    .or(query.get("propagationPolicy").map(String::as_str))
                    .unwrap_or("Background")
                    .to_string();
                let preconditions = opts.get("preconditions").cloned().unwrap_or(Value::Null);
                self.delete(&target, &policy, &preconditions)
            }
            _ => Err(status(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
                Value::Null,
            )),
        };
        result.unwrap_or_else(|r| r)
    }

    pub(super) fn discovery(&self, segs: &[&str]) -> Option<Reply> {
        let groups = || {
            let mut by_group: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for t in self.types.iter().filter(|t| !t.group.is_empty()) {
                by_group
                    .entry(t.group.clone())
                    .or_default()
                    .insert(t.version.clone());
            }
            by_group
        };
        let group_doc = |name: &str, versions: &BTreeSet<String>| {
            let vs: Vec<Value> = versions
                .iter()
                .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
                .collect();
            json!({"kind": "APIGroup", "apiVersion": "v1", "name": name, "versions": vs, "preferredVersion": vs[0]})
        };
        let resources = |group: &str, version: &str| {
            let list: Vec<Value> = self
                .types
                .iter()
                .filter(|t| t.group == group && t.version == version)
                .map(|t| json!({
                    "name": t.plural, "singularName": t.kind.to_lowercase(), "namespaced": t.namespaced,
                    "kind": t.kind,
                    "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
                }))
                .collect();
            list
        };
        let gv = |group: &str, version: &str| {
            let list = resources(group, version);
            if list.is_empty() {
                return not_found_path();
            }
            let group_version = if group.is_empty() {
                version.to_string()
            } else {
                format!("{group}/{version}")
            };
            reply(
                200,
                &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": list}),
            )
        };
        Some(match segs {
            ["version"] => reply(
                200,
                &json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-fake", "platform": "linux/amd64"}),
            ),
            ["api"] => reply(
                200,
                &json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
            ),
            ["api", v] => gv("", v),
            ["apis"] => {
                let list: Vec<Value> = groups().iter().map(|(g, vs)| group_doc(g, vs)).collect();
                reply(
                    200,
                    &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": list}),
                )
            }
            ["apis", g] => match groups().get(*g) {
                Some(vs) => reply(200, &group_doc(g, vs)),
                None => not_found_path(),
            },
            ["apis", g, v] => gv(g, v),
            _ => return None,
        })
    }

    pub(super) fn get_one(&self, target: &Target) -> Result<Reply, Reply> {
        let name = target.name.as_deref().unwrap_or_default();
        self.objects
            .get(&key(&target.t, &target.namespace, name))
            .map(|o| reply(200, &o.obj))
            .ok_or_else(|| object_not_found(&target.t, name))
    }

    pub(super) fn list(
        &self,
        target: &Target,
        query: &BTreeMap<String, String>,
    ) -> Result<Reply, Reply> {
        let selector = match query.get("labelSelector") {
            Some(s) if !s.is_empty() => parse_selector(s).map_err(|e| {
                status(
                    400,
                    "BadRequest",
                    &format!("unable to parse requirement: {e}"),
                    Value::Null,
                )
            })?,
            _ => Vec::new(),
        };
        let t = &target.t;
        let items: Vec<Value> = self
            .objects
            .iter()
            .filter(|((g, p, ns, _), o)| {
                *g == t.group
                    && *p == t.plural
                    && (target.namespace.is_empty() || *ns == target.namespace)
                    && selector
                        .iter()
                        .all(|r| r.matches(o.obj.pointer("/metadata/labels")))
            })
            .map(|(_, o)| {
                let mut item = o.obj.clone();
                if t.builtin() {
                    // Like the real server: typed list items carry no apiVersion/kind.
                    if let Some(m) = item.as_object_mut() {
                        m.remove("apiVersion");
                        m.remove("kind");
                    }
                }
                item
            })
            .collect();
        Ok(reply(
            200,
            &json!({"kind": format!("{}List", t.kind), "apiVersion": t.api_version(),
                    "metadata": {"resourceVersion": self.version.to_string()}, "items": items}),
        ))
    }

    /// Checks the body's identity against the path and that its namespace exists.
    pub(super) fn admit(&self, target: &Target, body: &Value, name: &str) -> Result<(), Reply> {
        let t = &target.t;
        if body
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k != t.kind)
        {
            return Err(status(
                400,
                "BadRequest",
                &format!(
                    "the kind of the object ({}) does not match the path ({})",
                    body["kind"], t.kind
                ),
                Value::Null,
            ));
        }
        if name.is_empty() {
            return Err(status(
                422,
                "Invalid",
                &format!(
                    "{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                    t.kind
                ),
                Value::Null,
            ));
        }
        if !valid_name(name) {
            return Err(status(
                422,
                "Invalid",
                &format!(
                    "{} {name:?} is invalid: metadata.name: Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'",
                    t.kind
                ),
                Value::Null,
            ));
        }
        if t.namespaced {
            let body_ns = meta(body, "namespace");
            if !body_ns.is_empty() && body_ns != target.namespace {
                return Err(status(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                    Value::Null,
                ));
            }
            let ns_type = ResourceType::new("v1", "Namespace", "namespaces", false);
            match self.objects.get(&key(&ns_type, "", &target.namespace)) {
                None => {
                    return Err(status(
                        404,
                        "NotFound",
                        &format!("namespaces {:?} not found", target.namespace),
                        json!({"name": target.namespace, "kind": "namespaces"}),
                    ));
                }
                Some(ns) if ns.obj.pointer("/metadata/deletionTimestamp").is_some() => {
                    return Err(status(
                        403,
                        "Forbidden",
                        &format!(
                            "{} {name:?} is forbidden: unable to create new content in namespace {} because it is being terminated",
                            qualified(t),
                            target.namespace
                        ),
                        json!({"name": name, "kind": t.plural}),
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    pub(super) fn create(
        &mut self,
        target: &Target,
        body: Value,
        query: &BTreeMap<String, String>,
    ) -> Result<Reply, Reply> {
        let name = meta(&body, "name").to_string();
        self.admit(target, &body, &name)?;
        if !meta(&body, "resourceVersion").is_empty() {
            return Err(status(
                500,
                "InternalError",
                "resourceVersion should not be set on objects to be created",
                Value::Null,
            ));
        }
        let k = key(&target.t, &target.namespace, &name);
        if self.objects.contains_key(&k) {
            return Err(status(
                409,
                "AlreadyExists",
                &format!("{} {name:?} already exists", qualified(&target.t)),
                json!({"name": name, "kind": target.t.plural}),
            ));
        }
        let manager = update_manager(query);
        let t = target.t.clone();
        let stored = self.write_update(&t, None, self.place(target, body), &manager);
        let obj = stored.obj.clone();
        self.store(k, stored);
        Ok(reply(201, &obj))
    }

    /// The body with the path's identity.
    pub(super) fn place(&self, target: &Target, mut body: Value) -> Value {
        let t = &target.t;
        if !body.is_object() {
            body = json!({});
        }
        body["apiVersion"] = json!(t.api_version());
        body["kind"] = json!(t.kind);
        if !body.get("metadata").is_some_and(Value::is_object) {
            body["metadata"] = json!({});
        }
        if t.namespaced {
            body["metadata"]["namespace"] = json!(target.namespace);
        } else if let Some(m) = body["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        body
    }

    pub(super) fn replace(
        &mut self,
        target: &Target,
        body: Value,
        query: &BTreeMap<String, String>,
    ) -> Result<Reply, Reply> {
        let name = target.name.clone().unwrap_or_default();
        let k = key(&target.t, &target.namespace, &name);
        let Some(existing) = self.objects.get(&k).cloned() else {
            return Err(object_not_found(&target.t, &name));
        };
        let rv = meta(&body, "resourceVersion");
        if !rv.is_empty() && rv != meta(&existing.obj, "resourceVersion") {
            return Err(modified(&target.t, &name));
        }
        let manager = update_manager(query);
        let t = target.t.clone();
        let placed = self.place(target, body);
        let stored = self.write_update(&t, Some(existing), placed, &manager);
        let obj = stored.obj.clone();
        self.store(k, stored);
        Ok(reply(200, &obj))
    }

    pub(super) fn patch(
        &mut self,
        target: &Target,
        body: Value,
        query: &BTreeMap<String, String>,
        content_type: &str,
    ) -> Result<Reply, Reply> {
        let name = target.name.clone().unwrap_or_default();
        let k = key(&target.t, &target.namespace, &name);
        let existing = self.objects.get(&k).cloned();
        let t = target.t.clone();
        if content_type.starts_with("application/apply-patch") {
            let Some(manager) = query.get("fieldManager").filter(|m| !m.is_empty()).cloned() else {
                return Err(status(
                    422,
                    "Invalid",
                    "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                    Value::Null,
                ));
            };
            let body_name = meta(&body, "name");
            if body_name != name {
                return Err(status(
                    400,
                    "BadRequest",
                    "the name of the object does not match the name on the URL",
                    Value::Null,
                ));
            }
            if existing.is_none() {
                self.admit(target, &body, &name)?;
            }
            let mut body = body;
            if let Err(refused) = apply_preconditions(&t, &name, existing.as_ref(), &mut body) {
                self.refused_writes += 1;
                return Err(refused);
            }
            let force = query.get("force").is_some_and(|f| f == "true");
            let placed = self.place(target, body);
            let created = existing.is_none();
            let stored = self.write_apply(&t, existing, placed, &manager, force)?;
            let obj = stored.obj.clone();
            self.store(k, stored);
            return Ok(reply(if created { 201 } else { 200 }, &obj));
        }
        if content_type.starts_with("application/json-patch+json") {
            let Some(existing) = existing else {
                return Err(object_not_found(&t, &name));
            };
            return self.json_patch(target, k, existing, &body, query);
        }
        if content_type.starts_with("application/merge-patch+json")
            || content_type.starts_with("application/strategic-merge-patch+json")
        {
            let Some(existing) = existing else {
                return Err(object_not_found(&t, &name));
            };
            let mut merged = existing.obj.clone();
            hyperfleet_adapter::adapters::transport::merge_patch(&mut merged, &body);
            let manager = update_manager(query);
            let placed = self.place(target, merged);
            let stored = self.write_update(&t, Some(existing), placed, &manager);
            let obj = stored.obj.clone();
            self.store(k, stored);
            return Ok(reply(200, &obj));
        }
        Err(status(
            415,
            "UnsupportedMediaType",
            &format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {content_type:?})"
            ),
            Value::Null,
        ))
    }

    /// A JSON patch (RFC 6902: `test`, `replace`, `add`, `remove`). A patch that changes
    /// `metadata.managedFields` sets them, as the API server takes managed fields a request
    /// gives: here entries may be renamed (manager, operation) in place, keeping their fields;
    /// any other patch is an update by the request's manager.
    fn json_patch(
        &mut self,
        target: &Target,
        k: Key,
        existing: Stored,
        ops: &Value,
        query: &BTreeMap<String, String>,
    ) -> Result<Reply, Reply> {
        let t = target.t.clone();
        let invalid = |m: String| status(422, "Invalid", &m, Value::Null);
        let mut obj = existing.obj.clone();
        for op in ops.as_array().into_iter().flatten() {
            let path = op["path"].as_str().unwrap_or_default();
            let value = op.get("value").cloned().unwrap_or(Value::Null);
            let (parent, last) = path.rsplit_once('/').unwrap_or(("", path));
            match op["op"].as_str().unwrap_or_default() {
                "test" => {
                    if obj.pointer(path) != Some(&value) {
                        return Err(invalid(format!(
                            "the server rejected our request due to an error in our request: testing value {path} failed"
                        )));
                    }
                }
                "replace" => match obj.pointer_mut(path) {
                    Some(slot) => *slot = value,
                    None => {
                        return Err(invalid(format!(
                            "the server rejected our request due to an error in our request: replace operation does not apply: doc is missing key: {path}"
                        )));
                    }
                },
                "add" => match obj.pointer_mut(parent) {
                    Some(Value::Object(m)) => {
                        m.insert(last.replace("~1", "/").replace("~0", "~"), value);
                    }
                    _ => return Err(invalid(format!("add: missing parent of {path}"))),
                },
                "remove" => match obj.pointer_mut(parent) {
                    Some(Value::Object(m)) => {
                        m.remove(&last.replace("~1", "/").replace("~0", "~"));
                    }
                    _ => return Err(invalid(format!("remove: missing {path}"))),
                },
                other => {
                    return Err(invalid(format!(
                        "unsupported JSON patch operation {other:?}"
                    )));
                }
            }
        }
        let before = existing.obj.pointer("/metadata/managedFields");
        let after = obj.pointer("/metadata/managedFields").cloned();
        if after.as_ref() != before {
            let after = after.unwrap_or_default();
            let entries = after.as_array().cloned().unwrap_or_default();
            if entries.len() != existing.owners.len() {
                return Err(invalid(
                    "the fake only renames managedFields entries in place".into(),
                ));
            }
            let mut owners = BTreeMap::new();
            for (entry, fields) in entries.iter().zip(existing.owners.values()) {
                let who = (
                    entry["manager"].as_str().unwrap_or_default().to_string(),
                    entry["operation"].as_str().unwrap_or_default().to_string(),
                );
                owners.insert(who, fields.clone());
            }
            let previous = existing.obj.clone();
            self.stamp(&t, &mut obj, Some(&previous));
            render_managed_fields(&mut obj, &owners, &t.api_version());
            self.store(
                k,
                Stored {
                    obj: obj.clone(),
                    owners,
                },
            );
            return Ok(reply(200, &obj));
        }
        let manager = update_manager(query);
        let placed = self.place(target, obj);
        let stored = self.write_update(&t, Some(existing), placed, &manager);
        let obj = stored.obj.clone();
        self.store(k, stored);
        Ok(reply(200, &obj))
    }

    pub(super) fn delete(
        &mut self,
        target: &Target,
        policy: &str,
        preconditions: &Value,
    ) -> Result<Reply, Reply> {
        self.gc_pending = true;
        let name = target.name.clone().unwrap_or_default();
        let t = target.t.clone();
        let k = key(&t, &target.namespace, &name);
        let Some(stored) = self.objects.get(&k).cloned() else {
            return Err(object_not_found(&t, &name));
        };
        // `DeleteOptions.preconditions`: the object must still be the one the client read.
        for (field, what) in [("uid", "UID"), ("resourceVersion", "ResourceVersion")] {
            if let Some(want) = preconditions.get(field).and_then(Value::as_str)
                && want != meta(&stored.obj, field)
            {
                self.refused_writes += 1;
                return Err(status(
                    409,
                    "Conflict",
                    &format!(
                        "Operation cannot be fulfilled on {} {name:?}: Precondition failed: {what} in precondition: {want}, {what} in object meta: {}",
                        qualified(&t),
                        meta(&stored.obj, field)
                    ),
                    json!({"name": name, "kind": t.plural}),
                ));
            }
        }
        if !matches!(policy, "Background" | "Foreground" | "Orphan") {
            return Err(status(
                422,
                "Invalid",
                &format!(
                    "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: {policy:?}: supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
                ),
                Value::Null,
            ));
        }
        let uid = meta(&stored.obj, "uid").to_string();
        let dependents: Vec<Key> = self
            .objects
            .iter()
            .filter(|(_, o)| owned_by(&o.obj, &uid))
            .map(|(k, _)| k.clone())
            .collect();
        if policy == "Orphan" {
            for d in &dependents {
                if let Some(o) = self.objects.get_mut(d)
                    && let Some(refs) = o.obj["metadata"]["ownerReferences"].as_array_mut()
                {
                    refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(&uid));
                }
            }
        }
        let version = self.next_version();
        let obj = &mut self.objects.get_mut(&k).expect("present").obj;
        if obj.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(reply(202, obj));
        }
        let mut finalizers: Vec<Value> = obj["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if policy == "Foreground" && !dependents.is_empty() {
            finalizers.push(json!("foregroundDeletion"));
        }
        let is_namespace = t.group.is_empty() && t.plural == "namespaces";
        if finalizers.is_empty() && !is_namespace {
            self.objects.remove(&k);
            return Ok(reply(
                200,
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": {"name": name, "group": t.group, "kind": t.plural, "uid": uid}}),
            ));
        }
        obj["metadata"]["finalizers"] = Value::Array(finalizers);
        obj["metadata"]["deletionTimestamp"] = json!(NOW);
        obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        obj["metadata"]["resourceVersion"] = json!(version);
        if is_namespace {
            obj["status"] = json!({"phase": "Terminating"});
        }
        Ok(reply(200, obj))
    }

    /// Stores an object, noting whether the controllers of [`State::reconcile`] may now have
    /// work: only deletions, namespaces, finalizers and owner references give them any.
    pub(super) fn store(&mut self, k: Key, stored: Stored) {
        self.gc_pending |= k.1 == "namespaces" || gc_relevant(&stored.obj);
        if self.record_writes {
            self.writes.push(stored.obj.clone());
        }
        self.objects.insert(k, stored);
    }

    /// What the controllers would do: namespaces empty themselves, the garbage collector removes
    /// dependents of deleted owners, objects whose finalizers are gone disappear. A pass walks
    /// every object, so it runs only when a write since the last one could give it work (see
    /// [`State::store`]): a store of thousands of plain objects stays linear.
    pub(super) fn reconcile(&mut self) {
        if !std::mem::take(&mut self.gc_pending) {
            return;
        }
        loop {
            let mut changed = false;
            let terminating: Vec<String> = self
                .objects
                .iter()
                .filter(|((g, p, _, _), o)| {
                    g.is_empty()
                        && p == "namespaces"
                        && o.obj.pointer("/metadata/deletionTimestamp").is_some()
                })
                .map(|((_, _, _, n), _)| n.clone())
                .collect();
            for ns in &terminating {
                let contents: Vec<Key> = self
                    .objects
                    .keys()
                    .filter(|(_, _, n, _)| n == ns)
                    .cloned()
                    .collect();
                for k in &contents {
                    changed |= self.begin_deletion(k);
                }
                let finalizers_left = self
                    .objects
                    .get(&(
                        String::new(),
                        "namespaces".into(),
                        String::new(),
                        ns.clone(),
                    ))
                    .and_then(|o| {
                        o.obj
                            .pointer("/metadata/finalizers")
                            .and_then(Value::as_array)
                            .map(|f| !f.is_empty())
                    })
                    .unwrap_or(false);
                if contents.is_empty() && !finalizers_left {
                    self.objects.remove(&(
                        String::new(),
                        "namespaces".into(),
                        String::new(),
                        ns.clone(),
                    ));
                    changed = true;
                }
            }
            let live: BTreeSet<String> = self
                .objects
                .values()
                .map(|o| meta(&o.obj, "uid").to_string())
                .collect();
            let orphans: Vec<Key> = self
                .objects
                .iter()
                .filter(|(_, o)| {
                    o.obj
                        .pointer("/metadata/ownerReferences")
                        .and_then(Value::as_array)
                        .is_some_and(|refs| {
                            !refs.is_empty()
                                && refs.iter().all(|r| {
                                    r.get("uid")
                                        .and_then(Value::as_str)
                                        .is_some_and(|u| !live.contains(u))
                                })
                        })
                })
                .map(|(k, _)| k.clone())
                .collect();
            // Dependents of owners deleted in the foreground go first.
            let foreground: BTreeSet<String> = self
                .objects
                .values()
                .filter(|o| {
                    o.obj
                        .pointer("/metadata/finalizers")
                        .and_then(Value::as_array)
                        .is_some_and(|f| f.iter().any(|x| x == "foregroundDeletion"))
                })
                .map(|o| meta(&o.obj, "uid").to_string())
                .collect();
            let doomed: Vec<Key> = self
                .objects
                .iter()
                .filter(|(_, o)| foreground.iter().any(|uid| owned_by(&o.obj, uid)))
                .map(|(k, _)| k.clone())
                .collect();
            for k in orphans.iter().chain(&doomed) {
                changed |= self.begin_deletion(k);
            }
            // Foreground owners whose dependents are gone, and objects whose finalizers are gone.
            let keys: Vec<Key> = self.objects.keys().cloned().collect();
            for k in keys {
                let o = &self.objects[&k].obj;
                if o.pointer("/metadata/deletionTimestamp").is_none()
                    || (k.1 == "namespaces" && k.0.is_empty())
                {
                    continue;
                }
                let uid = meta(o, "uid").to_string();
                let has_dependents = self.objects.values().any(|d| owned_by(&d.obj, &uid));
                let obj = &mut self.objects.get_mut(&k).expect("present").obj;
                if !has_dependents && let Some(f) = obj["metadata"]["finalizers"].as_array_mut() {
                    let before = f.len();
                    f.retain(|x| x != "foregroundDeletion");
                    changed |= f.len() != before;
                }
                if obj["metadata"]["finalizers"]
                    .as_array()
                    .is_none_or(|f| f.is_empty())
                {
                    self.objects.remove(&k);
                    changed = true;
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// Marks an object deleted (removing it unless finalizers hold it). Returns whether
    /// anything changed.
    pub(super) fn begin_deletion(&mut self, k: &Key) -> bool {
        self.gc_pending = true;
        let Some(o) = self.objects.get_mut(k) else {
            return false;
        };
        if o.obj.pointer("/metadata/deletionTimestamp").is_some() {
            return false;
        }
        if o.obj["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
        {
            o.obj["metadata"]["deletionTimestamp"] = json!(NOW);
        } else {
            self.objects.remove(k);
        }
        true
    }

    /// Stores `obj` as `manager` would by an update (see [`super::FakeKube::put`]).
    pub(super) fn put(&mut self, manager: &str, obj: Value) {
        let t = self
            .find_kind(
                obj["apiVersion"].as_str().unwrap_or_default(),
                obj["kind"].as_str().unwrap_or_default(),
            )
            .expect("kind served by the fake");
        let ns = meta(&obj, "namespace").to_string();
        let name = meta(&obj, "name").to_string();
        let k = key(&t, if t.namespaced { &ns } else { "" }, &name);
        let previous = self.objects.get(&k).cloned();
        let stored = self.write_update(&t, previous, obj, manager);
        self.store(k, stored);
        self.reconcile();
    }

    pub(super) fn stamp(&mut self, t: &ResourceType, obj: &mut Value, previous: Option<&Value>) {
        let version = self.next_version();
        let m = obj["metadata"].as_object_mut().expect("metadata");
        m.insert("resourceVersion".into(), json!(version));
        match previous {
            Some(p) => {
                for f in [
                    "uid",
                    "creationTimestamp",
                    "deletionTimestamp",
                    "deletionGracePeriodSeconds",
                ] {
                    match p.pointer(&format!("/metadata/{f}")) {
                        Some(v) => m.insert(f.into(), v.clone()),
                        None => m.remove(f),
                    };
                }
                let generation = p
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                let changed = spec_of(p) != spec_of(obj);
                let m = obj["metadata"].as_object_mut().expect("metadata");
                m.insert(
                    "generation".into(),
                    json!(if changed { generation + 1 } else { generation }),
                );
                if let Some(s) = p.get("status") {
                    obj["status"] = s.clone();
                }
            }
            None => {
                m.insert(
                    "uid".into(),
                    json!(format!("00000000-0000-4000-8000-{:012x}", self.version)),
                );
                m.insert("creationTimestamp".into(), json!(NOW));
                m.insert("generation".into(), json!(1));
                m.remove("deletionTimestamp");
                if t.group.is_empty() && t.plural == "namespaces" {
                    obj["spec"] = json!({"finalizers": ["kubernetes"]});
                    obj["status"] = json!({"phase": "Active"});
                }
            }
        }
    }

    /// A create or update by `manager` (operation `Update`): it takes the fields it changed.
    pub(super) fn write_update(
        &mut self,
        t: &ResourceType,
        previous: Option<Stored>,
        mut obj: Value,
        manager: &str,
    ) -> Stored {
        let prev_obj = previous.as_ref().map(|p| p.obj.clone());
        let mut owners = previous.map(|p| p.owners).unwrap_or_default();
        let new_leaves = leaves(&obj);
        let old_leaves = prev_obj.as_ref().map(leaves).unwrap_or_default();
        let changed: BTreeSet<FieldPath> = new_leaves
            .iter()
            .filter(|p| prev_obj.as_ref().is_none_or(|o| at(o, p) != at(&obj, p)))
            .cloned()
            .collect();
        let removed: BTreeSet<FieldPath> = old_leaves.difference(&new_leaves).cloned().collect();
        for set in owners.values_mut() {
            set.retain(|p| !changed.contains(p) && !removed.contains(p));
        }
        owners
            .entry((manager.into(), "Update".into()))
            .or_default()
            .extend(changed);
        owners.retain(|_, s| !s.is_empty());
        self.stamp(t, &mut obj, prev_obj.as_ref());
        render_managed_fields(&mut obj, &owners, &t.api_version());
        Stored { obj, owners }
    }

    /// Server-side apply by `manager`.
    pub(super) fn write_apply(
        &mut self,
        t: &ResourceType,
        previous: Option<Stored>,
        config: Value,
        manager: &str,
        force: bool,
    ) -> Result<Stored, Reply> {
        let me = (manager.to_string(), "Apply".to_string());
        let (mut obj, mut owners) = match &previous {
            Some(p) => (p.obj.clone(), p.owners.clone()),
            None => (
                json!({"apiVersion": config["apiVersion"], "kind": config["kind"], "metadata": {"name": config["metadata"]["name"]}}),
                BTreeMap::new(),
            ),
        };
        if let Some(ns) = config.pointer("/metadata/namespace") {
            obj["metadata"]["namespace"] = ns.clone();
        }
        let applied = leaves(&config);
        let mut conflicts = Vec::new();
        for p in &applied {
            for (who, set) in &owners {
                if *who != me && set.contains(p) && at(&obj, p) != at(&config, p) {
                    conflicts.push((who.0.clone(), p.clone()));
                }
            }
        }
        if !conflicts.is_empty() && !force {
            let list: Vec<String> = conflicts
                .iter()
                .map(|(m, p)| {
                    format!(
                        "conflict with {m:?} using {}: .{}",
                        t.api_version(),
                        p.join(".")
                    )
                })
                .collect();
            return Err(status(
                409,
                "Conflict",
                &format!(
                    "Apply failed with {} conflict{}: {}",
                    list.len(),
                    if list.len() == 1 { "" } else { "s" },
                    list.join("\n")
                ),
                Value::Null,
            ));
        }
        for (who, set) in owners.iter_mut() {
            if *who != me {
                set.retain(|p| !conflicts.iter().any(|(m, c)| *m == who.0 && c == p));
            }
        }
        let previously: BTreeSet<FieldPath> = owners.get(&me).cloned().unwrap_or_default();
        for gone in previously.difference(&applied) {
            let shared = owners
                .iter()
                .any(|(who, set)| *who != me && set.contains(gone));
            if !shared {
                remove_at(&mut obj, gone);
            }
        }
        for p in &applied {
            if let Some(v) = at(&config, p) {
                set_at(&mut obj, p, v.clone());
            }
        }
        owners.insert(me, applied);
        owners.retain(|_, s| !s.is_empty());
        let prev_obj = previous.as_ref().map(|p| p.obj.clone());
        self.stamp(t, &mut obj, prev_obj.as_ref());
        render_managed_fields(&mut obj, &owners, &t.api_version());
        Ok(Stored { obj, owners })
    }
}

/// The 409 Conflict of a write whose `resourceVersion` is not the object's.
fn modified(t: &ResourceType, name: &str) -> Reply {
    status(
        409,
        "Conflict",
        &format!(
            "Operation cannot be fulfilled on {} {name:?}: the object has been modified; please apply your changes to the latest version and try again",
            qualified(t)
        ),
        json!({"name": name, "kind": t.plural}),
    )
}

/// What an apply's `metadata.resourceVersion` and `metadata.uid` mean, as the API server reads
/// them: on an existing object a `resourceVersion` that is not the object's is a 409 Conflict
/// (optimistic concurrency), and a `uid` that is not the object's is a 422 Invalid (`uid` is
/// immutable); on a create a `uid` is a 409 Conflict (`uid mismatch: the provided object
/// specified uid …, and no existing object was found`) and a `resourceVersion` is ignored.
/// Neither is owned by the applier (the server strips them from field ownership), so they are
/// removed from the body.
fn apply_preconditions(
    t: &ResourceType,
    name: &str,
    existing: Option<&Stored>,
    body: &mut Value,
) -> Result<(), Reply> {
    let rv = meta(body, "resourceVersion").to_string();
    let uid = meta(body, "uid").to_string();
    if existing.is_none() && !uid.is_empty() {
        return Err(status(
            409,
            "Conflict",
            &format!(
                "Operation cannot be fulfilled on {} {name:?}: uid mismatch: the provided object specified uid {uid}, and no existing object was found",
                qualified(t)
            ),
            json!({"name": name, "kind": t.plural}),
        ));
    }
    if let Some(existing) = existing {
        if !rv.is_empty() && rv != meta(&existing.obj, "resourceVersion") {
            return Err(modified(t, name));
        }
        if !uid.is_empty() && uid != meta(&existing.obj, "uid") {
            let message = format!("Invalid value: {uid:?}: field is immutable");
            return Err(status(
                422,
                "Invalid",
                &format!("{} {name:?} is invalid: metadata.uid: {message}", t.kind),
                json!({"name": name, "kind": t.kind, "causes": [
                    {"reason": "FieldValueInvalid", "message": message, "field": "metadata.uid"}
                ]}),
            ));
        }
    }
    if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
        m.remove("uid");
    }
    Ok(())
}

/// Whether an object gives the controllers of [`State::reconcile`] anything to look at.
fn gc_relevant(obj: &Value) -> bool {
    let non_empty = |p: &str| {
        obj.pointer(p)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    };
    obj.pointer("/metadata/deletionTimestamp").is_some()
        || non_empty("/metadata/finalizers")
        || non_empty("/metadata/ownerReferences")
}
