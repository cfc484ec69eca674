//! A small PDF 1.4 writer for the report downloads: A4 pages with margins, a title, headings,
//! paragraphs and simple tables, numbered "side 1 av 3" at the foot. Text is set in the
//! standard Helvetica and Helvetica-Bold (every reader has them, so nothing is embedded) with
//! WinAnsiEncoding, so Norwegian and other Latin-1 text comes out right; a character the
//! encoding lacks prints as `?`. Lines are wrapped with the fonts' own glyph widths (Adobe's
//! AFM metrics), and a table that runs off a page goes on with its header repeated.
//!
//! Content streams are left uncompressed and every byte outside printable ASCII is written as
//! an octal escape, so the whole file is plain ASCII: tests and a curious reader can read it.
//! Nothing here knows about reports or the web; `reports.rs` lays its documents out with it.

use std::fmt::Write;

use chrono::{DateTime, Utc};

/// A4 in points.
const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;
/// Two centimetres all round; the page number sits in the bottom margin.
const MARGIN: f32 = 56.69;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
const TOP: f32 = PAGE_HEIGHT - MARGIN;
const BOTTOM: f32 = MARGIN;
const FOOTER_BASELINE: f32 = MARGIN / 2.0;

const TITLE_SIZE: f32 = 16.0;
const HEADING_SIZE: f32 = 12.0;
const BODY_SIZE: f32 = 10.0;
const TABLE_SIZE: f32 = 9.0;
const FOOTER_SIZE: f32 = 8.0;
/// Line height as a multiple of the font size.
const LEADING: f32 = 1.3;
/// Space between a table cell's border and its text.
const CELL_PADDING: f32 = 3.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Font {
    Regular,
    Bold,
}

impl Font {
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
        }
    }

    /// The advance width of the glyph a WinAnsi byte selects, in thousandths of the size.
    fn width(self, byte: u8) -> u32 {
        let table = match self {
            Font::Regular => &HELVETICA,
            Font::Bold => &HELVETICA_BOLD,
        };
        match byte {
            32..=255 => u32::from(table[usize::from(byte) - 32]),
            _ => 0,
        }
    }
}

/// The WinAnsiEncoding (Windows-1252) byte for `c`; `?` for a character the encoding lacks.
pub fn win_ansi(c: char) -> u8 {
    match c {
        ' '..='~' => c as u8,
        '\u{a0}'..='\u{ff}' => c as u32 as u8,
        '\t' => b' ',
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8a,
        '‹' => 0x8b,
        'Œ' => 0x8c,
        'Ž' => 0x8e,
        '\u{2018}' => 0x91,
        '\u{2019}' => 0x92,
        '\u{201c}' => 0x93,
        '\u{201d}' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9a,
        '›' => 0x9b,
        'œ' => 0x9c,
        'ž' => 0x9e,
        'Ÿ' => 0x9f,
        _ => b'?',
    }
}

/// How wide `text` is set in `font` at `size`, in points.
pub fn text_width(text: &str, font: Font, size: f32) -> f32 {
    units(text, font) as f32 * size / 1000.0
}

fn units(text: &str, font: Font) -> u32 {
    text.chars().map(|c| font.width(win_ansi(c))).sum()
}

/// `text` broken into lines no wider than `width`: at spaces where it can, inside a word
/// only when the word alone is too wide. Each line break in `text` starts a new line; an empty
/// text is one empty line.
pub fn wrap(text: &str, font: Font, size: f32, width: f32) -> Vec<String> {
    // Compared in glyph units, so summing never drifts from what `text_width` says.
    let limit = (width * 1000.0 / size).floor() as u32;
    let space = font.width(b' ');
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut used = 0;
        for word in paragraph.split_whitespace() {
            let needed = units(word, font);
            let gap = if line.is_empty() { 0 } else { space };
            if used + gap + needed <= limit {
                if gap > 0 {
                    line.push(' ');
                }
                line.push_str(word);
                used += gap + needed;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                used = 0;
            }
            if needed <= limit {
                line.push_str(word);
                used = needed;
                continue;
            }
            // Too wide for any line: as many characters as fit, then the rest (at least one
            // character a line, however narrow the column).
            for c in word.chars() {
                let w = font.width(win_ansi(c));
                if used + w > limit && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    used = 0;
                }
                line.push(c);
                used += w;
            }
        }
        lines.push(line);
    }
    lines
}

/// A PDF literal string of `text` in WinAnsiEncoding, with `(`, `)` and `\` escaped and every
/// byte outside printable ASCII as an octal escape.
pub fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('(');
    for c in text.chars() {
        match win_ansi(c) {
            b @ (b'(' | b')' | b'\\') => {
                out.push('\\');
                out.push(char::from(b));
            }
            b @ 0x20..=0x7e => out.push(char::from(b)),
            b => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push(')');
    out
}

/// A text string for the document information (any Unicode: UTF-16BE with its byte order mark).
fn info_text(text: &str) -> String {
    let mut out = String::from("<FEFF");
    for unit in text.encode_utf16() {
        let _ = write!(out, "{unit:04X}");
    }
    out.push('>');
    out
}

/// A table column: its heading and its share of the width.
pub struct Column<'a> {
    pub heading: &'a str,
    pub weight: f32,
}

/// A document being laid out, top to bottom, page after page.
pub struct Pdf {
    title: String,
    created: DateTime<Utc>,
    /// The words of the page number: ("side", "av") → "side 1 av 3".
    page_words: (String, String),
    pages: Vec<String>,
    /// The current page's content stream.
    ops: String,
    /// Where the next block starts, from the bottom of the page.
    y: f32,
}

impl Pdf {
    pub fn new(title: &str, created: DateTime<Utc>, page: &str, of: &str) -> Pdf {
        Pdf {
            title: title.to_owned(),
            created,
            page_words: (page.to_owned(), of.to_owned()),
            pages: Vec::new(),
            ops: String::new(),
            y: TOP,
        }
    }

    /// The document's title, large and bold.
    pub fn title(&mut self, text: &str) {
        self.lines(text, Font::Bold, TITLE_SIZE, 0.0, 8.0);
    }

    /// A section heading, kept on the page with at least two lines of what follows.
    pub fn heading(&mut self, text: &str) {
        let lines = wrap(text, Font::Bold, HEADING_SIZE, CONTENT_WIDTH).len() as f32;
        self.room_for(lines * HEADING_SIZE * LEADING + 10.0 + 2.0 * BODY_SIZE * LEADING);
        self.lines(text, Font::Bold, HEADING_SIZE, 10.0, 4.0);
    }

    /// A paragraph of body text.
    pub fn paragraph(&mut self, text: &str) {
        self.lines(text, Font::Regular, BODY_SIZE, 0.0, 6.0);
    }

    fn lines(&mut self, text: &str, font: Font, size: f32, before: f32, after: f32) {
        if self.y < TOP {
            self.y -= before;
        }
        let leading = size * LEADING;
        for line in wrap(text, font, size, CONTENT_WIDTH) {
            self.room_for(leading);
            self.text(MARGIN, self.y - 0.9 * size, font, size, &line);
            self.y -= leading;
        }
        self.y -= after;
    }

    /// Starts a new page unless `height` fits above the bottom margin (or the page is empty).
    fn room_for(&mut self, height: f32) {
        if self.y - height < BOTTOM && self.y < TOP {
            self.new_page();
        }
    }

    fn new_page(&mut self) {
        self.pages.push(std::mem::take(&mut self.ops));
        self.y = TOP;
    }

    fn text(&mut self, x: f32, baseline: f32, font: Font, size: f32, text: &str) {
        let _ = writeln!(
            self.ops,
            "BT /{} {size} Tf 1 0 0 1 {x:.2} {baseline:.2} Tm {} Tj ET",
            font.resource(),
            literal(text)
        );
    }

    /// A table with a shaded header row, each cell's text wrapped to its column. A row that
    /// does not fit where it is starts a new page (with the header again); a row taller than
    /// a whole page is split between pages.
    pub fn table(&mut self, columns: &[Column<'_>], rows: &[Vec<String>]) {
        let total: f32 = columns.iter().map(|c| c.weight).sum();
        let widths: Vec<f32> = columns
            .iter()
            .map(|c| CONTENT_WIDTH * c.weight / total)
            .collect();
        let inner = |i: usize| widths[i] - 2.0 * CELL_PADDING;
        let leading = TABLE_SIZE * LEADING;
        let header: Vec<Vec<String>> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| wrap(c.heading, Font::Bold, TABLE_SIZE, inner(i)))
            .collect();
        let header_lines = header.iter().map(Vec::len).max().unwrap_or(1);
        let header_height = 2.0 * CELL_PADDING + header_lines as f32 * leading;
        let one_line = 2.0 * CELL_PADDING + leading;

        self.room_for(header_height + one_line);
        self.row(&widths, &header, 0..header_lines, Font::Bold);
        for row in rows {
            let cells: Vec<Vec<String>> = (0..columns.len())
                .map(|i| {
                    let text = row.get(i).map(String::as_str).unwrap_or("");
                    wrap(text, Font::Regular, TABLE_SIZE, inner(i))
                })
                .collect();
            let count = cells.iter().map(Vec::len).max().unwrap_or(1);
            let height = 2.0 * CELL_PADDING + count as f32 * leading;
            // A row that fits on a fresh page is not split.
            if self.y - height < BOTTOM && height <= TOP - BOTTOM - header_height {
                self.new_page();
                self.row(&widths, &header, 0..header_lines, Font::Bold);
            }
            let mut start = 0;
            while start < count {
                let fit = ((self.y - BOTTOM - 2.0 * CELL_PADDING) / leading).floor();
                if fit < 1.0 {
                    self.new_page();
                    self.row(&widths, &header, 0..header_lines, Font::Bold);
                    continue;
                }
                let end = count.min(start + fit as usize);
                self.row(&widths, &cells, start..end, Font::Regular);
                start = end;
            }
        }
        self.y -= 8.0;
    }

    /// One row (or the lines `range` of a split row) at the cursor, bordered, the header shaded.
    fn row(
        &mut self,
        widths: &[f32],
        cells: &[Vec<String>],
        range: std::ops::Range<usize>,
        font: Font,
    ) {
        let leading = TABLE_SIZE * LEADING;
        let height = 2.0 * CELL_PADDING + range.len() as f32 * leading;
        let bottom = self.y - height;
        let mut x = MARGIN;
        for (cell, &w) in cells.iter().zip(widths) {
            if font == Font::Bold {
                let _ = writeln!(
                    self.ops,
                    "0.9 g {x:.2} {bottom:.2} {w:.2} {height:.2} re f 0 g"
                );
            }
            let _ = writeln!(self.ops, "0.5 w {x:.2} {bottom:.2} {w:.2} {height:.2} re S");
            for (k, line) in cell.iter().enumerate() {
                if !range.contains(&k) || line.is_empty() {
                    continue;
                }
                let top = self.y - CELL_PADDING - (k - range.start) as f32 * leading;
                self.text(
                    x + CELL_PADDING,
                    top - 0.9 * TABLE_SIZE,
                    font,
                    TABLE_SIZE,
                    line,
                );
            }
            x += w;
        }
        self.y = bottom;
    }

    /// The finished file: the page numbers added, the objects written with their offsets in
    /// the cross-reference table.
    pub fn finish(mut self) -> Vec<u8> {
        if !self.ops.is_empty() || self.pages.is_empty() {
            self.new_page();
        }
        let count = self.pages.len();
        let (page_word, of_word) = &self.page_words;
        for (i, ops) in self.pages.iter_mut().enumerate() {
            let number = format!("{page_word} {} {of_word} {count}", i + 1);
            let x = PAGE_WIDTH - MARGIN - text_width(&number, Font::Regular, FOOTER_SIZE);
            let _ = writeln!(
                ops,
                "BT /F1 {FOOTER_SIZE} Tf 1 0 0 1 {x:.2} {FOOTER_BASELINE:.2} Tm {} Tj ET",
                literal(&number)
            );
        }

        // 1 catalog, 2 page tree, 3 and 4 the fonts, 5 the information, then per page the page
        // and its contents.
        let page_id = |i: usize| 6 + 2 * i;
        let kids: Vec<String> = (0..count).map(|i| format!("{} 0 R", page_id(i))).collect();
        let mut objects = vec![
            "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
            format!(
                "<< /Type /Pages /Kids [{}] /Count {count} >>",
                kids.join(" ")
            ),
            font_object("Helvetica"),
            font_object("Helvetica-Bold"),
            format!(
                "<< /Title {} /CreationDate ({}) /Producer (Styringsdialog) >>",
                info_text(&self.title),
                self.created.format("D:%Y%m%d%H%M%SZ")
            ),
        ];
        for (i, ops) in self.pages.iter().enumerate() {
            objects.push(format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
                 /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                page_id(i) + 1
            ));
            objects.push(format!(
                "<< /Length {} >>\nstream\n{ops}\nendstream",
                ops.len()
            ));
        }

        let mut out = String::from("%PDF-1.4\n");
        let mut offsets = Vec::with_capacity(objects.len());
        for (i, object) in objects.iter().enumerate() {
            offsets.push(out.len());
            let _ = write!(out, "{} 0 obj\n{object}\nendobj\n", i + 1);
        }
        let xref = out.len();
        let _ = write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
        for offset in offsets {
            // Each entry is exactly 20 bytes, its end of line two characters.
            let _ = writeln!(out, "{offset:010} 00000 n ");
        }
        let _ = write!(
            out,
            "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        );
        out.into_bytes()
    }
}

fn font_object(name: &str) -> String {
    format!("<< /Type /Font /Subtype /Type1 /BaseFont /{name} /Encoding /WinAnsiEncoding >>")
}

/// Helvetica's advance widths (Adobe's AFM, in thousandths of the size) for the WinAnsi codes
/// 32 to 255; the codes WinAnsi leaves unused (0x81, 0x8D, 0x8F, 0x90, 0x9D) are never written
/// (`win_ansi` makes them `?`) and count as zero.
#[rustfmt::skip]
const HELVETICA: [u16; 224] = [
    // space ! " # $ % & ' ( ) * + , - . /
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    // 0–9 : ; < = > ?
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    // @ A–O
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    // P–Z [ \ ] ^ _
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    // ` a–o
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    // p–z { | } ~ (DEL)
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 0,
    // € – ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ – Ž –
    556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0,
    // – ‘ ’ “ ” • – — ˜ ™ š › œ – ž Ÿ
    0, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667,
    // nbsp ¡ ¢ £ ¤ ¥ ¦ § ¨ © ª « ¬ soft-hyphen ® ¯
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    // ° ± ² ³ ´ µ ¶ · ¸ ¹ º » ¼ ½ ¾ ¿
    400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    // À Á Â Ã Ä Å Æ Ç È É Ê Ë Ì Í Î Ï
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    // Ð Ñ Ò Ó Ô Õ Ö × Ø Ù Ú Û Ü Ý Þ ß
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    // à á â ã ä å æ ç è é ê ë ì í î ï
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278,
    // ð ñ ò ó ô õ ö ÷ ø ù ú û ü ý þ ÿ
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
];

/// Helvetica-Bold's advance widths, laid out as `HELVETICA`.
#[rustfmt::skip]
const HELVETICA_BOLD: [u16; 224] = [
    // space ! " # $ % & ' ( ) * + , - . /
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    // 0–9 : ; < = > ?
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    // @ A–O
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    // P–Z [ \ ] ^ _
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    // ` a–o
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    // p–z { | } ~ (DEL)
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 0,
    // € – ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ – Ž –
    556, 0, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0,
    // – ‘ ’ “ ” • – — ˜ ™ š › œ – ž Ÿ
    0, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 0, 500, 667,
    // nbsp ¡ ¢ £ ¤ ¥ ¦ § ¨ © ª « ¬ soft-hyphen ® ¯
    278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333,
    // ° ± ² ³ ´ µ ¶ · ¸ ¹ º » ¼ ½ ¾ ¿
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611,
    // À Á Â Ã Ä Å Æ Ç È É Ê Ë Ì Í Î Ï
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,
    // Ð Ñ Ò Ó Ô Õ Ö × Ø Ù Ú Û Ü Ý Þ ß
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,
    // à á â ã ä å æ ç è é ê ë ì í î ï
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278,
    // ð ñ ò ó ô õ ö ÷ ø ù ú û ü ý þ ÿ
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556,
];

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn created() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, 1, 12, 30, 0).unwrap()
    }

    fn document(build: impl FnOnce(&mut Pdf)) -> String {
        let mut pdf = Pdf::new("Vedlegg – særskilte oppdrag", created(), "side", "av");
        build(&mut pdf);
        String::from_utf8(pdf.finish()).expect("the file is ASCII")
    }

    /// The content streams, in page order.
    fn streams(pdf: &str) -> Vec<&str> {
        pdf.split(">>\nstream\n")
            .skip(1)
            .filter_map(|s| s.split_once("\nendstream").map(|(body, _)| body))
            .collect()
    }

    #[test]
    fn every_xref_offset_points_at_its_object_and_startxref_at_the_table() {
        let pdf = document(|p| {
            p.title("Tittel");
            p.paragraph("Æ ø å (og) \\ litt tekst");
        });
        assert!(pdf.starts_with("%PDF-1.4\n"));
        let start: usize = pdf
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(pdf[start..].starts_with("xref\n0 "));
        let table = &pdf[start..];
        let mut lines = table.lines().skip(1);
        let size: usize = lines.next().unwrap()[2..].parse().unwrap();
        assert_eq!(lines.next(), Some("0000000000 65535 f "));
        for n in 1..size {
            let entry = lines.next().unwrap();
            assert_eq!(entry.len(), 19, "{entry:?} and its newline make 20 bytes");
            let offset: usize = entry[..10].parse().unwrap();
            assert!(
                pdf[offset..].starts_with(&format!("{n} 0 obj\n")),
                "object {n} at {offset}"
            );
        }
        assert!(table.contains(&format!("/Size {size} ")));
        assert!(pdf.ends_with("%%EOF\n"));
        // The stream lengths are the bytes between `stream` and `endstream`.
        for s in streams(&pdf) {
            assert!(pdf.contains(&format!("<< /Length {} >>\nstream\n{s}\n", s.len())));
        }
    }

    #[test]
    fn the_document_information_has_the_title_and_creation_date() {
        let pdf = document(|_| {});
        assert!(pdf.contains("/CreationDate (D:20240301123000Z)"));
        // "Ve…" in UTF-16BE after the byte order mark; "–" is U+2013, "æ" U+00E6.
        assert!(pdf.contains("/Title <FEFF00560065"));
        assert!(pdf.contains("2013") && pdf.contains("00E6"));
        assert!(pdf.contains("/BaseFont /Helvetica /Encoding /WinAnsiEncoding"));
        assert!(pdf.contains("/BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding"));
        // An empty document still has its one page.
        assert!(pdf.contains("/Count 1 "));
        assert!(pdf.contains("(side 1 av 1) Tj"));
    }

    #[test]
    fn brackets_and_backslashes_are_escaped() {
        assert_eq!(literal(r"a(b)c\d"), r"(a\(b\)c\\d)");
        let pdf = document(|p| p.paragraph("(x)"));
        assert!(pdf.contains(r"(\(x\)) Tj"));
    }

    #[test]
    fn norwegian_letters_are_win_ansi_and_others_become_question_marks() {
        let bytes: Vec<u8> = "æøåÆØÅé".chars().map(win_ansi).collect();
        assert_eq!(bytes, [0xe6, 0xf8, 0xe5, 0xc6, 0xd8, 0xc5, 0xe9]);
        assert_eq!(literal("blåbær"), r"(bl\345b\346r)");
        assert_eq!(literal("Ø – €"), r"(\330 \226 \200)");
        assert_eq!(literal("中 ✓"), "(? ?)");
        // The widths follow the encoding: "æ" is Helvetica's ae (889), "?" its question mark.
        assert_eq!(units("æ", Font::Regular), 889);
        assert_eq!(units("中", Font::Regular), 556);
        assert_eq!(units("Å", Font::Bold), 722);
    }

    #[test]
    fn wrapped_lines_never_exceed_the_width_and_keep_every_word() {
        let texts = [
            "Direktoratet for medisinske produkter skal utrede og foreslå tiltak for å styrke \
             legemiddelberedskapen, herunder lagerhold av kritiske legemidler.",
            "Kortord",
            "Ettsværtlangtordsomikkegåransenpåénlinjeuansetthvorbreddenervalgt og så videre",
            "",
            "Første linje\nAndre linje",
        ];
        for text in texts {
            for width in [20.0, 45.0, 80.0, 150.0, CONTENT_WIDTH] {
                for font in [Font::Regular, Font::Bold] {
                    let lines = wrap(text, font, 9.0, width);
                    assert!(!lines.is_empty());
                    for line in &lines {
                        assert!(
                            text_width(line, font, 9.0) <= width,
                            "{line:?} is wider than {width}"
                        );
                    }
                    let joined: String = lines.concat().split_whitespace().collect();
                    let original: String = text.split_whitespace().collect();
                    assert_eq!(joined, original);
                }
            }
        }
        assert_eq!(
            wrap("Første linje\nAndre linje", Font::Regular, 10.0, 400.0),
            ["Første linje", "Andre linje"]
        );
        // The measurement is Helvetica's: "Mmm" is 833 + 2 × 833 at 10 pt.
        assert!((text_width("Mmm", Font::Regular, 10.0) - 24.99).abs() < 0.01);
    }

    #[test]
    fn a_long_table_breaks_across_pages_with_its_header_repeated() {
        let rows: Vec<Vec<String>> = (1..=120)
            .map(|i| {
                vec![
                    format!("TB2024-{i}"),
                    format!("Oppdrag nummer {i} om beredskap og forsyningssikkerhet"),
                ]
            })
            .collect();
        let pdf = document(|p| {
            p.title("Tabell");
            p.table(
                &[
                    Column {
                        heading: "Referanse",
                        weight: 1.0,
                    },
                    Column {
                        heading: "Tittel",
                        weight: 3.0,
                    },
                ],
                &rows,
            );
        });
        let pages = streams(&pdf);
        assert!(pages.len() >= 3, "{} pages", pages.len());
        let count = pages.len();
        assert!(pdf.contains(&format!("/Count {count} ")));
        for (i, page) in pages.iter().enumerate() {
            assert_eq!(page.matches("(Referanse) Tj").count(), 1, "page {}", i + 1);
            assert_eq!(page.matches("(Tittel) Tj").count(), 1, "page {}", i + 1);
            assert!(page.contains(&format!("(side {} av {count}) Tj", i + 1)));
            // Nothing is set below the bottom margin but the page number.
            for line in page.lines().filter(|l| l.contains(" Tm ")) {
                let y: f32 = line
                    .split(" Tm")
                    .next()
                    .unwrap()
                    .rsplit(' ')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(y >= BOTTOM || line.contains("(side "), "{line}");
            }
        }
        for i in 1..=120 {
            let reference = format!("(TB2024-{i}) Tj");
            assert_eq!(pdf.matches(&reference).count(), 1, "{reference}");
        }
    }

    #[test]
    fn a_row_taller_than_a_page_is_split_between_pages() {
        let long = "ord ".repeat(3000);
        let pdf = document(|p| {
            p.table(
                &[Column {
                    heading: "Beskrivelse",
                    weight: 1.0,
                }],
                &[vec![long.clone()]],
            );
        });
        let pages = streams(&pdf);
        assert!(pages.len() >= 2);
        for page in &pages {
            assert!(page.contains("(Beskrivelse) Tj"));
        }
    }
}
