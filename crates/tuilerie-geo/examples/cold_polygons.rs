//! Cold polygon tiles in process (no cache, no HTTP): the median time per
//! tile of a tile list over rounds, and a checksum of the tiles' sizes to
//! compare two builds' output.
//!
//!     cargo run --release -p tuilerie-geo --example cold_polygons -- \
//!         [LAYER.geojson] [TILE_LIST] [ROUNDS]
//!
//! Defaults: the Gironde communes of the shared data,
//! benches/workloads/tiles-gironde-z10.txt (the communes workload of
//! benches/http/cold_compare.sh), 200 rounds.

#![allow(clippy::unwrap_used)]
use std::path::PathBuf;
use std::time::Instant;
use tuilerie_geo::tiling::{render_tile, TileCoord, TileOptions};
use tuilerie_geo::{load, LoadOptions};

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let shared =
        std::env::var("TUILERIE_SHARED_DATA").map(PathBuf::from).unwrap_or_else(|_| root.join("../shared/data"));
    let mut args = std::env::args().skip(1);
    let data = args.next().map(PathBuf::from).unwrap_or_else(|| shared.join("gironde/communes-33.geojson"));
    let list = args.next().map(PathBuf::from).unwrap_or_else(|| root.join("benches/workloads/tiles-gironde-z10.txt"));
    let rounds: usize = args.next().map_or(200, |s| s.parse().expect("ROUNDS: a number"));
    let layer = load(&data, LoadOptions::default()).unwrap();
    let tiles: Vec<TileCoord> = std::fs::read_to_string(&list)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Vec<u32> = l.split('/').map(|s| s.parse().unwrap()).collect();
            TileCoord::new(v[0], v[1], v[2]).unwrap()
        })
        .collect();
    let opts = TileOptions::default();
    let (mut per_tile, mut sum) = (Vec::with_capacity(rounds), 0u64);
    for _ in 0..rounds.max(1) {
        let t = Instant::now();
        for c in &tiles {
            let bytes = render_tile(&[layer.tiles()], *c, &opts).map_or(0, |b| b.len());
            sum = sum.wrapping_mul(31).wrapping_add(bytes as u64);
        }
        per_tile.push(t.elapsed().as_secs_f64() * 1e6 / tiles.len() as f64);
    }
    per_tile.sort_by(f64::total_cmp);
    println!(
        "{} tiles x {} rounds: median {:.1} µs a tile (p10 {:.1}, p90 {:.1}); checksum {sum:x}",
        tiles.len(),
        per_tile.len(),
        per_tile[per_tile.len() / 2],
        per_tile[per_tile.len() / 10],
        per_tile[per_tile.len() * 9 / 10]
    );
}
