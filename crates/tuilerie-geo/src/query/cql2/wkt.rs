//! Geometry literals of cql2-text: WKT (2D points, lines, polygons, their
//! collections, EMPTY) and `BBOX(west, south, east, north)`.

use super::error;
use super::text::{geometry_keyword, is_kw, Parser, Tok};
use crate::error::ParamError;
use geo::{Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon, Rect};

impl Parser {
    /// A WKT geometry (2D) or `BBOX(w, s, e, n)`, after its keyword.
    pub(super) fn geometry(&mut self, kind: &str) -> Result<Geometry<f64>, ParamError> {
        if is_kw(self.peek(), "z") || is_kw(self.peek(), "m") || is_kw(self.peek(), "zm") {
            return Err(error(format!("column {}: only 2D geometries are supported", self.column())));
        }
        if is_kw(self.peek(), "empty") {
            self.next();
            return Ok(Geometry::GeometryCollection(geo::GeometryCollection(Vec::new())));
        }
        self.expect(Tok::Open, &format!("\"(\" after {}", kind.to_uppercase()))?;
        let g = match kind {
            "point" => {
                let c = self.coord()?;
                self.expect(Tok::Close, "\")\" closing POINT")?;
                Geometry::Point(Point(c))
            }
            "linestring" => Geometry::LineString(self.coords()?),
            "polygon" => Geometry::Polygon(self.rings()?),
            "multipoint" => {
                let mut points = Vec::new();
                loop {
                    let c = if *self.peek() == Tok::Open {
                        self.next();
                        let c = self.coord()?;
                        self.expect(Tok::Close, "\")\"")?;
                        c
                    } else {
                        self.coord()?
                    };
                    points.push(Point(c));
                    if *self.peek() != Tok::Comma {
                        break;
                    }
                    self.next();
                }
                self.expect(Tok::Close, "\",\" or \")\" in MULTIPOINT")?;
                Geometry::MultiPoint(MultiPoint(points))
            }
            "multilinestring" => Geometry::MultiLineString(MultiLineString(self.list(|p| {
                p.expect(Tok::Open, "\"(\" opening a line")?;
                p.coords()
            })?)),
            "multipolygon" => Geometry::MultiPolygon(MultiPolygon(self.list(|p| {
                p.expect(Tok::Open, "\"(\" opening a polygon")?;
                p.rings()
            })?)),
            "geometrycollection" => {
                let parts = self.list(|p| {
                    let col = p.column();
                    match p.next() {
                        Tok::Word(w, false)
                            if geometry_keyword(&w.to_ascii_lowercase()) && !w.eq_ignore_ascii_case("bbox") =>
                        {
                            p.geometry(&w.to_ascii_lowercase())
                        }
                        _ => Err(error(format!("column {col}: expected a geometry in GEOMETRYCOLLECTION"))),
                    }
                })?;
                return Ok(Geometry::GeometryCollection(geo::GeometryCollection(parts)));
            }
            _ => {
                let mut n = vec![self.number()?];
                while *self.peek() == Tok::Comma {
                    self.next();
                    n.push(self.number()?);
                }
                let (w, s, e, north) = match n[..] {
                    [w, s, e, n] => (w, s, e, n),
                    [w, s, _, e, n, _] => (w, s, e, n),
                    _ => return Err(error(format!("BBOX takes 4 (or 6) numbers, got {}", n.len()))),
                };
                if s > north || w > e {
                    return Err(error("BBOX(west, south, east, north) needs west <= east and south <= north"));
                }
                self.expect(Tok::Close, "\")\" closing BBOX")?;
                return Ok(Geometry::Rect(Rect::new(Coord { x: w, y: s }, Coord { x: e, y: north })));
            }
        };
        Ok(g)
    }

    fn number(&mut self) -> Result<f64, ParamError> {
        match self.next() {
            Tok::Num(n) => Ok(n),
            _ => {
                self.pos -= 1;
                Err(self.expected("a number"))
            }
        }
    }

    fn coord(&mut self) -> Result<Coord<f64>, ParamError> {
        let x = self.number()?;
        let y = self.number()?;
        if matches!(self.peek(), Tok::Num(_)) {
            return Err(error(format!("column {}: only 2D coordinates (x y) are supported", self.column())));
        }
        Ok(Coord { x, y })
    }

    /// `x y, x y, ...)` after the opening parenthesis.
    fn coords(&mut self) -> Result<LineString<f64>, ParamError> {
        let mut cs = vec![self.coord()?];
        while *self.peek() == Tok::Comma {
            self.next();
            cs.push(self.coord()?);
        }
        self.expect(Tok::Close, "\",\" or \")\" in a list of coordinates")?;
        Ok(LineString(cs))
    }

    /// `(ring), (ring)...)` after the opening parenthesis of a polygon.
    fn rings(&mut self) -> Result<Polygon<f64>, ParamError> {
        let mut rings = self.list(|p| {
            p.expect(Tok::Open, "\"(\" opening a ring")?;
            let col = p.column();
            let ring = p.coords()?;
            if ring.0.len() < 4 || ring.0.first() != ring.0.last() {
                return Err(error(format!(
                    "column {col}: a polygon ring needs at least 4 positions, the last equal to the first"
                )));
            }
            Ok(ring)
        })?;
        let exterior = rings.remove(0);
        Ok(Polygon::new(exterior, rings))
    }

    /// Items separated by commas up to the closing parenthesis.
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Result<T, ParamError>) -> Result<Vec<T>, ParamError> {
        self.nest()?;
        let mut out = vec![item(self)?];
        while *self.peek() == Tok::Comma {
            self.next();
            out.push(item(self)?);
        }
        self.expect(Tok::Close, "\",\" or \")\"")?;
        self.depth -= 1;
        Ok(out)
    }
}
