//! The stock materials a die or a medal is cut in, and the cutting data each gives a tool:
//! surface speed, chip load per tooth, step-down and ramp angle. Starting values from the
//! published data machine-time.md gathers (ISCAR, ATA/Karnasch, Harvey Tool); the tool
//! maker's chart wins, and every value stays overridable per tool in the job.

/// A stock material and its starting cutting data for solid carbide micro tools.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Material {
    /// The name the job and `--material` give.
    pub name: &'static str,
    /// Other names it goes by, matched like the name.
    pub aliases: &'static [&'static str],
    /// What it is, for the report.
    pub description: &'static str,
    /// Cutting speed of carbide, in m/min: the spindle turns at it, up to the machine's
    /// maximum (every engraving tool is small enough to reach that maximum first but in
    /// aluminium).
    pub surface_speed_m_per_min: f64,
    /// Chip load per tooth of a flat end mill 0.3 mm across, in mm.
    pub chip_load_03_mm: f64,
    /// Chip load per tooth of a flat end mill 1 mm across, in mm: in between, in proportion
    /// to the diameter between the two; outside, in proportion to the diameter.
    pub chip_load_1_mm: f64,
    /// Chip load per tooth of a vee or tapered ball, in mm: its chip runs along the edge at
    /// about the feed per tooth, whatever its small section.
    pub chip_load_tapered_mm: f64,
    /// Step-downs as a share of the die-steel defaults (0.1 D for flat tools of 1 mm and
    /// more, 0.15 D below, 0.4 of a tapered tool's tip).
    pub stepdown_share: f64,
    /// Entry ramps and helices, in degrees from horizontal.
    pub ramp_angle_deg: f64,
}

/// Every built-in material. The steels' and the brass's and zinc alloy's chip loads are the
/// middles of machine-time.md's ranges (annealed C45/P20, annealed H13/D2, brass/zinc alloy),
/// but C45's flat tools', which keep medalcam's earlier die-steel defaults (1 % of the
/// diameter, the top of the C45 range); copper,
/// aluminium and hardened die steel are scaled from them by the usual ratios (copper and
/// aluminium as soft non-ferrous metals, hardened steel at about half annealed H13): check
/// them against the tool maker's chart.
pub const MATERIALS: &[Material] = &[
    Material {
        name: "c45",
        aliases: &["45#", "s45c", "1045", "ck45", "die-steel"],
        description: "C45 / 45# medium-carbon steel, annealed: the usual medal die steel",
        surface_speed_m_per_min: 150.0,
        chip_load_03_mm: 0.003,
        chip_load_1_mm: 0.01,
        chip_load_tapered_mm: 0.005,
        stepdown_share: 1.0,
        ramp_angle_deg: 2.0,
    },
    Material {
        name: "p20",
        aliases: &["1.2311", "3cr2mo"],
        description: "P20 / 1.2311 mould steel, pre-hardened to about 30 HRC",
        surface_speed_m_per_min: 120.0,
        chip_load_03_mm: 0.003,
        chip_load_1_mm: 0.008,
        chip_load_tapered_mm: 0.005,
        stepdown_share: 1.0,
        ramp_angle_deg: 2.0,
    },
    Material {
        name: "h13",
        aliases: &["1.2344", "4cr5mosiv1", "h13-annealed"],
        description: "H13 / 1.2344 hot-work steel, annealed",
        surface_speed_m_per_min: 100.0,
        chip_load_03_mm: 0.0025,
        chip_load_1_mm: 0.005,
        chip_load_tapered_mm: 0.004,
        stepdown_share: 1.0,
        ramp_angle_deg: 2.0,
    },
    Material {
        name: "d2",
        aliases: &["cr12mov", "1.2379", "skd11", "d2-annealed"],
        description: "D2 / Cr12MoV / 1.2379 cold-work steel, annealed",
        surface_speed_m_per_min: 80.0,
        chip_load_03_mm: 0.0025,
        chip_load_1_mm: 0.005,
        chip_load_tapered_mm: 0.0035,
        stepdown_share: 1.0,
        ramp_angle_deg: 2.0,
    },
    Material {
        name: "hardened-steel",
        aliases: &["hardened", "hardened-die-steel"],
        description: "die steel hardened to 50-60 HRC",
        surface_speed_m_per_min: 60.0,
        chip_load_03_mm: 0.002,
        chip_load_1_mm: 0.003,
        chip_load_tapered_mm: 0.002,
        stepdown_share: 0.5,
        ramp_angle_deg: 1.0,
    },
    Material {
        name: "brass",
        aliases: &["cuzn37", "cuzn39pb3", "c36000"],
        description: "brass",
        surface_speed_m_per_min: 250.0,
        chip_load_03_mm: 0.0045,
        chip_load_1_mm: 0.0135,
        chip_load_tapered_mm: 0.007,
        stepdown_share: 2.0,
        ramp_angle_deg: 3.0,
    },
    Material {
        name: "zinc",
        aliases: &["zinc-alloy", "zamak", "zamak-3", "zamak-5"],
        description: "zinc alloy (zamak), as cast",
        surface_speed_m_per_min: 300.0,
        chip_load_03_mm: 0.0045,
        chip_load_1_mm: 0.0135,
        chip_load_tapered_mm: 0.007,
        stepdown_share: 2.0,
        ramp_angle_deg: 3.0,
    },
    Material {
        name: "copper",
        aliases: &["cu", "c11000"],
        description: "copper (soft, gummy: sharp tools, the chip load of brass less a tenth)",
        surface_speed_m_per_min: 200.0,
        chip_load_03_mm: 0.004,
        chip_load_1_mm: 0.012,
        chip_load_tapered_mm: 0.006,
        stepdown_share: 1.5,
        ramp_angle_deg: 3.0,
    },
    Material {
        name: "aluminium",
        aliases: &["aluminum", "al", "6061", "7075"],
        description: "aluminium alloy",
        surface_speed_m_per_min: 300.0,
        chip_load_03_mm: 0.005,
        chip_load_1_mm: 0.015,
        chip_load_tapered_mm: 0.008,
        stepdown_share: 2.0,
        ramp_angle_deg: 3.0,
    },
];

/// The material when the job names none: annealed C45, whose chip loads are the die-steel
/// defaults medalcam always had.
pub const DEFAULT_MATERIAL: &str = "c45";

/// The material called `name` (or one of its aliases), any case.
#[must_use]
pub fn find(name: &str) -> Option<&'static Material> {
    let name = name.trim().to_ascii_lowercase();
    MATERIALS.iter().find(|m| m.name == name || m.aliases.contains(&name.as_str()))
}

impl Material {
    /// Chip load per tooth of a tool of `kind` whose section at one step-down is `diameter`
    /// mm across, in mm (before the least chip a tool of that kind needs).
    #[must_use]
    pub fn chip_load(&self, tapered: bool, diameter: f64) -> f64 {
        if tapered {
            return self.chip_load_tapered_mm;
        }
        let (a, b) = (self.chip_load_03_mm, self.chip_load_1_mm);
        if diameter <= 0.3 {
            a * diameter / 0.3
        } else if diameter <= 1.0 {
            a + (b - a) * (diameter - 0.3) / 0.7
        } else {
            b * diameter
        }
    }

    /// The spindle speed at which a tool `diameter` mm across cuts at the surface speed.
    #[must_use]
    pub fn rpm(&self, diameter: f64) -> f64 {
        self.surface_speed_m_per_min * 1000.0 / (std::f64::consts::PI * diameter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_find_their_material() {
        assert_eq!(find("45#").map(|m| m.name), Some("c45"));
        assert_eq!(find(" Cr12MoV ").map(|m| m.name), Some("d2"));
        assert_eq!(find("Zamak").map(|m| m.name), Some("zinc"));
        assert_eq!(find("unobtainium"), None);
        assert!(find(DEFAULT_MATERIAL).is_some());
        // No name or alias is claimed twice.
        let mut names: Vec<&str> =
            MATERIALS.iter().flat_map(|m| std::iter::once(m.name).chain(m.aliases.iter().copied())).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn the_default_material_gives_the_die_steel_chip_loads() {
        // 1 % of the diameter from 0.3 mm up: what medalcam's die-steel default always was.
        let c45 = find(DEFAULT_MATERIAL).unwrap();
        for d in [0.2, 0.3, 0.5, 0.6, 1.0, 2.0, 3.175] {
            assert!((c45.chip_load(false, d) - 0.01 * d).abs() < 1e-12, "{d}");
        }
        // Brass takes about 1.5 times the chip of annealed steel, hardened steel less.
        let brass = find("brass").unwrap();
        let hard = find("hardened-steel").unwrap();
        assert!(brass.chip_load(false, 1.0) > 1.3 * c45.chip_load(false, 1.0));
        assert!(hard.chip_load(false, 1.0) < c45.chip_load(false, 1.0));
    }
}
