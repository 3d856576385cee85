//! Hierarchical greedy point clustering in the style of Supercluster,
//! computed once at load for zooms 0..=max_zoom.
//!
//! Level z+1 is clustered into level z: each unvisited node gathers the
//! unvisited nodes within `radius` pixels (of a 512-pixel tile) at zoom z;
//! if together they hold at least `min_points` points they become a cluster
//! at their weighted centroid. Each level is kept sorted by Morton code, so
//! a tile, like a neighbourhood cell, is one contiguous range. Each node
//! knows the node of the level below that holds it, so that an edit can
//! be followed down the levels ([`super::patch`]). The levels and the
//! links between them are columns, read in place from a snapshot.

use crate::column::{Column, Plain};

/// Options of a layer's clustering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClusterOptions {
    /// Radius in pixels of a 512-pixel tile (Supercluster's default: 40).
    pub radius: f64,
    /// Highest zoom with clusters; above it, points are served as they are.
    pub max_zoom: u8,
    /// Minimum number of points to form a cluster.
    pub min_points: u32,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions { radius: 40.0, max_zoom: 12, min_points: 2 }
    }
}

/// A node of a level: an original point (count 1) or a cluster. 24 bytes
/// in the order the snapshot stores them, so that a snapshot's levels are
/// read in place.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct Node {
    pub x: f64,
    pub y: f64,
    pub count: u32,
    /// Feature index when `count == 1`, else index in `ClusterIndex::clusters`.
    pub item: u32,
}

const _: () = assert!(std::mem::size_of::<Node>() == 24 && std::mem::align_of::<Node>() == 8);

#[allow(unsafe_code)]
// SAFETY: repr(C), two f64 then two u32: no padding, any bits valid.
unsafe impl Plain for Node {}

/// What a cluster holds.
#[derive(Debug, Clone, Copy)]
pub struct ClusterInfo<'a> {
    /// Feature id of the cluster in tiles (above 2^52, clear of source ids).
    pub id: u64,
    /// `(category, members)` for the categories present, in category order.
    pub category_counts: &'a [(u8, u32)],
}

impl ClusterInfo<'_> {
    /// Members of category `c`.
    pub fn count(&self, c: usize) -> u32 {
        self.category_counts.iter().find(|(k, _)| *k as usize == c).map_or(0, |(_, n)| *n)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Level {
    pub(crate) nodes: Column<Node>,
    pub(crate) codes: Column<u64>,
}

/// The clustered levels of a point layer.
#[derive(Debug, Default)]
pub struct ClusterIndex {
    pub(crate) options: Option<ClusterOptions>,
    pub(crate) levels: Vec<Level>,
    /// Cluster i's category counts are `counts[starts[i]..starts[i + 1]]`:
    /// sparse, since most clusters hold few categories.
    pub(crate) starts: Vec<u32>,
    pub(crate) counts: Vec<(u8, u32)>,
    /// Node of level `max_zoom` holding each feature (`u32::MAX`: none).
    pub(crate) raw_parent: Column<u32>,
    /// `parents[z][i]`: node of level z-1 holding node i of level z.
    pub(crate) parents: Vec<Column<u32>>,
    /// Number of categories counted.
    pub(crate) n_categories: usize,
}

/// Calls its second argument with the live points in a world box
/// `[x0, y0, x1, y1]`.
pub type Near<'a> = dyn Fn([f64; 4], &mut dyn FnMut(u32)) + 'a;

const GRID_BITS: u32 = 31;

#[inline]
fn spread(v: u32) -> u64 {
    let mut x = v as u64 & 0x7fff_ffff;
    x = (x | (x << 16)) & 0x0000_ffff_0000_ffff;
    x = (x | (x << 8)) & 0x00ff_00ff_00ff_00ff;
    x = (x | (x << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    x = (x | (x << 1)) & 0x5555_5555_5555_5555;
    x
}

#[inline]
fn grid(v: f64) -> u32 {
    let max = (1u64 << GRID_BITS) as f64;
    (v * max).clamp(0.0, max - 1.0) as u32
}

/// The grid whose cells are at least `r` (world units) wide: neighbours
/// within `r` lie in the 3x3 block around a point.
fn grid_for(r: f64) -> u32 {
    ((1.0 / r).log2().floor() as i64).clamp(0, GRID_BITS as i64) as u32
}

/// The cells of zoom `z` covering the world box, as `[x0, y0, x1, y1]`.
pub(super) fn cell_span(z: u8, bounds: [f64; 4]) -> [u64; 4] {
    let n = 1u64 << z;
    [
        ((bounds[0] * n as f64).floor().max(0.0)) as u64,
        ((bounds[1] * n as f64).floor().max(0.0)) as u64,
        ((bounds[2] * n as f64).floor() as u64).min(n - 1),
        ((bounds[3] * n as f64).floor() as u64).min(n - 1),
    ]
}

#[inline]
pub(super) fn morton(x: f64, y: f64) -> u64 {
    spread(grid(x)) | (spread(grid(y)) << 1)
}

/// The code range of cell (cx, cy) at zoom `z`.
#[inline]
fn cell_range(z: u32, cx: u32, cy: u32) -> (u64, u64) {
    let shift = GRID_BITS - z;
    let lo = spread(cx << shift) | (spread(cy << shift) << 1);
    let span = 1u64 << (2 * shift);
    (lo, lo + span)
}

/// `codes.partition_point(|&c| c < key)` for sorted `codes`, searched
/// outward from `hint` (exponential steps, then a binary search in the last
/// step): O(log d) for an answer d places away.
fn gallop(codes: &[u64], key: u64, hint: usize) -> usize {
    let len = codes.len();
    let hint = hint.min(len);
    if hint < len && codes[hint] < key {
        // The answer is after the hint.
        let (base, mut low, mut step) = (hint + 1, hint + 1, 1usize);
        let high = loop {
            let probe = base + step - 1;
            if probe >= len {
                break len;
            }
            if codes[probe] >= key {
                break probe;
            }
            low = probe + 1;
            step *= 2;
        };
        return low + codes[low..high].partition_point(|&c| c < key);
    }
    // The answer is at or before the hint.
    let (mut high, mut step) = (hint, 1usize);
    loop {
        if high == 0 {
            return 0;
        }
        let low = high.saturating_sub(step);
        if codes[low] < key {
            return low + 1 + codes[low + 1..high].partition_point(|&c| c < key);
        }
        high = low;
        step *= 2;
    }
}

impl Level {
    /// The level of `nodes` sorted by Morton code (ties in input order),
    /// and, when `moves` is asked, where each input node went. The
    /// (code, position) pairs are sorted, not positions compared through a
    /// lookup of their codes (a cache miss per comparison), and the nodes
    /// gathered along them; the input is freed before the codes are kept
    /// (on 10 million points: fewer copies held at once, and a seventh of
    /// the cluster build's time).
    fn from_nodes(nodes: Vec<Node>, moves: bool) -> (Self, Vec<u32>) {
        let mut keys: Vec<(u64, u32)> = nodes.iter().enumerate().map(|(i, n)| (morton(n.x, n.y), i as u32)).collect();
        keys.sort_unstable();
        let mut moved = Vec::new();
        if moves {
            moved = vec![0u32; nodes.len()];
            for (new, &(_, old)) in keys.iter().enumerate() {
                moved[old as usize] = new as u32;
            }
        }
        // A gather (its loads independent, unlike following the
        // permutation's cycles in place, one cache miss after the other).
        let sorted: Vec<Node> = keys.iter().map(|&(_, i)| nodes[i as usize]).collect();
        drop(nodes);
        let nodes = sorted;
        let mut codes: Vec<u64> = keys.into_iter().map(|(code, _)| code).collect();
        // A level is kept for the layer's life: no spare capacity.
        codes.shrink_to_fit();
        (Level { nodes: nodes.into(), codes: codes.into() }, moved)
    }

    /// Calls `f` with the nodes in the 3x3 cells of grid `g` (2^g cells a
    /// side) around (x, y): every node within one cell's size of it.
    pub(super) fn for_each_near(&self, g: u32, x: f64, y: f64, f: impl FnMut(usize)) {
        self.for_each_near_from(g, x, y, self.codes.len() / 2, f)
    }

    /// [`Self::for_each_near`], the cells looked up from node `hint`, which
    /// should be near (x, y): when the level is walked in its (Morton)
    /// order, the cells are a few nodes away, and a search outward from the
    /// hint stays in cache where a binary search over the whole level would
    /// not (on 10 million points, most of the cluster build).
    pub(super) fn for_each_near_from(&self, g: u32, x: f64, y: f64, hint: usize, mut f: impl FnMut(usize)) {
        let cells = 1u64 << g;
        let cx = (x * cells as f64).clamp(0.0, (cells - 1) as f64) as i64;
        let cy = (y * cells as f64).clamp(0.0, (cells - 1) as f64) as i64;
        for dy in -1..=1i64 {
            for dx in -1..=1i64 {
                let (nx, ny) = (cx + dx, cy + dy);
                if nx < 0 || ny < 0 || nx >= cells as i64 || ny >= cells as i64 {
                    continue;
                }
                let (lo, hi) = cell_range(g, nx as u32, ny as u32);
                let a = gallop(&self.codes, lo, hint);
                let b = gallop(&self.codes, hi, a);
                (a..b).for_each(&mut f);
            }
        }
    }

    /// Nodes of cell (cx, cy) at zoom z.
    pub(super) fn cell(&self, z: u32, cx: u32, cy: u32) -> std::ops::Range<usize> {
        let (lo, hi) = cell_range(z, cx, cy);
        let a = self.codes.partition_point(|&c| c < lo);
        let b = self.codes.partition_point(|&c| c < hi);
        a..b
    }
}

impl ClusterIndex {
    /// Clusters `points` (world coordinates, feature index) for zooms
    /// 0..=options.max_zoom; `bits[feature]` are the feature's categories,
    /// of which the first `n_categories` are counted.
    pub fn build(points: Vec<(f64, f64, u32)>, bits: &[u64], n_categories: usize, options: ClusterOptions) -> Self {
        let mut index = ClusterIndex {
            options: Some(options),
            starts: vec![0],
            n_categories,
            parents: (0..=options.max_zoom).map(|_| Column::default()).collect(),
            ..Default::default()
        };
        let features = points.iter().map(|p| p.2 as usize + 1).max().unwrap_or(0);
        let (mut current, _) =
            Level::from_nodes(points.into_iter().map(|(x, y, item)| Node { x, y, count: 1, item }).collect(), false);
        let mut levels_rev = Vec::new();
        for z in (0..=options.max_zoom as u32).rev() {
            let (next, parent) = index.cluster_level(&current, z, bits, n_categories, options);
            if z == options.max_zoom as u32 {
                let mut raw_parent = vec![u32::MAX; features];
                for (n, &p) in current.nodes.iter().zip(&parent) {
                    raw_parent[n.item as usize] = p;
                }
                index.raw_parent = raw_parent.into();
                // The raw points' level is not kept: freed now, not at the end.
                current = next;
            } else {
                index.parents[z as usize + 1] = parent.into();
                levels_rev.push(std::mem::replace(&mut current, next));
            }
            // `levels_rev` holds levels max..=z+1; `current` is level z.
        }
        levels_rev.push(current);
        levels_rev.reverse();
        index.levels = levels_rev;
        index.starts.shrink_to_fit();
        index.counts.shrink_to_fit();
        index
    }

    /// Level z from level z+1, and the node of level z holding each node
    /// of level z+1.
    fn cluster_level(
        &mut self,
        input: &Level,
        z: u32,
        bits: &[u64],
        n_cat: usize,
        o: ClusterOptions,
    ) -> (Level, Vec<u32>) {
        let r = o.radius / (512.0 * (1u64 << z) as f64);
        let r2 = r * r;
        // Cells at least as large as the radius: neighbours lie in the 3x3 block.
        let g = grid_for(r);
        let mut visited = vec![false; input.nodes.len()];
        let mut parent = vec![0u32; input.nodes.len()];
        let mut out = Vec::with_capacity(input.nodes.len() / 2 + 1);
        let mut members: Vec<usize> = Vec::new();
        let mut counts = vec![0u32; n_cat];
        for i in 0..input.nodes.len() {
            if visited[i] {
                continue;
            }
            visited[i] = true;
            let p = input.nodes[i];
            members.clear();
            let mut total = p.count;
            input.for_each_near_from(g, p.x, p.y, i, |j| {
                if visited[j] {
                    return;
                }
                let q = input.nodes[j];
                if (q.x - p.x).powi(2) + (q.y - p.y).powi(2) <= r2 {
                    members.push(j);
                    total += q.count;
                }
            });
            if members.is_empty() || total < o.min_points {
                parent[i] = out.len() as u32;
                out.push(p);
                continue;
            }
            parent[i] = out.len() as u32;
            for &j in &members {
                parent[j] = out.len() as u32;
            }
            let (mut wx, mut wy) = (p.x * p.count as f64, p.y * p.count as f64);
            counts.iter_mut().for_each(|c| *c = 0);
            self.add_counts(&mut counts, &p, bits);
            for &j in &members {
                visited[j] = true;
                let q = input.nodes[j];
                wx += q.x * q.count as f64;
                wy += q.y * q.count as f64;
                self.add_counts(&mut counts, &q, bits);
            }
            let item = (self.starts.len() - 1) as u32;
            self.counts.extend(counts.iter().enumerate().filter(|(_, &n)| n > 0).map(|(c, &n)| (c as u8, n)));
            self.starts.push(self.counts.len() as u32);
            out.push(Node { x: wx / total as f64, y: wy / total as f64, count: total, item });
        }
        let (level, moved) = Level::from_nodes(out, true);
        for p in &mut parent {
            *p = moved[*p as usize];
        }
        (level, parent)
    }

    fn add_counts(&self, counts: &mut [u32], n: &Node, bits: &[u64]) {
        if n.count == 1 {
            let b = bits.get(n.item as usize).copied().unwrap_or(0);
            for (c, slot) in counts.iter_mut().enumerate() {
                if b & (1 << c) != 0 {
                    *slot += 1;
                }
            }
        } else {
            for &(c, v) in self.info(n.item as usize).category_counts {
                counts[c as usize] += v;
            }
        }
    }

    pub fn options(&self) -> Option<ClusterOptions> {
        self.options
    }

    /// Whether zoom `z` is served from clusters.
    pub fn covers(&self, z: u8) -> bool {
        (z as usize) < self.levels.len()
    }

    fn info(&self, i: usize) -> ClusterInfo<'_> {
        let (a, b) = (self.starts[i] as usize, self.starts[i + 1] as usize);
        ClusterInfo { id: (1u64 << 52) | i as u64, category_counts: &self.counts[a..b] }
    }

    /// Cluster `i` (a node's `item` when its count is above 1).
    pub fn cluster_info(&self, i: usize) -> Option<ClusterInfo<'_>> {
        (i + 1 < self.starts.len()).then(|| self.info(i))
    }

    pub fn cluster(&self, node: &Node) -> Option<ClusterInfo<'_>> {
        (node.count > 1).then(|| self.info(node.item as usize))
    }

    /// Calls `f` with the nodes of level `z` inside the world box.
    pub fn for_each_in(&self, z: u8, bounds: [f64; 4], mut f: impl FnMut(&Node)) {
        let Some(level) = self.levels.get(z as usize) else { return };
        let [x0, y0, x1, y1] = cell_span(z, bounds);
        for cy in y0..=y1 {
            for cx in x0..=x1 {
                for i in level.cell(z as u32, cx as u32, cy as u32) {
                    let node = &level.nodes[i];
                    if node.x >= bounds[0] && node.x <= bounds[2] && node.y >= bounds[1] && node.y <= bounds[3] {
                        f(node);
                    }
                }
            }
        }
    }

    /// Number of nodes at level z.
    pub fn level_len(&self, z: u8) -> usize {
        self.levels.get(z as usize).map_or(0, |l| l.nodes.len())
    }

    pub fn heap_bytes(&self) -> usize {
        self.levels.iter().map(|l| l.nodes.heap_bytes() + l.codes.heap_bytes()).sum::<usize>()
            + self.starts.capacity() * 4
            + self.counts.capacity() * std::mem::size_of::<(u8, u32)>()
            + self.raw_parent.heap_bytes()
            + self.parents.iter().map(|p| p.heap_bytes()).sum::<usize>()
    }

    /// The byte ranges of a snapshot's map that the levels and their links
    /// are read from in place (none when they were built here).
    pub(crate) fn mapped_ranges(&self) -> Vec<std::ops::Range<usize>> {
        let levels = self.levels.iter().flat_map(|l| [l.nodes.mapped_range(), l.codes.mapped_range()]);
        let links = self.parents.iter().map(|p| p.mapped_range());
        levels.chain(links).chain([self.raw_parent.mapped_range()]).flatten().collect()
    }

    /// The nearest node of level z within the cluster radius of (x, y)
    /// that `alive` accepts.
    pub(super) fn nearest_node(&self, z: usize, x: f64, y: f64, alive: impl Fn(u32) -> bool) -> Option<(u32, f64)> {
        let o = self.options?;
        let level = self.levels.get(z)?;
        let r = o.radius / (512.0 * (1u64 << z) as f64);
        let mut best: Option<(u32, f64)> = None;
        level.for_each_near(grid_for(r), x, y, |j| {
            let q = level.nodes[j];
            let d2 = (q.x - x).powi(2) + (q.y - y).powi(2);
            if d2 <= r * r && best.is_none_or(|(_, b)| d2 < b) && alive(j as u32) {
                best = Some((j as u32, d2));
            }
        });
        best
    }

    /// The node of level `z` holding feature `f`.
    pub(super) fn holder(&self, f: u32, z: usize) -> Option<u32> {
        let mut node = *self.raw_parent.get(f as usize).filter(|&&p| p != u32::MAX)?;
        for level in (z + 1..self.levels.len()).rev() {
            node = self.parents[level][node as usize];
        }
        Some(node)
    }

    /// The one live member of node `j` of level `z` (`n`), among the live
    /// points `near` finds around it: members lie within the radii of the
    /// levels above (at most twice the radius at z) of the node's seed,
    /// which lies within the radius of its centroid.
    pub(super) fn survivor(&self, z: usize, j: u32, n: &Node, near: &Near<'_>) -> Option<u32> {
        let r = 3.0 * self.options?.radius / (512.0 * (1u64 << z) as f64);
        let mut found = None;
        near([n.x - r, n.y - r, n.x + r, n.y + r], &mut |f| {
            if found.is_none() && self.holder(f, z) == Some(j) {
                found = Some(f);
            }
        });
        found
    }

    /// Category counts of base node `n`.
    pub(super) fn node_counts(&self, n: &Node, bits: &[u64]) -> Vec<(u8, u32)> {
        if n.count > 1 {
            return self.info(n.item as usize).category_counts.to_vec();
        }
        let b = bits.get(n.item as usize).copied().unwrap_or(0);
        (0..self.n_categories.min(64)).filter(|&c| b & (1 << c) != 0).map(|c| (c as u8, 1)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::lcg;

    #[test]
    fn every_point_is_counted_once_at_every_level() {
        let mut seed = 7;
        let pts: Vec<_> =
            (0..5000u32).map(|i| (0.5 + lcg(&mut seed) * 0.01, 0.35 + lcg(&mut seed) * 0.01, i)).collect();
        let bits: Vec<u64> = (0..5000u64).map(|i| i % 3 + 1).collect();
        let idx = ClusterIndex::build(pts, &bits, 2, ClusterOptions::default());
        for z in 0..=12u8 {
            let mut total = 0u64;
            let mut cat0 = 0u64;
            idx.for_each_in(z, [0.0, 0.0, 1.0, 1.0], |n| {
                total += n.count as u64;
                cat0 += match idx.cluster(n) {
                    Some(c) => c.count(0) as u64,
                    None => ((n.item % 3) as u64 + 1) & 1,
                };
            });
            assert_eq!(total, 5000, "zoom {z}");
            // Bits 1 and 3 have bit 0 set: items with i % 3 in {0, 2}.
            assert_eq!(cat0, (0..5000).filter(|i| i % 3 != 1).count() as u64, "zoom {z}");
        }
        assert!(idx.level_len(0) < 5, "{}", idx.level_len(0));
        assert!(idx.level_len(12) > idx.level_len(6));
    }

    #[test]
    fn a_level_is_its_nodes_stably_sorted_by_code() {
        let mut seed = 5;
        for len in [0usize, 1, 2, 9, 1000] {
            // Few distinct places: many equal codes, whose input order must hold.
            let nodes: Vec<Node> = (0..len as u32)
                .map(|i| {
                    let (x, y) = ((lcg(&mut seed) * 8.0).floor() / 8.0, (lcg(&mut seed) * 8.0).floor() / 8.0);
                    Node { x, y, count: 1, item: i }
                })
                .collect();
            let mut expect = nodes.clone();
            expect.sort_by_key(|n| morton(n.x, n.y));
            let (level, moved) = Level::from_nodes(nodes.clone(), true);
            let items = |v: &[Node]| v.iter().map(|n| n.item).collect::<Vec<_>>();
            assert_eq!(items(&level.nodes), items(&expect), "len {len}");
            assert_eq!(level.codes.to_vec(), expect.iter().map(|n| morton(n.x, n.y)).collect::<Vec<_>>());
            for (old, &new) in moved.iter().enumerate() {
                assert_eq!(level.nodes[new as usize].item, nodes[old].item);
            }
            assert_eq!(moved.len(), len);
        }
    }

    #[test]
    fn the_search_from_a_hint_finds_the_partition_point() {
        let mut seed = 3;
        for len in [0usize, 1, 2, 3, 7, 64, 1000] {
            let mut codes: Vec<u64> = (0..len).map(|_| (lcg(&mut seed) * 50.0) as u64).collect();
            codes.sort_unstable();
            for key in 0..=52u64 {
                let want = codes.partition_point(|&c| c < key);
                for hint in [0, 1, len / 3, len / 2, len.saturating_sub(1), len, len + 5] {
                    assert_eq!(gallop(&codes, key, hint), want, "len {len} key {key} hint {hint}");
                }
            }
        }
    }

    #[test]
    fn clusters_are_never_closer_than_the_radius_would_merge_at_low_zoom() {
        let pts = vec![(0.5, 0.5, 0), (0.5 + 1e-6, 0.5, 1), (0.9, 0.9, 2)];
        let idx = ClusterIndex::build(pts, &[0, 0, 0], 0, ClusterOptions::default());
        assert_eq!(idx.level_len(0), 2);
        assert!(idx.covers(12) && !idx.covers(13));
    }
}
