//! The gouge invariant over generated reliefs: whatever the regions, levels, tools and draft,
//! the program, simulated with the true tool shapes, never cuts past a level's drafted wall
//! by more than the tolerance and never deeper than the deepest level.

use medalcam::geom;
use medalcam::relief::Level;
use medalcam::simulation::simulate;
use medalcam::tool::{Tool, ToolKind};
use medalcam::toolpath::ToolpathOptions;
use proptest::prelude::*;

use crate::util::shape;

const CELL_MM: f64 = 0.02;
const OVERCUT_MM: f64 = 0.01;
const Z_EPS: f64 = 0.0051;

fn tool(kind: usize, number: u32) -> Tool {
    let base = Tool::flat(number, 1.0);
    match kind {
        0 => Tool::flat(number, 1.0),
        1 => Tool::flat(number, 0.4),
        2 => Tool { kind: ToolKind::Ball, diameter_mm: 0.8, corner_radius_mm: 0.4, stepover_mm: 0.1, ..base },
        3 => Tool { kind: ToolKind::Bull, corner_radius_mm: 0.2, ..base },
        4 => Tool {
            kind: ToolKind::Vee,
            diameter_mm: 3.0,
            tip_diameter_mm: 0.1,
            included_angle_deg: 20.0,
            stepover_mm: 0.04,
            stepdown_mm: 0.05,
            ..base
        },
        _ => Tool {
            kind: ToolKind::TaperedBall,
            diameter_mm: 2.0,
            tip_diameter_mm: 0.2,
            included_angle_deg: 20.0,
            stepover_mm: 0.04,
            stepdown_mm: 0.05,
            ..base
        },
    }
}

/// Plans `outer` (united) as one level of `depths.0` and its part inside `inner` as a deeper
/// one, cuts it with the tools of `kinds`, and checks the simulated die against the walls.
fn check_walls(outer: &[geom::Shape], inner: geom::Shape, depths: (f64, f64), kinds: &[usize], draft_deg: f64) {
    let top = geom::union(outer).unwrap();
    let deep = geom::intersect(&top, &vec![inner]).unwrap();
    let mut levels = vec![Level { depth_mm: depths.0, area: top.clone() }];
    if !deep.is_empty() {
        levels.push(Level { depth_mm: depths.0 + depths.1, area: deep });
    }
    let relief = crate::util::die(levels);
    let tools: Vec<Tool> = kinds.iter().enumerate().map(|(i, &k)| tool(k, i as u32 + 1)).collect();
    let mut options = ToolpathOptions::new(tools.clone());
    options.draft_deg = draft_deg;
    let Some(toolpaths) = crate::util::plan(&relief, &options).expect("plans") else {
        return; // no tool fits anywhere
    };
    let machine = medalcam::machine::Machine::built_in("linuxcnc").expect("built-in").expect("valid");
    let program = crate::util::emit(&toolpaths, &machine, "gouge");
    let sim = simulate(&program, &tools, [-6.0, -6.0, 6.0, 6.0], CELL_MM).expect("simulates");
    assert_eq!(sim.rapid_cuts, 0);
    let draft = draft_deg.to_radians().tan();
    let mut above = 0.0;
    for level in &relief.levels {
        let (count, worst) =
            crate::util::overcut(&sim.heightmap, &level.area, above, level.depth_mm, draft, OVERCUT_MM, Z_EPS);
        assert_eq!(count, 0, "level {}: worst crossing {} mm", level.depth_mm, worst);
        above = level.depth_mm;
    }
    let deepest = sim.heightmap.z.iter().copied().fold(0.0, f64::min);
    assert!(-deepest <= above + Z_EPS, "cut to {} below the deepest level {}", -deepest, above);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn no_tool_cuts_past_a_drafted_wall(
        outer in prop::collection::vec(shape(), 1..3),
        inner in shape(),
        depths in (0.05..0.3f64, 0.02..0.2f64),
        kinds in prop::collection::vec(0..6usize, 1..3),
        draft_deg in prop_oneof![Just(0.0), Just(5.0), Just(10.0)],
    ) {
        check_walls(&outer, inner, depths, &kinds, draft_deg);
    }
}

/// A case the proptest found: a flat end mill clears a disc with 5 degree walls and leaves
/// the wedge between its vertical cut and the drafted wall (no tapered tool in this job takes
/// it); a bull nose then cuts the deeper part of the disc (1 mm wide, along the wall), and its
/// rapid down to 0.1 mm above an entry passed its torus through the wedge near the top of the
/// wall. Entries near a holder's wall now go in from the die face.
#[test]
fn a_bull_nose_then_a_flat_mill_in_a_disc_over_a_rectangle() {
    let (cx, r) = (0.8303625198976655, 2.1176700354374316);
    let disc: Vec<[f64; 2]> = (0..96)
        .map(|k| {
            let a = std::f64::consts::TAU * f64::from(k) / 96.0;
            [cx + r * a.cos(), r * a.sin()]
        })
        .collect();
    let (x0, x1, y) = (-3.7468785803143287, -0.2693328321780246, 2.344527387371763);
    let rect = vec![vec![[x0, -y], [x1, -y], [x1, y], [x0, y]]];
    check_walls(&[vec![disc]], rect, (0.28680524349932834, 0.02), &[3, 0], 5.0);
}
