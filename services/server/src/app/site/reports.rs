//! The report pages of a letter: the year-end appendix ("Oversikt over særskilte oppdrag",
//! GraphQL `yearEndAppendix`) and the tertial report (`periodReport` for a tertial). Both
//! print cleanly with the stylesheet's print rules; `?download=1` returns the same report as a
//! self-contained HTML document (stylesheet inlined) and `?download=pdf` as a PDF (`pdf.rs`),
//! both sent as attachments. The PDF is laid out from the same query's rows and the same words
//! as the page, not from its HTML. The appendix can be read as of a date, on the recorded and
//! the effective axis.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::json;

use super::forms::{date_input, date_param};
use super::pages::{badge, end_of_oslo_day, s, status_key, unavailable};
use super::pdf::{Column, Pdf};
use super::{AppState, CSS, Page, layout, query_map};

const APPENDIX: &str = r#"query($id: ID!, $asOf: DateTime, $effectiveBy: DateTime) {
  letter(id: $id) { id title ministry agency year }
  yearEndAppendix(letterId: $id, asOf: $asOf, effectiveBy: $effectiveBy) {
    statusText status description
    assignment { id reference title department } } }"#;

const PERIOD: &str = r#"query($id: ID!, $period: PeriodInput!) {
  letter(id: $id) { id title ministry agency year }
  periodReport(letterId: $id, period: $period) {
    reported trafficLight progress causeAndConsequence correctiveAction
    assignment { id reference title department status } } }"#;

/// How the report is wanted: as a page, or downloaded as HTML or PDF.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Page,
    Html,
    Pdf,
}

fn wanted(req: &HttpRequest) -> Format {
    match query_map(req.query_string())
        .get("download")
        .map(String::as_str)
    {
        Some("1" | "html") => Format::Html,
        Some("pdf") => Format::Pdf,
        _ => Format::Page,
    }
}

/// The file name without its extension, kept to letters, digits and `-` (the letter id's
/// colons become dashes), so it needs no quoting.
fn file_name(file: &str) -> String {
    file.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Either the page in the site's frame, or the same content as a downloaded document.
fn respond(page: Page, title: &str, file: &str, download: bool, content: Markup) -> HttpResponse {
    if !download {
        let body = layout::page(&page, title, content);
        return page.respond(StatusCode::OK, body);
    }
    let doc = html! {
        (DOCTYPE)
        html lang=(page.lang.code()) {
            head {
                meta charset="utf-8";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body { main { (content) } }
        }
    };
    let mut response = page.respond(StatusCode::OK, doc);
    let name = file_name(file);
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.html\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// A report as a PDF: its title, the letter it is of, the lines above the table, and the table
/// (or "none yet").
struct Document<'a> {
    title: &'a str,
    letter: String,
    lines: Vec<String>,
    /// Column heads (word keys) with their share of the width.
    columns: &'a [(&'static str, f32)],
    rows: Vec<Vec<String>>,
}

fn respond_pdf(page: Page, state: &AppState, file: &str, doc: Document<'_>) -> HttpResponse {
    let mut pdf = Pdf::new(
        doc.title,
        state.workflow.now(),
        page.t("pdf.page"),
        page.t("pdf.of"),
    );
    pdf.title(doc.title);
    pdf.heading(&doc.letter);
    for line in &doc.lines {
        pdf.paragraph(line);
    }
    if doc.rows.is_empty() {
        pdf.paragraph(page.t("none_yet"));
    } else {
        let columns: Vec<Column<'_>> = doc
            .columns
            .iter()
            .map(|(key, weight)| Column {
                heading: page.t(key),
                weight: *weight,
            })
            .collect();
        pdf.table(&columns, &doc.rows);
    }
    let name = format!("{}.pdf", file_name(file));
    page.attachment("application/pdf", &name, pdf.finish())
}

/// The traffic light's word (the page shows it as a badge).
fn light_word(page: &Page, light: &serde_json::Value) -> String {
    let key = match light.as_str().map(str::to_ascii_lowercase).as_deref() {
        Some("green") => "green",
        Some("yellow") => "yellow",
        Some("red") => "red",
        _ => return String::new(),
    };
    page.t(key).to_owned()
}

/// `GET /letters/{id}/appendix`, optionally as of the end of an Oslo day (`as_of`) and with
/// only what had taken effect by the end of another (`effective_by`).
pub async fn appendix(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let page = Page::of(&req, &state);
    if page.identity.is_none() {
        return page.redirect_to_login();
    }
    let q = query_map(req.query_string());
    let as_of = date_param(&q, "as_of");
    let effective_by = date_param(&q, "effective_by");
    let (bad_as_of, bad_eff) = (as_of.is_err(), effective_by.is_err());
    let (as_of, effective_by) = (as_of.ok().flatten(), effective_by.ok().flatten());
    let instant = |d: Option<NaiveDate>| d.and_then(end_of_oslo_day).map(|t| t.to_rfc3339());
    let variables = json!({ "id": id.as_str(), "asOf": instant(as_of),
        "effectiveBy": instant(effective_by) });
    let data = match page.graphql(&state, APPENDIX, variables).await {
        Ok(d) => d,
        Err(e) => return unavailable(page, &e),
    };
    let l = &data["letter"];
    let rows = data["yearEndAppendix"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let title = format!("{} {}", page.t("appendix"), l["year"]);
    let file = format!("vedlegg-{}", id.as_str());
    let letter_line = format!(
        "{} – {} / {}",
        s(&l["title"]),
        s(&l["ministry"]),
        s(&l["agency"])
    );
    let wanted = wanted(&req);
    if wanted == Format::Pdf {
        let mut lines = Vec::new();
        if let Some(d) = as_of {
            lines.push(format!("{} {}", page.t("as_of"), page.lang.date(d)));
        }
        if let Some(d) = effective_by {
            lines.push(format!("{}: {}", page.t("effective_by"), page.lang.date(d)));
        }
        let rows = rows
            .iter()
            .map(|r| {
                let status = page.t(status_key(s(&r["status"])));
                vec![
                    s(&r["assignment"]["reference"]).to_owned(),
                    s(&r["assignment"]["title"]).to_owned(),
                    s(&r["description"]).to_owned(),
                    match r["statusText"].as_str() {
                        Some(t) => format!("{t}\n{status}"),
                        None => status.to_owned(),
                    },
                ]
            })
            .collect();
        let columns = [
            ("reference", 1.2),
            ("title", 2.2),
            ("description", 3.0),
            ("status", 2.0),
        ];
        let doc = Document {
            title: &title,
            letter: letter_line,
            lines,
            columns: &columns,
            rows,
        };
        return respond_pdf(page, &state, &file, doc);
    }
    let download = wanted == Format::Html;
    // The downloads are of the same view.
    let keep: String = [("as_of", as_of), ("effective_by", effective_by)]
        .iter()
        .filter_map(|(k, d)| d.map(|d| format!("&{k}={}", d.format("%Y-%m-%d"))))
        .collect();
    let content = html! {
        @if !download {
            p.downloads {
                a href={ "/letters/" (id.as_str()) } { (page.t("back_to_letter")) } " · "
                a href={ "/letters/" (id.as_str()) "/appendix?download=1" (keep) } { (page.t("download_html")) } " · "
                a href={ "/letters/" (id.as_str()) "/appendix?download=pdf" (keep) } { (page.t("download_pdf")) }
            }
            form.filters method="get" action={ "/letters/" (id.as_str()) "/appendix" } {
                (date_input(&page, "as_of", "as_of", as_of, bad_as_of))
                (date_input(&page, "effective_by", "effective_by", effective_by, bad_eff))
                button type="submit" { (page.t("show")) }
            }
        }
        h1 { (title) }
        @if let Some(d) = as_of { p { (page.t("as_of")) " " (page.lang.date(d)) } }
        @if let Some(d) = effective_by { p { (page.t("effective_by")) ": " (page.lang.date(d)) } }
        p { (letter_line) }
        @if rows.is_empty() { p { (page.t("none_yet")) } } @else {
            table.report {
                (layout::column_heads(&page, &["reference", "title", "description", "status"]))
                tbody { @for r in &rows { tr {
                    td { (s(&r["assignment"]["reference"])) }
                    td { (s(&r["assignment"]["title"])) }
                    td { (s(&r["description"])) }
                    td {
                        @if let Some(t) = r["statusText"].as_str() { (t) br; }
                        span.muted { (page.t(status_key(s(&r["status"])))) }
                    }
                } } }
            }
        }
    };
    respond(page, &title, &file, download, content)
}

/// `GET /letters/{id}/tertial?tertial=1|2`: every assignment of the letter with its report
/// for the tertial, and the ones not reported on (the second tertial by default: that is the
/// one whose report carries assignment status to the ministry).
pub async fn tertial(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let page = Page::of(&req, &state);
    if page.identity.is_none() {
        return page.redirect_to_login();
    }
    let q = query_map(req.query_string());
    let which = match q.get("tertial").map(String::as_str) {
        Some("1") => 1,
        _ => 2,
    };
    let period = if which == 1 { "TERTIAL_1" } else { "TERTIAL_2" };
    let data = match page
        .graphql(
            &state,
            PERIOD,
            json!({ "id": id.as_str(), "period": { "kind": period } }),
        )
        .await
    {
        Ok(d) => d,
        Err(e) => return unavailable(page, &e),
    };
    let l = &data["letter"];
    let rows = data["periodReport"].as_array().cloned().unwrap_or_default();
    let missing = rows.iter().filter(|r| r["reported"] != true).count();
    let title = format!(
        "{} – {} {}",
        page.t("tertial_report"),
        page.t(super::pages::period_key(period)),
        l["year"]
    );
    let file = format!("tertial{which}-{}", id.as_str());
    let letter_line = format!(
        "{} – {} / {}",
        s(&l["title"]),
        s(&l["ministry"]),
        s(&l["agency"])
    );
    let wanted = wanted(&req);
    if wanted == Format::Pdf {
        let lines = vec![format!(
            "{}: {missing} / {}",
            page.t("not_reported"),
            rows.len()
        )];
        let rows = rows
            .iter()
            .map(|r| {
                let light = if r["reported"] == true {
                    light_word(&page, &r["trafficLight"])
                } else {
                    page.t("not_reported").to_owned()
                };
                vec![
                    s(&r["assignment"]["reference"]).to_owned(),
                    s(&r["assignment"]["title"]).to_owned(),
                    light,
                    s(&r["progress"]).to_owned(),
                    s(&r["causeAndConsequence"]).to_owned(),
                    s(&r["correctiveAction"]).to_owned(),
                ]
            })
            .collect();
        let columns = [
            ("reference", 1.1),
            ("title", 2.4),
            ("traffic_light", 1.0),
            ("progress", 2.0),
            ("cause", 2.0),
            ("corrective", 2.0),
        ];
        let doc = Document {
            title: &title,
            letter: letter_line,
            lines,
            columns: &columns,
            rows,
        };
        return respond_pdf(page, &state, &file, doc);
    }
    let download = wanted == Format::Html;
    let content = html! {
        @if !download {
            p.downloads {
                a href={ "/letters/" (id.as_str()) } { (page.t("back_to_letter")) } " · "
                a href={ "/letters/" (id.as_str()) "/tertial?tertial=1" } { (page.t("p.TERTIAL_1")) } " · "
                a href={ "/letters/" (id.as_str()) "/tertial?tertial=2" } { (page.t("p.TERTIAL_2")) } " · "
                a href={ "/letters/" (id.as_str()) "/tertial?tertial=" (which) "&download=1" } { (page.t("download_html")) } " · "
                a href={ "/letters/" (id.as_str()) "/tertial?tertial=" (which) "&download=pdf" } { (page.t("download_pdf")) }
            }
        }
        h1 { (title) }
        p { (letter_line) }
        p { (page.t("not_reported")) ": " strong { (missing) } " / " (rows.len()) }
        @if rows.is_empty() { p { (page.t("none_yet")) } } @else {
            table.report {
                (layout::column_heads(&page, &["reference", "title", "traffic_light", "progress", "cause", "corrective"]))
                tbody { @for r in &rows {
                    @let reported = r["reported"] == true;
                    tr class=[(!reported).then_some("overdue")] {
                        td { (s(&r["assignment"]["reference"])) }
                        td { (s(&r["assignment"]["title"])) }
                        td { @if reported { (badge(&page, &r["trafficLight"])) } @else { (page.t("not_reported")) } }
                        td { (s(&r["progress"])) }
                        td { (s(&r["causeAndConsequence"])) }
                        td { (s(&r["correctiveAction"])) }
                    }
                } }
            }
        }
    };
    respond(page, &title, &file, download, content)
}
