//! Tile cache: encoded tiles kept in memory, bounded in bytes (quick_cache:
//! sharded, a hit is one read lock and a hash lookup), keyed
//! by layers, z, x, y and the catalog version (a reload never serves stale
//! tiles). Each entry holds the raw and the gzipped bytes and a strong ETag,
//! so a hit costs no encoding and no compression.

use bytes::Bytes;
use std::io::Write;
use std::sync::Arc;

/// Cache key: the layer list as requested, the tile, the data version (a
/// list is only cached after it resolved, so a hit needs no resolution).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TileKey {
    pub layers: Box<str>,
    pub z: u8,
    pub x: u32,
    pub y: u32,
    pub version: u64,
}

/// A rendered tile, or the knowledge that it is empty.
#[derive(Debug)]
pub struct CachedTile {
    pub raw: Bytes,
    pub gzip: Bytes,
    pub etag: String,
    /// The ETag as a header value, built once.
    pub etag_header: axum::http::HeaderValue,
}

impl CachedTile {
    /// Wraps encoded bytes: compresses once and computes the ETag.
    pub fn new(raw: Vec<u8>) -> Self {
        let etag = format!("\"{:016x}-{:x}\"", xxhash_rust::xxh3::xxh3_64(&raw), raw.len());
        let gzip = if raw.is_empty() {
            Vec::new()
        } else {
            let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(raw.len() / 2), flate2::Compression::new(6));
            // Writing to a Vec cannot fail.
            let _ = enc.write_all(&raw);
            enc.finish().unwrap_or_default()
        };
        let etag_header = axum::http::HeaderValue::from_str(&etag).unwrap_or(axum::http::HeaderValue::from_static("\"0\""));
        CachedTile {
            raw: Bytes::from(raw),
            gzip: Bytes::from(gzip),
            etag,
            etag_header,
        }
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

impl quick_cache::Weighter<TileKey, Arc<CachedTile>> for TileWeighter {
    fn weight(&self, _key: &TileKey, tile: &Arc<CachedTile>) -> u64 {
        tile.weight() as u64
    }
}

type Inner = quick_cache::sync::Cache<TileKey, Arc<CachedTile>, TileWeighter>;

/// The tile cache; `capacity_bytes == 0` turns caching off.
#[derive(Clone)]
pub struct TileCache {
    inner: Option<Arc<Inner>>,
}

impl TileCache {
    pub fn new(capacity_bytes: u64) -> Self {
        let inner = (capacity_bytes > 0).then(|| {
            // About one entry per 4 KiB (tiles compress to a few KiB).
            let items = (capacity_bytes / 4096).clamp(1024, 1 << 22) as usize;
            Arc::new(Inner::with_weighter(items, capacity_bytes, TileWeighter))
        });
        TileCache { inner }
    }

    /// The cached tile, or `make()` run once for concurrent requests of the
    /// same key and stored.
    pub async fn get_or_render<F, Fut, E>(&self, key: TileKey, make: F) -> Result<Arc<CachedTile>, Arc<E>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Arc<CachedTile>, E>>,
        E: Send + Sync + 'static,
    {
        match &self.inner {
            Some(c) => c.get_or_insert_async(&key, make()).await.map_err(Arc::new),
            None => make().await.map_err(Arc::new),
        }
    }

    /// The cached tile, if any (no rendering).
    pub async fn get(&self, key: &TileKey) -> Option<Arc<CachedTile>> {
        self.inner.as_ref()?.get(key)
    }

    /// Bytes held.
    pub fn weighted_size(&self) -> u64 {
        self.inner.as_ref().map_or(0, |c| c.weight())
    }
}
