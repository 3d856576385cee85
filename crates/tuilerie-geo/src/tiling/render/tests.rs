//! Tests of the parent module.
use super::*;

thread_local! {
    /// Check every polygon, marked valid at load or not (to compare).
    pub(super) static CHECK_ALL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Clipped polygons checked in part, and how many of them were valid.
    pub(super) static PARTIAL: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((0, 0)) };
}

/// In tests, every polygon checked in part is checked whole too, and
/// the two must agree; with [`CHECK_ALL`] the whole check decides.
pub(super) fn checked(valid: bool, known_valid: bool, partial: bool, rings: &[Vec<(i32, i32)>]) -> bool {
    let whole = || super::is_valid_polygon(rings, &mut super::ValidityScratch::default());
    if partial && !known_valid {
        assert_eq!(valid, whole(), "a clipped polygon checked in part: {rings:?}");
        PARTIAL.with(|c| c.set((c.get().0 + 1, c.get().1 + valid as usize)));
    }
    if CHECK_ALL.with(|c| c.get()) {
        whole()
    } else {
        valid
    }
}

/// Every tile z0-z12 over the demo communes (holes included), at the
/// default extent and at one where nothing is marked: the same bytes
/// whether the polygons marked valid at load are checked again or not,
/// so no marked polygon is one the check would have repaired.
#[test]
fn tiles_skipping_the_check_of_polygons_marked_valid_equal_tiles_checking_all() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/communes-gironde.geojson");
    let layer = crate::load(&path, crate::LoadOptions::default()).expect("demo communes");
    let tiles = layer.tiles();
    let exteriors: Vec<u32> = tiles
        .prep
        .prepared
        .iter()
        .flat_map(|p| p.parts.iter())
        .filter(|p| p.kind == PartKind::Outer)
        .map(|p| p.valid_zooms)
        .collect();
    let marked_z10 = exteriors.iter().filter(|&&b| b & 1 << 10 != 0).count();
    assert!(marked_z10 * 10 > exteriors.len() * 9, "{marked_z10} of {} marked at z10", exteriors.len());
    let b = layer.bounds_rect().expect("bounds");
    let (x0, y0) = lonlat_to_world(b.min().x, b.max().y);
    let (x1, y1) = lonlat_to_world(b.max().x, b.min().y);
    let mut compared = 0;
    for opts in [TileOptions::default(), TileOptions { extent: 512, buffer: 8, ..TileOptions::default() }] {
        for z in 0..=12u32 {
            let n = (1u64 << z) as f64;
            for x in (x0 * n) as u32..=(x1 * n) as u32 {
                for y in (y0 * n) as u32..=(y1 * n) as u32 {
                    let coord = TileCoord::new(z, x, y).expect("tile");
                    let fast = render_layer(&tiles, coord, &opts, usize::MAX);
                    CHECK_ALL.with(|c| c.set(true));
                    let checked = render_layer(&tiles, coord, &opts, usize::MAX);
                    CHECK_ALL.with(|c| c.set(false));
                    assert_eq!(fast, checked, "{z}/{x}/{y} at extent {}", opts.extent);
                    compared += fast.is_some() as usize;
                }
            }
        }
    }
    assert!(compared > 500, "{compared} tiles");
    // Each clipped polygon marked valid whole was checked in part and
    // whole, with the same answer (asserted in `checked`).
    let (partial, valid) = PARTIAL.with(|c| c.get());
    assert!(partial > 200 && valid > 0, "{partial} clipped polygons checked in part, {valid} valid");
}

#[test]
fn cluster_labels_are_abbreviated_like_supercluster() {
    let mut buf = [0u8; 8];
    let cases = [
        (0, "0"),
        (999, "999"),
        (1000, "1.0k"),
        (1250, "1.2k"),
        (9999, "10.0k"),
        (10_000, "10k"),
        (999_999, "999k"),
        (1_000_000, "1.0M"),
        (u32::MAX, "4295.0M"),
    ];
    for (n, want) in cases {
        assert_eq!(abbreviate(n, &mut buf), want, "{n}");
    }
}
