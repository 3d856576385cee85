//! Resident memory per feature after loading 1,000,000 points with five
//! short properties (the file's bytes are freed once parsed).
//!
//!     cargo bench -p tuilerie-geo --bench memory
//!
//! Target: at most 200 bytes of resident memory per point feature.

use tuilerie_geo::{load, LoadOptions};

#[path = "common.rs"]
mod common;

/// Resident set size in bytes, from /proc/self/statm.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let path = common::bench_data("containers-france-1000000.geojson");
    let before = rss();
    let layer = load(&path, LoadOptions::default()).expect("load");
    let after = rss();
    let n = layer.len();
    let per = (after.saturating_sub(before)) as f64 / n as f64;
    println!("features:            {n}");
    println!("properties/feature:  5 (amenity, recycling_type, recycling:*, operator, opening_hours)");
    println!("RSS before load:     {:.1} MiB", before as f64 / 1048576.0);
    println!("RSS after load:      {:.1} MiB", after as f64 / 1048576.0);
    println!("resident bytes/feature: {per:.1}");
    println!("heap estimate/feature:  {:.1}", layer.heap_bytes() as f64 / n as f64);
    if let Some(c) = layer.tile_prep().clusters() {
        let nodes: usize = (0..=c.options().map_or(0, |o| o.max_zoom)).map(|z| c.level_len(z)).sum();
        println!(
            "cluster nodes (all levels): {nodes} ({:.2} per feature), heap {:.1} bytes/feature",
            nodes as f64 / n as f64,
            c.heap_bytes() as f64 / n as f64
        );
    }
    std::hint::black_box(&layer);
}
