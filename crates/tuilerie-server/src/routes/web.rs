//! The built-in web map: `GET /` (HTML for browsers, the OGC landing page
//! as JSON otherwise), `GET /assets/{file}` and `GET /favicon.ico`.
//!
//! Every asset is embedded in the binary: our page (`web/`) and MapLibre GL
//! JS from the `maplibre-gl` npm package (checked by `build.rs`), so the map
//! works on a machine without internet. Assets are gzipped once, on first
//! use, and answered with a strong ETag.

use super::ogc;
use super::Path;
use crate::cache::{cached_response, CachedBody};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::OnceLock;

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

macro_rules! maplibre {
    ($f:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/node_modules/maplibre-gl/dist/", $f))
    };
}
macro_rules! ours {
    ($f:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $f))
    };
}

const JS: &str = "text/javascript; charset=utf-8";

static ASSETS: &[Asset] = &[
    Asset { name: "index.html", content_type: "text/html; charset=utf-8", bytes: ours!("index.html") },
    Asset { name: "app.js", content_type: JS, bytes: ours!("app.js") },
    Asset { name: "editor.js", content_type: JS, bytes: ours!("editor.js") },
    Asset { name: "app.css", content_type: "text/css; charset=utf-8", bytes: ours!("app.css") },
    Asset { name: "favicon.svg", content_type: "image/svg+xml", bytes: ours!("favicon.svg") },
    Asset { name: "maplibre-gl.mjs", content_type: JS, bytes: maplibre!("maplibre-gl.mjs") },
    Asset { name: "maplibre-gl-worker.mjs", content_type: JS, bytes: maplibre!("maplibre-gl-worker.mjs") },
    Asset { name: "maplibre-gl.css", content_type: "text/css; charset=utf-8", bytes: maplibre!("maplibre-gl.css") },
];

/// Gzipped bytes and ETags, computed once per asset.
fn encoded(i: usize) -> &'static CachedBody {
    static ENCODED: OnceLock<Vec<OnceLock<CachedBody>>> = OnceLock::new();
    let all = ENCODED.get_or_init(|| ASSETS.iter().map(|_| OnceLock::new()).collect());
    all[i].get_or_init(|| CachedBody::new(ASSETS[i].bytes.to_vec()))
}

fn serve(i: usize, headers: &HeaderMap) -> Response {
    cached_response(
        encoded(i),
        headers,
        HeaderValue::from_static(ASSETS[i].content_type),
        HeaderValue::from_static("no-cache"),
    )
}

fn position(name: &str) -> Option<usize> {
    ASSETS.iter().position(|a| a.name == name)
}

/// `GET /assets/{file}`: 404 listing the files for an unknown name.
pub async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    let i = position(&file).filter(|&i| ASSETS[i].name != "index.html").ok_or_else(|| ApiError::NotFound {
        message: format!("unknown asset {file:?}"),
        known: Some(ASSETS.iter().skip(1).map(|a| a.name.to_string()).collect()),
    })?;
    Ok(serve(i, &headers))
}

/// `GET /favicon.ico` (browsers ask for it even with a `<link rel=icon>`).
pub async fn favicon(headers: HeaderMap) -> Response {
    serve(position("favicon.svg").unwrap_or(0), &headers)
}

/// Whether the client wants the HTML page: `?f=html`, or an `Accept` that
/// lists `text/html` (browsers); `?f=json` and API clients get JSON.
pub fn wants_html(params: &HashMap<String, String>, headers: &HeaderMap) -> bool {
    match params.get("f").map(String::as_str) {
        Some("html") => return true,
        Some(_) => return false,
        None => {}
    }
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| {
        accept.split(',').any(|part| {
            let mut it = part.split(';');
            let media = it.next().unwrap_or("").trim();
            let q = it.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse::<f32>().ok()).unwrap_or(1.0);
            media.eq_ignore_ascii_case("text/html") && q > 0.0
        })
    })
}

/// `GET /`: the web map for browsers, the OGC API landing page otherwise.
pub async fn root(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    // The page reads `lang` itself; it is checked here so that a typo is
    // told rather than silently shown in French.
    for (name, allowed) in [("lang", ["fr", "en"]), ("f", ["html", "json"])] {
        if let Some(v) = params.get(name).filter(|v| !allowed.contains(&v.as_str())) {
            let message = format!("{name} must be {} or {}, got {v:?}", allowed[0], allowed[1]);
            return crate::error::ApiError::bad(name, message).into_response();
        }
    }
    if wants_html(&params, &headers) {
        let mut r = serve(position("index.html").unwrap_or(0), &headers);
        r.headers_mut().insert(header::VARY, header::HeaderValue::from_static("Accept, Accept-Encoding"));
        return r;
    }
    let mut r = ogc::landing(State(state), headers).await.into_response();
    r.headers_mut().insert(header::VARY, header::HeaderValue::from_static("Accept"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_get_html_and_api_clients_json() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT, v.parse().unwrap());
            m
        };
        let none = HashMap::new();
        let chrome = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8";
        assert!(wants_html(&none, &h(chrome)));
        assert!(!wants_html(&none, &h("*/*")));
        assert!(!wants_html(&none, &h("application/json")));
        assert!(!wants_html(&none, &h("text/html;q=0")));
        assert!(!wants_html(&none, &HeaderMap::new()));
        let json = HashMap::from([("f".to_string(), "json".to_string())]);
        assert!(!wants_html(&json, &h(chrome)));
        let html = HashMap::from([("f".to_string(), "html".to_string())]);
        assert!(wants_html(&html, &HeaderMap::new()));
    }

    #[test]
    fn every_asset_is_non_empty_and_maplibre_is_the_npm_build() {
        for a in ASSETS {
            assert!(a.bytes.len() > 100, "{} is empty", a.name);
        }
        let js = ASSETS[position("maplibre-gl.mjs").unwrap()].bytes;
        assert!(std::str::from_utf8(&js[..200]).unwrap().contains("MapLibre GL JS"));
    }
}
