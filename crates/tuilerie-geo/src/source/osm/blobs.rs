//! The blobs of a PBF file: their offsets (from the headers alone), the
//! file's header checks, and [`for_blobs`], which decodes a list of blobs
//! on every core.

use crate::error::{GeoError, GeoResult};
use osmpbf::{BlobReader, BlobType, ByteOffset, PrimitiveBlock};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

pub(crate) fn osm_error(path: &Path, e: impl std::fmt::Display) -> GeoError {
    GeoError::Osm { path: path.to_path_buf(), message: e.to_string() }
}

/// The data blobs of a file, in file order.
pub(crate) struct BlobIndex {
    pub offsets: Vec<ByteOffset>,
    /// The header says objects are sorted by type then id (all nodes, then
    /// all ways, then all relations), as Geofabrik's extracts are.
    pub sorted: bool,
    /// Size of the file.
    pub bytes: u64,
}

/// Lists the data blobs from their headers (no blob is decoded but the
/// file header, whose required features are checked).
pub(crate) fn index(path: &Path) -> GeoResult<BlobIndex> {
    let bytes = std::fs::metadata(path).map_err(|e| GeoError::io(path, e))?.len();
    let mut reader = BlobReader::seekable_from_path(path).map_err(|e| osm_error(path, e))?;
    let mut offsets = Vec::new();
    let mut header_at = None;
    while let Some(next) = reader.next_header_skip_blob() {
        let (header, offset) = next.map_err(|e| osm_error(path, format_args!("not a valid OSM PBF file: {e}")))?;
        let offset = offset.ok_or_else(|| osm_error(path, "cannot seek in the file"))?;
        match header.blob_type() {
            BlobType::OsmData => offsets.push(offset),
            BlobType::OsmHeader => header_at = Some(offset),
            BlobType::Unknown(_) => {}
        }
    }
    let Some(at) = header_at else {
        return Err(osm_error(path, "not a valid OSM PBF file: no OSMHeader blob"));
    };
    let header = reader
        .blob_from_offset(at)
        .and_then(|b| b.to_headerblock())
        .map_err(|e| osm_error(path, format_args!("OSM PBF header: {e}")))?;
    for f in header.required_features() {
        if !matches!(f.as_str(), "OsmSchema-V0.6" | "DenseNodes") {
            return Err(osm_error(
                path,
                format_args!(
                    "the file requires feature {f:?}, which tuilerie does not read (history files are not supported)"
                ),
            ));
        }
    }
    let sorted = header.optional_features().iter().any(|f| f == "Sort.Type_then_ID");
    Ok(BlobIndex { offsets, sorted, bytes })
}

/// Decodes the blobs at `offsets` (in that order) on every core, calling
/// `f` with each worker's accumulator, the block and the blob's position
/// in `offsets`. Once `stop` is set, no further blob is handed out.
pub(crate) fn for_blobs<T, F>(path: &Path, offsets: &[ByteOffset], stop: Option<&AtomicBool>, f: F) -> GeoResult<Vec<T>>
where
    T: Default + Send,
    F: Fn(&mut T, &PrimitiveBlock, usize) + Sync,
{
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).max(1);
    let mut reader = BlobReader::seekable_from_path(path).map_err(|e| osm_error(path, e))?;
    let (tx, rx) = mpsc::sync_channel::<(usize, osmpbf::Blob)>(threads * 4);
    let rx = Arc::new(Mutex::new(rx));
    let failure: Mutex<Option<GeoError>> = Mutex::new(None);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let rx = rx.clone();
                let (f, failure) = (&f, &failure);
                s.spawn(move || {
                    let mut acc = T::default();
                    loop {
                        let next = rx.lock().ok().and_then(|r| r.recv().ok());
                        let Some((index, blob)) = next else { break };
                        match blob.to_primitiveblock() {
                            Ok(block) => f(&mut acc, &block, index),
                            Err(e) => {
                                let at = blob.offset().map_or(0, |o| o.0);
                                if let Ok(mut slot) = failure.lock() {
                                    slot.get_or_insert_with(|| osm_error(path, format_args!("blob at byte {at}: {e}")));
                                }
                            }
                        }
                    }
                    acc
                })
            })
            .collect();
        let fed: GeoResult<()> = (|| {
            for (index, offset) in offsets.iter().enumerate() {
                if stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
                    break;
                }
                let blob = reader.blob_from_offset(*offset).map_err(|e| osm_error(path, e))?;
                if tx.send((index, blob)).is_err() {
                    break;
                }
            }
            Ok(())
        })();
        drop(tx);
        let parts: Vec<T> =
            workers.into_iter().map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect();
        fed?;
        match failure.lock().ok().and_then(|mut f| f.take()) {
            Some(e) => Err(e),
            None => Ok(parts),
        }
    })
}
