//! Kapittel/post: budget lines. Owns the three ways the letters state money:
//!
//! - a table under `Kap. 746 (i 1 000 kr)`, either one row per line (`Post 01 Driftsutgifter
//!   429 548`) or — after PDF conversion — column by column: all post labels, then all names,
//!   then all amounts, with a `Sum` row whose total is checked;
//! - a single post with its unit on the line, under a chapter line (`Kap. 717 …` /
//!   `Post 70: Tilskudd 58 305 mill. kr`);
//! - prose in a supplement (`… over kap. 746, post 01 økes med 13,3 mill. kroner`), with the
//!   listed increases that follow it checked against the stated total.
//!
//! Amounts are integers in NOK thousands (the tables' unit); millions in prose are converted.

use styr_domain::{Chapter, NokThousands, Post};

use crate::model::{BudgetLineDraft, Unit};
use crate::sink::Sink;
use crate::text::{self, Joined, Line};

/// `Kap. 746 …`: the chapter and the rest of the line.
pub(crate) fn chapter_header(line: &str) -> Option<(u16, &str)> {
    let lower = line.to_ascii_lowercase();
    let after = ["kapittel ", "kap. ", "kap.", "kap "]
        .iter()
        .find(|p| lower.starts_with(*p))
        .map(|p| p.len())?;
    let rest = line[after..].trim_start();
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if !(3..=4).contains(&digits) || rest[digits..].starts_with(|c: char| c.is_alphanumeric()) {
        return None;
    }
    let chapter = rest[..digits].parse().ok()?;
    Some((chapter, &rest[digits..]))
}

/// The unit a table header or an amount states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatedUnit {
    Thousand,
    Million,
    Kroner,
}

/// `(i 1 000 kr)`, `(i tusen kroner)`, `(i mill. kr)`, `(i kr)` in a table header.
fn header_unit(rest: &str) -> Option<(StatedUnit, String)> {
    let open = rest.find('(')?;
    let close = open + rest[open..].find(')')?;
    let inside = rest[open + 1..close].trim();
    let compact: String = inside
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let unit = if compact.contains("1000") || compact.contains("tusen") {
        StatedUnit::Thousand
    } else if compact.contains("mill") {
        StatedUnit::Million
    } else if compact == "ikr" || compact == "ikroner" || compact == "kr" || compact == "kroner" {
        StatedUnit::Kroner
    } else {
        return None;
    };
    Some((unit, inside.to_string()))
}

/// A unit written after an amount: `mill. kr`, `mill. kroner`, `kr`, `kroner`.
fn suffix_unit(rest: &str) -> Option<(StatedUnit, usize)> {
    let lower = rest.to_lowercase();
    let trimmed = lower.trim_end();
    for (suffix, unit) in [
        ("millioner kroner", StatedUnit::Million),
        ("mill. kroner", StatedUnit::Million),
        ("mill. kr.", StatedUnit::Million),
        ("mill. kr", StatedUnit::Million),
        ("mill.kr", StatedUnit::Million),
        ("mill kr", StatedUnit::Million),
        ("kroner", StatedUnit::Kroner),
        ("kr.", StatedUnit::Kroner),
        ("kr", StatedUnit::Kroner),
    ] {
        if let Some(before) = trimmed.strip_suffix(suffix)
            && (before.is_empty() || before.ends_with(' '))
        {
            return Some((unit, before.len()));
        }
    }
    None
}

/// A figure at the end of `s`: `429 548`, `44 434`, `1,289`, `-2 000`. Returns the text
/// before it and the figure as printed.
fn trailing_amount(s: &str) -> Option<(&str, &str)> {
    let t = s.trim_end();
    let tokens: Vec<(usize, &str)> = t
        .split(' ')
        .scan(0, |pos, w| {
            let start = *pos;
            *pos += w.len() + 1;
            Some((start, w))
        })
        .filter(|(_, w)| !w.is_empty())
        .collect();
    let numeric = |w: &str| {
        let w = w.trim_start_matches(['-', '+', '−']);
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
    };
    let run = tokens.iter().rev().take_while(|(_, w)| numeric(w)).count();
    if run == 0 {
        return None;
    }
    let run_tokens = &tokens[tokens.len() - run..];
    // Digit groups: the first of 1–3 digits, the rest exactly 3 (the last may carry decimals).
    let group_ok = |group: &[(usize, &str)]| {
        group.len() == 1
            || group.iter().enumerate().all(|(i, (_, w))| {
                let digits = w
                    .split(',')
                    .next()
                    .unwrap_or("")
                    .trim_start_matches(['-', '+', '−']);
                if i == 0 {
                    (1..=3).contains(&digits.len()) && !w.contains(',')
                } else {
                    digits.len() == 3 && (i == group.len() - 1 || !w.contains(','))
                }
            })
    };
    let skip = (0..run).find(|&k| group_ok(&run_tokens[k..]))?;
    let first = run_tokens[skip].0;
    Some((t[..first].trim_end(), &t[first..]))
}

fn amount_only(s: &str) -> Option<&str> {
    trailing_amount(s)
        .filter(|(before, _)| before.is_empty())
        .map(|(_, a)| a)
}

/// The part of a `Sum` row that may hold the total: after "Sum" and an optional
/// "kap. 900", whose number is not part of the amount.
fn sum_figures(line: &str) -> &str {
    let rest = text::strip_prefix_ci(line, "sum")
        .unwrap_or(line)
        .trim_start_matches([':', ' ']);
    match chapter_header(rest) {
        Some((_, after)) => after,
        None => rest,
    }
}

/// `Post 01 …`: the post number and the rest of the line.
fn post_label(line: &str) -> Option<(u8, &str)> {
    let lower = line.to_ascii_lowercase();
    let rest = lower.strip_prefix("post")?;
    let after_ws = rest.trim_start();
    if after_ws.len() == rest.len() {
        return None;
    }
    let start = line.len() - after_ws.len();
    let digits = after_ws.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=2).contains(&digits) || after_ws[digits..].starts_with(|c: char| c.is_alphanumeric()) {
        return None;
    }
    let post = line[start..start + digits].parse().ok()?;
    let rest = line[start + digits..].trim_start_matches([':', ',', '.', ' ']);
    Some((post, rest))
}

/// Name and "kan overføres" from the text beside a post.
fn name_and_transferable(s: &str) -> (Option<String>, bool) {
    // ASCII lower-casing keeps byte offsets for slicing `s` below.
    let lower = s.to_ascii_lowercase();
    let transferable = lower.contains("kan overføres");
    let name = match lower.find("kan overføres") {
        Some(at) => format!("{} {}", &s[..at], &s[at + "kan overføres".len()..]),
        None => s.to_string(),
    };
    let name = text::collapse_spaces(
        name.trim_matches(|c: char| c == ',' || c == ':' || c.is_whitespace()),
    );
    ((!name.is_empty()).then_some(name), transferable)
}

/// What [`convert`] makes of a printed figure.
struct Converted {
    amount: i64,
    unit: Unit,
    note: Option<String>,
}

fn convert(printed: &str, unit: StatedUnit) -> Option<Converted> {
    match unit {
        StatedUnit::Thousand => NokThousands::parse_table(printed).ok().map(|a| Converted {
            amount: a.value(),
            unit: Unit::NokThousand,
            note: None,
        }),
        // "58 305 mill. kr": a figure grouped in thousands cannot be millions of an agency's
        // post; it is the table unit printed wrongly.
        StatedUnit::Million if printed.contains(' ') && !printed.contains(',') => {
            NokThousands::parse_table(printed).ok().map(|a| Converted {
                amount: a.value(),
                unit: Unit::NokThousand,
                note: Some(format!(
                    "\"{printed} mill.\" is grouped like a figure in thousands; read as {printed} \
                     NOK thousand — check against the letter"
                )),
            })
        }
        StatedUnit::Million => NokThousands::parse_millions(printed)
            .ok()
            .map(|a| Converted {
                amount: a.value(),
                unit: Unit::NokThousand,
                note: None,
            }),
        StatedUnit::Kroner => NokThousands::parse_table(printed).ok().map(|a| Converted {
            amount: a.value(),
            unit: Unit::Nok,
            note: None,
        }),
    }
}

/// Everything a budget scan needs besides the lines.
pub(crate) struct BudgetEnv<'a> {
    /// Lines that start a new section end a table.
    pub is_boundary: &'a dyn Fn(&Line) -> bool,
    /// Amounts in a supplement change an allocation.
    pub change: bool,
}

/// Parse the chapter whose header is `lines[i]`: a table when the header states a unit,
/// otherwise the post lines that state their own unit. Returns the lines and the index after
/// what was consumed.
pub(crate) fn parse_chapter(
    lines: &[Line],
    i: usize,
    end: usize,
    env: &BudgetEnv,
    sink: &mut Sink,
) -> (Vec<BudgetLineDraft>, usize) {
    let Some((chapter_no, rest)) = chapter_header(&lines[i].text) else {
        return (Vec::new(), i + 1);
    };
    let Ok(chapter) = Chapter::new(chapter_no) else {
        sink.warn(lines[i].no, format!("{chapter_no} is not a budget chapter"));
        return (Vec::new(), i + 1);
    };
    match header_unit(rest) {
        Some((unit, printed)) => parse_table(lines, i, end, chapter, unit, &printed, env, sink),
        None => parse_post_lines(lines, i, end, chapter, env, sink),
    }
}

struct PostRow {
    post: u8,
    line: usize,
    name: Option<String>,
    transferable: bool,
    amount: Option<(String, usize)>,
}

#[allow(clippy::too_many_arguments)]
fn parse_table(
    lines: &[Line],
    header: usize,
    end: usize,
    chapter: Chapter,
    unit: StatedUnit,
    unit_printed: &str,
    env: &BudgetEnv,
    sink: &mut Sink,
) -> (Vec<BudgetLineDraft>, usize) {
    let mut posts: Vec<PostRow> = Vec::new();
    let mut names: Vec<&Line> = Vec::new();
    let mut amounts: Vec<(String, usize)> = Vec::new();
    let mut sum: Option<(usize, Option<(String, usize)>)> = None;
    let mut consumed: Vec<&Line> = Vec::new();
    let needed = |posts: &[PostRow], sum: &Option<(usize, Option<(String, usize)>)>| {
        posts.iter().filter(|p| p.amount.is_none()).count()
            + usize::from(matches!(sum, Some((_, None))))
    };
    let mut j = header + 1;
    while j < end {
        let line = &lines[j];
        if line.is_blank() || text::is_page_marker(&line.text) {
            j += 1;
            continue;
        }
        if line.text.starts_with('|') && !line.text.contains(|c: char| c.is_ascii_digit()) {
            // A Markdown header or separator row.
            j += 1;
            continue;
        }
        let text = pipe_to_spaces(&line.text);
        let lower = text.to_lowercase();
        // Once every post has its amount, only another post or the Sum row continues the table.
        let complete = !posts.is_empty() && amounts.len() >= needed(&posts, &sum);
        let continues = post_label(&text).is_some() || lower.starts_with("sum");
        if (env.is_boundary)(line)
            || chapter_header(&line.text).is_some()
            || lower.starts_with("budsjettekniske")
            || (complete && !continues)
        {
            break;
        }
        if let Some((post, rest)) = post_label(&text) {
            let (rest, amount) = match trailing_amount(rest) {
                Some((before, printed)) => (before, Some((printed.to_string(), line.no))),
                None => (rest, None),
            };
            let (name, transferable) = name_and_transferable(rest);
            posts.push(PostRow {
                post,
                line: line.no,
                name,
                transferable,
                amount,
            });
        } else if lower.starts_with("sum") {
            let amount = trailing_amount(sum_figures(&text))
                .filter(|(before, _)| {
                    before.is_empty() || !before.ends_with(|c: char| c.is_ascii_digit())
                })
                .map(|(_, a)| (a.to_string(), line.no));
            sum = Some((line.no, amount));
        } else if let Some(printed) = amount_only(&text) {
            amounts.push((printed.to_string(), line.no));
        } else if text::word_count(&text) <= 6 && !text.ends_with('.') && !text.starts_with('|') {
            names.push(line);
        } else {
            break;
        }
        consumed.push(line);
        j += 1;
    }

    let column_posts = posts.iter().filter(|p| p.amount.is_none()).count();
    let sum_missing = matches!(sum, Some((_, None)));
    let fits = amounts.len() == column_posts + usize::from(sum_missing)
        || (sum_missing && amounts.len() == column_posts);
    if posts.is_empty() || !fits {
        sink.warn(
            lines[header].no,
            format!(
                "budget table for kap. {chapter}: {} posts but {} amounts; the table was not imported",
                posts.len(),
                amounts.len()
            ),
        );
        consumed.into_iter().for_each(|l| sink.unparsed(l));
        return (Vec::new(), j);
    }
    let mut figures = amounts.into_iter();
    for post in posts.iter_mut().filter(|p| p.amount.is_none()) {
        post.amount = figures.next();
    }
    if let Some((line, None)) = &sum {
        match figures.next() {
            Some(figure) => sum = Some((*line, Some(figure))),
            None => sink.warn(*line, format!("kap. {chapter}: the Sum row has no amount")),
        }
    }
    let unnamed = posts.iter().filter(|p| p.name.is_none()).count();
    if names.len() == unnamed {
        let mut names = names.into_iter();
        for post in posts.iter_mut().filter(|p| p.name.is_none()) {
            if let Some(line) = names.next() {
                let (name, transferable) = name_and_transferable(&line.text);
                post.name = name;
                post.transferable |= transferable;
            }
        }
    } else {
        sink.warn(
            lines[header].no,
            format!(
                "kap. {chapter}: {} names for {unnamed} unnamed posts; names left empty",
                names.len()
            ),
        );
        names.into_iter().for_each(|l| sink.unparsed(l));
    }

    let mut out = Vec::new();
    for post in posts {
        let Some((printed, amount_line)) = post.amount else {
            continue;
        };
        let Ok(post_no) = Post::new(post.post) else {
            sink.warn(post.line, format!("{} is not a budget post", post.post));
            continue;
        };
        match convert(&printed, unit) {
            Some(converted) => {
                if let Some(note) = converted.note {
                    sink.warn(amount_line, note);
                }
                out.push(BudgetLineDraft {
                    chapter: chapter.value(),
                    post: post_no.value(),
                    name: post.name,
                    amount: converted.amount,
                    unit: converted.unit,
                    amount_as_printed: printed,
                    unit_as_printed: unit_printed.to_string(),
                    change: env.change,
                    transferable: post.transferable,
                    line: post.line,
                });
            }
            None => {
                sink.warn(amount_line, format!("\"{printed}\" is not an amount"));
                sink.unparsed(&Line {
                    no: amount_line,
                    text: printed,
                });
            }
        }
    }
    if let Some((line, Some((printed, _)))) = sum
        && let Some(stated) = convert(&printed, unit)
    {
        let total: i64 = out.iter().map(|b| b.amount).sum();
        if total != stated.amount {
            sink.warn(
                line,
                format!(
                    "kap. {chapter}: the posts add up to {} but the Sum row says {printed}",
                    thousands(total)
                ),
            );
        }
    }
    (out, j)
}

/// Post lines under a chapter line without a table unit: `Post 70: Tilskudd 58 305 mill. kr`.
fn parse_post_lines(
    lines: &[Line],
    header: usize,
    end: usize,
    chapter: Chapter,
    env: &BudgetEnv,
    sink: &mut Sink,
) -> (Vec<BudgetLineDraft>, usize) {
    let mut out = Vec::new();
    let mut j = header + 1;
    while j < end {
        let line = &lines[j];
        if line.is_blank() {
            j += 1;
            continue;
        }
        if (env.is_boundary)(line) {
            break;
        }
        let Some((post, rest)) = post_label(&line.text) else {
            break;
        };
        let Some((unit, at)) = suffix_unit(rest) else {
            break;
        };
        let unit_printed = rest[at..].trim().to_string();
        let Some((before, printed)) = trailing_amount(&rest[..at]) else {
            break;
        };
        let (name, transferable) = name_and_transferable(before);
        let (Ok(post_no), Some(converted)) = (Post::new(post), convert(printed, unit)) else {
            sink.warn(
                line.no,
                format!("could not read the amount of kap. {chapter} post {post}"),
            );
            sink.unparsed(line);
            j += 1;
            continue;
        };
        if let Some(note) = converted.note {
            sink.warn(line.no, note);
        }
        out.push(BudgetLineDraft {
            chapter: chapter.value(),
            post: post_no.value(),
            name,
            amount: converted.amount,
            unit: converted.unit,
            amount_as_printed: printed.to_string(),
            unit_as_printed: unit_printed,
            change: env.change,
            transferable,
            line: line.no,
        });
        j += 1;
    }
    (out, j.max(header + 1))
}

fn pipe_to_spaces(s: &str) -> String {
    if s.starts_with('|') {
        text::collapse_spaces(&s.replace('|', " "))
    } else {
        s.to_string()
    }
}

/// Changes stated in a supplement's prose: a sentence naming `kap. N, post NN` with a verb of
/// change (`økes med`, `tildeles`, `reduseres med`) and an amount in millions.
pub(crate) fn prose_changes(block: &[Line], sink: &mut Sink) -> Vec<BudgetLineDraft> {
    let joined = Joined::new(block);
    let mut out = Vec::new();
    for (start, end) in text::sentences(&joined.text) {
        let sentence = &joined.text[start..end];
        let lower = sentence.to_lowercase();
        let Some((chapter, post, at)) = chapter_and_post(sentence) else {
            continue;
        };
        let negative = ["reduseres med", "redusert med", "trekkes"]
            .iter()
            .any(|v| lower.contains(v));
        let changes = ["økes med", "økt med", "tildeles", "tildelt", "bevilges"]
            .iter()
            .any(|v| lower.contains(v));
        if !(negative || changes) {
            continue;
        }
        let Some(amount) = million_amounts(sentence).into_iter().next() else {
            continue;
        };
        let (Ok(chapter), Ok(post)) = (Chapter::new(chapter), Post::new(post)) else {
            continue;
        };
        let Ok(value) = NokThousands::parse_millions(&amount.printed) else {
            continue;
        };
        let line = joined.line_at(start + at);
        let signed = if negative {
            -value.value()
        } else {
            value.value()
        };
        check_components(block, line, signed, chapter, post, &amount.printed, sink);
        out.push(BudgetLineDraft {
            chapter: chapter.value(),
            post: post.value(),
            name: None,
            amount: signed,
            unit: Unit::NokThousand,
            amount_as_printed: amount.printed,
            unit_as_printed: amount.unit,
            change: true,
            transferable: false,
            line,
        });
    }
    out
}

/// `kap. 746, post 01` inside a sentence: chapter, post and the offset of "kap".
fn chapter_and_post(sentence: &str) -> Option<(u16, u8, usize)> {
    let lower = sentence.to_ascii_lowercase();
    let mut from = 0;
    while let Some(found) = lower[from..].find("kap") {
        let at = from + found;
        from = at + 3;
        if at > 0 && lower[..at].ends_with(|c: char| c.is_alphanumeric()) {
            continue;
        }
        let Some((chapter, rest)) = chapter_header(&sentence[at..]) else {
            continue;
        };
        let rest = rest.trim_start_matches([',', ' ']);
        if let Some((post, _)) = post_label(rest) {
            return Some((chapter, post, at));
        }
    }
    None
}

struct ProseAmount {
    printed: String,
    unit: String,
}

/// Figures followed by `mill. kr`/`mill. kroner`/`millioner kroner`, in order.
fn million_amounts(s: &str) -> Vec<ProseAmount> {
    let lower = s.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = lower[from..].find("mill") {
        let at = from + found;
        from = at + 4;
        let before = &s[..at];
        let figure_start = before
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_digit() || matches!(c, ',' | ' '))
            .last()
            .map(|(i, _)| i);
        let Some(figure_start) = figure_start else {
            continue;
        };
        let figure = before[figure_start..]
            .trim_start_matches([' ', ','])
            .trim_end();
        if !figure.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let unit_end = [
            "millioner kroner",
            "mill. kroner",
            "mill. kr",
            "mill.kr",
            "mill.",
        ]
        .iter()
        .find(|u| lower[at..].starts_with(*u))
        .map_or(at + 4, |u| at + u.len());
        out.push(ProseAmount {
            printed: figure.to_string(),
            unit: s[at..unit_end].to_string(),
        });
    }
    out
}

/// The bullets after a stated change list its pieces ("- Bevilgningen økes med 3,5 mill.");
/// when they do not add up to the total, say so and keep the total as printed.
fn check_components(
    block: &[Line],
    line: usize,
    total: i64,
    chapter: Chapter,
    post: Post,
    printed: &str,
    sink: &mut Sink,
) {
    let mut parts = Vec::new();
    for l in block.iter().filter(|l| l.no > line) {
        let Some(item) = text::bullet(&l.text) else {
            continue;
        };
        let lower = item.to_lowercase();
        if !(lower.contains("økes med") || lower.contains("reduseres med")) {
            continue;
        }
        if let Some(a) = million_amounts(item).into_iter().next()
            && let Ok(v) = NokThousands::parse_millions(&a.printed)
        {
            let v = if lower.contains("reduseres") {
                -v.value()
            } else {
                v.value()
            };
            parts.push((v, a.printed));
        }
    }
    if parts.len() < 2 {
        return;
    }
    let sum: i64 = parts.iter().map(|(v, _)| v).sum();
    if sum != total {
        let listed: Vec<&str> = parts.iter().map(|(_, p)| p.as_str()).collect();
        sink.warn(
            line,
            format!(
                "kap. {chapter} post {post}: the stated change of {printed} mill. ({} NOK thousand) \
                 differs from the listed changes {} = {} NOK thousand; the stated total is kept",
                thousands(total),
                listed.join(" + "),
                thousands(sum)
            ),
        );
    }
}

/// 13900 → "13 900".
pub(crate) fn thousands(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    if v < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> (Vec<BudgetLineDraft>, Sink) {
        let lines = text::lines(text);
        let mut sink = Sink::default();
        let env = BudgetEnv {
            is_boundary: &|_: &Line| false,
            change: false,
        };
        let (out, _) = parse_chapter(&lines, 0, lines.len(), &env, &mut sink);
        (out, sink)
    }

    fn summary(lines: &[BudgetLineDraft]) -> Vec<(u16, u8, i64, Option<&str>, bool)> {
        lines
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
            .collect()
    }

    #[test]
    fn column_by_column_table() {
        let (lines, sink) = table(
            "Kap. 746          (i 1 000 kr) \n \nPost 01 \nPost 21, kan overføres \nSum \n\nDriftsutgifter \n\
             Spesielle driftsutgifter \n \n\n429 548 \n44 434    \n\n473 982 \n \n\nBudsjettekniske forutsetninger",
        );
        assert_eq!(
            summary(&lines),
            [
                (746, 1, 429_548, Some("Driftsutgifter"), false),
                (746, 21, 44_434, Some("Spesielle driftsutgifter"), true)
            ]
        );
        assert_eq!(lines[0].unit, Unit::NokThousand);
        assert_eq!(lines[0].unit_as_printed, "i 1 000 kr");
        assert_eq!(lines[1].line, 4);
        assert!(sink.warnings.is_empty(), "{:?}", sink.warnings);
    }

    #[test]
    fn row_per_line_table_with_a_wrong_sum() {
        let (lines, sink) = table(
            "Kap. 3746 (i 1 000 kr)\nPost 02 Diverse inntekter 38 455\nPost 04 Registreringsgebyr 90 898\nSum 129 000",
        );
        assert_eq!(
            summary(&lines),
            [
                (3746, 2, 38_455, Some("Diverse inntekter"), false),
                (3746, 4, 90_898, Some("Registreringsgebyr"), false)
            ]
        );
        assert_eq!(sink.warnings.len(), 1);
        assert!(sink.warnings[0].message.contains("add up to 129 353"));
        let (lines, sink) = table(
            "Kap. 900 Test (i 1 000 kr)\nPost 01 Drift 120 500\nPost 21 Spesielle, kan overføres 8 250\nSum kap. 900 128 750\nNeste avsnitt.",
        );
        assert_eq!(
            summary(&lines),
            [
                (900, 1, 120_500, Some("Drift"), false),
                (900, 21, 8_250, Some("Spesielle"), true)
            ]
        );
        assert!(sink.warnings.is_empty(), "{:?}", sink.warnings);
    }

    #[test]
    fn mismatched_columns_are_reported_not_guessed() {
        let (lines, sink) =
            table("Kap. 746 (i 1 000 kr)\nPost 01\nPost 21\nDriftsutgifter\n429 548\n");
        assert!(lines.is_empty());
        assert_eq!(sink.unparsed.len(), 4);
    }

    #[test]
    fn post_line_with_its_own_unit() {
        let (lines, sink) =
            table("Kap. 717 Legemiddeltiltak Tildeles DMP\nPost 70: Tilskudd  58 305 mill. kr\n");
        assert_eq!(
            summary(&lines),
            [(717, 70, 58_305, Some("Tilskudd"), false)]
        );
        assert_eq!(lines[0].unit_as_printed, "mill. kr");
        assert_eq!(sink.warnings.len(), 1);
        let (lines, _) = table("Kap. 717\nPost 70 Tilskudd 12,5 mill. kroner\n");
        assert_eq!(lines[0].amount, 12_500);
    }

    #[test]
    fn prose_change_with_components_that_do_not_add_up() {
        let block = text::lines(
            "bevilgningen over kap. 746, post 01 totalt økes med \n\n13,3 mill. kroner for 2024. Nærmere:\n\
             - Bevilgningen økes med 3,5 mill. kroner til a.\n- Bevilgningen økes med 10,4 mill. kroner til b:\n\
             o 3,6 mill. kroner til c\no 4, 4 mill. kroner til d",
        );
        let mut sink = Sink::default();
        let lines = prose_changes(&block, &mut sink);
        assert_eq!(summary(&lines), [(746, 1, 13_300, None, false)]);
        assert!(lines[0].change);
        assert_eq!(
            (
                lines[0].amount_as_printed.as_str(),
                lines[0].unit_as_printed.as_str()
            ),
            ("13,3", "mill. kroner")
        );
        assert_eq!(lines[0].line, 1);
        assert_eq!(sink.warnings.len(), 1);
        assert!(
            sink.warnings[0].message.contains("3,5 + 10,4 = 13 900"),
            "{}",
            sink.warnings[0].message
        );
    }

    #[test]
    fn prose_allocation_before_the_chapter() {
        let block = text::lines(
            "DMP tildeles 1,289 mill. kroner over kap. 746, post 01 i overført bevilgning fra 2023.",
        );
        let mut sink = Sink::default();
        let lines = prose_changes(&block, &mut sink);
        assert_eq!(summary(&lines), [(746, 1, 1_289, None, false)]);
    }

    #[test]
    fn amounts() {
        assert_eq!(
            trailing_amount("Driftsutgifter 429 548"),
            Some(("Driftsutgifter", "429 548"))
        );
        assert_eq!(
            trailing_amount("Post 2024 1 000"),
            Some(("Post 2024", "1 000"))
        );
        assert_eq!(trailing_amount("12,9"), Some(("", "12,9")));
        assert_eq!(trailing_amount("Driftsutgifter"), None);
        assert_eq!(thousands(473_982), "473 982");
        assert_eq!(thousands(-600), "-600");
    }
}
