//! The `tuilerie` command: `serve` layers over HTTP, `inspect` files.
//! Flow: args → config → tracing → bind → load (blocking pool) → serve.

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use tuilerie_server::config::{self, Config};
use tuilerie_server::store::{self, Store};
use tuilerie_server::{app_with_policy, inspect, loading, AppState, ServerOptions};

#[derive(Parser)]
#[command(
    name = "tuilerie",
    version,
    about = "Vector tiles, nearest facilities and thematic maps from GeoJSON and shapefiles"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log lines as text (default) or as JSON objects, one per line.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "TUILERIE_LOG_FORMAT")]
    log_format: LogFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print it (only it, once) on stdout.
    Create {
        /// admin: everything; editor: feature edits; sensor: status observations.
        #[arg(long, value_enum)]
        role: tuilerie_server::store::Role,
        /// Comma-separated layer ids the token is limited to (and `maps` for
        /// maps and tables); default: every layer.
        #[arg(long, value_delimiter = ',')]
        layers: Option<Vec<String>>,
        /// A name to list and revoke it by (default: role and a number).
        #[arg(long)]
        name: Option<String>,
    },
    /// List tokens: names, roles, scopes, dates (never the secret).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by name.
    Revoke { name: String },
}

#[derive(Subcommand)]
enum Command {
    /// Serve files and folders: every .geojson, .json and .shp becomes a layer.
    Serve {
        /// Files or folders to serve (added to the layers of --config).
        paths: Vec<PathBuf>,
        /// TOML configuration file (server options, per-layer options).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Address to bind; overrides the configuration.
        #[arg(long, env = "TUILERIE_ADDR")]
        addr: Option<String>,
        /// Public base URL used in TileJSON when behind a proxy.
        #[arg(long, env = "TUILERIE_PUBLIC_URL")]
        public_url: Option<String>,
        /// The store's directory (edits, tokens, maps and tables made
        /// through the API); default tuilerie-data/ beside --config or here.
        #[arg(long, env = "TUILERIE_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// A PostgreSQL store shared by replicas instead of the data
        /// directory's SQLite: postgres://user@host:port/database.
        #[arg(long, env = "TUILERIE_STORE")]
        store: Option<String>,
    },
    /// Create, list and revoke the tokens that writes need (works while the
    /// server runs; a change is honoured within a second).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
        /// TOML configuration file (to find its data_dir).
        #[arg(long, short, global = true)]
        config: Option<PathBuf>,
        /// The store's directory, as for serve.
        #[arg(long, env = "TUILERIE_DATA_DIR", global = true)]
        data_dir: Option<PathBuf>,
        /// The PostgreSQL store, as for serve.
        #[arg(long, env = "TUILERIE_STORE", global = true)]
        store: Option<String>,
    },
    /// Write every tile of some layers over a box and zoom range to a
    /// PMTiles or MBTiles archive (for a CDN, QGIS or Martin): the tiles
    /// `/tiles/{a,b}/{z}/{x}/{y}.mvt` would serve, gzipped; empty tiles
    /// left out, identical ones stored once; written whole or not at all.
    Export {
        /// Files or folders (added to the layers of --config), as for serve.
        paths: Vec<PathBuf>,
        /// TOML configuration file (its layers and tile options).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The archive: a name ending in .pmtiles or .mbtiles.
        #[arg(long, short)]
        output: PathBuf,
        /// Comma-separated layer ids (default: every layer, in order,
        /// unless --maps is given).
        #[arg(long)]
        layers: Option<String>,
        /// Comma-separated thematic map ids of the configuration: their
        /// derived layers (value and class), as /maps/{id}/tiles serves them.
        #[arg(long)]
        maps: Option<String>,
        /// Lowest zoom written.
        #[arg(long, default_value_t = 0)]
        minzoom: u8,
        /// Highest zoom written (default: the layers' highest maxzoom).
        #[arg(long)]
        maxzoom: Option<u8>,
        /// W,S,E,N in degrees (default: the layers' bounds); a west below
        /// zero may follow the flag directly: --bbox -1.27,44.19,0.32,45.58.
        #[arg(long, allow_hyphen_values = true)]
        bbox: Option<String>,
        /// Worker threads (default: every core).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Build the snapshots of layers ahead of time (next to each file, or
    /// in --dir): a server then starts from them without parsing the files.
    Snapshot {
        /// Files or folders (added to the layers of --config), as for serve.
        paths: Vec<PathBuf>,
        /// TOML configuration file (its layers and their options).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Write into this folder (a server's `snapshots` directory)
        /// instead of next to each file.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Show what tuilerie reads in files: CRS, encoding, counts, fields, skipped features.
    Inspect {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Source CRS override, e.g. EPSG:2154.
        #[arg(long)]
        crs: Option<String>,
        /// Attribute encoding override for shapefiles, e.g. ISO-8859-1.
        #[arg(long)]
        encoding: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Also report the stored edits of these files' layers and their
        /// conflicts (edits whose file feature is gone): the store of this
        /// configuration (whose layer options apply too)...
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// ... or of this data directory.
        #[arg(long, env = "TUILERIE_DATA_DIR")]
        data_dir: Option<PathBuf>,
    },
}

/// Logs to stderr; `RUST_LOG` overrides the default level (info for
/// `serve`, warn for `inspect`, whose report goes to stdout).
/// In JSON, each line is an object with `timestamp`, `level`, `fields`
/// (`message` and the event's fields), `target` and `spans` (the request
/// span carries `id`, `method` and `route`).
fn init_tracing(default: &str, format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder.json().with_current_span(false).with_span_list(true).try_init(),
    };
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(
        match cli.command {
            Command::Serve { .. } | Command::Export { .. } | Command::Snapshot { .. } => "info",
            Command::Inspect { .. } | Command::Token { .. } => "warn",
        },
        cli.log_format,
    );
    let result = match cli.command {
        Command::Serve { paths, config, addr, public_url, data_dir, store } => {
            serve(paths, config, addr, public_url, data_dir, store)
        }
        Command::Token { command, config, data_dir, store } => tokens(command, config, data_dir, store),
        Command::Export { paths, config, output, layers, maps, minzoom, maxzoom, bbox, threads } => {
            export(tuilerie_server::export::command::ExportArgs {
                paths,
                config,
                output,
                layers,
                maps,
                minzoom,
                maxzoom,
                bbox,
                threads,
            })
        }
        Command::Snapshot { paths, config, dir } => snapshot(paths, config, dir),
        Command::Inspect { files, crs, encoding, json, config, data_dir } => {
            inspect_files(files, crs, encoding, json, config, data_dir)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn inspect_files(
    files: Vec<PathBuf>,
    crs: Option<String>,
    encoding: Option<String>,
    json: bool,
    config_path: Option<PathBuf>,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let config = match &config_path {
        Some(p) => Config::from_file(p)?,
        None => Config::default(),
    };
    // The stored edits, when a store exists (inspect never creates one).
    let dir = store::data_dir(data_dir, config.server.data_dir.as_deref(), config_path.as_deref());
    let overlay = if dir.join("tuilerie.db").is_file() {
        let s = store::sqlite::SqliteStore::open(&dir)?;
        Some(tuilerie_server::edits::overlay::Overlay::load(s.features()?))
    } else {
        None
    };
    let mut failed = 0;
    let mut reports = Vec::new();
    for f in &files {
        let mut configured: Vec<_> =
            config.layers.iter().filter(|l| config::same_file(&l.path, f)).map(|l| l.load_options()).collect();
        if configured.is_empty() {
            configured.push(Default::default());
        }
        for opts in &mut configured {
            opts.crs = crs.clone().or(opts.crs.take());
            opts.encoding = encoding.clone().or(opts.encoding.take());
        }
        for (opts, result) in tuilerie_geo::source::load_many(f, configured) {
            match result {
                Ok(layer) => {
                    let id = layer.id().to_string();
                    let edits = overlay.as_ref().map(|o| (o.count(&id), o.edits(&id))).filter(|(n, _)| *n > 0);
                    let conflicts = edits.as_ref().map(|(n, e)| {
                        let conflicts = tuilerie_geo::edit::rebuild(&layer, opts.clone(), e)
                            .map(|r| r.conflicts)
                            .unwrap_or_default();
                        (*n, conflicts)
                    });
                    if json {
                        let mut v = inspect::report_json(&layer);
                        if let Some((n, c)) = &conflicts {
                            v["edits"] = serde_json::json!({"edited_features": n, "conflicts": c});
                        }
                        reports.push(v);
                    } else {
                        let mut text = inspect::report(&layer);
                        if let Some((n, c)) = &conflicts {
                            use std::fmt::Write;
                            let _ = write!(text, "\n  edits       {n} edited features in {}", dir.display());
                            if !c.is_empty() {
                                let _ = write!(
                                    text,
                                    "\n  conflicts   {} (their file feature is gone; kept in the store): {}",
                                    c.len(),
                                    c.join(", ")
                                );
                            }
                        }
                        println!("{text}");
                    }
                }
                Err(e) => {
                    failed += 1;
                    if json {
                        reports.push(serde_json::json!({"path": f, "error": e.to_string()}));
                    } else {
                        eprintln!("error: {e}");
                    }
                }
            }
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    Ok(if failed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Opens the store the way `serve` and `token` both find it.
fn open_store(
    config_path: Option<&std::path::Path>,
    config: &Config,
    data_dir: Option<PathBuf>,
    store: Option<String>,
) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    // --store / TUILERIE_STORE / [server] store: PostgreSQL shared by replicas.
    if let Some(url) = store.filter(|u| !u.is_empty()).or_else(|| config.server.store.clone()) {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            bail!("store {url:?}: expected postgres://user@host:port/database (--store, TUILERIE_STORE or [server] store)");
        }
        return Ok(std::sync::Arc::new(store::postgres::PostgresStore::connect(&url)?));
    }
    let dir = store::data_dir(data_dir, config.server.data_dir.as_deref(), config_path);
    let max = config.server.max_store_mb.map(|mb| mb * 1024 * 1024);
    let s = store::sqlite::SqliteStore::open_with(&dir, max)?;
    Ok(std::sync::Arc::new(s))
}

fn tokens(
    command: TokenCommand,
    config_path: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    store: Option<String>,
) -> anyhow::Result<ExitCode> {
    let config = match &config_path {
        Some(p) => Config::from_file(p)?,
        None => Config::default(),
    };
    let store = open_store(config_path.as_deref(), &config, data_dir, store)?;
    match command {
        TokenCommand::Create { role, layers, name } => {
            if let Some(layers) = &layers {
                for l in layers {
                    tuilerie_geo::LayerId::new(l).map_err(|e| anyhow::anyhow!("--layers: {e}"))?;
                }
            }
            let secret = tuilerie_server::auth::new_secret();
            let name = match name {
                Some(n) => {
                    if n.is_empty() || n.len() > 100 || n.chars().any(|c| c.is_control()) {
                        bail!("--name must have 1 to 100 characters, without control characters");
                    }
                    n
                }
                None => format!("{}-{}", role.as_str(), &secret[secret.len() - 8..]),
            };
            let record = store::TokenRecord {
                name: name.clone(),
                hash: tuilerie_server::auth::digest(&secret),
                role,
                layers,
                created: store::now(),
                last_used: None,
                revoked: None,
            };
            store.create_token(&record)?;
            println!("{secret}");
            eprintln!("token {name:?} ({}) created; it is shown once, keep it now", role.as_str());
        }
        TokenCommand::List { json } => {
            let all = store.tokens()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                println!("{:<24} {:<7} {:<24} {:<25} {:<25} revoked", "name", "role", "layers", "created", "last used");
                for t in all {
                    println!(
                        "{:<24} {:<7} {:<24} {:<25} {:<25} {}",
                        t.name,
                        t.role.as_str(),
                        t.layers.map(|l| l.join(",")).unwrap_or_else(|| "*".into()),
                        t.created,
                        t.last_used.unwrap_or_else(|| "-".into()),
                        t.revoked.unwrap_or_else(|| "-".into())
                    );
                }
            }
        }
        TokenCommand::Revoke { name } => {
            if !store.revoke_token(&name, &store::now())? {
                bail!("no active token named {name:?} (tuilerie token list)");
            }
            eprintln!("token {name:?} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn export(args: tuilerie_server::export::command::ExportArgs) -> anyhow::Result<ExitCode> {
    tuilerie_server::export::command::run(args)?;
    Ok(ExitCode::SUCCESS)
}

fn snapshot(paths: Vec<PathBuf>, config_path: Option<PathBuf>, dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let config = match &config_path {
        Some(p) => Config::from_file(p)?,
        None => Config::default(),
    };
    let layers = loading::configured_layers(&config, &paths)?;
    if layers.is_empty() {
        bail!("nothing to snapshot: give files or folders, or layers in --config");
    }
    tuilerie_server::snapshots::build(&layers, dir.as_deref())
}

fn serve(
    paths: Vec<PathBuf>,
    config_path: Option<PathBuf>,
    addr: Option<String>,
    public_url: Option<String>,
    data_dir: Option<PathBuf>,
    store: Option<String>,
) -> anyhow::Result<ExitCode> {
    let config = match &config_path {
        Some(p) => Config::from_file(p)?,
        None => Config::default(),
    };
    if !config.web.fonts.is_empty() {
        let added = tuilerie_server::glyphs::load_folders(&config.web.fonts)
            .map_err(|e| anyhow::anyhow!("[web] fonts: {e}"))?;
        tracing::info!(fonts = ?added, "extra fonts served");
    }
    let write_options = tuilerie_server::edits::WriteOptions {
        write_rate: config.server.write_rate.unwrap_or(50.0),
        write_burst: config.server.write_burst.unwrap_or(200.0),
        group_commit: config.server.group_commit.unwrap_or(true),
    };
    // A store that cannot be written (read-only directory) leaves the
    // server serving reads, writes refused with the reason; a store of a
    // newer version or another application stops the start.
    let snapshots = tuilerie_server::snapshots::dir_for(
        &config,
        config_path.as_deref(),
        &store::data_dir(data_dir.clone(), config.server.data_dir.as_deref(), config_path.as_deref()),
    );
    let (writes, writes_off) = match open_store(config_path.as_deref(), &config, data_dir, store) {
        Ok(store) => (Some(tuilerie_server::edits::Writes::open(store, write_options)?), None),
        Err(e) => match e.downcast::<store::StoreError>() {
            Ok(store::StoreError::ReadOnly(why)) => {
                tracing::error!("{why}: serving reads only, writes answer 503");
                (None, Some(why))
            }
            Ok(other) => return Err(other.into()),
            Err(e) => return Err(e),
        },
    };
    let mut layers = loading::configured_layers(&config, &paths)?;
    tuilerie_server::snapshots::assign(&mut layers, snapshots.as_deref());
    let folders: Vec<PathBuf> = paths.iter().filter(|p| p.is_dir()).cloned().collect();
    if layers.is_empty() {
        bail!("nothing to serve: give files or folders (tuilerie serve data/) or layers in --config");
    }
    let addr = addr.or(config.server.addr.clone()).unwrap_or_else(|| config::DEFAULT_ADDR.to_string());
    let addr = config::parse_addr(&addr).context("bind address (--addr, TUILERIE_ADDR or server.addr)")?;
    let public_url = public_url.or(config.server.public_url.clone());
    if let Some(u) = &public_url {
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            bail!("public URL {u:?} must start with http:// or https://");
        }
    }
    let t = &config.tiles;
    let options = ServerOptions {
        public_url: public_url.map(|u| u.trim_end_matches('/').to_string()),
        attribution: config.server.attribution.clone(),
        tiles: tuilerie_geo::tiling::TileOptions { extent: t.extent, buffer: t.buffer, max_bytes: t.max_bytes },
        cache_control: t.cache_control.clone(),
        cache_bytes: t.cache_mb * 1024 * 1024,
        web: config.web.clone(),
        body_timeout: std::time::Duration::from_secs_f64(config.server.body_timeout.unwrap_or(30.0)),
        limits: config.limits,
        require_token_for_reads: config.server.require_token_for_reads.unwrap_or(false),
        writes_off,
    };
    let cors = config.server.cors_origins.clone().unwrap_or_else(|| vec!["*".into()]);
    let limits = config.server.connection_limits();
    let cors_writes = config.server.cors_write_origins.clone().unwrap_or_default();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let state = AppState::with_writes(options, writes);
        let loader_state = state.clone();
        let (tables, maps) = (config.tables.clone(), config.maps.clone());
        let config_file = config_path.clone();
        let reload_tx = std::sync::Arc::new(std::sync::OnceLock::new());
        let on_hup = reload_tx.clone();
        tokio::spawn(async move { forward_sighup(on_hup).await });
        let watch = config.server.watch.unwrap_or(true);
        let debounce = std::time::Duration::from_secs_f64(config.server.reload_debounce.unwrap_or(0.5));
        tokio::task::spawn_blocking(move || {
            let start = std::time::Instant::now();
            let catalog = loading::load_catalog(&layers, true);
            metrics::histogram!("tuilerie_layer_load_duration_seconds", "kind" => "load")
                .record(start.elapsed().as_secs_f64());
            let (ok, bad) = (catalog.layers().len(), catalog.failed().len());
            for f in catalog.failed() {
                tracing::error!("skipped layer: {}", f.error);
            }
            let catalog = loading::apply_edits(&loader_state, catalog, &layers);
            loader_state.set_catalog(catalog);
            loading::build_maps(&loader_state, &tables, maps, config_file.as_deref());
            loading::restore_api_resources(&loader_state);
            tracing::info!(layers = ok, failed = bad, "ready: open http://{addr}/");
            let reloader = tuilerie_server::reload::Reloader::new(loader_state, layers, folders, debounce);
            let _ = reload_tx.set(reloader.start(watch));
        });
        tracing::info!("listening on http://{addr}/ (loading layers)");
        let policy = tuilerie_server::cors::CorsPolicy::with_writes(&cors, &cors_writes);
        // Event streams end at shutdown (else they hold it until the timeout).
        let hub = state.writes.as_ref().map(|w| w.hub.clone());
        let stop = async move {
            shutdown().await;
            if let Some(h) = hub {
                h.close();
            }
        };
        tuilerie_server::serve::serve(listener, app_with_policy(state, policy), limits, stop).await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// SIGHUP asks the reloader (once started) to reload every layer.
async fn forward_sighup(
    reloader: std::sync::Arc<std::sync::OnceLock<std::sync::mpsc::Sender<tuilerie_server::reload::Trigger>>>,
) {
    #[cfg(unix)]
    {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else { return };
        while hup.recv().await.is_some() {
            match reloader.get() {
                Some(tx) => {
                    let _ = tx.send(tuilerie_server::reload::Trigger::Signal);
                }
                None => tracing::warn!("SIGHUP ignored: layers are still loading"),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = reloader;
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
