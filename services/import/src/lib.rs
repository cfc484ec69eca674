//! Letter import: the text of a tildelingsbrev (allocation letter) and its supplements — plain
//! text converted from PDF, or Markdown — read into a reviewable draft. Pure: no IO, no clock.
//!
//! Letters reach the ministry's staff as PDFs, and retyping them is where assignments,
//! deadlines and budget figures get lost. This crate owns the step from text to a
//! [`ImportPreview`] that a person checks before anything is written (`styr import letter
//! FILE --dry-run`). It therefore never guesses silently: every normalised reference,
//! inferred date and inconsistent sum becomes a [`Warning`] with its line number, and every
//! line inside an assignment table, budget table or calendar that does not fit is listed in
//! [`ImportPreview::unparsed`].
//!
//! The parser is a line-oriented scanner. `letters` splits the file into the letter and its
//! supplements; the letter's body is walked section by section (`main_letter`), a
//! supplement's as prose (`supplement`); rows, budget lines, calendar items and dates each
//! have a scanner of their own (`assignments`, `budget`, `calendar`, [`dates`]).
//!
//! ```text
//! bytes ─decode─▶ text ─parse_letter─▶ ImportPreview ─render_table / serde_json─▶ CLI
//! ```

mod assignments;
mod budget;
mod calendar;
pub mod dates;
mod decode;
mod error;
mod goals;
mod letters;
mod main_letter;
mod model;
mod reference;
mod render;
mod sink;
mod supplement;
mod text;

pub use decode::decode;
pub use error::ImportError;
pub use model::*;
pub use render::render_table;

use sink::Sink;

/// Read a letter (and the supplements pasted after it) into a preview.
///
/// Fails when the text is empty, states another year than `ctx.year` (in a title such as
/// "Tildelingsbrev … 2023", or — without such a title — only through references like
/// `TB2023-4`), or contains nothing the importer recognises.
pub fn parse_letter(text: &str, ctx: &ImportContext) -> Result<ImportPreview, ImportError> {
    if text.is_empty() {
        return Err(ImportError::Empty);
    }
    if text.trim().is_empty() {
        return Err(ImportError::Blank);
    }
    let lines = text::lines(text);
    let spans = letters::spans(&lines);
    let title_stated_year = letters::check_title_years(&spans, ctx)?;
    let year = ctx.year.value();

    let mut sink = Sink::default();
    let mut drafts = Vec::new();
    for span in &spans {
        let mut draft = match span.kind {
            LetterKind::Letter => main_letter::parse(&lines, span, ctx, &mut sink),
            LetterKind::Supplement => supplement::parse(&lines, span, ctx, &mut sink),
        };
        if let Some((date, line, after_signature)) = letters::letter_date(&lines, span, year) {
            draft.date = Some(date);
            letters::warn_date_source(&mut sink, span, date, line, after_signature);
        }
        drafts.push(draft);
    }
    if let Some(main) = spans.iter().position(|s| s.kind == LetterKind::Letter)
        && spans[main].title.is_empty()
    {
        sink.warn(
            lines.first().map_or(1, |l| l.no),
            "the letter has no title line",
        );
    }
    infer_letter_date(&lines, &spans, &mut drafts, year, &mut sink);
    warn_duplicate_references(&drafts, &mut sink);
    if !title_stated_year {
        check_reference_years(&drafts, ctx)?;
    }
    if drafts.iter().all(is_empty) {
        return Err(ImportError::NothingFound);
    }

    let Sink {
        mut warnings,
        mut unparsed,
    } = sink;
    warnings.sort_by_key(|w| w.line);
    unparsed.sort_by_key(|u| u.line);
    Ok(ImportPreview {
        letters: drafts,
        warnings,
        unparsed,
    })
}

/// The letter itself rarely prints its date in a PDF conversion; a supplement that cites
/// "tildelingsbrev av 5. februar 2024" does.
fn infer_letter_date(
    lines: &[text::Line],
    spans: &[letters::Span],
    drafts: &mut [LetterDraft],
    year: i32,
    sink: &mut Sink,
) {
    let Some(main) = drafts
        .iter()
        .position(|d| d.kind == LetterKind::Letter && d.date.is_none())
    else {
        return;
    };
    let cited = spans
        .iter()
        .filter(|s| s.kind == LetterKind::Supplement)
        .find_map(|s| letters::cited_letter_date(lines, s, year));
    if let Some((date, line)) = cited {
        drafts[main].date = Some(date);
        sink.warn(
            line,
            format!("the letter prints no date; {date} is taken from a supplement that cites it"),
        );
    }
}

/// Without a year in any title, references decide: if every reference names another year,
/// the text is for that year.
fn check_reference_years(drafts: &[LetterDraft], ctx: &ImportContext) -> Result<(), ImportError> {
    let printed: Vec<(i32, usize, &str)> = drafts
        .iter()
        .flat_map(|d| &d.assignments)
        .filter_map(|a| {
            let p = a.reference_as_printed.as_deref()?;
            reference::reference_at_start(p).map(|r| (r.year, a.line, p))
        })
        .collect();
    if printed.iter().any(|(y, _, _)| *y == ctx.year.value()) {
        return Ok(());
    }
    match printed.first() {
        Some(&(stated, line, p)) => Err(ImportError::YearMismatch {
            stated,
            expected: ctx.year.value(),
            line,
            evidence: p.to_string(),
        }),
        None => Ok(()),
    }
}

/// A reference names one assignment; two rows with the same one need a human decision.
fn warn_duplicate_references(drafts: &[LetterDraft], sink: &mut Sink) {
    let mut seen: Vec<(&styr_domain::AssignmentReference, usize)> = Vec::new();
    for a in drafts.iter().flat_map(|d| &d.assignments) {
        let Some(reference) = &a.reference else {
            continue;
        };
        match seen.iter().find(|(r, _)| *r == reference) {
            Some((_, first)) => sink.warn(
                a.line,
                format!("reference {reference} is also used by the assignment on line {first}"),
            ),
            None => seen.push((reference, a.line)),
        }
    }
}

fn is_empty(d: &LetterDraft) -> bool {
    d.goals.is_empty()
        && d.assignments.is_empty()
        && d.budget_lines.is_empty()
        && d.calendar.is_empty()
        && d.steering_parameters.is_empty()
        && d.key_figures.is_empty()
}
