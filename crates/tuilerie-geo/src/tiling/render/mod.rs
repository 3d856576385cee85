//! Cutting one layer's part of a tile: query the index, simplify by the
//! precomputed importances, clip to tile + buffer, quantise, drop
//! degenerates, fix winding (exterior rings clockwise in tile coordinates,
//! i.e. positive area with y down), encode; then keep under the byte budget.

use super::clip::{clip_line, clip_ring, P};
use super::encode::{zigzag, GeomType, GeometryWriter, LayerWriter, TileValue};
use super::prepare::LayerTiles;
use super::prepared::{PartKind, PreparedGeometry};
use super::tile::{lonlat_to_world, TileCoord};
use super::valid::{
    area2, is_valid_clipped, is_valid_polygon, push_ring, snap, snap_path, valid_polygons, ValidityScratch, GRID_EXTENT,
};
use crate::features::FeatureId;
use crate::geometry::FeatureGeometry;
use crate::properties::Value;
use geo::Geometry;
use std::borrow::Cow;

/// Encoding options shared by every layer of a tile.
#[derive(Debug, Clone, Copy)]
pub struct TileOptions {
    pub extent: u32,
    pub buffer: u32,
    /// Byte budget of a whole tile (before compression).
    pub max_bytes: usize,
}

impl Default for TileOptions {
    fn default() -> Self {
        TileOptions { extent: 4096, buffer: 64, max_bytes: 500_000 }
    }
}

/// A rendered feature before encoding, with its priority for the budget.
struct Rendered {
    feature: u32,
    geom_type: GeomType,
    /// Range of the command stream in the tile's geometry arena.
    geometry: (u32, u32),
    /// Larger is kept first (area, length, or a stable pseudo-random rank for points).
    priority: f64,
    cluster: Option<(u64, u32, usize)>,
    /// The point where a polygon's name goes (tagged `label_point`).
    label: bool,
}

struct Ctx {
    z2: f64,
    tx: f64,
    ty: f64,
    extent: f64,
    min: f64,
    max: f64,
    sq_tol: f64,
    /// This zoom's bit in `Part::valid_zooms` (0: check every polygon).
    valid_bit: u32,
    /// `min` and `max` snapped: where clipped rings get their new vertices.
    lines: (i32, i32),
}

impl Ctx {
    #[inline]
    fn to_tile(&self, wx: f64, wy: f64) -> P {
        ((wx * self.z2 - self.tx) * self.extent, (wy * self.z2 - self.ty) * self.extent)
    }
}

/// Renders `layer` into an encoded MVT layer for `coord`; `None` when the
/// tile has no feature of this layer. `budget` is this layer's byte share.
pub fn render_layer(layer: &LayerTiles<'_>, coord: TileCoord, opts: &TileOptions, budget: usize) -> Option<Vec<u8>> {
    let (mut scratch, mut arena, mut writer) = BUFFERS.with(|b| b.take()).unwrap_or_default();
    arena.clear();
    let encoded = render_layer_with(layer, coord, opts, budget, &mut scratch, &mut arena, &mut writer);
    // Kept for the thread's next tile unless a large tile grew them.
    if arena.capacity() * 4 + scratch.heap_bytes() + writer.heap_bytes() <= KEEP_BYTES {
        BUFFERS.with(|b| b.set(Some((scratch, arena, writer))));
    }
    encoded
}

thread_local! {
    /// Each thread's cutting buffers, command arena and layer writer,
    /// reused from one tile to the next instead of grown from empty by
    /// every tile (on a communes tile, dozens of allocations and copies).
    static BUFFERS: std::cell::Cell<Option<(Scratch, Vec<u32>, LayerWriter)>> = const { std::cell::Cell::new(None) };
}

/// The most a thread keeps between tiles: a communes tile at z10 needs
/// tens of kilobytes; the blocking pool may hold hundreds of threads for a
/// while, so a large tile's buffers are freed, not kept.
const KEEP_BYTES: usize = 256 << 10;

fn render_layer_with(
    layer: &LayerTiles<'_>,
    coord: TileCoord,
    opts: &TileOptions,
    budget: usize,
    scratch: &mut Scratch,
    arena: &mut Vec<u32>,
    writer: &mut LayerWriter,
) -> Option<Vec<u8>> {
    let meta = &layer.prep.settings;
    if coord.z < meta.minzoom {
        return None;
    }
    let extent = opts.extent as f64;
    let margin = opts.buffer as f64 / extent;
    let (min, max) = (-(opts.buffer as f64), extent + opts.buffer as f64);
    let ctx = Ctx {
        z2: coord.scale(),
        tx: coord.x as f64,
        ty: coord.y as f64,
        extent,
        min,
        max,
        // The layer's tolerance (pixels of a 512-pixel tile, in world units
        // at this zoom); no simplification from the layer's maxzoom on.
        sq_tol: meta.sq_tolerance(coord.z),
        valid_bit: if opts.extent == GRID_EXTENT { 1u32.checked_shl(coord.z.into()).unwrap_or(0) } else { 0 },
        lines: (snap(min), snap(max)),
    };
    let mut rendered: Vec<Rendered> = Vec::new();
    // `arena`: every feature's command stream, one after the other (no
    // allocation per feature).

    // Category counts of the tile's clusters.
    let mut counts: Vec<Cow<'_, [(u8, u32)]>> = Vec::new();
    if let Some(clusters) = layer.layer.clusters().filter(|c| c.covers(coord.z)) {
        clusters.for_each_in(coord.z, coord.world_bounds(margin), |node| {
            let p = ctx.to_tile(node.x, node.y);
            let q = (p.0.round() as i32, p.1.round() as i32);
            let (feature, cluster) = match node.feature {
                Some(f) => (f, None),
                None => {
                    counts.push(node.category_counts);
                    (node.id as u32, Some((node.id, node.count, counts.len() - 1)))
                }
            };
            rendered.push(Rendered {
                feature,
                geom_type: GeomType::Point,
                geometry: push_point(arena, q),
                priority: node.count as f64 + rank(feature),
                cluster,
                label: false,
            });
        });
    } else {
        layer.for_each_in_bbox(coord.lonlat_bounds(margin), |i| {
            render_feature(layer, i, &ctx, scratch, arena, &mut rendered);
        });
    }
    if rendered.is_empty() {
        return None;
    }
    // Deterministic order: by feature index (queries return tree order).
    rendered.sort_by_key(|r| (r.cluster.is_some(), r.feature));
    let mut keep = rendered.len();
    loop {
        let bytes = encode(layer, &rendered, arena, &counts, keep, opts.extent, writer);
        if bytes.len() <= budget || keep <= 1 {
            return Some(bytes);
        }
        // Over budget: keep the largest polygons / lines and a thinned,
        // stable subset of points (tippecanoe-like), halving each round.
        if keep == rendered.len() {
            rendered.sort_by(|a, b| b.priority.total_cmp(&a.priority));
        }
        keep /= 2;
    }
}

/// A stable pseudo-random rank in [0, 1) so thinning is even across space.
fn rank(i: u32) -> f64 {
    let h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// One point's command stream (MoveTo 1, then the zigzagged position).
fn push_point(arena: &mut Vec<u32>, q: (i32, i32)) -> (u32, u32) {
    let start = arena.len() as u32;
    arena.extend_from_slice(&[GeometryWriter::MOVE_TO_ONE, zigzag(q.0), zigzag(q.1)]);
    (start, 3)
}

fn push_geom(arena: &mut Vec<u32>, g: &GeometryWriter) -> (u32, u32) {
    let start = arena.len() as u32;
    arena.extend_from_slice(&g.data);
    (start, g.data.len() as u32)
}

fn encode(
    layer: &LayerTiles<'_>,
    rendered: &[Rendered],
    arena: &[u32],
    counts: &[Cow<'_, [(u8, u32)]>],
    keep: usize,
    extent: u32,
    w: &mut LayerWriter,
) -> Vec<u8> {
    w.reset(layer.name, extent);
    let mut subset: Vec<&Rendered> = rendered.iter().take(keep).collect();
    subset.sort_by_key(|r| (r.cluster.is_some(), r.feature));
    let count_keys = layer.prep.count_keys();
    // Key ids of the keys written on many features, found once per tile.
    let (mut cluster_key, mut count_key, mut abbrev_key) = (0, 0, 0);
    let mut class_keys = vec![0u32; count_keys.len()];
    let mut extra_keys = [0u32; 4];
    let mut label_key = 0;
    for r in subset {
        if r.label {
            w.tag_slot(&mut label_key, "label_point", TileValue::Bool(true));
        }
        if let Some((id, count, ci)) = r.cluster {
            w.tag_slot(&mut cluster_key, "cluster", TileValue::Bool(true));
            w.tag_slot(&mut count_key, "point_count", TileValue::Int(count as i64));
            for &(k, n) in counts[ci].iter() {
                if let (Some(key), Some(slot)) = (count_keys.get(k as usize), class_keys.get_mut(k as usize)) {
                    w.tag_slot(slot, key, TileValue::Int(n as i64));
                }
            }
            let mut abbrev = [0u8; 8];
            w.tag_slot(&mut abbrev_key, "point_count_abbreviated", TileValue::String(abbreviate(count, &mut abbrev)));
            w.push_feature(Some(id), r.geom_type, geometry(arena, r));
            continue;
        }
        let index = r.feature as usize;
        let f = layer.layer.feature(index);
        let id = match f.id() {
            FeatureId::Int(i) if i >= 0 => Some(i as u64),
            _ => None,
        };
        // What the profile adds (waste categories for styling and popups).
        let extra = layer.layer.tile_attributes(index);
        // Field and value ids are those of the feature's table: an edited
        // feature's (laid over the file's) is tagged by text instead.
        let own_table = index < layer.layer.features_table().len();
        for (field, value, k, v) in f.interned_properties() {
            if extra.replaces.is_some_and(|p| k.starts_with(p)) {
                continue;
            }
            let tv = match v {
                Value::Null => continue,
                Value::Bool(b) => TileValue::Bool(b),
                Value::Int(i) => TileValue::Int(i),
                Value::Float(x) => TileValue::Double(x),
                Value::String(s) | Value::Json(s) => TileValue::String(s),
            };
            if own_table {
                w.tag_interned(field.0, k, value.0, tv);
            } else {
                w.tag(k, tv);
            }
        }
        for (i, (k, v)) in extra.pairs.iter().enumerate() {
            match extra_keys.get_mut(i) {
                Some(slot) => w.tag_slot(slot, k, TileValue::String(v)),
                None => w.tag(k, TileValue::String(v)),
            }
        }
        if let Some(tags) = layer.tags {
            tags.tags(index, &mut |k, v| w.tag(k, v));
        }
        w.push_feature(id, r.geom_type, geometry(arena, r));
    }
    w.finish()
}

fn geometry<'a>(arena: &'a [u32], r: &Rendered) -> &'a [u32] {
    &arena[r.geometry.0 as usize..(r.geometry.0 + r.geometry.1) as usize]
}

/// A cluster's size as shown on its label: 999, 1.2k, 12k, 1.2M.
fn abbreviate(n: u32, buf: &mut [u8; 8]) -> &str {
    use std::io::Write;
    let mut w = &mut buf[..];
    // Every form fits in 8 bytes (at most "4294.9M").
    let _ = match n {
        0..=999 => write!(w, "{n}"),
        1000..=9999 => write!(w, "{:.1}k", n as f64 / 1000.0),
        10000..=999_999 => write!(w, "{}k", n / 1000),
        _ => write!(w, "{:.1}M", n as f64 / 1e6),
    };
    let len = 8 - w.len();
    std::str::from_utf8(&buf[..len]).unwrap_or("")
}

#[derive(Default)]
struct Scratch {
    pts: Vec<P>,
    out: Vec<P>,
    tmp: Vec<P>,
    lines: Vec<Vec<P>>,
    q: Vec<(i32, i32)>,
    /// The rings of the polygon being cut, then its valid form.
    rings: Vec<Vec<(i32, i32)>>,
    /// Buffers of the validity check.
    validity: ValidityScratch,
    valid: Vec<Vec<Vec<(i32, i32)>>>,
    geom: GeometryWriter,
}

impl Scratch {
    /// Bytes the buffers hold (their capacities).
    fn heap_bytes(&self) -> usize {
        let pt = std::mem::size_of::<P>();
        let q = std::mem::size_of::<(i32, i32)>();
        (self.pts.capacity() + self.out.capacity() + self.tmp.capacity()) * pt
            + self.lines.iter().map(|l| l.capacity() * pt).sum::<usize>()
            + self.q.capacity() * q
            + self.rings.iter().map(|r| r.capacity() * q).sum::<usize>()
            + self.valid.iter().flatten().map(|r| r.capacity() * q).sum::<usize>()
            + self.validity.heap_bytes()
            + self.geom.data.capacity() * 4
    }
}

fn render_feature(
    layer: &LayerTiles<'_>,
    i: u32,
    ctx: &Ctx,
    s: &mut Scratch,
    arena: &mut Vec<u32>,
    out: &mut Vec<Rendered>,
) {
    match layer.layer.geometry(i as usize) {
        FeatureGeometry::Point(c) => {
            if let Some(q) = point_in_tile(c.x, c.y, ctx) {
                out.push(Rendered {
                    feature: i,
                    geom_type: GeomType::Point,
                    geometry: push_point(arena, q),
                    priority: rank(i),
                    cluster: None,
                    label: false,
                });
            }
        }
        FeatureGeometry::Other(g) => {
            let points = collect_points(g, ctx);
            if !points.is_empty() {
                s.geom.clear();
                s.geom.points(&points);
                out.push(Rendered {
                    feature: i,
                    geom_type: GeomType::Point,
                    geometry: push_geom(arena, &s.geom),
                    priority: rank(i),
                    cluster: None,
                    label: false,
                });
            }
            if let Some(p) = layer.prep.prepared(i as usize) {
                let mut size = 0.0;
                if polygons(p, ctx, s, &mut size) {
                    out.push(Rendered {
                        feature: i,
                        geom_type: GeomType::Polygon,
                        geometry: push_geom(arena, &s.geom),
                        priority: size,
                        cluster: None,
                        label: false,
                    });
                    // The name's point, in the one tile that holds it (not
                    // in the buffer: no label twice across tiles).
                    if let Some((wx, wy)) = p.label {
                        let q = ctx.to_tile(wx, wy);
                        if (0.0..ctx.extent).contains(&q.0) && (0.0..ctx.extent).contains(&q.1) {
                            out.push(Rendered {
                                feature: i,
                                geom_type: GeomType::Point,
                                geometry: push_point(arena, (q.0.floor() as i32, q.1.floor() as i32)),
                                priority: size,
                                cluster: None,
                                label: true,
                            });
                        }
                    }
                }
                let mut size = 0.0;
                if lines(p, ctx, s, &mut size) {
                    out.push(Rendered {
                        feature: i,
                        geom_type: GeomType::LineString,
                        geometry: push_geom(arena, &s.geom),
                        priority: size,
                        cluster: None,
                        label: false,
                    });
                }
            }
        }
    }
}

fn point_in_tile(lon: f64, lat: f64, ctx: &Ctx) -> Option<(i32, i32)> {
    let (wx, wy) = lonlat_to_world(lon, lat);
    let p = ctx.to_tile(wx, wy);
    (p.0 >= ctx.min && p.0 <= ctx.max && p.1 >= ctx.min && p.1 <= ctx.max)
        .then(|| (p.0.round() as i32, p.1.round() as i32))
}

fn collect_points(g: &Geometry<f64>, ctx: &Ctx) -> Vec<(i32, i32)> {
    let mut out = Vec::new();
    match g {
        Geometry::MultiPoint(m) => out.extend(m.0.iter().filter_map(|p| point_in_tile(p.x(), p.y(), ctx))),
        Geometry::Point(p) => out.extend(point_in_tile(p.x(), p.y(), ctx)),
        Geometry::GeometryCollection(c) => c.0.iter().for_each(|g| out.extend(collect_points(g, ctx))),
        _ => {}
    }
    out.dedup();
    out
}

/// Vertices of a part above the tolerance, in tile coordinates.
fn simplified(p: &PreparedGeometry, part: &super::prepared::Part, ctx: &Ctx, pts: &mut Vec<P>) {
    pts.clear();
    pts.extend(p.kept(part, ctx.sq_tol).map(|v| ctx.to_tile(v.x, v.y)));
}

fn polygons(p: &PreparedGeometry, ctx: &Ctx, s: &mut Scratch, size: &mut f64) -> bool {
    s.geom.clear();
    s.rings.clear();
    let inside_box =
        |pts: &[P]| pts.iter().all(|p| p.0 >= ctx.min && p.0 <= ctx.max && p.1 >= ctx.min && p.1 <= ctx.max);
    // The polygon being cut is known valid when marked so at this zoom at
    // load and none of its rings is clipped; marked and clipped, only what
    // the clip changed is checked.
    let mut known_valid = false;
    let mut marked = false;
    for part in &p.parts {
        if part.kind == PartKind::Line {
            continue;
        }
        if part.kind == PartKind::Outer {
            flush(s, size, known_valid, marked.then_some(ctx.lines));
            marked = part.valid_zooms & ctx.valid_bit != 0;
            known_valid = marked;
        } else if s.rings.is_empty() {
            // The exterior was dropped: so are its holes.
            continue;
        }
        simplified(p, part, ctx, &mut s.pts);
        let ring = if inside_box(&s.pts) {
            &s.pts
        } else {
            known_valid = false;
            clip_ring(&s.pts, ctx.min, ctx.max, &mut s.out, &mut s.tmp);
            &s.out
        };
        push_ring(ring, part.kind == PartKind::Outer, &mut s.rings, &mut s.q);
    }
    flush(s, size, known_valid, marked.then_some(ctx.lines));
    !s.geom.is_empty()
}

/// Writes the polygon whose rings `s.rings` holds; made valid when it is
/// not: clipping lays edges along the buffer lines that may overlap (a hole
/// crossing the buffer shares one with the exterior), and simplification
/// and rounding to the grid can make rings cross or touch. `known_valid`:
/// found valid at load (see `valid::mark_valid_zooms`), not checked again.
/// `clipped_marked`: the snapped box lines when the polygon was marked valid
/// whole at this zoom but a ring was clipped ([`is_valid_clipped`]).
fn flush(s: &mut Scratch, size: &mut f64, known_valid: bool, clipped_marked: Option<(i32, i32)>) {
    if s.rings.is_empty() {
        return;
    }
    let valid = known_valid
        || match clipped_marked {
            Some(lines) => is_valid_clipped(&s.rings, &mut s.validity, lines),
            None => is_valid_polygon(&s.rings, &mut s.validity),
        };
    #[cfg(test)]
    let valid = tests::checked(valid, known_valid, clipped_marked.is_some(), &s.rings);
    if !valid {
        valid_polygons(&s.rings, &mut s.valid);
        for polygon in &s.valid {
            *size += area2(&polygon[0]).unsigned_abs() as f64;
            for ring in polygon {
                s.geom.ring(ring);
            }
        }
    } else {
        *size += area2(&s.rings[0]).unsigned_abs() as f64;
        for ring in &s.rings {
            s.geom.ring(ring);
        }
    }
    // Keep the ring buffers for the next polygon.
    if let Some(r) = s.rings.pop() {
        s.q = r;
    }
    s.rings.clear();
}

fn lines(p: &PreparedGeometry, ctx: &Ctx, s: &mut Scratch, size: &mut f64) -> bool {
    s.geom.clear();
    for part in p.parts.iter().filter(|p| p.kind == PartKind::Line) {
        simplified(p, part, ctx, &mut s.pts);
        s.lines.clear();
        clip_line(&s.pts, ctx.min, ctx.max, &mut s.lines);
        for l in &s.lines {
            snap_path(l, &mut s.q);
            if s.q.len() >= 2 {
                *size +=
                    s.q.windows(2).map(|w| ((w[1].0 - w[0].0) as f64).hypot((w[1].1 - w[0].1) as f64)).sum::<f64>();
                s.geom.line(&s.q);
            }
        }
    }
    !s.geom.is_empty()
}

#[cfg(test)]
mod tests;
