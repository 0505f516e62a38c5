//! The stages only look backwards (README, lib docs): each stage's source names no stage it
//! must not know, and the library never names the binary's module.

use std::path::Path;

/// What each stage must not name: artwork knows no relief, toolpath, gcode or machine; relief
/// no toolpath, gcode or machine; toolpath no artwork or gcode; gcode no artwork or relief;
/// simulation no artwork.
const RULES: &[(&str, &[&str])] = &[
    ("artwork", &["relief", "toolpath", "gcode", "machine"]),
    ("relief", &["toolpath", "gcode", "machine"]),
    ("toolpath", &["artwork", "gcode"]),
    ("gcode", &["artwork", "relief"]),
    ("simulation", &["artwork"]),
];

/// The binary's files: `main.rs` and the modules it declares (`mod cli;`, `mod proof;`).
/// Everything else in `src/` is the library's.
fn binary(src: &Path) -> Vec<String> {
    let main = std::fs::read_to_string(src.join("main.rs")).expect("src/main.rs");
    let modules =
        main.lines().filter_map(|l| l.trim().strip_prefix("mod ")?.strip_suffix(';').map(|m| format!("{m}.rs")));
    std::iter::once("main.rs".to_string()).chain(modules).collect()
}

/// The source files of stage `name`: `src/<name>.rs` and everything under `src/<name>/`.
fn sources(src: &Path, name: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let file = src.join(format!("{name}.rs"));
    if file.exists() {
        out.push((file.display().to_string(), std::fs::read_to_string(&file).expect("readable")));
    }
    let mut dirs = vec![src.join(name)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut entries: Vec<_> = entries.map(|e| e.expect("entry").path()).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((path.display().to_string(), std::fs::read_to_string(&path).expect("readable")));
            }
        }
    }
    out
}

/// The lines of `text` (comments left out) that name module `module` of the crate: as
/// `crate::module`, or inside a `use crate::{...}` group.
fn names(text: &str, module: &str) -> Vec<String> {
    let code: Vec<&str> = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect();
    let joined = code.join("\n");
    let mut found = Vec::new();
    let is_word_end = |rest: &str| !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_');
    let mut at = 0;
    while let Some(i) = joined[at..].find("crate::") {
        let start = at + i + "crate::".len();
        let rest = &joined[start..];
        if rest.starts_with(module) && is_word_end(&rest[module.len()..]) {
            found.push(format!("crate::{module}"));
        } else if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            if group.split(',').any(|item| {
                let item = item.trim();
                item.starts_with(module) && is_word_end(&item[module.len()..])
            }) {
                found.push(format!("crate::{{{group}}}"));
            }
        }
        at = start;
    }
    found
}

#[test]
fn each_stage_names_only_the_stages_before_it() {
    let src = crate::util::root().join("src");
    let mut broken = Vec::new();
    for (stage, forbidden) in RULES {
        let files = sources(&src, stage);
        assert!(!files.is_empty(), "stage {stage} has no source");
        for (path, text) in files {
            for module in *forbidden {
                for found in names(&text, module) {
                    broken.push(format!("{path}: {stage} names {found}"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn the_library_never_names_the_binary() {
    let src = crate::util::root().join("src");
    let binary = binary(&src);
    assert!(binary.len() >= 3, "main.rs declares the cli and proof modules: {binary:?}");
    let mut broken = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable") {
            let path = entry.expect("entry").path();
            let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("").to_string();
            if path.is_dir() {
                dirs.push(path);
            } else if dir == src && binary.contains(&file) {
                continue;
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("readable");
                if !names(&text, "cli").is_empty() || text.lines().any(|l| l.trim() == "mod cli;") {
                    broken.push(path.display().to_string());
                }
            }
        }
    }
    assert!(broken.is_empty(), "the library names the binary's cli module in {broken:?}");
}

#[test]
fn a_forbidden_import_is_found() {
    // What the check would say if artwork learned of gcode, in any of the ways Rust names it.
    for text in [
        "use crate::gcode::emit;",
        "use crate::{error::Result, gcode};",
        "fn f() { crate::gcode::emit(); }",
        "use crate::{geom, gcode::number};",
    ] {
        assert_eq!(names(text, "gcode").len(), 1, "{text}");
    }
    for text in ["use crate::gcodes;", "// use crate::gcode;", "use crate::geom::gcode_like;", "use crate::{geom};"] {
        assert!(names(text, "gcode").is_empty(), "{text}");
    }
}
