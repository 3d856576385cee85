//! Profiles: what a domain adds to a layer's features beyond their own
//! properties, in planetiler's sense. A profile is built once per layer at
//! load time and answers, per feature: the classes it belongs to (a bit
//! mask, which nearest queries filter on and clusters count), the
//! attributes it contributes to tiles, and its opening hours.
//!
//! The waste profile ([`crate::waste::WasteProfile`]) is the one facilities
//! use; [`PlainProfile`] adds nothing (derived thematic layers).

use crate::hours::Schedules;
use chrono_tz::Tz;
use std::fmt;

/// Classes of a feature: bit `i` set when it belongs to class `i` of
/// [`Profile::classes`] (at most 64 classes).
pub type ClassMask = u64;

/// The attributes a profile adds to one feature in tiles, written after
/// its own properties; source properties whose name starts with `replaces`
/// are left out (the profile's values take their place).
#[derive(Debug, Clone, Copy)]
pub struct TileAttributes<'a> {
    pub replaces: Option<&'static str>,
    pub pairs: &'a [(&'static str, Box<str>)],
}

impl TileAttributes<'_> {
    /// Nothing added, nothing replaced.
    pub const NONE: TileAttributes<'static> = TileAttributes { replaces: None, pairs: &[] };
}

/// What a domain adds to the features of one layer.
pub trait Profile: Send + Sync + fmt::Debug {
    /// Ids of the classes, by bit position of a [`ClassMask`].
    fn classes(&self) -> &[String];

    /// The classes of every feature, by feature index (empty: none).
    fn masks(&self) -> &[ClassMask];

    /// The classes of feature `index`.
    fn mask(&self, index: usize) -> ClassMask {
        self.masks().get(index).copied().unwrap_or(0)
    }

    /// Features that belong to at least one class.
    fn classified_features(&self) -> usize;

    /// What feature `index` adds to tiles (one call per feature: the tile
    /// encoder's inner loop over properties stays free of dynamic calls).
    fn tile_attributes(&self, index: usize) -> TileAttributes<'_>;

    /// Opening hours of the features, when the layer has them.
    fn schedules(&self) -> Option<&Schedules>;

    /// Time zone in which opening hours are read.
    fn timezone(&self) -> Option<Tz>;

    /// Asks for the memory of feature `index` ahead of reading it.
    fn prefetch(&self, index: usize) {
        if let Some(m) = self.masks().get(index) {
            crate::prefetch::prefetch(m);
        }
        if let Some(s) = self.schedules() {
            s.prefetch(index);
        }
    }

    /// Approximate heap bytes.
    fn heap_bytes(&self) -> usize;

    /// The profile as `Any`, for what must know its concrete type (a
    /// snapshot writing it).
    fn as_any(&self) -> &dyn std::any::Any;
}

/// A profile that adds nothing: no classes, no attributes, no hours.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlainProfile;

impl Profile for PlainProfile {
    fn classes(&self) -> &[String] {
        &[]
    }

    fn masks(&self) -> &[ClassMask] {
        &[]
    }

    fn classified_features(&self) -> usize {
        0
    }

    fn tile_attributes(&self, _: usize) -> TileAttributes<'_> {
        TileAttributes::NONE
    }

    fn schedules(&self) -> Option<&Schedules> {
        None
    }

    fn timezone(&self) -> Option<Tz> {
        None
    }

    fn heap_bytes(&self) -> usize {
        0
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
