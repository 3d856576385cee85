//! Work whose cost grows with the input (CSV parsing, map building, SVG and
//! PNG exports) runs on the blocking pool, a few at a time per kind, so
//! that it can neither occupy the async workers that answer tiles nor take
//! memory without bound (an 8,000-pixel PNG holds about 200 MB while it is
//! drawn). A request that cannot start within [`QUEUE_WAIT`] is answered
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
    wait: Duration,
}

impl Default for HeavyWork {
    fn default() -> Self {
        HeavyWork::new(2, 2, QUEUE_WAIT)
    }
}

impl HeavyWork {
    /// At most `exports` exports and `builds` uploads or builds at once;
    /// a request waits at most `wait` for its turn.
    pub fn new(exports: usize, builds: usize, wait: Duration) -> Self {
        HeavyWork { exports: Arc::new(Semaphore::new(exports)), builds: Arc::new(Semaphore::new(builds)), wait }
    }

    /// Runs `f` on the blocking pool once a slot of `kind` is free.
    pub async fn run<T: Send + 'static>(
        &self,
        kind: Kind,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let sem = match kind {
            Kind::Export => &self.exports,
            Kind::Build => &self.builds,
        };
        let permit = match tokio::time::timeout(self.wait, sem.clone().acquire_owned()).await {
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
        assert!(first.await.unwrap().unwrap());
        assert_eq!(heavy.run(Kind::Export, || 8).await.unwrap(), 8);
    }
}
