//! A cutter's profile as the sweep uses it ([`Tool::height_at`] in pieces), and the lowest
//! point its cutting surface reaches over a cell along one straight move.

use super::program::Move;
use crate::tool::{Tool, ToolKind};

/// A cell this close to the rim of a cutter, in mm, counts as outside it, so that rounding
/// does not put a cell on the rim inside one move's sweep and outside the next's: a retract
/// from a cut would count as a rapid through the stock.
pub(super) const RIM: f64 = 1e-9;

/// The bisection on a bull nose's torus stops when the error it can leave in Z is under
/// this, in mm.
pub(super) const TORUS_TOLERANCE: f64 = 1e-7;

/// A cutter's profile as the sweep uses it: [`Tool::height_at`] split into its pieces, each
/// computed with the same expression, so with the same value within the cutting radius.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Profile {
    /// Cutting radius.
    pub(super) radius: f64,
    /// Radius of the flat tip (height 0 up to it); may be negative for a bull nose whose
    /// corner radius exceeds its radius.
    pub(super) flat: f64,
    /// A sphere (`flat` 0) or a torus from the flat tip out.
    pub(super) round: Option<Round>,
    /// A cone out to the cutting radius.
    pub(super) cone: Option<Cone>,
}

/// The round part of a profile: a section circle of radius `rc` whose centre is `flat` from
/// the axis and `rc` above the tip, up to `end` from the axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Round {
    pub(super) rc: f64,
    pub(super) end: f64,
}

/// The conical part of a profile: height `h0` at `r0` from the axis, rising by `1 / tan`
/// per mm outwards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Cone {
    r0: f64,
    h0: f64,
    pub(super) tan: f64,
}

impl Profile {
    pub(super) fn new(tool: &Tool) -> Self {
        let radius = tool.radius();
        match tool.kind {
            ToolKind::Flat => Self { radius, flat: radius, round: None, cone: None },
            ToolKind::Ball | ToolKind::Bull => {
                let rc = tool.corner_radius_mm;
                Self { radius, flat: radius - rc, round: Some(Round { rc, end: f64::INFINITY }), cone: None }
            }
            ToolKind::Vee => {
                let tip = tool.tip_diameter_mm / 2.0;
                let cone = Cone { r0: tip, h0: 0.0, tan: tool.half_angle().tan() };
                Self { radius, flat: tip, round: None, cone: Some(cone) }
            }
            ToolKind::TaperedBall => {
                let (rt, a) = (tool.tip_diameter_mm / 2.0, tool.half_angle());
                let tangent_r = rt * a.cos();
                Self {
                    radius,
                    flat: 0.0,
                    round: Some(Round { rc: rt, end: tangent_r }),
                    cone: Some(Cone { r0: tangent_r, h0: rt * (1.0 - a.sin()), tan: a.tan() }),
                }
            }
        }
    }

    /// Whether the numbers describe a cutter: a positive finite radius, the rest not NaN.
    pub(super) fn is_valid(&self) -> bool {
        let round = self.round.is_none_or(|r| !r.rc.is_nan() && !r.end.is_nan());
        let cone = self.cone.is_none_or(|c| !c.r0.is_nan() && !c.h0.is_nan() && !c.tan.is_nan());
        self.radius.is_finite() && self.radius > 0.0 && !self.flat.is_nan() && round && cone
    }

    /// Height of the cutting surface above the tip at `r` from the axis, `r` taken as at most
    /// the cutting radius (rounding may put a point of the rim a hair outside it).
    pub(super) fn height(&self, r: f64) -> f64 {
        let r = r.min(self.radius);
        if r <= self.flat {
            return 0.0;
        }
        if let Some(Round { rc, end }) = self.round {
            if r <= end {
                let d = r - self.flat;
                return rc - (rc * rc - d * d).max(0.0).sqrt();
            }
        }
        match self.cone {
            Some(Cone { r0, h0, tan }) => h0 + (r - r0) / tan,
            None => 0.0,
        }
    }
}

/// A straight move prepared for the sweep: its start, its XY length and direction, its
/// change of Z.
pub(super) struct Segment {
    pub(super) from: [f64; 3],
    pub(super) len: f64,
    pub(super) unit: [f64; 2],
    pub(super) dz: f64,
}

impl Segment {
    pub(super) fn new(m: &Move) -> Self {
        let (dx, dy) = (m.to[0] - m.from[0], m.to[1] - m.from[1]);
        let len = dx.hypot(dy);
        let unit = if len > 0.0 { [dx / len, dy / len] } else { [0.0, 0.0] };
        Self { from: m.from, len, unit, dz: m.to[2] - m.from[2] }
    }

    /// The lowest point the cutting surface reaches over `c` along the move, if the cutter
    /// covers `c` and could go below `above`.
    ///
    /// With `s` the distance along the move, `along` the foot of `c` on the move's line and
    /// `across` the distance of `c` from that line, the surface over `c` is at
    /// `f(s) = z(s) + h(sqrt(across^2 + (s - along)^2))`, convex in `s`. Its minimum over the
    /// interval `[lo, hi]` where the cutter covers `c` is its unconstrained minimum clamped to
    /// the interval. That minimum lies on the low side of `along` (behind it when the move
    /// climbs, ahead when it descends), `v` from it, where `h' v / r` equals the slope
    /// `kappa = |dz| / len`: at `v` 0 when the profile is flat there, at the edge of a flat
    /// tip (a kink), or at the one root on a sphere, a cone or a torus.
    pub(super) fn lowest(&self, p: &Profile, c: [f64; 2], above: f64) -> Option<f64> {
        let (fx, fy) = (c[0] - self.from[0], c[1] - self.from[1]);
        let z_low = self.from[2].min(self.from[2] + self.dz);
        let radius = (p.radius - RIM).max(0.0);
        if self.len == 0.0 {
            let r = (fx * fx + fy * fy).sqrt();
            return (r <= radius).then(|| z_low + p.height(r));
        }
        let along = fx * self.unit[0] + fy * self.unit[1];
        let across = (fx * self.unit[1] - fy * self.unit[0]).abs();
        if across > radius {
            return None;
        }
        let w = (radius * radius - across * across).sqrt();
        let (lo, hi) = ((along - w).max(0.0), (along + w).min(self.len));
        if lo > hi {
            return None;
        }
        let r_at = |s: f64| (across * across + (s - along) * (s - along)).sqrt();
        // The surface cannot be lower than the lowest tip plus the profile at the nearest
        // approach: exact for a level move, a cheap bound for a ramp.
        let floor = z_low + p.height(r_at(along.clamp(lo, hi)));
        if self.dz == 0.0 || floor >= above {
            return (floor < above).then_some(floor);
        }
        let f = |s: f64| {
            let s = s.clamp(lo, hi);
            self.from[2] + self.dz * (s / self.len) + p.height(r_at(s))
        };
        let kappa = self.dz.abs() / self.len;
        let toward = if self.dz > 0.0 { -1.0 } else { 1.0 };
        // On the move's line (`across` 0) a vee with a sharp tip has a kink at `along`: the
        // cone's root is then 0, so `along` is among the candidates.
        let mut best = f(lo).min(f(hi));
        let mut try_v = |v: f64| best = best.min(f(along + toward * v));
        let e2 = across * across;
        if p.flat > across {
            try_v((p.flat * p.flat - e2).sqrt());
        }
        if let Some(Round { rc, end }) = p.round {
            if p.flat == 0.0 {
                // Sphere: -kappa + v / sqrt(rc^2 - e^2 - v^2) = 0.
                if rc > across {
                    try_v(((rc * rc - e2) / (1.0 / (kappa * kappa) + 1.0)).sqrt());
                }
            } else {
                try_v(torus_root(p.flat, rc, end.min(p.radius), across, kappa));
            }
        }
        if let Some(cone) = p.cone {
            // Cone: -kappa + v / (r tan) = 0, so v / r = kappa tan.
            let q = kappa * cone.tan;
            if q < 1.0 {
                try_v(q * across / (1.0 - q * q).sqrt());
            }
        }
        Some(best)
    }
}

/// Where `-kappa + h'(r) v / r` vanishes on a torus (section circle of radius `rc` centred
/// `flat` from the axis) between `r = max(flat, across)` and `r_end`, with
/// `r = sqrt(across^2 + v^2)`; an end of that range if it does not vanish there.
///
/// The function increases with `v` (the profile is convex); bisection keeps `lo` on its
/// negative side, where it is at least `-kappa`, so the height at `lo` exceeds the minimum by
/// at most `kappa (hi - lo)`: under [`TORUS_TOLERANCE`] on return.
fn torus_root(flat: f64, rc: f64, r_end: f64, across: f64, kappa: f64) -> f64 {
    let e2 = across * across;
    let slope = |v: f64| {
        let r = (e2 + v * v).sqrt();
        let d = r - flat;
        // v / r tends to 1 at the axis (only reached when the torus starts there).
        let ratio = if r > 0.0 { v / r } else { 1.0 };
        d * ratio / (rc * rc - d * d).max(0.0).sqrt() - kappa
    };
    let r_start = flat.max(across).max(0.0);
    let (mut lo, mut hi) = ((r_start * r_start - e2).max(0.0).sqrt(), (r_end * r_end - e2).max(0.0).sqrt());
    if slope(lo).is_nan() || slope(lo) >= 0.0 {
        return lo;
    }
    if slope(hi) < 0.0 {
        return hi;
    }
    for _ in 0..200 {
        if (hi - lo) * kappa <= TORUS_TOLERANCE {
            break;
        }
        let mid = 0.5 * (lo + hi);
        if slope(mid) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}
