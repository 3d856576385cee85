//! The live publisher thread: after a commit made observations current,
//! it drops the tiles of those facilities (and only those) and announces
//! the new status on `/events`. Every [`SWEEP`] it also announces the
//! readings that turned stale (their tiles change too), and every
//! [`PRUNE_EVERY`] it deletes the history older than each layer's
//! retention. (Readings turning stale are not events: an event is a
//! change of the store, numbered by it; clients see `observed_at`.)

use crate::status::events::{tiles_of, Event};
use crate::status::{now_ms, observation_json};
use crate::store::ObservationRecord;
use crate::AppState;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tuilerie_geo::tiling::invalidate::changed_tiles;

/// How often readings that turned stale are looked for.
const SWEEP: Duration = Duration::from_secs(5);

/// How often old observations are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Least time from one round of announcements to the next: changes that
/// arrive meanwhile are announced together, each facility once with its
/// latest status (a sensor posting every second costs subscribers at most
/// ten events a second, and hot tiles are dropped at most that often).
const MIN_GAP: Duration = Duration::from_millis(100);

/// Most tiles dropped for one facility before the layer's tiles all go.
const MAX_TILES: usize = 10_000;

pub(super) fn run(state: AppState, rx: Receiver<Vec<ObservationRecord>>) {
    let mut last_sweep = now_ms();
    // The first pruning a minute after the start, off the start's work.
    let mut last_prune = Instant::now().checked_sub(PRUNE_EVERY - Duration::from_secs(60)).unwrap_or_else(Instant::now);
    loop {
        match rx.recv_timeout(SWEEP) {
            Ok(first) => {
                let round = Instant::now();
                let mut all = first;
                while let Ok(more) = rx.try_recv() {
                    all.extend(more);
                }
                let changes = all.into_iter().map(|o| ((o.layer.clone(), o.feature.clone()), Some(o))).collect();
                publish(&state, changes);
                if let Some(rest) = MIN_GAP.checked_sub(round.elapsed()) {
                    std::thread::sleep(rest);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let now = now_ms();
        if now - last_sweep >= SWEEP.as_millis() as i64 {
            if let Some(w) = &state.writes {
                let stale = w.board.turned_stale(last_sweep, now);
                publish(&state, stale.into_iter().map(|k| (k, None)).collect());
            }
            last_sweep = now;
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            prune(&state);
            last_prune = Instant::now();
        }
    }
}

/// Drops the tiles of each changed facility and announces its status, in
/// the order of the store's sequence.
fn publish(state: &AppState, changes: Vec<((String, String), Option<ObservationRecord>)>) {
    let (Some(w), Some(catalog)) = (&state.writes, state.catalog()) else { return };
    // The last change of each facility (changes come in sequence order).
    let last: BTreeMap<(String, String), Option<ObservationRecord>> = changes.into_iter().collect();
    let margin = state.options.tiles.buffer as f64 / state.options.tiles.extent.max(1) as f64;
    let now = now_ms();
    // Without subscribers, only the tiles change (no event is built).
    let listened = w.hub.subscribers() > 0;
    let mut events = Vec::new();
    for ((layer_id, fid), o) in last {
        let Some(layer) = catalog.get(&layer_id) else { continue };
        let Some((etag, mut feature)) = crate::edits::current(Some(w), layer, &fid) else { continue };
        let options = w.board.options(&layer_id);
        let status = w.board.with(&layer_id, &fid, |s| s.to_json(&options, now)).unwrap_or_else(|| json!({}));
        feature["status"] = status;
        let bbox = tuilerie_geo::edit::EditedFeature::parse(&feature).ok().and_then(|f| f.bbox());
        if let Some(b) = bbox {
            let clusters = layer.clusters();
            match changed_tiles(&[b], margin, clusters, layer.clusters(), MAX_TILES) {
                Some(tiles) => state.tiles.invalidate(&layer_id, &tiles, catalog.version()),
                None => state.tiles.invalidate(&layer_id, &[], 0),
            };
        }
        if !listened {
            continue;
        }
        let settings = layer.tile_prep().settings();
        let tiles = bbox.map(|b| tiles_of(b, settings.minzoom, settings.maxzoom)).unwrap_or_default();
        // A reading turning stale changes tiles only: events are changes
        // of the store, numbered by it.
        let Some(id) = o.as_ref().map(|o| o.seq) else { continue };
        let data = json!({
            "type": "status",
            "id": id,
            "layer": layer_id,
            "feature_id": fid,
            "etag": etag,
            "observation": o.as_ref().map(observation_json),
            "feature": feature,
            "tiles": tiles,
        });
        events.push(Arc::new(Event { id, kind: "status", layer: layer_id, bbox, data: data.to_string() }));
    }
    events.sort_by_key(|e| e.id);
    w.hub.publish(events);
}

/// Announces committed edits of `layer` once it is swapped in.
pub(super) fn announce_edits(
    state: &AppState,
    layer_id: &str,
    bboxes: &[[f64; 4]],
    edits: &[super::committer::Committed],
) {
    let (Some(w), Some(catalog)) = (&state.writes, state.catalog()) else { return };
    let bbox = bboxes.iter().copied().reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])]);
    let tiles = match (bbox, catalog.get(layer_id)) {
        (Some(b), Some(l)) => tiles_of(b, l.tile_prep().settings().minzoom, l.tile_prep().settings().maxzoom),
        _ => Vec::new(),
    };
    let events = edits
        .iter()
        .map(|c| {
            let data = json!({
                "type": "feature",
                "id": c.seq,
                "layer": layer_id,
                "feature_id": c.id,
                "etag": c.etag,
                "deleted": c.content.is_none(),
                "feature": c.content,
                "tiles": tiles,
            });
            Arc::new(Event { id: c.seq, kind: "feature", layer: layer_id.to_string(), bbox, data: data.to_string() })
        })
        .collect();
    w.hub.publish(events);
}

/// Deletes the observations older than each layer's retention (the
/// current ones stay).
fn prune(state: &AppState) {
    let Some(w) = &state.writes else { return };
    let now = now_ms();
    for (layer, o) in w.board.layer_options() {
        match w.store.prune_observations(&layer, now - o.retention_ms) {
            Ok(0) => {}
            Ok(n) => tracing::info!(layer, deleted = n, "observations older than the retention deleted"),
            Err(e) => tracing::warn!(layer, error = %e, "old observations not deleted"),
        }
    }
}
