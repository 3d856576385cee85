//! The built-in web map: content negotiation of `/`, embedded assets,
//! `/style.json` checked by MapLibre's own style validator (npm), and the
//! page driven end to end in headless Debian chromium (tests/node/browser.mjs)
//! against the real binary serving the demo data on loopback.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tower::ServiceExt;
use tuilerie_geo::{Catalog, LoadOptions};
use tuilerie_server::config::{BasemapConfig, WebConfig};
use tuilerie_server::{app, AppState, ServerOptions};

use common::{free_port, gironde, http_get, root};

mod common;

fn demo_state(options: ServerOptions) -> AppState {
    let state = AppState::loading(options);
    state.set_catalog(Catalog::load(
        vec![
            (root().join("data/communes-gironde.geojson"), LoadOptions::default()),
            (root().join("data/points-collecte-synthetiques.geojson"), LoadOptions::default()),
        ],
        2,
    ));
    state
}

async fn get(
    state: &AppState,
    uri: &str,
    headers: &[(header::HeaderName, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(k, *v);
    }
    let resp = app(state.clone()).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let (parts, body) = resp.into_parts();
    (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
}

const CHROME_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

#[tokio::test]
async fn root_serves_the_page_to_browsers_and_the_landing_json_to_api_clients() {
    let state = demo_state(ServerOptions::default());
    let (status, h, body) = get(&state, "/", &[(header::ACCEPT, CHROME_ACCEPT)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("assets/maplibre-gl.css") && html.contains("assets/app.js"), "{html}");
    assert!(!html.contains("http://") && !html.contains("https://"), "the page must not load anything from elsewhere");

    for uri in ["/", "/?f=json"] {
        let (status, h, body) =
            get(&state, uri, &[(header::ACCEPT, if uri == "/" { "*/*" } else { CHROME_ACCEPT })]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(h[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(v["links"].as_array().unwrap().iter().any(|l| l["rel"] == "conformance"));
    }
}

#[tokio::test]
async fn assets_are_embedded_gzipped_once_and_revalidated_with_etags() {
    let state = demo_state(ServerOptions::default());
    let (status, h, raw) = get(&state, "/assets/maplibre-gl.mjs", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert!(raw.len() > 500_000, "MapLibre GL JS is {} bytes", raw.len());
    let (_, hz, gz) = get(&state, "/assets/maplibre-gl.mjs", &[(header::ACCEPT_ENCODING, "gzip")]).await;
    assert_eq!(hz[header::CONTENT_ENCODING], "gzip");
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut inflated).unwrap();
    assert_eq!(inflated, raw);
    let etag = h[header::ETAG].to_str().unwrap().to_string();
    let (status, _, body) = get(&state, "/assets/maplibre-gl.mjs", &[(header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());

    let (status, h, _) = get(&state, "/favicon.ico", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "image/svg+xml");
    let (status, _, body) = get(&state, "/assets/../Cargo.toml", &[]).await;
    assert!(status == StatusCode::NOT_FOUND || status == StatusCode::BAD_REQUEST, "{status}");
    let (status, _, body2) = get(&state, "/assets/nope.js", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let v: serde_json::Value = serde_json::from_slice(&body2).unwrap();
    assert!(v["known"].as_array().unwrap().iter().any(|k| k == "maplibre-gl.mjs"), "{v}");
    drop(body);
}

fn validate_style(style: &serde_json::Value) -> Result<String, String> {
    let mut child = Command::new("node")
        .arg(root().join("tests/node/validate-style.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node is needed for the style validator (run scripts/setup.sh)");
    child.stdin.take().unwrap().write_all(style.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// Every URL a style names: sources' tiles, glyphs, sprite.
fn urls(style: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    for s in style["sources"].as_object().unwrap().values() {
        for t in s["tiles"].as_array().into_iter().flatten() {
            out.push(t.as_str().unwrap().to_string());
        }
        if let Some(u) = s["url"].as_str() {
            out.push(u.to_string());
        }
    }
    for k in ["glyphs", "sprite"] {
        if let Some(u) = style[k].as_str() {
            out.push(u.to_string());
        }
    }
    out
}

#[tokio::test]
async fn style_json_validates_with_the_maplibre_style_spec_and_points_only_at_the_service() {
    let state =
        demo_state(ServerOptions { public_url: Some("https://carto.example.org".into()), ..Default::default() });
    let (status, _, body) = get(&state, "/style.json", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let style: serde_json::Value = serde_json::from_slice(&body).unwrap();
    validate_style(&style).unwrap_or_else(|e| panic!("style.json is invalid: {e}"));
    assert_eq!(style["version"], 8);
    let found = urls(&style);
    assert_eq!(found.len(), 3, "two tile sources and the glyphs: {found:?}");
    for u in &found {
        assert!(
            u.starts_with("https://carto.example.org/tiles/")
                || u == "https://carto.example.org/fonts/{fontstack}/{range}.pbf",
            "{u}"
        );
    }
    let ids: Vec<&str> = style["layers"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "background",
            "communes-gironde-fill",
            "communes-gironde-outline",
            "points-collecte-synthetiques-clusters",
            "points-collecte-synthetiques-points",
            "communes-gironde-labels",
            "points-collecte-synthetiques-cluster-counts",
            "points-collecte-synthetiques-names"
        ]
    );
    // Points are coloured by waste category with the taxonomy's colours.
    let colour = &style["layers"][4]["paint"]["circle-color"];
    assert_eq!(colour[0], "match");
    let glass = colour.as_array().unwrap().iter().position(|v| v == "glass").unwrap();
    assert_eq!(colour[glass + 1], "#2b8a3e");

    let (status, _, body) = get(&state, "/style.json?layers=communes-gironde", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let one: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(one["layers"].as_array().unwrap().len(), 4, "background, fill, outline, names");
    let (status, _, body) = get(&state, "/style.json?layers=nope", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(String::from_utf8_lossy(&body).contains("communes"));
}

#[tokio::test]
async fn styles_with_a_raster_or_vector_basemap_validate_too() {
    for kind in ["raster", "vector"] {
        let basemap = BasemapConfig {
            kind: kind.into(),
            tiles: vec!["https://tiles.example.org/{z}/{x}/{y}.png".into()],
            attribution: Some("© basemap".into()),
            tile_size: 256,
            minzoom: 0,
            maxzoom: 19,
        };
        basemap.validate().unwrap();
        let state = demo_state(ServerOptions {
            web: WebConfig { basemap: Some(basemap), ..Default::default() },
            ..Default::default()
        });
        let (_, _, body) = get(&state, "/style.json", &[]).await;
        let style: serde_json::Value = serde_json::from_slice(&body).unwrap();
        validate_style(&style).unwrap_or_else(|e| panic!("{kind} basemap style is invalid: {e}"));
        assert_eq!(style["sources"]["basemap"]["type"], kind);
        // The basemap is drawn first, under the data.
        assert_eq!(style["layers"][1]["source"], "basemap");
    }
    let bad = BasemapConfig {
        kind: "raster".into(),
        tiles: vec!["https://tiles.example.org/tile.png".into()],
        attribution: None,
        tile_size: 256,
        minzoom: 0,
        maxzoom: 19,
    };
    assert!(bad.validate().unwrap_err().to_string().contains("{z}"));
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn health(port: u16) -> bool {
    http_get(port, "/health").is_some_and(|(status, _)| status == 200)
}

#[test]
fn web_map_renders_every_layer_and_finds_glass_in_bordeaux_in_headless_chromium() {
    let port = free_port();
    // A store of its own, and an admin token made by the command line as a
    // user would (the page's map maker writes tables and maps).
    let data = common::temp_dir("web-store");
    let made = Command::new(env!("CARGO_BIN_EXE_tuilerie"))
        .args(["token", "create", "--role", "admin", "--name", "browser", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let token = String::from_utf8(made.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("tlr_") && token.len() == 68, "only the token on stdout: {token:?}");
    let child = Command::new(env!("CARGO_BIN_EXE_tuilerie"))
        .args(["serve", "--config"])
        .arg(root().join("data/tuilerie.toml"))
        .arg("--data-dir")
        .arg(&data)
        .env("TUILERIE_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _server = Server(child);
    let start = Instant::now();
    while !health(port) {
        assert!(start.elapsed() < Duration::from_secs(60), "server not ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    let artefacts = root().join("test-artifacts/browser");
    // The map maker uploads the real population CSV (joined on the INSEE code).
    let csv = gironde("population-33.csv");
    let out = Command::new("node")
        .arg(root().join("tests/node/browser.mjs"))
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(&artefacts)
        .arg(&csv)
        .arg(&token)
        .output()
        .expect("node is needed for the browser test (run scripts/setup.sh)");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "browser test failed:\n{report}\n{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert!(
        v["layers"]["communes"].as_u64().unwrap() > 0 && v["layers"]["points-collecte"].as_u64().unwrap() > 0,
        "{report}"
    );
    assert!(v["finder"]["items"].as_array().unwrap().len() == 5, "{report}");
    assert!(v["thematic"]["rendered"].as_u64().unwrap() > 0, "{report}");
    assert!(v["maker"]["status"].as_str().unwrap().contains("Jointure : 534 / 534"), "{report}");
    assert!(!v["labels"]["cluster-counts"].as_array().unwrap().is_empty(), "{report}");
    assert!(v["labels"]["labels"].as_array().unwrap().iter().any(|l| l == "Bordeaux"), "{report}");
    assert!(!v["labels"]["names"].as_array().unwrap().is_empty(), "{report}");
    // A full glass skip reported by a sensor left the finder within 2 s.
    assert!(v["live"]["ms"].as_u64().unwrap() < 2000, "{report}");
    for shot in [
        "map.png",
        "labels.png",
        "names.png",
        "finder.png",
        "popup.png",
        "live.png",
        "thematic.png",
        "map-maker.png",
        "phone-en.png",
    ] {
        let bytes = std::fs::read(artefacts.join(shot)).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{shot}");
    }
}
