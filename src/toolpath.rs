//! Stage 3: [`Relief`] to [`Toolpaths`], concentric-offset pocketing of every level.
//!
//! Guarantees of the output: every cutting position keeps the tool (a flat end mill of radius
//! r) inside the level's area: the tool centre stays on offsets of the area by at least r,
//! computed from the area itself (never offsets of offsets), with round joins inscribed in
//! the exact offset by at most 0.2 % of the distance ([`geom::ROUND_JOIN_STEP`]). Each level
//! is cut in equal step-downs no deeper than the tool's step-down. Within a step-down the
//! rings are cut inside-out (each ring after the rings it encloses), so a pass ends on the
//! wall; rings run clockwise around material outside and counter-clockwise around islands,
//! which is climb milling with a clockwise (M3) spindle. A ring entered from above is entered
//! by a ramp along the ring itself at the ramp angle, never by a plunge, except where the ring
//! is too short for a ramp of [`MAX_RAMP_LAPS`] laps. A link stays down only when the
//! straight move keeps the tool centre inside the level's tool-centre area and crosses either
//! cleared floor or at most one tool diameter of material; otherwise the path retracts.
//! Regions are computed in parallel and merged in input order, so the result does not depend
//! on the thread count.

use indicatif::ParallelProgressIterator;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::geom::{self, Contour, Point, Shape, Shapes};
use crate::progress::Progress;
use crate::relief::Relief;
use crate::Warning;

/// A ring is ramped along for at most this many laps; a shorter ring is entered by a plunge.
///
/// A ring this short is a tool-centre path around a nearly point-like pocket centre, where a
/// ramp would only be a tight helix over the same spot.
pub const MAX_RAMP_LAPS: f64 = 8.0;

/// The shape of a cutter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    /// Flat end mill.
    Flat,
}

impl ToolKind {
    /// The name used in job files and reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ToolKind::Flat => "flat",
        }
    }
}

/// A cutter with its resolved cutting data.
#[derive(Debug, Clone)]
pub struct Tool {
    /// Tool number in the machine's magazine (`T` word).
    pub number: u32,
    /// Cutter shape.
    pub kind: ToolKind,
    /// Cutting diameter in mm.
    pub diameter_mm: f64,
    /// Number of flutes.
    pub flutes: u32,
    /// Radial step between rings, in mm.
    pub stepover_mm: f64,
    /// Maximum axial depth of one pass, in mm.
    pub stepdown_mm: f64,
    /// Spindle speed.
    pub spindle_rpm: f64,
    /// Feed for cutting moves.
    pub feed_mm_per_min: f64,
    /// Feed for plunges and ramps.
    pub plunge_mm_per_min: f64,
}

/// How to cut the relief.
#[derive(Debug, Clone)]
pub struct ToolpathOptions {
    /// The tools; this stage uses the first.
    pub tools: Vec<Tool>,
    /// Ramp angle of entries, in degrees from horizontal.
    pub ramp_angle_deg: f64,
}

impl ToolpathOptions {
    /// Diameter of the smallest tool, in mm (0 without tools).
    #[must_use]
    pub fn smallest_tool_mm(&self) -> f64 {
        self.tools.iter().map(|t| t.diameter_mm).reduce(f64::min).unwrap_or(0.0)
    }
}

/// All the moves that cut the die, grouped by tool and level.
#[derive(Debug, Clone)]
pub struct Toolpaths {
    /// Operations in cutting order.
    pub operations: Vec<Operation>,
    /// Findings of the planning (regions too narrow are the relief's design check's).
    pub warnings: Vec<Warning>,
}

/// The moves of one tool on one level.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The tool.
    pub tool: Tool,
    /// Depth of the level in mm (positive).
    pub depth_mm: f64,
    /// Paths in cutting order.
    pub paths: Vec<Path>,
}

/// A continuous cutting move, reached either by a retract-and-approach or by a direct link.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// Whether the tool retracts to clearance height before this path. When false, the tool
    /// moves straight at feed from the end of the previous path to the first point.
    pub retract: bool,
    /// Points `[x, y, z]` in mm; z is negative below the die face.
    pub points: Vec<[f64; 3]>,
}

/// Longest total cutting path planned, in mm (20 km). An extreme real job, a 76 mm medal
/// cut 1 mm deep with a 0.1 mm tool, is about 11 km; the cap keeps a mistaken size or
/// stepover from exhausting memory (a few GB at most) instead of failing.
pub const MAX_PATH_MM: f64 = 2e7;

/// Refuses, before planning, a job whose cutting path would exceed [`MAX_PATH_MM`]: estimated
/// as every level's area over the stepover, times its step-downs.
///
/// # Errors
///
/// [`Error::Limit`] with the estimate.
pub fn check_size(relief: &Relief, options: &ToolpathOptions) -> Result<()> {
    let Some(tool) = options.tools.first() else { return Ok(()) };
    let mut estimate = 0.0;
    let mut top = 0.0;
    for level in &relief.levels {
        let passes = ((level.depth_mm - top) / tool.stepdown_mm).ceil().max(1.0);
        estimate += geom::shapes_area(&level.area) / tool.stepover_mm * passes;
        top = level.depth_mm;
    }
    if estimate > MAX_PATH_MM {
        return Err(Error::Limit(format!(
            "the toolpath would be about {:.0} km long: check the artwork size and the tool's stepover",
            estimate / 1e6
        )));
    }
    Ok(())
}

/// Plans the toolpaths for every level of the relief.
///
/// # Errors
///
/// [`Error::ToolTooLarge`] when the tool fits in no region of any level.
pub fn plan(relief: &Relief, options: &ToolpathOptions, progress: &Progress) -> Result<Toolpaths> {
    let tool =
        options.tools.first().ok_or_else(|| Error::Setting { key: "tool".into(), reason: "no tool given".into() })?;
    // Every (level, region) is independent: one parallel pass over all of them, collected in
    // input order, then grouped by level.
    let jobs: Vec<(usize, f64, f64, &Shape)> = relief
        .levels
        .iter()
        .enumerate()
        .flat_map(|(i, level)| {
            let top = if i == 0 { 0.0 } else { relief.levels[i - 1].depth_mm };
            level.area.iter().map(move |region| (i, top, level.depth_mm, region))
        })
        .collect();
    let bar = progress.stage("toolpaths", jobs.len() as u64);
    let planned: Vec<(usize, RegionPlan)> = jobs
        .par_iter()
        .progress_with(bar.clone())
        .map(|&(i, top, depth, region)| (i, plan_region(region, tool, top, depth, options.ramp_angle_deg)))
        .collect();
    let mut per_level: Vec<Vec<RegionPlan>> = relief.levels.iter().map(|_| Vec::new()).collect();
    for (i, plan) in planned {
        per_level[i].push(plan);
    }
    let mut operations = Vec::new();
    for (level, plans) in relief.levels.iter().zip(per_level) {
        let paths = order_regions(plans);
        if !paths.is_empty() {
            operations.push(Operation { tool: tool.clone(), depth_mm: level.depth_mm, paths });
        }
    }
    bar.finish_and_clear();
    if operations.is_empty() {
        return Err(Error::ToolTooLarge { number: tool.number, diameter_mm: tool.diameter_mm });
    }
    Ok(Toolpaths { operations, warnings: Vec::new() })
}

/// The paths of one region, all step-downs.
struct RegionPlan {
    paths: Vec<Path>,
}

/// One offset ring of the tool-centre area, with its place in the nesting tree.
struct Ring {
    shape: Shape,
    children: Vec<usize>,
}

fn plan_region(region: &Shape, tool: &Tool, top_mm: f64, depth_mm: f64, ramp_angle_deg: f64) -> RegionPlan {
    let radius = tool.diameter_mm / 2.0;
    let region_shapes: Shapes = vec![region.clone()];
    let (rings, roots) = offset_rings(&region_shapes, radius, tool.stepover_mm);
    if roots.is_empty() {
        return RegionPlan { paths: Vec::new() };
    }
    let order = cutting_order(&rings, &roots);
    let domain: Shapes = roots.iter().map(|&i| rings[i].shape.clone()).collect();
    let passes = ((depth_mm - top_mm) / tool.stepdown_mm - 1e-9).ceil().max(1.0);
    let ramp_slope = ramp_angle_deg.to_radians().tan();
    let mut cutter = Cutter { paths: Vec::new(), at: None, domain: &domain, max_slot_mm: tool.diameter_mm };
    let mut z_from = -top_mm;
    for pass in 1..=passes as usize {
        let z = -(top_mm + (depth_mm - top_mm) * pass as f64 / passes);
        cutter.pass(&rings, &order, z_from, z, ramp_slope);
        z_from = z;
    }
    RegionPlan { paths: cutter.paths }
}

/// The offset rings of `area` at tool radius plus multiples of the stepover, as a tree: a
/// ring's children are the rings of the next offset that lie inside it.
///
/// The first ring, which bounds where the tool centre may go, is offset from the area itself.
/// Each further ring is offset from the ring before and simplified by [`RING_SIMPLIFY_MM`]:
/// erosion composes exactly, the simplification keeps vertex counts from doubling level after
/// level (deps.md section 4.3), and its error, at most k x 1 um after k rings, is far
/// below the k x stepover that separates ring k from the first ring; between neighbouring
/// rings it changes the stepover by at most 2 um.
fn offset_rings(area: &Shapes, radius: f64, stepover: f64) -> (Vec<Ring>, Vec<usize>) {
    let mut rings: Vec<Ring> = Vec::new();
    let mut roots = Vec::new();
    let mut previous: Vec<usize> = Vec::new();
    let mut shapes = geom::offset(area, -radius);
    for step in 0.. {
        if shapes.is_empty() {
            break;
        }
        let mut current = Vec::with_capacity(shapes.len());
        for shape in std::mem::take(&mut shapes) {
            let index = rings.len();
            let probe = shape[0][0];
            let parent = previous.iter().copied().find(|&p| geom::shape_contains(&rings[p].shape, probe));
            match parent {
                Some(p) => rings[p].children.push(index),
                None if step == 0 => roots.push(index),
                // Numerically on the parent's edge: hang it under the nearest previous ring.
                None => {
                    let nearest = previous
                        .iter()
                        .copied()
                        .min_by(|&a, &b| {
                            let da = geom::boundary_distance(std::slice::from_ref(&rings[a].shape), probe);
                            let db = geom::boundary_distance(std::slice::from_ref(&rings[b].shape), probe);
                            da.total_cmp(&db)
                        })
                        .expect("a later offset ring always has earlier rings");
                    rings[nearest].children.push(index);
                }
            }
            rings.push(Ring { shape, children: Vec::new() });
            current.push(index);
        }
        let last: Shapes = current.iter().map(|&i| rings[i].shape.clone()).collect();
        shapes = geom::simplify_contours(&geom::offset(&last, -stepover), RING_SIMPLIFY_MM);
        previous = current;
    }
    (rings, roots)
}

/// Simplification of each ring before the next is offset from it, in mm.
const RING_SIMPLIFY_MM: f64 = 0.001;

/// Rings in cutting order: each ring after all the rings it encloses (post-order).
fn cutting_order(rings: &[Ring], roots: &[usize]) -> Vec<usize> {
    fn visit(rings: &[Ring], index: usize, out: &mut Vec<usize>) {
        for &child in &rings[index].children {
            visit(rings, child, out);
        }
        out.push(index);
    }
    let mut out = Vec::with_capacity(rings.len());
    for &root in roots {
        visit(rings, root, &mut out);
    }
    out
}

/// Builds the paths of one region, keeping track of where the tool is.
struct Cutter<'a> {
    paths: Vec<Path>,
    /// Tool position and whether everything around it at its depth is already cleared.
    at: Option<([f64; 3], bool)>,
    /// Where the tool centre may go at cutting depth.
    domain: &'a Shapes,
    /// Longest link allowed through uncut material.
    max_slot_mm: f64,
}

impl Cutter<'_> {
    /// Cuts every ring once at depth `z`, entering from the floor at `z_from`.
    fn pass(&mut self, rings: &[Ring], order: &[usize], z_from: f64, z: f64, ramp_slope: f64) {
        for &index in order {
            for contour in &rings[index].shape {
                // The engine gives outer contours counter-clockwise and holes clockwise;
                // climb milling runs both the other way (material on the cutter's left).
                let mut ring: Contour = contour.clone();
                ring.reverse();
                self.ring(ring, z_from, z, ramp_slope);
            }
        }
        if let Some((_, cleared)) = self.at.as_mut() {
            *cleared = true;
        }
    }

    /// How to reach `first` from the current position without retracting, if that is safe:
    /// `Some(false)` to link at depth `z` and cut on, `Some(true)` to link over the cleared
    /// floor at `z_from` and ramp down from there.
    fn link(&self, first: Point, z_from: f64, z: f64) -> Option<bool> {
        let (p, cleared) = self.at?;
        let inside = self.domain.iter().any(|s| geom::shape_contains_segment(s, [p[0], p[1]], first));
        if !inside {
            return None;
        }
        let length = dist([p[0], p[1]], first);
        if (p[2] - z).abs() < 1e-9 && (cleared || length <= self.max_slot_mm) {
            Some(false)
        } else if cleared && (p[2] - z_from).abs() < 1e-9 {
            Some(true)
        } else {
            None
        }
    }

    fn ring(&mut self, mut ring: Contour, z_from: f64, z: f64, ramp_slope: f64) {
        if ring.len() < 2 {
            return;
        }
        if let Some((p, _)) = self.at {
            let start = nearest_vertex(&ring, [p[0], p[1]]);
            ring.rotate_left(start);
        }
        let (mut points, start_index, retract) = if self.link(ring[0], z_from, z) == Some(false) {
            (vec![[ring[0][0], ring[0][1], z]], 0, false)
        } else {
            let (points, start_index) = self.entry(&ring, z_from, z, ramp_slope);
            let retract = self.link([points[0][0], points[0][1]], z_from, z) != Some(true);
            (points, start_index, retract)
        };
        for i in 1..=ring.len() {
            let p = ring[(start_index + i) % ring.len()];
            points.push([p[0], p[1], z]);
        }
        let last = *points.last().expect("a ring has points");
        self.paths.push(Path { retract, points });
        self.at = Some((last, false));
    }

    /// The moves that take the tool from the floor at `z_from` down to `z` on `ring`, and the
    /// ring vertex they end on. A ramp along the ring is used when it is long enough for
    /// [`MAX_RAMP_LAPS`] laps, or when no helix fits; otherwise a helix inside the tool-centre
    /// area around the ring, then a short link to the ring.
    fn entry(&self, ring: &[Point], z_from: f64, z: f64, slope: f64) -> (Vec<[f64; 3]>, usize) {
        let mut points = Vec::new();
        let perimeter: f64 = (0..ring.len()).map(|i| dist(ring[i], ring[(i + 1) % ring.len()])).sum();
        let needed = (z_from - z) / slope.max(1e-6);
        if perimeter * MIN_RING_LAPS_BEFORE_HELIX >= needed {
            ramp_into(ring, z_from, z, slope, &mut points);
            let end = *points.last().expect("ramp_into emits at least one point");
            return (points, points_index(ring, end));
        }
        let n = ring.len() as f64;
        let center = [ring.iter().map(|p| p[0]).sum::<f64>() / n, ring.iter().map(|p| p[1]).sum::<f64>() / n];
        for fraction in HELIX_DIAMETER_FRACTIONS {
            let radius = fraction * self.max_slot_mm / 2.0;
            let circle: Vec<Point> = (0..HELIX_SEGMENTS)
                .map(|k| {
                    let a = std::f64::consts::TAU * k as f64 / HELIX_SEGMENTS as f64;
                    [center[0] + radius * a.cos(), center[1] + radius * a.sin()]
                })
                .collect();
            let fits = (0..circle.len()).all(|k| {
                let (a, b) = (circle[k], circle[(k + 1) % circle.len()]);
                self.domain.iter().any(|s| geom::shape_contains_segment(s, a, b))
            });
            if fits {
                helix(&circle, z_from, z, slope, &mut points);
                points.push([ring[0][0], ring[0][1], z]);
                return (points, 0);
            }
        }
        ramp_into(ring, z_from, z, slope, &mut points);
        let end = *points.last().expect("ramp_into emits at least one point");
        (points, points_index(ring, end))
    }
}

/// A ring shorter than this many laps of the ramp is entered by a helix where one fits.
const MIN_RING_LAPS_BEFORE_HELIX: f64 = 2.0;

/// Helix diameters tried, as fractions of the tool diameter, largest first. Above 0.9 the
/// centre of a non-centre-cutting tool could leave a post; below 0.2 the helix is a plunge.
const HELIX_DIAMETER_FRACTIONS: [f64; 4] = [0.8, 0.6, 0.4, 0.2];

/// Segments of one helix lap (chord sag 0.5 % of the radius).
const HELIX_SEGMENTS: usize = 32;

/// Appends a descending helix over `circle` from `z_from` to `z`, then one lap at `z`.
fn helix(circle: &[Point], z_from: f64, z: f64, slope: f64, out: &mut Vec<[f64; 3]>) {
    let lap = (0..circle.len()).map(|i| dist(circle[i], circle[(i + 1) % circle.len()])).sum::<f64>();
    let step = lap / circle.len() as f64;
    out.push([circle[0][0], circle[0][1], z_from]);
    let mut zi = z_from;
    let mut i = 0;
    while zi > z {
        i += 1;
        zi = (zi - step * slope).max(z);
        let p = circle[i % circle.len()];
        out.push([p[0], p[1], zi]);
    }
    for k in 1..=circle.len() {
        let p = circle[(i + k) % circle.len()];
        out.push([p[0], p[1], z]);
    }
}

/// Index of the ring vertex at `p` (the ramp always ends on a vertex).
fn points_index(ring: &[Point], p: [f64; 3]) -> usize {
    ring.iter().position(|q| q[0] == p[0] && q[1] == p[1]).unwrap_or(0)
}

/// Appends a ramp along the closed `ring` from `z_from` down to `z`, starting at vertex 0 and
/// ending on a vertex. A ring too short to ramp within [`MAX_RAMP_LAPS`] laps is entered by a
/// straight plunge at its first vertex.
fn ramp_into(ring: &[Point], z_from: f64, z: f64, slope: f64, out: &mut Vec<[f64; 3]>) {
    let drop = z_from - z;
    let length_needed = drop / slope.max(1e-6);
    let perimeter: f64 = (0..ring.len()).map(|i| dist(ring[i], ring[(i + 1) % ring.len()])).sum();
    out.push([ring[0][0], ring[0][1], z_from]);
    if drop <= 0.0 {
        return;
    }
    if perimeter * MAX_RAMP_LAPS < length_needed {
        out.push([ring[0][0], ring[0][1], z]);
        return;
    }
    let mut travelled = 0.0;
    let mut i = 0;
    loop {
        let a = ring[i % ring.len()];
        let b = ring[(i + 1) % ring.len()];
        travelled += dist(a, b);
        i += 1;
        let zi = (z_from - travelled * slope).max(z);
        out.push([b[0], b[1], zi]);
        if zi <= z {
            break;
        }
    }
}

fn dist(a: Point, b: Point) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

fn nearest_vertex(ring: &[Point], p: Point) -> usize {
    let mut best = 0;
    let mut best_d = f64::INFINITY;
    for (i, q) in ring.iter().enumerate() {
        let d = (q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2);
        if d < best_d {
            best = i;
            best_d = d;
        }
    }
    best
}

/// Orders the regions greedily by nearest entry from the die centre, deterministically.
fn order_regions(planned: Vec<RegionPlan>) -> Vec<Path> {
    let mut remaining: Vec<Option<RegionPlan>> =
        planned.into_iter().filter(|p| !p.paths.is_empty()).map(Some).collect();
    let mut at = [0.0, 0.0];
    let mut out = Vec::new();
    for _ in 0..remaining.len() {
        let mut best = None;
        let mut best_d = f64::INFINITY;
        for (i, plan) in remaining.iter().enumerate() {
            if let Some(plan) = plan {
                let p = plan.paths[0].points[0];
                let d = (p[0] - at[0]).powi(2) + (p[1] - at[1]).powi(2);
                if d < best_d {
                    best = Some(i);
                    best_d = d;
                }
            }
        }
        let plan = remaining[best.expect("one plan remains per iteration")].take().expect("not taken yet");
        let last = plan.paths.last().and_then(|p| p.points.last()).expect("plans are non-empty");
        at = [last[0], last[1]];
        let mut paths = plan.paths;
        paths[0].retract = true;
        out.extend(paths);
    }
    out
}
