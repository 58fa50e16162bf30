//! A small XML writer for the messages we generate: UTF-8, two-space indentation, every
//! element written as a start/end pair, text escaped. The output is what gets signed and sent;
//! nothing parses and re-writes it afterwards.

pub(crate) struct Writer {
    out: String,
    depth: usize,
}

impl Writer {
    pub(crate) fn new() -> Self {
        let mut out = String::with_capacity(8192);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        Writer { out, depth: 0 }
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    /// `<name xmlns="namespace">` on its own line.
    pub(crate) fn open_ns(&mut self, name: &str, namespace: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(" xmlns=\"");
        escape(namespace, true, &mut self.out);
        self.out.push_str("\">\n");
        self.depth += 1;
    }

    pub(crate) fn open(&mut self, name: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    pub(crate) fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// `<name>text</name>` on one line.
    pub(crate) fn leaf(&mut self, name: &str, text: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        escape(text, false, &mut self.out);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// `<name attribute="value">text</name>` on one line.
    pub(crate) fn leaf_with(&mut self, name: &str, attribute: &str, value: &str, text: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(attribute);
        self.out.push_str("=\"");
        escape(value, true, &mut self.out);
        self.out.push_str("\">");
        escape(text, false, &mut self.out);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    /// `<name></name>`: an empty element written as the canonical form has it.
    pub(crate) fn empty(&mut self, name: &str) {
        self.leaf(name, "");
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}

fn escape(text: &str, attribute: bool, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\r' => out.push_str("&#xD;"),
            '\n' if attribute => out.push_str("&#xA;"),
            '\t' if attribute => out.push_str("&#x9;"),
            _ => out.push(c),
        }
    }
}
