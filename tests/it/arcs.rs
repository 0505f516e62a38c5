//! G2/G3 arcs: the program with arcs cuts what the same toolpaths written as G1 lines cut.

use medalcam::geom;
use medalcam::job::{Job, JobFile, Overrides};
use medalcam::machine::{Machine, BUILT_IN};
use medalcam::simulation::{simulate, Heightmap};
use medalcam::{Engraving, Progress};

use crate::util::{sample_path, CASES};

const CELL_MM: f64 = 0.01;
/// Depth tolerance of the comparison, in mm: the program's coordinates are rounded to 1 um.
const Z_EPS: f64 = 0.0006;

fn engrave_linuxcnc(arcs: bool) -> Engraving {
    let (_, text) = BUILT_IN.iter().find(|(name, _)| *name == "linuxcnc").expect("built-in");
    let text = text.replace("arcs = true", &format!("arcs = {arcs}"));
    let machine = Machine::from_toml("linuxcnc", &text).expect("valid profile");
    let case = &CASES[0];
    let job =
        Job::resolve(&JobFile::default(), &Overrides { diameter_mm: case.diameter_mm, ..Default::default() }, machine)
            .expect("job");
    let svg = std::fs::read(sample_path(case.sample)).expect("sample exists");
    medalcam::engrave(&svg, case.sample, &job, &Progress::hidden()).expect("engraves")
}

/// Whether depth `z` is between the lowest and highest depth of `other` within one cell of
/// (`ix`, `iy`): the surface there is within one cell of the other's sideways.
fn near(other: &Heightmap, ix: usize, iy: usize, z: f64) -> bool {
    let (x0, y0) = (ix.saturating_sub(1), iy.saturating_sub(1));
    let around = (y0..=(iy + 1).min(other.ny - 1))
        .flat_map(|y| (x0..=(ix + 1).min(other.nx - 1)).map(move |x| other.z[y * other.nx + x]));
    let (lo, hi) = around.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    z >= lo - Z_EPS && z <= hi + Z_EPS
}

#[test]
fn arcs_cut_what_the_lines_cut() {
    let (arcs, lines) = (engrave_linuxcnc(true), engrave_linuxcnc(false));
    let paths = |e: &Engraving| e.toolpaths.operations.iter().map(|op| op.paths.clone()).collect::<Vec<_>>();
    assert!(paths(&arcs) == paths(&lines), "same toolpaths");
    // Blocks, not comments (which may hold any word, " IN C45").
    let blocks =
        |program: &str| program.lines().filter(|l| !l.starts_with('(')).map(str::to_string).collect::<Vec<_>>();
    let arc_blocks = blocks(&arcs.program).iter().filter(|l| l.contains(" I") && l.contains(" J")).count();
    assert!(arc_blocks > 100, "only {arc_blocks} arcs");
    assert!(!blocks(&lines.program).iter().any(|l| l.contains(" I")));
    assert!(arcs.program.len() < lines.program.len());

    let tools: Vec<_> = arcs.toolpaths.operations.iter().map(|op| op.tool.clone()).collect();
    let b = geom::bounds(arcs.relief.levels[0].area.iter().flatten()).expect("area");
    let bounds = [b[0] - 1.0, b[1] - 1.0, b[2] + 1.0, b[3] + 1.0];
    let a = simulate(&arcs.program, &tools, bounds, CELL_MM).expect("simulates");
    let l = simulate(&lines.program, &tools, bounds, CELL_MM).expect("simulates");
    assert_eq!(a.rapid_cuts, l.rapid_cuts);
    let (a, l) = (&a.heightmap, &l.heightmap);
    // Where the depths differ, the arcs moved a wall by less than one cell: each depth lies
    // within the range of depths the other die has within one cell.
    let (mut cut, mut moved) = (0usize, Vec::new());
    for iy in 0..a.ny {
        for ix in 0..a.nx {
            let k = iy * a.nx + ix;
            cut += usize::from(a.z[k] < -Z_EPS);
            if (a.z[k] - l.z[k]).abs() > Z_EPS && (!near(l, ix, iy, a.z[k]) || !near(a, ix, iy, l.z[k])) {
                moved.push(a.cell_center(ix, iy));
            }
        }
    }
    assert!(moved.is_empty(), "{} cells differ by more than one cell, e.g. at {:?}", moved.len(), moved[0]);
    // Beyond rounding, the arcs may move the path sideways by the arc tolerance plus rounding
    // (0.002 mm), which on a tool's flank of slope s moves the surface by 0.002 s in depth:
    // 0.011 mm on a 20 degree V-bit's.
    // (Vertical walls, where a sideways move shows only at the wall, are the check above.)
    let steepest = tools.iter().filter(|t| t.kind.is_tapered()).map(|t| 1.0 / t.half_angle().tan()).fold(0.0, f64::max);
    let flank_eps = Z_EPS + 0.002 * steepest;
    let far: Vec<usize> = (0..a.z.len()).filter(|&k| (a.z[k] - l.z[k]).abs() > flank_eps).collect();
    assert!(far.len() * 500 < cut, "{} of {cut} cut cells differ by more than {flank_eps} mm", far.len());
}
