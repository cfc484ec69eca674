//! Styringsdialog's pure domain: value types, aggregates (commands → events → state) and the
//! rules of the steering dialogue (*styringsdialog*) between a ministry and its agencies.
//! No IO, no async, no clock reads, no randomness: the actor, the time and new ids arrive in
//! a [`CommandContext`].
//!
//! Streams (stream type → stream id convention):
//! - `assignment` → [`AssignmentId`] as a hyphenated uuid; stable across transfer and for
//!   items printed without a reference number. The printed `TB2024-12` is an attribute.
//! - `allocation_letter` → `"{ministry}:{agency}:{year}"`, e.g. `HOD:DMP:2024`
//!   ([`allocation_letter::letter_stream_id`]); one letter per ministry, agency and year.
//! - `supplement` → [`SupplementId`] uuid (a draft has no number yet).
//! - `deadline` → [`DeadlineId`] uuid, handed out per part by the assignment.
//! - `calendar_item`, `deviation_report` → uuid chosen by the workflow.
//! - `reference_data` → [`reference_data::REFERENCE_DATA_STREAM_ID`] (a single stream).
//!
//! Cross-stream decisions ([`supplement::issue_supplement`], [`multi::carry_over`]) return
//! [`multi::StreamAppend`]s to be appended atomically; [`deadline::follow_ups`] maps
//! assignment events to deadline commands.

#[macro_use]
mod macros;

pub mod aggregate;
pub mod allocation_letter;
pub mod assignment;
pub mod calendar;
pub mod correspondence;
pub mod deadline;
pub mod deviation;
pub mod error;
pub mod multi;
pub mod reference_data;
pub mod supplement;
pub mod testing;
pub mod values;

pub use aggregate::{Actor, Aggregate, By, CommandContext, DomainEvent, Role, oslo_date};
pub use error::{DomainError, DomainErrorKind, EventDecodeError};
pub use values::*;
