//! Golden G-code: `tests/golden/<sample>.<machine>.nc`, compared byte for byte. A program
//! too large to keep in the repository is kept as its digest, `<sample>.<machine>.digest`
//! (CRC-32, bytes and lines of the program), compared whole: the test generates the program.
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

fn check_golden(sample: &str, machine: &str, whole: bool) {
    let case = CASES.iter().find(|c| c.sample == sample).expect("a known case");
    let program = engrave(case, machine).program;
    let (path, actual) = if whole {
        (root().join(format!("tests/golden/{sample}.{machine}.nc")), program)
    } else {
        (root().join(format!("tests/golden/{sample}.{machine}.digest")), digest(&program))
    };
    if std::env::var_os("MEDALCAM_BLESS").is_some() {
        std::fs::write(&path, &actual).expect("golden file is writable");
        panic!("blessed {}; run the tests again without MEDALCAM_BLESS", path.display());
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {}; run MEDALCAM_BLESS=1 cargo test --test it golden", path.display()));
    if actual != expected {
        panic!("{} differs: {}", path.display(), first_difference(&expected, &actual));
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
    crown_coin_haas: "gameicons_crown-coin" on "haas", false;
    crown_coin_linuxcnc: "gameicons_crown-coin" on "linuxcnc", false;
}
