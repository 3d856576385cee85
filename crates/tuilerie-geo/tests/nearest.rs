//! `nearest` against an independent brute force: every feature ranked by
//! exact geodesic distance (candidates preselected by great-circle angle on
//! the unit sphere, with a 2% margin for the ellipsoid), filters applied.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use chrono::{DateTime, Utc};
use geo::{Distance, Geodesic, Point};
use std::path::Path;
use tuilerie_geo::hours::OpenState;
use tuilerie_geo::query::{nearest, NearestQuery};
use tuilerie_geo::source::geojson::load_bytes;
use tuilerie_geo::waste::{CategoryMask, Taxonomy};
use tuilerie_geo::{load, FeatureGeometry, Layer, LoadOptions, Value};

fn unit(lon: f64, lat: f64) -> [f64; 3] {
    let (so, co) = lon.to_radians().sin_cos();
    let (sa, ca) = lat.to_radians().sin_cos();
    [ca * co, ca * so, sa]
}

struct Brute {
    units: Vec<[f64; 3]>,
    coords: Vec<(f64, f64)>,
    /// `recycling_type` of each feature.
    types: Vec<Option<String>>,
    /// Open states per evaluated time, computed once per time.
    open: std::cell::RefCell<std::collections::HashMap<DateTime<Utc>, Vec<bool>>>,
}

impl Brute {
    fn new(layer: &Layer) -> Self {
        let coords: Vec<(f64, f64)> = layer
            .features()
            .map(|f| match f.geometry() {
                FeatureGeometry::Point(c) => (c.x, c.y),
                _ => panic!("points only"),
            })
            .collect();
        let types = layer
            .features()
            .map(|f| match f.property("recycling_type") {
                Some(Value::String(s)) => Some(s.to_string()),
                _ => None,
            })
            .collect();
        Brute { units: coords.iter().map(|&(x, y)| unit(x, y)).collect(), coords, types, open: Default::default() }
    }

    /// Expected (feature, distance) list.
    fn query(&self, layer: &Layer, q: &NearestQuery) -> Vec<(usize, f64)> {
        let u = unit(q.lon, q.lat);
        if let Some(at) = q.open_at {
            self.open.borrow_mut().entry(at).or_insert_with(|| {
                (0..self.units.len())
                    .map(|i| layer.profile().schedules().is_some_and(|s| s.state(i, at) == OpenState::Open))
                    .collect()
            });
        }
        let open = self.open.borrow();
        let open_now = q.open_at.map(|at| &open[&at]);
        let ok = |i: usize| {
            (q.accepts == 0 || layer.profile().mask(i) & q.accepts == q.accepts)
                && q.facility_type.as_ref().is_none_or(|t| self.types[i].as_deref() == Some(t.as_str()))
                && open_now.is_none_or(|o| o[i])
        };
        // Great-circle angles of the passing features; keep those within 2%
        // of the k-th smallest (and of max_distance), then rank exactly.
        let mut angles: Vec<(f64, usize)> = (0..self.units.len())
            .filter(|&i| ok(i))
            .map(|i| {
                let v = self.units[i];
                let dot = (u[0] * v[0] + u[1] * v[1] + u[2] * v[2]).clamp(-1.0, 1.0);
                (dot.acos(), i)
            })
            .collect();
        if angles.is_empty() {
            return Vec::new();
        }
        let kth = if angles.len() > q.k {
            angles.select_nth_unstable_by(q.k - 1, |a, b| a.0.total_cmp(&b.0));
            angles[q.k - 1].0
        } else {
            angles.iter().map(|a| a.0).fold(0.0, f64::max)
        };
        let mut limit = kth * 1.02 + 1e-9;
        if let Some(m) = q.max_distance {
            limit = limit.min(m / 6_300_000.0 + 1e-9);
        }
        let mut exact: Vec<(usize, f64)> = angles
            .iter()
            .filter(|a| a.0 <= limit)
            .map(|&(_, i)| {
                (i, Geodesic.distance(Point::new(q.lon, q.lat), Point::new(self.coords[i].0, self.coords[i].1)))
            })
            .filter(|&(_, d)| q.max_distance.is_none_or(|m| d <= m))
            .collect();
        exact.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        exact.truncate(q.k);
        exact
    }
}

fn mask(words: &[&str]) -> CategoryMask {
    let t = Taxonomy::builtin();
    words.iter().fold(0, |m, w| m | (1 << t.index_of(w).unwrap().0))
}

fn query(lon: f64, lat: f64, k: usize) -> NearestQuery {
    NearestQuery {
        lon,
        lat,
        k,
        accepts: 0,
        open_at: None,
        at: "2026-11-28T10:00:00Z".parse::<DateTime<Utc>>().unwrap(),
        max_distance: None,
        facility_type: None,
    }
}

fn check(layer: &Layer, brute: &Brute, q: &NearestQuery) {
    let got = nearest(&[layer], q);
    let want = brute.query(layer, q);
    let got_pairs: Vec<(usize, f64)> = got.iter().map(|h| (h.feature, h.distance_m)).collect();
    assert_eq!(got_pairs.len(), want.len(), "{q:?}");
    for (g, w) in got_pairs.iter().zip(&want) {
        assert_eq!(g.0, w.0, "{q:?}\n got {got_pairs:?}\nwant {want:?}");
        assert!((g.1 - w.1).abs() < 1e-3, "distance {} vs {}", g.1, w.1);
    }
}

fn random_queries(layer: &Layer, brute: &Brute, n: usize, seed: u64, bounds: [f64; 4]) {
    let mut r = common::Lcg(seed);
    let open_at: DateTime<Utc> = "2026-11-30T09:30:00Z".parse().unwrap(); // a Monday
    for i in 0..n {
        let lon = bounds[0] + r.next() * (bounds[2] - bounds[0]);
        let lat = bounds[1] + r.next() * (bounds[3] - bounds[1]);
        let mut q = query(lon, lat, 1 + (i % 7));
        match i % 5 {
            0 => {}
            1 => q.accepts = mask(&["glass"]),
            2 => q.open_at = Some(open_at),
            3 => q.max_distance = Some(2_000.0 + r.next() * 30_000.0),
            _ => {
                q.accepts = mask(&["batteries"]);
                q.open_at = Some(open_at);
                q.max_distance = Some(50_000.0);
            }
        }
        check(layer, brute, &q);
    }
}

#[test]
fn nearest_decheteries_match_brute_force_for_1000_random_points() {
    let layer = load(&common::gironde("decheteries-6element.geojson"), LoadOptions::default()).unwrap();
    let brute = Brute::new(&layer);
    let mut r = common::Lcg(44);
    for i in 0..1000 {
        let q = query(-1.5 + r.next() * 2.5, 43.0 + r.next() * 2.8, 1 + i % 10);
        check(&layer, &brute, &q);
        let mut q = q;
        q.max_distance = Some(r.next() * 40_000.0);
        check(&layer, &brute, &q);
    }
}

#[test]
fn nearest_over_a_million_points_matches_brute_force_with_filters() {
    let text = common::synthetic_points(1_000_000, 99);
    let layer = load_bytes(Path::new("million.geojson"), text.as_bytes(), LoadOptions::default()).unwrap();
    drop(text);
    let brute = Brute::new(&layer);
    random_queries(&layer, &brute, 1000, 7, [-1.6, 42.5, 6.5, 49.5]);
    // The open filter excludes unparsable values and closed facilities.
    let mut q = query(-0.58, 44.84, 20);
    q.open_at = Some("2026-11-29T10:00:00Z".parse().unwrap()); // Sunday: only 24/7
    for h in nearest(&[&layer], &q) {
        assert_eq!(layer.feature(h.feature).property("opening_hours"), Some(Value::String("24/7")));
        assert_eq!(h.open, OpenState::Open);
    }
    let mut q = query(-0.58, 44.84, 5);
    q.facility_type = Some("centre".into());
    let hits = nearest(&[&layer], &q);
    assert_eq!(hits.len(), 5);
    check(&layer, &brute, &q);
}

fn points_layer(coords: &[(f64, f64)]) -> Layer {
    let feats: Vec<String> = coords
        .iter()
        .map(|(x, y)| format!("{{\"type\":\"Feature\",\"properties\":{{}},\"geometry\":{{\"type\":\"Point\",\"coordinates\":[{x},{y}]}}}}"))
        .collect();
    let text = format!("{{\"type\":\"FeatureCollection\",\"features\":[{}]}}", feats.join(","));
    load_bytes(Path::new("edge.geojson"), text.as_bytes(), LoadOptions::default()).unwrap()
}

#[test]
fn nearest_is_right_across_the_antimeridian_and_near_the_poles() {
    let mut r = common::Lcg(180);
    let mut pts = Vec::new();
    for _ in 0..3000 {
        pts.push((if r.next() < 0.5 { 179.0 + r.next() } else { -180.0 + r.next() }, -20.0 + r.next() * 40.0));
        pts.push((-180.0 + r.next() * 360.0, 85.0 + r.next() * 5.0));
        pts.push((-180.0 + r.next() * 360.0, -90.0 + r.next() * 4.0));
    }
    let layer = points_layer(&pts);
    let brute = Brute::new(&layer);
    // Just east of the antimeridian, the nearest points are just west of it.
    let hits = nearest(&[&layer], &query(-179.999, 0.0, 3));
    assert!(hits
        .iter()
        .any(|h| matches!(layer.feature(h.feature).geometry(), FeatureGeometry::Point(c) if c.x > 179.0)));
    for i in 0..600 {
        let q = match i % 3 {
            0 => query(
                if r.next() < 0.5 { 179.5 + r.next() * 0.5 } else { -180.0 + r.next() * 0.5 },
                -20.0 + r.next() * 40.0,
                5,
            ),
            1 => query(-180.0 + r.next() * 360.0, 88.0 + r.next() * 2.0, 5),
            _ => query(-180.0 + r.next() * 360.0, -90.0 + r.next() * 2.0, 5),
        };
        check(&layer, &brute, &q);
    }
}

#[test]
fn a_polygon_facility_is_at_zero_inside_and_measured_to_its_boundary_outside() {
    let gj = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[-0.6,44.8],[-0.5,44.8],[-0.5,44.9],[-0.6,44.9],[-0.6,44.8]]]}},
      {"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[-0.45,44.85]}}]}"#;
    let layer = load_bytes(Path::new("poly.geojson"), gj.as_bytes(), LoadOptions::default()).unwrap();
    let hits = nearest(&[&layer], &query(-0.55, 44.85, 2));
    assert_eq!(hits[0].feature, 0);
    assert_eq!(hits[0].distance_m, 0.0);
    // East of the square: distance to its east edge (same latitude), not to its centre.
    let hits = nearest(&[&layer], &query(-0.48, 44.85, 1));
    let expected = Geodesic.distance(Point::new(-0.48, 44.85), Point::new(-0.5, 44.85));
    assert_eq!(hits[0].feature, 0, "{hits:?}");
    assert!((hits[0].distance_m - expected).abs() < 0.5, "{} vs {expected}", hits[0].distance_m);
    assert!((hits[0].bearing_deg - 270.0).abs() < 0.5, "{}", hits[0].bearing_deg);
}
