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

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

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
/// The same, as a header name (a `&str` is parsed again at every use).
const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static(REQUEST_ID);

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
    // Written by hand: `format!` cost a thousand instructions a request.
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // Exactly as long as the id: the response header takes the buffer as
    // it is (a longer one costs `Bytes` a second allocation).
    let mut id = String::with_capacity(9 + hex_digits(n).max(1));
    push_hex(&mut id, prefix as u64, 8);
    id.push('-');
    push_hex(&mut id, n, 1);
    id
}

/// Significant hexadecimal digits of `x` (none for 0).
fn hex_digits(x: u64) -> usize {
    (64 - x.leading_zeros() as usize).div_ceil(4)
}

/// `x` in lower-case hexadecimal, zero-padded to at least `width` digits.
fn push_hex(out: &mut String, x: u64, width: usize) {
    let digits = hex_digits(x).max(width);
    for i in (0..digits).rev() {
        out.push(char::from(b"0123456789abcdef"[(x >> (4 * i) & 0xf) as usize]));
    }
}

/// A response extension naming the route of an answer given by the
/// fallback (tiles), which has no matched path.
#[derive(Debug, Clone, Copy)]
pub struct Route(pub &'static str);

/// The method label: the standard methods by name, any other `OTHER` (a
/// client may send any token as a method; labels must stay bounded).
fn method_label(m: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN.iter().find(|k| *k == m).map_or("OTHER", |k| k.as_str())
}

/// Counts a request and records its duration. The labelled handles are
/// kept per thread by route, method and status: looking a labelled metric
/// up in the registry builds its key (label strings) and hashes it, on
/// every request otherwise. Routes are the templates (and the fallback's
/// and `unmatched`), so the set is small and bounded: a list beats a map.
fn record(route: &'static str, method: &Method, status: StatusCode, elapsed: Duration) {
    struct Handles {
        route: &'static str,
        duration: metrics::Histogram,
        counts: Vec<(&'static str, u16, metrics::Counter)>,
    }
    thread_local! {
        static HANDLES: RefCell<Vec<Handles>> = const { RefCell::new(Vec::new()) };
    }
    let method = method_label(method);
    HANDLES.with_borrow_mut(|all| {
        let at = match all.iter().position(|h| h.route == route) {
            Some(at) => at,
            None => {
                let duration = metrics::histogram!("tuilerie_http_request_duration_seconds", "route" => route);
                all.push(Handles { route, duration, counts: Vec::new() });
                all.len() - 1
            }
        };
        let h = &mut all[at];
        h.duration.record(elapsed.as_secs_f64());
        let code = status.as_u16();
        match h.counts.iter().find(|(m, c, _)| *m == method && *c == code) {
            Some((_, _, counter)) => counter.increment(1),
            None => {
                let labels =
                    [("route", route.to_string()), ("method", method.to_string()), ("status", code.to_string())];
                let counter = metrics::counter!("tuilerie_http_requests_total", &labels);
                counter.increment(1);
                h.counts.push((method, code, counter));
            }
        }
    });
}

/// Adds [`Track`] around the router: request id, span, access log line
/// (debug; errors at warn and error) and the request metrics.
///
/// A tower layer rather than `axum::middleware::from_fn`, which boxes the
/// rest of the stack and the middleware's future on every request (with
/// [`crate::admit`] as a layer too: a hot tile 4.2 -> 3.5 µs in
/// `benches/handlers.rs`, binaries alternated). It wraps the router once
/// (see [`crate::App`]), so it cannot read axum's `MatchedPath`: `template`
/// gives the route template of a path, from the same templates and the
/// same matcher as the router's.
#[derive(Debug, Clone, Copy)]
pub struct TrackLayer {
    template: fn(&str) -> Option<&'static str>,
}

impl TrackLayer {
    pub fn new(template: fn(&str) -> Option<&'static str>) -> Self {
        TrackLayer { template }
    }
}

impl<S> tower::Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Track<S> {
        Track { inner, template: self.template }
    }
}

/// The tracking service around the router.
#[derive(Debug, Clone)]
pub struct Track<S> {
    inner: S,
    template: fn(&str) -> Option<&'static str>,
}

impl<S> tower::Service<Request> for Track<S>
where
    S: tower::Service<Request, Response = Response>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TrackFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The client's id when it is sane (its header value kept as is),
        // else a new one.
        let (id, header) = match req
            .headers()
            .get(&REQUEST_ID_HEADER)
            .and_then(|v| client_id(v).map(|s| (s.to_string(), v.clone())))
        {
            Some((id, v)) => (id, Some(v)),
            None => (new_id(), None),
        };
        let matched = (self.template)(req.uri().path());
        let method = req.method().clone();
        let span = tracing::info_span!("request", id = %id, method = %method, route = tracing::field::Empty);
        if let Some(m) = matched {
            span.record("route", m);
        }
        let start = Instant::now();
        let future = span.in_scope(|| self.inner.call(req));
        TrackFuture { future, request: Some(Tracked { id, header, matched, method, span, start }) }
    }
}

/// What [`Track`] keeps of a request until its answer.
#[derive(Debug)]
struct Tracked {
    id: String,
    /// The client's id header, sent back as it came.
    header: Option<HeaderValue>,
    /// The route template the path matched.
    matched: Option<&'static str>,
    method: Method,
    span: tracing::Span,
    start: Instant,
}

/// The route's answer, with the request id added, logged and counted.
pub struct TrackFuture<F> {
    future: F,
    request: Option<Tracked>,
}

impl<F, E> Future for TrackFuture<F>
where
    F: Future<Output = Result<Response, E>> + Unpin,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let polled = match &this.request {
            Some(t) => t.span.in_scope(|| Pin::new(&mut this.future).poll(cx)),
            None => Pin::new(&mut this.future).poll(cx),
        };
        let response = match polled {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(r) => r?,
        };
        Poll::Ready(Ok(match this.request.take() {
            Some(t) => answered(t, response),
            None => response,
        }))
    }
}

/// Adds the request id to `response`, logs its line and counts it.
fn answered(t: Tracked, mut response: Response) -> Response {
    let Tracked { id, header, matched, method, span, start } = t;
    let elapsed = start.elapsed();
    // The route label: the matched template, else the [`Route`] the
    // fallback gave, else `unmatched` (so unknown paths cannot grow the
    // label set).
    let fallback = response.extensions().get::<Route>().map(|r| r.0);
    let route = matched.or(fallback).unwrap_or("unmatched");
    let status = response.status();
    let header = header.or_else(|| HeaderValue::from_maybe_shared(bytes::Bytes::from(id)).ok());
    if let Some(v) = header {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
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
        record(route, &method, status, elapsed);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_prefix_and_the_counter_in_hexadecimal() {
        for (x, width) in [(0u64, 1), (0, 8), (0xa, 1), (0x1f, 8), (0xdead_beef, 8), (u64::MAX, 1), (1 << 60, 3)] {
            let mut s = String::new();
            push_hex(&mut s, x, width);
            assert_eq!(s, format!("{x:0width$x}"));
        }
        let (a, b) = (new_id(), new_id());
        assert_eq!((a.len(), b.len()), (a.capacity(), b.capacity()));
        let (pa, na) = a.split_once('-').unwrap();
        let (pb, nb) = b.split_once('-').unwrap();
        assert_eq!((pa.len(), pa), (8, pb));
        assert!(u64::from_str_radix(nb, 16).unwrap() > u64::from_str_radix(na, 16).unwrap());
    }
}
