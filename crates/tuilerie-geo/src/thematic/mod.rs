//! Thematic maps for agents: statistics joined to polygons, spatial
//! aggregation, classification, palettes and static exports.
//!
//! Pipeline: [`table`] (read a CSV) → [`map`] (join by key, compute the
//! value per polygon with [`aggregate`], ratio) → [`classify`] (breaks) →
//! [`palette`] (colours) → a derived layer for tiles, a legend, and
//! [`svg`] for printed reports.

pub mod aggregate;
pub mod classify;
pub mod map;
pub mod palette;
pub mod svg;
pub mod table;

pub use classify::{classify, Classes, Method};
pub use map::{MapDefinition, MapInputs, ThematicMap};
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
