//! Norwegian dates as letters print them. Owns every date form the importer understands, so the
//! scanners elsewhere never look at digits and month names themselves.
//!
//! Forms (all of them inside running text as well as on their own):
//! - `1. mars 2024`, `1 mars 2024`, `1. sept. 2024` — day, month name (bokmål/nynorsk, full or
//!   abbreviated), year; the line break a PDF conversion puts between the parts is fine;
//! - `15. mai` — no year: the letter's year is used and the date is marked `year_inferred`;
//! - `1. september d.å.` — *dette år* (this year): the letter's year, also marked inferred;
//! - `01.03.2024`, `1.3.2024` — numeric with dots and a four-digit year;
//! - `2024-03-01` — ISO.
//!
//! Context words such as "innen" (by) are not part of the date; callers look at the words
//! before a date when its role matters.

use chrono::NaiveDate;

/// A date found in a piece of text, with the byte range it was printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundDate {
    pub date: NaiveDate,
    /// Byte offset of the first character of the date.
    pub start: usize,
    /// Byte offset just after the date.
    pub end: usize,
    /// The text gave no year (or said "d.å."), so the letter's year was used.
    pub year_inferred: bool,
}

const MONTHS: [(&str, u32); 24] = [
    ("januar", 1),
    ("februar", 2),
    ("mars", 3),
    ("april", 4),
    ("mai", 5),
    ("juni", 6),
    ("juli", 7),
    ("august", 8),
    ("september", 9),
    ("oktober", 10),
    ("november", 11),
    ("desember", 12),
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("apr", 4),
    ("jun", 6),
    ("jul", 7),
    ("aug", 8),
    ("sep", 9),
    ("sept", 9),
    ("okt", 10),
    ("nov", 11),
    ("des", 12),
];

/// The month a Norwegian month name (full or abbreviated, any case) stands for.
pub fn month_number(word: &str) -> Option<u32> {
    let w = word.to_lowercase();
    MONTHS.iter().find(|(name, _)| *name == w).map(|(_, m)| *m)
}

fn is_abbreviation(word: &str) -> bool {
    let w = word.to_lowercase();
    MONTHS[12..].iter().any(|(name, _)| *name == w)
}

/// The whole of `s` (trimmed) is one date.
pub fn parse_date(s: &str, default_year: i32) -> Option<FoundDate> {
    let t = s.trim();
    let offset = s.len() - s.trim_start().len();
    let found = parse_date_prefix(t, default_year)?;
    let rest = t[found.end..].trim_matches(|c: char| c.is_whitespace() || c == '.' || c == ',');
    rest.is_empty().then_some(FoundDate {
        start: found.start + offset,
        end: found.end + offset,
        ..found
    })
}

/// A date at the very start of `s` (leading whitespace allowed).
pub fn parse_date_prefix(s: &str, default_year: i32) -> Option<FoundDate> {
    let start = s.len() - s.trim_start().len();
    date_at(s, start, default_year)
}

/// Every date in `s`, left to right, not overlapping.
pub fn find_dates(s: &str, default_year: i32) -> Vec<FoundDate> {
    let bytes = s.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() && starts_token(s, i) {
            if let Some(d) = date_at(s, i, default_year) {
                found.push(d);
                i = d.end;
                continue;
            }
            // Skip the rest of this number so "2024-03-01" is not re-read from "024-…".
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            continue;
        }
        i += 1;
    }
    found
}

/// A date may start at `i` only if it is not glued to a word, a number or a section number.
fn starts_token(s: &str, i: usize) -> bool {
    match s[..i].chars().next_back() {
        None => true,
        Some(c) => !(c.is_alphanumeric() || matches!(c, '.' | '-' | '/' | ':' | ',')),
    }
}

fn date_at(s: &str, i: usize, default_year: i32) -> Option<FoundDate> {
    iso_at(s, i)
        .or_else(|| numeric_at(s, i))
        .or_else(|| named_month_at(s, i, default_year))
}

/// Leading ASCII digits of `s[i..]`: (value, end offset).
fn digits(s: &str, i: usize, max_len: usize) -> Option<(u32, usize)> {
    let run = s[i..].bytes().take_while(u8::is_ascii_digit).count();
    if run == 0 || run > max_len {
        return None;
    }
    Some((s[i..i + run].parse().ok()?, i + run))
}

fn not_followed_by_digit(s: &str, end: usize) -> bool {
    !s[end..].starts_with(|c: char| c.is_ascii_digit())
}

fn year_ok(y: u32) -> bool {
    (1900..=2100).contains(&y)
}

/// `2024-03-01`
fn iso_at(s: &str, i: usize) -> Option<FoundDate> {
    let (y, e) = digits(s, i, 4).filter(|(_, e)| e - i == 4)?;
    let e = expect(s, e, '-')?;
    let (m, e2) = digits(s, e, 2).filter(|(_, end)| end - e == 2)?;
    let e3 = expect(s, e2, '-')?;
    let (d, end) = digits(s, e3, 2).filter(|(_, end)| end - e3 == 2)?;
    if !year_ok(y) || !not_followed_by_digit(s, end) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y as i32, m, d)?;
    Some(FoundDate {
        date,
        start: i,
        end,
        year_inferred: false,
    })
}

fn expect(s: &str, i: usize, c: char) -> Option<usize> {
    s[i..].starts_with(c).then_some(i + c.len_utf8())
}

/// `01.03.2024`, `1.3.2024`
fn numeric_at(s: &str, i: usize) -> Option<FoundDate> {
    let (d, e) = digits(s, i, 2)?;
    let e = expect(s, e, '.')?;
    let (m, e) = digits(s, e, 2)?;
    let e = expect(s, e, '.')?;
    let (y, end) = digits(s, e, 4).filter(|(_, end)| end - e == 4)?;
    if !year_ok(y) || !not_followed_by_digit(s, end) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y as i32, m, d)?;
    Some(FoundDate {
        date,
        start: i,
        end,
        year_inferred: false,
    })
}

/// `1. mars 2024`, `1 mars`, `1. sept. 2024`, `1. september d.å.`
fn named_month_at(s: &str, i: usize, default_year: i32) -> Option<FoundDate> {
    let (d, mut e) = digits(s, i, 2)?;
    if s[e..].starts_with('.') {
        e += 1;
    }
    let gap = skip_ws(s, e);
    if gap == e && s[..e].ends_with(|c: char| c.is_ascii_digit()) {
        return None; // "1mars" is not a date
    }
    let word_len = s[gap..]
        .chars()
        .take_while(|c| c.is_alphabetic())
        .map(char::len_utf8)
        .sum::<usize>();
    let word = &s[gap..gap + word_len];
    let month = month_number(word)?;
    let mut end = gap + word_len;
    if is_abbreviation(word) && s[end..].starts_with('.') {
        end += 1;
    }
    let after = skip_ws(s, end);
    let (year, year_inferred, end) = match digits(s, after, 4) {
        Some((y, ye)) if ye - after == 4 && year_ok(y) && not_followed_by_digit(s, ye) => {
            (y as i32, false, ye)
        }
        _ if starts_with_ci(&s[after..], "d.å.") => (default_year, true, after + "d.å.".len()),
        _ => (default_year, true, end),
    };
    let date = NaiveDate::from_ymd_opt(year, month, d)?;
    Some(FoundDate {
        date,
        start: i,
        end,
        year_inferred,
    })
}

fn skip_ws(s: &str, i: usize) -> usize {
    i + s[i..]
        .chars()
        .take_while(|c| c.is_whitespace())
        .map(char::len_utf8)
        .sum::<usize>()
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.to_lowercase() == prefix.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn only(s: &str) -> FoundDate {
        let found = find_dates(s, 2024);
        assert_eq!(found.len(), 1, "{s:?} → {found:?}");
        found[0]
    }

    #[test]
    fn day_month_name_year() {
        let f = only("Frist er 1. mars 2024.");
        assert_eq!(f.date, ymd(2024, 3, 1));
        assert!(!f.year_inferred);
        assert_eq!(&"Frist er 1. mars 2024."[f.start..f.end], "1. mars 2024");
    }

    #[test]
    fn innen_is_context_not_part_of_the_date() {
        let s = "innen 1. april 2024";
        let f = only(s);
        assert_eq!(f.date, ymd(2024, 4, 1));
        assert_eq!(&s[f.start..f.end], "1. april 2024");
    }

    #[test]
    fn numeric_with_dots() {
        assert_eq!(only("levert 01.03.2024 kl. 12").date, ymd(2024, 3, 1));
        assert_eq!(only("datert 1.1.2019").date, ymd(2019, 1, 1));
    }

    #[test]
    fn iso() {
        let f = only("frist 2024-03-01.");
        assert_eq!(f.date, ymd(2024, 3, 1));
        assert_eq!((f.start, f.end), (6, 16));
    }

    #[test]
    fn day_month_without_year_takes_the_letters_year() {
        let f = only("15. mai Rapport");
        assert_eq!(f.date, ymd(2024, 5, 15));
        assert!(f.year_inferred);
        assert_eq!(find_dates("15. mai", 2031)[0].date, ymd(2031, 5, 15));
    }

    #[test]
    fn dette_aar() {
        let f = only("med virkning fra 1. september d.å. og");
        assert_eq!(f.date, ymd(2024, 9, 1));
        assert!(f.year_inferred);
    }

    #[test]
    fn date_broken_across_lines() {
        assert_eq!(only("Frist er 1. \nseptember 2024.").date, ymd(2024, 9, 1));
    }

    #[test]
    fn abbreviations_and_no_dot() {
        assert_eq!(only("1. sept. 2024").date, ymd(2024, 9, 1));
        assert_eq!(only("3 des 2024").date, ymd(2024, 12, 3));
        assert_eq!(only("1 Mars 2025").date, ymd(2025, 3, 1));
    }

    #[test]
    fn not_dates() {
        for s in [
            "NOU 2023:2",
            "Forordning (EU) 2021/2282",
            "(2023 – 2028)",
            "Prop. 104S (2023-2024)",
            "kap. 746, post 01",
            "5.1.2 Tilskuddsbevilgning",
            "20/04218-26",
            "31. april 2024",
            "1. marsjering",
            "29. februar 2023",
        ] {
            assert_eq!(find_dates(s, 2024), vec![], "{s:?}");
        }
    }

    #[test]
    fn several_dates_in_order() {
        let found = find_dates("a) 1. mars 2024, b) 2024-09-01 og c) 15.10.2024", 2024);
        let dates: Vec<_> = found.iter().map(|f| f.date).collect();
        assert_eq!(dates, [ymd(2024, 3, 1), ymd(2024, 9, 1), ymd(2024, 10, 15)]);
    }

    #[test]
    fn whole_string_and_prefix() {
        assert_eq!(
            parse_date(" 20. mars 2024 ", 2024).unwrap().date,
            ymd(2024, 3, 20)
        );
        assert_eq!(
            parse_date("07.05.2024", 2024).unwrap().date,
            ymd(2024, 5, 7)
        );
        assert!(parse_date("20. mars 2024 kl. 10", 2024).is_none());
        let p = parse_date_prefix("31. januar Direktoratet skal levere", 2024).unwrap();
        assert_eq!(p.date, ymd(2024, 1, 31));
        assert_eq!(p.end, "31. januar".len());
        assert!(p.year_inferred);
        assert!(parse_date_prefix("2023", 2024).is_none());
    }

    #[test]
    fn month_names() {
        assert_eq!(month_number("Desember"), Some(12));
        assert_eq!(month_number("okt"), Some(10));
        assert_eq!(month_number("marsj"), None);
    }
}
