//! `GET /nearest?lon=&lat=`: the nearest facilities by geodesic distance,
//! with `layers`, `k`, `accepts`, `open`, `max_distance` and `type`.

use super::resolve_layers;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::borrow::Cow;
use tuilerie_geo::geojson_out::{Extra, FeatureWriter};
use tuilerie_geo::query::{nearest, NearestQuery};
use tuilerie_geo::waste::opening_hours::OpenState;
use tuilerie_geo::waste::{mask_ids, CategoryMask, Taxonomy};

/// Decoded query parameters, in order; the last of a repeated name wins.
/// (A request has a handful, so a list beats a map here.)
struct Params<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> Params<'a> {
    fn parse(query: &'a str) -> Self {
        if query.bytes().any(|b| b == b'%' || b == b'+') {
            return Params(form_urlencoded::parse(query.as_bytes()).collect());
        }
        // Nothing to decode (the usual case): the pairs borrow the query,
        // split as form_urlencoded splits them.
        let pairs = query.split('&').filter(|p| !p.is_empty()).map(|p| p.split_once('=').unwrap_or((p, "")));
        Params(pairs.map(|(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v))).collect())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_ref())
    }
}

fn number(params: &Params<'_>, name: &str) -> Result<Option<f64>, ApiError> {
    match params.get(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Some)
            .ok_or_else(|| ApiError::bad(name, format!("{name} must be a number, got {v:?}"))),
    }
}

/// Resolves `accepts=glass,piles` into a mask of categories (all required).
pub fn parse_accepts(list: &str) -> Result<CategoryMask, ApiError> {
    let t = Taxonomy::builtin();
    let mut mask = 0;
    for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        // A word naming several categories (e.g. "cartons") requires any of
        // them: take the first, the closest meaning.
        let Some(i) = t.first_category(word) else {
            let s = t.suggest(word, 3);
            return Err(ApiError::bad(
                "accepts",
                format!("unknown waste {word:?}; did you mean {}? (see /waste-categories)", s.join(", ")),
            ));
        };
        mask |= 1 << i.0;
    }
    Ok(mask)
}

/// Parses `open=now` or an RFC 3339 time.
pub fn parse_time(name: &str, v: &str) -> Result<DateTime<Utc>, ApiError> {
    if v.eq_ignore_ascii_case("now") {
        return Ok(Utc::now());
    }
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| ApiError::bad(name, format!("{name} must be \"now\" or an RFC 3339 time such as 2026-11-28T10:00:00+01:00, got {v:?}")))
}

pub async fn get(State(state): State<AppState>, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref().unwrap_or(""));
    let lon = number(&params, "lon")?.ok_or_else(|| ApiError::bad("lon", "lon is required (longitude in degrees, WGS84)"))?;
    let lat = number(&params, "lat")?.ok_or_else(|| ApiError::bad("lat", "lat is required (latitude in degrees, WGS84)"))?;
    if !(-180.0..=180.0).contains(&lon) {
        return Err(ApiError::bad("lon", format!("lon = {lon} is outside [-180, 180]")));
    }
    if !(-90.0..=90.0).contains(&lat) {
        return Err(ApiError::bad("lat", format!("lat = {lat} is outside [-90, 90]")));
    }
    let k = match params.get("k") {
        None => 5,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|k| (1..=1000).contains(k))
            .ok_or_else(|| ApiError::bad("k", format!("k must be an integer from 1 to 1000, got {v:?}")))?,
    };
    let max_distance = number(&params, "max_distance")?;
    if let Some(m) = max_distance {
        if m < 0.0 {
            return Err(ApiError::bad("max_distance", format!("max_distance must be positive (metres), got {m}")));
        }
    }
    let accepts = params.get("accepts").map(parse_accepts).transpose()?.unwrap_or(0);
    let open_at = params.get("open").map(|v| parse_time("open", v)).transpose()?;
    let facility_type = match params.get("type") {
        None | Some("") => None,
        Some(t @ ("container" | "centre")) => Some(t.to_string()),
        Some(t) => return Err(ApiError::bad("type", format!("type must be \"container\" or \"centre\", got {t:?}"))),
    };
    let catalog = state.catalog().ok_or(ApiError::Loading)?;
    let layers = match params.get("layers") {
        Some(list) => resolve_layers(&catalog, list)?,
        None => catalog.layers().iter().filter(|l| l.meta().is_point_layer()).cloned().collect(),
    };
    let q = NearestQuery {
        lon,
        lat,
        k,
        accepts,
        open_at,
        at: open_at.unwrap_or_else(Utc::now),
        max_distance,
        facility_type,
    };
    let refs: Vec<&tuilerie_geo::Layer> = layers.iter().map(|l| l.as_ref()).collect();
    let hits = nearest(&refs, &q);
    let taxonomy = Taxonomy::builtin();
    // Written straight into the body: no intermediate JSON values per feature.
    let mut out: Vec<u8> = Vec::with_capacity(512 * hits.len() + 256);
    out.extend_from_slice(b"{\"type\":\"FeatureCollection\",\"features\":[");
    const EXTRAS: [&str; 6] = ["distance_m", "bearing_deg", "layer", "accepts", "open_now", "next_change"];
    let writers: Vec<FeatureWriter> = refs.iter().map(|l| FeatureWriter::new(l, &EXTRAS)).collect();
    for (n, h) in hits.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        let layer = refs[h.layer];
        let open = match h.open {
            OpenState::Open => Some(true),
            OpenState::Closed => Some(false),
            OpenState::Unknown => None,
        };
        writers[h.layer].write(
            &mut out,
            h.feature,
            &[
                Extra::Tenths(h.distance_m),
                Extra::Tenths(h.bearing_deg),
                Extra::Str(layer.id().as_str()),
                Extra::Categories(layer.categories(h.feature)),
                Extra::Bool(open),
                Extra::OptStr(h.next_change.as_deref()),
            ],
        );
    }
    out.extend_from_slice(b"],");
    // The count and the query as understood, written member by member (a
    // serde struct cost 4,500 instructions per request here).
    fn json<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
        // Writing to a Vec cannot fail.
        let _ = serde_json::to_writer(out, v);
    }
    out.extend_from_slice(b"\"numberReturned\":");
    json(&mut out, &hits.len());
    out.extend_from_slice(b",\"query\":{\"lon\":");
    json(&mut out, &lon);
    out.extend_from_slice(b",\"lat\":");
    json(&mut out, &lat);
    out.extend_from_slice(b",\"k\":");
    json(&mut out, &k);
    out.extend_from_slice(b",\"layers\":");
    json(&mut out, &refs.iter().map(|l| l.id().as_str()).collect::<Vec<_>>());
    out.extend_from_slice(b",\"accepts\":");
    json(&mut out, &mask_ids(accepts, taxonomy));
    out.extend_from_slice(b",\"open\":");
    json(&mut out, &open_at.map(|t| t.to_rfc3339()));
    out.extend_from_slice(b",\"max_distance\":");
    json(&mut out, &max_distance);
    out.extend_from_slice(b",\"type\":");
    json(&mut out, &q.facility_type.as_deref());
    out.extend_from_slice(b"}}");
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], out).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_equal_form_urlencoded_ones() {
        for q in ["lon=1.5&lat=44&k=5", "a=&b&&c=d=e&", "", "&&", "accepts=verre,piles&x=1", "q=caf%C3%A9&r=a+b", "k=5&k=6"] {
            let ours: Vec<(String, String)> = Params::parse(q).0.into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            let reference: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes()).into_owned().collect();
            assert_eq!(ours, reference, "{q:?}");
        }
    }
}
