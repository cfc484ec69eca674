//! Given / when / then tests for the Deadline rules, the monitor and the follow-up policy.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::assignment::{
    AssignmentCommand, AssignmentDelivered, AssignmentIssued, AssignmentSource, ExtensionGranted,
    IssuedPart, PartDeadlineChanged,
};
use crate::error::DomainError;
use crate::error::DomainErrorKind;
use crate::testing::*;
use crate::values::{AssignmentReference, Year};

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
    // While the deadline is met, a delivery implies nothing more (only a return reopens it).
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

// ---- the policy end to end: assignment commands with their deadline follow-ups ---------------

/// One assignment and its Deadline streams, driven the way the workflow drives them: decide
/// the assignment command, run `follow_ups` for each event against the state before it,
/// decide each deadline command as the same actor, and keep all of it or none of it.
#[derive(Default)]
struct World {
    assignment: Assignment,
    deadlines: std::collections::BTreeMap<DeadlineId, Deadline>,
    deadline_log: Vec<(DeadlineId, DeadlineEvent)>,
}

impl World {
    fn run(
        &mut self,
        ctx: &CommandContext,
        command: AssignmentCommand,
    ) -> Result<Vec<AssignmentEvent>, DomainError> {
        let events = self.assignment.decide(command, ctx)?;
        let mut state = self.assignment.clone();
        let mut deadlines = self.deadlines.clone();
        let mut log = Vec::new();
        for e in &events {
            for (id, cmd) in follow_ups(&state, e) {
                let d = deadlines.entry(id).or_default();
                for de in d.decide(cmd, ctx)? {
                    crate::testing::assert_round_trips(&de);
                    d.evolve(&de);
                    log.push((id, de));
                }
            }
            state.evolve(e);
        }
        self.assignment = state;
        self.deadlines = deadlines;
        self.deadline_log.extend(log);
        Ok(events)
    }

    #[track_caller]
    fn ok(&mut self, ctx: &CommandContext, command: AssignmentCommand) -> Vec<AssignmentEvent> {
        self.run(ctx, command)
            .unwrap_or_else(|e| panic!("refused: {e}"))
    }

    fn deadline(&self, id: u128) -> &DeadlineDetails {
        self.deadlines[&DeadlineId(Uuid::from_u128(id))]
            .details
            .as_ref()
            .expect("deadline set")
    }

    /// The deadline event types stream `id` received, in order.
    fn history(&self, id: u128) -> Vec<&'static str> {
        self.deadline_log
            .iter()
            .filter(|(d, _)| *d == DeadlineId(Uuid::from_u128(id)))
            .map(|(_, e)| crate::DomainEvent::event_type(e))
            .collect()
    }

    /// Part a (due 1 March, deadline 11) and part b (to be agreed, deadline 12), as issued.
    fn issued() -> Self {
        let (assignment, e) = issued_assignment();
        let mut w = World::default();
        for (id, cmd) in follow_ups(&Assignment::default(), &e) {
            let d = w.deadlines.entry(id).or_default();
            for de in d.decide(cmd, &ministry_ctx("HOD")).unwrap() {
                d.evolve(&de);
                w.deadline_log.push((id, de));
            }
        }
        w.assignment = assignment;
        w
    }
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> CommandContextAt {
    CommandContextAt(Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap())
}

/// A UTC instant to build contexts at.
struct CommandContextAt(DateTime<Utc>);

impl CommandContextAt {
    fn hod(&self) -> CommandContext {
        ctx_at(ministry_actor("HOD"), self.0)
    }
    fn agency(&self, code: &str) -> CommandContext {
        ctx_at(agency_actor(code), self.0)
    }
}

fn a() -> Option<PartLabel> {
    PartLabel::parse("a").ok()
}
fn b() -> Option<PartLabel> {
    PartLabel::parse("b").ok()
}
fn deliver(part: Option<PartLabel>) -> AssignmentCommand {
    AssignmentCommand::Deliver {
        part,
        summary: "report sent".into(),
        document_ref: None,
        also_answers: vec![],
    }
}
fn transfer(effective: NaiveDate) -> AssignmentCommand {
    AssignmentCommand::Transfer {
        to_agency: org("HDIR"),
        reason: "the task moves to Hdir".into(),
        effective,
        source: ChangeSource::Direct,
    }
}
fn change_a(deadline: DeadlineTerm) -> AssignmentCommand {
    AssignmentCommand::ChangeDeadline {
        part: a(),
        deadline,
        source: ChangeSource::Direct,
    }
}

#[test]
fn given_transfer_when_receiving_agency_delivers_after_effective_date_then_deadline_met_by_it() {
    let mut w = World::issued();
    w.ok(&at(2024, 2, 5, 9, 0).hod(), transfer(date(2024, 2, 15)));
    assert_eq!(w.history(11), ["DeadlineSet", "DeadlineReassigned"]);
    assert_eq!(w.deadline(11).agency, org("HDIR"));
    w.ok(&at(2024, 2, 20, 9, 0).agency("HDIR"), deliver(a()));
    let d = w.deadline(11);
    assert_eq!(d.status, DeadlineStatus::Met);
    let met = d.met.as_ref().unwrap();
    assert_eq!(met.by.organisation, org("HDIR"));
    assert_eq!(met.met_on, date(2024, 2, 20));
}

#[test]
fn given_transfer_not_yet_effective_when_old_agency_delivers_then_deadline_met_by_it() {
    let mut w = World::issued();
    w.ok(&at(2024, 2, 5, 9, 0).hod(), transfer(date(2024, 6, 1)));
    w.ok(&at(2024, 2, 20, 9, 0).agency("DMP"), deliver(a()));
    assert_eq!(w.deadline(11).status, DeadlineStatus::Met);
    assert_eq!(
        w.deadline(11).met.as_ref().unwrap().by.organisation,
        org("DMP")
    );
}

#[test]
fn given_transfer_when_open_part_gets_a_date_then_deadline_set_for_original_agency_and_reassigned()
{
    let mut w = World::issued();
    w.ok(&at(2024, 2, 5, 9, 0).hod(), transfer(date(2024, 6, 1)));
    w.ok(
        &at(2024, 2, 6, 9, 0).hod(),
        AssignmentCommand::AgreeDeadline {
            part: b(),
            date: date(2024, 9, 1),
        },
    );
    assert_eq!(w.history(12), ["DeadlineSet", "DeadlineReassigned"]);
    let d = w.deadline(12);
    assert_eq!(d.agency_on(date(2024, 5, 31)), &org("DMP"));
    assert_eq!(d.agency_on(date(2024, 6, 1)), &org("HDIR"));
    // After the effective date the receiving agency meets it.
    w.ok(&at(2024, 8, 1, 9, 0).agency("HDIR"), deliver(b()));
    assert_eq!(w.deadline(12).status, DeadlineStatus::Met);
}

#[test]
fn given_date_made_to_be_agreed_when_deadline_agreed_then_deadline_reinstated() {
    let mut w = World::issued();
    w.ok(
        &at(2024, 2, 6, 9, 0).hod(),
        change_a(DeadlineTerm::ToBeAgreed),
    );
    assert_eq!(w.deadline(11).status, DeadlineStatus::Waived);
    w.ok(
        &at(2024, 2, 7, 9, 0).hod(),
        AssignmentCommand::AgreeDeadline {
            part: a(),
            date: date(2024, 5, 1),
        },
    );
    assert_eq!(
        w.history(11),
        ["DeadlineSet", "DeadlineWaived", "DeadlineReinstated"]
    );
    let d = w.deadline(11);
    assert_eq!(d.status, DeadlineStatus::Open);
    assert_eq!(d.due, date(2024, 5, 1));
    assert_eq!(d.reinstatements[0].previous_due, date(2024, 3, 1));
    assert_eq!(d.slip_days(), 61);
}

#[test]
fn given_date_removed_when_a_date_given_again_then_reinstated_and_movable() {
    let mut w = World::issued();
    w.ok(
        &at(2024, 2, 6, 9, 0).hod(),
        change_a(DeadlineTerm::NoDeadline),
    );
    w.ok(
        &at(2024, 2, 7, 9, 0).hod(),
        change_a(DeadlineTerm::Date(date(2024, 4, 1))),
    );
    w.ok(
        &at(2024, 2, 8, 9, 0).hod(),
        change_a(DeadlineTerm::Date(date(2024, 4, 15))),
    );
    assert_eq!(
        w.history(11),
        [
            "DeadlineSet",
            "DeadlineWaived",
            "DeadlineReinstated",
            "DeadlineMoved"
        ]
    );
    assert_eq!(w.deadline(11).due, date(2024, 4, 15));
}

#[test]
fn given_pending_request_when_deadline_changed_then_grant_refused_and_deadline_not_moved_back() {
    let mut w = World::issued();
    let requested = w.ok(
        &at(2024, 2, 10, 9, 0).agency("DMP"),
        AssignmentCommand::RequestExtension {
            part: a(),
            new_date: date(2024, 4, 1),
            reason: "waiting for input".into(),
        },
    );
    let AssignmentEvent::ExtensionRequested(r) = &requested[0] else {
        panic!("expected a request, got {requested:?}")
    };
    w.ok(
        &at(2024, 2, 12, 9, 0).hod(),
        change_a(DeadlineTerm::Date(date(2024, 6, 1))),
    );
    let refused = w.run(
        &at(2024, 2, 13, 9, 0).hod(),
        AssignmentCommand::GrantExtension {
            request_id: r.request_id,
        },
    );
    assert_eq!(
        refused,
        Err(DomainError::rule("no extension request is pending"))
    );
    assert_eq!(w.deadline(11).due, date(2024, 6, 1));
}

#[test]
fn given_met_deadline_when_delivery_returned_then_reopened_missed_and_late_revision_shows_slip() {
    let mut w = World::issued();
    w.ok(&at(2024, 2, 28, 9, 0).agency("DMP"), deliver(a()));
    assert_eq!(w.deadline(11).status, DeadlineStatus::Met);
    w.ok(
        &at(2024, 3, 5, 9, 0).hod(),
        AssignmentCommand::ReturnDelivery {
            part: a(),
            reason: "the impact assessment is missing".into(),
        },
    );
    let d = w.deadline(11);
    assert_eq!(d.status, DeadlineStatus::Open);
    assert_eq!(d.met, None);
    // The monitor now sees the passed due date.
    let id = DeadlineId(Uuid::from_u128(11));
    let missed = w.deadlines[&id].detect_missed(at(2024, 3, 5, 10, 0).0);
    assert!(matches!(
        &missed[..],
        [DeadlineEvent::DeadlineMissed(DeadlineMissed { due, .. })] if *due == date(2024, 3, 1)
    ));
    // The revision is delivered late, and the deadline says so.
    w.ok(&at(2024, 3, 10, 9, 0).agency("DMP"), deliver(a()));
    assert_eq!(
        w.history(11),
        [
            "DeadlineSet",
            "DeadlineMet",
            "DeadlineReopened",
            "DeadlineMet"
        ]
    );
    let d = w.deadline(11);
    assert_eq!(d.status, DeadlineStatus::Met);
    assert_eq!(d.met.as_ref().unwrap().days_late(), 9);
}

#[test]
fn given_returned_delivery_when_extension_granted_then_deadline_moves() {
    let mut w = World::issued();
    w.ok(&at(2024, 2, 20, 9, 0).agency("DMP"), deliver(a()));
    w.ok(
        &at(2024, 2, 22, 9, 0).hod(),
        AssignmentCommand::ReturnDelivery {
            part: a(),
            reason: "incomplete".into(),
        },
    );
    let requested = w.ok(
        &at(2024, 2, 23, 9, 0).agency("DMP"),
        AssignmentCommand::RequestExtension {
            part: a(),
            new_date: date(2024, 4, 1),
            reason: "the revision takes time".into(),
        },
    );
    let AssignmentEvent::ExtensionRequested(r) = &requested[0] else {
        panic!("expected a request, got {requested:?}")
    };
    w.ok(
        &at(2024, 2, 24, 9, 0).hod(),
        AssignmentCommand::GrantExtension {
            request_id: r.request_id,
        },
    );
    assert_eq!(w.deadline(11).due, date(2024, 4, 1));
    assert_eq!(w.deadline(11).status, DeadlineStatus::Open);
}

#[test]
fn given_delivery_awaiting_review_when_date_changes_and_delivery_returned_then_reopened_at_new_date()
 {
    let mut w = World::issued();
    w.ok(&at(2024, 2, 20, 9, 0).agency("DMP"), deliver(a()));
    w.ok(
        &at(2024, 2, 21, 9, 0).hod(),
        change_a(DeadlineTerm::Date(date(2024, 5, 1))),
    );
    assert_eq!(w.deadline(11).due, date(2024, 3, 1));
    w.ok(
        &at(2024, 2, 22, 9, 0).hod(),
        AssignmentCommand::ReturnDelivery {
            part: a(),
            reason: "incomplete".into(),
        },
    );
    let d = w.deadline(11);
    assert_eq!((d.status, d.due), (DeadlineStatus::Open, date(2024, 5, 1)));
}

#[test]
fn given_open_part_delivered_when_date_agreed_and_delivery_returned_then_deadline_set_on_return() {
    let mut w = World::issued();
    w.ok(&at(2024, 2, 20, 9, 0).agency("DMP"), deliver(b()));
    w.ok(
        &at(2024, 2, 21, 9, 0).hod(),
        AssignmentCommand::AgreeDeadline {
            part: b(),
            date: date(2024, 5, 1),
        },
    );
    assert!(w.history(12).is_empty());
    w.ok(
        &at(2024, 2, 22, 9, 0).hod(),
        AssignmentCommand::ReturnDelivery {
            part: b(),
            reason: "incomplete".into(),
        },
    );
    assert_eq!(w.history(12), ["DeadlineSet"]);
    w.ok(&at(2024, 5, 3, 9, 0).agency("DMP"), deliver(b()));
    assert_eq!(w.deadline(12).met.as_ref().unwrap().days_late(), 2);
}

#[test]
fn given_cancelled_after_transfer_when_policy_runs_then_open_deadlines_waived() {
    let mut w = World::issued();
    w.ok(&at(2024, 2, 5, 9, 0).hod(), transfer(date(2024, 2, 10)));
    w.ok(
        &at(2024, 2, 11, 9, 0).hod(),
        AssignmentCommand::Cancel {
            reason: "no longer needed".into(),
            source: ChangeSource::Direct,
        },
    );
    assert_eq!(
        w.history(11),
        ["DeadlineSet", "DeadlineReassigned", "DeadlineWaived"]
    );
}

// ---- the new deadline commands on their own ---------------------------------------------------

#[test]
fn given_open_deadline_when_reinstated_or_reopened_then_rule_violated() {
    TestFramework::<Deadline>::with(ministry_ctx("HOD"))
        .given(vec![set_event()])
        .when(DeadlineCommand::Reinstate {
            due: date(2024, 4, 1),
            cause: MoveCause::Other { reason: "x".into() },
        })
        .then_expect_error(DomainError::rule(
            "the deadline cannot be reinstated: it is open",
        ));
    TestFramework::<Deadline>::with(ministry_ctx("HOD"))
        .given(vec![set_event()])
        .when(DeadlineCommand::Reopen {
            delivery_id: None,
            reason: "x".into(),
            due: None,
        })
        .then_expect_error(DomainError::rule(
            "the deadline cannot be reopened: it is open",
        ));
}

#[test]
fn given_waived_deadline_when_set_again_then_conflict_pointing_to_reinstate() {
    let waived = DeadlineEvent::DeadlineWaived(DeadlineWaived {
        reason: Text::new("reason", "withdrawn").unwrap(),
        by: ministry_actor("HOD").by(),
        at: t0(),
    });
    TestFramework::<Deadline>::with(ministry_ctx("HOD"))
        .given(vec![set_event(), waived])
        .when(DeadlineCommand::Set {
            obligation: obligation(),
            ministry: org("HOD"),
            agency: org("DMP"),
            due: date(2024, 5, 1),
        })
        .then_expect_error(DomainError::conflict(
            "this deadline is already set and waived; reinstate it instead",
        ));
}

#[test]
fn given_set_when_agency_reassigns_then_forbidden_and_ministry_reassigns_then_recorded() {
    TestFramework::<Deadline>::with(agency_ctx("DMP"))
        .given(vec![set_event()])
        .when(DeadlineCommand::Reassign {
            to_agency: org("HDIR"),
            effective: date(2024, 6, 1),
        })
        .then_expect_error_kind(DomainErrorKind::Forbidden);
    TestFramework::<Deadline>::with(ministry_ctx("HOD"))
        .given(vec![set_event()])
        .when(DeadlineCommand::Reassign {
            to_agency: org("HDIR"),
            effective: date(2024, 6, 1),
        })
        .then_expect_events(vec![DeadlineEvent::DeadlineReassigned(
            DeadlineReassigned {
                from_agency: org("DMP"),
                to_agency: org("HDIR"),
                effective: date(2024, 6, 1),
                by: ministry_actor("HOD").by(),
                at: t0(),
            },
        )]);
}

// ---- calendar items and reporting requirements -------------------------------------------

mod obligations_beyond_assignments {
    use super::*;
    use crate::allocation_letter::{AllocationLetter, LetterCommand};
    use crate::calendar::{
        CalendarCommand, CalendarKind, MeetingKind, ReportKind, Side, SteeringCalendarItem,
    };
    use crate::values::ItemId;

    fn item() -> ItemId {
        ItemId(Uuid::from_u128(77))
    }

    /// Runs calendar commands, returning the deadline commands each one implied.
    fn calendar_run(
        commands: Vec<(CommandContext, CalendarCommand)>,
    ) -> Vec<Vec<(DeadlineId, DeadlineCommand)>> {
        let mut state = SteeringCalendarItem::default();
        let mut implied = Vec::new();
        for (ctx, command) in commands {
            let events = state.decide(command, &ctx).expect("accepted");
            let mut out = Vec::new();
            for e in &events {
                out.extend(calendar_follow_ups(item(), &state, e));
                state.evolve(e);
            }
            implied.push(out);
        }
        implied
    }

    fn schedule(kind: CalendarKind, responsible: Side) -> CalendarCommand {
        CalendarCommand::Schedule {
            ministry: org("HOD"),
            agency: org("DMP"),
            date: date(2024, 9, 20),
            kind,
            title: "Rapportering per andre tertial".into(),
            responsible,
        }
    }

    #[test]
    fn given_an_agency_report_in_the_calendar_when_scheduled_moved_and_delivered_then_its_deadline_follows()
     {
        let implied = calendar_run(vec![
            (
                ministry_ctx("HOD"),
                schedule(CalendarKind::ReportDue(ReportKind::Tertial), Side::Agency),
            ),
            (
                ministry_ctx("HOD"),
                CalendarCommand::Reschedule {
                    date: date(2024, 9, 27),
                    reason: "RNB".into(),
                },
            ),
            (
                agency_ctx("DMP"),
                CalendarCommand::Complete {
                    document_ref: "24/77-1".into(),
                },
            ),
        ]);
        let id = deadline_id_for_item(item());
        assert_eq!(
            implied[0],
            vec![(
                id,
                DeadlineCommand::Set {
                    obligation: Obligation::CalendarItem { item_id: item() },
                    ministry: org("HOD"),
                    agency: org("DMP"),
                    due: date(2024, 9, 20),
                }
            )]
        );
        assert_eq!(
            implied[1],
            vec![(
                id,
                DeadlineCommand::Move {
                    new_due: date(2024, 9, 27),
                    cause: MoveCause::Other {
                        reason: "RNB".into()
                    }
                }
            )]
        );
        assert!(
            matches!(implied[2][..], [(i, DeadlineCommand::Meet { delivery_id: None, .. })] if i == id)
        );
        // And the Deadline stream accepts them from the same actors.
        let mut deadline = Deadline::default();
        for (ctx, (_, command)) in [
            (ministry_ctx("HOD"), implied[0][0].clone()),
            (ministry_ctx("HOD"), implied[1][0].clone()),
            (agency_ctx("DMP"), implied[2][0].clone()),
        ] {
            for e in deadline
                .decide(command, &ctx)
                .expect("the deadline accepts its follow-up")
            {
                deadline.evolve(&e);
            }
        }
        assert_eq!(deadline.details.unwrap().status, DeadlineStatus::Met);
    }

    #[test]
    fn given_a_cancelled_agency_report_then_its_deadline_is_waived() {
        let implied = calendar_run(vec![
            (
                ministry_ctx("HOD"),
                schedule(CalendarKind::ReportDue(ReportKind::HalfYear), Side::Agency),
            ),
            (
                ministry_ctx("HOD"),
                CalendarCommand::Cancel {
                    reason: "Slått sammen".into(),
                },
            ),
        ]);
        assert!(
            matches!(&implied[1][..], [(_, DeadlineCommand::Waive { reason })] if reason == "Slått sammen")
        );
    }

    #[test]
    fn given_a_ministry_meeting_then_no_deadline_stream() {
        let implied = calendar_run(vec![
            (
                ministry_ctx("HOD"),
                schedule(
                    CalendarKind::Meeting(MeetingKind::SteeringMeeting),
                    Side::Ministry,
                ),
            ),
            (
                ministry_ctx("HOD"),
                CalendarCommand::Complete {
                    document_ref: "referat".into(),
                },
            ),
        ]);
        assert!(implied.iter().all(Vec::is_empty), "{implied:?}");
    }

    fn letter_run(
        commands: Vec<LetterCommand>,
    ) -> (AllocationLetter, Vec<Vec<(DeadlineId, DeadlineCommand)>>) {
        let ctx = ministry_ctx("HOD");
        let mut state = AllocationLetter::default();
        let mut implied = Vec::new();
        for command in commands {
            let events = state.decide(command, &ctx).expect("accepted");
            let mut out = Vec::new();
            for e in &events {
                out.extend(letter_follow_ups(&state, e));
                state.evolve(e);
            }
            implied.push(out);
        }
        (state, implied)
    }

    fn requirement(text: &str, due: DeadlineTerm) -> LetterCommand {
        LetterCommand::AddReportingRequirement {
            text: text.into(),
            due,
        }
    }

    #[test]
    fn given_dated_requirements_when_the_letter_is_issued_then_each_gets_a_deadline() {
        let (letter, implied) = letter_run(vec![
            LetterCommand::Draft {
                ministry: org("HOD"),
                agency: org("DMP"),
                year: year(),
                title: "Tildelingsbrev 2024".into(),
                case_ref: None,
            },
            requirement(
                "Rapport om øvelser første halvår",
                DeadlineTerm::Date(date(2024, 8, 15)),
            ),
            requirement("Omtale i årsrapporten", DeadlineTerm::NoDeadline),
            LetterCommand::AddBudgetLine(crate::allocation_letter::BudgetLine {
                chapter: crate::values::Chapter::new(746).unwrap(),
                post: crate::values::Post::new(1).unwrap(),
                amount: crate::values::NokThousands(429_548),
                text: "Driftsutgifter".into(),
            }),
            LetterCommand::Issue {
                issued_on: date(2024, 2, 5),
            },
        ]);
        assert!(
            implied[..4].iter().all(Vec::is_empty),
            "a draft obliges nothing yet"
        );
        let d = letter.details.unwrap();
        let (item, _) = d
            .requirements
            .iter()
            .find(|(_, (r, _))| r.due.date().is_some())
            .unwrap();
        assert_eq!(
            implied[4],
            vec![(
                deadline_id_for_item(*item),
                DeadlineCommand::Set {
                    obligation: Obligation::ReportingRequirement {
                        letter: "HOD:DMP:2024".into(),
                        item_id: *item,
                    },
                    ministry: org("HOD"),
                    agency: org("DMP"),
                    due: date(2024, 8, 15),
                }
            )],
            "only the dated requirement"
        );
    }

    #[test]
    fn deadline_ids_for_items_are_stable_and_distinct() {
        assert_eq!(deadline_id_for_item(item()), deadline_id_for_item(item()));
        assert_ne!(
            deadline_id_for_item(item()),
            deadline_id_for_item(ItemId(Uuid::from_u128(78)))
        );
    }
}
