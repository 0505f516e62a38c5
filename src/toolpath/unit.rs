//! One region of one level with the walls around it (a unit), and what every tool cuts in
//! it: the rest each tool leaves to the next, the passes, the floor it misses.

use std::collections::BTreeMap;

use super::cutter::Cutter;
use super::rings::{cutting_order, floor_missed, offset_rings, rough_roots, under_stock, Ring};
use super::section::{level_top, rectangle};
use super::{Path, ToolpathOptions, MAX_RAMP_LAPS, MAX_RAMP_LAPS_SMALL_TOOL, SAME_MM};
use crate::geom::{self, Shape, Shapes};
use crate::relief::Relief;
use crate::tool::Tool;

/// A region's box may stick out of its holder's by this, in mm: the levels come from separate
/// booleans on a 15 nm grid, a few steps of slack.
const HOLDER_SLACK_MM: f64 = 1e-4;

/// Nested regions whose areas differ by no more than this, in mm², are the same region.
const SAME_REGION_MM2: f64 = 1e-9;

/// One region of one level, with the walls around it: the region of every shallower level
/// that holds it and has walls of its own (`holders[m]` for level m < `level`).
pub(super) struct Unit<'a> {
    pub(super) level: usize,
    /// The region's index in its level.
    pub(super) index: usize,
    pub(super) region: &'a Shape,
    pub(super) holders: Vec<Option<&'a Shape>>,
    /// The shallowest level with this very region: where the region's own wall starts.
    pub(super) wall_level: usize,
    /// The region of the level just above the wall level that holds this one (that level and
    /// the region's index in it).
    pub(super) above: Option<(usize, usize)>,
    /// This very region on the levels from the wall level down to the one before this (level
    /// and index): when this unit is the deepest of them, it cuts them all, from the wall
    /// level's top in its own step-downs, and they cut nothing.
    pub(super) copies: Vec<(usize, usize)>,
    /// The outlines of the holders above the wall level, each with its level, indexed
    /// once for all the tools and passes that enter near them ([`Unit::enter_clear_of_wedges`]).
    walls: std::sync::OnceLock<Vec<(usize, geom::ShapeIndex)>>,
}

impl<'a> Unit<'a> {
    /// Region `i` of level `k`, with its holders (`bounds` and `areas` of every region of every
    /// level). A region often goes through several levels unchanged (a letter cut deeper than
    /// the field around it): such a holder's walls are the region's own, only taller, and a
    /// run of equal holders is one wall from the shallowest level down.
    pub(super) fn new(
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
        let above = wall_level.checked_sub(1).and_then(|m| found[m].map(|h| (m, h)));
        let copies = (wall_level..k).filter_map(|m| found[m].map(|h| (m, h))).collect();
        Self { level: k, index: i, region, holders, wall_level, above, copies, walls: std::sync::OnceLock::new() }
    }
}

/// The box and the area of every region of every level, `[k][i]` for region i of level k.
#[allow(clippy::type_complexity)]
pub(super) fn boxes_and_areas(relief: &Relief) -> (Vec<Vec<Option<[f64; 4]>>>, Vec<Vec<f64>>) {
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
pub(super) fn holders(
    relief: &Relief,
    bounds: &[Vec<Option<[f64; 4]>>],
    k: usize,
    region: &Shape,
) -> Vec<Option<usize>> {
    relief.levels[..k].iter().zip(bounds).map(|(level, boxes)| holder(&level.area, boxes, region)).collect()
}

/// Which of `regions` (with their `boxes`) holds `shape`: the one whose box holds the shape's
/// and, among several, the one holding its first point, or failing that (a shape touching its
/// holder's edge) the one whose edge is nearest to that point.
pub(super) fn holder(regions: &[Shape], boxes: &[Option<[f64; 4]>], shape: &Shape) -> Option<usize> {
    let probe = shape[0][0];
    let b = geom::bounds(shape.iter()).unwrap_or([probe[0], probe[1], probe[0], probe[1]]);
    let slack = HOLDER_SLACK_MM;
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

impl Unit<'_> {
    /// Where this unit's cut starts: the top of its wall level (the floor of the level above
    /// it, or the die face). A region that goes on unchanged through several levels is cut
    /// from there to its deepest floor at once.
    pub(super) fn top(&self, relief: &Relief) -> f64 {
        level_top(relief, self.wall_level)
    }

    /// The points at least `clearance(h)` inside every wall around the unit at depth `z`,
    /// where h is how far the wall's top is above `z`: the region's own wall and those of its
    /// holders. Erosions compose, so each wall is one offset of its region.
    pub(super) fn domain(&self, relief: &Relief, z: f64, clearance: impl Fn(f64) -> f64) -> geom::Result<Shapes> {
        let own = clearance(z - level_top(relief, self.wall_level));
        let region = vec![self.region.clone()];
        let mut domain = if own > 0.0 { geom::offset(&region, -own)? } else { region };
        let Some(b) = geom::bounds(self.region.iter()) else { return Ok(Vec::new()) };
        for (m, holder) in self.holders.iter().enumerate() {
            let Some(holder) = holder else { continue };
            let c = clearance(z - level_top(relief, m));
            // The holder holds the region, so its offset by no more holds the region's.
            if c <= own + SAME_MM || domain.is_empty() {
                continue;
            }
            // Only the holder's walls within c of the region matter: cut the holder to the
            // region's box grown by 2c. The cut edges then move in by c, which keeps them
            // c away from the box, so outside the region and its domain.
            let grow = 2.0 * c + 0.01;
            let window = [b[0] - grow, b[1] - grow, b[2] + grow, b[3] + grow];
            let near = geom::intersect(&vec![(*holder).clone()], &vec![vec![rectangle(window)]])?;
            let whole_window =
                (geom::shapes_area(&near) - (window[2] - window[0]) * (window[3] - window[1])).abs() < SAME_REGION_MM2;
            if !whole_window {
                domain = geom::intersect(&domain, &geom::offset(&near, -c)?)?;
            }
        }
        Ok(domain)
    }
}

/// The paths of one tool in one region, all step-downs.
#[derive(Debug, Clone, Default)]
pub(super) struct RegionPlan {
    pub(super) paths: Vec<Path>,
    /// How many contours were blocked: no way in (too small to ramp into, or under stock
    /// missed above).
    pub(super) blocked_count: usize,
    /// The floor only those contours would have reached: missed.
    pub(super) missed: Shapes,
    /// The stock this tool and the ones before left on the floor for the tools after it,
    /// which stands there while this tool cuts the levels below.
    pub(super) standing: Shapes,
}

/// What all the tools cut in one unit.
pub(super) struct UnitPlan {
    /// One plan per tool, in cutting order.
    pub(super) plans: Vec<RegionPlan>,
    /// The floor the tools reach, where [`ToolpathOptions::measure_reach`] asks for it.
    pub(super) reached: Shapes,
}

impl Unit<'_> {
    /// What every tool (`tools`, in cutting order, with their tool-centre domains at the
    /// floor) cuts in this unit: the whole domain for the first tool; for each other, only
    /// where the earlier tools left material thicker than the rest threshold, looked for in
    /// `inner`, the cavity at the floor less the band within half the threshold of its walls
    /// (whatever is left in that band is thinner than the threshold). Roughing passes
    /// step down to the floor, keeping the wall allowance, and one contour at the floor
    /// finishes the walls (with a floor skim, roughing stops at the floor allowance and one
    /// pass over every ring finishes floor and walls); a tapered tool's finishing pass ends with the contour of
    /// its whole domain, where its cone finishes the drafted walls.
    pub(super) fn plan(
        &self,
        relief: &Relief,
        options: &ToolpathOptions,
        tools: &[&Tool],
        domains: &[Shapes],
        inner: &[Shape],
        above: &[Shapes],
    ) -> geom::Result<UnitPlan> {
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
            // A tapered tool ends with the contour of its whole domain, whose cone takes the
            // thin stock along the walls at full height: only the rest beyond is pocketed.
            let by_contour = if j > 0 && tool.kind.is_tapered() && !left.is_empty() {
                by_wall_contour(&left, domain, tool, reach, thin)?
            } else {
                Vec::new()
            };
            if !by_contour.is_empty() {
                left = geom::difference(&left, &by_contour)?;
            }
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
                    geom::intersect(domain, &geom::offset(&rest, reach - thin / 4.0 + loose - coarse)?)?
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
                (self.pocket(relief, options, tool, domain, &centres, above.get(j)), Ok(Vec::new()))
            };
            let (plan, grown) = (plan?, grown?);
            // Where the tool found no way in, the floor is not reached.
            let grown = if plan.missed.is_empty() || grown.is_empty() {
                grown
            } else {
                geom::difference(&grown, &plan.missed)?
            };
            if j + 1 < tools.len() && !grown.is_empty() {
                left = geom::difference(&left, &grown)?;
            }
            // What stands on this floor while the tool cuts the levels below (the tools after
            // it come later): what all the tools so far left, less slivers thinner than the
            // rest threshold.
            let mut plan = plan;
            if j + 1 < tools.len() && !left.is_empty() {
                plan.standing = geom::offset(&geom::offset(&left, -thin / 2.0)?, thin / 2.0)?;
            }
            if options.measure_reach && !grown.is_empty() {
                grown_by.push(grown);
            }
            if options.measure_reach && !by_contour.is_empty() {
                grown_by.push(geom::intersect(&by_contour, &geom::offset(domain, reach)?)?);
            }
            plans.push(plan);
        }
        Ok(UnitPlan { plans, reached: reached(grown_by)? })
    }

    /// The passes of `tool` over the tool-centre area `centres` within `domain`, and the floor
    /// they miss where they find no way in. `above` is the floor the tool missed on the level
    /// above, where stock stands over this one: a contour whose cutter comes over it is not
    /// cut, and its floor is missed too.
    pub(super) fn pocket(
        &self,
        relief: &Relief,
        options: &ToolpathOptions,
        tool: &Tool,
        domain: &Shapes,
        centres: &Shapes,
        above: Option<&Shapes>,
    ) -> geom::Result<RegionPlan> {
        let floor = relief.levels[self.level].depth_mm;
        let top = self.top(relief);
        let reach = tool.floor_radius(options.tolerance_mm);
        let allowance = options.wall_allowance_mm;
        // Neighbouring rings at most 2 x reach apart, so the floor is cut within tolerance.
        let stepover = tool.stepover_mm.min(1.9 * reach);
        let simplify_mm = crate::tolerance::SIMPLIFICATION_SHARE * options.tolerance_mm;
        let (rings, roots) = offset_rings(centres.clone(), allowance, stepover, simplify_mm, reach)?;
        let finish_order = cutting_order(&rings, &roots);
        let rough_order = cutting_order(&rings, &rough_roots(&rings, roots, allowance));
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
        let mut blocked = under_stock(&rings, &stock, over);
        let allowance = if options.floor_skim { options.floor_allowance_mm } else { 0.0 };
        let rough_bottom = floor - allowance.min(floor - top);
        let mut cut = BTreeMap::new();
        // A level no deeper than its floor allowance (to 1 um) has its finishing pass only; a
        // depth within rounding of a whole number of step-downs takes that many passes.
        // Without a floor skim the last step-down is on the floor, and it is the finishing
        // pass: the walls, whose allowance the step-downs above left, are cut once, at full
        // height, each right after the rings it encloses.
        let mut passes = 0;
        if rough_bottom - top > 1e3 * SAME_MM && !rough_order.is_empty() {
            passes = ((rough_bottom - top) / tool.stepdown_mm - SAME_MM).ceil().max(1.0) as usize;
        }
        let roughing = if options.floor_skim { passes } else { passes.saturating_sub(1) };
        for p in 1..=roughing {
            let z = -(top + (rough_bottom - top) * p as f64 / passes as f64);
            cutter.pass(&rings, &rough_order, -top, z, ramp_slope, &mut blocked, &mut cut);
        }
        cutter.pass(&rings, &finish_order, -top, -floor, ramp_slope, &mut blocked, &mut cut);
        let mut blocked_count = blocked.len();
        if tool.kind.is_tapered() {
            let walls: Vec<Ring> =
                domain.iter().map(|shape| Ring { shape: shape.clone(), children: Vec::new() }).collect();
            let order: Vec<usize> = (0..walls.len()).collect();
            let mut walls_blocked = under_stock(&walls, &stock, over);
            cutter.pass(&walls, &order, -top, -floor, ramp_slope, &mut walls_blocked, &mut BTreeMap::new());
            blocked_count += walls_blocked.len();
        }
        self.enter_clear_of_wedges(relief, options, &mut cutter.paths, over);
        let mut missed = if blocked.is_empty() { Vec::new() } else { floor_missed(&rings, &blocked, reach)? };
        if let Some(above) = above {
            let below = geom::intersect(above, &vec![self.region.clone()])?;
            missed = if missed.is_empty() { below } else { geom::union(&[missed, below].concat())? };
        }
        Ok(RegionPlan { paths: cutter.paths, blocked_count, missed, standing: Vec::new() })
    }
}

impl Unit<'_> {
    /// A tool that cannot cut a drafted wall (any but a tapered one's final contour) leaves
    /// the wedge between the wall and its own vertical cut, up to the die face, until a
    /// tapered tool takes it. An entry whose cutter, at any height up to the face (`over`),
    /// comes within a holder's wedge of that holder's outline does not rapid down to just
    /// above its cut: it goes in from the die face, feeding down through the cleared space
    /// under its tip, so that its wider parts shave the wedge at the plunge feed.
    fn enter_clear_of_wedges(&self, relief: &Relief, options: &ToolpathOptions, paths: &mut [Path], over: f64) {
        let slope = options.draft_deg.to_radians().tan();
        if slope <= 0.0 || paths.is_empty() {
            return;
        }
        let walls = self.walls.get_or_init(|| {
            let holders = self.holders.iter().enumerate().take(self.wall_level);
            holders.filter_map(|(m, holder)| holder.map(|h| (m, geom::ShapeIndex::new(h.iter())))).collect()
        });
        let near =
            |m: usize| over + relief.levels[m].depth_mm * slope + options.wall_allowance_mm + options.tolerance_mm;
        for path in paths.iter_mut().filter(|p| p.retract) {
            let Some(&first) = path.points.first() else { continue };
            let p = [first[0], first[1]];
            if first[2] < -SAME_MM && walls.iter().any(|(m, wall)| wall.near_edge(p, near(*m))) {
                path.points.insert(0, [first[0], first[1], 0.0]);
            }
        }
    }
}

/// The widest stock a tapered tool's wall contour takes at full height, as a share of its tip
/// diameter: the wedge a drafted wall leaves after the flat tools, and their corners (the
/// published starting rule is the whole wedge in one contour up to about 0.05 mm for a
/// 0.1 mm tip, machine-time.md).
const WALL_CONTOUR_STOCK_SHARE_OF_TIP: f64 = 0.5;

/// The part of `left` (what the tools before left on the floor) that the contour of `domain`
/// cuts: stock thinner than the tool takes at full height (see
/// [`WALL_CONTOUR_STOCK_SHARE_OF_TIP`]) that lies within `reach` of the contour or beyond it
/// (less a quarter of the rest threshold `thin`, which keeps what the contour may miss
/// thinner than that).
fn by_wall_contour(left: &Shapes, domain: &Shapes, tool: &Tool, reach: f64, thin: f64) -> geom::Result<Shapes> {
    let w = WALL_CONTOUR_STOCK_SHARE_OF_TIP * tool.tip_diameter_mm / 2.0;
    if w <= 0.0 {
        return Ok(Vec::new());
    }
    let opened = geom::offset(&geom::offset(left, -w)?, w)?;
    let thin_stock = if opened.is_empty() { left.clone() } else { geom::difference(left, &opened)? };
    if thin_stock.is_empty() {
        return Ok(thin_stock);
    }
    let inside = geom::offset(domain, -(reach - thin / 4.0).max(0.0))?;
    if inside.is_empty() {
        Ok(thin_stock)
    } else {
        geom::difference(&thin_stock, &inside)
    }
}

/// The floor reached: the union of what each tool reached (an offset's result is already a
/// set of disjoint shapes).
fn reached(mut grown_by: Vec<Shapes>) -> geom::Result<Shapes> {
    match grown_by.len() {
        0 => Ok(Vec::new()),
        1 => Ok(grown_by.swap_remove(0)),
        _ => geom::union(&grown_by.concat()),
    }
}

/// Least simplification of the outlines rest machining dilates, in mm (a quarter of the rest
/// threshold when that is more): the tool-centre domain the rest is cut to stays exact.
pub(super) const REST_SIMPLIFY_MM: f64 = 0.001;
