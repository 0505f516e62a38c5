//! Stage 2: [`Artwork`] to [`Relief`], the depth levels of the die in machine coordinates.
//!
//! Each shape gets a depth: from the first [`Rule`] that matches its fill colour, id (its
//! own or an enclosing group's), class or Inkscape layer, else from the
//! [`DefaultDepth`]. Paint order then decides what is seen, as a renderer would: a shape
//! keeps only the part no later shape covers (a rule with depth 0 leaves its shape uncut and
//! still covers what lies beneath). The visible parts become disjoint [`Region`]s, one per
//! depth, touching parts of equal depth merged.
//!
//! Guarantees of the output: coordinates are machine X/Y in mm with the die centre at the
//! origin. For a die the artwork is mirrored in X (the die is the negative of the medal, so
//! its design reads backwards); for a hub it is not, and the hub is cut where the medal is
//! low: to `Hmax - depth`, with the unpainted blank cut to `Hmax`, the deepest die depth.
//! Levels are sorted from shallow to deep and nested: each level's `area` is everything that
//! must be cut to at least its depth, so a deeper level's area lies inside every shallower
//! one. Depths are rounded to 1 um.

use std::collections::BTreeMap;

use kurbo::Affine;
use rayon::prelude::*;

use crate::artwork::Artwork;
use crate::error::{Error, Result};
use crate::geom::{self, Shape, Shapes};
use crate::job::Target;
use crate::{Warning, WarningKind};

mod carved;
mod design;
mod groove;
mod rules;

pub use design::{check_design, Finding};
pub use groove::Groove;
use rules::{check_depths, depth_of, shades};
pub use rules::{
    lightness, shades_merged, DefaultDepth, ReliefOptions, Rule, Selector, Shade, Strategy, DEFAULT_LEVEL_STEP_MM,
};

/// The die as depth levels.
#[derive(Debug, Clone)]
pub struct Relief {
    /// What is being cut.
    pub target: Target,
    /// Maps the SVG's viewBox units to machine X/Y in mm, mirroring included.
    pub placement: Affine,
    /// Disjoint regions, one per depth, shallow to deep; depth 0 is not listed.
    pub regions: Vec<Region>,
    /// Nested levels, shallow to deep.
    pub levels: Vec<Level>,
    /// The blank around the design (the artwork's viewport), in machine mm.
    pub blank: Shapes,
    /// The colours whose depth luminance set, with their depths.
    pub shades: Vec<Shade>,
    /// The slope of V-carved walls, horizontal run per mm of depth ([`ReliefOptions::vcarve_slope`]).
    pub vcarve_slope: f64,
    /// Where the carving bit's flank, carried down to its tip, is from its axis, in mm
    /// ([`ReliefOptions::vcarve_tip_radius_mm`]): the bottom of a V it leaves that much wide.
    pub vcarve_tip_radius_mm: f64,
    /// The lines engraved along their centres, in paint order. They cover nothing: each is cut
    /// from the die face into whatever lies below.
    pub grooves: Vec<Groove>,
    /// What the flattening approximated or left out: engraved widths it could not give,
    /// hairlines no rule engraves.
    pub warnings: Vec<Warning>,
    /// The width of the chamfer the carving bit cuts along the top edge of the walls, in mm
    /// ([`ReliefOptions::chamfer_mm`]; 0: none).
    pub chamfer_mm: f64,
}

impl Relief {
    /// The box `[min_x, min_y, max_x, max_y]` in mm of everything cut, `None` when nothing is.
    #[must_use]
    pub fn bounds(&self) -> Option<[f64; 4]> {
        let levels = geom::bounds(self.levels.iter().flat_map(|l| l.area.iter().flatten()));
        let regions = geom::bounds(self.regions.iter().flat_map(|r| r.area.iter().flatten()));
        let grooves = self.grooves.iter().filter_map(Groove::bounds);
        levels
            .into_iter()
            .chain(regions)
            .chain(grooves)
            .reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])])
    }

    /// The deepest cut's depth in mm (0 when nothing is cut).
    #[must_use]
    pub fn deepest_mm(&self) -> f64 {
        let levels = self.levels.iter().map(|l| l.depth_mm);
        levels.chain(self.grooves.iter().map(|g| g.depth_mm)).fold(0.0, f64::max)
    }
}

/// The part of the die cut to exactly one depth.
#[derive(Debug, Clone)]
pub struct Region {
    /// Depth below the die face in mm (positive).
    pub depth_mm: f64,
    /// The area, disjoint from every other region's.
    pub area: Shapes,
    /// What gave these shapes their depth (`fill #d4af37`, `luminance`), each once.
    pub sources: Vec<String>,
    /// How it is cut. A V-carved region's walls slope at [`Relief::vcarve_slope`] from its
    /// outline, so its levels hold only its floor: the area that far inside the outline.
    pub strategy: Strategy,
    /// For each shape of `area`, the depth of the shallowest region next to its outline (0:
    /// the die face). A V-carved shape's walls start there and slope down from its outline:
    /// a letter carved into a field starts from the field's floor. 0 for pocketed shapes.
    pub surround_mm: Vec<f64>,
}

/// Everything that must be cut to at least one depth.
#[derive(Debug, Clone)]
pub struct Level {
    /// Depth below the die face in mm (positive).
    pub depth_mm: f64,
    /// The area to cut, as disjoint polygons in machine mm.
    pub area: Shapes,
}

/// Builds the die's depth levels from the artwork.
///
/// # Errors
///
/// [`Error::Setting`] for a depth that is negative, not finite or deeper than
/// `max_depth_mm`, and [`Error::NothingToEngrave`] when nothing is to be cut.
pub fn build(artwork: &Artwork, options: &ReliefOptions) -> Result<Relief> {
    check_depths(options)?;
    let (painted, mut grooves, warnings) = flatten(artwork, options)?;
    let mirror = if options.target.mirrored() { Affine::FLIP_X } else { Affine::IDENTITY };
    let mut blank = artwork.viewport.clone();
    let mut regions = match options.target {
        Target::Die => painted.into_iter().filter(|r| r.depth_mm > 0.0).collect(),
        Target::Hub => hub_regions(painted, &blank)?,
    };
    if let (Some(radius), Target::Die) = (options.auto_vcarve_radius_mm, options.target) {
        regions = carved::auto_vcarved(regions, radius)?;
    }
    carved::surround(&mut regions);
    if options.target.mirrored() {
        for region in &mut regions {
            region.area = mirrored(&region.area);
        }
        for point in grooves.iter_mut().flat_map(|g| g.paths.iter_mut()).flat_map(|p| p.points.iter_mut()) {
            point[0] = -point[0];
        }
        blank = mirrored(&blank);
    }
    if regions.is_empty() && grooves.is_empty() {
        let hairlines = artwork.shapes.iter().filter(|s| s.polygons.is_empty()).count();
        return Err(if hairlines > 0 && hairlines == artwork.shapes.len() {
            Error::OnlyHairlines(hairlines)
        } else {
            Error::NothingToEngrave
        });
    }
    let levels = nest(&regions, options.vcarve_slope)?;
    let shades = shades(artwork, options);
    let (placement, vcarve_slope, vcarve_tip_radius_mm) =
        (mirror * artwork.placement, options.vcarve_slope, options.vcarve_tip_radius_mm);
    Ok(Relief {
        target: options.target,
        placement,
        regions,
        levels,
        blank,
        shades,
        vcarve_slope,
        vcarve_tip_radius_mm,
        grooves,
        warnings,
        chamfer_mm: options.chamfer_mm,
    })
}

/// Depths are kept in whole 1 um steps, so equal depths compare equal.
fn depth_key(depth_mm: f64) -> i64 {
    (depth_mm * 1e3).round() as i64
}

/// Paint-order flattening: the visible part of every shape, merged per depth (including 0);
/// the grooves of the engraved lines, less what later shapes hide; and what was approximated.
fn flatten(artwork: &Artwork, options: &ReliefOptions) -> Result<(Vec<Region>, Vec<Groove>, Vec<Warning>)> {
    let depths: Vec<(f64, String, Strategy)> = artwork.shapes.iter().map(|shape| depth_of(shape, options)).collect();
    // An engraved line covers nothing: it is cut into what lies below.
    let engraved = |k: usize| {
        let (depth, _, strategy) = &depths[k];
        *strategy == Strategy::Engrave && *depth > 0.0 && artwork.shapes[k].centreline.is_some()
    };
    let none = Vec::new();
    let layers: Vec<&Shapes> =
        artwork.shapes.iter().enumerate().map(|(k, shape)| if engraved(k) { &none } else { &shape.polygons }).collect();
    let visible = geom::visible_parts(&layers).map_err(|(i, source)| Error::Geometry {
        at: format!("the visible part of shape {}", artwork.shapes[i].id),
        source,
    })?;
    let mut by_depth: BTreeMap<(i64, Strategy), (Shapes, Vec<String>)> = BTreeMap::new();
    for (visible, (depth, source, strategy)) in visible.into_iter().zip(&depths).rev() {
        if visible.is_empty() {
            continue;
        }
        // A fill in an engraved layer has no line to follow: it is V-carved.
        let strategy = match strategy {
            _ if *depth <= 0.0 => Strategy::Pocket,
            Strategy::Engrave => Strategy::VCarve,
            other => *other,
        };
        let entry = by_depth.entry((depth_key(*depth), strategy)).or_default();
        entry.0.extend(visible);
        if !entry.1.contains(source) {
            entry.1.push(source.clone());
        }
    }
    let regions: Vec<Region> = by_depth
        .into_iter()
        .map(|((key, strategy), (area, sources))| region(key, &area, sources, strategy))
        .collect::<Result<_>>()?;
    let (grooves, mut warnings) = grooves(artwork, options, &depths, &layers, engraved)?;
    let mut hairlines = artwork.shapes.iter().enumerate().filter(|&(k, s)| s.polygons.is_empty() && !engraved(k));
    if let Some((_, first)) = hairlines.next() {
        let reason = format!(
            "{} lines without a fill or a stroke width (hairlines) are cut only by a layer rule of strategy \
             engrave (e.g. --layer none=engrave): left out",
            1 + hairlines.count()
        );
        warnings.push(Warning::new(WarningKind::Unsupported, &first.id, &reason));
    }
    Ok((regions, grooves, warnings))
}

/// The grooves of the shapes `engraved` picks, in paint order, each less what the `layers`
/// painted after it hide, with a warning per groove whose width could not be had.
fn grooves(
    artwork: &Artwork,
    options: &ReliefOptions,
    depths: &[(f64, String, Strategy)],
    layers: &[&Shapes],
    engraved: impl Fn(usize) -> bool + Sync,
) -> Result<(Vec<Groove>, Vec<Warning>)> {
    let bit = groove::Bit { slope: options.vcarve_slope, tip_radius_mm: options.vcarve_tip_radius_mm };
    let picked: Vec<usize> = (0..artwork.shapes.len()).filter(|&k| engraved(k)).collect();
    let made: Vec<_> = picked
        .par_iter()
        .map(|&k| {
            let shape = &artwork.shapes[k];
            let (depth, source, _) = &depths[k];
            let least = options.level_step_mm;
            let Some((groove, warning)) = groove::groove(shape, *depth, least, bit, source.clone()) else {
                return Ok(None);
            };
            // What the shapes painted after it hide, near enough to matter.
            let near = groove.bounds().unwrap_or_default();
            let over = |shape: &Shape| {
                geom::bounds(shape.iter())
                    .is_some_and(|b| b[0] <= near[2] && b[2] >= near[0] && b[1] <= near[3] && b[3] >= near[1])
            };
            let later: Shapes = layers[k + 1..].iter().flat_map(|l| l.iter()).filter(|s| over(s)).cloned().collect();
            let at = |source| Error::Geometry { at: format!("the engraved line {}", shape.id), source };
            let cover = geom::union(&later).map_err(at)?;
            let groove = groove::uncovered(groove, &cover).map_err(at)?;
            Ok((!groove.paths.is_empty()).then_some((groove, warning)))
        })
        .collect::<Result<_>>()?;
    let (mut grooves, mut warnings) = (Vec::new(), Vec::new());
    for (groove, warning) in made.into_iter().flatten() {
        grooves.push(groove);
        warnings.extend(warning);
    }
    Ok((grooves, warnings))
}

/// The region `key` um deep: the union of `area`.
fn region(key: i64, area: &[Shape], sources: Vec<String>, strategy: Strategy) -> Result<Region> {
    let depth_mm = key as f64 / 1e3;
    let area = geom::union(area).map_err(|source| Error::Geometry { at: level_name(depth_mm), source })?;
    let surround_mm = vec![0.0; area.len()];
    Ok(Region { depth_mm, area, sources, strategy, surround_mm })
}

/// How messages name the level `depth_mm` deep.
fn level_name(depth_mm: f64) -> String {
    format!("the level {depth_mm} mm deep")
}

/// The hub: where the medal is low the hub is cut, to `Hmax - depth`; the unpainted blank
/// to `Hmax`.
fn hub_regions(painted: Vec<Region>, blank: &Shapes) -> Result<Vec<Region>> {
    let h_max = painted.iter().map(|r| r.depth_mm).fold(0.0, f64::max);
    let all: Shapes = painted.iter().flat_map(|r| r.area.iter().cloned()).collect();
    let background = geom::union(&all)
        .and_then(|all| geom::difference(blank, &all))
        .map_err(|source| Error::Geometry { at: "the blank".into(), source })?;
    let mut by_depth: BTreeMap<i64, (Shapes, Vec<String>)> = BTreeMap::new();
    for region in painted {
        let entry = by_depth.entry(depth_key(h_max - region.depth_mm)).or_default();
        entry.0.extend(region.area);
        entry.1.extend(region.sources);
    }
    let entry = by_depth.entry(depth_key(h_max)).or_default();
    entry.0.extend(background);
    entry.1.push("blank".into());
    let regions = by_depth
        .into_iter()
        .filter(|(key, _)| *key > 0)
        .map(|(key, (area, sources))| region(key, &area, sources, Strategy::Pocket));
    regions.filter(|r| r.as_ref().map_or(true, |r| !r.area.is_empty())).collect()
}

/// Slits narrower than twice this are closed in each level, in mm (about three steps of the
/// booleans' grid).
const SLIT_MM: f64 = 0.000_05;

/// `area` with its slits closed. Regions of one level whose shared edges come from separate
/// booleans can differ by a grid step, and their union then keeps a slit of no width between
/// them: a needle of the outline, which encloses nothing but is an edge to an offset (an
/// erosion makes it a slot as wide as the tool) and a wall to a check of the cut.
///
/// Grown by [`SLIT_MM`], the slits close; shrunk back by three times that, the area lies
/// inside the level but for the slits, which are deep inside it. Its union with the level
/// fills them and leaves every other edge where it was.
fn close_slits(area: &Shapes) -> geom::Result<Shapes> {
    let closed = geom::offset(&geom::offset(area, SLIT_MM)?, -3.0 * SLIT_MM)?;
    geom::union(&[area.clone(), closed].concat())
}

/// Nested level sets: for each depth, the union of the regions at least that deep (of a
/// V-carved one, its floor: its area eroded by its depth times `vcarve_slope`), with slits
/// closed (level by level in parallel: most of the time goes there).
fn nest(regions: &[Region], vcarve_slope: f64) -> Result<Vec<Level>> {
    let mut unions: Vec<(f64, Shapes)> = Vec::with_capacity(regions.len());
    let mut deeper: Shapes = Vec::new();
    for (k, region) in regions.iter().enumerate().rev() {
        let at = |source| Error::Geometry { at: level_name(region.depth_mm), source };
        let area = match region.strategy {
            Strategy::Pocket => region.area.clone(),
            Strategy::VCarve | Strategy::Engrave => {
                let floors = region.area.iter().zip(&region.surround_mm).map(|(shape, surround)| {
                    geom::offset(&vec![shape.clone()], -(region.depth_mm - surround) * vcarve_slope)
                });
                floors.collect::<geom::Result<Vec<Shapes>>>().map_err(at)?.concat()
            }
        };
        deeper = geom::union(&[std::mem::take(&mut deeper), area].concat()).map_err(at)?;
        // Regions of one depth (one of each strategy) make one level.
        if k == 0 || depth_key(regions[k - 1].depth_mm) != depth_key(region.depth_mm) {
            unions.push((region.depth_mm, deeper.clone()));
        }
    }
    unions.retain(|(_, area)| !area.is_empty());
    unions.reverse();
    unions
        .into_par_iter()
        .map(|(depth_mm, area)| {
            let area = close_slits(&area).map_err(|source| Error::Geometry { at: level_name(depth_mm), source })?;
            Ok(Level { depth_mm, area })
        })
        .collect()
}

fn mirrored(shapes: &Shapes) -> Shapes {
    let mut out = shapes.clone();
    for contour in out.iter_mut().flatten() {
        for p in contour.iter_mut() {
            p[0] = -p[0];
        }
        contour.reverse();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artwork::{import, ImportOptions};
    use crate::WarningKind;

    fn art(svg: &str) -> Artwork {
        import(svg.as_bytes(), &ImportOptions::default()).unwrap()
    }

    fn options(rules: Vec<Rule>, default_depth: DefaultDepth) -> ReliefOptions {
        ReliefOptions { rules, default_depth, max_depth_mm: 0.5, ..Default::default() }
    }

    const THREE: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="20mm" height="20mm" viewBox="0 0 20 20">
        <rect id="field" x="0" y="0" width="20" height="20" fill="#ffffff"/>
        <rect id="gold" x="2" y="2" width="10" height="10" fill="#d4af37"/>
        <rect id="cover" x="8" y="8" width="4" height="4" fill="#ffffff"/>
        <rect id="dark" x="14" y="2" width="4" height="4" fill="#000000"/></svg>"##;

    /// A 90 degree bit with a 0.1 mm flat.
    fn engraving(rules: Vec<Rule>) -> ReliefOptions {
        ReliefOptions { vcarve_slope: 1.0, vcarve_tip_radius_mm: 0.05, ..options(rules, DefaultDepth::Uncut) }
    }

    fn engraved(selector: Selector, depth_mm: f64) -> Rule {
        Rule { selector, depth_mm, strategy: Strategy::Engrave }
    }

    #[test]
    fn engraved_strokes_are_grooves_covering_nothing_and_fills_are_vcarved() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="20mm" height="20mm" viewBox="0 0 20 20">
            <rect id="field" x="0" y="0" width="10" height="20" fill="#808080"/>
            <path id="line" d="M 2 10 L 18 10" fill="none" stroke="#000" stroke-width="0.3"/>
            <rect id="badge" x="14" y="8" width="4" height="4" fill="#000"/>
            <path id="hatch" d="M 2 15 L 8 15" fill="none"/>
          </svg>"##;
        let rules = vec![
            Rule { selector: Selector::Id("field".into()), depth_mm: 0.2, strategy: Strategy::Pocket },
            engraved(Selector::Fill("#000000".into()), 0.4),
        ];
        let relief = build(&art(svg), &engraving(rules)).unwrap();
        // The field keeps its whole area: the line covers nothing.
        let field = relief.regions.iter().find(|r| r.depth_mm == 0.2).expect("the field");
        assert!((geom::shapes_area(&field.area) - 200.0).abs() < 1e-6);
        // The badge, a fill in an engraved layer, is V-carved.
        assert!(relief.regions.iter().any(|r| r.depth_mm == 0.4 && r.strategy == Strategy::VCarve));
        // The line: 0.3 mm wide is 0.1 mm deep; the badge painted over it hides its end, as far
        // as its groove would reach under it (half its width); mirrored with the die.
        assert_eq!(relief.grooves.len(), 1, "{:?}", relief.grooves);
        let groove = &relief.grooves[0];
        assert!((groove.depth_mm - 0.1).abs() < 1e-6 && (groove.width_mm - 0.3).abs() < 1e-6, "{groove:?}");
        let b = geom::bounds(groove.paths.iter().map(|p| &p.points)).unwrap();
        assert!((b[0] + 3.85).abs() < 1e-3 && (b[2] - 8.0).abs() < 1e-4, "{b:?}");
        // The hairline no rule engraves is named, not cut.
        assert!(
            relief.warnings.iter().any(|w| w.message.starts_with("1 lines without a fill")),
            "{:?}",
            relief.warnings
        );
        assert!((relief.deepest_mm() - 0.4).abs() < 1e-9);
    }

    #[test]
    fn hairlines_alone_are_engraved_only_when_a_rule_says_so() {
        let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="20mm" height="20mm" viewBox="0 0 20 20">
            <line x1="2" y1="2" x2="18" y2="18"/><path d="M 2 18 L 18 2" fill="none"/></svg>"#;
        let err = build(&art(svg), &engraving(Vec::new())).unwrap_err().to_string();
        assert!(
            err.contains("2 lines have no fill and no stroke width") && err.contains("--layer none=engrave"),
            "{err}"
        );
        let relief = build(&art(svg), &engraving(vec![engraved(Selector::Fill("none".into()), 0.05)])).unwrap();
        assert_eq!(relief.grooves.len(), 2);
        assert!(relief.grooves.iter().all(|g| g.depth_mm == 0.05 && (g.width_mm - 0.2).abs() < 1e-12));
        assert!(relief.levels.is_empty() && relief.warnings.is_empty());
        // Without a V-bit, the rule is refused.
        let rules = vec![engraved(Selector::Fill("none".into()), 0.05)];
        let err = build(&art(svg), &options(rules, DefaultDepth::Uncut)).unwrap_err().to_string();
        assert!(err.contains("Engraving needs a vee or tapered-ball tool"), "{err}");
    }

    #[test]
    fn auto_vcarve_takes_the_shapes_a_flat_tool_cannot_enter_carved_from_the_field_around_them() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="20mm" height="20mm" viewBox="0 0 20 20">
            <rect id="field" x="0" y="0" width="20" height="20" fill="#808080"/>
            <rect id="bar" x="2" y="2" width="10" height="0.6" fill="#000"/>
            <rect id="block" x="2" y="6" width="6" height="6" fill="#000"/>
          </svg>"##;
        let rules = vec![
            Rule { selector: Selector::Id("field".into()), depth_mm: 0.1, strategy: Strategy::Pocket },
            Rule { selector: Selector::Fill("#000000".into()), depth_mm: 0.3, strategy: Strategy::Pocket },
        ];
        let auto = ReliefOptions {
            vcarve_slope: 0.5,
            auto_vcarve_radius_mm: Some(0.5),
            ..options(rules.clone(), DefaultDepth::Uncut)
        };
        let relief = build(&art(svg), &auto).unwrap();
        let at = |strategy: Strategy| {
            relief.regions.iter().find(|r| r.depth_mm == 0.3 && r.strategy == strategy).expect("a region")
        };
        // The bar, 0.6 mm wide, is narrower than the 1 mm tool: V-carved, its walls starting at
        // the field's floor. The block is pocketed.
        let (carved, pocketed) = (at(Strategy::VCarve), at(Strategy::Pocket));
        let area = geom::shapes_area(&carved.area);
        assert!((area - 6.0).abs() < 1e-4 && carved.surround_mm == [0.1], "{area} {:?}", carved.surround_mm);
        assert!((geom::shapes_area(&pocketed.area) - 36.0).abs() < 1e-4 && pocketed.surround_mm == [0.0]);
        // The bar's floor: 0.6 mm less twice (0.3 - 0.1) x 0.5 on each side, 0.4 mm.
        let deepest = &relief.levels.last().unwrap().area;
        assert!((geom::shapes_area(deepest) - (36.0 + 0.4 * 9.8)).abs() < 0.01, "{}", geom::shapes_area(deepest));
        // Without auto-vcarve both are pocketed.
        let relief =
            build(&art(svg), &ReliefOptions { vcarve_slope: 0.5, ..options(rules, DefaultDepth::Uncut) }).unwrap();
        assert!(relief.regions.iter().all(|r| r.strategy == Strategy::Pocket));
    }

    #[test]
    fn die_is_mirrored_about_the_centre() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="20mm" height="20mm" viewBox="0 0 20 20">
            <rect x="12" y="2" width="4" height="4" fill="#000"/></svg>"##;
        let relief = build(&art(svg), &ReliefOptions::default()).unwrap();
        let b = geom::bounds(relief.levels[0].area.iter().flatten()).unwrap();
        // The rect spans x 12..16 of a 20-wide viewBox: 2..6 right of centre; mirrored: -6..-2.
        assert!((b[0] + 6.0).abs() < 1e-6 && (b[2] + 2.0).abs() < 1e-6, "{b:?}");
        // Y up: SVG y 2..6 is 8..4 above the centre.
        assert!((b[1] - 4.0).abs() < 1e-6 && (b[3] - 8.0).abs() < 1e-6, "{b:?}");
        let p = relief.placement * kurbo::Point::new(12.0, 2.0);
        assert!((p.x + 2.0).abs() < 1e-5 && (p.y - 8.0).abs() < 1e-5, "{p:?}");
        assert!(geom::shapes_area(&relief.levels[0].area) > 0.0, "outer contours stay counter-clockwise");
    }

    #[test]
    fn rules_paint_order_and_nesting() {
        let rules =
            vec![Rule { selector: Selector::Fill("#d4af37".into()), depth_mm: 0.2, strategy: Strategy::Pocket }];
        let relief = build(&art(THREE), &options(rules, DefaultDepth::Luminance)).unwrap();
        // White is uncut; gold 100 - 16 covered = 84 mm2 at 0.2; black 16 mm2 at 0.5.
        let depths: Vec<f64> = relief.regions.iter().map(|r| r.depth_mm).collect();
        assert_eq!(depths, [0.2, 0.5]);
        assert!((geom::shapes_area(&relief.regions[0].area) - 84.0).abs() < 1e-4);
        assert!((geom::shapes_area(&relief.regions[1].area) - 16.0).abs() < 1e-4);
        assert_eq!(relief.regions[0].sources, ["fill #d4af37"]);
        // Nested: level 0.2 holds both regions, level 0.5 only the black one.
        assert!((geom::shapes_area(&relief.levels[0].area) - 100.0).abs() < 1e-4);
        assert!((geom::shapes_area(&relief.levels[1].area) - 16.0).abs() < 1e-4);
    }

    #[test]
    fn slits_between_regions_close_and_other_edges_stay() {
        // A 4 mm square with a slit one grid step wide: a hole of almost no area, which an
        // erosion by 0.5 mm would make a 1 mm wide slot.
        let square: geom::Contour = vec![[0.0, 0.0], [4.0, 0.0], [4.0, 4.0], [0.0, 4.0]];
        let step = 1.0 / geom::GRID_SCALE;
        let slit: geom::Contour = vec![[1.0, 2.0], [1.0, 2.0 + step], [3.0, 2.0 + step], [3.0, 2.0]];
        let raw = vec![vec![square, slit]];
        assert!(geom::shapes_area(&geom::offset(&raw, -0.5).unwrap()) < 9.0 - 1.0);
        let closed = close_slits(&raw).unwrap();
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].len(), 1, "the slit is gone");
        assert_eq!(geom::bounds(closed.iter().flatten()), Some([0.0, 0.0, 4.0, 4.0]), "the edges stay");
        assert!((geom::shapes_area(&closed) - 16.0).abs() < 1e-9);
        assert!((geom::shapes_area(&geom::offset(&closed, -0.5).unwrap()) - 9.0).abs() < 1e-6);
        // Two regions one grid step apart become one; a real gap of 1 um does not close.
        let near = |gap: f64| {
            let a: geom::Contour = vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]];
            let b: geom::Contour = vec![[1.0 + gap, 0.0], [2.0, 0.0], [2.0, 1.0], [1.0 + gap, 1.0]];
            close_slits(&vec![vec![a], vec![b]]).unwrap().len()
        };
        assert_eq!(near(step), 1);
        assert_eq!(near(0.001), 2);
    }

    #[test]
    fn a_vcarved_region_keeps_its_outline_and_its_levels_only_its_floor() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="20mm" height="20mm" viewBox="0 0 20 20">
            <rect id="word" x="2" y="2" width="10" height="4" fill="#000"/>
            <rect id="pool" x="2" y="10" width="10" height="4" fill="#000"/></svg>"##;
        let rules = vec![Rule { selector: Selector::Id("word".into()), depth_mm: 0.3, strategy: Strategy::VCarve }];
        let carved = ReliefOptions { vcarve_slope: 0.5, ..options(rules.clone(), DefaultDepth::Depth(0.3)) };
        let relief = build(&art(svg), &carved).unwrap();
        let strategies: Vec<(f64, Strategy)> = relief.regions.iter().map(|r| (r.depth_mm, r.strategy)).collect();
        assert_eq!(strategies, [(0.3, Strategy::Pocket), (0.3, Strategy::VCarve)]);
        assert!((geom::shapes_area(&relief.regions[1].area) - 40.0).abs() < 1e-4, "the outline");
        // One level at 0.3: the pool whole, the word's floor 0.15 mm inside its outline.
        assert_eq!(relief.levels.len(), 1);
        let floor = (10.0 - 0.3) * (4.0 - 0.3);
        assert!((geom::shapes_area(&relief.levels[0].area) - (40.0 + floor)).abs() < 1e-3);
        assert_eq!(relief.vcarve_slope, 0.5);
        // Nothing to carve with, or a hub: refused, naming the rule.
        let err = build(&art(svg), &options(rules.clone(), DefaultDepth::Depth(0.3))).unwrap_err().to_string();
        assert!(err.contains("id word") && err.contains("vee"), "{err}");
        let hub = ReliefOptions { target: Target::Hub, ..carved };
        assert!(build(&art(svg), &hub).unwrap_err().to_string().contains("hubs"));
    }

    #[test]
    fn a_zero_depth_rule_covers_but_is_not_cut() {
        let rules = vec![
            Rule { selector: Selector::Id("cover".into()), depth_mm: 0.0, strategy: Strategy::Pocket },
            Rule { selector: Selector::Id("field".into()), depth_mm: 0.0, strategy: Strategy::Pocket },
        ];
        let relief = build(&art(THREE), &options(rules, DefaultDepth::Depth(0.3))).unwrap();
        assert_eq!(relief.regions.len(), 1);
        // gold (84 visible) + dark (16), both at the default 0.3.
        assert!((geom::shapes_area(&relief.regions[0].area) - 100.0).abs() < 1e-4);
    }

    #[test]
    fn hub_is_the_unmirrored_complement() {
        let rules =
            vec![Rule { selector: Selector::Fill("#d4af37".into()), depth_mm: 0.2, strategy: Strategy::Pocket }];
        let hub = ReliefOptions { target: Target::Hub, ..options(rules, DefaultDepth::Luminance) };
        let relief = build(&art(THREE), &hub).unwrap();
        assert!(!relief.target.mirrored());
        // Hmax = 0.5 (black): gold stands 0.2, so it is cut 0.3; white (and nothing) is cut 0.5;
        // black is the top of the hub, uncut.
        let depths: Vec<f64> = relief.regions.iter().map(|r| r.depth_mm).collect();
        assert_eq!(depths, [0.3, 0.5]);
        assert!((geom::shapes_area(&relief.regions[0].area) - 84.0).abs() < 1e-4);
        assert!((geom::shapes_area(&relief.regions[1].area) - (400.0 - 100.0)).abs() < 1e-4);
        let b = geom::bounds(relief.regions[0].area.iter().flatten()).unwrap();
        assert!((b[0] + 8.0).abs() < 1e-5, "not mirrored: gold starts 8 mm left of centre, {b:?}");
    }

    #[test]
    fn regions_add_up_to_the_painted_area() {
        let relief = build(&art(THREE), &options(Vec::new(), DefaultDepth::Depth(0.1))).unwrap();
        let sum: f64 = relief.regions.iter().map(|r| geom::shapes_area(&r.area)).sum();
        assert!((sum - 400.0).abs() / 400.0 < 1e-4, "{sum}");
    }

    #[test]
    fn design_check_finds_narrow_parts_and_thin_walls() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="20mm" height="20mm" viewBox="0 0 20 20">
            <rect x="2" y="2" width="6" height="6" fill="#000"/>
            <rect x="8.2" y="2" width="6" height="6" fill="#000"/>
            <rect x="2" y="12" width="8" height="0.3" fill="#000"/></svg>"##;
        let relief = build(&art(svg), &ReliefOptions::default()).unwrap();
        let findings = check_design(&relief, 0.5, 0.3).unwrap();
        let narrow: Vec<&Finding> = findings.iter().filter(|f| f.kind == WarningKind::Narrow).collect();
        let thin: Vec<&Finding> = findings.iter().filter(|f| f.kind == WarningKind::ThinWall).collect();
        assert_eq!(narrow.len() + thin.len(), findings.len());
        assert!(narrow.iter().all(|f| f.message.contains("narrower")) && thin[0].message.contains("wall"));
        // The 0.3 mm bar is narrower than the 0.5 mm tool (and the squares' corners keep a
        // little stock too); the 0.2 mm gap between the squares is a thin wall.
        let bar = narrow.iter().find(|f| f.area_mm2 > 1.0).expect("the bar");
        assert!((bar.area_mm2 - 2.4).abs() < 1e-3 && (bar.at_mm[1] + 2.15).abs() < 1e-3, "{bar:?}");
        assert_eq!(thin.len(), 1, "{thin:?}");
        // 0.2 x 6 mm, less the ends the opening rounds where the wall meets the wide stock.
        assert!((thin[0].area_mm2 - 1.2).abs() < 0.02 && (thin[0].at_mm[0] - 1.9).abs() < 1e-3, "{:?}", thin[0]);
        assert!(thin[0].message.contains("luminance"), "{}", thin[0].message);
    }

    #[test]
    fn a_hundred_near_shades_make_a_few_levels() {
        // Shaded clip-art: 100 stripes, each a shade of red a step of 1 apart. Luminance gave
        // each its own level, 2 um apart.
        let stripes: String = (0..100)
            .map(|k| {
                format!(r##"<rect x="{}" width="0.4" height="40" fill="#{:02x}2020"/>"##, f64::from(k) * 0.4, 100 + k)
            })
            .collect();
        let svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="40mm" height="40mm" viewBox="0 0 40 40">{stripes}</svg>"#
        );
        let artwork = art(&svg);
        let luminance = ReliefOptions::default();
        let relief = build(&artwork, &luminance).unwrap();
        assert!(relief.levels.len() <= 10, "{} levels", relief.levels.len());
        for level in &relief.levels {
            let steps = level.depth_mm / luminance.level_step_mm;
            assert!((steps - steps.round()).abs() < 1e-9, "{} mm is not a whole step", level.depth_mm);
        }
        let warning = shades_merged(&relief.shades, luminance.level_step_mm).expect("a warning");
        assert!(
            warning.message.contains(&format!("100 shades make {} depths", relief.levels.len())),
            "{}",
            warning.message
        );
        // A finer step keeps more levels; explicit depths are never quantised.
        let fine = ReliefOptions { level_step_mm: 0.001, ..ReliefOptions::default() };
        assert!(build(&artwork, &fine).unwrap().levels.len() > relief.levels.len());
        let given = options(vec![], DefaultDepth::Depth(0.123));
        assert_eq!(build(&artwork, &given).unwrap().levels[0].depth_mm, 0.123);
        assert!(shades_merged(&build(&artwork, &given).unwrap().shades, given.level_step_mm).is_none());
    }

    #[test]
    fn lightness_of_black_white_and_grey() {
        assert_eq!(lightness("#000000"), 0.0);
        assert!((lightness("#ffffff") - 100.0).abs() < 1e-9);
        assert!((lightness("#777777") - 50.0).abs() < 0.1, "{}", lightness("#777777"));
    }

    #[test]
    fn depth_deeper_than_max_is_refused() {
        let rules = vec![Rule { selector: Selector::Class("x".into()), depth_mm: 0.8, strategy: Strategy::Pocket }];
        let err = build(&art(THREE), &options(rules, DefaultDepth::Luminance)).unwrap_err().to_string();
        assert!(err.contains("class x") && err.contains("max-depth-mm"), "{err}");
    }
}
