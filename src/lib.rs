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
    /// The G-code program.
    pub program: String,
    /// How long the program runs on the job's machine, tool by tool (an estimate).
    pub cycle_time: simulation::CycleTime,
    /// Everything that was skipped or left uncut, in pipeline order.
    pub warnings: Vec<Warning>,
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
    let info = gcode::ProgramInfo { title: title.to_string(), target: relief.target };
    let program = gcode::emit(&toolpaths, &job.machine, &info)?;
    let cycle_time = simulation::cycle_time(&program, job.machine.file())?;
    let tool_times: Vec<(u32, f64)> = cycle_time.tools.iter().map(|t| (t.tool, t.cycle_time_s)).collect();
    let program = gcode::with_cycle_times(&program, &tool_times, cycle_time.program.cycle_time_s, &job.machine);
    let collisions = simulation::guard(&program, &toolpaths.tools(), job.toolpath.tolerance_mm)?;
    if let Some(first) = collisions.first() {
        let more = match collisions.len() {
            1 => String::new(),
            n => format!(" ({} more such moves)", n - 1),
        };
        return Err(Error::Unsafe(format!("{first}{more}")));
    }
    let mut warnings = design_warnings(job, artwork.warnings, &relief, design);
    warnings.extend(toolpaths.warnings.iter().cloned());
    Ok(Engraving { relief, toolpaths, program, cycle_time, warnings })
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
    job.warnings().into_iter().chain(imported).chain(merged).chain(design.into_iter().map(Warning::from)).collect()
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
