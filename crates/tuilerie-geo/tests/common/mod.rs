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
