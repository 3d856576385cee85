//! Clipping to the tile plus its buffer, in tile coordinates (f64).
//! Rings: Sutherland–Hodgman against the four edges (the result may run
//! along the clip border, as in geojson-vt). Lines: Liang–Barsky per
//! segment, consecutive pieces joined.

/// A point in tile coordinates before quantisation.
pub type P = (f64, f64);

/// Clips a ring (closed or open) to `[min, max]²`; returns an open ring
/// (no repeated closing vertex), possibly empty. Only the edges the ring
/// crosses are passed over: one that every vertex is inside of would give
/// the ring back as it is (the points a pass adds lie within the ring's
/// bounds, so that stays true after the other passes): the same rings as
/// four passes always, for less.
pub fn clip_ring(ring: &[P], min: f64, max: f64, out: &mut Vec<P>, tmp: &mut Vec<P>) {
    let ring = match ring {
        [first, .., last] if first == last => &ring[..ring.len() - 1],
        _ => ring,
    };
    out.clear();
    let (mut lo, mut hi) = ((f64::INFINITY, f64::INFINITY), (f64::NEG_INFINITY, f64::NEG_INFINITY));
    for p in ring {
        (lo, hi) = ((lo.0.min(p.0), lo.1.min(p.1)), (hi.0.max(p.0), hi.1.max(p.1)));
    }
    // An added point lies between two vertices up to a few units in the
    // last place: bounds within that of an edge count as crossing it.
    let m = 1e-12 * [lo.0, lo.1, hi.0, hi.1, 1.0].iter().fold(0f64, |a, v| a.max(v.abs()));
    let crossed = [lo.0 < min + m, hi.0 > max - m, lo.1 < min + m, hi.1 > max - m];
    let mut first = true;
    for edge in (0..4).filter(|&e| crossed[e]) {
        let bound = if edge % 2 == 0 { min } else { max };
        let src: &[P] = if first {
            first = false;
            ring
        } else {
            if out.is_empty() {
                return;
            }
            std::mem::swap(out, tmp);
            out.clear();
            tmp
        };
        match edge {
            0 => pass::<0>(src, bound, out),
            1 => pass::<1>(src, bound, out),
            2 => pass::<2>(src, bound, out),
            _ => pass::<3>(src, bound, out),
        }
    }
    if first {
        out.extend_from_slice(ring);
    }
}

/// One Sutherland–Hodgman pass: keeps the side of edge `EDGE` (x ≥ bound,
/// x ≤ bound, y ≥ bound, y ≤ bound) of ring `src`, appended to `out`.
fn pass<const EDGE: u8>(src: &[P], bound: f64, out: &mut Vec<P>) {
    let inside = |p: &P| match EDGE {
        0 => p.0 >= bound,
        1 => p.0 <= bound,
        2 => p.1 >= bound,
        _ => p.1 <= bound,
    };
    let cross = |a: &P, b: &P| -> P {
        if EDGE < 2 {
            let t = (bound - a.0) / (b.0 - a.0);
            (bound, a.1 + t * (b.1 - a.1))
        } else {
            let t = (bound - a.1) / (b.1 - a.1);
            (a.0 + t * (b.0 - a.0), bound)
        }
    };
    let Some(&last) = src.last() else { return };
    let (mut prev, mut prev_in) = (last, inside(&last));
    for &cur in src {
        let cur_in = inside(&cur);
        match (prev_in, cur_in) {
            (true, true) => out.push(cur),
            (true, false) => out.push(cross(&prev, &cur)),
            (false, true) => {
                out.push(cross(&prev, &cur));
                out.push(cur);
            }
            (false, false) => {}
        }
        (prev, prev_in) = (cur, cur_in);
    }
}

/// Clips a line to `[min, max]²`; appends the pieces inside to `out`.
pub fn clip_line(line: &[P], min: f64, max: f64, out: &mut Vec<Vec<P>>) {
    let mut current: Vec<P> = Vec::new();
    for w in line.windows(2) {
        match clip_segment(w[0], w[1], min, max) {
            Some((a, b)) => {
                if current.last() != Some(&a) {
                    if current.len() >= 2 {
                        out.push(std::mem::take(&mut current));
                    }
                    current.clear();
                    current.push(a);
                }
                current.push(b);
                if b != w[1] {
                    // Left the box: the piece ends here.
                    if current.len() >= 2 {
                        out.push(std::mem::take(&mut current));
                    }
                    current.clear();
                }
            }
            None => {
                if current.len() >= 2 {
                    out.push(std::mem::take(&mut current));
                }
                current.clear();
            }
        }
    }
    if current.len() >= 2 {
        out.push(current);
    }
}

/// Liang–Barsky: the part of segment ab inside the box, if any.
fn clip_segment(a: P, b: P, min: f64, max: f64) -> Option<(P, P)> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let mut t0: f64 = 0.0;
    let mut t1: f64 = 1.0;
    for (p, q) in [(-dx, a.0 - min), (dx, max - a.0), (-dy, a.1 - min), (dy, max - a.1)] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let at = |t: f64| {
        if t == 0.0 {
            a
        } else if t == 1.0 {
            b
        } else {
            (a.0 + t * dx, a.1 + t * dy)
        }
    };
    Some((at(t0), at(t1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(r: &[P]) -> f64 {
        let n = r.len();
        (0..n).map(|i| r[i].0 * r[(i + 1) % n].1 - r[(i + 1) % n].0 * r[i].1).sum::<f64>() / 2.0
    }

    #[test]
    fn a_square_across_the_border_is_cut_to_the_box() {
        let ring = [(-10.0, -10.0), (10.0, -10.0), (10.0, 10.0), (-10.0, 10.0), (-10.0, -10.0)];
        let (mut out, mut tmp) = (Vec::new(), Vec::new());
        clip_ring(&ring, 0.0, 100.0, &mut out, &mut tmp);
        assert_eq!(area(&out), 100.0);
        assert!(out.iter().all(|p| (0.0..=100.0).contains(&p.0) && (0.0..=100.0).contains(&p.1)));
        clip_ring(&ring, 20.0, 100.0, &mut out, &mut tmp);
        assert!(out.is_empty() || area(&out) == 0.0);
    }

    /// Sutherland–Hodgman as written before passes were skipped: all four.
    fn four_passes(ring: &[P], min: f64, max: f64) -> Vec<P> {
        let mut out: Vec<P> = ring.to_vec();
        if out.len() > 1 && out.first() == out.last() {
            out.pop();
        }
        for edge in 0..4u8 {
            let src = std::mem::take(&mut out);
            match edge {
                0 => pass::<0>(&src, min, &mut out),
                1 => pass::<1>(&src, max, &mut out),
                2 => pass::<2>(&src, min, &mut out),
                _ => pass::<3>(&src, max, &mut out),
            }
        }
        out
    }

    #[test]
    fn skipping_the_edges_a_ring_does_not_cross_gives_the_four_passes_rings() {
        let mut g = crate::testdata::Lcg(21);
        let (mut out, mut tmp) = (Vec::new(), Vec::new());
        let (min, max) = (-64.0, 4160.0);
        for i in 0..20_000 {
            // Rings around the box, some inside it, some on its lines.
            let (cx, cy, r) = (g.next() * 6000.0 - 1000.0, g.next() * 6000.0 - 1000.0, g.next() * 3000.0);
            let n = 3 + (g.next() * 12.0) as usize;
            let mut ring: Vec<P> = (0..n)
                .map(|k| {
                    let a = k as f64 / n as f64 * std::f64::consts::TAU + g.next();
                    let (x, y) = (cx + r * a.cos(), cy + r * a.sin());
                    match (i + k) % 7 {
                        0 => (min, y),
                        1 => (x, max),
                        2 => (x.round(), y.round()),
                        _ => (x, y),
                    }
                })
                .collect();
            if i % 2 == 0 {
                ring.push(ring[0]);
            }
            clip_ring(&ring, min, max, &mut out, &mut tmp);
            assert_eq!(out, four_passes(&ring, min, max), "{ring:?}");
        }
    }

    #[test]
    fn lines_leaving_and_reentering_become_two_pieces() {
        let line = [(1.0, 1.0), (5.0, 1.0), (5.0, 20.0), (8.0, 20.0), (8.0, 2.0)];
        let mut out = Vec::new();
        clip_line(&line, 0.0, 10.0, &mut out);
        assert_eq!(out, vec![vec![(1.0, 1.0), (5.0, 1.0), (5.0, 10.0)], vec![(8.0, 10.0), (8.0, 2.0)]]);
    }
}
