//! Hierarchical greedy point clustering in the style of Supercluster,
//! computed once at load for zooms 0..=max_zoom.
//!
//! Level z+1 is clustered into level z: each unvisited node gathers the
//! unvisited nodes within `radius` pixels (of a 512-pixel tile) at zoom z;
//! if together they hold at least `min_points` points they become a cluster
//! at their weighted centroid. Each level is kept sorted by Morton code, so
//! a tile, like a neighbourhood cell, is one contiguous range.

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

/// A node of a level: an original point (count 1) or a cluster.
#[derive(Debug, Clone, Copy)]
pub struct Node {
    pub x: f64,
    pub y: f64,
    pub count: u32,
    /// Feature index when `count == 1`, else index in `ClusterIndex::clusters`.
    pub item: u32,
}

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
struct Level {
    nodes: Vec<Node>,
    codes: Vec<u64>,
}

/// The clustered levels of a point layer.
#[derive(Debug, Default)]
pub struct ClusterIndex {
    options: Option<ClusterOptions>,
    levels: Vec<Level>,
    /// Cluster i's category counts are `counts[starts[i]..starts[i + 1]]`:
    /// sparse, since most clusters hold few categories.
    starts: Vec<u32>,
    counts: Vec<(u8, u32)>,
    /// Node of level `max_zoom` holding each feature (`u32::MAX`: none).
    raw_parent: Vec<u32>,
    /// `parents[z][i]`: node of level z-1 holding node i of level z.
    parents: Vec<Vec<u32>>,
    /// Number of categories counted.
    n_categories: usize,
}

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

#[inline]
fn morton(x: f64, y: f64) -> u64 {
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

impl Level {
    /// The level of `nodes` sorted by Morton code (ties in input order),
    /// and where each input node went.
    fn from_nodes(nodes: Vec<Node>) -> (Self, Vec<u32>) {
        let codes: Vec<u64> = nodes.iter().map(|n| morton(n.x, n.y)).collect();
        let mut order: Vec<u32> = (0..nodes.len() as u32).collect();
        order.sort_unstable_by_key(|&i| (codes[i as usize], i));
        let mut moved = vec![0u32; nodes.len()];
        for (new, &old) in order.iter().enumerate() {
            moved[old as usize] = new as u32;
        }
        let level = Level {
            nodes: order.iter().map(|&i| nodes[i as usize]).collect(),
            codes: order.iter().map(|&i| codes[i as usize]).collect(),
        };
        (level, moved)
    }

    /// Nodes of cell (cx, cy) at zoom z.
    fn cell(&self, z: u32, cx: u32, cy: u32) -> std::ops::Range<usize> {
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
            parents: vec![Vec::new(); options.max_zoom as usize + 1],
            ..Default::default()
        };
        let features = points.iter().map(|p| p.2 as usize + 1).max().unwrap_or(0);
        let (mut current, _) =
            Level::from_nodes(points.into_iter().map(|(x, y, item)| Node { x, y, count: 1, item }).collect());
        let mut levels_rev = Vec::new();
        for z in (0..=options.max_zoom as u32).rev() {
            let (next, parent) = index.cluster_level(&current, z, bits, n_categories, options);
            if z == options.max_zoom as u32 {
                index.raw_parent = vec![u32::MAX; features];
                for (n, &p) in current.nodes.iter().zip(&parent) {
                    index.raw_parent[n.item as usize] = p;
                }
            } else {
                index.parents[z as usize + 1] = parent;
            }
            levels_rev.push(std::mem::replace(&mut current, next));
            // `levels_rev` holds level z+1 and above; `current` is level z.
        }
        levels_rev.push(current);
        // levels_rev = [z=max+1 (raw), max, ..., 0]; keep 0..=max.
        levels_rev.remove(0);
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
        let g = ((1.0 / r).log2().floor() as i64).clamp(0, GRID_BITS as i64) as u32;
        let cells = 1u64 << g;
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
            let cx = (p.x * cells as f64).clamp(0.0, (cells - 1) as f64) as i64;
            let cy = (p.y * cells as f64).clamp(0.0, (cells - 1) as f64) as i64;
            let mut total = p.count;
            for dy in -1..=1i64 {
                for dx in -1..=1i64 {
                    let (nx, ny) = (cx + dx, cy + dy);
                    if nx < 0 || ny < 0 || nx >= cells as i64 || ny >= cells as i64 {
                        continue;
                    }
                    for j in input.cell(g, nx as u32, ny as u32) {
                        if visited[j] {
                            continue;
                        }
                        let q = input.nodes[j];
                        if (q.x - p.x).powi(2) + (q.y - p.y).powi(2) <= r2 {
                            members.push(j);
                            total += q.count;
                        }
                    }
                }
            }
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
        let (level, moved) = Level::from_nodes(out);
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
        let n = 1u64 << z;
        let x0 = ((bounds[0] * n as f64).floor().max(0.0)) as u64;
        let y0 = ((bounds[1] * n as f64).floor().max(0.0)) as u64;
        let x1 = ((bounds[2] * n as f64).floor() as u64).min(n - 1);
        let y1 = ((bounds[3] * n as f64).floor() as u64).min(n - 1);
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
        self.levels
            .iter()
            .map(|l| l.nodes.capacity() * std::mem::size_of::<Node>() + l.codes.capacity() * 8)
            .sum::<usize>()
            + self.starts.capacity() * 4
            + self.counts.capacity() * std::mem::size_of::<(u8, u32)>()
            + self.raw_parent.capacity() * 4
            + self.parents.iter().map(|p| p.capacity() * 4).sum::<usize>()
    }

    /// The nearest node of level z within the cluster radius of (x, y)
    /// that `alive` accepts.
    fn nearest_node(&self, z: usize, x: f64, y: f64, alive: impl Fn(u32) -> bool) -> Option<(u32, f64)> {
        let o = self.options?;
        let level = self.levels.get(z)?;
        let r = o.radius / (512.0 * (1u64 << z) as f64);
        let g = ((1.0 / r).log2().floor() as i64).clamp(0, GRID_BITS as i64) as u32;
        let cells = 1u64 << g;
        let cx = (x * cells as f64).clamp(0.0, (cells - 1) as f64) as i64;
        let cy = (y * cells as f64).clamp(0.0, (cells - 1) as f64) as i64;
        let mut best: Option<(u32, f64)> = None;
        for dy in -1..=1i64 {
            for dx in -1..=1i64 {
                let (nx, ny) = (cx + dx, cy + dy);
                if nx < 0 || ny < 0 || nx >= cells as i64 || ny >= cells as i64 {
                    continue;
                }
                for j in level.cell(g, nx as u32, ny as u32) {
                    let q = level.nodes[j];
                    let d2 = (q.x - x).powi(2) + (q.y - y).powi(2);
                    if d2 <= r * r && best.is_none_or(|(_, b)| d2 < b) && alive(j as u32) {
                        best = Some((j as u32, d2));
                    }
                }
            }
        }
        best
    }

    /// Category counts of base node `n`.
    fn node_counts(&self, n: &Node, bits: &[u64]) -> Vec<(u8, u32)> {
        if n.count > 1 {
            return self.info(n.item as usize).category_counts.to_vec();
        }
        let b = bits.get(n.item as usize).copied().unwrap_or(0);
        (0..self.n_categories.min(64)).filter(|&c| b & (1 << c) != 0).map(|c| (c as u8, 1)).collect()
    }
}

/// A node of an edited layer's clusters that differs from the base's, or
/// that only the edits made: its position, size and category counts.
#[derive(Debug, Clone, PartialEq)]
struct Patched {
    x: f64,
    y: f64,
    count: u32,
    /// Feature number when `count == 1` and the point is the node's only
    /// member as far as is known (an added point, or an untouched base
    /// point); `u32::MAX` otherwise.
    item: u32,
    counts: Vec<(u8, u32)>,
}

/// Running sums of what edits take from and add to one node.
#[derive(Debug, Clone, Default)]
struct Sums {
    taken: i64,
    added: i64,
    /// The first point added.
    first: u32,
    x: f64,
    y: f64,
    counts: Vec<i64>,
}

impl Sums {
    fn add(&mut self, sign: i64, x: f64, y: f64, mask: u64, n_cat: usize, item: u32) {
        if self.counts.len() < n_cat {
            self.counts.resize(n_cat, 0);
        }
        if sign > 0 {
            if self.added == 0 {
                self.first = item;
            }
            self.added += 1;
        } else {
            self.taken += 1;
        }
        self.x += sign as f64 * x;
        self.y += sign as f64 * y;
        for (c, slot) in self.counts.iter_mut().enumerate() {
            if mask & (1 << c) != 0 {
                *slot += sign;
            }
        }
    }

    fn net(&self) -> i64 {
        self.added - self.taken
    }
}

/// The clusters of an edited point layer: the base's levels with the
/// replaced and deleted points taken out of the nodes that held them
/// (followed down the levels through each node's parent) and the edited
/// and created points put into the nearest node within the radius at each
/// level (or into a node of their own). Counts are exact; positions and
/// groupings are those of an incremental update until the layer is built
/// again in full (compaction), which clusters from scratch.
#[derive(Debug, Default)]
pub struct ClusterPatch {
    /// Changed base nodes by level, then node number.
    changed: Vec<hashbrown::HashMap<u32, Patched>>,
    /// Nodes only the edits made, by level.
    added: Vec<Vec<Patched>>,
}

impl ClusterPatch {
    /// The patch of `base` for `dead` points (feature number, world x, y,
    /// classes) taken out and `added` ones put in.
    pub fn build(
        base: &ClusterIndex,
        bits: &[u64],
        dead: &[(u32, f64, f64, u64)],
        added: &[(u32, f64, f64, u64)],
    ) -> ClusterPatch {
        let levels = base.levels.len();
        let n_cat = base.n_categories.min(64);
        let mut sums: Vec<hashbrown::HashMap<u32, Sums>> = vec![Default::default(); levels];
        let mut new: Vec<Vec<Sums>> = vec![Vec::new(); levels];
        for &(f, x, y, mask) in dead {
            let Some(&first) = base.raw_parent.get(f as usize).filter(|&&p| p != u32::MAX) else { continue };
            let mut node = first;
            for z in (0..levels).rev() {
                sums[z].entry(node).or_default().add(-1, x, y, mask, n_cat, f);
                if z > 0 {
                    node = base.parents[z][node as usize];
                }
            }
        }
        for &(f, x, y, mask) in added {
            // The base node of the level above that holds the point.
            let mut held: Option<u32> = None;
            for z in (0..levels).rev() {
                if let Some(b) = held {
                    let node = base.parents[z + 1][b as usize];
                    sums[z].entry(node).or_default().add(1, x, y, mask, n_cat, f);
                    held = Some(node);
                    continue;
                }
                let level = &base.levels[z];
                let alive = |j: u32| level.nodes[j as usize].count as i64 + sums[z].get(&j).map_or(0, |s| s.net()) > 0;
                let in_base = base.nearest_node(z, x, y, alive);
                let r = base.options.map_or(0.0, |o| o.radius / (512.0 * (1u64 << z) as f64));
                let in_new = new[z]
                    .iter()
                    .enumerate()
                    .map(|(k, s)| (k, (s.x / s.added as f64 - x).powi(2) + (s.y / s.added as f64 - y).powi(2)))
                    .filter(|&(_, d2)| d2 <= r * r)
                    .min_by(|a, b| a.1.total_cmp(&b.1));
                match (in_base, in_new) {
                    (Some((j, d)), n) if n.is_none_or(|(_, e)| d <= e) => {
                        sums[z].entry(j).or_default().add(1, x, y, mask, n_cat, f);
                        held = Some(j);
                    }
                    (_, Some((k, _))) => new[z][k].add(1, x, y, mask, n_cat, f),
                    _ => {
                        let mut s = Sums::default();
                        s.add(1, x, y, mask, n_cat, f);
                        new[z].push(s);
                    }
                }
            }
        }
        let to_counts =
            |c: &[i64]| c.iter().enumerate().filter(|(_, &n)| n > 0).map(|(c, &n)| (c as u8, n as u32)).collect();
        let changed = sums
            .into_iter()
            .enumerate()
            .map(|(z, level)| {
                level
                    .into_iter()
                    .map(|(j, s)| {
                        let n = base.levels[z].nodes[j as usize];
                        let count = (n.count as i64 + s.net()).max(0) as u32;
                        let mut counts = vec![0i64; n_cat];
                        for (c, v) in base.node_counts(&n, bits) {
                            if let Some(slot) = counts.get_mut(c as usize) {
                                *slot += v as i64;
                            }
                        }
                        for (slot, d) in counts.iter_mut().zip(&s.counts) {
                            *slot += d;
                        }
                        let (x, y) = if count > 0 {
                            ((n.x * n.count as f64 + s.x) / count as f64, (n.y * n.count as f64 + s.y) / count as f64)
                        } else {
                            (n.x, n.y)
                        };
                        // A lone point is known when it is the base's untouched
                        // one or the only one added to a node emptied by edits.
                        let item = match count {
                            1 if s.taken == 0 && s.added == 0 => n.item,
                            1 if s.taken == n.count as i64 && s.added == 1 => s.first,
                            _ => u32::MAX,
                        };
                        (j, Patched { x, y, count, item, counts: to_counts(&counts) })
                    })
                    .collect()
            })
            .collect();
        let added = new
            .into_iter()
            .map(|level| {
                level
                    .into_iter()
                    .map(|s| Patched {
                        x: s.x / s.added as f64,
                        y: s.y / s.added as f64,
                        count: s.added as u32,
                        item: if s.added == 1 { s.first } else { u32::MAX },
                        counts: to_counts(&s.counts),
                    })
                    .collect()
            })
            .collect();
        ClusterPatch { changed, added }
    }

    pub fn heap_bytes(&self) -> usize {
        let node = std::mem::size_of::<Patched>() + 16;
        self.changed.iter().map(|l| l.capacity() * (node + 4)).sum::<usize>()
            + self.added.iter().map(|l| l.capacity() * node).sum::<usize>()
    }
}

/// A node as tiles show it.
#[derive(Debug, Clone)]
pub struct ViewNode<'a> {
    pub x: f64,
    pub y: f64,
    pub count: u32,
    /// The feature number of a lone point.
    pub feature: Option<u32>,
    /// Tile feature id of a cluster (above 2^52, clear of source ids).
    pub id: u64,
    /// `(category, members)` of a cluster, in category order.
    pub category_counts: std::borrow::Cow<'a, [(u8, u32)]>,
}

const PATCHED: u64 = 1 << 51;
const ADDED: u64 = 1 << 40;

/// A layer's clusters as tiles show them: the base's, with the patch of
/// its edits when it has some.
#[derive(Debug, Clone, Copy)]
pub struct ClusterView<'a> {
    pub index: &'a ClusterIndex,
    pub patch: Option<&'a ClusterPatch>,
}

impl<'a> ClusterView<'a> {
    pub fn covers(&self, z: u8) -> bool {
        self.index.covers(z)
    }

    pub fn options(&self) -> Option<ClusterOptions> {
        self.index.options
    }

    fn base_node(&self, n: &Node) -> ViewNode<'a> {
        match self.index.cluster(n) {
            Some(c) => ViewNode {
                x: n.x,
                y: n.y,
                count: n.count,
                feature: None,
                id: c.id,
                category_counts: std::borrow::Cow::Borrowed(c.category_counts),
            },
            None => {
                ViewNode { x: n.x, y: n.y, count: 1, feature: Some(n.item), id: 0, category_counts: Default::default() }
            }
        }
    }

    fn patched_node(p: &'a Patched, id: u64) -> ViewNode<'a> {
        let lone = p.count == 1 && p.item != u32::MAX;
        ViewNode {
            x: p.x,
            y: p.y,
            count: p.count,
            feature: lone.then_some(p.item),
            id: if lone { 0 } else { id },
            category_counts: std::borrow::Cow::Borrowed(&p.counts),
        }
    }

    /// Calls `f` with the nodes of level `z` inside the world box.
    pub fn for_each_in(&self, z: u8, bounds: [f64; 4], mut f: impl FnMut(ViewNode<'a>)) {
        let inside = |x: f64, y: f64| x >= bounds[0] && x <= bounds[2] && y >= bounds[1] && y <= bounds[3];
        let patch: Option<&'a ClusterPatch> = self.patch;
        let changed = patch.and_then(|p| p.changed.get(z as usize)).filter(|c| !c.is_empty());
        let Some(level) = self.index.levels.get(z as usize) else { return };
        let n = 1u64 << z;
        let x0 = ((bounds[0] * n as f64).floor().max(0.0)) as u64;
        let y0 = ((bounds[1] * n as f64).floor().max(0.0)) as u64;
        let x1 = ((bounds[2] * n as f64).floor() as u64).min(n - 1);
        let y1 = ((bounds[3] * n as f64).floor() as u64).min(n - 1);
        for cy in y0..=y1 {
            for cx in x0..=x1 {
                for i in level.cell(z as u32, cx as u32, cy as u32) {
                    let node = &level.nodes[i];
                    if let Some(p) = changed.and_then(|c| c.get(&(i as u32))) {
                        // A moved centroid may leave the cell: shown where it is now.
                        if p.count > 0 && inside(p.x, p.y) {
                            f(Self::patched_node(p, self.patched_id(node, z, i as u32)));
                        }
                        continue;
                    }
                    if inside(node.x, node.y) {
                        f(self.base_node(node));
                    }
                }
            }
        }
        // Changed nodes whose centroid moved into the box from outside its cells.
        if let Some(c) = changed {
            for (&i, p) in c {
                let node = &level.nodes[i as usize];
                let (ncx, ncy) = ((node.x * n as f64).floor() as u64, (node.y * n as f64).floor() as u64);
                let scanned = (x0..=x1).contains(&ncx.min(n - 1)) && (y0..=y1).contains(&ncy.min(n - 1));
                if !scanned && p.count > 0 && inside(p.x, p.y) {
                    f(Self::patched_node(p, self.patched_id(node, z, i)));
                }
            }
        }
        if let Some(added) = patch.and_then(|p| p.added.get(z as usize)) {
            for (k, p) in added.iter().enumerate() {
                if inside(p.x, p.y) {
                    f(Self::patched_node(p, (1 << 52) | PATCHED | ADDED | ((z as u64) << 32) | k as u64));
                }
            }
        }
    }

    /// The id of a changed base node: a base cluster keeps its id, a lone
    /// base point that edits joined gets one of its own.
    fn patched_id(&self, node: &Node, z: u8, i: u32) -> u64 {
        match self.index.cluster(node) {
            Some(c) => c.id,
            None => (1 << 52) | PATCHED | ((z as u64) << 32) | i as u64,
        }
    }

    /// Every node of level `z` as `(x, y, count, category counts)`, by
    /// Morton code of its position.
    fn effective_level(&self, z: u8) -> Vec<(u64, u64, u64, u32, Vec<(u8, u32)>)> {
        let mut out = Vec::new();
        self.for_each_in(z, [0.0, 0.0, 1.0, 1.0], |n| {
            out.push((morton(n.x, n.y), n.x.to_bits(), n.y.to_bits(), n.count, n.category_counts.to_vec()))
        });
        out.sort_unstable();
        out
    }

    /// World positions of the nodes of level `z` that differ between
    /// `self` and `other` (position, count or category counts), from both:
    /// the places whose tiles an edit changed. Over one base, only the
    /// patches are compared; else every node is.
    pub fn differences(&self, other: &ClusterView<'_>, z: u8, mut f: impl FnMut(f64, f64)) {
        let zi = z as usize;
        if std::ptr::eq(self.index, other.index) {
            let empty_changed = hashbrown::HashMap::new();
            let empty_added = Vec::new();
            let changed =
                |v: &ClusterView<'_>| v.patch.and_then(|p| p.changed.get(zi)).unwrap_or(&empty_changed).clone();
            let (a, b) = (changed(self), changed(other));
            let level = &self.index.levels[zi.min(self.index.levels.len().saturating_sub(1))];
            for (i, p) in a.iter().chain(b.iter()) {
                let (pa, pb) = (a.get(i), b.get(i));
                if pa != pb {
                    let node = &level.nodes[*i as usize];
                    f(node.x, node.y);
                    f(p.x, p.y);
                }
            }
            let added = |v: &ClusterView<'_>| v.patch.and_then(|p| p.added.get(zi)).unwrap_or(&empty_added).clone();
            let (a, b) = (added(self), added(other));
            if a != b {
                for p in a.iter().chain(&b) {
                    f(p.x, p.y);
                }
            }
            return;
        }
        let (a, b) = (self.effective_level(z), other.effective_level(z));
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let code = match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) => x.0.min(y.0),
                (Some(x), None) => x.0,
                (None, Some(y)) => y.0,
                (None, None) => break,
            };
            let i0 = i;
            while a.get(i).is_some_and(|n| n.0 == code) {
                i += 1;
            }
            let j0 = j;
            while b.get(j).is_some_and(|n| n.0 == code) {
                j += 1;
            }
            if a[i0..i] != b[j0..j] {
                for n in a[i0..i].iter().chain(&b[j0..j]) {
                    f(f64::from_bits(n.1), f64::from_bits(n.2));
                }
            }
        }
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
    fn clusters_are_never_closer_than_the_radius_would_merge_at_low_zoom() {
        let pts = vec![(0.5, 0.5, 0), (0.5 + 1e-6, 0.5, 1), (0.9, 0.9, 2)];
        let idx = ClusterIndex::build(pts, &[0, 0, 0], 0, ClusterOptions::default());
        assert_eq!(idx.level_len(0), 2);
        assert!(idx.covers(12) && !idx.covers(13));
    }
}
