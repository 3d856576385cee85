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
//! [`crate::geodesic`] (Karney's method, or its closed form for short lines).

use super::params::{number, parse_time, QueryParams};
use crate::error::ParamError;
use crate::geodesic::Origin;
use crate::geometry::FeatureGeometry;
use crate::hours::OpenState;
use crate::index::globe::{WalkHeap, CHORD_MARGIN};
use crate::layer::Layer;
use crate::profile::ClassMask;
use crate::properties::Value;
use crate::waste::parse_accepts;
use chrono::{DateTime, Utc};
use geo::{ClosestPoint, Contains, Coord, Geometry, MapCoords, Point};
use std::cell::RefCell;

/// A nearest-facility query.
#[derive(Debug, Clone)]
pub struct NearestQuery {
    pub lon: f64,
    pub lat: f64,
    pub k: usize,
    /// Every one of these categories must be accepted (0: no filter).
    pub accepts: ClassMask,
    /// Keep only facilities open at this time.
    pub open_at: Option<DateTime<Utc>>,
    /// Time at which `open_now` / `next_change` are reported.
    pub at: DateTime<Utc>,
    pub max_distance: Option<f64>,
    /// `recycling_type` value required (`container`, `centre`).
    pub facility_type: Option<String>,
}

/// Largest `k` a query may ask for.
pub const MAX_K: usize = 1000;

impl NearestQuery {
    /// Checks and types the parameters of a nearest request: `lon`, `lat`
    /// (required, WGS84 degrees), `k` (1 to [`MAX_K`], default 5),
    /// `accepts` (wastes, all required), `open` (`now` or RFC 3339),
    /// `max_distance` (metres), `type` (`container` or `centre`).
    pub fn parse(params: &(impl QueryParams + ?Sized), now: DateTime<Utc>) -> Result<NearestQuery, ParamError> {
        let lon = number(params, "lon")?
            .ok_or_else(|| ParamError::new("lon", "lon is required (longitude in degrees, WGS84)"))?;
        let lat = number(params, "lat")?
            .ok_or_else(|| ParamError::new("lat", "lat is required (latitude in degrees, WGS84)"))?;
        if !(-180.0..=180.0).contains(&lon) {
            return Err(ParamError::new("lon", format!("lon = {lon} is outside [-180, 180]")));
        }
        if !(-90.0..=90.0).contains(&lat) {
            return Err(ParamError::new("lat", format!("lat = {lat} is outside [-90, 90]")));
        }
        let k =
            match params.get("k") {
                None => 5,
                Some(v) => v.parse::<usize>().ok().filter(|k| (1..=MAX_K).contains(k)).ok_or_else(|| {
                    ParamError::new("k", format!("k must be an integer from 1 to {MAX_K}, got {v:?}"))
                })?,
            };
        let max_distance = number(params, "max_distance")?;
        if let Some(m) = max_distance {
            if m < 0.0 {
                return Err(ParamError::new(
                    "max_distance",
                    format!("max_distance must be positive (metres), got {m}"),
                ));
            }
        }
        let accepts = params.get("accepts").map(parse_accepts).transpose()?.unwrap_or(0);
        let open_at = params.get("open").map(|v| parse_time("open", v, now)).transpose()?;
        let facility_type = match params.get("type") {
            None | Some("") => None,
            Some(t @ ("container" | "centre")) => Some(t.to_string()),
            Some(t) => {
                return Err(ParamError::new("type", format!("type must be \"container\" or \"centre\", got {t:?}")))
            }
        };
        Ok(NearestQuery { lon, lat, k, accepts, open_at, at: open_at.unwrap_or(now), max_distance, facility_type })
    }
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
        let pos =
            self.hits.partition_point(|x| (x.distance_m, x.layer, x.feature) < (h.distance_m, h.layer, h.feature));
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
    nearest_where(layers, q, None)
}

/// A filter of the caller's over (position of the layer in the list,
/// feature index): `false` leaves the feature out (the live status of a
/// facility, known to the server only).
pub type Keep<'a> = &'a (dyn Fn(usize, usize) -> bool + Sync);

/// [`nearest`] with a filter of the caller's, applied during the walk after
/// the query's own (so `k` results pass it when there are that many).
pub fn nearest_where(layers: &[&Layer], q: &NearestQuery, keep: Option<Keep<'_>>) -> Vec<NearestHit> {
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
            walk_layer(li, layer, q, keep, &origin, heap, &mut best);
        }
    });
    for h in &best.hits {
        layers[h.layer].prefetch_feature(h.feature);
    }
    for h in &mut best.hits {
        if let Some((s, i)) = layers[h.layer].schedules(h.feature) {
            (h.open, h.next_change) = s.evaluate_rfc3339(i, q.at);
        }
    }
    for h in &best.hits {
        layers[h.layer].prefetch_properties(h.feature);
    }
    best.hits
}

/// Walks one layer's tree in chord order (an edited layer's: its file's
/// tree, then the tree of its edited features), filtering as it goes,
/// until no unseen feature can beat the k-th best.
fn walk_layer(
    li: usize,
    layer: &Layer,
    q: &NearestQuery,
    keep: Option<Keep<'_>>,
    origin: &Origin,
    heap: &mut WalkHeap,
    best: &mut Best,
) {
    let dead: &[u64] = layer.delta.as_ref().map_or(&[], |d| &d.dead);
    let part = Part { li, offset: 0, dead, keep };
    walk_part(&part, layer, q, origin, heap, best);
    if let Some(d) = &layer.delta {
        walk_part(&Part { offset: layer.features.len(), dead: &[], ..part }, &d.extra, q, origin, heap, best);
    }
}

/// Where a walked part sits: its layer's position, the number of its
/// first feature in the layer, its features marked dead, the caller's
/// filter.
#[derive(Clone, Copy)]
struct Part<'a> {
    li: usize,
    offset: usize,
    dead: &'a [u64],
    keep: Option<Keep<'a>>,
}

/// Walks `part` (the layer itself, or its edited features numbered from
/// `offset`), skipping its features marked in `dead`.
fn walk_part(at: &Part<'_>, part: &Layer, q: &NearestQuery, origin: &Origin, heap: &mut WalkHeap, best: &mut Best) {
    let Part { li, offset, dead, keep } = *at;
    let index = part.index.globe();
    let profile = part.profile();
    let schedules = profile.schedules();
    // No feature farther than the k-th best (or max_distance) can be used:
    // the walk need not queue it.
    let slack = CHORD_MARGIN + index.max_radius;
    let mut walk = index.nearest(origin.xyz(), q.accepts, heap);
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
        if !dead.is_empty() && crate::layer::is_dead(dead, i) {
            continue;
        }
        // The tree already skips points without the categories, when it knows them.
        if q.accepts != 0 && !index.filters_categories() && profile.mask(i) & q.accepts != q.accepts {
            continue;
        }
        if let Some(t) = &q.facility_type {
            if !matches_type(part, i, t) {
                continue;
            }
        }
        if let Some(at) = q.open_at {
            let open = schedules.map_or(OpenState::Unknown, |s| s.state(i, at));
            if open != OpenState::Open {
                continue;
            }
        }
        if keep.is_some_and(|k| !k(li, offset + i)) {
            continue;
        }
        let (d, azimuth) = if index.points_only {
            // The tree holds the point itself; its lon/lat is only read for
            // a line long enough to need Karney's method.
            let geometry = || part.feature(i).geometry();
            origin.inverse_xyz(xyz, || crate::geometry::representative_point(geometry()).map_or(origin.point(), Point))
        } else {
            distance_to(origin, part.feature(i).geometry())
        };
        if q.max_distance.is_some_and(|m| d > m) || best.worst().is_some_and(|w| d > w) {
            continue;
        }
        best.push(NearestHit {
            layer: li,
            feature: offset + i,
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
    use crate::geodesic::ecef;
    use geo::{Distance, Geodesic};

    #[test]
    fn ecef_chords_never_exceed_geodesic_distances() {
        let pairs = [
            ((0.0, 0.0), (179.9, 0.5)),
            ((-179.95, 10.0), (179.95, 10.0)),
            ((0.0, 89.99), (180.0, 89.99)),
            ((-0.58, 44.84), (2.35, 48.85)),
        ];
        for ((a, b), (c, d)) in pairs {
            let (p, q) = (ecef(a, b), ecef(c, d));
            let chord = ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) + (p[2] - q[2]).powi(2)).sqrt();
            let g = Geodesic.distance(Point::new(a, b), Point::new(c, d));
            assert!(chord <= g + 1e-6, "{chord} > {g}");
        }
    }
}
