//! Oppdrag: assignment rows. Owns turning the lines of an assignment table — whose columns
//! (reference, title, department, description/deadline) a PDF conversion breaks across lines
//! and interleaves — back into one assignment per row, and reading each description for its
//! parts, deadlines and "to be agreed / specified later" wording.
//!
//! Rows are found by their markers, not by layout: a row starts at a reference
//! (`TB2024-12`, or a misprint of it) and its department marker (`Avd. HOD: SHA`) separates
//! the title before it from the description after it. A row printed without any reference is
//! recognised by its department marker: its title is the text after the previous row's last
//! full sentence.

use chrono::NaiveDate;
use styr_domain::{AssignmentReference, DepartmentCode, PartLabel};

use crate::dates::{self, FoundDate};
use crate::model::{AssignmentDraft, DeadlineDraft, ImportContext, PartDraft};
use crate::reference::{self, DepartmentMarker, MarkerMatch, PrintedReference};
use crate::sink::Sink;
use crate::text::{self, Joined, Line};

/// What the rows of one table or block share.
pub(crate) struct RowEnv<'a> {
    pub ctx: &'a ImportContext,
    pub goal: Option<u32>,
    /// Rows of a letter's assignment table carry a department; prose supplements usually
    /// do not, which is still worth telling the reviewer.
    pub in_table: bool,
}

/// The lines of one assignment before interpretation.
#[derive(Debug, Clone)]
pub(crate) struct RowInput {
    pub reference: Option<PrintedReference>,
    /// The row's lines; the first has its reference removed. Blank lines are kept because
    /// they separate parts and paragraphs.
    pub lines: Vec<Line>,
    /// Not headed as an assignment; read as one because the text asks the agency to act.
    pub implicit: bool,
}

/// Parse the lines of an assignment table (everything under an "Oppdrag" heading up to the
/// next section).
pub(crate) fn parse_table(lines: &[Line], env: &RowEnv, sink: &mut Sink) -> Vec<AssignmentDraft> {
    let mut groups: Vec<RowInput> = Vec::new();
    let mut before_first: Vec<Line> = Vec::new();
    let mut out = Vec::new();
    for line in lines.iter().filter(|l| !text::is_page_marker(&l.text)) {
        if line.text.starts_with('|') {
            // A Markdown table row is complete in itself; flush what came before it.
            for row in split_rows(std::mem::take(&mut groups), &mut before_first, sink) {
                out.push(build_row(row, env, sink));
            }
            if let Some(draft) = pipe_row(line, env, sink) {
                out.push(draft);
            }
            continue;
        }
        if let Some(reference) = reference::reference_at_start(&line.text) {
            let rest = line.text[reference.end..].trim().to_string();
            groups.push(RowInput {
                reference: Some(reference),
                lines: vec![Line {
                    no: line.no,
                    text: rest,
                }],
                implicit: false,
            });
        } else if let Some(group) = groups.last_mut() {
            group.lines.push(line.clone());
        } else {
            before_first.push(line.clone());
        }
    }
    for row in split_rows(groups, &mut before_first, sink) {
        out.push(build_row(row, env, sink));
    }
    out
}

/// Lines before the first reference form a row only if they hold a department marker (a row
/// printed without a reference); otherwise they are a table header or do not fit.
fn split_rows(
    groups: Vec<RowInput>,
    before_first: &mut Vec<Line>,
    sink: &mut Sink,
) -> Vec<RowInput> {
    let mut rows = Vec::new();
    let leading: Vec<Line> = std::mem::take(before_first)
        .into_iter()
        .filter(|l| !is_table_header(&l.text))
        .collect();
    if leading.iter().any(|l| !l.is_blank()) {
        let leading = RowInput {
            reference: None,
            lines: leading,
            implicit: false,
        };
        if find_markers(&leading.lines).0.is_empty() {
            for line in &leading.lines {
                sink.unparsed(line);
            }
        } else {
            rows.extend(split_at_markers(leading, sink));
        }
    }
    for group in groups {
        rows.extend(split_at_markers(group, sink));
    }
    rows
}

/// Words of a row with the index of the line each came from.
fn words(lines: &[Line]) -> Vec<(usize, &str)> {
    lines
        .iter()
        .enumerate()
        .flat_map(|(i, l)| l.text.split_whitespace().map(move |w| (i, w)))
        .collect()
}

/// Complete department markers in a row, and incomplete ones (an `Avd.` without a code).
fn find_markers(lines: &[Line]) -> (Vec<DepartmentMarker>, Vec<(usize, usize)>) {
    let words = words(lines);
    let plain: Vec<&str> = words.iter().map(|(_, w)| *w).collect();
    let mut found = Vec::new();
    let mut incomplete = Vec::new();
    let mut k = 0;
    while k < plain.len() {
        match reference::department_marker_at(&plain, k) {
            Some(MarkerMatch::Found(m)) => {
                k = m.end;
                found.push(m);
            }
            Some(MarkerMatch::Incomplete { first, end }) => {
                incomplete.push((first, end));
                k = end.max(k + 1);
            }
            None => k += 1,
        }
    }
    (found, incomplete)
}

/// A group that holds more than one department marker holds more than one row: each extra
/// marker belongs to a row printed without a reference, whose title starts after the last
/// full sentence of the previous row's description.
fn split_at_markers(group: RowInput, sink: &mut Sink) -> Vec<RowInput> {
    let (markers, _) = find_markers(&group.lines);
    if markers.len() < 2 {
        return vec![group];
    }
    let words = words(&group.lines);
    let mut starts = vec![0];
    for pair in markers.windows(2) {
        let previous_end_line = words[pair[0].end - 1].0;
        let marker_line = words[pair[1].first].0;
        let has_prefix = pair[1].first > 0 && words[pair[1].first - 1].0 == marker_line;
        let (start, certain) =
            title_start(&group.lines, previous_end_line, marker_line, has_prefix);
        if !certain {
            sink.warn(
                group.lines[start].no,
                "could not tell where the previous assignment's description ends; the title \
                 of the next assignment starts here — check both",
            );
        }
        starts.push(start);
    }
    let mut rows = Vec::new();
    let mut reference = group.reference;
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(group.lines.len());
        rows.push(RowInput {
            reference: reference.take(),
            lines: group.lines[start..end].to_vec(),
            implicit: false,
        });
    }
    rows
}

/// Where the title of a reference-less row begins, looking back from its marker line to the
/// previous row's marker. Returns the line index and whether a sentence end marked it.
fn title_start(
    lines: &[Line],
    after: usize,
    marker_line: usize,
    has_prefix: bool,
) -> (usize, bool) {
    let candidates: Vec<usize> = (after + 1..marker_line)
        .filter(|&i| !lines[i].is_blank())
        .collect();
    // The title needs at least one line of its own unless it starts on the marker's line.
    let title_lines = if has_prefix { 0 } else { 1 };
    let searchable = candidates[..candidates.len().saturating_sub(title_lines)]
        .iter()
        .copied()
        .chain(std::iter::once(after)); // the previous description may end on its marker line
    let first_nonblank_after = |i: usize| (i + 1..=marker_line).find(|&j| !lines[j].is_blank());
    if let Some(end) = searchable
        .filter(|&i| lines[i].text.ends_with(['.', '!', '?']))
        .max()
    {
        return (first_nonblank_after(end).unwrap_or(marker_line), true);
    }
    // No sentence end: fall back to the last blank line before the marker.
    let blank = (after + 1..marker_line).rev().find(|&i| {
        lines[i].is_blank() && (has_prefix || (i + 1..marker_line).any(|j| !lines[j].is_blank()))
    });
    match blank {
        Some(b) => (first_nonblank_after(b).unwrap_or(marker_line), false),
        None if has_prefix => (marker_line, false),
        None => (candidates.last().copied().unwrap_or(marker_line), false),
    }
}

/// One row → one assignment.
pub(crate) fn build_row(row: RowInput, env: &RowEnv, sink: &mut Sink) -> AssignmentDraft {
    let line = match &row.reference {
        Some(_) => row.lines[0].no,
        None => row.lines.iter().find(|l| !l.is_blank()).map_or(0, |l| l.no),
    };
    let words = words(&row.lines);
    let plain: Vec<&str> = words.iter().map(|(_, w)| *w).collect();
    let (markers, incomplete) = find_markers(&row.lines);
    for (first, _) in &incomplete {
        let index = words[*first].0;
        let at = &row.lines[index];
        sink.warn(at.no, "\"Avd.\" without a department code");
        // Report the line as printed, with the reference that was split off it.
        let printed = match (&row.reference, index) {
            (Some(r), 0) => format!("{} {}", r.printed, at.text),
            _ => at.text.clone(),
        };
        sink.unparsed(&Line {
            no: at.no,
            text: printed,
        });
    }
    // An incomplete marker still separates the title from the description.
    let split = markers
        .first()
        .map(|m| (m.first, m.end, Some(m)))
        .or_else(|| incomplete.first().map(|&(first, end)| (first, end, None)));
    let (title, department, description_lines) = match split {
        Some((first, end, marker)) => {
            let title = words_text(&words[..first]);
            let marker_line = words[end - 1].0;
            let rest_on_line: Vec<&str> = words[end..]
                .iter()
                .take_while(|(l, _)| *l == marker_line)
                .map(|(_, w)| *w)
                .collect();
            let mut description = vec![Line {
                no: row.lines[marker_line].no,
                text: rest_on_line.join(" "),
            }];
            description.extend(row.lines[marker_line + 1..].iter().cloned());
            let department = marker.map(|m| (m.clone(), plain[first..end].join(" ")));
            (title, department, description)
        }
        None => {
            let first = row.lines.iter().position(|l| !l.is_blank()).unwrap_or(0);
            let title = row
                .lines
                .get(first)
                .map(|l| text::collapse_spaces(&l.text))
                .unwrap_or_default();
            (
                title,
                None,
                row.lines.get(first + 1..).unwrap_or_default().to_vec(),
            )
        }
    };
    assemble(
        Assembly {
            reference: row.reference,
            title,
            department,
            description: description_lines,
            implicit: row.implicit,
            line,
        },
        env,
        sink,
    )
}

/// Rebuild text from words, keeping the line structure so hyphenated line ends rejoin.
fn words_text(words: &[(usize, &str)]) -> String {
    let mut per_line: Vec<(usize, Vec<&str>)> = Vec::new();
    for (l, w) in words {
        match per_line.last_mut() {
            Some((last, ws)) if last == l => ws.push(w),
            _ => per_line.push((*l, vec![w])),
        }
    }
    let fragments: Vec<String> = per_line.into_iter().map(|(_, ws)| ws.join(" ")).collect();
    text::join(fragments.iter().map(String::as_str))
}

struct Assembly {
    reference: Option<PrintedReference>,
    title: String,
    department: Option<(DepartmentMarker, String)>,
    description: Vec<Line>,
    implicit: bool,
    line: usize,
}

fn assemble(a: Assembly, env: &RowEnv, sink: &mut Sink) -> AssignmentDraft {
    let reference = read_reference(a.reference.as_ref(), &a.title, a.line, env, sink);
    let department = a.department.as_ref().and_then(|(marker, _)| {
        if let Some(ministry) = &marker.ministry
            && ministry != env.ctx.ministry.as_str()
        {
            sink.warn(
                a.line,
                format!(
                    "department marker names ministry {ministry}, but the import is for {}",
                    env.ctx.ministry
                ),
            );
        }
        DepartmentCode::parse(&marker.code).ok()
    });
    if department.is_none() {
        let message = if env.in_table {
            "no department marker (\"Avd. HOD: …\") found in this row; the department is left empty"
        } else {
            "no department is printed for this assignment; the department is left empty"
        };
        sink.warn(a.line, message);
    }
    if a.title.is_empty() {
        sink.warn(a.line, "assignment without a title");
    }
    let described = describe(&a.description, env.ctx.year.value(), sink);
    if a.implicit {
        sink.warn(
            a.line,
            format!(
                "\"{}\" is not headed as an assignment, but the text asks the agency to act; \
                 imported as an assignment — confirm or remove it",
                a.title
            ),
        );
    }
    AssignmentDraft {
        reference,
        reference_as_printed: a.reference.map(|r| r.printed),
        title: a.title,
        department,
        department_as_printed: a.department.map(|(_, printed)| printed),
        description: described.text,
        parts: described.parts,
        deadlines: described.deadlines,
        deadline_to_be_agreed: described.to_be_agreed,
        to_be_specified: described.to_be_specified,
        implicit: a.implicit,
        effective_from: described.effective_from,
        goal: env.goal,
        line: a.line,
    }
}

/// The normalised reference, with a warning for everything that is not printed canonically.
fn read_reference(
    printed: Option<&PrintedReference>,
    title: &str,
    line: usize,
    env: &RowEnv,
    sink: &mut Sink,
) -> Option<AssignmentReference> {
    let Some(printed) = printed else {
        let message = if env.in_table {
            format!(
                "assignment \"{title}\" has no reference; its title was read from the text \
                 before its department marker"
            )
        } else {
            format!("assignment \"{title}\" has no reference printed")
        };
        sink.warn(line, message);
        return None;
    };
    if printed.year != env.ctx.year.value() {
        sink.warn(
            line,
            format!(
                "reference {} names year {}, but the letter is for {}",
                printed.printed, printed.year, env.ctx.year
            ),
        );
    }
    let Some(canonical) = printed.canonical() else {
        sink.warn(
            line,
            format!(
                "reference printed as \"{}\" without a number; left empty for review",
                printed.printed
            ),
        );
        return None;
    };
    let parsed = AssignmentReference::parse(&canonical).ok();
    if parsed.is_some() && printed.printed != canonical {
        sink.warn(
            line,
            format!(
                "reference printed as \"{}\", read as {canonical}",
                printed.printed
            ),
        );
    }
    parsed
}

/// A Markdown table row `| TB2024-1 | Tittel | SHA | Beskrivelse |`.
fn pipe_row(line: &Line, env: &RowEnv, sink: &mut Sink) -> Option<AssignmentDraft> {
    let cells: Vec<&str> = line
        .text
        .trim_matches('|')
        .split('|')
        .map(str::trim)
        .collect();
    if cells
        .iter()
        .all(|c| c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')))
        || is_table_header(&cells.join(" "))
    {
        return None;
    }
    if cells.len() < 4 {
        sink.unparsed(line);
        return None;
    }
    let reference = reference::reference_at_start(cells[0]);
    if reference.is_none() && !cells[0].is_empty() && cells[0] != "-" {
        sink.warn(
            line.no,
            format!("\"{}\" is not an assignment reference", cells[0]),
        );
    }
    let dept_words: Vec<&str> = cells[2].split_whitespace().collect();
    let department = match reference::department_marker_at(&dept_words, 0) {
        Some(MarkerMatch::Found(m)) => Some(m),
        _ => (dept_words.len() == 1
            && dept_words[0].chars().all(|c| c.is_ascii_uppercase())
            && dept_words[0].len() >= 2)
            .then(|| DepartmentMarker {
                first: 0,
                end: 1,
                ministry: None,
                code: dept_words[0].to_string(),
            }),
    };
    Some(assemble(
        Assembly {
            reference,
            title: cells[1].to_string(),
            department: department.map(|m| (m, cells[2].to_string())),
            description: vec![Line {
                no: line.no,
                text: cells[3..].join(" "),
            }],
            implicit: false,
            line: line.no,
        },
        env,
        sink,
    ))
}

/// A table's column header, e.g. `Nr. Oppdrag Avd. Beskrivelse/frist` or `Når Hva`.
pub(crate) fn is_table_header(s: &str) -> bool {
    const WORDS: [&str; 20] = [
        "nr",
        "id",
        "ref",
        "referanse",
        "oppdrag",
        "tittel",
        "avd",
        "avdeling",
        "ansvarlig",
        "beskrivelse",
        "frist",
        "og",
        "hod",
        "oppdragsbeskrivelse",
        "når",
        "hva",
        "dato",
        "tema",
        "aktivitet",
        "tidspunkt",
    ];
    let lower = s.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || matches!(c, '|' | '/' | ':' | '.' | ','))
        .filter(|w| !w.is_empty())
        .collect();
    !words.is_empty() && words.len() <= 8 && words.iter().all(|w| WORDS.contains(w))
}

/// What a description says beyond its text.
struct Described {
    text: String,
    parts: Vec<PartDraft>,
    deadlines: Vec<DeadlineDraft>,
    to_be_agreed: bool,
    to_be_specified: bool,
    effective_from: Option<NaiveDate>,
}

/// Wording that leaves the deadline (or, without "frist", something) to be agreed.
const TO_BE_AGREED: [&str; 8] = [
    "frist avtales",
    "fristen avtales",
    "frist etter avtale",
    "frist: etter avtale",
    "frist: avtales",
    "etter nærmere avtale",
    "avtales nærmere",
    "nærmere avtales",
];

/// Wording that leaves the content to be specified later.
const TO_BE_SPECIFIED: [&str; 5] = [
    "vil bli spesifisert",
    "spesifiseres",
    "nærmere spesifisert",
    "kommer tilbake",
    "komme tilbake",
];

/// A span of description with its own deadlines: one part, or the text outside the parts.
struct Scope {
    label: Option<PartLabel>,
    line: usize,
    lines: Vec<Line>,
}

fn describe(lines: &[Line], year: i32, sink: &mut Sink) -> Described {
    let text = text::join(lines.iter().map(|l| l.text.as_str()));
    let (parts, common) = split_parts(lines);
    let mut scopes: Vec<Scope> = parts;
    scopes.push(Scope {
        label: None,
        line: lines.iter().find(|l| !l.is_blank()).map_or(0, |l| l.no),
        lines: common,
    });
    let mut deadlines = Vec::new();
    let mut to_be_agreed = false;
    let mut effective_from = None;
    for scope in &scopes {
        let joined = Joined::new(&scope.lines);
        let lower = joined.text.to_lowercase();
        let mut dated = false;
        for found in dates::find_dates(&joined.text, year) {
            let printed = joined.text[found.start..found.end].to_string();
            let at = joined.line_at(found.start);
            match date_role(&joined.text, &found) {
                DateRole::Deadline => {
                    if found.year_inferred {
                        sink.warn(
                            at,
                            format!("deadline \"{printed}\" has no year; read as {}", found.date),
                        );
                    }
                    dated = true;
                    deadlines.push(DeadlineDraft {
                        part: scope.label.clone(),
                        date: found.date,
                        date_as_printed: printed,
                        year_inferred: found.year_inferred,
                    });
                }
                DateRole::EffectiveFrom => {
                    sink.warn(
                        at,
                        format!("\"{printed}\" follows \"fra\": read as the date the assignment takes effect, not a deadline"),
                    );
                    effective_from.get_or_insert(found.date);
                }
                DateRole::Other(word) => sink.warn(
                    at,
                    format!("\"{printed}\" follows \"{word}\": not read as a deadline"),
                ),
            }
        }
        let part_name = scope
            .label
            .as_ref()
            .map_or(String::new(), |l| format!("part {l}: "));
        for phrase in TO_BE_AGREED.iter().filter(|p| lower.contains(*p)) {
            let at = lower.find(phrase).map_or(scope.line, |o| joined.line_at(o));
            if phrase.contains("frist") || !dated {
                to_be_agreed = true;
            } else {
                sink.warn(
                    at,
                    format!(
                        "{part_name}\"{phrase}\" is not read as \"deadline to be agreed\": a deadline date is given"
                    ),
                );
            }
        }
        if !dated && lower.contains("frist") && !TO_BE_AGREED.iter().any(|p| lower.contains(p)) {
            let at = lower
                .find("frist")
                .map_or(scope.line, |o| joined.line_at(o));
            sink.warn(
                at,
                format!("{part_name}mentions a deadline (\"frist\") but no date was found"),
            );
        }
    }
    let lower = text.to_lowercase();
    let to_be_specified = TO_BE_SPECIFIED.iter().any(|p| lower.contains(p));
    let parts = scopes
        .into_iter()
        .filter_map(|s| {
            let label = s.label?;
            Some(PartDraft {
                label,
                text: text::join(s.lines.iter().map(|l| l.text.as_str())),
                line: s.line,
            })
        })
        .collect();
    Described {
        text,
        parts,
        deadlines,
        to_be_agreed,
        to_be_specified,
        effective_from,
    }
}

/// Split a description into labelled parts (`a)`, `b)` or `A.`, `B.` in sequence from `a`)
/// and the text outside them. A part ends at the next label, or where a blank line is
/// followed by a new sentence.
fn split_parts(lines: &[Line]) -> (Vec<Scope>, Vec<Line>) {
    let mut parts: Vec<Scope> = Vec::new();
    let mut common = Vec::new();
    let mut expected = 'a';
    let mut in_part = false;
    let mut gap = false;
    for line in lines {
        if line.is_blank() {
            gap = true;
            continue;
        }
        if let Some((label, rest)) = part_marker(&line.text)
            && label == expected
            && let Ok(part) = PartLabel::parse(&label.to_string())
        {
            parts.push(Scope {
                label: Some(part),
                line: line.no,
                lines: vec![Line {
                    no: line.no,
                    text: rest.to_string(),
                }],
            });
            expected = char::from(expected as u8 + 1);
            in_part = true;
            gap = false;
            continue;
        }
        if in_part && gap && text::starts_uppercase(&line.text) {
            in_part = false;
        }
        match parts.last_mut() {
            Some(part) if in_part => part.lines.push(line.clone()),
            _ => common.push(line.clone()),
        }
        gap = false;
    }
    (parts, common)
}

/// `a)`, `(a)`, `A)`, `A.`, `a.` at the start of a line, followed by a space.
fn part_marker(s: &str) -> Option<(char, &str)> {
    let s2 = s.strip_prefix('(').unwrap_or(s);
    let mut chars = s2.chars();
    let letter = chars.next()?;
    if !letter.is_ascii_alphabetic() || !('a'..='h').contains(&letter.to_ascii_lowercase()) {
        return None;
    }
    let closer = chars.next()?;
    let rest = chars.as_str();
    let closes = closer == ')' || (closer == '.' && !s.starts_with('('));
    (closes && rest.starts_with(' ')).then(|| (letter.to_ascii_lowercase(), rest.trim()))
}

enum DateRole {
    Deadline,
    EffectiveFrom,
    /// A date that refers to something else, named by the word before it.
    Other(&'static str),
}

/// What a date in a description is, judged by the words just before it.
fn date_role(text: &str, found: &FoundDate) -> DateRole {
    let before = text[..found.start].trim_end().to_lowercase();
    let last_word = before.rsplit(' ').next().unwrap_or("");
    if matches!(last_word, "fra" | "f.o.m." | "fom.") {
        return DateRole::EffectiveFrom;
    }
    for word in ["av", "datert", "dato", "siden", "etter", "tidligst"] {
        if last_word == word {
            return DateRole::Other(word);
        }
    }
    DateRole::Deadline
}

#[cfg(test)]
mod tests {
    use super::*;
    use styr_domain::{OrgCode, Year};

    fn ctx() -> ImportContext {
        ImportContext {
            ministry: OrgCode::parse("HOD").unwrap(),
            agency: OrgCode::parse("DMP").unwrap(),
            year: Year::new(2024).unwrap(),
        }
    }

    fn lines(text: &str) -> Vec<Line> {
        text::lines(text)
    }

    fn table(text: &str) -> (Vec<AssignmentDraft>, Sink) {
        let ctx = ctx();
        let env = RowEnv {
            ctx: &ctx,
            goal: Some(1),
            in_table: true,
        };
        let mut sink = Sink::default();
        let rows = parse_table(&lines(text), &env, &mut sink);
        (rows, sink)
    }

    #[test]
    fn columns_broken_across_lines() {
        let (rows, sink) = table(
            "TB2024- Videreutvikling av \n\nsystem for Nye \nmetoder \n\nAvd. \nHOD: \nSHA \n\n\
             Direktoratet skal levere en \nfelles statusrapport 1. april 2024. \n",
        );
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.title, "Videreutvikling av system for Nye metoder");
        assert_eq!(r.department.as_ref().unwrap().as_str(), "SHA");
        assert_eq!(r.department_as_printed.as_deref(), Some("Avd. HOD: SHA"));
        assert_eq!(
            r.description,
            "Direktoratet skal levere en felles statusrapport 1. april 2024."
        );
        assert_eq!(r.deadlines.len(), 1);
        assert_eq!(
            r.deadlines[0].date,
            NaiveDate::from_ymd_opt(2024, 4, 1).unwrap()
        );
        assert_eq!(r.reference, None);
        assert_eq!(r.reference_as_printed.as_deref(), Some("TB2024-"));
        assert_eq!(r.goal, Some(1));
        assert_eq!(sink.warnings.len(), 1, "{:?}", sink.warnings);
    }

    #[test]
    fn row_without_reference_is_split_off_by_its_marker() {
        let (rows, _) = table(
            "TB2024-3 Første Avd. HOD: SHA Direktoratet skal \nutvikle noe. \n\n \
             Gjensidig \n\ngodkjenningsavtaler \n\nAvd. HOD: SHA \nDirektoratet skal bistå.",
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].description, "Direktoratet skal utvikle noe.");
        assert_eq!(rows[1].title, "Gjensidig godkjenningsavtaler");
        assert_eq!(rows[1].reference_as_printed, None);
        assert_eq!(rows[1].line, 4);
        assert_eq!(rows[1].description, "Direktoratet skal bistå.");
    }

    #[test]
    fn parts_with_their_own_deadlines() {
        let (rows, sink) = table(
            "TB2024-9 Tobakk Avd. HOD: FHA Direktoratet bes om å: \na) Utrede forbud. Frist \n\ner 1. mars 2024. \n\n\
             b) Utrede regulering. Mandat avtales nærmere. Frist er 1. \nseptember 2024. \n\nForslagene skal inngå i et høringsnotat.",
        );
        let r = &rows[0];
        let got: Vec<(Option<&str>, String)> = r
            .deadlines
            .iter()
            .map(|d| (d.part.as_ref().map(|p| p.as_str()), d.date.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                (Some("a"), "2024-03-01".into()),
                (Some("b"), "2024-09-01".into())
            ]
        );
        assert_eq!(r.parts.len(), 2);
        assert_eq!(
            r.parts[1].text,
            "Utrede regulering. Mandat avtales nærmere. Frist er 1. september 2024."
        );
        assert!(!r.deadline_to_be_agreed);
        assert!(
            sink.warnings
                .iter()
                .any(|w| w.message.contains("part b: \"avtales nærmere\""))
        );
    }

    #[test]
    fn to_be_agreed_and_to_be_specified() {
        let (rows, _) = table(
            "TB2024-1 A Avd. SHA Frist avtales med direktoratet.\nTB2024-2 B Avd. SHA Oppdraget vil bli spesifisert i løpende dialog.\n",
        );
        assert!(rows[0].deadline_to_be_agreed && !rows[0].to_be_specified);
        assert!(!rows[1].deadline_to_be_agreed && rows[1].to_be_specified);
    }

    #[test]
    fn header_is_skipped_and_stray_text_reported() {
        let (rows, sink) =
            table("Nr. Oppdrag Avd. Beskrivelse/frist\nLøs tekst her\nTB2024-1 A Avd. SHA Noe.");
        assert_eq!(rows.len(), 1);
        assert_eq!(sink.unparsed.len(), 1);
        assert_eq!(sink.unparsed[0].line, 2);
    }

    #[test]
    fn markdown_rows() {
        let (rows, _) = table(
            "| Ref | Tittel | Avd. | Beskrivelse |\n|---|---|---|---|\n| TB2024-5 | Helsedata | EHE | Levere 2024-06-30. |",
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].reference.as_ref().unwrap().as_str(), "TB2024-5");
        assert_eq!(rows[0].department.as_ref().unwrap().as_str(), "EHE");
        assert_eq!(rows[0].deadlines[0].date.to_string(), "2024-06-30");
    }

    #[test]
    fn effective_dates_are_not_deadlines() {
        let (rows, _) =
            table("TB2024-1 A Avd. SHA Refusjon fra 1. juli 2024. Vi ber om gjennomføring.");
        assert!(rows[0].deadlines.is_empty());
        assert_eq!(rows[0].effective_from, NaiveDate::from_ymd_opt(2024, 7, 1));
    }

    #[test]
    fn part_markers() {
        assert_eq!(part_marker("a) Utrede"), Some(('a', "Utrede")));
        assert_eq!(
            part_marker("B. Innrapportere"),
            Some(('b', "Innrapportere"))
        );
        assert_eq!(part_marker("(c) Noe"), Some(('c', "Noe")));
        assert_eq!(part_marker("Avd."), None);
        assert_eq!(part_marker("z) Noe"), None);
    }
}
