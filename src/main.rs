//! The `medalcam` command: argument parsing and error reporting; the work is in the library.

use std::io::{self, Write as _};
use std::process::ExitCode;

use clap::Parser as _;

mod cli;
mod proof;

fn main() -> ExitCode {
    match cli::run(cli::Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        // A check the user asked for failed: said on stdout, exit 1.
        Ok(false) => ExitCode::from(1),
        Err(err) => report(&err),
    }
}

/// Prints one line, `error: <file>: <cause>: ...`, and returns exit code 2.
fn report(err: &anyhow::Error) -> ExitCode {
    // `medalcam ... -o - | head` closing the pipe is not a failure (as in ripgrep).
    let broken_pipe =
        err.chain().filter_map(|e| e.downcast_ref::<io::Error>()).any(|e| e.kind() == io::ErrorKind::BrokenPipe);
    if broken_pipe {
        return ExitCode::SUCCESS;
    }
    let message: Vec<String> = err.chain().map(|e| medalcam::one_line(&e.to_string()).into_owned()).collect();
    let _ = writeln!(io::stderr().lock(), "error: {}", message.join(": "));
    ExitCode::from(2)
}
