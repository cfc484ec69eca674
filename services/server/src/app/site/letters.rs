//! The letter pages: the list of letters the reader may see, one letter (goals, steering
//! parameters, budget with adjustments, requirements, supplements in order, the steering
//! calendar and its assignments), a supplement with the forms a ministry officer uses to add
//! changes and issue it, and the import of a letter's or supplement's text with a preview
//! (`importLetterText` with `apply: false`) before anything is written.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde_json::{Value, json};
use styr_workflow::domain::Role;

use super::forms::{self, FormState, Kind, checkbox, field};
use super::pages::{form_refusal, s, unavailable};
use super::{AppState, GqlError, Page, drafting, layout, query_map};

const LETTERS: &str = r#"query { letters { id ministry agency year title caseRef issuedOn supplements { number } } }"#;

pub(super) fn role(page: &Page) -> Option<Role> {
    page.identity.as_ref().map(|i| i.actor.role)
}

pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let page = Page::of(&req, &state);
    if page.identity.is_none() {
        return page.redirect_to_login();
    }
    let data = match page.graphql(&state, LETTERS, json!({})).await {
        Ok(d) => d,
        Err(e) => return unavailable(page, &e),
    };
    let mut letters = data["letters"].as_array().cloned().unwrap_or_default();
    letters
        .sort_by(|a, b| (b["year"].as_i64(), s(&a["id"])).cmp(&(a["year"].as_i64(), s(&b["id"]))));
    let ministry = role(&page) == Some(Role::Ministry);
    let body = layout::page(
        &page,
        page.t("letters"),
        html! {
            h1 { (page.t("letters")) }
            @if ministry {
                p { a href="/letters/new" { (page.t("new_letter")) } " · " a href="/import" { (page.t("import")) } }
            }
            @if letters.is_empty() {
                p { (page.t("no_letters")) }
            } @else {
                table {
                    (layout::column_heads(&page, &["title", "ministry", "agency", "year", "case_ref", "issued_on", "supplements"]))
                    tbody { @for l in &letters { tr {
                        td { a href={ "/letters/" (s(&l["id"])) } { (s(&l["title"])) } }
                        td { (s(&l["ministry"])) }
                        td { (s(&l["agency"])) }
                        td { (l["year"]) }
                        td { (s(&l["caseRef"])) }
                        td { @if let Some(d) = l["issuedOn"].as_str() { (page.lang.date_str(d)) } @else { (page.t("draft")) } }
                        td { (l["supplements"].as_array().map_or(0, Vec::len)) }
                    } } }
                }
            }
        },
    );
    page.respond(StatusCode::OK, body)
}

const LETTER: &str = r#"query($id: ID!) { letter(id: $id) {
  id ministry agency year title caseRef issuedOn
  goals { id section title assessmentCriteria steeringParameters keyFigures }
  budget { chapter post text original adjustments current }
  budgetLines { id chapter post }
  sumMismatches { chapter printedSum sumOfLines }
  reportingRequirements { id text due source deadlineStatus missed }
  assignments { id assignmentId reference title source }
  calendar { id date printedDate text }
  supplements { number id }
}
  calendar { ministry agency date kind title status }
}"#;

const SUPPLEMENT: &str = r#"query($id: ID!) { supplement(id: $id) {
  id letterId title number issuedOn changes { id kind } } }"#;

pub async fn letter(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let page = Page::of(&req, &state);
    if page.identity.is_none() {
        return page.redirect_to_login();
    }
    render_letter(&state, page, &id, None).await
}

fn nok(n: &Value) -> String {
    // Thousands separated by a space, as the letters print them.
    let v = n.as_i64().unwrap_or(0);
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{a0}');
        }
        out.push(c);
    }
    if v < 0 { format!("−{out}") } else { out }
}

async fn render_letter(
    state: &AppState,
    page: Page,
    id: &str,
    failed: Option<(String, FormState)>,
) -> HttpResponse {
    let data = match page.graphql(state, LETTER, json!({ "id": id })).await {
        Ok(d) => d,
        Err(e) => return unavailable(page, &e),
    };
    let l = &data["letter"];
    // Each supplement's title and date, in the order of their numbers.
    let mut refs = l["supplements"].as_array().cloned().unwrap_or_default();
    refs.sort_by_key(|r| r["number"].as_i64());
    let mut supplements = Vec::new();
    for r in &refs {
        match page
            .graphql(state, SUPPLEMENT, json!({ "id": s(&r["id"]) }))
            .await
        {
            Ok(d) => supplements.push(d["supplement"].clone()),
            Err(e) => return unavailable(page, &e),
        }
    }
    // The scheduled reports and meetings between the letter's parties in its year.
    let year = l["year"].as_i64().unwrap_or(0).to_string();
    let items: Vec<Value> = data["calendar"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| {
            c["ministry"] == l["ministry"]
                && c["agency"] == l["agency"]
                && s(&c["date"]).starts_with(&year)
        })
        .cloned()
        .collect();
    let ministry = role(&page) == Some(Role::Ministry);
    let auditor = role(&page) == Some(Role::Auditor);
    let issued = l["issuedOn"].is_string();
    // The ministry drafts the letter item by item until it is issued.
    let drafting = ministry && !issued;
    let assignment_choices = if drafting {
        match drafting::assignment_choices(
            &page,
            state,
            s(&l["ministry"]),
            s(&l["agency"]),
            l["year"].as_i64(),
        )
        .await
        {
            Ok(c) => c,
            Err(e) => return unavailable(page, &e),
        }
    } else {
        Vec::new()
    };
    // A budget row's line (a draft has one per kap/post), for its remove button.
    let line_id = |b: &Value| {
        l["budgetLines"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| x["chapter"] == b["chapter"] && x["post"] == b["post"])
            .map(|x| x["id"].clone())
    };
    let today = styr_workflow::domain::oslo_date(state.workflow.now())
        .format("%Y-%m-%d")
        .to_string();
    let status = if failed.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let (failed_action, failed) = failed.unwrap_or_default();
    let empty = FormState::default();
    let st = |action: &str| {
        if failed_action == action {
            &failed
        } else {
            &empty
        }
    };
    let letter_form = |action: &'static str| {
        drafting::letter_form(&page, id, action, st(action), &assignment_choices)
    };
    // Issued, an open requirement may be met (the agency) or waived (the ministry).
    let requirement_actions = issued && matches!(role(&page), Some(Role::Agency | Role::Ministry));
    // Whether the failed action's form is on the page again; if not (a button beside an item,
    // or the letter issued or the requirement settled meanwhile), its errors go in a summary
    // at the top.
    let failed_form_shown = match failed_action.as_str() {
        "issue_letter" => drafting,
        "draft_supplement" => ministry && issued,
        "waive_requirement" => {
            ministry
                && requirement_actions
                && l["reportingRequirements"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|r| {
                        r["id"].as_str() == Some(failed.value("item_id"))
                            && r["deadlineStatus"] == "open"
                    })
        }
        action => drafting && drafting::LETTER_FORMS.iter().any(|(a, _)| *a == action),
    };
    let title = s(&l["title"]).to_owned();
    let body = layout::page(
        &page,
        &title,
        html! {
            p { a href="/letters" { (page.t("back_to_letters")) } }
            h1 { (title) }
            dl.facts {
                dt { (page.t("ministry")) } dd { (s(&l["ministry"])) }
                dt { (page.t("agency")) } dd { (s(&l["agency"])) }
                dt { (page.t("year")) } dd { (l["year"]) }
                @if let Some(r) = l["caseRef"].as_str() { dt { (page.t("case_ref")) } dd { (r) } }
                dt { (page.t("issued_on")) }
                dd { @if let Some(d) = l["issuedOn"].as_str() { (page.lang.date_str(d)) } @else { (page.t("draft")) } }
            }
            @if !failed_action.is_empty() && !failed_form_shown {
                (forms::summary(&page, &failed, &[]))
            }
            p.downloads {
                a href={ "/letters/" (id) "/appendix" } { (page.t("appendix")) } " · "
                a href={ "/letters/" (id) "/tertial" } { (page.t("tertial_report")) }
                @if auditor { " · " a href={ "/audit/letters/" (id) } { (page.t("audit_letter_link")) } }
            }
            h2 { (page.t("goals")) }
            @let goals = l["goals"].as_array().cloned().unwrap_or_default();
            @if goals.is_empty() { p { (page.t("none_yet")) } }
            @for g in &goals {
                @let heading = format!("{} {}", s(&g["section"]), s(&g["title"]));
                h3 { (heading) }
                @if drafting { p { (drafting::remove_button(&page, id, &g["id"], &heading)) } }
                (string_list(&page, "assessment_criteria", &g["assessmentCriteria"]))
                (string_list(&page, "steering_parameters", &g["steeringParameters"]))
                (string_list(&page, "key_figures", &g["keyFigures"]))
            }
            @if drafting { (letter_form("add_goal")) }
            h2 { (page.t("budget")) }
            @let budget = l["budget"].as_array().cloned().unwrap_or_default();
            @if budget.is_empty() { p { (page.t("none_yet")) } } @else {
                table {
                    caption { (page.t("in_thousands")) }
                    thead { tr {
                        th scope="col" { (page.t("chapter_post")) }
                        th scope="col" { (page.t("text")) }
                        th scope="col" class="num" { (page.t("original")) }
                        th scope="col" class="num" { (page.t("adjustments")) }
                        th scope="col" class="num" { (page.t("current")) }
                        @if drafting { th scope="col" { (page.t("actions")) } }
                    } }
                    tbody { @for b in &budget { tr {
                        @let kap_post = format!("{}/{}", s(&b["chapter"]), s(&b["post"]));
                        td { (kap_post) }
                        td { (s(&b["text"])) }
                        td.num { (nok(&b["original"])) }
                        td.num { (nok(&b["adjustments"])) }
                        td.num { (nok(&b["current"])) }
                        @if drafting { td { @if let Some(item) = line_id(b) { (drafting::remove_button(&page, id, &item, &kap_post)) } } }
                    } } }
                }
            }
            @for m in l["sumMismatches"].as_array().into_iter().flatten() {
                p.error { (page.t("sum_mismatch")) " " (s(&m["chapter"])) ": " (nok(&m["printedSum"])) " ≠ " (nok(&m["sumOfLines"])) }
            }
            @if drafting {
                (letter_form("add_budget_line"))
                (letter_form("state_chapter_sum"))
                (letter_form("set_threshold"))
            }
            h2 { (page.t("requirements")) }
            @let reqs = l["reportingRequirements"].as_array().cloned().unwrap_or_default();
            @if reqs.is_empty() { p { (page.t("none_yet")) } } @else {
                table {
                    @if drafting || requirement_actions {
                        (layout::column_heads(&page, &["text", "deadline", "source", "status", "actions"]))
                    } @else {
                        (layout::column_heads(&page, &["text", "deadline", "source", "status"]))
                    }
                    tbody { @for r in &reqs { tr {
                        td { (s(&r["text"])) }
                        td { @if let Some(d) = r["due"].as_str() { (page.lang.date_str(d)) } @else { "–" } }
                        td { (source_label(&page, s(&r["source"]))) }
                        td { (page.t(requirement_status_key(s(&r["deadlineStatus"])))) @if r["missed"].as_bool() == Some(true) { " " span.badge.overdue { (page.t("overdue")) } } }
                        @if drafting { td { (drafting::remove_button(&page, id, &r["id"], s(&r["text"]))) } }
                        @if requirement_actions { td { (drafting::requirement_actions(&page, id, r, &failed_action, &failed)) } }
                    } } }
                }
            }
            @if drafting { (letter_form("add_requirement")) }
            h2 { (page.t("supplements")) }
            @if supplements.is_empty() { p { (page.t("no_supplements")) } } @else {
                ol {
                    @for sp in &supplements {
                        li value=(sp["number"]) {
                            a href={ "/supplements/" (s(&sp["id"])) } { (page.t("supplement_no")) " " (sp["number"]) ": " (s(&sp["title"])) }
                            @if let Some(d) = sp["issuedOn"].as_str() { " (" (page.lang.date_str(d)) ")" }
                        }
                    }
                }
            }
            @if ministry && issued {
                @let failed = st("draft_supplement");
                form.action method="post" action={ "/letters/" (id) "/supplements" } id="form-draft_supplement" {
                    h3 { (page.t("draft_supplement")) }
                    (forms::summary(&page, failed, &["title"]))
                    (page.csrf_field())
                    input type="hidden" name="command_id" value=(command_id(failed));
                    (field(&page, "draft_supplement", failed, "title", "title", Kind::Text, ""))
                    button type="submit" { (page.t("draft_supplement")) }
                }
                p { a href={ "/import?letter=" (id) } { (page.t("import_supplement")) } }
            }
            h2 { (page.t("calendar")) }
            @let cal = l["calendar"].as_array().cloned().unwrap_or_default();
            @if !items.is_empty() {
                h3 { (page.t("reports_and_meetings")) }
                table {
                    (layout::column_heads(&page, &["date", "what", "kind", "status"]))
                    tbody { @for c in &items { tr {
                        td { (page.lang.date_str(s(&c["date"]))) }
                        td { (s(&c["title"])) }
                        td { (page.t(super::calendar::kind_key(s(&c["kind"])))) }
                        td { (page.t(super::calendar::status_key(s(&c["status"])))) }
                    } } }
                }
                h3 { (page.t("printed_calendar")) }
            }
            @if cal.is_empty() { p { (page.t("none_yet")) } } @else {
                table {
                    @if drafting {
                        (layout::column_heads(&page, &["date", "what", "actions"]))
                    } @else {
                        (layout::column_heads(&page, &["date", "what"]))
                    }
                    tbody { @for c in &cal { tr {
                        td { (page.lang.date_str(s(&c["date"]))) }
                        td { (s(&c["text"])) }
                        @if drafting { td { (drafting::remove_button(&page, id, &c["id"], s(&c["text"]))) } }
                    } } }
                }
            }
            @if drafting { (letter_form("add_calendar_item")) }
            h2 { (page.t("assignments")) }
            @let assignments = l["assignments"].as_array().cloned().unwrap_or_default();
            @if assignments.is_empty() { p { (page.t("none_yet")) } } @else {
                ul {
                    @for a in &assignments {
                        li {
                            a href={ "/assignments/" (s(&a["assignmentId"])) } {
                                @if let Some(r) = a["reference"].as_str() { (r) " – " } (s(&a["title"]))
                            }
                            " " span.muted { "(" (source_label(&page, s(&a["source"]))) ")" }
                            @if drafting { (drafting::remove_button(&page, id, &a["id"], s(&a["title"]))) }
                        }
                    }
                }
            }
            @if drafting {
                (letter_form("list_assignment"))
                @let failed = st("issue_letter");
                form.action method="post" action={ "/letters/" (id) "/issue" } id="form-issue_letter" {
                    h3 { (page.t("issue_letter")) }
                    (forms::summary(&page, failed, &["issued_on"]))
                    (page.csrf_field())
                    input type="hidden" name="command_id" value=(command_id(failed));
                    (field(&page, "issue_letter", failed, "issued_on", "issued_on", Kind::Date, &today))
                    button type="submit" { (page.t("issue_letter")) }
                }
            }
        },
    );
    page.respond(status, body)
}

/// Where a listed assignment or requirement came from, as the API names it (`letter`,
/// `supplement 2`), in the page's language.
fn source_label(page: &Page, source: &str) -> String {
    match source.strip_prefix("supplement ") {
        Some(n) => format!("{} {n}", page.t("supplement_no")),
        None if source == "letter" => page.t("source.letter").to_owned(),
        None => source.to_owned(),
    }
}

fn requirement_status_key(status: &str) -> &'static str {
    match status {
        "met" => "req.met",
        "waived" => "req.waived",
        _ => "req.open",
    }
}

fn string_list(page: &Page, label: &'static str, items: &Value) -> Markup {
    html! {
        @if let Some(items) = items.as_array().filter(|i| !i.is_empty()) {
            h4 { (page.t(label)) }
            ul { @for i in items { li { (s(i)) } } }
        }
    }
}

/// The response to a command the schema refused as FORBIDDEN: "not found" when the reader may
/// not even see the letter or supplement (as reads say, so ids cannot be probed), else
/// "not allowed".
async fn forbidden(state: &AppState, page: Page, query: &str, id: &str) -> HttpResponse {
    match page.graphql(state, query, json!({ "id": id })).await {
        Ok(_) => page.message(StatusCode::FORBIDDEN, "forbidden", "forbidden.text"),
        Err(e) => unavailable(page, &e),
    }
}

/// The command id a form carries: the one it was submitted with if it failed (so a
/// corrected resubmission is still one command), else a fresh one.
pub(super) fn command_id(failed: &FormState) -> String {
    failed
        .opt("command_id")
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

const DRAFT_SUPPLEMENT: &str = r#"mutation($letterId: ID!, $title: String!, $options: CommandOptions) {
  draftSupplement(letterId: $letterId, title: $title, options: $options) { supplement { id } } }"#;

/// `POST /letters/{id}/supplements`: a ministry officer drafts a supplement to an issued
/// letter, then continues on the supplement's page.
pub async fn draft_supplement(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let (page, _) = match Page::signed_in_post(&req, &state, &form) {
        Ok(signed_in) => signed_in,
        Err(refused) => return *refused,
    };
    let values = form.into_inner();
    let fs = FormState::failed(values, Vec::new());
    let mut errors = Vec::new();
    forms::required(&page, &fs, "title", &mut errors);
    let result = page
        .submit(
            &state,
            errors,
            DRAFT_SUPPLEMENT,
            json!({ "letterId": id.as_str(), "title": fs.opt("title"),
                "options": forms::command_options(&fs) }),
        )
        .await;
    match result {
        Ok(d) => {
            let sid = s(&d["draftSupplement"]["supplement"]["id"]).to_owned();
            page.see_other(&format!("/supplements/{sid}"))
        }
        Err(errors) => {
            letter_form_refused(&state, page, &id, "draft_supplement", fs.values, errors).await
        }
    }
}

/// A refused form on a letter's page: the page again with the errors beside the fields, "not
/// found" or "forbidden" as the letter's visibility has it, or "unavailable". "Not found" for
/// a letter the reader sees is about the form (an item already removed) and goes on the page.
pub(super) async fn letter_form_refused(
    state: &AppState,
    page: Page,
    id: &str,
    action: &str,
    values: HashMap<String, String>,
    errors: Vec<GqlError>,
) -> HttpResponse {
    match errors.first().map(|e| e.code.as_str()) {
        Some("VALIDATION" | "RULE_VIOLATED" | "CONFLICT") => {
            let failed = FormState::failed(values, errors);
            render_letter(state, page, id, Some((action.to_owned(), failed))).await
        }
        Some("NOT_FOUND") => {
            if visible(state, &page, LETTER_VISIBLE, id).await {
                let failed = FormState::failed(values, errors);
                render_letter(state, page, id, Some((action.to_owned(), failed))).await
            } else {
                unavailable(page, &errors)
            }
        }
        Some("FORBIDDEN") => forbidden(state, page, LETTER_VISIBLE, id).await,
        _ => unavailable(page, &errors),
    }
}

const LETTER_VISIBLE: &str = "query($id: ID!) { letter(id: $id) { id } }";
const SUPPLEMENT_VISIBLE: &str = "query($id: ID!) { supplement(id: $id) { id } }";

/// Whether the reader sees the letter or supplement `id` (`query` is one of the two above).
async fn visible(state: &AppState, page: &Page, query: &str, id: &str) -> bool {
    page.graphql(state, query, json!({ "id": id }))
        .await
        .is_ok_and(|d| {
            d.as_object()
                .is_some_and(|o| o.values().all(|v| !v.is_null()))
        })
}

const ISSUE_LETTER: &str = r#"mutation($letterId: ID!, $issuedOn: Date!, $options: CommandOptions) {
  issueLetter(letterId: $letterId, issuedOn: $issuedOn, options: $options) { letter { id } } }"#;

/// `POST /letters/{id}/issue`: a ministry officer issues a draft letter (one imported from its
/// text, say) on the date it bears.
pub async fn issue_letter(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let (page, _) = match Page::signed_in_post(&req, &state, &form) {
        Ok(signed_in) => signed_in,
        Err(refused) => return *refused,
    };
    let fs = FormState::failed(form.into_inner(), Vec::new());
    let mut errors = Vec::new();
    let on = forms::date(&page, &fs, "issued_on", &mut errors);
    let result = match on {
        Some(on) if errors.is_empty() => {
            page.graphql(
                &state,
                ISSUE_LETTER,
                json!({ "letterId": id.as_str(), "issuedOn": on.format("%Y-%m-%d").to_string(),
                        "options": forms::command_options(&fs) }),
            )
            .await
        }
        _ => Err(errors),
    };
    match result {
        Ok(_) => page.see_other(&format!("/letters/{id}")),
        Err(errors) => {
            letter_form_refused(&state, page, &id, "issue_letter", fs.values, errors).await
        }
    }
}

pub async fn supplement(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let page = Page::of(&req, &state);
    if page.identity.is_none() {
        return page.redirect_to_login();
    }
    render_supplement(&state, page, &id, None).await
}

/// The supplement forms: (action, the fields each shows).
const SUPPLEMENT_FORMS: [(&str, &[&str]); 9] = [
    (
        "add_budget",
        &["chapter", "post", "stated_total", "reason", "printed"],
    ),
    (
        "add_assignment",
        &[
            "reference",
            "title",
            "description",
            "department",
            "deadline",
        ],
    ),
    (
        "amend_assignment",
        &["assignment_id", "title", "description"],
    ),
    (
        "change_deadline",
        &["assignment_id", "part", "deadline", "to_be_agreed"],
    ),
    ("cancel_assignment", &["assignment_id", "reason"]),
    (
        "transfer_assignment",
        &["assignment_id", "to_agency", "effective", "reason"],
    ),
    ("add_requirement", &["text", "deadline", "to_be_agreed"]),
    ("add_text", &["text"]),
    ("issue", &["issued_on", "number"]),
];

fn change_key(kind: &str) -> &'static str {
    match kind {
        "add_assignment" | "AddAssignment" => "ch.add_assignment",
        "amend_assignment" | "AmendAssignment" => "ch.amend_assignment",
        "change_assignment_deadline" | "ChangeAssignmentDeadline" => "ch.change_deadline",
        "cancel_assignment" | "CancelAssignment" => "ch.cancel_assignment",
        "transfer_assignment" | "TransferAssignment" => "ch.transfer_assignment",
        "budget_adjustment" | "BudgetAdjustment" => "ch.budget_adjustment",
        "add_reporting_requirement" | "AddReportingRequirement" => "ch.add_requirement",
        "free_text" | "FreeText" => "ch.free_text",
        _ => "ch.other",
    }
}

async fn render_supplement(
    state: &AppState,
    page: Page,
    id: &str,
    failed: Option<(String, FormState)>,
) -> HttpResponse {
    let data = match page.graphql(state, SUPPLEMENT, json!({ "id": id })).await {
        Ok(d) => d,
        Err(e) => return unavailable(page, &e),
    };
    let sp = &data["supplement"];
    let issued = sp["issuedOn"].is_string();
    let ministry = role(&page) == Some(Role::Ministry);
    // The assignments a change may concern: the letter's parties', from its id
    // `MINISTRY:AGENCY:YEAR`.
    let assignments = match s(&sp["letterId"]).split(':').collect::<Vec<_>>()[..] {
        [m, a, y] if ministry && !issued => {
            match drafting::assignment_choices(&page, state, m, a, y.parse().ok()).await {
                Ok(c) => c,
                Err(e) => return unavailable(page, &e),
            }
        }
        _ => Vec::new(),
    };
    let assignments = drafting::borrowed(&assignments);
    let status = if failed.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let (failed_action, failed) = failed.unwrap_or_default();
    let empty = FormState::default();
    let state_of = |action: &str| {
        if failed_action == action {
            &failed
        } else {
            &empty
        }
    };
    let title = s(&sp["title"]).to_owned();
    let letter = s(&sp["letterId"]).to_owned();
    let today = styr_workflow::domain::oslo_date(state.workflow.now())
        .format("%Y-%m-%d")
        .to_string();
    let body = layout::page(
        &page,
        &title,
        html! {
            p { a href={ "/letters/" (letter) } { (page.t("back_to_letter")) } }
            h1 {
                @if let Some(n) = sp["number"].as_i64() { (page.t("supplement_no")) " " (n) ": " }
                (title)
            }
            dl.facts {
                dt { (page.t("letter")) } dd { a href={ "/letters/" (letter) } { (letter) } }
                dt { (page.t("issued_on")) }
                dd { @if let Some(d) = sp["issuedOn"].as_str() { (page.lang.date_str(d)) } @else { (page.t("draft")) } }
            }
            // A remove button has no fields to show its refusal beside, and the forms are gone
            // once the supplement is issued: such errors go in a summary here.
            @if !failed_action.is_empty() && (failed_action == "remove_change" || !ministry || issued) {
                (forms::summary(&page, &failed, &[]))
            }
            h2 { (page.t("changes")) }
            @let changes = sp["changes"].as_array().cloned().unwrap_or_default();
            @if changes.is_empty() { p { (page.t("no_changes")) } } @else {
                ol { @for c in &changes { li {
                    @let what = page.t(change_key(s(&c["kind"])));
                    (what)
                    @if ministry && !issued {
                        " "
                        form.inline method="post" action={ "/supplements/" (id) "/remove_change" } {
                            (page.csrf_field())
                            input type="hidden" name="command_id" value=(command_id(&empty));
                            input type="hidden" name="change_id" value=(s(&c["id"]));
                            button type="submit" aria-label={ (page.t("remove")) ": " (what) } { (page.t("remove")) }
                        }
                    }
                } } }
            }
            @if ministry && !issued {
                h2 { (page.t("actions")) }
                @for (action, fields) in SUPPLEMENT_FORMS {
                    @let st = state_of(action);
                    form.action method="post" action={ "/supplements/" (id) "/" (action) } id={ "form-" (action) } {
                        h3 { (page.t(action_label(action))) }
                        (forms::summary(&page, st, fields))
                        (page.csrf_field())
                        input type="hidden" name="command_id" value=(command_id(st));
                        @match action {
                            "add_budget" => {
                                (field(&page, action, st, "chapter", "chapter", Kind::Number, ""))
                                (field(&page, action, st, "post", "post", Kind::Number, ""))
                                (field(&page, action, st, "stated_total", "stated_total", Kind::Number, ""))
                                (field(&page, action, st, "reason", "reason", Kind::Text, ""))
                                (field(&page, action, st, "printed", "printed", Kind::Text, ""))
                            }
                            "add_assignment" => {
                                (field(&page, action, st, "reference", "reference", Kind::Text, ""))
                                (field(&page, action, st, "title", "title", Kind::Text, ""))
                                (field(&page, action, st, "description", "description", Kind::Area, ""))
                                (field(&page, action, st, "department", "department", Kind::Text, ""))
                                (field(&page, action, st, "deadline", "deadline", Kind::Date, ""))
                            }
                            "amend_assignment" => {
                                (field(&page, action, st, "assignment_id", "assignment", Kind::Select(&assignments), ""))
                                (field(&page, action, st, "title", "title", Kind::Text, ""))
                                (field(&page, action, st, "description", "description", Kind::Area, ""))
                            }
                            "change_deadline" => {
                                (field(&page, action, st, "assignment_id", "assignment", Kind::Select(&assignments), ""))
                                (field(&page, action, st, "part", "part", Kind::Text, ""))
                                (field(&page, action, st, "deadline", "deadline", Kind::Date, ""))
                                (checkbox(&page, action, st, "to_be_agreed", "deadline_to_be_agreed"))
                            }
                            "cancel_assignment" => {
                                (field(&page, action, st, "assignment_id", "assignment", Kind::Select(&assignments), ""))
                                (field(&page, action, st, "reason", "reason", Kind::Text, ""))
                            }
                            "transfer_assignment" => {
                                (field(&page, action, st, "assignment_id", "assignment", Kind::Select(&assignments), ""))
                                (field(&page, action, st, "to_agency", "to_agency", Kind::Text, ""))
                                (field(&page, action, st, "effective", "effective_from", Kind::Date, ""))
                                (field(&page, action, st, "reason", "reason", Kind::Text, ""))
                            }
                            "add_requirement" => {
                                (field(&page, action, st, "text", "text", Kind::Area, ""))
                                (field(&page, action, st, "deadline", "deadline", Kind::Date, ""))
                                (checkbox(&page, action, st, "to_be_agreed", "deadline_to_be_agreed"))
                            }
                            "add_text" => {
                                (field(&page, action, st, "text", "text", Kind::Area, ""))
                            }
                            _ => {
                                (field(&page, action, st, "issued_on", "issued_on", Kind::Date, &today))
                                (field(&page, action, st, "number", "number_printed", Kind::Number, ""))
                            }
                        }
                        button type="submit" { (page.t(action_label(action))) }
                    }
                }
            }
        },
    );
    page.respond(status, body)
}

fn action_label(action: &str) -> &'static str {
    match action {
        "add_budget" => "add_budget",
        "add_assignment" => "add_assignment",
        "amend_assignment" => "amend_assignment",
        "change_deadline" => "change_deadline",
        "cancel_assignment" => "cancel_assignment",
        "transfer_assignment" => "transfer_assignment",
        "add_requirement" => "add_requirement",
        "add_text" => "add_text",
        _ => "issue_supplement",
    }
}

const ADD_CHANGE: &str = r#"mutation($id: ID!, $change: SupplementChangeInput!, $options: CommandOptions) {
  addSupplementChange(supplementId: $id, change: $change, options: $options) { position } }"#;
const REMOVE_CHANGE: &str = r#"mutation($id: ID!, $changeId: ID!, $options: CommandOptions) {
  removeSupplementChange(supplementId: $id, changeId: $changeId, options: $options) { position } }"#;
const ISSUE_SUPPLEMENT: &str = r#"mutation($id: ID!, $issuedOn: Date!, $number: Int, $options: CommandOptions) {
  issueSupplement(supplementId: $id, issuedOn: $issuedOn, number: $number, options: $options) { position } }"#;

/// `POST /supplements/{id}/{action}`: add a change to a draft supplement, or issue it.
pub async fn supplement_action(
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
    if action != "remove_change" && !SUPPLEMENT_FORMS.iter().any(|(a, _)| *a == action) {
        return page.message(StatusCode::NOT_FOUND, "not_found", "not_found.text");
    }
    let fs = FormState::failed(form.into_inner(), Vec::new());
    let mut errors: Vec<GqlError> = Vec::new();
    let options = forms::command_options(&fs);
    // Every change but a new assignment, a budget adjustment and free text names the
    // assignment it changes.
    let assignment = |errors: &mut Vec<GqlError>| {
        forms::required(&page, &fs, "assignment_id", errors);
        fs.opt("assignment_id")
    };
    let request = match action.as_str() {
        "add_budget" => {
            let chapter = forms::int(&page, &fs, "chapter", &mut errors);
            let post = forms::int(&page, &fs, "post", &mut errors);
            let total = forms::number(&page, &fs, "stated_total", &mut errors);
            for f in ["chapter", "post", "stated_total", "reason"] {
                forms::required(&page, &fs, f, &mut errors);
            }
            (
                ADD_CHANGE,
                json!({ "id": id, "options": options, "change": {
                "kind": "BUDGET_ADJUSTMENT", "chapter": chapter, "post": post,
                "statedTotal": total, "reason": fs.opt("reason"), "printed": fs.opt("printed"),
            } }),
            )
        }
        "add_assignment" => {
            forms::required(&page, &fs, "title", &mut errors);
            let deadline = fs
                .opt("deadline")
                .and_then(|_| forms::date(&page, &fs, "deadline", &mut errors));
            let parts = match deadline {
                Some(d) => json!([{ "deadline": d.format("%Y-%m-%d").to_string() }]),
                None => json!([{ "toBeAgreed": true }]),
            };
            (
                ADD_CHANGE,
                json!({ "id": id, "options": options, "change": {
                "kind": "ADD_ASSIGNMENT", "reference": fs.opt("reference"), "title": fs.opt("title"),
                "description": fs.opt("description"), "department": fs.opt("department"),
                "parts": parts,
            } }),
            )
        }
        "amend_assignment" => {
            let assignment_id = assignment(&mut errors);
            if fs.opt("title").is_none() && fs.opt("description").is_none() {
                errors.push(forms::invalid("title", page.t("title_or_description")));
            }
            (
                ADD_CHANGE,
                json!({ "id": id, "options": options, "change": {
                "kind": "AMEND_ASSIGNMENT", "assignmentId": assignment_id,
                "title": fs.opt("title"), "description": fs.opt("description") } }),
            )
        }
        "change_deadline" => {
            let assignment_id = assignment(&mut errors);
            let deadline = forms::opt_date(&page, &fs, "deadline", &mut errors);
            (
                ADD_CHANGE,
                json!({ "id": id, "options": options, "change": {
                "kind": "CHANGE_ASSIGNMENT_DEADLINE", "assignmentId": assignment_id,
                "part": fs.opt("part"), "deadline": deadline,
                "toBeAgreed": fs.value("to_be_agreed") == "true" } }),
            )
        }
        "cancel_assignment" => {
            let assignment_id = assignment(&mut errors);
            forms::required(&page, &fs, "reason", &mut errors);
            (
                ADD_CHANGE,
                json!({ "id": id, "options": options, "change": {
                "kind": "CANCEL_ASSIGNMENT", "assignmentId": assignment_id,
                "reason": fs.opt("reason") } }),
            )
        }
        "transfer_assignment" => {
            let assignment_id = assignment(&mut errors);
            forms::required(&page, &fs, "to_agency", &mut errors);
            forms::required(&page, &fs, "reason", &mut errors);
            let effective = forms::date(&page, &fs, "effective", &mut errors);
            (
                ADD_CHANGE,
                json!({ "id": id, "options": options, "change": {
                "kind": "TRANSFER_ASSIGNMENT", "assignmentId": assignment_id,
                "toAgency": fs.opt("to_agency").map(|a| a.to_uppercase()),
                "effective": effective.map(|d| d.format("%Y-%m-%d").to_string()),
                "reason": fs.opt("reason") } }),
            )
        }
        "add_requirement" => {
            forms::required(&page, &fs, "text", &mut errors);
            let deadline = forms::opt_date(&page, &fs, "deadline", &mut errors);
            (
                ADD_CHANGE,
                json!({ "id": id, "options": options, "change": {
                "kind": "ADD_REPORTING_REQUIREMENT", "text": fs.opt("text"),
                "deadline": deadline, "toBeAgreed": fs.value("to_be_agreed") == "true" } }),
            )
        }
        "add_text" => {
            forms::required(&page, &fs, "text", &mut errors);
            (
                ADD_CHANGE,
                json!({ "id": id, "options": options, "change": {
                "kind": "FREE_TEXT", "text": fs.opt("text") } }),
            )
        }
        "remove_change" => {
            forms::required(&page, &fs, "change_id", &mut errors);
            (
                REMOVE_CHANGE,
                json!({ "id": id, "options": options, "changeId": fs.opt("change_id") }),
            )
        }
        _ => {
            let on = forms::date(&page, &fs, "issued_on", &mut errors);
            // The API's `number` is unsigned and 32 bits: anything else is a field error here.
            let number = forms::int(&page, &fs, "number", &mut errors);
            if number.is_some_and(|n| n < 0) {
                errors.push(forms::invalid("number", page.t("not_negative")));
            }
            (
                ISSUE_SUPPLEMENT,
                json!({ "id": id, "options": options,
                "issuedOn": on.map(|d| d.format("%Y-%m-%d").to_string()), "number": number }),
            )
        }
    };
    let result = page.submit(&state, errors, request.0, request.1).await;
    match result {
        Ok(_) => page.see_other(&format!("/supplements/{id}")),
        Err(errors) => match errors[0].code.as_str() {
            "VALIDATION" | "RULE_VIOLATED" | "CONFLICT" => {
                let failed = FormState::failed(fs.values, errors);
                render_supplement(&state, page, &id, Some((action, failed))).await
            }
            // On a supplement the reader sees, "not found" is about the form (a change
            // already removed).
            "NOT_FOUND" if visible(&state, &page, SUPPLEMENT_VISIBLE, &id).await => {
                let failed = FormState::failed(fs.values, errors);
                render_supplement(&state, page, &id, Some((action, failed))).await
            }
            "FORBIDDEN" => forbidden(&state, page, SUPPLEMENT_VISIBLE, &id).await,
            _ => unavailable(page, &errors),
        },
    }
}

const IMPORT: &str = r#"mutation($text: String!, $ministry: String!, $agency: String!, $year: Int!, $apply: Boolean!) {
  importLetterText(text: $text, ministry: $ministry, agency: $agency, year: $year, apply: $apply) {
    preview applied } }"#;

const IMPORT_FIELDS: [&str; 3] = ["agency", "year", "text"];

/// The largest import form accepted: the API takes up to 2 MiB of text, and percent-encoding
/// makes each non-ASCII byte three.
pub const IMPORT_FORM_LIMIT: usize = 7 << 20;

/// `GET /import`: the form, filled from `?letter=MINISTRY:AGENCY:YEAR` when importing a
/// supplement to a letter.
pub async fn import_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let page = Page::of(&req, &state);
    if page.identity.is_none() {
        return page.redirect_to_login();
    }
    if role(&page) != Some(Role::Ministry) {
        return page.message(StatusCode::FORBIDDEN, "forbidden", "forbidden.text");
    }
    let q = query_map(req.query_string());
    let mut values = HashMap::new();
    if let Some(l) = q.get("letter") {
        let mut parts = l.split(':');
        if let (Some(_), Some(a), Some(y)) = (parts.next(), parts.next(), parts.next()) {
            values.insert("agency".to_owned(), a.to_owned());
            values.insert("year".to_owned(), y.to_owned());
            values.insert("text".to_owned(), String::new());
        }
    }
    let body = import_markup(&page, &FormState::failed(values, Vec::new()), None);
    page.respond(StatusCode::OK, body)
}

fn import_markup(page: &Page, fs: &FormState, result: Option<&Value>) -> Markup {
    let preview = result.map(|r| &r["preview"]);
    let applied = result.map(|r| &r["applied"]).filter(|a| !a.is_null());
    layout::page(
        page,
        page.t("import"),
        html! {
            p { a href="/letters" { (page.t("back_to_letters")) } }
            h1 { (page.t("import")) }
            p.rule { (page.t("import.help")) }
            @if let Some(a) = applied {
                section aria-labelledby="applied" {
                    h2 id="applied" { (page.t("import.applied")) }
                    p {
                        (page.t("import.commands")) ": " strong { (a["commands_applied"]) }
                        " · " (page.t("import.repeated")) ": " (a["commands_repeated"])
                    }
                    p { a href={ "/letters/" (s(&a["letter_id"])) } { (page.t("letter")) " " (s(&a["letter_id"])) } }
                    @let sups = a["supplements"].as_array().cloned().unwrap_or_default();
                    @if !sups.is_empty() {
                        ul { @for sid in &sups { li { a href={ "/supplements/" (s(sid)) } { (page.t("supplement_draft")) " " (s(sid)) } } } }
                    }
                }
            }
            form.action method="post" action="/import" id="form-import" {
                (forms::summary(page, fs, &IMPORT_FIELDS))
                (page.csrf_field())
                (field(page, "import", fs, "agency", "agency", Kind::Text, ""))
                (field(page, "import", fs, "year", "year", Kind::Number, ""))
                (field(page, "import", fs, "text", "import.text", Kind::Area, ""))
                button type="submit" name="action" value="preview" { (page.t("import.preview")) }
                @if preview.is_some() && applied.is_none() {
                    " "
                    button type="submit" name="action" value="apply" { (page.t("import.apply")) }
                }
            }
            @if let Some(p) = preview {
                (preview_markup(page, p))
            }
        },
    )
}

/// What the import recognised (letters and supplements with their goals, assignments,
/// budget lines and calendar), its warnings and the lines it could not place.
fn preview_markup(page: &Page, p: &Value) -> Markup {
    let warnings = p["warnings"].as_array().cloned().unwrap_or_default();
    let unparsed = p["unparsed"].as_array().cloned().unwrap_or_default();
    html! {
        section aria-labelledby="preview" {
            h2 id="preview" { (page.t("import.recognised")) }
            @for l in p["letters"].as_array().into_iter().flatten() {
                h3 {
                    @if l["kind"] == "supplement" { (page.t("supplement_no")) " " (l["number"]) ": " }
                    (s(&l["title"]))
                    @if let Some(d) = l["date"].as_str() { " (" (page.lang.date_str(d)) ")" }
                }
                @let goals = l["goals"].as_array().cloned().unwrap_or_default();
                @if !goals.is_empty() {
                    h4 { (page.t("goals")) " (" (goals.len()) ")" }
                    ul { @for g in &goals { li { (s(&g["section"])) " " (s(&g["text"])) } } }
                }
                @let assignments = l["assignments"].as_array().cloned().unwrap_or_default();
                @if !assignments.is_empty() {
                    h4 { (page.t("assignments")) " (" (assignments.len()) ")" }
                    table {
                        (layout::column_heads(page, &["reference", "title", "department", "deadline"]))
                        tbody { @for a in &assignments { tr {
                            td { (s(&a["reference"])) }
                            td { (s(&a["title"])) }
                            td { (s(&a["department"])) }
                            td {
                                @for d in a["deadlines"].as_array().into_iter().flatten() {
                                    @if let Some(part) = d["part"].as_str() { (part) ") " }
                                    (page.lang.date_str(s(&d["date"]))) " "
                                }
                                @if a["deadline_to_be_agreed"] == true { (page.t("to_be_agreed")) }
                            }
                        } } }
                    }
                }
                @let budget = l["budget_lines"].as_array().cloned().unwrap_or_default();
                @if !budget.is_empty() {
                    h4 { (page.t("budget")) " (" (budget.len()) ")" }
                    ul { @for b in &budget { li { (b["chapter"]) "/" (format!("{:02}", b["post"].as_u64().unwrap_or(0))) " " (s(&b["name"])) ": " (s(&b["amount_as_printed"])) } } }
                }
                @let cal = l["calendar"].as_array().cloned().unwrap_or_default();
                @if !cal.is_empty() {
                    h4 { (page.t("calendar")) " (" (cal.len()) ")" }
                    ul { @for c in &cal { li { (page.lang.date_str(s(&c["date"]))) ": " (s(&c["title"])) } } }
                }
            }
            h2 { (page.t("import.warnings")) " (" (warnings.len()) ")" }
            @if warnings.is_empty() { p { (page.t("import.no_warnings")) } } @else {
                ul.warnings { @for w in &warnings { li { (page.t("line")) " " (w["line"]) ": " (s(&w["message"])) } } }
            }
            h2 { (page.t("import.unparsed")) " (" (unparsed.len()) ")" }
            @if !unparsed.is_empty() {
                ul { @for u in &unparsed { li { (page.t("line")) " " (u["line"]) ": " code { (s(&u["text"])) } } } }
            }
        }
    }
}

/// `POST /import`: `action=preview` runs the dry run and shows what was recognised;
/// `action=apply` writes the drafts and shows what was written.
pub async fn import(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let (page, ministry) = match Page::signed_in_post(&req, &state, &form) {
        Ok(signed_in) => signed_in,
        Err(refused) => return *refused,
    };
    let fs = FormState::failed(form.into_inner(), Vec::new());
    let apply = fs.value("action") == "apply";
    let mut errors = Vec::new();
    forms::required(&page, &fs, "agency", &mut errors);
    forms::required(&page, &fs, "text", &mut errors);
    let year = forms::number(&page, &fs, "year", &mut errors);
    if year.is_none() && fs.opt("year").is_none() {
        errors.push(forms::invalid("year", page.t("required")));
    }
    let result = page
        .submit(
            &state,
            errors,
            IMPORT,
            json!({ "text": fs.value("text"), "ministry": ministry,
                "agency": fs.opt("agency").map(|a| a.to_uppercase()), "year": year,
                "apply": apply }),
        )
        .await;
    match result {
        Ok(d) => {
            let body = import_markup(&page, &fs, Some(&d["importLetterText"]));
            page.respond(StatusCode::OK, body)
        }
        Err(errors) => match form_refusal(page, errors) {
            Ok((page, errors)) => {
                let failed = FormState::failed(fs.values, errors);
                let body = import_markup(&page, &failed, None);
                page.respond(StatusCode::UNPROCESSABLE_ENTITY, body)
            }
            Err(answer) => *answer,
        },
    }
}
