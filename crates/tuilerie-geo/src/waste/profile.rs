//! The waste profile: what each facility accepts (its `recycling:*=yes`
//! tags, the words of a mapped column, the layer's defaults) and its
//! opening hours, computed once at load; in tiles, `waste_category` (the
//! first category in taxonomy order, which colours the point) and
//! `waste_categories` (all of them, comma-separated).

use super::taxonomy::{CategoryMask, Taxonomy};
use super::{accepted_categories, mask_ids, words_mask};
use crate::error::OptionError;
use crate::features::FeatureTable;
use crate::hours::{parse_timezone, Schedules};
use crate::profile::{ClassMask, Profile, TileAttributes};
use crate::properties::Value;
use chrono_tz::Tz;
use hashbrown::HashMap;

/// Waste options of a layer (configuration keys `accepts_field`,
/// `accepts`, `timezone`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WasteOptions {
    /// A column listing accepted wastes (words or keys separated by `;` or `,`).
    pub accepts_field: Option<String>,
    /// Categories, keys or words every facility of the layer accepts.
    pub accepts: Vec<String>,
    /// IANA time zone of `opening_hours` values (default Europe/Paris).
    pub timezone: Option<String>,
}

impl WasteOptions {
    /// Checks the time zone and that every default waste is known.
    pub fn validate(&self) -> Result<(), OptionError> {
        self.parsed_timezone()?;
        let taxonomy = Taxonomy::builtin();
        for w in &self.accepts {
            if words_mask(w, taxonomy) == 0 {
                return Err(OptionError::new("accepts", format!("unknown waste {w:?} (see /waste-categories)")));
            }
        }
        Ok(())
    }

    /// The time zone of opening hours.
    pub fn parsed_timezone(&self) -> Result<Tz, OptionError> {
        match &self.timezone {
            Some(tz) => parse_timezone(tz).map_err(|m| OptionError::new("timezone", m)),
            None => Ok(chrono_tz::Europe::Paris),
        }
    }
}

/// Categories and opening hours of a layer's facilities.
#[derive(Debug)]
pub struct WasteProfile {
    pub(crate) classes: Vec<String>,
    pub(crate) categories: Vec<CategoryMask>,
    pub(crate) classified: usize,
    /// Each distinct combination's tile attributes, `waste_category` (the
    /// first category, taxonomy order) and `waste_categories` (all, comma-
    /// separated): joined once per layer, not per feature and tile.
    texts: HashMap<CategoryMask, [(&'static str, Box<str>); 2]>,
    pub(crate) schedules: Option<Schedules>,
    pub(crate) timezone: Tz,
}

impl WasteProfile {
    /// Classifies every feature and parses its `opening_hours`.
    /// (`timezone`: from [`WasteOptions::parsed_timezone`], checked before
    /// the features were read.)
    pub fn build(features: &FeatureTable, options: &WasteOptions, timezone: Tz) -> WasteProfile {
        let taxonomy = Taxonomy::builtin();
        let defaults = options.accepts.iter().fold(0, |m, w| m | words_mask(w, taxonomy));
        let categories: Vec<CategoryMask> = features
            .features()
            .map(|f| accepted_categories(&f, taxonomy, options.accepts_field.as_deref(), defaults))
            .collect();
        let texts = tile_texts(&categories, None);
        let schedules = features.field_id("opening_hours").map(|field| {
            Schedules::build(
                features.features().map(|f| match f.property_by_id(field) {
                    Some(Value::String(s)) => Some(s),
                    _ => None,
                }),
                timezone,
            )
        });
        WasteProfile {
            classes: taxonomy.categories().iter().map(|c| c.id.clone()).collect(),
            classified: categories.iter().filter(|&&m| m != 0).count(),
            categories,
            texts,
            schedules,
            timezone,
        }
    }
}

/// Each distinct combination's tile attributes (of the masks given, or of
/// `distinct` when known).
fn tile_texts(
    categories: &[CategoryMask],
    distinct: Option<&[CategoryMask]>,
) -> HashMap<CategoryMask, [(&'static str, Box<str>); 2]> {
    let taxonomy = Taxonomy::builtin();
    let mut texts = HashMap::new();
    for &m in distinct.unwrap_or(categories).iter().filter(|&&m| m != 0) {
        texts.entry(m).or_insert_with(|| {
            let ids = mask_ids(m, taxonomy);
            let primary = ids.first().copied().unwrap_or_default();
            [("waste_category", primary.into()), ("waste_categories", ids.join(",").into_boxed_str())]
        });
    }
    texts
}

impl WasteProfile {
    /// The distinct combinations of categories, ascending.
    pub(crate) fn distinct_masks(&self) -> Vec<CategoryMask> {
        let mut m: Vec<CategoryMask> = self.texts.keys().copied().collect();
        m.sort_unstable();
        m
    }

    /// A profile as a snapshot kept it (the tile texts joined again for
    /// the `distinct` combinations).
    pub(crate) fn from_parts(
        classes: Vec<String>,
        categories: Vec<CategoryMask>,
        distinct: &[CategoryMask],
        schedules: Option<Schedules>,
        timezone: Tz,
    ) -> WasteProfile {
        WasteProfile {
            classes,
            classified: categories.iter().filter(|&&m| m != 0).count(),
            texts: tile_texts(&categories, Some(distinct)),
            categories,
            schedules,
            timezone,
        }
    }
}

impl Profile for WasteProfile {
    fn classes(&self) -> &[String] {
        &self.classes
    }

    fn masks(&self) -> &[ClassMask] {
        &self.categories
    }

    fn classified_features(&self) -> usize {
        self.classified
    }

    fn tile_attributes(&self, index: usize) -> TileAttributes<'_> {
        match self.texts.get(&self.mask(index)) {
            // A source's own `waste_category*` values give way to ours.
            Some(pairs) => TileAttributes { replaces: Some("waste_categor"), pairs },
            None => TileAttributes::NONE,
        }
    }

    fn schedules(&self) -> Option<&Schedules> {
        self.schedules.as_ref()
    }

    fn timezone(&self) -> Option<Tz> {
        Some(self.timezone)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn heap_bytes(&self) -> usize {
        self.categories.capacity() * 8 + self.texts.values().map(|[a, b]| 8 + 64 + a.1.len() + b.1.len()).sum::<usize>()
    }
}
