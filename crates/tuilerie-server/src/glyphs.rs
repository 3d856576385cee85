//! Glyphs for map labels, as MapLibre requests them: ranges of 256 code
//! points of a comma-separated font stack, as signed distance fields in
//! the `glyphs` protocol buffer of the Mapbox glyph format.
//!
//! Steps per range: the font of the stack that has each code point (the
//! first that does), its outline rasterised at 24 px (fontdue), buffered by
//! 3 px and turned into a distance field out to 8 px (sdf_glyph_renderer,
//! 0.25 cutoff, as MapLibre's own generators do), then encoded. The fonts
//! (DejaVu Sans Book and Bold: Latin, Latin-1, Latin Extended, Greek,
//! Cyrillic, punctuation) are embedded in the binary; a range is built on
//! first request and kept, raw and gzipped.

use crate::cache::CachedBody;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tuilerie_geo::tiling::encode::{bytes_field, varint_field, zigzag};

/// Size the glyphs are drawn at (MapLibre scales them).
const SIZE: f32 = 24.0;
const BUFFER: usize = 3;
const RADIUS: usize = 8;
const CUTOFF: f64 = 0.25;

/// A served font and the name it is requested by.
pub struct Font {
    /// "Family Subfamily" from the font's name table ("DejaVu Sans Book").
    pub name: String,
    face: fontdue::Font,
    /// Ascender at [`SIZE`], whole pixels.
    ascender: i32,
}

impl Font {
    fn parse(name: String, bytes: &[u8]) -> Result<Font, String> {
        let face = fontdue::Font::from_bytes(bytes, fontdue::FontSettings::default()).map_err(|e| e.to_string())?;
        let ascender = face.horizontal_line_metrics(SIZE).map_or(0, |m| m.ascent.ceil() as i32);
        Ok(Font { name, face, ascender })
    }
}

static FONTS: OnceLock<Vec<Font>> = OnceLock::new();

/// The served fonts: the embedded ones, plus those of
/// [`load_folders`] when it was called first.
pub fn fonts() -> &'static [Font] {
    FONTS.get_or_init(embedded)
}

fn embedded() -> Vec<Font> {
    let files: [(&str, &[u8]); 2] = [
        ("DejaVu Sans Book", include_bytes!("../fonts/DejaVuSans.ttf")),
        ("DejaVu Sans Bold", include_bytes!("../fonts/DejaVuSans-Bold.ttf")),
    ];
    files.into_iter().filter_map(|(name, bytes)| Font::parse(name.to_string(), bytes).ok()).collect()
}

/// "Family Subfamily" of a TrueType or OpenType font, as MapLibre font
/// stacks name fonts.
fn font_name(bytes: &[u8]) -> Option<String> {
    let face = ttf_parser::Face::parse(bytes, 0).ok()?;
    let get = |id: u16| face.names().into_iter().filter(|n| n.name_id == id).find_map(|n| n.to_string());
    let family = get(ttf_parser::name_id::FAMILY)?;
    let style = get(ttf_parser::name_id::SUBFAMILY).unwrap_or_else(|| "Regular".into());
    Some(format!("{family} {style}"))
}

/// Serves, besides the embedded fonts, every `.ttf` and `.otf` of
/// `folders` (not recursive, in name order); a font whose name is taken
/// is skipped with a warning. Call once, before serving; returns the names
/// added. An unreadable folder or font is an error naming it.
pub fn load_folders(folders: &[std::path::PathBuf]) -> Result<Vec<String>, String> {
    let mut all = embedded();
    let mut added = Vec::new();
    for dir in folders {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("{}: cannot read the font folder: {e}", dir.display()))?;
        let mut files: Vec<std::path::PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| e.eq_ignore_ascii_case("ttf") || e.eq_ignore_ascii_case("otf"))
            })
            .collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
            let name = font_name(&bytes)
                .ok_or_else(|| format!("{}: not a TrueType or OpenType font with a name", f.display()))?;
            if all.iter().any(|x| x.name == name) {
                tracing::warn!(font = %name, path = %f.display(), "a font of this name is served already; skipped");
                continue;
            }
            let font = Font::parse(name.clone(), &bytes).map_err(|e| format!("{}: {e}", f.display()))?;
            all.push(font);
            added.push(name);
        }
    }
    FONTS.set(all).map_err(|_| "fonts are already in use: load the font folders before serving".to_string())?;
    Ok(added)
}

/// Why a glyph request cannot be answered.
#[derive(Debug, Clone, PartialEq)]
pub enum GlyphError {
    /// The range is not `{start}-{end}` with start a multiple of 256 and end = start + 255, within 0..65535.
    Range(String),
    /// No font of the stack is served.
    UnknownStack(String),
}

/// Parses `0-255`, `256-511`...
pub fn parse_range(text: &str) -> Result<u32, GlyphError> {
    let bad = || {
        GlyphError::Range(format!(
            "range {text:?} must be START-END with START a multiple of 256 and END = START + 255, up to 65280-65535"
        ))
    };
    let (a, b) = text.split_once('-').ok_or_else(bad)?;
    let (a, b): (u32, u32) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if a % 256 != 0 || b != a + 255 || b > 65535 {
        return Err(bad());
    }
    Ok(a)
}

/// The served fonts of a comma-separated stack, in order.
pub fn stack_fonts(stack: &str) -> Result<Vec<&'static Font>, GlyphError> {
    let wanted: Vec<&str> = stack.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    let found: Vec<&Font> = wanted.iter().filter_map(|w| fonts().iter().find(|f| f.name == *w)).collect();
    if found.is_empty() {
        let known: Vec<&str> = fonts().iter().map(|f| f.name.as_str()).collect();
        return Err(GlyphError::UnknownStack(format!(
            "no font of the stack {stack:?} is served; fonts are {}",
            known.join(", ")
        )));
    }
    Ok(found)
}

/// One rendered glyph.
#[derive(Debug, Clone, PartialEq)]
pub struct Glyph {
    pub id: u32,
    pub bitmap: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub left: i32,
    pub top: i32,
    pub advance: u32,
}

fn render(font: &Font, ch: char) -> Option<Glyph> {
    let index = font.face.lookup_glyph_index(ch);
    if index == 0 {
        return None;
    }
    let (m, alpha) = font.face.rasterize_indexed(index, SIZE);
    let (bitmap, width, height) = if m.width == 0 || m.height == 0 {
        (Vec::new(), 0, 0)
    } else {
        let glyph = sdf_glyph_renderer::BitmapGlyph::from_unbuffered(&alpha, m.width, m.height, BUFFER).ok()?;
        let sdf = sdf_glyph_renderer::clamp_to_u8(&glyph.render_sdf(RADIUS), CUTOFF).ok()?;
        (sdf, m.width as u32, m.height as u32)
    };
    Some(Glyph {
        id: ch as u32,
        bitmap,
        width,
        height,
        left: m.xmin,
        top: m.ymin + m.height as i32 - font.ascender,
        advance: m.advance_width.round().max(0.0) as u32,
    })
}

/// The glyphs of `start..start+256` in `stack` (the first font having each).
pub fn glyphs(stack: &[&Font], start: u32) -> Vec<Glyph> {
    (start..start + 256).filter_map(char::from_u32).filter_map(|ch| stack.iter().find_map(|f| render(f, ch))).collect()
}

/// Encodes a range as the `glyphs` message: one fontstack (name, range,
/// glyphs).
pub fn encode(name: &str, start: u32, glyphs: &[Glyph]) -> Vec<u8> {
    let mut stack = Vec::new();
    bytes_field(&mut stack, 1, name.as_bytes());
    bytes_field(&mut stack, 2, format!("{start}-{}", start + 255).as_bytes());
    for g in glyphs {
        let mut m = Vec::new();
        varint_field(&mut m, 1, u64::from(g.id));
        if !g.bitmap.is_empty() {
            bytes_field(&mut m, 2, &g.bitmap);
        }
        varint_field(&mut m, 3, u64::from(g.width));
        varint_field(&mut m, 4, u64::from(g.height));
        varint_field(&mut m, 5, u64::from(zigzag(g.left)));
        varint_field(&mut m, 6, u64::from(zigzag(g.top)));
        varint_field(&mut m, 7, u64::from(g.advance));
        bytes_field(&mut stack, 3, &m);
    }
    let mut out = Vec::new();
    bytes_field(&mut out, 1, &stack);
    out
}

/// Ranges built so far, by (served stack, start): at most the served
/// stacks times 256 entries, each with its gzip and ETag.
#[derive(Default)]
pub struct GlyphCache {
    ranges: Mutex<HashMap<(String, u32), Arc<CachedBody>>>,
}

impl GlyphCache {
    /// The process's cache.
    pub fn shared() -> &'static GlyphCache {
        static CACHE: OnceLock<GlyphCache> = OnceLock::new();
        CACHE.get_or_init(GlyphCache::default)
    }

    /// Whether the range of the stack is built already.
    pub fn has(&self, stack: &str, start: u32) -> bool {
        let Ok(fonts) = stack_fonts(stack) else { return false };
        let key = (fonts.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(","), start);
        self.ranges.lock().is_ok_and(|m| m.contains_key(&key))
    }

    /// The range `start` of `stack`, built on first request (blocking:
    /// about a few milliseconds per range).
    pub fn get(&self, stack: &str, start: u32) -> Result<Arc<CachedBody>, GlyphError> {
        let fonts = stack_fonts(stack)?;
        let key = (fonts.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(","), start);
        if let Some(r) = self.ranges.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(r);
        }
        let range = Arc::new(CachedBody::new(encode(&key.0, start, &glyphs(&fonts, start))));
        if let Ok(mut m) = self.ranges.lock() {
            m.insert(key, range.clone());
        }
        Ok(range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_whole_blocks_of_256() {
        assert_eq!(parse_range("0-255"), Ok(0));
        assert_eq!(parse_range("256-511"), Ok(256));
        assert!(parse_range("0-256").is_err());
        assert!(parse_range("1-256").is_err());
        assert!(parse_range("65536-65791").is_err());
        assert!(parse_range("a-b").is_err());
    }

    #[test]
    fn a_glyph_has_a_buffered_distance_field_and_sane_metrics() {
        let book = &fonts()[0];
        let e = render(book, 'é').unwrap();
        assert_eq!(e.bitmap.len(), ((e.width + 6) * (e.height + 6)) as usize);
        assert!(e.advance > 8 && e.advance < 20, "{}", e.advance);
        assert!(e.top < 0 && e.top > -24, "top is below the ascender: {}", e.top);
        // The middle of a bold 'l' stem is inside the shape: above the edge value.
        let l = render(&fonts()[1], 'l').unwrap();
        let row = (l.height as usize + 6) / 2;
        let w = l.width as usize + 6;
        assert!(l.bitmap[row * w + w / 2] > 192, "{:?}", &l.bitmap[row * w..row * w + w]);
        assert!(render(book, ' ').unwrap().bitmap.is_empty());
    }
}
