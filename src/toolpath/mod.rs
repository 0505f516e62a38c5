//! Stage 3: [`Relief`] to [`Toolpaths`], concentric-offset pocketing of every level.
//!
//! Guarantees of the output: every cutting position keeps the tool (a flat end mill of radius
//! r) inside the level's area: the tool centre stays on offsets of the area by at least r,
//! computed from the area itself, with round joins inscribed in the exact offset by at most
//! 0.2 % of the distance ([`geom::ROUND_JOIN_STEP`]). Under drafted walls the offset is taken
//! from the cavity's section at the level's floor, itself eroded level by level from the
//! levels above within each step's distance (see `Sections` in this module): the section is
//! never nearer a wall than the draft allows and misses by at most 0.25 um a level. Each
//! region of a level is cut from the level's top to its floor in equal step-downs no deeper
//! than the tool's step-down, the last on the floor; a region that goes on unchanged from
//! shallower levels is cut from the shallowest one's top at once, and its copies on those
//! levels cut nothing (their reach is the deepest one's, widened by the draft between them).
//! Within a step-down the
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
//! missed on the level above, or left with rest for the smaller tools (which cut every level
//! only after it has cut them all), is planned again knowing it: that tool does not enter
//! there, and leaves that floor to the tools after it. A
//! link stays down only when the straight move keeps the tool centre inside the level's
//! tool-centre area and crosses either cleared floor or at most one tool diameter of
//! material; otherwise the path retracts. Regions are computed in parallel and merged in
//! input order, so the result does not depend on the thread count.
//!
//! Files: `section` holds the drafted cavity's sections and the tool-centre domains eroded
//! from them; `unit` one region of one level and what each tool cuts in it; `rings` the
//! offset rings of a pocket; `cutter` the passes over them, entries and links; this file the
//! options, the output and the plan that runs the rest. The cutters are [`crate::tool`]'s.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::geom::{self, Shape, Shapes};
use crate::progress::Progress;
use crate::relief::{self, Relief};
use crate::tool::Tool;
use crate::{Warning, WarningKind};

pub mod chamfer;
mod cutter;
pub mod medial;
mod rings;
mod section;
mod unit;
pub mod vcarve;

pub use cutter::LEAD_IN_DEG;
use section::{Domains, Sections};
use unit::{boxes_and_areas, RegionPlan, Unit, UnitPlan};

/// A ring is ramped along for at most this many laps; a shorter ring is cut from the ring
/// around it or left to the tools after (no tool plunges).
///
/// A ring this short is a tool-centre path around a nearly point-like pocket centre, where a
/// ramp would only be a tight helix over the same spot.
pub const MAX_RAMP_LAPS: f64 = 8.0;

/// Laps allowed for a tool whose tip is under 1 mm wide.
pub const MAX_RAMP_LAPS_SMALL_TOOL: f64 = 200.0;

/// Depths, heights and clearances closer than this, in mm, are one: 1 nm, far below the
/// program's 0.5 um rounding, far above the float noise of sums of a few mm.
///
/// # Tolerance
///
/// Used where two depths computed along different routes must compare equal (a ring's depth
/// and the tool's, a clearance and the one before it); never to allow a cut.
pub(crate) const SAME_MM: f64 = 1e-9;

/// How to cut the relief.
#[derive(Debug, Clone)]
pub struct ToolpathOptions {
    /// The tools, in any order: they cut largest first.
    pub tools: Vec<Tool>,
    /// Ramp angle of entries, in degrees from horizontal.
    pub ramp_angle_deg: f64,
    /// Draft of the pocket walls, in degrees from vertical.
    pub draft_deg: f64,
    /// Stock roughing passes leave on walls for the wall contour, in mm.
    pub wall_allowance_mm: f64,
    /// Stock roughing passes leave on floors for the floor skim, in mm (with `floor_skim`).
    pub floor_allowance_mm: f64,
    /// Whether a finishing pass skims every floor after roughing to the floor allowance;
    /// otherwise the last step-down lands on the floor and only the walls are finished.
    pub floor_skim: bool,
    /// Rest machining leaves what earlier tools left thinner than this, in mm.
    pub rest_thicker_than_mm: f64,
    /// The job tolerance, in mm: how far the cut may stray from the target (the budget is in
    /// the module documentation).
    pub tolerance_mm: f64,
    /// Whether to work out [`Toolpaths::reached`], which the report gives and the program
    /// does not need: a dilation and a union per region.
    pub measure_reach: bool,
    /// Height above the die face of the hops between the paths of one tool, in mm.
    pub hop_mm: f64,
    /// The number of the tool that V-carves the relief's V-carved regions.
    pub carving_tool: Option<u32>,
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
            floor_allowance_mm: 0.0,
            floor_skim: false,
            rest_thicker_than_mm: 0.01,
            tolerance_mm: 0.005,
            measure_reach: false,
            hop_mm: 0.5,
            carving_tool: None,
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
    /// Height above the die face of the hops between paths ([`ToolpathOptions::hop_mm`]):
    /// a path that retracts rises only that high, at least to cross the die.
    pub hop_mm: f64,
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
/// as every level's area over the stepover of the tool that cuts first (the one that clears
/// it all), times its step-downs. The stepover is the one its pockets get: at most 1.9 times
/// the radius of its tip's flat (a pointed V-bit that cuts first would take rings microns
/// apart).
///
/// # Errors
///
/// [`Error::Limit`] with the estimate.
pub fn check_size(relief: &Relief, options: &ToolpathOptions) -> Result<()> {
    let Some(tool) = options.cutting_order().first().copied() else { return Ok(()) };
    let stepover = tool.stepover_mm.min(1.9 * tool.floor_radius(options.tolerance_mm)).max(1e-6);
    let mut estimate = 0.0;
    let mut top = 0.0;
    for level in &relief.levels {
        let passes = ((level.depth_mm - top) / tool.stepdown_mm).ceil().max(1.0);
        estimate += geom::shapes_area(&level.area) / stepover * passes;
        top = level.depth_mm;
    }
    // The engraved lines, each walked once a step-down of the carving tool (and its points
    // kept every 25 um while planned: the length bounds the memory too).
    let carver = options.carving_tool.and_then(|n| options.tools.iter().find(|t| t.number == n));
    if let Some(carver) = carver {
        for groove in &relief.grooves {
            let passes = (groove.depth_mm / carver.stepdown_mm.max(1e-3)).ceil().max(1.0);
            estimate += groove.paths.iter().map(geom::Polyline::length_mm).sum::<f64>() * passes;
        }
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
    let (bounds, areas) = boxes_and_areas(relief);
    let units = units(relief, &bounds, &areas);
    let bar = progress.stage("toolpaths", units.len() as u64);
    let domains = Domains::new(relief, &tools, options.draft_deg.to_radians(), options.rest_thicker_than_mm);
    // Where each tool's centre may go at each region's floor, then what each tool cuts there,
    // given what the tools before it could reach: in parallel over the regions.
    // A region cut deeper unchanged is cut there, from its wall's top: its shallower copies
    // cut nothing.
    let continued: BTreeSet<(usize, usize)> = units.iter().flat_map(|u| u.copies.iter().copied()).collect();
    let plan_unit = |unit: &Unit, above: &[Shapes]| -> Result<UnitPlan> {
        if continued.contains(&(unit.level, unit.index)) {
            return Ok(UnitPlan { plans: vec![RegionPlan::default(); tools.len()], reached: Vec::new() });
        }
        let (eroded, inner) = domains.of(unit).map_err(|source| unit_error(relief, unit, source))?;
        unit.plan(relief, options, &tools, &eroded, &inner, above).map_err(|source| unit_error(relief, unit, source))
    };
    let by_level = by_level(relief, &units, &areas);
    let mut planned = plan_levels(relief, &units, &by_level, &bounds, &domains, &plan_unit, &bar)?;
    let margin = options.rest_thicker_than_mm + options.tolerance_mm;
    plan_again_under_missed(relief, &tools, margin, &units, &by_level, &mut planned, &plan_unit)?;
    let (mut operations, mut warnings) = operations(relief, &tools, &units, &mut planned);
    let (carvings, carve_warnings) = carvings(relief, options, &tools)?;
    if let Some(carving) = carvings {
        // After the carving tool's pockets, before the tools that cut after it.
        let rank = |number: u32| tools.iter().position(|t| t.number == number).unwrap_or(tools.len());
        let own = rank(carving.tool.number);
        let at = operations.iter().position(|op| rank(op.tool.number) > own).unwrap_or(operations.len());
        operations.insert(at, carving);
    }
    warnings.extend(carve_warnings);
    if let Some(chamfer) = chamfer_operation(relief, options, &tools)? {
        operations.push(chamfer);
    }
    let mut reached: Vec<Shapes> = Vec::new();
    if options.measure_reach {
        reached = relief.levels.iter().map(|_| Vec::new()).collect();
        let slope = options.draft_deg.to_radians().tan();
        for (unit, plan) in units.iter().zip(planned) {
            // On the copies above, the cut reaches as far as below and the draft more.
            for &(m, i) in &unit.copies {
                let grow = (relief.levels[unit.level].depth_mm - relief.levels[m].depth_mm) * slope;
                let grown = if grow > 0.0 && !plan.reached.is_empty() {
                    geom::intersect(
                        &geom::offset(&plan.reached, grow).map_err(|e| unit_error(relief, unit, e))?,
                        &vec![relief.levels[m].area[i].clone()],
                    )
                    .map_err(|e| unit_error(relief, unit, e))?
                } else {
                    plan.reached.clone()
                };
                reached[m].extend(grown);
            }
            reached[unit.level].extend(plan.reached);
        }
    }
    bar.finish_and_clear();
    if operations.is_empty() {
        return Err(Error::ToolTooLarge { number: largest.number, diameter_mm: largest.diameter_mm });
    }
    Ok(Toolpaths { operations, warnings, reached, hop_mm: options.hop_mm })
}

/// How far inside the outline V-carving stays, in mm: the arc fit's 1 um and the program's
/// rounding, which the steep flank of a 20 degree V-bit makes 5.7 times as deep.
const VCARVE_ALLOWANCE_MM: f64 = 0.002;

/// The V-carving of the relief's V-carved regions by the job's carving tool: one operation,
/// the regions carved in parallel and ordered from the die centre by nearest entry; a warning
/// per region whose axis could not be computed (left uncut) or that the carve leaves short.
fn carvings(relief: &Relief, options: &ToolpathOptions, tools: &[&Tool]) -> Result<(Option<Operation>, Vec<Warning>)> {
    /// One piece of work of the carving tool: a V-carved shape or an engraved line.
    enum Work<'a> {
        /// A shape of a region, with the depth around it.
        Region(&'a relief::Region, &'a Shape, f64),
        Groove(&'a relief::Groove),
    }
    let carved: Vec<Work> = relief
        .regions
        .iter()
        .filter(|r| r.strategy.carves())
        .flat_map(|r| r.area.iter().zip(&r.surround_mm).map(move |(shape, &around)| Work::Region(r, shape, around)))
        .chain(relief.grooves.iter().map(Work::Groove))
        .collect();
    if carved.is_empty() {
        return Ok((None, Vec::new()));
    }
    let tool = options.carving_tool.and_then(|n| tools.iter().find(|t| t.number == n)).ok_or_else(|| {
        Error::Setting { key: "vcarve-tool".into(), reason: "V-carving needs a vee or tapered-ball tool".into() }
    })?;
    // The smallest untapered tool that cuts before the carve clears every floor it fits in,
    // less the draft's lean and the tolerance.
    let before = tools.iter().take_while(|t| t.number != tool.number).filter(|t| !t.kind.is_tapered());
    let smallest = before.map(|t| t.floor_radius(options.tolerance_mm)).fold(f64::INFINITY, f64::min);
    let lean = options.draft_deg.to_radians().tan();
    let carve_options = |depth_mm: f64, surround_mm: f64, floors: bool| vcarve::CarveOptions {
        depth_mm,
        surround_mm,
        sag_mm: options.tolerance_mm / 10.0,
        prune_mm: options.tolerance_mm / 2.0,
        allowance_mm: VCARVE_ALLOWANCE_MM,
        cleared_mm: if floors && smallest.is_finite() {
            smallest + depth_mm * lean + options.rest_thicker_than_mm + options.tolerance_mm
        } else {
            0.0
        },
    };
    let carvings: Vec<_> = carved
        .par_iter()
        .map(|work| match work {
            Work::Region(region, shape, around) => {
                vcarve::carve(shape, tool, carve_options(region.depth_mm, *around, true))
            }
            Work::Groove(groove) => {
                Ok(vcarve::engrave(&groove.paths, tool, carve_options(groove.depth_mm, 0.0, false)))
            }
        })
        .collect();
    let mut plans = Vec::new();
    let mut warnings = Vec::new();
    for (work, carving) in carved.iter().zip(carvings) {
        let at = || match work {
            Work::Region(region, shape, _) => {
                let b = geom::bounds(shape.iter()).unwrap_or_default();
                format!("the V-carved region {} mm deep at X{:.3} Y{:.3}", region.depth_mm, b[0], b[1])
            }
            Work::Groove(groove) => {
                let b = groove.bounds().unwrap_or_default();
                format!("the engraved line {:.3} mm deep at X{:.3} Y{:.3}", groove.depth_mm, b[0], b[1])
            }
        };
        match carving {
            Ok(carving) => {
                if carving.short_mm > options.tolerance_mm {
                    warnings.push(Warning::new(
                        WarningKind::Uncut,
                        "",
                        &format!(
                            "{}: left up to {:.3} mm short where its axis falls more steeply than 45 degrees from both sides",
                            at(),
                            carving.short_mm
                        ),
                    ));
                }
                plans.push(RegionPlan { paths: carving.paths, ..RegionPlan::default() });
            }
            Err(e) => warnings.push(Warning::new(WarningKind::Uncut, "", &format!("{}: left uncut, {e}", at()))),
        }
    }
    let paths = order_regions(plans);
    let depth_mm = carved
        .iter()
        .map(|work| match work {
            Work::Region(region, _, _) => region.depth_mm,
            Work::Groove(groove) => groove.depth_mm,
        })
        .fold(0.0, f64::max);
    Ok((Some(Operation { tool: (*tool).clone(), depth_mm, paths }).filter(|op| !op.paths.is_empty()), warnings))
}

/// The chamfer of the walls' top edges, by the carving tool, after everything else: one
/// operation, or none where the relief asks for none or the bit is no steeper than the draft.
fn chamfer_operation(relief: &Relief, options: &ToolpathOptions, tools: &[&Tool]) -> Result<Option<Operation>> {
    if relief.chamfer_mm <= 0.0 {
        return Ok(None);
    }
    let tool = options.carving_tool.and_then(|n| tools.iter().find(|t| t.number == n)).ok_or_else(|| {
        Error::Setting { key: "chamfer-mm".into(), reason: "a chamfer needs a vee or tapered-ball tool".into() }
    })?;
    let chamfer = chamfer::ChamferOptions {
        width_mm: relief.chamfer_mm,
        draft: options.draft_deg.to_radians(),
        tip_radius_mm: relief.vcarve_tip_radius_mm,
        clearance_mm: options.tolerance_mm,
    };
    let paths = chamfer::chamfers(relief, tool, chamfer);
    let depth_mm = relief.levels.iter().map(|l| l.depth_mm).fold(0.0, f64::max);
    Ok((!paths.is_empty()).then(|| Operation { tool: (*tool).clone(), depth_mm, paths }))
}

/// The error of a boolean or an offset the polygon engine refused while planning `unit`.
fn unit_error(relief: &Relief, unit: &Unit, source: geom::Unrepresentable) -> Error {
    let depth = relief.levels[unit.level].depth_mm;
    Error::Geometry { at: format!("region {} of the level {depth} mm deep", unit.index + 1), source }
}

/// Every region of every level, with the regions of the shallower levels that hold it.
fn units<'a>(relief: &'a Relief, bounds: &[Vec<Option<[f64; 4]>>], areas: &[Vec<f64>]) -> Vec<Unit<'a>> {
    let regions: Vec<(usize, usize, &Shape)> = relief
        .levels
        .iter()
        .enumerate()
        .flat_map(|(k, level)| level.area.iter().enumerate().map(move |(i, region)| (k, i, region)))
        .collect();
    regions.into_par_iter().map(|(k, i, region)| Unit::new(relief, bounds, areas, k, i, region)).collect()
}

/// Each level's units, largest first.
fn by_level(relief: &Relief, units: &[Unit], areas: &[Vec<f64>]) -> Vec<Vec<usize>> {
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
    by_level
}

/// Every unit planned by `plan_unit`: the sections are computed level after level while the
/// units of the levels already done are planned. Each level's units go largest first, each its
/// own job: a large region is a long job, and one started last, or queued behind others on a
/// busy thread, runs on alone while the other threads wait. The plans land in their own slots,
/// so the order they are made in changes nothing else.
fn plan_levels(
    relief: &Relief,
    units: &[Unit],
    by_level: &[Vec<usize>],
    bounds: &[Vec<Option<[f64; 4]>>],
    domains: &Domains,
    plan_unit: &(impl Fn(&Unit, &[Shapes]) -> Result<UnitPlan> + Sync),
    bar: &indicatif::ProgressBar,
) -> Result<Vec<UnitPlan>> {
    let planned: Vec<OnceLock<Result<UnitPlan>>> = units.iter().map(|_| OnceLock::new()).collect();
    let sectioned = rayon::scope(|scope| {
        let mut chains: Vec<Sections> = domains.slopes.iter().map(|&b| Sections::new(b)).collect();
        for (k, order) in by_level.iter().enumerate() {
            // The levels below need this one's sections: none is planned past a failure.
            domains.section_level(&mut chains, bounds, k).map_err(|source| Error::Geometry {
                at: format!("the sections of the level {} mm deep", relief.levels[k].depth_mm),
                source,
            })?;
            let planned = &planned;
            scope.spawn(move |_| {
                order.par_iter().with_max_len(1).for_each(|&u| {
                    assert!(planned[u].set(plan_unit(&units[u], &[])).is_ok(), "each unit once");
                    bar.inc(1);
                });
            });
        }
        Ok(())
    });
    sectioned?;
    planned.into_iter().map(|p| p.into_inner().expect("every unit planned")).collect()
}

/// Each unit was planned as if the level above were cut wherever its tools fit. Where a tool
/// found no way into part of the region above, or left rest there for the tools after it,
/// stock stands over this one ([`stock_over`]): the units below such a part are planned
/// again, level after level, knowing it; a unit that stock comes nowhere near (within any
/// tool's radius) would be planned the same, and is not.
fn plan_again_under_missed(
    relief: &Relief,
    tools: &[&Tool],
    margin: f64,
    units: &[Unit],
    by_level: &[Vec<usize>],
    planned: &mut [UnitPlan],
    plan_unit: &(impl Fn(&Unit, &[Shapes]) -> Result<UnitPlan> + Sync),
) -> Result<()> {
    let mut unit_of: Vec<Vec<usize>> = relief.levels.iter().map(|l| vec![usize::MAX; l.area.len()]).collect();
    for (u, unit) in units.iter().enumerate() {
        unit_of[unit.level][unit.index] = u;
    }
    for level in by_level.iter().skip(1) {
        let holders: Vec<Option<usize>> = level.iter().map(|&u| units[u].above.map(|(m, i)| unit_of[m][i])).collect();
        let mut distinct: Vec<usize> = holders.iter().flatten().copied().collect();
        distinct.sort_unstable();
        distinct.dedup();
        // What stands over each holder's floor, per tool, worked out once for all the units
        // under it: only where some tool left something.
        let standing: BTreeMap<usize, Vec<Shapes>> = distinct
            .into_par_iter()
            .filter(|&h| planned[h].plans.iter().any(|p| !p.missed.is_empty() || !p.standing.is_empty()))
            .map(|h| Ok((h, stock_over(&planned[h]).map_err(|source| unit_error(relief, &units[h], source))?)))
            .collect::<Result<_>>()?;
        let redone: Vec<(usize, UnitPlan)> = level
            .par_iter()
            .zip(holders)
            .filter_map(|(&u, holder)| Some((u, standing.get(&holder?)?)))
            .map(|(u, above)| {
                // How far each tool's cutter reaches from its path when its tip is on this
                // floor, up to the die face (as `Unit::pocket` blocks contours under stock).
                let floor = relief.levels[units[u].level].depth_mm;
                let radii: Vec<f64> = tools.iter().map(|t| t.radius_at(floor + margin) + NEAR_SLACK_MM).collect();
                let near = comes_near(units[u].region, above, &radii).map_err(|e| unit_error(relief, &units[u], e))?;
                Ok(if near { Some((u, plan_unit(&units[u], above)?)) } else { None })
            })
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        for (u, plan) in redone {
            planned[u] = plan;
        }
    }
    Ok(())
}

/// Slack on the reach [`comes_near`] tests, in mm: more than the rounding of any offset.
const NEAR_SLACK_MM: f64 = 0.01;

/// Whether any tool's stock in `above` (one set per tool) comes within that tool's reach
/// (`radii`) of `region`: only then can it block one of the tool's contours there, or stand
/// over its floor.
fn comes_near(region: &Shape, above: &[Shapes], radii: &[f64]) -> geom::Result<bool> {
    let Some(b) = geom::bounds(region.iter()) else { return Ok(false) };
    for (stock, &r) in above.iter().zip(radii) {
        let near_box = |s: &Shape| {
            geom::bounds(s.iter())
                .is_some_and(|c| c[0] <= b[2] + r && c[2] >= b[0] - r && c[1] <= b[3] + r && c[3] >= b[1] - r)
        };
        let candidates: Shapes = stock.iter().filter(|s| near_box(s)).cloned().collect();
        if candidates.is_empty() {
            continue;
        }
        let grown = geom::offset(&vec![region.clone()], r)?;
        if !geom::intersect(&grown, &candidates)?.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The stock standing over a unit's floor while each tool cuts the levels below: where the
/// tool missed the floor, and the rest it left for the smaller tools after it, which cut it
/// only later.
fn stock_over(plan: &UnitPlan) -> geom::Result<Vec<Shapes>> {
    plan.plans
        .iter()
        .map(|p| match (p.missed.is_empty(), p.standing.is_empty()) {
            (_, true) => Ok(p.missed.clone()),
            (true, false) => Ok(p.standing.clone()),
            (false, false) => geom::union(&[p.missed.clone(), p.standing.clone()].concat()),
        })
        .collect()
}

/// The operations, tool by tool and level by level, taken out of the units' plans, and a
/// warning per tool that found no way into some pocket centres.
fn operations(
    relief: &Relief,
    tools: &[&Tool],
    units: &[Unit],
    planned: &mut [UnitPlan],
) -> (Vec<Operation>, Vec<Warning>) {
    let mut operations = Vec::new();
    let mut warnings = Vec::new();
    for (j, tool) in tools.iter().enumerate() {
        let mut blocked_count = 0;
        for (k, level) in relief.levels.iter().enumerate() {
            let plans: Vec<RegionPlan> = units
                .iter()
                .zip(planned.iter_mut())
                .filter(|(unit, _)| unit.level == k)
                .map(|(_, plan)| std::mem::take(&mut plan.plans[j]))
                .collect();
            blocked_count += plans.iter().map(|p| p.blocked_count).sum::<usize>();
            let paths = order_regions(plans);
            if !paths.is_empty() {
                operations.push(Operation { tool: (*tool).clone(), depth_mm: level.depth_mm, paths });
            }
        }
        if blocked_count > 0 {
            // What the last tool leaves stays; before it, rest machining sees what is left.
            let left = if j + 1 < tools.len() { "left to the tools after it" } else { "left uncut" };
            warnings.push(Warning::new(
                WarningKind::Uncut,
                "",
                &format!(
                    "T{}: {blocked_count} pocket centres {left}: no room to ramp in or stock left above, and no tool plunges",
                    tool.number
                ),
            ));
        }
    }
    (operations, warnings)
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
    use std::collections::{BTreeMap, BTreeSet};

    use super::cutter::{lead_in_slope, Cutter};
    use super::rings::{floor_missed, Ring};
    use super::section::{level_top, linear_clearance, rectangle, section_domain, sections};
    use super::*;
    use crate::geom::Point;
    use crate::job::Target;
    use crate::relief::Level;
    use crate::tool::ToolKind;

    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Shape {
        vec![rectangle([x0, y0, x1, y1])]
    }

    /// A die of these levels on a 40 mm square blank.
    pub(super) fn relief(levels: Vec<(f64, Shapes)>) -> Relief {
        Relief {
            target: Target::Die,
            placement: kurbo::Affine::IDENTITY,
            regions: Vec::new(),
            levels: levels.into_iter().map(|(depth_mm, area)| Level { depth_mm, area }).collect(),
            blank: vec![square(-20.0, -20.0, 20.0, 20.0)],
            shades: Vec::new(),
            vcarve_slope: 0.0,
            vcarve_tip_radius_mm: 0.0,
            grooves: Vec::new(),
            warnings: Vec::new(),
            chamfer_mm: 0.0,
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

    /// The depths at which the tool runs along the contour of its whole domain, and how many
    /// points of the paths lie on it.
    fn depths_on_the_wall(toolpaths: &Toolpaths, wall: &Shape) -> BTreeMap<i64, usize> {
        let mut depths = BTreeMap::new();
        for p in cutting_points(toolpaths, 1) {
            if geom::boundary_distance(std::slice::from_ref(wall), [p[0], p[1]]) < 1e-6 {
                *depths.entry((p[2] * 1e4).round() as i64).or_default() += 1;
            }
        }
        depths
    }

    #[test]
    fn a_pointed_vee_clearing_a_floor_first_has_no_helix_on_the_spot() {
        // A 90 degree V-bit with no flat, alone, one 1 mm step-down: its rings are microns
        // apart and a helix of their width would take millions of moves (it ran out of
        // memory on a 100 mm plate). Without helices it ramps, or leaves pocket centres.
        let pointed = Tool { tip_diameter_mm: 0.0, included_angle_deg: 90.0, stepdown_mm: 1.0, ..vee() };
        let relief = relief(vec![(1.0, vec![square(0.0, 0.0, 6.0, 6.0)])]);
        let toolpaths = plan(&relief, &ToolpathOptions::new(vec![pointed]), &Progress::hidden()).unwrap();
        let points: usize = toolpaths.operations.iter().flat_map(|op| &op.paths).map(|p| p.points.len()).sum();
        assert!(points > 0 && points < 2_000_000, "{points} points");
    }

    #[test]
    fn the_last_step_down_lands_on_the_floor_and_the_wall_is_finished_once() {
        let relief = relief(vec![(0.3, vec![square(-2.0, -2.0, 2.0, 2.0)])]);
        let mut tool = Tool::flat(1, 1.0);
        tool.stepdown_mm = 0.1;
        let options = ToolpathOptions::new(vec![tool]);
        let toolpaths = plan(&relief, &options, &Progress::hidden()).unwrap();
        let levels: BTreeSet<i64> = cutting_points(&toolpaths, 1).iter().map(|p| (p[2] * 1e4).round() as i64).collect();
        // Ramps run between the passes; the passes themselves are at the step-downs only.
        for z in [-1000, -2000, -3000] {
            assert!(levels.contains(&z), "no pass at {z}: {levels:?}");
        }
        assert!(!levels.contains(&-2900), "a pass 0.01 mm above the floor: {levels:?}");
        // The wall, the tool-centre contour 0.5 mm in, is cut at the floor only, in one lap.
        let wall = square(-1.5, -1.5, 1.5, 1.5);
        let on_wall = depths_on_the_wall(&toolpaths, &wall);
        assert_eq!(on_wall.keys().copied().collect::<Vec<_>>(), vec![-3000], "{on_wall:?}");

        // A floor skim: roughing stops 0.01 mm above the floor and a pass over the whole
        // pocket takes the rest.
        let skim = ToolpathOptions { floor_skim: true, floor_allowance_mm: 0.01, ..options };
        let skimmed = plan(&relief, &skim, &Progress::hidden()).unwrap();
        let levels: BTreeSet<i64> = cutting_points(&skimmed, 1).iter().map(|p| (p[2] * 1e4).round() as i64).collect();
        assert!(levels.contains(&-2900) && levels.contains(&-3000), "{levels:?}");
        let length = |t: &Toolpaths| -> f64 {
            let points = cutting_points(t, 1);
            points.windows(2).map(|w| (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1])).sum()
        };
        assert!(length(&skimmed) > 1.2 * length(&toolpaths), "{} vs {}", length(&skimmed), length(&toolpaths));
    }

    #[test]
    fn a_region_that_goes_on_unchanged_is_cut_to_its_deepest_floor_at_once() {
        // Square B is on both levels: 0.3 mm deep in two step-downs of 0.15 mm from the face,
        // not 0.1 mm in one and 0.2 mm more in two.
        let a = square(-5.0, -2.0, -1.0, 2.0);
        let b = square(1.0, -2.0, 5.0, 2.0);
        let relief = relief(vec![(0.1, vec![a, b.clone()]), (0.3, vec![b])]);
        let mut tool = Tool::flat(1, 1.0);
        tool.stepdown_mm = 0.15;
        let mut options = ToolpathOptions::new(vec![tool]);
        options.measure_reach = true;
        let toolpaths = plan(&relief, &options, &Progress::hidden()).unwrap();
        let mut depths_in_b = BTreeSet::new();
        for op in &toolpaths.operations {
            for w in op.paths.iter().flat_map(|p| p.points.windows(2)) {
                if w[0][0] > 0.0 && w[0][2] == w[1][2] {
                    depths_in_b.insert((w[0][2] * 1e4).round() as i64);
                }
            }
        }
        assert_eq!(depths_in_b.into_iter().collect::<Vec<_>>(), vec![-3000, -1500]);
        // B's floor counts as reached on both levels (less the 0.5 mm radius in its corners).
        let in_b =
            |shapes: &Shapes| geom::shapes_area(&geom::intersect(shapes, &vec![square(0.0, -3.0, 6.0, 3.0)]).unwrap());
        assert!(in_b(&toolpaths.reached[0]) > 15.78 && in_b(&toolpaths.reached[1]) > 15.78);
    }

    #[test]
    fn thin_stock_in_the_corners_is_taken_by_the_cone_in_one_contour() {
        // A 0.3 mm flat tool leaves a cusp in each corner, 0.06 mm deep on the diagonal: the
        // vee's contour at the floor, whose cone lies on the drafted walls, takes it whole
        // rather than pocketing it at each step-down.
        let relief = relief(vec![(0.2, vec![square(-2.0, -2.0, 2.0, 2.0)])]);
        let mut options = ToolpathOptions::new(vec![Tool::flat(1, 0.3), vee()]);
        options.draft_deg = 10.0;
        options.measure_reach = true;
        let toolpaths = plan(&relief, &options, &Progress::hidden()).unwrap();
        // The length cut level at each depth (ramps descend, passes stay on their depth).
        let mut at_depth: BTreeMap<i64, f64> = BTreeMap::new();
        for op in toolpaths.operations.iter().filter(|op| op.tool.number == 3) {
            for w in op.paths.iter().flat_map(|p| p.points.windows(2)) {
                if w[0][2] == w[1][2] {
                    *at_depth.entry((w[0][2] * 1e4).round() as i64).or_default() +=
                        (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1]);
                }
            }
        }
        let passes: Vec<i64> = at_depth.iter().filter(|(_, &mm)| mm > 1.0).map(|(&z, _)| z).collect();
        assert_eq!(passes, vec![-2000], "{at_depth:?}");
        // And the corners count as reached: the floor is the square 0.2 x tan 10 degrees in
        // from the wall's top edge, less the vee tip's corners and the edge within half the
        // rest threshold, which is not looked for.
        let side = 4.0 - 2.0 * 0.2 * 10f64.to_radians().tan();
        let reached = geom::shapes_area(&toolpaths.reached[0]);
        assert!(reached > side * side - 4.0 * side * 0.005 - 0.01, "reached {reached} of {}", side * side);
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
                let direct = unit.domain(&relief, level.depth_mm, |h| h * slope).unwrap();
                let missed =
                    geom::difference(&direct, &geom::offset(section, 0.25e-3 * (k + 2) as f64).unwrap()).unwrap();
                assert!(geom::shapes_area(&missed) < 1e-9, "level {k} region {i}: the section misses some");
                let clearance = |h: f64| tool.wall_clearance(h, draft);
                let direct = unit.domain(&relief, level.depth_mm, clearance).unwrap();
                let (a, b) = linear_clearance(clearance, &[0.1, level.depth_mm]).unwrap();
                let chained = section_domain(&sections[k][i], a, b > 0.0).unwrap();
                // Never nearer a wall than the direct erosions (whose joins sag 0.2 %).
                let beyond = geom::difference(&chained, &geom::offset(&direct, 1e-4).unwrap()).unwrap();
                assert!(
                    geom::shapes_area(&beyond) < 1e-9,
                    "level {k} region {i}: {:?}",
                    geom::bounds(beyond.iter().flatten())
                );
                // And no farther than the budget: 0.25 um a level and the simplification.
                let missed =
                    geom::difference(&direct, &geom::offset(&chained, 0.25e-3 * (k + 1) as f64 + 0.5e-3).unwrap())
                        .unwrap();
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
        let missed = floor_missed(&rings, &blocked, 0.15).unwrap();
        let area = geom::shapes_area(&missed);
        assert!((area - std::f64::consts::PI * 0.15f64.powi(2)).abs() < 0.002, "{area}");
        assert!(geom::shapes_contain(&missed, [0.0, 0.0]) && geom::shapes_contain(&missed, [0.14, 0.0]));
        assert!(!geom::shapes_contain(&missed, [0.16, 0.0]));
        // Without the ring of radius 0.3, all the blocked ring's reach is missed.
        let rings = vec![
            Ring { shape: vec![circle(5.0)], children: vec![1] },
            Ring { shape: vec![rectangle([-0.001, -0.001, 0.001, 0.001])], children: Vec::new() },
        ];
        let alone = floor_missed(&rings, &BTreeSet::from([(1, 0)]), 0.15).unwrap();
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
            toolpaths
                .warnings
                .iter()
                .any(|w| w.kind == WarningKind::Uncut && w.to_string().contains("T1: 1 pocket centres left uncut")),
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
