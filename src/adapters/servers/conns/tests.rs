//! The connection bounds over real sockets under paused time: the clock only moves when every
//! task waits, so each closing is observed at its exact deadline, never raced against.

use super::*;
use axum::routing::get;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIMITS: ConnLimits = ConnLimits {
    header_read_timeout: Duration::from_secs(5),
    idle_timeout: Duration::from_secs(60),
    max_connections: 100,
};

async fn start(app: Router, limits: ConnLimits) -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(serve(l, app, limits, std::future::pending()));
    addr
}

fn healthz() -> Router {
    Router::new().route("/healthz", get(|| async { "ok" }))
}

const GET: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";

/// Reads until `needle` has arrived.
async fn read_until(c: &mut TcpStream, needle: &str) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&got).contains(needle) {
        let n = c.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "closed early; got {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got).into_owned()
}

/// Waits (in paused time, so an hour costs nothing) for the server to close `c`; returns how
/// long that took. Fails if it never does.
async fn closed_after(c: &mut TcpStream) -> Duration {
    let t0 = Instant::now();
    let mut buf = [0u8; 1024];
    let wait = async {
        loop {
            match c.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(3600), wait)
        .await
        .expect("the server never closed the connection");
    t0.elapsed()
}

#[tokio::test(start_paused = true)]
async fn a_half_sent_request_is_cut_off_at_the_header_timeout() {
    let addr = start(healthz(), LIMITS).await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    let after = closed_after(&mut c).await;
    assert!(
        after >= Duration::from_secs(5) && after < Duration::from_secs(6),
        "{after:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_silent_new_connection_is_cut_off_at_the_header_timeout() {
    let addr = start(healthz(), LIMITS).await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    let after = closed_after(&mut c).await;
    assert!(
        after >= Duration::from_secs(5) && after < Duration::from_secs(6),
        "{after:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_idle_kept_alive_connection_is_closed_at_the_idle_timeout() {
    let addr = start(healthz(), LIMITS).await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(GET).await.unwrap();
    read_until(&mut c, "ok").await;
    // Still usable within the idle timeout, past the header timeout.
    tokio::time::sleep(Duration::from_secs(30)).await;
    c.write_all(GET).await.unwrap();
    read_until(&mut c, "ok").await;
    let after = closed_after(&mut c).await;
    assert!(
        after >= Duration::from_secs(60) && after < Duration::from_secs(61),
        "{after:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_request_started_on_an_idle_connection_gets_the_header_timeout() {
    let addr = start(healthz(), LIMITS).await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(GET).await.unwrap();
    read_until(&mut c, "ok").await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    c.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let after = closed_after(&mut c).await;
    assert!(
        after >= Duration::from_secs(5) && after < Duration::from_secs(6),
        "{after:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn at_the_cap_the_oldest_waiting_connection_makes_way_for_a_probe() {
    let limits = ConnLimits {
        max_connections: 2,
        ..LIMITS
    };
    let addr = start(healthz(), limits).await;
    let mut slow1 = TcpStream::connect(addr).await.unwrap();
    slow1.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let mut slow2 = TcpStream::connect(addr).await.unwrap();
    slow2.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let t0 = Instant::now();
    let mut probe = TcpStream::connect(addr).await.unwrap();
    probe.write_all(GET).await.unwrap();
    assert!(
        read_until(&mut probe, "ok")
            .await
            .starts_with("HTTP/1.1 200")
    );
    closed_after(&mut slow1).await;
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "evicted, not timed out"
    );
    // The younger slow client was kept: it can finish its request.
    slow2.write_all(b"Host: t\r\n\r\n").await.unwrap();
    assert!(
        read_until(&mut slow2, "ok")
            .await
            .starts_with("HTTP/1.1 200")
    );
}

#[tokio::test(start_paused = true)]
async fn with_every_connection_busy_a_newcomer_is_refused_and_the_others_still_answer() {
    let entered = Arc::new(tokio::sync::Semaphore::new(0));
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let (e, r) = (entered.clone(), release.clone());
    let app = healthz().route(
        "/block",
        get(move || {
            let (e, r) = (e.clone(), r.clone());
            async move {
                e.add_permits(1);
                r.acquire().await.unwrap().forget();
                "done"
            }
        }),
    );
    let addr = start(
        app,
        ConnLimits {
            max_connections: 2,
            ..LIMITS
        },
    )
    .await;
    let mut busy = Vec::new();
    for _ in 0..2 {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET /block HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        busy.push(c);
    }
    entered.acquire_many(2).await.unwrap().forget();
    let t0 = Instant::now();
    let mut refused = TcpStream::connect(addr).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(3600), refused.read_to_end(&mut answer))
        .await
        .expect("the newcomer was neither answered nor closed")
        .ok();
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 503 Service Unavailable"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(t0.elapsed(), Duration::ZERO, "refused at once");
    release.add_permits(2);
    for c in &mut busy {
        read_until(c, "done").await;
        c.write_all(GET).await.unwrap();
        assert!(read_until(c, "ok").await.starts_with("HTTP/1.1 200"));
    }
}

#[tokio::test(start_paused = true)]
async fn stop_ends_the_server_after_the_request_in_progress() {
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let r = release.clone();
    let app = Router::new().route(
        "/block",
        get(move || {
            let r = r.clone();
            async move {
                r.acquire().await.unwrap().forget();
                "done"
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(l, app, LIMITS, async move {
        let _ = stop_rx.await;
    }));
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"GET /block HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    tokio::task::yield_now().await;
    stop_tx.send(()).unwrap();
    release.add_permits(1);
    assert!(read_until(&mut c, "done").await.starts_with("HTTP/1.1 200"));
    server.await.unwrap();
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test(start_paused = true)]
async fn stop_closes_waiting_connections_at_once() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(l, healthz(), LIMITS, async move {
        let _ = stop_rx.await;
    }));
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(GET).await.unwrap();
    read_until(&mut idle, "ok").await;
    stop_tx.send(()).unwrap();
    for c in [&mut half, &mut idle] {
        assert!(closed_after(c).await < Duration::from_secs(5));
    }
    server.await.unwrap();
}
