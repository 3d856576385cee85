//! Tests of the parent module.
use super::*;

#[test]
fn a_clipped_polygon_compares_every_pair_with_a_segment_on_a_box_line_and_no_other() {
    let lines = (-64, 4160);
    let mut scratch = ValidityScratch::default();
    // A hole laid along the box line where the exterior runs too: the
    // clip's edges overlap; both checks see it.
    let exterior = vec![(-64, 0), (-64, 100), (100, 100), (100, 0)];
    let hole = vec![(-64, 40), (0, 50), (-64, 60)];
    let rings = vec![exterior.clone(), hole];
    assert!(!is_valid_polygon(&rings, &mut scratch));
    assert!(!is_valid_clipped(&rings, &mut scratch, lines));
    // A segment cut at the line crossing one of the polygon's own.
    let crossing = vec![vec![(-64, 0), (50, 80), (50, 20), (-64, 100)]];
    assert!(!is_valid_clipped(&crossing, &mut scratch, lines));
    // Two of the polygon's own segments (both ends inside) crossing:
    // not compared again, as the load checked the polygon whole.
    let bow = vec![vec![(0, 0), (10, 10), (10, 0), (0, 10)]];
    assert!(!is_valid_polygon(&bow, &mut scratch));
    assert!(is_valid_clipped(&bow, &mut scratch, lines));
    assert!(!is_valid_clipped(&bow, &mut scratch, (5, 4160)), "a vertex on a line makes its segments new");
    assert!(is_valid_clipped(&[exterior], &mut scratch, lines));
}

#[test]
fn snapping_rounds_ties_up_and_moves_exactly_with_the_grid() {
    assert_eq!([-2.5, -1.5, -0.5, 0.5, 1.5, 2.4999, -2.5001].map(snap), [-2, -1, 0, 1, 2, 2, -3]);
    // The same as with libm's floor, then the saturating cast (NaN at 0).
    let reference = |v: f64| {
        let f = v.floor();
        (if v - f >= 0.5 { f + 1.0 } else { f }) as i32
    };
    let far = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e300, -1e300, 3e9, -3e9, -0.0, 2147483647.5];
    assert_eq!(far.map(snap), [0, i32::MAX, i32::MIN, i32::MAX, i32::MIN, i32::MAX, i32::MIN, 0, i32::MAX]);
    assert_eq!(far.map(snap), far.map(reference));
    let mut r = crate::testdata::Lcg(3);
    for i in 0..100_000 {
        let v = (r.next() - 0.5) * [1e1, 1e4, 1e7, 1e10, 1e20][i % 5];
        assert_eq!(snap(v), reference(v), "{v}");
        let tie = v.floor() + 0.5;
        assert_eq!(snap(tie), reference(tie), "{tie}");
    }
    // A vertex on the world's grid at z14 (2^26 units) and the same
    // vertex in its tile or a neighbour (moved by whole tiles): the
    // same grid line. Ties half a unit from a tile's edge included.
    let mut g = crate::testdata::Lcg(14);
    for i in 0..20_000 {
        let global = if i % 10 == 0 {
            (g.next() * (1 << 14) as f64).floor() * 4096.0 - 0.5
        } else {
            g.next() * (1u64 << 26) as f64
        };
        for dt in [-1i64, 0, 1] {
            let t = ((global / 4096.0).floor() as i64 + dt) * 4096;
            let local = global - t as f64;
            assert_eq!(snap(local) as i64 + t, snap(global) as i64, "{global} in the tile at {t}");
        }
    }
}

#[test]
fn a_slit_under_a_grid_unit_is_marked_invalid_at_that_zoom_and_valid_below_it() {
    use crate::tiling::tile::world_to_lonlat;
    use geo::{Geometry, LineString, Polygon};
    // A square with a slit 0.4 units wide at z8 (0.8 at z9), in grid
    // units of z8 from a corner on the grid.
    let unit = 1.0 / (256.0 * 4096.0);
    let (x0, y0) = (0.5, 0.375);
    let ring: Vec<(f64, f64)> = [
        (0.0, 0.0),
        (100.0, 0.0),
        (100.0, 100.0),
        (50.4, 100.0),
        (50.4, 10.0),
        (50.0, 10.0),
        (50.0, 100.0),
        (0.0, 100.0),
        (0.0, 0.0),
    ]
    .iter()
    .map(|&(x, y)| world_to_lonlat(x0 + x * unit, y0 + y * unit))
    .collect();
    let mut p = PreparedGeometry::new(&Geometry::Polygon(Polygon::new(LineString::from(ring), vec![])));
    let sq_tol = [0.0; 23];
    mark_valid_zooms(&mut p, &sq_tol, &mut ValidityScratch::default());
    let bits = p.parts[0].valid_zooms;
    assert_eq!(bits & 1 << 8, 0, "the slit closes at z8: {bits:#b}");
    assert_eq!(bits & 1 << 7, 0, "and at z7: {bits:#b}");
    for z in 9..=13 {
        assert_ne!(bits & 1 << z, 0, "open at z{z}: {bits:#b}");
    }
    // 6,400 units across at z14: clipped in every tile, not marked.
    assert_eq!(bits >> 14, 0, "{bits:#b}");
    // Too small to be drawn at z0: not marked either (a tile could cut
    // it into a ring it keeps, which the load never compared).
    assert_eq!(bits & 1, 0, "{bits:#b}");
}

#[test]
fn a_hole_along_the_buffer_edge_is_merged_into_the_exterior() {
    // An exterior clipped at x = 4160 and a hole clipped there too:
    // the hole's edge lies on the exterior's.
    let outer = vec![(4000, 0), (4160, 0), (4160, 200), (4000, 200)];
    let hole = vec![(4100, 50), (4100, 150), (4160, 150), (4160, 50)];
    let mut out = Vec::new();
    valid_polygons(&[outer, hole], &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].len(), 1, "the notch is part of the exterior now: {out:?}");
    assert_eq!(area2(&out[0][0]), 2 * (160 * 200 - 60 * 100));
}

#[test]
fn a_ring_crossing_itself_becomes_two_polygons_with_positive_areas() {
    let bowtie = vec![(0, 0), (100, 100), (100, 0), (0, 100)];
    let mut out = Vec::new();
    valid_polygons(&[bowtie], &mut out);
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(out.iter().all(|p| area2(&p[0]) > 0));
}

#[test]
fn a_simple_ring_with_a_hole_is_kept() {
    let outer = vec![(0, 0), (100, 0), (100, 100), (0, 100)];
    let hole = vec![(20, 20), (20, 80), (80, 80), (80, 20)];
    let mut out = Vec::new();
    valid_polygons(&[outer.clone(), hole], &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].len(), 2);
    assert!(area2(&out[0][0]) > 0 && area2(&out[0][1]) < 0);
}

fn check(rings: &[Vec<(i32, i32)>]) -> bool {
    is_valid_polygon(rings, &mut ValidityScratch::default())
}

/// A long zigzag ring (many segments: the grid path), closed along y = 0.
fn comb(teeth: i32) -> Vec<(i32, i32)> {
    let mut r = vec![(0, 0)];
    for t in 0..teeth {
        r.push((t * 20 + 5, 100));
        r.push((t * 20 + 10, 100));
        r.push((t * 20 + 15, 10));
    }
    r.push((teeth * 20, 0));
    r
}

#[test]
fn the_validity_check_finds_crossings_touches_spikes_and_stray_holes() {
    let square = vec![(0, 0), (100, 0), (100, 100), (0, 100)];
    assert!(check(std::slice::from_ref(&square)));
    assert!(check(&[square.clone(), vec![(20, 20), (20, 80), (80, 80), (80, 20)]]));
    assert!(!check(&[vec![(0, 0), (100, 100), (100, 0), (0, 100)]]), "bow tie");
    assert!(!check(&[vec![(0, 0), (100, 0), (100, 100), (50, 0), (0, 100)]]), "a vertex on an edge");
    assert!(!check(&[vec![(0, 0), (100, 0), (150, 0), (100, 0), (100, 100), (0, 100)]]), "a spike");
    assert!(!check(&[square.clone(), vec![(0, 20), (50, 80), (80, 20)]]), "a hole touching the exterior");
    assert!(!check(&[square.clone(), vec![(200, 20), (200, 80), (280, 80)]]), "a hole outside");
    assert!(!check(&[square.clone(), vec![(20, 20), (20, 80), (80, 80)], vec![(30, 40), (30, 70), (60, 70)]]));
    let big = comb(40);
    assert!(big.len() > 32 && check(std::slice::from_ref(&big)));
    let mut crossed = big.clone();
    // One tooth leans over its neighbour.
    crossed[5] = (crossed[5].0 + 30, crossed[5].1);
    assert!(!check(&[crossed]));
    let mut touching = big.clone();
    touching[4] = touching[7];
    assert!(!check(&[touching]));
    // The validity check agrees with the repair: what it accepts, the
    // repair keeps as one polygon of the same area.
    let mut out = Vec::new();
    valid_polygons(std::slice::from_ref(&big), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(area2(&out[0][0]).abs(), area2(&big).abs());
}
