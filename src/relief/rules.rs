//! What depth each shape gets: the rules, tried in order, and the depth of the shapes no
//! rule matches.

use crate::artwork::ArtShape;
use crate::error::{Error, Result};
use crate::job::Target;

/// Which shapes a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// Fill (or stroke) colour, `#rrggbb`, lower case; `none` for hairlines (paths with
    /// neither a fill nor a stroke width).
    Fill(String),
    /// The element's id or the id of an enclosing group or `<use>`.
    Id(String),
    /// One of the element's classes.
    Class(String),
    /// The label of the enclosing Inkscape layer.
    Layer(String),
}

impl Selector {
    pub(super) fn matches(&self, shape: &ArtShape) -> bool {
        match self {
            Selector::Fill(color) => shape.color == *color,
            Selector::Id(id) => shape.id == *id || shape.ancestors.contains(id),
            Selector::Class(class) => shape.classes.contains(class),
            Selector::Layer(label) => shape.layer.as_deref() == Some(label.as_str()),
        }
    }

    /// How the selector reads in messages: `fill #d4af37`, `id rim`.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Selector::Fill(v) => format!("fill {v}"),
            Selector::Id(v) => format!("id {v}"),
            Selector::Class(v) => format!("class {v}"),
            Selector::Layer(v) => format!("layer {v}"),
        }
    }
}

/// A depth for the shapes a selector matches, and how they are cut.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Which shapes.
    pub selector: Selector,
    /// Depth below the die face in mm; 0 leaves them uncut. For [`Strategy::VCarve`], the
    /// deepest the carve goes.
    pub depth_mm: f64,
    /// How they are cut.
    pub strategy: Strategy,
}

/// How a region is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Pocketed to a flat floor with walls as steep as the draft allows.
    #[default]
    Pocket,
    /// V-carved: a V-bit along the medial axis puts the groove's edges on the outline, its
    /// walls at the bit's angle; where the region is wider than the depth allows, the floor
    /// is flat at the depth.
    VCarve,
    /// Engraved: strokes and hairlines cut along their centre lines by the V-bit, as deep as
    /// gives the stroke's width (a hairline: the layer's depth); fills are V-carved.
    Engrave,
}

impl Strategy {
    /// The strategy's name in jobs and messages: `pocket`, `vcarve`, `engrave`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Pocket => "pocket",
            Strategy::VCarve => "vcarve",
            Strategy::Engrave => "engrave",
        }
    }

    /// The strategy called `name`.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        [Strategy::Pocket, Strategy::VCarve, Strategy::Engrave].into_iter().find(|s| s.name() == name)
    }

    /// Whether it cuts with the V-bit.
    #[must_use]
    pub fn carves(self) -> bool {
        self != Strategy::Pocket
    }
}

/// The depth of shapes no rule matches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DefaultDepth {
    /// Darker is deeper: `max_depth_mm * (1 - L*/100)`, with L* the CIE 1976 lightness of the
    /// sRGB colour (D65). Black is cut to `max_depth_mm`, white is uncut.
    Luminance,
    /// This depth in mm.
    Depth(f64),
    /// Uncut (they still cover what lies beneath).
    Uncut,
}

/// How to turn artwork into depth levels.
#[derive(Debug, Clone)]
pub struct ReliefOptions {
    /// What is being cut.
    pub target: Target,
    /// Depth of black under [`DefaultDepth::Luminance`], and the deepest any rule may ask.
    pub max_depth_mm: f64,
    /// Depth of shapes no rule matches.
    pub default_depth: DefaultDepth,
    /// Rules, tried in order; the first match wins.
    pub rules: Vec<Rule>,
    /// Luminance depths are whole multiples of this, in mm: shades closer than it share a
    /// level (a hundred near-identical shades made a hundred terraces 2 um apart).
    pub level_step_mm: f64,
    /// The slope of V-carved walls: the horizontal run per mm of depth, the tangent of the
    /// carving bit's half angle (0 when nothing is V-carved).
    pub vcarve_slope: f64,
    /// Where the carving bit's flank, carried down to its tip, is from its axis, in mm (a vee's
    /// flat radius): an engraved groove is `2 × (this + depth × vcarve_slope)` wide.
    pub vcarve_tip_radius_mm: f64,
    /// `auto-vcarve`: the radius of the smallest tool that is not tapered; a pocketed shape
    /// with a feature narrower than it is V-carved instead. `None`: only the rules V-carve.
    pub auto_vcarve_radius_mm: Option<f64>,
    /// `chamfer-mm`: the width of a chamfer the carving bit cuts along the top edge of every
    /// wall, for die release (0: none).
    pub chamfer_mm: f64,
}

/// The default [`ReliefOptions::level_step_mm`]: 10 um, a step an eye sees on a struck medal
/// and a tool cuts.
pub const DEFAULT_LEVEL_STEP_MM: f64 = 0.01;

impl Default for ReliefOptions {
    fn default() -> Self {
        Self {
            target: Target::Die,
            max_depth_mm: 0.3,
            default_depth: DefaultDepth::Luminance,
            rules: Vec::new(),
            level_step_mm: DEFAULT_LEVEL_STEP_MM,
            vcarve_slope: 0.0,
            vcarve_tip_radius_mm: 0.0,
            auto_vcarve_radius_mm: None,
            chamfer_mm: 0.0,
        }
    }
}

pub(super) fn check_depths(options: &ReliefOptions) -> Result<()> {
    let max = options.max_depth_mm;
    if !(max.is_finite() && max > 0.0) {
        return Err(Error::Setting { key: "max-depth-mm".into(), reason: "must be a positive number".into() });
    }
    let mut depths: Vec<(String, f64)> =
        options.rules.iter().map(|r| (format!("layer rule `{}`", r.selector.describe()), r.depth_mm)).collect();
    if let DefaultDepth::Depth(d) = options.default_depth {
        depths.push(("default-depth".into(), d));
    }
    if options.chamfer_mm != 0.0 {
        let key = "chamfer-mm".to_string();
        if !(options.chamfer_mm.is_finite() && options.chamfer_mm > 0.0) {
            return Err(Error::Setting { key, reason: "must be 0 (none) or a positive number of mm".into() });
        }
        if !(options.vcarve_slope.is_finite() && options.vcarve_slope > 0.0) {
            return Err(Error::Setting { key, reason: "a chamfer needs a vee or tapered-ball tool in the job".into() });
        }
    }
    if options.auto_vcarve_radius_mm.is_some() {
        let key = "auto-vcarve".to_string();
        if options.target == Target::Hub {
            return Err(Error::Setting { key, reason: "V-carving cuts dies, not hubs".into() });
        }
        if !(options.vcarve_slope.is_finite() && options.vcarve_slope > 0.0) {
            return Err(Error::Setting { key, reason: "V-carving needs a vee or tapered-ball tool in the job".into() });
        }
    }
    for rule in options.rules.iter().filter(|r| r.strategy.carves() && r.depth_mm > 0.0) {
        let key = format!("layer rule `{}`", rule.selector.describe());
        let what = if rule.strategy == Strategy::Engrave { "Engraving" } else { "V-carving" };
        if options.target == Target::Hub {
            return Err(Error::Setting { key, reason: format!("{what} cuts dies, not hubs") });
        }
        if !(options.vcarve_slope.is_finite() && options.vcarve_slope > 0.0) {
            return Err(Error::Setting { key, reason: format!("{what} needs a vee or tapered-ball tool in the job") });
        }
        if !(options.vcarve_tip_radius_mm.is_finite() && options.vcarve_tip_radius_mm >= 0.0) {
            return Err(Error::Setting { key, reason: format!("{what} needs a tool with a tip of 0 mm or more") });
        }
    }
    for (key, depth) in depths {
        if !(depth.is_finite() && depth >= 0.0) {
            return Err(Error::Setting { key, reason: "the depth must be 0 or a positive number of mm".into() });
        }
        if depth > max {
            return Err(Error::Setting { key, reason: format!("{depth} mm is deeper than max-depth-mm ({max} mm)") });
        }
    }
    Ok(())
}

/// The depth luminance gives `color`: `max_depth_mm * (1 - L*/100)` to the nearest whole
/// level step (at most `max_depth_mm`).
pub(super) fn luminance_depth(color: &str, options: &ReliefOptions) -> f64 {
    let depth = options.max_depth_mm * (1.0 - lightness(color) / 100.0);
    let step = options.level_step_mm;
    ((depth / step).round() * step).min(options.max_depth_mm)
}

/// A colour whose depth luminance set, and the depth.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Shade {
    /// `#rrggbb`.
    pub color: String,
    /// Its depth below the die face, in mm (0: uncut).
    pub depth_mm: f64,
}

/// Every colour of `artwork` whose depth luminance sets (no rule matches it), once each, in
/// paint order, with its depth.
#[must_use]
pub(super) fn shades(artwork: &crate::artwork::Artwork, options: &ReliefOptions) -> Vec<Shade> {
    if options.default_depth != DefaultDepth::Luminance {
        return Vec::new();
    }
    let mut shades: Vec<Shade> = Vec::new();
    // A hairline paints nothing: it has no shade.
    for shape in artwork.shapes.iter().filter(|s| !s.polygons.is_empty()) {
        if !options.rules.iter().any(|r| r.selector.matches(shape)) && shades.iter().all(|s| s.color != shape.color) {
            shades.push(Shade { color: shape.color.clone(), depth_mm: luminance_depth(&shape.color, options) });
        }
    }
    shades
}

/// Where luminance set the depths of more `shades` (a relief's) than it made levels
/// `level_step_mm` apart: a warning that says how many became how many.
#[must_use]
pub fn shades_merged(shades: &[Shade], level_step_mm: f64) -> Option<crate::Warning> {
    let mut depths: Vec<i64> = shades.iter().map(|s| (s.depth_mm * 1e3).round() as i64).collect();
    depths.sort_unstable();
    depths.dedup();
    (depths.len() < shades.len()).then(|| {
        crate::Warning::new(
            crate::WarningKind::Approximated,
            "",
            &format!(
                "luminance: {} shades make {} depths, {} mm apart (level-step-mm)",
                shades.len(),
                depths.len(),
                level_step_mm
            ),
        )
    })
}

/// The depth of one shape, what decided it and how it is cut.
pub(super) fn depth_of(shape: &ArtShape, options: &ReliefOptions) -> (f64, String, Strategy) {
    if let Some(rule) = options.rules.iter().find(|r| r.selector.matches(shape)) {
        return (rule.depth_mm, rule.selector.describe(), rule.strategy);
    }
    let (depth, source) = match options.default_depth {
        DefaultDepth::Luminance => (luminance_depth(&shape.color, options), "luminance"),
        DefaultDepth::Depth(d) => (d, "default-depth"),
        DefaultDepth::Uncut => (0.0, "default-depth"),
    };
    (depth, source.into(), Strategy::Pocket)
}

/// CIE 1976 L* (0 black to 100 white) of an sRGB `#rrggbb` colour.
#[must_use]
pub fn lightness(color: &str) -> f64 {
    let channel = |i: usize| {
        let v = f64::from(u8::from_str_radix(color.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0)) / 255.0;
        if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let y = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    let f = if y > (6.0f64 / 29.0).powi(3) { y.cbrt() } else { y / (3.0 * (6.0f64 / 29.0).powi(2)) + 4.0 / 29.0 };
    (116.0 * f - 16.0).clamp(0.0, 100.0)
}
