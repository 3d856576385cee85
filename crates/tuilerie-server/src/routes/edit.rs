//! OGC API - Features - Part 4 on editable layers: `POST` items, `PUT`,
//! `PATCH` (RFC 7396 merge patch), `DELETE` an item, with strong ETags and
//! `If-Match` (428 without it, 412 when stale); `OPTIONS` says what the
//! token may do; each item's history and the audit log of every change.

use super::base_url;
use super::ogc::layer;
use super::Path;
use crate::auth::Need;
use crate::edits::committer::{Action, BaseFeature, Committed, Job, Refused};
use crate::error::{require_content_type, ApiError};
use crate::heavy::Kind;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use tuilerie_geo::edit::{check, check_property, EditedFeature};
use tuilerie_geo::{output, Layer};

/// `application/geo+json` and `application/json` for whole features.
const FEATURE_TYPES: &[&str] = &["application/geo+json", "application/json"];
const PATCH_TYPES: &[&str] = &["application/merge-patch+json"];

/// The layer when it takes edits: 404 when unknown, 405 naming the
/// configuration key when it does not.
fn editable(state: &AppState, id: &str) -> Result<Arc<Layer>, ApiError> {
    let l = layer(state, id)?;
    let w = state.writes()?;
    if !w.is_editable(id) {
        return Err(ApiError::NotEditable {
            message: format!(
                "collection {id:?} is read-only: set `editable = true` on its [[layers]] entry in the configuration"
            ),
        });
    }
    Ok(l)
}

use crate::edits::file_etag;

/// The current state of a feature: from the edits, else from the layer.
/// `None` when it does not exist (or was deleted).
pub fn current(state: &AppState, l: &Layer, fid: &str) -> Option<(String, Value)> {
    crate::edits::current(state.writes.as_deref(), l, fid)
}

/// The file feature of `fid`, as the committer takes it.
fn base_feature(state: &AppState, l: &Layer, fid: &str) -> Option<BaseFeature> {
    let base = state.writes.as_ref()?.base(l.id().as_str())?;
    let f = base.find(fid)?;
    let v = output::feature(&f, Map::new());
    Some(BaseFeature { etag: file_etag(&v), json: v })
}

pub(super) fn parse_json(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad("body", format!("the body is not JSON: line {}, column {}: {e}", e.line(), e.column()))
    })
}

fn if_match(headers: &HeaderMap) -> Result<String, ApiError> {
    match headers.get(header::IF_MATCH).map(|v| v.to_str()) {
        Some(Ok(v)) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        Some(_) => Err(ApiError::bad("If-Match", "If-Match must be an entity tag such as \"e12\" or *")),
        None => Err(ApiError::PreconditionRequired {
            message: "this edit needs If-Match with the feature's current ETag (GET the item first)".into(),
        }),
    }
}

/// Only CRS84 is taken: a `Content-Crs` header naming another CRS is 400.
fn check_content_crs(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(v) = headers.get("content-crs") else { return Ok(()) };
    let v = v.to_str().unwrap_or("").trim().trim_start_matches('<').trim_end_matches('>');
    const CRS84: [&str; 2] =
        ["http://www.opengis.net/def/crs/OGC/1.3/CRS84", "https://www.opengis.net/def/crs/OGC/1.3/CRS84"];
    if CRS84.contains(&v) {
        Ok(())
    } else {
        Err(ApiError::bad("Content-Crs", format!("features are taken in CRS84 only (<{}>), not {v:?}", CRS84[0])))
    }
}

fn refused(r: Refused, layer: &str, fid: &str) -> ApiError {
    match r {
        Refused::NotFound => {
            ApiError::NotFound { message: format!("no feature {fid:?} in collection {layer:?}"), known: None }
        }
        Refused::Precondition(etag) => ApiError::PreconditionFailed {
            message: format!("feature {fid:?} has changed: its ETag is now {etag} (GET it, merge, and retry)"),
            etag,
        },
        Refused::Invalid(e) => ApiError::bad(e.parameter, e.message),
        Refused::Store(e) => ApiError::Unavailable { message: format!("the edit was not stored: {e}") },
    }
}

fn answer(state: &AppState, headers: &HeaderMap, layer: &str, status: StatusCode, c: Committed) -> Response {
    let base = base_url(state, headers);
    let href = format!("{base}/collections/{layer}/items/{}", super::ogc::encode(&c.id));
    let mut r = match c.content {
        Some(mut v) => {
            v["links"] = json!([{"href": href, "rel": "self", "type": "application/geo+json"}]);
            (status, [(header::CONTENT_TYPE, "application/geo+json")], v.to_string()).into_response()
        }
        None => StatusCode::NO_CONTENT.into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&c.etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED {
        if let Ok(v) = HeaderValue::from_str(&href) {
            r.headers_mut().insert(header::LOCATION, v);
        }
    }
    r
}

/// Bodies up to this size are checked on the request's thread (tens of
/// microseconds); larger ones on the heavy-work pool, like CSV uploads.
const INLINE_BODY_BYTES: usize = 64 * 1024;

/// Runs a body check inline when the body is small, else off the async
/// runtime (bounded by the heavy-work slots).
pub(super) async fn checked<T: Send + 'static>(
    state: &AppState,
    body: &Bytes,
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    if body.len() <= INLINE_BODY_BYTES {
        f()
    } else {
        state.heavy.run(Kind::Build, f).await?
    }
}

/// A whole feature from the body, checked against the layer.
async fn feature_body(state: &AppState, l: &Arc<Layer>, headers: &HeaderMap, body: &Bytes) -> Result<Value, ApiError> {
    require_content_type(headers, FEATURE_TYPES, "application/geo+json")?;
    check_content_crs(headers)?;
    let (l, bytes) = (l.clone(), body.clone());
    checked(state, body, move || {
        let v = parse_json(&bytes)?;
        let f = EditedFeature::parse(&v)?;
        check(&l, &f)?;
        Ok(f.to_json(""))
    })
    .await
}

/// A merge patch from the body, each member checked against the layer.
fn patch_body(l: &Layer, fid: &str, body: &Bytes) -> Result<Value, ApiError> {
    let patch = parse_json(body)?;
    let Some(obj) = patch.as_object() else {
        return Err(ApiError::bad("body", "a merge patch of a feature is a JSON object"));
    };
    for (k, v) in obj {
        match k.as_str() {
            "type" if v != "Feature" => return Err(ApiError::bad("type", "a feature's type stays \"Feature\"")),
            "id" if v.as_str() != Some(fid) && v.as_i64().map(|i| i.to_string()).as_deref() != Some(fid) => {
                return Err(ApiError::bad("id", format!("the id of feature {fid:?} cannot change")))
            }
            "geometry" => {
                let probe = json!({"type": "Feature", "geometry": v, "properties": {}});
                check(l, &EditedFeature::parse(&probe)?)?;
            }
            "properties" => match v {
                Value::Object(props) => {
                    for (name, value) in props {
                        check_property(l, name, value)?;
                    }
                }
                Value::Null => {}
                _ => return Err(ApiError::bad("properties", "properties must be a JSON object")),
            },
            _ => {}
        }
    }
    Ok(patch)
}

/// Commits an edit of item `fid` (its file version given for a first edit)
/// and answers with the feature as stored and its new ETag (204 once
/// deleted).
async fn edit_item(
    state: &AppState,
    headers: &HeaderMap,
    l: &Layer,
    fid: &str,
    action: Action,
    if_match: String,
    token: String,
) -> Result<Response, ApiError> {
    let id = l.id().to_string();
    let job = Job::Feature {
        layer: id.clone(),
        id: Some(fid.to_string()),
        action,
        if_match: Some(if_match),
        base: base_feature(state, l, fid),
        token,
    };
    let c = state.writes()?.submit(job).await.map_err(|r| refused(r, &id, fid))?;
    Ok(answer(state, headers, &id, StatusCode::OK, c))
}

/// `POST /collections/{id}/items`: 201 with `Location` and `ETag`.
pub async fn create(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Who asks first: without a valid token, nothing is said of the layer.
    let who = state.writes()?.auth.authorize(&headers, Need::Edit(&id))?;
    let l = editable(&state, &id)?;
    let feature = feature_body(&state, &l, &headers, &body).await?;
    let job = Job::Feature {
        layer: id.clone(),
        id: None,
        action: Action::Create(feature),
        if_match: None,
        base: None,
        token: who.name,
    };
    let c = state.writes()?.submit(job).await.map_err(|r| refused(r, &id, ""))?;
    Ok(answer(&state, &headers, &id, StatusCode::CREATED, c))
}

/// `PUT /collections/{id}/items/{fid}`: replaces the feature.
pub async fn replace(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Who asks first: without a valid token, nothing is said of the layer.
    let who = state.writes()?.auth.authorize(&headers, Need::Edit(&id))?;
    let l = editable(&state, &id)?;
    let m = if_match(&headers)?;
    let feature = feature_body(&state, &l, &headers, &body).await?;
    edit_item(&state, &headers, &l, &fid, Action::Replace(feature), m, who.name).await
}

/// `PATCH /collections/{id}/items/{fid}` with an RFC 7396 merge patch.
pub async fn update(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // Who asks first: without a valid token, nothing is said of the layer.
    let who = state.writes()?.auth.authorize(&headers, Need::Edit(&id))?;
    let l = editable(&state, &id)?;
    let m = if_match(&headers)?;
    require_content_type(&headers, PATCH_TYPES, "application/merge-patch+json")?;
    check_content_crs(&headers)?;
    let (layer, bytes, item) = (l.clone(), body.clone(), fid.clone());
    let patch = checked(&state, &body, move || patch_body(&layer, &item, &bytes)).await?;
    edit_item(&state, &headers, &l, &fid, Action::Patch(patch), m, who.name).await
}

/// `DELETE /collections/{id}/items/{fid}`: 204 with the new ETag.
pub async fn delete(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // Who asks first: without a valid token, nothing is said of the layer.
    let who = state.writes()?.auth.authorize(&headers, Need::Edit(&id))?;
    let l = editable(&state, &id)?;
    let m = if_match(&headers)?;
    edit_item(&state, &headers, &l, &fid, Action::Delete, m, who.name).await
}

/// The methods this request's token may use on a layer's items.
fn allowed(state: &AppState, headers: &HeaderMap, id: &str, item: bool) -> Result<String, ApiError> {
    let mut methods = vec!["GET", "HEAD", "OPTIONS"];
    if let Some(w) = state.writes.as_ref().filter(|w| w.is_editable(id)) {
        if let Ok(Some(p)) = w.auth.principal(headers) {
            if p.allows(Need::Edit(id)).is_ok() {
                methods.extend(if item { &["PUT", "PATCH", "DELETE"][..] } else { &["POST"][..] });
            }
        }
    }
    Ok(methods.join(", "))
}

fn options_response(allow: String) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&allow) {
        r.headers_mut().insert(header::ALLOW, v);
    }
    r
}

/// `OPTIONS /collections/{id}/items`.
pub async fn options_items(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    layer(&state, &id)?;
    Ok(options_response(allowed(&state, &headers, &id, false)?))
}

/// `OPTIONS /collections/{id}/items/{fid}`.
pub async fn options_item(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let l = layer(&state, &id)?;
    current(&state, &l, &fid).ok_or_else(|| ApiError::NotFound {
        message: format!("no feature {fid:?} in collection {id:?}"),
        known: None,
    })?;
    Ok(options_response(allowed(&state, &headers, &id, true)?))
}

/// Most entries of one page of history or changes (as for items).
const MAX_PAGE: usize = tuilerie_geo::query::MAX_LIMIT;

/// `since`: the sequence number of the last change or observation seen
/// (default 0), at most [`super::MAX_SEQ`].
pub(super) fn since(params: &HashMap<String, String>) -> Result<i64, ApiError> {
    match params.get("since") {
        None => Ok(0),
        Some(s) => s.parse::<i64>().ok().filter(|v| (0..=super::MAX_SEQ).contains(v)).ok_or_else(|| {
            ApiError::bad(
                "since",
                format!("since is the seq of the last change seen (an integer from 0 to 2^53), got {s:?}"),
            )
        }),
    }
}

/// `since`, `limit` (1 to [`MAX_PAGE`], default 100) and `layer` of a page
/// of the audit log or of the observations; any other parameter is a 400.
pub(super) fn page(params: &HashMap<String, String>) -> Result<(i64, usize), ApiError> {
    let since = since(params)?;
    let limit = match params.get("limit") {
        None => 100,
        Some(s) => s.parse::<usize>().ok().filter(|v| (1..=MAX_PAGE).contains(v)).ok_or_else(|| {
            ApiError::bad("limit", format!("limit must be an integer from 1 to {MAX_PAGE}, got {s:?}"))
        })?,
    };
    for k in params.keys() {
        if !["since", "limit", "layer"].contains(&k.as_str()) {
            return Err(ApiError::bad(k.clone(), format!("unknown parameter {k:?} (since, limit, layer)")));
        }
    }
    Ok((since, limit))
}

async fn changes_page(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    layer: Option<String>,
    fid: Option<String>,
    since: i64,
    limit: usize,
) -> Result<Response, ApiError> {
    let (l, f) = (layer.clone(), fid.clone());
    let rows = super::read_store(state, move |store| store.changes(since, l.as_deref(), f.as_deref(), limit)).await?;
    let base = base_url(state, headers);
    let mut links = vec![
        json!({"href": format!("{base}{path}?since={since}&limit={limit}"), "rel": "self", "type": "application/json"}),
    ];
    if rows.len() == limit {
        if let Some(last) = rows.last() {
            links.push(json!({"href": format!("{base}{path}?since={}&limit={limit}", last.seq), "rel": "next", "type": "application/json"}));
        }
    }
    let body = json!({"changes": rows, "links": links});
    Ok(([(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response())
}

/// `GET /collections/{id}/items/{fid}/history`: every change of a feature,
/// oldest first, paged by `since` (the last `seq` seen) and `limit`.
pub async fn history(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    layer(&state, &id)?;
    let (since, limit) = page(&params)?;
    if params.contains_key("layer") {
        return Err(ApiError::bad("layer", "the layer is the collection of the path"));
    }
    let path = format!("/collections/{id}/items/{}/history", super::ogc::encode(&fid));
    changes_page(&state, &headers, &path, Some(id), Some(fid), since, limit).await
}

/// `GET /changes?since=&layer=&limit=`: the audit log (admin).
pub async fn changes(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let w = state.writes()?;
    let p = w.auth.principal(&headers)?.ok_or_else(|| ApiError::Unauthorized {
        message: "the audit log needs an admin token: Authorization: Bearer <token>".into(),
    })?;
    p.allows(Need::Audit)?;
    let (since, limit) = page(&params)?;
    changes_page(&state, &headers, "/changes", params.get("layer").cloned(), None, since, limit).await
}
