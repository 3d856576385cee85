//! GeoJSON geometries: coordinate arrays read before the `type` gives
//! them meaning (members may come in any order), then built into `geo`
//! geometries; a malformed geometry is a skipped feature with its reason,
//! never a failed load.

use super::{GeomResult, KeySeed};
use crate::layer::SkipReason;
use geo::{Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

pub(super) const GEOMETRY_TYPES: &[&str] =
    &["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"];

/// Nested coordinate arrays, before the geometry type gives them meaning.
#[derive(Debug, Clone)]
pub(super) enum Coords {
    Position(Coord<f64>),
    List(Vec<Coords>),
    /// Not an array of numbers or arrays (e.g. a position with one number).
    Invalid(String),
}

pub(super) struct CoordsSeed;

impl<'de> DeserializeSeed<'de> for CoordsSeed {
    type Value = Coords;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Coords, D::Error> {
        d.deserialize_any(CoordsVisitor)
    }
}

struct CoordsVisitor;

/// One element of a coordinate array: a number or a nested array.
enum Elem {
    Num(f64),
    Node(Coords),
}

struct ElemSeed;

impl<'de> DeserializeSeed<'de> for ElemSeed {
    type Value = Elem;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Elem, D::Error> {
        d.deserialize_any(ElemVisitor)
    }
}

struct ElemVisitor;

impl<'de> Visitor<'de> for ElemVisitor {
    type Value = Elem;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number or an array")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Elem, E> {
        Ok(Elem::Num(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Elem, E> {
        Ok(Elem::Num(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Elem, E> {
        Ok(Elem::Num(v as f64))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Elem, A::Error> {
        CoordsVisitor.visit_seq(seq).map(Elem::Node)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Elem, E> {
        Ok(Elem::Node(Coords::Invalid("null in coordinates".into())))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Elem, E> {
        Ok(Elem::Node(Coords::Invalid("boolean in coordinates".into())))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Elem, E> {
        Ok(Elem::Node(Coords::Invalid("string in coordinates".into())))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Elem, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Elem::Node(Coords::Invalid("object in coordinates".into())))
    }
}

impl<'de> Visitor<'de> for CoordsVisitor {
    type Value = Coords;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a coordinate array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Coords, A::Error> {
        match seq.next_element_seed(ElemSeed)? {
            None => Ok(Coords::List(Vec::new())),
            Some(Elem::Num(x)) => {
                let y = match seq.next_element_seed(ElemSeed)? {
                    Some(Elem::Num(y)) => y,
                    Some(Elem::Node(_)) => {
                        while seq.next_element::<IgnoredAny>()?.is_some() {}
                        return Ok(Coords::Invalid("position mixes numbers and arrays".into()));
                    }
                    None => return Ok(Coords::Invalid("position with a single number".into())),
                };
                // Elevation and further values are ignored.
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Coords::Position(Coord { x, y }))
            }
            Some(Elem::Node(first)) => {
                let mut list = Vec::with_capacity(8);
                list.push(first);
                while let Some(e) = seq.next_element_seed(ElemSeed)? {
                    match e {
                        Elem::Node(c) => list.push(c),
                        Elem::Num(_) => list.push(Coords::Invalid("array mixes numbers and arrays".into())),
                    }
                }
                Ok(Coords::List(list))
            }
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Coords, E> {
        Ok(Coords::Invalid("coordinates is null".into()))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Coords, E> {
        Ok(Coords::Invalid("coordinates is a number".into()))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Coords, E> {
        Ok(Coords::Invalid("coordinates is a number".into()))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Coords, E> {
        Ok(Coords::Invalid("coordinates is a number".into()))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Coords, E> {
        Ok(Coords::Invalid("coordinates is a string".into()))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Coords, E> {
        Ok(Coords::Invalid("coordinates is a boolean".into()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Coords, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Coords::Invalid("coordinates is an object".into()))
    }
}

/// A geometry object, or `null`.
pub(super) struct GeometrySeed;

impl<'de> DeserializeSeed<'de> for GeometrySeed {
    type Value = GeomResult;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<GeomResult, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for GeometrySeed {
    type Value = GeomResult;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a geometry object or null")
    }
    fn visit_unit<E: de::Error>(self) -> Result<GeomResult, E> {
        Ok(Err((SkipReason::NullGeometry, "geometry is null".into())))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<GeomResult, A::Error> {
        let mut kind: Option<String> = None;
        let mut coords = None;
        let mut members = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key.as_ref() {
                "type" => kind = Some(map.next_value::<String>()?),
                "coordinates" => coords = Some(map.next_value_seed(CoordsSeed)?),
                "geometries" => members = Some(map.next_value_seed(GeometryListSeed)?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(match kind {
            Some(k) => build_geometry(&k, coords, members),
            None => Err((SkipReason::InvalidGeometry, "geometry without \"type\"".into())),
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<GeomResult, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Err((SkipReason::InvalidGeometry, "geometry is an array".into())))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<GeomResult, E> {
        Ok(Err((SkipReason::InvalidGeometry, "geometry is a string".into())))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<GeomResult, E> {
        Ok(Err((SkipReason::InvalidGeometry, "geometry is a number".into())))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<GeomResult, E> {
        self.visit_f64(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<GeomResult, E> {
        self.visit_f64(v as f64)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<GeomResult, E> {
        Ok(Err((SkipReason::InvalidGeometry, "geometry is a boolean".into())))
    }
}

pub(super) struct GeometryListSeed;

impl<'de> DeserializeSeed<'de> for GeometryListSeed {
    type Value = Vec<GeomResult>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for GeometryListSeed {
    type Value = Vec<GeomResult>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of geometries")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(g) = seq.next_element_seed(GeometrySeed)? {
            out.push(g);
        }
        Ok(out)
    }
}

fn invalid<T>(msg: impl Into<String>) -> Result<T, (SkipReason, String)> {
    Err((SkipReason::InvalidGeometry, msg.into()))
}

fn position(c: &Coords) -> Result<Coord<f64>, (SkipReason, String)> {
    match c {
        Coords::Position(p) => Ok(*p),
        Coords::List(_) => invalid("expected a position, found nested arrays"),
        Coords::Invalid(m) => invalid(m.clone()),
    }
}

fn list(c: &Coords) -> Result<&[Coords], (SkipReason, String)> {
    match c {
        Coords::List(l) => Ok(l),
        Coords::Position(_) => invalid("expected an array of positions, found a position"),
        Coords::Invalid(m) => invalid(m.clone()),
    }
}

fn line(c: &Coords) -> Result<LineString<f64>, (SkipReason, String)> {
    let pts = list(c)?.iter().map(position).collect::<Result<Vec<_>, _>>()?;
    if pts.len() == 1 {
        return invalid("a LineString needs at least 2 positions");
    }
    Ok(LineString::new(pts))
}

fn ring(c: &Coords) -> Result<LineString<f64>, (SkipReason, String)> {
    let mut pts = list(c)?.iter().map(position).collect::<Result<Vec<_>, _>>()?;
    if pts.len() >= 2 && pts.first() != pts.last() {
        // RFC 7946 rings are closed; close an open one as GDAL does.
        pts.push(pts[0]);
    }
    if pts.len() < 4 {
        return invalid(format!("a polygon ring needs at least 4 positions, found {}", pts.len()));
    }
    Ok(LineString::new(pts))
}

fn polygon(c: &Coords) -> Result<Option<Polygon<f64>>, (SkipReason, String)> {
    let rings = list(c)?;
    let Some((outer, holes)) = rings.split_first() else {
        return Ok(None);
    };
    let holes = holes.iter().map(ring).collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Polygon::new(ring(outer)?, holes)))
}

fn empty<T>() -> Result<T, (SkipReason, String)> {
    Err((SkipReason::EmptyGeometry, "no coordinates".into()))
}

/// Gives coordinates their meaning according to the geometry type.
pub(super) fn build_geometry(kind: &str, coords: Option<Coords>, members: Option<Vec<GeomResult>>) -> GeomResult {
    if kind == "GeometryCollection" {
        let Some(members) = members else {
            return invalid("GeometryCollection without \"geometries\"");
        };
        let mut out = Vec::with_capacity(members.len());
        for m in members {
            match m {
                Ok(g) => out.push(g),
                Err((SkipReason::EmptyGeometry, _)) => {}
                Err((_, msg)) => return invalid(format!("GeometryCollection member: {msg}")),
            }
        }
        if out.is_empty() {
            return empty();
        }
        return Ok(Geometry::GeometryCollection(GeometryCollection::new_from(out)));
    }
    let Some(c) = coords else {
        return invalid(format!("{kind} without \"coordinates\""));
    };
    if matches!(&c, Coords::List(l) if l.is_empty()) {
        return empty();
    }
    match kind {
        "Point" => Ok(Geometry::Point(Point(position(&c)?))),
        "MultiPoint" => {
            let pts = list(&c)?.iter().map(|p| position(p).map(Point)).collect::<Result<Vec<_>, _>>()?;
            Ok(Geometry::MultiPoint(MultiPoint::new(pts)))
        }
        "LineString" => Ok(Geometry::LineString(line(&c)?)),
        "MultiLineString" => {
            let lines = list(&c)?
                .iter()
                .filter(|l| !matches!(l, Coords::List(v) if v.is_empty()))
                .map(line)
                .collect::<Result<Vec<_>, _>>()?;
            if lines.is_empty() {
                return empty();
            }
            Ok(Geometry::MultiLineString(MultiLineString::new(lines)))
        }
        "Polygon" => match polygon(&c)? {
            Some(p) => Ok(Geometry::Polygon(p)),
            None => empty(),
        },
        "MultiPolygon" => {
            let mut polys = Vec::new();
            for p in list(&c)? {
                if let Some(p) = polygon(p)? {
                    polys.push(p);
                }
            }
            if polys.is_empty() {
                return empty();
            }
            Ok(Geometry::MultiPolygon(MultiPolygon::new(polys)))
        }
        other => invalid(format!("unknown geometry type {other:?}")),
    }
}
