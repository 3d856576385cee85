//! A loaded layer: its id and metadata, and the parts each stage built
//! (features, indexes, profile, tiling data). Built once by
//! [`LayerBuilder`](crate::LayerBuilder), then read-only and shared between
//! threads.

use crate::features::{FeatureRef, FeatureTable};
use crate::geometry::GeometryKind;
use crate::index::LayerIndex;
use crate::profile::Profile;
use crate::properties::{FieldId, FieldType};
use crate::tiling::{LayerTiles, TilePrep};
use geo::{Coord, Rect};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Identifier of a layer: a slug such as `communes-33`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct LayerId(String);

impl LayerId {
    /// Checks that `id` is a usable layer id: ASCII letters, digits, `-`, `_`, `.`;
    /// no commas (they separate layers in tile URLs).
    pub fn new(id: &str) -> Result<Self, String> {
        if id.is_empty() || id.len() > 100 {
            return Err(format!("layer id {id:?} must have 1 to 100 characters"));
        }
        if let Some(c) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
            return Err(format!("layer id {id:?} contains {c:?}; use ASCII letters, digits, '-', '_' or '.'"));
        }
        if id.chars().all(|c| c == '.') {
            return Err(format!("layer id {id:?} is only dots; use letters or digits too"));
        }
        Ok(LayerId(id.to_string()))
    }

    /// The slug of a file stem: `Déchèteries 33` becomes `decheteries-33`.
    pub fn from_stem(stem: &str) -> Self {
        let folded = crate::text::fold(stem);
        let mut out = String::with_capacity(folded.len());
        for c in folded.chars() {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                out.push(c);
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        while out.ends_with('-') {
            out.pop();
        }
        if out.is_empty() {
            out.push_str("layer");
        }
        LayerId(out)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for LayerId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LayerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A field (attribute column) of a layer, with its type over all features.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Field {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Features with a non-null value.
    pub count: usize,
    /// Up to three distinct sample values, rendered as text.
    pub samples: Vec<String>,
}

/// Why a feature was skipped at load time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// No geometry (GeoJSON `null`, shapefile null shape).
    NullGeometry,
    /// Geometry with no coordinates.
    EmptyGeometry,
    /// Malformed geometry (bad nesting, unclosed or too short ring, unknown type).
    InvalidGeometry,
    /// NaN, infinite, or outside [-180, 180] x [-90, 90] after reprojection.
    CoordinatesOutOfRange,
    /// A shape type we do not read (MultiPatch).
    UnsupportedShape,
}

impl SkipReason {
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::NullGeometry => "null geometry",
            SkipReason::EmptyGeometry => "empty geometry",
            SkipReason::InvalidGeometry => "invalid geometry",
            SkipReason::CoordinatesOutOfRange => "coordinates NaN or out of range after reprojection",
            SkipReason::UnsupportedShape => "unsupported shape type",
        }
    }
}

/// One skipped feature, kept as an example for reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SkippedFeature {
    /// Position of the feature in the source (0-based).
    pub index: usize,
    pub reason: SkipReason,
    pub detail: String,
}

/// Skipped features: complete counts by reason, and the first few examples.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SkipReport {
    pub counts: BTreeMap<SkipReason, usize>,
    pub examples: Vec<SkippedFeature>,
}

impl SkipReport {
    const MAX_EXAMPLES: usize = 20;

    pub fn record(&mut self, index: usize, reason: SkipReason, detail: String) {
        *self.counts.entry(reason).or_default() += 1;
        if self.examples.len() < Self::MAX_EXAMPLES {
            self.examples.push(SkippedFeature { index, reason, detail });
        }
    }

    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }
}

/// Where a layer's features came from.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Provenance {
    pub path: PathBuf,
    /// `GeoJSON` or `ESRI Shapefile`.
    pub format: &'static str,
    /// The source CRS as described by the file or the configuration.
    pub crs: String,
    /// Where the CRS came from (`.prj`, config, GeoJSON default...).
    pub crs_origin: String,
    /// Text encoding of the attributes and where it came from (shapefiles).
    pub encoding: Option<String>,
}

/// What is known about a layer once loaded: its names, provenance and
/// what the load found (serving options belong to tiling, domain counts to
/// the profile).
#[derive(Debug, Clone, serde::Serialize)]
pub struct LayerMeta {
    pub id: LayerId,
    pub title: String,
    #[serde(flatten)]
    pub source: Provenance,
    pub geometry_kinds: Vec<GeometryKind>,
    /// WGS84 bounds `[west, south, east, north]`; `None` for an empty layer.
    pub bounds: Option<[f64; 4]>,
    pub feature_count: usize,
    pub fields: Vec<Field>,
    pub skipped: SkipReport,
    #[serde(skip)]
    pub load_time: Duration,
}

impl LayerMeta {
    /// Whether every feature is a point or multipoint.
    pub fn is_point_layer(&self) -> bool {
        !self.geometry_kinds.is_empty() && self.geometry_kinds.iter().all(|k| k.is_puntal())
    }

    /// WGS84 bounds as a `geo::Rect`.
    pub fn bounds_rect(&self) -> Option<Rect<f64>> {
        self.bounds.map(|[w, s, e, n]| Rect::new(Coord { x: w, y: s }, Coord { x: e, y: n }))
    }
}

/// A loaded layer: each part belongs to the stage that builds and reads it.
///
/// 1. [`FeatureTable`]: ids, geometries, properties (the sources, through
///    [`LayerBuilder`](crate::LayerBuilder));
/// 2. [`LayerIndex`]: the spatial indexes (bbox, tiles, nearest);
/// 3. [`Profile`]: what a domain adds per feature (waste categories,
///    opening hours);
/// 4. [`TilePrep`]: simplification importances and clusters for tiles.
///
/// Read-only once built and shared between threads; a change is a new
/// `Layer` swapped in whole by the catalog's owner.
#[derive(Debug)]
pub struct Layer {
    pub(crate) meta: LayerMeta,
    pub(crate) features: FeatureTable,
    pub(crate) index: LayerIndex,
    pub(crate) profile: Box<dyn Profile>,
    pub(crate) tiles: TilePrep,
}

impl Layer {
    pub fn meta(&self) -> &LayerMeta {
        &self.meta
    }

    pub fn id(&self) -> &LayerId {
        &self.meta.id
    }

    pub fn len(&self) -> usize {
        self.features.len()
    }

    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// The features, column by column.
    pub fn features_table(&self) -> &FeatureTable {
        &self.features
    }

    /// The feature at `index` (0..len).
    pub fn feature(&self, index: usize) -> FeatureRef<'_> {
        self.features.feature(index)
    }

    pub fn features(&self) -> impl ExactSizeIterator<Item = FeatureRef<'_>> + '_ {
        self.features.features()
    }

    /// Finds a feature by its id as written in a URL (linear in the layer size).
    pub fn find(&self, id: &str) -> Option<FeatureRef<'_>> {
        self.features.find(id)
    }

    /// The id of the field called `name`.
    pub fn field_id(&self, name: &str) -> Option<FieldId> {
        self.features.field_id(name)
    }

    pub fn index(&self) -> &LayerIndex {
        &self.index
    }

    /// What the layer's domain adds to its features.
    pub fn profile(&self) -> &dyn Profile {
        self.profile.as_ref()
    }

    /// The layer's tiling data (settings, prepared geometry, clusters).
    pub fn tile_prep(&self) -> &TilePrep {
        &self.tiles
    }

    /// The view of the layer the tile renderer reads.
    pub fn tiles(&self) -> LayerTiles<'_> {
        LayerTiles {
            name: self.meta.id.as_str(),
            features: &self.features,
            index: &self.index,
            prep: &self.tiles,
            profile: self.profile.as_ref(),
        }
    }

    /// Asks for the memory of feature `index` (id, geometry, properties,
    /// classes, opening hours) ahead of reading it, so that the few
    /// features of a query result load in parallel rather than one miss
    /// after another.
    pub fn prefetch_feature(&self, index: usize) {
        self.features.prefetch_feature(index);
        self.profile.prefetch(index);
    }

    /// The second step of [`Layer::prefetch_feature`]: the property pairs,
    /// whose place is known once the first step has landed.
    pub fn prefetch_properties(&self, index: usize) {
        self.features.prefetch_properties(index);
    }

    /// Calls `f` with every feature whose envelope intersects the lon/lat
    /// box `[west, south, east, north]`.
    pub fn for_each_in_bbox(&self, bbox: [f64; 4], f: impl FnMut(u32)) {
        self.index.for_each_in_bbox(self.features.geometries(), bbox, f)
    }

    /// Features whose envelope intersects `bbox`, in ascending order.
    pub fn query_bbox(&self, bbox: [f64; 4]) -> Vec<u32> {
        self.index.query_bbox(self.features.geometries(), bbox)
    }

    /// Approximate heap bytes held by the layer (features, properties,
    /// indexes, profile, tiling data).
    pub fn heap_bytes(&self) -> usize {
        self.features.heap_bytes() + self.index.heap_bytes() + self.profile.heap_bytes() + self.tiles.heap_bytes()
    }

    /// WGS84 bounds as a `geo::Rect`.
    pub fn bounds_rect(&self) -> Option<Rect<f64>> {
        self.meta.bounds_rect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_ids_are_slugs_of_file_stems() {
        assert_eq!(LayerId::from_stem("Déchèteries 33").as_str(), "decheteries-33");
        assert_eq!(LayerId::from_stem("communes-33-l93").as_str(), "communes-33-l93");
        assert_eq!(LayerId::from_stem("  Œuvres / Été  ").as_str(), "oeuvres-ete");
        assert_eq!(LayerId::from_stem("***").as_str(), "layer");
    }

    #[test]
    fn layer_ids_reject_commas_and_spaces() {
        assert!(LayerId::new("a,b").is_err());
        assert!(LayerId::new("a b").is_err());
        assert!(LayerId::new("").is_err());
        assert!(LayerId::new(".").is_err() && LayerId::new("..").is_err());
        assert!(LayerId::new("communes_33.v2").is_ok());
    }
}
