//! Vector tiles decoded by an independent decoder (@mapbox/vector-tile +
//! pbf in node, tests/node/decode-mvt.mjs) and checked against brute force.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use geo::{BoundingRect, Coord, Geometry, Intersects, MapCoords, Rect};
use serde_json::Value as Json;
use std::path::Path;
use tuilerie_geo::source::geojson::load_bytes;
use tuilerie_geo::tiling::{lonlat_to_world, render_tile, TileCoord, TileOptions};
use tuilerie_geo::{load, Clustering, Layer, LoadOptions, TileSettings, Value};

fn decode(tiles: &[Vec<u8>]) -> Vec<Json> {
    common::decode_mvt(tiles)
}

/// Shoelace sum of a ring in tile coordinates (y down): > 0 when clockwise on screen.
fn area2(ring: &Json) -> f64 {
    let pts: Vec<(f64, f64)> =
        ring.as_array().unwrap().iter().map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap())).collect();
    let n = pts.len();
    (0..n).map(|i| pts[i].0 * pts[(i + 1) % n].1 - pts[(i + 1) % n].0 * pts[i].1).sum()
}

/// Features whose geometry, in world units, intersects the buffered tile;
/// for polygons, with an intersection of at least one square tile unit
/// (smaller slivers are degenerate and dropped by the specification's rules).
/// A feature's geometry in world (Web Mercator, 0..1) coordinates.
fn world_geometry(layer: &Layer, i: usize) -> Geometry<f64> {
    layer.feature(i).geometry().to_geometry().map_coords(|c| {
        let (x, y) = lonlat_to_world(c.x, c.y);
        Coord { x, y }
    })
}

/// The tile plus `buffer` units of a 4096 extent, in world coordinates.
fn buffered_rect(coord: TileCoord, buffer: f64) -> Rect<f64> {
    let b = coord.world_bounds(buffer / 4096.0);
    Rect::new(Coord { x: b[0], y: b[1] }, Coord { x: b[2], y: b[3] })
}

fn brute_force(layer: &Layer, coord: TileCoord, buffer: f64) -> Vec<usize> {
    use geo::{Area, BooleanOps, Contains};
    let rect = buffered_rect(coord, buffer);
    let rect_mp: geo::MultiPolygon<f64> = rect.to_polygon().into();
    let unit2 = (coord.scale() * 4096.0).powi(-2);
    layer
        .features()
        .filter(|f| {
            let g = world_geometry(layer, f.index());
            if !(g.bounding_rect().is_some_and(|r| r.intersects(&rect)) && g.intersects(&rect)) {
                return false;
            }
            let mp: geo::MultiPolygon<f64> = match &g {
                Geometry::MultiPolygon(m) => m.clone(),
                Geometry::Polygon(p) => p.clone().into(),
                _ => return true,
            };
            if g.bounding_rect().is_some_and(|r| rect.contains(&r)) {
                return true;
            }
            let area = mp.intersection(&rect_mp).unsigned_area() / unit2;
            assert!(!(0.5..2.0).contains(&area), "ambiguous sliver of {area} units² in {coord:?}");
            area >= 1.0
        })
        .map(|f| f.index())
        .collect()
}

/// Checks the invariants every tile must hold; returns the decoded layer.
fn check_layer<'a>(decoded: &'a Json, name: &str) -> &'a Json {
    let l = &decoded["layers"][name];
    assert_eq!(l["version"], 2, "{name}");
    assert_eq!(l["extent"], 4096, "{name}");
    for f in l["features"].as_array().unwrap() {
        let rings = f["rings"].as_array().unwrap();
        assert!(!rings.is_empty(), "empty geometry in {name}: {f}");
        for r in rings {
            let r = r.as_array().unwrap();
            assert!(!r.is_empty());
            for p in r {
                let (x, y) = (p[0].as_i64().unwrap(), p[1].as_i64().unwrap());
                assert!((-64..=4160).contains(&x) && (-64..=4160).contains(&y), "coordinate {x},{y} outside buffer");
            }
        }
        if f["type"] == "Polygon" {
            let first = area2(&rings[0]);
            assert!(first > 0.0, "first ring must be exterior (clockwise): {first}");
            for r in rings {
                assert!(area2(r) != 0.0, "zero-area ring");
                assert!(r.as_array().unwrap().len() >= 4, "ring with fewer than 3 distinct points");
            }
        }
    }
    l
}

/// The layer index of a decoded feature, by its `code` property.
fn expected_index(layer: &Layer, f: &Json) -> i64 {
    let code = f["properties"]["code"].as_str().unwrap();
    (0..layer.len()).find(|&i| layer.feature(i).property("code") == Some(Value::String(code))).unwrap() as i64
}

fn tile_at(lon: f64, lat: f64, z: u8) -> TileCoord {
    let (x, y) = lonlat_to_world(lon, lat);
    let n = (1u32 << z) as f64;
    TileCoord::new(z as u32, (x * n) as u32, (y * n) as u32).unwrap()
}

#[test]
fn commune_polygon_tiles_match_brute_force_counts_properties_and_winding() {
    // Without simplification, so that a feature is in a tile exactly when
    // its clipped area is at least one square unit (simplification, which
    // may drop sub-pixel rings, is checked below).
    let layer = load(
        &common::gironde("communes-33.geojson"),
        LoadOptions { tiles: TileSettings { tolerance: 0.0, ..Default::default() }, ..LoadOptions::default() },
    )
    .unwrap();
    let opts = TileOptions::default();
    let mut coords = vec![tile_at(-0.58, 44.84, 6), tile_at(-0.58, 44.84, 10), tile_at(-0.58, 44.84, 14)];
    // Every z8 tile over Gironde, edges included.
    for x in 126..=128 {
        for y in 91..=93 {
            coords.push(TileCoord::new(8, x, y).unwrap());
        }
    }
    let tiles: Vec<Vec<u8>> =
        coords.iter().map(|&c| render_tile(&[layer.tiles()], c, &opts).unwrap_or_default()).collect();
    let decoded = decode(&tiles);
    let mut total = 0;
    for ((coord, d), bytes) in coords.iter().zip(&decoded).zip(&tiles) {
        let expected = brute_force(&layer, *coord, 64.0);
        if bytes.is_empty() {
            assert!(expected.is_empty(), "{coord:?}: no tile but {} features", expected.len());
            continue;
        }
        let l = check_layer(d, "communes-33");
        let (labels, features): (Vec<&Json>, Vec<&Json>) =
            l["features"].as_array().unwrap().iter().partition(|f| f["properties"]["label_point"] == true);
        assert_eq!(features.len(), expected.len(), "{coord:?}");
        total += features.len();
        // One label point per polygon whose inside point lies in the tile
        // proper (not its buffer), at that point.
        let z2 = f64::from(1u32 << coord.z);
        let mut want: Vec<(i64, Vec<i64>)> = (0..layer.len())
            .filter_map(|i| {
                let c = tuilerie_geo::representative_point(layer.geometry(i))?;
                let (wx, wy) = lonlat_to_world(c.x, c.y);
                let (tx, ty) = ((wx * z2 - coord.x as f64) * 4096.0, (wy * z2 - coord.y as f64) * 4096.0);
                ((0.0..4096.0).contains(&tx) && (0.0..4096.0).contains(&ty))
                    .then(|| (i as i64, vec![tx.floor() as i64, ty.floor() as i64]))
            })
            .collect();
        let mut got: Vec<(i64, Vec<i64>)> = labels
            .iter()
            .map(|f| {
                let p = &f["rings"][0][0];
                let i = expected_index(&layer, f);
                (i, vec![p[0].as_i64().unwrap(), p[1].as_i64().unwrap()])
            })
            .collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "{coord:?}: label points");
        // Properties equal the source's; features come in source order.
        for (f, &i) in features.iter().zip(&expected) {
            let src = layer.feature(i);
            for key in ["code", "nom"] {
                let Some(Value::String(v)) = src.property(key) else { panic!() };
                assert_eq!(f["properties"][key], *v, "{coord:?} feature {i}");
            }
        }
    }
    assert!(total > 600, "{total}");
}

#[test]
fn a_multipolygon_with_a_hole_decodes_as_such() {
    let gj = r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":7,"properties":{"n":-3,"x":1.5,"b":true,"j":{"a":[1]}},
      "geometry":{"type":"MultiPolygon","coordinates":[
        [[[0,0],[40,0],[40,40],[0,40],[0,0]],[[10,10],[10,20],[20,20],[20,10],[10,10]]],
        [[[-60,-10],[-50,-10],[-50,-20],[-60,-20],[-60,-10]]]]}}]}"#;
    let layer = load_bytes(Path::new("mp.geojson"), gj.as_bytes(), LoadOptions::default()).unwrap();
    let tile = render_tile(&[layer.tiles()], TileCoord::new(0, 0, 0).unwrap(), &TileOptions::default()).unwrap();
    let d = &decode(&[tile])[0];
    let l = check_layer(d, "mp");
    let f = &l["features"][0];
    assert_eq!(f["id"], 7);
    assert_eq!(f["type"], "Polygon");
    assert_eq!(f["polygons"], "MultiPolygon");
    let rings = f["rings"].as_array().unwrap();
    assert_eq!(rings.len(), 3);
    let signs: Vec<bool> = rings.iter().map(|r| area2(r) > 0.0).collect();
    assert_eq!(signs, vec![true, false, true], "exterior, hole, exterior");
    assert_eq!(f["properties"], serde_json::json!({"n": -3, "x": 1.5, "b": true, "j": "{\"a\":[1]}"}));
    // Golden: exact coordinates in the z0 tile, computed independently with
    // Python: x = (lon/360 + 0.5)·4096, y = (0.5 − ln tan(π/4 + φ/2)/2π)·4096:
    // lon 0, 10, 20, 40, −60, −50 → 2048, 2162, 2276, 2503, 1365, 1479;
    // lat 0, 10, 20, 40, −10, −20 → 2048, 1934, 1816, 1551, 2162, 2280.
    // The source rings are counter-clockwise on screen, so the exterior is
    // reversed and the (clockwise) hole too.
    assert_eq!(rings[0], serde_json::json!([[2048, 1551], [2503, 1551], [2503, 2048], [2048, 2048], [2048, 1551]]));
    assert_eq!(rings[1], serde_json::json!([[2276, 1934], [2276, 1816], [2162, 1816], [2162, 1934], [2276, 1934]]));
    assert_eq!(rings[2], serde_json::json!([[1365, 2162], [1479, 2162], [1479, 2280], [1365, 2280], [1365, 2162]]));
}

#[test]
fn point_tiles_match_brute_force_without_clustering_and_keep_every_point_with_it() {
    let path = common::gironde("decheteries-6element.geojson");
    // Recycling centres take a standard list (layer defaults, as in the config).
    let waste =
        tuilerie_geo::waste::WasteOptions { accepts: vec!["gravats".into(), "piles".into()], ..Default::default() };
    let plain = load(
        &path,
        LoadOptions {
            tiles: TileSettings { clustering: Clustering::Off, ..Default::default() },
            profile: tuilerie_geo::ProfileOptions::Waste(waste),
            ..Default::default()
        },
    )
    .unwrap();
    let opts = TileOptions::default();
    let coords =
        [tile_at(-0.58, 44.84, 8), tile_at(-0.58, 44.84, 10), tile_at(-0.41, 43.34, 9), tile_at(-0.41, 43.34, 12)];
    let tiles: Vec<Vec<u8>> =
        coords.iter().map(|&c| render_tile(&[plain.tiles()], c, &opts).unwrap_or_default()).collect();
    let decoded = decode(&tiles);
    for ((c, d), t) in coords.iter().zip(&decoded).zip(&tiles) {
        let expected = brute_force(&plain, *c, 64.0);
        if t.is_empty() {
            assert!(expected.is_empty());
            continue;
        }
        let l = check_layer(d, "decheteries-6element");
        assert_eq!(l["length"].as_u64().unwrap() as usize, expected.len(), "{c:?}");
        for (f, &i) in l["features"].as_array().unwrap().iter().zip(&expected) {
            assert_eq!(f["type"], "Point");
            assert_eq!(f["id"].as_i64().unwrap(), i as i64 + 1, "ids from the file");
            let Some(Value::String(name)) = plain.feature(i).property("name") else { panic!() };
            assert_eq!(f["properties"]["name"], *name);
            // Waste categories for styling: the first in taxonomy order, and all.
            let ids = tuilerie_geo::waste::mask_ids(plain.profile().mask(i), tuilerie_geo::waste::Taxonomy::builtin());
            assert_eq!(ids, ["batteries", "rubble"]);
            assert_eq!(f["properties"]["waste_category"], ids[0]);
            assert_eq!(f["properties"]["waste_categories"], ids.join(","));
        }
    }
    // Clustered: at z0 the point counts add up to all 44 points.
    let clustered = load(&path, LoadOptions::default()).unwrap();
    let t = render_tile(&[clustered.tiles()], TileCoord::new(0, 0, 0).unwrap(), &opts).unwrap();
    let d = &decode(&[t])[0];
    let l = check_layer(d, "decheteries-6element");
    let total: u64 = l["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| if f["properties"]["cluster"] == true { f["properties"]["point_count"].as_u64().unwrap() } else { 1 })
        .sum();
    assert_eq!(total, 44);
    assert!(l["length"].as_u64().unwrap() < 44);
}

fn synthetic_points(n: usize) -> String {
    tuilerie_geo::testdata::synthetic_points(n, 2026, false)
}

#[test]
fn a_million_points_give_small_clustered_low_zoom_tiles_and_exact_high_zoom_tiles() {
    let text = synthetic_points(1_000_000);
    let layer = load_bytes(Path::new("million.geojson"), text.as_bytes(), LoadOptions::default()).unwrap();
    drop(text);
    let opts = TileOptions::default();
    let z5 = tile_at(-0.58, 44.84, 5);
    let t5 = render_tile(&[layer.tiles()], z5, &opts).unwrap();
    assert!(t5.len() < 100_000, "z5 tile is {} bytes", t5.len());
    let z14 = tile_at(-0.58, 44.84, 14);
    let t14 = render_tile(&[layer.tiles()], z14, &opts).unwrap();
    let decoded = decode(&[t5, t14]);
    let l5 = check_layer(&decoded[0], "million");
    let f = l5["features"].as_array().unwrap().iter().find(|f| f["properties"]["cluster"] == true).unwrap();
    let count = f["properties"]["point_count"].as_u64().unwrap();
    let per_cat: u64 = ["glass", "paper", "batteries", "textiles"]
        .iter()
        .map(|c| f["properties"][format!("count_{c}")].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(per_cat, count, "one category per point: counts add up");
    let l14 = check_layer(&decoded[1], "million");
    assert_eq!(l14["length"].as_u64().unwrap() as usize, brute_force(&layer, z14, 64.0).len());
}

#[test]
fn tiles_stay_under_the_byte_budget() {
    let text = synthetic_points(200_000);
    let layer = load_bytes(
        Path::new("dense.geojson"),
        text.as_bytes(),
        LoadOptions { tiles: TileSettings { clustering: Clustering::Off, ..Default::default() }, ..Default::default() },
    )
    .unwrap();
    let opts = TileOptions { max_bytes: 50_000, ..Default::default() };
    let t = render_tile(&[layer.tiles()], tile_at(-0.58, 44.84, 6), &opts).unwrap();
    assert!(t.len() <= 50_000, "{}", t.len());
    let d = &decode(&[t])[0];
    let n = check_layer(d, "dense")["length"].as_u64().unwrap();
    assert!(n > 1000, "thinned, not emptied: {n}");
}

/// Distance from `p` to the segment `a`–`b`.
fn segment_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 { 0.0 } else { (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0) };
    (p.0 - a.0 - t * dx).hypot(p.1 - a.1 - t * dy)
}

#[test]
fn simplification_keeps_every_source_vertex_within_the_tolerance() {
    let path = common::gironde("communes-33.geojson");
    for z in [6, 8] {
        check_simplification(&path, tile_at(-0.58, 44.84, z));
    }
}

fn check_simplification(path: &Path, coord: TileCoord) {
    let n = (1u32 << coord.z) as f64;
    let opts = TileOptions::default();
    // (tolerance in pixels of a 512-pixel tile, its value in tile units)
    let cases = [(0.0, 0.0), (tuilerie_geo::DEFAULT_TOLERANCE, 3.0), (2.0, 16.0)];
    let mut vertex_counts = Vec::new();
    let mut dropped_areas = Vec::new();
    for (tolerance, units) in cases {
        let layer = load(
            path,
            LoadOptions { tiles: TileSettings { tolerance, ..Default::default() }, ..LoadOptions::default() },
        )
        .unwrap();
        let tile = render_tile(&[layer.tiles()], coord, &opts).unwrap();
        let decoded = decode(&[tile]);
        let features: Vec<Json> = check_layer(&decoded[0], "communes-33")["features"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["properties"]["label_point"] != true)
            .cloned()
            .collect();
        vertex_counts.push(
            features
                .iter()
                .flat_map(|f| f["rings"].as_array().unwrap())
                .map(|r| r.as_array().unwrap().len())
                .sum::<usize>(),
        );
        let mut worst: f64 = 0.0;
        let mut checked = 0;
        let mut beyond = 0;
        for f in &features {
            let code = f["properties"]["code"].as_str().unwrap();
            let i = (0..layer.len()).find(|&i| layer.feature(i).property("code") == Some(Value::String(code))).unwrap();
            let tuilerie_geo::FeatureGeometry::Other(g) = layer.feature(i).geometry() else {
                panic!("polygon expected")
            };
            let rings: Vec<Vec<(f64, f64)>> = f["rings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    r.as_array().unwrap().iter().map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap())).collect()
                })
                .collect();
            let polygons: Vec<&geo::Polygon> = match &**g {
                Geometry::Polygon(p) => vec![p],
                Geometry::MultiPolygon(m) => m.0.iter().collect(),
                other => panic!("polygon expected, got {other:?}"),
            };
            let to_tile = |c: Coord| {
                let (wx, wy) = lonlat_to_world(c.x, c.y);
                ((wx * n - coord.x as f64) * 4096.0, (wy * n - coord.y as f64) * 4096.0)
            };
            for ring in polygons.iter().flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors())) {
                // Rings that simplify to almost nothing are dropped (as
                // geojson-vt does); check those clearly larger than that.
                // (Mercator keeps axes, so the box's corners map to the
                // projected ring's box.)
                let Some(bbox) = ring.bounding_rect() else { continue };
                let (lo, hi) = (to_tile(bbox.min()), to_tile(bbox.max()));
                if (hi.0 - lo.0).abs().max((hi.1 - lo.1).abs()) < 8.0 * units + 16.0 {
                    continue;
                }
                for p in ring.0.iter().map(|&c| to_tile(c)) {
                    // Inside the tile, away from the clip edges.
                    if p.0 > 8.0 && p.0 < 4088.0 && p.1 > 8.0 && p.1 < 4088.0 {
                        let d = rings
                            .iter()
                            .flat_map(|r| {
                                r.windows(2).map(|w| segment_distance(p, w[0], w[1])).chain([segment_distance(
                                    p,
                                    r[r.len() - 1],
                                    r[0],
                                )])
                            })
                            .fold(f64::INFINITY, f64::min);
                        worst = worst.max(d);
                        checked += 1;
                        beyond += usize::from(d > units + 0.75);
                    }
                }
            }
        }
        assert!(checked > 1000, "{checked} vertices checked");
        dropped_areas.push(sub_pixel_drops(&layer, &features, coord));
        // Douglas–Peucker bound plus rounding to the integer grid; beyond
        // it only the rare loops of under one square unit that rounding
        // made a ring cross itself with, which the validity repair drops
        // (tiling/valid.rs): a few vertices, within a unit and a half.
        assert!(
            worst <= units + 1.5 && beyond * 1000 <= checked,
            "tolerance {tolerance}: a source vertex is {worst:.2} units from the tile's rings, \
             {beyond} of {checked} beyond {:.2}",
            units + 0.75
        );
        assert!(worst > units * 0.5, "tolerance {tolerance}: worst {worst:.2}, simplification looks off");
    }
    assert!(vertex_counts[0] > vertex_counts[1] && vertex_counts[1] > vertex_counts[2], "{vertex_counts:?}");
    // Without simplification nothing in the tile is dropped; with the
    // default, only features whose part in the tile is under a pixel (64
    // square units of a 4096 extent for a 512-pixel tile), like geojson-vt's
    // tiny rings. (A coarser tolerance drops larger ones: the user's choice.)
    assert!(dropped_areas[0].is_empty(), "{coord:?}: {:?}", dropped_areas[0]);
    assert!(dropped_areas[1].iter().all(|&a| a < 64.0), "{coord:?}: {:?}", dropped_areas[1]);
}

/// Areas, in square tile units, of the features brute force puts in the
/// tile that are not among `features`.
fn sub_pixel_drops(layer: &Layer, features: &[Json], coord: TileCoord) -> Vec<f64> {
    use geo::Area;
    let unit2 = (coord.scale() * 4096.0).powi(-2);
    let present: std::collections::HashSet<&str> =
        features.iter().map(|f| f["properties"]["code"].as_str().unwrap()).collect();
    brute_force(layer, coord, 64.0)
        .into_iter()
        .filter(|&i| !matches!(layer.feature(i).property("code"), Some(Value::String(c)) if present.contains(c)))
        .map(|i| {
            let mp: geo::MultiPolygon<f64> = match world_geometry(layer, i) {
                Geometry::MultiPolygon(m) => m,
                Geometry::Polygon(p) => p.into(),
                other => panic!("polygon expected, got {other:?}"),
            };
            // The part inside the tile and its buffer.
            let rect: geo::MultiPolygon<f64> = buffered_rect(coord, 64.0).to_polygon().into();
            geo::BooleanOps::intersection(&mp, &rect).unsigned_area() / unit2
        })
        .collect()
}

#[test]
fn a_tile_cut_after_others_on_a_thread_equals_one_cut_on_a_fresh_thread() {
    // Each thread reuses its cutting buffers from one tile to the next:
    // nothing of a tile may leak into the following one.
    let layer = load(&common::gironde("communes-33.geojson"), LoadOptions::default()).unwrap();
    let opts = TileOptions::default();
    let coords: Vec<TileCoord> = [(0.0, 0.0, 0), (-0.58, 44.84, 10), (-1.2, 44.6, 9), (-0.58, 44.84, 14)]
        .into_iter()
        .map(|(lon, lat, z)| tile_at(lon, lat, z))
        .chain((126..=128).map(|x| TileCoord::new(8, x, 92).unwrap()))
        .collect();
    let fresh: Vec<Vec<u8>> = coords
        .iter()
        .map(|&c| {
            let layer = &layer;
            std::thread::scope(|s| s.spawn(move || render_tile(&[layer.tiles()], c, &opts)).join().unwrap())
                .unwrap_or_default()
        })
        .collect();
    assert!(fresh.iter().filter(|t| !t.is_empty()).count() >= 5, "most tiles hold communes");
    // The same tiles on this thread, forwards then backwards (a large tile
    // before a small one and the reverse).
    for order in [coords.clone(), coords.iter().rev().copied().collect()] {
        for c in order {
            let i = coords.iter().position(|&k| k == c).unwrap();
            assert_eq!(render_tile(&[layer.tiles()], c, &opts).unwrap_or_default(), fresh[i], "tile {c:?}");
        }
    }
}
