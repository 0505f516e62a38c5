//! The same input gives the same bytes whatever the thread count.

use crate::util::{engrave, CASES};

#[test]
fn output_does_not_depend_on_thread_count() {
    for case in CASES {
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool")
                .install(|| engrave(case, "haas").program)
        };
        let one = run(1);
        assert!(one == run(4), "{}: 1 and 4 threads differ", case.sample);
    }
}
