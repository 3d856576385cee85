//! GeoJSON reading: every geometry type, ids, faithful properties, the three
//! top-level forms, the legacy `crs` member, and skipped features.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use geo::{Area, Geometry};
use std::path::Path;
use tuilerie_geo::source::geojson::load_bytes;
use tuilerie_geo::{FeatureId, FieldType, GeometryKind, LoadOptions, SkipReason, Value};

fn parse(text: &str) -> tuilerie_geo::Layer {
    load_bytes(Path::new("test.geojson"), text.as_bytes(), LoadOptions::default()).unwrap()
}

#[test]
fn every_geometry_type_is_read() {
    let layer = parse(
        r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","geometry":{"type":"Point","coordinates":[1,2,300]},"properties":{}},
        {"type":"Feature","geometry":{"type":"MultiPoint","coordinates":[[1,2],[3,4]]},"properties":null},
        {"type":"Feature","geometry":{"type":"LineString","coordinates":[[1,2],[3,4]]}},
        {"type":"Feature","geometry":{"type":"MultiLineString","coordinates":[[[1,2],[3,4]],[[5,6],[7,8]]]}},
        {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[4,0],[4,4],[0,4],[0,0]],[[1,1],[1,2],[2,2],[2,1],[1,1]]]}},
        {"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[5,5],[6,5],[6,6],[5,5]]]]}},
        {"type":"Feature","geometry":{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[1,1]},{"type":"LineString","coordinates":[[0,0],[1,1]]}]}}
        ]}"#,
    );
    let kinds: Vec<GeometryKind> = layer.features().map(|f| f.geometry().kind()).collect();
    assert_eq!(
        kinds,
        vec![
            GeometryKind::Point,
            GeometryKind::MultiPoint,
            GeometryKind::LineString,
            GeometryKind::MultiLineString,
            GeometryKind::Polygon,
            GeometryKind::MultiPolygon,
            GeometryKind::GeometryCollection
        ]
    );
    let Geometry::Polygon(p) = layer.feature(4).geometry().to_geometry() else { panic!() };
    assert_eq!(p.interiors().len(), 1);
    assert_eq!(p.unsigned_area(), 15.0);
    assert_eq!(layer.meta().bounds, Some([0.0, 0.0, 7.0, 8.0]));
}

#[test]
fn ids_and_properties_are_kept_faithfully() {
    let layer = parse(
        r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","id":"a-1","geometry":{"type":"Point","coordinates":[1,2]},
         "properties":{"n":3,"x":2.5,"big":18446744073709551615,"s":"Mérignac \"centre\"","b":true,"z":null,
                       "nested":{"k":[1,2,{"é":"x"}]},"arr":[1,"two"]}},
        {"type":"Feature","id":42,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{"n":4.0}},
        {"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"n":"5"}}
        ]}"#,
    );
    let f = layer.feature(0);
    assert_eq!(f.id(), FeatureId::Str("a-1"));
    assert_eq!(f.property("n"), Some(Value::Int(3)));
    assert_eq!(f.property("x"), Some(Value::Float(2.5)));
    assert_eq!(f.property("big"), Some(Value::Float(18446744073709551615.0)));
    assert_eq!(f.property("s"), Some(Value::String("Mérignac \"centre\"")));
    assert_eq!(f.property("b"), Some(Value::Bool(true)));
    assert_eq!(f.property("z"), Some(Value::Null));
    assert_eq!(f.property("nested"), Some(Value::Json(r#"{"k":[1,2,{"é":"x"}]}"#)));
    assert_eq!(f.property("arr"), Some(Value::Json(r#"[1,"two"]"#)));
    assert_eq!(
        f.properties().map(|(k, _)| k).collect::<Vec<_>>(),
        vec!["n", "x", "big", "s", "b", "z", "nested", "arr"],
        "source order is kept"
    );
    assert_eq!(layer.feature(1).id(), FeatureId::Int(42));
    assert_eq!(layer.feature(1).property("n"), Some(Value::Float(4.0)));
    assert_eq!(layer.feature(2).id(), FeatureId::Int(2), "no id: the feature's position");
    let n = layer.meta().fields.iter().find(|f| f.name == "n").unwrap();
    assert_eq!(n.field_type, FieldType::Mixed);
    assert_eq!(n.count, 3);
}

#[test]
fn a_single_feature_and_a_bare_geometry_are_layers_of_one() {
    let f = parse(r#"{"properties":{"a":1},"geometry":{"coordinates":[3,4],"type":"Point"},"type":"Feature","id":7}"#);
    assert_eq!(f.len(), 1);
    assert_eq!(f.feature(0).id(), FeatureId::Int(7));
    assert_eq!(f.feature(0).property("a"), Some(Value::Int(1)));
    let g = parse(r#"{"coordinates":[[0,0],[1,1]],"type":"LineString"}"#);
    assert_eq!(g.len(), 1);
    assert_eq!(g.feature(0).geometry().kind(), GeometryKind::LineString);
}

#[test]
fn bad_features_are_skipped_and_counted_by_reason() {
    let layer = parse(
        r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","geometry":null,"properties":{"a":1}},
        {"type":"Feature","geometry":{"type":"Point","coordinates":[]},"properties":{"a":2}},
        {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,1],[0,0]]]},"properties":{"a":3}},
        {"type":"Feature","geometry":{"type":"Point","coordinates":[200,10]},"properties":{"a":4}},
        {"type":"Feature","geometry":{"type":"Point","coordinates":[1]},"properties":{"a":5}},
        {"type":"Feature","geometry":{"type":"Hexagon","coordinates":[1,2]},"properties":{"a":6}},
        {"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"a":7}}
        ]}"#,
    );
    assert_eq!(layer.len(), 1);
    assert_eq!(layer.feature(0).property("a"), Some(Value::Int(7)));
    let s = &layer.meta().skipped;
    assert_eq!(s.counts.get(&SkipReason::NullGeometry), Some(&1));
    assert_eq!(s.counts.get(&SkipReason::EmptyGeometry), Some(&1));
    assert_eq!(s.counts.get(&SkipReason::CoordinatesOutOfRange), Some(&1));
    assert_eq!(s.counts.get(&SkipReason::InvalidGeometry), Some(&3));
    let detail: Vec<String> = s.examples.iter().map(|e| format!("{}: {}", e.index, e.detail)).collect();
    assert!(detail.contains(&"2: a polygon ring needs at least 4 positions, found 3".to_string()), "{detail:?}");
    assert!(detail.iter().any(|d| d.starts_with("3: coordinate (200, 10)")), "{detail:?}");
    assert!(detail.iter().any(|d| d.contains("unknown geometry type \"Hexagon\"")), "{detail:?}");
}

#[test]
fn a_legacy_crs_member_reprojects_from_lambert93() {
    let layer = parse(
        r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::2154"}},
            "features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[700000,6600000]},"properties":{}}]}"#,
    );
    let Geometry::Point(p) = layer.feature(0).geometry().to_geometry() else { panic!() };
    assert!((p.x() - 3.0).abs() < 1e-9 && (p.y() - 46.5).abs() < 1e-9, "{p:?}");
    assert_eq!(layer.meta().source.crs_origin, "GeoJSON crs member");
}

#[test]
fn id_field_and_property_selection_apply() {
    let opts =
        LoadOptions { id_field: Some("code".into()), properties: Some(vec!["nom".into()]), ..Default::default() };
    let layer = load_bytes(
        Path::new("t.geojson"),
        br#"{"type":"FeatureCollection","features":[{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{"code":"33063","nom":"Bordeaux","pop":1}}]}"#,
        opts,
    )
    .unwrap();
    let f = layer.feature(0);
    assert_eq!(f.id(), FeatureId::Str("33063"));
    assert_eq!(f.properties().map(|(k, _)| k).collect::<Vec<_>>(), vec!["nom"]);
}

/// A file of several 8 MiB blocks is read a block at a time on a second
/// thread: the layer is the one the whole file gives, feature for feature,
/// with features cut across blocks, a crs member before the features, and
/// strings holding brackets, quotes and escapes.
#[test]
fn a_large_file_read_in_blocks_gives_the_layer_of_the_whole_file() {
    let dir = common::temp_dir("geojson-blocks");
    let points = common::synthetic_points(120_000, 11);
    let body = points.trim_start_matches("{\"type\":\"FeatureCollection\",\"features\":[");
    let mut text = String::from(
        "{\"type\": \"FeatureCollection\", \"name\": \"a [b] {c} \\\"d\\\"\",\n \"crs\": {\"type\": \"name\", \"properties\": {\"name\": \"urn:ogc:def:crs:OGC:1.3:CRS84\"}},\n \"features\": [\n",
    );
    text.push_str("{\"type\":\"Feature\",\"id\":\"x}]\\\"\",\"properties\":{\"note\":\"{[\\\\\\\"]}\",\"n\":[1,{\"a\":[]}]},\"geometry\":{\"type\":\"Point\",\"coordinates\":[-0.5,44.8]}},\n");
    text.push_str(body);
    text.push('\n');
    assert!(text.len() > 20 << 20, "several blocks: {} bytes", text.len());
    let path = dir.join("big.geojson");
    std::fs::write(&path, &text).unwrap();
    let streamed = tuilerie_geo::source::geojson::load_streaming(&path, &LoadOptions::default()).expect("streams");
    let whole = load_bytes(&path, text.as_bytes(), LoadOptions::default()).unwrap();
    assert_eq!(streamed.len(), 120_001);
    assert_eq!(serde_json::to_string(streamed.meta()).unwrap(), serde_json::to_string(whole.meta()).unwrap());
    for (a, b) in streamed.features().zip(whole.features()) {
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }
    assert_eq!(streamed.feature(0).id().to_string(), "x}]\"");

    // A cut file: reported as a whole file's error, at its place.
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    assert!(tuilerie_geo::source::geojson::load_streaming(&path, &LoadOptions::default()).is_none());
    let err = tuilerie_geo::load(&path, LoadOptions::default()).unwrap_err().to_string();
    assert!(err.contains("big.geojson") && err.contains("line"), "{err}");
}
