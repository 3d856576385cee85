//! Load and index time: parsing + reprojection + interning + R-tree bulk load.
//!
//!     cargo bench -p tuilerie-geo --bench load
//!
//! Target: 1,000,000 points from GeoJSON parsed and indexed in at most 2 s.

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;
use tuilerie_geo::{load, LoadOptions};

#[path = "common.rs"]
mod common;

fn bench_load(c: &mut Criterion) {
    let mut g = c.benchmark_group("load");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    let points = common::bench_data("containers-france-1000000.geojson");
    g.bench_function("geojson_1m_points_parse_and_index", |b| {
        b.iter(|| load(&points, LoadOptions::default()).expect("load"))
    });
    let communes = common::bench_data("communes-france.geojson");
    g.bench_function("geojson_france_communes_parse_and_index", |b| {
        b.iter(|| load(&communes, LoadOptions::default()).expect("load"))
    });
    let shp = common::shared("gironde/shp/communes-33-l93.shp");
    g.bench_function("shapefile_gironde_lambert93_reproject_and_index", |b| {
        b.iter(|| load(&shp, LoadOptions::default()).expect("load"))
    });
    g.finish();

    // Index build alone, on an already loaded layer's geometries.
    let layer = load(&points, LoadOptions::default()).expect("load");
    let geoms: Vec<_> = layer.features().map(|f| f.geometry().clone()).collect();
    let mut g = c.benchmark_group("index");
    g.sample_size(10);
    g.bench_function("rtree_bulk_load_1m_points", |b| b.iter(|| tuilerie_geo::LayerIndex::build(&geoms)));
    g.finish();
}

criterion_group!(benches, bench_load);
criterion_main!(benches);
