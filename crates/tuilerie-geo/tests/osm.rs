//! OSM PBF input checked against osmium (Debian `osmium-tool`, an
//! independent reader): `osmium tags-filter` then `osmium export` with the
//! same area rule give the same objects, ids, tags and geometries.
#![allow(clippy::unwrap_used)]

mod common;

use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use tuilerie_geo::source::osm::assemble::{AREA_KEYS, LINEAR_VALUES};
use tuilerie_geo::{Layer, LoadOptions, OsmGeometry, OsmOptions, SkipReason, TagFilter};

fn monaco() -> PathBuf {
    common::shared_data().join("osm/monaco-latest.osm.pbf")
}

fn osmium(args: &[&str]) {
    let out = Command::new("osmium")
        .args(args)
        .output()
        .expect("osmium (osmium-tool) is needed: scripts/setup.sh installs it");
    assert!(out.status.success(), "osmium {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// osmium export's configuration for our area rule (assemble::is_area).
fn osmium_config(dir: &Path) -> PathBuf {
    let mut exceptions: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in LINEAR_VALUES {
        exceptions.entry(k).or_default().push(v);
    }
    let area_tags: Vec<String> = AREA_KEYS
        .iter()
        .map(|k| match exceptions.get(k) {
            Some(vs) => format!("{k}!={}", vs.join(",")),
            None => k.to_string(),
        })
        .collect();
    let p = dir.join("export.json");
    std::fs::write(&p, serde_json::json!({ "area_tags": area_tags }).to_string()).unwrap();
    p
}

/// osmium's GeoJSON features of `pbf` (optionally through `tags-filter`
/// expressions), keeping those whose tags pass `filter`.
fn osmium_features(pbf: &Path, expressions: &[&str], filter: &str, dir: &Path) -> Vec<Json> {
    let filtered = dir.join("filtered.osm.pbf");
    let input = if expressions.is_empty() {
        pbf.to_path_buf()
    } else {
        let mut args = vec!["tags-filter", "-O", pbf.to_str().unwrap()];
        args.extend_from_slice(expressions);
        args.extend_from_slice(&["-o", filtered.to_str().unwrap()]);
        osmium(&args);
        filtered
    };
    let out = dir.join("export.geojsonseq");
    let config = osmium_config(dir);
    osmium(&[
        "export",
        "-O",
        "-c",
        config.to_str().unwrap(),
        input.to_str().unwrap(),
        "-f",
        "geojsonseq",
        "-x",
        "print_record_separator=false",
        "-a",
        "type,id,version,timestamp",
        "-o",
        out.to_str().unwrap(),
    ]);
    let filter = TagFilter::parse(filter).unwrap();
    std::fs::read_to_string(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).unwrap())
        .filter(|f| {
            let tags: Vec<(&[u8], &[u8])> = f["properties"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| !k.starts_with('@'))
                .map(|(k, v)| (k.as_bytes(), v.as_str().unwrap().as_bytes()))
                .collect();
            filter.matches(&tags)
        })
        .collect()
}

/// Polygons of rings of integer coordinates (a point or a line is one ring).
type Shape = Vec<Vec<Vec<(i64, i64)>>>;

/// A geometry as sorted integer coordinates (1e-7 degree), rings rotated to
/// their smallest vertex and turned one way, so that equal shapes compare
/// equal whatever the start vertex, orientation or Polygon/MultiPolygon.
fn canonical(g: &Json) -> (String, Shape) {
    let pt = |c: &Json| ((c[0].as_f64().unwrap() * 1e7).round() as i64, (c[1].as_f64().unwrap() * 1e7).round() as i64);
    let ring = |r: &Json| -> Vec<(i64, i64)> {
        let mut v: Vec<(i64, i64)> = r.as_array().unwrap().iter().map(pt).collect();
        v.pop();
        let i = (0..v.len()).min_by_key(|&i| v[i]).unwrap();
        v.rotate_left(i);
        if v.len() > 2 && v[v.len() - 1] < v[1] {
            v[1..].reverse();
        }
        v
    };
    let polygon = |p: &Json| -> Vec<Vec<(i64, i64)>> {
        let rings = p.as_array().unwrap();
        let mut holes: Vec<_> = rings[1..].iter().map(ring).collect();
        holes.sort();
        std::iter::once(ring(&rings[0])).chain(holes).collect()
    };
    let c = &g["coordinates"];
    match g["type"].as_str().unwrap() {
        "Point" => ("Point".into(), vec![vec![vec![pt(c)]]]),
        "LineString" => ("LineString".into(), vec![vec![c.as_array().unwrap().iter().map(pt).collect()]]),
        "Polygon" => ("Area".into(), vec![polygon(c)]),
        "MultiPolygon" => {
            let mut ps: Vec<_> = c.as_array().unwrap().iter().map(polygon).collect();
            ps.sort();
            ("Area".into(), ps)
        }
        t => panic!("unexpected geometry {t}"),
    }
}

type Canon = BTreeMap<String, (String, Shape, BTreeMap<String, Json>)>;

/// Features by `type/id`: geometry and properties, `@timestamp` as
/// seconds like osmium writes it.
fn by_id_osmium(features: &[Json]) -> Canon {
    features
        .iter()
        .map(|f| {
            let p = f["properties"].as_object().unwrap();
            let id = format!("{}/{}", p["@type"].as_str().unwrap(), p["@id"]);
            let (kind, coords) = canonical(&f["geometry"]);
            (id, (kind, coords, p.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
        })
        .collect()
}

fn by_id_ours(layer: &Layer) -> Canon {
    (0..layer.len())
        .map(|i| {
            let f = tuilerie_geo::output::feature(&layer.feature(i), Default::default());
            let mut props: BTreeMap<String, Json> = f["properties"].as_object().unwrap().clone().into_iter().collect();
            if let Some(t) = props.get("@timestamp").and_then(|t| t.as_str()) {
                let s = chrono::DateTime::parse_from_rfc3339(t).unwrap().timestamp();
                props.insert("@timestamp".into(), s.into());
            }
            let (kind, coords) = canonical(&f["geometry"]);
            assert_eq!(f["id"].as_str().unwrap(), format!("{}/{}", props["@type"].as_str().unwrap(), props["@id"]));
            (f["id"].as_str().unwrap().to_string(), (kind, coords, props))
        })
        .collect()
}

fn layer_options(id: &str, filter: &str, geometry: OsmGeometry, changes: Vec<PathBuf>) -> LoadOptions {
    LoadOptions {
        id: tuilerie_geo::LayerId::new(id).ok(),
        osm: Some(OsmOptions { filter: Some(TagFilter::parse(filter).unwrap()), geometry, tags: None, changes }),
        ..Default::default()
    }
}

fn kinds(c: &Canon) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (kind, _, _) in c.values() {
        *out.entry(kind.clone()).or_default() += 1;
    }
    out
}

fn assert_same(ours: &Canon, theirs: &Canon, what: &str) {
    assert_eq!(kinds(ours), kinds(theirs), "{what}: counts per geometry type");
    assert_eq!(ours.keys().collect::<Vec<_>>(), theirs.keys().collect::<Vec<_>>(), "{what}: ids");
    for (id, (kind, coords, props)) in ours {
        let (k2, c2, p2) = &theirs[id];
        assert_eq!(kind, k2, "{what} {id}: geometry type");
        assert_eq!(coords, c2, "{what} {id}: geometry");
        assert_eq!(props, p2, "{what} {id}: properties");
    }
}

#[test]
fn monaco_waste_layers_equal_what_osmium_exports() {
    let dir = common::temp_dir("osm-monaco");
    let layers = tuilerie_geo::load_all(&monaco(), LoadOptions::default());
    let ids: Vec<String> = layers.iter().map(|l| l.as_ref().unwrap().id().to_string()).collect();
    assert_eq!(ids, ["monaco-latest-recycling", "monaco-latest-waste-disposal", "monaco-latest-waste-baskets"]);
    for (layer, value) in layers.iter().zip(["recycling", "waste_disposal", "waste_basket"]) {
        let layer = layer.as_ref().unwrap();
        let filter = format!("amenity={value}");
        let theirs = by_id_osmium(&osmium_features(&monaco(), &[&format!("nwr/{filter}")], &filter, &dir));
        let ours = by_id_ours(layer);
        assert!(!ours.is_empty(), "{filter}: Monaco has such objects");
        assert_same(&ours, &theirs, &filter);
    }
    // The recycling layer has the areas too (closed ways).
    let recycling = by_id_ours(layers[0].as_ref().unwrap());
    assert!(kinds(&recycling).get("Area").copied().unwrap_or(0) >= 1, "{:?}", kinds(&recycling));
}

#[test]
fn monaco_multipolygons_and_lines_equal_what_osmium_exports() {
    let dir = common::temp_dir("osm-monaco-mp");
    let filter = "landuse=* or leisure=park or highway=pedestrian";
    let o = layer_options("landuse", filter, OsmGeometry::Any, vec![]);
    let layer = tuilerie_geo::load(&monaco(), o).unwrap();
    let ours = by_id_ours(&layer);
    let theirs = by_id_osmium(&osmium_features(
        &monaco(),
        &["nwr/landuse", "nwr/leisure=park", "nwr/highway=pedestrian"],
        filter,
        &dir,
    ));
    assert_same(&ours, &theirs, filter);
    let k = kinds(&ours);
    assert!(k["Area"] > 50 && k["LineString"] > 10, "{k:?}");
    assert!(ours.keys().any(|id| id.starts_with("relation/")), "relations assembled");
    // Polygons only, from the same read: the lines are left out.
    let o = layer_options("landuse-areas", filter, OsmGeometry::Polygon, vec![]);
    let areas = by_id_ours(&tuilerie_geo::load(&monaco(), o).unwrap());
    assert_eq!(areas.len(), k["Area"]);
}

/// The hand-made fixture as PBF: `osmium cat` writes it without the
/// header's sort flag (read in three passes), `osmium sort` with it (read
/// backwards for ways and relations, then nodes once).
fn fixture_pbfs(dir: &Path) -> [PathBuf; 2] {
    let xml = common::fixture("osm/fixture.osm");
    let unsorted = dir.join("fixture.osm.pbf");
    osmium(&["cat", "-O", xml.to_str().unwrap(), "-o", unsorted.to_str().unwrap()]);
    let sorted = dir.join("sorted").join("fixture.osm.pbf");
    std::fs::create_dir_all(sorted.parent().unwrap()).unwrap();
    osmium(&["sort", "-O", xml.to_str().unwrap(), "-o", sorted.to_str().unwrap()]);
    [unsorted, sorted]
}

fn fixture_pbf(dir: &Path) -> PathBuf {
    let [unsorted, _] = fixture_pbfs(dir);
    unsorted
}

const FIXTURE_FILTER: &str = "amenity=recycling or landuse=* or highway=*";

#[test]
fn fixture_areas_holes_and_broken_objects() {
    let dir = common::temp_dir("osm-fixture");
    let [pbf, sorted] = fixture_pbfs(&dir);
    let layer = tuilerie_geo::load(&pbf, layer_options("all", FIXTURE_FILTER, OsmGeometry::Any, vec![])).unwrap();
    let from_sorted =
        tuilerie_geo::load(&sorted, layer_options("all", FIXTURE_FILTER, OsmGeometry::Any, vec![])).unwrap();
    assert_same(&by_id_ours(&from_sorted), &by_id_ours(&layer), "sorted and unsorted reads");
    let ours = by_id_ours(&layer);
    let theirs = by_id_osmium(&osmium_features(&pbf, &[], FIXTURE_FILTER, &dir));
    assert_same(&ours, &theirs, "fixture");
    // Relation 100: two outers, one of two ways, each with a hole (one of two ways).
    let (kind, polygons, _) = &ours["relation/100"];
    assert_eq!(kind, "Area");
    assert_eq!(polygons.len(), 2);
    assert!(polygons.iter().all(|p| p.len() == 2), "each outer has its hole");
    assert_eq!(ours["way/10"].0, "Area");
    assert_eq!(ours["way/30"].0, "LineString", "area=no keeps a closed way a line");
    // What cannot be built is counted by reason.
    let skipped = &layer.meta().skipped.counts;
    assert_eq!(skipped.get(&SkipReason::MissingNodes), Some(&1), "way 40");
    assert_eq!(skipped.get(&SkipReason::MissingMembers), Some(&1), "relation 200");
    assert_eq!(skipped.get(&SkipReason::UnclosedRing), Some(&1), "relation 300");
    let details: Vec<&str> = layer.meta().skipped.examples.iter().map(|e| e.detail.as_str()).collect();
    assert!(details.iter().any(|d| d.contains("way/40")), "{details:?}");
    assert!(details.iter().any(|d| d.contains("relation/200") && d.contains("way/9999")), "{details:?}");
    assert!(!ours.contains_key("relation/400"), "a route is not an area");
}

#[test]
fn osmchange_files_apply_as_osmium_applies_them() {
    let dir = common::temp_dir("osm-osc");
    let [pbf, sorted] = fixture_pbfs(&dir);
    let osc = common::fixture("osm/change.osc");
    // The same change gzipped, as OSM publishes its diffs.
    let gz = dir.join("change.osc.gz");
    {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), flate2::Compression::default());
        e.write_all(&std::fs::read(&osc).unwrap()).unwrap();
        e.finish().unwrap();
    }
    let applied = dir.join("applied.osm.pbf");
    osmium(&["apply-changes", "-O", pbf.to_str().unwrap(), osc.to_str().unwrap(), "-o", applied.to_str().unwrap()]);
    let theirs = by_id_osmium(&osmium_features(&applied, &[], FIXTURE_FILTER, &dir));
    for (pbf, changes) in [(&pbf, osc.clone()), (&pbf, gz.clone()), (&sorted, gz)] {
        let layer =
            tuilerie_geo::load(pbf, layer_options("changed", FIXTURE_FILTER, OsmGeometry::Any, vec![changes])).unwrap();
        let ours = by_id_ours(&layer);
        assert_same(&ours, &theirs, "after the changes");
        assert!(ours.contains_key("node/50") && !ours.contains_key("node/3"));
        assert_eq!(ours["node/2"].2["recycling:glass_bottles"], "yes");
        assert_eq!(ours["way/30"].0, "Area", "way 30 became an area");
        let missing =
            layer.meta().skipped.examples.iter().find(|e| e.reason == SkipReason::ChangeToMissingObject).unwrap();
        assert!(missing.detail.contains("way/9998"), "{}", missing.detail);
    }
    // Several files in order: the second undoes the creation.
    let undo = dir.join("undo.osc");
    std::fs::write(
        &undo,
        r#"<osmChange version="0.6"><delete><node id="50" version="2" lat="44.845" lon="-0.575"/></delete></osmChange>"#,
    )
    .unwrap();
    let layer =
        tuilerie_geo::load(&pbf, layer_options("twice", FIXTURE_FILTER, OsmGeometry::Any, vec![osc, undo])).unwrap();
    assert!(!by_id_ours(&layer).contains_key("node/50"));
}

#[test]
fn broken_inputs_are_errors_naming_the_file() {
    let dir = common::temp_dir("osm-bad");
    let pbf = fixture_pbf(&dir);
    let bad = dir.join("bad.osc");
    std::fs::write(&bad, "<osmChange><modify><node id=\"x\" lat=\"1\" lon=\"2\"/></modify></osmChange>").unwrap();
    let e =
        tuilerie_geo::load(&pbf, layer_options("bad", "amenity=*", OsmGeometry::Any, vec![bad.clone()])).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("bad.osc") && msg.contains("line 1") && msg.contains("id"), "{msg}");
    std::fs::write(&bad, "<osm><node id=\"1\"/></osm>").unwrap();
    let msg = tuilerie_geo::load(&pbf, layer_options("bad", "amenity=*", OsmGeometry::Any, vec![bad]))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("not an osmChange"), "{msg}");
    // A file that is not PBF.
    let junk = dir.join("junk.osm.pbf");
    std::fs::write(&junk, b"\x00\x00\x00\x0cnot a pbf file at all").unwrap();
    let msg = tuilerie_geo::load(&junk, LoadOptions::default()).unwrap_err().to_string();
    assert!(msg.contains("junk.osm.pbf"), "{msg}");
    // A layer with nothing in it is still a layer.
    let empty =
        tuilerie_geo::load(&pbf, layer_options("none", "amenity=nothing_here", OsmGeometry::Any, vec![])).unwrap();
    assert_eq!(empty.len(), 0);
    let ids: BTreeSet<_> = tuilerie_geo::load_all(&pbf, LoadOptions::default())
        .into_iter()
        .map(|l| (l.as_ref().unwrap().id().to_string(), l.unwrap().len()))
        .collect();
    assert_eq!(
        ids,
        [
            ("fixture-recycling".to_string(), 5),
            ("fixture-waste-baskets".to_string(), 0),
            ("fixture-waste-disposal".to_string(), 0)
        ]
        .into_iter()
        .collect()
    );
}
