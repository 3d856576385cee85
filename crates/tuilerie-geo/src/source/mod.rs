//! Sources: files that become layers. Each format has its own module; this
//! one picks the reader from the file extension and finds files in folders.

pub mod encoding;
pub mod geojson;
pub mod osm;
pub mod shapefile;

use crate::error::{GeoError, GeoResult};
use crate::layer::Layer;
use crate::options::LoadOptions;
use std::path::{Path, PathBuf};

/// File formats tuilerie reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    GeoJson,
    Shapefile,
    /// OpenStreetMap PBF (`.osm.pbf`): one file, several layers.
    OsmPbf,
}

impl SourceFormat {
    /// The format of `path`, from its extension.
    pub fn of(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "geojson" | "json" => Some(SourceFormat::GeoJson),
            "shp" => Some(SourceFormat::Shapefile),
            "pbf" => Some(SourceFormat::OsmPbf),
            _ => None,
        }
    }
}

/// Loads one file as a layer (blocking: call it off the async runtime).
/// An OSM file gives the first of its layers ([`load_all`] gives them all).
pub fn load(path: &Path, options: LoadOptions) -> GeoResult<Layer> {
    load_all(path, options)
        .into_iter()
        .next()
        .unwrap_or_else(|| Err(GeoError::UnsupportedFormat { path: path.to_path_buf() }))
}

/// Loads every layer of one file: one for GeoJSON and shapefiles, those of
/// [`osm::expand`] for an OSM file (read once for all of them).
pub fn load_all(path: &Path, options: LoadOptions) -> Vec<GeoResult<Layer>> {
    match SourceFormat::of(path) {
        Some(SourceFormat::OsmPbf) => load_group(path, osm::expand(path, options)),
        _ => load_group(path, vec![options]),
    }
}

/// The options of each layer one configured file gives: those of
/// [`osm::expand`] for an OSM file, else the options as given.
pub fn expand(path: &Path, options: LoadOptions) -> Vec<LoadOptions> {
    match SourceFormat::of(path) {
        Some(SourceFormat::OsmPbf) => osm::expand(path, options),
        _ => vec![options],
    }
}

/// Loads the layers configured on one file (one per options, or those of
/// [`osm::expand`] for an OSM file), reading an OSM file once for all the
/// layers with the same osmChange files; each result with its options.
pub fn load_many(path: &Path, options: Vec<LoadOptions>) -> Vec<(LoadOptions, GeoResult<Layer>)> {
    if SourceFormat::of(path) != Some(SourceFormat::OsmPbf) {
        return options.into_iter().map(|o| (o.clone(), load(path, o))).collect();
    }
    let changes = |o: &LoadOptions| o.osm.as_ref().map(|o| o.changes.clone()).unwrap_or_default();
    let mut groups: Vec<Vec<LoadOptions>> = Vec::new();
    for o in options.into_iter().flat_map(|o| osm::expand(path, o)) {
        match groups.iter_mut().find(|g| g.first().is_some_and(|f| changes(f) == changes(&o))) {
            Some(g) => g.push(o),
            None => groups.push(vec![o]),
        }
    }
    groups.into_iter().flat_map(|g| g.clone().into_iter().zip(load_group(path, g))).collect()
}

/// Loads layers that read the same file (several only for OSM files, whose
/// options are already expanded): the file is read once.
pub fn load_group(path: &Path, options: Vec<LoadOptions>) -> Vec<GeoResult<Layer>> {
    // Snapshots first: when every layer of the file has a current one,
    // the file is not read.
    let mut found: Vec<Option<Layer>> = options.iter().map(|o| from_snapshot(path, o)).collect();
    if !found.is_empty() && found.iter().all(Option::is_some) {
        return found.iter_mut().filter_map(Option::take).map(Ok).collect();
    }
    drop(found);
    // The source files' stamps, taken before the file is read, for the
    // snapshots written after (one hash per file for all the layers).
    let mut cache = crate::snapshot::StampCache::new();
    let sources: Vec<Option<crate::snapshot::Sources>> = options
        .iter()
        .map(|o| {
            o.snapshots.as_ref()?;
            crate::snapshot::Sources::take_cached(path, o, &mut cache)
                .map_err(|e| tracing::warn!(path = %path.display(), "no snapshot will be written: {e}"))
                .ok()
        })
        .collect();
    drop(cache);
    let kept = options.clone();
    let results = match SourceFormat::of(path) {
        Some(SourceFormat::OsmPbf) => osm::load_layers(path, options),
        Some(SourceFormat::GeoJson) => options.into_iter().map(|o| geojson::load(path, o)).collect(),
        Some(SourceFormat::Shapefile) => options.into_iter().map(|o| shapefile::load(path, o)).collect(),
        None => vec![Err(GeoError::UnsupportedFormat { path: path.to_path_buf() })],
    };
    for layer in results.iter().flatten() {
        log_loaded(path, layer);
    }
    for ((layer, o), sources) in results.iter().zip(&kept).zip(&sources) {
        if let (Ok(layer), Some(dir), Some(sources)) = (layer, &o.snapshots, sources) {
            let dest = crate::snapshot::path_in(dir, path, o);
            let started = std::time::Instant::now();
            match crate::snapshot::write(&dest, layer, o, sources) {
                Ok(bytes) => tracing::info!(layer = %layer.id(), snapshot = %dest.display(), bytes,
                    ms = started.elapsed().as_millis() as u64, "snapshot written"),
                Err(e) => tracing::warn!(layer = %layer.id(), snapshot = %dest.display(), "snapshot not written: {e}"),
            }
        }
    }
    results
}

/// The layer from a current snapshot, if one is found; a snapshot found
/// and not current or damaged is logged with its reason (the layer is then
/// built from its file).
fn from_snapshot(path: &Path, options: &LoadOptions) -> Option<Layer> {
    match crate::snapshot::open(path, options) {
        crate::snapshot::Found::Layer(layer, file) => {
            tracing::info!(
                layer = %layer.id(),
                path = %path.display(),
                snapshot = %file.display(),
                features = layer.len(),
                ms = layer.meta().load_time.as_millis() as u64,
                "loaded from snapshot"
            );
            Some(*layer)
        }
        crate::snapshot::Found::None => None,
        crate::snapshot::Found::Rejected(all) => {
            // A stale snapshot (the file or the options changed) is the
            // normal course of a reload; a damaged one is worth a warning.
            for (file, reason) in all {
                if reason.contains("damaged") || reason.contains("truncated") || reason.contains("header") {
                    tracing::warn!(path = %path.display(), snapshot = %file.display(), "snapshot ignored, building from the file: {reason}");
                } else {
                    tracing::info!(path = %path.display(), snapshot = %file.display(), "snapshot ignored, building from the file: {reason}");
                }
            }
            None
        }
    }
}

fn log_loaded(path: &Path, layer: &Layer) {
    tracing::info!(
        layer = %layer.id(),
        path = %path.display(),
        features = layer.len(),
        skipped = layer.meta().skipped.total(),
        ms = layer.meta().load_time.as_millis() as u64,
        "loaded"
    );
}

/// Expands files and folders into the list of loadable files: a file is
/// taken as given, a folder contributes every `.geojson`, `.json`, `.shp`
/// and `.osm.pbf` inside it (recursively, hidden entries skipped), in name order.
pub fn discover(paths: &[PathBuf]) -> GeoResult<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| GeoError::io(p, e))?;
        if meta.is_dir() {
            walk(p, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> GeoResult<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| GeoError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if SourceFormat::of(&p).is_some() {
            out.push(p);
        }
    }
    Ok(())
}
