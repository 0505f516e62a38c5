//! Cutters and their exact shape (domain reference §2.2).
//!
//! A cutter is described by its profile: the radius of the cutting surface at a height above
//! the tip ([`Tool::radius_at`]), or its inverse, the height of the cutting surface above the
//! tip at a distance from the axis ([`Tool::height_at`]). Both are exact for every kind:
//!
//! | kind | profile |
//! | --- | --- |
//! | flat | radius D/2 from the tip up |
//! | ball | a sphere of radius D/2, then a cylinder |
//! | bull | a flat of radius D/2 - rc, a torus of radius rc, then a cylinder |
//! | vee | a flat tip of diameter t, a cone of half angle θ/2 up to diameter D |
//! | tapered-ball | a ball of diameter t, tangent to a cone of half angle θ/2, up to diameter D |

/// The shape of a cutter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToolKind {
    /// Flat end mill.
    Flat,
    /// Ball end mill.
    Ball,
    /// Bull nose: a flat end with a corner radius.
    Bull,
    /// V-bit or tapered flat: a cone with a flat tip.
    Vee,
    /// Tapered ball: a cone ending in a ball.
    TaperedBall,
}

impl ToolKind {
    /// The name used in job files and reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ToolKind::Flat => "flat",
            ToolKind::Ball => "ball",
            ToolKind::Bull => "bull",
            ToolKind::Vee => "vee",
            ToolKind::TaperedBall => "tapered-ball",
        }
    }

    /// The kind named `name` in a job file.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [ToolKind::Flat, ToolKind::Ball, ToolKind::Bull, ToolKind::Vee, ToolKind::TaperedBall]
            .into_iter()
            .find(|k| k.name() == name)
    }

    /// Whether the cutter has a conical flank, which leaves drafted walls.
    #[must_use]
    pub fn is_tapered(self) -> bool {
        matches!(self, ToolKind::Vee | ToolKind::TaperedBall)
    }
}

/// A cutter with its resolved cutting data.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    /// Tool number in the machine's magazine (`T` word).
    pub number: u32,
    /// Cutter shape.
    pub kind: ToolKind,
    /// Largest cutting diameter in mm (the top of the cone for tapered kinds).
    pub diameter_mm: f64,
    /// Vee: diameter of the flat tip; tapered ball: diameter of the ball; 0 otherwise.
    pub tip_diameter_mm: f64,
    /// Included angle of the cone in degrees (vee, tapered ball); 0 otherwise.
    pub included_angle_deg: f64,
    /// Corner radius in mm: bull as given, ball D/2; 0 otherwise.
    pub corner_radius_mm: f64,
    /// Length of the flutes: the deepest the tool can cut.
    pub flute_length_mm: f64,
    /// Diameter of the shank above the flutes.
    pub shank_diameter_mm: f64,
    /// Number of flutes.
    pub flutes: u32,
    /// Radial step between rings, in mm.
    pub stepover_mm: f64,
    /// Maximum axial depth of one pass, in mm.
    pub stepdown_mm: f64,
    /// Spindle speed.
    pub spindle_rpm: f64,
    /// Feed for cutting moves.
    pub feed_mm_per_min: f64,
    /// Feed for plunges and ramps.
    pub plunge_mm_per_min: f64,
    /// What the machine's limits clamped of the cutting data, one note each (the key, the
    /// value kept, what asked for more): for the report and the program's header.
    pub limits: Vec<String>,
}

impl Tool {
    /// A flat end mill of `diameter_mm` with cutting data fit for tests and examples.
    #[must_use]
    pub fn flat(number: u32, diameter_mm: f64) -> Self {
        Self {
            number,
            kind: ToolKind::Flat,
            diameter_mm,
            tip_diameter_mm: 0.0,
            included_angle_deg: 0.0,
            corner_radius_mm: 0.0,
            flute_length_mm: 3.0 * diameter_mm,
            shank_diameter_mm: diameter_mm,
            flutes: 2,
            stepover_mm: 0.4 * diameter_mm,
            stepdown_mm: 0.1 * diameter_mm,
            spindle_rpm: 10_000.0,
            feed_mm_per_min: 200.0,
            plunge_mm_per_min: 100.0,
            limits: Vec::new(),
        }
    }

    /// Largest cutting radius.
    #[must_use]
    pub fn radius(&self) -> f64 {
        self.diameter_mm / 2.0
    }

    /// Half the included angle, in radians (0 for untapered kinds).
    #[must_use]
    pub fn half_angle(&self) -> f64 {
        if self.kind.is_tapered() {
            (self.included_angle_deg / 2.0).to_radians()
        } else {
            0.0
        }
    }

    /// Radius of the cutting surface at height `h` mm above the tip (0 below the tip).
    #[must_use]
    pub fn radius_at(&self, h: f64) -> f64 {
        if h < 0.0 {
            return 0.0;
        }
        let big = self.radius();
        let r = match self.kind {
            ToolKind::Flat => big,
            ToolKind::Ball | ToolKind::Bull => {
                let rc = self.corner_radius_mm;
                let flat = big - rc;
                if h >= rc {
                    big
                } else {
                    flat + (rc * rc - (rc - h) * (rc - h)).max(0.0).sqrt()
                }
            }
            ToolKind::Vee => self.tip_diameter_mm / 2.0 + h * self.half_angle().tan(),
            ToolKind::TaperedBall => {
                let (rt, a) = (self.tip_diameter_mm / 2.0, self.half_angle());
                let tangent_h = rt * (1.0 - a.sin());
                if h <= tangent_h {
                    (rt * rt - (rt - h) * (rt - h)).max(0.0).sqrt()
                } else {
                    rt * a.cos() + (h - tangent_h) * a.tan()
                }
            }
        };
        r.min(big)
    }

    /// Height of the cutting surface above the tip at distance `r` mm from the axis; infinite
    /// beyond the cutting radius.
    #[must_use]
    pub fn height_at(&self, r: f64) -> f64 {
        let big = self.radius();
        if r > big {
            return f64::INFINITY;
        }
        match self.kind {
            ToolKind::Flat => 0.0,
            ToolKind::Ball | ToolKind::Bull => {
                let rc = self.corner_radius_mm;
                let flat = big - rc;
                if r <= flat {
                    0.0
                } else {
                    let d = r - flat;
                    rc - (rc * rc - d * d).max(0.0).sqrt()
                }
            }
            ToolKind::Vee => {
                let tip = self.tip_diameter_mm / 2.0;
                if r <= tip {
                    0.0
                } else {
                    (r - tip) / self.half_angle().tan()
                }
            }
            ToolKind::TaperedBall => {
                let (rt, a) = (self.tip_diameter_mm / 2.0, self.half_angle());
                let tangent_r = rt * a.cos();
                if r <= tangent_r {
                    rt - (rt * rt - r * r).max(0.0).sqrt()
                } else {
                    rt * (1.0 - a.sin()) + (r - tangent_r) / a.tan()
                }
            }
        }
    }

    /// Radius of the part of the tip that cuts within `tolerance` mm of the tip's level: the
    /// floor it leaves flat in one pass.
    #[must_use]
    pub fn floor_radius(&self, tolerance: f64) -> f64 {
        self.radius_at(tolerance)
    }

    /// How far the tool centre must stay from the top edge of a wall that runs from `height`
    /// mm above the tip down to the tip, so that no point of the cutter crosses the wall,
    /// when the wall leans back by `draft` radians (0 for a vertical wall).
    ///
    /// The cutter's section at height u above the tip has radius `radius_at(u)`; the wall at
    /// that height stands `(height - u) tan(draft)` further in than at its top. The clearance
    /// is the largest of their sum over u in [0, height]: a concave function of u for every
    /// kind (a concave profile plus a linear term), maximised by golden-section search.
    #[must_use]
    pub fn wall_clearance(&self, height: f64, draft: f64) -> f64 {
        let slope = draft.tan();
        let f = |u: f64| self.radius_at(u) + (height - u) * slope;
        if height <= 0.0 {
            return self.radius_at(0.0);
        }
        if slope == 0.0 {
            return f(height);
        }
        let (mut lo, mut hi) = (0.0, height);
        let g = (5f64.sqrt() - 1.0) / 2.0;
        for _ in 0..80 {
            let a = hi - g * (hi - lo);
            let b = lo + g * (hi - lo);
            if f(a) < f(b) {
                lo = a;
            } else {
                hi = b;
            }
        }
        f(0.0).max(f(height)).max(f((lo + hi) / 2.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(kind: ToolKind, d: f64, tip: f64, angle: f64, rc: f64) -> Tool {
        Tool {
            kind,
            diameter_mm: d,
            tip_diameter_mm: tip,
            included_angle_deg: angle,
            corner_radius_mm: rc,
            ..Tool::flat(1, d)
        }
    }

    #[test]
    fn vee_groove_width_matches_the_domain_table() {
        // domain.md §2.2: t = 0.1, included 20 degrees: 0.135 at 0.1 deep, 0.453 at 1.0.
        let v = tool(ToolKind::Vee, 3.0, 0.1, 20.0, 0.0);
        assert!((2.0 * v.radius_at(0.1) - 0.135).abs() < 5e-4);
        assert!((2.0 * v.radius_at(1.0) - 0.453).abs() < 5e-4);
        let v = tool(ToolKind::Vee, 3.0, 0.1, 90.0, 0.0);
        assert!((2.0 * v.radius_at(0.5) - 1.1).abs() < 5e-4);
    }

    #[test]
    fn tapered_ball_matches_the_domain_example() {
        // r = 0.1, half angle 10 degrees: diameter 0.34 at 0.5 mm up, 0.52 at 1.0 mm.
        let t = tool(ToolKind::TaperedBall, 3.0, 0.2, 20.0, 0.0);
        assert!((2.0 * t.radius_at(0.5) - 0.34).abs() < 0.01, "{}", 2.0 * t.radius_at(0.5));
        assert!((2.0 * t.radius_at(1.0) - 0.52).abs() < 0.01, "{}", 2.0 * t.radius_at(1.0));
    }

    #[test]
    fn height_is_the_inverse_of_radius() {
        for t in [
            tool(ToolKind::Flat, 1.0, 0.0, 0.0, 0.0),
            tool(ToolKind::Ball, 1.0, 0.0, 0.0, 0.5),
            tool(ToolKind::Bull, 1.0, 0.0, 0.0, 0.2),
            tool(ToolKind::Vee, 2.0, 0.1, 30.0, 0.0),
            tool(ToolKind::TaperedBall, 2.0, 0.2, 20.0, 0.0),
        ] {
            for i in 1..100 {
                let h = f64::from(i) * 0.01;
                let r = t.radius_at(h);
                if r < t.radius() - 1e-9 {
                    assert!((t.height_at(r) - h).abs() < 1e-9, "{:?} h {h} r {r} back {}", t.kind, t.height_at(r));
                }
            }
            assert_eq!(t.height_at(t.radius() + 1e-6), f64::INFINITY);
        }
    }

    #[test]
    fn wall_clearance_of_a_cone_on_its_own_draft_is_constant_along_the_wall() {
        let v = tool(ToolKind::Vee, 3.0, 0.1, 20.0, 0.0);
        let draft = v.half_angle();
        // The cone lies on the drafted wall: the clearance is the tip radius plus the wall's
        // lean over the height.
        let c = v.wall_clearance(0.3, draft);
        assert!((c - (0.05 + 0.3 * draft.tan())).abs() < 1e-9, "{c}");
        // A flat tool under the same draft must stay clear at the foot of the wall.
        let f = tool(ToolKind::Flat, 1.0, 0.0, 0.0, 0.0);
        assert!((f.wall_clearance(0.3, draft) - (0.5 + 0.3 * draft.tan())).abs() < 1e-9);
        // Vertical walls: the widest section that is below the top.
        assert!((v.wall_clearance(0.3, 0.0) - v.radius_at(0.3)).abs() < 1e-12);
        // A ball's section grows faster than a 10 degree draft near its tip: the clearance is
        // at an inner height, above both ends' values.
        let b = tool(ToolKind::Ball, 1.0, 0.0, 0.0, 0.5);
        let c = b.wall_clearance(0.3, draft);
        assert!(c >= b.radius_at(0.3) && c >= 0.3 * draft.tan());
    }
}
