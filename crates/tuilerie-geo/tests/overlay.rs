//! An edited point layer laid over its file's parts (`edit::overlay`)
//! answers as the layer built again in full under the same edits
//! (`edit::rebuild`, the reference): features, items, nearest, point tiles
//! (decoded by the JavaScript reference decoder), cluster counts.
#![allow(clippy::unwrap_used)]

mod common;

use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use tuilerie_geo::edit::{overlay, rebuild, Edit, EditedFeature};
use tuilerie_geo::query::{items, nearest, ItemsQuery, NearestQuery};
use tuilerie_geo::testdata::lcg;
use tuilerie_geo::tiling::{lonlat_to_world, render_tile, TileCoord, TileOptions};
use tuilerie_geo::{load, Layer, LoadOptions};

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/points-collecte-synthetiques.geojson")
}

/// Random edits of `base`: moves and property changes of file features,
/// deletions, and created features (some close together, some alone).
fn random_edits(base: &Layer, seed: u64, count: usize, first_seq: i64) -> Vec<(String, Edit)> {
    let mut s = seed;
    let mut out = Vec::new();
    let kinds = ["recycling:glass_bottles", "recycling:paper", "recycling:batteries"];
    for k in 0..count {
        let seq = first_seq + k as i64;
        let r = lcg(&mut s);
        let i = (lcg(&mut s) * base.len() as f64) as usize;
        let f = base.feature(i);
        let point = |lon: f64, lat: f64, name: &str, kind: &str| {
            let mut props = serde_json::Map::new();
            props.insert("name".into(), json!(name));
            props.insert("amenity".into(), json!("recycling"));
            props.insert(kind.into(), json!("yes"));
            Arc::new(
                EditedFeature::parse(&json!({"type": "Feature", "properties": props,
                    "geometry": {"type": "Point", "coordinates": [lon, lat]}}))
                .unwrap(),
            )
        };
        let kind = kinds[k % kinds.len()];
        if r < 0.4 {
            let c = tuilerie_geo::representative_point(f.geometry()).unwrap();
            let (dx, dy) = ((lcg(&mut s) - 0.5) * 0.02, (lcg(&mut s) - 0.5) * 0.02);
            let feature = point(c.x + dx, c.y + dy, &format!("déplacé {k}"), kind);
            out.push((f.id().to_string(), Edit { created: false, seq, feature: Some(feature) }));
        } else if r < 0.6 {
            out.push((f.id().to_string(), Edit { created: false, seq, feature: None }));
        } else {
            let (lon, lat) = if r < 0.8 {
                let c = tuilerie_geo::representative_point(f.geometry()).unwrap();
                (c.x + 1e-4, c.y)
            } else {
                (-1.5 + lcg(&mut s) * 2.0, 44.2 + lcg(&mut s) * 1.2)
            };
            let feature = point(lon, lat, &format!("nouveau {k}"), kind);
            out.push((format!("new-{seq}"), Edit { created: true, seq, feature: Some(feature) }));
        }
    }
    out
}

/// The final state of each id (later edits of an id replace earlier ones).
fn by_id(edits: &[(String, Edit)]) -> HashMap<String, Edit> {
    edits.iter().map(|(k, e)| (k.clone(), e.clone())).collect()
}

fn overlaid(base: &Layer, edits: &HashMap<String, Edit>) -> Layer {
    let list: Vec<(&str, &Edit)> = edits.iter().map(|(k, e)| (k.as_str(), e)).collect();
    let o = overlay(base, LoadOptions::default(), &list).unwrap().expect("a point layer takes an overlay");
    o.layer
}

/// Every feature by id: geometry and sorted properties.
fn content(l: &Layer) -> BTreeMap<String, (String, Vec<(String, String)>)> {
    l.features()
        .map(|f| {
            let mut p: Vec<(String, String)> =
                f.properties().map(|(k, v)| (k.to_string(), v.to_json().to_string())).collect();
            p.sort();
            (f.id().to_string(), (format!("{:?}", f.geometry()), p))
        })
        .collect()
}

fn ids(l: &Layer, indices: impl IntoIterator<Item = usize>) -> Vec<String> {
    let mut v: Vec<String> = indices.into_iter().map(|i| l.feature(i).id().to_string()).collect();
    v.sort();
    v
}

/// Points and clusters of every zoom: total count and per-category counts.
fn cluster_totals(l: &Layer) -> Vec<(u64, BTreeMap<u8, u64>)> {
    let view = l.clusters().unwrap();
    (0..=12u8)
        .map(|z| {
            let mut total = 0u64;
            let mut cats: BTreeMap<u8, u64> = BTreeMap::new();
            view.for_each_in(z, [0.0, 0.0, 1.0, 1.0], |n| {
                total += n.count as u64;
                match n.feature {
                    Some(f) => {
                        assert!(l.is_live(f as usize), "zoom {z}: a lone point that is not live ({f})");
                        for c in 0..64u8 {
                            if l.mask(f as usize) & (1 << c) != 0 {
                                *cats.entry(c).or_default() += 1;
                            }
                        }
                    }
                    None => {
                        assert!(n.count >= 1, "zoom {z}: an empty cluster is shown");
                        for &(c, k) in n.category_counts.iter() {
                            *cats.entry(c).or_default() += k as u64;
                        }
                    }
                }
            });
            cats.retain(|c, _| (*c as usize) < l.profile().classes().len());
            (total, cats)
        })
        .collect()
}

/// The features of a decoded tile's layer, as sorted JSON texts.
fn tile_features(decoded: &Json) -> Vec<String> {
    let mut v: Vec<String> = decoded["layers"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|l| l["features"].as_array().cloned().unwrap())
        .map(|f| {
            let mut p: Vec<(String, String)> =
                f["properties"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
            p.sort();
            format!("{} {} {:?}", f["id"], f["rings"], p)
        })
        .collect();
    v.sort();
    v
}

/// A layer of a GeoJSON text.
fn from_text(text: &str) -> Layer {
    tuilerie_geo::source::geojson::load_bytes(
        std::path::Path::new("t.geojson"),
        text.as_bytes(),
        LoadOptions::default(),
    )
    .unwrap()
}

/// The nodes the clusters show at zoom `z`: size and, for a lone point, its id.
fn shown(layer: &Layer, z: u8) -> Vec<(u32, Option<String>)> {
    let mut out = Vec::new();
    layer.clusters().unwrap().for_each_in(z, [0.0, 0.0, 1.0, 1.0], |n| {
        out.push((n.count, n.feature.map(|f| layer.feature(f as usize).id().to_string())))
    });
    out.sort();
    out
}

fn tile_at(lon: f64, lat: f64, z: u8) -> TileCoord {
    let (x, y) = lonlat_to_world(lon, lat);
    let n = (1u32 << z) as f64;
    TileCoord::new(z as u32, (x * n) as u32, (y * n) as u32).unwrap()
}

#[test]
fn an_overlaid_layer_answers_as_the_layer_built_again_under_the_same_edits() {
    let base = load(&demo(), LoadOptions::default()).unwrap();
    let edits = by_id(&random_edits(&base, 11, 80, 1));
    let reference = rebuild(&base, LoadOptions::default(), &edits).unwrap().layer;
    let layer = overlaid(&base, &edits);
    assert!(layer.has_delta());
    assert_eq!(layer.len(), reference.len());
    assert_eq!(layer.meta().feature_count, reference.meta().feature_count);
    assert_eq!(content(&layer), content(&reference));
    for (a, b) in layer.meta().fields.iter().zip(&reference.meta().fields) {
        assert_eq!((&a.name, a.field_type, a.count), (&b.name, b.field_type, b.count));
    }
    for (id, e) in &edits {
        assert_eq!(layer.find(id).is_some(), e.feature.is_some(), "find {id}");
    }

    // Items: everything, a box, a category.
    let q = |pairs: &[(&str, &str)]| {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ItemsQuery::parse(&layer, &m, pairs.iter().map(|(k, _)| *k)).unwrap()
    };
    let queries: [&[(&str, &str)]; 3] = [
        &[("limit", "10000")],
        &[("limit", "10000"), ("bbox", "-0.7,44.7,-0.4,45.0")],
        &[("limit", "10000"), ("accepts", "glass")],
    ];
    for query in queries {
        let (a, b) = (items(&layer, &q(query)), items(&reference, &q(query)));
        assert_eq!(a.matched, b.matched, "{query:?}");
        assert_eq!(ids(&layer, a.features), ids(&reference, b.features), "{query:?}");
    }

    // Nearest, with and without a category.
    let mut s = 5;
    let glass = 1 << tuilerie_geo::waste::Taxonomy::builtin().index_of("glass").unwrap().0;
    for k in 0..40 {
        let (lon, lat) = (-1.3 + lcg(&mut s) * 1.6, 44.3 + lcg(&mut s) * 1.0);
        let accepts = if k % 2 == 0 { 0 } else { glass };
        let nq = NearestQuery {
            lon,
            lat,
            k: 7,
            accepts,
            open_at: None,
            at: chrono::Utc::now(),
            max_distance: None,
            facility_type: None,
        };
        let d = |l: &Layer| -> Vec<(String, String)> {
            nearest(&[l], &nq)
                .iter()
                .map(|h| (format!("{:.3}", h.distance_m), l.feature(h.feature).id().to_string()))
                .collect()
        };
        assert_eq!(d(&layer), d(&reference), "nearest from {lon},{lat} accepts {accepts}");
    }

    // Point tiles above the clustered zooms, where the edits are.
    let opts = TileOptions::default();
    let mut coords: Vec<TileCoord> = edits
        .values()
        .filter_map(|e| e.feature.as_ref())
        .filter_map(|f| match &f.geometry {
            geo::Geometry::Point(p) => Some(p.0),
            _ => None,
        })
        .take(12)
        .flat_map(|c| [13u8, 14].map(|z| tile_at(c.x, c.y, z)))
        .collect();
    coords.sort_by_key(|c| (c.z, c.x, c.y));
    coords.dedup();
    let render = |l: &Layer| -> Vec<Vec<u8>> {
        coords.iter().map(|&c| render_tile(&[l.tiles()], c, &opts).unwrap_or_default()).collect()
    };
    let (ta, tb) = (common::decode_mvt(&render(&layer)), common::decode_mvt(&render(&reference)));
    assert_eq!(ta.len(), coords.len());
    let mut seen = 0;
    for (i, (a, b)) in ta.iter().zip(&tb).enumerate() {
        let (fa, fb) = (tile_features(a), tile_features(b));
        assert_eq!(fa, fb, "tile {:?}", coords[i]);
        seen += fa.len();
    }
    assert!(seen > coords.len(), "the tiles hold the edited points: {seen} features");

    // Clusters: every point counted once at every zoom, categories too.
    assert_eq!(cluster_totals(&layer), cluster_totals(&reference));
    assert_eq!(cluster_totals(&layer)[0].0, layer.len() as u64);
}

#[test]
fn edits_laid_over_a_layer_built_under_earlier_edits_answer_as_all_edits_built_at_once() {
    let base = load(&demo(), LoadOptions::default()).unwrap();
    let all = random_edits(&base, 23, 120, 1);
    let (first, later) = all.split_at(70);
    let compacted = rebuild(&base, LoadOptions::default(), &by_id(first)).unwrap().layer;
    let layer = overlaid(&compacted, &by_id(later));
    let reference = rebuild(&base, LoadOptions::default(), &by_id(&all)).unwrap().layer;
    assert_eq!(content(&layer), content(&reference));
    assert_eq!(cluster_totals(&layer), cluster_totals(&reference));
}

#[test]
fn a_moved_lone_point_is_shown_as_itself_where_it_went() {
    let text = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "a", "properties": {"name": "A"}, "geometry": {"type": "Point", "coordinates": [-0.5, 44.8]}},
        {"type": "Feature", "id": "b", "properties": {"name": "B"}, "geometry": {"type": "Point", "coordinates": [120.0, -30.0]}}
    ]})
    .to_string();
    let base = from_text(&text);
    let moved = EditedFeature::parse(&json!({"type": "Feature", "properties": {"name": "A2"},
        "geometry": {"type": "Point", "coordinates": [-0.51, 44.81]}}))
    .unwrap();
    let edits: HashMap<String, Edit> =
        [("a".to_string(), Edit { created: false, seq: 1, feature: Some(Arc::new(moved)) })].into();
    let layer = overlaid(&base, &edits);
    for z in 0..=12u8 {
        assert_eq!(shown(&layer, z), vec![(1, Some("a".to_string())), (1, Some("b".to_string()))], "zoom {z}");
    }
    let a = layer.find("a").unwrap();
    assert_eq!(a.properties().next().unwrap().1, tuilerie_geo::Value::String("A2"));
}

#[test]
fn a_cluster_left_with_one_point_by_deletions_shows_that_point() {
    let text = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "a", "properties": {"name": "A"}, "geometry": {"type": "Point", "coordinates": [-0.5, 44.8]}},
        {"type": "Feature", "id": "b", "properties": {"name": "B"}, "geometry": {"type": "Point", "coordinates": [-0.5001, 44.8001]}},
        {"type": "Feature", "id": "c", "properties": {"name": "C"}, "geometry": {"type": "Point", "coordinates": [-0.4999, 44.7999]}},
        {"type": "Feature", "id": "d", "properties": {"name": "D"}, "geometry": {"type": "Point", "coordinates": [120.0, -30.0]}}
    ]})
    .to_string();
    let base = from_text(&text);
    let gone = |seq| Edit { created: false, seq, feature: None };
    let edits: HashMap<String, Edit> = [("b".to_string(), gone(1)), ("c".to_string(), gone(2))].into();
    let layer = overlaid(&base, &edits);
    for z in 0..=12u8 {
        assert_eq!(shown(&layer, z), vec![(1, Some("a".to_string())), (1, Some("d".to_string()))], "zoom {z}");
    }
}
