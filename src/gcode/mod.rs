//! Stage 4: [`Toolpaths`] and a [`Machine`] to a G-code program.
//!
//! Guarantees of the output: numbers are rounded once, here, to the profile's decimals, always
//! carry a decimal point and never read `-0.`; every coordinate, feed and spindle speed has
//! been checked against the profile's limits and every line against its maximum length before
//! the program is returned, so a program that would raise an alarm is never written. Words
//! are modal: a word is written only when its value changes. Comments are sanitised to
//! letters, digits and `space . , = _ - + : /`, so names from the SVG cannot break a block.
//!
//! With `arcs = true` in the profile, runs of points at one Z that lie on a circle within
//! `arc-tolerance-mm` are written as one G2/G3 block in the XY plane with incremental I and J
//! (the profile's `program-start` selects G17, and G91.1 where the dialect needs it), at the
//! current Z and the feed of the lines they replace. Each arc is checked against the
//! control's arc rules after rounding and written as lines where it fails one ([`arcs`]), so
//! no block reads as a full circle or trips a radius-mismatch alarm.
//!
//! Files: `number` formats the numbers, `blocks` writes the blocks and checks them, `arcs`
//! fits and checks arcs; this file writes the program, path by path in parallel.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::job::Target;
use crate::machine::{Machine, MachineFile};
use crate::tool::Tool;
use crate::toolpath::{Operation, Path, Toolpaths};

pub mod arcs;
mod blocks;
mod number;

use arcs::{ArcLimits, Piece};
pub use blocks::{sanitize_comment, HOLDER_CLEARANCE_MM};
use blocks::{Blocks, Modal};
pub use number::{number, Rounded};

/// What the program header says about the job.
#[derive(Debug, Clone)]
pub struct ProgramInfo {
    /// The program's name: the job's `name`, else the source file's name.
    pub name: String,
    /// The source: usually the input file name.
    pub source: String,
    /// What is cut.
    pub target: Target,
    /// The stock material's name.
    pub material: String,
}

/// One program file: the whole program, or where the machine has no tool changer, the work
/// of one tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The tool of a file that holds one tool's work; `None` for the whole program.
    pub tool: Option<u32>,
    /// Where a program (or a tool's) is split for the control's memory: which file of it,
    /// from 1.
    pub piece: Option<usize>,
    /// The G-code.
    pub text: String,
}

/// `seconds` as `H:MM:SS`.
#[must_use]
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// `program` with its estimated cycle time in the header: one comment per tool (`tools`, each
/// number with its seconds, in the order they run) and one for the program, after the header's
/// other comments. Comments only: the motion is the same.
#[must_use]
pub fn with_cycle_times(program: &str, tools: &[(u32, f64)], total_s: f64, machine: &Machine) -> String {
    let file = machine.file();
    let comment = |text: String| {
        let mut text = sanitize_comment(&text, file.comment_uppercase);
        text.truncate(file.max_line_length.saturating_sub(2));
        format!("({text})\n")
    };
    let mut lines: String = tools.iter().map(|&(n, s)| comment(format!("T{n} TIME {} ESTIMATED", clock(s)))).collect();
    lines += &comment(format!("PROGRAM TIME {} ESTIMATED", clock(total_s)));
    // After the `%`, the O-number and the header's comments: before the first block.
    let mut at = 0;
    for line in program.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if !(trimmed.starts_with('(') || trimmed.starts_with('%') || trimmed.starts_with('O')) {
            break;
        }
        at += line.len();
    }
    let mut out = String::with_capacity(program.len() + lines.len());
    out.push_str(&program[..at]);
    out.push_str(&lines);
    out.push_str(&program[at..]);
    out
}

/// Writes the program./// Writes the program.
///
/// Each path's cutting moves are fitted with arcs and written in parallel, from the state
/// the control is in after the path's approach. That state is known in advance but where the
/// approach leaves the previous motion or feed in force (it lands where the tool already
/// is): those paths are written again in order, from the state the control is really in.
/// The program is the same either way, whatever the number of threads.
///
/// # Errors
///
/// [`Error::Limit`](crate::Error::Limit) when a move leaves the machine's travel, a feed or speed exceeds its
/// maximum, or a line exceeds its length; [`Error::NonFiniteCoordinate`](crate::Error::NonFiniteCoordinate) for NaN or infinity.
pub fn emit(toolpaths: &Toolpaths, machine: &Machine, info: &ProgramInfo) -> Result<Vec<Part>> {
    let file = machine.file();
    let arcs = ArcLimits::of(file);
    let written: Vec<Vec<Option<Written>>> = toolpaths
        .operations
        .par_iter()
        .map(|operation| {
            operation
                .paths
                .par_iter()
                .map(|path| Written::new(path, &operation.tool, file, arcs, toolpaths.hop_mm))
                .collect()
        })
        .collect();
    // The tool that clears the die, the first of several, cuts with the rough smoothing.
    let first = toolpaths.operations.first().map(|o| o.tool.number);
    let rough = first.filter(|&n| toolpaths.operations.iter().any(|o| o.tool.number != n));
    let operations: Vec<Planned<'_>> = toolpaths.operations.iter().zip(written).collect();
    // A file per tool without a tool changer (a tool's operations follow each other), else
    // one for the whole program.
    let mut runs: Vec<Vec<Planned<'_>>> = Vec::new();
    for (operation, written) in operations {
        match runs.last_mut() {
            Some(run) if !file.tool_changer && run[0].0.tool.number == operation.tool.number => {
                run.push((operation, written));
            }
            Some(run) if file.tool_changer => run.push((operation, written)),
            _ => runs.push(vec![(operation, written)]),
        }
    }
    let order: Vec<u32> = runs.iter().filter_map(|run| run.first().map(|(o, _)| o.tool.number)).collect();
    let mut parts = Vec::new();
    for run in runs {
        let listed: Vec<&Operation> = run.iter().map(|(o, _)| *o).collect();
        let tool = (!file.tool_changer).then(|| listed[0].tool.number);
        let own = tool.map(|n| (n, order.as_slice()));
        let mut files = Files::new(file, arcs, info, listed, own, rough, toolpaths.hop_mm)?;
        files.operations(run)?;
        let pieces = files.finish()?;
        let count = pieces.len();
        parts.extend(pieces.into_iter().enumerate().map(|(k, text)| Part {
            tool,
            piece: (count > 1).then_some(k + 1),
            text,
        }));
    }
    Ok(parts)
}

/// The files of one program (or of one tool's, without a tool changer) as they are written:
/// split, where the profile asks, at a retract before the control's memory is full.
struct Files<'a> {
    w: Blocks<'a>,
    info: &'a ProgramInfo,
    /// The operations the headers list.
    listed: Vec<&'a Operation>,
    /// Without a tool changer: the file's tool and the order of every tool's file.
    own: Option<(u32, &'a [u32])>,
    rough: Option<u32>,
    hop_mm: f64,
    /// The most bytes of cutting a file may hold before it is split; `None`: never split.
    budget: Option<usize>,
    /// The files written whole.
    done: Vec<String>,
}

impl<'a> Files<'a> {
    fn new(
        file: &'a MachineFile,
        arcs: Option<ArcLimits>,
        info: &'a ProgramInfo,
        listed: Vec<&'a Operation>,
        own: Option<(u32, &'a [u32])>,
        rough: Option<u32>,
        hop_mm: f64,
    ) -> Result<Self> {
        let tools = listed.iter().map(|o| o.tool.number).collect::<std::collections::BTreeSet<_>>().len();
        // Room for what comes after the cutting (a retract, tool-end, program-end) and for
        // the cycle-time comments added to the header.
        let reserve = SPLIT_RESERVE_BYTES + 64 * (tools + 2);
        let budget = match (file.split_programs, file.max_program_bytes) {
            (true, Some(max)) => Some(usize::try_from(max).unwrap_or(usize::MAX).saturating_sub(reserve)),
            _ => None,
        };
        let mut files = Self {
            w: Blocks::new(file, arcs, String::new(), Modal::default()),
            info,
            listed,
            own,
            rough,
            hop_mm,
            budget,
            done: Vec::new(),
        };
        files.start(1)?;
        Ok(files)
    }

    /// Starts file `piece` (1-based) with its header.
    fn start(&mut self, piece: usize) -> Result<()> {
        self.w.out.clear();
        self.w.state = Modal::default();
        self.w.header(&self.listed, self.info, self.own, piece)
    }

    /// Writes `operations`, each with its paths written ahead: tool changes where the tool
    /// changes, a hop between the levels of one tool, a retract and the profile's `tool-end`
    /// after each tool's last; a new file at a retract where this one is full.
    fn operations(&mut self, operations: Vec<Planned<'_>>) -> Result<()> {
        let mut current_tool: Option<u32> = None;
        let next_tools: Vec<Option<u32>> =
            operations.iter().skip(1).map(|(o, _)| Some(o.tool.number)).chain([None]).collect();
        for ((operation, written), next_tool) in operations.into_iter().zip(next_tools) {
            let tool = &operation.tool;
            let rough = self.rough == Some(tool.number);
            if current_tool != Some(tool.number) {
                self.w.tool_change(tool, rough)?;
                current_tool = Some(tool.number);
            }
            let level = format!("LEVEL {} MM T{}", number(operation.depth_mm, 3), tool.number);
            self.w.comment(&level)?;
            let mut cut_here = false;
            // Each path's text as written ahead, and room for its approach and for words a
            // path written again in order states again.
            let sizes: Vec<usize> = written
                .iter()
                .map(|w| w.as_ref().map_or(0, |w| w.result.as_ref().map_or(0, |(text, _)| text.len())) + PATH_BYTES)
                .collect();
            for (k, (path, written)) in operation.paths.iter().zip(written).enumerate() {
                let mut from_above = None;
                if let Some(budget) = self.budget {
                    // A file ends at a retract, the paths linked to this one going with it;
                    // only a chain of linked paths too long for a file ends at a link, the
                    // next file going in from above where the tool already stood.
                    let linked = operation.paths[k + 1..].iter().take_while(|p| !p.retract).count();
                    let chain: usize = sizes[k..=k + linked].iter().sum();
                    let full = if path.retract { chain } else { sizes[k] };
                    if cut_here && self.w.out.len() + full > budget {
                        self.split(tool, rough)?;
                        self.w.comment(&level)?;
                        if !path.retract {
                            from_above = Some(Path { retract: true, points: path.points.clone() });
                        }
                    }
                }
                cut_here = true;
                let path = from_above.as_ref().unwrap_or(path);
                let at = |e| in_path(e, operation, path);
                self.w.approach(path, tool, self.hop_mm).map_err(at)?;
                match written {
                    Some(written) if written.from == self.w.state => {
                        let (text, end) = written.result.map_err(at)?;
                        self.w.out.push_str(&text);
                        self.w.state = end;
                    }
                    _ => self.w.pieces(&path.points, &fit(&path.points, self.w.arcs), tool).map_err(at)?,
                }
            }
            if next_tool == current_tool {
                // The same tool on the next level: a hop is enough.
                self.w.rapid([None, None, Some(self.hop_mm.min(self.w.file.clearance_z_mm))])?;
            } else {
                self.w.retract()?;
                self.w.tool_end(tool)?;
            }
        }
        Ok(())
    }

    /// Ends this file at a retract and starts the next with `tool` again.
    fn split(&mut self, tool: &Tool, rough: bool) -> Result<()> {
        let next = self.done.len() + 2;
        self.w.retract()?;
        self.w.tool_end(tool)?;
        self.w.comment(&format!("CONTINUED IN PART {next}"))?;
        self.w.footer()?;
        self.done.push(std::mem::take(&mut self.w.out));
        self.start(next)?;
        self.w.tool_change(tool, rough)
    }

    fn finish(mut self) -> Result<Vec<String>> {
        self.w.footer()?;
        self.done.push(self.w.out);
        Ok(self.done)
    }
}

/// Bytes kept free at the end of a file split for the control's memory, besides the header's
/// time comments: the retract, `tool-end`, `program-end`, the hop to the next level.
const SPLIT_RESERVE_BYTES: usize = 2048;

/// Bytes counted for each path besides its text written ahead: its approach, and the words
/// a path written again in order states again.
const PATH_BYTES: usize = 96;

/// A limit a path's moves broke, naming the tool, the level and where the path starts.
fn in_path(e: Error, operation: &Operation, path: &Path) -> Error {
    let first = path
        .points
        .first()
        .map_or_else(String::new, |p| format!(" from X{} Y{} Z{}", number(p[0], 3), number(p[1], 3), number(p[2], 3)));
    let at = format!("T{} at level {} mm, the path{first}", operation.tool.number, number(operation.depth_mm, 3));
    match e {
        Error::Limit(why) => Error::Limit(format!("{at}: {why}")),
        Error::NonFiniteCoordinate => Error::Limit(format!("{at}: a coordinate is not finite")),
        e => e,
    }
}

/// A path's lines and arcs ([`arcs::fit`]; lines only without arcs).
fn fit(points: &[[f64; 3]], arcs: Option<ArcLimits>) -> Vec<Piece> {
    match arcs {
        Some(limits) => arcs::fit(points, &limits),
        None => (1..points.len()).map(Piece::Line).collect(),
    }
}

/// An operation with its paths written ahead.
type Planned<'a> = (&'a Operation, Vec<Option<Written>>);

/// One path's cutting moves, written ahead from the state its approach should leave.
struct Written {
    /// The state the text was written from: the control after the approach, at the path's
    /// first point at the approach feed.
    from: Modal,
    /// The text and the state it leaves, or the first error met.
    result: Result<(String, Modal)>,
}

impl Written {
    /// `None` for an empty path, or one whose approach cannot be written (it then fails, in
    /// order).
    fn new(path: &Path, tool: &Tool, file: &MachineFile, arcs: Option<ArcLimits>, hop_mm: f64) -> Option<Self> {
        path.points.first()?;
        // From a control that has been told nothing, the approach writes every word: the
        // state it leaves is the one it leaves wherever it writes at least one block.
        let mut w = Blocks::new(file, arcs, String::new(), Modal::default());
        w.approach(path, tool, hop_mm).ok()?;
        w.out.clear();
        let from = w.state;
        let result = w.pieces(&path.points, &fit(&path.points, arcs), tool).map(|()| (w.out, w.state));
        Some(Self { from, result })
    }
}

#[cfg(test)]
mod tests {
    use super::number::number_exactly;
    use super::*;

    #[test]
    fn the_integer_path_writes_what_exact_formatting_writes_even_near_ties() {
        for decimals in 0..=6 {
            let unit = 10f64.powi(-(decimals as i32));
            for k in -20_000..20_000 {
                // Ties (k + 1/2 units), their neighbours in f64, and points between.
                let tie = (f64::from(k) + 0.5) * unit;
                for value in [tie, tie.next_up(), tie.next_down(), f64::from(k) * unit * 1.000_013, -tie * 0.999] {
                    assert_eq!(number(value, decimals), number_exactly(value, decimals), "{value:e} to {decimals}");
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn numbers_match_exact_formatting(value in -2e6f64..2e6, decimals in 0usize..=9) {
            proptest::prop_assert_eq!(number(value, decimals), number_exactly(value, decimals));
        }
    }

    /// The rounded number's text is `number`'s and its value what a control parses from that
    /// text, near ties too (where the count is read off the exact text).
    fn assert_rounded_is_number(value: f64, decimals: usize) {
        let rounded = Rounded::new(value, decimals).expect("a finite value");
        let text = number_exactly(value, decimals);
        assert_eq!(rounded.to_string(), text, "{value:e} to {decimals}");
        assert_eq!(rounded.value().to_bits(), text.parse::<f64>().unwrap().to_bits(), "{value:e} to {decimals}");
    }

    #[test]
    fn rounded_numbers_read_as_their_text_even_near_ties() {
        for decimals in 0..=9 {
            let unit = 10f64.powi(-(decimals as i32));
            for k in (-3_000i64..3_000).chain([999_999_999, -1_234_567_890, 4_000_000_000_000]) {
                let tie = (k as f64 + 0.5) * unit;
                for value in [tie, tie.next_up(), tie.next_down(), k as f64 * unit] {
                    assert_rounded_is_number(value, decimals);
                }
            }
        }
        assert_eq!(Rounded::new(-0.0001, 3).map(|r| r.to_string()).as_deref(), Some("0."));
        assert!(Rounded::new(f64::NAN, 3).is_none() && Rounded::new(f64::INFINITY, 3).is_none());
        assert!(Rounded::new(1e300, 3).is_none(), "beyond i64");
        assert!(Rounded::new(1.0, 10).is_none(), "at most 9 decimals");
    }

    proptest::proptest! {
        #[test]
        fn rounded_numbers_read_as_their_text(value in -2e9f64..2e9, decimals in 0usize..=9) {
            assert_rounded_is_number(value, decimals);
        }
    }

    #[test]
    fn numbers_keep_the_point_and_lose_negative_zero() {
        let cases = [
            (-0.0001, "0."),
            (5.0, "5."),
            (2.0005, "2.001"),
            (0.1 + 0.2, "0.3"),
            (-1.25, "-1.25"),
            (-0.0, "0."),
            (100.5, "100.5"),
            (-100.0, "-100."),
        ];
        for (value, expected) in cases {
            assert_eq!(number(value, 3), expected, "{value}");
        }
        assert_eq!(number(81.0, 0), "81.");
    }

    #[test]
    fn comments_cannot_close_early() {
        assert_eq!(sanitize_comment("a(b)c;d\ne", true), "A_B_C_D_E");
    }

    use crate::toolpath::Operation;
    use proptest::prelude::*;

    /// The built-in LinuxCNC profile with `arcs` and other keys set.
    fn machine(arcs: bool, keys: &[(&str, &str)]) -> Machine {
        let (_, text) = crate::machine::BUILT_IN[1];
        let text: String = text
            .lines()
            .map(|line| match keys.iter().find(|(key, _)| line.starts_with(&format!("{key} ="))) {
                Some((key, value)) => format!("{key} = {value}\n"),
                None if line.starts_with("arcs =") => format!("arcs = {arcs}\n"),
                None => format!("{line}\n"),
            })
            .collect();
        Machine::from_toml("linuxcnc", &text).unwrap()
    }

    fn arc_blocks(program: &str) -> Vec<&str> {
        program.lines().filter(|l| l.contains(" I") && l.contains(" J")).collect()
    }

    fn program(paths: Vec<Path>, machine: &Machine) -> String {
        let operations = vec![Operation { tool: Tool::flat(1, 1.0), depth_mm: 0.2, paths }];
        let info =
            ProgramInfo { name: "test".into(), source: "test.svg".into(), target: Target::Die, material: "c45".into() };
        let parts =
            emit(&Toolpaths { operations, warnings: Vec::new(), reached: Vec::new(), hop_mm: 0.5 }, machine, &info);
        parts.unwrap().remove(0).text
    }

    #[test]
    fn a_move_outside_the_travel_is_named_by_tool_level_and_path() {
        let machine = machine(true, &[]);
        let paths = vec![Path { retract: true, points: vec![[0.0, 0.0, -0.1], [250.0, 0.0, -0.1]] }];
        let operations = vec![Operation { tool: Tool::flat(3, 1.0), depth_mm: 0.2, paths }];
        let info =
            ProgramInfo { name: "t".into(), source: "t.svg".into(), target: Target::Die, material: "c45".into() };
        let toolpaths = Toolpaths { operations, warnings: Vec::new(), reached: Vec::new(), hop_mm: 0.5 };
        let err = emit(&toolpaths, &machine, &info).unwrap_err().to_string();
        assert!(
            err.contains("T3 at level 0.2 mm, the path from X0. Y0. Z-0.1") && err.contains("X250. is outside"),
            "{err}"
        );
    }

    #[test]
    fn no_zero_feed_speed_or_tool_number_is_written() {
        let machine = Machine::built_in("haas").unwrap().unwrap();
        let paths = vec![Path { retract: true, points: vec![[0.0, 0.0, -0.1], [1.0, 0.0, -0.1]] }];
        let info =
            ProgramInfo { name: "test".into(), source: "test.svg".into(), target: Target::Die, material: "c45".into() };
        // Tool::flat spins at 10,000 rpm, above the Haas's 8,100.
        let with = |tool: Tool| {
            let rpm = if tool.spindle_rpm > 8000.0 { 8000.0 } else { tool.spindle_rpm };
            let tool = Tool { spindle_rpm: rpm, ..tool };
            let operations = vec![Operation { tool, depth_mm: 0.1, paths: paths.clone() }];
            emit(&Toolpaths { operations, warnings: Vec::new(), reached: Vec::new(), hop_mm: 0.5 }, &machine, &info)
        };
        assert!(with(Tool::flat(1, 1.0)).is_ok());
        for (tool, why) in [
            (Tool { feed_mm_per_min: 0.01, ..Tool::flat(1, 1.0) }, "F0"),
            (Tool { plunge_mm_per_min: 0.04, ..Tool::flat(1, 1.0) }, "F0"),
            (Tool { spindle_rpm: 0.4, ..Tool::flat(1, 1.0) }, "S0"),
            (Tool { spindle_rpm: f64::NAN, ..Tool::flat(1, 1.0) }, "S0"),
            (Tool::flat(0, 1.0), "T0"),
            (Tool::flat(201, 1.0), "T201"),
        ] {
            let err = with(tool).unwrap_err().to_string();
            assert!(err.contains(why), "{why}: {err}");
        }
    }

    /// One move of a program: straight, or an arc about `center` (radius from the start)
    /// turning `sweep` radians, counter-clockwise positive.
    #[derive(Debug)]
    struct Move {
        from: [f64; 3],
        to: [f64; 3],
        arc: Option<([f64; 2], f64)>,
        feed: f64,
    }

    /// Reads the motion blocks of a program written by [`emit`].
    fn moves(program: &str) -> Vec<Move> {
        let (mut at, mut motion, mut feed, mut out) = ([0.0, 0.0, 50.0], 0, 0.0, Vec::new());
        for line in program.lines().filter(|l| !l.starts_with(['(', '%', 'T'])) {
            let (mut to, mut ij) = (at, [0.0, 0.0]);
            for word in line.split_whitespace() {
                let (letter, value) = word.split_at(1);
                let value: f64 = value.parse().unwrap();
                match letter {
                    "G" if [0.0, 1.0, 2.0, 3.0].contains(&value) => motion = value as u8,
                    "X" => to[0] = value,
                    "Y" => to[1] = value,
                    "Z" => to[2] = value,
                    "I" => ij[0] = value,
                    "J" => ij[1] = value,
                    "F" => feed = value,
                    _ => {}
                }
            }
            if to == at && motion < 2 {
                continue;
            }
            let arc = (motion >= 2).then(|| {
                let c = [at[0] + ij[0], at[1] + ij[1]];
                let a0 = (at[1] - c[1]).atan2(at[0] - c[0]);
                let a1 = (to[1] - c[1]).atan2(to[0] - c[0]);
                let turn = (a1 - a0).rem_euclid(std::f64::consts::TAU);
                (c, if motion == 2 { turn - std::f64::consts::TAU } else { turn })
            });
            out.push(Move { from: at, to, arc, feed });
            at = to;
        }
        out
    }

    /// Distance from `p` to the path a move cuts, with the radius of an arc going from the
    /// radius at its start to the radius at its end as LinuxCNC interpolates it.
    fn distance(p: [f64; 3], m: &Move) -> f64 {
        let d = |a: [f64; 3], b: [f64; 3]| (a[0] - b[0]).hypot(a[1] - b[1]).hypot(a[2] - b[2]);
        match m.arc {
            None => {
                let ab = [m.to[0] - m.from[0], m.to[1] - m.from[1], m.to[2] - m.from[2]];
                let len2 = ab.iter().map(|v| v * v).sum::<f64>();
                let t = if len2 > 0.0 {
                    ((0..3).map(|k| (p[k] - m.from[k]) * ab[k]).sum::<f64>() / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                d(p, [m.from[0] + t * ab[0], m.from[1] + t * ab[1], m.from[2] + t * ab[2]])
            }
            Some((c, sweep)) => {
                let r0 = (m.from[0] - c[0]).hypot(m.from[1] - c[1]);
                let r1 = (m.to[0] - c[0]).hypot(m.to[1] - c[1]);
                let a0 = (m.from[1] - c[1]).atan2(m.from[0] - c[0]);
                let along =
                    (sweep.signum() * ((p[1] - c[1]).atan2(p[0] - c[0]) - a0)).rem_euclid(std::f64::consts::TAU);
                let ends = d(p, m.from).min(d(p, m.to));
                if along > sweep.abs() {
                    return ends;
                }
                let r = r0 + (r1 - r0) * along / sweep.abs();
                let radial = ((p[0] - c[0]).hypot(p[1] - c[1]) - r).abs();
                radial.hypot(p[2] - m.from[2]).min(ends)
            }
        }
    }

    /// Whether every point of every path lies within `tolerance` of the program's moves.
    fn assert_follows(paths: &[Path], program: &str, tolerance: f64) {
        let moves = moves(program);
        for p in paths.iter().flat_map(|path| &path.points) {
            let best = moves.iter().map(|m| distance(*p, m)).fold(f64::INFINITY, f64::min);
            assert!(best <= tolerance, "{p:?} is {best} mm from the program");
        }
    }

    fn ring(center: [f64; 2], r: f64, from_deg: f64, step_deg: f64, n: usize, z: f64) -> Vec<[f64; 3]> {
        (0..n)
            .map(|k| {
                let a = (from_deg + step_deg * k as f64).to_radians();
                [center[0] + r * a.cos(), center[1] + r * a.sin(), z]
            })
            .collect()
    }

    /// A helix down to -0.2 then a lap, and a rounded square: the shapes the planner makes.
    fn typical_paths() -> Vec<Path> {
        let mut helix = ring([1.0, 1.0], 0.2, 0.0, 360.0 / 32.0, 65, 0.0);
        for (k, p) in helix.iter_mut().enumerate() {
            p[2] = -0.2 * (k as f64 / 32.0).min(1.0);
        }
        let mut square = Vec::new();
        for (corner, c) in [[2.0, 2.0], [-2.0, 2.0], [-2.0, -2.0], [2.0, -2.0]].into_iter().enumerate() {
            square.extend(ring(c, 0.4, 90.0 * corner as f64, 90.0 / 13.0, 14, -0.2));
        }
        square.push(square[0]);
        vec![Path { retract: true, points: helix }, Path { retract: false, points: square }]
    }

    #[test]
    fn arcs_replace_circular_runs_at_the_same_z_and_feed() {
        let paths = typical_paths();
        let with = program(paths.clone(), &machine(true, &[]));
        let without = program(paths.clone(), &machine(false, &[]));
        assert!(arc_blocks(&without).is_empty());
        let arcs = arc_blocks(&with);
        // Two half laps of the helix at the floor and the four corners of the square.
        assert_eq!(arcs.len(), 6, "{with}");
        assert!(arcs.iter().all(|l| !l.contains('Z')), "{arcs:?}");
        assert!(with.lines().count() < without.lines().count() - 60);
        for m in moves(&with).iter().filter(|m| m.arc.is_some()) {
            assert_eq!(m.feed, 200.0);
            assert!(m.arc.is_some_and(|(_, sweep)| sweep.abs() <= std::f64::consts::PI + 1e-9));
        }
        // Lines within the rounding of the points, arcs within the fit tolerance and one unit.
        assert_follows(&paths, &without, 0.0008);
        assert_follows(&paths, &with, 0.002);
    }

    /// Paths are written ahead, in parallel, from the state their approach leaves. A path
    /// that starts where the tool already is has an approach with nothing to write, which
    /// leaves the previous path's motion and feed in force: its first blocks must say G1 and
    /// its feed again.
    #[test]
    fn a_path_starting_where_the_tool_is_restates_the_motion_and_the_feed() {
        let machine = machine(true, &[]);
        // A quarter lap at -0.1 (one arc), then from its end a cut on at the same depth.
        let lap = ring([0.0, 0.0], 2.0, 0.0, 2.0, 46, -0.1);
        let end = lap[lap.len() - 1];
        let on = vec![end, [end[0] - 1.0, end[1], -0.1], [end[0] - 1.0, end[1] - 1.0, -0.1]];
        let text =
            program(vec![Path { retract: true, points: lap }, Path { retract: false, points: on.clone() }], &machine);
        let lines: Vec<&str> = text.lines().collect();
        let arc = lines.iter().position(|l| l.contains(" I")).expect(&text);
        assert!(lines[arc].starts_with("G3"), "{text}");
        assert_eq!(lines[arc + 1], "G1 X-1.", "{text}");
        // A descent ends at the plunge feed; a path on from there states the cutting feed again.
        let down = vec![[1.0, 1.0, 0.0], [1.5, 1.0, -0.05], [2.0, 1.0, -0.1]];
        let on = vec![[2.0, 1.0, -0.1], [2.0, 0.0, -0.1], [1.0, 0.0, -0.1]];
        let text = program(vec![Path { retract: true, points: down }, Path { retract: false, points: on }], &machine);
        let lines: Vec<&str> = text.lines().collect();
        let descent = lines.iter().position(|l| *l == "X2. Z-0.1").expect(&text);
        assert_eq!(lines[descent + 1], "Y0. F200.", "{text}");
    }

    #[test]
    fn an_arc_that_would_round_to_a_full_circle_is_written_as_lines() {
        // A 0.3 um circle: its ends round onto each other, so the run stays G1 (and the G1
        // blocks that round to no move are dropped).
        let tiny = machine(true, &[("arc-min-chord-mm", "0.0"), ("arc-min-radius-mm", "0.00001")]);
        let points = ring([0.5, 0.5], 0.0003, 0.0, 30.0, 10, -0.1);
        let text = program(vec![Path { retract: true, points }], &tiny);
        assert!(arc_blocks(&text).is_empty(), "{text}");
        // With 6 decimals the same circle is arcs.
        let fine = machine(true, &[("arc-min-chord-mm", "0.0"), ("arc-min-radius-mm", "0.00001"), ("decimals", "6")]);
        let points = ring([0.5, 0.5], 0.0003, 0.0, 30.0, 10, -0.1);
        assert!(!arc_blocks(&program(vec![Path { retract: true, points }], &fine)).is_empty());
    }

    #[test]
    fn half_laps_that_round_over_the_sweep_limit_are_split() {
        // Laps of 32 segments: greedily two arcs of exactly 180 degrees, which rounding
        // pushes over the limit about half the time.
        let paths: Vec<Path> = (0..40)
            .map(|k| {
                let c = [0.1237 * f64::from(k), -0.0731 * f64::from(k)];
                Path {
                    retract: true,
                    points: ring(c, 0.15 + 0.001 * f64::from(k), 7.0 * f64::from(k), 11.25, 33, -0.1),
                }
            })
            .collect();
        let text = program(paths.clone(), &machine(true, &[]));
        let blocks = arc_blocks(&text);
        assert!(blocks.len() > 80, "{} arcs", blocks.len());
        let flat_lines =
            moves(&text).iter().filter(|m| m.arc.is_none() && m.from[2] == -0.1 && m.to[2] == -0.1).count();
        assert!(flat_lines < 40, "{} arcs, {flat_lines} lines", blocks.len());
        assert_follows(&paths, &text, 0.002);
    }

    proptest! {
        /// Noisy circular runs with straight parts: every point of the toolpath is within the
        /// arc tolerance plus one unit of the last decimal of the program's moves.
        #[test]
        fn every_point_is_within_tolerance_of_the_program(
            r in 0.05f64..8.0,
            step_deg in 1.0f64..12.0,
            noise in prop::collection::vec(-0.0012f64..0.0012, 4..60),
            kinks in prop::collection::vec(0usize..60, 0..3),
        ) {
            let mut points = ring([0.3, -0.2], r, 0.0, step_deg, noise.len(), -0.1);
            for (p, dr) in points.iter_mut().zip(&noise) {
                let (x, y) = (p[0] - 0.3, p[1] + 0.2);
                let k = (r + dr) / r;
                (p[0], p[1]) = (0.3 + x * k, -0.2 + y * k);
            }
            for kink in kinks {
                if let Some(p) = points.get_mut(kink) {
                    p[0] += 0.05;
                }
            }
            let paths = vec![Path { retract: true, points }];
            let text = program(paths.clone(), &machine(true, &[]));
            assert_follows(&paths, &text, 0.002);
        }
    }
}
