//! Features as GeoJSON (RFC 7946) values for API responses; geometries are
//! converted by the `geojson` crate.

use crate::layer::{FeatureGeometry, FeatureId, FeatureRef, Layer};
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
    if !needs_escape(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Whether `b` holds a byte JSON escapes (a control character, `"` or
/// `\\`), eight bytes at a time (exact tests for a byte below 0x20 or equal
/// to a value, from "Bit Twiddling Hacks").
pub(crate) fn needs_escape(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let x = u64::from_le_bytes(w);
        if (x.wrapping_sub(ONES * 0x20) & !x & HIGHS) | zero_byte(x ^ (ONES * b'"' as u64)) | zero_byte(x ^ (ONES * b'\\' as u64)) != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\')
}

/// `name` as a JSON object key, colon included.
pub(crate) fn json_key(name: &str) -> Box<[u8]> {
    let mut k = Vec::with_capacity(name.len() + 3);
    push_str(&mut k, name);
    k.push(b':');
    k.into_boxed_slice()
}

/// A property value as JSON.
pub(crate) fn push_value(out: &mut Vec<u8>, v: &crate::Value<'_>) {
    match *v {
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

/// Writes GeoJSON Features of one layer straight into a buffer (no
/// intermediate JSON values): id, geometry, properties, then extra
/// properties named once for all features (an extra replaces a property
/// of the same name, as `Map::extend` would). Field keys come encoded from
/// the layer and plain strings are copied as they are; equal to
/// [`feature`] once parsed.
pub struct FeatureWriter<'a> {
    layer: &'a Layer,
    /// The extras' keys, encoded (`"name":` one after the other), and where
    /// each ends.
    extra_keys: Vec<u8>,
    extra_ends: Vec<usize>,
    /// Fields replaced by an extra.
    overridden: Vec<u32>,
}

impl<'a> FeatureWriter<'a> {
    pub fn new(layer: &'a Layer, extra_names: &[&str]) -> Self {
        let overridden = extra_names.iter().filter_map(|n| layer.field_id(n)).map(|f| f.0).collect();
        let mut extra_keys = Vec::with_capacity(extra_names.iter().map(|n| n.len() + 3).sum());
        let extra_ends = extra_names
            .iter()
            .map(|n| {
                push_str(&mut extra_keys, n);
                extra_keys.push(b':');
                extra_keys.len()
            })
            .collect();
        FeatureWriter { layer, extra_keys, extra_ends, overridden }
    }

    /// Writes feature `index` with `extras`, one per name given to
    /// [`FeatureWriter::new`], in that order.
    pub fn write(&self, out: &mut Vec<u8>, index: usize, extras: &[Extra<'_>]) {
        let f = self.layer.feature(index);
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
        let layer = self.layer;
        for (field, value) in layer.props.get(index) {
            if self.overridden.contains(&field.0) {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(&layer.field_keys[field.0 as usize]);
            layer.pool.write_json(value, out);
        }
        let mut start = 0;
        for (&end, v) in self.extra_ends.iter().zip(extras) {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(&self.extra_keys[start..end]);
            start = end;
            push_extra(out, v);
        }
        out.extend_from_slice(b"}}");
    }
}

fn push_extra(out: &mut Vec<u8>, v: &Extra<'_>) {
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
            let names = ["distance_m", "bearing_deg", "name", "open_now", "accepts", "categories"];
            FeatureWriter::new(&layer, &names).write(
                &mut out,
                f.index(),
                &[Extra::Number(12.5), Extra::Tenths(-0.04), Extra::Str("override"), Extra::Bool(None), Extra::StrList(&list), Extra::Categories(mask)],
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
    fn escape_detection_equals_a_byte_by_byte_test() {
        let mut seed = 9u64;
        let alphabet = b"ab \"\\\x01\x1f\x7f\xc3\xa9\x20\x21\x5b\x5d\x5c\x22";
        for n in 0..20_000 {
            let len = n % 40;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = crate::testing::lcg(&mut seed);
                    if r < 0.9 { b'a' + (r * 26.0 / 0.9) as u8 } else { alphabet[((r - 0.9) * 10.0 * alphabet.len() as f64) as usize % alphabet.len()] }
                })
                .collect();
            let expect = bytes.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\');
            assert_eq!(needs_escape(&bytes), expect, "{bytes:?}");
        }
        for c in 0..=255u8 {
            for pos in 0..16 {
                let mut b = vec![b'x'; 16];
                b[pos] = c;
                assert_eq!(needs_escape(&b), c < 0x20 || c == b'"' || c == b'\\', "{c} at {pos}");
            }
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
