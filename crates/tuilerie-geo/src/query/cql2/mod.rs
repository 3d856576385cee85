//! CQL2 filters (OGC API Features Part 3, OGC 21-065r2) over a layer:
//! parsed from cql2-text ([`text`]) or cql2-json ([`json`]) into one
//! expression, checked against the layer's queryables, then evaluated
//! feature by feature ([`eval`]) after the spatial conjuncts have narrowed
//! the candidates through the layer's R-tree.
//!
//! Classes covered: Basic CQL2 (comparisons, `and`/`or`/`not`, `is null`,
//! string, number, boolean, `DATE()` and `TIMESTAMP()` literals), Advanced
//! Comparison Operators (`like`, `between`, `in`), Basic Spatial Functions
//! and Spatial Functions (`s_intersects`, `s_equals`, `s_disjoint`,
//! `s_touches`, `s_within`, `s_overlaps`, `s_crosses`, `s_contains`) with
//! every spatial literal (points, lines, polygons, their collections,
//! `BBOX`).
//!
//! Our own grammar rather than the `cql2` crate: that crate evaluates over
//! JSON objects (we evaluate over the layer's compact property table and
//! its R-tree) and brings a JSON Schema validator and SQL/DuckDB
//! translators we do not need; our errors name the column of the mistake.

mod eval;
mod json;
mod text;
mod wkt;

pub use eval::Matcher;

use crate::error::ParamError;
use crate::layer::Layer;
use crate::properties::FieldType;
use chrono::{DateTime, NaiveDate, Utc};
use geo::{BoundingRect, Geometry, Rect};

/// The name of the geometry queryable in filters.
pub const GEOMETRY: &str = "geometry";

/// The two encodings of a filter (`filter-lang`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterLang {
    Text,
    Json,
}

impl FilterLang {
    pub fn parse(v: &str) -> Result<FilterLang, ParamError> {
        match v {
            // cql-text: the name of drafts, still sent by GDAL 3.6.
            "cql2-text" | "cql-text" => Ok(FilterLang::Text),
            "cql2-json" => Ok(FilterLang::Json),
            _ => Err(ParamError::new("filter-lang", format!("filter-lang must be cql2-text or cql2-json, got {v:?}"))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpatialOp {
    Intersects,
    Equals,
    Disjoint,
    Touches,
    Within,
    Overlaps,
    Crosses,
    Contains,
}

impl SpatialOp {
    fn from_name(name: &str) -> Option<SpatialOp> {
        Some(match name.to_ascii_lowercase().as_str() {
            "s_intersects" => SpatialOp::Intersects,
            "s_equals" => SpatialOp::Equals,
            "s_disjoint" => SpatialOp::Disjoint,
            "s_touches" => SpatialOp::Touches,
            "s_within" => SpatialOp::Within,
            "s_overlaps" => SpatialOp::Overlaps,
            "s_crosses" => SpatialOp::Crosses,
            "s_contains" => SpatialOp::Contains,
            _ => return None,
        })
    }

    /// The operator with its arguments swapped (`a within b` is `b contains a`).
    fn swapped(self) -> SpatialOp {
        match self {
            SpatialOp::Within => SpatialOp::Contains,
            SpatialOp::Contains => SpatialOp::Within,
            other => other,
        }
    }
}

/// One side of a predicate.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A property, by its number in [`Filter::properties`].
    Property(usize),
    /// The feature's geometry.
    Geometry,
    Str(String),
    Num(f64),
    Bool(bool),
    Date(NaiveDate),
    Timestamp(DateTime<Utc>),
    /// A geometry literal, with its bounding box.
    Shape(Box<Geometry<f64>>),
}

/// A checked CQL2 expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Literal(bool),
    Compare(CmpOp, Operand, Operand),
    /// `value LIKE pattern`: `%` any run, `_` one character, `\` escapes;
    /// without regard to case when the flag is set (`ILIKE`, a legacy
    /// form GDAL sends; the pattern is then lower case).
    Like(Operand, String, bool),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    IsNull(Operand),
    /// The feature's geometry against a literal, already put in that
    /// order, with the literal's bounding box (None: an empty literal).
    Spatial(SpatialOp, Box<Geometry<f64>>, Option<Rect<f64>>),
    /// A predicate on one property and literals: its result depends on
    /// the property's interned value only, so each distinct value is
    /// evaluated once per request (kept in memo `slot`).
    Memo {
        slot: usize,
        property: usize,
        inner: Box<Expr>,
    },
}

/// A filter ready to run over one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub(crate) expr: Expr,
    /// The properties the expression names, numbered by [`Operand::Property`].
    pub(crate) properties: Vec<String>,
    /// How many [`Expr::Memo`] slots the expression has.
    pub(crate) slots: usize,
}

/// Where a filter's matches can be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Candidates {
    /// Anywhere: every feature is a candidate.
    All,
    /// Only features whose bounding box meets this one.
    Within([f64; 4]),
    /// Nowhere (disjoint spatial conjuncts, an empty literal).
    None,
}

/// Reprojects a literal geometry into CRS84 (`filter-crs`).
pub type ToCrs84<'a> = &'a dyn Fn(&mut Geometry<f64>) -> Result<(), String>;

/// An expression as parsed, before its operands are checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Raw {
    And(Vec<Raw>),
    Or(Vec<Raw>),
    Not(Box<Raw>),
    Literal(bool),
    Compare(CmpOp, RawOperand, RawOperand),
    Like(RawOperand, RawOperand, bool),
    Between(RawOperand, RawOperand, RawOperand),
    In(RawOperand, Vec<RawOperand>),
    IsNull(RawOperand),
    Spatial(SpatialOp, RawOperand, RawOperand),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawOperand {
    Property(String),
    Str(String),
    Num(f64),
    Bool(bool),
    Date(NaiveDate),
    Timestamp(DateTime<Utc>),
    Shape(Geometry<f64>),
}

pub(crate) fn error(message: impl Into<String>) -> ParamError {
    ParamError::new("filter", message)
}

pub(crate) fn parse_date(s: &str) -> Result<NaiveDate, ParamError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| error(format!("DATE({s:?}) is not a date such as 2024-05-31")))
}

pub(crate) fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, ParamError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| error(format!("TIMESTAMP({s:?}) is not an RFC 3339 time such as 2024-05-31T10:00:00Z")))
}

impl Filter {
    /// Parses `source` in `lang` and checks it against `layer`'s queryables;
    /// `to_crs84` brings geometry literals from `filter-crs` (None: CRS84).
    pub fn parse(
        source: &str,
        lang: FilterLang,
        layer: &Layer,
        to_crs84: Option<ToCrs84>,
    ) -> Result<Filter, ParamError> {
        let raw = match lang {
            FilterLang::Text => text::parse(source)?,
            FilterLang::Json => json::parse(source)?,
        };
        let mut checker = Checker { layer, properties: Vec::new(), to_crs84, slots: 0 };
        let expr = checker.expr(raw)?;
        Ok(Filter { expr, properties: checker.properties, slots: checker.slots })
    }

    /// Where the matching features can be, from the spatial conjuncts at
    /// the top of the expression: the R-tree gives the candidates.
    pub fn candidates(&self) -> Candidates {
        fn of(e: &Expr) -> Option<Option<Rect<f64>>> {
            match e {
                Expr::Spatial(op, _, rect) if *op != SpatialOp::Disjoint => Some(*rect),
                Expr::And(parts) => parts.iter().filter_map(of).reduce(|a, b| {
                    let (a, b) = (a?, b?);
                    let (lo, hi) = (
                        geo::coord! {x: a.min().x.max(b.min().x), y: a.min().y.max(b.min().y)},
                        geo::coord! {x: a.max().x.min(b.max().x), y: a.max().y.min(b.max().y)},
                    );
                    (lo.x <= hi.x && lo.y <= hi.y).then(|| Rect::new(lo, hi))
                }),
                _ => None,
            }
        }
        match of(&self.expr) {
            None => Candidates::All,
            Some(None) => Candidates::None,
            Some(Some(r)) => Candidates::Within([r.min().x, r.min().y, r.max().x, r.max().y]),
        }
    }

    /// `filter AND S_INTERSECTS(geometry, g)` (a `bbox` given in another
    /// CRS, as a CRS84 polygon).
    pub fn and_intersects(filter: Option<Filter>, g: Geometry<f64>) -> Filter {
        let spatial = Filter { expr: spatial(SpatialOp::Intersects, g), properties: Vec::new(), slots: 0 };
        match filter {
            None => spatial,
            Some(f) => spatial.and(f),
        }
    }

    /// Both filters (`self AND other`).
    pub fn and(self, other: Filter) -> Filter {
        let mut properties = self.properties;
        let mut map = Vec::with_capacity(other.properties.len());
        for p in other.properties {
            map.push(match properties.iter().position(|q| *q == p) {
                Some(i) => i,
                None => {
                    properties.push(p);
                    properties.len() - 1
                }
            });
        }
        let mut expr = other.expr;
        renumber(&mut expr, &map, self.slots);
        Filter { expr: Expr::And(vec![self.expr, expr]), properties, slots: self.slots + other.slots }
    }

    /// Evaluates the filter over `layer`'s features.
    pub fn matcher<'a>(&'a self, layer: &'a Layer) -> Matcher<'a> {
        Matcher::new(self, layer)
    }
}

struct Checker<'a> {
    layer: &'a Layer,
    properties: Vec<String>,
    to_crs84: Option<ToCrs84<'a>>,
    slots: usize,
}

impl Checker<'_> {
    fn expr(&mut self, raw: Raw) -> Result<Expr, ParamError> {
        let e = self.unmemoized(raw)?;
        // One property against literals: memoized by the property's value.
        let mut props = Vec::new();
        let literal_only = match &e {
            Expr::Compare(_, a, b) => props_of(&[a, b], &mut props),
            Expr::Between(a, b, c) => props_of(&[a, b, c], &mut props),
            Expr::Like(a, _, _) | Expr::IsNull(a) => props_of(&[a], &mut props),
            Expr::In(a, list) => props_of(&[a], &mut props) && props_of(&list.iter().collect::<Vec<_>>(), &mut props),
            _ => false,
        };
        if literal_only && props.len() == 1 {
            let slot = self.slots;
            self.slots += 1;
            return Ok(Expr::Memo { slot, property: props[0], inner: Box::new(e) });
        }
        Ok(e)
    }

    fn unmemoized(&mut self, raw: Raw) -> Result<Expr, ParamError> {
        Ok(match raw {
            Raw::And(v) => Expr::And(v.into_iter().map(|r| self.expr(r)).collect::<Result<_, _>>()?),
            Raw::Or(v) => Expr::Or(v.into_iter().map(|r| self.expr(r)).collect::<Result<_, _>>()?),
            Raw::Not(r) => Expr::Not(Box::new(self.expr(*r)?)),
            Raw::Literal(b) => Expr::Literal(b),
            Raw::Compare(op, a, b) => {
                let (a, b) = (self.scalar(a)?, self.scalar(b)?);
                self.comparable(&a, &b)?;
                Expr::Compare(op, a, b)
            }
            Raw::Like(a, p, ci) => {
                let a = self.scalar(a)?;
                let RawOperand::Str(p) = p else {
                    return Err(error("the pattern of LIKE must be a string literal such as 'Saint-%'"));
                };
                self.comparable(&a, &Operand::Str(String::new()))?;
                Expr::Like(a, if ci { p.to_lowercase() } else { p }, ci)
            }
            Raw::Between(a, lo, hi) => {
                let (a, lo, hi) = (self.scalar(a)?, self.scalar(lo)?, self.scalar(hi)?);
                self.comparable(&a, &lo)?;
                self.comparable(&a, &hi)?;
                Expr::Between(a, lo, hi)
            }
            Raw::In(a, list) => {
                let a = self.scalar(a)?;
                let list: Vec<Operand> = list.into_iter().map(|o| self.scalar(o)).collect::<Result<_, _>>()?;
                for o in &list {
                    self.comparable(&a, o)?;
                }
                Expr::In(a, list)
            }
            Raw::IsNull(a) => Expr::IsNull(self.scalar(a)?),
            Raw::Spatial(op, a, b) => {
                let (a, b) = (self.spatial(a)?, self.spatial(b)?);
                match (a, b) {
                    (Operand::Geometry, Operand::Shape(g)) => spatial(op, *g),
                    (Operand::Shape(g), Operand::Geometry) => spatial(op.swapped(), *g),
                    (Operand::Shape(a), Operand::Shape(b)) => Expr::Literal(eval::relate(op, &a, &b)),
                    _ => {
                        return Err(error(format!(
                            "a spatial function compares the feature's {GEOMETRY} with a geometry literal, \
                             not {GEOMETRY} with itself"
                        )))
                    }
                }
            }
        })
    }

    fn property(&mut self, name: String) -> Result<Operand, ParamError> {
        if name == GEOMETRY && self.layer.field_id(GEOMETRY).is_none() {
            return Err(error(format!(
                "{GEOMETRY} is the feature's geometry: use it in a spatial function such as \
                 S_INTERSECTS({GEOMETRY}, POINT(-0.57 44.84))"
            )));
        }
        if self.layer.field_id(&name).is_none() {
            let fields: Vec<&str> = self.layer.meta().fields.iter().map(|f| f.name.as_str()).take(40).collect();
            return Err(error(format!(
                "unknown queryable {name:?}; queryables of {}: {GEOMETRY}, {}",
                self.layer.id(),
                fields.join(", ")
            )));
        }
        let n = match self.properties.iter().position(|p| *p == name) {
            Some(n) => n,
            None => {
                self.properties.push(name);
                self.properties.len() - 1
            }
        };
        Ok(Operand::Property(n))
    }

    fn scalar(&mut self, o: RawOperand) -> Result<Operand, ParamError> {
        Ok(match o {
            RawOperand::Property(name) => self.property(name)?,
            RawOperand::Str(s) => Operand::Str(s),
            RawOperand::Num(n) => Operand::Num(n),
            RawOperand::Bool(b) => Operand::Bool(b),
            RawOperand::Date(d) => Operand::Date(d),
            RawOperand::Timestamp(t) => Operand::Timestamp(t),
            RawOperand::Shape(_) => {
                return Err(error(
                    "a geometry literal can only be an argument of a spatial function such as S_INTERSECTS",
                ))
            }
        })
    }

    fn spatial(&mut self, o: RawOperand) -> Result<Operand, ParamError> {
        match o {
            RawOperand::Property(name) if name == GEOMETRY => Ok(Operand::Geometry),
            RawOperand::Shape(mut g) => {
                if let Some(to) = self.to_crs84 {
                    to(&mut g)
                        .map_err(|e| ParamError::new("filter-crs", format!("cannot reproject a literal: {e}")))?;
                }
                Ok(Operand::Shape(Box::new(g)))
            }
            RawOperand::Property(name) => Err(error(format!(
                "{name:?} is not a geometry: the arguments of a spatial function are {GEOMETRY} and a geometry literal"
            ))),
            _ => Err(error(format!(
                "the arguments of a spatial function are {GEOMETRY} and a geometry literal such as POINT(-0.57 44.84)"
            ))),
        }
    }

    /// Refuses comparisons that can never hold because the property's type
    /// is known and the literal's is another (`population = 'Bordeaux'`).
    fn comparable(&self, a: &Operand, b: &Operand) -> Result<(), ParamError> {
        let (name, literal) = match (a, b) {
            (Operand::Property(n), lit) | (lit, Operand::Property(n)) if !matches!(lit, Operand::Property(_)) => {
                (&self.properties[*n], lit)
            }
            _ => return Ok(()),
        };
        let Some(field) = self.layer.meta().fields.iter().find(|f| &f.name == name) else {
            return Ok(());
        };
        let fits = match field.field_type {
            FieldType::Int | FieldType::Float => matches!(literal, Operand::Num(_)),
            FieldType::Bool => matches!(literal, Operand::Bool(_)),
            FieldType::String | FieldType::Date => {
                matches!(literal, Operand::Str(_) | Operand::Date(_) | Operand::Timestamp(_))
            }
            FieldType::Null | FieldType::Mixed | FieldType::Json => true,
        };
        if fits {
            return Ok(());
        }
        let kind = match field.field_type {
            FieldType::Int | FieldType::Float => "a number",
            FieldType::Bool => "a boolean (TRUE or FALSE)",
            _ => "text (quote the value: 'like this')",
        };
        Err(error(format!("property {name:?} is {kind}; the value compared with it is not")))
    }
}

/// Renumbers the properties of `e` through `map` (old number -> new) and
/// shifts its memo slots by `slots`.
fn renumber(e: &mut Expr, map: &[usize], slots: usize) {
    let op = |o: &mut Operand| {
        if let Operand::Property(n) = o {
            *n = map[*n];
        }
    };
    match e {
        Expr::And(v) | Expr::Or(v) => v.iter_mut().for_each(|x| renumber(x, map, slots)),
        Expr::Not(x) => renumber(x, map, slots),
        Expr::Memo { slot, property, inner } => {
            *slot += slots;
            *property = map[*property];
            renumber(inner, map, slots);
        }
        Expr::Literal(_) | Expr::Spatial(..) => {}
        Expr::Compare(_, a, b) => {
            op(a);
            op(b);
        }
        Expr::Like(a, _, _) | Expr::IsNull(a) => op(a),
        Expr::Between(a, b, c) => {
            op(a);
            op(b);
            op(c);
        }
        Expr::In(a, list) => {
            op(a);
            list.iter_mut().for_each(op);
        }
    }
}

/// Adds the distinct properties among `ops` to `out`; false when one of
/// them is neither a property nor a scalar literal.
fn props_of(ops: &[&Operand], out: &mut Vec<usize>) -> bool {
    for o in ops {
        match o {
            Operand::Property(n) if !out.contains(n) => out.push(*n),
            Operand::Geometry | Operand::Shape(_) => return false,
            _ => {}
        }
    }
    true
}

fn spatial(op: SpatialOp, g: Geometry<f64>) -> Expr {
    let rect = g.bounding_rect();
    Expr::Spatial(op, Box::new(g), rect)
}
