//! A thematic map as data: one row per polygon with its join key, name,
//! value, ratio inputs, class (as in the tiles: 0-based, -1 without data),
//! class label and colour (as in the legend) and the no-data reason; as CSV
//! for spreadsheets and open-data portals, or as GeoJSON with the geometry.

use super::map::{ThematicMap, NO_DATA_COLOR, NO_DATA_LABEL};
use crate::output;
use serde_json::{json, Map, Value};

/// The CSV dialect: `,` with a decimal point (RFC 4180, the default), or
/// `;` with a decimal comma (what French spreadsheets open as is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separator {
    Comma,
    Semicolon,
}

impl Separator {
    pub fn parse(s: &str) -> Option<Separator> {
        match s {
            "," | "comma" => Some(Separator::Comma),
            ";" | "semicolon" => Some(Separator::Semicolon),
            _ => None,
        }
    }
}

/// One polygon of the map.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub key: String,
    pub name: String,
    pub value: Option<f64>,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    /// As in the tiles: the class index, -1 without data.
    pub class: i64,
    pub class_label: String,
    pub color: String,
    pub no_data: Option<String>,
}

/// The rows, in the layer's order.
pub fn rows(map: &ThematicMap) -> Vec<Row> {
    let legend = map.legend();
    let mut reasons: Vec<Option<String>> = vec![None; map.values.len()];
    for n in &map.no_data {
        if let Some(r) = reasons.get_mut(n.feature) {
            *r = Some(n.reason.clone());
        }
    }
    (0..map.values.len())
        .map(|i| {
            let value = map.values[i];
            let class = value.map(|v| map.classes.class_of(v));
            let entry = class.and_then(|c| legend.get(c));
            Row {
                key: map.keys[i].clone(),
                name: map.labels[i].clone(),
                value,
                numerator: map.ratio_inputs.as_ref().and_then(|r| r.numerators[i]),
                denominator: map.ratio_inputs.as_ref().and_then(|r| r.denominators[i]),
                class: class.map_or(-1, |c| c as i64),
                class_label: entry.map_or_else(|| NO_DATA_LABEL.to_string(), |e| e.label.clone()),
                color: entry.map_or_else(|| NO_DATA_COLOR.to_string(), |e| e.color.clone()),
                no_data: if value.is_none() {
                    Some(reasons[i].clone().unwrap_or_else(|| "no value".into()))
                } else {
                    None
                },
            }
        })
        .collect()
}

/// The header of the CSV: the ratio columns only for a map with a ratio.
fn header(map: &ThematicMap) -> Vec<&'static str> {
    let mut h = vec!["key", "name", "value"];
    if map.ratio_inputs.is_some() {
        h.extend(["numerator", "denominator"]);
    }
    h.extend(["class", "class_label", "color", "no_data"]);
    h
}

/// A number in full precision (shortest text that reads back the same),
/// with a decimal comma for `;`.
fn number(x: Option<f64>, sep: Separator) -> String {
    match x {
        None => String::new(),
        Some(v) => {
            let s = if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") };
            if sep == Separator::Semicolon {
                s.replace('.', ",")
            } else {
                s
            }
        }
    }
}

/// The map as CSV (UTF-8, CRLF line ends, quoted when needed), with a
/// byte-order mark first when `bom` (for spreadsheets that need it to see
/// UTF-8).
pub fn csv(map: &ThematicMap, sep: Separator, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    let delimiter = if sep == Separator::Semicolon { b';' } else { b',' };
    let mut w = csv::WriterBuilder::new().delimiter(delimiter).terminator(csv::Terminator::CRLF).from_writer(out);
    let ratio = map.ratio_inputs.is_some();
    let _ = w.write_record(header(map));
    for r in rows(map) {
        let mut rec = vec![r.key, r.name, number(r.value, sep)];
        if ratio {
            rec.extend([number(r.numerator, sep), number(r.denominator, sep)]);
        }
        rec.extend([r.class.to_string(), r.class_label, r.color, r.no_data.unwrap_or_default()]);
        let _ = w.write_record(&rec);
    }
    w.into_inner().unwrap_or_default()
}

/// The map as a GeoJSON FeatureCollection: each polygon with the source's
/// properties, `value` and `class` (as the tiles have them) and the row's
/// `key`, `name`, ratio inputs, `class_label`, `color` and `no_data`.
pub fn geojson(map: &ThematicMap) -> Value {
    let features: Vec<Value> = rows(map)
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let mut extra = Map::new();
            extra.insert("key".into(), json!(r.key));
            extra.insert("name".into(), json!(r.name));
            if map.ratio_inputs.is_some() {
                extra.insert("numerator".into(), json!(r.numerator));
                extra.insert("denominator".into(), json!(r.denominator));
            }
            extra.insert("class_label".into(), json!(r.class_label));
            extra.insert("color".into(), json!(r.color));
            extra.insert("no_data".into(), json!(r.no_data));
            output::feature(&map.layer.feature(i), extra)
        })
        .collect();
    json!({
        "type": "FeatureCollection",
        "name": map.spec.title,
        "legend": map.legend(),
        "no_data": {"color": NO_DATA_COLOR, "count": map.classes.no_data, "label": NO_DATA_LABEL},
        "unit": map.spec.unit,
        "features": features,
    })
}
