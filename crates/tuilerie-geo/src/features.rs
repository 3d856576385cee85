//! The features of a layer as loaded: ids, WGS84 geometries and typed
//! properties (field names once, values interned once per layer), stored
//! column by column so point layers stay small. Read-only once built.

use crate::geometry::FeatureGeometry;
use crate::properties::{FieldId, PropertyTable, Value, ValueId, ValuePool};
use std::fmt;

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

/// The features of one layer, column by column.
#[derive(Debug, Default)]
pub struct FeatureTable {
    pub(crate) ids: Vec<StoredId>,
    pub(crate) geometries: Vec<FeatureGeometry>,
    pub(crate) props: PropertyTable,
    pub(crate) pool: ValuePool,
    pub(crate) field_names: Vec<String>,
    /// Each field name as a JSON object key (`"name":`), for writers.
    pub(crate) field_keys: Vec<Box<[u8]>>,
    /// Feature index by id as written in URLs, built on the first lookup
    /// of a layer with explicit ids (implicit ids are positions).
    pub(crate) by_id: std::sync::OnceLock<hashbrown::HashMap<Box<str>, u32>>,
    /// The value id of one field for every feature ([`NO_VALUE`] where
    /// absent), built the first time a filter reads that field: a scan of
    /// 4 bytes per feature instead of every feature's properties.
    pub(crate) columns: std::sync::Mutex<hashbrown::HashMap<FieldId, std::sync::Arc<[u32]>>>,
    /// This table's number, unique in the process: what a memo of written
    /// features keys on (a reloaded or edited layer's table is another one).
    pub(crate) serial: TableSerial,
}

/// The number of a [`FeatureTable`], drawn when the table is made (a table
/// does not change once made).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TableSerial(pub(crate) u64);

impl Default for TableSerial {
    fn default() -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        TableSerial(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

/// A feature without the column's field.
pub const NO_VALUE: u32 = u32::MAX;

impl FeatureTable {
    pub fn len(&self) -> usize {
        self.geometries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.geometries.is_empty()
    }

    /// The feature at `index` (0..len).
    pub fn feature(&self, index: usize) -> FeatureRef<'_> {
        FeatureRef { table: self, index, offset: 0 }
    }

    /// The feature at `index` of this table, numbered `offset + index` in
    /// its layer (the features an edited layer lays over its file's).
    pub(crate) fn feature_at(&self, index: usize, offset: usize) -> FeatureRef<'_> {
        FeatureRef { table: self, index, offset }
    }

    pub fn features(&self) -> impl ExactSizeIterator<Item = FeatureRef<'_>> + '_ {
        (0..self.len()).map(move |i| self.feature(i))
    }

    /// Every geometry, by feature index.
    pub fn geometries(&self) -> &[FeatureGeometry] {
        &self.geometries
    }

    /// Field `field` of every feature as value ids ([`NO_VALUE`] where the
    /// feature lacks it), built on first use and kept.
    pub fn column(&self, field: FieldId) -> std::sync::Arc<[u32]> {
        let mut columns = self.columns.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = columns.get(&field) {
            return c.clone();
        }
        let c: std::sync::Arc<[u32]> = (0..self.len())
            .map(|i| self.props.get(i).find(|(f, _)| *f == field).map_or(NO_VALUE, |(_, v)| v.0))
            .collect();
        columns.insert(field, c.clone());
        c
    }

    /// How many distinct property values the table holds.
    pub fn value_count(&self) -> usize {
        self.pool.value_count()
    }

    /// Field names, by field id.
    pub fn field_names(&self) -> &[String] {
        &self.field_names
    }

    /// Finds a feature by its id as written in a URL: a position when ids
    /// are implicit, else through an index built on the first call (then
    /// constant time). The first id wins when a source repeats one.
    pub fn find(&self, id: &str) -> Option<FeatureRef<'_>> {
        if self.ids.is_empty() {
            let n = id.parse::<usize>().ok().filter(|n| n.to_string() == id)?;
            return (n < self.len()).then(|| self.feature(n));
        }
        let index = self.by_id.get_or_init(|| {
            let mut m = hashbrown::HashMap::with_capacity(self.len());
            let mut key = String::new();
            for f in self.features() {
                use std::fmt::Write;
                key.clear();
                let _ = write!(key, "{}", f.id());
                m.entry(Box::from(key.as_str())).or_insert(f.index() as u32);
            }
            m
        });
        index.get(id).map(|&i| self.feature(i as usize))
    }

    /// The id of the field called `name`.
    pub fn field_id(&self, name: &str) -> Option<FieldId> {
        self.field_names.iter().position(|n| n == name).map(|i| FieldId(i as u32))
    }

    /// Asks for the memory of feature `index` (id, geometry, properties)
    /// ahead of reading it.
    pub fn prefetch_feature(&self, index: usize) {
        use crate::prefetch::prefetch;
        prefetch(self.ids.as_ptr().wrapping_add(index));
        prefetch(self.geometries.as_ptr().wrapping_add(index));
        self.props.prefetch(index);
    }

    /// The second step of [`FeatureTable::prefetch_feature`]: the property
    /// pairs, whose place is known once the first step has landed.
    pub fn prefetch_properties(&self, index: usize) {
        self.props.prefetch_pairs(index);
    }

    /// Approximate heap bytes of ids, geometries and properties.
    pub fn heap_bytes(&self) -> usize {
        self.ids.capacity() * std::mem::size_of::<StoredId>()
            + self.geometries.capacity() * std::mem::size_of::<FeatureGeometry>()
            + self.props.heap_bytes()
            + self.pool.heap_bytes()
            + self.columns.lock().map_or(0, |c| c.values().map(|c| c.len() * 4).sum())
    }
}

/// A borrowed view of one feature.
#[derive(Clone, Copy)]
pub struct FeatureRef<'a> {
    table: &'a FeatureTable,
    index: usize,
    /// Added to `index` to number the feature in its layer.
    offset: usize,
}

impl<'a> FeatureRef<'a> {
    /// Position of the feature in its layer.
    pub fn index(&self) -> usize {
        self.offset + self.index
    }

    /// The table holding the feature and its position there.
    pub(crate) fn local(&self) -> (&'a FeatureTable, usize) {
        (self.table, self.index)
    }

    pub fn id(&self) -> FeatureId<'a> {
        match self.table.ids.get(self.index) {
            Some(StoredId::Int(i)) => FeatureId::Int(*i),
            Some(StoredId::Str(v)) => match self.table.pool.get(*v) {
                Value::String(s) => FeatureId::Str(s),
                _ => FeatureId::Int(self.index as i64),
            },
            _ => FeatureId::Int(self.index as i64),
        }
    }

    pub fn geometry(&self) -> &'a FeatureGeometry {
        &self.table.geometries[self.index]
    }

    /// `(field name, value)` pairs, in source order.
    pub fn properties(&self) -> impl ExactSizeIterator<Item = (&'a str, Value<'a>)> + 'a {
        let layer = self.table;
        layer.props.get(self.index).map(move |(f, v)| (layer.field_names[f.0 as usize].as_str(), layer.pool.get(v)))
    }

    /// Same as [`Self::properties`] with each pair's field id and interned
    /// value id (equal ids, equal values: a tile encoder keys on them).
    pub fn interned_properties(&self) -> impl ExactSizeIterator<Item = (FieldId, ValueId, &'a str, Value<'a>)> + 'a {
        let layer = self.table;
        layer
            .props
            .get(self.index)
            .map(move |(f, v)| (f, v, layer.field_names[f.0 as usize].as_str(), layer.pool.get(v)))
    }

    /// The value of property `name`, if present.
    pub fn property(&self, name: &str) -> Option<Value<'a>> {
        let field = self.table.field_id(name)?;
        self.property_by_id(field)
    }

    /// The interned value of property `field` (equal ids, equal values).
    pub fn value_id(&self, field: FieldId) -> Option<ValueId> {
        self.table.props.get(self.index).find(|(f, _)| *f == field).map(|(_, v)| v)
    }

    /// The value stored under `id` in this feature's table.
    pub fn value(&self, id: ValueId) -> Value<'a> {
        self.table.pool.get(id)
    }

    pub fn property_by_id(&self, field: FieldId) -> Option<Value<'a>> {
        let layer = self.table;
        layer.props.get(self.index).find(|(f, _)| *f == field).map(|(_, v)| layer.pool.get(v))
    }

    /// Properties as a JSON object.
    pub fn properties_json(&self) -> serde_json::Map<String, serde_json::Value> {
        self.properties().map(|(k, v)| (k.to_string(), v.to_json())).collect()
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
