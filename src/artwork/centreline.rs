//! The line a stroke follows: what single-line engraving cuts along, where a pocket cuts the
//! stroke's outline. A path drawn with no fill and no stroke width (a hairline, as
//! single-line fonts and CAD drawings are) has only this.

use kurbo::{BezPath, PathEl};

use crate::geom::{self, Point, Polyline, Shapes};

/// The centre line of a stroke, in artwork mm.
#[derive(Debug, Clone, PartialEq)]
pub struct Centreline {
    /// The stroke's width in mm at final size; 0 for a hairline.
    pub width_mm: f64,
    /// Its subpaths (each dash one where the stroke is dashed), flattened within the import
    /// tolerance.
    pub paths: Vec<Polyline>,
}

/// `path` (in mm) flattened within `tolerance` into polylines, open subpaths kept open.
/// Subpaths shorter than the tolerance are dropped: a dot engraves nothing a V-bit's tip
/// does not already.
pub(super) fn polylines(path: &BezPath, tolerance: f64) -> Vec<Polyline> {
    let mut out = Vec::new();
    let mut current: Vec<Point> = Vec::new();
    let finish = |points: &mut Vec<Point>, closed: bool, out: &mut Vec<Polyline>| {
        let mut points = std::mem::take(points);
        points.dedup_by(|a, b| geom::distance(*a, *b) < 1e-9);
        if closed && points.len() > 2 && geom::distance(points[0], points[points.len() - 1]) < 1e-9 {
            points.pop();
        }
        let line = Polyline { closed: closed && points.len() > 2, points };
        let finite = line.points.iter().all(|p| p[0].is_finite() && p[1].is_finite());
        if line.points.len() >= 2 && finite && line.length_mm() >= tolerance {
            out.push(line);
        }
    };
    kurbo::flatten(path.iter(), tolerance, |el| match el {
        PathEl::MoveTo(p) => {
            finish(&mut current, false, &mut out);
            current.push([p.x, p.y]);
        }
        PathEl::LineTo(p) => current.push([p.x, p.y]),
        PathEl::ClosePath => {
            let start = current.first().copied();
            finish(&mut current, true, &mut out);
            current.extend(start);
        }
        PathEl::QuadTo(..) | PathEl::CurveTo(..) => unreachable!("kurbo::flatten only emits lines"),
    });
    finish(&mut current, false, &mut out);
    out
}

/// The parts of `lines` inside `area` (`inside`, the outline included) or outside it: each
/// segment split where it crosses the outline, the pieces whose middle lies on the side asked
/// kept. A closed line cut open becomes open pieces. The outline is indexed, so a long line
/// under a detailed clip costs its segments times the edges near each, not all of them.
#[must_use]
pub fn clip_lines(lines: Vec<Polyline>, area: &Shapes, inside: bool) -> Vec<Polyline> {
    let outline = geom::ShapeIndex::new(area.iter().flatten());
    let mut out = Vec::new();
    for line in lines {
        let mut pieces: Vec<Vec<Point>> = Vec::new();
        let mut current: Vec<Point> = Vec::new();
        let mut whole = true;
        for (a, b) in line.segments() {
            let mut cuts: Vec<f64> = outline.crossings(a, b);
            cuts.extend([0.0, 1.0]);
            cuts.sort_by(f64::total_cmp);
            cuts.dedup_by(|x, y| (*x - *y).abs() < 1e-12);
            for w in cuts.windows(2) {
                let at = |t: f64| [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
                let (p, q) = (at(w[0]), at(w[1]));
                // The outline itself counts as inside: a line drawn along a clip's edge stays.
                let middle = at((w[0] + w[1]) / 2.0);
                let within = outline.contains(middle) || outline.near_edge(middle, ON_EDGE_MM);
                if within == inside {
                    if current.is_empty() {
                        current.push(p);
                    }
                    current.push(q);
                } else {
                    whole = false;
                    if current.len() >= 2 {
                        pieces.push(std::mem::take(&mut current));
                    }
                    current.clear();
                }
            }
        }
        if whole {
            out.push(line);
            continue;
        }
        if current.len() >= 2 {
            // A closed line cut open: its last piece runs on into its first.
            match pieces.first_mut() {
                Some(first) if line.closed && first[0] == current[current.len() - 1] => {
                    current.extend(first.drain(1..));
                    *first = current;
                }
                _ => pieces.push(current),
            }
        }
        out.extend(pieces.into_iter().map(|points| Polyline { points, closed: false }));
    }
    out
}

/// A point this near an outline, in mm, is on it.
const ON_EDGE_MM: f64 = 1e-7;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_and_closed_subpaths_are_kept_apart() {
        let mut path = BezPath::new();
        path.move_to((0.0, 0.0));
        path.line_to((10.0, 0.0));
        path.move_to((0.0, 5.0));
        path.line_to((4.0, 5.0));
        path.line_to((4.0, 9.0));
        path.close_path();
        let lines = polylines(&path, 0.01);
        assert_eq!(lines.len(), 2);
        assert!(!lines[0].closed && (lines[0].length_mm() - 10.0).abs() < 1e-12);
        assert!(lines[1].closed && lines[1].points.len() == 3);
        assert!((lines[1].length_mm() - (8.0 + 32f64.sqrt())).abs() < 1e-12);
    }

    #[test]
    fn a_line_is_clipped_where_it_crosses_the_outline() {
        let square: Shapes = vec![vec![vec![[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]]]];
        let across = Polyline { points: vec![[-5.0, 5.0], [5.0, 5.0], [15.0, 5.0]], closed: false };
        let inside = clip_lines(vec![across.clone()], &square, true);
        assert_eq!(inside, [Polyline { points: vec![[0.0, 5.0], [5.0, 5.0], [10.0, 5.0]], closed: false }]);
        let outside = clip_lines(vec![across], &square, false);
        assert_eq!(outside.len(), 2);
        assert_eq!(outside[1], Polyline { points: vec![[10.0, 5.0], [15.0, 5.0]], closed: false });
        // A ring half outside: one open arc, in one piece although it started outside.
        let ring = Polyline { points: vec![[5.0, 5.0], [15.0, 5.0], [15.0, 8.0], [5.0, 8.0]], closed: true };
        let inside = clip_lines(vec![ring], &square, true);
        assert_eq!(inside.len(), 1, "{inside:?}");
        assert!((inside[0].length_mm() - 13.0).abs() < 1e-9, "{inside:?}");
    }
}
