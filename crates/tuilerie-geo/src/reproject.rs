//! Coordinate reference systems and reprojection to WGS84 with PROJ.
//!
//! Reprojection happens once, at load time, on the loading thread: a
//! `proj::Proj` is neither `Send` nor `Sync`, so each load makes its own.

use crate::error::{GeoError, GeoResult};
use geo::{Coord, Geometry, MapCoordsInPlace};
use std::path::Path;

/// Where the source CRS of a layer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrsOrigin {
    /// The layer's configuration (`crs = "EPSG:2154"`).
    Config,
    /// The shapefile's `.prj`.
    PrjFile,
    /// A GeoJSON (2008) `crs` member.
    GeoJsonMember,
    /// No information: GeoJSON is WGS84 by RFC 7946, a shapefile without
    /// `.prj` is assumed WGS84 with a warning.
    Default,
}

impl CrsOrigin {
    pub fn describe(self) -> &'static str {
        match self {
            CrsOrigin::Config => "configuration",
            CrsOrigin::PrjFile => ".prj file",
            CrsOrigin::GeoJsonMember => "GeoJSON crs member",
            CrsOrigin::Default => "default (WGS84)",
        }
    }
}

/// A source CRS definition: `AUTHORITY:CODE`, a PROJ string, OGC or ESRI WKT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crs {
    definition: String,
    origin: CrsOrigin,
}

const WGS84_ALIASES: &[&str] = &[
    "EPSG:4326",
    "OGC:CRS84",
    "CRS84",
    "WGS84",
    "URN:OGC:DEF:CRS:OGC:1.3:CRS84",
    "URN:OGC:DEF:CRS:OGC::CRS84",
    "URN:OGC:DEF:CRS:EPSG::4326",
    "HTTP://WWW.OPENGIS.NET/DEF/CRS/OGC/1.3/CRS84",
    "HTTP://WWW.OPENGIS.NET/DEF/CRS/EPSG/0/4326",
];

impl Crs {
    pub fn new(definition: impl Into<String>, origin: CrsOrigin) -> Self {
        Crs { definition: definition.into().trim().trim_start_matches('\u{feff}').to_string(), origin }
    }

    pub fn wgs84(origin: CrsOrigin) -> Self {
        Crs::new("OGC:CRS84", origin)
    }

    pub fn definition(&self) -> &str {
        &self.definition
    }

    pub fn origin(&self) -> CrsOrigin {
        self.origin
    }

    /// Whether the definition is a well-known name of WGS84 longitude/latitude.
    pub fn is_wgs84(&self) -> bool {
        let up = self.definition.to_ascii_uppercase();
        WGS84_ALIASES.contains(&up.as_str())
    }

    /// Creates the transformation to WGS84 lon/lat; `path` names the file in errors.
    pub fn to_wgs84(&self, path: &Path) -> GeoResult<Reprojector> {
        if self.is_wgs84() {
            return Ok(Reprojector { proj: None, name: "WGS 84 (EPSG:4326)".into() });
        }
        let err = |message: String| GeoError::UnknownCrs {
            path: path.to_path_buf(),
            definition: self.definition.clone(),
            origin: self.origin.describe().into(),
            message,
        };
        if self.definition.is_empty() {
            return Err(err("empty definition".into()));
        }
        let crs = proj::Proj::new(&self.definition).map_err(|e| err(e.to_string()))?;
        let name = describe(&crs).unwrap_or_else(|| self.definition.clone());
        let proj = proj::Proj::new_known_crs(&self.definition, "OGC:CRS84", None).map_err(|e| err(e.to_string()))?;
        Ok(Reprojector { proj: Some(proj), name })
    }
}

/// Name (and `AUTHORITY:CODE` when PROJ knows it) of a CRS object.
fn describe(crs: &proj::Proj) -> Option<String> {
    let name = crs.proj_info().description?;
    let code_of = |p: &proj::Proj| {
        p.to_projjson(Some(false), None, None)
            .ok()
            .and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok())
            .and_then(|v| {
                let id = v.get("id")?;
                Some(format!("{}:{}", id.get("authority")?.as_str()?, id.get("code")?))
            })
    };
    // An ESRI .prj names its CRS without a code: PROJ's database knows the
    // name ("RGF93 v1 / Lambert-93" is EPSG:2154).
    let code = code_of(crs).or_else(|| proj::Proj::new(&name).ok().as_ref().and_then(code_of));
    Some(match code {
        Some(code) => format!("{name} ({code})"),
        None => name,
    })
}

/// Transforms geometries from a source CRS to WGS84 lon/lat.
#[derive(Debug)]
pub struct Reprojector {
    proj: Option<proj::Proj>,
    name: String,
}

impl Reprojector {
    /// The identity: data already in WGS84.
    pub fn identity() -> Self {
        Reprojector { proj: None, name: "WGS 84 (EPSG:4326)".into() }
    }

    /// Human-readable name of the source CRS.
    pub fn source_name(&self) -> &str {
        &self.name
    }

    pub fn is_identity(&self) -> bool {
        self.proj.is_none()
    }

    /// Reprojects `g` in place. Coordinates PROJ cannot transform become NaN
    /// (rejected afterwards by validation), other errors are returned.
    pub fn transform(&self, g: &mut Geometry<f64>) -> Result<(), String> {
        let Some(proj) = &self.proj else {
            return Ok(());
        };
        let failure: std::cell::RefCell<Option<String>> = std::cell::RefCell::new(None);
        let failure_ref = &failure;
        g.map_coords_in_place(|c| match proj.convert(c) {
            Ok(out) => out,
            Err(e) => {
                failure_ref.borrow_mut().get_or_insert_with(|| e.to_string());
                Coord { x: f64::NAN, y: f64::NAN }
            }
        });
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        Ok(())
    }

    /// Reprojects one coordinate.
    pub fn transform_coord(&self, c: Coord<f64>) -> Result<Coord<f64>, String> {
        match &self.proj {
            None => Ok(c),
            Some(p) => p.convert(c).map_err(|e| e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambert93_origin_maps_to_its_reference_longitude() {
        let r = Crs::new("EPSG:2154", CrsOrigin::Config).to_wgs84(Path::new("x.shp")).unwrap();
        // False easting/northing of Lambert-93 is (700000, 6600000) at 3°E, 46.5°N.
        let c = r.transform_coord(Coord { x: 700000.0, y: 6600000.0 }).unwrap();
        assert!((c.x - 3.0).abs() < 1e-9, "{c:?}");
        assert!((c.y - 46.5).abs() < 1e-9, "{c:?}");
        assert!(r.source_name().contains("Lambert-93"), "{}", r.source_name());
    }

    #[test]
    fn unparsable_crs_is_an_error_naming_file_and_definition() {
        let e = Crs::new("PROJCS[\"nonsense\"", CrsOrigin::PrjFile)
            .to_wgs84(Path::new("data/x.shp"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("data/x.shp"), "{e}");
        assert!(e.contains("PROJCS[\\\"nonsense\\\""), "{e}");
        assert!(e.contains(".prj file"), "{e}");
    }

    #[test]
    fn wgs84_aliases_need_no_proj() {
        for d in ["EPSG:4326", "urn:ogc:def:crs:OGC:1.3:CRS84", "OGC:CRS84"] {
            assert!(Crs::new(d, CrsOrigin::Config).to_wgs84(Path::new("a")).unwrap().is_identity());
        }
    }
}
