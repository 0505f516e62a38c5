//! Proof before metal: `medalcam simulate` (the die a program cuts, its pictures and its
//! checks) and `medalcam diff` (whether two programs cut the same die).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use medalcam::job::Job;
use medalcam::simulation::picture::{self, Finish};
use medalcam::simulation::{self, ReliefCheck};
use medalcam::tool::Tool;
use serde::Serialize;

use crate::cli::{load_machine, read_limited, write_all_or_nothing, JobArgs};

/// The largest program read, in bytes.
const MAX_PROGRAM_BYTES: u64 = 1 << 30;

/// The finest cell `--resolution` accepts, in mm.
const MIN_RESOLUTION_MM: f64 = 0.001;

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The program (G-code) medalcam wrote; several files of one program (one per tool, or
    /// split for the control's memory) in the order they run.
    #[arg(required = true)]
    programs: Vec<PathBuf>,
    /// Built-in machine profile or the path of a profile TOML: the program's dialect.
    #[arg(long, value_name = "NAME|PATH")]
    machine: String,
    #[command(flatten)]
    job: JobArgs,
    /// The artwork the program was made for: the die is checked against the depths it asks.
    #[arg(long, value_name = "ART.svg")]
    art: Option<PathBuf>,
    /// Cell size of the simulation, in mm.
    #[arg(long, value_name = "MM", default_value_t = 0.01)]
    resolution: f64,
    /// Write die.png, medal.png and (with --art) check.png into this folder.
    #[arg(long, value_name = "DIR")]
    png: Option<PathBuf>,
    /// The metal of medal.png.
    #[arg(long, value_name = "METAL", default_value = "gold", value_parser = ["gold", "silver", "bronze", "antique"])]
    finish: String,
    /// Lay the artwork's colours (with --art) into medal.png as soft enamel.
    #[arg(long, requires = "art")]
    enamel: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Exit 1 when a rapid cuts, a tool feeds straight down into stock or (with --art) the
    /// die is cut deeper than asked by more than the tolerance.
    #[arg(long)]
    check: bool,
    /// Nothing on stderr but errors.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The program as it was (a golden file).
    old: PathBuf,
    /// The program as it is.
    new: PathBuf,
    /// Built-in machine profile or the path of a profile TOML: the programs' dialect.
    #[arg(long, value_name = "NAME|PATH")]
    machine: String,
    #[command(flatten)]
    job: JobArgs,
    /// The largest depth difference that still counts as the same die, in mm; a difference
    /// that a shift of one cell sideways explains is none.
    #[arg(long, value_name = "MM", default_value_t = 0.005)]
    tolerance: f64,
    /// Cell size of the simulation, in mm.
    #[arg(long, value_name = "MM", default_value_t = 0.01)]
    resolution: f64,
    /// Write a picture of where the dies differ: red where the new one is deeper, blue where
    /// it is shallower.
    #[arg(long, value_name = "DIFF.png")]
    png: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Nothing on stdout; the exit code says it.
    #[arg(short, long)]
    quiet: bool,
}

/// What `simulate` found.
#[derive(Debug, Serialize)]
struct SimulateReport {
    programs: Vec<String>,
    machine: String,
    resolution_mm: f64,
    /// `[min_x, min_y, max_x, max_y]` of the grid, mm.
    bounds_mm: [f64; 4],
    removed_mm3: f64,
    lowest_z_mm: f64,
    rapid_cuts: usize,
    plunge_cuts: usize,
    cycle_time_s: f64,
    tools: Vec<ToolTime>,
    /// Against the artwork's relief, with `--art`.
    check: Option<ReliefCheck>,
    /// Whether `--check` passes.
    pass: bool,
}

#[derive(Debug, Serialize)]
struct ToolTime {
    tool: u32,
    cycle_time_s: f64,
}

/// The programs' text, each file of one tool alone (`FILE k OF n: Tn ONLY`) with that tool
/// loaded first, as the operator does.
fn read_programs(paths: &[PathBuf]) -> anyhow::Result<String> {
    let mut text = String::new();
    for path in paths {
        let bytes = read_limited(path, MAX_PROGRAM_BYTES, "a program")?;
        let program = String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", path.display()))?;
        text.push_str(&medalcam::tool_loaded(loaded_by_hand(&program)));
        text.push_str(&program);
        if !text.ends_with('\n') {
            text.push('\n');
        }
    }
    Ok(text)
}

/// The tool a file of one tool's work names in its header (`(FILE 2 OF 5: T1 ONLY, ...)`),
/// where it changes no tool itself.
fn loaded_by_hand(program: &str) -> Option<u32> {
    if program.lines().any(|l| !l.starts_with('(') && l.to_ascii_uppercase().contains("M6")) {
        return None;
    }
    program.lines().take_while(|l| l.starts_with('(') || l.starts_with('%')).find_map(|l| {
        let rest = &l[l.find(": T")? + 3..];
        let (n, after) = rest.split_once(' ')?;
        after.starts_with("ONLY").then(|| n.parse().ok()).flatten()
    })
}

fn check_resolution(mm: f64) -> anyhow::Result<()> {
    if !(MIN_RESOLUTION_MM..=1.0).contains(&mm) {
        bail!("--resolution {mm}: must be from {MIN_RESOLUTION_MM} to 1 mm");
    }
    Ok(())
}

/// The most cells a command simulates: 64 Mi cells, a die of 80 mm at 0.01 mm, about 1.2 GB
/// with the check against the relief and the pictures (a 60 mm die takes 650 MB).
const MAX_GRID_CELLS: f64 = (1u64 << 26) as f64;

/// `bounds` widened by two cells each way; refused where the grid would exceed
/// [`MAX_GRID_CELLS`].
fn grid(bounds: [f64; 4], cell: f64) -> anyhow::Result<[f64; 4]> {
    let grid = [bounds[0] - 2.0 * cell, bounds[1] - 2.0 * cell, bounds[2] + 2.0 * cell, bounds[3] + 2.0 * cell];
    let cells = ((grid[2] - grid[0]) / cell + 1.0) * ((grid[3] - grid[1]) / cell + 1.0);
    // NaN (a bound not finite) is refused too.
    if cells.is_nan() || cells > MAX_GRID_CELLS {
        bail!(
            "{:.1} x {:.1} mm at {cell} mm is {:.0} million cells, more than the {:.0} million simulated at \
             most: give a coarser --resolution",
            grid[2] - grid[0],
            grid[3] - grid[1],
            cells / 1e6,
            MAX_GRID_CELLS / 1e6
        );
    }
    Ok(grid)
}

/// The union of two rectangles.
fn union(a: Option<[f64; 4]>, b: Option<[f64; 4]>) -> Option<[f64; 4]> {
    match (a, b) {
        (Some(a), Some(b)) => Some([a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])]),
        (a, b) => a.or(b),
    }
}

fn tools(job: &Job) -> Vec<Tool> {
    job.toolpath.tools.clone()
}

pub fn simulate(args: &SimulateArgs) -> anyhow::Result<bool> {
    check_resolution(args.resolution)?;
    let machine = load_machine(&args.machine)?;
    let job = args.job.resolve(machine, false)?;
    let names: Vec<String> = args.programs.iter().map(|p| p.display().to_string()).collect();
    let what = names.join(", ");
    let program = read_programs(&args.programs)?;
    let tools = tools(&job);
    let relief = match &args.art {
        Some(art) => {
            let svg = read_limited(art, medalcam::artwork::MAX_FILE_BYTES as u64, "an SVG file")?;
            Some(medalcam::design(&svg, &job).with_context(|| art.display().to_string())?.relief)
        }
        None => None,
    };
    let cut = simulation::cut_bounds(&program, &tools).with_context(|| what.clone())?;
    let Some(bounds) = union(cut, relief.as_ref().and_then(medalcam::relief::Relief::bounds)) else {
        bail!("{what}: cuts nothing below the die face");
    };
    let bounds = grid(bounds, args.resolution).with_context(|| what.clone())?;
    let tolerance = job.toolpath.tolerance_mm;
    let sim = simulation::simulate_checked(&program, &tools, bounds, args.resolution, Some(tolerance))
        .with_context(|| what.clone())?;
    let time = simulation::cycle_time(&program, job.machine.file()).with_context(|| what.clone())?;
    let hm = &sim.heightmap;
    let check = match &relief {
        Some(relief) => {
            let reach = tools.iter().map(|t| t.floor_radius(tolerance)).fold(f64::INFINITY, f64::min);
            Some(simulation::check_relief(hm, relief, job.toolpath.draft_deg, reach, tolerance)?)
        }
        None => None,
    };
    let pass = sim.rapid_cuts == 0 && sim.plunge_cuts == 0 && check.as_ref().is_none_or(|c| c.overcut_mm2 == 0.0);
    if let Some(dir) = &args.png {
        let mirrored = relief.as_ref().is_none_or(|r| r.target.mirrored());
        let finish = Finish::named(&args.finish).unwrap_or_default();
        let enamel = relief.as_ref().filter(|_| args.enamel).map(|r| simulation::enamel(hm, r));
        let medal = picture::medal_png(hm, mirrored, finish, enamel.as_deref())?;
        let mut pictures = vec![("die.png", picture::die_png(hm)?), ("medal.png", medal)];
        if let Some(check) = &check {
            pictures.push(("check.png", picture::marked_png(hm, &check.marks)?));
        }
        let input = args.programs.first().map_or(Path::new(""), PathBuf::as_path);
        write_pictures(dir, &pictures, input)?;
    }
    let cell_area = hm.cell_mm * hm.cell_mm;
    let report = SimulateReport {
        programs: names,
        machine: args.machine.clone(),
        resolution_mm: args.resolution,
        bounds_mm: bounds,
        removed_mm3: hm.z.iter().map(|z| -z.min(0.0)).sum::<f64>() * cell_area,
        lowest_z_mm: hm.z.iter().copied().fold(0.0, f64::min),
        rapid_cuts: sim.rapid_cuts,
        plunge_cuts: sim.plunge_cuts,
        cycle_time_s: time.program.cycle_time_s,
        tools: time.tools.iter().map(|t| ToolTime { tool: t.tool, cycle_time_s: t.cycle_time_s }).collect(),
        check,
        pass,
    };
    let text = if args.json {
        serde_json::to_string_pretty(&report).expect("the report serialises") + "\n"
    } else {
        describe(&report, &what)
    };
    if !args.quiet || args.json {
        std::io::stdout().lock().write_all(text.as_bytes()).context("stdout")?;
    }
    Ok(pass || !args.check)
}

/// Writes `pictures` (name and bytes) into `dir` (made if missing), all or none; `input` is
/// never overwritten.
pub fn write_pictures(dir: &Path, pictures: &[(&str, Vec<u8>)], input: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot make the folder", dir.display()))?;
    let files: Vec<(PathBuf, &[u8])> = pictures.iter().map(|(name, png)| (dir.join(name), png.as_slice())).collect();
    write_all_or_nothing(input, &files)
}

/// What the simulation of a program `engrave` just wrote found.
pub struct Proof {
    /// No cut deeper than asked, no rapid that cuts.
    pub pass: bool,
    /// The die against the relief.
    pub check: ReliefCheck,
    /// `die.png`, `medal.png` and `check.png`: name and bytes.
    pub pictures: Vec<(&'static str, Vec<u8>)>,
}

/// The proof of a program `engrave` just wrote: simulated at 0.01 mm over the relief and what
/// the tools cut, checked against the relief, pictured; one line on stderr unless `quiet`.
pub fn prove_engraving(
    engraving: &medalcam::Engraving,
    job: &Job,
    finish: &str,
    enamel: bool,
    input: &Path,
    quiet: bool,
) -> anyhow::Result<Proof> {
    let program = engraving.run();
    let tools = tools(job);
    let tolerance = job.toolpath.tolerance_mm;
    let cut = simulation::cut_bounds(&program, &tools)?;
    let Some(bounds) = union(cut, engraving.relief.bounds()) else { bail!("the program cuts nothing") };
    // 0.01 mm, or as fine as a die this large can be simulated.
    let area = (bounds[2] - bounds[0] + 0.1) * (bounds[3] - bounds[1] + 0.1);
    let resolution = 0.01f64.max((area / (0.9 * MAX_GRID_CELLS)).sqrt() * 1.01);
    let bounds = grid(bounds, resolution)?;
    let sim = simulation::simulate(&program, &tools, bounds, resolution)?;
    drop(program);
    let reach = tools.iter().map(|t| t.floor_radius(tolerance)).fold(f64::INFINITY, f64::min);
    let hm = &sim.heightmap;
    let check = simulation::check_relief(hm, &engraving.relief, job.toolpath.draft_deg, reach, tolerance)?;
    let pictures = vec![
        ("die.png", picture::die_png(hm)?),
        (
            "medal.png",
            picture::medal_png(
                hm,
                engraving.relief.target.mirrored(),
                Finish::named(finish).unwrap_or_default(),
                enamel.then(|| simulation::enamel(hm, &engraving.relief)).as_deref(),
            )?,
        ),
        ("check.png", picture::marked_png(hm, &check.marks)?),
    ];
    let pass = sim.rapid_cuts == 0 && check.overcut_mm2 == 0.0;
    if !quiet {
        eprintln!(
            "{}: simulated at {resolution} mm: overcut {:.4} mm2 (deepest {:.4} mm), uncut {:.4} mm2 where a tool fits, \
             {:.4} mm2 where none does, {} rapid cuts: {}",
            input.display(),
            check.overcut_mm2,
            check.worst_overcut_mm,
            check.uncut_reachable_mm2,
            check.uncut_unreachable_mm2,
            sim.rapid_cuts,
            if pass { "pass" } else { "FAIL" }
        );
    }
    Ok(Proof { pass, check, pictures })
}

fn describe(r: &SimulateReport, what: &str) -> String {
    let mut out = format!(
        "{what}: removes {:.3} mm3, lowest Z {:.4}, {} rapid cuts, {} feeds down into stock, cycle time {} on {}\n",
        r.removed_mm3,
        r.lowest_z_mm,
        r.rapid_cuts,
        r.plunge_cuts,
        medalcam::gcode::clock(r.cycle_time_s),
        r.machine
    );
    if let Some(c) = &r.check {
        let at = |p: Option<[f64; 2]>| p.map_or_else(String::new, |[x, y]| format!(" at X{x:.3} Y{y:.3}"));
        let _ = writeln!(
            out,
            "  against the artwork: overcut {:.4} mm2 (deepest {:.4} mm{}), uncut {:.4} mm2 where a tool fits \
             (most {:.4} mm{}), {:.4} mm2 where none does",
            c.overcut_mm2,
            c.worst_overcut_mm,
            at(c.worst_overcut_at),
            c.uncut_reachable_mm2,
            c.worst_uncut_mm,
            at(c.worst_uncut_at),
            c.uncut_unreachable_mm2
        );
    }
    let _ = writeln!(out, "  check: {}", if r.pass { "pass" } else { "FAIL" });
    out
}

/// What `diff` found.
#[derive(Debug, Serialize)]
struct DiffReport {
    old: String,
    new: String,
    tolerance_mm: f64,
    resolution_mm: f64,
    /// Whether the two cut the same die within the tolerance.
    same: bool,
    /// The largest depth difference no shift of a cell explains, mm (positive: new deeper).
    largest_difference_mm: f64,
    /// Where that is, `[x, y]` in mm.
    largest_difference_at: Option<[f64; 2]>,
    /// Area where the dies differ by more than the tolerance, mm².
    different_mm2: f64,
    old_cycle_time_s: f64,
    new_cycle_time_s: f64,
    /// Per tool, in the order the new program runs them: old and new seconds.
    tools: Vec<ToolChange>,
}

#[derive(Debug, Serialize)]
struct ToolChange {
    tool: u32,
    old_s: f64,
    new_s: f64,
}

pub fn diff(args: &DiffArgs) -> anyhow::Result<bool> {
    check_resolution(args.resolution)?;
    if !(args.tolerance.is_finite() && args.tolerance >= 0.0) {
        bail!("--tolerance {}: must be a number of mm, 0 or more", args.tolerance);
    }
    let machine = load_machine(&args.machine)?;
    let job = args.job.resolve(machine, false)?;
    let tools = tools(&job);
    let old = read_programs(std::slice::from_ref(&args.old))?;
    let new = read_programs(std::slice::from_ref(&args.new))?;
    let name = |p: &Path| p.display().to_string();
    let bounds_of = |text: &str, path: &Path| simulation::cut_bounds(text, &tools).with_context(|| name(path));
    let Some(bounds) = union(bounds_of(&old, &args.old)?, bounds_of(&new, &args.new)?) else {
        bail!("{} and {}: neither cuts below the die face", name(&args.old), name(&args.new));
    };
    let bounds = grid(bounds, args.resolution)?;
    let simulate = |text: &str, path: &Path| {
        simulation::simulate(text, &tools, bounds, args.resolution).map(|s| s.heightmap).with_context(|| name(path))
    };
    let (a, b) = rayon::join(|| simulate(&old, &args.old), || simulate(&new, &args.new));
    let (a, b) = (a?, b?);
    let difference = simulation::Difference::between(&a, &b, args.tolerance);
    let different = difference.cells();
    let time = |text: &str, path: &Path| simulation::cycle_time(text, job.machine.file()).with_context(|| name(path));
    let (t_old, t_new) = (time(&old, &args.old)?, time(&new, &args.new)?);
    let mut tools_changed: Vec<ToolChange> = Vec::new();
    for t in t_new.tools.iter().chain(&t_old.tools) {
        if tools_changed.iter().all(|c| c.tool != t.tool) {
            let sum = |time: &simulation::CycleTime| {
                time.tools.iter().filter(|x| x.tool == t.tool).map(|x| x.cycle_time_s).sum()
            };
            tools_changed.push(ToolChange { tool: t.tool, old_s: sum(&t_old), new_s: sum(&t_new) });
        }
    }
    let report = DiffReport {
        old: name(&args.old),
        new: name(&args.new),
        tolerance_mm: args.tolerance,
        resolution_mm: args.resolution,
        same: different == 0,
        largest_difference_mm: difference.largest_mm,
        largest_difference_at: difference.largest_at,
        different_mm2: different as f64 * args.resolution * args.resolution,
        old_cycle_time_s: t_old.program.cycle_time_s,
        new_cycle_time_s: t_new.program.cycle_time_s,
        tools: tools_changed,
    };
    if let Some(path) = &args.png {
        let png = picture::marked_png(&b, &difference.marks)?;
        write_all_or_nothing(&args.new, &[(path.clone(), png.as_slice())])?;
    }
    if !args.quiet {
        let text = if args.json {
            serde_json::to_string_pretty(&report).expect("the report serialises") + "\n"
        } else {
            describe_diff(&report)
        };
        std::io::stdout().lock().write_all(text.as_bytes()).context("stdout")?;
    }
    Ok(report.same)
}

fn describe_diff(r: &DiffReport) -> String {
    let clock = medalcam::gcode::clock;
    let mut out = if r.same {
        format!("{} and {}: the same die within {} mm", r.old, r.new, r.tolerance_mm)
    } else {
        let at = r.largest_difference_at.map_or_else(String::new, |[x, y]| format!(" at X{x:.3} Y{y:.3}"));
        format!(
            "{} and {}: different dies: {:.4} mm2 differ by more than {} mm, by up to {:+.4} mm{at} (+: {} deeper)",
            r.old, r.new, r.different_mm2, r.tolerance_mm, r.largest_difference_mm, r.new
        )
    };
    let _ = writeln!(out, "; cycle time {} to {}", clock(r.old_cycle_time_s), clock(r.new_cycle_time_s));
    for t in &r.tools {
        if (t.old_s - t.new_s).abs() >= 0.5 {
            let _ = writeln!(out, "  T{}: {} to {}", t.tool, clock(t.old_s), clock(t.new_s));
        }
    }
    out
}
