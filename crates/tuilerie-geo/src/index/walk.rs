//! The nearest walk over a [`GlobeTree`]: best-first, by squared chord,
//! with each expanded node's children kept as one group in the queue.

use super::globe::{GlobeTree, Slot};
use crate::prefetch::{prefetch, prefetch_all};
use crate::profile::ClassMask as CategoryMask;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A key taken or left out of its group: the bits of +∞, above those of
/// every finite non-negative distance (a point's squared chord is finite).
const GONE: u64 = 0x7ff0_0000_0000_0000;
const _: () = assert!(GONE == f64::INFINITY.to_bits());

/// A queue entry: a group's smallest key (the bits of a non-negative
/// squared distance, which order as the numbers do) above its number, so
/// that the queue compares one integer.
fn entry(key: u64, group: usize) -> u128 {
    (key as u128) << 32 | group as u128
}

/// The smallest key of `keys` and its position (the first one on a tie),
/// `GONE` when none is left.
///
/// The keys are bits of non-negative doubles or `GONE` (+∞), so they order
/// as the doubles do: on x86_64 the minimum comes from SSE2's `minpd`, two
/// keys an instruction in two independent lanes, and its position from a
/// second pass that stops at it. A leaf's 32 keys are scanned again at
/// every point taken from it: as a scan of conditional moves, that was a
/// tenth of the walk's instructions. Elsewhere, that scan.
fn smallest(keys: &[u64]) -> (u64, usize) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    #[allow(unsafe_code)]
    // SAFETY: the only requirement of a `target_feature` function is that
    // the CPU has the feature, and SSE2 is part of the x86_64 baseline
    // (and enabled in this build, as the `cfg` checks).
    let best = unsafe { smallest_key(keys) };
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    let best = smallest_key(keys);
    if best == GONE {
        return (GONE, 0);
    }
    (best, keys.iter().position(|&k| k == best).unwrap_or(0))
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
fn smallest_key(keys: &[u64]) -> u64 {
    use std::arch::x86_64::{_mm_cvtsd_f64, _mm_min_pd, _mm_min_sd, _mm_set1_pd, _mm_set_pd, _mm_unpackhi_pd};
    let pair = |c: &[u64]| _mm_set_pd(f64::from_bits(c[1]), f64::from_bits(c[0]));
    let (mut a, mut b) = (_mm_set1_pd(f64::INFINITY), _mm_set1_pd(f64::INFINITY));
    let mut quads = keys.chunks_exact(4);
    for c in &mut quads {
        a = _mm_min_pd(a, pair(&c[..2]));
        b = _mm_min_pd(b, pair(&c[2..]));
    }
    let ab = _mm_min_pd(a, b);
    let mut best = _mm_cvtsd_f64(_mm_min_sd(ab, _mm_unpackhi_pd(ab, ab)));
    for &k in quads.remainder() {
        let k = f64::from_bits(k);
        best = if k < best { k } else { best };
    }
    best.to_bits()
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn smallest_key(keys: &[u64]) -> u64 {
    keys.iter().fold(GONE, |best, &k| if k < best { k } else { best })
}

/// The children of one expanded node: `len` keys from `start` in the
/// walk's keys, the smallest one left at `at`. The children are numbered
/// from `first` on (a node's children, or a leaf's points, are contiguous).
#[derive(Debug, Clone, Copy)]
struct Group {
    start: u32,
    len: u32,
    at: u32,
    first: u32,
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
    groups: Vec<Group>,
}

impl WalkHeap {
    fn clear(&mut self) {
        self.queue.clear();
        self.keys.clear();
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
            heap.groups.push(Group { start: 0, len: 1, at: 0, first: 0, leaf: false });
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
            let points = &t.points[range];
            prefetch_all(points);
            h.keys.extend(points.iter().map(|Slot { p, mask, .. }| {
                let d2 = (0..3).map(|k| (p[k] - q[k]).powi(2)).sum::<f64>();
                // (A NaN distance is out too, as GONE must stay above
                // every key.)
                let out = (want != 0 && *mask as CategoryMask & want != want) || d2.is_nan() || d2 > limit;
                if out {
                    GONE
                } else {
                    d2.to_bits()
                }
            }));
        } else {
            let children = &t.nodes[range];
            prefetch_all(children);
            let (nodes, points) = (t.nodes.as_ptr(), t.points.as_ptr());
            h.keys.extend(children.iter().map(|child| {
                if want != 0 && child.mask & want != want {
                    return GONE;
                }
                let d2 = child.distance_2(&q);
                if d2.is_nan() || d2 > limit {
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
        let (min, at) = smallest(&h.keys[start..]);
        if min != GONE {
            let len = h.keys.len() - start;
            h.queue.push(Reverse(entry(min, h.groups.len())));
            h.groups.push(Group {
                start: start as u32,
                len: len as u32,
                at: at as u32,
                first: node.first,
                leaf: node.leaf,
            });
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
            let id = (g.first + g.at) as usize;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_key_and_its_first_position_equal_a_plain_scan() {
        let mut seed = 5u64;
        // Few distinct values, so that ties and groups without a key left
        // are common; every length from an empty group to a leaf and more.
        let values = [0.0, 1e-300, 0.5, 2.0, 3.0e12, f64::MAX];
        for len in 0..=40 {
            for _ in 0..200 {
                let keys: Vec<u64> = (0..len)
                    .map(|_| {
                        let r = crate::testdata::lcg(&mut seed);
                        if r < 0.3 {
                            GONE
                        } else {
                            values[(r * 100.0) as usize % values.len()].to_bits()
                        }
                    })
                    .collect();
                let mut expect = (GONE, 0);
                for (i, &k) in keys.iter().enumerate() {
                    if k < expect.0 {
                        expect = (k, i);
                    }
                }
                assert_eq!(smallest(&keys), expect, "{keys:?}");
            }
        }
    }
}
