//! Tile cache: encoded tiles kept in memory, bounded in bytes (quick_cache:
//! sharded, a hit is one read lock and a hash lookup), keyed
//! by layers, z, x, y and the catalog version (a reload never serves stale
//! tiles). Each entry holds the raw and the gzipped bytes and a strong ETag,
//! so a hit costs no encoding and no compression.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use std::sync::Arc;

/// What a cached tile is cut from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileSource {
    /// A layer list of `/tiles/{layers}/...`; `name` is the list as requested.
    Layers,
    /// The derived layer of a thematic map; `name` is the map id.
    Map,
}

/// Cache key: what the tile is cut from, the layer list as requested (or
/// the map id), the tile, the data version (a list is only cached after it
/// resolved, so a hit needs no resolution).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileKey {
    pub source: TileSource,
    pub layers: Box<str>,
    pub z: u8,
    pub x: u32,
    pub y: u32,
    pub version: u64,
}

/// A [`TileKey`] with borrowed layers, to look a tile up without
/// allocating. Hashes exactly as `TileKey` (same fields, same order; a
/// `Box<str>` hashes as its `str`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileKeyRef<'a> {
    pub source: TileSource,
    pub layers: &'a str,
    pub z: u8,
    pub x: u32,
    pub y: u32,
    pub version: u64,
}

impl quick_cache::Equivalent<TileKey> for TileKeyRef<'_> {
    fn equivalent(&self, k: &TileKey) -> bool {
        k.source == self.source
            && *k.layers == *self.layers
            && k.z == self.z
            && k.x == self.x
            && k.y == self.y
            && k.version == self.version
    }
}

impl TileKeyRef<'_> {
    pub fn to_owned(&self) -> TileKey {
        TileKey {
            source: self.source,
            layers: self.layers.into(),
            z: self.z,
            x: self.x,
            y: self.y,
            version: self.version,
        }
    }
}

/// Tiles smaller than this are not compressed.
pub const MIN_GZIP_BYTES: usize = 128;

/// libdeflate's level for new tiles, chosen by measurement
/// (`examples/gzip_levels.rs`, benches/README.md): against zlib's level 6,
/// 2.8 times faster on the million points' tiles for 4.1% more bytes, 2.1
/// times faster on the communes' for 0.3% more (the issue allows 5%).
pub const GZIP_LEVEL: i32 = 1;

/// gzip (RFC 1952) of `raw` by libdeflate, which compresses a whole buffer
/// at once (a tile is never streamed), with a per-thread compressor and
/// output buffer: the body is copied out at its compressed size.
pub fn gzip(raw: &[u8]) -> Vec<u8> {
    use libdeflater::{CompressionLvl, Compressor};
    thread_local! {
        static DEFLATE: std::cell::RefCell<(Compressor, Vec<u8>)> = std::cell::RefCell::new((
            Compressor::new(CompressionLvl::new(GZIP_LEVEL).unwrap_or_default()),
            Vec::new(),
        ));
    }
    DEFLATE.with(|d| {
        let (c, kept) = &mut *d.borrow_mut();
        let bound = c.gzip_compress_bound(raw.len());
        // The thread keeps a buffer for tiles up to 1 MiB, not for the
        // rare larger body.
        let mut own = Vec::new();
        let out = if bound <= 1 << 20 { kept } else { &mut own };
        if out.len() < bound {
            out.resize(bound, 0);
        }
        match c.gzip_compress(raw, out) {
            Ok(n) => out[..n].to_vec(),
            // Cannot happen with a buffer of the bound's size; an empty body
            // means "send raw".
            Err(_) => Vec::new(),
        }
    })
}

/// An encoded body kept ready to send: a rendered tile (empty when the tile
/// has no feature) or a web asset, with its gzip and its strong ETag.
#[derive(Debug)]
pub struct CachedBody {
    pub raw: Bytes,
    pub gzip: Bytes,
    /// Strong ETag (hash and length), as a header value built once.
    pub etag: axum::http::HeaderValue,
}

impl CachedBody {
    /// Wraps encoded bytes: compresses once and computes the ETag.
    pub fn new(raw: Vec<u8>) -> Self {
        let etag = format!("\"{:016x}-{:x}\"", xxhash_rust::xxh3::xxh3_64(&raw), raw.len());
        // Below this size gzip saves nothing: such tiles are sent as they are.
        let gzip = if raw.len() < MIN_GZIP_BYTES { Vec::new() } else { gzip(&raw) };
        CachedBody {
            raw: Bytes::from(raw),
            gzip: Bytes::from(gzip),
            etag: axum::http::HeaderValue::from_str(&etag).unwrap_or(axum::http::HeaderValue::from_static("\"0\"")),
        }
    }

    /// The gzip body, when the tile is worth compressing.
    pub fn gzipped(&self) -> Option<&Bytes> {
        (!self.gzip.is_empty()).then_some(&self.gzip)
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    fn weight(&self) -> u32 {
        (self.raw.len() + self.gzip.len() + 128).min(u32::MAX as usize) as u32
    }
}

/// Weighs an entry by the bytes it holds.
#[derive(Clone)]
struct TileWeighter;

impl quick_cache::Weighter<TileKey, Arc<CachedBody>> for TileWeighter {
    fn weight(&self, _key: &TileKey, tile: &Arc<CachedBody>) -> u64 {
        tile.weight() as u64
    }
}

/// Layer id → the layer lists (as requested) cached with it.
type ListsByLayer = std::collections::HashMap<Box<str>, std::collections::HashSet<Box<str>>>;

type Inner = quick_cache::sync::Cache<TileKey, Arc<CachedBody>, TileWeighter>;

/// The tile cache; `capacity_bytes == 0` turns caching off.
#[derive(Clone)]
pub struct TileCache {
    inner: Option<Arc<Inner>>,
    /// For each layer id, the layer lists (as requested) cached with it:
    /// an edit drops its tiles from every list that holds the layer.
    lists: Arc<std::sync::Mutex<ListsByLayer>>,
    /// Bumped by every edit swapped in: a tile rendered across an edit is
    /// checked before it stays cached.
    epoch: Arc<std::sync::atomic::AtomicU64>,
}

impl TileCache {
    pub fn new(capacity_bytes: u64) -> Self {
        let inner = (capacity_bytes > 0).then(|| {
            // About one entry per 4 KiB (tiles compress to a few KiB).
            let items = (capacity_bytes / 4096).clamp(1024, 1 << 22) as usize;
            Arc::new(Inner::with_weighter(items, capacity_bytes, TileWeighter))
        });
        TileCache { inner, lists: Default::default(), epoch: Default::default() }
    }

    /// Remembers that `list` (a layer list as requested) holds `layer`.
    pub fn note_list(&self, layer: &str, list: &str) {
        let mut lists = self.lists.lock().unwrap_or_else(|e| e.into_inner());
        match lists.get_mut(layer) {
            Some(set) if set.contains(list) => {}
            Some(set) => {
                set.insert(list.into());
            }
            None => {
                lists.insert(layer.into(), std::iter::once(Box::<str>::from(list)).collect());
            }
        }
    }

    /// The edit epoch (see [`TileCache::invalidate`]).
    pub fn epoch(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Drops the tiles `tiles` of every cached list holding `layer` under
    /// `version`, and bumps the edit epoch.
    pub fn invalidate(&self, layer: &str, tiles: &[tuilerie_geo::tiling::TileCoord], version: u64) -> usize {
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let Some(inner) = &self.inner else { return 0 };
        let lists: Vec<Box<str>> = self
            .lists
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(layer)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        let mut removed = 0;
        for list in &lists {
            for t in tiles {
                let key = TileKeyRef { source: TileSource::Layers, layers: list, z: t.z, x: t.x, y: t.y, version };
                removed += usize::from(inner.remove(&key).is_some());
            }
        }
        removed
    }

    /// Drops one tile.
    pub fn remove(&self, key: &TileKey) {
        if let Some(inner) = &self.inner {
            inner.remove(key);
        }
    }

    /// The cached tile, or `make()` run once for concurrent requests of the
    /// same key and stored.
    pub async fn get_or_render<F, Fut, E>(&self, key: TileKey, make: F) -> Result<Arc<CachedBody>, Arc<E>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Arc<CachedBody>, E>>,
        E: Send + Sync + 'static,
    {
        match &self.inner {
            Some(c) => c.get_or_insert_async(&key, make()).await.map_err(Arc::new),
            None => make().await.map_err(Arc::new),
        }
    }

    /// The cached tile under a borrowed key, if any.
    pub fn get_ref(&self, key: &TileKeyRef<'_>) -> Option<Arc<CachedBody>> {
        self.inner.as_ref()?.get(key)
    }

    /// Bytes held.
    pub fn weighted_size(&self) -> u64 {
        self.inner.as_ref().map_or(0, |c| c.weight())
    }
}

/// The response for cached bytes: 204 when empty, strong ETag and 304 on a
/// matching `If-None-Match` (or `*`), gzip when accepted and worth it.
pub fn cached_response(
    t: &CachedBody,
    headers: &HeaderMap,
    content_type: HeaderValue,
    cache_control: HeaderValue,
) -> Response {
    let with = |status: StatusCode, body: Body, extra: &[(header::HeaderName, HeaderValue)]| {
        let mut r = Response::new(body);
        *r.status_mut() = status;
        let h = r.headers_mut();
        // Room for ours and the two CORS headers added on the way out, so
        // that the map never grows (a reallocation and rehash per request).
        h.reserve(8 + extra.len());
        h.insert(header::CACHE_CONTROL, cache_control.clone());
        h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        for (k, v) in extra {
            h.insert(k.clone(), v.clone());
        }
        r
    };
    if t.is_empty() {
        return with(StatusCode::NO_CONTENT, Body::empty(), &[]);
    }
    let etag = t.etag.as_bytes();
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes().split(|&c| c == b',').any(|e| e.trim_ascii() == etag || e.trim_ascii() == b"*"));
    if matches {
        return with(StatusCode::NOT_MODIFIED, Body::empty(), &[(header::ETAG, t.etag.clone())]);
    }
    let typed = [(header::ETAG, t.etag.clone()), (header::CONTENT_TYPE, content_type)];
    match t.gzipped().filter(|_| accepts_gzip(headers)) {
        Some(gz) => {
            let mut r = with(StatusCode::OK, Body::from(gz.clone()), &typed);
            r.headers_mut().insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        }
        None => with(StatusCode::OK, Body::from(t.raw.clone()), &typed),
    }
}

pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |part| {
            let mut it = part.split(';');
            let coding = it.next().unwrap_or("").trim();
            let q =
                it.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && q > 0.0
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn gzip_with_a_reused_state_round_trips_through_an_independent_decoder() {
        let mut rng = tuilerie_geo::testdata::Lcg(7);
        for n in [0usize, 1, 127, 128, 1000, 70_000, 300_000] {
            let data: Vec<u8> = (0..n)
                .map(|i| {
                    let r = rng.next_u64();
                    if i % 3 == 0 {
                        (r >> 60) as u8
                    } else {
                        b'a' + (i % 7) as u8
                    }
                })
                .collect();
            let gz = gzip(&data);
            let mut back = Vec::new();
            flate2::read::MultiGzDecoder::new(&gz[..]).read_to_end(&mut back).unwrap();
            assert_eq!(back, data, "{n} bytes");
        }
        assert!(CachedBody::new(vec![1; 100]).gzipped().is_none());
        assert!(CachedBody::new(vec![1; 1000]).gzipped().is_some());
    }

    #[test]
    fn gzip_negotiation_honours_q_values() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, v.parse().unwrap());
            m
        };
        assert!(accepts_gzip(&h("gzip, deflate, br")));
        assert!(accepts_gzip(&h("br;q=1.0, gzip;q=0.8")));
        assert!(!accepts_gzip(&h("gzip;q=0")));
        assert!(!accepts_gzip(&h("identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
