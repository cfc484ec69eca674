//! Line-level helpers shared by the scanners: cleaning a line, telling noise (page numbers,
//! letterheads) from content, recognising headings, bullets and sentence ends, and joining
//! the fragments a PDF conversion breaks a sentence into.

/// One line of the input: its 1-based number and its cleaned text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub no: usize,
    pub text: String,
}

impl Line {
    pub fn is_blank(&self) -> bool {
        self.text.is_empty()
    }
}

/// Split and clean: no-break spaces become spaces, form feeds go, the line is trimmed, and
/// Markdown decoration that does not change meaning (`## `, `**…**`) is removed.
pub(crate) fn lines(text: &str) -> Vec<Line> {
    text.lines()
        .enumerate()
        .map(|(i, raw)| Line {
            no: i + 1,
            text: clean(raw),
        })
        .collect()
}

fn clean(raw: &str) -> String {
    let s: String = raw
        .chars()
        .filter(|&c| c != '\u{0c}' && c != '\u{feff}')
        .map(|c| if c == '\u{a0}' || c == '\t' { ' ' } else { c })
        .collect();
    let mut t = s.trim();
    let hashes = t.chars().take_while(|&c| c == '#').count();
    if hashes > 0 && t[hashes..].starts_with(' ') {
        t = t[hashes..].trim_start();
    }
    for mark in ["**", "__", "*", "_"] {
        if t.len() > 2 * mark.len() && t.starts_with(mark) && t.ends_with(mark) {
            t = t[mark.len()..t.len() - mark.len()].trim();
            break;
        }
    }
    t.to_string()
}

/// Join line fragments into running text: single spaces, and a word hyphenated at a line end
/// ("e-" + "sigaretter") joined without a space.
pub(crate) fn join<'a>(fragments: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for fragment in fragments {
        push_fragment(&mut out, fragment);
    }
    out
}

/// Append one fragment as [`join`] does; returns the offset where it starts in `out`.
fn push_fragment(out: &mut String, fragment: &str) -> usize {
    let fragment = collapse_spaces(fragment);
    if fragment.is_empty() {
        return out.len();
    }
    if !out.is_empty() {
        let glue = out.ends_with('-')
            && out[..out.len() - 1].ends_with(char::is_alphabetic)
            && fragment.starts_with(char::is_lowercase);
        if !glue {
            out.push(' ');
        }
    }
    let start = out.len();
    out.push_str(&fragment);
    start
}

/// `s` without `prefix`, compared case-insensitively character by character (so byte
/// offsets stay those of `s`).
pub(crate) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let mut rest = s.char_indices();
    for p in prefix.chars() {
        let (_, c) = rest.next()?;
        if !c.to_lowercase().eq(p.to_lowercase()) {
            return None;
        }
    }
    Some(rest.next().map_or("", |(i, _)| &s[i..]))
}

pub(crate) fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(crate) fn word_count(s: &str) -> usize {
    s.split_whitespace().count()
}

pub(crate) fn starts_lowercase(s: &str) -> bool {
    s.starts_with(char::is_lowercase)
}

pub(crate) fn starts_uppercase(s: &str) -> bool {
    s.starts_with(char::is_uppercase)
}

/// The line ends a sentence (or a list lead-in).
pub(crate) fn ends_sentence(s: &str) -> bool {
    s.ends_with(['.', '!', '?', ':'])
}

/// `Side 3`, `Side 3 av 12`, `- 3 -`: page furniture from the PDF.
pub(crate) fn is_page_marker(s: &str) -> bool {
    let lower = s.to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let number = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit());
    match words.as_slice() {
        ["side" | "page", n] => number(n),
        ["side" | "page", n, "av" | "of", m] => number(n) && number(m),
        ["-", n, "-"] => number(n),
        _ => false,
    }
}

/// "Med hilsen": the body of a letter ends here; what follows is signatures and letterhead.
pub(crate) fn is_signature(s: &str) -> bool {
    let lower = s.to_lowercase();
    let t = lower.trim_end_matches([',', '.']);
    matches!(t, "med hilsen" | "vennlig hilsen" | "med vennlig hilsen")
}

/// Letterhead and address-block lines, which PDF conversion scatters into the body.
pub(crate) fn is_letterhead(s: &str) -> bool {
    let lower = s.to_lowercase();
    let t = lower.trim_end_matches([':', '*', ' ']);
    let label = matches!(
        t,
        "deres ref"
            | "vår ref"
            | "dato"
            | "postadresse"
            | "kontoradresse"
            | "telefon"
            | "org.nr."
            | "org.nr"
            | "avdeling"
            | "saksbehandler"
    );
    let address = t.starts_with("postboks ")
        || t.starts_with("www.")
        || t.starts_with("http://")
        || t.starts_with("https://")
        || (t.contains('@') && word_count(t) == 1)
        || t.starts_with("deres ref")
        || t.starts_with("vår ref");
    let postcode = t
        .get(..4)
        .is_some_and(|d| d.chars().all(|c| c.is_ascii_digit()))
        && t.get(4..).is_some_and(|rest| {
            rest.len() > 1
                && rest.starts_with(' ')
                && rest.chars().all(|c| c.is_alphabetic() || c == ' ')
        });
    // "23/3412-", "22 24 90 90", "983 887 406": case numbers and phone/organisation numbers.
    let number_only = !t.is_empty()
        && t.chars().any(|c| c.is_ascii_digit())
        && t.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '/' | '-' | '+'))
        && (t.contains('/') || t.split_whitespace().count() >= 3);
    label || address || postcode || number_only
}

/// A bullet item: `• text`, `- text`, `– text`, `* text`, `· text`. Returns the text.
pub(crate) fn bullet(s: &str) -> Option<&str> {
    // U+F0B7 is the Symbol-font bullet that PDF converters emit.
    for marker in ['•', '-', '–', '*', '·', '\u{f0b7}', '▪', '◦'] {
        if let Some(rest) = s.strip_prefix(marker)
            && (rest.starts_with(' ') || rest.is_empty())
        {
            return Some(rest.trim());
        }
    }
    None
}

/// `I) text`, `II. text` … : a roman-numbered item (vurderingskriterier).
pub(crate) fn roman_item(s: &str) -> Option<&str> {
    let numeral_len = s
        .chars()
        .take_while(|c| matches!(c, 'I' | 'V' | 'X'))
        .count();
    if numeral_len == 0 || numeral_len > 4 {
        return None;
    }
    let rest = &s[numeral_len..];
    let rest = rest.strip_prefix(')').or_else(|| rest.strip_prefix('.'))?;
    rest.starts_with(' ').then(|| rest.trim())
}

/// A numbered heading such as `2.1 Mål: …`, `2.2.1. Oppdrag`, `3. Internasjonalt arbeid`:
/// the section number and the title. The title must start with a capital letter and be
/// short, so `1. april 2024` and wrapped sentences are not headings.
pub(crate) fn numbered_heading(s: &str) -> Option<(Vec<u32>, &str)> {
    let number_len = s
        .char_indices()
        .take_while(|(_, c)| c.is_ascii_digit() || *c == '.')
        .count();
    if number_len == 0 {
        return None;
    }
    let number_text = s[..number_len].trim_end_matches('.');
    let title = s[number_len..].trim_start();
    if title.len() == s[number_len..].len() && !s[..number_len].ends_with('.') {
        return None; // "2024Mål"
    }
    let parts: Option<Vec<u32>> = number_text.split('.').map(|p| p.parse().ok()).collect();
    let parts = parts?;
    let plausible = !parts.is_empty()
        && parts.len() <= 4
        && parts[0] >= 1
        && parts[0] <= 20
        && parts.iter().all(|&p| p <= 30)
        && !number_text.contains("..");
    if !plausible || !starts_uppercase(title) || word_count(title) > 15 {
        return None;
    }
    Some((parts, title))
}

/// `next` continues the numbering after `current` at some level: 2.1.1 → 2.1.2, 2.2 or 3.
pub(crate) fn is_successor(current: &[u32], next: &[u32]) -> bool {
    (1..=current.len()).any(|k| {
        next.len() == k && next[..k - 1] == current[..k - 1] && next[k - 1] == current[k - 1] + 1
    })
}

pub(crate) fn section_text(number: &[u32]) -> String {
    number
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// Running text built from lines, remembering where each line starts so an offset in the
/// text can be traced back to its line number.
#[derive(Debug, Default)]
pub(crate) struct Joined {
    pub text: String,
    starts: Vec<(usize, usize)>,
}

impl Joined {
    pub fn new<'a>(lines: impl IntoIterator<Item = &'a Line>) -> Self {
        let mut joined = Joined::default();
        for line in lines {
            if line.is_blank() {
                continue;
            }
            let start = push_fragment(&mut joined.text, &line.text);
            joined.starts.push((start, line.no));
        }
        joined
    }

    /// The line the byte at `offset` came from.
    pub fn line_at(&self, offset: usize) -> usize {
        self.starts
            .iter()
            .take_while(|(start, _)| *start <= offset)
            .last()
            .or(self.starts.first())
            .map_or(0, |(_, no)| *no)
    }
}

/// Sentences of running text as byte ranges. A full stop ends a sentence only when a capital
/// letter follows, so "kap. 746", "mill. kroner" and "1. mars" stay inside their sentence.
pub(crate) fn sentences(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '!' | '?') {
            let rest = &text[i + 1..];
            let next_is_space = rest.starts_with(' ');
            if next_is_space && starts_uppercase(rest.trim_start()) {
                out.push((start, i + 1));
                start = i + 2;
            }
        }
    }
    if start < bytes.len() {
        out.push((start, bytes.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning() {
        let l = lines("  # Tildelingsbrev 2024 \n\u{0c}Side 3\u{a0}\n**Tillegg nr. 1**");
        let texts: Vec<&str> = l.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["Tildelingsbrev 2024", "Side 3", "Tillegg nr. 1"]);
        assert_eq!(l[2].no, 3);
    }

    #[test]
    fn joining_fragments() {
        assert_eq!(
            join(["Direktoratet for ", "  medisinske produkter"]),
            "Direktoratet for medisinske produkter"
        );
        assert_eq!(join(["mot e-", "sigaretter"]), "mot e-sigaretter");
        assert_eq!(
            join(["Helse- og", "omsorgsdepartementet"]),
            "Helse- og omsorgsdepartementet"
        );
        assert_eq!(join(["bl.a. -", "Direktoratet"]), "bl.a. - Direktoratet");
    }

    #[test]
    fn page_markers_and_letterheads() {
        assert!(is_page_marker("Side 10"));
        assert!(is_page_marker("Side 2 av 4"));
        assert!(!is_page_marker("Side om side"));
        for s in [
            "Deres ref",
            "Vår ref",
            "Dato",
            "23/3412-",
            "0213 OSLO",
            "Postboks 240 Skøyen",
            "22 24 90 90",
            "Org.nr.",
            "Telefon*",
            "postmottak@hod.dep.no",
        ] {
            assert!(is_letterhead(s), "{s}");
        }
        for s in ["2023", "Frist er 1. mars 2024.", "Kap. 746", "429 548"] {
            assert!(!is_letterhead(s), "{s}");
        }
    }

    #[test]
    fn headings() {
        assert_eq!(
            numbered_heading("2.1 Mål: Rask tilgang"),
            Some((vec![2, 1], "Mål: Rask tilgang"))
        );
        assert_eq!(
            numbered_heading("2.2.1. Oppdrag"),
            Some((vec![2, 2, 1], "Oppdrag"))
        );
        assert_eq!(
            numbered_heading("3. Internasjonalt arbeid"),
            Some((vec![3], "Internasjonalt arbeid"))
        );
        assert_eq!(numbered_heading("1. april 2024"), None);
        assert_eq!(numbered_heading("2024. Arbeidet ledes av"), None);
        assert_eq!(numbered_heading("429 548"), None);
        assert!(is_successor(&[2, 1, 1], &[2, 2]));
        assert!(is_successor(&[2, 1, 1], &[3]));
        assert!(is_successor(&[2, 1, 1], &[2, 1, 2]));
        assert!(!is_successor(&[2, 1, 1], &[1]));
        assert!(!is_successor(&[2, 1, 1], &[4]));
    }

    #[test]
    fn case_insensitive_prefix() {
        assert_eq!(strip_prefix_ci("MÅL: Rask", "mål"), Some(": Rask"));
        assert_eq!(strip_prefix_ci("Mål", "mål"), Some(""));
        assert_eq!(strip_prefix_ci("Må", "mål"), None);
        assert_eq!(strip_prefix_ci("\u{212B}", "å"), Some(""));
    }

    #[test]
    fn bullets_and_roman_items() {
        assert_eq!(bullet("• Antall tilsyn"), Some("Antall tilsyn"));
        assert_eq!(bullet("- Bevilgningen økes"), Some("Bevilgningen økes"));
        assert_eq!(bullet("-5 kroner"), None);
        assert_eq!(
            roman_item("III) Hvordan direktoratet"),
            Some("Hvordan direktoratet")
        );
        assert_eq!(roman_item("IV. Hvordan"), Some("Hvordan"));
        assert_eq!(roman_item("Innen"), None);
    }

    #[test]
    fn joined_text_maps_offsets_to_lines() {
        let l = lines("Frist er 1.\n\nseptember 2024.\nNeste");
        let j = Joined::new(&l);
        assert_eq!(j.text, "Frist er 1. september 2024. Neste");
        assert_eq!(j.line_at(0), 1);
        assert_eq!(j.line_at(j.text.find("september").unwrap()), 3);
        assert_eq!(j.line_at(j.text.find("Neste").unwrap()), 4);
    }

    #[test]
    fn sentence_split() {
        let t = "Økes med 3,5 mill. kroner over kap. 746, post 01. Frist 1. mars. Slutt";
        let s: Vec<&str> = sentences(t).into_iter().map(|(a, b)| &t[a..b]).collect();
        assert_eq!(
            s,
            [
                "Økes med 3,5 mill. kroner over kap. 746, post 01.",
                "Frist 1. mars.",
                "Slutt"
            ]
        );
    }
}
