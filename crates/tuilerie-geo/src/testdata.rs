//! Deterministic test data shared by unit tests, integration tests and
//! benchmarks: one fixed-seed generator, so every run sees the same
//! "random" points.

/// A fixed-seed linear congruential generator (Knuth's MMIX constants),
/// uniform in [0, 1) with 53 bits.
#[derive(Debug, Clone)]
pub struct Lcg(pub u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed)
    }

    /// The next value, uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        lcg(&mut self.0)
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }
}

/// One step of [`Lcg`] on a bare seed: uniform in [0, 1).
pub fn lcg(seed: &mut u64) -> f64 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (*seed >> 11) as f64 / (1u64 << 53) as f64
}
