//! Many replicas, one subscription: three `adapter serve` processes consume one RabbitMQ
//! subscription — the plain queue (competing consumers), then keyed delivery (a consistent-hash
//! exchange over single-active-consumer quorum queues) — and reconcile 20 clusters into a fake
//! Kubernetes API server that records every write.
//!
//! The publisher behaves as HyperFleet's does: a cluster's generation changes in the HyperFleet
//! API (the fake API here), then an event announces it; a cluster that has not converged is
//! announced again (duplicates); ids are UUIDv7. 500 events in all, the 20 clusters interleaved,
//! while the replicas already work — so replicas read different generations of one cluster at
//! once and race each other to the object (the fake delays each write by a random 0–30 ms, so
//! writes land out of the order they were sent in). Asserted: no object's `hyperfleet.io/generation`
//! annotation ever decreases from one write to the next, and every cluster ends at its newest
//! generation. Reported (stderr, `--nocapture`): per configuration, the reconciles that ran,
//! those that wrote nothing, the duplicates coalesced, the stale events skipped and the stale
//! applies skipped.

#![cfg(all(feature = "rabbitmq", feature = "k8s"))]

use hyperfleet_adapter::adapters::broker::rabbitmq::Publisher;
use hyperfleet_adapter::config::broker::RabbitMqConfig;
use kit::api::{FakeApi, write_configs};
use kit::kube::FakeKube;
use kit::rabbit::{cfg, cleanup, unique};
use kit::{now_ms, uuid_v7};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

const CLUSTERS: usize = 20;
const EVENTS: usize = 500;
const REPLICAS: usize = 3;

const TASK: &str = r#"
params:
  - name: clusterId
    source: event.id
    required: true
  - name: cluster
    source:
      api_call:
        method: GET
        url: "/clusters/{{ .clusterId }}"
    required: true
resources:
  - name: config
    transport: {client: kubernetes}
    manifest:
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: "cluster-{{ .clusterId }}"
        namespace: fleet
        annotations: {hyperfleet.io/generation: "{{ .cluster.generation }}"}
      data: {cluster: "{{ .clusterId }}", generation: "{{ .cluster.generation }}"}
    discovery:
      namespace: fleet
      by_name: "cluster-{{ .clusterId }}"
post:
  payloads:
    - name: statusPayload
      build:
        adapter: "{{ .adapter.name }}"
        observed_generation: "{{ .cluster.generation }}"
  post_actions:
    - name: reportStatus
      api_call:
        method: POST
        url: "/clusters/{{ .clusterId }}/statuses"
        body: "{{ .statusPayload }}"
"#;

/// A small deterministic generator (xorshift64*): the same interleaving every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

/// One publish: the cluster, the generation the API serves from then on, and whether it
/// re-sends the cluster's previous event (same id and data: a duplicate delivery) instead.
#[derive(Debug, Clone, Copy)]
struct Step {
    cluster: usize,
    generation: i64,
    resend: bool,
}

/// 500 steps over 20 clusters: each cluster moves up through its generations, every bump
/// announced, some announcements repeated (the publisher re-sending an unconverged cluster)
/// and some earlier events sent again; the clusters interleaved at random.
fn plan() -> (Vec<Step>, Vec<i64>) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut generation = vec![0i64; CLUSTERS];
    let mut steps = Vec::with_capacity(EVENTS);
    while steps.len() < EVENTS {
        let c = rng.below(CLUSTERS);
        let step = match rng.below(10) {
            // A bump, announced (also every cluster's first event).
            _ if generation[c] == 0 => None,
            0..=4 => None,
            // The same generation announced again (a fresh event).
            5..=7 => Some(false),
            // The previous event delivered again.
            _ => Some(true),
        };
        if step.is_none() {
            generation[c] += 1;
        }
        steps.push(Step {
            cluster: c,
            generation: generation[c],
            resend: step == Some(true),
        });
    }
    (steps, generation)
}

/// The sum over the replicas of the series of `/metrics` that start with `prefix`.
fn total(metrics: &[String], prefix: &str) -> u64 {
    metrics
        .iter()
        .flat_map(|m| m.lines())
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// What one configuration did.
#[derive(Debug)]
struct Report {
    topology: &'static str,
    events: usize,
    reconciles: u64,
    /// Writes that changed an object's content.
    writes: usize,
    refused: usize,
    needed_writes: usize,
    coalesced: u64,
    stale_events: u64,
    stale_applies: u64,
}

async fn run(topology: &'static str, broker_cfg: RabbitMqConfig, hash_yaml: &str) -> Report {
    let fake = FakeKube::start().await;
    fake.put(
        "setup",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fleet"}}),
    );
    fake.record_writes();
    // Writes land after a random delay, so a replica's write may arrive after a newer one that
    // another replica read and sent later: the race an unconditional apply loses.
    fake.inject(kit::kube::Fault {
        method: Some(hyper::Method::PATCH),
        path: "/configmaps/".into(),
        times: usize::MAX,
        action: kit::kube::FaultAction::Jitter(Duration::from_millis(30)),
    });
    // Each cluster GET takes a little while: replicas overlap on one cluster.
    let api = FakeApi {
        delay: Duration::from_millis(3),
        ..Default::default()
    };
    let base = api.start().await;
    let topic = unique("replicas");
    let sub = "many";
    let dir = tempfile::tempdir().unwrap();
    let (adapter, task) = write_configs(dir.path(), "replicas-adapter", &base, &topic, sub);
    std::fs::write(&task, TASK).unwrap();
    let broker = dir.path().join("broker.yaml");
    std::fs::write(
        &broker,
        format!(
            "broker:\n  type: rabbitmq\n  rabbitmq:\n    url: {}\n{hash_yaml}subscriber:\n  parallelism: 4\n",
            broker_cfg.url
        ),
    )
    .unwrap();
    let kubeconfig = fake.kubeconfig(dir.path(), None);
    let env = [
        ("BROKER_CONFIG_FILE", broker.to_str().unwrap()),
        ("KUBECONFIG", kubeconfig.to_str().unwrap()),
    ];
    let mut replicas = Vec::new();
    for r in 0..REPLICAS {
        let log = dir.path().join(format!("replica-{r}.log"));
        replicas.push(kit::process::serve_logging_to(&adapter, &task, &env, &log).await);
    }

    let (steps, newest) = plan();
    let p = Publisher::connect(&broker_cfg, &topic).await.unwrap();
    let mut last: Vec<Option<Vec<u8>>> = vec![None; CLUSTERS];
    let start = now_ms();
    for (n, step) in steps.iter().enumerate() {
        let id = format!("cluster-{:02}", step.cluster);
        let body = match (&last[step.cluster], step.resend) {
            (Some(previous), true) => previous.clone(),
            _ => {
                api.set_generation(&id, step.generation);
                let event = json!({"specversion": "1.0", "id": uuid_v7(now_ms().max(start), n as u64),
                    "type": "io.hyperfleet.cluster.updated", "source": "/sentinel",
                    "data": {"id": id, "kind": "Cluster", "href": format!("/clusters/{id}"), "generation": step.generation}});
                serde_json::to_vec(&event).unwrap()
            }
        };
        p.send_keyed(&body, Some(&id)).await.unwrap();
        last[step.cluster] = Some(body);
        // Paced (about 2 ms an event) so the replicas keep up and read the API while it
        // changes, rather than all reading the final generations of a backlog.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    p.close().await;

    // Done when every event is accounted for (run, coalesced or skipped as stale) and every
    // cluster is at its newest generation.
    let final_generation = |fake: &FakeKube, c: usize| {
        fake.get(
            "v1",
            "ConfigMap",
            "fleet",
            &format!("cluster-cluster-{c:02}"),
        )
        .and_then(|o| {
            o.pointer("/metadata/annotations/hyperfleet.io~1generation")
                .and_then(Value::as_str)
                .and_then(|g| g.parse::<i64>().ok())
        })
    };
    let mut metrics = Vec::new();
    let settled = kit::eventually(Duration::from_secs(120), async || {
        metrics.clear();
        for r in &replicas {
            metrics.push(r.metrics().await);
        }
        let accounted = total(&metrics, "hyperfleet_adapter_events_processed_total{")
            + total(&metrics, "hyperfleet_adapter_events_skipped_total{");
        accounted >= EVENTS as u64
            && (0..CLUSTERS).all(|c| final_generation(&fake, c) == Some(newest[c]))
    })
    .await;
    let mut logs = String::new();
    for r in replicas {
        let _ = r.terminate().await;
    }
    for r in 0..REPLICAS {
        logs.push_str(
            &std::fs::read_to_string(dir.path().join(format!("replica-{r}.log")))
                .unwrap_or_default(),
        );
    }
    let at: Vec<Option<i64>> = (0..CLUSTERS).map(|c| final_generation(&fake, c)).collect();
    assert!(
        settled,
        "{topology}: not settled in 120s: clusters at {at:?}, newest {newest:?}\nmetrics: {metrics:#?}\nlogs (tail): {}",
        &logs[logs.len().saturating_sub(20_000)..]
    );

    // No write ever moved an object's generation back.
    let writes = fake.writes();
    let mut seen: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    // Writes that changed what the object holds (a create's ownership record does not).
    let mut last_content: BTreeMap<String, Value> = BTreeMap::new();
    let mut changed = 0;
    for w in &writes {
        let content = json!([w["data"], w["metadata"]["annotations"]]);
        let name = w["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if last_content.insert(name, content.clone()) != Some(content) {
            changed += 1;
        }
    }
    for w in &writes {
        let name = w["metadata"]["name"].as_str().unwrap().to_string();
        let g = w
            .pointer("/metadata/annotations/hyperfleet.io~1generation")
            .and_then(Value::as_str)
            .and_then(|g| g.parse().ok())
            .unwrap_or_else(|| panic!("a write without a generation: {w}"));
        seen.entry(name).or_default().push(g);
    }
    for (name, gens) in &seen {
        assert!(
            gens.windows(2).all(|w| w[0] <= w[1]),
            "{topology}: {name} went back: {gens:?}"
        );
    }
    assert_eq!(seen.len(), CLUSTERS, "{topology}: every cluster written");
    let queues: Vec<String> = broker_cfg.queues_for(&topic, sub);
    let mut exchanges = vec![topic.clone()];
    if broker_cfg.hash_queues > 0 {
        exchanges.push(broker_cfg.hash_exchange_for(&topic, sub));
    }
    cleanup(&queues, &exchanges).await;
    Report {
        topology,
        events: EVENTS,
        reconciles: total(&metrics, "hyperfleet_adapter_events_processed_total{"),
        writes: changed,
        refused: fake.refused_writes(),
        // One write per generation each cluster went through, at the least.
        needed_writes: newest.iter().map(|&g| g as usize).sum(),
        coalesced: total(
            &metrics,
            "hyperfleet_adapter_events_skipped_total{adapter_name=\"replicas\",component=\"replicas-adapter\",reason=\"duplicate\"",
        ),
        stale_events: total(
            &metrics,
            "hyperfleet_adapter_events_skipped_total{adapter_name=\"replicas\",component=\"replicas-adapter\",reason=\"stale\"",
        ),
        stale_applies: total(&metrics, "hyperfleet_adapter_resources_skipped_total{"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_never_move_an_object_back_on_either_topology() {
    let plain = run("one queue, competing consumers", cfg(), "").await;
    let keyed = run(
        "consistent hash, 4 single-active-consumer queues",
        RabbitMqConfig {
            hash_queues: 4,
            ..cfg()
        },
        "    hash_queues: 4\n",
    )
    .await;
    for r in [&plain, &keyed] {
        eprintln!(
            "{}: {} events; {} reconciles ran ({} wrote nothing); {} writes for {} generations, {} more refused by their precondition (a newer write had landed); {} duplicates coalesced; {} stale events skipped; {} stale applies skipped",
            r.topology,
            r.events,
            r.reconciles,
            r.reconciles.saturating_sub(r.writes as u64),
            r.writes,
            r.needed_writes,
            r.refused,
            r.coalesced,
            r.stale_events,
            r.stale_applies
        );
    }
}
