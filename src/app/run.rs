//! `adapter serve`: the startup sequence (servers, API client, transports, executor, broker),
//! the serve loop, and signal handling — first SIGTERM/SIGINT drains, a second exits 1.

use super::cli::ServeArgs;
use super::logging::{self, LogSettings};
use super::metrics::Metrics;
use super::serve::{self, LoopDeps, LoopEnd};
use super::servers::{self, Health};
use crate::adapters::api::http::{HttpApi, Settings};
use crate::config::broker::BrokerConfig;
use crate::config::{EnvSource, Loaded};
use crate::domain::{Executor, Ports};
use crate::ports::{EventSource, LocalFiles, SystemClock, Transport};
use crate::telemetry::{self, Telemetry};
use crate::version::{COMMIT, VERSION};
use anyhow::{Result, anyhow, bail};
use std::sync::Arc;
use std::time::Duration;

/// Runs the adapter until a signal (exit 0) or a fatal error (exit 1). Sets up logging (with
/// OpenTelemetry spans when tracing is on), then calls `started` before anything else is logged.
pub fn serve(
    loaded: Loaded,
    args: &ServeArgs,
    env: Arc<dyn EnvSource>,
    started: impl FnOnce(&Loaded),
) -> Result<i32> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let _guard = runtime.enter();
    // The logger follows the loaded log settings (already file < LOG_* env < --log-* flags).
    let log = LogSettings::from_config(&loaded.adapter.log, &loaded.adapter.adapter.name);
    let trace = telemetry::Settings::from_env(env.as_ref(), &loaded.adapter.adapter.name);
    let (telemetry, tracer) = match Telemetry::start(&trace, VERSION) {
        Ok(t) => t,
        Err(e) => {
            logging::init(&log, false);
            started(&loaded);
            tracing::error!(error = %e, "Failed to initialize OpenTelemetry");
            bail!("failed to initialize OpenTelemetry: {e}");
        }
    };
    logging::init_traced(&log, false, tracer);
    started(&loaded);
    let code = runtime.block_on(start(loaded, args, env, &trace));
    runtime.block_on(telemetry.shutdown());
    code
}

/// Builds the transport for `client` (`kubernetes` or `maestro`). Maestro's health (its
/// Subscribe stream and heartbeats) becomes the `maestro` readiness check.
async fn transport_for(
    client: &str,
    loaded: &Loaded,
    env: &dyn EnvSource,
    health: &Arc<Health>,
) -> Result<Arc<dyn Transport>> {
    let _ = (loaded, env, health);
    match client {
        #[cfg(feature = "maestro")]
        "maestro" => {
            use crate::adapters::transport::maestro::{MaestroTransport, Settings, SetupError};
            let failed = |e: SetupError| {
                tracing::error!(error = %e, "Failed to create Maestro client");
                anyhow!("failed to create Maestro client: {e}")
            };
            let settings =
                Settings::from_config(loaded.adapter.clients.maestro.as_ref()).map_err(failed)?;
            tracing::info!(
                "Maestro client: grpc={} http={} source={} timeout={} retry_attempts={}",
                settings.grpc_address,
                settings.http_address,
                settings.source_id,
                crate::config::GoDuration(settings.timeout.as_nanos() as i64),
                settings.publish_attempts
            );
            if let Some(client_id) = loaded
                .adapter
                .clients
                .maestro
                .as_ref()
                .map(|m| m.client_id.trim())
                .filter(|c| !c.is_empty())
            {
                // Kept loadable (the Go charts set it) but said out loud: Maestro's gRPC
                // protocol has no field for it, in Go (sdk-go uses it for MQTT only) or here.
                tracing::warn!(
                    client_id,
                    "clients.maestro.client_id has no effect: Maestro's gRPC protocol carries no client id; the source is clients.maestro.source_id"
                );
            }
            health.set("maestro", false);
            let h = health.clone();
            let readiness: crate::adapters::broker::Readiness =
                Arc::new(move |up| h.set("maestro", up));
            let transport =
                MaestroTransport::connect(&settings, Some(readiness)).map_err(failed)?;
            Ok(Arc::new(transport))
        }
        #[cfg(not(feature = "maestro"))]
        "maestro" => Err(anyhow!(
            "failed to create Maestro client: this build has no Maestro transport (build with --features maestro)"
        )),
        #[cfg(feature = "k8s")]
        _ => {
            use crate::adapters::transport::kubernetes::{KubernetesTransport, Settings};
            let settings = Settings::from_config(&loaded.adapter.clients.kubernetes, env);
            let transport = KubernetesTransport::connect(&settings)
                .await
                .map_err(|e| anyhow!("failed to create Kubernetes client: {e}"))?;
            Ok(Arc::new(transport))
        }
        #[cfg(not(feature = "k8s"))]
        _ => Err(anyhow!(
            "failed to create Kubernetes client: this build has no Kubernetes transport (build with --features k8s)"
        )),
    }
}

/// The startup error of a failed subscription, logged with the runbook's pattern.
#[cfg(any(feature = "rabbitmq", feature = "pubsub"))]
fn subscribe_failed(e: impl std::fmt::Display) -> anyhow::Error {
    tracing::error!(error = %e, "Failed to subscribe to topic");
    anyhow!("failed to subscribe to topic: {e}")
}

/// Subscribes to the configured broker; `health`'s `broker` check follows the connection.
async fn subscriber(
    loaded: &Loaded,
    broker: &BrokerConfig,
    health: &Arc<Health>,
    env: &dyn EnvSource,
) -> Result<Box<dyn EventSource>> {
    let b = &loaded.adapter.clients.broker;
    let h = health.clone();
    let readiness: crate::adapters::broker::Readiness = Arc::new(move |up| h.set("broker", up));
    let _ = (b, env, &readiness);
    tracing::info!("Subscribing to broker topic...");
    match broker.kind {
        #[cfg(feature = "rabbitmq")]
        crate::config::broker::BrokerKind::RabbitMq => {
            use crate::adapters::broker::rabbitmq;
            let source = rabbitmq::subscribe(
                broker.rabbitmq.clone(),
                rabbitmq::Subscription {
                    topic: b.topic.clone(),
                    subscription_id: b.subscription_id.clone(),
                    parallelism: broker.parallelism,
                },
                readiness,
            )
            .await
            .map_err(subscribe_failed)?;
            Ok(Box::new(source))
        }
        #[cfg(feature = "pubsub")]
        crate::config::broker::BrokerKind::GooglePubSub => {
            use crate::adapters::broker::pubsub;
            let h = health.clone();
            let liveness: pubsub::Liveness = Arc::new(move |reason| h.set_unhealthy(reason));
            let source = pubsub::subscribe_with(
                broker.googlepubsub.clone(),
                pubsub::Target {
                    project_id: broker.googlepubsub.project_id.clone(),
                    topic: b.topic.clone(),
                    subscription_id: b.subscription_id.clone(),
                    parallelism: broker.parallelism,
                    emulator_host: crate::config::env::non_empty(env, "PUBSUB_EMULATOR_HOST"),
                },
                readiness,
                liveness,
            )
            .await
            .map_err(subscribe_failed)?;
            Ok(Box::new(source))
        }
        #[allow(unreachable_patterns)]
        kind => Err(anyhow!(
            "failed to create subscriber: this build has no {} broker (build with --features {})",
            kind.as_str(),
            kind.feature()
        )),
    }
}

/// Loads `broker.yaml` (and its environment overrides), logging what it found.
fn broker_config(env: &dyn EnvSource) -> Result<BrokerConfig> {
    let broker = crate::config::broker::load(env).map_err(|e| {
        tracing::error!(error = %e, "Failed to create subscriber");
        anyhow!("failed to create subscriber: {e}")
    })?;
    for w in &broker.warnings {
        tracing::warn!(file = %w.file.display(), line = w.line, path = %w.path, "{}", w.message);
    }
    match &broker.file {
        Some(f) => tracing::info!(
            "Broker configuration loaded from {}: type={} parallelism={}",
            f.display(),
            broker.kind.as_str(),
            broker.parallelism
        ),
        None => tracing::info!(
            "No broker config file found, using defaults and environment: type={} parallelism={}",
            broker.kind.as_str(),
            broker.parallelism
        ),
    }
    if broker.log_config {
        tracing::info!("Broker configuration: {}", broker.to_log_json());
    }
    Ok(broker)
}

/// Logs what the tracing settings decided (the startup step after the config).
fn tracing_setup(trace: &telemetry::Settings) {
    for note in &trace.notes {
        if note.warn {
            tracing::warn!("{}", note.message);
        } else {
            tracing::info!("{}", note.message);
        }
    }
    if trace.enabled {
        tracing::info!(
            "OpenTelemetry initialized: service={} sampler={} ratio={}",
            trace.service_name,
            trace.sampler,
            trace.ratio
        );
    } else {
        tracing::info!("OpenTelemetry tracing disabled");
    }
}

async fn start(
    loaded: Loaded,
    args: &ServeArgs,
    env: Arc<dyn EnvSource>,
    trace: &telemetry::Settings,
) -> Result<i32> {
    let cfg = &loaded.adapter;
    tracing::info!(
        "Adapter configuration loaded successfully: name={} ",
        cfg.adapter.name
    );
    let api_cfg = &cfg.clients.hyperfleet_api;
    tracing::info!(
        "HyperFleet API client configured: timeout={} retry_attempts={}",
        api_cfg.effective_timeout(),
        api_cfg.effective_retry_attempts()
    );
    let config_yaml = cfg
        .debug_config
        .then(|| crate::yaml::to_yaml_string(&super::commands::dump_value(&loaded)));
    if let Some(y) = &config_yaml {
        tracing::info!("Loaded adapter configuration:\n{y}");
    }
    tracing_setup(trace);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let health = Health::new(&["config", "broker"], config_yaml);
    let hl = servers::bind("health", &format!("0.0.0.0:{}", args.health_port))
        .await
        .map_err(|e| anyhow!(e))?;
    tracing::info!("Starting health server on port {}", args.health_port);
    let health_task = tokio::spawn(servers::serve(
        hl,
        servers::health_app(health.clone()),
        args.conn_limits(),
        stopped(stop_rx.clone()),
    ));
    health.set("config", true);
    let metrics = Arc::new(
        Metrics::new(&cfg.adapter.name, VERSION, COMMIT).with_topic(&cfg.clients.broker.topic),
    );
    let ml = servers::bind("metrics", &format!("0.0.0.0:{}", args.metrics_port))
        .await
        .map_err(|e| anyhow!(e))?;
    tracing::info!("Starting metrics server on port {}", args.metrics_port);
    let metrics_task = tokio::spawn(servers::serve(
        ml,
        servers::metrics_app(metrics.clone()),
        args.conn_limits(),
        stopped(stop_rx.clone()),
    ));

    tracing::info!("Creating HyperFleet API client...");
    let settings = Settings::from_config(api_cfg, env.as_ref())
        .map_err(|e| anyhow!("failed to create HyperFleet API client: {e}"))?;
    let api = HttpApi::new(settings)
        .map_err(|e| anyhow!("failed to create HyperFleet API client: {e}"))?;

    let clients: std::collections::BTreeSet<&str> =
        loaded.task.resources.iter().map(|r| r.client()).collect();
    let mut kubernetes = None;
    let mut maestro = None;
    for client in clients {
        let label = if client == "maestro" {
            "Maestro"
        } else {
            "Kubernetes"
        };
        tracing::info!("Creating {label} transport client...");
        let t = transport_for(client, &loaded, env.as_ref(), &health).await?;
        tracing::info!("{label} transport client created successfully");
        if client == "maestro" {
            maestro = Some(t)
        } else {
            kubernetes = Some(t)
        }
    }
    tracing::info!("Creating event executor...");
    let broker = cfg.clients.broker.clone();
    let executor = Arc::new(Executor::new(
        Arc::new(loaded.clone()),
        Ports {
            api: Arc::new(api),
            kubernetes,
            maestro,
            clock: Arc::new(SystemClock),
            env: env.clone(),
            files: Arc::new(LocalFiles),
            observer: Some(metrics.clone()),
        },
    ));
    for (value, key) in [
        (&broker.subscription_id, "subscription_id"),
        (&broker.topic, "topic"),
    ] {
        if value.is_empty() {
            tracing::error!(error = %format!("clients.broker.{key} is required"), "Missing required broker configuration");
            bail!("clients.broker.{key} is required");
        }
    }
    tracing::info!("Creating broker subscriber...");
    let broker_cfg = broker_config(env.as_ref())?;
    let source = subscriber(&loaded, &broker_cfg, &health, env.as_ref()).await?;
    tracing::info!("Successfully subscribed to broker topic");
    health.set("broker", true);
    tracing::info!("Adapter is ready to process events");

    let deps = LoopDeps {
        executor,
        metrics: metrics.clone(),
        health: health.clone(),
        parallelism: broker_cfg.parallelism,
        drain_timeout: Duration::from_secs(args.shutdown_timeout),
        max_event_bytes: args.max_event_bytes,
    };
    let end = serve::run(source, deps, signals()).await;
    metrics.set_down();
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = health_task.await;
        let _ = metrics_task.await;
    })
    .await;
    tracing::info!("Adapter shutdown complete");
    match end {
        LoopEnd::Shutdown => Ok(0),
        LoopEnd::DrainTimedOut(n) => {
            bail!("{n} event(s) did not finish within the shutdown timeout")
        }
        LoopEnd::SourceClosed => bail!("fatal subscription error: the event source closed"),
    }
}

/// Resolves on the first SIGTERM/SIGINT; a second one exits the process with code 1.
async fn signals() {
    let name = wait_signal().await;
    tracing::info!("Received signal {name}, initiating graceful shutdown...");
    tokio::spawn(async {
        let name = wait_signal().await;
        tracing::error!("Received second signal {name}, forcing immediate exit");
        std::process::exit(1);
    });
}

async fn wait_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "terminated",
        _ = int.recv() => "interrupt",
    }
}
