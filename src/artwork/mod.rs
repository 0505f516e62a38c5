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

use std::sync::{Arc, Mutex};

use i_overlay::core::fill_rule::FillRule;
use kurbo::{Affine, BezPath, PathEl, Shape as _};
use rayon::prelude::*;
use usvg::tiny_skia_path::PathSegment;

use crate::error::{Error, Result};
use crate::geom::{self, Contour, Shapes};
use crate::{Warning, WarningKind};

mod limits;
mod stroke;

mod elements;
mod inspect;

use elements::Elements;
pub use inspect::{inspect, Inspection};

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
}

impl Default for ImportOptions {
    fn default() -> Self {
        let tolerance_mm = crate::tolerance::Tolerance::default().flattening_mm();
        Self { diameter_mm: None, width_mm: None, height_mm: None, tolerance_mm, fonts: Vec::new() }
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
    /// The painted area as valid polygons.
    pub polygons: Shapes,
}

/// Reads SVG bytes into an [`Artwork`].
///
/// # Errors
///
/// [`Error::Svg`] when the bytes are not an SVG document, [`Error::BadSize`] for an unusable
/// size, and [`Error::NothingToEngrave`] when no shape is filled.
pub fn import(svg: &[u8], options: &ImportOptions) -> Result<Artwork> {
    let untagged = limits::check(svg)?;
    let text = std::str::from_utf8(svg).map_err(|_| Error::Svg("the file is not UTF-8 text".into()))?;
    let (tagged, prefix) = elements::tag(text, &untagged);
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
    if let Some(id) = pattern_painting_itself(&doc) {
        // usvg 0.49 recurses without end on it: a stack overflow cannot be caught.
        return Err(Error::Svg(format!("pattern `{id}` is painted with itself by an enclosing element")));
    }
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

    let visible = viewport.visible_area(world);
    let mut importer = Importer {
        world,
        tolerance_mm: options.tolerance_mm,
        clip: Some(Arc::new(visible.clone())),
        elements,
        groups: Vec::new(),
        text: None,
        families: tree.fontdb().faces().flat_map(|f| f.families.iter().map(|(name, _)| name.clone())).collect(),
        shapes: Vec::new(),
        texts: Vec::new(),
        warnings: Vec::new(),
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
    let tolerance_mm = options.tolerance_mm;
    // Each shape is independent: resolve them in parallel, collected in paint order.
    let resolved: Vec<Option<ArtShape>> =
        std::mem::take(&mut importer.shapes).into_par_iter().map(|p| p.resolve(tolerance_mm)).collect();
    let shapes: Vec<ArtShape> = resolved.into_iter().flatten().collect();
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

/// A `<pattern>` whose enclosing element names it in a fill or stroke it would inherit
/// (found by fuzzing: `<defs fill="url(#p)"><pattern id="p">`).
fn pattern_painting_itself(doc: &usvg::roxmltree::Document<'_>) -> Option<String> {
    doc.descendants().filter(|n| n.has_tag_name("pattern")).find_map(|p| {
        let id = p.attribute("id")?;
        let link = format!("#{id}");
        p.ancestors()
            .skip(1)
            .any(|a| {
                a.attributes().any(|at| matches!(at.name(), "fill" | "stroke" | "style") && at.value().contains(&link))
            })
            .then(|| id.to_string())
    })
}

/// The root viewport: viewBox, its mapping to the SVG's size in px.
struct Viewport {
    /// `[x, y, width, height]` in user units.
    view_box: [f64; 4],
    /// Scale from user units to px, per axis.
    scale: [f64; 2],
    /// Translation from user units to px.
    translate: [f64; 2],
    /// The viewport's width and height in px.
    size_px: [f64; 2],
}

impl Viewport {
    fn read(doc: &usvg::roxmltree::Document<'_>, tree: &usvg::Tree) -> Result<Self> {
        let size = tree.size();
        let root = doc.root_element();
        let view_box_attr = match root.attribute("viewBox").map(parse_numbers) {
            Some(v) if v.len() == 4 && v[2] > 0.0 && v[3] > 0.0 => Some([v[0], v[1], v[2], v[3]]),
            Some(_) => return Err(Error::BadSize("the root viewBox is not four numbers with a positive size".into())),
            None => None,
        };
        // usvg's size is f32; absolute lengths are read again in f64 so that placements and
        // sizes come out exact. Percentages and other cases keep usvg's resolution.
        let (w_attr, h_attr) =
            (root.attribute("width").and_then(length_px), root.attribute("height").and_then(length_px));
        let (width, height) = match (w_attr, h_attr, view_box_attr) {
            (Some(w), Some(h), _) => (w, h),
            (Some(w), None, Some(vb)) => (w, vb[3] * w / vb[2]),
            (None, Some(h), Some(vb)) => (vb[2] * h / vb[3], h),
            _ => (f64::from(size.width()), f64::from(size.height())),
        };
        let view_box = view_box_attr.unwrap_or([0.0, 0.0, width, height]);
        let aspect = root.attribute("preserveAspectRatio").unwrap_or("xMidYMid meet");
        let (scale, translate) = fit_view_box(view_box, [width, height], aspect);
        Ok(Self { view_box, scale, translate, size_px: [width, height] })
    }

    /// The viewport (what a renderer shows) in mm: everything outside it is clipped away.
    fn visible_area(&self, world: Affine) -> Clip {
        let [w, h] = self.size_px;
        let corners = [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]].map(|[x, y]| {
            let p = world * kurbo::Point::new(x, y);
            [p.x, p.y]
        });
        let area = geom::simplify(&[corners.to_vec()], FillRule::NonZero);
        // `world` only scales and flips, so the viewport stays an axis-aligned rectangle.
        let rect = geom::bounds(area.iter().flatten());
        Clip { area, rect }
    }

    /// Returns the placement (viewBox units to mm), the world transform (px to mm) and the
    /// viewBox's size in mm.
    fn placement(&self, options: &ImportOptions) -> Result<(Affine, Affine, [f64; 2])> {
        let [x, y, w, h] = self.view_box;
        let px_w = w * self.scale[0];
        let px_h = h * self.scale[1];
        let fits = [
            options.diameter_mm.map(|d| d / px_w.max(px_h)),
            options.width_mm.map(|w| w / px_w),
            options.height_mm.map(|h| h / px_h),
        ];
        let k = fits.into_iter().flatten().reduce(f64::min).unwrap_or(1.0 / PX_PER_MM);
        if !(k.is_finite() && k > 0.0 && (px_w.max(px_h) * k).is_finite()) {
            return Err(Error::BadSize("the size is zero or not finite".into()));
        }
        if px_w.max(px_h) * k > 10_000.0 {
            return Err(Error::BadSize(format!("{:.0} mm across is larger than any die", px_w.max(px_h) * k)));
        }
        let cx = (x + w / 2.0) * self.scale[0] + self.translate[0];
        let cy = (y + h / 2.0) * self.scale[1] + self.translate[1];
        let world = Affine::new([k, 0.0, 0.0, -k, -k * cx, k * cy]);
        let view_to_px = Affine::new([self.scale[0], 0.0, 0.0, self.scale[1], self.translate[0], self.translate[1]]);
        Ok((world * view_to_px, world, [px_w * k, px_h * k]))
    }
}

/// An absolute SVG length in CSS px (96 per inch), or `None` for percentages and junk.
fn length_px(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text.find(|c: char| c.is_ascii_alphabetic() || c == '%').unwrap_or(text.len());
    let value: f64 = text[..split].trim().parse().ok()?;
    let per_unit = match text[split..].trim() {
        "" | "px" => 1.0,
        "mm" => PX_PER_MM,
        "cm" => 10.0 * PX_PER_MM,
        "in" => 96.0,
        "pt" => 96.0 / 72.0,
        "pc" => 16.0,
        _ => return None,
    };
    let px = value * per_unit;
    (px.is_finite() && px > 0.0).then_some(px)
}

/// Splits an SVG number list (`"0 0, 40 40"`).
fn parse_numbers(s: &str) -> Vec<f64> {
    s.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<f64>().unwrap_or(f64::NAN))
        .filter(|v| v.is_finite())
        .collect()
}

/// The viewBox-to-viewport mapping of SVG's `preserveAspectRatio`.
fn fit_view_box(view_box: [f64; 4], size: [f64; 2], aspect: &str) -> ([f64; 2], [f64; 2]) {
    let [x, y, w, h] = view_box;
    let mut sx = size[0] / w;
    let mut sy = size[1] / h;
    let mut words = aspect.split_whitespace();
    let align = words.next().unwrap_or("xMidYMid");
    let slice = words.next() == Some("slice");
    if align != "none" {
        let s = if slice { sx.max(sy) } else { sx.min(sy) };
        sx = s;
        sy = s;
    }
    let fraction = |key_min: &str, key_mid: &str| {
        if align.contains(key_min) {
            0.0
        } else if align.contains(key_mid) {
            0.5
        } else {
            1.0
        }
    };
    let (fx, fy) = if align == "none" { (0.0, 0.0) } else { (fraction("xMin", "xMid"), fraction("YMin", "YMid")) };
    let tx = -x * sx + (size[0] - w * sx) * fx;
    let ty = -y * sy + (size[1] - h * sy) * fy;
    ([sx, sy], [tx, ty])
}

/// Walks the usvg tree and collects shapes.
struct Importer<'a> {
    world: Affine,
    tolerance_mm: f64,
    /// The area the current group may paint, in mm (`None`: everywhere).
    clip: Option<Arc<Clip>>,
    /// What the XML says about each element.
    elements: Elements,
    /// usvg ids of the enclosing groups, outermost first.
    groups: Vec<String>,
    /// usvg id of the text whose glyphs are being walked.
    text: Option<String>,
    /// The font families available (bundled and `fonts`).
    families: Vec<String>,
    shapes: Vec<Pending<'a>>,
    texts: Vec<TextRun>,
    warnings: Vec<Warning>,
}

impl<'a> Importer<'a> {
    fn group(&mut self, group: &'a usvg::Group) {
        // A transparent group paints nothing (usvg also wraps `opacity` on a shape in one).
        if group.opacity().get() == 0.0 {
            return;
        }
        let saved = self.clip.clone();
        if let Some(clip) = group.clip_path() {
            let area = self.clip_area(clip, self.world * to_affine(group.abs_transform()));
            self.narrow_clip(area);
        }
        if let Some(mask) = group.mask() {
            self.warn(
                WarningKind::Approximated,
                group.id(),
                "mask: its painted area is used as a clip (grey levels and opacity are not)",
            );
            let area = self.mask_area(mask, self.world * to_affine(group.abs_transform()));
            self.narrow_clip(area);
        }
        self.groups.push(group.id().to_string());
        self.group_children(group);
        self.groups.pop();
        self.clip = saved;
    }

    /// Restricts what the current group may paint to `area` as well.
    fn narrow_clip(&mut self, area: Shapes) {
        let area = match &self.clip {
            Some(outer) => geom::intersect(&outer.area, &area),
            None => area,
        };
        self.clip = Some(Arc::new(Clip { area, rect: None }));
    }

    /// The area a clip path lets through, in mm: the union of its shapes (each with its
    /// clip-rule), intersected with the clip path's own clip path. `base` maps the clipped
    /// element's user space to mm.
    fn clip_area(&self, clip: &usvg::ClipPath, base: Affine) -> Shapes {
        let inner = base * to_affine(clip.transform());
        let mut area = self.clip_group_area(clip.root(), inner);
        if let Some(outer) = clip.clip_path() {
            area = geom::intersect(&area, &self.clip_area(outer, base));
        }
        area
    }

    /// The area a mask paints at all, in mm, within its mask region and its own mask.
    fn mask_area(&self, mask: &usvg::Mask, base: Affine) -> Shapes {
        let r = mask.rect();
        let region: Vec<Contour> =
            vec![[[r.left(), r.top()], [r.right(), r.top()], [r.right(), r.bottom()], [r.left(), r.bottom()]]
                .map(|[x, y]| {
                    let p = base * kurbo::Point::new(f64::from(x), f64::from(y));
                    [p.x, p.y]
                })
                .to_vec()];
        let mut area =
            geom::intersect(&self.clip_group_area(mask.root(), base), &geom::simplify(&region, FillRule::NonZero));
        if let Some(inner) = mask.mask() {
            area = geom::intersect(&area, &self.mask_area(inner, base));
        }
        area
    }

    fn clip_group_area(&self, group: &usvg::Group, base: Affine) -> Shapes {
        let mut parts: Shapes = Vec::new();
        for node in group.children() {
            match node {
                usvg::Node::Group(g) => {
                    let mut area = self.clip_group_area(g, base);
                    if let Some(clip) = g.clip_path() {
                        area = geom::intersect(&area, &self.clip_area(clip, base * to_affine(g.abs_transform())));
                    }
                    parts.extend(area);
                }
                usvg::Node::Path(p) if p.is_visible() => {
                    let rule = p.fill().map_or(FillRule::NonZero, |f| match f.rule() {
                        usvg::FillRule::NonZero => FillRule::NonZero,
                        usvg::FillRule::EvenOdd => FillRule::EvenOdd,
                    });
                    let path = base * to_affine(p.abs_transform()) * to_bez(p.data());
                    let b = path.bounding_box();
                    if !(b.width().is_finite() && b.height().is_finite()) || b.width().max(b.height()) > MAX_SHAPE_MM {
                        // A clip shape this large lets everything near the die through.
                        // Half the limit: the polygon grid (2^16 per mm, i32) must hold it.
                        let m = MAX_SHAPE_MM / 2.0;
                        parts.push(vec![vec![[-m, -m], [m, -m], [m, m], [-m, m]]]);
                        continue;
                    }
                    let contours = flatten(&path, self.tolerance_mm);
                    parts.extend(geom::simplify(&contours, rule));
                }
                usvg::Node::Text(t) => parts.extend(self.clip_group_area(t.flattened(), base)),
                _ => {}
            }
        }
        geom::union(&parts)
    }

    fn group_children(&mut self, group: &'a usvg::Group) {
        if !group.filters().is_empty() {
            self.warn(WarningKind::Unsupported, group.id(), "filters are ignored");
        }
        for node in group.children() {
            match node {
                usvg::Node::Group(g) => self.group(g),
                usvg::Node::Path(p) => self.path(p),
                usvg::Node::Image(_) => {}
                usvg::Node::Text(t) => {
                    self.texts.push(text_run(t, self.elements.name(t.id()), &self.families));
                    let before = self.shapes.len();
                    let outer = self.text.replace(t.id().to_string());
                    self.group(t.flattened());
                    self.text = outer;
                    if self.shapes.len() == before {
                        self.warn(WarningKind::Unsupported, t.id(), "text produced no glyph outlines and was skipped");
                    }
                }
            }
        }
    }

    fn path(&mut self, path: &'a usvg::Path) {
        if !path.is_visible() {
            return;
        }
        let transform = self.world * to_affine(path.abs_transform());
        let local = path.data();
        // usvg's own bounds of the path, which it found exactly (`abs_` ones include skews).
        let b = path.abs_bounding_box();
        let user_bounds = kurbo::Rect::new(b.left().into(), b.top().into(), b.right().into(), b.bottom().into());
        let bounds = self.world.transform_rect_bbox(user_bounds);
        let fill = path.fill().map(|fill| {
            let rule = match fill.rule() {
                usvg::FillRule::NonZero => FillRule::NonZero,
                usvg::FillRule::EvenOdd => FillRule::EvenOdd,
            };
            (fill.paint(), f64::from(fill.opacity().get()), rule)
        });
        let stroke = path.stroke().map(|stroke| (stroke.paint(), f64::from(stroke.opacity().get()), stroke));
        let fill_part = |me: &mut Self| {
            if let Some((paint, opacity, rule)) = fill {
                if opacity > 0.0 {
                    me.push(path.id(), paint, bounds, Geometry::Fill { local, rule, transform });
                }
            }
        };
        let stroke_part = |me: &mut Self| {
            if let Some((paint, opacity, stroke)) = stroke {
                if opacity > 0.0 {
                    let style = stroke_style(stroke);
                    let clip_miters = stroke.linejoin() == usvg::LineJoin::MiterClip;
                    me.push(path.id(), paint, bounds, Geometry::Stroke { local, style, clip_miters, transform });
                }
            }
        };
        match path.paint_order() {
            usvg::PaintOrder::FillAndStroke => {
                fill_part(self);
                stroke_part(self);
            }
            usvg::PaintOrder::StrokeAndFill => {
                stroke_part(self);
                fill_part(self);
            }
        }
    }

    /// Queues a fill or stroke of a path whose fill covers `bounds` (in mm).
    fn push(&mut self, id: &str, paint: &usvg::Paint, bounds: kurbo::Rect, geometry: Geometry<'a>) {
        let bounds = match &geometry {
            Geometry::Fill { .. } => bounds,
            Geometry::Stroke { style, transform, .. } => {
                let grow = style.width * transform_scale(*transform);
                bounds.inflate(grow, grow)
            }
        };
        if !(bounds.width().is_finite() && bounds.height().is_finite())
            || bounds.width().max(bounds.height()) > MAX_SHAPE_MM
        {
            self.warn(WarningKind::Unsupported, id, "the shape is larger than 10 m and was skipped");
            return;
        }
        if let Some(r) = self.clip.as_ref().and_then(|c| c.rect) {
            if bounds.x1 < r[0] || bounds.y1 < r[1] || bounds.x0 > r[2] || bounds.y0 > r[3] {
                return; // wholly outside the viewport: nothing to see
            }
        }
        let geometry = match geometry {
            Geometry::Stroke { local, mut style, clip_miters, transform }
                if dash_gaps_closed(&style, transform, self.tolerance_mm) =>
            {
                self.warn(
                    WarningKind::Approximated,
                    id,
                    "the dash gaps are narrower than the tolerance once capped: stroked solid",
                );
                style.dash_pattern.clear();
                Geometry::Stroke { local, style, clip_miters, transform }
            }
            Geometry::Stroke { local, mut style, clip_miters, transform } if too_many_dashes(local, &style) => {
                self.warn(
                    WarningKind::Approximated,
                    id,
                    "the dash pattern would make over 100,000 dashes: stroked solid",
                );
                style.dash_pattern.clear();
                Geometry::Stroke { local, style, clip_miters, transform }
            }
            other => other,
        };
        // usvg clears the ids of the shapes a <use> clones: fall back to what the <use> shows.
        let shown_by_use = || self.groups.last().and_then(|g| self.elements.get(g)).and_then(|e| e.href.clone());
        let id = match (&self.text, id.is_empty()) {
            (Some(text), true) => text.clone(),
            (None, true) => shown_by_use().unwrap_or_default(),
            _ => id.to_string(),
        };
        let element = self.elements.get(&id).cloned().unwrap_or_default();
        let ancestors: Vec<String> = self
            .groups
            .iter()
            .filter_map(|g| self.elements.get(g))
            .map(|e| e.id.clone())
            .filter(|id| !id.is_empty())
            .collect();
        let layer = self.groups.iter().rev().find_map(|g| self.elements.get(g).and_then(|e| e.layer.clone()));
        let id = id.as_str();
        let color = match paint {
            usvg::Paint::Color(c) => format!("#{:02x}{:02x}{:02x}", c.red, c.green, c.blue),
            usvg::Paint::LinearGradient(g) => self.gradient_color(id, g.stops()),
            usvg::Paint::RadialGradient(g) => self.gradient_color(id, g.stops()),
            usvg::Paint::Pattern(_) => {
                self.warn(WarningKind::Approximated, id, "pattern fill: engraved as a plain black fill");
                "#000000".into()
            }
        };
        let shape =
            ArtShape { id: element.id, classes: element.classes, ancestors, layer, color, polygons: Vec::new() };
        self.shapes.push(Pending { shape, geometry, clip: self.clip.clone() });
    }

    fn gradient_color(&mut self, id: &str, stops: &[usvg::Stop]) -> String {
        self.warn(WarningKind::Approximated, id, "gradient fill: engraved with the colour of its first stop");
        stops.first().map_or_else(
            || "#000000".into(),
            |s| format!("#{:02x}{:02x}{:02x}", s.color().red, s.color().green, s.color().blue),
        )
    }

    fn warn(&mut self, kind: WarningKind, element: &str, reason: &str) {
        let name = if element.is_empty() { String::new() } else { self.elements.name(element) };
        self.warnings.push(Warning::new(kind, &name, reason));
    }
}

/// The geometry of one pending shape, resolved to polygons in parallel.
#[derive(Debug)]
enum Geometry<'a> {
    /// A fill: the path in its own coordinates, its fill rule, and the transform to mm.
    Fill { local: &'a usvg::tiny_skia_path::Path, rule: FillRule, transform: Affine },
    /// A stroke: the path in its own coordinates (where the width is defined), the style,
    /// whether its joins are `miter-clip` (`style` says `miter`), and the transform to mm.
    Stroke { local: &'a usvg::tiny_skia_path::Path, style: kurbo::Stroke, clip_miters: bool, transform: Affine },
}

/// The area a group may paint: polygons, and the rectangle they are when they are one.
#[derive(Debug, Clone)]
struct Clip {
    area: Shapes,
    /// `[min_x, min_y, max_x, max_y]` when `area` is exactly this axis-aligned rectangle.
    rect: Option<[f64; 4]>,
}

/// A shape whose metadata is known and whose polygons are still to be computed.
#[derive(Debug)]
struct Pending<'a> {
    shape: ArtShape,
    geometry: Geometry<'a>,
    clip: Option<Arc<Clip>>,
}

impl Pending<'_> {
    /// Flattens, outlines, normalises and clips; `None` when nothing remains.
    fn resolve(self, tolerance_mm: f64) -> Option<ArtShape> {
        let mut polygons = match &self.geometry {
            Geometry::Fill { local, rule, transform } => {
                geom::simplify(&flatten(&(*transform * to_bez(local)), tolerance_mm), *rule)
            }
            Geometry::Stroke { local, style, clip_miters, transform } => {
                stroke::area(&to_bez(local), style, *clip_miters, *transform, tolerance_mm)
            }
        };
        if let Some(clip) = &self.clip {
            let inside = match (clip.rect, geom::bounds(polygons.iter().flatten())) {
                (Some(r), Some(b)) => b[0] >= r[0] && b[1] >= r[1] && b[2] <= r[2] && b[3] <= r[3],
                _ => false,
            };
            if !inside {
                polygons = geom::intersect(&polygons, &clip.area);
            }
        }
        (!polygons.is_empty()).then_some(ArtShape { polygons, ..self.shape })
    }
}

/// Shapes larger than this (mm across) are skipped: no die is, and flattening one within
/// microns would need unbounded memory (found by fuzzing: `scale(1e30)`).
const MAX_SHAPE_MM: f64 = 10_000.0;

/// Most dashes a stroke is cut into; a finer pattern is stroked solid.
const MAX_DASHES: f64 = 100_000.0;

fn transform_scale(t: Affine) -> f64 {
    let [a, b, c, d, _, _] = t.as_coeffs();
    a.hypot(b).max(c.hypot(d))
}

/// Whether the dash pattern would cut `path` into more than [`MAX_DASHES`] dashes.
fn too_many_dashes(path: &usvg::tiny_skia_path::Path, style: &kurbo::Stroke) -> bool {
    use kurbo::ParamCurveArclen as _;
    if style.dash_pattern.is_empty() {
        return false;
    }
    let period: f64 = style.dash_pattern.iter().sum();
    let length: f64 = to_bez(path).segments().map(|s| s.arclen(1e-3)).sum();
    period.is_nan() || period <= 0.0 || length / period > MAX_DASHES
}

/// Whether every gap of the dash pattern, less what the caps of its two dashes reach into it,
/// is narrower than `tolerance_mm` at final size: the dashes then paint the solid stroke within
/// tolerance. Outlining each dash instead means thousands of overlapping outlines whose union
/// needs gigabytes (found by fuzzing: `stroke-dasharray="0.001"` on a 6-wide round-capped line).
fn dash_gaps_closed(style: &kurbo::Stroke, transform: Affine, tolerance_mm: f64) -> bool {
    if style.dash_pattern.is_empty() {
        return false;
    }
    let cap_reach = match style.start_cap {
        kurbo::Cap::Butt => 0.0,
        kurbo::Cap::Round | kurbo::Cap::Square => style.width,
    };
    // Gaps are the odd entries; an odd-length pattern repeats twice over, so every entry is a
    // gap once.
    let step = if style.dash_pattern.len().is_multiple_of(2) { 2 } else { 1 };
    let skip = if step == 2 { 1 } else { 0 };
    let widest_gap = style.dash_pattern.iter().skip(skip).step_by(step).fold(0.0f64, |m, &v| m.max(v));
    (widest_gap - cap_reach) * transform_scale(transform) <= tolerance_mm
}

/// kurbo's stroke style for a usvg stroke. SVG 2's `miter-clip` join has no kurbo
/// counterpart: it is `miter` here, and [`stroke::area`] clips the joins past the limit.
fn stroke_style(stroke: &usvg::Stroke) -> kurbo::Stroke {
    let join = match stroke.linejoin() {
        usvg::LineJoin::Miter | usvg::LineJoin::MiterClip => kurbo::Join::Miter,
        usvg::LineJoin::Round => kurbo::Join::Round,
        usvg::LineJoin::Bevel => kurbo::Join::Bevel,
    };
    let cap = match stroke.linecap() {
        usvg::LineCap::Butt => kurbo::Cap::Butt,
        usvg::LineCap::Round => kurbo::Cap::Round,
        usvg::LineCap::Square => kurbo::Cap::Square,
    };
    let mut style = kurbo::Stroke::new(f64::from(stroke.width().get()))
        .with_join(join)
        .with_caps(cap)
        .with_miter_limit(f64::from(stroke.miterlimit().get()));
    if let Some(dashes) = stroke.dasharray() {
        style = style.with_dashes(f64::from(stroke.dashoffset()), dashes.iter().map(|&v| f64::from(v)));
    }
    style
}

fn text_run(text: &usvg::Text, element: String, families: &[String]) -> TextRun {
    let family = text.chunks().first().and_then(|c| c.spans().first()).and_then(|s| s.font().families().first());
    let (requested_font, font) = match family {
        Some(usvg::FontFamily::Named(name)) if families.contains(name) => (name.clone(), name.clone()),
        Some(usvg::FontFamily::Named(name)) => (name.clone(), "DejaVu Sans".to_string()),
        Some(usvg::FontFamily::Serif) => ("serif".into(), "DejaVu Serif".into()),
        Some(usvg::FontFamily::Monospace) => ("monospace".into(), "DejaVu Sans Mono".into()),
        Some(other) => (other.to_string(), "DejaVu Sans".into()),
        None => (String::new(), "DejaVu Sans".into()),
    };
    let characters: String = text.chunks().iter().map(usvg::TextChunk::text).collect();
    TextRun { element, text: characters, requested_font, font }
}

fn to_affine(t: usvg::Transform) -> Affine {
    Affine::new([t.sx, t.ky, t.kx, t.sy, t.tx, t.ty].map(f64::from))
}

fn to_bez(path: &usvg::tiny_skia_path::Path) -> BezPath {
    let pt = |p: usvg::tiny_skia_path::Point| kurbo::Point::new(f64::from(p.x), f64::from(p.y));
    let mut bez = BezPath::new();
    for segment in path.segments() {
        match segment {
            PathSegment::MoveTo(p) => bez.move_to(pt(p)),
            PathSegment::LineTo(p) => bez.line_to(pt(p)),
            PathSegment::QuadTo(p1, p) => bez.quad_to(pt(p1), pt(p)),
            PathSegment::CubicTo(p1, p2, p) => bez.curve_to(pt(p1), pt(p2), pt(p)),
            PathSegment::Close => bez.close_path(),
        }
    }
    bez
}

/// Flattens a path into closed contours (open subpaths are closed, as a fill would).
fn flatten(path: &BezPath, tolerance: f64) -> Vec<Contour> {
    let mut contours: Vec<Contour> = Vec::new();
    let mut current: Contour = Vec::new();
    kurbo::flatten(path.iter(), tolerance, |el| match el {
        PathEl::MoveTo(p) => {
            if current.len() > 2 {
                contours.push(std::mem::take(&mut current));
            }
            current.clear();
            current.push([p.x, p.y]);
        }
        PathEl::LineTo(p) => current.push([p.x, p.y]),
        PathEl::ClosePath => {
            if current.len() > 2 {
                contours.push(current.clone());
            }
            current.truncate(1);
        }
        PathEl::QuadTo(..) | PathEl::CurveTo(..) => unreachable!("kurbo::flatten only emits lines"),
    });
    if current.len() > 2 {
        contours.push(current);
    }
    contours.retain(|c| c.iter().all(|p| p[0].is_finite() && p[1].is_finite()));
    contours
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import_str(svg: &str) -> Artwork {
        import(svg.as_bytes(), &ImportOptions::default()).expect("imports")
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
        let expected = geom::shapes_area(&geom::intersect(&star.shapes[0].polygons, &circle.shapes[0].polygons));
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
