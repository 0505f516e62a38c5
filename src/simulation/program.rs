//! A program read into straight moves, as the control would run it: the subset medalcam
//! writes (G0, G1, G2, G3 in absolute XY-plane mode, T/M6 tool changes, G53 machine moves as
//! retracts), arcs split into chords.

use rayon::prelude::*;

use super::cutter::Profile;
use super::STOCK_TOP;
use crate::error::{Error, Result};
use crate::tool::Tool;

/// The largest magnitude of a number in a program, in its unit (mm for coordinates).
const MAX_WORD: f64 = 1e9;

/// One straight move of one tool.
#[derive(Debug, Clone, Copy)]
pub(super) struct Move {
    pub(super) from: [f64; 3],
    pub(super) to: [f64; 3],
    /// Index of the tool's profile.
    pub(super) tool: usize,
    pub(super) rapid: bool,
    /// The program line it was read from (1-based).
    pub(super) line: usize,
    /// How far from the path the cutter can go below the die face, in mm: its radius where
    /// it crosses the face at the move's lowest point (plus 1 nm for rounding), at most its
    /// cutting radius. Nothing is cut farther out, since no cell is above the face.
    pub(super) reach: f64,
}

impl Move {
    pub(super) fn new(from: [f64; 3], to: [f64; 3], tool: usize, rapid: bool) -> Self {
        Self { from, to, tool, rapid, line: 0, reach: 0.0 }
    }
}

/// Reads the program into straight moves, each with its reach below the die face.
pub(super) fn parse(program: &str, tools: &[Tool], profiles: &[Profile]) -> Result<Vec<Move>> {
    // Blocks are read into words in parallel; the first unreadable one, in program order, is
    // the error.
    let lines: Vec<&str> = program.lines().collect();
    let chunks: Vec<Blocks> = lines.par_chunks(BLOCKS_PER_CHUNK).map(Blocks::read).collect();
    drop(lines);
    let mut reader = Reader {
        at: [0.0, 0.0, 50.0],
        motion: 0,
        tool: None,
        pending_tool: None,
        incremental: false,
        steps: Vec::new(),
    };
    let mut number = 0;
    let mut moves = Vec::new();
    // Each chunk's words are freed once read, and the steps turned into moves every
    // [`STEPS_PER_BATCH`]: on a large program the words, the steps and the moves are tens of
    // MB each, and are never all held at once.
    for chunk in chunks {
        let mut from = 0;
        for &end in &chunk.ends {
            reader.block(&chunk.words[from..end], number, tools, profiles)?;
            from = end;
            number += 1;
        }
        if let Some(why) = &chunk.error {
            return Err(Error::Program(format!("line {}: {why}", number + 1)));
        }
        if reader.steps.len() >= STEPS_PER_BATCH {
            moves.extend(into_moves(&std::mem::take(&mut reader.steps), tools, profiles));
        }
    }
    moves.extend(into_moves(&reader.steps, tools, profiles));
    Ok(moves)
}

/// Steps turned into moves at once, at most (a few MB of them).
const STEPS_PER_BATCH: usize = 16 * BLOCKS_PER_CHUNK;

/// The moves of `steps`, in order: arcs into chords, and each move's reach, in parallel.
fn into_moves(steps: &[Step], tools: &[Tool], profiles: &[Profile]) -> Vec<Move> {
    let chunks: Vec<Vec<Move>> = steps
        .par_chunks(BLOCKS_PER_CHUNK)
        .map(|steps| {
            let mut out = Vec::with_capacity(steps.len());
            for step in steps {
                let first = out.len();
                match step.motion {
                    0 | 1 => out.push(Move::new(step.from, step.to, step.tool, step.motion == 0)),
                    _ => arc_moves(step.from, step.to, step.center, step.motion == 2, step.tool, &mut out),
                }
                for m in &mut out[first..] {
                    m.line = step.line;
                    let depth = STOCK_TOP - m.from[2].min(m.to[2]);
                    if depth > 0.0 {
                        m.reach = (tools[m.tool].radius_at(depth) + REACH_SLACK_MM).min(profiles[m.tool].radius);
                    }
                }
            }
            out
        })
        .collect();
    chunks.concat()
}

/// The control's state while a program is read, and the motion blocks read so far.
struct Reader {
    at: [f64; 3],
    motion: u8,
    tool: Option<usize>,
    pending_tool: Option<u32>,
    /// G91 in force: only a G28 or G30 through where the tool is may follow.
    incremental: bool,
    steps: Vec<Step>,
}

impl Reader {
    /// Reads block `number` (0-based) of `words`.
    fn block(&mut self, words: &[(char, f64)], number: usize, tools: &[Tool], profiles: &[Profile]) -> Result<()> {
        let mut given: [Option<f64>; 3] = [None; 3];
        let (mut i, mut j) = (0.0, 0.0);
        let mut machine_coords = false;
        let mut home = false;
        let mut non_motion_g = false;
        for &(letter, value) in words {
            match letter {
                'G' => match value {
                    v if v == 0.0 || v == 1.0 || v == 2.0 || v == 3.0 => self.motion = v as u8,
                    53.0 => machine_coords = true,
                    90.0 => self.incremental = false,
                    91.0 => self.incremental = true,
                    28.0 | 30.0 => home = true,
                    4.0 | 10.0 | 92.0 => non_motion_g = true,
                    _ => {}
                },
                'X' => given[0] = Some(value),
                'Y' => given[1] = Some(value),
                'Z' => given[2] = Some(value),
                'I' => i = value,
                'J' => j = value,
                'T' => self.pending_tool = Some(value as u32),
                'M' if value == 6.0 => {
                    let n = self
                        .pending_tool
                        .ok_or_else(|| Error::Program(format!("line {}: M6 without T", number + 1)))?;
                    let index = tools
                        .iter()
                        .position(|t| t.number == n)
                        .ok_or_else(|| Error::Program(format!("line {}: unknown tool T{n}", number + 1)))?;
                    if !profiles[index].is_valid() {
                        return Err(Error::Program(format!("line {}: tool T{n} has no usable shape", number + 1)));
                    }
                    self.tool = Some(index);
                }
                _ => {}
            }
        }
        let has_axis = given.iter().any(Option::is_some);
        let mut target = self.at;
        for (k, v) in given.iter().enumerate() {
            if let Some(v) = v {
                target[k] = if self.incremental { self.at[k] + v } else { *v };
            }
        }
        if machine_coords {
            // A G53 move goes to machine coordinates: above the work, for a retract.
            self.at[2] = self.at[2].max(50.0);
            return Ok(());
        }
        if home {
            // G28 and G30 go at rapid through the point their axes name (in the distance mode
            // in force), then home: above the work.
            self.push(target, 0, [0.0; 2], number);
            self.at[2] = self.at[2].max(50.0);
            return Ok(());
        }
        if !has_axis || non_motion_g {
            return Ok(());
        }
        if self.incremental {
            return Err(Error::Program(format!("line {}: incremental mode G91 is not simulated", number + 1)));
        }
        let center = [self.at[0] + i, self.at[1] + j];
        self.push(target, self.motion, center, number);
        Ok(())
    }

    /// A move from where the tool is to `target`, by the current tool.
    fn push(&mut self, target: [f64; 3], motion: u8, center: [f64; 2], number: usize) {
        if let Some(tool) = self.tool {
            self.steps.push(Step { from: self.at, to: target, motion, center, tool, line: number + 1 });
        }
        self.at = target;
    }
}

/// Blocks read by one parallel job.
const BLOCKS_PER_CHUNK: usize = 4096;

/// One motion block as read: a straight move or an arc (`motion` 2 or 3 about `center`).
struct Step {
    from: [f64; 3],
    to: [f64; 3],
    motion: u8,
    center: [f64; 2],
    tool: usize,
    line: usize,
}

/// The chords an arc is read as sag by at most this, in mm.
const ARC_CHORD_SAG_MM: f64 = 0.000_5;

/// No chord of an arc spans less than this angle, in radians: an arc of a radius far below
/// the sag is a few chords all the same.
const LEAST_ARC_STEP: f64 = 1e-3;

/// A move's reach is its tool's radius at its depth and this much more, in mm: the cone's
/// profile is sampled, and a move just touching stock must be seen to.
const REACH_SLACK_MM: f64 = 1e-6;

/// Splits an XY arc (helical in Z) into chords within 0.5 um of the arc.
fn arc_moves(from: [f64; 3], to: [f64; 3], center: [f64; 2], clockwise: bool, tool: usize, out: &mut Vec<Move>) {
    let mut points = vec![from];
    arc_chords(from, to, center, clockwise, &mut points);
    out.extend(points.windows(2).map(|pair| Move::new(pair[0], pair[1], tool, false)));
}

/// Appends to `out` the ends of the chords of an XY arc (helical in Z) from `from` to `to`
/// about `center`, each within [`ARC_CHORD_SAG_MM`] of the arc; the last is `to`.
pub(super) fn arc_chords(from: [f64; 3], to: [f64; 3], center: [f64; 2], clockwise: bool, out: &mut Vec<[f64; 3]>) {
    let r = (from[0] - center[0]).hypot(from[1] - center[1]);
    let a0 = (from[1] - center[1]).atan2(from[0] - center[0]);
    let a1 = (to[1] - center[1]).atan2(to[0] - center[0]);
    let mut sweep = a1 - a0;
    if clockwise && sweep >= 0.0 {
        sweep -= std::f64::consts::TAU;
    } else if !clockwise && sweep <= 0.0 {
        sweep += std::f64::consts::TAU;
    }
    let step = 2.0 * (1.0 - ARC_CHORD_SAG_MM / r.max(ARC_CHORD_SAG_MM)).clamp(-1.0, 1.0).acos();
    let n = (sweep.abs() / step.max(LEAST_ARC_STEP)).ceil().max(1.0) as usize;
    for k in 1..=n {
        let t = k as f64 / n as f64;
        let a = a0 + sweep * t;
        out.push(if k == n {
            to
        } else {
            [center[0] + r * a.cos(), center[1] + r * a.sin(), from[2] + (to[2] - from[2]) * t]
        });
    }
}

/// `line` without comments and whitespace, into `out` (cleared first).
fn compact_into(line: &str, out: &mut String) {
    out.clear();
    let mut depth = 0;
    for c in line.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ';' if depth == 0 => break,
            _ if depth == 0 && !c.is_whitespace() => out.push(c),
            _ => {}
        }
    }
}

/// Appends the (letter, value) words of a block, without comments and whitespace, to `out`;
/// `%` lines and O-numbers read as no words. The error says which word cannot be read.
fn words(compact: &str, out: &mut Vec<(char, f64)>) -> Result<(), String> {
    if compact.is_empty() || compact == "%" {
        return Ok(());
    }
    let mut chars = compact.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let letter = c.to_ascii_uppercase();
        if !letter.is_ascii_alphabetic() {
            return Err(format!("cannot read `{}`", &compact[start..]));
        }
        let mut end = start + c.len_utf8();
        while let Some(&(i, d)) = chars.peek() {
            if d.is_ascii_digit() || d == '.' || d == '-' || d == '+' {
                end = i + 1;
                chars.next();
            } else {
                break;
            }
        }
        let word = &compact[start..end];
        let value: f64 = compact[start + c.len_utf8()..end].parse().map_err(|_| format!("cannot read `{word}`"))?;
        if value.is_nan() || value.abs() > MAX_WORD {
            return Err(format!("`{word}` is beyond {MAX_WORD:e}"));
        }
        out.push((letter, value));
    }
    Ok(())
}

/// The words of a run of blocks: block `k` holds `words[ends[k - 1]..ends[k]]` (from 0 for
/// the first), up to the first block that cannot be read, if any.
#[derive(Default)]
pub(super) struct Blocks {
    pub(super) words: Vec<(char, f64)>,
    pub(super) ends: Vec<usize>,
    pub(super) error: Option<String>,
}

impl Blocks {
    pub(super) fn read(lines: &[&str]) -> Self {
        let mut blocks = Self::default();
        let mut buffer = String::new();
        for line in lines {
            compact_into(line, &mut buffer);
            if let Err(why) = words(&buffer, &mut blocks.words) {
                blocks.error = Some(why);
                break;
            }
            blocks.ends.push(blocks.words.len());
        }
        blocks
    }
}
