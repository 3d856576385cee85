//! `GET /openapi.json`: the OpenAPI 3.0 document. It is built from
//! [`ENDPOINTS`], the same table `app()` registers routes from, so a route
//! cannot exist undocumented (a test checks both ways).

use serde_json::{json, Map, Value};

/// Where a parameter goes.
#[derive(Clone, Copy)]
pub enum In {
    Path,
    Query,
}

/// A documented parameter.
pub struct Param {
    pub name: &'static str,
    pub place: In,
    pub required: bool,
    /// JSON schema type: `string`, `integer`, `number`.
    pub ty: &'static str,
    pub description: &'static str,
}

const fn q(name: &'static str, ty: &'static str, description: &'static str) -> Param {
    Param { name, place: In::Query, required: false, ty, description }
}
const fn rq(name: &'static str, ty: &'static str, description: &'static str) -> Param {
    Param { name, place: In::Query, required: true, ty, description }
}
const fn p(name: &'static str, ty: &'static str, description: &'static str) -> Param {
    Param { name, place: In::Path, required: true, ty, description }
}

/// A documented GET endpoint.
pub struct Endpoint {
    /// The router path (axum syntax).
    pub route: &'static str,
    /// The documented path, when it differs (`{y}.mvt`).
    pub doc_path: Option<&'static str>,
    pub summary: &'static str,
    pub params: &'static [Param],
    /// `(status, description, content type)`.
    pub responses: &'static [(u16, &'static str, &'static str)],
}

/// Ids of layers, maps and tables: 1 to 100 letters, digits, `-`, `_`, `.`
/// (not only dots).
const ID_PATTERN: &str = "^(?!\\.+$)[A-Za-z0-9_.-]{1,100}$";
const JSON: &str = "application/json";
const GEOJSON: &str = "application/geo+json";
const SCHEMA: &str = "application/schema+json";
const HTML: &str = "text/html";
const ERR: (u16, &str, &str) = (400, "invalid parameter: {\"error\", \"parameter\"}", JSON);
const NF: (u16, &str, &str) = (404, "unknown layer, collection or feature", JSON);

/// Methods other than GET: (route, method, summary, request body type).
pub const OTHER_METHODS: &[(&str, &str, &str, &str)] = &[
    ("/maps", "post", "Create or replace a thematic map from a JSON definition (layer, join, value, ratio, method, classes, breaks, palette, reverse, title, unit, source), Content-Type application/json (else 415); 201 with the map, 400 naming the parameter", JSON),
    ("/maps/{id}", "delete", "Delete a thematic map; 204", JSON),
    ("/tables", "post", "Upload a CSV table (?id=, optional ?name=), Content-Type text/csv (else 415); delimiter (; , tab) and encoding (UTF-8 or Windows-1252) detected; at most 1,000 columns, 2,000,000 rows, 64 KiB per cell; 201 with its columns", "text/csv"),
    ("/tables/{id}", "delete", "Delete a CSV table; 204, 404 when unknown, 409 naming the maps that join it", JSON),
    ("/collections/{id}/items", "post", "Create a feature (OGC API Features Part 4) on an editable layer: a GeoJSON Feature in CRS84, Content-Type application/geo+json; editor token scoped to the layer; 201 with Location and ETag once stored; 405 on a read-only layer", GEOJSON),
    ("/collections/{id}/items", "options", "The methods this request's token may use on the collection's items (Allow)", JSON),
    ("/collections/{id}/items/{fid}", "put", "Replace a feature; If-Match with its ETag (428 without, 412 when stale, with the current ETag)", GEOJSON),
    ("/collections/{id}/items/{fid}", "patch", "Update a feature with an RFC 7396 merge patch (null removes a property; a geometry member replaces the geometry; the id cannot change), Content-Type application/merge-patch+json; If-Match required", "application/merge-patch+json"),
    ("/collections/{id}/items/{fid}", "delete", "Delete a feature; If-Match required; 204 with the new ETag", JSON),
    ("/collections/{id}/items/{fid}", "options", "The methods this request's token may use on the feature (Allow)", JSON),
    ("/collections/{id}/items/{fid}/observations", "post", "Post a status observation {kind: fill_level|crowd|state, value, category?, until?, observed_at, source}; sensor, editor or admin token scoped to the layer; 201 once stored, 200 for a replay of a stored one (idempotent on feature, kind, category, source, observed_at)", JSON),
    ("/observations", "post", "Post up to 10,000 observations, each with layer and feature; 200 with one result per item (201 stored, 200 replay, or its 4xx naming the member)", JSON),
];

/// Every route of the service.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        route: "/",
        doc_path: None,
        summary: "The web map for browsers (Accept: text/html or ?f=html); the OGC API landing page as JSON otherwise",
        params: &[q("f", "string", "html or json (default: from the Accept header)"), q("lang", "string", "page language: fr (default) or en")],
        responses: &[(200, "links to the API (OGC API landing page)", JSON), (200, "the web map", "text/html"), ERR],
    },
    Endpoint {
        route: "/assets/{file}",
        doc_path: None,
        summary: "Embedded files of the web map (its script and styles, MapLibre GL JS)",
        params: &[p("file", "string", "file name, e.g. maplibre-gl.mjs")],
        responses: &[(200, "the file (gzip when accepted)", "text/javascript"), (404, "unknown file", JSON)],
    },
    Endpoint { route: "/favicon.ico", doc_path: None, summary: "Icon of the web map (SVG)", params: &[], responses: &[(200, "icon", "image/svg+xml")] },
    Endpoint {
        route: "/style.json",
        doc_path: None,
        summary: "MapLibre style (spec v8) drawing every layer, usable as is",
        params: &[q("layers", "string", "comma-separated layer ids (default: all)")],
        responses: &[(200, "style", JSON), NF],
    },
    Endpoint { route: "/metrics", doc_path: None, summary: "Prometheus metrics (text exposition format 0.0.4): requests and latency per route, tile cache, loads and reloads, features per layer, connections, refusals per limit", params: &[], responses: &[(200, "metrics", "text/plain")] },
    Endpoint { route: "/health", doc_path: None, summary: "Readiness: 200 with the layer count once loaded, 503 while loading", params: &[], responses: &[(200, "ready", JSON), (503, "loading", JSON)] },
    Endpoint { route: "/catalog", doc_path: None, summary: "Every layer with its metadata and TileJSON URL", params: &[], responses: &[(200, "layers and failed layers", JSON)] },
    Endpoint { route: "/openapi.json", doc_path: None, summary: "This document", params: &[], responses: &[(200, "OpenAPI 3.0", "application/vnd.oai.openapi+json;version=3.0")] },
    Endpoint {
        route: "/tiles/{layers}",
        doc_path: None,
        summary: "TileJSON 3.0.0 of one layer or a comma-separated list",
        params: &[p("layers", "string", "layer id or comma-separated ids")],
        responses: &[(200, "TileJSON", JSON), ERR, NF],
    },
    Endpoint {
        route: "/tiles/{layers}/{z}/{x}/{y}",
        doc_path: Some("/tiles/{layers}/{z}/{x}/{y}.mvt"),
        summary: "Mapbox Vector Tile (XYZ scheme); gzip when accepted; ETag / If-None-Match",
        params: &[p("layers", "string", "layer id or comma-separated ids"), p("z", "integer", "zoom 0..22"), p("x", "integer", "column"), p("y", "integer", "row (y down)")],
        responses: &[(200, "the tile", "application/vnd.mapbox-vector-tile"), (204, "no feature in this tile", JSON), (304, "not modified", JSON), ERR, NF],
    },
    Endpoint {
        route: "/waste-categories",
        doc_path: None,
        summary: "The waste taxonomy; with q, resolve a word (French or English, any case or accents)",
        params: &[q("q", "string", "a word: verre, frigo, piles, gravats... (at most 100 characters)")],
        responses: &[(200, "categories (and suggestions when nothing matches)", JSON), ERR],
    },
    Endpoint {
        route: "/fonts",
        doc_path: None,
        summary: "The font stacks served for map labels, and the glyphs URL template for a style",
        params: &[],
        responses: &[(200, "fonts and the glyphs URL", JSON)],
    },
    Endpoint {
        route: "/fonts/{fontstack}/{range}",
        doc_path: Some("/fonts/{fontstack}/{range}.pbf"),
        summary: "256 glyphs of a font stack as signed distance fields (Mapbox glyph protocol buffer), as MapLibre requests them; the first font of the comma-separated stack that has each code point",
        params: &[p("fontstack", "string", "comma-separated font names: DejaVu Sans Book, DejaVu Sans Bold"), p("range", "string", "START-END with START a multiple of 256, END = START + 255 (0-255, 256-511, ...)")],
        responses: &[(200, "the glyphs", "application/x-protobuf"), (304, "not modified", JSON), (404, "no font of the stack is served, or the range is not a block of 256", JSON)],
    },
    Endpoint {
        route: "/nearest",
        doc_path: None,
        summary: "Nearest facilities by geodesic distance (WGS84 ellipsoid)",
        params: &[
            rq("lon", "number", "longitude, -180..180"),
            rq("lat", "number", "latitude, -90..90"),
            q("layers", "string", "comma-separated layer ids (default: every point layer)"),
            q("k", "integer", "number of results, 1..1000 (default 5)"),
            q("accepts", "string", "comma-separated wastes (categories, OSM keys or words); all are required"),
            q("open", "string", "now, or an RFC 3339 time: only facilities open then"),
            q("max_distance", "number", "metres"),
            q("type", "string", "container or centre"),
        ],
        responses: &[(200, "GeoJSON FeatureCollection sorted by distance_m", GEOJSON), ERR, NF],
    },
    Endpoint { route: "/conformance", doc_path: None, summary: "OGC API conformance classes", params: &[], responses: &[(200, "conformsTo", JSON)] },
    Endpoint {
        route: "/collections",
        doc_path: None,
        summary: "OGC API feature collections (one per layer); HTML with f=html or Accept: text/html",
        params: &[q("f", "string", "json or html (default: from the Accept header)")],
        responses: &[(200, "collections", JSON), (200, "readable page", HTML), ERR],
    },
    Endpoint {
        route: "/collections/{id}",
        doc_path: None,
        summary: "One collection (crs list, storageCrs, links to items, schema, queryables); HTML with f=html",
        params: &[p("id", "string", "layer id"), q("f", "string", "json or html (default: from the Accept header)")],
        responses: &[(200, "collection", JSON), (200, "readable page", HTML), ERR, NF],
    },
    Endpoint {
        route: "/collections/{id}/schema",
        doc_path: None,
        summary: "JSON Schema of the collection's features (OGC API Features Part 5): every property in source order with its type, the geometry's role and format",
        params: &[p("id", "string", "layer id")],
        responses: &[(200, "JSON Schema", SCHEMA), NF],
    },
    Endpoint {
        route: "/collections/{id}/queryables",
        doc_path: None,
        summary: "What filter and the property parameters of items may name (Part 3): geometry and every property",
        params: &[p("id", "string", "layer id")],
        responses: &[(200, "JSON Schema", SCHEMA), NF],
    },
    Endpoint {
        route: "/collections/{id}/feature-schema",
        doc_path: None,
        summary: "The collection's properties as a GeoJSON Feature schema (the collection's describedby link; GDAL's OAPIF driver builds its columns from it)",
        params: &[p("id", "string", "layer id")],
        responses: &[(200, "JSON Schema", SCHEMA), NF],
    },
    Endpoint {
        route: "/collections/{id}/items",
        doc_path: None,
        summary: "Features of a collection, paged; filter with CQL2 (filter, filter-lang) or on property equality (other parameters)",
        params: &[
            p("id", "string", "layer id"),
            q("filter", "string", "CQL2 filter (Part 3), e.g. nom LIKE 'Saint-%' AND S_INTERSECTS(geometry, BBOX(-1,44,0,45))"),
            q("filter-lang", "string", "cql2-text (default) or cql2-json"),
            q("filter-crs", "string", "CRS of the filter's geometries (default CRS84; one of the collection's crs list)"),
            q("bbox", "string", "minx,miny,maxx,maxy (in bbox-crs, default CRS84)"),
            q("bbox-crs", "string", "CRS of bbox, e.g. http://www.opengis.net/def/crs/EPSG/0/2154 (one of the collection's crs list)"),
            q("crs", "string", "CRS of the answer's geometries (Part 2), e.g. http://www.opengis.net/def/crs/EPSG/0/2154; Content-Crs names it"),
            q("limit", "integer", "page size, default 100; a larger one than 10000 is lowered to 10000"),
            q("offset", "integer", "start of the page"),
            q("accepts", "string", "wastes the features must all accept"),
            q("datetime", "string", "an RFC 3339 instant or date, or an interval a/b with .. for an open end, on the layer's time_field (400 when the layer has none)"),
            q("f", "string", "json or html: a table of the page and a map (default: from the Accept header)"),
        ],
        responses: &[(200, "GeoJSON FeatureCollection with numberMatched, numberReturned and next/prev links", GEOJSON), (200, "readable page", HTML), ERR, NF],
    },
    Endpoint {
        route: "/collections/{id}/items/{fid}",
        doc_path: None,
        summary: "One feature, with its strong ETag (send it back in If-Match to edit it)",
        params: &[p("id", "string", "layer id"), p("fid", "string", "feature id"), q("crs", "string", "CRS of the geometry (Part 2; default CRS84)"), q("f", "string", "json or html: its properties and a map (default: from the Accept header)")],
        responses: &[(200, "GeoJSON Feature", GEOJSON), (200, "readable page", HTML), ERR, NF],
    },
    Endpoint {
        route: "/collections/{id}/items/{fid}/history",
        doc_path: None,
        summary: "Every change of a feature, oldest first: when, which token, operation, before and after",
        params: &[p("id", "string", "layer id"), p("fid", "string", "feature id"), q("since", "integer", "seq of the last change seen (default 0)"), q("limit", "integer", "changes per page, 1..10000 (default 100)")],
        responses: &[(200, "changes and a next link", JSON), ERR, NF, (503, "no store", JSON)],
    },
    Endpoint {
        route: "/collections/{id}/changes.osc",
        doc_path: None,
        summary: "The layer's edits as an osmChange 0.6 document for JOSM or osmium: OSM nodes (ids node/N) modified or deleted, created features with negative placeholder ids; X-Tuilerie-Skipped counts what osmChange cannot carry",
        params: &[p("id", "string", "layer id"), q("since", "integer", "seq of the last change already reviewed (default 0)")],
        responses: &[(200, "osmChange XML", "application/xml"), ERR, NF, (503, "no store", JSON)],
    },
    Endpoint {
        route: "/collections/{id}/items/{fid}/observations",
        doc_path: None,
        summary: "Status observations of a facility, newest first (paged by limit/offset with a next link); with interval, buckets of min/mean/max/count per kind and category",
        params: &[p("id", "string", "collection id"), p("fid", "string", "feature id"), q("from", "string", "RFC 3339, inclusive"), q("to", "string", "RFC 3339, exclusive"), q("kind", "string", "fill_level, crowd or state"), q("category", "string", "waste category (word or key)"), q("limit", "integer", "1..10000 (default 100)"), q("offset", "integer", "observations skipped (default 0)"), q("interval", "string", "bucket length: 15m, 1h, 1d... (at least 1m)")],
        responses: &[(200, "observations and links, or buckets", JSON), ERR, NF, (503, "no store", JSON)],
    },
    Endpoint {
        route: "/collections/{id}/items/{fid}/busy-hours",
        doc_path: None,
        summary: "Mean crowd level per hour of the week (layer time zone) over the kept history, with counts",
        params: &[p("id", "string", "collection id"), p("fid", "string", "feature id")],
        responses: &[(200, "7 days x 24 hours", JSON), NF, (503, "no store", JSON)],
    },
    Endpoint {
        route: "/observations",
        doc_path: None,
        summary: "Every stored observation after a sequence number, oldest first (a feed for operators and mirrors)",
        params: &[q("since", "integer", "seq of the last observation seen (default 0)"), q("layer", "string", "only this layer's"), q("limit", "integer", "1..10000 (default 100)")],
        responses: &[(200, "observations and a next link", JSON), ERR, (404, "unknown layer", JSON), (503, "no store", JSON)],
    },
    Endpoint {
        route: "/events",
        doc_path: None,
        summary: "Server-sent events of feature edits (event: feature) and status changes (event: status) with the changed feature and tiles; ids are store sequence numbers; Last-Event-ID replays up to 10,000 missed changes (else event: reload); a heartbeat comment every 15 s",
        params: &[q("layers", "string", "comma-separated layer ids (default: all)"), q("bbox", "string", "minLon,minLat,maxLon,maxLat: only changes there"), q("last_event_id", "integer", "as the Last-Event-ID header")],
        responses: &[(200, "the event stream", "text/event-stream"), ERR, NF, (503, "no store, or too many subscribers", JSON)],
    },
    Endpoint {
        route: "/changes",
        doc_path: None,
        summary: "The audit log of every change (features, maps, tables), oldest first; admin token",
        params: &[q("since", "integer", "seq of the last change seen (default 0)"), q("layer", "string", "only this layer's changes"), q("limit", "integer", "changes per page, 1..10000 (default 100)")],
        responses: &[(200, "changes and a next link", JSON), ERR, (401, "no valid token", JSON), (403, "not an admin token", JSON), (503, "no store", JSON)],
    },
    Endpoint {
        route: "/maps",
        doc_path: None,
        summary: "Thematic maps, CSV tables, classification methods and palettes",
        params: &[],
        responses: &[(200, "maps, tables, failed configured maps, methods, palettes", JSON)],
    },
    Endpoint {
        route: "/maps/{id}",
        doc_path: None,
        summary: "A thematic map: definition, classes, legend, join report, features without data, warnings, links; {id}.svg, {id}.png and {id}.pdf export it for a report, {id}.csv and {id}.geojson give its numbers (key, name, value, ratio inputs, class, class label, colour, no-data reason)",
        params: &[p("id", "string", "map id, or map id + .svg / .png / .pdf / .csv / .geojson"), q("width", "integer", "exports: width in pixels, 300 to 8000 (default 1200)"), q("sep", "string", "CSV: , (default, decimal point) or ; (decimal comma)"), q("bom", "boolean", "CSV: start with a UTF-8 byte-order mark (default false)"), q("paper", "string", "PDF: a4 (default) or a3"), q("orientation", "string", "PDF: landscape (default) or portrait")],
        responses: &[(200, "map (JSON); SVG, PNG, PDF, CSV or GeoJSON for the exports", JSON), ERR, (404, "unknown map", JSON)],
    },
    Endpoint {
        route: "/maps/{id}/legend",
        doc_path: None,
        summary: "Legend: class bounds, colours and counts, no-data class; counts add up to total",
        params: &[p("id", "string", "map id")],
        responses: &[(200, "legend", JSON), (404, "unknown map", JSON)],
    },
    Endpoint {
        route: "/maps/{id}/style.json",
        doc_path: None,
        summary: "MapLibre style drawing the map's classes",
        params: &[p("id", "string", "map id")],
        responses: &[(200, "style", JSON), (404, "unknown map", JSON)],
    },
    Endpoint {
        route: "/maps/{id}/tiles/{z}/{x}/{y}",
        doc_path: Some("/maps/{id}/tiles/{z}/{x}/{y}.mvt"),
        summary: "Vector tile of the map's derived layer (properties value and class; class -1 is no data)",
        params: &[p("id", "string", "map id"), p("z", "integer", "zoom"), p("x", "integer", "column"), p("y", "integer", "row")],
        responses: &[(200, "tile", "application/vnd.mapbox-vector-tile"), (204, "no feature", JSON), ERR, (404, "unknown map", JSON)],
    },
    Endpoint {
        route: "/tables",
        doc_path: None,
        summary: "CSV tables available for joins",
        params: &[],
        responses: &[(200, "tables with columns, row count, delimiter, encoding", JSON)],
    },
    Endpoint {
        route: "/tables/{id}",
        doc_path: None,
        summary: "One CSV table with its first rows",
        params: &[p("id", "string", "table id")],
        responses: &[(200, "table", JSON), (404, "unknown table", JSON)],
    },
];

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

/// The OpenAPI document; with the catalog, each collection's items path
/// too, with a parameter per property (OGC API Features Part 3,
/// queryables as query parameters: clients such as GDAL read them there).
pub fn document(catalog: Option<&tuilerie_geo::Catalog>) -> Value {
    let mut paths = Map::new();
    for e in ENDPOINTS {
        let params: Vec<Value> = e
            .params
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "in": match p.place { In::Path => "path", In::Query => "query" },
                    "required": p.required,
                    "description": p.description,
                    "schema": schema(p, e.route),
                })
            })
            .collect();
        let mut responses = Map::new();
        for (code, desc, ct) in e.responses {
            // Several entries of one status: one response, several media types.
            let r = responses.entry(code.to_string()).or_insert_with(|| json!({"description": desc}));
            if ![204, 304].contains(code) {
                if r.get("content").is_none() {
                    r["content"] = json!({});
                }
                r["content"][*ct] = json!({"schema": {}});
            }
        }
        let mut item = json!({"get": {"summary": e.summary, "parameters": params, "responses": responses}});
        for (_, method, summary, body) in OTHER_METHODS.iter().filter(|m| m.0 == e.route) {
            let path_params: Vec<&Value> =
                item["get"]["parameters"].as_array().into_iter().flatten().filter(|p| p["in"] == "path").collect();
            let mut op = json!({
                "summary": summary,
                "parameters": path_params,
                "responses": {"400": {"description": "invalid input naming the parameter"}},
            });
            let responses = &mut op["responses"];
            let feature_item = e.route == "/collections/{id}/items/{fid}";
            match *method {
                "options" => {
                    *responses = json!({"204": {"description": "Allow lists the methods"}, "404": {"description": "unknown collection or feature"}});
                    item[*method] = op;
                    continue;
                }
                "delete" => {
                    responses["204"] = json!({"description": "deleted"});
                    responses["404"] = json!({"description": "unknown"});
                    if !feature_item {
                        responses["409"] = json!({"description": "in use by the resources listed in used_by, or defined in the configuration file"});
                    }
                }
                "post" if e.route == "/observations" => {
                    responses["200"] = json!({"description": "one result per observation"});
                }
                "post" if e.route.ends_with("/observations") => {
                    responses["201"] = json!({"description": "stored"});
                    responses["200"] = json!({"description": "stored before (an idempotent replay)"});
                    responses["404"] = json!({"description": "unknown collection or feature"});
                }
                "post" => {
                    responses["201"] = json!({"description": "created and stored"});
                    responses["409"] =
                        json!({"description": "defined in the configuration file (read-only through the API)"});
                }
                _ => {
                    responses["200"] = json!({"description": "the feature as stored, with its new ETag"});
                    responses["404"] = json!({"description": "unknown feature"});
                }
            }
            for (code, what) in [
                ("401", "no token, or an unknown or revoked one (WWW-Authenticate: Bearer)"),
                ("403", "the token's role or scope does not allow this"),
                ("429", "the token writes faster than server.write_rate (Retry-After)"),
                ("503", "the store cannot take writes (full disk, read-only, no store); reads go on"),
            ] {
                responses[code] = json!({"description": what});
            }
            op["security"] = json!([{"bearer": []}]);
            let responses = &mut op["responses"];
            if e.route.starts_with("/collections/") && !e.route.ends_with("/observations") {
                responses["404"] = json!({"description": "unknown collection or feature"});
                responses["405"] = json!({"description": "the collection is read-only (editable = false)"});
                if feature_item {
                    responses["412"] =
                        json!({"description": "If-Match does not match: the body's etag is the current one"});
                    responses["428"] = json!({"description": "If-Match is missing"});
                    if let Some(p) = op["parameters"].as_array_mut() {
                        p.push(json!({"name": "If-Match", "in": "header", "required": true, "description": "the feature's current ETag", "schema": {"type": "string"}}));
                    }
                }
            }
            if *method != "delete" {
                let body_schema = if *body == "text/csv" {
                    // Any text (a schema type would make every JSON value
                    // a "string" or "not a string" to generators).
                    json!({})
                } else if e.route == "/observations" {
                    // Each member is checked per item and reported in the
                    // results (a 200): the document only asks for objects.
                    json!({"type": "array", "minItems": 1, "maxItems": 10000, "items": {"type": "object"}})
                } else if e.route.ends_with("/observations") {
                    json!({"type": "object", "required": ["kind", "value", "observed_at", "source"], "properties": {
                        "kind": {"type": "string", "enum": ["fill_level", "crowd", "state"]},
                        "value": {},
                        "category": {"type": "string"},
                        "until": {"type": "string", "format": "date-time"},
                        "observed_at": {"type": "string", "format": "date-time"},
                        "source": {"type": "string", "minLength": 1, "maxLength": 200},
                    }})
                } else if *method == "patch" {
                    json!({"type": "object", "properties": {"geometry": {"type": "object"}, "properties": {"type": "object"}}})
                } else if e.route.starts_with("/collections/") {
                    json!({"type": "object", "required": ["type", "geometry"], "properties": {
                        "type": {"type": "string", "enum": ["Feature"]},
                        "geometry": {"type": "object", "required": ["type", "coordinates"]},
                        "properties": {"type": "object"},
                    }})
                } else {
                    json!({"type": "object", "required": ["title", "layer"], "properties": {
                        "id": {"type": "string", "pattern": ID_PATTERN},
                        "title": {"type": "string"},
                        "layer": {"type": "string"},
                    }})
                };
                op["requestBody"] = json!({"required": true, "content": {*body: {"schema": body_schema}}});
                if e.route == "/tables" {
                    op["parameters"] = json!([
                        {"name": "id", "in": "query", "required": true, "description": "table id", "schema": {"type": "string", "pattern": ID_PATTERN}},
                        {"name": "name", "in": "query", "required": false, "description": "file name shown in messages", "schema": {"type": "string"}},
                    ]);
                }
                op["responses"]["415"] = json!({"description": "the body's Content-Type is not the one documented"});
            }
            item[*method] = op;
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
    let components = json!({"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "a token of `tuilerie token create`"}}});
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
    let doc = document(catalog.as_deref());
    ([(axum::http::header::CONTENT_TYPE, "application/vnd.oai.openapi+json;version=3.0")], doc.to_string())
}
