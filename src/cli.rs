//! The command line: arguments, file handling and the precedence of settings.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _};
use clap::{Parser, Subcommand};
use medalcam::job::{Job, JobFile, Overrides};
use medalcam::machine::{self, Machine};
use medalcam::preview::Orientation;
use medalcam::report::Report;
use medalcam::Progress;

/// SVG artwork to G-code for medal, coin and challenge-coin dies.
#[derive(Debug, Parser)]
#[command(name = "medalcam", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write the G-code program that cuts the die for ART.
    Engrave(EngraveArgs),
    /// Show what ART holds: size, shapes, colours, ids, layers, text, narrowest feature, warnings.
    Inspect(InspectArgs),
    /// Show the die's depth levels: text, `--json`, or a colour-coded `--png` depth map.
    Relief(ReliefArgs),
    /// List the built-in machine profiles with their limits, or print one to copy and edit.
    Machines(MachinesArgs),
    /// Simulate a program: the die it cuts, its pictures (--png) and its checks (--check).
    Simulate(crate::proof::SimulateArgs),
    /// Whether two programs cut the same die: exit 0 the same within --tolerance, 1 not.
    Diff(crate::proof::DiffArgs),
}

#[derive(Debug, clap::Args)]
struct MachinesArgs {
    /// Print this built-in profile, commented: `medalcam machines haas > my-haas.toml`, edit,
    /// then `--machine my-haas.toml`.
    name: Option<String>,
    /// List every built-in profile with all its keys as JSON.
    #[arg(long, conflicts_with = "name")]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct InspectArgs {
    /// The artwork (SVG).
    art: PathBuf,
    /// Print JSON (keys documented in the README) instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    artwork: ArtArgs,
    /// Fail (exit 2) when the import has any warning.
    #[arg(long)]
    deny_warnings: bool,
}

#[derive(Debug, clap::Args)]
struct EngraveArgs {
    /// The artwork (SVG).
    art: PathBuf,
    /// Built-in machine profile (`medalcam machines` lists them) or the path of a profile TOML.
    #[arg(long, value_name = "NAME|PATH")]
    machine: String,
    /// Output program; `-` writes to stdout. Default: ART with the extension `.nc`.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: Option<PathBuf>,
    /// Write a JSON report here.
    #[arg(long, value_name = "REPORT.json")]
    report: Option<PathBuf>,
    #[command(flatten)]
    job: JobArgs,
    /// Worker threads (default: one per core). Never changes the output.
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
    /// No progress bar, no warnings on stderr.
    #[arg(short, long)]
    quiet: bool,
    /// Fail (exit 2, nothing written) when there is any warning.
    #[arg(long)]
    deny_warnings: bool,
    /// Simulate the program written and put die.png, medal.png and check.png in this folder.
    #[arg(long, value_name = "DIR")]
    preview: Option<PathBuf>,
    /// The metal of the preview's medal.png.
    #[arg(long, value_name = "METAL", default_value = "gold", value_parser = ["gold", "silver", "bronze", "antique"])]
    finish: String,
    /// Lay the artwork's colours into the preview's medal.png as soft enamel.
    #[arg(long)]
    enamel: bool,
    /// Simulate the program written and exit 1 when it cuts deeper than asked (beyond the
    /// tolerance) or a rapid cuts.
    #[arg(long)]
    check: bool,
    /// Write a setup sheet: one self-contained HTML page with the job, the machine, the
    /// tools, the times, the checks, the warnings and the pictures of the simulated die.
    #[arg(long, value_name = "FILE.html")]
    setup_sheet: Option<PathBuf>,
}

/// The settings of a job, shared by `engrave` and `relief`.
#[derive(Debug, clap::Args)]
pub(crate) struct JobArgs {
    /// Job file (TOML): tools, depth rules, target; see the README.
    #[arg(long, value_name = "JOB.toml")]
    job: Option<PathBuf>,
    #[command(flatten)]
    artwork: ArtArgs,
    /// Cut depth in mm of every shape no rule matches (default: by luminance).
    #[arg(long, value_name = "MM")]
    depth: Option<f64>,
    /// Depth rule SELECTOR=MM, repeatable, tried before the job's: `#d4af37=0.4`,
    /// `id:rim=0.3`, `class:text=0.2`, `layer:Raised=0.5`; 0 leaves the shapes uncut;
    /// `class:text=0.2:vcarve` V-carves them (`class:text=vcarve`: to max-depth-mm).
    #[arg(long = "layer", value_name = "SELECTOR=MM")]
    layers: Vec<String>,
    /// Stock material, which sets the cutting data: c45 (default), p20, h13, d2,
    /// hardened-steel, brass, zinc, copper, aluminium (aliases in the README).
    #[arg(long, value_name = "NAME")]
    material: Option<String>,
}

/// How to read the artwork: its size and extra fonts (every command that reads one).
#[derive(Debug, clap::Args)]
struct ArtArgs {
    /// Scale the artwork so the larger side of its viewBox is this many mm.
    #[arg(long, value_name = "MM")]
    diameter: Option<f64>,
    /// Scale the artwork so its viewBox is this many mm wide (fits inside all given sizes).
    #[arg(long, value_name = "MM")]
    width: Option<f64>,
    /// Scale the artwork so its viewBox is this many mm high (fits inside all given sizes).
    #[arg(long, value_name = "MM")]
    height: Option<f64>,
    /// Also use the fonts (TTF, OTF, TTC) in this folder for text.
    #[arg(long, value_name = "DIR")]
    font_dir: Option<PathBuf>,
}

impl JobArgs {
    /// The job from the job file, these flags and the machine: flags win.
    pub(crate) fn resolve(&self, machine: Machine, measure_reach: bool) -> anyhow::Result<Job> {
        let job_file = match &self.job {
            Some(path) => {
                let text = read_text(path)?;
                JobFile::from_toml(&text).with_context(|| path.display().to_string())?
            }
            None => JobFile::default(),
        };
        let overrides = Overrides {
            diameter_mm: self.artwork.diameter,
            width_mm: self.artwork.width,
            height_mm: self.artwork.height,
            depth_mm: self.depth,
            layers: self.layers.clone(),
            fonts: read_font_dir(self.artwork.font_dir.as_deref())?,
            measure_reach,
            material: self.material.clone(),
        };
        Job::resolve(&job_file, &overrides, machine)
            .with_context(|| self.job.as_ref().map_or_else(|| "settings".to_string(), |p| p.display().to_string()))
    }
}

#[derive(Debug, clap::Args)]
struct ReliefArgs {
    /// The artwork (SVG).
    art: PathBuf,
    #[command(flatten)]
    job: JobArgs,
    /// Machine profile whose tool limits apply to the job's tools (default: haas).
    #[arg(long, value_name = "NAME|PATH", default_value = "haas")]
    machine: String,
    /// Write the depth map, colour-coded by level with a legend, as PNG.
    #[arg(long, value_name = "DEPTH.png")]
    png: Option<PathBuf>,
    /// Draw the map as the struck medal shows it (a die's picture un-mirrored).
    #[arg(long)]
    medal: bool,
    /// Print the levels and regions as JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Fail (exit 2, nothing written) when there is any warning.
    #[arg(long)]
    deny_warnings: bool,
}

fn relief(args: &ReliefArgs) -> anyhow::Result<()> {
    let job = args.job.resolve(load_machine(&args.machine)?, false)?;
    let art = args.art.display().to_string();
    let svg = read_art(&args.art)?;
    let design = medalcam::design(&svg, &job).with_context(|| art.clone())?;
    deny_warnings(args.deny_warnings, &design.warnings).with_context(|| art.clone())?;
    if let Some(path) = &args.png {
        let orientation = if args.medal { Orientation::Medal } else { Orientation::Die };
        let png = medalcam::preview::depth_map_png(&design.relief, orientation, 1600).with_context(|| art.clone())?;
        write_all_or_nothing(&args.art, &[(path.clone(), png.as_slice())])?;
    }
    let report = medalcam::report::ReliefReport::new(&design);
    let text = if args.json {
        serde_json::to_string_pretty(&report).expect("the relief report serialises") + "\n"
    } else {
        let mut out = format!("{art}: {}, mirrored: {}\n", report.target, if report.mirrored { "yes" } else { "no" });
        for region in &report.regions {
            let how = match region.strategy {
                medalcam::relief::Strategy::Pocket => String::new(),
                other => format!(", {}", other.name()),
            };
            out += &format!(
                "  {:.3} mm: {:.3} mm2 ({}{how})\n",
                region.depth_mm,
                region.area_mm2,
                region.sources.join(", ")
            );
        }
        for groove in &report.grooves {
            out += &format!(
                "  {:.3} mm: engraved line {:.3} mm wide, {:.3} mm long ({})\n",
                groove.depth_mm, groove.width_mm, groove.length_mm, groove.source
            );
        }
        for warning in &report.warnings {
            out += &format!("  warning: {warning}\n");
        }
        out
    };
    std::io::stdout().lock().write_all(text.as_bytes()).context("stdout")?;
    Ok(())
}

/// Runs the command line: `Ok(false)` where a check the user asked for fails (exit 1).
pub fn run(cli: Cli) -> anyhow::Result<bool> {
    match cli.command {
        Command::Engrave(args) => engrave(&args),
        Command::Inspect(args) => inspect(&args).map(|()| true),
        Command::Relief(args) => relief(&args).map(|()| true),
        Command::Machines(args) => machines(&args).map(|()| true),
        Command::Simulate(args) => crate::proof::simulate(&args),
        Command::Diff(args) => crate::proof::diff(&args),
    }
}

fn machines(args: &MachinesArgs) -> anyhow::Result<()> {
    let text = if let Some(name) = &args.name {
        let Some((_, text)) = machine::BUILT_IN.iter().find(|(n, _)| n == name) else {
            bail!("unknown machine `{}`: the built-in profiles are {}", name.escape_debug(), built_in_names());
        };
        format!(
            "# medalcam's built-in profile `{name}`. Edit a copy and use it with `--machine FILE.toml`, or keep\n\
             # only the keys you change under `extends = \"{name}\"`. Every key: machines/README.md.\n{text}"
        )
    } else {
        let profiles: Vec<Machine> = machine::BUILT_IN
            .iter()
            .map(|(name, _)| Machine::built_in(name).expect("listed").with_context(|| format!("built-in `{name}`")))
            .collect::<anyhow::Result<_>>()?;
        if args.json {
            let list: Vec<serde_json::Value> =
                profiles.iter().map(|m| serde_json::json!({ "id": m.id(), "profile": m.file() })).collect();
            serde_json::to_string_pretty(&list).expect("profiles serialise") + "\n"
        } else {
            profiles.iter().map(describe_machine).collect()
        }
    };
    std::io::stdout().lock().write_all(text.as_bytes()).context("stdout")?;
    Ok(())
}

/// One built-in profile and its limits, on two lines.
fn describe_machine(m: &Machine) -> String {
    let f = m.file();
    let range = |[min, max]: [f64; 2]| format!("{min}..{max}");
    let arcs = if f.arcs { format!("arcs up to {} deg", f.arc_max_sweep_deg) } else { "no arcs".to_string() };
    let tools =
        if f.tool_changer { format!("tools T1-T{}", f.max_tool_number) } else { "one file per tool".to_string() };
    format!(
        "{:<10} {}\n{:<10} {} rpm, F{} mm/min, X {} Y {} Z {} mm, lines of {} characters, {arcs}, {tools}\n",
        m.id(),
        f.name,
        "",
        f.max_rpm,
        f.max_feed_mm_per_min,
        range(f.travel_x_mm),
        range(f.travel_y_mm),
        range(f.travel_z_mm),
        f.max_line_length
    )
}

/// The built-in profiles' names, comma separated.
fn built_in_names() -> String {
    machine::BUILT_IN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

fn inspect(args: &InspectArgs) -> anyhow::Result<()> {
    let svg = read_art(&args.art)?;
    let options = medalcam::artwork::ImportOptions {
        diameter_mm: args.artwork.diameter,
        width_mm: args.artwork.width,
        height_mm: args.artwork.height,
        fonts: read_font_dir(args.artwork.font_dir.as_deref())?,
        ..Default::default()
    };
    let artwork = medalcam::artwork::import(&svg, &options).with_context(|| args.art.display().to_string())?;
    let inspection = medalcam::artwork::inspect(&artwork)?;
    deny_warnings(args.deny_warnings, &inspection.warnings).with_context(|| args.art.display().to_string())?;
    let text = if args.json {
        serde_json::to_string_pretty(&inspection).expect("the inspection serialises") + "\n"
    } else {
        describe(&args.art, &inspection)
    };
    std::io::stdout().lock().write_all(text.as_bytes()).context("stdout")?;
    Ok(())
}

fn describe(art: &Path, i: &medalcam::artwork::Inspection) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let [w, h] = i.size_mm;
    let _ = writeln!(
        out,
        "{}: {w:.3} x {h:.3} mm, {} shapes, {:.3} mm2 painted",
        art.display(),
        i.shapes,
        i.painted_area_mm2
    );
    for c in &i.colors {
        let _ = writeln!(
            out,
            "  colour {}: {:.3} mm2 painted, {:.3} mm2 visible, {} shapes",
            c.color, c.area_mm2, c.visible_area_mm2, c.shapes
        );
    }
    for l in &i.lines {
        let what = if l.width_mm > 0.0 { format!("{:.3} mm wide", l.width_mm) } else { "hairline".to_string() };
        let _ = writeln!(
            out,
            "  lines {} {what}: {} lines, {:.3} mm long (engraved along their centres by a layer of strategy engrave)",
            l.color, l.lines, l.length_mm
        );
    }
    // Names and text from the file, escaped: one line each.
    let line = medalcam::one_line;
    if !i.ids.is_empty() {
        let _ = writeln!(out, "  ids: {}", line(&i.ids.join(", ")));
    }
    if !i.layers.is_empty() {
        let _ = writeln!(out, "  layers: {}", line(&i.layers.join(", ")));
    }
    for t in &i.texts {
        let _ = writeln!(
            out,
            "  text {}: {:?} in {} (asked for {:?})",
            line(&t.element),
            t.text,
            line(&t.font),
            t.requested_font
        );
    }
    if let Some(f) = &i.narrowest_feature {
        let _ =
            writeln!(out, "  narrowest feature: {:.3} mm wide, near X{:.3} Y{:.3}", f.width_mm, f.at_mm[0], f.at_mm[1]);
    }
    for warning in &i.warnings {
        let _ = writeln!(out, "  warning: {warning}");
    }
    out
}

/// Up to this many warnings are each printed; beyond, they are summarised by kind.
const WARNINGS_IN_FULL: usize = 12;

/// How many warnings of each kind a summary prints.
const WARNINGS_PER_KIND: usize = 3;

/// The warnings as printed on the terminal: each one, or beyond [`WARNINGS_IN_FULL`] the first
/// few of each kind and how many more there are (the report and the setup sheet list all).
fn warning_lines(warnings: &[medalcam::Warning]) -> Vec<String> {
    if warnings.len() <= WARNINGS_IN_FULL {
        return warnings.iter().map(ToString::to_string).collect();
    }
    let mut kinds: Vec<medalcam::WarningKind> = Vec::new();
    for w in warnings {
        if !kinds.contains(&w.kind) {
            kinds.push(w.kind);
        }
    }
    let mut lines = Vec::new();
    for kind in kinds {
        let of_kind: Vec<&medalcam::Warning> = warnings.iter().filter(|w| w.kind == kind).collect();
        lines.extend(of_kind.iter().take(WARNINGS_PER_KIND).map(|w| w.to_string()));
        if of_kind.len() > WARNINGS_PER_KIND {
            let name = serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            lines.push(format!(
                "{} more `{name}` warnings ({} in all; --report and --setup-sheet list every one)",
                of_kind.len() - WARNINGS_PER_KIND,
                of_kind.len()
            ));
        }
    }
    lines
}

/// With `--deny-warnings`, any warning is an error naming the first one.
fn deny_warnings(deny: bool, warnings: &[medalcam::Warning]) -> anyhow::Result<()> {
    match warnings.first() {
        Some(first) if deny => bail!("{} warning(s) and --deny-warnings; the first: {first}", warnings.len()),
        _ => Ok(()),
    }
}

fn engrave(args: &EngraveArgs) -> anyhow::Result<bool> {
    let job = args.job.resolve(load_machine(&args.machine)?, args.report.is_some())?;
    let svg = read_art(&args.art)?;
    let title = args.art.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());

    let threads = args.threads.unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().context("cannot start worker threads")?;
    let progress = Progress::for_terminal(!args.quiet);
    let engraving = pool
        .install(|| medalcam::engrave(&svg, &title, &job, &progress))
        .with_context(|| args.art.display().to_string())?;

    deny_warnings(args.deny_warnings, &engraving.warnings).with_context(|| args.art.display().to_string())?;
    if !args.quiet {
        for line in warning_lines(&engraving.warnings) {
            eprintln!("warning: {}: {line}", args.art.display());
        }
    }
    let full_report = Report::new(&args.art.display().to_string(), &args.machine, job.material.name, &engraving);
    let report = args.report.as_ref().map(|path| {
        let mut json = serde_json::to_string_pretty(&full_report).expect("the report serialises");
        json.push('\n');
        (path.clone(), json)
    });
    let output = match &args.output {
        Some(path) if path.as_os_str() == "-" => None,
        Some(path) => Some(path.clone()),
        None => Some(args.art.with_extension("nc")),
    };
    let mut files: Vec<(PathBuf, &[u8])> = Vec::new();
    let program_files = engraving.files();
    if let Some(path) = &output {
        for (file, text) in &program_files {
            files.push((file.suffix().map_or_else(|| path.clone(), |s| beside(path, &s)), text.as_bytes()));
        }
    } else if program_files.len() > 1 {
        bail!(
            "{}: on the machine `{}` the program is {} files (no tool changer, or split for the control's \
             memory): give `-o OUT.nc` (OUT.T1.nc, OUT.T2.nc or OUT.1.nc, OUT.2.nc, ... are written), not `-o -`",
            args.art.display(),
            job.machine.id(),
            program_files.len()
        );
    }
    if let Some((path, json)) = &report {
        files.push((path.clone(), json.as_bytes()));
    }
    write_all_or_nothing(&args.art, &files)?;
    if output.is_none() {
        std::io::stdout().lock().write_all(engraving.program.as_bytes()).context("stdout")?;
    }
    if !args.quiet {
        let time = &engraving.cycle_time;
        let tools: Vec<String> =
            time.tools.iter().map(|t| format!("T{} {}", t.tool, medalcam::gcode::clock(t.cycle_time_s))).collect();
        eprintln!(
            "{}: cycle time {} on {} (estimate; {})",
            args.art.display(),
            medalcam::gcode::clock(time.program.cycle_time_s),
            job.machine.id(),
            tools.join(", ")
        );
        if let (Some(path), true) = (&output, program_files.len() > 1) {
            let names: Vec<String> = program_files
                .iter()
                .filter_map(|(file, _)| file.suffix())
                .map(|s| beside(path, &s).display().to_string())
                .collect();
            eprintln!("{}: {} files, run in this order: {}", args.art.display(), names.len(), names.join(", "));
        }
    }
    if args.preview.is_some() || args.check || args.setup_sheet.is_some() {
        let proof = crate::proof::prove_engraving(&engraving, &job, &args.finish, args.enamel, &args.art, args.quiet)?;
        if let Some(dir) = &args.preview {
            crate::proof::write_pictures(dir, &proof.pictures, &args.art)?;
        }
        if let Some(path) = &args.setup_sheet {
            let files: Vec<String> = match &output {
                Some(out) => program_files
                    .iter()
                    .map(|(file, _)| {
                        file.suffix().map_or_else(|| out.clone(), |s| beside(out, &s)).display().to_string()
                    })
                    .collect(),
                None => vec!["stdout".to_string()],
            };
            let captions = [
                ("die.png", "The die as cut, mirrored as it sits on the machine"),
                ("medal.png", "The medal it strikes"),
                ("check.png", "Check: red cut too deep, blue stock left where a tool fits, pale blue where none does"),
            ];
            let pictures: Vec<medalcam::sheet::Picture<'_>> = proof
                .pictures
                .iter()
                .map(|(name, png)| medalcam::sheet::Picture {
                    caption: captions.iter().find(|(n, _)| n == name).map_or(*name, |(_, c)| *c),
                    png,
                })
                .collect();
            let sheet = medalcam::sheet::Sheet {
                report: &full_report,
                engraving: &engraving,
                machine_name: &job.machine.file().name,
                files: &files,
                check: Some(&proof.check),
                pictures: &pictures,
            };
            let html = medalcam::sheet::html(&sheet);
            write_all_or_nothing(&args.art, &[(path.clone(), html.as_bytes())])?;
        }
        return Ok(proof.pass || !args.check);
    }
    Ok(true)
}

/// The file named with `suffix` beside `path`: `OUT.nc` and `T2` give `OUT.T2.nc`.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let stem = path.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let name = match path.extension() {
        Some(ext) => format!("{stem}.{suffix}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{suffix}"),
    };
    path.with_file_name(name)
}

pub(crate) fn load_machine(name: &str) -> anyhow::Result<Machine> {
    if let Some(machine) = Machine::built_in(name) {
        return machine.with_context(|| format!("built-in machine `{name}`"));
    }
    let path = Path::new(name);
    if !path.exists() {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        if path.extension().is_some() && Machine::built_in(&stem).is_some() {
            bail!(
                "{name}: no such profile file. `{stem}` is a built-in profile: use `--machine {stem}`, or make \
                 a copy to edit with `medalcam machines {stem} > {name}`"
            );
        }
        bail!("unknown machine `{name}`: not a built-in profile ({}) nor a profile file", built_in_names());
    }
    let text = read_text(path)?;
    let id = path.file_stem().map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    Machine::from_toml(&id, &text).with_context(|| path.display().to_string())
}

/// The font files of `dir`, in file-name order so that the result never depends on the
/// order the file system lists them.
fn read_font_dir(dir: Option<&Path>) -> anyhow::Result<Vec<std::sync::Arc<Vec<u8>>>> {
    let Some(dir) = dir else { return Ok(Vec::new()) };
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| dir.display().to_string())?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["ttf", "otf", "ttc"].contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    paths.sort();
    let read = |p: &PathBuf| {
        let font = read_limited(p, MAX_FONT_BYTES, "a font file")?;
        medalcam::fonts::check(&font).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
        Ok(std::sync::Arc::new(font))
    };
    paths.iter().map(read).collect()
}

/// The largest font file read from `--font-dir`, in bytes (the largest CJK collections are
/// about 120 MiB).
const MAX_FONT_BYTES: u64 = 128 * 1024 * 1024;

/// The largest job or machine profile read, in bytes: a profile is a few kilobytes.
const MAX_TOML_BYTES: u64 = 1024 * 1024;

fn read_art(path: &Path) -> anyhow::Result<Vec<u8>> {
    read_limited(path, medalcam::artwork::MAX_FILE_BYTES as u64, "an SVG file")
}

/// The OS's reason for an I/O error, without the path tempfile adds to it.
fn without_path(e: &std::io::Error) -> std::io::Error {
    e.raw_os_error()
        .map_or_else(|| std::io::Error::new(e.kind(), e.kind().to_string()), std::io::Error::from_raw_os_error)
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    let bytes = read_limited(path, MAX_TOML_BYTES, "a TOML file")?;
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", path.display()))
}

/// The bytes of `path`, refused before they are read when there are more than `max`: a
/// device such as `/dev/zero` or a huge file is never read whole.
pub(crate) fn read_limited(path: &Path, max: u64, what: &str) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    let name = || path.display().to_string();
    let file = fs::File::open(path).with_context(name)?;
    let too_big = || anyhow::anyhow!("{}: larger than {} MiB, the most medalcam reads of {what}", name(), max >> 20);
    if file.metadata().with_context(name)?.len() > max {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).with_context(name)?;
    if bytes.len() as u64 > max {
        return Err(too_big());
    }
    Ok(bytes)
}

/// Whether `a` and `b` name the same file: the same path, or (both existing) the same file
/// once links are followed.
fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((fs::canonicalize(a), fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
}

/// Writes every file through a temporary sibling and renames them only when all were
/// written, so a failure leaves no partial output behind.
pub(crate) fn write_all_or_nothing(input: &Path, files: &[(PathBuf, &[u8])]) -> anyhow::Result<()> {
    // The artwork is never replaced by what was made from it.
    for (path, _) in files {
        if same_file(input, path) {
            return Err(anyhow!("{}: is the input artwork; refusing to overwrite it", path.display()));
        }
    }
    // Each file is written whole to a temporary file beside it, created exclusively with an
    // unpredictable name (tempfile), and only then renamed over its target. A temporary file
    // not renamed is removed when dropped, on every error path.
    let mut temps = Vec::new();
    let mut targets = Vec::new();
    for (path, contents) in files {
        path.file_name().ok_or_else(|| anyhow!("{}: not a file name", path.display()))?;
        // A link is written through: the file it points to is replaced, not the link. A device
        // or anything else that is not a regular file is never replaced.
        let path = &match fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path).unwrap_or_else(|_| path.clone()),
            _ => path.clone(),
        };
        if fs::metadata(path).is_ok_and(|meta| !meta.is_file()) {
            return Err(anyhow!("{}: is not a regular file; refusing to replace it", path.display()));
        }
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let cannot = || format!("{}: cannot write", path.display());
        let mut builder = tempfile::Builder::new();
        builder.prefix(".medalcam-");
        // As a plain write would create it: readable as the umask allows, not owner-only.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        // tempfile names its random file in the error: the user knows only the output's name.
        let mut temp = builder.tempfile_in(dir).map_err(|e| without_path(&e)).with_context(cannot)?;
        temp.write_all(contents).and_then(|()| temp.flush()).with_context(cannot)?;
        temps.push(temp);
        targets.push(path.clone());
    }
    for (path, temp) in targets.iter().zip(temps) {
        temp.persist(path).map_err(|e| e.error).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(())
}
