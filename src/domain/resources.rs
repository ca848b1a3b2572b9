//! Phase 3, `resources`: pre-discovery, `lifecycle.create.when` / `lifecycle.delete.when`
//! with the deletion flow, render, apply by the generation rule, post-apply discovery and
//! nested discoveries (§6.4–§6.7).

use super::discovery::{self, Lookup, manifest_gvk};
use super::error::Failure;
use super::executor::Run;
use super::result::{Phase, ResourceResult, StepStatus};
use crate::config::task::{Discovery, Resource, When};
use crate::expr::{TemplateError, manifest, matched};
use crate::ports::{
    ErrorKind, Gvk, Operation, Propagation, Selector, Target, Transport, TransportError,
};
use serde_json::Value;

/// How one resource ended.
enum Step {
    Done,
    /// A failure that stops the loop (apply path).
    Stop(String),
    /// A failure that is recorded while the loop goes on (lifecycle and delete paths).
    Continue(String),
}

impl Run<'_> {
    pub async fn process_resources(&mut self) {
        let ex = self.ex;
        let resources = &ex.loaded.task.resources;
        tracing::info!("Phase resources: RUNNING - {} configured", resources.len());
        if self.result.resources_skipped {
            tracing::info!("Phase resources: SKIPPED - {}", self.result.skip_reason);
            return;
        }
        let mut errors = Vec::new();
        let has_lifecycle = resources.iter().any(|r| {
            r.lifecycle
                .as_ref()
                .is_some_and(|l| l.create.is_some() || l.delete.is_some())
        });
        if has_lifecycle && let Err(e) = self.pre_discover(resources).await {
            errors.push(e.to_string());
        }
        if errors.is_empty() {
            for (i, r) in resources.iter().enumerate() {
                match self.one_resource(i, r).await {
                    Step::Done => {}
                    Step::Continue(e) => errors.push(e),
                    Step::Stop(e) => {
                        errors.push(e);
                        break;
                    }
                }
            }
        }
        if errors.is_empty() {
            tracing::info!(
                "Phase resources: SUCCESS - {} processed",
                self.result.resources.len()
            );
        } else {
            let joined = errors.join("\n");
            tracing::error!(error = %joined, "Phase resources: FAILED");
            self.result.adapter.set_error("ResourceFailed", &joined);
            self.result.fail(
                Phase::Resources,
                format!("resource execution failed: {joined}"),
            );
            self.invalidate();
        }
    }

    async fn pre_discover(&mut self, resources: &[Resource]) -> Result<(), Failure> {
        for (i, r) in resources.iter().enumerate() {
            let Some(d) = &r.discovery else { continue };
            let target = self.target(i).map_err(|e| {
                Failure::from(e).context(format!(
                    "[resources] {}: failed to render targetCluster",
                    r.name
                ))
            })?;
            let found = self
                .find(r, d, &format!("resources[{i}].discovery"), &target)
                .await;
            match found {
                Ok(Some(obj)) => self.set_resource(&r.name, Some(obj)),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!("Resource[{}] pre-discovery failed: {e}", r.name);
                    return Err(e.context(format!("[resources] {}: pre-discovery failed", r.name)));
                }
            }
        }
        Ok(())
    }

    /// Renders a discovery block at `path`.
    fn lookup(&mut self, path: &str, d: &Discovery) -> Result<Lookup, TemplateError> {
        let mut l = Lookup::default();
        if let Some(ns) = &d.namespace {
            l.namespace = self.render(&format!("{path}.namespace"), ns)?;
        }
        if let Some(n) = &d.by_name {
            l.by_name = Some(self.render(&format!("{path}.by_name"), n)?);
        }
        let lpath = format!("{path}.by_selectors.label_selector");
        for (k, v) in d
            .by_selectors
            .as_ref()
            .and_then(|s| s.label_selector.as_ref())
            .into_iter()
            .flatten()
        {
            let key = self.render(&format!("{lpath}.{k}#key"), k)?;
            let value = self.render(&format!("{lpath}[{k}]"), v)?;
            l.labels.insert(key, value);
        }
        Ok(l)
    }

    /// Runs a resource's discovery: `Ok(None)` when nothing matches.
    async fn find(
        &mut self,
        r: &Resource,
        d: &Discovery,
        path: &str,
        target: &Target,
    ) -> Result<Option<Value>, Failure> {
        Ok(match self.find_object(r, d, path, target).await? {
            Found::Object(obj) => Some(obj),
            Found::Missing(_) => None,
        })
    }

    /// [`Self::find`], saying why nothing was found.
    async fn find_object(
        &mut self,
        r: &Resource,
        d: &Discovery,
        path: &str,
        target: &Target,
    ) -> Result<Found, Failure> {
        let lookup = self.lookup(path, d)?;
        let gvk = manifest_gvk(r.manifest.as_ref().unwrap_or(&Value::Null));
        let transport = self.transport(r.client())?;
        Ok(lookup_with(transport.as_ref(), &gvk, &lookup, target).await?)
    }

    async fn one_resource(&mut self, i: usize, r: &Resource) -> Step {
        let mut res = ResourceResult {
            name: r.name.clone(),
            ..Default::default()
        };
        let target = match self.target(i) {
            Ok(t) => t,
            Err(e) => {
                return self.resource_failed(
                    res,
                    format!(
                        "[resources] {}: failed to render targetCluster template: {e}",
                        r.name
                    ),
                    true,
                );
            }
        };
        let default_lifecycle = Default::default();
        let lifecycle = r.lifecycle.as_ref().unwrap_or(&default_lifecycle);
        if let Some(create) = &lifecycle.create
            && !self.vars.resources.contains_key(&r.name)
        {
            let path = format!("resources[{i}].lifecycle.create.when.expression");
            match self.when(&path, When::expr(&create.when)) {
                Ok(true) => {}
                Ok(false) => {
                    tracing::info!(
                        "Resource[{}] skipped: create.when condition is false",
                        r.name
                    );
                    res.status = StepStatus::Skipped;
                    res.operation = Some(Operation::Skip);
                    res.reason = "lifecycle.create.when condition evaluated to false".into();
                    self.result.resources.push(res);
                    let reason = format!(
                        "{}: lifecycle.create.when condition evaluated to false",
                        r.name
                    );
                    self.result.adapter.skip(&reason);
                    self.invalidate();
                    return Step::Done;
                }
                Err(e) => {
                    res.operation = Some(Operation::Create);
                    let msg = format!("[resources] {}: lifecycle.create.when: {e}", r.name);
                    return self.resource_failed(res, msg, false);
                }
            }
        }
        if let Some(delete) = &lifecycle.delete {
            let path = format!("resources[{i}].lifecycle.delete.when.expression");
            match self.when(&path, When::expr(&delete.when)) {
                Ok(true) => {
                    return self
                        .delete_flow(
                            i,
                            r,
                            &target,
                            Propagation::parse(delete.propagation_policy.as_deref()),
                            res,
                        )
                        .await;
                }
                Ok(false) => {}
                Err(e) => {
                    res.operation = Some(Operation::Delete);
                    let msg = format!("[resources] {}: lifecycle.delete.when: {e}", r.name);
                    return self.resource_failed(res, msg, false);
                }
            }
        }
        self.apply_flow(i, r, &target, res).await
    }

    /// Evaluates a lifecycle `when`. Unlike the Go adapter, an evaluation error is an error
    /// (fail closed), not a silent `false`.
    fn when(&mut self, path: &str, expr: Option<&str>) -> Result<bool, Failure> {
        let expr = expr.unwrap_or("true");
        self.eval(path, expr)
            .map(|v| matched(&v))
            .map_err(|e| Failure::from(e).context(format!("expression {expr:?} failed to evaluate (check that all variables are captured in preconditions)")))
    }

    fn resource_failed(&mut self, mut res: ResourceResult, msg: String, stop: bool) -> Step {
        tracing::error!(k8s_result = "FAILED", error = %msg, "Resource[{}] processed: FAILED", res.name);
        res.status = StepStatus::Failed;
        res.error = Some(msg.clone());
        self.result.adapter.record_resource_error(&res.name, &msg);
        self.result.resources.push(res);
        self.invalidate();
        if stop {
            Step::Stop(msg)
        } else {
            Step::Continue(msg)
        }
    }

    fn render_manifest(&mut self, i: usize, r: &Resource) -> Result<Value, Failure> {
        let m = r
            .manifest
            .as_ref()
            .ok_or_else(|| Failure::config("manifest is required"))?;
        let path = format!("resources[{i}].manifest");
        match self.ex.loaded.compiled.templates.get(&path).cloned() {
            Some(t) => {
                let text = self.render(&path, t.source())?;
                Ok(manifest::parse_rendered(&text)?)
            }
            None => match m {
                Value::String(s) => Ok(manifest::parse_rendered(s)?),
                other => Ok(other.clone()),
            },
        }
    }

    async fn apply_flow(
        &mut self,
        i: usize,
        r: &Resource,
        target: &Target,
        mut res: ResourceResult,
    ) -> Step {
        let rendered = match self.render_manifest(i, r) {
            Ok(m) => m,
            Err(e) => {
                return self.resource_failed(
                    res,
                    format!("[resources] {}: failed to render manifest: {e}", r.name),
                    true,
                );
            }
        };
        identity(&mut res, &rendered);
        if self.ex.detail {
            res.rendered = Some(rendered.clone());
        }
        let transport = match self.transport(r.client()) {
            Ok(t) => t,
            Err(e) => {
                return self.resource_failed(res, format!("[resources] {}: {e}", r.name), true);
            }
        };
        let applied = match transport
            .apply(&rendered, r.recreate_on_change, target)
            .await
        {
            Ok(a) => a,
            Err(e) => {
                return self.resource_failed(
                    res,
                    format!("[resources] {}: failed to apply resource: {e}", r.name),
                    true,
                );
            }
        };
        tracing::info!(
            k8s_result = "SUCCESS",
            "Resource[{}] processed: operation={} reason={}",
            r.name,
            applied.operation.as_str(),
            applied.reason
        );
        if applied.stale {
            tracing::info!(
                "Resource[{}] not applied: stale event ({})",
                r.name,
                applied.reason
            );
            if let Some(o) = &self.ex.ports.observer {
                o.stale_skipped(&res.kind);
            }
        }
        res.operation = Some(applied.operation);
        res.reason = applied.reason.clone();
        if let Some(d) = &r.discovery {
            // As in the Go adapter, not finding the object just applied fails the resource (a
            // discovery that misses what the config creates is a config error the status must
            // show). The transports read their own writes, so a lagging store is no cause.
            let found = match self
                .find_object(r, d, &format!("resources[{i}].discovery"), target)
                .await
            {
                Ok(Found::Object(obj)) => Ok(obj),
                Ok(Found::Missing(e)) => Err(Failure::from(e)),
                Err(e) => Err(e),
            };
            match found {
                Ok(obj) => self.set_resource(&r.name, Some(obj)),
                Err(e) => {
                    tracing::warn!("Resource[{}] discovery after apply failed: {e}", r.name);
                    let msg = format!(
                        "[resources] {}: failed to discover resource after apply: {e}",
                        r.name
                    );
                    return self.resource_failed(res, msg, true);
                }
            }
        }
        if let Err(e) = self.nested_discoveries(i, r) {
            return self.resource_failed(res, e.to_string(), true);
        }
        self.result.resources.push(res);
        Step::Done
    }

    fn nested_discoveries(&mut self, i: usize, r: &Resource) -> Result<(), Failure> {
        if r.nested_discoveries.is_empty() {
            return Ok(());
        }
        let Some(parent) = self.vars.resources.get(&r.name).cloned() else {
            return Ok(());
        };
        for (j, nd) in r.nested_discoveries.iter().enumerate() {
            if nd.name == r.name {
                tracing::warn!(
                    "Nested discovery {:?} has the same name as parent resource; skipping to avoid overwriting parent",
                    nd.name
                );
                continue;
            }
            let Some(d) = &nd.discovery else { continue };
            let lookup = match self.lookup(
                &format!("resources[{i}].nested_discoveries[{j}].discovery"),
                d,
            ) {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(
                        "Resource[{}] nested discovery[{}] failed to build config: {e}",
                        r.name,
                        nd.name
                    );
                    continue;
                }
            };
            if self.vars.resources.contains_key(&nd.name) {
                return Err(Failure::config(format!(
                    "[resources] {}: duplicate resource context key: nested discovery key collision: {:?} already exists in context",
                    r.name, nd.name
                )));
            }
            match discovery::nested(&parent, &lookup) {
                Ok(Some(obj)) => self.set_resource(&nd.name, Some(obj)),
                Ok(None) => tracing::debug!(
                    "Resource[{}] nested discovery[{}]: no match",
                    r.name,
                    nd.name
                ),
                Err(e) => tracing::warn!(
                    "Resource[{}] nested discovery[{}] failed: {e}",
                    r.name,
                    nd.name
                ),
            }
        }
        Ok(())
    }

    /// The deletion flow, observed (in-progress gauge, duration, outcome) on every exit.
    async fn delete_flow(
        &mut self,
        i: usize,
        r: &Resource,
        target: &Target,
        policy: Propagation,
        res: ResourceResult,
    ) -> Step {
        let manifest_kind = manifest_gvk(r.manifest.as_ref().unwrap_or(&Value::Null)).kind;
        let observer = self.ex.ports.observer.clone();
        if let Some(o) = &observer {
            o.deletion_started(&manifest_kind);
        }
        let started = tokio::time::Instant::now();
        let step = self.delete_flow_inner(i, r, target, policy, res).await;
        if let Some(o) = &observer {
            // The discovered object's kind when there was one, as the Go adapter labels it.
            let kind = self
                .result
                .resources
                .last()
                .map(|x| x.kind.clone())
                .filter(|k| !k.is_empty())
                .unwrap_or(manifest_kind.clone());
            let ok = matches!(step, Step::Done);
            o.deletion_finished(&manifest_kind, &kind, ok, started.elapsed().as_secs_f64());
        }
        step
    }

    async fn delete_flow_inner(
        &mut self,
        i: usize,
        r: &Resource,
        target: &Target,
        policy: Propagation,
        mut res: ResourceResult,
    ) -> Step {
        res.operation = Some(Operation::Delete);
        let transport = match self.transport(r.client()) {
            Ok(t) => t,
            Err(e) => {
                return self.resource_failed(res, format!("[resources] {}: {e}", r.name), false);
            }
        };
        let Some(d) = r.discovery.clone() else {
            return self.resource_failed(
                res,
                format!(
                    "[resources] {}: lifecycle.delete requires a discovery config",
                    r.name
                ),
                false,
            );
        };
        let path = format!("resources[{i}].discovery");
        let found = match self.find(r, &d, &path, target).await {
            Ok(f) => f,
            Err(e) => {
                return self.resource_failed(
                    res,
                    format!(
                        "[resources] {}: failed to discover resource for deletion: {e}",
                        r.name
                    ),
                    false,
                );
            }
        };
        let Some(obj) = found else {
            tracing::info!(
                "Resource[{}] delete: already deleted or never existed",
                r.name
            );
            res.reason = "resource already deleted or never existed".into();
            self.set_resource(&r.name, None);
            self.result.resources.push(res);
            return Step::Done;
        };
        identity(&mut res, &obj);
        if self.ex.detail {
            res.discovered_state = Some(obj.clone());
        }
        let gvk = Gvk::of(&obj);
        if let Err(e) = transport
            .delete(&gvk, &res.namespace, &res.resource_name, policy, target)
            .await
        {
            tracing::error!("Resource[{}] delete: FAILED", r.name);
            return self.resource_failed(
                res,
                format!("[resources] {}: failed to delete resource: {e}", r.name),
                false,
            );
        }
        match self.find(r, &d, &path, target).await {
            Ok(None) => self.set_resource(&r.name, None),
            Ok(Some(fresh)) => self.set_resource(&r.name, Some(fresh)),
            Err(e) => tracing::debug!("Resource[{}] re-discovery after delete failed: {e}", r.name),
        }
        res.reason = "lifecycle.delete.when evaluated to true".into();
        tracing::info!(
            k8s_result = "SUCCESS",
            "Resource[{}] delete: operation=delete propagationPolicy={}",
            r.name,
            policy.as_str()
        );
        self.result.resources.push(res);
        Step::Done
    }
}

/// What a discovery found: the object, or the not-found error the Go adapter reports.
pub enum Found {
    Object(Value),
    Missing(TransportError),
}

/// A discovery: `by_name` gets the object (the transport's NotFound text when it is absent);
/// `by_selectors` lists and picks one (`<Kind> "" not found` when none matches, as the Go
/// adapter words it).
pub async fn lookup_with(
    transport: &dyn Transport,
    gvk: &Gvk,
    lookup: &Lookup,
    target: &Target,
) -> Result<Found, TransportError> {
    match &lookup.by_name {
        Some(name) => match transport.get(gvk, &lookup.namespace, name, target).await {
            Ok(obj) => Ok(Found::Object(obj)),
            Err(e) if e.is_not_found() => Ok(Found::Missing(e)),
            Err(e) => Err(e),
        },
        None => {
            let selector = Selector {
                namespace: lookup.namespace.clone(),
                labels: lookup.labels.clone(),
            };
            let items = transport.discover(gvk, &selector, target).await?;
            Ok(match discovery::pick(items) {
                Some(obj) => Found::Object(obj),
                None => Found::Missing(TransportError::new(
                    ErrorKind::NotFound,
                    format!("{} \"\" not found", gvk.kind),
                )),
            })
        }
    }
}

fn identity(res: &mut ResourceResult, obj: &Value) {
    let s = |p: &str| {
        obj.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    res.kind = s("/kind");
    res.namespace = s("/metadata/namespace");
    res.resource_name = s("/metadata/name");
}
