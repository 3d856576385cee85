//! The waste taxonomy's word lookup, suggestions and `accepts=` lists on
//! arbitrary text: never a panic, suggestions bounded, and every word that
//! resolves names categories of the taxonomy.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tuilerie_geo::waste::{parse_accepts, words_mask, Taxonomy};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let t = Taxonomy::builtin();
    for r in t.resolve(&text) {
        let _ = r;
    }
    if let Some(i) = t.first_category(&text) {
        let _ = t.get(i);
    }
    assert!(t.suggest(&text, 5).len() <= 5);
    let _ = words_mask(&text, t);
    match parse_accepts(&text) {
        Ok(mask) => {
            let _ = tuilerie_geo::waste::mask_ids(mask, t);
        }
        Err(e) => assert_eq!(e.parameter, "accepts"),
    }
});
