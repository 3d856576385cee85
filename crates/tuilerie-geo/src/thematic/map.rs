//! A thematic map: a polygon layer, optionally joined to a CSV table, a
//! value per feature (a property, a count / sum / mean of points inside, or
//! the distance to the nearest facility), an optional ratio (per km², per
//! 1,000 inhabitants...), classes and a palette. Building one yields a
//! derived layer (the polygons with `value` and `class`) served as tiles.

use super::aggregate::{aggregate, areas_km2, distance_to_nearest};
use super::classify::{classify, Classes, Method};
use super::table::{parse_number, Table};
use super::{palette, ThematicError};
use crate::build::{LayerBuilder, SourceId};
use crate::options::LoadOptions;
use crate::catalog::Catalog;
use crate::features::FeatureId;
use crate::layer::{Layer, LayerId};
use crate::properties::Value;
use crate::reproject::Reprojector;
use crate::waste::{words_mask, CategoryMask, Taxonomy};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Colour of features without a value.
pub const NO_DATA_COLOR: &str = "#d9d9d9";

/// What a map shows, as written in the config file or posted as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapDefinition {
    /// Letters, digits, `-`, `_`, `.`; from the title when absent.
    #[serde(default)]
    pub id: Option<String>,
    pub title: String,
    /// The polygon layer.
    pub layer: String,
    #[serde(default)]
    pub join: Option<JoinDefinition>,
    pub value: ValueDefinition,
    #[serde(default)]
    pub ratio: Option<RatioDefinition>,
    /// `equal_interval`, `quantile`, `natural_breaks`, `std_dev` or `manual`.
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default = "default_classes")]
    pub classes: usize,
    /// Inner class limits for `manual`.
    #[serde(default)]
    pub breaks: Vec<f64>,
    #[serde(default = "default_palette")]
    pub palette: String,
    #[serde(default)]
    pub reverse: bool,
    /// Property naming each feature (legend of exports, popups); default `nom`/`name` when present.
    #[serde(default)]
    pub label_field: Option<String>,
    /// Unit written in the legend, e.g. `hab./km²`.
    #[serde(default)]
    pub unit: Option<String>,
    /// Source line of exports.
    #[serde(default)]
    pub source: Option<String>,
}

fn default_method() -> String {
    "quantile".into()
}
fn default_classes() -> usize {
    5
}
fn default_palette() -> String {
    "YlOrRd".into()
}

/// A CSV table joined to the layer: `table` (its id), the CSV `key` column
/// and the layer `field` holding the same codes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinDefinition {
    pub table: String,
    pub key: String,
    pub field: String,
}

/// The value of each polygon: exactly one of `field`, `count`, `sum`,
/// `mean`, `distance`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueDefinition {
    /// A property of the layer or a column of the joined table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Points of this layer inside each polygon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<String>,
    /// Sum of `property` over the points of this layer inside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum: Option<String>,
    /// Mean of `property` over the points of this layer inside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<String>,
    /// Geodesic metres from a point inside each polygon to the nearest
    /// facility of this layer (comma-separated layers allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// Only points accepting these wastes (categories, keys or words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepts: Option<String>,
}

/// Divide the value by `per` (`km2`: the geodesic area; otherwise a field)
/// and multiply by `scale` (1000 for "per 1,000 inhabitants").
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatioDefinition {
    pub per: String,
    #[serde(default = "one")]
    pub scale: f64,
}

fn one() -> f64 {
    1.0
}

/// How the join went.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JoinReport {
    pub table: String,
    pub rows: usize,
    pub features: usize,
    /// Features that found a row.
    pub matched: usize,
    /// Keys of features without a row.
    pub unmatched_features: Vec<String>,
    /// Rows whose key matches no feature: (line, key).
    pub unmatched_rows: Vec<(usize, String)>,
    /// Keys present on several rows (the first row is used): (key, lines).
    pub duplicate_keys: Vec<(String, Vec<usize>)>,
}

/// A feature left without a value, and why.
#[derive(Debug, Clone, Serialize)]
pub struct NoData {
    pub feature: usize,
    pub key: String,
    pub label: String,
    pub reason: String,
}

/// One class of the legend.
#[derive(Debug, Clone, Serialize)]
pub struct LegendEntry {
    pub class: usize,
    pub lower: f64,
    pub upper: f64,
    pub color: String,
    pub count: usize,
    pub label: String,
}

/// A built map.
#[derive(Debug)]
pub struct ThematicMap {
    pub id: String,
    pub definition: MapDefinition,
    /// The polygons with `value` and `class` (and the source properties).
    pub layer: Arc<Layer>,
    pub values: Vec<Option<f64>>,
    pub classes: Classes,
    pub colors: Vec<String>,
    pub join: Option<JoinReport>,
    pub no_data: Vec<NoData>,
    pub warnings: Vec<String>,
    /// Feature labels (label field), for reports and exports.
    pub labels: Vec<String>,
}

/// What a map definition may refer to.
pub struct MapInputs<'a> {
    pub catalog: &'a Catalog,
    pub tables: &'a HashMap<String, Arc<Table>>,
}

fn slug(s: &str) -> String {
    let folded = crate::text::fold(s);
    let mut out = String::new();
    for c in folded.chars().map(|c| if c == '²' { '2' } else { c }) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(60).collect()
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

fn key_text(v: Option<Value<'_>>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::Int(i) => Some(i.to_string()),
        Value::Float(x) => Some(x.to_string()),
        Value::String(s) | Value::Json(s) => Some(s.trim().to_string()),
        Value::Bool(b) => Some(b.to_string()),
    }
}

fn waste_mask(accepts: &Option<String>) -> Result<CategoryMask, ThematicError> {
    let Some(a) = accepts.as_deref().filter(|a| !a.trim().is_empty()) else { return Ok(0) };
    let t = Taxonomy::builtin();
    let mut mask = 0;
    for word in a.split(',') {
        let m = words_mask(word, t);
        if m == 0 {
            return Err(ThematicError::new("value.accepts", format!("unknown waste {word:?} (see /waste-categories)")));
        }
        mask |= m;
    }
    Ok(mask)
}

/// A value source: the joined table's column or the layer's property.
enum Source {
    Column(usize),
    Property(String),
}

impl ThematicMap {
    /// Builds the map: join, values, ratio, classes, palette, derived layer.
    pub fn build(definition: MapDefinition, inputs: &MapInputs<'_>) -> Result<ThematicMap, ThematicError> {
        let d = &definition;
        if d.title.trim().is_empty() {
            return Err(ThematicError::new("title", "a map needs a title"));
        }
        let id = d.id.clone().unwrap_or_else(|| slug(&d.title));
        LayerId::new(&id).map_err(|e| ThematicError::new("id", format!("map id {id:?}: {e}")))?;
        let layer = inputs.catalog.get(&d.layer).cloned().ok_or_else(|| {
            ThematicError::new("layer", format!("unknown layer {:?}; layers are {}", d.layer, inputs.catalog.ids().join(", ")))
        })?;
        let polygonal = layer.meta().geometry_kinds.iter().any(|k| matches!(k, crate::GeometryKind::Polygon | crate::GeometryKind::MultiPolygon));
        if !polygonal {
            return Err(ThematicError::new("layer", format!("layer {:?} has no polygons", d.layer)));
        }
        let method = Method::parse(&d.method)?;
        let n = layer.len();
        let mut warnings = Vec::new();
        let field_names: Vec<&str> = layer.meta().fields.iter().map(|f| f.name.as_str()).collect();
        let label_field = d
            .label_field
            .clone()
            .or_else(|| ["nom", "name", "NOM", "libelle", "nom_commune"].iter().find(|f| field_names.contains(f)).map(|s| s.to_string()));
        let labels: Vec<String> = (0..n)
            .map(|i| label_field.as_deref().and_then(|f| key_text(layer.feature(i).property(f))).unwrap_or_else(|| format!("#{i}")))
            .collect();

        // Join.
        let mut row_of: Vec<Option<usize>> = vec![None; n];
        let mut table: Option<Arc<Table>> = None;
        let mut join_report = None;
        let mut keys: Vec<String> = labels.clone();
        if let Some(j) = &d.join {
            let t = inputs.tables.get(&j.table).cloned().ok_or_else(|| {
                let mut known: Vec<&str> = inputs.tables.keys().map(String::as_str).collect();
                known.sort();
                ThematicError::new("join.table", format!("unknown table {:?}; tables are {}", j.table, known.join(", ")))
            })?;
            let key_col = t.column(&j.key, "join.key")?;
            if !field_names.contains(&j.field.as_str()) {
                return Err(ThematicError::new("join.field", format!("layer {:?} has no field {:?}; fields are {}", d.layer, j.field, field_names.join(", "))));
            }
            let mut by_key: HashMap<&str, usize> = HashMap::new();
            let mut dups: HashMap<String, Vec<usize>> = HashMap::new();
            for (r, row) in t.rows.iter().enumerate() {
                let k = row[key_col].as_str();
                if k.is_empty() {
                    continue;
                }
                if let Some(&first) = by_key.get(k) {
                    dups.entry(k.to_string()).or_insert_with(|| vec![t.lines[first]]).push(t.lines[r]);
                } else {
                    by_key.insert(k, r);
                }
            }
            let mut report = JoinReport { table: t.name.clone(), rows: t.rows.len(), features: n, ..Default::default() };
            let mut used = vec![false; t.rows.len()];
            for i in 0..n {
                let k = key_text(layer.feature(i).property(&j.field)).unwrap_or_default();
                match by_key.get(k.as_str()) {
                    Some(&r) => {
                        row_of[i] = Some(r);
                        used[r] = true;
                        report.matched += 1;
                    }
                    None => report.unmatched_features.push(k.clone()),
                }
                keys[i] = k;
            }
            for (r, row) in t.rows.iter().enumerate() {
                if !row[key_col].is_empty() && by_key.get(row[key_col].as_str()) == Some(&r) && !used[r] {
                    report.unmatched_rows.push((t.lines[r], row[key_col].clone()));
                }
            }
            let mut dups: Vec<(String, Vec<usize>)> = dups.into_iter().collect();
            dups.sort();
            if !dups.is_empty() {
                warnings.push(format!("{} keys appear on several rows of {}; the first row is used", dups.len(), t.name));
            }
            report.duplicate_keys = dups;
            if report.matched == 0 {
                warnings.push(format!("no feature matched: is {:?} the column holding the values of {:?}?", j.key, j.field));
            }
            join_report = Some(report);
            table = Some(t);
        }

        // A value source by name: the joined table first, then the layer.
        let source_of = |name: &str, parameter: &str| -> Result<Source, ThematicError> {
            if let Some(t) = &table {
                if let Some(c) = t.columns.iter().position(|c| c == name) {
                    return Ok(Source::Column(c));
                }
            }
            if field_names.contains(&name) {
                return Ok(Source::Property(name.to_string()));
            }
            let mut known: Vec<String> = field_names.iter().map(|s| s.to_string()).collect();
            if let Some(t) = &table {
                known.extend(t.columns.iter().cloned());
            }
            Err(ThematicError::new(parameter, format!("no field or column {name:?}; available: {}", known.join(", "))))
        };
        let mut no_data: Vec<NoData> = Vec::new();
        let read = |src: &Source, i: usize, what: &str, no_data: &mut Vec<NoData>| -> Option<f64> {
            let (res, place) = match src {
                Source::Column(c) => match row_of[i] {
                    Some(r) => {
                        let t = table.as_ref()?;
                        let cell = t.rows[r][*c].as_str();
                        (numeric(Value::String(cell)), format!("{} line {}, column {}", t.name, t.lines[r], t.columns[*c]))
                    }
                    None => {
                        no_data.push(NoData { feature: i, key: keys[i].clone(), label: labels[i].clone(), reason: format!("{what}: no row in the joined table") });
                        return None;
                    }
                },
                Source::Property(p) => (numeric(layer.feature(i).property(p).unwrap_or(Value::Null)), format!("property {p}")),
            };
            match res {
                Ok(Some(v)) => Some(v),
                Ok(None) => {
                    no_data.push(NoData { feature: i, key: keys[i].clone(), label: labels[i].clone(), reason: format!("{what}: empty ({place})") });
                    None
                }
                Err(bad) => {
                    no_data.push(NoData { feature: i, key: keys[i].clone(), label: labels[i].clone(), reason: format!("{what}: {bad} is not a number ({place})") });
                    None
                }
            }
        };

        // Values.
        let v = &d.value;
        let chosen = [&v.field, &v.count, &v.sum, &v.mean, &v.distance].iter().filter(|o| o.is_some()).count();
        if chosen != 1 {
            return Err(ThematicError::new("value", "give exactly one of value.field, value.count, value.sum, value.mean, value.distance"));
        }
        let point_layers = |list: &str| -> Result<Vec<Arc<Layer>>, ThematicError> {
            list.split(',')
                .map(|id| {
                    inputs.catalog.get(id.trim()).cloned().ok_or_else(|| {
                        ThematicError::new("value", format!("unknown layer {id:?}; layers are {}", inputs.catalog.ids().join(", ")))
                    })
                })
                .collect()
        };
        let mask = waste_mask(&v.accepts)?;
        let mut values: Vec<Option<f64>> = if let Some(f) = &v.field {
            let src = source_of(f, "value.field")?;
            (0..n).map(|i| read(&src, i, f, &mut no_data)).collect()
        } else if let Some(list) = v.count.as_ref().or(v.sum.as_ref()).or(v.mean.as_ref()) {
            let prop = if v.count.is_none() {
                Some(v.property.clone().ok_or_else(|| ThematicError::new("value.property", "sum and mean need value.property, the numeric property of the points"))?)
            } else {
                None
            };
            let mut totals = vec![0.0; n];
            let mut counts = vec![0u32; n];
            let mut with = vec![0u32; n];
            for points in point_layers(list)? {
                if let Some(p) = &prop {
                    if points.field_id(p).is_none() {
                        return Err(ThematicError::new("value.property", format!("layer {:?} has no property {p:?}", points.id().as_str())));
                    }
                }
                let a = aggregate(
                    &layer,
                    &points,
                    |i| mask == 0 || points.profile().mask(i) & mask == mask,
                    |i| prop.as_deref().and_then(|p| numeric(points.feature(i).property(p).unwrap_or(Value::Null)).ok().flatten()),
                );
                for i in 0..n {
                    totals[i] += a.sum[i];
                    counts[i] += a.count[i];
                    with[i] += a.with_value[i];
                }
            }
            (0..n)
                .map(|i| {
                    if v.count.is_some() {
                        Some(counts[i] as f64)
                    } else if v.sum.is_some() {
                        Some(totals[i])
                    } else if with[i] > 0 {
                        Some(totals[i] / with[i] as f64)
                    } else {
                        no_data.push(NoData { feature: i, key: keys[i].clone(), label: labels[i].clone(), reason: "mean of no point".into() });
                        None
                    }
                })
                .collect()
        } else {
            let list = v.distance.as_deref().unwrap_or_default();
            let facilities = point_layers(list)?;
            let refs: Vec<&Layer> = facilities.iter().map(|l| l.as_ref()).collect();
            let d = distance_to_nearest(&layer, &refs, mask);
            d.into_iter()
                .enumerate()
                .map(|(i, x)| {
                    if x.is_none() {
                        no_data.push(NoData { feature: i, key: keys[i].clone(), label: labels[i].clone(), reason: "no facility found".into() });
                    }
                    x
                })
                .collect()
        };

        // Ratio.
        if let Some(r) = &d.ratio {
            if !(r.scale.is_finite() && r.scale > 0.0) {
                return Err(ThematicError::new("ratio.scale", format!("scale must be a positive number, got {}", r.scale)));
            }
            let denominators: Vec<Option<f64>> = if r.per == "km2" {
                areas_km2(&layer).into_iter().map(|a| (a > 0.0).then_some(a)).collect()
            } else {
                let src = source_of(&r.per, "ratio.per")?;
                (0..n).map(|i| if values[i].is_some() { read(&src, i, &r.per, &mut no_data) } else { None }).collect()
            };
            for (i, den) in denominators.into_iter().enumerate() {
                values[i] = match (values[i], den) {
                    (Some(x), Some(dv)) if dv != 0.0 => Some(x / dv * r.scale),
                    (Some(_), Some(_)) => {
                        no_data.push(NoData { feature: i, key: keys[i].clone(), label: labels[i].clone(), reason: format!("{} is 0", r.per) });
                        None
                    }
                    _ => None,
                };
            }
        }
        no_data.sort_by_key(|x| x.feature);
        no_data.dedup_by_key(|x| x.feature);

        // Classes and colours.
        let classes = classify(&values, &method, d.classes, &d.breaks)?;
        let colors = palette::colors(&d.palette, classes.breaks.len(), d.reverse)?;
        warnings.extend(classes.warnings.iter().cloned());

        let derived = derived_layer(&id, &d.title, &layer, &values, &classes, table.as_deref(), &row_of)?;
        Ok(ThematicMap {
            id,
            definition,
            layer: Arc::new(derived),
            values,
            classes,
            colors,
            join: join_report,
            no_data,
            warnings,
            labels,
        })
    }

    /// The legend: one entry per class, plus no data when there is some.
    pub fn legend(&self) -> Vec<LegendEntry> {
        let unit = self.definition.unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default();
        (0..self.classes.breaks.len())
            .map(|i| {
                let (lower, upper) = self.classes.bounds(i);
                LegendEntry {
                    class: i,
                    lower,
                    upper,
                    color: self.colors[i].clone(),
                    count: self.classes.counts[i],
                    label: format!("{} – {}{unit}", format_number(lower), format_number(upper)),
                }
            })
            .collect()
    }
}

/// A number for legends: French grouping, at most 3 significant decimals.
pub fn format_number(x: f64) -> String {
    let digits = if x.abs() >= 100.0 { 0 } else if x.abs() >= 10.0 { 1 } else { 2 };
    let s = format!("{:.*}", digits, x);
    let (int, frac) = s.split_once('.').map(|(a, b)| (a.to_string(), Some(b.trim_end_matches('0').to_string()))).unwrap_or((s.clone(), None));
    let (sign, digits_part) = int.strip_prefix('-').map(|d| ("-", d)).unwrap_or(("", int.as_str()));
    let mut grouped = String::new();
    for (i, c) in digits_part.chars().enumerate() {
        if i > 0 && (digits_part.len() - i) % 3 == 0 {
            grouped.push('\u{202f}');
        }
        grouped.push(c);
    }
    match frac.filter(|f| !f.is_empty()) {
        Some(f) => format!("{sign}{grouped},{f}"),
        None => format!("{sign}{grouped}"),
    }
}

fn derived_layer(
    id: &str,
    title: &str,
    source: &Layer,
    values: &[Option<f64>],
    classes: &Classes,
    table: Option<&Table>,
    row_of: &[Option<usize>],
) -> Result<Layer, ThematicError> {
    let layer_id = LayerId::new(id).map_err(|e| ThematicError::new("id", e))?;
    let options = LoadOptions {
        id: Some(layer_id),
        title: Some(title.to_string()),
        tiles: crate::TileSettings { clustering: crate::Clustering::Off, ..Default::default() },
        profile: crate::ProfileOptions::Plain,
        ..Default::default()
    };
    let mut b = LayerBuilder::new(&PathBuf::from(format!("map:{id}")), options, Reprojector::identity());
    let err = |e: crate::GeoError| ThematicError::new("layer", e.to_string());
    for (i, f) in source.features().enumerate() {
        match f.id() {
            FeatureId::Int(x) => b.set_id(SourceId::Int(x)).map_err(err)?,
            FeatureId::Str(s) => b.set_id(SourceId::Str(s.into())).map_err(err)?,
        }
        for (k, v) in f.properties() {
            b.property(k, v, None).map_err(err)?;
        }
        if let (Some(t), Some(r)) = (table, row_of[i]) {
            for (c, name) in t.columns.iter().enumerate() {
                if f.property(name).is_none() {
                    b.property(name, Value::String(&t.rows[r][c]), None).map_err(err)?;
                }
            }
        }
        match values[i] {
            Some(v) => {
                b.property("value", Value::Float(v), None).map_err(err)?;
                b.property("class", Value::Int(classes.class_of(v) as i64), None).map_err(err)?;
            }
            None => {
                b.property("value", Value::Null, None).map_err(err)?;
                b.property("class", Value::Int(-1), None).map_err(err)?;
            }
        }
        b.end_feature(Ok(f.geometry().to_geometry())).map_err(err)?;
    }
    Ok(b.finish("thematic map", "derived from a loaded layer", None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_the_french_way() {
        assert_eq!(format_number(1234567.0), "1\u{202f}234\u{202f}567");
        assert_eq!(format_number(12.26), "12,3");
        assert_eq!(format_number(0.5), "0,5");
        assert_eq!(format_number(-1500.0), "-1\u{202f}500");
        assert_eq!(format_number(3.0), "3");
    }

    #[test]
    fn slugs_fold_accents() {
        assert_eq!(slug("Densité de population (hab./km²)"), "densite-de-population-hab-km2");
    }
}
