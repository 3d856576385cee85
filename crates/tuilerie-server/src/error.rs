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
    /// A request body of a type the endpoint does not take (415).
    #[error("Content-Type must be {expected}")]
    UnsupportedMediaType { expected: &'static str },
    /// The resource is in use (409), by the resources listed.
    #[error("{message}")]
    Conflict { message: String, used_by: Vec<String> },
    /// Too much heavy work at once (503 with `Retry-After`).
    #[error("busy")]
    Busy { retry_after: u64 },
    /// A write on a read-only collection (405 with `Allow`).
    #[error("{message}")]
    NotEditable { message: String },
    /// No token, or an unknown or revoked one (401 with `WWW-Authenticate`).
    #[error("{message}")]
    Unauthorized { message: String },
    /// A valid token that may not do this (403), naming what is missing.
    #[error("{message}")]
    Forbidden { message: String },
    /// An edit without `If-Match` (428).
    #[error("{message}")]
    PreconditionRequired { message: String },
    /// `If-Match` does not match (412); the current ETag in the body.
    #[error("{message}")]
    PreconditionFailed { message: String, etag: String },
    /// Too big for a configured limit (413).
    #[error("{message}")]
    TooLarge { message: String },
    /// A token writing faster than its budget (429 with `Retry-After`).
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    /// The store cannot take writes (disk full, read-only, no store): 503,
    /// reads go on.
    #[error("{message}")]
    Unavailable { message: String },
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

/// Checks that a request body is of one of the `allowed` media types
/// (parameters such as `charset` ignored). Write endpoints refuse forms and
/// `text/plain`, the types a page of another site may post without a CORS
/// preflight.
pub fn require_content_type(
    headers: &axum::http::HeaderMap,
    allowed: &[&str],
    expected: &'static str,
) -> Result<(), ApiError> {
    let essence = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match essence {
        Some(t) if allowed.contains(&t.as_str()) => Ok(()),
        _ => Err(ApiError::UnsupportedMediaType { expected }),
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
            ApiError::UnsupportedMediaType { expected } => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                json!({ "error": format!("Content-Type must be {expected}"), "parameter": "Content-Type" }),
            ),
            ApiError::Conflict { message, used_by } => {
                (StatusCode::CONFLICT, json!({ "error": message, "used_by": used_by }))
            }
            ApiError::Busy { retry_after } => {
                let body = json!({ "error": "too many exports, uploads or map builds at once; retry shortly" });
                let mut r = (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
                r.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(*retry_after));
                return r;
            }
            ApiError::NotEditable { message } => {
                let mut r = (StatusCode::METHOD_NOT_ALLOWED, Json(json!({ "error": message }))).into_response();
                r.headers_mut()
                    .insert(axum::http::header::ALLOW, axum::http::HeaderValue::from_static("GET, HEAD, OPTIONS"));
                return r;
            }
            ApiError::Unauthorized { message } => {
                let mut r = (StatusCode::UNAUTHORIZED, Json(json!({ "error": message, "parameter": "Authorization" })))
                    .into_response();
                r.headers_mut().insert(
                    axum::http::header::WWW_AUTHENTICATE,
                    axum::http::HeaderValue::from_static("Bearer realm=\"tuilerie\""),
                );
                return r;
            }
            ApiError::Forbidden { message } => {
                (StatusCode::FORBIDDEN, json!({ "error": message, "parameter": "Authorization" }))
            }
            ApiError::PreconditionRequired { message } => {
                (StatusCode::PRECONDITION_REQUIRED, json!({ "error": message, "parameter": "If-Match" }))
            }
            ApiError::PreconditionFailed { message, etag } => {
                let mut r = (
                    StatusCode::PRECONDITION_FAILED,
                    Json(json!({ "error": message, "parameter": "If-Match", "etag": etag })),
                )
                    .into_response();
                if let Ok(v) = axum::http::HeaderValue::from_str(etag) {
                    r.headers_mut().insert(axum::http::header::ETAG, v);
                }
                return r;
            }
            ApiError::TooLarge { message } => {
                (StatusCode::PAYLOAD_TOO_LARGE, json!({ "error": message, "parameter": "body" }))
            }
            ApiError::TooManyRequests { message, retry_after } => {
                let mut r = (StatusCode::TOO_MANY_REQUESTS, Json(json!({ "error": message }))).into_response();
                r.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(*retry_after));
                return r;
            }
            ApiError::Unavailable { message } => {
                let mut r = (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": message }))).into_response();
                r.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(5u64));
                return r;
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
