//! An observation as posted: a JSON object `{"kind", "value", "category"?,
//! "until"?, "observed_at", "source"}` (the batch form adds `"layer"` and
//! `"feature"`), checked member by member into an
//! [`ObservationRecord`]. Every refusal names the member.

use super::StatusOptions;
use crate::store::ObservationRecord;
use serde_json::Value;
use tuilerie_geo::waste::Taxonomy;

/// How far in the future `observed_at` may be (clocks of sensors drift).
pub const MAX_FUTURE_MS: i64 = 5 * 60_000;

/// Longest `source`.
pub const MAX_SOURCE_CHARS: usize = 200;

/// The states a facility can be in.
pub const STATES: &[&str] = &["open", "closed", "full", "out_of_service"];

/// Most people a crowd count may say.
const MAX_COUNT: i64 = 1_000_000;

/// A refused member: its name (`observed_at`, `value.count`...) and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    pub member: String,
    pub message: String,
}

fn invalid(member: &str, message: impl Into<String>) -> Invalid {
    Invalid { member: member.to_string(), message: message.into() }
}

/// Where the observation goes and who sends it.
pub struct Context<'a> {
    pub layer: &'a str,
    pub feature: &'a str,
    pub token: &'a str,
    pub now: i64,
    pub options: &'a StatusOptions,
}

/// The members of a single observation; the batch form also allows
/// `layer` and `feature`.
const MEMBERS: &[&str] = &["kind", "value", "category", "until", "observed_at", "source"];

/// Checks one observation object.
pub fn parse(v: &Value, cx: &Context<'_>, batch: bool) -> Result<ObservationRecord, Invalid> {
    let Value::Object(m) = v else {
        return Err(invalid(
            "observation",
            "an observation is a JSON object {\"kind\", \"value\", \"observed_at\", \"source\"}",
        ));
    };
    for k in m.keys() {
        if !MEMBERS.contains(&k.as_str()) && !(batch && (k == "layer" || k == "feature")) {
            return Err(invalid(k, format!("unknown member {k:?} (known: {})", MEMBERS.join(", "))));
        }
    }
    let text = |name: &str| -> Result<Option<&str>, Invalid> {
        match m.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => Err(invalid(name, format!("{name} must be a string, got {other}"))),
        }
    };
    let kind = text("kind")?.ok_or_else(|| invalid("kind", "kind is required: fill_level, crowd or state"))?;
    let time = |name: &str, s: &str| {
        chrono::DateTime::parse_from_rfc3339(s).map(|t| t.timestamp_millis()).map_err(|e| {
            invalid(name, format!("{name} must be an RFC 3339 time such as 2026-12-01T09:30:00Z, got {s:?}: {e}"))
        })
    };
    let observed_at = match text("observed_at")? {
        None => return Err(invalid("observed_at", "observed_at is required (RFC 3339, e.g. 2026-12-01T09:30:00Z)")),
        Some(s) => time("observed_at", s)?,
    };
    if observed_at > cx.now + MAX_FUTURE_MS {
        return Err(invalid(
            "observed_at",
            format!(
                "observed_at {} is more than 5 minutes in the future (the server's clock says {})",
                super::rfc3339(observed_at),
                super::rfc3339(cx.now)
            ),
        ));
    }
    if observed_at < cx.now - cx.options.retention_ms {
        return Err(invalid(
            "observed_at",
            format!(
                "observed_at {} is older than the layer's status_retention: it would not be kept",
                super::rfc3339(observed_at)
            ),
        ));
    }
    let source = text("source")?.map(str::trim).unwrap_or("");
    if source.is_empty() {
        return Err(invalid("source", "source is required: the sensor or person who observed"));
    }
    if source.chars().count() > MAX_SOURCE_CHARS {
        return Err(invalid("source", format!("source has at most {MAX_SOURCE_CHARS} characters")));
    }
    let mut r = ObservationRecord {
        seq: 0,
        layer: cx.layer.to_string(),
        feature: cx.feature.to_string(),
        kind: kind.to_string(),
        category: String::new(),
        source: source.to_string(),
        observed_at,
        value: None,
        count: None,
        state: None,
        until: None,
        token: cx.token.to_string(),
        received: cx.now,
    };
    let value = m.get("value").filter(|v| !v.is_null()).ok_or_else(|| invalid("value", "value is required"))?;
    let level = |v: &Value| match v.as_f64() {
        Some(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(invalid("value", format!("value must be a number from 0 to 1, got {v}"))),
    };
    if kind != "fill_level" && m.get("category").is_some_and(|c| !c.is_null()) {
        return Err(invalid("category", "category applies to fill_level observations only"));
    }
    if kind != "state" && m.get("until").is_some_and(|c| !c.is_null()) {
        return Err(invalid("until", "until applies to state observations only"));
    }
    match kind {
        "fill_level" => {
            r.value = Some(level(value)?);
            if let Some(word) = text("category")? {
                r.category = category(word)?;
            }
        }
        "crowd" => match value {
            Value::Object(c) => {
                if let Some(k) = c.keys().find(|k| *k != "count") {
                    return Err(invalid(
                        &format!("value.{k}"),
                        "a crowd value is a level from 0 to 1 or {\"count\": n}",
                    ));
                }
                let n = c.get("count").and_then(Value::as_i64).filter(|n| (0..=MAX_COUNT).contains(n)).ok_or_else(
                    || invalid("value.count", format!("count must be a whole number of people from 0 to {MAX_COUNT}")),
                )?;
                r.count = Some(n);
                r.value = cx.options.crowd_capacity.map(|cap| (n as f64 / cap).min(1.0));
            }
            v => r.value = Some(level(v)?),
        },
        "state" => {
            let s = value
                .as_str()
                .filter(|s| STATES.contains(s))
                .ok_or_else(|| invalid("value", format!("a state is one of {}, got {value}", STATES.join(", "))))?;
            r.state = Some(s.to_string());
            if let Some(u) = text("until")? {
                let until = time("until", u)?;
                if until <= observed_at {
                    return Err(invalid("until", "until must be after observed_at"));
                }
                r.until = Some(until);
            }
        }
        other => {
            return Err(invalid("kind", format!("kind must be fill_level, crowd or state, got {other:?}")));
        }
    }
    Ok(r)
}

/// A waste category id from a French or English word or an OSM key.
pub fn category(word: &str) -> Result<String, Invalid> {
    let t = Taxonomy::builtin();
    if word.chars().count() > tuilerie_geo::waste::taxonomy::MAX_WORD_CHARS {
        return Err(invalid("category", "a waste word is at most 100 characters"));
    }
    match t.first_category(word) {
        Some(i) => Ok(t.get(i).id.clone()),
        None => Err(invalid(
            "category",
            format!("unknown waste {word:?}; did you mean {}? (see /waste-categories)", t.suggest(word, 3).join(", ")),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cx(now: i64) -> (StatusOptions, i64) {
        (StatusOptions { crowd_capacity: Some(40.0), ..Default::default() }, now)
    }

    fn check(v: Value) -> Result<ObservationRecord, Invalid> {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z").unwrap().timestamp_millis();
        let (o, now) = cx(now);
        parse(&v, &Context { layer: "l", feature: "f", token: "t", now, options: &o }, false)
    }

    #[test]
    fn observations_are_typed_and_words_resolve_to_categories() {
        let r = check(json!({"kind": "fill_level", "value": 0.9, "category": "Verre", "observed_at": "2026-12-01T09:00:00+01:00", "source": "capteur-12"})).unwrap();
        assert_eq!((r.category.as_str(), r.value, r.observed_at % 1000), ("glass", Some(0.9), 0));
        let r = check(
            json!({"kind": "crowd", "value": {"count": 10}, "observed_at": "2026-12-01T09:00:00Z", "source": "porte"}),
        )
        .unwrap();
        assert_eq!((r.count, r.value), (Some(10), Some(0.25)));
        let r = check(json!({"kind": "state", "value": "closed", "until": "2026-12-01T14:00:00Z", "observed_at": "2026-12-01T09:00:00Z", "source": "agent"})).unwrap();
        assert_eq!(r.state.as_deref(), Some("closed"));
        assert!(r.until.is_some());
    }

    #[test]
    fn every_refusal_names_its_member() {
        let base = json!({"kind": "fill_level", "value": 0.5, "observed_at": "2026-12-01T09:00:00Z", "source": "s"});
        let with = |k: &str, v: Value| {
            let mut o = base.clone();
            o[k] = v;
            check(o).unwrap_err().member
        };
        assert_eq!(with("value", json!(1.5)), "value");
        assert_eq!(with("kind", json!("temperature")), "kind");
        assert_eq!(with("observed_at", json!("yesterday")), "observed_at");
        assert_eq!(with("observed_at", json!("2026-12-01T10:06:00Z")), "observed_at");
        assert_eq!(with("observed_at", json!("2020-01-01T00:00:00Z")), "observed_at");
        assert_eq!(with("source", json!("")), "source");
        assert_eq!(with("category", json!("plutonium")), "category");
        assert_eq!(with("until", json!("2026-12-01T14:00:00Z")), "until");
        assert_eq!(with("colour", json!("red")), "colour");
        let crowd =
            json!({"kind": "crowd", "value": {"count": -1}, "observed_at": "2026-12-01T09:00:00Z", "source": "s"});
        assert_eq!(check(crowd).unwrap_err().member, "value.count");
        let state = json!({"kind": "state", "value": "ajar", "observed_at": "2026-12-01T09:00:00Z", "source": "s"});
        assert_eq!(check(state).unwrap_err().member, "value");
        assert_eq!(check(json!([1])).unwrap_err().member, "observation");
    }
}
