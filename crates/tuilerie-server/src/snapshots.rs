//! Where the server keeps snapshots of its built layers, and `tuilerie
//! snapshot`, which builds them ahead of time (for deployments that ship
//! them next to the files, or start replicas from a shared folder).

use crate::config::{Config, LayerConfig};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use tuilerie_geo::snapshot;

/// The snapshot folder of a server: `[server] snapshots` (relative to the
/// configuration file; empty: none), else `snapshots/` in the data directory.
pub fn dir_for(config: &Config, config_file: Option<&Path>, data_dir: &Path) -> Option<PathBuf> {
    match &config.server.snapshots {
        Some(p) if p.as_os_str().is_empty() => None,
        Some(p) if p.is_absolute() => Some(p.clone()),
        Some(p) => Some(config_file.and_then(Path::parent).unwrap_or(Path::new("")).join(p)),
        None => Some(data_dir.join("snapshots")),
    }
}

/// Points every layer at the snapshot folder.
pub fn assign(layers: &mut [LayerConfig], dir: Option<&Path>) {
    for l in layers {
        l.snapshots = dir.map(Path::to_path_buf);
    }
}

/// Builds the snapshot of every layer (those of the configuration, then
/// one per file of `paths`) into `dir`, or next to each file: a current
/// snapshot is kept, any other built again. Prints one line per layer.
pub fn build(layers: &[LayerConfig], dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let mut failed = 0;
    for l in layers {
        let mut options = l.load_options();
        options.snapshots = None;
        if let Err(e) = options.validate() {
            eprintln!("{}: {e}", l.path.display());
            failed += 1;
            continue;
        }
        let expanded = tuilerie_geo::source::expand(&l.path, options);
        let dest = |o: &tuilerie_geo::LoadOptions| match dir {
            Some(d) => snapshot::path_in(d, &l.path, o),
            None => snapshot::path_beside(&l.path, o),
        };
        if expanded.iter().all(|o| snapshot::read(&dest(o), &l.path, o).is_ok()) {
            for o in &expanded {
                println!("{}: up to date ({})", l.path.display(), dest(o).display());
            }
            continue;
        }
        let started = Instant::now();
        // Stamped before the file is read: a file that changes while it is
        // read gets no snapshot (snapshot::write says so).
        let mut cache = snapshot::StampCache::new();
        if let Err(e) =
            expanded.iter().try_for_each(|o| snapshot::Sources::take_cached(&l.path, o, &mut cache).map(drop))
        {
            eprintln!("{e}");
            failed += 1;
            continue;
        }
        for (o, result) in tuilerie_geo::source::load_many(&l.path, expanded) {
            let layer = match result {
                Ok(layer) => layer,
                Err(e) => {
                    eprintln!("{}: {e}", l.path.display());
                    failed += 1;
                    continue;
                }
            };
            let file = dest(&o);
            // From the stamps taken above (load_many may reorder an OSM
            // file's layers, so they are found by their files, not by
            // position): no file is read again.
            let written = snapshot::Sources::take_cached(&l.path, &o, &mut cache)
                .and_then(|sources| snapshot::write(&file, &layer, &o, &sources));
            match written {
                Ok(bytes) => println!(
                    "{}: layer {}, {} features, snapshot {} ({:.1} MB, {:.1} s)",
                    l.path.display(),
                    layer.id(),
                    layer.len(),
                    file.display(),
                    bytes as f64 / 1e6,
                    started.elapsed().as_secs_f64()
                ),
                Err(e) => {
                    eprintln!("{}: snapshot not written: {e}", l.path.display());
                    failed += 1;
                }
            }
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
