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
        for threads in [2, 16] {
            assert!(one == run(threads), "{}: 1 and {threads} threads differ", case.sample);
        }
    }
}
