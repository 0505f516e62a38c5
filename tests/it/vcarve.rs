//! V-carving (issue 19): the medal's lettering carved along its medial axis by the job's
//! V-bit, every move safe, the groove's edges on the outline.

use medalcam::geom;
use medalcam::job::{Job, JobFile, Overrides};
use medalcam::machine::Machine;
use medalcam::relief::Strategy;
use medalcam::{Engraving, Progress};

use crate::util::{replayed, root, sample_path};

fn legend_job() -> Job {
    let text = std::fs::read_to_string(root().join("samples/legend-vcarve.toml")).expect("sample job");
    let machine = Machine::built_in("linuxcnc").expect("built-in").expect("valid");
    Job::resolve(&JobFile::from_toml(&text).expect("job parses"), &Overrides::default(), machine).expect("job")
}

fn engrave_legend(job: &Job) -> Engraving {
    let svg = std::fs::read(sample_path("medal-40mm")).expect("sample");
    // engrave's guard replays every move: it refuses a rapid or a plunge into stock.
    medalcam::engrave(&svg, "medal-40mm.svg", job, &Progress::hidden()).expect("engraves, the guard passing")
}

#[test]
fn the_medals_lettering_is_vcarved_to_its_outline_without_overcut() {
    let job = legend_job();
    let engraving = engrave_legend(&job);
    let carved: Vec<&medalcam::relief::Region> =
        engraving.relief.regions.iter().filter(|r| r.strategy == Strategy::VCarve).collect();
    assert_eq!(carved.len(), 1, "the three texts at 0.3 mm make one V-carved region");
    assert!(carved[0].area.len() > 40, "one shape a letter: {}", carved[0].area.len());
    let vee = engraving.toolpaths.operations.last().expect("operations");
    assert_eq!(vee.tool.number, 3, "the V-carving runs last, with the vee");
    carved_to_the_outline(&job, &engraving, 3, 10_000, "legend-vcarve");
}

/// `samples/serif-legend.svg`: lettering 2 mm tall in DejaVu Serif, its serifs tapering to
/// points, carved by a 60 degree bit with a 0.03 mm tip.
#[test]
fn two_millimetre_serif_lettering_is_vcarved_to_its_outline_without_overcut() {
    let text = std::fs::read_to_string(root().join("samples/serif-legend.toml")).expect("sample job");
    let machine = Machine::built_in("linuxcnc").expect("built-in").expect("valid");
    let job =
        Job::resolve(&JobFile::from_toml(&text).expect("job parses"), &Overrides::default(), machine).expect("job");
    let svg = std::fs::read(sample_path("serif-legend")).expect("sample");
    let engraving =
        medalcam::engrave(&svg, "serif-legend.svg", &job, &Progress::hidden()).expect("engraves, the guard passing");
    let carved = engraving.relief.regions.iter().find(|r| r.strategy == Strategy::VCarve).expect("carved");
    // 30 letters and 2 dots around the edge, 8 letters and the dot of the i in the motto, 6
    // letters in the date.
    assert_eq!(carved.area.len(), 47, "one shape a letter");
    assert_eq!(engraving.relief.grooves.len(), 1, "the rim is engraved");
    // Nothing skipped or approximated; where a serif's axis falls too steeply from both
    // sides, a few microns are left short, and said.
    for warning in &engraving.warnings {
        assert!(warning.kind == medalcam::WarningKind::Uncut && warning.message.contains("mm short"), "{warning:?}");
    }
    carved_to_the_outline(&job, &engraving, 1, 5_000, "serif-legend");
}

/// Simulates `engraving` with the true tool shapes, move by move, and checks its V-carved
/// region: no rapid or plunge into stock, nothing deeper than asked by more than 0.01 mm, the
/// groove's edges on the outline (the band 0.02 to 0.03 mm inside it, counted over at least
/// `least_band` cells, cut), and that LinuxCNC reads the program.
fn carved_to_the_outline(job: &Job, engraving: &Engraving, vee: u32, least_band: usize, name: &str) {
    let carved: Vec<&medalcam::relief::Region> =
        engraving.relief.regions.iter().filter(|r| r.strategy == Strategy::VCarve).collect();
    let tools = engraving.toolpaths.tools();
    let (hm, check) = replayed(engraving, job, 0.01, 0.0, name);
    let hm = &hm;

    // Nowhere deeper than asked by more than 0.01 mm: the V-carved walls are asked as deep
    // as their slope from the outline, the floors at their depth.
    assert_eq!(check.overcut_mm2, 0.0, "{name}: overcut {} mm at {:?}", check.worst_overcut_mm, check.worst_overcut_at);

    // The groove's edges on the outline: inside every letter, 0.02 to 0.03 mm from its
    // outline, the die is cut (at least 0.02 mm deep: on the flank of a 20 degree bit about
    // 0.0035 mm across, of a 60 degree one 0.012), but where the letter is narrower there
    // than the bit's tip.
    let tip = tools.iter().find(|t| t.number == vee).expect("the vee").radius_at(0.0);
    let (mut band, mut cut) = (0usize, 0usize);
    for shape in carved.iter().flat_map(|r| r.area.iter()) {
        let index = geom::ShapeIndex::new(shape);
        // Where a circle of the tip's radius fits in the letter.
        let opened = geom::offset(&geom::offset(&vec![shape.clone()], -tip).expect("erodes"), tip).expect("dilates");
        let fits: Vec<geom::ShapeIndex> = opened.iter().map(geom::ShapeIndex::new).collect();
        let Some(b) = geom::bounds(shape.iter()) else { continue };
        let cells = |lo: f64, hi: f64| {
            let from = ((lo - hm.origin[0]) / hm.cell_mm).floor().max(0.0) as usize;
            (from, ((hi - hm.origin[0]) / hm.cell_mm).ceil() as usize)
        };
        let (x0, x1) = cells(b[0], b[2]);
        let from_y = ((b[1] - hm.origin[1]) / hm.cell_mm).floor().max(0.0) as usize;
        let to_y = ((b[3] - hm.origin[1]) / hm.cell_mm).ceil() as usize;
        for iy in from_y..to_y.min(hm.ny) {
            for ix in x0..x1.min(hm.nx) {
                let p = hm.cell_center(ix, iy);
                if !index.contains(p) {
                    continue;
                }
                let wall = index.distance(p);
                if !(0.02..0.03).contains(&wall) || !fits.iter().any(|f| f.contains(p)) {
                    continue;
                }
                band += 1;
                if hm.z[iy * hm.nx + ix] < -0.02 {
                    cut += 1;
                }
            }
        }
    }
    assert!(band > least_band, "{name}: the band is measured: {band} cells");
    let share = cut as f64 / band as f64;
    eprintln!("{name}: groove edges: {cut} of {band} cells 0.02 to 0.03 mm inside the outline cut ({share:.4})");
    assert!(share > 0.99, "{name}: {cut} of {band} cells 0.02 mm inside the outline are cut");

    // LinuxCNC's own interpreter reads the program to its end without a complaint.
    crate::rs274::reads_engraving(engraving, name);
}

/// V-carving at depths, step-downs, bit angles and profiles other than the defaults, replayed
/// move by move: no rapid touches stock, no feed goes straight down into uncut stock, nothing
/// is cut deeper than asked; per-tool and memory-split files included.
#[test]
fn vcarving_is_safe_move_by_move_away_from_the_defaults() {
    let legend = |depth: f64| {
        format!(
            "diameter-mm = 40.0\nmax-depth-mm = 0.5\n\
             [[layer]]\nid = \"field\"\ndepth-mm = 0.0\n[[layer]]\nid = \"rim\"\ndepth-mm = 0.5\n\
             [[layer]]\nid = \"arc\"\ndepth-mm = {depth}\nstrategy = \"vcarve\"\n\
             [[layer]]\nid = \"title\"\ndepth-mm = {depth}\nstrategy = \"vcarve\"\n"
        )
    };
    let tool = |number: u32, body: &str| format!("[[tool]]\nnumber = {number}\n{body}\n");
    let flat = |number: u32, d: f64| tool(number, &format!("kind = \"flat\"\ndiameter-mm = {d}"));
    let vee = |angle: f64, tip: f64, stepdown: f64| {
        tool(
            3,
            &format!(
                "kind = \"vee\"\ndiameter-mm = 3.175\ntip-diameter-mm = {tip}\nincluded-angle-deg = {angle}\n\
                 stepdown-mm = {stepdown}"
            ),
        )
    };
    let cases = [
        // Shallow, a 60 degree bit in step-downs of 0.07, one file per tool.
        ("grbl", format!("{}{}{}{}", legend(0.17), flat(1, 1.0), flat(2, 0.3), vee(60.0, 0.05, 0.07))),
        // Deep, the default bit in uneven step-downs, a draft of its own.
        ("haas", format!("draft-deg = 5\n{}{}{}", legend(0.45), flat(1, 0.6), vee(20.0, 0.1, 0.11))),
        // A pointed 90 degree bit in one pass, the program split for the control's memory.
        ("fanuc", format!("draft-deg = 0\n{}{}{}", legend(0.3), flat(1, 0.6), vee(90.0, 0.0, 0.5))),
    ];
    let svg = std::fs::read(sample_path("medal-40mm")).expect("sample");
    for (profile, text) in cases {
        let profile_text = if profile == "fanuc" {
            "extends = \"fanuc\"\nmax-program-bytes = 500000\nsplit-programs = true\n".to_string()
        } else {
            format!("extends = \"{profile}\"\n")
        };
        let machine = Machine::from_toml("mine", &profile_text).expect("valid");
        let job =
            Job::resolve(&JobFile::from_toml(&text).expect("job parses"), &Overrides::default(), machine).expect("job");
        // `engrave` runs the guard over the program: it refuses a move into stock.
        let engraving = medalcam::engrave(&svg, "medal-40mm.svg", &job, &Progress::hidden()).expect("engraves");
        assert!(
            engraving.relief.regions.iter().any(|r| r.strategy == Strategy::VCarve),
            "{profile}: the lettering is V-carved"
        );
        assert!(profile != "fanuc" || engraving.files().len() > 1, "{profile}: the program is split");
        let (_, check) = replayed(&engraving, &job, 0.02, 0.0, profile);
        assert_eq!(
            check.overcut_mm2, 0.0,
            "{profile}: overcut {} mm at {:?}",
            check.worst_overcut_mm, check.worst_overcut_at
        );
    }
}

/// `auto-vcarve = true` on the medal with the default job (luminance depths, shapes nested
/// in shapes): the shapes the 0.3 mm end mill cannot mostly enter are V-carved from the floor
/// around them, and less than half as much is reported narrower than a tool; every move is
/// safe and nothing is cut deeper than asked.
#[test]
fn auto_vcarve_carves_what_no_flat_tool_enters_from_the_floor_around_it() {
    let machine = Machine::built_in("linuxcnc").expect("built-in").expect("valid");
    let resolve = |text: &str| {
        Job::resolve(&JobFile::from_toml(text).expect("job parses"), &Overrides::default(), machine.clone())
            .expect("job")
    };
    let svg = std::fs::read(sample_path("medal-40mm")).expect("sample");
    let narrow =
        |engraving: &Engraving| engraving.warnings.iter().filter(|w| w.kind == medalcam::WarningKind::Narrow).count();
    let pocketed = medalcam::engrave(&svg, "medal-40mm.svg", &resolve(""), &Progress::hidden()).expect("engraves");
    assert!(narrow(&pocketed) > 20, "the pocketed medal has narrow parts: {}", narrow(&pocketed));
    let job = resolve("auto-vcarve = true\n");
    let engraving = medalcam::engrave(&svg, "medal-40mm.svg", &job, &Progress::hidden()).expect("engraves");
    let (before, after) = (narrow(&pocketed), narrow(&engraving));
    assert!(after * 2 < before, "narrow parts: {before} pocketed, {after} with auto-vcarve");
    let carved: Vec<&medalcam::relief::Region> =
        engraving.relief.regions.iter().filter(|r| r.strategy == Strategy::VCarve).collect();
    assert!(carved.len() >= 3, "V-carved at several depths: {}", carved.len());
    // Carved into the field (0.05 mm), not from the face above it.
    let surrounds: Vec<f64> = carved.iter().flat_map(|r| r.surround_mm.iter().copied()).collect();
    assert!(surrounds.iter().filter(|&&s| s >= 0.05).count() * 2 > surrounds.len(), "{surrounds:?}");

    // Simulated move by move, both: the carved die is as asked, and leaves less where no tool
    // fits than the pocketed one.
    let (_, check) = replayed(&engraving, &job, 0.01, 0.0, "auto-vcarve");
    assert_eq!(check.overcut_mm2, 0.0, "overcut {} mm at {:?}", check.worst_overcut_mm, check.worst_overcut_at);
    assert_eq!(check.uncut_reachable_mm2, 0.0, "left {} mm at {:?}", check.worst_uncut_mm, check.worst_uncut_at);
    let before = replayed(&pocketed, &resolve(""), 0.01, 0.0, "pocketed").1.uncut_unreachable_mm2;
    let after = check.uncut_unreachable_mm2;
    eprintln!("left where no tool fits: {before:.4} mm2 pocketed, {after:.4} mm2 with auto-vcarve");
    assert!(after < before, "left where no tool fits: {before} mm2 pocketed, {after} mm2 with auto-vcarve");

    // Away from the defaults: deeper, a 60 degree bit in coarse step-downs, a draft of its own,
    // one file per tool on grbl, and on haas; replayed move by move.
    let deep = "auto-vcarve = true\nmax-depth-mm = 0.45\ndraft-deg = 5\n\
                [[tool]]\nnumber = 1\nkind = \"flat\"\ndiameter-mm = 1.0\n\
                [[tool]]\nnumber = 2\nkind = \"flat\"\ndiameter-mm = 0.4\n\
                [[tool]]\nnumber = 3\nkind = \"vee\"\ndiameter-mm = 3.175\ntip-diameter-mm = 0.05\n\
                included-angle-deg = 60\nstepdown-mm = 0.09\n";
    for profile in ["grbl", "haas"] {
        let machine = Machine::built_in(profile).expect("built-in").expect("valid");
        let job =
            Job::resolve(&JobFile::from_toml(deep).expect("job parses"), &Overrides::default(), machine).expect("job");
        // `engrave` runs the guard over the program: it refuses a move into stock.
        let engraving = medalcam::engrave(&svg, "medal-40mm.svg", &job, &Progress::hidden()).expect("engraves");
        assert!(engraving.relief.regions.iter().any(|r| r.strategy == Strategy::VCarve), "{profile}: carved");
        let (_, check) = replayed(&engraving, &job, 0.02, 0.0, profile);
        let (worst, at) = (check.worst_overcut_mm, check.worst_overcut_at);
        assert_eq!(check.overcut_mm2, 0.0, "{profile}: overcut {worst} mm at {at:?}");
    }
}

/// `chamfer-mm`: the V-bit bevels the top edge of every wall, for die release: on the coin,
/// with vertical walls and a 90 degree bit, 0.05 mm outside each outline on the die face the
/// die is cut about 0.05 mm deep (a 0.1 mm chamfer at 45 degrees), where without the chamfer
/// the face is whole; every move is safe and nothing else is cut deeper, on three profiles.
#[test]
fn a_chamfer_bevels_the_top_edge_of_the_walls() {
    let svg = std::fs::read(sample_path("coin")).expect("sample");
    let text = |chamfer: f64, draft: f64, angle: f64| {
        format!(
            "draft-deg = {draft}\nchamfer-mm = {chamfer}\n\
             [[tool]]\nnumber = 1\nkind = \"flat\"\ndiameter-mm = 1.0\n\
             [[tool]]\nnumber = 2\nkind = \"flat\"\ndiameter-mm = 0.3\n\
             [[tool]]\nnumber = 3\nkind = \"vee\"\ndiameter-mm = 3.175\ntip-diameter-mm = 0.0\nincluded-angle-deg = {angle}\n"
        )
    };
    for (profile, chamfer, draft, angle) in [
        ("linuxcnc", 0.1, 0.0, 90.0),
        ("grbl", 0.1, 0.0, 90.0),
        ("haas", 0.05, 5.0, 60.0),
        ("linuxcnc", 0.0, 0.0, 90.0),
    ] {
        let machine = Machine::built_in(profile).expect("built-in").expect("valid");
        let job = Job::resolve(
            &JobFile::from_toml(&text(chamfer, draft, angle)).expect("job parses"),
            &Overrides::default(),
            machine,
        )
        .expect("job");
        // engrave's guard replays every move.
        let engraving = medalcam::engrave(&svg, "coin.svg", &job, &Progress::hidden()).expect("engraves");
        // Beyond the outermost outline too: the chamfer's bevel lies outside it.
        let (hm, check) = replayed(&engraving, &job, 0.01, 0.5, profile);
        let hm = &hm;
        assert_eq!(
            check.overcut_mm2, 0.0,
            "{profile}: overcut {} at {:?}",
            check.worst_overcut_mm, check.worst_overcut_at
        );
        // Half the chamfer's width outside the first level's outline, on the die face: the
        // bevel, half as deep as the chamfer is wide over tan(half angle).
        let level = &engraving.relief.levels[0];
        let expected = if chamfer > 0.0 { chamfer / 2.0 / (angle / 2.0f64).to_radians().tan() } else { 0.0 };
        let (mut depths, mut outside) = (Vec::new(), 0.0f64);
        for contour in level.area.iter().flatten() {
            for (i, &a) in contour.iter().enumerate() {
                let b = contour[(i + 1) % contour.len()];
                let len = geom::distance(a, b);
                if len < 0.5 {
                    continue;
                }
                // The middle of a long edge, half the chamfer (or 0.05) outside, and far outside.
                let out = [(b[1] - a[1]) / len, -(b[0] - a[0]) / len];
                let at = |d: f64| [(a[0] + b[0]) / 2.0 + out[0] * d, (a[1] + b[1]) / 2.0 + out[1] * d];
                let z = |p: [f64; 2]| {
                    let ix = ((p[0] - hm.origin[0]) / hm.cell_mm).round() as usize;
                    let iy = ((p[1] - hm.origin[1]) / hm.cell_mm).round() as usize;
                    hm.z[iy * hm.nx + ix]
                };
                let half = if chamfer > 0.0 { chamfer / 2.0 } else { 0.05 };
                if level.area.iter().any(|s| geom::shape_contains(s, at(half))) {
                    continue;
                }
                depths.push(-z(at(half)));
                outside = outside.max(-z(at(chamfer + 0.05)));
            }
        }
        assert!(depths.len() >= 8, "{profile}: measured at {} edges", depths.len());
        let worst = depths.iter().map(|d| (d - expected).abs()).fold(0.0, f64::max);
        eprintln!(
            "{profile}: chamfer {chamfer} at {angle} degrees: {} edges, worst {worst:.4} off {expected:.4}",
            depths.len()
        );
        assert!(worst < 0.012, "{profile}: the bevel is {depths:?} deep half way, not {expected}");
        assert!(outside < 0.002, "{profile}: cut {outside} deep beyond the chamfer");
    }
}
