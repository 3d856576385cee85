//! Time and size of tile compression by deflate level, on the tiles a map
//! of the demo data (or of FILES given) asks for: z8, z10, z12 and z14
//! tiles at about 2,000 places of each layer, all layers together. Prints, per
//! level, the median time of five passes over all tiles and the total
//! compressed size against zlib's level 6, for flate2 on zlib-rs (a port of
//! zlib's deflate) and for libdeflate (whole-buffer deflate):
//!   cargo run --release -p tuilerie-server --example gzip_levels [-- FILE...]
#![allow(clippy::unwrap_used)]
use flate2::{Compress, Compression, FlushCompress, Status};
use std::time::Instant;
use tuilerie_geo::tiling::{lonlat_to_world, render_tile, TileCoord, TileOptions};

fn deflate(d: &mut Compress, raw: &[u8], out: &mut Vec<u8>) {
    d.reset();
    out.clear();
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(64));
        }
        let consumed = d.total_in() as usize;
        if let Ok(Status::StreamEnd) = d.compress_vec(&raw[consumed..], out, FlushCompress::Finish) {
            break;
        }
    }
}

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let mut files: Vec<std::path::PathBuf> = std::env::args().skip(1).map(Into::into).collect();
    if files.is_empty() {
        files = vec![root.join("points-collecte-synthetiques.geojson"), root.join("communes-gironde.geojson")];
    }
    let layers: Vec<_> = files.iter().map(|f| tuilerie_geo::load(f, Default::default()).unwrap()).collect();
    let refs: Vec<_> = layers.iter().map(|l| l.tiles()).collect();
    let mut coords = std::collections::BTreeSet::new();
    for l in &layers {
        // About 2,000 sample places per layer.
        for f in l.features().step_by((l.len() / 2000).max(1)) {
            if let Some(c) = tuilerie_geo::representative_point(f.geometry()) {
                let (x, y) = lonlat_to_world(c.x, c.y);
                for z in [8u32, 10, 12, 14] {
                    let n = f64::from(1u32 << z);
                    coords.insert((z, (x * n) as u32, (y * n) as u32));
                }
            }
        }
    }
    let opts = TileOptions::default();
    let tiles: Vec<Vec<u8>> = coords
        .iter()
        .filter_map(|&(z, x, y)| render_tile(&refs, TileCoord::new(z, x, y).unwrap(), &opts))
        .filter(|t| t.len() >= 128)
        .collect();
    let raw: usize = tiles.iter().map(Vec::len).sum();
    println!("{} tiles, {} raw bytes", tiles.len(), raw);
    let mut sizes = Vec::new();
    for level in 1..=9 {
        let mut d = Compress::new(Compression::new(level), false);
        let mut out = Vec::new();
        let mut times = Vec::new();
        let mut total = 0;
        for _ in 0..5 {
            total = 0;
            let t = Instant::now();
            for tile in &tiles {
                deflate(&mut d, tile, &mut out);
                total += out.len();
            }
            times.push(t.elapsed().as_secs_f64() * 1e6 / tiles.len() as f64);
        }
        times.sort_by(f64::total_cmp);
        sizes.push(total);
        println!("level {level}: {:.1} µs per tile (median of 5), {total} bytes", times[2]);
    }
    for (i, s) in sizes.iter().enumerate() {
        println!("level {}: size {:+.1}% against level 6", i + 1, (*s as f64 / sizes[5] as f64 - 1.0) * 100.0);
    }
    for level in 1..=9 {
        let mut c = libdeflater::Compressor::new(libdeflater::CompressionLvl::new(level).unwrap());
        let mut out = vec![0; tiles.iter().map(|t| c.deflate_compress_bound(t.len())).max().unwrap_or(0)];
        let mut times = Vec::new();
        let mut total = 0;
        for _ in 0..5 {
            total = 0;
            let t = Instant::now();
            for tile in &tiles {
                total += c.deflate_compress(tile, &mut out).unwrap();
            }
            times.push(t.elapsed().as_secs_f64() * 1e6 / tiles.len() as f64);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "libdeflate level {level}: {:.1} µs per tile (median of 5), {total} bytes, {:+.1}% against zlib level 6",
            times[2],
            (total as f64 / sizes[5] as f64 - 1.0) * 100.0
        );
    }
}
