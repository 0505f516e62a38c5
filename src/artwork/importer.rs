//! The walk over usvg's tree: every filled and stroked path, clip and text run, each with
//! its depth selectors, resolved to polygons in millimetres; what cannot be taken becomes a
//! warning naming its element.

use std::sync::Arc;

use i_overlay::core::fill_rule::FillRule;
use kurbo::{Affine, BezPath, PathEl, Shape as _};
use usvg::tiny_skia_path::PathSegment;

use super::centreline::{self, Centreline};
use super::elements::Elements;
use super::{stroke, ArtShape, TextRun};
use crate::geom::{self, Contour, Shapes};
use crate::{Warning, WarningKind};

/// Walks the usvg tree and collects shapes.
pub(super) struct Importer<'a> {
    pub(super) world: Affine,
    pub(super) tolerance_mm: f64,
    /// [`super::ImportOptions::min_opacity`].
    pub(super) min_opacity: f64,
    /// The opacity of the enclosing groups, multiplied.
    pub(super) opacity: f64,
    /// The area the current group may paint, in mm (`None`: everywhere).
    pub(super) clip: Option<Arc<Clip>>,
    /// What the XML says about each element.
    pub(super) elements: Elements,
    /// usvg ids of the enclosing groups, outermost first.
    pub(super) groups: Vec<String>,
    /// usvg id of the text whose glyphs are being walked.
    pub(super) text: Option<String>,
    /// The font families available (bundled and `fonts`).
    pub(super) families: Vec<String>,
    pub(super) shapes: Vec<Pending<'a>>,
    pub(super) texts: Vec<TextRun>,
    pub(super) warnings: Vec<Warning>,
    /// What of [`MAX_DASHES`] and [`MAX_POINTS`] the shapes so far left.
    pub(super) budget: Budget,
    /// The first shape past [`MAX_POINTS`]: the import stops there.
    pub(super) too_many_points: Option<String>,
}

/// The dashes and outline points the shapes queued so far may still make.
#[derive(Debug, Clone, Copy)]
pub(super) struct Budget {
    pub(super) dashes: f64,
    pub(super) points: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Self { dashes: MAX_DASHES, points: MAX_POINTS }
    }
}

impl<'a> Importer<'a> {
    pub(super) fn group(&mut self, group: &'a usvg::Group) {
        // A transparent group paints nothing (usvg also wraps `opacity` on a shape in one).
        if group.opacity().get() == 0.0 {
            return;
        }
        let saved = self.clip.clone();
        if group.mask().is_some() {
            self.warn(
                WarningKind::Approximated,
                group.id(),
                "mask: its painted area is used as a clip (grey levels and opacity are not)",
            );
        }
        if let Err(e) = self.narrow_to_clip_and_mask(group) {
            self.warn(
                WarningKind::Unsupported,
                group.id(),
                &format!("{e} in its clip path or mask: the group was skipped"),
            );
            self.clip = saved;
            return;
        }
        self.groups.push(group.id().to_string());
        let opacity = self.opacity;
        self.opacity *= f64::from(group.opacity().get());
        self.group_children(group);
        self.opacity = opacity;
        self.groups.pop();
        self.clip = saved;
    }

    /// Whether a fill or stroke (`what`) of `opacity`, with its groups', covers what lies
    /// below: not at all when invisible, as if solid from `min_opacity` up; a warning names
    /// a translucent one either way.
    fn covers(&mut self, id: &str, what: &str, opacity: f64) -> bool {
        let opacity = opacity * self.opacity;
        if opacity <= 0.0 {
            return false;
        }
        if opacity >= 1.0 {
            return true;
        }
        let percent = (opacity * 100.0).round();
        let min = self.min_opacity;
        let covers = opacity >= min;
        let reason = if covers {
            format!("{what} at {percent} % opacity covers what lies below as if solid (min-opacity {min})")
        } else {
            format!("{what} at {percent} % opacity is left out: the colour below shows (min-opacity {min})")
        };
        self.warn(WarningKind::Approximated, id, &reason);
        covers
    }

    /// Restricts what `group` may paint to its clip path and its mask as well.
    fn narrow_to_clip_and_mask(&mut self, group: &usvg::Group) -> geom::Result<()> {
        let base = self.world * to_affine(group.abs_transform());
        if let Some(clip) = group.clip_path() {
            let area = self.clip_area(clip, base)?;
            self.narrow_clip(area)?;
        }
        if let Some(mask) = group.mask() {
            let area = self.mask_area(mask, base)?;
            self.narrow_clip(area)?;
        }
        Ok(())
    }

    /// Restricts what the current group may paint to `area` as well.
    pub(super) fn narrow_clip(&mut self, area: Shapes) -> geom::Result<()> {
        let area = match &self.clip {
            Some(outer) => geom::intersect(&outer.area, &area)?,
            None => area,
        };
        self.clip = Some(Arc::new(Clip { area, rect: None }));
        Ok(())
    }

    /// The area a clip path lets through, in mm: the union of its shapes (each with its
    /// clip-rule), intersected with the clip path's own clip path. `base` maps the clipped
    /// element's user space to mm.
    pub(super) fn clip_area(&self, clip: &usvg::ClipPath, base: Affine) -> geom::Result<Shapes> {
        let inner = base * to_affine(clip.transform());
        let mut area = self.clip_group_area(clip.root(), inner)?;
        if let Some(outer) = clip.clip_path() {
            area = geom::intersect(&area, &self.clip_area(outer, base)?)?;
        }
        Ok(area)
    }

    /// The area a mask paints at all, in mm, within its mask region and its own mask.
    pub(super) fn mask_area(&self, mask: &usvg::Mask, base: Affine) -> geom::Result<Shapes> {
        let r = mask.rect();
        let region: Vec<Contour> =
            vec![[[r.left(), r.top()], [r.right(), r.top()], [r.right(), r.bottom()], [r.left(), r.bottom()]]
                .map(|[x, y]| {
                    let p = base * kurbo::Point::new(f64::from(x), f64::from(y));
                    [p.x, p.y]
                })
                .to_vec()];
        let mut area =
            geom::intersect(&self.clip_group_area(mask.root(), base)?, &geom::simplify(&region, FillRule::NonZero)?)?;
        if let Some(inner) = mask.mask() {
            area = geom::intersect(&area, &self.mask_area(inner, base)?)?;
        }
        Ok(area)
    }

    pub(super) fn clip_group_area(&self, group: &usvg::Group, base: Affine) -> geom::Result<Shapes> {
        let mut parts: Shapes = Vec::new();
        for node in group.children() {
            match node {
                usvg::Node::Group(g) => {
                    let mut area = self.clip_group_area(g, base)?;
                    if let Some(clip) = g.clip_path() {
                        area = geom::intersect(&area, &self.clip_area(clip, base * to_affine(g.abs_transform()))?)?;
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
                    parts.extend(geom::simplify(&contours, rule)?);
                }
                usvg::Node::Text(t) => parts.extend(self.clip_group_area(t.flattened(), base)?),
                _ => {}
            }
        }
        geom::union(&parts)
    }

    pub(super) fn group_children(&mut self, group: &'a usvg::Group) {
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

    pub(super) fn path(&mut self, path: &'a usvg::Path) {
        let transform = self.world * to_affine(path.abs_transform());
        let local = path.data();
        // usvg's own bounds of the path, which it found exactly (`abs_` ones include skews).
        let b = path.abs_bounding_box();
        let user_bounds = kurbo::Rect::new(b.left().into(), b.top().into(), b.right().into(), b.bottom().into());
        let bounds = self.world.transform_rect_bbox(user_bounds);
        if !path.is_visible() {
            // With neither a fill nor a stroke width, a path is a hairline: a line to engrave
            // along, painting nothing. One made invisible on purpose is not.
            let hidden = self.elements.get(path.id()).is_some_and(|e| e.hidden);
            if path.fill().is_none() && path.stroke().is_none() && !hidden && self.opacity > 0.0 {
                self.push(path.id(), None, bounds, Geometry::Hairline { local, transform });
            }
            return;
        }
        let fill = path.fill().map(|fill| {
            let rule = match fill.rule() {
                usvg::FillRule::NonZero => FillRule::NonZero,
                usvg::FillRule::EvenOdd => FillRule::EvenOdd,
            };
            (fill.paint(), f64::from(fill.opacity().get()), rule)
        });
        let stroke = path.stroke().map(|stroke| (stroke.paint(), f64::from(stroke.opacity().get()), stroke));
        // The element the warning names: the path, else the innermost group with an id.
        let id = if path.id().is_empty() {
            self.groups.iter().rev().find(|g| !g.is_empty()).cloned().unwrap_or_default()
        } else {
            path.id().to_string()
        };
        let fill_part = |me: &mut Self| {
            if let Some((paint, opacity, rule)) = fill {
                if me.covers(&id, "fill", opacity) {
                    let lines = stroke.is_none();
                    me.push(path.id(), Some(paint), bounds, Geometry::Fill { local, rule, transform, lines });
                }
            }
        };
        let stroke_part = |me: &mut Self| {
            if let Some((paint, opacity, stroke)) = stroke {
                if me.covers(&id, "stroke", opacity) {
                    let style = stroke_style(stroke);
                    let clip_miters = stroke.linejoin() == usvg::LineJoin::MiterClip;
                    let geometry = Geometry::Stroke { local, style, clip_miters, transform };
                    me.push(path.id(), Some(paint), bounds, geometry);
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

    /// Queues a fill, stroke or hairline of a path whose fill covers `bounds` (in mm); a
    /// hairline has no `paint`.
    pub(super) fn push(&mut self, id: &str, paint: Option<&usvg::Paint>, bounds: kurbo::Rect, geometry: Geometry<'a>) {
        let bounds = match &geometry {
            Geometry::Fill { .. } | Geometry::Hairline { .. } => bounds,
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
        let Some(geometry) = self.within_budget(id, geometry) else { return };
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
            None => NO_PAINT.into(),
            Some(usvg::Paint::Color(c)) => format!("#{:02x}{:02x}{:02x}", c.red, c.green, c.blue),
            Some(usvg::Paint::LinearGradient(g)) => self.gradient_color(id, g.stops()),
            Some(usvg::Paint::RadialGradient(g)) => self.gradient_color(id, g.stops()),
            Some(usvg::Paint::Pattern(_)) => {
                self.warn(WarningKind::Approximated, id, "pattern fill: engraved as a plain black fill");
                "#000000".into()
            }
        };
        let (classes, polygons, centreline) = (element.classes, Vec::new(), None);
        let shape = ArtShape { id: element.id, classes, ancestors, layer, color, polygons, centreline };
        self.shapes.push(Pending { shape, geometry, clip: self.clip.clone() });
    }

    /// `geometry` as it is cut: stroked solid where its dash gaps close or its dashes would
    /// go past what is left of [`MAX_DASHES`]; `None` once the outlines go past
    /// [`MAX_POINTS`] (the import then stops, naming the element).
    fn within_budget(&mut self, id: &str, geometry: Geometry<'a>) -> Option<Geometry<'a>> {
        let mut dash_count = 0.0;
        let geometry = match geometry {
            Geometry::Stroke { local, mut style, clip_miters, transform } if !style.dash_pattern.is_empty() => {
                let count = dashes(local, &style);
                let solid = if dash_gaps_closed(&style, transform, self.tolerance_mm) {
                    Some("the dash gaps are narrower than the tolerance once capped: stroked solid")
                } else if count > self.budget.dashes {
                    Some("the dash patterns would make over 10,000 dashes in all: stroked solid")
                } else {
                    None
                };
                match solid {
                    Some(reason) => {
                        self.warn(WarningKind::Approximated, id, reason);
                        style.dash_pattern.clear();
                    }
                    None => dash_count = count,
                }
                Geometry::Stroke { local, style, clip_miters, transform }
            }
            other => other,
        };
        self.budget.dashes -= dash_count;
        if self.too_many_points.is_some() {
            return None;
        }
        match points(&geometry, self.tolerance_mm, self.budget.points, dash_count) {
            Some(n) => self.budget.points -= n,
            None => {
                self.too_many_points = Some(self.elements.name(id));
                return None;
            }
        }
        Some(geometry)
    }

    pub(super) fn gradient_color(&mut self, id: &str, stops: &[usvg::Stop]) -> String {
        self.warn(WarningKind::Approximated, id, "gradient fill: engraved with the colour of its first stop");
        stops.first().map_or_else(
            || "#000000".into(),
            |s| format!("#{:02x}{:02x}{:02x}", s.color().red, s.color().green, s.color().blue),
        )
    }

    pub(super) fn warn(&mut self, kind: WarningKind, element: &str, reason: &str) {
        let name = if element.is_empty() { String::new() } else { self.elements.name(element) };
        self.warnings.push(Warning::new(kind, &name, reason));
    }
}

/// The geometry of one pending shape, resolved to polygons in parallel.
#[derive(Debug)]
pub(super) enum Geometry<'a> {
    /// A fill: the path in its own coordinates, its fill rule, and the transform to mm; with
    /// `lines`, a fill that encloses nothing (a `<line>` or an open path drawn with no stroke)
    /// is a hairline.
    Fill { local: &'a usvg::tiny_skia_path::Path, rule: FillRule, transform: Affine, lines: bool },
    /// A stroke: the path in its own coordinates (where the width is defined), the style,
    /// whether its joins are `miter-clip` (`style` says `miter`), and the transform to mm.
    Stroke { local: &'a usvg::tiny_skia_path::Path, style: kurbo::Stroke, clip_miters: bool, transform: Affine },
    /// A path with neither a fill nor a stroke width, and the transform to mm: only a line.
    Hairline { local: &'a usvg::tiny_skia_path::Path, transform: Affine },
}

/// The colour of a shape with no paint: a hairline's.
pub const NO_PAINT: &str = "none";

/// The area a group may paint: polygons, and the rectangle they are when they are one.
#[derive(Debug, Clone)]
pub(super) struct Clip {
    pub(super) area: Shapes,
    /// `[min_x, min_y, max_x, max_y]` when `area` is exactly this axis-aligned rectangle.
    pub(super) rect: Option<[f64; 4]>,
}

/// A shape whose metadata is known and whose polygons are still to be computed.
#[derive(Debug)]
pub(super) struct Pending<'a> {
    pub(super) shape: ArtShape,
    pub(super) geometry: Geometry<'a>,
    pub(super) clip: Option<Arc<Clip>>,
}

impl Pending<'_> {
    /// Flattens, outlines, normalises and clips; `Ok(None)` when nothing remains, the shape's
    /// usvg id with the error when the polygon engine cannot hold it.
    pub(super) fn resolve(self, tolerance_mm: f64) -> Result<Option<ArtShape>, (String, geom::Unrepresentable)> {
        let id = self.shape.id.clone();
        self.polygons(tolerance_mm).map_err(|e| (id, e))
    }

    fn polygons(mut self, tolerance_mm: f64) -> geom::Result<Option<ArtShape>> {
        let mut hairline = matches!(self.geometry, Geometry::Hairline { .. });
        let (mut polygons, mut centreline) = match &self.geometry {
            Geometry::Fill { local, rule, transform, lines } => {
                let in_mm = *transform * to_bez(local);
                let path = thin_lines(&in_mm, tolerance_mm);
                let area = geom::simplify(&thin_out(flatten(&path, tolerance_mm)), *rule)?;
                if area.is_empty() && *lines {
                    let paths = centreline::polylines(&in_mm, tolerance_mm);
                    hairline = true;
                    (area, Some(Centreline { width_mm: 0.0, paths }))
                } else {
                    (area, None)
                }
            }
            Geometry::Stroke { local, style, clip_miters, transform } => {
                let area = stroke::area(&to_bez(local), style, *clip_miters, *transform, tolerance_mm)?;
                let width_mm = style.width * transform_scale(*transform);
                let line = if style.dash_pattern.is_empty() {
                    to_bez(local)
                } else {
                    BezPath::from_iter(kurbo::dash(to_bez(local).iter(), style.dash_offset, &style.dash_pattern))
                };
                let paths = centreline::polylines(&(*transform * line), tolerance_mm);
                (area, Some(Centreline { width_mm, paths }))
            }
            Geometry::Hairline { local, transform } => {
                let paths = centreline::polylines(&(*transform * to_bez(local)), tolerance_mm);
                (Vec::new(), Some(Centreline { width_mm: 0.0, paths }))
            }
        };
        if let Some(clip) = &self.clip {
            let within = |b: Option<[f64; 4]>| match (clip.rect, b) {
                (Some(r), Some(b)) => b[0] >= r[0] && b[1] >= r[1] && b[2] <= r[2] && b[3] <= r[3],
                _ => false,
            };
            if !polygons.is_empty() && !within(geom::bounds(polygons.iter().flatten())) {
                polygons = geom::intersect(&polygons, &clip.area)?;
            }
            if let Some(line) = centreline.as_mut() {
                if !within(geom::bounds(line.paths.iter().map(|p| &p.points))) {
                    line.paths = centreline::clip_lines(std::mem::take(&mut line.paths), &clip.area, true);
                }
            }
        }
        let centreline = centreline.filter(|c| !c.paths.is_empty());
        if hairline {
            NO_PAINT.clone_into(&mut self.shape.color);
        }
        Ok((!polygons.is_empty() || centreline.is_some()).then_some(ArtShape { polygons, centreline, ..self.shape }))
    }
}

/// Shapes larger than this (mm across) are skipped: no die is, and flattening one within
/// microns would need unbounded memory (found by fuzzing: `scale(1e30)`).
pub(super) const MAX_SHAPE_MM: f64 = 10_000.0;

/// Points of an outline nearer than this to the chord of their neighbours are dropped, in mm:
/// two steps of the polygon grid ([`geom::GRID_SCALE`]).
pub(super) const DENSE_POINTS_MM: f64 = 2.0 / geom::GRID_SCALE;

/// `path` with each run of straight segments reduced to the points Ramer-Douglas-Peucker
/// keeps at `tolerance` ([`geom::simplify_chain`]): the flattening share, which the lines
/// have not spent (curves spend it when flattened, lines never both). A polyline as dense as
/// its coordinates' rounding (a circle of a million segments, 63 nm long, to 4 decimals)
/// otherwise keeps every jitter, and each erosion of it splits every edge against
/// thousands of neighbours: minutes and 21 GB to plan.
pub(super) fn thin_lines(path: &BezPath, tolerance: f64) -> BezPath {
    let mut out = BezPath::new();
    let mut run: Vec<geom::Point> = Vec::new();
    let mut start = [0.0, 0.0];
    let flush = |run: &mut Vec<geom::Point>, out: &mut BezPath| {
        for [x, y] in geom::simplify_chain(run, tolerance).into_iter().skip(1) {
            out.line_to((x, y));
        }
        run.clear();
    };
    for el in path.elements() {
        match *el {
            PathEl::LineTo(p) => {
                run.push([p.x, p.y]);
                continue;
            }
            _ => flush(&mut run, &mut out),
        }
        out.push(*el);
        if let PathEl::MoveTo(p) = *el {
            start = [p.x, p.y];
        }
        // After a close, the pen is back at the subpath's start.
        run.push(el.end_point().map_or(start, |end| [end.x, end.y]));
    }
    flush(&mut run, &mut out);
    out
}

/// `contours` without the points within [`DENSE_POINTS_MM`] of the chord of their
/// neighbours (Ramer-Douglas-Peucker), before the polygon engine normalises them: they add
/// nothing but work, and an outline of a million 63 nm steps made every erosion of it
/// quadratic (a 1,000,000-point circle took 21 GB and minutes to plan).
pub(super) fn thin_out(contours: Vec<Contour>) -> Vec<Contour> {
    let shapes: Shapes = contours.into_iter().map(|contour| vec![contour]).collect();
    geom::simplify_contours(&shapes, DENSE_POINTS_MM).into_iter().flatten().collect()
}

/// Most dashes the strokes of a document are cut into; a stroke whose dashes would go past it
/// is stroked solid. Each dash is an outline of its own, and unions of tens of thousands of
/// them take seconds to minutes: 200 strokes with 0.006 mm dashes made 16.7 million.
pub(super) const MAX_DASHES: f64 = 10_000.0;

/// Most points the outlines of a document's shapes may be flattened into (about 200 MB of
/// geometry through the booleans). A 1 MB file of circles a few metres across would make
/// hundreds of millions at the flattening tolerance.
pub(crate) const MAX_POINTS: usize = 2_000_000;

/// Accuracy of the path length that counts a stroke's dashes, in user units: the count only
/// decides whether there are more than [`MAX_DASHES`], far above any error of this.
const DASH_LENGTH_ACCURACY: f64 = 1e-3;

pub(super) fn transform_scale(t: Affine) -> f64 {
    let [a, b, c, d, _, _] = t.as_coeffs();
    a.hypot(b).max(c.hypot(d))
}

/// How many dashes the dash pattern cuts `path` into (0 without one; infinite for a pattern
/// that never advances).
pub(super) fn dashes(path: &usvg::tiny_skia_path::Path, style: &kurbo::Stroke) -> f64 {
    use kurbo::ParamCurveArclen as _;
    if style.dash_pattern.is_empty() {
        return 0.0;
    }
    let period: f64 = style.dash_pattern.iter().sum();
    if period.is_nan() || period <= 0.0 {
        return f64::INFINITY;
    }
    let length: f64 = to_bez(path).segments().map(|s| s.arclen(DASH_LENGTH_ACCURACY)).sum();
    let count = (length / period).ceil() * (style.dash_pattern.len() as f64 / 2.0).ceil();
    if count.is_nan() {
        f64::INFINITY
    } else {
        count
    }
}

/// How many points `geometry`, cut into `dashes` dashes, is flattened into at
/// `tolerance_mm`, or `None` past `limit` (counted segment by segment, so the count stops
/// there). A stroke counts both sides of its path, and four points a dash for the caps.
pub(super) fn points(geometry: &Geometry, tolerance_mm: f64, limit: usize, dashes: f64) -> Option<usize> {
    let (local, transform, sides) = match geometry {
        Geometry::Fill { local, transform, .. } => (*local, *transform, 1),
        Geometry::Stroke { local, transform, .. } => (*local, *transform, 2),
        Geometry::Hairline { local, transform } => (*local, *transform, 1),
    };
    let mut count = 4.0 * dashes;
    if count > limit as f64 {
        return None;
    }
    for segment in (transform * to_bez(local)).segments() {
        kurbo::flatten(segment.path_elements(tolerance_mm), tolerance_mm, |_| count += f64::from(sides));
        if count > limit as f64 {
            return None;
        }
    }
    Some(count as usize)
}

/// Whether every gap of the dash pattern, less what the caps of its two dashes reach into it,
/// is narrower than `tolerance_mm` at final size: the dashes then paint the solid stroke within
/// tolerance. Outlining each dash instead means thousands of overlapping outlines whose union
/// needs gigabytes (found by fuzzing: `stroke-dasharray="0.001"` on a 6-wide round-capped line).
pub(super) fn dash_gaps_closed(style: &kurbo::Stroke, transform: Affine, tolerance_mm: f64) -> bool {
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
pub(super) fn stroke_style(stroke: &usvg::Stroke) -> kurbo::Stroke {
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

pub(super) fn text_run(text: &usvg::Text, element: String, families: &[String]) -> TextRun {
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

pub(super) fn to_affine(t: usvg::Transform) -> Affine {
    Affine::new([t.sx, t.ky, t.kx, t.sy, t.tx, t.ty].map(f64::from))
}

pub(super) fn to_bez(path: &usvg::tiny_skia_path::Path) -> BezPath {
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
pub(super) fn flatten(path: &BezPath, tolerance: f64) -> Vec<Contour> {
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
