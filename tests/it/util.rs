//! Shared helpers: run the library on a sample with a built-in machine.

use std::path::PathBuf;

use medalcam::job::{Job, JobFile, Overrides};
use medalcam::machine::Machine;
use medalcam::{Engraving, Progress};

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// How a sample is engraved in the tests: its size and the machine.
pub struct Case {
    pub sample: &'static str,
    pub diameter_mm: Option<f64>,
}

/// The samples every end-to-end test runs on.
pub const CASES: &[Case] = &[
    Case { sample: "coin", diameter_mm: None },
    Case { sample: "gameicons_crown-coin", diameter_mm: Some(20.0) },
    Case { sample: "noto_u1f396", diameter_mm: Some(16.0) },
];

pub fn job(machine: &str, diameter_mm: Option<f64>) -> Job {
    let machine = Machine::built_in(machine).expect("built-in").expect("valid");
    Job::resolve(&JobFile::default(), &Overrides { diameter_mm, ..Default::default() }, machine).expect("job")
}

pub fn sample_path(sample: &str) -> PathBuf {
    root().join("samples").join(format!("{sample}.svg"))
}

/// Engraves a sample through the library, as `medalcam engrave samples/<sample>.svg`.
pub fn engrave(case: &Case, machine: &str) -> Engraving {
    let svg = std::fs::read(sample_path(case.sample)).expect("sample exists");
    let title = format!("{}.svg", case.sample);
    medalcam::engrave(&svg, &title, &job(machine, case.diameter_mm), &Progress::hidden()).expect("engraves")
}

/// The first differing line of two texts with three lines of context.
pub fn first_difference(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let i = e.iter().zip(&a).position(|(x, y)| x != y).unwrap_or(e.len().min(a.len()));
    let from = i.saturating_sub(3);
    format!(
        "first difference at line {}:\n~~~ expected\n{}\n~~~ actual\n{}\n~~~ ({} expected lines, {} actual)",
        i + 1,
        e[from..(i + 4).min(e.len())].join("\n"),
        a[from..(i + 4).min(a.len())].join("\n"),
        e.len(),
        a.len()
    )
}
