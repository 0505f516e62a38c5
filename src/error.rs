//! The library's error type.
//!
//! Bad SVG *elements* are not errors: they become [`crate::Warning`]s. An [`Error`] stops the
//! whole engraving. Messages are lowercase, without a trailing period, and never repeat the
//! file path: the caller knows it and adds it (`medalcam` prints `art.svg: ...`).

/// Everything that can stop an engraving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not a readable SVG document.
    #[error("not a valid SVG document: {0}")]
    Svg(String),
    /// The SVG parsed but holds no filled shape to cut.
    #[error("the artwork has no filled shape to engrave")]
    NothingToEngrave,
    /// The artwork's only lines are hairlines (no fill, no stroke width), and no layer rule
    /// engraves them.
    #[error(
        "the artwork's {0} lines have no fill and no stroke width: engrave them along their centre lines \
         with a layer rule of strategy engrave, e.g. --layer none=engrave"
    )]
    OnlyHairlines(usize),
    /// The SVG has an unusable size or viewBox.
    #[error("the artwork has an unusable size: {0}")]
    BadSize(String),
    /// A machine profile or job file is not valid.
    #[error("{0}")]
    Config(String),
    /// A setting is out of its allowed range.
    #[error("`{key}`: {reason}")]
    Setting {
        /// The setting's key as the user wrote it (TOML key or command-line flag).
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No region of the artwork is wide enough for the tool.
    #[error("no region of the artwork is wide enough for the {diameter_mm} mm tool T{number}")]
    ToolTooLarge {
        /// Tool number.
        number: u32,
        /// Tool diameter in mm.
        diameter_mm: f64,
    },
    /// The program would exceed a limit of the machine.
    #[error("machine limit exceeded: {0}")]
    Limit(String),
    /// The program as written would drive a tool into stock: found by the guard
    /// ([`crate::simulation::guard`]) before anything is written.
    #[error("unsafe program, nothing written: {0}")]
    Unsafe(String),
    /// A G-code program the simulator cannot read, or a grid it cannot build.
    #[error("cannot simulate the program: {0}")]
    Program(String),
    /// The preview picture could not be drawn (a bug, not bad input).
    #[error("cannot draw the preview: {0}")]
    Preview(String),
    /// A boolean or an offset the polygon engine could not compute (never turned into empty
    /// geometry); `at` names what was being computed: the element, the level, the region.
    #[error("cannot compute the geometry of {at}: {source}")]
    Geometry {
        /// What was being computed, as the user knows it.
        at: String,
        /// Why the engine refused it.
        source: crate::geom::Unrepresentable,
    },
    /// A coordinate became NaN or infinite; this is a bug or absurd input.
    #[error("a toolpath coordinate is not finite")]
    NonFiniteCoordinate,
}

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A TOML error as one line: `line L, column C: message`.
    pub(crate) fn toml(text: &str, err: &toml::de::Error) -> Self {
        let message = err.message().trim().replace('\n', " ");
        match err.span() {
            Some(span) => {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                Error::Config(format!("line {line}, column {column}: {message}"))
            }
            None => Error::Config(message),
        }
    }
}
