//! OpenStreetMap extracts (`.osm.pbf`) as layers.
//!
//! Steps: [`expand`] turns a file into its layers (the built-in waste
//! profile, or one configured filter); [`load_layers`] reads the osmChange
//! files ([`change`]), scans the extract once for every layer of the file
//! ([`scan`]), builds each object's geometry once ([`assemble`]) and writes
//! the objects of each layer into its [`LayerBuilder`]: id `node/123`,
//! properties `@type`, `@id`, `@version` and `@timestamp` (when the file
//! has them), then the tags.

pub mod assemble;
mod blobs;
pub mod change;
mod scan;

use crate::build::{LayerBuilder, SourceId};
use crate::error::{GeoError, GeoResult};
use crate::layer::{Layer, LayerId, SkipReason};
use crate::options::LoadOptions;
pub use crate::options::{OsmGeometry, OsmOptions};
use crate::properties::Value;
use crate::reproject::Reprojector;
pub use crate::tag_filter::{FilterError, TagFilter};
use change::{ChangeSet, OsmKind};
use std::path::Path;

/// The layers of the built-in waste profile: id suffix, title, filter.
pub const WASTE_LAYERS: &[(&str, &str, &str)] = &[
    ("recycling", "Recycling (amenity=recycling)", "amenity=recycling"),
    ("waste-disposal", "Waste disposal (amenity=waste_disposal)", "amenity=waste_disposal"),
    ("waste-baskets", "Waste baskets (amenity=waste_basket)", "amenity=waste_basket"),
];

/// Whether `path` names an OSM PBF file.
pub fn is_pbf(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("pbf"))
}

/// The slug of a PBF file's stem without `.osm`: `malaga.osm.pbf` → `malaga`.
pub fn file_slug(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = stem.strip_suffix(".osm").unwrap_or(&stem);
    LayerId::from_stem(stem).to_string()
}

/// The layers of a PBF file: the options as given when they carry a
/// filter, else one layer per [`WASTE_LAYERS`] entry, ids
/// `{id or file slug}-{suffix}`.
pub fn expand(path: &Path, options: LoadOptions) -> Vec<LoadOptions> {
    let osm = options.osm.clone().unwrap_or_default();
    if osm.filter.is_some() {
        return vec![options];
    }
    let prefix = options.id.as_ref().map_or_else(|| file_slug(path), |id| id.to_string());
    WASTE_LAYERS
        .iter()
        .map(|(suffix, title, filter)| {
            let mut o = options.clone();
            o.id = Some(LayerId::from_stem(&format!("{prefix}-{suffix}")));
            o.title = Some(match &options.title {
                Some(t) => format!("{t}: {title}"),
                None => (*title).to_string(),
            });
            o.osm = Some(OsmOptions { filter: TagFilter::parse(filter).ok(), ..osm.clone() });
            o
        })
        .collect()
}

/// The member of a relation that geometry needs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Member {
    /// A way, with its role.
    Way(i64, String),
    /// A node or relation member (not part of an area's geometry).
    Other,
}

#[derive(Debug, Clone, Default)]
pub(crate) enum Body {
    #[default]
    None,
    Node((i32, i32)),
    Way(Vec<i64>),
    Relation(Vec<Member>),
}

/// An object as kept from the file or a change.
#[derive(Debug, Clone)]
pub(crate) struct OsmObject {
    pub id: i64,
    pub tags: Vec<(String, String)>,
    /// 0 when the file has no versions.
    pub version: i32,
    /// Milliseconds since 1970, when the file has them.
    pub timestamp: Option<i64>,
    /// The layers (bits, in the order given to [`load_layers`]) it belongs to.
    pub layers: u64,
    pub body: Body,
}

impl OsmObject {
    pub fn new(id: i64, tags: &[(&[u8], &[u8])], version: i32, timestamp: Option<i64>, layers: u64) -> Self {
        let tags = tags
            .iter()
            .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), String::from_utf8_lossy(v).into_owned()))
            .collect();
        let timestamp = timestamp.filter(|t| *t > 0 || version > 0);
        OsmObject { id, tags, version, timestamp, layers, body: Body::None }
    }

    pub fn set_location(&mut self, loc: (i32, i32)) {
        self.body = Body::Node(loc);
    }

    pub fn set_refs(&mut self, refs: Vec<i64>) {
        self.body = Body::Way(refs);
    }

    pub fn set_members(&mut self, members: Vec<Member>) {
        self.body = Body::Relation(members);
    }

    pub fn push_ref(&mut self, r: i64) {
        if let Body::Way(refs) = &mut self.body {
            refs.push(r);
        }
    }

    pub fn push_member(&mut self, m: Member) {
        if let Body::Relation(members) = &mut self.body {
            members.push(m);
        }
    }

    pub fn location(&self) -> Option<(i32, i32)> {
        match self.body {
            Body::Node(l) => Some(l),
            _ => None,
        }
    }

    pub fn refs(&self) -> &[i64] {
        match &self.body {
            Body::Way(r) => r,
            _ => &[],
        }
    }

    pub fn members(&self) -> &[Member] {
        match &self.body {
            Body::Relation(m) => m,
            _ => &[],
        }
    }

    pub fn tag_bytes(&self) -> Vec<(&[u8], &[u8])> {
        self.tags.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())).collect()
    }
}

/// One layer's test, as the scan sees it.
pub(crate) struct Wanted {
    pub filter: TagFilter,
    pub geometry: OsmGeometry,
}

/// The most layers one file can give in one scan.
pub const MAX_LAYERS_PER_FILE: usize = 64;

/// Loads every layer of `layers` (each with a filter, see [`expand`]) from
/// one scan of `path`. The results are in the order of `layers`.
pub fn load_layers(path: &Path, layers: Vec<LoadOptions>) -> Vec<GeoResult<Layer>> {
    match load_checked(path, &layers) {
        Ok(built) => built,
        Err(e) => {
            // Every layer of the file fails with the same reason.
            let first = Err(e);
            let rest: Vec<GeoResult<Layer>> = (1..layers.len())
                .map(|_| {
                    Err(GeoError::Osm {
                        path: path.to_path_buf(),
                        message: "not loaded: see the error of the file's first layer".into(),
                    })
                })
                .collect();
            std::iter::once(first).chain(rest).collect()
        }
    }
}

/// What one read of a file keeps, without building layers (benchmarks:
/// read and filter alone).
#[derive(Debug, Clone, Copy)]
pub struct ScanSummary {
    pub nodes: usize,
    pub ways: usize,
    pub relations: usize,
    /// Node locations kept for the ways.
    pub locations: usize,
    /// Size of the file.
    pub bytes: u64,
}

/// Reads `path` for `layers` (expanded, see [`expand`]) and counts what
/// the layers would get.
pub fn scan_only(path: &Path, layers: &[LoadOptions]) -> GeoResult<ScanSummary> {
    let wanted: Vec<Wanted> = layers
        .iter()
        .filter_map(|l| l.osm.as_ref())
        .filter_map(|o| o.filter.clone().map(|filter| Wanted { filter, geometry: o.geometry }))
        .collect();
    let (e, _) = scan::scan(path, &wanted, &ChangeSet::default())?;
    Ok(ScanSummary {
        nodes: e.nodes.len(),
        ways: e.ways.len(),
        relations: e.relations.len(),
        locations: e.locations.len(),
        bytes: e.bytes,
    })
}

fn load_checked(path: &Path, layers: &[LoadOptions]) -> GeoResult<Vec<GeoResult<Layer>>> {
    if layers.len() > MAX_LAYERS_PER_FILE {
        return Err(GeoError::Option {
            option: "filter".into(),
            message: format!("{}: more than {MAX_LAYERS_PER_FILE} layers read one file", path.display()),
        });
    }
    let started = std::time::Instant::now();
    let changes_files = layers.iter().find_map(|l| l.osm.as_ref().map(|o| o.changes.clone())).unwrap_or_default();
    let changes = ChangeSet::read(&changes_files)?;
    let mut builders = Vec::with_capacity(layers.len());
    let mut wanted = Vec::with_capacity(layers.len());
    for l in layers {
        let osm = l.osm.clone().unwrap_or_default();
        let Some(filter) = osm.filter.clone() else {
            return Err(GeoError::Option { option: "filter".into(), message: "an OSM layer needs a filter".into() });
        };
        wanted.push(Wanted { filter, geometry: osm.geometry });
        let mut b = LayerBuilder::new(path, l.clone(), Reprojector::identity());
        b.validate_options()?;
        builders.push((b, osm.tags.clone()));
    }
    let (extract, seen) = scan::scan(path, &wanted, &changes)?;
    tracing::debug!(
        path = %path.display(),
        nodes = extract.nodes.len(),
        ways = extract.ways.len(),
        relations = extract.relations.len(),
        locations = extract.locations.len(),
        ms = started.elapsed().as_millis() as u64,
        "OSM extract scanned"
    );
    let missing = changes.missing(&seen);
    for o in &extract.nodes {
        let geometry = o.location().map(|l| geo::Geometry::Point(geo::Point::new(l.0 as f64 / 1e7, l.1 as f64 / 1e7)));
        let geometry = geometry.ok_or((SkipReason::EmptyGeometry, format!("node/{}: no location", o.id)));
        write(&mut builders, &wanted, OsmKind::Node, o, geometry)?;
    }
    for o in &extract.ways {
        let area = assemble::is_area(&o.tags);
        let geometry = assemble::way(o.id, o.refs(), area, &extract.locations);
        write(&mut builders, &wanted, OsmKind::Way, o, geometry)?;
    }
    let kept_ways: hashbrown::HashMap<i64, &[i64]> = extract.ways.iter().map(|w| (w.id, w.refs())).collect();
    let way_refs = |id: i64| kept_ways.get(&id).copied().or_else(|| extract.member_ways.get(&id).map(|r| r.as_slice()));
    for o in &extract.relations {
        let geometry = assemble::relation(o.id, o.members(), way_refs, &extract.locations);
        write(&mut builders, &wanted, OsmKind::Relation, o, geometry)?;
    }
    let scanned_ms = started.elapsed().as_millis() as u64;
    let mb_per_s = extract.bytes as f64 / 1e6 / started.elapsed().as_secs_f64().max(1e-9);
    tracing::info!(path = %path.display(), layers = layers.len(), scanned_ms, mb_per_s, "OSM file read");
    let mut out = Vec::with_capacity(builders.len());
    for (mut b, _) in builders {
        for (index, (origin, what)) in missing.iter().enumerate() {
            b.record_skip(index, SkipReason::ChangeToMissingObject, format!("{origin}: {what}"));
        }
        let crs = "the OSM format";
        let layer = b.finish("OSM PBF", crs, None);
        tracing::debug!(layer = %layer.id(), scanned_ms, "OSM layer built");
        out.push(Ok(layer));
    }
    Ok(out)
}

/// Writes object `o` into every builder whose layer it belongs to and whose
/// geometry type it has.
fn write(
    builders: &mut [(LayerBuilder, Option<Vec<String>>)],
    wanted: &[Wanted],
    kind: OsmKind,
    o: &OsmObject,
    geometry: assemble::Built,
) -> GeoResult<()> {
    for (i, (b, keep)) in builders.iter_mut().enumerate() {
        if o.layers & (1 << i) == 0 {
            continue;
        }
        let fits = match (&geometry, wanted[i].geometry) {
            (_, OsmGeometry::Any) | (Err(_), _) => true,
            (Ok(geo::Geometry::Point(_)), g) => g == OsmGeometry::Point,
            (Ok(geo::Geometry::LineString(_)), g) => g == OsmGeometry::Line,
            (Ok(_), g) => g == OsmGeometry::Polygon,
        };
        if !fits {
            continue;
        }
        b.set_id(SourceId::Str(format!("{}/{}", kind.name(), o.id).into()))?;
        b.property("@type", Value::String(kind.name()), None)?;
        b.property("@id", Value::Int(o.id), None)?;
        if o.version > 0 {
            b.property("@version", Value::Int(o.version as i64), None)?;
        }
        if let Some(t) = o.timestamp.and_then(chrono::DateTime::from_timestamp_millis) {
            let text = t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
            b.property("@timestamp", Value::String(&text), None)?;
        }
        for (k, v) in &o.tags {
            // An area's relation type is what made it an area (osmium drops it too).
            if kind == OsmKind::Relation && k == "type" {
                continue;
            }
            if keep.as_ref().is_none_or(|keep| keep.iter().any(|t| t == k)) {
                b.property(k, Value::String(v), None)?;
            }
        }
        b.end_feature(geometry.clone())?;
    }
    Ok(())
}
