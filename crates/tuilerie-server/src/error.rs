//! HTTP errors: a JSON body `{"error": ..., "parameter": ...}` for client
//! mistakes; server faults are logged with details and answered opaquely.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A bad parameter (400), naming it.
    #[error("{message}")]
    BadRequest { parameter: String, message: String },
    /// Unknown resource (404).
    #[error("{message}")]
    NotFound { message: String, known: Option<Vec<String>> },
    /// Layers are still loading (503).
    #[error("layers are still loading")]
    Loading,
    /// A fault of ours (500); details go to the log only.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn bad(parameter: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::BadRequest { parameter: parameter.into(), message: message.into() }
    }
}

impl From<tuilerie_geo::ParamError> for ApiError {
    fn from(e: tuilerie_geo::ParamError) -> Self {
        ApiError::BadRequest { parameter: e.parameter, message: e.message }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            ApiError::BadRequest { parameter, message } => {
                (StatusCode::BAD_REQUEST, json!({ "error": message, "parameter": parameter }))
            }
            ApiError::NotFound { message, known } => {
                let mut b = json!({ "error": message });
                if let Some(k) = known {
                    b["known"] = json!(k);
                }
                (StatusCode::NOT_FOUND, b)
            }
            ApiError::Loading => {
                (StatusCode::SERVICE_UNAVAILABLE, json!({ "error": "layers are still loading, retry shortly" }))
            }
            ApiError::Internal(details) => {
                tracing::error!(details = %details, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, json!({ "error": "internal error" }))
            }
        };
        (status, Json(body)).into_response()
    }
}
