//! A job file as written: TOML, every key optional, unknown keys refused with their line and
//! column. [`super::Job::resolve`] checks it and fills in the defaults.

use serde::Deserialize;

use crate::error::{Error, Result};

/// A job file exactly as written in TOML.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct JobFile {
    /// The program's name in its header (default: the artwork's file name).
    pub name: Option<String>,
    /// `"die"` (the mirrored negative, default) or `"hub"` (the positive punch).
    pub target: Option<String>,
    /// Depth of black under luminance, and the deepest any rule may ask (default: 0.3 mm or
    /// the deepest depth given, whichever is more).
    pub max_depth_mm: Option<f64>,
    /// Depth of shapes no rule matches: a number of mm, `"luminance"` (default) or `"uncut"`.
    pub default_depth: Option<DepthSetting>,
    /// Luminance depths are whole multiples of this, in mm (default 0.01): shades closer
    /// than it share a level.
    pub level_step_mm: Option<f64>,
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
    /// Draft of the pocket walls in degrees from vertical (default: the half angle of the
    /// narrowest tapered tool, else 0).
    pub draft_deg: Option<f64>,
    /// Stock left on the walls by roughing passes, for the finishing pass (default 0.02 mm).
    pub wall_allowance_mm: Option<f64>,
    /// Stock left on the floor by roughing passes, for the floor skim (default 0.01 mm with
    /// `floor-finish = "skim"`).
    pub floor_allowance_mm: Option<f64>,
    /// `"none"`: the last step-down lands on the floor; `"skim"`: roughing leaves
    /// `floor-allowance-mm` and a finishing pass skims the floor (default: skim when the job
    /// gives a floor allowance, else none).
    pub floor_finish: Option<String>,
    /// Rest machining cuts only what earlier tools left thicker than this (default 0.01 mm).
    pub rest_thicker_than_mm: Option<f64>,
    /// Largest deviation of the cut from the artwork, in mm (default 0.005).
    pub tolerance_mm: Option<f64>,
    /// Height above the die face that the tool hops at between the paths of one tool, in mm
    /// (default 0.5; the machine's clearance at tool changes). Nothing stands above the face.
    pub hop_mm: Option<f64>,
    /// A translucent fill or stroke covers what lies below from this opacity up, as if solid;
    /// below it, the colour below shows (default 0.5).
    pub min_opacity: Option<f64>,
    /// The tool number that V-carves (default: the vee or tapered-ball tool with the finest
    /// tip).
    pub vcarve_tool: Option<u32>,
    /// V-carve every pocketed shape mostly narrower than the smallest tool that is not tapered
    /// (default false).
    pub auto_vcarve: Option<bool>,
    /// The width of a chamfer the carving bit cuts along the top edge of every wall, in mm
    /// (default 0: none).
    pub chamfer_mm: Option<f64>,
    /// The stock material, which sets the cutting data of every tool (default `c45`, see
    /// [`super::material::MATERIALS`]).
    pub material: Option<String>,
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
    /// How the shapes are cut: `"pocket"` (the default) or `"vcarve"`.
    pub strategy: Option<String>,
}

/// One `[[tool]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ToolFile {
    /// Tool number (`T` word).
    pub number: u32,
    /// `"flat"`, `"ball"`, `"bull"`, `"vee"` or `"tapered-ball"`.
    pub kind: String,
    /// Cutting diameter (the largest, at the top of the cone for tapered kinds).
    pub diameter_mm: f64,
    /// Vee: diameter of the flat tip; tapered ball: diameter of the ball.
    pub tip_diameter_mm: Option<f64>,
    /// Vee, tapered ball: included angle of the cone (or give `half-angle-deg`).
    pub included_angle_deg: Option<f64>,
    /// Vee, tapered ball: angle of the cone per side (or give `included-angle-deg`).
    pub half_angle_deg: Option<f64>,
    /// Bull: radius of the corner.
    pub corner_radius_mm: Option<f64>,
    /// Shank diameter (default: the cutting diameter).
    pub shank_diameter_mm: Option<f64>,
    /// Number of flutes (default 2).
    pub flutes: Option<u32>,
    /// Length of the flutes: the deepest the tool can cut.
    pub flute_length_mm: Option<f64>,
    /// Radial step as a fraction of the effective diameter at the step-down (default 0.4).
    pub stepover: Option<f64>,
    /// Axial depth of one pass (default 0.1 x diameter, 0.15 below 1 mm; tapered kinds 0.4 x
    /// tip diameter).
    pub stepdown_mm: Option<f64>,
    /// Feed per tooth (default 0.01 x effective diameter, for annealed die steel; at least
    /// 0.002 mm, 0.004 mm for a vee or tapered tool).
    pub chip_load_mm: Option<f64>,
    /// Spindle speed (default: the machine's maximum).
    pub spindle_rpm: Option<f64>,
    /// Cutting feed (default: chip load x flutes x rpm).
    pub feed_mm_per_min: Option<f64>,
    /// Ramp and helix feed (default: the cutting feed).
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
