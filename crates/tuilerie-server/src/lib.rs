//! tuilerie-server: the HTTP service over `tuilerie-geo`.
//!
//! [`app`] builds the router from an [`AppState`], so tests call it with
//! `tower::ServiceExt::oneshot` without a socket; `main.rs` binds it.
#![forbid(unsafe_code)]

pub mod auth;
pub mod cache;
pub mod config;
pub mod cors;
pub mod edits;
pub mod error;
pub mod export;
pub mod glyphs;
pub mod heavy;
pub mod inspect;
pub mod limits;
pub mod loading;
pub mod maps;
pub mod metrics;
pub mod reload;
pub mod routes;
pub mod serve;
pub mod snapshots;
pub mod state;
pub mod status;
pub mod store;

pub use state::{AppState, ServerOptions};

use axum::middleware;
use axum::routing::{get, MethodRouter};
use axum::Router;
use cors::{CorsLayer, CorsPolicy};

/// The service's routes over `state`, with CORS for `cors_origins`
/// (`["*"]` allows any origin).
pub fn app_with_cors(state: AppState, cors_origins: &[String]) -> Router {
    app_with_policy(state, CorsPolicy::new(cors_origins))
}

/// The service's routes with a CORS policy (read and write origins).
pub fn app_with_policy(state: AppState, policy: CorsPolicy) -> Router {
    let cors = CorsLayer::new(policy);
    let mut router = Router::new();
    for (path, handler) in routes() {
        // Tiles are served by the fallback: see routes::tiles::fallback.
        if path == routes::tiles::ROUTE {
            continue;
        }
        let handler = if FORWARDED_URLS.contains(&path) {
            handler.layer(middleware::map_response(vary_forwarded))
        } else {
            handler
        };
        router = router.route(path, handler);
    }
    router
        .fallback(routes::tiles::fallback)
        .layer(axum::extract::DefaultBodyLimit::max(state.options.limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), admit))
        .layer(cors)
        .layer(middleware::from_fn(metrics::track))
        .with_state(state)
}

/// Before a handler: the token a read needs ([`read_token`]), then the
/// body of a write read whole ([`read_body`]). One middleware for both, so
/// that a read passes one boxed step instead of two.
async fn admit(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    use axum::response::IntoResponse;
    if let Err(e) = read_token(&state, &req) {
        return e.into_response();
    }
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    read_body(state, req, next).await
}

/// With `[server] require_token_for_reads`, every request but `/health`
/// needs a valid token (any role); writes check their own role.
fn read_token(state: &AppState, req: &axum::extract::Request) -> Result<(), error::ApiError> {
    if !state.options.require_token_for_reads || req.uri().path() == "/health" {
        return Ok(());
    }
    match &state.writes {
        None => Err(error::ApiError::Unavailable { message: "reads need a token but this server has no store".into() }),
        Some(w) => match w.auth.principal(req.headers()) {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(error::ApiError::Unauthorized {
                message: "this server needs a token for reads too: Authorization: Bearer <token>".into(),
            }),
            Err(e) => Err(e),
        },
    }
}

/// Reads the body of a write request whole, within the body timeout and
/// the size limit, before the handler runs: a client that sends its body
/// slowly (or stops) gets 408 and frees its connection, one that sends too
/// much gets 413.
async fn read_body(state: AppState, req: axum::extract::Request, next: middleware::Next) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
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
        Ok(Ok(bytes)) => next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))).await,
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

/// Routes whose answers hold absolute URLs built from `X-Forwarded-Host` and
/// `X-Forwarded-Proto` (when no public URL is configured): a shared cache
/// must keep one copy per value of those headers.
const FORWARDED_URLS: &[&str] = &[
    "/collections/{id}/items/{fid}/observations",
    "/observations",
    "/",
    "/style.json",
    "/catalog",
    "/tiles/{layers}",
    "/collections",
    "/collections/{id}",
    "/collections/{id}/schema",
    "/collections/{id}/queryables",
    "/collections/{id}/feature-schema",
    "/collections/{id}/items",
    "/collections/{id}/items/{fid}",
    "/maps",
    "/maps/{id}",
    "/maps/{id}/style.json",
];

async fn vary_forwarded(mut r: axum::response::Response) -> axum::response::Response {
    r.headers_mut()
        .append(axum::http::header::VARY, axum::http::HeaderValue::from_static("X-Forwarded-Host, X-Forwarded-Proto"));
    r
}

/// Every route with its handler; documented one for one in
/// [`routes::openapi::ENDPOINTS`].
pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    use routes::*;
    vec![
        ("/", get(web::root)),
        ("/assets/{file}", get(web::asset)),
        ("/favicon.ico", get(web::favicon)),
        ("/style.json", get(style::get)),
        ("/health", get(health::health)),
        ("/metrics", get(routes::metrics::get)),
        ("/catalog", get(catalog::catalog)),
        ("/openapi.json", get(openapi::get)),
        ("/tiles/{layers}", get(tilejson::get)),
        (tiles::ROUTE, get(tiles::tile)),
        ("/waste-categories", get(waste::list)),
        ("/fonts", get(fonts::list)),
        ("/fonts/{fontstack}/{range}", get(fonts::range)),
        ("/nearest", get(nearest::get)),
        ("/conformance", get(ogc::conformance)),
        ("/collections", get(ogc::collections)),
        ("/collections/{id}", get(ogc::one_collection)),
        ("/collections/{id}/schema", get(schema::schema)),
        ("/collections/{id}/queryables", get(schema::queryables)),
        ("/collections/{id}/feature-schema", get(schema::feature_schema)),
        ("/collections/{id}/items", get(ogc::items).post(edit::create).options(edit::options_items)),
        (
            "/collections/{id}/items/{fid}",
            get(ogc::item).put(edit::replace).patch(edit::update).delete(edit::delete).options(edit::options_item),
        ),
        ("/collections/{id}/items/{fid}/history", get(edit::history)),
        ("/collections/{id}/changes.osc", get(osc::get)),
        ("/collections/{id}/items/{fid}/observations", get(status::history).post(status::post_one)),
        ("/collections/{id}/items/{fid}/busy-hours", get(status::busy_hours)),
        ("/observations", get(status::feed).post(status::post_batch)),
        ("/events", get(events::get)),
        ("/changes", get(edit::changes)),
        ("/maps", get(routes::maps::list).post(routes::maps::create)),
        ("/maps/{id}", get(routes::maps::get).delete(routes::maps::delete)),
        ("/maps/{id}/legend", get(routes::maps::get_legend)),
        ("/maps/{id}/style.json", get(routes::maps::style)),
        ("/maps/{id}/tiles/{z}/{x}/{y}", get(routes::maps::tile)),
        ("/tables", get(tables::list).post(tables::create)),
        ("/tables/{id}", get(tables::get).delete(tables::delete)),
    ]
}

/// The service's routes with CORS open to any origin.
pub fn app(state: AppState) -> Router {
    app_with_cors(state, &["*".to_string()])
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_is_documented_and_every_documented_path_is_routed() {
        let routed: std::collections::BTreeSet<&str> = super::routes().iter().map(|(p, _)| *p).collect();
        let documented: std::collections::BTreeSet<&str> =
            super::routes::openapi::ENDPOINTS.iter().map(|e| e.route).collect();
        assert_eq!(routed, documented);
    }
}
