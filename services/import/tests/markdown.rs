//! The same structure written as Markdown: headings with `#`, bullets with `-`, pipe tables.

mod common;

use styr_import::parse_letter;

const LETTER: &str = "\
# Tildelingsbrev for Testdirektoratet 2024

## 2.1 Mål: Raske vedtak

**Styringsparametere:**

- Vedtak innen 90 dager
- Færre klager

### 2.1.1 Oppdrag

| Ref | Tittel | Avd. | Beskrivelse og frist |
|-----|--------|------|----------------------|
| TB2024-1 | Årsplan | Avd. HOD: SHA | Levere årsplan innen 1. mars 2024. |
| TB 2024-2 | Veileder | EHE | Frist avtales. |
| Merknad | uten | nok | celler |

## 3. Budsjett

Kap. 900 Testdirektoratet (i 1 000 kr)

| Post | Betegnelse | Beløp |
|------|------------|-------|
| Post 01 | Driftsutgifter | 120 500 |

## 6.2 Styringskalender

| Når | Hva |
|-----|-----|
| 15. mars | Årsrapport |
| 26. april | Innspill |
";

/// Reference, title, department, deadlines, deadline to be agreed.
type Row<'a> = (Option<&'a str>, &'a str, Option<&'a str>, Vec<String>, bool);

#[test]
fn markdown_letter() {
    let p = parse_letter(LETTER, &common::ctx(2024)).unwrap();
    let l = &p.letters[0];
    assert_eq!(l.title, "Tildelingsbrev for Testdirektoratet 2024");
    assert_eq!(l.goals.len(), 1);
    assert_eq!(l.steering_parameters.len(), 2);
    let rows: Vec<Row> = l
        .assignments
        .iter()
        .map(|a| {
            (
                a.reference.as_ref().map(|r| r.as_str()),
                a.title.as_str(),
                a.department.as_ref().map(|d| d.as_str()),
                a.deadlines.iter().map(|d| d.date.to_string()).collect(),
                a.deadline_to_be_agreed,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                Some("TB2024-1"),
                "Årsplan",
                Some("SHA"),
                vec!["2024-03-01".to_string()],
                false
            ),
            (Some("TB2024-2"), "Veileder", Some("EHE"), vec![], true),
            (None, "uten", None, vec![], false),
        ]
    );
    let budget: Vec<(u16, u8, i64)> = l
        .budget_lines
        .iter()
        .map(|b| (b.chapter, b.post, b.amount))
        .collect();
    assert_eq!(budget, [(900, 1, 120_500)]);
    let calendar: Vec<String> = l
        .calendar
        .iter()
        .map(|c| format!("{} {}", c.date, c.title))
        .collect();
    assert_eq!(calendar, ["2024-03-15 Årsrapport", "2024-04-26 Innspill"]);
    assert!(
        p.warnings
            .iter()
            .any(|w| w.line == 16 && w.message == "\"Merknad\" is not an assignment reference")
    );
    assert_eq!(p.unparsed, []);
}
