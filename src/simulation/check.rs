//! A simulated die against the relief the job asked for: where it is cut too deep, where
//! stock is left, and whether a tool of the job could have reached what is left.

use rayon::prelude::*;
use serde::Serialize;

use super::picture::Mark;
use super::Heightmap;
use crate::error::{Error, Result};
use crate::geom;
use crate::relief::{Relief, Strategy};

/// What the die leaves of the relief asked for.
#[derive(Debug, Clone, Serialize)]
pub struct ReliefCheck {
    /// Area cut deeper than asked by more than the tolerance, mm².
    pub overcut_mm2: f64,
    /// The deepest cut below what was asked, mm (0 where nothing is).
    pub worst_overcut_mm: f64,
    /// Where that is, `[x, y]` in mm.
    pub worst_overcut_at: Option<[f64; 2]>,
    /// Area of floors left above their depth by more than the tolerance where a tool of the
    /// job fits, mm².
    pub uncut_reachable_mm2: f64,
    /// Area of floors left above their depth where no tool of the job fits, mm².
    pub uncut_unreachable_mm2: f64,
    /// The most stock left on a floor a tool fits, mm.
    pub worst_uncut_mm: f64,
    /// Where that is, `[x, y]` in mm.
    pub worst_uncut_at: Option<[f64; 2]>,
    /// One mark per cell of the die, laid out like [`Heightmap::z`]: for [`super::picture::marked_png`].
    #[serde(skip)]
    pub marks: Vec<Mark>,
}

/// Compares `hm` with `relief`: each cell's depth is the deepest level whose floor holds it.
/// A level's walls lean in by `draft_deg`, so the band they can take, and a
/// cell and a half either side of every outline, are not checked. A floor cell left above its
/// depth is reachable where a cutter of radius `reach_mm` (the smallest tool's tip) fits in
/// the floor around it.
///
/// # Errors
///
/// [`Error::Geometry`] where an offset of a level cannot be computed.
pub fn check_relief(
    hm: &Heightmap,
    relief: &Relief,
    draft_deg: f64,
    reach_mm: f64,
    tolerance_mm: f64,
) -> Result<ReliefCheck> {
    let cells = hm.z.len();
    // The depth asked per cell (NaN: not checked) and whether a tool fits there.
    let mut target = vec![0.0f64; cells];
    let mut reachable = vec![true; cells];
    let margin = 1.5 * hm.cell_mm;
    let lean = draft_deg.to_radians().tan();
    let outside = |e, what: &str| Error::Geometry { at: what.to_string(), source: e };
    for level in &relief.levels {
        let at = format!("the check of level {:.3} mm", level.depth_mm);
        // Leaning from the face: where the level meets a shallower one the band is wider
        // than the wall, never narrower.
        let floor = geom::offset(&level.area, -(level.depth_mm * lean + margin)).map_err(|e| outside(e, &at))?;
        let band = geom::offset(&level.area, margin).map_err(|e| outside(e, &at))?;
        let fits = geom::offset(&geom::offset(&floor, -reach_mm).map_err(|e| outside(e, &at))?, reach_mm)
            .map_err(|e| outside(e, &at))?;
        let (in_floor, in_band, in_reach) = (hm.coverage(&floor), hm.coverage(&band), hm.coverage(&fits));
        let depth = -level.depth_mm;
        target.par_iter_mut().zip(reachable.par_iter_mut()).enumerate().for_each(|(k, (t, r))| {
            if in_floor[k] {
                *t = depth;
                *r = in_reach[k];
            } else if in_band[k] {
                *t = f64::NAN;
            }
        });
    }
    // A V-carved region is asked as deep as its wall's slope from the outline allows, down
    // to its depth; its floor is one of the levels'. Within a cell and a half of the outline,
    // not checked. Stock left on the slope counts where the wall stands off by more than the
    // tolerance across (the slope's depth is that many times deeper), and more than the
    // bit's tip leaves in the bottom of a V: its flat, across, is that much short of the point.
    let mut left_within = vec![tolerance_mm; cells];
    for region in relief.regions.iter().filter(|r| r.strategy == Strategy::VCarve && relief.vcarve_slope > 0.0) {
        let inside = hm.coverage(&region.area);
        // A cell and a half outside the outline: the edge, where the wall starts, not checked
        // (a cell on the outline may lie in neither neighbour).
        let grown = geom::offset(&region.area, margin).map_err(|e| outside(e, "the check of a V-carved region"))?;
        let edge = hm.coverage(&grown);
        let (depth, slope) = (region.depth_mm, relief.vcarve_slope);
        // Each outline with its box and the depth around it (where its wall starts): a cell
        // looks only at the outlines whose box holds it, and the nearest is its own shape's.
        let outlines: Vec<(geom::ShapeIndex, [f64; 4], f64)> = region
            .area
            .iter()
            .zip(&region.surround_mm)
            .filter_map(|(shape, &around)| Some((geom::ShapeIndex::new(shape), geom::bounds(shape.iter())?, around)))
            .collect();
        let cells = target.par_iter_mut().zip(reachable.par_iter_mut()).zip(left_within.par_iter_mut());
        cells.enumerate().for_each(|(k, ((t, r), within))| {
            if !inside[k] {
                if edge[k] {
                    *t = f64::NAN;
                }
                return;
            }
            let p = hm.cell_center(k % hm.nx, k / hm.nx);
            let (wall, around) = outlines
                .iter()
                .filter(|(_, b, _)| p[0] >= b[0] && p[0] <= b[2] && p[1] >= b[1] && p[1] <= b[3])
                .map(|(o, _, around)| (o.distance(p), *around))
                .fold((f64::INFINITY, 0.0), |best, next| if next.0 < best.0 { next } else { best });
            if wall < margin {
                *t = f64::NAN;
            } else if wall < (depth - around) * slope {
                *t = -(around + wall / slope);
                *r = false;
                *within = (tolerance_mm + relief.vcarve_tip_radius_mm) / slope;
            }
        });
    }
    // A chamfer: around each level, on the floor of the level above (or the face) within the
    // chamfer's width, as deep as the bevel at the bit's angle; where the chamfer stops short
    // of a wall that goes on up, the floor as it was, so the bevel's depth is tolerated.
    if relief.chamfer_mm > 0.0 && relief.vcarve_slope > 0.0 {
        let (w, slope) = (relief.chamfer_mm, relief.vcarve_slope);
        // The level above's cells, the last level's `inside` (none above the first: the face).
        let mut above: Option<Vec<bool>> = None;
        for (k, level) in relief.levels.iter().enumerate() {
            let at = format!("the check of the chamfer of level {:.3} mm", level.depth_mm);
            let top = if k == 0 { 0.0 } else { relief.levels[k - 1].depth_mm };
            let grown = geom::offset(&level.area, w).map_err(|e| outside(e, &at))?;
            let (near, inside) = (hm.coverage(&grown), hm.coverage(&level.area));
            let outline = geom::ShapeIndex::new(level.area.iter().flatten());
            let cells = target.par_iter_mut().zip(reachable.par_iter_mut()).zip(left_within.par_iter_mut());
            cells.enumerate().for_each(|(c, ((t, r), within))| {
                if !near[c] || inside[c] || above.as_ref().is_some_and(|a| !a[c]) {
                    return;
                }
                let d = outline.distance(hm.cell_center(c % hm.nx, c / hm.nx));
                let bevel = -(top + (w - d).max(0.0) / slope);
                if bevel < *t {
                    *t = bevel;
                    *r = false;
                    *within = tolerance_mm + (w - d).max(0.0) / slope;
                }
            });
            above = Some(inside);
        }
    }
    // An engraved groove is asked as deep as the bit's flank from its edge allows, down to its
    // depth, below whatever the levels ask there; its edge, a cell and a half either side, is
    // not checked. On its floor the engraving reaches; on its flanks, as on a V-carved wall.
    if relief.vcarve_slope > 0.0 {
        for (k, asked) in grooves(hm, relief, margin).into_iter().enumerate() {
            match asked {
                Asked::Edge if target[k] >= 0.0 => target[k] = f64::NAN,
                Asked::Depth { depth, floor } if -depth < target[k] => {
                    target[k] = -depth;
                    reachable[k] = floor;
                    if !floor {
                        left_within[k] = tolerance_mm / relief.vcarve_slope;
                    }
                }
                _ => {}
            }
        }
    }
    let cell_area = hm.cell_mm * hm.cell_mm;
    let mut check = ReliefCheck {
        overcut_mm2: 0.0,
        worst_overcut_mm: 0.0,
        worst_overcut_at: None,
        uncut_reachable_mm2: 0.0,
        uncut_unreachable_mm2: 0.0,
        worst_uncut_mm: 0.0,
        worst_uncut_at: None,
        marks: vec![Mark::None; cells],
    };
    for (k, (&z, &goal)) in hm.z.iter().zip(&target).enumerate() {
        if goal.is_nan() {
            continue;
        }
        let at = || Some(hm.cell_center(k % hm.nx, k / hm.nx));
        let (over, left) = (goal - z, z - goal);
        if over > tolerance_mm {
            check.overcut_mm2 += cell_area;
            check.marks[k] = Mark::Deeper;
        }
        if over > check.worst_overcut_mm {
            (check.worst_overcut_mm, check.worst_overcut_at) = (over, at());
        }
        // Stock left on the face is not stock: only floors below it count.
        if left > left_within[k] && goal < 0.0 {
            if reachable[k] {
                check.uncut_reachable_mm2 += cell_area;
                check.marks[k] = Mark::Shallower;
                if left > check.worst_uncut_mm {
                    (check.worst_uncut_mm, check.worst_uncut_at) = (left, at());
                }
            } else {
                check.uncut_unreachable_mm2 += cell_area;
                check.marks[k] = Mark::Unreachable;
            }
        }
    }
    Ok(check)
}

/// What the grooves ask of a cell.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Asked {
    /// Nothing: no groove comes near.
    Nothing,
    /// Within `margin` of a groove's edge: not checked.
    Edge,
    /// This deep (positive), on a groove's floor or on its flank.
    Depth { depth: f64, floor: bool },
}

/// What the relief's grooves ask of each cell of `hm`: each segment of each groove stamps the
/// cells of its capsule (segments cut into pieces of at most a millimetre, so the boxes stay
/// tight), the deepest ask winning.
fn grooves(hm: &Heightmap, relief: &Relief, margin: f64) -> Vec<Asked> {
    let mut asked = vec![Asked::Nothing; hm.z.len()];
    let slope = relief.vcarve_slope;
    for groove in &relief.grooves {
        let half = groove.width_mm / 2.0;
        let reach = half + margin;
        for (a, b) in groove.paths.iter().flat_map(geom::Polyline::segments) {
            let pieces = (geom::distance(a, b) / 1.0).ceil().max(1.0) as usize;
            for piece in 0..pieces {
                let at = |t: f64| [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
                let (p, q) = (at(piece as f64 / pieces as f64), at((piece + 1) as f64 / pieces as f64));
                let cell = |v: f64, o: f64| ((v - o) / hm.cell_mm).floor();
                let x0 = cell(p[0].min(q[0]) - reach, hm.origin[0]).max(0.0) as usize;
                let y0 = cell(p[1].min(q[1]) - reach, hm.origin[1]).max(0.0) as usize;
                let x1 = (cell(p[0].max(q[0]) + reach, hm.origin[0]) + 1.0).max(0.0) as usize;
                let y1 = (cell(p[1].max(q[1]) + reach, hm.origin[1]) + 1.0).max(0.0) as usize;
                for iy in y0..y1.min(hm.ny) {
                    for ix in x0..x1.min(hm.nx) {
                        let d = geom::segment_distance(hm.cell_center(ix, iy), p, q);
                        let k = iy * hm.nx + ix;
                        let here = if (d - half).abs() < margin {
                            Asked::Edge
                        } else if d < half {
                            let depth = groove.depth_at(d, slope);
                            Asked::Depth { depth, floor: depth >= groove.depth_mm - 1e-9 }
                        } else {
                            continue;
                        };
                        asked[k] = match (asked[k], here) {
                            (Asked::Depth { depth: old, .. }, Asked::Depth { depth, .. }) if old >= depth => asked[k],
                            (Asked::Depth { .. }, Asked::Edge) => asked[k],
                            _ => here,
                        };
                    }
                }
            }
        }
    }
    asked
}

/// The artwork's colour of each cell of `hm`, for an enamel picture
/// ([`super::picture::medal_png`]): the colour that gave the cell's region its depth (a
/// `fill #rrggbb` rule, or the colours luminance set to that depth), none on the uncut face
/// and where a region has no colour.
#[must_use]
pub fn enamel(hm: &Heightmap, relief: &Relief) -> Vec<Option<[u8; 3]>> {
    let parse = |text: &str| {
        let hex = &text[text.find('#')? + 1..];
        let hex = hex.get(..6)?;
        let v = u32::from_str_radix(hex, 16).ok()?;
        Some([(v >> 16) as u8, (v >> 8) as u8, v as u8])
    };
    let mut colors = vec![None; hm.z.len()];
    for region in &relief.regions {
        let color = region.sources.iter().find_map(|s| parse(s)).or_else(|| {
            relief.shades.iter().find(|s| (s.depth_mm - region.depth_mm).abs() < 1e-9).and_then(|s| parse(&s.color))
        });
        let Some(color) = color else { continue };
        let inside = hm.coverage(&region.area);
        colors.par_iter_mut().zip(inside).for_each(|(c, inside)| {
            if inside {
                *c = Some(color);
            }
        });
    }
    colors
}
