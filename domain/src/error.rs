//! Owns the domain's two error types: [`DomainError`] (a command was refused; the message is
//! meant for the user) and [`EventDecodeError`] (a stored event could not be read back).

use thiserror::Error;

/// Why a command was refused. Every variant carries a message a desk officer understands;
/// none of them is worth retrying unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// The actor may not do this (wrong role, wrong ministry or agency, auditor, admin).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// An input value is missing or malformed; `field` names it.
    #[error("invalid {field}: {message}")]
    Validation { field: String, message: String },
    /// The input is well-formed but a business rule refuses it in the current state.
    #[error("rule violated: {0}")]
    RuleViolated(String),
    /// The command refers to something that does not exist (yet).
    #[error("not found: {0}")]
    NotFound(String),
    /// The command clashes with something that already exists (a number or reference reused).
    #[error("conflict: {0}")]
    Conflict(String),
}

/// The kind of a [`DomainError`], for tests and for mapping to protocol error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DomainErrorKind {
    Forbidden,
    Validation,
    RuleViolated,
    NotFound,
    Conflict,
}

impl DomainError {
    pub fn kind(&self) -> DomainErrorKind {
        match self {
            DomainError::Forbidden(_) => DomainErrorKind::Forbidden,
            DomainError::Validation { .. } => DomainErrorKind::Validation,
            DomainError::RuleViolated(_) => DomainErrorKind::RuleViolated,
            DomainError::NotFound(_) => DomainErrorKind::NotFound,
            DomainError::Conflict(_) => DomainErrorKind::Conflict,
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        DomainError::Forbidden(message.into())
    }

    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn rule(message: impl Into<String>) -> Self {
        DomainError::RuleViolated(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        DomainError::NotFound(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        DomainError::Conflict(message.into())
    }
}

/// A stored event could not be turned back into a domain event.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EventDecodeError {
    #[error("unknown event type {0:?}")]
    UnknownEventType(String),
    #[error("unsupported schema version {schema_version} for event type {event_type:?}")]
    UnsupportedSchemaVersion {
        event_type: String,
        schema_version: u32,
    },
    #[error("malformed payload for {event_type:?}: {message}")]
    MalformedPayload { event_type: String, message: String },
}
