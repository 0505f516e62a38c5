//! Machine profiles: one TOML file per controller dialect, in `machines/`.
//!
//! A profile is read into [`MachineFile`] (mirrors the TOML, unknown keys rejected) and
//! validated into [`Machine`]. The built-in profiles are compiled into the binary.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Built-in profiles: name and TOML text.
pub const BUILT_IN: &[(&str, &str)] = &[
    ("haas", include_str!("../machines/haas.toml")),
    ("linuxcnc", include_str!("../machines/linuxcnc.toml")),
    ("fanuc", include_str!("../machines/fanuc.toml")),
    ("mach3", include_str!("../machines/mach3.toml")),
    ("grbl", include_str!("../machines/grbl.toml")),
    ("engraver", include_str!("../machines/engraver.toml")),
];

/// A machine profile exactly as written in TOML.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MachineFile {
    /// A user profile's base: the built-in profile whose keys it takes where it gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// Human-readable name, written into the program header.
    pub name: String,
    /// Output units; only `"mm"` is supported.
    pub units: String,
    /// Decimals of coordinates (at least 1).
    pub decimals: usize,
    /// Decimals of feed words.
    pub feed_decimals: usize,
    /// Write `%` as the first and last line.
    #[serde(default)]
    pub percent_delimiters: bool,
    /// Program number written as `O<number>` on the first line, if the dialect uses one.
    pub program_number: Option<u32>,
    /// Digits of the program number, zero-padded.
    #[serde(default = "default_program_digits")]
    pub program_number_digits: usize,
    /// The highest tool (and tool length offset) number the control has; T0 is never a tool.
    #[serde(default = "default_max_tool_number")]
    pub max_tool_number: u32,
    /// Upper-case every comment (controls that ignore lower case).
    #[serde(default)]
    pub comment_uppercase: bool,
    /// Longest line the control accepts, in characters.
    pub max_line_length: usize,
    /// Highest spindle speed.
    pub max_rpm: f64,
    /// Highest programmable feed.
    pub max_feed_mm_per_min: f64,
    /// Usable X travel relative to the die centre, `[min, max]`.
    pub travel_x_mm: [f64; 2],
    /// Usable Y travel relative to the die centre, `[min, max]`.
    pub travel_y_mm: [f64; 2],
    /// Usable Z travel relative to the die face, `[min, max]`.
    pub travel_z_mm: [f64; 2],
    /// Height above the die face for rapid moves between paths.
    pub clearance_z_mm: f64,
    /// Height above the next cut from which the tool feeds down instead of rapids.
    pub approach_mm: f64,
    /// Lines at the start of the program.
    pub program_start: Vec<String>,
    /// Lines of a tool change; `{tool}`, `{tool:02}`, `{rpm}`, `{clearance}` are filled in.
    pub tool_change: Vec<String>,
    /// Lines at the end of the program.
    pub program_end: Vec<String>,
    /// Lines after each tool's last cut, before the next tool change or the program end.
    #[serde(default)]
    pub tool_end: Vec<String>,
    /// Whether the machine changes tools by program (`M6`). Without a tool changer each tool
    /// gets a program file of its own, safe to run alone, whose header says which tool to load
    /// and how to touch it off; `tool-change` then starts the spindle of the loaded tool.
    #[serde(default = "default_true")]
    pub tool_changer: bool,
    /// The block a `{smoothing}` line of `tool-change` stands for, for the tool that clears
    /// the die (the first of several): a looser contour tolerance, more speed.
    #[serde(default)]
    pub smoothing_rough: Option<String>,
    /// The block a `{smoothing}` line of `tool-change` stands for, for the tools that leave
    /// the die's surfaces (every tool but a first of several).
    #[serde(default)]
    pub smoothing_finish: Option<String>,
    /// The largest program, in bytes, the control holds: a larger one is refused, or split
    /// where `split-programs` says so.
    #[serde(default)]
    pub max_program_bytes: Option<u64>,
    /// Split a program larger than `max-program-bytes` into numbered files (`OUT.1.nc`,
    /// `OUT.2.nc`, ...), each ending at a retract and the next starting with the tool change
    /// of the tool it goes on with.
    #[serde(default)]
    pub split_programs: bool,
    /// Write G2/G3 arcs where the toolpath is circular (`program-start` must select G17);
    /// without the key, lines only.
    #[serde(default)]
    pub arcs: bool,
    /// Largest distance between an arc and the points and chords it replaces.
    #[serde(default = "default_arc_tolerance")]
    pub arc_tolerance_mm: f64,
    /// Largest sweep of one arc, in degrees (below 360).
    #[serde(default = "default_arc_max_sweep")]
    pub arc_max_sweep_deg: f64,
    /// Shortest distance between the start and end of an arc.
    #[serde(default = "default_arc_min_chord")]
    pub arc_min_chord_mm: f64,
    /// Smallest arc radius.
    #[serde(default = "default_arc_min_radius")]
    pub arc_min_radius_mm: f64,
    /// Largest arc radius.
    #[serde(default = "default_arc_max_radius")]
    pub arc_max_radius_mm: f64,
    /// Largest difference the control accepts between the radii to an arc's start and end,
    /// after rounding.
    #[serde(default = "default_arc_radius_tolerance")]
    pub arc_radius_tolerance_mm: f64,
    /// Rapid rate of the X and Y axes, for the cycle time.
    #[serde(default = "default_rapid_xy")]
    pub rapid_xy_mm_per_min: f64,
    /// Rapid rate of the Z axis, for the cycle time.
    #[serde(default = "default_rapid_z")]
    pub rapid_z_mm_per_min: f64,
    /// Acceleration and braking of feed and rapid moves, for the cycle time.
    #[serde(default = "default_acceleration")]
    pub acceleration_mm_per_s2: f64,
    /// Corners that turn less than this keep the feed (the cycle time's corner model).
    #[serde(default = "default_corner_full_speed")]
    pub corner_full_speed_deg: f64,
    /// Corners that turn this much or more stop the machine (the cycle time's corner model).
    #[serde(default = "default_corner_stop")]
    pub corner_stop_deg: f64,
    /// Seconds of a tool change, spindle stop and start included.
    #[serde(default = "default_tool_change")]
    pub tool_change_s: f64,
    /// Blocks the control reads per second at most.
    #[serde(default = "default_block_rate")]
    pub block_rate_per_s: f64,
    /// Factor on the estimated cycle time: a shop's calibration against its clock.
    #[serde(default = "default_time_scale")]
    pub time_scale: f64,
}

// Cycle-time defaults: the independent model of ../shared/machine-time.md (unverified for any
// one machine: calibrate with `time-scale`).

fn default_rapid_xy() -> f64 {
    25_400.0
}

fn default_rapid_z() -> f64 {
    15_000.0
}

fn default_acceleration() -> f64 {
    2_000.0
}

fn default_corner_full_speed() -> f64 {
    5.0
}

fn default_corner_stop() -> f64 {
    30.0
}

fn default_tool_change() -> f64 {
    10.0
}

fn default_block_rate() -> f64 {
    1_000.0
}

fn default_time_scale() -> f64 {
    1.0
}

fn default_true() -> bool {
    true
}

fn default_max_tool_number() -> u32 {
    99
}

fn default_program_digits() -> usize {
    4
}

// Arc defaults: the most cautious of the values in the domain reference (§4.1, §4.2).

fn default_arc_tolerance() -> f64 {
    0.001
}

fn default_arc_max_sweep() -> f64 {
    180.0
}

fn default_arc_min_chord() -> f64 {
    0.25
}

fn default_arc_min_radius() -> f64 {
    0.01
}

fn default_arc_max_radius() -> f64 {
    1000.0
}

fn default_arc_radius_tolerance() -> f64 {
    0.002
}

/// A validated machine profile.
#[derive(Debug, Clone)]
pub struct Machine {
    id: String,
    file: MachineFile,
}

/// The placeholders a template line may use.
/// The lowest `clearance-z-mm` accepted: the height of every rapid across the die, where a
/// tool-length error of a fraction of a millimetre must not reach the face.
pub const MIN_CLEARANCE_MM: f64 = 1.0;

/// The lowest `approach-mm` accepted: how far above the cut a rapid down stops, where the
/// tools before may have left stock within the rest threshold and a tool-length error.
pub const MIN_APPROACH_MM: f64 = 0.1;

/// The smallest `max-program-bytes` accepted: room for a header, a tool change and some cutting.
pub const MIN_PROGRAM_BYTES: u64 = 32 * 1024;

const PLACEHOLDERS: &[&str] = &["{tool}", "{tool:02}", "{rpm}", "{clearance}"];

impl Machine {
    /// A built-in profile by name.
    #[must_use]
    pub fn built_in(name: &str) -> Option<Result<Self>> {
        BUILT_IN.iter().find(|(n, _)| *n == name).map(|(n, text)| Self::from_toml(n, text))
    }

    /// Parses and validates a profile.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for TOML syntax errors and unknown or missing keys (with line and
    /// column), [`Error::Setting`] for values out of range.
    pub fn from_toml(id: &str, text: &str) -> Result<Self> {
        let text = with_base(text)?;
        let file: MachineFile = toml::from_str(&text).map_err(|e| Error::toml(&text, &e))?;
        if file.units != "mm" {
            return bad("units", "only \"mm\" is supported");
        }
        if !(1..=6).contains(&file.decimals) {
            return bad("decimals", "must be 1 to 6");
        }
        if file.feed_decimals > 4 {
            return bad("feed-decimals", "must be 0 to 4");
        }
        if file.max_line_length < 20 {
            return bad("max-line-length", "must be at least 20");
        }
        for (key, value) in [
            ("max-rpm", file.max_rpm),
            ("max-feed-mm-per-min", file.max_feed_mm_per_min),
            ("clearance-z-mm", file.clearance_z_mm),
            ("approach-mm", file.approach_mm),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return bad(key, "must be a positive number");
            }
        }
        for (key, [min, max]) in
            [("travel-x-mm", file.travel_x_mm), ("travel-y-mm", file.travel_y_mm), ("travel-z-mm", file.travel_z_mm)]
        {
            if !(min.is_finite() && max.is_finite() && min < max) {
                return bad(key, "must be [min, max] with min < max");
            }
        }
        if !(1..=9).contains(&file.program_number_digits) {
            return bad("program-number-digits", "must be 1 to 9");
        }
        match file.max_program_bytes {
            Some(max) if max < MIN_PROGRAM_BYTES => {
                return bad("max-program-bytes", &format!("must be at least {MIN_PROGRAM_BYTES}"));
            }
            None if file.split_programs => return bad("split-programs", "needs max-program-bytes"),
            _ => {}
        }
        if let Some(n) = file.program_number {
            let max = 10u64.pow(file.program_number_digits as u32) - 1;
            if n == 0 || u64::from(n) > max {
                return bad("program-number", &format!("must be 1 to {max} (program-number-digits)"));
            }
        }
        if !(1..=9999).contains(&file.max_tool_number) {
            return bad("max-tool-number", "must be 1 to 9999");
        }
        check_arcs(&file)?;
        check_motion(&file)?;
        check_heights(&file)?;
        check_blocks(&file)?;
        Ok(Self { id: id.to_string(), file })
    }
}

impl Machine {
    /// The profile's name as the user gave it (built-in name or file stem).
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Everything in the file, checked: a `Machine` is only made by [`Machine::from_toml`],
    /// so its settings have passed every check.
    #[must_use]
    pub fn file(&self) -> &MachineFile {
        &self.file
    }

    /// Checks, before any toolpath is planned, that a die spanning `bounds` (`[min_x, min_y,
    /// max_x, max_y]` in mm, `None` when there is nothing to cut) fits the X/Y travel, and
    /// that its deepest cut, `deepest_mm` below the face, fits the Z travel.
    ///
    /// # Errors
    ///
    /// [`Error::Limit`] naming the axis.
    pub fn check_travel(&self, bounds: Option<[f64; 4]>, deepest_mm: f64) -> Result<()> {
        let file = &self.file;
        let Some([x0, y0, x1, y1]) = bounds else { return Ok(()) };
        for (name, lo, hi, [min, max]) in [("X", x0, x1, file.travel_x_mm), ("Y", y0, y1, file.travel_y_mm)] {
            if lo < min || hi > max {
                return Err(Error::Limit(format!(
                    "the die spans {name}{lo:.3} to {name}{hi:.3}, outside the machine's {name} travel [{min}, {max}]"
                )));
            }
        }
        if -deepest_mm < file.travel_z_mm[0] {
            return Err(Error::Limit(format!("a depth of {deepest_mm} mm is below the machine's Z travel")));
        }
        Ok(())
    }
}

/// The profile `text` with, where it `extends` a built-in profile, every key of the built-in
/// it does not give appended: the user's lines come first and unchanged, so that an error in
/// them is reported at their own line and column.
fn with_base(text: &str) -> Result<std::borrow::Cow<'_, str>> {
    let table: toml::Table = toml::from_str(text).map_err(|e| Error::toml(text, &e))?;
    let Some(base) = table.get("extends") else { return Ok(text.into()) };
    let names = || BUILT_IN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
    let Some(name) = base.as_str() else {
        return bad("extends", &format!("must be the name of a built-in profile ({})", names()));
    };
    let Some((_, base_text)) = BUILT_IN.iter().find(|(n, _)| *n == name) else {
        return bad("extends", &format!("`{}` is not a built-in profile ({})", name.escape_debug(), names()));
    };
    let base: toml::Table = toml::from_str(base_text).expect("a built-in profile is valid TOML");
    let mut merged = text.to_string();
    merged.push('\n');
    for (key, value) in base {
        if !table.contains_key(&key) {
            let one = toml::Table::from_iter([(key, value)]);
            merged += &toml::to_string(&one).expect("a TOML value serialises");
        }
    }
    Ok(merged.into())
}

/// A setting's error.
fn bad<T>(key: &str, reason: &str) -> Result<T> {
    Err(Error::Setting { key: key.into(), reason: reason.into() })
}

/// The cycle-time keys: each within its range.
fn check_motion(file: &MachineFile) -> Result<()> {
    for (key, value, min, max) in [
        ("rapid-xy-mm-per-min", file.rapid_xy_mm_per_min, 0.0, 1e6),
        ("rapid-z-mm-per-min", file.rapid_z_mm_per_min, 0.0, 1e6),
        ("acceleration-mm-per-s2", file.acceleration_mm_per_s2, 0.0, 1e6),
        ("corner-stop-deg", file.corner_stop_deg, file.corner_full_speed_deg, 180.0),
        ("block-rate-per-s", file.block_rate_per_s, 0.0, 1e6),
        ("time-scale", file.time_scale, 0.0, 100.0),
    ] {
        if !(value > min && value <= max) {
            return bad(key, &format!("must be above {min} and at most {max}"));
        }
    }
    if file.corner_full_speed_deg.is_nan() || file.corner_full_speed_deg < 0.0 {
        return bad("corner-full-speed-deg", "must be a number of at least 0");
    }
    if !(0.0..=3600.0).contains(&file.tool_change_s) {
        return bad("tool-change-s", "must be from 0 to 3600");
    }
    Ok(())
}

/// The arc keys: each within its range, and G17 selected where arcs are written.
fn check_arcs(file: &MachineFile) -> Result<()> {
    for (key, value, min, max) in [
        ("arc-tolerance-mm", file.arc_tolerance_mm, 0.0, 0.1),
        ("arc-max-sweep-deg", file.arc_max_sweep_deg, 0.0, 359.0),
        ("arc-min-radius-mm", file.arc_min_radius_mm, 0.0, f64::INFINITY),
        ("arc-radius-tolerance-mm", file.arc_radius_tolerance_mm, 0.0, 1.0),
    ] {
        if !(value > min && value <= max) {
            return bad(key, &format!("must be above {min} and at most {max}"));
        }
    }
    if !(file.arc_min_chord_mm >= 0.0 && file.arc_min_chord_mm.is_finite()) {
        return bad("arc-min-chord-mm", "must be a number of at least 0");
    }
    if !(file.arc_max_radius_mm > file.arc_min_radius_mm && file.arc_max_radius_mm.is_finite()) {
        return bad("arc-max-radius-mm", "must be a number above arc-min-radius-mm");
    }
    if file.arcs && !file.program_start.iter().any(|line| selects_g17(line)) {
        return bad("arcs", "arcs are in the XY plane: program-start must select it with G17");
    }
    Ok(())
}

/// The clearance and approach heights: high enough for rapids to be safe, within the Z travel.
fn check_heights(file: &MachineFile) -> Result<()> {
    if file.clearance_z_mm < MIN_CLEARANCE_MM {
        return bad(
            "clearance-z-mm",
            &format!("must be at least {MIN_CLEARANCE_MM} mm: rapids cross the die at this height"),
        );
    }
    if file.approach_mm < MIN_APPROACH_MM || file.approach_mm > file.clearance_z_mm {
        return bad(
            "approach-mm",
            &format!(
                "must be at least {MIN_APPROACH_MM} mm and at most clearance-z-mm: rapids stop this high above the cut"
            ),
        );
    }
    if file.clearance_z_mm > file.travel_z_mm[1] {
        return bad("clearance-z-mm", "is above the Z travel");
    }
    Ok(())
}

/// The profile's blocks: only the placeholders medalcam fills in, `{smoothing}` as a line of
/// `tool-change` exactly where both smoothing blocks are given, no tool change by `M6`
/// without a tool changer.
fn check_blocks(file: &MachineFile) -> Result<()> {
    let smoothing: Vec<(&str, &Option<String>)> =
        vec![("smoothing-rough", &file.smoothing_rough), ("smoothing-finish", &file.smoothing_finish)];
    let blocks: Vec<(&str, &[String])> = vec![
        ("program-start", &file.program_start),
        ("tool-change", &file.tool_change),
        ("tool-end", &file.tool_end),
        ("program-end", &file.program_end),
    ];
    let smoothing_lines =
        smoothing.iter().filter_map(|(key, block)| block.as_ref().map(|b| (*key, std::slice::from_ref(b))));
    for (key, lines) in blocks.into_iter().chain(smoothing_lines) {
        for line in lines {
            if key == "tool-change" && line.trim() == SMOOTHING {
                continue;
            }
            let mut rest = line.as_str();
            while let Some(open) = rest.find('{') {
                let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
                let placeholder = &rest[open..close];
                if !PLACEHOLDERS.contains(&placeholder) {
                    return bad(key, &format!("unknown placeholder `{placeholder}`"));
                }
                if placeholder != "{clearance}" && !["tool-change", "tool-end"].contains(&key) {
                    return bad(key, &format!("`{placeholder}` is a tool's: only tool-change and tool-end have one"));
                }
                rest = &rest[close..];
            }
            if let Err(why) = check_words(line, key != "program-end", file.tool_changer) {
                return bad(key, &format!("`{}`: {why}", line.escape_debug()));
            }
        }
    }
    let placeholder = file.tool_change.iter().any(|line| line.trim() == SMOOTHING);
    for (key, block) in smoothing {
        if placeholder && block.is_none() {
            return bad(key, "is missing: tool-change has a `{smoothing}` line");
        }
        if !placeholder && block.is_some() {
            return bad(key, "is never written: tool-change has no `{smoothing}` line");
        }
    }
    Ok(())
}

/// The line of `tool-change` that stands for the smoothing block of the tool's work.
pub const SMOOTHING: &str = "{smoothing}";

/// The modal group of a G or M word, as the strictest of the controls reads it (LinuxCNC
/// puts G80 among the motions, Fanuc in a group of its own with the canned cycles: here it
/// is both); `None` for a word of no group.
fn modal_group(letter: char, value: f64) -> Option<&'static str> {
    let v = (value * 10.0).round() as i64;
    let group = match (letter, v) {
        ('G', 0 | 10 | 20 | 30 | 730 | 760 | 800..=890) => "motion",
        ('G', 170 | 180 | 190) => "plane",
        ('G', 900 | 910) => "distance",
        ('G', 901 | 911) => "arc distance",
        ('G', 930 | 940 | 950) => "feed mode",
        ('G', 200 | 210) => "units",
        ('G', 400 | 410 | 420) => "cutter compensation",
        ('G', 430 | 431 | 440 | 490) => "tool length offset",
        ('G', 540..=593) => "work offset",
        ('G', 610 | 611 | 640) => "path control",
        ('G', 980 | 990) => "return mode",
        ('G', 40 | 100 | 280 | 300 | 530 | 920..=923) => "non-modal",
        ('G', 1870) => "smoothing (G187)",
        ('G', 51) => "smoothing (G05.1)",
        ('M', 0 | 10 | 20 | 300 | 600) => "stop",
        ('M', 60) => "tool change",
        ('M', 30 | 40 | 50) => "spindle",
        ('M', 90) => "coolant",
        _ => return None,
    };
    Some(group)
}

/// Whether a profile block is one block of G-code words: letters each followed by a number
/// (placeholders stand for numbers), comments in parentheses, nothing that would split it into
/// two blocks or end the program (`%`); and, where `mid_program`, no stop or end (M0, M1, M2,
/// M30, M60) before the cutting is done; no two words of one modal group; no `M6` without a
/// `tool_changer`.
fn check_words(line: &str, mid_program: bool, tool_changer: bool) -> std::result::Result<(), String> {
    let mut text = line.to_string();
    for placeholder in PLACEHOLDERS {
        text = text.replace(placeholder, "1");
    }
    if let Some(c) = text.chars().find(|c| c.is_control() || *c == '%' || *c == ';') {
        return Err(format!("{:?} does not belong in a block", c));
    }
    let mut words = String::new();
    let mut in_comment = false;
    for c in text.chars() {
        match (c, in_comment) {
            ('(', false) => in_comment = true,
            (')', true) => in_comment = false,
            ('(' | ')', _) => return Err("unbalanced parentheses".into()),
            (_, true) => {}
            (c, false) if !c.is_whitespace() => words.push(c.to_ascii_uppercase()),
            _ => {}
        }
    }
    if in_comment {
        return Err("a comment is not closed".into());
    }
    let mut chars = words.chars().peekable();
    let mut groups: Vec<(String, &str)> = Vec::new();
    while let Some(letter) = chars.next() {
        if !letter.is_ascii_alphabetic() {
            return Err(format!("`{letter}` is not a word's letter"));
        }
        let mut number = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit() || matches!(d, '.' | '-' | '+')) {
            number.push(d);
            chars.next();
        }
        let value: f64 = number.parse().map_err(|_| format!("`{letter}{number}` is not a word"))?;
        if mid_program && letter == 'M' && [0.0, 1.0, 2.0, 30.0, 60.0].contains(&value) {
            return Err(format!("M{number} stops or ends the program before the cutting is done"));
        }
        if !tool_changer && letter == 'M' && value == 6.0 {
            return Err("M6 changes tools, and the profile says `tool-changer = false`".into());
        }
        if let Some(group) = modal_group(letter, value) {
            if let Some((other, _)) = groups.iter().find(|(_, g)| *g == group) {
                return Err(format!("{other} and {letter}{number} are both of the {group} group: one per block"));
            }
            groups.push((format!("{letter}{number}"), group));
        }
    }
    Ok(())
}

/// Whether a block holds the word G17 (not G170, G17.1).
fn selects_g17(line: &str) -> bool {
    let line = line.to_ascii_uppercase();
    line.match_indices("G17").any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + 3..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphabetic()) && !after.is_some_and(|c| c.is_ascii_digit() || c == '.')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_load() {
        for (name, _) in BUILT_IN {
            Machine::built_in(name).unwrap().unwrap();
        }
        assert!(Machine::built_in("nope").is_none());
    }

    #[test]
    fn program_numbers_and_tool_numbers_are_bounded() {
        for (key, value) in [
            ("program-number-digits", "4000000000"),
            ("program-number-digits", "0"),
            ("max-tool-number", "0"),
            ("max-tool-number", "100000"),
            ("program-number", "0"),
            ("program-number", "100000"),
        ] {
            let text = format!("{}\n{key} = {value}\n", BUILT_IN[1].1.replace("max-tool-number = 999\n", ""));
            let err = Machine::from_toml("x", &text).unwrap_err().to_string();
            assert!(err.contains(key), "{key} = {value}: {err}");
        }
    }

    #[test]
    fn cycle_time_keys_are_bounded() {
        for (key, value) in [
            ("time-scale", "0"),
            ("time-scale", "nan"),
            ("acceleration-mm-per-s2", "-1"),
            ("rapid-xy-mm-per-min", "inf"),
            ("rapid-z-mm-per-min", "0"),
            ("corner-full-speed-deg", "-5"),
            ("corner-stop-deg", "2"),
            ("tool-change-s", "-1"),
            ("block-rate-per-s", "0"),
        ] {
            let text = format!("{}\n{key} = {value}\n", BUILT_IN[1].1);
            let err = Machine::from_toml("x", &text).unwrap_err().to_string();
            assert!(err.contains(key), "{key} = {value}: {err}");
        }
        let text = format!("{}\ntime-scale = 1.2\ntool-change-s = 0\n", BUILT_IN[1].1);
        assert_eq!(Machine::from_toml("x", &text).unwrap().file().time_scale, 1.2);
    }

    #[test]
    fn profile_blocks_are_one_block_of_words_each() {
        let with = |key: &str, block: &str| {
            let text = format!(
                "{}\n{key} = [{block:?}]\n",
                BUILT_IN[1].1.lines().filter(|l| !l.starts_with(key)).collect::<Vec<_>>().join("\n")
            );
            Machine::from_toml("x", &text)
        };
        for (key, block) in [
            ("program-start", "G21 G17 G90\nM30"),
            ("program-start", "G21 G17 G90 %"),
            ("tool-change", "T{tool} M6 M30"),
            ("tool-change", "T{tool} M6 (unclosed"),
            ("program-start", "G21 G17 G90 X"),
            ("program-start", "G21 G17 G90 ; M30"),
            ("program-end", "M5 !"),
            ("program-start", "G21 S{rpm}"),
            ("program-end", "T{tool}"),
        ] {
            let err = with(key, block).unwrap_err().to_string();
            assert!(err.contains(key), "{block:?}: {err}");
        }
        for (key, block, group) in [
            ("program-start", "G00 G17 G21 G80 G90", "motion"),
            ("program-start", "G21 G17 G90 G91", "distance"),
            ("tool-change", "T{tool} M6 M3 M5", "spindle"),
            ("program-end", "M5 M2 M30", "stop"),
        ] {
            let err = with(key, block).unwrap_err().to_string();
            assert!(err.contains(key) && err.contains(group), "{block:?}: {err}");
        }
        assert!(with("program-start", "G21 G17 G90 (METRIC, XY)").is_ok());
        assert!(with("program-end", "M5 M30").is_ok());
        assert!(with("program-end", "G0 Z{clearance} M30").is_ok());
    }

    #[test]
    fn a_profile_extends_a_built_in() {
        let m = Machine::from_toml("mine", "extends = \"fanuc\"\nmax-rpm = 12000.0\n").unwrap();
        let fanuc = Machine::built_in("fanuc").unwrap().unwrap();
        assert_eq!(m.file().max_rpm, 12000.0);
        assert_eq!(m.file().tool_change, fanuc.file().tool_change);
        assert_eq!(m.file().smoothing_finish, fanuc.file().smoothing_finish);
        // An error in the user's lines is at their line, whatever the base appends.
        let err = Machine::from_toml("mine", "extends = \"fanuc\"\n\ndecimals = 9\nmax-rmp = 1\n").unwrap_err();
        assert!(err.to_string().contains("line 4, column 1") && err.to_string().contains("max-rmp"), "{err}");
        let err = Machine::from_toml("mine", "extends = \"fanuc\"\ndecimals = 9\n").unwrap_err();
        assert!(err.to_string().contains("decimals"), "{err}");
        for base in ["\"fanu\"", "3", "\"../x.toml\""] {
            let err = Machine::from_toml("mine", &format!("extends = {base}\n")).unwrap_err().to_string();
            assert!(err.contains("extends") && err.contains("haas, linuxcnc"), "{base}: {err}");
        }
        for (name, text) in BUILT_IN {
            assert!(!text.contains("extends"), "{name}: a built-in stands alone");
        }
    }

    #[test]
    fn smoothing_blocks_go_with_their_placeholder_and_no_m6_without_a_changer() {
        let (_, haas) = BUILT_IN[0];
        let without = haas.replace("smoothing-finish = \"G187 P3 E0.005\"\n", "");
        assert!(Machine::from_toml("x", &without).unwrap_err().to_string().contains("smoothing-finish"));
        let unused = haas.replace("    \"{smoothing}\",\n", "");
        assert!(Machine::from_toml("x", &unused).unwrap_err().to_string().contains("never written"));
        let err = Machine::from_toml("x", &format!("{haas}\ntool-changer = false\n")).unwrap_err().to_string();
        assert!(err.contains("tool-change") && err.contains("M6"), "{err}");
        let bad_block = haas.replace("\"G187 P1 E0.05\"", "\"G187 P1 M30\"");
        assert!(Machine::from_toml("x", &bad_block).unwrap_err().to_string().contains("smoothing-rough"));
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let text = BUILT_IN[0].1.replace("max-rpm", "max-rmp");
        let err = Machine::from_toml("x", &text).unwrap_err().to_string();
        assert!(err.contains("max-rmp") && err.contains("line"), "{err}");
    }

    #[test]
    fn arcs_need_g17_and_sane_limits() {
        let text = BUILT_IN[1].1.replace("G17 ", "");
        let err = Machine::from_toml("x", &text).unwrap_err().to_string();
        assert!(err.contains("G17"), "{err}");
        Machine::from_toml("x", &text.replace("arcs = true", "arcs = false")).unwrap();
        for (from, to) in [
            ("arc-max-sweep-deg = 180.0", "arc-max-sweep-deg = 360.0"),
            ("arc-tolerance-mm = 0.001", "arc-tolerance-mm = 0.0"),
            ("arc-max-radius-mm = 1000.0", "arc-max-radius-mm = 0.001"),
            ("arc-min-chord-mm = 0.01", "arc-min-chord-mm = -1.0"),
        ] {
            let text = BUILT_IN[1].1.replace(from, to);
            assert_ne!(text, BUILT_IN[1].1, "{from}");
            let err = Machine::from_toml("x", &text).unwrap_err().to_string();
            assert!(err.contains(from.split(' ').next().unwrap()), "{err}");
        }
        assert!(selects_g17("G0 G17 G90") && selects_g17("g17") && selects_g17("G90G17"));
        assert!(!selects_g17("G170") && !selects_g17("G17.1") && !selects_g17("G90 (NO G) G1"));
    }

    #[test]
    fn heights_that_make_rapids_unsafe_are_refused() {
        for (from, to, key) in [
            ("clearance-z-mm = 5.0", "clearance-z-mm = 0.0001", "clearance-z-mm"),
            ("clearance-z-mm = 5.0", "clearance-z-mm = 0.9", "clearance-z-mm"),
            ("approach-mm = 0.1\n", "approach-mm = 0.0001\n", "approach-mm"),
            ("approach-mm = 0.1\n", "approach-mm = 6.0\n", "approach-mm"),
        ] {
            for (_, text) in BUILT_IN {
                assert!(text.contains(from), "{from}");
                let text = text.replace(from, to);
                let err = Machine::from_toml("x", &text).unwrap_err().to_string();
                assert!(err.contains(key), "{to}: {err}");
            }
        }
        let text = BUILT_IN[0].1.replace("approach-mm = 0.1\n", "approach-mm = 0.5\n");
        assert_eq!(Machine::from_toml("x", &text).unwrap().file().approach_mm, 0.5);
    }

    #[test]
    fn unknown_placeholder_is_rejected() {
        let text = BUILT_IN[1].1.replace("{rpm}", "{speed}");
        let err = Machine::from_toml("x", &text).unwrap_err().to_string();
        assert!(err.contains("{speed}"), "{err}");
    }
}
