//! Downloads people expect beside the API: the assignment board as CSV and Excel with the
//! board's filters, and the steering calendar with deadlines as iCalendar for Outlook.
//!
//! All are scoped exactly like GraphQL. They take the bearer token from the `Authorization`
//! header, from a `token` query parameter (calendar clients cannot send headers), or from the
//! web pages' session cookie.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use icalendar::{Calendar, Component, Event, EventLike};
use serde::Deserialize;
use styr_workflow::domain::allocation_letter::AllocationLetter;
use styr_workflow::domain::calendar::SteeringCalendarItem;
use styr_workflow::domain::{Aggregate, oslo_date};
use styr_workflow::projections::{
    BoardFilter, BoardQuery, BoardRow, BoardSort, BoardStatus, Scope,
};

use super::{AppState, caller, identify, unauthenticated};
use crate::auth::AuthError;

/// The most rows one download holds.
const MAX_ROWS: u32 = 10_000;

/// The board's filters as query parameters (`?agency=DMP&status=in_progress_delayed,delivered`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BoardParams {
    year: Option<i32>,
    ministry: Option<String>,
    agency: Option<String>,
    department: Option<String>,
    goal: Option<String>,
    /// Comma-separated statuses, e.g. `issued,in_progress_delayed`.
    status: Option<String>,
    traffic_light: Option<String>,
    overdue: Option<bool>,
    deadline_from: Option<NaiveDate>,
    deadline_to: Option<NaiveDate>,
    text: Option<String>,
    /// `next_deadline` (default), `reference`, `title` or `updated`.
    sort: Option<String>,
    descending: Option<bool>,
    token: Option<String>,
}

/// Why a download is refused; turned into a response with a stable `code`.
enum Refused {
    BadToken(AuthError),
    NoToken,
    Forbidden,
    BadRequest(String),
    Unavailable,
}

impl Refused {
    fn response(self) -> HttpResponse {
        let (status, code, message) = match self {
            Refused::BadToken(e) => return unauthenticated(&e),
            Refused::NoToken => (
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "sign in: this needs a valid bearer token".to_owned(),
            ),
            Refused::Forbidden => (
                StatusCode::FORBIDDEN,
                "FORBIDDEN",
                "administrators manage reference data only".to_owned(),
            ),
            Refused::BadRequest(m) => (StatusCode::BAD_REQUEST, "VALIDATION", m),
            Refused::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "UNAVAILABLE",
                "the board is unavailable; try again".to_owned(),
            ),
        };
        let mut response = HttpResponse::build(status);
        if status == StatusCode::UNAUTHORIZED {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        response.json(serde_json::json!({ "error": message, "code": code }))
    }
}

/// The caller's scope, or why they are refused.
fn scope_of(req: &HttpRequest, state: &AppState, token: Option<&str>) -> Result<Scope, Refused> {
    // The web pages link here; a browser sends its session cookie, not a header. A GET
    // download changes nothing, so the cookie needs no CSRF token.
    let session = req.cookie(super::site::SESSION_COOKIE);
    let identity = match (token, session) {
        (Some(t), _) => identify(&format!("Bearer {t}"), &state.verifier).map(Some),
        (None, Some(c)) if req.headers().get("authorization").is_none() => {
            identify(&format!("Bearer {}", c.value()), &state.verifier).map(Some)
        }
        (None, _) => caller(req, &state.verifier),
    };
    let identity = identity
        .map_err(Refused::BadToken)?
        .ok_or(Refused::NoToken)?;
    Scope::of(&identity.actor).ok_or(Refused::Forbidden)
}

fn board_query(params: &BoardParams, scope: Scope, today: NaiveDate) -> Result<BoardQuery, String> {
    let mut statuses = Vec::new();
    for s in params.status.iter().flat_map(|s| s.split(',')) {
        let s = s.trim();
        if s.is_empty() {
            continue;
        }
        statuses.push(
            BoardStatus::parse(s).ok_or_else(|| format!("status {s:?} is not a board status"))?,
        );
    }
    let sort = match params.sort.as_deref() {
        None | Some("next_deadline") => BoardSort::NextDeadline,
        Some("reference") => BoardSort::Reference,
        Some("title") => BoardSort::Title,
        Some("updated") => BoardSort::Updated,
        Some(other) => {
            return Err(format!(
                "sort {other:?} is not one of next_deadline, reference, title, updated"
            ));
        }
    };
    if let Some(l) = params
        .traffic_light
        .as_deref()
        .filter(|l| !["green", "yellow", "red"].contains(l))
    {
        return Err(format!(
            "traffic_light {l:?} is not one of green, yellow, red"
        ));
    }
    Ok(BoardQuery {
        scope,
        filter: BoardFilter {
            year: params.year,
            ministry: params.ministry.clone(),
            agency: params.agency.clone(),
            department: params.department.clone(),
            goal: params.goal.clone(),
            statuses,
            traffic_light: params.traffic_light.clone(),
            overdue: params.overdue,
            deadline_from: params.deadline_from,
            deadline_to: params.deadline_to,
            text: params.text.clone(),
            ids: Vec::new(),
        },
        sort,
        descending: params.descending.unwrap_or(false),
        offset: 0,
        limit: MAX_ROWS,
        today,
    })
}

/// The board rows a download holds, or the response that refuses it.
async fn board_rows(
    req: &HttpRequest,
    state: &AppState,
    params: &BoardParams,
) -> Result<(Vec<BoardRow>, NaiveDate), Refused> {
    let scope = scope_of(req, state, params.token.as_deref())?;
    let today = oslo_date(state.workflow.now());
    let query = board_query(params, scope, today).map_err(Refused::BadRequest)?;
    let page = state
        .workflow
        .projections()
        .board(&query)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "board export failed");
            Refused::Unavailable
        })?;
    Ok((page.rows, today))
}

/// Column headings in the users' language (bokmål).
const HEADINGS: [&str; 13] = [
    "Referanse",
    "Tittel",
    "År",
    "Departement",
    "Virksomhet",
    "Avdeling",
    "Mål",
    "Status",
    "Trafikklys",
    "Neste frist",
    "Frist avtales",
    "Forfalt",
    "Sist endret",
];

fn cells(r: &BoardRow, today: NaiveDate) -> [String; 13] {
    let overdue = r.lifecycle == "active" && r.next_deadline.is_some_and(|d| d < today);
    let yes_no = |b: bool| if b { "ja" } else { "nei" }.to_owned();
    [
        r.reference.clone().unwrap_or_default(),
        r.title.clone(),
        r.year.to_string(),
        r.ministry.clone(),
        r.agency.clone(),
        r.department.clone().unwrap_or_default(),
        r.goal.clone().unwrap_or_default(),
        r.status.as_str().to_owned(),
        r.traffic_light.clone().unwrap_or_default(),
        r.next_deadline.map(|d| d.to_string()).unwrap_or_default(),
        yes_no(r.deadline_to_be_agreed),
        yes_no(overdue),
        r.updated_at.format("%Y-%m-%d %H:%M").to_string(),
    ]
}

fn csv_bytes(rows: &[BoardRow], today: NaiveDate) -> Result<Vec<u8>, csv::Error> {
    // A BOM so Excel opens UTF-8 (æ, ø, å) correctly.
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .delimiter(b';')
            .from_writer(&mut out);
        w.write_record(HEADINGS)?;
        for r in rows {
            w.write_record(cells(r, today))?;
        }
        w.flush()?;
    }
    Ok(out)
}

fn xlsx_bytes(rows: &[BoardRow], today: NaiveDate) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Oppdrag")?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, h) in HEADINGS.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (i, r) in rows.iter().enumerate() {
        for (c, value) in cells(r, today).iter().enumerate() {
            sheet.write_string(i as u32 + 1, c as u16, value)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofit();
    book.save_to_buffer()
}

fn download(bytes: Vec<u8>, content_type: &str, filename: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(bytes)
}

pub(super) async fn board_csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<BoardParams>,
) -> HttpResponse {
    let (rows, today) = match board_rows(&req, &state, &params).await {
        Ok(r) => r,
        Err(refused) => return refused.response(),
    };
    match csv_bytes(&rows, today) {
        Ok(bytes) => download(bytes, "text/csv; charset=utf-8", "oppdrag.csv"),
        Err(e) => super::internal_error(&e),
    }
}

pub(super) async fn board_xlsx(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<BoardParams>,
) -> HttpResponse {
    let (rows, today) = match board_rows(&req, &state, &params).await {
        Ok(r) => r,
        Err(refused) => return refused.response(),
    };
    match xlsx_bytes(&rows, today) {
        Ok(bytes) => download(
            bytes,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "oppdrag.xlsx",
        ),
        Err(e) => super::internal_error(&e),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CalendarParams {
    token: Option<String>,
}

fn all_day(uid: String, date: NaiveDate, summary: String, description: Option<String>) -> Event {
    let mut e = Event::new();
    e.uid(&uid).all_day(date).summary(&summary);
    if let Some(d) = description {
        e.description(&d);
    }
    e.done()
}

/// `GET /calendar.ics`: steering-calendar items, the calendars printed in letters, and the next
/// deadline of every active assignment the caller may see.
pub(super) async fn calendar_ics(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<CalendarParams>,
) -> HttpResponse {
    let scope = match scope_of(&req, &state, params.token.as_deref()) {
        Ok(s) => s,
        Err(refused) => return refused.response(),
    };
    match build_calendar(&state, &scope).await {
        Ok(calendar) => HttpResponse::Ok()
            .content_type("text/calendar; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                "inline; filename=\"styringskalender.ics\"",
            ))
            .body(calendar.to_string()),
        Err(e) => super::internal_error(&e),
    }
}

async fn build_calendar(
    state: &AppState,
    scope: &Scope,
) -> Result<Calendar, styr_workflow::WorkflowError> {
    let workflow = &state.workflow;
    let mut calendar = Calendar::new();
    calendar.name("Styringskalender").timezone("Europe/Oslo");
    for id in workflow
        .store()
        .stream_ids(SteeringCalendarItem::STREAM_TYPE)
        .await?
    {
        let (item, _) = workflow.load::<SteeringCalendarItem>(&id).await?;
        if let Some(d) = item
            .details
            .filter(|d| scope.can_see(d.ministry.as_str(), d.agency.as_str()))
        {
            calendar.push(all_day(
                format!("calendar-{id}@styringsdialog"),
                d.date,
                format!("{} ({}–{})", d.title.as_str(), d.ministry, d.agency),
                None,
            ));
        }
    }
    for id in workflow
        .store()
        .stream_ids(AllocationLetter::STREAM_TYPE)
        .await?
    {
        let (letter, _) = workflow.load::<AllocationLetter>(&id).await?;
        let Some(d) = letter
            .details
            .filter(|d| scope.can_see(d.ministry.as_str(), d.agency.as_str()))
        else {
            continue;
        };
        for (item, entry) in &d.calendar {
            calendar.push(all_day(
                format!("letter-{id}-{item}@styringsdialog"),
                entry.date,
                format!("{} ({}–{})", entry.text.as_str(), d.ministry, d.agency),
                Some(format!("Styringskalender i tildelingsbrevet {id}")),
            ));
        }
    }
    let today = oslo_date(workflow.now());
    let query = BoardQuery {
        scope: scope.clone(),
        filter: BoardFilter::default(),
        sort: BoardSort::NextDeadline,
        descending: false,
        offset: 0,
        limit: MAX_ROWS,
        today,
    };
    for row in workflow.projections().board(&query).await?.rows {
        let Some(due) = row.next_deadline.filter(|_| row.lifecycle == "active") else {
            continue;
        };
        calendar.push(all_day(
            format!("deadline-{}@styringsdialog", row.assignment_id),
            due,
            format!(
                "Frist: {} {} ({})",
                row.reference.as_deref().unwrap_or("oppdrag"),
                row.title,
                row.agency
            ),
            None,
        ));
    }
    Ok(calendar.done())
}
