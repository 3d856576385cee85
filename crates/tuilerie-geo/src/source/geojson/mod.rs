//! GeoJSON (RFC 7946) reader, streaming from the file bytes into a
//! [`LayerBuilder`] with serde visitors: no intermediate document tree, so a
//! 200 MB file costs its bytes plus the compact layer, not several copies.
//!
//! Accepts a FeatureCollection, a single Feature or a bare geometry, every
//! geometry type (GeometryCollection included), string or number ids, and
//! the legacy (2008) `crs` member when it precedes the features.

use crate::build::{LayerBuilder, SourceId};
use crate::error::{GeoError, GeoResult};
use crate::layer::{Layer, SkipReason};
use crate::options::LoadOptions;
use crate::properties::Value;
use crate::reproject::{Crs, CrsOrigin};
use geo::Geometry;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use std::sync::mpsc::Receiver;

mod geometry;
mod stream;

use geometry::{build_geometry, Coords, CoordsSeed, GeometryListSeed, GeometrySeed, GEOMETRY_TYPES};

/// Loads a GeoJSON file as a layer. A FeatureCollection of the common
/// shape is read a block at a time on a second thread while its features
/// are parsed ([`stream`]); any other file is read whole, and its bytes
/// freed once parsed, before the indexes and clusters are built.
pub fn load(path: &Path, options: LoadOptions) -> GeoResult<Layer> {
    if let Some(layer) = load_streaming(path, &options) {
        return Ok(layer);
    }
    let bytes = std::fs::read(path).map_err(|e| GeoError::io(path, e))?;
    let (builder, crs_origin, _) = parse(path, &bytes, options, None)?;
    drop(bytes);
    Ok(builder.finish("GeoJSON", crs_origin.describe(), None))
}

/// The layer of a FeatureCollection read in blocks, or `None` when the
/// file is not of the shape that streams or has an error (the caller then
/// reads it whole and reports the error at its place).
pub fn load_streaming(path: &Path, options: &LoadOptions) -> Option<Layer> {
    let mut file = std::fs::File::open(path).ok()?;
    let (bytes, at) = stream::prefix(&mut file)?;
    // The document up to the array, closed: its members (type, crs) are
    // read as in a whole file, the features come from the channel.
    let mut doc = bytes[..at].to_vec();
    doc.extend_from_slice(b"]}");
    let rest = bytes[at..].to_vec();
    drop(bytes);
    let (tx, rx) = stream::channel();
    let (builder, crs_origin) = std::thread::scope(|scope| {
        scope.spawn(move || stream::read_features(file, rest, tx));
        match parse(path, &doc, options.clone(), Some(rx)) {
            Ok((b, origin, true)) => Some((b, origin)),
            _ => None,
        }
    })?;
    Some(builder.finish("GeoJSON", crs_origin.describe(), None))
}

/// Loads GeoJSON from memory; `path` names the source in errors and metadata.
pub fn load_bytes(path: &Path, bytes: &[u8], options: LoadOptions) -> GeoResult<Layer> {
    let (builder, crs_origin, _) = parse(path, bytes, options, None)?;
    Ok(builder.finish("GeoJSON", crs_origin.describe(), None))
}

/// Reads every feature of `bytes` (and of `stream`, when given: then
/// `bytes` ends with an empty `features` array) into a builder; the flag
/// says whether the stream ended as expected.
fn parse(
    path: &Path,
    bytes: &[u8],
    options: LoadOptions,
    stream: Option<Receiver<stream::Batch>>,
) -> GeoResult<(LayerBuilder, CrsOrigin, bool)> {
    let config_crs = options.crs.clone();
    let crs = match &config_crs {
        Some(c) => Crs::new(c.clone(), CrsOrigin::Config),
        None => Crs::wgs84(CrsOrigin::Default),
    };
    let reprojector = crs.to_wgs84(path)?;
    let mut builder = LayerBuilder::new(path, options, reprojector);
    builder.validate_options()?;
    let mut state = State {
        builder: &mut builder,
        fatal: None,
        crs_origin: crs.origin(),
        crs_locked: config_crs.is_some(),
        stream,
        streamed: false,
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let outcome = TopSeed { state: &mut state }.deserialize(&mut de).and_then(|r| de.end().map(|_| r));
    let (crs_origin, streamed) = (state.crs_origin, state.streamed);
    if let Some(fatal) = state.fatal.take() {
        return Err(fatal);
    }
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(message)) => return Err(GeoError::NotGeoJson { path: path.to_path_buf(), message }),
        Err(e) => {
            return Err(GeoError::Json {
                path: path.to_path_buf(),
                line: e.line(),
                column: e.column(),
                message: strip_position(&e.to_string()),
            })
        }
    }
    Ok((builder, crs_origin, streamed))
}

/// serde_json appends " at line L column C"; we report those separately.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

struct State<'b> {
    builder: &'b mut LayerBuilder,
    /// A load-stopping error from the builder, carried past serde.
    fatal: Option<GeoError>,
    crs_origin: CrsOrigin,
    /// The CRS is fixed (config override, or features already read).
    crs_locked: bool,
    /// The features of a file read in blocks (see [`stream`]).
    stream: Option<Receiver<stream::Batch>>,
    /// Whether that stream ended as expected.
    streamed: bool,
}

impl State<'_> {
    fn fail<E: de::Error>(&mut self, e: GeoError) -> E {
        let msg = e.to_string();
        self.fatal = Some(e);
        E::custom(msg)
    }
}

pub(crate) type GeomResult = Result<Geometry<f64>, (SkipReason, String)>;

/// The top-level object: FeatureCollection, Feature or geometry.
/// Returns `Ok(Err(message))` when the JSON is valid but not GeoJSON.
struct TopSeed<'s, 'b> {
    state: &'s mut State<'b>,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_> {
    type Value = Result<(), String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_, '_> {
    type Value = Result<(), String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let state = self.state;
        let mut kind: Option<String> = None;
        let mut saw_features = false;
        let mut geometry: Option<GeomResult> = None;
        let mut coords: Option<Coords> = None;
        let mut members: Option<Vec<GeomResult>> = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key.as_ref() {
                "type" => kind = Some(map.next_value::<String>()?),
                "features" => {
                    state.crs_locked = true;
                    map.next_value_seed(FeaturesSeed { state: &mut *state })?;
                    saw_features = true;
                }
                "crs" => {
                    let v: serde_json::Value = map.next_value()?;
                    if !state.crs_locked {
                        if let Some(name) = v.pointer("/properties/name").and_then(|n| n.as_str()) {
                            let crs = Crs::new(name, CrsOrigin::GeoJsonMember);
                            match crs.to_wgs84(state.builder.path()) {
                                Ok(r) => {
                                    state.builder.set_reprojector(r);
                                    state.crs_origin = CrsOrigin::GeoJsonMember;
                                }
                                Err(e) => return Err(state.fail(e)),
                            }
                        }
                    }
                }
                "geometry" => {
                    state.crs_locked = true;
                    geometry = Some(map.next_value_seed(GeometrySeed)?);
                }
                "properties" => map.next_value_seed(PropertiesSeed { state: &mut *state })?,
                "id" => {
                    if let Some(id) = map.next_value_seed(IdSeed)? {
                        set_feature_id(state, id)?;
                    }
                }
                "coordinates" => coords = Some(map.next_value_seed(CoordsSeed)?),
                "geometries" => members = Some(map.next_value_seed(GeometryListSeed)?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let end = |state: &mut State<'_>, g: GeomResult| -> Result<(), A::Error> {
            state.builder.end_feature(g).map_err(|e| state.fail(e))
        };
        match kind.as_deref() {
            Some("FeatureCollection") => {
                if !saw_features {
                    return Ok(Err("FeatureCollection without a \"features\" array".into()));
                }
            }
            Some("Feature") => {
                let g = geometry.unwrap_or_else(|| Err((SkipReason::NullGeometry, "no geometry member".into())));
                end(state, g)?;
            }
            Some(t) if GEOMETRY_TYPES.contains(&t) => {
                end(state, build_geometry(t, coords, members))?;
            }
            Some(t) => return Ok(Err(format!("unknown GeoJSON type {t:?}"))),
            None => return Ok(Err("the top-level object has no \"type\" member".into())),
        }
        Ok(Ok(()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Err("expected a JSON object (FeatureCollection, Feature or geometry), found an array".into()))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Err("expected a JSON object, found a string".into()))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Err("expected a JSON object, found a number".into()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.visit_f64(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.visit_f64(v as f64)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Err("expected a JSON object, found a boolean".into()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Err("expected a JSON object, found null".into()))
    }
}

fn set_feature_id<E: de::Error>(state: &mut State<'_>, id: SourceId<'_>) -> Result<(), E> {
    // A configured id field wins over the GeoJSON `id` member.
    if state.builder.has_id_field() {
        return Ok(());
    }
    state.builder.set_id(id).map_err(|e| state.fail(e))
}

/// A map key, borrowed from the input when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// The `features` array: each element goes straight into the builder.
struct FeaturesSeed<'s, 'b> {
    state: &'s mut State<'b>,
}

impl<'de> DeserializeSeed<'de> for FeaturesSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FeaturesSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of features")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(FeatureSeed { state: &mut *self.state })?.is_some() {}
        let Some(rx) = self.state.stream.take() else { return Ok(()) };
        for batch in rx {
            for &(from, to) in &batch.ranges {
                let mut de = serde_json::Deserializer::from_slice(&batch.bytes[from..to]);
                FeatureSeed { state: &mut *self.state }
                    .deserialize(&mut de)
                    .and_then(|()| de.end())
                    .map_err(|e| de::Error::custom(format!("in a streamed feature: {e}")))?;
            }
            match batch.end {
                stream::End::More => {}
                stream::End::Done => self.state.streamed = true,
                stream::End::GiveUp => return Err(de::Error::custom("the file does not stream")),
            }
        }
        Ok(())
    }
}

struct FeatureSeed<'s, 'b> {
    state: &'s mut State<'b>,
}

impl<'de> DeserializeSeed<'de> for FeatureSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FeatureSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Feature object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let state = self.state;
        let mut geometry: Option<GeomResult> = None;
        let mut wrong_type: Option<String> = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key.as_ref() {
                "geometry" => geometry = Some(map.next_value_seed(GeometrySeed)?),
                "properties" => map.next_value_seed(PropertiesSeed { state: &mut *state })?,
                "id" => {
                    if let Some(id) = map.next_value_seed(IdSeed)? {
                        set_feature_id(state, id)?;
                    }
                }
                "type" => {
                    let t: Cow<'de, str> = map.next_value_seed(KeySeed)?;
                    if t != "Feature" {
                        wrong_type = Some(t.into_owned());
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let g = match (wrong_type, geometry) {
            (Some(t), _) => {
                Err((SkipReason::InvalidGeometry, format!("member of \"features\" has type {t:?}, not \"Feature\"")))
            }
            (None, Some(g)) => g,
            (None, None) => Err((SkipReason::NullGeometry, "no geometry member".into())),
        };
        state.builder.end_feature(g).map_err(|e| state.fail(e))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.state
            .builder
            .end_feature(Err((SkipReason::NullGeometry, "null feature".into())))
            .map_err(|e| self.state.fail(e))
    }
}

/// Feature ids: strings or numbers; anything else is ignored.
struct IdSeed;

impl<'de> DeserializeSeed<'de> for IdSeed {
    type Value = Option<SourceId<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for IdSeed {
    type Value = Option<SourceId<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or number id")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(SourceId::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(match i64::try_from(v) {
            Ok(i) => SourceId::Int(i),
            Err(_) => SourceId::Str(v.to_string().into()),
        }))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(if v.fract() == 0.0 && v.abs() < 9.0e15 {
            SourceId::Int(v as i64)
        } else {
            SourceId::Str(v.to_string().into())
        }))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(SourceId::Str(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(SourceId::Str(Cow::Owned(v.to_string()))))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// The `properties` object, interned into the builder as it is read.
struct PropertiesSeed<'s, 'b> {
    state: &'s mut State<'b>,
}

impl<'de> DeserializeSeed<'de> for PropertiesSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PropertiesSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a properties object or null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let v = map.next_value_seed(ValueSeed)?;
            let value = match &v {
                Parsed::Null => Value::Null,
                Parsed::Bool(b) => Value::Bool(*b),
                Parsed::Int(i) => Value::Int(*i),
                Parsed::Float(f) => Value::Float(*f),
                Parsed::Str(s) => Value::String(s),
                Parsed::Json(s) => Value::Json(s),
            };
            if let Err(e) = self.state.builder.property(&key, value, None) {
                return Err(self.state.fail(e));
            }
        }
        Ok(())
    }
}

enum Parsed<'de> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'de, str>),
    Json(String),
}

struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Parsed<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Parsed<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Parsed::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Parsed::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Parsed::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => Parsed::Int(i),
            Err(_) => Parsed::Float(v as f64),
        })
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Parsed::Float(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Parsed::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Parsed::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Parsed::Str(Cow::Owned(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let v: serde_json::Value = serde::Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Parsed::Json(v.to_string()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let v: serde_json::Value = serde::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Parsed::Json(v.to_string()))
    }
}
