//! Where two simulated dies differ: what `medalcam diff` reports.

use rayon::prelude::*;

use super::picture::Mark;
use super::Heightmap;

/// Where a die departs from another by more than a tolerance, beyond what a shift of one
/// cell sideways explains (a wall moved by rounding).
#[derive(Debug, Clone)]
pub struct Difference {
    /// One mark per cell of the second die: [`Mark::Deeper`] where it is deeper,
    /// [`Mark::Shallower`] where it is shallower.
    pub marks: Vec<Mark>,
    /// The largest difference, in mm: positive where the second die is deeper.
    pub largest_mm: f64,
    /// Where that is, `[x, y]` in mm.
    pub largest_at: Option<[f64; 2]>,
}

impl Difference {
    /// Where `b` departs from `a` (two dies on the same grid) by more than `tolerance`: each
    /// cell's depth against the range of depths the other die has within one cell, both ways.
    #[must_use]
    pub fn between(a: &Heightmap, b: &Heightmap, tolerance: f64) -> Self {
        let (nx, ny) = (a.nx, a.ny);
        // The range of depths `hm` has within one cell of cell k.
        let range = |hm: &Heightmap, k: usize| {
            let (x, y) = (k % nx, k / nx);
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for yy in y.saturating_sub(1)..=(y + 1).min(ny - 1) {
                for xx in x.saturating_sub(1)..=(x + 1).min(nx - 1) {
                    let z = hm.z[yy * nx + xx];
                    (lo, hi) = (lo.min(z), hi.max(z));
                }
            }
            (lo, hi)
        };
        // How far `z` lies outside `[lo, hi]`: negative below.
        let outside = |z: f64, (lo, hi): (f64, f64)| {
            if z < lo {
                z - lo
            } else if z > hi {
                z - hi
            } else {
                0.0
            }
        };
        let found: Vec<(Mark, f64)> = (0..nx * ny)
            .into_par_iter()
            .map(|k| {
                if a.z[k] == b.z[k] {
                    return (Mark::None, 0.0);
                }
                let d = outside(b.z[k], range(a, k));
                let e = -outside(a.z[k], range(b, k));
                let worst = if d.abs() >= e.abs() { d } else { e };
                let mark = match worst {
                    w if w < -tolerance => Mark::Deeper,
                    w if w > tolerance => Mark::Shallower,
                    _ => Mark::None,
                };
                (mark, -worst)
            })
            .collect();
        let (mut largest_mm, mut largest_at) = (0.0f64, None);
        for (k, &(_, d)) in found.iter().enumerate() {
            if d.abs() > largest_mm.abs() {
                (largest_mm, largest_at) = (d, Some(b.cell_center(k % nx, k / nx)));
            }
        }
        Self { marks: found.into_iter().map(|(m, _)| m).collect(), largest_mm, largest_at }
    }

    /// How many cells differ.
    #[must_use]
    pub fn cells(&self) -> usize {
        self.marks.iter().filter(|m| **m != Mark::None).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wall_moved_by_a_cell_is_no_difference_and_a_deeper_spot_is() {
        let die = |wall: usize, spot: Option<(usize, f64)>| {
            let (nx, ny) = (50, 20);
            let mut z: Vec<f64> = (0..nx * ny).map(|k| if k % nx < wall { -0.3 } else { 0.0 }).collect();
            if let Some((k, depth)) = spot {
                z[k] = depth;
            }
            Heightmap { origin: [0.0, 0.0], cell_mm: 0.01, nx, ny, z }
        };
        let a = die(20, None);
        assert_eq!(Difference::between(&a, &die(21, None), 0.005).cells(), 0);
        let d = Difference::between(&a, &die(20, Some((10 * 50 + 30, -0.1))), 0.005);
        assert_eq!(d.cells(), 1);
        assert!((d.largest_mm - 0.1).abs() < 1e-12 && d.largest_at == Some([0.3, 0.1]), "{d:?}");
        assert_eq!(d.marks[10 * 50 + 30], Mark::Deeper);
    }
}
