//! What a large layer costs to load, in a fresh process: wall time (parse,
//! intern, index, profile, clusters), resident memory per feature after the
//! load, and the peak resident size during it against the final one.
//!
//!     cargo run --release -p tuilerie-geo --example load_scale -- \
//!         bench-data/containers-world-10000000.geojson
//!
//! With `--snapshots DIR`, the layer is read from its snapshot in DIR when
//! one is current (else built from the file and its snapshot written): run
//! it twice to time a start from a snapshot.
//!
//! Targets (issue 21, 10M points): load + index at most 15 s, at most 150
//! resident bytes per point, peak at most 1.5 times the final resident size.
#![allow(clippy::unwrap_used)]
use std::time::Instant;

/// `VmRSS` and `VmHWM` (peak) of this process, in bytes.
fn rss_and_peak() -> (usize, usize) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> usize {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("a GeoJSON file").clone();
    let mut options = tuilerie_geo::LoadOptions::default();
    if let Some(i) = args.iter().position(|a| a == "--snapshots") {
        options.snapshots = Some(args.get(i + 1).expect("--snapshots DIR").into());
    }
    let (before, _) = rss_and_peak();
    let t = Instant::now();
    let layer = tuilerie_geo::load(std::path::Path::new(&path), options).unwrap();
    let elapsed = t.elapsed().as_secs_f64();
    let (after, peak) = rss_and_peak();
    let n = layer.len();
    let mib = |b: usize| b as f64 / 1048576.0;
    println!("file:             {path}");
    println!("features:         {n}");
    println!("load + index:     {elapsed:.2} s (the layer's own: {:.2} s)", layer.meta().load_time.as_secs_f64());
    println!("RSS before:       {:.1} MiB", mib(before));
    println!("RSS after:        {:.1} MiB", mib(after));
    println!("peak (VmHWM):     {:.1} MiB ({:.2} x final)", mib(peak), peak as f64 / after as f64);
    println!("resident bytes/feature: {:.1}", after.saturating_sub(before) as f64 / n as f64);
    println!("heap estimate/feature:  {:.1}", layer.heap_bytes() as f64 / n as f64);
    std::hint::black_box(&layer);
}
