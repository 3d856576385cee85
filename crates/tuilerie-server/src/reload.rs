//! Live reload of data files: when a served file (or a file added to a
//! served folder) changes, or on SIGHUP, the layers concerned are loaded
//! again on a thread of their own and swapped in atomically.
//!
//! - Requests keep being answered from the old catalog until the new layer
//!   is built; the swap gives the catalog a new version, so tile cache keys
//!   change (the ETag of a tile changes only if its bytes do).
//! - A file that fails to load keeps the old layer; the error is listed in
//!   `/catalog` under `failed` and logged, and cleared by the next success.
//! - Events are debounced: editors and `cp` write a file in several steps,
//!   and a shapefile is three to five files. A layer is reloaded only when
//!   the size or modification time of one of its files changed (SIGHUP
//!   reloads every layer regardless).
//! - Thematic maps built on a reloaded layer are built again.

use crate::config::LayerConfig;
use crate::AppState;
use notify::{RecursiveMode, Watcher};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime};
use tuilerie_geo::FailedLayer;

/// What wakes the reloader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A file system event: reload what changed, after the quiet period.
    Changed,
    /// SIGHUP: reload every layer and look for new files.
    Signal,
}

/// A file's size and modification time (`None` when it is missing).
type Stamp = Option<(u64, SystemTime)>;

/// Files whose change means a layer changed: the file and, for a
/// shapefile, its sidecars.
fn layer_files(path: &Path) -> Vec<PathBuf> {
    let mut files = vec![path.to_path_buf()];
    if path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("shp")) {
        for ext in ["dbf", "shx", "prj", "cpg", "DBF", "SHX", "PRJ", "CPG"] {
            files.push(path.with_extension(ext));
        }
    }
    files
}

fn stamps(path: &Path) -> Vec<Stamp> {
    layer_files(path)
        .iter()
        .map(|f| std::fs::metadata(f).ok().map(|m| (m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH))))
        .collect()
}

/// The reloader: the layers being served, the folders given (where new
/// files become layers), and what each layer's files looked like when it
/// was last loaded.
pub struct Reloader {
    state: AppState,
    layers: Vec<LayerConfig>,
    folders: Vec<PathBuf>,
    seen: HashMap<PathBuf, Vec<Stamp>>,
    debounce: Duration,
}

impl Reloader {
    /// `layers` as loaded at start (their files' current stamps are taken
    /// as loaded), `folders` the folders given on the command line.
    pub fn new(state: AppState, layers: Vec<LayerConfig>, folders: Vec<PathBuf>, debounce: Duration) -> Self {
        let seen = layers.iter().map(|l| (l.path.clone(), stamps(&l.path))).collect();
        Reloader { state, layers, folders, seen, debounce }
    }

    /// Starts the reloader thread and, when `watch`, a file watcher feeding
    /// it. Returns the sender that SIGHUP uses ([`Trigger::Signal`]).
    pub fn start(self, watch: bool) -> Sender<Trigger> {
        let (tx, rx) = channel();
        let watcher = if watch { self.watch(tx.clone()) } else { None };
        let spawned = std::thread::Builder::new().name("reload".into()).spawn(move || {
            // The watcher lives as long as the thread that reads its events.
            let _watcher = watcher;
            self.run(rx);
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "live reload not started");
        }
        tx
    }

    /// Watches the folders of the served files (not the files: an editor
    /// that saves by writing a new file and renaming it over the old one
    /// would end a watch on the file) and the served folders, recursively.
    fn watch(&self, tx: Sender<Trigger>) -> Option<notify::RecommendedWatcher> {
        let handler = move |event: notify::Result<notify::Event>| {
            if let Ok(e) = event {
                if !e.kind.is_access() {
                    let _ = tx.send(Trigger::Changed);
                }
            }
        };
        let mut watcher = match notify::recommended_watcher(handler) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch files; reload with SIGHUP");
                return None;
            }
        };
        let mut dirs = BTreeSet::new();
        for l in &self.layers {
            let dir = l.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            dirs.insert((dir.to_path_buf(), RecursiveMode::NonRecursive));
        }
        for f in &self.folders {
            dirs.insert((f.clone(), RecursiveMode::Recursive));
        }
        for (dir, mode) in dirs {
            if let Err(e) = watcher.watch(&dir, mode) {
                tracing::warn!(path = %dir.display(), error = %e, "cannot watch this folder; reload with SIGHUP");
            }
        }
        Some(watcher)
    }

    fn run(mut self, rx: Receiver<Trigger>) {
        while let Ok(first) = rx.recv() {
            // Quiet period: wait until no event came for `debounce` (at most
            // ten times as long in all, so a file written forever still
            // gets reloaded).
            let mut force = first == Trigger::Signal;
            let deadline = Instant::now() + self.debounce * 10;
            loop {
                let wait = self.debounce.min(deadline.saturating_duration_since(Instant::now()));
                match rx.recv_timeout(wait) {
                    Ok(t) => force |= t == Trigger::Signal,
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => return,
                }
                if Instant::now() >= deadline {
                    break;
                }
            }
            self.reload(force);
        }
    }

    /// Reloads the layers whose files changed (every layer when `force`)
    /// and loads new files of the served folders; swaps the result in.
    pub fn reload(&mut self, force: bool) {
        if force {
            tracing::info!("SIGHUP: reloading every layer");
        }
        if let Ok(found) = tuilerie_geo::discover(&self.folders) {
            for f in found {
                if !self.layers.iter().any(|l| crate::config::same_file(&l.path, &f)) {
                    tracing::info!(path = %f.display(), "new file in a served folder");
                    self.layers.push(LayerConfig::for_path(f));
                }
            }
        }
        let mut reloaded = Vec::new();
        let mut edited = Vec::new();
        // Files that changed (several layers may read one OSM file).
        let mut changed: Vec<std::path::PathBuf> = Vec::new();
        for l in &self.layers {
            let now = stamps(&l.path);
            if (force || self.seen.get(&l.path) != Some(&now)) && !changed.contains(&l.path) {
                changed.push(l.path.clone());
            }
        }
        for p in &changed {
            self.seen.insert(p.clone(), stamps(p));
        }
        for l in self.layers.iter().filter(|l| changed.contains(&l.path)) {
            let start = Instant::now();
            let results = tuilerie_geo::source::load_many(&l.path, vec![l.load_options()]);
            let seconds = start.elapsed().as_secs_f64();
            metrics::histogram!("tuilerie_layer_load_duration_seconds", "kind" => "reload").record(seconds);
            for (options, result) in results {
                let Some(catalog) = self.state.catalog() else { continue };
                let next = match result {
                    Ok(layer) => {
                        tracing::info!(path = %l.path.display(), layer = %layer.id(), features = layer.len(), seconds, "layer reloaded");
                        // An editable layer: the new file under the stored edits.
                        let layer = match &self.state.writes {
                            Some(w) if l.editable => w.set_base(std::sync::Arc::new(layer), options),
                            _ => std::sync::Arc::new(layer),
                        };
                        if l.editable {
                            edited.push(layer.id().to_string());
                        }
                        metrics::counter!("tuilerie_layer_reloads_total", "result" => "ok").increment(1);
                        reloaded.push(layer.id().to_string());
                        catalog.with_layer(&l.path, layer)
                    }
                    Err(e) => {
                        tracing::error!(path = %l.path.display(), error = %e, "reload failed; the previous layer stays served");
                        metrics::counter!("tuilerie_layer_reloads_total", "result" => "failed").increment(1);
                        catalog.with_failure(FailedLayer { path: l.path.clone(), error: e.to_string() })
                    }
                };
                self.state.set_catalog(next);
            }
        }
        // An edit may have been built on the old file meanwhile: build the
        // edited layers once more now that the new file is in.
        if let Some(w) = &self.state.writes {
            edited.iter().for_each(|id| w.mark_dirty(id));
        }
        if !reloaded.is_empty() {
            if let Some(catalog) = self.state.catalog() {
                self.state.maps.rebuild_on(&reloaded, &catalog, "reloaded");
            }
        }
    }
}
