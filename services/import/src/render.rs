//! The preview as plain-text tables, for `styr import letter FILE --dry-run` without `--json`:
//! one block per letter (goals, assignments, budget lines, calendar), then the warnings and
//! the lines that were not placed. Long texts are cut to keep rows on one line.

use std::fmt::Write;

use crate::budget::thousands;
use crate::model::{AssignmentDraft, ImportPreview, LetterKind, Unit};

const TITLE_WIDTH: usize = 60;

/// Render a preview for a terminal.
pub fn render_table(preview: &ImportPreview) -> String {
    let mut out = String::new();
    for letter in &preview.letters {
        let kind = match (letter.kind, letter.number) {
            (LetterKind::Letter, _) => "Letter".to_string(),
            (LetterKind::Supplement, Some(n)) => format!("Supplement {n}"),
            (LetterKind::Supplement, None) => "Supplement".to_string(),
        };
        let date = letter.date.map_or("no date".to_string(), |d| d.to_string());
        let _ = writeln!(
            out,
            "{kind} (line {}, {date}): {}",
            letter.line, letter.title
        );

        if !letter.goals.is_empty() {
            let rows = letter
                .goals
                .iter()
                .map(|g| {
                    let count = |items: &[crate::model::GoalListItem]| {
                        items
                            .iter()
                            .filter(|i| i.goal == Some(g.number))
                            .count()
                            .to_string()
                    };
                    vec![
                        g.line.to_string(),
                        g.number.to_string(),
                        g.section.clone().unwrap_or_default(),
                        count(&letter.steering_parameters),
                        count(&letter.key_figures),
                        cut(&g.text),
                    ]
                })
                .collect();
            section(
                &mut out,
                "Goals",
                &["line", "no", "section", "parameters", "key figures", "goal"],
                rows,
            );
        }
        if !letter.assignments.is_empty() {
            let rows = letter
                .assignments
                .iter()
                .map(|a| {
                    vec![
                        a.line.to_string(),
                        reference(a),
                        a.department
                            .as_ref()
                            .map_or("-".to_string(), ToString::to_string),
                        deadlines(a),
                        cut(&a.title),
                    ]
                })
                .collect();
            section(
                &mut out,
                "Assignments",
                &["line", "reference", "dept", "deadlines", "title"],
                rows,
            );
        }
        if !letter.budget_lines.is_empty() {
            let rows = letter
                .budget_lines
                .iter()
                .map(|b| {
                    let unit = match b.unit {
                        Unit::NokThousand => "NOK thousand",
                        Unit::Nok => "NOK",
                    };
                    let sign = if b.change && b.amount > 0 { "+" } else { "" };
                    vec![
                        b.line.to_string(),
                        b.chapter.to_string(),
                        format!("{:02}", b.post),
                        format!("{sign}{}", thousands(b.amount)),
                        unit.to_string(),
                        cut(b.name.as_deref().unwrap_or("")),
                    ]
                })
                .collect();
            section(
                &mut out,
                "Budget lines",
                &["line", "chapter", "post", "amount", "unit", "name"],
                rows,
            );
        }
        if !letter.calendar.is_empty() {
            let rows = letter
                .calendar
                .iter()
                .map(|c| {
                    let inferred = if c.year_inferred { " *" } else { "" };
                    vec![
                        c.line.to_string(),
                        format!("{}{inferred}", c.date),
                        cut(&c.title),
                    ]
                })
                .collect();
            section(
                &mut out,
                "Steering calendar (* year taken from the letter)",
                &["line", "date", "what"],
                rows,
            );
        }
        out.push('\n');
    }
    let warnings = preview
        .warnings
        .iter()
        .map(|w| vec![w.line.to_string(), w.message.clone()])
        .collect();
    section(&mut out, "Warnings", &["line", "message"], warnings);
    let unparsed = preview
        .unparsed
        .iter()
        .map(|u| vec![u.line.to_string(), u.text.clone()])
        .collect();
    section(&mut out, "Not placed", &["line", "text"], unparsed);
    out
}

fn reference(a: &AssignmentDraft) -> String {
    match (&a.reference, &a.reference_as_printed) {
        (Some(r), _) => r.to_string(),
        (None, Some(printed)) => format!("{printed} ?"),
        (None, None) => "(none)".to_string(),
    }
}

fn deadlines(a: &AssignmentDraft) -> String {
    let mut parts: Vec<String> = a
        .deadlines
        .iter()
        .map(|d| match &d.part {
            Some(p) => format!("{p}) {}", d.date),
            None => d.date.to_string(),
        })
        .collect();
    if a.deadline_to_be_agreed {
        parts.push("to be agreed".into());
    }
    if a.to_be_specified {
        parts.push("to be specified".into());
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

fn cut(s: &str) -> String {
    if s.chars().count() <= TITLE_WIDTH {
        s.to_string()
    } else {
        let kept: String = s.chars().take(TITLE_WIDTH - 1).collect();
        format!("{kept}…")
    }
}

/// A titled table with columns padded to their widest cell; the last column is not padded.
fn section(out: &mut String, title: &str, header: &[&str], rows: Vec<Vec<String>>) {
    let _ = writeln!(out, "  {title} ({})", rows.len());
    if rows.is_empty() {
        return;
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len() - 1;
        let mut s = String::from("    ");
        for (i, cell) in cells.into_iter().enumerate() {
            if i == last {
                s.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                s.push_str(cell);
                s.push_str(&" ".repeat(pad + 2));
            }
        }
        s.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(header.to_vec()));
    for row in &rows {
        let _ = writeln!(out, "{}", line(row.iter().map(String::as_str).collect()));
    }
}
