//! PMTiles v3 through the `pmtiles` crate's writer: tiles added in Hilbert
//! order (the header says clustered), identical contents stored once and
//! consecutive ones as runs, directories and metadata gzipped, tiles
//! already gzipped by us (the same bytes the server sends).

use super::{ExportOptions, ExportReport, Tile, TileSink};
use ::pmtiles::{Compression, PmTilesStreamWriter, PmTilesWriter, TileId, TileType};
use std::collections::HashSet;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use tuilerie_geo::tiling::TileCoord;

pub struct Sink {
    writer: PmTilesStreamWriter<BufWriter<File>>,
    file: File,
    written: u64,
    contents: HashSet<u128>,
}

impl Sink {
    pub fn create(path: &Path, opts: &ExportOptions) -> anyhow::Result<Sink> {
        let file = File::create(path)?;
        let meta = super::metadata(opts);
        let b = &meta["bounds"];
        let num = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
        let writer = PmTilesWriter::new(TileType::Mvt)
            .precompressed(Compression::Gzip)
            .internal_compression(Compression::Gzip)
            .min_zoom(opts.minzoom)
            .max_zoom(opts.maxzoom)
            .bounds(num(&b[0]), num(&b[1]), num(&b[2]), num(&b[3]))
            .center(num(&meta["center"][0]), num(&meta["center"][1]))
            .center_zoom(meta["center"][2].as_u64().unwrap_or(0) as u8)
            .metadata(meta.to_string())
            .create(BufWriter::with_capacity(1 << 20, file.try_clone()?))?;
        Ok(Sink { writer, file, written: 0, contents: HashSet::new() })
    }
}

/// The PMTiles id of a tile: its position on the Hilbert curve of its
/// zoom, after every tile of the zooms above.
pub fn tile_id(c: TileCoord) -> u64 {
    ::pmtiles::TileCoord::new(c.z, c.x, c.y).map(|t| TileId::from(t).value()).unwrap_or(u64::MAX)
}

impl TileSink for Sink {
    fn order(&self, coord: TileCoord) -> u64 {
        tile_id(coord)
    }

    fn add(&mut self, tile: Tile) -> anyhow::Result<()> {
        let c = ::pmtiles::TileCoord::new(tile.coord.z, tile.coord.x, tile.coord.y)?;
        self.contents.insert(xxhash_rust::xxh3::xxh3_128(&tile.gzip));
        self.writer.add_tile(c, &tile.gzip)?;
        self.written += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> anyhow::Result<ExportReport> {
        let Sink { writer, file, written, contents } = *self;
        writer.finalize()?;
        file.sync_all()?;
        Ok(ExportReport { written, unique: contents.len() as u64, ..Default::default() })
    }
}
