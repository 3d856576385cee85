//! Helpers shared by integration tests.
#![allow(dead_code, unused_imports)]
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::path::PathBuf;

/// The shared real data folder (`../shared/data` from the repository root),
/// or `$TUILERIE_SHARED_DATA`. Panics with a clear message if missing.
pub fn shared_data() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let p = std::env::var("TUILERIE_SHARED_DATA").map(PathBuf::from).unwrap_or_else(|_| root.join("../shared/data"));
    assert!(
        p.join("gironde").is_dir(),
        "shared test data not found at {}: set TUILERIE_SHARED_DATA to the folder holding gironde/ (scripts/test.sh does)",
        p.display()
    );
    p
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

/// The seeded generator shared with the library's unit tests and benches.
pub use tuilerie_geo::testdata::Lcg;

/// `n` synthetic recycling points clustered around four French cities, with
/// one `recycling:*` key each, a `recycling_type` and varied opening hours
/// (one of them unparsable).
pub fn synthetic_points(n: usize, seed: u64) -> String {
    tuilerie_geo::testdata::synthetic_points(n, seed, true)
}

/// Decodes tiles with the JavaScript reference decoder
/// (`tests/node/decode-mvt.mjs`: @mapbox/vector-tile + pbf), one JSON
/// document per tile.
pub fn decode_mvt(tiles: &[Vec<u8>]) -> Vec<serde_json::Value> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = temp_dir(&format!("mvt-{}", N.fetch_add(1, Ordering::Relaxed)));
    let paths: Vec<PathBuf> = tiles
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let p = dir.join(format!("{i}.mvt"));
            std::fs::write(&p, t).unwrap();
            p
        })
        .collect();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/node/decode-mvt.mjs");
    let out = std::process::Command::new("node")
        .arg(script)
        .args(&paths)
        .output()
        .expect("node is needed for the MVT decoder (run scripts/setup.sh)");
    assert!(out.status.success(), "decoder failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}
