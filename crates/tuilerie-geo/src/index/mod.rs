//! Spatial indexes of a layer, bulk-loaded once (envelopes with `rstar`,
//! representative points in the hand-written [`GlobeTree`]).
//!
//! - `globe`: one entry per feature at its representative point (the point
//!   itself, or a point inside the polygon / on the line) in Earth-centred
//!   coordinates, for geodesic nearest queries ([`GlobeTree`]).
//! - `envelopes`: the WGS84 bounding box of every feature, for bbox and tile
//!   queries, kept only when the layer has features other than single
//!   points. A layer of points answers bbox queries from `globe` (the
//!   Earth-centred box enclosing the lon/lat box, then an exact test), so a
//!   million points cost one tree, not two.
//!
//! Web Mercator is monotonic in both axes, so a tile's bounds convert to a
//! lon/lat box exactly.

pub mod globe;
mod walk;

pub use globe::GlobeTree;

use crate::geometry::{envelope, FeatureGeometry};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, RTreeNode, AABB};

/// A feature's bounding box, with the feature index.
pub type EnvelopeEntry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// The R-trees of one layer.
#[derive(Debug, Default)]
pub struct LayerIndex {
    pub(crate) globe: GlobeTree,
    pub(crate) envelopes: Option<RTree<EnvelopeEntry>>,
}

impl LayerIndex {
    /// Bulk-loads the trees for `geometries` (entry data = feature index).
    pub fn build(geometries: &[FeatureGeometry]) -> Self {
        LayerIndex { globe: GlobeTree::build(geometries), envelopes: Self::envelopes_of(geometries) }
    }

    /// The envelope tree of `geometries`, when they are not all points.
    pub(crate) fn envelopes_of(geometries: &[FeatureGeometry]) -> Option<RTree<EnvelopeEntry>> {
        let only_points = geometries.iter().all(|g| matches!(g, FeatureGeometry::Point(_)));
        (!only_points).then(|| {
            RTree::bulk_load(
                geometries
                    .iter()
                    .enumerate()
                    .filter_map(|(i, g)| {
                        let r = envelope(g)?;
                        Some(EnvelopeEntry::new(
                            Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                            i as u32,
                        ))
                    })
                    .collect(),
            )
        })
    }

    /// The Earth-centred tree of representative points.
    pub fn globe(&self) -> &GlobeTree {
        &self.globe
    }

    pub(crate) fn globe_mut(&mut self) -> &mut GlobeTree {
        &mut self.globe
    }

    /// The tree of envelopes, if the layer has features other than points.
    pub fn envelopes(&self) -> Option<&RTree<EnvelopeEntry>> {
        self.envelopes.as_ref()
    }

    /// Calls `f` with the index of every feature of `geometries` (those the
    /// index was built from) whose envelope intersects the lon/lat box
    /// `[west, south, east, north]`.
    pub fn for_each_in_bbox(&self, geometries: &[FeatureGeometry], bbox: [f64; 4], mut f: impl FnMut(u32)) {
        match &self.envelopes {
            Some(tree) => {
                let aabb = AABB::from_corners([bbox[0], bbox[1]], [bbox[2], bbox[3]]);
                tree.locate_in_envelope_intersecting(&aabb).for_each(|e| f(e.data))
            }
            None => self.globe.candidates_in_lonlat_box(bbox, |i| {
                if let Some(FeatureGeometry::Point(c)) = geometries.get(i as usize) {
                    if c.x >= bbox[0] && c.x <= bbox[2] && c.y >= bbox[1] && c.y <= bbox[3] {
                        f(i);
                    }
                }
            }),
        }
    }

    /// Indexes of features whose envelope intersects `bbox`, in ascending order.
    pub fn query_bbox(&self, geometries: &[FeatureGeometry], bbox: [f64; 4]) -> Vec<u32> {
        let mut out = Vec::new();
        self.for_each_in_bbox(geometries, bbox, |i| out.push(i));
        out.sort_unstable();
        out
    }

    /// Approximate heap bytes: rstar stores each entry in a node-sized slot.
    pub fn heap_bytes(&self) -> usize {
        let e = self.envelopes.as_ref().map_or(0, |t| t.size() * std::mem::size_of::<RTreeNode<EnvelopeEntry>>());
        e * 11 / 10 + self.globe.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::lcg;
    use geo::{polygon, Coord, Geometry};

    #[test]
    fn bbox_query_matches_brute_force_on_random_points_and_polygons() {
        let mut seed = 42;
        let mut geoms = Vec::new();
        for i in 0..2000 {
            let x = lcg(&mut seed) * 10.0 - 5.0;
            let y = lcg(&mut seed) * 10.0 + 40.0;
            if i % 3 == 0 {
                let d = lcg(&mut seed) * 0.5;
                let p: Geometry<f64> =
                    polygon![(x: x, y: y), (x: x + d, y: y), (x: x + d, y: y + d), (x: x, y: y)].into();
                geoms.push(FeatureGeometry::from_geometry(p));
            } else {
                geoms.push(FeatureGeometry::Point(Coord { x, y }));
            }
        }
        let index = LayerIndex::build(&geoms);
        let points: Vec<FeatureGeometry> =
            geoms.iter().filter(|g| matches!(g, FeatureGeometry::Point(_))).cloned().collect();
        let point_index = LayerIndex::build(&points);
        assert!(point_index.envelopes().is_none());
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
            assert_eq!(index.query_bbox(&geoms, bbox), expected);
            let expected_points: Vec<u32> = points
                .iter()
                .enumerate()
                .filter(|(_, g)| {
                    let c = envelope(g).unwrap().min();
                    c.x >= bbox[0] && c.x <= bbox[2] && c.y >= bbox[1] && c.y <= bbox[3]
                })
                .map(|(i, _)| i as u32)
                .collect();
            assert_eq!(point_index.query_bbox(&points, bbox), expected_points, "points through the globe tree");
        }
    }

    #[test]
    fn point_only_layers_keep_a_single_tree() {
        let geoms = vec![FeatureGeometry::Point(Coord { x: 1.0, y: 2.0 })];
        let index = LayerIndex::build(&geoms);
        assert!(index.envelopes().is_none());
        assert_eq!(index.query_bbox(&geoms, [0.0, 0.0, 2.0, 3.0]), vec![0]);
        assert!(index.query_bbox(&geoms, [1.5, 0.0, 2.0, 3.0]).is_empty());
        // Exactly on the box's edge counts as inside.
        assert_eq!(index.query_bbox(&geoms, [1.0, 2.0, 1.0, 2.0]), vec![0]);
    }
}
