//! Where each shape came from: element ids, classes and Inkscape layer labels.
//!
//! usvg keeps only element ids, and only where the SVG has them. So before usvg parses the
//! file, every element without an id gets a generated one (`medalcam-N`, never clashing
//! with an id of the file), and the XML's classes and layer labels are kept here under that
//! id. Generated ids never reach the user: [`Elements::name`] shows the original id or the
//! element's tag.

use std::collections::{HashMap, HashSet};

use usvg::roxmltree;

const INKSCAPE: &str = "http://www.inkscape.org/namespaces/inkscape";
const XLINK: &str = "http://www.w3.org/1999/xlink";

/// What the XML says about one element.
#[derive(Debug, Clone, Default)]
pub(crate) struct Element {
    /// The id written in the file (empty when it had none).
    pub id: String,
    /// The element's tag name, for messages about elements without an id.
    pub tag: String,
    /// The `class` attribute, split.
    pub classes: Vec<String>,
    /// The `inkscape:label` of an Inkscape layer (`inkscape:groupmode="layer"`).
    pub layer: Option<String>,
    /// For `<use>`: the id of the element it shows.
    pub href: Option<String>,
    /// Position in document order.
    pub order: usize,
}

/// Elements by the id usvg reports (original or generated).
#[derive(Debug, Default)]
pub(crate) struct Elements {
    by_id: HashMap<String, Element>,
}

impl Elements {
    /// Gives every element an id and records its classes and layer label. Returns the text
    /// for usvg and the elements.
    pub(crate) fn tag(text: &str, doc: &roxmltree::Document<'_>) -> (String, Self) {
        let existing: HashSet<&str> = doc.descendants().filter_map(|n| n.attribute("id")).collect();
        let mut by_id = HashMap::new();
        let mut insertions: Vec<(usize, String)> = Vec::new();
        let mut counter = 0usize;
        for (order, node) in doc.descendants().filter(roxmltree::Node::is_element).enumerate() {
            let original = node.attribute("id").unwrap_or_default().to_string();
            let key = if original.is_empty() {
                let generated = loop {
                    counter += 1;
                    let candidate = format!("medalcam-{counter}");
                    if !existing.contains(candidate.as_str()) {
                        break candidate;
                    }
                };
                let start = node.range().start;
                let name_len = text[start + 1..].find(|c: char| c.is_whitespace() || c == '/' || c == '>');
                if let Some(len) = name_len {
                    insertions.push((start + 1 + len, format!(" id=\"{generated}\"")));
                }
                generated
            } else {
                original.clone()
            };
            let is_layer = node.attribute((INKSCAPE, "groupmode")) == Some("layer");
            let element = Element {
                id: original,
                tag: node.tag_name().name().to_string(),
                classes: node.attribute("class").unwrap_or_default().split_whitespace().map(str::to_string).collect(),
                layer: is_layer.then(|| node.attribute((INKSCAPE, "label")).unwrap_or_default().to_string()),
                href: (node.tag_name().name() == "use")
                    .then(|| node.attribute("href").or_else(|| node.attribute((XLINK, "href"))))
                    .flatten()
                    .and_then(|h| h.strip_prefix('#'))
                    .map(str::to_string),
                order,
            };
            by_id.entry(key).or_insert(element);
        }
        // One pass: inserting into the text one id at a time would move it once per element.
        insertions.sort_by_key(|(at, _)| *at);
        let mut tagged = String::with_capacity(text.len() + insertions.iter().map(|(_, a)| a.len()).sum::<usize>());
        let mut copied = 0;
        for (at, attribute) in insertions {
            tagged.push_str(&text[copied..at]);
            tagged.push_str(&attribute);
            copied = at;
        }
        tagged.push_str(&text[copied..]);
        (tagged, Self { by_id })
    }

    /// The element usvg names `id`, if the file has it.
    pub(crate) fn get(&self, id: &str) -> Option<&Element> {
        self.by_id.get(id)
    }

    /// The usvg ids of the elements with this tag, in document order.
    pub(crate) fn with_tag(&self, tag: &str) -> Vec<String> {
        let mut ids: Vec<(usize, String)> =
            self.by_id.iter().filter(|(_, e)| e.tag == tag).map(|(id, e)| (e.order, id.clone())).collect();
        ids.sort();
        ids.into_iter().map(|(_, id)| id).collect()
    }

    /// How to name the element usvg calls `id` to a user: its own id, else `<tag>`.
    pub(crate) fn name(&self, id: &str) -> String {
        match self.by_id.get(id) {
            Some(e) if !e.id.is_empty() => e.id.clone(),
            Some(e) => format!("<{}>", e.tag),
            None => id.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_added_without_clashing_and_classes_and_layers_kept() {
        let text = r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape">
            <g inkscape:groupmode="layer" inkscape:label="Raised"><rect id="medalcam-1" class="a b" width="1" height="1"/><circle r="1"/></g></svg>"#;
        let doc = roxmltree::Document::parse(text).unwrap();
        let (tagged, elements) = Elements::tag(text, &doc);
        let doc = roxmltree::Document::parse(&tagged).unwrap();
        let ids: Vec<&str> = doc.descendants().filter_map(|n| n.attribute("id")).collect();
        assert_eq!(ids, ["medalcam-2", "medalcam-3", "medalcam-1", "medalcam-4"]);
        assert_eq!(elements.get("medalcam-3").unwrap().layer.as_deref(), Some("Raised"));
        assert_eq!(elements.get("medalcam-1").unwrap().classes, ["a", "b"]);
        assert_eq!(elements.name("medalcam-1"), "medalcam-1");
        assert_eq!(elements.name("medalcam-4"), "<circle>");
    }
}
