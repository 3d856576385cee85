//! The tiling data of a layer in its snapshot section: settings, prepared
//! geometry (world vertices with their importances), clusters. Reading
//! checks every link tiles and edits follow (parts within their vertices,
//! nodes to features or clusters, parents to the level above). The
//! cluster levels and their links are read in place from the map.

use super::codec::{f32_at, f64_at, u32_at, u64_at, Dec, DecodeResult};
use super::encode::Enc;
use crate::tiling::cluster::{ClusterIndex, ClusterOptions, Level, Node as ClusterNode};
use crate::tiling::prepared::{Part, PartKind, PreparedGeometry, WorldVertex};
use crate::tiling::{Clustering, TilePrep, TileSettings};

fn put_cluster_options(e: &mut Enc, o: &ClusterOptions) {
    e.f64(o.radius);
    e.u8(o.max_zoom);
    e.u32(o.min_points);
}

fn get_cluster_options(d: &mut Dec<'_>) -> DecodeResult<ClusterOptions> {
    Ok(ClusterOptions { radius: d.f64()?, max_zoom: d.u8()?, min_points: d.u32()? })
}

pub(super) fn put_tiles(e: &mut Enc, t: &TilePrep) {
    let s = &t.settings;
    e.u8(s.minzoom);
    e.u8(s.maxzoom);
    e.f64(s.tolerance);
    match &s.clustering {
        Clustering::Auto => e.u8(0),
        Clustering::Off => e.u8(1),
        Clustering::On(o) => {
            e.u8(2);
            put_cluster_options(e, o)
        }
    }
    e.strs(&t.count_keys);
    e.len(t.prepared.len());
    for p in &t.prepared {
        e.len(p.vertices.len());
        for v in &p.vertices {
            e.f64(v.x);
            e.f64(v.y);
            e.f32(v.importance);
        }
        e.len(p.parts.len());
        for part in &p.parts {
            e.u8(match part.kind {
                PartKind::Outer => 0,
                PartKind::Inner => 1,
                PartKind::Line => 2,
            });
            e.u32(part.start);
            e.u32(part.len);
            e.f64(part.size);
            e.u32(part.valid_zooms);
        }
        e.bool(p.label.is_some());
        if let Some((x, y)) = p.label {
            e.f64(x);
            e.f64(y);
        }
    }
    e.bool(t.clusters.is_some());
    if let Some(c) = &t.clusters {
        e.bool(c.options.is_some());
        if let Some(o) = &c.options {
            put_cluster_options(e, o);
        }
        // Levels and links are read in place at the next start: each
        // column aligned for its records.
        e.len(c.levels.len());
        for l in &c.levels {
            e.len(l.nodes.len());
            e.align(8);
            for n in l.nodes.iter() {
                e.f64(n.x);
                e.f64(n.y);
                e.u32(n.count);
                e.u32(n.item);
            }
            e.len(l.codes.len());
            e.align(8);
            for code in l.codes.iter() {
                e.u64(*code);
            }
        }
        e.u32s(&c.starts);
        e.len(c.counts.len());
        for (k, n) in &c.counts {
            e.u8(*k);
            e.u32(*n);
        }
        e.u32_column(&c.raw_parent);
        e.len(c.parents.len());
        for p in &c.parents {
            e.u32_column(p);
        }
        e.len(c.n_categories);
    }
}

pub(super) fn get_tiles(d: &mut Dec<'_>, n_features: usize) -> DecodeResult<TilePrep> {
    let (minzoom, maxzoom, tolerance) = (d.u8()?, d.u8()?, d.f64()?);
    let clustering = match d.u8()? {
        0 => Clustering::Auto,
        1 => Clustering::Off,
        2 => Clustering::On(get_cluster_options(d)?),
        t => return d.error(&format!("clustering tag {t}")),
    };
    let settings = TileSettings { minzoom, maxzoom, tolerance, clustering };
    let count_keys = d.strings()?;
    let n = d.len(17)?;
    let mut prepared = Vec::with_capacity(n);
    for _ in 0..n {
        let nv = d.len(20)?;
        let vertices =
            d.records(nv, 20, |b| WorldVertex { x: f64_at(b, 0), y: f64_at(b, 8), importance: f32_at(b, 16) })?;
        let np = d.len(21)?;
        let mut parts = Vec::with_capacity(np);
        for _ in 0..np {
            let kind = match d.u8()? {
                0 => PartKind::Outer,
                1 => PartKind::Inner,
                2 => PartKind::Line,
                t => return d.error(&format!("part tag {t}")),
            };
            let part = Part { kind, start: d.u32()?, len: d.u32()?, size: d.f64()?, valid_zooms: d.u32()? };
            if part.start as usize + part.len as usize > vertices.len() {
                return d.error("a part past its geometry's vertices");
            }
            parts.push(part);
        }
        let label = if d.bool()? { Some((d.f64()?, d.f64()?)) } else { None };
        prepared.push(PreparedGeometry { vertices, parts, label });
    }
    if !(prepared.is_empty() || prepared.len() == n_features) {
        return d.error("prepared geometry for another number of features");
    }
    let clusters = if d.bool()? { Some(get_clusters(d, n_features)?) } else { None };
    Ok(TilePrep { settings, prepared, clusters, count_keys })
}

fn get_clusters(d: &mut Dec<'_>, n_features: usize) -> DecodeResult<ClusterIndex> {
    let options = if d.bool()? { Some(get_cluster_options(d)?) } else { None };
    let n = d.len(16)?;
    let mut levels = Vec::with_capacity(n);
    for _ in 0..n {
        let nn = d.len(24)?;
        d.align(8)?;
        let nodes = d.column(nn, 24, |b| ClusterNode {
            x: f64_at(b, 0),
            y: f64_at(b, 8),
            count: u32_at(b, 16),
            item: u32_at(b, 20),
        })?;
        let nc = d.len(8)?;
        d.align(8)?;
        let codes = d.column(nc, 8, |b| u64_at(b, 0))?;
        levels.push(Level { nodes, codes });
    }
    let starts = d.u32s()?;
    let n = d.len(5)?;
    let mut counts = Vec::with_capacity(n);
    for _ in 0..n {
        counts.push((d.u8()?, d.u32()?));
    }
    let raw_parent = d.u32_column()?;
    let n = d.len(8)?;
    let parents = (0..n).map(|_| d.u32_column()).collect::<DecodeResult<Vec<_>>>()?;
    let n_categories = d.u64()? as usize;
    // What tiles and edits index with: a point's feature, a cluster's
    // counts, a node's parent.
    let clusters = starts.len().saturating_sub(1);
    let nodes_ok = levels.iter().all(|l| {
        l.codes.len() == l.nodes.len()
            && l.nodes.iter().all(|n| {
                if n.count == 1 {
                    (n.item as usize) < n_features
                } else {
                    (n.item as usize) < clusters
                }
            })
    });
    let counts_ok =
        starts.windows(2).all(|w| w[0] <= w[1]) && starts.last().is_none_or(|&s| s as usize <= counts.len());
    let parents_ok = parents.len() == levels.len()
        && parents.iter().enumerate().all(|(z, p)| {
            z == 0 || (p.len() == levels[z].nodes.len() && p.iter().all(|&i| (i as usize) < levels[z - 1].nodes.len()))
        })
        && raw_parent.len() <= n_features
        && raw_parent.iter().all(|&i| i == u32::MAX || levels.last().is_some_and(|l| (i as usize) < l.nodes.len()));
    if !(nodes_ok && counts_ok && parents_ok) {
        return d.error("the clusters link past their nodes, counts or features");
    }
    Ok(ClusterIndex { options, levels, starts, counts, raw_parent, parents, n_categories })
}
