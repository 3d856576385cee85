//! Change events for `GET /events` (server-sent events): feature edits and
//! status changes, numbered by the store's sequence, fanned out through
//! one broadcast channel. A subscriber that falls more than
//! [`CHANNEL_EVENTS`] batches behind is dropped (told to reload) instead of
//! slowing the writers down.

use std::sync::Arc;
use tokio::sync::broadcast;
use tuilerie_geo::tiling::{lonlat_to_world, TileCoord};

/// Batches of events a subscriber may lag behind before it is dropped.
pub const CHANNEL_EVENTS: usize = 256;

/// Most tile coordinates listed in one event.
const MAX_TILES: usize = 128;

/// One change, serialised once for every subscriber.
#[derive(Debug)]
pub struct Event {
    /// The store's sequence number: the SSE event id.
    pub id: i64,
    /// `feature` (an edit) or `status`.
    pub kind: &'static str,
    pub layer: String,
    /// Lon/lat box of the feature (old and new geometry), for `bbox=`.
    pub bbox: Option<[f64; 4]>,
    /// The event's JSON (`data:`).
    pub data: String,
}

impl Event {
    /// Whether a subscriber filtering on `layers` and `bbox` wants it.
    pub fn wanted(&self, layers: Option<&[String]>, bbox: Option<[f64; 4]>) -> bool {
        if layers.is_some_and(|l| !l.contains(&self.layer)) {
            return false;
        }
        match (bbox, self.bbox) {
            (Some(q), Some(b)) => b[0] <= q[2] && b[2] >= q[0] && b[1] <= q[3] && b[3] >= q[1],
            _ => true,
        }
    }

    /// The event in the text/event-stream format.
    pub fn sse(&self) -> String {
        format!("id: {}\nevent: {}\ndata: {}\n\n", self.id, self.kind, self.data)
    }
}

/// A batch of events, shared by every subscriber.
pub type Batch = Arc<[Arc<Event>]>;

/// The fan-out of events to every `/events` subscriber.
pub struct Hub {
    /// `None` once closed (at shutdown: every stream ends).
    tx: std::sync::RwLock<Option<broadcast::Sender<Batch>>>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub { tx: std::sync::RwLock::new(Some(broadcast::channel(CHANNEL_EVENTS).0)) }
    }
}

impl Hub {
    /// Sends a batch of events (in increasing id order) to every subscriber;
    /// never waits.
    pub fn publish(&self, events: Vec<Arc<Event>>) {
        if events.is_empty() {
            return;
        }
        metrics::counter!("tuilerie_events_total").increment(events.len() as u64);
        if let Some(tx) = self.tx.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            let _ = tx.send(events.into());
        }
    }

    /// A receiver of every later batch (closed at once after [`Hub::close`]).
    pub fn subscribe(&self) -> broadcast::Receiver<Batch> {
        match self.tx.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
            Some(tx) => tx.subscribe(),
            None => {
                let (tx, rx) = broadcast::channel(1);
                drop(tx);
                rx
            }
        }
    }

    pub fn subscribers(&self) -> usize {
        self.tx.read().unwrap_or_else(|e| e.into_inner()).as_ref().map_or(0, |t| t.receiver_count())
    }

    /// Ends every stream (shutdown): subscribers get `event: reload`.
    pub fn close(&self) {
        self.tx.write().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// The tiles showing a lon/lat box, from `minzoom` to `maxzoom`: every tile
/// of a zoom while their number stays small, at most [`MAX_TILES`] in all
/// (a client refreshes those; beyond, it may reload the source).
pub fn tiles_of(bbox: [f64; 4], minzoom: u8, maxzoom: u8) -> Vec<[u32; 3]> {
    let mut out = Vec::new();
    let (x0, y0) = lonlat_to_world(bbox[0], bbox[3].clamp(-85.05, 85.05));
    let (x1, y1) = lonlat_to_world(bbox[2], bbox[1].clamp(-85.05, 85.05));
    for z in minzoom..=maxzoom.min(22) {
        let n = (1u64 << z) as f64;
        let cell = |w: f64| ((w * n).floor() as i64).clamp(0, n as i64 - 1) as u32;
        let (cx0, cx1, cy0, cy1) = (cell(x0), cell(x1), cell(y0), cell(y1));
        let count = (cx1 - cx0 + 1) as usize * (cy1 - cy0 + 1) as usize;
        if out.len() + count > MAX_TILES {
            break;
        }
        for x in cx0..=cx1 {
            for y in cy0..=cy1 {
                if TileCoord::new(z as u32, x, y).is_ok() {
                    out.push([z as u32, x, y]);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_point_is_in_one_tile_per_zoom_and_filters_apply() {
        let t = tiles_of([-0.58, 44.84, -0.58, 44.84], 0, 14);
        assert_eq!(t.len(), 15);
        assert_eq!(t[0], [0, 0, 0]);
        // The z14 tile of Bordeaux, as tile calculators give it.
        assert_eq!(t[14], [14, 8165, 5904]);
        let e = Event {
            id: 1,
            kind: "status",
            layer: "a".into(),
            bbox: Some([-0.58, 44.84, -0.58, 44.84]),
            data: "{}".into(),
        };
        assert!(e.wanted(None, None));
        assert!(e.wanted(Some(&["a".into()]), Some([-1.0, 44.0, 0.0, 45.0])));
        assert!(!e.wanted(Some(&["b".into()]), None));
        assert!(!e.wanted(None, Some([1.0, 44.0, 2.0, 45.0])));
        assert_eq!(e.sse(), "id: 1\nevent: status\ndata: {}\n\n");
    }
}
