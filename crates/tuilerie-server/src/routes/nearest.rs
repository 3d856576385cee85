//! `GET /nearest?lon=&lat=`: the nearest facilities by geodesic distance,
//! with `layers`, `k`, `accepts`, `open`, `max_distance` and `type`
//! (checked by [`NearestQuery::parse`], answered by
//! [`nearest_collection`]).

use super::resolve_layers;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use std::borrow::Cow;
use tuilerie_geo::output::nearest_collection;
use tuilerie_geo::query::{nearest, NearestQuery, QueryParams};

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

impl QueryParams for Params<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        Params::get(self, name)
    }
}

pub async fn get(State(state): State<AppState>, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref().unwrap_or(""));
    let q = NearestQuery::parse(&params, Utc::now())?;
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
    let hits = nearest(&refs, &q);
    let body = nearest_collection(&refs, &hits, &q);
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_pairs_equal_form_urlencoded_ones() {
        for q in
            ["lon=1.5&lat=44&k=5", "a=&b&&c=d=e&", "", "&&", "accepts=verre,piles&x=1", "q=caf%C3%A9&r=a+b", "k=5&k=6"]
        {
            let ours: Vec<(String, String)> =
                Params::parse(q).0.into_iter().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            let reference: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes()).into_owned().collect();
            assert_eq!(ours, reference, "{q:?}");
        }
    }
}
