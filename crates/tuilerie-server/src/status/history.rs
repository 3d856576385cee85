//! Summaries of a feature's observation history: fixed-interval buckets
//! (min, mean, max, count per kind and category) and the busy-hours
//! profile (mean crowd level per hour of the week, local time).

use crate::store::ObservationRecord;
use chrono::{Datelike, TimeZone, Timelike};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Running min / mean / max of values.
#[derive(Default)]
struct Stats {
    n: u64,
    sum: f64,
    min: f64,
    max: f64,
    /// Observations in the bucket (with a level or not).
    count: u64,
    states: BTreeMap<String, u64>,
}

impl Stats {
    fn add(&mut self, r: &ObservationRecord) {
        self.count += 1;
        if let Some(s) = &r.state {
            *self.states.entry(s.clone()).or_default() += 1;
        }
        if let Some(v) = r.value {
            if self.n == 0 {
                (self.min, self.max) = (v, v);
            }
            self.n += 1;
            self.sum += v;
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
    }
}

/// Buckets of `interval_ms` aligned on the Unix epoch (UTC), newest first,
/// one per (bucket, kind, category) with observations.
pub fn buckets(rows: &[ObservationRecord], interval_ms: i64) -> Vec<Value> {
    let mut by: BTreeMap<(i64, &str, &str), Stats> = BTreeMap::new();
    for r in rows {
        let start = r.observed_at.div_euclid(interval_ms) * interval_ms;
        by.entry((start, &r.kind, &r.category)).or_default().add(r);
    }
    by.into_iter()
        .rev()
        .map(|((start, kind, category), s)| {
            let mut v = json!({
                "start": super::rfc3339(start),
                "end": super::rfc3339(start + interval_ms),
                "kind": kind,
                "category": if category.is_empty() { Value::Null } else { json!(category) },
                "count": s.count,
            });
            if s.n > 0 {
                v["min"] = json!(s.min);
                v["mean"] = json!(s.sum / s.n as f64);
                v["max"] = json!(s.max);
            }
            if !s.states.is_empty() {
                v["states"] = json!(s.states);
            }
            v
        })
        .collect()
}

/// Mean crowd level per hour of the week in `tz` (days Monday first, hours
/// 0 to 23), with the number of observations behind each mean; hours
/// without observations are `null`.
pub fn busy_hours(rows: &[ObservationRecord], tz: chrono_tz::Tz) -> Value {
    let mut sum = [[0.0f64; 24]; 7];
    let mut n = [[0u64; 24]; 7];
    for r in rows.iter().filter(|r| r.kind == "crowd") {
        let (Some(v), Some(t)) = (r.value, tz.timestamp_millis_opt(r.observed_at).single()) else { continue };
        let (d, h) = (t.weekday().num_days_from_monday() as usize, t.hour() as usize);
        sum[d][h] += v;
        n[d][h] += 1;
    }
    let days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    let profile: Vec<Value> = (0..7)
        .map(|d| {
            json!({
                "day": days[d],
                "mean": (0..24).map(|h| if n[d][h] > 0 { json!(sum[d][h] / n[d][h] as f64) } else { Value::Null }).collect::<Vec<_>>(),
                "count": n[d],
            })
        })
        .collect();
    json!({"timezone": tz.name(), "days": profile, "observations": n.iter().flatten().sum::<u64>()})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crowd(at: &str, v: f64) -> ObservationRecord {
        ObservationRecord {
            seq: 0,
            layer: "l".into(),
            feature: "f".into(),
            kind: "crowd".into(),
            category: String::new(),
            source: "s".into(),
            observed_at: chrono::DateTime::parse_from_rfc3339(at).unwrap().timestamp_millis(),
            value: Some(v),
            count: None,
            state: None,
            until: None,
            token: "t".into(),
            received: 0,
        }
    }

    #[test]
    fn buckets_and_busy_hours_add_up() {
        let rows = [
            crowd("2026-11-30T09:10:00Z", 0.2),
            crowd("2026-11-30T09:50:00Z", 0.6),
            crowd("2026-11-30T10:05:00Z", 1.0),
        ];
        let b = buckets(&rows, 3_600_000);
        assert_eq!(b.len(), 2);
        assert_eq!(b[1]["start"], "2026-11-30T09:00:00.000Z");
        assert_eq!(
            (b[1]["count"].as_u64(), b[1]["min"].as_f64(), b[1]["max"].as_f64()),
            (Some(2), Some(0.2), Some(0.6))
        );
        assert!((b[1]["mean"].as_f64().unwrap() - 0.4).abs() < 1e-12);
        // 2026-11-30 is a Monday; 09:10 UTC is 10:10 in Paris (UTC+1).
        let p = busy_hours(&rows, chrono_tz::Europe::Paris);
        assert_eq!(p["days"][0]["day"], "monday");
        assert!((p["days"][0]["mean"][10].as_f64().unwrap() - 0.4).abs() < 1e-12);
        assert_eq!(p["days"][0]["count"][11], 1);
        assert_eq!(p["days"][1]["mean"][10], Value::Null);
        assert_eq!(p["observations"], 3);
    }
}
