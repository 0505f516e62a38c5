//! The offset rings of one pocket, as a tree, their cutting order, and the floor the rings a
//! tool found no way into leave.

use std::collections::BTreeSet;

use super::cutter::dist;
use crate::geom::{self, Contour, Point, Shape, Shapes};

/// One offset ring of the tool-centre area, with its place in the nesting tree.
pub(super) struct Ring {
    pub(super) shape: Shape,
    pub(super) children: Vec<usize>,
}

/// The rings of the tool-centre area `centres` as a tree: ring 0 is `centres` itself, ring 1
/// is `first_step` inside it (none when 0), and each further ring `stepover` inside the one
/// before; a ring's children are the rings of the next step that lie inside it.
///
/// Each ring after the first is offset from the ring before and simplified by `simplify_mm`
/// (the tolerance's share, [`crate::tolerance::Tolerance::simplification_mm`], 1 um by
/// default): erosion composes exactly, the simplification keeps vertex counts from doubling
/// level after level (deps.md section 4.3), and its error, at most k x 1 um after k rings, is
/// far below the k x stepover that separates ring k from the first ring; between neighbouring
/// rings it changes the stepover by at most 2 um.
///
/// A stepover wider than the tool's `reach` (a ball's or a bull's, whose floor is flat only
/// near the axis) leaves the floor inside the innermost ring, or in a neck where the next
/// ring parts, farther than `reach` from every ring: there a leaf ring [`GAP_RING_SHARE`] of
/// the reach inside the ring around it is added, whose inside is within reach of it.
pub(super) fn offset_rings(
    centres: Shapes,
    first_step: f64,
    stepover: f64,
    simplify_mm: f64,
    reach: f64,
) -> geom::Result<(Vec<Ring>, Vec<usize>)> {
    let mut rings: Vec<Ring> = Vec::new();
    let mut roots = Vec::new();
    let mut previous: Vec<usize> = Vec::new();
    let mut shapes = centres;
    for step in 0.. {
        if shapes.is_empty() {
            break;
        }
        let mut current = Vec::with_capacity(shapes.len());
        for shape in std::mem::take(&mut shapes) {
            let index = rings.len();
            let probe = shape[0][0];
            let parent = previous.iter().copied().find(|&p| geom::shape_contains(&rings[p].shape, probe));
            match parent {
                Some(p) => rings[p].children.push(index),
                None if step == 0 => roots.push(index),
                // Numerically on the parent's edge: hang it under the nearest previous ring.
                None => {
                    let nearest = previous
                        .iter()
                        .copied()
                        .min_by(|&a, &b| {
                            let da = geom::boundary_distance(std::slice::from_ref(&rings[a].shape), probe);
                            let db = geom::boundary_distance(std::slice::from_ref(&rings[b].shape), probe);
                            da.total_cmp(&db)
                        })
                        .expect("a later offset ring always has earlier rings");
                    rings[nearest].children.push(index);
                }
            }
            rings.push(Ring { shape, children: Vec::new() });
            current.push(index);
        }
        let last: Shapes = current.iter().map(|&i| rings[i].shape.clone()).collect();
        let step_mm = if step == 0 && first_step > 0.0 { first_step } else { stepover };
        shapes = geom::simplify_contours(&geom::offset(&last, -step_mm)?, simplify_mm);
        if step_mm > reach {
            for gap in gap_rings(&last, &shapes, reach)? {
                let probe = gap[0][0];
                let parent = current.iter().copied().find(|&p| geom::shape_contains(&rings[p].shape, probe));
                let parent = parent.unwrap_or(current[0]);
                let index = rings.len();
                rings[parent].children.push(index);
                rings.push(Ring { shape: gap, children: Vec::new() });
            }
        }
        previous = current;
    }
    Ok((rings, roots))
}

/// A gap ring lies this share of the reach inside the ring around it.
pub(super) const GAP_RING_SHARE: f64 = 0.95;

/// The leaf rings `last` needs besides `next` (the rings one stepover in): the pieces of
/// `last` eroded by [`GAP_RING_SHARE`] of `reach` that hold floor farther than `reach` from
/// `last` and from all `next` holds. Their inside is within reach of them: that floor is
/// less than a stepover (at most 1.9 reach) from `last`, or `next` would be there.
fn gap_rings(last: &Shapes, next: &Shapes, reach: f64) -> geom::Result<Shapes> {
    let deep = geom::offset(last, -reach)?;
    if deep.is_empty() {
        return Ok(Vec::new());
    }
    let gap = if next.is_empty() { deep } else { geom::difference(&deep, &geom::offset(next, reach)?)? };
    if gap.is_empty() {
        return Ok(Vec::new());
    }
    let inner = geom::offset(last, -GAP_RING_SHARE * reach)?;
    Ok(inner.into_iter().filter(|piece| gap.iter().any(|g| geom::shape_contains(piece, g[0][0]))).collect())
}

/// The floor within `reach` of the `blocked` contours of `rings` (ring index, contour index),
/// or inside them, that no other contour reaches: what the finishing pass leaves uncut where
/// it cannot enter those contours. A contour reaches the band within `reach` of it.
pub(super) fn floor_missed(rings: &[Ring], blocked: &BTreeSet<(usize, usize)>, reach: f64) -> geom::Result<Shapes> {
    let filled = |contour: &Contour| -> Shapes {
        let mut contour = contour.clone();
        if geom::contour_area(&contour) < 0.0 {
            contour.reverse();
        }
        vec![vec![contour]]
    };
    let near: Shapes = blocked.iter().flat_map(|&(i, k)| filled(&rings[i].shape[k])).collect();
    let near = geom::offset(&geom::union(&near)?, reach)?;
    let Some(b) = geom::bounds(near.iter().flatten()) else {
        return Ok(Vec::new());
    };
    let mut bands: Shapes = Vec::new();
    // Within `reach` of the box around `near`: only such contours reach into it. The rings
    // enclosing it farther out (whose boxes hold it all the same) are many and long.
    let touches = |lo: Point, hi: Point| {
        lo[0] - reach <= b[2] && hi[0] + reach >= b[0] && lo[1] - reach <= b[3] && hi[1] + reach >= b[1]
    };
    let comes_near = |contour: &Contour| {
        (0..contour.len()).any(|e| {
            let (p, q) = (contour[e], contour[(e + 1) % contour.len()]);
            touches([p[0].min(q[0]), p[1].min(q[1])], [p[0].max(q[0]), p[1].max(q[1])])
        })
    };
    for (i, ring) in rings.iter().enumerate() {
        for (k, contour) in ring.shape.iter().enumerate() {
            if !blocked.contains(&(i, k)) && comes_near(contour) {
                let shape = filled(contour);
                bands.extend(geom::difference(&geom::offset(&shape, reach)?, &geom::offset(&shape, -reach)?)?);
            }
        }
    }
    geom::difference(&near, &bands)
}

/// The rings roughing starts from: one ring in from `roots` (the wall allowance off the
/// walls), but for a piece of the area narrower than twice the allowance, which has no ring
/// inside. Roughed with the rest, it is entered step by step, as the finishing pass could not
/// enter it safely from the top.
pub(super) fn rough_roots(rings: &[Ring], roots: Vec<usize>, allowance: f64) -> Vec<usize> {
    if allowance <= 0.0 {
        return roots;
    }
    roots.iter().flat_map(|&r| if rings[r].children.is_empty() { vec![r] } else { rings[r].children.clone() }).collect()
}

/// The contours of `rings` (ring index, contour index) on which a cutter of radius `over`
/// comes over any of `stock`.
pub(super) fn under_stock(rings: &[Ring], stock: &[geom::ShapeIndex], over: f64) -> BTreeSet<(usize, usize)> {
    let mut out = BTreeSet::new();
    for (i, ring) in rings.iter().enumerate() {
        for (k, contour) in ring.shape.iter().enumerate() {
            if comes_over(contour, stock, over) {
                out.insert((i, k));
            }
        }
    }
    out
}

/// The contour is probed for coming over stock at least this often, in mm, whatever the
/// cutter's radius.
const COMES_OVER_LEAST_STEP_MM: f64 = 1e-3;

/// Whether a cutter of `radius` on `contour` comes over any of `stock`: some point of the
/// contour, sampled every half radius along its edges, lies inside it or within `radius` of
/// its outline.
fn comes_over(contour: &Contour, stock: &[geom::ShapeIndex], radius: f64) -> bool {
    if stock.is_empty() {
        return false;
    }
    let step = (radius / 2.0).max(COMES_OVER_LEAST_STEP_MM);
    (0..contour.len()).any(|e| {
        let (a, b) = (contour[e], contour[(e + 1) % contour.len()]);
        let n = (dist(a, b) / step).ceil().max(1.0) as usize;
        (0..n).any(|t| {
            let t = t as f64 / n as f64;
            let p = [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t];
            stock.iter().any(|s| s.contains(p) || s.near_edge(p, radius))
        })
    })
}

/// Rings in cutting order: each ring after all the rings it encloses (post-order).
pub(super) fn cutting_order(rings: &[Ring], roots: &[usize]) -> Vec<usize> {
    pub(super) fn visit(rings: &[Ring], index: usize, out: &mut Vec<usize>) {
        for &child in &rings[index].children {
            visit(rings, child, out);
        }
        out.push(index);
    }
    let mut out = Vec::with_capacity(rings.len());
    for &root in roots {
        visit(rings, root, &mut out);
    }
    out
}
