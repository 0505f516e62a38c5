//! `medalcam inspect`: what the artwork holds, before anything is cut.
//!
//! The [`Inspection`] is serialised as the `inspect --json` output; its keys are a promise
//! to users' scripts: extend them, never rename them.

use rayon::prelude::*;
use serde::Serialize;

use super::{Artwork, TextRun};
use crate::error::{Error, Result};
use crate::geom::{self, Shapes};
use crate::Warning;

/// A summary of the artwork.
#[derive(Debug, Serialize)]
pub struct Inspection {
    /// Width and height of the viewBox in mm.
    pub size_mm: [f64; 2],
    /// Number of painted shapes (a fill and a stroke of one element count twice).
    pub shapes: usize,
    /// Area of everything painted, in mm2.
    pub painted_area_mm2: f64,
    /// Each fill colour, in order of first use.
    pub colors: Vec<ColorUse>,
    /// The lines strokes and hairlines follow, by colour and width, in order of first use:
    /// what single-line engraving cuts.
    pub lines: Vec<LineUse>,
    /// Element ids, in paint order, each once.
    pub ids: Vec<String>,
    /// Inkscape layer labels, in paint order, each once.
    pub layers: Vec<String>,
    /// The text runs and their fonts.
    pub texts: Vec<TextRun>,
    /// The narrowest visible part of a shape: the largest circle inside it has this
    /// diameter, so only tools at most this wide can cut all of it.
    pub narrowest_feature: Option<Feature>,
    /// Everything the import could not take.
    pub warnings: Vec<Warning>,
}

/// One colour.
#[derive(Debug, Serialize)]
pub struct ColorUse {
    /// `#rrggbb`.
    pub color: String,
    /// Area painted in this colour, in mm2, before later shapes cover it.
    pub area_mm2: f64,
    /// Area of this colour that stays visible once later shapes are painted over it.
    pub visible_area_mm2: f64,
    /// Number of shapes in this colour.
    pub shapes: usize,
}

/// The centre lines of the strokes of one colour and width.
#[derive(Debug, Serialize)]
pub struct LineUse {
    /// The stroke's colour, `#rrggbb`; `none` for hairlines (no fill, no stroke width).
    pub color: String,
    /// The stroke's width in mm; 0 for hairlines.
    pub width_mm: f64,
    /// Number of lines (subpaths; each dash one).
    pub lines: usize,
    /// Their length, in mm.
    pub length_mm: f64,
}

/// A narrow place of the artwork.
#[derive(Debug, Serialize)]
pub struct Feature {
    /// Diameter of the largest circle that fits in the region, in mm.
    pub width_mm: f64,
    /// Centre of the region's bounding box, in artwork mm (Y up, not mirrored).
    pub at_mm: [f64; 2],
}

/// Summarises an imported artwork.
///
/// # Errors
///
/// [`Error::Geometry`] when the polygon engine cannot compute a shape's visible part.
pub fn inspect(artwork: &Artwork) -> Result<Inspection> {
    let mut colors: Vec<ColorUse> = Vec::new();
    let layers: Vec<&Shapes> = artwork.shapes.iter().map(|shape| &shape.polygons).collect();
    let own = geom::visible_parts(&layers).map_err(|(i, source)| Error::Geometry {
        at: format!("the visible part of shape {}", artwork.shapes[i].id),
        source,
    })?;
    let visible: Vec<f64> = own.iter().map(|own| geom::shapes_area(own)).collect();
    let visible_regions: Shapes = own.into_iter().rev().flatten().collect();
    let all: Shapes = artwork.shapes.iter().flat_map(|shape| shape.polygons.iter().cloned()).collect();
    let covered = geom::union(&all).map_err(|source| Error::Geometry { at: "the painted area".into(), source })?;
    let mut lines: Vec<LineUse> = Vec::new();
    for line_shape in &artwork.shapes {
        let Some(centre) = &line_shape.centreline else { continue };
        let (count, length) = (centre.paths.len(), centre.paths.iter().map(geom::Polyline::length_mm).sum::<f64>());
        let same = |l: &&mut LineUse| l.color == line_shape.color && (l.width_mm - centre.width_mm).abs() < 1e-6;
        match lines.iter_mut().find(same) {
            Some(l) => {
                l.lines += count;
                l.length_mm += length;
            }
            None => lines.push(LineUse {
                color: line_shape.color.clone(),
                width_mm: centre.width_mm,
                lines: count,
                length_mm: length,
            }),
        }
    }
    // A hairline paints nothing: it has no colour here, only a line.
    for (shape, visible) in artwork.shapes.iter().zip(visible).filter(|(s, _)| !s.polygons.is_empty()) {
        let area = geom::shapes_area(&shape.polygons);
        match colors.iter_mut().find(|c| c.color == shape.color) {
            Some(c) => {
                c.area_mm2 += area;
                c.visible_area_mm2 += visible;
                c.shapes += 1;
            }
            None => colors.push(ColorUse {
                color: shape.color.clone(),
                area_mm2: area,
                visible_area_mm2: visible,
                shapes: 1,
            }),
        }
    }
    let mut ids: Vec<String> = Vec::new();
    let mut layers: Vec<String> = Vec::new();
    for shape in &artwork.shapes {
        if !shape.id.is_empty() && !ids.contains(&shape.id) {
            ids.push(shape.id.clone());
        }
        if let Some(layer) = &shape.layer {
            if !layers.contains(layer) {
                layers.push(layer.clone());
            }
        }
    }
    let narrowest_feature =
        narrowest(&visible_regions).map_err(|source| Error::Geometry { at: "the narrowest feature".into(), source })?;
    Ok(Inspection {
        size_mm: artwork.size_mm,
        shapes: artwork.shapes.len(),
        // `+ 0.0`: an empty area is 0, not -0.
        painted_area_mm2: geom::shapes_area(&covered) + 0.0,
        colors,
        lines,
        ids,
        layers,
        texts: artwork.texts.clone(),
        narrowest_feature,
        warnings: artwork.warnings.clone(),
    })
}

/// Slivers smaller than this (mm2) are boolean noise along coincident edges, not features.
const SLIVER_MM2: f64 = 0.001;

/// The narrowest feature's half width is found within this, in mm: its width to 1 um.
const NARROWEST_PRECISION_MM: f64 = 0.000_5;

/// The search for a region's inscribed circle measures at most this many edge distances
/// (about 50 ms) before the erosions take over.
const NARROWEST_EDGE_PROBES: usize = 20_000_000;

/// The region with the smallest inscribed circle, and where.
///
/// Per region: [`geom::inscribed_circle`] first, within the budget; where that leaves the
/// radius open (a long stroke of even width), bisection between its bounds of the inward
/// offset at which the region vanishes. The region is simplified first by a quarter of the
/// precision: a dense outline (a 50,000-point circle) slows both.
fn narrowest(regions: &Shapes) -> geom::Result<Option<Feature>> {
    let features: Vec<Option<Feature>> = regions
        .par_iter()
        .filter(|region| geom::shapes_area(std::slice::from_ref(region)) > SLIVER_MM2)
        .map(|region| {
            let one = geom::simplify_contours(&vec![region.clone()], NARROWEST_PRECISION_MM / 4.0);
            let Some(shape) = one.first() else { return Ok(None) };
            let edges: usize = shape.iter().map(Vec::len).sum();
            let probes = (NARROWEST_EDGE_PROBES / edges.max(1)).clamp(100, 20_000);
            let Some((mut lo, at_mm, mut hi)) = geom::inscribed_circle(shape, NARROWEST_PRECISION_MM, probes) else {
                return Ok(None);
            };
            while hi - lo > NARROWEST_PRECISION_MM {
                let mid = (lo + hi) / 2.0;
                if geom::offset(&one, -mid)?.is_empty() {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            Ok(Some(Feature { width_mm: 2.0 * lo, at_mm }))
        })
        .collect::<geom::Result<_>>()?;
    // Sequential, in region order: ties resolve the same way whatever the thread count.
    Ok(features.into_iter().flatten().min_by(|a, b| a.width_mm.total_cmp(&b.width_mm)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artwork::{import, ImportOptions};

    #[test]
    fn the_narrowest_feature_of_a_dense_circle_is_measured_quickly() {
        // 50,000 points: the bisection of erosions took 45 s and 2.7 GB.
        let n = 50_000;
        let points: Vec<String> = (0..n)
            .map(|k| {
                let a = std::f64::consts::TAU * f64::from(k) / f64::from(n);
                format!("{:.5} {:.5}", 20.0 + 10.0 * a.cos(), 20.0 + 10.0 * a.sin())
            })
            .collect();
        let svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="40mm" viewBox="0 0 40 40"><path d="M {}Z"/></svg>"#,
            points.join(" L ")
        );
        let art = import(svg.as_bytes(), &ImportOptions::default()).unwrap();
        let feature = inspect(&art).unwrap().narrowest_feature.unwrap();
        assert!((feature.width_mm - 20.0).abs() < 0.002, "{}", feature.width_mm);
        assert!(feature.at_mm[0].hypot(feature.at_mm[1]) < 0.01, "{:?}", feature.at_mm);
    }

    #[test]
    fn colours_visible_areas_and_the_narrowest_feature() {
        let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" width="20mm" height="20mm" viewBox="0 0 20 20">
            <rect id="field" x="0" y="0" width="10" height="10" fill="#ff0000"/>
            <rect id="bar" x="5" y="0" width="10" height="0.4" fill="#0000ff"/></svg>"##;
        let inspection = inspect(&import(svg, &ImportOptions::default()).unwrap()).unwrap();
        assert_eq!(inspection.ids, ["field", "bar"]);
        let red = &inspection.colors[0];
        // 1e-4 mm2: the polygon grid (15 nm) and usvg's f32 coordinates along 5 mm edges.
        assert!((red.area_mm2 - 100.0).abs() < 1e-4 && (red.visible_area_mm2 - 98.0).abs() < 1e-4, "{red:?}");
        assert!((inspection.painted_area_mm2 - 102.0).abs() < 1e-4);
        // The bar, painted over the field, is the narrowest visible part: 0.4 mm.
        let narrow = inspection.narrowest_feature.unwrap();
        assert!((narrow.width_mm - 0.4).abs() < 0.002, "{}", narrow.width_mm);
        assert!((narrow.at_mm[0] - 0.0).abs() < 1e-4 && (narrow.at_mm[1] - 9.8).abs() < 1e-4, "{:?}", narrow.at_mm);
    }
}
