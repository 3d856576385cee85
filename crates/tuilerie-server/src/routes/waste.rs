//! `GET /waste-categories`: the waste taxonomy; `?q=frigo` resolves a word.

use crate::error::ApiError;
use axum::extract::Query;
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use tuilerie_geo::waste::taxonomy::MAX_WORD_CHARS;
use tuilerie_geo::waste::Taxonomy;

pub async fn list(Query(params): Query<HashMap<String, String>>) -> Result<Json<Value>, ApiError> {
    let t = Taxonomy::builtin();
    if let Some(q) = params.get("q") {
        if q.chars().count() > MAX_WORD_CHARS {
            return Err(ApiError::bad("q", format!("q has at most {MAX_WORD_CHARS} characters (one waste word)")));
        }
        let matches = t.resolve(q);
        let categories: Vec<Value> = matches
            .iter()
            .filter_map(|r| t.index_of(&r.category).map(|i| (r, t.get(i))))
            .map(|(r, c)| json!({"id": c.id, "fr": c.fr, "en": c.en, "color": c.color, "keys": r.keys, "matched": r.matched}))
            .collect();
        let suggestions = if categories.is_empty() { t.suggest(q, 5) } else { Vec::new() };
        return Ok(Json(json!({"query": q, "categories": categories, "suggestions": suggestions})));
    }
    Ok(Json(json!({
        "categories": t.categories().iter().map(|c| json!({
            "id": c.id, "fr": c.fr, "en": c.en, "color": c.color,
            "keys": c.keys.iter().map(|k| format!("recycling:{k}")).collect::<Vec<_>>(),
            "synonyms": c.synonyms,
        })).collect::<Vec<_>>()
    })))
}
