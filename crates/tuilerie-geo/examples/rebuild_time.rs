//! Time of a layer rebuild under one edit, split into laying the edits over
//! the features and the later stages:
//!   cargo run --release -p tuilerie-geo --example rebuild_time -- FILE.geojson
#![allow(clippy::unwrap_used)]
use std::collections::HashMap;
use std::sync::Arc;
use tuilerie_geo::edit::{rebuild, Edit, EditedFeature};

fn main() {
    let path = std::env::args().nth(1).expect("a GeoJSON file");
    let t = std::time::Instant::now();
    let base = tuilerie_geo::load(std::path::Path::new(&path), Default::default()).unwrap();
    println!("load {:.0} ms, {} features", t.elapsed().as_secs_f64() * 1e3, base.len());
    let f = serde_json::json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.57, 44.84]}, "properties": {"name": "x"}});
    let edits: HashMap<String, Edit> = [(
        "new-1".to_string(),
        Edit { created: true, seq: 1, feature: Some(Arc::new(EditedFeature::parse(&f).unwrap())) },
    )]
    .into();
    for _ in 0..3 {
        let r = rebuild(&base, Default::default(), &edits).unwrap();
        println!(
            "rebuild: feed {:.0} ms, finish {:.0} ms",
            r.feed_time.as_secs_f64() * 1e3,
            r.finish_time.as_secs_f64() * 1e3
        );
    }
}
