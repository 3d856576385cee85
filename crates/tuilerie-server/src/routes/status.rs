//! Facility status: `POST /collections/{id}/items/{fid}/observations`,
//! `POST /observations` (a batch of up to [`MAX_BATCH`]), the history
//! `GET .../observations` (paged, or bucketed with `interval=`) and
//! `GET .../busy-hours`.

use super::edit::{checked, page, parse_json};
use super::ogc::layer;
use super::{base_url, read_store, Path};
use crate::auth::{Need, Principal};
use crate::edits::committer::Refused;
use crate::error::{require_content_type, ApiError};
use crate::state::AppState;
use crate::status::observation::{self, Context, Invalid};
use crate::status::{history, now_ms, observation_json, parse_duration, rfc3339};
use crate::store::{ObservationFilter, ObservationRecord, Observed};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use tuilerie_geo::Layer;

/// Most observations in one batch.
pub const MAX_BATCH: usize = 10_000;

/// Most observations on one history page.
const MAX_LIMIT: usize = 10_000;

/// Most observations a bucketed history or a busy-hours profile reads.
const MAX_SUMMARISED: usize = 2_000_000;

/// The layer and checks that feature `fid` exists in it now.
fn facility(state: &AppState, id: &str, fid: &str) -> Result<Arc<Layer>, ApiError> {
    let l = layer(state, id)?;
    if !crate::edits::exists(state.writes.as_deref(), &l, fid) {
        return Err(ApiError::NotFound { message: format!("no feature {fid:?} in collection {id:?}"), known: None });
    }
    Ok(l)
}

fn bad(e: Invalid) -> ApiError {
    ApiError::bad(e.member, e.message)
}

fn unavailable(r: Refused) -> ApiError {
    ApiError::Unavailable { message: format!("the observations were not stored: {r:?}") }
}

/// The current `status` member of a feature.
fn status_of(state: &AppState, layer: &str, fid: &str) -> Value {
    let Some(w) = &state.writes else { return json!({}) };
    let o = w.board.options(layer);
    w.board.with(layer, fid, |s| s.to_json(&o, now_ms())).unwrap_or_else(|| json!({}))
}

/// `POST /collections/{id}/items/{fid}/observations`: 201 once stored, 200
/// for a replay of one stored before (nothing written).
pub async fn post_one(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    facility(&state, &id, &fid)?;
    let w = state.writes()?;
    let who = w.auth.authorize(&headers, Need::Observe(&id))?;
    require_content_type(&headers, &["application/json"], "application/json")?;
    let options = w.board.options(&id);
    let (layer_id, feature, token, bytes) = (id.clone(), fid.clone(), who.name.clone(), body.clone());
    let mut r = checked(&state, &body, move || {
        let v = parse_json(&bytes)?;
        let cx = Context { layer: &layer_id, feature: &feature, token: &token, now: now_ms(), options: &options };
        observation::parse(&v, &cx, false).map_err(bad)
    })
    .await?;
    let outcome = w.observe(vec![r.clone()]).await.map_err(unavailable)?;
    let (code, duplicate) = match outcome.first() {
        Some(Observed::Stored(seq)) => {
            r.seq = *seq;
            (StatusCode::CREATED, false)
        }
        _ => (StatusCode::OK, true),
    };
    let body = json!({
        "observation": observation_json(&r),
        "duplicate": duplicate,
        "status": status_of(&state, &id, &fid),
    });
    let mut resp = (code, Json(body)).into_response();
    let href =
        format!("{}/collections/{id}/items/{}/observations", base_url(&state, &headers), super::ogc::encode(&fid));
    if let Ok(v) = HeaderValue::from_str(&href) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// One item's answer in a batch.
fn item_error(index: usize, e: ApiError) -> Value {
    use axum::response::IntoResponse;
    let (parameter, message) = match &e {
        ApiError::BadRequest { parameter, message } => (Some(parameter.clone()), message.clone()),
        other => (None, other.to_string()),
    };
    let status = e.into_response().status().as_u16();
    json!({"index": index, "status": status, "error": message, "parameter": parameter})
}

/// Checks item `i` of a batch: layer, feature, the token's scope, then
/// the observation.
fn batch_item(state: &AppState, who: &Principal, v: &Value, now: i64) -> Result<ObservationRecord, ApiError> {
    let member = |name: &str| match v.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.as_str()),
        Some(Value::Number(n)) if name == "feature" => {
            Err(ApiError::bad(name, format!("feature must be a string id, e.g. \"{n}\"")))
        }
        _ => Err(ApiError::bad(name, format!("{name} is required in each observation of a batch (a string)"))),
    };
    if !v.is_object() {
        return Err(ApiError::bad("observation", "each observation is a JSON object"));
    }
    let (id, fid) = (member("layer")?, member("feature")?);
    facility(state, id, fid)?;
    who.allows(Need::Observe(id))?;
    let w = state.writes()?;
    let options = w.board.options(id);
    let cx = Context { layer: id, feature: fid, token: &who.name, now, options: &options };
    observation::parse(v, &cx, true).map_err(bad)
}

/// A batch's items checked: a result for each refused one (`Null` for the
/// others), the valid observations and their positions. Refuses the whole
/// batch when it is not an array of 1 to [`MAX_BATCH`] objects.
type CheckedBatch = (Vec<Value>, Vec<ObservationRecord>, Vec<usize>);

fn check_batch(state: &AppState, who: &Principal, body: &Bytes) -> Result<CheckedBatch, ApiError> {
    let Value::Array(items) = parse_json(body)? else {
        return Err(ApiError::bad("body", "the batch form takes a JSON array of observations"));
    };
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::bad("body", format!("a batch holds 1 to {MAX_BATCH} observations, got {}", items.len())));
    }
    // A batch of things that are not observations at all is refused whole.
    if let Some(i) = items.iter().position(|v| !v.is_object()) {
        return Err(ApiError::bad(
            format!("body[{i}]"),
            "each observation of a batch is a JSON object; nothing was stored",
        ));
    }
    let now = now_ms();
    let mut results: Vec<Value> = vec![Value::Null; items.len()];
    let mut valid = Vec::new();
    let mut positions = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match batch_item(state, who, item, now) {
            Ok(r) => {
                valid.push(r);
                positions.push(i);
            }
            Err(e) => results[i] = item_error(i, e),
        }
    }
    Ok((results, valid, positions))
}

/// `POST /observations`: a JSON array of observations with `layer` and
/// `feature`; 200 with one result per item (201 stored, 200 a replay, or
/// the 4xx that item got). Valid items are stored even when others are not.
pub async fn post_batch(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let w = state.writes()?;
    let who = w.auth.authenticate(&headers)?;
    require_content_type(&headers, &["application/json"], "application/json")?;
    // Up to 10,000 items checked: off the async runtime when the body is large.
    let (st, bytes) = (state.clone(), body.clone());
    let (mut results, valid, positions) = checked(&state, &body, move || check_batch(&st, &who, &bytes)).await?;
    let outcomes = if valid.is_empty() { Vec::new() } else { w.observe(valid).await.map_err(unavailable)? };
    let (mut stored, mut duplicates) = (0, 0);
    for (&i, o) in positions.iter().zip(&outcomes) {
        results[i] = match o {
            Observed::Stored(seq) => {
                stored += 1;
                json!({"index": i, "status": 201, "seq": seq})
            }
            Observed::Duplicate => {
                duplicates += 1;
                json!({"index": i, "status": 200, "duplicate": true})
            }
        };
    }
    let refused = results.len() - stored - duplicates;
    Ok(Json(json!({"stored": stored, "duplicates": duplicates, "refused": refused, "results": results}))
        .into_response())
}

fn time_param(params: &HashMap<String, String>, name: &str) -> Result<Option<i64>, ApiError> {
    params
        .get(name)
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(v)
                .map(|t| t.timestamp_millis())
                .map_err(|e| ApiError::bad(name, format!("{name} must be an RFC 3339 time, got {v:?}: {e}")))
        })
        .transpose()
}

const HISTORY_PARAMS: &[&str] = &["from", "to", "kind", "category", "limit", "offset", "interval"];

/// `GET /collections/{id}/items/{fid}/observations`: newest first, paged
/// by `limit` / `offset` with a `next` link; with `interval=1h`, buckets
/// (min, mean, max, count) instead.
pub async fn history(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    facility(&state, &id, &fid)?;
    if let Some(k) = params.keys().find(|k| !HISTORY_PARAMS.contains(&k.as_str())) {
        return Err(ApiError::bad(
            k.clone(),
            format!("unknown parameter {k:?} (known: {})", HISTORY_PARAMS.join(", ")),
        ));
    }
    state.writes()?;
    let (from, to) = (time_param(&params, "from")?, time_param(&params, "to")?);
    if let (Some(f), Some(t)) = (from, to) {
        if f >= t {
            return Err(ApiError::bad("from", "from must be before to"));
        }
    }
    let kind = match params.get("kind").map(String::as_str) {
        None => None,
        Some(k @ ("fill_level" | "crowd" | "state")) => Some(k.to_string()),
        Some(k) => return Err(ApiError::bad("kind", format!("kind must be fill_level, crowd or state, got {k:?}"))),
    };
    let category = params.get("category").map(|c| observation::category(c).map_err(bad)).transpose()?;
    let number = |name: &str, default: usize, max: usize| -> Result<usize, ApiError> {
        match params.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= max && (name == "offset" || *n >= 1))
                .ok_or_else(|| ApiError::bad(name, format!("{name} must be a whole number up to {max}, got {v:?}"))),
        }
    };
    let limit = number("limit", 100, MAX_LIMIT)?;
    let offset = number("offset", 0, super::MAX_SEQ as usize)?;
    let interval =
        params.get("interval").map(|v| parse_duration(v).map_err(|e| ApiError::bad("interval", e))).transpose()?;
    let filter = ObservationFilter { layer: id.clone(), feature: fid.clone(), from, to, kind, category };
    if let Some(iv) = interval {
        if iv < 60_000 {
            return Err(ApiError::bad("interval", "interval is at least 1m"));
        }
        // Read and summed up off the async runtime (up to MAX_SUMMARISED rows).
        let buckets =
            read_store(&state, move |store| Ok(history::buckets(&store.observations(&filter, 0, MAX_SUMMARISED)?, iv)))
                .await?;
        let body = json!({
            "interval": params["interval"],
            "from": from.map(rfc3339),
            "to": to.map(rfc3339),
            "buckets": buckets,
        });
        return Ok(Json(body).into_response());
    }
    let rows = read_store(&state, move |store| store.observations(&filter, offset, limit + 1)).await?;
    let more = rows.len() > limit;
    let list: Vec<Value> = rows.iter().take(limit).map(observation_json).collect();
    let base = base_url(&state, &headers);
    let path = format!("{base}/collections/{id}/items/{}/observations", super::ogc::encode(&fid));
    let query = |offset: usize| {
        let mut q: Vec<String> = params
            .iter()
            .filter(|(k, _)| *k != "offset")
            .map(|(k, v)| format!("{k}={}", super::ogc::encode(v)))
            .collect();
        q.sort();
        q.push(format!("offset={offset}"));
        q.join("&")
    };
    let mut links =
        vec![json!({"href": format!("{path}?{}", query(offset)), "rel": "self", "type": "application/json"})];
    if more {
        links.push(
            json!({"href": format!("{path}?{}", query(offset + limit)), "rel": "next", "type": "application/json"}),
        );
    }
    Ok(Json(json!({"observations": list, "numberReturned": list.len(), "links": links})).into_response())
}

/// `GET /collections/{id}/items/{fid}/busy-hours`: the mean crowd level per
/// hour of the week over the kept history.
pub async fn busy_hours(
    State(state): State<AppState>,
    Path((id, fid)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    facility(&state, &id, &fid)?;
    let tz = state.writes()?.board.options(&id).timezone;
    let filter = ObservationFilter { layer: id, feature: fid, kind: Some("crowd".into()), ..Default::default() };
    let profile =
        read_store(&state, move |store| Ok(history::busy_hours(&store.observations(&filter, 0, MAX_SUMMARISED)?, tz)))
            .await?;
    Ok(Json(profile).into_response())
}

/// `GET /observations?since=&layer=&limit=`: stored observations after a
/// sequence number, oldest first, with a `next` link.
pub async fn feed(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    // The same parameters as a page of the audit log.
    let (since, limit) = page(&params)?;
    let only = match params.get("layer") {
        Some(l) => Some(layer(&state, l)?.id().to_string()),
        None => None,
    };
    let rows = read_store(&state, move |store| store.observations_since(since, limit)).await?;
    let last = rows.last().map(|r| r.seq);
    let full = rows.len() == limit;
    let list: Vec<Value> =
        rows.iter().filter(|r| only.as_ref().is_none_or(|l| *l == r.layer)).map(observation_json).collect();
    let base = base_url(&state, &headers);
    let href = |since: i64| {
        let mut q = format!("{base}/observations?since={since}&limit={limit}");
        if let Some(l) = &only {
            q = format!("{q}&layer={}", super::ogc::encode(l));
        }
        q
    };
    let mut links = vec![json!({"href": href(since), "rel": "self", "type": "application/json"})];
    if let (true, Some(last)) = (full, last) {
        links.push(json!({"href": href(last), "rel": "next", "type": "application/json"}));
    }
    Ok(Json(json!({"observations": list, "numberReturned": list.len(), "links": links})).into_response())
}

/// Adds the `status` member to a GeoJSON feature of `layer` that has
/// readings.
pub fn add_status(state: &AppState, layer: &str, feature: &mut Value) {
    let Some(w) = &state.writes else { return };
    let fid = match &feature["id"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return,
    };
    let o = w.board.options(layer);
    if let Some(s) = w.board.with(layer, &fid, |s| s.to_json(&o, now_ms())) {
        feature["status"] = s;
    }
}

/// The status properties of a layer's features in its tiles.
pub struct StatusTags<'a> {
    pub board: &'a crate::status::Board,
    pub layer: &'a Layer,
    pub options: crate::status::StatusOptions,
    pub now: i64,
}

impl tuilerie_geo::tiling::FeatureTags for StatusTags<'_> {
    fn tags(&self, index: usize, tag: &mut dyn FnMut(&str, tuilerie_geo::tiling::encode::TileValue<'_>)) {
        let fid = self.layer.feature(index).id().to_string();
        self.board.with(self.layer.id().as_str(), &fid, |s| s.tile_tags(&self.options, self.now, tag));
    }
}
