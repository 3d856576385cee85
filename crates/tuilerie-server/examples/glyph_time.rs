//! What a glyph range costs: built cold (rasterised, distance fields,
//! encoded, gzipped) and served from the cache, medians of RUNS for the
//! ranges a French map asks for:
//!   cargo run --release -p tuilerie-server --example glyph_time -- [RUNS]
#![allow(clippy::unwrap_used)]
use std::time::Instant;
use tuilerie_server::cache::CachedBody;
use tuilerie_server::glyphs::{encode, glyphs, stack_fonts, GlyphCache};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let runs: usize = std::env::args().nth(1).map_or(9, |r| r.parse().unwrap());
    for stack in ["DejaVu Sans Book", "DejaVu Sans Bold"] {
        let fonts = stack_fonts(stack).unwrap();
        for start in [0u32, 256, 8192] {
            let cold: Vec<f64> = (0..runs)
                .map(|_| {
                    let t = Instant::now();
                    let body = CachedBody::new(encode(stack, start, &glyphs(&fonts, start)));
                    assert!(!body.raw.is_empty());
                    t.elapsed().as_secs_f64() * 1e3
                })
                .collect();
            let cache = GlyphCache::shared();
            let body = cache.get(stack, start).unwrap();
            let cached: Vec<f64> = (0..runs * 100)
                .map(|_| {
                    let t = Instant::now();
                    let _ = cache.get(stack, start).unwrap();
                    t.elapsed().as_secs_f64() * 1e6
                })
                .collect();
            println!(
                "{stack:18} {start:>5}-{:<5} cold {:6.2} ms  cached {:5.2} µs  {} bytes ({} gzipped)",
                start + 255,
                median(cold),
                median(cached),
                body.raw.len(),
                body.gzip.len()
            );
        }
    }
}
