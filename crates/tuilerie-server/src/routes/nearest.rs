//! `GET /nearest?lon=&lat=`: the nearest facilities by geodesic distance,
//! with `layers`, `k`, `accepts`, `open`, `max_distance` and `type`
//! (checked by [`NearestQuery::parse`], answered by
//! [`nearest_collection`]).

use super::resolve_layers;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use std::borrow::Cow;
use tuilerie_geo::output::nearest_collection_with;
use tuilerie_geo::query::{nearest_where, NearestQuery, QueryParams};
use tuilerie_geo::waste::{mask_ids, parse_accepts, Taxonomy};

/// Decoded query parameters, in order; the last of a repeated name wins.
/// (A request has a handful, so a list beats a map here.)
struct Params<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> Params<'a> {
    fn parse(query: &'a str) -> Self {
        // Room for the pairs of a usual query (an accepts= query has five).
        let mut out = Vec::with_capacity(8);
        // One pass over the bytes, splitting as form_urlencoded splits
        // (pairs at `&`, empty ones skipped; name and value at the first
        // `=`): `split` and `split_once` cost 1,500 instructions a query.
        let bytes = query.as_bytes();
        let (mut start, mut eq) = (0, None);
        for i in 0..=bytes.len() {
            match bytes.get(i) {
                Some(b'%' | b'+') => return Params(form_urlencoded::parse(bytes).collect()),
                Some(b'=') if eq.is_none() => eq = Some(i),
                Some(b'&') | None => {
                    if i > start {
                        // `&` and `=` are ASCII: the cuts are on char boundaries.
                        let pair = match eq {
                            Some(e) => (&query[start..e], &query[e + 1..i]),
                            None => (&query[start..i], ""),
                        };
                        out.push((Cow::Borrowed(pair.0), Cow::Borrowed(pair.1)));
                    }
                    (start, eq) = (i + 1, None);
                }
                _ => {}
            }
        }
        Params(out)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_ref())
    }
}

impl QueryParams for Params<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        Params::get(self, name)
    }
}

pub async fn get(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    answer(&state, query.as_deref().unwrap_or(""))
}

/// The answer to `GET /nearest?{query}`: what the route answers, called
/// directly by [`crate::App`] too, ahead of the router (the hot path of
/// the service, which owes the router and axum's handler machinery a fifth
/// of its instructions).
pub fn answer(state: &AppState, query: &str) -> Response {
    nearest(state, query).unwrap_or_else(IntoResponse::into_response)
}

fn nearest(state: &AppState, query: &str) -> Result<Response, ApiError> {
    let params = Params::parse(query);
    let mut q = NearestQuery::parse(&params, Utc::now())?;
    // Live status filters: `available` (wastes a facility must be able to
    // take now: accepted, skip not full, not closed) and `max_crowd`.
    let available = match params.get("available") {
        Some(list) => {
            let mask = parse_accepts(list).map_err(|mut e| {
                e.parameter = "available".into();
                e.message = e.message.replace("accepts", "available");
                e
            })?;
            q.accepts |= mask;
            Some(mask_ids(mask, Taxonomy::builtin()))
        }
        None => None,
    };
    let max_crowd = match params.get("max_crowd") {
        Some(v) => Some(v.parse::<f64>().ok().filter(|x| (0.0..=1.0).contains(x)).ok_or_else(|| {
            ApiError::bad("max_crowd", format!("max_crowd must be a crowd level from 0 to 1, got {v:?}"))
        })?),
        None => None,
    };
    let catalog = state.catalog().ok_or(ApiError::Loading)?;
    let layers = match params.get("layers") {
        Some(list) => resolve_layers(&catalog, list)?,
        // Facility layers: points, and layers where a feature accepts a
        // waste (an OSM recycling layer has centres mapped as areas).
        None => catalog
            .layers()
            .iter()
            .filter(|l| l.meta().is_point_layer() || l.profile().classified_features() > 0)
            .cloned()
            .collect(),
    };
    let refs: Vec<&tuilerie_geo::Layer> = layers.iter().map(|l| l.as_ref()).collect();
    let board = state.writes.as_ref().map(|w| w.board.clone());
    let now = crate::status::now_ms();
    // Per layer: its options when it has readings.
    // (None without a store: no allocation.)
    let live: Vec<Option<crate::status::StatusOptions>> = match &board {
        Some(b) => refs.iter().map(|l| b.has_layer(l.id().as_str()).then(|| b.options(l.id().as_str()))).collect(),
        None => Vec::new(),
    };
    let status =
        |li: usize, fi: usize, f: &mut dyn FnMut(&crate::status::FeatureStatus, &crate::status::StatusOptions)| {
            if let (Some(b), Some(Some(o))) = (&board, live.get(li)) {
                let fid = refs[li].feature(fi).id().to_string();
                b.with(refs[li].id().as_str(), &fid, |s| f(s, o));
            }
        };
    let categories: Vec<&str> = available.clone().unwrap_or_default();
    let keep = |li: usize, fi: usize| {
        let mut ok = true;
        status(li, fi, &mut |s, o| {
            if available.is_some() && s.available(&categories, o, now) == Some(false) {
                ok = false;
            }
            if max_crowd.is_some_and(|m| s.crowd(o, now).is_some_and(|c| c > m)) {
                ok = false;
            }
        });
        ok
    };
    let filtered = available.is_some() || max_crowd.is_some();
    let hits = nearest_where(&refs, &q, if filtered { Some(&keep) } else { None });
    let body = nearest_collection_with(&refs, &hits, &q, &|li, fi, out| {
        let mut known = None;
        status(li, fi, &mut |s, o| {
            out.extend_from_slice(b",\"status\":");
            let _ = serde_json::to_writer(&mut *out, &s.to_json(o, now));
            known = s.available(&categories, o, now);
        });
        if available.is_some() {
            out.extend_from_slice(match known {
                Some(true) => b",\"available\":true",
                Some(false) => b",\"available\":false",
                None => b",\"available\":null",
            });
        }
    });
    // Built directly: the generic (headers, body) conversion parsed the
    // header pair and went through a Cow (a thousand instructions).
    let mut response = Response::new(axum::body::Body::from(body));
    // Room for the headers the layers add (CORS, request id): the map is
    // not grown twice on the way out.
    *response.headers_mut() = axum::http::HeaderMap::with_capacity(8);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/geo+json"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_equal_form_urlencoded_ones() {
        for q in [
            "lon=1.5&lat=44&k=5",
            "a=&b&&c=d=e&",
            "",
            "&&",
            "=",
            "=x&y=",
            "&a",
            "accepts=verre,piles&x=1",
            "q=caf%C3%A9&r=a+b",
            "k=5&k=6",
            "lieu=café&k=2",
            "a=1&b=%",
        ] {
            let ours: Vec<(String, String)> =
                Params::parse(q).0.into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            let reference: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes()).into_owned().collect();
            assert_eq!(ours, reference, "{q:?}");
        }
    }
}
