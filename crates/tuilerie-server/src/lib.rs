//! tuilerie-server: the HTTP service over `tuilerie-geo`.
//!
//! [`app`] builds the router from an [`AppState`], so tests call it with
//! `tower::ServiceExt::oneshot` without a socket; `main.rs` binds it.
#![forbid(unsafe_code)]

pub mod config;
pub mod error;
pub mod inspect;
pub mod loading;
pub mod routes;
pub mod state;

pub use state::{AppState, ServerOptions};

use axum::routing::get;
use axum::Router;

/// The service's routes over `state`.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/health", get(routes::health::health))
        .route("/catalog", get(routes::catalog::catalog))
        .with_state(state)
}
