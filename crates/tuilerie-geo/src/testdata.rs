//! Deterministic test data shared by unit tests, integration tests and
//! benchmarks: one fixed-seed generator, so every run sees the same
//! "random" numbers, and the synthetic recycling points built from it.

use std::fmt::Write;

/// A fixed-seed linear congruential generator (Knuth's MMIX constants).
#[derive(Debug, Clone)]
pub struct Lcg(pub u64);

impl Lcg {
    /// The next raw 64-bit state.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0
    }

    /// The next value, uniform in [0, 1) with 53 bits.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One step of [`Lcg`] on a bare seed: uniform in [0, 1).
pub fn lcg(seed: &mut u64) -> f64 {
    let mut g = Lcg(*seed);
    let x = g.next();
    *seed = g.0;
    x
}

/// `n` synthetic recycling containers as a GeoJSON FeatureCollection,
/// clustered around four French cities as real containers are, each with
/// one `recycling:*` key. With `varied`, every 50th is a `centre` and they
/// carry varied `opening_hours` (one of them unparsable).
pub fn synthetic_points(n: usize, seed: u64, varied: bool) -> String {
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
        let t = if varied && i % 50 == 0 { "centre" } else { "container" };
        let extra = if varied { format!(",\"opening_hours\":\"{}\"", hours[(i / 4) % 4]) } else { String::new() };
        let _ = write!(
        s,
            "{{\"type\":\"Feature\",\"id\":{i},\"properties\":{{\"amenity\":\"recycling\",\"recycling_type\":\"{t}\",\"recycling:{}\":\"yes\"{extra}}},\"geometry\":{{\"type\":\"Point\",\"coordinates\":[{x:.6},{y:.6}]}}}}",
            kinds[i % 4]
        );
    }
    s.push_str("]}");
    s
}
