//! V-carving one region: a tapered tool along the region's medial axis, each point as deep
//! as puts the edge of the cut on the outline (the tool's [`Tool::height_at`] the inscribed
//! circle's radius), capped at the region's depth; where the region is wider than the cap
//! allows, the floor is the flat tools' and the walls the V-bit's, by rings at the offset
//! where its flank meets the outline.
//!
//! The depth is taken in the tool's step-downs, pass by pass. In a pass the tool walks the
//! axis branch by branch, depth first, and never goes down more steeply than [`MAX_DESCENT`]
//! into stock it has not cut (the guard's plunge is anything steeper than 45 degrees): where
//! the axis drops faster, it follows as it can and walks the branch back from its far end;
//! what is still too steep from both sides is left and counted. A walk starts, and goes on
//! after a jump, only at a point the tool has already passed through as deep (or at the die
//! face), so no descent from above bites.

use super::medial::{medial_axis, AxisError, Branch, MedialAxis};
use super::{Path, SAME_MM};
use crate::geom::{self, Contour, Point, Polyline};
use crate::tool::Tool;

/// Steepest descent into uncut stock, as drop over XY travel: 39 degrees, under the 45 of a
/// plunge with room for rounding.
pub const MAX_DESCENT: f64 = 0.8;

/// Rounds of walks over what is still short after a pass, while they gain.
const FIX_ROUNDS: usize = 3;

/// Back from a dead end, the tool goes back along its cut when that is at most this long, in
/// mm, and lifts otherwise: at the feed of a fine V-bit, about the time of a lift.
const WALK_BACK_MM: f64 = 3.0;

/// The most a step of `ds` mm in XY may go down into stock: [`MAX_DESCENT`] of it, and so
/// much less that rounding to the program's 1 um (at most 1 um on the drop, 1.4 on the travel)
/// cannot make it steeper than 45 degrees; on a step too short for that, `short_drop`, what the
/// guard lets a tip bite.
fn descent(ds: f64, short_drop: f64) -> f64 {
    (MAX_DESCENT * ds).min((ds - ROUNDING_MM).max(short_drop))
}

/// What rounding to the program's 1 um can take from a step's travel and add to its drop,
/// together, in mm.
const ROUNDING_MM: f64 = 0.0025;

/// How to carve.
#[derive(Debug, Clone, Copy)]
pub struct CarveOptions {
    /// The region's depth: the deepest the carve goes, in mm (positive).
    pub depth_mm: f64,
    /// The depth around the region, where its walls start at its outline, in mm (0: the die
    /// face; at most `depth_mm`).
    pub surround_mm: f64,
    /// How far the chords of the axis's curves may sag, in mm.
    pub sag_mm: f64,
    /// A branch of the axis whose cut the rest holds within this many mm is not walked.
    pub prune_mm: f64,
    /// How far inside the outline the cut stays, in mm: room for the program's arcs and
    /// rounding, which on a V-bit's steep flank are an error several times as deep.
    pub allowance_mm: f64,
    /// Where the floor at the depth is this much wider either side of the axis than the
    /// carve's cap, a flat tool that cut before the carve has cleared it, in mm: the carve
    /// does not walk there, and goes through it as through its own cut (0: no such tool).
    pub cleared_mm: f64,
}

/// The paths that carve one region, and what they leave.
#[derive(Debug, Clone, Default)]
pub struct Carving {
    /// Paths in cutting order; the first retracts.
    pub paths: Vec<Path>,
    /// The most the carve is left short of its depth where the axis falls too steeply from
    /// both sides, in mm (0 when it reaches everywhere).
    pub short_mm: f64,
}

/// Carves `shape` (an outer contour and its holes) with `tool`.
///
/// # Errors
///
/// [`AxisError`] when the medial axis cannot be computed.
pub fn carve(shape: &[Contour], tool: &Tool, options: CarveOptions) -> Result<Carving, AxisError> {
    let axis = resampled(&medial_axis(shape, options.sag_mm)?, SAMPLE_MM, tool.radius_at(0.0) + options.allowance_mm);
    let mut walker = Walker::new(&axis, tool, options);
    let mut paths = Vec::new();
    for bottom in step_downs(tool, options.depth_mm) {
        walker.pass(bottom, &mut paths);
    }
    // The walls' wedge, which the flat tools leave beside the floor, is thin (its width the
    // depth times the slope): one ring at the depth takes it.
    paths.extend(rings(shape, tool, options, walker.short_drop));
    let short_mm = walker.short(-options.depth_mm);
    for path in &mut paths {
        path.points = straightened(&path.points);
    }
    Ok(Carving { paths, short_mm })
}

/// Engraves `lines` with `tool` along their centres, `options.depth_mm` deep (the groove as
/// wide as the tool is there), in the tool's step-downs as [`carve`] takes a region's axis.
#[must_use]
pub fn engrave(lines: &[Polyline], tool: &Tool, options: CarveOptions) -> Carving {
    let r = tool.radius_at(options.depth_mm) + options.allowance_mm;
    let branches = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.points.len() >= 2)
        .map(|(i, line)| {
            let mut points: Vec<[f64; 3]> = line.points.iter().map(|p| [p[0], p[1], r]).collect();
            let ends = if line.closed {
                points.push(points[0]);
                [2 * i, 2 * i]
            } else {
                [2 * i, 2 * i + 1]
            };
            Branch { ends, points }
        })
        .collect();
    let axis = resampled(&MedialAxis { branches }, SAMPLE_MM, tool.radius_at(0.0) + options.allowance_mm);
    let mut walker = Walker::new(&axis, tool, options);
    let mut paths = Vec::new();
    for bottom in step_downs(tool, options.depth_mm) {
        walker.pass(bottom, &mut paths);
    }
    let short_mm = walker.short(-options.depth_mm);
    for path in &mut paths {
        path.points = straightened(&path.points);
    }
    Carving { paths, short_mm }
}

/// The bottoms of the passes down to `depth_mm` in `tool`'s step-downs (negative), the last
/// on the depth.
fn step_downs(tool: &Tool, depth_mm: f64) -> impl Iterator<Item = f64> {
    let stepdown = tool.stepdown_mm.max(1e-3);
    let passes = ((depth_mm / stepdown) - 1e-9).ceil().max(1.0) as usize;
    (1..=passes).map(move |k| -(k as f64 * stepdown).min(depth_mm))
}

/// `points` without the points that lie on the line between their neighbours (within
/// 0.1 um): the fine steps of a walk where it runs straight.
fn straightened(points: &[[f64; 3]]) -> Vec<[f64; 3]> {
    let mut out: Vec<[f64; 3]> = Vec::with_capacity(points.len());
    for &p in points {
        while out.len() >= 2 {
            let (a, b) = (out[out.len() - 2], out[out.len() - 1]);
            let ab: [f64; 3] = std::array::from_fn(|c| b[c] - a[c]);
            let ap: [f64; 3] = std::array::from_fn(|c| p[c] - a[c]);
            let len2 = ap.iter().map(|v| v * v).sum::<f64>();
            let t = if len2 > 0.0 { ab.iter().zip(&ap).map(|(u, v)| u * v).sum::<f64>() / len2 } else { -1.0 };
            let off = (0..3).map(|c| (a[c] + ap[c] * t - b[c]).powi(2)).sum::<f64>().sqrt();
            if (0.0..=1.0).contains(&t) && off < 1e-4 {
                out.pop();
            } else {
                break;
            }
        }
        out.push(p);
    }
    out
}

/// The axis is walked in steps of at most this, in mm: what each pass has cut is known at
/// this spacing, and a walk ends where the work does, within it.
const SAMPLE_MM: f64 = 0.025;

/// `axis` with points added so that none is more than `step` mm from the next, and where the
/// radius passes `tip` (the tool's radius at its tip), the radius taken linearly between
/// (exact on the straight branches between two edges; the curved ones are sampled finer
/// already).
fn resampled(axis: &MedialAxis, step: f64, tip: f64) -> MedialAxis {
    let branches = axis
        .branches
        .iter()
        .map(|b| {
            let mut points = vec![b.points[0]];
            for w in b.points.windows(2) {
                let n = (geom::distance([w[0][0], w[0][1]], [w[1][0], w[1][1]]) / step).ceil().max(1.0) as usize;
                let n = n.min(1 << 16);
                let at = |t: f64| -> [f64; 3] { std::array::from_fn(|c| w[0][c] + (w[1][c] - w[0][c]) * t) };
                // Where the radius passes the tip's, the depth starts to fall: a point there,
                // or a chord across it would cut below the wall.
                let kink = (w[0][2] - tip) * (w[1][2] - tip) < 0.0;
                let t_kink = if kink { (tip - w[0][2]) / (w[1][2] - w[0][2]) } else { f64::NAN };
                for k in 1..=n {
                    let t = k as f64 / n as f64;
                    if t_kink > (k - 1) as f64 / n as f64 && t_kink < t {
                        points.push(at(t_kink));
                    }
                    points.push(at(t));
                }
            }
            super::medial::Branch { ends: b.ends, points }
        })
        .collect();
    MedialAxis { branches }
}

/// The tool along the axis, with what it has cut so far.
struct Walker<'a> {
    axis: &'a MedialAxis,
    /// Per branch and point, the depth the carve wants there (negative).
    target: Vec<Vec<f64>>,
    /// Per branch and point, the lowest the tool has been there (0: the die face).
    cut: Vec<Vec<f64>>,
    /// Per node, its branches (index, whether the node is the branch's first point).
    at_node: Vec<Vec<(usize, bool)>>,
    /// Per node, the lowest the tool has been there.
    node_cut: Vec<f64>,
    /// The most a step too short for the slope goes down, in mm.
    short_drop: f64,
    /// Where the tool is.
    at: [f64; 3],
}

impl<'a> Walker<'a> {
    fn new(axis: &'a MedialAxis, tool: &Tool, options: CarveOptions) -> Self {
        let (depth_mm, prune_mm, allowance) = (options.depth_mm, options.prune_mm, options.allowance_mm);
        let surround = options.surround_mm.clamp(0.0, depth_mm);
        let mut target: Vec<Vec<f64>> = axis
            .branches
            .iter()
            .map(|b| {
                b.points
                    .iter()
                    .map(|p| -(surround + tool.height_at((p[2] - allowance).max(0.0))).min(depth_mm))
                    .collect()
            })
            .collect();
        // Where the flat tools before have cleared the floor: as deep as the carve goes.
        let capped = tool.radius_at(depth_mm - surround) + allowance;
        let cleared = |r: f64| options.cleared_mm > 0.0 && r >= capped + options.cleared_mm;
        let cut: Vec<Vec<f64>> = axis
            .branches
            .iter()
            .map(|b| b.points.iter().map(|p| if cleared(p[2]) { -depth_mm } else { 0.0 }).collect())
            .collect();
        let nodes = axis.branches.iter().flat_map(|b| b.ends).max().map_or(0, |n| n + 1);
        let mut node_cut = vec![0.0; nodes];
        for (b, cut) in axis.branches.iter().zip(&cut) {
            node_cut[b.ends[0]] = f64::min(node_cut[b.ends[0]], cut[0]);
            node_cut[b.ends[1]] = f64::min(node_cut[b.ends[1]], cut[cut.len() - 1]);
        }
        let mut at_node = vec![Vec::new(); nodes];
        for (i, b) in axis.branches.iter().enumerate() {
            at_node[b.ends[0]].push((i, true));
            at_node[b.ends[1]].push((i, false));
        }
        for i in pruned(axis, &at_node, &target, tool, prune_mm) {
            target[i].iter_mut().for_each(|z| *z = 0.0);
        }
        Self { axis, target, cut, at_node, node_cut, short_drop: 0.8 * prune_mm, at: [0.0, 0.0, 0.0] }
    }

    /// Whether branch `i` has stock left above `bottom`.
    fn has_work(&self, i: usize, bottom: f64) -> bool {
        self.target[i].iter().zip(&self.cut[i]).any(|(&t, &c)| t.max(bottom) < c - SAME_MM)
    }

    /// The most the carve is short of its target anywhere (for the final `bottom`).
    fn short(&self, bottom: f64) -> f64 {
        let mut short: f64 = 0.0;
        for (target, cut) in self.target.iter().zip(&self.cut) {
            for (&t, &c) in target.iter().zip(cut) {
                short = short.max(c - t.max(bottom));
            }
        }
        short
    }

    /// One pass down to `bottom`: the branches with work, depth first from the node nearest
    /// the tool, then each branch still short walked back from its other end.
    fn pass(&mut self, bottom: f64, paths: &mut Vec<Path>) {
        let branches = self.axis.branches.len();
        let mut done = vec![false; branches];
        for (i, d) in done.iter_mut().enumerate() {
            *d = !self.has_work(i, bottom);
        }
        // Depth first over the branches with work, from the node nearest the tool. Back from
        // a dead end, the tool goes back along its cut where that is short, and otherwise
        // lifts; `linked` says it stands at the node on top of the stack.
        let mut walked: Vec<(usize, bool)> = Vec::new();
        while let Some(start) = self.nearest_node(&done) {
            // Each node with the walk that came to it, when that walk began at the node before.
            let mut stack: Vec<(usize, Vec<[f64; 3]>)> = vec![(start, Vec::new())];
            let mut linked = false;
            while let Some((node, _)) = stack.last() {
                let node = *node;
                // Branches that lead on first: back at the node from their far side, the tool
                // stands at full depth there, and the branches to dead ends climb from it.
                let leads_on = |&(i, from_first): &(usize, bool)| {
                    let far = self.axis.branches[i].ends[usize::from(from_first)];
                    self.at_node[far].iter().any(|&(j, _)| j != i && !done[j])
                };
                let open = || self.at_node[node].iter().copied().filter(|&(i, _)| !done[i]);
                let next = open().find(leads_on).or_else(|| open().next());
                let Some((i, from_first)) = next else {
                    let (_, arrival) = stack.pop().expect("the loop holds a node");
                    linked = linked && self.back(&arrival, paths);
                    if let (true, Some(&(parent, _))) = (linked, stack.last()) {
                        self.down_to_cut(parent, paths);
                    }
                    continue;
                };
                done[i] = true;
                let far = self.axis.branches[i].ends[usize::from(from_first)];
                let to_leaf = self.at_node[far].iter().all(|&(j, _)| j == i || done[j]);
                let (from_node, out) = self.walk(i, from_first, bottom, !linked, to_leaf, paths);
                walked.push((i, from_first));
                if to_leaf {
                    linked = from_node && self.back(&out, paths);
                    if linked {
                        self.down_to_cut(node, paths);
                    }
                } else {
                    // What a steep drop left short: back along the branch from its far end,
                    // where the tool stands, as far as the work goes, and back again.
                    linked = !out.is_empty();
                    if linked && self.has_work(i, bottom) {
                        let (_, way) = self.walk(i, !from_first, bottom, false, true, paths);
                        linked = self.back(&way, paths);
                    }
                    // A walk that did not begin at the node (it went in where the work began)
                    // leads no way back to it.
                    stack.push((far, if from_node { out } else { Vec::new() }));
                }
            }
        }
        // Back along what a steep drop left short, from the far end; then, while that gains,
        // from whichever end is cut deeper.
        for (i, from_first) in walked {
            if self.has_work(i, bottom) {
                self.walk(i, !from_first, bottom, true, true, paths);
            }
        }
        for _ in 0..FIX_ROUNDS {
            let short: Vec<usize> = (0..branches).filter(|&i| self.has_work(i, bottom)).collect();
            if short.is_empty() {
                break;
            }
            let before = self.short(bottom);
            for i in short {
                let ends = self.axis.branches[i].ends;
                let forward = self.node_cut[ends[0]] <= self.node_cut[ends[1]];
                self.walk(i, forward, bottom, true, true, paths);
            }
            if self.short(bottom) >= before - SAME_MM {
                break;
            }
        }
    }

    /// The node of a branch not done nearest the tool (ties to the lowest number), a node
    /// where branches meet before an end: from there, the walks to the ends climb.
    fn nearest_node(&self, done: &[bool]) -> Option<usize> {
        let mut best: Option<(bool, f64, usize)> = None;
        for (i, b) in self.axis.branches.iter().enumerate() {
            if done[i] {
                continue;
            }
            for (k, &node) in b.ends.iter().enumerate() {
                let p = if k == 0 { b.points[0] } else { b.points[b.points.len() - 1] };
                let end = self.at_node[node].iter().filter(|&&(j, _)| !done[j]).count() < 2;
                let d = (p[0] - self.at[0]).powi(2) + (p[1] - self.at[1]).powi(2);
                let key = (end, d, node);
                if best.is_none_or(|b| key < b) {
                    best = Some(key);
                }
            }
        }
        best.map(|(_, _, node)| node)
    }

    /// Walks branch `i` from its first point (`forward`) or its last, down to `bottom` where
    /// its target allows, never descending more steeply than [`MAX_DESCENT`] below what is
    /// cut. A walk that `starts` a path goes in where the tool has been before; one `to_leaf`
    /// stops after the last point with work.
    fn walk(
        &mut self,
        i: usize,
        forward: bool,
        bottom: f64,
        starts: bool,
        to_leaf: bool,
        paths: &mut Vec<Path>,
    ) -> (bool, Vec<[f64; 3]>) {
        let n = self.axis.branches[i].points.len();
        let ends = self.axis.branches[i].ends;
        self.cut[i][0] = self.cut[i][0].min(self.node_cut[ends[0]]);
        self.cut[i][n - 1] = self.cut[i][n - 1].min(self.node_cut[ends[1]]);
        let order: Vec<usize> = if forward { (0..n).collect() } else { (0..n).rev().collect() };
        let work = |k: usize, this: &Self| this.target[i][k].max(bottom) < this.cut[i][k] - SAME_MM;
        // A walk that starts a path skips the stretch with nothing to cut before its first
        // work; one towards a leaf ends after its last.
        let first = if starts { order.iter().position(|&k| work(k, self)).unwrap_or(0).saturating_sub(1) } else { 0 };
        let last = if to_leaf {
            order.iter().rposition(|&k| work(k, self)).map_or(n - 1, |p| (p + 1).min(n - 1))
        } else {
            n - 1
        };
        if first > last {
            return (false, Vec::new());
        }
        let points = &self.axis.branches[i].points;
        let mut out: Vec<[f64; 3]> = Vec::with_capacity(last - first + 1);
        let k0 = order[first];
        // Linked, the tool stands at the node already; otherwise it goes in where it has been.
        let z0 = if starts { self.cut[i][k0] } else { self.at[2].max(self.cut[i][k0]) };
        out.push([points[k0][0], points[k0][1], z0]);
        // Each point as deep as its goal, and no deeper below what is cut at both ends of its
        // step than the step's descent allows.
        let mut z = out[0][2];
        for w in order[first..=last].windows(2) {
            let (a, b) = (w[0], w[1]);
            let ds = geom::distance([points[a][0], points[a][1]], [points[b][0], points[b][1]]);
            let clear = self.cut[i][a].max(self.cut[i][b]);
            let goal = self.target[i][b].max(bottom);
            z = goal.max(clear.min(z - descent(ds, self.short_drop))).min(z.max(goal));
            self.cut[i][b] = self.cut[i][b].min(z);
            out.push([points[b][0], points[b][1], z]);
        }
        self.node_cut[ends[0]] = self.node_cut[ends[0]].min(self.cut[i][0]);
        self.node_cut[ends[1]] = self.node_cut[ends[1]].min(self.cut[i][n - 1]);
        self.at = *out.last().expect("a walk has a point");
        match paths.last_mut() {
            Some(path) if !starts => path.points.extend(out.iter().skip(1).copied()),
            // A walk that goes in where the tool stands goes straight down through its own cut
            // instead of lifting.
            Some(path) if path.points.last().is_some_and(|p| p[0] == out[0][0] && p[1] == out[0][1]) => {
                path.points.extend(out.iter().copied());
            }
            _ => paths.push(Path { retract: true, points: out.clone() }),
        }
        (first == 0, out)
    }

    /// Back at `node`, down to the deepest the tool has been there: straight down through
    /// its own cut.
    fn down_to_cut(&mut self, node: usize, paths: &mut [Path]) {
        let z = self.node_cut[node];
        if let Some(path) = paths.last_mut() {
            if z < self.at[2] - SAME_MM {
                self.at[2] = z;
                path.points.push(self.at);
            }
        }
    }

    /// Goes back along `way`, a walk just made, to its start, where it is short enough to
    /// beat a lift: through its own cut, so it cuts nothing. Whether it went.
    fn back(&mut self, way: &[[f64; 3]], paths: &mut [Path]) -> bool {
        let length: f64 = way.windows(2).map(|w| geom::distance([w[0][0], w[0][1]], [w[1][0], w[1][1]])).sum();
        let Some(path) = paths.last_mut() else { return false };
        let same_xy = |a: &[f64; 3], b: &[f64; 3]| a[0] == b[0] && a[1] == b[1];
        if way.len() < 2
            || length > WALK_BACK_MM
            || !path.points.last().zip(way.last()).is_some_and(|(a, b)| same_xy(a, b))
        {
            return false;
        }
        path.points.extend(way.iter().rev().skip(1));
        self.at = way[0];
        true
    }
}

/// The branches whose cut the cut at their inner end holds within `prune_mm`: from each leaf
/// inwards, a branch whose every point's cone lies in the cone at its other end (for cones of
/// one shape, where the circle the cone cuts at the face lies in the other's). A polygon's
/// axis has a branch to every convex corner; where the outline only flattens a curve, the
/// corner is so blunt that the branch adds nothing the axis inside does not cut, and without
/// it the tool does not visit a comb of hairs.
fn pruned(
    axis: &MedialAxis,
    at_node: &[Vec<(usize, bool)>],
    target: &[Vec<f64>],
    tool: &Tool,
    prune_mm: f64,
) -> Vec<usize> {
    let face = |z: f64| if z < 0.0 { tool.radius_at(-z) } else { 0.0 };
    let mut degree: Vec<usize> = at_node.iter().map(Vec::len).collect();
    let mut gone = vec![false; axis.branches.len()];
    let mut leaves: Vec<usize> = (0..degree.len()).filter(|&n| degree[n] == 1).collect();
    let mut out = Vec::new();
    while let Some(leaf) = leaves.pop() {
        let Some(&(i, leaf_first)) = at_node[leaf].iter().find(|&&(i, _)| !gone[i]) else { continue };
        let branch = &axis.branches[i];
        let far = branch.ends[usize::from(leaf_first)];
        if degree[far] < 2 || far == leaf {
            continue;
        }
        let (k, p) = if leaf_first {
            (branch.points.len() - 1, branch.points[branch.points.len() - 1])
        } else {
            (0, branch.points[0])
        };
        let reach = face(target[i][k]) + prune_mm;
        let held = branch
            .points
            .iter()
            .zip(&target[i])
            .all(|(q, &z)| face(z) + geom::distance([q[0], q[1]], [p[0], p[1]]) <= reach);
        if held {
            gone[i] = true;
            out.push(i);
            degree[leaf] -= 1;
            degree[far] -= 1;
            if degree[far] == 1 {
                leaves.push(far);
            }
        }
    }
    out.sort_unstable();
    out
}

/// The walls where the region is wider than the carve's cap: the region's outline eroded by
/// the tool's radius where its flank meets the outline (at the surround, above the depth),
/// cut at the depth, climb milling, each ring ramped into
/// from the die face (each step down as [`descent`] allows) and cut on once around at depth.
fn rings(shape: &[Contour], tool: &Tool, options: CarveOptions, short_drop: f64) -> Vec<Path> {
    let (depth, sag) = (options.depth_mm, options.sag_mm);
    let inset = tool.radius_at(depth - options.surround_mm.clamp(0.0, depth)) + options.allowance_mm;
    let Ok(eroded) = geom::offset(&vec![shape.to_vec()], -inset) else { return Vec::new() };
    let mut paths = Vec::new();
    for contour in eroded.iter().flatten() {
        let ring: Vec<Point> = contour.iter().rev().copied().collect();
        let perimeter: f64 = (0..ring.len()).map(|i| geom::distance(ring[i], ring[(i + 1) % ring.len()])).sum();
        // A ring this short is a point the axis has carved.
        if ring.len() < 3 || perimeter < sag.max(1e-4) * 4.0 {
            continue;
        }
        let mut points = vec![[ring[0][0], ring[0][1], 0.0]];
        let mut z: f64 = 0.0;
        // From where the ramp reaches the depth, once around.
        let mut around: Option<f64> = None;
        let mut k = 0;
        while k < MAX_RING_LAPS * ring.len() {
            let (a, b) = (ring[k % ring.len()], ring[(k + 1) % ring.len()]);
            let len = geom::distance(a, b);
            k += 1;
            if let Some(left) = around.as_mut() {
                if *left <= len {
                    let t = *left / len;
                    points.push([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, -depth]);
                    break;
                }
                *left -= len;
            }
            z = (z - descent(len, short_drop)).max(-depth);
            points.push([b[0], b[1], z]);
            if around.is_none() && z <= -depth {
                around = Some(perimeter);
            }
        }
        if around.is_some() {
            paths.push(Path { retract: true, points });
        }
    }
    paths
}

/// A wall ring whose ramp would take more laps than this is left to the axis.
const MAX_RING_LAPS: usize = 20;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tool::ToolKind;

    pub(crate) fn vee() -> Tool {
        Tool {
            kind: ToolKind::Vee,
            diameter_mm: 3.175,
            tip_diameter_mm: 0.1,
            included_angle_deg: 20.0,
            stepdown_mm: 0.04,
            ..Tool::flat(3, 3.175)
        }
    }

    fn options(depth_mm: f64) -> CarveOptions {
        CarveOptions {
            depth_mm,
            surround_mm: 0.0,
            sag_mm: 0.0005,
            prune_mm: 0.0025,
            allowance_mm: 0.002,
            cleared_mm: 0.0,
        }
    }

    fn carve_bar(depth_mm: f64) -> Carving {
        let bar = vec![vec![[0.0, 0.0], [3.0, 0.0], [3.0, 0.3], [0.0, 0.3]]];
        carve(&bar, &vee(), options(depth_mm)).unwrap()
    }

    #[test]
    fn a_bar_is_carved_down_its_middle_to_its_depth_in_step_downs_into_its_corners() {
        let carving = carve_bar(0.3);
        assert!(carving.short_mm < 1e-9, "short by {}", carving.short_mm);
        let points: Vec<[f64; 3]> = carving.paths.iter().flat_map(|p| p.points.iter().copied()).collect();
        // The spine at y 0.15 reaches the depth (the bar is wider than the cap allows).
        let deepest = points.iter().map(|p| p[2]).fold(0.0, f64::min);
        assert!((deepest + 0.3).abs() < 1e-9, "{deepest}");
        // Every point's cone stays inside the bar: the cut's edge at the face, the tool's
        // radius at the point's depth, within the allowance of the walls.
        for p in &points {
            let r = vee().radius_at(-p[2]);
            let wall = p[0].min(3.0 - p[0]).min(p[1]).min(0.3 - p[1]);
            assert!(p[2] >= -1e-12 || r <= wall + 1e-9, "{p:?}: radius {r} beyond the wall {wall}");
        }
        // The corners: the tip goes out along the bisectors until the radius is the tip's.
        let near_corner = points.iter().filter(|p| p[0] < 0.06 && p[1] < 0.06).count();
        assert!(near_corner > 0, "the bisector into the corner is walked");
        // No step goes down more steeply than the guard allows, but back along a step made
        // before or straight down to where the tool has been, through its own cut.
        let mut made: Vec<([f64; 3], [f64; 3])> = Vec::new();
        for path in &carving.paths {
            for w in path.points.windows(2) {
                let ds = ((w[1][0] - w[0][0]).powi(2) + (w[1][1] - w[0][1]).powi(2)).sqrt();
                let drop = w[0][2] - w[1][2];
                let back = made.contains(&(w[1], w[0]))
                    || (ds == 0.0 && made.iter().any(|m| m.1[0] == w[1][0] && m.1[1] == w[1][1] && m.1[2] <= w[1][2]));
                assert!(back || drop <= MAX_DESCENT * ds + 1e-9 || drop <= 0.002 + 1e-9, "{:?} -> {:?}", w[0], w[1]);
                made.push((w[0], w[1]));
            }
        }
        // Passes in the tool's step-downs: no point goes more than one step-down below the
        // deepest before it.
        let mut deepest: f64 = 0.0;
        for p in &points {
            assert!(p[2] >= deepest - 0.04 - 1e-9, "{p:?} below {deepest}");
            deepest = deepest.min(p[2]);
        }
        assert!(deepest < -0.3 + 1e-9);
    }

    #[test]
    fn a_wide_region_gets_its_wall_ring_at_the_depth_and_a_narrow_one_none() {
        let square = vec![vec![[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]]];
        let carving = carve(&square, &vee(), options(0.3)).unwrap();
        let inset = vee().radius_at(0.3) + 0.002;
        let ring = carving
            .paths
            .iter()
            .any(|p| p.points.iter().filter(|q| (q[2] + 0.3).abs() < 1e-9).any(|q| (q[0] - inset).abs() < 1e-4));
        assert!(ring, "a ring at the inset and the depth");
        let bar = carve_bar(0.05);
        let inset = vee().radius_at(0.05) + 0.002;
        assert!(bar.paths.iter().all(|p| p.points.iter().all(|q| q[2] >= -0.05 - 1e-9)), "capped");
        assert!(bar.paths.iter().any(|p| p.points.iter().any(|q| (q[1] - inset).abs() < 1e-4)), "a ring");
    }

    #[test]
    fn a_disc_is_carved_to_its_centre_in_one_pass_of_a_pointed_bit() {
        // Every spoke of a disc's axis falls towards its centre at the bit's slope or more:
        // the carve reaches the centre only by walking spokes from both ends.
        let disc: Contour = (0..96)
            .map(|k| {
                let a = std::f64::consts::TAU * f64::from(k) / 96.0;
                [1.5 * a.cos(), 1.5 * a.sin()]
            })
            .collect();
        let pointed = Tool { tip_diameter_mm: 0.0, included_angle_deg: 90.0, stepdown_mm: 1.0, ..vee() };
        let carving = carve(&[disc], &pointed, options(1.0)).unwrap();
        assert!(carving.short_mm < 0.02, "short by {} mm", carving.short_mm);
        let deepest = carving.paths.iter().flat_map(|p| &p.points).map(|p| p[2]).fold(0.0, f64::min);
        assert!((deepest + 1.0).abs() < 1e-9, "{deepest}");
    }

    #[test]
    fn straightened_keeps_corners_and_drops_points_on_the_line() {
        let points = [[0.0, 0.0, 0.0], [1.0, 0.0, -0.1], [2.0, 0.0, -0.2], [2.0, 1.0, -0.2]];
        assert_eq!(straightened(&points), vec![points[0], points[2], points[3]]);
    }
}
