//! Feature listing as OGC API Features serves it: a bbox, waste
//! categories, property equality filters, then a page (`limit`, `offset`).

use super::cql2::{Candidates, Filter, FilterLang};
use super::crs::{bbox_to_crs84, RequestCrs, Transform};
use super::params::{bbox_numbers, parse_bbox, QueryParams};
use crate::error::ParamError;
use crate::layer::Layer;
use crate::profile::ClassMask;
use crate::properties::Value;
use crate::waste::parse_accepts;

/// Page size when the request gives none.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page; a larger `limit` is lowered to it.
pub const MAX_LIMIT: usize = 10_000;

/// The largest offset: 2^53, the largest whole number every JSON client
/// reads exactly.
pub const MAX_OFFSET: u64 = 1 << 53;

/// Parameters with a meaning of their own; any other names a property.
pub const RESERVED: &[&str] =
    &["bbox", "limit", "offset", "accepts", "f", "bbox-crs", "crs", "datetime", "filter", "filter-lang", "filter-crs"];

/// A checked items query over one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemsQuery {
    pub bbox: Option<[f64; 4]>,
    /// Classes (waste categories) every feature must have; 0: no filter.
    pub accepts: ClassMask,
    /// `(property, value)`: the property's value, as text, must equal it.
    pub filters: Vec<(String, String)>,
    /// A CQL2 filter (`filter`, `filter-lang`), with a `bbox` given in
    /// another CRS laid over it as a polygon.
    pub filter: Option<Filter>,
    /// The CRS of the answer's geometries (`crs`).
    pub crs: RequestCrs,
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
            Some(v) => v.parse::<u64>().ok().filter(|&n| n <= MAX_OFFSET).map(|n| n as usize).ok_or_else(|| {
                ParamError::new("offset", format!("offset must be an integer from 0 to 2^53, got {v:?}"))
            })?,
        };
        check_standard_params(params)?;
        let storage = RequestCrs::of_source(&layer.meta().source.crs);
        let crs_param = |name: &str| -> Result<RequestCrs, ParamError> {
            params
                .get(name)
                .map(|v| RequestCrs::parse(name, v, storage))
                .transpose()
                .map(|c| c.unwrap_or(RequestCrs::Crs84))
        };
        let crs = crs_param("crs")?;
        let bbox_crs = crs_param("bbox-crs")?;
        let mut bbox = None;
        let mut bbox_shape = None;
        if let Some(v) = params.get("bbox") {
            if bbox_crs.is_crs84() {
                bbox = Some(parse_bbox(v)?);
            } else {
                let b = parse_projected_bbox(v)?;
                let shape = bbox_to_crs84(b, bbox_crs)
                    .map_err(|e| ParamError::new("bbox", format!("bbox cannot be brought to CRS84: {e}")))?;
                bbox_shape = Some(shape);
            }
        } else if params.get("bbox-crs").is_some() {
            return Err(ParamError::new("bbox-crs", "bbox-crs is only meaningful with a bbox"));
        }
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
        let filter = match params.get("filter") {
            None => {
                for p in ["filter-lang", "filter-crs"] {
                    if params.get(p).is_some() {
                        return Err(ParamError::new(p, format!("{p} is only meaningful with a filter")));
                    }
                }
                None
            }
            Some(text) => {
                let lang = params.get("filter-lang").map(FilterLang::parse).transpose()?.unwrap_or(FilterLang::Text);
                let filter_crs = crs_param("filter-crs")?;
                if filter_crs.is_crs84() {
                    Some(Filter::parse(text, lang, layer, None)?)
                } else {
                    let t = Transform::get(filter_crs, true).map_err(|e| ParamError::new("filter-crs", e))?;
                    let to = move |g: &mut geo::Geometry<f64>| t.apply(g);
                    Some(Filter::parse(text, lang, layer, Some(&to))?)
                }
            }
        };
        let filter = match bbox_shape {
            Some(shape) => Some(Filter::and_intersects(filter, shape)),
            None => filter,
        };
        let filter = match (params.get("datetime").map(|v| datetime_filter(layer, v)).transpose()?, filter) {
            (Some(d), Some(f)) => Some(f.and(d)),
            (d, f) => d.or(f),
        };
        Ok(ItemsQuery { bbox, accepts, filters, filter, crs, limit, offset })
    }
}

/// `minx,miny,maxx,maxy` in a projected or geographic CRS: checked for
/// order, not for longitude and latitude.
fn parse_projected_bbox(v: &str) -> Result<[f64; 4], ParamError> {
    let b = bbox_numbers(v)?;
    if b[0] > b[2] || b[1] > b[3] {
        return Err(ParamError::new("bbox", "bbox must be minx,miny,maxx,maxy with min <= max"));
    }
    Ok(b)
}

/// `datetime` (an instant, a date, or an interval with `..` or empty for
/// an open end) as a filter on the layer's `time_field`: equal to an
/// instant (a date matches its whole day), within an interval (ends
/// included). A layer without one refuses it, saying how to name one.
fn datetime_filter(layer: &Layer, v: &str) -> Result<Filter, ParamError> {
    let bad = |m: String| ParamError::new("datetime", m);
    let literal = |s: &str| -> Option<String> {
        if chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
            Some(format!("DATE('{s}')"))
        } else {
            chrono::DateTime::parse_from_rfc3339(s).is_ok().then(|| format!("TIMESTAMP('{s}')"))
        }
    };
    let open = |s: &str| s.is_empty() || s == "..";
    let ends = match v.split_once('/') {
        None => literal(v).map(|l| (Some(l.clone()), Some(l), true)),
        Some((a, b)) if !(open(a) && open(b)) => {
            let end = |s: &str| if open(s) { Some(None) } else { literal(s).map(Some) };
            end(a).zip(end(b)).map(|(a, b)| (a, b, false))
        }
        _ => None,
    };
    let Some((start, end, instant)) = ends else {
        return Err(bad(format!(
            "datetime {v:?} is neither an RFC 3339 instant or date nor an interval such as 2024-01-01T00:00:00Z/.."
        )));
    };
    let Some(field) = layer.meta().time_field.as_deref() else {
        return Err(bad(format!(
            "collection {} has no time property: name one with time_field in its [[layers]] configuration \
             (time_field = \"date_maj\") to select features by datetime",
            layer.id()
        )));
    };
    if layer.field_id(field).is_none() {
        return Err(bad(format!("time_field {field:?} of collection {} is not one of its properties", layer.id())));
    }
    let name = format!("\"{}\"", field.replace('"', "\"\""));
    let text = match (instant, start, end) {
        (true, Some(l), _) => format!("{name} = {l}"),
        (_, Some(a), Some(b)) => format!("{name} >= {a} AND {name} <= {b}"),
        (_, Some(a), None) => format!("{name} >= {a}"),
        (_, None, Some(b)) => format!("{name} <= {b}"),
        _ => "TRUE".into(),
    };
    Filter::parse(&text, FilterLang::Text, layer, None).map_err(|e| bad(e.message))
}

/// Checks `f`: a format served.
fn check_standard_params(params: &(impl QueryParams + ?Sized)) -> Result<(), ParamError> {
    if let Some(v) = params.get("f") {
        if !matches!(v, "json" | "geojson" | "html") {
            return Err(ParamError::new("f", format!("f {v:?} is not a format served here: json or geojson")));
        }
    }
    Ok(())
}

/// The page of `layer`'s features that `q` asks for.
pub fn items(layer: &Layer, q: &ItemsQuery) -> ItemsPage {
    let within = match q.filter.as_ref().map_or(Candidates::All, Filter::candidates) {
        Candidates::None => return ItemsPage { matched: 0, features: Vec::new() },
        Candidates::All => q.bbox,
        Candidates::Within(f) => match q.bbox {
            None => Some(f),
            Some(b) => {
                let i = [b[0].max(f[0]), b[1].max(f[1]), b[2].min(f[2]), b[3].min(f[3])];
                if i[0] > i[2] || i[1] > i[3] {
                    return ItemsPage { matched: 0, features: Vec::new() };
                }
                Some(i)
            }
        },
    };
    // Without a box, every feature in order, never collected (a million
    // indexes would be 8 MB per request).
    let boxed: Vec<u32>;
    let candidates: Box<dyn Iterator<Item = usize> + '_> = match within {
        Some(b) => {
            boxed = layer.query_bbox(b);
            Box::new(boxed.iter().map(|&i| i as usize))
        }
        None => Box::new(layer.indices()),
    };
    let matcher = q.filter.as_ref().map(|f| f.matcher(layer));
    let matched = candidates
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
        .filter(|&i| matcher.as_ref().is_none_or(|m| m.matches(layer.feature(i))));
    // Every match is counted; only the page's are kept.
    let mut page = ItemsPage { matched: 0, features: Vec::with_capacity(q.limit.min(1024)) };
    for i in matched {
        if page.matched >= q.offset && page.features.len() < q.limit {
            page.features.push(i);
        }
        page.matched += 1;
    }
    page
}
