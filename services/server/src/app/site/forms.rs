//! Form plumbing shared by the letter, supplement, import, calendar and deviation pages: the
//! values a failed form keeps, its errors placed beside the field they name (the GraphQL error's
//! `field`, or a check made here before the query for input the schema would reject without
//! naming a field), labelled inputs, and the parsing of dates and whole numbers.

use std::collections::HashMap;

use chrono::NaiveDate;
use maud::{Markup, html};

use super::{GqlError, Page};

/// What a submitted form held and what was wrong with it; empty for a fresh form.
#[derive(Default)]
pub struct FormState {
    pub values: HashMap<String, String>,
    pub errors: Vec<GqlError>,
}

impl FormState {
    pub fn failed(values: HashMap<String, String>, errors: Vec<GqlError>) -> FormState {
        FormState { values, errors }
    }

    pub fn value(&self, name: &str) -> &str {
        self.values.get(name).map(String::as_str).unwrap_or("")
    }

    /// The trimmed value, if not empty.
    pub fn opt(&self, name: &str) -> Option<String> {
        self.values
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    fn errors_for<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a GqlError> + 'a {
        self.errors
            .iter()
            .filter(move |e| e.form_field().as_deref() == Some(name))
    }

    /// Errors that name no field shown on the form; they go in the summary above it.
    pub fn general_errors<'a>(&'a self, fields: &'a [&str]) -> Vec<&'a GqlError> {
        self.errors
            .iter()
            .filter(|e| e.form_field().is_none_or(|f| !fields.contains(&f.as_str())))
            .collect()
    }
}

/// A field's input kind.
pub enum Kind<'a> {
    Text,
    Area,
    Date,
    Number,
    /// (value, label) pairs.
    Select(&'a [(&'a str, &'a str)]),
}

/// A labelled input named `name` (its id is `{form}-{name}`), with its errors beside it and
/// the value entered before, or `default` for a fresh form.
pub fn field(
    page: &Page,
    form: &str,
    state: &FormState,
    name: &str,
    label: &'static str,
    kind: Kind<'_>,
    default: &str,
) -> Markup {
    let id = format!("{form}-{name}");
    let errors: Vec<&GqlError> = state.errors_for(name).collect();
    let invalid = !errors.is_empty();
    let described = invalid.then(|| format!("{id}-error"));
    let value = if state.values.is_empty() {
        default
    } else {
        state.value(name)
    };
    html! {
        div {
            label for=(id) { (page.t(label)) }
            @for e in &errors {
                span.error id={ (id) "-error" } { (e.message) }
            }
            @match kind {
                Kind::Area => {
                    textarea id=(id) name=(name) aria-invalid=[invalid.then_some("true")]
                        aria-describedby=[described.as_deref()] { (value) }
                }
                Kind::Select(options) => {
                    select id=(id) name=(name) aria-invalid=[invalid.then_some("true")]
                        aria-describedby=[described.as_deref()] {
                        @for (v, l) in options {
                            option value=(v) selected[value == *v] { (l) }
                        }
                    }
                }
                _ => {
                    @let t = match kind { Kind::Date => "date", Kind::Number => "number", _ => "text" };
                    input type=(t) id=(id) name=(name) value=(value)
                        aria-invalid=[invalid.then_some("true")] aria-describedby=[described.as_deref()];
                }
            }
        }
    }
}

/// A labelled checkbox.
pub fn checkbox(
    page: &Page,
    form: &str,
    state: &FormState,
    name: &str,
    label: &'static str,
) -> Markup {
    let id = format!("{form}-{name}");
    html! {
        div.choice {
            input type="checkbox" id=(id) name=(name) value="true" checked[state.value(name) == "true"];
            " "
            label for=(id) { (page.t(label)) }
        }
    }
}

/// The summary of what is wrong, for errors no field on the form shows.
pub fn summary(page: &Page, state: &FormState, fields: &[&str]) -> Markup {
    let general = state.general_errors(fields);
    html! {
        @if !state.errors.is_empty() {
            div.errors role="alert" {
                p.error { (page.t("errors")) }
                @if !general.is_empty() {
                    ul { @for e in general { li { (e.message) } } }
                }
            }
        }
    }
}

/// A validation error for `field` made by the page itself.
pub fn invalid(field: &str, message: &str) -> GqlError {
    GqlError {
        code: "VALIDATION".into(),
        field: Some(field.into()),
        message: message.into(),
    }
}

/// A required `YYYY-MM-DD` date; its error is worded for the page.
pub fn date(
    page: &Page,
    state: &FormState,
    name: &str,
    errors: &mut Vec<GqlError>,
) -> Option<chrono::NaiveDate> {
    match state
        .opt(name)
        .map(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d"))
    {
        Some(Ok(d)) => Some(d),
        _ => {
            errors.push(invalid(name, page.t("bad_date")));
            None
        }
    }
}

/// A whole number, if given; a value that is not one is an error.
pub fn number(
    page: &Page,
    state: &FormState,
    name: &str,
    errors: &mut Vec<GqlError>,
) -> Option<i64> {
    let v = state.opt(name)?;
    match v.replace([' ', '\u{a0}'], "").parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push(invalid(name, page.t("bad_number")));
            None
        }
    }
}

/// A whole number that fits the API's `Int` (32 bits), if given: a larger one would fail the
/// query's parsing without naming a field, so it is refused here.
pub fn int(page: &Page, state: &FormState, name: &str, errors: &mut Vec<GqlError>) -> Option<i64> {
    let n = number(page, state, name, errors)?;
    if i32::try_from(n).is_err() {
        errors.push(invalid(name, page.t("bad_number")));
        return None;
    }
    Some(n)
}

/// An optional `YYYY-MM-DD` date as the API takes it: `None` when empty, an error when it
/// does not parse.
pub fn opt_date(
    page: &Page,
    state: &FormState,
    name: &str,
    errors: &mut Vec<GqlError>,
) -> Option<String> {
    state.opt(name)?;
    date(page, state, name, errors).map(|d| d.format("%Y-%m-%d").to_string())
}

/// The non-empty lines of a text area.
pub fn lines(state: &FormState, name: &str) -> Vec<String> {
    state
        .value(name)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A command's options from its form: the command id it carries (a resubmission is the same
/// command) and its reason, if it has one, kept with every event the command writes.
pub fn command_options(state: &FormState) -> serde_json::Value {
    serde_json::json!({ "commandId": state.opt("command_id"), "reason": state.opt("reason") })
}

/// A required field.
pub fn required(page: &Page, state: &FormState, name: &str, errors: &mut Vec<GqlError>) {
    if state.opt(name).is_none() {
        errors.push(invalid(name, page.t("required")));
    }
}

/// A date parameter: `Ok(None)` when absent or empty, `Err(())` when it does not parse.
pub fn date_param(q: &HashMap<String, String>, k: &str) -> Result<Option<NaiveDate>, ()> {
    match q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ()),
    }
}

/// A labelled date field showing `value`, marked invalid with its message when `bad`.
pub fn date_input(
    page: &Page,
    name: &str,
    label: &'static str,
    value: Option<NaiveDate>,
    bad: bool,
) -> Markup {
    html! {
        div {
            label for=(name) { (page.t(label)) }
            @if bad { span.error id={ (name) "-error" } { (page.t("bad_date")) } }
            input type="date" id=(name) name=(name) value=(value.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default())
                aria-invalid=[bad.then_some("true")] aria-describedby=[bad.then(|| format!("{name}-error"))];
        }
    }
}
