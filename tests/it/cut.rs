//! Simulated with the true tool shapes, the program cuts each level inside that level's area
//! only, leaning back by the draft (no cell centre cut below a level's top farther than
//! 0.01 mm outside the level's drafted wall), reaches each level's depth everywhere the plan
//! says a tool reaches, the plan reaches everywhere the smallest tool physically fits, and no
//! rapid move touches the stock.

use medalcam::geom;
use medalcam::simulation::simulate;

use crate::util::{engrave, Case, CASES};

/// Cut-checked besides [`CASES`]: the medal at 20 mm, where the 0.3 mm tool finds no way into
/// one pocket centre (too short to ramp into, and it never plunges).
const MORE: &[Case] = &[Case { sample: "medal-40mm", diameter_mm: Some(20.0) }];

/// Largest allowed cut outside a level's drafted wall, in mm.
const OVERCUT_MM: f64 = 0.01;
/// Width of the edge band where "reaches depth" is not asserted: the offset rings are
/// inscribed polygons (0.5 um sag), so the very edge of the reachable area may be shy by that.
const EDGE_BAND_MM: f64 = 0.01;
const CELL_MM: f64 = 0.01;
/// Depth tolerance of the check, in mm: the program's coordinates are rounded to 1 um, and the
/// floor between the rings of a ball or vee tip is within the job tolerance (0.005).
const Z_EPS: f64 = 0.0051;

#[test]
fn cut_stays_inside_each_level_and_reaches_its_depth() {
    for case in CASES.iter().chain(MORE) {
        let engraving = engrave(case, "haas");
        let mut tools: Vec<_> = engraving.toolpaths.operations.iter().map(|op| op.tool.clone()).collect();
        tools.dedup_by_key(|t| t.number);
        let levels = &engraving.relief.levels;
        let job = crate::util::job("haas", case.diameter_mm);
        let draft = job.toolpath.draft_deg.to_radians().tan();
        let b = geom::bounds(levels[0].area.iter().flatten()).expect("area");
        let bounds = [b[0] - 1.0, b[1] - 1.0, b[2] + 1.0, b[3] + 1.0];
        let sim = simulate(&engraving.program, &tools, bounds, CELL_MM).expect("simulates");
        let hm = &sim.heightmap;
        assert_eq!(sim.rapid_cuts, 0, "{}: rapid moves cut the stock", case.sample);

        let mut reach_cells = 0;
        let mut top = 0.0;
        for (k, (level, reached)) in levels.iter().zip(&engraving.toolpaths.reached).enumerate() {
            let at = format!("{} level {} mm", case.sample, level.depth_mm);
            let must_reach = hm.coverage(&geom::offset(reached, -EDGE_BAND_MM).unwrap());
            let (overcut, worst) = crate::util::overcut(hm, &level.area, top, level.depth_mm, draft, OVERCUT_MM, Z_EPS);
            let mut shy = 0usize;
            for (k, &reach) in must_reach.iter().enumerate() {
                if reach {
                    reach_cells += 1;
                    shy += usize::from(-hm.z[k] < level.depth_mm - Z_EPS);
                }
            }
            assert_eq!(overcut, 0, "{at}: {overcut} cells cut past the level's wall, worst {worst:.4} mm");
            assert_eq!(shy, 0, "{at}: {shy} cells the plan reaches are not cut to depth");

            // Where the smallest tool fits with its whole height clear of the level's own wall
            // (a lower bound of where it physically reaches), the plan reaches.
            let smallest =
                tools.iter().min_by(|a, b| a.floor_radius(0.005).total_cmp(&b.floor_radius(0.005))).expect("a tool");
            let clearance = smallest.wall_clearance(level.depth_mm, job.toolpath.draft_deg.to_radians());
            // A region the next level holds unchanged has no floor here: it is cut on down, its
            // wall from this level's top to the deeper floor in one, and its floor is checked
            // there.
            let floors = match levels.get(k + 1) {
                Some(next) => {
                    level.area.iter().filter(|r| !next.area.iter().any(|n| same_region(r, n))).cloned().collect()
                }
                None => level.area.clone(),
            };
            let fits = geom::offset(&geom::offset(&floors, -clearance).unwrap(), smallest.floor_radius(0.005)).unwrap();
            let missed =
                geom::difference(&fits, &geom::offset(reached, job.toolpath.rest_thicker_than_mm).unwrap()).unwrap();
            let missed_area = geom::shapes_area(&missed);
            assert!(missed_area < 1e-3, "{at}: {missed_area} mm2 where T{} fits is not reached", smallest.number);
            top = level.depth_mm;
        }
        assert!(reach_cells > 1000, "{}: the tools reach almost nothing ({reach_cells} cells)", case.sample);
        let deepest = hm.z.iter().copied().fold(0.0, f64::min);
        assert!((deepest + top).abs() < Z_EPS, "{}: deepest cut {deepest}, deepest level {top}", case.sample);
    }
}

/// Whether two regions of successive levels are one region, as the planner judges it: the
/// same area, and boxes within 0.1 um (the levels come from separate booleans: the noto
/// sample has a region 7 nm off its copy one level up).
fn same_region(a: &geom::Shape, b: &geom::Shape) -> bool {
    let area = |s: &geom::Shape| geom::shapes_area(std::slice::from_ref(s));
    let (Some(p), Some(q)) = (geom::bounds(a.iter()), geom::bounds(b.iter())) else { return false };
    (area(a) - area(b)).abs() < 1e-9 && p.iter().zip(&q).all(|(x, y)| (x - y).abs() < 1e-4)
}
