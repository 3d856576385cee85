//! Cold tile rendering for callgrind: instruction counts compare two
//! revisions exactly where a drifting VM blurs criterion's times.
//!
//!     cargo build --release -p tuilerie-geo --example tile_count
//!     valgrind --tool=callgrind --collect-atstart=no --toggle-collect='tile_count::run' \
//!         $CARGO_TARGET_DIR/release/examples/tile_count [POINTS] [LIST]
//!
//! POINTS (default 100,000) synthetic recycling points around four French
//! cities (the generator of `testdata::synthetic_points`, written out here
//! so the example builds on older revisions too), loaded whole; then every
//! tile of LIST (default benches/workloads/tiles-bordeaux-z14.txt) is cut
//! and encoded 3 times (counted).

use std::fmt::Write;
use std::path::Path;
use tuilerie_geo::tiling::{render_tile, TileCoord, TileOptions};
use tuilerie_geo::{Layer, LoadOptions};

fn points(n: usize) -> String {
    let mut seed: u64 = 2026;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut s = String::from("{\"type\":\"FeatureCollection\",\"features\":[");
    let kinds = ["glass", "paper", "batteries", "clothes"];
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let (cx, cy) = [(-0.58, 44.84), (2.35, 48.85), (4.83, 45.76), (5.37, 43.3)][i % 4];
        let (x, y) = (cx + (next() - 0.5) * (next() * 2.0), cy + (next() - 0.5) * (next() * 1.5));
        let _ = write!(
            s,
            "{{\"type\":\"Feature\",\"id\":{i},\"properties\":{{\"amenity\":\"recycling\",\"recycling_type\":\"container\",\"recycling:{}\":\"yes\",\"name\":\"Point {i}\"}},\"geometry\":{{\"type\":\"Point\",\"coordinates\":[{x:.6},{y:.6}]}}}}",
            kinds[i % 4]
        );
    }
    s.push_str("]}");
    s
}

#[inline(never)]
fn run(layer: &Layer, tiles: &[TileCoord]) -> usize {
    let opts = TileOptions::default();
    let mut bytes = 0;
    for _ in 0..3 {
        for t in tiles {
            bytes += render_tile(&[layer.tiles()], *t, &opts).map_or(0, |b| b.len());
        }
    }
    bytes
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(Ok(100_000), |a| a.parse())?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let list = args.next().map_or_else(|| root.join("benches/workloads/tiles-bordeaux-z14.txt"), Into::into);
    let text = points(n);
    let layer = tuilerie_geo::source::geojson::load_bytes(
        Path::new("points.geojson"),
        text.as_bytes(),
        LoadOptions::default(),
    )?;
    let tiles: Vec<TileCoord> = std::fs::read_to_string(&list)?
        .lines()
        .filter_map(|l| {
            let v: Vec<u32> = l.split('/').filter_map(|s| s.parse().ok()).collect();
            TileCoord::new(*v.first()?, *v.get(1)?, *v.get(2)?).ok()
        })
        .collect();
    println!("{} bytes over {} tiles", run(&layer, &tiles), tiles.len());
    Ok(())
}
