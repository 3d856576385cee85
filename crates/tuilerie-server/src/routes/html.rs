//! Readable HTML of the OGC resources (`f=html` or `Accept: text/html`), as
//! pygeoapi and ldproxy offer them to people browsing the data: the
//! collections, a collection with its links, a page of items as a table
//! and an item with its properties, each page of features drawn on a small
//! map with the embedded MapLibre (no request leaves the service).

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::fmt::Write;
use tuilerie_geo::xml_escape as esc;

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2b2f}\
header{background:#0b6e79;color:#fff;padding:.6em 1.2em}header a{color:#fff}\
main{padding:1em 1.2em;max-width:1200px}table{border-collapse:collapse;margin:.6em 0}\
th,td{border:1px solid #cfd8da;padding:.25em .5em;text-align:left;vertical-align:top}\
th{background:#eef3f4}#map{height:360px;max-width:900px;border:1px solid #cfd8da;margin:.6em 0}\
nav a{margin-right:1em}code{background:#eef3f4;padding:0 .2em}";

/// A page: breadcrumbs, title, body, and when `features` is a GeoJSON
/// Feature or FeatureCollection in CRS84, a map of it.
fn page(base: &str, crumbs: &[(String, String)], title: &str, body: &str, features: Option<&Value>) -> Response {
    let mut trail = format!("<a href=\"{}/\">tuilerie</a>", esc(base));
    for (href, label) in crumbs {
        let _ = write!(trail, " › <a href=\"{}\">{}</a>", esc(href), esc(label));
    }
    let map = features.and_then(|f| bounds(f).map(|b| (f, b))).map(|(f, b)| {
        // JSON inside a script element: "</" would end it.
        let data = f.to_string().replace("</", "<\\/");
        format!(
            "<div id=\"map\"></div>\
<script type=\"application/json\" id=\"features\">{data}</script>\
<script type=\"module\">\
import * as maplibregl from '{base}/assets/maplibre-gl.mjs';\
const data = JSON.parse(document.getElementById('features').textContent);\
const map = new maplibregl.Map({{container: 'map', attributionControl: false, style: {{version: 8, sources: {{f: {{type: 'geojson', data}}}}, layers: [\
{{id: 'bg', type: 'background', paint: {{'background-color': '#f3f1ea'}}}},\
{{id: 'fill', type: 'fill', source: 'f', filter: ['in', ['geometry-type'], ['literal', ['Polygon', 'MultiPolygon']]], paint: {{'fill-color': '#0b6e79', 'fill-opacity': 0.25}}}},\
{{id: 'line', type: 'line', source: 'f', filter: ['!', ['in', ['geometry-type'], ['literal', ['Point', 'MultiPoint']]]], paint: {{'line-color': '#0b6e79', 'line-width': 1.5}}}},\
{{id: 'point', type: 'circle', source: 'f', filter: ['in', ['geometry-type'], ['literal', ['Point', 'MultiPoint']]], paint: {{'circle-color': '#d9480f', 'circle-radius': 5, 'circle-stroke-color': '#fff', 'circle-stroke-width': 1}}}}]}},\
bounds: [[{}, {}], [{}, {}]], fitBoundsOptions: {{padding: 30, maxZoom: 16}}}});\
map.addControl(new maplibregl.NavigationControl(), 'top-right');\
</script>",
            b[0],
            b[1],
            b[2],
            b[3],
            base = esc(base)
        )
    });
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t} – tuilerie</title>\
<link rel=\"icon\" href=\"{b}/assets/favicon.svg\" type=\"image/svg+xml\">\
<link rel=\"stylesheet\" href=\"{b}/assets/maplibre-gl.css\"><style>{STYLE}</style></head>\
<body><header>{trail}</header><main><h1>{t}</h1>{map}{body}</main></body></html>",
        t = esc(title),
        b = esc(base),
        map = map.unwrap_or_default(),
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::VARY, "Accept")], html).into_response()
}

/// `[west, south, east, north]` of every position of a Feature or
/// FeatureCollection; None without positions.
fn bounds(v: &Value) -> Option<[f64; 4]> {
    fn walk(v: &Value, b: &mut [f64; 4]) {
        match v {
            Value::Array(a) if a.len() >= 2 && a[0].is_number() && a[1].is_number() => {
                let (x, y) = (a[0].as_f64().unwrap_or(0.0), a[1].as_f64().unwrap_or(0.0));
                *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, b)),
            _ => {}
        }
    }
    let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
    let feats: Vec<&Value> = match v["features"].as_array() {
        Some(a) => a.iter().collect(),
        None => vec![v],
    };
    for f in feats {
        walk(&f["geometry"]["coordinates"], &mut b);
    }
    b[0].is_finite().then_some(b)
}

/// A property value as table text.
fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => esc(s),
        Value::Null => String::new(),
        other => esc(&other.to_string()),
    }
}

fn links(v: &Value) -> String {
    let items: Vec<String> = v["links"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            let href = l["href"].as_str().unwrap_or("");
            let label = l["title"].as_str().or(l["rel"].as_str()).unwrap_or(href);
            format!(
                "<li><a href=\"{}\">{}</a> <small>({}, {})</small></li>",
                esc(href),
                esc(label),
                esc(l["rel"].as_str().unwrap_or("")),
                esc(l["type"].as_str().unwrap_or(""))
            )
        })
        .collect();
    format!("<h2>Links</h2><ul>{}</ul>", items.concat())
}

pub fn collections(base: &str, doc: &Value) -> Response {
    let rows: Vec<String> = doc["collections"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let id = c["id"].as_str().unwrap_or("");
            format!(
                "<tr><td><a href=\"{b}/collections/{i}?f=html\">{i}</a></td><td>{t}</td>\
<td><a href=\"{b}/collections/{i}/items?f=html\">items</a></td></tr>",
                b = esc(base),
                i = esc(id),
                t = cell(&c["title"])
            )
        })
        .collect();
    let body = format!("<table><tr><th>id</th><th>title</th><th></th></tr>{}</table>", rows.concat());
    page(base, &[], "Collections", &body, None)
}

pub fn collection(base: &str, c: &Value) -> Response {
    let id = c["id"].as_str().unwrap_or("");
    let bbox = c["extent"]["spatial"]["bbox"][0].to_string();
    let body = format!(
        "<p>{}</p><table><tr><th>extent (CRS84)</th><td><code>{}</code></td></tr>\
<tr><th>storage CRS</th><td><code>{}</code></td></tr></table>\
<p><a href=\"{b}/collections/{i}/items?f=html\">Browse the items</a> · \
<a href=\"{b}/collections/{i}/queryables\">queryables</a> · <a href=\"{b}/collections/{i}/schema\">schema</a></p>{}",
        cell(&c["title"]),
        esc(&bbox),
        cell(&c["storageCrs"]),
        links(c),
        b = esc(base),
        i = esc(id),
    );
    page(base, &[(format!("{base}/collections?f=html"), "collections".into())], id, &body, None)
}

pub fn items(base: &str, id: &str, fc: &Value) -> Response {
    let features = fc["features"].as_array().cloned().unwrap_or_default();
    let mut columns: Vec<String> = Vec::new();
    for f in &features {
        for k in f["properties"].as_object().into_iter().flatten().map(|(k, _)| k) {
            if !columns.contains(k) && columns.len() < 30 {
                columns.push(k.clone());
            }
        }
    }
    let head: String = columns.iter().map(|c| format!("<th>{}</th>", esc(c))).collect();
    let rows: Vec<String> = features
        .iter()
        .map(|f| {
            let fid = f["id"].as_str().map(String::from).unwrap_or_else(|| f["id"].to_string());
            let cells: String = columns.iter().map(|c| format!("<td>{}</td>", cell(&f["properties"][c]))).collect();
            format!(
                "<tr><td><a href=\"{}/collections/{}/items/{}?f=html\">{}</a></td>{cells}</tr>",
                esc(base),
                esc(id),
                esc(&super::ogc::encode(&fid)),
                esc(&fid)
            )
        })
        .collect();
    let nav: String = fc["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["rel"] == "next" || l["rel"] == "prev")
        .map(|l| {
            let href = l["href"].as_str().unwrap_or("");
            let html = match (href.contains("f=html"), href.contains('?')) {
                (true, _) => href.to_string(),
                (false, true) => format!("{href}&f=html"),
                (false, false) => format!("{href}?f=html"),
            };
            format!("<a href=\"{}\">{}</a>", esc(&html), esc(l["rel"].as_str().unwrap_or("")))
        })
        .collect();
    let body = format!(
        "<p>{} of {} features</p><nav>{nav}</nav><table><tr><th>id</th>{head}</tr>{}</table><nav>{nav}</nav>",
        fc["numberReturned"],
        fc["numberMatched"],
        rows.concat()
    );
    let crumbs = [
        (format!("{base}/collections?f=html"), "collections".to_string()),
        (format!("{base}/collections/{id}?f=html"), id.to_string()),
    ];
    page(base, &crumbs, &format!("Items of {id}"), &body, Some(fc))
}

pub fn item(base: &str, id: &str, f: &Value) -> Response {
    let fid = f["id"].as_str().map(String::from).unwrap_or_else(|| f["id"].to_string());
    let rows: String = f["properties"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), cell(v)))
        .collect();
    let body = format!("<table>{rows}</table>{}", links(f));
    let crumbs = [
        (format!("{base}/collections?f=html"), "collections".to_string()),
        (format!("{base}/collections/{id}?f=html"), id.to_string()),
        (format!("{base}/collections/{id}/items?f=html"), "items".to_string()),
    ];
    page(base, &crumbs, &fid, &body, Some(f))
}
