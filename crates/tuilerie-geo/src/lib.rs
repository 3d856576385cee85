//! tuilerie-geo: read the GIS files public bodies publish (GeoJSON,
//! shapefiles in Lambert-93 with Latin-1 attributes) into compact in-memory
//! layers, indexed, ready for tiles, nearest-facility queries and thematic
//! maps. No HTTP types in its API. `ARCHITECTURE.md` at the repository's
//! root walks the stages.
//!
//! Pipeline: [`source`] (read a file) → [`reproject`] (PROJ, to WGS84) →
//! [`LayerBuilder`] (validate, intern properties, count skipped features)
//! → [`LayerIndex`] (R-tree of envelopes, [`GlobeTree`] of points) →
//! [`Profile`] (waste categories, opening hours) → [`tiling`] preparation
//! → [`Layer`] in a [`Catalog`]; then [`tiling`] (tiles), [`query`]
//! (nearest, items), [`thematic`] (maps) and [`output`] (GeoJSON) read it.
#![deny(unsafe_code)]

mod build;
mod catalog;
mod column;
pub mod edit;
mod error;
mod features;
pub mod geodesic;
mod geometry;
pub mod hours;
mod index;
mod json;
mod layer;
mod options;
pub mod output;
mod prefetch;
mod profile;
mod properties;
pub mod query;
pub mod reproject;
pub mod snapshot;
pub mod source;
mod tag_filter;
pub mod testdata;
mod text;
pub mod thematic;
pub mod tiling;
pub mod waste;

pub use build::{LayerBuilder, SourceId};
pub use catalog::{Catalog, FailedLayer};
pub use error::{GeoError, GeoResult, OptionError, ParamError};
pub use features::{FeatureId, FeatureRef, FeatureTable};
pub use geometry::{envelope, representative_point, FeatureGeometry, GeometryKind};
pub use index::{GlobeTree, LayerIndex};
pub use layer::{Field, Layer, LayerId, LayerMeta, Provenance, SkipReason, SkipReport, SkippedFeature};
pub use options::{LoadOptions, ProfileOptions, ProgressFn};
pub use options::{OsmGeometry, OsmOptions};
pub use profile::{ClassMask, PlainProfile, Profile, TileAttributes};
pub use properties::{FieldId, FieldType, Value, ValueId};
pub use reproject::{Crs, CrsOrigin, Reprojector};
pub use source::{discover, load, load_all, SourceFormat};
pub use tag_filter::{FilterError, TagFilter};
pub use text::{fold, xml_escape};
pub use tiling::{Clustering, TileSettings, DEFAULT_TOLERANCE};
