//! cql2-json: `{"op": ..., "args": [...]}` objects, `{"property": ...}`,
//! `{"date": ...}`, `{"timestamp": ...}`, `{"bbox": [...]}` and GeoJSON
//! geometries. Errors name the place in the document (`args[1].args[0]`).

use super::{error, parse_date, parse_timestamp, CmpOp, Raw, RawOperand, SpatialOp};
use crate::error::ParamError;
use geo::{Coord, Geometry, Rect};
use serde_json::Value;

/// Nesting allowed before a filter is refused (stack safety).
const MAX_DEPTH: usize = 64;

pub(super) fn parse(src: &str) -> Result<Raw, ParamError> {
    // serde_json refuses documents nested deeper than 128 levels.
    let v: Value = serde_json::from_str(src).map_err(|e| error(format!("not JSON: {e}")))?;
    expr(&v, "filter", 0)
}

fn at(path: &str, message: impl std::fmt::Display) -> ParamError {
    error(format!("{path}: {message}"))
}

fn args<'a>(v: &'a Value, path: &str, op: &str, n: Option<usize>) -> Result<&'a [Value], ParamError> {
    let a =
        v.get("args").and_then(Value::as_array).ok_or_else(|| at(path, format!("{op:?} needs an \"args\" array")))?;
    if let Some(n) = n {
        if a.len() != n {
            return Err(at(path, format!("{op:?} takes {n} argument(s), got {}", a.len())));
        }
    }
    Ok(a)
}

fn expr(v: &Value, path: &str, depth: usize) -> Result<Raw, ParamError> {
    if depth > MAX_DEPTH {
        return Err(at(path, format!("the filter nests more than {MAX_DEPTH} levels")));
    }
    if let Value::Bool(b) = v {
        return Ok(Raw::Literal(*b));
    }
    let op = v
        .get("op")
        .and_then(Value::as_str)
        .ok_or_else(|| at(path, "expected a boolean expression: an object with \"op\" and \"args\", or true/false"))?;
    if let Some(obj) = v.as_object() {
        if let Some(k) = obj.keys().find(|k| *k != "op" && *k != "args") {
            return Err(at(path, format!("unknown member {k:?} (an operation has \"op\" and \"args\")")));
        }
    }
    let sub = |i: usize| format!("{path}.args[{i}]");
    let lower = op.to_ascii_lowercase();
    let cmp = match op {
        "=" => Some(CmpOp::Eq),
        "<>" => Some(CmpOp::Ne),
        "<" => Some(CmpOp::Lt),
        "<=" => Some(CmpOp::Le),
        ">" => Some(CmpOp::Gt),
        ">=" => Some(CmpOp::Ge),
        _ => None,
    };
    if let Some(c) = cmp {
        let a = args(v, path, op, Some(2))?;
        return Ok(Raw::Compare(c, scalar(&a[0], &sub(0))?, scalar(&a[1], &sub(1))?));
    }
    if let Some(s) = SpatialOp::from_name(&lower) {
        let a = args(v, path, op, Some(2))?;
        return Ok(Raw::Spatial(s, spatial(&a[0], &sub(0))?, spatial(&a[1], &sub(1))?));
    }
    match lower.as_str() {
        "and" | "or" => {
            let a = args(v, path, op, None)?;
            if a.len() < 2 {
                return Err(at(path, format!("{op:?} takes at least 2 arguments, got {}", a.len())));
            }
            let parts = a.iter().enumerate().map(|(i, x)| expr(x, &sub(i), depth + 1)).collect::<Result<_, _>>()?;
            Ok(if lower == "and" { Raw::And(parts) } else { Raw::Or(parts) })
        }
        "not" => {
            let a = args(v, path, op, Some(1))?;
            Ok(Raw::Not(Box::new(expr(&a[0], &sub(0), depth + 1)?)))
        }
        "like" => {
            let a = args(v, path, op, Some(2))?;
            Ok(Raw::Like(scalar(&a[0], &sub(0))?, scalar(&a[1], &sub(1))?, false))
        }
        "between" => {
            let a = args(v, path, op, Some(3))?;
            Ok(Raw::Between(scalar(&a[0], &sub(0))?, scalar(&a[1], &sub(1))?, scalar(&a[2], &sub(2))?))
        }
        "in" => {
            let a = args(v, path, op, Some(2))?;
            let list =
                a[1].as_array().ok_or_else(|| at(&sub(1), "the second argument of \"in\" is an array of values"))?;
            if list.is_empty() {
                return Err(at(&sub(1), "the list of \"in\" is empty"));
            }
            let items = list
                .iter()
                .enumerate()
                .map(|(i, x)| scalar(x, &format!("{}[{i}]", sub(1))))
                .collect::<Result<_, _>>()?;
            Ok(Raw::In(scalar(&a[0], &sub(0))?, items))
        }
        "isnull" => {
            let a = args(v, path, op, Some(1))?;
            Ok(Raw::IsNull(scalar(&a[0], &sub(0))?))
        }
        _ => Err(at(
            path,
            format!(
                "operation {op:?} is not supported (supported: and, or, not, =, <>, <, <=, >, >=, like, between, in, \
                 isNull, s_intersects, s_equals, s_disjoint, s_touches, s_within, s_overlaps, s_crosses, s_contains)"
            ),
        )),
    }
}

fn scalar(v: &Value, path: &str) -> Result<RawOperand, ParamError> {
    match v {
        Value::String(s) => Ok(RawOperand::Str(s.clone())),
        Value::Number(n) => n.as_f64().map(RawOperand::Num).ok_or_else(|| at(path, "number out of range")),
        Value::Bool(b) => Ok(RawOperand::Bool(*b)),
        Value::Object(o) if o.len() == 1 => {
            let (k, x) = o.iter().next().ok_or_else(|| at(path, "empty object"))?;
            let text = || x.as_str().ok_or_else(|| at(path, format!("{k:?} takes a string")));
            match k.as_str() {
                "property" => Ok(RawOperand::Property(text()?.to_string())),
                "date" => parse_date(text()?).map(RawOperand::Date).map_err(|e| at(path, e.message)),
                "timestamp" => parse_timestamp(text()?).map(RawOperand::Timestamp).map_err(|e| at(path, e.message)),
                "bbox" => bbox(x, path).map(RawOperand::Shape),
                _ => Err(at(path, format!("expected a value, {{\"property\": ...}}, {{\"date\": ...}} or {{\"timestamp\": ...}}, got member {k:?}"))),
            }
        }
        Value::Object(o) if o.contains_key("op") => {
            Err(at(path, "a nested operation is not a value here (arithmetic and functions are not supported)"))
        }
        Value::Object(o) if o.contains_key("type") => geometry(v, path).map(RawOperand::Shape),
        _ => Err(at(path, "expected a property, a string, a number, a boolean, a date or a timestamp")),
    }
}

fn spatial(v: &Value, path: &str) -> Result<RawOperand, ParamError> {
    match v {
        Value::Object(o) if o.contains_key("type") => geometry(v, path).map(RawOperand::Shape),
        Value::Object(o) if o.contains_key("bbox") && o.len() == 1 => bbox(&o["bbox"], path).map(RawOperand::Shape),
        Value::Object(o) if o.contains_key("property") => scalar(v, path),
        _ => Err(at(path, "expected {\"property\": \"geometry\"}, a GeoJSON geometry or {\"bbox\": [w, s, e, n]}")),
    }
}

fn geometry(v: &Value, path: &str) -> Result<Geometry<f64>, ParamError> {
    let g = serde_json::from_value::<geojson::Geometry>(v.clone())
        .map_err(|e| at(path, format!("not a GeoJSON geometry: {e}")))?;
    let g: Geometry<f64> = g.try_into().map_err(|e: geojson::Error| at(path, e))?;
    Ok(g)
}

fn bbox(v: &Value, path: &str) -> Result<Geometry<f64>, ParamError> {
    let n: Vec<f64> = v
        .as_array()
        .and_then(|a| a.iter().map(Value::as_f64).collect::<Option<Vec<_>>>())
        .ok_or_else(|| at(path, "bbox is an array of 4 (or 6) numbers"))?;
    let (w, s, e, north) = match n[..] {
        [w, s, e, n] => (w, s, e, n),
        [w, s, _, e, n, _] => (w, s, e, n),
        _ => return Err(at(path, format!("bbox takes 4 (or 6) numbers, got {}", n.len()))),
    };
    if s > north || w > e {
        return Err(at(path, "bbox [west, south, east, north] needs west <= east and south <= north"));
    }
    Ok(Geometry::Rect(Rect::new(Coord { x: w, y: s }, Coord { x: e, y: north })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_and_operands_parse() {
        let e = parse(
            r#"{"op":"and","args":[
                {"op":"=","args":[{"property":"nom"},"Bordeaux"]},
                {"op":"not","args":[{"op":"isNull","args":[{"property":"population"}]}]},
                {"op":"in","args":[{"property":"code"},["33063","33281"]]},
                {"op":"between","args":[{"property":"population"},1000,5000]},
                {"op":"s_intersects","args":[{"property":"geometry"},{"type":"Point","coordinates":[-0.57,44.84]}]},
                {"op":"s_within","args":[{"property":"geometry"},{"bbox":[-1,44,0,45]}]},
                {"op":"<","args":[{"property":"d"},{"date":"2024-01-01"}]}
            ]}"#,
        )
        .unwrap();
        let Raw::And(parts) = e else { panic!() };
        assert_eq!(parts.len(), 7);
        assert!(matches!(parts[4], Raw::Spatial(SpatialOp::Intersects, _, RawOperand::Shape(Geometry::Point(_)))));
        assert!(matches!(parts[6], Raw::Compare(CmpOp::Lt, _, RawOperand::Date(_))));
    }

    #[test]
    fn errors_name_the_place_in_the_document() {
        for (bad, place) in [
            (r#"{"op":"and","args":[{"op":"=","args":[{"property":"a"}]}, true]}"#, "filter.args[0]"),
            (r#"{"op":"or","args":[true, {"op":"xor","args":[]}]}"#, "filter.args[1]"),
            (r#"{"op":"in","args":[{"property":"a"},"x"]}"#, "filter.args[1]"),
            (
                r#"{"op":"s_intersects","args":[{"property":"geometry"},{"type":"Point","coordinates":"x"}]}"#,
                "filter.args[1]",
            ),
            (r#"{"op":"=","args":[{"property":"a"},{"date":"31/12/2024"}]}"#, "filter.args[1]"),
            (r#"{"op":"=","args":[1,2],"extra":1}"#, "unknown member"),
            ("[1,", "not JSON"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.message.contains(place), "{bad}: {}", e.message);
        }
    }
}
