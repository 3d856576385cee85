//! tuilerie-server: the HTTP service over `tuilerie-geo`.
//!
//! [`app`] builds the router from an [`AppState`], so tests call it with
//! `tower::ServiceExt::oneshot` without a socket; `main.rs` binds it.
#![forbid(unsafe_code)]

pub mod admit;
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
        .layer(admit::AdmitLayer::new(state.clone()))
        .layer(cors)
        .layer(metrics::TrackLayer)
        .with_state(state)
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
