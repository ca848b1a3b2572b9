//! `adapter serve`: the startup sequence (servers, API client, transports, executor, broker),
//! the serve loop, and signal handling — first SIGTERM/SIGINT drains, a second exits 1.

use super::cli::ServeArgs;
use super::{message, wiring};
use crate::adapters::api::http::{HttpApi, Settings};
use crate::adapters::prometheus::Metrics;
use crate::adapters::servers::{self, Health};
use crate::config::{EnvSource, Loaded};
use crate::domain::{Executor, Ports};
use crate::logging::{self, LogSettings};
use crate::ports::{EventSource, LocalFiles, SystemClock, Transport};
use crate::service::serve::{self, LoopDeps, LoopEnd};
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

/// The startup sequence, in the Go adapter's order (its log lines are what runbooks search
/// for): config, tracing, servers, API client, transports, executor, broker; then the serve
/// loop until a signal or a fatal error, then shutdown.
async fn start(
    loaded: Loaded,
    args: &ServeArgs,
    env: Arc<dyn EnvSource>,
    trace: &telemetry::Settings,
) -> Result<i32> {
    let config_yaml = log_config(&loaded);
    tracing_setup(trace);
    let health = Health::new(&["config", "broker"], config_yaml);
    let metrics = Arc::new(
        Metrics::new(&loaded.adapter.adapter.name, VERSION, COMMIT)
            .with_topic(&loaded.adapter.clients.broker.topic),
    );
    let servers = Servers::start(args, &health, &metrics).await?;
    let executor = executor(&loaded, &env, &health, &metrics).await?;
    let (source, parallelism) = subscribe(&loaded, &env, &health).await?;
    tracing::info!("Adapter is ready to process events");

    let deps = LoopDeps {
        executor,
        metrics: metrics.clone(),
        health: health.clone(),
        parallelism,
        drain_timeout: Duration::from_secs(args.shutdown_timeout),
        max_event_bytes: args.max_event_bytes,
        skip_stale_events: args.stale_event_skip,
    };
    let end = serve::run(source, deps, signals()).await;
    metrics.set_down();
    servers.stop().await;
    tracing::info!("Adapter shutdown complete");
    exit_code(end)
}

/// Logs the loaded config (and, with `debug_config`, all of it); returns the YAML that
/// `/config` serves when `debug_config` is on.
fn log_config(loaded: &Loaded) -> Option<String> {
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
        .then(|| crate::yaml::to_yaml_string(&super::commands::dump_value(loaded)));
    if let Some(y) = &config_yaml {
        tracing::info!("Loaded adapter configuration:\n{y}");
    }
    config_yaml
}

/// The health and metrics servers, running until [`Servers::stop`].
struct Servers {
    stop: tokio::sync::watch::Sender<bool>,
    health: tokio::task::JoinHandle<()>,
    metrics: tokio::task::JoinHandle<()>,
}

impl Servers {
    /// Binds and starts the health server (then marks the config ready) and the metrics
    /// server; a port that cannot be bound fails startup.
    async fn start(args: &ServeArgs, health: &Arc<Health>, metrics: &Arc<Metrics>) -> Result<Self> {
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let hl = servers::bind("health", &format!("0.0.0.0:{}", args.health_port))
            .await
            .map_err(message)?;
        tracing::info!("Starting health server on port {}", args.health_port);
        let health_task = tokio::spawn(servers::serve(
            hl,
            servers::health_app(health.clone()),
            args.conn_limits(),
            stopped(stop_rx.clone()),
        ));
        health.set("config", true);
        let ml = servers::bind("metrics", &format!("0.0.0.0:{}", args.metrics_port))
            .await
            .map_err(message)?;
        tracing::info!("Starting metrics server on port {}", args.metrics_port);
        let metrics_task = tokio::spawn(servers::serve(
            ml,
            servers::metrics_app(metrics.clone()),
            args.conn_limits(),
            stopped(stop_rx),
        ));
        Ok(Servers {
            stop,
            health: health_task,
            metrics: metrics_task,
        })
    }

    /// Stops both servers, waiting at most 5 s for them to close.
    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            let _ = self.health.await;
            let _ = self.metrics.await;
        })
        .await;
    }
}

/// The HyperFleet API client, the transports the task's resources use, and the executor over
/// them (the metrics observe its deletions).
async fn executor(
    loaded: &Loaded,
    env: &Arc<dyn EnvSource>,
    health: &Arc<Health>,
    metrics: &Arc<Metrics>,
) -> Result<Arc<Executor>> {
    tracing::info!("Creating HyperFleet API client...");
    let settings = Settings::from_config(&loaded.adapter.clients.hyperfleet_api, env.as_ref())
        .map_err(|e| anyhow!("failed to create HyperFleet API client: {e}"))?;
    let api = HttpApi::new(settings)
        .map_err(|e| anyhow!("failed to create HyperFleet API client: {e}"))?;
    let (kubernetes, maestro) = transports(loaded, env.as_ref(), health).await?;
    tracing::info!("Creating event executor...");
    Ok(Arc::new(
        Executor::new(
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
        )
        .without_detail(),
    ))
}

/// The Kubernetes and Maestro transports, each built only when a resource uses its client.
async fn transports(
    loaded: &Loaded,
    env: &dyn EnvSource,
    health: &Arc<Health>,
) -> Result<(Option<Arc<dyn Transport>>, Option<Arc<dyn Transport>>)> {
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
        let t = wiring::transport_for(client, loaded, env, health).await?;
        tracing::info!("{label} transport client created successfully");
        if client == "maestro" {
            maestro = Some(t)
        } else {
            kubernetes = Some(t)
        }
    }
    Ok((kubernetes, maestro))
}

/// Checks the subscription settings, loads `broker.yaml` and subscribes; the broker check is
/// ready once subscribed. Returns the event source and the parallelism `broker.yaml` sets.
async fn subscribe(
    loaded: &Loaded,
    env: &Arc<dyn EnvSource>,
    health: &Arc<Health>,
) -> Result<(Box<dyn EventSource>, usize)> {
    let broker = &loaded.adapter.clients.broker;
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
    let broker_cfg = wiring::broker_config(env.as_ref())?;
    let source = wiring::subscriber(loaded, &broker_cfg, health, env.as_ref()).await?;
    tracing::info!("Successfully subscribed to broker topic");
    health.set("broker", true);
    Ok((source, broker_cfg.parallelism))
}

/// Exit 0 after a clean shutdown; an error (exit 1) when events were cut off or the source
/// failed.
fn exit_code(end: LoopEnd) -> Result<i32> {
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
