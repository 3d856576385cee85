//! ColorBrewer palettes: sequential and diverging ramps sampled with
//! `colorgrad` (its presets are the ColorBrewer 9- and 11-colour schemes,
//! interpolated), qualitative schemes taken as listed by ColorBrewer.

use super::ThematicError;
use colorgrad::Gradient;
use serde::Serialize;

/// Kind of a palette.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaletteKind {
    Sequential,
    Diverging,
    Qualitative,
}

type Ramp = fn() -> colorgrad::BasisGradient;

const RAMPS: &[(&str, PaletteKind, Ramp)] = {
    use colorgrad::preset::*;
    use PaletteKind::{Diverging as D, Sequential as S};
    &[
        ("Blues", S, blues),
        ("Greens", S, greens),
        ("Greys", S, greys),
        ("Oranges", S, oranges),
        ("Purples", S, purples),
        ("Reds", S, reds),
        ("BuGn", S, bu_gn),
        ("BuPu", S, bu_pu),
        ("GnBu", S, gn_bu),
        ("OrRd", S, or_rd),
        ("PuBu", S, pu_bu),
        ("PuBuGn", S, pu_bu_gn),
        ("PuRd", S, pu_rd),
        ("RdPu", S, rd_pu),
        ("YlGn", S, yl_gn),
        ("YlGnBu", S, yl_gn_bu),
        ("YlOrBr", S, yl_or_br),
        ("YlOrRd", S, yl_or_rd),
        ("BrBG", D, br_bg),
        ("PiYG", D, pi_yg),
        ("PRGn", D, pr_gn),
        ("PuOr", D, pu_or),
        ("RdBu", D, rd_bu),
        ("RdGy", D, rd_gy),
        ("RdYlBu", D, rd_yl_bu),
        ("RdYlGn", D, rd_yl_gn),
        ("Spectral", D, spectral),
    ]
};

/// ColorBrewer qualitative schemes (largest size of each).
const QUALITATIVE: &[(&str, &[&str])] = &[
    ("Set1", &["#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#ffff33", "#a65628", "#f781bf", "#999999"]),
    ("Set2", &["#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3", "#a6d854", "#ffd92f", "#e5c494", "#b3b3b3"]),
    ("Set3", &["#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69", "#fccde5", "#d9d9d9"]),
    ("Pastel1", &["#fbb4ae", "#b3cde3", "#ccebc5", "#decbe4", "#fed9a6", "#ffffcc", "#e5d8bd", "#fddaec", "#f2f2f2"]),
    ("Pastel2", &["#b3e2cd", "#fdcdac", "#cbd5e8", "#f4cae4", "#e6f5c9", "#fff2ae", "#f1e2cc", "#cccccc"]),
    ("Dark2", &["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]),
    ("Paired", &["#a6cee3", "#1f78b4", "#b2df8a", "#33a02c", "#fb9a99", "#e31a1c", "#fdbf6f", "#ff7f00", "#cab2d6"]),
    ("Accent", &["#7fc97f", "#beaed4", "#fdc086", "#ffff99", "#386cb0", "#f0027f", "#bf5b17", "#666666"]),
];

/// Every palette name with its kind.
pub fn names() -> Vec<(&'static str, PaletteKind)> {
    RAMPS
        .iter()
        .map(|(n, k, _)| (*n, *k))
        .chain(QUALITATIVE.iter().map(|(n, _)| (*n, PaletteKind::Qualitative)))
        .collect()
}

/// A palette known by name (ColorBrewer's spelling).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Palette {
    name: &'static str,
    kind: PaletteKind,
}

impl Palette {
    /// The palette called `name` (case-insensitive).
    pub fn parse(name: &str) -> Result<Palette, ThematicError> {
        names()
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(name, kind)| Palette { name, kind })
            .ok_or_else(|| {
                let known: Vec<&str> = names().into_iter().map(|(n, _)| n).collect();
                ThematicError::new("palette", format!("unknown palette {name:?}; use one of {}", known.join(", ")))
            })
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn kind(&self) -> PaletteKind {
        self.kind
    }

    /// Whether the palette has `n` colours (qualitative schemes have 8 or 9).
    pub fn check_classes(&self, n: usize) -> Result<(), ThematicError> {
        match QUALITATIVE.iter().find(|(k, _)| *k == self.name) {
            Some((_, list)) if n > list.len() => Err(ThematicError::new(
                "palette",
                format!("{} has {} colours, {n} classes asked", self.name, list.len()),
            )),
            _ => Ok(()),
        }
    }

    /// `n` colours (`#rrggbb`), light to dark for sequential ramps;
    /// `reverse` flips the order.
    pub fn colors(&self, n: usize, reverse: bool) -> Result<Vec<String>, ThematicError> {
        self.check_classes(n)?;
        let mut out: Vec<String> = if let Some((_, _, ramp)) = RAMPS.iter().find(|(k, _, _)| *k == self.name) {
            let g = ramp();
            // Inside the ramp's ends, as ColorBrewer's own n-class schemes
            // are (the 9-class extremes are nearly white or black).
            (0..n)
                .map(|i| {
                    let t = if n == 1 { 0.5 } else { 0.06 + 0.88 * i as f32 / (n - 1) as f32 };
                    let [r, g, b, _] = g.at(t).to_rgba8();
                    format!("#{r:02x}{g:02x}{b:02x}")
                })
                .collect()
        } else {
            let list = QUALITATIVE.iter().find(|(k, _)| *k == self.name).map_or(&[][..], |(_, l)| *l);
            list[..n.min(list.len())].iter().map(|s| s.to_string()).collect()
        };
        if reverse {
            out.reverse();
        }
        Ok(out)
    }
}

/// `n` colours (`#rrggbb`) of palette `name` (case-insensitive), light to
/// dark for sequential ramps; `reverse` flips the order.
pub fn colors(name: &str, n: usize, reverse: bool) -> Result<Vec<String>, ThematicError> {
    Palette::parse(name)?.colors(n, reverse)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn luminance(hex: &str) -> f64 {
        let c = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap() as f64;
        0.2126 * c(1) + 0.7152 * c(3) + 0.0722 * c(5)
    }

    #[test]
    fn sequential_ramps_go_from_light_to_dark_and_reverse() {
        let c = colors("blues", 5, false).unwrap();
        assert_eq!(c.len(), 5);
        assert!(c.windows(2).all(|w| luminance(&w[0]) > luminance(&w[1])), "{c:?}");
        let r = colors("Blues", 5, true).unwrap();
        assert_eq!(r.iter().rev().cloned().collect::<Vec<_>>(), c);
    }

    #[test]
    fn diverging_ramps_are_light_in_the_middle() {
        let c = colors("RdBu", 5, false).unwrap();
        assert!(luminance(&c[2]) > luminance(&c[0]) && luminance(&c[2]) > luminance(&c[4]), "{c:?}");
    }

    #[test]
    fn unknown_palettes_and_too_many_classes_are_errors() {
        let e = colors("Rainbow", 5, false).unwrap_err();
        assert_eq!(e.parameter, "palette");
        assert!(e.message.contains("YlOrRd"), "{e}");
        assert!(colors("Dark2", 9, false).is_err());
        assert_eq!(colors("Set1", 3, false).unwrap(), ["#e41a1c", "#377eb8", "#4daf4a"]);
    }
}
