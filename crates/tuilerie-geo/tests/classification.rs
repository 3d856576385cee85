//! Our class breaks against independent implementations: mapclassify's
//! Quantiles and FisherJenks and jenkspy, computed once by
//! `scripts/classification_reference.py` (inputs and results committed in
//! tests/fixtures/classification/reference.json).
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use tuilerie_geo::thematic::{classify, Method};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn assert_breaks(ours: &[f64], theirs: &[f64], what: &str) {
    assert_eq!(ours.len(), theirs.len(), "{what}: {ours:?} vs {theirs:?}");
    for (a, b) in ours.iter().zip(theirs) {
        assert!(close(*a, *b), "{what}: {ours:?} vs {theirs:?}");
    }
}

#[test]
fn quantile_and_natural_breaks_equal_mapclassify_and_jenkspy() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/classification/reference.json"))
            .unwrap();
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = r["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 16);
    for case in cases {
        let input = case["input"].as_str().unwrap();
        let k = case["k"].as_u64().unwrap() as usize;
        let values: Vec<Option<f64>> = r["inputs"][input].as_array().unwrap().iter().map(|v| v.as_f64()).collect();
        let list =
            |key: &str| -> Vec<f64> { case[key].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect() };
        let q = classify(&values, &Method::Quantile, k, &[]).unwrap();
        assert_breaks(&q.breaks, &list("quantile"), &format!("{input} quantiles k={k}"));
        let j = classify(&values, &Method::NaturalBreaks, k, &[]).unwrap();
        assert_breaks(&j.breaks, &list("fisher_jenks"), &format!("{input} natural breaks k={k} (mapclassify)"));
        assert_breaks(&j.breaks, &list("jenkspy"), &format!("{input} natural breaks k={k} (jenkspy)"));
        assert_eq!(j.counts.iter().sum::<usize>(), values.len());
    }
}
