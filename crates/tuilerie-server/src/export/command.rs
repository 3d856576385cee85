//! `tuilerie export` from the command line: the sources as `serve` reads
//! them (files, folders, `--config` layers, tables and maps), the options
//! checked before anything is loaded, then [`super::export`].

use super::{export, layers_bounds, parse_bbox, ExportOptions, Format};
use crate::config::Config;
use crate::loading;
use anyhow::{bail, Context};
use std::path::PathBuf;
use std::sync::Arc;

/// The command's arguments.
pub struct ExportArgs {
    pub paths: Vec<PathBuf>,
    pub config: Option<PathBuf>,
    pub output: PathBuf,
    pub layers: Option<String>,
    pub maps: Option<String>,
    pub minzoom: u8,
    pub maxzoom: Option<u8>,
    pub bbox: Option<String>,
    pub threads: Option<usize>,
}

pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    Format::of(&args.output).map_err(anyhow::Error::msg)?;
    let bbox = args.bbox.as_deref().map(parse_bbox).transpose().map_err(anyhow::Error::msg)?;
    let config = match &args.config {
        Some(p) => Config::from_file(p)?,
        None => Config::default(),
    };
    let sources = loading::configured_layers(&config, &args.paths)?;
    if sources.is_empty() {
        bail!("nothing to export: give files or folders (tuilerie export data/ -o out.pmtiles) or layers in --config");
    }
    let catalog = loading::load_catalog(&sources, true);
    if let Some(f) = catalog.failed().first() {
        bail!("layer not loaded, nothing written: {}", f.error);
    }
    let t = &config.tiles;
    let tiles = tuilerie_geo::tiling::TileOptions { extent: t.extent, buffer: t.buffer, max_bytes: t.max_bytes };
    let state = crate::AppState::ready(catalog, crate::ServerOptions { tiles, ..Default::default() });
    let catalog = state.catalog().context("the layers were just loaded")?;
    let known = || catalog.ids().join(", ");
    let mut layers = match (&args.layers, &args.maps) {
        (Some(list), _) => crate::routes::resolve_layers(&catalog, list)
            .map_err(|e| anyhow::anyhow!("--layers: {e} (layers: {})", known()))?,
        (None, None) => catalog.layers().to_vec(),
        (None, Some(_)) => Vec::new(),
    };
    if let Some(list) = &args.maps {
        // The maps of the configuration, built as serve builds them.
        loading::build_maps(&state, &config.tables, config.maps.clone(), args.config.as_deref());
        for id in list.split(',').map(str::trim) {
            match state.maps.get(id) {
                Some(e) => layers.push(Arc::clone(&e.map.layer)),
                None => {
                    if let Some(f) = state.maps.failed().into_iter().find(|f| f.id == id) {
                        bail!("--maps: map {id:?} could not be built ({}: {})", f.parameter, f.error);
                    }
                    let maps: Vec<String> = state.maps.list().iter().map(|e| e.map.id.clone()).collect();
                    bail!("--maps: unknown map {id:?} (maps of the configuration: {})", maps.join(", "));
                }
            }
        }
    }
    let maxzoom =
        args.maxzoom.unwrap_or_else(|| layers.iter().map(|l| l.tile_prep().settings().maxzoom).max().unwrap_or(14));
    let opts = ExportOptions {
        bbox: bbox.unwrap_or_else(|| layers_bounds(&layers)),
        layers,
        minzoom: args.minzoom,
        maxzoom,
        tiles,
        attribution: config.server.attribution.clone(),
        threads: args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        progress: true,
    };
    let start = std::time::Instant::now();
    let report = export(&opts, &args.output)?;
    let seconds = start.elapsed().as_secs_f64();
    eprintln!(
        "{}: {} tiles cut, {} written ({} distinct), {} bytes, {:.1} s ({:.0} tiles/s)",
        args.output.display(),
        report.addressed,
        report.written,
        report.unique,
        report.bytes,
        seconds,
        report.addressed as f64 / seconds.max(1e-9)
    );
    Ok(())
}
