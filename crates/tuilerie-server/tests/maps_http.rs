//! Thematic maps over HTTP on the real Gironde files: a CSV uploaded to
//! `/tables`, a population map created with `POST /maps`, its legend, its
//! tiles (decoded by the independent JavaScript decoder), its style
//! (MapLibre's validator) and its SVG (parsed by roxmltree) and PNG (decoded
//! by the png crate) exports; bad inputs answer 400 naming the parameter.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use tuilerie_server::{AppState, ServerOptions};

use common::{gironde, node};

mod common;

fn state() -> AppState {
    common::with_store(
        &[
            common::layer(gironde("communes-33.geojson"), "communes", false),
            common::layer(gironde("decheteries-6element.geojson"), "decheteries", false),
        ],
        ServerOptions { attribution: Some("INSEE, IGN".into()), ..Default::default() },
    )
}

async fn send(state: &AppState, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let r = common::send(state, req).await;
    (r.status, r.headers, r.body)
}

async fn get(state: &AppState, uri: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    send(state, Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn post(state: &AppState, uri: &str, body: impl Into<Body>) -> (StatusCode, serde_json::Value) {
    let content_type = if uri.starts_with("/tables") { "text/csv" } else { "application/json" };
    let req = Request::post(uri).header(header::CONTENT_TYPE, content_type).body(body.into()).unwrap();
    let (status, _, bytes) = send(state, req).await;
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

async fn population_map(state: &AppState) -> serde_json::Value {
    let csv = std::fs::read(gironde("population-33.csv")).unwrap();
    let (status, t) = post(state, "/tables?id=population&name=population-33.csv", csv).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    assert_eq!(t["rows"], 538);
    assert_eq!(t["delimiter"], ";");
    let def = serde_json::json!({
        "id": "population",
        "title": "Population municipale des communes de Gironde",
        "layer": "communes",
        "join": {"table": "population", "key": "code_insee", "field": "code"},
        "value": {"field": "population_municipale"},
        "method": "natural_breaks",
        "classes": 6,
        "palette": "YlOrRd",
        "unit": "habitants",
    });
    let (status, m) = post(state, "/maps", def.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    m
}

#[tokio::test]
async fn population_map_joins_the_csv_and_its_legend_adds_up_to_every_commune() {
    let state = state();
    let m = population_map(&state).await;
    assert_eq!(m["join"]["matched"], 538);
    assert_eq!(m["join"]["unmatched_rows"].as_array().unwrap().len(), 0);
    // 534 communes have a population; the 4 others are reported with their line.
    let no_data = m["no_data"].as_array().unwrap();
    let mut keys: Vec<&str> = no_data.iter().map(|n| n["key"].as_str().unwrap()).collect();
    keys.sort();
    assert_eq!(keys, ["33092", "33267", "33338", "33409"]);
    assert!(no_data.iter().all(|n| n["reason"].as_str().unwrap().contains("population-33.csv line")));

    let (status, _, body) = get(&state, "/maps/population/legend").await;
    assert_eq!(status, StatusCode::OK);
    let legend = json(&body);
    let classes = legend["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 6);
    let counted: u64 = classes.iter().map(|c| c["count"].as_u64().unwrap()).sum::<u64>()
        + legend["no_data"]["count"].as_u64().unwrap();
    assert_eq!(counted, 538);
    assert_eq!(legend["total"], 538);
    assert_eq!(legend["no_data"]["count"], 4);
    // Upper bounds increase, the last is Bordeaux's population.
    let uppers: Vec<f64> = classes.iter().map(|c| c["upper"].as_f64().unwrap()).collect();
    assert!(uppers.windows(2).all(|w| w[0] < w[1]), "{uppers:?}");

    let (_, _, body) = get(&state, "/maps").await;
    let list = json(&body);
    assert!(list["maps"].as_array().unwrap().iter().any(|x| x["id"] == "population"));
    assert!(list["palettes"].as_array().unwrap().iter().any(|p| p["name"] == "YlOrRd"));
}

#[tokio::test]
async fn svg_and_png_exports_parse_and_have_the_requested_width() {
    let state = state();
    population_map(&state).await;
    let (status, h, svg) = get(&state, "/maps/population.svg?width=900").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "image/svg+xml");
    let text = String::from_utf8(svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("the SVG parses");
    let svg_root = doc.root_element();
    assert_eq!(svg_root.attribute("width"), Some("900"));
    let features = doc.descendants().find(|n| n.attribute("id") == Some("features")).unwrap();
    assert_eq!(features.children().filter(|n| n.has_tag_name("path")).count(), 538);
    for part in ["legend", "scale-bar", "north-arrow", "source"] {
        assert!(doc.descendants().any(|n| n.attribute("id") == Some(part)), "no {part}");
    }
    assert!(text.contains("Population municipale des communes de Gironde"));
    assert!(text.contains("Source : INSEE, IGN"));

    let (status, h, png) = get(&state, "/maps/population.png?width=800").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "image/png");
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.width, 800);
    assert!(info.height > 400, "{}", info.height);
    // Not a blank image: the classes' colours are painted.
    let distinct: std::collections::HashSet<&[u8]> = buf.chunks(4).collect();
    assert!(distinct.len() > 20, "{} colours", distinct.len());

    for bad in ["10", "abc", "9000"] {
        let (status, _, body) = get(&state, &format!("/maps/population.png?width={bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(json(&body)["parameter"], "width");
    }
    let (status, _, _) = get(&state, "/maps/nope.svg").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn map_tiles_carry_value_and_class_and_the_map_style_validates() {
    let state = state();
    let m = population_map(&state).await;
    let breaks: Vec<f64> = m["classes"]["breaks"].as_array().unwrap().iter().map(|b| b.as_f64().unwrap()).collect();
    let (status, _, tile) = get(&state, "/maps/population/tiles/8/127/91.mvt").await;
    assert_eq!(status, StatusCode::OK);
    let path = std::env::temp_dir().join(format!("tuilerie-map-tile-{}.mvt", std::process::id()));
    std::fs::write(&path, &tile).unwrap();
    let (ok, out) = node("decode-mvt.mjs", std::slice::from_ref(&path), None);
    assert!(ok, "{out}");
    let decoded: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let layer = &decoded["layers"]["population"];
    let features = layer["features"].as_array().unwrap();
    assert!(features.len() > 10, "{}", features.len());
    let mut checked = 0;
    for f in features {
        let p = &f["properties"];
        let class = p["class"].as_i64().unwrap();
        match p["value"].as_f64() {
            Some(v) => {
                let expected = breaks.iter().position(|&b| v <= b).unwrap() as i64;
                assert_eq!(class, expected, "{p}");
                checked += 1;
            }
            None => assert_eq!(class, -1, "{p}"),
        }
    }
    assert!(checked > 10);
    let _ = std::fs::remove_file(path);

    let (status, _, style) = get(&state, "/maps/population/style.json").await;
    assert_eq!(status, StatusCode::OK);
    let (ok, out) = node("validate-style.mjs", &[], Some(&style));
    assert!(ok, "map style invalid: {out}");
}

#[tokio::test]
async fn bad_map_inputs_answer_400_naming_the_parameter() {
    let state = state();
    population_map(&state).await;
    let base = serde_json::json!({
        "title": "t", "layer": "communes",
        "join": {"table": "population", "key": "code_insee", "field": "code"},
        "value": {"field": "population_municipale"},
    });
    let with = |k: &str, v: serde_json::Value| {
        let mut d = base.clone();
        d[k] = v;
        d.to_string()
    };
    let cases = [
        (with("palette", "Arc-en-ciel".into()), "palette"),
        (with("classes", 1.into()), "classes"),
        (with("method", "kmeans".into()), "method"),
        (with("join", serde_json::json!({"table": "population", "key": "insee", "field": "code"})), "join.key"),
        (with("join", serde_json::json!({"table": "nope", "key": "code_insee", "field": "code"})), "join.table"),
        (with("layer", "decheteries".into()), "layer"),
        (with("value", serde_json::json!({"count": "decheteries", "accepts": "plutonium"})), "value.accepts"),
        (with("bogus", 1.into()), "body"),
        ("not json".to_string(), "body"),
    ];
    for (body, parameter) in cases {
        let (status, e) = post(&state, "/maps", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {e}");
        assert_eq!(e["parameter"], parameter, "{body}: {e}");
    }
    let (status, e) = post(&state, "/tables?id=x", "").await;
    assert_eq!((status, e["parameter"].as_str()), (StatusCode::BAD_REQUEST, Some("body")));
    let (status, e) = post(&state, "/tables", "a;b\n1;2\n").await;
    assert_eq!((status, e["parameter"].as_str()), (StatusCode::BAD_REQUEST, Some("id")));
    let (status, e) = post(&state, "/tables?id=x", "a;b\n1;2;3\n").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(e["error"].as_str().unwrap().contains("line 2"), "{e}");
    // Non-numeric values are no data with their line, not an error.
    let (status, _) = post(&state, "/tables?id=bad", "code;v\n33063;beaucoup\n33001;12\n33003;7\n").await;
    assert_eq!(status, StatusCode::CREATED);
    let def = serde_json::json!({"title": "t", "layer": "communes", "join": {"table": "bad", "key": "code", "field": "code"}, "value": {"field": "v"}, "classes": 2});
    let (status, m) = post(&state, "/maps", def.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    let reasons: Vec<&str> = m["no_data"].as_array().unwrap().iter().map(|n| n["reason"].as_str().unwrap()).collect();
    assert!(
        reasons.iter().any(|r| r.contains("\"beaucoup\" is not a number (t.csv line 2")
            || r.contains("\"beaucoup\" is not a number (bad.csv line 2")),
        "{reasons:?}"
    );
    let (status, _, _) = send(&state, Request::delete("/maps/t").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = get(&state, "/maps/t").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn writes_take_only_their_media_type_and_tables_in_use_cannot_be_deleted() {
    let state = state();
    let csv = std::fs::read(gironde("population-33.csv")).unwrap();
    // A form or text/plain body (what another site's page may post without
    // a preflight) is refused with 415, as is a body without a type.
    for ct in [Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data"), None] {
        let mut req = Request::post("/tables?id=population");
        if let Some(ct) = ct {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let (status, _, body) = send(&state, req.body(Body::from(csv.clone())).unwrap()).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct:?}");
        assert_eq!(json(&body)["parameter"], "Content-Type");
        let req = Request::post("/maps").header(header::CONTENT_TYPE, ct.unwrap_or("text/csv"));
        let (status, _, _) = send(&state, req.body(Body::from("{}")).unwrap()).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct:?}");
    }
    let req = Request::post("/tables?id=population").header(header::CONTENT_TYPE, "text/csv; charset=utf-8");
    let (status, _, _) = send(&state, req.body(Body::from(csv)).unwrap()).await;
    assert_eq!(status, StatusCode::CREATED);
    population_map(&state).await;
    // The map joins the table: deleting it is refused, naming the map.
    let (status, _, body) = send(&state, Request::delete("/tables/population").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(json(&body)["used_by"], serde_json::json!(["population"]));
    let (status, _, _) = send(&state, Request::delete("/maps/population").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = send(&state, Request::delete("/tables/population").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = get(&state, "/tables/population").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = send(&state, Request::delete("/tables/population").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn configured_limits_bound_tables_and_maps_and_refusals_name_them() {
    let limits =
        tuilerie_server::limits::Limits { max_columns: 2, max_tables: 1, max_body_bytes: 64, ..Default::default() };
    let state = common::with_store(&[], ServerOptions { limits, ..Default::default() });
    let csv = |body: &'static str| {
        Request::post("/tables?id=a").header("content-type", "text/csv").body(Body::from(body)).unwrap()
    };
    let (status, _, body) = send(&state, csv("a;b;c\n1;2;3\n")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("3 columns, more than the limit of 2"), "{body:?}");
    let (status, _, _) = send(&state, csv("a;b\n1;2\n")).await;
    assert_eq!(status, StatusCode::CREATED);
    let second =
        Request::post("/tables?id=b").header("content-type", "text/csv").body(Body::from("a;b\n1;2\n")).unwrap();
    let (status, _, body) = send(&state, second).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("limits.max_tables"), "{}", String::from_utf8_lossy(&body));
    let big =
        Request::post("/tables?id=a").header("content-type", "text/csv").body(Body::from("a;b\n".repeat(40))).unwrap();
    let (status, _, body) = send(&state, big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(String::from_utf8_lossy(&body).contains("limit of 64 bytes"), "{}", String::from_utf8_lossy(&body));
}

/// The numbers behind a map (CSV and GeoJSON) equal what its tiles (read
/// by the independent decoder) and its legend say.
#[tokio::test]
async fn csv_and_geojson_exports_equal_the_tiles_and_the_legend() {
    let state = state();
    population_map(&state).await;
    // A density: population per km², so the ratio inputs are exported too.
    let def = serde_json::json!({
        "id": "densite", "title": "Densité", "layer": "communes",
        "join": {"table": "population", "key": "code_insee", "field": "code"},
        "value": {"field": "population_municipale"}, "ratio": {"per": "km2"},
        "method": "quantile", "classes": 5, "unit": "hab./km²",
    });
    let (status, m) = post(&state, "/maps", def.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{m}");
    let (status, headers, body) = get(&state, "/maps/densite.csv").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    let mut reader = csv::Reader::from_reader(&body[..]);
    let head: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(head, ["key", "name", "value", "numerator", "denominator", "class", "class_label", "color", "no_data"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 538);
    let by_key: std::collections::HashMap<String, &csv::StringRecord> =
        rows.iter().map(|r| (r[0].to_string(), r)).collect();
    // The legend: its counts are the rows of each class, its labels theirs.
    let legend = &m["legend"]["classes"];
    let no_data = &m["legend"]["no_data"];
    let without: Vec<_> = rows.iter().filter(|r| r[5] == *"-1").collect();
    assert_eq!(without.len() as u64, no_data["count"].as_u64().unwrap());
    assert!(without.iter().all(|r| r[6] == no_data["label"] && r[7] == no_data["color"]));
    for entry in legend.as_array().unwrap() {
        let class = entry["class"].as_i64().unwrap().to_string();
        let members: Vec<_> = rows.iter().filter(|r| r[5] == class).collect();
        assert_eq!(members.len() as u64, entry["count"].as_u64().unwrap(), "{entry}");
        assert!(members.iter().all(|r| r[6] == entry["label"] && r[7] == entry["color"]), "{entry}");
    }
    for r in &rows {
        let (value, num, den): (Option<f64>, Option<f64>, Option<f64>) =
            (r[2].parse().ok(), r[3].parse().ok(), r[4].parse().ok());
        match value {
            Some(v) => assert!((v - num.unwrap() / den.unwrap()).abs() <= 1e-9 * v.abs(), "{r:?}"),
            None => assert!(!r[8].is_empty() && r[5] == *"-1", "{r:?}"),
        }
    }
    // The tiles: the same value and class for every commune they carry.
    let (status, _, tile) = get(&state, "/maps/densite/tiles/8/127/91.mvt").await;
    assert_eq!(status, StatusCode::OK);
    let path = std::env::temp_dir().join(format!("tuilerie-map-export-{}.mvt", std::process::id()));
    std::fs::write(&path, &tile).unwrap();
    let (ok, out) = node("decode-mvt.mjs", std::slice::from_ref(&path), None);
    assert!(ok, "{out}");
    let _ = std::fs::remove_file(&path);
    let decoded: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let features = decoded["layers"]["densite"]["features"].as_array().unwrap();
    assert!(features.len() > 10);
    for f in features {
        let p = &f["properties"];
        let row = by_key[p["code"].as_str().unwrap()];
        assert_eq!(row[5], p["class"].as_i64().unwrap().to_string(), "{p}");
        match p["value"].as_f64() {
            // Equal to the last bit or so (the decoder's JSON printing).
            Some(v) => assert!((row[2].parse::<f64>().unwrap() - v).abs() <= 1e-12 * v.abs(), "{p} {row:?}"),
            None => assert_eq!(&row[2], ""),
        }
    }
    // GeoJSON: the same rows with the polygons.
    let (status, headers, body) = get(&state, "/maps/densite.geojson").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/geo+json");
    let g = json(&body);
    let features = g["features"].as_array().unwrap();
    assert_eq!(features.len(), 538);
    for f in features {
        let p = &f["properties"];
        let row = by_key[p["key"].as_str().unwrap()];
        assert_eq!(row[5], p["class"].as_i64().unwrap().to_string());
        assert_eq!(&row[6], p["class_label"].as_str().unwrap());
        assert!(f["geometry"]["type"].as_str().unwrap().ends_with("Polygon"));
    }
    assert_eq!(g["legend"], *legend);
    assert_eq!(g["no_data"], *no_data);
    // French spreadsheets: `;` and decimal commas, a byte-order mark on request.
    let (_, _, body) = get(&state, "/maps/densite.csv?sep=;&bom=true").await;
    assert!(body.starts_with("\u{feff}key;name;value;".as_bytes()));
    let text = String::from_utf8(body).unwrap();
    let line = text.lines().nth(1).unwrap();
    let value = line.split(';').nth(2).unwrap();
    assert!(value.contains(',') && !value.contains('.'), "{line}");
    // Bad parameters name themselves.
    for (uri, name) in [
        ("/maps/densite.csv?sep=tab", "sep"),
        ("/maps/densite.csv?bom=yes", "bom"),
        ("/maps/densite.geojson?sep=pipe", "sep"),
        ("/maps/densite?width=-923", "width"),
        ("/maps/densite.csv?paper=b5", "paper"),
    ] {
        let (status, _, body) = get(&state, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(String::from_utf8_lossy(&body).contains(name), "{uri}");
    }
    let (status, _, _) = get(&state, "/maps/nope.csv").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The PDF for reports, read back by poppler (pdfinfo, pdftotext): the
/// paper size asked for, the title, every legend label and count, the
/// source and the date as text.
#[tokio::test]
async fn pdf_exports_have_the_page_size_and_the_legend_as_text() {
    let state = state();
    let m = population_map(&state).await;
    let dir = common::temp_dir("map-pdf");
    let norm = |s: &str| s.replace(['\u{202f}', '\u{a0}'], " ").split_whitespace().collect::<Vec<_>>().join(" ");
    for (query, paper, landscape) in [("", "A4", true), ("?paper=a3&orientation=portrait", "A3", false)] {
        let (status, headers, body) = get(&state, &format!("/maps/population.pdf{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/pdf");
        assert!(body.starts_with(b"%PDF-"));
        let file = dir.join(format!("population-{paper}.pdf"));
        std::fs::write(&file, &body).unwrap();
        let run = |tool: &str, args: &[&str]| {
            let out = std::process::Command::new(tool)
                .args(args)
                .arg(&file)
                .args(if tool == "pdftotext" { vec!["-"] } else { vec![] })
                .output()
                .unwrap_or_else(|e| panic!("{tool} (poppler-utils, scripts/setup.sh installs it): {e}"));
            assert!(out.status.success(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        };
        let info = run("pdfinfo", &[]);
        let size = info.lines().find(|l| l.starts_with("Page size:")).unwrap();
        assert!(size.contains(&format!("({paper})")), "{size}");
        let nums: Vec<f64> = size.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        assert_eq!(nums[0] > nums[1], landscape, "{size}");
        assert!(info.lines().any(|l| l.starts_with("Pages:") && l.ends_with(" 1")), "{info}");
        let text = norm(&run("pdftotext", &[]));
        assert!(text.contains("Population municipale des communes de Gironde"), "{text}");
        for entry in m["legend"]["classes"].as_array().unwrap() {
            // The page shows the unit once, above the classes.
            let unit = format!(" {}", m["definition"]["unit"].as_str().unwrap());
            let label = norm(entry["label"].as_str().unwrap().trim_end_matches(unit.as_str()));
            assert!(text.contains(&label), "{label} in {text}");
            assert!(text.contains(&entry["count"].to_string()), "{entry}");
        }
        assert!(text.contains("Source : INSEE, IGN") && text.contains("Édité le"), "{text}");
    }
    for (uri, name) in
        [("/maps/population.pdf?paper=letter", "paper"), ("/maps/population.pdf?orientation=up", "orientation")]
    {
        let (status, _, body) = get(&state, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(String::from_utf8_lossy(&body).contains(name));
    }
}
