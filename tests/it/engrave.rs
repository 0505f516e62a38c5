//! Single-line engraving (issue 19): strokes and hairlines cut along their centre lines by the
//! V-bit, each groove as wide at the die face as the stroke, every move safe.

use medalcam::geom;
use medalcam::job::{Job, JobFile, Overrides};
use medalcam::machine::Machine;
use medalcam::relief::Groove;
use medalcam::simulation::Heightmap;
use medalcam::{Engraving, Progress};

use crate::util::{replayed, root, sample_path};

fn job(text: &str, machine: Machine) -> Job {
    Job::resolve(&JobFile::from_toml(text).expect("job parses"), &Overrides::default(), machine).expect("job")
}

fn sample_job() -> String {
    std::fs::read_to_string(root().join("samples/single-line.toml")).expect("sample job")
}

fn engrave(job: &Job) -> Engraving {
    let svg = std::fs::read(sample_path("single-line")).expect("sample");
    // engrave's guard replays every move: it refuses a rapid or a plunge into stock.
    medalcam::engrave(&svg, "single-line.svg", job, &Progress::hidden()).expect("engraves, the guard passing")
}

/// The die's depth at `p` (positive, 0 on the face), bilinear between the cell centres.
fn depth(hm: &Heightmap, p: [f64; 2]) -> f64 {
    let fx = (p[0] - hm.origin[0]) / hm.cell_mm;
    let fy = (p[1] - hm.origin[1]) / hm.cell_mm;
    let (ix, iy) = (fx.floor().max(0.0) as usize, fy.floor().max(0.0) as usize);
    let (ix, iy) = (ix.min(hm.nx - 2), iy.min(hm.ny - 2));
    let (tx, ty) = (fx - ix as f64, fy - iy as f64);
    let z = |x: usize, y: usize| -hm.z[y * hm.nx + x];
    let bottom = z(ix, iy) * (1.0 - tx) + z(ix + 1, iy) * tx;
    let top = z(ix, iy + 1) * (1.0 - tx) + z(ix + 1, iy + 1) * tx;
    bottom * (1.0 - ty) + top * ty
}

/// The groove's width across each of its lines every quarter millimetre, measured on the die
/// where it is cut deeper than `edge_mm`: away from the ends of the lines and from every
/// other line of the die (the dashes, crossings and the other grooves), each side from the
/// centre out to where the die comes up to `edge_mm`.
fn widths(hm: &Heightmap, groove: &Groove, all: &[Groove], edge_mm: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let clear = groove.width_mm * 1.5;
    for line in &groove.paths {
        let length = line.length_mm();
        // Beside a sharp corner the groove runs into itself: its corners, turning by more
        // than 30 degrees.
        let n = line.points.len();
        let corners: Vec<[f64; 2]> = (0..n)
            .filter(|&k| line.closed || (k > 0 && k + 1 < n))
            .filter(|&k| {
                let (a, b, c) = (line.points[(k + n - 1) % n], line.points[k], line.points[(k + 1) % n]);
                let (u, v) = ([b[0] - a[0], b[1] - a[1]], [c[0] - b[0], c[1] - b[1]]);
                let cos = (u[0] * v[0] + u[1] * v[1]) / (u[0].hypot(u[1]) * v[0].hypot(v[1]));
                cos < 30f64.to_radians().cos()
            })
            .map(|k| line.points[k])
            .collect();
        let mut along = 0.0;
        for (a, b) in line.segments() {
            let len = geom::distance(a, b);
            let mut t = (0.25 - along % 0.25) % 0.25;
            while t < len {
                let s = along + t;
                let p = [a[0] + (b[0] - a[0]) * t / len, a[1] + (b[1] - a[1]) * t / len];
                t += 0.25;
                if !line.closed && (s < clear || s > length - clear) {
                    continue;
                }
                if corners.iter().any(|&c| geom::distance(c, p) < clear + 2.0 * groove.width_mm) {
                    continue;
                }
                // Near another line of any groove, the grooves run into each other.
                let near =
                    all.iter().flat_map(|g| g.paths.iter()).filter(|other| !std::ptr::eq(*other, line)).any(|other| {
                        other.segments().any(|(c, d)| geom::segment_distance(p, c, d) < clear + groove.width_mm)
                    });
                if near {
                    continue;
                }
                let n = [-(b[1] - a[1]) / len, (b[0] - a[0]) / len];
                let side = |sign: f64| {
                    let mut d = 0.0;
                    while d < groove.width_mm && depth(hm, [p[0] + sign * n[0] * d, p[1] + sign * n[1] * d]) > edge_mm {
                        d += 0.0005;
                    }
                    d
                };
                out.push(side(1.0) + side(-1.0));
            }
            along += len;
        }
    }
    out
}

#[test]
fn the_single_line_sample_engraves_to_the_stroke_widths_asked() {
    let machine = Machine::built_in("linuxcnc").expect("built-in").expect("valid");
    let job = job(&sample_job(), machine);
    let engraving = engrave(&job);
    let grooves = &engraving.relief.grooves;
    // The border, the dashed ring, the star, the year and four hatch lines.
    assert_eq!(grooves.len(), 8, "{grooves:?}");
    assert!(engraving.relief.levels.is_empty(), "nothing is pocketed");
    assert!(engraving.warnings.is_empty(), "every width is reached: {:?}", engraving.warnings);
    let vee = &engraving.toolpaths.operations[0].tool;
    let slope = vee.half_angle().tan();
    // Depth from width: (width - tip) / 2 / tan(45) (the widths are usvg's f32).
    let expected = [(0.5, 0.225), (0.25, 0.1), (0.35, 0.15), (0.3, 0.125)];
    for (groove, (width, depth)) in grooves.iter().zip(expected) {
        let (w, d) = (groove.width_mm, groove.depth_mm);
        assert!((w - width).abs() < 1e-6 && (d - depth).abs() < 1e-6, "{w} mm wide, {d} mm deep: {}", groove.source);
    }
    assert!(grooves[4..].iter().all(|g| (g.depth_mm - 0.02).abs() < 1e-9 && (g.width_mm - 0.09).abs() < 1e-9));

    // Simulated with the true tool shape, move by move.
    let (hm, check) = replayed(&engraving, &job, 0.01, 0.0, "single-line");
    let hm = &hm;
    assert_eq!(check.overcut_mm2, 0.0, "overcut {} mm at {:?}", check.worst_overcut_mm, check.worst_overcut_at);
    assert_eq!(check.uncut_reachable_mm2, 0.0, "left {} mm at {:?}", check.worst_uncut_mm, check.worst_uncut_at);
    let lowest = hm.z.iter().copied().fold(0.0, f64::min);
    assert!((lowest + 0.225).abs() < 0.003, "the border is the deepest groove: {lowest}");

    // Each stroke's groove is as wide at the face as the stroke (measured 2 um below the face,
    // where the flank is 2 um in from the edge), within 0.02 mm everywhere.
    let edge = 0.002;
    for groove in &grooves[..4] {
        let measured = widths(hm, groove, grooves, edge);
        assert!(measured.len() >= 10, "the groove {groove:?} is measured: {measured:?}");
        let asked = groove.width_mm - 2.0 * edge * slope;
        let worst = measured.iter().map(|w| (w - asked).abs()).fold(0.0, f64::max);
        let mean = measured.iter().sum::<f64>() / measured.len() as f64;
        eprintln!(
            "groove {:.3} mm wide: {} widths, mean {mean:.4}, worst off {worst:.4}",
            groove.width_mm,
            measured.len()
        );
        assert!(worst <= 0.02, "the groove {:.3} mm wide measures up to {worst:.4} off", groove.width_mm);
        assert!(
            (mean - asked).abs() <= 0.005,
            "the groove {:.3} mm wide measures {mean:.4} on average",
            groove.width_mm
        );
    }

    // LinuxCNC's own interpreter reads the program to its end without a complaint.
    crate::rs274::reads_engraving(&engraving, "single-line");
}

/// Engraving at depths, step-downs, bit shapes and profiles other than the sample's, replayed
/// move by move: no rapid touches stock, no feed goes straight down into uncut stock, nothing
/// is cut deeper than asked; where the layer's depth caps a width, a warning says so.
#[test]
fn engraving_is_safe_move_by_move_away_from_the_defaults() {
    let layers = |depth: f64| {
        format!(
            "diameter-mm = 30.0\nmax-depth-mm = 0.5\n\
             [[layer]]\nid = \"lines\"\ndepth-mm = {depth}\nstrategy = \"engrave\"\n\
             [[layer]]\nfill = \"none\"\ndepth-mm = 0.05\nstrategy = \"engrave\"\n"
        )
    };
    let tool = |kind: &str, angle: f64, tip: f64, stepdown: f64| {
        format!(
            "[[tool]]\nnumber = 2\nkind = \"{kind}\"\ndiameter-mm = 3.175\ntip-diameter-mm = {tip}\n\
             included-angle-deg = {angle}\nstepdown-mm = {stepdown}\n"
        )
    };
    let cases = [
        // A 60 degree bit in step-downs of 0.03, capped at 0.12 mm: the wide strokes are
        // narrower than asked, with warnings. One file per tool.
        ("grbl", format!("{}{}", layers(0.12), tool("vee", 60.0, 0.05, 0.03)), true),
        // A tapered ball, deep, in uneven step-downs: the border still wider than it reaches.
        ("haas", format!("{}{}", layers(0.5), tool("tapered-ball", 30.0, 0.2, 0.07)), true),
        // A pointed 90 degree bit in one pass.
        ("fanuc", format!("{}{}", layers(0.3), tool("vee", 90.0, 0.0, 0.5)), false),
    ];
    let svg = std::fs::read(sample_path("single-line")).expect("sample");
    for (profile, text, capped) in cases {
        let machine = Machine::built_in(profile).expect("built-in").expect("valid");
        let job = job(&text, machine);
        let engraving = medalcam::engrave(&svg, "single-line.svg", &job, &Progress::hidden()).expect("engraves");
        let capped_warnings = engraving.warnings.iter().filter(|w| w.message.contains("as deep as its layer goes"));
        assert_eq!(capped_warnings.count() > 0, capped, "{profile}: {:?}", engraving.warnings);
        let (hm, check) = replayed(&engraving, &job, 0.01, 0.0, profile);
        assert_eq!(
            check.overcut_mm2, 0.0,
            "{profile}: overcut {} mm at {:?}",
            check.worst_overcut_mm, check.worst_overcut_at
        );
        let deepest = engraving.relief.grooves.iter().map(|g| g.depth_mm).fold(0.0, f64::max);
        let lowest = hm.z.iter().copied().fold(0.0, f64::min);
        assert!((lowest + deepest).abs() < 0.005, "{profile}: cut to {lowest}, the deepest groove {deepest}");
    }
}

/// Lines kilometres long are refused before anything is planned, as a pocket that large is:
/// each would be walked every 25 um.
#[test]
fn engraved_lines_kilometres_long_are_refused_before_planning() {
    let lines: String = (0..5000).map(|k| format!(r#"<line x1="0" y1="{k}" x2="9000" y2="{k}"/>"#)).collect();
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="9000mm" height="9000mm" viewBox="0 0 9000 9000">{lines}</svg>"#
    );
    let profile = "extends = \"linuxcnc\"\ntravel-x-mm = [-6000, 6000]\ntravel-y-mm = [-6000, 6000]\n";
    let machine = Machine::from_toml("wide", profile).expect("valid");
    let overrides = Overrides { layers: vec!["none=0.05:engrave".into()], ..Default::default() };
    let job = Job::resolve(&JobFile::default(), &overrides, machine).expect("job");
    let err = medalcam::engrave(svg.as_bytes(), "long.svg", &job, &Progress::hidden()).unwrap_err().to_string();
    assert!(err.contains("the toolpath would be about 90 km long"), "{err}");
}
