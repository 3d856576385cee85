//! `GET /collections/{id}/changes.osc?since=`: the edits of a layer as an
//! osmChange 0.6 document, for review and upload in OpenStreetMap tools
//! (JOSM opens it; `osmium apply-changes` applies it).
//!
//! Each feature's changes after `since` are folded into one: a feature whose
//! id is an OSM id (`node/123`, as Overpass GeoJSON exports carry) is a
//! `modify` with every tag and its position, or a `delete`; a feature
//! created through the API is a `create` with a negative placeholder id (a
//! point as a node; a line or a simple polygon as new nodes and a way).
//! What osmChange cannot say without more of OSM's data (a moved way, whose
//! nodes we do not know; a polygon with holes) is left out and counted in
//! the `X-Tuilerie-Skipped` header and an XML comment.

use super::Path;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use tuilerie_geo::xml_escape as xml;

/// OSM tags of a feature's properties: text, numbers and booleans as text;
/// `@`-prefixed metadata (`@id`, `@version`) and nested values left out.
fn tags(props: Option<&Value>) -> Vec<(String, String)> {
    let Some(Value::Object(m)) = props else { return Vec::new() };
    m.iter()
        .filter(|(k, _)| !k.starts_with('@') && !k.is_empty() && k.len() <= 255)
        .filter_map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
                _ => return None,
            };
            (!v.is_empty() && v.chars().count() <= 255).then(|| (k.clone(), v))
        })
        .collect()
}

fn write_tags(out: &mut String, tags: &[(String, String)]) {
    for (k, v) in tags {
        let _ = writeln!(out, "      <tag k=\"{}\" v=\"{}\"/>", xml(k), xml(v));
    }
}

/// The OSM version a feature's properties say it has (`@version`, as
/// Overpass exports write it), else 1.
fn version(props: Option<&Value>) -> i64 {
    props
        .and_then(|p| p.get("@version").or_else(|| p.get("version")))
        .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
        .unwrap_or(1)
}

fn point(f: &Value) -> Option<(f64, f64)> {
    let g = f.get("geometry")?;
    if g.get("type")? != "Point" {
        return None;
    }
    let c = g.get("coordinates")?.as_array()?;
    Some((c.first()?.as_f64()?, c.get(1)?.as_f64()?))
}

/// The positions of a line or of a polygon without holes (ring closed).
fn path(f: &Value) -> Option<(Vec<(f64, f64)>, bool)> {
    let g = f.get("geometry")?;
    let pos = |p: &Value| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?));
    match g.get("type")?.as_str()? {
        "LineString" => Some((g.get("coordinates")?.as_array()?.iter().map(pos).collect::<Option<_>>()?, false)),
        "Polygon" => {
            let rings = g.get("coordinates")?.as_array()?;
            if rings.len() != 1 {
                return None;
            }
            Some((rings[0].as_array()?.iter().map(pos).collect::<Option<_>>()?, true))
        }
        _ => None,
    }
}

/// The document and the number of features left out.
pub fn document(changes: &[crate::store::ChangeRecord]) -> (String, usize) {
    // Per feature: the state before the first change and after the last.
    let mut folded: BTreeMap<&str, (Option<Value>, Option<Value>)> = BTreeMap::new();
    for c in changes {
        let parse = |s: &Option<String>| s.as_deref().and_then(|s| serde_json::from_str::<Value>(s).ok());
        let e = folded.entry(c.id.as_str()).or_insert_with(|| (parse(&c.before), None));
        e.1 = parse(&c.after);
    }
    let (mut create, mut modify, mut delete) = (String::new(), String::new(), String::new());
    let mut skipped = 0;
    let mut next_id = -1i64;
    for (id, (before, after)) in folded {
        let osm = id.split_once('/').and_then(|(t, n)| Some((t, n.parse::<i64>().ok().filter(|n| *n > 0)?)));
        match (osm, before, after) {
            (Some(("node", n)), Some(b), None) => {
                let (lon, lat) = point(&b).unwrap_or((0.0, 0.0));
                let v = version(b.get("properties"));
                let _ = writeln!(delete, "    <node id=\"{n}\" version=\"{v}\" lat=\"{lat}\" lon=\"{lon}\"/>");
            }
            (Some(("node", n)), before, Some(a)) => match point(&a) {
                Some((lon, lat)) => {
                    let v = version(before.as_ref().and_then(|b| b.get("properties")));
                    let _ = writeln!(modify, "    <node id=\"{n}\" version=\"{v}\" lat=\"{lat}\" lon=\"{lon}\">");
                    write_tags(&mut modify, &tags(a.get("properties")));
                    modify.push_str("    </node>\n");
                }
                None => skipped += 1,
            },
            (None, None, Some(a)) => {
                if let Some((lon, lat)) = point(&a) {
                    let _ = writeln!(create, "    <node id=\"{next_id}\" version=\"0\" lat=\"{lat}\" lon=\"{lon}\">");
                    write_tags(&mut create, &tags(a.get("properties")));
                    create.push_str("    </node>\n");
                    next_id -= 1;
                } else if let Some((positions, closed)) = path(&a) {
                    let n = if closed { positions.len().saturating_sub(1) } else { positions.len() };
                    let mut refs = Vec::new();
                    for (lon, lat) in positions.iter().take(n) {
                        let _ =
                            writeln!(create, "    <node id=\"{next_id}\" version=\"0\" lat=\"{lat}\" lon=\"{lon}\"/>");
                        refs.push(next_id);
                        next_id -= 1;
                    }
                    if closed {
                        refs.extend(refs.first().copied());
                    }
                    let _ = writeln!(create, "    <way id=\"{next_id}\" version=\"0\">");
                    next_id -= 1;
                    for r in refs {
                        let _ = writeln!(create, "      <nd ref=\"{r}\"/>");
                    }
                    write_tags(&mut create, &tags(a.get("properties")));
                    create.push_str("    </way>\n");
                } else {
                    skipped += 1;
                }
            }
            // Created then deleted: nothing for OSM.
            (None, None, None) => {}
            _ => skipped += 1,
        }
    }
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<osmChange version=\"0.6\" generator=\"tuilerie\">\n",
    );
    if skipped > 0 {
        let _ = writeln!(out, "  <!-- {skipped} edited feature(s) left out: not OSM nodes, or geometries osmChange cannot carry alone -->");
    }
    for (name, body) in [("create", create), ("modify", modify), ("delete", delete)] {
        if !body.is_empty() {
            let _ = write!(out, "  <{name}>\n{body}  </{name}>\n");
        }
    }
    out.push_str("</osmChange>\n");
    (out, skipped)
}

/// `GET /collections/{id}/changes.osc?since=`.
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    super::ogc::layer(&state, &id)?;
    for k in params.keys() {
        if k != "since" {
            return Err(ApiError::bad(k.clone(), format!("unknown parameter {k:?} (since)")));
        }
    }
    let since = super::edit::since(&params)?;
    let layer = id.clone();
    let changes =
        super::read_store(&state, move |store| store.changes(since, Some(&layer), None, usize::MAX >> 1)).await?;
    let (doc, skipped) = document(&changes);
    Ok((
        [
            (header::CONTENT_TYPE, "application/xml; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{id}.osc\"")),
            (header::HeaderName::from_static("x-tuilerie-skipped"), skipped.to_string()),
        ],
        doc,
    )
        .into_response())
}
