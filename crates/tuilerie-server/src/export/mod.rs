//! `tuilerie export`: every tile of some layers over a box and a zoom range
//! written to one archive for a CDN or a desktop client, PMTiles v3
//! ([`pmtiles.rs`](pmtiles)) or MBTiles 1.3 ([`mbtiles.rs`](mbtiles)).
//!
//! A tile of the archive is exactly what `/tiles/{a,b}/{z}/{x}/{y}.mvt`
//! serves for the same layers (the same renderer and options, without
//! live status), gzipped. Tiles are cut on every core, a zoom level at a
//! time, and written in the archive's order (Hilbert ids for PMTiles);
//! empty tiles are not written, identical ones are stored once. The archive
//! is written beside the output under a temporary name, synced and renamed:
//! it appears only when complete.

pub mod command;
mod mbtiles;
mod pmtiles;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tuilerie_geo::tiling::{lonlat_to_world, render_tile, TileCoord, TileOptions, MAX_ZOOM};
use tuilerie_geo::Layer;

/// The archive formats, from the output's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    PmTiles,
    MbTiles,
}

impl Format {
    pub fn of(path: &Path) -> Result<Format, String> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("pmtiles") => Ok(Format::PmTiles),
            Some("mbtiles") => Ok(Format::MbTiles),
            _ => Err(format!("--output {}: the name must end in .pmtiles or .mbtiles", path.display())),
        }
    }
}

/// What to export.
pub struct ExportOptions {
    /// The layers, one MVT layer each in every tile, in this order.
    pub layers: Vec<Arc<Layer>>,
    pub minzoom: u8,
    pub maxzoom: u8,
    /// `[west, south, east, north]` in degrees.
    pub bbox: [f64; 4],
    pub tiles: TileOptions,
    pub attribution: Option<String>,
    /// Worker threads (at least 1).
    pub threads: usize,
    /// A progress bar on stderr (drawn only on a terminal).
    pub progress: bool,
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Tiles cut (every address of the box and zooms).
    pub addressed: u64,
    /// Tiles with data, written (addressed minus empty).
    pub written: u64,
    /// Distinct tile contents stored (identical tiles stored once).
    pub unique: u64,
    /// Size of the archive.
    pub bytes: u64,
}

/// A rendered tile: its coordinates and gzipped bytes (never empty).
pub struct Tile {
    pub coord: TileCoord,
    pub gzip: Vec<u8>,
}

/// Where rendered tiles go, one zoom level after the other, each level in
/// the order the sink asked for ([`TileSink::order`]).
pub trait TileSink {
    /// A sort key of the tiles of one level: the archive's order.
    fn order(&self, coord: TileCoord) -> u64;
    fn add(&mut self, tile: Tile) -> anyhow::Result<()>;
    /// Writes what is left, syncs the file; the report's counts.
    fn finish(self: Box<Self>) -> anyhow::Result<ExportReport>;
}

/// The tile range of `bbox` at zoom `z`: columns and rows, inclusive.
pub fn tile_range(bbox: [f64; 4], z: u8) -> ((u32, u32), (u32, u32)) {
    let n = 1u64 << z;
    let cell = |w: f64| ((w * n as f64).floor().max(0.0) as u64).min(n - 1) as u32;
    let (x0, y0) = lonlat_to_world(bbox[0], bbox[3]);
    let (x1, y1) = lonlat_to_world(bbox[2], bbox[1]);
    ((cell(x0), cell(x1)), (cell(y0), cell(y1)))
}

/// Checks the options: zooms within 0..=22 and in order, a box of real
/// longitudes and latitudes with west < east and south < north, layers.
pub fn check(opts: &ExportOptions) -> Result<(), String> {
    if opts.layers.is_empty() {
        return Err("--layers: no layer to export".into());
    }
    if opts.maxzoom > MAX_ZOOM {
        return Err(format!("--maxzoom {} is above the maximum {MAX_ZOOM}", opts.maxzoom));
    }
    if opts.minzoom > opts.maxzoom {
        return Err(format!("--minzoom {} is above --maxzoom {}", opts.minzoom, opts.maxzoom));
    }
    let [w, s, e, n] = opts.bbox;
    if !(-180.0..=180.0).contains(&w)
        || !(-180.0..=180.0).contains(&e)
        || !(-90.0..=90.0).contains(&s)
        || !(-90.0..=90.0).contains(&n)
    {
        return Err(format!("--bbox {w},{s},{e},{n}: longitudes must be within -180..180, latitudes within -90..90"));
    }
    if w >= e || s >= n {
        return Err(format!("--bbox {w},{s},{e},{n}: west must be below east and south below north"));
    }
    Ok(())
}

/// Parses `W,S,E,N`.
pub fn parse_bbox(text: &str) -> Result<[f64; 4], String> {
    let v: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>().map_err(|_| format!("--bbox {text:?}: {p:?} is not a number")))
        .collect::<Result<_, _>>()?;
    match v[..] {
        [w, s, e, n] if v.iter().all(|x| x.is_finite()) => Ok([w, s, e, n]),
        _ => Err(format!("--bbox {text:?}: expected four numbers W,S,E,N")),
    }
}

pub use crate::routes::tilejson::layers_bounds;

/// The archive's metadata: the TileJSON of the layers (name, bounds,
/// centre, zooms, `vector_layers`), for both formats.
pub fn metadata(opts: &ExportOptions) -> serde_json::Value {
    let list: Vec<&str> = opts.layers.iter().map(|l| l.id().as_str()).collect();
    let mut doc = crate::routes::tilejson::tilejson("", &list.join(","), &opts.layers, opts.attribution.as_deref());
    if let Some(o) = doc.as_object_mut() {
        o.remove("tiles");
        o.remove("tilejson");
    }
    let [w, s, e, n] = opts.bbox;
    let b = layers_bounds(&opts.layers);
    let bounds = [w.max(b[0]), s.max(b[1]), e.min(b[2]), n.min(b[3])];
    let bounds = if bounds[0] < bounds[2] && bounds[1] < bounds[3] { bounds } else { opts.bbox };
    let centre = crate::routes::tilejson::centre(&bounds);
    doc["bounds"] = serde_json::json!(bounds);
    doc["center"] = serde_json::json!([centre[0], centre[1], opts.minzoom.max(opts.maxzoom.min(10))]);
    doc["minzoom"] = serde_json::json!(opts.minzoom);
    doc["maxzoom"] = serde_json::json!(opts.maxzoom);
    doc
}

/// Writes the archive of `opts` to `output` (its format from the name).
pub fn export(opts: &ExportOptions, output: &Path) -> anyhow::Result<ExportReport> {
    check(opts).map_err(anyhow::Error::msg)?;
    let format = Format::of(output).map_err(anyhow::Error::msg)?;
    let partial = partial_path(output);
    let result = (|| {
        let sink: Box<dyn TileSink> = match format {
            Format::PmTiles => Box::new(pmtiles::Sink::create(&partial, opts)?),
            Format::MbTiles => Box::new(mbtiles::Sink::create(&partial, opts)?),
        };
        let mut report = run(opts, sink)?;
        std::fs::rename(&partial, output)?;
        if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)?.sync_all()?;
        }
        report.bytes = std::fs::metadata(output)?.len();
        Ok(report)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

/// `OUT.pmtiles` is written as `OUT.pmtiles.partial` first.
fn partial_path(output: &Path) -> PathBuf {
    let mut name = output.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    output.with_file_name(name)
}

/// Tiles a worker takes at once, and tiles cut before they are written.
const BLOCK: usize = 64;
const WINDOW: usize = 16 * 1024;

fn run(opts: &ExportOptions, mut sink: Box<dyn TileSink>) -> anyhow::Result<ExportReport> {
    let levels: Vec<Vec<TileCoord>> = (opts.minzoom..=opts.maxzoom)
        .map(|z| {
            let ((x0, x1), (y0, y1)) = tile_range(opts.bbox, z);
            let mut level: Vec<TileCoord> =
                (x0..=x1).flat_map(|x| (y0..=y1).map(move |y| TileCoord { z, x, y })).collect();
            level.sort_by_key(|&c| sink.order(c));
            level
        })
        .collect();
    let total: u64 = levels.iter().map(|l| l.len() as u64).sum();
    let bar = if opts.progress {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:40}] {pos}/{len} tiles, {per_sec}, ETA {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let refs: Vec<_> = opts.layers.iter().map(|l| l.tiles()).collect();
    let threads = opts.threads.max(1);
    for (z, whole) in (opts.minzoom..).zip(&levels) {
        bar.set_message(format!("z{z}"));
        // A window of the level at a time, so that a level of many tiles is
        // never held whole: workers take blocks of the window in turn and
        // the results are put back in order before they are written.
        for level in whole.chunks(WINDOW) {
            let next = AtomicUsize::new(0);
            let mut done: Vec<(usize, Vec<Option<Vec<u8>>>)> = std::thread::scope(|s| {
                let workers: Vec<_> = (0..threads)
                    .map(|_| {
                        s.spawn(|| {
                            let mut out = Vec::new();
                            loop {
                                let start = next.fetch_add(BLOCK, Ordering::Relaxed);
                                if start >= level.len() {
                                    break;
                                }
                                let block = &level[start..(start + BLOCK).min(level.len())];
                                let tiles = block
                                    .iter()
                                    .map(|&c| {
                                        render_tile(&refs, c, &opts.tiles)
                                            .filter(|t| !t.is_empty())
                                            .map(|t| crate::cache::gzip(&t))
                                    })
                                    .collect();
                                bar.inc(block.len() as u64);
                                out.push((start, tiles));
                            }
                            out
                        })
                    })
                    .collect();
                workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
            });
            done.sort_by_key(|(start, _)| *start);
            let rendered: usize = done.iter().map(|(_, t)| t.len()).sum();
            if rendered != level.len() {
                anyhow::bail!("a tile worker stopped at zoom {z}: {rendered} of {} tiles cut", level.len());
            }
            for (start, tiles) in done {
                for (k, gzip) in tiles.into_iter().enumerate() {
                    if let Some(gzip) = gzip {
                        sink.add(Tile { coord: level[start + k], gzip })?;
                    }
                }
            }
        }
    }
    bar.finish_and_clear();
    let mut report = sink.finish()?;
    report.addressed = total;
    Ok(report)
}
