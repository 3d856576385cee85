//! OGC API – Features, Part 1 (Core, GeoJSON, OAS 3.0): landing page,
//! conformance, collections, items with `bbox`/`limit`/`offset` paging and
//! next/prev links, single items; plus `accepts=` and property equality
//! filters (`?operator=SMICVAL`) on items.

use super::base_url;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use tuilerie_geo::Layer;

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 10_000;

const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
];

fn geojson(body: Value) -> Response {
    ([(header::CONTENT_TYPE, "application/geo+json")], body.to_string()).into_response()
}

pub async fn landing(State(state): State<AppState>, headers: HeaderMap) -> Json<Value> {
    let base = base_url(&state, &headers);
    Json(json!({
        "title": "tuilerie",
        "description": "Vector tiles, nearest facilities and features from GeoJSON and shapefiles",
        "links": [
            {"href": format!("{base}/"), "rel": "self", "type": "application/json", "title": "this document"},
            {"href": format!("{base}/openapi.json"), "rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0", "title": "API definition"},
            {"href": format!("{base}/conformance"), "rel": "conformance", "type": "application/json", "title": "conformance classes"},
            {"href": format!("{base}/collections"), "rel": "data", "type": "application/json", "title": "feature collections"},
        ]
    }))
}

pub async fn conformance() -> Json<Value> {
    Json(json!({ "conformsTo": CONFORMANCE }))
}

fn collection(base: &str, l: &Layer) -> Value {
    let m = l.meta();
    let id = m.id.as_str();
    json!({
        "id": id,
        "title": m.title,
        "itemType": "feature",
        "extent": {"spatial": {
            "bbox": [m.bounds.unwrap_or([-180.0, -90.0, 180.0, 90.0])],
            "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
        }},
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "links": [
            {"href": format!("{base}/collections/{id}"), "rel": "self", "type": "application/json"},
            {"href": format!("{base}/collections/{id}/items"), "rel": "items", "type": "application/geo+json"},
            {"href": format!("{base}/tiles/{id}"), "rel": "related", "type": "application/json", "title": "TileJSON"},
        ]
    })
}

pub async fn collections(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let catalog = state.catalog().ok_or(ApiError::Loading)?;
    let base = base_url(&state, &headers);
    Ok(Json(json!({
        "collections": catalog.layers().iter().map(|l| collection(&base, l)).collect::<Vec<_>>(),
        "links": [{"href": format!("{base}/collections"), "rel": "self", "type": "application/json"}],
    })))
}

fn layer(state: &AppState, id: &str) -> Result<Arc<Layer>, ApiError> {
    let catalog = state.catalog().ok_or(ApiError::Loading)?;
    catalog.get(id).cloned().ok_or_else(|| ApiError::NotFound {
        message: format!("unknown collection {id:?}"),
        known: Some(catalog.ids().into_iter().map(String::from).collect()),
    })
}

pub async fn one_collection(State(state): State<AppState>, Path(id): Path<String>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let l = layer(&state, &id)?;
    Ok(Json(collection(&base_url(&state, &headers), &l)))
}

/// Parses `bbox=minx,miny,maxx,maxy` (a 6-value bbox ignores heights).
pub fn parse_bbox(v: &str) -> Result<[f64; 4], ApiError> {
    let nums: Vec<f64> = v
        .split(',')
        .map(|s| s.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| ApiError::bad("bbox", format!("bbox must be 4 numbers minx,miny,maxx,maxy, got {v:?}")))?;
    let b = match nums.len() {
        4 => [nums[0], nums[1], nums[2], nums[3]],
        6 => [nums[0], nums[1], nums[3], nums[4]],
        n => return Err(ApiError::bad("bbox", format!("bbox must have 4 (or 6) numbers, got {n}"))),
    };
    if b[1] > b[3] {
        return Err(ApiError::bad("bbox", format!("bbox miny {} is greater than maxy {}", b[1], b[3])));
    }
    if b[0] > b[2] {
        return Err(ApiError::bad("bbox", format!("bbox minx {} is greater than maxx {} (antimeridian-crossing boxes are not supported)", b[0], b[2])));
    }
    if b[1] < -90.0 || b[3] > 90.0 || b[0] < -180.0 || b[2] > 180.0 {
        return Err(ApiError::bad("bbox", "bbox must lie within [-180, -90, 180, 90]"));
    }
    Ok(b)
}

const RESERVED: &[&str] = &["bbox", "limit", "offset", "accepts", "f", "bbox-crs", "crs", "datetime"];

pub async fn items(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let l = layer(&state, &id)?;
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| ApiError::bad("limit", format!("limit must be a positive integer, got {v:?}")))?
            .min(MAX_LIMIT),
    };
    let offset = match params.get("offset") {
        None => 0,
        Some(v) => v.parse::<usize>().map_err(|_| ApiError::bad("offset", format!("offset must be a non-negative integer, got {v:?}")))?,
    };
    let bbox = params.get("bbox").map(|b| parse_bbox(b)).transpose()?;
    let accepts = params.get("accepts").map(|a| super::nearest::parse_accepts(a)).transpose()?.unwrap_or(0);
    let mut filters: Vec<(&str, &str)> = Vec::new();
    for (k, v) in &params {
        if RESERVED.contains(&k.as_str()) {
            continue;
        }
        if l.field_id(k).is_none() {
            return Err(ApiError::bad(k.clone(), format!("unknown parameter or property {k:?}; properties of {id}: {}", l.meta().fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", "))));
        }
        filters.push((k.as_str(), v.as_str()));
    }
    let candidates: Vec<usize> = match bbox {
        Some(b) => l.query_bbox(b).into_iter().map(|i| i as usize).collect(),
        None => (0..l.len()).collect(),
    };
    let matched: Vec<usize> = candidates
        .into_iter()
        .filter(|&i| accepts == 0 || l.categories(i) & accepts == accepts)
        .filter(|&i| {
            let f = l.feature(i);
            filters.iter().all(|(k, v)| {
                f.property(k).is_some_and(|p| match p {
                    tuilerie_geo::Value::String(s) => s == *v,
                    other => other.display() == *v,
                })
            })
        })
        .collect();
    let page: Vec<Value> = matched
        .iter()
        .skip(offset)
        .take(limit)
        .map(|&i| tuilerie_geo::geojson_out::feature(&l.feature(i), Map::new()))
        .collect();
    let base = base_url(&state, &headers);
    let link = |off: usize| {
        let mut q: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| *k != "offset" && *k != "limit")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        q.sort();
        q.push(("limit".into(), limit.to_string()));
        q.push(("offset".into(), off.to_string()));
        let qs: Vec<String> = q.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        format!("{base}/collections/{id}/items?{}", qs.join("&"))
    };
    let mut links = vec![json!({"href": link(offset), "rel": "self", "type": "application/geo+json"})];
    if offset + page.len() < matched.len() {
        links.push(json!({"href": link(offset + limit), "rel": "next", "type": "application/geo+json"}));
    }
    if offset > 0 {
        links.push(json!({"href": link(offset.saturating_sub(limit)), "rel": "prev", "type": "application/geo+json"}));
    }
    Ok(geojson(json!({
        "type": "FeatureCollection",
        "features": page,
        "numberMatched": matched.len(),
        "numberReturned": page.len(),
        "timeStamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "links": links,
    })))
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~,:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub async fn item(State(state): State<AppState>, Path((id, fid)): Path<(String, String)>, headers: HeaderMap) -> Result<Response, ApiError> {
    let l = layer(&state, &id)?;
    let f = l.find(&fid).ok_or_else(|| ApiError::NotFound {
        message: format!("no feature {fid:?} in collection {id:?}"),
        known: None,
    })?;
    let base = base_url(&state, &headers);
    let mut v = tuilerie_geo::geojson_out::feature(&f, Map::new());
    v["links"] = json!([
        {"href": format!("{base}/collections/{id}/items/{}", encode(&fid)), "rel": "self", "type": "application/geo+json"},
        {"href": format!("{base}/collections/{id}"), "rel": "collection", "type": "application/json"},
    ]);
    Ok(geojson(v))
}
