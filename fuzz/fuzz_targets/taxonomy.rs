//! The waste taxonomy's word lookup and `accepts=` lists (with their
//! suggestions for unknown words) on arbitrary text: never a panic, and an
//! error always names the `accepts` parameter.
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
    let _ = words_mask(&text, t);
    match parse_accepts(&text) {
        Ok(mask) => {
            let _ = tuilerie_geo::waste::mask_ids(mask, t);
        }
        Err(e) => assert_eq!(e.parameter, "accepts"),
    }
});
