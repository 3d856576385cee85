//! Edits over a file layer: a feature sent by a client ([`EditedFeature`],
//! checked against the layer by [`check`]), RFC 7396 merge patches, and the
//! layer rebuilt from its file features and its edits ([`rebuild`]).
//!
//! Source files are never written: the edits live in the server's store and
//! are laid over the file's features each time the layer is built. An edit
//! whose file feature has gone (the file changed) is a conflict: reported,
//! not applied, and kept.

use crate::build::{LayerBuilder, SourceId};
use crate::error::{GeoResult, ParamError};
use crate::features::FeatureId;
use crate::geometry::GeometryKind;
use crate::layer::Layer;
use crate::options::LoadOptions;
use crate::properties::{FieldType, Value};
use geo::{CoordsIter, Geometry};
use serde_json::{Map, Value as Json};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A feature as a client sent it: WGS84 geometry and JSON properties.
#[derive(Debug, Clone, PartialEq)]
pub struct EditedFeature {
    pub geometry: Geometry<f64>,
    pub properties: Map<String, Json>,
}

fn bad(member: impl Into<String>, message: impl Into<String>) -> ParamError {
    ParamError::new(member, message)
}

impl EditedFeature {
    /// Reads a GeoJSON Feature (RFC 7946: WGS84 longitude, latitude);
    /// errors name the member (`type`, `geometry`, `geometry.coordinates`,
    /// `properties`).
    pub fn parse(v: &Json) -> Result<Self, ParamError> {
        let Some(obj) = v.as_object() else {
            return Err(bad("body", "the body must be a GeoJSON Feature (a JSON object)"));
        };
        match obj.get("type").and_then(Json::as_str) {
            Some("Feature") => {}
            Some(t) => return Err(bad("type", format!("the body must be a GeoJSON Feature, not a {t}"))),
            None => return Err(bad("type", "the body must be a GeoJSON Feature: \"type\": \"Feature\" is missing")),
        }
        let geometry = match obj.get("geometry") {
            None | Some(Json::Null) => return Err(bad("geometry", "a feature of an editable layer needs a geometry")),
            Some(g) => parse_geometry(g)?,
        };
        let properties = match obj.get("properties") {
            None | Some(Json::Null) => Map::new(),
            Some(Json::Object(m)) => m.clone(),
            Some(_) => return Err(bad("properties", "properties must be a JSON object or null")),
        };
        Ok(EditedFeature { geometry, properties })
    }

    /// The lon/lat box `[west, south, east, north]` of the geometry.
    pub fn bbox(&self) -> Option<[f64; 4]> {
        use geo::BoundingRect;
        let r = self.geometry.bounding_rect()?;
        Some([r.min().x, r.min().y, r.max().x, r.max().y])
    }

    /// The GeoJSON Feature with `id`, as stored and served.
    pub fn to_json(&self, id: &str) -> Json {
        let geometry = geojson::Geometry::from(&self.geometry);
        serde_json::json!({
            "type": "Feature",
            "id": id,
            "geometry": serde_json::to_value(geometry).unwrap_or(Json::Null),
            "properties": self.properties,
        })
    }
}

/// A GeoJSON geometry in WGS84: every position finite, longitude within
/// [-180, 180], latitude within [-90, 90].
fn parse_geometry(v: &Json) -> Result<Geometry<f64>, ParamError> {
    let g = serde_json::from_value::<geojson::Geometry>(v.clone()).map_err(|e| bad("geometry", format!("{e}")))?;
    let g: Geometry<f64> = g.try_into().map_err(|e: geojson::Error| bad("geometry", format!("{e}")))?;
    if g.coords_count() == 0 {
        return Err(bad("geometry.coordinates", "the geometry has no coordinates"));
    }
    if let Some(c) = g.coords_iter().find(|c| {
        !(c.x.is_finite() && c.y.is_finite() && (-180.0..=180.0).contains(&c.x) && (-90.0..=90.0).contains(&c.y))
    }) {
        return Err(bad(
            "geometry.coordinates",
            format!("position [{}, {}] is not a WGS84 longitude, latitude (RFC 7946)", c.x, c.y),
        ));
    }
    Ok(g)
}

/// Applies an RFC 7396 JSON merge patch to `target`: `null` removes a
/// member, an object merges member by member, anything else replaces.
pub fn merge_patch(target: &mut Json, patch: &Json) {
    let Json::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Json::Object(Map::new());
    }
    if let Json::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Json::Null), v);
            }
        }
    }
}

fn family(k: GeometryKind) -> u8 {
    match k {
        GeometryKind::Point | GeometryKind::MultiPoint => 0,
        GeometryKind::LineString | GeometryKind::MultiLineString => 1,
        GeometryKind::Polygon | GeometryKind::MultiPolygon => 2,
        GeometryKind::GeometryCollection => 3,
    }
}

/// Checks a feature against what `layer` holds: the geometry family of
/// its features, the types of its typed fields, and the tags whose values
/// have rules (`opening_hours` must parse, `recycling:*` is `yes` or `no`).
pub fn check(layer: &Layer, f: &EditedFeature) -> Result<(), ParamError> {
    let kinds = &layer.meta().geometry_kinds;
    let kind = GeometryKind::of(&f.geometry);
    if let Some(first) = kinds.first() {
        if kinds.iter().all(|k| family(*k) == family(*first)) && family(kind) != family(*first) {
            let held: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
            return Err(bad(
                "geometry",
                format!(
                    "layer {:?} holds {} geometries; a {} cannot be added to it",
                    layer.id().as_str(),
                    held.join(" and "),
                    kind.name()
                ),
            ));
        }
    }
    for (name, value) in &f.properties {
        check_property(layer, name, value)?;
    }
    Ok(())
}

/// One property against its field's type and the tag rules.
pub fn check_property(layer: &Layer, name: &str, value: &Json) -> Result<(), ParamError> {
    let member = format!("properties.{name}");
    if value.is_null() {
        return Ok(());
    }
    if name == "opening_hours" {
        let Some(s) = value.as_str() else {
            return Err(bad(member, "opening_hours must be a string in the OpenStreetMap opening_hours syntax"));
        };
        crate::hours::check(s).map_err(|e| bad(member.clone(), format!("opening_hours {s:?} does not parse: {e}")))?;
    }
    if name.starts_with("recycling:") && !matches!(value.as_str(), Some("yes" | "no")) {
        return Err(bad(member, format!("{name} must be \"yes\" or \"no\", got {value}")));
    }
    let Some(field) = layer.meta().fields.iter().find(|f| f.name == name) else {
        return Ok(());
    };
    let fits = match field.field_type {
        FieldType::Int => value.is_i64() || value.is_u64(),
        FieldType::Float => value.is_number(),
        FieldType::Bool => value.is_boolean(),
        FieldType::String | FieldType::Date => value.is_string(),
        FieldType::Null | FieldType::Json | FieldType::Mixed => true,
    };
    if !fits {
        let expected = match field.field_type {
            FieldType::Int => "an integer",
            FieldType::Float => "a number",
            FieldType::Bool => "true or false",
            _ => "a string",
        };
        return Err(bad(
            member,
            format!("field {name:?} of layer {:?} holds {expected}; got {value}", layer.id().as_str()),
        ));
    }
    Ok(())
}

/// The current state of one edited feature.
#[derive(Debug, Clone)]
pub struct Edit {
    /// Created through the API (else an edit of a file feature).
    pub created: bool,
    /// Position of its last change in the journal (created features are
    /// added to the layer in this order).
    pub seq: i64,
    /// `None`: deleted.
    pub feature: Option<Arc<EditedFeature>>,
}

/// A layer built from its file features and its edits.
pub struct Rebuilt {
    pub layer: Layer,
    /// Time to lay the edits over the file's features, then to build the
    /// indexes, profile and tiling data.
    pub feed_time: std::time::Duration,
    pub finish_time: std::time::Duration,
    /// Ids of edits not applied: their file feature is gone, or a created
    /// feature's id is now taken by a file feature.
    pub conflicts: Vec<String>,
}

fn to_value(v: &Json) -> Option<Value<'_>> {
    Some(match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64()?),
        },
        Json::String(s) => Value::String(s),
        Json::Array(_) | Json::Object(_) => return None,
    })
}

fn feed(b: &mut LayerBuilder, f: &EditedFeature) -> GeoResult<()> {
    for (name, v) in &f.properties {
        match to_value(v) {
            Some(value) => b.property(name, value, None)?,
            None => {
                let text = v.to_string();
                b.property(name, Value::Json(&text), None)?
            }
        }
    }
    Ok(())
}

/// Builds `base` again with `edits` laid over its features: an edited file
/// feature in its place, a deleted one left out, created features after the
/// file's in journal order. Ids, field types and provenance are the base's.
pub fn rebuild(base: &Layer, options: LoadOptions, edits: &HashMap<String, Edit>) -> GeoResult<Rebuilt> {
    let started = std::time::Instant::now();
    let meta = base.meta();
    // The file's features are copied as they are (fields, values and
    // counts carried over); only edited ones are read again.
    let mut b = LayerBuilder::from_base(base, options);
    b.validate_options()?;
    let table = base.features_table();
    // Edits applied in place, and created ids a file feature now has.
    let mut applied: HashSet<&str> = HashSet::new();
    let mut taken: HashSet<&str> = HashSet::new();
    let mut key = String::new();
    for f in base.features() {
        let id = f.id();
        let edit = if edits.is_empty() {
            None
        } else {
            key.clear();
            use std::fmt::Write;
            let _ = write!(key, "{id}");
            edits.get_key_value(key.as_str())
        };
        if let Some((k, e)) = edit {
            if !e.created {
                applied.insert(k.as_str());
                b.forget_counts(table, f.index());
                if let Some(ef) = &e.feature {
                    feed(&mut b, ef)?;
                    set_id(&mut b, id)?;
                    b.end_feature(Ok(ef.geometry.clone()))?;
                }
                continue;
            }
            taken.insert(k.as_str());
        }
        b.copy_feature(table, f.index())?;
    }
    let mut conflicts = Vec::new();
    let mut rest: Vec<(&String, &Edit)> = edits.iter().filter(|(k, _)| !applied.contains(k.as_str())).collect();
    rest.sort_by_key(|(_, e)| e.seq);
    for (id, e) in rest {
        let Some(ef) = &e.feature else { continue };
        if !e.created || taken.contains(id.as_str()) {
            conflicts.push(id.clone());
            continue;
        }
        feed(&mut b, ef)?;
        b.set_id(SourceId::Str(id.as_str().into()))?;
        b.end_feature(Ok(ef.geometry.clone()))?;
    }
    let feed_time = started.elapsed();
    let mut layer = b.finish(meta.source.format, &meta.source.crs_origin, meta.source.encoding.clone());
    let finish_time = started.elapsed() - feed_time;
    layer.meta.id = meta.id.clone();
    layer.meta.title = meta.title.clone();
    layer.meta.source = meta.source.clone();
    layer.meta.skipped = meta.skipped.clone();
    // Samples of the file's fields as the file gave them.
    for field in &mut layer.meta.fields {
        if field.samples.is_empty() {
            if let Some(f) = meta.fields.iter().find(|f| f.name == field.name) {
                field.samples = f.samples.clone();
            }
        }
    }
    Ok(Rebuilt { layer, conflicts, feed_time, finish_time })
}

/// `base` (a layer without edits laid over it: its file's, or one built
/// in full under earlier edits) with `edits` laid over it, sharing its
/// features, indexes and tiling data: the edited features are built into
/// a small layer of their own, the ones they replace or delete are marked,
/// and the base's clusters are patched. The cost is that of the edits, not
/// of the layer. `None` when the layer is not made of points (its edits
/// then need [`rebuild`]). An edit of a file feature the base lacks is a
/// conflict, as in [`rebuild`].
pub fn overlay(base: &Layer, options: LoadOptions, edits: &[(&str, &Edit)]) -> GeoResult<Option<Overlaid>> {
    if base.delta.is_some() || !base.meta.is_point_layer() {
        return Ok(None);
    }
    if edits.iter().any(|(_, e)| e.feature.as_ref().is_some_and(|f| !GeometryKind::of(&f.geometry).is_puntal())) {
        return Ok(None);
    }
    let n = base.features.len();
    let mut dead = vec![0u64; n.div_ceil(64)];
    let mut dead_list = Vec::new();
    let mut conflicts = Vec::new();
    let mut b = LayerBuilder::for_edits(base, options);
    b.validate_options()?;
    let mut edits = edits.to_vec();
    edits.sort_by_key(|(_, e)| e.seq);
    for (id, e) in &edits {
        let mut file_id = None;
        match base.features.find(id) {
            Some(f) => {
                file_id = Some(f.id());
                let i = f.index();
                if dead[i / 64] & (1 << (i % 64)) == 0 {
                    dead[i / 64] |= 1 << (i % 64);
                    dead_list.push(i);
                }
            }
            None if !e.created => {
                if e.feature.is_some() {
                    conflicts.push(id.to_string());
                }
                continue;
            }
            None => {}
        }
        let Some(ef) = &e.feature else { continue };
        feed(&mut b, ef)?;
        match file_id {
            Some(fid) => set_id(&mut b, fid)?,
            None => b.set_id(SourceId::Str((*id).into()))?,
        }
        b.end_feature(Ok(ef.geometry.clone()))?;
    }
    let meta = base.meta();
    let mut extra = b.finish(meta.source.format, &meta.source.crs_origin, meta.source.encoding.clone());
    extra.meta.id = meta.id.clone();
    let clusters = base.tiles.clusters().map(|index| {
        let world = |g: &crate::geometry::FeatureGeometry| {
            crate::geometry::representative_point(g).map(|c| crate::tiling::tile::lonlat_to_world(c.x, c.y))
        };
        let taken: Vec<(u32, f64, f64, u64)> = dead_list
            .iter()
            .filter_map(|&i| world(&base.features.geometries()[i]).map(|(x, y)| (i as u32, x, y, base.profile.mask(i))))
            .collect();
        let added: Vec<(u32, f64, f64, u64)> = (0..extra.features.len())
            .filter_map(|k| {
                world(&extra.features.geometries()[k]).map(|(x, y)| ((n + k) as u32, x, y, extra.profile.mask(k)))
            })
            .collect();
        let near = |b: [f64; 4], f: &mut dyn FnMut(u32)| {
            let (w, n) = crate::tiling::tile::world_to_lonlat(b[0].max(0.0), b[1].max(0.0));
            let (e, s) = crate::tiling::tile::world_to_lonlat(b[2].min(1.0), b[3].min(1.0));
            base.for_each_in_bbox([w, s, e, n], |i| {
                if dead[i as usize / 64] & (1 << (i % 64)) == 0 {
                    f(i)
                }
            });
        };
        crate::tiling::patch::ClusterPatch::build(index, base.profile.masks(), &taken, &added, &near)
    });
    let mut new_meta = meta.clone();
    new_meta.feature_count = n - dead_list.len() + extra.len();
    new_meta.bounds = match (meta.bounds, extra.meta.bounds) {
        (Some(a), Some(b)) => Some([a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])]),
        (a, b) => a.or(b),
    };
    for k in &extra.meta.geometry_kinds {
        if !new_meta.geometry_kinds.contains(k) {
            new_meta.geometry_kinds.push(*k);
        }
    }
    // Field counts: the file's, less the replaced features', plus the edited ones'.
    for &i in &dead_list {
        for (f, _) in base.features.props.get(i) {
            let name = &base.features.field_names[f.0 as usize];
            if let Some(field) = new_meta.fields.iter_mut().find(|x| &x.name == name) {
                field.count = field.count.saturating_sub(1);
            }
        }
    }
    for ef in &extra.meta.fields {
        match new_meta.fields.iter_mut().find(|x| x.name == ef.name) {
            Some(field) => field.count += ef.count,
            None => new_meta.fields.push(ef.clone()),
        }
    }
    let delta = crate::layer::Delta { dead, dead_count: dead_list.len(), extra, clusters };
    let layer = Layer {
        meta: new_meta,
        features: base.features.clone(),
        index: base.index.clone(),
        profile: base.profile.clone(),
        tiles: base.tiles.clone(),
        delta: Some(Arc::new(delta)),
    };
    Ok(Some(Overlaid { layer, conflicts }))
}

/// A layer with edits laid over its base ([`overlay`]).
pub struct Overlaid {
    pub layer: Layer,
    /// Ids of edits not applied: their file feature is gone.
    pub conflicts: Vec<String>,
}

fn set_id(b: &mut LayerBuilder, id: FeatureId<'_>) -> GeoResult<()> {
    match id {
        FeatureId::Int(i) => b.set_id(SourceId::Int(i)),
        FeatureId::Str(s) => b.set_id(SourceId::Str(s.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The layer rebuilt under edits equals the layer loaded from a file
    /// where the same edits were made by hand (the reference).
    #[test]
    fn a_rebuilt_layer_equals_the_file_edited_by_hand() {
        let demo =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/points-collecte-synthetiques.geojson");
        let base = crate::load(&demo, LoadOptions::default()).unwrap();
        let mut fc: Json = serde_json::from_slice(&std::fs::read(&demo).unwrap()).unwrap();
        let features = fc["features"].as_array_mut().unwrap();
        let replaced = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.6, 44.9]},
                              "properties": {"name": "Remplacé", "amenity": "recycling", "capacity": 3}});
        let created = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.5, 44.8]},
                             "properties": {"name": "Nouveau", "recycling:glass_bottles": "yes"}});
        let (rid, did) = (features[3]["id"].clone(), features[5]["id"].clone());
        let edit = |feature: Option<&Json>, created: bool, seq| Edit {
            created,
            seq,
            feature: feature.map(|f| Arc::new(EditedFeature::parse(f).unwrap())),
        };
        let edits: HashMap<String, Edit> = [
            (rid.to_string(), edit(Some(&replaced), false, 1)),
            (did.to_string(), edit(None, false, 2)),
            ("new-1".to_string(), edit(Some(&created), true, 3)),
            ("424242".to_string(), edit(Some(&replaced), false, 4)),
        ]
        .into();
        let rebuilt = rebuild(&base, LoadOptions::default(), &edits).unwrap();
        assert_eq!(rebuilt.conflicts, vec!["424242".to_string()]);
        // The reference: the same edits in the file.
        let mut r = replaced.clone();
        r["id"] = rid.clone();
        features[3] = r;
        features.remove(5);
        let mut c = created.clone();
        c["id"] = json!("new-1");
        features.push(c);
        let dir = std::env::temp_dir().join(format!("tuilerie-rebuild-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("points-collecte-synthetiques.geojson");
        std::fs::write(&file, fc.to_string()).unwrap();
        let reference = crate::load(&file, LoadOptions::default()).unwrap();
        let (a, b) = (&rebuilt.layer, &reference);
        assert_eq!(a.len(), b.len());
        for i in 0..a.len() {
            let (fa, fb) = (a.feature(i), b.feature(i));
            assert_eq!(fa.id().to_string(), fb.id().to_string(), "feature {i}");
            assert_eq!(fa.geometry(), fb.geometry(), "feature {i}");
            // (serde_json writes the reference's keys sorted.)
            let props = |f: crate::FeatureRef<'_>| {
                let mut v: Vec<(String, String)> =
                    f.properties().map(|(k, v)| (k.to_string(), v.to_json().to_string())).collect();
                v.sort();
                v
            };
            assert_eq!(props(fa), props(fb), "feature {i}");
        }
        let fields = |l: &Layer| {
            let mut v: Vec<(String, FieldType, usize)> =
                l.meta().fields.iter().map(|f| (f.name.clone(), f.field_type, f.count)).collect();
            v.sort_by(|x, y| x.0.cmp(&y.0));
            v
        };
        assert_eq!(fields(a), fields(b));
        assert_eq!(a.meta().bounds, b.meta().bounds);
        assert_eq!(a.find("new-1").unwrap().properties().next().unwrap().1, Value::String("Nouveau"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn merge_patch_follows_rfc_7396_examples() {
        // RFC 7396, appendix A (a selection).
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": "b", "b": "c"}), json!({"a": null}), json!({"b": "c"})),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": {"b": "c"}}), json!({"a": {"b": "d", "c": null}}), json!({"a": {"b": "d"}})),
            (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
            (json!([1, 2]), json!({"a": "b", "c": null}), json!({"a": "b"})),
            (json!({}), json!({"a": {"bb": {"ccc": null}}}), json!({"a": {"bb": {}}})),
        ];
        for (mut target, patch, expected) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, expected);
        }
    }

    #[test]
    fn parse_names_the_member_at_fault() {
        let e = EditedFeature::parse(&json!({"type": "FeatureCollection"})).unwrap_err();
        assert_eq!(e.parameter, "type");
        let e = EditedFeature::parse(&json!({"type": "Feature", "geometry": null})).unwrap_err();
        assert_eq!(e.parameter, "geometry");
        let e =
            EditedFeature::parse(&json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [200, 1]}}))
                .unwrap_err();
        assert_eq!(e.parameter, "geometry.coordinates");
        let e = EditedFeature::parse(
            &json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 1]}, "properties": 3}),
        )
        .unwrap_err();
        assert_eq!(e.parameter, "properties");
        let ok = EditedFeature::parse(
            &json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.57, 44.84]}, "properties": {"a": 1}}),
        )
        .unwrap();
        assert_eq!(ok.to_json("new-1")["geometry"]["coordinates"], json!([-0.57, 44.84]));
    }
}
