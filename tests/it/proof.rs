//! Proof before metal: `medalcam simulate` and `medalcam diff` on programs medalcam wrote, and
//! on the same programs edited by hand.

use std::path::Path;
use std::process::{Command, Output};

use crate::util::{engrave, root, Case};

fn medalcam(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_medalcam")).args(args).current_dir(dir).output().expect("medalcam runs")
}

fn json(output: &Output) -> serde_json::Value {
    assert!(output.status.code().is_some_and(|c| c < 2), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON")
}

/// Every X, Y and Z of `program` moved by 0.5 um, in turn up and down, and written with four
/// decimals: the same die, other bytes.
fn perturbed(program: &str) -> String {
    let mut k = 0;
    program
        .lines()
        .map(|line| {
            if line.starts_with(['(', '%', 'O']) {
                return format!("{line}\n");
            }
            let words: Vec<String> = line
                .split_whitespace()
                .map(|w| match (w.chars().next(), w[1..].parse::<f64>()) {
                    (Some(c @ ('X' | 'Y' | 'Z')), Ok(v)) => {
                        k += 1;
                        format!("{c}{:.4}", v + if k % 2 == 0 { 0.0005 } else { -0.0005 })
                    }
                    _ => w.to_string(),
                })
                .collect();
            words.join(" ") + "\n"
        })
        .collect()
}

#[test]
fn simulate_measures_what_the_test_simulation_measures() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (sample, diameter) in [("coin", None), ("noto_u1f396", Some(16.0))] {
        let case = Case { sample, diameter_mm: diameter };
        let engraving = engrave(&case, "haas");
        std::fs::write(dir.path().join("p.nc"), &engraving.program).unwrap();
        let art = root().join(format!("samples/{sample}.svg"));
        let size = diameter.map(|d| d.to_string());
        let mut args =
            vec!["simulate", "p.nc", "--machine", "haas", "--json", "--check", "--art", art.to_str().unwrap()];
        if let Some(size) = &size {
            args.extend(["--diameter", size]);
        }
        let report = json(&medalcam(&args, dir.path()));
        // The library's simulation of the same program over the same grid.
        let tools: Vec<_> = engraving.toolpaths.tools();
        let b: Vec<f64> = report["bounds_mm"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let sim = medalcam::simulation::simulate(&engraving.program, &tools, [b[0], b[1], b[2], b[3]], 0.01).unwrap();
        let removed: f64 = sim.heightmap.z.iter().map(|z| -z.min(0.0)).sum::<f64>() * 1e-4;
        let lowest = sim.heightmap.z.iter().copied().fold(0.0, f64::min);
        let (r, l) = (report["removed_mm3"].as_f64().unwrap(), report["lowest_z_mm"].as_f64().unwrap());
        assert!((r - removed).abs() <= 0.01 * removed && removed > 1.0, "{sample}: {r} against {removed} mm3");
        assert!((l - lowest).abs() <= 0.005, "{sample}: lowest {l} against {lowest}");
        assert_eq!(report["pass"], true, "{sample}: {report}");
        assert_eq!(report["check"]["overcut_mm2"], 0.0, "{sample}: {report}");
        assert_eq!(report["rapid_cuts"], 0);
    }
}

#[test]
fn a_cut_too_deep_is_caught_and_a_re_rounded_program_is_the_same_die() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engraving = engrave(&Case { sample: "coin", diameter_mm: None }, "haas");
    let program = engraving.program;
    // One floor point of the 0.3 mm tool's level, 0.1 mm deeper.
    let lines: Vec<&str> = program.lines().collect();
    let t2 = lines.iter().position(|l| l.starts_with("T2 M06")).expect("T2");
    let spot =
        (t2..lines.len()).find(|&i| lines[i].starts_with('X') && lines[i].ends_with(" Z-0.3")).expect("a floor move");
    let words: Vec<f64> = lines[spot].split_whitespace().take(2).map(|w| w[1..].parse().unwrap()).collect();
    let mut deep: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    deep[spot] = deep[spot].replace(" Z-0.3", " Z-0.4");
    std::fs::write(dir.path().join("golden.nc"), &program).unwrap();
    std::fs::write(dir.path().join("deep.nc"), deep.join("\n") + "\n").unwrap();
    std::fs::write(dir.path().join("rounded.nc"), perturbed(&program)).unwrap();
    let art = root().join("samples/coin.svg");
    let art = art.to_str().unwrap();

    let same = medalcam(&["diff", "golden.nc", "rounded.nc", "--machine", "haas", "--json"], dir.path());
    assert_eq!(same.status.code(), Some(0), "{}", String::from_utf8_lossy(&same.stdout));
    assert_eq!(json(&same)["same"], true);

    let differs =
        medalcam(&["diff", "golden.nc", "deep.nc", "--machine", "haas", "--json", "--png", "d.png"], dir.path());
    assert_eq!(differs.status.code(), Some(1));
    let report = json(&differs);
    assert!((report["largest_difference_mm"].as_f64().unwrap() - 0.1).abs() < 0.002, "{report}");
    let at = &report["largest_difference_at"];
    let (x, y) = (at[0].as_f64().unwrap(), at[1].as_f64().unwrap());
    assert!((x - words[0]).hypot(y - words[1]) < 0.5, "{report}: the spot is X{} Y{}", words[0], words[1]);
    let png = resvg::tiny_skia::Pixmap::decode_png(&std::fs::read(dir.path().join("d.png")).unwrap()).unwrap();
    let red = png.pixels().iter().filter(|p| p.red() > 200 && p.green() < 60 && p.blue() < 60).count();
    assert!(red > 0, "the picture marks the spot");

    let good = medalcam(&["simulate", "golden.nc", "--machine", "haas", "--art", art, "--check", "-q"], dir.path());
    assert_eq!(good.status.code(), Some(0), "{}", String::from_utf8_lossy(&good.stderr));
    let bad = medalcam(&["simulate", "deep.nc", "--machine", "haas", "--art", art, "--check", "--json"], dir.path());
    assert_eq!(bad.status.code(), Some(1));
    let report = json(&bad);
    assert!((report["check"]["worst_overcut_mm"].as_f64().unwrap() - 0.1).abs() < 0.002, "{report}");
}

#[test]
fn the_files_of_one_tool_each_cut_what_the_whole_program_cuts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let golden = root().join("tests/golden");
    let whole = golden.join("coin.linuxcnc.nc");
    let mut args = vec![
        "simulate".to_string(),
        whole.display().to_string(),
        "--machine".into(),
        "linuxcnc".into(),
        "--json".into(),
    ];
    let whole = json(&medalcam(&args.iter().map(String::as_str).collect::<Vec<_>>(), dir.path()));
    // The GRBL files in the order they run, each loaded by hand.
    args.truncate(1);
    for tool in [5, 1, 4, 2, 3] {
        args.push(golden.join(format!("coin.grbl.T{tool}.nc")).display().to_string());
    }
    args.extend(["--machine".into(), "grbl".into(), "--json".into(), "--png".into(), "pics".into()]);
    let files = json(&medalcam(&args.iter().map(String::as_str).collect::<Vec<_>>(), dir.path()));
    for key in ["removed_mm3", "lowest_z_mm"] {
        let (a, b) = (whole[key].as_f64().unwrap(), files[key].as_f64().unwrap());
        assert!((a - b).abs() <= 1e-6 * a.abs().max(1.0), "{key}: {a} and {b}");
    }
    for name in ["die.png", "medal.png"] {
        let png = resvg::tiny_skia::Pixmap::decode_png(&std::fs::read(dir.path().join("pics").join(name)).unwrap());
        assert!(png.is_ok_and(|p| p.width() > 500 && p.height() > 500), "{name}");
    }
}

/// A headless browser on this machine, if any.
fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
}

/// How many pixels of the screenshot of `html` (a file in `dir`) are the gold of a medal.
fn gold_pixels(browser: &str, dir: &Path, html: &str) -> usize {
    let shot = dir.join(format!("{html}.png"));
    let output = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,3000"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", dir.join(html).display()))
        .output()
        .expect("the browser runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let png = resvg::tiny_skia::Pixmap::decode_png(&std::fs::read(&shot).expect("a screenshot")).expect("a PNG");
    png.pixels().iter().filter(|p| p.red() > 200 && (150..=215).contains(&p.green()) && p.blue() < 130).count()
}

#[test]
fn the_setup_sheet_renders_with_its_pictures_in_a_headless_browser() {
    let Some(browser) = chromium() else {
        assert!(std::env::var_os("CI").is_none(), "chromium is missing in CI: .ci/run installs it");
        eprintln!("SKIPPED the_setup_sheet_renders_with_its_pictures_in_a_headless_browser: no chromium");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(root().join("samples/coin.svg"), dir.path().join("coin.svg")).unwrap();
    let output =
        medalcam(&["engrave", "coin.svg", "--machine", "haas", "-q", "--setup-sheet", "sheet.html"], dir.path());
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let html = std::fs::read_to_string(dir.path().join("sheet.html")).expect("the sheet");
    for needle in ["MIRRORED: YES", "Haas VF-2", "c45", ">T3<", "Least stick-out", "PASS", "thin-wall (2)", "coin.nc"] {
        assert!(html.contains(needle), "{needle} missing");
    }
    assert_eq!(html.matches("src=\"data:image/png;base64,").count(), 3);
    assert!(!html.contains("http://") && !html.contains("https://"), "self-contained");
    // The medal's gold shows; without its picture, none does.
    assert!(gold_pixels(browser, dir.path(), "sheet.html") > 20_000, "the medal's picture does not render");
    let start = html.find("<figure><img alt=\"The medal").expect("the medal's figure");
    let end = start + html[start..].find("</figure>").expect("its end");
    std::fs::write(dir.path().join("bare.html"), format!("{}{}", &html[..start], &html[end..])).unwrap();
    // (Text and borders blend into a few gold-like pixels.)
    assert!(gold_pixels(browser, dir.path(), "bare.html") < 1_000);
}

#[test]
fn enamel_lays_the_artworks_colours_into_the_medal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let art = root().join("samples/noto_u1f396.svg");
    let art = art.to_str().unwrap();
    let engrave = medalcam(&["engrave", art, "--machine", "haas", "--diameter", "16", "-o", "p.nc", "-q"], dir.path());
    assert!(engrave.status.success(), "{}", String::from_utf8_lossy(&engrave.stderr));
    let simulate = |extra: &[&str], png: &str| {
        let mut args =
            vec!["simulate", "p.nc", "--machine", "haas", "--diameter", "16", "--art", art, "-q", "--png", png];
        args.extend(extra);
        let output = medalcam(&args, dir.path());
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        resvg::tiny_skia::Pixmap::decode_png(&std::fs::read(dir.path().join(png).join("medal.png")).unwrap()).unwrap()
    };
    let (plain, enamelled) = (simulate(&[], "plain"), simulate(&["--enamel"], "enamel"));
    // The emoji's blue ribbon: blue on the enamelled medal, nowhere on the plain gold one.
    let blue = |p: &resvg::tiny_skia::Pixmap| {
        let blue = |c: &&resvg::tiny_skia::PremultipliedColorU8| {
            let (r, g, b) = (i32::from(c.red()), i32::from(c.green()), i32::from(c.blue()));
            b > 150 && b > r + 60 && b > g + 20
        };
        p.pixels().iter().filter(blue).count()
    };
    assert_eq!(blue(&plain), 0);
    assert!(blue(&enamelled) > 5_000, "{} blue pixels", blue(&enamelled));
    let refused = medalcam(&["simulate", "p.nc", "--machine", "haas", "--enamel"], dir.path());
    assert_eq!(refused.status.code(), Some(2), "--enamel needs --art");
}

#[test]
fn a_grid_too_large_for_memory_is_refused_with_the_way_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A cut across 100 mm: 100 million cells at 0.01 mm.
    std::fs::write(dir.path().join("wide.nc"), "T1 M6\nG0 X0 Y0 Z1\nG1 X100 Y100 Z-0.1 F100\n").unwrap();
    let refused = medalcam(&["simulate", "wide.nc", "--machine", "haas"], dir.path());
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("wide.nc") && err.contains("million cells") && err.contains("--resolution"), "{err}");
    let coarse = medalcam(&["simulate", "wide.nc", "--machine", "haas", "--resolution", "0.02", "--json"], dir.path());
    assert!(json(&coarse)["lowest_z_mm"].as_f64().is_some_and(|z| (z + 0.1).abs() < 1e-9));
}
