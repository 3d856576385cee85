//! [`LayerBuilder`]: the sink every source writes features into.
//!
//! Steps per feature: properties are interned as they are read, then the
//! geometry is reprojected to WGS84, validated (finite, in range, not empty),
//! and either kept or skipped with a counted reason. [`LayerBuilder::finish`]
//! then runs the later stages: metadata, indexes, profile, tiling data.

use crate::error::{GeoError, GeoResult};
use crate::features::{FeatureTable, StoredId};
use crate::geometry::{envelope, FeatureGeometry, GeometryKind};
use crate::index::LayerIndex;
use crate::layer::{Field, Layer, LayerId, LayerMeta, Provenance, SkipReason, SkipReport};
use crate::options::{LoadOptions, ProfileOptions};
use crate::profile::{PlainProfile, Profile};
use crate::properties::{FieldId, FieldType, PropertyTable, Value, ValueId, ValuePool};
use crate::reproject::Reprojector;
use crate::tiling::TilePrep;
use crate::waste::WasteProfile;
use geo::{Coord, CoordsIter, Geometry};
use hashbrown::HashMap;
use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// An id read from a source, before storage.
#[derive(Debug, Clone)]
pub enum SourceId<'a> {
    Int(i64),
    Str(std::borrow::Cow<'a, str>),
}

struct FieldStats {
    field_type: FieldType,
    count: usize,
    samples: Vec<ValueId>,
}

/// Collects features from a source into a [`Layer`].
pub struct LayerBuilder {
    path: PathBuf,
    options: LoadOptions,
    reprojector: Reprojector,
    started: Instant,
    field_names: Vec<String>,
    field_lookup: HashMap<String, u32>,
    fields: Vec<FieldStats>,
    keep: Option<HashSet<String>>,
    pool: ValuePool,
    props: PropertyTable,
    ids: Vec<StoredId>,
    pending_id: Option<StoredId>,
    geometries: Vec<FeatureGeometry>,
    kinds: BTreeSet<GeometryKind>,
    skipped: SkipReport,
    seen: usize,
    timezone: Option<chrono_tz::Tz>,
}

impl LayerBuilder {
    pub fn new(path: &Path, options: LoadOptions, reprojector: Reprojector) -> Self {
        let keep = options.properties.as_ref().map(|p| p.iter().cloned().collect::<HashSet<_>>());
        LayerBuilder {
            path: path.to_path_buf(),
            options,
            reprojector,
            started: Instant::now(),
            field_names: Vec::new(),
            field_lookup: HashMap::new(),
            fields: Vec::new(),
            keep,
            pool: ValuePool::new(),
            props: PropertyTable::new(),
            ids: Vec::new(),
            pending_id: None,
            geometries: Vec::new(),
            kinds: BTreeSet::new(),
            skipped: SkipReport::default(),
            seen: 0,
            timezone: None,
        }
    }

    /// A builder that starts from `base` as loaded: its fields, their
    /// statistics and its value pool, so that [`LayerBuilder::copy_feature`]
    /// takes a feature over without reading its values again (a layer
    /// rebuilt under a few edits).
    pub(crate) fn from_base(base: &Layer, options: LoadOptions) -> Self {
        let mut b = LayerBuilder::with_fields_of(base, options, true);
        b.pool = base.features.pool.clone();
        b.geometries.reserve(base.len());
        b.kinds = base.meta.geometry_kinds.iter().copied().collect();
        b
    }

    /// A builder with `base`'s fields in its order (so field numbers agree)
    /// and types, and their counts when `counts`.
    fn with_fields_of(base: &Layer, options: LoadOptions, counts: bool) -> Self {
        let mut b = LayerBuilder::new(&base.meta.source.path, options, Reprojector::identity());
        let t = &base.features;
        b.field_names = t.field_names.clone();
        b.field_lookup = t.field_names.iter().enumerate().map(|(i, n)| (n.clone(), i as u32)).collect();
        b.fields = t
            .field_names
            .iter()
            .map(|n| {
                let f = base.meta.fields.iter().find(|f| &f.name == n);
                FieldStats {
                    field_type: f.map_or(FieldType::Null, |f| f.field_type),
                    count: if counts { f.map_or(0, |f| f.count) } else { 0 },
                    samples: Vec::new(),
                }
            })
            .collect();
        b
    }

    /// A builder for the features laid over `base`: its fields in its order
    /// (so field numbers agree) and types, no values; not clustered (the
    /// base's clusters are patched instead).
    pub(crate) fn for_edits(base: &Layer, mut options: LoadOptions) -> Self {
        options.tiles.clustering = crate::tiling::Clustering::Off;
        LayerBuilder::with_fields_of(base, options, false)
    }

    /// Copies feature `index` of `base` (the table [`LayerBuilder::from_base`]
    /// started from) with its id.
    pub(crate) fn copy_feature(&mut self, base: &FeatureTable, index: usize) -> GeoResult<()> {
        for (f, v) in base.props.get(index) {
            self.props.push(f, v);
        }
        let id = match base.ids.get(index) {
            Some(StoredId::Index) | None => StoredId::Int(index as i64),
            Some(id) => *id,
        };
        if self.ids.len() < self.geometries.len() {
            self.ids.resize(self.geometries.len(), StoredId::Index);
        }
        self.ids.push(id);
        self.seen += 1;
        if self.geometries.len() >= u32::MAX as usize || !self.props.end_feature() {
            return Err(self.too_large("more than 4 billion features or properties".into()));
        }
        self.geometries.push(base.geometries[index].clone());
        Ok(())
    }

    /// Takes a feature of `base` out of the field counts (it is replaced
    /// or deleted).
    pub(crate) fn forget_counts(&mut self, base: &FeatureTable, index: usize) {
        for (f, v) in base.props.get(index) {
            if base.pool.get(v) != Value::Null {
                if let Some(stats) = self.fields.get_mut(f.0 as usize) {
                    stats.count = stats.count.saturating_sub(1);
                }
            }
        }
    }

    /// Checks options that can fail before reading (the time zone).
    pub fn validate_options(&mut self) -> GeoResult<()> {
        self.options.validate()?;
        if let ProfileOptions::Waste(w) = &self.options.profile {
            self.timezone = Some(w.parsed_timezone()?);
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Replaces the reprojector (a GeoJSON `crs` member read before features).
    pub fn set_reprojector(&mut self, r: Reprojector) {
        self.reprojector = r;
    }

    /// Whether a property is configured as the feature id.
    pub fn has_id_field(&self) -> bool {
        self.options.id_field.is_some()
    }

    /// Declares a field before any value (shapefile columns), so that empty
    /// columns still show in the metadata with their type.
    pub fn declare_field(&mut self, name: &str, field_type: FieldType) {
        if let Some(id) = self.field(name) {
            let f = &mut self.fields[id.0 as usize];
            f.field_type = f.field_type.merge(field_type);
        }
    }

    fn field(&mut self, name: &str) -> Option<FieldId> {
        if let Some(keep) = &self.keep {
            if !keep.contains(name) && self.options.id_field.as_deref() != Some(name) {
                return None;
            }
        }
        if let Some(&i) = self.field_lookup.get(name) {
            return Some(FieldId(i));
        }
        let i = self.field_names.len() as u32;
        self.field_names.push(name.to_string());
        self.field_lookup.insert(name.to_string(), i);
        self.fields.push(FieldStats { field_type: FieldType::Null, count: 0, samples: Vec::new() });
        Some(FieldId(i))
    }

    /// Adds a property to the current feature. `declared` overrides the
    /// type the value implies (DBF dates are strings of type `Date`).
    pub fn property(&mut self, name: &str, value: Value<'_>, declared: Option<FieldType>) -> GeoResult<()> {
        if self.options.id_field.as_deref() == Some(name) {
            let id = match value {
                Value::Int(i) => Some(SourceId::Int(i)),
                Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(SourceId::Int(f as i64)),
                Value::Float(f) => Some(SourceId::Str(f.to_string().into())),
                Value::String(s) => Some(SourceId::Str(s.into())),
                _ => None,
            };
            if let Some(id) = id {
                self.set_id(id)?;
            }
            let keep_it = self.keep.as_ref().is_none_or(|k| k.contains(name));
            if !keep_it {
                return Ok(());
            }
        }
        let Some(field) = self.field(name) else {
            return Ok(());
        };
        if self.props.pending_has(field) {
            // Duplicate key in one object: the last one wins, as in JSON parsers.
            self.props.discard_field(field);
        }
        let vid = self.pool.intern(value).map_err(|e| self.too_large(e.to_string()))?;
        self.props.push(field, vid);
        let stats = &mut self.fields[field.0 as usize];
        stats.field_type = stats.field_type.merge(declared.unwrap_or_else(|| value.field_type()));
        if value != Value::Null {
            stats.count += 1;
            if stats.samples.len() < 3 && !stats.samples.contains(&vid) {
                stats.samples.push(vid);
            }
        }
        Ok(())
    }

    /// Sets the id of the current feature.
    pub fn set_id(&mut self, id: SourceId<'_>) -> GeoResult<()> {
        self.pending_id = Some(match id {
            SourceId::Int(i) => StoredId::Int(i),
            SourceId::Str(s) => {
                StoredId::Str(self.pool.intern(Value::String(&s)).map_err(|e| self.too_large(e.to_string()))?)
            }
        });
        Ok(())
    }

    /// Records a skipped object that never became a feature (a change
    /// the extract cannot take).
    pub(crate) fn record_skip(&mut self, index: usize, reason: SkipReason, detail: String) {
        self.skipped.record(index, reason, detail);
    }

    fn too_large(&self, message: String) -> GeoError {
        GeoError::TooLarge { path: self.path.clone(), message }
    }

    /// Ends the current feature with its geometry (in source CRS) or the
    /// reason it cannot be used.
    pub fn end_feature(&mut self, geometry: Result<Geometry<f64>, (SkipReason, String)>) -> GeoResult<()> {
        let index = self.seen;
        self.seen += 1;
        if let Some(p) = &self.options.progress {
            if self.seen.is_multiple_of(65536) {
                p(self.seen);
            }
        }
        let id = self.pending_id.take();
        let geometry = geometry.and_then(|g| self.prepare(g));
        match geometry {
            Err((reason, detail)) => {
                self.props.discard_feature();
                self.skipped.record(index, reason, detail);
                Ok(())
            }
            Ok(g) => {
                if let Some(id) = id {
                    if self.ids.len() < self.geometries.len() {
                        self.ids.resize(self.geometries.len(), StoredId::Index);
                    }
                    self.ids.push(id);
                } else if !self.ids.is_empty() {
                    self.ids.push(StoredId::Index);
                }
                if self.geometries.len() >= u32::MAX as usize || !self.props.end_feature() {
                    return Err(self.too_large("more than 4 billion features or properties".into()));
                }
                self.kinds.insert(g.kind());
                self.geometries.push(g);
                Ok(())
            }
        }
    }

    /// Reprojects and validates one geometry.
    fn prepare(&self, g: Geometry<f64>) -> Result<FeatureGeometry, (SkipReason, String)> {
        let mut g = g;
        if let Geometry::Point(p) = g {
            let c = self.reprojector.transform_coord(p.0).map_err(|e| (SkipReason::CoordinatesOutOfRange, e))?;
            check_coord(c)?;
            return Ok(FeatureGeometry::Point(c));
        }
        if g.coords_count() == 0 {
            return Err((SkipReason::EmptyGeometry, "no coordinates".into()));
        }
        self.reprojector.transform(&mut g).map_err(|e| (SkipReason::CoordinatesOutOfRange, e))?;
        for c in g.coords_iter() {
            check_coord(c)?;
        }
        Ok(FeatureGeometry::from_geometry(g))
    }

    /// Builds the layer, one stage after the other: the feature table,
    /// the metadata, the indexes, the profile, the tiling data.
    pub fn finish(mut self, format: &'static str, crs_origin: &str, encoding: Option<String>) -> Layer {
        let features = self.take_features();
        let stem = self.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let meta = LayerMeta {
            id: self.options.id.clone().unwrap_or_else(|| LayerId::from_stem(&stem)),
            title: self.options.title.clone().unwrap_or(stem),
            source: Provenance {
                path: self.path.clone(),
                format,
                crs: self.reprojector.source_name().to_string(),
                crs_origin: crs_origin.to_string(),
                encoding,
            },
            geometry_kinds: self.kinds.iter().copied().collect(),
            bounds: bounds(features.geometries()),
            feature_count: features.len(),
            fields: self.field_report(&features),
            time_field: self.options.time_field.clone(),
            skipped: std::mem::take(&mut self.skipped),
            load_time: std::time::Duration::ZERO,
        };
        // The spatial index does not depend on the profile: built on a
        // second thread while the profile and the tiling data are (a third
        // of the time of a large point layer).
        let (mut index, profile, tiles) = std::thread::scope(|scope| {
            let index = scope.spawn(|| LayerIndex::build(features.geometries()));
            let profile: std::sync::Arc<dyn Profile> = match &self.options.profile {
                ProfileOptions::Waste(w) => {
                    let tz = self.timezone.unwrap_or(chrono_tz::Europe::Paris);
                    std::sync::Arc::new(WasteProfile::build(&features, w, tz))
                }
                ProfileOptions::Plain => std::sync::Arc::new(PlainProfile),
            };
            let tiles = TilePrep::build(&features, &meta.geometry_kinds, self.options.tiles, profile.as_ref());
            let index = index.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            (index, profile, tiles)
        });
        index.globe_mut().set_categories(profile.masks());
        let mut layer = Layer::new(meta, features, index, profile, tiles);
        layer.meta.load_time = self.started.elapsed();
        layer
    }

    /// Moves the features out of the builder, compacted: ids equal to the
    /// feature's position (common in exports) are not stored.
    fn take_features(&mut self) -> FeatureTable {
        self.pool.shrink();
        self.props.shrink();
        self.geometries.shrink_to_fit();
        let n = self.geometries.len();
        let mut ids = std::mem::take(&mut self.ids);
        if !ids.is_empty() && ids.len() < n {
            ids.resize(n, StoredId::Index);
        }
        let implicit = ids.iter().enumerate().all(|(i, id)| match id {
            StoredId::Index => true,
            StoredId::Int(v) => *v == i as i64,
            StoredId::Str(_) => false,
        });
        if implicit {
            ids = Vec::new();
        }
        ids.shrink_to_fit();
        FeatureTable {
            ids,
            geometries: std::mem::take(&mut self.geometries),
            props: std::mem::take(&mut self.props),
            pool: std::mem::take(&mut self.pool),
            field_keys: self.field_names.iter().map(|n| crate::json::json_key(n)).collect(),
            field_names: std::mem::take(&mut self.field_names),
            by_id: Default::default(),
            columns: Default::default(),
            serial: Default::default(),
        }
    }

    /// Every field with its type, count and a few samples.
    fn field_report(&self, features: &FeatureTable) -> Vec<Field> {
        features
            .field_names()
            .iter()
            .zip(&self.fields)
            .map(|(name, s)| Field {
                name: name.clone(),
                field_type: s.field_type,
                count: s.count,
                samples: s.samples.iter().map(|v| features.pool.get(*v).display()).collect(),
            })
            .collect()
    }
}

/// WGS84 bounds `[west, south, east, north]` of the geometries.
fn bounds(geometries: &[FeatureGeometry]) -> Option<[f64; 4]> {
    let mut bounds: Option<[f64; 4]> = None;
    for g in geometries {
        if let Some(r) = envelope(g) {
            let b = bounds.get_or_insert([f64::MAX, f64::MAX, f64::MIN, f64::MIN]);
            b[0] = b[0].min(r.min().x);
            b[1] = b[1].min(r.min().y);
            b[2] = b[2].max(r.max().x);
            b[3] = b[3].max(r.max().y);
        }
    }
    bounds.map(|[w, s, e, n]| [tidy(w, f64::floor), tidy(s, f64::floor), tidy(e, f64::ceil), tidy(n, f64::ceil)])
}

/// A bound written without the float noise of reprojection
/// (`-1.2620500000000003` becomes `-1.26205`): rounded to 1e-9 degree
/// (about 0.1 mm) away from the data (`outward` is floor for a minimum,
/// ceil for a maximum), or to the nearest 1e-9 when that is within 1e-12
/// degree of the value, so the box still holds every feature to far below
/// a coordinate's own precision.
fn tidy(v: f64, outward: fn(f64) -> f64) -> f64 {
    let scaled = v * 1e9;
    let near = scaled.round();
    let r = if (near - scaled).abs() < 1e-3 { near } else { outward(scaled) };
    r / 1e9
}

fn check_coord(c: Coord<f64>) -> Result<(), (SkipReason, String)> {
    if c.x.is_finite() && c.y.is_finite() && (-180.0..=180.0).contains(&c.x) && (-90.0..=90.0).contains(&c.y) {
        Ok(())
    } else {
        Err((
            SkipReason::CoordinatesOutOfRange,
            format!("coordinate ({}, {}) is not a WGS84 longitude/latitude", c.x, c.y),
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bounds_lose_float_noise_and_still_hold_the_data() {
        assert_eq!(super::tidy(-1.2620500000000003, f64::floor), -1.26205);
        assert_eq!(super::tidy(44.8378, f64::ceil), 44.8378);
        // Far from a round value: rounded away from the data.
        assert_eq!(super::tidy(0.12345678912, f64::floor), 0.123456789);
        assert_eq!(super::tidy(0.12345678912, f64::ceil), 0.12345679);
    }
}
