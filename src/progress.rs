//! Progress bars for long stages.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress for long stages: hidden in tests and benches, with `-q`, and whenever stderr is
/// not a terminal, so piped G-code and CI logs never get escape codes. A bar never changes
/// results: it wraps iterators without reordering them.
#[derive(Clone)]
pub struct Progress(MultiProgress);

impl Progress {
    /// Progress that draws nothing.
    #[must_use]
    pub fn hidden() -> Self {
        Self(MultiProgress::with_draw_target(ProgressDrawTarget::hidden()))
    }

    /// Progress on stderr when `enabled` and stderr is a terminal; hidden otherwise.
    #[must_use]
    pub fn for_terminal(enabled: bool) -> Self {
        if enabled && std::io::stderr().is_terminal() {
            Self(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
        } else {
            Self::hidden()
        }
    }

    /// A bar for one stage of `len` steps.
    #[must_use]
    pub fn stage(&self, name: &'static str, len: u64) -> ProgressBar {
        let bar = self.0.add(ProgressBar::new(len));
        let style = ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {elapsed}")
            .expect("the template is valid")
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(name);
        bar
    }
}
