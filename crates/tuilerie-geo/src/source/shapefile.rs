//! ESRI shapefile reader (`.shp` + `.shx` + `.dbf`, optional `.prj`, `.cpg`).
//!
//! Steps: find the companions, resolve the CRS (config, `.prj`) and the
//! attribute encoding (config, `.cpg`, language driver), then stream shapes
//! and records into a [`LayerBuilder`]. Rings are assembled into polygons by
//! the shapefile rules: clockwise rings are outers, counter-clockwise rings
//! are holes of the smallest outer that contains them. Null shapes are
//! skipped and counted; DBF numbers, dates and logicals become typed values.

use super::encoding::{self, DbfEncoding};
use crate::build::LayerBuilder;
use crate::error::{GeoError, GeoResult};
use crate::layer::{Layer, SkipReason};
use crate::options::LoadOptions;
use crate::properties::{FieldType, Value};
use crate::reproject::{Crs, CrsOrigin};
use dbase::FieldValue;
use geo::{Area, Contains, Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};
use shapefile::Shape;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// The companion file with extension `ext` (any case), if it exists.
fn companion(path: &Path, ext: &str) -> Option<PathBuf> {
    [ext.to_string(), ext.to_ascii_uppercase()].into_iter().map(|e| path.with_extension(e)).find(|p| p.is_file())
}

fn required(path: &Path, ext: &str) -> GeoResult<PathBuf> {
    companion(path, ext)
        .ok_or_else(|| GeoError::MissingCompanion { path: path.to_path_buf(), missing: path.with_extension(ext) })
}

/// A DBF column as declared in the header.
#[derive(Debug, Clone)]
pub struct DbfColumn {
    pub name: String,
    pub kind: u8,
    pub length: u8,
    pub decimals: u8,
}

/// Reads the language-driver byte and the column descriptors of a DBF
/// (the `dbase` crate does not expose the decimal counts).
fn read_dbf_header(dbf: &Path) -> GeoResult<(u8, Vec<DbfColumn>)> {
    let bad = |message: String| GeoError::Dbf { path: dbf.to_path_buf(), record: 0, message };
    let mut f = File::open(dbf).map_err(|e| GeoError::io(dbf, e))?;
    let mut head = [0u8; 32];
    f.read_exact(&mut head).map_err(|_| bad("file shorter than a DBF header".into()))?;
    let header_len = u16::from_le_bytes([head[8], head[9]]) as usize;
    if header_len < 33 {
        return Err(bad(format!("header length {header_len} is too small")));
    }
    let mut rest = vec![0u8; header_len - 32];
    f.read_exact(&mut rest).map_err(|_| bad("truncated header".into()))?;
    let mut columns = Vec::new();
    for d in rest.chunks_exact(32) {
        if d[0] == 0x0D {
            break;
        }
        let end = d[..11].iter().position(|&b| b == 0).unwrap_or(11);
        columns.push(DbfColumn {
            name: String::from_utf8_lossy(&d[..end]).trim().to_string(),
            kind: d[11],
            length: d[16],
            decimals: d[17],
        });
    }
    Ok((head[29], columns))
}

/// Chooses the attribute encoding: config, `.cpg`, language driver, default.
fn resolve_encoding(path: &Path, options: &LoadOptions, ldid: u8) -> GeoResult<DbfEncoding> {
    if let Some(label) = &options.encoding {
        return encoding::from_label(label, "configuration").ok_or_else(|| GeoError::UnknownEncoding {
            path: path.to_path_buf(),
            encoding: label.clone(),
            origin: "configuration".into(),
        });
    }
    if let Some(cpg) = companion(path, "cpg") {
        let bytes = std::fs::read(&cpg).map_err(|e| GeoError::io(&cpg, e))?;
        let label = String::from_utf8_lossy(&bytes).trim().to_string();
        if !label.is_empty() {
            return encoding::from_label(&label, ".cpg file").ok_or_else(|| GeoError::UnknownEncoding {
                path: cpg.clone(),
                encoding: label,
                origin: ".cpg file".into(),
            });
        }
    }
    Ok(encoding::from_language_driver(ldid).unwrap_or_else(encoding::default_encoding))
}

/// Chooses the source CRS: config override, else `.prj`, else WGS84.
fn resolve_crs(path: &Path, options: &LoadOptions) -> GeoResult<(Crs, PathBuf)> {
    if let Some(c) = &options.crs {
        return Ok((Crs::new(c.clone(), CrsOrigin::Config), path.to_path_buf()));
    }
    match companion(path, "prj") {
        Some(prj) => {
            let bytes = std::fs::read(&prj).map_err(|e| GeoError::io(&prj, e))?;
            Ok((Crs::new(String::from_utf8_lossy(&bytes), CrsOrigin::PrjFile), prj))
        }
        None => {
            tracing::warn!(path = %path.display(), "no .prj and no `crs` configured: assuming WGS84 longitude/latitude");
            Ok((Crs::wgs84(CrsOrigin::Default), path.to_path_buf()))
        }
    }
}

/// Loads a shapefile as a layer.
pub fn load(path: &Path, options: LoadOptions) -> GeoResult<Layer> {
    if !path.is_file() {
        return Err(GeoError::io(path, std::io::Error::new(std::io::ErrorKind::NotFound, "no such file")));
    }
    let shx = required(path, "shx")?;
    let dbf = required(path, "dbf")?;
    let (crs, crs_file) = resolve_crs(path, &options)?;
    let reprojector = crs.to_wgs84(&crs_file)?;
    let (ldid, columns) = read_dbf_header(&dbf)?;
    let enc = resolve_encoding(path, &options, ldid)?;
    let encoding_label = enc.describe();

    let shp_err = |message: String| GeoError::Shapefile { path: path.to_path_buf(), message };
    let shp_file = File::open(path).map_err(|e| GeoError::io(path, e))?;
    let shx_file = File::open(&shx).map_err(|e| GeoError::io(&shx, e))?;
    let shape_reader = shapefile::ShapeReader::with_shx(BufReader::new(shp_file), BufReader::new(shx_file))
        .map_err(|e| shp_err(describe_shp_error(&e)))?;
    let dbf_file = File::open(&dbf).map_err(|e| GeoError::io(&dbf, e))?;
    let dbase_reader = dbase::ReaderBuilder::new()
        .with_encoding(enc.encoding)
        .build(BufReader::new(dbf_file))
        .map_err(|e| GeoError::Dbf { path: dbf.clone(), record: 0, message: e.to_string() })?;
    let shape_count = shape_reader.shape_count().map_err(|e| shp_err(describe_shp_error(&e)))?;
    let record_count = dbase_reader.header().num_records as usize;
    if record_count != shape_count {
        return Err(GeoError::Dbf {
            path: dbf.clone(),
            record: record_count.min(shape_count),
            message: format!("{record_count} records for {shape_count} shapes in {}", path.display()),
        });
    }
    let mut reader = shapefile::Reader::new(shape_reader, dbase_reader);

    let mut builder = LayerBuilder::new(path, options, reprojector);
    builder.validate_options()?;
    let kinds: Vec<(String, FieldType, bool)> = columns
        .iter()
        .map(|c| {
            let t = match c.kind {
                b'N' | b'F' if c.decimals == 0 => FieldType::Int,
                b'N' | b'F' | b'O' | b'Y' | b'B' => FieldType::Float,
                b'I' => FieldType::Int,
                b'L' => FieldType::Bool,
                b'D' | b'T' | b'@' => FieldType::Date,
                _ => FieldType::String,
            };
            (c.name.clone(), t, c.kind == b'N' || c.kind == b'F')
        })
        .collect();
    for (name, t, _) in &kinds {
        builder.declare_field(name, *t);
    }
    for (i, item) in reader.iter_shapes_and_records().enumerate() {
        let (shape, mut record) = item.map_err(|e| match e {
            shapefile::Error::DbaseError(d) => GeoError::Dbf { path: dbf.clone(), record: i, message: d.to_string() },
            other => shp_err(format!("record {i}: {}", describe_shp_error(&other))),
        })?;
        for (name, declared, numeric) in &kinds {
            let Some(v) = record.remove(name) else { continue };
            let date_buf: String;
            let value = match v {
                FieldValue::Character(Some(s)) => {
                    date_buf = s;
                    Value::String(&date_buf)
                }
                FieldValue::Memo(s) => {
                    date_buf = s;
                    Value::String(&date_buf)
                }
                FieldValue::Numeric(Some(n))
                    if *numeric && *declared == FieldType::Int && n.fract() == 0.0 && n.abs() < 9.0e15 =>
                {
                    Value::Int(n as i64)
                }
                FieldValue::Numeric(Some(n)) => Value::Float(n),
                FieldValue::Float(Some(n)) if *declared == FieldType::Int && n.fract() == 0.0 => Value::Int(n as i64),
                FieldValue::Float(Some(n)) => Value::Float(n as f64),
                FieldValue::Logical(Some(b)) => Value::Bool(b),
                FieldValue::Date(Some(d)) => {
                    date_buf = format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
                    Value::String(&date_buf)
                }
                FieldValue::Integer(n) => Value::Int(n as i64),
                FieldValue::Double(n) | FieldValue::Currency(n) => Value::Float(n),
                FieldValue::DateTime(dt) => {
                    let d = dt.date();
                    let t = dt.time();
                    date_buf = format!(
                        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                        d.year(),
                        d.month(),
                        d.day(),
                        t.hours(),
                        t.minutes(),
                        t.seconds()
                    );
                    Value::String(&date_buf)
                }
                // Blank values are nulls; they are simply absent from the feature.
                _ => continue,
            };
            builder.property(name, value, Some(*declared))?;
        }
        builder.end_feature(shape_to_geometry(shape))?;
    }
    Ok(builder.finish("ESRI Shapefile", crs.origin().describe(), Some(encoding_label)))
}

fn describe_shp_error(e: &shapefile::Error) -> String {
    match e {
        shapefile::Error::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "unexpected end of file (truncated .shp or .shx)".into()
        }
        other => other.to_string(),
    }
}

fn coord<P: HasXY>(p: &P) -> Coord<f64> {
    let (x, y) = p.xy();
    Coord { x, y }
}

trait HasXY {
    fn xy(&self) -> (f64, f64);
}
impl HasXY for shapefile::Point {
    fn xy(&self) -> (f64, f64) {
        (self.x, self.y)
    }
}
impl HasXY for shapefile::PointM {
    fn xy(&self) -> (f64, f64) {
        (self.x, self.y)
    }
}
impl HasXY for shapefile::PointZ {
    fn xy(&self) -> (f64, f64) {
        (self.x, self.y)
    }
}

type GeomResult = Result<Geometry<f64>, (SkipReason, String)>;

/// Converts a shape (Z and M dropped) into a `geo` geometry.
pub fn shape_to_geometry(shape: Shape) -> GeomResult {
    match shape {
        Shape::NullShape => Err((SkipReason::NullGeometry, "null shape".into())),
        Shape::Point(p) => Ok(Geometry::Point(Point(coord(&p)))),
        Shape::PointM(p) => Ok(Geometry::Point(Point(coord(&p)))),
        Shape::PointZ(p) => Ok(Geometry::Point(Point(coord(&p)))),
        Shape::Multipoint(m) => multipoint(m.points()),
        Shape::MultipointM(m) => multipoint(m.points()),
        Shape::MultipointZ(m) => multipoint(m.points()),
        Shape::Polyline(l) => polyline(l.parts()),
        Shape::PolylineM(l) => polyline(l.parts()),
        Shape::PolylineZ(l) => polyline(l.parts()),
        Shape::Polygon(p) => polygon(p.rings().iter().map(|r| r.points())),
        Shape::PolygonM(p) => polygon(p.rings().iter().map(|r| r.points())),
        Shape::PolygonZ(p) => polygon(p.rings().iter().map(|r| r.points())),
        Shape::Multipatch(_) => Err((SkipReason::UnsupportedShape, "MultiPatch shapes are not supported".into())),
    }
}

fn multipoint<P: HasXY>(points: &[P]) -> GeomResult {
    if points.is_empty() {
        return Err((SkipReason::EmptyGeometry, "multipoint without points".into()));
    }
    let pts: Vec<Point<f64>> = points.iter().map(|p| Point(coord(p))).collect();
    Ok(if pts.len() == 1 { Geometry::Point(pts[0]) } else { Geometry::MultiPoint(MultiPoint::new(pts)) })
}

fn polyline<P: HasXY>(parts: &[Vec<P>]) -> GeomResult {
    let mut lines = Vec::with_capacity(parts.len());
    for part in parts {
        if part.len() < 2 {
            return Err((SkipReason::InvalidGeometry, format!("polyline part with {} point(s)", part.len())));
        }
        lines.push(LineString::new(part.iter().map(coord).collect()));
    }
    match lines.len() {
        0 => Err((SkipReason::EmptyGeometry, "polyline without parts".into())),
        1 => Ok(Geometry::LineString(lines.remove(0))),
        _ => Ok(Geometry::MultiLineString(MultiLineString::new(lines))),
    }
}

/// Twice the signed area; negative for clockwise rings (y up).
fn signed_area2(ring: &[Coord<f64>]) -> f64 {
    ring.windows(2).map(|w| w[0].x * w[1].y - w[1].x * w[0].y).sum()
}

/// Assembles rings: clockwise = outer, counter-clockwise = hole, each hole
/// going to the smallest outer containing it (a hole that no outer contains
/// is treated as an outer, as GDAL does).
fn polygon<'a, P: HasXY + 'a>(rings: impl Iterator<Item = &'a [P]>) -> GeomResult {
    // Outer rings as hole-less polygons (for containment tests), with their area.
    let mut outers: Vec<(Polygon<f64>, f64, Vec<LineString<f64>>)> = Vec::new();
    let mut holes: Vec<LineString<f64>> = Vec::new();
    for r in rings {
        let mut pts: Vec<Coord<f64>> = r.iter().map(coord).collect();
        if pts.len() >= 2 && pts.first() != pts.last() {
            pts.push(pts[0]);
        }
        if pts.len() < 4 {
            return Err((SkipReason::InvalidGeometry, format!("polygon ring with {} point(s)", r.len())));
        }
        let a = signed_area2(&pts);
        if a == 0.0 {
            continue; // degenerate ring
        }
        let ls = LineString::new(pts);
        if a < 0.0 {
            outers.push((Polygon::new(ls, vec![]), a.abs() / 2.0, Vec::new()));
        } else {
            holes.push(ls);
        }
    }
    for h in holes {
        let probe = Point(h.0[0]);
        let owner = outers
            .iter_mut()
            .filter(|(o, _, _)| o.contains(&probe) || o.exterior().0.contains(&probe.0))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        match owner {
            Some((_, _, hs)) => hs.push(h),
            None => {
                let mut rev = h;
                rev.0.reverse();
                let p = Polygon::new(rev, vec![]);
                let area = p.unsigned_area();
                outers.push((p, area, Vec::new()));
            }
        }
    }
    let mut polys: Vec<Polygon<f64>> =
        outers.into_iter().map(|(o, _, hs)| Polygon::new(o.into_inner().0, hs)).collect();
    match polys.len() {
        0 => Err((SkipReason::EmptyGeometry, "polygon without rings".into())),
        1 => Ok(Geometry::Polygon(polys.remove(0))),
        _ => Ok(Geometry::MultiPolygon(MultiPolygon::new(polys))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(pts: &[(f64, f64)]) -> Vec<shapefile::Point> {
        pts.iter().map(|&(x, y)| shapefile::Point::new(x, y)).collect()
    }

    #[test]
    fn holes_go_to_the_outer_ring_that_contains_them() {
        // Two clockwise squares, one counter-clockwise hole inside the second.
        let a = ring(&[(0., 0.), (0., 1.), (1., 1.), (1., 0.), (0., 0.)]);
        let b = ring(&[(10., 0.), (10., 4.), (14., 4.), (14., 0.), (10., 0.)]);
        let h = ring(&[(11., 1.), (13., 1.), (13., 3.), (11., 3.), (11., 1.)]);
        let g = polygon([h.as_slice(), a.as_slice(), b.as_slice()].into_iter()).unwrap();
        let Geometry::MultiPolygon(mp) = g else { panic!("{g:?}") };
        assert_eq!(mp.0.len(), 2);
        assert_eq!(mp.0[0].interiors().len(), 0);
        assert_eq!(mp.0[1].interiors().len(), 1);
        assert!((mp.unsigned_area() - (1.0 + 16.0 - 4.0)).abs() < 1e-12);
    }

    #[test]
    fn null_and_multipatch_shapes_are_skipped_with_reasons() {
        assert_eq!(shape_to_geometry(Shape::NullShape).unwrap_err().0, SkipReason::NullGeometry);
    }
}
