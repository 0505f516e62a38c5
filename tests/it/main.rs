//! One integration test binary (ripgrep's layout): each module is one concern.

mod architecture;
mod arcs;
mod cli;
mod cut;
mod determinism;
mod dialects;
mod emblem;
mod engrave;
mod fuzz;
mod golden;
mod gouge;
mod proof;
mod relief;
mod render;
mod rs274;
mod safety;
mod tolerance;
mod util;
mod vcarve;
