//! The ministry's page for issuing an assignment directly (`issueAssignment`): reference,
//! agency, year, department, goal, title, description and its parts, each with a deadline or
//! one to be agreed. A refused form comes back with its values and the errors beside their
//! fields; an issued assignment opens on its own page.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde_json::{Value, json};
use styr_workflow::domain::Role;

use super::forms::{self, FormState, Kind, field};
use super::pages::{form_refusal, s, unavailable};
use super::{AppState, GqlError, Page, layout};

/// Part rows on the form; empty ones are left out.
const PART_ROWS: usize = 3;

const FIELDS: [&str; 7] = [
    "reference",
    "agency",
    "year",
    "department",
    "goal",
    "title",
    "description",
];

const REFERENCE_DATA: &str =
    r#"query { referenceData { agencies { code name ministry } departments { code name } } }"#;

const ISSUE: &str = r#"mutation($input: IssueAssignmentInput!, $options: CommandOptions) {
  issueAssignment(input: $input, options: $options) { assignment { id } } }"#;

fn ministry(page: &Page) -> Option<String> {
    let identity = page.identity.as_ref()?;
    (identity.actor.role == Role::Ministry).then(|| identity.actor.organisation.as_str().to_owned())
}

/// `GET /assignments/new`.
pub async fn form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let page = Page::of(&req, &state);
    if page.identity.is_none() {
        return page.redirect_to_login();
    }
    if ministry(&page).is_none() {
        return page.message(StatusCode::FORBIDDEN, "forbidden", "forbidden.text");
    }
    let fresh = FormState::default();
    render(&state, page, &fresh, StatusCode::OK).await
}

/// `POST /assignments/new`: issues the assignment as the signed-in ministry.
pub async fn issue(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let (page, organisation) = match Page::signed_in_post(&req, &state, &form) {
        Ok(signed_in) => signed_in,
        Err(refused) => return *refused,
    };
    let fs = FormState::failed(form.into_inner(), Vec::new());
    let mut errors: Vec<GqlError> = Vec::new();
    forms::required(&page, &fs, "agency", &mut errors);
    forms::required(&page, &fs, "title", &mut errors);
    // The API's `year` is 32 bits: a larger number is a field error here, not a query that
    // fails to parse.
    let year = forms::int(&page, &fs, "year", &mut errors);
    if fs.opt("year").is_none() {
        errors.push(forms::invalid("year", page.t("required")));
    }
    // The rows sent, by their number on the form, so the API's `parts[i]` finds its row.
    let mut rows = Vec::new();
    let mut parts = Vec::new();
    for row in 0..PART_ROWS {
        let name = |f: &str| format!("part_{row}_{f}");
        let label = fs.opt(&name("label"));
        let title = fs.opt(&name("title"));
        let agreed = fs.value(&name("to_be_agreed")) == "true";
        let deadline = match fs.opt(&name("deadline")) {
            Some(_) => forms::date(&page, &fs, &name("deadline"), &mut errors),
            None => None,
        };
        let dated = fs.opt(&name("deadline")).is_some();
        // A label alone (the form suggests a, b, …) does not make a part.
        if title.is_none() && !agreed && !dated {
            continue;
        }
        if agreed && dated {
            errors.push(forms::invalid(
                &name("deadline"),
                page.t("deadline_or_agreed"),
            ));
        }
        rows.push(row);
        parts.push(json!({
            "label": label, "title": title, "toBeAgreed": agreed,
            "deadline": deadline.map(|d| d.format("%Y-%m-%d").to_string()),
        }));
    }
    let input = json!({
        "reference": fs.opt("reference").map(|r| r.to_uppercase()),
        "ministry": organisation,
        "agency": fs.opt("agency").map(|a| a.to_uppercase()),
        "year": year,
        "department": fs.opt("department").map(|d| d.to_uppercase()),
        "goal": fs.opt("goal"),
        "title": fs.opt("title"),
        "description": fs.value("description").trim(),
        "parts": parts,
    });
    let options = forms::command_options(&fs);
    let result = page
        .submit(
            &state,
            errors,
            ISSUE,
            json!({ "input": input, "options": options }),
        )
        .await;
    match result {
        Ok(d) => {
            let id = s(&d["issueAssignment"]["assignment"]["id"]).to_owned();
            page.see_other(&format!("/assignments/{id}"))
        }
        Err(errors) => match form_refusal(page, errors) {
            Ok((page, errors)) => {
                let errors = errors.into_iter().map(|e| on_row(e, &rows)).collect();
                let failed = FormState::failed(fs.values, errors);
                render(&state, page, &failed, StatusCode::UNPROCESSABLE_ENTITY).await
            }
            Err(answer) => *answer,
        },
    }
}

/// An error the API gave about `input.parts[i]` (or a field of it) named after its row on the
/// form: `part_{row}_label`, or the row's deadline for the part as a whole.
fn on_row(mut e: GqlError, rows: &[usize]) -> GqlError {
    let Some(rest) = e
        .field
        .as_deref()
        .and_then(|f| f.strip_prefix("input.parts["))
    else {
        return e;
    };
    let Some((i, after)) = rest.split_once(']') else {
        return e;
    };
    if let Some(row) = i.parse::<usize>().ok().and_then(|i| rows.get(i)) {
        let field = match after.strip_prefix('.') {
            Some("label") => "label",
            Some("title") => "title",
            _ => "deadline",
        };
        e.field = Some(format!("part_{row}_{field}"));
    }
    e
}

/// Registered codes as (code, "code – name") choices with an empty first one, or `None` while
/// none are registered (the form then takes a typed code).
fn choices(known: &Value, keep: impl Fn(&Value) -> bool) -> Option<Vec<(String, String)>> {
    let mut options: Vec<(String, String)> = known
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| keep(o))
        .map(|o| {
            let code = s(&o["code"]);
            (code.to_owned(), format!("{code} – {}", s(&o["name"])))
        })
        .collect();
    if options.is_empty() {
        return None;
    }
    options.sort();
    options.insert(0, (String::new(), "–".to_owned()));
    Some(options)
}

fn code_field(
    page: &Page,
    fs: &FormState,
    name: &str,
    label: &'static str,
    options: Option<&[(String, String)]>,
) -> Markup {
    match options {
        Some(options) => {
            let options: Vec<(&str, &str)> = options
                .iter()
                .map(|(v, l)| (v.as_str(), l.as_str()))
                .collect();
            field(page, "new", fs, name, label, Kind::Select(&options), "")
        }
        None => field(page, "new", fs, name, label, Kind::Text, ""),
    }
}

async fn render(state: &AppState, page: Page, fs: &FormState, status: StatusCode) -> HttpResponse {
    let data = match page.graphql(state, REFERENCE_DATA, json!({})).await {
        Ok(d) => d,
        Err(e) => return unavailable(page, &e),
    };
    let own = ministry(&page).unwrap_or_default();
    // The agencies this ministry governs, once registered.
    let agencies = choices(&data["referenceData"]["agencies"], |o| o["ministry"] == own);
    let departments = choices(&data["referenceData"]["departments"], |_| true);
    let year = styr_workflow::domain::oslo_date(state.workflow.now())
        .format("%Y")
        .to_string();
    let command_id = fs
        .opt("command_id")
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let mut fields: Vec<String> = FIELDS.iter().map(|f| (*f).to_owned()).collect();
    for row in 0..PART_ROWS {
        for f in ["label", "title", "deadline"] {
            fields.push(format!("part_{row}_{f}"));
        }
    }
    let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
    let body = layout::page(
        &page,
        page.t("new_assignment"),
        html! {
            p { a href="/" { (page.t("back_to_board")) } }
            h1 { (page.t("new_assignment")) }
            form.action method="post" action="/assignments/new" id="form-new_assignment" {
                (forms::summary(&page, fs, &fields))
                (page.csrf_field())
                input type="hidden" name="command_id" value=(command_id);
                (field(&page, "new", fs, "reference", "reference", Kind::Text, ""))
                (code_field(&page, fs, "agency", "agency", agencies.as_deref()))
                (field(&page, "new", fs, "year", "year", Kind::Number, &year))
                (code_field(&page, fs, "department", "department", departments.as_deref()))
                (field(&page, "new", fs, "goal", "goal", Kind::Text, ""))
                (field(&page, "new", fs, "title", "title", Kind::Text, ""))
                (field(&page, "new", fs, "description", "description", Kind::Area, ""))
                p.rule { (page.t("parts.help")) }
                @for row in 0..PART_ROWS {
                    @let label = ["a", "b", ""][row.min(2)];
                    fieldset {
                        legend { (page.t("part")) " " (row + 1) }
                        (field(&page, "new", fs, &format!("part_{row}_label"), "part_label", Kind::Text, label))
                        (field(&page, "new", fs, &format!("part_{row}_title"), "part_title", Kind::Text, ""))
                        (field(&page, "new", fs, &format!("part_{row}_deadline"), "deadline", Kind::Date, ""))
                        (forms::checkbox(&page, "new", fs, &format!("part_{row}_to_be_agreed"), "deadline_to_be_agreed"))
                    }
                }
                button type="submit" { (page.t("issue_assignment")) }
            }
        },
    );
    page.respond(status, body)
}
