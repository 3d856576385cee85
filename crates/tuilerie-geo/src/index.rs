//! Spatial indexes of a layer, bulk-loaded once with `rstar`.
//!
//! - `points`: one entry per feature at its representative point (the point
//!   itself, or a point inside the polygon / on the line), for nearest queries.
//! - `envelopes`: the WGS84 bounding box of every non-point feature, for bbox
//!   and tile queries. Point-only layers answer bbox queries from `points`
//!   and keep no second tree.
//!
//! Both trees are in longitude/latitude degrees. Web Mercator is monotonic in
//! both axes, so a tile's bounds convert to a lon/lat box exactly.

use crate::layer::FeatureGeometry;
use geo::{BoundingRect, Coord, InteriorPoint, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

/// A feature's representative point, with the feature index.
pub type PointEntry = GeomWithData<[f64; 2], u32>;
/// A feature's bounding box, with the feature index.
pub type EnvelopeEntry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// The R-trees of one layer.
#[derive(Debug, Default)]
pub struct LayerIndex {
    points: RTree<PointEntry>,
    envelopes: Option<RTree<EnvelopeEntry>>,
}

/// Bounding box of a feature geometry, `None` if it has no coordinates.
pub fn envelope(g: &FeatureGeometry) -> Option<Rect<f64>> {
    match g {
        FeatureGeometry::Point(c) => Some(Rect::new(*c, *c)),
        FeatureGeometry::Other(g) => g.bounding_rect(),
    }
}

/// A point standing for the feature: the point itself, else an interior point.
pub fn representative_point(g: &FeatureGeometry) -> Option<Coord<f64>> {
    match g {
        FeatureGeometry::Point(c) => Some(*c),
        FeatureGeometry::Other(g) => g.interior_point().map(|p| p.0),
    }
}

impl LayerIndex {
    /// Bulk-loads the trees for `geometries` (entry data = feature index).
    pub fn build(geometries: &[FeatureGeometry]) -> Self {
        let mut points = Vec::with_capacity(geometries.len());
        let mut envelopes = Vec::new();
        for (i, g) in geometries.iter().enumerate() {
            let i = i as u32;
            if let Some(c) = representative_point(g) {
                points.push(PointEntry::new([c.x, c.y], i));
            }
            if let FeatureGeometry::Other(_) = g {
                if let Some(r) = envelope(g) {
                    envelopes.push(EnvelopeEntry::new(
                        Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                        i,
                    ));
                }
            }
        }
        let envelopes = if envelopes.is_empty() {
            None
        } else {
            // Points of a mixed layer also need to be found by bbox.
            for (i, g) in geometries.iter().enumerate() {
                if let FeatureGeometry::Point(c) = g {
                    envelopes.push(EnvelopeEntry::new(
                        Rectangle::from_corners([c.x, c.y], [c.x, c.y]),
                        i as u32,
                    ));
                }
            }
            Some(RTree::bulk_load(envelopes))
        };
        LayerIndex {
            points: RTree::bulk_load(points),
            envelopes,
        }
    }

    /// The tree of representative points.
    pub fn points(&self) -> &RTree<PointEntry> {
        &self.points
    }

    /// The tree of envelopes, if the layer has non-point features.
    pub fn envelopes(&self) -> Option<&RTree<EnvelopeEntry>> {
        self.envelopes.as_ref()
    }

    /// Calls `f` with the index of every feature whose envelope intersects
    /// the lon/lat box `[west, south, east, north]`.
    pub fn for_each_in_bbox(&self, bbox: [f64; 4], mut f: impl FnMut(u32)) {
        let aabb = AABB::from_corners([bbox[0], bbox[1]], [bbox[2], bbox[3]]);
        match &self.envelopes {
            Some(tree) => tree
                .locate_in_envelope_intersecting(&aabb)
                .for_each(|e| f(e.data)),
            None => self
                .points
                .locate_in_envelope(&aabb)
                .for_each(|e| f(e.data)),
        }
    }

    /// Indexes of features whose envelope intersects `bbox`, in ascending order.
    pub fn query_bbox(&self, bbox: [f64; 4]) -> Vec<u32> {
        let mut out = Vec::new();
        self.for_each_in_bbox(bbox, |i| out.push(i));
        out.sort_unstable();
        out
    }

    /// Approximate heap bytes (entries plus about 10% for inner nodes).
    pub fn heap_bytes(&self) -> usize {
        let p = self.points.size() * std::mem::size_of::<PointEntry>();
        let e = self
            .envelopes
            .as_ref()
            .map_or(0, |t| t.size() * std::mem::size_of::<EnvelopeEntry>());
        (p + e) * 11 / 10
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::lcg;
    use geo::{polygon, Geometry};

    #[test]
    fn bbox_query_matches_brute_force_on_random_points_and_polygons() {
        let mut seed = 42;
        let mut geoms = Vec::new();
        for i in 0..2000 {
            let x = lcg(&mut seed) * 10.0 - 5.0;
            let y = lcg(&mut seed) * 10.0 + 40.0;
            if i % 3 == 0 {
                let d = lcg(&mut seed) * 0.5;
                let p: Geometry<f64> = polygon![(x: x, y: y), (x: x + d, y: y), (x: x + d, y: y + d), (x: x, y: y)].into();
                geoms.push(FeatureGeometry::from_geometry(p));
            } else {
                geoms.push(FeatureGeometry::Point(Coord { x, y }));
            }
        }
        let index = LayerIndex::build(&geoms);
        for _ in 0..50 {
            let w = lcg(&mut seed) * 10.0 - 5.0;
            let s = lcg(&mut seed) * 10.0 + 40.0;
            let bbox = [w, s, w + lcg(&mut seed) * 3.0, s + lcg(&mut seed) * 3.0];
            let expected: Vec<u32> = geoms
                .iter()
                .enumerate()
                .filter(|(_, g)| {
                    let r = envelope(g).unwrap();
                    r.min().x <= bbox[2] && r.max().x >= bbox[0] && r.min().y <= bbox[3] && r.max().y >= bbox[1]
                })
                .map(|(i, _)| i as u32)
                .collect();
            assert_eq!(index.query_bbox(bbox), expected);
        }
    }

    #[test]
    fn point_only_layers_keep_a_single_tree() {
        let geoms = vec![FeatureGeometry::Point(Coord { x: 1.0, y: 2.0 })];
        let index = LayerIndex::build(&geoms);
        assert!(index.envelopes().is_none());
        assert_eq!(index.query_bbox([0.0, 0.0, 2.0, 3.0]), vec![0]);
        assert!(index.query_bbox([1.5, 0.0, 2.0, 3.0]).is_empty());
    }
}
