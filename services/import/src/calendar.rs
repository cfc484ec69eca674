//! Styringskalender: the steering calendar's fixed dates. Each item starts with a date (often
//! without a year) and its text may wrap over several lines. Items are kept in the order the
//! letter prints them, which is not always date order; a warning says where it is not.

use crate::assignments::is_table_header;
use crate::dates;
use crate::model::CalendarItemDraft;
use crate::sink::Sink;
use crate::text::{self, Line};

/// The calendar's heading, e.g. `6.2 Styringskalender`.
pub(crate) fn is_calendar_heading(line: &str) -> bool {
    let title = text::numbered_heading(line).map_or(line, |(_, t)| t);
    let lower = title.to_lowercase();
    lower.contains("styringskalender") && text::word_count(title) <= 6
}

/// Parse the lines under the calendar heading up to the end of the section.
pub(crate) fn parse_calendar(lines: &[Line], year: i32, sink: &mut Sink) -> Vec<CalendarItemDraft> {
    let mut items: Vec<(CalendarItemDraft, Vec<String>)> = Vec::new();
    let mut gap = false;
    for line in lines {
        if line.is_blank() || text::is_page_marker(&line.text) {
            gap |= line.is_blank();
            continue;
        }
        let content = pipe_cells(&line.text);
        let Some(content) = content else {
            continue; // Markdown separator row
        };
        if items.is_empty() && is_table_header(&content) {
            continue;
        }
        if let Some(found) = dates::parse_date_prefix(&content, year) {
            let rest = content[found.end..]
                .trim_start_matches([' ', ':', '–', '-'])
                .trim();
            items.push((
                CalendarItemDraft {
                    date: found.date,
                    date_as_printed: content[found.start..found.end].to_string(),
                    year_inferred: found.year_inferred,
                    title: String::new(),
                    line: line.no,
                },
                vec![rest.to_string()],
            ));
        } else if let Some((_, parts)) = items.last_mut()
            && (!gap || !text::starts_uppercase(&content))
        {
            parts.push(content);
        } else {
            sink.unparsed(line);
        }
        gap = false;
    }
    let out: Vec<CalendarItemDraft> = items
        .into_iter()
        .map(|(mut item, parts)| {
            item.title = text::join(parts.iter().map(String::as_str));
            item
        })
        .collect();
    for item in out.iter().filter(|i| i.title.is_empty()) {
        sink.warn(
            item.line,
            format!("calendar item {} has no text", item.date_as_printed),
        );
    }
    for pair in out.windows(2) {
        if pair[1].date < pair[0].date {
            sink.warn(
                pair[1].line,
                format!(
                    "calendar is not in date order: \"{}\" comes after \"{}\"; kept in the \
                     letter's order",
                    pair[1].date_as_printed, pair[0].date_as_printed
                ),
            );
        }
    }
    out
}

/// A Markdown row `| 31. januar | Regnskap |` becomes `31. januar Regnskap`; a separator
/// row becomes `None`; any other line is returned as it is.
fn pipe_cells(s: &str) -> Option<String> {
    if !s.starts_with('|') {
        return Some(s.to_string());
    }
    let cells: Vec<&str> = s.trim_matches('|').split('|').map(str::trim).collect();
    if cells
        .iter()
        .all(|c| c.chars().all(|ch| matches!(ch, '-' | ':' | ' ')))
    {
        return None;
    }
    Some(cells.join(" ").trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_wrap_and_keep_their_order() {
        let l = text::lines(
            "Når Hva \n31. januar Regnskapsresultat for \n\n2023 \n26. april Innspill \n22. april Rapport \n\
             Løs linje \n\nEnda en linje",
        );
        let mut sink = Sink::default();
        let items = parse_calendar(&l, 2024, &mut sink);
        let got: Vec<(String, &str)> = items
            .iter()
            .map(|i| (i.date.to_string(), i.title.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("2024-01-31".to_string(), "Regnskapsresultat for 2023"),
                ("2024-04-26".to_string(), "Innspill"),
                ("2024-04-22".to_string(), "Rapport Løs linje"),
            ]
        );
        assert!(items.iter().all(|i| i.year_inferred));
        assert_eq!(sink.unparsed.len(), 1);
        assert_eq!(sink.unparsed[0].text, "Enda en linje");
        assert_eq!(sink.warnings.len(), 1);
        assert_eq!(sink.warnings[0].line, 6);
    }

    #[test]
    fn markdown_calendar() {
        let l = text::lines("| Når | Hva |\n|---|---|\n| 15.03.2024 | Årsrapport |");
        let mut sink = Sink::default();
        let items = parse_calendar(&l, 2024, &mut sink);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].title, "Årsrapport");
        assert!(!items[0].year_inferred);
    }

    #[test]
    fn heading() {
        assert!(is_calendar_heading("6.2 Styringskalender"));
        assert!(is_calendar_heading("Styringskalender for 2024"));
        assert!(!is_calendar_heading(
            "Departementet viser til styringskalenderen i vedlegget som gjelder"
        ));
    }
}
