//! The parts of a built layer written to and read from their sections: the
//! metadata, the feature table, the point tree, the profile (the tiling
//! data: [`super::tiles`]).
//! Reading checks what later reads index with (property runs, value spans,
//! tree links, feature numbers), so a section that decodes is one the
//! layer can serve from without a panic.

use super::codec::{f32_at, f64_at, u32_at, u64_at, Dec, DecodeResult};
use super::encode::Enc;
use crate::features::{FeatureTable, StoredId};
use crate::geometry::{FeatureGeometry, GeometryKind};
use crate::hours::Schedules;
use crate::index::globe::{GlobeTree, Node as TreeNode, Slot};
use crate::index::LayerIndex;
use crate::layer::{Field, LayerMeta, Provenance, SkipReason, SkipReport, SkippedFeature};
use crate::profile::{PlainProfile, Profile};
use crate::properties::{Entry, FieldType, PropertyTable, Span, Stored, ValuePool};
use crate::waste::WasteProfile;
use geo::Coord;
use std::path::Path;
use std::sync::Arc;

// ---- metadata -------------------------------------------------------------

const FORMATS: [&str; 4] = ["GeoJSON", "ESRI Shapefile", "OSM PBF", "thematic map"];
const KINDS: [GeometryKind; 7] = [
    GeometryKind::Point,
    GeometryKind::MultiPoint,
    GeometryKind::LineString,
    GeometryKind::MultiLineString,
    GeometryKind::Polygon,
    GeometryKind::MultiPolygon,
    GeometryKind::GeometryCollection,
];
const FIELD_TYPES: [FieldType; 8] = [
    FieldType::Null,
    FieldType::Bool,
    FieldType::Int,
    FieldType::Float,
    FieldType::String,
    FieldType::Date,
    FieldType::Json,
    FieldType::Mixed,
];
const REASONS: [SkipReason; 9] = [
    SkipReason::NullGeometry,
    SkipReason::EmptyGeometry,
    SkipReason::InvalidGeometry,
    SkipReason::CoordinatesOutOfRange,
    SkipReason::UnsupportedShape,
    SkipReason::MissingNodes,
    SkipReason::MissingMembers,
    SkipReason::UnclosedRing,
    SkipReason::ChangeToMissingObject,
];

fn position<T: PartialEq>(all: &[T], v: &T) -> u8 {
    all.iter().position(|x| x == v).unwrap_or(0) as u8
}

fn pick<T: Copy>(d: &Dec<'_>, all: &[T], i: u8, what: &str) -> DecodeResult<T> {
    match all.get(i as usize) {
        Some(v) => Ok(*v),
        None => d.error(&format!("{what} number {i}")),
    }
}

pub(super) fn put_meta(e: &mut Enc, m: &LayerMeta) {
    e.str(m.id.as_str());
    e.str(&m.title);
    e.u8(position(&FORMATS, &m.source.format));
    e.str(&m.source.crs);
    e.str(&m.source.crs_origin);
    e.opt_str(m.source.encoding.as_deref());
    e.len(m.geometry_kinds.len());
    for k in &m.geometry_kinds {
        e.u8(position(&KINDS, k));
    }
    e.bool(m.bounds.is_some());
    for v in m.bounds.unwrap_or_default() {
        e.f64(v);
    }
    e.len(m.feature_count);
    e.len(m.fields.len());
    for f in &m.fields {
        e.str(&f.name);
        e.u8(position(&FIELD_TYPES, &f.field_type));
        e.len(f.count);
        e.strs(&f.samples);
    }
    e.opt_str(m.time_field.as_deref());
    e.len(m.skipped.counts.len());
    for (r, n) in &m.skipped.counts {
        e.u8(position(&REASONS, r));
        e.len(*n);
    }
    e.len(m.skipped.examples.len());
    for x in &m.skipped.examples {
        e.len(x.index);
        e.u8(position(&REASONS, &x.reason));
        e.str(&x.detail);
    }
}

/// The metadata, with `path` as its source (the file it was asked for).
pub(super) fn get_meta(d: &mut Dec<'_>, path: &Path) -> DecodeResult<LayerMeta> {
    let id = d.string()?;
    let id = match crate::layer::LayerId::new(&id) {
        Ok(id) => id,
        Err(e) => return d.error(&e),
    };
    let title = d.string()?;
    let format = d.u8()?;
    let format = pick(d, &FORMATS, format, "format")?;
    let source = Provenance {
        path: path.to_path_buf(),
        format,
        crs: d.string()?,
        crs_origin: d.string()?,
        encoding: d.opt_string()?,
    };
    let n = d.len(1)?;
    let mut geometry_kinds = Vec::with_capacity(n);
    for _ in 0..n {
        let k = d.u8()?;
        geometry_kinds.push(pick(d, &KINDS, k, "geometry kind")?);
    }
    let bounds = if d.bool()? { Some([d.f64()?, d.f64()?, d.f64()?, d.f64()?]) } else { None };
    let feature_count = d.u64()? as usize;
    let n = d.len(8)?;
    let mut fields = Vec::with_capacity(n);
    for _ in 0..n {
        let name = d.string()?;
        let t = d.u8()?;
        fields.push(Field {
            name,
            field_type: pick(d, &FIELD_TYPES, t, "field type")?,
            count: d.u64()? as usize,
            samples: d.strings()?,
        });
    }
    let time_field = d.opt_string()?;
    let mut skipped = SkipReport::default();
    for _ in 0..d.len(9)? {
        let r = d.u8()?;
        skipped.counts.insert(pick(d, &REASONS, r, "skip reason")?, d.u64()? as usize);
    }
    for _ in 0..d.len(9)? {
        let index = d.u64()? as usize;
        let r = d.u8()?;
        skipped.examples.push(SkippedFeature {
            index,
            reason: pick(d, &REASONS, r, "skip reason")?,
            detail: d.string()?,
        });
    }
    Ok(LayerMeta {
        id,
        title,
        source,
        geometry_kinds,
        bounds,
        feature_count,
        fields,
        time_field,
        skipped,
        load_time: std::time::Duration::ZERO,
    })
}

// ---- features ---------------------------------------------------------------

pub(super) fn put_features(e: &mut Enc, t: &FeatureTable) {
    e.strs(&t.field_names);
    // The value pool.
    e.str(&t.pool.arena);
    e.len(t.pool.values.len());
    for v in &t.pool.values {
        match *v {
            Stored::Null => e.u8(0),
            Stored::Bool(b) => {
                e.u8(1);
                e.bool(b)
            }
            Stored::Int(i) => {
                e.u8(2);
                e.i64(i)
            }
            Stored::Float(f) => {
                e.u8(3);
                e.f64(f)
            }
            Stored::Str(s, plain) => {
                e.u8(4);
                e.u32(s.start);
                e.u32(s.len);
                e.bool(plain)
            }
            Stored::Json(s) => {
                e.u8(5);
                e.u32(s.start);
                e.u32(s.len)
            }
        }
    }
    // Ids.
    e.len(t.ids.len());
    for id in &t.ids {
        match *id {
            StoredId::Index => e.u8(0),
            StoredId::Int(i) => {
                e.u8(1);
                e.i64(i)
            }
            StoredId::Str(v) => {
                e.u8(2);
                e.u32(v.0)
            }
        }
    }
    // Geometries: a kind per feature (0: point), the points' coordinates
    // as one column, then the other geometries.
    e.len(t.geometries.len());
    for g in &t.geometries {
        e.u8(matches!(g, FeatureGeometry::Other(_)) as u8);
    }
    for g in &t.geometries {
        if let FeatureGeometry::Point(c) = g {
            e.coord(*c);
        }
    }
    for g in &t.geometries {
        if let FeatureGeometry::Other(g) = g {
            e.geometry(g);
        }
    }
    // Property runs, read in place at the next start: each column aligned
    // for its records (4 bytes).
    e.u32_column(&t.props.starts);
    e.len(t.props.entries.len());
    e.align(4);
    for x in t.props.entries.iter() {
        e.u32(x.field);
        e.u32(x.value);
    }
}

pub(super) fn get_features(d: &mut Dec<'_>) -> DecodeResult<FeatureTable> {
    let field_names = d.strings()?;
    let arena = d.string()?;
    let n = d.len(1)?;
    let mut values = super::codec::big_vec(n);
    let span = |d: &mut Dec<'_>| -> DecodeResult<Span> {
        let (start, len) = (d.u32()?, d.u32()?);
        let end = start as usize + len as usize;
        if end > arena.len() || !arena.is_char_boundary(start as usize) || !arena.is_char_boundary(end) {
            return d.error("a text span outside the text of the values");
        }
        Ok(Span { start, len })
    };
    for _ in 0..n {
        values.push(match d.u8()? {
            0 => Stored::Null,
            1 => Stored::Bool(d.bool()?),
            2 => Stored::Int(d.i64()?),
            3 => Stored::Float(d.f64()?),
            4 => Stored::Str(span(d)?, d.bool()?),
            5 => Stored::Json(span(d)?),
            t => return d.error(&format!("value tag {t}")),
        });
    }
    let n_values = values.len();
    let is_string = |v: u32| matches!(values.get(v as usize), Some(Stored::Str(..)));
    let n = d.len(1)?;
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        ids.push(match d.u8()? {
            0 => StoredId::Index,
            1 => StoredId::Int(d.i64()?),
            2 => {
                let v = d.u32()?;
                if !is_string(v) {
                    return d.error("a string id that is not a string value");
                }
                StoredId::Str(crate::properties::ValueId(v))
            }
            t => return d.error(&format!("id tag {t}")),
        });
    }
    let n = d.len(17)?;
    let kinds = d.records(n, 1, |b| b[0])?;
    if kinds.iter().any(|&k| k > 1) {
        return d.error("a geometry kind other than 0 or 1");
    }
    let n_points = kinds.iter().filter(|&&k| k == 0).count();
    let mut points = d.records(n_points, 16, |b| Coord { x: f64_at(b, 0), y: f64_at(b, 8) })?.into_iter();
    let mut geometries = super::codec::big_vec(n);
    for k in kinds {
        geometries.push(if k == 0 {
            FeatureGeometry::Point(points.next().unwrap_or_default())
        } else {
            FeatureGeometry::Other(Box::new(d.geometry()?))
        });
    }
    let starts = d.u32_column()?;
    let n_entries = d.len(8)?;
    d.align(4)?;
    let entries = d.column(n_entries, 8, |b| Entry { field: u32_at(b, 0), value: u32_at(b, 4) })?;
    let n_fields = field_names.len() as u32;
    let bad = entries.iter().any(|x| x.field >= n_fields || x.value as usize >= n_values);
    if bad {
        return d.error("a property names a field or value the layer does not have");
    }
    if starts.len() != geometries.len() + 1
        || starts.first() != Some(&0)
        || starts.last().map(|&s| s as usize) != Some(entries.len())
        || starts.windows(2).any(|w| w[0] > w[1])
        || !(ids.is_empty() || ids.len() == geometries.len())
    {
        return d.error("the property runs or ids do not match the features");
    }
    Ok(FeatureTable {
        ids,
        geometries,
        props: PropertyTable { starts, entries },
        pool: ValuePool::from_parts(values, arena),
        field_keys: field_names.iter().map(|n| crate::json::json_key(n)).collect(),
        field_names,
        by_id: Default::default(),
        columns: Default::default(),
        serial: Default::default(),
    })
}

// ---- indexes ------------------------------------------------------------------

pub(super) fn put_index(e: &mut Enc, index: &LayerIndex) {
    let g = &index.globe;
    e.len(g.nodes.len());
    for n in &g.nodes {
        for v in n.min.iter().chain(&n.max) {
            e.f32(*v);
        }
        e.u64(n.mask);
        e.u32(n.first);
        e.u16(n.len);
        e.bool(n.leaf);
    }
    e.len(g.points.len());
    // Read in place at the next start: 8-byte aligned, as `Slot` is laid out.
    e.align(8);
    for s in g.points.iter() {
        for v in s.p {
            e.f64(v);
        }
        e.u32(s.mask);
        e.u32(s.id);
    }
    e.bool(g.filtered);
    e.f64(g.max_radius);
    e.bool(g.points_only);
}

/// The point tree of a layer of `n_features` (the envelope tree is
/// bulk-loaded again from the geometries: only layers with lines or
/// polygons have one, and it is quick).
pub(super) fn get_globe(d: &mut Dec<'_>, n_features: usize) -> DecodeResult<GlobeTree> {
    let n = d.len(39)?;
    let nodes = d.records(n, 39, |b| TreeNode {
        min: [f32_at(b, 0), f32_at(b, 4), f32_at(b, 8)],
        max: [f32_at(b, 12), f32_at(b, 16), f32_at(b, 20)],
        mask: u64_at(b, 24),
        first: u32_at(b, 32),
        len: u16::from_le_bytes([b[36], b[37]]),
        leaf: b[38] != 0,
    })?;
    let n = d.len(32)?;
    d.align(8)?;
    let points = d.column(n, 32, |b| Slot {
        p: [f64_at(b, 0), f64_at(b, 8), f64_at(b, 16)],
        mask: u32_at(b, 24),
        id: u32_at(b, 28),
    })?;
    let bad = points.iter().any(|s| s.id as usize >= n_features);
    let links_ok = nodes.iter().enumerate().all(|(i, n)| {
        let end = n.first as usize + n.len as usize;
        if n.leaf {
            end <= points.len()
        } else {
            n.first as usize > i && end <= nodes.len()
        }
    });
    if bad || !links_ok {
        return d.error("the point tree links past its nodes or points");
    }
    Ok(GlobeTree { nodes, points, filtered: d.bool()?, max_radius: d.f64()?, points_only: d.bool()? })
}

// ---- profile ------------------------------------------------------------------

pub(super) fn put_profile(e: &mut Enc, p: &dyn Profile) {
    let Some(w) = p.as_any().downcast_ref::<WasteProfile>() else {
        e.u8(0);
        return;
    };
    e.u8(1);
    e.strs(&w.classes);
    e.u64s(&w.categories);
    e.u64s(&w.distinct_masks());
    e.str(w.timezone.name());
    e.bool(w.schedules.is_some());
    if let Some(s) = &w.schedules {
        e.strs(&s.texts);
        e.u32s(&s.per_feature);
        e.len(s.invalid);
        e.len(s.invalid_examples.len());
        for (i, v, m) in &s.invalid_examples {
            e.len(*i);
            e.str(v);
            e.str(m);
        }
    }
}

pub(super) fn get_profile(d: &mut Dec<'_>, n_features: usize) -> DecodeResult<Arc<dyn Profile>> {
    match d.u8()? {
        0 => Ok(Arc::new(PlainProfile)),
        1 => {
            let classes = d.strings()?;
            let categories = d.u64s()?;
            let distinct = d.u64s()?;
            let tz = d.string()?;
            let Ok(timezone) = crate::hours::parse_timezone(&tz) else { return d.error("an unknown time zone") };
            let schedules = if d.bool()? {
                let texts: Vec<Box<str>> = d.strings()?.into_iter().map(String::into_boxed_str).collect();
                let per_feature = d.u32s()?;
                let invalid = d.u64()? as usize;
                let mut examples = Vec::new();
                for _ in 0..d.len(24)? {
                    examples.push((d.u64()? as usize, d.string()?, d.string()?));
                }
                if per_feature.len() != n_features {
                    return d.error("opening hours for another number of features");
                }
                match Schedules::from_parts(timezone, texts, per_feature, invalid, examples) {
                    Some(s) => Some(s),
                    None => return d.error("a feature's opening hours past the distinct values"),
                }
            } else {
                None
            };
            if !(categories.is_empty() || categories.len() == n_features) {
                return d.error("waste categories for another number of features");
            }
            Ok(Arc::new(WasteProfile::from_parts(classes, categories, &distinct, schedules, timezone)))
        }
        t => d.error(&format!("profile tag {t}")),
    }
}
