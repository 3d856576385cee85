//! The options of a layer load, one type per concern, each validated where
//! it is defined: [`TileSettings`] (tiling), [`WasteOptions`] (the waste
//! profile), and here what the reading itself takes. The server's
//! configuration, `inspect`, thematic maps and the benches all build these.

use crate::error::OptionError;
use crate::layer::LayerId;
use crate::tiling::TileSettings;
use crate::waste::WasteOptions;
use std::sync::Arc;

/// Callback told the number of features read so far (for progress bars).
pub type ProgressFn = Arc<dyn Fn(usize) + Send + Sync>;

/// Which profile a layer gets (what its domain adds to its features).
#[derive(Debug, Clone, PartialEq)]
pub enum ProfileOptions {
    /// Waste facilities: categories accepted, opening hours.
    Waste(WasteOptions),
    /// Nothing added (derived thematic layers).
    Plain,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions::Waste(WasteOptions::default())
    }
}

/// Per-layer options of a load (from the configuration file or defaults).
#[derive(Clone, Default)]
pub struct LoadOptions {
    /// Layer id; default: slug of the file stem.
    pub id: Option<LayerId>,
    /// Human title; default: the file stem.
    pub title: Option<String>,
    /// Property whose value becomes the feature id.
    pub id_field: Option<String>,
    /// Property holding each feature's date or time (RFC 3339 or
    /// `YYYY-MM-DD`): what `datetime` of OGC API Features selects on.
    pub time_field: Option<String>,
    /// Properties to keep (all when `None`).
    pub properties: Option<Vec<String>>,
    /// Source CRS override, e.g. `EPSG:2154`.
    pub crs: Option<String>,
    /// Attribute encoding override for shapefiles, e.g. `ISO-8859-1`.
    pub encoding: Option<String>,
    /// Zooms, simplification and clustering of the layer's tiles.
    pub tiles: TileSettings,
    pub profile: ProfileOptions,
    /// What an OpenStreetMap file gives this layer (filter, geometry,
    /// tags, osmChange files).
    pub osm: Option<OsmOptions>,
    pub progress: Option<ProgressFn>,
    /// Directory where the built layer is kept as a snapshot, and looked
    /// for first at the next load (see [`crate::snapshot`]); `None`: only a
    /// snapshot next to the file (`tuilerie snapshot`) is looked for, and
    /// none is written.
    pub snapshots: Option<std::path::PathBuf>,
}

impl LoadOptions {
    /// Checks every option that can be checked before reading (the CRS and
    /// the encoding are checked against the file, at load); the error names
    /// the option as written in the configuration.
    pub fn validate(&self) -> Result<(), OptionError> {
        self.tiles.validate()?;
        if let ProfileOptions::Waste(w) = &self.profile {
            w.validate()?;
        }
        for (name, v) in [("id_field", &self.id_field), ("title", &self.title), ("time_field", &self.time_field)] {
            if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
                return Err(OptionError::new(name, format!("{name} must not be empty")));
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadOptions")
            .field("id", &self.id)
            .field("title", &self.title)
            .field("id_field", &self.id_field)
            .field("time_field", &self.time_field)
            .field("properties", &self.properties)
            .field("crs", &self.crs)
            .field("encoding", &self.encoding)
            .field("tiles", &self.tiles)
            .field("profile", &self.profile)
            .field("osm", &self.osm)
            .finish()
    }
}

/// Which geometries a layer takes from OSM objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OsmGeometry {
    /// Nodes only.
    Point,
    /// Ways that are not areas.
    Line,
    /// Closed ways that are areas, and multipolygon relations.
    Polygon,
    /// All of the above.
    #[default]
    Any,
}

impl OsmGeometry {
    pub fn parse(s: &str) -> Option<OsmGeometry> {
        match s {
            "point" => Some(OsmGeometry::Point),
            "line" => Some(OsmGeometry::Line),
            "polygon" => Some(OsmGeometry::Polygon),
            "any" => Some(OsmGeometry::Any),
            _ => None,
        }
    }
}

/// The OSM part of a layer's options.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OsmOptions {
    /// Objects whose tags pass; `None`: the layers of the waste profile.
    pub filter: Option<crate::tag_filter::TagFilter>,
    pub geometry: OsmGeometry,
    /// Tags kept as properties (all when `None`).
    pub tags: Option<Vec<String>>,
    /// osmChange files applied in order over the extract.
    pub changes: Vec<std::path::PathBuf>,
}
