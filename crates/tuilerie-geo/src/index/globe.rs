//! A static, packed R-tree of Earth-centred points whose nodes know which waste
//! categories their points accept.
//!
//! Built once per layer, top-down: a range of points is cut at multiples of
//! the child capacity by median splits on its widest axis (overlap-minimising
//! packing, as rstar's bulk load, with up to [`FANOUT`] children per node and
//! [`LEAF`] points per leaf), nodes stored in one array with contiguous
//! children, points in tree order. Each node keeps the union of its points'
//! category masks, so a filtered nearest walk skips every subtree without a
//! match instead of popping its points one by one.
//!
//! Points keep f64 coordinates (so chords are exact and the geodesic
//! closed form can start from them); node boxes are f32, rounded outwards.

use crate::column::{Column, Plain};
use crate::geodesic::{ecef, A, F};
use crate::geometry::FeatureGeometry;
use crate::prefetch::{prefetch, prefetch_all};
use crate::profile::ClassMask as CategoryMask;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Children per inner node.
pub const FANOUT: usize = 8;
/// Points per leaf.
pub const LEAF: usize = 32;
/// Marks heap entries that are points rather than nodes.
const POINT: u32 = 1 << 31;

/// The Earth-centred bounding box of a lon/lat box: x = r(φ)·cos λ,
/// y = r(φ)·sin λ with r = N(φ)·cos φ decreasing in |φ|, and z increasing
/// in φ, so the extremes come from the box's edges and the axes it spans.
fn ecef_box([w, s, e, n]: [f64; 4]) -> [[f64; 3]; 2] {
    let e2 = F * (2.0 - F);
    let big_n = |lat: f64| A / (1.0 - e2 * lat.to_radians().sin().powi(2)).sqrt();
    let r = |lat: f64| big_n(lat) * lat.to_radians().cos();
    let z = |lat: f64| big_n(lat) * (1.0 - e2) * lat.to_radians().sin();
    let rmax = r(0.0f64.clamp(s, n));
    let rmin = r(s).min(r(n));
    let range = |f: fn(f64) -> f64, specials: &[(f64, f64)]| {
        let (mut lo, mut hi) = (f(w.to_radians()).min(f(e.to_radians())), f(w.to_radians()).max(f(e.to_radians())));
        for &(angle, value) in specials {
            if angle >= w && angle <= e {
                lo = lo.min(value);
                hi = hi.max(value);
            }
        }
        (lo, hi)
    };
    let (cmin, cmax) = range(f64::cos, &[(0.0, 1.0), (180.0, -1.0), (-180.0, -1.0)]);
    let (smin, smax) = range(f64::sin, &[(90.0, 1.0), (-90.0, -1.0)]);
    let scale = |lo: f64, hi: f64| {
        let a = if lo >= 0.0 { rmin * lo } else { rmax * lo };
        let b = if hi >= 0.0 { rmax * hi } else { rmin * hi };
        (a, b)
    };
    let (x0, x1) = scale(cmin, cmax);
    let (y0, y1) = scale(smin, smax);
    [[x0, y0, z(s)], [x1, y1, z(n)]]
}

/// Upper bound of the rounding error of Earth-centred chords (metres).
pub(crate) const CHORD_MARGIN: f64 = 1e-3;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Node {
    pub(crate) min: [f32; 3],
    pub(crate) max: [f32; 3],
    /// Categories accepted by at least one point below.
    pub(crate) mask: CategoryMask,
    /// First child node, or first point slot for a leaf.
    pub(crate) first: u32,
    pub(crate) len: u16,
    pub(crate) leaf: bool,
}

impl Node {
    fn distance_2(&self, q: &[f64; 3]) -> f64 {
        let mut d2 = 0.0;
        for ((&lo, &hi), &x) in self.min.iter().zip(&self.max).zip(q) {
            let d = if x < lo as f64 {
                lo as f64 - x
            } else if x > hi as f64 {
                x - hi as f64
            } else {
                0.0
            };
            d2 += d * d;
        }
        d2
    }

    fn intersects(&self, lo: &[f64; 3], hi: &[f64; 3]) -> bool {
        (0..3).all(|k| self.min[k] as f64 <= hi[k] && self.max[k] as f64 >= lo[k])
    }
}

/// A point of the tree: 32 bytes in the order the snapshot stores them,
/// so that a snapshot's slots are read in place ([`Column`]).
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub(crate) struct Slot {
    pub(crate) p: [f64; 3],
    pub(crate) mask: u32,
    /// Feature index.
    pub(crate) id: u32,
}

const _: () = assert!(std::mem::size_of::<Slot>() == 32 && std::mem::align_of::<Slot>() == 8);

#[allow(unsafe_code)]
// SAFETY: repr(C), three f64 then two u32: no padding, any bits valid.
unsafe impl Plain for Slot {}

/// Points (with a feature index each) in a static 3D tree.
#[derive(Debug, Default)]
pub struct GlobeTree {
    pub(crate) nodes: Vec<Node>,
    /// Points in tree order, each with its categories (interleaved: a leaf
    /// is one run of memory).
    pub(crate) points: Column<Slot>,
    /// Whether slots and nodes carry categories (set by
    /// [`GlobeTree::set_categories`], when every mask fits 32 bits).
    pub(crate) filtered: bool,
    /// Largest chord from a feature's representative point to its vertices.
    pub(crate) max_radius: f64,
    /// Every feature is a single point (the tree holds the points themselves).
    pub(crate) points_only: bool,
}

/// f32 bounds enclosing f64 values.
fn down(x: f64) -> f32 {
    let f = x as f32;
    if f as f64 > x {
        f.next_down()
    } else {
        f
    }
}

fn up(x: f64) -> f32 {
    let f = x as f32;
    if (f as f64) < x {
        f.next_up()
    } else {
        f
    }
}

fn bounds(items: &[Slot]) -> ([f64; 3], [f64; 3]) {
    let mut min = [f64::INFINITY; 3];
    let mut max = [f64::NEG_INFINITY; 3];
    for Slot { p, .. } in items {
        for k in 0..3 {
            min[k] = min[k].min(p[k]);
            max[k] = max[k].max(p[k]);
        }
    }
    (min, max)
}

/// Cuts `items` (starting at slot `base`) into consecutive groups of at
/// most `capacity` points, each a compact box: median splits on the widest
/// axis at a multiple of `capacity`.
fn split(items: &mut [Slot], base: usize, capacity: usize, groups: &mut Vec<(usize, usize)>) {
    if items.len() <= capacity {
        groups.push((base, items.len()));
        return;
    }
    let (min, max) = bounds(items);
    let axis = (0..3).max_by(|&a, &b| (max[a] - min[a]).total_cmp(&(max[b] - min[b]))).unwrap_or(0);
    let count = items.len().div_ceil(capacity);
    let left = count / 2 * capacity;
    items.select_nth_unstable_by(left, |a, b| a.p[axis].total_cmp(&b.p[axis]));
    let (l, r) = items.split_at_mut(left);
    split(l, base, capacity, groups);
    split(r, base + left, capacity, groups);
}

impl GlobeTree {
    /// Bytes of the tree read in place from a snapshot's map (shared with
    /// every process mapping the same file) rather than held in this
    /// process's memory.
    pub fn mapped_bytes(&self) -> usize {
        if self.points.is_mapped() {
            self.points.len() * std::mem::size_of::<Slot>()
        } else {
            0
        }
    }
    /// Builds the tree of the representative points of `geometries`
    /// (entry = feature index), in Earth-centred coordinates.
    pub fn build(geometries: &[FeatureGeometry]) -> Self {
        let mut max_radius: f64 = 0.0;
        // The slots themselves are sorted into tree order: no second copy
        // of 32 bytes a point (320 MB on 10 million) while the tree is built.
        let mut slots = Vec::with_capacity(geometries.len());
        for (i, g) in geometries.iter().enumerate() {
            let Some(rep) = crate::geometry::representative_point(g) else { continue };
            let r = ecef(rep.x, rep.y);
            if let FeatureGeometry::Other(g) = g {
                use geo::CoordsIter;
                for c in g.coords_iter() {
                    let p = ecef(c.x, c.y);
                    let d = ((p[0] - r[0]).powi(2) + (p[1] - r[1]).powi(2) + (p[2] - r[2]).powi(2)).sqrt();
                    max_radius = max_radius.max(d);
                }
            }
            slots.push(Slot { p: r, mask: 0, id: i as u32 });
        }
        let mut tree = GlobeTree::from_slots(slots);
        tree.max_radius = max_radius;
        tree.points_only = geometries.iter().all(|g| matches!(g, FeatureGeometry::Point(_)));
        tree
    }

    /// Builds the tree of `items` (Earth-centred point, feature index).
    #[cfg(test)]
    pub(crate) fn from_points(items: Vec<([f64; 3], u32)>) -> Self {
        GlobeTree::from_slots(items.into_iter().map(|(p, id)| Slot { p, mask: 0, id }).collect())
    }

    /// Builds the tree of `slots`, sorted in place into tree order.
    fn from_slots(mut slots: Vec<Slot>) -> Self {
        let mut tree = GlobeTree::default();
        if slots.is_empty() {
            return tree;
        }
        tree.nodes.push(Node { min: [0.0; 3], max: [0.0; 3], mask: 0, first: 0, len: 0, leaf: true });
        tree.build_node(&mut slots, 0, 0);
        slots.shrink_to_fit();
        tree.points = slots.into();
        tree.nodes.shrink_to_fit();
        tree
    }

    /// Calls `f` with every feature whose representative point may lie in
    /// the lon/lat box `[west, south, east, north]` (a superset: the box's
    /// Earth-centred bounding box, padded by the rounding error; callers
    /// test exactly).
    pub fn candidates_in_lonlat_box(&self, bbox: [f64; 4], mut f: impl FnMut(u32)) {
        let [lo, hi] = ecef_box(bbox);
        self.for_each_in_box(lo.map(|x| x - CHORD_MARGIN), hi.map(|x| x + CHORD_MARGIN), &mut f);
    }

    fn build_node(&mut self, items: &mut [Slot], base: usize, node: usize) {
        let (lo, hi) = bounds(items);
        let (min, max) = (lo.map(down), hi.map(up));
        let n = items.len();
        if n <= LEAF {
            self.nodes[node] = Node { min, max, mask: 0, first: base as u32, len: n as u16, leaf: true };
            return;
        }
        let mut capacity = LEAF;
        while capacity * FANOUT < n {
            capacity *= FANOUT;
        }
        let mut groups = Vec::with_capacity(FANOUT);
        split(items, base, capacity, &mut groups);
        let first = self.nodes.len();
        self.nodes[node] = Node { min, max, mask: 0, first: first as u32, len: groups.len() as u16, leaf: false };
        self.nodes.extend(std::iter::repeat_n(self.nodes[node], groups.len()));
        for (g, (start, len)) in groups.into_iter().enumerate() {
            self.build_node(&mut items[start - base..start - base + len], start, first + g);
        }
    }

    /// Records the categories of every point (`masks[feature index]`) and
    /// their unions per node.
    pub fn set_categories(&mut self, masks: &[CategoryMask]) {
        let of = |i: u32| masks.get(i as usize).copied().unwrap_or(0);
        self.filtered = self.points.iter().all(|s| u32::try_from(of(s.id)).is_ok());
        if !self.filtered {
            return;
        }
        for slot in self.points.iter_mut() {
            slot.mask = of(slot.id) as u32;
        }
        // Children come after their parent, so one reverse pass sees them first.
        for n in (0..self.nodes.len()).rev() {
            let Node { first, len, leaf, .. } = self.nodes[n];
            let range = first as usize..first as usize + len as usize;
            self.nodes[n].mask = if leaf {
                self.points[range].iter().fold(0, |m, x| m | x.mask as CategoryMask)
            } else {
                self.nodes[range].iter().fold(0, |m, c| m | c.mask)
            };
        }
    }

    /// Whether [`GlobeTree::nearest`] applies its `accepts` filter.
    pub fn filters_categories(&self) -> bool {
        self.filtered
    }

    pub fn heap_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>() + self.points.heap_bytes()
    }

    /// Calls `f` with the feature index of every point inside the box
    /// `[lo, hi]` (bounds included).
    pub fn for_each_in_box(&self, lo: [f64; 3], hi: [f64; 3], mut f: impl FnMut(u32)) {
        if self.nodes.is_empty() {
            return;
        }
        let mut stack = vec![0usize];
        while let Some(n) = stack.pop() {
            let node = &self.nodes[n];
            if !node.intersects(&lo, &hi) {
                continue;
            }
            let range = node.first as usize..node.first as usize + node.len as usize;
            if node.leaf {
                for slot in range {
                    let p = &self.points[slot].p;
                    if (0..3).all(|k| p[k] >= lo[k] && p[k] <= hi[k]) {
                        f(self.points[slot].id);
                    }
                }
            } else {
                stack.extend(range.rev());
            }
        }
    }

    /// The points in ascending distance from `q` among those accepting
    /// every category of `accepts` (0, or no categories recorded: all
    /// points), walking best-first. `heap` is scratch space, cleared here,
    /// so callers can reuse it.
    pub fn nearest<'a>(&'a self, q: [f64; 3], accepts: CategoryMask, heap: &'a mut WalkHeap) -> NearestWalk<'a> {
        heap.0.clear();
        let accepts = if self.filtered { accepts } else { 0 };
        if !self.nodes.is_empty() && (accepts == 0 || self.nodes[0].mask & accepts == accepts) {
            heap.push(self.nodes[0].distance_2(&q), 0);
        }
        NearestWalk { tree: self, q, accepts, heap, limit2: f64::INFINITY }
    }
}

/// Reusable queue of a nearest walk (distance² bits, node or point).
#[derive(Debug, Default)]
pub struct WalkHeap(BinaryHeap<Reverse<u128>>);

impl WalkHeap {
    /// Queues `id` at squared distance `d2` (non-negative, so its bits
    /// order as the numbers do); key and id packed in one integer, so that
    /// the heap compares once.
    fn push(&mut self, d2: f64, id: u32) {
        self.0.push(Reverse((d2.to_bits() as u128) << 32 | id as u128));
    }

    fn pop(&mut self) -> Option<(f64, u32)> {
        self.0.pop().map(|Reverse(k)| (f64::from_bits((k >> 32) as u64), k as u32))
    }
}

/// Iterator over (feature index, squared distance, point), nearest first.
pub struct NearestWalk<'a> {
    tree: &'a GlobeTree,
    q: [f64; 3],
    accepts: CategoryMask,
    heap: &'a mut WalkHeap,
    /// Squared chord beyond which nothing is queued or yielded.
    limit2: f64,
}

impl NearestWalk<'_> {
    /// Ends the walk at points farther than `chord` (metres): the caller
    /// has what it needs closer than that. Only ever tightens.
    pub fn set_limit(&mut self, chord: f64) {
        self.limit2 = self.limit2.min(chord * chord);
    }
}

impl Iterator for NearestWalk<'_> {
    type Item = (u32, f64, [f64; 3]);

    fn next(&mut self) -> Option<Self::Item> {
        let t = self.tree;
        let want = self.accepts;
        let limit = self.limit2;
        while let Some((key, id)) = self.heap.pop() {
            if key > limit {
                self.heap.0.clear();
                return None;
            }
            if id & POINT != 0 {
                let slot = &t.points[(id & !POINT) as usize];
                return Some((slot.id, key, slot.p));
            }
            let node = &t.nodes[id as usize];
            let first = node.first as usize;
            let range = first..first + node.len as usize;
            if node.leaf {
                prefetch_all(&t.points[range.clone()]);
                for slot in range {
                    let Slot { p, mask, .. } = &t.points[slot];
                    if want != 0 && *mask as CategoryMask & want != want {
                        continue;
                    }
                    let d2 = (0..3).map(|k| (p[k] - self.q[k]).powi(2)).sum::<f64>();
                    if d2 > limit {
                        continue;
                    }
                    self.heap.push(d2, slot as u32 | POINT);
                }
            } else {
                prefetch_all(&t.nodes[range.clone()]);
                for c in range {
                    let child = &t.nodes[c];
                    if want != 0 && child.mask & want != want {
                        continue;
                    }
                    let d2 = child.distance_2(&self.q);
                    if d2 > limit {
                        continue;
                    }
                    // What popping this child will read: its children or its points.
                    if child.leaf {
                        prefetch(t.points.as_ptr().wrapping_add(child.first as usize));
                    } else {
                        prefetch(t.nodes.as_ptr().wrapping_add(child.first as usize));
                    }
                    self.heap.push(d2, c as u32);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(n: usize, seed: u64) -> Vec<([f64; 3], u32)> {
        let mut s = seed;
        let mut next = move || crate::testdata::lcg(&mut s);
        (0..n).map(|i| ([next() * 1000.0, next() * 1000.0, next() * 10.0], i as u32)).collect()
    }

    fn d2(p: [f64; 3], q: [f64; 3]) -> f64 {
        (0..3).map(|k| (p[k] - q[k]).powi(2)).sum()
    }

    #[test]
    fn the_walk_returns_filtered_points_in_brute_force_distance_order() {
        let items = points(5000, 7);
        let masks: Vec<CategoryMask> =
            (0..items.len() as u64).map(|i| (i % 3 == 0) as u64 | (((i % 7 == 0) as u64) << 1)).collect();
        let mut tree = GlobeTree::from_points(items.clone());
        tree.set_categories(&masks);
        let mut heap = WalkHeap::default();
        for (qi, q) in [[500.0, 500.0, 5.0], [-10.0, 2000.0, 0.0], [999.0, 1.0, 9.0]].into_iter().enumerate() {
            for want in [0u64, 1, 2, 3] {
                let got: Vec<f64> = tree.nearest(q, want, &mut heap).map(|(_, d, _)| d).collect();
                let mut expect: Vec<f64> = items
                    .iter()
                    .filter(|(_, i)| want == 0 || masks[*i as usize] & want == want)
                    .map(|(p, _)| d2(*p, q))
                    .collect();
                expect.sort_by(f64::total_cmp);
                assert_eq!(got, expect, "query {qi}, mask {want}");
                // A limit set midway cuts the rest of the same order at it.
                for (after, chord) in [(0, 40.0), (3, 100.0), (10, 15.0)] {
                    let mut walk = tree.nearest(q, want, &mut heap);
                    let mut limited: Vec<f64> = walk.by_ref().take(after).map(|(_, d, _)| d).collect();
                    walk.set_limit(chord);
                    limited.extend(walk.map(|(_, d, _)| d));
                    let cut: Vec<f64> = expect
                        .iter()
                        .enumerate()
                        .filter(|&(n, &d)| n < after || d <= chord * chord)
                        .map(|(_, &d)| d)
                        .collect();
                    assert_eq!(limited, cut, "query {qi}, mask {want}, limit {chord} after {after}");
                }
            }
        }
    }

    #[test]
    fn box_queries_equal_a_scan() {
        let items = points(3000, 11);
        let tree = GlobeTree::from_points(items.clone());
        let (lo, hi) = ([100.0, 200.0, 2.0], [400.0, 260.0, 8.0]);
        let mut got = Vec::new();
        tree.for_each_in_box(lo, hi, |i| got.push(i));
        got.sort_unstable();
        let expect: Vec<u32> =
            items.iter().filter(|(p, _)| (0..3).all(|k| p[k] >= lo[k] && p[k] <= hi[k])).map(|(_, i)| *i).collect();
        assert!(!expect.is_empty());
        assert_eq!(got, expect);
    }

    #[test]
    fn every_point_is_in_exactly_one_leaf() {
        for n in [0, 1, 16, 17, 255, 256, 257, 4097] {
            let tree = GlobeTree::from_points(points(n, 3));
            let mut ids: Vec<u32> = tree.points.iter().map(|s| s.id).collect();
            ids.sort_unstable();
            assert_eq!(ids, (0..n as u32).collect::<Vec<_>>());
            let leaf_points: usize = tree.nodes.iter().filter(|n| n.leaf).map(|n| n.len as usize).sum();
            assert_eq!(leaf_points, n);
        }
    }

    #[test]
    fn the_earth_centred_box_encloses_every_point_of_the_lonlat_box() {
        let boxes = [
            [-1.3, 44.1, 0.4, 45.6],
            [170.0, -10.0, 180.0, 10.0],
            [-180.0, 80.0, 180.0, 90.0],
            [-100.0, -90.0, 100.0, -60.0],
            [-5.0, -3.0, 5.0, 3.0],
        ];
        for b in boxes {
            let [lo, hi] = ecef_box(b);
            for i in 0..=40 {
                for j in 0..=40 {
                    let lon = b[0] + (b[2] - b[0]) * i as f64 / 40.0;
                    let lat = b[1] + (b[3] - b[1]) * j as f64 / 40.0;
                    let p = ecef(lon, lat);
                    for k in 0..3 {
                        assert!(p[k] >= lo[k] - 1e-6 && p[k] <= hi[k] + 1e-6, "{b:?} ({lon}, {lat}) axis {k}");
                    }
                }
            }
            // And is tight: its corners are reached within a metre.
            let corners = [ecef(b[0], b[1]), ecef(b[2], b[3])];
            assert!(
                corners.iter().any(|c| (c[2] - lo[2]).abs() < 1.0)
                    && corners.iter().any(|c| (c[2] - hi[2]).abs() < 1.0)
            );
        }
    }
}
