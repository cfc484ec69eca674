//! The two markers that structure an assignment table: the reference that starts a row
//! (`TB2024-12` and the ways it gets misprinted) and the owning department (`Avd. HOD: SHA`).

/// A reference as printed at the start of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PrintedReference {
    /// Exactly as printed, e.g. `TB2024-`, `TB 2024-12`, `TTB2024-41`, `TB 2024:`.
    pub printed: String,
    pub year: i32,
    /// `None` when the number is missing (lost in PDF conversion, or never printed).
    pub number: Option<u32>,
    /// Byte offset in the line just after the reference.
    pub end: usize,
}

impl PrintedReference {
    /// The canonical spelling, `TB2024-12`, when there is a number.
    pub fn canonical(&self) -> Option<String> {
        self.number.map(|n| format!("TB{}-{}", self.year, n))
    }
}

/// Dashes that stand for the hyphen in a reference: hyphen-minus, hyphen, non-breaking hyphen,
/// figure dash, en dash, em dash, minus sign.
const DASHES: [char; 7] = ['-', '‐', '‑', '‒', '–', '—', '−'];

/// `T+B`, optional space, four-digit year, optional space, a dash or colon, then the number
/// if it survived. Anything glued to it (a letter or digit) means it is not a reference.
pub(crate) fn reference_at_start(line: &str) -> Option<PrintedReference> {
    let ts = line.chars().take_while(|&c| c == 'T').count();
    if ts == 0 || !line[ts..].starts_with('B') {
        return None;
    }
    let mut i = ts + 1;
    i += spaces(&line[i..]);
    let year_len = line[i..].bytes().take_while(u8::is_ascii_digit).count();
    if year_len != 4 {
        return None;
    }
    let year: i32 = line[i..i + 4].parse().ok()?;
    i += 4;
    i += spaces(&line[i..]);
    let sep = line[i..].chars().next()?;
    if !(DASHES.contains(&sep) || sep == ':') {
        return None;
    }
    i += sep.len_utf8();
    let number_len = line[i..].bytes().take_while(u8::is_ascii_digit).count();
    let number = if number_len > 0 && number_len <= 3 {
        let n: u32 = line[i..i + number_len].parse().ok()?;
        i += number_len;
        (n > 0).then_some(n)
    } else if number_len > 3 {
        return None;
    } else {
        None
    };
    if line[i..].starts_with(|c: char| c.is_alphanumeric()) {
        return None;
    }
    Some(PrintedReference {
        printed: line[..i].to_string(),
        year,
        number,
        end: i,
    })
}

fn spaces(s: &str) -> usize {
    s.len() - s.trim_start_matches(' ').len()
}

/// A department marker found among a row's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DepartmentMarker {
    /// Index of the first word (`Avd.`) and one past the last (the code).
    pub first: usize,
    pub end: usize,
    /// The ministry named in the marker, `HOD` in `Avd. HOD: SHA`.
    pub ministry: Option<String>,
    pub code: String,
}

/// What follows a department label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MarkerMatch {
    Found(DepartmentMarker),
    /// `Avd.` stands there but no department code follows.
    Incomplete {
        first: usize,
        end: usize,
    },
}

/// Look for `Avd. HOD: SHA`, `AVD. HOD: SHA`, `Avd. SHA`, `Avdeling: SHA` starting at word
/// `k`. Words are whitespace-separated tokens, possibly from several lines.
pub(crate) fn department_marker_at(words: &[&str], k: usize) -> Option<MarkerMatch> {
    let label = words.get(k)?.to_lowercase();
    if !matches!(
        label.as_str(),
        "avd." | "avd" | "avd:" | "avd.:" | "avdeling" | "avdeling:"
    ) {
        return None;
    }
    let mut j = k + 1;
    let mut ministry = None;
    if let Some((before, after)) = words.get(j).and_then(|w| w.split_once(':'))
        && is_code(before)
    {
        ministry = Some(before.to_string());
        if !after.is_empty() {
            // "HOD:SHA" in one word.
            return Some(match code_of(after) {
                Some(code) => MarkerMatch::Found(DepartmentMarker {
                    first: k,
                    end: j + 1,
                    ministry,
                    code,
                }),
                None => MarkerMatch::Incomplete {
                    first: k,
                    end: j + 1,
                },
            });
        }
        j += 1;
    }
    match words.get(j).and_then(|w| code_of(w)) {
        Some(code) => Some(MarkerMatch::Found(DepartmentMarker {
            first: k,
            end: j + 1,
            ministry,
            code,
        })),
        None => Some(MarkerMatch::Incomplete { first: k, end: j }),
    }
}

/// A department code: 2–8 capital ASCII letters, maybe followed by a comma or full stop.
fn code_of(word: &str) -> Option<String> {
    let w = word.trim_end_matches([',', '.', ';']);
    is_code(w).then(|| w.to_string())
}

fn is_code(w: &str) -> bool {
    (2..=8).contains(&w.len()) && w.chars().all(|c| c.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn printed(line: &str) -> Option<(String, i32, Option<u32>)> {
        reference_at_start(line).map(|r| (r.printed, r.year, r.number))
    }

    #[test]
    fn canonical_and_odd_spellings() {
        assert_eq!(
            printed("TB2024-12 Tittel"),
            Some(("TB2024-12".into(), 2024, Some(12)))
        );
        assert_eq!(
            printed("TB 2024-12 Tittel"),
            Some(("TB 2024-12".into(), 2024, Some(12)))
        );
        assert_eq!(
            printed("TTB2024-41 Tittel"),
            Some(("TTB2024-41".into(), 2024, Some(41)))
        );
        assert_eq!(
            printed("TB2024–12 Tittel"),
            Some(("TB2024–12".into(), 2024, Some(12)))
        );
        assert_eq!(
            printed("TB2024—12"),
            Some(("TB2024—12".into(), 2024, Some(12)))
        );
        assert_eq!(
            printed("TB 2024:7 Tittel"),
            Some(("TB 2024:7".into(), 2024, Some(7)))
        );
    }

    #[test]
    fn number_lost() {
        assert_eq!(
            printed("TB2024- Prioriteringsmeldingen Avd."),
            Some(("TB2024-".into(), 2024, None))
        );
        assert_eq!(
            printed("TB 2024: Beslutningsprosessen"),
            Some(("TB 2024:".into(), 2024, None))
        );
    }

    #[test]
    fn canonical_form() {
        let r = reference_at_start("TTB2024-041 x").unwrap();
        assert_eq!(r.canonical().as_deref(), Some("TB2024-41"));
        assert_eq!(reference_at_start("TB2024- x").unwrap().canonical(), None);
    }

    #[test]
    fn not_references() {
        for s in [
            "TBC 2024",
            "TB20245-1",
            "TB2024-1234",
            "TB2024-12a",
            "Tilgang TB2024-1",
            "TB2024 12",
        ] {
            assert_eq!(printed(s), None, "{s}");
        }
    }

    fn marker(text: &str) -> Option<MarkerMatch> {
        let words: Vec<&str> = text.split_whitespace().collect();
        (0..words.len()).find_map(|k| department_marker_at(&words, k))
    }

    #[test]
    fn department_markers() {
        let found = |first, end, ministry: Option<&str>, code: &str| {
            Some(MarkerMatch::Found(DepartmentMarker {
                first,
                end,
                ministry: ministry.map(str::to_string),
                code: code.into(),
            }))
        };
        assert_eq!(
            marker("Prioriteringsmeldingen Avd. \n\n HOD: \n SHA \n Direktoratet"),
            found(1, 4, Some("HOD"), "SHA")
        );
        assert_eq!(
            marker("AVD. HOD: SHA Bistå inn"),
            found(0, 3, Some("HOD"), "SHA")
        );
        assert_eq!(marker("Avd. EHE Direktoratet"), found(0, 2, None, "EHE"));
        assert_eq!(marker("Avdeling: FHA"), found(0, 2, None, "FHA"));
        assert_eq!(
            marker("Avd. HOD:ADA Oppfølging"),
            found(0, 2, Some("HOD"), "ADA")
        );
        assert_eq!(
            marker("Avd. HOD: Direktoratet"),
            Some(MarkerMatch::Incomplete { first: 0, end: 2 })
        );
        assert_eq!(marker("Direktoratet skal bidra"), None);
    }
}
