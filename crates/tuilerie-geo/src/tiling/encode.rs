//! Mapbox Vector Tile 2.1 protobuf encoding.
//!
//! Written here rather than with the `mvt` crate: its layer builder looks up
//! keys, values and duplicate feature ids by linear scans, which makes a tile
//! of n features O(n²); these tables are hashed. The wire format is the
//! `vector_tile.proto` of the specification.

use hashbrown::{DefaultHashBuilder, HashMap, HashTable};
use std::hash::BuildHasher;

/// MVT geometry types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeomType {
    Point = 1,
    LineString = 2,
    Polygon = 3,
}

/// A property value as encoded in a tile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TileValue<'a> {
    String(&'a str),
    Double(f64),
    Int(i64),
    Bool(bool),
}

/// Protocol buffer writing, shared with other messages of the service
/// (glyph ranges): a varint,
pub fn varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn key(buf: &mut Vec<u8>, field: u32, wire: u32) {
    varint(buf, ((field << 3) | wire) as u64);
}

/// a varint field,
pub fn varint_field(buf: &mut Vec<u8>, field: u32, v: u64) {
    key(buf, field, 0);
    varint(buf, v);
}

/// a length-delimited field.
pub fn bytes_field(buf: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    key(buf, field, 2);
    varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

fn packed(buf: &mut Vec<u8>, field: u32, values: &[u32], scratch: &mut Vec<u8>) {
    scratch.clear();
    for &v in values {
        varint(scratch, v as u64);
    }
    bytes_field(buf, field, scratch);
}

/// the key and length of a bytes field of `len` bytes,
fn bytes_header(buf: &mut Vec<u8>, field: u32, len: usize) {
    key(buf, field, 2);
    varint(buf, len as u64);
}

/// the length of a varint,
fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

#[inline]
pub fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

/// Builds the geometry command stream of one feature.
#[derive(Debug, Default)]
pub struct GeometryWriter {
    pub data: Vec<u32>,
    cursor: (i32, i32),
}

impl GeometryWriter {
    /// The command that starts a single point: MoveTo, count 1.
    pub const MOVE_TO_ONE: u32 = 1 | (1 << 3);

    pub fn clear(&mut self) {
        self.data.clear();
        self.cursor = (0, 0);
    }

    fn command(id: u32, count: u32) -> u32 {
        (id & 7) | (count << 3)
    }

    fn delta(&mut self, p: (i32, i32)) {
        self.data.push(zigzag(p.0 - self.cursor.0));
        self.data.push(zigzag(p.1 - self.cursor.1));
        self.cursor = p;
    }

    /// Points: one MoveTo with all points.
    pub fn points(&mut self, pts: &[(i32, i32)]) {
        if pts.is_empty() {
            return;
        }
        self.data.push(Self::command(1, pts.len() as u32));
        for &p in pts {
            self.delta(p);
        }
    }

    /// A line of at least two points.
    pub fn line(&mut self, pts: &[(i32, i32)]) {
        self.data.push(Self::command(1, 1));
        self.delta(pts[0]);
        self.data.push(Self::command(2, (pts.len() - 1) as u32));
        for &p in &pts[1..] {
            self.delta(p);
        }
    }

    /// A ring given open (no closing vertex), at least three points.
    pub fn ring(&mut self, pts: &[(i32, i32)]) {
        self.line(pts);
        self.data.push(Self::command(7, 1));
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Accumulates the features of one tile layer. One writer can build tile
/// after tile ([`Self::reset`]), keeping its buffers.
#[derive(Default)]
pub struct LayerWriter {
    name: String,
    extent: u32,
    features: Vec<u8>,
    keys: Vec<String>,
    key_index: HashMap<String, u32>,
    /// The layer's `values` fields, each an encoded `Value` message.
    values: Vec<u8>,
    /// Where each value's message is in `values`.
    value_spans: Vec<(u32, u32)>,
    /// Value index by its message: a value's encoding is canonical (one
    /// field per type, doubles by their bits), so equal messages are equal
    /// values, looked up without building a key.
    value_index: HashTable<u32>,
    hasher: DefaultHashBuilder,
    /// Key index + 1 of each of the source layer's field ids seen (0: not yet).
    field_keys: Vec<u32>,
    /// Value index of each of the source layer's interned value ids seen.
    interned: HashMap<u32, u32>,
    tags: Vec<u32>,
    scratch: Vec<u8>,
    feature_buf: Vec<u8>,
    count: usize,
}

impl LayerWriter {
    pub fn new(name: &str, extent: u32) -> Self {
        let mut w = LayerWriter::default();
        w.reset(name, extent);
        w
    }

    /// Empties the writer for another layer, keeping its buffers.
    pub fn reset(&mut self, name: &str, extent: u32) {
        self.name.clear();
        self.name.push_str(name);
        self.extent = extent;
        self.features.clear();
        self.keys.clear();
        self.key_index.clear();
        self.values.clear();
        self.value_spans.clear();
        self.value_index.clear();
        self.field_keys.clear();
        self.interned.clear();
        self.tags.clear();
        self.count = 0;
    }

    /// Bytes the buffers hold (their capacities, roughly).
    pub fn heap_bytes(&self) -> usize {
        self.features.capacity()
            + self.values.capacity()
            + self.value_spans.capacity() * 8
            + self.value_index.capacity() * 5
            + self.key_index.capacity() * 32
            + self.interned.capacity() * 9
            + (self.field_keys.capacity() + self.tags.capacity()) * 4
            + self.scratch.capacity()
            + self.feature_buf.capacity()
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Approximate encoded size so far.
    pub fn size(&self) -> usize {
        self.features.len() + self.values.len() + self.keys.iter().map(|k| k.len() + 2).sum::<usize>()
    }

    fn key_id(&mut self, k: &str) -> u32 {
        if let Some(&i) = self.key_index.get(k) {
            return i;
        }
        let i = self.keys.len() as u32;
        self.keys.push(k.to_string());
        self.key_index.insert(k.to_string(), i);
        i
    }

    fn value_id(&mut self, v: TileValue<'_>) -> u32 {
        // The message is written in place (field 4 of the layer), then
        // looked up; a value already in the table is taken back out.
        let start = self.values.len();
        let int = |i: i64| if i >= 0 { (5, i as u64) } else { (6, ((i << 1) ^ (i >> 63)) as u64) };
        let len = match v {
            TileValue::String(s) => 1 + varint_len(s.len() as u64) + s.len(),
            TileValue::Double(_) => 9,
            TileValue::Int(i) => 1 + varint_len(int(i).1),
            TileValue::Bool(_) => 2,
        };
        let buf = &mut self.values;
        bytes_header(buf, 4, len);
        let body = buf.len();
        match v {
            TileValue::String(s) => bytes_field(buf, 1, s.as_bytes()),
            TileValue::Double(d) => {
                key(buf, 3, 1);
                buf.extend_from_slice(&d.to_le_bytes());
            }
            TileValue::Int(i) => {
                let (field, n) = int(i);
                varint_field(buf, field, n);
            }
            TileValue::Bool(b) => varint_field(buf, 7, b as u64),
        }
        debug_assert_eq!(buf.len() - body, len);
        let (values, spans) = (&self.values, &self.value_spans);
        let span = |i: u32| {
            let (a, b) = spans[i as usize];
            &values[a as usize..b as usize]
        };
        let msg = &values[body..];
        let hash = self.hasher.hash_one(msg);
        if let Some(&i) = self.value_index.find(hash, |&i| span(i) == msg) {
            self.values.truncate(start);
            return i;
        }
        let i = spans.len() as u32;
        let hasher = &self.hasher;
        self.value_index.insert_unique(hash, i, |&j| hasher.hash_one(span(j)));
        self.value_spans.push((body as u32, self.values.len() as u32));
        i
    }

    /// Adds a property to the feature being built (see [`Self::push_feature`]).
    pub fn tag(&mut self, k: &str, v: TileValue<'_>) {
        let ki = self.key_id(k);
        let vi = self.value_id(v);
        self.tags.push(ki);
        self.tags.push(vi);
    }

    /// Same as [`Self::tag`], with the key's id remembered in `slot` (0:
    /// not yet known), so that a key written on many features of a tile
    /// is hashed once. A slot belongs to one key and one writer.
    pub fn tag_slot(&mut self, slot: &mut u32, k: &str, v: TileValue<'_>) {
        let ki = match *slot {
            0 => {
                let ki = self.key_id(k);
                *slot = ki + 1;
                ki
            }
            s => s - 1,
        };
        let vi = self.value_id(v);
        self.tags.push(ki);
        self.tags.push(vi);
    }

    /// Same as [`Self::tag`] for a property of the source layer, named by its
    /// field id and interned value id there (one id per distinct field and
    /// value): after the first time, no text is hashed or compared.
    pub fn tag_interned(&mut self, field: u32, k: &str, value: u32, v: TileValue<'_>) {
        let f = field as usize;
        if f >= self.field_keys.len() {
            self.field_keys.resize(f + 1, 0);
        }
        let ki = match self.field_keys[f] {
            0 => {
                let ki = self.key_id(k);
                self.field_keys[f] = ki + 1;
                ki
            }
            slot => slot - 1,
        };
        let vi = match self.interned.get(&value) {
            Some(&vi) => vi,
            None => {
                // By value the first time, so a value also written by
                // `tag` (or under another id) stays one table entry.
                let vi = self.value_id(v);
                self.interned.insert(value, vi);
                vi
            }
        };
        self.tags.push(ki);
        self.tags.push(vi);
    }

    /// Adds a feature with the properties given since the last one by
    /// [`Self::tag`] and [`Self::tag_interned`]. `geometry` must be non-empty.
    pub fn push_feature(&mut self, id: Option<u64>, geom_type: GeomType, geometry: &[u32]) {
        let mut f = std::mem::take(&mut self.feature_buf);
        f.clear();
        if let Some(id) = id {
            key(&mut f, 1, 0);
            varint(&mut f, id);
        }
        if !self.tags.is_empty() {
            let tags = std::mem::take(&mut self.tags);
            packed(&mut f, 2, &tags, &mut self.scratch);
            self.tags = tags;
        }
        key(&mut f, 3, 0);
        varint(&mut f, geom_type as u64);
        packed(&mut f, 4, geometry, &mut self.scratch);
        bytes_field(&mut self.features, 2, &f);
        self.feature_buf = f;
        self.tags.clear();
        self.count += 1;
    }

    /// The encoded `Layer` message.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.features.len() + self.values.len() + 64);
        key(&mut out, 15, 0);
        varint(&mut out, 2);
        bytes_field(&mut out, 1, self.name.as_bytes());
        out.extend_from_slice(&self.features);
        for k in &self.keys {
            bytes_field(&mut out, 3, k.as_bytes());
        }
        out.extend_from_slice(&self.values);
        key(&mut out, 5, 0);
        varint(&mut out, self.extent as u64);
        out
    }
}

/// Concatenates encoded layers into a `Tile` message.
pub fn tile(layers: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(layers.iter().map(|l| l.len() + 6).sum());
    for l in layers {
        bytes_field(&mut out, 3, l);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_commands_follow_the_specification_examples() {
        // Spec 4.3.5.1: a point at (25, 17) is [9, 50, 34].
        let mut g = GeometryWriter::default();
        g.points(&[(25, 17)]);
        assert_eq!(g.data, vec![9, 50, 34]);
        // Spec: a line (2,2) (2,10) (10,10) is [9, 4, 4, 18, 0, 16, 16, 0].
        let mut g = GeometryWriter::default();
        g.line(&[(2, 2), (2, 10), (10, 10)]);
        assert_eq!(g.data, vec![9, 4, 4, 18, 0, 16, 16, 0]);
        // Spec: polygon (3,6) (8,12) (20,34) is [9, 6, 12, 18, 10, 12, 24, 44, 15].
        let mut g = GeometryWriter::default();
        g.ring(&[(3, 6), (8, 12), (20, 34)]);
        assert_eq!(g.data, vec![9, 6, 12, 18, 10, 12, 24, 44, 15]);
    }

    #[test]
    fn keys_and_values_are_shared_between_features() {
        let mut l = LayerWriter::new("x", 4096);
        l.tag("a", TileValue::String("v"));
        l.tag("b", TileValue::Int(-3));
        l.push_feature(Some(1), GeomType::Point, &[9, 50, 34]);
        l.tag("a", TileValue::String("v"));
        l.push_feature(None, GeomType::Point, &[9, 50, 34]);
        assert_eq!(l.keys.len(), 2);
        assert_eq!(l.value_spans.len(), 2);
        assert_eq!(l.len(), 2);
    }

    #[test]
    fn each_value_span_is_its_whole_value_message_at_every_length() {
        // Lengths either side of a one- and a two-byte varint, for the text
        // and for the message around it (field key, length, text).
        for n in [0usize, 1, 124, 125, 126, 127, 128, 16_380, 16_381, 16_382, 16_383, 16_384] {
            let text = "x".repeat(n);
            let mut l = LayerWriter::new("x", 4096);
            l.tag("a", TileValue::String(&text));
            l.tag("b", TileValue::String(&text));
            l.tag("c", TileValue::Int(-3));
            let mut message = Vec::new();
            bytes_field(&mut message, 1, text.as_bytes());
            let (a, b) = l.value_spans[0];
            assert_eq!(&l.values[a as usize..b as usize], &message[..], "text of {n} bytes");
            let mut field = Vec::new();
            bytes_field(&mut field, 4, &message);
            assert_eq!(&l.values[..field.len()], &field[..], "text of {n} bytes");
            assert_eq!((l.value_spans.len(), l.tags.clone()), (2, vec![0, 0, 1, 0, 2, 1]), "text of {n} bytes");
        }
    }

    #[test]
    fn interned_and_plain_properties_share_one_table() {
        let mut l = LayerWriter::new("x", 4096);
        // Field 0 / value 7 is "glass"; value 9 is the same text under
        // another id (a JSON value of the source, say); the extra tag too.
        l.tag_interned(0, "waste", 7, TileValue::String("glass"));
        l.tag("kind", TileValue::String("glass"));
        l.push_feature(Some(1), GeomType::Point, &[9, 50, 34]);
        l.tag_interned(0, "waste", 9, TileValue::String("glass"));
        l.tag_interned(1, "n", 3, TileValue::Int(2));
        l.push_feature(Some(2), GeomType::Point, &[9, 50, 34]);
        l.tag_interned(0, "waste", 7, TileValue::String("glass"));
        l.push_feature(Some(3), GeomType::Point, &[9, 50, 34]);
        assert_eq!(l.keys, ["waste", "kind", "n"]);
        assert_eq!(l.value_spans.len(), 2);
        // Tags as written: (key, value) pairs per feature.
        let bytes = l.finish();
        let tags: Vec<Vec<u32>> = decode_tags(&bytes);
        assert_eq!(tags, [vec![0, 0, 1, 0], vec![0, 0, 2, 1], vec![0, 0]]);
    }

    /// The packed tags of each feature of an encoded layer (test decoder).
    fn decode_tags(layer: &[u8]) -> Vec<Vec<u32>> {
        fn varint(b: &[u8], i: &mut usize) -> u64 {
            let (mut v, mut shift) = (0u64, 0);
            loop {
                let byte = b[*i];
                *i += 1;
                v |= ((byte & 0x7f) as u64) << shift;
                if byte < 0x80 {
                    return v;
                }
                shift += 7;
            }
        }
        fn fields(b: &[u8]) -> Vec<(u64, &[u8], u64)> {
            let mut out = Vec::new();
            let mut i = 0;
            while i < b.len() {
                let k = varint(b, &mut i);
                match k & 7 {
                    0 => out.push((k >> 3, &b[0..0], varint(b, &mut i))),
                    2 => {
                        let n = varint(b, &mut i) as usize;
                        out.push((k >> 3, &b[i..i + n], 0));
                        i += n;
                    }
                    w => panic!("wire type {w}"),
                }
            }
            out
        }
        fields(layer)
            .into_iter()
            .filter(|f| f.0 == 2)
            .map(|(_, feature, _)| {
                let packed = fields(feature).into_iter().find(|f| f.0 == 2).map(|f| f.1).unwrap_or(&[]);
                let mut i = 0;
                let mut tags = Vec::new();
                while i < packed.len() {
                    tags.push(varint(packed, &mut i) as u32);
                }
                tags
            })
            .collect()
    }
}
