//! Circular arcs for the G-code writer: runs of toolpath points at one Z become G2/G3 blocks.
//!
//! Two steps, both deterministic (sequential `f64` arithmetic, no hashing, no threads):
//!
//! [`fit`] cuts a polyline into [`Piece`]s: single straight segments, and runs of at least
//! [`MIN_SEGMENTS`] segments that one XY-plane arc replaces. Every [`Arc`] it returns
//!
//! - has all the points of its run at one Z (within 1 nm): arcs are planar (G17), and a move
//!   whose Z changes (a ramp, a helix descending) stays a line;
//! - starts at the run's first point and ends at its last one (its centre is on their
//!   bisector);
//! - keeps every point of the run, and every point of every chord between them (so every
//!   chord midpoint), within [`ArcLimits::tolerance_mm`] of its circle, while the run turns
//!   monotonically around the centre: the arc and the polyline it replaces are within the
//!   tolerance of each other;
//! - has a sweep above zero and at most [`ArcLimits::max_sweep_rad`] (less than a full turn),
//!   a radius within the limits and a chord of at least the minimum chord.
//!
//! The fit is greedy: from each point it takes the longest run that fits (found by doubling,
//! then bisection, so a run of k points costs O(k log k)), else one straight segment. Every
//! candidate is checked in full, so an arc is valid even where a longer one is missed.
//!
//! [`block`] applies the control's arc rules (domain reference §4.2) to a fitted arc once its
//! end point is rounded, from the rounded start the control is at: it refuses the arc (the
//! writer then writes the run as lines) when the rounded end equals the rounded start (that
//! would be a full circle), the chord is below the minimum, the radii to the rounded start
//! and end differ by more than the radius tolerance, a radius is outside the limits, the sweep
//! is zero or above the maximum, or the arc the control would cut strays from the run by more
//! than the fit tolerance plus one unit of the last decimal. The writer then tries the two
//! halves of the run as arcs ([`arc_over`]), once, before writing lines.
//!
//! # Tolerance budget
//!
//! The job tolerance is 0.005 mm ([`crate::toolpath::ToolpathOptions::tolerance_mm`]):
//!
//! | source | deviation |
//! | --- | --- |
//! | flattening of curves at import | 0.002 mm |
//! | simplification of offset rings (RDP) | 0.001 mm |
//! | arc fit (`arc-tolerance-mm`, default) | 0.001 mm |
//! | output rounding at 3 decimals | 0.0005 mm |
//! | round joins of offsets, 0.2 % of the offset | 0.0005 mm up to a 0.25 mm offset |
//! | total | 0.005 mm |
//!
//! An arc fitted through the vertices of a round join is the exact offset the join's chords
//! approximate, so where arcs replace joins their sag leaves the budget.

use std::f64::consts::{PI, TAU};

use super::Rounded;
use crate::machine::MachineFile;

/// Fewest segments one arc replaces (at least four points).
pub const MIN_SEGMENTS: usize = 3;

/// Most points one arc replaces: bounds the work per arc on very dense input.
const MAX_RUN_POINTS: usize = 4096;

/// Points closer than this in Z are at one Z, in mm (1 nm).
const SAME_Z_MM: f64 = 1e-6;

/// What an arc may be: the machine profile's `arc-*` settings, angles in radians.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArcLimits {
    /// Largest distance between the arc and the points and chords it replaces, in mm.
    pub tolerance_mm: f64,
    /// Largest sweep, in radians (less than a full turn).
    pub max_sweep_rad: f64,
    /// Shortest distance between the arc's start and end, in mm.
    pub min_chord_mm: f64,
    /// Smallest radius, in mm.
    pub min_radius_mm: f64,
    /// Largest radius, in mm.
    pub max_radius_mm: f64,
    /// Largest difference between the radii to the rounded start and end, in mm.
    pub radius_tolerance_mm: f64,
}

impl ArcLimits {
    /// The limits of a profile, or `None` when it does not write arcs.
    #[must_use]
    pub fn of(file: &MachineFile) -> Option<Self> {
        file.arcs.then(|| Self {
            tolerance_mm: file.arc_tolerance_mm,
            max_sweep_rad: file.arc_max_sweep_deg.to_radians(),
            min_chord_mm: file.arc_min_chord_mm,
            min_radius_mm: file.arc_min_radius_mm,
            max_radius_mm: file.arc_max_radius_mm,
            radius_tolerance_mm: file.arc_radius_tolerance_mm,
        })
    }
}

/// An arc replacing the points `from..=to` of a polyline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arc {
    /// Index of the first point of the run.
    pub from: usize,
    /// Index of the last point of the run.
    pub to: usize,
    /// Centre, in mm.
    pub center: [f64; 2],
    /// Radius, in mm.
    pub radius: f64,
    /// Sweep in radians: positive counter-clockwise (G3), negative clockwise (G2).
    pub sweep: f64,
}

impl Arc {
    /// Whether the arc runs clockwise (G2).
    #[must_use]
    pub fn clockwise(&self) -> bool {
        self.sweep < 0.0
    }
}

/// A part of a polyline: one straight segment, or an arc over several.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Piece {
    /// The segment from point `k - 1` to point `k`.
    Line(usize),
    /// An arc over several segments.
    Arc(Arc),
}

/// Cuts the polyline `points` into lines and arcs, in order: each piece starts where the
/// previous one ended, the first at point 0, the last ends at the last point.
#[must_use]
pub fn fit(points: &[[f64; 3]], limits: &ArcLimits) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut i = 0;
    while i + 1 < points.len() {
        if let Some(arc) = longest_arc(points, i, limits) {
            i = arc.to;
            pieces.push(Piece::Arc(arc));
        } else {
            i += 1;
            pieces.push(Piece::Line(i));
        }
    }
    pieces
}

/// The one arc over all of `points`, if it fits (the halves of an arc the writer refused).
#[must_use]
pub fn arc_over(points: &[[f64; 3]], limits: &ArcLimits) -> Option<Arc> {
    let z = points.first()?[2];
    let flat = points.iter().all(|p| (p[2] - z).abs() <= SAME_Z_MM);
    (flat && points.len() > MIN_SEGMENTS && points.len() <= MAX_RUN_POINTS)
        .then(|| fit_run(points, 0, points.len() - 1, limits))
        .flatten()
}

/// The longest arc from point `from` the greedy search finds.
fn longest_arc(points: &[[f64; 3]], from: usize, limits: &ArcLimits) -> Option<Arc> {
    let z = points[from][2];
    let same_z = |k: usize| (points[k][2] - z).abs() <= SAME_Z_MM;
    let cap = (from + MAX_RUN_POINTS - 1).min(points.len() - 1);
    let mut good = from + MIN_SEGMENTS;
    if good > cap || !(from + 1..=good).all(same_z) {
        return None;
    }
    let mut best = fit_run(points, from, good, limits)?;
    // Doubling: `bad` is the first end known not to fit (or past the cap); all points
    // before it are at the run's Z.
    let mut bad = cap + 1;
    let mut step = MIN_SEGMENTS;
    while good < cap {
        step *= 2;
        let next = (good + step).min(cap);
        if let Some(k) = (good + 1..=next).find(|&k| !same_z(k)) {
            bad = k;
            break;
        }
        match fit_run(points, from, next, limits) {
            Some(arc) => (good, best) = (next, arc),
            None => {
                bad = next;
                break;
            }
        }
    }
    // Bisection between the longest run that fits and the shortest known not to.
    while bad - good > 1 {
        let mid = good + (bad - good) / 2;
        match fit_run(points, from, mid, limits) {
            Some(arc) => (good, best) = (mid, arc),
            None => bad = mid,
        }
    }
    Some(best)
}

fn xy(p: [f64; 3]) -> [f64; 2] {
    [p[0], p[1]]
}

fn sub(a: [f64; 2], b: [f64; 2]) -> [f64; 2] {
    [a[0] - b[0], a[1] - b[1]]
}

fn dot(a: [f64; 2], b: [f64; 2]) -> f64 {
    a[0] * b[0] + a[1] * b[1]
}

fn dist(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

fn angle(p: [f64; 2], center: [f64; 2]) -> f64 {
    (p[1] - center[1]).atan2(p[0] - center[0])
}

/// `value <= limit`, false for NaN.
fn within(value: f64, limit: f64) -> bool {
    value <= limit
}

/// `a` wrapped into (-pi, pi].
fn wrap(a: f64) -> f64 {
    let w = a.rem_euclid(TAU);
    if w > PI {
        w - TAU
    } else {
        w
    }
}

/// Distance from `c` to the nearest point of segment `a`-`b`.
fn segment_distance(c: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let ab = sub(b, a);
    let len2 = dot(ab, ab);
    let t = if len2 > 0.0 { (dot(sub(c, a), ab) / len2).clamp(0.0, 1.0) } else { 0.0 };
    dist(c, [a[0] + t * ab[0], a[1] + t * ab[1]])
}

/// The arc over points `from..=to`, if one fits.
fn fit_run(points: &[[f64; 3]], from: usize, to: usize, limits: &ArcLimits) -> Option<Arc> {
    let run = &points[from..=to];
    let (s, e) = (xy(run[0]), xy(run[run.len() - 1]));
    let chord = dist(s, e);
    if !(chord >= limits.min_chord_mm && chord > 0.0) {
        return None;
    }
    // Centres on the bisector of the chord: `m + t n`.
    let m = [(s[0] + e[0]) / 2.0, (s[1] + e[1]) / 2.0];
    let n = [-(e[1] - s[1]) / chord, (e[0] - s[0]) / chord];
    let half = chord / 2.0;
    // First guess: the circle through the start, the middle point and the end.
    let p = xy(run[run.len() / 2]);
    let (pm, ps) = (sub(p, m), sub(p, s));
    // |c - s| = |c - p| on the bisector gives t (2 n.(p - s)) = |p - s|^2 - 2 (m - s).(p - s).
    let denominator = 2.0 * dot(n, ps);
    let t0 = (dot(ps, ps) - 2.0 * dot(sub(m, s), ps)) / denominator;
    if !t0.is_finite() || dot(pm, pm) == 0.0 {
        return None;
    }
    // Refinement: least squares of the radial errors of the inner points (Gauss-Newton
    // along the bisector).
    let mut t = t0;
    for _ in 0..4 {
        let c = [m[0] + t * n[0], m[1] + t * n[1]];
        let r = half.hypot(t);
        let (mut jj, mut jr) = (0.0, 0.0);
        for &q in &run[1..run.len() - 1] {
            let d = sub(xy(q), c);
            let length = dot(d, d).sqrt();
            if length == 0.0 {
                continue;
            }
            let residual = length - r;
            let jacobian = -dot(d, n) / length - t / r;
            jj += jacobian * jacobian;
            jr += jacobian * residual;
        }
        let dt = jr / jj;
        if !dt.is_finite() {
            break;
        }
        t -= dt;
        if dt.abs() < NEWTON_STEP {
            break;
        }
    }
    let mut best: Option<(f64, Arc)> = None;
    for t in [t0, t] {
        let center = [m[0] + t * n[0], m[1] + t * n[1]];
        if let Some(found) = check(run, center, limits) {
            if best.is_none_or(|(error, _)| found.0 < error) {
                best = Some(found);
            }
        }
    }
    best.map(|(_, arc)| Arc { from, to, ..arc })
}

/// Checks the run against the circle about `center` through its first point: returns the
/// largest deviation and the arc (indices unset) if the run fits.
fn check(run: &[[f64; 3]], center: [f64; 2], limits: &ArcLimits) -> Option<(f64, Arc)> {
    let first = xy(run[0]);
    let r = dist(first, center);
    if !(r >= limits.min_radius_mm && r <= limits.max_radius_mm) {
        return None;
    }
    let tolerance = limits.tolerance_mm;
    // Every point and chord within the tolerance of the circle, looked at from the end: a
    // run too long for its circle leaves it there, so a miss is found soonest (the fit tries
    // many such runs). Outward the chord is farthest from the circle at its ends, inward at
    // its point nearest the centre.
    let mut error = 0.0f64;
    for k in (1..run.len()).rev() {
        let (previous, q) = (xy(run[k - 1]), xy(run[k]));
        let (radial, inward) = ((dist(q, center) - r).abs(), r - segment_distance(center, previous, q));
        if !(within(radial, tolerance) && within(inward, tolerance)) {
            return None;
        }
        error = error.max(radial).max(inward);
    }
    // Then the turn, in order: monotonic, and not over the sweep limit.
    let mut sweep = 0.0f64;
    let mut previous_angle = angle(first, center);
    for &q in &run[1..] {
        let a = angle(xy(q), center);
        let step = wrap(a - previous_angle);
        if step == 0.0 || (sweep != 0.0 && step.signum() != sweep.signum()) {
            return None;
        }
        sweep += step;
        previous_angle = a;
    }
    if !(sweep.abs() <= limits.max_sweep_rad && sweep.abs() < TAU) {
        return None;
    }
    Some((error, Arc { from: 0, to: 0, center, radius: r, sweep }))
}

/// An arc as the control reads it: the words of one G2/G3 block.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// Clockwise (G2) or counter-clockwise (G3).
    pub clockwise: bool,
    /// Rounded end X and Y, as written.
    pub end: [Rounded; 2],
    /// Rounded centre offsets I and J from the start, as written.
    pub ij: [Rounded; 2],
    /// Extent of the arc the control cuts: `[min x, min y, max x, max y]`.
    pub bounds: [f64; 4],
}

/// The G2/G3 block for `arc` over `run` (the points `arc.from..=arc.to`), from the rounded
/// position `start` the control is at, or `None` where a rule of the module documentation
/// refuses it.
#[must_use]
pub fn block(start: [f64; 2], run: &[[f64; 3]], arc: &Arc, limits: &ArcLimits, decimals: usize) -> Option<Block> {
    let last = *run.last()?;
    let rounded_end = [Rounded::new(last[0], decimals)?, Rounded::new(last[1], decimals)?];
    let end = rounded_end.map(Rounded::value);
    let unit = 10f64.powi(-i32::try_from(decimals).ok()?);
    let chord = dist(start, end);
    // Rounded end == rounded start would read as a full circle.
    if !(chord >= unit / 2.0 && chord >= limits.min_chord_mm) {
        return None;
    }
    // The fitted centre moved onto the bisector of the rounded chord, so that only the
    // rounding of I and J separates the two radii.
    let m = [(start[0] + end[0]) / 2.0, (start[1] + end[1]) / 2.0];
    let n = [-(end[1] - start[1]) / chord, (end[0] - start[0]) / chord];
    let t = dot(sub(arc.center, m), n);
    let ij = [Rounded::new(m[0] + t * n[0] - start[0], decimals)?, Rounded::new(m[1] + t * n[1] - start[1], decimals)?];
    let [i, j] = ij.map(Rounded::value);
    let center = [start[0] + i, start[1] + j];
    let (r_start, r_end) = (i.hypot(j), dist(end, center));
    if !within((r_start - r_end).abs(), limits.radius_tolerance_mm) {
        return None;
    }
    let radius_ok = |r: f64| r >= limits.min_radius_mm && r <= limits.max_radius_mm;
    if !(radius_ok(r_start) && radius_ok(r_end)) {
        return None;
    }
    // The sweep the control computes: from the start angle to the end angle, the arc's way.
    let clockwise = arc.clockwise();
    let direction = if clockwise { -1.0 } else { 1.0 };
    let a_start = angle(start, center);
    let sweep = (direction * (angle(end, center) - a_start)).rem_euclid(TAU);
    if !(sweep > 0.0 && sweep <= limits.max_sweep_rad) || (sweep - arc.sweep.abs()).abs() > PI / 2.0 {
        return None;
    }
    // The control cuts a spiral from r_start to r_end: the run must stay within the fit
    // tolerance plus one unit of the last decimal of it, turning the same way.
    let spiral = Spiral { center, r_start, r_end, a_start, sweep, direction };
    if !spiral.follows(run, limits.tolerance_mm + unit) {
        return None;
    }
    Some(Block { clockwise, end: rounded_end, ij, bounds: spiral.bounds(start, end) })
}

/// The path a control cuts for an arc block: from `a_start` round `center` by `sweep` in
/// `direction` (1 counter-clockwise, -1 clockwise), the radius going from `r_start` to
/// `r_end` in proportion to the angle turned.
struct Spiral {
    center: [f64; 2],
    r_start: f64,
    r_end: f64,
    a_start: f64,
    sweep: f64,
    direction: f64,
}

impl Spiral {
    /// The spiral's radius in the direction of `p`: at the nearer end beyond the sweep.
    fn radius_at(&self, p: [f64; 2]) -> f64 {
        let along = (self.direction * (angle(p, self.center) - self.a_start)).rem_euclid(TAU);
        let f = if along <= self.sweep {
            along / self.sweep
        } else if along - self.sweep < TAU - along {
            1.0
        } else {
            0.0
        };
        self.r_start + (self.r_end - self.r_start) * f
    }

    /// Whether every point of `run`, and every chord between them, lies within `allowed` of
    /// the spiral, turning its way, the whole sweep within a quarter turn.
    fn follows(&self, run: &[[f64; 3]], allowed: f64) -> bool {
        let center = self.center;
        let mut previous = xy(run[0]);
        let mut turned = 0.0;
        for &q in &run[1..] {
            let q = xy(q);
            let step = self.direction * wrap(angle(q, center) - angle(previous, center));
            if step.is_nan() || step <= 0.0 {
                return false;
            }
            turned += step;
            let (r_previous, r_q) = (self.radius_at(previous), self.radius_at(q));
            let radial = (dist(q, center) - r_q).abs();
            let inward = r_previous.min(r_q) - segment_distance(center, previous, q);
            if !(within(radial, allowed) && within(inward, allowed)) {
                return false;
            }
            previous = q;
        }
        (turned - self.sweep).abs() <= PI / 2.0
    }

    /// The box of the block from `start` to `end`: the ends and every axis direction the arc
    /// passes, at its larger radius.
    fn bounds(&self, start: [f64; 2], end: [f64; 2]) -> [f64; 4] {
        let r_max = self.r_start.max(self.r_end);
        let mut bounds = [start[0].min(end[0]), start[1].min(end[1]), start[0].max(end[0]), start[1].max(end[1])];
        for quadrant in 0..4 {
            let axis = f64::from(quadrant) * PI / 2.0;
            if (self.direction * (axis - self.a_start)).rem_euclid(TAU) <= self.sweep {
                let (sin, cos) = axis.sin_cos();
                let p = [self.center[0] + r_max * cos, self.center[1] + r_max * sin];
                bounds = [bounds[0].min(p[0]), bounds[1].min(p[1]), bounds[2].max(p[0]), bounds[3].max(p[1])];
            }
        }
        bounds
    }
}

/// The fit's Newton iteration stops on a step of the arc parameter smaller than this: far
/// below the output's last decimal.
const NEWTON_STEP: f64 = 1e-12;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gcode::number;
    use proptest::prelude::*;

    fn limits() -> ArcLimits {
        ArcLimits {
            tolerance_mm: 0.001,
            max_sweep_rad: PI,
            min_chord_mm: 0.01,
            min_radius_mm: 0.01,
            max_radius_mm: 1000.0,
            radius_tolerance_mm: 0.002,
        }
    }

    fn circle(center: [f64; 2], r: f64, from_deg: f64, step_deg: f64, n: usize, z: f64) -> Vec<[f64; 3]> {
        (0..n)
            .map(|k| {
                let a = (from_deg + step_deg * k as f64).to_radians();
                [center[0] + r * a.cos(), center[1] + r * a.sin(), z]
            })
            .collect()
    }

    fn arcs(pieces: &[Piece]) -> Vec<Arc> {
        pieces.iter().filter_map(|p| if let Piece::Arc(a) = p { Some(*a) } else { None }).collect()
    }

    /// Checks that the pieces cover the polyline in order, and that every point of every
    /// arc's run and every chord midpoint is within the tolerance of the arc's circle.
    fn assert_valid(points: &[[f64; 3]], pieces: &[Piece], limits: &ArcLimits) {
        let mut at = 0;
        for piece in pieces {
            match *piece {
                Piece::Line(k) => {
                    assert_eq!(k, at + 1);
                    at = k;
                }
                Piece::Arc(arc) => {
                    assert_eq!(arc.from, at);
                    assert!(arc.to >= arc.from + MIN_SEGMENTS);
                    assert!(arc.sweep.abs() > 0.0 && arc.sweep.abs() <= limits.max_sweep_rad);
                    let run = &points[arc.from..=arc.to];
                    let near = |p: [f64; 2]| (dist(p, arc.center) - arc.radius).abs() <= limits.tolerance_mm + 1e-12;
                    for w in run.windows(2) {
                        let (a, b) = (xy(w[0]), xy(w[1]));
                        assert!(near(a) && near(b), "{a:?} {b:?} off {arc:?}");
                        assert!(near([(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0]), "midpoint of {a:?} {b:?}");
                        assert!((w[0][2] - w[1][2]).abs() <= SAME_Z_MM);
                    }
                    at = arc.to;
                }
            }
        }
        assert_eq!(at, points.len().saturating_sub(1));
    }

    #[test]
    fn a_polygon_on_a_circle_becomes_arcs_of_that_circle() {
        let center = [1.5, -2.0];
        // A whole lap of 64 segments, closed: never one full circle (0.6 um of sag).
        let points = circle(center, 0.5, 10.0, 360.0 / 64.0, 65, -0.1);
        let pieces = fit(&points, &limits());
        assert_valid(&points, &pieces, &limits());
        let found = arcs(&pieces);
        assert_eq!(found.len(), 2, "{pieces:?}");
        assert_eq!(found.len(), pieces.len());
        for arc in found {
            assert!(dist(arc.center, center) < 1e-9 && (arc.radius - 0.5).abs() < 1e-9, "{arc:?}");
            assert!(!arc.clockwise());
        }
        let reversed: Vec<_> = points.iter().rev().copied().collect();
        assert!(arcs(&fit(&reversed, &limits())).iter().all(Arc::clockwise));
    }

    #[test]
    fn a_rounded_square_is_four_lines_and_four_arcs() {
        // An offset ring: a 4 mm square grown by 0.4 mm with round joins of 7.2 degree steps.
        let r = 0.4;
        let mut points = Vec::new();
        for (corner, [cx, cy]) in [[2.0, 2.0], [-2.0, 2.0], [-2.0, -2.0], [2.0, -2.0]].into_iter().enumerate() {
            let from = 90.0 * corner as f64;
            points.extend(circle([cx, cy], r, from, 90.0 / 13.0, 14, -0.2));
        }
        points.push(points[0]);
        let pieces = fit(&points, &limits());
        assert_valid(&points, &pieces, &limits());
        let found = arcs(&pieces);
        assert_eq!(found.len(), 4, "{pieces:?}");
        assert_eq!(pieces.len(), 8, "{pieces:?}");
        for (arc, center) in found.iter().zip([[2.0, 2.0], [-2.0, 2.0], [-2.0, -2.0], [2.0, -2.0]]) {
            assert!(dist(arc.center, center) < 1e-6 && (arc.radius - r).abs() < 1e-6, "{arc:?}");
            assert!((arc.sweep - PI / 2.0).abs() < 1e-9);
        }
    }

    #[test]
    fn a_zigzag_stays_lines() {
        let points: Vec<[f64; 3]> =
            (0..40).map(|k| [k as f64 * 0.1, if k % 2 == 0 { 0.0 } else { 0.05 }, 0.0]).collect();
        let pieces = fit(&points, &limits());
        assert!(arcs(&pieces).is_empty(), "{pieces:?}");
        assert_eq!(pieces.len(), 39);
        let line: Vec<[f64; 3]> = (0..40).map(|k| [k as f64 * 0.1, 0.0, 0.0]).collect();
        assert!(arcs(&fit(&line, &limits())).is_empty());
    }

    #[test]
    fn a_helix_and_short_runs_stay_lines() {
        let mut helix = circle([0.0, 0.0], 0.3, 0.0, 360.0 / 32.0, 40, 0.0);
        for (k, p) in helix.iter_mut().enumerate() {
            p[2] = -0.001 * k as f64;
        }
        assert!(arcs(&fit(&helix, &limits())).is_empty());
        // Three points (two segments) on a circle are not enough.
        assert!(arcs(&fit(&circle([0.0, 0.0], 1.0, 0.0, 10.0, 3, 0.0), &limits())).is_empty());
        assert!(fit(&[], &limits()).is_empty());
        assert!(fit(&[[0.0; 3]], &limits()).is_empty());
    }

    #[test]
    fn sag_beyond_the_tolerance_is_not_an_arc() {
        // 30 degree steps on a 1 mm circle: 34 um of sag at every chord midpoint.
        let points = circle([0.0, 0.0], 1.0, 0.0, 30.0, 6, 0.0);
        assert!(arcs(&fit(&points, &limits())).is_empty());
        // Inside the tolerance once it is loose enough.
        let loose = ArcLimits { tolerance_mm: 0.04, ..limits() };
        assert_eq!(arcs(&fit(&points, &loose)).len(), 1);
    }

    #[test]
    fn the_sweep_limit_splits_arcs() {
        let points = circle([0.0, 0.0], 1.0, 0.0, 2.0, 181, 0.0);
        let quarter = ArcLimits { max_sweep_rad: PI / 2.0, ..limits() };
        let found = arcs(&fit(&points, &quarter));
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found.iter().all(|a| a.sweep <= PI / 2.0 + 1e-12));
    }

    #[test]
    fn non_finite_points_are_lines() {
        let mut points = circle([0.0, 0.0], 1.0, 0.0, 5.0, 10, 0.0);
        points[4][0] = f64::NAN;
        let pieces = fit(&points, &limits());
        assert_valid(&points, &pieces, &limits());
        assert!(arcs(&pieces).iter().all(|a| a.to < 4 || a.from > 4));
    }

    fn block_of(points: &[[f64; 3]], limits: &ArcLimits, decimals: usize) -> Option<Block> {
        let Some(Piece::Arc(arc)) = fit(points, limits).first().copied() else { panic!("no arc") };
        let run = &points[arc.from..=arc.to];
        let start: Vec<f64> = run[0][..2].iter().map(|&v| number(v, decimals).parse().unwrap()).collect();
        block([start[0], start[1]], run, &arc, limits, decimals)
    }

    #[test]
    fn a_block_is_from_the_rounded_start() {
        let points = circle([0.0, 0.0], 0.2, 0.0, 10.0, 10, 0.0);
        let b = block_of(&points, &limits(), 3).unwrap();
        assert!(!b.clockwise);
        assert_eq!(b.end.map(|r| r.to_string()), ["0.".to_string(), "0.2".to_string()]);
        assert_eq!(b.ij.map(|r| r.to_string()), ["-0.2".to_string(), "0.".to_string()]);
        assert_eq!(b.bounds, [0.0, 0.0, 0.2, 0.2]);
    }

    #[test]
    fn an_arc_that_rounds_to_nothing_is_refused() {
        // A tiny arc whose end rounds onto its start: in IJ form that is a full circle.
        let tiny = ArcLimits { min_chord_mm: 0.0, min_radius_mm: 1e-6, ..limits() };
        let points = circle([0.0, 0.0], 0.0002, 0.0, 20.0, 5, 0.0);
        assert!(block_of(&points, &tiny, 3).is_none());
        // The same arc in 10 um units is fine at 6 decimals.
        assert!(block_of(&points, &tiny, 6).is_some());
        // An arc of nearly a whole turn whose end rounds onto the start.
        let wide = ArcLimits { max_sweep_rad: 359.99f64.to_radians(), ..tiny };
        let points = circle([0.0, 0.0], 1.0, 0.0, 359.98 / 72.0, 73, 0.0);
        assert!(matches!(fit(&points, &wide)[0], Piece::Arc(_)));
        assert!(block_of(&points, &wide, 3).is_none());
    }

    #[test]
    fn rounding_that_breaks_the_radius_is_refused() {
        // Rounding I and J leaves the radii to the rounded start and end a little apart.
        let points = circle([0.0301, 0.0203], 0.2, 3.0, 10.0, 10, 0.0);
        assert!(block_of(&points, &limits(), 3).is_some());
        let exact = ArcLimits { radius_tolerance_mm: 1e-9, ..limits() };
        assert!(block_of(&points, &exact, 3).is_none());
    }

    #[test]
    fn blocks_obey_the_limits() {
        let points = circle([0.0, 0.0], 0.2, 0.0, 10.0, 10, 0.0);
        let fitted = limits();
        let Piece::Arc(arc) = fit(&points, &fitted)[0] else { panic!("no arc") };
        let run = &points[arc.from..=arc.to];
        assert!(block([0.2, 0.0], run, &arc, &fitted, 3).is_some());
        for strict in [
            ArcLimits { min_chord_mm: 0.5, ..fitted },
            ArcLimits { min_radius_mm: 0.3, ..fitted },
            ArcLimits { max_radius_mm: 0.1, ..fitted },
            ArcLimits { max_sweep_rad: 1.0, ..fitted },
        ] {
            assert!(block([0.2, 0.0], run, &arc, &strict, 3).is_none(), "{strict:?}");
        }
    }

    proptest! {
        /// Arcs through noisy points: whatever is accepted keeps every point and chord
        /// midpoint within the tolerance, and every block keeps them within the tolerance
        /// plus one unit of the last decimal of the arc the control reads.
        #[test]
        fn accepted_arcs_stay_within_tolerance(
            r in 0.05f64..20.0,
            step_deg in 0.5f64..25.0,
            noise in prop::collection::vec(-0.002f64..0.002, 4..80),
            cx in -5.0f64..5.0,
            cy in -5.0f64..5.0,
        ) {
            let limits = limits();
            let points: Vec<[f64; 3]> = noise
                .iter()
                .enumerate()
                .map(|(k, dr)| {
                    let a = (step_deg * k as f64).to_radians();
                    [cx + (r + dr) * a.cos(), cy + (r + dr) * a.sin(), -0.5]
                })
                .collect();
            let pieces = fit(&points, &limits);
            assert_valid(&points, &pieces, &limits);
            for arc in arcs(&pieces) {
                let run = &points[arc.from..=arc.to];
                let start = [number(run[0][0], 3).parse().unwrap(), number(run[0][1], 3).parse().unwrap()];
                let Some(b) = block(start, run, &arc, &limits, 3) else { continue };
                let ij: Vec<f64> = b.ij.iter().map(|t| t.to_string().parse().unwrap()).collect();
                let center = [start[0] + ij[0], start[1] + ij[1]];
                let radius = ij[0].hypot(ij[1]);
                for p in run {
                    let off = (dist(xy(*p), center) - radius).abs();
                    prop_assert!(off <= limits.tolerance_mm + 0.001 + limits.radius_tolerance_mm, "{off}");
                }
            }
        }

        /// Any polyline: the pieces cover it and every arc is within the tolerance.
        #[test]
        fn any_polyline_is_covered(points in prop::collection::vec((-3.0f64..3.0, -3.0f64..3.0), 0..60)) {
            let points: Vec<[f64; 3]> = points.into_iter().map(|(x, y)| [x, y, 0.0]).collect();
            assert_valid(&points, &fit(&points, &limits()), &limits());
        }
    }
}
