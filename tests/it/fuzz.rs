//! Fuzzing on stable Rust: proptest mutates seed SVGs (byte flips, truncation, duplicated and
//! deleted ranges, hostile numbers, tags and attributes, deep nesting) and the whole pipeline
//! must return `Ok` or `Err`, never panic. See `tests/fuzz/README.md` for long sessions.
//!
//! - `MEDALCAM_FUZZ_SECS=T` stops a run after T seconds (the cases left return at once).
//! - `MEDALCAM_FUZZ_CASES=N` sets the number of cases (default [`DEFAULT_CASES`], for CI) and
//!   `MEDALCAM_FUZZ_SEED=S` the random seed (default: fixed without `MEDALCAM_FUZZ_CASES`,
//!   random with it; the seed is printed so any run can be replayed).
//! - Every case's input is written to `<target>/tmp/fuzz-current.svg` before it runs, so a
//!   crash that is not a panic (an abort, a stack overflow, the OOM killer) leaves its input.
//! - A panicking input, once shrunk, is in `<target>/tmp/fuzz-panic.svg`: minimise it by hand
//!   if needed and save it in `tests/fuzz/crashes/` for [`crashes_do_not_panic`].
//! - A case still running after `MEDALCAM_FUZZ_CASE_SECS` (default 300: the 40 mm medal seed at its own size takes tens of seconds on a loaded machine) is a hang: its input
//!   is copied to `<target>/tmp/fuzz-hang.svg` and the process exits with code 3.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngSeed, TestRunner};

use crate::util::{job, root};

/// Cases per run when `MEDALCAM_FUZZ_CASES` is not set: about 15 s in a debug build on two
/// cores.
const DEFAULT_CASES: u32 = 256;
/// The seed of the default run, so that CI runs the same cases every time.
const DEFAULT_SEED: u64 = 0x6d65_6461_6c63_616d;

/// Numbers that break naive parsers and geometry.
const NUMBERS: &[&str] = &[
    "1e309",
    "-1e309",
    "-0",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "1e38",
    "3.5e38",
    "-3.5e38",
    "1e-45",
    "1e-320",
    "0",
    "-1",
    "99999999999999999999",
    ".",
    "-",
    "1e",
    "0x10",
    "1.5.5",
    "4294967296",
    "1e-7",
    "0.0000001",
    "1e30",
    "-1e30",
];

/// Attributes, inserted just before the end of a start tag.
const ATTRIBUTES: &[&str] = &[
    r#" transform="scale(1e30)""#,
    r#" transform="scale(0)""#,
    r#" transform="scale(-1 1)""#,
    r#" transform="matrix(1e-30 0 0 1e-30 0 0)""#,
    r#" transform="matrix(1 2 2 4 0 0)""#,
    r#" transform="rotate(NaN)""#,
    r#" transform="skewX(90)""#,
    r#" transform="translate(1e38 1e38)""#,
    r#" stroke="black""#,
    r#" stroke-width="1e30""#,
    r#" stroke-width="1e-30""#,
    r#" stroke-width="0.3""#,
    r#" stroke-dasharray="0.001""#,
    r#" stroke-dasharray="0.5 1e30""#,
    r#" stroke-dasharray="1 2" stroke-dashoffset="-1e30""#,
    r#" stroke-linejoin="miter-clip""#,
    r#" stroke-linejoin="arcs""#,
    r#" stroke-linejoin="round""#,
    r#" stroke-miterlimit="1e30""#,
    r#" stroke-linecap="square""#,
    r#" stroke-linecap="round""#,
    r#" fill-rule="evenodd""#,
    r#" fill="none""#,
    r#" fill="url(#g)""#,
    r#" fill="url(#pt)""#,
    r#" opacity="0""#,
    r#" fill-opacity="0""#,
    r#" visibility="hidden""#,
    r#" display="none""#,
    r#" clip-path="url(#c)""#,
    r#" clip-path="url(#missing)""#,
    r#" clip-rule="evenodd""#,
    r#" mask="url(#m)""#,
    r#" filter="url(#f)""#,
    r#" marker-start="url(#mk)" marker-mid="url(#mk)""#,
    r#" font-size="1e30""#,
    r#" font-size="0""#,
    r#" font-family="NoSuchFont, monospace""#,
    r#" x="1e309""#,
    r#" r="-0""#,
    r#" rx="1e309""#,
    r#" viewBox="0 0 0 0""#,
    r#" viewBox="0 0 1e-30 1e-30""#,
    r#" viewBox="NaN 0 10 10""#,
    r#" viewBox="-1e38 -1e38 1e38 1e38""#,
    r#" preserveAspectRatio="xMaxYMax slice""#,
    r#" preserveAspectRatio="none""#,
    r#" width="1e9mm""#,
    r#" width="1e-9mm""#,
    r#" height="0""#,
    r#" style="stroke:red;stroke-width:3;fill:none""#,
    r#" id="c""#,
    r#" id="p""#,
    r##" href="#c""##,
    r#" xml:space="preserve""#,
    r#" d="M0 0 A1e30 1e-30 0 1 1 5 5 z""#,
    r#" d="M0 0 L 5 5 M""#,
    r#" points="0,0 1e309,5 -0,NaN""#,
    r#" textLength="1e30""#,
    r#" letter-spacing="-1e30""#,
    r#" writing-mode="tb""#,
];

/// Elements, inserted just after the end of a tag.
const ELEMENTS: &[&str] = &[
    r#"<rect width="1e309" height="-0"/>"#,
    r#"<rect width="5" height="5" rx="-1" ry="1e30"/>"#,
    r#"<circle r="NaN"/>"#,
    r#"<circle cx="5" cy="5" r="1e-30" stroke="black" stroke-width="2" stroke-linecap="round"/>"#,
    r#"<path d="M0 0 L1e309 0 Z"/>"#,
    r#"<path d="M0 0 A 1e30 1e-30 0 1 1 5 5 Z" stroke="black"/>"#,
    r#"<path d="M 5 5 c 0 0 0 0 0 0 z" stroke="black" stroke-width="3" stroke-linecap="round"/>"#,
    r#"<path d="M 5 5 L 5 5 L 5 5" stroke="black" stroke-width="3" stroke-linecap="square"/>"#,
    r#"<path d="M0 0 L10 0 L0 0.0000001 Z" stroke="black" stroke-linejoin="miter" stroke-miterlimit="1e30"/>"#,
    r#"<path d="M0,0 10,10 0,10 10,0 Z M2,2 8,2 8,8 2,8 Z" fill-rule="evenodd"/>"#,
    r#"<ellipse rx="1e-30" ry="1e30"/>"#,
    r#"<polygon points="0,0 10,10 0,10 10,0"/>"#,
    r#"<polygon points="0,0 0,0 0,0"/>"#,
    r#"<polyline points="0,0 1e38,1e38" stroke="black"/>"#,
    r#"<line x2="10" stroke="black" stroke-dasharray="0.01"/>"#,
    r#"<text font-size="5">Ω🎖ä&#x5d0;&#x627;</text>"#,
    r#"<text x="1 2 3 1e30" y="5" rotate="45 NaN">MEDAL</text>"#,
    r##"<text x="1" y="5"><textPath href="#p">MEDAL</textPath></text>"##,
    r#"<text><tspan baseline-shift="1e30">x</tspan></text>"#,
    r##"<use href="#c"/>"##,
    r##"<use href="#p" x="1e30"/>"##,
    r#"<clipPath id="c"><text font-size="4">C</text></clipPath>"#,
    r#"<clipPath id="c" clip-path="url(#c)"><rect width="4" height="4"/></clipPath>"#,
    r#"<clipPath id="c" clipPathUnits="objectBoundingBox" transform="scale(0)"><rect width="1" height="1"/></clipPath>"#,
    r#"<mask id="m"><rect width="3" height="3" fill="white"/></mask>"#,
    r#"<filter id="f"><feGaussianBlur stdDeviation="1e30"/></filter>"#,
    r#"<marker id="mk" markerWidth="1e30" orient="auto"><rect width="5" height="5"/></marker>"#,
    r#"<pattern id="pt" width="1e-30" height="1e-30"><rect width="1" height="1"/></pattern>"#,
    r##"<linearGradient id="g"><stop offset="NaN" stop-color="#f00"/></linearGradient>"##,
    r#"<image href="data:image/svg+xml;base64,PHN2Zy8+" width="5" height="5"/>"#,
    r#"<image href="data:image/png;base64,iVBORw0KGgo=" width="5" height="5"/>"#,
    r#"<svg x="1" viewBox="0 0 0 1"><rect width="5" height="5"/></svg>"#,
    r#"<svg width="1e30" height="1e30" viewBox="0 0 1 1"><rect width="1" height="1"/></svg>"#,
    r#"<switch><rect width="2" height="2" systemLanguage="xx"/><rect width="2" height="2"/></switch>"#,
    r#"<style>rect{stroke:black;stroke-width:1e30} *{fill-rule:evenodd}</style>"#,
    r#"<style>@import url(file:///etc/passwd);</style>"#,
    r#"<g transform="scale(1e-30)"><rect width="1e30" height="1e30"/></g>"#,
    r##"<a href="#x"><rect width="2" height="2"/></a>"##,
    "<![CDATA[<]]>",
    "<!-- -->",
    "<?pi x?>",
    "&amp;",
    "&#0;",
    "&#x1F396;",
    "&undefined;",
];

/// Anything, anywhere.
const RAW: &[&[u8]] = &[
    b"<",
    b">",
    b"\"",
    b"'",
    b"/>",
    b"</svg>",
    b"</g>",
    b"<g>",
    b"\0",
    "\u{FEFF}".as_bytes(),
    b"\xFF",
    b"\xC3",
    b"<!ENTITY x \"y\">",
    b"<!DOCTYPE svg>",
    b"]]>",
    b"-->",
    b" xmlns=\"http://www.w3.org/2000/svg\"",
    b" xmlns:xlink=\"\"",
];

#[derive(Debug, Clone)]
enum Mutation {
    /// XOR one byte.
    Flip(Index, u8),
    /// Cut the file at a point.
    Truncate(Index),
    /// Copy a range (start, length as a fraction of the rest, in 1/256) to a point.
    Duplicate(Index, u8, Index),
    /// Delete a range (start, length in bytes).
    Delete(Index, u16),
    /// Replace the number at or after a point.
    Number(Index, usize),
    /// Add an attribute to the start tag at or after a point.
    Attribute(Index, usize),
    /// Add an element after the tag at or after a point.
    Element(Index, usize),
    /// Insert raw bytes at a point.
    Raw(Index, usize),
    /// Wrap an element `depth` groups deep after the tag at or after a point.
    Nest(Index, u16, bool),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => (any::<Index>(), 1..=255u8).prop_map(|(i, x)| Mutation::Flip(i, x)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), any::<u8>(), any::<Index>()).prop_map(|(a, l, b)| Mutation::Duplicate(a, l, b)),
        1 => (any::<Index>(), 1..400u16).prop_map(|(i, l)| Mutation::Delete(i, l)),
        4 => (any::<Index>(), 0..NUMBERS.len()).prop_map(|(i, k)| Mutation::Number(i, k)),
        5 => (any::<Index>(), 0..ATTRIBUTES.len()).prop_map(|(i, k)| Mutation::Attribute(i, k)),
        4 => (any::<Index>(), 0..ELEMENTS.len()).prop_map(|(i, k)| Mutation::Element(i, k)),
        1 => (any::<Index>(), 0..RAW.len()).prop_map(|(i, k)| Mutation::Raw(i, k)),
        1 => (any::<Index>(), 1..300u16, any::<bool>()).prop_map(|(i, d, c)| Mutation::Nest(i, d, c)),
    ]
}

/// The start tag at or after `i`: the positions of its `<` and of its closing `>`.
fn start_tag(svg: &[u8], i: usize) -> Option<(usize, usize)> {
    let lt = i + svg[i..].windows(2).position(|w| w[0] == b'<' && w[1].is_ascii_alphabetic())?;
    let mut quote = None;
    for (k, &c) in svg.iter().enumerate().skip(lt + 1) {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None if c == b'>' => return Some((lt, k)),
            None => {}
        }
    }
    None
}

/// A position between elements at or after `i`: just after the next start tag (so never
/// inside the XML declaration, a comment or after the root).
fn between_elements(svg: &[u8], i: usize) -> Option<usize> {
    let (_, gt) = start_tag(svg, i)?;
    Some(gt + 1)
}

fn apply(svg: &mut Vec<u8>, m: &Mutation) {
    if svg.is_empty() {
        return;
    }
    let at = |i: &Index, len: usize| i.index(len + 1).min(len);
    match m {
        Mutation::Flip(i, x) => {
            let i = i.index(svg.len());
            svg[i] ^= x;
        }
        Mutation::Truncate(i) => svg.truncate(i.index(svg.len())),
        Mutation::Duplicate(from, len, to) => {
            let from = from.index(svg.len());
            let len = ((svg.len() - from) * usize::from(*len)).div_ceil(256);
            let copy = svg[from..from + len].to_vec();
            let to = at(to, svg.len());
            svg.splice(to..to, copy);
        }
        Mutation::Delete(i, len) => {
            let i = i.index(svg.len());
            svg.drain(i..(i + usize::from(*len)).min(svg.len()));
        }
        Mutation::Number(i, k) => {
            let start = i.index(svg.len());
            let Some(p) = svg[start..].iter().position(u8::is_ascii_digit) else { return };
            let is_num = |c: &u8| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+');
            let mut a = start + p;
            while a > 0 && is_num(&svg[a - 1]) {
                a -= 1;
            }
            let b = a + svg[a..].iter().position(|c| !is_num(c)).unwrap_or(svg.len() - a);
            svg.splice(a..b, NUMBERS[*k].bytes());
        }
        Mutation::Attribute(i, k) => {
            let Some((lt, gt)) = start_tag(svg, i.index(svg.len())) else { return };
            let attribute = ATTRIBUTES[*k];
            // An attribute the tag already has would only be a duplicate-attribute error.
            let name = &attribute[..attribute.find('=').unwrap_or(attribute.len())];
            if svg[lt..gt].windows(name.len()).any(|w| w == name.as_bytes()) {
                return;
            }
            let pos = if svg[gt - 1] == b'/' { gt - 1 } else { gt };
            svg.splice(pos..pos, attribute.bytes());
        }
        Mutation::Element(i, k) => {
            let Some(pos) = between_elements(svg, i.index(svg.len())) else { return };
            svg.splice(pos..pos, ELEMENTS[*k].bytes());
        }
        Mutation::Raw(i, k) => {
            let pos = at(i, svg.len());
            svg.splice(pos..pos, RAW[*k].iter().copied());
        }
        Mutation::Nest(i, depth, clipped) => {
            let Some(pos) = between_elements(svg, i.index(svg.len())) else { return };
            let open = if *clipped { r#"<g clip-path="url(#c)" stroke="black">"# } else { "<g>" };
            let mut nest = open.repeat(usize::from(*depth));
            nest.push_str(r#"<rect id="c" width="3" height="3"/>"#);
            nest.push_str(&"</g>".repeat(usize::from(*depth)));
            svg.splice(pos..pos, nest.into_bytes());
        }
    }
}

/// The seed files: the samples, the edge-case fixtures and `tests/fuzz/seeds/`.
fn seeds() -> &'static [(String, Vec<u8>)] {
    static SEEDS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut seeds = Vec::new();
        for dir in ["samples", "tests/fixtures/art", "tests/fixtures/edge", "tests/fuzz/seeds", "tests/fuzz/crashes"] {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
                .expect("seed directory")
                .map(|e| e.expect("entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "svg"))
                .collect();
            paths.sort();
            for path in paths {
                let name = format!("{dir}/{}", path.file_name().expect("name").to_string_lossy());
                seeds.push((name, std::fs::read(&path).expect("seed readable")));
            }
        }
        assert!(seeds.len() > 20, "seeds found: {}", seeds.len());
        seeds
    })
}

fn tmp(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// Runs the whole pipeline: `Ok` with the outcome (`"ok"` or the error's kind), `Err` with
/// the panic message if it panicked.
fn engrave_no_panic(svg: &[u8], diameter_mm: Option<f64>) -> Result<String, String> {
    let job = job("linuxcnc", diameter_mm);
    catch_unwind(AssertUnwindSafe(|| match medalcam::engrave(svg, "fuzz.svg", &job, &medalcam::Progress::hidden()) {
        Ok(_) => "ok".to_string(),
        Err(e) => format!("{e:?}").split(['(', ' ', '{']).next().unwrap_or_default().to_string(),
    }))
    .map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_string()))
            .unwrap_or_else(|| "a panic without a message".into())
    })
}

fn huge_path_data(doc: &usvg::roxmltree::Document) -> bool {
    doc.descendants().filter_map(|n| n.attribute("d")).any(|d| path_numbers(d).any(|v| v.is_nan() || v.abs() > 1e9))
}

/// The numbers of SVG path data, read as svgtypes reads them (`5.5.3e40` is 5.5 and 3e39).
fn path_numbers(d: &str) -> impl Iterator<Item = f64> + '_ {
    let b = d.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        let digit = |k: usize| b.get(k).is_some_and(u8::is_ascii_digit);
        while i < b.len() {
            let start = i;
            let sign = matches!(b[i], b'-' | b'+');
            let at = i + usize::from(sign);
            if !(digit(at) || (b.get(at) == Some(&b'.') && digit(at + 1))) {
                i += 1;
                continue;
            }
            i = at;
            while digit(i) {
                i += 1;
            }
            if b.get(i) == Some(&b'.') {
                i += 1;
                while digit(i) {
                    i += 1;
                }
            }
            if matches!(b.get(i), Some(b'e' | b'E')) {
                let e = i + 1 + usize::from(matches!(b.get(i + 1), Some(b'-' | b'+')));
                if digit(e) {
                    i = e;
                    while digit(i) {
                        i += 1;
                    }
                }
            }
            return d[start..i].parse().ok();
        }
        None
    })
}

/// Starts a thread that ends the process when one case runs longer than
/// `MEDALCAM_FUZZ_CASE_SECS` (default 300: the 40 mm medal seed at its own size takes tens of seconds on a loaded machine): a hang cannot fail a test any other way. Returns
/// the start time of the running case (`None` between runs), for the test to update.
fn watchdog() -> &'static Mutex<Option<Instant>> {
    static CASE_STARTED: OnceLock<Mutex<Option<Instant>>> = OnceLock::new();
    let mut first = false;
    let case_started = CASE_STARTED.get_or_init(|| {
        first = true;
        Mutex::new(None)
    });
    if first {
        let limit = std::env::var("MEDALCAM_FUZZ_CASE_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_secs(1));
            let running = case_started.lock().ok().and_then(|c| c.map(|c| c.elapsed())).unwrap_or_default();
            if running > Duration::from_secs(limit) {
                let _ = std::fs::copy(tmp("fuzz-current.svg"), tmp("fuzz-hang.svg"));
                eprintln!("fuzz: a case ran over {limit} s; its input is in {}", tmp("fuzz-hang.svg").display());
                std::process::exit(3);
            }
        });
    }
    case_started
}

/// Whether the run is past `MEDALCAM_FUZZ_SECS` seconds from `started` (never without it):
/// the cases left then return at once, so a long run can be given a duration.
fn out_of_time(started: Instant) -> bool {
    static LIMIT: OnceLock<Option<u64>> = OnceLock::new();
    LIMIT
        .get_or_init(|| std::env::var("MEDALCAM_FUZZ_SECS").ok().and_then(|v| v.parse().ok()))
        .is_some_and(|secs| started.elapsed() > Duration::from_secs(secs))
}

/// The proptest configuration of the fuzz test `name`: `MEDALCAM_FUZZ_CASES` cases (default
/// [`DEFAULT_CASES`]) from [`run_seed`], which it returns too.
fn run_config(name: &'static str) -> (Config, u64) {
    let cases = std::env::var("MEDALCAM_FUZZ_CASES").ok().map_or(DEFAULT_CASES, |v| v.parse().expect("a number"));
    let seed = run_seed();
    let config = Config {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        test_name: Some(name),
        ..Config::default()
    };
    (config, seed)
}

/// The seed of this run: `MEDALCAM_FUZZ_SEED`, else fixed for the default run, else random.
fn run_seed() -> u64 {
    if let Some(seed) = std::env::var("MEDALCAM_FUZZ_SEED").ok().and_then(|s| s.parse().ok()) {
        return seed;
    }
    if std::env::var_os("MEDALCAM_FUZZ_CASES").is_none() {
        return DEFAULT_SEED;
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
}

#[test]
fn mutated_seeds_never_panic() {
    let (config, seed) = run_config(concat!(module_path!(), "::mutated_seeds_never_panic"));
    let slowest: Mutex<(Duration, Vec<u8>)> = Mutex::new((Duration::ZERO, Vec::new()));
    let outcomes: Mutex<std::collections::BTreeMap<String, usize>> = Mutex::default();
    let started = Instant::now();
    let case_started = watchdog();
    let strategy = (0..seeds().len(), prop::collection::vec(mutation(), 1..4), 2.0..20.0f64, any::<bool>());
    let run = Mutex::new(0usize);
    let result = TestRunner::new(config).run(&strategy, |(seed, mutations, diameter, own_size)| {
        if out_of_time(started) {
            // No case runs: the watchdog must not see the last one as running on.
            if let Ok(mut c) = case_started.lock() {
                *c = None;
            }
            return Ok(());
        }
        *run.lock().expect("not poisoned") += 1;
        let mut svg = seeds()[seed].1.clone();
        for m in &mutations {
            apply(&mut svg, m);
        }
        std::fs::write(tmp("fuzz-current.svg"), &svg).expect("write the current case");
        if let Ok(mut c) = case_started.lock() {
            *c = Some(Instant::now());
        }
        // The SVG's own size half of the time (a mutated size can be metres: a scaled size
        // keeps the toolpath work bounded), else a diameter of 2 to 20 mm.
        let own_size = own_size
            && medalcam::artwork::import(&svg, &Default::default())
                .is_ok_and(|a| a.size_mm[0].max(a.size_mm[1]) <= 40.0);
        let t = Instant::now();
        let outcome = engrave_no_panic(&svg, if own_size { None } else { Some(diameter) });
        let elapsed = t.elapsed();
        if let Ok(mut s) = slowest.lock() {
            if elapsed > s.0 {
                *s = (elapsed, svg.clone());
            }
        }
        if let (Ok(outcome), Ok(mut o)) = (&outcome, outcomes.lock()) {
            *o.entry(outcome.clone()).or_default() += 1;
        }
        if let Err(message) = outcome {
            std::fs::write(tmp("fuzz-panic.svg"), &svg).expect("write the panicking case");
            return Err(TestCaseError::fail(format!("{}: panicked: {message}", seeds()[seed].0)));
        }
        Ok(())
    });
    if let Ok(mut c) = case_started.lock() {
        *c = None;
    }
    let (time, svg) = slowest.into_inner().expect("not poisoned");
    std::fs::write(tmp("fuzz-slowest.svg"), &svg).expect("write the slowest case");
    eprintln!(
        "fuzz: seed {seed}, {} cases in {:.1} s ({:?}); slowest {:.2} s, in {}",
        run.into_inner().unwrap_or_default(),
        started.elapsed().as_secs_f64(),
        outcomes.into_inner().unwrap_or_default(),
        time.as_secs_f64(),
        tmp("fuzz-slowest.svg").display()
    );
    if let Err(e) = result {
        panic!("{e}; the shrunk input is in {}", tmp("fuzz-panic.svg").display());
    }
}

/// Engraves `path` with the CLI in a child process, with 4 GiB of address space and 60 s, so
/// that an abort or a runaway allocation fails this test instead of the test binary or the
/// machine. `Err` names how it ended if that was not exit code 0 or 2.
fn engrave_in_child(path: &Path, diameter: Option<&str>) -> Result<(), String> {
    let out = tmp(&format!("crash-{}.nc", std::process::id()));
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", r#"ulimit -v 4194304 && exec "$@""#, "sh", env!("CARGO_BIN_EXE_medalcam"), "engrave"])
        .arg(path)
        .args(["--machine", "linuxcnc", "-q", "-o"])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    if let Some(d) = diameter {
        cmd.args(["--diameter", d]);
    }
    let mut child = cmd.spawn().expect("sh runs");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("still running after 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = std::fs::remove_file(&out);
    if matches!(status.code(), Some(0 | 2)) {
        return Ok(());
    }
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
    }
    let first = stderr.lines().find(|l| l.contains("panicked") || l.contains("failed")).unwrap_or_default();
    Err(format!("{status}: {first}"))
}

fn check_crashes(dir: &str, at_least: usize) {
    let dir = root().join(dir);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.map(|e| e.expect("entry").path()).filter(|p| p.extension().is_some_and(|e| e == "svg")).collect())
        .unwrap_or_default();
    paths.sort();
    assert!(paths.len() >= at_least, "the crash files are in {}", dir.display());
    let mut failures = Vec::new();
    for path in paths {
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        for diameter in [None, Some("10")] {
            if let Err(how) = engrave_in_child(&path, diameter) {
                failures.push(format!("{name} (--diameter {diameter:?}): {how}"));
            }
        }
    }
    assert!(failures.is_empty(), "crashes:\n{}", failures.join("\n"));
}

/// Every input that once crashed the pipeline (`tests/fuzz/crashes/*.svg`): each now ends in a
/// program or a clear error, in a child process, so an abort or a stack overflow would show.
#[test]
fn crashes_do_not_panic() {
    check_crashes("tests/fuzz/crashes", 10);
}

#[test]
fn path_numbers_read_like_svgtypes() {
    let numbers: Vec<f64> = path_numbers("M10-20A5.5.3-4 010-.1 1e+40 2E-3 -.5e2 e5 .").collect();
    assert_eq!(numbers, [10.0, -20.0, 5.5, 0.3, -4.0, 10.0, -0.1, 1e40, 2e-3, -50.0, 5.0]);
    let doc = |s: &'static str| usvg::roxmltree::Document::parse(s).expect("XML");
    assert!(huge_path_data(&doc(r#"<svg><path d="M0 0 L5.5.3e+40 0"/></svg>"#)));
    assert!(!huge_path_data(&doc(r#"<svg><path d="M0 0 L5 1e9" transform="scale(1e30)"/></svg>"#)));
}

#[test]
fn mutations_apply_to_any_length() {
    let mut runner = TestRunner::deterministic();
    for _ in 0..2000 {
        let ms = prop::collection::vec(mutation(), 1..8).new_tree(&mut runner).expect("tree").current();
        for len in [0usize, 1, 2, 7, 300] {
            let mut svg = vec![b'>'; len];
            for m in &ms {
                apply(&mut svg, m);
            }
        }
    }
}

/// Values that break naive TOML readers and unchecked settings.
const TOML_VALUES: &[&str] = &[
    "nan",
    "inf",
    "-inf",
    "-0.0",
    "0",
    "-1",
    "1e309",
    "1e-309",
    "4000000000",
    "18446744073709551616",
    "\"\"",
    "\"M30\"",
    "[]",
    "{}",
    "true",
    "0.0001",
    "99999999",
    "\"a\\nM30\"",
    "\"%\"",
];

/// Lines a mutation may add to a profile or a job.
const TOML_LINES: &[&str] = &[
    "program-start = [\"M30\"]",
    "program-start = [\"G0 X0\\nM30\"]",
    "decimals = 40",
    "clearance-z-mm = 0.0001",
    "arc-tolerance-mm = 5",
    "program-number-digits = 4000000000",
    "max-tool-number = 0",
    "[[tool]]\nnumber = 0\nkind = \"flat\"\ndiameter-mm = 0.5",
    "[[tool]]\nnumber = 3\nkind = \"vee\"\ndiameter-mm = 1e300\nangle-deg = 0",
    "[[layer]]\nid = \"\"\ndepth-mm = 0.2",
    "feed-mm-min = 0.01",
    "tolerance-mm = 1e-12",
    "unknown-key = 1",
    "[table]\nx = 1",
];

/// Mutates TOML text: a byte flipped, a cut, a range deleted, a value replaced, a line added.
fn mutate_toml(text: &str, picks: &[(u8, Index, usize)]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for &(kind, at, k) in picks {
        let i = at.index(bytes.len() + 1);
        match kind % 5 {
            0 if i < bytes.len() => bytes[i] ^= 1 << (k % 8),
            1 => bytes.truncate(i.max(bytes.len() / 2)),
            2 => drop(bytes.drain(i..(i + k % 40).min(bytes.len()))),
            3 => {
                // The value after the next `=` on this line.
                if let Some(eq) = bytes[i.min(bytes.len())..].iter().position(|&c| c == b'=').map(|e| e + i) {
                    let end = bytes[eq..].iter().position(|&c| c == b'\n').map_or(bytes.len(), |e| e + eq);
                    bytes.splice(eq + 1..end, format!(" {}", TOML_VALUES[k % TOML_VALUES.len()]).into_bytes());
                }
            }
            _ => {
                let line = format!("\n{}\n", TOML_LINES[k % TOML_LINES.len()]);
                let at = bytes[..i.min(bytes.len())].iter().rposition(|&c| c == b'\n').map_or(0, |n| n + 1);
                bytes.splice(at..at, line.into_bytes());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Mutated machine profiles (each built-in) and jobs (each sample job) are read, resolved and,
/// when both are taken, engrave a small square: every step ends in `Ok` or `Err`, never a
/// panic, and a program that is written passed the guard. `MEDALCAM_FUZZ_CASES` and
/// `MEDALCAM_FUZZ_SEED` as for the SVG fuzzer.
#[test]
fn mutated_profiles_and_jobs_never_panic() {
    let (config, seed) = run_config(concat!(module_path!(), "::mutated_profiles_and_jobs_never_panic"));
    let jobs: Vec<String> = ["challenge-coin", "race-medal", "rim-legend"]
        .iter()
        .map(|name| std::fs::read_to_string(root().join(format!("samples/{name}.toml"))).expect("sample job"))
        .chain([String::new()])
        .collect();
    let square = br##"<svg xmlns="http://www.w3.org/2000/svg" width="6mm" height="6mm" viewBox="0 0 6 6">
        <rect x="1" y="1" width="4" height="4"/><circle cx="3" cy="3" r="1" fill="#888"/></svg>"##;
    let picks = prop::collection::vec((any::<u8>(), any::<Index>(), any::<usize>()), 0..4);
    let strategy = (0..medalcam::machine::BUILT_IN.len(), picks.clone(), 0..jobs.len(), picks);
    let started = Instant::now();
    let taken = Mutex::new(0usize);
    let run = Mutex::new(0usize);
    let result = TestRunner::new(config).run(&strategy, |(m, machine_picks, j, job_picks)| {
        if out_of_time(started) {
            return Ok(());
        }
        *run.lock().expect("not poisoned") += 1;
        let (name, text) = medalcam::machine::BUILT_IN[m];
        let profile = mutate_toml(text, &machine_picks);
        let job_text = mutate_toml(&jobs[j], &job_picks);
        let run = catch_unwind(AssertUnwindSafe(|| {
            let machine = medalcam::machine::Machine::from_toml(name, &profile).ok()?;
            let file = medalcam::job::JobFile::from_toml(&job_text).ok()?;
            let overrides = medalcam::job::Overrides { diameter_mm: Some(6.0), ..Default::default() };
            let job = medalcam::job::Job::resolve(&file, &overrides, machine).ok()?;
            Some(medalcam::engrave(square, "square.svg", &job, &medalcam::Progress::hidden()).is_ok())
        }));
        match run {
            Ok(Some(_)) => *taken.lock().expect("not poisoned") += 1,
            Ok(None) => {}
            Err(_) => {
                return Err(TestCaseError::fail(format!("panicked on\n--- profile\n{profile}\n--- job\n{job_text}")));
            }
        }
        Ok(())
    });
    eprintln!(
        "fuzz (profiles and jobs): seed {seed}, {} cases in {:.1} s, {} taken to the end",
        run.into_inner().unwrap_or_default(),
        started.elapsed().as_secs_f64(),
        taken.into_inner().unwrap_or_default()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}
