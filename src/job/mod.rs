//! The job: everything one engraving needs, resolved from the job file, the command line and
//! the machine profile.
//!
//! Precedence, in [`Job::resolve`] only: command-line flag, then job file, then default.

use crate::artwork::ImportOptions;
use crate::error::{Error, Result};
use crate::machine::Machine;
use crate::relief::{DefaultDepth, ReliefOptions, Rule, Selector, Strategy};
use crate::tolerance::{self, Tolerance};
use crate::toolpath::ToolpathOptions;
use crate::{Warning, WarningKind};

mod file;
mod material;
mod tools;

pub use file::{DepthSetting, JobFile, LayerFile, ToolFile};
pub use material::{Material, DEFAULT_MATERIAL, MATERIALS};
use tools::tools;

/// What is being cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// A striking die: the mirrored negative of the medal.
    #[default]
    Die,
    /// A hub or master punch: the positive, not mirrored; what is raised on the medal stands.
    Hub,
}

impl Target {
    /// The name used in job files and reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Target::Die => "die",
            Target::Hub => "hub",
        }
    }

    /// Whether the artwork is mirrored on this target.
    #[must_use]
    pub fn mirrored(self) -> bool {
        match self {
            Target::Die => true,
            Target::Hub => false,
        }
    }
}

/// Command-line settings that override the job file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--diameter`.
    pub diameter_mm: Option<f64>,
    /// `--width`.
    pub width_mm: Option<f64>,
    /// `--height`.
    pub height_mm: Option<f64>,
    /// `--depth`: sets `default-depth`.
    pub depth_mm: Option<f64>,
    /// `--layer SELECTOR=MM`, in order; tried before the job file's rules.
    pub layers: Vec<String>,
    /// `--font-dir`: font files (TTF, OTF, TTC bytes) to use besides the bundled faces.
    pub fonts: Vec<std::sync::Arc<Vec<u8>>>,
    /// Whether to measure the floor the tools reach (`--report` asks for it).
    pub measure_reach: bool,
    /// `--material`: sets `material`.
    pub material: Option<String>,
}

/// Everything one engraving needs, validated.
#[derive(Debug, Clone)]
pub struct Job {
    /// Options of the artwork stage.
    pub import: ImportOptions,
    /// Options of the relief stage.
    pub relief: ReliefOptions,
    /// Options of the toolpath stage.
    pub toolpath: ToolpathOptions,
    /// The machine.
    pub machine: Machine,
    /// Walls between pockets thinner than this are reported, in mm.
    pub min_wall_mm: f64,
    /// The stock material, which set the tools' cutting data.
    pub material: &'static Material,
    /// The program's name in its header; `None`: the artwork's file name.
    pub name: Option<String>,
}

impl Job {
    /// What the job's settings say before anything is cut: a machine profile that spends more
    /// of the tolerance than its share ([`Tolerance::machine_overrun`]), by rounding or by
    /// fitting arcs.
    #[must_use]
    pub fn warnings(&self) -> Vec<Warning> {
        let file = &self.machine.file();
        let Ok(tolerance) = Tolerance::new(self.toolpath.tolerance_mm) else { return Vec::new() };
        let arcs = file.arcs.then_some(file.arc_tolerance_mm);
        let Some(over) = tolerance.machine_overrun(file.decimals, arcs) else { return Vec::new() };
        vec![Warning::new(
            WarningKind::Tolerance,
            "",
            &format!(
                "tolerance-mm {}: the machine's rounding to {} decimals{} spends {:.4} mm more than the {:.4} mm \
                 the tolerance leaves it, so the cut may stray by up to {:.4} mm",
                tolerance.total_mm(),
                file.decimals,
                if file.arcs { format!(" and arc-tolerance-mm {}", file.arc_tolerance_mm) } else { String::new() },
                over,
                tolerance.machine_mm(),
                tolerance.total_mm() + over
            ),
        )]
    }

    /// Resolves a job from the job file, command-line overrides and the machine.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the key of any value out of range.
    pub fn resolve(file: &JobFile, overrides: &Overrides, machine: Machine) -> Result<Self> {
        let relief = relief_options(file, overrides)?;
        let [diameter_mm, width_mm, height_mm] = sizes(file, overrides)?;
        let min_wall_mm = file.min_wall_mm.unwrap_or(0.3);
        positive("min-wall-mm", min_wall_mm)?;
        let material = material(file, overrides)?;
        let ramp_angle_deg = file.ramp_angle_deg.unwrap_or(material.ramp_angle_deg);
        if !(ramp_angle_deg > 0.0 && ramp_angle_deg <= 45.0) {
            return Err(setting("ramp-angle-deg", "must be more than 0 and at most 45"));
        }
        let tools = tools(file, &machine, relief.max_depth_mm, material)?;
        let carving_tool = carving_tool(file, &tools)?;
        let mut relief = relief;
        relief.vcarve_slope = carving_tool.map_or(0.0, |t| t.half_angle().tan());
        // Where the flank, carried down to the tip, is from the axis: from the flank's top.
        relief.vcarve_tip_radius_mm =
            carving_tool.map_or(0.0, |t| (t.radius() - t.height_at(t.radius()) * relief.vcarve_slope).max(0.0));
        relief.chamfer_mm = file.chamfer_mm.unwrap_or(0.0);
        if !(relief.chamfer_mm.is_finite() && relief.chamfer_mm >= 0.0) {
            return Err(setting("chamfer-mm", "must be 0 (none) or a positive number of mm"));
        }
        if relief.chamfer_mm > 0.0 && carving_tool.is_none() {
            return Err(setting("chamfer-mm", "a chamfer needs a vee or tapered-ball tool in the job"));
        }
        if file.auto_vcarve == Some(true) {
            // The smallest tool that pockets: what it cannot enter, the V-bit carves.
            let tolerance = file.tolerance_mm.unwrap_or(tolerance::DEFAULT_MM);
            let untapered = tools.iter().filter(|t| !t.kind.is_tapered()).map(|t| t.floor_radius(tolerance));
            relief.auto_vcarve_radius_mm =
                Some(untapered.fold(f64::INFINITY, f64::min)).filter(|r| r.is_finite() && *r > 0.0);
            if carving_tool.is_none() {
                return Err(setting("auto-vcarve", "V-carving needs a vee or tapered-ball tool in the job"));
            }
        }
        let carving_tool = carving_tool.map(|t| t.number);
        let draft_deg = match file.draft_deg {
            Some(d) if !(0.0..45.0).contains(&d) => {
                return Err(setting("draft-deg", "must be at least 0 and below 45"))
            }
            Some(d) => d,
            None => tools
                .iter()
                .filter(|t| t.kind.is_tapered())
                .map(|t| t.included_angle_deg / 2.0)
                .reduce(f64::min)
                .unwrap_or(0.0),
        };
        let non_negative = |key: &str, value: Option<f64>, default: f64| match value {
            Some(v) if !(v.is_finite() && v >= 0.0) => Err(setting(key, "must be a number of mm, 0 or more")),
            Some(v) => Ok(v),
            None => Ok(default),
        };
        let wall_allowance_mm = non_negative("wall-allowance-mm", file.wall_allowance_mm, 0.02)?;
        let floor_skim = match file.floor_finish.as_deref() {
            Some("skim") => true,
            Some("none") => false,
            Some(_) => return Err(setting("floor-finish", "must be \"none\" or \"skim\"")),
            None => file.floor_allowance_mm.is_some_and(|a| a > 0.0),
        };
        let floor_allowance_mm = non_negative("floor-allowance-mm", file.floor_allowance_mm, 0.01)?;
        let floor_allowance_mm = if floor_skim { floor_allowance_mm } else { 0.0 };
        let rest_thicker_than_mm = non_negative("rest-thicker-than-mm", file.rest_thicker_than_mm, 0.01)?;
        let tolerance = Tolerance::new(file.tolerance_mm.unwrap_or(tolerance::DEFAULT_MM))?;
        let min_opacity = file.min_opacity.unwrap_or(crate::artwork::DEFAULT_MIN_OPACITY);
        if !(0.0..=1.0).contains(&min_opacity) {
            return Err(setting("min-opacity", "must be from 0 to 1"));
        }
        let clearance = machine.file().clearance_z_mm;
        let hop_mm = file.hop_mm.unwrap_or(DEFAULT_HOP_MM.min(clearance));
        if !(hop_mm >= crate::machine::MIN_APPROACH_MM && hop_mm <= clearance) {
            return Err(setting(
                "hop-mm",
                &format!(
                    "must be from {} mm to the machine's clearance-z-mm ({clearance} mm)",
                    crate::machine::MIN_APPROACH_MM
                ),
            ));
        }
        Ok(Job {
            import: ImportOptions {
                diameter_mm,
                width_mm,
                height_mm,
                tolerance_mm: tolerance.flattening_mm(),
                fonts: overrides.fonts.clone(),
                min_opacity,
            },
            relief,
            toolpath: ToolpathOptions {
                tools,
                ramp_angle_deg,
                draft_deg,
                wall_allowance_mm,
                floor_allowance_mm,
                floor_skim,
                rest_thicker_than_mm,
                tolerance_mm: tolerance.total_mm(),
                measure_reach: overrides.measure_reach,
                hop_mm,
                carving_tool,
            },
            machine,
            min_wall_mm,
            material,
            name: file.name.clone(),
        })
    }
}

/// The tool that V-carves: `vcarve-tool`, else the vee or tapered-ball tool with the finest
/// tip (the first given of equals); none when the job has neither.
fn carving_tool<'a>(file: &JobFile, tools: &'a [crate::tool::Tool]) -> Result<Option<&'a crate::tool::Tool>> {
    if let Some(number) = file.vcarve_tool {
        let tool = tools
            .iter()
            .find(|t| t.number == number)
            .ok_or_else(|| setting("vcarve-tool", &format!("the job has no tool {number}")))?;
        if !tool.kind.is_tapered() {
            return Err(setting("vcarve-tool", &format!("tool {number} is not a vee or tapered-ball tool")));
        }
        return Ok(Some(tool));
    }
    let mut best: Option<&crate::tool::Tool> = None;
    for tool in tools.iter().filter(|t| t.kind.is_tapered()) {
        if best.is_none_or(|b| tool.tip_diameter_mm < b.tip_diameter_mm) {
            best = Some(tool);
        }
    }
    Ok(best)
}

/// The job's material: `--material`, else the job's `material`, else [`DEFAULT_MATERIAL`].
fn material(file: &JobFile, overrides: &Overrides) -> Result<&'static Material> {
    let (name, key) = match (&overrides.material, &file.material) {
        (Some(name), _) => (name.as_str(), "--material"),
        (None, Some(name)) => (name.as_str(), "material"),
        (None, None) => (DEFAULT_MATERIAL, "material"),
    };
    material::find(name).ok_or_else(|| {
        let known: Vec<&str> = MATERIALS.iter().map(|m| m.name).collect();
        setting(key, &format!("unknown material `{name}`: one of {} (or an alias the README lists)", known.join(", ")))
    })
}

/// The default height of hops between the paths of one tool above the die face, in mm: above
/// everything that stands there (nothing), with room for a tool-length error.
pub const DEFAULT_HOP_MM: f64 = 0.5;

/// Parses `--layer SELECTOR=MM`: `#d4af37=0.4`, `fill:#d4af37=0.4`, `id:rim=0.3`,
/// `class:text=0.2`, `layer:Raised=0.5`; with a strategy, `class:text=0.2:vcarve`, or
/// `class:text=vcarve` for max-depth-mm (NaN here, filled in by the caller).
fn parse_layer_flag(flag: &str) -> Result<Rule> {
    let bad = |reason: &str| setting(&format!("--layer {flag}"), reason);
    let (selector, depth) = flag.rsplit_once('=').ok_or_else(|| bad("expected SELECTOR=MM, e.g. #d4af37=0.4"))?;
    let (depth, strategy) = match depth.split_once(':') {
        Some((depth, name)) => (depth, Some(name)),
        None if Strategy::parse(depth.trim()).is_some() => ("", Some(depth)),
        None => (depth, None),
    };
    let strategy = match strategy {
        None => Strategy::Pocket,
        Some(name) => Strategy::parse(name.trim()).ok_or_else(|| bad(&unknown_strategy(name)))?,
    };
    let depth_mm: f64 = if depth.is_empty() {
        f64::NAN
    } else {
        depth.trim().parse().map_err(|_| bad("the depth after `=` is not a number"))?
    };
    let selector = match selector.split_once(':') {
        Some(("fill", v)) => Selector::Fill(normalize_color(v).ok_or_else(|| bad("not a #rrggbb colour"))?),
        Some(("id", v)) => Selector::Id(v.to_string()),
        Some(("class", v)) => Selector::Class(v.to_string()),
        Some(("layer", v)) => Selector::Layer(v.to_string()),
        None if selector.starts_with('#') || selector.trim().eq_ignore_ascii_case(crate::artwork::NO_PAINT) => {
            Selector::Fill(normalize_color(selector).ok_or_else(|| bad("not a #rrggbb colour"))?)
        }
        _ => return Err(bad("the selector is #rrggbb, fill:#rrggbb, none, id:NAME, class:NAME or layer:LABEL")),
    };
    if selector_name(&selector).is_some_and(str::is_empty) {
        // An empty name would match every shape without one.
        return Err(bad("the name after `:` is empty"));
    }
    Ok(Rule { selector, depth_mm, strategy })
}

fn unknown_strategy(name: &str) -> String {
    format!("unknown strategy `{name}` (expected pocket, vcarve or engrave)")
}

/// The name an id, class or layer selector matches (none for a colour).
fn selector_name(selector: &Selector) -> Option<&str> {
    match selector {
        Selector::Id(name) | Selector::Class(name) | Selector::Layer(name) => Some(name),
        Selector::Fill(_) => None,
    }
}

/// One `[[layer]]` table as a rule; `index` counts from 1 for messages.
fn layer_rule(layer: &LayerFile, index: usize) -> Result<Rule> {
    let key = format!("layer {index}");
    let given: Vec<Selector> = [
        layer.fill.as_deref().map(|v| normalize_color(v).map(Selector::Fill).ok_or(v)),
        layer.id.clone().map(|v| Ok(Selector::Id(v))),
        layer.class.clone().map(|v| Ok(Selector::Class(v))),
        layer.layer.clone().map(|v| Ok(Selector::Layer(v))),
    ]
    .into_iter()
    .flatten()
    .map(|s| s.map_err(|v| setting(&format!("{key}: fill"), &format!("`{v}` is not a #rrggbb colour"))))
    .collect::<Result<_>>()?;
    match <[Selector; 1]>::try_from(given) {
        Ok([selector]) if selector_name(&selector).is_some_and(str::is_empty) => {
            Err(setting(&key, "the id, class or layer name is empty (it would match every shape without one)"))
        }
        Ok([selector]) => {
            let strategy = match layer.strategy.as_deref() {
                None => Strategy::Pocket,
                Some(name) => Strategy::parse(name)
                    .ok_or_else(|| setting(&format!("{key}: strategy"), &unknown_strategy(name)))?,
            };
            Ok(Rule { selector, depth_mm: layer.depth_mm, strategy })
        }
        Err(_) => Err(setting(&key, "needs exactly one of fill, id, class, layer")),
    }
}

/// `#RGB` or `#RRGGBB` (any case) as `#rrggbb`.
fn normalize_color(text: &str) -> Option<String> {
    // Hairlines, painted with neither a fill nor a stroke.
    if text.trim().eq_ignore_ascii_case(crate::artwork::NO_PAINT) {
        return Some(crate::artwork::NO_PAINT.into());
    }
    let hex = text.trim().strip_prefix('#')?;
    if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    match hex.len() {
        6 => Some(format!("#{}", hex.to_ascii_lowercase())),
        3 => Some(format!("#{}", hex.chars().flat_map(|c| [c, c]).collect::<String>().to_ascii_lowercase())),
        _ => None,
    }
}

fn setting(key: &str, reason: &str) -> Error {
    Error::Setting { key: key.into(), reason: reason.into() }
}

fn positive(key: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(setting(key, "must be a positive number"))
    }
}

/// The relief's settings: the target, the depth of shapes no rule matches, the rules
/// (`--layer` first) and the deepest depth allowed.
fn relief_options(file: &JobFile, overrides: &Overrides) -> Result<ReliefOptions> {
    let target = match file.target.as_deref() {
        None | Some("die") => Target::Die,
        Some("hub") => Target::Hub,
        Some(other) => {
            return Err(setting("target", &format!("unknown target `{other}` (expected \"die\" or \"hub\")")))
        }
    };
    let default_depth = match (overrides.depth_mm, &file.default_depth) {
        (Some(d), _) => {
            positive("--depth", d)?;
            DefaultDepth::Depth(d)
        }
        (None, None) => DefaultDepth::Luminance,
        (None, Some(DepthSetting::Mm(d))) => DefaultDepth::Depth(*d),
        (None, Some(DepthSetting::Word(w))) => match w.as_str() {
            "luminance" => DefaultDepth::Luminance,
            "uncut" => DefaultDepth::Uncut,
            other => {
                return Err(setting(
                    "default-depth",
                    &format!("`{other}`: expected a number of mm, \"luminance\" or \"uncut\""),
                ))
            }
        },
    };
    let mut rules = overrides.layers.iter().map(|l| parse_layer_flag(l)).collect::<Result<Vec<_>>>()?;
    for (i, layer) in file.layer.iter().enumerate() {
        rules.push(layer_rule(layer, i + 1)?);
    }
    let deepest_given = rules
        .iter()
        .map(|r| r.depth_mm)
        .filter(|d| !d.is_nan())
        .chain(match default_depth {
            DefaultDepth::Depth(d) => Some(d),
            _ => None,
        })
        .fold(0.3, f64::max);
    let max_depth_mm = file.max_depth_mm.unwrap_or(deepest_given);
    positive("max-depth-mm", max_depth_mm)?;
    for rule in rules.iter_mut().filter(|r| r.depth_mm.is_nan()) {
        rule.depth_mm = max_depth_mm;
    }
    let level_step_mm = file.level_step_mm.unwrap_or(crate::relief::DEFAULT_LEVEL_STEP_MM);
    if !(0.001..=max_depth_mm).contains(&level_step_mm) {
        return Err(setting("level-step-mm", &format!("must be from 0.001 mm to max-depth-mm ({max_depth_mm} mm)")));
    }
    Ok(ReliefOptions { target, max_depth_mm, default_depth, rules, level_step_mm, ..Default::default() })
}

/// The artwork's size: diameter, width and height, each from its flag or else the job file.
fn sizes(file: &JobFile, overrides: &Overrides) -> Result<[Option<f64>; 3]> {
    let mut size = [None; 3];
    for (i, (flag, key, cli, job)) in [
        ("--diameter", "diameter-mm", overrides.diameter_mm, file.diameter_mm),
        ("--width", "width-mm", overrides.width_mm, file.width_mm),
        ("--height", "height-mm", overrides.height_mm, file.height_mm),
    ]
    .into_iter()
    .enumerate()
    {
        size[i] = cli.or(job);
        if let Some(value) = size[i] {
            positive(if cli.is_some() { flag } else { key }, value)?;
        }
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tool::ToolKind;

    fn haas() -> Machine {
        Machine::built_in("haas").unwrap().unwrap()
    }

    /// The job `text` is refused, naming `key`.
    fn refused(text: &str, key: &str) {
        let file = JobFile::from_toml(text).unwrap();
        let err = Job::resolve(&file, &Overrides::default(), haas()).unwrap_err().to_string();
        assert!(err.contains(key), "{text}: {err}");
    }

    #[test]
    fn layers_say_how_they_are_cut_and_the_finest_vee_carves() {
        let text = "max-depth-mm = 0.4\n[[layer]]\nid = \"legend\"\ndepth-mm = 0.3\nstrategy = \"vcarve\"\n";
        let file = JobFile::from_toml(text).unwrap();
        let layers = vec!["class:text=0.2:vcarve".to_string(), "id:name=vcarve".to_string(), "#000000=0.1".to_string()];
        let job = Job::resolve(&file, &Overrides { layers, ..Default::default() }, haas()).unwrap();
        let rules: Vec<(f64, Strategy)> = job.relief.rules.iter().map(|r| (r.depth_mm, r.strategy)).collect();
        let v = Strategy::VCarve;
        assert_eq!(rules, [(0.2, v), (0.4, v), (0.1, Strategy::Pocket), (0.3, v)], "no depth: max-depth-mm");
        // The default set's only vee, T3, 20 degrees: its flank runs tan(10) across per mm down.
        assert_eq!(job.toolpath.carving_tool, Some(3));
        assert!((job.relief.vcarve_slope - 10f64.to_radians().tan()).abs() < 1e-12);
        let vees = "[[tool]]\nnumber = 7\nkind = \"vee\"\ndiameter-mm = 3\ntip-diameter-mm = 0.2\nincluded-angle-deg = 60\n\
                    [[tool]]\nnumber = 8\nkind = \"vee\"\ndiameter-mm = 3\ntip-diameter-mm = 0.05\nincluded-angle-deg = 30\n";
        assert_eq!(resolve(vees).unwrap().toolpath.carving_tool, Some(8), "the finest tip");
        assert_eq!(resolve(&format!("vcarve-tool = 7\n{vees}")).unwrap().toolpath.carving_tool, Some(7));
        refused(&format!("vcarve-tool = 9\n{vees}"), "vcarve-tool");
        refused("vcarve-tool = 1\n", "vcarve-tool");
        refused("[[layer]]\nid = \"a\"\ndepth-mm = 0.1\nstrategy = \"engrave-ish\"\n", "layer 1: strategy");
        let bad = Overrides { layers: vec!["id:a=0.1:chisel".into()], ..Default::default() };
        let err = Job::resolve(&JobFile::default(), &bad, haas()).unwrap_err().to_string();
        assert!(err.contains("--layer id:a=0.1:chisel") && err.contains("pocket, vcarve or engrave"), "{err}");
        // Without a vee or tapered tool there is nothing to carve with.
        let flat = "[[tool]]\nnumber = 1\nkind = \"flat\"\ndiameter-mm = 1\n";
        assert_eq!(resolve(flat).unwrap().toolpath.carving_tool, None);
    }

    #[test]
    fn auto_vcarve_carves_what_the_smallest_untapered_tool_cannot_enter() {
        assert_eq!(resolve("").unwrap().relief.auto_vcarve_radius_mm, None);
        assert_eq!(resolve("auto-vcarve = false\n").unwrap().relief.auto_vcarve_radius_mm, None);
        // The default set's smallest flat end mill: 0.3 mm.
        assert_eq!(resolve("auto-vcarve = true\n").unwrap().relief.auto_vcarve_radius_mm, Some(0.15));
        let flat = "[[tool]]\nnumber = 1\nkind = \"flat\"\ndiameter-mm = 1\n";
        refused(&format!("auto-vcarve = true\n{flat}"), "auto-vcarve");
        // The chamfer: with the default vee; never negative, never without a vee.
        assert_eq!(resolve("chamfer-mm = 0.1\n").unwrap().relief.chamfer_mm, 0.1);
        refused("chamfer-mm = -0.1\n", "chamfer-mm");
        refused(&format!("chamfer-mm = 0.1\n{flat}"), "chamfer-mm");
    }

    #[test]
    fn hairlines_are_selected_as_fill_none_and_engraved() {
        let text = "max-depth-mm = 0.4\n[[layer]]\nfill = \"None\"\ndepth-mm = 0.05\nstrategy = \"engrave\"\n";
        let layers = vec!["none=engrave".to_string(), "fill:none=0.1:engrave".to_string(), "#000=0.2:engrave".into()];
        let job = Job::resolve(&JobFile::from_toml(text).unwrap(), &Overrides { layers, ..Default::default() }, haas())
            .unwrap();
        let rules: Vec<(Selector, f64, Strategy)> =
            job.relief.rules.iter().map(|r| (r.selector.clone(), r.depth_mm, r.strategy)).collect();
        let (none, e) = (|| Selector::Fill("none".into()), Strategy::Engrave);
        assert_eq!(
            rules,
            [(none(), 0.4, e), (none(), 0.1, e), (Selector::Fill("#000000".into()), 0.2, e), (none(), 0.05, e)]
        );
        // The default vee: 20 degrees with a 0.1 mm flat, its flank 0.05 mm off the axis at the tip.
        assert!((job.relief.vcarve_tip_radius_mm - 0.05).abs() < 1e-12, "{}", job.relief.vcarve_tip_radius_mm);
        let ball = "[[tool]]\nnumber = 4\nkind = \"tapered-ball\"\ndiameter-mm = 3\ntip-diameter-mm = 0.5\n\
                    included-angle-deg = 90\n";
        // A tapered ball's flank, carried down to its tip, passes inside the ball: r (sqrt 2 - 1).
        let r0 = resolve(ball).unwrap().relief.vcarve_tip_radius_mm;
        assert!((r0 - 0.25 * (2f64.sqrt() - 1.0)).abs() < 1e-9, "{r0}");
    }

    #[test]
    fn min_opacity_is_a_share_from_0_to_1() {
        let resolve = |text: &str| Job::resolve(&JobFile::from_toml(text).unwrap(), &Overrides::default(), haas());
        assert_eq!(resolve("").unwrap().import.min_opacity, crate::artwork::DEFAULT_MIN_OPACITY);
        assert_eq!(resolve("min-opacity = 0.9\n").unwrap().import.min_opacity, 0.9);
        for bad in ["1.5", "-0.1", "nan"] {
            let err = resolve(&format!("min-opacity = {bad}\n")).unwrap_err().to_string();
            assert!(err.contains("min-opacity"), "{bad}: {err}");
        }
    }

    #[test]
    fn nothing_unsafe_reaches_the_machine_from_a_tool_table() {
        let tool = |extra: &str| format!("[[tool]]\nnumber = 1\nkind = \"flat\"\ndiameter-mm = 1.0\n{extra}");
        // T0 is no tool (H00 cancels the length offset on a Haas); the Haas has 200.
        refused(&tool("").replace("number = 1", "number = 0"), "tool 0: number");
        refused(&tool("").replace("number = 1", "number = 201"), "tool 201: number");
        // NaN would become the machine's maximum through min(); 0.01 mm/min rounds to F0.
        refused(&tool("feed-mm-per-min = nan\n"), "tool 1: feed-mm-per-min");
        refused(&tool("plunge-mm-per-min = nan\n"), "tool 1: plunge-mm-per-min");
        refused(&tool("spindle-rpm = nan\n"), "tool 1: spindle-rpm");
        refused(&tool("feed-mm-per-min = 0.01\n"), "tool 1: feed-mm-per-min");
        refused(&tool("plunge-mm-per-min = 0.04\n"), "tool 1: plunge-mm-per-min");
        refused(&tool("spindle-rpm = 0.4\n"), "tool 1: spindle-rpm");
        let fine = JobFile::from_toml(&tool("feed-mm-per-min = 0.1\nplunge-mm-per-min = 0.1\n")).unwrap();
        assert!(Job::resolve(&fine, &Overrides::default(), haas()).is_ok());
    }

    #[test]
    fn hops_stay_between_the_least_approach_and_the_clearance() {
        let machine = || Machine::built_in("haas").unwrap().unwrap();
        let hop = |text: &str| Job::resolve(&JobFile::from_toml(text).unwrap(), &Overrides::default(), machine());
        assert_eq!(hop("").unwrap().toolpath.hop_mm, DEFAULT_HOP_MM);
        assert_eq!(hop("hop-mm = 2.0\n").unwrap().toolpath.hop_mm, 2.0);
        for bad in ["hop-mm = 0.05\n", "hop-mm = 6.0\n", "hop-mm = nan\n"] {
            let err = hop(bad).unwrap_err().to_string();
            assert!(err.contains("hop-mm"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_floor_allowance_is_skimmed_only_when_asked_for() {
        let machine = || Machine::built_in("haas").unwrap().unwrap();
        let floor = |text: &str| {
            let job = Job::resolve(&JobFile::from_toml(text).unwrap(), &Overrides::default(), machine()).unwrap();
            (job.toolpath.floor_skim, job.toolpath.floor_allowance_mm)
        };
        assert_eq!(floor(""), (false, 0.0));
        assert_eq!(floor("floor-finish = \"skim\"\n"), (true, 0.01));
        // A job that gives a floor allowance asked for the pass that takes it.
        assert_eq!(floor("floor-allowance-mm = 0.02\n"), (true, 0.02));
        assert_eq!(floor("floor-allowance-mm = 0.02\nfloor-finish = \"none\"\n"), (false, 0.0));
        assert_eq!(floor("floor-allowance-mm = 0\n"), (false, 0.0));
        refused("floor-finish = \"polish\"\n", "floor-finish");
    }

    #[test]
    fn the_material_sets_the_cutting_data_and_the_machine_clamps_it() {
        let machine = || Machine::built_in("haas").unwrap().unwrap();
        let job = |text: &str, material: Option<&str>| {
            let overrides = Overrides { material: material.map(str::to_string), ..Overrides::default() };
            Job::resolve(&JobFile::from_toml(text).unwrap(), &overrides, machine())
        };
        let c45 = job("", None).unwrap();
        assert_eq!(c45.material.name, DEFAULT_MATERIAL);
        let brass = job("material = \"brass\"\n", None).unwrap();
        let hard = job("", Some("hardened-steel")).unwrap();
        // The flag wins over the job file; names are matched in any case, aliases too.
        assert_eq!(job("material = \"brass\"\n", Some("45#")).unwrap().material.name, "c45");
        assert_eq!(job("material = \"CuZn37\"\n", None).unwrap().material.name, "brass");
        let t1 = |j: &Job| j.toolpath.tools.iter().find(|t| t.number == 1).unwrap().clone();
        // Brass: a bigger chip and twice the step-down; hardened steel: less of both.
        assert!(t1(&brass).feed_mm_per_min > 1.3 * t1(&c45).feed_mm_per_min);
        assert!((t1(&brass).stepdown_mm - 2.0 * t1(&c45).stepdown_mm).abs() < 1e-12);
        assert!(t1(&hard).feed_mm_per_min < t1(&c45).feed_mm_per_min && t1(&hard).stepdown_mm < t1(&c45).stepdown_mm);
        assert_eq!((brass.toolpath.ramp_angle_deg, hard.toolpath.ramp_angle_deg), (3.0, 1.0));
        // A 1 mm tool in C45 asks 47,746 rpm of a Haas that turns 8,100: noted, with both.
        assert_eq!(t1(&c45).spindle_rpm, 8100.0);
        assert_eq!(t1(&c45).limits, ["spindle-rpm 8100 = machine max-rpm, 150 m/min in c45 asks 47746"]);
        // A 6 mm tool in hardened steel turns at the surface speed, under the maximum.
        let big = "[[tool]]\nnumber = 1\nkind = \"flat\"\ndiameter-mm = 6.0\n";
        let six = t1(&job(big, Some("hardened-steel")).unwrap());
        assert!((six.spindle_rpm - 60_000.0 / (std::f64::consts::PI * 6.0)).abs() < 1e-9 && six.limits.is_empty());
        // A feed the job gives over the machine's maximum is clamped and noted.
        let fast = t1(&job(&format!("{big}feed-mm-per-min = 90000\n"), None).unwrap());
        assert!(fast.limits.iter().any(|l| l.starts_with("feed-mm-per-min") && l.contains("the job asks 90000")));
        let err = job("material = \"unobtainium\"\n", None).unwrap_err().to_string();
        assert!(err.contains("material") && err.contains("unobtainium") && err.contains("brass"), "{err}");
        assert!(job("", Some("cheese")).unwrap_err().to_string().contains("--material"));
    }

    #[test]
    fn a_vee_is_fed_at_a_chip_that_cuts() {
        // The default vee: its section at a step-down is about 0.11 mm, 1 % of it 1.1 um, at
        // which the edge rubs: its chip load is C45's 5 um (the middle of the published 4 to
        // 6 um), and never under 4 um in any material.
        let job = Job::resolve(&JobFile::default(), &Overrides::default(), Machine::built_in("haas").unwrap().unwrap())
            .unwrap();
        let vee = job.toolpath.tools.iter().find(|t| t.kind == ToolKind::Vee).expect("a vee in the default set");
        let chip = vee.feed_mm_per_min / (f64::from(vee.flutes) * vee.spindle_rpm);
        assert!((chip - 0.005).abs() < 1e-12, "{chip} mm a tooth");
        assert_eq!(vee.plunge_mm_per_min, vee.feed_mm_per_min);
        for material in MATERIALS {
            let overrides = Overrides { material: Some(material.name.to_string()), ..Overrides::default() };
            let job =
                Job::resolve(&JobFile::default(), &overrides, Machine::built_in("haas").unwrap().unwrap()).unwrap();
            let vee = job.toolpath.tools.iter().find(|t| t.kind == ToolKind::Vee).unwrap();
            let chip = vee.feed_mm_per_min / (f64::from(vee.flutes) * vee.spindle_rpm);
            assert!(chip >= 0.004 - 1e-12, "{}: {chip} mm a tooth", material.name);
        }
    }

    #[test]
    fn empty_selector_names_are_refused() {
        for flag in ["id:=0.1", "class:=0.2", "layer:=0.3"] {
            let overrides = Overrides { layers: vec![flag.into()], ..Default::default() };
            let err = Job::resolve(&JobFile::default(), &overrides, haas()).unwrap_err().to_string();
            assert!(err.contains(flag) && err.contains("empty"), "{flag}: {err}");
        }
        refused("[[layer]]\nid = \"\"\ndepth-mm = 0.1\n", "layer 1");
        let named = Overrides { layers: vec!["id:rim=0.1".into()], ..Default::default() };
        assert!(Job::resolve(&JobFile::default(), &named, haas()).is_ok());
    }

    #[test]
    fn cli_beats_job_beats_default() {
        let file = JobFile::from_toml("default-depth = 0.4\n").unwrap();
        let job = Job::resolve(&file, &Overrides::default(), haas()).unwrap();
        assert_eq!(job.relief.default_depth, DefaultDepth::Depth(0.4));
        let job = Job::resolve(&file, &Overrides { depth_mm: Some(0.2), ..Default::default() }, haas()).unwrap();
        assert_eq!(job.relief.default_depth, DefaultDepth::Depth(0.2));
        let job = Job::resolve(&JobFile::default(), &Overrides::default(), haas()).unwrap();
        assert_eq!(job.relief.default_depth, DefaultDepth::Luminance);
        assert_eq!(job.relief.max_depth_mm, 0.3);
    }

    #[test]
    fn layer_rules_from_flags_then_file() {
        let file = JobFile::from_toml(
            "target = \"hub\"\nmax-depth-mm = 0.5\ndefault-depth = \"uncut\"\n[[layer]]\nclass = \"text\"\ndepth-mm = 0.2\n",
        )
        .unwrap();
        let layers = vec!["#D4AF37=0.4".to_string(), "layer:Raised=0".to_string()];
        let job = Job::resolve(&file, &Overrides { layers, ..Default::default() }, haas()).unwrap();
        let rules: Vec<(Selector, f64)> = job.relief.rules.iter().map(|r| (r.selector.clone(), r.depth_mm)).collect();
        assert_eq!(
            rules,
            [
                (Selector::Fill("#d4af37".into()), 0.4),
                (Selector::Layer("Raised".into()), 0.0),
                (Selector::Class("text".into()), 0.2)
            ]
        );
        assert_eq!(job.relief.target, Target::Hub);
        assert_eq!(job.relief.default_depth, DefaultDepth::Uncut);
        let err = Job::resolve(&file, &Overrides { layers: vec!["red=1".into()], ..Default::default() }, haas());
        assert!(err.unwrap_err().to_string().contains("--layer red=1"));
        let two = JobFile::from_toml("[[layer]]\nid = \"a\"\nclass = \"b\"\ndepth-mm = 0.1\n").unwrap();
        let err = Job::resolve(&two, &Overrides::default(), haas()).unwrap_err().to_string();
        assert!(err.contains("layer 1") && err.contains("exactly one"), "{err}");
    }

    #[test]
    fn feed_comes_from_chip_load_and_is_clamped_to_the_machine() {
        let text = "[[tool]]\nnumber = 3\nkind = \"flat\"\ndiameter-mm = 1.0\nspindle-rpm = 30000\n";
        let job = Job::resolve(&JobFile::from_toml(text).unwrap(), &Overrides::default(), haas()).unwrap();
        let tool = &job.toolpath.tools[0];
        assert_eq!(tool.spindle_rpm, 8100.0);
        assert!((tool.feed_mm_per_min - 0.01 * 2.0 * 8100.0).abs() < 1e-9);
    }

    fn resolve(text: &str) -> Result<Job> {
        Job::resolve(&JobFile::from_toml(text)?, &Overrides::default(), haas())
    }

    #[test]
    fn the_default_tool_set_drafts_walls_with_its_vee() {
        let job = resolve("").unwrap();
        let kinds: Vec<_> = job.toolpath.tools.iter().map(|t| (t.number, t.kind, t.diameter_mm)).collect();
        let set = [
            (1, ToolKind::Flat, 1.0),
            (2, ToolKind::Flat, 0.3),
            (3, ToolKind::Vee, 3.175),
            (4, ToolKind::Flat, 0.6),
            (5, ToolKind::Flat, 3.0),
        ];
        assert_eq!(kinds, set);
        assert_eq!(job.toolpath.draft_deg, 10.0);
        assert_eq!(resolve("draft-deg = 0\n").unwrap().toolpath.draft_deg, 0.0);
        let flat = "[[tool]]\nnumber = 1\nkind = \"flat\"\ndiameter-mm = 1.0\n";
        assert_eq!(resolve(flat).unwrap().toolpath.draft_deg, 0.0);
    }

    #[test]
    fn tapered_angles_are_stated_as_included_or_per_side() {
        let vee = |angle: &str| {
            format!("[[tool]]\nnumber = 4\nkind = \"vee\"\ndiameter-mm = 3\ntip-diameter-mm = 0.1\n{angle}")
        };
        let included = resolve(&vee("included-angle-deg = 30\n")).unwrap();
        let half = resolve(&vee("half-angle-deg = 15\n")).unwrap();
        assert_eq!(included.toolpath.tools[0].included_angle_deg, 30.0);
        assert_eq!(half.toolpath.tools[0].included_angle_deg, 30.0);
        for bad in ["", "included-angle-deg = 30\nhalf-angle-deg = 15\n"] {
            let err = resolve(&vee(bad)).unwrap_err().to_string();
            assert!(err.contains("tool 4: included-angle-deg") && err.contains("exactly one"), "{err}");
        }
        let err = resolve(&vee("included-angle-deg = 180\n")).unwrap_err().to_string();
        assert!(err.contains("less than 180"), "{err}");
    }

    #[test]
    fn each_kind_takes_only_its_own_dimensions() {
        let tool =
            |kind: &str, extra: &str| format!("[[tool]]\nnumber = 2\nkind = \"{kind}\"\ndiameter-mm = 1\n{extra}");
        let err = resolve(&tool("flat", "tip-diameter-mm = 0.1\n")).unwrap_err().to_string();
        assert!(err.contains("tool 2: tip-diameter-mm") && err.contains("flat"), "{err}");
        let err = resolve(&tool("bull", "")).unwrap_err().to_string();
        assert!(err.contains("corner-radius-mm"), "{err}");
        let err = resolve(&tool("bull", "corner-radius-mm = 0.6\n")).unwrap_err().to_string();
        assert!(err.contains("half the diameter"), "{err}");
        let bull = resolve(&tool("bull", "corner-radius-mm = 0.2\n")).unwrap();
        assert_eq!(bull.toolpath.tools[0].corner_radius_mm, 0.2);
        let ball = resolve(&tool("ball", "")).unwrap();
        assert_eq!(ball.toolpath.tools[0].corner_radius_mm, 0.5);
        let err = resolve(&tool("drill", "")).unwrap_err().to_string();
        assert!(err.contains("unknown kind `drill`"), "{err}");
        let err = resolve(&tool("tapered-ball", "half-angle-deg = 5\n")).unwrap_err().to_string();
        assert!(err.contains("tip-diameter-mm"), "{err}");
        let twice = format!("{}{}", tool("flat", ""), tool("flat", ""));
        let err = resolve(&twice).unwrap_err().to_string();
        assert!(err.contains("tool 2: number"), "{err}");
    }

    #[test]
    fn stepover_is_a_fraction_of_the_effective_diameter() {
        let vee = "[[tool]]\nnumber = 1\nkind = \"vee\"\ndiameter-mm = 3\ntip-diameter-mm = 0.1\nincluded-angle-deg = 20\nstepdown-mm = 0.05\n";
        let tool = resolve(vee).unwrap().toolpath.tools[0].clone();
        let effective = 0.1 + 2.0 * 0.05 * 10f64.to_radians().tan();
        assert!((tool.stepover_mm - 0.4 * effective).abs() < 1e-12, "{}", tool.stepover_mm);
    }

    #[test]
    fn unknown_job_key_is_named() {
        let err = JobFile::from_toml("depth = 1\n").unwrap_err().to_string();
        assert!(err.contains("depth") && err.contains("line 1"), "{err}");
    }
}
