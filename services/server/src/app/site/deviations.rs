//! The deviation reports page: the reports the reader may see, significant ones (*vesentlige
//! avvik*) flagged with their reporting lag and whether it was too long, the form an agency
//! user reports one with (drafted and, unless kept as a draft, submitted at once), and the
//! dialogue on each report: the ministry acknowledges, asks and closes, the agency submits a
//! draft and answers.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde_json::{Value, json};
use styr_workflow::domain::Role;

use super::forms::{self, FormState, Kind, field};
use super::pages::{form_refusal, s, unavailable};
use super::{AppState, GqlError, Page, layout};

const DEVIATIONS: &str = r#"query {
  deviationReports { id ministry agency subject deviation deviationPerMille significant explanation
    measures discoveredOn submittedOn lagDays reportedLate status dialogue { question answer } }
  referenceData { agencies { code ministry } }
}"#;

/// The agency's assignments for the form's list (the board is already scoped to them).
const ASSIGNMENTS: &str = r#"query { board(first: 200) { nodes { id reference title } } }"#;

const FIELDS: [&str; 13] = [
    "ministry",
    "kind",
    "category",
    "goal",
    "assignment_id",
    "chapter",
    "post",
    "period",
    "periodised_budget",
    "actual",
    "explanation",
    "measures",
    "discovered_on",
];

fn status_key(status: &str) -> &'static str {
    match status {
        "draft" => "ds.draft",
        "submitted" => "ds.submitted",
        "acknowledged" => "ds.acknowledged",
        "follow_up_requested" => "ds.follow_up_requested",
        "answered" => "ds.answered",
        "closed" => "ds.closed",
        _ => "status",
    }
}

fn category_key(c: &str) -> &'static str {
    match c.to_ascii_uppercase().as_str() {
        "BUDGET" => "dc.budget",
        "GOAL_ACHIEVEMENT" => "dc.goal_achievement",
        "LAW_BREACH" => "dc.law_breach",
        "SECURITY_INCIDENT" => "dc.security_incident",
        "PUBLIC_INTEREST" => "dc.public_interest",
        _ => "dc.budget",
    }
}

/// A number or a string as text (kapittel is stored as a number, post as `"01"`).
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A budget deviation's period (`{"kind": "tertial1"}`, `{"kind": "date", "date": …}`).
fn period(page: &Page, p: &Value) -> String {
    let key = match s(&p["kind"]) {
        "tertial1" => "TERTIAL_1",
        "tertial2" => "TERTIAL_2",
        "half_year1" => "HALF_YEAR_1",
        "half_year2" => "HALF_YEAR_2",
        "date" => return format!("{} {}", page.t("as_of"), page.lang.date_str(s(&p["date"]))),
        _ => "YEAR",
    };
    page.t(super::pages::period_key(key)).to_owned()
}

/// What a report is about, in words.
fn subject(page: &Page, subject: &Value, titles: &HashMap<String, String>) -> Markup {
    html! {
        @match s(&subject["kind"]) {
            "budget" => {
                (page.t("dk.budget")) ": " (scalar(&subject["chapter"])) "/" (scalar(&subject["post"]))
                " (" (period(page, &subject["period"])) ")"
            }
            "goal" => {
                (page.t("dk.goal")) " " (s(&subject["goal"])) br;
                span.muted { (page.t(category_key(s(&subject["category"])))) }
            }
            "assignment" => {
                @let id = s(&subject["assignment_id"]);
                (page.t("dk.assignment")) ": "
                a href={ "/assignments/" (id) } { (titles.get(id).map_or(id, String::as_str)) }
                br; span.muted { (page.t(category_key(s(&subject["category"])))) }
            }
            other => { (other) }
        }
    }
}

pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let page = Page::of(&req, &state);
    if page.identity.is_none() {
        return page.redirect_to_login();
    }
    render(&state, page, None).await
}

/// The dialogue steps the reader's role may take on a report in `status`, in the domain's
/// order (it refuses the rest anyway; offering only these keeps the page honest).
fn steps(role: Option<Role>, status: &str) -> &'static [&'static str] {
    match (role, status) {
        (Some(Role::Agency), "draft") => &["submit"],
        (Some(Role::Agency), "follow_up_requested") => &["answer"],
        (Some(Role::Ministry), "submitted") => &["acknowledge", "follow_up"],
        (Some(Role::Ministry), "acknowledged") => &["follow_up", "close"],
        (Some(Role::Ministry), "answered") => &["acknowledge", "follow_up", "close"],
        _ => &[],
    }
}

fn step_key(step: &str) -> &'static str {
    match step {
        "submit" => "dv.submit",
        "acknowledge" => "dv.acknowledge",
        "follow_up" => "dv.follow_up",
        "answer" => "dv.answer",
        _ => "dv.close",
    }
}

/// The text a step needs, if any: (field, label).
fn step_text(step: &str) -> Option<(&'static str, &'static str)> {
    match step {
        "follow_up" => Some(("question", "dv.question")),
        "answer" => Some(("answer", "dv.answer_text")),
        _ => None,
    }
}

/// A dialogue step's form on one report; its field ids are `{step}-{report}-{field}`.
fn step_form(page: &Page, id: &str, step: &'static str, failed: &(String, FormState)) -> Markup {
    let form = format!("{step}-{id}");
    let empty = FormState::default();
    let st = if failed.0 == form { &failed.1 } else { &empty };
    html! {
        form.step method="post" action={ "/deviations/" (id) "/" (step) } id={ "form-" (form) } {
            (page.csrf_field())
            input type="hidden" name="command_id" value=(st.opt("command_id").unwrap_or_else(|| uuid::Uuid::now_v7().to_string()));
            @if let Some((name, label)) = step_text(step) {
                (field(page, &form, st, name, label, Kind::Area, ""))
            }
            @for e in st.general_errors(&["question", "answer"]) { p.error role="alert" { (e.message) } }
            button type="submit" { (page.t(step_key(step))) }
        }
    }
}

/// `failed` is the form that was refused: `deviation` (the report form) or `{step}-{id}`.
async fn render(state: &AppState, page: Page, failed: Option<(String, FormState)>) -> HttpResponse {
    let data = match page.graphql(state, DEVIATIONS, json!({})).await {
        Ok(d) => d,
        Err(e) => return unavailable(page, &e),
    };
    let agency = page
        .identity
        .as_ref()
        .filter(|i| i.actor.role == Role::Agency)
        .map(|i| i.actor.organisation.as_str().to_owned());
    let mut titles = HashMap::new();
    let mut assignments = Vec::new();
    if agency.is_some() {
        match page.graphql(state, ASSIGNMENTS, json!({})).await {
            Ok(d) => {
                for a in d["board"]["nodes"].as_array().into_iter().flatten() {
                    let label = match a["reference"].as_str() {
                        Some(r) => format!("{r} – {}", s(&a["title"])),
                        None => s(&a["title"]).to_owned(),
                    };
                    titles.insert(s(&a["id"]).to_owned(), label.clone());
                    assignments.push((s(&a["id"]).to_owned(), label));
                }
            }
            Err(e) => return unavailable(page, &e),
        }
    }
    // The agency's own ministry, as registered, fills in the form.
    let governing = agency.as_deref().and_then(|a| {
        data["referenceData"]["agencies"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| o["code"] == a)
            .and_then(|o| o["ministry"].as_str())
            .map(str::to_owned)
    });
    let reports = data["deviationReports"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let status = if failed.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let failed_step = failed.unwrap_or_default();
    let empty = FormState::default();
    let failed = if failed_step.0 == "deviation" {
        &failed_step.1
    } else {
        &empty
    };
    let role = page.identity.as_ref().map(|i| i.actor.role);
    let today = styr_workflow::domain::oslo_date(state.workflow.now())
        .format("%Y-%m-%d")
        .to_string();
    let kinds = [
        ("GOAL", page.t("dk.goal")),
        ("ASSIGNMENT", page.t("dk.assignment")),
        ("BUDGET", page.t("dk.budget")),
    ];
    let categories: Vec<(&str, &str)> = [
        "GOAL_ACHIEVEMENT",
        "BUDGET",
        "LAW_BREACH",
        "SECURITY_INCIDENT",
        "PUBLIC_INTEREST",
    ]
    .into_iter()
    .map(|c| (c, page.t(category_key(c))))
    .collect();
    let periods: Vec<(&str, &str)> = [
        "TERTIAL_1",
        "TERTIAL_2",
        "HALF_YEAR_1",
        "HALF_YEAR_2",
        "YEAR",
    ]
    .into_iter()
    .map(|p| (p, page.t(super::pages::period_key(p))))
    .collect();
    let mut assignment_options: Vec<(&str, &str)> = vec![("", page.t("choose"))];
    assignment_options.extend(assignments.iter().map(|(id, l)| (id.as_str(), l.as_str())));
    let body = layout::page(
        &page,
        page.t("deviations"),
        html! {
            h1 { (page.t("deviations")) }
            p.rule { (page.t("deviation.rule")) }
            @if reports.is_empty() { p { (page.t("no_deviations")) } } @else {
                table {
                    (layout::column_heads(&page, &["subject", "agency", "explanation", "discovered_on", "submitted_on", "lag", "status", "actions"]))
                    tbody { @for r in &reports {
                        @let significant = r["significant"].as_bool() == Some(true);
                        @let late = r["reportedLate"].as_bool() == Some(true);
                        tr class=[late.then_some("overdue")] {
                            td {
                                (subject(&page, &r["subject"], &titles))
                                @if significant { br; span.badge.red { (page.t("significant")) } }
                                @if let Some(d) = r["deviation"].as_i64() {
                                    br; span.muted { (page.t("deviation_amount")) ": " (d) }
                                }
                            }
                            td { (s(&r["agency"])) " → " (s(&r["ministry"])) }
                            td { (s(&r["explanation"]))
                                 @if let Some(m) = r["measures"].as_str() { br; span.muted { (page.t("measures")) ": " (m) } }
                                 @for q in r["dialogue"].as_array().into_iter().flatten() {
                                     p.dialogue {
                                         strong { (page.t("dv.question")) ": " } (s(&q["question"]))
                                         @if let Some(a) = q["answer"].as_str() { br; strong { (page.t("dv.answer_text")) ": " } (a) }
                                     }
                                 } }
                            td { (page.lang.date_str(s(&r["discoveredOn"]))) }
                            td { @if let Some(d) = r["submittedOn"].as_str() { (page.lang.date_str(d)) } @else { "–" } }
                            td {
                                (r["lagDays"]) " " (page.t("days"))
                                @if late { " " span.badge.overdue { (page.t("reported_late")) } }
                            }
                            td { (page.t(status_key(s(&r["status"])))) }
                            td { @for step in steps(role, s(&r["status"])) { (step_form(&page, s(&r["id"]), step, &failed_step)) } }
                        }
                    } }
                }
            }
            @if agency.is_some() {
                form.action method="post" action="/deviations" id="form-deviation" {
                    h2 { (page.t("report_deviation")) }
                    (forms::summary(&page, failed, &FIELDS))
                    (page.csrf_field())
                    input type="hidden" name="command_id" value=(failed.opt("command_id").unwrap_or_else(|| uuid::Uuid::now_v7().to_string()));
                    (field(&page, "deviation", failed, "ministry", "ministry", Kind::Text, governing.as_deref().unwrap_or("")))
                    (field(&page, "deviation", failed, "kind", "deviation_kind", Kind::Select(&kinds), "GOAL"))
                    fieldset {
                        legend { (page.t("dk.goal")) " / " (page.t("dk.assignment")) }
                        (field(&page, "deviation", failed, "goal", "goal_section", Kind::Text, ""))
                        (field(&page, "deviation", failed, "assignment_id", "dk.assignment", Kind::Select(&assignment_options), ""))
                        (field(&page, "deviation", failed, "category", "category", Kind::Select(&categories), "GOAL_ACHIEVEMENT"))
                        (forms::checkbox(&page, "deviation", failed, "significant", "significant_check"))
                    }
                    fieldset {
                        legend { (page.t("dk.budget")) }
                        (field(&page, "deviation", failed, "chapter", "chapter", Kind::Number, ""))
                        (field(&page, "deviation", failed, "post", "post", Kind::Number, ""))
                        (field(&page, "deviation", failed, "period", "period", Kind::Select(&periods), "TERTIAL_1"))
                        (field(&page, "deviation", failed, "periodised_budget", "periodised_budget", Kind::Number, ""))
                        (field(&page, "deviation", failed, "actual", "actual", Kind::Number, ""))
                    }
                    (field(&page, "deviation", failed, "explanation", "explanation", Kind::Area, ""))
                    (field(&page, "deviation", failed, "measures", "measures", Kind::Area, ""))
                    (field(&page, "deviation", failed, "discovered_on", "discovered_on", Kind::Date, &today))
                    (forms::checkbox(&page, "deviation", failed, "keep_draft", "keep_draft"))
                    button type="submit" { (page.t("report_deviation")) }
                }
            }
        },
    );
    page.respond(status, body)
}

const DRAFT: &str = r#"mutation($input: DeviationInput!, $options: CommandOptions) {
  draftDeviationReport(input: $input, options: $options) { report { id } } }"#;
const SUBMIT: &str = r#"mutation($id: ID!, $options: CommandOptions) {
  submitDeviationReport(id: $id, options: $options) { position } }"#;

/// `POST /deviations`: an agency user reports a deviation. It is drafted and then submitted
/// (two commands, as the API has them); a form that does not validate writes nothing.
pub async fn report(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let (page, agency) = match Page::signed_in_post(&req, &state, &form) {
        Ok(signed_in) => signed_in,
        Err(refused) => return *refused,
    };
    let fs = FormState::failed(form.into_inner(), Vec::new());
    let mut errors: Vec<GqlError> = Vec::new();
    forms::required(&page, &fs, "ministry", &mut errors);
    forms::required(&page, &fs, "explanation", &mut errors);
    let discovered = forms::date(&page, &fs, "discovered_on", &mut errors);
    let kind = match fs.value("kind") {
        k @ ("GOAL" | "ASSIGNMENT" | "BUDGET") => k,
        _ => "GOAL",
    };
    let mut input = json!({
        "ministry": fs.opt("ministry").map(|m| m.to_uppercase()), "agency": agency, "kind": kind,
        "explanation": fs.opt("explanation"), "measures": fs.opt("measures"),
        "discoveredOn": discovered.map(|d| d.format("%Y-%m-%d").to_string()),
    });
    match kind {
        "BUDGET" => {
            for f in ["chapter", "post", "periodised_budget", "actual"] {
                forms::required(&page, &fs, f, &mut errors);
            }
            input["chapter"] = json!(forms::number(&page, &fs, "chapter", &mut errors));
            input["post"] = json!(forms::number(&page, &fs, "post", &mut errors));
            input["periodisedBudget"] =
                json!(forms::number(&page, &fs, "periodised_budget", &mut errors));
            input["actual"] = json!(forms::number(&page, &fs, "actual", &mut errors));
            input["period"] = json!({ "kind": fs.opt("period").unwrap_or_else(|| "YEAR".into()) });
        }
        "GOAL" => {
            forms::required(&page, &fs, "goal", &mut errors);
            input["goal"] = json!(fs.opt("goal"));
        }
        _ => {
            forms::required(&page, &fs, "assignment_id", &mut errors);
            input["assignmentId"] = json!(fs.opt("assignment_id"));
        }
    }
    if kind != "BUDGET" {
        input["category"] = json!(
            fs.opt("category")
                .unwrap_or_else(|| "GOAL_ACHIEVEMENT".into())
        );
        input["significant"] = json!(fs.value("significant") == "true");
    }
    let options = forms::command_options(&fs);
    let result = page
        .submit(
            &state,
            errors,
            DRAFT,
            json!({ "input": input, "options": options }),
        )
        .await;
    let id = match result {
        Ok(d) => s(&d["draftDeviationReport"]["report"]["id"]).to_owned(),
        Err(errors) => {
            return match form_refusal(page, errors) {
                Ok((page, errors)) => {
                    let failed = FormState::failed(fs.values, errors);
                    render(&state, page, Some(("deviation".into(), failed))).await
                }
                Err(answer) => *answer,
            };
        }
    };
    if fs.value("keep_draft") != "true" {
        // Its own command id, derived from the form's, so a resubmitted form submits once.
        let submit_id = fs.opt("command_id").map(|c| {
            uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, format!("{c}/submit").as_bytes())
                .to_string()
        });
        let mut options = options;
        options["commandId"] = json!(submit_id);
        if let Err(e) = page
            .graphql(&state, SUBMIT, json!({ "id": id, "options": options }))
            .await
        {
            return unavailable(page, &e);
        }
    }
    page.see_other("/deviations")
}

/// `POST /deviations/{id}/{step}`: a step of the dialogue on one report.
pub async fn step(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let (page, _) = match Page::signed_in_post(&req, &state, &form) {
        Ok(signed_in) => signed_in,
        Err(refused) => return *refused,
    };
    let (id, step) = path.into_inner();
    let fs = FormState::failed(form.into_inner(), Vec::new());
    let options = forms::command_options(&fs);
    let mut errors = Vec::new();
    if let Some((name, _)) = step_text(&step) {
        forms::required(&page, &fs, name, &mut errors);
    }
    let (document, variables) = match step.as_str() {
        "submit" => (SUBMIT, json!({ "id": id, "options": options })),
        "acknowledge" => (
            r#"mutation($id: ID!, $options: CommandOptions) {
                acknowledgeDeviationReport(id: $id, options: $options) { position } }"#,
            json!({ "id": id, "options": options }),
        ),
        "follow_up" => (
            r#"mutation($id: ID!, $question: String!, $options: CommandOptions) {
                requestDeviationFollowUp(id: $id, question: $question, options: $options) { position } }"#,
            json!({ "id": id, "question": fs.value("question").trim(), "options": options }),
        ),
        "answer" => (
            r#"mutation($id: ID!, $answer: String!, $options: CommandOptions) {
                answerDeviationFollowUp(id: $id, answer: $answer, options: $options) { position } }"#,
            json!({ "id": id, "answer": fs.value("answer").trim(), "options": options }),
        ),
        "close" => (
            r#"mutation($id: ID!, $options: CommandOptions) {
                closeDeviationReport(id: $id, options: $options) { position } }"#,
            json!({ "id": id, "options": options }),
        ),
        _ => return page.message(StatusCode::NOT_FOUND, "not_found", "not_found.text"),
    };
    let result = page.submit(&state, errors, document, variables).await;
    match result {
        Ok(_) => page.see_other("/deviations"),
        Err(errors) => match errors[0].code.as_str() {
            "VALIDATION" | "RULE_VIOLATED" | "CONFLICT" => {
                let failed = FormState::failed(fs.values, errors);
                render(&state, page, Some((format!("{step}-{id}"), failed))).await
            }
            // As for assignments: a report the reader may not even see is "not found".
            "FORBIDDEN" => {
                let visible = page
                    .graphql(
                        &state,
                        "query($id: ID!) { deviationReport(id: $id) { id } }",
                        json!({ "id": id }),
                    )
                    .await;
                match visible {
                    Ok(_) => page.message(StatusCode::FORBIDDEN, "forbidden", "forbidden.text"),
                    Err(e) => unavailable(page, &e),
                }
            }
            _ => unavailable(page, &errors),
        },
    }
}
