//! The real 2024 HOD → DMP tildelingsbrev (seed 001), converted from PDF, imported end to end.
//! Expected values come from the letter itself and `docs/example-2024.json` (oppdrag, goals,
//! budget_lines, styringskalender).

mod common;

use chrono::NaiveDate;
use common::{seed, warnings};
use styr_import::{AssignmentDraft, LetterKind, Unit};

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn deadlines(a: &AssignmentDraft) -> Vec<(Option<String>, String)> {
    a.deadlines
        .iter()
        .map(|d| (d.part.as_ref().map(ToString::to_string), d.date.to_string()))
        .collect()
}

#[test]
fn the_letter_and_its_two_supplements() {
    let p = seed();
    let got: Vec<(LetterKind, Option<u32>, Option<String>, usize)> = p
        .letters
        .iter()
        .map(|l| {
            (
                l.kind,
                l.number,
                l.date.map(|d| d.to_string()),
                l.assignments.len(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (LetterKind::Letter, None, Some("2024-02-05".into()), 19),
            (
                LetterKind::Supplement,
                Some(1),
                Some("2024-03-20".into()),
                1
            ),
            (
                LetterKind::Supplement,
                Some(2),
                Some("2024-06-27".into()),
                2
            ),
        ]
    );
    assert_eq!(
        p.letters[0].title,
        "Tildelingsbrev for Direktoratet for medisinske produkter 2024"
    );
    assert_eq!(
        p.letters[1].title,
        "Tillegg nr. 1 til tildelingsbrev for 2024 - oppdrag om gebyr for laboratorietjenester og \
         tildeling av overført bevilgning"
    );
    assert_eq!(
        p.letters[2].title,
        "Supplerende nr. 2 til Tildelingsbrevet til Direktoratet for medisinske produkter for 2024"
    );
    assert_eq!((p.letters[1].line, p.letters[2].line), (1087, 1143));
}

#[test]
fn dates_that_were_inferred_are_flagged() {
    let p = seed();
    let w = warnings(&p);
    // The letter prints no date; Supplerende nr. 2 cites "tildelingsbrev av 5. februar 2024".
    assert!(w.contains(&(
        1148,
        "the letter prints no date; 2024-02-05 is taken from a supplement that cites it"
    )));
    // Tillegg nr. 1's letterhead (Dato 20. mars 2024) is printed after its signature.
    assert!(w.iter().any(|(l, m)| *l == 1137
        && m.starts_with("date 2024-03-20 of supplement 1 is taken from a letterhead")));
}

#[test]
fn main_letter_assignments_titles_departments_and_goals() {
    let p = seed();
    let got: Vec<(&str, &str, Option<u32>)> = p.letters[0]
        .assignments
        .iter()
        .map(|a| {
            (
                a.title.as_str(),
                a.department.as_ref().map_or("", |d| d.as_str()),
                a.goal,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("Prioriteringsmeldingen", "SHA", Some(1)),
            ("Videreutvikling av system for Nye metoder", "SHA", Some(1)),
            (
                "Tilpasse system for Nye metoder til nytt EØS-regelverk for metodevurderinger \
                 (Forordning (EU) 2021/2282)",
                "SHA",
                Some(1)
            ),
            (
                "Videreutvikling av saksbehandling og veiledning for kliniske studier",
                "SHA",
                Some(1)
            ),
            ("Apotekavanse", "SHA", Some(1)),
            ("Oppfølging apotekutvalget", "SHA", Some(1)),
            ("Anbud på blåresept", "SHA", Some(1)),
            (
                "Oppgjørsløsning for konfidensielle priser i blåreseptordningen",
                "SHA",
                Some(1)
            ),
            (
                "Gjensidig godkjenningsavtaler (Mutual Recognition Agreements)",
                "SHA",
                Some(1)
            ),
            ("Tilgang til helsedata", "EHE", Some(2)),
            ("Data fra ny løsning for kliniske studier", "EHE", Some(2)),
            ("Pasientsikkerhet og riktig legemiddelbruk", "SHA", Some(2)),
            ("Oppfølging av nasjonal tobakksstrategi", "FHA", Some(2)),
            ("Barns forbrukervern i digitale medier", "SHA", Some(2)),
            (
                "Oppfølging sentral helseforvaltning og nytt etatsansvar",
                "SHA",
                Some(3)
            ),
            ("Innkjøp kikhostevaksine", "FHA", Some(3)),
            ("Helseberedskap", "ADA", Some(3)),
            ("Helsenæringen", "SHA", Some(3)),
            ("Tilgang til smalspektret antibiotika", "SHA", Some(3)),
        ]
    );
    let main = &p.letters[0].assignments;
    assert_eq!(
        main[17].department_as_printed.as_deref(),
        Some("AVD. HOD: SHA")
    );
    assert_eq!(main[0].line, 137);
}

#[test]
fn lost_reference_numbers_are_kept_as_printed_and_warned() {
    let p = seed();
    let main = &p.letters[0].assignments;
    assert!(main.iter().all(|a| a.reference.is_none()));
    let printed: Vec<Option<&str>> = main
        .iter()
        .map(|a| a.reference_as_printed.as_deref())
        .collect();
    let mut expected = vec![Some("TB2024-"); 19];
    expected[8] = None; // the mutual-recognition row has no prefix at all
    assert_eq!(printed, expected);

    let w = warnings(&p);
    for a in main.iter().filter(|a| a.reference_as_printed.is_some()) {
        assert!(
            w.contains(&(
                a.line,
                "reference printed as \"TB2024-\" without a number; left empty for review"
            )),
            "no warning for line {}",
            a.line
        );
    }
    let mra = &main[8];
    assert_eq!(mra.line, 294);
    assert_eq!(
        mra.description,
        "Legemiddelverket skal ved behov bistå departementet i arbeidet med en gjensidig \
         godkjenningsavtale om GMP-inspeksjoner med andre land."
    );
    assert!(
        w.iter()
            .any(|(l, m)| *l == 294 && m.contains("has no reference"))
    );
    // The row before it keeps only its own description.
    assert!(
        main[7]
            .description
            .ends_with("for implementering i apotekenes IKT-systemer.")
    );
}

#[test]
fn deadlines_of_the_main_letter() {
    let p = seed();
    let main = &p.letters[0].assignments;
    let nye_metoder = &main[1];
    assert_eq!(deadlines(nye_metoder), [(None, "2024-04-01".to_string())]);

    let tobacco = &main[12];
    assert_eq!(
        deadlines(tobacco),
        [
            (Some("a".to_string()), "2024-03-01".to_string()),
            (Some("b".to_string()), "2024-09-01".to_string())
        ]
    );
    let parts: Vec<(&str, usize)> = tobacco
        .parts
        .iter()
        .map(|p| (p.label.as_str(), p.line))
        .collect();
    assert_eq!(parts, [("a", 428), ("b", 435)]);
    // b)'s *mandate* "avtales nærmere", but its deadline is printed: not "to be agreed".
    assert!(!tobacco.deadline_to_be_agreed);
    assert!(warnings(&p).contains(&(
        440,
        "part b: \"avtales nærmere\" is not read as \"deadline to be agreed\": a deadline date is given"
    )));

    // No other row of the main letter prints a date.
    let dated: Vec<&str> = main
        .iter()
        .filter(|a| !a.deadlines.is_empty())
        .map(|a| a.title.as_str())
        .collect();
    assert_eq!(
        dated,
        [
            "Videreutvikling av system for Nye metoder",
            "Oppfølging av nasjonal tobakksstrategi"
        ]
    );
    assert!(main.iter().all(|a| !a.deadline_to_be_agreed));

    // "Oppdraget vil bli spesifisert i løpende dialog", "Departementet kommer tilbake …".
    let later: Vec<&str> = main
        .iter()
        .filter(|a| a.to_be_specified)
        .map(|a| a.title.as_str())
        .collect();
    assert_eq!(
        later,
        [
            "Prioriteringsmeldingen",
            "Apotekavanse",
            "Oppfølging apotekutvalget",
            "Pasientsikkerhet og riktig legemiddelbruk",
            "Helseberedskap"
        ]
    );
}

#[test]
fn multi_part_health_data_assignment() {
    let p = seed();
    let health_data = &p.letters[0].assignments[9];
    let labels: Vec<&str> = health_data.parts.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(labels, ["a", "b"]);
    assert_eq!(
        health_data.parts[1].text,
        "Innrapportere og oppdatere metadata fra Bivirkningsregisteret i henhold til Nasjonal \
         spesifikasjon for metadata."
    );
    // The unlabelled third clause stays in the description.
    assert!(
        health_data
            .description
            .ends_with("i tråd med internasjonale forpliktelser og standarder.")
    );
}

#[test]
fn supplement_assignments() {
    let p = seed();
    let lab = &p.letters[1].assignments[0];
    assert_eq!(
        lab.title,
        "Oppdrag om eventuelle gebyr for laboratorietjenester"
    );
    assert_eq!(
        (lab.reference.as_ref(), lab.reference_as_printed.as_deref()),
        (None, None)
    );
    assert_eq!(lab.department, None);
    assert_eq!(deadlines(lab), [(None, "2024-05-07".to_string())]);
    assert_eq!(lab.line, 1090);

    let decision = &p.letters[2].assignments[0];
    assert_eq!(
        decision.title,
        "Beslutningsprosessen for legemidler finansiert over folketrygden"
    );
    assert_eq!(decision.reference, None);
    assert_eq!(decision.reference_as_printed.as_deref(), Some("TB 2024:"));
    assert_eq!(deadlines(decision), [(None, "2024-09-09".to_string())]);
    assert!(!decision.implicit);
    assert!(
        decision
            .description
            .ends_with("Frist for oppdraget er 9. september 2024.")
    );

    let rybelsus = &p.letters[2].assignments[1];
    assert_eq!(rybelsus.title, "Refusjon av legemiddelet Rybelsus");
    assert!(rybelsus.implicit);
    assert!(rybelsus.deadlines.is_empty());
    assert_eq!(rybelsus.effective_from, Some(date("2024-07-01")));
    assert!(
        warnings(&p)
            .iter()
            .any(|(l, m)| *l == 1267 && m.contains("not headed as an assignment"))
    );
}

#[test]
fn goals_parameters_and_key_figures() {
    let p = seed();
    let letter = &p.letters[0];
    let goals: Vec<(u32, Option<&str>, &str, usize)> = letter
        .goals
        .iter()
        .map(|g| {
            (
                g.number,
                g.section.as_deref(),
                g.text.as_str(),
                g.assessment_criteria.len(),
            )
        })
        .collect();
    assert_eq!(
        goals,
        [
            (1, Some("2.1"), "Rask tilgang til medisinske produkter", 3),
            (
                2,
                Some("2.2"),
                "Sikkerhet ved og riktig bruk av medisinske produkter",
                2
            ),
            (
                3,
                Some("2.3"),
                "Forsyningssikkerhet og beredskap for medisinske produkter",
                5
            ),
        ]
    );
    let per_goal = |items: &[styr_import::GoalListItem]| -> Vec<usize> {
        (1..=3)
            .map(|g| items.iter().filter(|i| i.goal == Some(g)).count())
            .collect()
    };
    assert_eq!(per_goal(&letter.steering_parameters), [5, 6, 4]);
    assert_eq!(per_goal(&letter.key_figures), [10, 8, 7]);
    // Items wrapped over a blank line are joined.
    assert_eq!(
        letter.steering_parameters[4].text,
        "Antall utredningsprosedyrer som utføres med arbeidsdeling med nordiske og europeiske \
         nettverk skal være på minimum 80% av totalt antall i 2023"
    );
    assert_eq!(
        letter.key_figures[18].text,
        "Antall avregistreringer av legemidler oppført i vedlegg til grossistforskriftens §5 og \
         EUs liste over kritiske legemidler"
    );
}

#[test]
fn budget_lines() {
    let p = seed();
    let lines = |i: usize| -> Vec<(u16, u8, i64, bool)> {
        p.letters[i]
            .budget_lines
            .iter()
            .map(|b| (b.chapter, b.post, b.amount, b.change))
            .collect()
    };
    assert_eq!(
        lines(0),
        [
            (746, 1, 429_548, false),
            (746, 21, 44_434, false),
            (3746, 2, 38_455, false),
            (3746, 4, 90_898, false),
            (5572, 70, 68_385, false),
            (5572, 72, 2_700, false),
            (5572, 73, 223_000, false),
            (5572, 74, 3_770, false),
            (717, 70, 58_305, false),
        ]
    );
    assert_eq!(lines(1), [(746, 1, 1_289, true)]);
    assert_eq!(lines(2), [(746, 1, 13_300, true)]);
    assert!(
        p.letters
            .iter()
            .flat_map(|l| &l.budget_lines)
            .all(|b| b.unit == Unit::NokThousand)
    );

    let main = &p.letters[0].budget_lines;
    assert_eq!(
        (main[0].unit_as_printed.as_str(), main[0].line),
        ("i 1 000 kr", 790)
    );
    assert_eq!(main[1].name.as_deref(), Some("Spesielle driftsutgifter"));
    assert!(main[1].transferable);
    assert_eq!(
        (
            main[8].amount_as_printed.as_str(),
            main[8].unit_as_printed.as_str()
        ),
        ("58 305", "mill. kr")
    );
    let w = warnings(&p);
    assert!(
        w.iter()
            .any(|(l, m)| *l == 909 && m.contains("read as 58 305 NOK thousand"))
    );
    // 3,5 + 10,4 listed under a stated increase of 13,3.
    assert!(
        w.iter()
            .any(|(l, m)| *l == 1235 && m.contains("3,5 + 10,4 = 13 900"))
    );
}

#[test]
fn steering_calendar_in_document_order() {
    let p = seed();
    let got: Vec<(String, &str)> = p.letters[0]
        .calendar
        .iter()
        .map(|c| (c.date.to_string(), c.title.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "2024-01-31".into(),
                "Direktoratet skal levere regnskapskapsresultat til statsregnskapet for 2023"
            ),
            ("2024-02-16".into(), "Eventuelle innspill til RNB-2024"),
            (
                "2024-03-15".into(),
                "Frist for oversendelse av årsrapport, inkludert årsregnskap"
            ),
            (
                "2024-04-26".into(),
                "Innspill til rammefordelingsforslaget 2025"
            ),
            ("2024-04-22".into(), "Rapportering per første kvartal"),
            (
                "2024-05-24".into(),
                "Forslag til budsjettekster for Prop. 1 S (2024-2025)"
            ),
            (
                "2024-09-20".into(),
                "Innspill til Omgrupperingsproposisjonen 2024"
            ),
            ("2024-09-20".into(), "Rapportering per andre tertial"),
            (
                "2024-11-08".into(),
                "Forslag til innsparinger og nye store satsinger for budsjett 2026. Det skal også gis \
                 en oversikt over nye folketrygdefinansierte legemidler med stor forventet \
                 budsjettkonsekvens."
            ),
        ]
    );
    assert!(p.letters[0].calendar.iter().all(|c| c.year_inferred));
    assert_eq!(p.letters[0].calendar[0].date_as_printed, "31. januar");
    assert!(
        warnings(&p)
            .iter()
            .any(|(l, m)| *l == 1026 && m.starts_with("calendar is not in date order"))
    );
}

#[test]
fn nothing_left_unplaced_and_warnings_sorted() {
    let p = seed();
    assert_eq!(p.unparsed, []);
    assert!(p.warnings.windows(2).all(|w| w[0].line <= w[1].line));
}

#[test]
fn json_has_the_cli_shape() {
    let p = seed();
    let json = serde_json::to_value(&p).unwrap();
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let has = |v: &serde_json::Value, want: &[&str]| {
        let k = keys(v);
        for w in want {
            assert!(k.iter().any(|k| k == w), "missing {w} in {k:?}");
        }
    };
    has(&json, &["letters", "warnings", "unparsed"]);
    let letter = &json["letters"][0];
    has(
        letter,
        &[
            "kind",
            "number",
            "date",
            "title",
            "goals",
            "assignments",
            "budget_lines",
            "calendar",
            "steering_parameters",
            "key_figures",
        ],
    );
    assert_eq!(letter["kind"], "letter");
    assert_eq!(letter["number"], serde_json::Value::Null);
    assert_eq!(letter["date"], "2024-02-05");
    assert_eq!(json["letters"][1]["kind"], "supplement");
    assert_eq!(json["letters"][1]["number"], 1);

    let tobacco = &letter["assignments"][12];
    has(
        tobacco,
        &[
            "reference",
            "reference_as_printed",
            "title",
            "department",
            "description",
            "deadlines",
            "deadline_to_be_agreed",
            "line",
        ],
    );
    assert_eq!(tobacco["reference"], serde_json::Value::Null);
    assert_eq!(tobacco["reference_as_printed"], "TB2024-");
    assert_eq!(tobacco["department"], "FHA");
    assert_eq!(tobacco["deadlines"][0]["part"], "a");
    assert_eq!(tobacco["deadlines"][1]["date"], "2024-09-01");
    assert_eq!(tobacco["deadline_to_be_agreed"], false);
    assert_eq!(tobacco["line"], 419);
    assert_eq!(
        letter["assignments"][1]["deadlines"][0]["part"],
        serde_json::Value::Null
    );

    let budget = &letter["budget_lines"][0];
    assert_eq!(budget["chapter"], 746);
    assert_eq!(budget["post"], 1);
    assert_eq!(budget["amount"], 429_548);
    assert_eq!(budget["unit"], "NOK thousand");
    assert_eq!(budget["line"], 790);

    let calendar = &letter["calendar"][0];
    assert_eq!(
        (calendar["date"].as_str(), calendar["title"].as_str()),
        (
            Some("2024-01-31"),
            Some("Direktoratet skal levere regnskapskapsresultat til statsregnskapet for 2023")
        )
    );
    assert_eq!(calendar["line"], 1020);

    let goal = &letter["goals"][0];
    assert_eq!(
        (goal["number"].as_u64(), goal["text"].as_str()),
        (Some(1), Some("Rask tilgang til medisinske produkter"))
    );
    assert_eq!(letter["steering_parameters"][0]["goal"], 1);

    let warning = &json["warnings"][0];
    assert_eq!(keys(warning), ["line", "message"]);
}

#[test]
fn table_rendering() {
    let p = seed();
    let table = styr_import::render_table(&p);
    assert!(table.starts_with(
        "Letter (line 1, 2024-02-05): Tildelingsbrev for Direktoratet for medisinske produkter 2024\n"
    ));
    assert!(table.contains("  Assignments (19)\n"));
    assert!(table.contains("    419   TB2024- ?  FHA   a) 2024-03-01, b) 2024-09-01  Oppfølging av nasjonal tobakksstrategi\n"));
    assert!(table.contains("    294   (none)     SHA   -"));
    assert!(table.contains("    790   746      01    429 548  NOK thousand  Driftsutgifter\n"));
    assert!(table.contains("Supplement 2 (line 1143, 2024-06-27)"));
    assert!(table.contains("    1235  746      01    +13 300  NOK thousand"));
    assert!(table.contains(&format!("  Warnings ({})\n", p.warnings.len())));
    assert!(table.contains("  Not placed (0)\n"));
}
