//! [`Catalog`]: the set of layers a service serves, with a data version that
//! changes on every (re)load so caches keyed by it never serve stale data.

use crate::layer::{Layer, LayerId};
use crate::options::LoadOptions;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static NEXT_VERSION: AtomicU64 = AtomicU64::new(1);

/// A layer that could not be loaded, with the reason.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FailedLayer {
    pub path: PathBuf,
    pub error: String,
}

/// Loaded layers by id, in load order.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    layers: Vec<Arc<Layer>>,
    by_id: HashMap<LayerId, usize>,
    failed: Vec<FailedLayer>,
    version: u64,
}

impl Catalog {
    /// Loads every `(path, options)` with up to `threads` loaders in parallel.
    /// A file that fails is reported in [`Catalog::failed`], not fatal; a
    /// duplicate layer id is a failure of the later layer. An OSM file
    /// gives several layers ([`crate::source::osm::expand`]), and the
    /// layers reading the same OSM file with the same changes are loaded
    /// from one read of it.
    pub fn load(sources: Vec<(PathBuf, LoadOptions)>, threads: usize) -> Catalog {
        let mut groups: Vec<(PathBuf, Vec<LoadOptions>)> = Vec::new();
        for (path, opts) in sources {
            if !crate::source::osm::is_pbf(&path) {
                groups.push((path, vec![opts]));
                continue;
            }
            let changes = |o: &LoadOptions| o.osm.as_ref().map(|o| o.changes.clone()).unwrap_or_default();
            for o in crate::source::osm::expand(&path, opts) {
                let same =
                    groups.iter_mut().find(|(p, g)| *p == path && g.first().is_some_and(|f| changes(f) == changes(&o)));
                match same {
                    Some((_, g)) => g.push(o),
                    None => groups.push((path.clone(), vec![o])),
                }
            }
        }
        let threads = threads.max(1).min(groups.len().max(1));
        let jobs = std::sync::Mutex::new(groups.into_iter().enumerate().collect::<Vec<_>>());
        let results = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| loop {
                    let job = jobs.lock().ok().and_then(|mut j| j.pop());
                    let Some((i, (path, opts))) = job else { break };
                    let r = crate::source::load_group(&path, opts);
                    if let Ok(mut res) = results.lock() {
                        res.push((i, path, r));
                    }
                });
            }
        });
        let mut results = results.into_inner().unwrap_or_default();
        results.sort_by_key(|(i, _, _)| *i);
        let mut catalog = Catalog { version: NEXT_VERSION.fetch_add(1, Ordering::Relaxed), ..Default::default() };
        for (_, path, group) in results {
            for r in group {
                match r {
                    Ok(layer) => {
                        if let Err(e) = catalog.insert(layer) {
                            catalog.failed.push(FailedLayer { path: path.clone(), error: e });
                        }
                    }
                    Err(e) => {
                        tracing::error!(path = %path.display(), error = %e, "layer not loaded");
                        catalog.failed.push(FailedLayer { path: path.clone(), error: e.to_string() });
                    }
                }
            }
        }
        catalog
    }

    /// Adds a layer; fails if its id is taken.
    pub fn insert(&mut self, layer: Layer) -> Result<(), String> {
        let id = layer.id().clone();
        if self.by_id.contains_key(&id) {
            let msg = format!(
                "{}: layer id {id:?} is already used by another layer; set a distinct `id` in the configuration",
                layer.meta().source.path.display()
            );
            tracing::error!("{msg}");
            return Err(msg);
        }
        self.by_id.insert(id, self.layers.len());
        self.layers.push(Arc::new(layer));
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Layer>> {
        self.by_id.get(id).map(|&i| &self.layers[i])
    }

    pub fn layers(&self) -> &[Arc<Layer>] {
        &self.layers
    }

    pub fn failed(&self) -> &[FailedLayer] {
        &self.failed
    }

    /// Changes on every load; part of every cache key.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// A new catalog (with a new version) where `layer` replaces the layer
    /// of the same id, or is added after the others, and any failure
    /// recorded for `path` is cleared: a reload that succeeded.
    pub fn with_layer(&self, path: &std::path::Path, layer: impl Into<Arc<Layer>>) -> Catalog {
        let layer: Arc<Layer> = layer.into();
        let mut layers = self.layers.clone();
        let id = layer.id().clone();
        match self.by_id.get(&id) {
            Some(&i) => layers[i] = layer,
            None => layers.push(layer),
        }
        let failed = self.failed.iter().filter(|f| f.path != path).cloned().collect();
        Catalog::from_parts(layers, failed)
    }

    /// A new catalog where `layer` replaces the layer of the same id and the
    /// version stays: an edit, whose caller drops the tiles it changed
    /// instead of every cached tile.
    pub fn with_edit(&self, layer: Arc<Layer>) -> Catalog {
        let mut layers = self.layers.clone();
        match self.by_id.get(layer.id()) {
            Some(&i) => layers[i] = layer,
            None => layers.push(layer),
        }
        let by_id = layers.iter().enumerate().map(|(i, l)| (l.id().clone(), i)).collect();
        Catalog { layers, by_id, failed: self.failed.clone(), version: self.version }
    }

    /// A new catalog (with a new version) with the same layers and `failure`
    /// recorded in place of any earlier one for the same path: a reload that
    /// failed keeps the layer it would have replaced.
    pub fn with_failure(&self, failure: FailedLayer) -> Catalog {
        let mut failed: Vec<FailedLayer> = self.failed.iter().filter(|f| f.path != failure.path).cloned().collect();
        failed.push(failure);
        Catalog::from_parts(self.layers.clone(), failed)
    }

    fn from_parts(layers: Vec<Arc<Layer>>, failed: Vec<FailedLayer>) -> Catalog {
        let by_id = layers.iter().enumerate().map(|(i, l)| (l.id().clone(), i)).collect();
        Catalog { layers, by_id, failed, version: NEXT_VERSION.fetch_add(1, Ordering::Relaxed) }
    }

    pub fn ids(&self) -> Vec<&str> {
        self.layers.iter().map(|l| l.id().as_str()).collect()
    }
}
