//! Given / when / then tests for the Deadline rules, the monitor and the follow-up policy.

use chrono::{NaiveDate, TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::assignment::{
    AssignmentDelivered, AssignmentIssued, AssignmentSource, ExtensionGranted, IssuedPart,
    PartDeadlineChanged,
};
use crate::error::DomainErrorKind;
use crate::testing::*;
use crate::values::{AssignmentReference, Year};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}
fn org(s: &str) -> OrgCode {
    OrgCode::parse(s).unwrap()
}
fn obligation() -> Obligation {
    Obligation::AssignmentPart {
        assignment_id: AssignmentId(Uuid::from_u128(1)),
        part: None,
    }
}
fn set_event() -> DeadlineEvent {
    DeadlineEvent::DeadlineSet(DeadlineSet {
        obligation: obligation(),
        ministry: org("HOD"),
        agency: org("DMP"),
        due: date(2024, 3, 1),
        by: ministry_actor("HOD").by(),
        at: t0(),
    })
}
fn moved(from: NaiveDate, to: NaiveDate) -> DeadlineEvent {
    DeadlineEvent::DeadlineMoved(DeadlineMoved {
        from,
        to,
        cause: MoveCause::Other { reason: "x".into() },
        by: ministry_actor("HOD").by(),
        at: t0(),
    })
}

#[test]
fn given_nothing_when_ministry_sets_then_set() {
    TestFramework::<Deadline>::with(ministry_ctx("HOD"))
        .when(DeadlineCommand::Set {
            obligation: obligation(),
            ministry: org("HOD"),
            agency: org("DMP"),
            due: date(2024, 3, 1),
        })
        .then_expect_events(vec![set_event()]);
}

#[test]
fn given_set_when_set_again_then_conflict() {
    TestFramework::<Deadline>::with(ministry_ctx("HOD"))
        .given(vec![set_event()])
        .when(DeadlineCommand::Set {
            obligation: obligation(),
            ministry: org("HOD"),
            agency: org("DMP"),
            due: date(2024, 4, 1),
        })
        .then_expect_error_kind(DomainErrorKind::Conflict);
}

#[test]
fn given_set_when_moved_by_grant_then_history_shows_slip() {
    let rid = ExtensionRequestId(Uuid::from_u128(5));
    let state = TestFramework::<Deadline>::with(ministry_ctx("HOD"))
        .given(vec![set_event()])
        .when(DeadlineCommand::Move {
            new_due: date(2024, 4, 15),
            cause: MoveCause::ExtensionGranted { request_id: rid },
        })
        .then_expect_events(vec![DeadlineEvent::DeadlineMoved(DeadlineMoved {
            from: date(2024, 3, 1),
            to: date(2024, 4, 15),
            cause: MoveCause::ExtensionGranted { request_id: rid },
            by: ministry_actor("HOD").by(),
            at: t0(),
        })]);
    let d = state.details.unwrap();
    assert_eq!(d.slip_days(), 45);
    assert_eq!(d.moves.len(), 1);
}

#[test]
fn given_set_when_agency_moves_then_forbidden() {
    TestFramework::<Deadline>::with(agency_ctx("DMP"))
        .given(vec![set_event()])
        .when(DeadlineCommand::Move {
            new_due: date(2024, 4, 15),
            cause: MoveCause::Other { reason: "x".into() },
        })
        .then_expect_error_kind(DomainErrorKind::Forbidden);
}

#[test]
fn given_set_when_met_late_then_days_late_computed() {
    let state = TestFramework::<Deadline>::with(agency_ctx("DMP"))
        .given(vec![set_event()])
        .when(DeadlineCommand::Meet {
            delivery_id: Some(DeliveryId(Uuid::from_u128(9))),
            met_on: date(2024, 3, 11),
        })
        .state_after();
    let d = state.details.unwrap();
    assert_eq!(d.status, DeadlineStatus::Met);
    assert_eq!(d.met.unwrap().days_late(), 10);
}

#[test]
fn given_met_when_moved_or_waived_then_rule_violated() {
    let met = DeadlineEvent::DeadlineMet(DeadlineMet {
        delivery_id: None,
        met_on: date(2024, 2, 28),
        due_in_force: date(2024, 3, 1),
        by: agency_actor("DMP").by(),
        at: t0(),
    });
    TestFramework::<Deadline>::with(ministry_ctx("HOD"))
        .given(vec![set_event(), met])
        .when(DeadlineCommand::Waive { reason: "x".into() })
        .then_expect_error_containing(DomainErrorKind::RuleViolated, "met");
}

#[test]
fn given_set_when_waived_without_reason_then_validation() {
    TestFramework::<Deadline>::with(ministry_ctx("HOD"))
        .given(vec![set_event()])
        .when(DeadlineCommand::Waive { reason: " ".into() })
        .then_expect_validation_of("reason");
}

#[test]
fn given_open_deadline_when_monitor_runs_on_due_date_then_nothing() {
    let state = Deadline::replay(&[set_event()]);
    // 22:59 UTC on 1 March is 23:59 in Oslo: still the due date.
    assert!(
        state
            .detect_missed(Utc.with_ymd_and_hms(2024, 3, 1, 22, 59, 0).unwrap())
            .is_empty()
    );
}

#[test]
fn given_open_deadline_when_monitor_runs_after_oslo_midnight_then_missed_once() {
    let mut state = Deadline::replay(&[set_event()]);
    // 23:01 UTC on 1 March is 00:01 on 2 March in Oslo.
    let now = Utc.with_ymd_and_hms(2024, 3, 1, 23, 1, 0).unwrap();
    let events = state.detect_missed(now);
    assert_eq!(
        events,
        vec![DeadlineEvent::DeadlineMissed(DeadlineMissed {
            due: date(2024, 3, 1),
            detected_on: date(2024, 3, 2),
            at: now,
        })]
    );
    for e in &events {
        state.evolve(e);
    }
    let later = Utc.with_ymd_and_hms(2024, 3, 9, 12, 0, 0).unwrap();
    assert!(state.detect_missed(later).is_empty(), "not idempotent");
}

#[test]
fn given_missed_then_moved_when_new_date_passes_then_missed_again() {
    let missed = DeadlineEvent::DeadlineMissed(DeadlineMissed {
        due: date(2024, 3, 1),
        detected_on: date(2024, 3, 2),
        at: t0(),
    });
    let state = Deadline::replay(&[
        set_event(),
        missed,
        moved(date(2024, 3, 1), date(2024, 4, 1)),
    ]);
    let in_march = Utc.with_ymd_and_hms(2024, 3, 20, 12, 0, 0).unwrap();
    assert!(state.detect_missed(in_march).is_empty());
    let in_april = Utc.with_ymd_and_hms(2024, 4, 2, 12, 0, 0).unwrap();
    assert_eq!(state.detect_missed(in_april).len(), 1);
}

#[test]
fn given_waived_when_monitor_runs_then_nothing() {
    let waived = DeadlineEvent::DeadlineWaived(DeadlineWaived {
        reason: Text::new("reason", "cancelled").unwrap(),
        by: ministry_actor("HOD").by(),
        at: t0(),
    });
    let state = Deadline::replay(&[set_event(), waived]);
    assert!(
        state
            .detect_missed(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap())
            .is_empty()
    );
    assert!(Deadline::default().detect_missed(t0()).is_empty());
}

// ---- follow-up policy ----------------------------------------------------------------------------

fn issued_assignment() -> (Assignment, AssignmentEvent) {
    let e = AssignmentEvent::AssignmentIssued(AssignmentIssued {
        assignment_id: AssignmentId(Uuid::from_u128(1)),
        reference: Some(AssignmentReference::parse("TB2024-1").unwrap()),
        ministry: org("HOD"),
        agency: org("DMP"),
        year: Year::new(2024).unwrap(),
        department: None,
        title: Text::new("title", "Gebyr").unwrap(),
        description: String::new(),
        goal: None,
        source: AssignmentSource::Letter,
        parts: vec![
            IssuedPart {
                label: PartLabel::parse("a").ok(),
                title: None,
                deadline: DeadlineTerm::Date(date(2024, 3, 1)),
                deadline_id: DeadlineId(Uuid::from_u128(11)),
            },
            IssuedPart {
                label: PartLabel::parse("b").ok(),
                title: None,
                deadline: DeadlineTerm::ToBeAgreed,
                deadline_id: DeadlineId(Uuid::from_u128(12)),
            },
        ],
        collaborators: vec![],
        carried_over_from: None,
        by: ministry_actor("HOD").by(),
        at: t0(),
    });
    (Assignment::replay(std::slice::from_ref(&e)), e)
}

#[test]
fn given_issue_event_when_policy_runs_then_only_dated_parts_get_deadlines() {
    let (_, e) = issued_assignment();
    let cmds = follow_ups(&Assignment::default(), &e);
    assert_eq!(cmds.len(), 1);
    assert_eq!(cmds[0].0, DeadlineId(Uuid::from_u128(11)));
    assert!(matches!(&cmds[0].1, DeadlineCommand::Set { due, .. } if *due == date(2024, 3, 1)));
}

#[test]
fn given_grant_and_delivery_when_policy_runs_then_move_and_meet() {
    let (state, _) = issued_assignment();
    let grant = AssignmentEvent::ExtensionGranted(ExtensionGranted {
        request_id: ExtensionRequestId(Uuid::from_u128(3)),
        part: PartLabel::parse("a").ok(),
        new_date: date(2024, 4, 1),
        by: ministry_actor("HOD").by(),
        at: t0(),
    });
    assert!(matches!(
        &follow_ups(&state, &grant)[..],
        [(id, DeadlineCommand::Move { new_due, .. })] if *id == DeadlineId(Uuid::from_u128(11)) && *new_due == date(2024, 4, 1)
    ));
    let delivery = AssignmentEvent::AssignmentDelivered(AssignmentDelivered {
        delivery_id: DeliveryId(Uuid::from_u128(4)),
        part: PartLabel::parse("a").ok(),
        summary: Text::new("summary", "x").unwrap(),
        document_ref: None,
        also_answers: vec![],
        delivered_on: date(2024, 3, 30),
        deadline_in_force: Some(date(2024, 4, 1)),
        by: agency_actor("DMP").by(),
        at: t0(),
    });
    assert!(matches!(
        &follow_ups(&state, &delivery)[..],
        [(_, DeadlineCommand::Meet { met_on, .. })] if *met_on == date(2024, 3, 30)
    ));
    // A second delivery (after a return) does not meet the already met deadline again.
    let mut after = state.clone();
    after.evolve(&delivery);
    assert!(follow_ups(&after, &delivery).is_empty());
}

#[test]
fn given_open_part_when_supplement_sets_a_date_then_deadline_set_not_moved() {
    let (state, _) = issued_assignment();
    let changed = AssignmentEvent::PartDeadlineChanged(PartDeadlineChanged {
        part: PartLabel::parse("b").ok(),
        previous: DeadlineTerm::ToBeAgreed,
        deadline: DeadlineTerm::Date(date(2024, 9, 9)),
        source: ChangeSource::Supplement {
            supplement_id: SupplementId(Uuid::from_u128(8)),
            number: 2,
        },
        by: ministry_actor("HOD").by(),
        at: t0(),
    });
    assert!(matches!(
        &follow_ups(&state, &changed)[..],
        [(id, DeadlineCommand::Set { .. })] if *id == DeadlineId(Uuid::from_u128(12))
    ));
}
