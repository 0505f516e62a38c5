//! The job's tools: each `[[tool]]` table checked (its shape apart from its cutting data) and
//! turned into a [`Tool`], or the default set when the job names none.

use super::file::{JobFile, ToolFile};
use super::material::Material;
use super::{positive, setting};
use crate::error::Result;
use crate::machine::Machine;
use crate::tool::{Tool, ToolKind};

/// The tools when the job names none: the set domain.md §1.7 describes for a multi-level die,
/// a 1 mm flat end mill to clear, a 0.3 mm flat end mill for what it leaves, and a 20 degree
/// V-bit with a 0.1 mm tip for the corners and the drafted walls; and two more, numbered after
/// them so that T1 to T3 keep their numbers: T4, a 0.6 mm flat end mill between the 1 mm and
/// the 0.3 mm, which cuts most of what the 1 mm tool leaves at twice the 0.3 mm tool's feed,
/// stepover and step-down, and T5, a 3 mm flat end mill that clears the open field first, at
/// three times the 1 mm tool's chip, stepover and step-down. Measured on `haas` at 40 mm (the
/// product's estimate): the medal sample runs 8.1 h with T1 to T3, 5.8 h with T4 (6.2 h with a
/// 0.5 mm tool there, 6.7 h with a 0.4 mm), 2.8 h with T5 too (2.8 h with a 2 mm tool there);
/// the crown sample 2.6 h, 2.2 h and 1.7 h.
pub(super) const DEFAULT_TOOLS: &str = r#"
[[tool]]
number = 1
kind = "flat"
diameter-mm = 1.0
[[tool]]
number = 2
kind = "flat"
diameter-mm = 0.3
[[tool]]
number = 3
kind = "vee"
diameter-mm = 3.175
tip-diameter-mm = 0.1
included-angle-deg = 20
[[tool]]
number = 4
kind = "flat"
diameter-mm = 0.6
[[tool]]
number = 5
kind = "flat"
diameter-mm = 3.0
"#;

/// The job's tools (the default set when it names none), each number once.
pub(super) fn tools(file: &JobFile, machine: &Machine, max_depth_mm: f64, material: &Material) -> Result<Vec<Tool>> {
    let default_tools = JobFile::from_toml(DEFAULT_TOOLS)?.tool;
    let tool_files = if file.tool.is_empty() { &default_tools[..] } else { &file.tool[..] };
    let tools =
        tool_files.iter().map(|t| resolve_tool(t, machine, max_depth_mm, material)).collect::<Result<Vec<_>>>()?;
    for (i, t) in tools.iter().enumerate() {
        if tools[..i].iter().any(|u| u.number == t.number) {
            return Err(setting(&format!("tool {}: number", t.number), "is given to two tools"));
        }
    }
    Ok(tools)
}

/// Resolves the cutter's shape and cutting data: rpm from the material's surface speed, feed
/// from its chip load, both clamped to the machine.
pub(super) fn resolve_tool(t: &ToolFile, machine: &Machine, depth_mm: f64, material: &Material) -> Result<Tool> {
    let key = |k: &str| format!("tool {}: {k}", t.number);
    let shape = tool_shape(t)?;
    let max_number = machine.file().max_tool_number;
    if t.number == 0 || t.number > max_number {
        return Err(setting(
            &key("number"),
            &format!("must be 1 to {max_number}, the machine's tools (T0 is no tool)"),
        ));
    }
    let flutes = t.flutes.unwrap_or(2);
    if flutes == 0 || flutes > 12 {
        return Err(setting(&key("flutes"), "must be 1 to 12"));
    }
    // Unstated, the flutes are taken as long enough.
    let flute_length_mm = t.flute_length_mm.unwrap_or((3.0 * t.diameter_mm).max(depth_mm));
    positive(&key("flute-length-mm"), flute_length_mm)?;
    if flute_length_mm < depth_mm {
        return Err(setting(
            &key("flute-length-mm"),
            &format!("{flute_length_mm} mm is shorter than the {depth_mm} mm depth"),
        ));
    }
    let shank_diameter_mm = t.shank_diameter_mm.unwrap_or(t.diameter_mm);
    positive(&key("shank-diameter-mm"), shank_diameter_mm)?;
    let stepover = t.stepover.unwrap_or(0.4);
    if !(stepover > 0.0 && stepover <= 0.5) {
        // Above half the diameter, concentric rings can leave cusps of stock standing.
        return Err(setting(&key("stepover"), "must be more than 0 and at most 0.5 (of the diameter)"));
    }
    // Starting values for annealed die steel (machine-time.md, from ISCAR's and ATA's data):
    // 0.1 to 0.2 D for flat tools of 1 mm and more and 0.15 to 0.2 D below, where a thin cut
    // only rubs: 0.15 D for both; 0.3 to 0.5 of the tip for a tapered tool, whose cone takes
    // the wedge above; scaled by the material (brass and zinc alloy take about twice).
    let share = material.stepdown_share;
    let default_stepdown = if shape.kind.is_tapered() {
        (0.4 * share * shape.tip_diameter_mm).clamp(0.01, 0.1 * t.diameter_mm)
    } else {
        0.15 * share * t.diameter_mm
    };
    let stepdown_mm = t.stepdown_mm.unwrap_or(default_stepdown);
    positive(&key("stepdown-mm"), stepdown_mm)?;
    let mut tool = Tool {
        number: t.number,
        kind: shape.kind,
        diameter_mm: t.diameter_mm,
        tip_diameter_mm: shape.tip_diameter_mm,
        included_angle_deg: shape.included_angle_deg,
        corner_radius_mm: shape.corner_radius_mm,
        flute_length_mm,
        shank_diameter_mm,
        flutes,
        stepover_mm: 0.0,
        stepdown_mm,
        spindle_rpm: 0.0,
        feed_mm_per_min: 0.0,
        plunge_mm_per_min: 0.0,
        limits: Vec::new(),
    };
    // What engages at one step-down: the whole diameter for flat and bull tools, the
    // section at the step-down height for the others.
    let effective_diameter = 2.0 * tool.radius_at(stepdown_mm);
    tool.stepover_mm = stepover * effective_diameter;
    cutting_data(t, &mut tool, effective_diameter, machine, material)?;
    Ok(tool)
}

/// A tool's shape as its `[[tool]]` table gives it, checked: the kind, and the tip, angle
/// and corner that kind needs (and no other).
pub(super) struct ToolShape {
    pub(super) kind: ToolKind,
    pub(super) tip_diameter_mm: f64,
    pub(super) included_angle_deg: f64,
    pub(super) corner_radius_mm: f64,
}

pub(super) fn tool_shape(t: &ToolFile) -> Result<ToolShape> {
    let key = |k: &str| format!("tool {}: {k}", t.number);
    let kind = ToolKind::from_name(&t.kind).ok_or_else(|| {
        setting(&key("kind"), &format!("unknown kind `{}` (expected flat, ball, bull, vee or tapered-ball)", t.kind))
    })?;
    positive(&key("diameter-mm"), t.diameter_mm)?;
    if t.diameter_mm > 50.0 {
        return Err(setting(&key("diameter-mm"), "is larger than any engraving tool"));
    }
    let does_not_apply = |name: &str, given: bool| {
        if given {
            Err(setting(&key(name), &format!("does not apply to a {} tool", kind.name())))
        } else {
            Ok(())
        }
    };
    let mut shape = ToolShape { kind, tip_diameter_mm: 0.0, included_angle_deg: 0.0, corner_radius_mm: 0.0 };
    match kind {
        ToolKind::Flat | ToolKind::Ball | ToolKind::Bull => {
            does_not_apply("tip-diameter-mm", t.tip_diameter_mm.is_some())?;
            does_not_apply("included-angle-deg", t.included_angle_deg.is_some())?;
            does_not_apply("half-angle-deg", t.half_angle_deg.is_some())?;
        }
        ToolKind::Vee | ToolKind::TaperedBall => does_not_apply("corner-radius-mm", t.corner_radius_mm.is_some())?,
    }
    match kind {
        ToolKind::Flat => does_not_apply("corner-radius-mm", t.corner_radius_mm.is_some())?,
        ToolKind::Ball => {
            does_not_apply("corner-radius-mm", t.corner_radius_mm.is_some())?;
            shape.corner_radius_mm = t.diameter_mm / 2.0;
        }
        ToolKind::Bull => {
            let rc = t.corner_radius_mm.ok_or_else(|| setting(&key("corner-radius-mm"), "a bull tool needs one"))?;
            if !(rc > 0.0 && rc <= t.diameter_mm / 2.0) {
                return Err(setting(&key("corner-radius-mm"), "must be more than 0 and at most half the diameter"));
            }
            shape.corner_radius_mm = rc;
        }
        ToolKind::Vee | ToolKind::TaperedBall => {
            shape.included_angle_deg = match (t.included_angle_deg, t.half_angle_deg) {
                (Some(a), None) => a,
                (None, Some(a)) => 2.0 * a,
                _ => {
                    return Err(setting(
                        &key("included-angle-deg"),
                        "give exactly one of included-angle-deg and half-angle-deg (vendors use both)",
                    ))
                }
            };
            if !(shape.included_angle_deg > 0.0 && shape.included_angle_deg < 180.0) {
                return Err(setting(&key("included-angle-deg"), "must be more than 0 and less than 180 degrees"));
            }
            let tip = t.tip_diameter_mm.ok_or_else(|| setting(&key("tip-diameter-mm"), "a tapered tool needs one"))?;
            let smallest = if kind == ToolKind::Vee { 0.0 } else { f64::MIN_POSITIVE };
            if !(tip >= smallest && tip < t.diameter_mm) {
                return Err(setting(&key("tip-diameter-mm"), "must be at least 0 and less than the diameter"));
            }
            shape.tip_diameter_mm = tip;
        }
    }
    Ok(shape)
}

/// The least default chip load of a tool kind, in mm: below it the edge rubs instead of
/// cutting (the minimum chip thickness is 0.14 to 0.43 of the edge radius, and micro tools
/// have 1 to 3 um edges). A vee's or tapered tool's chip runs along its edge at about the feed
/// per tooth, whatever its small section: 4 um, the least machine-time.md quotes for a 20
/// degree vee with a 0.1 mm tip in annealed H13 or D2 (3 to 5 um).
fn least_chip_load(kind: ToolKind) -> f64 {
    if kind.is_tapered() {
        0.004
    } else {
        0.002
    }
}

/// The spindle speed, feed and plunge feed of `tool` (whose section at one step-down is
/// `effective_diameter` wide), from its table or from the material, clamped to the machine;
/// each clamp noted in the tool's `limits`.
pub(super) fn cutting_data(
    t: &ToolFile,
    tool: &mut Tool,
    effective_diameter: f64,
    machine: &Machine,
    material: &Material,
) -> Result<()> {
    let key = |k: &str| format!("tool {}: {k}", t.number);
    let max = machine.file();
    // A value given is checked as given: NaN.min(max) would be the maximum.
    for (name, given) in [
        ("spindle-rpm", t.spindle_rpm),
        ("chip-load-mm", t.chip_load_mm),
        ("feed-mm-per-min", t.feed_mm_per_min),
        ("plunge-mm-per-min", t.plunge_mm_per_min),
    ] {
        if let Some(value) = given {
            positive(&key(name), value)?;
        }
    }
    let mut limits = Vec::new();
    let mut clamp = |name: &str, asked: f64, by: &str, limit: f64, machine_key: &str| {
        if asked > limit {
            limits.push(format!("{name} {} = machine {machine_key}, {by} asks {}", round(limit), round(asked)));
        }
        asked.min(limit)
    };
    // From values that are positive (given and checked, defaults, or the machine's maxima):
    // positive; only rounding to zero is left to check.
    let (asked_rpm, by) = match t.spindle_rpm {
        Some(rpm) => (rpm, "the job".to_string()),
        None => (
            material.rpm(effective_diameter),
            format!("{} m/min in {}", material.surface_speed_m_per_min, material.name),
        ),
    };
    let spindle_rpm = clamp("spindle-rpm", asked_rpm, &by, max.max_rpm, "max-rpm");
    if spindle_rpm < 1.0 {
        return Err(setting(&key("spindle-rpm"), "must be at least 1 rpm"));
    }
    let chip_load = t.chip_load_mm.unwrap_or(
        material.chip_load(tool.kind.is_tapered(), effective_diameter).clamp(least_chip_load(tool.kind), 0.05),
    );
    let (asked_feed, by) = match t.feed_mm_per_min {
        Some(feed) => (feed, "the job"),
        None => (chip_load * f64::from(tool.flutes) * spindle_rpm, "the chip load"),
    };
    let feed = clamp("feed-mm-per-min", asked_feed, by, max.max_feed_mm_per_min, "max-feed-mm-per-min");
    // Ramps and helices descend at the ramp angle (a few degrees): the cutting feed suits them.
    let plunge = match t.plunge_mm_per_min {
        Some(plunge) => clamp("plunge-mm-per-min", plunge, "the job", max.max_feed_mm_per_min, "max-feed-mm-per-min"),
        None => feed,
    };
    // A feed that rounds to F0 at the machine's feed decimals would stop the control.
    let least = 10f64.powi(-i32::try_from(max.feed_decimals).unwrap_or(0));
    for (name, value) in [("feed-mm-per-min", feed), ("plunge-mm-per-min", plunge)] {
        if value < least {
            return Err(setting(&key(name), &format!("{value} mm/min is under the machine's least feed, {least}")));
        }
    }
    tool.spindle_rpm = spindle_rpm;
    tool.feed_mm_per_min = feed;
    tool.plunge_mm_per_min = plunge;
    tool.limits = limits;
    Ok(())
}

/// `value` to three significant digits or whole units, whichever is finer, for the limits'
/// notes.
fn round(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{}", (value * 1000.0).round() / 1000.0)
    }
}
