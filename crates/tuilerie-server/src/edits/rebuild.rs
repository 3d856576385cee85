//! The rebuilder thread: after each commit, the layers it touched are built
//! again from their file version and their edits, swapped into the
//! catalog (same version: the tile cache stays), and only the tiles the
//! edits changed are dropped. Commits that arrive during a build are taken
//! together by the next one, and rounds of builds start at least
//! [`MIN_GAP`] apart. Thematic maps on those layers are rebuilt.

use super::committer::Dirty;
use crate::AppState;
use std::collections::HashMap;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Instant;
use tuilerie_geo::tiling::invalidate::changed_tiles;

/// Least time from the start of one round of builds to the next: edits
/// that arrive meanwhile are built together, so 100 edits a second on a
/// small layer cost about 10 builds a second, not 100 (reads keep the
/// cores), and become visible at most this much later.
const MIN_GAP: std::time::Duration = std::time::Duration::from_millis(100);

/// More tiles than this for one build: drop the whole cache instead (a new
/// catalog version).
const MAX_TILES: usize = 200_000;

pub(super) fn run(state: AppState, rx: Receiver<Vec<Dirty>>) {
    while let Ok(first) = rx.recv() {
        let round = Instant::now();
        let mut by_layer: HashMap<String, Vec<[f64; 4]>> = HashMap::new();
        let mut add = |batch: Vec<Dirty>| {
            for d in batch {
                by_layer.entry(d.layer).or_default().extend(d.bboxes);
            }
        };
        add(first);
        while let Ok(more) = rx.try_recv() {
            add(more);
        }
        let mut rebuilt = Vec::new();
        for (layer, bboxes) in by_layer {
            if rebuild(&state, &layer, &bboxes) {
                rebuilt.push(layer);
            }
        }
        if let Some(catalog) = state.catalog().filter(|_| !rebuilt.is_empty()) {
            state.maps.rebuild_on(&rebuilt, &catalog, "edited");
        }
        if let Some(rest) = MIN_GAP.checked_sub(round.elapsed()) {
            std::thread::sleep(rest);
        }
    }
}

fn rebuild(state: &AppState, layer: &str, bboxes: &[[f64; 4]]) -> bool {
    let Some(w) = &state.writes else { return false };
    let _build = w.build_lock.lock().unwrap_or_else(|e| e.into_inner());
    let Some((base, options)) = w.base_and_options(layer) else { return false };
    let started = Instant::now();
    let Some(new) = w.build(&base, &options) else { return false };
    let Some(catalog) = state.catalog() else { return false };
    let new = Arc::new(new);
    let old_clusters = catalog.get(layer).and_then(|l| l.tile_prep().clusters());
    let margin = state.options.tiles.buffer as f64 / state.options.tiles.extent.max(1) as f64;
    let tiles = changed_tiles(bboxes, margin, old_clusters, new.tile_prep().clusters(), MAX_TILES);
    let features = new.len();
    match tiles {
        Some(tiles) => {
            let version = catalog.version();
            state.set_catalog(catalog.with_edit(new));
            let dropped = state.tiles.invalidate(layer, &tiles, version);
            tracing::debug!(layer, tiles = tiles.len(), dropped, "edited layer swapped in");
        }
        None => {
            let path = new.meta().source.path.clone();
            state.set_catalog(catalog.with_layer(&path, new));
            state.tiles.invalidate(layer, &[], 0);
            tracing::debug!(layer, "edited layer swapped in; every cached tile dropped");
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    metrics::histogram!("tuilerie_layer_load_duration_seconds", "kind" => "edit").record(seconds);
    metrics::gauge!("tuilerie_layer_features", "layer" => layer.to_string()).set(features as f64);
    true
}
