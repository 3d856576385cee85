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

pub use super::walk::{NearestWalk, WalkHeap};
use crate::column::{Column, Plain};
use crate::geodesic::{ecef, A, F};
use crate::geometry::FeatureGeometry;
use crate::profile::ClassMask as CategoryMask;

/// Children per inner node.
pub const FANOUT: usize = 8;
/// Points per leaf.
pub const LEAF: usize = 32;

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
    pub(crate) fn distance_2(&self, q: &[f64; 3]) -> f64 {
        let mut d2 = 0.0;
        for ((&lo, &hi), &x) in self.min.iter().zip(&self.max).zip(q) {
            // lo - x above the box, x - hi below it, 0 inside (both
            // negative): the same differences as a test of each side, with
            // no jump whose direction changes from one query to the next.
            let d = (lo as f64 - x).max(x - hi as f64).max(0.0);
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
        NearestWalk::start(self, q, if self.filtered { accepts } else { 0 }, heap)
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
    fn points_at_equal_distances_are_each_yielded_once() {
        // 600 points on 12 positions: groups full of ties, leaves of one
        // position, and queries on a position and between them.
        let positions: Vec<[f64; 3]> = (0..12).map(|i| [(i % 4) as f64 * 10.0, (i / 4) as f64 * 10.0, 0.0]).collect();
        let items: Vec<([f64; 3], u32)> = (0..600).map(|i| (positions[i % 12], i as u32)).collect();
        let tree = GlobeTree::from_points(items.clone());
        let mut heap = WalkHeap::default();
        for q in [[0.0, 0.0, 0.0], [5.0, 5.0, 0.0], [30.0, 20.0, 0.0], [-100.0, 3.0, 1.0]] {
            let got: Vec<(u32, f64)> = tree.nearest(q, 0, &mut heap).map(|(i, d, _)| (i, d)).collect();
            assert!(got.windows(2).all(|w| w[0].1 <= w[1].1), "{q:?}: out of order");
            let mut ids: Vec<u32> = got.iter().map(|&(i, _)| i).collect();
            ids.sort_unstable();
            assert_eq!(ids, (0..600).collect::<Vec<u32>>(), "{q:?}");
            for (i, d) in got {
                assert_eq!(d, d2(items[i as usize].0, q));
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
