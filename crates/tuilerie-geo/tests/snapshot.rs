//! Snapshots: a layer read back from its snapshot answers exactly as the
//! layer built from its file (every feature, metadata, tiles byte for byte
//! over a pyramid, nearest); a damaged, truncated, stale or foreign
//! snapshot is refused with its reason and the layer is built again.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use tuilerie_geo::query::nearest::{nearest, NearestQuery};
use tuilerie_geo::snapshot::{self, Found};
use tuilerie_geo::source::load_group;
use tuilerie_geo::tiling::{render_tile, TileCoord, TileOptions};
use tuilerie_geo::{Layer, LoadOptions};

fn options(dir: &Path) -> LoadOptions {
    LoadOptions { snapshots: Some(dir.to_path_buf()), ..Default::default() }
}

/// Builds the layer from its file (writing its snapshot in `dir`).
fn build(source: &Path, o: &LoadOptions) -> Layer {
    load_group(source, vec![o.clone()]).pop().unwrap().unwrap()
}

fn reopen(source: &Path, o: &LoadOptions) -> Layer {
    match snapshot::open(source, o) {
        Found::Layer(l, _) => *l,
        other => panic!("expected the layer from its snapshot, got {other:?}"),
    }
}

fn rejected(source: &Path, o: &LoadOptions) -> String {
    match snapshot::open(source, o) {
        Found::Rejected(r) => r.into_iter().map(|(_, why)| why).collect::<Vec<_>>().join("; "),
        Found::Layer(..) => panic!("a snapshot that should be refused served"),
        Found::None => panic!("no snapshot found"),
    }
}

/// Every tile of the layer's bounds from z0 to z`max` (at most 64 per zoom).
fn pyramid(layer: &Layer, max: u8) -> Vec<TileCoord> {
    let [w, s, e, n] = layer.meta().bounds.unwrap();
    let mut out = Vec::new();
    for z in 0..=max {
        let (x0, y0) = tile_at(w, n, z);
        let (x1, y1) = tile_at(e, s, z);
        let mut k = 0;
        for x in x0..=x1 {
            for y in y0..=y1 {
                if k < 64 {
                    out.push(TileCoord::new(z as u32, x, y).unwrap());
                }
                k += 1;
            }
        }
    }
    out
}

fn tile_at(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let n = (1u32 << z) as f64;
    let x = ((lon + 180.0) / 360.0 * n).floor().clamp(0.0, n - 1.0) as u32;
    let r = lat.to_radians();
    let y =
        ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor().clamp(0.0, n - 1.0) as u32;
    (x, y)
}

/// Asserts that two layers answer the same: metadata, every feature, tiles
/// byte for byte, nearest hits.
fn assert_same(a: &Layer, b: &Layer) {
    let meta = |l: &Layer| serde_json::to_string(l.meta()).unwrap();
    assert_eq!(meta(a), meta(b));
    assert_eq!(a.len(), b.len());
    for (fa, fb) in a.features().zip(b.features()) {
        assert_eq!(format!("{fa:?}"), format!("{fb:?}"));
    }
    let opts = TileOptions::default();
    let mut non_empty = 0;
    for c in pyramid(a, 14) {
        let (ta, tb) = (render_tile(&[a.tiles()], c, &opts), render_tile(&[b.tiles()], c, &opts));
        assert_eq!(ta, tb, "tile {c:?}");
        non_empty += ta.is_some() as usize;
    }
    assert!(non_empty > 15, "the pyramid holds data: {non_empty} tiles");
    let mut s = common::Lcg(7);
    let [w, south, e, n] = a.meta().bounds.unwrap();
    for k in 0..30 {
        let q = NearestQuery {
            lon: w + s.next() * (e - w),
            lat: south + s.next() * (n - south),
            k: 5,
            accepts: if k % 2 == 0 { 0 } else { 1 },
            open_at: None,
            at: chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z").unwrap().into(),
            max_distance: None,
            facility_type: None,
        };
        let hits = |l: &Layer| format!("{:?}", nearest(&[l], &q));
        assert_eq!(hits(a), hits(b));
    }
}

fn copy_to(dir: &Path, source: &Path) -> PathBuf {
    let dest = dir.join(source.file_name().unwrap());
    std::fs::copy(source, &dest).unwrap();
    dest
}

#[test]
fn a_layer_from_its_snapshot_answers_as_the_layer_built_from_its_file() {
    let dir = common::temp_dir("snapshot-same");
    let points = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/points-collecte-synthetiques.geojson");
    let communes = common::gironde("shp/communes-33-l93.shp");
    let decheteries = common::gironde("shp/decheteries-33-l93.shp");
    for source in [&points, &communes, &decheteries] {
        let o = options(&dir);
        let built = build(source, &o);
        assert!(snapshot::path_in(&dir, source, &o).is_file(), "snapshot of {} written", source.display());
        let read = reopen(source, &o);
        assert_same(&built, &read);
        // The point tree's slots (32 bytes each), the property runs (4
        // bytes a feature and 8 a property) and the cluster levels (a node
        // of 24 bytes and its code of 8, its parent's number of 4 above
        // level 0, the top level's node of every feature) are read in
        // place from the map, not copied; a layer built from its file has
        // none mapped.
        assert_eq!(built.mapped_bytes(), 0);
        assert_eq!(read.index().globe().mapped_bytes(), 32 * read.len(), "{}", source.display());
        let properties: usize = (0..read.len()).map(|i| read.feature(i).properties().count()).sum();
        let clusters = read.clusters().map_or(0, |c| {
            let top = c.options().map_or(0, |o| o.max_zoom);
            let nodes: usize = (0..=top).map(|z| c.index.level_len(z)).sum();
            let linked: usize = (1..=top).map(|z| c.index.level_len(z)).sum();
            32 * nodes + 4 * linked + 4 * read.len()
        });
        assert_eq!(source != &communes, clusters > 0, "{}: clusters of point layers only", source.display());
        assert_eq!(
            read.mapped_bytes(),
            32 * read.len() + 4 * (read.len() + 1) + 8 * properties + clusters,
            "{}",
            source.display()
        );
        // load_group serves it from the snapshot too.
        let again = build(source, &o);
        assert_same(&built, &again);
    }
}

#[test]
fn a_layer_read_in_place_keeps_answering_when_its_snapshot_is_replaced_or_deleted() {
    let dir = common::temp_dir("snapshot-replaced");
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/points-collecte-synthetiques.geojson");
    let o = options(&dir);
    let built = build(&source, &o);
    let read = reopen(&source, &o);
    assert!(read.index().globe().mapped_bytes() > 0);
    // A new snapshot renamed over the mapped one (as every write does),
    // then the file deleted: the map keeps the old inode.
    let file = snapshot::path_in(&dir, &source, &o);
    snapshot::write(&file, &built, &o, &snapshot::Sources::take(&source, &o).unwrap()).unwrap();
    std::fs::remove_file(&file).unwrap();
    assert_same(&built, &read);
}

#[test]
fn a_damaged_or_truncated_snapshot_is_refused_and_built_again() {
    let dir = common::temp_dir("snapshot-damaged");
    let source = common::gironde("decheteries-6element.geojson");
    let o = options(&dir);
    let built = build(&source, &o);
    let file = snapshot::path_in(&dir, &source, &o);
    let good = std::fs::read(&file).unwrap();

    // A byte flipped in the middle: its section's checksum no longer holds.
    let mut bytes = good.clone();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x5a;
    bytes[mid + 1] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let why = rejected(&source, &o);
    assert!(why.contains("checksum mismatch"), "{why}");
    // The load builds the layer from the file and writes a good snapshot.
    assert_same(&built, &build(&source, &o));
    assert_eq!(std::fs::read(&file).unwrap().len(), good.len());
    assert_same(&built, &reopen(&source, &o));

    // Truncated.
    std::fs::write(&file, &good[..good.len() - 100]).unwrap();
    let why = rejected(&source, &o);
    assert!(why.contains("truncated"), "{why}");
    std::fs::write(&file, &good[..10]).unwrap();
    assert!(rejected(&source, &o).contains("header"));
    // The section table damaged.
    let mut bytes = good.clone();
    bytes[20] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    assert!(rejected(&source, &o).contains("table checksum"));
    // Another format version.
    let mut bytes = good.clone();
    bytes[8] = bytes[8].wrapping_add(1);
    std::fs::write(&file, &bytes).unwrap();
    assert!(rejected(&source, &o).contains("format version"));
    // Not a snapshot at all.
    std::fs::write(&file, b"{\"type\":\"FeatureCollection\"}").unwrap();
    assert!(rejected(&source, &o).contains("not a tuilerie snapshot"));
    assert_same(&built, &build(&source, &o));
}

#[test]
fn a_snapshot_of_another_file_content_or_other_options_is_refused() {
    let dir = common::temp_dir("snapshot-stale");
    let source = copy_to(&dir, &common::gironde("decheteries-6element.geojson"));
    let snaps = dir.join("snaps");
    let o = options(&snaps);
    build(&source, &o);
    reopen(&source, &o);

    // The same bytes with another modification time: hashed, still current.
    let text = std::fs::read_to_string(&source).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&source, &text).unwrap();
    reopen(&source, &o);

    // Other options (a title, a tile setting).
    let titled = LoadOptions { title: Some("Déchèteries".into()), ..o.clone() };
    assert!(rejected(&source, &titled).contains("other layer options"));
    let mut zooms = o.clone();
    zooms.tiles.maxzoom = 12;
    assert!(rejected(&source, &zooms).contains("other layer options"));

    // The file changed (same size: one letter of a name).
    let changed = text.replacen("\"Lescar\"", "\"LESCAR\"", 1);
    assert!(changed != text && changed.len() == text.len());
    std::fs::write(&source, &changed).unwrap();
    let why = rejected(&source, &o);
    assert!(why.contains("changed since the snapshot"), "{why}");
    let rebuilt = build(&source, &o);
    assert_same(&rebuilt, &reopen(&source, &o));
}

#[test]
fn a_snapshot_beside_its_file_serves_when_the_data_directory_has_none() {
    let dir = common::temp_dir("snapshot-beside");
    let source = copy_to(&dir, &common::gironde("decheteries-6element.geojson"));
    let plain = LoadOptions::default();
    let built = tuilerie_geo::load(&source, plain.clone()).unwrap();
    let beside = snapshot::path_beside(&source, &plain);
    snapshot::write(&beside, &built, &plain, &snapshot::Sources::take(&source, &plain).unwrap()).unwrap();
    assert_eq!(beside.file_name().unwrap(), "decheteries-6element.geojson.decheteries-6element.tsnap");
    // Found with or without a data directory.
    assert_same(&built, &reopen(&source, &plain));
    assert_same(&built, &reopen(&source, &options(&dir.join("empty"))));
}

#[test]
fn a_file_changed_while_its_layer_was_built_gets_no_snapshot() {
    let dir = common::temp_dir("snapshot-changed-while-read");
    let source = copy_to(&dir, &common::gironde("decheteries-6element.geojson"));
    let snaps = dir.join("snaps");
    let o = options(&snaps);
    // Stamped, then read (the old content), then the file rewritten before
    // the snapshot is written: the write refuses, naming the file, and
    // leaves neither a snapshot nor a temporary file.
    let sources = snapshot::Sources::take(&source, &o).unwrap();
    let built = tuilerie_geo::load(&source, LoadOptions { snapshots: None, ..o.clone() }).unwrap();
    let text = std::fs::read_to_string(&source).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&source, text.replacen("\"Lescar\"", "\"LESCAR\"", 1)).unwrap();
    let dest = snapshot::path_in(&snaps, &source, &o);
    let err = snapshot::write(&dest, &built, &o, &sources).unwrap_err().to_string();
    assert!(err.contains("changed while the layer was built") && err.contains("decheteries-6element.geojson"), "{err}");
    assert!(!dest.exists());
    assert_eq!(std::fs::read_dir(&snaps).map(|d| d.count()).unwrap_or(0), 0);
    // The next load builds from the new content and writes its snapshot.
    let rebuilt = build(&source, &o);
    assert!(dest.is_file());
    let name =
        |l: &Layer| (0..l.len()).filter(|&i| format!("{:?}", l.feature(i).property("name")).contains("LESCAR")).count();
    assert_eq!(name(&rebuilt), 1);
    assert_same(&rebuilt, &reopen(&source, &o));
}
