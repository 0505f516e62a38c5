//! The job tolerance (`tolerance-mm`) and each stage's share of it.
//!
//! # Tolerance
//!
//! How far the cut may stray from the artwork is one number, shared out so that the strays
//! of the stages add up to at most it:
//!
//! | share | of the tolerance | at the default 0.005 mm | spent by |
//! | --- | --- | --- | --- |
//! | [`Tolerance::flattening_mm`] | 30 % | 0.0015 | curves flattened to lines (`artwork`) |
//! | [`Tolerance::simplification_mm`] | 20 % | 0.001 | each offset ring simplified (`toolpath`) |
//! | offset joins | 20 % | 0.001 | round joins inscribed within 0.2 % of the offset ([`crate::geom::ROUND_JOIN_STEP`]), so up to a 0.5 mm offset |
//! | [`Tolerance::machine_mm`] | 30 % | 0.0015 | the profile's output rounding and arc fitting |
//!
//! The machine's share is the profile's to spend: half its last decimal (0.0005 mm at 3
//! decimals) and `arc-tolerance-mm` when it writes arcs. A profile that spends more is
//! reported by [`Tolerance::machine_overrun`].

use crate::error::{Error, Result};

/// The job tolerance, in mm, with its shares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    total_mm: f64,
}

/// The default `tolerance-mm`.
pub const DEFAULT_MM: f64 = 0.005;

/// The tightest and loosest `tolerance-mm` accepted.
pub const RANGE_MM: [f64; 2] = [0.001, 0.1];

/// The shares of the tolerance (the offset joins take the rest, 0.2).
pub const FLATTENING_SHARE: f64 = 0.3;
/// See [`FLATTENING_SHARE`].
pub const SIMPLIFICATION_SHARE: f64 = 0.2;
/// See [`FLATTENING_SHARE`].
pub const MACHINE_SHARE: f64 = 0.3;

impl Default for Tolerance {
    fn default() -> Self {
        Self { total_mm: DEFAULT_MM }
    }
}

impl Tolerance {
    /// The budget of a job tolerance of `total_mm`.
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] for `tolerance-mm` outside [`RANGE_MM`].
    pub fn new(total_mm: f64) -> Result<Self> {
        if !(RANGE_MM[0]..=RANGE_MM[1]).contains(&total_mm) {
            return Err(Error::Setting {
                key: "tolerance-mm".into(),
                reason: format!("must be {} to {} mm", RANGE_MM[0], RANGE_MM[1]),
            });
        }
        Ok(Self { total_mm })
    }

    /// The whole tolerance, in mm.
    #[must_use]
    pub fn total_mm(self) -> f64 {
        self.total_mm
    }

    /// How far a flattened curve may stray from the true curve, in mm.
    #[must_use]
    pub fn flattening_mm(self) -> f64 {
        FLATTENING_SHARE * self.total_mm
    }

    /// How far the simplification of an offset ring may move it, in mm.
    #[must_use]
    pub fn simplification_mm(self) -> f64 {
        SIMPLIFICATION_SHARE * self.total_mm
    }

    /// What the machine profile may spend, in mm: rounding and arc fitting.
    #[must_use]
    pub fn machine_mm(self) -> f64 {
        MACHINE_SHARE * self.total_mm
    }

    /// What a profile writing `decimals` decimals, and arcs fitted within `arc_mm` (`None`
    /// without arcs), spends beyond [`Tolerance::machine_mm`], if anything: its rounding is
    /// half the last decimal.
    #[must_use]
    pub fn machine_overrun(self, decimals: usize, arc_mm: Option<f64>) -> Option<f64> {
        let rounding = 0.5 * 10f64.powi(-i32::try_from(decimals).unwrap_or(i32::MAX));
        let spent = rounding + arc_mm.unwrap_or(0.0);
        (spent > self.machine_mm() * (1.0 + SAME_SHARE)).then_some(spent - self.machine_mm())
    }
}

/// A profile's spending equal to the machine share but for floating-point rounding, as a
/// fraction of the share, does not overrun it.
const SAME_SHARE: f64 = 1e-9;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shares_add_up_to_the_tolerance_at_most() {
        for total in [0.001, 0.005, 0.02, 0.1] {
            let t = Tolerance::new(total).unwrap();
            // The joins' share is the fourth: 0.2 % of a 0.5 mm offset at the default.
            let joins = 0.2 * total;
            let sum = t.flattening_mm() + t.simplification_mm() + joins + t.machine_mm();
            assert!(sum <= total * (1.0 + 1e-12), "{total}: {sum}");
        }
        assert!((Tolerance::default().flattening_mm() - 0.0015).abs() < 1e-15);
        assert!(Tolerance::new(0.0005).is_err() && Tolerance::new(f64::NAN).is_err());
    }

    #[test]
    fn a_profile_that_spends_more_than_its_share_is_found() {
        let t = Tolerance::default();
        // 3 decimals (0.0005) and arcs within 0.001: the whole 0.0015 share.
        assert!(t.machine_overrun(3, Some(0.001)).is_none());
        assert!(t.machine_overrun(3, None).is_none());
        let over = t.machine_overrun(3, Some(0.002)).unwrap();
        assert!((over - 0.001).abs() < 1e-12, "{over}");
        assert!(t.machine_overrun(1, None).is_some());
        // The tightest tolerance leaves the machine 0.0003 mm: 4 decimals and no arcs.
        let tight = Tolerance::new(0.001).unwrap();
        assert!(tight.machine_overrun(3, Some(0.001)).is_some());
        assert!(tight.machine_overrun(4, None).is_none());
    }
}
