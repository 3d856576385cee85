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
                bar.set_message(format!("{total} layer(s): {} features read", read.load(Ordering::Relaxed)));
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

/// Reads the configured CSV tables and builds the configured maps (after the
/// layers are loaded). A table or map that fails is logged and skipped; a
/// failed map is listed by `GET /maps`.
pub fn build_maps(
    state: &crate::AppState,
    tables: &[crate::config::TableConfig],
    maps: Vec<tuilerie_geo::thematic::MapDefinition>,
) {
    for t in tables {
        match tuilerie_geo::thematic::Table::read(&t.path) {
            Ok(table) => {
                if let Err(e) = state.maps.put_table(t.id.clone(), table) {
                    tracing::error!(table = %t.id, "{e}");
                }
            }
            Err(e) => tracing::error!(table = %t.id, "skipped table: {}", e.message),
        }
    }
    let Some(catalog) = state.catalog() else { return };
    for m in maps {
        let id = m.id.clone().unwrap_or_else(|| m.title.clone());
        match state.maps.build(m, &catalog) {
            Ok(e) => {
                for w in &e.map.warnings {
                    tracing::warn!(map = %e.map.id, "{w}");
                }
                tracing::info!(map = %e.map.id, classes = e.map.classes.breaks.len(), no_data = e.map.classes.no_data, "map built");
            }
            Err(e) => {
                tracing::error!(map = %id, "skipped map: {e}");
                state.maps.record_failure(id, &e);
            }
        }
    }
}
