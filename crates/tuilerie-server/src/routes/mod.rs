//! HTTP routes, one module per resource.

pub mod catalog;
pub mod edit;
pub mod events;
pub mod fonts;
pub mod health;
pub mod html;
pub mod maps;
pub mod metrics;
pub mod nearest;
pub mod ogc;
pub mod openapi;
pub mod osc;
pub mod schema;
pub mod status;
pub mod style;
pub mod tables;
pub mod tilejson;
pub mod tiles;
pub mod waste;
pub mod web;

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use std::sync::Arc;
use tuilerie_geo::{Catalog, Layer};

/// axum's `Path` whose refusals (a segment that is not UTF-8 once
/// percent-decoded, a number that does not parse) are JSON errors naming
/// the path, like every other 400.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(e) => Err(ApiError::bad("path", e.body_text())),
        }
    }
}

/// The largest sequence number a client may send (`since`, `Last-Event-ID`):
/// 2^53, which every JSON client keeps exactly (the store counts from 1).
pub const MAX_SEQ: i64 = 1 << 53;

/// Runs a read of the store off the async runtime (a read can wait for the
/// store's reader behind a long one): 503 when the store fails.
pub async fn read_store<T: Send + 'static>(
    state: &AppState,
    read: impl FnOnce(&dyn crate::store::Store) -> crate::store::StoreResult<T> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.writes()?.store.clone();
    tokio::task::spawn_blocking(move || read(store.as_ref()))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Unavailable { message: e.to_string() })
}

/// The public base URL: configured, else from `X-Forwarded-Proto` /
/// `X-Forwarded-Host` / `Host`.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = &state.options.public_url {
        return u.clone();
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.split(',').next().unwrap_or("").trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let proto = header("x-forwarded-proto").filter(|p| p == "http" || p == "https").unwrap_or_else(|| "http".into());
    let host = header("x-forwarded-host")
        .or_else(|| header("host"))
        .filter(|h| h.chars().all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c)))
        .unwrap_or_else(|| "localhost".into());
    format!("{proto}://{host}")
}

/// Resolves a comma-separated layer list; 404 naming the unknown layer.
pub fn resolve_layers(catalog: &Catalog, list: &str) -> Result<Vec<Arc<Layer>>, ApiError> {
    let mut out: Vec<Arc<Layer>> = Vec::new();
    for id in list.split(',') {
        let id = id.trim();
        if id.is_empty() {
            return Err(ApiError::bad("layers", format!("empty layer id in {list:?}")));
        }
        let Some(l) = catalog.get(id) else {
            return Err(ApiError::NotFound {
                message: format!("unknown layer {id:?}"),
                known: Some(catalog.ids().into_iter().map(String::from).collect()),
            });
        };
        if out.iter().any(|o| Arc::ptr_eq(o, l)) {
            return Err(ApiError::bad("layers", format!("layer {id:?} is listed twice")));
        }
        out.push(l.clone());
    }
    Ok(out)
}
