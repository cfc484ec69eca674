//! Every failure a resolver returns becomes a GraphQL error with a stable `extensions.code`:
//! `UNAUTHENTICATED`, `FORBIDDEN`, `VALIDATION` (with `field`), `NOT_FOUND`, `CONFLICT`,
//! `RULE_VIOLATED`, `UNAVAILABLE` (retryable), `INTERNAL`. Internal detail is logged, never
//! sent.

use async_graphql::{Error, ErrorExtensions};
use styr_eventstore::StoreError;
use styr_workflow::WorkflowError;
use styr_workflow::domain::DomainError;

pub fn coded(code: &'static str, message: impl Into<String>) -> Error {
    Error::new(message).extend_with(|_, e| e.set("code", code))
}

pub fn unauthenticated() -> Error {
    coded(
        "UNAUTHENTICATED",
        "sign in: this needs a valid bearer token",
    )
}

pub fn forbidden(message: impl Into<String>) -> Error {
    coded("FORBIDDEN", message)
}

pub fn not_found(what: impl Into<String>) -> Error {
    coded("NOT_FOUND", what)
}

pub fn validation(field: &str, message: impl Into<String>) -> Error {
    let field = field.to_owned();
    Error::new(message).extend_with(move |_, e| {
        e.set("code", "VALIDATION");
        e.set("field", field.clone());
    })
}

pub fn domain(e: DomainError) -> Error {
    match e {
        DomainError::Forbidden(m) => forbidden(m),
        DomainError::Validation { field, message } => validation(&field, message),
        DomainError::RuleViolated(m) => coded("RULE_VIOLATED", m),
        DomainError::NotFound(m) => not_found(m),
        DomainError::Conflict(m) => coded("CONFLICT", m),
    }
}

pub fn workflow(e: WorkflowError) -> Error {
    match e {
        WorkflowError::Domain(d) => domain(d),
        WorkflowError::Contention { .. } => coded(
            "CONFLICT",
            "others changed this at the same moment; try again",
        )
        .extend_with(|_, e| e.set("retryable", true)),
        WorkflowError::Store(StoreError::Unavailable(detail)) => {
            tracing::warn!(%detail, "database unavailable");
            coded(
                "UNAVAILABLE",
                "the service is temporarily unavailable; try again shortly",
            )
            .extend_with(|_, e| e.set("retryable", true))
        }
        WorkflowError::BadStreamId(m) => validation("id", m),
        other => internal(other),
    }
}

pub fn internal(e: impl std::fmt::Display) -> Error {
    tracing::error!(error = %e, "internal error");
    coded(
        "INTERNAL",
        "internal error; it has been logged with the request id",
    )
}

/// Gives every error of a response a code: errors from parsing or validating the request
/// (wrong field, wrong argument type, limits) become `VALIDATION`; anything else without a
/// code becomes `INTERNAL`, with its message replaced so no detail leaks.
pub(crate) fn give_codes(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some());
        if has_code {
            continue;
        }
        // Arguments are coerced when their field resolves, so a malformed one (a date
        // like 2024-13-45) reports with a path: still the caller's input, not our fault.
        let bad_argument = error.message.starts_with("Failed to parse")
            || error.message.starts_with("Invalid value for argument");
        let code = if error.path.is_empty() || bad_argument {
            "VALIDATION"
        } else {
            "INTERNAL"
        };
        if code == "INTERNAL" {
            tracing::error!(message = %error.message, "resolver error without a code");
            error.message = "internal error; it has been logged with the request id".into();
        }
        error
            .extensions
            .get_or_insert_with(Default::default)
            .set("code", code);
    }
}
