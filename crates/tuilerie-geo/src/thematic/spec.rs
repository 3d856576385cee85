//! A map definition: as written (config file, posted JSON: strings and
//! optional members, [`MapDefinition`]), then checked once into a typed
//! [`MapSpec`] (enums for the method, the palette and the five kinds of
//! value; every error names its parameter). Checks that need the loaded
//! layers and tables (layer, fields, join keys) happen when the map is built.

use super::classify::{class_count, Method};
use super::palette::Palette;
use super::ThematicError;
use crate::layer::LayerId;
use crate::profile::ClassMask;
use crate::waste::{words_mask, Taxonomy};
use serde::{Deserialize, Serialize};

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// What each polygon's value is.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueSpec {
    /// A property of the layer or a column of the joined table.
    Field(String),
    /// Points of `layers` inside each polygon.
    Count { layers: Vec<String>, accepts: ClassMask },
    /// Sum of `property` over the points inside.
    Sum { layers: Vec<String>, property: String, accepts: ClassMask },
    /// Mean of `property` over the points inside.
    Mean { layers: Vec<String>, property: String, accepts: ClassMask },
    /// Geodesic metres from a point inside to the nearest facility.
    Distance { layers: Vec<String>, accepts: ClassMask },
}

impl MapSpec {
    /// Whether the map reads layer `id`: its polygons, or the points it
    /// counts, sums, averages or measures distances to (a change of that
    /// layer changes the map).
    pub fn reads(&self, id: &str) -> bool {
        let points = match &self.value {
            ValueSpec::Field(_) => &[][..],
            ValueSpec::Count { layers, .. }
            | ValueSpec::Sum { layers, .. }
            | ValueSpec::Mean { layers, .. }
            | ValueSpec::Distance { layers, .. } => layers.as_slice(),
        };
        self.layer == id || points.iter().any(|l| l == id)
    }
}

/// What the value is divided by.
#[derive(Debug, Clone, PartialEq)]
pub enum Per {
    /// The polygon's geodesic area in km².
    Km2,
    /// A property or a joined column.
    Field(String),
}

/// A checked ratio: `value / per * scale`.
#[derive(Debug, Clone, PartialEq)]
pub struct RatioSpec {
    pub per: Per,
    pub scale: f64,
}

/// A checked map definition.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "MapDefinition")]
pub struct MapSpec {
    /// From the definition, or the slug of the title.
    pub id: LayerId,
    pub title: String,
    pub layer: String,
    pub join: Option<JoinDefinition>,
    pub value: ValueSpec,
    pub ratio: Option<RatioSpec>,
    pub method: Method,
    /// Class count (for `manual`, one more than the breaks).
    pub classes: usize,
    /// Inner class limits of `manual`, strictly increasing.
    pub breaks: Vec<f64>,
    pub palette: Palette,
    pub reverse: bool,
    pub label_field: Option<String>,
    pub unit: Option<String>,
    pub source: Option<String>,
}

impl TryFrom<MapDefinition> for MapSpec {
    type Error = ThematicError;

    fn try_from(d: MapDefinition) -> Result<MapSpec, ThematicError> {
        if d.title.trim().is_empty() {
            return Err(ThematicError::new("title", "a map needs a title"));
        }
        let id = d.id.clone().unwrap_or_else(|| slug(&d.title));
        let id = LayerId::new(&id).map_err(|e| ThematicError::new("id", format!("map id {id:?}: {e}")))?;
        let method = Method::parse(&d.method)?;
        let classes = class_count(&method, d.classes, &d.breaks)?;
        let breaks = if method == Method::Manual { d.breaks.clone() } else { Vec::new() };
        let palette = Palette::parse(&d.palette)?;
        palette.check_classes(classes)?;
        let value = value_spec(&d.value)?;
        let ratio = match &d.ratio {
            None => None,
            Some(r) => {
                if !(r.scale.is_finite() && r.scale > 0.0) {
                    return Err(ThematicError::new(
                        "ratio.scale",
                        format!("scale must be a positive number, got {}", r.scale),
                    ));
                }
                let per = match r.per.trim() {
                    "" => return Err(ThematicError::new("ratio.per", "per must be \"km2\" or a field")),
                    "km2" => Per::Km2,
                    f => Per::Field(f.to_string()),
                };
                Some(RatioSpec { per, scale: r.scale })
            }
        };
        Ok(MapSpec {
            id,
            title: d.title,
            layer: d.layer,
            join: d.join,
            value,
            ratio,
            method,
            classes,
            breaks,
            palette,
            reverse: d.reverse,
            label_field: d.label_field,
            unit: d.unit,
            source: d.source,
        })
    }
}

/// Exactly one kind of value, with its layers and waste filter.
fn value_spec(v: &ValueDefinition) -> Result<ValueSpec, ThematicError> {
    let chosen = [&v.field, &v.count, &v.sum, &v.mean, &v.distance].iter().filter(|o| o.is_some()).count();
    if chosen != 1 {
        return Err(ThematicError::new(
            "value",
            "give exactly one of value.field, value.count, value.sum, value.mean, value.distance",
        ));
    }
    let accepts = waste_mask(&v.accepts)?;
    let layers = |list: &str| -> Vec<String> { list.split(',').map(|s| s.trim().to_string()).collect() };
    let property = || {
        v.property.clone().filter(|p| !p.trim().is_empty()).ok_or_else(|| {
            ThematicError::new("value.property", "sum and mean need value.property, the numeric property of the points")
        })
    };
    Ok(if let Some(f) = &v.field {
        ValueSpec::Field(f.clone())
    } else if let Some(l) = &v.count {
        ValueSpec::Count { layers: layers(l), accepts }
    } else if let Some(l) = &v.sum {
        ValueSpec::Sum { layers: layers(l), property: property()?, accepts }
    } else if let Some(l) = &v.mean {
        ValueSpec::Mean { layers: layers(l), property: property()?, accepts }
    } else {
        ValueSpec::Distance { layers: layers(v.distance.as_deref().unwrap_or_default()), accepts }
    })
}

/// The waste categories named by `accepts` (comma-separated), all required.
fn waste_mask(accepts: &Option<String>) -> Result<ClassMask, ThematicError> {
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

/// A map id from a title: `Densité (hab./km²)` → `densite-hab-km2`.
pub(crate) fn slug(s: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Result<MapSpec, String> {
        serde_json::from_str::<MapSpec>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn slugs_fold_accents() {
        assert_eq!(slug("Densité de population (hab./km²)"), "densite-de-population-hab-km2");
    }

    #[test]
    fn definitions_become_typed_specs_or_errors_naming_the_parameter() {
        let s = raw(r#"{"title":"Verre","layer":"communes","value":{"count":"points, decheteries","accepts":"verre"},"method":"jenks","palette":"blues"}"#).unwrap();
        assert_eq!(s.id.as_str(), "verre");
        assert_eq!(s.method, Method::NaturalBreaks);
        assert_eq!(s.palette.name(), "Blues");
        let glass = 1 << Taxonomy::builtin().index_of("glass").unwrap().0;
        assert_eq!(s.value, ValueSpec::Count { layers: vec!["points".into(), "decheteries".into()], accepts: glass });
        let s = raw(r#"{"title":"t","layer":"l","value":{"field":"x"},"method":"manual","breaks":[1,2,3],"ratio":{"per":"km2"}}"#).unwrap();
        assert_eq!((s.classes, s.ratio.unwrap().per), (4, Per::Km2));
        for (json, parameter) in [
            (r#"{"title":" ","layer":"l","value":{"field":"x"}}"#, "title:"),
            (r#"{"title":"t","layer":"l","value":{"field":"x"},"palette":"Rainbow"}"#, "palette:"),
            (r#"{"title":"t","layer":"l","value":{"field":"x"},"palette":"Dark2","classes":9}"#, "palette:"),
            (r#"{"title":"t","layer":"l","value":{"field":"x"},"method":"kmeans"}"#, "method:"),
            (r#"{"title":"t","layer":"l","value":{"field":"x"},"classes":12}"#, "classes:"),
            (r#"{"title":"t","layer":"l","value":{"field":"x"},"method":"manual","breaks":[2,1]}"#, "breaks:"),
            (r#"{"title":"t","layer":"l","value":{}}"#, "value:"),
            (r#"{"title":"t","layer":"l","value":{"sum":"p"}}"#, "value.property:"),
            (r#"{"title":"t","layer":"l","value":{"count":"p","accepts":"uranium"}}"#, "value.accepts:"),
            (r#"{"title":"t","layer":"l","value":{"field":"x"},"ratio":{"per":"km2","scale":0}}"#, "ratio.scale:"),
        ] {
            let e = raw(json).unwrap_err();
            assert!(e.starts_with(parameter), "{json}: {e}");
        }
    }
}
