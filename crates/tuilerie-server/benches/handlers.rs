//! Request handling without sockets: each request goes through the whole
//! router (`app(state).oneshot`), so this is the user-space share of a
//! request that the HTTP load tests (benches/http/load.sh) add kernel and
//! network work to.
//!
//!     cargo bench -p tuilerie-server --bench handlers
//!
//! Needs bench-data/ (`python3 scripts/make_data.py --bench`).

use axum::body::Body;
use axum::http::Request;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use http_body_util::BodyExt;
use std::path::PathBuf;
use tower::ServiceExt;
use tuilerie_geo::{Catalog, LayerId, LoadOptions};
use tuilerie_server::{app, AppState, ServerOptions};

fn bench_handlers(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let points = root.join("bench-data/containers-france-1000000.geojson");
    if !points.exists() {
        eprintln!("{} is missing: run `python3 scripts/make_data.py --bench` first", points.display());
        std::process::exit(2);
    }
    let o = LoadOptions { id: LayerId::new("points").ok(), ..LoadOptions::default() };
    let state = AppState::ready(Catalog::load(vec![(points, o)], 1), ServerOptions::default());
    let queries: Vec<String> = std::fs::read_to_string(root.join("benches/workloads/nearest-france.txt"))
        .expect("nearest-france.txt")
        .lines()
        .map(str::to_string)
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let router = app(state);
    let mut g = c.benchmark_group("handlers");
    g.throughput(Throughput::Elements(queries.len() as u64));
    g.bench_function("nearest_k5_france", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut bytes = 0;
                for q in &queries {
                    let req = Request::get(q.as_str()).header("accept-encoding", "gzip").body(Body::empty()).expect("request");
                    let r = router.clone().oneshot(req).await.expect("response");
                    assert!(r.status().is_success(), "{q}: {}", r.status());
                    bytes += r.into_body().collect().await.expect("body").to_bytes().len();
                }
                bytes
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench_handlers);
criterion_main!(benches);
