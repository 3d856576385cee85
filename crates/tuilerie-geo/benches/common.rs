//! Paths of benchmark inputs (each bench uses some of them).
#![allow(dead_code)]
use std::path::PathBuf;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The France-wide set built by `python3 scripts/make_data.py --bench`.
pub fn bench_data(name: &str) -> PathBuf {
    let p = root().join("bench-data").join(name);
    if !p.exists() {
        eprintln!("{} is missing: run `python3 scripts/make_data.py --bench` first", p.display());
        std::process::exit(2);
    }
    p
}

pub fn shared(rel: &str) -> PathBuf {
    let base =
        std::env::var("TUILERIE_SHARED_DATA").map(PathBuf::from).unwrap_or_else(|_| root().join("../shared/data"));
    base.join(rel)
}
