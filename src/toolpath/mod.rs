//! Stage 3: [`Relief`] to [`Toolpaths`], concentric-offset pocketing of every level.
//!
//! Guarantees of the output: every cutting position keeps the tool (a flat end mill of radius
//! r) inside the level's area: the tool centre stays on offsets of the area by at least r,
//! computed from the area itself, with round joins inscribed in the exact offset by at most
//! 0.2 % of the distance ([`geom::ROUND_JOIN_STEP`]). Under drafted walls the offset is taken
//! from the cavity's section at the level's floor, itself eroded level by level from the
//! levels above within each step's distance (see `Sections` in this module): the section is
//! never nearer a wall than the draft allows and misses by at most 0.25 um a level. Each
//! level is cut in equal step-downs no deeper than the tool's step-down. Within a step-down the
//! rings are cut inside-out (each ring after the rings it encloses), so a pass ends on the
//! wall; rings run clockwise around material outside and counter-clockwise around islands,
//! which is climb milling with a clockwise (M3) spindle. A ring entered from above is entered
//! by a ramp along the ring itself at the ramp angle (or a helix), never by a plunge, from the
//! depth that ring itself was last cut to, or where it was not cut yet from the level's top
//! (raised by the rest threshold and the tolerance, which the tools before may leave there):
//! only there is the stock above it known to be gone. A ring too short for a ramp of
//! [`MAX_RAMP_LAPS`] laps is cut after the ring around it, linked to at depth, and when that
//! is not possible either it is left uncut (with a warning), its floor not counted as
//! reached, so rest machining and the report see it. A region under a floor that a tool
//! missed on the level above is planned again knowing it: that tool does not enter there. A link stays down only when the
//! straight move keeps the tool centre inside the level's tool-centre area and crosses either
//! cleared floor or at most one tool diameter of material; otherwise the path retracts.
//! Regions are computed in parallel and merged in input order, so the result does not depend
//! on the thread count.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::geom::{self, Contour, Point, Shape, Shapes};
use crate::progress::Progress;
use crate::relief::Relief;
use crate::Warning;

mod tool;

pub use tool::{Tool, ToolKind};

/// A ring is ramped along for at most this many laps; a shorter ring is cut from the ring
/// around it or left to the tools after (no tool plunges).
///
/// A ring this short is a tool-centre path around a nearly point-like pocket centre, where a
/// ramp would only be a tight helix over the same spot.
pub const MAX_RAMP_LAPS: f64 = 8.0;

/// Laps allowed for a tool whose tip is under 1 mm wide.
pub const MAX_RAMP_LAPS_SMALL_TOOL: f64 = 200.0;

/// How to cut the relief.
#[derive(Debug, Clone)]
pub struct ToolpathOptions {
    /// The tools, in any order: they cut largest first.
    pub tools: Vec<Tool>,
    /// Ramp angle of entries, in degrees from horizontal.
    pub ramp_angle_deg: f64,
    /// Draft of the pocket walls, in degrees from vertical.
    pub draft_deg: f64,
    /// Stock roughing passes leave on walls for the finishing pass, in mm.
    pub wall_allowance_mm: f64,
    /// Stock roughing passes leave on floors for the finishing pass, in mm.
    pub floor_allowance_mm: f64,
    /// Rest machining leaves what earlier tools left thinner than this, in mm.
    pub rest_thicker_than_mm: f64,
    /// The job tolerance, in mm: how far the cut may stray from the target (the budget is in
    /// the module documentation).
    pub tolerance_mm: f64,
    /// Whether to work out [`Toolpaths::reached`], which the report gives and the program
    /// does not need: a dilation and a union per region.
    pub measure_reach: bool,
}

impl ToolpathOptions {
    /// The defaults of a job file that gives only these tools.
    #[must_use]
    pub fn new(tools: Vec<Tool>) -> Self {
        Self {
            tools,
            ramp_angle_deg: 2.0,
            draft_deg: 0.0,
            wall_allowance_mm: 0.02,
            floor_allowance_mm: 0.01,
            rest_thicker_than_mm: 0.01,
            tolerance_mm: 0.005,
            measure_reach: false,
        }
    }

    /// Diameter of the narrowest cut any tool makes at its tip (0 without tools): the floor
    /// its tip leaves flat within the tolerance.
    #[must_use]
    pub fn smallest_tool_mm(&self) -> f64 {
        self.tools.iter().map(|t| 2.0 * t.floor_radius(self.tolerance_mm)).reduce(f64::min).unwrap_or(0.0)
    }

    /// The tools in cutting order: widest floor first, ties in the order given.
    #[must_use]
    pub fn cutting_order(&self) -> Vec<&Tool> {
        let mut tools: Vec<&Tool> = self.tools.iter().collect();
        let tol = self.tolerance_mm;
        tools.sort_by(|a, b| b.floor_radius(tol).total_cmp(&a.floor_radius(tol)));
        tools
    }
}

/// All the moves that cut the die, grouped by tool and level.
#[derive(Debug, Clone)]
pub struct Toolpaths {
    /// Operations in cutting order.
    pub operations: Vec<Operation>,
    /// Findings of the planning (regions too narrow are the relief's design check's).
    pub warnings: Vec<Warning>,
    /// Per level of the relief, the area of its floor some tool reaches within the tolerance:
    /// the rest is where no tool of the job fits. Empty unless
    /// [`ToolpathOptions::measure_reach`].
    pub reached: Vec<Shapes>,
}

impl Toolpaths {
    /// The tools of the operations, each once, in the order they first cut.
    #[must_use]
    pub fn tools(&self) -> Vec<Tool> {
        let mut tools: Vec<Tool> = Vec::new();
        for op in &self.operations {
            if !tools.iter().any(|t| t.number == op.tool.number) {
                tools.push(op.tool.clone());
            }
        }
        tools
    }
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

/// Plans the toolpaths for every level of the relief, every tool.
///
/// # Errors
///
/// [`Error::ToolTooLarge`] when no tool fits in any region of any level.
pub fn plan(relief: &Relief, options: &ToolpathOptions, progress: &Progress) -> Result<Toolpaths> {
    let tools = options.cutting_order();
    let Some(&largest) = tools.first() else {
        return Err(Error::Setting { key: "tool".into(), reason: "no tool given".into() });
    };
    let draft = options.draft_deg.to_radians();
    // Every region of every level, with the regions of the shallower levels that hold it.
    let (bounds, areas) = boxes_and_areas(relief);
    let regions: Vec<(usize, usize, &Shape)> = relief
        .levels
        .iter()
        .enumerate()
        .flat_map(|(k, level)| level.area.iter().enumerate().map(move |(i, region)| (k, i, region)))
        .collect();
    let units: Vec<Unit> =
        regions.into_par_iter().map(|(k, i, region)| Unit::new(relief, &bounds, &areas, k, i, region)).collect();
    let bar = progress.stage("toolpaths", units.len() as u64);
    // The drafted cavity, and the tools whose clearance grows linearly with the wall's height
    // (flat tools, and tapered tools below their shank), are eroded from the cavity's
    // sections: one section per level and slope, shared by every region and tool.
    let heights: Vec<f64> = (0..relief.levels.len())
        .flat_map(|k| (0..=k).map(move |m| relief.levels[k].depth_mm - level_top(relief, m)))
        .collect();
    let linear: Vec<Option<(f64, f64)>> =
        tools.iter().map(|tool| linear_clearance(|h| tool.wall_clearance(h, draft), &heights)).collect();
    let cavity_slope = (tools.len() > 1).then(|| draft.tan());
    // Slopes equal but for rounding (a flat tool's draft and a vee's half angle) share one.
    let mut slopes: Vec<f64> = linear.iter().flatten().map(|&(_, b)| b).chain(cavity_slope).collect();
    slopes.sort_by(f64::total_cmp);
    slopes.dedup_by(|b, a| *b - *a <= SAME_SLOPE);
    // The erosions of the sections each region needs: `(j, a, b)`, the domain of tool j (or,
    // for j = the number of tools, the cavity less the band within half the rest threshold of
    // its walls) at `a` inside the section of slope `b`; by slope, then distance.
    let mut erosions: Vec<(usize, f64, f64)> = linear
        .iter()
        .enumerate()
        .filter_map(|(j, l)| l.map(|(a, b)| (j, a, b)))
        .chain(cavity_slope.map(|s| (tools.len(), options.rest_thicker_than_mm / 2.0, s)))
        .map(|(j, a, b)| (j, a, *slopes.iter().find(|&&s| (s - b).abs() <= SAME_SLOPE).expect("a slope")))
        .collect();
    erosions.sort_by(|x, y| x.2.total_cmp(&y.2).then(x.1.total_cmp(&y.1)));
    // The sections of each level, per slope and region: computed level after level while the
    // regions of the levels already done are planned.
    let sections: Vec<OnceLock<Vec<Vec<Shapes>>>> = relief.levels.iter().map(|_| OnceLock::new()).collect();
    let section = |unit: &Unit, b: f64| -> &Shapes {
        let at = slopes.iter().position(|&s| s == b).expect("every slope has its sections");
        &sections[unit.level].get().expect("the level's sections come first")[at][unit.index]
    };
    // Where each tool's centre may go at each region's floor, then what each tool cuts there,
    // given what the tools before it could reach: in parallel over the regions.
    let plan_unit = |unit: &Unit, above: &[Shapes]| -> UnitPlan {
        let floor = relief.levels[unit.level].depth_mm;
        // One per tool, then the cavity less the band within half the rest threshold of
        // its walls, where rest machining looks for material.
        let mut eroded: Vec<Shapes> = tools
            .iter()
            .zip(&linear)
            .map(|(tool, linear)| match linear {
                Some(_) => Vec::new(),
                None => unit.domain(relief, floor, |h| tool.wall_clearance(h, draft)),
            })
            .chain([Vec::new()])
            .collect();
        // Erosions of one drafted slope, by distance: each is eroded from the one before,
        // as large erosions of dense outlines are slow and erosion composes. (Under
        // vertical walls the section is the region itself, and each erosion is exact.)
        let mut from: Option<(usize, f64, f64)> = None;
        for &(j, a, b) in &erosions {
            eroded[j] = match from {
                Some((i, fa, fb)) if fb == b && b > 0.0 => section_domain(&eroded[i], a - fa, true),
                _ => section_domain(section(unit, b), a, b > 0.0),
            };
            from = Some((j, a, b));
        }
        let inner = eroded.pop().expect("the inner cavity");
        unit.plan(relief, options, &tools, &eroded, &inner, above)
    };
    let planned: Vec<OnceLock<UnitPlan>> = units.iter().map(|_| OnceLock::new()).collect();
    // Each level's units, largest first, each its own job: a large region is a long job, and
    // one started last, or queued behind others on a busy thread, runs on alone while the
    // other threads wait. The plans land in their own slots, so the order they are made in
    // changes nothing else.
    let mut by_level: Vec<Vec<usize>> = relief.levels.iter().map(|_| Vec::new()).collect();
    for (u, unit) in units.iter().enumerate() {
        by_level[unit.level].push(u);
    }
    for level in &mut by_level {
        level.sort_by(|&a, &b| {
            let area = |u: usize| areas[units[u].level][units[u].index];
            area(b).total_cmp(&area(a)).then(a.cmp(&b))
        });
    }
    rayon::scope(|scope| {
        let mut chains: Vec<Sections> = slopes.iter().map(|&b| Sections::new(b)).collect();
        for (k, slot) in sections.iter().enumerate() {
            let level = chains.iter_mut().map(|chain| chain.level(relief, &bounds, k)).collect();
            assert!(slot.set(level).is_ok(), "each level once");
            let (units, planned, plan_unit, bar, order) = (&units, &planned, &plan_unit, &bar, &by_level[k]);
            scope.spawn(move |_| {
                order.par_iter().with_max_len(1).for_each(|&u| {
                    assert!(planned[u].set(plan_unit(&units[u], &[])).is_ok(), "each unit once");
                    bar.inc(1);
                });
            });
        }
    });
    let mut planned: Vec<UnitPlan> = planned.into_iter().map(|p| p.into_inner().expect("every unit planned")).collect();
    // Each unit was planned as if the level above were cut wherever its tools fit. Where a
    // tool found no way into part of the region above, stock stands over this one: the
    // units below such a part are planned again, level after level, knowing it.
    let mut unit_of: Vec<Vec<usize>> = relief.levels.iter().map(|l| vec![usize::MAX; l.area.len()]).collect();
    for (u, unit) in units.iter().enumerate() {
        unit_of[unit.level][unit.index] = u;
    }
    for k in 1..relief.levels.len() {
        let again: Vec<(usize, Vec<Shapes>)> = by_level[k]
            .iter()
            .filter_map(|&u| {
                let holder = unit_of[k - 1][units[u].above?];
                let missed: Vec<Shapes> = planned[holder].plans.iter().map(|p| p.missed.clone()).collect();
                missed.iter().any(|m| !m.is_empty()).then_some((u, missed))
            })
            .collect();
        let redone: Vec<(usize, UnitPlan)> =
            again.into_par_iter().map(|(u, missed)| (u, plan_unit(&units[u], &missed))).collect();
        for (u, plan) in redone {
            planned[u] = plan;
        }
    }
    let mut operations = Vec::new();
    let mut warnings = Vec::new();
    for (j, tool) in tools.iter().enumerate() {
        let mut skipped = 0;
        for (k, level) in relief.levels.iter().enumerate() {
            let plans: Vec<RegionPlan> = units
                .iter()
                .zip(&mut planned)
                .filter(|(unit, _)| unit.level == k)
                .map(|(_, plan)| std::mem::take(&mut plan.plans[j]))
                .collect();
            skipped += plans.iter().map(|p| p.skipped).sum::<usize>();
            let paths = order_regions(plans);
            if !paths.is_empty() {
                operations.push(Operation { tool: (*tool).clone(), depth_mm: level.depth_mm, paths });
            }
        }
        if skipped > 0 {
            // What the last tool leaves stays; before it, rest machining sees what is left.
            let left = if j + 1 < tools.len() { "left to the tools after it" } else { "left uncut" };
            warnings.push(Warning::new(
                "",
                &format!("T{}: {skipped} pocket centres {left}: no room to ramp in, and no tool plunges", tool.number),
            ));
        }
    }
    let mut reached: Vec<Shapes> = Vec::new();
    if options.measure_reach {
        reached = relief.levels.iter().map(|_| Vec::new()).collect();
        for (unit, plan) in units.iter().zip(planned) {
            reached[unit.level].extend(plan.reached);
        }
    }
    bar.finish_and_clear();
    if operations.is_empty() {
        return Err(Error::ToolTooLarge { number: largest.number, diameter_mm: largest.diameter_mm });
    }
    Ok(Toolpaths { operations, warnings, reached })
}

/// One region of one level, with the walls around it: the region of every shallower level
/// that holds it and has walls of its own (`holders[m]` for level m < `level`).
struct Unit<'a> {
    level: usize,
    /// The region's index in its level.
    index: usize,
    region: &'a Shape,
    holders: Vec<Option<&'a Shape>>,
    /// The shallowest level with this very region: where the region's own wall starts.
    wall_level: usize,
    /// The region of the level just above that holds this one (its index in that level).
    above: Option<usize>,
}

/// Simplification of the tool-centre domains eroded from the cavity's sections, which carry
/// the joins of both erosions, in mm. They are eroded by as much more.
const DOMAIN_SIMPLIFY_MM: f64 = 0.000_25;

/// Sag of the joins of each erosion of the cavity's sections, in mm.
const SECTION_SAG_MM: f64 = 0.000_05;

/// Simplification of each of the cavity's sections before the next is eroded from it, in mm:
/// it keeps the joins of one erosion from being split again by the next.
const SECTION_SIMPLIFY_MM: f64 = 0.000_1;

/// Wall slopes closer than this are one: over a 10 mm deep die they differ by 10 pm.
const SAME_SLOPE: f64 = 1e-12;

/// Nested regions whose areas differ by no more than this, in mm², are the same region.
const SAME_REGION_MM2: f64 = 1e-9;

impl<'a> Unit<'a> {
    /// Region `i` of level `k`, with its holders (`bounds` and `areas` of every region of every
    /// level). A region often goes through several levels unchanged (a letter cut deeper than
    /// the field around it): such a holder's walls are the region's own, only taller, and a
    /// run of equal holders is one wall from the shallowest level down.
    fn new(
        relief: &'a Relief,
        bounds: &[Vec<Option<[f64; 4]>>],
        areas: &[Vec<f64>],
        k: usize,
        i: usize,
        region: &'a Shape,
    ) -> Self {
        let found = holders(relief, bounds, k, region);
        let same = |a: f64, b: f64| (a - b).abs() <= SAME_REGION_MM2;
        let mut wall_level = k;
        while wall_level > 0 && found[wall_level - 1].is_some_and(|h| same(areas[wall_level - 1][h], areas[k][i])) {
            wall_level -= 1;
        }
        let holders = (0..k)
            .map(|m| {
                let h = found[m]?;
                let taller = m > 0 && found[m - 1].is_some_and(|g| same(areas[m - 1][g], areas[m][h]));
                (m < wall_level && !taller).then(|| &relief.levels[m].area[h])
            })
            .collect();
        let above = k.checked_sub(1).and_then(|m| found[m]);
        Self { level: k, index: i, region, holders, wall_level, above }
    }
}

/// The box and the area of every region of every level, `[k][i]` for region i of level k.
#[allow(clippy::type_complexity)]
fn boxes_and_areas(relief: &Relief) -> (Vec<Vec<Option<[f64; 4]>>>, Vec<Vec<f64>>) {
    let bounds = relief.levels.iter().map(|l| l.area.iter().map(|s| geom::bounds(s.iter())).collect()).collect();
    let areas = relief
        .levels
        .iter()
        .map(|l| l.area.iter().map(|s| geom::shapes_area(std::slice::from_ref(s))).collect())
        .collect();
    (bounds, areas)
}

/// The region of each level above `k` that holds `region` (levels are nested, so one does).
/// `None` where no region's box holds the region's, which nesting rules out but rounding could
/// bring about: no wall of that level is then near the region.
///
/// `bounds[m][i]` is the box of region i of level m.
fn holders(relief: &Relief, bounds: &[Vec<Option<[f64; 4]>>], k: usize, region: &Shape) -> Vec<Option<usize>> {
    relief.levels[..k].iter().zip(bounds).map(|(level, boxes)| holder(&level.area, boxes, region)).collect()
}

/// Which of `regions` (with their `boxes`) holds `shape`: the one whose box holds the shape's
/// and, among several, the one holding its first point, or failing that (a shape touching its
/// holder's edge) the one whose edge is nearest to that point.
fn holder(regions: &[Shape], boxes: &[Option<[f64; 4]>], shape: &Shape) -> Option<usize> {
    let probe = shape[0][0];
    let b = geom::bounds(shape.iter()).unwrap_or([probe[0], probe[1], probe[0], probe[1]]);
    // The levels come from separate booleans on a 15 nm grid: allow a few steps of slack.
    let slack = 1e-4;
    let candidates: Vec<usize> = boxes
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.is_some_and(|c| {
                c[0] <= b[0] + slack && c[1] <= b[1] + slack && c[2] >= b[2] - slack && c[3] >= b[3] - slack
            })
        })
        .map(|(i, _)| i)
        .collect();
    match candidates[..] {
        [] => None,
        [one] => Some(one),
        _ => candidates.iter().copied().find(|&i| geom::shape_contains(&regions[i], probe)).or_else(|| {
            candidates.iter().copied().min_by(|&a, &b| {
                let da = geom::boundary_distance(std::slice::from_ref(&regions[a]), probe);
                let db = geom::boundary_distance(std::slice::from_ref(&regions[b]), probe);
                da.total_cmp(&db)
            })
        }),
    }
}

/// `(a, b)` when `clearance(h)` is `a + b h` at every one of `heights` (to 1e-9 mm), as for a
/// flat tool (its radius plus the draft's lean) and a tapered tool below its shank.
fn linear_clearance(clearance: impl Fn(f64) -> f64, heights: &[f64]) -> Option<(f64, f64)> {
    let a = clearance(0.0);
    let top = heights.iter().copied().fold(0.0, f64::max);
    let b = if top > 0.0 { (clearance(top) - a) / top } else { 0.0 };
    heights.iter().all(|&h| (clearance(h) - a - b * h).abs() <= 1e-9).then_some((a, b))
}

/// The points of a cavity's `section` at least `a` inside it: where a tool whose clearance is
/// `a + b h` may go. A `drafted` section (b > 0) carries the joins of its own erosions, which
/// each make several joins here: the result is eroded by [`DOMAIN_SIMPLIFY_MM`] more and
/// simplified by as much, so it keeps no point nearer the walls.
fn section_domain(section: &Shapes, a: f64, drafted: bool) -> Shapes {
    if a <= 0.0 {
        section.clone()
    } else if drafted {
        geom::simplify_contours(&geom::offset(section, -(a + DOMAIN_SIMPLIFY_MM)), DOMAIN_SIMPLIFY_MM)
    } else {
        geom::offset(section, -a)
    }
}

/// Every level's [`Sections`] of one slope, for the tests.
#[cfg(test)]
fn sections(relief: &Relief, bounds: &[Vec<Option<[f64; 4]>>], slope: f64) -> Vec<Vec<Shapes>> {
    let mut chain = Sections::new(slope);
    (0..relief.levels.len()).map(|k| chain.level(relief, bounds, k)).collect()
}

/// The sections of the die cavity at each level's floor when every level's walls lean back by
/// `slope` mm per mm of height from their top, level after level: [`Sections::level`] of
/// level k gives, per region i, its points at least `(depth_k - top_m) slope` inside the walls
/// of every level m <= k.
///
/// Erosion distributes over intersection, so the points at least `a + (depth_k - top_m) slope`
/// inside every wall, where a tool whose clearance is `a + b h` may go, are this section
/// eroded by `a`: shared by every region and tool. The sections are a chain: section k is
/// section k - 1 within level k, eroded by the step between the floors (each step then
/// erodes every wall above by its share). Offsets of offsets would split each join again
/// (deps.md section 4.3), so each step is simplified by [`SECTION_SIMPLIFY_MM`], after an
/// erosion by that much more and by its joins' sag ([`geom::erode_within`]): a section
/// never holds a point nearer a wall than it should, and misses at most 0.25 um a step (the
/// joins' sag and twice the simplification) and 0.2 % of the step's distance.
struct Sections {
    slope: f64,
    /// The section at the floor of the last level given.
    section: Shapes,
}

impl Sections {
    fn new(slope: f64) -> Self {
        Self { slope, section: Vec::new() }
    }

    /// The section at the floor of level `k`, the level after the last one given, per region.
    fn level(&mut self, relief: &Relief, bounds: &[Vec<Option<[f64; 4]>>], k: usize) -> Vec<Shapes> {
        let level = &relief.levels[k];
        if self.slope <= 0.0 {
            // Nested levels: the section is the level itself.
            return level.area.iter().map(|r| vec![r.clone()]).collect();
        }
        let mut section =
            if k == 0 { level.area.clone() } else { geom::intersect(&std::mem::take(&mut self.section), &level.area) };
        let step = level.depth_mm - level_top(relief, k);
        if step > 0.0 {
            // Erode by the simplification more, so that simplifying gives back no point
            // nearer the walls than the step.
            let eroded = geom::erode_within(&section, step * self.slope + SECTION_SIMPLIFY_MM, SECTION_SAG_MM);
            section = geom::simplify_contours(&eroded, SECTION_SIMPLIFY_MM);
        }
        let mut regions = vec![Vec::new(); level.area.len()];
        for shape in &section {
            if let Some(i) = holder(&level.area, &bounds[k], shape) {
                regions[i].push(shape.clone());
            }
        }
        self.section = section;
        regions
    }
}

impl Unit<'_> {
    /// The top of this unit's level: the floor of the level above, or the die face.
    fn top(&self, relief: &Relief) -> f64 {
        level_top(relief, self.level)
    }

    /// The points at least `clearance(h)` inside every wall around the unit at depth `z`,
    /// where h is how far the wall's top is above `z`: the region's own wall and those of its
    /// holders. Erosions compose, so each wall is one offset of its region.
    fn domain(&self, relief: &Relief, z: f64, clearance: impl Fn(f64) -> f64) -> Shapes {
        let own = clearance(z - level_top(relief, self.wall_level));
        let region = vec![self.region.clone()];
        let mut domain = if own > 0.0 { geom::offset(&region, -own) } else { region };
        let Some(b) = geom::bounds(self.region.iter()) else { return Vec::new() };
        for (m, holder) in self.holders.iter().enumerate() {
            let Some(holder) = holder else { continue };
            let c = clearance(z - level_top(relief, m));
            // The holder holds the region, so its offset by no more holds the region's.
            if c <= own + 1e-9 || domain.is_empty() {
                continue;
            }
            // Only the holder's walls within c of the region matter: cut the holder to the
            // region's box grown by 2c. The cut edges then move in by c, which keeps them
            // c away from the box, so outside the region and its domain.
            let grow = 2.0 * c + 0.01;
            let window = [b[0] - grow, b[1] - grow, b[2] + grow, b[3] + grow];
            let near = geom::intersect(&vec![(*holder).clone()], &vec![vec![rectangle(window)]]);
            let whole_window =
                (geom::shapes_area(&near) - (window[2] - window[0]) * (window[3] - window[1])).abs() < 1e-9;
            if !whole_window {
                domain = geom::intersect(&domain, &geom::offset(&near, -c));
            }
        }
        domain
    }
}

/// The top of level `k`: the floor of the level above, or the die face.
fn level_top(relief: &Relief, k: usize) -> f64 {
    k.checked_sub(1).map_or(0.0, |above| relief.levels[above].depth_mm)
}

/// The counter-clockwise rectangle `[min_x, min_y, max_x, max_y]`.
fn rectangle(r: [f64; 4]) -> Contour {
    vec![[r[0], r[1]], [r[2], r[1]], [r[2], r[3]], [r[0], r[3]]]
}

/// One offset ring of the tool-centre area, with its place in the nesting tree.
struct Ring {
    shape: Shape,
    children: Vec<usize>,
}

/// The paths of one tool in one region, all step-downs.
#[derive(Debug, Clone, Default)]
struct RegionPlan {
    paths: Vec<Path>,
    /// Contours left uncut for want of room to ramp into them.
    skipped: usize,
    /// The floor those contours would have reached and no other does, where the reach is
    /// needed.
    missed: Shapes,
}

/// What all the tools cut in one unit.
struct UnitPlan {
    /// One plan per tool, in cutting order.
    plans: Vec<RegionPlan>,
    /// The floor the tools reach, where [`ToolpathOptions::measure_reach`] asks for it.
    reached: Shapes,
}

impl Unit<'_> {
    /// What every tool (`tools`, in cutting order, with their tool-centre domains at the
    /// floor) cuts in this unit: the whole domain for the first tool; for each other, only
    /// where the earlier tools left material thicker than the rest threshold, looked for in
    /// `inner`, the cavity at the floor less the band within half the threshold of its walls
    /// (whatever is left in that band is thinner than the threshold). Roughing passes
    /// step down to the floor allowance, keeping the wall allowance; one finishing pass cuts
    /// the floor and walls to size; a tapered tool's finishing pass ends with the contour of
    /// its whole domain, where its cone finishes the drafted walls.
    fn plan(
        &self,
        relief: &Relief,
        options: &ToolpathOptions,
        tools: &[&Tool],
        domains: &[Shapes],
        inner: &[Shape],
        above: &[Shapes],
    ) -> UnitPlan {
        let tol = options.tolerance_mm;
        // What each tool reaches at the floor, where the reach is measured, and what the
        // tools so far left of `inner`.
        let mut grown_by: Vec<Shapes> = Vec::new();
        let mut left: Shapes = inner.to_vec();
        let mut plans = Vec::with_capacity(tools.len());
        let thin = options.rest_thicker_than_mm;
        // Dilations of dense outlines are slow (every segment's piece overlaps its
        // neighbours'): simplify what rest machining dilates by a quarter of the rest
        // threshold. The reach is then known within that, the rest remains a sliver of at most
        // that where it is underestimated, and what a later tool misses stays thinner than the
        // threshold (at most 3/4 of it, see below).
        let coarse = (thin / 4.0).max(REST_SIMPLIFY_MM);
        for (j, (tool, domain)) in tools.iter().zip(domains).enumerate() {
            if domain.is_empty() {
                plans.push(RegionPlan::default());
                continue;
            }
            let reach = tool.floor_radius(tol);
            let centres = if j == 0 {
                domain.clone()
            } else {
                // The rest: what the tools so far left in the cavity, away from its walls by
                // half the threshold (on the walls, the sag of the offsets leaves slivers).
                // The centres whose floor reaches it, less a quarter of the threshold: what
                // that misses is within half the threshold of where the tool reaches, with
                // the two simplifications (the reach overestimated, the rest
                // underestimated, each by a quarter) within 3/4 of it. A dense rest is slow to
                // grow: it is simplified by a 16th of the reach where that is more than a
                // quarter of the threshold, and grown by the difference more, which only adds
                // centres (the tool goes that much farther over floor already cut).
                let loose = (reach / 16.0).max(coarse);
                let rest = geom::simplify_contours(&left, loose);
                if rest.is_empty() {
                    Vec::new()
                } else {
                    geom::intersect(domain, &geom::offset(&rest, reach - thin / 4.0 + loose - coarse))
                }
            };
            // What this tool cuts to the floor: its pocketed centres grown by its reach, which
            // the tools after it need, and the reach measured. The passes and the reach are
            // independent: on a large region each is a long job.
            let (plan, grown) = if j + 1 < tools.len() || options.measure_reach {
                rayon::join(
                    || self.pocket(relief, options, tool, domain, &centres, above.get(j)),
                    || geom::offset(&geom::simplify_contours(&centres, coarse), reach),
                )
            } else {
                (self.pocket(relief, options, tool, domain, &centres, above.get(j)), Vec::new())
            };
            // Where the tool found no way in, the floor is not reached.
            let grown =
                if plan.missed.is_empty() || grown.is_empty() { grown } else { geom::difference(&grown, &plan.missed) };
            if j + 1 < tools.len() && !grown.is_empty() {
                left = geom::difference(&left, &grown);
            }
            if options.measure_reach && !grown.is_empty() {
                grown_by.push(grown);
            }
            plans.push(plan);
        }
        // An offset's result is already a set of disjoint shapes.
        let reached =
            if grown_by.len() <= 1 { grown_by.pop().unwrap_or_default() } else { geom::union(&grown_by.concat()) };
        UnitPlan { plans, reached }
    }

    /// The passes of `tool` over the tool-centre area `centres` within `domain`, and the floor
    /// they miss where they find no way in. `above` is the floor the tool missed on the level
    /// above, where stock stands over this one: a contour whose cutter comes over it is not
    /// cut, and its floor is missed too.
    fn pocket(
        &self,
        relief: &Relief,
        options: &ToolpathOptions,
        tool: &Tool,
        domain: &Shapes,
        centres: &Shapes,
        above: Option<&Shapes>,
    ) -> RegionPlan {
        let floor = relief.levels[self.level].depth_mm;
        let top = self.top(relief);
        let reach = tool.floor_radius(options.tolerance_mm);
        let allowance = options.wall_allowance_mm;
        // Neighbouring rings at most 2 x reach apart, so the floor is cut within tolerance.
        let stepover = tool.stepover_mm.min(1.9 * reach);
        let simplify_mm = crate::tolerance::SIMPLIFICATION_SHARE * options.tolerance_mm;
        let (rings, roots) = offset_rings(centres.clone(), allowance, stepover, simplify_mm);
        let finish_order = cutting_order(&rings, &roots);
        // Roughing keeps off the walls by the allowance: it starts one ring in, but for a
        // piece of the area narrower than twice the allowance, which has no ring inside.
        // Roughed with the rest, it is entered step by step, as the finishing pass could not
        // enter it safely from the top.
        let rough_roots: Vec<usize> = if allowance > 0.0 {
            roots
                .iter()
                .flat_map(|&r| if rings[r].children.is_empty() { vec![r] } else { rings[r].children.clone() })
                .collect()
        } else {
            roots
        };
        let rough_order = cutting_order(&rings, &rough_roots);
        let ramp_slope = options.ramp_angle_deg.to_radians().tan();
        // A tip under 1 mm wide (a vee's, whatever its shank) may orbit a tiny ring longer.
        let max_laps = if 2.0 * reach < 1.0 { MAX_RAMP_LAPS_SMALL_TOOL } else { MAX_RAMP_LAPS };
        // Above the level's top, what the levels before left: up to the rest threshold where
        // the tools before this one stopped, and the tolerance between their passes. A contour
        // not yet cut is entered from that much higher, so it ramps through that stock.
        let margin = options.rest_thicker_than_mm + options.tolerance_mm;
        let mut cutter = Cutter::new(domain, 2.0 * reach, max_laps, margin);
        let above = above.filter(|a| !a.is_empty());
        let stock: Vec<geom::ShapeIndex> = above.into_iter().flatten().map(geom::ShapeIndex::new).collect();
        // The stock there stands at most up to the die face: the cutter's radius that high.
        let over = tool.radius_at(floor + options.rest_thicker_than_mm + options.tolerance_mm);
        let under_stock = |rings: &[Ring]| -> BTreeSet<(usize, usize)> {
            let mut out = BTreeSet::new();
            for (i, ring) in rings.iter().enumerate() {
                for (k, contour) in ring.shape.iter().enumerate() {
                    if comes_over(contour, &stock, over) {
                        out.insert((i, k));
                    }
                }
            }
            out
        };
        let mut blocked = under_stock(&rings);
        let rough_bottom = floor - options.floor_allowance_mm.min(floor - top);
        let mut cut = BTreeMap::new();
        if rough_bottom - top > 1e-6 && !rough_order.is_empty() {
            let passes = ((rough_bottom - top) / tool.stepdown_mm - 1e-9).ceil().max(1.0);
            for p in 1..=passes as usize {
                let z = -(top + (rough_bottom - top) * p as f64 / passes);
                cutter.pass(&rings, &rough_order, -top, z, ramp_slope, &mut blocked, &mut cut);
            }
        }
        cutter.pass(&rings, &finish_order, -top, -floor, ramp_slope, &mut blocked, &mut cut);
        let mut skipped = blocked.len();
        if tool.kind.is_tapered() {
            let walls: Vec<Ring> =
                domain.iter().map(|shape| Ring { shape: shape.clone(), children: Vec::new() }).collect();
            let order: Vec<usize> = (0..walls.len()).collect();
            let mut walls_blocked = under_stock(&walls);
            cutter.pass(&walls, &order, -top, -floor, ramp_slope, &mut walls_blocked, &mut BTreeMap::new());
            skipped += walls_blocked.len();
        }
        let mut missed = if blocked.is_empty() { Vec::new() } else { floor_missed(&rings, &blocked, reach) };
        if let Some(above) = above {
            let below = geom::intersect(above, &vec![self.region.clone()]);
            missed = if missed.is_empty() { below } else { geom::union(&[missed, below].concat()) };
        }
        RegionPlan { paths: cutter.paths, skipped, missed }
    }
}

/// The rings of the tool-centre area `centres` as a tree: ring 0 is `centres` itself, ring 1
/// is `first_step` inside it (none when 0), and each further ring `stepover` inside the one
/// before; a ring's children are the rings of the next step that lie inside it.
///
/// Each ring after the first is offset from the ring before and simplified by `simplify_mm`
/// (the tolerance's share, [`crate::tolerance::Tolerance::simplification_mm`], 1 um by
/// default): erosion composes exactly, the simplification keeps vertex counts from doubling
/// level after level (deps.md section 4.3), and its error, at most k x 1 um after k rings, is
/// far below the k x stepover that separates ring k from the first ring; between neighbouring
/// rings it changes the stepover by at most 2 um.
fn offset_rings(centres: Shapes, first_step: f64, stepover: f64, simplify_mm: f64) -> (Vec<Ring>, Vec<usize>) {
    let mut rings: Vec<Ring> = Vec::new();
    let mut roots = Vec::new();
    let mut previous: Vec<usize> = Vec::new();
    let mut shapes = centres;
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
        let step_mm = if step == 0 && first_step > 0.0 { first_step } else { stepover };
        shapes = geom::simplify_contours(&geom::offset(&last, -step_mm), simplify_mm);
        previous = current;
    }
    (rings, roots)
}

/// The floor within `reach` of the `blocked` contours of `rings` (ring index, contour index),
/// or inside them, that no other contour reaches: what the finishing pass leaves uncut where
/// it cannot enter those contours. A contour reaches the band within `reach` of it.
fn floor_missed(rings: &[Ring], blocked: &BTreeSet<(usize, usize)>, reach: f64) -> Shapes {
    let filled = |contour: &Contour| -> Shapes {
        let mut contour = contour.clone();
        if geom::contour_area(&contour) < 0.0 {
            contour.reverse();
        }
        vec![vec![contour]]
    };
    let near: Shapes = blocked.iter().flat_map(|&(i, k)| filled(&rings[i].shape[k])).collect();
    let near = geom::offset(&geom::union(&near), reach);
    let Some(b) = geom::bounds(near.iter().flatten()) else {
        return Vec::new();
    };
    let mut bands: Shapes = Vec::new();
    // Within `reach` of the box around `near`: only such contours reach into it. The rings
    // enclosing it farther out (whose boxes hold it all the same) are many and long.
    let touches = |lo: Point, hi: Point| {
        lo[0] - reach <= b[2] && hi[0] + reach >= b[0] && lo[1] - reach <= b[3] && hi[1] + reach >= b[1]
    };
    let comes_near = |contour: &Contour| {
        (0..contour.len()).any(|e| {
            let (p, q) = (contour[e], contour[(e + 1) % contour.len()]);
            touches([p[0].min(q[0]), p[1].min(q[1])], [p[0].max(q[0]), p[1].max(q[1])])
        })
    };
    for (i, ring) in rings.iter().enumerate() {
        for (k, contour) in ring.shape.iter().enumerate() {
            if !blocked.contains(&(i, k)) && comes_near(contour) {
                let shape = filled(contour);
                bands.extend(geom::difference(&geom::offset(&shape, reach), &geom::offset(&shape, -reach)));
            }
        }
    }
    geom::difference(&near, &bands)
}

/// Whether a cutter of `radius` on `contour` comes over any of `stock`: some point of the
/// contour, sampled every half radius along its edges, lies inside it or within `radius` of
/// its outline.
fn comes_over(contour: &Contour, stock: &[geom::ShapeIndex], radius: f64) -> bool {
    if stock.is_empty() {
        return false;
    }
    let step = (radius / 2.0).max(1e-3);
    (0..contour.len()).any(|e| {
        let (a, b) = (contour[e], contour[(e + 1) % contour.len()]);
        let n = (dist(a, b) / step).ceil().max(1.0) as usize;
        (0..n).any(|t| {
            let t = t as f64 / n as f64;
            let p = [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
            stock.iter().any(|s| s.contains(p) || s.near_edge(p, radius))
        })
    })
}

/// Least simplification of the outlines rest machining dilates, in mm (a quarter of the rest
/// threshold when that is more): the tool-centre domain the rest is cut to stays exact.
const REST_SIMPLIFY_MM: f64 = 0.001;

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
struct Cutter {
    paths: Vec<Path>,
    /// Tool position and whether everything around it at its depth is already cleared.
    at: Option<([f64; 3], bool)>,
    /// Where the tool centre may go at every depth cut, indexed for the link and helix checks.
    domain: Vec<geom::ShapeIndex>,
    /// Longest link allowed through uncut material.
    max_slot_mm: f64,
    /// The most laps a ramp may take; a ring too short for them has no way in from above.
    max_laps: f64,
    /// Where the stock is known to be gone above every point of the domain (the level's top,
    /// but for what the tools before left within `margin`): a helix, which leaves the ring,
    /// starts there.
    top: f64,
    /// The most stock the tools before may have left above `top`.
    margin: f64,
}

impl Cutter {
    fn new(domain: &Shapes, max_slot_mm: f64, max_laps: f64, margin: f64) -> Self {
        let domain = domain.iter().map(geom::ShapeIndex::new).collect();
        Self { paths: Vec::new(), at: None, domain, max_slot_mm, max_laps, top: 0.0, margin }
    }

    /// Cuts every ring once at depth `z`, but for the contours in `blocked` (ring index,
    /// contour index): those found no way in at an earlier depth, so material stands above
    /// them. Each contour is entered from the depth it was last cut to (`cut`, which this
    /// pass updates), or from `top` where it has not been cut yet: only there is the stock
    /// above it known to be gone. A contour with no room to ramp waits until its parent ring
    /// is cut at this depth, then is entered from it by a link at depth (a slot of at most one
    /// tool diameter, as any link through material); when that link is not possible either
    /// (no parent in this pass, or too far), it joins `blocked`.
    #[allow(clippy::too_many_arguments)]
    fn pass(
        &mut self,
        rings: &[Ring],
        order: &[usize],
        top: f64,
        z: f64,
        ramp_slope: f64,
        blocked: &mut BTreeSet<(usize, usize)>,
        cut: &mut BTreeMap<(usize, usize), Cut>,
    ) {
        self.top = top;
        let fresh = Cut { z: top + self.margin, known: top, helix: false };
        let from = |cut: &BTreeMap<(usize, usize), Cut>, key| cut.get(&key).copied().unwrap_or(fresh);
        let mut waiting: Vec<(usize, usize)> = Vec::new();
        for &index in order {
            for (k, contour) in rings[index].shape.iter().enumerate() {
                let key = (index, k);
                if blocked.contains(&key) {
                    continue;
                }
                match self.ring(climb(contour), from(cut, key), z, ramp_slope, true) {
                    Some(helix) => {
                        cut.insert(key, Cut { z, known: z, helix });
                    }
                    None => waiting.push(key),
                }
            }
            let children = &rings[index].children;
            waiting.retain(|&(i, k)| {
                if !children.contains(&i) {
                    return true;
                }
                match self.ring(climb(&rings[i].shape[k]), from(cut, (i, k)), z, ramp_slope, false) {
                    Some(helix) => {
                        cut.insert((i, k), Cut { z, known: z, helix });
                    }
                    None => {
                        blocked.insert((i, k));
                    }
                }
                false
            });
        }
        blocked.extend(waiting);
        // Material stands around a blocked contour: the floor is not all cleared.
        if let Some((_, cleared)) = self.at.as_mut() {
            *cleared = blocked.is_empty();
        }
    }

    /// How to reach `first` from the current position without retracting, if that is safe:
    /// `Some(false)` to link at depth `z` and cut on, `Some(true)` to link over the cleared
    /// floor at `z_from` and ramp down from there.
    fn link(&self, first: Point, z_from: f64, z: f64) -> Option<bool> {
        let (p, cleared) = self.at?;
        let length = dist([p[0], p[1]], first);
        let link = if (p[2] - z).abs() < 1e-9 && (cleared || length <= self.max_slot_mm) {
            false
        } else if cleared && (p[2] - z_from).abs() < 1e-9 {
            true
        } else {
            return None;
        };
        self.domain.iter().any(|s| contains_link(s, [p[0], p[1]], first)).then_some(link)
    }

    /// Cuts `ring` at depth `z`, linked at depth from where the tool is or, when `may_enter`,
    /// entered from the depth it was last cut to (`from`). Whether it was entered by a helix;
    /// `None` when it found no way in (and cut nothing).
    fn ring(&mut self, mut ring: Contour, from: Cut, z: f64, ramp_slope: f64, may_enter: bool) -> Option<bool> {
        let z_from = from.z;
        if ring.len() < 2 {
            return Some(false);
        }
        if let Some((p, _)) = self.at {
            let start = nearest_vertex(&ring, [p[0], p[1]]);
            ring.rotate_left(start);
        }
        let (mut points, start_index, retract, helix) = if self.link(ring[0], z_from, z) == Some(false) {
            (vec![[ring[0][0], ring[0][1], z]], 0, false, false)
        } else if !may_enter {
            return None;
        } else {
            let (points, start_index, helix) = self.entry(&ring, from, z, ramp_slope)?;
            let retract = self.link([points[0][0], points[0][1]], points[0][2], z) != Some(true);
            (points, start_index, retract, helix)
        };
        for i in 1..=ring.len() {
            let p = ring[(start_index + i) % ring.len()];
            points.push([p[0], p[1], z]);
        }
        let last = *points.last().expect("a ring has points");
        self.paths.push(Path { retract, points });
        self.at = Some((last, false));
        Some(helix)
    }

    /// The moves that take the tool from where `from` says down to `z` on `ring`, the ring
    /// vertex they end on, and whether they are a helix. A ramp along the ring is used when it
    /// is long enough for [`MIN_RING_LAPS_BEFORE_HELIX`] laps, or when no helix fits;
    /// otherwise a helix inside the tool-centre area around the ring, then a short link to
    /// the ring. `None` when only a plunge would do: no tool plunges.
    fn entry(&self, ring: &[Point], from: Cut, z: f64, slope: f64) -> Option<(Vec<[f64; 3]>, usize, bool)> {
        let mut points = Vec::new();
        let perimeter: f64 = (0..ring.len()).map(|i| dist(ring[i], ring[(i + 1) % ring.len()])).sum();
        let needed = from.length_to(z, slope);
        let ramp = |points: &mut Vec<[f64; 3]>| {
            ramp_into(ring, from, z, slope, self.max_laps, points);
            let plunge = points.len() == 2 && points[0][..2] == points[1][..2] && points[0][2] > points[1][2];
            if plunge {
                return None;
            }
            let end = *points.last().expect("ramp_into emits at least one point");
            Some((std::mem::take(points), points_index(ring, end), false))
        };
        if perimeter * MIN_RING_LAPS_BEFORE_HELIX >= needed {
            return ramp(&mut points);
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
                self.domain.iter().any(|s| s.contains_segment(a, b))
            });
            if fits {
                // The circle was cut at `z_from` only if the ring was entered by it there (the
                // ring and the domain are the same at every depth, and so is the circle).
                let start =
                    if from.helix { from } else { Cut { z: self.top + self.margin, known: self.top, helix: false } };
                helix(&circle, start, z, slope, &mut points);
                points.push([ring[0][0], ring[0][1], z]);
                return Some((points, 0, true));
            }
        }
        ramp(&mut points)
    }
}

/// Whether the link from `a` to `b` stays inside `domain`. Its ends may lie on the domain's
/// boundary (a ring there is the domain's own contour), where inside and outside are a matter
/// of rounding: the link is checked without its last [`LINK_END_MM`] at either end, which
/// lie on the rings it joins.
fn contains_link(domain: &geom::ShapeIndex, a: Point, b: Point) -> bool {
    let length = dist(a, b);
    if length <= 2.0 * LINK_END_MM {
        return domain.contains(a) || domain.contains(b) || domain.near_edge(a, LINK_END_MM);
    }
    let t = LINK_END_MM / length;
    let at = |s: f64| [a[0] + (b[0] - a[0]) * s, a[1] + (b[1] - a[1]) * s];
    domain.contains_segment(at(t), at(1.0 - t))
}

/// See [`contains_link`], in mm.
const LINK_END_MM: f64 = 1e-6;

/// Where a contour is entered from: the depth `z` a ramp starts at, the depth `known` below
/// which the stock is whole (above it, only what the tools before left within the rest
/// threshold, which a ramp enters at [`LEAD_IN_DEG`]), and whether it was entered by a helix
/// at `z` (whose circle, inside the ring, was then cut too).
#[derive(Debug, Clone, Copy)]
struct Cut {
    z: f64,
    known: f64,
    helix: bool,
}

impl Cut {
    /// The Z of a descent from this cut down to `z` after `travelled` mm along it, at `slope`
    /// below `known` and [`LEAD_IN_DEG`] above.
    fn z_at(&self, travelled: f64, z: f64, slope: f64) -> f64 {
        let lead = lead_in_slope();
        let lead_length = (self.z - self.known).max(0.0) / lead;
        let zi = if travelled <= lead_length {
            self.z - travelled * lead
        } else {
            self.known.min(self.z) - (travelled - lead_length) * slope
        };
        zi.max(z)
    }

    /// The length of the descent down to `z`.
    fn length_to(&self, z: f64, slope: f64) -> f64 {
        let known = self.known.min(self.z);
        (self.z - known) / lead_in_slope() + (known - z).max(0.0) / slope.max(1e-6)
    }
}

/// The steepest a ramp enters the stock the tools before may have left above a level's top,
/// at most the rest threshold and the tolerance thick: a few um, where the ramp angle would
/// run a long way through air.
pub const LEAD_IN_DEG: f64 = 15.0;

fn lead_in_slope() -> f64 {
    LEAD_IN_DEG.to_radians().tan()
}

/// A ring shorter than this many laps of the ramp is entered by a helix where one fits.
const MIN_RING_LAPS_BEFORE_HELIX: f64 = 2.0;

/// Helix diameters tried, as fractions of the tool diameter, largest first. Above 0.9 the
/// centre of a non-centre-cutting tool could leave a post; below 0.2 the helix is a plunge.
const HELIX_DIAMETER_FRACTIONS: [f64; 4] = [0.8, 0.6, 0.4, 0.2];

/// Segments of one helix lap (chord sag 0.5 % of the radius).
const HELIX_SEGMENTS: usize = 32;

/// Appends a descending helix over `circle` from `z_from` to `z`, then one lap at `z`.
fn helix(circle: &[Point], from: Cut, z: f64, slope: f64, out: &mut Vec<[f64; 3]>) {
    let lap = (0..circle.len()).map(|i| dist(circle[i], circle[(i + 1) % circle.len()])).sum::<f64>();
    let step = lap / circle.len() as f64;
    out.push([circle[0][0], circle[0][1], from.z]);
    let mut zi = from.z;
    let mut i = 0;
    while zi > z {
        i += 1;
        zi = from.z_at(step * i as f64, z, slope);
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
/// ending on a vertex. A ring too short to ramp within `max_laps` laps is entered by a
/// straight plunge at its first vertex.
fn ramp_into(ring: &[Point], from: Cut, z: f64, slope: f64, max_laps: f64, out: &mut Vec<[f64; 3]>) {
    let drop = from.z - z;
    let length_needed = from.length_to(z, slope);
    let perimeter: f64 = (0..ring.len()).map(|i| dist(ring[i], ring[(i + 1) % ring.len()])).sum();
    out.push([ring[0][0], ring[0][1], from.z]);
    if drop <= 0.0 {
        return;
    }
    if perimeter * max_laps < length_needed || perimeter < 1e-6 {
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
        let zi = from.z_at(travelled, z, slope);
        out.push([b[0], b[1], zi]);
        if zi <= z {
            break;
        }
    }
}

/// A ring's contour in cutting direction. The engine gives outer contours counter-clockwise
/// and holes clockwise; climb milling runs both the other way (material on the cutter's left).
fn climb(contour: &Contour) -> Contour {
    contour.iter().rev().copied().collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::Target;
    use crate::relief::Level;

    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Shape {
        vec![rectangle([x0, y0, x1, y1])]
    }

    fn relief(levels: Vec<(f64, Shapes)>) -> Relief {
        Relief {
            target: Target::Die,
            placement: kurbo::Affine::IDENTITY,
            regions: Vec::new(),
            levels: levels.into_iter().map(|(depth_mm, area)| Level { depth_mm, area }).collect(),
            blank: vec![square(-20.0, -20.0, 20.0, 20.0)],
        }
    }

    fn vee() -> Tool {
        Tool {
            kind: ToolKind::Vee,
            diameter_mm: 3.0,
            tip_diameter_mm: 0.1,
            included_angle_deg: 20.0,
            stepdown_mm: 0.03,
            stepover_mm: 0.04,
            ..Tool::flat(3, 3.0)
        }
    }

    fn cutting_points(toolpaths: &Toolpaths, number: u32) -> Vec<[f64; 3]> {
        toolpaths
            .operations
            .iter()
            .filter(|op| op.tool.number == number)
            .flat_map(|op| op.paths.iter().flat_map(|p| p.points.iter().copied()))
            .collect()
    }

    #[test]
    fn a_smaller_tool_cuts_only_what_the_larger_left() {
        let relief = relief(vec![(0.2, vec![square(-2.0, -2.0, 2.0, 2.0)])]);
        let mut options = ToolpathOptions::new(vec![Tool::flat(2, 0.3), Tool::flat(1, 1.0)]);
        options.measure_reach = true;
        let toolpaths = plan(&relief, &options, &Progress::hidden()).unwrap();
        // Measuring the reach changes nothing of the paths; without, nothing is measured.
        let unmeasured =
            plan(&relief, &ToolpathOptions { measure_reach: false, ..options.clone() }, &Progress::hidden());
        let unmeasured = unmeasured.unwrap();
        assert!(unmeasured.reached.is_empty() && toolpaths.reached.len() == 1);
        assert_eq!(format!("{:?}", unmeasured.operations), format!("{:?}", toolpaths.operations));
        // Largest first, whatever the order given.
        assert_eq!(toolpaths.operations[0].tool.number, 1);
        let small = cutting_points(&toolpaths, 2);
        assert!(!small.is_empty());
        // The 1 mm tool leaves only the corners, where the 0.3 mm tool's centre comes within
        // (0.5 - 0.15) * sqrt(2) + a little of the corner's own centre position.
        for p in &small {
            let corner = [p[0].abs() - 1.85, p[1].abs() - 1.85];
            assert!(corner[0] > -0.5 && corner[1] > -0.5, "the 0.3 mm tool cuts away from the corners at {p:?}");
        }
        // All the floor is reached but for the 0.15 mm corner radius the small tool leaves.
        let reached = geom::shapes_area(&toolpaths.reached[0]);
        let left = 4.0 * (0.15f64.powi(2) - std::f64::consts::PI * 0.15f64.powi(2) / 4.0);
        assert!((16.0 - reached - left).abs() < 0.002, "reached {reached}");
    }

    #[test]
    fn no_position_of_a_vee_crosses_the_drafted_walls() {
        // Two nested levels: a 4 mm square 0.2 deep holding a 2 mm square 0.4 deep.
        let relief = relief(vec![(0.2, vec![square(-2.0, -2.0, 2.0, 2.0)]), (0.4, vec![square(-1.0, -1.0, 1.0, 1.0)])]);
        let mut options = ToolpathOptions::new(vec![Tool::flat(1, 0.5), vee()]);
        options.draft_deg = 10.0;
        let toolpaths = plan(&relief, &options, &Progress::hidden()).unwrap();
        for op in &toolpaths.operations {
            let tool = &op.tool;
            for p in op.paths.iter().flat_map(|p| &p.points) {
                let depth = -p[2];
                // Distance to each square's wall, and the cutter's radius where that wall's
                // top is: it must clear the wall leaning back by the draft.
                for (half, top) in [(2.0, 0.0), (1.0, 0.2)] {
                    if depth <= top + 1e-9 {
                        continue;
                    }
                    let inside = half - p[0].abs().max(p[1].abs());
                    let need = tool.wall_clearance(depth - top, 10f64.to_radians());
                    assert!(inside >= need - 2e-3, "T{} at {p:?}: {inside} from a wall, needs {need}", tool.number);
                }
            }
        }
        // The vee reaches into the corners, closer than the flat's radius.
        let vee_points = cutting_points(&toolpaths, 3);
        let closest = vee_points.iter().map(|p| 2.0 - p[0].abs().max(p[1].abs())).fold(f64::INFINITY, f64::min);
        assert!(closest < 0.1, "the vee never comes near the outer wall: {closest}");
    }

    /// A closed polygon of `n` points about `c`, at radius `r(angle)`.
    fn star(c: Point, n: usize, r: impl Fn(f64) -> f64) -> Shape {
        vec![(0..n)
            .map(|k| {
                let a = std::f64::consts::TAU * k as f64 / n as f64;
                [c[0] + r(a) * a.cos(), c[1] + r(a) * a.sin()]
            })
            .collect()]
    }

    #[test]
    fn domains_from_the_drafted_sections_are_those_of_the_walls_themselves() {
        // Nested levels with curves, sharp inner corners, a region that goes on unchanged
        // for two levels, and a region that touches its holder's wall.
        let flower = star([0.0, 0.0], 240, |a| 2.5 + 0.5 * (5.0 * a).cos());
        let relief = relief(vec![
            (0.05, vec![square(-4.5, -4.5, 4.5, 4.5)]),
            (0.12, vec![flower.clone(), square(2.0, 2.0, 4.0, 4.0)]),
            (0.2, vec![flower, star([3.0, 3.0], 4, |_| 1.0)]),
            (0.31, vec![star([0.0, 0.0], 120, |_| 1.2), square(-2.0, -0.3, -1.5, 0.3)]),
        ]);
        let draft = 10f64.to_radians();
        let tool = Tool::flat(1, 0.4);
        let (bounds, areas) = boxes_and_areas(&relief);
        let slope = draft.tan();
        let sections = sections(&relief, &bounds, slope);
        let mut compared = 0;
        for (k, level) in relief.levels.iter().enumerate() {
            for (i, region) in level.area.iter().enumerate() {
                let unit = Unit::new(&relief, &bounds, &areas, k, i, region);
                // Every vertex of the section, and every point along its edges, is at least
                // the draft's lean from the wall of every level above (to 20 nm, the grid).
                let section = &sections[k][i];
                for contour in section.iter().flatten() {
                    for (e, &p) in contour.iter().enumerate() {
                        let q = contour[(e + 1) % contour.len()];
                        for t in [0.0, 0.25, 0.5, 0.75] {
                            let x = [p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])];
                            for m in 0..=k {
                                let lean = (level.depth_mm - level_top(&relief, m)) * slope;
                                let d = geom::boundary_distance(&relief.levels[m].area, x);
                                assert!(d >= lean - 2e-5, "level {k} region {i}: {x:?} is {d} from level {m}'s wall");
                            }
                        }
                    }
                }
                // And misses little of it: 0.25 um a level, with the direct erosions' sag.
                let direct = unit.domain(&relief, level.depth_mm, |h| h * slope);
                let missed = geom::difference(&direct, &geom::offset(section, 0.25e-3 * (k + 2) as f64));
                assert!(geom::shapes_area(&missed) < 1e-9, "level {k} region {i}: the section misses some");
                let clearance = |h: f64| tool.wall_clearance(h, draft);
                let direct = unit.domain(&relief, level.depth_mm, clearance);
                let (a, b) = linear_clearance(clearance, &[0.1, level.depth_mm]).unwrap();
                let chained = section_domain(&sections[k][i], a, b > 0.0);
                // Never nearer a wall than the direct erosions (whose joins sag 0.2 %).
                let beyond = geom::difference(&chained, &geom::offset(&direct, 1e-4));
                assert!(
                    geom::shapes_area(&beyond) < 1e-9,
                    "level {k} region {i}: {:?}",
                    geom::bounds(beyond.iter().flatten())
                );
                // And no farther than the budget: 0.25 um a level and the simplification.
                let missed = geom::difference(&direct, &geom::offset(&chained, 0.25e-3 * (k + 1) as f64 + 0.5e-3));
                assert!(
                    geom::shapes_area(&missed) < 1e-9,
                    "level {k} region {i} misses {}",
                    geom::shapes_area(&missed)
                );
                compared += usize::from(!direct.is_empty());
            }
        }
        assert_eq!(compared, 7);
    }

    #[test]
    fn a_ring_too_short_to_ramp_into_is_entered_from_around_it() {
        // A slot too narrow for any helix, 0.3 x 0.04 mm, and a 2 um ring about its centre,
        // too short for a ramp: the tiny ring waits for the slot's outline, then is linked
        // to at depth from it.
        let outline = rectangle([-0.15, -0.02, 0.15, 0.02]);
        let rings = vec![
            Ring { shape: vec![outline.clone()], children: vec![1] },
            Ring { shape: vec![rectangle([-0.001, -0.001, 0.001, 0.001])], children: Vec::new() },
        ];
        let domain = vec![vec![rectangle([-0.16, -0.025, 0.16, 0.025])]];
        let slope = 2f64.to_radians().tan();
        let mut cutter = Cutter::new(&domain, 0.3, MAX_RAMP_LAPS_SMALL_TOOL, 0.0);
        let mut blocked = BTreeSet::new();
        cutter.pass(&rings, &[1, 0], 0.0, -0.1, slope, &mut blocked, &mut BTreeMap::new());
        assert!(blocked.is_empty());
        assert_eq!(cutter.paths.len(), 2);
        assert!(cutter.paths[0].points[0][2] == 0.0, "the outline is ramped into from the top");
        let tiny = &cutter.paths[1];
        assert!(!tiny.retract && tiny.points.iter().all(|p| p[2] == -0.1 && p[0].abs() <= 0.001));

        // Alone in its pass, it has no way in: it is left, and in the passes below too, even
        // where a ramp would fit, for the material above it stands.
        let mut cutter = Cutter::new(&domain, 0.3, MAX_RAMP_LAPS_SMALL_TOOL, 0.0);
        let mut cut = BTreeMap::new();
        cutter.pass(&rings, &[1], 0.0, -0.1, slope, &mut blocked, &mut cut);
        assert!(cutter.paths.is_empty());
        assert_eq!(blocked, BTreeSet::from([(1, 0)]));
        cutter.pass(&rings, &[1, 0], 0.0, -0.100_01, slope, &mut blocked, &mut cut);
        assert_eq!(cutter.paths.len(), 1);
        assert!(cutter.paths[0].points.iter().all(|p| p[0].abs() >= 0.149));
        // The outline was not cut in the first pass: it is ramped into from the top, not from
        // the depth of the pass before, where nothing was cut.
        assert_eq!(cutter.paths[0].points[0][2], 0.0);
        assert_eq!(cut.get(&(0, 0)).map(|c| c.z), Some(-0.100_01));
        // Nor does it count the floor as cleared, which would let links at depth run any length.
        assert!(matches!(cutter.at, Some((_, false))));
    }

    #[test]
    fn the_floor_missed_is_what_no_cut_ring_reaches() {
        // A blocked 2 um ring at the centre of a cut ring of radius 0.3, inside a cut ring of
        // radius 5: with a reach of 0.15, the missed floor is the disc of radius 0.15 the
        // ring of radius 0.3 does not reach (the outer ring is too far to matter).
        let circle = |r: f64| star([0.0, 0.0], 720, |_| r).remove(0);
        let rings = vec![
            Ring { shape: vec![circle(5.0)], children: vec![1] },
            Ring { shape: vec![circle(0.3)], children: vec![2] },
            Ring { shape: vec![rectangle([-0.001, -0.001, 0.001, 0.001])], children: Vec::new() },
        ];
        let blocked = BTreeSet::from([(2, 0)]);
        let missed = floor_missed(&rings, &blocked, 0.15);
        let area = geom::shapes_area(&missed);
        assert!((area - std::f64::consts::PI * 0.15f64.powi(2)).abs() < 0.002, "{area}");
        assert!(geom::shapes_contain(&missed, [0.0, 0.0]) && geom::shapes_contain(&missed, [0.14, 0.0]));
        assert!(!geom::shapes_contain(&missed, [0.16, 0.0]));
        // Without the ring of radius 0.3, all the blocked ring's reach is missed.
        let rings = vec![
            Ring { shape: vec![circle(5.0)], children: vec![1] },
            Ring { shape: vec![rectangle([-0.001, -0.001, 0.001, 0.001])], children: Vec::new() },
        ];
        let alone = floor_missed(&rings, &BTreeSet::from([(1, 0)]), 0.15);
        assert!(geom::shapes_contain(&alone, [0.15, 0.0]) && !geom::shapes_contain(&alone, [0.2, 0.0]));
    }

    #[test]
    fn the_floor_a_tool_finds_no_way_into_is_not_reached() {
        // The 0.3 mm tool's centre fits in the 0.3002 mm square only as a 0.2 um ring, too
        // short to ramp into even one step-down: it is left uncut, and neither the reach nor
        // rest machining count it as cut.
        let relief = relief(vec![(0.3, vec![square(-1.0, -1.0, 1.0, 1.0), square(3.0, 3.0, 3.3002, 3.3002)])]);
        let mut options = ToolpathOptions::new(vec![Tool::flat(1, 0.3)]);
        options.measure_reach = true;
        let toolpaths = plan(&relief, &options, &Progress::hidden()).unwrap();
        assert!(
            toolpaths.warnings.iter().any(|w| w.to_string().contains("T1: 1 pocket centres left uncut")),
            "{:?}",
            toolpaths.warnings
        );
        let reached = &toolpaths.reached[0];
        assert!(geom::shapes_contain(reached, [0.0, 0.0]) && geom::shapes_contain(reached, [0.9, -0.9]));
        assert!(geom::bounds(reached.iter().flatten()).is_some_and(|b| b[2] < 1.01 && b[3] < 1.01));
        // A vee after it goes there.
        options.tools.push(vee());
        let toolpaths = plan(&relief, &options, &Progress::hidden()).unwrap();
        let warnings: Vec<String> = toolpaths.warnings.iter().map(ToString::to_string).collect();
        assert!(
            warnings.iter().any(|w| w.starts_with("T1: 1 pocket centres left to the tools after it")),
            "{warnings:?}"
        );
        let vee_points = cutting_points(&toolpaths, 3);
        assert!(vee_points.iter().any(|p| (p[0] - 3.15).abs() < 0.1 && (p[1] - 3.15).abs() < 0.1));
        assert!(geom::shapes_contain(&toolpaths.reached[0], [3.15, 3.15]));
    }

    #[test]
    fn small_tools_never_plunge() {
        let relief = relief(vec![(0.3, vec![square(-1.0, -1.0, 1.0, 1.0), square(3.0, 3.0, 3.32, 3.32)])]);
        let options = ToolpathOptions::new(vec![Tool::flat(1, 0.3)]);
        let toolpaths = plan(&relief, &options, &Progress::hidden()).unwrap();
        for op in &toolpaths.operations {
            for path in &op.paths {
                for w in path.points.windows(2) {
                    let horizontal = (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]);
                    let drop = w[0][2] - w[1][2];
                    // Through the margin above the level's top (Z0 here), at the lead-in angle,
                    // then at the ramp angle.
                    let lead = w[0][2].max(0.0).min(horizontal * lead_in_slope());
                    let rest = horizontal - lead / lead_in_slope();
                    let allowed = lead + rest * 2f64.to_radians().tan();
                    assert!(drop <= allowed + 1e-9, "a plunge of {drop} mm at {:?}", w[0]);
                }
            }
        }
    }
}
