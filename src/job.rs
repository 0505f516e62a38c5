//! The job: everything one engraving needs, resolved from the job file, the command line and
//! the machine profile.
//!
//! Precedence, in [`Job::resolve`] only: command-line flag, then job file, then default.

use serde::Deserialize;

use crate::artwork::ImportOptions;
use crate::error::{Error, Result};
use crate::machine::Machine;
use crate::relief::{DefaultDepth, ReliefOptions, Rule, Selector, Target};
use crate::toolpath::{Tool, ToolKind, ToolpathOptions};

/// A job file exactly as written in TOML.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct JobFile {
    /// `"die"` (the mirrored negative, default) or `"hub"` (the positive punch).
    pub target: Option<String>,
    /// Depth of black under luminance, and the deepest any rule may ask (default: 0.3 mm or
    /// the deepest depth given, whichever is more).
    pub max_depth_mm: Option<f64>,
    /// Depth of shapes no rule matches: a number of mm, `"luminance"` (default) or `"uncut"`.
    pub default_depth: Option<DepthSetting>,
    /// Depth rules, tried in order.
    #[serde(default)]
    pub layer: Vec<LayerFile>,
    /// Scale the artwork so its larger side is this many mm.
    pub diameter_mm: Option<f64>,
    /// Scale the artwork so its width is this many mm.
    pub width_mm: Option<f64>,
    /// Scale the artwork so its height is this many mm.
    pub height_mm: Option<f64>,
    /// Ramp angle of entries in degrees (default 2, for die steel).
    pub ramp_angle_deg: Option<f64>,
    /// Walls between pockets thinner than this are reported (default 0.3 mm).
    pub min_wall_mm: Option<f64>,
    /// The tools.
    #[serde(default)]
    pub tool: Vec<ToolFile>,
}

/// `default-depth`: a number of mm or a word.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DepthSetting {
    /// Millimetres.
    Mm(f64),
    /// `"luminance"` or `"uncut"`.
    Word(String),
}

/// One `[[layer]]` table: exactly one selector and a depth.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LayerFile {
    /// Fill colour `#rrggbb` (or `#rgb`).
    pub fill: Option<String>,
    /// Element id (its own or an enclosing group's).
    pub id: Option<String>,
    /// Class name.
    pub class: Option<String>,
    /// Inkscape layer label.
    pub layer: Option<String>,
    /// Depth in mm; 0 leaves the shapes uncut.
    pub depth_mm: f64,
}

/// One `[[tool]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ToolFile {
    /// Tool number (`T` word).
    pub number: u32,
    /// `"flat"`.
    pub kind: String,
    /// Cutting diameter.
    pub diameter_mm: f64,
    /// Number of flutes (default 2).
    pub flutes: Option<u32>,
    /// Length of the flutes: the deepest the tool can cut.
    pub flute_length_mm: Option<f64>,
    /// Radial step as a fraction of the diameter (default 0.4).
    pub stepover: Option<f64>,
    /// Axial depth of one pass (default 0.1 x diameter).
    pub stepdown_mm: Option<f64>,
    /// Feed per tooth (default 0.01 x diameter, for annealed die steel).
    pub chip_load_mm: Option<f64>,
    /// Spindle speed (default: the machine's maximum).
    pub spindle_rpm: Option<f64>,
    /// Cutting feed (default: chip load x flutes x rpm).
    pub feed_mm_per_min: Option<f64>,
    /// Plunge and ramp feed (default: half the cutting feed).
    pub plunge_mm_per_min: Option<f64>,
}

impl JobFile {
    /// Parses a job file.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] with line and column for syntax errors and unknown keys.
    pub fn from_toml(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::toml(text, &e))
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
}

/// The default tool when the job names none: a 0.5 mm two-flute flat end mill.
const DEFAULT_TOOL_DIAMETER_MM: f64 = 0.5;

impl Job {
    /// Resolves a job from the job file, command-line overrides and the machine.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] naming the key of any value out of range.
    pub fn resolve(file: &JobFile, overrides: &Overrides, machine: Machine) -> Result<Self> {
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
            .chain(match default_depth {
                DefaultDepth::Depth(d) => Some(d),
                _ => None,
            })
            .fold(0.3, f64::max);
        let max_depth_mm = file.max_depth_mm.unwrap_or(deepest_given);
        positive("max-depth-mm", max_depth_mm)?;
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
        let [diameter_mm, width_mm, height_mm] = size;
        let min_wall_mm = file.min_wall_mm.unwrap_or(0.3);
        positive("min-wall-mm", min_wall_mm)?;
        let ramp_angle_deg = file.ramp_angle_deg.unwrap_or(2.0);
        if !(ramp_angle_deg > 0.0 && ramp_angle_deg <= 45.0) {
            return Err(setting("ramp-angle-deg", "must be more than 0 and at most 45"));
        }
        let default_tool = ToolFile {
            number: 1,
            kind: "flat".into(),
            diameter_mm: DEFAULT_TOOL_DIAMETER_MM,
            flutes: None,
            flute_length_mm: None,
            stepover: None,
            stepdown_mm: None,
            chip_load_mm: None,
            spindle_rpm: None,
            feed_mm_per_min: None,
            plunge_mm_per_min: None,
        };
        let tool_files = if file.tool.is_empty() { std::slice::from_ref(&default_tool) } else { &file.tool[..] };
        let tools = tool_files.iter().map(|t| resolve_tool(t, &machine, max_depth_mm)).collect::<Result<Vec<_>>>()?;
        Ok(Job {
            import: ImportOptions { diameter_mm, width_mm, height_mm, ..ImportOptions::default() },
            relief: ReliefOptions { target, max_depth_mm, default_depth, rules },
            toolpath: ToolpathOptions { tools, ramp_angle_deg },
            machine,
            min_wall_mm,
        })
    }
}

/// Parses `--layer SELECTOR=MM`: `#d4af37=0.4`, `fill:#d4af37=0.4`, `id:rim=0.3`,
/// `class:text=0.2`, `layer:Raised=0.5`.
fn parse_layer_flag(flag: &str) -> Result<Rule> {
    let bad = |reason: &str| setting(&format!("--layer {flag}"), reason);
    let (selector, depth) = flag.rsplit_once('=').ok_or_else(|| bad("expected SELECTOR=MM, e.g. #d4af37=0.4"))?;
    let depth_mm: f64 = depth.trim().parse().map_err(|_| bad("the depth after `=` is not a number"))?;
    let selector = match selector.split_once(':') {
        Some(("fill", v)) => Selector::Fill(normalize_color(v).ok_or_else(|| bad("not a #rrggbb colour"))?),
        Some(("id", v)) => Selector::Id(v.to_string()),
        Some(("class", v)) => Selector::Class(v.to_string()),
        Some(("layer", v)) => Selector::Layer(v.to_string()),
        None if selector.starts_with('#') => {
            Selector::Fill(normalize_color(selector).ok_or_else(|| bad("not a #rrggbb colour"))?)
        }
        _ => return Err(bad("the selector is #rrggbb, fill:#rrggbb, id:NAME, class:NAME or layer:LABEL")),
    };
    Ok(Rule { selector, depth_mm })
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
        Ok([selector]) => Ok(Rule { selector, depth_mm: layer.depth_mm }),
        Err(_) => Err(setting(&key, "needs exactly one of fill, id, class, layer")),
    }
}

/// `#RGB` or `#RRGGBB` (any case) as `#rrggbb`.
fn normalize_color(text: &str) -> Option<String> {
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

/// Resolves cutting data: rpm clamped to the machine, feed from chip load, clamped to the
/// machine's maximum feed.
fn resolve_tool(t: &ToolFile, machine: &Machine, depth_mm: f64) -> Result<Tool> {
    let key = |k: &str| format!("tool {}: {k}", t.number);
    let kind = match t.kind.as_str() {
        "flat" => ToolKind::Flat,
        other => {
            return Err(setting(&key("kind"), &format!("unknown kind `{other}` (this version cuts with \"flat\")")))
        }
    };
    positive(&key("diameter-mm"), t.diameter_mm)?;
    if t.diameter_mm > 50.0 {
        return Err(setting(&key("diameter-mm"), "is larger than any engraving tool"));
    }
    let flutes = t.flutes.unwrap_or(2);
    if flutes == 0 || flutes > 12 {
        return Err(setting(&key("flutes"), "must be 1 to 12"));
    }
    if let Some(length) = t.flute_length_mm {
        positive(&key("flute-length-mm"), length)?;
        if length < depth_mm {
            return Err(setting(
                &key("flute-length-mm"),
                &format!("{length} mm is shorter than the {depth_mm} mm depth"),
            ));
        }
    }
    let stepover = t.stepover.unwrap_or(0.4);
    if !(stepover > 0.0 && stepover <= 0.5) {
        // Above half the diameter, concentric rings can leave cusps of stock standing.
        return Err(setting(&key("stepover"), "must be more than 0 and at most 0.5 (of the diameter)"));
    }
    let stepdown_mm = t.stepdown_mm.unwrap_or(0.1 * t.diameter_mm);
    positive(&key("stepdown-mm"), stepdown_mm)?;
    let max = &machine.file;
    let spindle_rpm = t.spindle_rpm.unwrap_or(max.max_rpm).min(max.max_rpm);
    positive(&key("spindle-rpm"), spindle_rpm)?;
    let chip_load = t.chip_load_mm.unwrap_or((0.01 * t.diameter_mm).clamp(0.002, 0.05));
    positive(&key("chip-load-mm"), chip_load)?;
    let feed = t.feed_mm_per_min.unwrap_or(chip_load * f64::from(flutes) * spindle_rpm).min(max.max_feed_mm_per_min);
    positive(&key("feed-mm-per-min"), feed)?;
    let plunge = t.plunge_mm_per_min.unwrap_or(feed / 2.0).min(max.max_feed_mm_per_min);
    positive(&key("plunge-mm-per-min"), plunge)?;
    Ok(Tool {
        number: t.number,
        kind,
        diameter_mm: t.diameter_mm,
        flutes,
        stepover_mm: stepover * t.diameter_mm,
        stepdown_mm,
        spindle_rpm,
        feed_mm_per_min: feed,
        plunge_mm_per_min: plunge,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn haas() -> Machine {
        Machine::built_in("haas").unwrap().unwrap()
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

    #[test]
    fn unknown_job_key_is_named() {
        let err = JobFile::from_toml("depth = 1\n").unwrap_err().to_string();
        assert!(err.contains("depth") && err.contains("line 1"), "{err}");
    }
}
