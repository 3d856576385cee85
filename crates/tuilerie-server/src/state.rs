//! Shared state of the service: the catalog of layers (swapped atomically
//! when loading finishes or on reload) and the server options.

use crate::cache::TileCache;
use arc_swap::ArcSwapOption;
use std::sync::Arc;
use tuilerie_geo::Catalog;

/// Options the handlers need, fixed at start-up.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub public_url: Option<String>,
    pub attribution: Option<String>,
    /// Tile extent, buffer and byte budget.
    pub tiles: tuilerie_geo::tiling::TileOptions,
    /// `Cache-Control` of tile responses.
    pub cache_control: String,
    /// Bytes of memory for the tile cache (0: off).
    pub cache_bytes: u64,
    /// Web map title and optional basemap.
    pub web: crate::config::WebConfig,
    /// Time for a request body to arrive whole (slow uploads are cut).
    pub body_timeout: std::time::Duration,
    /// Bodies, tables, maps and heavy work (`[limits]`).
    pub limits: crate::limits::Limits,
    /// Reads need a token too (`[server] require_token_for_reads`).
    pub require_token_for_reads: bool,
    /// Why there is no store, when writes are off (a read-only data
    /// directory): said in every refused write.
    pub writes_off: Option<String>,
}

impl ServerOptions {
    /// `Cache-Control` of tiles as a header value (checked at start-up).
    pub fn cache_control_header(&self) -> axum::http::HeaderValue {
        axum::http::HeaderValue::from_str(&self.cache_control)
            .unwrap_or(axum::http::HeaderValue::from_static("no-cache"))
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            public_url: None,
            attribution: None,
            tiles: Default::default(),
            cache_control: "public, max-age=3600".into(),
            cache_bytes: 256 * 1024 * 1024,
            web: Default::default(),
            body_timeout: std::time::Duration::from_secs(30),
            limits: Default::default(),
            require_token_for_reads: false,
            writes_off: None,
        }
    }
}

/// Cloned into every handler: one `Arc` (one atomic increment per request).
#[derive(Clone)]
pub struct AppState(Arc<StateInner>);

/// What [`AppState`] shares (reached through `Deref`).
pub struct StateInner {
    catalog: ArcSwapOption<Catalog>,
    pub options: Arc<ServerOptions>,
    pub tiles: TileCache,
    /// Thematic maps and CSV tables.
    pub maps: Arc<crate::maps::MapStore>,
    /// `options.cache_control` as a header value, built once.
    pub cache_control: axum::http::HeaderValue,
    /// Limits on CSV parsing, map building and exports.
    pub heavy: crate::heavy::HeavyWork,
    /// The store, tokens and edits; `None`: a read-only server (writes
    /// answer 503).
    pub writes: Option<Arc<crate::edits::Writes>>,
}

impl std::ops::Deref for AppState {
    type Target = StateInner;

    fn deref(&self) -> &StateInner {
        &self.0
    }
}

impl AppState {
    /// A state whose catalog is still loading, without a store.
    pub fn loading(options: ServerOptions) -> Self {
        Self::with_writes(options, None)
    }

    /// A state whose catalog is still loading, writing to `writes` (whose
    /// rebuilder starts here).
    pub fn with_writes(options: ServerOptions, writes: Option<Arc<crate::edits::Writes>>) -> Self {
        crate::metrics::handle();
        let state = AppState(Arc::new(StateInner {
            writes: writes.clone(),
            catalog: ArcSwapOption::empty(),
            tiles: TileCache::new(options.cache_bytes),
            maps: Arc::new(crate::maps::MapStore::new(options.limits)),
            cache_control: options.cache_control_header(),
            heavy: crate::heavy::HeavyWork::new(
                options.limits.export_slots,
                options.limits.build_slots,
                std::time::Duration::from_secs_f64(options.limits.queue_wait),
            ),
            options: Arc::new(options),
        }));
        if let Some(w) = writes {
            w.start_rebuilder(state.clone());
        }
        state
    }

    /// The write path, or 503 when this server has no store.
    pub fn writes(&self) -> Result<&Arc<crate::edits::Writes>, crate::error::ApiError> {
        self.writes.as_ref().ok_or_else(|| crate::error::ApiError::Unavailable {
            message: match &self.options.writes_off {
                Some(why) => format!("writes are off: {why}"),
                None => "this server has no store: writes are off".into(),
            },
        })
    }

    /// A state with a loaded catalog (tests).
    pub fn ready(catalog: Catalog, options: ServerOptions) -> Self {
        let s = Self::loading(options);
        s.set_catalog(catalog);
        s
    }

    pub fn set_catalog(&self, catalog: Catalog) {
        self.catalog.store(Some(Arc::new(catalog)));
    }

    /// The current catalog, `None` while loading.
    pub fn catalog(&self) -> Option<Arc<Catalog>> {
        self.catalog.load_full()
    }

    /// The data version of the current catalog, without taking a reference
    /// to it (the tile cache hit path needs nothing else).
    pub fn catalog_version(&self) -> Option<u64> {
        self.catalog.load().as_ref().map(|c| c.version())
    }
}
