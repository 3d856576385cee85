//! Loading the configured layers off the async runtime, with a progress bar
//! that appears only when loading takes more than about a second.

use crate::config::LayerConfig;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tuilerie_geo::{Catalog, ProgressFn};

/// The layers of the configuration, then a layer for each file of `paths`
/// (folders searched) that the configuration does not name.
pub fn configured_layers(
    config: &crate::config::Config,
    paths: &[std::path::PathBuf],
) -> anyhow::Result<Vec<LayerConfig>> {
    let mut layers: Vec<LayerConfig> = config.layers.clone();
    for f in tuilerie_geo::discover(paths)? {
        if !layers.iter().any(|l| crate::config::same_file(&l.path, &f)) {
            layers.push(LayerConfig::for_path(f));
        }
    }
    Ok(layers)
}

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
    config_file: Option<&std::path::Path>,
) {
    let mut configured = Vec::new();
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
                configured.push(e.map.id.clone());
                for w in &e.map.warnings {
                    tracing::warn!(map = %e.map.id, "{w}");
                }
                tracing::info!(map = %e.map.id, classes = e.map.classes.breaks.len(), no_data = e.map.classes.no_data, "map built");
            }
            Err(e) => {
                tracing::error!(map = %id, "skipped map: {e}");
                configured.push(id.clone());
                state.maps.record_failure(id, &e);
            }
        }
    }
    if let Some(file) = config_file {
        let table_ids: Vec<String> = tables.iter().map(|t| t.id.clone()).collect();
        state.maps.set_configured(&configured, &table_ids, file);
    }
}

/// Registers the editable layers with the write path and returns the
/// catalog with each one under its stored edits (before it is published:
/// a ready server never serves a layer without its edits).
pub fn apply_edits(state: &crate::AppState, catalog: Catalog, layers: &[LayerConfig]) -> Catalog {
    let Some(w) = &state.writes else { return catalog };
    for l in layers {
        let Ok(status) = l.status_options() else { continue };
        for o in tuilerie_geo::source::expand(&l.path, l.load_options()) {
            let id = match &o.id {
                Some(id) => Some(id.to_string()),
                None => catalog
                    .layers()
                    .iter()
                    .find(|x| crate::config::same_file(&x.meta().source.path, &l.path))
                    .map(|x| x.id().to_string()),
            };
            if let Some(id) = id {
                w.board.set_options(&id, status);
            }
        }
    }
    let mut catalog = catalog;
    // One entry may give several layers (an OSM file): each by its id.
    let each = layers
        .iter()
        .filter(|l| l.editable)
        .flat_map(|l| tuilerie_geo::source::expand(&l.path, l.load_options()).into_iter().map(move |o| (l, o)));
    for (l, options) in each {
        let loaded = match &options.id {
            Some(id) => catalog.get(id.as_str()).cloned(),
            None => catalog.layers().iter().find(|x| crate::config::same_file(&x.meta().source.path, &l.path)).cloned(),
        };
        let Some(loaded) = loaded else { continue };
        let edited = w.set_base(loaded.clone(), options);
        let conflicts = w.conflicts(loaded.id().as_str());
        tracing::info!(
            layer = %loaded.id(),
            edits = w.overlay.count(loaded.id().as_str()),
            conflicts = conflicts.len(),
            "editable layer"
        );
        if !Arc::ptr_eq(&edited, &loaded) {
            catalog = catalog.with_edit(edited);
        }
    }
    catalog
}

/// Restores the tables and maps created through the API (after the
/// configured ones): same ids, same answers as before the restart.
pub fn restore_api_resources(state: &crate::AppState) {
    let (Some(w), Some(catalog)) = (&state.writes, state.catalog()) else { return };
    match w.store.tables() {
        Ok(tables) => {
            for t in tables {
                match tuilerie_geo::thematic::Table::parse_with(&t.text, &t.bytes, state.options.limits.table()) {
                    Ok(table) => {
                        if let Err(e) = state.maps.put_table(t.id.clone(), table) {
                            tracing::error!(table = %t.id, "stored table not restored: {e}");
                        }
                    }
                    Err(e) => tracing::error!(table = %t.id, "stored table not restored: {}", e.message),
                }
            }
        }
        Err(e) => tracing::error!("cannot read the stored tables: {e}"),
    }
    match w.store.maps() {
        Ok(maps) => {
            for m in maps {
                let built = serde_json::from_str::<tuilerie_geo::thematic::MapDefinition>(&m.text)
                    .map_err(|e| e.to_string())
                    .and_then(|d| state.maps.build(d, &catalog).map_err(|e| e.to_string()));
                match built {
                    Ok(_) => tracing::info!(map = %m.id, "stored map restored"),
                    Err(e) => {
                        tracing::error!(map = %m.id, "stored map not restored: {e}");
                        state
                            .maps
                            .record_failure(m.id.clone(), &tuilerie_geo::thematic::ThematicError::new("definition", e));
                    }
                }
            }
        }
        Err(e) => tracing::error!("cannot read the stored maps: {e}"),
    }
}

/// The maps and tables made through the API brought in line with the store
/// (another server on a shared store made, replaced or deleted some): those
/// gone from the store removed here (maps first: they join tables), then
/// every stored one put again.
pub fn sync_api_resources(state: &crate::AppState) {
    let Some(w) = &state.writes else { return };
    let (tables, maps) = match (w.store.tables(), w.store.maps()) {
        (Ok(t), Ok(m)) => (t, m),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!("cannot read the maps and tables another server changed: {e}");
            return;
        }
    };
    let stored_maps: std::collections::HashSet<&str> = maps.iter().map(|m| m.id.as_str()).collect();
    let stored_tables: std::collections::HashSet<&str> = tables.iter().map(|t| t.id.as_str()).collect();
    for e in state.maps.list() {
        let id = e.map.id.as_str();
        if state.maps.configured_map(id).is_none() && !stored_maps.contains(id) {
            state.maps.remove(id);
        }
    }
    for (id, _) in state.maps.tables() {
        if state.maps.configured_table(&id).is_none() && !stored_tables.contains(id.as_str()) {
            let _ = state.maps.remove_table(&id);
        }
    }
    restore_api_resources(state);
}
