//! Stage 2: [`Artwork`] to [`Relief`], the depth levels of the die in machine coordinates.
//!
//! Guarantees of the output: coordinates are machine X/Y in mm with the die centre at the
//! origin; for a die the artwork is mirrored in X (the die is the negative of the medal, so
//! its design reads backwards). Levels are sorted from shallow to deep and nested: each
//! level's `area` is everything that must be cut to at least its depth, as disjoint valid
//! polygons, so a deeper level's area lies inside every shallower one.

use kurbo::Affine;

use crate::artwork::Artwork;
use crate::error::{Error, Result};
use crate::geom::{self, Shapes};

/// What is being cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// A striking die: the mirrored negative of the medal.
    #[default]
    Die,
}

impl Target {
    /// The name used in job files and reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Target::Die => "die",
        }
    }

    /// Whether the artwork is mirrored on this target.
    #[must_use]
    pub fn mirrored(self) -> bool {
        match self {
            Target::Die => true,
        }
    }
}

/// How to turn artwork into depth levels.
#[derive(Debug, Clone)]
pub struct ReliefOptions {
    /// What is being cut.
    pub target: Target,
    /// Depth below the die face for every filled shape, in mm (positive number).
    pub depth_mm: f64,
}

impl Default for ReliefOptions {
    fn default() -> Self {
        Self { target: Target::Die, depth_mm: 0.3 }
    }
}

/// The die as depth levels.
#[derive(Debug, Clone)]
pub struct Relief {
    /// What is being cut.
    pub target: Target,
    /// Maps the SVG's viewBox units to machine X/Y in mm, mirroring included.
    pub placement: Affine,
    /// Levels, shallow to deep.
    pub levels: Vec<Level>,
}

/// Everything that must be cut to at least one depth.
#[derive(Debug, Clone)]
pub struct Level {
    /// Depth below the die face in mm (positive).
    pub depth_mm: f64,
    /// The area to cut, as disjoint polygons in machine mm.
    pub area: Shapes,
}

/// Builds the die's depth levels from the artwork.
///
/// # Errors
///
/// [`Error::Setting`] when the depth is not a positive finite number, and
/// [`Error::NothingToEngrave`] when the artwork's shapes cover no area.
pub fn build(artwork: &Artwork, options: &ReliefOptions) -> Result<Relief> {
    if !(options.depth_mm.is_finite() && options.depth_mm > 0.0) {
        return Err(Error::Setting { key: "depth".into(), reason: "must be a positive number of mm".into() });
    }
    let all: Shapes = artwork.shapes.iter().flat_map(|s| s.polygons.iter().cloned()).collect();
    let mut area = geom::union(&all);
    let mirror = if options.target.mirrored() { Affine::FLIP_X } else { Affine::IDENTITY };
    if options.target.mirrored() {
        for contour in area.iter_mut().flatten() {
            for p in contour.iter_mut() {
                p[0] = -p[0];
            }
            contour.reverse();
        }
        area = geom::union(&area);
    }
    if area.is_empty() {
        return Err(Error::NothingToEngrave);
    }
    Ok(Relief {
        target: options.target,
        placement: mirror * artwork.placement,
        levels: vec![Level { depth_mm: options.depth_mm, area }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artwork::{import, ImportOptions};

    #[test]
    fn die_is_mirrored_about_the_centre() {
        let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" width="20mm" height="20mm" viewBox="0 0 20 20">
            <rect x="12" y="2" width="4" height="4" fill="#000"/></svg>"##;
        let art = import(svg, &ImportOptions::default()).unwrap();
        let relief = build(&art, &ReliefOptions::default()).unwrap();
        let b = geom::bounds(relief.levels[0].area.iter().flatten()).unwrap();
        // The rect spans x 12..16 of a 20-wide viewBox: 2..6 right of centre; mirrored: -6..-2.
        assert!((b[0] + 6.0).abs() < 1e-6 && (b[2] + 2.0).abs() < 1e-6, "{b:?}");
        // Y up: SVG y 2..6 is 8..4 above the centre.
        assert!((b[1] - 4.0).abs() < 1e-6 && (b[3] - 8.0).abs() < 1e-6, "{b:?}");
        let p = relief.placement * kurbo::Point::new(12.0, 2.0);
        assert!((p.x + 2.0).abs() < 1e-5 && (p.y - 8.0).abs() < 1e-5, "{p:?}");
        assert!(geom::shapes_area(&relief.levels[0].area) > 0.0, "outer contours stay counter-clockwise");
    }
}
