//! `GET /tiles/{layers}`: TileJSON 3.0.0 for one layer or a comma-separated list.

use super::Path;
use super::{base_url, resolve_layers};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Map, Value};
use tuilerie_geo::Layer;

/// The union of the layers' bounds (the whole Web Mercator world when none
/// has any).
pub fn layers_bounds(layers: &[std::sync::Arc<Layer>]) -> [f64; 4] {
    layers
        .iter()
        .filter_map(|l| l.meta().bounds)
        .fold(None, |acc: Option<[f64; 4]>, b| {
            Some(match acc {
                None => b,
                Some(a) => [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])],
            })
        })
        .unwrap_or([-180.0, -85.051129, 180.0, 85.051129])
}

/// The TileJSON document of `layers`.
pub fn tilejson(base: &str, list: &str, layers: &[std::sync::Arc<Layer>], attribution: Option<&str>) -> Value {
    let minzoom = layers.iter().map(|l| l.tile_prep().settings().minzoom).min().unwrap_or(0);
    let maxzoom = layers.iter().map(|l| l.tile_prep().settings().maxzoom).max().unwrap_or(14);
    let bounds = layers_bounds(layers);
    let center_zoom = fit_zoom(&bounds).clamp(minzoom, maxzoom);
    let vector_layers: Vec<Value> = layers
        .iter()
        .map(|l| {
            let m = l.meta();
            let mut fields = Map::new();
            for f in &m.fields {
                fields.insert(f.name.clone(), json!(f.field_type.tilejson_name()));
            }
            if l.profile().classified_features() > 0 {
                fields.insert("waste_category".into(), json!("String"));
                fields.insert("waste_categories".into(), json!("String"));
            }
            if l.tile_prep().clusters().is_some() {
                fields.insert("cluster".into(), json!("Boolean"));
                fields.insert("point_count".into(), json!("Number"));
                fields.insert("point_count_abbreviated".into(), json!("String"));
                for c in l.profile().classes() {
                    fields.insert(format!("count_{c}"), json!("Number"));
                }
            }
            json!({
                "id": m.id,
                "description": m.title,
                "fields": fields,
                "minzoom": l.tile_prep().settings().minzoom,
                "maxzoom": l.tile_prep().settings().maxzoom,
            })
        })
        .collect();
    let mut doc = json!({
        "tilejson": "3.0.0",
        "name": layers.iter().map(|l| l.meta().title.as_str()).collect::<Vec<_>>().join(", "),
        "scheme": "xyz",
        "tiles": [format!("{base}/tiles/{list}/{{z}}/{{x}}/{{y}}.mvt")],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": bounds,
        "center": [centre(&bounds)[0], centre(&bounds)[1], center_zoom],
        "vector_layers": vector_layers,
    });
    if let Some(a) = attribution {
        doc["attribution"] = json!(a);
    }
    doc
}

/// The zoom at which `bounds` fits in about one 512-pixel tile.
fn fit_zoom(b: &[f64; 4]) -> u8 {
    let span = (b[2] - b[0]).max((b[3] - b[1]) * 1.5).max(1e-9);
    ((360.0 / span).log2().floor().max(0.0) as u8).min(18)
}

pub async fn get(
    State(state): State<AppState>,
    Path(layers): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let catalog = state.catalog().ok_or(ApiError::Loading)?;
    let resolved = resolve_layers(&catalog, &layers)?;
    let list = resolved.iter().map(|l| l.id().as_str()).collect::<Vec<_>>().join(",");
    Ok(Json(tilejson(&base_url(&state, &headers), &list, &resolved, state.options.attribution.as_deref())))
}

/// The middle of `[west, south, east, north]`, to 1e-7 degree (about 1 cm):
/// without the float noise of the halving (`-0.47280949999999994`).
pub fn centre(b: &[f64]) -> [f64; 2] {
    let r = |v: f64| (v * 1e7).round() / 1e7;
    [r((b[0] + b[2]) / 2.0), r((b[1] + b[3]) / 2.0)]
}
