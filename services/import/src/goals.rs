//! Mål: goal headings and the lists that hang under them — vurderingskriterier (assessment
//! criteria), styringsparametere (steering parameters) and nøkkeltall (key figures).

use crate::text::{self, Line};

/// A goal heading: `2.1 Mål: Rask tilgang …`, `Hovedmål 1: …`, `Mål 2 – …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GoalHeading {
    pub section: Option<Vec<u32>>,
    pub number: Option<u32>,
    pub text: String,
}

pub(crate) fn goal_heading(line: &str) -> Option<GoalHeading> {
    let (section, title) = match text::numbered_heading(line) {
        Some((number, title)) => (Some(number), title),
        None => (None, line),
    };
    let rest = ["hovedmål", "mål"]
        .iter()
        .find_map(|w| text::strip_prefix_ci(title, w))?;
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let after_number = rest.trim_start()[digits.len()..].trim_start();
    let text = after_number
        .strip_prefix(':')
        .or_else(|| after_number.strip_prefix('–'))
        .or_else(|| after_number.strip_prefix('-'))?
        .trim();
    if text.is_empty() {
        return None;
    }
    Some(GoalHeading {
        section,
        number: digits.parse().ok(),
        text: text::collapse_spaces(text),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListKind {
    AssessmentCriteria,
    SteeringParameters,
    KeyFigures,
}

/// A list label on a line of its own: `Styringsparametere:`, `Nøkkeltall`.
pub(crate) fn list_label(line: &str) -> Option<ListKind> {
    let title = text::numbered_heading(line).map_or(line, |(_, t)| t);
    let lower = title.to_lowercase();
    match lower.trim_end_matches([':', ' ']) {
        "vurderingskriterier" | "vurderingskriterium" => Some(ListKind::AssessmentCriteria),
        "styringsparametere" | "styringsparameter" | "styringsparametre" | "måleparametere" => {
            Some(ListKind::SteeringParameters)
        }
        "nøkkeltall" => Some(ListKind::KeyFigures),
        _ => None,
    }
}

/// Read the items of a list that starts at `lines[start]` (just after its label). Items are
/// bullets or roman-numbered; an item goes on over following lines, and over a blank line
/// when the next line starts in lower case (a PDF conversion splits items that way). The
/// list ends at anything else, or where `is_boundary` says a new section begins. Returns
/// the items as (line, text) and the index after the list.
pub(crate) fn parse_list(
    lines: &[Line],
    start: usize,
    end: usize,
    is_boundary: impl Fn(&Line) -> bool,
) -> (Vec<(usize, String)>, usize) {
    let mut items: Vec<(usize, Vec<String>)> = Vec::new();
    let mut gap = false;
    let mut i = start;
    while i < end {
        let line = &lines[i];
        if line.is_blank() || text::is_page_marker(&line.text) {
            gap |= line.is_blank();
            i += 1;
            continue;
        }
        if is_boundary(line) || list_label(&line.text).is_some() {
            break;
        }
        if let Some(item) = text::bullet(&line.text).or_else(|| text::roman_item(&line.text)) {
            items.push((line.no, vec![item.to_string()]));
        } else if let Some((_, parts)) = items.last_mut()
            && (!gap || text::starts_lowercase(&line.text))
        {
            parts.push(line.text.clone());
        } else {
            break;
        }
        gap = false;
        i += 1;
    }
    let items = items
        .into_iter()
        .map(|(no, parts)| (no, text::join(parts.iter().map(String::as_str))))
        .collect();
    (items, i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goal_headings() {
        let g = goal_heading("2.1 Mål: Rask tilgang til medisinske produkter").unwrap();
        assert_eq!(g.section, Some(vec![2, 1]));
        assert_eq!(g.number, None);
        assert_eq!(g.text, "Rask tilgang til medisinske produkter");
        let g = goal_heading("Hovedmål 2: Trygg bruk").unwrap();
        assert_eq!(
            (g.section, g.number, g.text.as_str()),
            (None, Some(2), "Trygg bruk")
        );
        assert_eq!(goal_heading("2. Mål, styringsparametere og oppdrag"), None);
        assert_eq!(goal_heading("Målet er å styrke"), None);
    }

    #[test]
    fn labels() {
        assert_eq!(
            list_label("Styringsparametere: "),
            Some(ListKind::SteeringParameters)
        );
        assert_eq!(list_label("Nøkkeltall"), Some(ListKind::KeyFigures));
        assert_eq!(
            list_label("Vurderingskriterier"),
            Some(ListKind::AssessmentCriteria)
        );
        assert_eq!(list_label("Nøkkeltallene viser"), None);
    }

    #[test]
    fn items_continue_over_wrapped_lines() {
        let l = text::lines(
            "• Første punkt som \n\nfortsetter her \n• Andre punkt og\nEUs liste \n\n• Tredje\n\nNy avsnitt her.",
        );
        let (items, next) = parse_list(&l, 0, l.len(), |_| false);
        let texts: Vec<&str> = items.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Første punkt som fortsetter her",
                "Andre punkt og EUs liste",
                "Tredje"
            ]
        );
        assert_eq!(items[1].0, 4);
        assert_eq!(l[next].text, "Ny avsnitt her.");
    }
}
