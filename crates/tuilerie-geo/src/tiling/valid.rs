//! Polygons made valid after clipping and quantisation (MVT 2.1, 4.3.4.4:
//! rings must not self-intersect or self-touch). Clipping to the buffer
//! leaves a hole that crosses the buffer line with an edge along it, on
//! top of the exterior's, and simplification or rounding can make a ring
//! cross itself; GDAL, PostGIS and shapely users then read invalid
//! geometries. Each polygon's rings go through i_overlay (already in the
//! tree through geo's boolean operations), which resolves them on the
//! integer grid into OGC-valid shapes: a ring that is already simple is
//! checked by its fast path and kept as it is.

use i_overlay::core::fill_rule::FillRule;
use i_overlay::core::overlay::IntOverlayOptions;
use i_overlay::core::simplify::Simplify;
use i_overlay::i_float::int::point::IntPoint;

/// Twice the signed area (shoelace) of an open ring, positive when
/// clockwise on screen (y down).
pub fn area2(r: &[(i32, i32)]) -> i64 {
    let n = r.len();
    (0..n)
        .map(|i| {
            let (a, b) = (r[i], r[(i + 1) % n]);
            a.0 as i64 * b.1 as i64 - b.0 as i64 * a.1 as i64
        })
        .sum()
}

/// The valid polygons of one polygon's rings (exterior first, open), each
/// as its rings: exterior with a positive area, holes negative (MVT's
/// winding, y down); rings under one square unit dropped.
pub fn valid_polygons(rings: &[Vec<(i32, i32)>], out: &mut Vec<Vec<Vec<(i32, i32)>>>) {
    out.clear();
    let contours: Vec<Vec<IntPoint>> =
        rings.iter().map(|r| r.iter().map(|&(x, y)| IntPoint::new(x, y)).collect()).collect();
    let shapes = contours.as_slice().simplify(FillRule::EvenOdd, IntOverlayOptions::ogc());
    for shape in shapes {
        let mut polygon = Vec::with_capacity(shape.len());
        for (k, contour) in shape.into_iter().enumerate() {
            let mut ring: Vec<(i32, i32)> = contour.into_iter().map(|p| (p.x, p.y)).collect();
            let a = area2(&ring);
            if a.abs() < 2 {
                if k == 0 {
                    break;
                }
                continue;
            }
            if (a > 0) != (k == 0) {
                ring.reverse();
            }
            polygon.push(ring);
        }
        if !polygon.is_empty() {
            out.push(polygon);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
