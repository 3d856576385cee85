//! Every endpoint's path and query parsing (and the map and table bodies)
//! through the real router over the demo data: the first byte picks a
//! route, the rest is the end of the URI (or the body of a POST: a map, a
//! batch of observations, a CSV table). Any
//! answer but a 5xx; 4xx bodies are JSON naming what was wrong.
#![no_main]

use axum::body::Body;
use axum::http::{Method, Request};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tower::ServiceExt;
use tuilerie_geo::{Catalog, LayerId, LoadOptions};
use tuilerie_server::{AppState, ServerOptions};

/// The admin token of the target's store.
const TOKEN: &str = "tlr_fuzz";

/// Route prefixes the input completes.
const PREFIXES: &[&str] = &[
    "/nearest?",
    "/nearest?lon=-0.58&lat=44.84&",
    "/collections/points-collecte/items?",
    "/collections/communes/items?",
    "/collections/communes/items/",
    "/collections/",
    "/tiles/",
    "/tiles/communes,points-collecte/",
    "/tiles/points-collecte.json?",
    "/waste-categories?",
    "/maps/",
    "/maps/densite.png?",
    "/maps/densite/tiles/",
    "/collections/points-collecte/items/4020/observations?",
    "/collections/points-collecte/items/4020/busy-hours",
    "/observations?",
    "/style.json?",
    "/assets/",
    "/tables/",
    "/",
];

fn state() -> &'static (tuilerie_server::App, tokio::runtime::Runtime) {
    static STATE: OnceLock<(tuilerie_server::App, tokio::runtime::Runtime)> = OnceLock::new();
    STATE.get_or_init(|| {
        let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
        let id = |s: &str| Some(LayerId::new(s).unwrap());
        let catalog = Catalog::load(
            vec![
                (data.join("communes-gironde.geojson"), LoadOptions { id: id("communes"), ..Default::default() }),
                (
                    data.join("points-collecte-synthetiques.geojson"),
                    LoadOptions { id: id("points-collecte"), ..Default::default() },
                ),
            ],
            1,
        );
        assert_eq!(catalog.layers().len(), 2, "demo data not loaded: {:?}", catalog.failed());
        // A store of its own with an admin token: the POSTs go through the
        // real write path (authorised, stored), with no write budget.
        let dir = std::env::temp_dir().join(format!("tuilerie-fuzz-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = std::sync::Arc::new(tuilerie_server::store::sqlite::SqliteStore::open(&dir).unwrap());
        use tuilerie_server::store::Store;
        store
            .create_token(&tuilerie_server::store::TokenRecord {
                name: "fuzz".into(),
                hash: tuilerie_server::auth::digest(TOKEN),
                role: tuilerie_server::store::Role::Admin,
                layers: None,
                created: tuilerie_server::store::now(),
                last_used: None,
                revoked: None,
            })
            .unwrap();
        let options = tuilerie_server::edits::WriteOptions { write_rate: 0.0, ..Default::default() };
        let writes = tuilerie_server::edits::Writes::open(store, options).unwrap();
        let state = AppState::with_writes(ServerOptions::default(), Some(writes));
        state.set_catalog(catalog);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        (tuilerie_server::app(state), rt)
    })
}

fn send(req: Request<Body>) -> (u16, Vec<u8>) {
    let (app, rt) = state();
    rt.block_on(async {
        let r = app.clone().oneshot(req).await.unwrap();
        let status = r.status().as_u16();
        let body = axum::body::to_bytes(r.into_body(), 1 << 26).await.unwrap_or_default();
        (status, body.to_vec())
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let n = PREFIXES.len() + 3;
    let req = match pick as usize % n {
        i if i < PREFIXES.len() => {
            let Ok(tail) = std::str::from_utf8(rest) else { return };
            let uri = format!("{}{tail}", PREFIXES[i]);
            let Ok(req) = Request::builder().method(Method::GET).uri(uri).body(Body::empty()) else { return };
            req
        }
        i if i == PREFIXES.len() => Request::post("/maps")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::from(rest.to_vec()))
            .unwrap(),
        i if i == PREFIXES.len() + 1 => Request::post("/observations")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::from(rest.to_vec()))
            .unwrap(),
        _ => Request::post("/tables?id=fuzz")
            .header("content-type", "text/csv")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::from(rest.to_vec())).unwrap(),
    };
    let uri = req.uri().to_string();
    let (status, body) = send(req);
    assert!(status < 500, "{status} for {uri}: {}", String::from_utf8_lossy(&body));
    if (400..500).contains(&status) && status != 404 && status != 405 {
        let v: serde_json::Value = serde_json::from_slice(&body)
            .unwrap_or_else(|_| panic!("{status} for {uri} is not JSON: {}", String::from_utf8_lossy(&body)));
        assert!(v["error"].is_string(), "{status} for {uri}: {v}");
    }
});
