//! Operations: `GET /metrics` in the Prometheus text format, a request id
//! on every request (`x-request-id`, taken from the client when it sends a
//! sane one, else made here, and echoed), and one tracing span per request
//! so every log line of a request carries its id.
//!
//! Metric names (all prefixed `tuilerie_`):
//! - `http_requests_total{route,method,status}`, `http_request_duration_seconds{route}`
//!   (route is the template, e.g. `/collections/{id}/items`: bounded labels);
//! - `tile_cache_hits_total`, `tile_cache_misses_total`, `tile_cache_bytes`;
//! - `layer_load_duration_seconds{kind=load|reload}`, `layer_reloads_total{result}`,
//!   `layer_features{layer}`;
//! - `connections_open`, `connections_total`, `refusals_total{limit}`.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Latency buckets in seconds: a cached tile takes tens of microseconds, an
/// 8000-pixel PNG seconds.
const LATENCY_BUCKETS: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once (every later call returns the
/// same handle) and starts its upkeep thread, which folds recorded
/// histogram samples into buckets so they never pile up between scrapes.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new().set_buckets(LATENCY_BUCKETS).ok()?;
            let handle = match builder.install_recorder() {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed; /metrics will be empty");
                    return None;
                }
            };
            let upkeep = handle.clone();
            let _ = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || loop {
                std::thread::sleep(Duration::from_secs(5));
                upkeep.run_upkeep();
            });
            describe();
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!("tuilerie_http_requests_total", "HTTP requests answered, by route template, method and status");
    describe_histogram!("tuilerie_http_request_duration_seconds", Unit::Seconds, "Time to answer, by route template");
    describe_counter!("tuilerie_tile_cache_hits_total", "Tiles served from the cache");
    describe_counter!("tuilerie_tile_cache_misses_total", "Tiles rendered because they were not cached");
    describe_gauge!("tuilerie_tile_cache_bytes", Unit::Bytes, "Bytes held by the tile cache");
    describe_histogram!(
        "tuilerie_layer_load_duration_seconds",
        Unit::Seconds,
        "Time to load layers (kind: load or reload)"
    );
    describe_counter!("tuilerie_layer_reloads_total", "Layer reloads, by result (ok, failed)");
    describe_gauge!("tuilerie_layer_features", "Features per served layer");
    describe_gauge!("tuilerie_connections_open", "Open client connections");
    describe_counter!("tuilerie_connections_total", "Client connections accepted");
    describe_counter!("tuilerie_refusals_total", "Requests or connections refused by a limit, by limit");
}

/// Counts one refusal by the limit named (e.g. `max_connections`,
/// `export_queue`, `table_bytes`).
pub fn refusal(limit: &'static str) {
    metrics::counter!("tuilerie_refusals_total", "limit" => limit).increment(1);
}

/// The text exposition of every metric, `None` when no recorder could be
/// installed.
pub fn render() -> Option<String> {
    handle().map(|h| h.render())
}

/// The request id header.
pub const REQUEST_ID: &str = "x-request-id";

/// A client's id is kept when it is 1 to 128 visible ASCII characters.
fn client_id(v: &HeaderValue) -> Option<&str> {
    let s = v.to_str().ok()?;
    (!s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic())).then_some(s)
}

/// A new id: a per-process random prefix and a counter (unique within the
/// process, and across restarts with overwhelming probability).
fn new_id() -> String {
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let prefix = *PREFIX.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
        h.write_u32(std::process::id());
        h.finish() as u32
    });
    format!("{prefix:08x}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A response extension naming the route of an answer given by the
/// fallback (tiles), which has no matched path.
#[derive(Debug, Clone, Copy)]
pub struct Route(pub &'static str);

/// The route label: the matched template, else the [`Route`] the fallback
/// gave, else `unmatched` (so unknown paths cannot grow the label set).
fn route_label(matched: Option<String>, response: &Response) -> String {
    matched
        .or_else(|| response.extensions().get::<Route>().map(|r| r.0.to_string()))
        .unwrap_or_else(|| "unmatched".to_string())
}

/// Middleware: request id, span, access log line (debug; errors at warn
/// and error) and the request metrics.
pub async fn track(req: Request, next: Next) -> Response {
    let id = req.headers().get(REQUEST_ID).and_then(client_id).map_or_else(new_id, str::to_string);
    let matched = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let method = req.method().clone();
    let span = tracing::info_span!("request", id = %id, method = %method, route = tracing::field::Empty);
    if let Some(m) = &matched {
        span.record("route", m.as_str());
    }
    let start = Instant::now();
    let mut response = next.run(req).instrument(span.clone()).await;
    let elapsed = start.elapsed();
    let route = route_label(matched, &response);
    let status = response.status();
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    span.in_scope(|| {
        let ms = elapsed.as_secs_f64() * 1e3;
        // A 503 is a refusal (loading, busy, the store cannot write), not a
        // fault; /health answers it on purpose while the layers load.
        if status == StatusCode::SERVICE_UNAVAILABLE && route == "/health" {
            tracing::debug!(status = status.as_u16(), ms, "answered");
        } else if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(status = status.as_u16(), ms, "answered");
        } else if status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::PAYLOAD_TOO_LARGE
        {
            tracing::warn!(status = status.as_u16(), ms, "refused");
        } else {
            tracing::debug!(status = status.as_u16(), ms, "answered");
        }
    });
    if handle().is_some() {
        let labels =
            [("route", route.clone()), ("method", method.to_string()), ("status", status.as_u16().to_string())];
        metrics::counter!("tuilerie_http_requests_total", &labels).increment(1);
        metrics::histogram!("tuilerie_http_request_duration_seconds", "route" => route).record(elapsed.as_secs_f64());
    }
    response
}
