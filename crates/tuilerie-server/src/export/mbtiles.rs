//! MBTiles 1.3 (SQLite) for QGIS, Martin and mbview: the deduplicated
//! layout (`map` of addresses to content ids, `images` of contents, a
//! `tiles` view joining them), TMS rows (y up), gzipped MVT, and the
//! `metadata` rows the specification asks for with `json` holding
//! `vector_layers`. One transaction; the file is synced before it is
//! renamed into place.

use super::{ExportOptions, ExportReport, Tile, TileSink};
use rusqlite::{params, Connection};
use std::collections::HashSet;
use std::path::Path;
use tuilerie_geo::tiling::TileCoord;

pub struct Sink {
    db: Connection,
    written: u64,
    contents: HashSet<u128>,
}

const SCHEMA: &str = "
CREATE TABLE metadata (name TEXT NOT NULL, value TEXT);
CREATE UNIQUE INDEX metadata_name ON metadata (name);
CREATE TABLE map (zoom_level INTEGER NOT NULL, tile_column INTEGER NOT NULL, tile_row INTEGER NOT NULL, tile_id TEXT NOT NULL);
CREATE UNIQUE INDEX map_index ON map (zoom_level, tile_column, tile_row);
CREATE TABLE images (tile_data BLOB NOT NULL, tile_id TEXT NOT NULL);
CREATE UNIQUE INDEX images_id ON images (tile_id);
CREATE VIEW tiles AS
  SELECT map.zoom_level AS zoom_level, map.tile_column AS tile_column,
         map.tile_row AS tile_row, images.tile_data AS tile_data
  FROM map JOIN images ON images.tile_id = map.tile_id;
";

impl Sink {
    pub fn create(path: &Path, opts: &ExportOptions) -> anyhow::Result<Sink> {
        if path.exists() {
            std::fs::remove_file(path)?;
        }
        let db = Connection::open(path)?;
        // Durability comes from the sync before the rename, not a journal.
        db.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA application_id = 0x4d504258;")?;
        db.execute_batch(SCHEMA)?;
        db.execute_batch("BEGIN")?;
        let meta = super::metadata(opts);
        let join = |v: &serde_json::Value| {
            v.as_array().map(|a| a.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")).unwrap_or_default()
        };
        let json = serde_json::json!({"vector_layers": meta["vector_layers"]});
        let rows: Vec<(&str, String)> = vec![
            ("name", meta["name"].as_str().unwrap_or("tuilerie").to_string()),
            ("format", "pbf".into()),
            ("bounds", join(&meta["bounds"])),
            ("center", join(&meta["center"])),
            ("minzoom", opts.minzoom.to_string()),
            ("maxzoom", opts.maxzoom.to_string()),
            ("type", "overlay".into()),
            ("version", "1".into()),
            ("description", format!("tuilerie {} export", env!("CARGO_PKG_VERSION"))),
            ("attribution", opts.attribution.clone().unwrap_or_default()),
            ("json", json.to_string()),
        ];
        for (k, v) in rows {
            db.execute("INSERT INTO metadata (name, value) VALUES (?1, ?2)", params![k, v])?;
        }
        Ok(Sink { db, written: 0, contents: HashSet::new() })
    }
}

impl TileSink for Sink {
    /// Column by column (the index's order), rows within.
    fn order(&self, c: TileCoord) -> u64 {
        (u64::from(c.x) << 32) | u64::from(c.y)
    }

    fn add(&mut self, tile: Tile) -> anyhow::Result<()> {
        let hash = xxhash_rust::xxh3::xxh3_128(&tile.gzip);
        let id = format!("{hash:032x}");
        if self.contents.insert(hash) {
            self.db
                .prepare_cached("INSERT INTO images (tile_data, tile_id) VALUES (?1, ?2)")?
                .execute(params![tile.gzip, id])?;
        }
        let c = tile.coord;
        let row = (1u32 << c.z) - 1 - c.y;
        self.db
            .prepare_cached("INSERT INTO map (zoom_level, tile_column, tile_row, tile_id) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![c.z, c.x, row, id])?;
        self.written += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> anyhow::Result<ExportReport> {
        let Sink { db, written, contents } = *self;
        db.execute_batch("COMMIT; ANALYZE;")?;
        let path = db.path().map(std::path::PathBuf::from);
        db.close().map_err(|(_, e)| e)?;
        if let Some(p) = path {
            std::fs::File::open(p)?.sync_all()?;
        }
        Ok(ExportReport { written, unique: contents.len() as u64, ..Default::default() })
    }
}
