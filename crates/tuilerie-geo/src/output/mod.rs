//! Answers as GeoJSON (RFC 7946): single features (geometries converted by
//! the `geojson` crate), the byte writer of the hot paths, and the
//! collections of nearest and items queries.

mod writer;

pub use writer::{Extra, ExtraNames, FeatureWriter};

use crate::features::{FeatureId, FeatureRef};
use crate::geometry::FeatureGeometry;
use crate::hours::OpenState;
use crate::json::{push_f64, push_i64};
use crate::layer::Layer;
use crate::query::{ItemsPage, NearestHit, NearestQuery};
use crate::waste::{mask_ids, Taxonomy};
use serde_json::{json, Map, Value};
use std::sync::LazyLock;
use writer::push_str_list;

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

/// The answer of a nearest query as a GeoJSON FeatureCollection, written
/// straight into bytes: each hit with `distance_m`, `bearing_deg`, `layer`,
/// `accepts` (its categories), `open_now` and `next_change`, then
/// `numberReturned` and the query as understood.
pub fn nearest_collection(layers: &[&Layer], hits: &[NearestHit], q: &NearestQuery) -> Vec<u8> {
    nearest_collection_with(layers, hits, q, &|_, _, _| {})
}

/// [`nearest_collection`] where `members(layer, feature, out)` writes
/// foreign members of each hit's Feature (`,"status":{...}`).
pub fn nearest_collection_with(
    layers: &[&Layer],
    hits: &[NearestHit],
    q: &NearestQuery,
    members: &dyn Fn(usize, usize, &mut Vec<u8>),
) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(512 * hits.len() + 256);
    out.extend_from_slice(b"{\"type\":\"FeatureCollection\",\"features\":[");
    static EXTRAS: LazyLock<ExtraNames<'static>> = LazyLock::new(|| {
        ExtraNames::new(&["distance_m", "bearing_deg", "layer", "accepts", "open_now", "next_change"])
    });
    // One writer a layer, made when a hit of it comes.
    let mut writers: Vec<Option<FeatureWriter>> = layers.iter().map(|_| None).collect();
    for (n, h) in hits.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        let layer = layers[h.layer];
        let open = match h.open {
            OpenState::Open => Some(true),
            OpenState::Closed => Some(false),
            OpenState::Unknown => None,
        };
        let writer = writers[h.layer].get_or_insert_with(|| FeatureWriter::with_static_names(layer, &EXTRAS));
        writer.write_with(
            &mut out,
            h.feature,
            &[
                Extra::Tenths(h.distance_m),
                Extra::Tenths(h.bearing_deg),
                Extra::Str(layer.id().as_str()),
                Extra::Classes(layer.mask(h.feature)),
                Extra::Bool(open),
                Extra::OptStr(h.next_change.as_deref()),
            ],
            |out| members(h.layer, h.feature, out),
        );
    }
    out.extend_from_slice(b"],");
    // The count and the query as understood, written member by member (a
    // serde struct cost 4,500 instructions per request here).
    fn json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
        // Writing to a Vec cannot fail.
        let _ = serde_json::to_writer(out, v);
    }
    out.extend_from_slice(b"\"numberReturned\":");
    push_i64(&mut out, hits.len() as i64);
    out.extend_from_slice(b",\"query\":{\"lon\":");
    push_f64(&mut out, q.lon);
    out.extend_from_slice(b",\"lat\":");
    push_f64(&mut out, q.lat);
    out.extend_from_slice(b",\"k\":");
    push_i64(&mut out, q.k as i64);
    out.extend_from_slice(b",\"layers\":");
    push_str_list(&mut out, layers.iter().map(|l| l.id().as_str()));
    out.extend_from_slice(b",\"accepts\":");
    push_str_list(&mut out, mask_ids(q.accepts, Taxonomy::builtin()));
    out.extend_from_slice(b",\"open\":");
    json(&mut out, &q.open_at.map(|t| t.to_rfc3339()));
    out.extend_from_slice(b",\"max_distance\":");
    json(&mut out, &q.max_distance);
    out.extend_from_slice(b",\"type\":");
    json(&mut out, &q.facility_type.as_deref());
    out.extend_from_slice(b"}}");
    out
}

/// A page of items as an OGC API Features FeatureCollection (`links` are
/// the caller's: they depend on the URL it serves).
pub fn items_collection(layer: &Layer, page: &ItemsPage, links: Value) -> Value {
    let features: Vec<Value> = page.features.iter().map(|&i| feature(&layer.feature(i), Map::new())).collect();
    collection_of(page, features, links)
}

/// The same page with each geometry passed through `map` (a reprojection)
/// on its way out; the first failure is returned.
pub fn items_collection_mapped(
    layer: &Layer,
    page: &ItemsPage,
    links: Value,
    map: &dyn Fn(&mut geo::Geometry<f64>) -> Result<(), String>,
) -> Result<Value, String> {
    let mut features = Vec::with_capacity(page.features.len());
    for &i in &page.features {
        let f = layer.feature(i);
        let mut g = f.geometry().to_geometry();
        map(&mut g)?;
        let geometry =
            serde_json::to_value(geojson::Geometry::new(geojson::GeometryValue::from(&g))).unwrap_or(Value::Null);
        features
            .push(json!({"type": "Feature", "id": id(&f), "geometry": geometry, "properties": f.properties_json()}));
    }
    Ok(collection_of(page, features, links))
}

fn collection_of(page: &ItemsPage, features: Vec<Value>, links: Value) -> Value {
    json!({
        "type": "FeatureCollection",
        "numberMatched": page.matched,
        "numberReturned": features.len(),
        "features": features,
        "timeStamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "links": links,
    })
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
        let layer = crate::source::geojson::load_bytes(
            std::path::Path::new("t.geojson"),
            text.as_bytes(),
            crate::LoadOptions::default(),
        )
        .unwrap();
        // Twice: the second time, the points' openings come from the memo.
        for f in layer.features().chain(layer.features()) {
            let mut out = Vec::new();
            let list = ["glass", "paper"];
            let t = crate::waste::Taxonomy::builtin();
            let mask = (1 << t.index_of("glass").unwrap().0) | (1 << t.index_of("batteries").unwrap().0);
            let names = ["distance_m", "bearing_deg", "name", "open_now", "accepts", "categories"];
            FeatureWriter::new(&layer, &ExtraNames::new(&names)).write(
                &mut out,
                f.index(),
                &[
                    Extra::Number(12.5),
                    Extra::Tenths(-0.04),
                    Extra::Str("override"),
                    Extra::Bool(None),
                    Extra::StrList(&list),
                    Extra::Classes(mask),
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
    fn geometries_serialise_as_rfc7946_objects() {
        let p = feature_geometry(&FeatureGeometry::Point(geo::Coord { x: 1.5, y: 2.0 }));
        assert_eq!(p, json!({"type": "Point", "coordinates": [1.5, 2.0]}));
        let g: geo::Geometry<f64> =
            polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 0.0)].into();
        let v = feature_geometry(&FeatureGeometry::from_geometry(g));
        assert_eq!(v, json!({"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]}));
    }
}
