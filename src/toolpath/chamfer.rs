//! The chamfer along the top edge of the walls, for die release: the V-bit runs around each
//! level's outline where the outline is the top of a wall (inside the level above, or on the
//! die face), as deep as puts its flank `width` mm beyond the wall's top edge, so the edge
//! becomes a bevel at the bit's angle. Where a wall goes on up past the level above, there is
//! no edge to chamfer, and the chamfer stops so that the bit's cone keeps clear of every wall
//! above.

use super::vcarve::MAX_DESCENT;
use super::Path;
use crate::geom::{self, Point};
use crate::relief::Relief;
use crate::tool::Tool;

/// How to chamfer.
#[derive(Debug, Clone, Copy)]
pub struct ChamferOptions {
    /// The bevel's width at the top of the wall, in mm.
    pub width_mm: f64,
    /// The walls' draft from vertical, in radians.
    pub draft: f64,
    /// Where the bit's flank, carried down to its tip, is from its axis, in mm.
    pub tip_radius_mm: f64,
    /// Room kept between the bit's cone and the walls above, in mm.
    pub clearance_mm: f64,
}

/// The paths that chamfer every level's top edges with `tool`, shallow levels first; none
/// where the bit is no steeper than the draft (the wall is already as sloped).
#[must_use]
pub fn chamfers(relief: &Relief, tool: &Tool, options: ChamferOptions) -> Vec<Path> {
    let (tan_a, tan_d) = (tool.half_angle().tan(), options.draft.tan());
    if options.width_mm.is_nan() || options.width_mm <= 0.0 || tan_a <= tan_d + 1e-9 {
        return Vec::new();
    }
    let outlines: Vec<geom::ShapeIndex> =
        relief.levels.iter().map(|l| geom::ShapeIndex::new(l.area.iter().flatten())).collect();
    let mut paths = Vec::new();
    for (k, level) in relief.levels.iter().enumerate() {
        let top = if k == 0 { 0.0 } else { relief.levels[k - 1].depth_mm };
        // Deep enough for the width, never below the wall's foot.
        let drop = (options.width_mm / (tan_a - tan_d)).min(level.depth_mm - top);
        if drop <= 0.0 {
            continue;
        }
        let tip_depth = top + drop;
        let inset = options.tip_radius_mm + drop * tan_d;
        let Ok(centres) = geom::offset(&level.area, -inset) else { continue };
        // The cone clear of every wall above: at the top of each, it is as wide as it gets
        // within that wall's height (the walls lean in at most as steeply as it leans out).
        let clear = |p: Point| {
            (0..k).all(|j| {
                let wall_top = if j == 0 { 0.0 } else { relief.levels[j - 1].depth_mm };
                let reach = options.tip_radius_mm + (tip_depth - wall_top) * tan_a + options.clearance_mm;
                outlines[j].distance(p) >= reach
            })
        };
        for contour in centres.iter().flatten() {
            for chain in kept_chains(contour, &clear) {
                paths.push(cut(&chain, -top, -tip_depth));
            }
        }
    }
    paths
}

/// The parts of the closed `contour`, sampled every [`STEP_MM`], whose points are all `kept`:
/// the whole ring (closed, its first point again at its end) or open chains.
fn kept_chains(contour: &[Point], kept: &impl Fn(Point) -> bool) -> Vec<(Vec<Point>, bool)> {
    let mut points: Vec<Point> = Vec::new();
    for (i, &a) in contour.iter().enumerate() {
        let b = contour[(i + 1) % contour.len()];
        let n = (geom::distance(a, b) / STEP_MM).ceil().max(1.0) as usize;
        let n = n.min(1 << 16);
        points.extend((0..n).map(|s| {
            let t = s as f64 / n as f64;
            [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t]
        }));
    }
    if points.len() < 3 {
        return Vec::new();
    }
    let keep: Vec<bool> = points.iter().map(|&p| kept(p)).collect();
    if keep.iter().all(|&k| k) {
        let mut ring = points.clone();
        ring.push(points[0]);
        return vec![(ring, true)];
    }
    // Start just after a dropped point, so no chain wraps round the start.
    let first = keep.iter().position(|&k| !k).unwrap_or(0);
    let mut chains = Vec::new();
    let mut current: Vec<Point> = Vec::new();
    for s in 1..=points.len() {
        let i = (first + s) % points.len();
        if keep[i] {
            current.push(points[i]);
        } else if !current.is_empty() {
            chains.push((std::mem::take(&mut current), false));
        }
    }
    if !current.is_empty() {
        chains.push((current, false));
    }
    chains.retain(|(c, _)| c.len() >= 2);
    chains
}

/// Chamfers are followed in steps of at most this, in mm: where a chain stops is known to it.
const STEP_MM: f64 = 0.02;

/// The path along `chain` from `top` down to `bottom` (negative Z): ramped in from the top as
/// steeply as [`MAX_DESCENT`] allows; a ring then goes on round to where it reached the
/// bottom, an open chain goes back over its ramp at the bottom and on to its end.
fn cut(chain: &(Vec<Point>, bool), top: f64, bottom: f64) -> Path {
    let (points, closed) = chain;
    let mut out: Vec<[f64; 3]> = vec![[points[0][0], points[0][1], top]];
    let mut z = top;
    let mut reached = None;
    for (i, w) in points.windows(2).enumerate() {
        z = (z - MAX_DESCENT * geom::distance(w[0], w[1])).max(bottom);
        out.push([w[1][0], w[1][1], z]);
        if z <= bottom {
            reached = Some(i + 1);
            break;
        }
    }
    let reached = reached.unwrap_or(points.len() - 1);
    if *closed {
        // On round to the end, then the ramp again at the bottom.
        out.extend(points[reached + 1..].iter().map(|p| [p[0], p[1], bottom]));
        out.extend(points[1..=reached].iter().map(|p| [p[0], p[1], bottom]));
    } else {
        out.extend(points[..reached].iter().rev().map(|p| [p[0], p[1], bottom]));
        out.extend(points[1..].iter().map(|p| [p[0], p[1], bottom]));
    }
    Path { retract: true, points: out }
}

#[cfg(test)]
mod tests {
    use super::super::tests::relief;
    use super::*;
    use crate::geom::Shapes;
    use crate::tool::ToolKind;

    fn square(c: f64) -> Shapes {
        vec![vec![vec![[-c, -c], [c, -c], [c, c], [-c, c]]]]
    }

    fn vee90() -> Tool {
        Tool {
            kind: ToolKind::Vee,
            diameter_mm: 3.0,
            tip_diameter_mm: 0.0,
            included_angle_deg: 90.0,
            ..Tool::flat(9, 3.0)
        }
    }

    /// The length of `paths` in XY.
    fn outline_length(paths: &[Path]) -> f64 {
        let steps = paths.iter().flat_map(|p| p.points.windows(2));
        steps.map(|w| geom::distance([w[0][0], w[0][1]], [w[1][0], w[1][1]])).sum()
    }

    #[test]
    fn a_square_pocket_gets_one_ring_at_the_depth_of_the_width_and_a_wall_going_on_up_none() {
        let options = ChamferOptions { width_mm: 0.1, draft: 0.0, tip_radius_mm: 0.0, clearance_mm: 0.01 };
        // One level 0.5 deep: a ring 0.1 deep on the outline, ramped in, once round after.
        let paths = chamfers(&relief(vec![(0.5, square(5.0))]), &vee90(), options);
        assert_eq!(paths.len(), 1);
        let lowest = paths[0].points.iter().map(|p| p[2]).fold(0.0, f64::min);
        assert!((lowest + 0.1).abs() < 1e-12 && paths[0].points[0][2] == 0.0);
        assert!((outline_length(&paths) - (40.0 + 0.125)).abs() < 0.05, "{}", outline_length(&paths));
        // A deeper level on the same outline: its wall goes on up, no edge; a smaller one
        // inside: its edge is chamfered 0.1 below the first level's floor.
        let paths = chamfers(&relief(vec![(0.2, square(5.0)), (0.4, square(5.0))]), &vee90(), options);
        assert_eq!(paths.len(), 1, "only the first level's edge");
        let paths = chamfers(&relief(vec![(0.2, square(5.0)), (0.4, square(2.0))]), &vee90(), options);
        assert_eq!(paths.len(), 2);
        let lowest = paths[1].points.iter().map(|p| p[2]).fold(0.0, f64::min);
        assert!((lowest + 0.3).abs() < 1e-12 && (paths[1].points[0][2] + 0.2).abs() < 1e-12);
        // A bit no steeper than the draft: nothing.
        let drafted = ChamferOptions { draft: 45f64.to_radians(), ..options };
        assert!(chamfers(&relief(vec![(0.5, square(5.0))]), &vee90(), drafted).is_empty());
    }
}
