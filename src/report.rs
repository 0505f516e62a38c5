//! The JSON report written by `--report`. Its keys are a promise to users' scripts: extend
//! them, never rename them.

use serde::Serialize;

use crate::relief::Relief;
use crate::{geom, Engraving};

/// What `medalcam relief --json` prints: the die's levels before anything is planned. Its
/// keys, like the report's, are a promise.
#[derive(Debug, Serialize)]
pub struct ReliefReport {
    /// `"die"` or `"hub"`.
    pub target: &'static str,
    /// Whether the artwork is mirrored.
    pub mirrored: bool,
    /// The levels, as in the report.
    pub levels: Vec<ReportLevel>,
    /// The regions, as in the report.
    pub regions: Vec<ReportRegion>,
    /// The engraved lines, as in the report.
    pub grooves: Vec<ReportGroove>,
    /// The colours whose depth luminance set, as in the report.
    pub shades: Vec<crate::relief::Shade>,
    /// The warnings, as in the report.
    pub warnings: Vec<crate::Warning>,
}

impl ReliefReport {
    /// The report of a design.
    #[must_use]
    pub fn new(design: &crate::Design) -> Self {
        let relief = &design.relief;
        Self {
            target: relief.target.name(),
            mirrored: relief.target.mirrored(),
            levels: levels(relief),
            regions: regions(relief),
            grooves: grooves(relief),
            shades: relief.shades.clone(),
            warnings: design.warnings.clone(),
        }
    }
}

/// The report of one engraving.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The input file as given.
    pub input: String,
    /// The machine profile (built-in name or path as given).
    pub machine: String,
    /// The stock material whose cutting data the tools took (where the job gave none).
    pub material: &'static str,
    /// `"die"` or `"hub"`.
    pub target: &'static str,
    /// Whether X is mirrored (true for a die).
    pub mirrored: bool,
    /// `[a, b, c, d, e, f]` mapping viewBox units to machine mm: X = a*x + c*y + e,
    /// Y = b*x + d*y + f.
    pub placement: [f64; 6],
    /// The tools used.
    pub tools: Vec<ReportTool>,
    /// The depth levels: each the area cut to at least its depth.
    pub levels: Vec<ReportLevel>,
    /// The disjoint regions, one per depth, with what gave them their depth.
    pub regions: Vec<ReportRegion>,
    /// The lines engraved along their centres (layers of strategy `engrave`), in paint order.
    pub grooves: Vec<ReportGroove>,
    /// The colours whose depth luminance set, each with its depth (`color`, `depth_mm`).
    pub shades: Vec<crate::relief::Shade>,
    /// The program's size.
    pub program: ReportProgram,
    /// Everything skipped or left uncut.
    pub warnings: Vec<crate::Warning>,
}

/// One tool.
#[derive(Debug, Serialize)]
pub struct ReportTool {
    /// `T` number.
    pub number: u32,
    /// `"flat"`, `"ball"`, `"bull"`, `"vee"` or `"tapered-ball"`.
    pub kind: &'static str,
    /// Cutting diameter.
    pub diameter_mm: f64,
    /// Vee: flat tip diameter; tapered ball: ball diameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tip_diameter_mm: Option<f64>,
    /// Vee, tapered ball: included angle of the cone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub included_angle_deg: Option<f64>,
    /// Bull: corner radius; ball: half the diameter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corner_radius_mm: Option<f64>,
    /// Spindle speed.
    pub spindle_rpm: f64,
    /// Cutting feed.
    pub feed_mm_per_min: f64,
    /// What the machine's limits clamped of its cutting data: the key, the value kept and
    /// what asked for more, one note each.
    pub limits: Vec<String>,
    /// Estimated seconds of this tool's part of the program, its tool changes included
    /// ([`crate::simulation::cycle_time`]).
    pub cycle_time_s: f64,
    /// Length of its feed moves.
    pub cutting_mm: f64,
    /// Length of its rapid moves.
    pub rapid_mm: f64,
    /// Its rapid moves up, away from the work.
    pub retracts: usize,
}

/// One depth level.
#[derive(Debug, Serialize)]
pub struct ReportLevel {
    /// Depth below the die face.
    pub depth_mm: f64,
    /// Area cut to at least this depth.
    pub area_mm2: f64,
    /// Area of the level's floor the tools reach (engrave only, with
    /// [`crate::toolpath::ToolpathOptions::measure_reach`], which `--report` sets): the rest of
    /// the floor is where no tool of the job fits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reached_mm2: Option<f64>,
}

/// One region.
#[derive(Debug, Serialize)]
pub struct ReportRegion {
    /// Depth below the die face.
    pub depth_mm: f64,
    /// Area cut to exactly this depth.
    pub area_mm2: f64,
    /// The rules or defaults that gave it this depth (`fill #d4af37`, `luminance`).
    pub sources: Vec<String>,
    /// How it is cut: `pocket` or `vcarve` (a fill in an `engrave` layer is V-carved).
    pub strategy: crate::relief::Strategy,
}

/// One engraved stroke or hairline.
#[derive(Debug, Serialize)]
pub struct ReportGroove {
    /// Depth below the die face.
    pub depth_mm: f64,
    /// Width at the die face.
    pub width_mm: f64,
    /// The length of its lines.
    pub length_mm: f64,
    /// The rule that engraved it (`fill none`, `class line`).
    pub source: String,
}

/// Program size.
#[derive(Debug, Serialize)]
pub struct ReportProgram {
    /// Bytes.
    pub bytes: usize,
    /// Lines.
    pub lines: usize,
    /// The CRC-32 (IEEE, as zlib and gzip compute it) of the program's bytes, as 8 lower-case
    /// hex digits: which program this report describes, should a run be killed between
    /// writing the two.
    pub crc32: String,
    /// Estimated seconds the whole program runs.
    pub cycle_time_s: f64,
    /// Length of all feed moves.
    pub cutting_mm: f64,
    /// Length of all rapid moves.
    pub rapid_mm: f64,
    /// Rapid moves up, away from the work.
    pub retracts: usize,
    /// The program's files: one, or where the machine has no tool changer, one per tool
    /// (`OUT.T1.nc`, ...), in the order they run.
    pub files: Vec<ReportFile>,
}

/// One file of the program.
#[derive(Debug, Serialize)]
pub struct ReportFile {
    /// The tool whose work the file holds; `null` for the whole program.
    pub tool: Option<u32>,
    /// Which file of a program split for the control's memory (`max-program-bytes`), from 1;
    /// `null` where it is not split.
    pub piece: Option<usize>,
    /// Bytes.
    pub bytes: usize,
    /// CRC-32 of the file's bytes, as `crc32` of the program.
    pub crc32: String,
}

/// The levels of a relief, for reports.
#[must_use]
pub fn levels(relief: &Relief) -> Vec<ReportLevel> {
    relief
        .levels
        .iter()
        .map(|l| ReportLevel { depth_mm: l.depth_mm, area_mm2: geom::shapes_area(&l.area), reached_mm2: None })
        .collect()
}

/// The grooves of a relief, for reports.
#[must_use]
pub fn grooves(relief: &Relief) -> Vec<ReportGroove> {
    relief
        .grooves
        .iter()
        .map(|g| ReportGroove {
            depth_mm: g.depth_mm,
            width_mm: g.width_mm,
            length_mm: g.paths.iter().map(geom::Polyline::length_mm).sum(),
            source: g.source.clone(),
        })
        .collect()
}

/// The regions of a relief, for reports.
#[must_use]
pub fn regions(relief: &Relief) -> Vec<ReportRegion> {
    relief
        .regions
        .iter()
        .map(|r| ReportRegion {
            depth_mm: r.depth_mm,
            area_mm2: geom::shapes_area(&r.area),
            sources: r.sources.clone(),
            strategy: r.strategy,
        })
        .collect()
}

impl Report {
    /// Builds the report of an engraving.
    #[must_use]
    pub fn new(input: &str, machine: &str, material: &'static str, engraving: &Engraving) -> Self {
        let mut tools: Vec<ReportTool> = Vec::new();
        for op in &engraving.toolpaths.operations {
            if tools.iter().all(|t| t.number != op.tool.number) {
                tools.push(ReportTool {
                    number: op.tool.number,
                    kind: op.tool.kind.name(),
                    diameter_mm: op.tool.diameter_mm,
                    tip_diameter_mm: op.tool.kind.is_tapered().then_some(op.tool.tip_diameter_mm),
                    included_angle_deg: op.tool.kind.is_tapered().then_some(op.tool.included_angle_deg),
                    corner_radius_mm: (op.tool.corner_radius_mm > 0.0).then_some(op.tool.corner_radius_mm),
                    spindle_rpm: op.tool.spindle_rpm,
                    feed_mm_per_min: op.tool.feed_mm_per_min,
                    limits: op.tool.limits.clone(),
                    cycle_time_s: 0.0,
                    cutting_mm: 0.0,
                    rapid_mm: 0.0,
                    retracts: 0,
                });
            }
        }
        for time in &engraving.cycle_time.tools {
            if let Some(tool) = tools.iter_mut().find(|t| t.number == time.tool) {
                tool.cycle_time_s += time.cycle_time_s;
                tool.cutting_mm += time.cutting_mm;
                tool.rapid_mm += time.rapid_mm;
                tool.retracts += time.retracts;
            }
        }
        let total = &engraving.cycle_time.program;
        Self {
            input: input.to_string(),
            machine: machine.to_string(),
            material,
            target: engraving.relief.target.name(),
            mirrored: engraving.relief.target.mirrored(),
            placement: engraving.relief.placement.as_coeffs(),
            tools,
            levels: levels(&engraving.relief)
                .into_iter()
                .enumerate()
                .map(|(k, level)| ReportLevel {
                    reached_mm2: engraving.toolpaths.reached.get(k).map(|reached| geom::shapes_area(reached)),
                    ..level
                })
                .collect(),
            regions: regions(&engraving.relief),
            grooves: grooves(&engraving.relief),
            shades: engraving.relief.shades.clone(),
            program: ReportProgram {
                bytes: engraving.program.len(),
                lines: engraving.program.lines().count(),
                crc32: format!("{:08x}", crc32fast::hash(engraving.program.as_bytes())),
                cycle_time_s: total.cycle_time_s,
                cutting_mm: total.cutting_mm,
                rapid_mm: total.rapid_mm,
                retracts: total.retracts,
                files: engraving
                    .files()
                    .into_iter()
                    .map(|(file, text)| ReportFile {
                        tool: file.tool,
                        piece: file.piece,
                        bytes: text.len(),
                        crc32: format!("{:08x}", crc32fast::hash(text.as_bytes())),
                    })
                    .collect(),
            },
            warnings: engraving.warnings.clone(),
        }
    }
}
