//! Before a handler: the token a read needs ([`read_token`]), then, for a
//! write, its body read whole within the body timeout and the size limit
//! ([`read_body`]).
//!
//! One tower layer for both. A read (the hot path: tiles, `/nearest`)
//! costs a header check and no allocation; only a write boxes the future
//! that reads its body and then calls the route.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower::ServiceExt;

/// Adds [`Admit`] to a router.
#[derive(Clone)]
pub struct AdmitLayer(AppState);

impl AdmitLayer {
    pub fn new(state: AppState) -> Self {
        AdmitLayer(state)
    }
}

impl<S> tower::Layer<S> for AdmitLayer {
    type Service = Admit<S>;

    fn layer(&self, inner: S) -> Admit<S> {
        Admit { inner, state: self.0.clone() }
    }
}

/// The admission service around a route.
#[derive(Clone)]
pub struct Admit<S> {
    inner: S,
    state: AppState,
}

impl<S> tower::Service<Request> for Admit<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Unpin + Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = AdmitFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if let Err(e) = read_token(&self.state, &req) {
            return AdmitFuture::Refused(Some(e.into_response()));
        }
        if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
            return AdmitFuture::Call(self.inner.call(req));
        }
        // The route is called once the body is in: on a clone of it (the
        // one made ready stays here for the next request, as tower asks).
        let inner = self.inner.clone();
        AdmitFuture::Write(Box::pin(read_body(self.state.clone(), req, inner)))
    }
}

/// The answer of [`Admit`]: a refusal, the route's own, or a write's once
/// its body was read.
pub enum AdmitFuture<F> {
    Refused(Option<Response>),
    Call(F),
    Write(Pin<Box<dyn Future<Output = Response> + Send>>),
}

impl<F> Future for AdmitFuture<F>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.get_mut() {
            AdmitFuture::Refused(r) => Poll::Ready(Ok(r.take().unwrap_or_default())),
            AdmitFuture::Call(f) => Pin::new(f).poll(cx),
            AdmitFuture::Write(f) => f.as_mut().poll(cx).map(Ok),
        }
    }
}

/// With `[server] require_token_for_reads`, every request but `/health`
/// needs a valid token (any role); writes check their own role.
fn read_token(state: &AppState, req: &Request) -> Result<(), ApiError> {
    if !state.options.require_token_for_reads || req.uri().path() == "/health" {
        return Ok(());
    }
    match &state.writes {
        None => Err(ApiError::Unavailable { message: "reads need a token but this server has no store".into() }),
        Some(w) => match w.auth.principal(req.headers()) {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(ApiError::Unauthorized {
                message: "this server needs a token for reads too: Authorization: Bearer <token>".into(),
            }),
            Err(e) => Err(e),
        },
    }
}

/// Reads the body of a write request whole, within the body timeout and
/// the size limit, then calls `route` with it: a client that sends its
/// body slowly (or stops) gets 408 and frees its connection, one that
/// sends too much gets 413.
async fn read_body<S>(state: AppState, req: Request, route: S) -> Response
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    let limit = state.options.limits.max_body_bytes;
    let refuse = |status: StatusCode, message: String| {
        (status, axum::Json(serde_json::json!({"error": message, "parameter": "body"}))).into_response()
    };
    let (parts, body) = req.into_parts();
    let timeout = state.options.body_timeout;
    // One buffer of the announced length (frames appended): collecting the
    // frames and joining them would hold the body twice.
    let announced = parts
        .headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .unwrap_or(0);
    let read = async move {
        let mut body = http_body_util::Limited::new(body, limit);
        let mut buf = bytes::BytesMut::with_capacity(announced.min(limit));
        while let Some(frame) = http_body_util::BodyExt::frame(&mut body).await {
            if let Ok(data) = frame?.into_data() {
                buf.extend_from_slice(&data);
            }
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(buf.freeze())
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(bytes)) => {
            let req = Request::from_parts(parts, axum::body::Body::from(bytes));
            match route.oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            }
        }
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            crate::metrics::refusal("body_bytes");
            refuse(StatusCode::PAYLOAD_TOO_LARGE, format!("the request body is larger than the limit of {limit} bytes"))
        }
        Ok(Err(e)) => refuse(StatusCode::BAD_REQUEST, format!("the request body could not be read: {e}")),
        Err(_) => {
            crate::metrics::refusal("body_timeout");
            refuse(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive whole within {} s (server.body_timeout)",
                    timeout.as_secs_f64()
                ),
            )
        }
    }
}
