//! What a collection's features hold, as JSON Schema (2020-12):
//! - `/collections/{id}/schema`: OGC API Features Part 5 "Schemas", every
//!   property in source order with its type, the geometry with its
//!   `x-ogc-role`;
//! - `/collections/{id}/queryables`: Part 3, what `filter` and the
//!   property parameters of items may name;
//! - `/collections/{id}/feature-schema`: the same properties as a GeoJSON
//!   Feature schema (`properties.properties`), the form GDAL's OAPIF
//!   driver reads from a collection's `describedby` link to build every
//!   column instead of guessing them from a first page.

use super::base_url;
use super::ogc::layer;
use super::Path;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use tuilerie_geo::query::cql2::GEOMETRY;
use tuilerie_geo::{FieldType, GeometryKind, Layer};

pub const SCHEMA_JSON: &str = "application/schema+json";

fn schema_response(v: Value) -> Response {
    ([(header::CONTENT_TYPE, SCHEMA_JSON)], v.to_string()).into_response()
}

/// The JSON Schema of one property, from what the load saw.
fn property(name: &str, ty: FieldType, samples: &[String]) -> Value {
    let mut p = Map::new();
    p.insert("title".into(), name.into());
    match ty {
        FieldType::Int => {
            p.insert("type".into(), "integer".into());
        }
        FieldType::Float => {
            p.insert("type".into(), "number".into());
        }
        FieldType::Bool => {
            p.insert("type".into(), "boolean".into());
        }
        FieldType::String => {
            p.insert("type".into(), "string".into());
        }
        FieldType::Date => {
            p.insert("type".into(), "string".into());
            p.insert("format".into(), "date".into());
        }
        FieldType::Json => {
            p.insert("type".into(), json!(["object", "array"]));
        }
        FieldType::Mixed | FieldType::Null => {}
    }
    if let Some(key) = name.strip_prefix("recycling:") {
        p.insert(
            "description".into(),
            format!("OpenStreetMap recycling:{key}: \"yes\" when the facility accepts this waste").into(),
        );
        if samples.iter().all(|s| s == "\"yes\"" || s == "\"no\"") && ty == FieldType::String {
            p.insert("enum".into(), json!(["yes", "no"]));
        }
    }
    Value::Object(p)
}

/// Part 5's geometry format of a layer's geometry kinds.
fn geometry_format(l: &Layer) -> &'static str {
    let kinds = &l.meta().geometry_kinds;
    let all = |k: &[GeometryKind]| !kinds.is_empty() && kinds.iter().all(|g| k.contains(g));
    if all(&[GeometryKind::Point]) {
        "geometry-point"
    } else if all(&[GeometryKind::Point, GeometryKind::MultiPoint]) {
        "geometry-point-or-multipoint"
    } else if all(&[GeometryKind::LineString]) {
        "geometry-linestring"
    } else if all(&[GeometryKind::LineString, GeometryKind::MultiLineString]) {
        "geometry-linestring-or-multilinestring"
    } else if all(&[GeometryKind::Polygon]) {
        "geometry-polygon"
    } else if all(&[GeometryKind::Polygon, GeometryKind::MultiPolygon]) {
        "geometry-polygon-or-multipolygon"
    } else {
        "geometry-any"
    }
}

/// Every property of the layer, in the order the source first wrote them.
fn properties(l: &Layer) -> Map<String, Value> {
    l.meta().fields.iter().map(|f| (f.name.clone(), property(&f.name, f.field_type, &f.samples))).collect()
}

/// A flat schema (Part 5 and Part 3 form); `features` for the schema of
/// whole features (with their id, other properties allowed: edits may add
/// some), else the queryables (only those listed).
fn flat(l: &Layer, base: &str, path: &str, title: &str, features: bool) -> Value {
    let id = l.meta().id.as_str();
    let mut props = Map::new();
    props.insert(
        GEOMETRY.into(),
        json!({"title": "geometry", "x-ogc-role": "primary-geometry", "format": geometry_format(l)}),
    );
    if features {
        props.insert("id".into(), json!({"title": "feature id", "x-ogc-role": "id"}));
    }
    props.extend(properties(l));
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("{base}/collections/{id}/{path}"),
        "type": "object",
        "title": format!("{title} of {}", l.meta().title),
        "properties": props,
        "additionalProperties": features,
    })
}

pub async fn schema(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let l = layer(&state, &id)?;
    Ok(schema_response(flat(&l, &base_url(&state, &headers), "schema", "Features", true)))
}

pub async fn queryables(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let l = layer(&state, &id)?;
    Ok(schema_response(flat(&l, &base_url(&state, &headers), "queryables", "Queryables", false)))
}

pub async fn feature_schema(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let l = layer(&state, &id)?;
    let base = base_url(&state, &headers);
    let geometry = match geometry_format(&l) {
        "geometry-point" => "Point",
        "geometry-linestring" => "LineString",
        "geometry-polygon" => "Polygon",
        "geometry-polygon-or-multipolygon" => "MultiPolygon",
        "geometry-linestring-or-multilinestring" => "MultiLineString",
        "geometry-point-or-multipoint" => "MultiPoint",
        _ => "Geometry",
    };
    Ok(schema_response(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("{base}/collections/{id}/feature-schema"),
        "title": format!("GeoJSON Feature of {}", l.meta().title),
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": ["string", "integer"]},
            "geometry": {"title": geometry, "type": "object"},
            "properties": {"type": "object", "properties": properties(&l)},
        },
    })))
}
