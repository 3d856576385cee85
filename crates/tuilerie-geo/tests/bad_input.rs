//! Every kind of bad input gives an error naming the file (and line, column
//! or feature where relevant), never a panic.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use std::fs;
use std::path::Path;
use tuilerie_geo::{load, GeoError, LoadOptions};

fn copy_shapefile(dir: &Path, stem: &str) -> std::path::PathBuf {
    for ext in ["shp", "shx", "dbf", "prj", "cpg"] {
        fs::copy(common::gironde(&format!("shp/communes-33-l93.{ext}")), dir.join(format!("{stem}.{ext}"))).unwrap();
    }
    dir.join(format!("{stem}.shp"))
}

fn err(path: &Path, opts: LoadOptions) -> String {
    match load(path, opts) {
        Ok(l) => panic!("{} loaded with {} features", path.display(), l.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn missing_shx_or_dbf_names_the_missing_file() {
    let dir = common::temp_dir("missing");
    let shp = copy_shapefile(&dir, "a");
    fs::remove_file(dir.join("a.shx")).unwrap();
    let e = err(&shp, LoadOptions::default());
    assert!(e.contains("a.shp") && e.contains("missing companion file") && e.contains("a.shx"), "{e}");
    let shp = copy_shapefile(&dir, "b");
    fs::remove_file(dir.join("b.dbf")).unwrap();
    let e = err(&shp, LoadOptions::default());
    assert!(e.contains("b.dbf"), "{e}");
}

#[test]
fn truncated_shp_is_an_error_naming_file_and_record() {
    let dir = common::temp_dir("truncated");
    let shp = copy_shapefile(&dir, "t");
    let bytes = fs::read(&shp).unwrap();
    fs::write(&shp, &bytes[..bytes.len() / 2]).unwrap();
    let e = err(&shp, LoadOptions::default());
    assert!(e.contains("t.shp"), "{e}");
    assert!(e.contains("record"), "{e}");
}

#[test]
fn invalid_json_reports_line_and_column() {
    let dir = common::temp_dir("json");
    let p = dir.join("broken.geojson");
    fs::write(&p, "{\"type\": \"FeatureCollection\",\n \"features\": [\n  {\"type\": \"Feature\",, }\n]}").unwrap();
    let e = load(&p, LoadOptions::default()).unwrap_err();
    match &e {
        GeoError::Json { line, column, .. } => {
            assert_eq!(*line, 3);
            assert_eq!(*column, 22, "the second comma");
        }
        other => panic!("{other}"),
    }
    let msg = e.to_string();
    assert!(msg.contains("broken.geojson") && msg.contains("line 3, column 22"), "{msg}");

    let p = dir.join("truncated.geojson");
    fs::write(&p, "{\"type\": \"FeatureCollection\", \"features\": [").unwrap();
    let msg = err(&p, LoadOptions::default());
    assert!(msg.contains("truncated.geojson") && msg.contains("EOF"), "{msg}");

    let p = dir.join("list.json");
    fs::write(&p, "[1, 2]").unwrap();
    let msg = err(&p, LoadOptions::default());
    assert!(msg.contains("list.json") && msg.contains("not GeoJSON"), "{msg}");

    let p = dir.join("weird.json");
    fs::write(&p, "{\"type\": \"Topology\"}").unwrap();
    let msg = err(&p, LoadOptions::default());
    assert!(msg.contains("unknown GeoJSON type \"Topology\""), "{msg}");
}

#[test]
fn coordinates_out_of_range_after_reprojection_are_skipped_and_counted() {
    // A Lambert-93 file declared as WGS84: every coordinate is out of range.
    let dir = common::temp_dir("range");
    let shp = copy_shapefile(&dir, "wrong");
    let layer = load(&shp, LoadOptions { crs: Some("EPSG:4326".into()), ..Default::default() }).unwrap();
    assert_eq!(layer.len(), 0);
    assert_eq!(layer.meta().skipped.counts.get(&tuilerie_geo::SkipReason::CoordinatesOutOfRange), Some(&538));
    assert_eq!(layer.meta().skipped.examples[0].index, 0);
    let p = dir.join("nan.geojson");
    fs::write(&p, r#"{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1e400,2]}}"#).unwrap();
    // 1e400 overflows to infinity in JSON parsing: serde_json rejects it as a number out of range.
    let e = err(&p, LoadOptions::default());
    assert!(e.contains("nan.geojson"), "{e}");
}

#[test]
fn unknown_encoding_and_crs_are_clear_errors() {
    let dir = common::temp_dir("enc");
    let shp = copy_shapefile(&dir, "e");
    fs::write(dir.join("e.cpg"), "KLINGON-8").unwrap();
    let e = err(&shp, LoadOptions::default());
    assert!(e.contains("e.cpg") && e.contains("KLINGON-8") && e.contains(".cpg file"), "{e}");
    let e = err(&shp, LoadOptions { encoding: Some("EBCDIC-XX".into()), ..Default::default() });
    assert!(e.contains("EBCDIC-XX") && e.contains("configuration"), "{e}");

    fs::write(dir.join("e.cpg"), "ISO-8859-1").unwrap();
    fs::write(dir.join("e.prj"), "PROJCS[\"Lambert_Fantaisie\",GEOGCS[").unwrap();
    let e = err(&shp, LoadOptions::default());
    assert!(e.contains("e.prj") && e.contains("Lambert_Fantaisie") && e.contains("crs"), "{e}");
    let e = err(&shp, LoadOptions { crs: Some("EPSG:999999".into()), ..Default::default() });
    assert!(e.contains("EPSG:999999"), "{e}");
}

#[test]
fn missing_prj_can_be_overridden_by_configuration() {
    let dir = common::temp_dir("noprj");
    let shp = copy_shapefile(&dir, "n");
    fs::remove_file(dir.join("n.prj")).unwrap();
    let layer = load(&shp, LoadOptions { crs: Some("EPSG:2154".into()), ..Default::default() }).unwrap();
    assert_eq!(layer.len(), 538);
    assert!(layer.meta().source.crs.contains("Lambert-93"));
}

#[test]
fn unreadable_paths_and_unknown_formats_name_the_file() {
    let e = err(Path::new("/nonexistent/dir/x.geojson"), LoadOptions::default());
    assert!(e.contains("/nonexistent/dir/x.geojson") && e.contains("cannot read"), "{e}");
    let e = err(Path::new("/nonexistent/x.shp"), LoadOptions::default());
    assert!(e.contains("/nonexistent/x.shp"), "{e}");
    let e = err(Path::new("notes.txt"), LoadOptions::default());
    assert!(e.contains("notes.txt") && e.contains("unsupported file type"), "{e}");
}

#[test]
fn null_shapes_are_skipped_and_counted() {
    // Rewrite the first record's shape type to 0 (null shape) in .shp.
    let dir = common::temp_dir("null");
    let shp = copy_shapefile(&dir, "z");
    let mut bytes = fs::read(&shp).unwrap();
    // First record header at 100 (8 bytes), then the shape type (LE i32).
    // A null shape record is just its type; shrinking content length keeps the file valid.
    let content_len = u32::from_be_bytes([bytes[104], bytes[105], bytes[106], bytes[107]]) as usize * 2;
    let mut out = bytes[..100].to_vec();
    out.extend_from_slice(&bytes[100..104]);
    out.extend_from_slice(&2u32.to_be_bytes()); // 2 words = 4 bytes
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&bytes[108 + content_len..]);
    let new_len = (out.len() / 2) as u32;
    out[24..28].copy_from_slice(&new_len.to_be_bytes());
    bytes = out;
    fs::write(&shp, &bytes).unwrap();
    // Rewrite the .shx offsets accordingly.
    let mut shx = fs::read(dir.join("z.shx")).unwrap();
    let delta = (content_len - 4) / 2;
    for i in 0..538usize {
        let at = 100 + i * 8;
        let off = u32::from_be_bytes([shx[at], shx[at + 1], shx[at + 2], shx[at + 3]]);
        let len = u32::from_be_bytes([shx[at + 4], shx[at + 5], shx[at + 6], shx[at + 7]]);
        let (off, len) = if i == 0 { (off, 2) } else { (off - delta as u32, len) };
        shx[at..at + 4].copy_from_slice(&off.to_be_bytes());
        shx[at + 4..at + 8].copy_from_slice(&len.to_be_bytes());
    }
    fs::write(dir.join("z.shx"), &shx).unwrap();
    let layer = load(&shp, LoadOptions::default()).unwrap();
    assert_eq!(layer.len(), 537);
    assert_eq!(layer.meta().skipped.counts.get(&tuilerie_geo::SkipReason::NullGeometry), Some(&1));
    assert_eq!(layer.meta().skipped.examples[0].index, 0);
    // The second commune keeps its own attributes (no shift between shapes and records).
    assert_eq!(layer.feature(0).property("code"), Some(tuilerie_geo::Value::String("33025")));
}
