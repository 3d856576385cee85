//! Snapshots: a built layer (features, property values, point tree,
//! profile, prepared geometry, clusters, metadata) written to a file, so
//! that the next start reads it back instead of parsing the source again.
//!
//! Steps at load ([`open`]): find the snapshot (the data directory's
//! `snapshots/`, then next to the file), check its header and the
//! checksum of its section table, check its key (format version, crate
//! version, layer options, content of every source file), then read the
//! sections on two threads, each checked against its checksum before it
//! is decoded. Anything that does not hold is a reason, logged by the
//! caller, and the layer is built from its file (then written again).
//!
//! The key holds each source file's size, modification time and content
//! hash (xxh3-128): a file whose size and time are those recorded is
//! taken as unchanged without reading it; any other is hashed, so a
//! snapshot shipped next to a copied file still serves.
//!
//! Written atomically ([`write`]): a temporary file in the same folder,
//! flushed to disk, renamed over the old one, then the folder flushed.
//! The key's stamps are taken before the source is read ([`Sources`]) and
//! checked again before the write: a file that changed meanwhile gets no
//! snapshot, and a file shared by several layers is hashed once.
//!
//! Layout (little-endian): `TUILSNAP`, format version (u32), section count
//! (u32), per section its kind (u32), offset (u64), length (u64) and
//! checksum (u64: the xxh3-64 of the xxh3-64s of its 64 KiB blocks), the
//! xxh3-64 of all that (u64); then the sections.

mod codec;
mod encode;
mod parts;
mod tiles;

use crate::error::{GeoError, GeoResult};
use crate::index::LayerIndex;
use crate::layer::{Layer, LayerId};
use crate::options::LoadOptions;
use codec::Dec;
use encode::Enc;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};
use xxhash_rust::xxh3::{xxh3_128, xxh3_64, Xxh3};

const MAGIC: &[u8; 8] = b"TUILSNAP";
/// Raise when the layout of a section or of a built part changes, or what
/// one means (8: polygons marked valid at a zoom keep every ring there).
pub const FORMAT_VERSION: u32 = 8;
const EXTENSION: &str = "tsnap";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Key = 0,
    Meta = 1,
    Features = 2,
    Index = 3,
    Profile = 4,
    Tiles = 5,
}
const KINDS: [Kind; 6] = [Kind::Key, Kind::Meta, Kind::Features, Kind::Index, Kind::Profile, Kind::Tiles];

#[derive(Debug, Clone, Copy)]
struct Section {
    kind: Kind,
    offset: u64,
    len: u64,
    checksum: u64,
}

const HEADER: usize = 16;
const ENTRY: usize = 28;

/// One source file as the key records it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    name: String,
    size: u64,
    mtime_ns: u64,
    hash: u128,
}

/// The files a layer is built from: the file, a shapefile's companions
/// (any case, as the reader finds them), the osmChange files of an OSM
/// layer.
fn source_files(path: &Path, options: &LoadOptions) -> Vec<PathBuf> {
    let mut files = vec![path.to_path_buf()];
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("shp")) {
        for ext in ["shx", "dbf", "prj", "cpg"] {
            let found = [ext.to_string(), ext.to_ascii_uppercase()].into_iter().map(|e| path.with_extension(e));
            files.extend(found.into_iter().find(|p| p.is_file()));
        }
    }
    files.extend(options.osm.iter().flat_map(|o| o.changes.iter().cloned()));
    files
}

fn stat(path: &Path) -> GeoResult<(u64, u64)> {
    let m = std::fs::metadata(path).map_err(|e| GeoError::io(path, e))?;
    let mtime = m.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos() as u64);
    Ok((m.len(), mtime))
}

fn content_hash(path: &Path) -> GeoResult<u128> {
    let mut f = File::open(path).map_err(|e| GeoError::io(path, e))?;
    let mut h = Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| GeoError::io(path, e))?;
        if n == 0 {
            return Ok(h.digest128());
        }
        h.update(&buf[..n]);
    }
}

/// The options as they shape the built layer (not where snapshots go).
fn options_hash(options: &LoadOptions) -> u128 {
    xxh3_128(format!("{options:?}").as_bytes())
}

/// The layer id a load of `path` with `options` gives.
fn layer_id(path: &Path, options: &LoadOptions) -> LayerId {
    options.id.clone().unwrap_or_else(|| {
        LayerId::from_stem(&path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default())
    })
}

/// Where the snapshot of a layer is written in `dir`.
pub fn path_in(dir: &Path, source: &Path, options: &LoadOptions) -> PathBuf {
    dir.join(format!("{}.{EXTENSION}", layer_id(source, options)))
}

/// Where `tuilerie snapshot` writes a layer's snapshot next to its file.
pub fn path_beside(source: &Path, options: &LoadOptions) -> PathBuf {
    let name = source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    source.with_file_name(format!("{name}.{}.{EXTENSION}", layer_id(source, options)))
}

/// The places a load looks in, in order.
fn candidates(source: &Path, options: &LoadOptions) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = options.snapshots.iter().map(|d| path_in(d, source, options)).collect();
    out.push(path_beside(source, options));
    out
}

/// What a load found of snapshots.
#[derive(Debug)]
pub enum Found {
    /// The layer, read from this snapshot.
    Layer(Box<Layer>, PathBuf),
    /// No snapshot in any of the places looked in.
    None,
    /// Snapshots found and not used, each with the reason.
    Rejected(Vec<(PathBuf, String)>),
}

/// Reads the layer of `source` with `options` from the first snapshot that
/// is whole and current.
pub fn open(source: &Path, options: &LoadOptions) -> Found {
    let mut rejected = Vec::new();
    for p in candidates(source, options) {
        if !p.is_file() {
            continue;
        }
        match read(&p, source, options) {
            Ok(layer) => return Found::Layer(Box::new(layer), p),
            Err(reason) => rejected.push((p, reason)),
        }
    }
    if rejected.is_empty() {
        Found::None
    } else {
        Found::Rejected(rejected)
    }
}

/// Reads one snapshot file; `Err` says why it does not serve.
pub fn read(file: &Path, source: &Path, options: &LoadOptions) -> Result<Layer, String> {
    let started = Instant::now();
    let f = File::open(file).map_err(|e| format!("cannot open: {e}"))?;
    let file_len = f.metadata().map_err(|e| e.to_string())?.len();
    let sections = read_table(&f, file_len)?;
    let section = |kind: Kind| sections.iter().find(|s| s.kind == kind).copied();
    let (Some(key), Some(meta), Some(features), Some(index), Some(profile), Some(tiles)) = (
        section(Kind::Key),
        section(Kind::Meta),
        section(Kind::Features),
        section(Kind::Index),
        section(Kind::Profile),
        section(Kind::Tiles),
    ) else {
        return Err("a section is missing".into());
    };
    // The map lives as long as a column read in place from it.
    let mapped = std::sync::Arc::new(map(&f)?);
    let map: &[u8] = &mapped;
    if (map.len() as u64) < file_len {
        return Err("the file shrank while read".into());
    }
    check_key(load_section(map, key)?, source, options)?;
    let meta = {
        let bytes = load_section(map, meta)?;
        let mut d = Dec::new(bytes, "meta");
        let m = parts::get_meta(&mut d, source).map_err(|e| e.0)?;
        d.end().map_err(|e| e.0)?;
        m
    };
    let n = meta.feature_count;
    // Features on this thread; the point tree, profile and tiling data on
    // a second one.
    let (features, rest) = std::thread::scope(|scope| {
        let rest = scope.spawn(|| -> Result<_, String> {
            let globe = decode(map, index, "index", Some(&mapped), |d| parts::get_globe(d, n))?;
            let profile = decode(map, profile, "profile", None, |d| parts::get_profile(d, n))?;
            let tiles = decode(map, tiles, "tiles", Some(&mapped), |d| tiles::get_tiles(d, n))?;
            Ok((globe, profile, tiles))
        });
        let features = decode(map, features, "features", Some(&mapped), parts::get_features);
        (features, rest.join().unwrap_or_else(|_| Err("a reading thread failed".into())))
    });
    let (features, (globe, profile, tiles)) = (features?, rest?);
    if features.len() != n {
        return Err(format!("{} features where the metadata says {n}", features.len()));
    }
    // Only layers with other than single points have an envelope tree.
    let points_only = meta.geometry_kinds.iter().all(|k| *k == crate::geometry::GeometryKind::Point);
    let envelopes = if points_only { None } else { LayerIndex::envelopes_of(features.geometries()) };
    let index = LayerIndex { envelopes, globe };
    let mut layer = Layer::new(meta, features, index, profile, tiles);
    // The rest of the map was decoded and is not read again: its pages
    // leave this process (they stay in the page cache).
    release_except(&mapped, layer.mapped_ranges());
    layer.meta.load_time = started.elapsed();
    Ok(layer)
}

fn read_table(f: &File, file_len: u64) -> Result<Vec<Section>, String> {
    let mut head = [0u8; HEADER];
    f.read_exact_at(&mut head, 0).map_err(|_| "shorter than its header (truncated?)".to_string())?;
    if &head[..8] != MAGIC {
        return Err("not a tuilerie snapshot".into());
    }
    let version = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
    if version != FORMAT_VERSION {
        return Err(format!("format version {version}, this tuilerie reads {FORMAT_VERSION}"));
    }
    let count = u32::from_le_bytes([head[12], head[13], head[14], head[15]]) as usize;
    if count > 64 {
        return Err(format!("{count} sections: damaged header"));
    }
    let mut table = vec![0u8; count * ENTRY + 8];
    f.read_exact_at(&mut table, HEADER as u64).map_err(|_| "truncated section table".to_string())?;
    let (entries, sum) = table.split_at(count * ENTRY);
    let mut whole = head.to_vec();
    whole.extend_from_slice(entries);
    if xxh3_64(&whole).to_le_bytes() != sum {
        return Err("section table checksum mismatch (damaged)".into());
    }
    let mut sections = Vec::with_capacity(count);
    for e in entries.chunks_exact(ENTRY) {
        let mut d = Dec::new(e, "table");
        let kind = d.u32().map_err(|e| e.0)?;
        let Some(&kind) = KINDS.get(kind as usize) else { return Err(format!("unknown section kind {kind}")) };
        let (offset, len, checksum) = (d.u64().map_err(|e| e.0)?, d.u64().map_err(|e| e.0)?, d.u64().map_err(|e| e.0)?);
        if offset.checked_add(len).is_none_or(|end| end > file_len) {
            return Err(format!("section {kind:?} ends past the end of the file ({file_len} bytes): truncated"));
        }
        sections.push(Section { kind, offset, len, checksum });
    }
    Ok(sections)
}

/// A section's bytes, checked against their checksum.
fn load_section(map: &[u8], s: Section) -> Result<&[u8], String> {
    let bytes = &map[s.offset as usize..(s.offset + s.len) as usize];
    if codec::checksum(bytes) != s.checksum {
        return Err(format!("section {:?} checksum mismatch (damaged)", s.kind));
    }
    Ok(bytes)
}

/// Decodes a section with `f`, checking its checksum as it goes (a
/// section that does not decode is reported damaged when its checksum
/// does not hold, else with the decoder's reason).
fn decode<T>(
    map: &[u8],
    s: Section,
    name: &'static str,
    in_place: Option<&std::sync::Arc<memmap2::Mmap>>,
    f: impl FnOnce(&mut Dec<'_>) -> codec::DecodeResult<T>,
) -> Result<T, String> {
    let bytes = &map[s.offset as usize..(s.offset + s.len) as usize];
    let damaged = || format!("section {:?} checksum mismatch (damaged)", s.kind);
    let mut d = Dec::checked(bytes, name);
    if let Some(m) = in_place {
        d = d.in_map(m.clone(), s.offset as usize);
    }
    match f(&mut d).and_then(|v| d.end().map(|_| v)) {
        Ok(v) if d.digest() == Some(s.checksum) => Ok(v),
        Ok(_) => Err(damaged()),
        Err(_) if codec::checksum(bytes) != s.checksum => Err(damaged()),
        Err(e) => Err(e.0),
    }
}

/// The file mapped read-only: its pages are the page cache's, read where
/// they are instead of copied, and kept by the columns read in place
/// (shared by every process that maps the file). Snapshots are replaced by
/// renaming a new file over the old one, never written in place, so the
/// mapped file does not change while it is mapped (the old inode lives on
/// while mapped). Another program truncating a snapshot in place would
/// make reads of the lost pages fault (README: never edit one in place).
fn map(f: &File) -> Result<memmap2::Mmap, String> {
    #[allow(unsafe_code)]
    // SAFETY: the file is only replaced by rename (a new inode), never
    // modified in place by tuilerie.
    let map = unsafe { memmap2::MmapOptions::new().populate().map(f) };
    map.map_err(|e| format!("cannot map: {e}"))
}

/// Drops this process's mapping of the pages of `map` outside the ranges
/// `keep` (which columns read in place). Reading them again would fault
/// them in from the page cache as before: the advice loses no data on a
/// read-only file mapping.
fn release_except(map: &memmap2::Mmap, mut keep: Vec<std::ops::Range<usize>>) {
    const PAGE: usize = 4096;
    let len = map.len();
    keep.sort_by_key(|k| k.start);
    // The gaps between the kept ranges, widened to whole pages.
    let mut gaps = Vec::new();
    let mut from = 0;
    for k in keep {
        gaps.push((from, k.start / PAGE * PAGE));
        from = from.max(k.end.next_multiple_of(PAGE).min(len));
    }
    gaps.push((from, len));
    for (start, end) in gaps {
        if end > start {
            #[allow(unsafe_code)]
            // SAFETY: MADV_DONTNEED on a read-only, file-backed mapping only
            // unmaps pages; the map and the file are unchanged.
            let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start) };
        }
    }
}

fn put_key(e: &mut Enc, options: &LoadOptions, stamps: &[Stamp]) {
    e.str(env!("CARGO_PKG_VERSION"));
    e.bytes(&options_hash(options).to_le_bytes());
    e.len(stamps.len());
    for s in stamps {
        e.str(&s.name);
        e.u64(s.size);
        e.u64(s.mtime_ns);
        e.bytes(&s.hash.to_le_bytes());
    }
}

fn check_key(bytes: &[u8], source: &Path, options: &LoadOptions) -> Result<(), String> {
    let mut d = Dec::new(bytes, "key");
    let version = d.str().map_err(|e| e.0)?;
    if version != env!("CARGO_PKG_VERSION") {
        return Err(format!("written by tuilerie {version}, this is {}", env!("CARGO_PKG_VERSION")));
    }
    let u128_of = |d: &mut Dec<'_>| -> Result<u128, String> {
        let (lo, hi) = (d.u64().map_err(|e| e.0)?, d.u64().map_err(|e| e.0)?);
        Ok((hi as u128) << 64 | lo as u128)
    };
    if u128_of(&mut d)? != options_hash(options) {
        return Err("built with other layer options".into());
    }
    let files = source_files(source, options);
    let n = d.len(40).map_err(|e| e.0)?;
    if n != files.len() {
        return Err(format!("built from {n} source files, the layer now has {}", files.len()));
    }
    for file in &files {
        let name = d.string().map_err(|e| e.0)?;
        let (size, mtime_ns) = (d.u64().map_err(|e| e.0)?, d.u64().map_err(|e| e.0)?);
        let hash = u128_of(&mut d)?;
        if file.file_name().map(|n| n.to_string_lossy()) != Some(name.as_str().into()) {
            return Err(format!("built from {name}, not {}", file.display()));
        }
        let (now_size, now_mtime) = stat(file).map_err(|e| e.to_string())?;
        if (now_size, now_mtime) == (size, mtime_ns) {
            continue;
        }
        if now_size != size || content_hash(file).map_err(|e| e.to_string())? != hash {
            return Err(format!("{} changed since the snapshot was written", file.display()));
        }
    }
    d.end().map_err(|e| e.0)
}

/// The source files of a layer as they were before it was read: size,
/// modification time and content hash of each. Taken before the parse
/// ([`Sources::take`]) and checked again when the snapshot is written, so
/// that a file changed while it was read never gets a snapshot that pairs
/// its new stamp with the layer of its old content.
#[derive(Debug, Clone)]
pub struct Sources {
    files: Vec<(PathBuf, Stamp)>,
}

/// Stamps already taken, by path: the layers of one OSM file share it, so
/// it is hashed once for all of them.
#[derive(Debug, Default)]
pub struct StampCache(Vec<(PathBuf, Stamp)>);

impl StampCache {
    pub fn new() -> Self {
        StampCache::default()
    }
}

impl Sources {
    /// Stats and hashes every source file of a load of `source` with
    /// `options` (the file, a shapefile's companions, osmChange files).
    pub fn take(source: &Path, options: &LoadOptions) -> GeoResult<Sources> {
        Sources::take_cached(source, options, &mut StampCache::new())
    }

    /// [`Sources::take`], reusing and filling `cache`.
    pub fn take_cached(source: &Path, options: &LoadOptions, cache: &mut StampCache) -> GeoResult<Sources> {
        let mut files = Vec::new();
        for p in source_files(source, options) {
            let stamp = match cache.0.iter().find(|(q, _)| *q == p) {
                Some((_, s)) => s.clone(),
                None => {
                    let (size, mtime_ns) = stat(&p)?;
                    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    let s = Stamp { name, size, mtime_ns, hash: content_hash(&p)? };
                    cache.0.push((p.clone(), s.clone()));
                    s
                }
            };
            files.push((p, stamp));
        }
        Ok(Sources { files })
    }

    /// `Err` names the first file whose size or time changed since the
    /// stamps were taken.
    fn unchanged(&self) -> GeoResult<()> {
        for (p, s) in &self.files {
            if stat(p)? != (s.size, s.mtime_ns) {
                return Err(GeoError::ChangedWhileRead { path: p.clone() });
            }
        }
        Ok(())
    }
}

/// Writes the snapshot of `layer` to `dest`, atomically, keyed by
/// `options` and `sources` (taken before the layer was read). Returns the
/// bytes written; refuses when a source file changed since `sources`.
pub fn write(dest: &Path, layer: &Layer, options: &LoadOptions, sources: &Sources) -> GeoResult<u64> {
    let io = |e: std::io::Error| GeoError::io(dest, e);
    sources.unchanged()?;
    let stamps: Vec<Stamp> = sources.files.iter().map(|(_, s)| s.clone()).collect();
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| GeoError::io(dir, e))?;
    }
    let tmp = dest.with_extension(format!("{EXTENSION}.tmp{}", std::process::id()));
    let result = (|| -> GeoResult<u64> {
        let mut f = File::create(&tmp).map_err(|e| GeoError::io(&tmp, e))?;
        let table_len = (HEADER + KINDS.len() * ENTRY + 8) as u64;
        f.write_all(&vec![0u8; table_len as usize]).map_err(io)?;
        let mut offset = table_len;
        let mut sections = Vec::new();
        for kind in KINDS {
            // Each section starts aligned, so that its aligned columns are
            // aligned in the file (and in the map) too.
            let pad = offset.next_multiple_of(codec::SECTION_ALIGN) - offset;
            f.write_all(&vec![0u8; pad as usize]).map_err(io)?;
            offset += pad;
            let mut e = Enc::to_file(f.try_clone().map_err(io)?);
            match kind {
                Kind::Key => put_key(&mut e, options, &stamps),
                Kind::Meta => parts::put_meta(&mut e, layer.meta()),
                Kind::Features => parts::put_features(&mut e, &layer.features),
                Kind::Index => parts::put_index(&mut e, &layer.index),
                Kind::Profile => parts::put_profile(&mut e, layer.profile()),
                Kind::Tiles => tiles::put_tiles(&mut e, &layer.tiles),
            }
            let (len, checksum) = e.finish().map_err(io)?;
            sections.push(Section { kind, offset, len, checksum });
            offset += len;
        }
        let mut head = Vec::with_capacity(table_len as usize);
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        head.extend_from_slice(&(sections.len() as u32).to_le_bytes());
        for s in &sections {
            head.extend_from_slice(&(s.kind as u32).to_le_bytes());
            head.extend_from_slice(&s.offset.to_le_bytes());
            head.extend_from_slice(&s.len.to_le_bytes());
            head.extend_from_slice(&s.checksum.to_le_bytes());
        }
        let sum = xxh3_64(&head);
        head.extend_from_slice(&sum.to_le_bytes());
        f.seek(SeekFrom::Start(0)).map_err(io)?;
        f.write_all(&head).map_err(io)?;
        f.sync_all().map_err(io)?;
        Ok(offset)
    })();
    match result {
        Ok(bytes) => {
            std::fs::rename(&tmp, dest).map_err(io)?;
            if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
                if let Ok(d) = File::open(dir) {
                    let _ = d.sync_all();
                }
            }
            Ok(bytes)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}
