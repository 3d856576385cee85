//! The rebuilder thread: after each commit, the layers it touched get
//! their newer edits laid over their last full build (a point layer; any
//! other is built again in full), are swapped into the catalog (same
//! version: the tile cache stays), and only the tiles the edits changed
//! are dropped. Commits that arrive during a round are taken together by
//! the next one, and rounds start at least [`MIN_GAP`] apart. A layer is
//! built in full again (compacted) past [`super::compact_at`] edits laid
//! over, and after [`IDLE_COMPACTION`] without edits. Thematic maps on
//! those layers are rebuilt.

use super::committer::Dirty;
use crate::AppState;
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Instant;
use tuilerie_geo::tiling::invalidate::changed_tiles;

/// Least time from the start of one round of builds to the next: edits
/// that arrive meanwhile are taken together, so 100 edits a second cost
/// about 10 rounds a second, not 100, and each cached tile they touch (hot
/// tiles included) is dropped at most 10 times a second; they become
/// visible at most this much later. (Laying a few edits over a layer takes
/// about a millisecond: a shorter gap would show them sooner, measured at
/// 10 ms, but costs reads under a steady flow of edits.)
const MIN_GAP: std::time::Duration = std::time::Duration::from_millis(100);

/// More tiles than this for one build: drop the whole cache instead (a new
/// catalog version).
const MAX_TILES: usize = 200_000;

/// Quiet time after which a layer with edits laid over it is built in
/// full (compaction): its clusters become those of a build from scratch.
const IDLE_COMPACTION: std::time::Duration = std::time::Duration::from_secs(3);

pub(super) fn run(state: AppState, rx: Receiver<Vec<Dirty>>) {
    // Layers with edits laid over their last full build, and the boxes of
    // those edits: a full build places them otherwise (an edited file
    // feature where the file has it, not after the others), so the tiles
    // cached from the overlaid layer are dropped then too.
    let mut overlaid: HashMap<String, Vec<[f64; 4]>> = HashMap::new();
    loop {
        let first = match rx.recv_timeout(IDLE_COMPACTION) {
            Ok(first) => first,
            Err(RecvTimeoutError::Timeout) => {
                for (layer, boxes) in std::mem::take(&mut overlaid) {
                    if rebuild(&state, &layer, &[], &boxes, true) {
                        if let Some(catalog) = state.catalog() {
                            state.maps.rebuild_on(std::slice::from_ref(&layer), &catalog, "compacted");
                        }
                    }
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let round = Instant::now();
        let mut by_layer: HashMap<String, (Vec<[f64; 4]>, Vec<super::committer::Committed>)> = HashMap::new();
        let mut add = |batch: Vec<Dirty>| {
            for d in batch {
                let e = by_layer.entry(d.layer).or_default();
                e.0.extend(d.bboxes);
                e.1.extend(d.edits);
            }
        };
        add(first);
        while let Ok(more) = rx.try_recv() {
            add(more);
        }
        let mut rebuilt = Vec::new();
        for (layer, (bboxes, edits)) in by_layer {
            if layer == super::follow::RESOURCES {
                crate::loading::sync_api_resources(&state);
                continue;
            }
            let was = overlaid.remove(&layer);
            let since_full = was.as_deref().unwrap_or_default();
            if rebuild(&state, &layer, &bboxes, since_full, false) {
                if state.catalog().and_then(|c| c.get(&layer).map(|l| l.has_delta())).unwrap_or(false) {
                    overlaid.insert(layer.clone(), [since_full, &bboxes].concat());
                }
                rebuilt.push(layer.clone());
            } else if let Some(boxes) = was {
                // Nothing swapped in: still overlaid as before.
                overlaid.insert(layer.clone(), boxes);
            }
            // Visible in tiles and queries now: announced.
            super::live::announce_edits(&state, &layer, &bboxes, &edits);
        }
        if let Some(catalog) = state.catalog().filter(|_| !rebuilt.is_empty()) {
            state.maps.rebuild_on(&rebuilt, &catalog, "edited");
        }
        if let Some(rest) = MIN_GAP.checked_sub(round.elapsed()) {
            std::thread::sleep(rest);
        }
    }
}

/// Swaps `layer` under its current edits into the catalog (built in full
/// when `compact`) and drops the tiles that changed: those of `bboxes`,
/// and of `since_full` (the edits laid over since the last full build)
/// when the layer is built in full.
fn rebuild(state: &AppState, layer: &str, bboxes: &[[f64; 4]], since_full: &[[f64; 4]], compact: bool) -> bool {
    let Some(w) = &state.writes else { return false };
    let _build = w.build_lock.lock().unwrap_or_else(|e| e.into_inner());
    let started = Instant::now();
    let Some(new) = w.current(layer, compact) else { return false };
    let Some(catalog) = state.catalog() else { return false };
    let old = catalog.get(layer).cloned();
    if old.as_ref().is_some_and(|o| Arc::ptr_eq(o, &new)) {
        return false;
    }
    let margin = state.options.tiles.buffer as f64 / state.options.tiles.extent.max(1) as f64;
    let boxes = if new.has_delta() { bboxes.to_vec() } else { [bboxes, since_full].concat() };
    let tiles = changed_tiles(&boxes, margin, old.as_ref().and_then(|l| l.clusters()), new.clusters(), MAX_TILES);
    let features = new.len();
    let kind = if new.has_delta() { "overlay" } else { "full" };
    match tiles {
        Some(tiles) => {
            let version = catalog.version();
            state.set_catalog(catalog.with_edit(new));
            let dropped = state.tiles.invalidate(layer, &tiles, version);
            tracing::debug!(layer, kind, tiles = tiles.len(), dropped, "edited layer swapped in");
        }
        None => {
            let path = new.meta().source.path.clone();
            state.set_catalog(catalog.with_layer(&path, new));
            state.tiles.invalidate(layer, &[], 0);
            tracing::debug!(layer, kind, "edited layer swapped in; every cached tile dropped");
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    metrics::histogram!("tuilerie_layer_load_duration_seconds", "kind" => if kind == "full" { "edit" } else { "edit_overlay" }).record(seconds);
    metrics::gauge!("tuilerie_layer_features", "layer" => layer.to_string()).set(features as f64);
    true
}
