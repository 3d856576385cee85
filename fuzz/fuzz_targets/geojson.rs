//! The GeoJSON reader on arbitrary bytes: an error or a layer, never a
//! panic; a loaded layer's geometries are finite and its tiles render.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use tuilerie_geo::tiling::{render_tile, TileCoord, TileOptions};
use tuilerie_geo::LoadOptions;

fuzz_target!(|data: &[u8]| {
    let Ok(layer) = tuilerie_geo::source::geojson::load_bytes(Path::new("fuzz.geojson"), data, LoadOptions::default())
    else {
        return;
    };
    for f in layer.features() {
        if let Some(r) = tuilerie_geo::envelope(f.geometry()) {
            let (a, b) = (r.min(), r.max());
            assert!(a.x.is_finite() && a.y.is_finite() && b.x.is_finite() && b.y.is_finite(), "{r:?}");
            assert!((-180.0..=180.0).contains(&a.x) && (-90.0..=90.0).contains(&a.y), "{r:?}");
        }
        let _ = tuilerie_geo::representative_point(f.geometry());
    }
    let tiles = [layer.tiles()];
    for coord in [TileCoord { z: 0, x: 0, y: 0 }, TileCoord { z: 14, x: 8123, y: 5900 }] {
        let _ = render_tile(&tiles, coord, &TileOptions::default());
    }
});
