//! `tolerance-mm` is the whole budget: tightening it tightens the curves' flattening, and a
//! machine profile that spends more than its share is reported.

use medalcam::job::{Job, JobFile, Overrides};
use medalcam::machine::Machine;
use medalcam::{Progress, WarningKind};

fn job(text: &str) -> Job {
    let machine = Machine::built_in("haas").expect("built-in").expect("valid");
    Job::resolve(&JobFile::from_toml(text).expect("job file"), &Overrides::default(), machine).expect("job")
}

/// The vertices of the coin's flattened artwork at a job tolerance.
fn vertices(job: &Job) -> usize {
    let svg = std::fs::read(crate::util::sample_path("coin")).expect("sample");
    let artwork = medalcam::artwork::import(&svg, &job.import).expect("imports");
    artwork.shapes.iter().flat_map(|s| s.polygons.iter().flatten()).map(Vec::len).sum()
}

#[test]
fn a_tighter_tolerance_flattens_the_curves_closer() {
    let (default, tight) = (job(""), job("tolerance-mm = 0.001\n"));
    assert!(tight.import.tolerance_mm < default.import.tolerance_mm / 4.0);
    let (coarse, fine) = (vertices(&default), vertices(&tight));
    // Flattening error falls with the square of the segment length: 5 times tighter is about
    // sqrt(5) times the vertices on the curves.
    assert!(fine as f64 > 1.8 * coarse as f64, "{coarse} vertices at 0.005 mm, {fine} at 0.001 mm");
}

#[test]
fn a_profile_that_spends_more_than_its_share_is_reported() {
    let svg = std::fs::read(crate::util::sample_path("coin")).expect("sample");
    let said = |job: &Job| -> Vec<String> {
        let engraving = medalcam::engrave(&svg, "coin.svg", job, &Progress::hidden()).expect("engraves");
        engraving.warnings.iter().filter(|w| w.kind == WarningKind::Tolerance).map(ToString::to_string).collect()
    };
    assert_eq!(said(&job("")), Vec::<String>::new());
    let tight = said(&job("tolerance-mm = 0.001\n"));
    assert_eq!(tight.len(), 1, "{tight:?}");
    assert!(tight[0].contains("3 decimals") && tight[0].contains("arc-tolerance-mm 0.001"), "{}", tight[0]);
}

#[test]
fn the_relief_command_reports_the_overrun_too() {
    // What `medalcam relief` shows before anything is planned: the same warning, first.
    let svg = std::fs::read(crate::util::sample_path("coin")).expect("sample");
    let kinds = |job: &Job| -> Vec<WarningKind> {
        medalcam::design(&svg, job).expect("designs").warnings.iter().map(|w| w.kind).collect()
    };
    assert!(!kinds(&job("")).contains(&WarningKind::Tolerance));
    assert_eq!(kinds(&job("tolerance-mm = 0.001\n")).first(), Some(&WarningKind::Tolerance));
}
