//! The html5lib tree-construction format (`tests/data/html5lib/README.md` names the source):
//! a file of tests, each `#data`, `#errors`, optional `#new-errors`, `#document-fragment`,
//! `#script-off`/`#script-on`, then `#document` with the expected tree, one `| `-prefixed,
//! two-spaces-per-level line per node (text in quotes and comments may span lines).

/// One test of a `.dat` file.
#[derive(Debug)]
pub struct Case {
    /// Its index in the file, from 0.
    pub index: usize,
    /// The input, without the final newline.
    pub data: String,
    /// The context element of a fragment test.
    pub fragment: Option<String>,
    /// `Some(true)` for `#script-on`, `Some(false)` for `#script-off`.
    pub scripting: Option<bool>,
    /// The expected tree.
    pub document: Vec<Node>,
}

/// One node of an expected tree, with its depth (0: a child of the document).
#[derive(Debug, PartialEq)]
pub struct Node {
    /// Levels below the document.
    pub depth: usize,
    /// What it is.
    pub kind: Kind,
}

/// What a line of the tree is.
#[derive(Debug, PartialEq)]
pub enum Kind {
    /// An element: is it in the HTML namespace, and its local name.
    Element { html: bool, name: String },
    /// An attribute of the element above.
    Attribute,
    /// A text node, unquoted.
    Text(String),
    /// A comment.
    Comment,
    /// A doctype.
    Doctype,
    /// A template's contents; what is below it belongs to them.
    Content,
}

/// The tests of one file.
pub fn parse(file: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut section = "";
    let mut data: Vec<&str> = Vec::new();
    let mut fragment = None;
    let mut scripting = None;
    let mut tree: Vec<&str> = Vec::new();
    let mut flush = |data: &mut Vec<&str>,
                     fragment: &mut Option<String>,
                     scripting: &mut Option<bool>,
                     tree: &mut Vec<&str>| {
        // Tests are separated by an empty line, which ends the tree.
        while tree.last() == Some(&"") {
            tree.pop();
        }
        cases.push(Case {
            index: cases.len(),
            data: data.join("\n"),
            fragment: fragment.take(),
            scripting: scripting.take(),
            document: nodes(tree),
        });
        data.clear();
        tree.clear();
    };
    for line in file.split('\n') {
        match line {
            "#data" => {
                if !section.is_empty() {
                    flush(&mut data, &mut fragment, &mut scripting, &mut tree);
                }
                section = "data";
            }
            "#errors" | "#new-errors" | "#document-fragment" | "#document" => section = line,
            "#script-on" => scripting = Some(true),
            "#script-off" => scripting = Some(false),
            _ => match section {
                "data" => data.push(line),
                "#document-fragment" => fragment = Some(line.to_string()),
                "#document" => tree.push(line),
                _ => {}
            },
        }
    }
    if !section.is_empty() {
        flush(&mut data, &mut fragment, &mut scripting, &mut tree);
    }
    cases
}

/// The nodes of a tree dump: a line not starting with `| ` continues the node above (text or a
/// comment with newlines).
fn nodes(lines: &[&str]) -> Vec<Node> {
    let mut raw: Vec<String> = Vec::new();
    for line in lines {
        match line.strip_prefix("| ") {
            Some(node) => raw.push(node.to_string()),
            None => match raw.last_mut() {
                Some(last) => {
                    last.push('\n');
                    last.push_str(line);
                }
                None => panic!("a tree line without `| `: {line:?}"),
            },
        }
    }
    raw.iter().map(|r| node(r)).collect()
}

/// One node from its line(s), indentation included.
fn node(raw: &str) -> Node {
    let body = raw.trim_start_matches(' ');
    let indent = raw.len() - body.len();
    assert!(indent.is_multiple_of(2), "odd indentation: {raw:?}");
    let kind = if body == "content" {
        Kind::Content
    } else if let Some(text) = body.strip_prefix('"') {
        Kind::Text(
            text.strip_suffix('"')
                .unwrap_or_else(|| panic!("unclosed text: {raw:?}"))
                .to_string(),
        )
    } else if body.starts_with("<!-- ") {
        Kind::Comment
    } else if body.starts_with("<!DOCTYPE ") {
        Kind::Doctype
    } else if let Some(tag) = body.strip_prefix('<').and_then(|b| b.strip_suffix('>')) {
        match tag.split_once(' ') {
            Some(("svg" | "math", name)) => Kind::Element {
                html: false,
                name: name.to_string(),
            },
            _ => Kind::Element {
                html: true,
                name: tag.to_string(),
            },
        }
    } else if body.contains("=\"") {
        Kind::Attribute
    } else {
        panic!("an unknown tree line: {raw:?}")
    };
    Node {
        depth: indent / 2,
        kind,
    }
}

/// An element of the expected tree, outside template contents.
pub struct Element<'c> {
    /// Is it in the HTML namespace?
    pub html: bool,
    /// Its local name.
    pub name: &'c str,
    /// Its text nodes' text, concatenated (not collapsed).
    pub text: String,
    /// Index of its parent element, if its parent is one.
    pub parent: Option<usize>,
}

impl Element<'_> {
    /// Does the type selector `name` match it? In the HTML namespace by ASCII lower case,
    /// elsewhere exactly (CSS in an HTML document).
    pub fn is(&self, name: &str) -> bool {
        if self.html {
            self.name == name.to_ascii_lowercase()
        } else {
            self.name == name
        }
    }
}

/// What the expected tree says a browser's `document` holds: its elements outside template
/// contents (which are a separate document fragment), in document order.
pub struct Expected<'c> {
    /// The elements.
    pub elements: Vec<Element<'c>>,
}

impl<'c> Expected<'c> {
    /// Read the document of a case.
    pub fn of(document: &'c [Node]) -> Expected<'c> {
        let mut elements: Vec<Element<'c>> = Vec::new();
        // Open elements (depth, index), and the depth of the template contents the walk is
        // in, if any.
        let mut open: Vec<(usize, usize)> = Vec::new();
        let mut in_content: Option<usize> = None;
        for node in document {
            if in_content.is_some_and(|d| node.depth > d) {
                continue;
            }
            in_content = None;
            while open.last().is_some_and(|(d, _)| *d >= node.depth) {
                open.pop();
            }
            match &node.kind {
                Kind::Element { html, name } => {
                    let parent = open
                        .last()
                        .filter(|(d, _)| d + 1 == node.depth)
                        .map(|(_, i)| *i);
                    open.push((node.depth, elements.len()));
                    elements.push(Element {
                        html: *html,
                        name,
                        text: String::new(),
                        parent,
                    });
                }
                Kind::Text(text) => {
                    for (_, i) in &open {
                        elements[*i].text.push_str(text);
                    }
                }
                Kind::Content => in_content = Some(node.depth),
                Kind::Attribute | Kind::Comment | Kind::Doctype => {}
            }
        }
        Expected { elements }
    }

    /// The elements a type selector `name` matches.
    pub fn matching<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Element<'c>> + 's {
        self.elements.iter().filter(move |e| e.is(name))
    }

    /// How many elements `parent > child` matches.
    pub fn children(&self, parent: &str, child: &str) -> usize {
        self.matching(child)
            .filter(|e| e.parent.is_some_and(|p| self.elements[p].is(parent)))
            .count()
    }

    /// The local names of the elements, each once, in order of first appearance.
    pub fn names(&self) -> Vec<&'c str> {
        let mut names: Vec<&str> = Vec::new();
        for e in &self.elements {
            if !names.contains(&e.name) {
                names.push(e.name);
            }
        }
        names
    }

    /// The (parent, child) local names of the elements with a parent element, each once.
    pub fn pairs(&self) -> Vec<(&'c str, &'c str)> {
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for e in &self.elements {
            if let Some(p) = e.parent {
                let pair = (self.elements[p].name, e.name);
                if !pairs.contains(&pair) {
                    pairs.push(pair);
                }
            }
        }
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_of_two_tests() {
        let file = "#data\n<p>One<template>x</template>\n\n#errors\n(1,3): e\n#document\n\
            | <html>\n|   <head>\n|   <body>\n|     <p>\n|       \"One\"\n|       <template>\n\
            |         content\n|           \"x\"\n\n#data\n<svg><foreignObject>a\nb\n#errors\n\
            #new-errors\n(1:1) x\n#script-off\n#document\n| <!DOCTYPE html>\n| <html>\n\
            |   <head>\n|   <body>\n|     <svg svg>\n|       <svg foreignObject>\n\
            |         class=\"c\"\n|         \"a\nb\"\n|     <!-- c\nd -->\n";
        let cases = parse(file);
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].data, "<p>One<template>x</template>\n");
        assert_eq!(cases[1].data, "<svg><foreignObject>a\nb");
        assert_eq!(cases[1].scripting, Some(false));
        let first = Expected::of(&cases[0].document);
        assert_eq!(first.names(), ["html", "head", "body", "p", "template"]);
        let texts = |e: &Expected<'_>, name: &str| -> Vec<String> {
            e.matching(name).map(|e| e.text.clone()).collect()
        };
        assert_eq!(texts(&first, "P"), ["One"]);
        assert_eq!(texts(&first, "template"), [""]);
        assert_eq!(first.children("p", "template"), 1);
        assert_eq!(first.children("body", "template"), 0);
        assert_eq!(first.pairs().len(), 4);
        let second = Expected::of(&cases[1].document);
        assert_eq!(second.matching("foreignObject").count(), 1);
        assert_eq!(second.matching("foreignobject").count(), 0);
        assert_eq!(second.children("svg", "foreignObject"), 1);
        assert_eq!(texts(&second, "body"), ["a\nb"]);
        assert_eq!(cases[1].document.last().unwrap().kind, Kind::Comment);
    }
}
