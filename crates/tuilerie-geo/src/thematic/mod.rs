//! Thematic maps for agents: statistics joined to polygons, spatial
//! aggregation, classification, palettes and static exports.
//!
//! Pipeline: [`table`] (read a CSV) → [`spec`] (check a definition) →
//! [`map`] (the stages: [`join`], [`values`] with [`aggregate`], ratio,
//! [`classify`], [`palette`], the derived layer) → a legend, [`svg`],
//! [`png`] and [`pdf`] for printed reports, and [`export`] (CSV, GeoJSON)
//! for the data.

pub mod aggregate;
pub mod classify;
pub mod export;
pub mod join;
pub mod map;
pub mod palette;
pub mod pdf;
pub mod png;
pub mod spec;
pub mod svg;
pub mod table;
pub mod values;

pub use classify::{classify, Classes, Method};
pub use map::{MapInputs, ThematicMap, NO_DATA_COLOR};
pub use spec::{MapDefinition, MapSpec, ValueSpec};
pub use table::Table;

/// A mistake in a map definition or its inputs, naming the parameter
/// (`join.key`, `palette`, `classes`...) and saying what is wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{parameter}: {message}")]
pub struct ThematicError {
    pub parameter: String,
    pub message: String,
}

impl ThematicError {
    pub fn new(parameter: impl Into<String>, message: impl Into<String>) -> Self {
        ThematicError { parameter: parameter.into(), message: message.into() }
    }
}
