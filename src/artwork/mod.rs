//! Stage 1: SVG bytes to [`Artwork`].
//!
//! Guarantees of the output: every [`ArtShape`] is a set of valid polygons (outer contours
//! counter-clockwise, holes clockwise, no self-intersection) in millimetres at final size, X
//! right, Y up, with the origin at the centre of the SVG's viewBox. The fill rule has been
//! applied, strokes are outlined with their width, joins, caps and dashes, text is converted
//! to outlines with the bundled DejaVu fonts, and curves are flattened within
//! [`ImportOptions::tolerance_mm`]. Shapes keep paint order (first painted first). Nothing is
//! mirrored here: that is the relief stage's business. Anything that cannot be taken is
//! reported as a [`Warning`] naming its element.
//!
//! Files: `limits` screens the bytes before parsing, `viewport` maps the viewBox to mm,
//! `importer` walks usvg's tree, `stroke` outlines strokes, `elements` names the elements,
//! `inspect` describes the artwork; this file runs the import.

use std::sync::{Arc, Mutex};

use kurbo::Affine;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::geom::Shapes;
use crate::{Warning, WarningKind};

mod centreline;
mod limits;
mod stroke;

mod elements;
mod importer;
mod inspect;
mod viewport;

pub use centreline::{clip_lines, Centreline};
use elements::Elements;
use importer::Importer;
pub use importer::NO_PAINT;
pub use inspect::{inspect, Inspection, LineUse};
pub use limits::MAX_BYTES as MAX_FILE_BYTES;
use viewport::Viewport;

/// CSS pixels per millimetre: SVG user units without a unit are px at 96 per inch.
pub const PX_PER_MM: f64 = 96.0 / 25.4;

/// How to read the artwork.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Scale the viewBox uniformly so that its larger side is this many mm.
    /// Without any of `diameter_mm`, `width_mm`, `height_mm` the SVG's own size is used;
    /// with several, the artwork fits inside all of them.
    pub diameter_mm: Option<f64>,
    /// Scale the viewBox uniformly so that its width is this many mm.
    pub width_mm: Option<f64>,
    /// Scale the viewBox uniformly so that its height is this many mm.
    pub height_mm: Option<f64>,
    /// Maximum deviation of flattened curves from the true curves, in mm at final size.
    pub tolerance_mm: f64,
    /// Font files (TTF, OTF, TTC bytes) to use besides the bundled DejaVu faces.
    pub fonts: Vec<Arc<Vec<u8>>>,
    /// A translucent fill or stroke (its opacity times its groups') covers what lies below
    /// from this opacity up, as if solid; below it, it is left out and leaves the colour
    /// below. Either way a warning names it.
    pub min_opacity: f64,
}

/// The default [`ImportOptions::min_opacity`].
pub const DEFAULT_MIN_OPACITY: f64 = 0.5;

impl Default for ImportOptions {
    fn default() -> Self {
        let tolerance_mm = crate::tolerance::Tolerance::default().flattening_mm();
        Self {
            diameter_mm: None,
            width_mm: None,
            height_mm: None,
            tolerance_mm,
            fonts: Vec::new(),
            min_opacity: DEFAULT_MIN_OPACITY,
        }
    }
}

/// The artwork in millimetres, ready for the relief stage.
#[derive(Debug, Clone)]
pub struct Artwork {
    /// Filled shapes in paint order.
    pub shapes: Vec<ArtShape>,
    /// Maps the SVG's root user coordinates (viewBox units) to artwork mm (Y up, centred).
    pub placement: Affine,
    /// Width and height of the viewBox in mm.
    pub size_mm: [f64; 2],
    /// The text runs, converted to outlines.
    pub texts: Vec<TextRun>,
    /// The viewport, what a renderer shows, in artwork mm: the blank a hub is cut from.
    pub viewport: Shapes,
    /// Everything the import could not take, by element.
    pub warnings: Vec<Warning>,
}

/// One `<text>` element.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TextRun {
    /// The element's id (or `<text>`).
    pub element: String,
    /// Its characters.
    pub text: String,
    /// The family asked for (first of the list).
    pub requested_font: String,
    /// The bundled face that drew it.
    pub font: String,
}

/// One painted shape of the artwork.
#[derive(Debug, Clone)]
pub struct ArtShape {
    /// The SVG element id (empty when the element has none). For text, the `<text>` element.
    pub id: String,
    /// The element's classes.
    pub classes: Vec<String>,
    /// The ids of the enclosing groups (and `<use>` elements), outermost first.
    pub ancestors: Vec<String>,
    /// The label of the innermost enclosing Inkscape layer.
    pub layer: Option<String>,
    /// Fill colour as `#rrggbb`.
    pub color: String,
    /// The painted area as valid polygons (none for a hairline).
    pub polygons: Shapes,
    /// For a stroke or a hairline (a path with no fill and no stroke width), the line it
    /// follows: what single-line engraving cuts along.
    pub centreline: Option<Centreline>,
}

/// Reads SVG bytes into an [`Artwork`].
///
/// # Errors
///
/// [`Error::Svg`] when the bytes are not an SVG document, [`Error::BadSize`] for an unusable
/// size, and [`Error::NothingToEngrave`] when nothing is filled, stroked or drawn as a line.
pub fn import(svg: &[u8], options: &ImportOptions) -> Result<Artwork> {
    let (emptied, scan) = limits::checked(svg)?;
    let svg = emptied.as_deref().unwrap_or(svg);
    let text = std::str::from_utf8(svg).map_err(|_| Error::Svg("the file is not UTF-8 text".into()))?;
    let (tagged, prefix) = elements::tag(text, &scan.untagged);
    // DTDs are allowed, as usvg allows them (Illustrator writes one); entities never reach
    // here. The tagged text is parsed: a parse error is reported from the original, whose
    // line and column the user sees.
    let xml = |text| {
        let options = usvg::roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
        usvg::roxmltree::Document::parse_with_options(text, options)
    };
    let doc = match xml(&tagged) {
        Ok(doc) => doc,
        Err(tagged_error) => {
            return Err(Error::Svg(xml(text).err().unwrap_or(tagged_error).to_string()));
        }
    };
    let elements = Elements::read(&doc, &prefix);
    let missing_fonts = Arc::new(Mutex::new(Vec::new()));
    let usvg_options = crate::fonts::usvg_options(Arc::clone(&missing_fonts), &options.fonts);
    // usvg is not panic-free on hostile input (found by fuzzing: a 1e-30 pattern tile);
    // a panic inside it is this file's error, not a crash, and prints nothing.
    let parsed = quietly(|| usvg::Tree::from_xmltree(&doc, &usvg_options));
    let tree = match parsed {
        Ok(tree) => tree.map_err(|e| Error::Svg(e.to_string()))?,
        Err(_) => return Err(Error::Svg("the SVG parser failed on this file".into())),
    };
    let viewport = Viewport::read(&doc, &tree)?;
    let (placement, world, size_mm) = viewport.placement(options)?;

    let visible = viewport.visible_area(world)?;
    let mut importer = Importer {
        world,
        tolerance_mm: options.tolerance_mm,
        min_opacity: options.min_opacity,
        opacity: 1.0,
        clip: Some(Arc::new(visible.clone())),
        elements,
        groups: Vec::new(),
        text: None,
        families: tree.fontdb().faces().flat_map(|f| f.families.iter().map(|(name, _)| name.clone())).collect(),
        shapes: Vec::new(),
        texts: Vec::new(),
        warnings: Vec::new(),
        budget: importer::Budget::default(),
        too_many_points: None,
    };
    let mut missing: Vec<String> = missing_fonts.lock().map(|m| m.clone()).unwrap_or_default();
    missing.sort();
    missing.dedup();
    for family in missing {
        importer.warn(
            WarningKind::FontFallback,
            "",
            &format!("font family {family} is not available: the text uses the bundled DejaVu Sans"),
        );
    }
    for id in importer.elements.with_tag("image") {
        importer.warn(WarningKind::Unsupported, &id, "raster images cannot be engraved and were skipped");
    }
    importer.group(tree.root());
    if let Some(element) = importer.too_many_points.take() {
        return Err(Error::Svg(format!(
            "the outlines flatten into more than {} points at the tolerance; the limit is reached at {}",
            importer::MAX_POINTS,
            crate::one_line(&element)
        )));
    }
    let shapes = resolve(&mut importer, options.tolerance_mm);
    if shapes.is_empty() {
        return Err(Error::NothingToEngrave);
    }
    Ok(Artwork {
        shapes,
        placement,
        size_mm,
        texts: importer.texts,
        viewport: visible.area,
        warnings: importer.warnings,
    })
}

/// The importer's shapes resolved to polygons: each is independent, so in parallel, collected
/// in paint order. One the polygon engine cannot hold is skipped with a warning naming it.
fn resolve(importer: &mut Importer, tolerance_mm: f64) -> Vec<ArtShape> {
    let resolved: Vec<_> =
        std::mem::take(&mut importer.shapes).into_par_iter().map(|p| p.resolve(tolerance_mm)).collect();
    let mut shapes: Vec<ArtShape> = Vec::new();
    for shape in resolved {
        match shape {
            Ok(shape) => shapes.extend(shape),
            Err((id, e)) => importer.warn(WarningKind::Unsupported, &id, &format!("{e}: the shape was skipped")),
        }
    }
    shapes
}

thread_local! {
    /// Whether this thread is inside [`quietly`].
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, turning a panic into `Err` without the panic message on stderr. The panic hook
/// installed for this (once per process) hands every other panic to the hook it replaced.
fn quietly<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geom;

    fn import_str(svg: &str) -> Artwork {
        import(svg.as_bytes(), &ImportOptions::default()).expect("imports")
    }

    #[test]
    fn a_pattern_painted_with_itself_does_not_recurse() {
        // `p` inherits `q`'s content, which a `<style>` rule paints with `p`: usvg recursed
        // until the stack overflowed (an abort). Through `href` alone, and through the class.
        for paint in [r#"fill="url(#p)""#, r#"class="a""#] {
            let svg = format!(
                r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="40mm" height="40mm" viewBox="0 0 40 40">
                     <defs><pattern id="q" width="10" height="10" patternUnits="userSpaceOnUse">
                       <rect {paint} width="5" height="5"/></pattern>
                     <pattern id="p" xlink:href="#q" width="10" height="10"/></defs>
                     <style>.a {{ fill: url(#p) }}</style>
                     <rect id="patterned" width="40" height="40" fill="url(#p)"/>
                     <rect id="plain" x="5" y="5" width="10" height="10"/>
                   </svg>"##
            );
            let art = import_str(&svg);
            assert_eq!(art.shapes.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["patterned", "plain"]);
            assert!(art.warnings.iter().any(|w| w.element == "patterned" && w.message.contains("pattern fill")));
        }
    }

    #[test]
    fn text_beyond_the_limit_is_refused_before_layout() {
        let svg = |n: usize| {
            format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="100mm" height="100mm" viewBox="0 0 100 100">
                     <rect width="5" height="5"/><text x="1" y="50" font-size="1">{}</text></svg>"#,
                "W".repeat(n)
            )
        };
        assert!(import(svg(limits::MAX_TEXT_BYTES).as_bytes(), &ImportOptions::default()).is_ok());
        let err = import(svg(500_000).as_bytes(), &ImportOptions::default()).unwrap_err().to_string();
        assert!(err.contains("more than 20000 bytes of text (line 2)"), "{err}");
    }

    /// 200 zigzag strokes across a 100 mm page, each `attributes`.
    fn zigzags(attributes: &str) -> String {
        let mut svg = String::from(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="100mm" height="100mm" viewBox="0 0 100 100">"#,
        );
        for row in 0..200 {
            let points: Vec<String> = (0..200)
                .map(|x| {
                    format!("{},{}", f64::from(x) * 0.5, f64::from(row) * 0.5 + if x % 2 == 1 { 0.4 } else { 0.0 })
                })
                .collect();
            svg += &format!(r#"<polyline points="{}" fill="none" stroke="black" {attributes}/>"#, points.join(" "));
        }
        svg + "</svg>"
    }

    #[test]
    fn dashes_are_budgeted_over_the_whole_document() {
        // 16.7 million dashes of 6 um: the import ran for hours. Each of these strokes
        // would make 10,600: all are stroked solid, each named.
        let solid =
            |art: &Artwork| art.warnings.iter().filter(|w| w.message.contains("over 10,000 dashes in all")).count();
        assert_eq!(solid(&import_str(&zigzags(r#"stroke-width="0.2" stroke-dasharray="0.006 0.006""#))), 200);
        // Of 1,270 dashes each (some meet at the corners), the first seven strokes keep theirs.
        let art = import_str(&zigzags(r#"stroke-width="0.2" stroke-dasharray="0.05 0.05""#));
        assert_eq!(solid(&art), 193);
        let pieces: Vec<usize> = art.shapes.iter().map(|s| s.polygons.len()).collect();
        assert_eq!(pieces.iter().filter(|&&n| n > 900).count(), 7, "{:?}", &pieces[..10]);
    }

    #[test]
    fn outlines_past_the_point_budget_are_refused_naming_the_element() {
        // 3,000 circles 8 m across: 1.3 billion points at the flattening tolerance.
        let circles = r#"<circle r="4000"/>"#.repeat(3000);
        let svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="40mm" viewBox="0 0 40 40">{circles}</svg>"#
        );
        let err = import(svg.as_bytes(), &ImportOptions::default()).unwrap_err().to_string();
        assert!(err.contains("more than 2000000 points") && err.contains("<circle>"), "{err}");
    }

    #[test]
    fn dense_polylines_are_thinned_to_the_flattening_tolerance() {
        // A circle of 300,000 segments 0.2 um long, rounded to 0.1 um: every erosion of it
        // split each edge against thousands of neighbours (a million took minutes and 21 GB).
        let n = 300_000;
        let points: Vec<String> = (0..n)
            .map(|k| {
                let a = std::f64::consts::TAU * f64::from(k) / f64::from(n);
                format!("{:.4} {:.4}", 20.0 + 10.0 * a.cos(), 20.0 + 10.0 * a.sin())
            })
            .collect();
        let svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="40mm" viewBox="0 0 40 40"><path d="M {}Z"/></svg>"#,
            points.join(" L ")
        );
        let art = import_str(&svg);
        let count: usize = art.shapes[0].polygons.iter().flatten().map(Vec::len).sum();
        assert!(count < 2_000, "{count} points");
        let area = geom::shapes_area(&art.shapes[0].polygons);
        assert!((area - std::f64::consts::PI * 100.0).abs() < 0.01 * 63.0, "{area}");
    }

    #[test]
    fn a_clip_the_polygon_engine_cannot_hold_skips_its_group_with_a_warning() {
        // Two clip rectangles 18 m apart: each is small, their union spans more than the
        // polygon grid holds. The group is skipped and named, the rest kept.
        let art = import_str(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="40mm" viewBox="0 0 40 40">
                 <clipPath id="wide"><rect x="-9000" width="10" height="10"/><rect x="9000" width="10" height="10"/></clipPath>
                 <g id="clipped" clip-path="url(#wide)"><rect width="40" height="40" fill="red"/></g>
                 <rect id="kept" x="10" y="10" width="5" height="5"/>
               </svg>"#,
        );
        assert_eq!(art.shapes.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["kept"]);
        let skipped: Vec<_> = art.warnings.iter().filter(|w| w.element == "clipped").collect();
        assert_eq!(skipped.len(), 1, "{:?}", art.warnings);
        assert_eq!(skipped[0].kind, crate::WarningKind::Unsupported);
        assert!(skipped[0].message.contains("the group was skipped"), "{}", skipped[0].message);
    }

    #[test]
    fn mm_size_maps_view_box_to_centred_y_up_mm() {
        let art = import_str(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="20mm" viewBox="0 0 80 40">
                 <rect x="0" y="0" width="40" height="20" fill="#ff0000"/></svg>"##,
        );
        let p = art.placement * kurbo::Point::new(0.0, 0.0);
        // usvg keeps coordinates in f32: 1e-5 mm is far below any machining tolerance.
        assert!((p.x + 20.0).abs() < 1e-5 && (p.y - 10.0).abs() < 1e-5, "{p:?}");
        assert!((geom::shapes_area(&art.shapes[0].polygons) - 200.0).abs() < 1e-3);
        assert_eq!(art.shapes[0].color, "#ff0000");
        assert!((art.size_mm[0] - 40.0).abs() < 1e-5 && (art.size_mm[1] - 20.0).abs() < 1e-5);
    }

    #[test]
    fn diameter_scales_the_larger_side() {
        let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="-10 -5 20 10"><circle r="2"/></svg>"#;
        let art = import(svg.as_bytes(), &ImportOptions { diameter_mm: Some(30.0), ..Default::default() }).unwrap();
        let area = geom::shapes_area(&art.shapes[0].polygons);
        let expected = std::f64::consts::PI * 3.0 * 3.0; // r = 2 units, 1.5 mm per unit
                                                         // Flattening within 0.002 mm loses at most perimeter x tolerance (0.038 mm2).
        assert!(area < expected && expected - area < 0.038, "{area}");
        assert!((art.size_mm[0] - 30.0).abs() < 1e-9 && (art.size_mm[1] - 15.0).abs() < 1e-9);
    }

    #[test]
    fn width_and_height_fit_inside_both() {
        let svg =
            br#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 20 10"><rect width="20" height="10"/></svg>"#;
        let fit = |width_mm, height_mm| {
            let options = ImportOptions { width_mm, height_mm, ..Default::default() };
            import(svg, &options).unwrap().size_mm
        };
        assert_eq!(fit(Some(40.0), None), [40.0, 20.0]);
        assert_eq!(fit(None, Some(5.0)), [10.0, 5.0]);
        assert_eq!(fit(Some(40.0), Some(5.0)), [10.0, 5.0]);
    }

    #[test]
    fn stroke_is_outlined_with_its_width() {
        let art = import_str(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="10mm" height="10mm" viewBox="0 0 10 10">
                 <line x1="1" y1="5" x2="9" y2="5" stroke="black" stroke-width="1"/></svg>"#,
        );
        assert!((geom::shapes_area(&art.shapes[0].polygons) - 8.0).abs() < 1e-3);
    }

    #[test]
    fn dashes_whose_gaps_the_caps_close_are_stroked_solid() {
        let line = |dashes: &str| {
            import_str(&format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="10mm" height="10mm" viewBox="0 0 10 10">
                     <line x1="2" y1="5" x2="8" y2="5" stroke="black" stroke-width="1"
                           stroke-linecap="round" stroke-dasharray="{dashes}"/></svg>"#
            ))
        };
        let solid = line("none");
        // Gaps of 0.5 under round caps of radius 0.5: closed, one solid stroke.
        let closed = line("0.01 0.5");
        assert!((area(&closed) - area(&solid)).abs() < 1e-3, "{} vs {}", area(&closed), area(&solid));
        assert_eq!(closed.warnings.len(), 1, "{:?}", closed.warnings);
        assert_eq!(closed.warnings[0].kind, WarningKind::Approximated);
        // Gaps of 1.5: three separate dashes.
        let open = line("0.5 1.5");
        assert!(area(&open) < area(&solid) - 1.0, "{} vs {}", area(&open), area(&solid));
        assert!(open.warnings.is_empty(), "{:?}", open.warnings);
    }

    #[test]
    fn text_becomes_outlines() {
        let art = import_str(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="10mm" viewBox="0 0 40 10">
                 <text x="1" y="8" font-size="8" font-family="sans-serif">MEDAL</text></svg>"#,
        );
        assert!(art.warnings.is_empty(), "{:?}", art.warnings);
        assert!(geom::shapes_area(&art.shapes.iter().flat_map(|s| s.polygons.clone()).collect::<Vec<_>>()) > 20.0);
    }

    fn area(art: &Artwork) -> f64 {
        art.shapes.iter().map(|s| geom::shapes_area(&s.polygons)).sum()
    }

    /// mm2 per square user unit of the 200-unit resvg test files (96 dpi px).
    const UNIT2: f64 = (25.4 / 96.0) * (25.4 / 96.0);

    // The three clip cases below are the resvg project's tests (Apache-2.0 OR MIT):
    // masking/clip-rule/clip-rule=evenodd, masking/clipPath/clip-path-with-transform and
    // masking/clipPath/nested-clip-path, without their frame rectangles.
    const STAR: &str = "M 100 15 l 50 160 l -130 -100 l 160 0 l -130 100 z";

    #[test]
    fn clip_rule_evenodd_clips_like_an_evenodd_fill() {
        let clipped = import_str(&format!(
            r#"<svg viewBox="0 0 200 200" xmlns="http://www.w3.org/2000/svg">
                <clipPath id="clip1"><path d="{STAR}" clip-rule="evenodd"/></clipPath>
                <rect x="0" y="0" width="200" height="200" fill="green" clip-path="url(#clip1)"/></svg>"#
        ));
        let star = import_str(&format!(
            r#"<svg viewBox="0 0 200 200" xmlns="http://www.w3.org/2000/svg">
                <path d="{STAR}" fill-rule="evenodd"/></svg>"#
        ));
        assert!((area(&clipped) - area(&star)).abs() < 1e-6, "{} vs {}", area(&clipped), area(&star));
        assert!(area(&clipped) < 0.5 * 200.0 * 200.0 * UNIT2);
    }

    #[test]
    fn object_bounding_box_clip_follows_the_transform() {
        let art = import_str(
            r#"<svg viewBox="0 0 200 200" xmlns="http://www.w3.org/2000/svg">
                <clipPath id="clip1" clipPathUnits="objectBoundingBox">
                  <rect x="0.2" y="0.2" width="0.6" height="0.6" rx="0.1" ry="0.1"/></clipPath>
                <rect x="0" y="0" width="200" height="200" fill="green" clip-path="url(#clip1)"
                      transform="translate(100 -40) rotate(45)"/></svg>"#,
        );
        // A 120 x 120 square with corners of radius 20, rotated: its area does not change.
        let expected = (120.0 * 120.0 - (4.0 - std::f64::consts::PI) * 20.0 * 20.0) * UNIT2;
        // Flattening the corners within 0.002 mm loses at most arc length x tolerance: 0.07 mm2.
        assert!(area(&art) < expected && expected - area(&art) < 0.07, "{} vs {expected}", area(&art));
    }

    #[test]
    fn nested_clips_intersect() {
        let nested = import_str(&format!(
            r#"<svg viewBox="0 0 200 200" xmlns="http://www.w3.org/2000/svg">
                <clipPath id="clip1"><path d="{STAR}" clip-rule="evenodd"/></clipPath>
                <clipPath id="clip2"><circle cx="100" cy="100" r="60"/></clipPath>
                <g clip-path="url(#clip2)">
                  <rect x="0" y="0" width="200" height="200" fill="green" clip-path="url(#clip1)"/></g></svg>"#
        ));
        let star = import_str(&format!(
            r#"<svg viewBox="0 0 200 200" xmlns="http://www.w3.org/2000/svg"><path d="{STAR}" fill-rule="evenodd"/></svg>"#
        ));
        let circle = import_str(
            r#"<svg viewBox="0 0 200 200" xmlns="http://www.w3.org/2000/svg"><circle cx="100" cy="100" r="60"/></svg>"#,
        );
        let expected =
            geom::shapes_area(&geom::intersect(&star.shapes[0].polygons, &circle.shapes[0].polygons).unwrap());
        assert!((area(&nested) - expected).abs() < 1e-6, "{} vs {expected}", area(&nested));
        assert!(expected < area(&star) && expected < area(&circle));
        assert!(nested.warnings.is_empty(), "{:?}", nested.warnings);
    }

    #[test]
    fn content_outside_the_viewport_is_clipped_away() {
        let art = import_str(
            r#"<svg width="10mm" height="10mm" viewBox="0 0 10 10" xmlns="http://www.w3.org/2000/svg">
                <rect x="5" y="-5" width="30" height="10" fill="black"/>
                <circle cx="-50" cy="5" r="3"/></svg>"#,
        );
        // Only the rect's 5 x 5 corner inside the viewBox remains; the circle is gone.
        assert!((area(&art) - 25.0).abs() < 1e-6, "{}", area(&art));
    }

    #[test]
    fn unknown_font_family_falls_back_with_a_warning() {
        let svg = |family: &str| {
            format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="10mm" viewBox="0 0 40 10">
                     <text x="1" y="8" font-size="8" font-family="{family}">MEDAL</text></svg>"#
            )
        };
        let missing = import_str(&svg("NoSuchFont"));
        let sans = import_str(&svg("DejaVu Sans"));
        assert!((area(&missing) - area(&sans)).abs() < 1e-9, "falls back to DejaVu Sans");
        assert!(area(&missing) > 10.0);
        assert_eq!(missing.warnings.len(), 1, "{:?}", missing.warnings);
        assert!(missing.warnings[0].message.contains("`NoSuchFont`"), "{:?}", missing.warnings);
        assert_eq!(missing.warnings[0].kind, WarningKind::FontFallback);
        assert!(sans.warnings.is_empty(), "{:?}", sans.warnings);
    }

    #[test]
    fn shapes_carry_ids_classes_ancestors_and_layers() {
        let art = import_str(
            r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape"
                   xmlns:xlink="http://www.w3.org/1999/xlink" width="20mm" height="20mm" viewBox="0 0 20 20">
                 <defs><circle id="dot" r="1" class="gem"/></defs>
                 <g id="front" inkscape:groupmode="layer" inkscape:label="Raised">
                   <g id="rim"><rect class="a  b" x="1" y="1" width="4" height="4" fill="#d4af37"/></g>
                   <use xlink:href="#dot" id="dot-1" x="10" y="10"/>
                 </g>
                 <text id="legend" x="2" y="18" font-size="4">AB</text></svg>"##,
        );
        let rect = &art.shapes[0];
        assert_eq!((rect.id.as_str(), rect.classes.clone()), ("", vec!["a".to_string(), "b".to_string()]));
        assert_eq!(rect.ancestors, ["front", "rim"]);
        assert_eq!(rect.layer.as_deref(), Some("Raised"));
        assert_eq!(rect.color, "#d4af37");
        let dot = &art.shapes[1];
        assert_eq!((dot.id.as_str(), dot.classes.clone()), ("dot", vec!["gem".to_string()]));
        assert_eq!(dot.ancestors, ["front", "dot-1"]);
        let text = &art.shapes[2];
        assert_eq!((text.id.as_str(), text.layer.clone()), ("legend", None));
        assert!(art.warnings.is_empty(), "{:?}", art.warnings);
    }

    #[test]
    fn mask_paints_like_a_clip_with_a_warning() {
        let art = import_str(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="20mm" height="20mm" viewBox="0 0 20 20">
                 <mask id="m"><rect x="0" y="0" width="10" height="20" fill="white"/></mask>
                 <g id="masked" mask="url(#m)"><rect x="5" y="5" width="10" height="10" fill="#000"/></g></svg>"##,
        );
        assert!((area(&art) - 50.0).abs() < 1e-4, "{}", area(&art));
        assert_eq!(art.warnings.len(), 1);
        assert_eq!((art.warnings[0].kind, art.warnings[0].element.as_str()), (WarningKind::Approximated, "masked"));
    }

    #[test]
    fn translucent_shapes_cover_from_min_opacity_up_and_are_named() {
        let svg = br##"<svg xmlns="http://www.w3.org/2000/svg" width="20mm" height="20mm" viewBox="0 0 20 20">
            <rect x="2" y="2" width="16" height="16" fill="#ff0000"/>
            <rect id="shadow" x="4" y="4" width="6" height="6" fill="#000" opacity="0.2"/>
            <rect id="half" x="11" y="4" width="6" height="6" fill="#000" fill-opacity="0.7"/>
            <rect id="line" x="1" y="1" width="1" height="1" fill="none" stroke="#000" stroke-opacity="0.3"/>
            <g id="grp" opacity="0.5"><rect x="4" y="11" width="6" height="6" fill="#000" opacity="0.8"/></g></svg>"##;
        let black = |min_opacity: f64| {
            let art = import(svg, &ImportOptions { min_opacity, ..ImportOptions::default() }).unwrap();
            let area: f64 =
                art.shapes.iter().filter(|s| s.color == "#000000").map(|s| geom::shapes_area(&s.polygons)).sum();
            (area, art.warnings)
        };
        let (area, warnings) = black(0.5);
        assert!((area - 36.0).abs() < 1e-6, "only the 70 % square covers: {area}");
        let named: Vec<(&str, &str)> = warnings.iter().map(|w| (w.element.as_str(), w.message.as_str())).collect();
        assert_eq!(named.len(), 4, "{named:?}");
        assert!(named[0].0 == "shadow" && named[0].1.contains("fill at 20 % opacity is left out"), "{named:?}");
        assert!(named[1].0 == "half" && named[1].1.contains("70 % opacity covers"), "{named:?}");
        assert!(named[2].0 == "line" && named[2].1.contains("stroke at 30 %"), "{named:?}");
        // The group's opacity counts too: 0.5 x 0.8.
        assert!(named[3].1.contains("fill at 40 % opacity is left out"), "{named:?}");
        assert!(warnings.iter().all(|w| w.kind == WarningKind::Approximated));
        assert!((black(0.1).0 - 108.0 - 4.0 * 1.0).abs() < 1.5, "everything covers: {}", black(0.1).0);
        assert_eq!(black(1.0).0, 0.0);
    }

    #[test]
    fn invisible_shapes_are_not_engraved() {
        let art = import_str(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="10mm" height="10mm" viewBox="0 0 10 10">
                 <rect width="2" height="2"/>
                 <g opacity="0"><rect x="5" width="2" height="2"/></g>
                 <rect y="5" width="2" height="2" style="display:none"/>
                 <rect x="5" y="5" width="2" height="2" visibility="hidden"/>
                 <rect x="3" y="3" width="2" height="2" fill-opacity="0"/>
                 <rect x="7" y="7" width="2" height="2" opacity="0"/></svg>"#,
        );
        assert_eq!(art.shapes.len(), 1);
        assert!((area(&art) - 4.0).abs() < 1e-6);
    }

    #[test]
    fn negative_view_box_origin_and_aspect_ratio_alignment() {
        // svg2gcode's square_viewport case: viewBox "-10 -10 10 10" on a 10 mm square.
        let art = import_str(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="10mm" height="10mm" viewBox="-10 -10 10 10">
                 <rect x="-10" y="-10" width="5" height="5"/></svg>"#,
        );
        let b = geom::bounds(art.shapes[0].polygons.iter().flatten()).unwrap();
        assert!((b[0] + 5.0).abs() < 1e-5 && (b[3] - 5.0).abs() < 1e-5 && (b[2]).abs() < 1e-5, "{b:?}");
        // A 20 x 10 viewBox in a 10 x 10 mm viewport, aligned left and top: 0.5 mm per unit,
        // so the unit square at the viewBox origin lands at the viewport's top-left corner.
        let art = import_str(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="10mm" height="10mm" viewBox="0 0 20 10"
                    preserveAspectRatio="xMinYMin meet"><rect width="1" height="1"/></svg>"#,
        );
        let b = geom::bounds(art.shapes[0].polygons.iter().flatten()).unwrap();
        // The die centre is the viewBox centre: 5 mm right of the viewport's left edge, 2.5 mm
        // below its top.
        assert!((b[0] + 5.0).abs() < 1e-5 && (b[2] + 4.5).abs() < 1e-5, "{b:?}");
        assert!((b[3] - 2.5).abs() < 1e-5 && (b[1] - 2.0).abs() < 1e-5, "{b:?}");
    }

    #[test]
    fn strokes_keep_their_centre_lines_and_hairlines_are_lines_only() {
        let art = import_str(
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="20mm" height="20mm" viewBox="0 0 20 20">
                 <line id="bare" x1="2" y1="2" x2="18" y2="2"/>
                 <path id="unpainted" d="M 2 4 L 18 4 L 18 8" fill="none"/>
                 <path id="hidden" d="M 2 6 L 18 6" fill="none" style="visibility:hidden"/>
                 <g transform="scale(0.5)"><path id="wide" d="M 4 20 L 36 20" fill="none" stroke="red" stroke-width="2"/></g>
                 <path id="dashed" d="M 2 14 L 18 14" fill="none" stroke="#000" stroke-width="0.5"
                       stroke-dasharray="2 2"/>
                 <circle id="ring" cx="10" cy="10" r="3" fill="none" stroke="#000" stroke-width="0.3"/>
               </svg>"##,
        );
        let ids: Vec<&str> = art.shapes.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["bare", "unpainted", "wide", "dashed", "ring"], "a hidden path is not a hairline");
        for hairline in &art.shapes[..2] {
            assert!(hairline.polygons.is_empty() && hairline.color == NO_PAINT, "{}", hairline.id);
            let line = hairline.centreline.as_ref().expect("a hairline is a line");
            assert_eq!((line.width_mm, line.paths.len(), line.paths[0].closed), (0.0, 1, false));
        }
        assert!((art.shapes[1].centreline.as_ref().unwrap().paths[0].length_mm() - 20.0).abs() < 1e-5);
        // The width in mm at final size, the line where the stroke runs.
        let wide = art.shapes[2].centreline.as_ref().expect("a stroke has a centre line");
        assert!((wide.width_mm - 1.0).abs() < 1e-6 && art.shapes[2].color == "#ff0000", "{wide:?}");
        assert!((wide.paths[0].length_mm() - 16.0).abs() < 1e-5 && !art.shapes[2].polygons.is_empty());
        assert_eq!(art.shapes[3].centreline.as_ref().unwrap().paths.len(), 4, "each dash a line");
        let ring = &art.shapes[4].centreline.as_ref().unwrap().paths[0];
        assert!(ring.closed && (ring.length_mm() - std::f64::consts::TAU * 3.0).abs() < 0.01, "{}", ring.length_mm());
    }

    #[test]
    fn a_line_past_the_viewport_is_clipped_to_it() {
        let art = import_str(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="10mm" height="10mm" viewBox="0 0 10 10">
                 <line x1="-5" y1="5" x2="5" y2="5"/></svg>"#,
        );
        let line = &art.shapes[0].centreline.as_ref().unwrap().paths[0];
        assert!((line.length_mm() - 5.0).abs() < 1e-5, "{line:?}");
    }

    #[test]
    fn no_fill_is_an_error() {
        let err = import(
            br#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><g/></svg>"#,
            &ImportOptions::default(),
        );
        assert!(matches!(err, Err(Error::NothingToEngrave)));
    }

    #[test]
    fn a_doctype_is_read_and_parse_errors_point_into_the_file_as_written() {
        // As Illustrator writes it.
        let art = import_str(
            r#"<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg xmlns="http://www.w3.org/2000/svg" width="20mm" height="20mm" viewBox="0 0 20 20"><rect width="4" height="5"/></svg>"#,
        );
        assert!((area(&art) - 20.0).abs() < 1e-6, "{}", area(&art));
        // The error is at line 2, column 32 of the file as written (ids added would move it).
        let broken = "<svg xmlns=\"http://www.w3.org/2000/svg\">\n<g><rect width=\"1\" height=\"1\"/></svg>";
        match import(broken.as_bytes(), &ImportOptions::default()) {
            Err(Error::Svg(reason)) => assert!(reason.contains("2:32"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
