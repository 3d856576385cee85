//! The shapefile reader (`.shp`, `.shx`, `.dbf`, `.cpg`) on arbitrary
//! bytes: the input is cut into the four files by two-byte lengths, written
//! to a temporary folder (in memory under /dev/shm when it exists) and
//! loaded; an error or a layer, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use tuilerie_geo::LoadOptions;

fn dir() -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    let d = base.join(format!("tuilerie-fuzz-shp-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&d);
    d
}

/// Cuts `data` into pieces: each piece is preceded by its length (two
/// bytes, little-endian); the last piece takes the rest.
fn pieces(mut data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out = Vec::new();
    for _ in 0..n - 1 {
        if data.len() < 2 {
            out.push(&data[..0]);
            continue;
        }
        let len = (u16::from_le_bytes([data[0], data[1]]) as usize).min(data.len() - 2);
        out.push(&data[2..2 + len]);
        data = &data[2 + len..];
    }
    out.push(data);
    out
}

fuzz_target!(|data: &[u8]| {
    let d = dir();
    let parts = pieces(data, 4);
    let shp = d.join("f.shp");
    for (ext, bytes) in ["shp", "shx", "dbf", "cpg"].iter().zip(&parts) {
        let path = d.join(format!("f.{ext}"));
        if ext == &"cpg" && bytes.is_empty() {
            let _ = std::fs::remove_file(&path);
        } else if std::fs::write(&path, bytes).is_err() {
            return;
        }
    }
    // The CRS is given so that the run exercises the readers, not PROJ.
    let opts = LoadOptions { crs: Some("EPSG:4326".into()), ..Default::default() };
    if let Ok(layer) = tuilerie_geo::load(&shp, opts) {
        for f in layer.features() {
            for (_, v) in f.properties() {
                let _ = v;
            }
        }
    }
});
