//! Group commit: one thread owns the write side of the store. Writes queue
//! on a channel; the thread takes every write waiting (up to
//! [`MAX_BATCH`]), checks each one's precondition against the current
//! state (the `If-Match` of an edit), and applies the batch in one
//! transaction, one fsync. While that fsync runs, the next writes queue:
//! under load, batches grow by themselves and throughput is no longer one
//! write per fsync. Each caller hears back only once its batch is on disk.

use super::overlay::{Entry, Overlay};
use crate::status::Board;
use crate::store::{ChangeRecord, Effect, ObservationRecord, Observed, Store, StoreError, Write};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use tokio::sync::oneshot;
use tuilerie_geo::edit::{merge_patch, EditedFeature};

/// Most writes in one transaction.
pub const MAX_BATCH: usize = 1024;
/// Times a batch is checked again after another server wrote first (from
/// the third, after a random pause of up to as many milliseconds, so that
/// servers writing in step fall out of it).
const MAX_ATTEMPTS: u32 = 32;

/// A file feature as it is before its first edit.
#[derive(Debug, Clone)]
pub struct BaseFeature {
    pub etag: String,
    /// Its GeoJSON Feature.
    pub json: Json,
}

/// What an edit does.
#[derive(Debug, Clone)]
pub enum Action {
    /// A new feature (the id is assigned here).
    Create(Json),
    /// A whole new content (`PUT`).
    Replace(Json),
    /// An RFC 7396 merge patch of the feature (`PATCH`).
    Patch(Json),
    Delete,
}

/// A write to commit.
#[derive(Debug)]
pub enum Job {
    Feature {
        layer: String,
        /// `None` for a creation.
        id: Option<String>,
        action: Action,
        if_match: Option<String>,
        /// The file feature of that id, if the file has one.
        base: Option<BaseFeature>,
        token: String,
    },
    /// A map or table created, replaced or deleted through the API.
    Resource { change: ChangeRecord, effect: Effect },
    /// Status observations (checked), stored in the same transaction as
    /// the batch's other writes; the reply says each one's outcome.
    Observations { list: Vec<ObservationRecord>, reply: oneshot::Sender<Result<Vec<Observed>, Refused>> },
    /// Another server committed to the shared store: catch up by sequence
    /// number (see `follow.rs`).
    Catchup,
}

/// A committed feature write.
#[derive(Debug, Clone)]
pub struct Committed {
    pub seq: i64,
    pub id: String,
    pub etag: String,
    /// The feature now (`None`: deleted).
    pub content: Option<Json>,
}

/// Why a write was not committed.
#[derive(Debug)]
pub enum Refused {
    NotFound,
    /// `If-Match` did not match; the current ETag.
    Precondition(String),
    /// The result is not a valid feature (a patch that breaks the geometry).
    Invalid(tuilerie_geo::ParamError),
    /// The store failed: nothing of the batch was written.
    Store(String),
}

pub type Reply = oneshot::Sender<Result<Committed, Refused>>;

/// Where the outcomes of a job's observations go: their range in the
/// batch, and the caller.
type Observers = Vec<(std::ops::Range<usize>, oneshot::Sender<Result<Vec<Observed>, Refused>>)>;

/// The strong ETag of an edited feature's state.
pub fn etag_of(seq: i64) -> String {
    format!("\"e{seq}\"")
}

/// After a commit: the layers to build again, the boxes the change
/// touched (old and new geometry), for the tile cache, and the committed
/// edits (announced on `/events` once the layer is swapped in).
#[derive(Debug, Clone)]
pub struct Dirty {
    pub layer: String,
    pub bboxes: Vec<[f64; 4]>,
    pub edits: Vec<Committed>,
}

pub(super) struct Committer {
    pub store: Arc<dyn Store>,
    pub overlay: Arc<Overlay>,
    pub max_batch: usize,
    /// The number of the last id given to a created feature.
    pub last_number: i64,
    pub dirty: std::sync::mpsc::Sender<Vec<Dirty>>,
    /// The current status, updated before callers hear back.
    pub board: Arc<Board>,
    /// Observations that became current, for the live publisher.
    pub changed: std::sync::mpsc::Sender<Vec<ObservationRecord>>,
    /// The store's sequence number up to which this server has applied
    /// every write, its own and others' (a shared store).
    pub applied: i64,
    /// This server's own writes above `applied` (not applied twice).
    pub own: std::collections::BTreeSet<i64>,
    /// Whether other servers write to the store (kept `own` only then).
    pub following: bool,
}

/// A job checked and turned into a write, waiting for the commit.
struct Pending {
    key: Option<(String, String)>,
    entry: Option<Entry>,
    content: Option<Json>,
    bboxes: Vec<[f64; 4]>,
}

pub(super) fn bbox(feature: &Json) -> Option<[f64; 4]> {
    EditedFeature::parse(feature).ok()?.bbox()
}

impl Committer {
    pub fn run(mut self, rx: Receiver<(Job, Option<Reply>)>) {
        while let Ok(first) = rx.recv() {
            let mut jobs = vec![first];
            while jobs.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            self.commit(jobs);
        }
    }

    fn commit(&mut self, jobs: Vec<(Job, Option<Reply>)>) {
        let mut observations: Vec<ObservationRecord> = Vec::new();
        let mut observers = Vec::new();
        let mut catchup = false;
        let mut edits = Vec::with_capacity(jobs.len());
        for (job, reply) in jobs {
            match job {
                Job::Catchup => catchup = true,
                Job::Observations { list, reply } => {
                    observers.push((observations.len()..observations.len() + list.len(), reply));
                    observations.extend(list);
                }
                job => edits.push((job, reply)),
            }
        }
        // Others' writes first: the edits are checked against the latest.
        if catchup {
            self.catch_up();
        }
        let mut attempts = 0;
        let (prepared, result) = loop {
            let number_before = self.last_number;
            // What this batch changed so far, seen by later jobs of the batch.
            let mut scratch: HashMap<(String, String), Entry> = HashMap::new();
            let mut writes = Vec::with_capacity(edits.len());
            let mut prepared = Vec::with_capacity(edits.len());
            for (job, _) in &edits {
                let outcome = self.prepare(job, &scratch).map(|(write, p)| {
                    if let (Some(k), Some(e)) = (&p.key, &p.entry) {
                        scratch.insert(k.clone(), e.clone());
                    }
                    writes.push(write);
                    p
                });
                prepared.push(outcome);
            }
            // An edit refused as unknown or stale on a shared store may
            // only be refused by this server: another may have written it
            // a moment ago. Catch up first, then decide.
            let refused_here = prepared.iter().any(|p| matches!(p, Err(Refused::NotFound | Refused::Precondition(_))));
            if refused_here && self.following && attempts < MAX_ATTEMPTS {
                if let Ok(last) = self.store.last_seq() {
                    if last > self.applied {
                        attempts += 1;
                        self.last_number = number_before;
                        self.catch_up();
                        continue;
                    }
                }
            }
            if writes.is_empty() && observations.is_empty() {
                break (prepared, Ok((Vec::new(), Vec::new())));
            }
            let started = std::time::Instant::now();
            // Edits were checked against this server's state: on a shared
            // store they are written only if no other server wrote since.
            // Observations alone have nothing to check.
            let result = if writes.is_empty() {
                self.store.apply_all(&writes, &observations)
            } else {
                self.store.apply_after(self.applied, &writes, &observations)
            };
            metrics::histogram!("tuilerie_store_commit_seconds").record(started.elapsed().as_secs_f64());
            metrics::histogram!("tuilerie_store_batch_writes").record((writes.len() + observations.len()) as f64);
            match result {
                Err(StoreError::Behind(last)) if attempts < MAX_ATTEMPTS => {
                    attempts += 1;
                    metrics::counter!("tuilerie_store_behind_total").increment(1);
                    tracing::debug!(applied = self.applied, last, "another server wrote first; catching up");
                    self.last_number = number_before;
                    if attempts > 2 {
                        let nanos = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.subsec_nanos());
                        std::thread::sleep(std::time::Duration::from_micros(u64::from(nanos % (attempts * 1000))));
                    }
                    self.catch_up();
                }
                Err(e) => {
                    self.last_number = number_before;
                    break (prepared, Err(e));
                }
                Ok((seqs, observed)) => {
                    let stored = seqs.iter().copied().chain(observed.iter().filter_map(|o| match o {
                        Observed::Stored(seq) => Some(*seq),
                        Observed::Duplicate => None,
                    }));
                    if writes.is_empty() {
                        // Unchecked: others' writes may lie between.
                        if self.following {
                            self.own.extend(stored);
                        }
                    } else {
                        // Checked: nothing lies between what was applied
                        // and this batch's numbers.
                        self.applied = self.applied.max(stored.max().unwrap_or(0));
                        let applied = self.applied;
                        self.own.retain(|&s| s > applied);
                    }
                    break (prepared, Ok((seqs, observed)));
                }
            }
        };
        let seqs = match result {
            Ok((seqs, observed)) => {
                self.observed(observations, observers, observed);
                seqs
            }
            Err(e) => {
                tracing::error!(writes = edits.len(), error = %e, "store commit failed; the writes were refused");
                metrics::counter!("tuilerie_store_commit_failures_total").increment(1);
                for (_, reply) in observers {
                    let _ = reply.send(Err(Refused::Store(e.to_string())));
                }
                for ((_, reply), outcome) in edits.into_iter().zip(prepared) {
                    if let Some(r) = reply {
                        let _ = r.send(Err(outcome.err().unwrap_or_else(|| Refused::Store(e.to_string()))));
                    }
                }
                return;
            }
        };
        let mut dirty: Vec<Dirty> = Vec::new();
        let mut updates = Vec::new();
        let mut replies = Vec::new();
        let mut seqs = seqs.into_iter();
        for ((_, reply), outcome) in edits.into_iter().zip(prepared) {
            let p = match outcome {
                Ok(p) => p,
                Err(refused) => {
                    if let Some(r) = reply {
                        let _ = r.send(Err(refused));
                    }
                    continue;
                }
            };
            let Some(seq) = seqs.next() else { break };
            let Some((layer, id)) = p.key else {
                if let Some(r) = reply {
                    let _ = r.send(Ok(Committed { seq, id: String::new(), etag: String::new(), content: None }));
                }
                continue;
            };
            let mut entry = p.entry.unwrap_or_default();
            entry.seq = seq;
            let committed = Committed { seq, id: id.clone(), etag: etag_of(seq), content: p.content };
            match dirty.iter_mut().find(|d| d.layer == layer) {
                Some(d) => {
                    d.bboxes.extend(p.bboxes);
                    d.edits.push(committed.clone());
                }
                None => dirty.push(Dirty { layer: layer.clone(), bboxes: p.bboxes, edits: vec![committed.clone()] }),
            }
            updates.push((layer, id, entry));
            replies.push((reply, committed));
        }
        // Published before the callers hear back: a read after the 2xx sees
        // the write.
        self.overlay.apply(updates);
        for (reply, committed) in replies {
            if let Some(r) = reply {
                let _ = r.send(Ok(committed));
            }
        }
        if !dirty.is_empty() {
            let _ = self.dirty.send(dirty);
        }
    }

    /// After a commit: the stored observations become current where they
    /// are the latest (before the callers hear back), and each caller gets
    /// its outcomes.
    pub(super) fn observed(
        &self,
        mut observations: Vec<ObservationRecord>,
        observers: Observers,
        observed: Vec<Observed>,
    ) {
        let mut changed = Vec::new();
        for (o, outcome) in observations.iter_mut().zip(&observed) {
            if let Observed::Stored(seq) = *outcome {
                o.seq = seq;
                if self.board.apply(o.clone()) {
                    changed.push(std::mem::take(o));
                }
            }
        }
        for (range, reply) in observers {
            let _ = reply.send(Ok(observed[range].to_vec()));
        }
        if !changed.is_empty() {
            let _ = self.changed.send(changed);
        }
    }

    /// Checks a job against the current state; the write and what to
    /// publish once it is committed.
    fn prepare(&mut self, job: &Job, scratch: &HashMap<(String, String), Entry>) -> Result<(Write, Pending), Refused> {
        let (layer, id, action, if_match, base, token) = match job {
            Job::Resource { change, effect } => {
                let p = Pending { key: None, entry: None, content: None, bboxes: Vec::new() };
                return Ok((Write { change: change.clone(), effect: effect.clone() }, p));
            }
            Job::Feature { layer, id, action, if_match, base, token } => (layer, id, action, if_match, base, token),
            // Taken apart in `commit` before any job is prepared.
            Job::Observations { .. } | Job::Catchup => {
                return Err(Refused::Store("observations or a catch-up reached the edit check".into()))
            }
        };
        let (id, current, created) = match id.clone() {
            None => {
                self.last_number += 1;
                let id = format!("{}{}", super::CREATED_PREFIX, self.last_number);
                (id, None, true)
            }
            Some(id) => {
                let key = (layer.clone(), id.clone());
                let edited = scratch.get(&key).cloned().or_else(|| self.overlay.get(layer, &id));
                match edited {
                    Some(e) => {
                        let content = e.content.as_deref().map(|c| serde_json::from_str::<Json>(c).unwrap_or_default());
                        let etag = etag_of(e.seq);
                        if content.is_none() {
                            return Err(Refused::NotFound);
                        }
                        (id, Some((etag, content)), e.created)
                    }
                    None => match base {
                        Some(b) => (id, Some((b.etag.clone(), Some(b.json.clone()))), false),
                        None => return Err(Refused::NotFound),
                    },
                }
            }
        };
        let before = current.as_ref().and_then(|(_, c)| c.clone());
        if let (Some(expected), Some((etag, _))) = (if_match, &current) {
            if !if_match_accepts(expected, etag) {
                return Err(Refused::Precondition(etag.clone()));
            }
        }
        // The id keeps its JSON type (a file's numeric id stays a number).
        let id_value = before.as_ref().and_then(|b| b.get("id").cloned()).unwrap_or_else(|| Json::String(id.clone()));
        let (op, after, checked) = match action {
            Action::Create(f) => ("create", Some(with_id(f.clone(), &id_value)), None),
            Action::Replace(f) => ("replace", Some(with_id(f.clone(), &id_value)), None),
            Action::Patch(patch) => {
                let mut merged = before.clone().unwrap_or_default();
                merge_patch(&mut merged, patch);
                let merged = with_id(merged, &id_value);
                let checked = EditedFeature::parse(&merged).map_err(Refused::Invalid)?;
                ("update", Some(merged), Some(checked))
            }
            Action::Delete => ("delete", None, None),
        };
        let mut bboxes = Vec::new();
        bboxes.extend(before.as_ref().and_then(bbox));
        // The new state parsed once: its box and the overlay's feature.
        let feature = checked.or_else(|| EditedFeature::parse(after.as_ref()?).ok()).map(Arc::new);
        bboxes.extend(feature.as_ref().and_then(|f| f.bbox()));
        let after_text = after.as_ref().map(|a| a.to_string());
        let change = ChangeRecord {
            seq: 0,
            at: crate::store::now(),
            token: token.clone(),
            op: op.into(),
            kind: "feature".into(),
            layer: Some(layer.clone()),
            id: id.clone(),
            before: before.as_ref().map(|b| b.to_string()),
            after: after_text.clone(),
        };
        let entry = Entry { seq: 0, created, content: after_text.clone().map(Arc::from), feature };
        let write = Write { change, effect: Effect::Feature { created, content: after_text } };
        Ok((write, Pending { key: Some((layer.clone(), id)), entry: Some(entry), content: after, bboxes }))
    }
}

/// The feature with its `id` member set (the id cannot change).
fn with_id(mut f: Json, id: &Json) -> Json {
    if let Json::Object(m) = &mut f {
        m.insert("id".into(), id.clone());
        m.remove("links");
    }
    f
}

/// `If-Match`: `*` or a list of entity tags, one of which is `etag`
/// (strong comparison, RFC 9110 section 13.1.1).
pub fn if_match_accepts(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|t| t == "*" || t == etag)
}
