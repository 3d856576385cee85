//! The clusters of an edited point layer: the base's levels
//! ([`ClusterIndex`]) with a patch for the points its edits take out and
//! put in ([`ClusterPatch`]), and the view tiles read ([`ClusterView`]).

use super::cluster::{cell_span, morton, ClusterIndex, ClusterOptions, Near, Node};

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
    ///
    /// `near(box, f)` calls `f` with the live base points in a world box: a
    /// cluster that deletions leave with one member is shown as that point,
    /// found among the points near it whose nodes lead to the cluster.
    pub fn build(
        base: &ClusterIndex,
        bits: &[u64],
        dead: &[(u32, f64, f64, u64)],
        added: &[(u32, f64, f64, u64)],
        near: &Near<'_>,
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
                            1 if s.added == 0 => base.survivor(z, j, &n, near).unwrap_or(u32::MAX),
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

/// A node compared between two views: Morton code, x and y bits, count,
/// category counts.
type NodeKey = (u64, u64, u64, u32, u64, Vec<(u8, u32)>);

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
        let [x0, y0, x1, y1] = cell_span(z, bounds);
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
    fn effective_level(&self, z: u8) -> Vec<NodeKey> {
        let mut out = Vec::new();
        let mut push = |n: ViewNode<'_>| {
            out.push((morton(n.x, n.y), n.x.to_bits(), n.y.to_bits(), n.count, n.id, n.category_counts.to_vec()))
        };
        // Every node of the level once, not cell by cell (4^z cells).
        let changed = self.patch.and_then(|p| p.changed.get(z as usize)).filter(|c| !c.is_empty());
        if let Some(level) = self.index.levels.get(z as usize) {
            for (i, node) in level.nodes.iter().enumerate() {
                match changed.and_then(|c| c.get(&(i as u32))) {
                    Some(p) if p.count > 0 => push(Self::patched_node(p, self.patched_id(node, z, i as u32))),
                    Some(_) => {}
                    None => push(self.base_node(node)),
                }
            }
        }
        if let Some(added) = self.patch.and_then(|p| p.added.get(z as usize)) {
            for (k, p) in added.iter().enumerate() {
                push(Self::patched_node(p, (1 << 52) | PATCHED | ADDED | ((z as u64) << 32) | k as u64));
            }
        }
        out.sort_unstable();
        out
    }

    /// World positions of the nodes of level `z` that differ between
    /// `self` and `other` (position, count, category counts or, over
    /// different bases, the cluster id a tile shows), from both:
    /// the places whose tiles an edit changed. Over one base, only the
    /// patches are compared; else every node is.
    pub fn differences(&self, other: &ClusterView<'_>, z: u8, mut f: impl FnMut(f64, f64)) {
        let zi = z as usize;
        if std::ptr::eq(self.index, other.index) {
            let empty_changed = hashbrown::HashMap::new();
            let a = self.patch.and_then(|p| p.changed.get(zi)).unwrap_or(&empty_changed);
            let b = other.patch.and_then(|p| p.changed.get(zi)).unwrap_or(&empty_changed);
            let level = &self.index.levels[zi.min(self.index.levels.len().saturating_sub(1))];
            for (i, p) in a.iter().chain(b.iter()) {
                if a.get(i) != b.get(i) {
                    let node = &level.nodes[*i as usize];
                    f(node.x, node.y);
                    f(p.x, p.y);
                }
            }
            let (a, b) = (self.patch.and_then(|p| p.added.get(zi)), other.patch.and_then(|p| p.added.get(zi)));
            let (a, b) = (a.map_or(&[][..], |l| &l[..]), b.map_or(&[][..], |l| &l[..]));
            if a != b {
                for p in a.iter().chain(b) {
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
