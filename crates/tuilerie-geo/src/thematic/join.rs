//! The join stage: each polygon finds its row of a CSV table by key (the
//! layer's field equal to the table's column), and the report says what
//! matched, what did not, and which keys are repeated.

use super::spec::JoinDefinition;
use super::table::Table;
use super::ThematicError;
use crate::layer::Layer;
use crate::properties::Value;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

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

/// The rows the polygons found.
#[derive(Debug, Default)]
pub struct Joined {
    pub table: Option<Arc<Table>>,
    /// Row of each feature, if any.
    pub row_of: Vec<Option<usize>>,
    /// Each feature's join key (its label without a join).
    pub keys: Vec<String>,
    pub report: Option<JoinReport>,
    pub warnings: Vec<String>,
}

/// A property as join text (trimmed; numbers as written by Rust).
pub(crate) fn key_text(v: Option<Value<'_>>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::Int(i) => Some(i.to_string()),
        Value::Float(x) => Some(x.to_string()),
        Value::String(s) | Value::Json(s) => Some(s.trim().to_string()),
        Value::Bool(b) => Some(b.to_string()),
    }
}

/// Joins `layer` to the table `join` names (the first row of a repeated
/// key wins); without a join, every feature keeps its label as key.
pub fn join(
    join: Option<&JoinDefinition>,
    layer: &Layer,
    tables: &HashMap<String, Arc<Table>>,
    labels: &[String],
) -> Result<Joined, ThematicError> {
    let n = layer.len();
    let mut out = Joined { row_of: vec![None; n], keys: labels.to_vec(), ..Default::default() };
    let Some(j) = join else { return Ok(out) };
    let t = tables.get(&j.table).cloned().ok_or_else(|| {
        let mut known: Vec<&str> = tables.keys().map(String::as_str).collect();
        known.sort();
        ThematicError::new("join.table", format!("unknown table {:?}; tables are {}", j.table, known.join(", ")))
    })?;
    let key_col = t.column(&j.key, "join.key")?;
    if layer.field_id(&j.field).is_none() {
        let fields: Vec<&str> = layer.meta().fields.iter().map(|f| f.name.as_str()).collect();
        return Err(ThematicError::new(
            "join.field",
            format!("layer {:?} has no field {:?}; fields are {}", layer.id().as_str(), j.field, fields.join(", ")),
        ));
    }
    let mut by_key: HashMap<&str, usize> = HashMap::new();
    let mut dups: HashMap<String, Vec<usize>> = HashMap::new();
    for r in 0..t.len() {
        let k = t.cell(r, key_col);
        if k.is_empty() {
            continue;
        }
        if let Some(&first) = by_key.get(k) {
            dups.entry(k.to_string()).or_insert_with(|| vec![t.line(first)]).push(t.line(r));
        } else {
            by_key.insert(k, r);
        }
    }
    let mut report = JoinReport { table: t.name.clone(), rows: t.len(), features: n, ..Default::default() };
    let mut used = vec![false; t.len()];
    for i in 0..n {
        let k = key_text(layer.feature(i).property(&j.field)).unwrap_or_default();
        match by_key.get(k.as_str()) {
            Some(&r) => {
                out.row_of[i] = Some(r);
                used[r] = true;
                report.matched += 1;
            }
            None => report.unmatched_features.push(k.clone()),
        }
        out.keys[i] = k;
    }
    for (r, &used) in used.iter().enumerate() {
        let k = t.cell(r, key_col);
        if !k.is_empty() && by_key.get(k) == Some(&r) && !used {
            report.unmatched_rows.push((t.line(r), k.to_string()));
        }
    }
    let mut dups: Vec<(String, Vec<usize>)> = dups.into_iter().collect();
    dups.sort();
    if !dups.is_empty() {
        out.warnings.push(format!("{} keys appear on several rows of {}; the first row is used", dups.len(), t.name));
    }
    report.duplicate_keys = dups;
    if report.matched == 0 {
        out.warnings
            .push(format!("no feature matched: is {:?} the column holding the values of {:?}?", j.key, j.field));
    }
    out.report = Some(report);
    out.table = Some(t);
    Ok(out)
}
