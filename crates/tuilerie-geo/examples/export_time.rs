//! What the report exports of a thematic map cost: the population of the
//! 538 communes of Gironde (the shared data's CSV joined to the communes),
//! exported as SVG, PDF (A4 landscape) and CSV, each the median of RUNS:
//!   cargo run --release -p tuilerie-geo --example export_time -- SHARED_DATA_DIR [RUNS]
#![allow(clippy::unwrap_used)]
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tuilerie_geo::thematic::export::{csv, Separator};
use tuilerie_geo::thematic::pdf::{render_pdf, Orientation, Paper, PdfOptions};
use tuilerie_geo::thematic::svg::{render_svg, SvgOptions};
use tuilerie_geo::thematic::{MapDefinition, MapInputs, Table, ThematicMap};
use tuilerie_geo::{Catalog, LoadOptions};

fn median_ms(runs: usize, mut f: impl FnMut() -> usize) -> (f64, usize) {
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..runs {
        let t = Instant::now();
        size = f();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], size)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let shared = PathBuf::from(args.next().expect("the shared data folder (holding gironde/)"));
    let runs: usize = args.next().map_or(5, |r| r.parse().unwrap());
    let o = LoadOptions { id: tuilerie_geo::LayerId::new("communes").ok(), ..Default::default() };
    let catalog = Catalog::load(vec![(shared.join("gironde/communes-33.geojson"), o)], 1);
    let table = Table::read(&shared.join("gironde/population-33.csv")).unwrap();
    let tables = HashMap::from([("population".to_string(), Arc::new(table))]);
    let definition: MapDefinition = serde_json::from_value(serde_json::json!({
        "title": "Population municipale des communes de Gironde", "layer": "communes",
        "join": {"table": "population", "key": "code_insee", "field": "code"},
        "value": {"field": "population_municipale"}, "method": "natural_breaks", "classes": 6, "unit": "habitants",
    }))
    .unwrap();
    let map = ThematicMap::build(definition, &MapInputs { catalog: &catalog, tables: &tables }).unwrap();
    let (svg_ms, svg_bytes) =
        median_ms(runs, || render_svg(&map, &SvgOptions { width: 1200, source: Some("INSEE"), date: None }).len());
    let (pdf_ms, pdf_bytes) = median_ms(runs, || {
        let o = PdfOptions {
            paper: Paper::A4,
            orientation: Orientation::Landscape,
            source: Some("INSEE"),
            date: Some("01/12/2026"),
        };
        render_pdf(&map, &o).unwrap().len()
    });
    let (csv_ms, csv_bytes) = median_ms(runs, || csv(&map, Separator::Semicolon, true).len());
    println!("{} features, median of {runs}", map.layer.len());
    println!("svg  {svg_ms:8.1} ms  {svg_bytes} bytes");
    println!("pdf  {pdf_ms:8.1} ms  {pdf_bytes} bytes (A4 landscape)");
    println!("csv  {csv_ms:8.1} ms  {csv_bytes} bytes");
}
