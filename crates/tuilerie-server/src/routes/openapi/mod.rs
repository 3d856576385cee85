//! `GET /openapi.json`: the OpenAPI 3.0 document. It is built from
//! [`ENDPOINTS`] and [`WRITES`] (`endpoints.rs`), the table `app()`
//! registers routes from, so a route cannot exist undocumented (a test
//! checks both ways); the bodies' schemas are in `schemas.rs`.
//! `scripts/conformance.sh` holds the server to it with schemathesis.

mod endpoints;
mod schemas;

pub use endpoints::{ENDPOINTS, WRITES};

use serde_json::{json, Map, Value};

/// Where a parameter goes.
#[derive(Clone, Copy, PartialEq)]
pub enum In {
    Path,
    Query,
    Header,
}

/// A documented parameter.
pub struct Param {
    pub name: &'static str,
    pub place: In,
    pub required: bool,
    /// JSON schema type: `string`, `integer`, `number`, `boolean`.
    pub ty: &'static str,
    pub description: &'static str,
}

/// A documented response: status, description, media type (empty: no
/// body) and the schema of its body in `schemas.rs` (empty: not JSON).
pub type Resp = (u16, &'static str, &'static str, &'static str);

/// A documented GET route.
pub struct Endpoint {
    /// The router path (axum syntax).
    pub route: &'static str,
    /// The documented path, when it differs (`{y}.mvt`).
    pub doc_path: Option<&'static str>,
    pub summary: &'static str,
    pub params: &'static [Param],
    pub responses: &'static [Resp],
}

/// Another method on a documented route: a write, or OPTIONS.
pub struct Write {
    pub route: &'static str,
    /// Lower case, as OpenAPI names operations.
    pub method: &'static str,
    pub summary: &'static str,
    /// Parameters besides the route's path parameters.
    pub query: &'static [Param],
    /// Media type and schema of the request body.
    pub body: Option<(&'static str, &'static str)>,
    pub responses: &'static [Resp],
}

/// Ids of layers, maps and tables: 1 to 100 letters, digits, `-`, `_`, `.`
/// (not only dots).
const ID_PATTERN: &str = "^(?!\\.+$)[A-Za-z0-9_.-]{1,100}$";

/// What the middleware answers to any write (`lib.rs`: token, body
/// reading, write budget, store).
const WRITE_REFUSALS: &[Resp] = &[
    (400, "the request body could not be read", endpoints::JSON, "Error"),
    (401, "no token, or an unknown or revoked one (WWW-Authenticate: Bearer)", endpoints::JSON, "Error"),
    (403, "the token's role or scope does not allow this", endpoints::JSON, "Error"),
    (408, "the body did not arrive whole within server.body_timeout", endpoints::JSON, "Error"),
    (413, "the body is larger than limits.max_body_bytes", endpoints::JSON, "Error"),
    (429, "the token writes faster than server.write_rate (Retry-After)", endpoints::JSON, "Error"),
    (
        503,
        "the store cannot take writes (full disk, read-only, no store; Retry-After); reads go on",
        endpoints::JSON,
        "Error",
    ),
];
const WRONG_TYPE: Resp = (415, "the body's Content-Type is not the one documented", endpoints::JSON, "Error");
const READ_TOKEN: Resp = (401, "reads need a token on this server (Authorization: Bearer)", endpoints::JSON, "Error");

/// 2^53: the largest whole number every JSON client reads exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_992.0;

/// The schema of a parameter: its type and the bounds the server checks
/// (parameters of the same name mean the same thing on every route, but
/// for `limit` of items: OGC API Features lowers a larger one to the
/// maximum rather than refusing it).
fn schema(p: &Param, route: &str) -> Value {
    let mut s = json!({"type": p.ty});
    let bounds: Option<(f64, Option<f64>)> = match (p.name, p.ty) {
        ("z", _) => Some((0.0, Some(f64::from(tuilerie_geo::tiling::MAX_ZOOM)))),
        ("x" | "y" | "max_distance", _) => Some((0.0, None)),
        // Sequence numbers and offsets: whole numbers a JSON client keeps exactly.
        ("offset" | "since", _) => Some((0.0, Some(MAX_SAFE_INTEGER))),
        ("k", _) => Some((1.0, Some(tuilerie_geo::query::MAX_K as f64))),
        ("limit", _) if route == "/collections/{id}/items" => Some((1.0, None)),
        ("limit", _) => Some((1.0, Some(tuilerie_geo::query::MAX_LIMIT as f64))),
        ("width", _) => Some((f64::from(super::maps::MIN_WIDTH), Some(f64::from(super::maps::MAX_WIDTH)))),
        ("lon", _) => Some((-180.0, Some(180.0))),
        ("lat", _) => Some((-90.0, Some(90.0))),
        _ => None,
    };
    if let Some((min, max)) = bounds {
        s["minimum"] = json!(min);
        if let Some(max) = max {
            s["maximum"] = json!(max);
        }
    }
    let default = match (p.name, route) {
        ("k", _) => json!(5),
        ("limit", _) => json!(tuilerie_geo::query::DEFAULT_LIMIT),
        ("offset" | "since", _) => json!(0),
        ("width", _) => json!(1200),
        ("bom", _) => json!(false),
        ("sep", _) => json!(","),
        ("paper", _) => json!("a4"),
        ("orientation", _) => json!("landscape"),
        ("lang", _) => json!("fr"),
        ("filter-lang", _) => json!("cql2-text"),
        ("crs" | "bbox-crs" | "filter-crs", _) => json!(tuilerie_geo::query::crs::CRS84),
        _ => Value::Null,
    };
    if !default.is_null() {
        s["default"] = default;
    }
    if p.place == In::Query && p.name == "id" {
        s["pattern"] = json!(ID_PATTERN);
    }
    match p.name {
        "lang" => s["enum"] = json!(["fr", "en"]),
        "f" => s["enum"] = json!(["html", "json"]),
        "type" => s["enum"] = json!(["container", "centre"]),
        "paper" => s["enum"] = json!(["a4", "a3"]),
        "orientation" => s["enum"] = json!(["landscape", "portrait"]),
        "sep" => s["enum"] = json!([",", ";", "comma", "semicolon"]),
        // cql-text: the draft's name, which GDAL 3.6's OAPIF driver looks
        // for before it sends its -where clauses as filters.
        "filter-lang" => s["enum"] = json!(["cql2-text", "cql2-json", "cql-text"]),
        "crs" | "bbox-crs" | "filter-crs" => {
            s["enum"] = json!(tuilerie_geo::query::crs::offered().map(|c| c.uri()).collect::<Vec<_>>())
        }
        _ => {}
    }
    s
}

/// The responses object of `list`: one entry per status (several media
/// types of one status share it; the first description stays).
fn responses(list: &[Resp]) -> Map<String, Value> {
    let mut out = Map::new();
    for (code, desc, media, schema) in list {
        let r = out.entry(code.to_string()).or_insert_with(|| json!({"description": desc}));
        if media.is_empty() {
            continue;
        }
        let body = if !schema.is_empty() {
            json!({"$ref": format!("#/components/schemas/{schema}")})
        } else if media.starts_with("text/") || media.ends_with("xml") {
            json!({"type": "string"})
        } else {
            json!({"type": "string", "format": "binary"})
        };
        if r.get("content").is_none() {
            r["content"] = json!({});
        }
        r["content"][*media] = json!({"schema": body});
    }
    out
}

fn parameter(p: &Param, route: &str) -> Value {
    json!({
        "name": p.name,
        "in": match p.place { In::Path => "path", In::Query => "query", In::Header => "header" },
        "required": p.required,
        "description": p.description,
        "schema": schema(p, route),
    })
}

/// The OpenAPI document; with the catalog, each collection's items path
/// too, with a parameter per property (OGC API Features Part 3,
/// queryables as query parameters: clients such as GDAL read them there).
/// `reads_need_token`: `[server] require_token_for_reads`, every read but
/// `/health` is secured.
pub fn document(catalog: Option<&tuilerie_geo::Catalog>, reads_need_token: bool) -> Value {
    let mut paths = Map::new();
    for e in ENDPOINTS {
        let params: Vec<Value> = e.params.iter().map(|p| parameter(p, e.route)).collect();
        let mut list = e.responses.to_vec();
        let secured = reads_need_token && e.route != "/health";
        if secured && !list.iter().any(|r| r.0 == 401) {
            list.push(READ_TOKEN);
        }
        let mut get = json!({"summary": e.summary, "parameters": params, "responses": responses(&list)});
        if secured {
            get["security"] = json!([{"bearer": []}]);
        }
        let mut item = json!({ "get": get });
        for w in WRITES.iter().filter(|w| w.route == e.route) {
            let mut params: Vec<Value> =
                e.params.iter().filter(|p| p.place == In::Path).map(|p| parameter(p, e.route)).collect();
            params.extend(w.query.iter().map(|p| parameter(p, e.route)));
            let mut list: Vec<Resp> = w.responses.to_vec();
            let mut op = json!({"summary": w.summary, "parameters": params});
            if w.method != "options" {
                list.extend_from_slice(WRITE_REFUSALS);
                op["security"] = json!([{"bearer": []}]);
            } else if reads_need_token {
                list.push(READ_TOKEN);
                op["security"] = json!([{"bearer": []}]);
            }
            if let Some((media, body)) = w.body {
                list.push(WRONG_TYPE);
                // A CSV body is any text (a schema type would make every
                // JSON value a "string" or "not a string" to generators).
                let schema = if body.is_empty() {
                    json!({"description": "the CSV file: a header line, then at least one row"})
                } else {
                    json!({"$ref": format!("#/components/schemas/{body}")})
                };
                op["requestBody"] = json!({"required": true, "content": {media: {"schema": schema}}});
            }
            op["responses"] = Value::Object(responses(&list));
            item[w.method] = op;
        }
        paths.insert(e.doc_path.unwrap_or(e.route).to_string(), item);
    }
    if let (Some(catalog), Some(generic)) = (catalog, paths.get("/collections/{id}/items").cloned()) {
        for l in catalog.layers() {
            let id = l.meta().id.as_str();
            let mut get = generic["get"].clone();
            get["summary"] = json!(format!("Features of {}: filter with CQL2 or on property equality", l.meta().title));
            let mut params: Vec<Value> =
                get["parameters"].as_array().into_iter().flatten().filter(|p| p["in"] != "path").cloned().collect();
            for f in &l.meta().fields {
                if tuilerie_geo::query::RESERVED.contains(&f.name.as_str()) {
                    continue;
                }
                params.push(json!({
                    "name": f.name, "in": "query", "required": false,
                    "description": format!("features whose {} equals this value (as text)", f.name),
                    "schema": {"type": "string"},
                }));
            }
            get["parameters"] = json!(params);
            paths.insert(format!("/collections/{id}/items"), json!({ "get": get }));
        }
    }
    let components = json!({
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "a token of `tuilerie token create`"}},
        "schemas": schemas::all(),
    });
    json!({
        "openapi": "3.0.3",
        "components": components,
        "info": {"title": "tuilerie", "version": env!("CARGO_PKG_VERSION"), "description": "Vector tiles, nearest facilities and OGC API Features from GeoJSON and shapefiles"},
        "paths": paths,
    })
}

pub async fn get(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    let catalog = state.catalog();
    let doc = document(catalog.as_deref(), state.options.require_token_for_reads);
    ([(axum::http::header::CONTENT_TYPE, "application/vnd.oai.openapi+json;version=3.0")], doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves_and_every_schema_is_used() {
        let doc = document(None, false);
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        let named: std::collections::BTreeSet<&str> =
            found.iter().map(|r| r.strip_prefix("#/components/schemas/").unwrap()).collect();
        for n in &named {
            assert!(schemas.contains_key(*n), "{n} is referenced but not defined");
        }
        for n in schemas.keys() {
            assert!(named.contains(n.as_str()), "{n} is defined but never used");
        }
    }

    #[test]
    fn every_json_body_has_a_schema_and_every_operation_its_statuses() {
        let doc = document(None, true);
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                assert!(!responses.is_empty(), "{method} {path}");
                for (status, r) in responses {
                    for (media, c) in r["content"].as_object().into_iter().flatten() {
                        if media.contains("json") {
                            assert!(c["schema"]["$ref"].is_string(), "{method} {path} {status} {media}: no schema");
                        }
                    }
                }
                // Reads need a token on this server: every route but /health says 401.
                assert_eq!(responses.contains_key("401"), path != "/health", "{method} {path}");
                if !["get", "options"].contains(&method.as_str()) {
                    for s in ["400", "401", "403", "408", "413", "429", "503"] {
                        assert!(responses.contains_key(s), "{method} {path}: {s}");
                    }
                    assert_eq!(op["security"], json!([{"bearer": []}]), "{method} {path}");
                }
            }
        }
        let p = &doc["paths"]["/nearest"]["get"]["parameters"];
        let k = p.as_array().unwrap().iter().find(|p| p["name"] == "k").unwrap();
        assert_eq!(k["schema"], json!({"type": "integer", "minimum": 1.0, "maximum": 1000.0, "default": 5}));
    }
}
