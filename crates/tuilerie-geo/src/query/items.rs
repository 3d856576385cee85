//! Feature listing as OGC API Features serves it: a bbox, waste
//! categories, property equality filters, then a page (`limit`, `offset`).

use super::params::{parse_bbox, QueryParams};
use crate::error::ParamError;
use crate::layer::Layer;
use crate::profile::ClassMask;
use crate::properties::Value;
use crate::waste::parse_accepts;

/// Page size when the request gives none.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page; a larger `limit` is lowered to it.
pub const MAX_LIMIT: usize = 10_000;

/// Parameters with a meaning of their own; any other names a property.
pub const RESERVED: &[&str] = &["bbox", "limit", "offset", "accepts", "f", "bbox-crs", "crs", "datetime"];

/// A checked items query over one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemsQuery {
    pub bbox: Option<[f64; 4]>,
    /// Classes (waste categories) every feature must have; 0: no filter.
    pub accepts: ClassMask,
    /// `(property, value)`: the property's value, as text, must equal it.
    pub filters: Vec<(String, String)>,
    pub limit: usize,
    pub offset: usize,
}

/// The features of one page, with the count of all that matched.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemsPage {
    pub matched: usize,
    /// Feature indexes of the page, in layer order.
    pub features: Vec<usize>,
}

impl ItemsQuery {
    /// Checks the parameters against `layer`: `names` are every parameter
    /// name of the request (those not in [`RESERVED`] must be properties).
    pub fn parse<'a>(
        layer: &Layer,
        params: &(impl QueryParams + ?Sized),
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<ItemsQuery, ParamError> {
        let limit = match params.get("limit") {
            None => DEFAULT_LIMIT,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|&n| n >= 1)
                .ok_or_else(|| ParamError::new("limit", format!("limit must be a positive integer, got {v:?}")))?
                .min(MAX_LIMIT),
        };
        let offset = match params.get("offset") {
            None => 0,
            Some(v) => v
                .parse::<usize>()
                .map_err(|_| ParamError::new("offset", format!("offset must be a non-negative integer, got {v:?}")))?,
        };
        let bbox = params.get("bbox").map(parse_bbox).transpose()?;
        check_standard_params(params)?;
        let accepts = params.get("accepts").map(parse_accepts).transpose()?.unwrap_or(0);
        let mut filters = Vec::new();
        for k in names {
            if RESERVED.contains(&k) {
                continue;
            }
            if layer.field_id(k).is_none() {
                let fields: Vec<&str> = layer.meta().fields.iter().map(|f| f.name.as_str()).collect();
                return Err(ParamError::new(
                    k,
                    format!("unknown parameter or property {k:?}; properties of {}: {}", layer.id(), fields.join(", ")),
                ));
            }
            filters.push((k.to_string(), params.get(k).unwrap_or_default().to_string()));
        }
        filters.sort();
        Ok(ItemsQuery { bbox, accepts, filters, limit, offset })
    }
}

/// The only CRS features are served in (OGC API Features Part 1).
pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

/// Checks the standard's parameters this server takes without acting on
/// them: `crs` and `bbox-crs` must name CRS84 (a box in another CRS would
/// select the wrong features), `datetime` must be an instant or an interval
/// (features carry no time: a valid one filters nothing), `f` a format
/// served. Each error names its parameter.
fn check_standard_params(params: &(impl QueryParams + ?Sized)) -> Result<(), ParamError> {
    for name in ["crs", "bbox-crs"] {
        if let Some(v) = params.get(name) {
            if v.trim() != CRS84 {
                return Err(ParamError::new(
                    name,
                    format!("{name} {v:?} is not offered: features are served in CRS84 ({CRS84}) only"),
                ));
            }
        }
    }
    if let Some(v) = params.get("datetime") {
        let instant = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s).is_ok() || chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
        };
        let ok = match v.split_once('/') {
            None => instant(v),
            Some((a, b)) => {
                let open = |s: &str| s.is_empty() || s == "..";
                (open(a) || instant(a)) && (open(b) || instant(b)) && !(open(a) && open(b))
            }
        };
        if !ok {
            return Err(ParamError::new(
                "datetime",
                format!(
                    "datetime {v:?} is neither an RFC 3339 instant or date nor an interval such as \
                     2024-01-01T00:00:00Z/.. (features carry no time: a valid one filters nothing)"
                ),
            ));
        }
    }
    if let Some(v) = params.get("f") {
        if !matches!(v, "json" | "geojson" | "html") {
            return Err(ParamError::new("f", format!("f {v:?} is not a format served here: json or geojson")));
        }
    }
    Ok(())
}

/// The page of `layer`'s features that `q` asks for.
pub fn items(layer: &Layer, q: &ItemsQuery) -> ItemsPage {
    let candidates: Vec<usize> = match q.bbox {
        Some(b) => layer.query_bbox(b).into_iter().map(|i| i as usize).collect(),
        None => layer.indices().collect(),
    };
    let matched: Vec<usize> = candidates
        .into_iter()
        .filter(|&i| q.accepts == 0 || layer.mask(i) & q.accepts == q.accepts)
        .filter(|&i| {
            let f = layer.feature(i);
            q.filters.iter().all(|(k, v)| {
                f.property(k).is_some_and(|p| match p {
                    Value::String(s) => s == v,
                    other => other.display() == *v,
                })
            })
        })
        .collect();
    ItemsPage { matched: matched.len(), features: matched.into_iter().skip(q.offset).take(q.limit).collect() }
}
