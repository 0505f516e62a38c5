//! V-carved regions: the shapes `auto-vcarve` takes from the pockets, and the depth around
//! each V-carved shape, where its walls start.

use rayon::prelude::*;

use super::{level_name, Region, Strategy};
use crate::error::{Error, Result};
use crate::geom::{self, Shape, Shapes};

/// A shape a flat tool of radius `radius` leaves more of than this (mm²), beyond a band of
/// that radius around what it reaches, has a feature narrower than the tool: a stroke, not a
/// corner.
const NARROW_AREA_MM2: f64 = 1e-4;

/// A shape the flat tool leaves this share of, or more, is V-carved (lettering, fine strokes);
/// one with a smaller share (a field with a fine tail) is pocketed, the tail left to the rest
/// machining: V-carving a whole field for its tail costs more machine time than it saves
/// (on the medal sample, 2.7 h instead of 1.2 h for carving every shape with a narrow part).
const NARROW_SHARE: f64 = 0.35;

/// `regions` with every pocketed shape that is mostly features narrower than a flat tool of
/// `radius` ([`NARROW_SHARE`] of it or more a part it cannot reach that reaches further than
/// `radius` from what it can: strokes and sharp points, not square corners) V-carved
/// instead, at the same depth.
pub(super) fn auto_vcarved(regions: Vec<Region>, radius: f64) -> Result<Vec<Region>> {
    if radius.is_nan() || radius <= 0.0 {
        return Ok(regions);
    }
    let mut out: Vec<Region> = Vec::with_capacity(regions.len() + 4);
    for region in regions {
        if region.strategy != Strategy::Pocket || region.depth_mm <= 0.0 {
            out.push(region);
            continue;
        }
        let at = |source| Error::Geometry { at: level_name(region.depth_mm), source };
        let narrow: Vec<bool> =
            region.area.par_iter().map(|shape| is_narrow(shape, radius)).collect::<geom::Result<_>>().map_err(at)?;
        if !narrow.contains(&true) {
            out.push(region);
            continue;
        }
        let (mut carved, mut pocketed): (Shapes, Shapes) = (Vec::new(), Vec::new());
        for (shape, narrow) in region.area.into_iter().zip(narrow) {
            if narrow {
                carved.push(shape);
            } else {
                pocketed.push(shape);
            }
        }
        let (depth_mm, sources) = (region.depth_mm, region.sources);
        if !pocketed.is_empty() {
            let surround_mm = vec![0.0; pocketed.len()];
            out.push(Region {
                depth_mm,
                area: pocketed,
                sources: sources.clone(),
                strategy: Strategy::Pocket,
                surround_mm,
            });
        }
        let surround_mm = vec![0.0; carved.len()];
        out.push(Region { depth_mm, area: carved, sources, strategy: Strategy::VCarve, surround_mm });
    }
    // Regions stay sorted by depth, the pocketed one of a depth first, one per strategy (the
    // stable sort keeps the V-carved shapes a rule gave after those taken here).
    out.sort_by(|a, b| a.depth_mm.total_cmp(&b.depth_mm).then(a.strategy.cmp(&b.strategy)));
    let mut merged: Vec<Region> = Vec::with_capacity(out.len());
    for region in out {
        match merged.last_mut() {
            Some(last) if last.depth_mm == region.depth_mm && last.strategy == region.strategy => {
                let at = |source| Error::Geometry { at: level_name(region.depth_mm), source };
                last.area = geom::union(&[std::mem::take(&mut last.area), region.area].concat()).map_err(at)?;
                last.surround_mm = vec![0.0; last.area.len()];
                for source in region.sources {
                    if !last.sources.contains(&source) {
                        last.sources.push(source);
                    }
                }
            }
            _ => merged.push(region),
        }
    }
    Ok(merged)
}

/// Whether a flat tool of `radius` leaves part of `shape` reaching further than `radius` from
/// what the tool reaches.
fn is_narrow(shape: &Shape, radius: f64) -> geom::Result<bool> {
    let shape = vec![shape.clone()];
    let reached = geom::offset(&geom::offset(&shape, -radius)?, radius)?;
    if reached.is_empty() {
        return Ok(true);
    }
    let beyond = geom::difference(&shape, &geom::offset(&reached, radius)?)?;
    let left = geom::shapes_area(&beyond);
    Ok(left > NARROW_AREA_MM2 && left > NARROW_SHARE * geom::shapes_area(&shape))
}

/// Sets each V-carved shape's `surround_mm`: the height of the shallowest neighbour at its
/// outline (0 where it meets the die face), found a few microns outside the middle of each of
/// its edges. Its walls start there: a letter carved into a field starts from the field's
/// floor, not from the face above it. A pocketed neighbour stands at its depth there; a
/// V-carved one at its own surround, where its wall starts: found again while that changes.
pub(super) fn surround(regions: &mut [Region]) {
    // Every shape, region by region, with its region's depth and whether it is V-carved.
    let shapes: Vec<(&Shape, f64, bool)> = regions
        .iter()
        .flat_map(|r| r.area.iter().map(move |shape| (shape, r.depth_mm, r.strategy == Strategy::VCarve)))
        .collect();
    let index: Vec<(geom::ShapeIndex, Option<[f64; 4]>)> =
        shapes.iter().map(|(shape, _, _)| (geom::ShapeIndex::new(shape.iter()), geom::bounds(shape.iter()))).collect();
    let holder = |p: geom::Point| {
        index.iter().position(|(shape, b)| {
            b.is_some_and(|b| p[0] >= b[0] && p[0] <= b[2] && p[1] >= b[1] && p[1] <= b[3]) && shape.contains(p)
        })
    };
    // Per shape, the shapes next to its outline (`None`: the die face); none for pocketed ones.
    let neighbours: Vec<Vec<Option<usize>>> = shapes
        .par_iter()
        .map(|&(shape, _, carved)| {
            let mut found: Vec<Option<usize>> = Vec::new();
            if !carved {
                return found;
            }
            for contour in shape {
                for (k, &a) in contour.iter().enumerate() {
                    let b = contour[(k + 1) % contour.len()];
                    let len = geom::distance(a, b);
                    if len < 1e-9 {
                        continue;
                    }
                    // Outer contours run counter-clockwise, holes clockwise: outside is to the
                    // right.
                    let out = [(b[1] - a[1]) / len, -(b[0] - a[0]) / len];
                    let m = [(a[0] + b[0]) / 2.0 + out[0] * OUTSIDE_MM, (a[1] + b[1]) / 2.0 + out[1] * OUTSIDE_MM];
                    let next = holder(m);
                    if !found.contains(&next) {
                        found.push(next);
                    }
                }
            }
            found
        })
        .collect();
    // A V-carved shape starts at its depth, and comes up to its neighbours' heights.
    let mut height: Vec<f64> = shapes.iter().map(|&(_, depth, _)| depth).collect();
    for _ in 0..MAX_ROUNDS {
        let mut changed = false;
        for (k, near) in neighbours.iter().enumerate() {
            for next in near {
                let h = next.map_or(0.0, |j| height[j]);
                if h < height[k] {
                    height[k] = h;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let carved: Vec<bool> = shapes.iter().map(|&(_, _, carved)| carved).collect();
    let mut heights = height.into_iter().zip(carved).map(|(h, carved)| if carved { h } else { 0.0 });
    for region in regions.iter_mut() {
        region.surround_mm = heights.by_ref().take(region.area.len()).collect();
    }
}

/// Rounds of passing heights from V-carved shape to V-carved shape: each round reaches one
/// neighbour further (a letter in a ring in a field takes two).
const MAX_ROUNDS: usize = 16;

/// How far outside an outline its neighbour is looked for, in mm: past the slits the booleans
/// leave between touching regions, far inside any feature.
const OUTSIDE_MM: f64 = 0.002;

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> Shape {
        vec![vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1]]]
    }

    #[test]
    fn strokes_narrower_than_the_tool_are_narrow_square_corners_and_a_narrow_tail_are_not() {
        assert!(!is_narrow(&square(0.0, 0.0, 5.0, 5.0), 0.5).unwrap(), "square corners");
        assert!(is_narrow(&square(0.0, 0.0, 5.0, 0.8), 0.5).unwrap(), "a bar narrower than the tool");
        // An L whose arm is too narrow for the tool but whose body, most of it, is not: the
        // tool clears the body, the rest machining the arm.
        let l = vec![vec![[0.0, 0.0], [5.0, 0.0], [5.0, 0.6], [2.0, 0.6], [2.0, 3.0], [0.0, 3.0]]];
        assert!(!is_narrow(&l, 0.5).unwrap());
        // A U of strokes all too narrow for it.
        let u =
            vec![vec![[0.0, 0.0], [5.0, 0.0], [5.0, 3.0], [4.4, 3.0], [4.4, 0.6], [0.6, 0.6], [0.6, 3.0], [0.0, 3.0]]];
        assert!(is_narrow(&u, 0.5).unwrap());
    }

    #[test]
    fn a_shape_in_a_field_is_surrounded_by_the_fields_depth() {
        let field = Region {
            depth_mm: 0.1,
            area: vec![vec![
                square(0.0, 0.0, 10.0, 10.0)[0].clone(),
                square(4.0, 4.0, 6.0, 6.0)[0].iter().rev().copied().collect(),
            ]],
            sources: Vec::new(),
            strategy: Strategy::Pocket,
            surround_mm: vec![0.0],
        };
        let letter = |x: f64| Region {
            depth_mm: 0.3,
            area: vec![square(4.0 + x, 4.0, 6.0 + x, 6.0)],
            sources: Vec::new(),
            strategy: Strategy::VCarve,
            surround_mm: vec![0.0],
        };
        let mut regions = vec![field.clone(), letter(0.0)];
        surround(&mut regions);
        assert_eq!(regions[1].surround_mm, [0.1]);
        // Half out of the field, on the die face: the face.
        let mut regions = vec![field, letter(5.0)];
        surround(&mut regions);
        assert_eq!(regions[1].surround_mm, [0.0]);
    }
}
