//! `GET /metrics`: the gauges read at scrape time are set, then every
//! metric is rendered (see [`crate::metrics`] for the names).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// `GET /metrics`: the Prometheus text exposition (version 0.0.4).
pub async fn get(axum::extract::State(state): axum::extract::State<crate::AppState>) -> Response {
    metrics::gauge!("tuilerie_tile_cache_bytes").set(state.tiles.weighted_size() as f64);
    if let Some(catalog) = state.catalog() {
        for layer in catalog.layers() {
            metrics::gauge!("tuilerie_layer_features", "layer" => layer.id().to_string()).set(layer.len() as f64);
        }
    }
    match crate::metrics::render() {
        Some(text) => {
            ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
        }
        None => (StatusCode::SERVICE_UNAVAILABLE, "metrics recorder unavailable\n").into_response(),
    }
}
