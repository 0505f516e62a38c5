//! Every program of the `linuxcnc` profile parses in LinuxCNC's own interpreter, `rs274`
//! (Debian package linuxcnc-uspace; `.ci/run` installs it), G2/G3 arcs included.

use std::process::Command;

use crate::util::{engrave, Case, CASES};

/// Parsed and timed besides [`CASES`]: every other sample, at the size a shop would cut it.
const MORE: &[Case] =
    &[Case { sample: "medal-40mm", diameter_mm: None }, Case { sample: "noto_u1fa99", diameter_mm: Some(40.0) }];

/// Whether LinuxCNC's interpreter is on this machine. CI installs it (.ci/run) and must run
/// the tests that need it; elsewhere a missing interpreter skips `test`, loudly, so that the
/// README's test command passes on a fresh machine.
pub fn have_rs274(test: &str) -> bool {
    // rs274 without a program prints its usage and exits; a missing binary fails to spawn.
    if Command::new("rs274").arg("--help").output().is_ok() {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "rs274 is missing in CI: .ci/run installs linuxcnc-uspace");
    eprintln!("SKIPPED {test}: rs274 is not installed (apt-get install linuxcnc-uspace)");
    false
}

/// LinuxCNC's canonical reading of `program` with the tool table `table` (both files),
/// asserted clean: rs274 succeeds, says nothing but numbered canonical calls, and reaches the
/// program's end. `name` names the program in a failure.
pub fn canon(table: &std::path::Path, program: &std::path::Path, name: &str) -> String {
    let output = Command::new("rs274")
        .arg("-t")
        .arg(table)
        .arg("-g")
        .arg(program)
        .output()
        .expect("rs274 runs: install it with `apt-get install linuxcnc-uspace`");
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    let complaints: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .filter(|l| l.trim() != "executing")
        .collect();
    assert!(output.status.success() && complaints.is_empty(), "{name}: rs274 says:\n{}", complaints.join("\n"));
    assert!(text.contains("PROGRAM_END"), "{name}: rs274 did not reach the end");
    text
}

/// LinuxCNC's interpreter reads `engraving`'s program (a `linuxcnc` one) to its end without a
/// complaint, with a tool table of its tools; skipped as [`have_rs274`] says.
pub fn reads_engraving(engraving: &medalcam::Engraving, name: &str) {
    if !have_rs274(name) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let table = dir.path().join("tool.tbl");
    let tools = engraving.toolpaths.tools();
    let lines: String = tools.iter().map(|t| format!("T{0} P{0} D{1} Z0 ;\n", t.number, t.diameter_mm)).collect();
    std::fs::write(&table, lines).expect("tool table");
    let program = dir.path().join(format!("{name}.ngc"));
    std::fs::write(&program, &engraving.program).expect("program");
    canon(&table, &program, name);
}

#[test]
fn linuxcnc_programs_parse_in_rs274() {
    if !have_rs274("linuxcnc_programs_parse_in_rs274") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let table = dir.path().join("tool.tbl");
    let mut arcs = 0;
    for case in CASES.iter().chain(MORE) {
        let engraving = engrave(case, "linuxcnc");
        let tools: String = engraving
            .toolpaths
            .operations
            .iter()
            .map(|op| format!("T{0} P{0} D{1} Z0 ;\n", op.tool.number, op.tool.diameter_mm))
            .collect();
        std::fs::write(&table, tools).expect("tool table");
        let program = dir.path().join(format!("{}.ngc", case.sample));
        std::fs::write(&program, &engraving.program).expect("program");
        let text = canon(&table, &program, case.sample);
        arcs += text.matches("ARC_FEED").count();
        // The cycle time's lengths, against LinuxCNC's own reading of the moves.
        let (feed_mm, traverse_mm) = canon_lengths(&text);
        assert!(feed_mm > 100.0 && traverse_mm > 10.0, "{}: {feed_mm} mm fed, {traverse_mm} mm rapid", case.sample);
        let time = &engraving.cycle_time.program;
        assert!(
            (time.cutting_mm - feed_mm).abs() <= 1e-3 * feed_mm,
            "{}: {} mm of feed moves by the estimate, {feed_mm} mm by rs274",
            case.sample,
            time.cutting_mm
        );
        // The time, against a model of its own on LinuxCNC's reading of the program
        // (`canon_time`: each move on its own, where the estimate plans chains of moves): the
        // two agree within a tenth.
        let machine = medalcam::machine::Machine::built_in("linuxcnc").expect("built in").expect("valid");
        let model = canon_time(&text, machine.file());
        let ratio = time.cycle_time_s / model;
        eprintln!("{}: estimate {:.0} s, model {model:.0} s, ratio {ratio:.3}", case.sample, time.cycle_time_s);
        assert!((ratio - 1.0).abs() <= 0.1, "{}: estimate {} s, model {model} s", case.sample, time.cycle_time_s);
        // rs274 runs the final G53 move to machine Z0 (its work offsets are 0): the estimate
        // counts that one as a retract, not a length.
        assert!(
            (time.rapid_mm - traverse_mm).abs() <= 1e-3 * traverse_mm + 10.0,
            "{}: {} mm of rapids by the estimate, {traverse_mm} mm by rs274",
            case.sample,
            time.rapid_mm
        );
    }
    assert!(arcs > 0, "no program has an arc: the G2/G3 blocks went untested");
}

/// The lengths of the feed moves (`STRAIGHT_FEED`, `ARC_FEED`) and of the rapids
/// (`STRAIGHT_TRAVERSE`) in rs274's canonical output.
fn canon_lengths(canon: &str) -> (f64, f64) {
    let (moves, _) = canon_moves(canon, 0.0);
    let sum = |rapid: bool| moves.iter().filter(|m| m.rapid == rapid).map(|m| m.length).sum();
    (sum(false), sum(true))
}

/// Where the canonical move `name(v)` from `at` ends, and its length (an arc's along the
/// arc); `None` for a call that is not a move.
fn canon_move(name: &str, v: &[f64], at: [f64; 3]) -> Option<([f64; 3], f64)> {
    match name {
        "STRAIGHT_FEED" | "STRAIGHT_TRAVERSE" if v.len() >= 3 => {
            let to = [v[0], v[1], v[2]];
            Some((to, ((to[0] - at[0]).powi(2) + (to[1] - at[1]).powi(2) + (to[2] - at[2]).powi(2)).sqrt()))
        }
        // ARC_FEED(end x, end y, centre x, centre y, rotation, end z, ...): rotation > 0
        // counter-clockwise.
        "ARC_FEED" if v.len() >= 6 => {
            let (to, centre, ccw) = ([v[0], v[1], v[5]], [v[2], v[3]], v[4] > 0.0);
            let r = (at[0] - centre[0]).hypot(at[1] - centre[1]);
            let a0 = (at[1] - centre[1]).atan2(at[0] - centre[0]);
            let a1 = (to[1] - centre[1]).atan2(to[0] - centre[0]);
            let mut sweep = a1 - a0;
            if ccw && sweep <= 0.0 {
                sweep += std::f64::consts::TAU;
            } else if !ccw && sweep >= 0.0 {
                sweep -= std::f64::consts::TAU;
            }
            Some((to, (r * sweep).hypot(to[2] - at[2])))
        }
        _ => None,
    }
}

/// One move of rs274's canonical output: rapid or not, where it starts and ends, its length
/// and its feed in mm/min.
struct Move {
    rapid: bool,
    from: [f64; 3],
    to: [f64; 3],
    length: f64,
    feed: f64,
}

/// The moves of `canon`, and the seconds of its dwells and tool changes (`tool_change_s`
/// each).
fn canon_moves(canon: &str, tool_change_s: f64) -> (Vec<Move>, f64) {
    let mut at = [0.0f64; 3];
    let (mut feed, mut seconds, mut moves) = (0.0, 0.0, Vec::new());
    for line in canon.lines() {
        let Some((name, args)) = line.split_once('(') else { continue };
        let name = name.split_whitespace().last().unwrap_or_default();
        let v: Vec<f64> = args.trim_end_matches(')').split(',').filter_map(|a| a.trim().parse().ok()).collect();
        match name {
            "SET_FEED_RATE" if !v.is_empty() => feed = v[0],
            "DWELL" if !v.is_empty() => seconds += v[0],
            "START_CHANGE" => seconds += tool_change_s,
            _ => {
                if let Some((to, length)) = canon_move(name, &v, at) {
                    moves.push(Move { rapid: name == "STRAIGHT_TRAVERSE", from: at, to, length, feed });
                    at = to;
                }
            }
        }
    }
    (moves, seconds)
}

/// Seconds of the program rs274 read (`canon`) by a model of its own: each feed move a
/// trapezoid (or triangle) of speed at the profile's acceleration, from and to the speed its
/// corners allow (full feed below `corner-full-speed-deg` of turn, stopped from
/// `corner-stop-deg`, in proportion between), and at least one block period long; each rapid
/// at the slower of its axis groups; dwells and tool changes as they come; times the time
/// scale.
fn canon_time(canon: &str, profile: &medalcam::machine::MachineFile) -> f64 {
    let (moves, mut seconds) = canon_moves(canon, profile.tool_change_s);
    let a = profile.acceleration_mm_per_s2;
    let direction = |m: &Move| {
        let d: Vec<f64> = (0..3).map(|k| m.to[k] - m.from[k]).collect();
        let n = (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt().max(1e-12);
        [d[0] / n, d[1] / n, d[2] / n]
    };
    // The speed (mm/s) carried between moves i and i + 1.
    let carried = |i: usize| -> f64 {
        let (Some(m), Some(n)) = (moves.get(i), moves.get(i + 1)) else { return 0.0 };
        if m.rapid || n.rapid {
            return 0.0;
        }
        let (p, q) = (direction(m), direction(n));
        let turn = (p[0] * q[0] + p[1] * q[1] + p[2] * q[2]).clamp(-1.0, 1.0).acos().to_degrees();
        let (full, stop) = (profile.corner_full_speed_deg, profile.corner_stop_deg);
        let share = if turn <= full {
            1.0
        } else if turn >= stop {
            0.0
        } else {
            (stop - turn) / (stop - full)
        };
        share * m.feed.min(n.feed) / 60.0
    };
    for (i, m) in moves.iter().enumerate() {
        if m.rapid {
            let xy = (m.to[0] - m.from[0]).hypot(m.to[1] - m.from[1]) / profile.rapid_xy_mm_per_min;
            let z = (m.to[2] - m.from[2]).abs() / profile.rapid_z_mm_per_min;
            seconds += 60.0 * xy.max(z);
            continue;
        }
        if m.feed <= 0.0 || m.length <= 0.0 {
            continue;
        }
        let f = m.feed / 60.0;
        let v0 = if i == 0 { 0.0 } else { carried(i - 1).min(f) };
        let v1 = carried(i).min(f);
        let ramps = (f * f - v0 * v0) / (2.0 * a) + (f * f - v1 * v1) / (2.0 * a);
        let t = if m.length >= ramps {
            m.length / f + (f - v0).powi(2) / (2.0 * a * f) + (f - v1).powi(2) / (2.0 * a * f)
        } else {
            let peak = ((2.0 * a * m.length + v0 * v0 + v1 * v1) / 2.0).sqrt();
            (peak - v0) / a + (peak - v1) / a
        };
        seconds += t.max(1.0 / profile.block_rate_per_s);
    }
    seconds * profile.time_scale
}
