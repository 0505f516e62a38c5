//! Shared helpers: run the library on a sample with a built-in machine.

use std::path::PathBuf;

use medalcam::job::{Job, JobFile, Overrides};
use medalcam::machine::Machine;
use medalcam::{Engraving, Progress};

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// How a sample is engraved in the tests: its size and the machine.
pub struct Case {
    pub sample: &'static str,
    pub diameter_mm: Option<f64>,
}

/// The samples every end-to-end test runs on.
pub const CASES: &[Case] = &[
    Case { sample: "coin", diameter_mm: None },
    Case { sample: "gameicons_crown-coin", diameter_mm: Some(20.0) },
    Case { sample: "noto_u1f396", diameter_mm: Some(16.0) },
];

pub fn job(machine: &str, diameter_mm: Option<f64>) -> Job {
    let machine = Machine::built_in(machine).expect("built-in").expect("valid");
    Job::resolve(&JobFile::default(), &Overrides { diameter_mm, ..Default::default() }, machine).expect("job")
}

pub fn sample_path(sample: &str) -> PathBuf {
    root().join("samples").join(format!("{sample}.svg"))
}

/// The program `machine` (one with a tool changer: one file) writes for `toolpaths`, a die
/// named `name` in C45.
pub fn emit(toolpaths: &medalcam::toolpath::Toolpaths, machine: &Machine, name: &str) -> String {
    let info = medalcam::gcode::ProgramInfo {
        name: name.into(),
        source: name.into(),
        target: medalcam::job::Target::Die,
        material: "c45".into(),
    };
    let mut files = medalcam::gcode::emit(toolpaths, machine, &info).expect("emits");
    assert_eq!(files.len(), 1, "one file");
    files.remove(0).text
}

/// Engraves a sample through the library, as `medalcam engrave samples/<sample>.svg`.
pub fn engrave(case: &Case, machine: &str) -> Engraving {
    let svg = std::fs::read(sample_path(case.sample)).expect("sample exists");
    let title = format!("{}.svg", case.sample);
    let mut job = job(machine, case.diameter_mm);
    job.toolpath.measure_reach = true;
    medalcam::engrave(&svg, &title, &job, &Progress::hidden()).expect("engraves")
}

/// The first differing line of two texts with three lines of context.
pub fn first_difference(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let i = e.iter().zip(&a).position(|(x, y)| x != y).unwrap_or(e.len().min(a.len()));
    let from = i.saturating_sub(3);
    format!(
        "first difference at line {}:\n~~~ expected\n{}\n~~~ actual\n{}\n~~~ ({} expected lines, {} actual)",
        i + 1,
        e[from..(i + 4).min(e.len())].join("\n"),
        a[from..(i + 4).min(a.len())].join("\n"),
        e.len(),
        a.len()
    )
}

/// Cells of `hm` cut below `top` (by more than `z_eps`) past the wall of the level `area`
/// whose floor is at `depth`, the wall leaning back by `draft` (tan of the draft angle) from
/// `top` down: how many cross it by more than `overcut_mm` sideways, and the worst crossing.
pub fn overcut(
    hm: &medalcam::simulation::Heightmap,
    area: &medalcam::geom::Shapes,
    top: f64,
    depth: f64,
    draft: f64,
    overcut_mm: f64,
    z_eps: f64,
) -> (usize, f64) {
    use medalcam::geom;
    let inside = hm.coverage(area);
    // Cells farther in than the whole wall's lean: no distance to compute.
    let past_wall = hm.coverage(&geom::offset(area, -(depth - top) * draft).unwrap());
    let (mut count, mut worst) = (0usize, 0.0f64);
    for iy in 0..hm.ny {
        for ix in 0..hm.nx {
            let k = iy * hm.nx + ix;
            let cut = -hm.z[k];
            if cut > top + z_eps && !(inside[k] && past_wall[k]) {
                let d = geom::boundary_distance(area, hm.cell_center(ix, iy));
                let inset = if inside[k] { d } else { -d };
                let lean = (cut.min(depth) - top - z_eps).max(0.0) * draft;
                let crossed = lean - inset;
                worst = worst.max(crossed);
                count += usize::from(crossed > overcut_mm);
            }
        }
    }
    (count, worst)
}

/// A circle of 96 points, for generated reliefs.
pub fn circle(c: [f64; 2], r: f64) -> medalcam::geom::Shape {
    vec![(0..96)
        .map(|i| f64::from(i) * std::f64::consts::TAU / 96.0)
        .map(|a| [c[0] + r * a.cos(), c[1] + r * a.sin()])
        .collect()]
}

/// A rectangle of half-sides `w` and `h` about `c`.
pub fn rect(c: [f64; 2], w: f64, h: f64) -> medalcam::geom::Shape {
    vec![vec![[c[0] - w, c[1] - h], [c[0] + w, c[1] - h], [c[0] + w, c[1] + h], [c[0] - w, c[1] + h]]]
}

/// A circle or a rectangle within 3 mm of the centre, up to 2.5 mm in radius or half-side.
pub fn shape() -> impl proptest::strategy::Strategy<Value = medalcam::geom::Shape> {
    use proptest::prelude::*;
    let c = [-3.0..3.0f64, -3.0..3.0f64];
    prop_oneof![
        (c.clone(), 0.2..2.5f64).prop_map(|(c, r)| circle(c, r)),
        (c, 0.1..2.5f64, 0.1..2.5f64).prop_map(|(c, w, h)| rect(c, w, h)),
    ]
}

/// A die of these levels on a 16 mm square blank.
pub fn die(levels: Vec<medalcam::relief::Level>) -> medalcam::relief::Relief {
    medalcam::relief::Relief {
        target: medalcam::job::Target::Die,
        placement: kurbo::Affine::IDENTITY,
        regions: Vec::new(),
        levels,
        blank: vec![rect([0.0, 0.0], 8.0, 8.0)],
        shades: Vec::new(),
        vcarve_slope: 0.0,
        vcarve_tip_radius_mm: 0.0,
        grooves: Vec::new(),
        warnings: Vec::new(),
        chamfer_mm: 0.0,
    }
}

/// The plan of a generated relief, or `None` where no tool fits anywhere: the one error a
/// valid relief may give. Any other error fails the property.
pub fn plan(
    relief: &medalcam::relief::Relief,
    options: &medalcam::toolpath::ToolpathOptions,
) -> Result<Option<medalcam::toolpath::Toolpaths>, proptest::test_runner::TestCaseError> {
    match medalcam::toolpath::plan(relief, options, &Progress::hidden()) {
        Ok(toolpaths) => Ok(Some(toolpaths)),
        Err(medalcam::Error::ToolTooLarge { .. }) => Ok(None),
        Err(other) => Err(proptest::test_runner::TestCaseError::fail(format!("planning failed: {other}"))),
    }
}

/// Replays `engraving`'s program move by move with the true tool shapes, on a grid of
/// `cell_mm` over its relief's box grown by `margin_mm`: asserts that no rapid touches stock
/// and no feed goes straight down into it (`name` says which case failed), and checks the die
/// against the relief, stock counted reachable where the smallest tool's tip fits.
pub fn replayed(
    engraving: &Engraving,
    job: &Job,
    cell_mm: f64,
    margin_mm: f64,
    name: &str,
) -> (medalcam::simulation::Heightmap, medalcam::simulation::ReliefCheck) {
    let tools = engraving.toolpaths.tools();
    let tolerance = job.toolpath.tolerance_mm;
    let b = engraving.relief.bounds().expect("something is cut");
    let bounds = [b[0] - margin_mm, b[1] - margin_mm, b[2] + margin_mm, b[3] + margin_mm];
    let sim = medalcam::simulation::simulate_checked(&engraving.run(), &tools, bounds, cell_mm, Some(tolerance))
        .expect("simulates");
    assert_eq!((sim.rapid_cuts, sim.plunge_cuts), (0, 0), "{name}: a rapid or a plunge into stock");
    let reach = tools.iter().map(|t| t.floor_radius(tolerance)).fold(f64::INFINITY, f64::min);
    let check =
        medalcam::simulation::check_relief(&sim.heightmap, &engraving.relief, job.toolpath.draft_deg, reach, 0.01)
            .expect("checks");
    (sim.heightmap, check)
}
