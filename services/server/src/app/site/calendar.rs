//! The steering calendar page: the scheduled reports and meetings and the calendar lines
//! printed in the letters the reader may see, as a list or as one month (`?month=2024-03`),
//! with the iCalendar link and, for a ministry officer, the form that schedules an item.
//!
//! Each scheduled item has its own page (`/calendar/{id}`) with its decisions and
//! instructions and the forms for what the reader may do to it now: the item's ministry
//! reschedules, completes (a meeting held, or a report it owes), records a meeting's minutes,
//! formalizes an instruction from them in a letter or supplement, marks the item missed once
//! its date has passed, and cancels it; the agency marks a report it owes as delivered.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Datelike, Months, NaiveDate};
use maud::{Markup, html};
use serde_json::{Value, json};
use styr_workflow::domain::Role;

use super::forms::{self, FormState, Kind, field};
use super::pages::{form_refusal, s, unavailable};
use super::{AppState, GqlError, Page, layout, query_map};

const CALENDAR: &str = r#"query {
  calendar { id ministry agency date kind title responsible status }
  letters { id title agency calendar { date text } }
  referenceData { agencies { code ministry } }
}"#;

/// One item with what its forms need: the letters and supplements an instruction may be
/// formalized in.
const ITEM: &str = r#"query {
  calendar { id ministry agency date kind title responsible status decisions
    instructions { id text formalizedBy } }
  letters { id title ministry agency supplements { number id } }
}"#;

const SCHEDULE: &str = r#"mutation($input: ScheduleInput!, $options: CommandOptions) {
  scheduleCalendarItem(input: $input, options: $options) { item { id } } }"#;

/// The kinds of item, in the order the form offers them.
const KINDS: [&str; 10] = [
    "STEERING_MEETING",
    "TECHNICAL_MEETING",
    "TERTIAL_REPORT",
    "HALF_YEAR_REPORT",
    "QUARTER_REPORT",
    "ANNUAL_REPORT",
    "BUDGET_INPUT",
    "RISK_ASSESSMENT",
    "ACCOUNTS",
    "OTHER",
];

const SCHEDULE_FIELDS: [&str; 5] = ["agency", "date", "kind", "title", "responsible"];

/// What may be done to an item, in the order its page offers it.
const ACTIONS: [&str; 6] = [
    "reschedule",
    "complete",
    "minutes",
    "formalize",
    "missed",
    "cancel",
];

/// One line of the calendar, from either source.
struct Entry {
    /// The calendar item's id; none for a letter's printed line.
    id: Option<String>,
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
    render(&state, page, req.query_string(), None).await
}

/// The calendar; `failed` is the schedule form that was refused.
async fn render(
    state: &AppState,
    page: Page,
    query: &str,
    failed: Option<FormState>,
) -> HttpResponse {
    let data = match page.graphql(state, CALENDAR, json!({})).await {
        Ok(d) => d,
        Err(e) => return unavailable(page, &e),
    };
    let mut entries = Vec::new();
    for c in data["calendar"].as_array().into_iter().flatten() {
        let Ok(date) = NaiveDate::parse_from_str(s(&c["date"]), "%Y-%m-%d") else {
            continue;
        };
        entries.push(Entry {
            id: Some(s(&c["id"]).to_owned()),
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
                id: None,
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

    let q = query_map(query);
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
                a href={ "/calendar?month=" (chosen.unwrap_or_else(|| today_month(state)).format("%Y-%m")) } { (page.t("month_view")) } " · "
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
            @if let Some(org) = ministry_of(&page) {
                (schedule_form(&page, org, &data, failed.as_ref().unwrap_or(&FormState::default())))
            } @else if let Some(failed) = &failed {
                // The form is not offered to this reader, so its refusal has no place beside it.
                (forms::summary(&page, failed, &[]))
            }
        },
    );
    let status = if failed.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else if bad_month {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page.respond(status, body)
}

/// The reader's ministry, for a ministry officer.
fn ministry_of(page: &Page) -> Option<&str> {
    page.identity
        .as_ref()
        .filter(|i| i.actor.role == Role::Ministry)
        .map(|i| i.actor.organisation.as_str())
}

fn kind_options(page: &Page) -> Vec<(&'static str, &'static str)> {
    KINDS.iter().map(|k| (*k, page.t(kind_key(k)))).collect()
}

fn side_options(page: &Page) -> [(&'static str, &'static str); 2] {
    [
        ("AGENCY", page.t("side.AGENCY")),
        ("MINISTRY", page.t("side.MINISTRY")),
    ]
}

/// The ministry's form for a new item; the agency is a list of the ministry's agencies once
/// reference data is registered, a text field before.
fn schedule_form(page: &Page, ministry: &str, data: &Value, failed: &FormState) -> Markup {
    let agencies: Vec<(&str, &str)> = data["referenceData"]["agencies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["ministry"] == ministry)
        .filter_map(|a| a["code"].as_str())
        .map(|c| (c, c))
        .collect();
    let agency = if agencies.is_empty() {
        Kind::Text
    } else {
        Kind::Select(&agencies)
    };
    let kinds = kind_options(page);
    let sides = side_options(page);
    html! {
        form.action method="post" action="/calendar" id="form-schedule" {
            h2 { (page.t("cal.schedule")) }
            (forms::summary(page, failed, &SCHEDULE_FIELDS))
            (page.csrf_field())
            input type="hidden" name="command_id" value=(failed.opt("command_id").unwrap_or_else(|| uuid::Uuid::now_v7().to_string()));
            (field(page, "schedule", failed, "agency", "agency", agency, ""))
            (field(page, "schedule", failed, "date", "date", Kind::Date, ""))
            (field(page, "schedule", failed, "kind", "kind", Kind::Select(&kinds), "STEERING_MEETING"))
            (field(page, "schedule", failed, "title", "title", Kind::Text, ""))
            (field(page, "schedule", failed, "responsible", "cal.responsible", Kind::Select(&sides), "AGENCY"))
            button type="submit" { (page.t("cal.schedule")) }
        }
    }
}

/// `POST /calendar`: a ministry officer schedules a report deadline or a meeting with one of
/// the ministry's agencies; a form that does not validate writes nothing.
pub async fn schedule(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let (page, ministry) = match Page::signed_in_post(&req, &state, &form) {
        Ok(signed_in) => signed_in,
        Err(refused) => return *refused,
    };
    // Who may schedule is the command's to decide (its FORBIDDEN is answered below); the
    // role only chooses whether the form is shown.
    let fs = FormState::failed(form.into_inner(), Vec::new());
    let mut errors: Vec<GqlError> = Vec::new();
    forms::required(&page, &fs, "agency", &mut errors);
    let date = forms::date(&page, &fs, "date", &mut errors);
    forms::required(&page, &fs, "title", &mut errors);
    let kind = fs.value("kind");
    if !KINDS.contains(&kind) {
        errors.push(forms::invalid("kind", page.t("required")));
    }
    let responsible = fs.value("responsible");
    if !matches!(responsible, "AGENCY" | "MINISTRY") {
        errors.push(forms::invalid("responsible", page.t("required")));
    }
    let input = json!({
        "ministry": ministry, "agency": fs.opt("agency").map(|a| a.to_uppercase()),
        "date": date.map(|d| d.format("%Y-%m-%d").to_string()), "kind": kind,
        "title": fs.opt("title"), "responsible": responsible,
    });
    let options = forms::command_options(&fs);
    let result = page
        .submit(
            &state,
            errors,
            SCHEDULE,
            json!({ "input": input, "options": options }),
        )
        .await;
    match result {
        Ok(d) => {
            let id = s(&d["scheduleCalendarItem"]["item"]["id"]);
            page.see_other(&format!("/calendar/{id}"))
        }
        Err(errors) => match form_refusal(page, errors) {
            Ok((page, errors)) => {
                let failed = FormState::failed(fs.values, errors);
                render(&state, page, "", Some(failed)).await
            }
            Err(answer) => *answer,
        },
    }
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
            @if let Some(id) = &e.id { a href={ "/calendar/" (id) } { (e.title) } } @else { (e.title) }
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

// ---- one item -------------------------------------------------------------------------------

fn is_meeting(item: &Value) -> bool {
    matches!(s(&item["kind"]), "STEERING_MEETING" | "TECHNICAL_MEETING")
}

/// Whether the reader may ever take `action` on the item: the domain's rule (which still
/// decides), so that the page offers no form it would refuse. The item's ministry does all of
/// it, except delivering a report the agency owes, which that agency does.
fn may(page: &Page, item: &Value, action: &str) -> bool {
    let Some(actor) = page.identity.as_ref().map(|i| &i.actor) else {
        return false;
    };
    let org = actor.organisation.as_str();
    let ministry = actor.role == Role::Ministry && org == s(&item["ministry"]);
    let agency = actor.role == Role::Agency && org == s(&item["agency"]);
    match action {
        "complete" if !is_meeting(item) && item["responsible"] == "AGENCY" => agency,
        _ => ministry,
    }
}

/// The item's instructions no letter or supplement formalizes yet.
fn unformalized(item: &Value) -> Vec<&Value> {
    item["instructions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["formalizedBy"].is_null())
        .collect()
}

/// Whether the item's state admits `action` now (a missed item's date must have passed).
fn open(item: &Value, action: &str, today: NaiveDate) -> bool {
    let status = s(&item["status"]);
    match action {
        "reschedule" | "complete" | "cancel" => status == "scheduled",
        "missed" => {
            status == "scheduled"
                && NaiveDate::parse_from_str(s(&item["date"]), "%Y-%m-%d").is_ok_and(|d| d < today)
        }
        "minutes" => status == "completed" && is_meeting(item),
        "formalize" => !unformalized(item).is_empty(),
        _ => false,
    }
}

fn action_key(action: &str) -> &'static str {
    match action {
        "reschedule" => "cal.reschedule",
        "complete" => "cal.complete",
        "minutes" => "cal.minutes",
        "formalize" => "cal.formalize",
        "missed" => "cal.missed",
        _ => "cal.cancel",
    }
}

/// The fields of an action's form, for placing its errors.
fn action_fields(action: &str) -> &'static [&'static str] {
    match action {
        "reschedule" => &["date", "reason"],
        "complete" => &["document_ref"],
        "minutes" => &["document_ref", "decisions", "instructions"],
        "formalize" => &["instruction", "source"],
        "cancel" => &["reason"],
        _ => &[],
    }
}

/// The letters and issued supplements between the item's parties, as `letter:{id}` and
/// `supplement:{id}:{number}` choices.
fn sources(page: &Page, item: &Value, letters: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for l in letters.as_array().into_iter().flatten() {
        if l["ministry"] != item["ministry"] || l["agency"] != item["agency"] {
            continue;
        }
        let title = s(&l["title"]);
        out.push((format!("letter:{}", s(&l["id"])), title.to_owned()));
        for sup in l["supplements"].as_array().into_iter().flatten() {
            out.push((
                format!("supplement:{}:{}", s(&sup["id"]), sup["number"]),
                format!("{} {} – {title}", page.t("supplement_no"), sup["number"]),
            ));
        }
    }
    out
}

fn action_form(
    page: &Page,
    id: &str,
    action: &'static str,
    item: &Value,
    letters: &Value,
    failed: &(String, FormState),
) -> Markup {
    let empty = FormState::default();
    let st = if failed.0 == action {
        &failed.1
    } else {
        &empty
    };
    let instructions: Vec<(String, String)> = unformalized(item)
        .into_iter()
        .map(|i| (s(&i["id"]).to_owned(), s(&i["text"]).to_owned()))
        .collect();
    let instruction_options: Vec<(&str, &str)> = instructions
        .iter()
        .map(|(v, l)| (v.as_str(), l.as_str()))
        .collect();
    let sources = sources(page, item, letters);
    let mut source_options: Vec<(&str, &str)> = vec![("", page.t("choose"))];
    source_options.extend(sources.iter().map(|(v, l)| (v.as_str(), l.as_str())));
    html! {
        form.action method="post" action={ "/calendar/" (id) "/" (action) } id={ "form-" (action) } {
            h2 { (page.t(action_key(action))) }
            (forms::summary(page, st, action_fields(action)))
            (page.csrf_field())
            input type="hidden" name="command_id" value=(st.opt("command_id").unwrap_or_else(|| uuid::Uuid::now_v7().to_string()));
            @match action {
                "reschedule" => {
                    (field(page, action, st, "date", "cal.new_date", Kind::Date, s(&item["date"])))
                    (field(page, action, st, "reason", "reason", Kind::Area, ""))
                }
                "complete" => {
                    (field(page, action, st, "document_ref", "document_ref", Kind::Text, ""))
                }
                "minutes" => {
                    (field(page, action, st, "document_ref", "document_ref", Kind::Text, ""))
                    (field(page, action, st, "decisions", "cal.decisions_input", Kind::Area, ""))
                    (field(page, action, st, "instructions", "cal.instructions_input", Kind::Area, ""))
                }
                "formalize" => {
                    (field(page, action, st, "instruction", "cal.instruction", Kind::Select(&instruction_options), ""))
                    (field(page, action, st, "source", "cal.source", Kind::Select(&source_options), ""))
                }
                "cancel" => {
                    (field(page, action, st, "reason", "reason", Kind::Area, ""))
                }
                _ => {}
            }
            button type="submit" { (page.t(action_key(action))) }
        }
    }
}

/// `GET /calendar/{id}`: one item the reader may see, with the forms for what they may do.
pub async fn item(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let page = Page::of(&req, &state);
    if page.identity.is_none() {
        return page.redirect_to_login();
    }
    render_item(&state, page, &id, None).await
}

/// The item with the reader's visible items and letters, or the page to send instead (not
/// found for an item the reader may not see).
async fn load(state: &AppState, page: Page, id: &str) -> Result<(Page, Value), HttpResponse> {
    let data = match page.graphql(state, ITEM, json!({})).await {
        Ok(d) => d,
        Err(e) => return Err(unavailable(page, &e)),
    };
    if !data["calendar"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["id"] == id)
    {
        return Err(page.message(StatusCode::NOT_FOUND, "not_found", "not_found.text"));
    }
    Ok((page, data))
}

/// `failed` is the action whose form was refused, with what it held.
async fn render_item(
    state: &AppState,
    page: Page,
    id: &str,
    failed: Option<(String, FormState)>,
) -> HttpResponse {
    let (page, data) = match load(state, page, id).await {
        Ok(loaded) => loaded,
        Err(response) => return response,
    };
    let Some(item) = data["calendar"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["id"] == id)
    else {
        return page.message(StatusCode::NOT_FOUND, "not_found", "not_found.text");
    };
    let today = styr_workflow::domain::oslo_date(state.workflow.now());
    let status = if failed.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let failed = failed.unwrap_or_default();
    let offered: Vec<&'static str> = ACTIONS
        .into_iter()
        .filter(|a| may(&page, item, a) && (open(item, a, today) || failed.0 == *a))
        .collect();
    let title = s(&item["title"]).to_owned();
    let decisions = item["decisions"].as_array().cloned().unwrap_or_default();
    let instructions = item["instructions"].as_array().cloned().unwrap_or_default();
    let side = match s(&item["responsible"]) {
        "MINISTRY" => "side.MINISTRY",
        _ => "side.AGENCY",
    };
    let body = layout::page(
        &page,
        &title,
        html! {
            p.downloads { a href="/calendar" { (page.t("back_to_calendar")) } }
            h1 { (title) }
            // A refused form not offered again (the reader's role, or the item moved on) has
            // its errors here.
            @if !failed.0.is_empty() && !offered.contains(&failed.0.as_str()) {
                (forms::summary(&page, &failed.1, &[]))
            }
            dl.facts {
                dt { (page.t("date")) } dd { (page.lang.date_str(s(&item["date"]))) }
                dt { (page.t("kind")) } dd { (page.t(kind_key(s(&item["kind"])))) }
                dt { (page.t("agency")) } dd { (s(&item["ministry"])) " → " (s(&item["agency"])) }
                dt { (page.t("cal.responsible")) } dd { (page.t(side)) }
                dt { (page.t("status")) } dd { (page.t(status_key(s(&item["status"])))) }
            }
            @if !decisions.is_empty() {
                h2 { (page.t("cal.decisions")) }
                ul { @for d in &decisions { li { (s(d)) } } }
            }
            @if !instructions.is_empty() {
                h2 { (page.t("cal.instructions")) }
                ul { @for i in &instructions { li {
                    (s(&i["text"])) br;
                    span.muted {
                        @match i["formalizedBy"].as_str() {
                            Some(by) => { (page.t("cal.formalized_by")) ": " (by) }
                            None => { (page.t("cal.not_formalized")) }
                        }
                    }
                } } }
            }
            @for action in &offered {
                (action_form(&page, id, action, item, &data["letters"], &failed))
            }
        },
    );
    page.respond(status, body)
}

/// `POST /calendar/{id}/{action}`: one of the item's commands. An item the reader does not see
/// is "not found"; a form that does not validate writes nothing; a reader without the right
/// is refused by the command.
pub async fn act(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let (page, _) = match Page::signed_in_post(&req, &state, &form) {
        Ok(signed_in) => signed_in,
        Err(refused) => return *refused,
    };
    let (id, action) = path.into_inner();
    let Some(action) = ACTIONS.into_iter().find(|a| *a == action) else {
        return page.message(StatusCode::NOT_FOUND, "not_found", "not_found.text");
    };
    let page = match load(&state, page, &id).await {
        Ok((page, _)) => page,
        Err(response) => return response,
    };
    // An item the reader does not see is "not found" (`load`); who may act on one they see is
    // the command's to decide, its FORBIDDEN answered below. `may` only chooses the forms shown.
    let fs = FormState::failed(form.into_inner(), Vec::new());
    let options = forms::command_options(&fs);
    let mut errors = Vec::new();
    // The lists of decisions and instructions may be empty; the date is checked as a date.
    for name in action_fields(action)
        .iter()
        .filter(|n| !matches!(**n, "date" | "decisions" | "instructions"))
    {
        forms::required(&page, &fs, name, &mut errors);
    }
    let (document, variables) = match action {
        "reschedule" => {
            let date = forms::date(&page, &fs, "date", &mut errors);
            (
                r#"mutation($id: ID!, $date: Date!, $reason: String!, $options: CommandOptions) {
                    rescheduleCalendarItem(id: $id, date: $date, reason: $reason, options: $options) { position } }"#,
                json!({ "id": id, "date": date.map(|d| d.format("%Y-%m-%d").to_string()),
                    "reason": fs.value("reason").trim(), "options": options }),
            )
        }
        "complete" => (
            r#"mutation($id: ID!, $ref: String!, $options: CommandOptions) {
                completeCalendarItem(id: $id, documentRef: $ref, options: $options) { position } }"#,
            json!({ "id": id, "ref": fs.value("document_ref").trim(), "options": options }),
        ),
        "minutes" => (
            r#"mutation($id: ID!, $ref: String!, $decisions: [String!]!, $instructions: [String!]!,
                $options: CommandOptions) {
                recordMinutes(id: $id, documentRef: $ref, decisions: $decisions,
                    instructions: $instructions, options: $options) { position } }"#,
            json!({ "id": id, "ref": fs.value("document_ref").trim(),
                "decisions": forms::lines(&fs, "decisions"),
                "instructions": forms::lines(&fs, "instructions"), "options": options }),
        ),
        "formalize" => {
            let chosen = fs.value("source");
            let source = match chosen.split(':').collect::<Vec<_>>().as_slice() {
                ["letter", letter @ ..] if !letter.is_empty() => {
                    json!({ "letterId": letter.join(":") })
                }
                ["supplement", id, number] => match number.parse::<u32>() {
                    Ok(n) => json!({ "supplementId": id, "supplementNumber": n }),
                    Err(_) => Value::Null,
                },
                _ => Value::Null,
            };
            if source.is_null() && !chosen.is_empty() {
                errors.push(forms::invalid("source", page.t("required")));
            }
            (
                r#"mutation($id: ID!, $instruction: ID!, $source: FormalSourceInput!,
                    $options: CommandOptions) {
                    formalizeInstruction(id: $id, instructionId: $instruction, source: $source,
                        options: $options) { position } }"#,
                json!({ "id": id, "instruction": fs.value("instruction"), "source": source,
                    "options": options }),
            )
        }
        "missed" => (
            r#"mutation($id: ID!, $options: CommandOptions) {
                markCalendarItemMissed(id: $id, options: $options) { position } }"#,
            json!({ "id": id, "options": options }),
        ),
        _ => (
            r#"mutation($id: ID!, $reason: String!, $options: CommandOptions) {
                cancelCalendarItem(id: $id, reason: $reason, options: $options) { position } }"#,
            json!({ "id": id, "reason": fs.value("reason").trim(), "options": options }),
        ),
    };
    let result = page.submit(&state, errors, document, variables).await;
    match result {
        Ok(_) => page.see_other(&format!("/calendar/{id}")),
        Err(errors) => match form_refusal(page, errors) {
            Ok((page, errors)) => {
                let failed = FormState::failed(fs.values, errors);
                render_item(&state, page, &id, Some((action.to_owned(), failed))).await
            }
            Err(answer) => *answer,
        },
    }
}
