//! Strokes as areas: kurbo outlines them; SVG 2's `miter-clip` join, which kurbo does not have,
//! is added here.
//!
//! A `miter` join longer than the miter limit is bevelled. A `miter-clip` join is not: its
//! miter is cut by a line across the bisector of the join, half the limit times the stroke
//! width from the joint. So a `miter-clip` stroke is outlined with `miter` joins, and each join
//! past the limit gets the piece between its bevel and that line.

use i_overlay::core::fill_rule::FillRule;
use kurbo::{Affine, BezPath, ParamCurve as _, PathEl, PathSeg, Point, Vec2};

use super::importer::{flatten, thin_out, transform_scale};
use crate::geom::{self, Contour, Shapes};

/// The area of a stroke, in mm: the outline of `local` with `style` (in the path's own
/// coordinates, where the width is defined), mapped by `transform`. With `clip_miters`, the
/// joins past the miter limit are `miter-clip` joins.
pub(super) fn area(
    local: &BezPath,
    style: &kurbo::Stroke,
    clip_miters: bool,
    transform: Affine,
    tol: f64,
) -> geom::Result<Shapes> {
    let outline = geom::simplify(&thin_out(outline(local, style, transform, tol)), FillRule::NonZero)?;
    if !clip_miters {
        return Ok(outline);
    }
    let pieces: Vec<Contour> = if style.dash_pattern.is_empty() {
        clipped_miters(local.iter(), style)
    } else {
        clipped_miters(kurbo::dash(local.iter(), style.dash_offset, &style.dash_pattern), style)
    }
    .into_iter()
    .map(|piece| piece.into_iter().map(|p| to_array(transform * p)).collect())
    .collect();
    if pieces.is_empty() {
        return Ok(outline);
    }
    let mut all = outline;
    all.extend(geom::simplify(&pieces, FillRule::NonZero)?);
    geom::union(&all)
}

/// A transform scaling by less than this is taken as scaling by this, so the local tolerance
/// stays finite (the outline of such a stroke is far below any tolerance anyway).
const LEAST_SCALE: f64 = 1e-12;

/// Control-point differences shorter than this, in the path's units, give no direction: a
/// segment's tangent is taken from the next control point instead.
const LEAST_TANGENT: f64 = 1e-12;

/// Outlines a stroke in the path's own coordinates, then maps and flattens the outline. The
/// local tolerance is the mm tolerance divided by the transform's largest scale, so the
/// mapped outline stays within tolerance.
fn outline(local: &BezPath, style: &kurbo::Stroke, transform: Affine, tolerance_mm: f64) -> Vec<Contour> {
    let max_scale = transform_scale(transform).max(LEAST_SCALE);
    let local_tolerance = tolerance_mm / max_scale / 2.0;
    let outline = kurbo::stroke(local.iter(), style, &kurbo::StrokeOpts::default(), local_tolerance);
    flatten(&(transform * outline), tolerance_mm / 2.0)
}

fn to_array(p: Point) -> [f64; 2] {
    [p.x, p.y]
}

/// For every join of `path` whose miter is longer than the limit: the polygon between the
/// bevel kurbo draws there and the clip line of a `miter-clip` join (the joint, the two bevel
/// corners and the two points where the clip line meets the outer edges).
fn clipped_miters(path: impl Iterator<Item = PathEl>, style: &kurbo::Stroke) -> Vec<Vec<Point>> {
    let half = style.width / 2.0;
    let limit = style.miter_limit;
    let mut pieces = Vec::new();
    let mut join = |at: Point, t0: Vec2, t1: Vec2| {
        if let Some(piece) = clipped_miter(at, t0, t1, half, limit) {
            pieces.push(piece);
        }
    };
    // Per subpath: its start, the start tangent of its first segment, and the end tangent of
    // the segment before the current point.
    let (mut start, mut current) = (Point::ZERO, Point::ZERO);
    let (mut first, mut last): (Option<Vec2>, Option<Vec2>) = (None, None);
    for el in path {
        let segment = match el {
            PathEl::MoveTo(p) => {
                (start, current, first, last) = (p, p, None, None);
                continue;
            }
            PathEl::LineTo(p) => PathSeg::Line(kurbo::Line::new(current, p)),
            PathEl::QuadTo(p1, p) => PathSeg::Quad(kurbo::QuadBez::new(current, p1, p)),
            PathEl::CurveTo(p1, p2, p) => PathSeg::Cubic(kurbo::CubicBez::new(current, p1, p2, p)),
            PathEl::ClosePath => {
                if let Some((t0, t1)) = tangents(PathSeg::Line(kurbo::Line::new(current, start))) {
                    if let Some(before) = last {
                        join(current, before, t0);
                    }
                    first.get_or_insert(t0);
                    last = Some(t1);
                }
                if let (Some(before), Some(after)) = (last, first) {
                    join(start, before, after);
                }
                (current, first, last) = (start, None, None);
                continue;
            }
        };
        current = segment.end();
        // A segment of no length has no direction and no join.
        let Some((t0, t1)) = tangents(segment) else { continue };
        if let Some(before) = last {
            join(segment.start(), before, t0);
        }
        first.get_or_insert(t0);
        last = Some(t1);
    }
    pieces
}

/// The directions of a segment at its start and at its end (`None`: it has no length).
fn tangents(segment: PathSeg) -> Option<(Vec2, Vec2)> {
    let direction =
        |candidates: &[Vec2]| candidates.iter().copied().find(|v| v.hypot2() > LEAST_TANGENT * LEAST_TANGENT);
    let (start, end) = match segment {
        PathSeg::Line(l) => (direction(&[l.p1 - l.p0])?, direction(&[l.p1 - l.p0])?),
        PathSeg::Quad(q) => (direction(&[q.p1 - q.p0, q.p2 - q.p0])?, direction(&[q.p2 - q.p1, q.p2 - q.p0])?),
        PathSeg::Cubic(c) => {
            (direction(&[c.p1 - c.p0, c.p2 - c.p0, c.p3 - c.p0])?, direction(&[c.p3 - c.p2, c.p3 - c.p1, c.p3 - c.p0])?)
        }
    };
    Some((start.normalize(), end.normalize()))
}

/// The piece a `miter-clip` join at `at` adds to the bevel, between a segment arriving in
/// direction `t0` and one leaving in direction `t1` (unit vectors), for a stroke of half
/// width `half`; `None` when the miter is within `limit` (kurbo draws it) or there is no
/// outer side (no turn, or a full reversal).
fn clipped_miter(at: Point, t0: Vec2, t1: Vec2, half: f64, limit: f64) -> Option<Vec<Point>> {
    let (cross, dot) = (t0.cross(t1), t0.dot(t1));
    // The miter is `1 / cos(phi)` stroke widths long, `phi` half the angle between the
    // normals, and `cos^2(phi) = (1 + dot) / 2`: within the limit, kurbo mitres.
    if cross == 0.0 || 2.0 < (1.0 + dot) * limit * limit {
        return None;
    }
    // The outer side is right of the path on a left turn, left on a right turn.
    let outer = |t: Vec2| if cross > 0.0 { Vec2::new(t.y, -t.x) } else { Vec2::new(-t.y, t.x) };
    let (u0, u1) = (outer(t0), outer(t1));
    let bisector = (u0 + u1).normalize();
    let (cos_phi, sin_phi) = (u0.dot(bisector), t0.dot(bisector));
    // The outer edges meet the clip line `limit * half` from the joint along the bisector.
    let along = (limit * half - half * cos_phi) / sin_phi;
    Some(vec![at, at + half * u0, at + half * u0 + along * t0, at + half * u1 - along * t1, at + half * u1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_right_angle_past_the_limit_is_clipped_at_half_the_limit_times_the_width() {
        // Going +x then +y (a left turn) with width 2: the miter would be sqrt(2) widths long.
        let piece = clipped_miter(Point::ZERO, Vec2::new(1.0, 0.0), Vec2::new(0.0, 1.0), 1.0, 1.2).unwrap();
        let bisector = Vec2::new(1.0, -1.0).normalize();
        // The clip line is 1.2 (half the limit times the width) from the joint.
        for p in &piece[2..4] {
            assert!(((*p - Point::ZERO).dot(bisector) - 1.2).abs() < 1e-12, "{p:?}");
        }
        // And its ends are on the outer edges (y = -1 for the first, x = 1 for the second).
        assert!((piece[2].y + 1.0).abs() < 1e-12 && (piece[3].x - 1.0).abs() < 1e-12, "{piece:?}");
        // A right turn (+x then -y) is clipped on the left, at y = +1.
        let right = clipped_miter(Point::ZERO, Vec2::new(1.0, 0.0), Vec2::new(0.0, -1.0), 1.0, 1.2).unwrap();
        assert!((right[2].y - 1.0).abs() < 1e-12 && (right[3].x - 1.0).abs() < 1e-12, "{right:?}");
        // Within the limit there is nothing to add.
        assert!(clipped_miter(Point::ZERO, Vec2::new(1.0, 0.0), Vec2::new(0.0, 1.0), 1.0, 1.5).is_none());
    }

    #[test]
    fn joins_are_found_between_segments_and_where_a_subpath_closes() {
        let style = kurbo::Stroke::new(2.0).with_miter_limit(1.0);
        let mut square = BezPath::new();
        square.move_to((0.0, 0.0));
        square.line_to((10.0, 0.0));
        square.line_to((10.0, 10.0));
        square.line_to((0.0, 10.0));
        square.close_path();
        assert_eq!(clipped_miters(square.iter(), &style).len(), 4);
        // Open: only the two inner corners; a repeated point is no segment.
        let mut open = BezPath::new();
        open.move_to((0.0, 0.0));
        open.line_to((10.0, 0.0));
        open.line_to((10.0, 0.0));
        open.line_to((10.0, 10.0));
        open.line_to((0.0, 10.0));
        assert_eq!(clipped_miters(open.iter(), &style).len(), 2);
    }
}
