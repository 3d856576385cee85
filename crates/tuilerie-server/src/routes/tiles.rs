//! `GET /tiles/{layers}/{z}/{x}/{y}.mvt`: Mapbox Vector Tiles.
//!
//! 200 with the tile (gzip when accepted), 204 when no layer has a feature
//! there, 304 when `If-None-Match` matches; 400 for a malformed or
//! out-of-range address or an unknown extension, 404 for an unknown layer.

use super::resolve_layers;
use super::status::StatusTags;
use crate::cache::{cached_response, CachedBody, TileKey, TileKeyRef, TileSource};
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Body;
use axum::body::HttpBody as _;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;
use std::sync::Arc;
use tuilerie_geo::tiling::{render_tile, tile_cost, TileCoord, TileCoordError};

/// The tile route, as documented.
pub const ROUTE: &str = "/tiles/{layers}/{z}/{x}/{y}";

/// Every request no route matched; the tile route's requests among them.
///
/// Tiles are served here rather than from a `/tiles/{layers}/{z}/{x}/{y}`
/// route: a route with parameters costs axum a parameter map in the
/// request's extensions, built and dropped per request (about 4,500
/// instructions, a fifth of a cache hit; callgrind over
/// `examples/tile_profile.rs`), and [`tile`] parses its path itself. Paths
/// of the route's shape (four non-empty segments after `/tiles/`) behave as
/// the route did: GET, HEAD (headers only), 405 otherwise; anything else is
/// a 404 whose JSON body names the path and where the API is described
/// (clients such as OWSLib show the body's message).
pub async fn fallback(State(state): State<AppState>, req: Request) -> Response {
    let tile_path = req.uri().path().strip_prefix("/tiles/").is_some_and(|rest| {
        let mut n = 0;
        rest.split('/').all(|segment| {
            n += 1;
            !segment.is_empty()
        }) && n == 4
    });
    if !tile_path {
        let path: String = req.uri().path().chars().take(200).collect();
        let known = super::openapi::ENDPOINTS.iter().map(|e| e.doc_path.unwrap_or(e.route).to_string()).collect();
        return ApiError::NotFound {
            message: format!(
                "nothing at {path:?}: the API is described at /openapi.json; its routes are listed in known"
            ),
            known: Some(known),
        }
        .into_response();
    }
    let head = match *req.method() {
        Method::GET => false,
        Method::HEAD => true,
        _ => return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET,HEAD")]).into_response(),
    };
    let mut response = tile(State(state), req).await.into_response();
    response.extensions_mut().insert(crate::metrics::Route(ROUTE));
    if head {
        if let Some(size) = response.body().size_hint().exact() {
            response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(size));
        }
        *response.body_mut() = Body::empty();
    }
    response
}

/// Highest zoom served.
pub const MAX_ZOOM: u32 = tuilerie_geo::tiling::MAX_ZOOM as u32;

pub const MVT_CONTENT_TYPE: &str = "application/vnd.mapbox-vector-tile";

fn parse_num(name: &str, s: &str) -> Result<u32, ApiError> {
    s.parse::<u32>().map_err(|_| ApiError::bad(name, format!("{name} must be a non-negative integer, got {s:?}")))
}

/// Parses `z`, `x` and `y.ext` into a tile address.
pub fn parse_tile(z: &str, x: &str, y_ext: &str) -> Result<TileCoord, ApiError> {
    let z = parse_num("z", z)?;
    if z > MAX_ZOOM {
        return Err(ApiError::bad("z", format!("zoom {z} is above the maximum {MAX_ZOOM}")));
    }
    let x = parse_num("x", x)?;
    let Some((y, ext)) = y_ext.split_once('.') else {
        return Err(ApiError::bad("y", format!("expected {{y}}.mvt, got {y_ext:?}")));
    };
    if ext != "mvt" && ext != "pbf" {
        return Err(ApiError::bad("extension", format!("unknown extension {ext:?}: use .mvt (or .pbf)")));
    }
    let y = parse_num("y", y)?;
    TileCoord::new(z, x, y).map_err(|e| {
        let p = match e {
            TileCoordError::Zoom(_) => "z",
            TileCoordError::X { .. } => "x",
            TileCoordError::Y { .. } => "y",
        };
        ApiError::bad(p, e.to_string())
    })
}

/// A path segment, percent-decoded (as axum's `Path` would) only when needed.
fn decode(segment: &str) -> Result<Cow<'_, str>, ApiError> {
    if !segment.contains('%') {
        return Ok(Cow::Borrowed(segment));
    }
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .map_err(|_| ApiError::bad("path", format!("{segment:?} is not UTF-8 once decoded")))
}

/// Route `/tiles/{layers}/{z}/{x}/{y}`. The request is taken whole (no
/// copy of its headers, no owned path segments), as a cache hit is the
/// common case and should cost little more than the lookup.
pub async fn tile(State(state): State<AppState>, req: Request) -> Result<Response, ApiError> {
    let path = req.uri().path();
    let mut parts = path.trim_start_matches('/').splitn(5, '/').skip(1);
    let (Some(layers), Some(z), Some(x), Some(y_ext)) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(ApiError::bad("path", format!("expected /tiles/{{layers}}/{{z}}/{{x}}/{{y}}.mvt, got {path:?}")));
    };
    let (layers, z, x, y_ext) = (decode(layers)?, decode(z)?, decode(x)?, decode(y_ext)?);
    let coord = parse_tile(&z, &x, &y_ext)?;
    let version = state.catalog_version().ok_or(ApiError::Loading)?;
    // Hot path: a list is cached only after it resolved, under this version.
    let key = TileKeyRef { source: TileSource::Layers, layers: &layers, z: coord.z, x: coord.x, y: coord.y, version };
    if let Some(hit) = state.tiles.get_ref(&key) {
        metrics::counter!("tuilerie_tile_cache_hits_total").increment(1);
        return Ok(respond(&state, &hit, req.headers()));
    }
    let epoch = state.tiles.epoch();
    let status_version = state.writes.as_ref().map(|w| w.board.version());
    let catalog = state.catalog().ok_or(ApiError::Loading)?;
    let resolved = resolve_layers(&catalog, &layers)?;
    for l in &resolved {
        state.tiles.note_list(l.id().as_str(), &layers);
    }
    // The catalog may have been swapped since: key the tile by the one used.
    let key = TileKeyRef { version: catalog.version(), ..key };
    let key = key.to_owned();
    let used: Vec<_> = resolved.clone();
    let cached = render_cached(&state, key.clone(), resolved, coord).await?;
    // An edit swapped in while this tile was cut from the layers before it:
    // answer with it (the request came first), but do not keep it.
    if state.tiles.epoch() != epoch {
        let current = state.catalog();
        let stale = used
            .iter()
            .any(|l| current.as_ref().and_then(|c| c.get(l.id().as_str())).is_none_or(|c| !Arc::ptr_eq(c, l)));
        if stale {
            state.tiles.remove(&key);
        }
    }
    // A status changed while this tile was cut: it may hold the old one.
    if let Some(w) = &state.writes {
        if Some(w.board.version()) != status_version && used.iter().any(|l| w.board.has_layer(l.id().as_str())) {
            state.tiles.remove(&key);
        }
    }
    Ok(respond(&state, &cached, req.headers()))
}

/// The tile of `layers` at `coord` from the cache, or rendered off the async
/// runtime (once for concurrent requests of the same key) and cached.
pub async fn render_cached(
    state: &AppState,
    key: TileKey,
    layers: Vec<Arc<tuilerie_geo::Layer>>,
    coord: TileCoord,
) -> Result<Arc<CachedBody>, ApiError> {
    let opts = state.options.tiles;
    let board = state.writes.as_ref().map(|w| w.board.clone());
    state
        .tiles
        .get_or_render(key, move || async move {
            metrics::counter!("tuilerie_tile_cache_misses_total").increment(1);
            // A tile of up to a few thousand vertices is cut in place: the
            // hand-over to the blocking pool (a wake-up there, one back,
            // two context switches) costs more than the worker's wait is
            // worth. Larger tiles, and low zooms, go to the pool.
            let small = coord.z >= INLINE_MIN_ZOOM && {
                let refs: Vec<_> = layers.iter().map(|l| l.tiles()).collect();
                tile_cost(&refs, coord, &opts, INLINE_MAX_VERTICES) <= INLINE_MAX_VERTICES
            };
            let render = move || {
                // Facilities with a live status carry it (see status::StatusTags).
                let now = crate::status::now_ms();
                let tags: Vec<Option<StatusTags<'_>>> = layers
                    .iter()
                    .map(|l| {
                        let b = board.as_deref().filter(|b| b.has_layer(l.id().as_str()))?;
                        Some(StatusTags { board: b, layer: l, options: b.options(l.id().as_str()), now })
                    })
                    .collect();
                let refs: Vec<_> = layers
                    .iter()
                    .zip(&tags)
                    .map(|(l, t)| match t {
                        Some(t) => l.tiles().with_tags(t),
                        None => l.tiles(),
                    })
                    .collect();
                Arc::new(CachedBody::new(render_tile(&refs, coord, &opts).unwrap_or_default()))
            };
            if small {
                Ok(render())
            } else {
                tokio::task::spawn_blocking(render).await
            }
        })
        .await
        .map_err(|e| ApiError::Internal(format!("tile {coord:?}: {e}")))
}

/// Tiles from this zoom on may be rendered on the async worker...
const INLINE_MIN_ZOOM: u8 = 10;
/// ... when they cut at most this many vertices (a commune's vertex costs
/// about 40 ns: at most about 0.3 ms on the worker, within a scheduler's
/// time slice; the hop to the pool took about 15% of a cold communes tile
/// at z10 over HTTP, see benches/README.md).
const INLINE_MAX_VERTICES: usize = 8_000;

/// A tile response with the configured `Cache-Control`.
pub fn respond(state: &AppState, t: &CachedBody, headers: &HeaderMap) -> Response {
    cached_response(t, headers, HeaderValue::from_static(MVT_CONTENT_TYPE), state.cache_control.clone())
}
