//! Configuration: an optional TOML file plus command-line paths.
//!
//! ```toml
//! [server]
//! addr = "127.0.0.1:8080"          # overridden by --addr, then TUILERIE_ADDR
//! public_url = "https://tiles.example.org"  # absolute URLs in TileJSON
//! attribution = "© contributeurs OpenStreetMap"
//!
//! [[layers]]
//! path = "data/communes.shp"       # relative to this file
//! id = "communes"                  # default: slug of the file name
//! title = "Communes de Gironde"
//! id_field = "code"                # property used as feature id
//! time_field = "date_maj"          # date or time property that `datetime` selects on
//! properties = ["code", "nom"]     # keep only these (default: all)
//! crs = "EPSG:2154"                # override a missing or wrong .prj
//! encoding = "ISO-8859-1"          # override .cpg / DBF language driver
//! minzoom = 0
//! maxzoom = 14
//! ```
//! Unknown keys are reported as warnings, not errors.

mod layer;

pub use layer::LayerConfig;

use anyhow::{bail, Context};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tuilerie_geo::LayerId;

/// Default bind address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// Highest zoom level served.
pub const MAX_ZOOM: u8 = tuilerie_geo::tiling::MAX_ZOOM;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Config {
    pub server: ServerConfig,
    pub tiles: TilesConfig,
    pub web: WebConfig,
    pub limits: crate::limits::Limits,
    pub layers: Vec<LayerConfig>,
    /// CSV tables for thematic maps.
    pub tables: Vec<TableConfig>,
    /// Thematic maps built once the layers are loaded.
    pub maps: Vec<tuilerie_geo::thematic::MapDefinition>,
}

/// A CSV table: `id` (used by `[[maps]] join.table`) and `path`.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct TableConfig {
    pub id: String,
    pub path: PathBuf,
}

/// Options of the built-in web map and of `/style.json`.
#[derive(Debug, Default, Deserialize, Clone)]
#[serde(default)]
pub struct WebConfig {
    /// Title of the page.
    pub title: Option<String>,
    /// Optional basemap drawn under the data; none by default (plain background).
    pub basemap: Option<BasemapConfig>,
    /// Folders of extra `.ttf` / `.otf` fonts served at `/fonts` beside the
    /// embedded DejaVu Sans (named "Family Subfamily" from each font).
    #[serde(default)]
    pub fonts: Vec<PathBuf>,
}

/// A raster or vector basemap from tile URL templates (`{z}/{x}/{y}`).
#[derive(Debug, Deserialize, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BasemapConfig {
    /// `raster` (PNG/JPEG tiles, drawn as is) or `vector` (MVT tiles in the
    /// OpenMapTiles schema, drawn with a light generic style).
    #[serde(rename = "type", default = "default_basemap_type")]
    pub kind: String,
    /// Tile URL templates, e.g. `["https://tile.openstreetmap.org/{z}/{x}/{y}.png"]`.
    pub tiles: Vec<String>,
    /// Attribution required by the tile provider.
    #[serde(default)]
    pub attribution: Option<String>,
    /// Pixel size of raster tiles (256 or 512).
    #[serde(default = "default_basemap_tile_size")]
    pub tile_size: u32,
    #[serde(default)]
    pub minzoom: u8,
    #[serde(default = "default_basemap_maxzoom")]
    pub maxzoom: u8,
}

fn default_basemap_type() -> String {
    "raster".into()
}
fn default_basemap_tile_size() -> u32 {
    256
}
fn default_basemap_maxzoom() -> u8 {
    19
}

impl BasemapConfig {
    /// Checks the type, URL templates, tile size and zooms.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.kind != "raster" && self.kind != "vector" {
            anyhow::bail!("[web.basemap] type must be \"raster\" or \"vector\", got {:?}", self.kind);
        }
        if self.tiles.is_empty() {
            anyhow::bail!("[web.basemap] tiles must list at least one URL template");
        }
        for t in &self.tiles {
            let scheme_ok = t.starts_with("http://") || t.starts_with("https://") || t.starts_with('/');
            if !scheme_ok || !(t.contains("{z}") && t.contains("{x}") && (t.contains("{y}") || t.contains("{-y}"))) {
                anyhow::bail!(
                    "[web.basemap] tiles: {t:?} must be an http(s) URL (or a path) with {{z}}, {{x}} and {{y}}"
                );
            }
        }
        if self.tile_size != 256 && self.tile_size != 512 {
            anyhow::bail!("[web.basemap] tile_size must be 256 or 512, got {}", self.tile_size);
        }
        if self.minzoom > self.maxzoom || self.maxzoom > 24 {
            anyhow::bail!(
                "[web.basemap] minzoom {} and maxzoom {} must satisfy minzoom <= maxzoom <= 24",
                self.minzoom,
                self.maxzoom
            );
        }
        Ok(())
    }
}

/// Vector tile options.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct TilesConfig {
    /// Tile extent in units (a power of two, 256 to 16384).
    pub extent: u32,
    /// Buffer around the tile, in tile units.
    pub buffer: u32,
    /// Byte budget of a tile before compression.
    pub max_bytes: usize,
    /// Memory for the tile cache in MiB (0 turns the cache off).
    pub cache_mb: u64,
    /// `Cache-Control` header of tile responses.
    pub cache_control: String,
}

impl Default for TilesConfig {
    fn default() -> Self {
        TilesConfig {
            extent: 4096,
            buffer: 64,
            max_bytes: 500_000,
            cache_mb: 256,
            cache_control: "public, max-age=3600".into(),
        }
    }
}

/// Options of the HTTP service.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// Address to bind, e.g. `0.0.0.0:8080`.
    pub addr: Option<String>,
    /// Public base URL of the service (behind a proxy), without trailing slash.
    pub public_url: Option<String>,
    /// Attribution shown by map clients.
    pub attribution: Option<String>,
    /// Origins allowed by CORS; `["*"]` (default) allows any.
    pub cors_origins: Option<Vec<String>>,
    /// Origins of other sites whose pages may write (POST, DELETE);
    /// default none (`["*"]`: any).
    pub cors_write_origins: Option<Vec<String>>,
    /// Seconds to receive a request's headers, and longest idle keep-alive
    /// (default 10).
    pub header_timeout: Option<f64>,
    /// Connections served at once (default 1,000); more wait.
    pub max_connections: Option<usize>,
    /// Seconds open connections get to finish after SIGTERM (default 10).
    pub shutdown_timeout: Option<f64>,
    /// Seconds for a request body to arrive whole (default 30).
    pub body_timeout: Option<f64>,
    /// Reload a layer when its files change (default true); SIGHUP
    /// reloads every layer either way.
    pub watch: Option<bool>,
    /// Seconds without a file event before a reload starts (default 0.5).
    pub reload_debounce: Option<f64>,
    /// The store's directory (relative to this file); default
    /// `tuilerie-data/` beside it.
    pub data_dir: Option<PathBuf>,
    /// Where built layers are kept as snapshots, read at the next start
    /// instead of the files (relative to this file; default `snapshots/`
    /// in the data directory; `""` turns snapshots off).
    pub snapshots: Option<PathBuf>,
    /// A shared store instead of the data directory's SQLite:
    /// `postgres://user@host:port/db` (replicas on the same database).
    pub store: Option<String>,
    /// Writes per second allowed to each token (default 50; 0: no limit)
    /// and the burst above that rate (default 200).
    pub write_rate: Option<f64>,
    pub write_burst: Option<f64>,
    /// Batch concurrent writes into one transaction (default true; false
    /// syncs each write on its own, for comparison).
    pub group_commit: Option<bool>,
    /// Largest size of the store in MiB (default: no bound but the disk);
    /// past it writes answer 503, as on a full disk.
    pub max_store_mb: Option<u64>,
    /// Reads need a token too (default false: reads are anonymous).
    pub require_token_for_reads: Option<bool>,
}

impl ServerConfig {
    /// The server's timeouts and caps, defaults filled in.
    pub fn connection_limits(&self) -> crate::serve::ConnectionLimits {
        let d = crate::serve::ConnectionLimits::default();
        let secs = |s: Option<f64>, default: std::time::Duration| s.map_or(default, std::time::Duration::from_secs_f64);
        crate::serve::ConnectionLimits {
            header_timeout: secs(self.header_timeout, d.header_timeout),
            max_connections: self.max_connections.unwrap_or(d.max_connections),
            shutdown_timeout: secs(self.shutdown_timeout, d.shutdown_timeout),
        }
    }
}

impl Config {
    /// Reads and validates a TOML file; relative layer paths are resolved
    /// against the file's folder. Unknown keys are logged as warnings.
    pub fn from_file(path: &Path) -> anyhow::Result<Config> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("{}: cannot read configuration", path.display()))?;
        let mut unknown = Vec::new();
        let de = toml::Deserializer::parse(&text).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e))?;
        let mut config: Config = serde_ignored::deserialize(de, |p| unknown.push(p.to_string()))
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e))?;
        for key in unknown {
            tracing::warn!(file = %path.display(), key = %key, "unknown configuration key ignored");
        }
        let base = path.parent().unwrap_or(Path::new("."));
        for l in &mut config.layers {
            if l.path.as_os_str().is_empty() {
                bail!("{}: a [[layers]] entry has no `path`", path.display());
            }
            if l.path.is_relative() {
                l.path = base.join(&l.path);
            }
            for f in l.osc.iter_mut().flatten() {
                if f.is_relative() {
                    *f = base.join(&*f);
                }
            }
        }
        for f in &mut config.web.fonts {
            if f.is_relative() {
                *f = base.join(&*f);
            }
        }
        for t in &mut config.tables {
            if t.path.is_relative() {
                t.path = base.join(&t.path);
            }
        }
        config.validate().with_context(|| format!("{}: invalid configuration", path.display()))?;
        Ok(config)
    }

    /// Checks values that serde cannot: ids, zooms, addresses, URLs.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(a) = &self.server.addr {
            parse_addr(a).context("server.addr")?;
        }
        for (key, v, max) in [
            ("header_timeout", self.server.header_timeout, 3600.0),
            ("shutdown_timeout", self.server.shutdown_timeout, 3600.0),
            ("reload_debounce", self.server.reload_debounce, 60.0),
            ("body_timeout", self.server.body_timeout, 3600.0),
        ] {
            if let Some(v) = v {
                if !(v > 0.0 && v <= max) {
                    bail!("server.{key} = {v} must be a number of seconds in (0, {max}]");
                }
            }
        }
        for (key, v) in [("write_rate", self.server.write_rate), ("write_burst", self.server.write_burst)] {
            if let Some(v) = v {
                if !(v.is_finite() && (0.0..=1_000_000.0).contains(&v)) {
                    bail!("server.{key} = {v} must be a number of writes from 0 to 1000000");
                }
            }
        }
        if let Some(n) = self.server.max_connections {
            if !(1..=1_000_000).contains(&n) {
                bail!("server.max_connections = {n} must be from 1 to 1000000");
            }
        }
        if let Some(u) = &self.server.public_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                bail!("server.public_url {u:?} must start with http:// or https://");
            }
        }
        let t = &self.tiles;
        if !(256..=16384).contains(&t.extent) || !t.extent.is_power_of_two() {
            bail!("tiles.extent = {} must be a power of two from 256 to 16384", t.extent);
        }
        if t.buffer > t.extent / 2 {
            bail!("tiles.buffer = {} must be at most half the extent", t.buffer);
        }
        if t.max_bytes < 1024 {
            bail!("tiles.max_bytes = {} is below 1024", t.max_bytes);
        }
        axum::http::HeaderValue::from_str(&t.cache_control)
            .map_err(|_| anyhow::anyhow!("tiles.cache_control {:?} is not a valid header value", t.cache_control))?;
        for o in self.server.cors_origins.iter().flatten().chain(self.server.cors_write_origins.iter().flatten()) {
            if o != "*" && !(o.starts_with("http://") || o.starts_with("https://")) {
                bail!("server.cors_origins: {o:?} must be \"*\" or an origin like https://example.org");
            }
        }
        if let Some(b) = &self.web.basemap {
            b.validate()?;
        }
        self.limits.validate().map_err(|e| anyhow::anyhow!(e))?;
        for (i, t) in self.tables.iter().enumerate() {
            LayerId::new(&t.id).map_err(|e| anyhow::anyhow!("tables[{i}]: id: {e}"))?;
            if self.tables[..i].iter().any(|o| o.id == t.id) {
                bail!("tables[{i}]: id {:?} is used twice", t.id);
            }
        }
        for (i, m) in self.maps.iter().enumerate() {
            if let Some(j) = &m.join {
                if !self.tables.iter().any(|t| t.id == j.table) {
                    bail!("maps[{i}] ({}): join.table {:?} is not a [[tables]] id", m.title, j.table);
                }
            }
        }
        for (i, l) in self.layers.iter().enumerate() {
            let at = format!("layers[{i}] ({})", l.path.display());
            if let Some(id) = &l.id {
                LayerId::new(id).map_err(|e| anyhow::anyhow!("{at}: id: {e}"))?;
            }
            // The library checks its own options; the message names the key.
            l.load_options().validate().map_err(|e| anyhow::anyhow!("{at}: {e}"))?;
            l.osm_options().map_err(|e| anyhow::anyhow!("{at}: {e}"))?;
            l.status_options().map_err(|e| anyhow::anyhow!("{at}: {e}"))?;
        }
        Ok(())
    }
}

/// Parses `host:port` (`localhost` accepted).
/// Whether two paths name the same file (paths compared as given when one
/// of them does not exist).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

pub fn parse_addr(s: &str) -> anyhow::Result<SocketAddr> {
    let s = s.trim();
    let fixed = s.strip_prefix("localhost:").map(|p| format!("127.0.0.1:{p}"));
    fixed.as_deref().unwrap_or(s).parse().map_err(|_| anyhow::anyhow!("{s:?} is not an address like 127.0.0.1:8080"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_read_and_checked_naming_the_key() {
        let c: Config = toml::from_str("[limits]\nmax_columns = 50\nqueue_wait = 2.5\n").unwrap();
        assert_eq!((c.limits.max_columns, c.limits.queue_wait, c.limits.max_maps), (50, 2.5, 256));
        assert_eq!(c.limits.table().max_columns, 50);
        let bad: Config = toml::from_str("[limits]\nmax_tables = 0\n").unwrap();
        assert!(bad.validate().unwrap_err().to_string().contains("limits.max_tables"));
        assert!(toml::from_str::<Config>("[limits]\nmax_colums = 5\n").is_err(), "a misspelt limit is refused");
    }

    #[test]
    fn config_resolves_relative_paths_and_validates_zooms() {
        let dir = std::env::temp_dir().join(format!("tuilerie-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("t.toml");
        std::fs::write(
            &f,
            "[server]\naddr = \"127.0.0.1:9000\"\nbogus = 1\n[[layers]]\npath = \"a.shp\"\nid = \"a\"\nmaxzoom = 12\n",
        )
        .unwrap();
        let c = Config::from_file(&f).unwrap();
        assert_eq!(c.layers[0].path, dir.join("a.shp"));
        assert_eq!(c.server.addr.as_deref(), Some("127.0.0.1:9000"));

        std::fs::write(&f, "[[layers]]\npath = \"a.shp\"\nminzoom = 9\nmaxzoom = 3\n").unwrap();
        let e = format!("{:#}", Config::from_file(&f).unwrap_err());
        assert!(e.contains("minzoom 9 is greater than maxzoom 3"), "{e}");

        std::fs::write(&f, "[[layers]]\npath = \"a.shp\"\nid = \"a,b\"\n").unwrap();
        let e = format!("{:#}", Config::from_file(&f).unwrap_err());
        assert!(e.contains("layers[0]") && e.contains("','"), "{e}");

        for bad in ["-1", "65", "nan"] {
            std::fs::write(&f, format!("[[layers]]\npath = \"a.shp\"\ntolerance = {bad}\n")).unwrap();
            let e = format!("{:#}", Config::from_file(&f).unwrap_err());
            assert!(e.contains("layers[0]") && e.contains("tolerance") && e.contains("[0, 64]"), "{e}");
        }
        std::fs::write(&f, "[[layers]]\npath = \"a.shp\"\ntolerance = 0\n").unwrap();
        assert_eq!(Config::from_file(&f).unwrap().layers[0].load_options().tiles.tolerance, 0.0);

        std::fs::write(&f, "[[layers]]\npath = 3\n").unwrap();
        let e = format!("{:#}", Config::from_file(&f).unwrap_err());
        assert!(e.contains("t.toml"), "{e}");
    }

    #[test]
    fn addresses_parse_with_localhost() {
        assert_eq!(parse_addr("localhost:8080").unwrap().port(), 8080);
        assert!(parse_addr("nonsense").is_err());
    }
}
