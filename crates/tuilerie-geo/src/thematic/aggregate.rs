//! Spatial aggregation of point layers into polygons.
//!
//! Each point is assigned to at most one polygon: the candidates come from
//! the polygon layer's R-tree (envelopes containing the point), then an exact
//! point-in-polygon test on the closed polygon (boundary included). **A point
//! on a boundary shared by several polygons goes to the one that comes first
//! in the layer** (lowest feature index), so it is counted exactly once and
//! no point on a border is lost. A multipoint counts once, at its first point.

use crate::geometry::FeatureGeometry;
use crate::layer::Layer;
use crate::query::{nearest, NearestQuery};
use crate::waste::CategoryMask;
use geo::coordinate_position::{CoordPos, CoordinatePosition};
use geo::orient::{Direction, Orient};
use geo::{Coord, GeodesicArea, Geometry, InteriorPoint, Point};

/// The polygon (feature index) of each point of `points`, `None` outside
/// every polygon; `keep` filters points (e.g. by waste category).
pub fn assign_points(polygons: &Layer, points: &Layer, keep: impl Fn(usize) -> bool) -> Vec<Option<u32>> {
    let shapes: Vec<Option<&Geometry<f64>>> = polygons
        .features()
        .map(|f| match f.geometry() {
            FeatureGeometry::Other(g) if matches!(**g, Geometry::Polygon(_) | Geometry::MultiPolygon(_)) => {
                Some(g.as_ref())
            }
            _ => None,
        })
        .collect();
    let mut candidates = Vec::new();
    points
        .features()
        .map(|f| {
            if !keep(f.index()) {
                return None;
            }
            let c = representative(f.geometry())?;
            candidates.clear();
            polygons.for_each_in_bbox([c.x, c.y, c.x, c.y], |j| candidates.push(j));
            candidates.sort_unstable();
            candidates
                .iter()
                .copied()
                .find(|&j| shapes[j as usize].is_some_and(|g| g.coordinate_position(&c) != CoordPos::Outside))
        })
        .collect()
}

fn representative(g: &FeatureGeometry) -> Option<Coord<f64>> {
    match g {
        FeatureGeometry::Point(c) => Some(*c),
        FeatureGeometry::Other(g) => match &**g {
            Geometry::MultiPoint(mp) => mp.0.first().map(|p| p.0),
            other => other.interior_point().map(|p| p.0),
        },
    }
}

/// Count, sum and mean per polygon of the assigned points.
#[derive(Debug, Clone, Default)]
pub struct Aggregate {
    pub count: Vec<u32>,
    /// Sum of a numeric property over the points that have it.
    pub sum: Vec<f64>,
    /// Points that had the numeric property.
    pub with_value: Vec<u32>,
}

impl Aggregate {
    /// Mean of the property, `None` where no point had it.
    pub fn mean(&self, i: usize) -> Option<f64> {
        (self.with_value[i] > 0).then(|| self.sum[i] / self.with_value[i] as f64)
    }
}

/// Aggregates `points` per polygon; `value` reads a point's numeric property.
pub fn aggregate(
    polygons: &Layer,
    points: &Layer,
    keep: impl Fn(usize) -> bool,
    value: impl Fn(usize) -> Option<f64>,
) -> Aggregate {
    let n = polygons.len();
    let mut out = Aggregate { count: vec![0; n], sum: vec![0.0; n], with_value: vec![0; n] };
    for (i, poly) in assign_points(polygons, points, keep).into_iter().enumerate() {
        if let Some(p) = poly {
            let p = p as usize;
            out.count[p] += 1;
            if let Some(v) = value(i) {
                out.sum[p] += v;
                out.with_value[p] += 1;
            }
        }
    }
    out
}

/// Geodesic area of each feature in km² (WGS84 ellipsoid, Karney); 0 for
/// points and lines. Rings are oriented first (exterior counter-clockwise):
/// on the sphere a clockwise ring would enclose the rest of the Earth.
pub fn areas_km2(layer: &Layer) -> Vec<f64> {
    layer
        .features()
        .map(|f| match f.geometry() {
            FeatureGeometry::Other(g) => match &**g {
                Geometry::Polygon(p) => p.orient(Direction::Default).geodesic_area_unsigned() / 1e6,
                Geometry::MultiPolygon(mp) => mp.orient(Direction::Default).geodesic_area_unsigned() / 1e6,
                _ => 0.0,
            },
            FeatureGeometry::Point(_) => 0.0,
        })
        .collect()
}

/// A point inside each feature (geo's interior point: on the surface even
/// for a crescent-shaped commune), used to measure distances.
pub fn inside_points(layer: &Layer) -> Vec<Option<Point<f64>>> {
    layer
        .features()
        .map(|f| match f.geometry() {
            FeatureGeometry::Point(c) => Some(Point(*c)),
            FeatureGeometry::Other(g) => g.interior_point(),
        })
        .collect()
}

/// Geodesic distance in metres from a point inside each polygon to the
/// nearest facility of `facilities` accepting every category of `accepts`.
pub fn distance_to_nearest(polygons: &Layer, facilities: &[&Layer], accepts: CategoryMask) -> Vec<Option<f64>> {
    let now = chrono::Utc::now();
    inside_points(polygons)
        .into_iter()
        .map(|p| {
            let p = p?;
            let q = NearestQuery {
                lon: p.x(),
                lat: p.y(),
                k: 1,
                accepts,
                open_at: None,
                at: now,
                max_distance: None,
                facility_type: None,
            };
            nearest(facilities, &q).first().map(|h| h.distance_m)
        })
        .collect()
}
