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
