//! Images of the relief: the depth map, colour-coded by level with a legend, as PNG.
//!
//! The map is composed as an SVG (one evenodd path per region, a legend with the bundled
//! font) and rasterised by resvg, so the picture and its text look the same everywhere.

use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::geom::Shapes;
use crate::job::Target;
use crate::relief::Relief;

/// Which way round the picture is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Orientation {
    /// As the die is cut (a die's design reads backwards).
    #[default]
    Die,
    /// As the struck medal shows it (a die's picture un-mirrored).
    Medal,
}

/// Colours of the levels, shallow to deep: the colours of up to eight levels, and the stops
/// that more levels are spread along.
const PALETTE: [[u8; 3]; 8] = [
    [0xfd, 0xe7, 0x25],
    [0x90, 0xd7, 0x43],
    [0x35, 0xb7, 0x79],
    [0x21, 0x91, 0x8c],
    [0x31, 0x68, 0x8e],
    [0x44, 0x39, 0x83],
    [0x44, 0x01, 0x54],
    [0xd6, 0x27, 0x28],
];

/// The colour of the level at `rank` of `count`, shallow to deep, as `#rrggbb`: the
/// palette's own where it has enough, else evenly spread along it, so that every level has a
/// colour of its own and the colours go in the order of the depths.
fn level_color(rank: usize, count: usize) -> String {
    let [r, g, b] = if count <= PALETTE.len() {
        PALETTE[rank.min(PALETTE.len() - 1)]
    } else {
        let t = rank as f64 / (count - 1) as f64 * (PALETTE.len() - 1) as f64;
        let (i, f) = ((t.floor() as usize).min(PALETTE.len() - 2), t - t.floor().min((PALETTE.len() - 2) as f64));
        let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round() as u8;
        let (p, q) = (PALETTE[i], PALETTE[i + 1]);
        [mix(p[0], q[0]), mix(p[1], q[1]), mix(p[2], q[2])]
    };
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The depth map as PNG bytes, `width_px` wide (the legend adds a panel on the right).
///
/// # Errors
///
/// [`Error::Preview`] if the picture cannot be rasterised (a bug, not bad input).
pub fn depth_map_png(relief: &Relief, orientation: Orientation, width_px: u32) -> Result<Vec<u8>> {
    let svg = depth_map_svg(relief, orientation);
    let tree = usvg::Tree::from_str(&svg, &crate::fonts::parse_options()).map_err(|e| Error::Preview(e.to_string()))?;
    let size = tree.size();
    let scale = width_px as f32 / size.width();
    let height_px = (size.height() * scale).ceil() as u32;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(width_px, height_px.max(1))
        .ok_or_else(|| Error::Preview("the preview has no size".into()))?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(&tree, resvg::tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| Error::Preview(e.to_string()))
}

/// The depth map as an SVG document in mm.
#[must_use]
pub fn depth_map_svg(relief: &Relief, orientation: Orientation) -> String {
    // Relief coordinates are as the die is cut; a medal view of a die flips X back.
    let flip = orientation == Orientation::Medal && relief.target == Target::Die;
    let b = crate::geom::bounds(relief.blank.iter().flatten()).unwrap_or([-1.0, -1.0, 1.0, 1.0]);
    let (w, h) = (b[2] - b[0], b[3] - b[1]);
    let margin = 0.04 * w.max(h);
    let legend = 0.8 * w.max(h);
    let map = |p: [f64; 2]| {
        let x = if flip { -p[0] } else { p[0] };
        let x0 = if flip { -b[2] } else { b[0] };
        (x - x0 + margin, b[3] - p[1] + margin)
    };
    let (total_w, total_h) = (w + 2.0 * margin + legend, h + 2.0 * margin);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{total_w:.3}mm" height="{total_h:.3}mm" viewBox="0 0 {total_w:.3} {total_h:.3}">"#
    );
    let _ = write!(
        svg,
        r##"<path d="{}" fill="#f4f4f4" stroke="#999999" stroke-width="{:.3}"/>"##,
        path_data(&relief.blank, &map),
        0.002 * w
    );
    for (i, region) in relief.regions.iter().enumerate() {
        let color = level_color(i, relief.regions.len());
        let _ = write!(svg, r#"<path d="{}" fill="{color}" fill-rule="evenodd"/>"#, path_data(&region.area, &map));
    }
    // The engraved lines over the regions, at their width, in one dark colour.
    for groove in &relief.grooves {
        let d = lines_data(groove.paths.iter().map(|line| (line.points.as_slice(), line.closed)), &map);
        let _ = write!(
            svg,
            r##"<path d="{d}" fill="none" stroke="{GROOVE_COLOR}" stroke-width="{:.4}" stroke-linecap="round" stroke-linejoin="round"/>"##,
            groove.width_mm
        );
    }
    let text = 0.035 * w.max(h);
    let x = w + 2.0 * margin;
    let title = match (relief.target, orientation) {
        (Target::Die, Orientation::Die) => "DIE, MIRRORED",
        (Target::Die, Orientation::Medal) => "MEDAL VIEW",
        (Target::Hub, _) => "HUB",
    };
    let _ = write!(
        svg,
        r#"<text x="{x:.3}" y="{:.3}" font-size="{:.3}" font-family="DejaVu Sans" font-weight="bold">{title}</text>"#,
        margin + text,
        text * 1.2
    );
    for (i, region) in relief.regions.iter().enumerate() {
        let y = margin + text * (3.0 + 1.6 * i as f64);
        let color = level_color(i, relief.regions.len());
        let _ = write!(
            svg,
            r##"<rect x="{x:.3}" y="{:.3}" width="{text:.3}" height="{text:.3}" fill="{color}" stroke="#333333" stroke-width="{:.3}"/>"##,
            y - text,
            text * 0.05
        );
        let mut label = format!("{:.3} mm  {}", region.depth_mm, region.sources.join(", "));
        if label.chars().count() > 34 {
            label = label.chars().take(33).collect::<String>() + "\u{2026}";
        }
        let _ = write!(
            svg,
            r#"<text x="{:.3}" y="{y:.3}" font-size="{text:.3}" font-family="DejaVu Sans">{}</text>"#,
            x + text * 1.4,
            escape(&label)
        );
    }
    if !relief.grooves.is_empty() {
        let y = margin + text * (3.0 + 1.6 * relief.regions.len() as f64);
        let _ = write!(
            svg,
            r##"<rect x="{x:.3}" y="{:.3}" width="{text:.3}" height="{:.3}" fill="{GROOVE_COLOR}"/>"##,
            y - text * 0.6,
            text * 0.3
        );
        let _ = write!(
            svg,
            r#"<text x="{:.3}" y="{y:.3}" font-size="{text:.3}" font-family="DejaVu Sans">engraved lines ({})</text>"#,
            x + text * 1.4,
            relief.grooves.len()
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The colour of engraved lines on the depth map.
const GROOVE_COLOR: &str = "#202020";

fn path_data(shapes: &Shapes, map: &impl Fn([f64; 2]) -> (f64, f64)) -> String {
    lines_data(shapes.iter().flatten().map(|contour| (contour.as_slice(), true)), map)
}

/// SVG path data of `lines`, each its points and whether it closes, mapped by `map`.
fn lines_data<'a>(
    lines: impl IntoIterator<Item = (&'a [[f64; 2]], bool)>,
    map: &impl Fn([f64; 2]) -> (f64, f64),
) -> String {
    let mut d = String::new();
    for (points, closed) in lines {
        for (i, &p) in points.iter().enumerate() {
            let (x, y) = map(p);
            let _ = write!(d, "{}{x:.4} {y:.4} ", if i == 0 { 'M' } else { 'L' });
        }
        if closed {
            d.push_str("Z ");
        }
    }
    d
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artwork::{import, ImportOptions};
    use crate::relief::{build, ReliefOptions};

    #[test]
    fn every_level_has_a_colour_of_its_own_in_the_order_of_depth() {
        for count in 1..=120 {
            let colours: Vec<String> = (0..count).map(|i| level_color(i, count)).collect();
            let mut distinct = colours.clone();
            distinct.sort();
            distinct.dedup();
            assert_eq!(distinct.len(), count, "{count} levels: {colours:?}");
        }
        assert_eq!(level_color(0, 3), "#fde725");
        assert_eq!(level_color(99, 100), "#d62728");
    }

    #[test]
    fn medal_view_flips_a_die_back() {
        let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" width="20mm" height="20mm" viewBox="0 0 20 20">
            <rect x="0" y="0" width="5" height="20" fill="#000"/></svg>"##;
        let relief = build(&import(svg, &ImportOptions::default()).unwrap(), &ReliefOptions::default()).unwrap();
        let png = depth_map_png(&relief, Orientation::Medal, 400).unwrap();
        let pixmap = resvg::tiny_skia::Pixmap::decode_png(&png).unwrap();
        let at = |x: u32, y: u32| pixmap.pixel(x, y).unwrap();
        // The map spans 20 of the image's 20 + 2*0.8 + 16 mm width: x pixel of artwork mm u.
        let px = |u: f64| ((0.8 + u) / 37.6 * 400.0) as u32;
        let row = pixmap.height() / 2;
        // Medal view: the black bar is on the left, as in the artwork; the right stays uncut.
        // The one level in the first colour of the palette, #fde725; the face #f4....
        let (cut, face) = (at(px(2.0), row), at(px(18.0), row));
        assert_eq!((cut.red(), cut.green(), cut.blue(), cut.alpha()), (0xfd, 0xe7, 0x25, 0xff), "left is cut");
        assert_eq!((face.red(), face.alpha()), (0xf4, 0xff), "right is the uncut face");
        let die =
            resvg::tiny_skia::Pixmap::decode_png(&depth_map_png(&relief, Orientation::Die, 400).unwrap()).unwrap();
        assert_eq!(die.pixel(px(2.0), row).unwrap().red(), 0xf4, "the die has it on the right");
    }
}
