//! The steering calendar page: the scheduled reports and meetings and the calendar lines
//! printed in the letters the reader may see, as a list or as one month (`?month=2024-03`),
//! with the iCalendar link.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Datelike, Months, NaiveDate};
use maud::{Markup, html};
use serde_json::json;

use super::pages::{s, unavailable};
use super::{AppState, Page, layout, query_map};

const CALENDAR: &str = r#"query {
  calendar { id ministry agency date kind title responsible status }
  letters { id title agency calendar { date text } }
}"#;

/// One line of the calendar, from either source.
struct Entry {
    date: NaiveDate,
    title: String,
    agency: String,
    /// `scheduled`, `completed`, … for calendar items; none for a letter's printed line.
    status: Option<String>,
    kind: Option<String>,
    /// The letter a printed line comes from.
    letter: Option<(String, String)>,
}

pub(super) fn kind_key(kind: &str) -> &'static str {
    match kind {
        "TERTIAL_REPORT" => "ck.tertial_report",
        "HALF_YEAR_REPORT" => "ck.half_year_report",
        "QUARTER_REPORT" => "ck.quarter_report",
        "ANNUAL_REPORT" => "ck.annual_report",
        "BUDGET_INPUT" => "ck.budget_input",
        "RISK_ASSESSMENT" => "ck.risk_assessment",
        "ACCOUNTS" => "ck.accounts",
        "STEERING_MEETING" => "ck.steering_meeting",
        "TECHNICAL_MEETING" => "ck.technical_meeting",
        _ => "ck.other",
    }
}

pub(super) fn status_key(status: &str) -> &'static str {
    match status {
        "scheduled" => "cs.scheduled",
        "completed" => "cs.completed",
        "minutes_recorded" => "cs.minutes_recorded",
        "missed" => "cs.missed",
        "cancelled" => "cs.cancelled",
        _ => "status",
    }
}

pub async fn calendar(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let page = Page::of(&req, &state);
    if page.identity.is_none() {
        return page.redirect_to_login();
    }
    let data = match page.graphql(&state, CALENDAR, json!({})).await {
        Ok(d) => d,
        Err(e) => return unavailable(page, &e),
    };
    let mut entries = Vec::new();
    for c in data["calendar"].as_array().into_iter().flatten() {
        let Ok(date) = NaiveDate::parse_from_str(s(&c["date"]), "%Y-%m-%d") else {
            continue;
        };
        entries.push(Entry {
            date,
            title: s(&c["title"]).to_owned(),
            agency: s(&c["agency"]).to_owned(),
            status: c["status"].as_str().map(str::to_owned),
            kind: c["kind"].as_str().map(str::to_owned),
            letter: None,
        });
    }
    for l in data["letters"].as_array().into_iter().flatten() {
        for c in l["calendar"].as_array().into_iter().flatten() {
            let Ok(date) = NaiveDate::parse_from_str(s(&c["date"]), "%Y-%m-%d") else {
                continue;
            };
            entries.push(Entry {
                date,
                title: s(&c["text"]).to_owned(),
                agency: s(&l["agency"]).to_owned(),
                status: None,
                kind: None,
                letter: Some((s(&l["id"]).to_owned(), s(&l["title"]).to_owned())),
            });
        }
    }
    entries.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.title.cmp(&b.title)));

    let q = query_map(req.query_string());
    let month = q.get("month").map(|m| m.trim()).filter(|m| !m.is_empty());
    let chosen = month.and_then(|m| NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok());
    let bad_month = month.is_some() && chosen.is_none();
    let heading = match chosen {
        Some(first) => format!("{} – {}", page.t("calendar"), month_name(&page, first)),
        None => page.t("calendar").to_owned(),
    };
    let body = layout::page(
        &page,
        &heading,
        html! {
            h1 { (heading) }
            p.downloads {
                a href="/calendar" { (page.t("list_view")) } " · "
                a href={ "/calendar?month=" (chosen.unwrap_or_else(|| today_month(&state)).format("%Y-%m")) } { (page.t("month_view")) } " · "
                a href="/calendar.ics" { (page.t("ical")) }
            }
            form.filters method="get" action="/calendar" {
                div {
                    label for="month" { (page.t("month")) }
                    @if bad_month { span.error id="month-error" { (page.t("bad_month")) } }
                    input type="month" id="month" name="month" value=(month.unwrap_or(""))
                        aria-invalid=[bad_month.then_some("true")] aria-describedby=[bad_month.then_some("month-error")];
                }
                button type="submit" { (page.t("show")) }
            }
            @match chosen {
                Some(first) => { (month_grid(&page, first, &entries)) }
                None => { (list(&page, &entries)) }
            }
        },
    );
    let status = if bad_month {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page.respond(status, body)
}

fn today_month(state: &AppState) -> NaiveDate {
    let today = styr_workflow::domain::oslo_date(state.workflow.now());
    today.with_day(1).unwrap_or(today)
}

/// `mars 2024` / `March 2024`: the date's words without the day.
fn month_name(page: &Page, first: NaiveDate) -> String {
    let full = page.lang.date(first);
    // `1. mars 2024` → `mars 2024`; `1 March 2024` → `March 2024`.
    full.split_once(' ')
        .map(|(_, rest)| rest.to_owned())
        .unwrap_or(full)
}

fn entry_cells(page: &Page, e: &Entry) -> Markup {
    html! {
        td {
            (e.title)
            @if let Some((id, title)) = &e.letter {
                br; span.muted { a href={ "/letters/" (id) } { (title) } }
            }
        }
        td { (e.agency) }
        td { @if let Some(k) = &e.kind { (page.t(kind_key(k))) } @else { (page.t("ck.letter")) } }
        td { @if let Some(st) = &e.status { (page.t(status_key(st))) } }
    }
}

fn list(page: &Page, entries: &[Entry]) -> Markup {
    html! {
        h2 { (page.t("list_view")) }
        @if entries.is_empty() { p { (page.t("no_calendar")) } } @else {
            table {
                (layout::column_heads(page, &["date", "what", "agency", "kind", "status"]))
                tbody { @for e in entries { tr {
                    td { (page.lang.date(e.date)) }
                    (entry_cells(page, e))
                } } }
            }
        }
    }
}

/// The month as a table of weeks (Monday first), each day listing its entries.
fn month_grid(page: &Page, first: NaiveDate, entries: &[Entry]) -> Markup {
    let next = first + Months::new(1);
    let prev = first - Months::new(1);
    let days: Vec<&Entry> = entries
        .iter()
        .filter(|e| e.date >= first && e.date < next)
        .collect();
    let lead = first.weekday().num_days_from_monday() as i64;
    let start = first - chrono::Duration::days(lead);
    let weekdays = if page.lang == super::Lang::Nb {
        ["man", "tir", "ons", "tor", "fre", "lør", "søn"]
    } else {
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    };
    let mut weeks = Vec::new();
    let mut day = start;
    while day < next {
        let week: Vec<NaiveDate> = (0..7).map(|i| day + chrono::Duration::days(i)).collect();
        day += chrono::Duration::days(7);
        weeks.push(week);
    }
    html! {
        h2 { (month_name(page, first)) }
        p {
            a href={ "/calendar?month=" (prev.format("%Y-%m")) } rel="prev" { "← " (month_name(page, prev)) }
            " · "
            a href={ "/calendar?month=" (next.format("%Y-%m")) } rel="next" { (month_name(page, next)) " →" }
        }
        table.month {
            thead { tr { @for w in weekdays { th scope="col" { (w) } } } }
            tbody {
                @for week in &weeks {
                    tr {
                        @for d in week {
                            @if d.month() == first.month() {
                                td {
                                    span.day { (d.day()) }
                                    @for e in days.iter().filter(|e| e.date == *d) {
                                        div.entry { (e.title) " " span.muted { "(" (e.agency) ")" } }
                                    }
                                }
                            } @else {
                                td.outside {}
                            }
                        }
                    }
                }
            }
        }
        @if days.is_empty() { p { (page.t("no_calendar_month")) } } @else {
            // The same entries as a list, which reads better aloud and in print.
            h3 { (page.t("list_view")) }
            table {
                (layout::column_heads(page, &["date", "what", "agency", "kind", "status"]))
                tbody { @for e in &days { tr {
                    td { (page.lang.date(e.date)) }
                    (entry_cells(page, e))
                } } }
            }
        }
    }
}
