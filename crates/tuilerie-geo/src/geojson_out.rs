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

/// An extra property written after a feature's own.
pub enum Extra<'a> {
    Number(f64),
    Str(&'a str),
    Bool(Option<bool>),
    OptStr(Option<&'a str>),
    StrList(&'a [&'a str]),
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    // Writing to a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

fn push_f64(out: &mut Vec<u8>, x: f64) {
    if x.is_finite() {
        let _ = serde_json::to_writer(&mut *out, &x);
    } else {
        out.extend_from_slice(b"null");
    }
}

/// Writes a GeoJSON Feature straight into `out` (no intermediate JSON
/// values): id, geometry, properties, then `extra`; equal to [`feature`]
/// once parsed.
pub fn write_feature(out: &mut Vec<u8>, f: &FeatureRef<'_>, extra: &[(&str, Extra<'_>)]) {
    out.extend_from_slice(b"{\"type\":\"Feature\",\"id\":");
    match f.id() {
        FeatureId::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        FeatureId::Str(s) => push_str(out, s),
    }
    out.extend_from_slice(b",\"geometry\":");
    match f.geometry() {
        FeatureGeometry::Point(c) => {
            out.extend_from_slice(b"{\"type\":\"Point\",\"coordinates\":[");
            push_f64(out, c.x);
            out.push(b',');
            push_f64(out, c.y);
            out.extend_from_slice(b"]}");
        }
        other => {
            let _ = serde_json::to_writer(&mut *out, &feature_geometry(other));
        }
    }
    out.extend_from_slice(b",\"properties\":{");
    let mut first = true;
    let mut sep = |out: &mut Vec<u8>| {
        if !first {
            out.push(b',');
        }
        first = false;
    };
    for (k, v) in f.properties() {
        if extra.iter().any(|(e, _)| *e == k) {
            continue; // overridden below, as `Map::extend` would
        }
        sep(out);
        push_str(out, k);
        out.push(b':');
        match v {
            crate::Value::Null => out.extend_from_slice(b"null"),
            crate::Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
            crate::Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
            crate::Value::Float(x) => push_f64(out, x),
            crate::Value::String(s) => push_str(out, s),
            crate::Value::Json(_) => {
                let _ = serde_json::to_writer(&mut *out, &v.to_json());
            }
        }
    }
    for (k, v) in extra {
        sep(out);
        push_str(out, k);
        out.push(b':');
        match v {
            Extra::Number(x) => push_f64(out, *x),
            Extra::Str(s) => push_str(out, s),
            Extra::Bool(None) | Extra::OptStr(None) => out.extend_from_slice(b"null"),
            Extra::Bool(Some(b)) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Extra::OptStr(Some(s)) => push_str(out, s),
            Extra::StrList(list) => {
                out.push(b'[');
                for (i, s) in list.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    push_str(out, s);
                }
                out.push(b']');
            }
        }
    }
    out.extend_from_slice(b"}}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn written_features_equal_the_value_built_ones() {
        let text = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","id":"a\"b","properties":{"name":"Verre – Abzac","n":3,"x":1.5,"ok":true,"nested":{"a":[1,2]},"none":null},"geometry":{"type":"Point","coordinates":[-0.13,45.0]}},
            {"type":"Feature","id":7,"properties":{"name":"zone"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}"#;
        let layer = crate::source::geojson::load_bytes(std::path::Path::new("t.geojson"), text.as_bytes(), crate::LoadOptions::default()).unwrap();
        for f in layer.features() {
            let mut out = Vec::new();
            let list = ["glass", "paper"];
            write_feature(&mut out, &f, &[("distance_m", Extra::Number(12.5)), ("name", Extra::Str("override")), ("open_now", Extra::Bool(None)), ("accepts", Extra::StrList(&list))]);
            let written: Value = serde_json::from_slice(&out).unwrap();
            let mut extra = Map::new();
            extra.insert("distance_m".into(), json!(12.5));
            extra.insert("name".into(), json!("override"));
            extra.insert("open_now".into(), Value::Null);
            extra.insert("accepts".into(), json!(["glass", "paper"]));
            assert_eq!(written, feature(&f, extra));
        }
    }

    #[test]
    fn geometries_serialise_as_rfc7946_objects() {
        let p = feature_geometry(&FeatureGeometry::Point(geo::Coord { x: 1.5, y: 2.0 }));
        assert_eq!(p, json!({"type": "Point", "coordinates": [1.5, 2.0]}));
        let g: geo::Geometry<f64> = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 0.0)].into();
        let v = feature_geometry(&FeatureGeometry::from_geometry(g));
        assert_eq!(v, json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]}));
    }
}
