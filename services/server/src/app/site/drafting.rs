//! Drafting a letter through the pages: the new-letter form (`draftLetter`); on a draft
//! letter's page, the forms that add goals, budget lines, printed chapter sums, the deviation
//! threshold, reporting requirements, calendar lines and listed assignments, with a remove
//! button beside each item; and once the letter is issued, the buttons by which its agency
//! reports a requirement met and its ministry waives one. A refused form comes back beside
//! itself on the letter page (`letters::letter_form_refused`).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde_json::{Value, json};
use styr_workflow::domain::Role;

use super::forms::{self, FormState, Kind, checkbox, field};
use super::letters::{command_id, letter_form_refused, role};
use super::pages::{form_refusal, s, unavailable};
use super::{AppState, GqlError, Page, layout};

/// The forms on a draft letter's page: (action, the fields each shows). The action is also
/// the key of its heading and button.
pub const LETTER_FORMS: [(&str, &[&str]); 7] = [
    (
        "add_goal",
        &[
            "section",
            "title",
            "assessment_criteria",
            "steering_parameters",
            "key_figures",
        ],
    ),
    ("add_budget_line", &["chapter", "post", "amount", "text"]),
    ("state_chapter_sum", &["chapter", "sum"]),
    ("set_threshold", &["amount", "per_mille"]),
    ("add_requirement", &["text", "due", "to_be_agreed"]),
    ("add_calendar_item", &["date", "printed_date", "text"]),
    ("list_assignment", &["assignment_id", "reference", "title"]),
];

const NEW_LETTER_FIELDS: [&str; 4] = ["agency", "year", "title", "case_ref"];

const AGENCIES: &str = "query { referenceData { agencies { code name } } }";

const DRAFT_LETTER: &str = r#"mutation($input: DraftLetterInput!, $options: CommandOptions) {
  draftLetter(input: $input, options: $options) { letter { id } } }"#;

/// `GET /letters/new`: a ministry officer starts a letter.
pub async fn new_letter(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let page = Page::of(&req, &state);
    if page.identity.is_none() {
        return page.redirect_to_login();
    }
    if role(&page) != Some(Role::Ministry) {
        return page.message(StatusCode::FORBIDDEN, "forbidden", "forbidden.text");
    }
    new_letter_page(&state, page, FormState::default(), StatusCode::OK).await
}

async fn new_letter_page(
    state: &AppState,
    page: Page,
    fs: FormState,
    status: StatusCode,
) -> HttpResponse {
    let data = match page.graphql(state, AGENCIES, json!({})).await {
        Ok(d) => d,
        Err(e) => return unavailable(page, &e),
    };
    let mut agencies = vec![(String::new(), page.t("choose").to_owned())];
    for a in data["referenceData"]["agencies"]
        .as_array()
        .into_iter()
        .flatten()
    {
        agencies.push((
            s(&a["code"]).to_owned(),
            format!("{} – {}", s(&a["code"]), s(&a["name"])),
        ));
    }
    let year = styr_workflow::domain::oslo_date(state.workflow.now())
        .format("%Y")
        .to_string();
    let body = layout::page(
        &page,
        page.t("new_letter"),
        html! {
            p { a href="/letters" { (page.t("back_to_letters")) } }
            h1 { (page.t("new_letter")) }
            form.action method="post" action="/letters" id="form-draft_letter" {
                (forms::summary(&page, &fs, &NEW_LETTER_FIELDS))
                (page.csrf_field())
                input type="hidden" name="command_id" value=(command_id(&fs));
                (field(&page, "draft_letter", &fs, "agency", "agency", Kind::Select(&borrowed(&agencies)), ""))
                (field(&page, "draft_letter", &fs, "year", "year", Kind::Number, &year))
                (field(&page, "draft_letter", &fs, "title", "title", Kind::Text, ""))
                (field(&page, "draft_letter", &fs, "case_ref", "case_ref", Kind::Text, ""))
                button type="submit" { (page.t("draft_letter")) }
            }
        },
    );
    page.respond(status, body)
}

/// `POST /letters`: drafts the signed-in ministry's letter and continues on its page.
pub async fn draft_letter(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let (page, ministry) = match Page::signed_in_post(&req, &state, &form) {
        Ok(signed_in) => signed_in,
        Err(refused) => return *refused,
    };
    let fs = FormState::failed(form.into_inner(), Vec::new());
    let mut errors = Vec::new();
    for f in ["agency", "year", "title"] {
        forms::required(&page, &fs, f, &mut errors);
    }
    let year = forms::int(&page, &fs, "year", &mut errors);
    let result = page
        .submit(
            &state,
            errors,
            DRAFT_LETTER,
            json!({ "options": forms::command_options(&fs), "input": {
            "ministry": ministry, "agency": fs.opt("agency").map(|a| a.to_uppercase()),
            "year": year, "title": fs.opt("title"), "caseRef": fs.opt("case_ref"),
        } }),
        )
        .await;
    match result {
        Ok(d) => page.see_other(&format!(
            "/letters/{}",
            s(&d["draftLetter"]["letter"]["id"])
        )),
        Err(errors) => match form_refusal(page, errors) {
            Ok((page, errors)) => {
                let failed = FormState::failed(fs.values, errors);
                new_letter_page(&state, page, failed, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(answer) => *answer,
        },
    }
}

const BOARD: &str = r#"query($filter: BoardFilterInput, $after: String) {
  board(filter: $filter, first: 200, after: $after) {
    pageInfo { hasNextPage endCursor } nodes { id reference title } } }"#;

/// The assignments of a ministry to an agency in `year` (the letter's) as
/// (id, "reference – title") choices, led by an empty "choose". The board is read page by
/// page to its end, so no assignment is left out of the list.
pub async fn assignment_choices(
    page: &Page,
    state: &AppState,
    ministry: &str,
    agency: &str,
    year: Option<i64>,
) -> Result<Vec<(String, String)>, Vec<GqlError>> {
    let filter = json!({ "ministry": ministry, "agency": agency, "year": year });
    let mut choices = vec![(String::new(), page.t("choose").to_owned())];
    let mut after: Option<String> = None;
    loop {
        let data = page
            .graphql(state, BOARD, json!({ "filter": filter, "after": after }))
            .await?;
        let board = &data["board"];
        for a in board["nodes"].as_array().into_iter().flatten() {
            let label = match a["reference"].as_str() {
                Some(r) => format!("{r} – {}", s(&a["title"])),
                None => s(&a["title"]).to_owned(),
            };
            choices.push((s(&a["id"]).to_owned(), label));
        }
        match board["pageInfo"]["endCursor"].as_str() {
            Some(cursor) if board["pageInfo"]["hasNextPage"] == true => {
                after = Some(cursor.to_owned());
            }
            _ => return Ok(choices),
        }
    }
}

/// Choices as a select takes them.
pub fn borrowed(choices: &[(String, String)]) -> Vec<(&str, &str)> {
    choices
        .iter()
        .map(|(v, l)| (v.as_str(), l.as_str()))
        .collect()
}

/// One of [`LETTER_FORMS`] on the letter `id`'s page.
pub fn letter_form(
    page: &Page,
    id: &str,
    action: &'static str,
    st: &FormState,
    assignments: &[(String, String)],
) -> Markup {
    let fields = LETTER_FORMS
        .iter()
        .find(|(a, _)| *a == action)
        .map_or(&[][..], |(_, f)| f);
    let f = |name: &str, label: &'static str, kind: Kind<'_>| {
        field(page, action, st, name, label, kind, "")
    };
    html! {
        form.action method="post" action={ "/letters/" (id) "/items/" (action) } id={ "form-" (action) } {
            h3 { (page.t(action)) }
            (forms::summary(page, st, fields))
            (page.csrf_field())
            input type="hidden" name="command_id" value=(command_id(st));
            @match action {
                "add_goal" => {
                    (f("section", "section", Kind::Text))
                    (f("title", "title", Kind::Text))
                    p.rule { (page.t("one_per_line")) }
                    (f("assessment_criteria", "assessment_criteria", Kind::Area))
                    (f("steering_parameters", "steering_parameters", Kind::Area))
                    (f("key_figures", "key_figures", Kind::Area))
                }
                "add_budget_line" => {
                    (f("chapter", "chapter", Kind::Number))
                    (f("post", "post", Kind::Number))
                    (f("amount", "amount", Kind::Number))
                    (f("text", "text", Kind::Text))
                }
                "state_chapter_sum" => {
                    (f("chapter", "chapter", Kind::Number))
                    (f("sum", "sum", Kind::Number))
                }
                "set_threshold" => {
                    (f("amount", "amount", Kind::Number))
                    (f("per_mille", "per_mille", Kind::Number))
                }
                "add_requirement" => {
                    (f("text", "text", Kind::Area))
                    (f("due", "deadline", Kind::Date))
                    (checkbox(page, action, st, "to_be_agreed", "deadline_to_be_agreed"))
                }
                "add_calendar_item" => {
                    (f("date", "date", Kind::Date))
                    (f("printed_date", "printed_date", Kind::Text))
                    (f("text", "text", Kind::Text))
                }
                _ => {
                    (f("assignment_id", "assignment", Kind::Select(&borrowed(assignments))))
                    (f("reference", "reference", Kind::Text))
                    (f("title", "title", Kind::Text))
                }
            }
            button type="submit" { (page.t(action)) }
        }
    }
}

/// The button that removes the item `item` (its id) from the draft letter `id`; `what`
/// names the item for a screen reader.
pub fn remove_button(page: &Page, id: &str, item: &Value, what: &str) -> Markup {
    html! {
        " "
        form.inline method="post" action={ "/letters/" (id) "/items/remove_item" } {
            (page.csrf_field())
            // A fresh command id: a double submit is then one command, not a second remove
            // refused as "not found".
            input type="hidden" name="command_id" value=(command_id(&FormState::default()));
            input type="hidden" name="item_id" value=(s(item));
            button type="submit" aria-label={ (page.t("remove")) ": " (what) } { (page.t("remove")) }
        }
    }
}

/// What the reader's role may do with an open requirement `r` of the issued letter `id`: the
/// agency reports it met, the ministry waives it with a reason.
pub fn requirement_actions(
    page: &Page,
    id: &str,
    r: &Value,
    failed_action: &str,
    failed: &FormState,
) -> Markup {
    let item = s(&r["id"]);
    let empty = FormState::default();
    let st = if failed_action == "waive_requirement" && failed.value("item_id") == item {
        failed
    } else {
        &empty
    };
    html! {
        @if r["deadlineStatus"] == "open" {
            @match role(page) {
                Some(Role::Agency) => {
                    form.inline method="post" action={ "/letters/" (id) "/items/meet_requirement" } {
                        (page.csrf_field())
                        input type="hidden" name="command_id" value=(command_id(&empty));
                        input type="hidden" name="item_id" value=(item);
                        button type="submit" { (page.t("meet_requirement")) }
                    }
                }
                Some(Role::Ministry) => {
                    form.step method="post" action={ "/letters/" (id) "/items/waive_requirement" } {
                        (page.csrf_field())
                        input type="hidden" name="command_id" value=(command_id(st));
                        input type="hidden" name="item_id" value=(item);
                        (field(page, &format!("waive-{item}"), st, "reason", "reason", Kind::Text, ""))
                        button type="submit" { (page.t("waive_requirement")) }
                    }
                }
                _ => {}
            }
        }
    }
}

const ADD_GOAL: &str = r#"mutation($letterId: ID!, $goal: GoalInput!, $options: CommandOptions) {
  addGoal(letterId: $letterId, goal: $goal, options: $options) { position } }"#;
const ADD_BUDGET_LINE: &str = r#"mutation($letterId: ID!, $line: BudgetLineInput!, $options: CommandOptions) {
  addBudgetLine(letterId: $letterId, line: $line, options: $options) { position } }"#;
const STATE_CHAPTER_SUM: &str = r#"mutation($letterId: ID!, $chapter: Int!, $sum: Int!, $options: CommandOptions) {
  stateChapterSum(letterId: $letterId, chapter: $chapter, sum: $sum, options: $options) { position } }"#;
const SET_THRESHOLD: &str = r#"mutation($letterId: ID!, $amount: Int, $perMille: Int, $options: CommandOptions) {
  setDeviationThreshold(letterId: $letterId, amount: $amount, perMille: $perMille, options: $options) { position } }"#;
const ADD_REQUIREMENT: &str = r#"mutation($letterId: ID!, $text: String!, $due: Date, $toBeAgreed: Boolean!, $options: CommandOptions) {
  addReportingRequirement(letterId: $letterId, text: $text, due: $due, toBeAgreed: $toBeAgreed, options: $options) { position } }"#;
const ADD_CALENDAR_ITEM: &str = r#"mutation($letterId: ID!, $date: Date!, $printedDate: String, $text: String!, $options: CommandOptions) {
  addCalendarItem(letterId: $letterId, date: $date, printedDate: $printedDate, text: $text, options: $options) { position } }"#;
const LIST_ASSIGNMENT: &str = r#"mutation($letterId: ID!, $assignmentId: ID!, $reference: String, $title: String!, $options: CommandOptions) {
  listAssignment(letterId: $letterId, assignmentId: $assignmentId, reference: $reference, title: $title, options: $options) { position } }"#;
const REMOVE_ITEM: &str = r#"mutation($letterId: ID!, $itemId: ID!, $options: CommandOptions) {
  removeLetterItem(letterId: $letterId, itemId: $itemId, options: $options) { position } }"#;
const MEET_REQUIREMENT: &str = r#"mutation($letterId: ID!, $itemId: ID!, $options: CommandOptions) {
  meetReportingRequirement(letterId: $letterId, itemId: $itemId, options: $options) { position } }"#;
const WAIVE_REQUIREMENT: &str = r#"mutation($letterId: ID!, $itemId: ID!, $reason: String!, $options: CommandOptions) {
  waiveReportingRequirement(letterId: $letterId, itemId: $itemId, reason: $reason, options: $options) { position } }"#;

/// The mutation an action runs on the letter `id` and its variables; `None` for an unknown
/// action. What the schema would reject without naming a field (a missing value, a date or
/// number that does not parse) is added to `errors` instead.
fn mutation(
    page: &Page,
    action: &str,
    id: &str,
    fs: &FormState,
    errors: &mut Vec<GqlError>,
) -> Option<(&'static str, Value)> {
    let required = |names: &[&str], errors: &mut Vec<GqlError>| {
        for n in names {
            forms::required(page, fs, n, errors);
        }
    };
    let (document, variables) = match action {
        "add_goal" => {
            required(&["section", "title"], errors);
            (
                ADD_GOAL,
                json!({ "goal": {
                    "section": fs.opt("section"), "title": fs.opt("title"),
                    "assessmentCriteria": forms::lines(fs, "assessment_criteria"),
                    "steeringParameters": forms::lines(fs, "steering_parameters"),
                    "keyFigures": forms::lines(fs, "key_figures"),
                } }),
            )
        }
        "add_budget_line" => {
            required(&["chapter", "post", "amount", "text"], errors);
            let line = json!({
                "chapter": forms::int(page, fs, "chapter", errors),
                "post": forms::int(page, fs, "post", errors),
                "amount": forms::number(page, fs, "amount", errors),
                "text": fs.opt("text"),
            });
            (ADD_BUDGET_LINE, json!({ "line": line }))
        }
        "state_chapter_sum" => {
            required(&["chapter", "sum"], errors);
            let chapter = forms::int(page, fs, "chapter", errors);
            let sum = forms::number(page, fs, "sum", errors);
            (STATE_CHAPTER_SUM, json!({ "chapter": chapter, "sum": sum }))
        }
        "set_threshold" => {
            let amount = forms::number(page, fs, "amount", errors);
            let per_mille = forms::int(page, fs, "per_mille", errors);
            if per_mille.is_some_and(|p| p < 0) {
                errors.push(forms::invalid("per_mille", page.t("not_negative")));
            }
            (
                SET_THRESHOLD,
                json!({ "amount": amount, "perMille": per_mille }),
            )
        }
        "add_requirement" => {
            required(&["text"], errors);
            let due = forms::opt_date(page, fs, "due", errors);
            (
                ADD_REQUIREMENT,
                json!({ "text": fs.opt("text"), "due": due,
                        "toBeAgreed": fs.value("to_be_agreed") == "true" }),
            )
        }
        "add_calendar_item" => {
            required(&["text"], errors);
            let date = forms::date(page, fs, "date", errors);
            (
                ADD_CALENDAR_ITEM,
                json!({ "date": date.map(|d| d.format("%Y-%m-%d").to_string()),
                        "printedDate": fs.opt("printed_date"), "text": fs.opt("text") }),
            )
        }
        "list_assignment" => {
            required(&["assignment_id", "title"], errors);
            (
                LIST_ASSIGNMENT,
                json!({ "assignmentId": fs.opt("assignment_id"),
                        "reference": fs.opt("reference"), "title": fs.opt("title") }),
            )
        }
        "remove_item" | "meet_requirement" => {
            required(&["item_id"], errors);
            let document = if action == "remove_item" {
                REMOVE_ITEM
            } else {
                MEET_REQUIREMENT
            };
            (document, json!({ "itemId": fs.opt("item_id") }))
        }
        "waive_requirement" => {
            required(&["item_id", "reason"], errors);
            (
                WAIVE_REQUIREMENT,
                json!({ "itemId": fs.opt("item_id"), "reason": fs.opt("reason") }),
            )
        }
        _ => return None,
    };
    let mut variables = variables;
    variables["letterId"] = json!(id);
    variables["options"] = forms::command_options(fs);
    Some((document, variables))
}

/// `POST /letters/{id}/items/{action}`: one of [`LETTER_FORMS`], or a button beside an item
/// (`remove_item`, `meet_requirement`, `waive_requirement`).
pub async fn item_action(
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
    let fs = FormState::failed(form.into_inner(), Vec::new());
    let mut errors = Vec::new();
    let Some((document, variables)) = mutation(&page, &action, &id, &fs, &mut errors) else {
        return page.message(StatusCode::NOT_FOUND, "not_found", "not_found.text");
    };
    let result = page.submit(&state, errors, document, variables).await;
    match result {
        Ok(_) => page.see_other(&format!("/letters/{id}")),
        Err(errors) => letter_form_refused(&state, page, &id, &action, fs.values, errors).await,
    }
}
