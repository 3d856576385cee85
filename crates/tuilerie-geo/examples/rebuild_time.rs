//! What an edit costs on a layer: a full rebuild under one edit (split into
//! laying the edits over the features and the later stages), then edits
//! laid over the built layer (`edit::overlay`) for 1 to 4,096 edits, each
//! the median of several runs:
//!   cargo run --release -p tuilerie-geo --example rebuild_time -- FILE.geojson
#![allow(clippy::unwrap_used)]
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tuilerie_geo::edit::{overlay, rebuild, Edit, EditedFeature};

fn point(i: usize) -> Arc<EditedFeature> {
    // Spread over Gironde, one waste category each.
    let (lon, lat) = (-1.2 + (i % 97) as f64 * 0.012, 44.3 + (i / 97 % 89) as f64 * 0.012);
    let f = serde_json::json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"name": format!("edit {i}"), "recycling:glass_bottles": "yes"}});
    Arc::new(EditedFeature::parse(&f).unwrap())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let path = std::env::args().nth(1).expect("a GeoJSON file");
    let t = Instant::now();
    let base = tuilerie_geo::load(std::path::Path::new(&path), Default::default()).unwrap();
    println!("load {:.0} ms, {} features", t.elapsed().as_secs_f64() * 1e3, base.len());
    let edits: HashMap<String, Edit> =
        [("new-1".to_string(), Edit { created: true, seq: 1, feature: Some(point(0)) })].into();
    for _ in 0..3 {
        let r = rebuild(&base, Default::default(), &edits).unwrap();
        println!(
            "rebuild in full: feed {:.0} ms, finish {:.0} ms",
            r.feed_time.as_secs_f64() * 1e3,
            r.finish_time.as_secs_f64() * 1e3
        );
    }
    // Half moves of file features, half created points.
    for n in [1usize, 10, 100, 1000, 4096] {
        let list: Vec<(String, Edit)> = (0..n)
            .map(|i| {
                let e = Edit { created: i % 2 == 1, seq: i as i64 + 1, feature: Some(point(i)) };
                let id =
                    if i % 2 == 1 { format!("new-{i}") } else { base.feature(i * 7919 % base.len()).id().to_string() };
                (id, e)
            })
            .collect();
        let refs: Vec<(&str, &Edit)> = list.iter().map(|(k, e)| (k.as_str(), e)).collect();
        let runs = if n >= 1000 { 5 } else { 21 };
        let times: Vec<f64> = (0..runs)
            .map(|_| {
                let t = Instant::now();
                let o = overlay(&base, Default::default(), &refs).unwrap().unwrap();
                std::hint::black_box(&o.layer);
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        println!("overlay of {n} edits: median {:.2} ms ({runs} runs)", median(times));
    }
}
