//! Shared state of the service: the catalog of layers (swapped atomically
//! when loading finishes or on reload) and the server options.

use arc_swap::ArcSwapOption;
use std::sync::Arc;
use tuilerie_geo::Catalog;

/// Options the handlers need, fixed at start-up.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    pub public_url: Option<String>,
    pub attribution: Option<String>,
}

/// Cloned into every handler; cheap (`Arc`s).
#[derive(Clone, Default)]
pub struct AppState {
    catalog: Arc<ArcSwapOption<Catalog>>,
    pub options: Arc<ServerOptions>,
}

impl AppState {
    /// A state whose catalog is still loading.
    pub fn loading(options: ServerOptions) -> Self {
        AppState {
            catalog: Arc::new(ArcSwapOption::empty()),
            options: Arc::new(options),
        }
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
}
