//! Reading an `.osm.pbf` extract: the objects the layers want, and only the
//! node locations and member ways those objects need.
//!
//! Passes over the blobs, each decoded in parallel on every core:
//! 1. every blob: tagged objects that pass a layer's filter (nodes with
//!    their location, ways with their node ids, area relations with their
//!    members), and what kind of objects each blob holds;
//! 2. blobs with ways, only if relations need ways no filter kept: their
//!    node ids;
//! 3. blobs with nodes, only if ways were kept: the locations of the nodes
//!    those ways use.
//!
//! Memory is proportional to what is kept, never to the file's node count.

use super::change::{ChangeSet, OsmKind};
use super::{Member, OsmGeometry, OsmObject, Wanted};
use crate::error::{GeoError, GeoResult};
use hashbrown::{HashMap, HashSet};
use osmpbf::{BlobReader, BlobType, ByteOffset, PrimitiveBlock};
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

/// What a scan keeps: objects by kind, sorted by id, plus the locations and
/// member ways they refer to.
#[derive(Default)]
pub(crate) struct Extract {
    pub nodes: Vec<OsmObject>,
    pub ways: Vec<OsmObject>,
    pub relations: Vec<OsmObject>,
    /// Node ids of the ways relations use that no filter kept.
    pub member_ways: HashMap<i64, Vec<i64>>,
    /// Locations (1e-7 degree) of the nodes kept ways and member ways use.
    pub locations: HashMap<i64, (i32, i32)>,
    /// Bytes of PBF read.
    pub bytes: u64,
}

/// Which kinds of objects a blob holds (pass 1 notes it, later passes skip
/// blobs without the kind they look for).
#[derive(Clone, Copy, Default)]
struct BlobKinds {
    nodes: bool,
    ways: bool,
}

/// The per-layer tests of pass 1.
struct Selector<'w> {
    wanted: &'w [Wanted],
}

impl Selector<'_> {
    /// The layers (bits) whose filter `tags` pass, among those that take
    /// objects of geometry `accepts`.
    fn mask(&self, tags: &[(&[u8], &[u8])], accepts: impl Fn(OsmGeometry) -> bool) -> u64 {
        let mut mask = 0;
        for (i, w) in self.wanted.iter().enumerate() {
            if accepts(w.geometry) && w.filter.matches(tags) {
                mask |= 1 << i;
            }
        }
        mask
    }
}

fn takes_nodes(g: OsmGeometry) -> bool {
    matches!(g, OsmGeometry::Point | OsmGeometry::Any)
}

fn takes_ways(g: OsmGeometry) -> bool {
    !matches!(g, OsmGeometry::Point)
}

fn takes_areas(g: OsmGeometry) -> bool {
    matches!(g, OsmGeometry::Polygon | OsmGeometry::Any)
}

/// Whether a relation is assembled as an area (as osmium does).
pub(crate) fn is_area_relation(tags: &[(&[u8], &[u8])]) -> bool {
    tags.iter().any(|(k, v)| *k == b"type" && (*v == b"multipolygon" || *v == b"boundary"))
}

fn osm_error(path: &Path, e: impl std::fmt::Display) -> GeoError {
    GeoError::Osm { path: path.to_path_buf(), message: e.to_string() }
}

/// Reads `path`: the objects `wanted` asks for, with `changes` laid over
/// the file (a changed object is taken from the changes, not the file).
pub(crate) fn scan(
    path: &Path,
    wanted: &[Wanted],
    changes: &ChangeSet,
) -> GeoResult<(Extract, HashSet<(OsmKind, i64)>)> {
    let selector = Selector { wanted };
    // Pass 1.
    let first = for_blobs(path, None, |acc: &mut First, block, index, offset| {
        acc.pass1(&selector, changes, block, index, offset);
    })?;
    let mut extract = Extract { bytes: first.bytes, ..Default::default() };
    let mut blobs: Vec<(usize, ByteOffset, BlobKinds)> = Vec::new();
    let mut seen_changed = HashSet::new();
    for part in first.parts {
        extract.nodes.extend(part.nodes);
        extract.ways.extend(part.ways);
        extract.relations.extend(part.relations);
        blobs.extend(part.blobs);
        seen_changed.extend(part.seen_changed);
    }
    // Changed objects in their new version.
    for (key, object) in changes.current() {
        let tags = object.tag_bytes();
        let (kind, id) = *key;
        let accepts: fn(OsmGeometry) -> bool = match kind {
            OsmKind::Node => takes_nodes,
            OsmKind::Way => takes_ways,
            OsmKind::Relation if is_area_relation(&tags) => takes_areas,
            OsmKind::Relation => |_| false,
        };
        let mask = selector.mask(&tags, accepts);
        if mask != 0 {
            let mut o = object.clone();
            o.id = id;
            o.layers = mask;
            match kind {
                OsmKind::Node => extract.nodes.push(o),
                OsmKind::Way => extract.ways.push(o),
                OsmKind::Relation => extract.relations.push(o),
            }
        }
    }
    blobs.sort_by_key(|b| b.0);
    for list in [&mut extract.nodes, &mut extract.ways, &mut extract.relations] {
        list.sort_unstable_by_key(|o| o.id);
    }

    // Pass 2: ways relations need that no filter kept.
    let kept_ways: HashSet<i64> = extract.ways.iter().map(|w| w.id).collect();
    let mut needed_ways: HashSet<i64> = HashSet::new();
    for r in &extract.relations {
        for m in r.members() {
            if let Member::Way(id, _) = m {
                if !kept_ways.contains(id) {
                    needed_ways.insert(*id);
                }
            }
        }
    }
    for id in needed_ways.clone() {
        match changes.get(OsmKind::Way, id) {
            Some(Some(w)) => {
                extract.member_ways.insert(id, w.refs().to_vec());
                needed_ways.remove(&id);
            }
            Some(None) => {
                needed_ways.remove(&id);
            }
            None => {}
        }
    }
    if !needed_ways.is_empty() {
        let offsets: Vec<ByteOffset> = blobs.iter().filter(|b| b.2.ways).map(|b| b.1).collect();
        let found = for_blobs(path, Some(&offsets), |acc: &mut Vec<(i64, Vec<i64>)>, block, _, _| {
            for g in block.groups() {
                for w in g.ways() {
                    if needed_ways.contains(&w.id()) {
                        acc.push((w.id(), w.refs().collect()));
                    }
                }
            }
        })?;
        for part in found.parts {
            extract.member_ways.extend(part);
        }
    }

    // Pass 3: locations of the nodes of kept ways and member ways.
    let mut needed_nodes: HashSet<i64> = HashSet::new();
    for w in &extract.ways {
        needed_nodes.extend(w.refs().iter().copied());
    }
    for refs in extract.member_ways.values() {
        needed_nodes.extend(refs.iter().copied());
    }
    needed_nodes.retain(|id| match changes.get(OsmKind::Node, *id) {
        Some(Some(n)) => {
            if let Some(loc) = n.location() {
                extract.locations.insert(*id, loc);
            }
            false
        }
        Some(None) => false,
        None => true,
    });
    if !needed_nodes.is_empty() {
        let offsets: Vec<ByteOffset> = blobs.iter().filter(|b| b.2.nodes).map(|b| b.1).collect();
        let found = for_blobs(path, Some(&offsets), |acc: &mut Vec<(i64, (i32, i32))>, block, _, _| {
            for g in block.groups() {
                for n in g.dense_nodes() {
                    if needed_nodes.contains(&n.id()) {
                        acc.push((n.id(), (n.decimicro_lon(), n.decimicro_lat())));
                    }
                }
                for n in g.nodes() {
                    if needed_nodes.contains(&n.id()) {
                        acc.push((n.id(), (n.decimicro_lon(), n.decimicro_lat())));
                    }
                }
            }
        })?;
        for part in found.parts {
            extract.locations.extend(part);
        }
    }
    Ok((extract, seen_changed))
}

/// What one worker of pass 1 keeps.
#[derive(Default)]
struct First {
    nodes: Vec<OsmObject>,
    ways: Vec<OsmObject>,
    relations: Vec<OsmObject>,
    blobs: Vec<(usize, ByteOffset, BlobKinds)>,
    /// Changed objects the file holds (a change to one it lacks is counted).
    seen_changed: Vec<(OsmKind, i64)>,
}

impl First {
    fn pass1(
        &mut self,
        selector: &Selector,
        changes: &ChangeSet,
        block: &PrimitiveBlock,
        index: usize,
        offset: ByteOffset,
    ) {
        let strings = block.raw_stringtable();
        let text = |i: usize| strings.get(i).map_or(&b""[..], |s| s.as_slice());
        let mut kinds = BlobKinds::default();
        let mut tags: Vec<(&[u8], &[u8])> = Vec::with_capacity(16);
        let empty_passes = selector.mask(&[], takes_nodes) != 0;
        let has_changes = !changes.is_empty();
        for g in block.groups() {
            for n in g.dense_nodes() {
                kinds.nodes = true;
                if has_changes && changes.contains(OsmKind::Node, n.id()) {
                    self.seen_changed.push((OsmKind::Node, n.id()));
                    continue;
                }
                tags.clear();
                tags.extend(n.raw_tags().map(|(k, v)| (text(k as usize), text(v as usize))));
                if tags.is_empty() && !empty_passes {
                    continue;
                }
                let mask = selector.mask(&tags, takes_nodes);
                if mask != 0 {
                    let (version, ts) = n.info().map_or((0, None), |i| (i.version(), Some(i.milli_timestamp())));
                    let mut o = OsmObject::new(n.id(), &tags, version, ts, mask);
                    o.set_location((n.decimicro_lon(), n.decimicro_lat()));
                    self.nodes.push(o);
                }
            }
            for n in g.nodes() {
                kinds.nodes = true;
                tags.clear();
                tags.extend(n.raw_tags().map(|(k, v)| (text(k as usize), text(v as usize))));
                if has_changes && changes.contains(OsmKind::Node, n.id()) {
                    self.seen_changed.push((OsmKind::Node, n.id()));
                    continue;
                }
                let mask = selector.mask(&tags, takes_nodes);
                if mask != 0 {
                    let info = n.info();
                    let mut o =
                        OsmObject::new(n.id(), &tags, info.version().unwrap_or(0), info.milli_timestamp(), mask);
                    o.set_location((n.decimicro_lon(), n.decimicro_lat()));
                    self.nodes.push(o);
                }
            }
            for w in g.ways() {
                kinds.ways = true;
                if has_changes && changes.contains(OsmKind::Way, w.id()) {
                    self.seen_changed.push((OsmKind::Way, w.id()));
                    continue;
                }
                tags.clear();
                tags.extend(w.raw_tags().map(|(k, v)| (text(k as usize), text(v as usize))));
                let mask = selector.mask(&tags, takes_ways);
                if mask != 0 {
                    let info = w.info();
                    let mut o =
                        OsmObject::new(w.id(), &tags, info.version().unwrap_or(0), info.milli_timestamp(), mask);
                    o.set_refs(w.refs().collect());
                    self.ways.push(o);
                }
            }
            for r in g.relations() {
                if has_changes && changes.contains(OsmKind::Relation, r.id()) {
                    self.seen_changed.push((OsmKind::Relation, r.id()));
                    continue;
                }
                tags.clear();
                tags.extend(r.raw_tags().map(|(k, v)| (text(k as usize), text(v as usize))));
                if !is_area_relation(&tags) {
                    continue;
                }
                let mask = selector.mask(&tags, takes_areas);
                if mask != 0 {
                    let info = r.info();
                    let mut o =
                        OsmObject::new(r.id(), &tags, info.version().unwrap_or(0), info.milli_timestamp(), mask);
                    let members = r
                        .members()
                        .map(|m| match m.member_type {
                            osmpbf::RelMemberType::Way => Member::Way(
                                m.member_id,
                                String::from_utf8_lossy(text(m.role_sid as usize)).into_owned(),
                            ),
                            osmpbf::RelMemberType::Node => Member::Other,
                            osmpbf::RelMemberType::Relation => Member::Other,
                        })
                        .collect();
                    o.set_members(members);
                    self.relations.push(o);
                }
            }
        }
        self.blobs.push((index, offset, kinds));
    }
}

/// Results of a parallel pass: one accumulator per worker, and the size of
/// the file.
struct Pass<T> {
    parts: Vec<T>,
    bytes: u64,
}

/// Decodes the data blobs of `path` (all of them, or those at `offsets`)
/// on every core, calling `f` with each worker's accumulator, the block,
/// its position among the file's blobs and its offset.
fn for_blobs<T, F>(path: &Path, offsets: Option<&[ByteOffset]>, f: F) -> GeoResult<Pass<T>>
where
    T: Default + Send,
    F: Fn(&mut T, &PrimitiveBlock, usize, ByteOffset) + Sync,
{
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).max(1);
    let mut reader = BlobReader::seekable_from_path(path).map_err(|e| osm_error(path, e))?;
    let (tx, rx) = mpsc::sync_channel::<(usize, osmpbf::Blob)>(threads * 4);
    let rx = Arc::new(Mutex::new(rx));
    let failure: Mutex<Option<GeoError>> = Mutex::new(None);
    let bytes = std::fs::metadata(path).map_err(|e| GeoError::io(path, e))?.len();
    let parts = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let rx = rx.clone();
                let (f, failure) = (&f, &failure);
                s.spawn(move || {
                    let mut acc = T::default();
                    loop {
                        let next = rx.lock().ok().and_then(|r| r.recv().ok());
                        let Some((index, blob)) = next else { break };
                        let offset = blob.offset().unwrap_or(ByteOffset(0));
                        match blob.to_primitiveblock() {
                            Ok(block) => f(&mut acc, &block, index, offset),
                            Err(e) => {
                                if let Ok(mut slot) = failure.lock() {
                                    slot.get_or_insert_with(|| {
                                        osm_error(path, format_args!("blob at byte {}: {e}", offset.0))
                                    });
                                }
                            }
                        }
                    }
                    acc
                })
            })
            .collect();
        let send = |index: usize, blob: osmpbf::Blob| tx.send((index, blob)).is_ok();
        let result: GeoResult<()> = (|| {
            match offsets {
                None => {
                    for (index, blob) in reader.by_ref().enumerate() {
                        let blob = blob.map_err(|e| osm_error(path, e))?;
                        match blob.get_type() {
                            BlobType::OsmData => {
                                if !send(index, blob) {
                                    break;
                                }
                            }
                            BlobType::OsmHeader => check_header(path, &blob)?,
                            BlobType::Unknown(_) => {}
                        }
                    }
                }
                Some(list) => {
                    for (index, offset) in list.iter().enumerate() {
                        let blob = reader.blob_from_offset(*offset).map_err(|e| osm_error(path, e))?;
                        if !send(index, blob) {
                            break;
                        }
                    }
                }
            }
            Ok(())
        })();
        drop(tx);
        let parts: Vec<T> =
            workers.into_iter().map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect();
        result.map(|_| parts)
    })?;
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    Ok(Pass { parts, bytes })
}

/// The features a file needs that we do not read are refused by name.
fn check_header(path: &Path, blob: &osmpbf::Blob) -> GeoResult<()> {
    let header = blob.to_headerblock().map_err(|e| osm_error(path, e))?;
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
    Ok(())
}
