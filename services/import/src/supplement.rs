//! The body of a supplement (*tillegg*). Supplements are short prose letters, not tables:
//! each new assignment is a heading (a reference like `TB 2024:`, or a heading starting with
//! "Oppdrag", or any heading under a "Nytt oppdrag" section) followed by its paragraphs, and
//! budget changes are sentences. A heading whose paragraphs ask the agency to act ("Vi ber
//! …") is taken as an assignment too, flagged as implicit, because instructions in a
//! supplement must not be lost even when they are not titled as assignments.
//!
//! Letterheads, page numbers and the signature block that a PDF conversion scatters through
//! the text are skipped here; the letter's date is read from them elsewhere.

use crate::assignments::{self, RowEnv, RowInput};
use crate::budget::{self, BudgetEnv};
use crate::dates;
use crate::letters::Span;
use crate::model::{ImportContext, LetterDraft};
use crate::reference::{self, PrintedReference};
use crate::sink::Sink;
use crate::text::{self, Line};

/// A heading and the lines under it.
#[derive(Debug)]
struct Block {
    heading: Line,
    reference: Option<PrintedReference>,
    /// Headed as an assignment.
    explicit: bool,
    lines: Vec<Line>,
}

/// Words by which a ministry asks the agency to act.
const REQUESTS: [&str; 4] = ["vi ber ", " bes ", "ber direktoratet", "departementet ber "];

pub(crate) fn parse(
    lines: &[Line],
    span: &Span,
    ctx: &ImportContext,
    sink: &mut Sink,
) -> LetterDraft {
    let mut draft = LetterDraft {
        kind: span.kind,
        number: span.number,
        date: None,
        title: span.title.clone(),
        line: span.title_line,
        goals: Vec::new(),
        assignments: Vec::new(),
        budget_lines: Vec::new(),
        calendar: Vec::new(),
        steering_parameters: Vec::new(),
        key_figures: Vec::new(),
    };
    let body = body_lines(&lines[span.body_start..span.end], ctx.year.value());
    let mut blocks: Vec<Block> = Vec::new();
    let mut loose: Vec<Line> = Vec::new();
    let mut in_assignment_section = false;
    let mut prev_closed = true;
    let mut k = 0;
    while k < body.len() {
        let line = &body[k];
        let t = line.text.as_str();
        if line.is_blank() {
            push_line(&mut blocks, &mut loose, line);
            k += 1;
            continue;
        }
        if let Some((_, rest)) = budget::chapter_header(t)
            && rest.contains('(')
        {
            let env = BudgetEnv {
                is_boundary: &|l: &Line| text::numbered_heading(&l.text).is_some(),
                change: true,
            };
            let (found, next) = budget::parse_chapter(&body, k, body.len(), &env, sink);
            if !found.is_empty() {
                draft.budget_lines.extend(found);
                k = next;
                prev_closed = true;
                continue;
            }
        }
        if let Some(reference) = reference::reference_at_start(t) {
            let rest = t[reference.end..].trim().to_string();
            open(
                &mut blocks,
                Line {
                    no: line.no,
                    text: rest,
                },
                Some(reference),
                true,
            );
            prev_closed = true;
        } else if let Some((_, title)) = text::numbered_heading(t) {
            let lower = title.to_lowercase();
            in_assignment_section = ["nytt oppdrag", "nye oppdrag", "oppdrag"]
                .iter()
                .any(|w| lower.starts_with(*w));
            // "1. Nytt oppdrag" opens a section of assignments (and is one itself only if text
            // follows it directly); "1. Oppdrag om X" is one; "2. Budsjett" is neither.
            let heading = Line {
                no: line.no,
                text: title.to_string(),
            };
            open(&mut blocks, heading, None, in_assignment_section);
            prev_closed = true;
        } else if prev_closed && is_prose_heading(&body, k) {
            let explicit = in_assignment_section || t.to_lowercase().starts_with("oppdrag");
            open(&mut blocks, line.clone(), None, explicit);
            prev_closed = true;
        } else {
            push_line(&mut blocks, &mut loose, line);
            prev_closed = text::ends_sentence(t);
        }
        k += 1;
    }

    draft
        .budget_lines
        .extend(budget::prose_changes(&loose, sink));
    let env = RowEnv {
        ctx,
        goal: None,
        in_table: false,
    };
    for block in blocks {
        if block.explicit && block.reference.is_none() && is_section_opener(&block) {
            continue;
        }
        let asks = {
            let all = text::join(block.lines.iter().map(|l| l.text.as_str())).to_lowercase();
            REQUESTS.iter().any(|r| all.contains(r))
        };
        if block.explicit || asks {
            let mut row_lines = vec![block.heading];
            row_lines.extend(block.lines);
            let row = RowInput {
                reference: block.reference,
                lines: row_lines,
                implicit: !block.explicit,
            };
            draft
                .assignments
                .push(assignments::build_row(row, &env, sink));
        } else {
            let mut all = vec![block.heading];
            all.extend(block.lines);
            draft.budget_lines.extend(budget::prose_changes(&all, sink));
        }
    }
    draft
}

fn open(
    blocks: &mut Vec<Block>,
    heading: Line,
    reference: Option<PrintedReference>,
    explicit: bool,
) {
    blocks.push(Block {
        heading,
        reference,
        explicit,
        lines: Vec::new(),
    });
}

fn push_line(blocks: &mut [Block], loose: &mut Vec<Line>, line: &Line) {
    match blocks.last_mut() {
        Some(block) => block.lines.push(line.clone()),
        None => loose.push(line.clone()),
    }
}

/// "1. Nytt oppdrag" with nothing of its own under it: the assignments are the headings
/// that follow.
fn is_section_opener(block: &Block) -> bool {
    let lower = block.heading.text.to_lowercase();
    let bare = matches!(
        lower.trim_end_matches([':', ' ']),
        "nytt oppdrag" | "nye oppdrag" | "oppdrag"
    );
    bare && block.lines.iter().all(Line::is_blank)
}

/// The supplement's own text: up to the signature, without page numbers, letterhead lines
/// and dates standing alone (letterhead dates).
fn body_lines(lines: &[Line], year: i32) -> Vec<Line> {
    lines
        .iter()
        .take_while(|l| !text::is_signature(&l.text))
        .filter(|l| {
            l.is_blank()
                || !(text::is_page_marker(&l.text)
                    || text::is_letterhead(&l.text)
                    || dates::parse_date(&l.text, year).is_some())
        })
        .cloned()
        .collect()
}

/// A short line standing as a heading: capitalised, at most ten words, not ending like a
/// sentence or clause, not a bullet, and followed by a line that starts a new sentence.
/// (The caller checks that the line before it closed a sentence.)
fn is_prose_heading(body: &[Line], k: usize) -> bool {
    let t = &body[k].text;
    let next_starts_sentence = body[k + 1..]
        .iter()
        .find(|l| !l.is_blank())
        .is_some_and(|l| text::starts_uppercase(&l.text));
    text::starts_uppercase(t)
        && text::word_count(t) <= 10
        && !t.ends_with(['.', ',', ';', ':'])
        && text::bullet(t).is_none()
        && next_starts_sentence
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::letters;
    use styr_domain::{OrgCode, Year};

    fn parse_text(s: &str) -> (LetterDraft, Sink) {
        let ctx = ImportContext {
            ministry: OrgCode::parse("HOD").unwrap(),
            agency: OrgCode::parse("DMP").unwrap(),
            year: Year::new(2024).unwrap(),
        };
        let lines = text::lines(s);
        let spans = letters::spans(&lines);
        let mut sink = Sink::default();
        let draft = parse(&lines, &spans[0], &ctx, &mut sink);
        (draft, sink)
    }

    #[test]
    fn headed_assignments_budget_prose_and_an_implicit_request() {
        let (draft, sink) = parse_text(
            "Tillegg nr. 3 til tildelingsbrev for 2024\n\nOppdrag om nalokson\nDirektoratet skal vurdere\n\
             tilgang. Frist 1. oktober 2024.\n\nTildeling\nDMP tildeles 2,5 mill. kroner over kap. 746, post 01.\n\n\
             Refusjon av Rybelsus\nStortinget har vedtatt refusjon fra 1. juli 2024. Vi ber DMP gjennomføre\n\
             vedtaket.\n\nMed hilsen\n\nOppdrag om noe etter signaturen\nDirektoratet skal ikke leses.",
        );
        let titles: Vec<(&str, bool)> = draft
            .assignments
            .iter()
            .map(|a| (a.title.as_str(), a.implicit))
            .collect();
        assert_eq!(
            titles,
            [
                ("Oppdrag om nalokson", false),
                ("Refusjon av Rybelsus", true)
            ]
        );
        assert_eq!(
            draft.assignments[0].deadlines[0].date.to_string(),
            "2024-10-01"
        );
        assert_eq!(draft.assignments[0].department, None);
        assert_eq!(
            draft.assignments[1].effective_from.map(|d| d.to_string()),
            Some("2024-07-01".into())
        );
        assert_eq!(draft.budget_lines.len(), 1);
        assert_eq!(draft.budget_lines[0].amount, 2_500);
        assert!(
            sink.warnings
                .iter()
                .any(|w| w.message.contains("not headed as an assignment"))
        );
    }

    #[test]
    fn numbered_new_assignment_section() {
        let (draft, _) = parse_text(
            "Supplerende nr. 2 til tildelingsbrevet\n\n1. Nytt oppdrag\n\nTB 2024: Beslutningsprosessen\n\n\
             Direktoratet skal oppsummere\n\nerfaringer.\n\nFrist for oppdraget er 9. september 2024.\n\n\
             2. Oppfølging av revidert nasjonalbudsjett 2024\n\nTekst uten oppdrag.",
        );
        assert_eq!(draft.assignments.len(), 1);
        let a = &draft.assignments[0];
        assert_eq!(a.title, "Beslutningsprosessen");
        assert_eq!(a.reference_as_printed.as_deref(), Some("TB 2024:"));
        assert_eq!(
            a.description,
            "Direktoratet skal oppsummere erfaringer. Frist for oppdraget er 9. september 2024."
        );
        assert_eq!(a.deadlines[0].date.to_string(), "2024-09-09");
    }
}
