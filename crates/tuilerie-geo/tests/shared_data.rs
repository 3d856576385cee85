//! The real Gironde files: the Lambert-93 shapefile and the WGS84 GeoJSON
//! must give the same communes, and attributes must equal what GDAL reads.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use geo::{Coord, CoordsIter};
use rstar::RTree;
use std::collections::HashMap;
use tuilerie_geo::{load, FeatureGeometry, LoadOptions, Value};

fn coords(g: &FeatureGeometry) -> Vec<Coord<f64>> {
    g.to_geometry().coords_iter().collect()
}

#[test]
fn lambert93_shapefile_and_geojson_give_the_same_538_communes_within_1e6_degree() {
    let shp = load(&common::gironde("shp/communes-33-l93.shp"), LoadOptions::default()).unwrap();
    let gj = load(&common::gironde("communes-33.geojson"), LoadOptions::default()).unwrap();
    assert_eq!(shp.len(), 538);
    assert_eq!(gj.len(), 538);

    let code = |f: &tuilerie_geo::FeatureRef<'_>| match f.property("code") {
        Some(Value::String(s)) => s.to_string(),
        other => panic!("code is {other:?}"),
    };
    let by_code: HashMap<String, usize> = gj.features().map(|f| (code(&f), f.index())).collect();
    assert_eq!(by_code.len(), 538, "codes are unique");

    let mut worst = 0.0f64;
    let mut vertices = 0usize;
    for f in shp.features() {
        let c = code(&f);
        let other = gj.feature(*by_code.get(&c).unwrap_or_else(|| panic!("code {c} missing from GeoJSON")));
        let a = coords(f.geometry());
        let b = coords(other.geometry());
        // Every vertex of each side has a vertex of the other within 1e-6°.
        for (from, to) in [(&a, &b), (&b, &a)] {
            let tree = RTree::bulk_load(to.iter().map(|c| [c.x, c.y]).collect());
            for p in from.iter() {
                let n = tree.nearest_neighbor(&[p.x, p.y]).unwrap();
                let d = (n[0] - p.x).abs().max((n[1] - p.y).abs());
                worst = worst.max(d);
                vertices += 1;
            }
        }
    }
    assert!(worst <= 1e-6, "largest vertex difference {worst}° over {vertices} vertices");
    assert!(vertices > 10_000);
}

/// Parses `ogrinfo -al -q -geom=NO` output into one map per feature.
fn parse_ogrinfo(text: &str) -> Vec<Vec<(String, String, Option<String>)>> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("OGRFeature(") {
            out.push(Vec::new());
        } else if let Some(rest) = line.strip_prefix("  ") {
            let Some((lhs, value)) = rest.split_once(" = ") else { continue };
            let Some((name, ty)) = lhs.split_once(" (") else { continue };
            let ty = ty.trim_end_matches(')').to_string();
            let v = if value == "(null)" { None } else { Some(value.to_string()) };
            if let Some(f) = out.last_mut() {
                f.push((name.to_string(), ty, v));
            }
        }
    }
    out
}

fn check_against_gdal(shp: &str, fixture: &str) -> usize {
    let layer = load(&common::gironde(shp), LoadOptions::default()).unwrap();
    let text = std::fs::read_to_string(common::fixture(fixture)).unwrap();
    let expected = parse_ogrinfo(&text);
    assert_eq!(layer.len(), expected.len());
    let mut checked = 0;
    for (f, exp) in layer.features().zip(&expected) {
        for (name, ty, value) in exp {
            let got = f.property(name);
            match (value, got) {
                (None, None) => {}
                (Some(v), Some(Value::String(s))) => {
                    assert_eq!(ty, "String", "{name}");
                    assert_eq!(s, v, "feature {} field {name}", f.index());
                }
                (Some(v), Some(Value::Int(i))) => {
                    assert!(ty.starts_with("Integer"), "{name} is {ty}");
                    assert_eq!(i.to_string(), *v, "feature {} field {name}", f.index());
                }
                (Some(v), Some(Value::Float(x))) => {
                    assert_eq!(ty, "Real", "{name}");
                    assert!((x - v.parse::<f64>().unwrap()).abs() < 1e-9);
                }
                (v, g) => panic!("feature {} field {name}: GDAL {v:?}, tuilerie {g:?}", f.index()),
            }
            checked += 1;
        }
    }
    checked
}

#[test]
fn latin1_commune_attributes_equal_what_gdal_reads() {
    let n = check_against_gdal("shp/communes-33-l93.shp", "ogrinfo-communes-33-l93.txt");
    assert_eq!(n, 538 * 3);
    let layer = load(&common::gironde("shp/communes-33-l93.shp"), LoadOptions::default()).unwrap();
    let names: Vec<String> = layer
        .features()
        .filter_map(|f| match f.property("nom") {
            Some(Value::String(s)) => Some(s.to_string()),
            _ => None,
        })
        .collect();
    assert!(names.iter().any(|n| n == "Mérignac"));
    assert!(names.iter().any(|n| n == "Saint-Médard-en-Jalles"));
    assert_eq!(layer.meta().source.encoding.as_deref(), Some("ISO-8859-1 (from .cpg file)"));
}

#[test]
fn utf8_decheterie_attributes_equal_what_gdal_reads() {
    let n = check_against_gdal("shp/decheteries-33-l93.shp", "ogrinfo-decheteries-33-l93.txt");
    assert_eq!(n, 44 * 6);
}

#[test]
fn metadata_lists_fields_types_bounds_and_crs() {
    let layer = load(&common::gironde("shp/communes-33-l93.shp"), LoadOptions::default()).unwrap();
    let m = layer.meta();
    assert_eq!(m.id.as_str(), "communes-33-l93");
    assert!(m.source.crs.contains("Lambert-93"), "{}", m.source.crs);
    assert_eq!(m.source.crs_origin, ".prj file");
    let fields: Vec<(&str, tuilerie_geo::FieldType)> =
        m.fields.iter().map(|f| (f.name.as_str(), f.field_type)).collect();
    assert_eq!(
        fields,
        vec![
            ("code", tuilerie_geo::FieldType::String),
            ("nom", tuilerie_geo::FieldType::String),
            ("population", tuilerie_geo::FieldType::Int)
        ]
    );
    let [w, s, e, n] = m.bounds.unwrap();
    assert!((-1.27..-1.25).contains(&w) && (44.19..44.20).contains(&s));
    assert!((0.31..0.32).contains(&e) && (45.57..45.58).contains(&n));
    // The index finds Bordeaux's neighbourhood.
    let hits = layer.query_bbox([-0.58, 44.83, -0.57, 44.84]);
    assert!(hits.iter().any(|&i| layer.feature(i as usize).property("nom") == Some(Value::String("Bordeaux"))));
}
