//! Reading an `.osm.pbf` extract: the objects the layers want, and only the
//! node locations and member ways those objects need.
//!
//! A file sorted by type then id (the header says so; Geofabrik's are) is
//! read in two passes, each decoding blobs on every core:
//! 1. from the last blob back to the last one holding nodes: the ways and
//!    relations a filter keeps (then, only if relations need ways no
//!    filter kept, the blobs with ways once more for those);
//! 2. the blobs with nodes: the nodes a filter keeps, and the locations of
//!    the nodes the kept ways use.
//!
//! Any other file takes three: every blob for the objects kept; the blobs
//! with ways for member ways; the blobs with nodes for the locations.
//! Memory is proportional to what is kept, never to the file's node count.

use super::blobs::{for_blobs, index};
use super::change::{ChangeSet, OsmKind};
use super::{Member, OsmGeometry, OsmObject, Wanted};
use crate::error::GeoResult;
use hashbrown::{HashMap, HashSet};
use osmpbf::{ByteOffset, PrimitiveBlock};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// The per-layer tests.
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

/// Reads `path`: the objects `wanted` asks for, with `changes` laid over
/// the file (a changed object is taken from the changes, not the file).
/// Also returns which changed objects the file holds.
pub(crate) fn scan(
    path: &Path,
    wanted: &[Wanted],
    changes: &ChangeSet,
) -> GeoResult<(Extract, HashSet<(OsmKind, i64)>)> {
    let blobs = index(path)?;
    let selector = Selector { wanted };
    let mut extract = Extract { bytes: blobs.bytes, ..Default::default() };
    let offsets = &blobs.offsets;
    let n = offsets.len();
    let mut found = Found::default();
    // The first pass: everything but the nodes of a sorted file.
    let last_with_nodes = if blobs.sorted {
        let reversed: Vec<ByteOffset> = offsets.iter().rev().copied().collect();
        let stop = AtomicBool::new(false);
        let parts = for_blobs(path, &reversed, Some(&stop), |acc: &mut Found, block, i| {
            acc.ways_and_relations(&selector, changes, block, n - 1 - i);
            if acc.node_blobs.last() == Some(&(n - 1 - i)) {
                stop.store(true, Ordering::Relaxed);
            }
        })?;
        parts.into_iter().for_each(|p| found.merge(p));
        found.node_blobs.iter().copied().max()
    } else {
        let parts = for_blobs(path, offsets, None, |acc: &mut Found, block, i| {
            acc.nodes(&selector, changes, block, i, None);
            acc.ways_and_relations(&selector, changes, block, i);
        })?;
        parts.into_iter().for_each(|p| found.merge(p));
        None
    };
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
                OsmKind::Node => found.objects.nodes.push(o),
                OsmKind::Way => found.objects.ways.push(o),
                OsmKind::Relation => found.objects.relations.push(o),
            }
        }
    }

    // Ways relations need that no filter kept.
    let kept_ways: HashSet<i64> = found.objects.ways.iter().map(|w| w.id).collect();
    let mut needed_ways: HashSet<i64> = HashSet::new();
    for r in &found.objects.relations {
        for m in r.members() {
            if let Member::Way(id, _) = m {
                if !kept_ways.contains(id) {
                    needed_ways.insert(*id);
                }
            }
        }
    }
    needed_ways.retain(|id| match changes.get(OsmKind::Way, *id) {
        Some(Some(w)) => {
            extract.member_ways.insert(*id, w.refs().to_vec());
            false
        }
        Some(None) => false,
        None => true,
    });
    if !needed_ways.is_empty() {
        let list: Vec<ByteOffset> = found.way_blobs_sorted().into_iter().map(|i| offsets[i]).collect();
        let parts = for_blobs(path, &list, None, |acc: &mut Vec<(i64, Vec<i64>)>, block, _| {
            for g in block.groups() {
                for w in g.ways() {
                    if needed_ways.contains(&w.id()) {
                        acc.push((w.id(), w.refs().collect()));
                    }
                }
            }
        })?;
        parts.into_iter().for_each(|p| extract.member_ways.extend(p));
    }

    // Locations of the nodes of kept ways and member ways.
    let mut needed_nodes: HashSet<i64> = HashSet::new();
    for w in &found.objects.ways {
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
    let mut needed_nodes: Vec<i64> = needed_nodes.into_iter().collect();
    needed_nodes.sort_unstable();
    if blobs.sorted {
        // The second pass of a sorted file: its nodes, once.
        let list = &offsets[..last_with_nodes.map_or(0, |l| l + 1)];
        let parts = for_blobs(path, list, None, |acc: &mut Found, block, i| {
            acc.nodes(&selector, changes, block, i, Some(needed_nodes.as_slice()));
        })?;
        parts.into_iter().for_each(|p| found.merge(p));
    } else if !needed_nodes.is_empty() {
        let mut list: Vec<usize> = found.node_blobs.clone();
        list.sort_unstable();
        let list: Vec<ByteOffset> = list.into_iter().map(|i| offsets[i]).collect();
        let parts = for_blobs(path, &list, None, |acc: &mut Vec<(i64, (i32, i32))>, block, _| {
            let mut needed = Cursor::new(&needed_nodes);
            for g in block.groups() {
                for n in g.dense_nodes() {
                    if needed.contains(n.id()) {
                        acc.push((n.id(), (n.decimicro_lon(), n.decimicro_lat())));
                    }
                }
                for n in g.nodes() {
                    if needed.contains(n.id()) {
                        acc.push((n.id(), (n.decimicro_lon(), n.decimicro_lat())));
                    }
                }
            }
        })?;
        parts.into_iter().for_each(|p| extract.locations.extend(p));
    }
    extract.locations.extend(found.locations.drain(..));
    let mut objects = found.objects;
    for list in [&mut objects.nodes, &mut objects.ways, &mut objects.relations] {
        list.sort_unstable_by_key(|o| o.id);
    }
    extract.nodes = objects.nodes;
    extract.ways = objects.ways;
    extract.relations = objects.relations;
    let seen = found.seen_changed.into_iter().collect();
    Ok((extract, seen))
}

#[derive(Default)]
struct Objects {
    nodes: Vec<OsmObject>,
    ways: Vec<OsmObject>,
    relations: Vec<OsmObject>,
}

/// What one worker of a pass keeps.
#[derive(Default)]
struct Found {
    objects: Objects,
    /// Locations of the nodes asked for (sorted files' node pass).
    locations: Vec<(i64, (i32, i32))>,
    /// Positions of the blobs holding nodes, and ways.
    node_blobs: Vec<usize>,
    way_blobs: Vec<usize>,
    /// Changed objects the file holds (a change to one it lacks is counted).
    seen_changed: Vec<(OsmKind, i64)>,
}

impl Found {
    fn merge(&mut self, other: Found) {
        self.objects.nodes.extend(other.objects.nodes);
        self.objects.ways.extend(other.objects.ways);
        self.objects.relations.extend(other.objects.relations);
        self.locations.extend(other.locations);
        self.node_blobs.extend(other.node_blobs);
        self.way_blobs.extend(other.way_blobs);
        self.seen_changed.extend(other.seen_changed);
    }

    fn way_blobs_sorted(&self) -> Vec<usize> {
        let mut v = self.way_blobs.clone();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The nodes of a block: those a filter keeps, and the locations of
    /// `needed` ones.
    fn nodes(
        &mut self,
        selector: &Selector,
        changes: &ChangeSet,
        block: &PrimitiveBlock,
        index: usize,
        needed: Option<&[i64]>,
    ) {
        let mut needed = needed.map(Cursor::new);
        let strings = block.raw_stringtable();
        let text = |i: u32| strings.get(i as usize).map_or(&b""[..], |s| s.as_slice());
        let mut step = NodeStep {
            selector,
            changes,
            needed: needed.as_mut(),
            tags: Vec::with_capacity(16),
            empty_passes: selector.mask(&[], takes_nodes) != 0,
            has_changes: !changes.is_empty(),
        };
        let mut any = false;
        for g in block.groups() {
            for n in g.dense_nodes() {
                any = true;
                let loc = (n.decimicro_lon(), n.decimicro_lat());
                let raw = n.raw_tags().map(|(k, v)| (text(k as u32), text(v as u32)));
                let info = || n.info().map_or((0, None), |i| (i.version(), Some(i.milli_timestamp())));
                step.node(self, n.id(), loc, raw, info);
            }
            for n in g.nodes() {
                any = true;
                let loc = (n.decimicro_lon(), n.decimicro_lat());
                let raw = n.raw_tags().map(|(k, v)| (text(k), text(v)));
                let info = || (n.info().version().unwrap_or(0), n.info().milli_timestamp());
                step.node(self, n.id(), loc, raw, info);
            }
        }
        if any {
            self.node_blobs.push(index);
        }
    }

    /// The ways and relations of a block that a filter keeps.
    fn ways_and_relations(&mut self, selector: &Selector, changes: &ChangeSet, block: &PrimitiveBlock, index: usize) {
        let strings = block.raw_stringtable();
        let text = |i: usize| strings.get(i).map_or(&b""[..], |s| s.as_slice());
        let mut tags: Vec<(&[u8], &[u8])> = Vec::with_capacity(16);
        let has_changes = !changes.is_empty();
        let (mut nodes, mut ways) = (false, false);
        for g in block.groups() {
            if !nodes && (g.dense_nodes().len() > 0 || g.nodes().len() > 0) {
                nodes = true;
            }
            for w in g.ways() {
                ways = true;
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
                    self.objects.ways.push(o);
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
                            osmpbf::RelMemberType::Node | osmpbf::RelMemberType::Relation => Member::Other,
                        })
                        .collect();
                    o.set_members(members);
                    self.objects.relations.push(o);
                }
            }
        }
        if nodes {
            self.node_blobs.push(index);
        }
        if ways {
            self.way_blobs.push(index);
        }
    }
}

/// What [`Found::nodes`] does with one node, dense or not: its location
/// when asked for, then the node itself when a filter keeps it.
struct NodeStep<'s, 'c, 't> {
    selector: &'s Selector<'s>,
    changes: &'s ChangeSet,
    needed: Option<&'s mut Cursor<'c>>,
    tags: Vec<(&'t [u8], &'t [u8])>,
    empty_passes: bool,
    has_changes: bool,
}

impl<'t> NodeStep<'_, '_, 't> {
    fn node(
        &mut self,
        found: &mut Found,
        id: i64,
        loc: (i32, i32),
        raw: impl Iterator<Item = (&'t [u8], &'t [u8])>,
        info: impl FnOnce() -> (i32, Option<i64>),
    ) {
        if self.needed.as_mut().is_some_and(|n| n.contains(id)) {
            found.locations.push((id, loc));
        }
        if self.has_changes && self.changes.contains(OsmKind::Node, id) {
            found.seen_changed.push((OsmKind::Node, id));
            return;
        }
        self.tags.clear();
        self.tags.extend(raw);
        if self.tags.is_empty() && !self.empty_passes {
            return;
        }
        let mask = self.selector.mask(&self.tags, takes_nodes);
        if mask != 0 {
            let (version, ts) = info();
            let mut o = OsmObject::new(id, &self.tags, version, ts, mask);
            o.set_location(loc);
            found.objects.nodes.push(o);
        }
    }
}

/// Membership in a sorted list of ids, for ids that mostly come in
/// increasing order (a block's nodes): a cursor that moves forward, with a
/// binary search on a jump back. Far cheaper than hashing every node id of
/// the file.
struct Cursor<'a> {
    ids: &'a [i64],
    pos: usize,
    last: Option<i64>,
}

impl<'a> Cursor<'a> {
    fn new(ids: &'a [i64]) -> Self {
        Cursor { ids, pos: 0, last: None }
    }

    fn contains(&mut self, id: i64) -> bool {
        match self.last {
            Some(last) if id >= last => {
                while self.ids.get(self.pos).is_some_and(|&x| x < id) {
                    self.pos += 1;
                }
            }
            _ => self.pos = self.ids.partition_point(|&x| x < id),
        }
        self.last = Some(id);
        self.ids.get(self.pos) == Some(&id)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_cursor_answers_as_a_set_in_any_order() {
        let ids = [3, 7, 8, 20, 1000];
        let mut c = super::Cursor::new(&ids);
        let asked = [1, 3, 4, 7, 8, 9, 20, 2, 3, 999, 1000, 1001, 7];
        let got: Vec<bool> = asked.iter().map(|&i| c.contains(i)).collect();
        let want: Vec<bool> = asked.iter().map(|i| ids.contains(i)).collect();
        assert_eq!(got, want);
    }
}
