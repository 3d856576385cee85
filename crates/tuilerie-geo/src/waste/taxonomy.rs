//! The waste taxonomy: categories of waste, the OpenStreetMap `recycling:*`
//! keys that say a facility accepts them, labels in French and English, and
//! the words people type. The data lives in `taxonomy.toml`.

use crate::text::fold;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Index of a category in the taxonomy (bit position in masks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CategoryIndex(pub u8);

/// A set of categories as a bit mask.
pub type CategoryMask = u64;

/// One category of waste.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WasteCategory {
    pub id: String,
    pub fr: String,
    pub en: String,
    /// Map colour (`#rrggbb`) of facilities whose first category this is.
    pub color: String,
    /// OSM keys, without the `recycling:` prefix.
    pub keys: Vec<String>,
    pub synonyms: Vec<String>,
}

#[derive(Deserialize)]
struct File {
    category: Vec<WasteCategory>,
}

/// How a word resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Resolution {
    pub category: String,
    /// The OSM keys (all of the category's, or the one named).
    pub keys: Vec<String>,
    /// What matched: `category`, `key`, `label` or `synonym`.
    pub matched: &'static str,
}

/// A category's words, folded once at parse time for matching.
#[derive(Debug, Clone)]
struct Folded {
    id: String,
    keys: Vec<String>,
    labels: [String; 2],
    synonyms: Vec<String>,
    /// The id and keys folded as [`Taxonomy::suggest`] compares them.
    suggest_id: String,
    suggest_keys: Vec<String>,
}

/// Characters of a word compared by [`Taxonomy::suggest`].
pub const SUGGEST_CHARS: usize = 64;

/// Longest word [`Taxonomy::resolve`] and friends look up (longer ones
/// match nothing; request parameters refuse them).
pub const MAX_WORD_CHARS: usize = 100;

/// The taxonomy.
#[derive(Debug, Clone)]
pub struct Taxonomy {
    categories: Vec<WasteCategory>,
    folded: Vec<Folded>,
    /// `recycling:` key (without prefix) → categories that list it.
    key_masks: HashMap<String, CategoryMask>,
    /// Every folded word (id, key, label, synonym) → the first category,
    /// in file order, that has it: [`Taxonomy::resolve`]'s first answer.
    first: HashMap<String, CategoryIndex>,
}

static BUILTIN: OnceLock<Taxonomy> = OnceLock::new();

/// `word` without its leading `recycling:` prefixes (OSM's key, as people
/// paste it), as `trim_start_matches("recycling:")` would, without
/// building that method's string searcher (400 instructions a query).
fn without_osm_prefix(mut word: &str) -> &str {
    while let Some(rest) = word.strip_prefix("recycling:") {
        word = rest;
    }
    word
}

impl Taxonomy {
    /// The taxonomy shipped in `taxonomy.toml`.
    pub fn builtin() -> &'static Taxonomy {
        BUILTIN.get_or_init(|| {
            Taxonomy::parse(include_str!("taxonomy.toml")).unwrap_or_else(|e| panic!("invalid built-in taxonomy: {e}"))
        })
    }

    /// Parses a taxonomy file; at most 64 categories.
    pub fn parse(text: &str) -> Result<Taxonomy, String> {
        let f: File = toml::from_str(text).map_err(|e| e.to_string())?;
        if f.category.len() > 64 {
            return Err("at most 64 categories".into());
        }
        for c in &f.category {
            let hex = c.color.strip_prefix('#').filter(|h| h.len() == 6 && h.chars().all(|ch| ch.is_ascii_hexdigit()));
            if hex.is_none() {
                return Err(format!("category {:?}: color must be #rrggbb, got {:?}", c.id, c.color));
            }
        }
        let folded: Vec<Folded> = f
            .category
            .iter()
            .map(|c| Folded {
                id: fold(&c.id).replace('_', " "),
                keys: c.keys.iter().map(|k| k.replace('_', " ")).collect(),
                labels: [fold(&c.fr), fold(&c.en)],
                synonyms: c.synonyms.iter().map(|s| fold(s)).collect(),
                suggest_id: fold(&c.id),
                suggest_keys: c.keys.iter().map(|k| fold(k)).collect(),
            })
            .collect();
        let mut key_masks: HashMap<String, CategoryMask> = HashMap::new();
        for (i, c) in f.category.iter().enumerate() {
            for k in &c.keys {
                *key_masks.entry(k.clone()).or_default() |= 1 << i;
            }
        }
        let mut first: HashMap<String, CategoryIndex> = HashMap::new();
        for (i, w) in folded.iter().enumerate() {
            let words = std::iter::once(&w.id).chain(&w.keys).chain(&w.labels).chain(&w.synonyms);
            for word in words {
                first.entry(word.clone()).or_insert(CategoryIndex(i as u8));
            }
        }
        Ok(Taxonomy { categories: f.category, folded, key_masks, first })
    }

    pub fn categories(&self) -> &[WasteCategory] {
        &self.categories
    }

    pub fn len(&self) -> usize {
        self.categories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }

    pub fn get(&self, i: CategoryIndex) -> &WasteCategory {
        &self.categories[i.0 as usize]
    }

    pub fn index_of(&self, id: &str) -> Option<CategoryIndex> {
        self.categories.iter().position(|c| c.id == id).map(|i| CategoryIndex(i as u8))
    }

    /// Categories whose keys include `key` (without `recycling:`).
    pub fn mask_of_key(&self, key: &str) -> CategoryMask {
        self.key_masks.get(key).copied().unwrap_or(0)
    }

    /// Resolves a word (category id, OSM key, label or synonym; case and
    /// accents ignored) to categories.
    pub fn resolve(&self, word: &str) -> Vec<Resolution> {
        let w = fold(word.trim()).replace('_', " ");
        let w = without_osm_prefix(&w).trim();
        if w.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (c, f) in self.categories.iter().zip(&self.folded) {
            if f.id == w {
                out.push(Resolution { category: c.id.clone(), keys: c.keys.clone(), matched: "category" });
            } else if let Some(k) = f.keys.iter().position(|k| k == w) {
                out.push(Resolution { category: c.id.clone(), keys: vec![c.keys[k].clone()], matched: "key" });
            } else if f.labels.iter().any(|l| l == w) {
                out.push(Resolution { category: c.id.clone(), keys: c.keys.clone(), matched: "label" });
            } else if f.synonyms.iter().any(|s| s == w) {
                out.push(Resolution { category: c.id.clone(), keys: c.keys.clone(), matched: "synonym" });
            }
        }
        out
    }

    /// The category [`Taxonomy::resolve`] lists first for `word`, without
    /// building the list (a hash lookup; `accepts=` on every query).
    pub fn first_category(&self, word: &str) -> Option<CategoryIndex> {
        let word = word.trim();
        // ASCII without capitals or `_` folds to itself (the usual case: an
        // id such as `glass`), so it is looked up as it is.
        if word.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase() && b != b'_') {
            return self.first.get(without_osm_prefix(word).trim()).copied();
        }
        let w = fold(word).replace('_', " ");
        let w = without_osm_prefix(&w).trim();
        self.first.get(w).copied()
    }

    /// Words (ids, labels, synonyms) closest to `word`, for suggestions.
    /// Only the first [`SUGGEST_CHARS`] characters of `word` are compared:
    /// no word of the taxonomy is that long, and the edit distance costs the
    /// product of the lengths.
    pub fn suggest(&self, word: &str, n: usize) -> Vec<String> {
        let w: Vec<char> = fold(word).chars().take(SUGGEST_CHARS).collect();
        let mut scratch = Levenshtein::default();
        let mut scored: Vec<(usize, &str)> = Vec::new();
        for (c, f) in self.categories.iter().zip(&self.folded) {
            let words = std::iter::once(&c.id).chain(c.synonyms.iter()).chain(c.keys.iter());
            let folded = std::iter::once(&f.suggest_id).chain(f.synonyms.iter()).chain(f.suggest_keys.iter());
            for (cand, folded) in words.zip(folded) {
                scored.push((scratch.distance(&w, folded), cand.as_str()));
            }
        }
        scored.sort_unstable();
        scored.dedup_by(|a, b| a.1 == b.1);
        scored.into_iter().take(n).map(|(_, s)| s.to_string()).collect()
    }

    /// Every word people may type, for autocompletion: `(word, category id)`.
    pub fn words(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for c in &self.categories {
            out.push((c.fr.clone(), c.id.clone()));
            out.push((c.en.clone(), c.id.clone()));
            for s in &c.synonyms {
                out.push((s.clone(), c.id.clone()));
            }
        }
        out
    }
}

/// Edit distance with its buffers kept between calls (suggestions compare
/// one word with every word of the taxonomy).
#[derive(Default)]
struct Levenshtein {
    b: Vec<char>,
    prev: Vec<usize>,
    cur: Vec<usize>,
}

impl Levenshtein {
    fn distance(&mut self, a: &[char], b: &str) -> usize {
        self.b.clear();
        self.b.extend(b.chars());
        let n = self.b.len();
        self.prev.clear();
        self.prev.extend(0..=n);
        for (i, ca) in a.iter().enumerate() {
            self.cur.clear();
            self.cur.resize(n + 1, i + 1);
            for (j, cb) in self.b.iter().enumerate() {
                self.cur[j + 1] = (self.prev[j] + (ca != cb) as usize).min(self.prev[j + 1] + 1).min(self.cur[j] + 1);
            }
            std::mem::swap(&mut self.prev, &mut self.cur);
        }
        self.prev[n]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_category_is_the_first_resolution() {
        let t = Taxonomy::builtin();
        let mut words: Vec<String> = t.words().into_iter().map(|(w, _)| w).collect();
        for c in t.categories() {
            words.push(c.id.clone());
            words.extend(c.keys.iter().cloned());
            words.extend(c.keys.iter().map(|k| format!("recycling:{k}")));
        }
        words.extend(
            [
                "VERRE",
                " Piles ",
                "frigo",
                "Réfrigérateur",
                "huile de vidange",
                "nothing",
                "",
                "recycling:recycling:glass",
                "recycling: glass",
                "recycling:",
            ]
            .map(String::from),
        );
        for w in &words {
            let expect = t.resolve(w).first().and_then(|r| t.index_of(&r.category));
            assert_eq!(t.first_category(w), expect, "{w:?}");
        }
    }

    #[test]
    fn the_builtin_taxonomy_parses_and_every_category_has_keys_and_words() {
        let t = Taxonomy::builtin();
        assert!(t.len() >= 15);
        for c in t.categories() {
            assert!(!c.keys.is_empty() && !c.synonyms.is_empty(), "{}", c.id);
        }
    }

    #[test]
    fn words_resolve_without_regard_to_case_or_accents() {
        let t = Taxonomy::builtin();
        let cat = |w: &str| t.resolve(w).into_iter().map(|r| r.category).collect::<Vec<_>>();
        assert_eq!(cat("Frigo"), vec!["electronics"]);
        assert_eq!(cat("RÉFRIGÉRATEUR"), vec!["electronics"]);
        assert_eq!(cat("verre"), vec!["glass"]);
        assert_eq!(cat("bocaux"), vec!["glass"]);
        assert_eq!(cat("piles"), vec!["batteries"]);
        assert_eq!(cat("DEEE"), vec!["electronics"]);
        assert_eq!(cat("déchets verts"), vec!["green_waste"]);
        assert_eq!(cat("gravats"), vec!["rubble"]);
        assert_eq!(cat("encombrants"), vec!["bulky"]);
        assert_eq!(cat("huile de vidange"), vec!["oils"]);
        assert_eq!(cat("recycling:glass_bottles"), vec!["glass"]);
        assert_eq!(t.resolve("fridge_and_freezer")[0].keys, vec!["fridge_and_freezer"]);
        assert!(cat("klingon").is_empty());
        assert!(t.suggest("frigoo", 3).contains(&"frigo".to_string()));
    }

    #[test]
    fn suggestions_for_a_long_word_compare_its_first_characters_only() {
        let t = Taxonomy::builtin();
        let long = format!("frigo{}", "x".repeat(60_000));
        let cut: String = long.chars().take(SUGGEST_CHARS).collect();
        assert_eq!(t.suggest(&long, 3), t.suggest(&cut, 3));
        assert!(t.resolve(&long).is_empty() && t.first_category(&long).is_none());
    }
}
