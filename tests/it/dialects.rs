//! Every built-in dialect, on the coin's golden programs: LinuxCNC's interpreter reads each
//! program that is not GRBL's (the few codes it does not know, Haas G187 and Fanuc G05.1,
//! filtered out first), every arc's radii agree after rounding within the profile's
//! tolerance, GRBL's files hold only GRBL 1.1 words in lines of 80 characters at most, and
//! names from the SVG and the job never change a motion line.

use medalcam::job::{Job, JobFile, Overrides};
use medalcam::machine::{Machine, BUILT_IN};
use medalcam::Progress;

use crate::util::root;

/// The coin's golden files for `machine`, in name order: one, or one per tool.
fn golden_files(machine: &str) -> Vec<(String, String)> {
    let prefix = format!("coin.{machine}.");
    let mut files: Vec<(String, String)> = std::fs::read_dir(root().join("tests/golden"))
        .expect("tests/golden")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(&prefix) && name.ends_with(".nc"))
        .map(|name| {
            let text = std::fs::read_to_string(root().join("tests/golden").join(&name)).expect("golden");
            (name, text)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no golden program for {machine}");
    files
}

/// The words of a block outside its comments, letter upper case.
fn words(line: &str) -> Vec<(char, f64)> {
    let mut plain = String::new();
    let mut depth = 0;
    for c in line.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ';' if depth == 0 => break,
            c if depth == 0 && !c.is_whitespace() => plain.push(c.to_ascii_uppercase()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    let mut chars = plain.chars().peekable();
    while let Some(letter) = chars.next() {
        let mut number = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit() || matches!(d, '.' | '-' | '+')) {
            number.push(d);
            chars.next();
        }
        out.push((letter, number.parse().unwrap_or(f64::NAN)));
    }
    out
}

#[test]
fn every_golden_program_but_grbl_parses_in_rs274() {
    if !crate::rs274::have_rs274("every_golden_program_but_grbl_parses_in_rs274") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    for machine in ["haas", "linuxcnc", "fanuc", "mach3", "engraver"] {
        let mut arcs = 0;
        for (name, text) in golden_files(machine) {
            // LinuxCNC reads O-words as subroutine labels and knows neither G187 nor G05.1:
            // the program number becomes a comment, the smoothing blocks go.
            let mut dropped = Vec::new();
            let program: String = text
                .lines()
                .filter_map(|line| {
                    let first = words(line).first().copied();
                    match first {
                        Some(('G', g)) if g == 187.0 || g == 5.1 => {
                            dropped.push(line.to_string());
                            None
                        }
                        Some(('O', _)) => Some(format!("{}\n", &line[line.find('(').unwrap_or(line.len())..])),
                        _ => Some(format!("{line}\n")),
                    }
                })
                .collect();
            assert!(
                dropped.iter().all(|l| words(l).iter().all(|&(c, v)| c != 'G' || v == 187.0 || v == 5.1)),
                "{name}: a filtered block held other words: {dropped:?}"
            );
            let tools: String = text
                .lines()
                .filter_map(|l| l.strip_prefix("(T"))
                .filter_map(|l| {
                    let (n, rest) = l.split_once(" D=")?;
                    let d: f64 = rest.split_whitespace().next()?.parse().ok()?;
                    Some(format!("T{n} P{n} D{d} Z0 ;\n"))
                })
                .collect();
            let table = dir.path().join("tool.tbl");
            std::fs::write(&table, tools).expect("tool table");
            let path = dir.path().join(format!("{name}.ngc"));
            std::fs::write(&path, &program).expect("program");
            let said = crate::rs274::canon(&table, &path, &name);
            arcs += said.matches("ARC_FEED").count();
        }
        assert!(arcs > 0, "{machine}: no arc reached rs274");
    }
}

#[test]
fn every_arc_of_every_golden_program_keeps_its_radius_after_rounding() {
    for (machine, text) in BUILT_IN {
        let profile = Machine::from_toml(machine, text).expect("valid").file().clone();
        let mut arcs = 0;
        for (name, program) in golden_files(machine) {
            let (mut at, mut motion, mut incremental) = ([0.0f64; 3], 0.0, false);
            for (number, line) in program.lines().enumerate() {
                let words = words(line);
                let (mut to, mut ij, mut axes) = (at, [None, None], false);
                for &(letter, value) in &words {
                    match letter {
                        'G' if [0.0, 1.0, 2.0, 3.0].contains(&value) => motion = value,
                        'G' if value == 90.0 => incremental = false,
                        'G' if value == 91.0 => incremental = true,
                        'X' => (to[0], axes) = (value, true),
                        'Y' => (to[1], axes) = (value, true),
                        'Z' => (to[2], axes) = (value, true),
                        'I' => ij[0] = Some(value),
                        'J' => ij[1] = Some(value),
                        _ => {}
                    }
                }
                if incremental || words.iter().any(|&(c, v)| c == 'G' && [28.0, 53.0].contains(&v)) {
                    continue;
                }
                if axes && (motion == 2.0 || motion == 3.0) {
                    let (Some(i), Some(j)) = (ij[0], ij[1]) else {
                        panic!("{name}:{}: an arc without I and J", number + 1)
                    };
                    let c = [at[0] + i, at[1] + j];
                    let (r0, r1) = ((at[0] - c[0]).hypot(at[1] - c[1]), (to[0] - c[0]).hypot(to[1] - c[1]));
                    let chord = (to[0] - at[0]).hypot(to[1] - at[1]);
                    let at_line = format!("{name}:{}: `{line}`", number + 1);
                    assert!(
                        (r0 - r1).abs() <= profile.arc_radius_tolerance_mm + 1e-9,
                        "{at_line}: radii {r0} and {r1}"
                    );
                    assert!(chord >= profile.arc_min_chord_mm.max(1e-9), "{at_line}: chord {chord}");
                    assert!(
                        r0 >= profile.arc_min_radius_mm && r0 <= profile.arc_max_radius_mm,
                        "{at_line}: radius {r0}"
                    );
                    assert_eq!(to[2], at[2], "{at_line}: arcs stay at one Z");
                    arcs += 1;
                }
                at = to;
            }
        }
        assert!(arcs > 0, "{machine}: no arc in the golden program");
    }
}

/// What GRBL 1.1 accepts (its `gcode.c`): G and M codes, and the letters of words.
const GRBL_G: &[f64] = &[
    0.0, 1.0, 2.0, 3.0, 4.0, 10.0, 17.0, 18.0, 19.0, 20.0, 21.0, 28.0, 28.1, 30.0, 30.1, 38.2, 38.3, 38.4, 38.5, 40.0,
    43.1, 49.0, 53.0, 54.0, 55.0, 56.0, 57.0, 58.0, 59.0, 61.0, 80.0, 90.0, 91.0, 91.1, 92.0, 92.1, 93.0, 94.0,
];
const GRBL_M: &[f64] = &[0.0, 1.0, 2.0, 30.0, 3.0, 4.0, 5.0, 7.0, 8.0, 9.0, 56.0];
const GRBL_LETTERS: &str = "FGIJKLMNPRSTXYZ";

#[test]
fn grbl_files_hold_only_grbl_words_in_short_lines() {
    let files = golden_files("grbl");
    assert!(files.len() > 1, "one file per tool: {:?}", files.iter().map(|(n, _)| n).collect::<Vec<_>>());
    for (name, text) in files {
        for (number, line) in text.lines().enumerate() {
            let at = format!("{name}:{}: `{line}`", number + 1);
            assert!(line.len() <= 80, "{at}: longer than GRBL's 80 characters");
            assert!(!line.contains('%') && !line.contains(';'), "{at}");
            for (letter, value) in words(line) {
                assert!(GRBL_LETTERS.contains(letter) && value.is_finite(), "{at}: `{letter}` is not a GRBL word");
                match letter {
                    'G' => assert!(GRBL_G.contains(&value), "{at}: GRBL 1.1 has no G{value}"),
                    'M' => assert!(GRBL_M.contains(&value), "{at}: GRBL 1.1 has no M{value}"),
                    _ => {}
                }
            }
        }
        assert!(text.contains("M3 S"), "{name}: the spindle is never started");
    }
}

/// The coin's shapes with ids and a title, and a job naming the program, made of `names`.
fn engrave_named(machine: &str, names: [&str; 3]) -> String {
    let [id, title, job_name] = names;
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;").replace('\n', "&#10;");
    let svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="12mm" height="12mm" viewBox="0 0 12 12">
        <title>{}</title>
        <g id="{}"><circle cx="6" cy="6" r="5" fill="#808080"/></g>
        <rect id="{}" x="3" y="3" width="6" height="2" fill="#000"/></svg>"##,
        escape(title),
        escape(id),
        escape(&format!("{id}2"))
    );
    let machine = Machine::built_in(machine).expect("built-in").expect("valid");
    let file = JobFile { name: Some(job_name.to_string()), ..JobFile::default() };
    let job = Job::resolve(&file, &Overrides::default(), machine).expect("job");
    let engraving = medalcam::engrave(svg.as_bytes(), title, &job, &Progress::hidden()).expect("engraves");
    engraving.program
}

#[test]
fn names_from_the_svg_and_the_job_never_become_commands() {
    let hostile = ["a)(M30", "x\nG0 Z-50", ";%"];
    for (machine, _) in BUILT_IN {
        let plain = engrave_named(machine, ["art", "art.svg", "art"]);
        for names in [hostile, [hostile[1], hostile[2], hostile[0]], [hostile[2], hostile[0], hostile[1]]] {
            let program = engrave_named(machine, names);
            let motion =
                |p: &str| p.lines().filter(|l| !l.starts_with(['(', 'O'])).map(str::to_string).collect::<Vec<_>>();
            assert_eq!(motion(&program), motion(&plain), "{machine}: {names:?} changed a block");
            for line in program.lines().filter(|l| l.starts_with('(') || l.starts_with('O')) {
                let comment = &line[line.find('(').expect("a comment")..];
                assert!(
                    comment.ends_with(')') && !comment[1..comment.len() - 1].contains(['(', ')', ';', '%']),
                    "{machine}: `{line}`"
                );
            }
            assert!(program.lines().all(|l| l == "%" || !l.contains('%')), "{machine}");
        }
    }
}

/// The coin engraved on `profile` (TOML text).
fn engrave_on(profile: &str) -> medalcam::Result<medalcam::Engraving> {
    let machine = Machine::from_toml("mine", profile)?;
    let job = Job::resolve(&JobFile::default(), &Overrides::default(), machine)?;
    let svg = std::fs::read(root().join("samples/coin.svg")).expect("sample");
    medalcam::engrave(&svg, "coin.svg", &job, &Progress::hidden())
}

#[test]
fn a_program_too_large_for_the_control_is_split_at_retracts_or_refused() {
    const MAX: usize = 40_000;
    let whole = engrave_on("extends = \"fanuc\"\n").expect("engraves");
    assert!(whole.program.len() > 4 * MAX, "the coin is {} bytes", whole.program.len());
    let err = engrave_on(&format!("extends = \"fanuc\"\nmax-program-bytes = {MAX}\n")).unwrap_err().to_string();
    assert!(err.contains("max-program-bytes") && err.contains("split-programs"), "{err}");
    for base in ["fanuc", "grbl"] {
        let profile = format!("extends = \"{base}\"\nmax-program-bytes = {MAX}\nsplit-programs = true\n");
        let split = engrave_on(&profile).expect("engraves");
        let files = split.files();
        assert!(files.len() > 4, "{base}: {} files", files.len());
        for (k, (file, text)) in files.iter().enumerate() {
            let name = file.suffix().expect("numbered");
            assert!(text.len() <= MAX, "{base} {name}: {} bytes", text.len());
            let blocks: Vec<&str> = text.lines().filter(|l| !l.starts_with('(')).collect();
            assert!(blocks.iter().rev().find(|l| **l != "%").is_some_and(|l| *l == "M30"), "{base} {name}");
            // Each file loads its tool (or, by hand, says which) before its first cut, and
            // each split file ends at the clearance.
            let first_cut = blocks
                .iter()
                .position(|l| l.split_whitespace().next().is_some_and(|w| ["G1", "G2", "G3"].contains(&w)))
                .expect("a cut");
            let loads =
                blocks[..first_cut].iter().any(|l| l.contains(" M06")) || text.contains(" ONLY, LOADED BY HAND");
            assert!(loads, "{base} {name}");
            let continued = text.contains("CONTINUED IN PART");
            if continued {
                // The last move of a file that goes on in the next is up to the clearance.
                let moves = |l: &&str| {
                    l.split_whitespace()
                        .next()
                        .is_some_and(|w| ["G0", "G1", "G2", "G3"].contains(&w) || w.starts_with(['X', 'Y', 'Z']))
                };
                let last = blocks.iter().copied().rfind(moves).expect("a move");
                assert!(["G0 Z5.", "Z5."].contains(&last), "{base} {name}: {last}");
            }
            assert_eq!(continued, files.get(k + 1).is_some_and(|(next, _)| next.tool == file.tool), "{base} {name}");
        }
        // The split program cuts exactly what the whole one cuts.
        let tools: Vec<_> = split.toolpaths.operations.iter().map(|op| op.tool.clone()).collect();
        let one =
            if base == "fanuc" { whole.program.clone() } else { engrave_on("extends = \"grbl\"\n").unwrap().run() };
        let bounds = [-7.0, -7.0, 7.0, 7.0];
        let a = medalcam::simulation::simulate(&one, &tools, bounds, 0.02).expect("simulates");
        let b = medalcam::simulation::simulate(&split.run(), &tools, bounds, 0.02).expect("simulates");
        assert!(a.heightmap.z == b.heightmap.z, "{base}: the split program cuts differently");
        assert_eq!(b.rapid_cuts, 0);
    }
}

/// Every profile's program, at a depth, step-downs, tools and draft other than the defaults,
/// replayed move by move: no rapid touches stock and no feed goes straight down into uncut
/// stock, one file per tool and files split for the memory included.
#[test]
fn every_profile_is_safe_move_by_move_away_from_the_defaults() {
    let job = r#"
        max-depth-mm = 0.45
        draft-deg = 5
        [[tool]]
        number = 1
        kind = "flat"
        diameter-mm = 1.0
        stepdown-mm = 0.07
        [[tool]]
        number = 2
        kind = "bull"
        diameter-mm = 0.6
        corner-radius-mm = 0.1
        stepdown-mm = 0.11
        [[tool]]
        number = 3
        kind = "vee"
        diameter-mm = 3.175
        tip-diameter-mm = 0.1
        included-angle-deg = 20
        stepdown-mm = 0.04
    "#;
    let svg = std::fs::read(root().join("samples/coin.svg")).expect("sample");
    let profiles = BUILT_IN
        .iter()
        .map(|(name, _)| format!("extends = \"{name}\"\n"))
        .chain(["extends = \"fanuc\"\nmax-program-bytes = 60000\nsplit-programs = true\n".to_string()]);
    for profile in profiles {
        let machine = Machine::from_toml("mine", &profile).expect("valid");
        let job = Job::resolve(&JobFile::from_toml(job).unwrap(), &Overrides::default(), machine).expect("job");
        let tools = job.toolpath.tools.clone();
        let tolerance = job.toolpath.tolerance_mm;
        // `engrave` runs the guard over the program: it refuses a move into stock.
        let engraving = medalcam::engrave(&svg, "coin.svg", &job, &Progress::hidden()).expect("engraves");
        assert!(engraving.toolpaths.operations.iter().any(|o| o.depth_mm > 0.44), "{profile}: the deep level is cut");
        let files = engraving.files().len();
        assert!(!profile.contains("split") || files > 1, "{profile}: {files} file");
        let run = engraving.run();
        let sim =
            medalcam::simulation::simulate_checked(&run, &tools, [-11.0, -11.0, 11.0, 11.0], 0.02, Some(tolerance))
                .expect("simulates");
        assert_eq!((sim.rapid_cuts, sim.plunge_cuts), (0, 0), "{profile}");
        assert!(sim.heightmap.z.iter().copied().fold(0.0, f64::min) >= -0.45 - 0.006, "{profile}: cut below the floor");
    }
}
