//! The live status of facilities: observations from sensors and staff
//! (fill levels per waste category, crowd, open / closed / full / out of
//! service), the current one of each kind in memory ([`Board`]), and how
//! it shows in answers: a `status` member of GeoJSON features, flat tile
//! properties, and the `available` / `max_crowd` filters of `/nearest`.
//!
//! ```text
//! POST observations ─▶ observation::parse ─▶ committer (stored, one fsync
//!   per batch) ─▶ Board::apply (latest by observed_at) ─▶ events (tiles
//!   dropped, server-sent events)
//! ```
//!
//! A reading is *stale* once older than the layer's `status_ttl`, or, for a
//! state with `until`, once that time has passed: it is still shown (with
//! `stale: true`) but no longer filters answers or colours tiles.

pub mod events;
pub mod history;
pub mod observation;

use crate::store::ObservationRecord;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use tuilerie_geo::tiling::encode::TileValue;

/// Per-layer status settings (`[[layers]]` keys `status_ttl`,
/// `status_retention`, `full_at`, `crowd_capacity`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatusOptions {
    /// Milliseconds after which a reading is stale (default 2 h).
    pub ttl_ms: i64,
    /// Milliseconds of history kept (default 400 days).
    pub retention_ms: i64,
    /// Fill level from which a skip or container counts as full (default
    /// 0.95).
    pub full_at: f64,
    /// People at which a facility counts as fully crowded (level 1): turns
    /// counts into levels. `None`: counts have no level.
    pub crowd_capacity: Option<f64>,
    /// Time zone of the busy-hours profile (the layer's `timezone`).
    pub timezone: chrono_tz::Tz,
}

impl Default for StatusOptions {
    fn default() -> Self {
        StatusOptions {
            ttl_ms: 2 * 3_600_000,
            retention_ms: 400 * 86_400_000,
            full_at: 0.95,
            crowd_capacity: None,
            timezone: chrono_tz::Europe::Paris,
        }
    }
}

/// Parses a duration such as `90s`, `15m`, `2h`, `400d`, `2w` into
/// milliseconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: i64 = n.parse().map_err(|_| format!("{s:?} is not a duration such as 90s, 15m, 2h, 400d"))?;
    let ms = match unit.trim() {
        "ms" => 1,
        "s" => 1000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        u => return Err(format!("{s:?}: unknown unit {u:?} (ms, s, m, h, d or w)")),
    };
    if n <= 0 {
        return Err(format!("{s:?} must be longer than 0"));
    }
    n.checked_mul(ms).ok_or_else(|| format!("{s:?} is too long"))
}

/// RFC 3339 UTC with milliseconds of a time in ms since the epoch.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// An observation as answered (history, events).
pub fn observation_json(r: &ObservationRecord) -> Value {
    let mut m = Map::new();
    m.insert("kind".into(), json!(r.kind));
    match r.kind.as_str() {
        "fill_level" => {
            m.insert("category".into(), if r.category.is_empty() { Value::Null } else { json!(r.category) });
            m.insert("value".into(), json!(r.value));
        }
        "crowd" => {
            m.insert(
                "value".into(),
                match r.count {
                    Some(c) => json!({"count": c}),
                    None => json!(r.value),
                },
            );
            if r.count.is_some() {
                m.insert("level".into(), json!(r.value));
            }
        }
        _ => {
            m.insert("value".into(), json!(r.state));
            m.insert("until".into(), json!(r.until.map(rfc3339)));
        }
    }
    m.insert("observed_at".into(), json!(rfc3339(r.observed_at)));
    m.insert("source".into(), json!(r.source));
    m.insert("layer".into(), json!(r.layer));
    m.insert("feature".into(), json!(r.feature));
    m.insert("seq".into(), json!(r.seq));
    Value::Object(m)
}

/// The current time in ms since the epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The current readings of one feature: at most one per (kind, category).
#[derive(Debug, Clone, Default)]
pub struct FeatureStatus {
    pub readings: Vec<ObservationRecord>,
}

/// Whether `a` replaces `b` as the current reading: later observed, or
/// observed at the same time and stored later.
fn newer(a: &ObservationRecord, b: &ObservationRecord) -> bool {
    (a.observed_at, a.seq) > (b.observed_at, b.seq)
}

impl FeatureStatus {
    fn stale(&self, r: &ObservationRecord, o: &StatusOptions, now: i64) -> bool {
        now - r.observed_at > o.ttl_ms || r.until.is_some_and(|u| u <= now)
    }

    /// The level of a crowd reading (given, or its count over the capacity).
    fn crowd_level(r: &ObservationRecord, o: &StatusOptions) -> Option<f64> {
        r.value.or_else(|| Some((r.count? as f64 / o.crowd_capacity?).min(1.0)))
    }

    /// The `status` member of the feature's GeoJSON.
    pub fn to_json(&self, o: &StatusOptions, now: i64) -> Value {
        let mut fill = Vec::new();
        let mut out = Map::new();
        for r in &self.readings {
            let stale = self.stale(r, o, now);
            let mut m = Map::new();
            match r.kind.as_str() {
                "fill_level" => {
                    let level = r.value.unwrap_or(0.0);
                    m.insert("category".into(), if r.category.is_empty() { Value::Null } else { json!(r.category) });
                    m.insert("level".into(), json!(level));
                    m.insert("full".into(), json!(level >= o.full_at));
                }
                "crowd" => {
                    m.insert("level".into(), json!(Self::crowd_level(r, o)));
                    if let Some(c) = r.count {
                        m.insert("count".into(), json!(c));
                    }
                }
                _ => {
                    m.insert("value".into(), json!(r.state));
                    m.insert("until".into(), json!(r.until.map(rfc3339)));
                }
            }
            m.insert("observed_at".into(), json!(rfc3339(r.observed_at)));
            m.insert("source".into(), json!(r.source));
            m.insert("stale".into(), json!(stale));
            match r.kind.as_str() {
                "fill_level" => fill.push(Value::Object(m)),
                "crowd" => {
                    out.insert("crowd".into(), Value::Object(m));
                }
                _ => {
                    out.insert("state".into(), Value::Object(m));
                }
            }
        }
        if !fill.is_empty() {
            out.insert("fill".into(), Value::Array(fill));
        }
        Value::Object(out)
    }

    /// Flat tile properties from the current readings: `fill_max`,
    /// `full_categories` (category ids, `all` for a whole container,
    /// comma-separated), `crowd_level`, `state`.
    pub fn tile_tags(&self, o: &StatusOptions, now: i64, tag: &mut dyn FnMut(&str, TileValue<'_>)) {
        let mut fill_max: Option<f64> = None;
        let mut full = String::new();
        for r in self.readings.iter().filter(|r| !self.stale(r, o, now)) {
            match r.kind.as_str() {
                "fill_level" => {
                    let v = r.value.unwrap_or(0.0);
                    fill_max = Some(fill_max.map_or(v, |m| m.max(v)));
                    if v >= o.full_at {
                        if !full.is_empty() {
                            full.push(',');
                        }
                        full.push_str(if r.category.is_empty() { "all" } else { &r.category });
                    }
                }
                "crowd" => {
                    if let Some(l) = Self::crowd_level(r, o) {
                        tag("crowd_level", TileValue::Double(l));
                    }
                }
                _ => {
                    if let Some(s) = &r.state {
                        tag("state", TileValue::String(s));
                    }
                }
            }
        }
        if let Some(m) = fill_max {
            tag("fill_max", TileValue::Double(m));
        }
        if !full.is_empty() {
            tag("full_categories", TileValue::String(&full));
        }
    }

    /// What the current readings say of taking `categories` (ids) now:
    /// `Some(false)` when the state is closed, full or out of service or a
    /// skip for one of them (or the whole container) is full; `Some(true)`
    /// when readings say otherwise; `None` without a current reading.
    pub fn available(&self, categories: &[&str], o: &StatusOptions, now: i64) -> Option<bool> {
        let mut known = false;
        for r in self.readings.iter().filter(|r| !self.stale(r, o, now)) {
            match r.kind.as_str() {
                "state" => {
                    known = true;
                    if r.state.as_deref() != Some("open") {
                        return Some(false);
                    }
                }
                "fill_level" if r.category.is_empty() || categories.contains(&r.category.as_str()) => {
                    known = true;
                    if r.value.unwrap_or(0.0) >= o.full_at {
                        return Some(false);
                    }
                }
                _ => {}
            }
        }
        known.then_some(true)
    }

    /// The current (not stale) crowd level.
    pub fn crowd(&self, o: &StatusOptions, now: i64) -> Option<f64> {
        self.readings
            .iter()
            .filter(|r| r.kind == "crowd" && !self.stale(r, o, now))
            .find_map(|r| Self::crowd_level(r, o))
    }

    /// The first time after `after` at which a reading turns stale.
    fn next_stale(&self, o: &StatusOptions, after: i64) -> Option<i64> {
        self.readings
            .iter()
            .flat_map(|r| [Some(r.observed_at + o.ttl_ms + 1), r.until])
            .flatten()
            .filter(|&t| t > after)
            .min()
    }
}

/// The current status of every feature with observations, by layer, and
/// each layer's options.
#[derive(Default)]
pub struct Board {
    layers: RwLock<HashMap<String, HashMap<String, FeatureStatus>>>,
    options: RwLock<HashMap<String, StatusOptions>>,
    /// Increases at every change (tiles cut meanwhile are not cached).
    version: AtomicU64,
}

impl Board {
    /// A board holding `current` (the store's current observations).
    pub fn load(current: Vec<ObservationRecord>) -> Board {
        let b = Board::default();
        for r in current {
            b.apply(r);
        }
        b
    }

    /// Makes `r` the current reading of its (feature, kind, category) if it
    /// is newer than the one held; `true` when it did.
    pub fn apply(&self, r: ObservationRecord) -> bool {
        let mut layers = self.layers.write().unwrap_or_else(|e| e.into_inner());
        let st = layers.entry(r.layer.clone()).or_default().entry(r.feature.clone()).or_default();
        let slot = st.readings.iter_mut().find(|c| c.kind == r.kind && c.category == r.category);
        let changed = match slot {
            Some(c) if newer(&r, c) => {
                *c = r;
                true
            }
            Some(_) => false,
            None => {
                st.readings.push(r);
                true
            }
        };
        if changed {
            self.version.fetch_add(1, Ordering::Release);
        }
        changed
    }

    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Whether any feature of `layer` has a reading.
    pub fn has_layer(&self, layer: &str) -> bool {
        self.layers.read().unwrap_or_else(|e| e.into_inner()).get(layer).is_some_and(|m| !m.is_empty())
    }

    /// Calls `f` with the status of a feature, if it has one.
    pub fn with<T>(&self, layer: &str, feature: &str, f: impl FnOnce(&FeatureStatus) -> T) -> Option<T> {
        self.layers.read().unwrap_or_else(|e| e.into_inner()).get(layer)?.get(feature).map(f)
    }

    pub fn options(&self, layer: &str) -> StatusOptions {
        self.options.read().unwrap_or_else(|e| e.into_inner()).get(layer).copied().unwrap_or_default()
    }

    pub fn set_options(&self, layer: &str, o: StatusOptions) {
        self.options.write().unwrap_or_else(|e| e.into_inner()).insert(layer.to_string(), o);
    }

    /// Every layer with options or readings, and its options.
    pub fn layer_options(&self) -> Vec<(String, StatusOptions)> {
        let mut names: Vec<String> = self.layers.read().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect();
        names.extend(self.options.read().unwrap_or_else(|e| e.into_inner()).keys().cloned());
        names.sort();
        names.dedup();
        names.into_iter().map(|n| (n.clone(), self.options(&n))).collect()
    }

    /// The features one of whose readings turned stale in `(after, now]`.
    pub fn turned_stale(&self, after: i64, now: i64) -> Vec<(String, String)> {
        let layers = self.layers.read().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for (layer, features) in layers.iter() {
            let o = self.options(layer);
            for (id, st) in features {
                if st.next_stale(&o, after).is_some_and(|t| t <= now) {
                    out.push((layer.clone(), id.clone()));
                }
            }
        }
        if !out.is_empty() {
            self.version.fetch_add(1, Ordering::Release);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(kind: &str, category: &str, at: i64, value: Option<f64>, state: Option<&str>) -> ObservationRecord {
        ObservationRecord {
            seq: at,
            layer: "l".into(),
            feature: "f".into(),
            kind: kind.into(),
            category: category.into(),
            source: "s".into(),
            observed_at: at,
            value,
            count: None,
            state: state.map(String::from),
            until: None,
            token: "t".into(),
            received: at,
        }
    }

    #[test]
    fn the_latest_observation_wins_whatever_the_order_of_arrival() {
        let b = Board::default();
        assert!(b.apply(obs("fill_level", "glass", 2000, Some(0.5), None)));
        assert!(!b.apply(obs("fill_level", "glass", 1000, Some(0.99), None)));
        assert!(b.apply(obs("fill_level", "paper", 1000, Some(0.99), None)));
        let o = StatusOptions::default();
        let now = 3000;
        assert_eq!(b.with("l", "f", |s| s.available(&["glass"], &o, now)).unwrap(), Some(true));
        assert_eq!(b.with("l", "f", |s| s.available(&["paper"], &o, now)).unwrap(), Some(false));
        assert_eq!(b.with("l", "f", |s| s.available(&["batteries"], &o, now)).unwrap(), None);
        // Stale readings no longer decide.
        let later = 1000 + o.ttl_ms + 1;
        assert_eq!(b.with("l", "f", |s| s.available(&["paper"], &o, later)).unwrap(), None);
        assert_eq!(b.turned_stale(3000, later), vec![("l".to_string(), "f".to_string())]);
        assert!(b.turned_stale(later, later + 10).is_empty());
        b.apply(obs("state", "", 2500, None, Some("closed")));
        assert_eq!(b.with("l", "f", |s| s.available(&["glass"], &o, now)).unwrap(), Some(false));
        let mut tags = Vec::new();
        b.with("l", "f", |s| {
            s.tile_tags(&o, now, &mut |k, v| {
                tags.push(format!(
                    "{k}={}",
                    match v {
                        TileValue::String(s) => s.to_string(),
                        TileValue::Double(d) => d.to_string(),
                        _ => String::new(),
                    }
                ))
            })
        });
        assert_eq!(tags, ["state=closed", "fill_max=0.99", "full_categories=paper"]);
    }

    #[test]
    fn durations_parse_with_units_and_refuse_nonsense() {
        assert_eq!(parse_duration("2h"), Ok(7_200_000));
        assert_eq!(parse_duration("400d"), Ok(400 * 86_400_000));
        assert_eq!(parse_duration("90s"), Ok(90_000));
        assert!(parse_duration("0h").is_err());
        assert!(parse_duration("2 hours").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("h").is_err());
    }
}
