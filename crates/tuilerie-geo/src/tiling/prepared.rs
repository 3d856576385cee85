//! Geometry prepared for tiling, once at load: every line and polygon ring
//! projected to world units with, per vertex, its Douglas-Peucker importance
//! (the squared distance at which simplification would drop it), so that a
//! tile at any zoom keeps the vertices above its tolerance without running
//! the simplification again (the geojson-vt approach).

use super::tile::lonlat_to_world;
use geo::{Coord, Geometry, LineString, Polygon};

/// One vertex in world units with its importance.
#[derive(Debug, Clone, Copy)]
pub struct WorldVertex {
    pub x: f64,
    pub y: f64,
    /// Squared world distance; `f32::INFINITY` for vertices always kept.
    pub importance: f32,
}

/// What a part is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    /// First ring of a polygon.
    Outer,
    /// A hole of the preceding outer ring.
    Inner,
    Line,
}

#[derive(Debug, Clone, Copy)]
pub struct Part {
    pub kind: PartKind,
    pub start: u32,
    pub len: u32,
    /// Area (rings, world units²) or length (lines, world units).
    pub size: f64,
    /// On an exterior ring, the zooms (bit z) at which its polygon, cut
    /// with no ring clipped, is valid as it is on the grid of a
    /// [`GRID_EXTENT`](super::valid::GRID_EXTENT)-unit tile, in any tile
    /// (see [`mark_valid_zooms`](super::valid::mark_valid_zooms)); 0 on
    /// holes and lines, and where not known: the renderer checks then.
    pub valid_zooms: u32,
}

/// A line or polygon geometry ready for tiling; points have none.
#[derive(Debug, Clone, Default)]
pub struct PreparedGeometry {
    pub vertices: Vec<WorldVertex>,
    pub parts: Vec<Part>,
    /// Where a polygon's name is written (world units): a point inside it,
    /// in its largest part. Tiles carry it as a point with `label_point`.
    pub label: Option<(f64, f64)>,
}

impl PreparedGeometry {
    /// Prepares the lines and polygons of `g` (points are ignored).
    pub fn new(g: &Geometry<f64>) -> Self {
        let mut p = PreparedGeometry::default();
        p.add(g);
        if matches!(g, Geometry::Polygon(_) | Geometry::MultiPolygon(_)) {
            p.label = crate::geometry::geometry_point(g).map(|c| super::tile::lonlat_to_world(c.x, c.y));
        }
        p.vertices.shrink_to_fit();
        p.parts.shrink_to_fit();
        p
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The vertices of a part.
    pub fn part(&self, part: &Part) -> &[WorldVertex] {
        &self.vertices[part.start as usize..(part.start + part.len) as usize]
    }

    /// The vertices of a part that simplification at squared tolerance
    /// `sq_tol` keeps (all at 0).
    #[inline]
    pub fn kept<'a>(&'a self, part: &Part, sq_tol: f64) -> impl Iterator<Item = &'a WorldVertex> + 'a {
        let tol = sq_tol as f32;
        self.part(part).iter().filter(move |v| sq_tol == 0.0 || v.importance > tol)
    }

    fn add(&mut self, g: &Geometry<f64>) {
        match g {
            Geometry::LineString(l) => self.add_line(l),
            Geometry::Line(l) => self.add_line(&LineString::new(vec![l.start, l.end])),
            Geometry::MultiLineString(m) => m.0.iter().for_each(|l| self.add_line(l)),
            Geometry::Polygon(p) => self.add_polygon(p),
            Geometry::MultiPolygon(m) => m.0.iter().for_each(|p| self.add_polygon(p)),
            Geometry::Rect(r) => self.add_polygon(&r.to_polygon()),
            Geometry::Triangle(t) => self.add_polygon(&t.to_polygon()),
            Geometry::GeometryCollection(c) => c.0.iter().for_each(|g| self.add(g)),
            Geometry::Point(_) | Geometry::MultiPoint(_) => {}
        }
    }

    fn add_line(&mut self, l: &LineString<f64>) {
        if l.0.len() < 2 {
            return;
        }
        let start = self.vertices.len();
        self.push_coords(&l.0);
        let pts = &mut self.vertices[start..];
        let size = pts.windows(2).map(|w| (w[1].x - w[0].x).hypot(w[1].y - w[0].y)).sum();
        self.parts.push(Part {
            kind: PartKind::Line,
            start: start as u32,
            len: (self.vertices.len() - start) as u32,
            size,
            valid_zooms: 0,
        });
    }

    fn add_polygon(&mut self, p: &Polygon<f64>) {
        let before = self.parts.len();
        self.add_ring(p.exterior(), PartKind::Outer);
        if self.parts.len() == before {
            return; // degenerate exterior: holes are meaningless
        }
        for h in p.interiors() {
            self.add_ring(h, PartKind::Inner);
        }
    }

    fn add_ring(&mut self, r: &LineString<f64>, kind: PartKind) {
        if r.0.len() < 4 {
            return;
        }
        let start = self.vertices.len();
        self.push_coords(&r.0);
        let pts = &self.vertices[start..];
        let area2: f64 = pts.windows(2).map(|w| w[0].x * w[1].y - w[1].x * w[0].y).sum();
        self.parts.push(Part {
            kind,
            start: start as u32,
            len: (self.vertices.len() - start) as u32,
            size: area2.abs() / 2.0,
            valid_zooms: 0,
        });
    }

    fn push_coords(&mut self, coords: &[Coord<f64>]) {
        let start = self.vertices.len();
        for c in coords {
            let (x, y) = lonlat_to_world(c.x, c.y);
            self.vertices.push(WorldVertex { x, y, importance: 0.0 });
        }
        let pts = &mut self.vertices[start..];
        let last = pts.len() - 1;
        pts[0].importance = f32::INFINITY;
        pts[last].importance = f32::INFINITY;
        simplify_importance(pts, 0, last);
    }

    pub fn heap_bytes(&self) -> usize {
        self.vertices.capacity() * std::mem::size_of::<WorldVertex>()
            + self.parts.capacity() * std::mem::size_of::<Part>()
    }
}

/// Squared distance from p to segment ab.
#[inline]
pub(crate) fn sq_seg_dist(px: f64, py: f64, ax: f64, ay: f64, bx: f64, by: f64) -> f64 {
    let (mut x, mut y) = (ax, ay);
    let (dx, dy) = (bx - ax, by - ay);
    if dx != 0.0 || dy != 0.0 {
        let t = ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy);
        if t > 1.0 {
            x = bx;
            y = by;
        } else if t > 0.0 {
            x += dx * t;
            y += dy * t;
        }
    }
    (px - x).powi(2) + (py - y).powi(2)
}

/// Douglas-Peucker that records, for each vertex, the squared distance at
/// which it is kept (iterative, no recursion depth limit). Returns the
/// number of distance evaluations.
///
/// Plain Douglas-Peucker is quadratic when each split peels one vertex off
/// a span (a zigzag or self-intersecting ring: 100,000 vertices took minutes
/// to load). Past a depth of `2 log2(n) + 16` a span is split at its middle
/// instead, the middle vertex taking the span's largest distance as its
/// importance: at a tolerance at or above it every vertex of the span is
/// within the tolerance of its chord, as Douglas-Peucker requires, and
/// below it the halves are simplified on their own. So the work is at most
/// O(n log n), and real outlines, whose splits never go that deep, get
/// exactly Douglas-Peucker's result.
fn simplify_importance(pts: &mut [WorldVertex], first: usize, last: usize) -> usize {
    let n = last + 1 - first;
    let depth_limit = 2 * (usize::BITS - n.leading_zeros()) as usize + 16;
    let mut evaluations = 0;
    let mut stack = vec![(first, last, f64::INFINITY, 0usize)];
    while let Some((a, b, parent, depth)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (ax, ay, bx, by) = (pts[a].x, pts[a].y, pts[b].x, pts[b].y);
        let mut max = -1.0;
        let mut index = a;
        for (i, p) in pts.iter().enumerate().take(b).skip(a + 1) {
            let d = sq_seg_dist(p.x, p.y, ax, ay, bx, by);
            if d > max {
                max = d;
                index = i;
            }
        }
        evaluations += b - a - 1;
        // A vertex is never more important than the one that split its span,
        // so filtering by a tolerance keeps a consistent DP result.
        let imp = max.min(parent);
        let split = if depth > depth_limit { a + (b - a) / 2 } else { index };
        pts[split].importance = imp as f32;
        stack.push((a, split, imp, depth + 1));
        stack.push((split, b, imp, depth + 1));
    }
    evaluations
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{line_string, polygon};

    #[test]
    fn endpoints_are_always_kept_and_collinear_points_have_no_importance() {
        let l: Geometry<f64> =
            line_string![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 2.0, y: 0.0), (x: 3.0, y: 1.0)].into();
        let p = PreparedGeometry::new(&l);
        assert_eq!(p.parts.len(), 1);
        let v = p.part(&p.parts[0]);
        assert!(v[0].importance.is_infinite() && v[3].importance.is_infinite());
        assert!(v[1].importance < 1e-20, "{}", v[1].importance);
        assert!(v[2].importance > 0.0);
    }

    #[test]
    fn polygons_keep_holes_after_their_outer_ring() {
        let g: Geometry<f64> = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0), (x: 0.0, y: 0.0)],
            interiors: [[(x: 2.0, y: 2.0), (x: 3.0, y: 2.0), (x: 3.0, y: 3.0), (x: 2.0, y: 2.0)]],
        )
        .into();
        let p = PreparedGeometry::new(&g);
        let kinds: Vec<PartKind> = p.parts.iter().map(|p| p.kind).collect();
        assert_eq!(kinds, vec![PartKind::Outer, PartKind::Inner]);
        assert!(p.parts[0].size > p.parts[1].size);
    }

    /// A zigzag whose amplitude grows along it: every Douglas-Peucker split
    /// peels off the last vertex.
    fn zigzag(n: usize) -> Vec<WorldVertex> {
        (0..n)
            .map(|i| {
                let y = if i % 2 == 0 { i as f64 } else { -(i as f64) };
                WorldVertex { x: i as f64 * 1e-3, y: y * 1e-3, importance: 0.0 }
            })
            .collect()
    }

    #[test]
    fn simplification_work_grows_as_n_log_n_on_adversarial_lines() {
        let mut small = zigzag(2_000);
        let mut large = zigzag(20_000);
        let (a, b) = (simplify_importance(&mut small, 0, 1_999), simplify_importance(&mut large, 0, 19_999));
        // Quadratic would be 100 times; n log n is about 13.
        assert!(b <= 20 * a, "{a} evaluations for 2,000 vertices, {b} for 20,000");
    }

    #[test]
    fn forced_middle_splits_keep_every_vertex_within_the_tolerance() {
        let mut pts = zigzag(3_000);
        simplify_importance(&mut pts, 0, 2_999);
        pts[0].importance = f32::INFINITY;
        pts[2_999].importance = f32::INFINITY;
        for tol in [0.0f64, 1e-6, 1e-3, 0.1, 1.0, 10.0] {
            let kept: Vec<usize> =
                (0..pts.len()).filter(|&i| pts[i].importance as f64 > tol || i == 0 || i == 2_999).collect();
            for w in kept.windows(2) {
                let (a, b) = (&pts[w[0]], &pts[w[1]]);
                for p in &pts[w[0] + 1..w[1]] {
                    let d = sq_seg_dist(p.x, p.y, a.x, a.y, b.x, b.y);
                    assert!(d <= tol * (1.0 + 1e-6) + 1e-12, "tolerance {tol}: a dropped vertex at {d}");
                }
            }
        }
    }
}
