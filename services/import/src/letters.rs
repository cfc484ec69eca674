//! Where one letter ends and the next begins. A file holds the tildelingsbrev and, often,
//! its supplements (*Tillegg nr. N*, *Supplerende (tildelingsbrev) nr. N*) pasted after it.
//! Owns splitting the lines into one span per letter, each letter's title and date, and the
//! check that the text is for the year being imported.

use chrono::{Datelike, NaiveDate};

use crate::dates;
use crate::error::ImportError;
use crate::model::{ImportContext, LetterKind};
use crate::reference;
use crate::sink::Sink;
use crate::text::{self, Joined, Line};

/// The lines of one letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Span {
    pub kind: LetterKind,
    pub number: Option<u32>,
    pub title: String,
    /// Line number of the title / heading.
    pub title_line: usize,
    /// Index of the first line after the title.
    pub body_start: usize,
    /// Index one past the last line.
    pub end: usize,
}

/// `Tillegg nr. 1 til tildelingsbrev …`, `Supplerende tildelingsbrev nr. 3`, `Supplerende
/// nr. 2 til Tildelingsbrevet …`: the supplement's number. The heading must mention the
/// tildelingsbrev (on its line or the next) or be short, so a sentence that merely starts
/// with "Tillegg nr." is not taken for one.
pub(crate) fn supplement_heading(lines: &[Line], i: usize) -> Option<u32> {
    let line = &lines[i].text;
    let lower = line.to_lowercase();
    let after = [
        "supplerende tildelingsbrev nr",
        "supplerende nr",
        "tillegg nr",
    ]
    .iter()
    .find(|p| lower.starts_with(*p))
    .map(|p| p.len())?;
    let rest = lower[after..].trim_start_matches('.').trim_start();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let number = digits.parse().ok()?;
    let next = lines
        .get(i + 1)
        .map_or(String::new(), |l| l.text.to_lowercase());
    let mentions_letter = lower.contains("tildelingsbrev") || next.contains("tildelingsbrev");
    (mentions_letter || text::word_count(line) <= 6).then_some(number)
}

/// Split the file into letters. The text before the first supplement heading is the letter
/// itself (unless there is none: a file with only a supplement).
pub(crate) fn spans(lines: &[Line]) -> Vec<Span> {
    let headings: Vec<(usize, u32)> = (0..lines.len())
        .filter_map(|i| supplement_heading(lines, i).map(|n| (i, n)))
        .collect();
    let mut spans = Vec::new();
    let first_text = lines.iter().position(|l| !l.is_blank());
    let main_end = headings.first().map_or(lines.len(), |(i, _)| *i);
    if let Some(first) = first_text.filter(|&f| f < main_end) {
        // A file that starts with a section (no title line) keeps that line in the body.
        let (title, body_start) = if starts_section(&lines[first].text) {
            (String::new(), first)
        } else {
            title_at(lines, first, main_end)
        };
        spans.push(Span {
            kind: LetterKind::Letter,
            number: None,
            title,
            title_line: lines[first].no,
            body_start,
            end: main_end,
        });
    }
    for (k, &(i, number)) in headings.iter().enumerate() {
        let end = headings.get(k + 1).map_or(lines.len(), |(j, _)| *j);
        let (title, body_start) = title_at(lines, i, end);
        spans.push(Span {
            kind: LetterKind::Supplement,
            number: Some(number),
            title,
            title_line: lines[i].no,
            body_start,
            end,
        });
    }
    spans
}

fn starts_section(line: &str) -> bool {
    let lower = line.to_lowercase();
    text::numbered_heading(line).is_some()
        || reference::reference_at_start(line).is_some()
        || [
            "oppdrag",
            "mål",
            "hovedmål",
            "styringskalender",
            "kap.",
            "styringsparametere",
            "nøkkeltall",
        ]
        .iter()
        .any(|w| lower.starts_with(w))
}

/// A title and the lines that continue it directly (no blank line between, at most two).
fn title_at(lines: &[Line], i: usize, end: usize) -> (String, usize) {
    let mut parts = vec![lines[i].text.as_str()];
    let mut j = i + 1;
    while j < end && j <= i + 2 {
        let next = &lines[j].text;
        let continues = !next.is_empty()
            && !parts.last().is_some_and(|p| p.ends_with('.'))
            && !text::is_letterhead(next)
            && dates::parse_date(next, 2000).is_none()
            && (text::starts_lowercase(next)
                || parts
                    .last()
                    .is_some_and(|p| p.ends_with(['-', '–', '—', ':', ','])));
        if !continues {
            break;
        }
        parts.push(next);
        j += 1;
    }
    (text::join(parts), j)
}

/// The year a title states, if it names a tildelingsbrev: the last year in it.
fn title_year(title: &str) -> Option<i32> {
    if !title.to_lowercase().contains("tildelingsbrev") {
        return None;
    }
    let bytes = title.as_bytes();
    (0..bytes.len().saturating_sub(3))
        .filter(|&i| {
            bytes[i..i + 4].iter().all(u8::is_ascii_digit)
                && (i == 0 || !bytes[i - 1].is_ascii_digit())
                && bytes.get(i + 4).is_none_or(|b| !b.is_ascii_digit())
        })
        .filter_map(|i| title[i..i + 4].parse::<i32>().ok())
        .rfind(|y| (1990..=2100).contains(y))
}

/// Refuse a text whose titles state another year. Returns whether any title stated a year
/// (then references are not needed to decide).
pub(crate) fn check_title_years(spans: &[Span], ctx: &ImportContext) -> Result<bool, ImportError> {
    let mut stated_any = false;
    for span in spans {
        if let Some(year) = title_year(&span.title) {
            stated_any = true;
            if year != ctx.year.value() {
                return Err(ImportError::YearMismatch {
                    stated: year,
                    expected: ctx.year.value(),
                    line: span.title_line,
                    evidence: span.title.clone(),
                });
            }
        }
    }
    Ok(stated_any)
}

/// The date a letter carries: a `Dato` label in its letterhead, an `Oslo, 7. mai 2024` line,
/// or a date alone on a line just below the heading. Returns the date, its line and whether
/// it stood after the signature (a letterhead printed after the body, so worth checking).
pub(crate) fn letter_date(
    lines: &[Line],
    span: &Span,
    year: i32,
) -> Option<(NaiveDate, usize, bool)> {
    let body = &lines[span.body_start..span.end];
    let mut signed = false;
    let mut labelled = None;
    for (k, line) in body.iter().enumerate() {
        signed |= text::is_signature(&line.text);
        let found = dated_label(body, k, year)
            .or_else(|| place_and_date(&line.text, year).map(|d| (d, line.no)));
        if let Some((date, at)) = found {
            labelled = Some((date, at, signed));
            break;
        }
    }
    labelled.or_else(|| {
        body.iter()
            .filter(|l| !l.is_blank() && !text::is_letterhead(&l.text))
            .take(6)
            .find_map(|l| dates::parse_date(&l.text, year).map(|d| (d.date, l.no, false)))
    })
}

/// `Dato: 07.05.2024`, or `Dato` with the date on one of the next lines: the date and the
/// line it is printed on.
fn dated_label(body: &[Line], k: usize, year: i32) -> Option<(NaiveDate, usize)> {
    let lower = body[k].text.to_lowercase();
    let rest = lower.strip_prefix("dato")?;
    let rest = rest.trim_start_matches([':', ' ']);
    if !rest.is_empty() {
        return dates::parse_date(rest, year).map(|d| (d.date, body[k].no));
    }
    body[k + 1..]
        .iter()
        .filter(|l| !l.is_blank())
        .take(3)
        .find_map(|l| dates::parse_date(&l.text, year).map(|d| (d.date, l.no)))
}

/// `Oslo, 7. mai 2024`.
fn place_and_date(line: &str, year: i32) -> Option<NaiveDate> {
    let (place, rest) = line.split_once(',')?;
    let place_ok = text::starts_uppercase(place)
        && place.chars().all(|c| c.is_alphabetic() || c == ' ')
        && text::word_count(place) <= 2;
    if !place_ok {
        return None;
    }
    dates::parse_date(rest, year)
        .filter(|d| !d.year_inferred)
        .map(|d| d.date)
}

/// A supplement that refers to "tildelingsbrev av 5. februar 2024" tells the letter's date.
pub(crate) fn cited_letter_date(
    lines: &[Line],
    span: &Span,
    year: i32,
) -> Option<(NaiveDate, usize)> {
    let joined = Joined::new(&lines[span.body_start..span.end]);
    // ASCII lower-casing keeps byte offsets, so positions found in `lower` index the text.
    let lower = joined.text.to_ascii_lowercase();
    for phrase in [
        "tildelingsbrev av ",
        "tildelingsbrevet av ",
        "tildelingsbrev datert ",
        "tildelingsbrevet datert ",
    ] {
        let mut from = 0;
        while let Some(found) = lower[from..].find(phrase) {
            let at = from + found + phrase.len();
            from = at;
            if let Some(d) = dates::parse_date_prefix(&joined.text[at..], year)
                && !d.year_inferred
                && (year - 1..=year).contains(&d.date.year())
            {
                return Some((d.date, joined.line_at(at)));
            }
        }
    }
    None
}

/// Say in a warning where an inferred date came from.
pub(crate) fn warn_date_source(
    sink: &mut Sink,
    span: &Span,
    date: NaiveDate,
    line: usize,
    after_signature: bool,
) {
    if after_signature {
        let which = match span.number {
            Some(n) => format!("supplement {n}"),
            None => "the letter".to_string(),
        };
        sink.warn(
            line,
            format!("date {date} of {which} is taken from a letterhead printed after its signature; check it"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supplement_headings() {
        let l = text::lines(
            "Tillegg nr. 1 til tildelingsbrev for 2024 - oppdrag\nSupplerende nr. 2 til Tildelingsbrevet til\n\
             Supplerende tildelingsbrev nr. 3\nTillegg nr. 4 ble sendt til direktoratet i mai og gjaldt vaksiner\nTillegg nr. x",
        );
        let got: Vec<Option<u32>> = (0..l.len()).map(|i| supplement_heading(&l, i)).collect();
        assert_eq!(got, [Some(1), Some(2), Some(3), None, None]);
    }

    #[test]
    fn spans_and_titles() {
        let l = text::lines(
            "Tildelingsbrev for DMP 2024\n\ntekst\nTillegg nr. 1 til tildelingsbrev for 2024 - oppdrag om gebyr for\n\
             laboratorietjenester\n\nOppdrag\n",
        );
        let s = spans(&l);
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].kind, s[0].title.as_str(), s[0].end),
            (LetterKind::Letter, "Tildelingsbrev for DMP 2024", 3)
        );
        assert_eq!(
            s[1].title,
            "Tillegg nr. 1 til tildelingsbrev for 2024 - oppdrag om gebyr for laboratorietjenester"
        );
        assert_eq!(
            (s[1].number, s[1].title_line, s[1].body_start),
            (Some(1), 4, 5)
        );
    }

    #[test]
    fn title_years() {
        assert_eq!(
            title_year("Tildelingsbrev for Direktoratet for medisinske produkter 2024"),
            Some(2024)
        );
        assert_eq!(title_year("Tildelingsbrev 2023 – Prop. 1 S"), Some(2023));
        assert_eq!(title_year("Årsrapport 2023"), None);
    }

    #[test]
    fn dates_of_letters() {
        let l = text::lines("Tillegg nr. 3\nOslo, 7. mai 2024\nTekst");
        let s = spans(&l);
        assert_eq!(
            letter_date(&l, &s[0], 2024).map(|d| d.0.to_string()),
            Some("2024-05-07".into())
        );
        let l = text::lines("Tillegg nr. 3\n\n07.05.2024\nTekst");
        assert_eq!(
            letter_date(&l, &spans(&l)[0], 2024).map(|d| d.0.to_string()),
            Some("2024-05-07".into())
        );
        let l = text::lines(
            "Tillegg nr. 3\nTekst.\nMed hilsen\nVår ref\n23/3412-\nDato\n\n20. mars 2024",
        );
        assert_eq!(
            letter_date(&l, &spans(&l)[0], 2024).map(|d| (d.0.to_string(), d.1, d.2)),
            Some(("2024-03-20".into(), 8, true))
        );
    }
}
