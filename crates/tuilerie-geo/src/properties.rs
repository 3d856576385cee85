//! Compact, typed feature properties.
//!
//! A layer of a million points with a handful of attributes must fit in a few
//! hundred megabytes, so properties are not stored as one map per feature:
//! - every distinct value is stored once in a [`ValuePool`] (strings in one
//!   arena, numbers inline), so repeated values such as `amenity=recycling`
//!   cost four bytes per feature;
//! - each feature holds a run of `(field, value)` pairs in one shared vector
//!   ([`PropertyTable`]), indexed by a start offset per feature.

use crate::column::{Column, Plain};
use hashbrown::HashTable;
use std::hash::{BuildHasher, Hash, Hasher};

/// A property value as read from a feature. Strings borrow from the layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(&'a str),
    /// A nested JSON array or object, kept as compact JSON text.
    Json(&'a str),
}

impl Value<'_> {
    /// The field type this value contributes to.
    pub fn field_type(&self) -> FieldType {
        match self {
            Value::Null => FieldType::Null,
            Value::Bool(_) => FieldType::Bool,
            Value::Int(_) => FieldType::Int,
            Value::Float(_) => FieldType::Float,
            Value::String(_) => FieldType::String,
            Value::Json(_) => FieldType::Json,
        }
    }

    /// Converts to a `serde_json::Value` (nested JSON is parsed back).
    pub fn to_json(&self) -> serde_json::Value {
        match *self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => b.into(),
            Value::Int(i) => i.into(),
            Value::Float(f) => {
                serde_json::Number::from_f64(f).map(serde_json::Value::Number).unwrap_or(serde_json::Value::Null)
            }
            Value::String(s) => s.into(),
            Value::Json(s) => serde_json::from_str(s).unwrap_or_else(|_| s.into()),
        }
    }

    /// A short human-readable rendering, used by `inspect`.
    pub fn display(&self) -> String {
        match *self {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::String(s) => format!("{s:?}"),
            Value::Json(s) => s.to_string(),
        }
    }
}

/// The type of a field over all features of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Only nulls seen so far.
    Null,
    Bool,
    Int,
    Float,
    String,
    /// DBF date, stored as `YYYY-MM-DD` text.
    Date,
    Json,
    /// Values of different kinds (e.g. numbers and strings).
    Mixed,
}

impl FieldType {
    /// Type of a field holding values of `self` and `other`.
    pub fn merge(self, other: FieldType) -> FieldType {
        use FieldType::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Null, b) => b,
            (a, Null) => a,
            (Int, Float) | (Float, Int) => Float,
            (Date, String) | (String, Date) => String,
            _ => Mixed,
        }
    }

    /// The TileJSON `vector_layers` field type: `Number`, `String` or `Boolean`.
    pub fn tilejson_name(self) -> &'static str {
        match self {
            FieldType::Int | FieldType::Float => "Number",
            FieldType::Bool => "Boolean",
            _ => "String",
        }
    }
}

/// Index of a value in a [`ValuePool`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);

#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) len: u32,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Stored {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Text, and whether it can go into JSON without escaping.
    Str(Span, bool),
    Json(Span),
}

fn load<'a>(values: &[Stored], arena: &'a str, i: u32) -> Value<'a> {
    let text = |s: Span| &arena[s.start as usize..(s.start + s.len) as usize];
    match values[i as usize] {
        Stored::Null => Value::Null,
        Stored::Bool(b) => Value::Bool(b),
        Stored::Int(i) => Value::Int(i),
        Stored::Float(f) => Value::Float(f),
        Stored::Str(s, _) => Value::String(text(s)),
        Stored::Json(s) => Value::Json(text(s)),
    }
}

/// Deduplicated storage of property values; strings live in one arena.
#[derive(Debug, Default, Clone)]
pub struct ValuePool {
    pub(crate) values: Vec<Stored>,
    pub(crate) arena: String,
    /// Only used while building; dropped by [`ValuePool::shrink`].
    dedup: HashTable<u32>,
    hasher: hashbrown::DefaultHashBuilder,
}

/// Error when the string arena outgrows 32-bit offsets.
#[derive(Debug, thiserror::Error)]
#[error("more than 4 GiB of distinct property text")]
pub struct PoolFull;

impl ValuePool {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of distinct values.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Number of distinct values (outside tests too).
    pub fn value_count(&self) -> usize {
        self.values.len()
    }

    /// Reads a stored value.
    pub fn get(&self, id: ValueId) -> Value<'_> {
        load(&self.values, &self.arena, id.0)
    }

    /// Writes a stored value as JSON (strings known not to need escaping
    /// are copied as they are).
    pub fn write_json(&self, id: ValueId, out: &mut Vec<u8>) {
        match self.values[id.0 as usize] {
            Stored::Str(s, true) => {
                let text = &self.arena.as_bytes()[s.start as usize..(s.start + s.len) as usize];
                out.reserve(text.len() + 2);
                out.push(b'"');
                out.extend_from_slice(text);
                out.push(b'"');
            }
            _ => push_value(out, &self.get(id)),
        }
    }

    fn hash_value(hasher: &hashbrown::DefaultHashBuilder, v: &Value<'_>) -> u64 {
        let mut h = hasher.build_hasher();
        match *v {
            Value::Null => 0u8.hash(&mut h),
            Value::Bool(b) => (1u8, b).hash(&mut h),
            Value::Int(i) => (2u8, i).hash(&mut h),
            Value::Float(f) => (3u8, f.to_bits()).hash(&mut h),
            Value::String(s) => (4u8, s).hash(&mut h),
            Value::Json(s) => (5u8, s).hash(&mut h),
        }
        h.finish()
    }

    fn same(a: &Value<'_>, b: &Value<'_>) -> bool {
        match (a, b) {
            (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
            _ => a == b,
        }
    }

    /// Stores `value` once and returns its id.
    pub fn intern(&mut self, value: Value<'_>) -> Result<ValueId, PoolFull> {
        let hash = Self::hash_value(&self.hasher, &value);
        let (values, arena) = (&self.values, self.arena.as_str());
        if let Some(&found) = self.dedup.find(hash, |&i| Self::same(&load(values, arena, i), &value)) {
            return Ok(ValueId(found));
        }
        let stored = match value {
            Value::Null => Stored::Null,
            Value::Bool(b) => Stored::Bool(b),
            Value::Int(i) => Stored::Int(i),
            Value::Float(f) => Stored::Float(f),
            Value::String(s) => Stored::Str(self.push_text(s)?, !crate::json::needs_escape(s.as_bytes())),
            Value::Json(s) => Stored::Json(self.push_text(s)?),
        };
        let id = u32::try_from(self.values.len()).map_err(|_| PoolFull)?;
        self.values.push(stored);
        let (values, arena, hasher) = (&self.values, self.arena.as_str(), &self.hasher);
        self.dedup.insert_unique(hash, id, |&i| Self::hash_value(hasher, &load(values, arena, i)));
        Ok(ValueId(id))
    }

    fn push_text(&mut self, s: &str) -> Result<Span, PoolFull> {
        let start = u32::try_from(self.arena.len()).map_err(|_| PoolFull)?;
        let len = u32::try_from(s.len()).map_err(|_| PoolFull)?;
        if start.checked_add(len).is_none() {
            return Err(PoolFull);
        }
        self.arena.push_str(s);
        Ok(Span { start, len })
    }

    /// A pool as a snapshot kept it (built and shrunk: no hash table).
    pub(crate) fn from_parts(values: Vec<Stored>, arena: String) -> Self {
        ValuePool { values, arena, ..Default::default() }
    }

    /// Drops the build-time hash table and trims buffers.
    pub fn shrink(&mut self) {
        self.dedup = HashTable::new();
        self.values.shrink_to_fit();
        self.arena.shrink_to_fit();
    }

    /// Approximate heap bytes used.
    pub fn heap_bytes(&self) -> usize {
        self.values.capacity() * std::mem::size_of::<Stored>() + self.arena.capacity() + self.dedup.capacity() * 8
    }
}

/// Index of a field (attribute column) in a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u32);

/// One property of a feature: 8 bytes in the order the snapshot stores
/// them, so that a snapshot's runs are read in place ([`Column`]).
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub(crate) struct Entry {
    pub(crate) field: u32,
    pub(crate) value: u32,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 8 && std::mem::align_of::<Entry>() == 4);

#[allow(unsafe_code)]
// SAFETY: repr(C), two u32: no padding, any bits valid.
unsafe impl Plain for Entry {}

/// The properties of every feature of a layer, as runs of `(field, value)`.
#[derive(Debug, Default)]
pub struct PropertyTable {
    pub(crate) starts: Column<u32>,
    pub(crate) entries: Column<Entry>,
}

impl PropertyTable {
    pub fn new() -> Self {
        Self { starts: vec![0].into(), entries: Column::default() }
    }

    /// Number of features with a recorded run.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Adds a property to the feature being built.
    pub fn push(&mut self, field: FieldId, value: ValueId) {
        self.entries.vec_mut().push(Entry { field: field.0, value: value.0 });
    }

    /// Ends the feature being built; returns false when the table is full.
    pub fn end_feature(&mut self) -> bool {
        match u32::try_from(self.entries.len()) {
            Ok(end) => {
                self.starts.vec_mut().push(end);
                true
            }
            Err(_) => false,
        }
    }

    /// Forgets the properties pushed since the last `end_feature`.
    pub fn discard_feature(&mut self) {
        let start = *self.starts.last().unwrap_or(&0) as usize;
        self.entries.vec_mut().truncate(start);
    }

    /// Whether the feature being built already has `field` (duplicate keys).
    pub fn pending_has(&self, field: FieldId) -> bool {
        let start = *self.starts.last().unwrap_or(&0) as usize;
        self.entries[start..].iter().any(|e| e.field == field.0)
    }

    /// Removes `field` from the feature being built (a duplicate key).
    pub fn discard_field(&mut self, field: FieldId) {
        let start = *self.starts.last().unwrap_or(&0) as usize;
        let mut i = start;
        while i < self.entries.len() {
            if self.entries[i].field == field.0 {
                self.entries.vec_mut().remove(i);
            } else {
                i += 1;
            }
        }
    }

    /// Prefetches where the run of feature `index` starts.
    pub fn prefetch(&self, index: usize) {
        crate::prefetch::prefetch(self.starts.as_ptr().wrapping_add(index));
    }

    /// Prefetches the pairs of feature `index` (reads its start: best
    /// after [`PropertyTable::prefetch`] had time to bring it).
    pub fn prefetch_pairs(&self, index: usize) {
        if let Some(&s) = self.starts.get(index) {
            crate::prefetch::prefetch(self.entries.as_ptr().wrapping_add(s as usize));
        }
    }

    /// The `(field, value)` pairs of feature `index`.
    pub fn get(&self, index: usize) -> impl ExactSizeIterator<Item = (FieldId, ValueId)> + '_ {
        let (s, e) = (self.starts[index] as usize, self.starts[index + 1] as usize);
        self.entries[s..e].iter().map(|en| (FieldId(en.field), ValueId(en.value)))
    }

    pub fn shrink(&mut self) {
        self.starts.shrink_to_fit();
        self.entries.shrink_to_fit();
    }

    pub fn heap_bytes(&self) -> usize {
        self.starts.heap_bytes() + self.entries.heap_bytes()
    }
}

/// A property value as JSON.
fn push_value(out: &mut Vec<u8>, v: &Value<'_>) {
    match *v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        Value::Int(i) => crate::json::push_i64(out, i),
        Value::Float(x) => crate::json::push_f64(out, x),
        Value::String(s) => crate::json::push_str(out, s),
        Value::Json(_) => {
            let _ = serde_json::to_writer(&mut *out, &v.to_json());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_returns_the_same_id_for_equal_values() {
        let mut pool = ValuePool::new();
        let a = pool.intern(Value::String("recycling")).unwrap();
        let b = pool.intern(Value::Int(3)).unwrap();
        let c = pool.intern(Value::String("recycling")).unwrap();
        let d = pool.intern(Value::Float(3.0)).unwrap();
        assert_eq!(a, c);
        assert_ne!(b, d, "3 and 3.0 keep their types");
        assert_eq!(pool.len(), 3);
        assert_eq!(pool.get(a), Value::String("recycling"));
        assert_eq!(pool.get(d), Value::Float(3.0));
        pool.shrink();
        assert_eq!(pool.get(b), Value::Int(3));
    }

    #[test]
    fn property_runs_are_kept_per_feature_and_discard_rolls_back() {
        let mut t = PropertyTable::new();
        t.push(FieldId(0), ValueId(1));
        t.push(FieldId(1), ValueId(2));
        assert!(t.end_feature());
        t.push(FieldId(0), ValueId(9));
        t.discard_feature();
        t.push(FieldId(1), ValueId(5));
        assert!(t.pending_has(FieldId(1)));
        assert!(t.end_feature());
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(0).collect::<Vec<_>>(), vec![(FieldId(0), ValueId(1)), (FieldId(1), ValueId(2))]);
        assert_eq!(t.get(1).collect::<Vec<_>>(), vec![(FieldId(1), ValueId(5))]);
    }

    #[test]
    fn field_types_merge_numbers_to_float_and_others_to_mixed() {
        assert_eq!(FieldType::Int.merge(FieldType::Float), FieldType::Float);
        assert_eq!(FieldType::Null.merge(FieldType::Bool), FieldType::Bool);
        assert_eq!(FieldType::Int.merge(FieldType::String), FieldType::Mixed);
    }
}
