//! Simulated with the true tool shape, the program cuts each level inside that level's area
//! only (no cell centre cut below the previous level's depth farther than 0.01 mm outside the
//! level), reaches each level's depth everywhere the tool fits, and no rapid move touches
//! the stock.

use medalcam::geom;
use medalcam::simulation::simulate;

use crate::util::{engrave, CASES};

/// Largest allowed cut outside a level's area, in mm.
const OVERCUT_MM: f64 = 0.01;
/// Width of the edge band where "reaches depth" is not asserted: the offset rings are
/// inscribed polygons (0.5 um sag), so the very edge of the reachable area may be shy by that.
const EDGE_BAND_MM: f64 = 0.01;
const CELL_MM: f64 = 0.01;
/// Depth tolerance of the check, in mm: the program's coordinates are rounded to 1 um.
const Z_EPS: f64 = 0.0006;

#[test]
fn cut_stays_inside_each_level_and_reaches_its_depth() {
    for case in CASES {
        let engraving = engrave(case, "haas");
        let tools: Vec<_> = engraving.toolpaths.operations.iter().map(|op| op.tool.clone()).collect();
        let levels = &engraving.relief.levels;
        let radius = tools[0].diameter_mm / 2.0;
        let b = geom::bounds(levels[0].area.iter().flatten()).expect("area");
        let bounds = [b[0] - 1.0, b[1] - 1.0, b[2] + 1.0, b[3] + 1.0];
        let sim = simulate(&engraving.program, &tools, bounds, CELL_MM).expect("simulates");
        let hm = &sim.heightmap;
        assert_eq!(sim.rapid_cuts, 0, "{}: rapid moves cut the stock", case.sample);

        let mut reach_cells = 0;
        let mut top = 0.0;
        for level in levels {
            let inside = hm.coverage(&level.area);
            // Where the tool fits (the opening of the area by the tool) and inside the area
            // itself: the opening also closes slits the area has, and a slit is uncut stock.
            let opening = geom::offset(&geom::offset(&level.area, -radius), radius);
            let reachable =
                geom::intersect(&geom::offset(&opening, -EDGE_BAND_MM), &geom::offset(&level.area, -EDGE_BAND_MM));
            let must_reach = hm.coverage(&reachable);
            let (mut overcut, mut shy, mut worst) = (0usize, 0usize, 0.0f64);
            for iy in 0..hm.ny {
                for ix in 0..hm.nx {
                    let k = iy * hm.nx + ix;
                    let z = hm.z[k];
                    if z < -top - Z_EPS && !inside[k] {
                        let d = geom::boundary_distance(&level.area, hm.cell_center(ix, iy));
                        worst = worst.max(d);
                        overcut += usize::from(d > OVERCUT_MM);
                    }
                    if must_reach[k] {
                        reach_cells += 1;
                        shy += usize::from(z > -level.depth_mm + Z_EPS);
                    }
                }
            }
            let at = format!("{} level {} mm", case.sample, level.depth_mm);
            assert_eq!(overcut, 0, "{at}: {overcut} cells cut below {top} mm outside the level, worst {worst:.4} mm");
            assert_eq!(shy, 0, "{at}: {shy} reachable cells are not cut to depth");
            top = level.depth_mm;
        }
        assert!(reach_cells > 1000, "{}: the tool reaches almost nothing ({reach_cells} cells)", case.sample);
        let deepest = hm.z.iter().copied().fold(0.0, f64::min);
        assert!((deepest + top).abs() < Z_EPS, "{}: deepest cut {deepest}, deepest level {top}", case.sample);
    }
}
