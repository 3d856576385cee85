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

    /// Whether the source property `name` of feature `index` is left out of
    /// tiles because [`Profile::tile_attributes`] writes its own.
    fn replaces(&self, index: usize, name: &str) -> bool;

    /// Calls `out(key, value)` for each attribute feature `index` adds to
    /// tiles, after its own properties.
    fn tile_attributes(&self, index: usize, out: &mut dyn FnMut(&str, &str));

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

    fn replaces(&self, _: usize, _: &str) -> bool {
        false
    }

    fn tile_attributes(&self, _: usize, _: &mut dyn FnMut(&str, &str)) {}

    fn schedules(&self) -> Option<&Schedules> {
        None
    }

    fn timezone(&self) -> Option<Tz> {
        None
    }

    fn heap_bytes(&self) -> usize {
        0
    }
}
