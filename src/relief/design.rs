//! The design-for-manufacture check: parts of a level narrower than the smallest tool, and
//! walls of stock between pockets thinner than the job allows.

use rayon::prelude::*;

use super::Relief;
use crate::error::{Error, Result};
use crate::geom::{self, Shapes};
use crate::{Warning, WarningKind};

/// One finding of the design-for-manufacture check.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// [`WarningKind::Narrow`] or [`WarningKind::ThinWall`].
    pub kind: WarningKind,
    /// Depth of the level it is found on, in mm.
    pub depth_mm: f64,
    /// Centre of the finding's bounding box, machine mm.
    pub at_mm: [f64; 2],
    /// Area of the finding in mm2.
    pub area_mm2: f64,
    /// What is wrong, with the sources of the level's depth.
    pub message: String,
}

impl From<Finding> for Warning {
    fn from(finding: Finding) -> Self {
        Warning::new(finding.kind, "", &finding.message)
    }
}

/// Findings smaller than this (mm2) are boolean noise along coincident edges.
pub(super) const FINDING_MIN_MM2: f64 = 1e-4;

/// Simplification of each level's outline before the design check, in mm: findings are
/// reported to 0.01 mm, and offsets cost several times less on the sparser outline.
pub(super) const DESIGN_SIMPLIFY_MM: f64 = 0.005;

/// Sag of the first offset's joins in an opening or a closing, and simplification before the
/// second, in mm: together they move the result by at most twice this, two fifths of
/// [`FINDING_MIN_WIDTH_MM`].
pub(super) const DESIGN_JOIN_SIMPLIFY_MM: f64 = 0.001;

/// Findings thinner on average than this (mm) are the polygon grid, not the design: the
/// opening of a curved outline shaves slivers of about the round-join sag (0.5 um) off it.
pub(super) const FINDING_MIN_WIDTH_MM: f64 = 0.005;

/// Findings of two levels whose centres are this close, in mm, and whose areas
/// [`SAME_FINDING_MM2`], are one piece of a deep region found again on a shallower level.
const SAME_FINDING_MM: f64 = 1e-3;

/// See [`SAME_FINDING_MM`], in mm2.
const SAME_FINDING_MM2: f64 = 1e-4;

/// The design-for-manufacture check: on every level, the parts a tool of `tool_diameter_mm`
/// cannot reach (narrower than the tool), and the walls of uncut or shallower stock between
/// the level's pockets that are thinner than `min_wall_mm`.
///
/// # Errors
///
/// [`Error::Geometry`] naming the level whose offsets the polygon engine cannot compute.
pub fn check_design(relief: &Relief, tool_diameter_mm: f64, min_wall_mm: f64) -> Result<Vec<Finding>> {
    let pieces = narrow_and_thin(relief, tool_diameter_mm, min_wall_mm)?;
    let mut findings = Vec::new();
    for (level, (narrow, thin)) in relief.levels.iter().zip(pieces) {
        let sources: Vec<String> = relief
            .regions
            .iter()
            .filter(|region| region.depth_mm >= level.depth_mm)
            .flat_map(|region| region.sources.iter().cloned())
            .fold(Vec::new(), |mut all, s| {
                if !all.contains(&s) {
                    all.push(s);
                }
                all
            });
        let d = tool_diameter_mm;
        let kinds = [
            // A round tool always leaves its radius in an inside corner: only a piece longer
            // than the tool or larger than a tool-radius square is a feature it cannot cut.
            (
                WarningKind::Narrow,
                narrow,
                format!("narrower than the {d:.3} mm tool: stays uncut"),
                d,
                (d / 2.0).powi(2),
            ),
            // A wall is long; the tip of a sharp stock corner is not a wall.
            (
                WarningKind::ThinWall,
                thin,
                format!("wall thinner than {min_wall_mm} mm between pockets"),
                2.0 * min_wall_mm,
                f64::INFINITY,
            ),
        ];
        for (kind, pieces, what, min_length, min_area) in kinds {
            for piece in pieces {
                let area = geom::shapes_area(std::slice::from_ref(&piece));
                let perimeter: f64 = piece
                    .iter()
                    .map(|c| (0..c.len()).map(|i| geom::distance(c[i], c[(i + 1) % c.len()])).sum::<f64>())
                    .sum();
                let b = geom::bounds(piece.iter()).unwrap_or_default();
                let length = (b[2] - b[0]).max(b[3] - b[1]);
                let mean_width = if perimeter > 0.0 { 2.0 * area / perimeter } else { 0.0 };
                if area < FINDING_MIN_MM2
                    || mean_width < FINDING_MIN_WIDTH_MM
                    || (length <= min_length && area <= min_area)
                {
                    continue;
                }
                let at_mm = [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0];
                // A piece of a deep region is found again on every shallower level: keep one.
                findings.retain(|f: &Finding| {
                    !((f.at_mm[0] - at_mm[0]).abs() < SAME_FINDING_MM
                        && (f.at_mm[1] - at_mm[1]).abs() < SAME_FINDING_MM
                        && (f.area_mm2 - area).abs() < SAME_FINDING_MM2)
                });
                findings.push(Finding {
                    kind,
                    depth_mm: level.depth_mm,
                    at_mm,
                    area_mm2: area,
                    message: format!(
                        "level {} mm ({}): {:.4} mm2 at X{:.3} Y{:.3}, {:.3} x {:.3} mm, {what}",
                        level.depth_mm,
                        sources.join(", "),
                        area,
                        at_mm[0],
                        at_mm[1],
                        b[2] - b[0],
                        b[3] - b[1]
                    ),
                });
            }
        }
    }
    Ok(findings)
}

/// Per level, the parts narrower than a tool of `tool_diameter_mm` and the stock between
/// pockets thinner than `min_wall_mm` (but at the blank's border).
fn narrow_and_thin(relief: &Relief, tool_diameter_mm: f64, min_wall_mm: f64) -> Result<Vec<(Shapes, Shapes)>> {
    let r = tool_diameter_mm / 2.0;
    // Thin stock touching the blank's edge is the blank's border, not a wall.
    let border = geom::offset(&relief.blank, -min_wall_mm)
        .and_then(|inside| geom::difference(&relief.blank, &inside))
        .map_err(|source| Error::Geometry { at: "the blank's border".into(), source })?;
    // Regions further apart than a wall can be thin are checked apart: every (level,
    // cluster) is independent, computed in parallel and reported in order.
    let units: Vec<(usize, Shapes)> = relief
        .levels
        .iter()
        .enumerate()
        .flat_map(|(k, level)| clusters(&level.area, min_wall_mm).into_iter().map(move |c| (k, c)))
        .collect();
    let found: Vec<(usize, Shapes, Shapes)> = units
        .into_par_iter()
        .map(|(k, cluster)| {
            let (narrow, thin) =
                cluster_narrow_and_thin(&cluster, r, min_wall_mm, &border).map_err(|source| Error::Geometry {
                    at: format!("the design check of the level {} mm deep", relief.levels[k].depth_mm),
                    source,
                })?;
            Ok((k, narrow, thin))
        })
        .collect::<Result<_>>()?;
    let mut pieces: Vec<(Shapes, Shapes)> = relief.levels.iter().map(|_| (Vec::new(), Vec::new())).collect();
    for (k, narrow, thin) in found {
        pieces[k].0.extend(narrow);
        pieces[k].1.extend(thin);
    }
    // A V-carved shape's floor is the carve's (its axis and its wall ring reach every part a
    // flat tool cannot), and the band around it is its sloped wall, not stock between pockets.
    let carved: Shapes =
        relief.regions.iter().filter(|r| r.strategy.carves()).flat_map(|r| r.area.iter().cloned()).collect();
    if carved.is_empty() {
        return Ok(pieces);
    }
    pieces
        .into_par_iter()
        .enumerate()
        .map(|(k, (narrow, thin))| {
            let at = |source| Error::Geometry {
                at: format!("the design check of the level {} mm deep", relief.levels[k].depth_mm),
                source,
            };
            let outside = |found: Shapes| {
                if found.is_empty() {
                    Ok(found)
                } else {
                    geom::difference(&found, &carved).map_err(at)
                }
            };
            Ok((outside(narrow)?, outside(thin)?))
        })
        .collect()
}

/// In one cluster of a level: the parts narrower than a tool of radius `r`, and the stock
/// between its pockets thinner than `min_wall_mm` but for the blank's `border`.
fn cluster_narrow_and_thin(
    cluster: &Shapes,
    r: f64,
    min_wall_mm: f64,
    border: &Shapes,
) -> geom::Result<(Shapes, Shapes)> {
    let area = geom::simplify_contours(cluster, DESIGN_SIMPLIFY_MM);
    // Between the two offsets of an opening or a closing, the joins of the first
    // collapse in the second, each vertex overlapping all the others: made coarse
    // (sagging by as much as the simplification) and simplified first, by far less
    // than the findings' least width. Coarse joins cut the closing's time by 3.5.
    let twice = |d: f64| {
        let once = geom::offset_with_sag(&area, d, DESIGN_JOIN_SIMPLIFY_MM)?;
        geom::offset(&geom::simplify_contours(&once, DESIGN_JOIN_SIMPLIFY_MM), -d)
    };
    let narrow = geom::difference(&area, &twice(-r)?)?;
    // Stock narrower than the wall threshold is what closing the pockets by it fills.
    let closing = twice(min_wall_mm / 2.0)?;
    let thin = geom::difference(&geom::difference(&closing, &area)?, border)?;
    Ok((narrow, thin))
}

/// The shapes of `area` grouped so that shapes closer than `gap` mm (by bounding box) are in
/// one group, in the order of their first shape.
fn clusters(area: &Shapes, gap: f64) -> Vec<Shapes> {
    let boxes: Vec<[f64; 4]> = area.iter().map(|s| geom::bounds(s.iter()).unwrap_or_default()).collect();
    let mut parent: Vec<usize> = (0..area.len()).collect();
    pub(super) fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    // Sweep by min x: only boxes whose x ranges come within `gap` can touch.
    let mut order: Vec<usize> = (0..area.len()).collect();
    order.sort_by(|&a, &b| boxes[a][0].total_cmp(&boxes[b][0]));
    for (n, &i) in order.iter().enumerate() {
        for &j in &order[n + 1..] {
            if boxes[j][0] > boxes[i][2] + gap {
                break;
            }
            let (a, b) = (boxes[i], boxes[j]);
            if a[1] <= b[3] + gap && b[1] <= a[3] + gap {
                let (ri, rj) = (root(&mut parent, i), root(&mut parent, j));
                if ri != rj {
                    parent[ri.max(rj)] = ri.min(rj);
                }
            }
        }
    }
    let mut groups: Vec<Shapes> = Vec::new();
    let mut group_of: Vec<Option<usize>> = vec![None; area.len()];
    for (i, shape) in area.iter().enumerate() {
        let r = root(&mut parent, i);
        let g = *group_of[r].get_or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(shape.clone());
    }
    groups
}
