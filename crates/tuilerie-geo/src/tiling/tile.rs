//! Tile coordinates (XYZ scheme, y down) and Web Mercator.
//!
//! Coordinates are "world" units: Web Mercator scaled to [0, 1] on both
//! axes, x to the east and y to the south, as geojson-vt does. A tile
//! (z, x, y) covers [x, x+1] × [y, y+1] / 2^z.

use std::f64::consts::PI;

/// Highest zoom level accepted.
pub const MAX_ZOOM: u8 = 24;

/// Latitude limit of Web Mercator.
pub const MAX_LATITUDE: f64 = 85.051_128_779_806_59;

/// A tile address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileCoord {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// Why a tile address is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileCoordError {
    #[error("zoom {0} is above the maximum {MAX_ZOOM}")]
    Zoom(u32),
    #[error("x = {x} is out of range for zoom {z} (0..{max})")]
    X { x: u32, z: u8, max: u64 },
    #[error("y = {y} is out of range for zoom {z} (0..{max})")]
    Y { y: u32, z: u8, max: u64 },
}

impl TileCoord {
    /// Checks that x and y exist at zoom z.
    pub fn new(z: u32, x: u32, y: u32) -> Result<Self, TileCoordError> {
        if z > MAX_ZOOM as u32 {
            return Err(TileCoordError::Zoom(z));
        }
        let z = z as u8;
        let n = 1u64 << z;
        if x as u64 >= n {
            return Err(TileCoordError::X { x, z, max: n });
        }
        if y as u64 >= n {
            return Err(TileCoordError::Y { y, z, max: n });
        }
        Ok(TileCoord { z, x, y })
    }

    /// Number of tiles along an axis at this zoom.
    pub fn scale(&self) -> f64 {
        (1u64 << self.z) as f64
    }

    /// World bounds `[min_x, min_y, max_x, max_y]`, grown by `margin`
    /// (a fraction of the tile size, e.g. 64/4096).
    pub fn world_bounds(&self, margin: f64) -> [f64; 4] {
        let s = self.scale();
        [
            (self.x as f64 - margin) / s,
            (self.y as f64 - margin) / s,
            (self.x as f64 + 1.0 + margin) / s,
            (self.y as f64 + 1.0 + margin) / s,
        ]
    }

    /// WGS84 bounds `[west, south, east, north]` of the tile grown by `margin`,
    /// clamped to the world.
    pub fn lonlat_bounds(&self, margin: f64) -> [f64; 4] {
        let [x0, y0, x1, y1] = self.world_bounds(margin);
        let (w, n) = world_to_lonlat(x0.max(0.0), y0.max(0.0));
        let (e, s) = world_to_lonlat(x1.min(1.0), y1.min(1.0));
        // Points beyond the Mercator limit project onto the edge rows.
        let n = if y0 <= 0.0 { 90.0 } else { n };
        let s = if y1 >= 1.0 { -90.0 } else { s };
        [w, s, e, n]
    }

    /// The parent tile at zoom `z` (z <= self.z).
    pub fn ancestor(&self, z: u8) -> TileCoord {
        let d = self.z - z.min(self.z);
        TileCoord { z: self.z - d, x: self.x >> d, y: self.y >> d }
    }
}

/// Longitude/latitude to world units.
#[inline]
pub fn lonlat_to_world(lon: f64, lat: f64) -> (f64, f64) {
    let x = lon / 360.0 + 0.5;
    let lat = lat.clamp(-MAX_LATITUDE, MAX_LATITUDE);
    let s = (lat * PI / 180.0).sin();
    let y = 0.5 - 0.25 * ((1.0 + s) / (1.0 - s)).ln() / PI;
    (x, y.clamp(0.0, 1.0))
}

/// World units to longitude/latitude.
#[inline]
pub fn world_to_lonlat(x: f64, y: f64) -> (f64, f64) {
    let lon = (x - 0.5) * 360.0;
    let lat = (PI * (1.0 - 2.0 * y)).sinh().atan().to_degrees();
    (lon, lat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_coords_are_validated_per_zoom() {
        assert!(TileCoord::new(0, 0, 0).is_ok());
        assert_eq!(TileCoord::new(1, 2, 0).unwrap_err().to_string(), "x = 2 is out of range for zoom 1 (0..2)");
        assert!(TileCoord::new(25, 0, 0).is_err());
        assert!(TileCoord::new(22, (1 << 22) - 1, 0).is_ok());
    }

    #[test]
    fn mercator_round_trips_and_matches_known_values() {
        let (x, y) = lonlat_to_world(-0.5792, 44.8378); // Bordeaux
        let (lon, lat) = world_to_lonlat(x, y);
        assert!((lon + 0.5792).abs() < 1e-12 && (lat - 44.8378).abs() < 1e-12);
        // Bordeaux is in tile 14/8165/5904 (independent Python computation of
        // the spherical Mercator formulas).
        let t = 1u32 << 14;
        assert_eq!(((x * t as f64) as u32, (y * t as f64) as u32), (8165, 5904));
        let b = TileCoord::new(1, 1, 0).unwrap().lonlat_bounds(0.0);
        assert_eq!(b[0], 0.0);
        assert!((b[1] - 0.0).abs() < 1e-9 && b[3] == 90.0 && b[2] == 180.0);
    }
}
