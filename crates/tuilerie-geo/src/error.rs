//! Errors of the geometry crate: one enum for everything that makes a whole
//! layer unusable. A single bad feature is not an error: it is skipped and
//! counted by [`SkipReason`](crate::SkipReason).

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type GeoResult<T> = Result<T, GeoError>;

/// Why a layer could not be loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: unsupported file type (expected .geojson, .json, .shp or .osm.pbf)")]
    UnsupportedFormat { path: PathBuf },

    #[error("{path}: invalid JSON at line {line}, column {column}: {message}")]
    Json { path: PathBuf, line: usize, column: usize, message: String },

    #[error("{path}: not GeoJSON: {message}")]
    NotGeoJson { path: PathBuf, message: String },

    #[error("{path}: missing companion file {missing} (a shapefile needs .shp, .shx and .dbf side by side)")]
    MissingCompanion { path: PathBuf, missing: PathBuf },

    #[error("{path}: invalid shapefile: {message}")]
    Shapefile { path: PathBuf, message: String },

    #[error("{path}: invalid dBase attribute table (record {record}): {message}")]
    Dbf { path: PathBuf, record: usize, message: String },

    #[error("{path}: unknown character encoding {encoding:?} (from {origin}), or one that does not keep ASCII (UTF-16); set `encoding` for this layer, e.g. \"UTF-8\" or \"ISO-8859-1\"")]
    UnknownEncoding { path: PathBuf, encoding: String, origin: String },

    #[error("{path}: unknown or unparsable coordinate reference system {definition:?} (from {origin}): {message}; set `crs` for this layer, e.g. \"EPSG:2154\"")]
    UnknownCrs { path: PathBuf, definition: String, origin: String, message: String },

    #[error("{path}: reprojection to WGS84 failed at feature {feature}: {message}")]
    Reprojection { path: PathBuf, feature: usize, message: String },

    #[error("{path}: {message}")]
    Osm { path: PathBuf, message: String },

    #[error("{path}: layer too large: {message}")]
    TooLarge { path: PathBuf, message: String },

    #[error("invalid layer option `{option}`: {message}")]
    Option { option: String, message: String },

    #[error(
        "{path}: changed while the layer was built from it; no snapshot written (the next load builds the layer again)"
    )]
    ChangedWhileRead { path: PathBuf },
}

/// An option of a layer (or of a stage) with a value it cannot take; the
/// message names the option as written in the configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct OptionError {
    /// The configuration key (`tolerance`, `timezone`, `cluster_radius`...).
    pub option: &'static str,
    pub message: String,
}

impl OptionError {
    pub fn new(option: &'static str, message: impl Into<String>) -> Self {
        OptionError { option, message: message.into() }
    }
}

/// A query parameter with a value a query cannot take; servers answer it
/// with a 400 naming the parameter.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ParamError {
    /// The parameter as written in the request (`lon`, `bbox`, `accepts`...).
    pub parameter: String,
    pub message: String,
}

impl ParamError {
    pub fn new(parameter: impl Into<String>, message: impl Into<String>) -> Self {
        ParamError { parameter: parameter.into(), message: message.into() }
    }
}

impl From<OptionError> for GeoError {
    fn from(e: OptionError) -> Self {
        GeoError::Option { option: e.option.to_string(), message: e.message }
    }
}

impl GeoError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        GeoError::Io { path: path.into(), source }
    }
}
