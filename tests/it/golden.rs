//! Golden G-code: `tests/golden/<sample>.<machine>.nc` (`<sample>.<machine>.T<n>.nc`, one per
//! tool, for a machine without a tool changer), compared byte for byte. A program
//! too large to keep in the repository is kept as its digest, `<sample>.<machine>.digest`
//! (CRC-32, bytes and lines of the program), compared whole: the test generates the program.
//! Beside a digest, `<sample>.<machine>.summary` says per tool and level what the program
//! cuts (paths, retracts, length, lowest Z), so that a diff shows what moved.
//!
//! Re-bless with `MEDALCAM_BLESS=1 cargo test --test it golden`, then run the tests again and
//! review `git diff tests/golden`. A blessing run always fails, so it never passes silently.

use crate::util::{engrave, first_difference, root, CASES};

/// The digest of a program: what a `.digest` golden file holds.
fn digest(program: &str) -> String {
    format!(
        "crc32 {:08x} bytes {} lines {}\n",
        crc32fast::hash(program.as_bytes()),
        program.len(),
        program.lines().count()
    )
}

/// Per operation (tool and level): its paths, how many retract first, the cutting length and
/// the lowest Z, one line each.
fn summary(toolpaths: &medalcam::toolpath::Toolpaths) -> String {
    let mut out = String::from("tool level_mm paths retracts length_mm lowest_z\n");
    for op in &toolpaths.operations {
        let points = op.paths.iter().flat_map(|p| p.points.windows(2));
        let length: f64 = points
            .map(|w| ((w[1][0] - w[0][0]).powi(2) + (w[1][1] - w[0][1]).powi(2) + (w[1][2] - w[0][2]).powi(2)).sqrt())
            .sum();
        let lowest = op.paths.iter().flat_map(|p| p.points.iter().map(|q| q[2])).fold(0.0, f64::min);
        let retracts = op.paths.iter().filter(|p| p.retract).count();
        out += &format!(
            "T{} {:.3} {} {} {:.3} {:.4}\n",
            op.tool.number,
            op.depth_mm,
            op.paths.len(),
            retracts,
            length,
            lowest
        );
    }
    out
}

fn check_golden(sample: &str, machine: &str, whole: bool) {
    let case = CASES.iter().find(|c| c.sample == sample).expect("a known case");
    let engraving = engrave(case, machine);
    let golden = |ext: &str| root().join(format!("tests/golden/{sample}.{machine}.{ext}"));
    let files = if whole {
        // One file, or one per tool where the machine has no tool changer.
        let name = |file: &medalcam::ProgramFile| file.suffix().map_or_else(|| "nc".to_string(), |s| format!("{s}.nc"));
        engraving.files().into_iter().map(|(file, text)| (golden(&name(file)), text.to_string())).collect()
    } else {
        vec![(golden("digest"), digest(&engraving.program)), (golden("summary"), summary(&engraving.toolpaths))]
    };
    if std::env::var_os("MEDALCAM_BLESS").is_some() {
        for (path, actual) in &files {
            std::fs::write(path, actual).expect("golden file is writable");
        }
        panic!("blessed {}.{machine}; run the tests again without MEDALCAM_BLESS", sample);
    }
    for (path, actual) in files {
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("missing {}; run MEDALCAM_BLESS=1 cargo test --test it golden", path.display()));
        if actual != expected {
            panic!("{} differs: {}", path.display(), first_difference(&expected, &actual));
        }
    }
}

macro_rules! golden {
    ($($name:ident: $sample:literal on $machine:literal, $whole:literal;)*) => {$(
        #[test]
        fn $name() {
            check_golden($sample, $machine, $whole);
        }
    )*};
}

// The crown's programs are 5 MB each: kept as digests.
golden! {
    coin_haas: "coin" on "haas", true;
    coin_linuxcnc: "coin" on "linuxcnc", true;
    coin_fanuc: "coin" on "fanuc", true;
    coin_mach3: "coin" on "mach3", true;
    coin_grbl: "coin" on "grbl", true;
    coin_engraver: "coin" on "engraver", true;
    crown_coin_haas: "gameicons_crown-coin" on "haas", false;
    crown_coin_linuxcnc: "gameicons_crown-coin" on "linuxcnc", false;
}
