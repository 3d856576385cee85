//! CSV tables for joins: `GET /tables`, `POST /tables?id=` (the CSV as the
//! request body, `Content-Type: text/csv`; delimiter and encoding
//! detected), `GET /tables/{id}`, `DELETE /tables/{id}`.

use crate::error::{require_content_type, ApiError};
use crate::heavy::Kind;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use tuilerie_geo::thematic::Table;
use tuilerie_geo::LayerId;

/// Media types a table upload may have.
pub const CSV_TYPES: &[&str] = &["text/csv", "application/csv", "text/tab-separated-values"];

/// A table's description with its first `preview` rows.
pub fn describe(id: &str, t: &Table, preview: usize) -> Value {
    json!({
        "id": id,
        "name": t.name,
        "columns": t.columns,
        "rows": t.len(),
        "delimiter": t.delimiter.to_string(),
        "encoding": t.encoding,
        "preview": (0..t.len().min(preview)).map(|r| t.row(r)).collect::<Vec<_>>(),
    })
}

pub async fn list(State(state): State<AppState>) -> Json<Value> {
    Json(json!({"tables": state.maps.tables().iter().map(|(id, t)| describe(id, t, 0)).collect::<Vec<_>>()}))
}

pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let t = state.maps.table(&id).ok_or_else(|| ApiError::NotFound {
        message: format!("unknown table {id:?}"),
        known: Some(state.maps.tables().into_iter().map(|(k, _)| k).collect()),
    })?;
    Ok(Json(describe(&id, &t, 5)))
}

/// `POST /tables?id=population&name=population.csv` with the CSV as body.
pub async fn create(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    require_content_type(&headers, CSV_TYPES, "text/csv")?;
    let id = params.get("id").ok_or_else(|| ApiError::bad("id", "id is required (letters, digits, - _ .)"))?;
    LayerId::new(id).map_err(|e| ApiError::bad("id", format!("table id {id:?}: {e}")))?;
    if body.is_empty() {
        return Err(ApiError::bad("body", "the request body must be the CSV file"));
    }
    let limits = state.options.limits.table();
    let name = params.get("name").cloned().unwrap_or_else(|| format!("{id}.csv"));
    let table = state
        .heavy
        .run(Kind::Build, move || Table::parse_with(&name, &body, limits))
        .await?
        .map_err(|e| ApiError::bad("body", e.message))?;
    let described = describe(id, &table, 5);
    state.maps.put_table(id.clone(), table)?;
    Ok((StatusCode::CREATED, Json(described)))
}

/// `DELETE /tables/{id}`: 204; 409 naming the maps that join it; 404.
pub async fn delete(State(state): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    match state.maps.remove_table(&id) {
        Ok(true) => Ok(StatusCode::NO_CONTENT),
        Ok(false) => Err(ApiError::NotFound {
            message: format!("unknown table {id:?}"),
            known: Some(state.maps.tables().into_iter().map(|(k, _)| k).collect()),
        }),
        Err(maps) => Err(ApiError::Conflict {
            message: format!("table {id:?} is joined by the maps {}; delete or change them first", maps.join(", ")),
            used_by: maps,
        }),
    }
}
