//! No rapid and no plunge into stock: the programs of issue 14's reproductions and of
//! generated reliefs, across depths, step-downs, tools and profiles, pass the guard that every
//! run applies, and an independent replay on the whole grid ([`simulate_checked`]) confirms
//! it. A program edited by hand to rapid into stock is refused by the guard.

use medalcam::geom;
use medalcam::job::{Job, JobFile, Overrides};
use medalcam::machine::Machine;
use medalcam::relief::Level;
use medalcam::simulation::{guard, simulate_checked, Hazard};
use medalcam::tool::{Tool, ToolKind};
use medalcam::toolpath::ToolpathOptions;
use medalcam::Progress;
use proptest::prelude::*;

use crate::emblem::emblem_shades;
use crate::util::shape;

const TOLERANCE_MM: f64 = 0.005;

fn profile(name: &str, approach_mm: f64, clearance_mm: f64) -> Machine {
    let text = std::fs::read_to_string(crate::util::root().join("machines").join(format!("{name}.toml")))
        .expect("built-in profile");
    let set = text
        .replace("approach-mm = 0.1\n", &format!("approach-mm = {approach_mm}\n"))
        .replace("clearance-z-mm = 5.0\n", &format!("clearance-z-mm = {clearance_mm}\n"));
    // Both keys are where the test expects them: a default that moved must not go untested.
    assert_eq!(set.matches(&format!("approach-mm = {approach_mm}\n")).count(), 1, "approach-mm in {name}");
    assert_eq!(set.matches(&format!("clearance-z-mm = {clearance_mm}\n")).count(), 1, "clearance-z-mm in {name}");
    Machine::from_toml(name, &set).expect("valid profile")
}

/// Engraves `svg` with `flags`' size and depth on `machine` (the guard runs inside), then
/// replays the program on the whole die: no rapid and no plunge cuts stock.
fn assert_safe(name: &str, svg: &[u8], machine: &str, diameter_mm: Option<f64>, depth_mm: Option<f64>) {
    let machine = Machine::built_in(machine).expect("built-in").expect("valid");
    let overrides = Overrides { diameter_mm, depth_mm, ..Default::default() };
    let job = Job::resolve(&JobFile::default(), &overrides, machine).expect("job");
    let engraving = medalcam::engrave(svg, name, &job, &Progress::hidden()).expect("the guard accepts the program");
    let b = geom::bounds(engraving.relief.levels[0].area.iter().flatten()).expect("area");
    let bounds = [b[0] - 2.0, b[1] - 2.0, b[2] + 2.0, b[3] + 2.0];
    let sim = simulate_checked(&engraving.program, &engraving.toolpaths.tools(), bounds, 0.01, Some(TOLERANCE_MM))
        .expect("simulates");
    assert_eq!((sim.rapid_cuts, sim.plunge_cuts), (0, 0), "{name} {diameter_mm:?} {depth_mm:?}: rapid and plunge cuts");
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(crate::util::sample_path(name)).expect("sample")
}

#[test]
fn the_coin_cut_deeper_than_the_approach_height_neither_rapids_nor_plunges_into_stock() {
    // Was: `G0 Z-0.09` then `G1 Z-0.59` where nothing had been cut, 14 such rapids.
    for machine in ["haas", "linuxcnc"] {
        assert_safe("coin.svg", &sample("coin"), machine, None, Some(0.6));
    }
}

#[test]
fn a_square_cut_a_millimetre_deep_does_not_rapid_into_its_wall_allowance() {
    // Was: `G0 Z-0.49` at X2.386 Y-2.386 before the finishing ring, 0.02 mm into the wall.
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><rect x="19.36" y="19.36" width="61.28" height="61.28"/></svg>"#;
    for machine in ["haas", "linuxcnc"] {
        assert_safe("square.svg", svg, machine, Some(10.0), Some(1.0));
    }
}

#[test]
fn the_coin_and_the_small_medal_are_entered_by_ramps_only() {
    // Was: the V-bit fed straight down 435 times on the medal at 20 mm, the 1 mm tool 3 times
    // on the coin.
    assert_safe("coin.svg", &sample("coin"), "haas", None, None);
    assert_safe("medal-40mm.svg", &sample("medal-40mm"), "haas", Some(20.0), None);
}

#[test]
fn a_program_edited_to_rapid_into_stock_is_refused() {
    let machine = Machine::built_in("haas").expect("built-in").expect("valid");
    let job = Job::resolve(&JobFile::default(), &Overrides::default(), machine).expect("job");
    let engraving = medalcam::engrave(&sample("coin"), "coin.svg", &job, &Progress::hidden()).expect("engraves");
    let tools = engraving.toolpaths.tools();
    assert_eq!(guard(&engraving.program, &tools, TOLERANCE_MM).expect("reads"), Vec::new());
    // The first approach rapids down to just above its cut: move it 0.1 mm below the face,
    // where the tool has not been yet.
    let lines: Vec<&str> = engraving.program.lines().collect();
    let at = lines.iter().position(|l| l.starts_with('Z') && !l.contains("Z5.")).expect("an approach");
    let mut edited: Vec<String> = lines.iter().map(|l| (*l).to_string()).collect();
    edited[at] = "G0 Z-0.1".to_string();
    let found = guard(&edited.join("\n"), &tools, TOLERANCE_MM).expect("reads");
    assert!(!found.is_empty(), "the edited rapid is not found");
    let first_tool = engraving.toolpaths.operations[0].tool.number;
    assert_eq!((found[0].line, found[0].hazard, found[0].tool), (at + 1, Hazard::Rapid, first_tool), "{}", found[0]);
    assert!(found[0].to == [found[0].to[0], found[0].to[1], -0.1]);
}

#[test]
fn a_bull_nose_tool_leaves_no_ridge_in_the_middle_of_a_slot() {
    // A 1 mm bull nose tool (0.2 mm corners) is flat 0.34 mm from its axis within the
    // tolerance, and steps over 0.4 mm. In a slot 2.58 mm wide its innermost ring is 0.74 mm
    // wide: the middle line, 0.37 mm from it, stood 0.013 mm proud of the floor (a level
    // below was entered from just above the floor straight into such a ridge).
    let slot = crate::util::rect([0.0, 0.0], 3.0, 1.29);
    let relief = crate::util::die(vec![Level { depth_mm: 0.3, area: vec![slot] }]);
    let bull = Tool { kind: ToolKind::Bull, corner_radius_mm: 0.2, stepdown_mm: 0.3, ..Tool::flat(1, 1.0) };
    let toolpaths = crate::util::plan(&relief, &ToolpathOptions::new(vec![bull.clone()])).unwrap().expect("fits");
    let machine = profile("linuxcnc", 0.1, 5.0);
    let program = crate::util::emit(&toolpaths, &machine, "bull");
    let sim = simulate_checked(&program, &[bull], [-4.0, -2.0, 4.0, 2.0], 0.01, Some(TOLERANCE_MM)).expect("simulates");
    let hm = &sim.heightmap;
    // Every cell within 0.7 mm of the middle (where the tool's flat reaches) is at the floor.
    let mut highest = f64::NEG_INFINITY;
    for iy in 0..hm.ny {
        for ix in 0..hm.nx {
            let c = hm.cell_center(ix, iy);
            if c[0].abs() < 2.0 && c[1].abs() < 0.7 {
                highest = highest.max(hm.z[iy * hm.nx + ix]);
            }
        }
    }
    assert!(highest < -0.3 + TOLERANCE_MM, "the slot's middle stands at {highest}");
}

fn tool(kind: usize, number: u32, stepdown_mm: f64) -> Tool {
    let base = Tool { stepdown_mm, spindle_rpm: 8000.0, ..Tool::flat(number, 1.0) };
    match kind {
        0 => base,
        1 => Tool { diameter_mm: 0.4, stepover_mm: 0.16, ..base },
        2 => Tool { kind: ToolKind::Ball, diameter_mm: 0.8, corner_radius_mm: 0.4, stepover_mm: 0.1, ..base },
        3 => Tool { kind: ToolKind::Bull, corner_radius_mm: 0.2, ..base },
        _ => Tool {
            kind: ToolKind::Vee,
            diameter_mm: 3.0,
            tip_diameter_mm: 0.1,
            included_angle_deg: 20.0,
            stepover_mm: 0.04,
            stepdown_mm: stepdown_mm.min(0.05),
            ..base
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    /// Whatever the relief (one to three nested levels, 0.05 to 2 mm deep, the deepest
    /// region perhaps going on unchanged one level more), the tools and their step-downs, the
    /// floor finish, the profile and its approach and clearance heights, the hop height:
    /// the guard finds
    /// nothing, and the replay on the whole grid agrees.
    #[test]
    fn no_rapid_and_no_plunge_into_stock(
        outer in prop::collection::vec(shape(), 1..3),
        inner in prop::collection::vec(shape(), 0..3),
        depths in (0.05..1.2f64, 0.0..0.8f64, 0.0..0.4f64),
        kinds in prop::collection::vec(0..5usize, 1..4),
        stepdown_mm in prop_oneof![Just(0.02), Just(0.1), Just(0.25), Just(0.6)],
        draft_deg in prop_oneof![Just(0.0), Just(10.0)],
        heights in (prop_oneof![Just(0.1f64), Just(0.5), Just(2.0)], prop_oneof![Just(1.0f64), Just(5.0)]),
        hop_mm in prop_oneof![Just(0.1f64), Just(0.5), Just(3.0)],
        dialect in prop_oneof![Just("haas"), Just("linuxcnc")],
        floor_skim in any::<bool>(),
        copied in any::<bool>(),
    ) {
        let top = geom::union(&outer).unwrap();
        let mut levels = vec![Level { depth_mm: depths.0, area: top.clone() }];
        let mut depth = depths.0;
        for (k, step) in [depths.1, depths.2].into_iter().enumerate() {
            let Some(shape) = inner.get(k) else { break };
            let area = geom::intersect(&levels.last().expect("a level").area, &vec![shape.clone()]).unwrap();
            if area.is_empty() || step < 0.01 {
                break;
            }
            depth += step;
            levels.push(Level { depth_mm: depth, area });
        }
        // A region that goes on unchanged one level deeper (cut to that floor at once).
        if copied {
            let last = levels.last().expect("a level").clone();
            levels.push(Level { depth_mm: last.depth_mm + 0.03, area: last.area });
        }
        let relief = crate::util::die(levels);
        let tools: Vec<Tool> = kinds.iter().enumerate().map(|(i, &k)| tool(k, i as u32 + 1, stepdown_mm)).collect();
        let clearance = heights.1.max(heights.0);
        let mut options = ToolpathOptions::new(tools.clone());
        options.draft_deg = draft_deg;
        options.hop_mm = hop_mm.min(clearance);
        if floor_skim {
            (options.floor_skim, options.floor_allowance_mm) = (true, 0.01);
        }
        let Some(toolpaths) = crate::util::plan(&relief, &options)? else {
            return Ok(()); // no tool fits anywhere
        };
        let machine = profile(dialect, heights.0, clearance);
        let program = crate::util::emit(&toolpaths, &machine, "safety");
        let found = guard(&program, &tools, TOLERANCE_MM).expect("reads");
        prop_assert!(found.is_empty(), "{} moves into stock, first: {}", found.len(), found[0]);
        let sim = simulate_checked(&program, &tools, [-6.0, -6.0, 6.0, 6.0], 0.02, Some(TOLERANCE_MM)).expect("simulates");
        prop_assert_eq!((sim.rapid_cuts, sim.plunge_cuts), (0, 0));
    }
}

#[test]
fn a_deeper_level_is_not_entered_under_the_rest_a_smaller_tool_cuts_later() {
    // Was: the 0.6 mm tool (T4) entered a level 0.14 mm deep from just above its top, next to
    // a cusp of the level above that the 0.3 mm tool was to cut, later: 0.095 mm of stock,
    // and the guard refused the program. Tools cut level after level, each tool before the
    // next: the rest a tool leaves stands while it cuts the levels below.
    let machine = Machine::built_in("haas").expect("built-in").expect("valid");
    let overrides = Overrides { diameter_mm: Some(40.0), ..Default::default() };
    let job = Job::resolve(&JobFile::default(), &overrides, machine).expect("job");
    let svg = emblem_shades();
    let engraving = medalcam::engrave(svg.as_bytes(), "emblem.svg", &job, &Progress::hidden());
    assert!(engraving.is_ok(), "{:?}", engraving.err());
}
