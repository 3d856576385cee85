//! OGC API – Features, Part 1 (Core, GeoJSON, OAS 3.0): landing page,
//! conformance, collections, items with `bbox`/`limit`/`offset` paging and
//! next/prev links, single items; plus `accepts=` and property equality
//! filters (`?operator=SMICVAL`) on items.

use super::base_url;
use super::Path;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use tuilerie_geo::output;
use tuilerie_geo::query::crs::{self as reproj, RequestCrs};
use tuilerie_geo::query::{self, ItemsQuery};
use tuilerie_geo::Layer;

const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/optimistic-locking-etags",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-5/1.0/conf/schemas",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
];

fn geojson(body: Value) -> Response {
    ([(header::CONTENT_TYPE, "application/geo+json")], body.to_string()).into_response()
}

pub async fn landing(State(state): State<AppState>, headers: HeaderMap) -> Json<Value> {
    let base = base_url(&state, &headers);
    Json(json!({
        "title": "tuilerie",
        "description": "Vector tiles, nearest facilities and features from GeoJSON and shapefiles",
        "links": [
            {"href": format!("{base}/"), "rel": "self", "type": "application/json", "title": "this document"},
            {"href": format!("{base}/openapi.json"), "rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0", "title": "API definition"},
            {"href": format!("{base}/conformance"), "rel": "conformance", "type": "application/json", "title": "conformance classes"},
            {"href": format!("{base}/collections"), "rel": "data", "type": "application/json", "title": "feature collections"},
        ]
    }))
}

pub async fn conformance() -> Json<Value> {
    Json(json!({ "conformsTo": CONFORMANCE }))
}

/// The CRSs a collection's items can be asked in (Part 2): the offered
/// ones and the source file's.
fn crs_list(l: &Layer) -> (Vec<String>, String) {
    let storage = RequestCrs::of_source(&l.meta().source.crs);
    let mut list: Vec<String> = reproj::offered().map(RequestCrs::uri).collect();
    if let Some(s) = storage.filter(|s| !reproj::offered().any(|c| c == *s)) {
        list.push(s.uri());
    }
    (list, storage.unwrap_or(RequestCrs::Crs84).uri())
}

fn collection(base: &str, l: &Layer) -> Value {
    let m = l.meta();
    let id = m.id.as_str();
    let (crs, storage) = crs_list(l);
    json!({
        "id": id,
        "title": m.title,
        "itemType": "feature",
        "extent": {"spatial": {
            "bbox": [m.bounds.unwrap_or([-180.0, -90.0, 180.0, 90.0])],
            "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
        }},
        "crs": crs,
        "storageCrs": storage,
        "links": [
            {"href": format!("{base}/collections/{id}"), "rel": "self", "type": "application/json"},
            {"href": format!("{base}/collections/{id}/items"), "rel": "items", "type": "application/geo+json"},
            {"href": format!("{base}/collections/{id}/schema"), "rel": "http://www.opengis.net/def/rel/ogc/1.0/schema", "type": "application/schema+json", "title": "schema of the features (OGC API Features Part 5)"},
            {"href": format!("{base}/collections/{id}/queryables"), "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "type": "application/schema+json", "title": "what filter may name (Part 3)"},
            {"href": format!("{base}/collections/{id}/feature-schema"), "rel": "describedby", "type": "application/schema+json", "title": "GeoJSON Feature schema of the items"},
            // The same relation (RFC 8288 compares rel values without
            // case) as GDAL 3.6's OAPIF driver looks for it, byte for byte.
            {"href": format!("{base}/collections/{id}/feature-schema"), "rel": "describedBy", "type": "application/schema+json", "title": "GeoJSON Feature schema of the items"},
            {"href": format!("{base}/tiles/{id}"), "rel": "related", "type": "application/json", "title": "TileJSON"},
        ]
    })
}

/// `f` of the OGC resources without other parameters: json or html,
/// else 400; whether the answer is HTML (`f=html`, or a browser's Accept).
fn html_wanted(params: &HashMap<String, String>, headers: &HeaderMap) -> Result<bool, ApiError> {
    if let Some(k) = params.keys().find(|k| k.as_str() != "f") {
        return Err(ApiError::bad(k.as_str(), format!("unknown parameter {k:?}; this resource takes f")));
    }
    if let Some(f) = params.get("f").filter(|f| !matches!(f.as_str(), "json" | "html")) {
        return Err(ApiError::bad("f", format!("f must be json or html, got {f:?}")));
    }
    Ok(super::web::wants_html(params, headers))
}

pub async fn collections(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let html = html_wanted(&params, &headers)?;
    let catalog = state.catalog().ok_or(ApiError::Loading)?;
    let base = base_url(&state, &headers);
    let doc = json!({
        "collections": catalog.layers().iter().map(|l| collection(&base, l)).collect::<Vec<_>>(),
        "links": [
            {"href": format!("{base}/collections"), "rel": "self", "type": "application/json"},
            {"href": format!("{base}/collections?f=html"), "rel": "alternate", "type": "text/html"},
        ],
    });
    Ok(if html { super::html::collections(&base, &doc) } else { with_vary(Json(doc).into_response()) })
}

/// `Vary: Accept` on answers that also exist as HTML.
fn with_vary(mut r: Response) -> Response {
    r.headers_mut().append(header::VARY, axum::http::HeaderValue::from_static("Accept"));
    r
}

/// The layer of collection `id`: 404 listing the known ones.
pub(super) fn layer(state: &AppState, id: &str) -> Result<Arc<Layer>, ApiError> {
    let catalog = state.catalog().ok_or(ApiError::Loading)?;
    catalog.get(id).cloned().ok_or_else(|| ApiError::NotFound {
        message: format!("unknown collection {id:?}"),
        known: Some(catalog.ids().into_iter().map(String::from).collect()),
    })
}

pub async fn one_collection(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let html = html_wanted(&params, &headers)?;
    let l = layer(&state, &id)?;
    let base = base_url(&state, &headers);
    let c = collection(&base, &l);
    Ok(if html { super::html::collection(&base, &c) } else { with_vary(Json(c).into_response()) })
}

pub async fn items(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let l = layer(&state, &id)?;
    let base = base_url(&state, &headers);
    let html = super::web::wants_html(&params, &headers);
    // Checking the parameters (PROJ for bbox-crs and filter-crs), the
    // query (a filter may scan every feature) and writing the page (PROJ
    // for crs) cost with the request's size: off the async runtime.
    let (b, i) = (base.clone(), id.clone());
    let (crs, header, mut body) = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        let q = ItemsQuery::parse(&l, &params, params.keys().map(String::as_str))?;
        let page = query::items(&l, &q);
        let links = page_links(&b, &i, &params, &q, &page);
        let header = link_header(&links);
        let body = if q.crs.is_crs84() || html {
            output::items_collection(&l, &page, json!(links))
        } else {
            let t = reproj::Transform::get(q.crs, false).map_err(|e| ApiError::bad("crs", e))?;
            output::items_collection_mapped(&l, &page, json!(links), &|g| t.apply(g))
                .map_err(|e| ApiError::bad("crs", e))?
        };
        Ok((q.crs, header, body))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    if state.writes.as_ref().is_some_and(|w| w.board.has_layer(&id)) {
        for f in body["features"].as_array_mut().into_iter().flatten() {
            super::status::add_status(&state, &id, f);
        }
    }
    if html {
        // The map of the page is drawn in CRS84.
        return Ok(super::html::items(&base, &id, &body));
    }
    let mut r = with_vary(geojson(body));
    content_crs(&mut r, crs);
    if let Some(h) = header {
        r.headers_mut().insert(header::LINK, h);
    }
    Ok(r)
}

/// The self, next and prev links of a page of items: the request's
/// parameters in a stable order, with its limit and the page's offset.
fn page_links(
    base: &str,
    id: &str,
    params: &HashMap<String, String>,
    q: &ItemsQuery,
    page: &query::ItemsPage,
) -> Vec<Value> {
    let (limit, offset) = (q.limit, q.offset);
    let link = |off: usize| {
        let mut q: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| *k != "offset" && *k != "limit")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        q.sort();
        q.push(("limit".into(), limit.to_string()));
        q.push(("offset".into(), off.to_string()));
        let qs: Vec<String> = q.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        format!("{base}/collections/{id}/items?{}", qs.join("&"))
    };
    let mut links = vec![json!({"href": link(offset), "rel": "self", "type": "application/geo+json"})];
    if offset + page.features.len() < page.matched {
        links.push(json!({"href": link(offset + limit), "rel": "next", "type": "application/geo+json"}));
    }
    if offset > 0 {
        links.push(json!({"href": link(offset.saturating_sub(limit)), "rel": "prev", "type": "application/geo+json"}));
    }
    links
}

/// The links of a body as an RFC 8288 `Link` header (`<href>; rel="next";
/// type="..."`), for clients that page by headers.
fn link_header(links: &[Value]) -> Option<axum::http::HeaderValue> {
    let parts: Vec<String> = links
        .iter()
        .filter_map(|l| {
            let (href, rel) = (l["href"].as_str()?, l["rel"].as_str()?);
            let ty = l["type"].as_str().map(|t| format!("; type=\"{t}\"")).unwrap_or_default();
            Some(format!("<{href}>; rel=\"{rel}\"{ty}"))
        })
        .collect();
    axum::http::HeaderValue::from_str(&parts.join(", ")).ok()
}

/// Characters written as they are in the query strings of links.
const QUERY_VALUE: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b',').remove(b':');

pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, QUERY_VALUE).to_string()
}

/// Reprojects the features `pick` finds in `body` into `crs` (off the
/// async runtime: PROJ works there, one transformation kept per thread).
async fn in_crs(body: Value, crs: RequestCrs, pick: fn(&mut Value) -> Vec<&mut Value>) -> Result<Value, ApiError> {
    if crs.is_crs84() {
        return Ok(body);
    }
    tokio::task::spawn_blocking(move || {
        let mut body = body;
        let t = reproj::Transform::get(crs, false).map_err(|e| ApiError::bad("crs", e))?;
        for f in pick(&mut body) {
            reproj::reproject_feature(f, &t).map_err(|e| ApiError::bad("crs", e))?;
        }
        Ok(body)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// `Content-Crs: <uri>` (Part 2), on every answer with geometries.
fn content_crs(r: &mut Response, crs: RequestCrs) {
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("<{}>", crs.uri())) {
        r.headers_mut().insert("content-crs", v);
    }
}

/// Parameters of a single item: `crs` and `f`.
fn item_params(l: &Layer, params: &HashMap<String, String>) -> Result<RequestCrs, ApiError> {
    if let Some(k) = params.keys().find(|k| !["crs", "f"].contains(&k.as_str())) {
        return Err(ApiError::bad(k.as_str(), format!("unknown parameter {k:?}; a single item takes crs and f")));
    }
    if let Some(f) = params.get("f").filter(|f| !matches!(f.as_str(), "json" | "geojson" | "html")) {
        return Err(ApiError::bad("f", format!("f {f:?} is not a format served here: json or geojson")));
    }
    let storage = RequestCrs::of_source(&l.meta().source.crs);
    Ok(params.get("crs").map(|v| RequestCrs::parse("crs", v, storage)).transpose()?.unwrap_or(RequestCrs::Crs84))
}

pub async fn item(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let l = layer(&state, &id)?;
    let crs = item_params(&l, &params)?;
    let (etag, mut v) = super::edit::current(&state, &l, &fid).ok_or_else(|| ApiError::NotFound {
        message: format!("no feature {fid:?} in collection {id:?}"),
        known: None,
    })?;
    let base = base_url(&state, &headers);
    v["links"] = json!([
        {"href": format!("{base}/collections/{id}/items/{}", encode(&fid)), "rel": "self", "type": "application/geo+json"},
        {"href": format!("{base}/collections/{id}"), "rel": "collection", "type": "application/json"},
    ]);
    let links = v["links"].as_array().cloned().unwrap_or_default();
    super::status::add_status(&state, &id, &mut v);
    if super::web::wants_html(&params, &headers) {
        return Ok(super::html::item(&base, &id, &v));
    }
    let v = in_crs(v, crs, |f| vec![f]).await?;
    let mut r = with_vary(geojson(v));
    content_crs(&mut r, crs);
    if let Ok(v) = axum::http::HeaderValue::from_str(&etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    if let Some(h) = link_header(&links) {
        r.headers_mut().insert(header::LINK, h);
    }
    Ok(r)
}
