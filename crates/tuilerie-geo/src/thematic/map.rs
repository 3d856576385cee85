//! A thematic map: a polygon layer, optionally joined to a CSV table, a
//! value per feature, an optional ratio, classes and a palette. Building
//! one runs the stages in order: [`MapSpec`] (check the definition) →
//! [`join`](super::join::join) → [`values`](super::values::values) →
//! [`ratio`](super::values::ratio) → [`classify`] → colours → the derived
//! layer (the polygons with `value` and `class`) served as tiles.

use super::classify::{classify, Classes};
use super::join::{join, key_text, JoinReport, Joined};
use super::spec::{MapDefinition, MapSpec};
use super::table::Table;
use super::values::{ratio, values, NoData, ValueContext};
use super::ThematicError;
use crate::build::{LayerBuilder, SourceId};
use crate::catalog::Catalog;
use crate::features::FeatureId;
use crate::geometry::GeometryKind;
use crate::layer::Layer;
use crate::options::{LoadOptions, ProfileOptions};
use crate::properties::Value;
use crate::reproject::Reprojector;
use crate::tiling::{Clustering, TileSettings};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Colour of features without a value.
pub const NO_DATA_COLOR: &str = "#d9d9d9";

/// Legend label of features without a value.
pub const NO_DATA_LABEL: &str = "Pas de donnée / no data";

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
    /// The definition as given (echoed by APIs).
    pub definition: MapDefinition,
    /// The definition checked and typed.
    pub spec: MapSpec,
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
    /// Each feature's join key (its label without a join).
    pub keys: Vec<String>,
    /// With a ratio: the values before division and the denominators.
    pub ratio_inputs: Option<RatioInputs>,
}

/// What a ratio divided, per feature.
#[derive(Debug, Clone)]
pub struct RatioInputs {
    pub numerators: Vec<Option<f64>>,
    pub denominators: Vec<Option<f64>>,
}

/// What a map definition may refer to.
pub struct MapInputs<'a> {
    pub catalog: &'a Catalog,
    pub tables: &'a HashMap<String, Arc<Table>>,
}

impl ThematicMap {
    /// Checks the definition, then builds the map stage by stage.
    pub fn build(definition: MapDefinition, inputs: &MapInputs<'_>) -> Result<ThematicMap, ThematicError> {
        let spec = MapSpec::try_from(definition.clone())?;
        let layer = polygon_layer(&spec, inputs.catalog)?;
        let labels = labels(&spec, &layer);
        let joined = join(spec.join.as_ref(), &layer, inputs.tables, &labels)?;
        let mut cx = ValueContext { layer: &layer, joined: &joined, labels: &labels, no_data: Vec::new() };
        let mut values = values(&spec.value, &mut cx, inputs.catalog)?;
        let mut ratio_inputs = None;
        if let Some(r) = &spec.ratio {
            let (divided, denominators) = ratio(r, values.clone(), &mut cx)?;
            ratio_inputs = Some(RatioInputs { numerators: std::mem::replace(&mut values, divided), denominators });
        }
        let mut no_data = cx.no_data;
        no_data.sort_by_key(|x| x.feature);
        no_data.dedup_by_key(|x| x.feature);
        let classes = classify(&values, &spec.method, spec.classes, &spec.breaks)?;
        let colors = spec.palette.colors(classes.breaks.len(), spec.reverse)?;
        let mut warnings = joined.warnings.clone();
        warnings.extend(classes.warnings.iter().cloned());
        let derived = derived_layer(&spec, &layer, &values, &classes, &joined)?;
        Ok(ThematicMap {
            id: spec.id.as_str().to_string(),
            definition,
            spec,
            layer: Arc::new(derived),
            values,
            classes,
            colors,
            join: joined.report,
            no_data,
            warnings,
            labels,
            keys: joined.keys,
            ratio_inputs,
        })
    }

    /// The legend: one entry per class, plus no data when there is some.
    pub fn legend(&self) -> Vec<LegendEntry> {
        let unit = self.spec.unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default();
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
    let digits = if x.abs() >= 100.0 {
        0
    } else if x.abs() >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{:.*}", digits, x);
    let (int, frac) = s
        .split_once('.')
        .map(|(a, b)| (a.to_string(), Some(b.trim_end_matches('0').to_string())))
        .unwrap_or((s.clone(), None));
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

/// The map's layer, which must have polygons.
fn polygon_layer(spec: &MapSpec, catalog: &Catalog) -> Result<Arc<Layer>, ThematicError> {
    let layer = catalog.get(&spec.layer).cloned().ok_or_else(|| {
        ThematicError::new("layer", format!("unknown layer {:?}; layers are {}", spec.layer, catalog.ids().join(", ")))
    })?;
    let polygonal =
        layer.meta().geometry_kinds.iter().any(|k| matches!(k, GeometryKind::Polygon | GeometryKind::MultiPolygon));
    if !polygonal {
        return Err(ThematicError::new("layer", format!("layer {:?} has no polygons", spec.layer)));
    }
    Ok(layer)
}

/// Each feature's name in reports: the label field, else `nom`/`name`
/// when present, else `#index`.
fn labels(spec: &MapSpec, layer: &Layer) -> Vec<String> {
    let label_field = spec.label_field.clone().or_else(|| layer.name_field().map(str::to_string));
    (0..layer.len())
        .map(|i| {
            label_field
                .as_deref()
                .and_then(|f| key_text(layer.feature(i).property(f)))
                .unwrap_or_else(|| format!("#{i}"))
        })
        .collect()
}

/// The derived layer: the source polygons with their properties, the
/// joined columns they lack, `value` and `class` (-1 for no data); no
/// profile (no waste categories), no clusters.
fn derived_layer(
    spec: &MapSpec,
    source: &Layer,
    values: &[Option<f64>],
    classes: &Classes,
    joined: &Joined,
) -> Result<Layer, ThematicError> {
    let options = LoadOptions {
        id: Some(spec.id.clone()),
        title: Some(spec.title.clone()),
        tiles: TileSettings { clustering: Clustering::Off, ..Default::default() },
        profile: ProfileOptions::Plain,
        ..Default::default()
    };
    let (table, row_of) = (joined.table.as_deref(), &joined.row_of);
    let mut b = LayerBuilder::new(&PathBuf::from(format!("map:{}", spec.id)), options, Reprojector::identity());
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
                    b.property(name, Value::String(t.cell(r, c)), None).map_err(err)?;
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
}
