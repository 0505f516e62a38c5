//! End-to-end and per-stage benchmarks on the shipped samples.
//!
//! Quick run: `cargo bench --bench pipeline -- --warm-up-time 1 --measurement-time 3`.

use criterion::{criterion_group, criterion_main, Criterion};
use medalcam::job::{Job, JobFile, Overrides};
use medalcam::machine::Machine;
use medalcam::Progress;

fn job(diameter_mm: f64) -> Job {
    let machine = Machine::built_in("haas").expect("built-in").expect("valid");
    Job::resolve(&JobFile::default(), &Overrides { diameter_mm: Some(diameter_mm), ..Default::default() }, machine)
        .expect("job")
}

fn engrave(c: &mut Criterion) {
    let mut group = c.benchmark_group("engrave");
    group.sample_size(10);
    for (sample, diameter) in [("coin", 20.0), ("medal-40mm", 40.0)] {
        let svg = std::fs::read(format!("{}/samples/{sample}.svg", env!("CARGO_MANIFEST_DIR"))).expect("sample");
        let job = job(diameter);
        group.bench_function(sample, |b| {
            b.iter(|| {
                medalcam::engrave(std::hint::black_box(&svg), sample, &job, &Progress::hidden()).expect("engraves")
            });
        });
    }
    group.finish();
}

fn import(c: &mut Criterion) {
    let svg = std::fs::read(format!("{}/samples/medal-40mm.svg", env!("CARGO_MANIFEST_DIR"))).expect("sample");
    let options = medalcam::artwork::ImportOptions::default();
    c.bench_function("import/medal-40mm", |b| {
        b.iter(|| medalcam::artwork::import(std::hint::black_box(&svg), &options).expect("imports"));
    });
}

criterion_group!(benches, engrave, import);
criterion_main!(benches);
