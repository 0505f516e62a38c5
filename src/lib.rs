//! medalcam turns SVG artwork into G-code that cuts a medal or coin die.
//!
//! ```text
//! art.svg ─artwork::import→ Artwork ─relief::build→ Relief ─toolpath::plan→ Toolpaths ─gcode::emit→ program
//!                                                        program ─simulation::guard→ no rapid or plunge into stock
//!                                                                          program ─simulation::simulate→ Heightmap
//! ```
//!
//! Units and axes: millimetres everywhere inside the crate; X right, Y up; the die centre is
//! X0 Y0 and the die face is Z0, negative into the material.
//!
//! # Glossary
//!
//! One word, one meaning, in the code and in what the user reads:
//!
//! - **region** (`relief`): the part of the die cut to exactly one depth.
//! - **level** (`relief`): everything cut to at least one depth; levels nest.
//! - **unit** (`toolpath`): one connected piece of one level, with the walls around it: what
//!   the planner plans on its own.
//! - **section**: the drafted cavity at a level's floor; a tool's **domain** is where its centre
//!   may go there, eroded from the section.
//! - **ring**: one concentric offset of a domain (a shape of one or more **contours**); a
//!   **pocket** is the rings of one unit for one tool; a **pass** cuts them all at one depth.
//! - **entry**: how a tool reaches a ring from above (ramp or helix, never a plunge); a **link**
//!   joins two rings without retracting.
//! - **blocked**: a ring a tool finds no way into (too small to ramp into, or under stock
//!   a tool missed on the level above); the warning calls it a **pocket centre**, left to the
//!   next tool or **uncut**. The floor only blocked rings would have cut is **missed**.
//! - **rest**: what the tools before left thicker than the rest threshold; a tool's **reach**
//!   is the floor it cuts within the tolerance.
//! - **tolerance budget** (`tolerance`): the job tolerance, shared among the stages.
//! - **guard** (`simulation`): the check of the written program against the stock.
//!
//! ```
//! let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" width="10mm" height="10mm"
//!                     viewBox="0 0 10 10"><circle cx="5" cy="5" r="3"/></svg>"##;
//! let machine = medalcam::machine::Machine::built_in("linuxcnc").unwrap().unwrap();
//! let job = medalcam::job::Job::resolve(&Default::default(), &Default::default(), machine).unwrap();
//! let engraving = medalcam::engrave(svg, "circle.svg", &job, &medalcam::Progress::hidden()).unwrap();
//! assert!(engraving.program.contains("G1"));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod artwork;
pub mod error;
pub mod fonts;
pub mod gcode;
pub mod geom;
pub mod job;
pub mod machine;
pub mod preview;
mod progress;
pub mod relief;
pub mod report;
pub mod sheet;
pub mod simulation;
pub mod tolerance;
pub mod tool;
pub mod toolpath;

pub use error::{Error, Result};
pub use progress::Progress;

/// The result of one engraving.
#[derive(Debug, Clone)]
pub struct Engraving {
    /// The die's depth levels.
    pub relief: relief::Relief,
    /// The toolpaths the program was written from.
    pub toolpaths: toolpath::Toolpaths,
    /// The G-code program: every file of it, one after the other.
    pub program: String,
    /// The files of the program: one, or where the machine has no tool changer, one per tool.
    pub files: Vec<ProgramFile>,
    /// How long the program runs on the job's machine, tool by tool (an estimate).
    pub cycle_time: simulation::CycleTime,
    /// Everything that was skipped or left uncut, in pipeline order.
    pub warnings: Vec<Warning>,
}

/// One file of a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramFile {
    /// The tool of a file that holds one tool's work; `None` for the whole program.
    pub tool: Option<u32>,
    /// Where a program (or a tool's) is split for the control's memory: which file of it,
    /// from 1.
    pub piece: Option<usize>,
    /// Where the file's text lies in [`Engraving::program`].
    pub bytes: std::ops::Range<usize>,
}

impl ProgramFile {
    /// What the file's name adds to the output's, before its extension: `T2` (the file of
    /// T2), `3` (the third file of a split program), `T2.3`; `None` for the whole program.
    #[must_use]
    pub fn suffix(&self) -> Option<String> {
        let parts: Vec<String> =
            self.tool.map(|n| format!("T{n}")).into_iter().chain(self.piece.map(|k| k.to_string())).collect();
        (!parts.is_empty()).then(|| parts.join("."))
    }
}

impl Engraving {
    /// The program's files, in the order they run, each with its text.
    #[must_use]
    pub fn files(&self) -> Vec<(&ProgramFile, &str)> {
        self.files.iter().map(|f| (f, &self.program[f.bytes.clone()])).collect()
    }

    /// What the machine runs: the files in order, each file of one tool after that tool is
    /// loaded ([`tool_loaded`]); what the guard and the cycle time read.
    #[must_use]
    pub fn run(&self) -> String {
        self.files().into_iter().map(|(file, text)| tool_loaded(file.tool) + text).collect()
    }
}

/// Runs the whole pipeline on SVG bytes; `title` (usually the file name) goes into the
/// program header.
///
/// # Errors
///
/// Any stage's [`Error`]; no program is produced then.
pub fn engrave(svg: &[u8], title: &str, job: &job::Job, progress: &Progress) -> Result<Engraving> {
    let artwork = artwork::import(svg, &job.import)?;
    let relief = relief::build(&artwork, &job.relief)?;
    job.machine.check_travel(relief.bounds(), relief.deepest_mm())?;
    toolpath::check_size(&relief, &job.toolpath)?;
    // Independent, and each has parts that leave a core idle: side by side.
    let (design, toolpaths) = rayon::join(
        || relief::check_design(&relief, job.toolpath.smallest_tool_mm(), job.min_wall_mm),
        || toolpath::plan(&relief, &job.toolpath, progress),
    );
    let (design, toolpaths) = (design?, toolpaths?);
    let info = gcode::ProgramInfo {
        name: job.name.clone().unwrap_or_else(|| title.to_string()),
        source: title.to_string(),
        target: relief.target,
        material: job.material.name.to_string(),
    };
    let parts = gcode::emit(&toolpaths, &job.machine, &info)?;
    // What the machine runs: the files in order, each tool loaded before its own file.
    let run: std::borrow::Cow<'_, str> = match parts.as_slice() {
        [only] if only.tool.is_none() => only.text.as_str().into(),
        _ => parts.iter().map(loaded).collect::<String>().into(),
    };
    let cycle_time = simulation::cycle_time(&run, job.machine.file())?;
    let collisions = simulation::guard(&run, &toolpaths.tools(), job.toolpath.tolerance_mm)?;
    drop(run);
    let (program, files) = with_cycle_times(parts, &cycle_time, &job.machine)?;
    if let Some(first) = collisions.first() {
        let more = match collisions.len() {
            1 => String::new(),
            n => format!(" ({} more such moves)", n - 1),
        };
        return Err(Error::Unsafe(format!("{first}{more}")));
    }
    let mut warnings = design_warnings(job, artwork.warnings, &relief, design);
    warnings.extend(toolpaths.warnings.iter().cloned());
    Ok(Engraving { relief, toolpaths, program, files, cycle_time, warnings })
}

/// A program file as the machine runs it: where the file holds one tool's work, after that
/// tool is loaded (by hand: here `M6`).
fn loaded(part: &gcode::Part) -> String {
    tool_loaded(part.tool) + &part.text
}

/// What the machine is told before a file of one tool's work (`tool`) runs: the tool change
/// the operator makes by hand, as `T<n> M6`; nothing before the whole program.
#[must_use]
pub fn tool_loaded(tool: Option<u32>) -> String {
    tool.map_or_else(String::new, |n| format!("T{n} M6\n"))
}

/// The files of `parts` one after the other, each with its estimated times in its header
/// (`time`, the whole program's, where there is one file), and where each lies; refused
/// where a file is larger than the control holds.
fn with_cycle_times(
    parts: Vec<gcode::Part>,
    time: &simulation::CycleTime,
    machine: &machine::Machine,
) -> Result<(String, Vec<ProgramFile>)> {
    let (mut program, mut files) = (String::new(), Vec::new());
    let single = parts.len() == 1;
    for part in parts {
        let own;
        let time = if single {
            time
        } else {
            own = simulation::cycle_time(&loaded(&part), machine.file())?;
            &own
        };
        let tools: Vec<(u32, f64)> = time.tools.iter().map(|t| (t.tool, t.cycle_time_s)).collect();
        let text = gcode::with_cycle_times(&part.text, &tools, time.program.cycle_time_s, machine);
        let file = ProgramFile { tool: part.tool, piece: part.piece, bytes: 0..0 };
        if let Some(max) = machine.file().max_program_bytes {
            if text.len() as u64 > max {
                let which = file.suffix().map_or_else(|| "the program".to_string(), |s| format!("file {s}"));
                let split = if machine.file().split_programs { "" } else { " (split-programs = true splits it)" };
                return Err(Error::Limit(format!(
                    "{which} is {} bytes, more than the control's max-program-bytes {max}{split}",
                    text.len()
                )));
            }
        }
        let start = program.len();
        program.push_str(&text);
        files.push(ProgramFile { bytes: start..program.len(), ..file });
    }
    Ok((program, files))
}

/// The die's levels and what the import and the design check found: what `medalcam relief`
/// shows before anything is planned.
#[derive(Debug, Clone)]
pub struct Design {
    /// The die's depth levels.
    pub relief: relief::Relief,
    /// What the job warns of, what the import skipped or approximated and what the design
    /// check found, in that order.
    pub warnings: Vec<Warning>,
}

/// Reads the artwork and flattens it into the die's levels, and checks them for the job's
/// smallest tool and thinnest wall.
///
/// # Errors
///
/// The artwork's or the relief's [`Error`].
pub fn design(svg: &[u8], job: &job::Job) -> Result<Design> {
    let artwork = artwork::import(svg, &job.import)?;
    let relief = relief::build(&artwork, &job.relief)?;
    let design = relief::check_design(&relief, job.toolpath.smallest_tool_mm(), job.min_wall_mm)?;
    let warnings = design_warnings(job, artwork.warnings, &relief, design);
    Ok(Design { relief, warnings })
}

/// The warnings of the stages before planning, in order: the job's, the import's, the shades
/// luminance merged and the design check's findings.
fn design_warnings(
    job: &job::Job,
    imported: Vec<Warning>,
    relief: &relief::Relief,
    design: Vec<relief::Finding>,
) -> Vec<Warning> {
    let merged = relief::shades_merged(&relief.shades, job.relief.level_step_mm);
    let flattened = relief.warnings.iter().cloned();
    job.warnings()
        .into_iter()
        .chain(imported)
        .chain(flattened)
        .chain(merged)
        .chain(design.into_iter().map(Warning::from))
        .collect()
}

/// Something the pipeline could not take or could not cut, with the SVG element it concerns.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    /// What kind of thing it reports: a stable word that scripts can filter on.
    pub kind: WarningKind,
    /// The element id (empty when the element has none or the warning is about a region).
    pub element: String,
    /// What happened.
    pub message: String,
}

/// What a [`Warning`] reports; in JSON, the names below in kebab case (`thin-wall`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WarningKind {
    /// Part of the SVG the import cannot take and skipped: raster images, filters, shapes over
    /// 10 m, text without glyph outlines.
    Unsupported,
    /// Part of the SVG taken only approximately: a gradient's first stop, a pattern as black,
    /// a mask as a clip, a dash pattern stroked solid.
    Approximated,
    /// A font family that is not available: the bundled DejaVu Sans draws the text.
    FontFallback,
    /// Part of a level narrower than the smallest tool: it stays uncut.
    Narrow,
    /// A wall of stock between pockets thinner than `min-wall-mm`.
    ThinWall,
    /// Pocket centres a tool found no way into: left to the tools after it, or uncut.
    Uncut,
    /// A setting that spends more of `tolerance-mm` than its share.
    Tolerance,
}

impl Warning {
    /// A warning of `kind` about `element`.
    #[must_use]
    pub fn new(kind: WarningKind, element: &str, message: &str) -> Self {
        Self { kind, element: element.to_string(), message: message.to_string() }
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.element.is_empty() {
            write!(f, "{}", one_line(&self.message))
        } else {
            write!(f, "element `{}`: {}", one_line(&self.element), one_line(&self.message))
        }
    }
}

/// `text` (which may come from the SVG, the job or a profile) as it may stand in a one-line
/// message: every control character escaped (`\n`, `\u{1b}`), so that no text from a file can
/// forge a second line or drive the terminal.
#[must_use]
pub fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars().map(|c| if c.is_control() { c.escape_debug().to_string() } else { c.to_string() }).collect(),
    )
}
