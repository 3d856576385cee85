//! Waste: the taxonomy of categories, what each facility accepts, and the
//! waste [`Profile`](crate::profile::Profile) that carries both into tiles
//! and answers.

mod profile;
pub mod taxonomy;

pub use profile::{WasteOptions, WasteProfile};
pub use taxonomy::{CategoryIndex, CategoryMask, Resolution, Taxonomy, WasteCategory};

use crate::error::ParamError;
use crate::features::FeatureRef;
use crate::properties::Value;

/// The categories a feature accepts: its `recycling:<key>=yes` tags, the
/// words in the column `accepts_field`, and the layer defaults.
pub fn accepted_categories(
    f: &FeatureRef<'_>,
    taxonomy: &Taxonomy,
    accepts_field: Option<&str>,
    defaults: CategoryMask,
) -> CategoryMask {
    let mut mask = defaults;
    for (k, v) in f.properties() {
        if let Some(key) = k.strip_prefix("recycling:") {
            if matches!(v, Value::String(s) if s.eq_ignore_ascii_case("yes")) || v == Value::Bool(true) {
                mask |= taxonomy.mask_of_key(key);
            }
        }
    }
    if let Some(field) = accepts_field {
        if let Some(Value::String(s)) = f.property(field) {
            mask |= words_mask(s, taxonomy);
        }
    }
    mask
}

/// The categories named by a `;`/`,`-separated list of words.
pub fn words_mask(list: &str, taxonomy: &Taxonomy) -> CategoryMask {
    let mut mask = 0;
    for w in list.split([';', ',', '|']) {
        for r in taxonomy.resolve(w) {
            if let Some(i) = taxonomy.index_of(&r.category) {
                mask |= 1 << i.0;
            }
        }
    }
    mask
}

/// Category ids in a mask, in taxonomy order.
pub fn mask_ids(mask: CategoryMask, taxonomy: &Taxonomy) -> Vec<&str> {
    taxonomy.categories().iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, c)| c.id.as_str()).collect()
}

/// Resolves the `accepts` parameter of a query (`glass,piles`, `verre`,
/// OSM keys) into the categories that are all required. A word naming
/// several categories (e.g. "cartons") takes the first, the closest
/// meaning; an unknown word is an error with suggestions.
pub fn parse_accepts(list: &str) -> Result<CategoryMask, ParamError> {
    let t = Taxonomy::builtin();
    let mut mask = 0;
    for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        if word.chars().count() > taxonomy::MAX_WORD_CHARS {
            return Err(ParamError::new(
                "accepts",
                format!("a waste word has at most {} characters", taxonomy::MAX_WORD_CHARS),
            ));
        }
        let Some(i) = t.first_category(word) else {
            let s = t.suggest(word, 3);
            return Err(ParamError::new(
                "accepts",
                format!("unknown waste {word:?}; did you mean {}? (see /waste-categories)", s.join(", ")),
            ));
        };
        mask |= 1 << i.0;
    }
    Ok(mask)
}
