//! The root viewport: the viewBox, and how it maps onto the SVG's size and the size asked for.

use i_overlay::core::fill_rule::FillRule;
use kurbo::Affine;

use super::importer::Clip;
use super::{ImportOptions, PX_PER_MM};
use crate::error::{Error, Result};
use crate::geom;

/// The root viewport: viewBox, its mapping to the SVG's size in px.
pub(super) struct Viewport {
    /// `[x, y, width, height]` in user units.
    pub(super) view_box: [f64; 4],
    /// Scale from user units to px, per axis.
    pub(super) scale: [f64; 2],
    /// Translation from user units to px.
    pub(super) translate: [f64; 2],
    /// The viewport's width and height in px.
    pub(super) size_px: [f64; 2],
}

impl Viewport {
    pub(super) fn read(doc: &usvg::roxmltree::Document<'_>, tree: &usvg::Tree) -> Result<Self> {
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
    pub(super) fn visible_area(&self, world: Affine) -> Result<Clip> {
        let [w, h] = self.size_px;
        let corners = [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]].map(|[x, y]| {
            let p = world * kurbo::Point::new(x, y);
            [p.x, p.y]
        });
        let area = geom::simplify(&[corners.to_vec()], FillRule::NonZero)
            .map_err(|source| Error::Geometry { at: "the viewport".into(), source })?;
        // `world` only scales and flips, so the viewport stays an axis-aligned rectangle.
        let rect = geom::bounds(area.iter().flatten());
        Ok(Clip { area, rect })
    }

    /// Returns the placement (viewBox units to mm), the world transform (px to mm) and the
    /// viewBox's size in mm.
    pub(super) fn placement(&self, options: &ImportOptions) -> Result<(Affine, Affine, [f64; 2])> {
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
pub(super) fn length_px(text: &str) -> Option<f64> {
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
pub(super) fn parse_numbers(s: &str) -> Vec<f64> {
    s.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<f64>().unwrap_or(f64::NAN))
        .filter(|v| v.is_finite())
        .collect()
}

/// The viewBox-to-viewport mapping of SVG's `preserveAspectRatio`.
pub(super) fn fit_view_box(view_box: [f64; 4], size: [f64; 2], aspect: &str) -> ([f64; 2], [f64; 2]) {
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
