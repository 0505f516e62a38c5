//! Stage 5: a G-code program to a [`Heightmap`] of the die it cuts.
//!
//! The simulator reads the program as the control would (the subset medalcam writes: G0, G1,
//! G2, G3 in absolute XY-plane mode, T/M6 tool changes, G53 machine moves as retracts) and
//! sweeps each tool's true shape along every move: the heightmap cell at `c` ends at the
//! lowest tool tip that passed over it. A flat end mill of radius r at a segment A-B reaches
//! `c` over the parameter interval where the axis is within r of `c`; the lowest Z on that
//! interval is at one of its ends, so the sweep is exact for straight moves. Arcs are swept
//! as chords within 0.5 um. Rows are simulated in parallel bands, each band applying the
//! moves in program order, so the result does not depend on the thread count.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::toolpath::Tool;

/// Stock height above which nothing is cut: the die face.
const STOCK_TOP: f64 = 0.0;

/// Cut depths in a regular grid over the die.
#[derive(Debug, Clone)]
pub struct Heightmap {
    /// Centre of cell (0, 0), in mm.
    pub origin: [f64; 2],
    /// Cell size in mm.
    pub cell_mm: f64,
    /// Columns.
    pub nx: usize,
    /// Rows.
    pub ny: usize,
    /// Z of the die surface per cell, row-major from `origin`; 0 is the uncut face.
    pub z: Vec<f64>,
}

impl Heightmap {
    /// The centre of cell (`ix`, `iy`).
    #[must_use]
    pub fn cell_center(&self, ix: usize, iy: usize) -> [f64; 2] {
        [self.origin[0] + ix as f64 * self.cell_mm, self.origin[1] + iy as f64 * self.cell_mm]
    }

    /// Which cell centres lie inside `shapes` (even-odd over all contours, which for disjoint
    /// valid shapes is plain inside), by scanlines: one crossing list per row.
    #[must_use]
    pub fn coverage(&self, shapes: &[crate::geom::Shape]) -> Vec<bool> {
        let edges: Vec<([f64; 2], [f64; 2])> = shapes
            .iter()
            .flatten()
            .flat_map(|c| (0..c.len()).map(move |i| (c[i], c[(i + 1) % c.len()])))
            .filter(|(a, b)| a[1] != b[1])
            .collect();
        let mut inside = vec![false; self.nx * self.ny];
        inside.par_chunks_mut(self.nx).enumerate().for_each(|(iy, row)| {
            let y = self.origin[1] + iy as f64 * self.cell_mm;
            let mut xs: Vec<f64> = edges
                .iter()
                .filter(|(a, b)| (a[1] > y) != (b[1] > y))
                .map(|(a, b)| a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]))
                .collect();
            xs.sort_by(f64::total_cmp);
            for pair in xs.chunks_exact(2) {
                let from = ((pair[0] - self.origin[0]) / self.cell_mm).ceil().max(0.0) as usize;
                let to = ((pair[1] - self.origin[0]) / self.cell_mm).floor();
                if to < 0.0 {
                    continue;
                }
                for cell in row.iter_mut().take((to as usize + 1).min(self.nx)).skip(from) {
                    *cell = true;
                }
            }
        });
        inside
    }
}

/// The simulated die and what the simulation noticed.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The die surface.
    pub heightmap: Heightmap,
    /// Rapid (G0) moves that removed material: collisions on a real machine.
    pub rapid_cuts: usize,
}

/// One straight move of one tool.
#[derive(Debug, Clone, Copy)]
struct Move {
    from: [f64; 3],
    to: [f64; 3],
    radius: f64,
    rapid: bool,
}

/// Simulates `program` over the rectangle `bounds` (`[min_x, min_y, max_x, max_y]`) with
/// cells of `cell_mm`.
///
/// # Errors
///
/// [`Error::Config`] for a word the simulator does not understand or a tool missing from
/// `tools`.
pub fn simulate(program: &str, tools: &[Tool], bounds: [f64; 4], cell_mm: f64) -> Result<Simulation> {
    let moves = parse(program, tools)?;
    let nx = ((bounds[2] - bounds[0]) / cell_mm).ceil() as usize + 1;
    let ny = ((bounds[3] - bounds[1]) / cell_mm).ceil() as usize + 1;
    let origin = [bounds[0], bounds[1]];
    let mut z = vec![STOCK_TOP; nx * ny];
    let band_rows = 16;
    let mut rapid_cuts: Vec<usize> = z
        .par_chunks_mut(nx * band_rows)
        .enumerate()
        .map(|(band, cells)| {
            let row0 = band * band_rows;
            let rows = cells.len() / nx;
            let y_lo = origin[1] + row0 as f64 * cell_mm;
            let y_hi = y_lo + (rows.saturating_sub(1)) as f64 * cell_mm;
            let mut rapid_cuts = Vec::new();
            for (index, m) in moves.iter().enumerate() {
                if m.from[2].min(m.to[2]) >= STOCK_TOP {
                    continue;
                }
                let (lo, hi) = (m.from[1].min(m.to[1]) - m.radius, m.from[1].max(m.to[1]) + m.radius);
                if hi < y_lo || lo > y_hi {
                    continue;
                }
                if sweep(m, cells, nx, row0, origin, cell_mm) && m.rapid {
                    rapid_cuts.push(index);
                }
            }
            rapid_cuts
        })
        .flatten_iter()
        .collect();
    // A rapid crossing several bands is one collision.
    rapid_cuts.sort_unstable();
    rapid_cuts.dedup();
    Ok(Simulation { heightmap: Heightmap { origin, cell_mm, nx, ny, z }, rapid_cuts: rapid_cuts.len() })
}

/// Sweeps one move over a band of rows; returns whether it removed material.
fn sweep(m: &Move, cells: &mut [f64], nx: usize, row0: usize, origin: [f64; 2], cell: f64) -> bool {
    let rows = cells.len() / nx;
    let r = m.radius;
    let (ax, ay, bx, by) = (m.from[0], m.from[1], m.to[0], m.to[1]);
    let col = |x: f64| ((x - origin[0]) / cell).floor().clamp(0.0, (nx - 1) as f64) as usize;
    let row = |y: f64| ((y - origin[1]) / cell).floor() as isize - row0 as isize;
    let (c0, c1) = (col(ax.min(bx) - r), col(ax.max(bx) + r) + 1);
    let r0 = row(ay.min(by) - r).clamp(0, rows as isize) as usize;
    let r1 = (row(ay.max(by) + r) + 2).clamp(0, rows as isize) as usize;
    let (dx, dy) = (bx - ax, by - ay);
    let a = dx * dx + dy * dy;
    let mut removed = false;
    for iy in r0..r1 {
        let cy = origin[1] + (row0 + iy) as f64 * cell;
        for ix in c0..c1.min(nx) {
            let cx = origin[0] + ix as f64 * cell;
            let (fx, fy) = (ax - cx, ay - cy);
            let c = fx * fx + fy * fy - r * r;
            let (t0, t1) = if a < 1e-18 {
                if c > 0.0 {
                    continue;
                }
                (0.0, 1.0)
            } else {
                let b = 2.0 * (fx * dx + fy * dy);
                let disc = b * b - 4.0 * a * c;
                if disc < 0.0 {
                    continue;
                }
                let s = disc.sqrt();
                let (t0, t1) = ((-b - s) / (2.0 * a), (-b + s) / (2.0 * a));
                if t1 < 0.0 || t0 > 1.0 {
                    continue;
                }
                (t0.max(0.0), t1.min(1.0))
            };
            let z_at = |t: f64| m.from[2] + (m.to[2] - m.from[2]) * t;
            let low = z_at(t0).min(z_at(t1));
            let cell_z = &mut cells[iy * nx + ix];
            if low < *cell_z - 1e-9 {
                *cell_z = low;
                removed = true;
            }
        }
    }
    removed
}

/// Reads the program into straight moves.
fn parse(program: &str, tools: &[Tool]) -> Result<Vec<Move>> {
    let mut moves = Vec::new();
    let mut at = [0.0, 0.0, 50.0];
    let mut motion = 0u8;
    let mut radius: Option<f64> = None;
    let mut pending_tool: Option<u32> = None;
    for (number, raw) in program.lines().enumerate() {
        let line = strip_comments(raw);
        let words = words(&line).map_err(|w| Error::Config(format!("line {}: cannot read `{w}`", number + 1)))?;
        let mut target = at;
        let mut has_axis = false;
        let (mut i, mut j) = (0.0, 0.0);
        let mut machine_coords = false;
        let mut non_motion_g = false;
        for &(letter, value) in &words {
            match letter {
                'G' => match value {
                    v if v == 0.0 || v == 1.0 || v == 2.0 || v == 3.0 => motion = v as u8,
                    53.0 => machine_coords = true,
                    91.0 => {
                        return Err(Error::Config(format!(
                            "line {}: incremental mode G91 is not simulated",
                            number + 1
                        )))
                    }
                    4.0 | 10.0 | 28.0 | 92.0 => non_motion_g = true,
                    _ => {}
                },
                'X' => (target[0], has_axis) = (value, true),
                'Y' => (target[1], has_axis) = (value, true),
                'Z' => (target[2], has_axis) = (value, true),
                'I' => i = value,
                'J' => j = value,
                'T' => pending_tool = Some(value as u32),
                'M' if value == 6.0 => {
                    let n = pending_tool.ok_or_else(|| Error::Config(format!("line {}: M6 without T", number + 1)))?;
                    let tool = tools.iter().find(|t| t.number == n);
                    radius = Some(
                        tool.ok_or_else(|| Error::Config(format!("line {}: unknown tool T{n}", number + 1)))?
                            .diameter_mm
                            / 2.0,
                    );
                }
                _ => {}
            }
        }
        if machine_coords {
            // A G53 move goes to machine coordinates: above the work, for a retract.
            at[2] = at[2].max(50.0);
            continue;
        }
        if !has_axis || non_motion_g {
            continue;
        }
        let Some(r) = radius else {
            at = target;
            continue;
        };
        match motion {
            0 | 1 => moves.push(Move { from: at, to: target, radius: r, rapid: motion == 0 }),
            _ => arc_moves(at, target, [at[0] + i, at[1] + j], motion == 2, r, &mut moves),
        }
        at = target;
    }
    Ok(moves)
}

/// Splits an XY arc (helical in Z) into chords within 0.5 um of the arc.
fn arc_moves(from: [f64; 3], to: [f64; 3], center: [f64; 2], clockwise: bool, radius: f64, out: &mut Vec<Move>) {
    let r = (from[0] - center[0]).hypot(from[1] - center[1]);
    let a0 = (from[1] - center[1]).atan2(from[0] - center[0]);
    let a1 = (to[1] - center[1]).atan2(to[0] - center[0]);
    let mut sweep = a1 - a0;
    if clockwise && sweep >= 0.0 {
        sweep -= std::f64::consts::TAU;
    } else if !clockwise && sweep <= 0.0 {
        sweep += std::f64::consts::TAU;
    }
    let step = 2.0 * (1.0 - 0.0005 / r.max(0.0005)).clamp(-1.0, 1.0).acos();
    let n = (sweep.abs() / step.max(1e-3)).ceil().max(1.0) as usize;
    let mut previous = from;
    for k in 1..=n {
        let t = k as f64 / n as f64;
        let a = a0 + sweep * t;
        let p = if k == n {
            to
        } else {
            [center[0] + r * a.cos(), center[1] + r * a.sin(), from[2] + (to[2] - from[2]) * t]
        };
        out.push(Move { from: previous, to: p, radius, rapid: false });
        previous = p;
    }
}

fn strip_comments(line: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in line.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ';' if depth == 0 => break,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Splits a block into (letter, value) words; `%` lines and O-numbers read as no words.
fn words(line: &str) -> Result<Vec<(char, f64)>, String> {
    let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() || compact == "%" {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut chars = compact.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let letter = c.to_ascii_uppercase();
        if !letter.is_ascii_alphabetic() {
            return Err(compact[start..].to_string());
        }
        let mut end = start + 1;
        while let Some(&(i, d)) = chars.peek() {
            if d.is_ascii_digit() || d == '.' || d == '-' || d == '+' {
                end = i + 1;
                chars.next();
            } else {
                break;
            }
        }
        let value: f64 = compact[start + 1..end].parse().map_err(|_| compact[start..end].to_string())?;
        out.push((letter, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool() -> Tool {
        Tool::flat(1, 1.0)
    }

    #[test]
    fn a_slot_is_as_wide_as_the_tool_and_as_deep_as_the_move() {
        let program = "T1 M6\nG0 Z5.\nG0 X-2. Y0.\nG1 Z-0.2 F50.\nG1 X2.\nG0 Z5.\n";
        let sim = simulate(program, &[tool()], [-4.0, -2.0, 4.0, 2.0], 0.05).unwrap();
        let hm = &sim.heightmap;
        let at = |x: f64, y: f64| {
            let ix = ((x - hm.origin[0]) / hm.cell_mm).round() as usize;
            let iy = ((y - hm.origin[1]) / hm.cell_mm).round() as usize;
            hm.z[iy * hm.nx + ix]
        };
        assert!((at(0.0, 0.0) + 0.2).abs() < 1e-9);
        assert!((at(0.0, 0.45) + 0.2).abs() < 1e-9);
        assert_eq!(at(0.0, 0.55), 0.0);
        assert!((at(2.45, 0.0) + 0.2).abs() < 1e-9);
        assert_eq!(at(2.55, 0.0), 0.0);
        assert_eq!(sim.rapid_cuts, 0);
    }

    #[test]
    fn a_rapid_through_stock_is_counted() {
        let program = "T1 M6\nG0 X0. Y0. Z-0.1\n";
        let sim = simulate(program, &[tool()], [-2.0, -2.0, 2.0, 2.0], 0.1).unwrap();
        assert_eq!(sim.rapid_cuts, 1);
    }
}
