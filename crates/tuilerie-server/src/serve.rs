//! The accept loop, on hyper's own server (HTTP/1.1 and HTTP/2) rather than
//! `axum::serve`, which sets no timeout: a client that opens connections and
//! sends nothing, or sends its headers a byte at a time, could hold them
//! (and, after SIGTERM, the process) forever.
//!
//! - request headers must arrive whole within `header_timeout`, and an idle
//!   keep-alive connection is closed after it too (hyper starts the header
//!   timer again once a response is sent);
//! - at most `max_connections` at once: the next ones wait in the kernel's
//!   backlog, and the cap is logged when reached;
//! - on shutdown, no new connection is accepted, open ones finish their
//!   requests, and those still open after `shutdown_timeout` are dropped.

use crate::App;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Bytes of a request line plus headers.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Timeouts and caps of the HTTP server (configuration `[server]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConnectionLimits {
    /// Time to receive a request's headers, and longest idle keep-alive.
    pub header_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Time given to open connections after a shutdown signal.
    pub shutdown_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: Duration::from_secs(10),
            max_connections: 1_000,
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then drains.
pub async fn serve(listener: TcpListener, app: App, limits: ConnectionLimits, shutdown: impl Future<Output = ()>) {
    let mut builder = Builder::new(TokioExecutor::new());
    // The request line and headers must fit in 64 KiB (hyper answers 431
    // beyond), so one request cannot make the server buffer more.
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).max_buf_size(MAX_HEAD_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_timeout))
        .keep_alive_timeout(limits.header_timeout);
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let full_logged = AtomicBool::new(false);
    tokio::pin!(shutdown);
    loop {
        if permits.available_permits() == 0 && !full_logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(max_connections = limits.max_connections, "connection cap reached; new connections wait");
            crate::metrics::refusal("max_connections");
        }
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            () = &mut shutdown => break,
        };
        if permits.available_permits() > 0 {
            full_logged.store(false, Ordering::Relaxed);
        }
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: let them free up.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
        let conn = graceful.watch(conn);
        metrics::counter!("tuilerie_connections_total").increment(1);
        let open = metrics::gauge!("tuilerie_connections_open");
        open.increment(1.0);
        tokio::spawn(async move {
            let _ = conn.await;
            open.decrement(1.0);
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("every connection closed"),
        () = tokio::time::sleep(limits.shutdown_timeout) => {
            tracing::warn!(seconds = limits.shutdown_timeout.as_secs_f64(), "connections still open after the shutdown timeout are dropped");
        }
    }
}
