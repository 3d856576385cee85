//! One layer's configuration (`[[layers]]`) and the library options it
//! gives.

use anyhow::bail;
use serde::Deserialize;
use std::path::PathBuf;
use tuilerie_geo::tiling::ClusterOptions;
use tuilerie_geo::waste::WasteOptions;
use tuilerie_geo::{
    Clustering, LayerId, LoadOptions, OsmGeometry, OsmOptions, ProfileOptions, TagFilter, TileSettings,
};

/// Options of one layer.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
pub struct LayerConfig {
    pub path: PathBuf,
    /// Where the built layer is kept as a snapshot (the server's
    /// `snapshots` directory; not a layer key).
    #[serde(skip)]
    pub snapshots: Option<PathBuf>,
    pub id: Option<String>,
    pub title: Option<String>,
    pub id_field: Option<String>,
    /// Property with each feature's date or time, for `datetime`.
    pub time_field: Option<String>,
    pub properties: Option<Vec<String>>,
    pub crs: Option<String>,
    pub encoding: Option<String>,
    pub minzoom: Option<u8>,
    pub maxzoom: Option<u8>,
    /// Simplification tolerance below maxzoom, pixels of a 512-pixel tile
    /// (default 0.375, MapLibre's; 0 keeps every vertex).
    pub tolerance: Option<f64>,
    /// Cluster points at low zooms (default: on for point layers).
    pub cluster: Option<bool>,
    /// Cluster radius in pixels of a 512-pixel tile (default 40).
    pub cluster_radius: Option<f64>,
    /// Highest zoom with clusters (default 12, below `maxzoom`).
    pub cluster_maxzoom: Option<u8>,
    /// Column listing the wastes a facility accepts (`verre; piles`).
    pub accepts_field: Option<String>,
    /// Wastes every facility of the layer accepts (categories, keys or words).
    pub accepts: Option<Vec<String>>,
    /// IANA time zone of `opening_hours` (default Europe/Paris).
    pub timezone: Option<String>,
    /// OSM files: the tag filter of the layer (`amenity=recycling and
    /// recycling_type=centre`); without one, a `.osm.pbf` gives the layers
    /// of the waste profile.
    pub filter: Option<String>,
    /// OSM files: `point`, `line`, `polygon` or `any` (default).
    pub geometry: Option<String>,
    /// OSM files: the tags kept as properties (all by default).
    pub tags: Option<Vec<String>>,
    /// OSM files: osmChange files (`.osc`, `.osc.gz`) applied in order.
    pub osc: Option<Vec<PathBuf>>,
    /// Features of this layer can be created, replaced, updated and deleted
    /// through `/collections/{id}/items` (OGC API - Features Part 4); the
    /// file is never written, edits live in the store.
    pub editable: bool,
    /// Age after which a status reading is stale (`2h`): still shown,
    /// no longer filtering answers or colouring tiles.
    pub status_ttl: Option<String>,
    /// How long observations are kept (`400d`).
    pub status_retention: Option<String>,
    /// Fill level from which a skip or container is full (default 0.95).
    pub full_at: Option<f64>,
    /// People counted at which a facility is fully crowded (turns counts
    /// into levels).
    pub crowd_capacity: Option<f64>,
}

impl LayerConfig {
    /// The defaults for a path given on the command line.
    pub fn for_path(path: PathBuf) -> Self {
        LayerConfig { path, ..Default::default() }
    }

    /// The library's options for this layer (checked by
    /// [`LoadOptions::validate`]).
    pub fn load_options(&self) -> LoadOptions {
        let defaults = TileSettings::default();
        LoadOptions {
            id: self.id.as_deref().and_then(|i| LayerId::new(i).ok()),
            title: self.title.clone(),
            id_field: self.id_field.clone(),
            time_field: self.time_field.clone(),
            snapshots: self.snapshots.clone(),
            properties: self.properties.clone(),
            crs: self.crs.clone(),
            encoding: self.encoding.clone(),
            tiles: TileSettings {
                minzoom: self.minzoom.unwrap_or(defaults.minzoom),
                maxzoom: self.maxzoom.unwrap_or(defaults.maxzoom),
                tolerance: self.tolerance.unwrap_or(defaults.tolerance),
                clustering: match (self.cluster, self.cluster_radius, self.cluster_maxzoom) {
                    (Some(false), _, _) => Clustering::Off,
                    (None, None, None) => Clustering::Auto,
                    (_, r, z) => {
                        let d = ClusterOptions::default();
                        Clustering::On(ClusterOptions {
                            radius: r.unwrap_or(d.radius),
                            max_zoom: z.unwrap_or(d.max_zoom),
                            ..d
                        })
                    }
                },
            },
            profile: ProfileOptions::Waste(WasteOptions {
                accepts_field: self.accepts_field.clone(),
                accepts: self.accepts.clone().unwrap_or_default(),
                timezone: self.timezone.clone(),
            }),
            osm: self.osm_options().ok().flatten(),
            progress: None,
        }
    }

    /// The OSM options (`filter`, `geometry`, `tags`, `osc`): `None` for
    /// other files, an error naming the key when a value is invalid or the
    /// key is set on a file that is not OSM.
    /// The layer's status settings, each checked (the error names the key).
    pub fn status_options(&self) -> anyhow::Result<crate::status::StatusOptions> {
        use crate::status::parse_duration;
        let mut o = crate::status::StatusOptions::default();
        if let Some(t) = &self.status_ttl {
            o.ttl_ms = parse_duration(t).map_err(|e| anyhow::anyhow!("status_ttl: {e}"))?;
        }
        if let Some(t) = &self.status_retention {
            o.retention_ms = parse_duration(t).map_err(|e| anyhow::anyhow!("status_retention: {e}"))?;
        }
        if let Some(f) = self.full_at {
            if !(f > 0.0 && f <= 1.0) {
                bail!("full_at = {f} must be a fill level in (0, 1]");
            }
            o.full_at = f;
        }
        if let Some(c) = self.crowd_capacity {
            if !(c.is_finite() && c >= 1.0) {
                bail!("crowd_capacity = {c} must be a number of people, at least 1");
            }
            o.crowd_capacity = Some(c);
        }
        if let Some(tz) = &self.timezone {
            o.timezone = tuilerie_geo::hours::parse_timezone(tz).map_err(|e| anyhow::anyhow!("timezone: {e}"))?;
        }
        Ok(o)
    }

    pub fn osm_options(&self) -> anyhow::Result<Option<OsmOptions>> {
        let set = [
            ("filter", self.filter.is_some()),
            ("geometry", self.geometry.is_some()),
            ("tags", self.tags.is_some()),
            ("osc", self.osc.is_some()),
        ];
        if !tuilerie_geo::source::osm::is_pbf(&self.path) {
            if let Some((key, _)) = set.iter().find(|(_, on)| *on) {
                bail!("`{key}` applies to OpenStreetMap files (.osm.pbf) only");
            }
            return Ok(None);
        }
        let filter = match &self.filter {
            Some(f) => Some(TagFilter::parse(f).map_err(|e| anyhow::anyhow!("filter {f:?}: {e}"))?),
            None => None,
        };
        let geometry = match self.geometry.as_deref() {
            None => OsmGeometry::Any,
            Some(g) => OsmGeometry::parse(g)
                .ok_or_else(|| anyhow::anyhow!("geometry {g:?} must be \"point\", \"line\", \"polygon\" or \"any\""))?,
        };
        if filter.is_none() && self.geometry.is_some() {
            bail!("`geometry` needs a `filter` (without one, the file gives the layers of the waste profile)");
        }
        if let Some(t) = self.tags.iter().flatten().find(|t| t.trim().is_empty()) {
            bail!("tags: {t:?} is not a tag key");
        }
        for f in self.osc.iter().flatten() {
            if !f.is_file() {
                bail!("osc: {} is not a file", f.display());
            }
        }
        Ok(Some(OsmOptions {
            filter,
            geometry,
            tags: self.tags.clone(),
            changes: self.osc.clone().unwrap_or_default(),
        }))
    }
}
