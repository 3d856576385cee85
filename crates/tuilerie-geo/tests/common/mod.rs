//! Helpers shared by integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared real data folder (`../shared/data` from the repository root),
/// or `$TUILERIE_SHARED_DATA`. Panics with a clear message if missing.
pub fn shared_data() -> PathBuf {
    if let Ok(p) = std::env::var("TUILERIE_SHARED_DATA") {
        return PathBuf::from(p);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    for candidate in [root.join("../shared/data"), PathBuf::from("/work/shared/data")] {
        if candidate.join("gironde").is_dir() {
            return candidate;
        }
    }
    panic!("shared test data not found: set TUILERIE_SHARED_DATA to the folder holding gironde/");
}

pub fn gironde(rel: &str) -> PathBuf {
    shared_data().join("gironde").join(rel)
}

/// A fresh temporary folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tuilerie-test-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A deterministic generator of uniform numbers in [0, 1).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` synthetic recycling points clustered around four French cities, with
/// one `recycling:*` key each, a `recycling_type` and varied opening hours
/// (one of them unparsable).
pub fn synthetic_points(n: usize, seed: u64) -> String {
    let mut r = Lcg(seed);
    let mut s = String::with_capacity(n * 200);
    s.push_str("{\"type\":\"FeatureCollection\",\"features\":[");
    let kinds = ["glass", "paper", "batteries", "clothes"];
    let hours = ["24/7", "Mo-Fr 08:00-18:00", "Sa 09:00-12:00", "lundi 9h-12h"];
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let (cx, cy) = [(-0.58, 44.84), (2.35, 48.85), (4.83, 45.76), (5.37, 43.3)][i % 4];
        let (x, y) = (cx + (r.next() - 0.5) * (r.next() * 2.0), cy + (r.next() - 0.5) * (r.next() * 1.5));
        let t = if i % 50 == 0 { "centre" } else { "container" };
        s.push_str(&format!(
            "{{\"type\":\"Feature\",\"id\":{i},\"properties\":{{\"amenity\":\"recycling\",\"recycling_type\":\"{t}\",\"recycling:{}\":\"yes\",\"opening_hours\":\"{}\"}},\"geometry\":{{\"type\":\"Point\",\"coordinates\":[{x:.6},{y:.6}]}}}}",
            kinds[i % 4],
            hours[(i / 4) % 4]
        ));
    }
    s.push_str("]}");
    s
}
