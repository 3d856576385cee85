//! An OpenStreetMap extract served as it comes: the waste profile's layers
//! in the catalog, `/nearest` on centres mapped as areas, items by OSM id,
//! tiles; configuration errors that name the key.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tuilerie_server::config::{Config, LayerConfig};
use tuilerie_server::{AppState, ServerOptions};

mod common;

fn monaco() -> std::path::PathBuf {
    common::shared("osm/monaco-latest.osm.pbf")
}

async fn get(s: &AppState, uri: &str) -> (StatusCode, serde_json::Value) {
    let r = common::send(s, Request::get(uri).header("host", "t.test").body(Body::empty()).unwrap()).await;
    let j = if r.header("content-type").contains("json") { r.json() } else { serde_json::Value::Null };
    (r.status, j)
}

#[tokio::test]
async fn a_pbf_file_is_served_as_the_waste_profile_layers() {
    let catalog = tuilerie_server::loading::load_catalog(&[LayerConfig::for_path(monaco())], false);
    let s = AppState::ready(catalog, ServerOptions::default());
    let (st, j) = get(&s, "/catalog").await;
    assert_eq!(st, StatusCode::OK);
    let layers = j["layers"].as_array().unwrap();
    let ids: Vec<&str> = layers.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["monaco-latest-recycling", "monaco-latest-waste-disposal", "monaco-latest-waste-baskets"]);
    assert_eq!(layers[0]["format"], "OSM PBF");
    assert_eq!(layers[2]["feature_count"], 70);

    // A centre mapped as an area: /nearest from inside it is at 0 m, and it
    // is among the default layers although the layer is not all points.
    let catalog = s.catalog().unwrap();
    let recycling = catalog.get("monaco-latest-recycling").unwrap();
    let area = (0..recycling.len())
        .find(|&i| matches!(recycling.feature(i).property("@type"), Some(tuilerie_geo::Value::String("way"))))
        .unwrap();
    let inside = tuilerie_geo::representative_point(recycling.feature(area).geometry()).unwrap();
    let Some(tuilerie_geo::Value::Int(osm_id)) = recycling.feature(area).property("@id") else { panic!("@id") };
    let way_id = format!("way/{osm_id}");
    let (st, j) = get(&s, &format!("/nearest?lon={}&lat={}&k=2", inside.x, inside.y)).await;
    assert_eq!(st, StatusCode::OK, "{j}");
    let first = &j["features"][0];
    assert_eq!(first["id"], way_id.as_str(), "{j}");
    assert_eq!(first["properties"]["distance_m"], 0.0);
    assert!(j["query"]["layers"].as_array().unwrap().iter().any(|l| l == "monaco-latest-recycling"));

    // Items by OSM id (the slash percent-encoded in the path).
    let (st, j) = get(&s, &format!("/collections/monaco-latest-recycling/items/{}", way_id.replace('/', "%2F"))).await;
    assert_eq!(st, StatusCode::OK, "{j}");
    assert_eq!(j["id"], way_id.as_str());
    assert_eq!(j["properties"]["@type"], "way");
    assert_eq!(j["properties"]["amenity"], "recycling");

    // Tiles carry the baskets at street zoom: the tile of the first one.
    let baskets = catalog.get("monaco-latest-waste-baskets").unwrap();
    let p = tuilerie_geo::representative_point(baskets.feature(0).geometry()).unwrap();
    let n = 2f64.powi(16);
    let x = ((p.x + 180.0) / 360.0 * n) as u32;
    let lat = p.y.to_radians();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
    let r = common::send(
        &s,
        Request::get(format!("/tiles/monaco-latest-waste-baskets/16/{x}/{y}.mvt")).body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "tile 16/{x}/{y}");
}

fn config_error(layer: &str) -> String {
    let dir = common::temp_dir("osm-config");
    let p = dir.join("tuilerie.toml");
    std::fs::write(&p, format!("[[layers]]\npath = {:?}\n{layer}\n", monaco().display().to_string())).unwrap();
    format!("{:#}", Config::from_file(&p).unwrap_err())
}

#[test]
fn osm_options_are_checked_and_name_the_key() {
    let e = config_error("filter = \"amenity=recycling and\"");
    assert!(e.contains("layers[0]") && e.contains("filter") && e.contains("column 22"), "{e}");
    let e = config_error("filter = \"amenity=*\"\ngeometry = \"area\"");
    assert!(e.contains("geometry \"area\""), "{e}");
    let e = config_error("osc = [\"nowhere.osc\"]");
    assert!(e.contains("osc") && e.contains("nowhere.osc"), "{e}");
    let e = config_error("geometry = \"point\"");
    assert!(e.contains("`geometry` needs a `filter`"), "{e}");
    // OSM keys on another file.
    let dir = common::temp_dir("osm-config-geojson");
    let p = dir.join("tuilerie.toml");
    let demo = common::demo("points-collecte-synthetiques.geojson");
    std::fs::write(&p, format!("[[layers]]\npath = {:?}\nfilter = \"a=b\"\n", demo.display().to_string())).unwrap();
    let e = format!("{:#}", Config::from_file(&p).unwrap_err());
    assert!(e.contains("`filter` applies to OpenStreetMap files"), "{e}");
    // A valid configuration: two layers of one file.
    let p = dir.join("ok.toml");
    let m = monaco().display().to_string();
    std::fs::write(
        &p,
        format!(
            "[[layers]]\npath = {m:?}\nid = \"glass\"\nfilter = \"amenity=recycling and (recycling:glass=yes or recycling:glass_bottles=yes)\"\ngeometry = \"point\"\ntags = [\"amenity\", \"recycling:glass\", \"recycling:glass_bottles\"]\n\n[[layers]]\npath = {m:?}\nid = \"parks\"\nfilter = \"leisure=park\"\ngeometry = \"polygon\"\n"
        ),
    )
    .unwrap();
    let config = Config::from_file(&p).unwrap();
    let catalog = tuilerie_server::loading::load_catalog(&config.layers, false);
    assert!(catalog.failed().is_empty(), "{:?}", catalog.failed());
    let glass = catalog.get("glass").unwrap();
    assert!(glass.len() >= 4, "{}", glass.len());
    let names: Vec<&str> = glass.meta().fields.iter().map(|f| f.name.as_str()).collect();
    assert!(
        names
            .iter()
            .all(|n| n.starts_with('@') || ["amenity", "recycling:glass", "recycling:glass_bottles"].contains(n)),
        "{names:?}"
    );
    let parks = catalog.get("parks").unwrap();
    assert!(parks.len() > 5);
    assert!(parks.meta().geometry_kinds.iter().all(|k| !k.is_puntal()));
}

/// An editable OSM layer: a contributor's edit of a container goes back to
/// OSM as an osmChange that osmium applies to the extract itself.
#[tokio::test]
async fn edits_of_an_osm_layer_export_as_changes_osmium_applies_to_the_extract() {
    let dir = common::temp_dir("osm-edit");
    let mut l = LayerConfig::for_path(monaco());
    l.id = Some("mc".into());
    l.editable = true;
    let s = common::with_store_in(&dir.join("store"), &[l], ServerOptions::default());
    let catalog = s.catalog().unwrap();
    let ids: Vec<&str> = catalog.ids();
    assert_eq!(ids, ["mc-recycling", "mc-waste-disposal", "mc-waste-baskets"]);
    let baskets = catalog.get("mc-waste-baskets").unwrap();
    let Some(tuilerie_geo::Value::Int(node)) = baskets.feature(0).property("@id") else { panic!("@id") };
    let Some(tuilerie_geo::Value::Int(version)) = baskets.feature(0).property("@version") else { panic!("@version") };
    let uri = format!("/collections/mc-waste-baskets/items/node%2F{node}");
    let r = common::send(&s, Request::get(&uri).body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);
    let etag = r.header("etag");
    let patch = serde_json::json!({"properties": {"colour": "green", "waste": "trash;dog_excrement"}});
    let r = common::send(
        &s,
        Request::patch(&uri)
            .header("content-type", "application/merge-patch+json")
            .header("if-match", etag)
            .body(Body::from(patch.to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    let osc =
        common::send(&s, Request::get("/collections/mc-waste-baskets/changes.osc").body(Body::empty()).unwrap()).await;
    assert_eq!(osc.status, StatusCode::OK);
    let text = String::from_utf8(osc.body).unwrap();
    assert!(text.contains(&format!("<node id=\"{node}\" version=\"{version}\"")), "{text}");
    std::fs::write(dir.join("edit.osc"), &text).unwrap();
    let out = std::process::Command::new("osmium")
        .args(["apply-changes", "-O", monaco().to_str().unwrap(), "edit.osc", "-o", "applied.osm.pbf"])
        .current_dir(&dir)
        .output()
        .expect("osmium (osmium-tool) is needed: scripts/setup.sh");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The extract with the change applied, read back: the edit is there.
    let o = tuilerie_geo::LoadOptions {
        id: tuilerie_geo::LayerId::new("check").ok(),
        osm: Some(tuilerie_geo::OsmOptions {
            filter: Some(tuilerie_geo::TagFilter::parse("amenity=waste_basket").unwrap()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let applied = tuilerie_geo::load(&dir.join("applied.osm.pbf"), o).unwrap();
    let f = applied.find(&format!("node/{node}")).unwrap();
    assert!(matches!(f.property("colour"), Some(tuilerie_geo::Value::String("green"))));
    assert_eq!(applied.len(), baskets.len());
}
