//! Reading an OSM PBF file through the waste profile (or a filter): the
//! read and filter alone (`scan`), then read + filter + layers built and
//! indexed (`load`), each the median of several runs, and the peak
//! resident memory of the process:
//!   cargo run --release -p tuilerie-geo --example osm_read -- FILE.osm.pbf [RUNS] [FILTER]
//! Prints one JSON line (scripts/osm_bench.sh reads it).
#![allow(clippy::unwrap_used)]
use std::path::Path;
use std::time::Instant;
use tuilerie_geo::{LoadOptions, OsmGeometry, OsmOptions, TagFilter};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("an .osm.pbf file");
    let runs: usize = args.next().map_or(3, |r| r.parse().unwrap());
    let options = match args.next() {
        Some(f) => LoadOptions {
            id: tuilerie_geo::LayerId::new("filtered").ok(),
            osm: Some(OsmOptions {
                filter: Some(TagFilter::parse(&f).unwrap()),
                geometry: OsmGeometry::Any,
                tags: None,
                changes: vec![],
            }),
            ..Default::default()
        },
        None => LoadOptions::default(),
    };
    let path = Path::new(&path);
    let layers = tuilerie_geo::source::osm::expand(path, options.clone());
    let mut scan = Vec::new();
    let mut summary = None;
    for _ in 0..runs {
        let t = Instant::now();
        summary = Some(tuilerie_geo::source::osm::scan_only(path, &layers).unwrap());
        scan.push(t.elapsed().as_secs_f64());
    }
    let scan_rss = peak_rss_mb();
    let mut load = Vec::new();
    let mut counts = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let built = tuilerie_geo::load_all(path, options.clone());
        load.push(t.elapsed().as_secs_f64());
        counts = built.into_iter().map(|l| l.map(|l| (l.id().to_string(), l.len())).unwrap()).collect();
    }
    let s = summary.unwrap();
    let mb = s.bytes as f64 / 1e6;
    println!(
        "{}",
        serde_json::json!({
            "file_mb": mb,
            "scan_s": median(scan.clone()),
            "scan_mb_per_s": mb / median(scan),
            "load_s": median(load),
            "kept": {"nodes": s.nodes, "ways": s.ways, "relations": s.relations, "locations": s.locations},
            "layers": counts,
            "peak_rss_mb_scan": scan_rss,
            "peak_rss_mb": peak_rss_mb(),
        })
    );
}
