//! The medial axis of a region: the centres of its largest inscribed circles, with their
//! radii, from the segment Voronoi diagram of its outline (boostvoronoi, a port of
//! Boost.Polygon's).
//!
//! The outline goes in on the polygon engine's own grid ([`geom::GRID_SCALE`]), where the
//! booleans left it, so no rounding makes two edges cross. Of the diagram, the axis keeps the
//! finite primary edges that lie inside the region: an edge between two segments inside is
//! straight with a radius that changes linearly; one between a segment and a reflex corner is
//! a parabola, and one between two reflex corners a line whose radius changes as a
//! hyperbola: both are sampled so that the chords sag by at most the given distance, and
//! their radii are lowered by that much, so that no circle on a chord leaves the region.

use boostvoronoi::prelude::{Builder, Diagram, EdgeIndex, SourceCategory, VertexIndex};

use crate::geom::{self, Contour, Point};

/// The medial axis of one region.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MedialAxis {
    /// Its branches, each between two nodes.
    pub branches: Vec<Branch>,
}

/// A branch of a medial axis: a polyline of circle centres between two nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// The nodes at its first and last point; nodes are numbered per axis.
    pub ends: [usize; 2],
    /// Points `[x, y, r]` in mm: a centre and the radius of its circle, which lies in the
    /// region (the first and last are the nodes).
    pub points: Vec<[f64; 3]>,
}

/// The Voronoi builder refused the outline (in practice: edges that cross).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the medial axis could not be computed: {0}")]
pub struct AxisError(String);

/// The most points a sampled edge gets: a hostile outline cannot make an axis of unbounded
/// size.
const MAX_SAMPLES: usize = 4096;

/// The outline as segments on the integer grid, with what the axis needs of each: whether
/// the corner at its start and at its end is reflex.
struct Outline {
    segments: Vec<[i32; 4]>,
    reflex_start: Vec<bool>,
    reflex_end: Vec<bool>,
}

impl Outline {
    fn new(shape: &[Contour]) -> Result<Self, AxisError> {
        let limit = f64::from(i32::MAX / 4);
        let mut segments = Vec::new();
        let mut reflex_start = Vec::new();
        let mut reflex_end = Vec::new();
        for contour in shape {
            let mut points: Vec<[i32; 2]> = Vec::with_capacity(contour.len());
            for p in contour {
                let q = [p[0] * geom::GRID_SCALE, p[1] * geom::GRID_SCALE];
                if !(q[0].abs() < limit && q[1].abs() < limit) {
                    return Err(AxisError("a point lies outside the grid".into()));
                }
                let q = [q[0].round() as i32, q[1].round() as i32];
                if points.last() != Some(&q) {
                    points.push(q);
                }
            }
            while points.len() > 1 && points.first() == points.last() {
                points.pop();
            }
            let n = points.len();
            if n < 3 {
                continue;
            }
            for i in 0..n {
                let (p, a, b) = (points[(i + n - 1) % n], points[i], points[(i + 1) % n]);
                let cross = (i64::from(a[0]) - i64::from(p[0])) * (i64::from(b[1]) - i64::from(a[1]))
                    - (i64::from(a[1]) - i64::from(p[1])) * (i64::from(b[0]) - i64::from(a[0]));
                segments.push([a[0], a[1], b[0], b[1]]);
                reflex_start.push(cross < 0);
            }
            // The corner at a segment's end is the corner at the next one's start.
            let first = reflex_start.len() - n;
            reflex_end.extend((0..n).map(|i| reflex_start[first + (i + 1) % n]));
        }
        Ok(Self { segments, reflex_start, reflex_end })
    }

    fn point(&self, i: usize, end: bool) -> Point {
        let s = self.segments[i];
        let (x, y) = if end { (s[2], s[3]) } else { (s[0], s[1]) };
        [f64::from(x) / geom::GRID_SCALE, f64::from(y) / geom::GRID_SCALE]
    }
}

/// What a Voronoi cell stands for.
#[derive(Clone, Copy)]
enum Site {
    /// The segment from `a` to `b`, the region on its left.
    Segment(Point, Point),
    /// A corner of the outline, reflex or not.
    Corner(Point, bool),
}

impl Site {
    /// Whether a point of an edge of this site's cell, `m`, lies in the region.
    fn inside(self, m: Point) -> bool {
        match self {
            Site::Segment(a, b) => (b[0] - a[0]) * (m[1] - a[1]) - (b[1] - a[1]) * (m[0] - a[0]) > 0.0,
            Site::Corner(_, reflex) => reflex,
        }
    }

    fn distance(self, p: Point) -> f64 {
        match self {
            Site::Segment(a, b) => geom::segment_distance(p, a, b),
            Site::Corner(c, _) => geom::distance(p, c),
        }
    }
}

/// The medial axis of `shape` (an outer contour and its holes, outer counter-clockwise), its
/// curved edges sampled to chords that sag by at most `sag` mm.
///
/// # Errors
///
/// [`AxisError`] when the Voronoi builder refuses the outline.
pub fn medial_axis(shape: &[Contour], sag: f64) -> Result<MedialAxis, AxisError> {
    let outline = Outline::new(shape)?;
    if outline.segments.is_empty() {
        return Ok(MedialAxis::default());
    }
    let diagram = Builder::<i32>::default()
        .with_segments(outline.segments.iter())
        .and_then(Builder::build)
        .map_err(|e| AxisError(e.to_string()))?;
    let site = |cell| -> Result<Site, AxisError> {
        let cell = diagram.cell(cell).map_err(|e| AxisError(e.to_string()))?;
        let (index, category) = cell.source_index_2();
        let i = index.usize();
        if i >= outline.segments.len() {
            return Err(AxisError("a cell without a site".into()));
        }
        Ok(match category {
            SourceCategory::Segment => Site::Segment(outline.point(i, false), outline.point(i, true)),
            SourceCategory::SegmentStart | SourceCategory::SinglePoint => {
                Site::Corner(outline.point(i, false), outline.reflex_start[i])
            }
            SourceCategory::SegmentEnd => Site::Corner(outline.point(i, true), outline.reflex_end[i]),
        })
    };
    let mut branches = Vec::new();
    for edge in diagram.edges() {
        let id = edge.id();
        let twin = edge.twin().map_err(|e| AxisError(e.to_string()))?;
        if twin.usize() < id.usize() || edge.is_secondary() {
            continue;
        }
        let (Some(v0), Some(v1)) = (edge.vertex0(), vertex1(&diagram, id)?) else { continue };
        let [p0, p1] = [v0, v1].map(|v| diagram.vertex(v).map(|v| [v.x(), v.y()]));
        let (p0, p1) = (p0.map_err(|e| AxisError(e.to_string()))?, p1.map_err(|e| AxisError(e.to_string()))?);
        let [p0, p1] = [p0, p1].map(|p| [p[0] / geom::GRID_SCALE, p[1] / geom::GRID_SCALE]);
        let mid = [(p0[0] + p1[0]) / 2.0, (p0[1] + p1[1]) / 2.0];
        let here = site(edge.cell().map_err(|e| AxisError(e.to_string()))?)?;
        let there = site(diagram.edge(twin).and_then(|t| t.cell()).map_err(|e| AxisError(e.to_string()))?)?;
        if !(here.inside(mid) && there.inside(mid)) {
            continue;
        }
        let points = match (here, there) {
            (Site::Segment(..), Site::Segment(..)) => vec![p0, p1].into_iter().map(|p| (p, 0.0)).collect(),
            (Site::Corner(c, _), Site::Segment(a, b)) | (Site::Segment(a, b), Site::Corner(c, _)) => {
                parabola(c, a, b, p0, p1, sag)
            }
            (Site::Corner(c, _), Site::Corner(..)) => hyperbola(c, p0, p1, sag),
        };
        let points = points
            .into_iter()
            .map(|(p, lower)| [p[0], p[1], (here.distance(p).min(there.distance(p)) - lower).max(0.0)])
            .collect();
        branches.push(Branch { ends: [v0.usize(), v1.usize()], points });
    }
    Ok(MedialAxis { branches })
}

fn vertex1(diagram: &Diagram, edge: EdgeIndex) -> Result<Option<VertexIndex>, AxisError> {
    diagram.edge_get_vertex1(edge).map_err(|e| AxisError(e.to_string()))
}

/// Points of the parabola of centres equidistant from corner `c` and the line through
/// `a`-`b`, from `p0` to `p1`, with how much each radius is to be lowered for its chords.
fn parabola(c: Point, a: Point, b: Point, p0: Point, p1: Point, sag: f64) -> Vec<(Point, f64)> {
    let len = geom::distance(a, b);
    if len == 0.0 {
        return vec![(p0, 0.0), (p1, 0.0)];
    }
    let u = [(b[0] - a[0]) / len, (b[1] - a[1]) / len];
    let mut n = [-u[1], u[0]];
    let along = |p: Point| (p[0] - a[0]) * u[0] + (p[1] - a[1]) * u[1];
    let mut d = (c[0] - a[0]) * n[0] + (c[1] - a[1]) * n[1];
    if d < 0.0 {
        n = [-n[0], -n[1]];
        d = -d;
    }
    if d < 1e-9 {
        return vec![(p0, 0.0), (p1, 0.0)];
    }
    let (tc, t0, t1) = (along(c), along(p0), along(p1));
    // h'' = 1 / d: a chord of span s sags by s^2 / (8 d).
    let step = (8.0 * d * sag).sqrt();
    let mut points: Vec<(Point, f64)> = sampled(t0, t1, step, |t| {
        let h = ((t - tc).powi(2) + d * d) / (2.0 * d);
        [a[0] + u[0] * t + n[0] * h, a[1] + u[1] * t + n[1] * h]
    })
    .into_iter()
    .map(|(p, lower)| (p, lower / d))
    .collect();
    // The ends are the diagram's vertices exactly, so that branches meet.
    points[0].0 = p0;
    if let Some(last) = points.last_mut() {
        last.0 = p1;
    }
    points
}

/// Points of the line of centres equidistant from two corners, from `p0` to `p1` (one of
/// the corners is `c`), with how much each radius is to be lowered for its chords.
fn hyperbola(c: Point, p0: Point, p1: Point, sag: f64) -> Vec<(Point, f64)> {
    let len = geom::distance(p0, p1);
    if len == 0.0 {
        return vec![(p0, 0.0), (p1, 0.0)];
    }
    let u = [(p1[0] - p0[0]) / len, (p1[1] - p0[1]) / len];
    // r(t) = sqrt(h^2 + (t - tc)^2) with r'' <= 1 / h: a chord of span s sags s^2 / (8 h).
    let h = ((c[0] - p0[0]) * u[1] - (c[1] - p0[1]) * u[0]).abs();
    if h < 1e-9 {
        return vec![(p0, 0.0), (p1, 0.0)];
    }
    let step = (8.0 * h * sag).sqrt();
    let mut points: Vec<(Point, f64)> = sampled(0.0, len, step, |t| [p0[0] + u[0] * t, p0[1] + u[1] * t])
        .into_iter()
        .map(|(p, l)| (p, l / h))
        .collect();
    if let Some(last) = points.last_mut() {
        last.0 = p1;
    }
    points
}

/// `f` at `from`, `to` and evenly between, at most `step` apart (at most [`MAX_SAMPLES`]),
/// each with its span squared over 8: the sag of its chords over unit curvature.
fn sampled(from: f64, to: f64, step: f64, f: impl Fn(f64) -> Point) -> Vec<(Point, f64)> {
    let span = (to - from).abs();
    let n = if step > 0.0 { ((span / step).ceil() as usize).clamp(1, MAX_SAMPLES) } else { MAX_SAMPLES };
    let s = span / n as f64;
    let lower = s * s / 8.0;
    (0..=n).map(|i| (f(from + (to - from) * i as f64 / n as f64), lower)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rectangle(x0: f64, y0: f64, x1: f64, y1: f64) -> Contour {
        vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1]]
    }

    fn all_points(axis: &MedialAxis) -> Vec<[f64; 3]> {
        axis.branches.iter().flat_map(|b| b.points.iter().copied()).collect()
    }

    #[test]
    fn a_rectangles_axis_runs_down_its_middle_with_the_half_width_as_radius() {
        let axis = medial_axis(&[rectangle(0.0, 0.0, 10.0, 2.0)], 0.001).unwrap();
        // The spine from (1, 1) to (9, 1) and the four corner bisectors.
        assert_eq!(axis.branches.len(), 5, "{axis:?}");
        for p in all_points(&axis) {
            assert!(p[0] >= -1e-9 && p[0] <= 10.0 + 1e-9 && p[1] >= -1e-9 && p[1] <= 2.0 + 1e-9, "{p:?}");
            let wall = p[0].min(10.0 - p[0]).min(p[1]).min(2.0 - p[1]);
            assert!((p[2] - wall).abs() < 1e-6, "radius {} at {p:?}, wall {wall}", p[2]);
        }
        let spine = axis.branches.iter().find(|b| b.points.iter().all(|p| (p[1] - 1.0).abs() < 1e-9)).unwrap();
        let xs: Vec<f64> = spine.points.iter().map(|p| p[0]).collect();
        assert!(xs.iter().any(|x| (x - 1.0).abs() < 1e-9) && xs.iter().any(|x| (x - 9.0).abs() < 1e-9), "{xs:?}");
    }

    #[test]
    fn around_a_reflex_corner_the_axis_curves_and_stays_inside() {
        // An L: the inner corner (2, 2) is reflex.
        let l = vec![[0.0, 0.0], [6.0, 0.0], [6.0, 2.0], [2.0, 2.0], [2.0, 6.0], [0.0, 6.0]];
        let axis = medial_axis(std::slice::from_ref(&l), 0.0005).unwrap();
        let points = all_points(&axis);
        assert!(points.len() > 10, "the parabola around the corner is sampled: {}", points.len());
        for p in &points {
            assert!(geom::shape_contains(std::slice::from_ref(&l), [p[0], p[1]]) || p[2] < 1e-9, "{p:?} outside");
            let wall = geom::boundary_distance(&[vec![l.clone()]], [p[0], p[1]]);
            assert!(p[2] <= wall + 1e-9 && p[2] >= wall - 0.002, "radius {} at {p:?}, wall {wall}", p[2]);
        }
    }

    #[test]
    fn a_hole_is_kept_out_of_the_axis() {
        let ring = vec![rectangle(0.0, 0.0, 10.0, 10.0), rectangle(3.0, 3.0, 7.0, 7.0).into_iter().rev().collect()];
        let axis = medial_axis(&ring, 0.001).unwrap();
        for p in all_points(&axis) {
            assert!(geom::shape_contains(&ring, [p[0], p[1]]) || p[2] < 1e-9, "{p:?} outside");
            let wall = geom::boundary_distance(std::slice::from_ref(&ring), [p[0], p[1]]);
            assert!(p[2] <= wall + 1e-9 && p[2] >= wall - 0.002, "radius {} at {p:?}, wall {wall}", p[2]);
        }
        // The ring of centres halfway between the square and the hole is there.
        assert!(all_points(&axis).iter().any(|p| (p[0] - 1.5).abs() < 1e-6 && (p[1] - 5.0).abs() <= 2.0 + 1e-6));
    }
}
