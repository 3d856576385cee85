//! Features as GeoJSON (RFC 7946) values for API responses; geometries are
//! converted by the `geojson` crate.

use crate::layer::{FeatureGeometry, FeatureId, FeatureRef};
use serde_json::{json, Map, Value};

/// The feature's geometry as GeoJSON.
pub fn feature_geometry(g: &FeatureGeometry) -> Value {
    let value = match g {
        FeatureGeometry::Point(c) => geojson::GeometryValue::from(&geo::Point(*c)),
        FeatureGeometry::Other(g) => geojson::GeometryValue::from(g.as_ref()),
    };
    serde_json::to_value(geojson::Geometry::new(value)).unwrap_or(Value::Null)
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

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn geometries_serialise_as_rfc7946_objects() {
        let p = feature_geometry(&FeatureGeometry::Point(geo::Coord { x: 1.5, y: 2.0 }));
        assert_eq!(p, json!({"type": "Point", "coordinates": [1.5, 2.0]}));
        let g: geo::Geometry<f64> = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 0.0)].into();
        let v = feature_geometry(&FeatureGeometry::from_geometry(g));
        assert_eq!(v, json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]}));
    }
}
