//! Waste: the taxonomy of categories and what each facility accepts.

pub mod opening_hours;
pub mod taxonomy;

pub use taxonomy::{CategoryIndex, CategoryMask, Resolution, Taxonomy, WasteCategory};

use crate::layer::FeatureRef;
use crate::properties::Value;

/// How a layer says what its facilities accept, beyond `recycling:*=yes`.
#[derive(Debug, Clone, Default)]
pub struct WasteMapping {
    /// A column listing accepted wastes (words or keys separated by `;` or `,`).
    pub accepts_field: Option<String>,
    /// Categories, keys or words every facility of the layer accepts.
    pub defaults: Vec<String>,
}

/// The categories a feature accepts: its `recycling:<key>=yes` tags, the
/// words in the mapped column, and the layer defaults.
pub fn classify(f: &FeatureRef<'_>, taxonomy: &Taxonomy, mapping: &WasteMapping, defaults: CategoryMask) -> CategoryMask {
    let mut mask = defaults;
    for (k, v) in f.properties() {
        if let Some(key) = k.strip_prefix("recycling:") {
            if matches!(v, Value::String(s) if s.eq_ignore_ascii_case("yes")) || v == Value::Bool(true) {
                mask |= taxonomy.mask_of_key(key);
            }
        }
    }
    if let Some(field) = &mapping.accepts_field {
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
    taxonomy
        .categories()
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, c)| c.id.as_str())
        .collect()
}
