//! PDF exports for reports: the SVG of [`super::svg`] (title, classed
//! polygons, legend with counts, source and date, scale bar, north arrow)
//! fitted to an A4 or A3 page with margins, converted to vector PDF by
//! svg2pdf with its text in embedded (subset) fonts.

use super::map::ThematicMap;
use super::svg::{render_svg, SvgOptions};
use std::sync::{Arc, OnceLock};

/// ISO 216 paper sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    A4,
    A3,
}

impl Paper {
    pub fn parse(s: &str) -> Option<Paper> {
        match s.to_ascii_lowercase().as_str() {
            "a4" => Some(Paper::A4),
            "a3" => Some(Paper::A3),
            _ => None,
        }
    }

    /// Width and height in millimetres, portrait.
    fn mm(self) -> (f64, f64) {
        match self {
            Paper::A4 => (210.0, 297.0),
            Paper::A3 => (297.0, 420.0),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Orientation {
    Portrait,
    Landscape,
}

impl Orientation {
    pub fn parse(s: &str) -> Option<Orientation> {
        match s.to_ascii_lowercase().as_str() {
            "portrait" => Some(Orientation::Portrait),
            "landscape" => Some(Orientation::Landscape),
            _ => None,
        }
    }
}

/// What a PDF export takes.
pub struct PdfOptions<'a> {
    pub paper: Paper,
    pub orientation: Orientation,
    /// Source line; the map's `source`, else the service attribution.
    pub source: Option<&'a str>,
    /// Date written after the source line.
    pub date: Option<&'a str>,
}

/// Page size in PostScript points (1/72 inch).
pub fn page_points(paper: Paper, orientation: Orientation) -> (f64, f64) {
    let (w, h) = paper.mm();
    let (w, h) = (w * 72.0 / 25.4, h * 72.0 / 25.4);
    match orientation {
        Orientation::Portrait => (w, h),
        Orientation::Landscape => (h, w),
    }
}

/// System fonts, loaded once, embedded (subset) in the PDF's text.
fn fonts() -> Arc<svg2pdf::usvg::fontdb::Database> {
    static DB: OnceLock<Arc<svg2pdf::usvg::fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = svg2pdf::usvg::fontdb::Database::new();
        db.load_system_fonts();
        Arc::new(db)
    })
    .clone()
}

/// The page's SVG: the map's SVG nested in a page of the paper's size, fit
/// within 12 mm margins and centred.
pub fn page_svg(map: &ThematicMap, opts: &PdfOptions<'_>) -> String {
    let (pw, ph) = page_points(opts.paper, opts.orientation);
    let margin = 12.0 * 72.0 / 25.4;
    // Drawn at 1.5 px per point of the page's width: text sizes suit print.
    let width = ((pw - 2.0 * margin) * 1.5).round() as u32;
    let inner = render_svg(map, &SvgOptions { width, source: opts.source, date: opts.date });
    // The inner document's own size goes; the page frame places it.
    let body = inner.split_once('>').map_or("", |(_, rest)| rest);
    let (w, h) = svg_size(&inner).unwrap_or((width as f64, width as f64));
    let font = inner.split("font-family=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("sans-serif");
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{pw:.2}" height="{ph:.2}" viewBox="0 0 {pw:.2} {ph:.2}"><rect width="100%" height="100%" fill="#ffffff"/><svg x="{margin:.2}" y="{margin:.2}" width="{:.2}" height="{:.2}" viewBox="0 0 {w:.0} {h:.0}" preserveAspectRatio="xMidYMid meet" font-family="{font}">{body}</svg>"##,
        pw - 2.0 * margin,
        ph - 2.0 * margin,
    )
}

/// `width` and `height` of an SVG document's root element.
fn svg_size(svg: &str) -> Option<(f64, f64)> {
    let root = svg.split_once('>')?.0;
    let attr =
        |name: &str| -> Option<f64> { root.split(&format!(" {name}=\"")).nth(1)?.split('"').next()?.parse().ok() };
    Some((attr("width")?, attr("height")?))
}

/// The map as a one-page vector PDF.
pub fn render_pdf(map: &ThematicMap, opts: &PdfOptions<'_>) -> Result<Vec<u8>, String> {
    let svg = page_svg(map, opts);
    let options = svg2pdf::usvg::Options { fontdb: fonts(), ..Default::default() };
    let tree = svg2pdf::usvg::Tree::from_str(&svg, &options).map_err(|e| e.to_string())?;
    svg2pdf::to_pdf(&tree, svg2pdf::ConversionOptions::default(), svg2pdf::PageOptions::default())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_have_the_iso_sizes_in_points() {
        let (w, h) = page_points(Paper::A4, Orientation::Portrait);
        assert!((w - 595.28).abs() < 0.01 && (h - 841.89).abs() < 0.01, "{w} {h}");
        let (w, h) = page_points(Paper::A3, Orientation::Landscape);
        assert!((w - 1190.55).abs() < 0.01 && (h - 841.89).abs() < 0.01, "{w} {h}");
        assert_eq!(Paper::parse("A3"), Some(Paper::A3));
        assert_eq!(Paper::parse("letter"), None);
        assert_eq!(svg_size(r#"<svg xmlns="x" width="120" height="80" viewBox="0 0 120 80">"#), Some((120.0, 80.0)));
    }
}
