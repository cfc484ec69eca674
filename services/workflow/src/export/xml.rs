//! A small XML writer: indented elements, attributes and text with every value escaped.
//! Element and attribute names are fixed strings in our code; only values come from data.

use std::borrow::Cow;
use std::io::{self, Write};

pub(crate) struct XmlWriter<W: Write> {
    out: W,
    open: Vec<&'static str>,
}

impl<W: Write> XmlWriter<W> {
    /// Starts a document: the XML declaration and a comment (which must not contain `--`).
    pub fn new(mut out: W, comment: &str) -> io::Result<Self> {
        debug_assert!(!comment.contains("--"));
        writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(out, "<!-- {comment} -->")?;
        Ok(Self {
            out,
            open: Vec::new(),
        })
    }

    fn indent(&mut self) -> io::Result<()> {
        for _ in 0..self.open.len() {
            self.out.write_all(b"  ")?;
        }
        Ok(())
    }

    fn start_tag(&mut self, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
        self.indent()?;
        write!(self.out, "<{name}")?;
        for (key, value) in attrs {
            write!(self.out, " {key}=\"{}\"", escape(value, true))?;
        }
        write!(self.out, ">")
    }

    /// Opens an element whose content follows; close it with [`XmlWriter::close`].
    pub fn open(&mut self, name: &'static str, attrs: &[(&str, &str)]) -> io::Result<()> {
        self.start_tag(name, attrs)?;
        writeln!(self.out)?;
        self.open.push(name);
        Ok(())
    }

    pub fn close(&mut self) -> io::Result<()> {
        let name = self
            .open
            .pop()
            .ok_or_else(|| io::Error::other("close without an open element"))?;
        self.indent()?;
        writeln!(self.out, "</{name}>")
    }

    /// `<name>text</name>` on one line.
    pub fn leaf(&mut self, name: &'static str, text: &str) -> io::Result<()> {
        self.leaf_with(name, &[], text)
    }

    pub fn leaf_with(
        &mut self,
        name: &'static str,
        attrs: &[(&str, &str)],
        text: &str,
    ) -> io::Result<()> {
        self.start_tag(name, attrs)?;
        writeln!(self.out, "{}</{name}>", escape(text, false))
    }

    /// Writes the element only when there is a value.
    pub fn leaf_opt(&mut self, name: &'static str, text: Option<&str>) -> io::Result<()> {
        match text {
            Some(t) => self.leaf(name, t),
            None => Ok(()),
        }
    }

    /// Returns the output once every element is closed.
    pub fn finish(self) -> io::Result<W> {
        if let Some(name) = self.open.last() {
            return Err(io::Error::other(format!("element {name} was not closed")));
        }
        Ok(self.out)
    }
}

/// Escapes markup characters. Characters XML 1.0 cannot carry at all (most control characters)
/// become U+FFFD; `events.jsonl` keeps the exact text. In attributes, tabs and line breaks are
/// written as character references so that parsers do not normalise them to spaces; a carriage
/// return is one everywhere, since parsers turn a literal one into a line feed.
pub(crate) fn escape(s: &str, attribute: bool) -> Cow<'_, str> {
    let needs =
        |c: char| matches!(c, '&' | '<' | '>' | '"' | '\r' | '\t' | '\n') || !allowed_in_xml(c);
    if !s.chars().any(needs) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' if attribute => out.push_str("&#10;"),
            c if !allowed_in_xml(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The XML 1.0 `Char` production (Rust strings hold no surrogates).
fn allowed_in_xml(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_values_parse_back_to_the_text() {
        let nasty = "a & b < c > d \"q\" 'a' \ttab\nline\r\nøæå 🦀 ]]> <!-- x -->";
        let mut w = XmlWriter::new(Vec::new(), "test").unwrap();
        w.open("rot", &[("attr", nasty)]).unwrap();
        w.leaf("tekst", nasty).unwrap();
        w.close().unwrap();
        let bytes = w.finish().unwrap();
        let xml = String::from_utf8(bytes).unwrap();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        assert_eq!(root.attribute("attr"), Some(nasty));
        let text = root.first_element_child().unwrap().text().unwrap();
        assert_eq!(text, nasty);
    }

    #[test]
    fn characters_xml_cannot_carry_are_replaced() {
        assert_eq!(
            escape("a\u{0}b\u{1b}c\u{FFFE}", false),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}"
        );
        let mut w = XmlWriter::new(Vec::new(), "test").unwrap();
        w.leaf("t", "bell\u{7}").unwrap();
        let xml = String::from_utf8(w.finish().unwrap()).unwrap();
        assert!(roxmltree::Document::parse(&xml).is_ok(), "{xml}");
    }

    #[test]
    fn unclosed_elements_are_an_error() {
        let mut w = XmlWriter::new(Vec::new(), "test").unwrap();
        w.open("a", &[]).unwrap();
        assert!(w.finish().is_err());
    }
}
