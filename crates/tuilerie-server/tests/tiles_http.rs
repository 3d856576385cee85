//! Tile and TileJSON endpoints through `app(state).oneshot(request)`.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::response::Response;
use std::io::Read;
use tuilerie_geo::{Catalog, LoadOptions};
use tuilerie_server::{AppState, ServerOptions};

use common::demo;

mod common;

fn state_with(options: ServerOptions) -> AppState {
    let a = LoadOptions { id: Some(tuilerie_geo::LayerId::new("communes").unwrap()), ..Default::default() };
    let b = LoadOptions { id: Some(tuilerie_geo::LayerId::new("points").unwrap()), ..Default::default() };
    let catalog = Catalog::load(
        vec![(demo("communes-gironde.geojson"), a), (demo("points-collecte-synthetiques.geojson"), b)],
        2,
    );
    assert_eq!(catalog.layers().len(), 2, "{:?}", catalog.failed());
    AppState::ready(catalog, options)
}

async fn send(state: &AppState, req: Request<Body>) -> (Response, Vec<u8>) {
    let r = common::send(state, req).await;
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = r.status;
    *resp.headers_mut() = r.headers;
    (resp, r.body)
}

async fn get(state: &AppState, uri: &str) -> (Response, Vec<u8>) {
    send(state, Request::get(uri).body(Body::empty()).unwrap()).await
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

#[tokio::test]
async fn malformed_addresses_are_400_naming_the_parameter() {
    let s = state_with(ServerOptions::default());
    for (uri, param, text) in [
        ("/tiles/communes/x/1/1.mvt", "z", "z must be a non-negative integer"),
        ("/tiles/communes/23/1/1.mvt", "z", "zoom 23 is above the maximum 22"),
        ("/tiles/communes/1/-1/1.mvt", "x", "x must be a non-negative integer"),
        ("/tiles/communes/1/2/0.mvt", "x", "x = 2 is out of range for zoom 1"),
        ("/tiles/communes/1/0/2.mvt", "y", "y = 2 is out of range for zoom 1"),
        ("/tiles/communes/1/0/1.png", "extension", "unknown extension \"png\""),
        ("/tiles/communes/1/0/1", "y", "expected {y}.mvt"),
        ("/tiles/communes,/1/0/1.mvt", "layers", "empty layer id"),
        ("/tiles/communes,communes/1/0/1.mvt", "layers", "listed twice"),
    ] {
        let (r, b) = get(&s, uri).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{uri}");
        let j = json(&b);
        assert_eq!(j["parameter"], param, "{uri}: {j}");
        assert!(j["error"].as_str().unwrap().contains(text), "{uri}: {j}");
    }
}

#[tokio::test]
async fn unknown_paths_are_404_with_a_message_naming_them() {
    let s = state_with(ServerOptions::default());
    for uri in ["/nope", "/collections/communes/nope/deeper", "/tiles/communes/1/0"] {
        let (r, b) = get(&s, uri).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{uri}");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"), "{uri}");
        let j = json(&b);
        let message = j["error"].as_str().unwrap();
        assert!(message.contains(&format!("{uri:?}")) && message.contains("/openapi.json"), "{uri}: {j}");
    }
}

#[tokio::test]
async fn unknown_layers_are_404_listing_the_known_ones() {
    let s = state_with(ServerOptions::default());
    for uri in ["/tiles/nope/1/0/0.mvt", "/tiles/communes,nope/1/0/0.mvt", "/tiles/nope"] {
        let (r, b) = get(&s, uri).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{uri}");
        let j = json(&b);
        assert_eq!(j["error"], "unknown layer \"nope\"");
        assert_eq!(j["known"], serde_json::json!(["communes", "points"]));
    }
}

#[tokio::test]
async fn tiles_are_served_gzipped_with_etag_304_and_204_when_empty() {
    let s = state_with(ServerOptions::default());
    let uri = "/tiles/communes,points/10/508/369.mvt";
    let (plain, raw) = get(&s, uri).await;
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(plain.headers()[header::CONTENT_TYPE], "application/vnd.mapbox-vector-tile");
    assert_eq!(plain.headers()[header::CACHE_CONTROL], "public, max-age=3600");
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    let etag = plain.headers()[header::ETAG].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "strong ETag: {etag}");

    let (gz, zipped) =
        send(&s, Request::get(uri).header(header::ACCEPT_ENCODING, "gzip, br").body(Body::empty()).unwrap()).await;
    assert_eq!(gz.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(gz.headers()[header::ETAG].to_str().unwrap(), etag);
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&zipped[..]).read_to_end(&mut unzipped).unwrap();
    assert_eq!(unzipped, raw, "gzip holds the same tile");
    assert!(zipped.len() < raw.len());

    let (nm, body) =
        send(&s, Request::get(uri).header(header::IF_NONE_MATCH, &etag).body(Body::empty()).unwrap()).await;
    assert_eq!(nm.status(), StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());

    let (head, body) = send(&s, Request::head(uri).body(Body::empty()).unwrap()).await;
    assert_eq!(head.status(), StatusCode::OK);
    assert!(body.is_empty());

    // Mid-Atlantic: no feature.
    let (empty, body) = get(&s, "/tiles/communes,points/10/400/369.mvt").await;
    assert_eq!(empty.status(), StatusCode::NO_CONTENT);
    assert!(body.is_empty());
}

#[tokio::test]
async fn layers_are_left_out_below_their_minzoom() {
    let mut o = LoadOptions::default();
    o.tiles.minzoom = 8;
    let catalog = Catalog::load(vec![(demo("points-collecte-synthetiques.geojson"), o)], 1);
    let s = AppState::ready(catalog, ServerOptions::default());
    let (r, _) = get(&s, "/tiles/points-collecte-synthetiques/7/63/45.mvt").await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (r, _) = get(&s, "/tiles/points-collecte-synthetiques/8/127/92.mvt").await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn overzoomed_tiles_are_cut_from_maxzoom_data() {
    let s = state_with(ServerOptions::default());
    // z18 over Bordeaux (maxzoom 14): still the commune polygon.
    let (r, b) = get(&s, "/tiles/communes/18/130648/94480.mvt").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!b.is_empty());
}

#[tokio::test]
async fn tilejson_urls_are_absolute_from_forwarded_headers_or_public_url() {
    let s = state_with(ServerOptions::default());
    let (r, b) = send(
        &s,
        Request::get("/tiles/communes,points")
            .header("host", "internal:8080")
            .header("x-forwarded-host", "tiles.gironde.fr")
            .header("x-forwarded-proto", "https")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    // The answer depends on the forwarded headers: shared caches must know.
    let vary: Vec<&str> = r.headers().get_all("vary").iter().filter_map(|v| v.to_str().ok()).collect();
    assert!(vary.iter().any(|v| v.contains("X-Forwarded-Host")), "{vary:?}");
    let j = json(&b);
    assert_eq!(j["tilejson"], "3.0.0");
    assert_eq!(j["tiles"][0], "https://tiles.gironde.fr/tiles/communes,points/{z}/{x}/{y}.mvt");
    assert_eq!(j["minzoom"], 0);
    assert_eq!(j["maxzoom"], 14);
    let bounds: Vec<f64> = serde_json::from_value(j["bounds"].clone()).unwrap();
    assert!((bounds[0] + 1.26).abs() < 0.01 && (bounds[3] - 45.6).abs() < 0.01, "{bounds:?}");
    // The centre is the middle of the bounds, without float noise.
    for (i, c) in [(0, &j["center"][0]), (1, &j["center"][1])] {
        let middle = ((bounds[i] + bounds[i + 2]) / 2.0 * 1e7).round() / 1e7;
        assert_eq!(c.to_string(), middle.to_string(), "{}", j["center"]);
        assert!(c.to_string().split('.').nth(1).is_some_and(|d| d.len() <= 7), "{c}");
    }
    assert_eq!(j["vector_layers"][0]["id"], "communes");
    assert_eq!(j["vector_layers"][0]["fields"]["population"], "Number");
    assert_eq!(j["vector_layers"][1]["fields"]["point_count"], "Number");

    let (_, b) =
        send(&s, Request::get("/tiles/communes").header("host", "127.0.0.1:9").body(Body::empty()).unwrap()).await;
    assert_eq!(json(&b)["tiles"][0], "http://127.0.0.1:9/tiles/communes/{z}/{x}/{y}.mvt");

    let s = state_with(ServerOptions {
        public_url: Some("https://carto.example.org/api".into()),
        attribution: Some("© IGN".into()),
        ..Default::default()
    });
    let (_, b) = get(&s, "/tiles/points").await;
    let j = json(&b);
    assert_eq!(j["tiles"][0], "https://carto.example.org/api/tiles/points/{z}/{x}/{y}.mvt");
    assert_eq!(j["attribution"], "© IGN");
}

#[tokio::test]
async fn cors_allows_any_origin_by_default() {
    let s = state_with(ServerOptions::default());
    let (r, _) = send(
        &s,
        Request::get("/tiles/communes/10/508/369.mvt")
            .header("origin", "https://example.org")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}

#[tokio::test]
async fn the_cache_is_keyed_by_data_version() {
    let s = state_with(ServerOptions::default());
    let uri = "/tiles/points/10/508/369.mvt";
    let (a, _) = get(&s, uri).await;
    let etag_a = a.headers()[header::ETAG].clone();
    // A reload with other data under the same id must not serve the old tile.
    let o = LoadOptions { id: Some(tuilerie_geo::LayerId::new("points").unwrap()), ..Default::default() };
    let catalog = Catalog::load(vec![(demo("communes-gironde.geojson"), o)], 1);
    s.set_catalog(catalog);
    let (b, _) = get(&s, uri).await;
    assert_ne!(b.headers()[header::ETAG], etag_a);
}

#[tokio::test]
async fn tile_paths_keep_route_behaviour_outside_the_router() {
    // Tiles are served by the router's fallback (no parameter map per
    // request); paths and methods answer as the route did.
    let s = state_with(ServerOptions::default());
    let uri = "/tiles/communes/10/509/369.mvt";
    let (full, body) = get(&s, uri).await;
    assert_eq!(full.status(), StatusCode::OK);
    let (head, empty) = send(&s, Request::head(uri).body(Body::empty()).unwrap()).await;
    assert_eq!(head.status(), StatusCode::OK);
    assert!(empty.is_empty());
    assert_eq!(head.headers()[header::CONTENT_LENGTH].to_str().unwrap(), body.len().to_string());
    assert_eq!(head.headers()[header::ETAG], full.headers()[header::ETAG]);
    let (post, _) = send(&s, Request::post(uri).body(Body::empty()).unwrap()).await;
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers()[header::ALLOW], "GET,HEAD");
    for missing in [
        "/tiles/communes/10/509",
        "/tiles/communes/10/509/369.mvt/x",
        "/tiles//10/509/369.mvt",
        "/nowhere",
        "/tiles/communes/10//369.mvt",
    ] {
        let (r, _) = get(&s, missing).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{missing}");
    }
    // CORS applies to the fallback too.
    assert_eq!(full.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}

/// Glyph ranges decode with the independent `pbf` reader and hold the
/// letters French and Spanish labels need, with buffered bitmaps; the
/// style points at them; bad requests name what is wrong.
#[tokio::test]
async fn glyph_ranges_decode_and_hold_the_letters_labels_need() {
    let s = state_with(ServerOptions::default());
    let dir = common::temp_dir("glyphs");
    let mut files = Vec::new();
    for range in ["0-255", "256-511", "8192-8447"] {
        let uri = format!("/fonts/Open%20Sans%20Regular,DejaVu%20Sans%20Book/{range}.pbf");
        let r =
            common::send(&s, Request::get(&uri).header("accept-encoding", "gzip").body(Body::empty()).unwrap()).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        assert_eq!(r.header("content-type"), "application/x-protobuf");
        assert_eq!(r.header("content-encoding"), "gzip");
        assert!(!r.header("etag").is_empty());
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&r.body[..]), &mut raw).unwrap();
        let f = dir.join(format!("{range}.pbf"));
        std::fs::write(&f, raw).unwrap();
        files.push(f);
    }
    let (ok, out) = common::node("decode-glyphs.mjs", &files, None);
    assert!(ok, "{out}");
    let ranges: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let ids = |i: usize| -> Vec<u64> {
        ranges[i][0]["glyphs"].as_array().unwrap().iter().map(|g| g["id"].as_u64().unwrap()).collect()
    };
    assert_eq!(ranges[0][0]["name"], "DejaVu Sans Book", "the unknown font of the stack is skipped");
    assert_eq!(ranges[0][0]["range"], "0-255");
    for ch in ['a', 'Z', '0', 'é', 'è', 'à', 'ç', 'ñ', 'ü', '«', '»', '°'] {
        assert!(ids(0).contains(&(ch as u64)), "{ch}");
    }
    for ch in ['œ', 'Œ', 'ł'] {
        assert!(ids(1).contains(&(ch as u64)), "{ch}");
    }
    for ch in ['–', '’', '…', '\u{202f}'] {
        assert!(ids(2).contains(&(ch as u64)), "{ch:?}");
    }
    for g in ranges[0][0]["glyphs"].as_array().unwrap() {
        let (w, h) = (g["width"].as_u64().unwrap(), g["height"].as_u64().unwrap());
        let expected = if w == 0 || h == 0 { 0 } else { (w + 6) * (h + 6) };
        assert_eq!(g["bitmap"].as_u64().unwrap(), expected, "{g}");
    }
    // The list, the style's glyphs URL, and refusals.
    let r = common::send(&s, Request::get("/fonts").header("host", "t.test").body(Body::empty()).unwrap()).await;
    assert_eq!(r.json()["fonts"], serde_json::json!(["DejaVu Sans Book", "DejaVu Sans Bold"]));
    let r = common::send(&s, Request::get("/style.json").header("host", "t.test").body(Body::empty()).unwrap()).await;
    let style = r.json();
    assert_eq!(style["glyphs"], "http://t.test/fonts/{fontstack}/{range}.pbf");
    let symbols: Vec<&serde_json::Value> =
        style["layers"].as_array().unwrap().iter().filter(|l| l["type"] == "symbol").collect();
    assert!(symbols.iter().all(|l| l["layout"]["text-font"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f == "DejaVu Sans Book" || f == "DejaVu Sans Bold")));
    // Labels come after every fill, line and circle.
    let kinds: Vec<&str> = style["layers"].as_array().unwrap().iter().map(|l| l["type"].as_str().unwrap()).collect();
    let first_symbol = kinds.iter().position(|k| *k == "symbol").unwrap();
    assert!(kinds[first_symbol..].iter().all(|k| *k == "symbol"), "{kinds:?}");
    let last_fill = kinds.iter().rposition(|k| *k == "fill").unwrap();
    let first_circle = kinds.iter().position(|k| *k == "circle").unwrap();
    assert!(last_fill < first_circle, "{kinds:?}");
    for (uri, status, word) in [
        ("/fonts/DejaVu%20Sans%20Book/0-200.pbf", StatusCode::NOT_FOUND, "range"),
        ("/fonts/DejaVu%20Sans%20Book/65536-65791.pbf", StatusCode::NOT_FOUND, "range"),
        ("/fonts/Comic%20Sans/0-255.pbf", StatusCode::NOT_FOUND, "DejaVu Sans Book"),
    ] {
        let r = common::send(&s, Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(r.status, status, "{uri}");
        assert!(String::from_utf8_lossy(&r.body).contains(word), "{uri}");
    }
}
