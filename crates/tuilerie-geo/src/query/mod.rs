//! Queries over loaded layers: geodesic nearest facilities.

pub mod geodesic;
pub mod globe;
pub mod nearest;

pub use nearest::{nearest, NearestHit, NearestIndex, NearestQuery};
