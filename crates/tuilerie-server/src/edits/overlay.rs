//! The current state of every edited feature, by layer: what the store's
//! `features` table holds, in memory. The committer is its only writer
//! (after each commit); item reads and layer rebuilds read it.

use crate::store::FeatureRecord;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tuilerie_geo::edit::{Edit, EditedFeature};

/// One edited feature.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// Sequence number of its last change.
    pub seq: i64,
    pub created: bool,
    /// The GeoJSON Feature as stored; `None`: deleted.
    pub content: Option<Arc<str>>,
    /// The same, parsed.
    pub feature: Option<Arc<EditedFeature>>,
}

/// Edited features by layer, then by id.
#[derive(Default)]
pub struct Overlay {
    layers: RwLock<HashMap<String, HashMap<String, Entry>>>,
}

impl Overlay {
    /// The overlay of the store's feature records. A record whose content
    /// no longer parses is logged and left out.
    pub fn load(records: Vec<FeatureRecord>) -> Self {
        let mut layers: HashMap<String, HashMap<String, Entry>> = HashMap::new();
        for r in records {
            let feature = match &r.content {
                None => None,
                Some(c) => match serde_json::from_str(c).ok().and_then(|j| EditedFeature::parse(&j).ok()) {
                    Some(f) => Some(Arc::new(f)),
                    None => {
                        tracing::error!(layer = %r.layer, id = %r.id, "stored feature does not parse; left out");
                        continue;
                    }
                },
            };
            let entry = Entry { seq: r.seq, created: r.created, content: r.content.map(Arc::from), feature };
            layers.entry(r.layer).or_default().insert(r.id, entry);
        }
        Overlay { layers: RwLock::new(layers) }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, HashMap<String, Entry>>> {
        self.layers.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, layer: &str, id: &str) -> Option<Entry> {
        self.read().get(layer)?.get(id).cloned()
    }

    /// Publishes committed states.
    pub fn apply(&self, updates: Vec<(String, String, Entry)>) {
        let mut layers = self.layers.write().unwrap_or_else(|e| e.into_inner());
        for (layer, id, entry) in updates {
            layers.entry(layer).or_default().insert(id, entry);
        }
    }

    /// The edits of `layer`, as the layer rebuild takes them.
    pub fn edits(&self, layer: &str) -> HashMap<String, Edit> {
        self.read()
            .get(layer)
            .map(|m| {
                m.iter()
                    .map(|(id, e)| (id.clone(), Edit { created: e.created, seq: e.seq, feature: e.feature.clone() }))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The edits of `layer` after sequence number `seq`, and the highest
    /// sequence number of all its edits.
    pub fn edits_since(&self, layer: &str, seq: i64) -> (Vec<(String, Edit)>, i64) {
        let layers = self.read();
        let Some(m) = layers.get(layer) else { return (Vec::new(), seq) };
        let mut last = seq;
        let newer = m
            .iter()
            .inspect(|(_, e)| last = last.max(e.seq))
            .filter(|(_, e)| e.seq > seq)
            .map(|(id, e)| (id.clone(), Edit { created: e.created, seq: e.seq, feature: e.feature.clone() }))
            .collect();
        (newer, last)
    }

    /// Whether `layer` has edits.
    pub fn has_edits(&self, layer: &str) -> bool {
        self.read().get(layer).is_some_and(|m| !m.is_empty())
    }

    /// The highest number of a created feature's id (`new-12` → 12).
    pub fn last_number(&self) -> i64 {
        self.read()
            .values()
            .flat_map(|m| m.iter())
            .filter(|(_, e)| e.created)
            .filter_map(|(id, _)| id.strip_prefix(super::CREATED_PREFIX)?.parse::<i64>().ok())
            .max()
            .unwrap_or(0)
    }

    /// Number of edited features of `layer` (deleted ones included).
    pub fn count(&self, layer: &str) -> usize {
        self.read().get(layer).map_or(0, HashMap::len)
    }
}
