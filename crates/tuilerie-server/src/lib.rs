//! tuilerie-server: the HTTP service over `tuilerie-geo`.
//!
//! [`app`] builds the router from an [`AppState`], so tests call it with
//! `tower::ServiceExt::oneshot` without a socket; `main.rs` binds it.
#![forbid(unsafe_code)]

pub mod cache;
pub mod config;
pub mod error;
pub mod inspect;
pub mod loading;
pub mod routes;
pub mod state;

pub use state::{AppState, ServerOptions};

use axum::http::{header, HeaderValue, Method};
use axum::routing::get;
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The service's routes over `state`, with CORS for `cors_origins`
/// (`["*"]` allows any origin).
pub fn app_with_cors(state: AppState, cors_origins: &[String]) -> Router {
    let origin = if cors_origins.iter().any(|o| o == "*") || cors_origins.is_empty() {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(cors_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let cors = CorsLayer::new()
        .allow_origin(origin)
        .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE, header::IF_NONE_MATCH])
        .expose_headers([header::ETAG, header::CONTENT_ENCODING]);
    Router::new()
        .route("/health", get(routes::health::health))
        .route("/catalog", get(routes::catalog::catalog))
        .route("/tiles/{layers}", get(routes::tilejson::get))
        .route("/tiles/{layers}/{z}/{x}/{y}", get(routes::tiles::tile))
        .route("/waste-categories", get(routes::waste::list))
        .route("/nearest", get(routes::nearest::get))
        .route("/", get(routes::ogc::landing))
        .route("/conformance", get(routes::ogc::conformance))
        .route("/collections", get(routes::ogc::collections))
        .route("/collections/{id}", get(routes::ogc::one_collection))
        .route("/collections/{id}/items", get(routes::ogc::items))
        .route("/collections/{id}/items/{fid}", get(routes::ogc::item))
        .layer(cors)
        .with_state(state)
}

/// The service's routes with CORS open to any origin.
pub fn app(state: AppState) -> Router {
    app_with_cors(state, &["*".to_string()])
}
