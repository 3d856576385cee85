//! The nearest walk over a [`GlobeTree`]: best-first, by squared chord,
//! with each expanded node's children kept as one group in the queue.

use super::globe::{GlobeTree, Slot};
use crate::prefetch::{prefetch, prefetch_all};
use crate::profile::ClassMask as CategoryMask;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A key taken or left out of its group.
const GONE: u64 = u64::MAX;

/// A queue entry: a group's smallest key (the bits of a non-negative
/// squared distance, which order as the numbers do) above its number, so
/// that the queue compares one integer.
fn entry(key: u64, group: usize) -> u128 {
    (key as u128) << 32 | group as u128
}

/// The smallest key of `keys` and its position (the first one on a tie),
/// `GONE` when none is left. Written so that it compiles to conditional
/// moves: which key is smallest is a coin toss from one query to the
/// next, and a mispredicted jump per key cost more than the comparisons.
fn smallest(keys: &[u64]) -> (u64, usize) {
    let mut best = GONE;
    let mut at = 0;
    for (i, &k) in keys.iter().enumerate() {
        let less = k < best;
        best = if less { k } else { best };
        at = if less { i } else { at };
    }
    (best, at)
}

/// The children of one expanded node: `len` keys and ids from `start` in
/// the walk's arrays, the smallest key left at `at`.
#[derive(Debug, Clone, Copy)]
struct Group {
    start: u32,
    len: u32,
    at: u32,
    /// Whether the children are points (of a leaf) rather than nodes.
    leaf: bool,
}

/// Scratch of a nearest walk, reusable from one walk to the next.
///
/// Every expanded node becomes a group of its children's squared distances
/// (8 nodes, or the 32 points of a leaf); the queue holds one entry per
/// group, keyed by its smallest distance left. Taking a child rescans its
/// group (a few dozen comparisons without jumps) and moves the group's
/// entry down in place. A query then sorts a queue of about ten groups
/// instead of every child it met (130 pushes for k = 5 on a million
/// points), whose comparisons each went either way at random.
#[derive(Debug, Default)]
pub struct WalkHeap {
    queue: BinaryHeap<Reverse<u128>>,
    /// Squared distance bits of each group's children (`GONE` once taken,
    /// or when left out by the filter or the limit).
    keys: Vec<u64>,
    /// The child: node index, or point slot for a leaf's group.
    ids: Vec<u32>,
    groups: Vec<Group>,
}

impl WalkHeap {
    fn clear(&mut self) {
        self.queue.clear();
        self.keys.clear();
        self.ids.clear();
        self.groups.clear();
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

impl<'a> NearestWalk<'a> {
    /// Starts a walk from `q` over the points of `tree` accepting every
    /// category of `accepts` (0: all), with `heap` cleared.
    pub(super) fn start(tree: &'a GlobeTree, q: [f64; 3], accepts: CategoryMask, heap: &'a mut WalkHeap) -> Self {
        heap.clear();
        if !tree.nodes.is_empty() && (accepts == 0 || tree.nodes[0].mask & accepts == accepts) {
            // The root, as a group of one.
            let d2 = tree.nodes[0].distance_2(&q);
            heap.keys.push(d2.to_bits());
            heap.ids.push(0);
            heap.groups.push(Group { start: 0, len: 1, at: 0, leaf: false });
            heap.queue.push(Reverse(entry(d2.to_bits(), 0)));
        }
        NearestWalk { tree, q, accepts, heap, limit2: f64::INFINITY }
    }

    /// Ends the walk at points farther than `chord` (metres): the caller
    /// has what it needs closer than that. Only ever tightens.
    pub fn set_limit(&mut self, chord: f64) {
        self.limit2 = self.limit2.min(chord * chord);
    }

    /// Queues the children of node `n` as a new group, those filtered out
    /// or beyond the limit marked `GONE`. Every child gets a key, so the
    /// group is written by `extend` over an exact range: one capacity check
    /// a group rather than one a child.
    fn expand(&mut self, n: usize) {
        let t = self.tree;
        let want = self.accepts;
        let limit = self.limit2;
        let q = self.q;
        let h = &mut *self.heap;
        let node = &t.nodes[n];
        let first = node.first as usize;
        let range = first..first + node.len as usize;
        let start = h.keys.len();
        if node.leaf {
            let points = &t.points[range.clone()];
            prefetch_all(points);
            h.keys.extend(points.iter().map(|Slot { p, mask, .. }| {
                let d2 = (0..3).map(|k| (p[k] - q[k]).powi(2)).sum::<f64>();
                let out = (want != 0 && *mask as CategoryMask & want != want) || d2 > limit;
                if out {
                    GONE
                } else {
                    d2.to_bits()
                }
            }));
        } else {
            let children = &t.nodes[range.clone()];
            prefetch_all(children);
            let (nodes, points) = (t.nodes.as_ptr(), t.points.as_ptr());
            h.keys.extend(children.iter().map(|child| {
                if want != 0 && child.mask & want != want {
                    return GONE;
                }
                let d2 = child.distance_2(&q);
                if d2 > limit {
                    return GONE;
                }
                // What taking this child will read: its children or its points.
                if child.leaf {
                    prefetch(points.wrapping_add(child.first as usize));
                } else {
                    prefetch(nodes.wrapping_add(child.first as usize));
                }
                d2.to_bits()
            }));
        }
        h.ids.extend(range.map(|c| c as u32));
        let (min, at) = smallest(&h.keys[start..]);
        if min != GONE {
            let len = h.keys.len() - start;
            h.queue.push(Reverse(entry(min, h.groups.len())));
            h.groups.push(Group { start: start as u32, len: len as u32, at: at as u32, leaf: node.leaf });
        }
    }
}

impl Iterator for NearestWalk<'_> {
    type Item = (u32, f64, [f64; 3]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let h = &mut *self.heap;
            let mut top = h.queue.peek_mut()?;
            let Reverse(e) = *top;
            let key = f64::from_bits((e >> 32) as u64);
            if key > self.limit2 {
                drop(top);
                h.queue.clear();
                return None;
            }
            let gi = e as u32 as usize;
            let g = h.groups[gi];
            let (start, end) = (g.start as usize, g.start as usize + g.len as usize);
            let taken = start + g.at as usize;
            let id = h.ids[taken] as usize;
            h.keys[taken] = GONE;
            let (next, at) = smallest(&h.keys[start..end]);
            if next == GONE {
                std::collections::binary_heap::PeekMut::pop(top);
            } else {
                h.groups[gi].at = at as u32;
                // Moved down in place when `top` goes.
                *top = Reverse(entry(next, gi));
                drop(top);
            }
            if g.leaf {
                let slot = &self.tree.points[id];
                return Some((slot.id, key, slot.p));
            }
            self.expand(id);
        }
    }
}
