//! The pages: the board, an assignment with the forms its reader's role allows, and the audit
//! view of an assignment as of a date.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde_json::{Value, json};
use styr_workflow::domain::Role;

use super::{AppState, GqlError, Page, layout, query_map};

const STATUSES: [&str; 10] = [
    "issued",
    "in_progress_on_track",
    "in_progress_delayed",
    "awaiting_ministry",
    "blocked_external",
    "delivered",
    "completed",
    "transferred",
    "cancelled",
    "carried_over",
];
const LIGHTS: [&str; 3] = ["green", "yellow", "red"];
const PERIODS: [&str; 5] = [
    "TERTIAL_1",
    "TERTIAL_2",
    "HALF_YEAR_1",
    "HALF_YEAR_2",
    "YEAR",
];

/// The key of a GraphQL enum value (`IN_PROGRESS_DELAYED` → `st.in_progress_delayed`).
pub(super) fn status_key(s: &str) -> &'static str {
    let lower = s.to_ascii_lowercase();
    match STATUSES.iter().position(|k| *k == lower) {
        Some(0) => "st.issued",
        Some(1) => "st.in_progress_on_track",
        Some(2) => "st.in_progress_delayed",
        Some(3) => "st.awaiting_ministry",
        Some(4) => "st.blocked_external",
        Some(5) => "st.delivered",
        Some(6) => "st.completed",
        Some(7) => "st.transferred",
        Some(8) => "st.cancelled",
        Some(9) => "st.carried_over",
        _ => "status",
    }
}

fn light_key(l: &str) -> &'static str {
    match l.to_ascii_lowercase().as_str() {
        "green" => "green",
        "yellow" => "yellow",
        "red" => "red",
        _ => "traffic_light",
    }
}

pub(super) fn badge(page: &Page, light: &Value) -> Markup {
    html! {
        @if let Some(l) = light.as_str() {
            span class={"badge " (l.to_ascii_lowercase())} { (page.t(light_key(l))) }
        }
    }
}

pub(super) fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// A form's command refused by the API: the errors to show beside the form again (a field, a
/// rule or a conflict), or the page that answers anything else (forbidden, unavailable).
pub(super) fn form_refusal(
    page: Page,
    errors: Vec<GqlError>,
) -> Result<(Page, Vec<GqlError>), Box<HttpResponse>> {
    match errors[0].code.as_str() {
        "VALIDATION" | "RULE_VIOLATED" | "CONFLICT" => Ok((page, errors)),
        "FORBIDDEN" => Err(Box::new(page.message(
            StatusCode::FORBIDDEN,
            "forbidden",
            "forbidden.text",
        ))),
        _ => Err(Box::new(unavailable(page, &errors))),
    }
}

/// The page for a query the schema refused: sign in, not found (also what is outside the
/// reader's scope), forbidden (administrators read no steering documents), or unavailable.
pub(super) fn unavailable(page: Page, errors: &[GqlError]) -> HttpResponse {
    match errors.first().map(|e| e.code.as_str()) {
        Some("UNAUTHENTICATED") => page.redirect_to_login(),
        Some("NOT_FOUND") => page.message(StatusCode::NOT_FOUND, "not_found", "not_found.text"),
        Some("FORBIDDEN") => page.message(StatusCode::FORBIDDEN, "forbidden", "admin_no_pages"),
        _ => {
            tracing::warn!(?errors, "page could not be built");
            page.message(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "unavailable",
            )
        }
    }
}

/// Rows per board page; the next page is a link (the downloads hold every row).
const BOARD_PAGE: usize = 200;

const BOARD: &str = r#"query($filter: BoardFilterInput, $first: Int!, $after: String) {
  board(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    statusCounts { status count }
    nodes { id reference title ministry agency department status trafficLight nextDeadline deadlineToBeAgreed overdue }
  }
  referenceData { agencies { code name } departments { code name } }
}"#;

pub async fn board(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let page = Page::of(&req, &state);
    if page.identity.is_none() {
        return page.redirect_to_login();
    }
    let q = query_map(req.query_string());
    let get = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let status = get("status").filter(|s| STATUSES.contains(s));
    let light = get("traffic_light").filter(|l| LIGHTS.contains(l));
    let overdue = get("overdue") == Some("true");
    let mut filter = json!({});
    if let Some(a) = get("agency") {
        filter["agency"] = json!(a.to_uppercase());
    }
    if let Some(d) = get("department") {
        filter["department"] = json!(d.to_uppercase());
    }
    // A year that is not a number is left out, as an unknown status is.
    let year = get("year").and_then(|y| y.parse::<i32>().ok());
    if let Some(y) = year {
        filter["year"] = json!(y);
    }
    let year_text = year.map(|y| y.to_string());
    if let Some(g) = get("goal") {
        filter["goal"] = json!(g);
    }
    if let Some(t) = get("text") {
        filter["text"] = json!(t);
    }
    if let Some(s) = status {
        filter["statuses"] = json!([s.to_ascii_uppercase()]);
    }
    if let Some(l) = light {
        filter["trafficLight"] = json!(l.to_ascii_uppercase());
    }
    if overdue {
        filter["overdue"] = json!(true);
    }
    // The downloads and the page links take the same filters under the same names.
    let mut export = Vec::new();
    for (k, v) in [
        ("agency", get("agency")),
        ("department", get("department")),
        ("year", year_text.as_deref()),
        ("goal", get("goal")),
        ("text", get("text")),
        ("status", status),
        ("traffic_light", light),
        ("overdue", overdue.then_some("true")),
    ] {
        if let Some(v) = v {
            export.push(format!("{k}={}", urlencode(v)));
        }
    }
    let after = get("after");
    let variables = json!({ "filter": filter, "first": BOARD_PAGE, "after": after });
    let data = match page.graphql(&state, BOARD, variables).await {
        Ok(d) => d,
        // A page link that is not the board's own (edited, or from an older version): start
        // from the first page with the same filters.
        Err(e) if after.is_some() && e[0].code == "VALIDATION" => {
            return page.see_other(&format!("/?{}", export.join("&")));
        }
        Err(e) => return unavailable(page, &e),
    };
    let board = &data["board"];
    let next = board["pageInfo"]["endCursor"]
        .as_str()
        .filter(|_| board["pageInfo"]["hasNextPage"] == true)
        .map(|cursor| {
            let mut q = export.clone();
            q.push(format!("after={}", urlencode(cursor)));
            format!("/?{}", q.join("&"))
        });
    let first_page = after.map(|_| format!("/?{}", export.join("&")));
    let export = if export.is_empty() {
        String::new()
    } else {
        format!("?{}", export.join("&"))
    };
    let rows = board["nodes"].as_array().cloned().unwrap_or_default();
    let total = board["totalCount"].as_u64().unwrap_or(0);
    let body = layout::page(
        &page,
        page.t("board"),
        html! {
            h1 { (page.t("board")) }
            @if page.identity.as_ref().is_some_and(|i| i.actor.role == Role::Ministry) {
                p { a href="/assignments/new" { (page.t("new_assignment")) } }
            }
            form.filters method="get" action="/" role="search" {
                (code_filter(&page, "agency", "agency", get("agency"), &data["referenceData"]["agencies"]))
                (code_filter(&page, "department", "department", get("department"), &data["referenceData"]["departments"]))
                div {
                    label for="f-year" { (page.t("year")) }
                    input type="number" id="f-year" name="year" min="2000" max="2100"
                        value=(year_text.as_deref().unwrap_or(""));
                }
                div {
                    label for="f-goal" { (page.t("goal")) }
                    input type="text" id="f-goal" name="goal" size="6" value=(get("goal").unwrap_or(""));
                }
                div {
                    label for="f-text" { (page.t("search")) }
                    input type="search" id="f-text" name="text" value=(get("text").unwrap_or(""));
                }
                div {
                    label for="f-status" { (page.t("status")) }
                    select id="f-status" name="status" {
                        option value="" { (page.t("any")) }
                        @for st in STATUSES {
                            option value=(st) selected[status == Some(st)] { (page.t(status_key(st))) }
                        }
                    }
                }
                div {
                    label for="f-light" { (page.t("traffic_light")) }
                    select id="f-light" name="traffic_light" {
                        option value="" { (page.t("any")) }
                        @for l in LIGHTS {
                            option value=(l) selected[light == Some(l)] { (page.t(l)) }
                        }
                    }
                }
                div {
                    label for="f-overdue" { (page.t("only_overdue")) }
                    input type="checkbox" id="f-overdue" name="overdue" value="true" checked[overdue];
                }
                button type="submit" { (page.t("filter")) }
            }
            h2 { (page.t("counts")) }
            ul.counts {
                @for c in board["statusCounts"].as_array().into_iter().flatten() {
                    li { (page.t(status_key(s(&c["status"])))) ": " strong { (c["count"]) } }
                }
            }
            h2 { (page.t("assignments")) " (" (total) ")" }
            p.downloads {
                (page.t("downloads")) ": "
                a href={ "/board.csv" (export) } { "CSV" } " · "
                a href={ "/board.xlsx" (export) } { "Excel" }
            }
            @if (rows.len() as u64) < total {
                p.rule { (page.t("rows_shown")) " " (rows.len()) " / " (total) "." }
            }
            @if rows.is_empty() {
                p { (page.t("none")) }
            } @else {
                table {
                    (layout::column_heads(&page, &["reference", "title", "agency", "department", "status", "traffic_light", "next_deadline"]))
                    tbody {
                        @for r in &rows {
                            @let late = r["overdue"].as_bool().unwrap_or(false);
                            tr class=[late.then_some("overdue")] {
                                td { (s(&r["reference"])) }
                                td { a href={ "/assignments/" (s(&r["id"])) } { (s(&r["title"])) } }
                                td { (s(&r["agency"])) }
                                td { (s(&r["department"])) }
                                td { (page.t(status_key(s(&r["status"])))) }
                                td { (badge(&page, &r["trafficLight"])) }
                                td {
                                    @if let Some(d) = r["nextDeadline"].as_str() { (page.lang.date_str(d)) }
                                    @else if r["deadlineToBeAgreed"].as_bool() == Some(true) { (page.t("to_be_agreed")) }
                                    @if late { " " span.badge.overdue { (page.t("overdue")) } }
                                }
                            }
                        }
                    }
                }
            }
            @if next.is_some() || first_page.is_some() {
                nav.paging aria-label=(page.t("paging")) {
                    @if let Some(href) = &first_page { a href=(href) rel="first" { (page.t("first_page")) } " " }
                    @if let Some(href) = &next { a href=(href) rel="next" { (page.t("next_page")) } }
                }
            }
        },
    );
    page.respond(StatusCode::OK, body)
}

/// A filter on an organisation or department code: a list of the registered ones, or a text
/// field while reference data is empty.
fn code_filter(
    page: &Page,
    name: &'static str,
    label: &'static str,
    current: Option<&str>,
    known: &Value,
) -> Markup {
    let id = format!("f-{name}");
    let mut options: Vec<(String, String)> = known
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| (s(&o["code"]).to_owned(), s(&o["name"]).to_owned()))
        .collect();
    options.sort();
    options.dedup_by(|a, b| a.0 == b.0);
    let current = current.map(str::to_uppercase);
    if let Some(c) = &current
        && !options.is_empty()
        && !options.iter().any(|(code, _)| code == c)
    {
        options.push((c.clone(), c.clone()));
    }
    html! {
        div {
            label for=(id) { (page.t(label)) }
            @if options.is_empty() {
                input type="text" id=(id) name=(name) size="8" value=(current.as_deref().unwrap_or(""));
            } @else {
                select id=(id) name=(name) {
                    option value="" { (page.t("any")) }
                    @for (code, full) in &options {
                        option value=(code) selected[current.as_deref() == Some(code.as_str())] {
                            (code) @if full != code { " – " (full) }
                        }
                    }
                }
            }
        }
    }
}

pub(super) fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

const ASSIGNMENT: &str = r#"query($id: ID!) { assignment(id: $id) {
  id reference title description year ministry agency department goal lifecycle
  parts { label title deadline deadlineToBeAgreed delivery }
  statusReports { period trafficLight progress causeAndConsequence correctiveAction by at }
  deliveries { part summary documentRef deliveredOn deadlineInForce late by }
  pendingExtension { id part currentDate newDate reason by }
  timeline { recordedAt effectiveAt eventType reason actor { name role organisation } }
}
  referenceData { agencies { code name } } }"#;

/// A form that failed: which one, what was entered, and what was wrong.
#[derive(Default)]
struct Failed {
    action: String,
    values: HashMap<String, String>,
    errors: Vec<GqlError>,
}

pub async fn assignment(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let page = Page::of(&req, &state);
    if page.identity.is_none() {
        return page.redirect_to_login();
    }
    render_assignment(&state, page, &id, None).await
}

async fn render_assignment(
    state: &AppState,
    page: Page,
    id: &str,
    failed: Option<Failed>,
) -> HttpResponse {
    let data = match page.graphql(state, ASSIGNMENT, json!({ "id": id })).await {
        Ok(d) => d,
        Err(e) => return unavailable(page, &e),
    };
    let a = &data["assignment"];
    let role = page.identity.as_ref().map(|i| i.actor.role);
    let status = if failed.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let failed = failed.unwrap_or_default();
    let title = s(&a["title"]).to_owned();
    let today = styr_workflow::domain::oslo_date(state.workflow.now())
        .format("%Y-%m-%d")
        .to_string();
    let forms = match (a["lifecycle"] == "active", role) {
        (true, Some(Role::Agency)) => agency_forms(&page, a, &failed),
        (true, Some(Role::Ministry)) => ministry_forms(
            &page,
            a,
            &data["referenceData"]["agencies"],
            &today,
            &failed,
        ),
        _ => html! {},
    };
    // The summary links to the refused form when it is still offered; it may not be (someone
    // else acted meanwhile), and then the summary alone says what was refused.
    let form_shown = forms.0.contains(&format!(r#"id="form-{}""#, failed.action));
    let body = layout::page(
        &page,
        &title,
        html! {
            p { a href="/" { (page.t("back_to_board")) } }
            h1 { @if let Some(r) = a["reference"].as_str() { (r) " – " } (title) }
            @if !failed.errors.is_empty() {
                div.errors role="alert" {
                    p.error {
                        (page.t("errors")) ": "
                        @if form_shown {
                            a href={ "#form-" (failed.action) } { (page.lang.t(action_key(&failed.action))) }
                        } @else {
                            (page.lang.t(action_key(&failed.action)))
                        }
                    }
                    ul { @for e in &failed.errors { li { (e.message) } } }
                }
            }
            (facts(&page, a))
            @if role == Some(Role::Auditor) {
                p { a href={ "/audit/assignments/" (s(&a["id"])) } { (page.t("audit_link")) } }
            }
            h2 { (page.t("parts")) }
            table {
                (layout::column_heads(&page, &["part", "deadline", "delivery"]))
                tbody {
                    @for p in a["parts"].as_array().into_iter().flatten() {
                        tr {
                            td { (s(&p["label"])) " " (s(&p["title"])) }
                            td {
                                @if let Some(d) = p["deadline"].as_str() { (page.lang.date_str(d)) }
                                @else if p["deadlineToBeAgreed"].as_bool() == Some(true) { (page.t("to_be_agreed")) }
                                @else { "–" }
                            }
                            td { (page.t(delivery_key(s(&p["delivery"])))) }
                        }
                    }
                }
            }
            @if let Some(x) = a["pendingExtension"].as_object() {
                h2 { (page.t("pending_extension")) }
                dl.facts {
                    dt { (page.t("part")) } dd { (x.get("part").and_then(Value::as_str).unwrap_or("–")) }
                    dt { (page.t("current_date")) } dd { (page.lang.date_str(s(&x["currentDate"]))) }
                    dt { (page.t("new_date")) } dd { (page.lang.date_str(s(&x["newDate"]))) }
                    dt { (page.t("reason")) } dd { (s(&x["reason"])) }
                    dt { (page.t("by")) } dd { (s(&x["by"])) }
                }
            }
            h2 { (page.t("reports")) }
            @let reports = a["statusReports"].as_array().cloned().unwrap_or_default();
            @if reports.is_empty() { p { (page.t("no_reports")) } } @else {
                table {
                    (layout::column_heads(&page, &["period", "traffic_light", "progress", "cause", "corrective", "by"]))
                    tbody { @for r in &reports { tr {
                        td { (period_label(&page, s(&r["period"]))) }
                        td { (badge(&page, &r["trafficLight"])) }
                        td { (s(&r["progress"])) }
                        td { (s(&r["causeAndConsequence"])) }
                        td { (s(&r["correctiveAction"])) }
                        td { (s(&r["by"])) br; span.muted { (page.lang.time_str(s(&r["at"]))) } }
                    } } }
                }
            }
            h2 { (page.t("deliveries")) }
            @let deliveries = a["deliveries"].as_array().cloned().unwrap_or_default();
            @if deliveries.is_empty() { p { (page.t("no_deliveries")) } } @else {
                table {
                    (layout::column_heads(&page, &["part", "summary", "document_ref", "delivered_on", "by"]))
                    tbody { @for d in &deliveries { tr {
                        td { (s(&d["part"])) }
                        td { (s(&d["summary"])) }
                        td { (s(&d["documentRef"])) }
                        td { (page.lang.date_str(s(&d["deliveredOn"])))
                             @if d["late"].as_bool() == Some(true) { " " span.badge.overdue { (page.t("late")) } } }
                        td { (s(&d["by"])) }
                    } } }
                }
            }
            (forms)
            h2 { (page.t("timeline")) }
            table {
                (layout::column_heads(&page, &["when", "what", "by", "why"]))
                tbody { @for e in a["timeline"].as_array().into_iter().flatten() { tr {
                    td { (page.lang.time_str(s(&e["recordedAt"])))
                         @if e["effectiveAt"] != e["recordedAt"] { br; span.muted { "(" (page.lang.time_str(s(&e["effectiveAt"]))) ")" } } }
                    td { (page.lang.event(s(&e["eventType"]))) }
                    td { (s(&e["actor"]["name"])) " (" (s(&e["actor"]["organisation"])) ")" }
                    td { (s(&e["reason"])) }
                } } }
            }
        },
    );
    page.respond(status, body)
}

fn action_key(action: &str) -> &'static str {
    match action {
        "report_status" => "report_status",
        "request_extension" => "request_extension",
        "deliver" => "deliver",
        "grant_extension" => "grant_extension",
        "reject_extension" => "reject_extension",
        "accept_delivery" => "accept_delivery",
        "return_delivery" => "return_delivery",
        "cancel_assignment" => "cancel_assignment",
        "agree_deadline" => "agree_deadline",
        "change_deadline" => "change_deadline",
        "amend_assignment" => "amend_assignment",
        "complete_assignment" => "complete_assignment",
        "transfer_assignment" => "transfer_assignment",
        "carry_over_assignment" => "carry_over_assignment",
        "correct_status" => "correct_status",
        _ => "actions",
    }
}

pub(super) fn delivery_key(d: &str) -> &'static str {
    match d {
        "awaiting_review" => "dl.awaiting_review",
        "returned" => "dl.returned",
        "accepted" => "dl.accepted",
        _ => "dl.not_delivered",
    }
}

pub(super) fn facts(page: &Page, a: &Value) -> Markup {
    html! {
        dl.facts {
            dt { (page.t("ministry")) } dd { (s(&a["ministry"])) }
            dt { (page.t("agency")) } dd { (s(&a["agency"])) }
            @if let Some(d) = a["department"].as_str() { dt { (page.t("department")) } dd { (d) } }
            dt { (page.t("year")) } dd { (a["year"]) }
            @if let Some(g) = a["goal"].as_str() { dt { (page.t("goal")) } dd { (g) } }
            dt { (page.t("lifecycle")) } dd { (page.t(lifecycle_key(s(&a["lifecycle"])))) }
            dt { (page.t("description")) } dd { (s(&a["description"])) }
        }
    }
}

/// A form posting `action`, with the CSRF field, a fresh command id (so a resubmitted form acts
/// once), and this form's errors.
fn action_form(
    page: &Page,
    id: &str,
    action: &'static str,
    failed: &Failed,
    fields: Markup,
) -> Markup {
    let mine = failed.action == action;
    let command_id = if mine {
        failed
            .values
            .get("command_id")
            .cloned()
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
    } else {
        uuid::Uuid::now_v7().to_string()
    };
    html! {
        form.action method="post" action={ "/assignments/" (id) "/" (action) } id={ "form-" (action) } {
            h3 { (page.t(action)) }
            @if mine {
                div.errors role="alert" {
                    p.error { (page.t("errors")) }
                    ul { @for e in &failed.errors { li { (e.message) } } }
                }
            }
            (page.csrf_field())
            input type="hidden" name="command_id" value=(command_id);
            (fields)
            button type="submit" { (page.t(action)) }
        }
    }
}

/// The value entered in `name` of `action`'s form if it failed, else empty.
fn kept<'a>(failed: &'a Failed, action: &str, name: &str) -> &'a str {
    if failed.action == action {
        failed.values.get(name).map(String::as_str).unwrap_or("")
    } else {
        ""
    }
}

fn has_error(failed: &Failed, action: &str, name: &str) -> bool {
    failed.action == action
        && failed
            .errors
            .iter()
            .any(|e| e.form_field().as_deref() == Some(name))
}

fn field_error(failed: &Failed, action: &str, name: &str) -> Markup {
    html! {
        @if failed.action == action {
            @for e in failed.errors.iter().filter(|e| e.form_field().as_deref() == Some(name)) {
                span.error id={ (action) "-" (name) "-error" } { (e.message) }
            }
        }
    }
}

fn text(
    page: &Page,
    failed: &Failed,
    action: &'static str,
    name: &'static str,
    label: &'static str,
    area: bool,
) -> Markup {
    let id = format!("{action}-{name}");
    let invalid = has_error(failed, action, name);
    let described = invalid.then(|| format!("{action}-{name}-error"));
    html! {
        div {
            label for=(id) { (page.t(label)) }
            (field_error(failed, action, name))
            @if area {
                textarea id=(id) name=(name) aria-invalid=[invalid.then_some("true")]
                    aria-describedby=[described.as_deref()] { (kept(failed, action, name)) }
            } @else {
                input type="text" id=(id) name=(name) value=(kept(failed, action, name))
                    aria-invalid=[invalid.then_some("true")] aria-describedby=[described.as_deref()];
            }
        }
    }
}

/// The part labels of the parts `keep` accepts, as a list; nothing for an assignment whose one
/// part has no label (the command then names no part).
fn part_select(
    page: &Page,
    a: &Value,
    failed: &Failed,
    action: &'static str,
    keep: impl Fn(&Value) -> bool,
) -> Markup {
    let labels: Vec<&str> = a["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| keep(p))
        .filter_map(|p| p["label"].as_str())
        .collect();
    let id = format!("{action}-part");
    let chosen = kept(failed, action, "part");
    html! {
        @if !labels.is_empty() {
            div {
                label for=(id) { (page.t("part")) }
                (field_error(failed, action, "part"))
                select id=(id) name="part" {
                    @for l in labels { option value=(l) selected[chosen == l] { (l) } }
                }
            }
        }
    }
}

/// A labelled date input; `default` for a fresh form. The handler checks the date first (see
/// [`bad_dates`]), so a malformed one gets its error here.
fn date_field(
    page: &Page,
    failed: &Failed,
    action: &'static str,
    name: &'static str,
    label: &'static str,
    default: &str,
) -> Markup {
    let id = format!("{action}-{name}");
    let invalid = has_error(failed, action, name);
    let value = if failed.action == action {
        kept(failed, action, name)
    } else {
        default
    };
    html! {
        div {
            label for=(id) { (page.t(label)) }
            (field_error(failed, action, name))
            input type="date" id=(id) name=(name) value=(value)
                aria-invalid=[invalid.then_some("true")]
                aria-describedby=[invalid.then(|| format!("{id}-error"))];
        }
    }
}

/// A labelled list of (value, label) choices.
fn choice(
    page: &Page,
    failed: &Failed,
    action: &'static str,
    name: &'static str,
    label: &'static str,
    options: &[(String, String)],
) -> Markup {
    let id = format!("{action}-{name}");
    let chosen = kept(failed, action, name);
    let invalid = has_error(failed, action, name);
    html! {
        div {
            label for=(id) { (page.t(label)) }
            (field_error(failed, action, name))
            select id=(id) name=(name) aria-invalid=[invalid.then_some("true")]
                aria-describedby=[invalid.then(|| format!("{id}-error"))] {
                @for (v, l) in options { option value=(v) selected[chosen == v] { (l) } }
            }
        }
    }
}

/// The fields of a status report, for reporting one or correcting one of `periods`.
fn report_fields(
    page: &Page,
    failed: &Failed,
    act: &'static str,
    periods: &[(String, String)],
) -> Markup {
    let lights: Vec<(String, String)> = LIGHTS
        .iter()
        .map(|l| ((*l).to_owned(), page.t(l).to_owned()))
        .collect();
    html! {
        p.rule { (page.t("rule.yellow_red")) }
        (choice(page, failed, act, "period", "period", periods))
        (choice(page, failed, act, "traffic_light", "traffic_light", &lights))
        (text(page, failed, act, "progress", "progress", true))
        (text(page, failed, act, "cause_and_consequence", "cause", true))
        (text(page, failed, act, "corrective_action", "corrective", true))
        (text(page, failed, act, "year_end_phrase", "year_end_phrase", false))
    }
}

/// A report's period as the API names it (`Tertial1`, `Date(2024-05-01)`) as the form's value
/// (`TERTIAL_1`, `DATE:2024-05-01`); see [`period_input`].
fn period_value(p: &str) -> String {
    match p {
        "Tertial1" => "TERTIAL_1".into(),
        "Tertial2" => "TERTIAL_2".into(),
        "HalfYear1" => "HALF_YEAR_1".into(),
        "HalfYear2" => "HALF_YEAR_2".into(),
        "Year" => "YEAR".into(),
        other => match other
            .strip_prefix("Date(")
            .and_then(|d| d.strip_suffix(')'))
        {
            Some(d) => format!("DATE:{d}"),
            None => other.to_owned(),
        },
    }
}

/// The `PeriodInput` for a form's period value.
fn period_input(v: Option<String>) -> Value {
    match v.as_deref().and_then(|v| v.strip_prefix("DATE:")) {
        Some(d) => json!({ "kind": "DATE", "date": d }),
        None => json!({ "kind": v.unwrap_or_else(|| "YEAR".into()) }),
    }
}

fn agency_forms(page: &Page, a: &Value, failed: &Failed) -> Markup {
    let id = s(&a["id"]);
    let periods: Vec<(String, String)> = PERIODS
        .iter()
        .map(|p| ((*p).to_owned(), page.t(period_key(p)).to_owned()))
        .collect();
    // Only a period already reported on can be corrected: its latest report.
    let mut reported: Vec<(String, String)> = Vec::new();
    for r in a["statusReports"].as_array().into_iter().flatten() {
        let p = s(&r["period"]);
        let value = period_value(p);
        if !reported.iter().any(|(v, _)| *v == value) {
            reported.push((value, period_label(page, p)));
        }
    }
    html! {
        h2 { (page.t("actions")) }
        (action_form(page, id, "report_status", failed, report_fields(page, failed, "report_status", &periods)))
        @if !reported.is_empty() {
            (action_form(page, id, "correct_status", failed, html! {
                p.rule { (page.t("correct_status.help")) }
                (report_fields(page, failed, "correct_status", &reported))
                (text(page, failed, "correct_status", "reason", "reason", true))
            }))
        }
        @if a["pendingExtension"].is_null() {
            (action_form(page, id, "request_extension", failed, html! {
                (part_select(page, a, failed, "request_extension", |_| true))
                (date_field(page, failed, "request_extension", "new_date", "new_date", ""))
                (text(page, failed, "request_extension", "reason", "reason", true))
            }))
        }
        (action_form(page, id, "deliver", failed, html! {
            (part_select(page, a, failed, "deliver", |_| true))
            (text(page, failed, "deliver", "summary", "summary", true))
            (text(page, failed, "deliver", "document_ref", "document_ref", false))
        }))
    }
}

pub(super) fn lifecycle_key(l: &str) -> &'static str {
    match l {
        "active" => "lc.active",
        "completed" => "lc.completed",
        "cancelled" => "lc.cancelled",
        "carried_over" => "lc.carried_over",
        _ => "lifecycle",
    }
}

/// A report's period as the API names it (`Tertial1`, `HalfYear2`, `Year`, `Date(2024-05-01)`).
fn period_label(page: &Page, p: &str) -> String {
    let key = match p {
        "Tertial1" => "TERTIAL_1",
        "Tertial2" => "TERTIAL_2",
        "HalfYear1" => "HALF_YEAR_1",
        "HalfYear2" => "HALF_YEAR_2",
        "Year" => "YEAR",
        other => {
            return match other
                .strip_prefix("Date(")
                .and_then(|d| d.strip_suffix(')'))
            {
                Some(d) => format!("{} {}", page.t("as_of"), page.lang.date_str(d)),
                None => other.to_owned(),
            };
        }
    };
    page.t(period_key(key)).to_owned()
}

pub(super) fn period_key(p: &str) -> &'static str {
    match p {
        "TERTIAL_1" => "p.TERTIAL_1",
        "TERTIAL_2" => "p.TERTIAL_2",
        "HALF_YEAR_1" => "p.HALF_YEAR_1",
        "HALF_YEAR_2" => "p.HALF_YEAR_2",
        _ => "p.YEAR",
    }
}

/// The ministry's forms; `agencies` are the registered ones, `today` the Oslo date a transfer
/// takes effect on unless another is chosen.
fn ministry_forms(
    page: &Page,
    a: &Value,
    agencies: &Value,
    today: &str,
    failed: &Failed,
) -> Markup {
    let id = s(&a["id"]);
    let pending = a["pendingExtension"].as_object();
    let awaiting = |p: &Value| p["delivery"] == "awaiting_review";
    let parts: Vec<&Value> = a["parts"].as_array().into_iter().flatten().collect();
    let any_awaiting = parts.iter().any(|p| awaiting(p));
    let to_be_agreed = |p: &Value| p["deadlineToBeAgreed"] == true;
    let terms = [
        ("date", "term.date"),
        ("to_be_agreed", "to_be_agreed"),
        ("none", "no_deadline"),
    ]
    .map(|(v, l)| (v.to_owned(), page.t(l).to_owned()));
    // Registered agencies other than the one responsible now; a text field while none are.
    let current = s(&a["agency"]);
    let mut others: Vec<(String, String)> = agencies
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| (s(&o["code"]), s(&o["name"])))
        .filter(|(code, _)| *code != current)
        .map(|(code, name)| (code.to_owned(), format!("{code} – {name}")))
        .collect();
    others.sort();
    // Shown only for an active assignment (see the caller), which the ministry may cancel.
    html! {
        h2 { (page.t("actions")) }
        @if let Some(x) = pending {
            @let request = x.get("id").and_then(Value::as_str).unwrap_or("");
            (action_form(page, id, "grant_extension", failed, html! {
                input type="hidden" name="request_id" value=(request);
            }))
            (action_form(page, id, "reject_extension", failed, html! {
                input type="hidden" name="request_id" value=(request);
                (text(page, failed, "reject_extension", "reason", "reason", true))
            }))
        }
        @if any_awaiting {
            (action_form(page, id, "accept_delivery", failed, html! {
                (part_select(page, a, failed, "accept_delivery", awaiting))
            }))
            (action_form(page, id, "return_delivery", failed, html! {
                (part_select(page, a, failed, "return_delivery", awaiting))
                (text(page, failed, "return_delivery", "reason", "reason", true))
            }))
        }
        @if parts.iter().any(|p| to_be_agreed(p)) {
            (action_form(page, id, "agree_deadline", failed, html! {
                (part_select(page, a, failed, "agree_deadline", to_be_agreed))
                (date_field(page, failed, "agree_deadline", "date", "deadline", ""))
                (text(page, failed, "agree_deadline", "reason", "reason", true))
            }))
        }
        (action_form(page, id, "change_deadline", failed, html! {
            (part_select(page, a, failed, "change_deadline", |_| true))
            (choice(page, failed, "change_deadline", "term", "new_date", &terms))
            (date_field(page, failed, "change_deadline", "date", "date", ""))
            (text(page, failed, "change_deadline", "reason", "reason", true))
        }))
        (action_form(page, id, "amend_assignment", failed, html! {
            p.rule { (page.t("amend.help")) }
            (text(page, failed, "amend_assignment", "title", "new_title", false))
            (text(page, failed, "amend_assignment", "description", "new_description", true))
            (text(page, failed, "amend_assignment", "reason", "reason", true))
        }))
        // A delivery awaiting review is accepted or returned before the assignment completes.
        @if !any_awaiting {
            (action_form(page, id, "complete_assignment", failed, html! {
                (text(page, failed, "complete_assignment", "note", "note", true))
            }))
        }
        (action_form(page, id, "transfer_assignment", failed, html! {
            @if others.is_empty() {
                (text(page, failed, "transfer_assignment", "to_agency", "to_agency", false))
            } @else {
                (choice(page, failed, "transfer_assignment", "to_agency", "to_agency", &others))
            }
            (date_field(page, failed, "transfer_assignment", "effective", "effective_from", today))
            (text(page, failed, "transfer_assignment", "reason", "reason", true))
        }))
        (action_form(page, id, "carry_over_assignment", failed, html! {
            p.rule { (page.t("carry_over.help")) }
            (text(page, failed, "carry_over_assignment", "new_reference", "new_reference", false))
            (text(page, failed, "carry_over_assignment", "reason", "reason", true))
        }))
        (action_form(page, id, "cancel_assignment", failed, html! {
            (text(page, failed, "cancel_assignment", "reason", "reason", true))
        }))
    }
}

/// The GraphQL mutation and variables an action runs; `None` for an unknown action.
fn mutation(action: &str, id: &str, f: &HashMap<String, String>) -> Option<(&'static str, Value)> {
    let opt = |k: &str| {
        f.get(k)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let req = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    // A form's reason is also the command's "why", kept with every event it writes (and shown
    // in the timeline), not only inside the event where the domain wants it.
    let options = json!({ "commandId": opt("command_id"), "reason": opt("reason") });
    let base = json!({ "id": id, "options": options, "part": opt("part") });
    let report = json!({
        "period": period_input(opt("period")),
        "trafficLight": opt("traffic_light").unwrap_or_default().to_ascii_uppercase(),
        "progress": req("progress"),
        "causeAndConsequence": opt("cause_and_consequence"),
        "correctiveAction": opt("corrective_action"),
        "yearEndPhrase": opt("year_end_phrase"),
    });
    let with = |mut v: Value, extra: Value| {
        for (k, x) in extra.as_object().into_iter().flatten() {
            v[k] = x.clone();
        }
        v
    };
    Some(match action {
        "report_status" => (
            r#"mutation($id: ID!, $input: ReportStatusInput!, $options: CommandOptions) {
                reportStatus(id: $id, input: $input, options: $options) { position } }"#,
            json!({ "id": id, "options": options, "input": report }),
        ),
        "correct_status" => (
            r#"mutation($id: ID!, $input: ReportStatusInput!, $reason: String!, $options: CommandOptions) {
                correctStatus(id: $id, input: $input, reason: $reason, options: $options) { position } }"#,
            json!({ "id": id, "options": options, "input": report, "reason": req("reason") }),
        ),
        "request_extension" => (
            r#"mutation($id: ID!, $part: String, $newDate: Date!, $reason: String!, $options: CommandOptions) {
                requestExtension(id: $id, part: $part, newDate: $newDate, reason: $reason, options: $options) { position } }"#,
            with(
                base,
                json!({ "newDate": opt("new_date"), "reason": req("reason") }),
            ),
        ),
        "deliver" => (
            r#"mutation($id: ID!, $input: DeliverInput!, $options: CommandOptions) {
                deliver(id: $id, input: $input, options: $options) { position } }"#,
            json!({ "id": id, "options": options, "input": {
                "part": opt("part"), "summary": req("summary"), "documentRef": opt("document_ref"),
            } }),
        ),
        "grant_extension" => (
            r#"mutation($id: ID!, $requestId: ID!, $options: CommandOptions) {
                grantExtension(id: $id, requestId: $requestId, options: $options) { position } }"#,
            json!({ "id": id, "options": options, "requestId": req("request_id") }),
        ),
        "reject_extension" => (
            r#"mutation($id: ID!, $requestId: ID!, $reason: String!, $options: CommandOptions) {
                rejectExtension(id: $id, requestId: $requestId, reason: $reason, options: $options) { position } }"#,
            json!({ "id": id, "options": options, "requestId": req("request_id"), "reason": req("reason") }),
        ),
        "accept_delivery" => (
            r#"mutation($id: ID!, $part: String, $options: CommandOptions) {
                acceptDelivery(id: $id, part: $part, options: $options) { position } }"#,
            base,
        ),
        "cancel_assignment" => (
            r#"mutation($id: ID!, $reason: String!, $options: CommandOptions) {
                cancelAssignment(id: $id, reason: $reason, options: $options) { position } }"#,
            json!({ "id": id, "options": options, "reason": req("reason") }),
        ),
        "return_delivery" => (
            r#"mutation($id: ID!, $part: String, $reason: String!, $options: CommandOptions) {
                returnDelivery(id: $id, part: $part, reason: $reason, options: $options) { position } }"#,
            with(base, json!({ "reason": req("reason") })),
        ),
        "agree_deadline" => (
            r#"mutation($id: ID!, $part: String, $date: Date!, $options: CommandOptions) {
                agreeDeadline(id: $id, part: $part, date: $date, options: $options) { position } }"#,
            with(base, json!({ "date": opt("date") })),
        ),
        "change_deadline" => {
            let term = opt("term").unwrap_or_else(|| "date".into());
            let date = if term == "date" { opt("date") } else { None };
            (
                r#"mutation($id: ID!, $part: String, $date: Date, $toBeAgreed: Boolean!, $options: CommandOptions) {
                    changeDeadline(id: $id, part: $part, date: $date, toBeAgreed: $toBeAgreed, options: $options) { position } }"#,
                with(
                    base,
                    json!({ "date": date, "toBeAgreed": term == "to_be_agreed" }),
                ),
            )
        }
        "amend_assignment" => (
            r#"mutation($id: ID!, $title: String, $description: String, $options: CommandOptions) {
                amendAssignment(id: $id, title: $title, description: $description, options: $options) { position } }"#,
            json!({ "id": id, "options": options, "title": opt("title"), "description": opt("description") }),
        ),
        "complete_assignment" => (
            // The note is the completion's "why" as well.
            r#"mutation($id: ID!, $note: String, $options: CommandOptions) {
                completeAssignment(id: $id, note: $note, options: $options) { position } }"#,
            json!({ "id": id, "note": opt("note"),
                    "options": { "commandId": opt("command_id"), "reason": opt("note") } }),
        ),
        "transfer_assignment" => (
            r#"mutation($id: ID!, $toAgency: String!, $reason: String!, $effective: Date!, $options: CommandOptions) {
                transferAssignment(id: $id, toAgency: $toAgency, reason: $reason, effective: $effective, options: $options) { position } }"#,
            json!({ "id": id, "options": options, "toAgency": req("to_agency").to_uppercase(),
                    "reason": req("reason"), "effective": opt("effective") }),
        ),
        "carry_over_assignment" => (
            // Answers with the new assignment, where the page goes next.
            r#"mutation($id: ID!, $newReference: String, $reason: String!, $options: CommandOptions) {
                carryOverAssignment(id: $id, newReference: $newReference, reason: $reason, options: $options) {
                    assignment { id } position } }"#,
            json!({ "id": id, "options": options, "newReference": opt("new_reference"),
                    "reason": req("reason") }),
        ),
        _ => return None,
    })
}

/// The date fields of `action`'s form that do not parse. A date that does not parse fails as a
/// GraphQL argument, before any resolver, without a field name; checking here lets the form
/// say which field.
fn bad_dates(action: &str, form: &HashMap<String, String>) -> Vec<&'static str> {
    let required: &[&'static str] = match action {
        "request_extension" => &["new_date"],
        "agree_deadline" => &["date"],
        "transfer_assignment" => &["effective"],
        "change_deadline" if form.get("term").is_none_or(|t| t == "date") => &["date"],
        _ => &[],
    };
    required
        .iter()
        .copied()
        .filter(|f| {
            form.get(*f)
                .is_none_or(|d| chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").is_err())
        })
        .collect()
}

pub async fn assignment_action(
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
    let form = form.into_inner();
    let Some((document, variables)) = mutation(&action, &id, &form) else {
        return page.message(StatusCode::NOT_FOUND, "not_found", "not_found.text");
    };
    let bad = bad_dates(&action, &form);
    let result = if bad.is_empty() {
        page.graphql(&state, document, variables).await
    } else {
        Err(bad
            .into_iter()
            .map(|field| GqlError {
                code: "VALIDATION".into(),
                field: Some(field.into()),
                message: page.t("bad_date").into(),
            })
            .collect())
    };
    match result {
        // Carrying over answers with the new assignment; every other action with this one.
        Ok(data) => {
            let next = data
                .as_object()
                .and_then(|d| d.values().next())
                .and_then(|r| r["assignment"]["id"].as_str())
                .unwrap_or(&id);
            page.see_other(&format!("/assignments/{next}"))
        }
        Err(errors) => match errors[0].code.as_str() {
            // Commands on an assignment outside the reader's scope are refused as FORBIDDEN (or
            // NOT_FOUND); the page says "not found" for those, as reads do, so ids cannot be
            // probed. On one the reader sees, "not found" is about the form (a part, a period
            // without a report) and goes beside it.
            code @ ("FORBIDDEN" | "NOT_FOUND") => {
                let visible = page
                    .graphql(
                        &state,
                        "query($id: ID!) { assignment(id: $id) { id } }",
                        json!({ "id": id }),
                    )
                    .await;
                match visible {
                    Ok(_) if code == "NOT_FOUND" => {
                        let failed = Failed {
                            action,
                            values: form,
                            errors,
                        };
                        render_assignment(&state, page, &id, Some(failed)).await
                    }
                    Ok(_) => page.message(StatusCode::FORBIDDEN, "forbidden", "forbidden.text"),
                    Err(e) => unavailable(page, &e),
                }
            }
            "VALIDATION" | "RULE_VIOLATED" | "CONFLICT" => {
                let failed = Failed {
                    action,
                    values: form,
                    errors,
                };
                render_assignment(&state, page, &id, Some(failed)).await
            }
            _ => unavailable(page, &errors),
        },
    }
}

const AUDIT: &str = r#"query($id: ID!, $asOf: DateTime!, $effectiveBy: DateTime) {
  assignmentAsOf(id: $id, asOf: $asOf, effectiveBy: $effectiveBy) { id reference title description year ministry agency department goal lifecycle
    parts { label title deadline deadlineToBeAgreed delivery } }
  decisionTrail(assignmentId: $id, asOf: $asOf) {
    recordedAt effectiveAt reason kind part deadlineBefore deadlineAfter source detail
    actor { name role organisation } }
}"#;

/// A deadline as the decision trail words it: a date, `to be agreed` or `no deadline`.
pub(super) fn deadline_term(page: &Page, t: &str) -> String {
    match t {
        "to be agreed" => page.t("to_be_agreed").to_owned(),
        "no deadline" => page.t("no_deadline").to_owned(),
        other => page.lang.date_str(other),
    }
}

/// The end of an Oslo calendar day, as the instant "as of that date" means.
pub(super) fn end_of_oslo_day(d: chrono::NaiveDate) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone;
    let next = d.succ_opt()?.and_hms_opt(0, 0, 0)?;
    let start = chrono_tz::Europe::Oslo
        .from_local_datetime(&next)
        .earliest()?;
    Some(start.with_timezone(&chrono::Utc) - chrono::Duration::microseconds(1))
}

/// The audit view: the assignment as the log knew it at the end of an Oslo date, and its
/// decision trail up to then. Linked for auditors; the schema decides who may read it.
pub async fn audit(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let page = Page::of(&req, &state);
    if page.identity.is_none() {
        return page.redirect_to_login();
    }
    let q = query_map(req.query_string());
    let today = styr_workflow::domain::oslo_date(state.workflow.now());
    let chosen = q
        .get("as_of")
        .and_then(|d| chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok());
    let bad_date = q.get("as_of").is_some_and(|d| !d.is_empty()) && chosen.is_none();
    let date = chosen.unwrap_or(today);
    let Some(as_of) = end_of_oslo_day(date) else {
        return page.message(StatusCode::NOT_FOUND, "not_found", "not_found.text");
    };
    // The effective axis (optional): only what had taken effect by the end of that day. The
    // decision trail has no such narrowing in the schema; it stays on the recorded axis.
    let effective = q
        .get("effective_by")
        .map(|d| d.trim())
        .filter(|d| !d.is_empty());
    let effective_date =
        effective.and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let bad_effective = effective.is_some() && effective_date.is_none();
    let effective_by = effective_date.and_then(end_of_oslo_day);
    let variables = json!({ "id": id.as_str(), "asOf": as_of.to_rfc3339(),
        "effectiveBy": effective_by.map(|t| t.to_rfc3339()) });
    let result = page.graphql(&state, AUDIT, variables).await;
    // An assignment that did not exist yet on the date is "not found" for that date only.
    let (a, trail) = match result {
        Ok(d) => (d["assignmentAsOf"].clone(), d["decisionTrail"].clone()),
        Err(e) if e[0].code == "NOT_FOUND" && e[0].message.contains("did not exist then") => {
            (Value::Null, json!([]))
        }
        Err(e) => return unavailable(page, &e),
    };
    let heading = format!("{} – {}", page.t("audit"), page.lang.date(date));
    let body = layout::page(
        &page,
        &heading,
        html! {
            p { a href={ "/assignments/" (id.as_str()) } { (page.t("back_to_assignment")) } }
            h1 { (heading) }
            form.filters method="get" action={ "/audit/assignments/" (id.as_str()) } {
                div {
                    label for="as_of" { (page.t("as_of")) }
                    @if bad_date { span.error { (page.t("bad_date")) } }
                    input type="date" id="as_of" name="as_of" value=(date.format("%Y-%m-%d"));
                }
                div {
                    label for="effective_by" { (page.t("effective_by")) }
                    @if bad_effective { span.error { (page.t("bad_date")) } }
                    input type="date" id="effective_by" name="effective_by"
                        value=(effective_date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default());
                }
                button type="submit" { (page.t("show")) }
            }
            p { a href={ "/audit/assignments/" (id.as_str()) "/diff" } { (page.t("diff")) } }
            @if a.is_null() {
                p { (page.t("not_yet")) }
            } @else {
                h2 { @if let Some(r) = a["reference"].as_str() { (r) " – " } (s(&a["title"])) }
                (facts(&page, &a))
                h3 { (page.t("parts")) }
                table {
                    (layout::column_heads(&page, &["part", "deadline", "delivery"]))
                    tbody { @for p in a["parts"].as_array().into_iter().flatten() { tr {
                        td { (s(&p["label"])) " " (s(&p["title"])) }
                        td {
                            @if let Some(d) = p["deadline"].as_str() { (page.lang.date_str(d)) }
                            @else if p["deadlineToBeAgreed"].as_bool() == Some(true) { (page.t("to_be_agreed")) }
                            @else { "–" }
                        }
                        td { (page.t(delivery_key(s(&p["delivery"])))) }
                    } } }
                }
            }
            h2 { (page.t("trail")) }
            table {
                (layout::column_heads(&page, &["when", "what", "part", "deadline", "by", "why"]))
                tbody { @for e in trail.as_array().into_iter().flatten() { tr {
                    td { (page.lang.time_str(s(&e["recordedAt"])))
                         @if e["effectiveAt"] != e["recordedAt"] { br; span.muted { "(" (page.lang.time_str(s(&e["effectiveAt"]))) ")" } } }
                    td { code { (s(&e["kind"])) } br; (s(&e["detail"]))
                         @if let Some(src) = e["source"].as_str() { br; span.muted { (src) } } }
                    td { (s(&e["part"])) }
                    td {
                        @if let Some(b) = e["deadlineBefore"].as_str() { (deadline_term(&page, b)) " → " }
                        @if let Some(a) = e["deadlineAfter"].as_str() { (deadline_term(&page, a)) }
                    }
                    td { (s(&e["actor"]["name"])) " (" (s(&e["actor"]["organisation"])) ")" }
                    td { (s(&e["reason"])) }
                } } }
            }
        },
    );
    page.respond(StatusCode::OK, body)
}
