//! Queries over loaded layers, each with its parameters checked into a
//! typed query first: geodesic nearest facilities, and feature pages
//! (OGC API Features items).

pub mod cql2;
pub mod crs;
mod items;
pub mod nearest;
mod params;

pub use items::{items, ItemsPage, ItemsQuery, DEFAULT_LIMIT, MAX_LIMIT, RESERVED};
pub use nearest::{nearest, nearest_where, Keep, NearestHit, NearestQuery, MAX_K};
pub use params::{number, parse_bbox, parse_time, QueryParams};
