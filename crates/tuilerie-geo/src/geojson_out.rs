//! Features as GeoJSON (RFC 7946) values for API responses.

use crate::layer::{FeatureGeometry, FeatureId, FeatureRef};
use geo::{Coord, Geometry, LineString, Polygon};
use serde_json::{json, Map, Value};

fn pos(c: &Coord<f64>) -> Value {
    json!([c.x, c.y])
}

fn line(l: &LineString<f64>) -> Value {
    Value::Array(l.0.iter().map(pos).collect())
}

fn polygon(p: &Polygon<f64>) -> Value {
    let mut rings = vec![line(p.exterior())];
    rings.extend(p.interiors().iter().map(line));
    Value::Array(rings)
}

/// A `geo` geometry as a GeoJSON geometry object.
pub fn geometry(g: &Geometry<f64>) -> Value {
    match g {
        Geometry::Point(p) => json!({"type": "Point", "coordinates": pos(&p.0)}),
        Geometry::MultiPoint(m) => json!({"type": "MultiPoint", "coordinates": m.0.iter().map(|p| pos(&p.0)).collect::<Vec<_>>()}),
        Geometry::Line(l) => json!({"type": "LineString", "coordinates": [pos(&l.start), pos(&l.end)]}),
        Geometry::LineString(l) => json!({"type": "LineString", "coordinates": line(l)}),
        Geometry::MultiLineString(m) => json!({"type": "MultiLineString", "coordinates": m.0.iter().map(line).collect::<Vec<_>>()}),
        Geometry::Polygon(p) => json!({"type": "Polygon", "coordinates": polygon(p)}),
        Geometry::MultiPolygon(m) => json!({"type": "MultiPolygon", "coordinates": m.0.iter().map(polygon).collect::<Vec<_>>()}),
        Geometry::Rect(r) => json!({"type": "Polygon", "coordinates": polygon(&r.to_polygon())}),
        Geometry::Triangle(t) => json!({"type": "Polygon", "coordinates": polygon(&t.to_polygon())}),
        Geometry::GeometryCollection(c) => json!({"type": "GeometryCollection", "geometries": c.0.iter().map(geometry).collect::<Vec<_>>()}),
    }
}

/// The feature's geometry as GeoJSON.
pub fn feature_geometry(g: &FeatureGeometry) -> Value {
    match g {
        FeatureGeometry::Point(c) => json!({"type": "Point", "coordinates": pos(c)}),
        FeatureGeometry::Other(g) => geometry(g),
    }
}

/// The id as a JSON value (number or string).
pub fn id(f: &FeatureRef<'_>) -> Value {
    match f.id() {
        FeatureId::Int(i) => json!(i),
        FeatureId::Str(s) => json!(s),
    }
}

/// A GeoJSON Feature with its properties, plus `extra` properties.
pub fn feature(f: &FeatureRef<'_>, extra: Map<String, Value>) -> Value {
    let mut props = f.properties_json();
    props.extend(extra);
    json!({
        "type": "Feature",
        "id": id(f),
        "geometry": feature_geometry(f.geometry()),
        "properties": props,
    })
}
