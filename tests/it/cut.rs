//! Simulated with the true tool shape, the program cuts inside the artwork's filled area only
//! (no cell centre cut farther than 0.01 mm outside it), reaches the requested depth
//! everywhere the tool fits, never deeper, and no rapid move touches the stock.

use medalcam::geom;
use medalcam::simulation::simulate;

use crate::util::{engrave, CASES};

/// Largest allowed cut outside the artwork, in mm.
const OVERCUT_MM: f64 = 0.01;
/// Width of the edge band where "reaches depth" is not asserted: the offset rings are
/// inscribed polygons (0.5 um sag), so the very edge of the reachable area may be shy by that.
const EDGE_BAND_MM: f64 = 0.01;
const CELL_MM: f64 = 0.01;

#[test]
fn cut_stays_inside_the_artwork_and_reaches_depth() {
    for case in CASES {
        let engraving = engrave(case, "haas");
        let tools: Vec<_> = engraving.toolpaths.operations.iter().map(|op| op.tool.clone()).collect();
        let level = &engraving.relief.levels[0];
        let radius = tools[0].diameter_mm / 2.0;
        let b = geom::bounds(level.area.iter().flatten()).expect("area");
        let bounds = [b[0] - 1.0, b[1] - 1.0, b[2] + 1.0, b[3] + 1.0];
        let sim = simulate(&engraving.program, &tools, bounds, CELL_MM).expect("simulates");
        let hm = &sim.heightmap;
        assert_eq!(sim.rapid_cuts, 0, "{}: rapid moves cut the stock", case.sample);

        let inside = hm.coverage(&level.area);
        let reachable = geom::offset(&geom::offset(&geom::offset(&level.area, -radius), radius), -EDGE_BAND_MM);
        let must_reach = hm.coverage(&reachable);
        let (mut overcut, mut shy, mut deepest) = (0usize, 0usize, 0.0f64);
        let mut worst_overcut = 0.0f64;
        for iy in 0..hm.ny {
            for ix in 0..hm.nx {
                let k = iy * hm.nx + ix;
                let z = hm.z[k];
                deepest = deepest.min(z);
                if z < -1e-9 && !inside[k] {
                    let d = geom::boundary_distance(&level.area, hm.cell_center(ix, iy));
                    worst_overcut = worst_overcut.max(d);
                    if d > OVERCUT_MM {
                        overcut += 1;
                    }
                }
                if must_reach[k] && z > -level.depth_mm + 1e-6 {
                    shy += 1;
                }
            }
        }
        let reach_cells = must_reach.iter().filter(|&&r| r).count();
        assert!(reach_cells > 1000, "{}: the tool reaches almost nothing ({reach_cells} cells)", case.sample);
        assert_eq!(overcut, 0, "{}: {overcut} cells cut outside the artwork, worst {worst_overcut:.4} mm", case.sample);
        assert_eq!(shy, 0, "{}: {shy} of {reach_cells} reachable cells are not cut to depth", case.sample);
        assert!((deepest + level.depth_mm).abs() < 1e-6, "{}: deepest cut {deepest}", case.sample);
    }
}
