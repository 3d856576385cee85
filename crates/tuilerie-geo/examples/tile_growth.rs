//! Whether a tile or a nearest query costs more on a 10 times larger layer
//! with the same content where it is asked (issue 21): the benchmark tile
//! lists over France (z6), Gironde (z10) and Bordeaux (z14) rendered from
//! the 1M-point layer and from the 10M-point one (the 1M set plus nine
//! copies elsewhere in the world), interleaved, and 1,000 nearest queries
//! (k = 5, with and without a waste) over France on both.
//!
//!     cargo run --release -p tuilerie-geo --example tile_growth -- \
//!         bench-data/containers-france-1000000.geojson \
//!         bench-data/containers-world-10000000.geojson [--snapshots DIR] [--rounds 15]
//!
//! Each round renders every list once from each layer (no cache); the
//! figure is the median over rounds of the time per tile. Target: the 10M
//! layer at most 20% slower per tile and per query. Tiles of z14 (not
//! clustered) must be byte for byte the same from both layers.
#![allow(clippy::unwrap_used)]
use std::path::Path;
use std::time::Instant;
use tuilerie_geo::query::{nearest, NearestQuery};
use tuilerie_geo::tiling::{render_tile, TileCoord, TileOptions};
use tuilerie_geo::{Layer, LoadOptions};

/// The layer's tiles under one name (the two files' layers differ only by it).
fn named(layer: &Layer) -> tuilerie_geo::tiling::LayerTiles<'_> {
    tuilerie_geo::tiling::LayerTiles { name: "points", ..layer.tiles() }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn list(name: &str) -> Vec<TileCoord> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/workloads").join(name);
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<u32> = l.trim().split('/').map(|x| x.parse().unwrap()).collect();
            TileCoord::new(v[0], v[1], v[2]).unwrap()
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut options = LoadOptions::default();
    if let Some(i) = args.iter().position(|a| a == "--snapshots") {
        options.snapshots = Some(args[i + 1].clone().into());
    }
    let rounds: usize = args.iter().position(|a| a == "--rounds").map_or(15, |i| args[i + 1].parse().unwrap());
    let load = |p: &str| -> Layer {
        let t = Instant::now();
        let l = tuilerie_geo::load(Path::new(p), options.clone()).unwrap();
        eprintln!("{p}: {} features in {:.1} s", l.len(), t.elapsed().as_secs_f64());
        l
    };
    let (small, large) = (load(&args[1]), load(&args[2]));
    let opts = TileOptions::default();
    println!("| list | tiles | 1M: µs per tile | 10M: µs per tile | 10M / 1M |");
    println!("|---|---:|---:|---:|---:|");
    for name in ["tiles-france-z6.txt", "tiles-gironde-z10.txt", "tiles-bordeaux-z14.txt"] {
        let tiles = list(name);
        if name.contains("z14") {
            for c in &tiles {
                let (a, b) = (render_tile(&[named(&small)], *c, &opts), render_tile(&[named(&large)], *c, &opts));
                assert_eq!(a, b, "tile {c:?} differs between the layers");
            }
        }
        let (mut ts, mut tl) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            for (layer, out) in [(&small, &mut ts), (&large, &mut tl)] {
                let t = Instant::now();
                let mut bytes = 0;
                for c in &tiles {
                    bytes += render_tile(&[named(layer)], *c, &opts).map_or(0, |t| t.len());
                }
                std::hint::black_box(bytes);
                out.push(t.elapsed().as_secs_f64() * 1e6 / tiles.len() as f64);
            }
        }
        let (s, l) = (median(ts), median(tl));
        println!("| {name} | {} | {s:.1} | {l:.1} | {:.2} |", tiles.len(), l / s);
    }
    // Nearest over metropolitan France, as the nearest benchmark.
    let mut rng = tuilerie_geo::testdata::Lcg(5);
    let points: Vec<(f64, f64)> = (0..1000).map(|_| (-4.5 + rng.next() * 12.0, 42.5 + rng.next() * 8.5)).collect();
    let glass = 1u64 << tuilerie_geo::waste::Taxonomy::builtin().index_of("glass").unwrap().0;
    let at = "2026-11-30T09:30:00Z".parse().unwrap();
    for (what, accepts) in [("nearest k=5", 0), ("nearest k=5 glass", glass)] {
        let query = |lon, lat| NearestQuery {
            lon,
            lat,
            k: 5,
            accepts,
            open_at: None,
            at,
            max_distance: None,
            facility_type: None,
        };
        for &(lon, lat) in points.iter().take(50) {
            let ids = |l: &Layer| -> Vec<String> {
                nearest(&[l], &query(lon, lat)).iter().map(|h| l.feature(h.feature).id().to_string()).collect()
            };
            assert_eq!(ids(&small), ids(&large), "nearest from {lon},{lat}");
        }
        let (mut ts, mut tl) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            for (layer, out) in [(&small, &mut ts), (&large, &mut tl)] {
                let t = Instant::now();
                let mut n = 0;
                for &(lon, lat) in &points {
                    n += nearest(&[layer], &query(lon, lat)).len();
                }
                std::hint::black_box(n);
                out.push(t.elapsed().as_secs_f64() * 1e6 / points.len() as f64);
            }
        }
        let (s, l) = (median(ts), median(tl));
        println!("| {what} | {} queries | {s:.1} | {l:.1} | {:.2} |", points.len(), l / s);
    }
}
