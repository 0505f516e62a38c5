//! The guard: the program as written, replayed against the stock before a byte of it is
//! saved, for the two moves that break tools and scrap dies.
//!
//! - A **rapid** (G0) whose swept tool would touch stock.
//! - A **plunge**: a feed that goes down more steeply than 45 degrees (its XY travel shorter
//!   than its drop) and whose tip would bite into stock deeper than the tolerance. The tip is
//!   the part of the cutter within the tolerance of its lowest point
//!   ([`Tool::floor_radius`]): a flat end mill's whole face, the flat of a vee.
//!
//! The guard reads only the program text, the tools and the tolerance: it knows nothing of
//! the planner's bookkeeping. Stock is the die face (Z0) less what every earlier move of
//! every tool swept, with the true tool shapes of [`simulate`](super::simulate).
//!
//! It is fast because it never builds the whole die: it looks at the stock only under the
//! moves that could hit it. A move entirely above the face cannot, nor can a rapid straight
//! up (the tool rises out of the space it stands in). Every other rapid and every plunge is
//! checked against the earlier moves near it, found through a bucket index:
//!
//! 1. A vertical move over a point that the same tool has already passed through at least as
//!    deep (within [`GRAZE_MM`] in XY) is clear: its sweep lies inside that earlier sweep.
//! 2. Otherwise the stock is sampled on a grid of [`CELL_MM`] over the move's footprint,
//!    each cell from the earlier moves that cover it, most recent first, until one has cut
//!    it below the move.
//!
//! What the guard forgives, by design: the outer [`GRAZE_MM`] of the cutter's radius (arcs
//! and rounding put a repeated pass up to a few um off the first), and any bite that lies
//! only between the centres of the grid's cells. Checks are made per move in parallel and
//! reported in program order, so the result does not depend on the thread count.

use rayon::prelude::*;

use super::{parse, Move, Profile, Segment, STOCK_TOP};
use crate::error::Result;
use crate::tool::Tool;

/// The outer band of the cutter's radius the guard does not check, in mm: a pass repeated
/// over an arc strays from the first by the arc tolerance and the rounding (1 to 2 um).
pub const GRAZE_MM: f64 = 0.003;

/// The grid on which stock is sampled where no earlier pass of the tool covers the move.
pub const CELL_MM: f64 = 0.01;

/// A rapid that would cut deeper than this, in mm, touches stock (the program is rounded to
/// 0.5 um at the finest, and sampling the sweep leaves 1e-7 mm).
const TOUCH_MM: f64 = 1e-4;

/// Side of a bucket of the index, at least; more on a large die, so the index stays under
/// about a million buckets. Each move is listed in every bucket its sweep's box meets: a
/// 1 mm tool's short move in about 9 of 0.5 mm, 25 of 0.25 mm. Measured on the medal's
/// guard (criterion) and a 1.36-million-move program's peak memory: 0.25 mm 122 ms and
/// 328 MB, 0.5 mm 117 ms and 290 MB, 1 mm 122 ms and 282 MB.
const BUCKET_MM: f64 = 0.5;

/// What a move would do wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hazard {
    /// A rapid move through stock.
    Rapid,
    /// A feed straight down into stock, deeper than the tolerance.
    Plunge,
}

/// A move of the program that would drive a tool into stock.
#[derive(Debug, Clone, PartialEq)]
pub struct Collision {
    /// The program line of the move (1-based).
    pub line: usize,
    /// The tool's number.
    pub tool: u32,
    /// What the move would do.
    pub hazard: Hazard,
    /// Where the move ends, in mm.
    pub to: [f64; 3],
    /// How deep it would cut into stock, in mm, at `at`.
    pub depth_mm: f64,
    /// A point, in mm, where it would cut that deep.
    pub at: [f64; 2],
}

impl std::fmt::Display for Collision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.hazard {
            Hazard::Rapid => "a rapid move (G0) through stock",
            Hazard::Plunge => "a feed straight down into stock",
        };
        write!(
            f,
            "line {}: T{} makes {what} to X{:.3} Y{:.3} Z{:.3}: it would cut {:.3} mm of stock at X{:.3} Y{:.3}",
            self.line, self.tool, self.to[0], self.to[1], self.to[2], self.depth_mm, self.at[0], self.at[1]
        )
    }
}

/// Every move of `program` that would drive a tool into stock, in program order: rapids that
/// touch it and feeds straight down whose tip bites deeper than `tolerance_mm`.
///
/// # Errors
///
/// As [`simulate`](super::simulate): a word the simulator does not understand, a number that
/// is not finite or beyond 1e9, a tool missing from `tools` or without a usable shape.
pub fn guard(program: &str, tools: &[Tool], tolerance_mm: f64) -> Result<Vec<Collision>> {
    let profiles: Vec<Profile> = tools.iter().map(Profile::new).collect();
    let moves = parse(program, tools, &profiles)?;
    let index = Index::new(&moves);
    let queries: Vec<(usize, Hazard)> =
        moves.iter().enumerate().filter_map(|(i, m)| hazard(m).map(|h| (i, h))).collect();
    let replay = Replay { moves: &moves, tools, profiles: &profiles, index: &index, tolerance_mm };
    Ok(queries.par_iter().with_max_len(16).filter_map(|&(i, hazard)| replay.check(i, hazard)).collect())
}

/// What `m` could do wrong, if it can reach below the die face at all.
pub(super) fn hazard(m: &Move) -> Option<Hazard> {
    if m.from[2].min(m.to[2]) >= STOCK_TOP {
        return None;
    }
    let xy = (m.to[0] - m.from[0]).hypot(m.to[1] - m.from[1]);
    let dz = m.to[2] - m.from[2];
    if m.rapid {
        // Straight up, the tool leaves the space it stands in.
        (xy > 0.0 || dz < 0.0).then_some(Hazard::Rapid)
    } else {
        (dz < 0.0 && xy < -dz).then_some(Hazard::Plunge)
    }
}

/// The moves that reach below the face, by the buckets their sweep's box covers: bucket `b`
/// holds `items[start[b]..start[b + 1]]`, in program order.
struct Index<'a> {
    /// The moves, whose sweeps' boxes ([`sweep_box`]) are worked out when needed: a large
    /// program has millions.
    moves: &'a [Move],
    origin: [f64; 2],
    size: f64,
    nx: usize,
    ny: usize,
    start: Vec<u32>,
    items: Vec<u32>,
}

impl<'a> Index<'a> {
    fn new(moves: &'a [Move]) -> Self {
        let boxes = || moves.iter().map(sweep_box);
        let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
        for r in boxes().flatten() {
            b = [b[0].min(r[0]), b[1].min(r[1]), b[2].max(r[2]), b[3].max(r[3])];
        }
        if b[0] > b[2] {
            return Self { moves, origin: [0.0; 2], size: 1.0, nx: 0, ny: 0, start: vec![0], items: Vec::new() };
        }
        let extent = (b[2] - b[0]).max(b[3] - b[1]);
        let size = BUCKET_MM.max(extent / 1024.0);
        let nx = ((b[2] - b[0]) / size) as usize + 1;
        let ny = ((b[3] - b[1]) / size) as usize + 1;
        let mut index =
            Self { moves, origin: [b[0], b[1]], size, nx, ny, start: vec![0; nx * ny + 1], items: Vec::new() };
        // The buckets of each box are worked out twice, to count and to fill, rather than held.
        for r in boxes().flatten() {
            let [c0, r0, c1, r1] = index.span(r);
            for row in r0..=r1 {
                for col in c0..=c1 {
                    index.start[row * nx + col + 1] += 1;
                }
            }
        }
        for k in 1..index.start.len() {
            index.start[k] += index.start[k - 1];
        }
        let mut next = index.start.clone();
        index.items = vec![0; index.start[nx * ny] as usize];
        for (m, r) in boxes().enumerate() {
            let Some([c0, r0, c1, r1]) = r.map(|r| index.span(r)) else { continue };
            for row in r0..=r1 {
                for col in c0..=c1 {
                    let slot = &mut next[row * nx + col];
                    index.items[*slot as usize] = m as u32;
                    *slot += 1;
                }
            }
        }
        index
    }

    /// The buckets (first and last column, first and last row) that a box overlaps.
    fn span(&self, r: [f64; 4]) -> [usize; 4] {
        let col = |x: f64| (((x - self.origin[0]) / self.size).floor().max(0.0) as usize).min(self.nx - 1);
        let row = |y: f64| (((y - self.origin[1]) / self.size).floor().max(0.0) as usize).min(self.ny - 1);
        [col(r[0]), row(r[1]), col(r[2]), row(r[3])]
    }

    /// The moves before `before` in the bucket holding `p`, most recent first.
    fn at(&self, p: [f64; 2], before: usize) -> impl Iterator<Item = usize> + '_ {
        let items: &[u32] = if self.nx == 0 {
            &[]
        } else {
            let [col, row, _, _] = self.span([p[0], p[1], p[0], p[1]]);
            let b = row * self.nx + col;
            &self.items[self.start[b] as usize..self.start[b + 1] as usize]
        };
        let end = items.partition_point(|&m| (m as usize) < before);
        items[..end].iter().rev().map(|&m| m as usize)
    }

    /// The moves before `before` whose sweep's box overlaps `r`, most recent first.
    fn near(&self, r: [f64; 4], before: usize) -> Vec<usize> {
        if self.nx == 0 {
            return Vec::new();
        }
        let [c0, r0, c1, r1] = self.span(r);
        let mut out: Vec<usize> = Vec::new();
        for row in r0..=r1 {
            for col in c0..=c1 {
                let b = row * self.nx + col;
                let items = &self.items[self.start[b] as usize..self.start[b + 1] as usize];
                let end = items.partition_point(|&m| (m as usize) < before);
                out.extend(items[..end].iter().map(|&m| m as usize).filter(|&m| {
                    sweep_box(&self.moves[m])
                        .is_some_and(|s| s[0] <= r[2] && s[2] >= r[0] && s[1] <= r[3] && s[3] >= r[1])
                }));
            }
        }
        out.sort_unstable_by(|a, b| b.cmp(a));
        out.dedup();
        out
    }
}

/// The XY box a move's cutter sweeps below the face; `None` for a move above it.
fn sweep_box(m: &Move) -> Option<[f64; 4]> {
    if m.from[2].min(m.to[2]) >= STOCK_TOP {
        return None;
    }
    let r = m.reach;
    Some([
        m.from[0].min(m.to[0]) - r,
        m.from[1].min(m.to[1]) - r,
        m.from[0].max(m.to[0]) + r,
        m.from[1].max(m.to[1]) + r,
    ])
}

/// The program's moves, ready to be checked one by one.
struct Replay<'a> {
    moves: &'a [Move],
    tools: &'a [Tool],
    profiles: &'a [Profile],
    index: &'a Index<'a>,
    tolerance_mm: f64,
}

impl Replay<'_> {
    /// The collision of move `i`, if it makes one.
    fn check(&self, i: usize, hazard: Hazard) -> Option<Collision> {
        let q = &self.moves[i];
        // The part of the cutter checked, and the bite it may take.
        let (radius, allowed) = match hazard {
            Hazard::Rapid => (q.reach, TOUCH_MM),
            Hazard::Plunge => (self.tools[q.tool].floor_radius(self.tolerance_mm).min(q.reach), self.tolerance_mm),
        };
        let radius = (radius - GRAZE_MM).max(0.0);
        let vertical = q.from[0] == q.to[0] && q.from[1] == q.to[1];
        if vertical && self.passed_through(i, radius, allowed) {
            return None;
        }
        let mut shape = self.profiles[q.tool];
        shape.radius = radius;
        let window = [
            q.from[0].min(q.to[0]) - radius,
            q.from[1].min(q.to[1]) - radius,
            q.from[0].max(q.to[0]) + radius,
            q.from[1].max(q.to[1]) + radius,
        ];
        let near = self
            .index
            .near(window, i)
            .into_iter()
            .map(|m| (Segment::new(&self.moves[m]), &self.profiles[self.moves[m].tool]))
            .collect();
        let sampler =
            Sampler { path: Segment::new(q), shape, lowest: q.from[2].min(q.to[2]), allowed, near, hint: 0.into() };
        let axis = vertical.then_some([q.to[0], q.to[1]]);
        let (at, depth_mm) = sampler.first_bite(axis, window)?;
        Some(Collision { line: q.line, tool: self.tools[q.tool].number, hazard, to: q.to, depth_mm, at })
    }

    /// Whether the tool of the vertical move `i` has already passed over its XY point, within
    /// [`GRAZE_MM`], at least as deep as the move goes (less `allowed`), every point of its
    /// cutter within `radius` of the axis counted: the move's sweep then lies inside that
    /// earlier one.
    fn passed_through(&self, i: usize, radius: f64, allowed: f64) -> bool {
        let q = &self.moves[i];
        let p = [q.to[0], q.to[1]];
        let profile = &self.profiles[q.tool];
        let goal = q.from[2].min(q.to[2]) + allowed;
        self.index.at(p, i).any(|m| {
            let m = &self.moves[m];
            if m.tool != q.tool || m.from[2].min(m.to[2]) > goal {
                return false;
            }
            let (d, z) = closest(m, p);
            // Cells within `radius` of p are within `radius + d` of the earlier axis, where
            // the cutter stands at most this much higher (the profile is convex).
            d <= GRAZE_MM && z + profile.height(radius + d) - profile.height(radius) <= goal
        })
    }
}

/// The stock under one move, sampled cell by cell from the earlier moves near it.
struct Sampler<'a> {
    path: Segment,
    /// The part of the cutter checked.
    shape: Profile,
    /// The tip's lowest Z along the move.
    lowest: f64,
    /// The bite allowed, in mm.
    allowed: f64,
    /// The earlier moves near it, most recent first.
    near: Vec<(Segment, &'a Profile)>,
    /// Which of `near` cleared the last cell cleared: the likeliest to clear the next.
    hint: std::cell::Cell<usize>,
}

impl Sampler<'_> {
    /// The first cell where the move bites deeper than allowed, and how deep: the point under
    /// the `axis` first (for a vertical move), then the cells of the grid over `window`.
    fn first_bite(&self, axis: Option<[f64; 2]>, window: [f64; 4]) -> Option<([f64; 2], f64)> {
        if let Some(c) = axis {
            if let Some(depth) = self.bite(c) {
                return Some((c, depth));
            }
        }
        let (c0, r0) = ((window[0] / CELL_MM).ceil() as i64, (window[1] / CELL_MM).ceil() as i64);
        let (c1, r1) = ((window[2] / CELL_MM).floor() as i64, (window[3] / CELL_MM).floor() as i64);
        (r0..=r1).find_map(|row| {
            (c0..=c1).find_map(|col| {
                let c = [col as f64 * CELL_MM, row as f64 * CELL_MM];
                self.bite(c).map(|depth| (c, depth))
            })
        })
    }

    /// How much deeper than allowed the move would cut into the stock at `c`, if it would.
    fn bite(&self, c: [f64; 2]) -> Option<f64> {
        let surface = self.path.lowest(&self.shape, c, f64::INFINITY).or_else(|| {
            // A cutter checked at its axis only (a sharp tip): the cell under the axis.
            (self.shape.radius == 0.0).then_some(self.lowest)
        })?;
        let limit = surface + self.allowed;
        if STOCK_TOP <= limit {
            return None;
        }
        let last = self.hint.get();
        if let Some(z) = self.near.get(last).and_then(|(segment, profile)| segment.lowest(profile, c, limit)) {
            if z <= limit {
                return None;
            }
        }
        let mut stock = STOCK_TOP;
        for (k, (segment, profile)) in self.near.iter().enumerate() {
            if let Some(z) = segment.lowest(profile, c, stock) {
                stock = stock.min(z);
                if stock <= limit {
                    self.hint.set(k);
                    return None;
                }
            }
        }
        Some(stock - surface)
    }
}

/// The XY distance from `p` to the move's path and the tip's Z at the nearest point.
fn closest(m: &Move, p: [f64; 2]) -> (f64, f64) {
    let (dx, dy) = (m.to[0] - m.from[0], m.to[1] - m.from[1]);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 { (((p[0] - m.from[0]) * dx + (p[1] - m.from[1]) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
    let (x, y) = (m.from[0] + t * dx, m.from[1] + t * dy);
    // Along a vertical move the tip goes down to its lower end.
    let z = if len2 > 0.0 { m.from[2] + t * (m.to[2] - m.from[2]) } else { m.from[2].min(m.to[2]) };
    let (ex, ey) = (p[0] - x, p[1] - y);
    ((ex * ex + ey * ey).sqrt(), z)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat() -> Tool {
        Tool::flat(1, 1.0)
    }

    /// A pocket 0.2 deep cut by a 1 mm tool in two ramped laps of a 0.6 mm square, clear
    /// over [-0.5, 1.1] squared but for its rounded corners, then `tail` from line 16.
    fn program(tail: &str) -> String {
        format!(
            "T1 M6\nG0 Z5.\nG0 X0. Y0.\nG0 Z0.5\nG1 Z0. F50.\nG1 X0.6 Z-0.05\nG1 Y0.6 Z-0.1\nG1 X0.\nG1 Y0.\n\
             G1 X0.6 Z-0.15\nG1 Y0.6 Z-0.2\nG1 X0.\nG1 Y0.\nG1 X0.6\nG0 Z5.\n{tail}"
        )
    }

    #[test]
    fn a_clean_program_passes() {
        let found = guard(&program("G0 X0.3 Y0.3\nG0 Z-0.1\nG1 Z-0.2\nG0 Z5.\n"), &[flat()], 0.005).unwrap();
        assert_eq!(found, Vec::new());
    }

    #[test]
    fn a_rapid_below_the_cut_is_found_with_its_line() {
        // A rapid into the middle of the pocket, to 0.3 mm.
        let found = guard(&program("G0 X0.3 Y0.3\nG0 Z-0.3\nG0 Z5.\n"), &[flat()], 0.005).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].line, found[0].hazard, found[0].tool), (17, Hazard::Rapid, 1));
        assert!((found[0].depth_mm - 0.1).abs() < 1e-9, "{}", found[0]);
    }

    #[test]
    fn a_rapid_across_the_face_into_the_wall_is_found() {
        let found = guard(&program("G0 X0. Y0.\nG0 Z-0.1\nG0 X3.\nG0 Z5.\n"), &[flat()], 0.005).unwrap();
        assert_eq!(found.iter().map(|c| (c.line, c.hazard)).collect::<Vec<_>>(), [(18, Hazard::Rapid)]);
        assert!((found[0].depth_mm - 0.1).abs() < 1e-9, "{}", found[0]);
    }

    #[test]
    fn a_plunge_into_uncut_stock_is_found_and_one_into_the_cut_is_not() {
        let into_stock = guard(&program("G0 X5. Y5.\nG0 Z0.5\nG1 Z-0.2\n"), &[flat()], 0.005).unwrap();
        assert_eq!(into_stock.iter().map(|c| (c.line, c.hazard)).collect::<Vec<_>>(), [(18, Hazard::Plunge)]);
        assert!((into_stock[0].depth_mm - 0.2).abs() < 1e-9);
        // Down to the floor cut, and 4 um past it: within the tolerance.
        let clean = guard(&program("G0 X0.6 Y0.6\nG0 Z0.5\nG1 Z-0.204\n"), &[flat()], 0.005).unwrap();
        assert_eq!(clean, Vec::new());
        let deep = guard(&program("G0 X0.6 Y0.6\nG0 Z0.5\nG1 Z-0.21\n"), &[flat()], 0.005).unwrap();
        assert_eq!(deep.len(), 1);
    }

    #[test]
    fn a_ramp_is_not_a_plunge() {
        let found = guard("T1 M6\nG0 X0. Y0. Z1.\nG1 Z0. F50.\nG1 X10. Z-0.3\n", &[flat()], 0.005).unwrap();
        assert_eq!(found, Vec::new());
    }

    #[test]
    fn another_tools_cut_clears_the_way() {
        // T2 (0.5 mm) goes down where T1 cut, never having been there, then beside the cut.
        let tools = [flat(), Tool::flat(2, 0.5)];
        let text = program("T2 M6\nG0 X0.3 Y0.\nG0 Z-0.15\nG1 Z-0.2\nG0 Z5.\nG0 X3. Y3.\nG0 Z-0.1\n");
        let found = guard(&text, &tools, 0.005).unwrap();
        assert_eq!(found.iter().map(|c| (c.line, c.tool)).collect::<Vec<_>>(), [(22, 2)]);
    }
}
