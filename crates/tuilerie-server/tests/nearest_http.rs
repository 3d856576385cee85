//! `/nearest`, `/waste-categories` and OGC API Features over the demo data.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use axum::body::Body;
use axum::http::{Request, StatusCode};
use std::collections::HashSet;
use tuilerie_server::AppState;

mod common;

fn state() -> AppState {
    common::demo_state()
}

async fn get(s: &AppState, uri: &str) -> (StatusCode, String, serde_json::Value) {
    common::get_json(s, uri).await
}

#[tokio::test]
async fn nearest_returns_sorted_geojson_with_distances_and_filters() {
    let s = state();
    let (st, ct, j) = get(&s, "/nearest?lon=-0.5792&lat=44.8378&k=3&accepts=verre").await;
    assert_eq!(st, StatusCode::OK, "{j}");
    assert_eq!(ct, "application/geo+json");
    assert_eq!(j["type"], "FeatureCollection");
    let f = j["features"].as_array().unwrap();
    assert_eq!(f.len(), 3);
    let d: Vec<f64> = f.iter().map(|f| f["properties"]["distance_m"].as_f64().unwrap()).collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "{d:?}");
    for f in f {
        let p = &f["properties"];
        assert!(p["accepts"].as_array().unwrap().contains(&serde_json::json!("glass")));
        assert_eq!(p["layer"], "points", "communes are not a point layer");
        assert!(p["bearing_deg"].as_f64().unwrap() >= 0.0 && p["bearing_deg"].as_f64().unwrap() < 360.0);
        assert!(p.get("open_now").is_some() && p.get("next_change").is_some());
        assert_eq!(f["geometry"]["type"], "Point");
    }
    assert_eq!(j["query"]["accepts"], serde_json::json!(["glass"]));

    let (_, _, j) = get(&s, "/nearest?lon=-0.5792&lat=44.8378&k=50&type=centre&open=2026-12-01T10:00:00%2B01:00").await;
    for f in j["features"].as_array().unwrap() {
        assert_eq!(f["properties"]["recycling_type"], "centre");
        assert_eq!(f["properties"]["open_now"], true);
    }
    let (_, _, j) = get(&s, "/nearest?lon=-0.5792&lat=44.8378&k=1000&max_distance=1500").await;
    for f in j["features"].as_array().unwrap() {
        assert!(f["properties"]["distance_m"].as_f64().unwrap() <= 1500.0);
    }
}

#[tokio::test]
async fn bad_nearest_parameters_are_400_naming_the_parameter() {
    let s = state();
    for (q, param, text) in [
        ("lat=44", "lon", "lon is required"),
        ("lon=abc&lat=44", "lon", "lon must be a number"),
        ("lon=-0.5&lat=95", "lat", "outside [-90, 90]"),
        ("lon=200&lat=44", "lon", "outside [-180, 180]"),
        ("lon=-0.5&lat=44&k=0", "k", "from 1 to 1000"),
        ("lon=-0.5&lat=44&k=1001", "k", "from 1 to 1000"),
        ("lon=-0.5&lat=44&accepts=frigoo", "accepts", "did you mean frigo"),
        ("lon=-0.5&lat=44&open=tomorrow", "open", "RFC 3339"),
        ("lon=-0.5&lat=44&max_distance=-3", "max_distance", "positive"),
        ("lon=-0.5&lat=44&type=bin", "type", "container"),
    ] {
        let (st, _, j) = get(&s, &format!("/nearest?{q}")).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{q}: {j}");
        assert_eq!(j["parameter"], param, "{q}: {j}");
        assert!(j["error"].as_str().unwrap().contains(text), "{q}: {j}");
    }
    // Hostile lengths are refused by name; they used to cost 1.5 s of CPU
    // each (the edit distance of a 60,000-character word to every synonym).
    let long = "x".repeat(60_000);
    for uri in [format!("/nearest?lon=-0.5&lat=44&accepts={long}"), format!("/waste-categories?q={long}")] {
        let (st, _, j) = get(&s, &uri).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{j}");
        assert!(j["error"].as_str().unwrap().contains("at most 100 characters"), "{j}");
    }
    let (st, _, j) = get(&s, "/nearest?lon=-0.5&lat=44&layers=nope").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(j["known"], serde_json::json!(["communes", "points"]));
}

#[tokio::test]
async fn waste_categories_list_and_resolve_words() {
    let s = state();
    let (st, _, j) = get(&s, "/waste-categories").await;
    assert_eq!(st, StatusCode::OK);
    assert!(j["categories"].as_array().unwrap().len() >= 15);
    let (_, _, j) = get(&s, "/waste-categories?q=Frigo").await;
    assert_eq!(j["categories"][0]["id"], "electronics");
    assert!(j["categories"][0]["keys"].as_array().unwrap().contains(&serde_json::json!("fridge_and_freezer")));
    let (_, _, j) = get(&s, "/waste-categories?q=r%C3%A9frig%C3%A9rateur").await;
    assert_eq!(j["categories"][0]["id"], "electronics");
    let (_, _, j) = get(&s, "/waste-categories?q=klingon").await;
    assert!(j["categories"].as_array().unwrap().is_empty());
    assert!(!j["suggestions"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn ogc_paging_returns_every_feature_exactly_once() {
    let s = state();
    let (st, _, land) = get(&s, "/").await;
    assert_eq!(st, StatusCode::OK);
    let rels: Vec<&str> = land["links"].as_array().unwrap().iter().map(|l| l["rel"].as_str().unwrap()).collect();
    for r in ["self", "service-desc", "conformance", "data"] {
        assert!(rels.contains(&r), "{rels:?}");
    }
    let (_, _, c) = get(&s, "/conformance").await;
    assert!(c["conformsTo"].as_array().unwrap().iter().any(|v| v.as_str().unwrap().ends_with("/conf/core")));
    let (_, _, cols) = get(&s, "/collections").await;
    assert_eq!(cols["collections"][1]["id"], "points");
    let total = 4054;
    let mut seen = HashSet::new();
    let mut next = Some("http://t.test/collections/points/items?limit=1000".to_string());
    let mut pages = 0;
    while let Some(url) = next.take() {
        let path = url.strip_prefix("http://t.test").unwrap();
        let (st, ct, page) = get(&s, path).await;
        assert_eq!(st, StatusCode::OK, "{page}");
        assert_eq!(ct, "application/geo+json");
        assert_eq!(page["numberMatched"], total);
        let feats = page["features"].as_array().unwrap();
        assert_eq!(page["numberReturned"].as_u64().unwrap() as usize, feats.len());
        for f in feats {
            assert!(seen.insert(f["id"].to_string()), "feature {} twice", f["id"]);
        }
        next = page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| l["href"].as_str().unwrap().to_string());
        pages += 1;
    }
    assert_eq!(seen.len(), total);
    assert_eq!(pages, 5);
    // Filters and bbox.
    let (_, _, j) =
        get(&s, "/collections/points/items?bbox=-0.7,44.7,-0.5,44.9&recycling_type=centre&limit=10000").await;
    for f in j["features"].as_array().unwrap() {
        assert_eq!(f["properties"]["recycling_type"], "centre");
        let c = &f["geometry"]["coordinates"];
        assert!((-0.7..=-0.5).contains(&c[0].as_f64().unwrap()) && (44.7..=44.9).contains(&c[1].as_f64().unwrap()));
    }
    let (_, _, j) = get(&s, "/collections/points/items?accepts=piles&limit=5").await;
    assert!(j["numberMatched"].as_u64().unwrap() > 0);
    for f in j["features"].as_array().unwrap() {
        assert_eq!(f["properties"]["recycling:batteries"], "yes", "{f}");
    }
    let id = j["features"][0]["id"].to_string();
    let (st, _, one) = get(&s, &format!("/collections/points/items/{id}")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(one["id"].to_string(), id);
}

#[tokio::test]
async fn bad_ogc_parameters_are_400_and_unknown_items_404() {
    let s = state();
    for (q, param) in [
        ("bbox=1,2,3", "bbox"),
        ("bbox=0,50,1,40", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("limit=0", "limit"),
        ("offset=-1", "offset"),
        ("colour=red", "colour"),
        ("accepts=zzzz", "accepts"),
        ("crs=garbage", "crs"),
        ("bbox-crs=EPSG:9999&bbox=0,40,1,50", "bbox-crs"),
        ("datetime=garbage", "datetime"),
        ("datetime=../..", "datetime"),
        ("datetime=2024-13-01", "datetime"),
        ("f=xml", "f"),
    ] {
        let (st, _, j) = get(&s, &format!("/collections/points/items?{q}")).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(j["parameter"], param, "{q}: {j}");
    }
    // A valid datetime on a layer without a time property: 400 saying how
    // to name one (ogc_http.rs tests a layer with one).
    let (st, _, j) = get(&s, "/collections/points/items?datetime=2024-05-01").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(j["error"].as_str().unwrap().contains("time_field"), "{j}");
    // What the standard allows: CRS84 named.
    for q in [
        "crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        "bbox-crs=http://www.opengis.net/def/crs/OGC/1.3/CRS84&bbox=-1,44,0,45",
        "f=json",
    ] {
        let (st, _, j) = get(&s, &format!("/collections/points/items?{q}")).await;
        assert_eq!(st, StatusCode::OK, "{q}: {j}");
    }
    let (st, _, j) = get(&s, "/collections/points/items?limit=99999").await;
    assert_eq!(st, StatusCode::OK, "a limit above the maximum is clamped");
    assert_eq!(j["numberReturned"], 4054);
    let (st, _, _) = get(&s, "/collections/points/items/999999999").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, _) = get(&s, "/collections/nope/items").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn items_carry_their_links_in_a_link_header_too() {
    let s = state();
    let req = |uri: &str| Request::get(uri).header("host", "t.test").body(Body::empty()).unwrap();
    let r = common::send(&s, req("/collections/points/items?limit=10&offset=20")).await;
    assert_eq!(r.status, StatusCode::OK);
    let link = r.header("link");
    let body = r.json();
    let links = body["links"].as_array().unwrap();
    assert_eq!(links.len(), 3, "self, next, prev");
    for l in links {
        let part = format!(
            "<{}>; rel=\"{}\"; type=\"{}\"",
            l["href"].as_str().unwrap(),
            l["rel"].as_str().unwrap(),
            l["type"].as_str().unwrap()
        );
        assert!(link.contains(&part), "{part} in {link}");
    }
    let id =
        body["features"][0]["id"].as_str().map(String::from).unwrap_or_else(|| body["features"][0]["id"].to_string());
    let r = common::send(&s, req(&format!("/collections/points/items/{id}"))).await;
    assert_eq!(r.status, StatusCode::OK);
    let link = r.header("link");
    assert!(
        link.contains("rel=\"self\"") && link.contains("<http://t.test/collections/points>; rel=\"collection\""),
        "{link}"
    );
}

#[tokio::test]
async fn item_properties_come_in_the_order_of_the_source_file() {
    // Each feature's properties in the order the file writes them (they
    // differ from feature to feature in this sparse layer), read with an
    // independent reader that keeps member order (Python's json module).
    let script = [
        "import json, sys",
        "d = json.load(open(sys.argv[1]))",
        "print(json.dumps([list(f['properties']) for f in d['features'][:5]]))",
    ]
    .join("\n");
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(common::root().join("data/points-collecte-synthetiques.geojson"))
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let expected: Vec<Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
    let s = state();
    let (status, _, v) = get(&s, "/collections/points/items?limit=5").await;
    assert_eq!(status, StatusCode::OK);
    let got: Vec<Vec<String>> = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"].as_object().unwrap().keys().cloned().collect())
        .collect();
    assert_eq!(got, expected);
    assert_eq!(&got[0][..3], ["amenity", "recycling_type", "name"], "not alphabetical");
    // A single item too.
    let id = v["features"][1]["id"].to_string();
    let (_, _, one) = get(&s, &format!("/collections/points/items/{id}")).await;
    let keys: Vec<String> = one["properties"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, expected[1]);
}
