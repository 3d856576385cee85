//! /nearest requests through the router, without sockets, for profilers:
//! callgrind counts instructions exactly, so a change to the handler can be
//! judged on a VM whose timings drift. Only `run_queries` is counted:
//!
//!     cargo build --release -p tuilerie-server --example nearest_profile
//!     valgrind --tool=callgrind --collect-atstart=no --toggle-collect='nearest_profile::run_queries' \
//!         $CARGO_TARGET_DIR/release/examples/nearest_profile [POINTS.geojson] [QUERIES] [WARM]
//!
//! Defaults: bench-data/containers-france-1000000.geojson (layer id
//! `points`), the first 300 queries of benches/workloads/nearest-france.txt,
//! and no warm-up. `WARM` passes answer the queries, uncounted, before
//! the counted pass: the steady state of a load test, which asks the same
//! queries over and over (memos of opening hours filled, answers' pages in
//! cache).
//! Prints the answered bytes, so that two builds can be checked to answer
//! the same.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use std::path::PathBuf;
use tower::ServiceExt;
use tuilerie_geo::{Catalog, LayerId, LoadOptions};
use tuilerie_server::{app, AppState, ServerOptions};

/// The counted pass.
#[inline(never)]
fn run_queries(rt: &tokio::runtime::Runtime, router: &tuilerie_server::App, uris: &[String]) -> anyhow::Result<usize> {
    answer_all(rt, router, uris, true)
}

/// A pass before the counted one (not counted: callgrind counts what runs
/// inside `run_queries`). It does not check statuses: a function with the
/// same body as `run_queries` would be merged with it by the compiler, and
/// counted.
#[inline(never)]
fn warm_up(rt: &tokio::runtime::Runtime, router: &tuilerie_server::App, uris: &[String]) -> anyhow::Result<usize> {
    answer_all(rt, router, uris, false)
}

fn answer_all(
    rt: &tokio::runtime::Runtime,
    router: &tuilerie_server::App,
    uris: &[String],
    check: bool,
) -> anyhow::Result<usize> {
    rt.block_on(async {
        let mut bytes = 0;
        for u in uris {
            let r = router.clone().oneshot(Request::get(u.as_str()).body(Body::empty())?).await?;
            anyhow::ensure!(!check || r.status().is_success(), "{u}: {}", r.status());
            bytes += r.into_body().collect().await?.to_bytes().len();
        }
        Ok(bytes)
    })
}

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut args = std::env::args().skip(1);
    let data =
        args.next().map(PathBuf::from).unwrap_or_else(|| root.join("bench-data/containers-france-1000000.geojson"));
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(300);
    let options = LoadOptions { id: LayerId::new("points").ok(), ..LoadOptions::default() };
    let catalog = Catalog::load(vec![(data.clone(), options)], 1);
    anyhow::ensure!(!catalog.layers().is_empty(), "could not load {}", data.display());
    let state = AppState::ready(catalog, ServerOptions::default());
    let uris: Vec<String> = std::fs::read_to_string(root.join("benches/workloads/nearest-france.txt"))?
        .lines()
        .take(n)
        .map(str::to_string)
        .collect();
    let warm: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(0);
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    let router = app(state);
    for _ in 0..warm {
        warm_up(&rt, &router, &uris)?;
    }
    println!("{} bytes answered", run_queries(&rt, &router, &uris)?);
    Ok(())
}
