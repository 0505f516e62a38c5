//! The relief against an independent rendering: for multi-colour artwork and a job that maps
//! each colour to a depth, the depth map matches resvg's picture of the SVG mapped through the
//! same table on at least 99% of the area away from edges, and the regions' areas add up to
//! the painted area within 0.01%.

use medalcam::artwork::{import, ImportOptions};
use medalcam::geom;
use medalcam::relief::{build, DefaultDepth, ReliefOptions, Rule, Selector};
use medalcam::simulation::Heightmap;

use crate::util::sample_path;

/// A job for a sample: each listed colour to a depth, everything else by luminance.
fn options(colors: &[(&str, f64)]) -> ReliefOptions {
    let rules = colors
        .iter()
        .map(|&(c, d)| Rule { selector: Selector::Fill(c.to_string()), depth_mm: d, strategy: Default::default() })
        .collect();
    ReliefOptions { rules, default_depth: DefaultDepth::Luminance, max_depth_mm: 0.6, ..Default::default() }
}

const CASES: &[(&str, &[(&str, f64)])] = &[
    ("noto_u1f396", &[("#176bc6", 0.3), ("#db0d2a", 0.3), ("#fbc21f", 0.4), ("#fdefaa", 0.2), ("#f6922c", 0.35)]),
    ("noto_u1fa99", &[("#fff176", 0.0), ("#f2bc1a", 0.4), ("#bc6f00", 0.6), ("#d38200", 0.6)]),
];

/// The depth a pixel colour maps to under the same table.
fn depth_of(options: &ReliefOptions, rgb: [u8; 3]) -> f64 {
    let hex = format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
    match options.rules.iter().find(|r| r.selector == Selector::Fill(hex.clone())) {
        Some(rule) => rule.depth_mm,
        None => options.max_depth_mm * (1.0 - medalcam::relief::lightness(&hex) / 100.0),
    }
}

#[test]
fn depth_map_matches_an_independent_rendering() {
    const PX: u32 = 512;
    for &(sample, colors) in CASES {
        let svg = std::fs::read(sample_path(sample)).unwrap();
        let options = options(colors);
        let art = import(&svg, &ImportOptions::default()).unwrap();
        let relief = build(&art, &options).unwrap();

        // resvg's picture: the noto files' viewBox is their whole size (128 x 128 units).
        let tree = usvg::Tree::from_data(&svg, &medalcam::fonts::parse_options()).unwrap();
        let scale = PX as f32 / tree.size().width();
        let mut pixmap = resvg::tiny_skia::Pixmap::new(PX, PX).unwrap();
        resvg::render(&tree, resvg::tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
        let pixel = |i: u32, j: u32| {
            let p = pixmap.pixel(i, j).unwrap().demultiply();
            (p.alpha() >= 128).then_some([p.red(), p.green(), p.blue()])
        };

        // The relief on a grid whose cells sit on the pixel centres, in machine mm: the die is
        // mirrored, so pixel column i is grid column PX - 1 - i.
        let [a, _, _, d, e, f] = relief.placement.as_coeffs();
        let unit = f64::from(tree.size().width()) / f64::from(PX);
        let x_of = |i: u32| a * (f64::from(i) + 0.5) * unit + e;
        let y_of = |j: u32| d * (f64::from(j) + 0.5) * unit + f;
        let grid = Heightmap {
            origin: [x_of(PX - 1), y_of(PX - 1)],
            cell_mm: a.abs() * unit,
            nx: PX as usize,
            ny: PX as usize,
            z: Vec::new(),
        };
        let coverage: Vec<(f64, Vec<bool>)> =
            relief.regions.iter().map(|r| (r.depth_mm, grid.coverage(&r.area))).collect();
        let ours = |i: u32, j: u32| {
            let k = (PX - 1 - j) as usize * PX as usize + (PX - 1 - i) as usize;
            coverage.iter().find(|(_, c)| c[k]).map_or(0.0, |(depth, _)| *depth)
        };

        let (mut compared, mut agree) = (0u32, 0u32);
        for j in 2..PX - 2 {
            for i in 2..PX - 2 {
                let here = pixel(i, j);
                // Away from edges: the 5 x 5 neighbourhood renders one colour (no antialiasing).
                let interior = (-2i32..=2)
                    .all(|dj| (-2i32..=2).all(|di| pixel((i as i32 + di) as u32, (j as i32 + dj) as u32) == here));
                if !interior {
                    continue;
                }
                let theirs = here.map_or(0.0, |rgb| depth_of(&options, rgb));
                compared += 1;
                agree += u32::from((theirs - ours(i, j)).abs() < 0.0015);
            }
        }
        let ratio = f64::from(agree) / f64::from(compared);
        assert!(compared > PX * PX / 2, "{sample}: only {compared} interior pixels");
        assert!(ratio >= 0.99, "{sample}: depth map agrees on {:.4} of {compared} pixels", ratio);
    }
}

#[test]
fn regions_add_up_to_the_painted_area() {
    for &(sample, colors) in CASES {
        let svg = std::fs::read(sample_path(sample)).unwrap();
        // Every colour gets a depth (none uncut), so every visible part is in some region.
        let mut options = options(colors);
        options.default_depth = DefaultDepth::Depth(0.1);
        for rule in &mut options.rules {
            rule.depth_mm = rule.depth_mm.max(0.05);
        }
        let art = import(&svg, &ImportOptions { diameter_mm: Some(38.0), ..Default::default() }).unwrap();
        let relief = build(&art, &options).unwrap();
        let painted: geom::Shapes = art.shapes.iter().flat_map(|s| s.polygons.iter().cloned()).collect();
        let union = geom::shapes_area(&geom::union(&painted).unwrap());
        let sum: f64 = relief.regions.iter().map(|r| geom::shapes_area(&r.area)).sum();
        let error = (sum - union).abs() / union;
        assert!(error < 1e-4, "{sample}: regions {sum} vs union {union}: {error:.2e}");
    }
}
