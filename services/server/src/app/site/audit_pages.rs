//! The auditor's pages beyond one assignment as of a date (which `pages.rs` owns): the audit
//! overview (hash chain verification on request, the completeness report of copies to
//! Riksrevisjonen, links to every letter and assignment), a letter as of a date on the
//! recorded axis and optionally the effective one, with its history and the difference
//! between two dates, and the difference of an assignment between two dates.
//!
//! They are linked for auditors and refused to other roles: the schema lets a ministry or
//! agency read its own history, but these pages are the auditor's tools.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Datelike, NaiveDate};
use maud::{Markup, html};
use serde_json::{Value, json};
use styr_workflow::domain::Role;

use super::forms::{date_input, date_param};
use super::pages::{end_of_oslo_day, s, unavailable};
use super::{AppState, Page, layout, query_map};

/// The page if the reader is an auditor; otherwise the response to send instead (boxed: a
/// response is large and this is the rare path).
fn auditor_only(page: Page) -> Result<Page, Box<HttpResponse>> {
    match page.identity.as_ref().map(|i| i.actor.role) {
        None => Err(Box::new(page.redirect_to_login())),
        Some(Role::Auditor) => Ok(page),
        Some(_) => Err(Box::new(page.message(
            StatusCode::FORBIDDEN,
            "forbidden",
            "forbidden.text",
        ))),
    }
}

fn instant(d: NaiveDate) -> Option<String> {
    end_of_oslo_day(d).map(|t| t.to_rfc3339())
}

const OVERVIEW: &str = r#"query($from: Date!, $to: Date!) {
  copyCompleteness(from: $from, to: $to)
  letters { id title agency year }
  board(first: 200) { nodes { id reference title agency } }
}"#;

const CHAIN: &str =
    r#"query { chainVerification { intact eventsChecked verifiedTo brokenAt fault checkedAt } }"#;

fn copy_state_key(s: &str) -> &'static str {
    match s {
        "delivered" => "cp.delivered",
        "pending" => "cp.pending",
        "failed" => "cp.failed",
        "no_channel" => "cp.no_channel",
        _ => "status",
    }
}

/// `GET /audit`: chain verification (`?verify=1` runs it: it reads the whole log), the
/// completeness of copies for a period (`from`, `to`; the year so far by default), and links.
pub async fn overview(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let page = match auditor_only(Page::of(&req, &state)) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let q = query_map(req.query_string());
    let today = styr_workflow::domain::oslo_date(state.workflow.now());
    let from = date_param(&q, "from");
    let to = date_param(&q, "to");
    let (bad_from, bad_to) = (from.is_err(), to.is_err());
    let to = to.ok().flatten().unwrap_or(today);
    let from = from
        .ok()
        .flatten()
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(to.year(), 1, 1).unwrap_or(to));
    let data = page
        .graphql(
            &state,
            OVERVIEW,
            json!({ "from": from.format("%Y-%m-%d").to_string(), "to": to.format("%Y-%m-%d").to_string() }),
        )
        .await;
    // A period that ends before it starts is the reader's mistake, shown beside the field.
    let (data, bad_order) = match data {
        Ok(d) => (d, false),
        Err(e) if e[0].code == "VALIDATION" => {
            match page
                .graphql(
                    &state,
                    OVERVIEW,
                    json!({ "from": to.format("%Y-%m-%d").to_string(), "to": to.format("%Y-%m-%d").to_string() }),
                )
                .await
            {
                Ok(d) => (d, true),
                Err(e) => return unavailable(page, &e),
            }
        }
        Err(e) => return unavailable(page, &e),
    };
    let chain = if q.get("verify").is_some_and(|v| v == "1") {
        match page.graphql(&state, CHAIN, json!({})).await {
            Ok(d) => Some(d["chainVerification"].clone()),
            Err(e) => return unavailable(page, &e),
        }
    } else {
        None
    };
    let report = &data["copyCompleteness"];
    let rows = report["rows"].as_array().cloned().unwrap_or_default();
    let missing = report["missing"].as_array().map_or(0, Vec::len);
    let body = layout::page(
        &page,
        page.t("audit"),
        html! {
            h1 { (page.t("audit")) }
            section aria-labelledby="chain" {
                h2 id="chain" { (page.t("chain")) }
                @match &chain {
                    Some(c) => {
                        @if c["intact"] == true {
                            p { span.badge.green { (page.t("chain.intact")) } " "
                                (page.t("chain.checked")) " " (c["eventsChecked"]) " · "
                                (page.t("chain.to")) " " (c["verifiedTo"]) " · "
                                (page.lang.time_str(s(&c["checkedAt"]))) }
                        } @else {
                            p role="alert" { span.badge.red { (page.t("chain.broken")) } " "
                                (page.t("chain.at")) " " (c["brokenAt"]) ": " (s(&c["fault"])) }
                            p { (page.t("chain.checked")) " " (c["eventsChecked"]) " · " (page.lang.time_str(s(&c["checkedAt"]))) }
                        }
                    }
                    None => {
                        p { (page.t("chain.help")) }
                    }
                }
                form.filters method="get" action="/audit" {
                    input type="hidden" name="verify" value="1";
                    input type="hidden" name="from" value=(from.format("%Y-%m-%d"));
                    input type="hidden" name="to" value=(to.format("%Y-%m-%d"));
                    button type="submit" { (page.t("chain.verify")) }
                }
            }
            section aria-labelledby="copies" {
                h2 id="copies" { (page.t("completeness")) }
                form.filters method="get" action="/audit" {
                    (date_input(&page, "from", "from", Some(from), bad_from || bad_order))
                    (date_input(&page, "to", "to", Some(to), bad_to))
                    button type="submit" { (page.t("show")) }
                }
                @if bad_order { p.error { (page.t("from_after_to")) } }
                p {
                    (page.t("cp.items")) ": " strong { (rows.len()) } " · "
                    (page.t("cp.delivered")) ": " strong { (report["delivered"]) } " · "
                    (page.t("cp.missing")) ": " strong { (missing) }
                    @if missing == 0 { " " span.badge.green { (page.t("cp.complete")) } }
                    @else { " " span.badge.red { (page.t("cp.incomplete")) } }
                }
                @if !rows.is_empty() {
                    table {
                        (layout::column_heads(&page, &["date", "title", "agency", "cp.copy_to", "status", "cp.attempts"]))
                        tbody { @for r in &rows {
                            @let ok = r["state"] == "delivered";
                            tr class=[(!ok).then_some("overdue")] {
                                td { (page.lang.time_str(s(&r["occurred_at"]))) }
                                td { (s(&r["title"])) br; span.muted { code { (s(&r["content_sha256"]).get(..16).unwrap_or("")) "…" } } }
                                td { (s(&r["agency"])) }
                                td { (s(&r["copy_to"])) }
                                td { (page.t(copy_state_key(s(&r["state"]))))
                                     @if let Some(e) = r["last_error"].as_str() { br; span.muted { (e) } } }
                                td { (r["attempts"]) }
                            }
                        } }
                    }
                }
            }
            section aria-labelledby="letters" {
                h2 id="letters" { (page.t("letters")) }
                ul { @for l in data["letters"].as_array().into_iter().flatten() {
                    li { a href={ "/audit/letters/" (s(&l["id"])) } { (s(&l["title"])) } " (" (s(&l["agency"])) ", " (l["year"]) ")" }
                } }
            }
            section aria-labelledby="assignments" {
                h2 id="assignments" { (page.t("assignments")) }
                ul { @for a in data["board"]["nodes"].as_array().into_iter().flatten() {
                    li {
                        a href={ "/audit/assignments/" (s(&a["id"])) } {
                            @if let Some(r) = a["reference"].as_str() { (r) " – " } (s(&a["title"]))
                        }
                        " (" (s(&a["agency"])) ") · "
                        a href={ "/audit/assignments/" (s(&a["id"])) "/diff" } { (page.t("diff")) }
                    }
                } }
            }
        },
    );
    page.respond(StatusCode::OK, body)
}

const LETTER_AS_OF: &str = r#"query($id: ID!, $asOf: DateTime!, $effectiveBy: DateTime) {
  letterAsOf(id: $id, asOf: $asOf, effectiveBy: $effectiveBy) {
    id title ministry agency year caseRef issuedOn
    goals { section title }
    budget { chapter post text original adjustments current }
    assignments { assignmentId reference title }
    supplements { number id }
  }
  history(streamType: "allocation_letter", streamId: $id, asOf: $asOf, effectiveBy: $effectiveBy) {
    position eventType recordedAt effectiveAt reason origin actor { name organisation } }
}"#;

const LETTER_DIFF: &str = r#"query($id: ID!, $from: DateTime!, $to: DateTime!) {
  letterDiff(id: $id, from: $from, to: $to) { path before after } }"#;

const ASSIGNMENT_DIFF: &str = r#"query($id: ID!, $from: DateTime!, $to: DateTime!) {
  assignment(id: $id) { id reference title }
  assignmentDiff(id: $id, from: $from, to: $to) { path before after } }"#;

fn json_cell(v: &Value) -> String {
    match v {
        Value::Null => "–".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn diff_table(page: &Page, changes: &Value) -> Markup {
    let changes = changes.as_array().cloned().unwrap_or_default();
    html! {
        @if changes.is_empty() { p { (page.t("no_changes")) } } @else {
            table {
                (layout::column_heads(page, &["field", "before", "after"]))
                tbody { @for c in &changes { tr {
                    td { code { (s(&c["path"])) } }
                    td { (json_cell(&c["before"])) }
                    td { (json_cell(&c["after"])) }
                } } }
            }
        }
    }
}

/// An instant for a difference: a date means the end of that Oslo day; a local date and time
/// (`2024-03-01T14:30`, what a `datetime-local` field sends) is Oslo time; an RFC 3339 instant
/// is taken as it is. Comparing within one day needs the latter two.
fn parse_instant(v: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone;
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return end_of_oslo_day(d);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&chrono::Utc));
    }
    let local = chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M"))
        .ok()?;
    chrono_tz::Europe::Oslo
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// The `from`/`to` of a difference, as entered, with the instants they mean.
struct Between {
    from_text: String,
    to_text: String,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
}

impl Between {
    fn of(q: &std::collections::HashMap<String, String>) -> Between {
        let get = |k: &str| q.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
        let (from_text, to_text) = (get("from"), get("to"));
        Between {
            from: parse_instant(&from_text),
            to: parse_instant(&to_text),
            from_text,
            to_text,
        }
    }

    fn bad_from(&self) -> bool {
        !self.from_text.is_empty() && self.from.is_none()
    }

    fn bad_to(&self) -> bool {
        !self.to_text.is_empty() && self.to.is_none()
    }

    fn instants(&self) -> Option<(String, String)> {
        Some((self.from?.to_rfc3339(), self.to?.to_rfc3339()))
    }

    fn input(
        &self,
        page: &Page,
        name: &str,
        label: &'static str,
        value: &str,
        bad: bool,
    ) -> Markup {
        html! {
            div {
                label for=(name) { (page.t(label)) }
                @if bad { span.error id={ (name) "-error" } { (page.t("bad_instant")) } }
                input type="text" id=(name) name=(name) value=(value) placeholder="ÅÅÅÅ-MM-DD[THH:MM]"
                    aria-invalid=[bad.then_some("true")] aria-describedby=[bad.then(|| format!("{name}-error"))];
            }
        }
    }

    fn form(&self, page: &Page, action: &str, keep: &[(&str, Option<NaiveDate>)]) -> Markup {
        html! {
            form.filters method="get" action=(action) {
                @for (k, v) in keep {
                    @if let Some(v) = v { input type="hidden" name=(k) value=(v.format("%Y-%m-%d")); }
                }
                (self.input(page, "from", "from", &self.from_text, self.bad_from()))
                (self.input(page, "to", "to", &self.to_text, self.bad_to()))
                button type="submit" { (page.t("compare")) }
            }
            @if let (Some(from), Some(to)) = (self.from, self.to) {
                h3 { (page.lang.time(from)) " → " (page.lang.time(to)) }
            }
        }
    }
}

/// `GET /audit/letters/{id}`: the letter as of `as_of` (end of that Oslo day; today by
/// default), optionally only what had taken effect by `effective_by`, its history up to then,
/// and the difference between `from` and `to`.
pub async fn letter(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let page = match auditor_only(Page::of(&req, &state)) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let q = query_map(req.query_string());
    let today = styr_workflow::domain::oslo_date(state.workflow.now());
    let as_of_p = date_param(&q, "as_of");
    let eff_p = date_param(&q, "effective_by");
    let (bad_as_of, bad_eff) = (as_of_p.is_err(), eff_p.is_err());
    let as_of = as_of_p.ok().flatten().unwrap_or(today);
    let effective_by = eff_p.ok().flatten();
    let between = Between::of(&q);
    let (Some(as_of_t), eff_t) = (instant(as_of), effective_by.and_then(instant)) else {
        return page.message(StatusCode::NOT_FOUND, "not_found", "not_found.text");
    };
    let result = page
        .graphql(
            &state,
            LETTER_AS_OF,
            json!({ "id": id.as_str(), "asOf": as_of_t, "effectiveBy": eff_t }),
        )
        .await;
    let (l, history) = match result {
        Ok(d) => (d["letterAsOf"].clone(), d["history"].clone()),
        Err(e) if e[0].code == "NOT_FOUND" && e[0].message.contains("did not exist then") => {
            (Value::Null, json!([]))
        }
        Err(e) => return unavailable(page, &e),
    };
    let diff = match between.instants() {
        Some((from, to)) => match page
            .graphql(
                &state,
                LETTER_DIFF,
                json!({ "id": id.as_str(), "from": from, "to": to }),
            )
            .await
        {
            Ok(d) => Some(d["letterDiff"].clone()),
            Err(e) => return unavailable(page, &e),
        },
        None => None,
    };
    let heading = format!("{} – {}", page.t("audit_letter"), page.lang.date(as_of));
    let action = format!("/audit/letters/{}", id.as_str());
    let body = layout::page(
        &page,
        &heading,
        html! {
            p { a href="/audit" { (page.t("audit")) } " · " a href={ "/letters/" (id.as_str()) } { (page.t("back_to_letter")) } }
            h1 { (heading) }
            form.filters method="get" action=(action) {
                (date_input(&page, "as_of", "as_of", Some(as_of), bad_as_of))
                (date_input(&page, "effective_by", "effective_by", effective_by, bad_eff))
                button type="submit" { (page.t("show")) }
            }
            p.rule { (page.t("axes.help")) }
            @if l.is_null() {
                p { (page.t("letter_not_yet")) }
            } @else {
                h2 { (s(&l["title"])) }
                dl.facts {
                    dt { (page.t("ministry")) } dd { (s(&l["ministry"])) }
                    dt { (page.t("agency")) } dd { (s(&l["agency"])) }
                    dt { (page.t("year")) } dd { (l["year"]) }
                    dt { (page.t("issued_on")) }
                    dd { @if let Some(d) = l["issuedOn"].as_str() { (page.lang.date_str(d)) } @else { (page.t("draft")) } }
                    dt { (page.t("goals")) } dd { (l["goals"].as_array().map_or(0, Vec::len)) }
                    dt { (page.t("assignments")) } dd { (l["assignments"].as_array().map_or(0, Vec::len)) }
                    dt { (page.t("supplements")) } dd { (l["supplements"].as_array().map_or(0, Vec::len)) }
                }
                h3 { (page.t("budget")) }
                table {
                    (layout::column_heads(&page, &["chapter_post", "text", "original", "adjustments", "current"]))
                    tbody { @for b in l["budget"].as_array().into_iter().flatten() { tr {
                        td { (s(&b["chapter"])) "/" (s(&b["post"])) }
                        td { (s(&b["text"])) }
                        td { (b["original"]) } td { (b["adjustments"]) } td { (b["current"]) }
                    } } }
                }
            }
            h2 { (page.t("history")) }
            table {
                thead { tr {
                    th scope="col" { "#" }
                    th scope="col" { (page.t("when")) }
                    th scope="col" { (page.t("what")) }
                    th scope="col" { (page.t("by")) }
                    th scope="col" { (page.t("why")) }
                } }
                tbody { @for e in history.as_array().into_iter().flatten() { tr {
                    td { (e["position"]) }
                    td { (page.lang.time_str(s(&e["recordedAt"])))
                         @if e["effectiveAt"] != e["recordedAt"] { br; span.muted { "(" (page.t("effective")) " " (page.lang.time_str(s(&e["effectiveAt"]))) ")" } } }
                    td { code { (s(&e["eventType"])) } @if let Some(o) = e["origin"].as_str() { br; span.muted { (o) } } }
                    td { (s(&e["actor"]["name"])) " (" (s(&e["actor"]["organisation"])) ")" }
                    td { (s(&e["reason"])) }
                } } }
            }
            h2 { (page.t("diff")) }
            (between.form(&page, &action, &[("as_of", Some(as_of)), ("effective_by", effective_by)]))
            @match &diff {
                Some(d) => { (diff_table(&page, d)) }
                None => { p { (page.t("diff.help")) } }
            }
        },
    );
    page.respond(StatusCode::OK, body)
}

/// `GET /audit/assignments/{id}/diff`: what changed in an assignment between two dates.
pub async fn assignment_diff(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let page = match auditor_only(Page::of(&req, &state)) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let q = query_map(req.query_string());
    let between = Between::of(&q);
    // Without both dates, the page shows the assignment and the form (a diff of nothing).
    let today = styr_workflow::domain::oslo_date(state.workflow.now());
    let (from, to) = between
        .instants()
        .or_else(|| Some((instant(today)?, instant(today)?)))
        .unwrap_or_default();
    let data = match page
        .graphql(
            &state,
            ASSIGNMENT_DIFF,
            json!({ "id": id.as_str(), "from": from, "to": to }),
        )
        .await
    {
        Ok(d) => d,
        Err(e) => return unavailable(page, &e),
    };
    let a = &data["assignment"];
    let heading = format!("{} – {}", page.t("diff"), s(&a["title"]));
    let action = format!("/audit/assignments/{}/diff", id.as_str());
    let body = layout::page(
        &page,
        &heading,
        html! {
            p { a href="/audit" { (page.t("audit")) } " · " a href={ "/audit/assignments/" (id.as_str()) } { (page.t("audit_link")) } }
            h1 { (heading) }
            h2 { (page.t("diff")) }
            (between.form(&page, &action, &[]))
            @if between.instants().is_some() {
                (diff_table(&page, &data["assignmentDiff"]))
            } @else {
                p { (page.t("diff.help")) }
            }
        },
    );
    page.respond(StatusCode::OK, body)
}
