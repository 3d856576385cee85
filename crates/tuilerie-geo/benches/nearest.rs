//! In-process nearest queries over the 1,000,000-point France set:
//! k = 5, with and without a category filter, from fixed random points.
//!
//!     cargo bench -p tuilerie-geo --bench nearest
//!
//! Target: at least 200,000 queries/s on one core with a category filter.

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tuilerie_geo::query::{nearest, NearestQuery};
use tuilerie_geo::waste::Taxonomy;
use tuilerie_geo::{load, LoadOptions};

#[path = "common.rs"]
mod common;

fn bench_nearest(c: &mut Criterion) {
    let layer = load(&common::bench_data("containers-france-1000000.geojson"), LoadOptions::default()).expect("1M");
    let mut rng = tuilerie_geo::testdata::Lcg(5);
    let mut next = || rng.next();
    // Random points over metropolitan France.
    let points: Vec<(f64, f64)> = (0..1000).map(|_| (-4.5 + next() * 12.0, 42.5 + next() * 8.5)).collect();
    let t = Taxonomy::builtin();
    let glass = 1u64 << t.index_of("glass").expect("glass").0;
    let batteries = 1u64 << t.index_of("batteries").expect("batteries").0;
    let at: DateTime<Utc> = "2026-11-30T09:30:00Z".parse().expect("time");
    let mut g = c.benchmark_group("nearest/1m");
    g.throughput(Throughput::Elements(points.len() as u64));
    for (name, accepts, open) in [
        ("k5", 0, None),
        ("k5_glass", glass, None),
        ("k5_batteries", batteries, None),
        ("k5_glass_open", glass, Some(at)),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0;
                for &(lon, lat) in &points {
                    let q = NearestQuery {
                        lon,
                        lat,
                        k: 5,
                        accepts,
                        open_at: open,
                        at,
                        max_distance: None,
                        facility_type: None,
                    };
                    n += nearest(&[&layer], &q).len();
                }
                n
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_nearest);
criterion_main!(benches);
