//! The import against an independent rendering: every sample and edge-case fixture is
//! imported, the union of its shapes is rasterised, the same file is rendered with resvg, and
//! the two masks must agree (intersection over union >= 0.99) away from their edges.
//!
//! The importer engraves fills and strokes whatever their colour or (non-zero) opacity and
//! clips to clip paths and to the viewport. A mask only clips to the area it paints (its grey
//! levels and opacity are not applied) and filters are ignored, so a file with a `<mask>` or a
//! filter is not comparable to a render and must not be listed here.

use kurbo::{Affine, Point};
use medalcam::artwork::{import, ImportOptions};
use medalcam::simulation::Heightmap;
use resvg::tiny_skia;

use crate::util::root;

/// Pixels across the larger side of the render.
const RENDER_PX: f64 = 600.0;
/// Pixels whose centre lies within this many pixels of an edge of either mask are not
/// compared: antialiasing and flattening decide them.
const EDGE_PX: f64 = 1.5;
/// The least intersection over union that passes.
const MIN_IOU: f64 = 0.99;

/// The mapping of the root `viewBox` to the viewport (SVG user units to px), per the SVG
/// spec's `preserveAspectRatio`, written here independently of the importer.
fn view_box_to_px(svg: &str, size_px: [f64; 2]) -> Affine {
    let doc = usvg::roxmltree::Document::parse(svg).expect("XML parses");
    let root = doc.root_element();
    let Some(vb) = root.attribute("viewBox").map(|v| {
        v.split(|c: char| c.is_whitespace() || c == ',')
            .filter(|t| !t.is_empty())
            .map(|t| t.parse::<f64>().expect("a viewBox number"))
            .collect::<Vec<f64>>()
    }) else {
        return Affine::IDENTITY;
    };
    let [x, y, w, h] = vb[..] else { panic!("viewBox is not four numbers") };
    let aspect = root.attribute("preserveAspectRatio").unwrap_or("xMidYMid meet");
    let mut words = aspect.split_whitespace();
    let align = words.next().unwrap_or("xMidYMid");
    let slice = words.next() == Some("slice");
    let (mut sx, mut sy) = (size_px[0] / w, size_px[1] / h);
    if align == "none" {
        return Affine::new([sx, 0.0, 0.0, sy, -x * sx, -y * sy]);
    }
    let s = if slice { sx.max(sy) } else { sx.min(sy) };
    (sx, sy) = (s, s);
    let (ax, ay) = align.split_at(4);
    let fraction = |a: &str| match &a[1..] {
        "Min" => 0.0,
        "Mid" => 0.5,
        "Max" => 1.0,
        other => panic!("unknown alignment {other}"),
    };
    let tx = -x * sx + (size_px[0] - w * sx) * fraction(ax);
    let ty = -y * sy + (size_px[1] - h * sy) * fraction(ay);
    Affine::new([sx, 0.0, 0.0, sy, tx, ty])
}

/// Marks every pixel within [`EDGE_PX`] of a pixel whose 8-neighbourhood is not uniform.
fn mark_edges(mask: &[bool], nx: usize, ny: usize, excluded: &mut [bool]) {
    let r = EDGE_PX.floor() as isize;
    for j in 0..ny {
        for i in 0..nx {
            let v = mask[j * nx + i];
            let boundary = (-1..=1isize).any(|dj| {
                (-1..=1isize).any(|di| {
                    let (ii, jj) = (i as isize + di, j as isize + dj);
                    ii >= 0
                        && jj >= 0
                        && (ii as usize) < nx
                        && (jj as usize) < ny
                        && mask[jj as usize * nx + ii as usize] != v
                })
            });
            if !boundary {
                continue;
            }
            for dj in -r..=r {
                for di in -r..=r {
                    let (ii, jj) = (i as isize + di, j as isize + dj);
                    if ((di * di + dj * dj) as f64) <= EDGE_PX * EDGE_PX
                        && ii >= 0
                        && jj >= 0
                        && (ii as usize) < nx
                        && (jj as usize) < ny
                    {
                        excluded[jj as usize * nx + ii as usize] = true;
                    }
                }
            }
        }
    }
}

/// Intersection over union, away from the edges, of the shapes imported from `import_svg`
/// and the resvg render of `render_svg` (the same file, except in the self-tests), with the
/// pixel counts `(intersection, union)`.
fn compare(import_svg: &[u8], render_svg: &[u8]) -> (f64, usize, usize) {
    let artwork = import(import_svg, &ImportOptions::default()).expect("imports");

    let tree = usvg::Tree::from_data(render_svg, &medalcam::fonts::parse_options()).expect("usvg parses");
    let size = [f64::from(tree.size().width()), f64::from(tree.size().height())];
    let scale = RENDER_PX / size[0].max(size[1]);
    let (nx, ny) = ((size[0] * scale).round() as usize, (size[1] * scale).round() as usize);
    let mut pixmap = tiny_skia::Pixmap::new(nx as u32, ny as u32).expect("pixmap");
    resvg::render(&tree, tiny_skia::Transform::from_scale(scale as f32, scale as f32), &mut pixmap.as_mut());
    let rendered: Vec<bool> = pixmap.pixels().iter().map(|p| p.alpha() >= 128).collect();

    // Pixel (i, j) has its centre at px ((i + 0.5) / scale, (j + 0.5) / scale); the artwork's
    // placement maps viewBox units to mm, so px to mm is placement after px to viewBox.
    let text = std::str::from_utf8(render_svg).expect("UTF-8");
    let px_to_mm = artwork.placement * view_box_to_px(text, size).inverse();
    let centre = |i: usize, j: usize| px_to_mm * Point::new((i as f64 + 0.5) / scale, (j as f64 + 0.5) / scale);
    // Heightmap rows go up in Y, render rows go down: cell (ix, iy) is pixel (ix, ny - 1 - iy).
    let origin = centre(0, ny - 1);
    let cell_mm = centre(1, ny - 1).x - origin.x;
    let up = centre(0, ny - 2) - origin;
    assert!(
        cell_mm > 0.0 && (up.x.abs() < 1e-9 * cell_mm) && ((up.y - cell_mm).abs() < 1e-9 * cell_mm),
        "placement is not a uniform, unmirrored, Y-up scale: {:?}",
        artwork.placement
    );
    let grid = Heightmap { origin: [origin.x, origin.y], cell_mm, nx, ny, z: vec![0.0; nx * ny] };
    let mut imported = vec![false; nx * ny];
    for shape in &artwork.shapes {
        // Each shape's polygons are valid; shapes may overlap each other: union by OR.
        for (k, inside) in grid.coverage(&shape.polygons).into_iter().enumerate() {
            if inside {
                let (ix, iy) = (k % nx, k / nx);
                imported[(ny - 1 - iy) * nx + ix] = true;
            }
        }
    }

    let mut excluded = vec![false; nx * ny];
    mark_edges(&rendered, nx, ny, &mut excluded);
    mark_edges(&imported, nx, ny, &mut excluded);
    let (mut both, mut either) = (0usize, 0usize);
    for k in (0..nx * ny).filter(|&k| !excluded[k]) {
        both += usize::from(rendered[k] && imported[k]);
        either += usize::from(rendered[k] || imported[k]);
    }
    assert!(either > 0, "neither mask paints a pixel away from the edges");
    (both as f64 / either as f64, both, either)
}

fn check(file: &str) {
    let svg = std::fs::read(root().join(file)).expect("fixture exists");
    let (iou, both, either) = compare(&svg, &svg);
    eprintln!("{file}: IoU {iou:.5}");
    assert!(iou >= MIN_IOU, "{file}: IoU {iou:.5} < {MIN_IOU} ({both} of {either} pixels)");
}

macro_rules! render {
    ($($(#[$attr:meta])* $name:ident: $file:literal;)*) => {$(
        #[test]
        $(#[$attr])*
        fn $name() {
            check($file);
        }
    )*};
}

// No sample or fixture uses <mask> or a filter (the importer would warn, clip to the mask's
// painted area and ignore the filter, which a render does not do).
render! {
    sample_coin: "samples/coin.svg";
    sample_gameicons_crown_coin: "samples/gameicons_crown-coin.svg";
    sample_medal_40mm: "samples/medal-40mm.svg";
    sample_noto_u1f396: "samples/noto_u1f396.svg";
    sample_noto_u1fa99: "samples/noto_u1fa99.svg";
    sample_fengrave_plate: "samples/fengrave-plate.svg";
    sample_single_line: "samples/single-line.svg";
    sample_serif_legend: "samples/serif-legend.svg";
    art_armoria_ear_of_wheat: "tests/fixtures/art/armoria_earOfWheat.svg";
    art_armoria_grape_bunch: "tests/fixtures/art/armoria_grapeBunch.svg";
    art_flag_sm: "tests/fixtures/art/flag_sm.svg";
    art_gameicons_laurel_crown: "tests/fixtures/art/gameicons_laurel-crown.svg";
    art_noto_u1f3f5: "tests/fixtures/art/noto_u1f3f5.svg";
    art_svg2gcode_smooth_curves: "tests/fixtures/art/svg2gcode_smooth_curves.svg";
    edge_clip_rule_evenodd: "tests/fixtures/edge/resvg_masking_clip-rule_clip-rule-evenodd.svg";
    edge_clip_path_with_transform: "tests/fixtures/edge/resvg_masking_clipPath_clip-path-with-transform.svg";
    edge_nested_clip_path: "tests/fixtures/edge/resvg_masking_clipPath_nested-clip-path.svg";
    edge_fill_rule_evenodd: "tests/fixtures/edge/resvg_painting_fill-rule_evenodd.svg";
    edge_fill_rule_nonzero: "tests/fixtures/edge/resvg_painting_fill-rule_nonzero.svg";
    edge_stroke_linejoin_miter_clip: "tests/fixtures/edge/resvg_painting_stroke-linejoin_miter-clip.svg";
    edge_path_m_a_trimmed: "tests/fixtures/edge/resvg_shapes_path_M-A-trimmed.svg";
    edge_path_no_commawsp_between_arc_flags: "tests/fixtures/edge/resvg_shapes_path_no-commawsp-between-arc-flags.svg";
    edge_rect_rounded_rect: "tests/fixtures/edge/resvg_shapes_rect_rounded-rect.svg";
    edge_nested_transforms_1: "tests/fixtures/edge/resvg_structure_transform_nested-transforms-1.svg";
    edge_transform_skew_x: "tests/fixtures/edge/resvg_structure_transform_skewX.svg";
    edge_text_simple_case: "tests/fixtures/edge/resvg_text_text_simple-case.svg";
    edge_svg2gcode_square_transformed_nested: "tests/fixtures/edge/svg2gcode_square_transformed_nested.svg";
    edge_svg2gcode_square_viewport: "tests/fixtures/edge/svg2gcode_square_viewport.svg";
    edge_svg2gcode_circular_interpolation: "tests/fixtures/edge/svg2gcode_circular_interpolation.svg";
}

/// The fixtures whose only shape is an unstroked line. Filled, a line paints nothing: resvg
/// renders no pixel and the import finds only a hairline, a line with no area to engrave
/// along. Stroked (the test adds `stroke`), each is compared like any other file, which
/// checks what it is about: the `transform-origin` of a rotation, and a `<use>` of a
/// `<symbol>` placed at its `x`/`y`.
#[test]
fn line_fixtures_paint_nothing_and_stroked_match_the_render() {
    for file in ["tests/fixtures/edge/svg2gcode_transform_origin.svg", "tests/fixtures/edge/svg2gcode_use_symbol.svg"] {
        let svg = std::fs::read_to_string(root().join(file)).expect("fixture exists");
        let art = import(svg.as_bytes(), &ImportOptions::default()).expect("imports");
        assert!(!art.shapes.is_empty(), "{file}");
        for shape in &art.shapes {
            assert!(shape.polygons.is_empty(), "{file}: a hairline paints nothing");
            let line = shape.centreline.as_ref().expect("a hairline is a line");
            assert!(line.width_mm == 0.0 && !line.paths.is_empty(), "{file}: {line:?}");
        }
        let tree = usvg::Tree::from_str(&svg, &medalcam::fonts::parse_options()).expect("usvg parses");
        let mut pixmap = tiny_skia::Pixmap::new(100, 100).expect("pixmap");
        resvg::render(&tree, tiny_skia::Transform::from_scale(10.0, 10.0), &mut pixmap.as_mut());
        assert!(pixmap.pixels().iter().all(|p| p.alpha() == 0), "{file}: resvg paints the unstroked line");

        let stroked = svg.replace("<path ", r#"<path stroke="black" stroke-width="0.5" "#);
        assert_ne!(stroked, svg);
        let (iou, both, either) = compare(stroked.as_bytes(), stroked.as_bytes());
        eprintln!("{file} (stroked): IoU {iou:.5}");
        assert!(iou >= MIN_IOU, "{file} (stroked): IoU {iou:.5} < {MIN_IOU} ({both} of {either} pixels)");
    }
}

#[test]
fn every_sample_and_fixture_is_listed() {
    let listed = include_str!("render.rs");
    for dir in ["samples", "tests/fixtures/art", "tests/fixtures/edge"] {
        for entry in std::fs::read_dir(root().join(dir)).expect("directory exists") {
            let name = entry.expect("entry").file_name().into_string().expect("UTF-8 name");
            if name.ends_with(".svg") {
                assert!(listed.contains(&format!("\"{dir}/{name}\"")), "{dir}/{name} has no IoU test");
            }
        }
    }
}

#[test]
fn no_listed_file_uses_a_mask_or_a_filter() {
    for dir in ["samples", "tests/fixtures/art", "tests/fixtures/edge"] {
        for entry in std::fs::read_dir(root().join(dir)).expect("directory exists") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "svg") {
                let text = std::fs::read_to_string(&path).expect("UTF-8");
                assert!(
                    !["<mask", "<filter", "filter=", "filter:"].iter().any(|k| text.contains(k)),
                    "{}: masks and filters are not imported as rendered; skip it here with a comment",
                    path.display()
                );
            }
        }
    }
}

/// The comparison is not vacuous: a shape moved by 5 % of the artwork, or mirrored, fails.
#[test]
fn a_moved_or_mirrored_import_fails() {
    let svg = |x: f64, y: f64| {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="20mm" height="10mm" viewBox="0 0 200 100">
                 <path d="M{x} {y} h60 v30 h-30 v30 h-30 z"/></svg>"#
        )
    };
    let original = svg(20.0, 20.0);
    assert!(compare(original.as_bytes(), original.as_bytes()).0 >= MIN_IOU);
    let (moved, ..) = compare(svg(30.0, 20.0).as_bytes(), original.as_bytes());
    assert!(moved < 0.9, "{moved}");
    let mirrored = original.replace("<path", r#"<path transform="matrix(-1 0 0 1 100 0)""#);
    let (mirrored, ..) = compare(mirrored.as_bytes(), original.as_bytes());
    assert!(mirrored < 0.9, "{mirrored}");
}
