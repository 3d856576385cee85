//! Evaluation of a checked filter, feature by feature, with SQL's three
//! values: a comparison with a missing or null property is unknown, `NOT`
//! of unknown is unknown, and only features where the filter is true match.

use super::{CmpOp, Expr, Filter, Operand, SpatialOp};
use crate::features::FeatureRef;
use crate::features::NO_VALUE;
use crate::geometry::FeatureGeometry;
use crate::layer::Layer;
use crate::properties::{FieldId, Value};
use chrono::{DateTime, NaiveDate, Utc};
use geo::{BoundingRect, Geometry, Intersects, Point, Rect, Relate};
use std::cell::{Cell, OnceCell};
use std::cmp::Ordering;

/// A filter bound to one layer's field numbers.
pub struct Matcher<'a> {
    filter: &'a Filter,
    layer: &'a Layer,
    /// Field of each named property in the file's features...
    base: Fields,
    /// ... and in the edited features laid over them.
    extra: OnceCell<Fields>,
    /// Results of the memoized predicates by interned value, for each
    /// table (values are numbered per table): 0 not yet, 1 false, 2 true,
    /// 3 unknown.
    memo: [Vec<Memo>; 2],
}

/// The results of one memoized predicate, a cell per value id.
type Memo = OnceCell<Box<[Cell<u8>]>>;

/// The named properties in one table: each one's field, and its column of
/// value ids when a memoized predicate reads it.
struct Fields {
    ids: Vec<Option<FieldId>>,
    columns: Vec<Option<std::sync::Arc<[u32]>>>,
}

impl Fields {
    fn of(filter: &Filter, table: &crate::features::FeatureTable) -> Fields {
        let ids: Vec<Option<FieldId>> = filter.properties.iter().map(|p| table.field_id(p)).collect();
        let mut memoized = vec![false; ids.len()];
        mark(&filter.expr, &mut memoized);
        let columns = ids.iter().zip(memoized).map(|(id, m)| id.filter(|_| m).map(|f| table.column(f))).collect();
        Fields { ids, columns }
    }
}

/// Marks the properties of memoized predicates.
fn mark(e: &Expr, out: &mut [bool]) {
    match e {
        Expr::And(v) | Expr::Or(v) => v.iter().for_each(|x| mark(x, out)),
        Expr::Not(x) => mark(x, out),
        Expr::Memo { property, .. } => out[*property] = true,
        _ => {}
    }
}

/// A value as the filter compares it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum V<'a> {
    Null,
    Num(f64),
    Str(&'a str),
    Bool(bool),
    Date(NaiveDate),
    Ts(DateTime<Utc>),
}

impl<'a> Matcher<'a> {
    pub(super) fn new(filter: &'a Filter, layer: &'a Layer) -> Self {
        let base = Fields::of(filter, layer.features_table());
        let memo = || (0..filter.slots).map(|_| OnceCell::new()).collect();
        Matcher { filter, layer, base, extra: OnceCell::new(), memo: [memo(), memo()] }
    }

    /// Whether the filter is true for `f`.
    pub fn matches(&self, f: FeatureRef<'_>) -> bool {
        let (table, _) = f.local();
        let (fields, memo) = if std::ptr::eq(table, self.layer.features_table()) {
            (&self.base, &self.memo[0])
        } else {
            (self.extra.get_or_init(|| Fields::of(self.filter, table)), &self.memo[1])
        };
        Eval { f, fields, memo, values: table.value_count() }.expr(&self.filter.expr) == Some(true)
    }
}

struct Eval<'f, 'a> {
    f: FeatureRef<'a>,
    fields: &'f Fields,
    memo: &'f [Memo],
    /// Distinct values of the feature's table (the size of a memo).
    values: usize,
}

impl<'a> Eval<'_, 'a> {
    fn expr(&self, e: &'a Expr) -> Option<bool> {
        match e {
            Expr::And(parts) => {
                let mut unknown = false;
                for p in parts {
                    match self.expr(p) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                (!unknown).then_some(true)
            }
            Expr::Or(parts) => {
                let mut unknown = false;
                for p in parts {
                    match self.expr(p) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                (!unknown).then_some(false)
            }
            Expr::Not(inner) => self.expr(inner).map(|b| !b),
            Expr::Literal(b) => Some(*b),
            Expr::Compare(op, a, b) => {
                let o = compare(self.value(a)?, self.value(b)?)?;
                Some(match op {
                    CmpOp::Eq => o == Ordering::Equal,
                    CmpOp::Ne => o != Ordering::Equal,
                    CmpOp::Lt => o == Ordering::Less,
                    CmpOp::Le => o != Ordering::Greater,
                    CmpOp::Gt => o == Ordering::Greater,
                    CmpOp::Ge => o != Ordering::Less,
                })
            }
            Expr::Like(a, pattern, ci) => match self.value(a)? {
                V::Str(s) if *ci => Some(like(&s.to_lowercase(), pattern)),
                V::Str(s) => Some(like(s, pattern)),
                _ => None,
            },
            Expr::Between(a, lo, hi) => {
                let v = self.value(a)?;
                Some(
                    compare(v, self.value(lo)?)? != Ordering::Less && compare(v, self.value(hi)?)? != Ordering::Greater,
                )
            }
            Expr::In(a, list) => {
                let v = self.value(a)?;
                let mut unknown = false;
                for o in list {
                    match self.value(o).and_then(|w| compare(v, w)) {
                        Some(Ordering::Equal) => return Some(true),
                        None => unknown = true,
                        _ => {}
                    }
                }
                (!unknown).then_some(false)
            }
            Expr::IsNull(a) => Some(matches!(self.value_or_null(a), V::Null)),
            Expr::Spatial(op, g, rect) => Some(spatial(*op, g, *rect, self.f.geometry())),
            Expr::Memo { slot, property, inner } => {
                // The cell of the property's value id; the last cell stands
                // for a feature without the property.
                let id = match &self.fields.columns[*property] {
                    Some(col) => col.get(self.f.local().1).copied().unwrap_or(NO_VALUE),
                    None => {
                        self.fields.ids[*property].and_then(|field| self.f.value_id(field)).map_or(NO_VALUE, |v| v.0)
                    }
                };
                let cell = if id == NO_VALUE { self.values } else { id as usize };
                let Some(cells) = self.memo.get(*slot) else { return self.expr(inner) };
                let cells = cells.get_or_init(|| (0..=self.values).map(|_| Cell::new(0)).collect());
                let Some(known) = cells.get(cell) else { return self.expr(inner) };
                match known.get() {
                    1 => Some(false),
                    2 => Some(true),
                    3 => None,
                    _ => {
                        let r = self.expr(inner);
                        known.set(match r {
                            Some(false) => 1,
                            Some(true) => 2,
                            None => 3,
                        });
                        r
                    }
                }
            }
        }
    }

    /// The operand's value; None when it is null or missing (unknown).
    fn value(&self, o: &'a Operand) -> Option<V<'a>> {
        match self.value_or_null(o) {
            V::Null => None,
            v => Some(v),
        }
    }

    fn value_or_null(&self, o: &'a Operand) -> V<'a> {
        match o {
            Operand::Property(n) => {
                let Some(field) = self.fields.ids[*n] else { return V::Null };
                match self.f.property_by_id(field) {
                    None | Some(Value::Null) | Some(Value::Json(_)) => V::Null,
                    Some(Value::Bool(b)) => V::Bool(b),
                    Some(Value::Int(i)) => V::Num(i as f64),
                    Some(Value::Float(x)) => V::Num(x),
                    Some(Value::String(s)) => V::Str(s),
                }
            }
            Operand::Str(s) => V::Str(s),
            Operand::Num(n) => V::Num(*n),
            Operand::Bool(b) => V::Bool(*b),
            Operand::Date(d) => V::Date(*d),
            Operand::Timestamp(t) => V::Ts(*t),
            Operand::Geometry | Operand::Shape(_) => V::Null,
        }
    }
}

fn text_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

fn text_timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).ok().or_else(|| {
        (s.len() == 10).then(|| text_date(s)).flatten().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())
    })
}

/// The order of two values of the same kind; None when they cannot be
/// compared (a number and a string).
fn compare(a: V<'_>, b: V<'_>) -> Option<Ordering> {
    match (a, b) {
        (V::Num(x), V::Num(y)) => x.partial_cmp(&y),
        (V::Str(x), V::Str(y)) => Some(x.cmp(y)),
        (V::Bool(x), V::Bool(y)) => Some(x.cmp(&y)),
        (V::Date(x), V::Date(y)) => Some(x.cmp(&y)),
        (V::Ts(x), V::Ts(y)) => Some(x.cmp(&y)),
        (V::Str(s), V::Date(d)) => text_date(s).map(|x| x.cmp(&d)),
        (V::Date(d), V::Str(s)) => text_date(s).map(|x| d.cmp(&x)),
        (V::Str(s), V::Ts(t)) => text_timestamp(s).map(|x| x.cmp(&t)),
        (V::Ts(t), V::Str(s)) => text_timestamp(s).map(|x| t.cmp(&x)),
        _ => None,
    }
}

/// SQL LIKE: `%` matches any run of characters, `_` one, `\` escapes the
/// next character.
fn like(s: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum P {
        Any,
        One,
        Char(char),
    }
    let mut pat = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        pat.push(match c {
            '%' => P::Any,
            '_' => P::One,
            '\\' => P::Char(chars.next().unwrap_or('\\')),
            c => P::Char(c),
        });
    }
    let text: Vec<char> = s.chars().collect();
    // Greedy matching with one backtrack point (the last `%`): linear in
    // practice, at worst text x pattern.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pat.get(p) {
            Some(P::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(P::One) => {
                t += 1;
                p += 1;
            }
            Some(P::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|x| *x == P::Any)
}

fn spatial(op: SpatialOp, literal: &Geometry<f64>, rect: Option<Rect<f64>>, g: &FeatureGeometry) -> bool {
    let owned;
    let (feature, frect) = match g {
        FeatureGeometry::Point(c) => {
            owned = Geometry::Point(Point(*c));
            (&owned, Some(Rect::new(*c, *c)))
        }
        FeatureGeometry::Other(b) => (b.as_ref(), b.bounding_rect()),
    };
    let boxes_meet = match (rect, frect) {
        (Some(a), Some(b)) => a.intersects(&b),
        _ => false,
    };
    if !boxes_meet {
        return op == SpatialOp::Disjoint;
    }
    relate(op, feature, literal)
}

/// `a op b` for two geometries.
pub(super) fn relate(op: SpatialOp, a: &Geometry<f64>, b: &Geometry<f64>) -> bool {
    use geo::CoordsIter;
    if a.coords_count() == 0 || b.coords_count() == 0 {
        return op == SpatialOp::Disjoint;
    }
    match op {
        SpatialOp::Intersects => a.intersects(b),
        SpatialOp::Disjoint => !a.intersects(b),
        _ => {
            let m = a.relate(b);
            match op {
                SpatialOp::Equals => m.is_equal_topo(),
                SpatialOp::Touches => m.is_touches(),
                SpatialOp::Within => m.is_within(),
                SpatialOp::Overlaps => m.is_overlaps(),
                SpatialOp::Crosses => m.is_crosses(),
                _ => m.is_contains(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_handles_wildcards_and_escapes() {
        for (s, p, want) in [
            ("Saint-Médard-en-Jalles", "Saint-%", true),
            ("Saint-Médard-en-Jalles", "%Jalles", true),
            ("Saint-Médard-en-Jalles", "%M_dard%", true),
            ("Bordeaux", "Bord_aux", true),
            ("Bordeaux", "bordeaux", false),
            ("Bordeaux", "Bordeaux%", true),
            ("Bordeaux", "%%x", true),
            ("50%", "50\\%", true),
            ("500", "50\\%", false),
            ("", "%", true),
            ("", "_", false),
            ("aXbXc", "a%b%c", true),
            ("aXbXd", "a%b%c", false),
        ] {
            assert_eq!(like(s, p), want, "{s} LIKE {p}");
        }
    }

    #[test]
    fn values_of_different_kinds_do_not_compare() {
        assert_eq!(compare(V::Num(1.0), V::Str("1")), None);
        assert_eq!(
            compare(V::Str("2024-05-31T10:00:00Z"), V::Date(NaiveDate::from_ymd_opt(2024, 5, 31).unwrap())),
            Some(Ordering::Equal)
        );
        assert_eq!(compare(V::Str("b"), V::Str("a")), Some(Ordering::Greater));
    }
}
