//! The write path in process: tokens and roles, OGC API Features Part 4
//! edits with ETags on the demo's editable collection points, validation
//! naming the member, edits visible in items, /nearest and tiles (only the
//! touched tiles change), replay after a restart, history and audit, maps
//! and tables stored and restored, a full store answering 503.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{demo, send, Reply, ADMIN, EDITOR};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tuilerie_server::{AppState, ServerOptions};

const POINTS: &str = "/collections/points-collecte/items";
const BORDEAUX: (f64, f64) = (-0.5792, 44.8378);

fn layers() -> Vec<tuilerie_server::config::LayerConfig> {
    vec![
        common::layer(demo("points-collecte-synthetiques.geojson"), "points-collecte", true),
        common::layer(demo("communes-gironde.geojson"), "communes", false),
    ]
}

async fn req(
    state: &AppState,
    method: &str,
    uri: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Reply {
    let mut r = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        r = r.header("authorization", format!("Bearer {t}"));
    }
    let has_type = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    if body.is_some() && !has_type {
        r = r.header("content-type", "application/geo+json");
    }
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let body = body.map_or(Body::empty(), |b| Body::from(b.to_string()));
    send(state, r.body(body).unwrap()).await
}

fn glass(name: &str, lon: f64, lat: f64) -> Value {
    json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
           "properties": {"name": name, "amenity": "recycling", "recycling_type": "container",
                          "recycling:glass_bottles": "yes", "opening_hours": "24/7"}})
}

/// Polls `f` until it holds, for at most a second (the visibility bound).
async fn within_a_second(mut f: impl AsyncFnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if f().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < Duration::from_secs(1), "not visible within one second");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn tile_of(z: u8, lon: f64, lat: f64) -> (u32, u32) {
    let (x, y) = tuilerie_geo::tiling::lonlat_to_world(lon, lat);
    let n = f64::from(1u32 << z);
    ((x * n) as u32, (y * n) as u32)
}

#[tokio::test]
async fn writes_need_the_right_token_and_say_what_is_missing() {
    let dir = common::temp_dir("auth");
    common::add_token(
        &dir,
        "tlr_scoped",
        "scoped",
        tuilerie_server::store::Role::Editor,
        Some(vec!["communes".into()]),
    );
    common::add_token(&dir, "tlr_sensor", "sensor", tuilerie_server::store::Role::Sensor, None);
    let state = common::with_store_in(&dir, &layers(), ServerOptions::default());
    let f = Some(glass("x", BORDEAUX.0, BORDEAUX.1));
    let r = req(&state, "POST", POINTS, Some("tlr_unknown"), &[], f.clone()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.header("www-authenticate").starts_with("Bearer"), "{:?}", r.headers);
    let r = req(&state, "POST", POINTS, Some("tlr_scoped"), &[], f.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json());
    assert!(r.json()["error"].as_str().unwrap().contains("scoped to layer \"points-collecte\""), "{}", r.json());
    let r = req(&state, "POST", POINTS, Some("tlr_sensor"), &[], f.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = req(&state, "DELETE", "/maps/x", Some(EDITOR), &[], None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.json()["error"].as_str().unwrap().contains("maps"), "{}", r.json());
    let r = req(&state, "GET", "/changes", Some(EDITOR), &[], None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A read-only collection: 405 naming the configuration key.
    let r = req(&state, "POST", "/collections/communes/items", Some(ADMIN), &[], f.clone()).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.json()["error"].as_str().unwrap().contains("editable = true"));
    // OPTIONS says what this token may do.
    let r = req(&state, "OPTIONS", &format!("{POINTS}/1"), Some(EDITOR), &[], None).await;
    assert_eq!(r.header("allow"), "GET, HEAD, OPTIONS, PUT, PATCH, DELETE");
    let r = req(&state, "OPTIONS", POINTS, None, &[], None).await;
    assert_eq!(r.header("allow"), "GET, HEAD, OPTIONS");
    let r = req(&state, "OPTIONS", POINTS, Some("tlr_scoped"), &[], None).await;
    assert_eq!(r.header("allow"), "GET, HEAD, OPTIONS");
    // A token created from another process works at its first use.
    common::add_token(&dir, "tlr_fresh", "fresh", tuilerie_server::store::Role::Editor, None);
    // (Unknown tokens read the tokens again at most every 10 ms.)
    tokio::time::sleep(Duration::from_millis(20)).await;
    let r = req(&state, "POST", POINTS, Some("tlr_fresh"), &[], f.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
    // A token revoked from another process is refused within a second.
    let store = tuilerie_server::store::sqlite::SqliteStore::open(&dir).unwrap();
    use tuilerie_server::store::Store;
    assert!(store.revoke_token("test-editor", &tuilerie_server::store::now()).unwrap());
    within_a_second(async || {
        req(&state, "POST", POINTS, Some(EDITOR), &[], f.clone()).await.status == StatusCode::UNAUTHORIZED
    })
    .await;
}

#[tokio::test]
async fn the_edit_cycle_follows_part_4_with_etags() {
    let state = common::with_store(&layers(), ServerOptions::default());
    let r = req(&state, "POST", POINTS, Some(EDITOR), &[], Some(glass("Verre du test", BORDEAUX.0, BORDEAUX.1))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
    let location = r.header("location");
    let id = r.json()["id"].as_str().unwrap().to_string();
    assert!(location.ends_with(&format!("{POINTS}/{id}")), "{location}");
    let etag = r.header("etag");
    assert!(etag.starts_with('"'), "strong ETag: {etag}");
    let item = format!("{POINTS}/{id}");
    let got = req(&state, "GET", &item, None, &[], None).await;
    assert_eq!(got.header("etag"), etag, "{} {}", got.status, got.json());
    assert_eq!(got.json()["properties"]["name"], "Verre du test");

    // PATCH: If-Match required, then a merge patch (null removes).
    let patch = json!({"properties": {"name": "Verre Quinconces", "opening_hours": null}});
    let ct = ("content-type", "application/merge-patch+json");
    let r = req(&state, "PATCH", &item, Some(EDITOR), &[ct], Some(patch.clone())).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_REQUIRED);
    let r = req(&state, "PATCH", &item, Some(EDITOR), &[ct, ("if-match", &etag)], Some(patch.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json());
    assert_eq!(r.json()["properties"]["name"], "Verre Quinconces");
    assert!(r.json()["properties"].get("opening_hours").is_none());
    let etag2 = r.header("etag");
    assert_ne!(etag2, etag);
    // The old ETag is stale: 412 with the current one.
    let r = req(&state, "PATCH", &item, Some(EDITOR), &[ct, ("if-match", &etag)], Some(patch.clone())).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(r.json()["etag"], etag2.as_str());
    // The id cannot change; a merge patch needs its media type.
    let r = req(&state, "PATCH", &item, Some(EDITOR), &[ct, ("if-match", &etag2)], Some(json!({"id": "other"}))).await;
    assert_eq!((r.status, r.json()["parameter"].clone()), (StatusCode::BAD_REQUEST, json!("id")));
    let r = req(&state, "PATCH", &item, Some(EDITOR), &[("if-match", &etag2)], Some(patch)).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // PUT replaces whole; DELETE; then 404.
    let moved = glass("Verre déplacé", -0.57, 44.84);
    let r = req(&state, "PUT", &item, Some(EDITOR), &[("if-match", &etag2)], Some(moved)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json());
    assert_eq!(r.json()["geometry"]["coordinates"], json!([-0.57, 44.84]));
    let etag3 = r.header("etag");
    let r = req(&state, "DELETE", &item, Some(EDITOR), &[("if-match", "\"e0\"")], None).await;
    assert_eq!(r.status, StatusCode::PRECONDITION_FAILED);
    let r = req(&state, "DELETE", &item, Some(EDITOR), &[("if-match", &etag3)], None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_ne!(r.header("etag"), etag3);
    assert_eq!(req(&state, "GET", &item, None, &[], None).await.status, StatusCode::NOT_FOUND);

    // History and the audit log: every step, with the token's name.
    let h = req(&state, "GET", &format!("{item}/history"), None, &[], None).await.json();
    let ops: Vec<&str> = h["changes"].as_array().unwrap().iter().map(|c| c["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["create", "update", "replace", "delete"]);
    assert_eq!(h["changes"][1]["before"]["properties"]["name"], "Verre du test");
    assert_eq!(h["changes"][1]["after"]["properties"]["name"], "Verre Quinconces");
    let all = req(&state, "GET", "/changes?layer=points-collecte&limit=2", Some(ADMIN), &[], None).await.json();
    assert_eq!(all["changes"].as_array().unwrap().len(), 2);
    assert_eq!(all["changes"][0]["token"], "test-editor");
    let next = all["links"].as_array().unwrap().iter().find(|l| l["rel"] == "next").unwrap()["href"].as_str().unwrap();
    assert!(next.contains("since="), "{next}");
}

#[tokio::test]
async fn invalid_features_are_refused_naming_the_member() {
    let state = common::with_store(&layers(), ServerOptions::default());
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"type": "FeatureCollection", "features": []}), "type", "Feature"),
        (json!({"type": "Feature", "geometry": null, "properties": {}}), "geometry", "needs a geometry"),
        (
            json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}),
            "geometry",
            "Point",
        ),
        (
            json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.5, 95]}}),
            "geometry.coordinates",
            "latitude",
        ),
        (
            json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.5, 44.8]}, "properties": {"opening_hours": "Mo-Zz 25:00"}}),
            "properties.opening_hours",
            "does not parse",
        ),
        (
            json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.5, 44.8]}, "properties": {"recycling:glass_bottles": "oui"}}),
            "properties.recycling:glass_bottles",
            "\"yes\" or \"no\"",
        ),
        (
            json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.5, 44.8]}, "properties": {"name": 12}}),
            "properties.name",
            "a string",
        ),
    ];
    for (body, member, words) in cases {
        let r = req(&state, "POST", POINTS, Some(EDITOR), &[], Some(body.clone())).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.json()["parameter"], member, "{body}: {}", r.json());
        assert!(r.json()["error"].as_str().unwrap().contains(words), "{body}: {}", r.json());
    }
    let f = Some(glass("x", -0.5, 44.8));
    let r = req(
        &state,
        "POST",
        POINTS,
        Some(EDITOR),
        &[("content-crs", "<http://www.opengis.net/def/crs/EPSG/0/2154>")],
        f.clone(),
    )
    .await;
    assert_eq!((r.status, r.json()["parameter"].clone()), (StatusCode::BAD_REQUEST, json!("Content-Crs")));
    let r = req(&state, "POST", POINTS, Some(EDITOR), &[("content-type", "text/plain")], f).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Bodies over 64 KiB are checked off the request threads, the same way.
    let mut big = glass("gros", -0.5, 44.8);
    big["properties"]["note"] = json!("x".repeat(100_000));
    big["properties"]["recycling:glass_bottles"] = json!("oui");
    let r = req(&state, "POST", POINTS, Some(EDITOR), &[], Some(big.clone())).await;
    assert_eq!(
        (r.status, r.json()["parameter"].clone()),
        (StatusCode::BAD_REQUEST, json!("properties.recycling:glass_bottles"))
    );
    let big_patch = json!({"properties": {"note": "y".repeat(100_000), "opening_hours": "Mo-Zz"}});
    let ct = ("content-type", "application/merge-patch+json");
    let r = req(&state, "PATCH", &format!("{POINTS}/1"), Some(EDITOR), &[ct, ("if-match", "*")], Some(big_patch)).await;
    assert_eq!((r.status, r.json()["parameter"].clone()), (StatusCode::BAD_REQUEST, json!("properties.opening_hours")));
    // Nothing of the refused requests was stored.
    let all = req(&state, "GET", "/changes", Some(ADMIN), &[], None).await.json();
    assert_eq!(all["changes"].as_array().unwrap().len(), 0);
    big["properties"]["recycling:glass_bottles"] = json!("yes");
    let r = req(&state, "POST", POINTS, Some(EDITOR), &[], Some(big)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
    assert_eq!(r.json()["properties"]["note"].as_str().unwrap().len(), 100_000);
}

#[tokio::test]
async fn an_edit_is_visible_in_items_nearest_and_only_the_tiles_it_touches() {
    let state = common::with_store(&layers(), ServerOptions::default());
    let count = |r: Reply| r.json()["numberMatched"].as_u64().unwrap();
    let before = count(req(&state, "GET", &format!("{POINTS}?limit=1"), None, &[], None).await);
    // Tiles cached before the edit: the one it lands in (z14, points as
    // they are; z5, clusters) and a far one.
    let (x14, y14) = tile_of(14, BORDEAUX.0, BORDEAUX.1);
    let (x5, y5) = tile_of(5, BORDEAUX.0, BORDEAUX.1);
    let here14 = format!("/tiles/points-collecte/14/{x14}/{y14}.mvt");
    let here5 = format!("/tiles/points-collecte/5/{x5}/{y5}.mvt");
    let (fx, fy) = tile_of(14, -0.13365, 45.008765);
    let far14 = format!("/tiles/points-collecte/14/{fx}/{fy}.mvt");
    let etag = async |uri: &str| req(&state, "GET", uri, None, &[], None).await.header("etag");
    let (e14, e5, efar) = (etag(&here14).await, etag(&here5).await, etag(&far14).await);
    assert!(!efar.is_empty(), "the far tile has points");
    // A thematic map counting the points per commune: its tile over
    // Bordeaux holds the count, which the edit changes.
    let map = json!({"id": "per-commune", "title": "Points", "layer": "communes", "value": {"count": "points-collecte"}, "classes": 3, "method": "quantile"});
    let r = req(&state, "POST", "/maps", Some(ADMIN), &[("content-type", "application/json")], Some(map)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
    let (mx, my) = tile_of(10, BORDEAUX.0, BORDEAUX.1);
    let map_tile = format!("/maps/per-commune/tiles/10/{mx}/{my}.mvt");
    let emap = etag(&map_tile).await;

    let r =
        req(&state, "POST", POINTS, Some(EDITOR), &[], Some(glass("Verre zzz-visible", BORDEAUX.0, BORDEAUX.1))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.json()["id"].as_str().unwrap().to_string();
    let nearest = format!("/nearest?lon={}&lat={}&k=1&accepts=verre&layers=points-collecte", BORDEAUX.0, BORDEAUX.1);
    within_a_second(async || {
        req(&state, "GET", &nearest, None, &[], None).await.json()["features"][0]["id"] == id.as_str()
    })
    .await;
    within_a_second(async || {
        let t = req(&state, "GET", &here14, None, &[], None).await;
        t.body.windows(17).any(|w| w == b"Verre zzz-visible")
    })
    .await;
    assert_eq!(count(req(&state, "GET", &format!("{POINTS}?limit=1"), None, &[], None).await), before + 1);
    assert_ne!(etag(&here14).await, e14, "the touched tile changed");
    assert_ne!(etag(&here5).await, e5, "the cluster counts of the touched low-zoom tile changed");
    assert_eq!(etag(&far14).await, efar, "a tile the edit does not touch keeps its ETag");
    within_a_second(async || etag(&map_tile).await != emap).await;
    // The edit was laid over the file's layer; once edits stop, the layer
    // is built in full again (compaction) and answers the same.
    let layer = || state.catalog().unwrap().get("points-collecte").unwrap().clone();
    assert!(layer().has_delta(), "an edit of a point layer is laid over it, not built in full");
    let start = Instant::now();
    while layer().has_delta() {
        assert!(start.elapsed() < Duration::from_secs(10), "not compacted after the edits stopped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count(req(&state, "GET", &format!("{POINTS}?limit=1"), None, &[], None).await), before + 1);
    assert_eq!(req(&state, "GET", &nearest, None, &[], None).await.json()["features"][0]["id"], id.as_str());
    assert_eq!(etag(&far14).await, efar, "compaction keeps the tiles it does not change");
}

#[tokio::test]
async fn edits_maps_and_tables_survive_a_restart_and_conflicts_are_kept() {
    let dir = common::temp_dir("restart");
    // A copy of the demo points the test may change, as a file would.
    let data = common::temp_dir("restart-data");
    let file = data.join("points.geojson");
    std::fs::copy(demo("points-collecte-synthetiques.geojson"), &file).unwrap();
    let layers = vec![
        common::layer(file.clone(), "points-collecte", true),
        common::layer(demo("communes-gironde.geojson"), "communes", false),
    ];
    let (created, moved_etag) = {
        let state = common::with_store_in(&dir, &layers, ServerOptions::default());
        let r = req(&state, "POST", POINTS, Some(EDITOR), &[], Some(glass("Persistant", -0.6, 44.9))).await;
        let created = r.json()["id"].as_str().unwrap().to_string();
        let etag = req(&state, "GET", &format!("{POINTS}/1"), None, &[], None).await.header("etag");
        let ct = ("content-type", "application/merge-patch+json");
        let r = req(
            &state,
            "PATCH",
            &format!("{POINTS}/1"),
            Some(EDITOR),
            &[ct, ("if-match", &etag)],
            Some(json!({"properties": {"name": "Renommé"}})),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        let r = req(&state, "POST", "/tables?id=t", Some(ADMIN), &[("content-type", "text/csv")], None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "an empty CSV body is refused");
        let csv = Request::post("/tables?id=pop")
            .header("content-type", "text/csv")
            .body(Body::from("code;n\n33063;10\n"))
            .unwrap();
        assert_eq!(send(&state, csv).await.status, StatusCode::CREATED);
        let map = json!({"id": "m", "title": "Points", "layer": "communes", "value": {"count": "points-collecte"}, "classes": 3, "method": "quantile"});
        let r = req(&state, "POST", "/maps", Some(ADMIN), &[("content-type", "application/json")], Some(map)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
        // Tables and maps are audited too, with the admin's token name.
        let log = req(&state, "GET", "/changes", Some(ADMIN), &[], None).await.json();
        let kinds: Vec<(String, String, String)> = log["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["kind"].as_str().unwrap().into(),
                    c["id"].as_str().unwrap().into(),
                    c["token"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert!(kinds.contains(&("table".into(), "pop".into(), "test-admin".into())), "{kinds:?}");
        assert!(kinds.contains(&("map".into(), "m".into(), "test-admin".into())), "{kinds:?}");
        (created, r.json()["classes"].clone())
    };
    let state = common::with_store_in(&dir, &layers, ServerOptions::default());
    let r = req(&state, "GET", &format!("{POINTS}/{created}"), None, &[], None).await;
    assert_eq!(r.json()["properties"]["name"], "Persistant");
    let r = req(&state, "GET", &format!("{POINTS}/1"), None, &[], None).await;
    assert_eq!(r.json()["properties"]["name"], "Renommé");
    assert_eq!(req(&state, "GET", "/tables/pop", None, &[], None).await.status, StatusCode::OK);
    let m = req(&state, "GET", "/maps/m", None, &[], None).await;
    assert_eq!(m.status, StatusCode::OK);
    assert_eq!(m.json()["classes"], moved_etag, "the restored map classifies as before");

    // The file loses feature 1: the edit is a conflict, kept, not lost.
    let mut fc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    fc["features"].as_array_mut().unwrap().retain(|f| f["id"] != 1);
    std::fs::write(&file, fc.to_string()).unwrap();
    let state = common::with_store_in(&dir, &layers, ServerOptions::default());
    let cat = req(&state, "GET", "/catalog", None, &[], None).await.json();
    let points = cat["layers"].as_array().unwrap().iter().find(|l| l["id"] == "points-collecte").unwrap().clone();
    assert_eq!(points["edits"]["conflicts"], json!(["1"]), "{points}");
    let h = req(&state, "GET", &format!("{POINTS}/1/history"), None, &[], None).await.json();
    assert_eq!(h["changes"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn configured_maps_are_read_only_and_a_full_store_answers_503_while_reads_go_on() {
    // A map of the configuration file cannot be replaced or deleted.
    let state = common::with_store(&layers(), ServerOptions::default());
    let def = json!({"id": "conf", "title": "Points", "layer": "communes", "value": {"count": "points-collecte"}, "classes": 3, "method": "quantile"});
    let file = std::path::Path::new("/etc/tuilerie.toml");
    tuilerie_server::loading::build_maps(&state, &[], vec![serde_json::from_value(def.clone()).unwrap()], Some(file));
    let r = req(&state, "DELETE", "/maps/conf", Some(ADMIN), &[], None).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.json()["error"].as_str().unwrap().contains("/etc/tuilerie.toml: remove it there"), "{}", r.json());
    let r = req(&state, "POST", "/maps", Some(ADMIN), &[("content-type", "application/json")], Some(def)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.json()["error"].as_str().unwrap().contains("change it there"), "{}", r.json());

    let dir = common::temp_dir("full");
    drop(common::with_store_in(&dir, &layers(), ServerOptions::default()));
    // The same store bounded to its current size: full, as a full disk.
    let size = std::fs::metadata(dir.join("tuilerie.db")).unwrap().len();
    let store = std::sync::Arc::new(tuilerie_server::store::sqlite::SqliteStore::open_with(&dir, Some(size)).unwrap());
    let writes = tuilerie_server::edits::Writes::open(store, Default::default()).unwrap();
    let state = AppState::with_writes(ServerOptions::default(), Some(writes));
    let catalog = tuilerie_server::loading::load_catalog(&layers(), false);
    state.set_catalog(tuilerie_server::loading::apply_edits(&state, catalog, &layers()));
    let mut refused = None;
    for i in 0..200 {
        let big = "x".repeat(4000);
        let mut f = glass(&format!("{i}{big}"), -0.6, 44.9);
        f["properties"]["note"] = json!(big);
        let r = req(&state, "POST", POINTS, Some(EDITOR), &[], Some(f)).await;
        if r.status != StatusCode::CREATED {
            refused = Some(r);
            break;
        }
    }
    let r = refused.expect("the bounded store fills up");
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.json());
    assert!(r.json()["error"].as_str().unwrap().contains("full"), "{}", r.json());
    assert_eq!(req(&state, "GET", &format!("{POINTS}?limit=1"), None, &[], None).await.status, StatusCode::OK);
    assert_eq!(req(&state, "GET", "/nearest?lon=-0.6&lat=44.9", None, &[], None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn osm_edits_export_as_an_osmchange_that_osmium_applies() {
    // A small Overpass-style layer (ids node/N, @version) and the same
    // nodes as an OSM file: what the export is applied to.
    let dir = common::temp_dir("osc");
    let nodes = [
        (101, -0.58, 44.84, "Colonne verre A"),
        (102, -0.57, 44.85, "Colonne verre B"),
        (103, -0.56, 44.86, "Colonne C"),
    ];
    let features: Vec<Value> = nodes
        .iter()
        .map(|(id, lon, lat, name)| {
            json!({"type": "Feature", "id": format!("node/{id}"), "geometry": {"type": "Point", "coordinates": [lon, lat]},
                   "properties": {"@id": format!("node/{id}"), "@version": 3, "amenity": "recycling", "name": name}})
        })
        .collect();
    let file = dir.join("osm.geojson");
    std::fs::write(&file, json!({"type": "FeatureCollection", "features": features}).to_string()).unwrap();
    let mut base = String::from("<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\">\n");
    for (id, lon, lat, name) in nodes {
        use std::fmt::Write;
        let _ = writeln!(base, "<node id=\"{id}\" version=\"3\" lat=\"{lat}\" lon=\"{lon}\"><tag k=\"amenity\" v=\"recycling\"/><tag k=\"name\" v=\"{name}\"/></node>");
    }
    base.push_str("</osm>\n");
    std::fs::write(dir.join("base.osm"), base).unwrap();
    let state =
        common::with_store_in(&dir.join("store"), &[common::layer(file, "osm", true)], ServerOptions::default());
    let item = "/collections/osm/items";
    let etag = req(&state, "GET", &format!("{item}/node%2F101"), None, &[], None).await.header("etag");
    let ct = ("content-type", "application/merge-patch+json");
    let patch = json!({"geometry": {"type": "Point", "coordinates": [-0.5801, 44.8402]}, "properties": {"recycling:glass_bottles": "yes", "opening_hours": "24/7"}});
    let r = req(&state, "PATCH", &format!("{item}/node%2F101"), Some(EDITOR), &[ct, ("if-match", &etag)], Some(patch))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json());
    let etag = req(&state, "GET", &format!("{item}/node%2F102"), None, &[], None).await.header("etag");
    let r = req(&state, "DELETE", &format!("{item}/node%2F102"), Some(EDITOR), &[("if-match", &etag)], None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = req(&state, "POST", item, Some(EDITOR), &[], Some(glass("Nouvelle colonne & <verre>", -0.55, 44.87))).await;
    assert_eq!(r.status, StatusCode::CREATED);

    let osc = req(&state, "GET", "/collections/osm/changes.osc", None, &[], None).await;
    assert_eq!(osc.status, StatusCode::OK);
    assert_eq!(osc.header("x-tuilerie-skipped"), "0");
    std::fs::write(dir.join("changes.osc"), &osc.body).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new("osmium")
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("osmium (osmium-tool) is needed: scripts/setup.sh");
        assert!(out.status.success(), "osmium {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let info = run(&["fileinfo", "-e", "-F", "osc", "changes.osc"]);
    assert!(info.contains("Number of nodes: 3"), "{info}");
    run(&["apply-changes", "base.osm", "changes.osc", "-o", "result.osm", "-f", "osm", "--overwrite"]);
    let result = std::fs::read_to_string(dir.join("result.osm")).unwrap();
    let doc = roxmltree::Document::parse(&result).unwrap();
    let nodes: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("node")).collect();
    let tag = |n: &roxmltree::Node, k: &str| {
        n.children().find(|c| c.attribute("k") == Some(k)).and_then(|c| c.attribute("v")).map(String::from)
    };
    let by_id = |id: &str| nodes.iter().find(|n| n.attribute("id") == Some(id)).copied();
    let a = by_id("101").expect("node 101 kept");
    assert_eq!((a.attribute("lat"), a.attribute("lon")), (Some("44.8402"), Some("-0.5801")));
    assert_eq!(tag(&a, "opening_hours").as_deref(), Some("24/7"));
    assert_eq!(tag(&a, "recycling:glass_bottles").as_deref(), Some("yes"));
    assert!(tag(&a, "@version").is_none(), "metadata is not a tag");
    assert!(by_id("102").is_none(), "node 102 deleted");
    assert!(by_id("103").is_some(), "node 103 untouched");
    let created = nodes.iter().find(|n| n.attribute("id").is_some_and(|i| i.starts_with('-'))).expect("a created node");
    assert_eq!(tag(created, "name").as_deref(), Some("Nouvelle colonne & <verre>"));
    // Only what changed after `since`.
    let last =
        req(&state, "GET", "/changes", Some(ADMIN), &[], None).await.json()["changes"][1]["seq"].as_i64().unwrap();
    let osc = req(&state, "GET", &format!("/collections/osm/changes.osc?since={last}"), None, &[], None).await;
    let text = String::from_utf8(osc.body).unwrap();
    assert!(text.contains("<create>") && !text.contains("<modify>") && !text.contains("<delete>"), "{text}");
}

#[tokio::test]
async fn a_token_writing_too_fast_gets_429_and_reads_can_require_a_token() {
    let dir = common::temp_dir("rate");
    let budget = tuilerie_server::edits::WriteOptions { write_rate: 1.0, write_burst: 2.0, group_commit: true };
    let state = common::with_store_opts(&dir, &layers(), ServerOptions::default(), budget);
    let f = Some(glass("x", -0.6, 44.9));
    for _ in 0..2 {
        assert_eq!(req(&state, "POST", POINTS, Some(EDITOR), &[], f.clone()).await.status, StatusCode::CREATED);
    }
    let r = req(&state, "POST", POINTS, Some(EDITOR), &[], f.clone()).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.json());
    assert_eq!(r.header("retry-after"), "1");
    assert!(r.json()["error"].as_str().unwrap().contains("server.write_rate"), "{}", r.json());
    // Another token has its own budget.
    assert_eq!(req(&state, "POST", POINTS, Some(ADMIN), &[], f).await.status, StatusCode::CREATED);

    let closed = common::with_store_in(
        &common::temp_dir("closed"),
        &layers(),
        ServerOptions { require_token_for_reads: true, ..Default::default() },
    );
    let r = req(&closed, "GET", "/collections", None, &[], None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.header("www-authenticate").starts_with("Bearer"));
    assert_eq!(req(&closed, "GET", "/collections", Some("tlr_nope"), &[], None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(req(&closed, "GET", "/collections", Some(EDITOR), &[], None).await.status, StatusCode::OK);
    assert_eq!(req(&closed, "GET", "/health", None, &[], None).await.status, StatusCode::OK);
}
