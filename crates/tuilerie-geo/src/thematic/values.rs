//! The value stages: each polygon's value (a property or joined column, a
//! count / sum / mean of points inside, or the distance to the nearest
//! facility), then the ratio. A feature left without a value is no data,
//! with the reason and the place (table line, column or property).

use super::aggregate::{aggregate, areas_km2, distance_to_nearest};
use super::join::Joined;
use super::spec::{Per, RatioSpec, ValueSpec};
use super::table::parse_number;
use super::ThematicError;
use crate::catalog::Catalog;
use crate::layer::Layer;
use crate::profile::ClassMask;
use crate::properties::Value;
use serde::Serialize;
use std::sync::Arc;

/// A feature left without a value, and why.
#[derive(Debug, Clone, Serialize)]
pub struct NoData {
    pub feature: usize,
    pub key: String,
    pub label: String,
    pub reason: String,
}

/// What the value stages read, and the no-data records they write.
pub struct ValueContext<'a> {
    pub layer: &'a Layer,
    pub joined: &'a Joined,
    pub labels: &'a [String],
    pub no_data: Vec<NoData>,
}

/// Where a named value comes from: the joined table first, then the layer.
enum Source {
    Column(usize),
    Property(String),
}

fn numeric(v: Value<'_>) -> Result<Option<f64>, String> {
    match v {
        Value::Null => Ok(None),
        Value::Int(i) => Ok(Some(i as f64)),
        Value::Float(x) if x.is_finite() => Ok(Some(x)),
        Value::Float(_) => Ok(None),
        Value::Bool(_) => Err("a boolean".into()),
        Value::String(s) | Value::Json(s) => {
            if s.trim().is_empty() {
                Ok(None)
            } else {
                parse_number(s).map(Some).ok_or_else(|| format!("{s:?}"))
            }
        }
    }
}

impl ValueContext<'_> {
    /// Records that feature `i` has no value, and why.
    fn missing(&mut self, i: usize, reason: String) {
        self.no_data.push(NoData {
            feature: i,
            key: self.joined.keys[i].clone(),
            label: self.labels[i].clone(),
            reason,
        });
    }

    fn source(&self, name: &str, parameter: &str) -> Result<Source, ThematicError> {
        if let Some(t) = &self.joined.table {
            if let Some(c) = t.columns.iter().position(|c| c == name) {
                return Ok(Source::Column(c));
            }
        }
        if self.layer.field_id(name).is_some() {
            return Ok(Source::Property(name.to_string()));
        }
        let mut known: Vec<String> = self.layer.meta().fields.iter().map(|f| f.name.clone()).collect();
        if let Some(t) = &self.joined.table {
            known.extend(t.columns.iter().cloned());
        }
        Err(ThematicError::new(parameter, format!("no field or column {name:?}; available: {}", known.join(", "))))
    }

    /// The number `src` holds for feature `i`, or no data.
    fn read(&mut self, src: &Source, i: usize, what: &str) -> Option<f64> {
        let (res, place) = match src {
            Source::Column(c) => {
                let t = self.joined.table.as_ref()?;
                match self.joined.row_of[i] {
                    Some(r) => (
                        numeric(Value::String(t.cell(r, *c))),
                        format!("{} line {}, column {}", t.name, t.line(r), t.columns[*c]),
                    ),
                    None => {
                        self.missing(i, format!("{what}: no row in the joined table"));
                        return None;
                    }
                }
            }
            Source::Property(p) => {
                (numeric(self.layer.feature(i).property(p).unwrap_or(Value::Null)), format!("property {p}"))
            }
        };
        match res {
            Ok(Some(v)) => Some(v),
            Ok(None) => {
                self.missing(i, format!("{what}: empty ({place})"));
                None
            }
            Err(bad) => {
                self.missing(i, format!("{what}: {bad} is not a number ({place})"));
                None
            }
        }
    }
}

fn point_layers(catalog: &Catalog, ids: &[String]) -> Result<Vec<Arc<Layer>>, ThematicError> {
    ids.iter()
        .map(|id| {
            catalog.get(id).cloned().ok_or_else(|| {
                ThematicError::new("value", format!("unknown layer {id:?}; layers are {}", catalog.ids().join(", ")))
            })
        })
        .collect()
}

/// The value of every polygon.
pub fn values(
    spec: &ValueSpec,
    cx: &mut ValueContext<'_>,
    catalog: &Catalog,
) -> Result<Vec<Option<f64>>, ThematicError> {
    let n = cx.layer.len();
    match spec {
        ValueSpec::Field(f) => {
            let src = cx.source(f, "value.field")?;
            Ok((0..n).map(|i| cx.read(&src, i, f)).collect())
        }
        ValueSpec::Count { layers, accepts } => {
            let a = points_inside(cx.layer, &point_layers(catalog, layers)?, None, *accepts)?;
            Ok(a.counts.iter().map(|&c| Some(c as f64)).collect())
        }
        ValueSpec::Sum { layers, property, accepts } => {
            let a = points_inside(cx.layer, &point_layers(catalog, layers)?, Some(property), *accepts)?;
            Ok(a.totals.into_iter().map(Some).collect())
        }
        ValueSpec::Mean { layers, property, accepts } => {
            let a = points_inside(cx.layer, &point_layers(catalog, layers)?, Some(property), *accepts)?;
            Ok((0..n)
                .map(|i| {
                    if a.with_value[i] > 0 {
                        Some(a.totals[i] / a.with_value[i] as f64)
                    } else {
                        cx.missing(i, "mean of no point".into());
                        None
                    }
                })
                .collect())
        }
        ValueSpec::Distance { layers, accepts } => {
            let facilities = point_layers(catalog, layers)?;
            let refs: Vec<&Layer> = facilities.iter().map(|l| l.as_ref()).collect();
            let d = distance_to_nearest(cx.layer, &refs, *accepts);
            Ok(d.into_iter()
                .enumerate()
                .map(|(i, x)| {
                    if x.is_none() {
                        cx.missing(i, "no facility found".into());
                    }
                    x
                })
                .collect())
        }
    }
}

/// Counts, totals of `property` and points with a value, per polygon, over
/// the points of `layers` that accept `accepts`.
struct Inside {
    counts: Vec<u32>,
    totals: Vec<f64>,
    with_value: Vec<u32>,
}

fn points_inside(
    polygons: &Layer,
    layers: &[Arc<Layer>],
    property: Option<&String>,
    accepts: ClassMask,
) -> Result<Inside, ThematicError> {
    let n = polygons.len();
    let mut out = Inside { counts: vec![0; n], totals: vec![0.0; n], with_value: vec![0; n] };
    for points in layers {
        if let Some(p) = property {
            if points.field_id(p).is_none() {
                return Err(ThematicError::new(
                    "value.property",
                    format!("layer {:?} has no property {p:?}", points.id().as_str()),
                ));
            }
        }
        let a = aggregate(
            polygons,
            points,
            |i| accepts == 0 || points.mask(i) & accepts == accepts,
            |i| property.and_then(|p| numeric(points.feature(i).property(p).unwrap_or(Value::Null)).ok().flatten()),
        );
        for i in 0..n {
            out.totals[i] += a.sum[i];
            out.counts[i] += a.count[i];
            out.with_value[i] += a.with_value[i];
        }
    }
    Ok(out)
}

/// Divides each value by its denominator and multiplies by the scale; a
/// zero or missing denominator is no data.
/// The values divided by their denominators (times the scale), and the
/// denominators (for exports).
#[allow(clippy::type_complexity)]
pub fn ratio(
    spec: &RatioSpec,
    values: Vec<Option<f64>>,
    cx: &mut ValueContext<'_>,
) -> Result<(Vec<Option<f64>>, Vec<Option<f64>>), ThematicError> {
    let (denominators, name): (Vec<Option<f64>>, &str) = match &spec.per {
        Per::Km2 => (areas_km2(cx.layer).into_iter().map(|a| (a > 0.0).then_some(a)).collect(), "km2"),
        Per::Field(f) => {
            let src = cx.source(f, "ratio.per")?;
            ((0..values.len()).map(|i| if values[i].is_some() { cx.read(&src, i, f) } else { None }).collect(), f)
        }
    };
    let divided = values
        .into_iter()
        .zip(denominators.iter().copied())
        .enumerate()
        .map(|(i, v)| match v {
            (Some(x), Some(d)) if d != 0.0 => Some(x / d * spec.scale),
            (Some(_), Some(_)) => {
                cx.missing(i, format!("{name} is 0"));
                None
            }
            _ => None,
        })
        .collect();
    Ok((divided, denominators))
}
