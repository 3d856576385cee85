//! Clipping to the tile plus its buffer, in tile coordinates (f64).
//! Rings: Sutherland–Hodgman against the four edges (the result may run
//! along the clip border, as in geojson-vt). Lines: Liang–Barsky per
//! segment, consecutive pieces joined.

/// A point in tile coordinates before quantisation.
pub type P = (f64, f64);

/// Clips a ring (closed or open) to `[min, max]²`; returns an open ring
/// (no repeated closing vertex), possibly empty.
pub fn clip_ring(ring: &[P], min: f64, max: f64, out: &mut Vec<P>, tmp: &mut Vec<P>) {
    out.clear();
    out.extend_from_slice(ring);
    if out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    // Each pass: keep the side of one edge.
    for edge in 0..4 {
        if out.is_empty() {
            return;
        }
        std::mem::swap(out, tmp);
        out.clear();
        let inside = |p: &P| match edge {
            0 => p.0 >= min,
            1 => p.0 <= max,
            2 => p.1 >= min,
            _ => p.1 <= max,
        };
        let cross = |a: &P, b: &P| -> P {
            match edge {
                0 | 1 => {
                    let x = if edge == 0 { min } else { max };
                    let t = (x - a.0) / (b.0 - a.0);
                    (x, a.1 + t * (b.1 - a.1))
                }
                _ => {
                    let y = if edge == 2 { min } else { max };
                    let t = (y - a.1) / (b.1 - a.1);
                    (a.0 + t * (b.0 - a.0), y)
                }
            }
        };
        let n = tmp.len();
        for i in 0..n {
            let cur = tmp[i];
            let prev = tmp[(i + n - 1) % n];
            match (inside(&prev), inside(&cur)) {
                (true, true) => out.push(cur),
                (true, false) => out.push(cross(&prev, &cur)),
                (false, true) => {
                    out.push(cross(&prev, &cur));
                    out.push(cur);
                }
                (false, false) => {}
            }
        }
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

    #[test]
    fn lines_leaving_and_reentering_become_two_pieces() {
        let line = [(1.0, 1.0), (5.0, 1.0), (5.0, 20.0), (8.0, 20.0), (8.0, 2.0)];
        let mut out = Vec::new();
        clip_line(&line, 0.0, 10.0, &mut out);
        assert_eq!(out, vec![vec![(1.0, 1.0), (5.0, 1.0), (5.0, 10.0)], vec![(8.0, 10.0), (8.0, 2.0)]]);
    }
}
