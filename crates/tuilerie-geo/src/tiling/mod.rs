//! Vector tiles: Web Mercator tile addressing, per-layer preparation at load
//! (world coordinates with simplification importances, point clusters), and
//! tile cutting and Mapbox Vector Tile 2.1 encoding per request.
//!
//! Pipeline per tile: `index` query → `prepared` (simplify by importance) →
//! `clip` → quantise and validate (`render`) → `encode`.

pub mod clip;
pub mod cluster;
pub mod encode;
pub mod prepared;
pub mod render;
pub mod tile;

pub use cluster::{ClusterIndex, ClusterOptions};
pub use prepared::PreparedGeometry;
pub use render::{render_layer, TileOptions};
pub use tile::{lonlat_to_world, world_to_lonlat, TileCoord, TileCoordError};

use crate::layer::Layer;

/// Renders a tile of several layers (one MVT layer each, in the given
/// order). `None` when no layer has a feature in the tile. The byte budget
/// is shared equally between the layers.
pub fn render_tile(layers: &[&Layer], coord: TileCoord, opts: &TileOptions) -> Option<Vec<u8>> {
    let budget = opts.max_bytes / layers.len().max(1);
    let encoded: Vec<Vec<u8>> = layers
        .iter()
        .filter_map(|l| render_layer(l, coord, opts, budget))
        .collect();
    if encoded.is_empty() {
        None
    } else {
        Some(encode::tile(&encoded))
    }
}
