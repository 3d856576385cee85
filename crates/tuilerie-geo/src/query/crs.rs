//! Coordinate reference systems of requests and answers (OGC API Features
//! Part 2): layers are kept in CRS84; `crs` reprojects the items of an
//! answer, `bbox-crs` and `filter-crs` bring a request's geometries to
//! CRS84. Coordinates follow each CRS's own axis order (latitude first for
//! EPSG:4326, northing first for EPSG:3035).
//!
//! PROJ objects are neither `Send` nor `Sync`: each thread keeps the
//! transformations it has made ([`Transform::get`]); making one reads
//! PROJ's database once.

use crate::error::ParamError;
use geo::{Coord, CoordsIter, Geometry, MapCoordsInPlace};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// The CRS of layers and of answers without `crs`.
pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
const EPSG_URI: &str = "http://www.opengis.net/def/crs/EPSG/0/";

/// A CRS a request may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestCrs {
    Crs84,
    Epsg(u32),
}

/// EPSG codes offered besides CRS84: WGS 84 (4326), Web Mercator (3857),
/// Lambert-93 (2154), RGF93 geographic (4171), the French conic zones CC42
/// to CC50 (3942-3950), ETRS89-LAEA Europe (3035), ETRS89 / UTM 28N-38N
/// (25828-25838), and every WGS 84 / UTM zone north (32601-32660) and
/// south (32701-32760).
pub fn offered() -> impl Iterator<Item = RequestCrs> {
    [RequestCrs::Crs84]
        .into_iter()
        .chain([4326, 3857, 2154, 4171, 3035].into_iter().map(RequestCrs::Epsg))
        .chain((3942..=3950).map(RequestCrs::Epsg))
        .chain((25828..=25838).map(RequestCrs::Epsg))
        .chain((32601..=32660).map(RequestCrs::Epsg))
        .chain((32701..=32760).map(RequestCrs::Epsg))
}

impl RequestCrs {
    /// Reads a CRS as clients write it: the OGC URI, `EPSG:2154`,
    /// `urn:ogc:def:crs:EPSG::2154`, a safe CURIE `[EPSG:2154]`, or CRS84's
    /// names; it must be one of `offered()` or `storage`.
    pub fn parse(param: &str, v: &str, storage: Option<RequestCrs>) -> Result<RequestCrs, ParamError> {
        let t = v.trim();
        let t = t.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(t);
        let up = t.to_ascii_uppercase();
        let crs = if ["CRS84", "OGC:CRS84", "URN:OGC:DEF:CRS:OGC:1.3:CRS84", "URN:OGC:DEF:CRS:OGC::CRS84"]
            .contains(&up.as_str())
            || up == CRS84.to_ascii_uppercase()
        {
            Some(RequestCrs::Crs84)
        } else {
            let code = up
                .strip_prefix(&EPSG_URI.to_ascii_uppercase())
                .or_else(|| up.strip_prefix("EPSG:"))
                .or_else(|| up.strip_prefix("URN:OGC:DEF:CRS:EPSG::"))
                .or_else(|| up.strip_prefix("URN:OGC:DEF:CRS:EPSG:").and_then(|s| s.split(':').nth(1)));
            code.and_then(|c| c.parse::<u32>().ok()).map(RequestCrs::Epsg)
        };
        let Some(crs) = crs else {
            return Err(ParamError::new(
                param,
                format!(
                    "{param} {v:?} is not a CRS URI such as {EPSG_URI}2154 or {CRS84} (see the collection's crs list)"
                ),
            ));
        };
        if Some(crs) == storage || offered().any(|c| c == crs) {
            Ok(crs)
        } else {
            Err(ParamError::new(
                param,
                format!("{param} {v:?} is not offered: the collection's crs list names the CRSs served"),
            ))
        }
    }

    pub fn uri(self) -> String {
        match self {
            RequestCrs::Crs84 => CRS84.to_string(),
            RequestCrs::Epsg(c) => format!("{EPSG_URI}{c}"),
        }
    }

    /// The CRS of a layer's source as described at load ("RGF93 v1 /
    /// Lambert-93 (EPSG:2154)"), when it has an EPSG code.
    pub fn of_source(description: &str) -> Option<RequestCrs> {
        if description.starts_with("WGS 84 (EPSG:4326)") || description.contains("CRS84") {
            return Some(RequestCrs::Crs84);
        }
        let code = description.rsplit_once("(EPSG:")?.1.strip_suffix(')')?;
        code.parse().ok().map(RequestCrs::Epsg)
    }

    pub fn is_crs84(self) -> bool {
        self == RequestCrs::Crs84
    }
}

/// A transformation between CRS84 and another CRS, in one direction.
pub struct Transform {
    proj: Option<proj::Proj>,
    /// The target's first axis is north (latitude or northing): swap after
    /// (or, towards CRS84, before) PROJ, which works in east-north order.
    swap: bool,
    to_crs84: bool,
    /// Output positions rounded to this many units per metre (1e4: 0.1
    /// mm) in a projected CRS; None in degrees (kept as computed).
    round: Option<f64>,
}

thread_local! {
    static TRANSFORMS: RefCell<HashMap<(RequestCrs, bool), Rc<Transform>>> = RefCell::new(HashMap::new());
}

impl Transform {
    /// CRS84 to `crs` (`to_crs84` false) or back, made once per thread.
    pub fn get(crs: RequestCrs, to_crs84: bool) -> Result<Rc<Transform>, String> {
        if let Some(t) = TRANSFORMS.with(|m| m.borrow().get(&(crs, to_crs84)).cloned()) {
            return Ok(t);
        }
        let t = Rc::new(Transform::make(crs, to_crs84)?);
        TRANSFORMS.with(|m| m.borrow_mut().insert((crs, to_crs84), t.clone()));
        Ok(t)
    }

    fn make(crs: RequestCrs, to_crs84: bool) -> Result<Transform, String> {
        let RequestCrs::Epsg(code) = crs else {
            return Ok(Transform { proj: None, swap: false, to_crs84, round: None });
        };
        let name = format!("EPSG:{code}");
        let def = proj::Proj::new(&name).map_err(|e| format!("{name}: {e}"))?;
        let json = def
            .to_projjson(Some(false), None, None)
            .ok()
            .and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok())
            .unwrap_or_default();
        let axis = &json["coordinate_system"]["axis"][0];
        let swap = axis["direction"].as_str().is_some_and(|d| d == "north" || d == "south");
        // Metres (unit "metre", or an object naming it): 0.1 mm is plenty.
        let metric = axis["unit"] == "metre" || axis["unit"]["name"] == "metre";
        let round = (metric && !to_crs84).then_some(1e4);
        let proj = if code == 4326 {
            None
        } else {
            let (from, to) = if to_crs84 { (name.as_str(), "OGC:CRS84") } else { ("OGC:CRS84", name.as_str()) };
            Some(proj::Proj::new_known_crs(from, to, None).map_err(|e| format!("{name}: {e}"))?)
        };
        Ok(Transform { proj, swap, to_crs84, round })
    }

    /// Transforms `g` in place; a position PROJ cannot transform is an error.
    pub fn apply(&self, g: &mut Geometry<f64>) -> Result<(), String> {
        // A box is no longer a box in another CRS.
        match g {
            Geometry::Rect(r) => *g = Geometry::Polygon(r.to_polygon()),
            Geometry::Triangle(t) => *g = Geometry::Polygon(t.to_polygon()),
            _ => {}
        }
        if self.to_crs84 && self.swap {
            g.map_coords_in_place(|c| Coord { x: c.y, y: c.x });
        }
        if let Some(p) = &self.proj {
            let mut coords: Vec<Coord<f64>> = g.coords_iter().collect();
            p.convert_array(&mut coords).map_err(|e| e.to_string())?;
            if let Some(c) = coords.iter().find(|c| !c.x.is_finite() || !c.y.is_finite()) {
                return Err(format!("a position has no image in this CRS ({c:?})"));
            }
            if let Some(k) = self.round {
                for c in &mut coords {
                    *c = Coord { x: (c.x * k).round() / k, y: (c.y * k).round() / k };
                }
            }
            // The same order as coords_iter.
            let (next, coords) = (std::cell::Cell::new(0), &coords);
            g.map_coords_in_place(|c| {
                let k = next.get();
                next.set(k + 1);
                coords.get(k).copied().unwrap_or(c)
            });
        }
        if !self.to_crs84 && self.swap {
            g.map_coords_in_place(|c| Coord { x: c.y, y: c.x });
        }
        Ok(())
    }
}

/// Reprojects the geometry of a GeoJSON Feature (as the service wrote it,
/// in CRS84) into the transform's CRS.
pub fn reproject_feature(feature: &mut serde_json::Value, t: &Transform) -> Result<(), String> {
    let Some(slot) = feature.get_mut("geometry") else { return Ok(()) };
    if slot.is_null() {
        return Ok(());
    }
    let g: geojson::Geometry = serde_json::from_value(slot.take()).map_err(|e| e.to_string())?;
    let mut g: Geometry<f64> = g.try_into().map_err(|e: geojson::Error| e.to_string())?;
    t.apply(&mut g)?;
    *slot =
        serde_json::to_value(geojson::Geometry::new(geojson::GeometryValue::from(&g))).map_err(|e| e.to_string())?;
    Ok(())
}

/// `[minx, miny, maxx, maxy]` in `crs` as a CRS84 polygon: each edge
/// densified (21 points) so that it follows the box's curved image.
pub fn bbox_to_crs84(b: [f64; 4], crs: RequestCrs) -> Result<Geometry<f64>, String> {
    let steps = 20;
    let mut ring = Vec::with_capacity(4 * steps + 1);
    let lerp = |a: f64, b: f64, i: usize| a + (b - a) * i as f64 / steps as f64;
    for i in 0..steps {
        ring.push(Coord { x: lerp(b[0], b[2], i), y: b[1] });
    }
    for i in 0..steps {
        ring.push(Coord { x: b[2], y: lerp(b[1], b[3], i) });
    }
    for i in 0..steps {
        ring.push(Coord { x: lerp(b[2], b[0], i), y: b[3] });
    }
    for i in 0..steps {
        ring.push(Coord { x: b[0], y: lerp(b[3], b[1], i) });
    }
    ring.push(ring[0]);
    let mut g = Geometry::Polygon(geo::Polygon::new(geo::LineString(ring), vec![]));
    Transform::get(crs, true)?.apply(&mut g)?;
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crs_names_parse_and_unknown_ones_name_the_parameter() {
        for v in
            ["http://www.opengis.net/def/crs/EPSG/0/2154", "EPSG:2154", "urn:ogc:def:crs:EPSG::2154", "[EPSG:2154]"]
        {
            assert_eq!(RequestCrs::parse("crs", v, None).unwrap(), RequestCrs::Epsg(2154), "{v}");
        }
        assert_eq!(RequestCrs::parse("crs", CRS84, None).unwrap(), RequestCrs::Crs84);
        assert_eq!(RequestCrs::parse("bbox-crs", "garbage", None).unwrap_err().parameter, "bbox-crs");
        assert!(RequestCrs::parse("crs", "EPSG:27572", None).unwrap_err().message.contains("not offered"));
        assert_eq!(
            RequestCrs::parse("crs", "EPSG:27572", Some(RequestCrs::Epsg(27572))).unwrap(),
            RequestCrs::Epsg(27572)
        );
        assert_eq!(RequestCrs::of_source("RGF93 v1 / Lambert-93 (EPSG:2154)"), Some(RequestCrs::Epsg(2154)));
        assert_eq!(RequestCrs::of_source("WGS 84 (EPSG:4326)"), Some(RequestCrs::Crs84));
    }

    #[test]
    fn axis_order_follows_the_crs() {
        let p = || Geometry::Point(geo::Point::new(3.0, 46.5));
        let mut g = p();
        Transform::get(RequestCrs::Epsg(4326), false).unwrap().apply(&mut g).unwrap();
        assert_eq!(g, Geometry::Point(geo::Point::new(46.5, 3.0)), "EPSG:4326 is latitude first");
        let mut g = p();
        Transform::get(RequestCrs::Epsg(2154), false).unwrap().apply(&mut g).unwrap();
        let Geometry::Point(q) = g else { panic!() };
        assert!((q.x() - 700000.0).abs() < 1e-3 && (q.y() - 6600000.0).abs() < 1e-3, "{q:?}");
        let mut back = Geometry::Point(q);
        Transform::get(RequestCrs::Epsg(2154), true).unwrap().apply(&mut back).unwrap();
        let Geometry::Point(b) = back else { panic!() };
        assert!((b.x() - 3.0).abs() < 1e-9 && (b.y() - 46.5).abs() < 1e-9, "{b:?}");
        // ETRS89-LAEA: northing first, false origin (4321000, 3210000) at 10°E 52°N.
        let mut g = Geometry::Point(geo::Point::new(10.0, 52.0));
        Transform::get(RequestCrs::Epsg(3035), false).unwrap().apply(&mut g).unwrap();
        let Geometry::Point(q) = g else { panic!() };
        assert!((q.x() - 3210000.0).abs() < 1e-3 && (q.y() - 4321000.0).abs() < 1e-3, "{q:?}");
    }
}
