//! What tiling keeps per layer, computed at load: the serving zooms and
//! simplification tolerance ([`TileSettings`], validated here), world-unit
//! geometry with simplification importances for lines and polygons, and
//! point clusters for low zooms ([`TilePrep`]). [`LayerTiles`] is the view
//! of a layer that the renderer reads.

use super::cluster::{ClusterIndex, ClusterOptions};
use super::prepared::PreparedGeometry;
use super::tile::lonlat_to_world;
use super::valid::{mark_valid_zooms, ValidityScratch};
use crate::error::OptionError;
use crate::features::FeatureTable;
use crate::geometry::{representative_point, FeatureGeometry, GeometryKind};
use crate::profile::Profile;

/// Highest zoom level a layer may be served at.
pub const MAX_ZOOM: u8 = 22;

/// Douglas–Peucker tolerance of tiles below a layer's maxzoom, in pixels of
/// a 512-pixel tile: MapLibre's default for GeoJSON sources (geojson-vt's 3
/// units of a 4096 extent).
pub const DEFAULT_TOLERANCE: f64 = 0.375;

/// Whether a layer's points are clustered at low zooms.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Clustering {
    /// On for point layers, with default options (below the layer's maxzoom).
    #[default]
    Auto,
    Off,
    On(ClusterOptions),
}

/// How a layer is served as tiles (configuration keys `minzoom`,
/// `maxzoom`, `tolerance`, `cluster`, `cluster_radius`, `cluster_maxzoom`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TileSettings {
    pub minzoom: u8,
    /// No simplification from this zoom on; deeper tiles are cut from it.
    pub maxzoom: u8,
    /// Simplification below `maxzoom`, pixels of a 512-pixel tile.
    pub tolerance: f64,
    pub clustering: Clustering,
}

impl Default for TileSettings {
    fn default() -> Self {
        TileSettings { minzoom: 0, maxzoom: 14, tolerance: DEFAULT_TOLERANCE, clustering: Clustering::Auto }
    }
}

impl TileSettings {
    /// The squared simplification tolerance at zoom `z`, in world units²
    /// (the tolerance's pixels of a 512-pixel tile at that zoom); 0, no
    /// simplification, from maxzoom on.
    pub fn sq_tolerance(&self, z: u8) -> f64 {
        if z >= self.maxzoom {
            0.0
        } else {
            (self.tolerance / (512.0 * (1u64 << z) as f64)).powi(2)
        }
    }

    /// Checks zooms (at most [`MAX_ZOOM`], minzoom <= maxzoom), tolerance
    /// and cluster options; the message names the option.
    pub fn validate(&self) -> Result<(), OptionError> {
        for (name, z) in [("minzoom", self.minzoom), ("maxzoom", self.maxzoom)] {
            if z > MAX_ZOOM {
                return Err(OptionError::new(name, format!("{name} = {z} is above {MAX_ZOOM}")));
            }
        }
        if self.minzoom > self.maxzoom {
            return Err(OptionError::new(
                "minzoom",
                format!("minzoom {} is greater than maxzoom {}", self.minzoom, self.maxzoom),
            ));
        }
        if !(0.0..=64.0).contains(&self.tolerance) {
            return Err(OptionError::new(
                "tolerance",
                format!("tolerance = {} must be in [0, 64] (pixels of a 512-pixel tile)", self.tolerance),
            ));
        }
        if let Clustering::On(o) = self.clustering {
            if !(o.radius > 0.0 && o.radius <= 512.0) {
                return Err(OptionError::new(
                    "cluster_radius",
                    format!("cluster_radius = {} must be in (0, 512]", o.radius),
                ));
            }
            if o.max_zoom > MAX_ZOOM {
                return Err(OptionError::new(
                    "cluster_maxzoom",
                    format!("cluster_maxzoom = {} is above {MAX_ZOOM}", o.max_zoom),
                ));
            }
            if o.min_points < 2 {
                return Err(OptionError::new(
                    "cluster_min_points",
                    format!("cluster_min_points = {} must be at least 2", o.min_points),
                ));
            }
        }
        Ok(())
    }
}

/// A layer's tiling data, computed once at load.
#[derive(Debug, Default)]
pub struct TilePrep {
    pub(crate) settings: TileSettings,
    /// World-unit geometry with simplification importances, per feature;
    /// empty for point-only layers.
    pub(crate) prepared: Vec<PreparedGeometry>,
    pub(crate) clusters: Option<ClusterIndex>,
    /// `count_<class>` property names of cluster features, by class.
    pub(crate) count_keys: Vec<String>,
}

impl TilePrep {
    /// Prepares lines and polygons for simplification and clusters points
    /// (by the settings; `Auto` clusters point-only layers below maxzoom).
    pub fn build(
        features: &FeatureTable,
        kinds: &[GeometryKind],
        settings: TileSettings,
        profile: &dyn Profile,
    ) -> TilePrep {
        let geometries = features.geometries();
        let prepared =
            if kinds.iter().any(|k| !k.is_puntal()) { prepare_geometries(geometries, &settings) } else { Vec::new() };
        let point_layer = !kinds.is_empty() && kinds.iter().all(|k| k.is_puntal());
        let cluster_options = match settings.clustering {
            Clustering::Off => None,
            Clustering::On(o) => Some(o),
            Clustering::Auto => point_layer.then(|| ClusterOptions {
                max_zoom: ClusterOptions::default().max_zoom.min(settings.maxzoom.saturating_sub(1)),
                ..ClusterOptions::default()
            }),
        };
        let clusters = cluster_options.map(|o| {
            let points: Vec<(f64, f64, u32)> = geometries
                .iter()
                .enumerate()
                .filter_map(|(i, g)| {
                    let c = representative_point(g)?;
                    let (x, y) = lonlat_to_world(c.x, c.y);
                    Some((x, y, i as u32))
                })
                .collect();
            ClusterIndex::build(points, profile.masks(), profile.classes().len(), o)
        });
        TilePrep {
            settings,
            prepared,
            clusters,
            count_keys: profile.classes().iter().map(|c| format!("count_{c}")).collect(),
        }
    }

    pub fn settings(&self) -> &TileSettings {
        &self.settings
    }

    /// Tiling data of feature `index`, if it has lines or polygons.
    pub fn prepared(&self, index: usize) -> Option<&PreparedGeometry> {
        self.prepared.get(index).filter(|p| !p.is_empty())
    }

    /// The point clusters of the layer, if clustering is on.
    pub fn clusters(&self) -> Option<&ClusterIndex> {
        self.clusters.as_ref()
    }

    pub(crate) fn count_keys(&self) -> &[String] {
        &self.count_keys
    }

    pub fn heap_bytes(&self) -> usize {
        self.prepared.iter().map(|p| p.heap_bytes()).sum::<usize>()
            + self.prepared.capacity() * std::mem::size_of::<PreparedGeometry>()
            + self.clusters.as_ref().map_or(0, |c| c.heap_bytes())
    }
}

/// Each feature's prepared geometry (empty for points), with its polygons'
/// valid zooms marked (which checks each polygon at each zoom it fits a
/// tile at: on France's communes, more than the rest of the load). Tried
/// on every core in runs of features: erratic on this 2-core machine (0.50
/// to 0.89 s against 0.73 s on one, page faults of new malloc arenas),
/// so not kept.
fn prepare_geometries(geometries: &[FeatureGeometry], settings: &TileSettings) -> Vec<PreparedGeometry> {
    let sq_tol: Vec<f64> = (0..=MAX_ZOOM).map(|z| settings.sq_tolerance(z)).collect();
    let mut scratch = ValidityScratch::default();
    geometries
        .iter()
        .map(|g| match g {
            FeatureGeometry::Point(_) => PreparedGeometry::default(),
            FeatureGeometry::Other(g) => {
                let mut p = PreparedGeometry::new(g);
                mark_valid_zooms(&mut p, &sq_tol, &mut scratch);
                p
            }
        })
        .collect()
}

/// Properties a server adds to single features of a tile (the live status
/// of a facility), after the feature's own.
pub trait FeatureTags: Sync {
    /// Calls `tag` with each extra property of feature `index`.
    fn tags(&self, index: usize, tag: &mut dyn FnMut(&str, super::encode::TileValue<'_>));
}

/// What the tile renderer reads of one layer.
#[derive(Clone, Copy)]
pub struct LayerTiles<'a> {
    /// The MVT layer name.
    pub name: &'a str,
    pub layer: &'a crate::Layer,
    pub prep: &'a TilePrep,
    /// Extra properties of single features (not clusters).
    pub tags: Option<&'a dyn FeatureTags>,
}

impl<'a> LayerTiles<'a> {
    /// The same view with `tags` added to its single features.
    pub fn with_tags(self, tags: &'a dyn FeatureTags) -> Self {
        LayerTiles { tags: Some(tags), ..self }
    }

    /// Calls `f` with every feature whose envelope intersects the lon/lat box.
    pub fn for_each_in_bbox(&self, bbox: [f64; 4], f: impl FnMut(u32)) {
        self.layer.for_each_in_bbox(bbox, f)
    }
}
