//! Static export of a thematic map as SVG, fit for a printed report: title,
//! the classed polygons (Web Mercator, fit to the layer's bounds), legend
//! with counts, source line, scale bar and north arrow. The server renders
//! the PNG from this SVG with resvg.

use super::map::{format_number, ThematicMap, NO_DATA_COLOR};
use crate::geometry::FeatureGeometry;
use crate::tiling::lonlat_to_world;
use geo::{Geometry, LineString, Polygon};
use std::fmt::Write;

const FONT: &str = "DejaVu Sans, Liberation Sans, Arial, sans-serif";

use crate::text::xml_escape as esc;

/// Page size and text of an export.
pub struct SvgOptions<'a> {
    /// Width in pixels (the height follows the data's shape).
    pub width: u32,
    /// Source line; the map's `source`, else the service attribution.
    pub source: Option<&'a str>,
    /// Date of the export, written after the source line (PDF reports).
    pub date: Option<&'a str>,
}

/// The SVG document of `map`.
pub fn render_svg(map: &ThematicMap, opts: &SvgOptions<'_>) -> String {
    let w = opts.width.max(300) as f64;
    let s = w / 1000.0; // sizes below are for a 1000-pixel page
    let margin = 24.0 * s;
    let title_h = 56.0 * s;
    let footer_h = 40.0 * s;
    let legend_w = 300.0 * s;
    let map_w = w - legend_w - 3.0 * margin;

    // Projected bounds (world units: [0, 1], y down).
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    let layer = &map.layer;
    if let Some([w0, s0, e0, n0]) = layer.meta().bounds {
        let (x0, y1) = lonlat_to_world(w0, s0);
        let (x1, y0) = lonlat_to_world(e0, n0);
        b = [x0, y0, x1, y1];
    }
    let (bw, bh) = ((b[2] - b[0]).max(1e-12), (b[3] - b[1]).max(1e-12));
    let legend_rows = map.classes.breaks.len() + usize::from(!map.no_data.is_empty());
    let legend_h = (70.0 + 30.0 * legend_rows as f64) * s;
    let map_h = (map_w * bh / bw).clamp(legend_h, map_w * 1.6);
    let scale = (map_w / bw).min(map_h / bh);
    let (ox, oy) = (margin + (map_w - bw * scale) / 2.0, title_h + (map_h - bh * scale) / 2.0);
    let h = title_h + map_h + footer_h + margin;
    let px = |x: f64, y: f64| (ox + (x - b[0]) * scale, oy + (y - b[1]) * scale);

    let mut out = String::with_capacity(1 << 20);
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="{FONT}">"##
    );
    let _ = write!(out, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = write!(
        out,
        r##"<text x="{margin:.1}" y="{:.1}" font-size="{:.1}" font-weight="bold" fill="#212529">{}</text>"##,
        36.0 * s,
        24.0 * s,
        esc(&map.definition.title)
    );

    // Polygons, one path per feature.
    let _ =
        write!(out, r##"<g id="features" stroke="#ffffff" stroke-width="{:.2}" stroke-linejoin="round">"##, 0.6 * s);
    for f in layer.features() {
        let i = f.index();
        let colour = match map.values[i] {
            Some(v) => map.colors[map.classes.class_of(v)].as_str(),
            None => NO_DATA_COLOR,
        };
        let mut d = String::new();
        if let FeatureGeometry::Other(g) = f.geometry() {
            match &**g {
                Geometry::Polygon(p) => polygon_path(p, &px, &mut d),
                Geometry::MultiPolygon(mp) => mp.0.iter().for_each(|p| polygon_path(p, &px, &mut d)),
                _ => {}
            }
        }
        if !d.is_empty() {
            let _ = write!(
                out,
                r##"<path d="{d}" fill="{colour}" fill-rule="evenodd"><title>{}: {}</title></path>"##,
                esc(&map.labels[i]),
                map.values[i].map(format_number).unwrap_or_else(|| "—".into())
            );
        }
    }
    out.push_str("</g>");

    // North arrow, top right of the map.
    let (nx, ny) = (margin + map_w - 20.0 * s, title_h + 10.0 * s);
    let _ = write!(
        out,
        r##"<g id="north-arrow"><path d="M{:.1} {:.1} L{:.1} {:.1} L{:.1} {:.1} L{:.1} {:.1} Z" fill="#212529"/><text x="{:.1}" y="{:.1}" font-size="{:.1}" text-anchor="middle" fill="#212529">N</text></g>"##,
        nx,
        ny + 16.0 * s,
        nx - 9.0 * s,
        ny + 44.0 * s,
        nx,
        ny + 37.0 * s,
        nx + 9.0 * s,
        ny + 44.0 * s,
        nx,
        ny + 13.0 * s,
        14.0 * s
    );

    // Scale bar: ground metres per pixel at the map's middle latitude.
    let mid_y = (b[1] + b[3]) / 2.0;
    let lat = (std::f64::consts::PI * (1.0 - 2.0 * mid_y)).sinh().atan();
    let metres_per_px = 40_075_016.686 * lat.cos() / scale;
    let target = metres_per_px * map_w * 0.25;
    let pow = 10f64.powf(target.log10().floor());
    let nice = [5.0, 2.0, 1.0].iter().map(|m| m * pow).find(|&v| v <= target).unwrap_or(pow);
    let bar = nice / metres_per_px;
    let (sx, sy) = (margin, title_h + map_h - 12.0 * s);
    let label = if nice >= 1000.0 {
        format!("{} km", format_number(nice / 1000.0))
    } else {
        format!("{} m", format_number(nice))
    };
    let _ = write!(
        out,
        r##"<g id="scale-bar"><rect x="{sx:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#212529"/><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#ffffff" stroke="#212529" stroke-width="{:.2}"/><text x="{sx:.1}" y="{:.1}" font-size="{:.1}" fill="#212529">0</text><text x="{:.1}" y="{:.1}" font-size="{:.1}" text-anchor="end" fill="#212529">{label}</text></g>"##,
        sy,
        bar,
        6.0 * s,
        sx + bar / 2.0,
        sy,
        bar / 2.0,
        6.0 * s,
        0.8 * s,
        sy - 5.0 * s,
        12.0 * s,
        sx + bar,
        sy - 5.0 * s,
        12.0 * s
    );

    // Legend.
    let lx = margin * 2.0 + map_w;
    let mut ly = title_h + 10.0 * s;
    let heading = map.definition.unit.as_deref().unwrap_or("Légende");
    let _ = write!(
        out,
        r##"<g id="legend"><text x="{lx:.1}" y="{:.1}" font-size="{:.1}" font-weight="bold" fill="#212529">{}</text>"##,
        ly + 14.0 * s,
        15.0 * s,
        esc(heading)
    );
    ly += 30.0 * s;
    let mut rows: Vec<(String, String, usize)> = map
        .legend()
        .into_iter()
        .map(|e| (e.color, format!("{} – {}", format_number(e.lower), format_number(e.upper)), e.count))
        .collect();
    if !map.no_data.is_empty() || map.classes.no_data > 0 {
        rows.push((NO_DATA_COLOR.into(), "Pas de donnée".into(), map.classes.no_data));
    }
    for (colour, text, count) in rows {
        let _ = write!(
            out,
            r##"<rect x="{lx:.1}" y="{ly:.1}" width="{:.1}" height="{:.1}" fill="{colour}" stroke="#868e96" stroke-width="{:.2}"/><text x="{:.1}" y="{:.1}" font-size="{:.1}" fill="#212529">{} <tspan fill="#868e96">({count})</tspan></text>"##,
            28.0 * s,
            20.0 * s,
            0.6 * s,
            lx + 38.0 * s,
            ly + 15.0 * s,
            13.0 * s,
            esc(&text)
        );
        ly += 30.0 * s;
    }
    out.push_str("</g>");

    // Source line.
    let source = opts.source.unwrap_or("");
    let method = match map.classes.method {
        super::classify::Method::EqualInterval => "intervalles égaux",
        super::classify::Method::Quantile => "quantiles",
        super::classify::Method::NaturalBreaks => "seuils naturels (Jenks)",
        super::classify::Method::StdDev => "écarts-types",
        super::classify::Method::Manual => "seuils manuels",
    };
    let _ = write!(
        out,
        r##"<text id="source" x="{margin:.1}" y="{:.1}" font-size="{:.1}" fill="#495057">Source : {} · Discrétisation : {method} · Réalisation : tuilerie{}</text>"##,
        h - margin,
        11.0 * s,
        esc(source),
        opts.date.map(|d| format!(" · {}", esc(d))).unwrap_or_default()
    );
    out.push_str("</svg>");
    out
}

fn polygon_path(p: &Polygon<f64>, px: &impl Fn(f64, f64) -> (f64, f64), d: &mut String) {
    ring_path(p.exterior(), px, d);
    for r in p.interiors() {
        ring_path(r, px, d);
    }
}

/// A ring as `M x y L ... Z`, in 0.1 pixel, dropping repeated points.
fn ring_path(ring: &LineString<f64>, px: &impl Fn(f64, f64) -> (f64, f64), d: &mut String) {
    let mut last: Option<(i64, i64)> = None;
    let mut n = 0;
    for c in ring.coords() {
        let (x, y) = lonlat_to_world(c.x, c.y);
        let (x, y) = px(x, y);
        let q = ((x * 10.0).round() as i64, (y * 10.0).round() as i64);
        if last == Some(q) {
            continue;
        }
        let _ = write!(d, "{}{:.1} {:.1}", if n == 0 { "M" } else { "L" }, q.0 as f64 / 10.0, q.1 as f64 / 10.0);
        last = Some(q);
        n += 1;
    }
    if n > 0 {
        d.push('Z');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_characters_xml_forbids_are_dropped() {
        assert_eq!(esc("a<b>&\"c\u{1}\u{0}d\u{ffff}\te"), "a&lt;b&gt;&amp;&quot;cd\te");
    }
}
