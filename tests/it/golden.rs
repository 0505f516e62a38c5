//! Golden G-code: `tests/golden/<sample>.<machine>.nc`, compared byte for byte.
//!
//! Re-bless with `MEDALCAM_BLESS=1 cargo test --test it golden`, then run the tests again and
//! review `git diff tests/golden`. A blessing run always fails, so it never passes silently.

use crate::util::{engrave, first_difference, root, CASES};

fn check_golden(sample: &str, machine: &str) {
    let case = CASES.iter().find(|c| c.sample == sample).expect("a known case");
    let actual = engrave(case, machine).program;
    let path = root().join(format!("tests/golden/{sample}.{machine}.nc"));
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
    ($($name:ident: $sample:literal on $machine:literal;)*) => {$(
        #[test]
        fn $name() {
            check_golden($sample, $machine);
        }
    )*};
}

golden! {
    coin_haas: "coin" on "haas";
    coin_linuxcnc: "coin" on "linuxcnc";
    crown_coin_haas: "gameicons_crown-coin" on "haas";
    crown_coin_linuxcnc: "gameicons_crown-coin" on "linuxcnc";
}
