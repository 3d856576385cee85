//! Request handling without sockets: each request goes through the whole
//! router (`app(state).oneshot`), so this is the user-space share of a
//! request that the HTTP load tests (benches/http/load.sh) add kernel and
//! network work to. `static_500` is the trivial handler of the HTTP
//! ceiling (examples/static_ceiling.rs) in the same harness.
//!
//!     cargo bench -p tuilerie-server --bench handlers
//!     SAME_QUERY=0 cargo bench -p tuilerie-server --bench handlers -- nearest
//!
//! Needs bench-data/ (`python3 scripts/make_data.py --bench`).

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use http_body_util::BodyExt;
use std::convert::Infallible;
use std::path::PathBuf;
use tower::ServiceExt;
use tuilerie_geo::{Catalog, LayerId, LoadOptions};
use tuilerie_server::App;
use tuilerie_server::{app, AppState, ServerOptions};

fn bench_handlers(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let points = root.join("bench-data/containers-france-1000000.geojson");
    if !points.exists() {
        eprintln!("{} is missing: run `python3 scripts/make_data.py --bench` first", points.display());
        std::process::exit(2);
    }
    let shared =
        std::env::var("TUILERIE_SHARED_DATA").map(PathBuf::from).unwrap_or_else(|_| root.join("../shared/data"));
    let communes = shared.join("gironde/communes-33.geojson");
    let decheteries = shared.join("gironde/decheteries-6element.geojson");
    let o = LoadOptions { id: LayerId::new("points").ok(), ..LoadOptions::default() };
    let mut sources = vec![(points, o)];
    for (path, id) in [(communes, "communes"), (decheteries, "decheteries")] {
        if path.exists() {
            sources.push((path, LoadOptions { id: LayerId::new(id).ok(), ..LoadOptions::default() }));
        }
    }
    let state = AppState::ready(Catalog::load(sources, 1), ServerOptions::default());
    let queries: Vec<String> = std::fs::read_to_string(root.join("benches/workloads/nearest-france.txt"))
        .expect("nearest-france.txt")
        .lines()
        .map(str::to_string)
        .collect();
    // SAME_QUERY=n repeats query n 1,000 times: with everything it reads in
    // cache, the difference with the mixed list is the cost of memory stalls.
    let queries: Vec<String> = match std::env::var("SAME_QUERY").ok().and_then(|n| n.parse::<usize>().ok()) {
        Some(n) if n < queries.len() => vec![queries[n].clone(); 1000],
        _ => queries,
    };
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let router = app(state);
    let mut g = c.benchmark_group("handlers");
    g.throughput(Throughput::Elements(queries.len() as u64));
    g.bench_function("nearest_k5_france", |b| b.iter(|| run(&rt, &router, &queries)));
    let tiles: Vec<String> = std::fs::read_to_string(root.join("benches/workloads/tiles-bordeaux-z14.txt"))
        .expect("tiles-bordeaux-z14.txt")
        .lines()
        .map(|t| format!("/tiles/communes/{t}.mvt"))
        .collect();
    if state_has(&router, &tiles[0], &rt) {
        run(&rt, &router, &tiles); // fill the cache
        g.throughput(Throughput::Elements(tiles.len() as u64));
        g.bench_function("tile_hot_communes_z14", |b| b.iter(|| run(&rt, &router, &tiles)));
        static BODY: [u8; 500] = [b'x'; 500];
        let ceiling = Router::new().fallback(axum::routing::get(|| async { &BODY[..] }));
        g.bench_function("static_500", |b| b.iter(|| run(&rt, &ceiling, &tiles)));
    }
    g.finish();
}

/// Answers `uris` one after the other through `router`: the bytes answered.
fn run<S>(rt: &tokio::runtime::Runtime, router: &S, uris: &[String]) -> usize
where
    S: tower::Service<Request<Body>, Response = axum::response::Response, Error = Infallible> + Clone,
{
    rt.block_on(async {
        let mut bytes = 0;
        for u in uris {
            let req = Request::get(u.as_str()).header("accept-encoding", "gzip").body(Body::empty()).expect("request");
            let Ok(r) = router.clone().oneshot(req).await;
            assert!(r.status().is_success(), "{u}: {}", r.status());
            bytes += r.into_body().collect().await.expect("body").to_bytes().len();
        }
        bytes
    })
}

/// Whether the router knows the layer of `uri` (the shared data may be absent).
fn state_has(router: &App, uri: &str, rt: &tokio::runtime::Runtime) -> bool {
    rt.block_on(async {
        let req = Request::get(uri).body(Body::empty()).expect("request");
        router.clone().oneshot(req).await.map(|r| r.status().is_success()).unwrap_or(false)
    })
}

criterion_group!(benches, bench_handlers);
criterion_main!(benches);
