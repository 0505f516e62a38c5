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

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::job::Target;
use crate::machine::{Machine, MachineFile};
use crate::toolpath::{Path, Tool, ToolKind, Toolpaths};

pub mod arcs;

use arcs::{Arc, ArcLimits, Piece};

/// What the program header says about the job.
#[derive(Debug, Clone)]
pub struct ProgramInfo {
    /// Usually the input file name.
    pub title: String,
    /// What is cut.
    pub target: Target,
}

/// Writes the program.
///
/// Each path's cutting moves are fitted with arcs and written in parallel, from the state
/// the control is in after the path's approach. That state is known in advance but where the
/// approach leaves the previous motion or feed in force (it lands where the tool already
/// is): those paths are written again in order, from the state the control is really in.
/// The program is the same either way, whatever the number of threads.
///
/// # Errors
///
/// [`Error::Limit`] when a move leaves the machine's travel, a feed or speed exceeds its
/// maximum, or a line exceeds its length; [`Error::NonFiniteCoordinate`] for NaN or infinity.
pub fn emit(toolpaths: &Toolpaths, machine: &Machine, info: &ProgramInfo) -> Result<String> {
    let arcs = ArcLimits::of(&machine.file);
    let written: Vec<Vec<Option<Written>>> = toolpaths
        .operations
        .par_iter()
        .map(|operation| {
            operation.paths.par_iter().map(|path| Written::new(path, &operation.tool, &machine.file, arcs)).collect()
        })
        .collect();
    let length: usize =
        written.iter().flatten().flatten().map(|w| w.result.as_ref().map_or(0, |(text, _)| text.len())).sum();
    let mut w = Blocks::new(&machine.file, arcs, String::with_capacity(length + (length >> 4)), Modal::default());
    w.header(toolpaths, info)?;
    let mut current_tool: Option<u32> = None;
    for (operation, written) in toolpaths.operations.iter().zip(written) {
        if current_tool != Some(operation.tool.number) {
            w.tool_change(&operation.tool)?;
            current_tool = Some(operation.tool.number);
        }
        w.comment(&format!("LEVEL {} MM T{}", number(operation.depth_mm, 3), operation.tool.number))?;
        for (path, written) in operation.paths.iter().zip(written) {
            w.approach(path, &operation.tool)?;
            match written {
                Some(written) if written.from == w.state => {
                    let (text, end) = written.result?;
                    w.out.push_str(&text);
                    w.state = end;
                }
                _ => w.pieces(&path.points, &fit(&path.points, arcs), &operation.tool)?,
            }
        }
        w.retract()?;
    }
    w.footer()?;
    Ok(w.out)
}

/// A path's lines and arcs ([`arcs::fit`]; lines only without arcs).
fn fit(points: &[[f64; 3]], arcs: Option<ArcLimits>) -> Vec<Piece> {
    match arcs {
        Some(limits) => arcs::fit(points, &limits),
        None => (1..points.len()).map(Piece::Line).collect(),
    }
}

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
    fn new(path: &Path, tool: &Tool, file: &MachineFile, arcs: Option<ArcLimits>) -> Option<Self> {
        path.points.first()?;
        // From a control that has been told nothing, the approach writes every word: the
        // state it leaves is the one it leaves wherever it writes at least one block.
        let mut w = Blocks::new(file, arcs, String::new(), Modal::default());
        w.approach(path, tool).ok()?;
        w.out.clear();
        let from = w.state;
        let result = w.pieces(&path.points, &fit(&path.points, arcs), tool).map(|()| (w.out, w.state));
        Some(Self { from, result })
    }
}

/// Formats `value` rounded to `decimals` places, trailing zeros trimmed, point always kept.
///
/// `5.0 -> "5."`, `-0.0001 -> "0."`, `2.0005 -> "2.001"`. Haas-style controls read a number
/// without a point in least increments (`X5` = `X0.0005`), so the point is never dropped.
#[must_use]
pub fn number(value: f64, decimals: usize) -> String {
    Rounded::new(value, decimals).map_or_else(|| number_exactly(value, decimals), |r| r.to_string())
}

/// [`number`] by exact decimal formatting of `value`.
fn number_exactly(value: f64, decimals: usize) -> String {
    let mut s = format!("{value:.decimals$}");
    if s.contains('.') {
        let kept = s.trim_end_matches('0').len();
        s.truncate(kept);
    } else {
        s.push('.');
    }
    if s == "-0." {
        s = "0.".into();
    }
    s
}

/// Powers of ten up to the most decimals a [`Rounded`] has.
const POWERS: [f64; 10] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/// A number as the program writes it: a whole count of its last decimal place. Its text is
/// [`number`]'s, and [`Rounded::value`] is what the control reads from that text; equal
/// texts are equal `Rounded`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rounded {
    units: i64,
    decimals: u8,
}

impl Rounded {
    /// `value` rounded to `decimals` (at most 9) places as [`number`] rounds it; `None` for NaN,
    /// infinities and counts beyond `i64`.
    #[must_use]
    pub fn new(value: f64, decimals: usize) -> Option<Self> {
        let scale = *POWERS.get(decimals)?;
        let units = units_quickly(value, scale).or_else(|| units_of(&number_exactly(value, decimals), decimals))?;
        Some(Self { units, decimals: u8::try_from(decimals).ok()? })
    }

    /// The value the control reads: the decimal number, to the nearest `f64`.
    #[must_use]
    pub fn value(self) -> f64 {
        if self.units.unsigned_abs() < 1 << 53 {
            // Both exact in f64, and the division is correctly rounded.
            self.units as f64 / POWERS[usize::from(self.decimals)]
        } else {
            self.to_string().parse().unwrap_or(f64::NAN)
        }
    }

    /// Appends the text to `out`.
    fn push_to(self, out: &mut String) {
        let decimals = usize::from(self.decimals);
        // Digits, least significant first: at least one before the point.
        let mut digits = [b'0'; 24];
        let mut n = self.units.unsigned_abs();
        let mut len = 0;
        while n > 0 || len <= decimals {
            digits[len] = b'0' + (n % 10) as u8;
            n /= 10;
            len += 1;
        }
        let trimmed = digits[..decimals].iter().take_while(|&&d| d == b'0').count();
        if self.units < 0 {
            out.push('-');
        }
        out.extend(digits[decimals..len].iter().rev().map(|&d| char::from(d)));
        out.push('.');
        out.extend(digits[trimmed..decimals].iter().rev().map(|&d| char::from(d)));
    }
}

impl std::fmt::Display for Rounded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = String::with_capacity(24);
        self.push_to(&mut text);
        f.write_str(&text)
    }
}

/// The count of `1 / scale` nearest `value`; `None` where that could round otherwise than the
/// exact decimal value of `value` does (beyond 1e9 units, or within 1e-6 of a unit of a tie:
/// the product `value * scale` is off by under 1.2e-7 of a unit there), and [`Rounded::new`]
/// reads the count off the exact decimal text.
fn units_quickly(value: f64, scale: f64) -> Option<i64> {
    let scaled = value * scale;
    if scaled.is_nan() || scaled.abs() >= 1e9 {
        return None;
    }
    let whole = scaled.round();
    if ((scaled - whole).abs() - 0.5).abs() < 1e-6 {
        return None;
    }
    // `whole` is an integer below 1e9 in magnitude: the cast is exact.
    Some(whole as i64)
}

/// The count of the last of `decimals` places in `text`, a decimal written by
/// [`number_exactly`]; `None` for anything else (NaN, infinities) or beyond `i64`.
fn units_of(text: &str, decimals: usize) -> Option<i64> {
    let (negative, digits) = text.strip_prefix('-').map_or((false, text), |rest| (true, rest));
    let (whole, fraction) = digits.split_once('.')?;
    if fraction.len() > decimals || !(whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit())) {
        return None;
    }
    let mut units: i64 = 0;
    let padding = std::iter::repeat_n(b'0', decimals - fraction.len());
    for b in whole.bytes().chain(fraction.bytes()).chain(padding) {
        units = units.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(if negative { -units } else { units })
}

/// Makes text safe inside a `( ... )` comment on every control.
#[must_use]
pub fn sanitize_comment(text: &str, uppercase: bool) -> String {
    let cleaned: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() || " .,=_-+:/".contains(c) { c } else { '_' }).collect();
    if uppercase {
        cleaned.to_ascii_uppercase()
    } else {
        cleaned
    }
}

/// The motion words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Motion {
    Rapid,
    Feed,
    Clockwise,
    CounterClockwise,
}

impl Motion {
    fn word(self) -> &'static str {
        match self {
            Self::Rapid => "G0",
            Self::Feed => "G1",
            Self::Clockwise => "G2",
            Self::CounterClockwise => "G3",
        }
    }
}

/// The modal state of the control: what a block may leave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Modal {
    /// Last motion word.
    motion: Option<Motion>,
    /// Last written X, Y, Z.
    xyz: [Option<Rounded>; 3],
    /// Last written F.
    feed: Option<Rounded>,
}

const AXES: [char; 3] = ['X', 'Y', 'Z'];

/// Program text with the modal state of the control after it.
struct Blocks<'a> {
    file: &'a MachineFile,
    /// What arcs may be written; `None`: lines only.
    arcs: Option<ArcLimits>,
    out: String,
    state: Modal,
}

impl<'a> Blocks<'a> {
    fn new(file: &'a MachineFile, arcs: Option<ArcLimits>, out: String, state: Modal) -> Self {
        Self { file, arcs, out, state }
    }

    fn line(&mut self, text: &str) -> Result<()> {
        let start = self.out.len();
        self.out.push_str(text);
        self.end_line(start)
    }

    /// Ends the line begun at `start`, which must not be longer than the control accepts.
    fn end_line(&mut self, start: usize) -> Result<()> {
        let max = self.file.max_line_length;
        if self.out.len() - start > max {
            let text = &self.out[start..];
            return Err(Error::Limit(format!("line `{text}` is longer than the {max} characters the control accepts")));
        }
        self.out.push('\n');
        Ok(())
    }

    /// Appends the word `letter value` to the line begun at `start`.
    fn word(&mut self, start: usize, letter: char, value: Rounded) {
        if self.out.len() > start {
            self.out.push(' ');
        }
        self.out.push(letter);
        value.push_to(&mut self.out);
    }

    fn comment(&mut self, text: &str) -> Result<()> {
        let max = self.file.max_line_length - 2;
        let mut text = sanitize_comment(text, self.file.comment_uppercase);
        text.truncate(max);
        self.line(&format!("({text})"))
    }

    fn header(&mut self, toolpaths: &Toolpaths, info: &ProgramInfo) -> Result<()> {
        let file = self.file;
        if file.percent_delimiters {
            self.line("%")?;
        }
        let title = format!("MEDALCAM {} {}", info.target.name(), info.title);
        if let Some(n) = file.program_number {
            let digits = file.program_number_digits;
            let mut comment = sanitize_comment(&title, file.comment_uppercase);
            comment.truncate(file.max_line_length.saturating_sub(digits + 4));
            self.line(&format!("O{n:0digits$} ({comment})"))?;
        } else {
            self.comment(&title)?;
        }
        self.comment(&format!("MACHINE {}", file.name))?;
        let mirrored = if info.target.mirrored() { "YES" } else { "NO" };
        let target = info.target.name().to_ascii_uppercase();
        self.comment(&format!("TARGET {target} - MIRRORED: {mirrored} - X0 Y0 = CENTRE, Z0 = FACE"))?;
        let mut seen = Vec::new();
        for op in &toolpaths.operations {
            if seen.contains(&op.tool.number) {
                continue;
            }
            seen.push(op.tool.number);
            let zmin = toolpaths
                .operations
                .iter()
                .filter(|o| o.tool.number == op.tool.number)
                .map(|o| o.depth_mm)
                .fold(0.0, f64::max);
            let t = &op.tool;
            let shape = match t.kind {
                ToolKind::Flat | ToolKind::Ball => String::new(),
                ToolKind::Bull => format!(" R={}", number(t.corner_radius_mm, 3)),
                ToolKind::Vee | ToolKind::TaperedBall => {
                    format!(" TIP={} A={}", number(t.tip_diameter_mm, 3), number(t.included_angle_deg, 3))
                }
            };
            self.comment(&format!(
                "T{} D={} {}{shape} ZMIN={} S{} F{}",
                t.number,
                number(t.diameter_mm, 3),
                t.kind.name(),
                number(-zmin, 3),
                rpm(t.spindle_rpm),
                number(t.feed_mm_per_min, file.feed_decimals)
            ))?;
        }
        for line in &file.program_start {
            self.line(line)?;
        }
        Ok(())
    }

    fn tool_change(&mut self, tool: &Tool) -> Result<()> {
        let file = self.file;
        if tool.spindle_rpm > file.max_rpm {
            return Err(Error::Limit(format!(
                "T{} spindle {} rpm is above the machine's {}",
                tool.number, tool.spindle_rpm, file.max_rpm
            )));
        }
        let clearance = number(file.clearance_z_mm, file.decimals);
        for line in &file.tool_change {
            let line = line
                .replace("{tool:02}", &format!("{:02}", tool.number))
                .replace("{tool}", &tool.number.to_string())
                .replace("{rpm}", &rpm(tool.spindle_rpm))
                .replace("{clearance}", &clearance);
            self.line(&line)?;
        }
        // The control's position after a tool change is not known here: state everything again.
        self.state = Modal::default();
        self.retract()
    }

    /// Takes the tool to the first point of `path`: from the clearance height, down to the
    /// approach height and in at the plunge feed where `path.retract`, else straight there
    /// at the cutting feed.
    fn approach(&mut self, path: &Path, tool: &Tool) -> Result<()> {
        let Some(&first) = path.points.first() else { return Ok(()) };
        let file = self.file;
        let (clearance, approach) = (file.clearance_z_mm, file.approach_mm);
        if path.retract {
            self.retract()?;
            self.rapid([Some(first[0]), Some(first[1]), None])?;
            let above = first[2] + approach;
            if above < clearance {
                self.rapid([None, None, Some(above)])?;
            }
            self.feed_to([None, None, Some(first[2])], tool.plunge_mm_per_min)
        } else {
            self.feed_to(first.map(Some), tool.feed_mm_per_min)
        }
    }

    /// Writes the rest of the path of `points` after its first point, cut into `pieces` by
    /// [`fit`].
    fn pieces(&mut self, points: &[[f64; 3]], pieces: &[Piece], tool: &Tool) -> Result<()> {
        for &piece in pieces {
            match piece {
                Piece::Line(k) => self.segment(points[k - 1], points[k], tool)?,
                Piece::Arc(arc) => self.arc_or_lines(&points[arc.from..=arc.to], &arc, tool, true)?,
            }
        }
        Ok(())
    }

    /// Writes the run `arc` replaces as that arc, else (`split`) as two arcs over its halves,
    /// else as lines.
    fn arc_or_lines(&mut self, run: &[[f64; 3]], arc: &Arc, tool: &Tool, split: bool) -> Result<()> {
        if self.arc(run, arc, tool.feed_mm_per_min)? {
            return Ok(());
        }
        let middle = run.len() / 2;
        let halves = [&run[..=middle], &run[middle..]];
        match self.arcs {
            Some(limits) if split && middle > arcs::MIN_SEGMENTS => {
                for half in halves {
                    match arcs::arc_over(half, &limits) {
                        Some(arc) => self.arc_or_lines(half, &arc, tool, false)?,
                        None => self.lines(half, tool)?,
                    }
                }
                Ok(())
            }
            _ => self.lines(run, tool),
        }
    }

    fn lines(&mut self, run: &[[f64; 3]], tool: &Tool) -> Result<()> {
        for pair in run.windows(2) {
            self.segment(pair[0], pair[1], tool)?;
        }
        Ok(())
    }

    /// A straight cutting move from `from` to `to`: at the plunge feed where it descends.
    fn segment(&mut self, from: [f64; 3], to: [f64; 3], tool: &Tool) -> Result<()> {
        let descends = to[2] < from[2] - 1e-9;
        let feed = if descends { tool.plunge_mm_per_min } else { tool.feed_mm_per_min };
        self.feed_to(to.map(Some), feed)
    }

    /// Writes `arc` over `run` as one G2/G3 block from the control's rounded position, at its
    /// Z. `Ok(false)`, with nothing written, where the arc fails a rule of [`arcs::block`], leaves
    /// the Z, the travel or the line length: the caller then writes the run as lines.
    fn arc(&mut self, run: &[[f64; 3]], arc: &Arc, feed: f64) -> Result<bool> {
        let Some(limits) = self.arcs else { return Ok(false) };
        let file = self.file;
        let [Some(x), Some(y), Some(z)] = self.state.xyz else { return Ok(false) };
        let Some(end) = run.last() else { return Ok(false) };
        if !end[2].is_finite() || Rounded::new(end[2], file.decimals) != Some(z) {
            return Ok(false);
        }
        let Some(block) = arcs::block([x.value(), y.value()], run, arc, &limits, file.decimals) else {
            return Ok(false);
        };
        let [x0, y0, x1, y1] = block.bounds;
        let inside = |v: f64, [min, max]: [f64; 2]| v >= min && v <= max;
        if !(inside(x0, file.travel_x_mm)
            && inside(x1, file.travel_x_mm)
            && inside(y0, file.travel_y_mm)
            && inside(y1, file.travel_y_mm))
        {
            return Ok(false);
        }
        let feed = self.feed(feed)?;
        let start = self.out.len();
        let motion = if block.clockwise { Motion::Clockwise } else { Motion::CounterClockwise };
        if self.state.motion != Some(motion) {
            self.out.push_str(motion.word());
        }
        for (axis, &value) in block.end.iter().enumerate() {
            if self.state.xyz[axis] != Some(value) {
                self.word(start, AXES[axis], value);
            }
        }
        self.word(start, 'I', block.ij[0]);
        self.word(start, 'J', block.ij[1]);
        if self.state.feed != Some(feed) {
            self.word(start, 'F', feed);
        }
        if self.out.len() - start > file.max_line_length {
            self.out.truncate(start);
            return Ok(false);
        }
        self.out.push('\n');
        self.state.motion = Some(motion);
        self.state.xyz[0] = Some(block.end[0]);
        self.state.xyz[1] = Some(block.end[1]);
        self.state.feed = Some(feed);
        Ok(true)
    }

    /// `feed` rounded, checked against the machine's maximum.
    fn feed(&self, feed: f64) -> Result<Rounded> {
        let max = self.file.max_feed_mm_per_min;
        if feed > max {
            return Err(Error::Limit(format!("feed {feed} mm/min is above the machine's {max}")));
        }
        Rounded::new(feed, self.file.feed_decimals).ok_or(Error::NonFiniteCoordinate)
    }

    fn retract(&mut self) -> Result<()> {
        self.rapid([None, None, Some(self.file.clearance_z_mm)])
    }

    fn rapid(&mut self, to: [Option<f64>; 3]) -> Result<()> {
        self.motion_line(Motion::Rapid, to, None)
    }

    fn feed_to(&mut self, to: [Option<f64>; 3], feed: f64) -> Result<()> {
        self.motion_line(Motion::Feed, to, Some(feed))
    }

    /// A G0 or G1 block to the axes given, with only the words that change; nothing where
    /// none does.
    fn motion_line(&mut self, motion: Motion, to: [Option<f64>; 3], feed: Option<f64>) -> Result<()> {
        let file = self.file;
        let travel = [file.travel_x_mm, file.travel_y_mm, file.travel_z_mm];
        let mut rounded: [Option<Rounded>; 3] = [None; 3];
        let mut changed = false;
        for (axis, value) in to.iter().enumerate() {
            let Some(v) = *value else { continue };
            if !v.is_finite() {
                return Err(Error::NonFiniteCoordinate);
            }
            let [min, max] = travel[axis];
            let name = AXES[axis];
            let outside = || {
                Error::Limit(format!(
                    "{name}{} is outside the machine's {name} travel [{min}, {max}]",
                    number(v, file.decimals)
                ))
            };
            let r = Rounded::new(v, file.decimals).ok_or_else(outside)?;
            let value = r.value();
            if value < min || value > max {
                return Err(outside());
            }
            changed |= self.state.xyz[axis] != Some(r);
            rounded[axis] = Some(r);
        }
        if !changed {
            return Ok(());
        }
        let start = self.out.len();
        if self.state.motion != Some(motion) {
            self.out.push_str(motion.word());
        }
        for (axis, r) in rounded.into_iter().enumerate() {
            let Some(r) = r else { continue };
            if self.state.xyz[axis] != Some(r) {
                self.word(start, AXES[axis], r);
                self.state.xyz[axis] = Some(r);
            }
        }
        if let Some(f) = feed {
            let f = self.feed(f)?;
            if self.state.feed != Some(f) {
                self.word(start, 'F', f);
                self.state.feed = Some(f);
            }
        }
        self.state.motion = Some(motion);
        self.end_line(start)
    }

    fn footer(&mut self) -> Result<()> {
        for line in &self.file.program_end {
            self.line(line)?;
        }
        if self.file.percent_delimiters {
            self.line("%")?;
        }
        Ok(())
    }
}

fn rpm(value: f64) -> String {
    format!("{:.0}", value.round())
}

#[cfg(test)]
mod tests {
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
        let info = ProgramInfo { title: "test".into(), target: Target::Die };
        emit(&Toolpaths { operations, warnings: Vec::new(), reached: Vec::new() }, machine, &info).unwrap()
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
