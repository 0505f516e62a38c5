//! A simulated die: the depth of the surface over a regular grid, and how it compares with
//! the depth each cell should have.

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Cut depths in a regular grid over the die.
#[derive(Debug, Clone)]
pub struct Heightmap {
    /// Centre of cell (0, 0), in mm.
    pub origin: [f64; 2],
    /// Cell size in mm.
    pub cell_mm: f64,
    /// Columns.
    pub nx: usize,
    /// Rows.
    pub ny: usize,
    /// Z of the die surface per cell, row-major from `origin`; 0 is the uncut face.
    pub z: Vec<f64>,
}

impl Heightmap {
    /// The centre of cell (`ix`, `iy`).
    #[must_use]
    pub fn cell_center(&self, ix: usize, iy: usize) -> [f64; 2] {
        [self.origin[0] + ix as f64 * self.cell_mm, self.origin[1] + iy as f64 * self.cell_mm]
    }

    /// Which cell centres lie inside `shapes` (even-odd over all contours, which for disjoint
    /// valid shapes is plain inside), by scanlines: one crossing list per row.
    #[must_use]
    pub fn coverage(&self, shapes: &[crate::geom::Shape]) -> Vec<bool> {
        let edges: Vec<([f64; 2], [f64; 2])> = shapes
            .iter()
            .flatten()
            .flat_map(|c| (0..c.len()).map(move |i| (c[i], c[(i + 1) % c.len()])))
            .filter(|(a, b)| a[1] != b[1])
            .collect();
        let mut inside = vec![false; self.nx * self.ny];
        inside.par_chunks_mut(self.nx).enumerate().for_each(|(iy, row)| {
            let y = self.origin[1] + iy as f64 * self.cell_mm;
            let mut xs: Vec<f64> = edges
                .iter()
                .filter(|(a, b)| (a[1] > y) != (b[1] > y))
                .map(|(a, b)| a[0] + (y - a[1]) * (b[0] - a[0]) / (b[1] - a[1]))
                .collect();
            xs.sort_by(f64::total_cmp);
            for pair in xs.chunks_exact(2) {
                let from = ((pair[0] - self.origin[0]) / self.cell_mm).ceil().max(0.0) as usize;
                let to = ((pair[1] - self.origin[0]) / self.cell_mm).floor();
                if to < 0.0 {
                    continue;
                }
                for cell in row.iter_mut().take((to as usize + 1).min(self.nx)).skip(from) {
                    *cell = true;
                }
            }
        });
        inside
    }
}

/// How a simulated die compares with the depth each cell should have.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DepthCheck {
    /// Cells cut below their target by more than the tolerance.
    pub overcut_cells: usize,
    /// The deepest cut below a target, in mm (0 when no cell is below its target).
    pub worst_overcut_mm: f64,
    /// The cell of the worst overcut, `[column, row]`: the first in row-major order.
    pub worst_overcut_cell: Option<[usize; 2]>,
    /// Cells left above their target by more than the tolerance.
    pub above_target_cells: usize,
    /// The most material left above a target, in mm (0 when every cell reaches its target).
    pub worst_left_mm: f64,
    /// The cell of the most material left, `[column, row]`: the first in row-major order.
    pub worst_left_cell: Option<[usize; 2]>,
}

impl Heightmap {
    /// Compares the die with `target`, the Z each cell should end at (laid out like
    /// [`Heightmap::z`]; NaN for a cell not to check). A cell within `tolerance_mm` of its
    /// target counts neither as overcut nor as left above; the worst values cover every
    /// checked cell.
    ///
    /// # Errors
    ///
    /// [`Error::Program`] if `target` does not have one value per cell.
    pub fn check_depth(&self, target: &[f64], tolerance_mm: f64) -> Result<DepthCheck> {
        if target.len() != self.z.len() {
            return Err(Error::Program(format!(
                "depth check: {} target depths for {} cells",
                target.len(),
                self.z.len()
            )));
        }
        let mut check = DepthCheck::default();
        for (k, (&z, &goal)) in self.z.iter().zip(target).enumerate() {
            if goal.is_nan() {
                continue;
            }
            let cell = Some([k % self.nx, k / self.nx]);
            let (over, left) = (goal - z, z - goal);
            if over > check.worst_overcut_mm {
                (check.worst_overcut_mm, check.worst_overcut_cell) = (over, cell);
            }
            if left > check.worst_left_mm {
                (check.worst_left_mm, check.worst_left_cell) = (left, cell);
            }
            check.overcut_cells += usize::from(over > tolerance_mm);
            check.above_target_cells += usize::from(left > tolerance_mm);
        }
        Ok(check)
    }
}
