//! `GET /catalog`: every layer with its metadata, plus layers that failed.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

pub async fn catalog(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let catalog = state.catalog().ok_or(ApiError::Loading)?;
    let base = super::base_url(&state, &headers);
    let layers: Vec<Value> = catalog
        .layers()
        .iter()
        .map(|l| {
            let m = l.meta();
            let edits = state.writes.as_ref().filter(|w| w.is_editable(m.id.as_str())).map(|w| {
                json!({
                    "edited_features": w.overlay.count(m.id.as_str()),
                    "conflicts": w.conflicts(m.id.as_str()),
                })
            });
            json!({
                "id": m.id,
                "title": m.title,
                "format": m.source.format,
                "crs": m.source.crs,
                "geometry_types": m.geometry_kinds.iter().map(|k| k.name()).collect::<Vec<_>>(),
                "bounds": m.bounds,
                "feature_count": m.feature_count,
                "fields": m.fields.iter().map(|f| json!({"name": f.name, "type": f.field_type})).collect::<Vec<_>>(),
                "skipped": m.skipped.counts,
                "minzoom": l.tile_prep().settings().minzoom,
                "maxzoom": l.tile_prep().settings().maxzoom,
                "clustered": l.tile_prep().clusters().is_some(),
                "timezone": l.profile().timezone().map(|tz| tz.name()),
                "waste_features": l.profile().classified_features(),
                "tilejson": format!("{base}/tiles/{}", m.id),
                "tiles": format!("{base}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt", m.id),
                "editable": edits.is_some(),
                "edits": edits,
            })
        })
        .collect();
    let failed: Vec<Value> = catalog.failed().iter().map(|f| json!({"path": f.path, "error": f.error})).collect();
    Ok(Json(json!({ "layers": layers, "failed": failed, "version": catalog.version() })))
}
