//! `.prj` text (WKT, PROJ strings, EPSG codes as users write them) handed
//! to PROJ: a transformation or an error naming the file, never a panic; a
//! transformation built maps a point to finite longitude and latitude or
//! says it cannot.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use tuilerie_geo::{Crs, CrsOrigin};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let crs = Crs::new(text, CrsOrigin::PrjFile);
    match crs.to_wgs84(Path::new("fuzz.prj")) {
        Ok(t) => {
            if let Ok(c) = t.transform_coord(geo_types::Coord { x: 400_000.0, y: 6_400_000.0 }) {
                assert!(c.x.is_finite() && c.y.is_finite(), "{c:?}");
            }
        }
        Err(e) => assert!(e.to_string().contains("fuzz.prj"), "{e}"),
    }
});

