//! The writer of a program's blocks: modal words written only when they change, every
//! coordinate, feed and speed checked against the profile, every line against its length.

use super::arcs::{self, Arc, ArcLimits, Piece};
use super::number::{number, Rounded};
use super::ProgramInfo;
use crate::error::{Error, Result};
use crate::machine::MachineFile;
use crate::tool::{Tool, ToolKind};
use crate::toolpath::{Operation, Path};

/// How far the holder's nose must stay above the die face with the tool at its lowest Z: the
/// header's least stick-out is the tool's deepest cut and this.
pub const HOLDER_CLEARANCE_MM: f64 = 2.0;

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
pub(super) enum Motion {
    Rapid,
    Feed,
    Clockwise,
    CounterClockwise,
}

impl Motion {
    pub(super) fn word(self) -> &'static str {
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
pub(super) struct Modal {
    /// Last motion word.
    pub(super) motion: Option<Motion>,
    /// Last written X, Y, Z.
    pub(super) xyz: [Option<Rounded>; 3],
    /// Last written F.
    pub(super) feed: Option<Rounded>,
}

pub(super) const AXES: [char; 3] = ['X', 'Y', 'Z'];

/// Program text with the modal state of the control after it.
pub(super) struct Blocks<'a> {
    pub(super) file: &'a MachineFile,
    /// What arcs may be written; `None`: lines only.
    pub(super) arcs: Option<ArcLimits>,
    pub(super) out: String,
    pub(super) state: Modal,
}

impl<'a> Blocks<'a> {
    pub(super) fn new(file: &'a MachineFile, arcs: Option<ArcLimits>, out: String, state: Modal) -> Self {
        Self { file, arcs, out, state }
    }

    pub(super) fn line(&mut self, text: &str) -> Result<()> {
        let start = self.out.len();
        self.out.push_str(text);
        self.end_line(start)
    }

    /// Ends the line begun at `start`, which must not be longer than the control accepts.
    pub(super) fn end_line(&mut self, start: usize) -> Result<()> {
        let max = self.file.max_line_length;
        if self.out.len() - start > max {
            let text = &self.out[start..];
            return Err(Error::Limit(format!("line `{text}` is longer than the {max} characters the control accepts")));
        }
        self.out.push('\n');
        Ok(())
    }

    /// Appends the word `letter value` to the line begun at `start`.
    pub(super) fn word(&mut self, start: usize, letter: char, value: Rounded) {
        if self.out.len() > start {
            self.out.push(' ');
        }
        self.out.push(letter);
        value.push_to(&mut self.out);
    }

    pub(super) fn comment(&mut self, text: &str) -> Result<()> {
        let max = self.file.max_line_length - 2;
        let mut text = sanitize_comment(text, self.file.comment_uppercase);
        text.truncate(max);
        self.line(&format!("({text})"))
    }

    /// The header: `%`, the program number and name, the source, machine, target, material
    /// and units, one line per tool of `operations` (and what each tool's limits clamped);
    /// where a file holds one tool's work (`own`: the tool, and every tool's in the order
    /// they run), which file it is, what to load and how to touch it off; where a program is
    /// split for the control's memory, which `piece` this is; then the profile's
    /// `program-start`.
    pub(super) fn header(
        &mut self,
        operations: &[&Operation],
        info: &ProgramInfo,
        own: Option<(u32, &[u32])>,
        piece: usize,
    ) -> Result<()> {
        let file = self.file;
        if file.percent_delimiters {
            self.line("%")?;
        }
        let title = format!("MEDALCAM {}", info.name);
        if let Some(n) = file.program_number {
            let digits = file.program_number_digits;
            let mut comment = sanitize_comment(&title, file.comment_uppercase);
            comment.truncate(file.max_line_length.saturating_sub(digits + 4));
            self.line(&format!("O{n:0digits$} ({comment})"))?;
        } else {
            self.comment(&title)?;
        }
        self.comment(&format!("SOURCE {}", info.source))?;
        self.comment(&format!("MACHINE {}", file.name))?;
        let mirrored = if info.target.mirrored() { "YES" } else { "NO" };
        let target = info.target.name().to_ascii_uppercase();
        self.comment(&format!("TARGET {target} - MIRRORED: {mirrored} - X0 Y0 = CENTRE, Z0 = FACE"))?;
        self.comment(&format!("MATERIAL {} - UNITS MM", info.material))?;
        let mut seen = Vec::new();
        for op in operations {
            if seen.contains(&op.tool.number) {
                continue;
            }
            seen.push(op.tool.number);
            let zmin =
                operations.iter().filter(|o| o.tool.number == op.tool.number).map(|o| o.depth_mm).fold(0.0, f64::max);
            let t = &op.tool;
            let shape = match t.kind {
                ToolKind::Flat | ToolKind::Ball => String::new(),
                ToolKind::Bull => format!(" R={}", number(t.corner_radius_mm, 3)),
                ToolKind::Vee | ToolKind::TaperedBall => {
                    format!(" TIP={} A={}", number(t.tip_diameter_mm, 3), number(t.included_angle_deg, 3))
                }
            };
            self.comment(&format!(
                "T{} D={} {}{shape} ZMIN={} MIN STICKOUT={} S{} F{}",
                t.number,
                number(t.diameter_mm, 3),
                t.kind.name(),
                number(-zmin, 3),
                number(zmin + HOLDER_CLEARANCE_MM, 3),
                rpm(t.spindle_rpm),
                number(t.feed_mm_per_min, file.feed_decimals)
            ))?;
            for limit in &t.limits {
                self.comment(&format!("T{} {}", t.number, limit.to_ascii_uppercase()))?;
            }
        }
        if let Some((tool, order)) = own {
            let index = order.iter().position(|&t| t == tool).unwrap_or(0);
            self.comment(&format!("FILE {} OF {}: T{tool} ONLY, LOADED BY HAND", index + 1, order.len()))?;
            let order: Vec<String> = order.iter().map(|t| format!("T{t}")).collect();
            self.comment(&format!("RUN ORDER {}", order.join(" ")))?;
            self.comment("TOUCH OFF X0 Y0 ON THE DIE CENTRE, Z0 ON THE DIE FACE")?;
        }
        if piece > 1 {
            self.comment(&format!("PART {piece}: RUN AFTER PART {}", piece - 1))?;
        }
        for line in &file.program_start {
            self.line(&self.fill(line, None))?;
        }
        Ok(())
    }

    /// The profile's `tool-change` for `tool`, its `{smoothing}` line the `rough` or finishing
    /// block.
    pub(super) fn tool_change(&mut self, tool: &Tool, rough: bool) -> Result<()> {
        let file = self.file;
        if tool.spindle_rpm > file.max_rpm {
            return Err(Error::Limit(format!(
                "T{} spindle {} rpm is above the machine's {}",
                tool.number, tool.spindle_rpm, file.max_rpm
            )));
        }
        if tool.spindle_rpm.is_nan() || tool.spindle_rpm.round() < 1.0 {
            return Err(Error::Limit(format!("T{} spindle {} rpm rounds to S0", tool.number, tool.spindle_rpm)));
        }
        if tool.number == 0 || tool.number > file.max_tool_number {
            return Err(Error::Limit(format!(
                "tool number T{} is outside the machine's 1 to {}",
                tool.number, file.max_tool_number
            )));
        }
        if !file.tool_changer {
            // The tool was loaded and touched off by hand: it may stand on the die face.
            // Up to the clearance before the spindle starts.
            self.state = Modal::default();
            self.retract()?;
        }
        for line in &file.tool_change {
            let smoothing = if rough { &file.smoothing_rough } else { &file.smoothing_finish };
            let line = match smoothing {
                Some(block) if line.trim() == crate::machine::SMOOTHING => block,
                _ => line,
            };
            self.line(&self.fill(line, Some(tool)))?;
        }
        // The control's position after a tool change is not known here: state everything again.
        self.state = Modal::default();
        self.retract()
    }

    /// Takes the tool to the first point of `path`: where `path.retract`, up to `hop_mm` above
    /// the face (or from higher), across, down to the approach height and in at the plunge
    /// feed; else straight there at the cutting feed.
    pub(super) fn approach(&mut self, path: &Path, tool: &Tool, hop_mm: f64) -> Result<()> {
        let Some(&first) = path.points.first() else { return Ok(()) };
        let file = self.file;
        let hop = hop_mm.min(file.clearance_z_mm);
        if path.retract {
            // Up to the hop height above the face (not down from the clearance after a tool
            // change), across, and down to the approach height.
            let z = self.state.xyz[2].map(Rounded::value);
            if z.is_none_or(|z| z < hop) {
                self.rapid([None, None, Some(hop)])?;
            }
            self.rapid([Some(first[0]), Some(first[1]), None])?;
            let above = first[2] + file.approach_mm;
            if z.is_none_or(|z| above < z.max(hop)) {
                self.rapid([None, None, Some(above)])?;
            }
            self.feed_to([None, None, Some(first[2])], tool.plunge_mm_per_min)
        } else {
            self.feed_to(first.map(Some), tool.feed_mm_per_min)
        }
    }

    /// Writes the rest of the path of `points` after its first point, cut into `pieces` by
    /// [`fit`].
    pub(super) fn pieces(&mut self, points: &[[f64; 3]], pieces: &[Piece], tool: &Tool) -> Result<()> {
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
    pub(super) fn arc_or_lines(&mut self, run: &[[f64; 3]], arc: &Arc, tool: &Tool, split: bool) -> Result<()> {
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

    pub(super) fn lines(&mut self, run: &[[f64; 3]], tool: &Tool) -> Result<()> {
        for pair in run.windows(2) {
            self.segment(pair[0], pair[1], tool)?;
        }
        Ok(())
    }

    /// A straight cutting move from `from` to `to`: at the plunge feed where it descends.
    pub(super) fn segment(&mut self, from: [f64; 3], to: [f64; 3], tool: &Tool) -> Result<()> {
        let descends = to[2] < from[2] - crate::toolpath::SAME_MM;
        let feed = if descends { tool.plunge_mm_per_min } else { tool.feed_mm_per_min };
        self.feed_to(to.map(Some), feed)
    }

    /// Writes `arc` over `run` as one G2/G3 block from the control's rounded position, at its
    /// Z. `Ok(false)`, with nothing written, where the arc fails a rule of [`arcs::block`], leaves
    /// the Z, the travel or the line length: the caller then writes the run as lines.
    pub(super) fn arc(&mut self, run: &[[f64; 3]], arc: &Arc, feed: f64) -> Result<bool> {
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
    pub(super) fn feed(&self, feed: f64) -> Result<Rounded> {
        let max = self.file.max_feed_mm_per_min;
        if feed > max {
            return Err(Error::Limit(format!("feed {feed} mm/min is above the machine's {max}")));
        }
        let rounded = Rounded::new(feed, self.file.feed_decimals).ok_or(Error::NonFiniteCoordinate)?;
        if rounded.value() <= 0.0 {
            return Err(Error::Limit(format!(
                "feed {feed} mm/min rounds to F0 at the machine's {} feed decimals",
                self.file.feed_decimals
            )));
        }
        Ok(rounded)
    }

    pub(super) fn retract(&mut self) -> Result<()> {
        self.rapid([None, None, Some(self.file.clearance_z_mm)])
    }

    pub(super) fn rapid(&mut self, to: [Option<f64>; 3]) -> Result<()> {
        self.motion_line(Motion::Rapid, to, None)
    }

    pub(super) fn feed_to(&mut self, to: [Option<f64>; 3], feed: f64) -> Result<()> {
        self.motion_line(Motion::Feed, to, Some(feed))
    }

    /// A G0 or G1 block to the axes given, with only the words that change; nothing where
    /// none does.
    pub(super) fn motion_line(&mut self, motion: Motion, to: [Option<f64>; 3], feed: Option<f64>) -> Result<()> {
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

    /// A block of the profile with its placeholders filled in: the clearance, and where a
    /// `tool` is given, its number and spindle speed.
    fn fill(&self, line: &str, tool: Option<&Tool>) -> String {
        let line = line.replace("{clearance}", &number(self.file.clearance_z_mm, self.file.decimals));
        match tool {
            Some(tool) => line
                .replace("{tool:02}", &format!("{:02}", tool.number))
                .replace("{tool}", &tool.number.to_string())
                .replace("{rpm}", &rpm(tool.spindle_rpm)),
            None => line,
        }
    }

    /// The profile's `tool-end`, after a tool's last cut. The control's position after it is
    /// not known here (a `G28` goes to the machine's home): everything is stated again.
    pub(super) fn tool_end(&mut self, tool: &Tool) -> Result<()> {
        if self.file.tool_end.is_empty() {
            return Ok(());
        }
        for line in &self.file.tool_end {
            self.line(&self.fill(line, Some(tool)))?;
        }
        self.state = Modal::default();
        Ok(())
    }

    pub(super) fn footer(&mut self) -> Result<()> {
        for line in &self.file.program_end {
            self.line(&self.fill(line, None))?;
        }
        if self.file.percent_delimiters {
            self.line("%")?;
        }
        Ok(())
    }
}

pub(super) fn rpm(value: f64) -> String {
    format!("{:.0}", value.round())
}
