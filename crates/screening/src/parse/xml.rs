//! A tiny owned XML tree built with quick-xml. Lists are a few MB, so a tree is simpler and
//! safer than hand-written streaming state machines. Namespaces are ignored (local names only).

use quick_xml::XmlVersion;
use quick_xml::events::Event;
use quick_xml::reader::Reader;

use super::ListError;

/// Maximum element nesting accepted (defends against pathological input).
const MAX_DEPTH: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct Node {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Node>,
    pub text: String,
}

impl Node {
    /// First child with this local name.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// All children with this local name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// All descendants (depth-first) with this local name.
    pub fn descendants<'a>(&'a self, name: &'a str, out: &mut Vec<&'a Node>) {
        for c in &self.children {
            if c.name == name {
                out.push(c);
            }
            c.descendants(name, out);
        }
    }

    /// Trimmed text of the first child with this name, if non-empty.
    pub fn child_text(&self, name: &str) -> Option<String> {
        self.child(name).and_then(|c| super::clean(&c.text))
    }

    /// Trimmed attribute value, if present and non-empty.
    pub fn attr(&self, name: &str) -> Option<String> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| super::clean(v))
    }
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// Parse a whole document into a tree. Errors on malformed or truncated XML.
pub(crate) fn parse_tree(file: &str, bytes: &[u8]) -> Result<Node, ListError> {
    let text = super::to_str(file, bytes)?;
    let mut reader = Reader::from_str(text);
    let cfg = reader.config_mut();
    cfg.check_end_names = true;
    let xml_err = |reader: &Reader<&[u8]>, e: quick_xml::Error| ListError::Xml {
        file: file.to_string(),
        position: reader.error_position(),
        message: e.to_string(),
    };
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let ev = match reader.read_event() {
            Ok(ev) => ev,
            Err(e) => return Err(xml_err(&reader, e)),
        };
        match ev {
            Event::Start(_) if root.is_some() && stack.is_empty() => {
                return Err(ListError::Xml {
                    file: file.to_string(),
                    position: reader.buffer_position(),
                    message: "content after the root element".into(),
                });
            }
            Event::Start(s) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(ListError::Xml {
                        file: file.to_string(),
                        position: reader.buffer_position(),
                        message: format!("nesting deeper than {MAX_DEPTH}"),
                    });
                }
                stack.push(start_node(file, &reader, &s)?);
            }
            Event::Empty(s) => {
                if root.is_some() && stack.is_empty() {
                    return Err(ListError::Xml {
                        file: file.to_string(),
                        position: reader.buffer_position(),
                        message: "content after the root element".into(),
                    });
                }
                let node = start_node(file, &reader, &s)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::End(_) => {
                let Some(node) = stack.pop() else {
                    return Err(ListError::Xml {
                        file: file.to_string(),
                        position: reader.buffer_position(),
                        message: "unexpected end tag".into(),
                    });
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                if let Some(cur) = stack.last_mut() {
                    cur.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(cur) = stack.last_mut() {
                    cur.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r.xml10_content();
                        match quick_xml::escape::resolve_predefined_entity(&name) {
                            Some(s) => s.to_string(),
                            None => {
                                return Err(ListError::Xml {
                                    file: file.to_string(),
                                    position: reader.buffer_position(),
                                    message: format!("unknown entity &{name};"),
                                });
                            }
                        }
                    }
                    Err(e) => return Err(xml_err(&reader, e)),
                };
                if let Some(cur) = stack.last_mut() {
                    cur.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(ListError::Xml {
            file: file.to_string(),
            position: reader.buffer_position(),
            message: format!(
                "document truncated: <{}> is not closed",
                stack[stack.len() - 1].name
            ),
        });
    }
    root.ok_or_else(|| ListError::Xml {
        file: file.to_string(),
        position: 0,
        message: "no root element".into(),
    })
}

fn start_node(
    file: &str,
    reader: &Reader<&[u8]>,
    s: &quick_xml::events::BytesStart<'_>,
) -> Result<Node, ListError> {
    let name = local(s.name().as_ref()).to_string();
    let mut attrs = Vec::new();
    for a in s.attributes() {
        let a = a.map_err(|e| ListError::Xml {
            file: file.to_string(),
            position: reader.buffer_position(),
            message: e.to_string(),
        })?;
        let key = local(a.key.as_ref()).to_string();
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| ListError::Xml {
                file: file.to_string(),
                position: reader.buffer_position(),
                message: e.to_string(),
            })?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Node {
        name,
        attrs,
        children: Vec::new(),
        text: String::new(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let n = parse_tree("t", b"<a x=\"1 &amp; 2\"><b>AT&amp;T &#233;</b><c/></a>").unwrap();
        assert_eq!(n.attr("x").unwrap(), "1 & 2");
        assert_eq!(n.child_text("b").unwrap(), "AT&T \u{e9}");
        assert!(matches!(
            parse_tree("t", b"<a><b>x</b>"),
            Err(ListError::Xml { .. })
        ));
        assert!(matches!(
            parse_tree("t", b"<a><b>x</c></a>"),
            Err(ListError::Xml { .. })
        ));
        assert!(matches!(parse_tree("t", b""), Err(ListError::Xml { .. })));
        assert!(matches!(
            parse_tree("t", b"<a/><b/>"),
            Err(ListError::Xml { .. })
        ));
        assert!(matches!(
            parse_tree("t", b"<a>\xff</a>"),
            Err(ListError::InvalidUtf8 { offset: 3, .. })
        ));
    }
}
