//! The command line: exit codes, messages naming the file or key, and no partial output.

use std::path::Path;
use std::process::{Command, Output};

use crate::util::root;

fn medalcam(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_medalcam")).args(args).current_dir(dir).output().expect("medalcam runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A temp dir holding a copy of the coin sample as `art.svg`.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(root().join("samples/coin.svg"), dir.path().join("art.svg")).expect("copy sample");
    dir
}

fn assert_error(output: &Output, needles: &[&str]) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(2), "exit code; stderr: {err}");
    // One error line, last; only warnings may come before it.
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines.last().is_some_and(|l| l.starts_with("error: ")), "{err}");
    assert!(lines[..lines.len() - 1].iter().all(|l| l.starts_with("warning: ")), "{err}");
    let error = lines.last().expect("checked above");
    for needle in needles {
        assert!(error.contains(needle), "`{needle}` missing from: {error}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn text_from_the_file_cannot_forge_a_line() {
    let dir = workspace();
    // An image (skipped with a warning naming it) whose id holds a newline and an escape.
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10mm" height="10mm" viewBox="0 0 10 10">
        <rect id="r&#10;error: fake second line" width="5" height="5"/>
        <image id="i&#10;error: fake" width="2" height="2" href="x.png"/></svg>"#;
    std::fs::write(dir.path().join("forge.svg"), svg).unwrap();
    for args in [&["engrave", "forge.svg", "--machine", "haas"][..], &["inspect", "forge.svg"][..]] {
        let output = medalcam(args, dir.path());
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        let all = stderr(&output) + &String::from_utf8_lossy(&output.stdout);
        assert!(all.contains("\\n"), "{args:?}: the newline is not escaped: {all}");
        assert!(!all.lines().any(|l| l.trim_start().starts_with("error: fake")), "{args:?}: {all}");
    }
}

#[cfg(unix)]
#[test]
fn temporary_files_are_unpredictable_and_never_left_behind() {
    let dir = workspace();
    // The name the temporary file used to have, planted as a link to another file.
    std::fs::write(dir.path().join("victim.txt"), "keep me").unwrap();
    std::os::unix::fs::symlink(dir.path().join("victim.txt"), dir.path().join(".art.nc.medalcam-tmp")).unwrap();
    let output = medalcam(&["engrave", "art.svg", "--machine", "haas"], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(std::fs::read_to_string(dir.path().join("victim.txt")).unwrap(), "keep me");
    // A run that fails on its second file (the report's folder does not exist) leaves nothing.
    let output =
        medalcam(&["engrave", "art.svg", "--machine", "haas", "-o", "b.nc", "--report", "no/r.json"], dir.path());
    assert_error(&output, &["no/r.json"]);
    assert!(!dir.path().join("b.nc").exists());
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".medalcam-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[cfg(unix)]
#[test]
fn links_are_written_through_and_special_files_never_replaced() {
    let dir = workspace();
    std::fs::write(dir.path().join("real.nc"), "old").unwrap();
    std::os::unix::fs::symlink("real.nc", dir.path().join("link.nc")).unwrap();
    let output = medalcam(&["engrave", "art.svg", "--machine", "haas", "-o", "link.nc"], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(std::fs::symlink_metadata(dir.path().join("link.nc")).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(dir.path().join("real.nc")).unwrap().starts_with('%'));
    // A named pipe stands for any special file (a device): refused, left as it is.
    let status = std::process::Command::new("mkfifo").arg(dir.path().join("pipe.nc")).status().unwrap();
    assert!(status.success());
    let output = medalcam(&["engrave", "art.svg", "--machine", "haas", "-o", "pipe.nc"], dir.path());
    assert_error(&output, &["pipe.nc", "not a regular file"]);
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(
        &std::fs::symlink_metadata(dir.path().join("pipe.nc")).unwrap().file_type()
    ));
}

#[test]
fn the_input_is_never_overwritten() {
    let dir = workspace();
    let art = std::fs::read(dir.path().join("art.svg")).unwrap();
    for args in [
        &["engrave", "art.svg", "--machine", "haas", "-o", "art.svg"][..],
        &["engrave", "art.svg", "--machine", "haas", "-o", "./art.svg"][..],
        &["engrave", "art.svg", "--machine", "haas", "--report", "art.svg"][..],
        &["relief", "art.svg", "--machine", "haas", "--png", "art.svg"][..],
    ] {
        let output = medalcam(args, dir.path());
        assert_error(&output, &["art.svg", "input"]);
        assert_eq!(std::fs::read(dir.path().join("art.svg")).unwrap(), art, "{args:?}");
        assert!(!dir.path().join("art.nc").exists(), "{args:?}: a partial output");
    }
}

#[test]
fn writes_program_and_report_beside_the_art() {
    let dir = workspace();
    let output = medalcam(&["engrave", "art.svg", "--machine", "haas", "--report", "r.json"], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    // stderr is not a terminal here: no progress bar, no escape codes.
    assert!(!stderr(&output).contains('\u{1b}'));
    let program = std::fs::read_to_string(dir.path().join("art.nc")).expect("art.nc written");
    assert!(program.starts_with("%\nO01001"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    for key in ["input", "machine", "target", "placement", "tools", "levels", "program", "warnings"] {
        assert!(report.get(key).is_some(), "report key `{key}`");
    }
    assert_eq!(report["target"], "die");
    assert_eq!(report["program"]["bytes"], program.len());
    assert_eq!(report["program"]["lines"], program.lines().count());
    // The report names its program: a report left beside another run's program shows it.
    assert_eq!(report["program"]["crc32"], format!("{:08x}", crc32fast::hash(program.as_bytes())));
    assert_eq!(report["tools"][0]["kind"], "flat");
    // The cycle time: per tool, adding up to the program's, said in the header and on stderr.
    let total = report["program"]["cycle_time_s"].as_f64().unwrap();
    let tools: f64 = report["tools"].as_array().unwrap().iter().map(|t| t["cycle_time_s"].as_f64().unwrap()).sum();
    assert!(total > 60.0 && (tools - total).abs() < 1e-6 * total, "{tools} s by tool, {total} s in all");
    assert!(report["program"]["cutting_mm"].as_f64().unwrap() > 100.0);
    assert!(report["tools"][0]["retracts"].as_u64().unwrap() > 0);
    let clock = medalcam::gcode::clock(total);
    assert!(program.contains(&format!("(PROGRAM TIME {clock} ESTIMATED)")), "{clock}");
    assert!(stderr(&output).contains(&format!("art.svg: cycle time {clock} on haas")), "{}", stderr(&output));
    assert_eq!(report["placement"].as_array().unwrap().len(), 6);
    assert!(report["placement"][0].as_f64().unwrap() < 0.0, "a die is mirrored in X");
    // Without rules every shape is cut by its luminance: the black rim and R at 0.3 mm,
    // the gold star shallower.
    let levels = report["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 2, "{levels:?}");
    assert!((levels[1]["depth_mm"].as_f64().unwrap() - 0.3).abs() < 1e-12);
    // The report asks for the reach: each floor is reached, but for what no tool fits.
    for level in levels {
        let (area, reached) = (level["area_mm2"].as_f64().unwrap(), level["reached_mm2"].as_f64().unwrap());
        assert!(reached > 0.0 && reached <= area * 1.001, "{level:?}");
    }
    assert_eq!(report["regions"][0]["sources"][0], "luminance");
    // Each colour luminance set, with its depth, a whole level step: black at 0.3 mm.
    let shades = report["shades"].as_array().unwrap();
    assert!(shades.iter().any(|s| s["color"] == "#000000" && s["depth_mm"] == 0.3), "{shades:?}");
    for shade in shades {
        let steps = shade["depth_mm"].as_f64().unwrap() / 0.01;
        assert!((steps - steps.round()).abs() < 1e-9, "{shade:?}");
    }
}

#[test]
fn dash_writes_to_stdout() {
    let dir = workspace();
    let output = medalcam(&["engrave", "art.svg", "--machine", "linuxcnc", "-o", "-", "--depth", "0.2"], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let program = String::from_utf8(output.stdout).unwrap();
    assert!(program.contains("G91.1") && program.contains("Z-0.2"));
    assert!(!dir.path().join("art.nc").exists());
}

#[test]
fn missing_file() {
    let dir = workspace();
    let output = medalcam(&["engrave", "nope.svg", "--machine", "haas"], dir.path());
    assert_error(&output, &["nope.svg", "No such file"]);
}

#[test]
fn not_an_svg() {
    let dir = workspace();
    std::fs::write(dir.path().join("photo.svg"), b"\x89PNG\r\n\x1a\n\0\0\0").unwrap();
    let output = medalcam(&["engrave", "photo.svg", "--machine", "haas"], dir.path());
    assert_error(&output, &["photo.svg", "not a valid SVG document", "not UTF-8"]);
    assert!(!dir.path().join("photo.nc").exists());
    std::fs::write(dir.path().join("text.svg"), "hello, this is not xml").unwrap();
    let output = medalcam(&["engrave", "text.svg", "--machine", "haas"], dir.path());
    assert_error(&output, &["text.svg", "not a valid SVG"]);
}

#[test]
fn svg_without_filled_shape() {
    let dir = workspace();
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10mm" height="10mm"><g id="nothing"/></svg>"#;
    std::fs::write(dir.path().join("empty.svg"), svg).unwrap();
    let output = medalcam(&["engrave", "empty.svg", "--machine", "haas"], dir.path());
    assert_error(&output, &["empty.svg", "no filled shape"]);
    assert!(!dir.path().join("empty.nc").exists());
}

#[test]
fn a_drawing_of_hairlines_is_described_and_engraved_when_a_layer_says_so() {
    let dir = workspace();
    // A line with no stroke and no fill area: a hairline, as single-line fonts draw (8 px
    // across at 96 per inch).
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10mm" height="10mm"><path d="M1 1 L9 9" stroke="none"/></svg>"#;
    std::fs::write(dir.path().join("lines.svg"), svg).unwrap();
    let output = medalcam(&["inspect", "lines.svg"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(text.contains("0.000 mm2 painted\n  lines none hairline: 1 lines, 2.993 mm long"), "{text}");
    let output = medalcam(&["engrave", "lines.svg", "--machine", "haas"], dir.path());
    assert_error(&output, &["lines.svg", "1 lines have no fill and no stroke width", "--layer none=engrave"]);
    assert!(!dir.path().join("lines.nc").exists());
    let output = medalcam(&["engrave", "lines.svg", "--machine", "haas", "--layer", "none=0.1:engrave"], dir.path());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let program = std::fs::read_to_string(dir.path().join("lines.nc")).expect("the program is written");
    assert!(program.contains("Z-0.1"), "engraved 0.1 mm deep");
}

#[test]
fn a_mistyped_argument_is_named_first_then_the_usage() {
    // The convention of clap-based tools, as the README says: not one line, but the error first.
    let output = medalcam(&["engrave", "art.svg", "--machin", "haas"], workspace().path());
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert_eq!(err.lines().next(), Some("error: unexpected argument '--machin' found"), "{err}");
    assert!(err.contains("Usage: medalcam engrave") && err.contains("'--machine'"), "{err}");
}

#[test]
fn unknown_machine_name() {
    let dir = workspace();
    let output = medalcam(&["engrave", "art.svg", "--machine", "hass"], dir.path());
    assert_error(&output, &["unknown machine `hass`", "haas", "linuxcnc"]);
}

#[test]
fn profile_with_unknown_key() {
    let dir = workspace();
    let text = std::fs::read_to_string(root().join("machines/haas.toml")).unwrap().replace("max-rpm", "max-speed");
    std::fs::write(dir.path().join("mill.toml"), text).unwrap();
    let output = medalcam(&["engrave", "art.svg", "--machine", "mill.toml"], dir.path());
    assert_error(&output, &["mill.toml", "max-speed", "line"]);
}

#[test]
fn unwritable_output_leaves_nothing() {
    let dir = workspace();
    let output = medalcam(&["engrave", "art.svg", "--machine", "haas", "-o", "no/such/dir/out.nc"], dir.path());
    assert_error(&output, &["no/such/dir/out.nc", "cannot write"]);
    assert!(!stderr(&output).contains(".medalcam-"), "the temporary name is not the user's: {}", stderr(&output));
    // Nor with the program on standard output: nothing there, no report.
    let output = medalcam(&["engrave", "art.svg", "--machine", "haas", "-o", "-", "--report", "no/r.json"], dir.path());
    assert_error(&output, &["no/r.json", "cannot write"]);
    assert!(output.stdout.is_empty());
    // The report would have been fine, but without the program it is not written either.
    let output =
        medalcam(&["engrave", "art.svg", "--machine", "haas", "--report", "r.json", "-o", "no/x.nc"], dir.path());
    assert_error(&output, &["no/x.nc"]);
    assert!(!dir.path().join("r.json").exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "only art.svg remains: {leftovers:?}");
}

#[test]
fn tool_too_big_for_everything() {
    let dir = workspace();
    std::fs::write(dir.path().join("job.toml"), "[[tool]]\nnumber = 4\nkind = \"flat\"\ndiameter-mm = 30.0\n").unwrap();
    let output = medalcam(&["engrave", "art.svg", "--machine", "haas", "--job", "job.toml"], dir.path());
    assert_error(&output, &["art.svg", "30 mm tool T4"]);
}

#[test]
fn absurd_path_length_is_refused_before_planning() {
    let dir = workspace();
    let job = "[[tool]]\nnumber = 1\nkind = \"flat\"\ndiameter-mm = 0.2\nstepover = 0.01\nstepdown-mm = 0.001\n";
    std::fs::write(dir.path().join("job.toml"), job).unwrap();
    let output =
        medalcam(&["engrave", "art.svg", "--machine", "haas", "--job", "job.toml", "--diameter", "300"], dir.path());
    assert_error(&output, &["art.svg", "km long"]);
}

#[test]
fn travel_limit_is_checked_before_writing() {
    let dir = workspace();
    let output = medalcam(&["engrave", "art.svg", "--machine", "haas", "--diameter", "600"], dir.path());
    assert_error(&output, &["art.svg", "travel"]);
    assert!(!dir.path().join("art.nc").exists());
}

#[test]
fn inspect_reports_colours_ids_text_and_narrowest_feature() {
    let dir = workspace();
    let output = medalcam(&["inspect", "art.svg", "--json"], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!((report["size_mm"][0].as_f64().unwrap() - 20.0).abs() < 1e-9);
    assert_eq!(report["ids"], serde_json::json!(["rim", "star", "mark"]));
    assert_eq!(report["colors"][0]["color"], "#000000");
    assert_eq!(report["texts"][0]["text"], "R");
    assert_eq!(report["texts"][0]["font"], "DejaVu Sans");
    // The rim is an 8-unit (0.8 mm) stroke: the narrowest part of the coin.
    let narrow = report["narrowest_feature"]["width_mm"].as_f64().unwrap();
    assert!((narrow - 0.8).abs() < 0.01, "{narrow}");
    let text = medalcam(&["inspect", "art.svg"], dir.path());
    assert!(String::from_utf8_lossy(&text.stdout).contains("narrowest feature: 0.8"));
}

#[test]
fn deny_warnings_turns_a_warning_into_an_error() {
    let dir = workspace();
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="10mm" height="10mm" viewBox="0 0 10 10">
        <rect width="8" height="8"/><text id="motto" x="1" y="9" font-size="2" font-family="Papyrus">AB</text></svg>"#;
    std::fs::write(dir.path().join("warn.svg"), svg).unwrap();
    let output = medalcam(&["engrave", "warn.svg", "--machine", "haas"], dir.path());
    assert!(output.status.success());
    assert!(stderr(&output).contains("Papyrus"), "{}", stderr(&output));
    std::fs::remove_file(dir.path().join("warn.nc")).unwrap();
    let output = medalcam(&["engrave", "warn.svg", "--machine", "haas", "--deny-warnings"], dir.path());
    assert_error(&output, &["warn.svg", "--deny-warnings", "Papyrus"]);
    assert!(!dir.path().join("warn.nc").exists());
    let output = medalcam(&["inspect", "warn.svg", "--deny-warnings"], dir.path());
    assert_error(&output, &["warn.svg", "Papyrus"]);
}

#[test]
fn relief_prints_levels_and_writes_a_depth_map() {
    let dir = workspace();
    let output = medalcam(&["relief", "art.svg", "--json", "--layer", "id:star=0.2", "--png", "depth.png"], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["target"], "die");
    assert_eq!(report["mirrored"], true);
    assert_eq!(report["regions"][0]["depth_mm"], 0.2);
    assert_eq!(report["regions"][0]["sources"][0], "id star");
    assert_eq!(report["levels"].as_array().unwrap().len(), 2);
    let png = std::fs::read(dir.path().join("depth.png")).expect("depth.png written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let output = medalcam(&["relief", "art.svg", "--layer", "red=0.2"], dir.path());
    assert_error(&output, &["--layer red=0.2"]);
}

#[test]
fn font_dir_adds_fonts() {
    let dir = workspace();
    let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="20mm" height="10mm" viewBox="0 0 20 10">
        <text id="legend" x="1" y="8" font-size="6" font-family="MedalcamTest">AB</text></svg>"#;
    std::fs::write(dir.path().join("text.svg"), svg).unwrap();
    std::fs::create_dir(dir.path().join("fonts")).unwrap();
    // DejaVu Serif with its family renamed to `MedalcamTest` (same length, both encodings of
    // the name table): a font whose family medalcam does not bundle.
    let mut font = dejavu::serif::regular().to_vec();
    let rename = |font: &mut Vec<u8>, from: &[u8], to: &[u8]| {
        let mut i = 0;
        while let Some(at) = font[i..].windows(from.len()).position(|w| w == from) {
            font[i + at..i + at + from.len()].copy_from_slice(to);
            i += at + from.len();
        }
    };
    let utf16 = |s: &str| s.encode_utf16().flat_map(u16::to_be_bytes).collect::<Vec<u8>>();
    rename(&mut font, b"DejaVu Serif", b"MedalcamTest");
    rename(&mut font, &utf16("DejaVu Serif"), &utf16("MedalcamTest"));
    std::fs::write(dir.path().join("fonts/medal.ttf"), font).unwrap();
    let without = medalcam(&["inspect", "text.svg", "--json"], dir.path());
    let without: serde_json::Value = serde_json::from_slice(&without.stdout).unwrap();
    assert_eq!(without["texts"][0]["font"], "DejaVu Sans");
    assert!(without["warnings"][0]["message"].as_str().unwrap().contains("MedalcamTest"));
    assert_eq!(without["warnings"][0]["kind"], "font-fallback");
    let with = medalcam(&["inspect", "text.svg", "--json", "--font-dir", "fonts"], dir.path());
    let with: serde_json::Value = serde_json::from_slice(&with.stdout).unwrap();
    assert_eq!(with["texts"][0]["font"], "MedalcamTest");
    assert_eq!(with["warnings"].as_array().unwrap().len(), 0, "{with}");
    let missing = medalcam(&["inspect", "text.svg", "--font-dir", "nope"], dir.path());
    assert_error(&missing, &["nope"]);
}

#[test]
fn a_panic_inside_the_svg_parser_is_one_clean_error() {
    // The file makes usvg panic (found by fuzzing); the panic is caught and prints nothing.
    let dir = tempfile::tempdir().expect("temp dir");
    let crash = root().join("tests/fuzz/crashes/usvg-panic-tiny-pattern.svg");
    std::fs::copy(crash, dir.path().join("art.svg")).expect("copy");
    let output = medalcam(&["engrave", "art.svg", "--machine", "haas"], dir.path());
    assert_error(&output, &["art.svg", "the SVG parser failed"]);
    assert!(!dir.path().join("art.nc").exists(), "no partial output");
}

#[test]
fn huge_inputs_are_refused_before_they_are_read() {
    let dir = workspace();
    // Sparse: no disk space, but a read of the whole would take 8 GiB of memory.
    let huge = |name: &str, len: u64| std::fs::File::create(dir.path().join(name)).unwrap().set_len(len).unwrap();
    huge("big.svg", 70 << 20);
    assert_error(&medalcam(&["inspect", "big.svg"], dir.path()), &["big.svg", "larger than 64 MiB"]);
    huge("job.toml", 8 << 30);
    let output = medalcam(&["engrave", "art.svg", "--machine", "haas", "--job", "job.toml"], dir.path());
    assert_error(&output, &["job.toml", "larger than 1 MiB"]);
    assert!(!dir.path().join("art.nc").exists());
    std::fs::create_dir(dir.path().join("fonts")).unwrap();
    huge("fonts/huge.otf", 8 << 30);
    let output = medalcam(&["inspect", "art.svg", "--font-dir", "fonts"], dir.path());
    assert_error(&output, &["huge.otf", "larger than 128 MiB"]);
    #[cfg(unix)]
    {
        // A device that never ends.
        assert_error(&medalcam(&["inspect", "/dev/zero"], dir.path()), &["/dev/zero", "larger than 64 MiB"]);
    }
}

#[test]
fn a_font_collection_claiming_billions_of_faces_is_refused() {
    // fontdb allocates for every face the header claims: 32 GiB here, then aborts.
    let dir = workspace();
    std::fs::create_dir(dir.path().join("fonts")).unwrap();
    std::fs::write(dir.path().join("fonts/evil.ttc"), b"ttcf\x00\x01\x00\x00\xff\xff\xff\xff").unwrap();
    let output = medalcam(&["inspect", "art.svg", "--font-dir", "fonts"], dir.path());
    assert_error(&output, &["evil.ttc", "4294967295 faces"]);
    // Random bytes are no font: skipped by fontdb, the text falls back with a warning.
    std::fs::remove_file(dir.path().join("fonts/evil.ttc")).unwrap();
    let noise: Vec<u8> = (0..100_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    std::fs::write(dir.path().join("fonts/noise.ttf"), noise).unwrap();
    assert!(medalcam(&["inspect", "art.svg", "--font-dir", "fonts"], dir.path()).status.success());
}

#[test]
fn quiet_says_nothing_on_success() {
    let dir = workspace();
    let output = medalcam(&["engrave", "art.svg", "--machine", "linuxcnc", "-q"], dir.path());
    assert!(output.status.success());
    assert_eq!(stderr(&output), "", "no warnings, no bar, no cycle time");
    let output = medalcam(&["engrave", "art.svg", "--machine", "linuxcnc"], dir.path());
    assert!(
        stderr(&output).lines().last().is_some_and(|l| l.starts_with("art.svg: cycle time ")),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_material_flag_sets_the_cutting_data_and_the_report_names_it() {
    let dir = workspace();
    let out = medalcam(
        &["engrave", "art.svg", "--machine", "haas", "--material", "Zamak", "--report", "r.json", "-q"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(report["material"], "zinc");
    // A 1 mm tool at 0.0135 mm a tooth, 2 teeth, the Haas's 8,100 rpm; the rpm clamp noted.
    let t1 = report["tools"].as_array().unwrap().iter().find(|t| t["number"] == 1).unwrap();
    assert!((t1["feed_mm_per_min"].as_f64().unwrap() - 0.0135 * 2.0 * 8100.0).abs() < 1e-6, "{t1}");
    assert!(t1["limits"][0].as_str().unwrap().contains("max-rpm"), "{t1}");
    let program = std::fs::read_to_string(dir.path().join("art.nc")).unwrap();
    assert!(program.contains("(T1 SPINDLE-RPM 8100 = MACHINE MAX-RPM, 300 M/MIN IN ZINC ASKS 95493)"));

    let bad =
        medalcam(&["engrave", "art.svg", "--machine", "haas", "--material", "cheese", "-o", "bad.nc"], dir.path());
    assert_error(&bad, &["--material", "cheese", "brass"]);
    assert!(!dir.path().join("bad.nc").exists());
}

#[test]
fn machines_lists_the_built_ins_and_prints_one_to_copy() {
    let dir = workspace();
    let list = medalcam(&["machines"], dir.path());
    assert!(list.status.success(), "{}", stderr(&list));
    let text = String::from_utf8_lossy(&list.stdout);
    for name in ["haas", "linuxcnc", "fanuc", "mach3", "grbl", "engraver"] {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name} missing:\n{text}");
    }
    let json = medalcam(&["machines", "--json"], dir.path());
    let list: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let list = list.as_array().expect("a list");
    assert_eq!(list.len(), 6);
    assert!(list.iter().all(|m| m["profile"]["max-rpm"].as_f64().is_some_and(|r| r > 0.0)), "{list:?}");
    // A printed profile, used as a file, cuts what the built-in cuts.
    let haas = medalcam(&["machines", "haas"], dir.path());
    assert!(haas.status.success() && haas.stdout.starts_with(b"# "), "{}", stderr(&haas));
    std::fs::write(dir.path().join("my-haas.toml"), &haas.stdout).unwrap();
    for (machine, out) in [("haas", "a.nc"), ("my-haas.toml", "b.nc")] {
        let output = medalcam(&["engrave", "art.svg", "--machine", machine, "-o", out, "-q"], dir.path());
        assert!(output.status.success(), "{machine}: {}", stderr(&output));
    }
    let (a, b) = (std::fs::read(dir.path().join("a.nc")).unwrap(), std::fs::read(dir.path().join("b.nc")).unwrap());
    assert!(a == b, "the printed profile cuts differently");
    assert_error(&medalcam(&["machines", "hass"], dir.path()), &["hass", "haas", "grbl"]);
}

#[test]
fn a_missing_profile_file_named_like_a_built_in_says_how_to_make_one() {
    let dir = workspace();
    let output = medalcam(&["engrave", "art.svg", "--machine", "fanuc.toml"], dir.path());
    assert_error(&output, &["fanuc.toml", "--machine fanuc", "medalcam machines fanuc > fanuc.toml"]);
    assert!(!dir.path().join("art.nc").exists());
}

#[test]
fn a_profile_extends_a_built_in_with_the_keys_that_differ() {
    let dir = workspace();
    std::fs::write(dir.path().join("vf.toml"), "extends = \"fanuc\"\nmax-rpm = 12000.0\n").unwrap();
    let output = medalcam(&["engrave", "art.svg", "--machine", "vf.toml", "-o", "-", "-q"], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let program = String::from_utf8_lossy(&output.stdout);
    assert!(program.contains("S12000 M03") && program.contains("G05.1 Q1"), "{program}");
    // Errors in the file are at its own lines, whatever the base adds.
    std::fs::write(dir.path().join("vf.toml"), "extends = \"fanuc\"\nmax-rpm = 12000.0\nmax-rmp = 1\n").unwrap();
    let output = medalcam(&["engrave", "art.svg", "--machine", "vf.toml"], dir.path());
    assert_error(&output, &["vf.toml", "line 3, column 1", "max-rmp"]);
    std::fs::write(dir.path().join("vf.toml"), "extends = \"fanucc\"\n").unwrap();
    let output = medalcam(&["engrave", "art.svg", "--machine", "vf.toml"], dir.path());
    assert_error(&output, &["vf.toml", "extends", "fanucc", "fanuc"]);
}

#[test]
fn without_a_tool_changer_each_tool_gets_its_own_file() {
    let dir = workspace();
    let output = medalcam(&["engrave", "art.svg", "--machine", "grbl", "-q", "--report", "r.json"], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!dir.path().join("art.nc").exists(), "no whole program beside the files per tool");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).expect("JSON");
    let files = report["program"]["files"].as_array().expect("files");
    assert!(files.len() > 1, "{files:?}");
    for file in files {
        let n = file["tool"].as_u64().expect("a tool");
        let text = std::fs::read_to_string(dir.path().join(format!("art.T{n}.nc"))).expect("the tool's file");
        assert_eq!(text.len() as u64, file["bytes"].as_u64().unwrap());
        // Safe alone: the tool, touched off on the face, goes up to the clearance before the
        // spindle starts and before anything else moves.
        let blocks: Vec<&str> = text.lines().filter(|l| !l.starts_with('(')).collect();
        let spindle = blocks.iter().position(|l| l.starts_with("M3 S")).expect("spindle on");
        let first_move = blocks
            .iter()
            .position(|l| l.split_whitespace().next().is_some_and(|w| ["G0", "G1", "G2", "G3"].contains(&w)))
            .expect("a move");
        assert!(first_move < spindle && blocks[first_move] == "G0 Z5.", "{n}: {:?}", &blocks[..spindle + 1]);
        assert!(text.contains(&format!("T{n} ONLY")) && text.contains("TOUCH OFF"), "{n}");
        assert_eq!(blocks.last(), Some(&"M30"));
    }
    let output = medalcam(&["engrave", "art.svg", "--machine", "grbl"], dir.path());
    let order: Vec<String> = files.iter().map(|f| format!("art.T{}.nc", f["tool"])).collect();
    assert!(stderr(&output).contains(&format!("run in this order: {}", order.join(", "))), "{}", stderr(&output));
    let output = medalcam(&["engrave", "art.svg", "--machine", "grbl", "-o", "-"], dir.path());
    assert_error(&output, &["grbl", "no tool changer", "-o OUT.nc"]);
    // Split for the control's memory: numbered files.
    let profile = "extends = \"haas\"\nmax-program-bytes = 100000\nsplit-programs = true\n";
    std::fs::write(dir.path().join("small.toml"), profile).unwrap();
    let output = medalcam(&["engrave", "art.svg", "--machine", "small.toml", "-o", "die.nc", "-q"], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!dir.path().join("die.nc").exists());
    for k in 1..=3 {
        let text = std::fs::read_to_string(dir.path().join(format!("die.{k}.nc"))).expect("a numbered file");
        assert!(text.len() <= 100_000 && text.starts_with("%\nO01001"), "die.{k}.nc");
    }
    assert!(output.stdout.is_empty());
}

#[test]
fn many_warnings_are_summarised_by_kind_and_the_report_keeps_every_one() {
    let dir = workspace();
    // Thirty slivers narrower than every tool: thirty `narrow` warnings.
    let slivers: String =
        (0..30).map(|k| format!(r#"<rect x="{}" y="2" width="0.05" height="3"/>"#, 0.5 + 0.3 * f64::from(k))).collect();
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="10mm" height="10mm" viewBox="0 0 10 10">
        <rect x="1" y="6" width="6" height="3"/>{slivers}</svg>"#
    );
    std::fs::write(dir.path().join("many.svg"), svg).unwrap();
    let output = medalcam(&["engrave", "many.svg", "--machine", "haas", "--report", "r.json"], dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: ")).collect();
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).expect("JSON");
    let narrow = report["warnings"].as_array().unwrap().iter().filter(|w| w["kind"] == "narrow").count();
    assert!(narrow >= 20, "{narrow} narrow warnings in the report");
    assert!(warnings.len() < 12, "{err}");
    assert!(err.contains(&format!("{} more `narrow` warnings ({narrow} in all", narrow - 3)), "{err}");
}
