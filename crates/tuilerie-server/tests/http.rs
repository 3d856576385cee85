//! HTTP routes through `app(state).oneshot(request)`, no socket.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use axum::http::StatusCode;
use std::path::PathBuf;
use tuilerie_geo::{Catalog, LoadOptions};
use tuilerie_server::{AppState, ServerOptions};

use common::demo;

mod common;

async fn get(state: &AppState, uri: &str) -> (StatusCode, serde_json::Value) {
    let r = common::get(state, uri).await;
    (r.status, r.json())
}

#[tokio::test]
async fn health_is_503_while_loading_then_200_with_the_layer_count() {
    let state = AppState::loading(ServerOptions::default());
    let (status, body) = get(&state, "/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "loading");
    let (status, _) = get(&state, "/catalog").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    let catalog = Catalog::load(
        vec![
            (demo("communes-gironde.geojson"), LoadOptions::default()),
            (demo("points-collecte-synthetiques.geojson"), LoadOptions::default()),
            (PathBuf::from("/nonexistent.geojson"), LoadOptions::default()),
        ],
        2,
    );
    state.set_catalog(catalog);
    let (status, body) = get(&state, "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["layers"], 2);
    assert_eq!(body["failed"], 1);
}

#[tokio::test]
async fn catalog_lists_layers_with_metadata_and_failures() {
    let catalog = Catalog::load(
        vec![
            (demo("communes-gironde.geojson"), LoadOptions::default()),
            (PathBuf::from("/nonexistent.geojson"), LoadOptions::default()),
        ],
        1,
    );
    let state = AppState::ready(catalog, ServerOptions::default());
    let (status, body) = get(&state, "/catalog").await;
    assert_eq!(status, StatusCode::OK);
    let l = &body["layers"][0];
    assert_eq!(l["id"], "communes-gironde");
    assert_eq!(l["feature_count"], 534);
    assert_eq!(l["geometry_types"], serde_json::json!(["MultiPolygon"]));
    assert_eq!(l["fields"][0], serde_json::json!({"name": "code", "type": "string"}));
    assert_eq!(l["fields"][2], serde_json::json!({"name": "population", "type": "int"}));
    let f = &body["failed"][0];
    assert!(f["error"].as_str().unwrap().contains("/nonexistent.geojson"));
}

#[tokio::test]
async fn duplicate_layer_ids_fail_the_later_layer_only() {
    let p = demo("communes-gironde.geojson");
    let catalog = Catalog::load(vec![(p.clone(), LoadOptions::default()), (p, LoadOptions::default())], 2);
    assert_eq!(catalog.layers().len(), 1);
    assert_eq!(catalog.failed().len(), 1);
    assert!(catalog.failed()[0].error.contains("already used"), "{}", catalog.failed()[0].error);
}
