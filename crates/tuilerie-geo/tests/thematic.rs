//! Thematic maps on the real Gironde files: the population CSV joined to the
//! communes, counts of déchèteries per commune against a brute-force
//! point-in-polygon count (our own ray casting over every commune, no index),
//! ratios per km² against geodesic areas, and bad inputs.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use geo::Geometry;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tuilerie_geo::thematic::spec::{JoinDefinition, RatioDefinition, ValueDefinition};
use tuilerie_geo::thematic::{MapDefinition, MapInputs, Table, ThematicMap};
use tuilerie_geo::{Catalog, FeatureGeometry, LoadOptions};

fn catalog() -> Catalog {
    let ids = |id: &str| Some(tuilerie_geo::LayerId::new(id).unwrap());
    Catalog::load(
        vec![
            (common::gironde("communes-33.geojson"), LoadOptions { id: ids("communes"), ..Default::default() }),
            (
                common::gironde("decheteries-6element.geojson"),
                LoadOptions { id: ids("decheteries"), ..Default::default() },
            ),
            (
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/points-collecte-synthetiques.geojson"),
                LoadOptions { id: ids("points"), ..Default::default() },
            ),
        ],
        2,
    )
}

fn tables() -> HashMap<String, Arc<Table>> {
    let t = Table::read(&common::gironde("population-33.csv")).unwrap();
    HashMap::from([("population".to_string(), Arc::new(t))])
}

fn definition(value: ValueDefinition) -> MapDefinition {
    MapDefinition {
        id: None,
        title: "Test".into(),
        layer: "communes".into(),
        join: Some(JoinDefinition { table: "population".into(), key: "code_insee".into(), field: "code".into() }),
        value,
        ratio: None,
        method: "natural_breaks".into(),
        classes: 5,
        breaks: vec![],
        palette: "YlOrRd".into(),
        reverse: false,
        label_field: None,
        unit: None,
        source: None,
    }
}

#[test]
fn population_csv_joins_534_of_538_communes_and_reports_the_4_others() {
    let catalog = catalog();
    let tables = tables();
    let inputs = MapInputs { catalog: &catalog, tables: &tables };
    let map = ThematicMap::build(
        definition(ValueDefinition { field: Some("population_municipale".into()), ..Default::default() }),
        &inputs,
    )
    .unwrap();
    let join = map.join.as_ref().unwrap();
    assert_eq!((join.rows, join.features, join.matched), (538, 538, 538));
    assert!(join.unmatched_rows.is_empty() && join.unmatched_features.is_empty() && join.duplicate_keys.is_empty());
    // 534 communes have a population; the 4 merged communes are reported.
    assert_eq!(map.values.iter().flatten().count(), 534);
    let mut missing: Vec<&str> = map.no_data.iter().map(|n| n.key.as_str()).collect();
    missing.sort();
    assert_eq!(missing, ["33092", "33267", "33338", "33409"]);
    for n in &map.no_data {
        assert!(n.reason.contains("population-33.csv line ") && n.reason.contains("empty"), "{n:?}");
    }
    // Legend counts add up to every commune.
    assert_eq!(map.classes.counts.iter().sum::<usize>() + map.classes.no_data, 538);
    assert_eq!(map.legend().len(), 5);
    // Codes stay text with their leading characters; values reach the derived layer.
    let f = map.layer.features().find(|f| f.property("code") == Some(tuilerie_geo::Value::String("33063"))).unwrap();
    let bordeaux = map.values[f.index()].unwrap();
    assert!(bordeaux > 250_000.0, "{bordeaux}");
    assert_eq!(f.property("class"), Some(tuilerie_geo::Value::Int(4)));
}

/// Even-odd ray casting over every ring: an independent point-in-polygon.
fn inside(g: &Geometry<f64>, x: f64, y: f64) -> bool {
    let polys: Vec<&geo::Polygon<f64>> = match g {
        Geometry::Polygon(p) => vec![p],
        Geometry::MultiPolygon(mp) => mp.0.iter().collect(),
        _ => vec![],
    };
    let mut crossings = 0;
    for p in polys {
        for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
            for w in ring.0.windows(2) {
                let (a, b) = (w[0], w[1]);
                if (a.y > y) != (b.y > y) && x < a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y) {
                    crossings += 1;
                }
            }
        }
    }
    crossings % 2 == 1
}

#[test]
fn counts_of_points_per_commune_equal_a_brute_force_point_in_polygon_count() {
    let catalog = catalog();
    let tables = tables();
    let inputs = MapInputs { catalog: &catalog, tables: &tables };
    let communes = catalog.get("communes").unwrap();
    for (points_id, accepts) in [("decheteries", None), ("points", None), ("points", Some("verre"))] {
        let value =
            ValueDefinition { count: Some(points_id.into()), accepts: accepts.map(String::from), ..Default::default() };
        let map = ThematicMap::build(definition(value), &inputs).unwrap();
        let points = catalog.get(points_id).unwrap();
        let mask =
            accepts.map(|a| tuilerie_geo::waste::words_mask(a, tuilerie_geo::waste::Taxonomy::builtin())).unwrap_or(0);
        let shapes: Vec<Geometry<f64>> = communes.features().map(|f| f.geometry().to_geometry()).collect();
        let mut expected = vec![0.0; communes.len()];
        for p in points.features() {
            if mask != 0 && points.profile().mask(p.index()) & mask != mask {
                continue;
            }
            let FeatureGeometry::Point(c) = p.geometry() else { continue };
            if let Some(j) = shapes.iter().position(|g| inside(g, c.x, c.y)) {
                expected[j] += 1.0;
            }
        }
        let got: Vec<f64> = map.values.iter().map(|v| v.unwrap()).collect();
        assert_eq!(got, expected, "{points_id} {accepts:?}");
        let total: f64 = got.iter().sum();
        assert!(total > 0.0, "{points_id} {accepts:?}: no point counted");
        if points_id == "decheteries" {
            // Part of the 44 centres are in Béarn, outside Gironde.
            assert!(total < 44.0, "{total}");
        }
    }
}

#[test]
fn density_per_km2_uses_geodesic_areas() {
    let catalog = catalog();
    let tables = tables();
    let inputs = MapInputs { catalog: &catalog, tables: &tables };
    let mut d = definition(ValueDefinition { field: Some("population_municipale".into()), ..Default::default() });
    d.ratio = Some(RatioDefinition { per: "km2".into(), scale: 1.0 });
    let map = ThematicMap::build(d, &inputs).unwrap();
    let communes = catalog.get("communes").unwrap();
    let f = communes.features().find(|f| f.property("code") == Some(tuilerie_geo::Value::String("33063"))).unwrap();
    // pyproj: Geod(ellps="WGS84").geometry_area_perimeter(shape(bordeaux)) / 1e6
    let area = 49.77612564639139;
    let ours = tuilerie_geo::thematic::aggregate::areas_km2(communes)[f.index()];
    assert!((ours - area).abs() < 1e-6, "Bordeaux: {ours} km², pyproj says {area}");
    let t = &tables["population"];
    let pop: f64 = (0..t.len()).find(|&r| t.cell(r, 0) == "33063").map(|r| t.cell(r, 2)).unwrap().parse().unwrap();
    assert!((map.values[f.index()].unwrap() / (pop / area) - 1.0).abs() < 1e-7);
}

#[test]
fn bad_definitions_name_the_parameter() {
    let catalog = catalog();
    let mut tables = tables();
    let inputs = MapInputs { catalog: &catalog, tables: &tables };
    let field = |f: &str| ValueDefinition { field: Some(f.into()), ..Default::default() };
    let check = |d: MapDefinition, parameter: &str, words: &str| {
        let e = ThematicMap::build(d, &inputs).unwrap_err();
        assert_eq!(e.parameter, parameter, "{e}");
        assert!(e.message.contains(words), "{e}");
    };
    let mut d = definition(field("population_municipale"));
    d.join.as_mut().unwrap().key = "insee".into();
    check(d, "join.key", "columns are code_insee, nom, population_municipale");
    let mut d = definition(field("population_municipale"));
    d.palette = "Rainbow".into();
    check(d, "palette", "YlOrRd");
    let mut d = definition(field("population_municipale"));
    d.classes = 12;
    check(d, "classes", "2 to 9");
    check(definition(field("habitants")), "value.field", "population_municipale");
    let mut d = definition(field("population_municipale"));
    d.layer = "decheteries".into();
    check(d, "layer", "no polygons");
    check(
        definition(ValueDefinition {
            count: Some("points".into()),
            accepts: Some("uranium".into()),
            ..Default::default()
        }),
        "value.accepts",
        "uranium",
    );
    check(definition(ValueDefinition::default()), "value", "exactly one");

    // Duplicate keys and non-numeric values: warnings and no data, with lines.
    let csv = "code_insee;pop\n33063;260 958\n33063;1\n33001;n/a\n99999;5\n";
    tables.insert("dups".into(), Arc::new(Table::parse("dups.csv", csv.as_bytes()).unwrap()));
    let inputs = MapInputs { catalog: &catalog, tables: &tables };
    let mut d = definition(field("pop"));
    d.join = Some(JoinDefinition { table: "dups".into(), key: "code_insee".into(), field: "code".into() });
    d.method = "quantile".into();
    d.classes = 3;
    let map = ThematicMap::build(d, &inputs).unwrap();
    let join = map.join.as_ref().unwrap();
    assert_eq!(join.duplicate_keys, [("33063".to_string(), vec![2, 3])]);
    assert_eq!(join.unmatched_rows, [(5, "99999".to_string())]);
    assert_eq!(join.matched, 2);
    assert_eq!(join.unmatched_features.len(), 536);
    let abzac = map.no_data.iter().find(|n| n.key == "33001").unwrap();
    assert!(abzac.reason.contains("\"n/a\" is not a number (dups.csv line 4"), "{abzac:?}");
    // One value for 3 classes: fewer distinct values than classes is a warning.
    assert!(map.warnings.iter().any(|w| w.contains("1 distinct values for 3 classes")), "{:?}", map.warnings);
    assert_eq!(map.values.iter().flatten().copied().collect::<Vec<_>>(), [260958.0]);
}
