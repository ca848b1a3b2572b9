//! Connection handling for the health and metrics ports: HTTP/1 over hyper with Go's
//! `ReadHeaderTimeout` / `IdleTimeout` meaning, a cap on open connections per port, and an
//! accept loop that backs off instead of failing or spinning when accept does (EMFILE).
//!
//! Why not `axum::serve`: it keeps idle and half-sent connections open for ever, so slow
//! clients on a probe port could use up the process's file descriptors and starve the event
//! path (API calls failed with "Too many open files").

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Bounds on the connections of one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// From accept, or from the first byte of a later request, until its headers are complete.
    pub header_read_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Open connections per port.
    pub max_connections: usize,
}

impl Default for ConnLimits {
    /// 5 s is the Go adapter's `ReadHeaderTimeout` (a probe's request is one packet); 60 s
    /// outlives a Prometheus scrape interval (15-30 s) so scrapers keep their connection; 100
    /// is far above what the kubelet (one short connection per probe) and a few scrapers use,
    /// and two ports' worth stays well inside a 256-descriptor limit.
    fn default() -> Self {
        ConnLimits {
            header_read_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            max_connections: 100,
        }
    }
}

/// What a connection is doing, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for (the rest of) a request's headers.
    Reading,
    /// A request is being handled.
    Busy,
    /// A response was given; waiting for the next request.
    Idle,
}

/// One connection's state, shared by its IO, its service, its watchdog and the registry.
struct Tracker {
    phase: Mutex<(Phase, Instant)>,
    /// Wakes the watchdog when the phase changes.
    changed: Notify,
    /// Eviction: the connection is dropped.
    evict: Notify,
    done: AtomicBool,
    /// Signalled once the connection's socket is closed.
    finished: Notify,
}

impl Tracker {
    fn new() -> Arc<Self> {
        Arc::new(Tracker {
            phase: Mutex::new((Phase::Reading, Instant::now())),
            changed: Notify::new(),
            evict: Notify::new(),
            done: AtomicBool::new(false),
            finished: Notify::new(),
        })
    }

    fn phase(&self) -> (Phase, Instant) {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves to `to` (only from `from` when given), waking the watchdog.
    fn set(&self, from: Option<Phase>, to: Phase) {
        let mut p = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        if from.is_none_or(|f| p.0 == f) && p.0 != to {
            *p = (to, Instant::now());
            drop(p);
            self.changed.notify_one();
        }
    }

    /// Resolves when the current phase outlasts its bound.
    async fn expired(&self, limits: ConnLimits) {
        loop {
            let (phase, since) = self.phase();
            let deadline = match phase {
                Phase::Reading => Some(since + limits.header_read_timeout),
                Phase::Idle => Some(since + limits.idle_timeout),
                Phase::Busy => None,
            };
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = sleep => {
                    if self.phase() == (phase, since) {
                        return;
                    }
                }
                _ = self.changed.notified() => {}
            }
        }
    }
}

/// The socket, noting the first byte of a request that arrives on an idle connection.
struct Tracked {
    inner: TcpStream,
    tracker: Arc<Tracker>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let res = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(res, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.tracker.set(Some(Phase::Idle), Phase::Reading);
        }
        res
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The open connections of one port, oldest first.
#[derive(Default)]
struct Registry(Mutex<VecDeque<Arc<Tracker>>>);

impl Registry {
    /// Admits a new connection. At the cap, the oldest connection not handling a request is
    /// evicted for it (returned, to be waited for), so a flood of slow clients cannot lock out
    /// the kubelet's next probe; only when every connection is busy is the newcomer refused.
    fn admit(&self, max: usize) -> Admission {
        let mut conns = self.0.lock().unwrap_or_else(|e| e.into_inner());
        conns.retain(|t| !t.done.load(Ordering::SeqCst));
        let mut evicted = None;
        if conns.len() >= max {
            let Some(pos) = conns.iter().position(|t| t.phase().0 != Phase::Busy) else {
                return Admission::Refused;
            };
            evicted = conns.remove(pos);
            if let Some(old) = &evicted {
                old.evict.notify_one();
            }
        }
        let t = Tracker::new();
        conns.push_back(t.clone());
        Admission::Admitted(t, evicted)
    }
}

enum Admission {
    /// The new connection's tracker, and the connection evicted for it.
    Admitted(Arc<Tracker>, Option<Arc<Tracker>>),
    Refused,
}

/// What a refused client reads before the connection closes.
const REFUSED: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

/// Serves `app` on `listener` within `limits` until `stop` resolves, then lets requests in
/// progress finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnLimits,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let registry = Registry::default();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut conns = tokio::task::JoinSet::new();
    let mut backoff = Duration::ZERO;
    tokio::pin!(stop);
    loop {
        while conns.try_join_next().is_some() {}
        let accepted = tokio::select! {
            _ = &mut stop => break,
            r = listener.accept() => r,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                backoff = Duration::ZERO;
                stream
            }
            Err(e) => {
                // Out of descriptors (or another transient failure): the pending connection
                // stays queued in the kernel, so retrying at once would spin.
                backoff = (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                tracing::warn!(error = %e, "accepting a connection failed; retrying in {backoff:?}");
                tokio::select! {
                    _ = &mut stop => break,
                    _ = tokio::time::sleep(backoff) => continue,
                }
            }
        };
        let tracker = match registry.admit(limits.max_connections) {
            Admission::Admitted(tracker, evicted) => {
                // Its socket is closed before another is accepted: descriptors stay within
                // the cap plus one however fast clients arrive.
                if let Some(old) = evicted {
                    old.finished.notified().await;
                }
                tracker
            }
            Admission::Refused => {
                let _ = stream.try_write(REFUSED);
                continue;
            }
        };
        conns.spawn(connection(
            stream,
            app.clone(),
            tracker,
            limits,
            stop_rx.clone(),
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    while conns.join_next().await.is_some() {}
}

/// Serves one connection until it ends, outlasts a bound, is evicted, or (after `stop`) has
/// finished its request in progress.
async fn connection(
    stream: TcpStream,
    app: Router,
    tracker: Arc<Tracker>,
    limits: ConnLimits,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let service = {
        let tracker = tracker.clone();
        let inner = TowerToHyperService::new(app);
        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let tracker = tracker.clone();
            tracker.set(None, Phase::Busy);
            let fut = hyper::service::Service::call(&inner, req);
            async move {
                let resp = fut.await;
                tracker.set(Some(Phase::Busy), Phase::Idle);
                resp
            }
        })
    };
    let _finished = Finished(tracker.clone());
    let io = TokioIo::new(Tracked {
        inner: stream,
        tracker: tracker.clone(),
    });
    // Boxed so it can be dropped (closing the socket) before `finished` is signalled.
    let mut conn = Box::pin(
        hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .serve_connection(io, service),
    );
    let mut stopping = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            _ = tracker.expired(limits) => break,
            _ = tracker.evict.notified() => break,
            _ = stop.wait_for(|s| *s), if !stopping => {
                // Only a request in progress is worth finishing; a waiting client is not.
                if tracker.phase().0 != Phase::Busy {
                    break;
                }
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Marks the connection closed, even when its task unwinds: the accept loop may be waiting
/// for it.
struct Finished(Arc<Tracker>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.done.store(true, Ordering::SeqCst);
        self.0.finished.notify_one();
    }
}

#[cfg(test)]
mod tests;
