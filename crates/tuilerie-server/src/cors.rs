//! Cross-origin resource sharing for every route.
//!
//! Our policy is small and fixed (origins from the configuration; GET, HEAD,
//! POST, DELETE; the request headers `Content-Type` and `If-None-Match`; the
//! response headers `ETag` and `Content-Encoding` exposed), so it is applied
//! with prebuilt header values and no allocation per request.
//! `tower_http::cors::CorsLayer` builds a header map and a future per request:
//! 0.65 µs of a 1.3 µs trivial request in `benches/handlers.rs`, which showed
//! up as a fifth of the hot-tile throughput.
//!
//! - A request with an allowed `Origin` (any origin when the list is `*`)
//!   gets `Access-Control-Allow-Origin` (`*`, or the origin itself with
//!   `Vary: Origin`) and `Access-Control-Expose-Headers`.
//! - A preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered
//!   here, 204, with the allowed methods and headers and a max age.
//! - A request from an origin that is not allowed is served without CORS
//!   headers: the browser then refuses it to the page, as the policy says.
//! - Writes (POST, PUT, PATCH, DELETE) are allowed to a page of another
//!   site only when its origin is in the write list (`cors_write_origins`,
//!   empty by default): its preflight lists only the read methods, and a
//!   write that carries such an `Origin` is refused with 403 before it
//!   reaches a handler. Requests without `Origin` (not from a browser) and
//!   same-origin ones (the built-in web map) may write.

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

const METHODS: &str = "GET, HEAD, POST, DELETE, OPTIONS";
const READ_METHODS: &str = "GET, HEAD, OPTIONS";
const ALLOWED_HEADERS: &str = "content-type, if-none-match";
const EXPOSED_HEADERS: &str = "etag, content-encoding";
const MAX_AGE: &str = "86400";

/// The allowed origins, for reads and for writes.
#[derive(Debug, Clone)]
pub struct CorsPolicy {
    any: bool,
    origins: Vec<HeaderValue>,
    write_any: bool,
    write_origins: Vec<HeaderValue>,
}

fn header_values(origins: &[String]) -> Vec<HeaderValue> {
    origins.iter().filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok()).collect()
}

impl CorsPolicy {
    /// `["*"]` or an empty list allow any origin to read; otherwise exact
    /// origins (scheme, host and port, as browsers send them). No other
    /// site may write.
    pub fn new(origins: &[String]) -> Self {
        Self::with_writes(origins, &[])
    }

    /// As [`CorsPolicy::new`], and `writes` may also write (`*`: any).
    pub fn with_writes(origins: &[String], writes: &[String]) -> Self {
        CorsPolicy {
            any: origins.is_empty() || origins.iter().any(|o| o == "*"),
            origins: header_values(origins),
            write_any: writes.iter().any(|o| o == "*"),
            write_origins: header_values(writes),
        }
    }

    /// Whether a request from `origin` (to `hosts`, the `Host` and
    /// `X-Forwarded-Host` it was sent to) may write.
    fn may_write(&self, origin: Option<&HeaderValue>, hosts: &[Option<&HeaderValue>]) -> bool {
        let Some(origin) = origin else { return true };
        let o = origin.as_bytes();
        let authority = o.iter().position(|&b| b == b':').and_then(|i| o.get(i + 3..)).unwrap_or(o);
        let same_origin = hosts.iter().flatten().any(|h| h.as_bytes().eq_ignore_ascii_case(authority));
        same_origin || self.write_any || self.write_origins.iter().any(|w| w.as_bytes().eq_ignore_ascii_case(o))
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`.
    fn allow(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        if self.any {
            return Some(HeaderValue::from_static("*"));
        }
        let origin = origin?;
        self.origins.iter().any(|o| o.as_bytes().eq_ignore_ascii_case(origin.as_bytes())).then(|| origin.clone())
    }
}

/// Adds [`Cors`] to a router.
#[derive(Debug, Clone)]
pub struct CorsLayer(Arc<CorsPolicy>);

impl CorsLayer {
    pub fn new(policy: CorsPolicy) -> Self {
        CorsLayer(Arc::new(policy))
    }
}

impl<S> tower::Layer<S> for CorsLayer {
    type Service = Cors<S>;

    fn layer(&self, inner: S) -> Cors<S> {
        Cors { inner, policy: self.0.clone() }
    }
}

/// The CORS service around a route.
#[derive(Debug, Clone)]
pub struct Cors<S> {
    inner: S,
    policy: Arc<CorsPolicy>,
}

impl<S> tower::Service<Request> for Cors<S>
where
    S: tower::Service<Request, Response = Response>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CorsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let h = req.headers();
        let origin = h.get(header::ORIGIN);
        let allow = self.policy.allow(origin);
        let vary = !self.policy.any;
        let may_write = || self.policy.may_write(origin, &[h.get(header::HOST), h.get("x-forwarded-host")]);
        if req.method() == Method::OPTIONS {
            if let Some(asked) = h.get(header::ACCESS_CONTROL_REQUEST_METHOD) {
                let write = !matches!(asked.as_bytes(), b"GET" | b"HEAD" | b"OPTIONS");
                let methods = if write && !may_write() { READ_METHODS } else { METHODS };
                return CorsFuture::Preflight(Some(preflight(allow, vary, methods)));
            }
        }
        let write = matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
        if write && !may_write() {
            return CorsFuture::Preflight(Some(forbidden_write()));
        }
        CorsFuture::Call { future: self.inner.call(req), allow, vary }
    }
}

/// 403 for a write from another site's page that may not write.
fn forbidden_write() -> Response {
    let body = serde_json::json!({
        "error": "this origin may not write; list it in [server] cors_write_origins",
        "parameter": "Origin",
    });
    let mut r = Response::new(axum::body::Body::from(body.to_string()));
    *r.status_mut() = StatusCode::FORBIDDEN;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn preflight(allow: Option<HeaderValue>, vary: bool, methods: &'static str) -> Response {
    let mut r = Response::new(axum::body::Body::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    let h = r.headers_mut();
    if vary {
        h.append(header::VARY, HeaderValue::from_static("origin"));
    }
    if let Some(a) = allow {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, a);
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(methods));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOWED_HEADERS));
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
    }
    r
}

/// The response of [`Cors`]: the route's, with the headers added.
pub enum CorsFuture<F> {
    Preflight(Option<Response>),
    Call { future: F, allow: Option<HeaderValue>, vary: bool },
}

impl<F, E> Future for CorsFuture<F>
where
    F: Future<Output = Result<Response, E>> + Unpin,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            CorsFuture::Preflight(r) => Poll::Ready(Ok(r.take().unwrap_or_default())),
            CorsFuture::Call { future, allow, vary } => {
                let mut r = match Pin::new(future).poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(r) => r?,
                };
                let h = r.headers_mut();
                if *vary {
                    h.append(header::VARY, HeaderValue::from_static("origin"));
                }
                if let Some(a) = allow.take() {
                    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, a);
                    h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSED_HEADERS));
                }
                Poll::Ready(Ok(r))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    fn app(origins: &[&str]) -> Router {
        app_writes(origins, &[])
    }

    fn app_writes(origins: &[&str], writes: &[&str]) -> Router {
        let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Router::new()
            .route("/x", get(|| async { "x" }).post(|| async { "posted" }))
            .layer(CorsLayer::new(CorsPolicy::with_writes(&list(origins), &list(writes))))
    }

    async fn send(app: Router, req: Request) -> Response {
        app.oneshot(req).await.unwrap()
    }

    #[tokio::test]
    async fn any_origin_gets_a_star_and_the_exposed_headers() {
        let r =
            send(app(&["*"]), Request::get("/x").header("origin", "https://a.example").body(Body::empty()).unwrap())
                .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(r.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS], EXPOSED_HEADERS);
        assert!(r.headers().get(header::VARY).is_none());
    }

    #[tokio::test]
    async fn a_listed_origin_is_echoed_with_vary_and_others_get_no_cors_headers() {
        let a = app(&["https://carto.example.org", "http://localhost:5173"]);
        let r =
            send(a.clone(), Request::get("/x").header("origin", "http://localhost:5173").body(Body::empty()).unwrap())
                .await;
        assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "http://localhost:5173");
        assert_eq!(r.headers()[header::VARY], "origin");
        let r =
            send(a.clone(), Request::get("/x").header("origin", "https://evil.example").body(Body::empty()).unwrap())
                .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(r.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        assert_eq!(r.headers()[header::VARY], "origin");
        let r = send(a, Request::get("/x").body(Body::empty()).unwrap()).await;
        assert!(r.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    }

    #[tokio::test]
    async fn preflights_are_answered_with_methods_headers_and_max_age() {
        let req = Request::builder()
            .method(Method::OPTIONS)
            .uri("/x")
            .header("origin", "https://carto.example.org")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .body(Body::empty())
            .unwrap();
        let r = send(app_writes(&["https://carto.example.org"], &["https://carto.example.org"]), req).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://carto.example.org");
        assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_METHODS], METHODS);
        assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS], ALLOWED_HEADERS);
        assert_eq!(r.headers()[header::ACCESS_CONTROL_MAX_AGE], MAX_AGE);
        // A plain OPTIONS (no preflight) reaches the router.
        let r =
            send(app(&["*"]), Request::builder().method(Method::OPTIONS).uri("/x").body(Body::empty()).unwrap()).await;
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[tokio::test]
    async fn other_sites_may_read_but_only_listed_origins_and_the_same_origin_may_write() {
        let preflight = |origin: &str| {
            Request::builder()
                .method(Method::OPTIONS)
                .uri("/x")
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .body(Body::empty())
                .unwrap()
        };
        let post = |origin: Option<&str>| {
            let mut r = Request::post("/x").header("host", "tiles.example.org");
            if let Some(o) = origin {
                r = r.header("origin", o);
            }
            r.body(Body::empty()).unwrap()
        };
        let a = app_writes(&["*"], &["https://agents.example.org"]);
        // Any site reads; its preflight for a write lists the read methods only.
        let r = send(a.clone(), preflight("https://evil.example")).await;
        assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_METHODS], READ_METHODS);
        let r = send(a.clone(), preflight("https://agents.example.org")).await;
        assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_METHODS], METHODS);
        // A write carrying another site's Origin never reaches the handler.
        let r = send(a.clone(), post(Some("https://evil.example"))).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        for ok in [None, Some("https://agents.example.org"), Some("https://tiles.example.org")] {
            let r = send(a.clone(), post(ok)).await;
            assert_eq!(r.status(), StatusCode::OK, "{ok:?}");
        }
        // By default no other site writes, even when any may read.
        let r = send(app(&["*"]), post(Some("https://agents.example.org"))).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
}
