//! Bounds on hostile input, checked on the raw bytes before usvg parses anything.
//!
//! usvg parses the whole document into a DOM and then walks it recursively, so a file that is
//! huge, nested very deeply or made of millions of elements costs memory, time or the stack
//! before a single shape is seen. [`check`] scans the bytes once, without building a tree,
//! and refuses such files with a short reason. On the way it notes where each element without
//! an id starts, for the ids medalcam gives them. It also refuses entity declarations: medalcam
//! never expands entities (usvg would, within roxmltree's limits), so a `<!ENTITY` can only
//! be an attempt at an entity-expansion bomb or a file medalcam would misread.
//!
//! What the parsers do with references, for the record (usvg 0.49, roxmltree 0.21):
//! - roxmltree never loads anything: external entities (`SYSTEM "file:..."`) are not fetched.
//! - `<use href>` only follows local `#id` references; `other.svg#x` resolves to nothing.
//! - `<image href>` (and `<feImage>`) with a `data:` URL is decoded in memory; a `file:` or
//!   `http:` URL is ignored; a plain path (`/abs/file.svg`, or `art.svg` relative to the
//!   current directory) would be read from disk by usvg's default `image_href_resolver`, so
//!   `fonts::usvg_options` replaces it. See the tests at the end of this file.

use crate::error::{Error, Result};

/// The largest file imported, in bytes.
pub const MAX_BYTES: usize = 64 * 1024 * 1024;
/// The deepest element nesting imported (the root `<svg>` is depth 1).
pub(crate) const MAX_DEPTH: usize = 256;
/// The most elements imported.
pub(crate) const MAX_ELEMENTS: usize = 2_000_000;
/// The most bytes of character data inside `<text>` elements: a medal carries a few hundred
/// characters, and usvg's layout time grows with the square of a text's length (50,000
/// characters took 5 s, 500,000 would take minutes).
pub(crate) const MAX_TEXT_BYTES: usize = 20_000;
/// The largest magnitude of a number in path data (`d`), in user units. svgtypes turns an arc
/// into cubics in proportion to the sixth root of its size and hands them out with
/// `Vec::remove(0)`: an arc near 1e38 units takes hours inside usvg's parse. No artwork
/// needs a coordinate of a thousand kilometres. (`check_path_data` skips parsing numbers of
/// nine integer digits or fewer, which are below this.)
pub(crate) const MAX_PATH_NUMBER: f64 = 1e9;

/// Refuses, with [`Error::Svg`], input over [`MAX_BYTES`], any entity declaration, element
/// nesting deeper than [`MAX_DEPTH`], more than [`MAX_ELEMENTS`] elements and path data with
/// a number beyond [`MAX_PATH_NUMBER`] (or one that is not finite).
///
/// Returns, for every start tag without an `id` attribute, the offset just after its name:
/// where [`super::elements::tag`] gives it one, so the document is parsed only once.
///
/// This is a scan, not a parser: it follows comments, CDATA sections, processing
/// instructions, the DOCTYPE and quoted attribute values only as far as needed to count start
/// and end tags. Malformed XML that passes is left to the parser to report.
pub(crate) fn check(svg: &[u8]) -> Result<Scan> {
    if svg.len() > MAX_BYTES {
        return Err(Error::Svg(format!(
            "the file is {} bytes, more than the {} MiB medalcam reads",
            svg.len(),
            MAX_BYTES / (1024 * 1024)
        )));
    }
    // Anywhere, even in a comment: being strict here costs nothing, and no scan of a
    // malformed DOCTYPE can then miss one.
    if let Some(at) = find(svg, b"<!ENTITY") {
        return Err(Error::Svg(format!(
            "entity declarations are not supported (`<!ENTITY` at line {})",
            line_of(svg, at)
        )));
    }
    let mut open = Open::default();
    let mut i = 0usize;
    while let Some(offset) = find_byte(&svg[i..], b'<') {
        open.data(svg, i, offset)?;
        i += offset;
        let rest = &svg[i..];
        let end = if rest.starts_with(b"<!--") {
            find(rest, b"-->").map(|e| e + 3)
        } else if rest.starts_with(b"<![CDATA[") {
            let end = find(rest, b"]]>").map(|e| e + 3);
            if open.sheet.is_some() {
                check_sheet(svg, i, &rest[..end.unwrap_or(rest.len())])?;
            }
            end
        } else if rest.starts_with(b"<?") {
            find(rest, b"?>").map(|e| e + 2)
        } else if rest.starts_with(b"<!DOCTYPE") {
            doctype_end(svg, i)
        } else if rest.starts_with(b"<!") {
            find_byte(rest, b'>').map(|e| e + 1)
        } else if rest.starts_with(b"</") {
            open.end_tag(i);
            find_byte(rest, b'>').map(|e| e + 1)
        } else {
            open.start_tag(svg, i)?
        };
        match end {
            Some(e) => i += e,
            // Unterminated markup: nothing more to count; the parser reports the error.
            None => break,
        }
    }
    Ok(open.scan)
}

/// What the scan knows of the elements open where it is, and what it has found.
#[derive(Default)]
struct Open {
    depth: usize,
    elements: usize,
    scan: Scan,
    /// The depth of the outermost open `<pattern>` and where its content starts.
    pattern: Option<(usize, usize)>,
    /// The depth of the outermost open `<text>`, and the bytes of text seen.
    text: Option<usize>,
    text_bytes: usize,
    /// The depth of an open `<style>`, whose character data is a style sheet.
    sheet: Option<usize>,
}

impl Open {
    /// The `len` bytes of character data at `at`.
    fn data(&mut self, svg: &[u8], at: usize, len: usize) -> Result<()> {
        if self.text.is_some() {
            self.text_bytes += len;
            if self.text_bytes > MAX_TEXT_BYTES {
                return Err(Error::Svg(format!(
                    "more than {MAX_TEXT_BYTES} bytes of text (line {})",
                    line_of(svg, at + len)
                )));
            }
        }
        if self.sheet.is_some() {
            check_sheet(svg, at, &svg[at..at + len])?;
        }
        Ok(())
    }

    /// The end tag at `at`.
    fn end_tag(&mut self, at: usize) {
        if let Some((_, start)) = self.pattern.filter(|&(open, _)| open == self.depth) {
            self.scan.patterns.push(start..at);
            self.pattern = None;
        }
        if self.text == Some(self.depth) {
            self.text = None;
        }
        if self.sheet == Some(self.depth) {
            self.sheet = None;
        }
        self.depth = self.depth.saturating_sub(1);
    }

    /// The start tag at `at`: its length, `None` when it is not terminated.
    fn start_tag(&mut self, svg: &[u8], at: usize) -> Result<Option<usize>> {
        let rest = &svg[at..];
        let end = tag_end(rest);
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            return Err(Error::Svg(format!("more than {MAX_ELEMENTS} elements")));
        }
        let mut name: &[u8] = &[];
        if let Some(e) = end {
            let (name_end, has_id) = check_attributes(svg, at, &rest[..e])?;
            if !has_id {
                self.scan.untagged.push(at + name_end);
            }
            // Without a namespace prefix, as usvg reads it.
            name = &rest[1..name_end];
            name = name.iter().rposition(|&c| c == b':').map_or(name, |colon| &name[colon + 1..]);
        }
        if end.is_some_and(|e| e >= 2 && rest[e - 2] == b'/') {
            return Ok(end);
        }
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::Svg(format!(
                "elements are nested more than {MAX_DEPTH} deep (line {})",
                line_of(svg, at)
            )));
        }
        if let Some(e) = end {
            let depth = Some(self.depth);
            match name {
                b"pattern" if self.pattern.is_none() => self.pattern = Some((self.depth, at + e)),
                b"text" if self.text.is_none() => self.text = depth,
                b"style" if self.sheet.is_none() => self.sheet = depth,
                _ => {}
            }
        }
        Ok(end)
    }
}

/// Refuses a number beyond [`MAX_PATH_NUMBER`] in `css`, part of a `<style>` sheet at `at`:
/// `text { transform: scale(1e30) }` hangs usvg's text layout as the attribute does.
fn check_sheet(svg: &[u8], at: usize, css: &[u8]) -> Result<()> {
    match css_number_beyond_limit(css) {
        Some(literal) => Err(Error::Svg(format!(
            "number {literal} in a style sheet (line {}) is beyond ±{MAX_PATH_NUMBER:e}",
            line_of(svg, at)
        ))),
        None => Ok(()),
    }
}

/// [`check`], and where the scan found patterns, the bytes with their content emptied
/// ([`empty_patterns`]) and scanned again.
pub(crate) fn checked(svg: &[u8]) -> Result<(Option<Vec<u8>>, Scan)> {
    let scan = check(svg)?;
    if scan.patterns.is_empty() {
        return Ok((None, scan));
    }
    let emptied = empty_patterns(svg, &scan.patterns);
    let scan = check(&emptied)?;
    Ok((Some(emptied), scan))
}

/// What [`check`] found on the way.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// For every start tag without an `id` attribute, the offset just after its name.
    pub(crate) untagged: Vec<usize>,
    /// The content of every outermost `<pattern>` element.
    pub(crate) patterns: Vec<std::ops::Range<usize>>,
}

/// `svg` with the content of each of `patterns` (from [`Scan::patterns`]) replaced by an
/// empty `<g/>` and spaces, newlines kept (so every line and column after stays where it
/// was).
///
/// medalcam engraves a pattern fill as a plain fill and never looks inside a pattern, but
/// usvg resolves the content, and a pattern whose content paints with the pattern itself
/// through an inherited `href` or a `<style>` rule recurses until the stack overflows, an
/// abort no handler catches (usvg 0.49 only finds a direct self-reference). Emptied, nothing
/// recurses; the `<g/>` keeps the pattern a valid paint server, so the fill stays a fill.
pub(crate) fn empty_patterns(svg: &[u8], patterns: &[std::ops::Range<usize>]) -> Vec<u8> {
    let mut out = svg.to_vec();
    for range in patterns {
        let content = &mut out[range.clone()];
        for byte in content.iter_mut() {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
        if let Some(at) = content.windows(4).position(|w| w == b"    ") {
            content[at..at + 4].copy_from_slice(b"<g/>");
        }
    }
    out
}

/// The length of the DOCTYPE declaration starting at `start` (`None`: unterminated). Quoted
/// literals may hold `>` and `[`; the internal subset holds declarations (whose quoted
/// literals may hold `>`), comments and processing instructions.
fn doctype_end(svg: &[u8], start: usize) -> Option<usize> {
    let mut i = start + b"<!DOCTYPE".len();
    let mut in_subset = false;
    while i < svg.len() {
        let rest = &svg[i..];
        let step = match rest[0] {
            b'"' | b'\'' if !in_subset => find_byte(&rest[1..], rest[0])? + 2,
            b'[' if !in_subset => {
                in_subset = true;
                1
            }
            b'>' if !in_subset => return Some(i + 1 - start),
            b']' if in_subset => {
                in_subset = false;
                1
            }
            b'<' if in_subset && rest.starts_with(b"<!--") => find(rest, b"-->")? + 3,
            b'<' if in_subset && rest.starts_with(b"<?") => find(rest, b"?>")? + 2,
            b'<' if in_subset => tag_end(rest)?,
            _ => 1,
        };
        i += step;
    }
    None
}

/// The length of the tag (or declaration) at the start of `rest` up to and including its `>`,
/// skipping quoted values.
fn tag_end(rest: &[u8]) -> Option<usize> {
    let mut i = 1;
    loop {
        i += memchr::memchr3(b'>', b'"', b'\'', rest.get(i..)?)?;
        if rest[i] == b'>' {
            return Some(i + 1);
        }
        // Skip the quoted value.
        i += 1 + find_byte(&rest[i + 1..], rest[i])? + 1;
    }
}

/// Refuses a `d` attribute of the start tag `tag` (at `at` in `svg`) holding a number beyond
/// [`MAX_PATH_NUMBER`]. Returns the length of `<` and the element name, and whether the tag
/// has an `id` attribute.
fn check_attributes(svg: &[u8], at: usize, tag: &[u8]) -> Result<(usize, bool)> {
    // Skip the element name, then read `name = "value"` pairs.
    let name_end = 1 + tag[1..].iter().position(|c| c.is_ascii_whitespace() || matches!(c, b'>' | b'/')).unwrap_or(0);
    let mut has_id = false;
    let mut k = name_end;
    while k < tag.len() {
        while k < tag.len() && tag[k].is_ascii_whitespace() {
            k += 1;
        }
        let name_start = k;
        while k < tag.len() && !tag[k].is_ascii_whitespace() && !matches!(tag[k], b'=' | b'>' | b'/') {
            k += 1;
        }
        let name = &tag[name_start..k];
        while k < tag.len() && tag[k].is_ascii_whitespace() {
            k += 1;
        }
        if tag.get(k) != Some(&b'=') {
            // Not an attribute (`/>`, `>` or malformed): make progress, the parser judges.
            k += usize::from(name.is_empty());
            continue;
        }
        k += 1;
        while k < tag.len() && tag[k].is_ascii_whitespace() {
            k += 1;
        }
        let Some(&quote) = tag.get(k).filter(|&&q| q == b'"' || q == b'\'') else { continue };
        let Some(len) = find_byte(&tag[k + 1..], quote) else { break };
        let value = &tag[k + 1..k + 1 + len];
        k += len + 2;
        has_id |= name == b"id";
        // Path data, and transforms: a text laid out on a path under `scale(1e30)` hangs
        // usvg's text layout (found by fuzzing), and so does one in a `style`.
        if name == b"style" {
            if let Some(literal) = css_number_beyond_limit(value) {
                return Err(Error::Svg(format!(
                    "number {literal} in `style` (line {}) is beyond ±{MAX_PATH_NUMBER:e}",
                    line_of(svg, at)
                )));
            }
            continue;
        }
        if !matches!(name, b"d" | b"transform" | b"gradientTransform" | b"patternTransform") || all_small(value) {
            continue;
        }
        if let Some(literal) = number_beyond_limit(value) {
            return Err(Error::Svg(format!(
                "number {literal} in `{}` (line {}) is beyond ±{MAX_PATH_NUMBER:e}",
                String::from_utf8_lossy(name),
                line_of(svg, at)
            )));
        }
    }
    Ok((name_end, has_id))
}

/// [`number_beyond_limit`] for CSS (a `style` attribute or a `<style>` sheet), as text:
/// identifiers (`font-family`, `.x1e50`) and hex colours (`#1e3000`) hold no numbers; a unit
/// ends one (`1e30px`).
fn css_number_beyond_limit(css: &[u8]) -> Option<String> {
    if all_small(css) {
        return None;
    }
    let mut numbers = css.to_vec();
    let mut j = 0;
    while j < numbers.len() {
        let c = numbers[j];
        let next_is_word = numbers.get(j + 1).is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, b'-' | b'_'));
        if c.is_ascii_digit() || c == b'.' || (matches!(c, b'+' | b'-') && !next_is_word) {
            // A number: its digits, point and exponent stay.
            j += 1;
            while j < numbers.len()
                && (numbers[j].is_ascii_digit()
                    || numbers[j] == b'.'
                    || (matches!(numbers[j], b'e' | b'E')
                        && numbers.get(j + 1).is_some_and(|n| n.is_ascii_digit() || matches!(n, b'+' | b'-'))))
            {
                j += if matches!(numbers[j], b'e' | b'E') { 2 } else { 1 };
            }
        } else if c.is_ascii_alphabetic() || matches!(c, b'_' | b'#' | b'\\') || c == b'-' {
            // An identifier, a unit or a colour: blanked.
            while j < numbers.len()
                && (numbers[j].is_ascii_alphanumeric() || matches!(numbers[j], b'_' | b'-' | b'#' | b'\\'))
            {
                numbers[j] = b' ';
                j += 1;
            }
        } else {
            j += 1;
        }
    }
    number_beyond_limit(&numbers).map(str::to_string)
}

/// The first number in `value` (path data or a transform) that is NaN or beyond
/// [`MAX_PATH_NUMBER`], as written. Numbers of nine integer digits or fewer and no exponent
/// are below 1e9 without parsing.
fn number_beyond_limit(value: &[u8]) -> Option<&str> {
    let mut j = 0;
    while j < value.len() {
        let starts_number = |j: usize| value.get(j).is_some_and(|c| c.is_ascii_digit() || *c == b'.');
        if !(starts_number(j) || (matches!(value[j], b'-' | b'+') && starts_number(j + 1))) {
            j += 1;
            continue;
        }
        let start = j;
        j += usize::from(matches!(value[j], b'-' | b'+'));
        while j < value.len() && value[j] == b'0' {
            j += 1;
        }
        let significant = j;
        while j < value.len() && value[j].is_ascii_digit() {
            j += 1;
        }
        let short = j - significant <= 9;
        if value.get(j) == Some(&b'.') {
            j += 1;
            while j < value.len() && value[j].is_ascii_digit() {
                j += 1;
            }
        }
        let mut exponent = false;
        if matches!(value.get(j), Some(b'e' | b'E')) {
            let mut e = j + 1;
            e += usize::from(matches!(value.get(e), Some(b'-' | b'+')));
            if value.get(e).is_some_and(u8::is_ascii_digit) {
                exponent = true;
                j = e;
                while j < value.len() && value[j].is_ascii_digit() {
                    j += 1;
                }
            }
        }
        if short && !exponent {
            continue;
        }
        let literal = std::str::from_utf8(&value[start..j]).unwrap_or("");
        let v = literal.parse::<f64>().unwrap_or(0.0);
        if v.is_nan() || v.abs() > MAX_PATH_NUMBER {
            return Some(literal);
        }
    }
    None
}

/// Whether every number in `value` is surely below [`MAX_PATH_NUMBER`]: no exponent, and no
/// run of more than nine digits before a decimal point. A quick screen, byte by byte: the
/// numbers of a value it cannot clear are read one by one.
fn all_small(value: &[u8]) -> bool {
    if memchr::memchr2(b'e', b'E', value).is_some() {
        return false;
    }
    let (mut integer_digits, mut fraction) = (0u32, false);
    for &c in value {
        if c.is_ascii_digit() {
            integer_digits += u32::from(!fraction);
            if integer_digits > 9 {
                return false;
            }
        } else {
            // A point starts the fraction (or a number like `.5`); anything else ends it.
            fraction = c == b'.';
            integer_digits = 0;
        }
    }
    true
}

fn line_of(svg: &[u8], at: usize) -> usize {
    svg[..at].iter().filter(|&&c| c == b'\n').count() + 1
}

fn find_byte(haystack: &[u8], byte: u8) -> Option<usize> {
    memchr::memchr(byte, haystack)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artwork::{import, ImportOptions};

    fn reason(svg: &[u8]) -> String {
        match check(svg) {
            Err(Error::Svg(reason)) => reason,
            other => panic!("expected Error::Svg, got {other:?}"),
        }
    }

    fn nested(depth: usize) -> String {
        let mut svg = String::from(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">"#);
        svg.push_str(&"<g>".repeat(depth - 1));
        svg.push_str(r#"<rect width="5" height="5"/>"#);
        svg.push_str(&"</g>".repeat(depth - 1));
        svg.push_str("</svg>");
        svg
    }

    #[test]
    fn huge_numbers_in_styles_are_refused_and_names_and_colours_are_not_numbers() {
        // A text under `transform: scale(1e30)` from a style hangs usvg's layout (in release;
        // a debug build's overflow checks panic instead).
        let refused = [
            r#"<svg><style>text { transform: scale(1e30) }</style><text>A</text></svg>"#,
            r#"<svg><style><![CDATA[ text { transform: scale(1E+30) } ]]></style></svg>"#,
            r#"<svg><text style="font-size:2;transform:scale(-1e30)">A</text></svg>"#,
            r#"<svg><rect style="stroke-width: 1e30px"/></svg>"#,
        ];
        for svg in refused {
            let err = check(svg.as_bytes()).expect_err(svg).to_string();
            assert!(err.contains("is beyond"), "{svg}: {err}");
        }
        let taken = [
            r#"<svg><style>.x1e50 { fill: #1e3000; font-family: a1e99, "DejaVu Sans" } #e9e9e9 {}</style></svg>"#,
            r#"<svg><rect style="fill:#1E9E9E;stroke-width:0.5e1px;transform:scale(2) rotate(-45deg)"/></svg>"#,
            r#"<svg><text>1e30 is only text</text></svg>"#,
        ];
        for svg in taken {
            check(svg.as_bytes()).unwrap_or_else(|e| panic!("{svg}: {e}"));
        }
    }

    #[test]
    fn pattern_content_is_emptied_in_place() {
        let svg = b"<svg><pattern id=\"p\">\n  <rect fill=\"url(#p)\"/>\n</pattern><pattern/><rect/></svg>";
        let scan = check(svg).expect("passes");
        assert_eq!(scan.patterns.len(), 1);
        let emptied = empty_patterns(svg, &scan.patterns);
        assert_eq!(emptied.len(), svg.len());
        let text = String::from_utf8(emptied).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(text.starts_with("<svg><pattern id=\"p\">\n<g/>") && !text.contains("url"), "{text}");
        assert!(text.ends_with("\n</pattern><pattern/><rect/></svg>"), "{text}");
    }

    #[test]
    fn ordinary_files_pass() {
        for svg in [
            &br#"<svg xmlns="http://www.w3.org/2000/svg"><rect width="5" height="5"/></svg>"#[..],
            include_bytes!("../../samples/coin.svg"),
            include_bytes!("../../samples/noto_u1f396.svg"),
            include_bytes!("../../samples/medal-40mm.svg"),
            include_bytes!("../../samples/gameicons_crown-coin.svg"),
        ] {
            check(svg).expect("passes");
        }
    }

    #[test]
    fn over_64_mib_is_refused() {
        let mut svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><!--"#.to_vec();
        svg.resize(MAX_BYTES + 1 - b"--></svg>".len(), b' ');
        svg.extend_from_slice(b"--></svg>");
        assert_eq!(svg.len(), MAX_BYTES + 1);
        assert!(reason(&svg).contains("64 MiB"), "{}", reason(&svg));
        svg.truncate(MAX_BYTES - b"--></svg>".len());
        svg.extend_from_slice(b"--></svg>");
        check(&svg).expect("exactly 64 MiB passes");
    }

    #[test]
    fn entity_declarations_are_refused() {
        let laughs = br#"<?xml version="1.0"?>
<!DOCTYPE svg [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
]>
<svg xmlns="http://www.w3.org/2000/svg"><text>&lol2;</text></svg>"#;
        let r = reason(laughs);
        assert!(r.contains("entity declarations are not supported") && r.contains("line 3"), "{r}");
        let external = br#"<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>"#;
        assert!(reason(external).contains("entity"));
        // Through the importer: refused before usvg or roxmltree see it.
        let err = import(laughs, &ImportOptions::default()).unwrap_err();
        assert!(err.to_string().starts_with("not a valid SVG document: entity declarations"), "{err}");
    }

    #[test]
    fn a_doctype_without_entities_and_lookalikes_pass() {
        let svg = br#"<?xml version="1.0"?>
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<!-- a comment that says <g><g><g> -->
<svg xmlns="http://www.w3.org/2000/svg"><title><![CDATA[<g><g>]]></title>
<rect width="5" height="5" data-x="a > b"/></svg>"#;
        check(svg).expect("passes");
    }

    #[test]
    fn nesting_deeper_than_256_is_refused() {
        check(nested(MAX_DEPTH).as_bytes()).expect("256 deep passes");
        let r = reason(nested(MAX_DEPTH + 1).as_bytes());
        assert!(r.contains("nested more than 256 deep"), "{r}");
        // A DOCTYPE whose internal subset holds quotes and `>` does not hide the nesting.
        let doctype = r#"<!DOCTYPE svg [<?pi ' ?><!ATTLIST svg a CDATA "x>y]'"><!-- ' -->]>"#;
        let deep = format!("{doctype}{}", nested(MAX_DEPTH + 1));
        assert!(reason(deep.as_bytes()).contains("nested more than 256 deep"));
        check(format!("{doctype}{}", nested(MAX_DEPTH)).as_bytes()).expect("256 deep passes");
        // Self-closing and closed siblings do not add depth.
        let flat = format!("<svg>{}</svg>", "<g></g><g/>".repeat(10_000));
        check(flat.as_bytes()).expect("flat passes");
    }

    /// The deepest nesting allowed imports on a 2 MiB stack (a test thread's, and less than
    /// the CLI's main thread), even with a clip path and a stroke at every level.
    #[test]
    fn the_deepest_allowed_nesting_fits_a_small_stack() {
        let mut svg = String::from(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="10mm" height="10mm" viewBox="0 0 10 10">
                 <clipPath id="c"><rect width="8" height="8"/></clipPath>"#,
        );
        svg.push_str(&r#"<g clip-path="url(#c)" stroke="black" stroke-width="0.5">"#.repeat(MAX_DEPTH - 2));
        svg.push_str(r#"<text x="1" y="8" font-size="3">M</text>"#);
        svg.push_str(&"</g>".repeat(MAX_DEPTH - 2));
        svg.push_str("</svg>");
        check(svg.as_bytes()).expect("within the limit");
        let art = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || import(svg.as_bytes(), &ImportOptions::default()).map(|a| a.shapes.len()))
            .expect("thread")
            .join()
            .expect("no panic");
        assert!(art.expect("imports") > 0);
    }

    #[test]
    fn a_million_deep_file_fails_cleanly() {
        let svg = nested(1_000_000);
        let err = import(svg.as_bytes(), &ImportOptions::default()).unwrap_err();
        assert!(err.to_string().contains("nested more than 256 deep"), "{err}");
    }

    #[test]
    fn more_than_two_million_elements_are_refused() {
        let body = "<g/>".repeat(MAX_ELEMENTS - 1);
        check(format!("<svg>{body}</svg>").as_bytes()).expect("2 million elements pass");
        let r = reason(format!("<svg>{body}<g/></svg>").as_bytes());
        assert!(r.contains("more than 2000000 elements"), "{r}");
    }

    #[test]
    fn huge_path_data_numbers_are_refused() {
        let path = |d: &str| format!(r#"<svg xmlns="http://www.w3.org/2000/svg"><path id="a" d='{d}'/></svg>"#);
        for d in [
            "M0 0 L 2e9 0",
            "M-2,-3.5e38 A0.5,0.5 0 0 1 -2.5,-2",
            "M0 0h99999999999",
            "M0 0 L1e309 0",
            "M0-1.5E+10z",
            "M0 0 L 1000000000.5 0",
        ] {
            let r = reason(path(d).as_bytes());
            assert!(r.starts_with("number") && r.contains("in `d`") && r.contains("beyond ±1e9"), "{d}: {r}");
        }
        let scaled = br#"<svg xmlns="http://www.w3.org/2000/svg"><text transform="scale(1e30)">A</text></svg>"#;
        assert!(reason(scaled).contains("in `transform`"), "{}", reason(scaled));
        // Compact syntax, exponents within range and other attributes pass.
        for d in ["M10-20A5.5.3-4 010-.1", "M1e9 -1e9 L.5e-300 1E+8z", "M 0 0 l 1 1 e 5", "M0 00000999999999.9z"] {
            check(path(d).as_bytes()).unwrap_or_else(|e| panic!("{d}: {e}"));
        }
        check(br#"<svg data-d="1e30" x="1e30"><path dd="1e30" d="M0 0"/></svg>"#).expect("only d is checked");
        // The svgtypes arc that never finished parsing is refused at once through the importer.
        let t = std::time::Instant::now();
        let err = import(path("M -2,-3.5e38 A 0.5,0.5 0 0 1 -2.5,-2 Z").as_bytes(), &ImportOptions::default());
        assert!(matches!(err, Err(Error::Svg(_))) && t.elapsed().as_secs() < 5, "{err:?}");
    }

    #[test]
    fn absurd_sizes_fail_cleanly() {
        let import_size = |w: &str, h: &str| {
            let svg = format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 10 10">
                     <rect width="5" height="5"/></svg>"#
            );
            import(svg.as_bytes(), &ImportOptions::default()).map(|a| a.size_mm)
        };
        // Over 10 m: refused by the importer's size check.
        for size in ["1e9mm", "1e30", "20000mm"] {
            assert!(matches!(import_size(size, size), Err(Error::BadSize(_))), "{size}: {:?}", import_size(size, size));
        }
        // Beyond f32 or negative: usvg refuses the size.
        for size in ["1e39", "3.4e38mm", "1e308in", "-1e9mm"] {
            assert!(matches!(import_size(size, size), Err(Error::Svg(_))), "{size}: {:?}", import_size(size, size));
        }
        // A huge viewport around a 10 mm viewBox, or a vanishing size: an error, no panic.
        // (The first comes out as "nothing to engrave": the 1e9 mm viewport clip coarsens the
        // boolean operations' integer grid until the 1.3 mm rect vanishes.)
        for (w, h) in [("1e9mm", "10mm"), ("1e30", "10mm"), ("1e-30mm", "1e-30mm")] {
            assert!(import_size(w, h).is_err(), "{w} x {h}: {:?}", import_size(w, h));
        }
    }

    /// A small SVG file on disk, to see whether an href makes usvg read it: if it does, the
    /// tree has an image node and the importer warns about it.
    fn decoy() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("other.svg");
        std::fs::write(
            &path,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect id="x" width="10" height="10"/></svg>"#,
        )
        .expect("write decoy");
        (dir, path)
    }

    fn import_with(element: &str) -> crate::artwork::Artwork {
        let svg = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
                    width="10mm" height="10mm" viewBox="0 0 10 10">
                 <circle cx="5" cy="5" r="1"/>{element}</svg>"#
        );
        import(svg.as_bytes(), &ImportOptions::default()).expect("imports")
    }

    /// Only the circle was imported: nothing was read from the decoy. An `<image>` is
    /// reported as skipped, which is all that may be said about it.
    fn circle_only(art: &crate::artwork::Artwork) -> bool {
        art.shapes.len() == 1 && art.warnings.iter().all(|w| w.message.contains("raster images cannot be engraved"))
    }

    #[test]
    fn file_urls_and_external_uses_read_nothing() {
        let (_dir, decoy) = decoy();
        let decoy = decoy.display();
        for element in [
            r#"<image href="file:///etc/passwd" width="10" height="10"/>"#.to_string(),
            r#"<image xlink:href="file:///etc/passwd" width="10" height="10"/>"#.to_string(),
            format!(r#"<image href="file://{decoy}" width="10" height="10"/>"#),
            r#"<image href="http://127.0.0.1:9/x.svg" width="10" height="10"/>"#.to_string(),
            r#"<use href="other.svg#x"/>"#.to_string(),
            format!(r#"<use href="{decoy}#x"/>"#),
            format!(r#"<use xlink:href="file://{decoy}#x"/>"#),
        ] {
            let art = import_with(&element);
            assert!(circle_only(&art), "{element}: {} shapes, {:?}", art.shapes.len(), art.warnings);
        }
    }

    /// usvg's default `image_href_resolver` opens a plain path (absolute, or relative to the
    /// current directory); `fonts::usvg_options` replaces it with one that reads nothing.
    #[test]
    fn plain_image_paths_read_nothing() {
        let (_dir, decoy) = decoy();
        let art = import_with(&format!(r#"<image href="{}" width="10" height="10"/>"#, decoy.display()));
        assert!(circle_only(&art), "{} shapes, {:?}", art.shapes.len(), art.warnings);
    }
}
