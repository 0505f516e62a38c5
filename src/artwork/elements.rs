//! Where each shape came from: element ids, classes and Inkscape layer labels.
//!
//! usvg keeps only element ids, and only where the SVG has them. So before anything parses
//! the file, every element without an id gets a generated one (a prefix that occurs nowhere
//! in the file, then a number), and the XML's classes and layer labels are kept here under
//! that id. Generated ids never reach the user: [`Elements::name`] shows the original id or
//! the element's tag.

use std::collections::HashMap;
use std::fmt::Write as _;

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
    /// Whether `visibility` hides it (on it or the nearest enclosing element that sets it).
    pub hidden: bool,
}

/// Elements by the id usvg reports (original or generated).
#[derive(Debug, Default)]
pub(crate) struct Elements {
    by_id: HashMap<String, Element>,
}

/// Gives every start tag at `untagged` (offsets just after the element's name, in order) an
/// `id` attribute. Returns the tagged text and the prefix of the generated ids.
pub(crate) fn tag(text: &str, untagged: &[usize]) -> (String, String) {
    let mut prefix = String::from("medalcam-");
    while memchr::memmem::find(text.as_bytes(), prefix.as_bytes()).is_some() {
        prefix.push_str("x-");
    }
    let mut tagged = String::with_capacity(text.len() + untagged.len() * (prefix.len() + 12));
    let mut copied = 0;
    for (n, &at) in untagged.iter().enumerate() {
        tagged.push_str(&text[copied..at]);
        let _ = write!(tagged, " id=\"{prefix}{}\"", n + 1);
        copied = at;
    }
    tagged.push_str(&text[copied..]);
    (tagged, prefix)
}

/// Whether the nearest of `node` and its ancestors that sets `visibility` (as an attribute or
/// in its `style`) sets it to `hidden` or `collapse`.
fn hidden(node: roxmltree::Node<'_, '_>) -> bool {
    for n in node.ancestors().filter(roxmltree::Node::is_element) {
        let styled = n.attribute("style").and_then(|style| {
            style.split(';').filter_map(|d| d.split_once(':')).find(|(k, _)| k.trim() == "visibility").map(|(_, v)| v)
        });
        if let Some(value) = styled.or_else(|| n.attribute("visibility")) {
            return matches!(value.trim(), "hidden" | "collapse");
        }
    }
    false
}

impl Elements {
    /// Records the classes and layer label of every element of a document whose generated ids
    /// start with `prefix`.
    pub(crate) fn read(doc: &roxmltree::Document<'_>, prefix: &str) -> Self {
        let mut by_id = HashMap::new();
        for (order, node) in doc.descendants().filter(roxmltree::Node::is_element).enumerate() {
            let key = node.attribute("id").unwrap_or_default();
            if key.is_empty() {
                // Not tagged (`id=""`, or markup the scan read otherwise): nothing finds it.
                continue;
            }
            let is_layer = node.attribute((INKSCAPE, "groupmode")) == Some("layer");
            let element = Element {
                id: if key.starts_with(prefix) { String::new() } else { key.to_string() },
                tag: node.tag_name().name().to_string(),
                classes: node.attribute("class").unwrap_or_default().split_whitespace().map(str::to_string).collect(),
                layer: is_layer.then(|| node.attribute((INKSCAPE, "label")).unwrap_or_default().to_string()),
                href: (node.tag_name().name() == "use")
                    .then(|| node.attribute("href").or_else(|| node.attribute((XLINK, "href"))))
                    .flatten()
                    .and_then(|h| h.strip_prefix('#'))
                    .map(str::to_string),
                order,
                hidden: hidden(node),
            };
            by_id.entry(key.to_string()).or_insert(element);
        }
        Self { by_id }
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
            <!-- <rect/> --><?pi <rect/>?><style><![CDATA[ <rect/> ]]></style><g inkscape:groupmode="layer" inkscape:label="Raised"><rect id="medalcam-1" class="a b" width="1" height="1"/><circle r="1"/></g></svg>"#;
        let untagged = crate::artwork::limits::check(text.as_bytes()).unwrap().untagged;
        let (tagged, prefix) = tag(text, &untagged);
        assert_eq!(prefix, "medalcam-x-");
        let doc = roxmltree::Document::parse(&tagged).unwrap();
        let ids: Vec<&str> = doc.descendants().filter_map(|n| n.attribute("id")).collect();
        assert_eq!(ids, ["medalcam-x-1", "medalcam-x-2", "medalcam-x-3", "medalcam-1", "medalcam-x-4"]);
        let elements = Elements::read(&doc, &prefix);
        assert_eq!(elements.get("medalcam-x-3").unwrap().layer.as_deref(), Some("Raised"));
        assert_eq!(elements.get("medalcam-1").unwrap().classes, ["a", "b"]);
        assert_eq!(elements.name("medalcam-1"), "medalcam-1");
        assert_eq!(elements.name("medalcam-x-4"), "<circle>");
        assert_eq!(elements.name("medalcam-x-2"), "<style>");
    }
}
