//! `GET /fonts`: the font stacks served; `GET /fonts/{fontstack}/{range}.pbf`:
//! a range of 256 glyphs as MapLibre requests them (see crate::glyphs),
//! gzipped when accepted, with an ETag, cached like tiles.

use super::Path;
use crate::cache::cached_response;
use crate::error::ApiError;
use crate::glyphs::{fonts, parse_range, GlyphCache, GlyphError};
use crate::heavy::Kind;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use axum::Json;
use serde_json::{json, Value};

pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Json<Value> {
    let base = super::base_url(&state, &headers);
    Json(json!({
        "fonts": fonts().iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        "glyphs": format!("{base}/fonts/{{fontstack}}/{{range}}.pbf"),
    }))
}

pub async fn range(
    State(state): State<AppState>,
    Path((stack, range)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(range) = range.strip_suffix(".pbf") else {
        return Err(ApiError::NotFound {
            message: format!("no glyph range {range:?}: ranges end in .pbf (0-255.pbf)"),
            known: None,
        });
    };
    let error = |e: GlyphError| match e {
        // A range that is not a block of 256 is a resource that does not exist.
        GlyphError::Range(m) => ApiError::NotFound { message: m, known: None },
        GlyphError::UnknownStack(m) => ApiError::NotFound { message: m, known: None },
    };
    let start = parse_range(range).map_err(error)?;
    let cache = GlyphCache::shared();
    let body = if cache.has(&stack, start) {
        cache.get(&stack, start).map_err(error)?
    } else {
        // First request of a range: built off the request threads.
        crate::glyphs::stack_fonts(&stack).map_err(error)?;
        state.heavy.run(Kind::Export, move || cache.get(&stack, start)).await?.map_err(error)?
    };
    Ok(cached_response(
        &body,
        &headers,
        HeaderValue::from_static("application/x-protobuf"),
        state.cache_control.clone(),
    ))
}
