//! Features as GeoJSON (RFC 7946) values for API responses; geometries are
//! converted by the `geojson` crate.

use crate::layer::{FeatureGeometry, FeatureId, FeatureRef};
use crate::waste::CategoryMask;
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
    /// A number rounded to one decimal (distances, bearings).
    Tenths(f64),
    Str(&'a str),
    Bool(Option<bool>),
    OptStr(Option<&'a str>),
    StrList(&'a [&'a str]),
    /// The ids of the waste categories of a mask (builtin taxonomy).
    Categories(crate::waste::CategoryMask),
}

/// Writes `s` as a JSON string: copied as is when nothing needs escaping
/// (the usual case), through serde_json otherwise.
fn push_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

fn push_f64(out: &mut Vec<u8>, x: f64) {
    if x.is_finite() {
        let _ = serde_json::to_writer(&mut *out, &x);
    } else {
        out.extend_from_slice(b"null");
    }
}

fn push_i64(out: &mut Vec<u8>, i: i64) {
    let _ = serde_json::to_writer(&mut *out, &i);
}

/// `x` rounded to one decimal, written as serde_json writes that rounded
/// value (`12.5`, `3.0`, `-0.4`; but `0.0` rather than `-0.0`), without
/// the general float formatting.
fn push_tenths(out: &mut Vec<u8>, x: f64) {
    let t = (x * 10.0).round();
    if !t.is_finite() || t.abs() >= 1e15 {
        return push_f64(out, t / 10.0);
    }
    let t = t as i64;
    if t < 0 {
        out.push(b'-');
    }
    let (whole, tenth) = (t.unsigned_abs() / 10, t.unsigned_abs() % 10);
    let _ = serde_json::to_writer(&mut *out, &whole);
    out.push(b'.');
    out.push(b'0' + tenth as u8);
}

/// Writes a GeoJSON Feature straight into `out` (no intermediate JSON
/// values): id, geometry, properties, then `extra`; equal to [`feature`]
/// once parsed.
pub fn write_feature(out: &mut Vec<u8>, f: &FeatureRef<'_>, extra: &[(&str, Extra<'_>)]) {
    out.extend_from_slice(b"{\"type\":\"Feature\",\"id\":");
    match f.id() {
        FeatureId::Int(i) => push_i64(out, i),
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
            crate::Value::Int(i) => push_i64(out, i),
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
            Extra::Tenths(x) => push_tenths(out, *x),
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
            Extra::Categories(mask) => {
                out.push(b'[');
                let categories = crate::waste::Taxonomy::builtin().categories();
                let mut first = true;
                for (i, c) in categories.iter().enumerate().take(CategoryMask::BITS as usize) {
                    if mask & (1 << i) != 0 {
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        push_str(out, &c.id);
                    }
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
            {"type":"Feature","id":7,"properties":{"name":"zone","ctl":"tab\there \u0001 \\ end"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}"#;
        let layer = crate::source::geojson::load_bytes(std::path::Path::new("t.geojson"), text.as_bytes(), crate::LoadOptions::default()).unwrap();
        for f in layer.features() {
            let mut out = Vec::new();
            let list = ["glass", "paper"];
            let t = crate::waste::Taxonomy::builtin();
            let mask = (1 << t.index_of("glass").unwrap().0) | (1 << t.index_of("batteries").unwrap().0);
            write_feature(
                &mut out,
                &f,
                &[
                    ("distance_m", Extra::Number(12.5)),
                    ("bearing_deg", Extra::Tenths(-0.04)),
                    ("name", Extra::Str("override")),
                    ("open_now", Extra::Bool(None)),
                    ("accepts", Extra::StrList(&list)),
                    ("categories", Extra::Categories(mask)),
                ],
            );
            let written: Value = serde_json::from_slice(&out).unwrap();
            let mut extra = Map::new();
            extra.insert("distance_m".into(), json!(12.5));
            extra.insert("bearing_deg".into(), json!(0.0));
            extra.insert("name".into(), json!("override"));
            extra.insert("open_now".into(), Value::Null);
            extra.insert("accepts".into(), json!(["glass", "paper"]));
            let mut ids = crate::waste::mask_ids(mask, t);
            ids.sort_by_key(|id| t.index_of(id).unwrap().0);
            extra.insert("categories".into(), json!(ids));
            assert_eq!(written, feature(&f, extra));
        }
    }

    #[test]
    fn tenths_are_written_as_serde_json_writes_the_rounded_value_without_negative_zero() {
        let mut seed = 3u64;
        for i in 0..100_000 {
            let r = crate::testing::lcg(&mut seed);
            let x = match i % 4 {
                0 => (r - 0.5) * 400.0,
                1 => r * 2.0e7,
                2 => (r * 3600.0).round() / 10.0,
                _ => (r - 0.5) * 1e-3,
            };
            let mut ours = Vec::new();
            push_tenths(&mut ours, x);
            let mut reference = Vec::new();
            // (+ 0.0: a negative zero is written 0.0)
            push_f64(&mut reference, (x * 10.0).round() / 10.0 + 0.0);
            assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(reference).unwrap(), "{x}");
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
