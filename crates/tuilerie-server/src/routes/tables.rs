//! CSV tables for joins: `GET /tables`, `POST /tables?id=` (the CSV as the
//! request body, `Content-Type: text/csv`; delimiter and encoding
//! detected), `GET /tables/{id}`, `DELETE /tables/{id}`.

use super::maps::{persist, resource_change};
use super::Path;
use crate::auth::Need;
use crate::error::{require_content_type, ApiError};
use crate::heavy::Kind;
use crate::state::AppState;
use crate::store::Effect;
use axum::body::Bytes;
use axum::extract::{Query, State};
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

/// `POST /tables?id=population&name=population.csv` with the CSV as body;
/// 201 once the table is in the store. Admin (or `maps`) token; a table of
/// the configuration file is read-only (409).
pub async fn create(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let who = state.writes()?.auth.authorize(&headers, Need::Maps)?;
    require_content_type(&headers, CSV_TYPES, "text/csv")?;
    let id = params.get("id").ok_or_else(|| ApiError::bad("id", "id is required (letters, digits, - _ .)"))?;
    LayerId::new(id).map_err(|e| ApiError::bad("id", format!("table id {id:?}: {e}")))?;
    state.maps.table_writable(id, "change")?;
    if body.is_empty() {
        return Err(ApiError::bad("body", "the request body must be the CSV file"));
    }
    let limits = state.options.limits.table();
    let name = params.get("name").cloned().unwrap_or_else(|| format!("{id}.csv"));
    let (csv, file_name) = (body.clone(), name.clone());
    let table = state
        .heavy
        .run(Kind::Build, move || Table::parse_with(&name, &body, limits))
        .await?
        .map_err(|e| ApiError::bad("body", e.message))?;
    let described = describe(id, &table, 5);
    let previous = state.maps.table(id);
    state.maps.put_table(id.clone(), table)?;
    let op = if previous.is_some() { "replace" } else { "create" };
    let after = json!({"name": file_name, "bytes": csv.len()}).to_string();
    let change = resource_change(&who.name, op, "table", id, Some(after));
    if let Err(e) = persist(&state, change, Effect::PutTable { name: file_name, csv }).await {
        state.maps.restore_table(id, previous);
        return Err(e);
    }
    Ok((StatusCode::CREATED, Json(described)))
}

/// `DELETE /tables/{id}`: 204 once stored; 409 naming the maps that join
/// it, or the configuration file that defines it; 404.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let who = state.writes()?.auth.authorize(&headers, Need::Maps)?;
    if state.maps.table(&id).is_none() {
        return Err(ApiError::NotFound {
            message: format!("unknown table {id:?}"),
            known: Some(state.maps.tables().into_iter().map(|(k, _)| k).collect()),
        });
    }
    state.maps.table_writable(&id, "remove")?;
    let maps = state.maps.table_users(&id);
    if !maps.is_empty() {
        return Err(ApiError::Conflict {
            message: format!("table {id:?} is joined by the maps {}; delete or change them first", maps.join(", ")),
            used_by: maps,
        });
    }
    persist(&state, resource_change(&who.name, "delete", "table", &id, None), Effect::DeleteTable).await?;
    match state.maps.remove_table(&id) {
        Ok(_) => Ok(StatusCode::NO_CONTENT),
        Err(maps) => Err(ApiError::Conflict {
            message: format!("table {id:?} is joined by the maps {}; delete or change them first", maps.join(", ")),
            used_by: maps,
        }),
    }
}
