//! The write path: the store, the tokens, group commit, the overlay of
//! edited features and the layers rebuilt under their edits.
//!
//! ```text
//! handler ──Job──▶ committer (one thread: check If-Match, one transaction
//!    ▲                 per batch, fsync) ──▶ overlay ──Dirty──▶ rebuilder
//!    └──── 2xx once the batch is on disk        (layer under its edits, swapped
//!                                                into the catalog, tiles dropped)
//! ```

pub mod committer;
pub mod follow;
mod live;
pub mod overlay;
mod rebuild;

use crate::auth::Auth;
use crate::store::Store;
use committer::{Committed, Committer, Dirty, Job, Refused};
use overlay::Overlay;
use std::collections::HashMap;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, RwLock};
use tuilerie_geo::{Layer, LoadOptions};

/// The strong ETag of a file feature never edited: a hash of its JSON.
pub fn file_etag(json: &serde_json::Value) -> String {
    format!("\"f{:016x}\"", xxhash_rust::xxh3::xxh3_64(json.to_string().as_bytes()))
}

/// The current state of a feature and its ETag: from the edits, else from
/// the layer. `None` when it does not exist (or was deleted).
pub fn current(writes: Option<&Writes>, l: &Layer, fid: &str) -> Option<(String, serde_json::Value)> {
    if let Some(w) = writes {
        if let Some(e) = w.overlay.get(l.id().as_str(), fid) {
            let content = e.content?;
            return Some((committer::etag_of(e.seq), serde_json::from_str(&content).ok()?));
        }
    }
    let f = l.find(fid)?;
    let v = tuilerie_geo::output::feature(&f, serde_json::Map::new());
    Some((file_etag(&v), v))
}

/// Whether feature `fid` exists now (its edits first, else the layer),
/// without building its GeoJSON as [`current`] does.
pub fn exists(writes: Option<&Writes>, l: &Layer, fid: &str) -> bool {
    match writes.and_then(|w| w.overlay.get(l.id().as_str(), fid)) {
        Some(e) => e.content.is_some(),
        None => l.find(fid).is_some(),
    }
}

/// Ids given to created features: `new-1`, `new-2`... (numbers never
/// reused; an id a file feature has is never given).
pub const CREATED_PREFIX: &str = "new-";

/// Options of the write path (`[server]`).
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// Writes per second per token (0: no limit).
    pub write_rate: f64,
    pub write_burst: f64,
    /// Batch concurrent writes into one transaction (off: one fsync each,
    /// for comparison).
    pub group_commit: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions { write_rate: 50.0, write_burst: 200.0, group_commit: true }
    }
}

/// An editable layer's file version and how to build it, and its last
/// version built in full under its edits, over which newer edits are laid
/// (see [`tuilerie_geo::edit::overlay`]).
struct Base {
    layer: Arc<Layer>,
    options: LoadOptions,
    /// The file version under every edit up to `built_seq`.
    built: Arc<Layer>,
    built_seq: i64,
}

/// Edits laid over a layer's last full build beyond which it is built in
/// full again (compaction): an overlay costs about its number of edits per
/// round, a full build about the layer's size, so the total is lowest
/// around the square root of their ratio (a few thousand for a million
/// points at 100 edits a second). A small layer is built in full past a
/// quarter of its size ([`compact_at`]).
pub const COMPACT_AT: usize = 4096;

/// Edits laid over a layer of `len` features beyond which it is built in full.
pub fn compact_at(len: usize) -> usize {
    (len / 4).clamp(256, COMPACT_AT)
}

/// Shared by the handlers (through `AppState::writes`).
pub struct Writes {
    pub store: Arc<dyn Store>,
    pub auth: Arc<Auth>,
    pub overlay: Arc<Overlay>,
    jobs: Sender<(Job, Option<committer::Reply>)>,
    bases: RwLock<HashMap<String, Base>>,
    /// Edits not applied at the last build, by layer.
    conflicts: RwLock<HashMap<String, Vec<String>>>,
    dirty_tx: Sender<Vec<Dirty>>,
    dirty_rx: Mutex<Option<Receiver<Vec<Dirty>>>>,
    /// Serialises layer builds (edits and reloads).
    build_lock: Mutex<()>,
    /// The current status of facilities.
    pub board: Arc<crate::status::Board>,
    /// Change events for `/events`.
    pub hub: Arc<crate::status::events::Hub>,
    changed_rx: Mutex<Option<Receiver<Vec<crate::store::ObservationRecord>>>>,
}

impl Writes {
    /// The write path over `store`: reads the edited features and tokens,
    /// starts the committer thread and the token refresher.
    pub fn open(store: Arc<dyn Store>, options: WriteOptions) -> Result<Arc<Self>, crate::store::StoreError> {
        // Read before the state: a write committed meanwhile is applied
        // again by the first catch-up, which is harmless.
        let applied = store.last_seq()?;
        let overlay = Arc::new(Overlay::load(store.features()?));
        let board = Arc::new(crate::status::Board::load(store.current_observations()?));
        let (changed, changed_rx) = channel();
        let auth = Auth::new(store.clone(), options.write_rate, options.write_burst);
        auth.start();
        let (jobs, rx) = channel();
        let (dirty_tx, dirty_rx) = channel();
        // A shared store: other servers' writes are applied as they commit.
        let wake = jobs.clone();
        let following = store.follow(Box::new(move || {
            let _ = wake.send((Job::Catchup, None));
        }));
        let committer = Committer {
            store: store.clone(),
            overlay: overlay.clone(),
            max_batch: if options.group_commit { committer::MAX_BATCH } else { 1 },
            last_number: overlay.last_number(),
            dirty: dirty_tx.clone(),
            board: board.clone(),
            changed,
            applied,
            own: Default::default(),
            following,
        };
        std::thread::Builder::new()
            .name("tuilerie-commit".into())
            .spawn(move || committer.run(rx))
            .map_err(|e| crate::store::StoreError::Open(format!("cannot start the committer thread: {e}")))?;
        Ok(Arc::new(Writes {
            store,
            auth,
            overlay,
            jobs,
            bases: RwLock::new(HashMap::new()),
            conflicts: RwLock::new(HashMap::new()),
            dirty_tx,
            dirty_rx: Mutex::new(Some(dirty_rx)),
            build_lock: Mutex::new(()),
            board,
            hub: Arc::new(Default::default()),
            changed_rx: Mutex::new(Some(changed_rx)),
        }))
    }

    /// Queues a write and waits until it is on disk (or refused).
    pub async fn submit(&self, job: Job) -> Result<Committed, Refused> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs.send((job, Some(tx))).map_err(|_| Refused::Store("the committer has stopped".into()))?;
        rx.await.map_err(|_| Refused::Store("the committer has stopped".into()))?
    }

    /// Whether `layer` takes edits.
    pub fn is_editable(&self, layer: &str) -> bool {
        self.bases.read().unwrap_or_else(|e| e.into_inner()).contains_key(layer)
    }

    /// The file version of an editable layer.
    pub fn base(&self, layer: &str) -> Option<Arc<Layer>> {
        self.bases.read().unwrap_or_else(|e| e.into_inner()).get(layer).map(|b| b.layer.clone())
    }

    /// Edits of `layer` not applied at its last build (their file feature
    /// is gone).
    pub fn conflicts(&self, layer: &str) -> Vec<String> {
        self.conflicts.read().unwrap_or_else(|e| e.into_inner()).get(layer).cloned().unwrap_or_default()
    }

    /// Registers `base` (as loaded from its file) as an editable layer and
    /// returns it under its stored edits (itself when it has none). Called
    /// at start and at every reload.
    pub fn set_base(&self, base: Arc<Layer>, options: LoadOptions) -> Arc<Layer> {
        let _build = self.build_lock.lock().unwrap_or_else(|e| e.into_inner());
        let id = base.id().to_string();
        let (built, built_seq) = if self.overlay.has_edits(&id) {
            match self.build_full(&base, &options) {
                Some((l, seq)) => (Arc::new(l), seq),
                None => (base.clone(), 0),
            }
        } else {
            self.conflicts.write().unwrap_or_else(|e| e.into_inner()).remove(&id);
            (base.clone(), 0)
        };
        self.bases
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, Base { layer: base, options, built: built.clone(), built_seq });
        built
    }

    /// `layer` under its current edits: its newer edits laid over its last
    /// full build, or (`compact`, too many edits, or a layer that is not
    /// made of points) a new full build. `None` when the layer is not
    /// editable or its build failed.
    fn current(&self, layer: &str, compact: bool) -> Option<Arc<Layer>> {
        let (file, options, built, built_seq) = {
            let bases = self.bases.read().unwrap_or_else(|e| e.into_inner());
            let b = bases.get(layer)?;
            (b.layer.clone(), b.options.clone(), b.built.clone(), b.built_seq)
        };
        let (newer, _) = self.overlay.edits_since(layer, built_seq);
        if newer.is_empty() {
            return Some(built);
        }
        if !compact && newer.len() <= compact_at(built.len()) {
            let list: Vec<(&str, &tuilerie_geo::edit::Edit)> = newer.iter().map(|(k, e)| (k.as_str(), e)).collect();
            match tuilerie_geo::edit::overlay(&built, options.clone(), &list) {
                Ok(Some(o)) => {
                    for c in &o.conflicts {
                        tracing::warn!(layer, feature = %c, "edit kept but not applied: its file feature is gone (conflict)");
                    }
                    return Some(Arc::new(o.layer));
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(layer, error = %e, "edits not laid over the layer; building it in full");
                }
            }
        }
        let (full, seq) = self.build_full(&file, &options)?;
        let full = Arc::new(full);
        if let Some(b) = self.bases.write().unwrap_or_else(|e| e.into_inner()).get_mut(layer) {
            if Arc::ptr_eq(&b.layer, &file) {
                b.built = full.clone();
                b.built_seq = seq;
            }
        }
        Some(full)
    }

    /// `base` under every current edit of its layer, built in full, and
    /// the highest sequence number among them; conflicts recorded.
    fn build_full(&self, base: &Layer, options: &LoadOptions) -> Option<(Layer, i64)> {
        let id = base.id().to_string();
        let (edits, seq) = self.overlay.edits_since(&id, 0);
        let edits: HashMap<String, tuilerie_geo::edit::Edit> = edits.into_iter().collect();
        match tuilerie_geo::edit::rebuild(base, options.clone(), &edits) {
            Ok(r) => {
                for c in &r.conflicts {
                    tracing::warn!(layer = %id, feature = %c, "edit kept but not applied: its file feature is gone (conflict)");
                }
                self.conflicts.write().unwrap_or_else(|e| e.into_inner()).insert(id, r.conflicts);
                Some((r.layer, seq))
            }
            Err(e) => {
                tracing::error!(layer = %id, error = %e, "layer not rebuilt under its edits");
                None
            }
        }
    }

    /// Starts the thread that rebuilds edited layers and swaps them in, and
    /// the one that announces status changes.
    pub fn start_rebuilder(self: &Arc<Self>, state: crate::AppState) {
        if let Some(rx) = self.changed_rx.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let state = state.clone();
            let _ = std::thread::Builder::new().name("tuilerie-live".into()).spawn(move || live::run(state, rx));
        }
        let Some(rx) = self.dirty_rx.lock().unwrap_or_else(|e| e.into_inner()).take() else { return };
        let _ = std::thread::Builder::new().name("tuilerie-rebuild".into()).spawn(move || rebuild::run(state, rx));
    }

    /// Queues observations and waits until they are on disk: each one's
    /// outcome, in order.
    pub async fn observe(
        &self,
        list: Vec<crate::store::ObservationRecord>,
    ) -> Result<Vec<crate::store::Observed>, Refused> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send((Job::Observations { list, reply: tx }, None))
            .map_err(|_| Refused::Store("the committer has stopped".into()))?;
        rx.await.map_err(|_| Refused::Store("the committer has stopped".into()))?
    }

    /// Asks for `layer` to be rebuilt (after a reload raced an edit).
    pub fn mark_dirty(&self, layer: &str) {
        let _ = self.dirty_tx.send(vec![Dirty { layer: layer.to_string(), bboxes: Vec::new(), edits: Vec::new() }]);
    }
}
