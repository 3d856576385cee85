//! Sources: files that become layers. Each format has its own module; this
//! one picks the reader from the file extension and finds files in folders.

pub mod encoding;
pub mod geojson;
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
}

impl SourceFormat {
    /// The format of `path`, from its extension.
    pub fn of(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "geojson" | "json" => Some(SourceFormat::GeoJson),
            "shp" => Some(SourceFormat::Shapefile),
            _ => None,
        }
    }
}

/// Loads one file as a layer (blocking: call it off the async runtime).
pub fn load(path: &Path, options: LoadOptions) -> GeoResult<Layer> {
    let layer = match SourceFormat::of(path) {
        Some(SourceFormat::GeoJson) => geojson::load(path, options),
        Some(SourceFormat::Shapefile) => shapefile::load(path, options),
        None => Err(GeoError::UnsupportedFormat { path: path.to_path_buf() }),
    }?;
    tracing::info!(
        layer = %layer.id(),
        path = %path.display(),
        features = layer.len(),
        skipped = layer.meta().skipped.total(),
        ms = layer.meta().load_time.as_millis() as u64,
        "loaded"
    );
    Ok(layer)
}

/// Expands files and folders into the list of loadable files: a file is
/// taken as given, a folder contributes every `.geojson`, `.json` and `.shp`
/// inside it (recursively, hidden entries skipped), in name order.
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
