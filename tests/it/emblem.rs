//! Generated artwork shared by the tests and the benches (which include this file by path).

/// Issue 16's emblem of many shades: 999 circles over a grey field, 0.4 to 3 mm in radius
/// on a 100 mm viewBox, a hundred near-identical greys in turn, placed by a fixed
/// pseudo-random sequence. At 40 mm the default luminance depths make 14 levels of
/// overlapping pieces, and the program on `haas` has about 1.28 million lines.
pub fn emblem_shades() -> String {
    use std::fmt::Write as _;
    let mut svg = String::from(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><rect width="100" height="100" fill="#e8e8e8"/>"##,
    );
    // A linear congruential sequence (Knuth's MMIX constants): the same emblem on every run.
    let mut state: u64 = 7;
    let mut next = |lo: f64, hi: f64| {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        lo + (hi - lo) * ((state >> 11) as f64 / (1u64 << 53) as f64)
    };
    for i in 0..999 {
        let (x, y, r) = (next(3.0, 97.0), next(3.0, 97.0), next(0.4, 3.0));
        let g = 40 + i % 100;
        write!(svg, r#"<circle cx="{x:.3}" cy="{y:.3}" r="{r:.3}" fill="rgb({g},{g},{})"/>"#, g + 10).expect("string");
    }
    svg.push_str("</svg>");
    svg
}
