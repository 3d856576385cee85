//! Cold tile generation (no cache): the fixed workloads of
//! benches/workloads over the Gironde communes (polygons), the déchèteries
//! (points) and the 1,000,000-point France set (clustered below z13).
//!
//!     cargo bench -p tuilerie-geo --bench tiling
//!
//! Each measurement renders and encodes every tile of a list once.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tuilerie_geo::tiling::{render_tile, TileCoord, TileOptions};
use tuilerie_geo::{load, Layer, LoadOptions};

#[path = "common.rs"]
mod common;

fn workload(name: &str) -> Vec<TileCoord> {
    let text = std::fs::read_to_string(common::root().join("benches/workloads").join(name)).expect("workload");
    text.lines()
        .map(|l| {
            let v: Vec<u32> = l.split('/').map(|s| s.parse().expect("z/x/y")).collect();
            TileCoord::new(v[0], v[1], v[2]).expect("tile")
        })
        .collect()
}

fn run(layer: &Layer, tiles: &[TileCoord]) -> usize {
    let opts = TileOptions::default();
    tiles.iter().map(|t| render_tile(&[layer.tiles()], *t, &opts).map_or(0, |b| b.len())).sum()
}

fn bench_tiling(c: &mut Criterion) {
    let communes = load(&common::shared("gironde/communes-33.geojson"), LoadOptions::default()).expect("communes");
    let points = load(&common::shared("gironde/decheteries-6element.geojson"), LoadOptions::default()).expect("points");
    let million = load(&common::bench_data("containers-france-1000000.geojson"), LoadOptions::default()).expect("1M");
    let lists = [
        ("z6", workload("tiles-gironde-z6.txt")),
        ("z10", workload("tiles-gironde-z10.txt")),
        ("z14", workload("tiles-bordeaux-z14.txt")),
        ("france-z6", workload("tiles-france-z6.txt")),
    ];
    for (layer_name, layer) in [("communes", &communes), ("decheteries", &points), ("points-1m", &million)] {
        let mut g = c.benchmark_group(format!("tiles/{layer_name}"));
        g.sample_size(20);
        for (name, tiles) in &lists {
            if *name == "france-z6" && layer_name != "points-1m" {
                continue;
            }
            g.throughput(Throughput::Elements(tiles.len() as u64));
            g.bench_function(*name, |b| b.iter(|| run(layer, tiles)));
        }
        g.finish();
    }
}

criterion_group!(benches, bench_tiling);
criterion_main!(benches);
