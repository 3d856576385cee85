//! `tuilerie export`: archives read back by the `pmtiles` crate, by
//! Protomaps' JavaScript reader (tests/node/read-pmtiles.mjs) and by SQLite,
//! every tile equal to what `/tiles/{a,b}/{z}/{x}/{y}.mvt` serves.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use flate2::read::GzDecoder;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use tuilerie_server::export::{self, ExportOptions};

fn gunzip(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    GzDecoder::new(b).read_to_end(&mut out).expect("gzip");
    out
}

fn options(state: &tuilerie_server::AppState, minzoom: u8, maxzoom: u8) -> ExportOptions {
    let catalog = state.catalog().unwrap();
    let layers = catalog.layers().to_vec();
    ExportOptions {
        bbox: export::layers_bounds(&layers),
        layers,
        minzoom,
        maxzoom,
        tiles: state.options.tiles,
        attribution: Some("© contributeurs".into()),
        threads: 2,
        progress: false,
    }
}

/// What the server answers for every tile of the export's range: the raw
/// MVT, or None for an empty tile (204).
async fn served(state: &tuilerie_server::AppState, opts: &ExportOptions) -> BTreeMap<(u8, u32, u32), Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    for z in opts.minzoom..=opts.maxzoom {
        let ((x0, x1), (y0, y1)) = export::tile_range(opts.bbox, z);
        for x in x0..=x1 {
            for y in y0..=y1 {
                let r = common::send(
                    state,
                    Request::get(format!("/tiles/communes,points/{z}/{x}/{y}.mvt")).body(Body::empty()).unwrap(),
                )
                .await;
                let tile = match r.status {
                    StatusCode::OK => Some(r.body),
                    StatusCode::NO_CONTENT => None,
                    s => panic!("{z}/{x}/{y}: {s}"),
                };
                out.insert((z, x, y), tile);
            }
        }
    }
    out
}

#[tokio::test]
async fn a_pmtiles_archive_holds_exactly_the_served_tiles() {
    let state = common::demo_state();
    let opts = options(&state, 0, 11);
    let dir = common::temp_dir("export-pmtiles");
    let out = dir.join("gironde.pmtiles");
    let report = export::export(&opts, &out).expect("export");
    assert!(!dir.join("gironde.pmtiles.partial").exists());
    let expected = served(&state, &opts).await;
    let with_data = expected.values().filter(|t| t.is_some()).count() as u64;
    assert_eq!(report.addressed, expected.len() as u64);
    assert_eq!(report.written, with_data);
    assert!(report.unique <= report.written && report.unique > 0, "{report:?}");
    assert_eq!(report.bytes, std::fs::metadata(&out).unwrap().len());

    // The pmtiles crate's reader.
    let reader = pmtiles::AsyncPmTilesReader::new_with_path(&out).await.expect("a PMTiles archive");
    let h = reader.get_header();
    assert_eq!(h.tile_type, pmtiles::TileType::Mvt);
    assert_eq!(h.tile_compression, pmtiles::Compression::Gzip);
    assert_eq!((h.min_zoom, h.max_zoom), (0, 11));
    assert!(h.clustered(), "tiles written in Hilbert order");
    assert_eq!(h.n_addressed_tiles().map(u64::from), Some(with_data));
    assert_eq!(h.n_tile_contents().map(u64::from), Some(report.unique));
    for (&(z, x, y), tile) in &expected {
        let got = reader.get_tile(pmtiles::TileCoord::new(z, x, y).unwrap()).await.unwrap();
        match (tile, got) {
            (None, None) => {}
            (Some(t), Some(g)) => assert_eq!(&gunzip(&g), t, "{z}/{x}/{y}"),
            (t, g) => {
                panic!("{z}/{x}/{y}: served {:?} bytes, archived {:?}", t.as_ref().map(Vec::len), g.map(|g| g.len()))
            }
        }
    }
    let meta: serde_json::Value = serde_json::from_str(&reader.get_metadata().await.unwrap()).unwrap();
    let ids: Vec<&str> = meta["vector_layers"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["communes", "points"]);
    assert_eq!(meta["attribution"], "© contributeurs");

    // Protomaps' JavaScript reader, as a MapLibre page would read it.
    let coords: Vec<[u32; 3]> = expected.keys().map(|&(z, x, y)| [u32::from(z), x, y]).collect();
    let (ok, text) = common::node(
        "read-pmtiles.mjs",
        std::slice::from_ref(&out),
        Some(serde_json::to_string(&coords).unwrap().as_bytes()),
    );
    assert!(ok, "{text}");
    let js: serde_json::Value = serde_json::from_str(&text).expect(&text);
    assert_eq!(js["header"]["numAddressedTiles"], with_data);
    assert_eq!(js["header"]["maxZoom"], 11);
    assert_eq!(js["metadata"]["vector_layers"][1]["id"], "points");
    for (&(z, x, y), tile) in &expected {
        let want = tile.as_ref().map(|t| format!("{:x}", Sha256::digest(t)));
        assert_eq!(js["tiles"][format!("{z}/{x}/{y}")].as_str().map(String::from), want, "{z}/{x}/{y}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_mbtiles_archive_follows_the_schema_with_tms_rows() {
    let state = common::demo_state();
    let opts = options(&state, 0, 9);
    let dir = common::temp_dir("export-mbtiles");
    let out = dir.join("gironde.mbtiles");
    let report = export::export(&opts, &out).expect("export");
    let expected = served(&state, &opts).await;
    let db = rusqlite::Connection::open(&out).unwrap();
    let app_id: i64 = db.query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap();
    assert_eq!(app_id, 0x4d50_4258);
    let meta: BTreeMap<String, String> = db
        .prepare("SELECT name, value FROM metadata")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(meta["format"], "pbf");
    assert_eq!((meta["minzoom"].as_str(), meta["maxzoom"].as_str()), ("0", "9"));
    let bounds: Vec<f64> = meta["bounds"].split(',').map(|v| v.parse().unwrap()).collect();
    assert!(bounds.len() == 4 && bounds[0] < bounds[2] && (bounds[0] + 1.26).abs() < 0.05, "{bounds:?}");
    let json: serde_json::Value = serde_json::from_str(&meta["json"]).unwrap();
    assert_eq!(json["vector_layers"][0]["id"], "communes");
    let count: i64 = db.query_row("SELECT count(*) FROM tiles", [], |r| r.get(0)).unwrap();
    assert_eq!(count as u64, report.written);
    let images: i64 = db.query_row("SELECT count(*) FROM images", [], |r| r.get(0)).unwrap();
    assert_eq!(images as u64, report.unique);
    for (&(z, x, y), tile) in &expected {
        let row = (1u32 << z) - 1 - y;
        let got: Option<Vec<u8>> = db
            .query_row(
                "SELECT tile_data FROM tiles WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
                rusqlite::params![z, x, row],
                |r| r.get(0),
            )
            .ok();
        assert_eq!(got.map(|g| gunzip(&g)), *tile, "{z}/{x}/{y}");
    }
    // sqlite3 itself reads it, and its integrity holds.
    let o = std::process::Command::new("sqlite3")
        .arg(&out)
        .arg("PRAGMA integrity_check; SELECT count(*) FROM tiles;")
        .output()
        .expect("sqlite3 is needed (scripts/setup.sh)");
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), format!("ok\n{count}"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_options_are_refused_naming_the_option_and_nothing_is_written() {
    let state = common::demo_state();
    let dir = common::temp_dir("export-bad");
    let base = || options(&state, 0, 4);
    let try_export = |opts: ExportOptions, out: &Path| export::export(&opts, out).unwrap_err().to_string();
    assert!(try_export(base(), &dir.join("x.zip")).contains("--output"));
    let mut o = base();
    o.minzoom = 5;
    assert!(try_export(o, &dir.join("x.pmtiles")).contains("--minzoom 5 is above --maxzoom 4"));
    let mut o = base();
    o.maxzoom = 23;
    assert!(try_export(o, &dir.join("x.pmtiles")).contains("--maxzoom 23"));
    let mut o = base();
    o.bbox = [1.0, 44.0, 0.0, 45.0];
    assert!(try_export(o, &dir.join("x.mbtiles")).contains("west must be below east"));
    assert!(export::parse_bbox("1,2,3").unwrap_err().contains("four numbers"));
    assert!(export::parse_bbox("a,2,3,4").unwrap_err().contains("\"a\" is not a number"));
    // A folder that does not exist: an error, and no partial file left.
    assert!(export::export(&base(), &dir.join("missing/x.pmtiles")).is_err());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "nothing written");
    let _ = std::fs::remove_dir_all(dir);
}

/// The static files of a page drawing `archive` with MapLibre GL JS and the
/// `pmtiles` protocol: the same MapLibre build the web map embeds.
fn write_page(www: &Path) {
    let root = common::root();
    let maplibre = root.join("crates/tuilerie-server/web/node_modules/maplibre-gl/dist");
    for f in ["maplibre-gl.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css"] {
        std::fs::copy(maplibre.join(f), www.join(f)).unwrap();
    }
    std::fs::copy(root.join("tests/node/node_modules/pmtiles/dist/pmtiles.js"), www.join("pmtiles.js")).unwrap();
    let page = r##"<!doctype html>
<html><head><meta charset="utf-8"><title>PMTiles</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="maplibre-gl.css"><script src="pmtiles.js"></script></head>
<body style="margin:0"><div id="map" style="width:800px;height:600px"></div>
<script type="module">
import * as maplibregl from './maplibre-gl.mjs';
const protocol = new pmtiles.Protocol();
maplibregl.addProtocol('pmtiles', protocol.tile);
const map = new maplibregl.Map({
  container: 'map', center: [-0.58, 44.84], zoom: 11, fadeDuration: 0,
  style: { version: 8,
    sources: { archive: { type: 'vector', url: 'pmtiles://' + location.origin + '/gironde.pmtiles' } },
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#ffffff' } },
      { id: 'communes', type: 'fill', source: 'archive', 'source-layer': 'communes', paint: { 'fill-color': '#9ecae1', 'fill-outline-color': '#3182bd' } },
      { id: 'points', type: 'circle', source: 'archive', 'source-layer': 'points', paint: { 'circle-radius': 3, 'circle-color': '#e6550d' } },
    ] },
});
map.once('idle', () => {
  window.report = {
    communes: map.queryRenderedFeatures({ layers: ['communes'] }).length,
    points: map.queryRenderedFeatures({ layers: ['points'] }).length,
  };
});
</script></body></html>
"##;
    std::fs::write(www.join("index.html"), page).unwrap();
}

#[test]
fn a_maplibre_page_draws_the_archive_from_nginx_by_range_requests() {
    let state = common::demo_state();
    let dir = common::temp_dir("export-nginx");
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    export::export(&options(&state, 0, 12), &www.join("gironde.pmtiles")).expect("export");
    write_page(&www);
    // nginx from Debian, one process in the foreground, everything in the
    // temporary directory; a plain static server answering ranges (206).
    let port = common::free_port();
    let conf = format!(
        "daemon off; master_process off; pid {d}/nginx.pid; error_log {d}/error.log;\n\
         events {{}}\n\
         http {{ access_log {d}/access.log; client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
           types {{ text/html html; text/javascript js mjs; text/css css; application/vnd.pmtiles pmtiles; }}\n\
           server {{ listen 127.0.0.1:{port}; root {www}; }} }}\n",
        d = dir.display(),
        www = www.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let mut nginx = std::process::Command::new("nginx")
        .args(["-e", &dir.join("error.log").to_string_lossy(), "-p"])
        .arg(&dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("nginx is needed (scripts/setup.sh)");
    let started = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(50));
        common::http_get(port, "/index.html").is_some_and(|(s, _)| s == 200)
    });
    let artefacts = common::root().join("test-artifacts/browser");
    std::fs::create_dir_all(&artefacts).unwrap();
    let result = started.then(|| {
        common::node(
            "pmtiles-page.mjs",
            &[format!("http://127.0.0.1:{port}/index.html").into(), artefacts.join("pmtiles.png")],
            None,
        )
    });
    let _ = nginx.kill();
    let _ = nginx.wait();
    assert!(started, "nginx did not start: {}", std::fs::read_to_string(dir.join("error.log")).unwrap_or_default());
    let (ok, text) = result.unwrap();
    assert!(ok, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).expect(&text);
    assert!(v["report"]["communes"].as_u64().unwrap() > 10 && v["report"]["points"].as_u64().unwrap() > 10, "{v}");
    assert!(v["ranges"].as_u64().unwrap() >= 2, "header and directory, then tiles, by range: {v}");
    assert!(v["statuses"]["gironde.pmtiles 206"].as_u64().unwrap_or(0) >= 2, "{v}");
    let log = std::fs::read_to_string(dir.join("access.log")).unwrap();
    assert!(log.lines().any(|l| l.contains("/gironde.pmtiles") && l.contains("\" 206 ")), "{log}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_thematic_map_is_exported_as_its_tiles_are_served() {
    use tuilerie_server::config::Config;
    use tuilerie_server::export::command::{run, ExportArgs};
    use tuilerie_server::loading;
    let config_path = common::root().join("data/tuilerie.toml");
    let dir = common::temp_dir("export-map");
    let out = dir.join("densite.pmtiles");
    let args = |maps: &str| ExportArgs {
        paths: vec![],
        config: Some(config_path.clone()),
        output: out.clone(),
        layers: None,
        maps: Some(maps.into()),
        minzoom: 0,
        maxzoom: Some(9),
        bbox: None,
        threads: Some(2),
    };
    let e = run(args("densite-population,nope")).unwrap_err().to_string();
    assert!(e.contains("unknown map \"nope\"") && e.contains("distance-verre"), "{e}");
    assert!(!out.exists());
    run(args("densite-population")).expect("export");

    // The server's view of the same configuration.
    let config = Config::from_file(&config_path).unwrap();
    let t = &config.tiles;
    let tiles = tuilerie_geo::tiling::TileOptions { extent: t.extent, buffer: t.buffer, max_bytes: t.max_bytes };
    let layers = loading::configured_layers(&config, &[]).unwrap();
    let state = tuilerie_server::AppState::ready(
        loading::load_catalog(&layers, false),
        tuilerie_server::ServerOptions { tiles, ..Default::default() },
    );
    loading::build_maps(&state, &config.tables, config.maps.clone(), Some(&config_path));
    let map = state.maps.get("densite-population").expect("the configured map");
    let bounds = map.map.layer.meta().bounds.unwrap();

    let reader = pmtiles::AsyncPmTilesReader::new_with_path(&out).await.unwrap();
    let meta: serde_json::Value = serde_json::from_str(&reader.get_metadata().await.unwrap()).unwrap();
    assert_eq!(meta["vector_layers"].as_array().unwrap().len(), 1);
    let (mut drawn, mut compared) = (0, 0);
    for z in 0..=9u8 {
        let ((x0, x1), (y0, y1)) = export::tile_range(bounds, z);
        for x in x0..=x1 {
            for y in y0..=y1 {
                let r = common::get(&state, &format!("/maps/densite-population/tiles/{z}/{x}/{y}.mvt")).await;
                let got = reader.get_tile(pmtiles::TileCoord::new(z, x, y).unwrap()).await.unwrap();
                match (r.status, got) {
                    (StatusCode::NO_CONTENT, None) => {}
                    (StatusCode::OK, Some(g)) => {
                        assert_eq!(gunzip(&g), r.body, "{z}/{x}/{y}");
                        drawn += 1;
                    }
                    (s, g) => panic!("{z}/{x}/{y}: served {s}, archived {:?}", g.map(|g| g.len())),
                }
                compared += 1;
            }
        }
    }
    assert!(drawn > 20 && compared >= drawn, "{drawn} of {compared}");
    // Its tiles carry the map's value and class (checked by the decoder).
    let (ok, text) = {
        let tile = dir.join("tile.mvt");
        let ((x, _), (y, _)) = export::tile_range(bounds, 8);
        let t = reader.get_tile(pmtiles::TileCoord::new(8, x, y).unwrap()).await.unwrap().unwrap();
        std::fs::write(&tile, gunzip(&t)).unwrap();
        common::node("decode-mvt.mjs", &[tile], None)
    };
    assert!(ok && text.contains("\"class\"") && text.contains("\"value\""), "{text}");
    let _ = std::fs::remove_dir_all(dir);
}
