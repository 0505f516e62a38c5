//! The cutter of one region: the paths of one tool pass by pass, each ring entered from
//! where the stock above it is known to be gone (ramp, helix or a link at depth), never by a
//! plunge.

use std::collections::{BTreeMap, BTreeSet};

use super::rings::Ring;
use super::{Path, SAME_MM};
use crate::geom::{self, Contour, Point, Shapes};

/// Builds the paths of one region, keeping track of where the tool is.
pub(super) struct Cutter {
    pub(super) paths: Vec<Path>,
    /// Tool position and whether everything around it at its depth is already cleared.
    pub(super) at: Option<([f64; 3], bool)>,
    /// Where the tool centre may go at every depth cut, indexed for the link and helix checks.
    pub(super) domain: Vec<geom::ShapeIndex>,
    /// Longest link allowed through uncut material.
    pub(super) max_slot_mm: f64,
    /// The most laps a ramp may take; a ring too short for them has no way in from above.
    pub(super) max_laps: f64,
    /// The most stock the tools before may have left above the level's top.
    pub(super) margin: f64,
    /// Where a contour not cut yet is entered from, in the current pass: the level's top,
    /// through `margin` above it. A helix, which leaves the ring, starts there too.
    pub(super) fresh: Cut,
}

impl Cutter {
    pub(super) fn new(domain: &Shapes, max_slot_mm: f64, max_laps: f64, margin: f64) -> Self {
        let domain = domain.iter().map(geom::ShapeIndex::new).collect();
        let fresh = Cut { z: margin, known: 0.0, helix: false };
        Self { paths: Vec::new(), at: None, domain, max_slot_mm, max_laps, margin, fresh }
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
    pub(super) fn pass(
        &mut self,
        rings: &[Ring],
        order: &[usize],
        top: f64,
        z: f64,
        ramp_slope: f64,
        blocked: &mut BTreeSet<(usize, usize)>,
        cut: &mut BTreeMap<(usize, usize), Cut>,
    ) {
        self.fresh = Cut { z: top + self.margin, known: top, helix: false };
        let fresh = self.fresh;
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
    pub(super) fn link(&self, first: Point, z_from: f64, z: f64) -> Option<bool> {
        let (p, cleared) = self.at?;
        let length = dist([p[0], p[1]], first);
        let link = if (p[2] - z).abs() < SAME_MM && (cleared || length <= self.max_slot_mm) {
            false
        } else if cleared && (p[2] - z_from).abs() < SAME_MM {
            true
        } else {
            return None;
        };
        self.domain.iter().any(|s| contains_link(s, [p[0], p[1]], first)).then_some(link)
    }

    /// Cuts `ring` at depth `z`, linked at depth from where the tool is or, when `may_enter`,
    /// entered from the depth it was last cut to (`from`). Whether it was entered by a helix;
    /// `None` when it found no way in (and cut nothing).
    pub(super) fn ring(
        &mut self,
        mut ring: Contour,
        from: Cut,
        z: f64,
        ramp_slope: f64,
        may_enter: bool,
    ) -> Option<bool> {
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
    pub(super) fn entry(&self, ring: &[Point], from: Cut, z: f64, slope: f64) -> Option<(Vec<[f64; 3]>, usize, bool)> {
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
            // A tool with next to no flat at its tip (a pointed V-bit) has no helix: one of
            // no radius would go round on the spot for ever.
            if radius < MIN_HELIX_RADIUS_MM {
                break;
            }
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
                helix(&circle, if from.helix { from } else { self.fresh }, z, slope, &mut points);
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
pub(super) fn contains_link(domain: &geom::ShapeIndex, a: Point, b: Point) -> bool {
    let length = dist(a, b);
    if length <= 2.0 * LINK_END_MM {
        return domain.contains(a) || domain.contains(b) || domain.near_edge(a, LINK_END_MM);
    }
    let t = LINK_END_MM / length;
    let at = |s: f64| [a[0] + (b[0] - a[0]) * s, a[1] + (b[1] - a[1]) * s];
    domain.contains_segment(at(t), at(1.0 - t))
}

/// See [`contains_link`], in mm.
pub(super) const LINK_END_MM: f64 = 1e-6;

/// Where a contour is entered from: the depth `z` a ramp starts at, the depth `known` below
/// which the stock is whole (above it, only what the tools before left within the rest
/// threshold, which a ramp enters at [`LEAD_IN_DEG`]), and whether it was entered by a helix
/// at `z` (whose circle, inside the ring, was then cut too).
#[derive(Debug, Clone, Copy)]
pub(super) struct Cut {
    pub(super) z: f64,
    pub(super) known: f64,
    pub(super) helix: bool,
}

impl Cut {
    /// The Z of a descent from this cut down to `z` after `travelled` mm along it, at `slope`
    /// below `known` and [`LEAD_IN_DEG`] above.
    pub(super) fn z_at(&self, travelled: f64, z: f64, slope: f64) -> f64 {
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
    pub(super) fn length_to(&self, z: f64, slope: f64) -> f64 {
        let known = self.known.min(self.z);
        (self.z - known) / lead_in_slope() + (known - z).max(0.0) / slope.max(LEAST_RAMP_SLOPE)
    }
}

/// The steepest a ramp enters the stock the tools before may have left above a level's top,
/// at most the rest threshold and the tolerance thick: a few um, where the ramp angle would
/// run a long way through air.
pub const LEAD_IN_DEG: f64 = 15.0;

/// A ring shorter than this, in mm, is a point: nothing to ramp along.
const LEAST_RING_PERIMETER_MM: f64 = 1e-6;

/// A ramp slope below this (under 0.0001 degrees) is taken as this: a descent always ends.
const LEAST_RAMP_SLOPE: f64 = 1e-6;

pub(super) fn lead_in_slope() -> f64 {
    LEAD_IN_DEG.to_radians().tan()
}

/// The smallest helix, in mm of radius: a lap shorter than 0.06 mm is a plunge in all but
/// name, and at the ramp angle it takes hundreds of thousands of moves.
pub(super) const MIN_HELIX_RADIUS_MM: f64 = 0.01;

/// A ring shorter than this many laps of the ramp is entered by a helix where one fits.
pub(super) const MIN_RING_LAPS_BEFORE_HELIX: f64 = 2.0;

/// Helix diameters tried, as fractions of the tool diameter, largest first. Above 0.9 the
/// centre of a non-centre-cutting tool could leave a post; below 0.2 the helix is a plunge.
pub(super) const HELIX_DIAMETER_FRACTIONS: [f64; 4] = [0.8, 0.6, 0.4, 0.2];

/// Segments of one helix lap (chord sag 0.5 % of the radius).
pub(super) const HELIX_SEGMENTS: usize = 32;

/// Appends a descending helix over `circle` from `z_from` to `z`, then one lap at `z`.
pub(super) fn helix(circle: &[Point], from: Cut, z: f64, slope: f64, out: &mut Vec<[f64; 3]>) {
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
pub(super) fn points_index(ring: &[Point], p: [f64; 3]) -> usize {
    ring.iter().position(|q| q[0] == p[0] && q[1] == p[1]).unwrap_or(0)
}

/// Appends a ramp along the closed `ring` from `z_from` down to `z`, starting at vertex 0 and
/// ending on a vertex. A ring too short to ramp within `max_laps` laps is entered by a
/// straight plunge at its first vertex.
pub(super) fn ramp_into(ring: &[Point], from: Cut, z: f64, slope: f64, max_laps: f64, out: &mut Vec<[f64; 3]>) {
    let drop = from.z - z;
    let length_needed = from.length_to(z, slope);
    let perimeter: f64 = (0..ring.len()).map(|i| dist(ring[i], ring[(i + 1) % ring.len()])).sum();
    out.push([ring[0][0], ring[0][1], from.z]);
    if drop <= 0.0 {
        return;
    }
    if perimeter * max_laps < length_needed || perimeter < LEAST_RING_PERIMETER_MM {
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
pub(super) fn climb(contour: &Contour) -> Contour {
    contour.iter().rev().copied().collect()
}

pub(super) fn dist(a: Point, b: Point) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

pub(super) fn nearest_vertex(ring: &[Point], p: Point) -> usize {
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
