//! Every program of the `linuxcnc` profile parses in LinuxCNC's own interpreter, `rs274`
//! (Debian package linuxcnc-uspace; `.ci/run` installs it), G2/G3 arcs included.

use std::process::Command;

use crate::util::{engrave, CASES};

/// Whether LinuxCNC's interpreter is on this machine.
fn have_rs274() -> bool {
    // rs274 without a program prints its usage and exits; a missing binary fails to spawn.
    Command::new("rs274").arg("--help").output().is_ok()
}

#[test]
fn linuxcnc_programs_parse_in_rs274() {
    // CI installs the interpreter (.ci/run) and must run this test; elsewhere a missing
    // interpreter skips it, loudly, so that the README's test command passes on a fresh
    // machine.
    if !have_rs274() {
        assert!(std::env::var_os("CI").is_none(), "rs274 is missing in CI: .ci/run installs linuxcnc-uspace");
        eprintln!("SKIPPED linuxcnc_programs_parse_in_rs274: rs274 is not installed (apt-get install linuxcnc-uspace)");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let table = dir.path().join("tool.tbl");
    let mut arcs = 0;
    for case in CASES {
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
        let output = Command::new("rs274")
            .arg("-t")
            .arg(&table)
            .arg("-g")
            .arg(&program)
            .output()
            .expect("rs274 runs: install it with `apt-get install linuxcnc-uspace`");
        let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
        let complaints: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
            .filter(|l| l.trim() != "executing")
            .collect();
        assert!(
            output.status.success() && complaints.is_empty(),
            "{}: rs274 says:\n{}",
            case.sample,
            complaints.join("\n")
        );
        assert!(text.contains("PROGRAM_END"), "{}: rs274 did not reach the end", case.sample);
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
    let mut at = [0.0f64; 3];
    let (mut feed, mut traverse) = (0.0, 0.0);
    for line in canon.lines() {
        let Some((name, args)) = line.split_once('(') else { continue };
        let name = name.split_whitespace().last().unwrap_or_default();
        let v: Vec<f64> = args.trim_end_matches(')').split(',').filter_map(|a| a.trim().parse().ok()).collect();
        match name {
            "STRAIGHT_FEED" | "STRAIGHT_TRAVERSE" if v.len() >= 3 => {
                let to = [v[0], v[1], v[2]];
                let d = ((to[0] - at[0]).powi(2) + (to[1] - at[1]).powi(2) + (to[2] - at[2]).powi(2)).sqrt();
                if name == "STRAIGHT_FEED" {
                    feed += d;
                } else {
                    traverse += d;
                }
                at = to;
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
                feed += (r * sweep).hypot(to[2] - at[2]);
                at = to;
            }
            _ => {}
        }
    }
    (feed, traverse)
}
