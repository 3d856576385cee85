//! Work whose cost grows with the input (CSV parsing, map building, SVG and
//! PNG exports) runs on the blocking pool, a few at a time per kind, so
//! that it can neither occupy the async workers that answer tiles nor take
//! memory without bound (an 8,000-pixel PNG holds about 200 MB while it is
//! drawn; large exports take several slots). A request that cannot start within [`QUEUE_WAIT`] is answered
//! 503 with `Retry-After`.

use crate::error::ApiError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long a request waits for its turn before a 503.
pub const QUEUE_WAIT: Duration = Duration::from_secs(10);

/// The kinds of heavy work, each with its own limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SVG and PNG exports of thematic maps.
    Export,
    /// CSV uploads and map builds.
    Build,
}

/// Concurrency limits per kind.
pub struct HeavyWork {
    exports: Arc<Semaphore>,
    builds: Arc<Semaphore>,
    export_slots: u32,
    build_slots: u32,
    wait: Duration,
}

/// Export slots: four exports up to 4,000 pixels wide at once, or one of
/// 8,000 (see [`export_weight`]): an 8,000-pixel PNG holds about 450 MB
/// while it is drawn, and two at once came near 1 GB.
pub const EXPORT_SLOTS: usize = 4;

impl Default for HeavyWork {
    fn default() -> Self {
        HeavyWork::new(EXPORT_SLOTS, 2, QUEUE_WAIT)
    }
}

/// Slots of the area of a 4,000-pixel-wide PNG (one per such area).
const SLOT_WIDTH: f64 = 4000.0;

/// Slots an export `width` pixels wide takes: its area in units of a
/// 4,000-pixel-wide image (PNG memory grows with the area; an SVG is text
/// and takes one).
pub fn export_weight(width: u32, png: bool) -> u32 {
    if !png {
        return 1;
    }
    let units = (f64::from(width) / SLOT_WIDTH).powi(2).ceil();
    units.max(1.0) as u32
}

impl HeavyWork {
    /// At most `exports` exports and `builds` uploads or builds at once;
    /// a request waits at most `wait` for its turn.
    pub fn new(exports: usize, builds: usize, wait: Duration) -> Self {
        HeavyWork {
            exports: Arc::new(Semaphore::new(exports)),
            builds: Arc::new(Semaphore::new(builds)),
            export_slots: exports as u32,
            build_slots: builds as u32,
            wait,
        }
    }

    /// Runs `f` on the blocking pool once a slot of `kind` is free.
    pub async fn run<T: Send + 'static>(
        &self,
        kind: Kind,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        self.run_weighted(kind, 1, f).await
    }

    /// Runs `f` once `weight` slots of `kind` are free (clamped to the
    /// capacity): a large export takes the room of several small ones.
    pub async fn run_weighted<T: Send + 'static>(
        &self,
        kind: Kind,
        weight: u32,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let (sem, capacity) = match kind {
            Kind::Export => (&self.exports, self.export_slots),
            Kind::Build => (&self.builds, self.build_slots),
        };
        let weight = weight.clamp(1, capacity.max(1));
        let permit = match tokio::time::timeout(self.wait, sem.clone().acquire_many_owned(weight)).await {
            Ok(Ok(p)) => p,
            _ => {
                crate::metrics::refusal(match kind {
                    Kind::Export => "export_queue",
                    Kind::Build => "build_queue",
                });
                return Err(ApiError::Busy { retry_after: self.wait.as_secs().max(1) });
            }
        };
        tokio::task::spawn_blocking(move || {
            let out = f();
            drop(permit);
            out
        })
        .await
        .map_err(|e| ApiError::Internal(format!("{kind:?} task: {e}")))
    }

    /// Free slots of `kind` (tests, metrics).
    pub fn available(&self, kind: Kind) -> usize {
        match kind {
            Kind::Export => self.exports.available_permits(),
            Kind::Build => self.builds.available_permits(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_beyond_the_limit_waits_then_is_refused_with_retry_after() {
        let heavy = Arc::new(HeavyWork::new(1, 1, Duration::from_millis(200)));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let h = heavy.clone();
        let first = tokio::spawn(async move { h.run(Kind::Export, move || hold.recv().is_ok()).await });
        while heavy.available(Kind::Export) > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // The export slot is taken: a second export is refused...
        match heavy.run(Kind::Export, || ()).await {
            Err(ApiError::Busy { retry_after }) => assert_eq!(retry_after, 1),
            other => panic!("expected Busy, got {:?}", other.map(|_| ())),
        }
        // ...while another kind still runs.
        assert_eq!(heavy.run(Kind::Build, || 7).await.unwrap(), 7);
        release.send(()).unwrap();
        assert_eq!((export_weight(8000, true), export_weight(4000, true), export_weight(5000, true)), (4, 1, 2));
        assert_eq!(export_weight(8000, false), 1);
        assert!(first.await.unwrap().unwrap());
        assert_eq!(heavy.run(Kind::Export, || 8).await.unwrap(), 8);
    }
}
