//! A loaded layer: features (id, WGS84 geometry, typed properties), metadata
//! and spatial indexes. Built once by [`LayerBuilder`](crate::LayerBuilder),
//! then read-only and shared between threads.

use crate::index::LayerIndex;
use crate::properties::{FieldId, FieldType, PropertyTable, Value, ValueId, ValuePool};
use geo::{Coord, Geometry, Point, Rect};
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
        if let Some(c) = id
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(format!(
                "layer id {id:?} contains {c:?}; use ASCII letters, digits, '-', '_' or '.'"
            ));
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

/// A feature identifier as found in the source (GeoJSON `id`, an id field),
/// or the feature's position when the source has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeatureId<'a> {
    Int(i64),
    Str(&'a str),
}

impl fmt::Display for FeatureId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeatureId::Int(i) => write!(f, "{i}"),
            FeatureId::Str(s) => f.write_str(s),
        }
    }
}

/// How a feature id is kept in memory.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StoredId {
    /// No id in the source: the feature's index is its id.
    Index,
    Int(i64),
    /// A string id, as a value of the layer's pool.
    Str(ValueId),
}

/// A feature's geometry in WGS84 longitude/latitude. Points are kept inline
/// (16 bytes), everything else boxed, so point layers stay small.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureGeometry {
    Point(Coord<f64>),
    Other(Box<Geometry<f64>>),
}

impl FeatureGeometry {
    pub fn from_geometry(g: Geometry<f64>) -> Self {
        match g {
            Geometry::Point(p) => FeatureGeometry::Point(p.0),
            other => FeatureGeometry::Other(Box::new(other)),
        }
    }

    /// An owned `geo` geometry.
    pub fn to_geometry(&self) -> Geometry<f64> {
        match self {
            FeatureGeometry::Point(c) => Geometry::Point(Point(*c)),
            FeatureGeometry::Other(g) => (**g).clone(),
        }
    }

    pub fn kind(&self) -> GeometryKind {
        match self {
            FeatureGeometry::Point(_) => GeometryKind::Point,
            FeatureGeometry::Other(g) => GeometryKind::of(g),
        }
    }
}

/// The geometry types of the simple-features model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum GeometryKind {
    Point,
    MultiPoint,
    LineString,
    MultiLineString,
    Polygon,
    MultiPolygon,
    GeometryCollection,
}

impl GeometryKind {
    pub fn of(g: &Geometry<f64>) -> Self {
        match g {
            Geometry::Point(_) => GeometryKind::Point,
            Geometry::MultiPoint(_) => GeometryKind::MultiPoint,
            Geometry::Line(_) | Geometry::LineString(_) => GeometryKind::LineString,
            Geometry::MultiLineString(_) => GeometryKind::MultiLineString,
            Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => {
                GeometryKind::Polygon
            }
            Geometry::MultiPolygon(_) => GeometryKind::MultiPolygon,
            Geometry::GeometryCollection(_) => GeometryKind::GeometryCollection,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            GeometryKind::Point => "Point",
            GeometryKind::MultiPoint => "MultiPoint",
            GeometryKind::LineString => "LineString",
            GeometryKind::MultiLineString => "MultiLineString",
            GeometryKind::Polygon => "Polygon",
            GeometryKind::MultiPolygon => "MultiPolygon",
            GeometryKind::GeometryCollection => "GeometryCollection",
        }
    }

    /// Whether the kind is a point or multipoint (nearest queries, clustering).
    pub fn is_puntal(self) -> bool {
        matches!(self, GeometryKind::Point | GeometryKind::MultiPoint)
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
            self.examples.push(SkippedFeature {
                index,
                reason,
                detail,
            });
        }
    }

    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }
}

/// What is known about a layer once loaded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LayerMeta {
    pub id: LayerId,
    pub title: String,
    pub path: PathBuf,
    /// `GeoJSON` or `ESRI Shapefile`.
    pub format: &'static str,
    /// The source CRS as described by the file or the configuration.
    pub crs: String,
    /// Where the CRS came from (`.prj`, config, GeoJSON default...).
    pub crs_origin: String,
    /// Text encoding of the attributes and where it came from (shapefiles).
    pub encoding: Option<String>,
    pub geometry_kinds: Vec<GeometryKind>,
    /// WGS84 bounds `[west, south, east, north]`; `None` for an empty layer.
    pub bounds: Option<[f64; 4]>,
    pub feature_count: usize,
    pub fields: Vec<Field>,
    pub skipped: SkipReport,
    #[serde(skip)]
    pub load_time: Duration,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// Simplification tolerance below `maxzoom`, pixels of a 512-pixel tile.
    pub tolerance: f64,
    /// Time zone of opening hours.
    pub timezone: String,
    /// Features whose `opening_hours` value does not parse.
    pub invalid_opening_hours: usize,
    /// A few of them: (feature index, value, parser message).
    pub invalid_opening_hours_examples: Vec<(usize, String, String)>,
    /// Features that accept at least one waste category; when non-zero,
    /// tiles carry `waste_category` and `waste_categories` for styling.
    pub waste_features: usize,
}

impl LayerMeta {
    /// Whether every feature is a point or multipoint.
    pub fn is_point_layer(&self) -> bool {
        !self.geometry_kinds.is_empty() && self.geometry_kinds.iter().all(|k| k.is_puntal())
    }
}

/// A loaded, indexed layer.
#[derive(Debug)]
pub struct Layer {
    pub(crate) meta: LayerMeta,
    pub(crate) ids: Vec<StoredId>,
    pub(crate) geometries: Vec<FeatureGeometry>,
    pub(crate) props: PropertyTable,
    pub(crate) pool: ValuePool,
    pub(crate) field_names: Vec<String>,
    /// Each field name as a JSON object key (`"name":`), for writers.
    pub(crate) field_keys: Vec<Box<[u8]>>,
    pub(crate) index: LayerIndex,
    /// World-unit geometry with simplification importances, per feature;
    /// empty for point-only layers.
    pub(crate) prepared: Vec<crate::tiling::PreparedGeometry>,
    /// Waste categories accepted by each feature (bit mask).
    pub(crate) categories: Vec<crate::waste::CategoryMask>,
    pub(crate) clusters: Option<crate::tiling::ClusterIndex>,
    pub(crate) schedules: Option<crate::waste::opening_hours::Schedules>,
}

impl Layer {
    pub fn meta(&self) -> &LayerMeta {
        &self.meta
    }

    pub fn id(&self) -> &LayerId {
        &self.meta.id
    }

    pub fn len(&self) -> usize {
        self.geometries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.geometries.is_empty()
    }

    /// Asks for the memory of feature `index` (id, geometry, properties,
    /// categories, opening hours) ahead of reading it, so that the few
    /// features of a query result load in parallel rather than one miss
    /// after another.
    pub fn prefetch_feature(&self, index: usize) {
        use crate::prefetch::prefetch;
        prefetch(self.ids.as_ptr().wrapping_add(index));
        prefetch(self.geometries.as_ptr().wrapping_add(index));
        prefetch(self.categories.as_ptr().wrapping_add(index));
        self.props.prefetch(index);
        if let Some(s) = &self.schedules {
            s.prefetch(index);
        }
    }

    /// The second step of [`Layer::prefetch_feature`]: the property pairs,
    /// whose place is known once the first step has landed.
    pub fn prefetch_properties(&self, index: usize) {
        self.props.prefetch_pairs(index);
    }

    /// The feature at `index` (0..len).
    pub fn feature(&self, index: usize) -> FeatureRef<'_> {
        FeatureRef { layer: self, index }
    }

    pub fn features(&self) -> impl ExactSizeIterator<Item = FeatureRef<'_>> + '_ {
        (0..self.len()).map(move |i| self.feature(i))
    }

    /// Finds a feature by its id as written in a URL (linear in the layer size).
    pub fn find(&self, id: &str) -> Option<FeatureRef<'_>> {
        let numeric = id.parse::<i64>().ok().filter(|n| n.to_string() == id);
        self.features().find(|f| match f.id() {
            FeatureId::Int(i) => numeric == Some(i),
            FeatureId::Str(s) => s == id,
        })
    }

    pub fn index(&self) -> &LayerIndex {
        &self.index
    }

    /// Tiling data of feature `index`, if it has lines or polygons.
    pub fn prepared(&self, index: usize) -> Option<&crate::tiling::PreparedGeometry> {
        self.prepared.get(index).filter(|p| !p.is_empty())
    }

    /// The point clusters of the layer, if clustering is on.
    pub fn clusters(&self) -> Option<&crate::tiling::ClusterIndex> {
        self.clusters.as_ref()
    }

    /// The geodesic nearest-neighbour index.
    pub fn nearest_index(&self) -> &crate::query::NearestIndex {
        self.index.globe()
    }

    /// Calls `f` with every feature whose envelope intersects the lon/lat
    /// box `[west, south, east, north]`.
    pub fn for_each_in_bbox(&self, bbox: [f64; 4], f: impl FnMut(u32)) {
        self.index.for_each_in_bbox(&self.geometries, bbox, f)
    }

    /// Features whose envelope intersects `bbox`, in ascending order.
    pub fn query_bbox(&self, bbox: [f64; 4]) -> Vec<u32> {
        self.index.query_bbox(&self.geometries, bbox)
    }

    /// Parsed `opening_hours` values, if the layer has that field.
    pub fn schedules(&self) -> Option<&crate::waste::opening_hours::Schedules> {
        self.schedules.as_ref()
    }

    /// The waste categories feature `index` accepts.
    pub fn categories(&self, index: usize) -> crate::waste::CategoryMask {
        self.categories.get(index).copied().unwrap_or(0)
    }

    /// The id of the field called `name`.
    pub fn field_id(&self, name: &str) -> Option<FieldId> {
        self.field_names
            .iter()
            .position(|n| n == name)
            .map(|i| FieldId(i as u32))
    }

    /// Approximate heap bytes held by the layer (features, properties, indexes).
    pub fn heap_bytes(&self) -> usize {
        let geoms = self.geometries.capacity() * std::mem::size_of::<FeatureGeometry>();
        self.ids.capacity() * std::mem::size_of::<StoredId>()
            + geoms
            + self.props.heap_bytes()
            + self.pool.heap_bytes()
            + self.index.heap_bytes()
            + self.prepared.iter().map(|p| p.heap_bytes()).sum::<usize>()
            + self.prepared.capacity() * std::mem::size_of::<crate::tiling::PreparedGeometry>()
            + self.categories.capacity() * 8
            + self.clusters.as_ref().map_or(0, |c| c.heap_bytes())
    }

    /// WGS84 bounds as a `geo::Rect`.
    pub fn bounds_rect(&self) -> Option<Rect<f64>> {
        self.meta.bounds.map(|[w, s, e, n]| {
            Rect::new(Coord { x: w, y: s }, Coord { x: e, y: n })
        })
    }
}

/// A borrowed view of one feature.
#[derive(Clone, Copy)]
pub struct FeatureRef<'a> {
    layer: &'a Layer,
    index: usize,
}

impl<'a> FeatureRef<'a> {
    /// Position of the feature in its layer.
    pub fn index(&self) -> usize {
        self.index
    }

    pub fn id(&self) -> FeatureId<'a> {
        match self.layer.ids.get(self.index) {
            Some(StoredId::Int(i)) => FeatureId::Int(*i),
            Some(StoredId::Str(v)) => match self.layer.pool.get(*v) {
                Value::String(s) => FeatureId::Str(s),
                _ => FeatureId::Int(self.index as i64),
            },
            _ => FeatureId::Int(self.index as i64),
        }
    }

    pub fn geometry(&self) -> &'a FeatureGeometry {
        &self.layer.geometries[self.index]
    }

    /// `(field name, value)` pairs, in source order.
    pub fn properties(&self) -> impl ExactSizeIterator<Item = (&'a str, Value<'a>)> + 'a {
        let layer = self.layer;
        layer
            .props
            .get(self.index)
            .map(move |(f, v)| (layer.field_names[f.0 as usize].as_str(), layer.pool.get(v)))
    }

    /// Same as [`Self::properties`] with each pair's field id and interned
    /// value id (equal ids, equal values: a tile encoder keys on them).
    pub fn interned_properties(&self) -> impl ExactSizeIterator<Item = (FieldId, ValueId, &'a str, Value<'a>)> + 'a {
        let layer = self.layer;
        layer
            .props
            .get(self.index)
            .map(move |(f, v)| (f, v, layer.field_names[f.0 as usize].as_str(), layer.pool.get(v)))
    }

    /// The value of property `name`, if present.
    pub fn property(&self, name: &str) -> Option<Value<'a>> {
        let field = self.layer.field_id(name)?;
        self.property_by_id(field)
    }

    pub fn property_by_id(&self, field: FieldId) -> Option<Value<'a>> {
        let layer = self.layer;
        layer
            .props
            .get(self.index)
            .find(|(f, _)| *f == field)
            .map(|(_, v)| layer.pool.get(v))
    }

    /// Properties as a JSON object.
    pub fn properties_json(&self) -> serde_json::Map<String, serde_json::Value> {
        self.properties()
            .map(|(k, v)| (k.to_string(), v.to_json()))
            .collect()
    }
}

impl fmt::Debug for FeatureRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Feature")
            .field("id", &self.id())
            .field("geometry", self.geometry())
            .field("properties", &self.properties().collect::<Vec<_>>())
            .finish()
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
        assert!(LayerId::new("communes_33.v2").is_ok());
    }
}
