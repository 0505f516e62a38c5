//! Single-line engraving: the strokes and hairlines of an `engrave` layer as grooves cut
//! along their centre lines by the V-bit, each as deep as gives the stroke's width at the die
//! face (width = tip + 2 × depth × tan(half angle)), capped at the layer's depth.

use crate::artwork::{ArtShape, Centreline};
use crate::geom::{self, Polyline, Shapes};
use crate::{Warning, WarningKind};

/// One stroke or hairline engraved along its centre line.
#[derive(Debug, Clone, PartialEq)]
pub struct Groove {
    /// The lines the V-bit's axis follows, in machine mm.
    pub paths: Vec<Polyline>,
    /// Depth below the die face, in mm.
    pub depth_mm: f64,
    /// Width at the die face, in mm: the stroke's, where the layer's depth allows it.
    pub width_mm: f64,
    /// What gave it its depth (`class text`).
    pub source: String,
}

impl Groove {
    /// How deep the groove is at distance `d` mm from its centre line, for a V-bit whose flank
    /// runs `slope` mm out per mm up (positive below the face; 0 outside).
    #[must_use]
    pub fn depth_at(&self, d: f64, slope: f64) -> f64 {
        ((self.width_mm / 2.0 - d) / slope).clamp(0.0, self.depth_mm)
    }

    /// The box `[min_x, min_y, max_x, max_y]` of what it cuts at the face.
    #[must_use]
    pub fn bounds(&self) -> Option<[f64; 4]> {
        let b = geom::bounds(self.paths.iter().map(|p| &p.points))?;
        let r = self.width_mm / 2.0;
        Some([b[0] - r, b[1] - r, b[2] + r, b[3] + r])
    }
}

/// The V-bit that engraves: its flank's slope (mm out per mm up) and where the flank, carried
/// down to the tip, is from the axis (mm): the groove is `2 × (tip + depth × slope)` wide.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bit {
    pub slope: f64,
    pub tip_radius_mm: f64,
}

/// The groove of `shape`'s centre line, `cap_mm` deep at most and `least_mm` at least, with
/// a warning where its width cannot be had; `None` for a shape with no centre line.
pub(super) fn groove(
    shape: &ArtShape,
    cap_mm: f64,
    least_mm: f64,
    bit: Bit,
    source: String,
) -> Option<(Groove, Option<Warning>)> {
    let Centreline { width_mm, paths } = shape.centreline.clone()?;
    let width_at = |depth: f64| 2.0 * (bit.tip_radius_mm + depth * bit.slope);
    let wanted = (width_mm / 2.0 - bit.tip_radius_mm) / bit.slope;
    let least = least_mm.min(cap_mm);
    let (depth_mm, warning) = if width_mm <= 0.0 {
        (cap_mm, None)
    } else if wanted > cap_mm + 1e-9 {
        let reason = format!(
            "stroke {width_mm:.3} mm wide: engraved {:.3} mm wide, as deep as its layer goes ({cap_mm} mm)",
            width_at(cap_mm)
        );
        (cap_mm, Some(reason))
    } else if wanted < least - 1e-9 {
        let reason = format!(
            "stroke {width_mm:.3} mm wide, narrower than the V-bit cuts: engraved {:.3} mm wide, {least} mm deep",
            width_at(least)
        );
        (least, Some(reason))
    } else {
        (wanted, None)
    };
    let warning = warning.map(|reason| Warning::new(WarningKind::Approximated, &shape.id, &reason));
    Some((Groove { paths, depth_mm, width_mm: width_at(depth_mm), source }, warning))
}

/// `groove` without what the shapes painted over it hide (`cover`, in the groove's own
/// coordinates): its lines end where the groove's edge would reach under the cover.
pub(super) fn uncovered(mut groove: Groove, cover: &Shapes) -> geom::Result<Groove> {
    if cover.is_empty() {
        return Ok(groove);
    }
    let grown = geom::offset(cover, groove.width_mm / 2.0)?;
    groove.paths = crate::artwork::clip_lines(std::mem::take(&mut groove.paths), &grown, false);
    Ok(groove)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stroke(width_mm: f64) -> ArtShape {
        ArtShape {
            id: "line".into(),
            classes: Vec::new(),
            ancestors: Vec::new(),
            layer: None,
            color: "#000000".into(),
            polygons: Vec::new(),
            centreline: Some(Centreline {
                width_mm,
                paths: vec![Polyline { points: vec![[0.0, 0.0], [10.0, 0.0]], closed: false }],
            }),
        }
    }

    #[test]
    fn the_depth_gives_the_strokes_width_and_is_capped_with_a_warning() {
        // A 90 degree bit with a 0.1 mm flat: 0.5 mm wide is 0.2 mm deep.
        let bit = Bit { slope: 1.0, tip_radius_mm: 0.05 };
        let (g, w) = groove(&stroke(0.5), 0.3, 0.01, bit, "class a".into()).unwrap();
        assert!((g.depth_mm - 0.2).abs() < 1e-12 && (g.width_mm - 0.5).abs() < 1e-12 && w.is_none());
        let (g, w) = groove(&stroke(1.0), 0.3, 0.01, bit, "class a".into()).unwrap();
        assert!((g.depth_mm - 0.3).abs() < 1e-12 && (g.width_mm - 0.7).abs() < 1e-12);
        assert!(w.unwrap().message.contains("engraved 0.700 mm wide, as deep as its layer goes (0.3 mm)"));
        let (g, w) = groove(&stroke(0.05), 0.3, 0.01, bit, "class a".into()).unwrap();
        assert!((g.depth_mm - 0.01).abs() < 1e-12 && w.unwrap().message.contains("narrower than the V-bit"));
        // A hairline: the layer's depth.
        let (g, w) = groove(&stroke(0.0), 0.3, 0.01, bit, "class a".into()).unwrap();
        assert!((g.depth_mm - 0.3).abs() < 1e-12 && w.is_none());
        assert!((g.depth_at(0.0, 1.0) - 0.3).abs() < 1e-12 && (g.depth_at(0.3, 1.0) - 0.05).abs() < 1e-12);
        assert_eq!(g.depth_at(0.5, 1.0), 0.0);
    }

    #[test]
    fn a_cover_hides_the_line_as_far_as_the_groove_would_reach_under_it() {
        let bit = Bit { slope: 1.0, tip_radius_mm: 0.0 };
        let (g, _) = groove(&stroke(0.4), 0.3, 0.01, bit, "class a".into()).unwrap();
        let cover: Shapes = vec![vec![vec![[5.0, -1.0], [11.0, -1.0], [11.0, 1.0], [5.0, 1.0]]]];
        let g = uncovered(g, &cover).unwrap();
        assert_eq!(g.paths.len(), 1);
        let end = g.paths[0].points[g.paths[0].points.len() - 1];
        assert!((end[0] - 4.8).abs() < 1e-3 && g.paths[0].points[0] == [0.0, 0.0], "{:?}", g.paths);
    }
}
