//! Loading the configured layers off the async runtime, with a progress bar
//! that appears only when loading takes more than about a second.

use crate::config::LayerConfig;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tuilerie_geo::{Catalog, ProgressFn};

/// Loads every layer in parallel (one loader per core). Blocking.
pub fn load_catalog(layers: &[LayerConfig], progress: bool) -> Catalog {
    let read = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sources = layers
        .iter()
        .map(|l| {
            let mut opts = l.load_options();
            let counter = read.clone();
            let last = Arc::new(AtomicUsize::new(0));
            let f: ProgressFn = Arc::new(move |n| {
                let prev = last.swap(n, Ordering::Relaxed);
                counter.fetch_add(n.saturating_sub(prev), Ordering::Relaxed);
            });
            opts.progress = Some(f);
            (l.path.clone(), opts)
        })
        .collect();
    let watcher = progress.then(|| {
        let (read, done) = (read.clone(), done.clone());
        let total = layers.len();
        std::thread::spawn(move || {
            for _ in 0..20 {
                std::thread::sleep(Duration::from_millis(50));
                if done.load(Ordering::Relaxed) {
                    return;
                }
            }
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} loading {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            while !done.load(Ordering::Relaxed) {
                bar.set_message(format!(
                    "{total} layer(s): {} features read",
                    read.load(Ordering::Relaxed)
                ));
                bar.tick();
                std::thread::sleep(Duration::from_millis(100));
            }
            bar.finish_and_clear();
        })
    });
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let catalog = Catalog::load(sources, threads);
    done.store(true, Ordering::Relaxed);
    if let Some(w) = watcher {
        let _ = w.join();
    }
    catalog
}
