//! Pictures of a simulated die, as PNG: the die as cut, the medal it strikes, where it
//! departs from the depths asked for, and where two dies differ.
//!
//! A picture is at most [`MAX_SIDE_PX`] pixels on its longer side: each pixel stands for a
//! square of cells, its height their mean, and any marked cell (overcut, uncut, different)
//! marks it. Surfaces are lit from the upper left, as engravers light a relief, with their
//! true slopes: a die's walls stand out, its floors are flat.

use rayon::prelude::*;
use resvg::tiny_skia::{IntSize, Pixmap};

use super::Heightmap;
use crate::error::{Error, Result};

/// The longest side of a picture, in pixels.
pub const MAX_SIDE_PX: usize = 1600;

/// The metal a medal is struck in, for its picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Finish {
    /// Polished gold plating.
    #[default]
    Gold,
    /// Silver plating.
    Silver,
    /// Bright bronze.
    Bronze,
    /// Bronze with the recesses darkened, as an antique finish.
    Antique,
}

impl Finish {
    /// The finish named `name` (`gold`, `silver`, `bronze`, `antique`).
    #[must_use]
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "gold" => Some(Self::Gold),
            "silver" => Some(Self::Silver),
            "bronze" => Some(Self::Bronze),
            "antique" => Some(Self::Antique),
            _ => None,
        }
    }

    fn color(self) -> [f64; 3] {
        match self {
            Self::Gold => [0.93, 0.76, 0.33],
            Self::Silver => [0.80, 0.81, 0.84],
            Self::Bronze | Self::Antique => [0.76, 0.50, 0.28],
        }
    }
}

/// A mark over a picture: red, blue or the like, per cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Nothing to show.
    None,
    /// Cut deeper than asked, or deeper in the second die than in the first: red.
    Deeper,
    /// Left above what was asked, or shallower in the second die: blue.
    Shallower,
    /// Left above what was asked where no tool of the job could reach: pale blue.
    Unreachable,
}

/// The die as cut, in steel, as it sits on the machine (seen from above, X right).
///
/// # Errors
///
/// [`Error::Preview`] where the picture cannot be encoded.
pub fn die_png(hm: &Heightmap) -> Result<Vec<u8>> {
    let (w, h, heights, _) = sample(hm, None, false);
    let depth = heights.iter().copied().fold(0.0f64, f64::min).abs().max(1e-6);
    let pixels = shade(&heights, w, h, hm.cell_mm * step(hm) as f64, |k, light| {
        // Deeper is a little darker, so that levels read apart where they are flat.
        let tone = 0.85 - 0.25 * (-heights[k] / depth);
        let v = (tone * light).clamp(0.0, 1.0);
        [v * 0.92, v * 0.95, v]
    });
    encode(w, h, &pixels)
}

/// The medal the die strikes: the die's cut raised, un-mirrored where `mirrored` (a die's
/// design reads backwards), lit, in `finish`; with `enamel` (a colour or none per cell,
/// laid out like [`Heightmap::z`]), those colours laid in as soft enamel, glossy over the
/// relief, the metal showing where there is none and along the edges between colours.
///
/// # Errors
///
/// [`Error::Preview`] where the picture cannot be encoded or `enamel` does not fit the die.
pub fn medal_png(
    hm: &Heightmap,
    mirrored: bool,
    finish: Finish,
    enamel: Option<&[Option<[u8; 3]>]>,
) -> Result<Vec<u8>> {
    if enamel.is_some_and(|e| e.len() != hm.z.len()) {
        return Err(Error::Preview("the enamel does not fit the die".into()));
    }
    let (w, h, heights, _) = sample(hm, None, mirrored);
    let colors: Option<Vec<Option<[u8; 3]>>> = enamel.map(|e| sample_colors(hm, e, mirrored));
    let raised: Vec<f64> = heights.iter().map(|z| -z).collect();
    let top = raised.iter().copied().fold(0.0f64, f64::max).max(1e-6);
    let color = finish.color();
    let pixels = shade(&raised, w, h, hm.cell_mm * step(hm) as f64, |k, light| {
        // The field (the uncut face of the die) is the medal's lowest: an antique finish
        // darkens it, the relief stays bright.
        let height = raised[k] / top;
        let patina = if finish == Finish::Antique { 0.45 + 0.55 * height } else { 1.0 };
        let shine = (light - 1.0).max(0.0) * 2.0;
        match colors.as_ref().and_then(|c| c[k]) {
            // Enamel fills level: its gloss, not the relief's slopes.
            Some(rgb) => {
                rgb.map(|c| (f64::from(c) / 255.0 * (0.9 + 0.1 * light.min(1.0)) + 0.5 * shine).clamp(0.0, 1.0))
            }
            None => color.map(|c| (c * light * patina + shine).clamp(0.0, 1.0)),
        }
    });
    encode(w, h, &pixels)
}

/// The die in grey with `marks` over it (one per cell, laid out like [`Heightmap::z`]): red
/// where deeper, blue where shallower, pale blue where out of reach.
///
/// # Errors
///
/// [`Error::Preview`] where the picture cannot be encoded or `marks` does not fit the die.
pub fn marked_png(hm: &Heightmap, marks: &[Mark]) -> Result<Vec<u8>> {
    if marks.len() != hm.z.len() {
        return Err(Error::Preview(format!("{} marks for {} cells", marks.len(), hm.z.len())));
    }
    let (w, h, heights, marked) = sample(hm, Some(marks), false);
    let pixels = shade(&heights, w, h, hm.cell_mm * step(hm) as f64, |k, light| {
        let grey = (0.75 * light).clamp(0.0, 1.0);
        match marked[k] {
            Mark::None => [grey; 3],
            Mark::Deeper => [0.95, 0.1, 0.1],
            Mark::Shallower => [0.1, 0.3, 0.95],
            Mark::Unreachable => [0.55, 0.75, 1.0],
        }
    });
    encode(w, h, &pixels)
}

/// Cells per pixel side.
fn step(hm: &Heightmap) -> usize {
    hm.nx.max(hm.ny).div_ceil(MAX_SIDE_PX).max(1)
}

/// The die at picture size, top row first: width, height, each pixel's mean Z and its
/// strongest mark (a [`Mark::Deeper`] over a [`Mark::Shallower`] over the rest); X mirrored
/// where asked.
fn sample(hm: &Heightmap, marks: Option<&[Mark]>, mirror: bool) -> (usize, usize, Vec<f64>, Vec<Mark>) {
    let step = step(hm);
    let (w, h) = (hm.nx.div_ceil(step), hm.ny.div_ceil(step));
    let rank = |m: Mark| match m {
        Mark::None => 0,
        Mark::Unreachable => 1,
        Mark::Shallower => 2,
        Mark::Deeper => 3,
    };
    let pixels: Vec<(f64, Mark)> = (0..w * h)
        .into_par_iter()
        .map(|k| {
            let (px, py) = (k % w, k / w);
            let px = if mirror { w - 1 - px } else { px };
            // Row 0 of the picture is the die's top (largest Y).
            let iy0 = (h - 1 - py) * step;
            let (mut sum, mut n, mut mark) = (0.0, 0usize, Mark::None);
            for iy in iy0..(iy0 + step).min(hm.ny) {
                for ix in px * step..((px + 1) * step).min(hm.nx) {
                    let cell = iy * hm.nx + ix;
                    sum += hm.z[cell];
                    n += 1;
                    if let Some(m) = marks.map(|m| m[cell]) {
                        if rank(m) > rank(mark) {
                            mark = m;
                        }
                    }
                }
            }
            (sum / n.max(1) as f64, mark)
        })
        .collect();
    let (heights, marks) = pixels.into_iter().unzip();
    (w, h, heights, marks)
}

/// The enamel colour of each pixel of the picture [`sample`] makes: its square's centre
/// cell's, none where a neighbouring pixel's differs (the metal edge between two colours).
fn sample_colors(hm: &Heightmap, enamel: &[Option<[u8; 3]>], mirror: bool) -> Vec<Option<[u8; 3]>> {
    let step = step(hm);
    let (w, h) = (hm.nx.div_ceil(step), hm.ny.div_ceil(step));
    let at = |px: usize, py: usize| {
        let px = if mirror { w - 1 - px } else { px };
        let ix = (px * step + step / 2).min(hm.nx - 1);
        let iy = ((h - 1 - py) * step + step / 2).min(hm.ny - 1);
        enamel[iy * hm.nx + ix]
    };
    (0..w * h)
        .into_par_iter()
        .map(|k| {
            let (x, y) = (k % w, k / w);
            let own = at(x, y);
            let edge =
                [(x.saturating_sub(1), y), ((x + 1).min(w - 1), y), (x, y.saturating_sub(1)), (x, (y + 1).min(h - 1))]
                    .iter()
                    .any(|&(u, v)| at(u, v) != own);
            if edge {
                None
            } else {
                own
            }
        })
        .collect()
}

/// Each pixel's colour from `color(pixel, light)`, the light on the surface of `heights`
/// (pixels `pixel_mm` apart) from the upper left: 1 on a flat face, more on a slope towards
/// the light, less on one away from it.
fn shade(heights: &[f64], w: usize, h: usize, pixel_mm: f64, color: impl Fn(usize, f64) -> [f64; 3] + Sync) -> Vec<u8> {
    let light = {
        let l = [-1.0f64, 1.0, 1.4];
        let n = (l[0] * l[0] + l[1] * l[1] + l[2] * l[2]).sqrt();
        [l[0] / n, l[1] / n, l[2] / n]
    };
    let flat = light[2];
    (0..w * h)
        .into_par_iter()
        .flat_map_iter(|k| {
            let (x, y) = (k % w, k / w);
            let at = |x: usize, y: usize| heights[y * w + x];
            let dx = (at((x + 1).min(w - 1), y) - at(x.saturating_sub(1), y)) / (2.0 * pixel_mm);
            // Picture rows go down, Y goes up.
            let dy = (at(x, y.saturating_sub(1)) - at(x, (y + 1).min(h - 1))) / (2.0 * pixel_mm);
            let n = (dx * dx + dy * dy + 1.0).sqrt();
            let lit = ((-dx * light[0] - dy * light[1] + light[2]) / n).max(0.0) / flat;
            let [r, g, b] = color(k, 0.25 + 0.75 * lit);
            [r, g, b].map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8).into_iter().chain([255u8])
        })
        .collect()
}

fn encode(w: usize, h: usize, rgba: &[u8]) -> Result<Vec<u8>> {
    let size = IntSize::from_wh(u32::try_from(w).unwrap_or(0), u32::try_from(h).unwrap_or(0))
        .ok_or_else(|| Error::Preview("the picture has no size".into()))?;
    let pixmap =
        Pixmap::from_vec(rgba.to_vec(), size).ok_or_else(|| Error::Preview("the picture has no pixels".into()))?;
    pixmap.encode_png().map_err(|e| Error::Preview(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2 x 1 mm die at 0.01 mm with a pocket 0.2 mm deep in its left half.
    fn die() -> Heightmap {
        let (nx, ny) = (200, 100);
        let z = (0..nx * ny).map(|k| if k % nx < 100 { -0.2 } else { 0.0 }).collect();
        Heightmap { origin: [0.0, 0.0], cell_mm: 0.01, nx, ny, z }
    }

    fn pixel(png: &[u8], x: u32, y: u32) -> [u8; 3] {
        let p = Pixmap::decode_png(png).unwrap().pixel(x, y).unwrap();
        [p.red(), p.green(), p.blue()]
    }

    #[test]
    fn the_medal_is_raised_where_the_die_is_cut_and_un_mirrored() {
        let hm = die();
        let die_png = die_png(&hm).unwrap();
        // The pocket (left) is darker than the face on the die.
        assert!(pixel(&die_png, 20, 50)[0] < pixel(&die_png, 180, 50)[0]);
        // On the medal the relief is on the right, un-mirrored; the wall between is lit on
        // one side: the picture is not flat.
        let medal = medal_png(&hm, true, Finish::Antique, None).unwrap();
        assert!(pixel(&medal, 180, 50)[0] > pixel(&medal, 20, 50)[0], "the raised part is brighter");
        let gold = medal_png(&hm, false, Finish::Gold, None).unwrap();
        let [r, g, b] = pixel(&gold, 150, 50);
        assert!(r > g && g > b, "gold: {r} {g} {b}");
        // Red enamel in the pocket's cells: red on the medal there, gold elsewhere, metal
        // along the edge between them.
        let enamel: Vec<Option<[u8; 3]>> =
            (0..hm.z.len()).map(|k| (k % hm.nx < 100).then_some([200, 20, 20])).collect();
        let enamelled = medal_png(&hm, false, Finish::Gold, Some(&enamel)).unwrap();
        let [r, g, _] = pixel(&enamelled, 20, 50);
        assert!(r > 150 && g < 60, "enamel: {r} {g}");
        assert_eq!(pixel(&enamelled, 150, 50), pixel(&gold, 150, 50));
        assert!(medal_png(&hm, false, Finish::Gold, Some(&enamel[1..])).is_err());
    }

    #[test]
    fn marks_colour_the_cells_they_mark() {
        let hm = die();
        let mut marks = vec![Mark::None; hm.z.len()];
        marks[50 * 200 + 20] = Mark::Deeper;
        marks[50 * 200 + 180] = Mark::Shallower;
        let png = marked_png(&hm, &marks).unwrap();
        // Row 50 of the cells is picture row 49 (the top is the largest Y).
        assert_eq!(pixel(&png, 20, 49), [242, 26, 26]);
        assert_eq!(pixel(&png, 180, 49), [26, 77, 242]);
        assert!(marked_png(&hm, &marks[1..]).is_err());
    }
}
