//! Owns what crosses stream boundaries: [`AnyEvent`] (an event of any stream type) and
//! [`StreamAppend`] (the events one stream gets from a cross-aggregate decision), plus
//! [`carry_over`], which links an assignment to its continuation next year.

use crate::aggregate::{Aggregate, CommandContext, DomainEvent};
use crate::allocation_letter::{AllocationLetter, LetterEvent};
use crate::assignment::{Assignment, AssignmentCommand, AssignmentEvent};
use crate::calendar::{CalendarEvent, SteeringCalendarItem};
use crate::deadline::{Deadline, DeadlineEvent};
use crate::deviation::{DeviationEvent, DeviationReport};
use crate::error::{DomainError, EventDecodeError};
use crate::reference_data::{ReferenceData, ReferenceDataEvent};
use crate::supplement::{Supplement, SupplementEvent};
use crate::values::{AssignmentId, AssignmentReference};

/// Declares [`AnyEvent`] over every aggregate, so adding one is a single line here.
macro_rules! any_event {
    ($($variant:ident($agg:ty, $event:ty)),* $(,)?) => {
        /// An event of any stream type.
        #[derive(Debug, Clone, PartialEq)]
        pub enum AnyEvent {
            $($variant($event)),*
        }

        impl AnyEvent {
            /// Every stream type the domain knows.
            pub const STREAM_TYPES: &'static [&'static str] =
                &[$(<$agg as Aggregate>::STREAM_TYPE),*];

            pub fn stream_type(&self) -> &'static str {
                match self { $(AnyEvent::$variant(_) => <$agg as Aggregate>::STREAM_TYPE),* }
            }

            pub fn event_type(&self) -> &'static str {
                match self { $(AnyEvent::$variant(e) => e.event_type()),* }
            }

            pub fn schema_version(&self) -> u32 {
                match self { $(AnyEvent::$variant(e) => e.schema_version()),* }
            }

            pub fn to_payload(&self) -> serde_json::Value {
                match self { $(AnyEvent::$variant(e) => e.to_payload()),* }
            }

            /// Loads a stored event of the given stream type (running upcasters).
            pub fn from_stored(
                stream_type: &str,
                event_type: &str,
                schema_version: u32,
                payload: serde_json::Value,
            ) -> Result<Self, EventDecodeError> {
                $(
                    if stream_type == <$agg as Aggregate>::STREAM_TYPE {
                        return Ok(AnyEvent::$variant(<$event>::from_stored(
                            event_type,
                            schema_version,
                            payload,
                        )?));
                    }
                )*
                Err(EventDecodeError::UnknownEventType(format!("{stream_type}/{event_type}")))
            }
        }
    };
}

any_event! {
    Assignment(Assignment, AssignmentEvent),
    Letter(AllocationLetter, LetterEvent),
    Supplement(Supplement, SupplementEvent),
    Deadline(Deadline, DeadlineEvent),
    Calendar(SteeringCalendarItem, CalendarEvent),
    Deviation(DeviationReport, DeviationEvent),
    ReferenceData(ReferenceData, ReferenceDataEvent),
}

/// The events one stream receives from a cross-aggregate decision. The workflow appends all
/// of a decision's `StreamAppend`s in one transaction, each at the version it loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamAppend {
    pub stream_type: &'static str,
    pub stream_id: String,
    pub events: Vec<AnyEvent>,
}

/// Carries an assignment over to next year: the old stream records `AssignmentCarriedOver`
/// (link forward) and the new stream `AssignmentIssued` with `carried_over_from` (link back).
/// The new assignment's open parts have deadlines to be agreed.
pub fn carry_over(
    old: &Assignment,
    new_assignment_id: AssignmentId,
    new_reference: Option<AssignmentReference>,
    reason: String,
    ctx: &CommandContext,
) -> Result<Vec<StreamAppend>, DomainError> {
    let issue = old.next_year_issue(new_assignment_id, new_reference.clone())?;
    let old_id = old
        .details
        .as_ref()
        .map(|d| d.id)
        .ok_or_else(|| DomainError::not_found("the assignment has not been issued"))?;
    let old_events = old.decide(
        AssignmentCommand::CarryOver {
            new_assignment_id,
            new_reference,
            reason,
        },
        ctx,
    )?;
    let new_events =
        Assignment::default().decide(AssignmentCommand::Issue(Box::new(issue)), ctx)?;
    let wrap = |v: Vec<AssignmentEvent>| v.into_iter().map(AnyEvent::Assignment).collect();
    Ok(vec![
        StreamAppend {
            stream_type: Assignment::STREAM_TYPE,
            stream_id: old_id.to_string(),
            events: wrap(old_events),
        },
        StreamAppend {
            stream_type: Assignment::STREAM_TYPE,
            stream_id: new_assignment_id.to_string(),
            events: wrap(new_events),
        },
    ])
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::assignment::{AssignmentSource, IssueAssignment, Lifecycle, PartSpec};
    use crate::testing::*;
    use crate::values::{DeadlineTerm, OrgCode, Year};

    #[test]
    fn stream_types_are_distinct_snake_case() {
        let mut t = AnyEvent::STREAM_TYPES.to_vec();
        assert!(t.iter().all(|s| {
            s.starts_with(|c: char| c.is_ascii_lowercase())
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        }));
        t.sort();
        t.dedup();
        assert_eq!(t.len(), AnyEvent::STREAM_TYPES.len());
        assert!(matches!(
            AnyEvent::from_stored("nope", "X", 1, serde_json::json!({})),
            Err(EventDecodeError::UnknownEventType(_))
        ));
    }

    #[test]
    fn given_issued_assignment_when_carried_over_then_both_streams_link() {
        let ctx = ministry_ctx("HOD");
        let old_id = AssignmentId(Uuid::from_u128(1));
        let new_id = AssignmentId(Uuid::from_u128(2));
        let events = Assignment::default()
            .decide(
                AssignmentCommand::Issue(Box::new(IssueAssignment {
                    assignment_id: old_id,
                    reference: Some(AssignmentReference::parse("TB2024-9").unwrap()),
                    ministry: OrgCode::parse("HOD").unwrap(),
                    agency: OrgCode::parse("DMP").unwrap(),
                    year: Year::new(2024).unwrap(),
                    department: None,
                    title: "EUDAMED".into(),
                    description: String::new(),
                    goal: None,
                    source: AssignmentSource::Letter,
                    parts: vec![PartSpec {
                        label: None,
                        title: None,
                        deadline: DeadlineTerm::NoDeadline,
                    }],
                    collaborators: vec![],
                    carried_over_from: None,
                })),
                &ctx,
            )
            .unwrap();
        let old = Assignment::replay(&events);
        let appends = carry_over(
            &old,
            new_id,
            Some(AssignmentReference::parse("TB2025-4").unwrap()),
            "tidligst i 2026".into(),
            &ctx,
        )
        .unwrap();
        assert_eq!(appends[0].stream_id, old_id.to_string());
        assert_eq!(appends[1].stream_id, new_id.to_string());
        let unwrap = |a: &StreamAppend| -> Vec<AssignmentEvent> {
            a.events
                .iter()
                .map(|e| match e {
                    AnyEvent::Assignment(e) => e.clone(),
                    other => panic!("unexpected {other:?}"),
                })
                .collect()
        };
        let mut old_after = old.clone();
        for e in unwrap(&appends[0]) {
            old_after.evolve(&e);
        }
        let new = Assignment::replay(&unwrap(&appends[1]));
        let (o, n) = (old_after.details.unwrap(), new.details.unwrap());
        assert_eq!(o.lifecycle, Lifecycle::CarriedOver);
        assert_eq!(o.carried_over_to, Some(new_id));
        assert_eq!(n.carried_over_from, Some(old_id));
        assert_eq!(n.year.value(), 2025);
        assert_eq!(n.reference.unwrap().as_str(), "TB2025-4");
    }
}
