//! The setup sheet: one self-contained HTML page for the operator and the customer, with the
//! job, the machine, the material, the work offset, the tools, the time, the checks, the
//! warnings by kind and the pictures of the simulated die and medal (embedded, no network).

use std::fmt::Write as _;

use base64::Engine as _;

use crate::report::Report;
use crate::simulation::ReliefCheck;
use crate::Engraving;

/// A picture on the sheet: its caption and PNG bytes.
#[derive(Debug, Clone, Copy)]
pub struct Picture<'a> {
    /// What it shows.
    pub caption: &'a str,
    /// The PNG.
    pub png: &'a [u8],
}

/// Everything the sheet shows.
#[derive(Debug, Clone, Copy)]
pub struct Sheet<'a> {
    /// The engraving's report (tools, times, levels, warnings).
    pub report: &'a Report,
    /// The engraving.
    pub engraving: &'a Engraving,
    /// The machine profile's own name (`name` key).
    pub machine_name: &'a str,
    /// The program's files, in the order they run.
    pub files: &'a [String],
    /// The simulated die against the relief, where it was simulated.
    pub check: Option<&'a ReliefCheck>,
    /// The pictures, in order.
    pub pictures: &'a [Picture<'a>],
}

/// The sheet as one HTML document.
#[must_use]
pub fn html(sheet: &Sheet<'_>) -> String {
    let r = sheet.report;
    let e = sheet.engraving;
    let mut out = String::new();
    let title = format!("medalcam setup sheet: {}", r.input);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n",
        escape(&title)
    );
    let _ = writeln!(out, "<h1>{}</h1>", escape(&title));
    let blank = crate::geom::bounds(e.relief.blank.iter().flatten()).unwrap_or([0.0; 4]);
    let rows = [
        ("Artwork", r.input.clone()),
        ("Program", sheet.files.join(", ")),
        ("Target", format!("{} — MIRRORED: {}", r.target.to_uppercase(), if r.mirrored { "YES" } else { "NO" })),
        ("Machine", format!("{} ({})", sheet.machine_name, r.machine)),
        ("Material", r.material.to_string()),
        ("Units", "mm".to_string()),
        ("Work offset", "X0 Y0 on the die centre, Z0 on the die face".to_string()),
        ("Stock", format!("{:.3} × {:.3} mm around the design", blank[2] - blank[0], blank[3] - blank[1])),
        ("Deepest cut", format!("{:.3} mm", e.relief.deepest_mm())),
        ("Cycle time", format!("{} (estimate)", crate::gcode::clock(r.program.cycle_time_s))),
    ];
    out.push_str("<table>\n");
    for (key, value) in rows {
        let _ = writeln!(out, "<tr><th>{key}</th><td>{}</td></tr>", escape(&value));
    }
    out.push_str("</table>\n<h2>Tools</h2>\n<table>\n<tr><th>T</th><th>Kind</th><th>Diameter</th><th>Tip, angle</th>");
    out.push_str(
        "<th>Lowest Z</th><th>Least stick-out</th><th>Spindle</th><th>Feed</th><th>Time</th><th>Limits</th></tr>\n",
    );
    for t in &r.tools {
        let deepest =
            e.toolpaths.operations.iter().filter(|o| o.tool.number == t.number).map(|o| o.depth_mm).fold(0.0, f64::max);
        let tip = match (t.tip_diameter_mm, t.included_angle_deg, t.corner_radius_mm) {
            (Some(tip), Some(angle), _) => format!("{tip:.3} mm, {angle}°"),
            (_, _, Some(radius)) => format!("R {radius:.3} mm"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "<tr><td>T{}</td><td>{}</td><td>{:.3} mm</td><td>{}</td><td>{:.3}</td><td>{:.3} mm</td><td>{:.0} rpm</td>\
             <td>{:.1} mm/min</td><td>{}</td><td>{}</td></tr>",
            t.number,
            t.kind,
            t.diameter_mm,
            escape(&tip),
            -deepest,
            deepest + crate::gcode::HOLDER_CLEARANCE_MM,
            t.spindle_rpm,
            t.feed_mm_per_min,
            crate::gcode::clock(t.cycle_time_s),
            escape(&t.limits.join("; "))
        );
    }
    out.push_str("</table>\n<h2>Checks</h2>\n<table>\n");
    let mut check = |pass: bool, what: &str, detail: String| {
        let (class, word) = if pass { ("pass", "PASS") } else { ("warn", "WARN") };
        let _ = writeln!(out, "<tr><td class=\"{class}\">{word}</td><td>{what}</td><td>{}</td></tr>", escape(&detail));
    };
    check(
        true,
        "Every move checked against the stock before writing",
        "no rapid through stock, no feed straight down into uncut stock".into(),
    );
    if let Some(c) = sheet.check {
        check(
            c.overcut_mm2 == 0.0,
            "Simulated die: cut deeper than asked",
            format!("{:.4} mm², deepest {:.4} mm", c.overcut_mm2, c.worst_overcut_mm),
        );
        check(
            c.uncut_reachable_mm2 == 0.0,
            "Simulated die: floor left where a tool fits",
            format!("{:.4} mm², most {:.4} mm", c.uncut_reachable_mm2, c.worst_uncut_mm),
        );
        check(
            c.uncut_unreachable_mm2 == 0.0,
            "Simulated die: floor where no tool of the job fits",
            format!("{:.4} mm² (hand finishing or a finer tool)", c.uncut_unreachable_mm2),
        );
    }
    check(r.warnings.is_empty(), "Warnings", format!("{}", r.warnings.len()));
    out.push_str("</table>\n");
    if !r.warnings.is_empty() {
        out.push_str("<h2>Warnings</h2>\n");
        let mut kinds: Vec<crate::WarningKind> = Vec::new();
        for w in &r.warnings {
            if !kinds.contains(&w.kind) {
                kinds.push(w.kind);
            }
        }
        for kind in kinds {
            let of_kind: Vec<&crate::Warning> = r.warnings.iter().filter(|w| w.kind == kind).collect();
            let name = serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let _ = writeln!(out, "<h3>{} ({})</h3>\n<ul>", escape(&name), of_kind.len());
            for w in of_kind {
                let _ = writeln!(out, "<li>{}</li>", escape(&w.to_string()));
            }
            out.push_str("</ul>\n");
        }
    }
    if !sheet.pictures.is_empty() {
        out.push_str("<h2>Pictures</h2>\n<div>\n");
        for p in sheet.pictures {
            let data = base64::engine::general_purpose::STANDARD.encode(p.png);
            let _ = writeln!(
                out,
                "<figure><img alt=\"{0}\" src=\"data:image/png;base64,{data}\"><figcaption>{0}</figcaption></figure>",
                escape(p.caption)
            );
        }
        out.push_str("</div>\n");
    }
    out.push_str("</body></html>\n");
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;max-width:70em;color:#222}\
table{border-collapse:collapse;margin-bottom:1em}th,td{border:1px solid #bbb;padding:.2em .6em;text-align:left}\
.pass{color:#070;font-weight:bold}.warn{color:#b50;font-weight:bold}\
figure{display:inline-block;margin:.5em}img{width:28em;border:1px solid #ccc}";

/// `text` safe in HTML text and attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn text_from_the_job_cannot_become_markup() {
        assert_eq!(escape("<img src=x onerror='a'>&\"q\""), "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;&quot;q&quot;");
    }
}
