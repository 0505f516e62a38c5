//! The fonts text is drawn with, and the usvg options every SVG is parsed with: the bundled
//! DejaVu faces, every generic family mapped to them, nothing read from disk or the network.

use std::sync::{Arc, Mutex};

use usvg::fontdb;

/// The usvg options medalcam parses with: the bundled fonts, every generic family mapped to
/// them. For an independent rendering of the same file (resvg in the tests).
#[must_use]
pub fn parse_options() -> usvg::Options<'static> {
    usvg_options(Arc::new(Mutex::new(Vec::new())), &[])
}

/// usvg options with the bundled fonts loaded and every generic family mapped to them, so
/// text comes out the same on every machine (usvg's font database is empty by default and
/// an unknown family would drop text silently). A family that is not bundled falls back to
/// DejaVu Sans, and its name is recorded in `missing_fonts` for a warning.
pub(crate) fn usvg_options(missing_fonts: Arc<Mutex<Vec<String>>>, fonts: &[Arc<Vec<u8>>]) -> usvg::Options<'static> {
    let mut options = usvg::Options::default();
    // Never read a file or URL an SVG names: usvg's default resolver opens plain paths in
    // `<image href>` from disk. Images are skipped with a warning anyway.
    options.image_href_resolver.resolve_string = Box::new(|_, _| None);
    // Images are skipped anyway (with a warning from the XML): never decode one.
    options.image_href_resolver.resolve_data = Box::new(|_, _, _| None);
    options.font_resolver.select_font = Box::new(move |font, db| {
        let style = match font.style() {
            usvg::FontStyle::Normal => fontdb::Style::Normal,
            usvg::FontStyle::Italic => fontdb::Style::Italic,
            usvg::FontStyle::Oblique => fontdb::Style::Oblique,
        };
        let query = |families: &[fontdb::Family]| {
            db.query(&fontdb::Query {
                families,
                weight: fontdb::Weight(font.weight()),
                stretch: match font.stretch() {
                    usvg::FontStretch::UltraCondensed => fontdb::Stretch::UltraCondensed,
                    usvg::FontStretch::ExtraCondensed => fontdb::Stretch::ExtraCondensed,
                    usvg::FontStretch::Condensed => fontdb::Stretch::Condensed,
                    usvg::FontStretch::SemiCondensed => fontdb::Stretch::SemiCondensed,
                    usvg::FontStretch::Normal => fontdb::Stretch::Normal,
                    usvg::FontStretch::SemiExpanded => fontdb::Stretch::SemiExpanded,
                    usvg::FontStretch::Expanded => fontdb::Stretch::Expanded,
                    usvg::FontStretch::ExtraExpanded => fontdb::Stretch::ExtraExpanded,
                    usvg::FontStretch::UltraExpanded => fontdb::Stretch::UltraExpanded,
                },
                style,
            })
        };
        let wanted: Vec<fontdb::Family> = font
            .families()
            .iter()
            .map(|family| match family {
                usvg::FontFamily::Serif => fontdb::Family::Serif,
                usvg::FontFamily::SansSerif => fontdb::Family::SansSerif,
                usvg::FontFamily::Cursive => fontdb::Family::Cursive,
                usvg::FontFamily::Fantasy => fontdb::Family::Fantasy,
                usvg::FontFamily::Monospace => fontdb::Family::Monospace,
                usvg::FontFamily::Named(name) => fontdb::Family::Name(name),
            })
            .collect();
        query(&wanted).or_else(|| {
            let names: Vec<String> = font
                .families()
                .iter()
                .map(|f| match f {
                    usvg::FontFamily::Named(name) => format!("`{name}`"),
                    generic => format!("`{generic}`").replace('"', ""),
                })
                .collect();
            if let Ok(mut missing) = missing_fonts.lock() {
                missing.push(names.join(", "));
            }
            query(&[fontdb::Family::SansSerif])
        })
    });
    options.fontdb = bundled_fonts();
    if !fonts.is_empty() {
        let db = options.fontdb_mut();
        for font in fonts {
            // One that fails the check could not be loaded, or would take all memory trying.
            if check(font).is_ok() {
                db.load_font_source(fontdb::Source::Binary(Arc::clone(font) as Arc<dyn AsRef<[u8]> + Send + Sync>));
            }
        }
    }
    options.font_family = "DejaVu Sans".into();
    options
}

/// The most faces a font collection may hold (the largest real collections hold a few dozen).
pub const MAX_FACES: u32 = 1024;

/// Refuses a font file fontdb would choke on: a collection (`ttcf`) whose header claims more
/// faces than [`MAX_FACES`] or than its bytes can list (fontdb allocates for every face the
/// header claims: 32 GiB for `0xffffffff`). Anything else is left to fontdb, which skips a
/// file it cannot parse.
///
/// # Errors
///
/// What is wrong with the header, as a message.
pub fn check(font: &[u8]) -> Result<(), String> {
    if !font.starts_with(b"ttcf") {
        return Ok(());
    }
    let Some(count) = font.get(8..12).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])) else {
        return Err("a font collection whose header is cut short".into());
    };
    let listed = (font.len().saturating_sub(12) / 4) as u64;
    if count > MAX_FACES || u64::from(count) > listed {
        return Err(format!("a font collection claiming {count} faces (at most {MAX_FACES}, each listed)"));
    }
    Ok(())
}

/// The bundled DejaVu faces, with every generic family mapped to them: read once per process
/// (each import shares them), straight from the binary.
fn bundled_fonts() -> Arc<fontdb::Database> {
    static FONTS: std::sync::OnceLock<Arc<fontdb::Database>> = std::sync::OnceLock::new();
    Arc::clone(FONTS.get_or_init(|| {
        let mut db = fontdb::Database::new();
        for face in [
            dejavu::sans::regular(),
            dejavu::sans::bold(),
            dejavu::sans::oblique(),
            dejavu::sans::bold_oblique(),
            dejavu::serif::regular(),
            dejavu::serif::bold(),
            dejavu::serif::italic(),
            dejavu::serif::bold_italic(),
            dejavu::sans_mono::regular(),
            dejavu::sans_mono::bold(),
        ] {
            db.load_font_source(fontdb::Source::Binary(Arc::new(face)));
        }
        db.set_sans_serif_family("DejaVu Sans");
        db.set_serif_family("DejaVu Serif");
        db.set_monospace_family("DejaVu Sans Mono");
        db.set_cursive_family("DejaVu Sans");
        db.set_fantasy_family("DejaVu Sans");
        Arc::new(db)
    }))
}
