//! Geodesic k-nearest facilities with filters.
//!
//! Each layer keeps a [`GlobeTree`] of its features' representative points as
//! Earth-centred (ECEF) coordinates on the WGS84 ellipsoid. The straight
//! chord between two points of the ellipsoid is never longer than the
//! geodesic between them, so walking the tree in chord order and stopping
//! when the next chord (minus the layer's largest feature radius) exceeds
//! the k-th best geodesic distance is exact, with no special case at the
//! antimeridian or the poles. Filters (categories, type, opening hours,
//! distance) apply during the walk; exact distances come from
//! [`super::geodesic`] (Karney's method, or its closed form for short lines).

use crate::layer::{FeatureGeometry, Layer};
use crate::properties::Value;
use crate::waste::opening_hours::OpenState;
use crate::waste::CategoryMask;
use chrono::{DateTime, Utc};
use super::geodesic::{ecef, Origin, A, F};
use super::globe::{GlobeTree, WalkHeap};
use geo::{ClosestPoint, Contains, Coord, Geometry, MapCoords, Point};
use std::cell::RefCell;

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
const CHORD_MARGIN: f64 = 1e-3;

#[derive(Debug, Default)]
pub struct NearestIndex {
    tree: GlobeTree,
    /// Largest chord from a feature's representative point to its vertices.
    max_radius: f64,
    /// Every feature is a single point (the tree holds the points themselves).
    points_only: bool,
}

impl NearestIndex {
    pub fn build(geometries: &[FeatureGeometry]) -> Self {
        let mut max_radius: f64 = 0.0;
        let mut entries = Vec::with_capacity(geometries.len());
        for (i, g) in geometries.iter().enumerate() {
            let Some(rep) = crate::index::representative_point(g) else { continue };
            let r = ecef(rep.x, rep.y);
            if let FeatureGeometry::Other(g) = g {
                use geo::CoordsIter;
                for c in g.coords_iter() {
                    let p = ecef(c.x, c.y);
                    let d = ((p[0] - r[0]).powi(2) + (p[1] - r[1]).powi(2) + (p[2] - r[2]).powi(2)).sqrt();
                    max_radius = max_radius.max(d);
                }
            }
            entries.push((r, i as u32));
        }
        NearestIndex {
            tree: GlobeTree::build(entries),
            max_radius,
            points_only: geometries.iter().all(|g| matches!(g, FeatureGeometry::Point(_))),
        }
    }

    /// Records the waste categories of every feature (by feature index), so
    /// that filtered walks skip subtrees without a match.
    pub fn set_categories(&mut self, masks: &[CategoryMask]) {
        self.tree.set_categories(masks);
    }

    pub fn heap_bytes(&self) -> usize {
        self.tree.heap_bytes()
    }

    /// Calls `f` with every feature whose representative point may lie in
    /// the lon/lat box `[west, south, east, north]` (a superset: the box's
    /// Earth-centred bounding box, padded by the rounding error; callers
    /// test exactly).
    pub fn candidates_in_lonlat_box(&self, bbox: [f64; 4], mut f: impl FnMut(u32)) {
        let [lo, hi] = ecef_box(bbox);
        self.tree.for_each_in_box(lo.map(|x| x - CHORD_MARGIN), hi.map(|x| x + CHORD_MARGIN), &mut f);
    }
}

/// A nearest-facility query.
#[derive(Debug, Clone)]
pub struct NearestQuery {
    pub lon: f64,
    pub lat: f64,
    pub k: usize,
    /// Every one of these categories must be accepted (0: no filter).
    pub accepts: CategoryMask,
    /// Keep only facilities open at this time.
    pub open_at: Option<DateTime<Utc>>,
    /// Time at which `open_now` / `next_change` are reported.
    pub at: DateTime<Utc>,
    pub max_distance: Option<f64>,
    /// `recycling_type` value required (`container`, `centre`).
    pub facility_type: Option<String>,
}

/// One result.
#[derive(Debug, Clone)]
pub struct NearestHit {
    /// Position of the layer in the list given to [`nearest`].
    pub layer: usize,
    pub feature: usize,
    pub distance_m: f64,
    pub bearing_deg: f64,
    pub open: OpenState,
    pub next_change: Option<std::sync::Arc<str>>,
}

/// Geodesic distance from `q` to a feature: to the point, or 0 inside a
/// polygon and the distance to its boundary otherwise; with the azimuth
/// towards the closest point.
pub fn distance_to(origin: &Origin, g: &FeatureGeometry) -> (f64, f64) {
    let q = origin.point();
    match g {
        FeatureGeometry::Point(c) => origin.inverse(Point(*c)),
        FeatureGeometry::Other(g) => {
            let inside = match g.as_ref() {
                Geometry::Polygon(p) => p.contains(&q),
                Geometry::MultiPolygon(p) => p.contains(&q),
                _ => false,
            };
            if inside {
                return (0.0, 0.0);
            }
            // Closest point in a local equirectangular frame around q (metres),
            // then the exact geodesic distance to it.
            let (lon0, lat0) = (q.x(), q.y());
            let k = lat0.to_radians().cos().max(1e-6);
            let wrap = |d: f64| (d + 540.0) % 360.0 - 180.0;
            let local = g.map_coords(|c| Coord { x: wrap(c.x - lon0) * k, y: c.y - lat0 });
            let closest = match local.closest_point(&Point::new(0.0, 0.0)) {
                geo::Closest::Intersection(p) | geo::Closest::SinglePoint(p) => p,
                geo::Closest::Indeterminate => return (f64::INFINITY, 0.0),
            };
            origin.inverse(Point::new(wrap(closest.x() / k + lon0), closest.y() + lat0))
        }
    }
}

struct Best {
    hits: Vec<NearestHit>,
    k: usize,
}

impl Best {
    fn worst(&self) -> Option<f64> {
        (self.hits.len() >= self.k).then(|| self.hits.last().map_or(f64::INFINITY, |h| h.distance_m))
    }

    fn push(&mut self, h: NearestHit) {
        let pos = self
            .hits
            .partition_point(|x| (x.distance_m, x.layer, x.feature) < (h.distance_m, h.layer, h.feature));
        self.hits.insert(pos, h);
        self.hits.truncate(self.k);
    }
}

fn matches_type(layer: &Layer, i: usize, t: &str) -> bool {
    match layer.feature(i).property("recycling_type") {
        Some(Value::String(s)) => s.eq_ignore_ascii_case(t),
        _ => false,
    }
}

/// The `k` nearest features over `layers` that pass the filters, by
/// ascending geodesic distance (ties: layer order, then feature order).
pub fn nearest(layers: &[&Layer], q: &NearestQuery) -> Vec<NearestHit> {
    let origin = Origin::new(Point::new(q.lon, q.lat));
    let mut best = Best { hits: Vec::with_capacity(q.k + 1), k: q.k };
    if q.k == 0 {
        return Vec::new();
    }
    thread_local! {
        static HEAP: RefCell<WalkHeap> = RefCell::new(WalkHeap::default());
    }
    HEAP.with_borrow_mut(|heap| {
        for (li, layer) in layers.iter().enumerate() {
            walk_layer(li, layer, q, &origin, heap, &mut best);
        }
    });
    for h in &best.hits {
        layers[h.layer].prefetch_feature(h.feature);
    }
    for h in &mut best.hits {
        if let Some(s) = layers[h.layer].schedules() {
            (h.open, h.next_change) = s.evaluate_rfc3339(h.feature, q.at);
        }
    }
    for h in &best.hits {
        layers[h.layer].prefetch_properties(h.feature);
    }
    best.hits
}

/// Walks one layer's tree in chord order, filtering as it goes, until no
/// unseen feature can beat the k-th best.
fn walk_layer(li: usize, layer: &Layer, q: &NearestQuery, origin: &Origin, heap: &mut WalkHeap, best: &mut Best) {
    let index = layer.nearest_index();
    let schedules = layer.schedules();
    // No feature farther than the k-th best (or max_distance) can be used:
    // the walk need not queue it.
    let slack = CHORD_MARGIN + index.max_radius;
    let mut walk = index.tree.nearest(origin.xyz(), q.accepts, heap);
    if let Some(w) = best.worst() {
        walk.set_limit(w + slack);
    }
    if let Some(m) = q.max_distance {
        walk.set_limit(m + slack);
    }
    while let Some((i, d2, xyz)) = walk.next() {
        let lower = d2.sqrt() - CHORD_MARGIN - index.max_radius;
        if best.worst().is_some_and(|w| lower > w) || q.max_distance.is_some_and(|m| lower > m) {
            break;
        }
        let i = i as usize;
        // The tree already skips points without the categories, when it knows them.
        if q.accepts != 0 && !index.tree.filters_categories() && layer.categories(i) & q.accepts != q.accepts {
            continue;
        }
        if let Some(t) = &q.facility_type {
            if !matches_type(layer, i, t) {
                continue;
            }
        }
        if let Some(at) = q.open_at {
            let open = schedules.map_or(OpenState::Unknown, |s| s.state(i, at));
            if open != OpenState::Open {
                continue;
            }
        }
        let (d, azimuth) = if index.points_only {
            // The tree holds the point itself; its lon/lat is only read for
            // a line long enough to need Karney's method.
            let geometry = || layer.feature(i).geometry();
            origin.inverse_xyz(xyz, || crate::index::representative_point(geometry()).map_or(origin.point(), Point))
        } else {
            distance_to(origin, layer.feature(i).geometry())
        };
        if q.max_distance.is_some_and(|m| d > m) || best.worst().is_some_and(|w| d > w) {
            continue;
        }
        best.push(NearestHit {
            layer: li,
            feature: i,
            distance_m: d,
            bearing_deg: if d > 0.0 { azimuth.rem_euclid(360.0) } else { 0.0 },
            // Set for the final results only, in `nearest`.
            open: OpenState::Unknown,
            next_change: None,
        });
        if let Some(w) = best.worst() {
            walk.set_limit(w + slack);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Distance, Geodesic};

    #[test]
    fn the_earth_centred_box_encloses_every_point_of_the_lonlat_box() {
        let boxes = [[-1.3, 44.1, 0.4, 45.6], [170.0, -10.0, 180.0, 10.0], [-180.0, 80.0, 180.0, 90.0], [-100.0, -90.0, 100.0, -60.0], [-5.0, -3.0, 5.0, 3.0]];
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
            assert!(corners.iter().any(|c| (c[2] - lo[2]).abs() < 1.0) && corners.iter().any(|c| (c[2] - hi[2]).abs() < 1.0));
        }
    }

    #[test]
    fn ecef_chords_never_exceed_geodesic_distances() {
        let pairs = [((0.0, 0.0), (179.9, 0.5)), ((-179.95, 10.0), (179.95, 10.0)), ((0.0, 89.99), (180.0, 89.99)), ((-0.58, 44.84), (2.35, 48.85))];
        for ((a, b), (c, d)) in pairs {
            let (p, q) = (ecef(a, b), ecef(c, d));
            let chord = ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)).sqrt();
            let g = Geodesic.distance(Point::new(a, b), Point::new(c, d));
            assert!(chord <= g + 1e-6, "{chord} > {g}");
        }
    }
}
