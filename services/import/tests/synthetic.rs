//! `tests/fixtures/import/synthetic-2024.txt`: a small letter written to exercise what the seed
//! does not — misprinted references, every date form, parts, "to be agreed", supplements
//! headed in other ways, a budget table row by row, and lines that fit nowhere.

mod common;

use common::{synthetic, warnings};
use styr_import::{AssignmentDraft, ImportPreview, LetterKind};

fn find<'a>(p: &'a ImportPreview, title: &str) -> &'a AssignmentDraft {
    p.letters
        .iter()
        .flat_map(|l| &l.assignments)
        .find(|a| a.title == title)
        .unwrap_or_else(|| panic!("no assignment {title:?}"))
}

fn deadlines(a: &AssignmentDraft) -> Vec<(Option<String>, String, &str)> {
    a.deadlines
        .iter()
        .map(|d| {
            (
                d.part.as_ref().map(ToString::to_string),
                d.date.to_string(),
                d.date_as_printed.as_str(),
            )
        })
        .collect()
}

#[test]
fn letters_numbers_and_dates() {
    let p = synthetic();
    let got: Vec<(LetterKind, Option<u32>, String, usize)> = p
        .letters
        .iter()
        .map(|l| {
            (
                l.kind,
                l.number,
                l.date.unwrap().to_string(),
                l.assignments.len(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (LetterKind::Letter, None, "2024-02-05".into(), 11), // "Dato: 5. februar 2024"
            (LetterKind::Supplement, Some(3), "2024-05-07".into(), 2), // "Oslo, 7. mai 2024"
            (LetterKind::Supplement, Some(4), "2024-06-03".into(), 1), // "03.06.2024" below the heading
        ]
    );
}

#[test]
fn misprinted_references_are_normalised_and_warned() {
    let p = synthetic();
    let refs: Vec<(Option<&str>, Option<&str>)> = p.letters[0]
        .assignments
        .iter()
        .map(|a| {
            (
                a.reference.as_ref().map(|r| r.as_str()),
                a.reference_as_printed.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        refs[..5],
        [
            (Some("TB2024-1"), Some("TB2024-1")),
            (Some("TB2024-12"), Some("TB 2024-12")),
            (Some("TB2024-41"), Some("TTB2024-41")),
            (Some("TB2024-13"), Some("TB2024–13")),
            (Some("TB2024-14"), Some("TB2024—14")),
        ]
    );
    let w = warnings(&p);
    for (line, message) in [
        (25, "reference printed as \"TB 2024-12\", read as TB2024-12"),
        (27, "reference printed as \"TTB2024-41\", read as TB2024-41"),
        (28, "reference printed as \"TB2024–13\", read as TB2024-13"),
        (29, "reference printed as \"TB2024—14\", read as TB2024-14"),
    ] {
        assert!(w.contains(&(line, message)), "missing ({line}, {message})");
    }
    // The canonical one is not warned about.
    assert!(!w.iter().any(|(l, _)| *l == 23));
}

#[test]
fn every_date_form() {
    let p = synthetic();
    assert_eq!(
        deadlines(find(&p, "Årsplan")),
        [(None, "2024-03-01".into(), "1. mars 2024")]
    );
    assert_eq!(
        deadlines(find(&p, "Veileder for søkere")),
        [(None, "2024-04-01".into(), "1. april 2024")]
    );
    assert_eq!(
        deadlines(find(&p, "Digital søknad")),
        [(None, "2024-03-01".into(), "01.03.2024")]
    );
    assert_eq!(
        deadlines(find(&p, "Statistikk")),
        [(None, "2024-03-01".into(), "2024-03-01")]
    );
    let plan = find(&p, "Tilsynsplan");
    assert_eq!(deadlines(plan), [(None, "2024-05-15".into(), "15. mai")]);
    assert!(plan.deadlines[0].year_inferred);
    assert!(warnings(&p).contains(&(29, "deadline \"15. mai\" has no year; read as 2024-05-15")));
}

#[test]
fn parts_with_their_own_deadlines() {
    let p = synthetic();
    let tobacco = find(&p, "Tobakk og snus");
    assert_eq!(
        deadlines(tobacco),
        [
            (Some("a".into()), "2024-06-01".into(), "1. juni 2024"),
            (Some("b".into()), "2024-10-01".into(), "1. oktober 2024"),
        ]
    );
    assert_eq!(
        tobacco.parts[1].text,
        "Foreslå merking. Frist er 1. oktober 2024."
    );
    assert_eq!(tobacco.goal, Some(2));
}

#[test]
fn deadlines_to_be_agreed() {
    let p = synthetic();
    let agreed: Vec<&str> = p.letters[0]
        .assignments
        .iter()
        .filter(|a| a.deadline_to_be_agreed)
        .map(|a| a.title.as_str())
        .collect();
    // "avtales nærmere", "etter nærmere avtale", "frist avtales".
    assert_eq!(
        agreed,
        ["Kontrollprogram", "Evaluering", "Rapport om ventetider"]
    );
    assert!(agreed.iter().all(|t| find(&p, t).deadlines.is_empty()));
    assert!(find(&p, "Oppdrag om ny veileder").deadline_to_be_agreed);
}

#[test]
fn a_row_without_a_reference_still_counts() {
    let p = synthetic();
    let row = find(&p, "Samarbeid med kommunene");
    assert_eq!(
        (row.reference.as_ref(), row.reference_as_printed.as_deref()),
        (None, None)
    );
    assert_eq!(row.department.as_ref().unwrap().as_str(), "SHA");
    assert_eq!(
        row.description,
        "Direktoratet skal ved behov bistå kommunene."
    );
    assert_eq!(row.line, 45);
    // The previous row keeps exactly its own description.
    assert_eq!(
        find(&p, "Rapport om ventetider").description,
        "Rapporten skal leveres, frist avtales."
    );
}

#[test]
fn lines_that_do_not_fit_are_reported() {
    let p = synthetic();
    let unparsed: Vec<(usize, &str)> = p
        .unparsed
        .iter()
        .map(|u| (u.line, u.text.as_str()))
        .collect();
    assert_eq!(
        unparsed,
        [
            (21, "Se også vedlegg 2."),            // inside the table, before any row
            (49, "TB2024-19 Ny rutine Avd. HOD:"), // a department marker without a code
            (67, "Dette hører ikke hjemme i kalenderen"), // inside the calendar
        ]
    );
    // The incomplete row is still imported, without a department.
    let row = find(&p, "Ny rutine");
    assert_eq!(row.department, None);
    assert_eq!(row.description, "Direktoratet skal innføre en rutine.");
}

#[test]
fn calendar_keeps_the_letters_order() {
    let p = synthetic();
    let got: Vec<(String, bool, &str)> = p.letters[0]
        .calendar
        .iter()
        .map(|c| (c.date.to_string(), c.year_inferred, c.title.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("2024-03-15".into(), true, "Årsrapport for 2023"),
            (
                "2024-04-26".into(),
                true,
                "Innspill til rammefordelingsforslaget"
            ),
            ("2024-04-22".into(), true, "Rapportering per første kvartal"),
            ("2024-09-20".into(), false, "Rapportering per andre tertial"),
        ]
    );
    assert!(warnings(&p).contains(&(
        63,
        "calendar is not in date order: \"22. april\" comes after \"26. april\"; kept in the letter's order"
    )));
}

#[test]
fn budget_table_and_supplement_change() {
    let p = synthetic();
    let main: Vec<(u16, u8, i64, Option<&str>, bool)> = p.letters[0]
        .budget_lines
        .iter()
        .map(|b| {
            (
                b.chapter,
                b.post,
                b.amount,
                b.name.as_deref(),
                b.transferable,
            )
        })
        .collect();
    assert_eq!(
        main,
        [
            (900, 1, 120_500, Some("Driftsutgifter"), false),
            (900, 21, 8_250, Some("Spesielle driftsutgifter"), true)
        ]
    );
    let change = &p.letters[1].budget_lines;
    assert_eq!(change.len(), 1);
    assert_eq!(
        (
            change[0].chapter,
            change[0].post,
            change[0].amount,
            change[0].change
        ),
        (900, 1, 2_500, true)
    );
    assert_eq!(change[0].line, 86);
}

#[test]
fn supplement_assignments() {
    let p = synthetic();
    let titles: Vec<(&str, Option<&str>, Vec<String>)> = p.letters[1..]
        .iter()
        .flat_map(|l| &l.assignments)
        .map(|a| {
            (
                a.title.as_str(),
                a.reference.as_ref().map(|r| r.as_str()),
                a.deadlines.iter().map(|d| d.date.to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(
        titles,
        [
            (
                "Kartlegging av lagre",
                Some("TB2024-20"),
                vec!["2024-08-15".to_string()]
            ),
            ("Oppdrag om ny veileder", None, vec![]),
            (
                "Oppdrag om statusnotat",
                None,
                vec!["2024-07-01".to_string()]
            ),
        ]
    );
}

#[test]
fn goals_of_the_synthetic_letter() {
    let p = synthetic();
    let l = &p.letters[0];
    let goals: Vec<(u32, &str, Vec<&str>)> = l
        .goals
        .iter()
        .map(|g| {
            (
                g.number,
                g.text.as_str(),
                g.assessment_criteria.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        goals,
        [
            (
                1,
                "Raske og gode vedtak",
                vec!["Hvordan direktoratet holder saksbehandlingstiden nede"]
            ),
            (2, "Trygg bruk", vec![]),
        ]
    );
    let params: Vec<(Option<u32>, &str)> = l
        .steering_parameters
        .iter()
        .map(|s| (s.goal, s.text.as_str()))
        .collect();
    assert_eq!(
        params,
        [
            (Some(1), "Vedtak fattes innen 90 dager"),
            (Some(1), "Andel klager som tas til følge skal gå ned"),
            (Some(2), "Alle meldinger behandles innen frist"),
        ]
    );
    assert_eq!(l.key_figures.len(), 1);
}

#[test]
fn duplicate_references_are_warned() {
    let text = common::synthetic_text().replace("TB2024-20 Kartlegging", "TB2024-12 Kartlegging");
    let p = styr_import::parse_letter(&text, &common::ctx(2024)).unwrap();
    assert!(warnings(&p).contains(&(
        79,
        "reference TB2024-12 is also used by the assignment on line 25"
    )));
}
