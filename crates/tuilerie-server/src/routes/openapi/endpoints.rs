//! What each route takes and answers: the tables the document is built
//! from (`app()` registers its routes from the same list, see
//! [`crate::routes`]). Response bodies name a schema of
//! [`super::schemas`].

use super::{Endpoint, In, Param, Resp, Write};

const fn q(name: &'static str, ty: &'static str, description: &'static str) -> Param {
    Param { name, place: In::Query, required: false, ty, description }
}
const fn rq(name: &'static str, ty: &'static str, description: &'static str) -> Param {
    Param { name, place: In::Query, required: true, ty, description }
}
const fn p(name: &'static str, ty: &'static str, description: &'static str) -> Param {
    Param { name, place: In::Path, required: true, ty, description }
}
/// A header the server checks itself: without it the answer is the
/// documented status (428 for If-Match), not a generic 400.
const fn h(name: &'static str, description: &'static str) -> Param {
    Param { name, place: In::Header, required: false, ty: "string", description }
}

pub const JSON: &str = "application/json";
pub const GEOJSON: &str = "application/geo+json";
const SCHEMA: &str = "application/schema+json";
const HTML: &str = "text/html";
const MVT: &str = "application/vnd.mapbox-vector-tile";

const ERR: Resp = (400, "invalid parameter: the body names it", JSON, "Error");
const NF: Resp = (404, "unknown layer, collection or feature; the body lists what is known", JSON, "Error");
const LOADING: Resp = (503, "layers are still loading (retry shortly)", JSON, "Error");
const NO_STORE: Resp = (503, "layers are still loading, or this server has no store", JSON, "Error");
const BUSY: Resp =
    (503, "too many exports, uploads or map builds at once (Retry-After), or layers still loading", JSON, "Error");
const PAGE: Resp = (200, "readable page", HTML, "");

const F: Param = q("f", "string", "json or html (default: from the Accept header)");
const LAYER: Param = p("id", "string", "layer id");
const FID: Param = p("fid", "string", "feature id");

/// Every GET route of the service.
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        route: "/",
        doc_path: None,
        summary: "The web map for browsers (Accept: text/html or ?f=html); the OGC API landing page as JSON otherwise",
        params: &[F, q("lang", "string", "page language: fr (default) or en")],
        responses: &[(200, "links to the API (OGC API landing page)", JSON, "Landing"), (200, "the web map", HTML, ""), ERR],
    },
    Endpoint {
        route: "/assets/{file}",
        doc_path: None,
        summary: "Embedded files of the web map (its page, script and styles, MapLibre GL JS); gzip when accepted",
        params: &[p("file", "string", "file name, e.g. maplibre-gl.mjs")],
        responses: &[
            (200, "the file", "text/javascript", ""),
            (200, "the file", "text/css", ""),
            (200, "the file", HTML, ""),
            (200, "the file", "image/svg+xml", ""),
            (404, "unknown file", JSON, "Error"),
        ],
    },
    Endpoint {
        route: "/favicon.ico",
        doc_path: None,
        summary: "Icon of the web map (SVG)",
        params: &[],
        responses: &[(200, "icon", "image/svg+xml", "")],
    },
    Endpoint {
        route: "/style.json",
        doc_path: None,
        summary: "MapLibre style (spec v8) drawing every layer, usable as is",
        params: &[q("layers", "string", "comma-separated layer ids (default: all)")],
        responses: &[(200, "style", JSON, "Style"), ERR, NF, LOADING],
    },
    Endpoint {
        route: "/metrics",
        doc_path: None,
        summary: "Prometheus metrics (text exposition format 0.0.4): requests and latency per route, tile cache, loads and reloads, features per layer, connections, refusals per limit",
        params: &[],
        responses: &[(200, "metrics", "text/plain", ""), (503, "no metrics recorder", "text/plain", "")],
    },
    Endpoint {
        route: "/health",
        doc_path: None,
        summary: "Readiness: 200 with the layer count once loaded, 503 while loading",
        params: &[],
        responses: &[(200, "ready", JSON, "Health"), (503, "loading", JSON, "Health")],
    },
    Endpoint {
        route: "/catalog",
        doc_path: None,
        summary: "Every layer with its metadata and TileJSON URL",
        params: &[],
        responses: &[(200, "layers and failed layers", JSON, "Catalog"), LOADING],
    },
    Endpoint {
        route: "/openapi.json",
        doc_path: None,
        summary: "This document",
        params: &[],
        responses: &[(200, "OpenAPI 3.0", "application/vnd.oai.openapi+json;version=3.0", "OpenApi")],
    },
    Endpoint {
        route: "/tiles/{layers}",
        doc_path: None,
        summary: "TileJSON 3.0.0 of one layer or a comma-separated list",
        params: &[p("layers", "string", "layer id or comma-separated ids")],
        responses: &[(200, "TileJSON", JSON, "TileJson"), ERR, NF, LOADING],
    },
    Endpoint {
        route: "/tiles/{layers}/{z}/{x}/{y}",
        doc_path: Some("/tiles/{layers}/{z}/{x}/{y}.mvt"),
        summary: "Mapbox Vector Tile (XYZ scheme); gzip when accepted; ETag / If-None-Match",
        params: &[
            p("layers", "string", "layer id or comma-separated ids"),
            p("z", "integer", "zoom 0..22"),
            p("x", "integer", "column, below 2^z"),
            p("y", "integer", "row (y down), below 2^z"),
        ],
        responses: &[
            (200, "the tile", MVT, ""),
            (204, "no feature in this tile", "", ""),
            (304, "not modified", "", ""),
            ERR,
            NF,
            LOADING,
        ],
    },
    Endpoint {
        route: "/waste-categories",
        doc_path: None,
        summary: "The waste taxonomy; with q, resolve a word (French or English, any case or accents)",
        params: &[q("q", "string", "a word: verre, frigo, piles, gravats... (at most 100 characters)")],
        responses: &[(200, "categories (and suggestions when nothing matches)", JSON, "WasteCategories"), ERR],
    },
    Endpoint {
        route: "/fonts",
        doc_path: None,
        summary: "The font stacks served for map labels, and the glyphs URL template for a style",
        params: &[],
        responses: &[(200, "fonts and the glyphs URL", JSON, "Fonts")],
    },
    Endpoint {
        route: "/fonts/{fontstack}/{range}",
        doc_path: Some("/fonts/{fontstack}/{range}.pbf"),
        summary: "256 glyphs of a font stack as signed distance fields (Mapbox glyph protocol buffer), as MapLibre requests them; the first font of the comma-separated stack that has each code point",
        params: &[
            p("fontstack", "string", "comma-separated font names: DejaVu Sans Book, DejaVu Sans Bold"),
            p("range", "string", "START-END with START a multiple of 256, END = START + 255 (0-255, 256-511, ...)"),
        ],
        responses: &[
            (200, "the glyphs", "application/x-protobuf", ""),
            (304, "not modified", "", ""),
            (404, "no font of the stack is served, or the range is not a block of 256", JSON, "Error"),
            BUSY,
        ],
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
        responses: &[(200, "GeoJSON FeatureCollection sorted by distance_m", GEOJSON, "Nearest"), ERR, NF, LOADING],
    },
    Endpoint {
        route: "/conformance",
        doc_path: None,
        summary: "OGC API conformance classes",
        params: &[],
        responses: &[(200, "conformsTo", JSON, "Conformance")],
    },
    Endpoint {
        route: "/collections",
        doc_path: None,
        summary: "OGC API feature collections (one per layer); HTML with f=html or Accept: text/html",
        params: &[F],
        responses: &[(200, "collections", JSON, "Collections"), PAGE, ERR, LOADING],
    },
    Endpoint {
        route: "/collections/{id}",
        doc_path: None,
        summary: "One collection (crs list, storageCrs, links to items, schema, queryables); HTML with f=html",
        params: &[LAYER, F],
        responses: &[(200, "collection", JSON, "Collection"), PAGE, ERR, NF, LOADING],
    },
    Endpoint {
        route: "/collections/{id}/schema",
        doc_path: None,
        summary: "JSON Schema of the collection's features (OGC API Features Part 5): every property in source order with its type, the geometry's role and format",
        params: &[LAYER],
        responses: &[(200, "JSON Schema", SCHEMA, "JsonSchema"), NF, LOADING],
    },
    Endpoint {
        route: "/collections/{id}/queryables",
        doc_path: None,
        summary: "What filter and the property parameters of items may name (Part 3): geometry and every property",
        params: &[LAYER],
        responses: &[(200, "JSON Schema", SCHEMA, "JsonSchema"), NF, LOADING],
    },
    Endpoint {
        route: "/collections/{id}/feature-schema",
        doc_path: None,
        summary: "The collection's properties as a GeoJSON Feature schema (the collection's describedby link; GDAL's OAPIF driver builds its columns from it)",
        params: &[LAYER],
        responses: &[(200, "JSON Schema", SCHEMA, "JsonSchema"), NF, LOADING],
    },
    Endpoint {
        route: "/collections/{id}/items",
        doc_path: None,
        summary: "Features of a collection, paged; filter with CQL2 (filter, filter-lang) or on property equality (other parameters)",
        params: &[
            LAYER,
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
        responses: &[
            (200, "GeoJSON FeatureCollection with numberMatched, numberReturned and next/prev links", GEOJSON, "FeatureCollection"),
            PAGE,
            ERR,
            NF,
            LOADING,
        ],
    },
    Endpoint {
        route: "/collections/{id}/items/{fid}",
        doc_path: None,
        summary: "One feature, with its strong ETag (send it back in If-Match to edit it)",
        params: &[
            LAYER,
            FID,
            q("crs", "string", "CRS of the geometry (Part 2; default CRS84)"),
            q("f", "string", "json or html: its properties and a map (default: from the Accept header)"),
        ],
        responses: &[(200, "GeoJSON Feature", GEOJSON, "Feature"), PAGE, ERR, NF, LOADING],
    },
    Endpoint {
        route: "/collections/{id}/items/{fid}/history",
        doc_path: None,
        summary: "Every change of a feature, oldest first: when, which token, operation, before and after",
        params: &[
            LAYER,
            FID,
            q("since", "integer", "seq of the last change seen (default 0)"),
            q("limit", "integer", "changes per page, 1..10000 (default 100)"),
        ],
        responses: &[(200, "changes and a next link", JSON, "Changes"), ERR, NF, NO_STORE],
    },
    Endpoint {
        route: "/collections/{id}/changes.osc",
        doc_path: None,
        summary: "The layer's edits as an osmChange 0.6 document for JOSM or osmium: OSM nodes (ids node/N) modified or deleted, created features with negative placeholder ids; X-Tuilerie-Skipped counts what osmChange cannot carry",
        params: &[LAYER, q("since", "integer", "seq of the last change already reviewed (default 0)")],
        responses: &[(200, "osmChange XML", "application/xml", ""), ERR, NF, NO_STORE],
    },
    Endpoint {
        route: "/collections/{id}/items/{fid}/observations",
        doc_path: None,
        summary: "Status observations of a facility, newest first (paged by limit/offset with a next link); with interval, buckets of min/mean/max/count per kind and category",
        params: &[
            p("id", "string", "collection id"),
            FID,
            q("from", "string", "RFC 3339, inclusive"),
            q("to", "string", "RFC 3339, exclusive"),
            q("kind", "string", "fill_level, crowd or state"),
            q("category", "string", "waste category (word or key)"),
            q("limit", "integer", "1..10000 (default 100)"),
            q("offset", "integer", "observations skipped (default 0)"),
            q("interval", "string", "bucket length: 15m, 1h, 1d... (at least 1m)"),
        ],
        responses: &[(200, "observations and links, or buckets", JSON, "ObservationsOrBuckets"), ERR, NF, NO_STORE],
    },
    Endpoint {
        route: "/collections/{id}/items/{fid}/busy-hours",
        doc_path: None,
        summary: "Mean crowd level per hour of the week (layer time zone) over the kept history, with counts",
        params: &[p("id", "string", "collection id"), FID],
        responses: &[(200, "7 days x 24 hours", JSON, "BusyHours"), NF, NO_STORE],
    },
    Endpoint {
        route: "/observations",
        doc_path: None,
        summary: "Every stored observation after a sequence number, oldest first (a feed for operators and mirrors)",
        params: &[
            q("since", "integer", "seq of the last observation seen (default 0)"),
            q("layer", "string", "only this layer's"),
            q("limit", "integer", "1..10000 (default 100)"),
        ],
        responses: &[(200, "observations and a next link", JSON, "Observations"), ERR, (404, "unknown layer", JSON, "Error"), NO_STORE],
    },
    Endpoint {
        route: "/events",
        doc_path: None,
        summary: "Server-sent events of feature edits (event: feature) and status changes (event: status) with the changed feature and tiles; ids are store sequence numbers; Last-Event-ID replays up to 10,000 missed changes (else event: reload); a heartbeat comment every 15 s",
        params: &[
            q("layers", "string", "comma-separated layer ids (default: all)"),
            q("bbox", "string", "minLon,minLat,maxLon,maxLat: only changes there"),
            q("last_event_id", "integer", "as the Last-Event-ID header"),
        ],
        responses: &[
            (200, "the event stream", "text/event-stream", ""),
            ERR,
            NF,
            (503, "no store, too many subscribers, or layers still loading", JSON, "Error"),
        ],
    },
    Endpoint {
        route: "/changes",
        doc_path: None,
        summary: "The audit log of every change (features, maps, tables), oldest first; admin token",
        params: &[
            q("since", "integer", "seq of the last change seen (default 0)"),
            q("layer", "string", "only this layer's changes"),
            q("limit", "integer", "changes per page, 1..10000 (default 100)"),
        ],
        responses: &[
            (200, "changes and a next link", JSON, "Changes"),
            ERR,
            (401, "no valid token (WWW-Authenticate: Bearer)", JSON, "Error"),
            (403, "not an admin token", JSON, "Error"),
            NO_STORE,
        ],
    },
    Endpoint {
        route: "/maps",
        doc_path: None,
        summary: "Thematic maps, CSV tables, classification methods and palettes",
        params: &[],
        responses: &[(200, "maps, tables, failed configured maps, methods, palettes", JSON, "MapList")],
    },
    Endpoint {
        route: "/maps/{id}",
        doc_path: None,
        summary: "A thematic map: definition, classes, legend, join report, features without data, warnings, links; {id}.svg, {id}.png and {id}.pdf export it for a report, {id}.csv and {id}.geojson give its numbers (key, name, value, ratio inputs, class, class label, colour, no-data reason)",
        params: &[
            p("id", "string", "map id, or map id + .svg / .png / .pdf / .csv / .geojson"),
            q("width", "integer", "exports: width in pixels, 300 to 8000 (default 1200)"),
            q("sep", "string", "CSV: , (default, decimal point) or ; (decimal comma)"),
            q("bom", "boolean", "CSV: start with a UTF-8 byte-order mark (default false)"),
            q("paper", "string", "PDF: a4 (default) or a3"),
            q("orientation", "string", "PDF: landscape (default) or portrait"),
        ],
        responses: &[
            (200, "the map; its exports", JSON, "Map"),
            (200, "SVG export", "image/svg+xml", ""),
            (200, "PNG export", "image/png", ""),
            (200, "PDF export", "application/pdf", ""),
            (200, "CSV of its numbers", "text/csv", ""),
            (200, "its numbers with the geometries", GEOJSON, "MapFeatures"),
            ERR,
            (404, "unknown map", JSON, "Error"),
            BUSY,
        ],
    },
    Endpoint {
        route: "/maps/{id}/legend",
        doc_path: None,
        summary: "Legend: class bounds, colours and counts, no-data class; counts add up to total",
        params: &[p("id", "string", "map id")],
        responses: &[(200, "legend", JSON, "Legend"), (404, "unknown map", JSON, "Error")],
    },
    Endpoint {
        route: "/maps/{id}/style.json",
        doc_path: None,
        summary: "MapLibre style drawing the map's classes",
        params: &[p("id", "string", "map id")],
        responses: &[(200, "style", JSON, "Style"), (404, "unknown map", JSON, "Error")],
    },
    Endpoint {
        route: "/maps/{id}/tiles/{z}/{x}/{y}",
        doc_path: Some("/maps/{id}/tiles/{z}/{x}/{y}.mvt"),
        summary: "Vector tile of the map's derived layer (properties value and class; class -1 is no data)",
        params: &[
            p("id", "string", "map id"),
            p("z", "integer", "zoom"),
            p("x", "integer", "column, below 2^z"),
            p("y", "integer", "row, below 2^z"),
        ],
        responses: &[
            (200, "tile", MVT, ""),
            (204, "no feature", "", ""),
            (304, "not modified", "", ""),
            ERR,
            (404, "unknown map", JSON, "Error"),
        ],
    },
    Endpoint {
        route: "/tables",
        doc_path: None,
        summary: "CSV tables available for joins",
        params: &[],
        responses: &[(200, "tables with columns, row count, delimiter, encoding", JSON, "Tables")],
    },
    Endpoint {
        route: "/tables/{id}",
        doc_path: None,
        summary: "One CSV table with its first rows",
        params: &[p("id", "string", "table id")],
        responses: &[(200, "table", JSON, "Table"), (404, "unknown table", JSON, "Error")],
    },
];

const IF_MATCH: Param = h("If-Match", "the feature's current ETag (required: 428 without it)");
const NOT_EDITABLE: Resp =
    (405, "the collection is read-only (editable = false; Allow lists GET, HEAD, OPTIONS)", JSON, "Error");
const STALE: Resp =
    (412, "If-Match does not match: the body's etag is the current one (and the ETag header)", JSON, "Error");
const NO_IF_MATCH: Resp = (428, "If-Match is missing", JSON, "Error");
const CONFIGURED: Resp = (
    409,
    "defined in the configuration file (read-only through the API), or in use by the resources listed in used_by",
    JSON,
    "Error",
);
const UNKNOWN: Resp = (404, "unknown collection or feature", JSON, "Error");
const EDITED: Resp = (200, "the feature as stored, with its new ETag", GEOJSON, "Feature");

/// Every other method: writes (a bearer token; 401, 403, 408, 413, 429
/// and 503 are added to each, and 415 to those with a body) and OPTIONS.
pub const WRITES: &[Write] = &[
    Write {
        route: "/maps",
        method: "post",
        summary: "Create or replace a thematic map from a JSON definition; 201 with the map (Location), 400 naming the parameter",
        query: &[],
        body: Some((JSON, "MapDefinition")),
        responses: &[(201, "the map, stored", JSON, "Map"), ERR, CONFIGURED, BUSY],
    },
    Write {
        route: "/maps/{id}",
        method: "delete",
        summary: "Delete a thematic map; 204",
        query: &[],
        body: None,
        responses: &[(204, "deleted", "", ""), (404, "unknown map", JSON, "Error"), CONFIGURED],
    },
    Write {
        route: "/tables",
        method: "post",
        summary: "Upload a CSV table; delimiter (; , tab) and encoding (UTF-8 or Windows-1252) detected; at most 1,000 columns, 2,000,000 rows, 64 KiB per cell; 201 with its columns",
        query: &[rq("id", "string", "table id"), q("name", "string", "file name shown in messages")],
        body: Some(("text/csv", "")),
        responses: &[(201, "the table, stored", JSON, "Table"), ERR, CONFIGURED, BUSY],
    },
    Write {
        route: "/tables/{id}",
        method: "delete",
        summary: "Delete a CSV table; 204, 409 naming the maps that join it",
        query: &[],
        body: None,
        responses: &[(204, "deleted", "", ""), (404, "unknown table", JSON, "Error"), CONFIGURED],
    },
    Write {
        route: "/collections/{id}/items",
        method: "post",
        summary: "Create a feature (OGC API Features Part 4) on an editable layer: a GeoJSON Feature in CRS84; editor token scoped to the layer; 201 with Location and ETag once stored",
        query: &[],
        body: Some((GEOJSON, "FeatureInput")),
        responses: &[(201, "created and stored (Location, ETag)", GEOJSON, "Feature"), ERR, UNKNOWN, NOT_EDITABLE],
    },
    Write {
        route: "/collections/{id}/items",
        method: "options",
        summary: "The methods this request's token may use on the collection's items (Allow)",
        query: &[],
        body: None,
        responses: &[(204, "Allow lists the methods", "", ""), UNKNOWN],
    },
    Write {
        route: "/collections/{id}/items/{fid}",
        method: "put",
        summary: "Replace a feature; If-Match with its ETag (428 without, 412 when stale, with the current ETag)",
        query: &[IF_MATCH],
        body: Some((GEOJSON, "FeatureInput")),
        responses: &[EDITED, ERR, UNKNOWN, NOT_EDITABLE, STALE, NO_IF_MATCH],
    },
    Write {
        route: "/collections/{id}/items/{fid}",
        method: "patch",
        summary: "Update a feature with an RFC 7396 merge patch (null removes a property; a geometry member replaces the geometry; the id cannot change); If-Match required",
        query: &[IF_MATCH],
        body: Some(("application/merge-patch+json", "MergePatch")),
        responses: &[EDITED, ERR, UNKNOWN, NOT_EDITABLE, STALE, NO_IF_MATCH],
    },
    Write {
        route: "/collections/{id}/items/{fid}",
        method: "delete",
        summary: "Delete a feature; If-Match required; 204 with the new ETag",
        query: &[IF_MATCH],
        body: None,
        responses: &[(204, "deleted and stored", "", ""), ERR, UNKNOWN, NOT_EDITABLE, STALE, NO_IF_MATCH],
    },
    Write {
        route: "/collections/{id}/items/{fid}",
        method: "options",
        summary: "The methods this request's token may use on the feature (Allow)",
        query: &[],
        body: None,
        responses: &[(204, "Allow lists the methods", "", ""), UNKNOWN],
    },
    Write {
        route: "/collections/{id}/items/{fid}/observations",
        method: "post",
        summary: "Post a status observation; sensor, editor or admin token scoped to the layer; 201 once stored, 200 for a replay of a stored one (idempotent on feature, kind, category, source, observed_at)",
        query: &[],
        body: Some((JSON, "ObservationInput")),
        responses: &[
            (201, "stored", JSON, "ObservationPosted"),
            (200, "stored before (an idempotent replay)", JSON, "ObservationPosted"),
            ERR,
            UNKNOWN,
        ],
    },
    Write {
        route: "/observations",
        method: "post",
        summary: "Post up to 10,000 observations, each with layer and feature; 200 with one result per item (201 stored, 200 replay, or its 4xx naming the member)",
        query: &[],
        body: Some((JSON, "ObservationBatch")),
        responses: &[(200, "one result per observation", JSON, "BatchResult"), ERR],
    },
];
