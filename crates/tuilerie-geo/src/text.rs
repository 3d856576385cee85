//! Text helpers shared by slugs and word matching: accent and case folding.

use unicode_normalization::UnicodeNormalization;

/// Lower-cases `s` and strips accents (`Mérignac` → `merignac`, `Œ` → `oe`),
/// so that matching ignores case and diacritics.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.nfd() {
        match c {
            '\u{300}'..='\u{36f}' => {}
            'œ' | 'Œ' => out.push_str("oe"),
            'æ' | 'Æ' => out.push_str("ae"),
            'ß' => out.push_str("ss"),
            '’' | '‘' => out.push('\''),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Text as XML character data or a double-quoted attribute value: markup
/// escaped, and the characters XML 1.0 forbids (controls other than tab and
/// line breaks, U+FFFE and U+FFFF; lone surrogates cannot occur in a `str`)
/// dropped, so that any label gives a well-formed document (SVG exports,
/// osmChange).
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folding_strips_accents_and_case() {
        assert_eq!(fold("Saint-Médard-en-Jalles"), "saint-medard-en-jalles");
        assert_eq!(fold("RÉFRIGÉRATEUR"), "refrigerateur");
        assert_eq!(fold("Bœuf"), "boeuf");
    }
}
