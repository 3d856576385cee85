//! Following the writes of other servers on a shared store (PostgreSQL).
//!
//! The store says when another server committed (`Store::follow`: a
//! `LISTEN/NOTIFY` hint, and a periodic wake-up in case a notice was lost);
//! the committer thread then reads the audit log and the observations after
//! the last sequence number it applied, skips its own writes, and applies
//! the others exactly as its own: the feature states in the overlay (so
//! `If-Match` checks the same ETags on every server, and created ids never
//! collide), the rebuild of their layers with the tiles they touched and
//! their `/events`, the status board. Sequence numbers follow commit order
//! (the store numbers batches under a lock), so reading from the last one
//! applied never skips a write committed late. Maps and tables made or
//! deleted on another server are read again from the store by the
//! rebuilder (`loading::sync_api_resources`).

use super::committer::{etag_of, Committed, Committer, Dirty};
use super::overlay::Entry;
use super::CREATED_PREFIX;
use crate::store::{ChangeRecord, Observed};
use serde_json::Value as Json;
use std::sync::Arc;
use tuilerie_geo::edit::EditedFeature;

/// Changes and observations read at a time.
const PAGE: usize = 1000;

/// The `Dirty` layer name that asks the rebuilder to bring the maps and
/// tables made through the API in line with the store (no layer id is
/// empty).
pub const RESOURCES: &str = "";

impl Committer {
    /// Applies every write of other servers after `applied`.
    pub(super) fn catch_up(&mut self) {
        loop {
            let changes = self.store.changes(self.applied, None, None, PAGE);
            let observations = self.store.observations_since(self.applied, PAGE);
            let (changes, observations) = match (changes, observations) {
                (Ok(c), Ok(o)) => (c, o),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "cannot read the other servers' writes; trying again at the next notice");
                    return;
                }
            };
            if changes.is_empty() && observations.is_empty() {
                return;
            }
            // A full page stops somewhere: go no further than the lower of
            // the full pages' ends, so that nothing between is skipped.
            let full_end = |full: bool, last: Option<i64>| if full { last } else { None };
            let more = changes.len() == PAGE || observations.len() == PAGE;
            let upto = [
                full_end(changes.len() == PAGE, changes.last().map(|c| c.seq)),
                full_end(observations.len() == PAGE, observations.last().map(|o| o.seq)),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or_else(|| changes.last().map_or(0, |c| c.seq).max(observations.last().map_or(0, |o| o.seq)));
            let own = &self.own;
            let changes: Vec<ChangeRecord> =
                changes.into_iter().filter(|c| c.seq <= upto && !own.contains(&c.seq)).collect();
            let observations: Vec<_> =
                observations.into_iter().filter(|o| o.seq <= upto && !own.contains(&o.seq)).collect();
            self.follow_changes(changes);
            if !observations.is_empty() {
                let outcomes = observations.iter().map(|o| Observed::Stored(o.seq)).collect();
                self.observed(observations, Vec::new(), outcomes);
            }
            self.applied = self.applied.max(upto);
            let applied = self.applied;
            self.own.retain(|&s| s > applied);
            if !more {
                return;
            }
        }
    }

    fn follow_changes(&mut self, changes: Vec<ChangeRecord>) {
        let mut dirty: Vec<Dirty> = Vec::new();
        let mut updates = Vec::new();
        let mut resources = false;
        let parse = |t: &Option<String>| t.as_deref().and_then(|t| serde_json::from_str::<Json>(t).ok());
        // What the earlier changes of this page did (a creation and its
        // edits may come in one page): the overlay gets them at the end.
        let mut seen: std::collections::HashMap<(String, String), (i64, bool)> = std::collections::HashMap::new();
        for c in changes {
            let Some(layer) = c.layer.clone().filter(|_| c.kind == "feature") else {
                // A map or a table: the rebuilder reads them from the store.
                resources = true;
                continue;
            };
            let key = (layer.clone(), c.id.clone());
            let known = seen.get(&key).copied().or_else(|| self.overlay.get(&layer, &c.id).map(|e| (e.seq, e.created)));
            if known.is_some_and(|(seq, _)| seq >= c.seq) {
                continue;
            }
            let (before, after) = (parse(&c.before), parse(&c.after));
            let feature = after.as_ref().and_then(|j| EditedFeature::parse(j).ok()).map(Arc::new);
            let created = c.op == "create" || known.is_some_and(|(_, created)| created);
            seen.insert(key, (c.seq, created));
            // Ids this server gives next come after the others' too.
            if let Some(n) = c.id.strip_prefix(CREATED_PREFIX).and_then(|n| n.parse::<i64>().ok()) {
                self.last_number = self.last_number.max(n);
            }
            let bboxes: Vec<[f64; 4]> =
                [&before, &after].into_iter().flatten().filter_map(super::committer::bbox).collect();
            let committed = Committed { seq: c.seq, id: c.id.clone(), etag: etag_of(c.seq), content: after };
            match dirty.iter_mut().find(|d| d.layer == layer) {
                Some(d) => {
                    d.bboxes.extend(bboxes);
                    d.edits.push(committed);
                }
                None => dirty.push(Dirty { layer: layer.clone(), bboxes, edits: vec![committed] }),
            }
            updates.push((layer, c.id, Entry { seq: c.seq, created, content: c.after.map(Arc::from), feature }));
        }
        if !updates.is_empty() {
            self.overlay.apply(updates);
        }
        if resources {
            dirty.push(Dirty { layer: RESOURCES.into(), bboxes: Vec::new(), edits: Vec::new() });
        }
        if !dirty.is_empty() {
            let _ = self.dirty.send(dirty);
        }
    }
}
