//! A loaded layer: its id and metadata, and the parts each stage built
//! (features, indexes, profile, tiling data). Built once by
//! [`LayerBuilder`](crate::LayerBuilder), then read-only and shared between
//! threads.

use crate::features::{FeatureRef, FeatureTable};
use crate::geometry::{FeatureGeometry, GeometryKind};
use crate::hours::Schedules;
use crate::index::LayerIndex;
use crate::profile::{ClassMask, Profile, TileAttributes};
use crate::properties::{FieldId, FieldType};
use crate::tiling::patch::{ClusterPatch, ClusterView};
use crate::tiling::{LayerTiles, TilePrep};
use geo::{Coord, Rect};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
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
    /// An OSM way or relation using nodes the file does not hold.
    MissingNodes,
    /// An OSM relation using ways the file does not hold.
    MissingMembers,
    /// An OSM multipolygon whose member ways do not form closed rings.
    UnclosedRing,
    /// An osmChange modifying or deleting an object the extract lacks
    /// (a change, not a feature: the change is applied as far as it can be).
    ChangeToMissingObject,
}

impl SkipReason {
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::NullGeometry => "null geometry",
            SkipReason::EmptyGeometry => "empty geometry",
            SkipReason::InvalidGeometry => "invalid geometry",
            SkipReason::CoordinatesOutOfRange => "coordinates NaN or out of range after reprojection",
            SkipReason::UnsupportedShape => "unsupported shape type",
            SkipReason::MissingNodes => "OSM nodes missing from the file",
            SkipReason::MissingMembers => "OSM relation members missing from the file",
            SkipReason::UnclosedRing => "OSM multipolygon ring not closed",
            SkipReason::ChangeToMissingObject => "osmChange refers to an object missing from the extract",
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
    /// The property `datetime` selects on (configuration `time_field`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_field: Option<String>,
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
/// `Layer` swapped in whole by the catalog's owner. An edited point layer
/// shares its file's parts and lays a small [`Delta`] over them (see
/// [`crate::edit::overlay`]): features are then numbered `0..n` for the
/// file's (the replaced and deleted ones skipped) and `n..` for the edited
/// and created ones.
#[derive(Debug)]
pub struct Layer {
    pub(crate) meta: LayerMeta,
    pub(crate) features: Arc<FeatureTable>,
    pub(crate) index: Arc<LayerIndex>,
    pub(crate) profile: Arc<dyn Profile>,
    pub(crate) tiles: Arc<TilePrep>,
    pub(crate) delta: Option<Arc<Delta>>,
}

/// What an edited layer lays over the features it shares with its base.
#[derive(Debug)]
pub(crate) struct Delta {
    /// Base features replaced or deleted: bit `i` of word `i / 64`.
    pub(crate) dead: Vec<u64>,
    pub(crate) dead_count: usize,
    /// The edited and created features, numbered from the base's length.
    pub(crate) extra: Layer,
    /// The base's clusters with the dead points taken out and the extra
    /// ones put in.
    pub(crate) clusters: Option<ClusterPatch>,
}

#[inline]
pub(crate) fn is_dead(dead: &[u64], i: usize) -> bool {
    dead.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

impl Layer {
    pub(crate) fn new(
        meta: LayerMeta,
        features: FeatureTable,
        index: LayerIndex,
        profile: Arc<dyn Profile>,
        tiles: TilePrep,
    ) -> Self {
        Layer {
            meta,
            features: Arc::new(features),
            index: Arc::new(index),
            profile,
            tiles: Arc::new(tiles),
            delta: None,
        }
    }

    pub fn meta(&self) -> &LayerMeta {
        &self.meta
    }

    pub fn id(&self) -> &LayerId {
        &self.meta.id
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        match &self.delta {
            None => self.features.len(),
            Some(d) => self.features.len() - d.dead_count + d.extra.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One more than the highest feature number (equal to [`Layer::len`]
    /// unless the layer has edits over its file).
    pub fn index_bound(&self) -> usize {
        self.features.len() + self.delta.as_ref().map_or(0, |d| d.extra.len())
    }

    /// Whether the layer lays edits over shared file parts.
    pub fn has_delta(&self) -> bool {
        self.delta.is_some()
    }

    /// Features replaced or deleted plus features laid over (0 without a delta).
    pub fn delta_size(&self) -> usize {
        self.delta.as_ref().map_or(0, |d| d.dead_count + d.extra.len())
    }

    #[inline]
    fn dead(&self) -> &[u64] {
        self.delta.as_ref().map_or(&[], |d| &d.dead)
    }

    /// Whether feature number `i` exists (not replaced nor deleted).
    #[inline]
    pub fn is_live(&self, i: usize) -> bool {
        i < self.index_bound() && !is_dead(self.dead(), i)
    }

    /// The base features' table (the file's, for an edited layer).
    pub fn features_table(&self) -> &FeatureTable {
        &self.features
    }

    /// The feature numbered `index` (a live one: see [`Layer::indices`]).
    #[inline]
    pub fn feature(&self, index: usize) -> FeatureRef<'_> {
        let n = self.features.len();
        match &self.delta {
            Some(d) if index >= n => d.extra.features.feature_at(index - n, n),
            _ => self.features.feature(index),
        }
    }

    /// The geometry of feature `index`.
    #[inline]
    pub fn geometry(&self, index: usize) -> &FeatureGeometry {
        self.feature(index).geometry()
    }

    /// Every feature, in number order.
    pub fn features(&self) -> impl Iterator<Item = FeatureRef<'_>> + '_ {
        let n = self.features.len();
        let dead = self.dead();
        let extra = self.delta.as_ref().map(|d| &*d.extra.features);
        self.features
            .features()
            .filter(move |f| !is_dead(dead, f.index()))
            .chain(extra.into_iter().flat_map(move |t| (0..t.len()).map(move |i| t.feature_at(i, n))))
    }

    /// The numbers of every feature, ascending.
    pub fn indices(&self) -> impl Iterator<Item = usize> + '_ {
        let dead = self.dead();
        (0..self.index_bound()).filter(move |&i| !is_dead(dead, i))
    }

    /// Finds a feature by its id as written in a URL.
    pub fn find(&self, id: &str) -> Option<FeatureRef<'_>> {
        if let Some(d) = &self.delta {
            if let Some(f) = d.extra.features.find(id) {
                return Some(d.extra.features.feature_at(f.index(), self.features.len()));
            }
        }
        self.features.find(id).filter(|f| !is_dead(self.dead(), f.index()))
    }

    /// The id of the field called `name` (the file's fields first, then
    /// those only edited features have, numbered after them).
    pub fn field_id(&self, name: &str) -> Option<FieldId> {
        self.features.field_id(name).or_else(|| self.delta.as_ref()?.extra.features.field_id(name))
    }

    /// The field naming each feature, for labels and reports: the first of
    /// `nom`, `name`, `NOM`, `libelle`, `nom_commune` the layer has.
    pub fn name_field(&self) -> Option<&'static str> {
        const NAMES: [&str; 5] = ["nom", "name", "NOM", "libelle", "nom_commune"];
        NAMES.into_iter().find(|f| self.field_id(f).is_some())
    }

    pub fn index(&self) -> &LayerIndex {
        &self.index
    }

    /// Bytes of the layer read in place from a snapshot's map (the point
    /// tree, the property runs, the cluster levels and their links), shared
    /// with every process mapping the same file, rather than held in this
    /// process's memory.
    pub fn mapped_bytes(&self) -> usize {
        self.mapped_ranges().iter().map(|r| r.len()).sum()
    }

    /// The byte ranges of the snapshot's map that [`Layer::mapped_bytes`]
    /// counts: the pages the layer keeps reading (the rest is released
    /// once the snapshot is decoded).
    pub(crate) fn mapped_ranges(&self) -> Vec<std::ops::Range<usize>> {
        let props = &self.features.props;
        let mut ranges: Vec<_> =
            [self.index.globe().points.mapped_range(), props.starts.mapped_range(), props.entries.mapped_range()]
                .into_iter()
                .flatten()
                .collect();
        ranges.extend(self.tiles.clusters.as_ref().map(|c| c.mapped_ranges()).unwrap_or_default());
        ranges
    }

    /// What the layer's domain adds to its features (its classes, time
    /// zone; per feature, use [`Layer::mask`], [`Layer::schedules`],
    /// [`Layer::tile_attributes`]).
    pub fn profile(&self) -> &dyn Profile {
        self.profile.as_ref()
    }

    /// The profile holding feature `index`'s data and its number there.
    #[inline]
    fn profile_of(&self, index: usize) -> (&dyn Profile, usize) {
        let n = self.features.len();
        match &self.delta {
            Some(d) if index >= n => (d.extra.profile.as_ref(), index - n),
            _ => (self.profile.as_ref(), index),
        }
    }

    /// The classes of feature `index`.
    #[inline]
    pub fn mask(&self, index: usize) -> ClassMask {
        let (p, i) = self.profile_of(index);
        p.mask(i)
    }

    /// The opening hours holding feature `index`, with its number there.
    pub fn schedules(&self, index: usize) -> Option<(&Schedules, usize)> {
        let (p, i) = self.profile_of(index);
        p.schedules().map(|s| (s, i))
    }

    /// What the profile adds to feature `index` in tiles.
    #[inline]
    pub fn tile_attributes(&self, index: usize) -> TileAttributes<'_> {
        let (p, i) = self.profile_of(index);
        p.tile_attributes(i)
    }

    /// The layer's tiling data (settings, prepared geometry, clusters).
    pub fn tile_prep(&self) -> &TilePrep {
        &self.tiles
    }

    /// The layer's clusters as tiles show them (edits included).
    pub fn clusters(&self) -> Option<ClusterView<'_>> {
        let patch = self.delta.as_ref().and_then(|d| d.clusters.as_ref());
        self.tiles.clusters().map(|index| ClusterView { index, patch })
    }

    /// The view of the layer the tile renderer reads.
    pub fn tiles(&self) -> LayerTiles<'_> {
        LayerTiles { name: self.meta.id.as_str(), layer: self, prep: &self.tiles, tags: None }
    }

    /// Asks for the memory of feature `index` (id, geometry, properties,
    /// classes, opening hours) ahead of reading it, so that the few
    /// features of a query result load in parallel rather than one miss
    /// after another.
    pub fn prefetch_feature(&self, index: usize) {
        let f = self.feature(index);
        let (table, i) = f.local();
        table.prefetch_feature(i);
        let (p, i) = self.profile_of(index);
        p.prefetch(i);
    }

    /// The second step of [`Layer::prefetch_feature`]: the property pairs,
    /// whose place is known once the first step has landed.
    pub fn prefetch_properties(&self, index: usize) {
        let f = self.feature(index);
        let (table, i) = f.local();
        table.prefetch_properties(i);
    }

    /// Calls `f` with every feature whose envelope intersects the lon/lat
    /// box `[west, south, east, north]`.
    pub fn for_each_in_bbox(&self, bbox: [f64; 4], mut f: impl FnMut(u32)) {
        match &self.delta {
            None => self.index.for_each_in_bbox(self.features.geometries(), bbox, f),
            Some(d) => {
                let dead = &d.dead;
                self.index.for_each_in_bbox(self.features.geometries(), bbox, |i| {
                    if !is_dead(dead, i as usize) {
                        f(i)
                    }
                });
                let n = self.features.len() as u32;
                d.extra.index.for_each_in_bbox(d.extra.features.geometries(), bbox, |i| f(n + i));
            }
        }
    }

    /// Features whose envelope intersects `bbox`, in ascending order.
    pub fn query_bbox(&self, bbox: [f64; 4]) -> Vec<u32> {
        match &self.delta {
            None => self.index.query_bbox(self.features.geometries(), bbox),
            Some(d) => {
                let mut out = self.index.query_bbox(self.features.geometries(), bbox);
                out.retain(|&i| !is_dead(&d.dead, i as usize));
                let n = self.features.len() as u32;
                out.extend(d.extra.index.query_bbox(d.extra.features.geometries(), bbox).into_iter().map(|i| n + i));
                out
            }
        }
    }

    /// Approximate heap bytes held by the layer (features, properties,
    /// indexes, profile, tiling data; shared parts counted in full).
    pub fn heap_bytes(&self) -> usize {
        self.features.heap_bytes()
            + self.index.heap_bytes()
            + self.profile.heap_bytes()
            + self.tiles.heap_bytes()
            + self.delta.as_ref().map_or(0, |d| {
                d.dead.capacity() * 8 + d.extra.heap_bytes() + d.clusters.as_ref().map_or(0, |c| c.heap_bytes())
            })
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
