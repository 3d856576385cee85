//! Query parameters as requests carry them (text), checked once into typed
//! queries; every error names its parameter.

use crate::error::ParamError;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// Parameters of a request by name (for a repeated name, the last wins).
pub trait QueryParams {
    fn get(&self, name: &str) -> Option<&str>;
}

impl QueryParams for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

/// A finite number, if the parameter is present.
pub fn number(params: &(impl QueryParams + ?Sized), name: &str) -> Result<Option<f64>, ParamError> {
    match params.get(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Some)
            .ok_or_else(|| ParamError::new(name, format!("{name} must be a number, got {v:?}"))),
    }
}

/// `now` or an RFC 3339 time.
pub fn parse_time(name: &str, v: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ParamError> {
    if v.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    DateTime::parse_from_rfc3339(v).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        ParamError::new(
            name,
            format!("{name} must be \"now\" or an RFC 3339 time such as 2026-11-28T10:00:00+01:00, got {v:?}"),
        )
    })
}

/// `minx,miny,maxx,maxy` in any CRS (a 6-value bbox ignores heights),
/// each number finite; the order of the corners is the caller's to check.
pub fn bbox_numbers(v: &str) -> Result<[f64; 4], ParamError> {
    let bad = |m: String| ParamError::new("bbox", m);
    let nums: Vec<f64> = v
        .split(',')
        .map(|s| s.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad(format!("bbox must be 4 numbers minx,miny,maxx,maxy, got {v:?}")))?;
    match nums.len() {
        4 => Ok([nums[0], nums[1], nums[2], nums[3]]),
        6 => Ok([nums[0], nums[1], nums[3], nums[4]]),
        n => Err(bad(format!("bbox must have 4 (or 6) numbers, got {n}"))),
    }
}

/// Parses `bbox=minx,miny,maxx,maxy` in CRS84 (a 6-value bbox ignores heights).
pub fn parse_bbox(v: &str) -> Result<[f64; 4], ParamError> {
    let bad = |m: String| ParamError::new("bbox", m);
    let b = bbox_numbers(v)?;
    if b[1] > b[3] {
        return Err(bad(format!("bbox miny {} is greater than maxy {}", b[1], b[3])));
    }
    if b[0] > b[2] {
        return Err(bad(format!(
            "bbox minx {} is greater than maxx {} (antimeridian-crossing boxes are not supported)",
            b[0], b[2]
        )));
    }
    if b[1] < -90.0 || b[3] > 90.0 || b[0] < -180.0 || b[2] > 180.0 {
        return Err(bad("bbox must lie within [-180, -90, 180, 90]".into()));
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bbox_errors_name_the_parameter_and_accept_six_values() {
        assert_eq!(parse_bbox("-1,44,0,45").unwrap(), [-1.0, 44.0, 0.0, 45.0]);
        assert_eq!(parse_bbox("-1,44,0,0,45,10").unwrap(), [-1.0, 44.0, 0.0, 45.0]);
        for bad in ["1,2,3", "a,b,c,d", "0,50,1,40", "10,0,5,1", "-200,0,0,1"] {
            assert_eq!(parse_bbox(bad).unwrap_err().parameter, "bbox", "{bad}");
        }
    }

    #[test]
    fn times_are_now_or_rfc3339() {
        let now = Utc::now();
        assert_eq!(parse_time("open", "NOW", now).unwrap(), now);
        assert_eq!(
            parse_time("open", "2026-11-28T10:00:00+01:00", now).unwrap().to_rfc3339(),
            "2026-11-28T09:00:00+00:00"
        );
        assert_eq!(parse_time("open", "tomorrow", now).unwrap_err().parameter, "open");
    }
}
