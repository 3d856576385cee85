//! Classification of a numeric variable into 2 to 9 classes.
//!
//! Classes are right-closed, as in mapclassify: class `i` holds the values
//! `v` with `breaks[i-1] < v <= breaks[i]` (class 0 from the minimum);
//! `breaks` are the upper bounds, the last one is the maximum. Missing
//! values form a separate "no data" class.
//!
//! - equal intervals: `min + i (max - min) / k`;
//! - quantiles: the `i/k` percentiles with linear interpolation (numpy's
//!   default, mapclassify's `Quantiles`), repeated values collapsed;
//! - natural breaks: optimal 1-D k-means (Ckmeans, Wang & Song), which
//!   minimises the within-class sum of squares like Fisher–Jenks; the upper
//!   bound of each cluster is a break;
//! - standard deviation: classes one standard deviation (population) wide,
//!   centred on the mean (an odd count puts the mean mid-class), clipped to
//!   the data range;
//! - manual: the inner breaks given, plus the maximum.

use super::ThematicError;
use serde::{Deserialize, Serialize};

pub const MIN_CLASSES: usize = 2;
pub const MAX_CLASSES: usize = 9;

/// A classification method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    EqualInterval,
    Quantile,
    NaturalBreaks,
    StdDev,
    Manual,
}

impl Method {
    pub const ALL: &'static [&'static str] = &["equal_interval", "quantile", "natural_breaks", "std_dev", "manual"];

    pub fn parse(s: &str) -> Result<Method, ThematicError> {
        Ok(match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "equal_interval" | "equal" => Method::EqualInterval,
            "quantile" | "quantiles" => Method::Quantile,
            "natural_breaks" | "jenks" | "ckmeans" => Method::NaturalBreaks,
            "std_dev" | "stddev" => Method::StdDev,
            "manual" => Method::Manual,
            _ => {
                return Err(ThematicError::new(
                    "method",
                    format!("unknown method {s:?}; use one of {}", Method::ALL.join(", ")),
                ))
            }
        })
    }
}

/// The classes of a variable.
#[derive(Debug, Clone, Serialize)]
pub struct Classes {
    pub method: Method,
    pub min: f64,
    /// Upper bound of each class; the last one is the maximum.
    pub breaks: Vec<f64>,
    /// Values per class.
    pub counts: Vec<usize>,
    /// Missing values.
    pub no_data: usize,
    pub warnings: Vec<String>,
}

impl Classes {
    /// The class of `v` (right-closed bounds).
    pub fn class_of(&self, v: f64) -> usize {
        self.breaks.partition_point(|&b| b < v).min(self.breaks.len().saturating_sub(1))
    }

    /// Lower and upper bound of class `i`.
    pub fn bounds(&self, i: usize) -> (f64, f64) {
        (if i == 0 { self.min } else { self.breaks[i - 1] }, self.breaks[i])
    }
}

/// The number of classes `method` makes: `k`, or one more than the
/// `manual` inner breaks (which must be finite and strictly increasing);
/// from [`MIN_CLASSES`] to [`MAX_CLASSES`].
pub fn class_count(method: &Method, k: usize, manual: &[f64]) -> Result<usize, ThematicError> {
    let mut k = k;
    if *method == Method::Manual {
        if manual.is_empty() {
            return Err(ThematicError::new(
                "breaks",
                "manual classification needs `breaks`, the inner class limits in increasing order",
            ));
        }
        if manual.windows(2).any(|w| w[0] >= w[1]) || manual.iter().any(|b| !b.is_finite()) {
            return Err(ThematicError::new(
                "breaks",
                format!("breaks {manual:?} must be finite and strictly increasing"),
            ));
        }
        k = manual.len() + 1;
    }
    if !(MIN_CLASSES..=MAX_CLASSES).contains(&k) {
        return Err(ThematicError::new("classes", format!("{k} classes asked; use {MIN_CLASSES} to {MAX_CLASSES}")));
    }
    Ok(k)
}

/// Classifies `values` (`None` is no data) into `k` classes.
pub fn classify(values: &[Option<f64>], method: &Method, k: usize, manual: &[f64]) -> Result<Classes, ThematicError> {
    let mut sorted: Vec<f64> = values.iter().flatten().copied().filter(|v| v.is_finite()).collect();
    let no_data = values.len() - sorted.len();
    if sorted.is_empty() {
        return Err(ThematicError::new("value", "no feature has a value to classify (every value is missing)"));
    }
    sorted.sort_by(f64::total_cmp);
    let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
    let mut warnings = Vec::new();
    let mut k = class_count(method, k, manual)?;
    let mut distinct = sorted.clone();
    distinct.dedup();
    if distinct.len() < k && *method != Method::Manual {
        warnings.push(format!("{} distinct values for {k} classes: {} classes made", distinct.len(), distinct.len()));
        k = distinct.len();
    }
    let mut breaks = match method {
        _ if k == 1 => vec![max],
        Method::EqualInterval => {
            (1..=k).map(|i| if i == k { max } else { min + (max - min) * i as f64 / k as f64 }).collect()
        }
        Method::Quantile => (1..=k).map(|i| percentile(&sorted, 100.0 * i as f64 / k as f64)).collect(),
        Method::NaturalBreaks => {
            let clusters = ckmeans::ckmeans(&sorted, k as u8)
                .map_err(|e| ThematicError::new("method", format!("natural breaks failed: {e}")))?;
            clusters.iter().filter_map(|c| c.last().copied()).collect()
        }
        Method::StdDev => {
            let n = sorted.len() as f64;
            let mean = sorted.iter().sum::<f64>() / n;
            let sd = (sorted.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt();
            // Even k: a break at the mean; odd k: the mean mid-class.
            let shift = if k % 2 == 0 { 0.0 } else { 0.5 };
            let half = (k / 2) as f64;
            let mut b: Vec<f64> = (1..k).map(|i| mean + (i as f64 - half - shift) * sd).collect();
            b.retain(|&x| x > min && x < max);
            b.push(max);
            if b.len() < k {
                warnings.push(format!(
                    "{} of {k} standard-deviation classes fall outside the data range and were dropped",
                    k - b.len()
                ));
            }
            b
        }
        Method::Manual => {
            let mut b: Vec<f64> = manual.iter().copied().filter(|&x| x < max).collect();
            if b.len() < manual.len() {
                warnings.push(format!("breaks at or above the maximum {max} were dropped"));
            }
            b.push(max);
            if manual[0] < min {
                warnings.push(format!("break {} is below the minimum {min}: the first class is empty", manual[0]));
            }
            b
        }
    };
    // Repeated breaks (ties) collapse, as mapclassify does.
    let before = breaks.len();
    breaks.dedup();
    if breaks.len() < before {
        warnings.push(format!("{} classes collapsed because of repeated values", before - breaks.len()));
    }
    let mut classes = Classes { method: method.clone(), min, breaks, counts: Vec::new(), no_data, warnings };
    classes.counts = vec![0; classes.breaks.len()];
    for &v in &sorted {
        let c = classes.class_of(v);
        classes.counts[c] += 1;
    }
    Ok(classes)
}

/// The `p`-th percentile (0..=100) of sorted values, interpolating linearly
/// between closest ranks (numpy's default).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let pos = (p / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(v: &[f64]) -> Vec<Option<f64>> {
        v.iter().map(|&x| Some(x)).collect()
    }

    #[test]
    fn equal_intervals_split_the_range_and_counts_add_up() {
        let c = classify(&some(&[0.0, 1.0, 2.5, 5.0, 7.5, 10.0]), &Method::EqualInterval, 4, &[]).unwrap();
        assert_eq!(c.breaks, [2.5, 5.0, 7.5, 10.0]);
        assert_eq!(c.counts, [3, 1, 1, 1]);
        assert_eq!(c.class_of(2.5), 0);
        assert_eq!(c.class_of(2.6), 1);
    }

    #[test]
    fn missing_values_are_no_data_and_ties_reduce_classes() {
        let c = classify(&[Some(1.0), None, Some(1.0), Some(2.0), None], &Method::Quantile, 4, &[]).unwrap();
        assert_eq!(c.no_data, 2);
        assert_eq!(c.breaks.len(), 2);
        assert!(c.warnings[0].contains("2 distinct values"), "{:?}", c.warnings);
        assert_eq!(c.counts.iter().sum::<usize>(), 3);
    }

    #[test]
    fn bad_parameters_are_errors_naming_them() {
        assert_eq!(classify(&some(&[1.0, 2.0]), &Method::Quantile, 1, &[]).unwrap_err().parameter, "classes");
        assert_eq!(classify(&some(&[1.0, 2.0]), &Method::Quantile, 10, &[]).unwrap_err().parameter, "classes");
        assert_eq!(classify(&[None, None], &Method::Quantile, 3, &[]).unwrap_err().parameter, "value");
        assert_eq!(classify(&some(&[1.0, 2.0]), &Method::Manual, 3, &[5.0, 1.0]).unwrap_err().parameter, "breaks");
        assert_eq!(Method::parse("kmeans").unwrap_err().parameter, "method");
    }

    #[test]
    fn std_dev_classes_centre_on_the_mean() {
        let v: Vec<f64> = (0..=100).map(|i| i as f64).collect();
        let c = classify(&some(&v), &Method::StdDev, 4, &[]).unwrap();
        let sd = (v.iter().map(|x| (x - 50.0) * (x - 50.0)).sum::<f64>() / 101.0).sqrt();
        assert_eq!(c.breaks.len(), 4);
        assert!((c.breaks[1] - 50.0).abs() < 1e-9);
        assert!((c.breaks[0] - (50.0 - sd)).abs() < 1e-9);
        let odd = classify(&some(&v), &Method::StdDev, 3, &[]).unwrap();
        assert!((odd.breaks[0] - (50.0 - sd / 2.0)).abs() < 1e-9);
    }

    #[test]
    fn manual_breaks_add_the_maximum() {
        let c = classify(&some(&[1.0, 5.0, 20.0, 200.0]), &Method::Manual, 0, &[10.0, 100.0]).unwrap();
        assert_eq!(c.breaks, [10.0, 100.0, 200.0]);
        assert_eq!(c.counts, [2, 1, 1]);
    }
}
