//! A small streaming XML writer: elements are written as they come (nothing is built in
//! memory), text is escaped, and text XML 1.0 cannot carry at all (control characters,
//! U+FFFE/U+FFFF) is refused naming the field, never dropped or replaced.

use std::io::Write;

/// Why a text value cannot go into XML: the field and the character, by its code point.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: contains U+{code:04X}, which XML cannot carry")]
pub struct Unrepresentable {
    pub field: String,
    pub code: u32,
}

/// Whether XML 1.0's `Char` production admits `c` (Rust strings hold no lone surrogates).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Refuses `text` when XML cannot carry one of its characters.
pub fn check_text(field: &str, text: &str) -> Result<(), Unrepresentable> {
    match text.chars().find(|c| !is_xml_char(*c)) {
        Some(c) => Err(Unrepresentable {
            field: field.to_owned(),
            code: u32::from(c),
        }),
        None => Ok(()),
    }
}

/// `text` escaped for element content and attribute values.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['<', '>', '&', '"', '\'', '\r']) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Kept through parsers' end-of-line normalisation.
            '\r' => out.push_str("&#13;"),
            other => out.push(other),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Writes elements to `out` as they come.
pub struct XmlWriter<W: Write> {
    out: W,
    open: Vec<&'static str>,
}

impl<W: Write> XmlWriter<W> {
    /// Starts a document (the XML declaration).
    pub fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")?;
        Ok(Self {
            out,
            open: Vec::new(),
        })
    }

    pub fn open(&mut self, name: &'static str) -> std::io::Result<()> {
        write!(self.out, "<{name}>")?;
        self.open.push(name);
        Ok(())
    }

    pub fn close(&mut self) -> std::io::Result<()> {
        if let Some(name) = self.open.pop() {
            write!(self.out, "</{name}>")?;
            if self.open.len() <= 1 {
                self.out.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    /// `<name>text</name>`; the text must have passed [`check_text`].
    pub fn leaf(&mut self, name: &'static str, text: &str) -> std::io::Result<()> {
        write!(self.out, "<{name}>{}</{name}>", escape(text))
    }

    /// A leaf only when there is a value.
    pub fn leaf_opt(&mut self, name: &'static str, text: Option<&str>) -> std::io::Result<()> {
        match text {
            Some(text) => self.leaf(name, text),
            None => Ok(()),
        }
    }

    /// Closes whatever is open and hands the output back.
    pub fn finish(mut self) -> std::io::Result<W> {
        while !self.open.is_empty() {
            self.close()?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn markup_is_escaped_and_control_characters_are_refused_by_field() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
        assert_eq!(escape("plain"), "plain");
        assert!(check_text("reason", "tab\tand newline\n ok, ünïcode, 中文").is_ok());
        let refused = check_text("subject.name", "bell\u{7}").unwrap_err();
        assert_eq!(
            refused.to_string(),
            "subject.name: contains U+0007, which XML cannot carry"
        );
        assert!(check_text("x", "\u{FFFE}").is_err());
        assert!(check_text("x", "\u{0}").is_err());
    }

    #[test]
    fn the_writer_nests_and_closes_what_is_open() {
        let mut w = XmlWriter::new(Vec::new()).unwrap();
        w.open("report").unwrap();
        w.leaf("reason", "a & b").unwrap();
        w.open("transaction").unwrap();
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        // One line per element under the root, so a long report stays readable and diffable.
        assert!(
            out.ends_with(
                "<report><reason>a &amp; b</reason><transaction></transaction>\n</report>\n"
            ),
            "{out}"
        );
    }
}
