//! `GET /style.json`: a MapLibre style (spec v8) drawing every layer, usable
//! as is by a front-end (`new maplibregl.Map({style: ".../style.json"})`).
//!
//! Per layer, by the geometry kinds it holds: polygons lightly filled and
//! outlined, lines stroked, points as circles coloured by their first waste
//! category (colours from the taxonomy), clusters as circles sized by
//! `point_count`; then the labels, in the service's own fonts (`/fonts`):
//! cluster counts, polygon names from zoom 9 and facility names from zoom
//! 14, with collision. Order: fills, outlines, lines, points and clusters,
//! labels. An optional raster or vector basemap comes from `[web.basemap]`.

use super::{base_url, resolve_layers};
use crate::config::{BasemapConfig, WebConfig};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use tuilerie_geo::waste::Taxonomy;
use tuilerie_geo::{GeometryKind, Layer};

/// Fill colours of polygon layers, in catalog order.
const POLYGON_COLOURS: &[&str] = &["#3b6ea5", "#8f5a2e", "#5b7f3a", "#7a4e9c"];
/// Colour of points without a waste category and of lines.
const NEUTRAL: &str = "#495057";
const CLUSTER: &str = "#0b7285";
pub const BACKGROUND: &str = "#f4f1ea";
/// Bounds shown when a style has no data (metropolitan France).
pub const DEFAULT_BOUNDS: [f64; 4] = [-5.5, 41.3, 9.6, 51.1];

/// The style of `layers` served from `base`.
pub fn style(base: &str, layers: &[Arc<Layer>], attribution: Option<&str>, web: &WebConfig) -> Value {
    let basemap = web.basemap.as_ref();
    let mut sources = Map::new();
    let mut style_layers = vec![json!({
        "id": "background", "type": "background",
        "paint": {"background-color": BACKGROUND},
    })];
    if let Some(b) = basemap {
        add_basemap(b, &mut sources, &mut style_layers);
    }
    let mut bounds: Option<[f64; 4]> = None;
    let (mut polygons, mut lines, mut points, mut labels) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, l) in layers.iter().enumerate() {
        let m = l.meta();
        let id = m.id.as_str();
        let mut source = json!({
            "type": "vector",
            "tiles": [format!("{base}/tiles/{id}/{{z}}/{{x}}/{{y}}.mvt")],
            "minzoom": l.tile_prep().settings().minzoom,
            "maxzoom": l.tile_prep().settings().maxzoom,
        });
        if let Some(b) = m.bounds {
            source["bounds"] = json!(b);
            bounds = Some(match bounds {
                None => b,
                Some(a) => [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])],
            });
        }
        if let Some(a) = attribution {
            source["attribution"] = json!(a);
        }
        sources.insert(id.to_string(), source);
        let has = |f: fn(GeometryKind) -> bool| m.geometry_kinds.iter().any(|&k| f(k));
        let name = l.name_field();
        if has(|k| matches!(k, GeometryKind::Polygon | GeometryKind::MultiPolygon)) {
            polygons.extend(polygon_layers(id, POLYGON_COLOURS[i % POLYGON_COLOURS.len()]));
            if let Some(field) = name {
                labels.push(polygon_labels(id, field));
            }
        }
        if has(|k| matches!(k, GeometryKind::LineString | GeometryKind::MultiLineString)) {
            lines.push(layer(
                id,
                "lines",
                "line",
                json!(["==", ["geometry-type"], "LineString"]),
                json!({
                    "line-color": NEUTRAL,
                    "line-width": ["interpolate", ["linear"], ["zoom"], 6, 1, 14, 2.5],
                }),
            ));
        }
        if has(GeometryKind::is_puntal) {
            if l.tile_prep().clusters().is_some() {
                points.push(cluster_layer(id));
                labels.push(cluster_counts(id));
            }
            points.push(point_layer(id, l.profile().classified_features() > 0));
            if let Some(field) = name {
                labels.push(point_labels(id, field));
            }
        }
    }
    style_layers.extend(polygons);
    style_layers.extend(lines);
    style_layers.extend(points);
    style_layers.extend(labels);
    let b = bounds.unwrap_or(DEFAULT_BOUNDS);
    let mut doc = json!({
        "version": 8,
        "name": "tuilerie",
        "metadata": {
            "tuilerie:layers": layers.iter().map(|l| json!({"id": l.id().as_str(), "title": l.meta().title})).collect::<Vec<_>>(),
            "tuilerie:bounds": b,
            "tuilerie:title": web.title.as_deref().unwrap_or("tuilerie"),
        },
        "center": super::tilejson::centre(&b),
        "zoom": fit_zoom(&b),
        "glyphs": format!("{base}/fonts/{{fontstack}}/{{range}}.pbf"),
        "sources": sources,
        "layers": style_layers,
    });
    if layers.is_empty() {
        doc["zoom"] = json!(4.5);
    }
    doc
}

/// A zoom at which `b` fits in about 1000 pixels.
fn fit_zoom(b: &[f64; 4]) -> f64 {
    let span = (b[2] - b[0]).max((b[3] - b[1]) * 1.4).max(1e-6);
    ((360.0 * 1000.0 / 512.0 / span).log2() * 10.0).floor().clamp(0.0, 180.0) / 10.0
}

fn layer(source: &str, role: &str, kind: &str, filter: Value, paint: Value) -> Value {
    json!({
        "id": format!("{source}-{role}"),
        "type": kind,
        "source": source,
        "source-layer": source,
        "filter": filter,
        "metadata": {"tuilerie:layer": source, "tuilerie:role": role},
        "paint": paint,
    })
}

fn polygon_layers(id: &str, colour: &str) -> [Value; 2] {
    let is_polygon = json!(["==", ["geometry-type"], "Polygon"]);
    [
        layer(id, "fill", "fill", is_polygon.clone(), json!({"fill-color": colour, "fill-opacity": 0.12})),
        layer(
            id,
            "outline",
            "line",
            is_polygon,
            json!({
                "line-color": colour,
                "line-opacity": 0.8,
                "line-width": ["interpolate", ["linear"], ["zoom"], 6, 0.5, 12, 1.2, 16, 2],
            }),
        ),
    ]
}

fn cluster_layer(id: &str) -> Value {
    layer(
        id,
        "clusters",
        "circle",
        json!(["==", ["get", "cluster"], true]),
        json!({
            "circle-color": CLUSTER,
            "circle-opacity": 0.75,
            "circle-radius": ["interpolate", ["linear"], ["sqrt", ["get", "point_count"]], 1, 7, 10, 14, 100, 28, 1000, 44],
            "circle-stroke-color": "#ffffff",
            "circle-stroke-width": 1.5,
        }),
    )
}

/// Ring of a facility whose skip is full or that is not open now.
const STATUS_BAD: &str = "#c92a2a";
/// Ring of a crowded facility.
const STATUS_BUSY: &str = "#f08c00";

fn point_layer(id: &str, by_category: bool) -> Value {
    let colour = if by_category {
        let mut m = vec![json!("match"), json!(["get", "waste_category"])];
        for c in Taxonomy::builtin().categories() {
            m.push(json!(c.id));
            m.push(json!(c.color));
        }
        m.push(json!(NEUTRAL));
        Value::Array(m)
    } else {
        json!(NEUTRAL)
    };
    // A facility whose current status says something (full, not open, crowded).
    let flagged = json!([
        "any",
        ["has", "full_categories"],
        ["in", ["get", "state"], ["literal", ["closed", "full", "out_of_service"]]],
        [">=", ["coalesce", ["get", "crowd_level"], 0], 0.75]
    ]);
    layer(
        id,
        "points",
        "circle",
        json!([
            "all",
            ["==", ["geometry-type"], "Point"],
            ["!", ["has", "point_count"]],
            ["!", ["has", "label_point"]]
        ]),
        json!({
            "circle-color": colour,
            "circle-radius": ["interpolate", ["linear"], ["zoom"], 6, 3, 12, 5, 16, 8],
            // Live status (tile properties of current readings): a thick
            // red ring when a skip is full or the facility is not open, an
            // orange one when it is crowded.
            "circle-stroke-color": [
                "case",
                ["any", ["has", "full_categories"], ["in", ["get", "state"], ["literal", ["closed", "full", "out_of_service"]]]],
                STATUS_BAD,
                [">=", ["coalesce", ["get", "crowd_level"], 0], 0.75],
                STATUS_BUSY,
                "#ffffff"
            ],
            "circle-stroke-width": [
                "interpolate", ["linear"], ["zoom"],
                6, ["case", flagged.clone(), 1.5, 0.5],
                14, ["case", flagged, 3, 1.5]
            ],
        }),
    )
}

/// Font stacks of the labels (served by `/fonts`).
pub const FONT_REGULAR: &str = "DejaVu Sans Book";
pub const FONT_BOLD: &str = "DejaVu Sans Bold";
const HALO: &str = "#ffffff";
const LABEL: &str = "#343a40";

/// A symbol layer of `id` (paint and layout given).
fn symbol(id: &str, role: &str, filter: Value, minzoom: u8, layout: Value, paint: Value) -> Value {
    let mut l = layer(id, role, "symbol", filter, paint);
    l["layout"] = layout;
    l["minzoom"] = json!(minzoom);
    l
}

/// The number of points in each cluster, in its circle.
fn cluster_counts(id: &str) -> Value {
    symbol(
        id,
        "cluster-counts",
        json!(["==", ["get", "cluster"], true]),
        0,
        json!({
            "text-field": ["get", "point_count_abbreviated"],
            "text-font": [FONT_BOLD],
            "text-size": 12,
            "text-allow-overlap": true,
            "text-ignore-placement": true,
        }),
        json!({"text-color": "#ffffff"}),
    )
}

/// Polygon names (communes...) from zoom 9, where they start to fit: at
/// each polygon's label point (one per polygon, in the tile holding it),
/// dropped on collision.
fn polygon_labels(id: &str, field: &str) -> Value {
    symbol(
        id,
        "labels",
        json!(["==", ["get", "label_point"], true]),
        9,
        json!({
            "text-field": ["get", field],
            "text-font": [FONT_REGULAR],
            "text-size": ["interpolate", ["linear"], ["zoom"], 9, 10, 13, 14],
            "text-max-width": 8,
            "text-padding": 4,
        }),
        json!({"text-color": LABEL, "text-halo-color": HALO, "text-halo-width": 1.2}),
    )
}

/// Facility names at street zooms, under the point.
fn point_labels(id: &str, field: &str) -> Value {
    symbol(
        id,
        "names",
        json!([
            "all",
            ["==", ["geometry-type"], "Point"],
            ["!", ["has", "point_count"]],
            ["!", ["has", "label_point"]],
            ["has", field]
        ]),
        14,
        json!({
            "text-field": ["get", field],
            "text-font": [FONT_REGULAR],
            "text-size": 12,
            "text-anchor": "top",
            "text-offset": [0, 0.8],
            "text-max-width": 10,
            "text-optional": true,
        }),
        json!({"text-color": LABEL, "text-halo-color": HALO, "text-halo-width": 1.2}),
    )
}

/// A raster basemap drawn as is, or an OpenMapTiles-schema vector basemap
/// drawn with a light generic style (water, green areas, roads, buildings).
fn add_basemap(b: &BasemapConfig, sources: &mut Map<String, Value>, layers: &mut Vec<Value>) {
    let mut source = json!({"type": b.kind, "tiles": b.tiles, "minzoom": b.minzoom, "maxzoom": b.maxzoom});
    if b.kind == "raster" {
        source["tileSize"] = json!(b.tile_size);
    }
    if let Some(a) = &b.attribution {
        source["attribution"] = json!(a);
    }
    sources.insert("basemap".into(), source);
    let meta = json!({"tuilerie:layer": "basemap"});
    if b.kind == "raster" {
        layers.push(json!({"id": "basemap", "type": "raster", "source": "basemap", "metadata": meta}));
        return;
    }
    let v = |id: &str, kind: &str, source_layer: &str, paint: Value| json!({"id": format!("basemap-{id}"), "type": kind, "source": "basemap", "source-layer": source_layer, "metadata": meta, "paint": paint});
    layers.push(v("landcover", "fill", "landcover", json!({"fill-color": "#dfe9d3", "fill-opacity": 0.7})));
    layers.push(v("water", "fill", "water", json!({"fill-color": "#c6dcef"})));
    layers.push(v(
        "roads",
        "line",
        "transportation",
        json!({
            "line-color": "#ffffff",
            "line-width": ["interpolate", ["linear"], ["zoom"], 8, 0.5, 16, 4],
        }),
    ));
    layers.push(v("buildings", "fill", "building", json!({"fill-color": "#e4ddd3"})));
    layers.push(v(
        "boundaries",
        "line",
        "boundary",
        json!({"line-color": "#9e9e9e", "line-dasharray": [3, 2], "line-width": 0.8}),
    ));
}

/// `GET /style.json[?layers=a,b]`.
pub async fn get(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let catalog = state.catalog().ok_or(ApiError::Loading)?;
    let layers = match params.get("layers").filter(|s| !s.is_empty()) {
        Some(list) => resolve_layers(&catalog, list)?,
        None => catalog.layers().to_vec(),
    };
    let opts = &state.options;
    Ok(Json(style(&base_url(&state, &headers), &layers, opts.attribution.as_deref(), &opts.web)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_zoom_shows_france_near_zoom_five_and_a_city_near_eleven() {
        let france = fit_zoom(&[-5.2, 41.3, 9.6, 51.1]);
        assert!((4.0..6.0).contains(&france), "{france}");
        let bordeaux = fit_zoom(&[-0.65, 44.8, -0.5, 44.9]);
        assert!((10.5..12.5).contains(&bordeaux), "{bordeaux}");
    }
}
