//! The body of the tildelingsbrev itself: a line-oriented walk that recognises the sections
//! worth reading — goals and their lists, assignment tables, budget tables, the steering
//! calendar — and hands each to its scanner. Narrative prose between them (introduction,
//! guidelines, authorities) is not imported and not reported.

use crate::assignments::{self, RowEnv};
use crate::budget::{self, BudgetEnv};
use crate::calendar;
use crate::goals::{self, ListKind};
use crate::letters::Span;
use crate::model::{GoalDraft, GoalListItem, ImportContext, LetterDraft};
use crate::sink::Sink;
use crate::text::{self, Line};

/// An assignment section heading: `2.1.1 Oppdrag`, `2.2.1. Oppdrag`, `Særskilte oppdrag`.
/// Returns the section number, if printed.
fn assignment_heading(line: &str) -> Option<Option<Vec<u32>>> {
    let (number, title) = match text::numbered_heading(line) {
        Some((n, t)) => (Some(n), t),
        None => (None, line),
    };
    let lower = title.to_lowercase();
    let lower = lower.trim_end_matches([':', ' ']);
    let named = matches!(lower, "oppdrag" | "særskilte oppdrag" | "nye oppdrag")
        || (number.is_some() && lower.starts_with("oppdrag") && text::word_count(lower) <= 4);
    named.then_some(number)
}

/// A line that starts a new section, ending any table or list before it.
fn is_boundary(line: &Line) -> bool {
    let t = &line.text;
    text::is_signature(t)
        || goals::goal_heading(t).is_some()
        || assignment_heading(t).is_some()
        || calendar::is_calendar_heading(t)
        || text::numbered_heading(t).is_some()
        || goals::list_label(t).is_some()
}

/// Where a section that starts under `heading` (numbered `section`) ends: at a heading that
/// continues the numbering after it (2.1.1 → 2.2, 3), at another recognised section, or at
/// the signature. A numbered line that does not continue the numbering (a list inside a
/// description) does not end it.
fn section_end(lines: &[Line], from: usize, end: usize, section: Option<&[u32]>) -> usize {
    (from..end)
        .find(|&j| {
            let t = &lines[j].text;
            let numbered_next = match (text::numbered_heading(t), section) {
                (Some((n, _)), Some(s)) => text::is_successor(s, &n),
                (Some((_, title)), None) => text::word_count(title) <= 8,
                (None, _) => false,
            };
            numbered_next
                || text::is_signature(t)
                || goals::goal_heading(t).is_some()
                || assignment_heading(t).is_some()
                || calendar::is_calendar_heading(t)
                || budget::chapter_header(t).is_some_and(|(_, rest)| rest.contains("1 000"))
        })
        .unwrap_or(end)
}

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
    let year = ctx.year.value();
    // The goal whose section we are in, with its section number.
    let mut goal: Option<(u32, Option<Vec<u32>>)> = None;
    let mut i = span.body_start;
    while i < span.end {
        let line = &lines[i];
        let t = line.text.as_str();
        if line.is_blank() {
            i += 1;
            continue;
        }
        if text::is_signature(t) {
            break; // signatures and letterhead follow
        }
        if let Some(heading) = goals::goal_heading(t) {
            let number = heading.number.unwrap_or(draft.goals.len() as u32 + 1);
            draft.goals.push(GoalDraft {
                number,
                section: heading.section.as_deref().map(text::section_text),
                text: heading.text,
                assessment_criteria: Vec::new(),
                line: line.no,
            });
            goal = Some((number, heading.section));
            i += 1;
            continue;
        }
        if let Some(section) = assignment_heading(t) {
            let end = section_end(lines, i + 1, span.end, section.as_deref());
            let env = RowEnv {
                ctx,
                goal: goal.as_ref().map(|(n, _)| *n),
                in_table: true,
            };
            let rows = assignments::parse_table(&lines[i + 1..end], &env, sink);
            if rows.is_empty() {
                sink.warn(line.no, format!("section \"{t}\" has no assignments"));
            }
            draft.assignments.extend(rows);
            i = end;
            continue;
        }
        if calendar::is_calendar_heading(t) {
            let section = text::numbered_heading(t).map(|(n, _)| n);
            let end = section_end(lines, i + 1, span.end, section.as_deref());
            draft
                .calendar
                .extend(calendar::parse_calendar(&lines[i + 1..end], year, sink));
            i = end;
            continue;
        }
        if let Some(kind) = goals::list_label(t) {
            let (items, next) = goals::parse_list(lines, i + 1, span.end, is_boundary);
            let goal_number = goal.as_ref().map(|(n, _)| *n);
            match kind {
                ListKind::AssessmentCriteria => {
                    match draft.goals.last_mut().filter(|_| goal.is_some()) {
                        Some(g) => g
                            .assessment_criteria
                            .extend(items.into_iter().map(|(_, text)| text)),
                        None => sink.warn(
                            line.no,
                            "assessment criteria outside any goal are not imported",
                        ),
                    }
                }
                ListKind::SteeringParameters => draft
                    .steering_parameters
                    .extend(list_items(items, goal_number)),
                ListKind::KeyFigures => draft.key_figures.extend(list_items(items, goal_number)),
            }
            i = next.max(i + 1);
            continue;
        }
        if budget::chapter_header(t).is_some() {
            let env = BudgetEnv {
                is_boundary: &is_boundary,
                change: false,
            };
            let (found, next) = budget::parse_chapter(lines, i, span.end, &env, sink);
            draft.budget_lines.extend(found);
            i = next.max(i + 1);
            continue;
        }
        if let Some((number, _)) = text::numbered_heading(t)
            && let Some((_, Some(section))) = &goal
            && text::is_successor(section, &number)
        {
            goal = None;
        }
        i += 1;
    }
    draft
}

fn list_items(
    items: Vec<(usize, String)>,
    goal: Option<u32>,
) -> impl Iterator<Item = GoalListItem> {
    items
        .into_iter()
        .map(move |(line, text)| GoalListItem { goal, text, line })
}
