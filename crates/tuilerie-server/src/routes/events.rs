//! `GET /events`: server-sent events (`text/event-stream`) of feature edits
//! (`event: feature`) and status changes (`event: status`), filtered by
//! `layers=` and `bbox=`. Event ids are the store's sequence numbers; a
//! client reconnecting with `Last-Event-ID` (or `?last_event_id=`) first
//! gets what it missed, read from the store, when that is at most
//! [`REPLAY_WINDOW`] changes (else `event: reload`). A comment every
//! [`HEARTBEAT`] keeps proxies from closing the stream; a subscriber too
//! slow to keep up gets `event: reload` and is dropped.

use super::resolve_layers;
use crate::error::ApiError;
use crate::state::AppState;
use crate::status::events::{tiles_of, Event};
use crate::status::{now_ms, observation_json};
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// Most missed changes replayed on reconnection.
pub const REPLAY_WINDOW: usize = 10_000;

/// Time between two heartbeat comments.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// Most subscribers at once (each holds a connection).
pub const MAX_SUBSCRIBERS: usize = 20_000;

const PARAMS: &[&str] = &["layers", "bbox", "last_event_id"];

/// A subscriber's filters and position.
struct Subscriber {
    layers: Option<Vec<String>>,
    bbox: Option<[f64; 4]>,
    /// Highest id sent (live events up to it were replayed already).
    last: i64,
    rx: tokio::sync::broadcast::Receiver<crate::status::events::Batch>,
    /// Text waiting to be sent.
    queue: VecDeque<String>,
    done: bool,
}

fn reload(why: &str) -> String {
    format!("event: reload\ndata: {}\n\n", json!({"type": "reload", "reason": why}))
}

/// The events after `since` from the store, oldest first: edits from the
/// audit log, observations with their facility's current status. `None`
/// when more than [`REPLAY_WINDOW`] were missed.
fn replay(state: &AppState, since: i64) -> Result<Option<Vec<Event>>, ApiError> {
    let w = state.writes()?;
    let unavailable = |e: crate::store::StoreError| ApiError::Unavailable { message: e.to_string() };
    let changes = w.store.changes(since, None, None, REPLAY_WINDOW + 1).map_err(unavailable)?;
    let observations = w.store.observations_since(since, REPLAY_WINDOW + 1).map_err(unavailable)?;
    let changes: Vec<_> = changes.into_iter().filter(|c| c.kind == "feature").collect();
    if changes.len() + observations.len() > REPLAY_WINDOW {
        return Ok(None);
    }
    let catalog = state.catalog().ok_or(ApiError::Loading)?;
    let now = now_ms();
    let mut out = Vec::new();
    let tiles = |layer: &str, bbox: Option<[f64; 4]>| match (catalog.get(layer), bbox) {
        (Some(l), Some(b)) => tiles_of(b, l.tile_prep().settings().minzoom, l.tile_prep().settings().maxzoom),
        _ => Vec::new(),
    };
    let bbox_of = |v: &serde_json::Value| tuilerie_geo::edit::EditedFeature::parse(v).ok().and_then(|f| f.bbox());
    for c in changes {
        let layer = c.layer.clone().unwrap_or_default();
        let feature: Option<serde_json::Value> = c.after.as_deref().and_then(|a| serde_json::from_str(a).ok());
        let before: Option<serde_json::Value> = c.before.as_deref().and_then(|a| serde_json::from_str(a).ok());
        let bbox = feature.as_ref().or(before.as_ref()).and_then(bbox_of);
        let data = json!({
            "type": "feature", "id": c.seq, "layer": layer, "feature_id": c.id,
            "etag": crate::edits::committer::etag_of(c.seq), "deleted": feature.is_none(),
            "feature": feature, "tiles": tiles(&layer, bbox), "replayed": true,
        });
        out.push(Event { id: c.seq, kind: "feature", layer, bbox, data: data.to_string() });
    }
    for o in observations {
        let Some(l) = catalog.get(&o.layer) else { continue };
        let Some((etag, mut feature)) = crate::edits::current(Some(w), l, &o.feature) else { continue };
        let options = w.board.options(&o.layer);
        feature["status"] = w.board.with(&o.layer, &o.feature, |s| s.to_json(&options, now)).unwrap_or_default();
        let bbox = bbox_of(&feature);
        let data = json!({
            "type": "status", "id": o.seq, "layer": o.layer, "feature_id": o.feature, "etag": etag,
            "observation": observation_json(&o), "feature": feature, "tiles": tiles(&o.layer, bbox), "replayed": true,
        });
        out.push(Event { id: o.seq, kind: "status", layer: o.layer.clone(), bbox, data: data.to_string() });
    }
    out.sort_by_key(|e| e.id);
    Ok(Some(out))
}

/// `GET /events`.
pub async fn get(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(k) = params.keys().find(|k| !PARAMS.contains(&k.as_str())) {
        return Err(ApiError::bad(k.clone(), format!("unknown parameter {k:?} (known: {})", PARAMS.join(", "))));
    }
    let w = state.writes()?.clone();
    let catalog = state.catalog().ok_or(ApiError::Loading)?;
    let layers = match params.get("layers") {
        Some(list) => Some(resolve_layers(&catalog, list)?.iter().map(|l| l.id().to_string()).collect::<Vec<_>>()),
        None => None,
    };
    let bbox = params.get("bbox").map(|b| tuilerie_geo::query::parse_bbox(b)).transpose()?;
    let last = match headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or(""))
        .or(params.get("last_event_id").map(String::as_str))
    {
        None => None,
        Some(v) => {
            Some(v.trim().parse::<i64>().ok().filter(|n| (0..=super::MAX_SEQ).contains(n)).ok_or_else(|| {
                ApiError::bad(
                    "Last-Event-ID",
                    format!("Last-Event-ID must be the id of an event (a whole number), got {v:?}"),
                )
            })?)
        }
    };
    if w.hub.subscribers() >= MAX_SUBSCRIBERS {
        crate::metrics::refusal("event_subscribers");
        return Err(ApiError::Busy { retry_after: 5 });
    }
    // Subscribed before reading the store: nothing falls between the two.
    let rx = w.hub.subscribe();
    let mut sub = Subscriber { layers, bbox, last: 0, rx, queue: VecDeque::new(), done: false };
    // The stream starts with a comment (headers and a first byte flushed at once).
    sub.queue.push_back(": tuilerie events\n\n".into());
    // Without Last-Event-ID, every event published since the subscription
    // goes out (`last` stays 0).
    if let Some(since) = last {
        sub.last = since;
        let st = state.clone();
        let replayed = tokio::task::spawn_blocking(move || replay(&st, since))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))??;
        match replayed {
            Some(events) => {
                for e in events {
                    sub.last = sub.last.max(e.id);
                    if e.wanted(sub.layers.as_deref(), sub.bbox) {
                        sub.queue.push_back(e.sse());
                    }
                }
            }
            None => sub.queue.push_back(reload("more changes were missed than the replay window holds")),
        }
    }
    let stream = futures_util::stream::unfold(sub, |mut sub| async move {
        loop {
            if let Some(text) = sub.queue.pop_front() {
                return Some((Ok::<_, std::convert::Infallible>(text), sub));
            }
            if sub.done {
                return None;
            }
            let next = tokio::time::timeout(HEARTBEAT, sub.rx.recv()).await;
            match next {
                Err(_) => sub.queue.push_back(": heartbeat\n\n".into()),
                Ok(Ok(batch)) => {
                    for e in batch.iter() {
                        if e.id > sub.last {
                            sub.last = e.id;
                            if e.wanted(sub.layers.as_deref(), sub.bbox) {
                                sub.queue.push_back(e.sse());
                            }
                        }
                    }
                }
                Ok(Err(RecvError::Lagged(_))) => {
                    metrics::counter!("tuilerie_event_subscribers_dropped_total").increment(1);
                    sub.queue.push_back(reload("this subscriber fell behind and was dropped"));
                    sub.done = true;
                }
                Ok(Err(RecvError::Closed)) => {
                    sub.queue.push_back(reload("the server is shutting down"));
                    sub.done = true;
                }
            }
        }
    });
    let mut r = Response::new(Body::from_stream(stream));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(r)
}
