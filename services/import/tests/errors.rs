//! Input the importer must refuse, with a message that says why.

mod common;

use common::{ctx, seed_text, synthetic_text};
use styr_import::{ImportError, decode, parse_letter};

#[test]
fn binary_file() {
    let pdf =
        b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\n<< /Type /Catalog >>\nstream\n\x00\x00\x1f\x8b";
    let err = decode(pdf).unwrap_err();
    assert!(matches!(err, ImportError::Binary { .. }));
    assert_eq!(
        err.to_string(),
        "this is a binary file, not text: it contains a NUL byte at offset 51"
    );
}

#[test]
fn control_characters_without_nul() {
    let mut bytes = synthetic_text().into_bytes();
    bytes.truncate(300);
    bytes.extend(std::iter::repeat_n(0x07, 10));
    let err = decode(&bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "this is a binary file, not text: 10 of its first 310 bytes are control characters"
    );
}

#[test]
fn empty_and_whitespace_only() {
    assert_eq!(decode(b""), Err(ImportError::Empty));
    assert_eq!(decode(b"  \r\n\t \n"), Err(ImportError::Blank));
    assert_eq!(
        ImportError::Blank.to_string(),
        "the file contains only whitespace"
    );
    assert_eq!(parse_letter("", &ctx(2024)), Err(ImportError::Empty));
    assert_eq!(parse_letter("\n \n", &ctx(2024)), Err(ImportError::Blank));
}

#[test]
fn latin1_file_is_wrong_encoding_with_offset() {
    // The synthetic letter saved as Latin-1: every character below U+0100 as one byte.
    let text = synthetic_text();
    let latin1: Vec<u8> = text
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect();
    let first_non_ascii = latin1.iter().position(|b| !b.is_ascii()).unwrap();
    let err = decode(&latin1).unwrap_err();
    assert_eq!(
        err,
        ImportError::WrongEncoding {
            offset: first_non_ascii,
            byte: latin1[first_non_ascii],
            hint: " (the file looks like Latin-1 or Windows-1252)".into(),
        }
    );
    assert!(err.to_string().starts_with(&format!(
        "wrong encoding: byte 0x{:02X} at offset {first_non_ascii} is not valid UTF-8",
        latin1[first_non_ascii]
    )));
}

#[test]
fn utf8_with_bom_decodes_and_parses() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(seed_text().as_bytes());
    let text = decode(&bytes).unwrap();
    let preview = parse_letter(&text, &ctx(2024)).unwrap();
    assert_eq!(
        preview.letters[0].title,
        "Tildelingsbrev for Direktoratet for medisinske produkter 2024"
    );
}

#[test]
fn title_states_another_year() {
    let err = parse_letter(&seed_text(), &ctx(2023)).unwrap_err();
    assert_eq!(
        err,
        ImportError::YearMismatch {
            stated: 2024,
            expected: 2023,
            line: 1,
            evidence: "Tildelingsbrev for Direktoratet for medisinske produkter 2024".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "the letter is for 2024 (line 1: \"Tildelingsbrev for Direktoratet for medisinske produkter \
         2024\"), but the import is for 2023"
    );
}

#[test]
fn a_supplement_title_states_another_year() {
    let text = synthetic_text().replace(
        "Tillegg nr. 4 til tildelingsbrev for 2024",
        "Tillegg nr. 4 til tildelingsbrev for 2023",
    );
    let err = parse_letter(&text, &ctx(2024)).unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::YearMismatch {
                stated: 2023,
                expected: 2024,
                line: 91,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn only_references_state_another_year() {
    let text = "2.1.1 Oppdrag\nTB2023-4 Årsplan Avd. HOD: SHA Levere årsplan 1. mars 2023.\n\
                TB2023-5 Tilsyn Avd. HOD: SHA Plan.\n";
    let err = parse_letter(text, &ctx(2024)).unwrap_err();
    assert_eq!(
        err,
        ImportError::YearMismatch {
            stated: 2023,
            expected: 2024,
            line: 2,
            evidence: "TB2023-4".into(),
        }
    );
    // One reference of the right year settles it; the other is only warned about.
    let mixed = text.replace("TB2023-5", "TB2024-5");
    let preview = parse_letter(&mixed, &ctx(2024)).unwrap();
    assert_eq!(preview.letters[0].assignments.len(), 2);
    assert!(preview.warnings.iter().any(|w| w.line == 2
        && w.message == "reference TB2023-4 names year 2023, but the letter is for 2024"));
    assert!(
        preview
            .warnings
            .iter()
            .any(|w| w.line == 1 && w.message == "the letter has no title line")
    );
}

#[test]
fn text_that_is_not_a_letter() {
    let err = parse_letter(
        "Referat fra møte\n\nVi diskuterte været og lunsjen.\n",
        &ctx(2024),
    )
    .unwrap_err();
    assert_eq!(err, ImportError::NothingFound);
}

/// Whatever the text, the parser answers with a preview or an error — it never panics.
#[test]
fn no_panics_on_mangled_letters() {
    let seed = seed_text();
    let synthetic = synthetic_text();
    let mangled = [
        seed.to_uppercase(),
        seed.to_lowercase(),
        seed.replace('\n', "\r\n"),
        seed.lines().rev().collect::<Vec<_>>().join("\n"),
        seed.chars().filter(char::is_ascii).collect(),
        seed.replace(' ', "\u{a0}"),
        seed.replace("Avd.", "Avd. HOD:"),
        synthetic.replace(['.', ':'], ""),
        synthetic.replace("Mål", "M\u{212B}L"),
        "Kap. 746 (i 1 000 kr)\nPost 01\nSum\n".to_string(),
        "TB2024-\nAvd.\n".to_string(),
        "Tillegg nr. 1 til tildelingsbrev\n".to_string(),
        "| TB2024-1 |\n|---|\n".to_string(),
        "Styringskalender\n1. æøå\n31. februar Noe\n".to_string(),
    ];
    for text in &mangled {
        let _ = parse_letter(text, &ctx(2024));
    }
    // And every window of the seed's lines, which cuts tables, rows and sentences anywhere.
    let lines: Vec<&str> = seed.lines().collect();
    for start in (0..lines.len()).step_by(37) {
        for len in [1, 5, 23, 80] {
            let end = (start + len).min(lines.len());
            let _ = parse_letter(&lines[start..end].join("\n"), &ctx(2024));
        }
    }
}
