//! The byte writer of GeoJSON Features on the hot paths (nearest
//! answers): id, geometry and properties written straight into a buffer,
//! the opening bytes of point features remembered per thread, then extra
//! properties.

use super::feature_geometry;
use crate::features::{FeatureId, FeatureRef, TableSerial};
use crate::geometry::FeatureGeometry;
use crate::json::{push_f64, push_i64, push_str, push_tenths};
use crate::layer::Layer;
use crate::profile::ClassMask;

/// An extra property written after a feature's own.
pub enum Extra<'a> {
    Number(f64),
    /// A number rounded to one decimal (distances, bearings).
    Tenths(f64),
    Str(&'a str),
    Bool(Option<bool>),
    OptStr(Option<&'a str>),
    StrList(&'a [&'a str]),
    /// The ids of the classes of a mask (by the layer's profile: waste
    /// categories for facilities).
    Classes(ClassMask),
}

/// Writes GeoJSON Features of one layer straight into a buffer (no
/// intermediate JSON values): id, geometry, properties, then extra
/// properties named once for all features (an extra replaces a property
/// of the same name, as `Map::extend` would). Field keys come encoded from
/// the layer and plain strings are copied as they are; equal to
/// [`feature`](super::feature) once parsed.
pub struct FeatureWriter<'a> {
    layer: &'a Layer,
    extras: &'a ExtraNames<'a>,
    /// Fields replaced by an extra.
    overridden: Vec<u32>,
}

/// The fields of `layer` an extra of `extras` replaces (no allocation when
/// none is, the usual case).
fn overridden(layer: &Layer, extras: &ExtraNames<'_>) -> Vec<u32> {
    extras.names.iter().filter_map(|n| layer.field_id(n)).map(|f| f.0).collect()
}

/// The names of a [`FeatureWriter`]'s extra properties, with their keys
/// encoded once (a query's writers share them: encoding them again cost a
/// nearest answer two allocations and six string scans).
pub struct ExtraNames<'a> {
    names: &'a [&'a str],
    /// The keys, encoded (`"name":` one after the other), and where each ends.
    keys: Vec<u8>,
    ends: Vec<usize>,
}

impl<'a> ExtraNames<'a> {
    pub fn new(names: &'a [&'a str]) -> Self {
        let mut keys = Vec::with_capacity(names.iter().map(|n| n.len() + 3).sum());
        let ends = names
            .iter()
            .map(|n| {
                push_str(&mut keys, n);
                keys.push(b':');
                keys.len()
            })
            .collect();
        ExtraNames { names, keys, ends }
    }
}

impl<'a> FeatureWriter<'a> {
    pub fn new(layer: &'a Layer, extras: &'a ExtraNames<'a>) -> Self {
        FeatureWriter { layer, extras, overridden: overridden(layer, extras) }
    }

    /// [`FeatureWriter::new`] for names that live as long as the program
    /// (those of the nearest answer): which fields they replace is
    /// remembered per thread for the layer's tables, rather than looked up
    /// by name in each request (800 instructions an answer).
    pub fn with_static_names(layer: &'a Layer, extras: &'static ExtraNames<'static>) -> Self {
        /// (names, table, table of edited features): what the fields are.
        type Key = (usize, u64, u64);
        thread_local! {
            static KNOWN: std::cell::RefCell<Vec<(Key, Vec<u32>)>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        // A table never changes once made, and a static's address is its own.
        let key = (
            std::ptr::from_ref(extras) as usize,
            layer.features_table().serial.0,
            layer.delta.as_ref().map_or(0, |d| d.extra.features_table().serial.0),
        );
        let overridden = KNOWN.with_borrow_mut(|known| {
            if let Some((_, o)) = known.iter().find(|(k, _)| *k == key) {
                return o.clone();
            }
            let o = overridden(layer, extras);
            // A few layers' worth; the oldest goes first.
            if known.len() == 16 {
                known.remove(0);
            }
            known.push((key, o.clone()));
            o
        });
        FeatureWriter { layer, extras, overridden }
    }

    /// Writes feature `index` with `extras`, one per name given to
    /// [`FeatureWriter::new`], in that order.
    pub fn write(&self, out: &mut Vec<u8>, index: usize, extras: &[Extra<'_>]) {
        self.write_with(out, index, extras, |_| {})
    }

    /// [`FeatureWriter::write`], then `members` writes foreign members of
    /// the Feature object (each as `,"name":value`) after its properties.
    pub fn write_with(
        &self,
        out: &mut Vec<u8>,
        index: usize,
        extras: &[Extra<'_>],
        members: impl FnOnce(&mut Vec<u8>),
    ) {
        let f = self.layer.feature(index);
        let (table, local) = f.local();
        // A point of the layer's own table with every property written:
        // its opening bytes depend on the table and the feature only.
        let memo = std::ptr::eq(table, self.layer.features_table())
            && self.overridden.is_empty()
            && matches!(f.geometry(), FeatureGeometry::Point(_));
        let any = if memo {
            write_head_memo(out, table.serial, local, |out| self.write_head(out, &f))
        } else {
            self.write_head(out, &f)
        };
        let mut first = !any;
        let mut start = 0;
        for (&end, v) in self.extras.ends.iter().zip(extras) {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(&self.extras.keys[start..end]);
            start = end;
            push_extra(out, v, self.layer.profile().classes());
        }
        out.push(b'}');
        members(out);
        out.push(b'}');
    }

    /// The Feature up to its own properties: `{"type":"Feature","id":…,
    /// "geometry":…,"properties":{` and those not replaced by an extra;
    /// whether it wrote any.
    fn write_head(&self, out: &mut Vec<u8>, f: &FeatureRef<'_>) -> bool {
        out.extend_from_slice(b"{\"type\":\"Feature\",\"id\":");
        match f.id() {
            FeatureId::Int(i) => push_i64(out, i),
            FeatureId::Str(s) => push_str(out, s),
        }
        out.extend_from_slice(b",\"geometry\":");
        match f.geometry() {
            FeatureGeometry::Point(c) => {
                out.extend_from_slice(b"{\"type\":\"Point\",\"coordinates\":[");
                push_f64(out, c.x);
                out.push(b',');
                push_f64(out, c.y);
                out.extend_from_slice(b"]}");
            }
            other => {
                let _ = serde_json::to_writer(&mut *out, &feature_geometry(other));
            }
        }
        out.extend_from_slice(b",\"properties\":{");
        let mut any = false;
        // An edited feature's table numbers the fields the file lacks after
        // the file's: those are compared by name.
        let (table, local) = f.local();
        let own_fields = std::ptr::eq(table, self.layer.features_table());
        for (field, value) in table.props.get(local) {
            let replaced = if own_fields {
                self.overridden.contains(&field.0)
            } else {
                self.layer
                    .field_id(&table.field_names[field.0 as usize])
                    .is_some_and(|id| self.overridden.contains(&id.0))
                    || self.extras.names.iter().any(|n| *n == table.field_names[field.0 as usize])
            };
            if replaced {
                continue;
            }
            if any {
                out.push(b',');
            }
            any = true;
            out.extend_from_slice(&table.field_keys[field.0 as usize]);
            table.pool.write_json(value, out);
        }
        any
    }
}

thread_local! {
    /// This thread's [`Heads`], made at its first use.
    static HEADS: std::cell::RefCell<Option<Heads>> = const { std::cell::RefCell::new(None) };
}

/// The opening bytes of point features written lately by this thread (id,
/// geometry and properties: a third of a nearest answer's instructions,
/// for the same few thousand facilities asked for again and again around
/// where people live), in sets of [`HEAD_WAYS`] slots, the least recently
/// used one replaced. Per thread, so without atomics (a mutex per set cost
/// more than the copy it saved: its locked instruction waited for the
/// set's line); at most [`HEAD_SLOTS`] × [`HEAD_BYTES`] bytes (3 MiB) a
/// thread, of which only the slots used are ever touched (zeroed memory
/// is mapped lazily). Keyed by the table's serial, so an edited or
/// reloaded layer's features (another table) are never answered from an
/// older table's bytes.
struct Heads {
    meta: Box<[HeadMeta]>,
    /// Slot `i`'s bytes at `i * HEAD_BYTES`.
    bytes: Box<[u8]>,
    /// Uses so far: a slot's `used` is the count at its last use.
    uses: u64,
}

#[derive(Clone, Copy, Default)]
struct HeadMeta {
    /// The table's serial; 0 when empty (serials start at 1).
    table: u64,
    local: u32,
    len: u16,
    /// Whether a property follows `"properties":{`.
    any: bool,
    used: u64,
}

/// Slots of a thread's [`Heads`] (a multiple of [`HEAD_WAYS`]).
const HEAD_SLOTS: usize = 8192;
/// Slots a feature may take (the set its number and table choose).
const HEAD_WAYS: usize = 4;
/// Longest opening kept (longer ones are written each time).
const HEAD_BYTES: usize = 384;

/// Copies the opening of feature `local` of table `serial` into `out`,
/// written by `write` (which says whether a property was written) unless
/// remembered.
fn write_head_memo(
    out: &mut Vec<u8>,
    serial: TableSerial,
    local: usize,
    write: impl FnOnce(&mut Vec<u8>) -> bool,
) -> bool {
    let Ok(local32) = u32::try_from(local) else { return write(out) };
    HEADS.with_borrow_mut(|heads| {
        let heads = heads.get_or_insert_with(|| Heads {
            meta: vec![HeadMeta::default(); HEAD_SLOTS].into_boxed_slice(),
            bytes: vec![0; HEAD_SLOTS * HEAD_BYTES].into_boxed_slice(),
            uses: 0,
        });
        heads.uses += 1;
        let mix = (local as u64 ^ serial.0.wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_mul(0x2545_F491_4F6C_DD1D);
        let set = (mix >> 32) as usize % (HEAD_SLOTS / HEAD_WAYS) * HEAD_WAYS;
        let ways = &mut heads.meta[set..set + HEAD_WAYS];
        if let Some(w) = ways.iter().position(|m| m.table == serial.0 && m.local == local32) {
            ways[w].used = heads.uses;
            let (at, len) = ((set + w) * HEAD_BYTES, ways[w].len as usize);
            out.extend_from_slice(&heads.bytes[at..at + len]);
            return ways[w].any;
        }
        let start = out.len();
        let any = write(out);
        let written = &out[start..];
        if written.len() <= HEAD_BYTES {
            let w = (0..HEAD_WAYS).min_by_key(|&w| ways[w].used).unwrap_or(0);
            ways[w] = HeadMeta { table: serial.0, local: local32, len: written.len() as u16, any, used: heads.uses };
            let at = (set + w) * HEAD_BYTES;
            heads.bytes[at..at + written.len()].copy_from_slice(written);
        }
        any
    })
}

/// `items` as a JSON array of strings.
pub(super) fn push_str_list<'s>(out: &mut Vec<u8>, items: impl IntoIterator<Item = &'s str>) {
    out.push(b'[');
    for (i, s) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(out, s);
    }
    out.push(b']');
}

fn push_extra(out: &mut Vec<u8>, v: &Extra<'_>, classes: &[String]) {
    match v {
        Extra::Number(x) => push_f64(out, *x),
        Extra::Tenths(x) => push_tenths(out, *x),
        Extra::Str(s) => push_str(out, s),
        Extra::Bool(None) | Extra::OptStr(None) => out.extend_from_slice(b"null"),
        Extra::Bool(Some(b)) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Extra::OptStr(Some(s)) => push_str(out, s),
        Extra::StrList(list) => push_str_list(out, list.iter().copied()),
        Extra::Classes(mask) => {
            out.push(b'[');
            // The set bits, lowest first, that name a class.
            let mut bits = *mask;
            let mut first = true;
            while bits != 0 {
                let i = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let Some(c) = classes.get(i) else { break };
                if !first {
                    out.push(b',');
                }
                first = false;
                push_str(out, c);
            }
            out.push(b']');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::feature;
    use serde_json::{json, Map, Value};
    use std::sync::LazyLock;

    #[test]
    fn remembered_openings_are_those_of_their_own_table() {
        // Two layers whose features have the same numbers, and a third
        // replacing a property by an extra: each feature written, in turn,
        // many times, is always its own.
        let load = |props: &str| {
            let text: String = (0..50)
                .map(|i| format!(r#"{{"type":"Feature","properties":{{"n":{i},{props}}},"geometry":{{"type":"Point","coordinates":[{i},1]}}}}"#))
                .collect::<Vec<_>>()
                .join(",");
            crate::source::geojson::load_bytes(
                std::path::Path::new("t.geojson"),
                format!(r#"{{"type":"FeatureCollection","features":[{text}]}}"#).as_bytes(),
                crate::LoadOptions::default(),
            )
            .unwrap()
        };
        let (a, b, c) = (load(r#""kind":"a""#), load(r#""kind":"b","name":"x""#), load(r#""sort":"c""#));
        let (plain, replacing) = (ExtraNames::new(&["d"]), ExtraNames::new(&["kind"]));
        // Names of the program's lifetime: which fields they replace is
        // remembered per table (`kind` in a and b, none in c).
        static PLAIN: LazyLock<ExtraNames<'static>> = LazyLock::new(|| ExtraNames::new(&["d"]));
        static REPLACING: LazyLock<ExtraNames<'static>> = LazyLock::new(|| ExtraNames::new(&["kind"]));
        for round in 0..3 {
            for i in 0..50 {
                let cases = [
                    (&a, &plain, false),
                    (&b, &plain, false),
                    (&b, &replacing, false),
                    (&a, &replacing, false),
                    (&a, &*REPLACING, true),
                    (&c, &*REPLACING, true),
                    (&b, &*PLAIN, true),
                    (&b, &*REPLACING, true),
                ];
                for (layer, names, fixed) in cases {
                    let mut out = Vec::new();
                    let writer = if fixed {
                        // (The statics, by their own type.)
                        let names: &'static ExtraNames<'static> =
                            if std::ptr::eq(names, &*PLAIN) { &PLAIN } else { &REPLACING };
                        FeatureWriter::with_static_names(layer, names)
                    } else {
                        FeatureWriter::new(layer, names)
                    };
                    writer.write(&mut out, i, &[Extra::Number(round as f64)]);
                    let mut extra = Map::new();
                    extra.insert(names.names[0].to_string(), json!(round as f64));
                    let written: Value = serde_json::from_slice(&out).unwrap();
                    assert_eq!(written, feature(&layer.feature(i), extra), "feature {i}, round {round}");
                    // (No property twice: a parser keeps the last.)
                    let kinds = String::from_utf8_lossy(&out).matches(r#""kind":"#).count();
                    assert_eq!(kinds, usize::from(!std::ptr::eq(layer, &c) || names.names[0] == "kind"));
                }
            }
        }
    }

    #[test]
    fn openings_asked_for_again_come_from_the_memo_and_long_ones_are_not_kept() {
        let serial = TableSerial::default();
        let mut calls = 0;
        for round in 0..3 {
            let before = calls;
            for i in 0..1500usize {
                let mut out = Vec::new();
                let any = write_head_memo(&mut out, serial, i * 7, |o| {
                    calls += 1;
                    o.extend_from_slice(format!("feature {i}").as_bytes());
                    i % 2 == 0
                });
                assert_eq!((out, any), (format!("feature {i}").into_bytes(), i % 2 == 0));
            }
            // All written the first time; then at most 5% (a set of four
            // slots can be chosen by more than four of 1,500 features).
            let limit = if round == 0 { 1500 } else { 75 };
            assert!(calls - before <= limit && (round > 0 || calls == 1500), "round {round}: {}", calls - before);
        }
        let long = vec![b'x'; HEAD_BYTES + 1];
        for expected in 1..=2 {
            let mut written = 0;
            for _ in 0..expected {
                write_head_memo(&mut Vec::new(), serial, 1, |o| {
                    written += 1;
                    o.extend_from_slice(&long);
                    true
                });
            }
            assert_eq!(written, expected);
        }
    }
}
