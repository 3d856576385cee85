//! Thematic maps: `GET /maps`, `POST /maps` (create or replace from a JSON
//! definition), `GET|DELETE /maps/{id}`, `GET /maps/{id}.svg|.png`,
//! `GET /maps/{id}/legend`, `GET /maps/{id}/style.json` and the derived
//! layer's tiles at `GET /maps/{id}/tiles/{z}/{x}/{y}.mvt`.

use super::base_url;
use super::tiles::{parse_tile, render_cached, respond};
use super::Path;
use crate::auth::Need;
use crate::cache::{TileKey, TileSource};
use crate::edits::committer::{Job, Refused};
use crate::error::{require_content_type, ApiError};
use crate::heavy::Kind;
use crate::maps::MapEntry;
use crate::state::AppState;
use crate::store::{ChangeRecord, Effect};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use tuilerie_geo::thematic::classify::Method;
use tuilerie_geo::thematic::export::Separator;
use tuilerie_geo::thematic::map::{NO_DATA_COLOR, NO_DATA_LABEL};
use tuilerie_geo::thematic::pdf::{render_pdf, Orientation, Paper, PdfOptions};
use tuilerie_geo::thematic::png::svg_to_png;
use tuilerie_geo::thematic::svg::{render_svg, SvgOptions};
use tuilerie_geo::thematic::{palette, MapDefinition, ThematicError};

impl From<ThematicError> for ApiError {
    fn from(e: ThematicError) -> Self {
        ApiError::bad(e.parameter, e.message)
    }
}

fn entry(state: &AppState, id: &str) -> Result<MapEntry, ApiError> {
    state.maps.get(id).ok_or_else(|| ApiError::NotFound {
        message: format!("unknown map {id:?}"),
        known: Some(state.maps.list().iter().map(|e| e.map.id.clone()).collect()),
    })
}

/// The legend document: classes with bounds, colours and counts, and the
/// no-data class; the counts add up to `total`.
fn legend(e: &MapEntry) -> Value {
    let m = &e.map;
    json!({
        "title": m.definition.title,
        "unit": m.definition.unit,
        "method": m.classes.method,
        "classes": m.legend(),
        "no_data": {"color": NO_DATA_COLOR, "count": m.classes.no_data, "label": NO_DATA_LABEL},
        "total": m.values.len(),
    })
}

fn summary(base: &str, e: &MapEntry) -> Value {
    let m = &e.map;
    let id = &m.id;
    json!({
        "id": id,
        "title": m.definition.title,
        "definition": m.definition,
        "layer": m.definition.layer,
        "bounds": m.layer.meta().bounds,
        "classes": {
            "method": m.classes.method,
            "min": m.classes.min,
            "breaks": m.classes.breaks,
            "counts": m.classes.counts,
            "no_data": m.classes.no_data,
            "colors": m.colors,
        },
        "legend": legend(e),
        "join": m.join,
        "no_data": m.no_data,
        "warnings": m.warnings,
        "links": {
            "self": format!("{base}/maps/{id}"),
            "tiles": format!("{base}/maps/{id}/tiles/{{z}}/{{x}}/{{y}}.mvt"),
            "style": format!("{base}/maps/{id}/style.json"),
            "legend": format!("{base}/maps/{id}/legend"),
            "svg": format!("{base}/maps/{id}.svg"),
            "png": format!("{base}/maps/{id}.png"),
            "pdf": format!("{base}/maps/{id}.pdf"),
            "csv": format!("{base}/maps/{id}.csv"),
            "geojson": format!("{base}/maps/{id}.geojson"),
        },
    })
}

/// `GET /maps`: the maps, tables, palettes and methods (what a form needs).
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Json<Value> {
    let base = base_url(&state, &headers);
    let maps: Vec<Value> = state
        .maps
        .list()
        .iter()
        .map(|e| {
            json!({
                "id": e.map.id, "title": e.map.definition.title, "layer": e.map.definition.layer,
                "links": {"self": format!("{base}/maps/{}", e.map.id), "style": format!("{base}/maps/{}/style.json", e.map.id)},
            })
        })
        .collect();
    let tables: Vec<Value> = state.maps.tables().iter().map(|(id, t)| super::tables::describe(id, t, 0)).collect();
    Json(json!({
        "maps": maps,
        "tables": tables,
        "failed": state.maps.failed(),
        "methods": Method::ALL,
        "palettes": palette::names().into_iter().map(|(n, k)| json!({"name": n, "kind": k})).collect::<Vec<_>>(),
    }))
}

/// `POST /maps`: builds a map from a JSON definition (replacing one with the
/// same id); 201 with the map, its classes, join report and warnings, once
/// the definition is in the store. Needs an admin token (or one scoped to
/// `maps`); a map of the configuration file is read-only (409).
pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let who = state.writes()?.auth.authorize(&headers, Need::Maps)?;
    require_content_type(&headers, &["application/json"], "application/json")?;
    let definition: MapDefinition = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad("body", format!("invalid map definition at line {}, column {}: {e}", e.line(), e.column()))
    })?;
    let text = serde_json::to_string(&definition).map_err(|e| ApiError::Internal(e.to_string()))?;
    let catalog = state.catalog().ok_or(ApiError::Loading)?;
    let store = state.clone();
    let (built, previous) = state.heavy.run(Kind::Build, move || store.maps.build_api(definition, &catalog)).await??;
    let id = built.map.id.clone();
    let change = resource_change(
        &who.name,
        if previous.is_some() { "replace" } else { "create" },
        "map",
        &id,
        Some(text.clone()),
    );
    if let Err(e) = persist(&state, change, Effect::PutMap { definition: text }).await {
        state.maps.restore_map(&id, previous);
        return Err(e);
    }
    let base = base_url(&state, &headers);
    let mut resp = (StatusCode::CREATED, Json(summary(&base, &built))).into_response();
    if let Ok(v) = format!("{base}/maps/{}", built.map.id).parse() {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// An audit entry for a map or table.
pub fn resource_change(token: &str, op: &str, kind: &str, id: &str, after: Option<String>) -> ChangeRecord {
    ChangeRecord {
        seq: 0,
        at: crate::store::now(),
        token: token.into(),
        op: op.into(),
        kind: kind.into(),
        layer: None,
        id: id.into(),
        before: None,
        after,
    }
}

/// Writes a map or table change to the store (group commit); 503 when the
/// store refuses it.
pub async fn persist(state: &AppState, change: ChangeRecord, effect: Effect) -> Result<(), ApiError> {
    state
        .writes()?
        .submit(Job::Resource { change, effect })
        .await
        .map(drop)
        .map_err(|e| ApiError::Unavailable { message: format!("not stored: {}", refusal_text(e)) })
}

fn refusal_text(r: Refused) -> String {
    match r {
        Refused::Store(e) => e,
        other => format!("{other:?}"),
    }
}

/// `GET /maps/{id}` (JSON), `/maps/{id}.svg` or `/maps/{id}.png?width=`.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // Every form takes every export parameter (ignored where it does not
    // apply), each checked.
    let p = ExportParams::parse(&params)?;
    if let Some(stem) = id.strip_suffix(".svg") {
        return export(&state, stem, &p, false).await;
    }
    if let Some(stem) = id.strip_suffix(".png") {
        return export(&state, stem, &p, true).await;
    }
    if let Some(stem) = id.strip_suffix(".pdf") {
        return pdf_export(&state, stem, &p).await;
    }
    if let Some(stem) = id.strip_suffix(".csv") {
        return data_export(&state, stem, &p, true).await;
    }
    if let Some(stem) = id.strip_suffix(".geojson") {
        return data_export(&state, stem, &p, false).await;
    }
    let e = entry(&state, &id)?;
    Ok(Json(summary(&base_url(&state, &headers), &e)).into_response())
}

/// `DELETE /maps/{id}`: 204 once the deletion is stored; admin (or
/// `maps`) token; 409 for a map of the configuration file.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let who = state.writes()?.auth.authorize(&headers, Need::Maps)?;
    entry(&state, &id)?;
    state.maps.map_writable(&id, "remove")?;
    let mut change = resource_change(&who.name, "delete", "map", &id, None);
    change.before = state.maps.get(&id).and_then(|e| serde_json::to_string(&e.map.definition).ok());
    persist(&state, change, Effect::DeleteMap).await?;
    state.maps.remove(&id);
    Ok(StatusCode::NO_CONTENT)
}

pub const DEFAULT_WIDTH: u32 = 1200;
pub const MIN_WIDTH: u32 = 300;
pub const MAX_WIDTH: u32 = 8000;

/// The query parameters of `GET /maps/{id}` and its exports.
struct ExportParams {
    width: u32,
    paper: Paper,
    orientation: Orientation,
    sep: Separator,
    bom: bool,
}

impl ExportParams {
    fn parse(params: &HashMap<String, String>) -> Result<ExportParams, ApiError> {
        const KNOWN: [&str; 5] = ["width", "paper", "orientation", "sep", "bom"];
        if let Some(k) = params.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(ApiError::bad(k, format!("unknown parameter {k:?} (known: {})", KNOWN.join(", "))));
        }
        let get = |k: &str| params.get(k).map(String::as_str);
        Ok(ExportParams {
            width: match get("width") {
                None => DEFAULT_WIDTH,
                Some(w) => w.parse::<u32>().ok().filter(|w| (MIN_WIDTH..=MAX_WIDTH).contains(w)).ok_or_else(|| {
                    ApiError::bad(
                        "width",
                        format!("width must be an integer from {MIN_WIDTH} to {MAX_WIDTH} (pixels), got {w:?}"),
                    )
                })?,
            },
            paper: match get("paper") {
                None => Paper::A4,
                Some(p) => Paper::parse(p)
                    .ok_or_else(|| ApiError::bad("paper", format!("paper must be a4 or a3, got {p:?}")))?,
            },
            orientation: match get("orientation") {
                None => Orientation::Landscape,
                Some(o) => Orientation::parse(o).ok_or_else(|| {
                    ApiError::bad("orientation", format!("orientation must be landscape or portrait, got {o:?}"))
                })?,
            },
            sep: match get("sep") {
                None => Separator::Comma,
                Some(s) => Separator::parse(s).ok_or_else(|| {
                    ApiError::bad("sep", format!("sep must be \",\" or \";\" (or comma, semicolon), got {s:?}"))
                })?,
            },
            bom: match get("bom") {
                None | Some("false") => false,
                Some("true") => true,
                Some(b) => return Err(ApiError::bad("bom", format!("bom must be true or false, got {b:?}"))),
            },
        })
    }
}

async fn export(state: &AppState, id: &str, p: &ExportParams, png: bool) -> Result<Response, ApiError> {
    let e = entry(state, id)?;
    let width = p.width;
    let source = e.map.spec.source.clone().or_else(|| state.options.attribution.clone());
    let map = e.map.clone();
    let name = format!("{}.{}", map.id, if png { "png" } else { "svg" });
    let bytes = state
        .heavy
        .run_weighted(Kind::Export, crate::heavy::export_weight(width, png), move || {
            let svg = render_svg(&map, &SvgOptions { width, source: source.as_deref(), date: None });
            if png {
                svg_to_png(&svg)
            } else {
                Ok(svg.into_bytes())
            }
        })
        .await?
        .map_err(|e| ApiError::Internal(format!("PNG rendering: {e}")))?;
    let content_type = if png { "image/png" } else { "image/svg+xml" };
    Ok(file_response(content_type, "inline", &name, bytes))
}

/// `GET /maps/{id}.pdf?paper=a4|a3&orientation=landscape|portrait`: one
/// vector page for a report (default A4 landscape).
async fn pdf_export(state: &AppState, id: &str, p: &ExportParams) -> Result<Response, ApiError> {
    let (paper, orientation) = (p.paper, p.orientation);
    let e = entry(state, id)?;
    let source = e.map.spec.source.clone().or_else(|| state.options.attribution.clone());
    let map = e.map.clone();
    let name = format!("{}.pdf", map.id);
    let date = format!("Édité le {}", chrono::Utc::now().format("%d/%m/%Y"));
    let bytes = state
        .heavy
        .run(Kind::Export, move || {
            let opts = PdfOptions { paper, orientation, source: source.as_deref(), date: Some(&date) };
            render_pdf(&map, &opts)
        })
        .await?
        .map_err(|e| ApiError::Internal(format!("PDF rendering: {e}")))?;
    Ok(file_response("application/pdf", "inline", &name, bytes))
}

/// `GET /maps/{id}.csv?sep=,|;&bom=true|false` or `/maps/{id}.geojson`:
/// the numbers behind the map (thematic::export), as the tiles and the
/// legend have them.
async fn data_export(state: &AppState, id: &str, p: &ExportParams, csv: bool) -> Result<Response, ApiError> {
    let (sep, bom) = (p.sep, p.bom);
    let e = entry(state, id)?;
    let map = e.map.clone();
    let name = format!("{}.{}", map.id, if csv { "csv" } else { "geojson" });
    let bytes = state
        .heavy
        .run(Kind::Export, move || {
            if csv {
                tuilerie_geo::thematic::export::csv(&map, sep, bom)
            } else {
                serde_json::to_vec(&tuilerie_geo::thematic::export::geojson(&map)).unwrap_or_default()
            }
        })
        .await?;
    let content_type = if csv { "text/csv; charset=utf-8" } else { "application/geo+json" };
    Ok(file_response(content_type, "attachment", &name, bytes))
}

/// A file answer: its media type, and `inline` (shown) or `attachment`
/// (saved) with its file name.
fn file_response(content_type: &str, disposition: &str, name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, format!("{disposition}; filename=\"{name}\"")),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /maps/{id}/legend`.
pub async fn get_legend(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    Ok(Json(legend(&entry(&state, &id)?)))
}

/// `GET /maps/{id}/style.json`: a MapLibre style drawing the classes.
pub async fn style(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let e = entry(&state, &id)?;
    let m = &e.map;
    let meta = m.layer.meta();
    let base = base_url(&state, &headers);
    let mut colour = vec![json!("match"), json!(["get", "class"])];
    for (i, c) in m.colors.iter().enumerate() {
        colour.push(json!(i));
        colour.push(json!(c));
    }
    colour.push(json!(NO_DATA_COLOR));
    let b = meta.bounds.unwrap_or(super::style::DEFAULT_BOUNDS);
    let mut source = json!({
        "type": "vector",
        "tiles": [format!("{base}/maps/{id}/tiles/{{z}}/{{x}}/{{y}}.mvt")],
        "minzoom": m.layer.tile_prep().settings().minzoom,
        "maxzoom": m.layer.tile_prep().settings().maxzoom,
        "bounds": b,
    });
    if let Some(a) = m.definition.source.as_ref().or(state.options.attribution.as_ref()) {
        source["attribution"] = json!(a);
    }
    let layer_meta = json!({"tuilerie:map": id});
    Ok(Json(json!({
        "version": 8,
        "name": m.definition.title,
        "metadata": {"tuilerie:map": id, "tuilerie:bounds": b, "tuilerie:legend": legend(&e)},
        "center": super::tilejson::centre(&b),
        "zoom": 7,
        "sources": {"map": source},
        "layers": [
            {"id": "background", "type": "background", "paint": {"background-color": super::style::BACKGROUND}},
            {"id": format!("{id}-fill"), "type": "fill", "source": "map", "source-layer": m.id, "metadata": layer_meta,
             "paint": {"fill-color": colour, "fill-opacity": 0.85}},
            {"id": format!("{id}-outline"), "type": "line", "source": "map", "source-layer": m.id, "metadata": layer_meta,
             "paint": {"line-color": "#ffffff", "line-width": ["interpolate", ["linear"], ["zoom"], 6, 0.3, 12, 1.2]}},
        ],
    })))
}

/// `GET /maps/{id}/tiles/{z}/{x}/{y}.mvt`: the derived layer (`value`, `class`).
pub async fn tile(
    State(state): State<AppState>,
    Path((id, z, x, y_ext)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let coord = parse_tile(&z, &x, &y_ext)?;
    let e = entry(&state, &id)?;
    let key = TileKey {
        source: TileSource::Map,
        layers: id.clone().into_boxed_str(),
        z: coord.z,
        x: coord.x,
        y: coord.y,
        version: e.version,
    };
    let cached = render_cached(&state, key, vec![e.map.layer.clone()], coord).await?;
    Ok(respond(&state, &cached, &headers))
}
