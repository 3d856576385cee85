//! Feature geometry in WGS84 longitude/latitude, and what the indexes and
//! queries need of it (envelope, representative point, kind). A leaf: no
//! other module of the crate.

use geo::{BoundingRect, Coord, Geometry, InteriorPoint, Point, Rect};

/// A feature's geometry in WGS84 longitude/latitude. Points are kept inline
/// (16 bytes), everything else boxed, so point layers stay small.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureGeometry {
    Point(Coord<f64>),
    Other(Box<Geometry<f64>>),
}

impl FeatureGeometry {
    pub fn from_geometry(g: Geometry<f64>) -> Self {
        match g {
            Geometry::Point(p) => FeatureGeometry::Point(p.0),
            other => FeatureGeometry::Other(Box::new(other)),
        }
    }

    /// An owned `geo` geometry.
    pub fn to_geometry(&self) -> Geometry<f64> {
        match self {
            FeatureGeometry::Point(c) => Geometry::Point(Point(*c)),
            FeatureGeometry::Other(g) => (**g).clone(),
        }
    }

    pub fn kind(&self) -> GeometryKind {
        match self {
            FeatureGeometry::Point(_) => GeometryKind::Point,
            FeatureGeometry::Other(g) => GeometryKind::of(g),
        }
    }
}

/// The geometry types of the simple-features model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum GeometryKind {
    Point,
    MultiPoint,
    LineString,
    MultiLineString,
    Polygon,
    MultiPolygon,
    GeometryCollection,
}

impl GeometryKind {
    pub fn of(g: &Geometry<f64>) -> Self {
        match g {
            Geometry::Point(_) => GeometryKind::Point,
            Geometry::MultiPoint(_) => GeometryKind::MultiPoint,
            Geometry::Line(_) | Geometry::LineString(_) => GeometryKind::LineString,
            Geometry::MultiLineString(_) => GeometryKind::MultiLineString,
            Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => GeometryKind::Polygon,
            Geometry::MultiPolygon(_) => GeometryKind::MultiPolygon,
            Geometry::GeometryCollection(_) => GeometryKind::GeometryCollection,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            GeometryKind::Point => "Point",
            GeometryKind::MultiPoint => "MultiPoint",
            GeometryKind::LineString => "LineString",
            GeometryKind::MultiLineString => "MultiLineString",
            GeometryKind::Polygon => "Polygon",
            GeometryKind::MultiPolygon => "MultiPolygon",
            GeometryKind::GeometryCollection => "GeometryCollection",
        }
    }

    /// Whether the kind is a point or multipoint (nearest queries, clustering).
    pub fn is_puntal(self) -> bool {
        matches!(self, GeometryKind::Point | GeometryKind::MultiPoint)
    }
}

/// Bounding box of a feature geometry, `None` if it has no coordinates.
pub fn envelope(g: &FeatureGeometry) -> Option<Rect<f64>> {
    match g {
        FeatureGeometry::Point(c) => Some(Rect::new(*c, *c)),
        FeatureGeometry::Other(g) => g.bounding_rect(),
    }
}

/// A point standing for the feature: the point itself, else an interior point.
pub fn representative_point(g: &FeatureGeometry) -> Option<Coord<f64>> {
    match g {
        FeatureGeometry::Point(c) => Some(*c),
        FeatureGeometry::Other(g) => g.interior_point().map(|p| p.0),
    }
}
