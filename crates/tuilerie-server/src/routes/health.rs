//! `GET /health`: 200 with the layer count once loading is done, 503 before.

use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    match state.catalog() {
        Some(c) => (
            StatusCode::OK,
            Json(json!({
                "status": "ok",
                "layers": c.layers().len(),
                "failed": c.failed().len(),
                "version": c.version(),
                // A store: writes, live status and /events are on.
                "writes": state.writes.is_some(),
            })),
        ),
        None => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "loading" }))),
    }
}
