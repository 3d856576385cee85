//! Hot-cache tile requests through the router, without sockets, for
//! callgrind (instruction counts that a drifting VM cannot blur):
//!
//!     cargo build --release -p tuilerie-server --example tile_profile
//!     valgrind --tool=callgrind --collect-atstart=no --toggle-collect='tile_profile::run' \\
//!         $CARGO_TARGET_DIR/release/examples/tile_profile [LAYER.geojson] [TILE_LIST]
//!
//! Defaults: the Gironde communes of the shared data (layer `communes`) and
//! benches/workloads/tiles-gironde-z6.txt; the list is requested once to
//! fill the cache, then 50 times with `Accept-Encoding: gzip` (counted).

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use std::path::PathBuf;
use tower::ServiceExt;
use tuilerie_geo::{Catalog, LayerId, LoadOptions};
use tuilerie_server::{app, AppState, ServerOptions};

#[inline(never)]
fn run(
    rt: &tokio::runtime::Runtime,
    router: &tuilerie_server::App,
    uris: &[String],
    rounds: usize,
) -> anyhow::Result<usize> {
    rt.block_on(async {
        let mut bytes = 0;
        for _ in 0..rounds {
            for u in uris {
                let req = Request::get(u.as_str()).header("accept-encoding", "gzip").body(Body::empty())?;
                let r = router.clone().oneshot(req).await?;
                anyhow::ensure!(r.status().is_success(), "{u}: {}", r.status());
                bytes += r.into_body().collect().await?.to_bytes().len();
            }
        }
        Ok(bytes)
    })
}

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let shared =
        std::env::var("TUILERIE_SHARED_DATA").map(PathBuf::from).unwrap_or_else(|_| root.join("../shared/data"));
    let mut args = std::env::args().skip(1);
    let data = args.next().map(PathBuf::from).unwrap_or_else(|| shared.join("gironde/communes-33.geojson"));
    let list = args.next().map(PathBuf::from).unwrap_or_else(|| root.join("benches/workloads/tiles-gironde-z6.txt"));
    let options = LoadOptions { id: LayerId::new("communes").ok(), ..LoadOptions::default() };
    let catalog = Catalog::load(vec![(data.clone(), options)], 1);
    anyhow::ensure!(!catalog.layers().is_empty(), "could not load {}", data.display());
    let uris: Vec<String> =
        std::fs::read_to_string(&list)?.lines().map(|t| format!("/tiles/communes/{t}.mvt")).collect();
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    let router = app(AppState::ready(catalog, ServerOptions::default()));
    run(&rt, &router, &uris, 1)?;
    println!("{} bytes answered", run(&rt, &router, &uris, 50)?);
    Ok(())
}
