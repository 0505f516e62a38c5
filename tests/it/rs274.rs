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
    }
    assert!(arcs > 0, "no program has an arc: the G2/G3 blocks went untested");
}
