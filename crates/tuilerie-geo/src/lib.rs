//! tuilerie-geo: read the GIS files public bodies publish (GeoJSON,
//! shapefiles in Lambert-93 with Latin-1 attributes) into compact in-memory
//! layers indexed with R-trees, ready for tiles and spatial queries.
//!
//! Pipeline: [`source`] (read a file) → [`reproject`] (PROJ, to WGS84) →
//! [`LayerBuilder`] (validate, intern properties, count skipped features) →
//! [`index`] (bulk-loaded `rstar` trees) → [`Layer`].
#![deny(unsafe_code)]

pub mod build;
pub mod catalog;
pub mod error;
pub mod geojson_out;
pub mod index;
pub mod layer;
mod prefetch;
pub mod properties;
pub mod query;
pub mod reproject;
pub mod source;
pub mod text;
pub mod thematic;
pub mod tiling;
pub mod waste;

pub use catalog::{Catalog, FailedLayer};
pub use build::{Clustering, LayerBuilder, LoadOptions, ProgressFn, SourceId, DEFAULT_TOLERANCE};
pub use error::{GeoError, GeoResult};
pub use index::LayerIndex;
pub use layer::{
    FeatureGeometry, FeatureId, FeatureRef, Field, GeometryKind, Layer, LayerId, LayerMeta,
    SkipReason, SkipReport, SkippedFeature,
};
pub use properties::{FieldType, Value};
pub use reproject::{Crs, CrsOrigin, Reprojector};
pub use source::{discover, load, SourceFormat};

/// Helpers shared by unit tests.
#[cfg(test)]
pub(crate) mod testing {
    /// A fixed-seed linear congruential generator: uniform in [0, 1).
    pub fn lcg(seed: &mut u64) -> f64 {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }
}
