//! Polygons made valid after clipping and quantisation (MVT 2.1, 4.3.4.4:
//! rings must not self-intersect or self-touch). Clipping to the buffer
//! leaves a hole that crosses the buffer line with an edge along it, on
//! top of the exterior's, and simplification or rounding can make a ring
//! cross itself; GDAL, PostGIS and shapely users then read invalid
//! geometries. Each polygon is checked exactly on the integer grid
//! ([`is_valid_polygon`], monotone chains); the few that fail go through
//! i_overlay (already in the tree through geo's boolean operations), which
//! resolves them into OGC-valid shapes ([`valid_polygons`]).
//!
//! Most polygons of a tile are not clipped, and a polygon cut whole is the
//! same on every tile's grid, moved by whole units ([`snap`]): so at load,
//! [`mark_valid_zooms`] checks each polygon once per zoom on the world's
//! grid, and tiles skip the check for the polygons they hold whole and
//! valid (a quarter of a communes tile's time at z10); of those they cut,
//! only the pairs with a segment the clip made are compared
//! ([`is_valid_clipped`]).

use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::overlay::IntOverlayOptions;
use i_overlay::core::simplify::Simplify;
use i_overlay::i_float::int::point::IntPoint;

use super::clip::P;
use super::prepared::{PartKind, PreparedGeometry};

/// Tile extent (grid units) of [`mark_valid_zooms`]: the default one; tiles
/// of another extent check every polygon.
pub const GRID_EXTENT: u32 = 4096;

/// The largest polygon, in grid units across, whose zooms are marked: past
/// a tile and a wide buffer, a polygon is clipped in every tile.
const MARKED_SPAN: f64 = GRID_EXTENT as f64 * 1.25;

/// Rounds a coordinate (grid units) to the nearest grid line, ties up. The
/// decision reads only the fraction, which a move by whole units (from the
/// world's grid to a tile's) leaves exact, so a vertex snaps to the same
/// place relative to the grid in every tile.
#[inline]
pub fn snap(v: f64) -> i32 {
    // Without branches (the fraction's test is a coin toss per vertex, a
    // mispredicted jump each time) and without libm's floor (a call on
    // baseline x86-64): floor by truncation, one lower below zero. Past
    // 2^40 the result saturates anyway; NaN gives 0, as `as i32` does.
    const LIMIT: f64 = (1u64 << 40) as f64;
    let v = v.clamp(-LIMIT, LIMIT);
    let t = v as i64;
    let f = t - ((t as f64) > v) as i64;
    // v - f is exact below one half, so the comparison is.
    let r = f + ((v - f as f64) >= 0.5) as i64;
    r.clamp(i32::MIN.into(), i32::MAX.into()) as i32
}

/// `pts` (grid units) snapped into `q`, without repeated vertices: a
/// line, or a ring before [`push_ring`] opens and orients it.
pub fn snap_path(pts: &[P], q: &mut Vec<Pt>) {
    q.clear();
    for p in pts {
        let v = (snap(p.0), snap(p.1));
        if q.last() != Some(&v) {
            q.push(v);
        }
    }
}

/// Adds ring `pts` (grid units, closed or open) to `rings` as a tile holds
/// it: snapped, without repeated vertices, open, exterior with a positive
/// area and holes negative. A ring of fewer than three vertices or under
/// one square unit is dropped (`false`). `q` is the buffer the ring is
/// built in (moved into `rings`).
pub fn push_ring(pts: &[P], outer: bool, rings: &mut Vec<Vec<Pt>>, q: &mut Vec<Pt>) -> bool {
    snap_path(pts, q);
    while q.len() > 1 && q.first() == q.last() {
        q.pop();
    }
    let a = area2(q);
    if q.len() < 3 || a.abs() < 2 {
        return false;
    }
    if (a > 0) != outer {
        q.reverse();
    }
    rings.push(std::mem::take(q));
    true
}

/// Sets, on each exterior part of `p`, the zooms at which its polygon cut
/// whole (no ring clipped) keeps every ring and is valid
/// ([`is_valid_polygon`]) on the grid of a [`GRID_EXTENT`]-unit tile,
/// simplified at `sq_tol[z]`. Checked on the
/// world's grid moved to the polygon's corner: the rings are a tile's
/// moved by whole units, which validity does not see. Zooms at which the
/// polygon spans more than [`MARKED_SPAN`] are left unmarked.
pub fn mark_valid_zooms(p: &mut PreparedGeometry, sq_tol: &[f64], scratch: &mut ValidityScratch) {
    let (mut pts, mut rings, mut q) = (Vec::new(), Vec::new(), Vec::new());
    let mut outer = 0;
    while outer < p.parts.len() {
        if p.parts[outer].kind != PartKind::Outer {
            outer += 1;
            continue;
        }
        let end = (outer + 1..p.parts.len()).find(|&i| p.parts[i].kind != PartKind::Inner).unwrap_or(p.parts.len());
        let polygon = &p.parts[outer..end];
        let (mut lo, mut hi) = ((f64::MAX, f64::MAX), (f64::MIN, f64::MIN));
        for v in polygon.iter().flat_map(|part| p.part(part)) {
            (lo, hi) = ((lo.0.min(v.x), lo.1.min(v.y)), (hi.0.max(v.x), hi.1.max(v.y)));
        }
        let mut bits = 0u32;
        for (z, &tol) in sq_tol.iter().enumerate().take(32) {
            let scale = (1u64 << z) as f64 * GRID_EXTENT as f64;
            if (hi.0 - lo.0).max(hi.1 - lo.1) * scale > MARKED_SPAN {
                break;
            }
            let origin = ((lo.0 * scale).floor(), (lo.1 * scale).floor());
            rings.clear();
            // A ring dropped here (under one square unit) could come back
            // cut by a tile, its segments never compared with the others:
            // such a polygon is not marked ([`is_valid_clipped`] relies on it).
            let mut every_ring = true;
            for part in polygon {
                if part.kind == PartKind::Inner && rings.is_empty() {
                    break; // the exterior was dropped: so are its holes
                }
                pts.clear();
                pts.extend(p.kept(part, tol).map(|v| (v.x * scale - origin.0, v.y * scale - origin.1)));
                every_ring &= push_ring(&pts, part.kind == PartKind::Outer, &mut rings, &mut q);
            }
            if every_ring && is_valid_polygon(&rings, scratch) {
                bits |= 1 << z;
            }
        }
        p.parts[outer].valid_zooms = bits;
        outer = end;
    }
}

/// Twice the signed area (shoelace) of an open ring, positive when
/// clockwise on screen (y down).
pub fn area2(r: &[(i32, i32)]) -> i64 {
    let n = r.len();
    (0..n)
        .map(|i| {
            let (a, b) = (r[i], r[(i + 1) % n]);
            a.0 as i64 * b.1 as i64 - b.0 as i64 * a.1 as i64
        })
        .sum()
}

/// The valid polygons of one polygon's rings (exterior first, open), each
/// as its rings: exterior with a positive area, holes negative (MVT's
/// winding, y down); rings under one square unit dropped.
pub fn valid_polygons(rings: &[Vec<(i32, i32)>], out: &mut Vec<Vec<Vec<(i32, i32)>>>) {
    out.clear();
    let contours: Vec<Vec<IntPoint>> =
        rings.iter().map(|r| r.iter().map(|&(x, y)| IntPoint::new(x, y)).collect()).collect();
    let shapes = contours.as_slice().simplify(FillRule::EvenOdd, IntOverlayOptions::ogc());
    for shape in shapes {
        let mut polygon = Vec::with_capacity(shape.len());
        for (k, contour) in shape.into_iter().enumerate() {
            let mut ring: Vec<(i32, i32)> = contour.into_iter().map(|p| (p.x, p.y)).collect();
            let a = area2(&ring);
            if a.abs() < 2 {
                if k == 0 {
                    break;
                }
                continue;
            }
            if (a > 0) != (k == 0) {
                ring.reverse();
            }
            polygon.push(ring);
        }
        if !polygon.is_empty() {
            out.push(polygon);
        }
    }
}

/// Whether one polygon's rings (exterior first, open, at least three
/// vertices each) are valid as they are: no ring crosses or touches itself
/// or another ring (a spike back along its own edge included), and every
/// hole lies inside the exterior. Stricter than OGC, which lets rings touch
/// at a point: such a polygon goes through [`valid_polygons`] too, which
/// keeps it valid. Exact on the integer grid; the rings are cut into
/// monotone chains and only chains whose boxes overlap are compared, so a
/// polygon is checked in about linear time, a fraction of what repairing
/// it costs.
pub fn is_valid_polygon(rings: &[Vec<(i32, i32)>], scratch: &mut ValidityScratch) -> bool {
    is_valid_within(rings, scratch, None)
}

/// [`is_valid_polygon`] for a polygon marked valid whole at this zoom
/// ([`mark_valid_zooms`], every ring kept) and cut by the tile's buffer box,
/// whose lines snap to `lines` (lowest, highest; grid units). A vertex
/// strictly inside them is one of the polygon's own (the clip adds its
/// vertices on the lines), so a segment between two of them is one the
/// load checked, at the same place relative to the grid and with the same
/// neighbours in its ring; only pairs with at least one other segment (an
/// end on a line: cut, or laid along the box) are compared.
pub fn is_valid_clipped(rings: &[Vec<(i32, i32)>], scratch: &mut ValidityScratch, lines: (i32, i32)) -> bool {
    is_valid_within(rings, scratch, Some(lines))
}

fn is_valid_within(rings: &[Vec<(i32, i32)>], scratch: &mut ValidityScratch, lines: Option<(i32, i32)>) -> bool {
    if rings.iter().any(|r| r.len() < 3) {
        return false;
    }
    if !scratch.simple(rings, lines) {
        return false;
    }
    // No crossing: a hole is inside the exterior (or another hole) when any
    // one of its vertices is (a vertex on a ring would have touched it).
    let holes = &rings[1..];
    if !holes.iter().all(|h| inside(h[0], &rings[0])) {
        return false;
    }
    if holes.len() > 1 {
        let boxes: Vec<(Pt, Pt)> = holes.iter().map(|h| bounds(h)).collect();
        for (i, h) in holes.iter().enumerate() {
            for (j, other) in holes.iter().enumerate() {
                let (lo, hi) = boxes[j];
                let p = h[0];
                if i != j && lo.0 <= p.0 && p.0 <= hi.0 && lo.1 <= p.1 && p.1 <= hi.1 && inside(p, other) {
                    return false;
                }
            }
        }
    }
    true
}

fn bounds(r: &[Pt]) -> (Pt, Pt) {
    r.iter().fold(((i32::MAX, i32::MAX), (i32::MIN, i32::MIN)), |(lo, hi), p| {
        ((lo.0.min(p.0), lo.1.min(p.1)), (hi.0.max(p.0), hi.1.max(p.1)))
    })
}

/// Reused buffers of [`is_valid_polygon`].
#[derive(Default)]
pub struct ValidityScratch {
    /// Segments chain after chain, each chain in increasing (x, y) order.
    segments: Vec<Seg>,
    /// Each chain: its range in `segments` and its bounding box.
    chains: Vec<Chain>,
    /// The chains still open in the sweep.
    active: Vec<u32>,
}

/// A segment with its ends in (x, y) order, its y range, and where it is:
/// ring and index of the vertex it starts from.
#[derive(Clone, Copy)]
struct Seg {
    lo: Pt,
    hi: Pt,
    ymin: i32,
    ymax: i32,
    ring: u32,
    index: u32,
}

#[derive(Clone, Copy)]
struct Chain {
    start: u32,
    end: u32,
    min: Pt,
    max: Pt,
    /// Every segment is one the load checked ([`is_valid_clipped`]).
    old: bool,
}

type Pt = (i32, i32);

fn orient(a: Pt, b: Pt, c: Pt) -> i64 {
    (b.0 as i64 - a.0 as i64) * (c.1 as i64 - a.1 as i64) - (b.1 as i64 - a.1 as i64) * (c.0 as i64 - a.0 as i64)
}

/// `c`, collinear with `a`-`b`, lies on the closed segment.
fn on_segment(a: Pt, b: Pt, c: Pt) -> bool {
    a.0.min(b.0) <= c.0 && c.0 <= a.0.max(b.0) && a.1.min(b.1) <= c.1 && c.1 <= a.1.max(b.1)
}

/// The closed segments share at least one point.
fn meet(p1: Pt, p2: Pt, q1: Pt, q2: Pt) -> bool {
    let (d1, d2) = (orient(q1, q2, p1), orient(q1, q2, p2));
    let (d3, d4) = (orient(p1, p2, q1), orient(p1, p2, q2));
    if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
        return true;
    }
    (d1 == 0 && on_segment(q1, q2, p1))
        || (d2 == 0 && on_segment(q1, q2, p2))
        || (d3 == 0 && on_segment(p1, p2, q1))
        || (d4 == 0 && on_segment(p1, p2, q2))
}

/// Even-odd ray casting; `p` is not on the ring's boundary.
fn inside(p: Pt, ring: &[Pt]) -> bool {
    let mut c = false;
    let n = ring.len();
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        if (a.1 > p.1) != (b.1 > p.1) {
            // x of the edge at p.y compared with p.x, without division.
            let lhs = (p.0 as i64 - a.0 as i64) * (b.1 as i64 - a.1 as i64);
            let rhs = (b.0 as i64 - a.0 as i64) * (p.1 as i64 - a.1 as i64);
            if (b.1 > a.1 && lhs < rhs) || (b.1 < a.1 && lhs > rhs) {
                c = !c;
            }
        }
    }
    c
}

impl ValidityScratch {
    /// Bytes the buffers hold (their capacities).
    pub fn heap_bytes(&self) -> usize {
        self.segments.capacity() * std::mem::size_of::<Seg>()
            + self.chains.capacity() * std::mem::size_of::<Chain>()
            + self.active.capacity() * 4
    }

    /// Ends the chain of `segments[start..]`: in increasing order, boxed.
    fn close(&mut self, start: usize, forward: bool, old: bool, ymin: i32, ymax: i32) {
        let run = &mut self.segments[start..];
        if !forward {
            run.reverse();
        }
        let (first, last) = (run[0].lo.0, run[run.len() - 1].hi.0);
        self.chains.push(Chain {
            start: start as u32,
            end: self.segments.len() as u32,
            min: (first, ymin),
            max: (last, ymax),
            old,
        });
    }

    /// No two segments of the rings meet but consecutive ones at their
    /// shared vertex. The rings are cut into monotone chains (runs of
    /// segments going the same way in (x, y) order): two segments of one
    /// chain that do not follow each other cannot meet, so only segments
    /// of different chains whose boxes overlap are compared, chains found
    /// by a sweep along x, segments by a merge along x.
    fn simple(&mut self, rings: &[Vec<Pt>], lines: Option<(i32, i32)>) -> bool {
        self.segments.clear();
        self.chains.clear();
        // Whether a vertex is strictly inside the box lines (never, when
        // every pair is to be compared).
        let (lo, hi) = lines.unwrap_or((i32::MAX, i32::MIN));
        let own = |p: Pt| lo < p.0 && p.0 < hi && lo < p.1 && p.1 < hi;
        for (r, ring) in rings.iter().enumerate() {
            // One pass: each segment joins the open chain when it goes the
            // same way (and is as old), else closes it (reversed if it went
            // backwards) and opens the next.
            let n = ring.len();
            let mut start = self.segments.len();
            let mut way = false;
            let mut was_old = false;
            let (mut ymin, mut ymax) = (i32::MAX, i32::MIN);
            for i in 0..n {
                let (p, q) = (ring[i], ring[if i + 1 == n { 0 } else { i + 1 }]);
                if p == q {
                    return false;
                }
                let forward = q > p;
                let old = own(p) && own(q);
                if i > 0 && (forward != way || old != was_old) {
                    self.close(start, way, was_old, ymin, ymax);
                    start = self.segments.len();
                    (ymin, ymax) = (i32::MAX, i32::MIN);
                }
                way = forward;
                was_old = old;
                let (lo, hi) = if forward { (p, q) } else { (q, p) };
                let (y0, y1) = if p.1 < q.1 { (p.1, q.1) } else { (q.1, p.1) };
                (ymin, ymax) = (ymin.min(y0), ymax.max(y1));
                self.segments.push(Seg { lo, hi, ymin: y0, ymax: y1, ring: r as u32, index: i as u32 });
            }
            self.close(start, way, was_old, ymin, ymax);
        }
        // The chains themselves sorted (a few dozen of 24 bytes): faster
        // than indices sorted through them.
        self.chains.sort_unstable_by_key(|c| c.min.0);
        let chains = &self.chains;
        let segments = &self.segments;
        self.active.clear();
        for (c, &a) in chains.iter().enumerate() {
            let c = c as u32;
            self.active.retain(|&o| chains[o as usize].max.0 >= a.min.0);
            for &o in &self.active {
                let b = chains[o as usize];
                if (a.old && b.old) || b.max.1 < a.min.1 || a.max.1 < b.min.1 {
                    continue;
                }
                // Segments of a and of b whose x ranges overlap: for each
                // of a's, in order, those of b from the first that does not
                // end before it starts.
                let sa = &segments[a.start as usize..a.end as usize];
                let sb = &segments[b.start as usize..b.end as usize];
                let mut first = 0;
                for x in sa {
                    while first < sb.len() && sb[first].hi.0 < x.lo.0 {
                        first += 1;
                    }
                    for y in &sb[first..] {
                        if y.lo.0 > x.hi.0 {
                            break;
                        }
                        if y.ymax >= x.ymin && x.ymax >= y.ymin && conflict(rings, x, y) {
                            return false;
                        }
                    }
                }
            }
            self.active.push(c);
        }
        true
    }
}

/// Whether two segments of different chains meet where they should not:
/// anywhere, unless they follow each other in their ring, then only if the
/// second turns straight back along the first.
fn conflict(rings: &[Vec<Pt>], x: &Seg, y: &Seg) -> bool {
    if x.ring == y.ring {
        let ring = &rings[x.ring as usize];
        let n = ring.len() as u32;
        let next = |i: u32| if i + 1 == n { 0 } else { i + 1 };
        let first = if next(x.index) == y.index {
            Some(x.index)
        } else if next(y.index) == x.index {
            Some(y.index)
        } else {
            None
        };
        if let Some(i) = first {
            let (a, b, d) = (ring[i as usize], ring[next(i) as usize], ring[next(next(i)) as usize]);
            let back = (b.0 as i64 - a.0 as i64) * (d.0 as i64 - b.0 as i64)
                + (b.1 as i64 - a.1 as i64) * (d.1 as i64 - b.1 as i64)
                < 0;
            // A triangle's third segment follows the second too.
            return (orient(a, b, d) == 0 && back) || (n == 3 && a == d);
        }
    }
    meet(x.lo, x.hi, y.lo, y.hi)
}

#[cfg(test)]
mod tests;
