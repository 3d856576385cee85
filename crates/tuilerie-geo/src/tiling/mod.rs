//! Vector tiles: Web Mercator tile addressing, per-layer preparation at load
//! (world coordinates with simplification importances, point clusters), and
//! tile cutting and Mapbox Vector Tile 2.1 encoding per request.
//!
//! Pipeline per tile: `index` query → `prepared` (simplify by importance) →
//! `clip` → quantise and validate (`render`) → `encode`.

pub mod clip;
pub mod cluster;
pub mod encode;
pub mod invalidate;
pub mod patch;
mod prepare;
pub mod prepared;
pub mod render;
pub mod tile;
mod valid;

pub use cluster::{ClusterIndex, ClusterOptions};
pub use prepare::{Clustering, FeatureTags, LayerTiles, TilePrep, TileSettings, DEFAULT_TOLERANCE, MAX_ZOOM};
pub use prepared::PreparedGeometry;
pub use render::{render_layer, TileOptions};
pub use tile::{lonlat_to_world, world_to_lonlat, TileCoord, TileCoordError};

/// An estimate of the work of [`render_tile`]: the vertices (one per point
/// or cluster) of the features it would cut, counted up to `limit` (the
/// index is still walked, but nothing more is read once it is reached).
/// Servers use it to render small tiles in place instead of handing them to
/// another thread, which costs more than the rendering.
pub fn tile_cost(layers: &[LayerTiles<'_>], coord: TileCoord, opts: &TileOptions, limit: usize) -> usize {
    let margin = opts.buffer as f64 / opts.extent as f64;
    let mut cost = 0usize;
    for layer in layers {
        if coord.z < layer.prep.settings.minzoom {
            continue;
        }
        if let Some(clusters) = layer.layer.clusters().filter(|c| c.covers(coord.z)) {
            clusters.for_each_in(coord.z, coord.world_bounds(margin), |_| cost += 1);
        } else {
            layer.for_each_in_bbox(coord.lonlat_bounds(margin), |i| {
                if cost <= limit {
                    cost += layer.prep.prepared(i as usize).map_or(1, |p| p.vertices.len());
                }
            });
        }
        if cost > limit {
            break;
        }
    }
    cost
}

/// Renders a tile of several layers (one MVT layer each, in the given
/// order). `None` when no layer has a feature in the tile. The byte budget
/// is shared equally between the layers.
pub fn render_tile(layers: &[LayerTiles<'_>], coord: TileCoord, opts: &TileOptions) -> Option<Vec<u8>> {
    let budget = opts.max_bytes / layers.len().max(1);
    let encoded: Vec<Vec<u8>> = layers.iter().filter_map(|l| render_layer(l, coord, opts, budget)).collect();
    if encoded.is_empty() {
        None
    } else {
        Some(encode::tile(&encoded))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_cost_counts_the_vertices_and_points_a_tile_cuts() {
        let text = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0.1,0.1],[0.9,0.1],[0.9,0.9],[0.1,0.9],[0.1,0.1]]]}},
            {"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[0.5,0.5]}},
            {"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[-120.0,40.0]}}]}"#;
        let layer = crate::source::geojson::load_bytes(
            std::path::Path::new("t.geojson"),
            text.as_bytes(),
            crate::LoadOptions::default(),
        )
        .unwrap();
        let opts = TileOptions::default();
        // z8 tile holding (0.5, 0.5): the 5 ring vertices and one point.
        let inside = TileCoord::new(8, 128, 127).unwrap();
        assert_eq!(tile_cost(&[layer.tiles()], inside, &opts, 1000), 6);
        // Over the limit, counting stops early (but says it is over).
        assert!(tile_cost(&[layer.tiles()], inside, &opts, 2) > 2);
        // Nothing there.
        assert_eq!(tile_cost(&[layer.tiles()], TileCoord::new(8, 10, 10).unwrap(), &opts, 1000), 0);
    }
}
