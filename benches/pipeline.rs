//! End-to-end and per-stage benchmarks on the shipped samples.
//!
//! Quick run: `cargo bench --bench pipeline -- --warm-up-time 1 --measurement-time 3`.

use criterion::{criterion_group, criterion_main, Criterion};
use medalcam::job::{Job, JobFile, Overrides};
use medalcam::machine::Machine;
use medalcam::Progress;

#[path = "../tests/it/emblem.rs"]
mod emblem;
use emblem::emblem_shades;

fn job(diameter_mm: f64) -> Job {
    job_with(&JobFile::default(), diameter_mm)
}

fn job_with(file: &JobFile, diameter_mm: f64) -> Job {
    let machine = Machine::built_in("haas").expect("built-in").expect("valid");
    Job::resolve(file, &Overrides { diameter_mm: Some(diameter_mm), ..Default::default() }, machine).expect("job")
}

fn engrave(c: &mut Criterion) {
    let mut group = c.benchmark_group("engrave");
    group.sample_size(10);
    for (sample, diameter) in [("coin", 20.0), ("medal-40mm", 40.0)] {
        let svg = std::fs::read(format!("{}/samples/{sample}.svg", env!("CARGO_MANIFEST_DIR"))).expect("sample");
        let job = job(diameter);
        group.bench_function(sample, |b| {
            b.iter(|| {
                medalcam::engrave(std::hint::black_box(&svg), sample, &job, &Progress::hidden()).expect("engraves")
            });
        });
    }
    group.finish();
}

/// Issue 19's target: F-Engrave's V-carve workload (`samples/fengrave-plate.svg`: 20 motifs,
/// about 14,400 segments, evenodd) 100 mm tall, V-carved with a pointed 90 degree V-bit in one
/// pass, up to 1 mm deep: every region's medial axis and its paths, under 2 s on 2 cores
/// (F-Engrave 1.75: 49.4 s, one thread).
fn vcarve(c: &mut Criterion) {
    use rayon::prelude::*;
    let svg = std::fs::read(format!("{}/samples/fengrave-plate.svg", env!("CARGO_MANIFEST_DIR"))).expect("sample");
    let file = JobFile::from_toml(PLATE_JOB).expect("job");
    let machine = Machine::built_in("linuxcnc").expect("built-in").expect("valid");
    let job = Job::resolve(&file, &Overrides::default(), machine).expect("job");
    let artwork = medalcam::artwork::import(&svg, &job.import).expect("imports");
    let relief = medalcam::relief::build(&artwork, &job.relief).expect("relief");
    let shapes: Vec<&medalcam::geom::Shape> = relief
        .regions
        .iter()
        .filter(|r| r.strategy == medalcam::relief::Strategy::VCarve)
        .flat_map(|r| r.area.iter())
        .collect();
    let tool = &job.toolpath.tools[0];
    let options = medalcam::toolpath::vcarve::CarveOptions {
        depth_mm: 1.0,
        surround_mm: 0.0,
        sag_mm: 0.0005,
        prune_mm: 0.0025,
        allowance_mm: 0.002,
        cleared_mm: 0.0,
    };
    let mut group = c.benchmark_group("vcarve");
    group.sample_size(10);
    group.bench_function("fengrave-plate-100mm-90deg", |b| {
        b.iter(|| {
            let carvings: Vec<_> = shapes
                .par_iter()
                .map(|shape| medalcam::toolpath::vcarve::carve(shape, tool, options).expect("carves"))
                .collect();
            carvings
        });
    });
    group.finish();
}

/// The V-carve bench's job: the plate 100 mm tall, its motifs V-carved up to 1 mm deep by one
/// pointed 90 degree V-bit in one pass.
const PLATE_JOB: &str = "height-mm = 100.0\nmax-depth-mm = 1.0\ndefault-depth = \"uncut\"\n\
    [[layer]]\nid = \"motifs\"\ndepth-mm = 1.0\nstrategy = \"vcarve\"\n\
    [[tool]]\nnumber = 1\nkind = \"vee\"\ndiameter-mm = 6.0\ntip-diameter-mm = 0.0\n\
    included-angle-deg = 90\nstepdown-mm = 1.0\n";

/// Issue 16's target: the emblem of many shades engraved at 40 mm (default job, haas) in
/// under 5 s and 300 MB.
fn engrave_shades(c: &mut Criterion) {
    let svg = emblem_shades();
    let job = job(40.0);
    let mut group = c.benchmark_group("engrave");
    group.sample_size(10);
    group.bench_function("emblem-1000-shades", |b| {
        b.iter(|| {
            medalcam::engrave(std::hint::black_box(svg.as_bytes()), "emblem", &job, &Progress::hidden())
                .expect("engraves")
        });
    });
    group.finish();
}

/// Issue 14's figure: the safety guard alone on the 40 mm medal's program (default job, haas),
/// the cost every `engrave` pays before writing.
fn guard(c: &mut Criterion) {
    let svg = std::fs::read(format!("{}/samples/medal-40mm.svg", env!("CARGO_MANIFEST_DIR"))).expect("sample");
    let job = job(40.0);
    let engraving = medalcam::engrave(&svg, "medal-40mm", &job, &Progress::hidden()).expect("engraves");
    let tools = engraving.toolpaths.tools();
    let mut group = c.benchmark_group("guard");
    group.sample_size(10);
    group.bench_function("medal-40mm", |b| {
        b.iter(|| {
            let found = medalcam::simulation::guard(std::hint::black_box(&engraving.program), &tools, 0.005);
            assert!(found.expect("reads").is_empty());
        });
    });
    group.finish();
}

/// A 40 mm emblem of 50,000 path segments: 250 flower-shaped petals of 200 smooth cubic
/// segments each (control points on the tangents), in rotated groups, half of them stroked.
fn emblem_50k() -> String {
    use std::fmt::Write as _;
    let mut svg = String::from(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="40mm" viewBox="-200 -200 400 400">"#,
    );
    // r(t) = rho + a cos(5t) around (centre, 0): a simple closed curve for a < rho.
    let point = |centre: f64, t: f64| {
        let (rho, a) = (10.0, 3.0);
        let r = rho + a * (5.0 * t).cos();
        let dr = -5.0 * a * (5.0 * t).sin();
        let (s, c) = t.sin_cos();
        ([centre + r * c, r * s], [dr * c - r * s, dr * s + r * c])
    };
    for petal in 0..250 {
        let angle = f64::from(petal) * 360.0 / 250.0;
        let centre = 60.0 + f64::from(petal % 5) * 25.0;
        let _ = write!(svg, r#"<g transform="rotate({angle:.3})"><path d="M {:.3} 0"#, centre + 13.0);
        let h = std::f64::consts::TAU / 200.0;
        for k in 0..200 {
            let (t0, t1) = (f64::from(k) * h, f64::from(k + 1) * h);
            let ((p0, d0), (p1, d1)) = (point(centre, t0), point(centre, t1));
            let _ = write!(
                svg,
                " C {:.3} {:.3} {:.3} {:.3} {:.3} {:.3}",
                p0[0] + d0[0] * h / 3.0,
                p0[1] + d0[1] * h / 3.0,
                p1[0] - d1[0] * h / 3.0,
                p1[1] - d1[1] * h / 3.0,
                p1[0],
                p1[1]
            );
        }
        let paint =
            if petal % 2 == 0 { r##"fill="#d4af37""## } else { r#"fill="none" stroke="black" stroke-width="0.8""# };
        let _ = write!(svg, r#" Z" {paint}/></g>"#);
    }
    svg.push_str("</svg>");
    svg
}

fn import(c: &mut Criterion) {
    let emblem = emblem_50k();
    let options = medalcam::artwork::ImportOptions::default();
    c.bench_function("import/emblem-50k", |b| {
        b.iter(|| medalcam::artwork::import(std::hint::black_box(emblem.as_bytes()), &options).expect("imports"));
    });
    let svg = std::fs::read(format!("{}/samples/medal-40mm.svg", env!("CARGO_MANIFEST_DIR"))).expect("sample");
    c.bench_function("import/medal-40mm", |b| {
        b.iter(|| medalcam::artwork::import(std::hint::black_box(&svg), &options).expect("imports"));
    });
}

/// A 40 mm emblem of 6,000 path nodes: 60 overlapping petals of 100 nodes in six colours,
/// painted over each other, for the relief's paint-order flattening.
fn emblem_6k() -> String {
    use std::fmt::Write as _;
    let colors = ["#d4af37", "#b08d57", "#8c6d3f", "#404040", "#c0c0c0", "#7a1f1f"];
    let mut svg = String::from(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="40mm" viewBox="-200 -200 400 400">"#,
    );
    for petal in 0..60 {
        let angle = f64::from(petal) * 6.0_f64.to_radians() * 7.0;
        let (cx, cy) =
            (90.0 * angle.cos() * f64::from(petal % 3 + 1) / 3.0, 90.0 * angle.sin() * f64::from(petal % 3 + 1) / 3.0);
        let _ = write!(svg, "<path d=\"M");
        for k in 0..100 {
            let t = f64::from(k) / 100.0 * std::f64::consts::TAU;
            let r = 40.0 + 12.0 * (5.0 * t + f64::from(petal)).cos();
            let _ = write!(svg, " {:.3} {:.3}", cx + r * t.cos(), cy + r * t.sin());
        }
        let _ = write!(svg, r#" Z" fill="{}"/>"#, colors[petal as usize % colors.len()]);
    }
    svg.push_str("</svg>");
    svg
}

fn relief(c: &mut Criterion) {
    let emblem = emblem_6k();
    let artwork = medalcam::artwork::import(emblem.as_bytes(), &Default::default()).expect("imports");
    let options = medalcam::relief::ReliefOptions::default();
    c.bench_function("relief/flatten-6k", |b| {
        b.iter(|| medalcam::relief::build(std::hint::black_box(&artwork), &options).expect("builds"));
    });
}

/// Simulates the 20 mm coin's program at 0.01 mm cells: with the default tools (two flat end
/// mills and a V-bit), and with two flat end mills only; and the 40 mm medal's default-job
/// program.
fn simulate(c: &mut Criterion) {
    let svg = std::fs::read(format!("{}/samples/coin.svg", env!("CARGO_MANIFEST_DIR"))).expect("sample");
    let flat_only = "[[tool]]\nnumber = 1\nkind = \"flat\"\ndiameter-mm = 1.0\n\
                     [[tool]]\nnumber = 2\nkind = \"flat\"\ndiameter-mm = 0.3\n";
    let mut group = c.benchmark_group("simulate");
    group.sample_size(10);
    for (name, file) in [("coin", JobFile::default()), ("coin-flat", JobFile::from_toml(flat_only).expect("job file"))]
    {
        let engraving =
            medalcam::engrave(&svg, "coin.svg", &job_with(&file, 20.0), &Progress::hidden()).expect("engraves");
        let tools: Vec<_> = engraving.toolpaths.operations.iter().map(|op| op.tool.clone()).collect();
        let b =
            medalcam::geom::bounds(engraving.relief.levels.iter().flat_map(|l| l.area.iter().flatten())).expect("area");
        let bounds = [b[0] - 1.0, b[1] - 1.0, b[2] + 1.0, b[3] + 1.0];
        group.bench_function(name, |bench| {
            bench.iter(|| {
                medalcam::simulation::simulate(std::hint::black_box(&engraving.program), &tools, bounds, 0.01)
                    .expect("simulates")
            });
        });
    }
    // Issue 18's figures: the medal's full default-job program at 0.01 mm, as `medalcam
    // simulate` carves it (the grid over what the tools cut), and `medalcam diff` of two such
    // programs (two simulations side by side and the comparison).
    let svg = std::fs::read(format!("{}/samples/medal-40mm.svg", env!("CARGO_MANIFEST_DIR"))).expect("sample");
    let engraving = medalcam::engrave(&svg, "medal-40mm.svg", &job(40.0), &Progress::hidden()).expect("engraves");
    let tools = engraving.toolpaths.tools();
    let b = medalcam::simulation::cut_bounds(&engraving.program, &tools).expect("reads").expect("cuts");
    let bounds = [b[0] - 0.02, b[1] - 0.02, b[2] + 0.02, b[3] + 0.02];
    group.bench_function("medal-40mm-0.01mm", |bench| {
        bench.iter(|| {
            medalcam::simulation::simulate(std::hint::black_box(&engraving.program), &tools, bounds, 0.01)
                .expect("simulates")
        });
    });
    group.finish();
    let mut group = c.benchmark_group("diff");
    group.sample_size(10);
    group.bench_function("medal-40mm-0.01mm", |bench| {
        bench.iter(|| {
            let simulate = || {
                medalcam::simulation::simulate(std::hint::black_box(&engraving.program), &tools, bounds, 0.01)
                    .expect("simulates")
                    .heightmap
            };
            let (a, b) = rayon::join(simulate, simulate);
            medalcam::simulation::Difference::between(&a, &b, 0.005)
        });
    });
    group.finish();
}

/// Issue 5's figures, on the 40 mm medal with one 0.2 mm flat tool at 0.08 mm stepover:
/// - `regions-0.2mm`: its 161 regions (the paint-flattened artwork, one depth each), each
///   pocketed to empty as one 0.05 mm level: the offset loop of deps.md section 3 (b);
/// - `pocket-0.2mm`: the whole relief, every region of every nested level (480 of them, 2.7
///   times the area), as `engrave` cuts it;
/// - `default-job`: the full default three-tool job;
/// - `default-job-gcode`: the same, and its G-code written (arcs fitted, every limit checked).
fn toolpath(c: &mut Criterion) {
    let svg = std::fs::read(format!("{}/samples/medal-40mm.svg", env!("CARGO_MANIFEST_DIR"))).expect("sample");
    let mut group = c.benchmark_group("toolpath");
    group.sample_size(10);
    let file = JobFile::from_toml(
        "draft-deg = 0\nwall-allowance-mm = 0\nfloor-allowance-mm = 0\n\
         [[tool]]\nnumber = 1\nkind = \"flat\"\ndiameter-mm = 0.2\nstepover = 0.4\n",
    )
    .expect("job");
    for (name, job) in
        [("regions-0.2mm", job_with(&file, 40.0)), ("pocket-0.2mm", job_with(&file, 40.0)), ("default-job", job(40.0))]
    {
        let artwork = medalcam::artwork::import(&svg, &job.import).expect("imports");
        let mut relief = medalcam::relief::build(&artwork, &job.relief).expect("relief");
        if name == "regions-0.2mm" {
            let area = relief.regions.iter().flat_map(|r| r.area.clone()).collect();
            relief.levels = vec![medalcam::relief::Level { depth_mm: 0.05, area }];
        }
        let threads: &[usize] = if name == "default-job" { &[2] } else { &[1, 2] };
        for &n in threads {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build().expect("pool");
            group.bench_function(format!("medal-40mm/{name}/{n}-threads"), |b| {
                b.iter(|| {
                    pool.install(|| {
                        medalcam::toolpath::plan(&relief, &job.toolpath, &Progress::hidden()).expect("plans")
                    })
                });
            });
            if name == "default-job" {
                let info = medalcam::gcode::ProgramInfo {
                    name: "medal-40mm.svg".into(),
                    source: "medal-40mm.svg".into(),
                    target: relief.target,
                    material: "c45".into(),
                };
                group.bench_function(format!("medal-40mm/default-job-gcode/{n}-threads"), |b| {
                    b.iter(|| {
                        pool.install(|| {
                            let toolpaths =
                                medalcam::toolpath::plan(&relief, &job.toolpath, &Progress::hidden()).expect("plans");
                            medalcam::gcode::emit(&toolpaths, &job.machine, &info).expect("writes").remove(0).text
                        })
                    });
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, engrave, engrave_shades, guard, import, relief, simulate, toolpath, vcarve);
criterion_main!(benches);
