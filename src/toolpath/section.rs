//! The drafted cavity's sections, level by level, and the tool-centre domains eroded from
//! them.

use std::sync::OnceLock;

use super::unit::{holder, Unit};
use super::SAME_MM;
use crate::geom::{self, Contour, Shapes};
use crate::relief::Relief;
use crate::tool::Tool;

/// Where every tool's centre may go in every unit: the drafted cavity's sections, computed
/// level after level ([`Domains::section_level`]), and the erosions each unit needs of them.
///
/// The drafted cavity, and the tools whose clearance grows linearly with the wall's height
/// (flat tools, and tapered tools below their shank), are eroded from the cavity's sections:
/// one section per level and slope, shared by every region and tool. Other tools' domains
/// are the unit's own ([`Unit::domain`]).
pub(super) struct Domains<'a> {
    relief: &'a Relief,
    tools: &'a [&'a Tool],
    draft: f64,
    /// Per tool, `(a, b)` when its clearance is `a + b h` at every wall height `h`.
    linear: Vec<Option<(f64, f64)>>,
    /// The distinct slopes of the sections.
    pub(super) slopes: Vec<f64>,
    /// The erosions each unit needs, by slope, then distance.
    erosions: Vec<Erosion>,
    /// Per level, per slope and region: set level after level.
    sections: Vec<OnceLock<Vec<Vec<Shapes>>>>,
}

/// The domain `of` (a tool's index, or the number of tools for the cavity less the band within
/// half the rest threshold of its walls, where rest machining looks for material): `distance`
/// inside the section of `slope`.
#[derive(Debug, Clone, Copy)]
struct Erosion {
    of: usize,
    distance: f64,
    slope: f64,
}

impl<'a> Domains<'a> {
    /// The erosions `tools` (in cutting order) need, with walls drafted by `draft` radians.
    pub(super) fn new(relief: &'a Relief, tools: &'a [&'a Tool], draft: f64, rest_thicker_than_mm: f64) -> Self {
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
        let same = |b: f64| *slopes.iter().find(|&&s| (s - b).abs() <= SAME_SLOPE).expect("a slope");
        let mut erosions: Vec<Erosion> = linear
            .iter()
            .enumerate()
            .filter_map(|(j, l)| l.map(|(a, b)| Erosion { of: j, distance: a, slope: same(b) }))
            .chain(cavity_slope.map(|s| Erosion {
                of: tools.len(),
                distance: rest_thicker_than_mm / 2.0,
                slope: same(s),
            }))
            .collect();
        erosions.sort_by(|x, y| x.slope.total_cmp(&y.slope).then(x.distance.total_cmp(&y.distance)));
        let sections = relief.levels.iter().map(|_| OnceLock::new()).collect();
        Self { relief, tools, draft, linear, slopes, erosions, sections }
    }

    /// Sets the sections of level `k` from `chains` (one per slope, given every level before).
    pub(super) fn section_level(
        &self,
        chains: &mut [Sections],
        bounds: &[Vec<Option<[f64; 4]>>],
        k: usize,
    ) -> geom::Result<()> {
        let level = chains.iter_mut().map(|chain| chain.level(self.relief, bounds, k)).collect::<geom::Result<_>>()?;
        assert!(self.sections[k].set(level).is_ok(), "each level once");
        Ok(())
    }

    fn section(&self, unit: &Unit, slope: f64) -> &Shapes {
        let at = self.slopes.iter().position(|&s| s == slope).expect("every slope has its sections");
        &self.sections[unit.level].get().expect("the level's sections come first")[at][unit.index]
    }

    /// Where each tool's centre may go at `unit`'s floor, and the cavity there less the band
    /// within half the rest threshold of its walls. Erosions of one drafted slope are made by
    /// distance, each from the one before, as large erosions of dense outlines are slow and
    /// erosion composes. (Under vertical walls the section is the region itself, and each
    /// erosion is exact.)
    pub(super) fn of(&self, unit: &Unit) -> geom::Result<(Vec<Shapes>, Shapes)> {
        let floor = self.relief.levels[unit.level].depth_mm;
        let mut eroded: Vec<Shapes> = self
            .tools
            .iter()
            .zip(&self.linear)
            .map(|(tool, linear)| match linear {
                Some(_) => Ok(Vec::new()),
                None => unit.domain(self.relief, floor, |h| tool.wall_clearance(h, self.draft)),
            })
            .chain([Ok(Vec::new())])
            .collect::<geom::Result<_>>()?;
        let mut before: Option<Erosion> = None;
        for &e in &self.erosions {
            eroded[e.of] = match before {
                Some(b) if b.slope == e.slope && e.slope > 0.0 => {
                    section_domain(&eroded[b.of], e.distance - b.distance, true)?
                }
                _ => section_domain(self.section(unit, e.slope), e.distance, e.slope > 0.0)?,
            };
            before = Some(e);
        }
        let inner = eroded.pop().expect("the inner cavity");
        Ok((eroded, inner))
    }
}

/// Simplification of the tool-centre domains eroded from the cavity's sections, which carry
/// the joins of both erosions, in mm. They are eroded by as much more.
pub(super) const DOMAIN_SIMPLIFY_MM: f64 = 0.000_25;

/// Sag of the joins of each erosion of the cavity's sections, in mm.
pub(super) const SECTION_SAG_MM: f64 = 0.000_05;

/// Simplification of each of the cavity's sections before the next is eroded from it, in mm:
/// it keeps the joins of one erosion from being split again by the next.
pub(super) const SECTION_SIMPLIFY_MM: f64 = 0.000_1;

/// Wall slopes closer than this are one: over a 10 mm deep die they differ by 10 pm.
pub(super) const SAME_SLOPE: f64 = 1e-12;

/// `(a, b)` when `clearance(h)` is `a + b h` at every one of `heights` (to 1e-9 mm), as for a
/// flat tool (its radius plus the draft's lean) and a tapered tool below its shank.
pub(super) fn linear_clearance(clearance: impl Fn(f64) -> f64, heights: &[f64]) -> Option<(f64, f64)> {
    let a = clearance(0.0);
    let top = heights.iter().copied().fold(0.0, f64::max);
    let b = if top > 0.0 { (clearance(top) - a) / top } else { 0.0 };
    heights.iter().all(|&h| (clearance(h) - a - b * h).abs() <= SAME_MM).then_some((a, b))
}

/// The points of a cavity's `section` at least `a` inside it: where a tool whose clearance is
/// `a + b h` may go. A `drafted` section (b > 0) carries the joins of its own erosions, which
/// each make several joins here: the result is eroded by [`DOMAIN_SIMPLIFY_MM`] more and
/// simplified by as much, so it keeps no point nearer the walls.
pub(super) fn section_domain(section: &Shapes, a: f64, drafted: bool) -> geom::Result<Shapes> {
    if a <= 0.0 {
        Ok(section.clone())
    } else if drafted {
        Ok(geom::simplify_contours(&geom::offset(section, -(a + DOMAIN_SIMPLIFY_MM))?, DOMAIN_SIMPLIFY_MM))
    } else {
        geom::offset(section, -a)
    }
}

/// Every level's [`Sections`] of one slope, for the tests.
#[cfg(test)]
pub(super) fn sections(relief: &Relief, bounds: &[Vec<Option<[f64; 4]>>], slope: f64) -> Vec<Vec<Shapes>> {
    let mut chain = Sections::new(slope);
    (0..relief.levels.len()).map(|k| chain.level(relief, bounds, k).expect("a test die's sections")).collect()
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
pub(super) struct Sections {
    pub(super) slope: f64,
    /// The section at the floor of the last level given.
    pub(super) section: Shapes,
}

impl Sections {
    pub(super) fn new(slope: f64) -> Self {
        Self { slope, section: Vec::new() }
    }

    /// The section at the floor of level `k`, the level after the last one given, per region.
    pub(super) fn level(
        &mut self,
        relief: &Relief,
        bounds: &[Vec<Option<[f64; 4]>>],
        k: usize,
    ) -> geom::Result<Vec<Shapes>> {
        let level = &relief.levels[k];
        if self.slope <= 0.0 {
            // Nested levels: the section is the level itself.
            return Ok(level.area.iter().map(|r| vec![r.clone()]).collect());
        }
        let mut section =
            if k == 0 { level.area.clone() } else { geom::intersect(&std::mem::take(&mut self.section), &level.area)? };
        let step = level.depth_mm - level_top(relief, k);
        if step > 0.0 {
            // Erode by the simplification more, so that simplifying gives back no point
            // nearer the walls than the step.
            let eroded = geom::erode_within(&section, step * self.slope + SECTION_SIMPLIFY_MM, SECTION_SAG_MM)?;
            section = geom::simplify_contours(&eroded, SECTION_SIMPLIFY_MM);
        }
        let mut regions = vec![Vec::new(); level.area.len()];
        for shape in &section {
            if let Some(i) = holder(&level.area, &bounds[k], shape) {
                regions[i].push(shape.clone());
            }
        }
        self.section = section;
        Ok(regions)
    }
}

/// The top of level `k`: the floor of the level above, or the die face.
pub(super) fn level_top(relief: &Relief, k: usize) -> f64 {
    k.checked_sub(1).map_or(0.0, |above| relief.levels[above].depth_mm)
}

/// The counter-clockwise rectangle `[min_x, min_y, max_x, max_y]`.
pub(super) fn rectangle(r: [f64; 4]) -> Contour {
    vec![[r[0], r[1]], [r[2], r[1]], [r[2], r[3]], [r[0], r[3]]]
}
