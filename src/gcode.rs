//! Stage 4: [`Toolpaths`] and a [`Machine`] to a G-code program.
//!
//! Guarantees of the output: numbers are rounded once, here, to the profile's decimals, always
//! carry a decimal point and never read `-0.`; every coordinate, feed and spindle speed has
//! been checked against the profile's limits and every line against its maximum length before
//! the program is returned, so a program that would raise an alarm is never written. Words
//! are modal: a word is written only when its value changes. Comments are sanitised to
//! letters, digits and `space . , = _ - + : /`, so names from the SVG cannot break a block.

use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::machine::Machine;
use crate::relief::Target;
use crate::toolpath::{Path, Tool, Toolpaths};

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
/// # Errors
///
/// [`Error::Limit`] when a move leaves the machine's travel, a feed or speed exceeds its
/// maximum, or a line exceeds its length; [`Error::NonFiniteCoordinate`] for NaN or infinity.
pub fn emit(toolpaths: &Toolpaths, machine: &Machine, info: &ProgramInfo) -> Result<String> {
    let mut w = Writer::new(machine);
    w.header(toolpaths, info)?;
    let mut current_tool: Option<u32> = None;
    for operation in &toolpaths.operations {
        if current_tool != Some(operation.tool.number) {
            w.tool_change(&operation.tool)?;
            current_tool = Some(operation.tool.number);
        }
        w.comment(&format!("LEVEL {} MM T{}", number(operation.depth_mm, 3), operation.tool.number))?;
        for path in &operation.paths {
            w.path(path, &operation.tool)?;
        }
        w.retract()?;
    }
    w.footer()?;
    Ok(w.out)
}

/// Checks, before any toolpath is planned, that the relief fits the machine's X/Y travel and
/// its depth the Z travel.
///
/// # Errors
///
/// [`Error::Limit`] naming the axis.
pub fn check_travel(relief: &crate::relief::Relief, machine: &Machine) -> Result<()> {
    let file = &machine.file;
    let all = relief.levels.iter().flat_map(|l| l.area.iter().flatten());
    let Some([x0, y0, x1, y1]) = crate::geom::bounds(all) else { return Ok(()) };
    for (name, lo, hi, [min, max]) in [("X", x0, x1, file.travel_x_mm), ("Y", y0, y1, file.travel_y_mm)] {
        if lo < min || hi > max {
            return Err(Error::Limit(format!(
                "the die spans {name}{} to {name}{}, outside the machine's {name} travel [{min}, {max}]",
                number(lo, 3),
                number(hi, 3)
            )));
        }
    }
    let deepest = relief.levels.iter().map(|l| l.depth_mm).fold(0.0, f64::max);
    if -deepest < file.travel_z_mm[0] {
        return Err(Error::Limit(format!("a depth of {deepest} mm is below the machine's Z travel")));
    }
    Ok(())
}

/// Formats `value` rounded to `decimals` places, trailing zeros trimmed, point always kept.
///
/// `5.0 -> "5."`, `-0.0001 -> "0."`, `2.0005 -> "2.001"`. Haas-style controls read a number
/// without a point in least increments (`X5` = `X0.0005`), so the point is never dropped.
#[must_use]
pub fn number(value: f64, decimals: usize) -> String {
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

/// The program text with the modal state of the control.
struct Writer<'a> {
    machine: &'a Machine,
    out: String,
    /// Last motion word (`G0`/`G1`).
    motion: Option<&'static str>,
    /// Last written X, Y, Z (rounded text) and F.
    xyz: [Option<String>; 3],
    /// Last rounded position as numbers, for travel checks.
    feed: Option<String>,
}

impl<'a> Writer<'a> {
    fn new(machine: &'a Machine) -> Self {
        Self { machine, out: String::new(), motion: None, xyz: [None, None, None], feed: None }
    }

    fn line(&mut self, text: &str) -> Result<()> {
        let max = self.machine.file.max_line_length;
        if text.len() > max {
            return Err(Error::Limit(format!("line `{text}` is longer than the {max} characters the control accepts")));
        }
        self.out.push_str(text);
        self.out.push('\n');
        Ok(())
    }

    fn comment(&mut self, text: &str) -> Result<()> {
        let max = self.machine.file.max_line_length - 2;
        let mut text = sanitize_comment(text, self.machine.file.comment_uppercase);
        text.truncate(max);
        self.line(&format!("({text})"))
    }

    fn header(&mut self, toolpaths: &Toolpaths, info: &ProgramInfo) -> Result<()> {
        let file = &self.machine.file;
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
            self.comment(&format!(
                "T{} D={} {} ZMIN={} S{} F{}",
                t.number,
                number(t.diameter_mm, 3),
                t.kind.name(),
                number(-zmin, 3),
                rpm(t.spindle_rpm),
                number(t.feed_mm_per_min, file.feed_decimals)
            ))?;
        }
        for line in file.program_start.clone() {
            self.line(&line)?;
        }
        Ok(())
    }

    fn tool_change(&mut self, tool: &Tool) -> Result<()> {
        let file = &self.machine.file;
        if tool.spindle_rpm > file.max_rpm {
            return Err(Error::Limit(format!(
                "T{} spindle {} rpm is above the machine's {}",
                tool.number, tool.spindle_rpm, file.max_rpm
            )));
        }
        let clearance = number(file.clearance_z_mm, file.decimals);
        let lines: Vec<String> = file
            .tool_change
            .iter()
            .map(|l| {
                l.replace("{tool:02}", &format!("{:02}", tool.number))
                    .replace("{tool}", &tool.number.to_string())
                    .replace("{rpm}", &rpm(tool.spindle_rpm))
                    .replace("{clearance}", &clearance)
            })
            .collect();
        for line in lines {
            self.line(&line)?;
        }
        // The control's position after a tool change is not known here: state everything again.
        self.motion = None;
        self.xyz = [None, None, None];
        self.feed = None;
        self.rapid([None, None, Some(self.machine.file.clearance_z_mm)])
    }

    fn path(&mut self, path: &Path, tool: &Tool) -> Result<()> {
        let Some(&first) = path.points.first() else { return Ok(()) };
        let file = &self.machine.file;
        let (clearance, approach) = (file.clearance_z_mm, file.approach_mm);
        if path.retract {
            self.retract()?;
            self.rapid([Some(first[0]), Some(first[1]), None])?;
            let above = first[2] + approach;
            if above < clearance {
                self.rapid([None, None, Some(above)])?;
            }
            self.feed_to([None, None, Some(first[2])], tool.plunge_mm_per_min)?;
        } else {
            self.feed_to(first.map(Some), tool.feed_mm_per_min)?;
        }
        let mut previous = first;
        for &p in &path.points[1..] {
            let descends = p[2] < previous[2] - 1e-9;
            let feed = if descends { tool.plunge_mm_per_min } else { tool.feed_mm_per_min };
            self.feed_to(p.map(Some), feed)?;
            previous = p;
        }
        Ok(())
    }

    fn retract(&mut self) -> Result<()> {
        self.rapid([None, None, Some(self.machine.file.clearance_z_mm)])
    }

    fn rapid(&mut self, to: [Option<f64>; 3]) -> Result<()> {
        self.motion_line("G0", to, None)
    }

    fn feed_to(&mut self, to: [Option<f64>; 3], feed: f64) -> Result<()> {
        self.motion_line("G1", to, Some(feed))
    }

    fn motion_line(&mut self, motion: &'static str, to: [Option<f64>; 3], feed: Option<f64>) -> Result<()> {
        let file = &self.machine.file;
        let mut words = String::new();
        let travel = [file.travel_x_mm, file.travel_y_mm, file.travel_z_mm];
        let mut new_xyz = self.xyz.clone();
        for (axis, value) in to.iter().enumerate() {
            let Some(v) = *value else { continue };
            if !v.is_finite() {
                return Err(Error::NonFiniteCoordinate);
            }
            let text = number(v, file.decimals);
            let rounded: f64 = text.parse().expect("number() writes a float");
            let [min, max] = travel[axis];
            if rounded < min || rounded > max {
                let name = ["X", "Y", "Z"][axis];
                return Err(Error::Limit(format!(
                    "{name}{text} is outside the machine's {name} travel [{min}, {max}]"
                )));
            }
            if self.xyz[axis].as_deref() != Some(text.as_str()) {
                let _ = write!(words, " {}{}", ["X", "Y", "Z"][axis], text);
                new_xyz[axis] = Some(text);
            }
        }
        if words.is_empty() {
            return Ok(());
        }
        let mut line = String::new();
        if self.motion != Some(motion) {
            line.push_str(motion);
        }
        line.push_str(&words);
        if let Some(f) = feed {
            if f > file.max_feed_mm_per_min {
                return Err(Error::Limit(format!(
                    "feed {f} mm/min is above the machine's {}",
                    file.max_feed_mm_per_min
                )));
            }
            let text = number(f, file.feed_decimals);
            if self.feed.as_deref() != Some(text.as_str()) {
                let _ = write!(line, " F{text}");
                self.feed = Some(text);
            }
        }
        self.motion = Some(motion);
        self.xyz = new_xyz;
        self.line(line.trim_start())
    }

    fn footer(&mut self) -> Result<()> {
        for line in self.machine.file.program_end.clone() {
            self.line(&line)?;
        }
        if self.machine.file.percent_delimiters {
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
}
