//! Which tiles an edit changes: those the old and the new geometry touch
//! (with the tile buffer) at every zoom, and at clustered zooms those
//! holding a cluster that moved, grew or shrank (found by comparing the
//! levels before and after, since greedy clustering can shift neighbours).

use super::patch::ClusterView;
use super::tile::{lonlat_to_world, TileCoord, MAX_ZOOM};

/// The tiles to drop from a cache after an edit: `bboxes` are the lon/lat
/// boxes of the old and new geometries, `margin` the tile buffer as a
/// fraction of the tile, `old`/`new` the clusters before and after. `None`
/// when there would be more than `max` tiles (drop the layer's tiles
/// instead).
pub fn changed_tiles(
    bboxes: &[[f64; 4]],
    margin: f64,
    old: Option<ClusterView<'_>>,
    new: Option<ClusterView<'_>>,
    max: usize,
) -> Option<Vec<TileCoord>> {
    let mut out: Vec<TileCoord> = Vec::new();
    let add_box = |z: u8, x0: f64, y0: f64, x1: f64, y1: f64, out: &mut Vec<TileCoord>| -> bool {
        let n = (1u64 << z) as f64;
        let last = (1u64 << z) - 1;
        let tx = |v: f64| ((v * n).floor().max(0.0) as u64).min(last);
        let (ax, bx, ay, by) = (tx(x0 - margin / n), tx(x1 + margin / n), tx(y0 - margin / n), tx(y1 + margin / n));
        let count = (bx - ax + 1) * (by - ay + 1);
        if out.len() as u64 + count > max as u64 {
            return false;
        }
        for y in ay..=by {
            for x in ax..=bx {
                out.push(TileCoord { z, x: x as u32, y: y as u32 });
            }
        }
        true
    };
    for b in bboxes {
        let (x0, y1) = lonlat_to_world(b[0], b[1]);
        let (x1, y0) = lonlat_to_world(b[2], b[3]);
        for z in 0..=MAX_ZOOM {
            if !add_box(z, x0, y0, x1, y1, &mut out) {
                return None;
            }
        }
    }
    if let (Some(old), Some(new)) = (old, new) {
        let max_zoom = old.options().map_or(0, |o| o.max_zoom).max(new.options().map_or(0, |o| o.max_zoom));
        for z in 0..=max_zoom {
            let mut ok = true;
            old.differences(&new, z, |x, y| ok &= add_box(z, x, y, x, y, &mut out));
            if !ok {
                return None;
            }
        }
    }
    out.sort_unstable_by_key(|t| (t.z, t.x, t.y));
    out.dedup();
    Some(out)
}
