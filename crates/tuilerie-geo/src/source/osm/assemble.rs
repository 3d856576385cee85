//! Geometry as OSM means it: a node is a point; a way is a line, or a
//! polygon when it is closed and its tags make it an area
//! ([`is_area`]); a `type=multipolygon` or `type=boundary` relation is a
//! multipolygon assembled from its member ways: rings stitched from one or
//! more ways by shared end nodes, a ring inside an odd number of others is
//! a hole of the smallest ring around it (roles are not trusted, as
//! osmium does). What cannot be built is skipped with a reason.

use super::Member;
use crate::layer::SkipReason;
use geo::orient::{Direction, Orient};
use geo::{Coord, Geometry, LineString, MultiPolygon, Polygon};
use hashbrown::HashMap;

pub(crate) type Built = Result<Geometry<f64>, (SkipReason, String)>;

/// Keys whose presence makes a closed way an area (unless `area=no`, or
/// the value is one of [`LINEAR_VALUES`]).
pub const AREA_KEYS: &[&str] = &[
    "amenity",
    "building",
    "building:part",
    "landuse",
    "landcover",
    "leisure",
    "natural",
    "shop",
    "tourism",
    "man_made",
    "place",
    "historic",
    "military",
    "office",
    "craft",
    "aeroway",
    "area:highway",
    "healthcare",
    "water",
];

/// Values of area keys that are lines even on a closed way.
pub const LINEAR_VALUES: &[(&str, &str)] = &[
    ("natural", "coastline"),
    ("natural", "cliff"),
    ("natural", "ridge"),
    ("natural", "arete"),
    ("natural", "tree_row"),
    ("man_made", "embankment"),
    ("man_made", "pipeline"),
    ("man_made", "breakwater"),
    ("man_made", "groyne"),
    ("leisure", "track"),
    ("leisure", "slipway"),
];

/// Whether a closed way with these tags is an area: `area=yes`, or no
/// `area=no` and a key of [`AREA_KEYS`] with a value not in
/// [`LINEAR_VALUES`].
pub fn is_area(tags: &[(String, String)]) -> bool {
    let mut area = false;
    for (k, v) in tags {
        if k == "area" {
            match v.as_str() {
                "yes" => return true,
                "no" => return false,
                _ => {}
            }
        }
        if AREA_KEYS.contains(&k.as_str()) && !LINEAR_VALUES.contains(&(k.as_str(), v.as_str())) {
            area = true;
        }
    }
    area
}

fn coord((lon, lat): (i32, i32)) -> Coord<f64> {
    Coord { x: lon as f64 / 1e7, y: lat as f64 / 1e7 }
}

/// The locations of `refs`, or the count of those missing.
fn locate(refs: &[i64], locations: &HashMap<i64, (i32, i32)>) -> Result<Vec<(i32, i32)>, usize> {
    let mut out = Vec::with_capacity(refs.len());
    let mut missing = 0;
    for r in refs {
        match locations.get(r) {
            Some(l) => out.push(*l),
            None => missing += 1,
        }
    }
    if missing > 0 {
        Err(missing)
    } else {
        Ok(out)
    }
}

/// A way's geometry.
pub(crate) fn way(id: i64, refs: &[i64], area: bool, locations: &HashMap<i64, (i32, i32)>) -> Built {
    let mut locs = locate(refs, locations).map_err(|missing| {
        (SkipReason::MissingNodes, format!("way/{id}: {missing} of its {} nodes are missing from the file", refs.len()))
    })?;
    locs.dedup();
    if locs.len() < 2 {
        return Err((SkipReason::InvalidGeometry, format!("way/{id}: fewer than 2 distinct node locations")));
    }
    let closed = locs.first() == locs.last();
    let line: LineString<f64> = locs.iter().map(|l| coord(*l)).collect();
    if closed && area {
        if locs.len() < 4 {
            return Err((
                SkipReason::InvalidGeometry,
                format!("way/{id}: a closed way of fewer than 3 distinct locations"),
            ));
        }
        return Ok(Geometry::Polygon(Polygon::new(line, vec![]).orient(Direction::Default)));
    }
    Ok(Geometry::LineString(line))
}

/// A ring being stitched: node ids and their locations.
struct Ring {
    nodes: Vec<i64>,
    locs: Vec<(i32, i32)>,
    bbox: [i32; 4],
}

/// A multipolygon relation's geometry; `way_refs` gives the node ids of a
/// member way.
pub(crate) fn relation<'a>(
    id: i64,
    members: &[Member],
    way_refs: impl Fn(i64) -> Option<&'a [i64]>,
    locations: &HashMap<i64, (i32, i32)>,
) -> Built {
    let mut parts: Vec<Vec<i64>> = Vec::new();
    let mut missing_ways = Vec::new();
    for m in members {
        if let Member::Way(w, _) = m {
            match way_refs(*w) {
                Some(refs) if refs.len() >= 2 => parts.push(refs.to_vec()),
                Some(_) => {}
                None => missing_ways.push(*w),
            }
        }
    }
    if !missing_ways.is_empty() {
        let list: Vec<String> = missing_ways.iter().take(5).map(|w| format!("way/{w}")).collect();
        return Err((
            SkipReason::MissingMembers,
            format!("relation/{id}: {} member way(s) missing from the file ({})", missing_ways.len(), list.join(", ")),
        ));
    }
    if parts.is_empty() {
        return Err((SkipReason::EmptyGeometry, format!("relation/{id}: no member ways")));
    }
    let rings = stitch(id, parts)?;
    let mut located = Vec::with_capacity(rings.len());
    for nodes in rings {
        let mut locs = locate(&nodes, locations).map_err(|missing| {
            (
                SkipReason::MissingNodes,
                format!("relation/{id}: {missing} nodes of its member ways are missing from the file"),
            )
        })?;
        locs.dedup();
        if locs.len() < 4 {
            return Err((
                SkipReason::InvalidGeometry,
                format!("relation/{id}: a ring of fewer than 3 distinct locations"),
            ));
        }
        let mut bbox = [i32::MAX, i32::MAX, i32::MIN, i32::MIN];
        for &(x, y) in &locs {
            bbox = [bbox[0].min(x), bbox[1].min(y), bbox[2].max(x), bbox[3].max(y)];
        }
        located.push(Ring { nodes, locs, bbox });
    }
    Ok(Geometry::MultiPolygon(nest(located)))
}

/// Joins member ways into closed rings by their end nodes.
fn stitch(id: i64, parts: Vec<Vec<i64>>) -> Result<Vec<Vec<i64>>, (SkipReason, String)> {
    let mut rings = Vec::new();
    let mut open: Vec<Option<Vec<i64>>> = Vec::new();
    for p in parts {
        if p.first() == p.last() {
            rings.push(p);
        } else {
            open.push(Some(p));
        }
    }
    let mut by_end: HashMap<i64, Vec<usize>> = HashMap::new();
    for (i, p) in open.iter().enumerate() {
        if let Some(p) = p {
            for end in [p[0], p[p.len() - 1]] {
                by_end.entry(end).or_default().push(i);
            }
        }
    }
    for start in 0..open.len() {
        let Some(mut ring) = open[start].take() else { continue };
        while ring.first() != ring.last() {
            let end = ring[ring.len() - 1];
            let next = by_end.get(&end).and_then(|c| c.iter().copied().find(|&i| open[i].is_some()));
            let Some(i) = next else {
                return Err((
                    SkipReason::UnclosedRing,
                    format!("relation/{id}: a ring does not close (it stops at node/{end})"),
                ));
            };
            let Some(mut p) = open[i].take() else { break };
            if p[0] != end {
                p.reverse();
            }
            ring.extend_from_slice(&p[1..]);
        }
        rings.push(ring);
    }
    Ok(rings)
}

/// Whether ring `a` lies inside ring `b`: a vertex of `a` that is not a
/// node of `b` is inside `b`'s outline.
fn inside(a: &Ring, b: &Ring) -> bool {
    if a.bbox[0] < b.bbox[0] || a.bbox[1] < b.bbox[1] || a.bbox[2] > b.bbox[2] || a.bbox[3] > b.bbox[3] {
        return false;
    }
    let Some(i) = a.nodes.iter().position(|n| !b.nodes.contains(n)) else { return false };
    let Some(&(px, py)) = a.locs.get(i.min(a.locs.len() - 1)) else { return false };
    let (px, py) = (px as f64, py as f64);
    let mut c = false;
    for w in b.locs.windows(2) {
        let ((x1, y1), (x2, y2)) = ((w[0].0 as f64, w[0].1 as f64), (w[1].0 as f64, w[1].1 as f64));
        if (y1 > py) != (y2 > py) && px < (x2 - x1) * (py - y1) / (y2 - y1) + x1 {
            c = !c;
        }
    }
    c
}

/// Outers (inside an even number of rings) with their holes (the rings
/// directly inside them).
fn nest(rings: Vec<Ring>) -> MultiPolygon<f64> {
    let n = rings.len();
    let contains: Vec<Vec<usize>> =
        (0..n).map(|i| (0..n).filter(|&j| j != i && inside(&rings[i], &rings[j])).collect()).collect();
    let depth: Vec<usize> = contains.iter().map(|c| c.len()).collect();
    let line = |r: &Ring| -> LineString<f64> { r.locs.iter().map(|l| coord(*l)).collect() };
    let mut polygons: Vec<(usize, Polygon<f64>)> = Vec::new();
    for i in (0..n).filter(|&i| depth[i].is_multiple_of(2)) {
        polygons.push((i, Polygon::new(line(&rings[i]), vec![])));
    }
    for i in (0..n).filter(|&i| !depth[i].is_multiple_of(2)) {
        // The outer directly around: the containing ring one level up.
        let parent = contains[i].iter().copied().find(|&j| depth[j] + 1 == depth[i]);
        if let Some(p) = parent.and_then(|p| polygons.iter_mut().find(|(o, _)| *o == p)) {
            p.1.interiors_push(line(&rings[i]));
        }
    }
    MultiPolygon(polygons.into_iter().map(|(_, p)| p.orient(Direction::Default)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[(&str, &str)]) -> Vec<(String, String)> {
        t.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn closed_ways_are_areas_by_their_tags() {
        assert!(is_area(&tags(&[("amenity", "recycling")])));
        assert!(is_area(&tags(&[("highway", "pedestrian"), ("area", "yes")])));
        assert!(!is_area(&tags(&[("highway", "residential")])));
        assert!(!is_area(&tags(&[("amenity", "recycling"), ("area", "no")])));
        assert!(!is_area(&tags(&[("natural", "coastline")])));
        assert!(is_area(&tags(&[("natural", "coastline"), ("landuse", "grass")])));
    }

    #[test]
    fn rings_are_stitched_from_several_ways_in_any_direction() {
        let rings = stitch(1, vec![vec![1, 2, 3], vec![5, 4, 3], vec![5, 6, 1], vec![10, 11, 12, 10]]).unwrap();
        assert_eq!(rings, vec![vec![10, 11, 12, 10], vec![1, 2, 3, 4, 5, 6, 1]]);
        let e = stitch(7, vec![vec![1, 2, 3], vec![3, 4]]).unwrap_err();
        assert_eq!(e.0, SkipReason::UnclosedRing);
        assert!(e.1.contains("relation/7") && e.1.contains("node/4"), "{}", e.1);
    }
}
