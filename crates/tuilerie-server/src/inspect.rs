//! `tuilerie inspect FILE...`: what tuilerie reads in a file, for people
//! checking their data before serving it.

use std::fmt::Write;
use tuilerie_geo::{Layer, LayerMeta};

/// A human-readable report of a loaded layer.
pub fn report(layer: &Layer) -> String {
    let m = layer.meta();
    let mut s = String::new();
    let _ = writeln!(s, "{}", m.source.path.display());
    let _ = writeln!(s, "  layer id    {}", m.id);
    let _ = writeln!(s, "  format      {}", m.source.format);
    let _ = writeln!(s, "  CRS         {} (from {})", m.source.crs, m.source.crs_origin);
    if let Some(e) = &m.source.encoding {
        let _ = writeln!(s, "  encoding    {e}");
    }
    let _ = writeln!(s, "  features    {}", m.feature_count);
    let kinds: Vec<&str> = m.geometry_kinds.iter().map(|k| k.name()).collect();
    let _ = writeln!(s, "  geometry    {}", if kinds.is_empty() { "none".into() } else { kinds.join(", ") });
    match m.bounds {
        Some([w, so, e, n]) => {
            let _ = writeln!(s, "  bounds      {w:.6}, {so:.6}, {e:.6}, {n:.6} (WGS84 west, south, east, north)");
        }
        None => {
            let _ = writeln!(s, "  bounds      none (no feature)");
        }
    }
    let _ = writeln!(s, "  fields      {}", m.fields.len());
    for f in &m.fields {
        let _ = writeln!(
            s,
            "    {:<20} {:<7} {:>8} values  e.g. {}",
            f.name,
            format!("{:?}", f.field_type).to_lowercase(),
            f.count,
            f.samples.join(", ")
        );
    }
    if let Some(hours) = layer.profile().schedules() {
        let tz = hours.timezone();
        let _ = writeln!(s, "  opening_hours {} unparsable value(s), evaluated in {tz}", hours.invalid);
        for (i, v, e) in hours.invalid_examples.iter().take(5) {
            let _ = writeln!(s, "    feature {i}: {v:?}: {e}");
        }
    }
    if let Some(clusters) = layer.tile_prep().clusters() {
        let _ = writeln!(s, "  clusters    up to zoom {}", clusters.options().map_or(0, |o| o.max_zoom));
    }
    skipped(&mut s, m);
    let _ = writeln!(s, "  load time   {:.1} ms", m.load_time.as_secs_f64() * 1000.0);
    s
}

fn skipped(s: &mut String, m: &LayerMeta) {
    let total = m.skipped.total();
    let _ = writeln!(s, "  skipped     {total}");
    for (reason, n) in &m.skipped.counts {
        let _ = writeln!(s, "    {n:>8} {}", reason.describe());
    }
    for ex in m.skipped.examples.iter().take(5) {
        let _ = writeln!(s, "    feature {}: {}", ex.index, ex.detail);
    }
}

/// The same report as JSON.
pub fn report_json(layer: &Layer) -> serde_json::Value {
    let m = layer.meta();
    let mut v = serde_json::to_value(m).unwrap_or_default();
    v["load_time_ms"] = serde_json::json!(m.load_time.as_secs_f64() * 1000.0);
    // Serving options and domain counts, beside what the load found.
    let tiles = layer.tile_prep().settings();
    v["minzoom"] = serde_json::json!(tiles.minzoom);
    v["maxzoom"] = serde_json::json!(tiles.maxzoom);
    v["tolerance"] = serde_json::json!(tiles.tolerance);
    let profile = layer.profile();
    v["timezone"] = serde_json::json!(profile.timezone().map(|tz| tz.name()));
    let hours = profile.schedules();
    v["invalid_opening_hours"] = serde_json::json!(hours.map_or(0, |h| h.invalid));
    v["invalid_opening_hours_examples"] =
        serde_json::json!(hours.map(|h| h.invalid_examples.clone()).unwrap_or_default());
    v["waste_features"] = serde_json::json!(profile.classified_features());
    v
}
