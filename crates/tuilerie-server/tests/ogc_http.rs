//! OGC API Features Parts 3 and 5 over the demo data: CQL2 filters (text
//! and JSON) against a brute-force reading of the files, queryables and
//! schemas against the files' own properties, and the links and OpenAPI
//! paths clients such as GDAL look for.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use std::collections::BTreeSet;
use tuilerie_server::AppState;

mod common;

fn state() -> AppState {
    common::demo_state()
}

async fn get(s: &AppState, uri: &str) -> (StatusCode, String, serde_json::Value) {
    common::get_json(s, uri).await
}

fn file(name: &str) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&std::fs::read(common::root().join("data").join(name)).unwrap()).unwrap();
    v["features"].as_array().unwrap().clone()
}

fn enc(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// The `nom` of every commune a filter selects, through every page.
async fn noms(s: &AppState, query: &str) -> BTreeSet<String> {
    let (st, _, j) = get(s, &format!("/collections/communes/items?limit=10000&{query}")).await;
    assert_eq!(st, StatusCode::OK, "{query}: {j}");
    assert_eq!(j["numberMatched"], j["numberReturned"], "{query}");
    j["features"].as_array().unwrap().iter().map(|f| f["properties"]["nom"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn cql2_filters_select_what_a_brute_force_reading_of_the_file_selects() {
    let s = state();
    let communes = file("communes-gironde.geojson");
    let pop = |f: &Value| f["properties"]["population"].as_f64();
    let nom = |f: &Value| f["properties"]["nom"].as_str().unwrap_or("").to_string();
    type Pred = Box<dyn Fn(&Value) -> bool>;
    let cases: Vec<(&str, Pred)> = vec![
        ("nom = 'Bordeaux'", Box::new(move |f| nom(f) == "Bordeaux")),
        (
            "nom LIKE 'Saint-%' AND population > 2000",
            Box::new(move |f| nom(f).starts_with("Saint-") && pop(f).is_some_and(|p| p > 2000.0)),
        ),
        (
            "nom LIKE '%-de-%' OR population >= 50000",
            Box::new(move |f| nom(f).contains("-de-") || pop(f).is_some_and(|p| p >= 50000.0)),
        ),
        (
            "NOT (population BETWEEN 1000 AND 100000)",
            Box::new(move |f| pop(f).is_some_and(|p| !(1000.0..=100000.0).contains(&p))),
        ),
        (
            "nom IN ('Bordeaux', 'Mérignac', 'Pessac', 'Nulle-Part')",
            Box::new(move |f| ["Bordeaux", "Mérignac", "Pessac"].contains(&nom(f).as_str())),
        ),
        (
            "nom NOT IN ('Bordeaux') AND population < 100",
            Box::new(move |f| nom(f) != "Bordeaux" && pop(f).is_some_and(|p| p < 100.0)),
        ),
        ("population IS NULL", Box::new(move |f| pop(f).is_none())),
        ("nom < 'Ab' OR nom > 'Yv'", Box::new(move |f| nom(f).as_str() < "Ab" || nom(f).as_str() > "Yv")),
        ("TRUE AND NOT FALSE", Box::new(|_| true)),
        ("nom ILIKE 'SAINT-MÉDARD%'", Box::new(move |f| nom(f).to_lowercase().starts_with("saint-médard"))),
    ];
    for (filter, pred) in cases {
        let want: BTreeSet<String> = communes.iter().filter(|f| pred(f)).map(nom).collect();
        assert!(!want.is_empty() || filter.contains("IS NULL"), "{filter}: a case that selects nothing tests little");
        assert_eq!(noms(&s, &format!("filter={}", enc(filter))).await, want, "{filter}");
    }
}

#[tokio::test]
async fn cql2_json_and_text_agree_and_spatial_filters_use_the_geometry() {
    let s = state();
    let text = "S_INTERSECTS(geometry, POINT(-0.5792 44.8378)) OR (population > 50000 AND nom <> 'Bordeaux')";
    let json = r#"{"op":"or","args":[
        {"op":"s_intersects","args":[{"property":"geometry"},{"type":"Point","coordinates":[-0.5792,44.8378]}]},
        {"op":"and","args":[{"op":">","args":[{"property":"population"},50000]},{"op":"<>","args":[{"property":"nom"},"Bordeaux"]}]}
    ]}"#;
    let a = noms(&s, &format!("filter={}", enc(text))).await;
    let b = noms(&s, &format!("filter-lang=cql2-json&filter={}", enc(json))).await;
    assert_eq!(a, b);
    // The point is in Bordeaux; the others are the communes over 50,000 but Bordeaux.
    let mut want: BTreeSet<String> = file("communes-gironde.geojson")
        .iter()
        .filter(|f| f["properties"]["population"].as_f64().is_some_and(|p| p > 50000.0))
        .map(|f| f["properties"]["nom"].as_str().unwrap().to_string())
        .collect();
    want.insert("Bordeaux".into());
    assert!(want.len() > 2);
    assert_eq!(a, want);
    // A box: the communes it meets, with the bbox parameter narrowing further.
    let boxed = noms(&s, &format!("filter={}", enc("S_INTERSECTS(geometry, BBOX(-0.60, 44.82, -0.55, 44.86))"))).await;
    assert!(boxed.contains("Bordeaux") && boxed.len() < 10, "{boxed:?}");
    let both = noms(
        &s,
        &format!(
            "bbox=-0.58,44.84,-0.57,44.85&filter={}",
            enc("S_INTERSECTS(geometry, BBOX(-0.60, 44.82, -0.55, 44.86))")
        ),
    )
    .await;
    assert!(both.is_subset(&boxed) && both.contains("Bordeaux"), "{both:?}");
    // Disjoint spatial conjuncts select nothing; S_DISJOINT is the rest.
    assert!(noms(
        &s,
        &format!(
            "filter={}",
            enc("S_INTERSECTS(geometry, BBOX(-1,44,-0.9,44.1)) AND S_INTERSECTS(geometry, BBOX(0,45,0.1,45.1))")
        )
    )
    .await
    .is_empty());
    let all = noms(&s, "").await;
    let rest = noms(&s, &format!("filter={}", enc("S_DISJOINT(geometry, BBOX(-0.60, 44.82, -0.55, 44.86))"))).await;
    assert_eq!(rest.len() + boxed.len(), all.len());
    // Within: the glass points inside the box are those of a brute-force check.
    let points = file("points-collecte-synthetiques.geojson");
    let (st, _, j) = get(
        &s,
        &format!(
            "/collections/points/items?limit=10000&filter={}",
            enc("S_WITHIN(geometry, BBOX(-0.62, 44.80, -0.52, 44.88)) AND \"recycling:glass\" = 'yes'")
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{j}");
    let want = points
        .iter()
        .filter(|f| {
            let c = &f["geometry"]["coordinates"];
            let (x, y) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
            x > -0.62 && x < -0.52 && y > 44.80 && y < 44.88 && f["properties"]["recycling:glass"] == "yes"
        })
        .count();
    assert!(want > 10);
    assert_eq!(j["numberMatched"], want);
}

#[tokio::test]
async fn bad_filters_are_400_naming_filter_and_the_mistake() {
    let s = state();
    for (q, param, says) in [
        ("filter=nom%20%3D", "filter", "column 6"),
        ("filter=nom%20%3D%20'x", "filter", "never closed"),
        ("filter=colour%20%3D%20'red'", "filter", "unknown queryable \"colour\""),
        ("filter=population%20%3D%20'many'", "filter", "is a number"),
        ("filter=nom%20LIKE%20population", "filter", "string literal"),
        ("filter=casei(nom)%20%3D%20'x'", "filter", "not supported"),
        ("filter=geometry%20%3D%201", "filter", "spatial function"),
        ("filter=S_INTERSECTS(nom,%20POINT(0%200))", "filter", "not a geometry"),
        ("filter=nom%20%3D%20'x'&filter-lang=sql", "filter-lang", "cql2-text"),
        ("filter-lang=cql2-json", "filter-lang", "only meaningful"),
        ("filter=%7B%22op%22%3A%22%3D%22%7D&filter-lang=cql2-json", "filter", "args"),
        ("filter=nom%20%3D%20'x'&filter-crs=EPSG%3A9999999", "filter-crs", "EPSG:9999999"),
    ] {
        let (st, _, j) = get(&s, &format!("/collections/communes/items?{q}")).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{q}: {j}");
        assert_eq!(j["parameter"], param, "{q}: {j}");
        assert!(j["error"].as_str().unwrap().contains(says), "{q}: {j}");
    }
}

#[tokio::test]
async fn schema_and_queryables_list_every_property_of_the_file_in_its_order() {
    let s = state();
    // Every property name of the sparse points file, in order of first appearance.
    let mut want: Vec<String> = Vec::new();
    for f in file("points-collecte-synthetiques.geojson") {
        for k in f["properties"].as_object().unwrap().keys() {
            if !want.contains(k) {
                want.push(k.clone());
            }
        }
    }
    assert!(want.iter().filter(|k| k.starts_with("recycling:")).count() > 15);
    for path in ["schema", "queryables"] {
        let (st, ct, j) = get(&s, &format!("/collections/points/{path}")).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(ct, "application/schema+json");
        assert_eq!(j["$schema"], "https://json-schema.org/draft/2020-12/schema");
        let props: Vec<&String> = j["properties"].as_object().unwrap().keys().collect();
        let got: Vec<&String> = props.iter().copied().filter(|k| *k != "geometry" && *k != "id").collect();
        assert_eq!(got, want.iter().collect::<Vec<_>>(), "{path}");
        assert_eq!(j["properties"]["geometry"]["format"], "geometry-point");
        assert_eq!(j["properties"]["recycling:glass"]["enum"], serde_json::json!(["yes", "no"]));
    }
    let (_, _, j) = get(&s, "/collections/communes/queryables").await;
    assert_eq!(j["properties"]["population"]["type"], "integer");
    assert_eq!(j["properties"]["geometry"]["format"], "geometry-polygon-or-multipolygon");
    assert_eq!(j["additionalProperties"], false);
    // The GeoJSON form GDAL reads: the same properties under properties.properties.
    let (_, _, j) = get(&s, "/collections/points/feature-schema").await;
    assert_eq!(j["properties"]["properties"]["properties"].as_object().unwrap().len(), want.len());
    // Linked from the collection, and declared.
    let (_, _, c) = get(&s, "/collections/points").await;
    let rels: Vec<&str> = c["links"].as_array().unwrap().iter().map(|l| l["rel"].as_str().unwrap()).collect();
    for rel in [
        "describedby",
        "http://www.opengis.net/def/rel/ogc/1.0/queryables",
        "http://www.opengis.net/def/rel/ogc/1.0/schema",
    ] {
        assert!(rels.contains(&rel), "{rel} in {rels:?}");
    }
    let (_, _, conf) = get(&s, "/conformance").await;
    let classes = conf["conformsTo"].to_string();
    for c in ["ogcapi-features-3/1.0/conf/filter", "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/basic-spatial-functions"] {
        assert!(classes.contains(c), "{c}");
    }
    let (_, _, doc) = get(&s, "/openapi.json").await;
    let params = doc["paths"]["/collections/points/items"]["get"]["parameters"].as_array().unwrap();
    let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"recycling:glass") && names.contains(&"filter") && !names.contains(&"id"), "{names:?}");
    let (st, _, _) = get(&s, "/collections/nope/queryables").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn items_come_in_the_crs_asked_for_with_content_crs() {
    let s = state();
    let uri = |crs: &str| format!("/collections/communes/items?nom=Bordeaux&crs={}", enc(crs));
    let r84 = common::send(
        &s,
        Request::get(uri("http://www.opengis.net/def/crs/OGC/1.3/CRS84")).body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(r84.header("content-crs"), "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>");
    let r =
        common::send(&s, Request::get(uri("http://www.opengis.net/def/crs/EPSG/0/4326")).body(Body::empty()).unwrap())
            .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-crs"), "<http://www.opengis.net/def/crs/EPSG/0/4326>");
    // EPSG:4326 is latitude first: every position swapped, nothing else.
    let (a, b) = (r84.json(), r.json());
    let first = |v: &Value| v["features"][0]["geometry"]["coordinates"][0][0].clone();
    let (pa, pb) = (first(&a), first(&b));
    assert_eq!(pa.as_array().unwrap().len(), pb.as_array().unwrap().len());
    for (p, q) in pa.as_array().unwrap().iter().zip(pb.as_array().unwrap()) {
        assert_eq!((p[0].as_f64(), p[1].as_f64()), (q[1].as_f64(), q[0].as_f64()));
    }
    // Lambert-93: Bordeaux lies near (417 km, 6,424 km).
    let (st, _, j) = get(&s, &uri("EPSG:2154")).await;
    assert_eq!(st, StatusCode::OK);
    let p = &j["features"][0]["geometry"]["coordinates"][0][0][0];
    let (x, y) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
    assert!((400_000.0..430_000.0).contains(&x) && (6_410_000.0..6_440_000.0).contains(&y), "{x} {y}");
    // A single item too, and the collection lists what it offers.
    let id = j["features"][0]["id"].clone();
    let id = id.as_str().map(String::from).unwrap_or_else(|| id.to_string());
    let (st, _, one) = get(&s, &format!("/collections/communes/items/{id}?crs=EPSG%3A2154")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(one["geometry"], j["features"][0]["geometry"]);
    let (_, _, c) = get(&s, "/collections/communes").await;
    assert!(c["crs"].as_array().unwrap().iter().any(|u| u == "http://www.opengis.net/def/crs/EPSG/0/2154"));
    assert_eq!(c["storageCrs"], "http://www.opengis.net/def/crs/OGC/1.3/CRS84");
    for (q, param) in [
        ("crs=EPSG%3A9999", "crs"),
        ("crs=garbage", "crs"),
        ("bbox-crs=EPSG%3A2154", "bbox-crs"),
        ("bbox-crs=EPSG%3A2154&bbox=1,2,3", "bbox"),
        ("filter=TRUE&filter-crs=nope", "filter-crs"),
        ("offset=9007199254740993", "offset"),
    ] {
        let (st, _, j) = get(&s, &format!("/collections/communes/items?{q}")).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(j["parameter"], param, "{q}: {j}");
    }
    let (st, _, j) = get(&s, &format!("/collections/communes/items/{id}?colour=red")).await;
    assert_eq!((st, j["parameter"].as_str()), (StatusCode::BAD_REQUEST, Some("colour")));
    // A filter's geometries in Lambert-93 (filter-crs): the box around Bordeaux.
    let l93 =
        noms(&s, &format!("filter-crs=EPSG%3A2154&filter={}", enc("S_INTERSECTS(geometry, POINT(417500 6423500))")))
            .await;
    assert!(l93.contains("Bordeaux") && l93.len() == 1, "{l93:?}");
}

#[tokio::test]
async fn ogc_resources_come_as_readable_html_for_browsers() {
    let s = state();
    let html = |uri: &str, accept: Option<&str>| {
        let mut b = Request::get(uri).header("host", "t.test");
        if let Some(a) = accept {
            b = b.header("accept", a);
        }
        let s = s.clone();
        let req = b.body(Body::empty()).unwrap();
        async move { common::send(&s, req).await }
    };
    let browser = Some("text/html,application/xhtml+xml,*/*;q=0.8");
    let r = html("/collections", browser).await;
    assert_eq!(r.header("content-type"), "text/html; charset=utf-8");
    let text = String::from_utf8(r.body.clone()).unwrap();
    assert!(text.contains("href=\"http://t.test/collections/communes?f=html\""), "{text}");
    let r = html("/collections/points?f=html", None).await;
    assert!(String::from_utf8(r.body).unwrap().contains("/collections/points/queryables"));
    // A page of items: a table, its next link, a map of the page.
    let r = html("/collections/communes/items?limit=3&f=html", None).await;
    let text = String::from_utf8(r.body).unwrap();
    assert!(text.contains("<th>nom</th>") && text.contains("3 of 534 features"), "{text}");
    assert!(text.contains("offset=3") && text.contains(">next<"), "{text}");
    assert!(text.contains("/assets/maplibre-gl.mjs") && text.contains("\"FeatureCollection\""), "{text}");
    // An item: its properties, escaped; JSON stays JSON for API clients.
    let (_, _, j) = get(&s, "/collections/communes/items?nom=Bordeaux").await;
    let id = j["features"][0]["id"].to_string();
    let r = html(&format!("/collections/communes/items/{id}"), browser).await;
    let text = String::from_utf8(r.body).unwrap();
    assert!(text.contains("<th>nom</th><td>Bordeaux</td>"), "{text}");
    let r = html(&format!("/collections/communes/items/{id}"), Some("application/geo+json")).await;
    assert_eq!(r.json()["properties"]["nom"], "Bordeaux");
    assert!(r.header("vary").contains("Accept"));
    let (st, _, j) = get(&s, "/collections?f=xml").await;
    assert_eq!((st, j["parameter"].as_str()), (StatusCode::BAD_REQUEST, Some("f")));
    // An unknown route: JSON naming the routes there are.
    let (st, ct, j) = get(&s, "/colections").await;
    assert_eq!((st, ct.as_str()), (StatusCode::NOT_FOUND, "application/json"));
    assert!(j["known"].as_array().unwrap().iter().any(|r| r == "/collections/{id}/items"), "{j}");
}

#[tokio::test]
async fn datetime_selects_on_the_configured_time_property() {
    // Five features, one a day, and one without a date.
    let path = common::temp_dir("releves").join("releves.geojson");
    let features: Vec<Value> = (0..6)
        .map(|i| {
            let mut p = serde_json::json!({"n": i});
            if i < 5 {
                p["date"] = format!("2026-11-{:02}T{:02}:30:00Z", 20 + i, 8 + i).into();
            }
            serde_json::json!({"type": "Feature", "id": i, "properties": p,
                "geometry": {"type": "Point", "coordinates": [-0.5 + i as f64 * 0.01, 44.8]}})
        })
        .collect();
    std::fs::write(&path, serde_json::json!({"type": "FeatureCollection", "features": features}).to_string()).unwrap();
    let o = tuilerie_geo::LoadOptions {
        id: Some(tuilerie_geo::LayerId::new("releves").unwrap()),
        time_field: Some("date".into()),
        ..Default::default()
    };
    let s = AppState::ready(tuilerie_geo::Catalog::load(vec![(path, o)], 1), tuilerie_server::ServerOptions::default());
    let ns = |q: &'static str| {
        let s = s.clone();
        async move {
            let (st, _, j) = get(&s, &format!("/collections/releves/items?{q}")).await;
            assert_eq!(st, StatusCode::OK, "{q}: {j}");
            j["features"].as_array().unwrap().iter().map(|f| f["properties"]["n"].as_i64().unwrap()).collect::<Vec<_>>()
        }
    };
    assert_eq!(ns("datetime=2026-11-22").await, [2], "a date matches its whole day");
    assert_eq!(ns("datetime=2026-11-22T10:30:00Z").await, [2]);
    assert_eq!(ns("datetime=2026-11-21T00:00:00Z/2026-11-23T23:59:59Z").await, [1, 2, 3]);
    assert_eq!(ns("datetime=2026-11-23T00:00:00Z/..").await, [3, 4]);
    assert_eq!(ns("datetime=../2026-11-21").await, [0, 1]);
    assert_eq!(ns("datetime=2026-11-20/..&filter=n%20%3E%3D%203").await, [3, 4], "with a filter");
    let (st, _, j) = get(&s, "/collections/releves/items?datetime=2026-13-01").await;
    assert_eq!((st, j["parameter"].as_str()), (StatusCode::BAD_REQUEST, Some("datetime")));
}
