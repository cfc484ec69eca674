//! Given / when / then tests for every Assignment rule.

use chrono::{NaiveDate, TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::DomainEvent;
use crate::error::DomainErrorKind;
use crate::testing::*;

fn id() -> AssignmentId {
    AssignmentId(Uuid::from_u128(1))
}

fn issue_cmd() -> IssueAssignment {
    IssueAssignment {
        assignment_id: id(),
        reference: Some(AssignmentReference::parse("TB2024-12").unwrap()),
        ministry: org("HOD"),
        agency: org("DMP"),
        year: Year::new(2024).unwrap(),
        department: Some(DepartmentCode::parse("FHA").unwrap()),
        title: "Oppfølging av nasjonal tobakksstrategi".into(),
        description: "Study and propose e-cigarette regulation".into(),
        goal: Some("2.2".into()),
        source: AssignmentSource::Letter,
        parts: vec![
            PartSpec {
                label: label("a"),
                title: Some("ban on disposable e-cigarettes".into()),
                deadline: DeadlineTerm::Date(date(2024, 3, 1)),
            },
            PartSpec {
                label: label("b"),
                title: Some("production and import".into()),
                deadline: DeadlineTerm::ToBeAgreed,
            },
        ],
        collaborators: vec![org("HDIR"), org("FHI")],
        carried_over_from: None,
    }
}

/// The event `issue_cmd()` produces under `ministry_ctx("HOD")`.
fn issued() -> AssignmentEvent {
    let c = issue_cmd();
    AssignmentEvent::AssignmentIssued(AssignmentIssued {
        assignment_id: c.assignment_id,
        reference: c.reference,
        ministry: c.ministry,
        agency: c.agency,
        year: c.year,
        department: c.department,
        title: Text::new("title", c.title).unwrap(),
        description: c.description,
        goal: c.goal,
        source: c.source,
        parts: vec![
            IssuedPart {
                label: label("a"),
                title: Some("ban on disposable e-cigarettes".into()),
                deadline: DeadlineTerm::Date(date(2024, 3, 1)),
                deadline_id: DeadlineId(nth_id(1)),
            },
            IssuedPart {
                label: label("b"),
                title: Some("production and import".into()),
                deadline: DeadlineTerm::ToBeAgreed,
                deadline_id: DeadlineId(nth_id(2)),
            },
        ],
        collaborators: c.collaborators,
        carried_over_from: None,
        by: ministry_actor("HOD").by(),
        at: t0(),
    })
}

fn hod() -> By {
    ministry_actor("HOD").by()
}
fn dmp() -> By {
    agency_actor("DMP").by()
}

fn delivered(part: &str, n: u128, on: NaiveDate, due: Option<NaiveDate>) -> AssignmentEvent {
    AssignmentEvent::AssignmentDelivered(AssignmentDelivered {
        delivery_id: DeliveryId(Uuid::from_u128(n)),
        part: label(part),
        summary: Text::new("summary", "report sent").unwrap(),
        document_ref: None,
        also_answers: vec![],
        delivered_on: on,
        deadline_in_force: due,
        by: dmp(),
        at: t0(),
    })
}

fn accepted(part: &str, n: u128) -> AssignmentEvent {
    AssignmentEvent::DeliveryAccepted(DeliveryAccepted {
        delivery_id: DeliveryId(Uuid::from_u128(n)),
        part: label(part),
        by: hod(),
        at: t0(),
    })
}

fn cancelled() -> AssignmentEvent {
    AssignmentEvent::AssignmentCancelled(AssignmentCancelled {
        reason: Text::new("reason", "overtaken by events").unwrap(),
        source: ChangeSource::Direct,
        by: hod(),
        at: t0(),
    })
}

fn requested(new_date: NaiveDate) -> AssignmentEvent {
    AssignmentEvent::ExtensionRequested(ExtensionRequested {
        request_id: ExtensionRequestId(Uuid::from_u128(77)),
        part: label("a"),
        current_date: date(2024, 3, 1),
        new_date,
        reason: Text::new("reason", "waiting for Hdir input").unwrap(),
        by: dmp(),
        at: t0(),
    })
}

fn status(light: TrafficLight, cause: Option<&str>, action: Option<&str>) -> AssignmentCommand {
    AssignmentCommand::ReportStatus(Box::new(ReportStatus {
        period: Period::Tertial2,
        light,
        progress: "work is under way".into(),
        cause_and_consequence: cause.map(str::to_string),
        corrective_action: action.map(str::to_string),
        year_end_phrase: None,
        normalised: None,
    }))
}

fn deliver(part: &str) -> AssignmentCommand {
    AssignmentCommand::Deliver {
        part: label(part),
        summary: "report sent".into(),
        document_ref: Some("24/1234-5".into()),
        also_answers: vec![],
    }
}

// ---- issue ------------------------------------------------------------------------------

#[test]
fn given_nothing_when_ministry_issues_then_issued_with_a_deadline_stream_per_part() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given_no_previous_events()
        .when(AssignmentCommand::Issue(Box::new(issue_cmd())))
        .then_expect_events(vec![issued()]);
}

#[test]
fn given_nothing_when_agency_issues_then_forbidden() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .when(AssignmentCommand::Issue(Box::new(issue_cmd())))
        .then_expect_error_kind(DomainErrorKind::Forbidden);
}

#[test]
fn given_nothing_when_other_ministry_issues_then_forbidden() {
    TestFramework::<Assignment>::with(ministry_ctx("FIN"))
        .when(AssignmentCommand::Issue(Box::new(issue_cmd())))
        .then_expect_error_containing(DomainErrorKind::Forbidden, "HOD");
}

#[test]
fn given_issued_when_issued_again_then_conflict() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued()])
        .when(AssignmentCommand::Issue(Box::new(issue_cmd())))
        .then_expect_error_kind(DomainErrorKind::Conflict);
}

#[test]
fn given_nothing_when_reference_of_another_year_then_validation_of_reference() {
    let mut c = issue_cmd();
    c.reference = Some(AssignmentReference::parse("TB2023-4").unwrap());
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .when(AssignmentCommand::Issue(Box::new(c)))
        .then_expect_validation_of("reference");
}

#[test]
fn given_nothing_when_issued_without_reference_then_reference_is_none() {
    // The seeds' MRA item has no printed number: internal id only.
    let mut c = issue_cmd();
    c.reference = None;
    let state = TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .when(AssignmentCommand::Issue(Box::new(c)))
        .state_after();
    let d = state.details.unwrap();
    assert_eq!(d.reference, None);
    assert_eq!(d.id, id());
}

#[test]
fn given_nothing_when_parts_repeat_or_are_missing_then_validation_of_parts() {
    let mut c = issue_cmd();
    c.parts[1].label = label("A.");
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .when(AssignmentCommand::Issue(Box::new(c)))
        .then_expect_validation_of("parts");
    let mut c = issue_cmd();
    c.parts.clear();
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .when(AssignmentCommand::Issue(Box::new(c)))
        .then_expect_validation_of("parts");
}

#[test]
fn given_nothing_when_title_blank_then_validation_of_title() {
    let mut c = issue_cmd();
    c.title = "  ".into();
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .when(AssignmentCommand::Issue(Box::new(c)))
        .then_expect_validation_of("title");
}

#[test]
fn given_not_issued_when_status_reported_then_not_found() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .when(status(TrafficLight::Green, None, None))
        .then_expect_error_kind(DomainErrorKind::NotFound);
}

// ---- deadline agreed ------------------------------------------------------------------------

#[test]
fn given_open_part_when_ministry_agrees_deadline_then_agreed_and_in_force() {
    let state = TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued()])
        .when(AssignmentCommand::AgreeDeadline {
            part: label("b"),
            date: date(2024, 9, 1),
        })
        .then_expect_events(vec![AssignmentEvent::DeadlineAgreed(DeadlineAgreed {
            part: label("b"),
            date: date(2024, 9, 1),
            by: hod(),
            at: t0(),
        })]);
    let d = state.details.unwrap();
    assert_eq!(
        d.part(&label("b")).unwrap().deadline,
        DeadlineTerm::Date(date(2024, 9, 1))
    );
}

#[test]
fn given_dated_part_when_agreeing_deadline_then_rule_violated() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued()])
        .when(AssignmentCommand::AgreeDeadline {
            part: label("a"),
            date: date(2024, 9, 1),
        })
        .then_expect_error_kind(DomainErrorKind::RuleViolated);
}

#[test]
fn given_issued_when_agency_agrees_deadline_then_forbidden() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued()])
        .when(AssignmentCommand::AgreeDeadline {
            part: label("b"),
            date: date(2024, 9, 1),
        })
        .then_expect_error_kind(DomainErrorKind::Forbidden);
}

#[test]
fn given_issued_when_unknown_part_named_then_not_found() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued()])
        .when(AssignmentCommand::AgreeDeadline {
            part: label("c"),
            date: date(2024, 9, 1),
        })
        .then_expect_error_containing(DomainErrorKind::NotFound, "part c)");
}

// ---- status reports ---------------------------------------------------------------------------

#[test]
fn given_issued_when_agency_reports_green_then_reported() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued()])
        .when(status(TrafficLight::Green, None, None))
        .then_expect_events(vec![AssignmentEvent::StatusReported(StatusReported {
            period: Period::Tertial2,
            light: TrafficLight::Green,
            progress: Text::new("progress", "work is under way").unwrap(),
            cause_and_consequence: None,
            corrective_action: None,
            year_end_phrase: None,
            normalised: None,
            by: dmp(),
            at: t0(),
        })]);
}

#[test]
fn given_issued_when_yellow_without_cause_then_validation_names_cause() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued()])
        .when(status(TrafficLight::Yellow, None, Some("add staff")))
        .then_expect_validation_of("cause_and_consequence");
}

#[test]
fn given_issued_when_red_without_action_then_validation_names_action() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued()])
        .when(status(TrafficLight::Red, Some("EUDAMED late"), Some("   ")))
        .then_expect_validation_of("corrective_action");
}

#[test]
fn given_issued_when_yellow_with_cause_and_action_then_reported() {
    let result = TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued()])
        .when(status(
            TrafficLight::Yellow,
            Some("EU database delayed; data not before 2026"),
            Some("follow EU timetable, report quarterly"),
        ))
        .inspect_result()
        .unwrap();
    assert!(matches!(
        &result[..],
        [AssignmentEvent::StatusReported(StatusReported {
            light: TrafficLight::Yellow,
            corrective_action: Some(_),
            ..
        })]
    ));
}

#[test]
fn given_issued_when_ministry_reports_status_then_forbidden() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued()])
        .when(status(TrafficLight::Green, None, None))
        .then_expect_error_kind(DomainErrorKind::Forbidden);
}

#[test]
fn given_issued_when_another_agency_reports_then_forbidden() {
    TestFramework::<Assignment>::with(agency_ctx("HDIR"))
        .given(vec![issued()])
        .when(status(TrafficLight::Green, None, None))
        .then_expect_error_containing(DomainErrorKind::Forbidden, "DMP");
}

#[test]
fn given_issued_when_auditor_reports_then_forbidden() {
    TestFramework::<Assignment>::with(auditor_ctx())
        .given(vec![issued()])
        .when(status(TrafficLight::Green, None, None))
        .then_expect_error_containing(DomainErrorKind::Forbidden, "read-only");
}

#[test]
fn given_issued_when_admin_cancels_then_forbidden() {
    TestFramework::<Assignment>::with(admin_ctx())
        .given(vec![issued()])
        .when(AssignmentCommand::Cancel {
            reason: "x".into(),
            source: ChangeSource::Direct,
        })
        .then_expect_error_containing(DomainErrorKind::Forbidden, "reference data");
}

#[test]
fn given_cancelled_when_status_reported_then_rule_violated() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued(), cancelled()])
        .when(status(TrafficLight::Green, None, None))
        .then_expect_error_containing(DomainErrorKind::RuleViolated, "cancelled");
}

// ---- deliveries -----------------------------------------------------------------------------

/// Delivers part a (due 1 March 2024) at `now` and returns the decided event.
fn decided_delivery_at(now: chrono::DateTime<Utc>) -> AssignmentDelivered {
    let events = TestFramework::<Assignment>::with(ctx_at(agency_actor("DMP"), now))
        .given(vec![issued()])
        .when(deliver("a"))
        .inspect_result()
        .expect("delivery accepted");
    match &events[..] {
        [AssignmentEvent::AssignmentDelivered(e)] => e.clone(),
        other => panic!("expected one delivery, got {other:?}"),
    }
}

#[test]
fn given_due_1_march_when_delivered_at_2330_oslo_on_1_march_then_on_time() {
    // 22:30 UTC on 1 March is 23:30 in Oslo (UTC+1): still the due date.
    let e = decided_delivery_at(Utc.with_ymd_and_hms(2024, 3, 1, 22, 30, 0).unwrap());
    assert_eq!(e.delivered_on, date(2024, 3, 1));
    assert_eq!(e.deadline_in_force, Some(date(2024, 3, 1)));
    assert!(!e.is_late());
}

#[test]
fn given_due_1_march_when_delivered_at_0030_oslo_on_2_march_then_late() {
    // 23:30 UTC on 1 March is 00:30 on 2 March in Oslo: a day late, though still 1 March in UTC.
    let e = decided_delivery_at(Utc.with_ymd_and_hms(2024, 3, 1, 23, 30, 0).unwrap());
    assert_eq!(e.delivered_on, date(2024, 3, 2));
    assert_eq!(e.deadline_in_force, Some(date(2024, 3, 1)));
    assert!(e.is_late());
}

#[test]
fn given_issued_when_delivered_then_awaiting_review_with_exact_event() {
    let at = Utc.with_ymd_and_hms(2024, 2, 29, 22, 30, 0).unwrap();
    let state = TestFramework::<Assignment>::with(ctx_at(agency_actor("DMP"), at))
        .given(vec![issued()])
        .when(deliver("a"))
        .then_expect_events(vec![AssignmentEvent::AssignmentDelivered(
            AssignmentDelivered {
                delivery_id: DeliveryId(nth_id(1)),
                part: label("a"),
                summary: Text::new("summary", "report sent").unwrap(),
                document_ref: Some("24/1234-5".into()),
                also_answers: vec![],
                delivered_on: date(2024, 2, 29),
                deadline_in_force: Some(date(2024, 3, 1)),
                by: dmp(),
                at,
            },
        )]);
    let d = state.details.unwrap();
    assert_eq!(
        d.part(&label("a")).unwrap().delivery,
        PartDelivery::AwaitingReview(DeliveryId(nth_id(1)))
    );
}

#[test]
fn given_granted_extension_when_delivered_after_old_date_then_decided_delivery_not_late() {
    let granted = AssignmentEvent::ExtensionGranted(ExtensionGranted {
        request_id: ExtensionRequestId(Uuid::from_u128(77)),
        part: label("a"),
        new_date: date(2024, 4, 1),
        by: hod(),
        at: t0(),
    });
    let at = Utc.with_ymd_and_hms(2024, 3, 20, 9, 0, 0).unwrap();
    let events = TestFramework::<Assignment>::with(ctx_at(agency_actor("DMP"), at))
        .given(vec![issued(), requested(date(2024, 4, 1)), granted])
        .when(deliver("a"))
        .inspect_result()
        .expect("delivery accepted");
    let [AssignmentEvent::AssignmentDelivered(e)] = &events[..] else {
        panic!("expected one delivery, got {events:?}")
    };
    assert_eq!(e.deadline_in_force, Some(date(2024, 4, 1)));
    assert!(!e.is_late());
}

#[test]
fn given_open_deadline_when_delivered_then_never_late() {
    let e = delivered("b", 1, date(2024, 12, 31), None);
    let AssignmentEvent::AssignmentDelivered(e) = e else {
        unreachable!()
    };
    assert!(!e.is_late());
}

#[test]
fn given_part_delivered_when_delivered_again_then_rule_violated() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued(), delivered("a", 1, date(2024, 2, 20), None)])
        .when(deliver("a"))
        .then_expect_error_containing(DomainErrorKind::RuleViolated, "already delivered");
}

#[test]
fn given_part_accepted_when_delivered_again_then_rule_violated() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![
            issued(),
            delivered("a", 1, date(2024, 2, 20), None),
            accepted("a", 1),
        ])
        .when(deliver("a"))
        .then_expect_error_containing(DomainErrorKind::RuleViolated, "accepted");
}

#[test]
fn given_part_a_delivered_when_part_b_delivered_then_allowed() {
    let state = TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued(), delivered("a", 1, date(2024, 2, 20), None)])
        .when(deliver("b"))
        .state_after();
    assert_eq!(state.details.unwrap().deliveries.len(), 2);
}

#[test]
fn given_issued_when_ministry_delivers_then_forbidden() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued()])
        .when(deliver("a"))
        .then_expect_error_kind(DomainErrorKind::Forbidden);
}

#[test]
fn given_multi_part_when_delivering_without_part_then_not_found() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued()])
        .when(AssignmentCommand::Deliver {
            part: None,
            summary: "x".into(),
            document_ref: None,
            also_answers: vec![],
        })
        .then_expect_error_kind(DomainErrorKind::NotFound);
}

#[test]
fn given_delivery_returned_when_delivered_again_then_allowed() {
    let returned = AssignmentEvent::DeliveryReturned(DeliveryReturned {
        delivery_id: DeliveryId(Uuid::from_u128(1)),
        part: label("a"),
        reason: Text::new("reason", "lacks cost estimate").unwrap(),
        by: hod(),
        at: t0(),
    });
    let state = TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![
            issued(),
            delivered("a", 1, date(2024, 2, 20), None),
            returned,
        ])
        .when(deliver("a"))
        .state_after();
    assert!(matches!(
        state.details.unwrap().part(&label("a")).unwrap().delivery,
        PartDelivery::AwaitingReview(_)
    ));
}

// ---- accept / return / complete ------------------------------------------------------------------

#[test]
fn given_delivery_when_ministry_accepts_one_of_two_parts_then_accepted_only() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued(), delivered("a", 1, date(2024, 2, 20), None)])
        .when(AssignmentCommand::AcceptDelivery { part: label("a") })
        .then_expect_events(vec![accepted("a", 1)]);
}

#[test]
fn given_last_part_delivered_when_accepted_then_assignment_completed() {
    let state = TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![
            issued(),
            delivered("a", 1, date(2024, 2, 20), None),
            accepted("a", 1),
            delivered("b", 2, date(2024, 8, 20), None),
        ])
        .when(AssignmentCommand::AcceptDelivery { part: label("b") })
        .then_expect_events(vec![
            accepted("b", 2),
            AssignmentEvent::AssignmentCompleted(AssignmentCompleted {
                note: None,
                by: hod(),
                at: t0(),
            }),
        ]);
    assert_eq!(state.details.unwrap().lifecycle, Lifecycle::Completed);
}

#[test]
fn given_nothing_delivered_when_accepting_then_rule_violated() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued()])
        .when(AssignmentCommand::AcceptDelivery { part: label("a") })
        .then_expect_error_containing(DomainErrorKind::RuleViolated, "awaiting review");
}

#[test]
fn given_delivery_when_returned_then_returned_with_reason() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued(), delivered("a", 1, date(2024, 2, 20), None)])
        .when(AssignmentCommand::ReturnDelivery {
            part: label("a"),
            reason: "lacks cost estimate".into(),
        })
        .then_expect_events(vec![AssignmentEvent::DeliveryReturned(DeliveryReturned {
            delivery_id: DeliveryId(Uuid::from_u128(1)),
            part: label("a"),
            reason: Text::new("reason", "lacks cost estimate").unwrap(),
            by: hod(),
            at: t0(),
        })]);
}

#[test]
fn given_delivery_when_agency_accepts_then_forbidden() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued(), delivered("a", 1, date(2024, 2, 20), None)])
        .when(AssignmentCommand::AcceptDelivery { part: label("a") })
        .then_expect_error_kind(DomainErrorKind::Forbidden);
}

#[test]
fn given_delivery_awaiting_review_when_completed_then_rule_violated() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued(), delivered("a", 1, date(2024, 2, 20), None)])
        .when(AssignmentCommand::Complete { note: None })
        .then_expect_error_containing(DomainErrorKind::RuleViolated, "part a)");
}

#[test]
fn given_continuous_assignment_when_ministry_completes_then_completed() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued()])
        .when(AssignmentCommand::Complete {
            note: Some("Fullført".into()),
        })
        .then_expect_events(vec![AssignmentEvent::AssignmentCompleted(
            AssignmentCompleted {
                note: Some("Fullført".into()),
                by: hod(),
                at: t0(),
            },
        )]);
}

// ---- extensions --------------------------------------------------------------------------------

#[test]
fn given_dated_part_when_agency_requests_extension_then_requested() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued()])
        .when(AssignmentCommand::RequestExtension {
            part: label("a"),
            new_date: date(2024, 4, 1),
            reason: "waiting for Hdir input".into(),
        })
        .then_expect_events(vec![AssignmentEvent::ExtensionRequested(
            ExtensionRequested {
                request_id: ExtensionRequestId(nth_id(1)),
                part: label("a"),
                current_date: date(2024, 3, 1),
                new_date: date(2024, 4, 1),
                reason: Text::new("reason", "waiting for Hdir input").unwrap(),
                by: dmp(),
                at: t0(),
            },
        )]);
}

#[test]
fn given_pending_request_when_another_requested_then_rule_violated() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued(), requested(date(2024, 4, 1))])
        .when(AssignmentCommand::RequestExtension {
            part: label("a"),
            new_date: date(2024, 5, 1),
            reason: "more".into(),
        })
        .then_expect_error_containing(DomainErrorKind::RuleViolated, "already pending");
}

#[test]
fn given_dated_part_when_extension_to_earlier_date_then_validation_of_new_date() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued()])
        .when(AssignmentCommand::RequestExtension {
            part: label("a"),
            new_date: date(2024, 2, 1),
            reason: "x".into(),
        })
        .then_expect_validation_of("new_date");
}

#[test]
fn given_open_part_when_extension_requested_then_rule_violated() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued()])
        .when(AssignmentCommand::RequestExtension {
            part: label("b"),
            new_date: date(2024, 12, 1),
            reason: "x".into(),
        })
        .then_expect_error_containing(DomainErrorKind::RuleViolated, "no date");
}

#[test]
fn given_pending_request_when_granted_then_deadline_moves() {
    let rid = ExtensionRequestId(Uuid::from_u128(77));
    let state = TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued(), requested(date(2024, 4, 1))])
        .when(AssignmentCommand::GrantExtension { request_id: rid })
        .then_expect_events(vec![AssignmentEvent::ExtensionGranted(ExtensionGranted {
            request_id: rid,
            part: label("a"),
            new_date: date(2024, 4, 1),
            by: hod(),
            at: t0(),
        })]);
    let d = state.details.unwrap();
    assert_eq!(
        d.part(&label("a")).unwrap().deadline,
        DeadlineTerm::Date(date(2024, 4, 1))
    );
    assert!(d.pending_extension.is_none());
}

#[test]
fn given_granted_extension_when_delivered_before_new_date_then_not_late() {
    let rid = ExtensionRequestId(Uuid::from_u128(77));
    let granted = AssignmentEvent::ExtensionGranted(ExtensionGranted {
        request_id: rid,
        part: label("a"),
        new_date: date(2024, 4, 1),
        by: hod(),
        at: t0(),
    });
    let ctx = ctx_at(
        agency_actor("DMP"),
        Utc.with_ymd_and_hms(2024, 3, 15, 10, 0, 0).unwrap(),
    );
    let state = TestFramework::<Assignment>::with(ctx)
        .given(vec![issued(), requested(date(2024, 4, 1)), granted])
        .when(deliver("a"))
        .state_after();
    let d = &state.details.unwrap().deliveries[0];
    assert_eq!(d.deadline_in_force, Some(date(2024, 4, 1)));
    assert!(!d.is_late());
}

#[test]
fn given_no_request_when_granting_then_rule_violated() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued()])
        .when(AssignmentCommand::GrantExtension {
            request_id: ExtensionRequestId(Uuid::from_u128(77)),
        })
        .then_expect_error(DomainError::RuleViolated(
            "no extension request is pending".into(),
        ));
}

#[test]
fn given_pending_request_when_granting_another_id_then_not_found() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued(), requested(date(2024, 4, 1))])
        .when(AssignmentCommand::GrantExtension {
            request_id: ExtensionRequestId(Uuid::from_u128(78)),
        })
        .then_expect_error_kind(DomainErrorKind::NotFound);
}

#[test]
fn given_pending_request_when_rejected_then_deadline_unchanged_and_new_request_allowed() {
    let rid = ExtensionRequestId(Uuid::from_u128(77));
    let state = TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued(), requested(date(2024, 4, 1))])
        .when(AssignmentCommand::RejectExtension {
            request_id: rid,
            reason: "the date is fixed by the budget process".into(),
        })
        .state_after();
    let d = state.details.as_ref().unwrap();
    assert_eq!(
        d.part(&label("a")).unwrap().deadline,
        DeadlineTerm::Date(date(2024, 3, 1))
    );
    let again = state.decide(
        AssignmentCommand::RequestExtension {
            part: label("a"),
            new_date: date(2024, 3, 15),
            reason: "smaller slip".into(),
        },
        &agency_ctx("DMP"),
    );
    assert_eq!(
        again,
        Ok(vec![AssignmentEvent::ExtensionRequested(
            ExtensionRequested {
                request_id: ExtensionRequestId(nth_id(1)),
                part: label("a"),
                current_date: date(2024, 3, 1),
                new_date: date(2024, 3, 15),
                reason: Text::new("reason", "smaller slip").unwrap(),
                by: dmp(),
                at: t0(),
            }
        )])
    );
}

#[test]
fn given_pending_request_when_agency_grants_then_forbidden() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued(), requested(date(2024, 4, 1))])
        .when(AssignmentCommand::GrantExtension {
            request_id: ExtensionRequestId(Uuid::from_u128(77)),
        })
        .then_expect_error_kind(DomainErrorKind::Forbidden);
}

// ---- cancel / transfer / carry over / amend ------------------------------------------------------

#[test]
fn given_issued_when_ministry_cancels_then_cancelled() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued()])
        .when(AssignmentCommand::Cancel {
            reason: "overtaken by events".into(),
            source: ChangeSource::Direct,
        })
        .then_expect_events(vec![cancelled()]);
}

#[test]
fn given_issued_when_agency_cancels_then_forbidden() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued()])
        .when(AssignmentCommand::Cancel {
            reason: "x".into(),
            source: ChangeSource::Direct,
        })
        .then_expect_error_kind(DomainErrorKind::Forbidden);
}

#[test]
fn given_issued_when_cancelled_without_reason_then_validation_of_reason() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued()])
        .when(AssignmentCommand::Cancel {
            reason: "".into(),
            source: ChangeSource::Direct,
        })
        .then_expect_validation_of("reason");
}

#[test]
fn given_cancelled_when_cancelled_again_then_rule_violated() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued(), cancelled()])
        .when(AssignmentCommand::Cancel {
            reason: "again".into(),
            source: ChangeSource::Direct,
        })
        .then_expect_error_kind(DomainErrorKind::RuleViolated);
}

fn transfer_to(agency: &str) -> AssignmentCommand {
    AssignmentCommand::Transfer {
        to_agency: org(agency),
        reason: "e-cigarette responsibility moves to Hdir".into(),
        effective: date(2025, 1, 1),
        source: ChangeSource::Direct,
    }
}

/// The `StatusReported` event `status(Green)` gives for `by` at `at`.
fn green_reported(by: By, at: chrono::DateTime<Utc>) -> AssignmentEvent {
    AssignmentEvent::StatusReported(StatusReported {
        period: Period::Tertial2,
        light: TrafficLight::Green,
        progress: Text::new("progress", "work is under way").unwrap(),
        cause_and_consequence: None,
        corrective_action: None,
        year_end_phrase: None,
        normalised: None,
        by,
        at,
    })
}

fn transferred_to_hdir(effective: NaiveDate) -> AssignmentEvent {
    AssignmentEvent::AssignmentTransferred(AssignmentTransferred {
        from_agency: org("DMP"),
        to_agency: org("HDIR"),
        reason: Text::new("reason", "e-cigarette responsibility moves to Hdir").unwrap(),
        effective,
        source: ChangeSource::Direct,
        by: hod(),
        at: t0(),
    })
}

#[test]
fn given_issued_when_transferred_then_transfer_recorded_and_agency_is_the_receiving_one() {
    let state = TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued()])
        .when(transfer_to("HDIR"))
        .then_expect_events(vec![transferred_to_hdir(date(2025, 1, 1))]);
    let d = state.details.as_ref().unwrap();
    assert_eq!(d.agency, org("HDIR"));
    assert_eq!(d.agency_on(date(2024, 12, 31)), &org("DMP"));
    assert_eq!(d.agency_on(date(2025, 1, 1)), &org("HDIR"));
}

#[test]
fn given_transfer_effective_1_june_when_agencies_report_on_31_may_oslo_then_old_agency_acts() {
    // 21:59 UTC on 31 May is 23:59 in Oslo (UTC+2): the day before the transfer.
    let at = Utc.with_ymd_and_hms(2024, 5, 31, 21, 59, 0).unwrap();
    let given = || vec![issued(), transferred_to_hdir(date(2024, 6, 1))];
    TestFramework::<Assignment>::with(ctx_at(agency_actor("DMP"), at))
        .given(given())
        .when(status(TrafficLight::Green, None, None))
        .then_expect_events(vec![green_reported(dmp(), at)]);
    TestFramework::<Assignment>::with(ctx_at(agency_actor("HDIR"), at))
        .given(given())
        .when(status(TrafficLight::Green, None, None))
        .then_expect_error(DomainError::forbidden(
            "only users of DMP may report status; you act for HDIR",
        ));
}

#[test]
fn given_transfer_effective_1_june_when_agencies_act_on_1_june_oslo_then_new_agency_acts() {
    // 22:30 UTC on 31 May is 00:30 on 1 June in Oslo: the transfer is in effect.
    let at = Utc.with_ymd_and_hms(2024, 5, 31, 22, 30, 0).unwrap();
    let given = || vec![issued(), transferred_to_hdir(date(2024, 6, 1))];
    TestFramework::<Assignment>::with(ctx_at(agency_actor("HDIR"), at))
        .given(given())
        .when(status(TrafficLight::Green, None, None))
        .then_expect_events(vec![green_reported(agency_actor("HDIR").by(), at)]);
    TestFramework::<Assignment>::with(ctx_at(agency_actor("DMP"), at))
        .given(given())
        .when(deliver("a"))
        .then_expect_error(DomainError::forbidden(
            "only users of HDIR may deliver; you act for DMP",
        ));
}

#[test]
fn given_pending_transfer_when_old_agency_delivers_before_effective_date_then_delivered() {
    let at = Utc.with_ymd_and_hms(2024, 2, 20, 10, 0, 0).unwrap();
    TestFramework::<Assignment>::with(ctx_at(agency_actor("DMP"), at))
        .given(vec![issued(), transferred_to_hdir(date(2024, 6, 1))])
        .when(deliver("a"))
        .then_expect_events(vec![AssignmentEvent::AssignmentDelivered(
            AssignmentDelivered {
                delivery_id: DeliveryId(nth_id(1)),
                part: label("a"),
                summary: Text::new("summary", "report sent").unwrap(),
                document_ref: Some("24/1234-5".into()),
                also_answers: vec![],
                delivered_on: date(2024, 2, 20),
                deadline_in_force: Some(date(2024, 3, 1)),
                by: dmp(),
                at,
            },
        )]);
}

#[test]
fn given_transfer_effective_in_june_when_another_transfer_effective_earlier_then_validation() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued(), transferred_to_hdir(date(2024, 6, 1))])
        .when(AssignmentCommand::Transfer {
            to_agency: org("FHI"),
            reason: "moved on".into(),
            effective: date(2024, 5, 1),
            source: ChangeSource::Direct,
        })
        .then_expect_validation_of("effective");
}

#[test]
fn given_issued_when_transferred_to_same_agency_then_validation() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued()])
        .when(transfer_to("DMP"))
        .then_expect_validation_of("to_agency");
}

#[test]
fn given_issued_when_agency_transfers_then_forbidden() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued()])
        .when(transfer_to("HDIR"))
        .then_expect_error_kind(DomainErrorKind::Forbidden);
}

#[test]
fn given_issued_when_carried_over_then_linked_and_closed_for_this_year() {
    let new_id = AssignmentId(Uuid::from_u128(2));
    let state = TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued()])
        .when(AssignmentCommand::CarryOver {
            new_assignment_id: new_id,
            new_reference: Some(AssignmentReference::parse("TB2025-3").unwrap()),
            reason: "arbeidet videreføres i 2025".into(),
        })
        .state_after();
    let d = state.details.as_ref().unwrap();
    assert_eq!(d.carried_over_to, Some(new_id));
    assert_eq!(d.lifecycle, Lifecycle::CarriedOver);
    let r = state.decide(status(TrafficLight::Green, None, None), &agency_ctx("DMP"));
    assert_eq!(r.unwrap_err().kind(), DomainErrorKind::RuleViolated);
}

#[test]
fn given_issued_when_carried_over_with_same_year_reference_then_validation() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued()])
        .when(AssignmentCommand::CarryOver {
            new_assignment_id: AssignmentId(Uuid::from_u128(2)),
            new_reference: Some(AssignmentReference::parse("TB2024-30").unwrap()),
            reason: "x".into(),
        })
        .then_expect_validation_of("new_reference");
}

#[test]
fn given_part_a_accepted_when_next_year_issue_built_then_only_open_parts_to_be_agreed() {
    let state = Assignment::replay(&[
        issued(),
        delivered("a", 1, date(2024, 2, 20), None),
        accepted("a", 1),
    ]);
    let next = state
        .next_year_issue(AssignmentId(Uuid::from_u128(2)), None)
        .unwrap();
    assert_eq!(next.year.value(), 2025);
    assert_eq!(next.carried_over_from, Some(id()));
    assert_eq!(next.parts.len(), 1);
    assert_eq!(next.parts[0].label, label("b"));
    assert_eq!(next.parts[0].deadline, DeadlineTerm::ToBeAgreed);
}

#[test]
fn given_issued_when_deadline_changed_by_supplement_then_recorded_with_source() {
    let source = ChangeSource::Supplement {
        supplement_id: SupplementId(Uuid::from_u128(9)),
        number: 2,
    };
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued()])
        .when(AssignmentCommand::ChangeDeadline {
            part: label("b"),
            deadline: DeadlineTerm::Date(date(2024, 9, 9)),
            source: source.clone(),
        })
        .then_expect_events(vec![AssignmentEvent::PartDeadlineChanged(
            PartDeadlineChanged {
                part: label("b"),
                previous: DeadlineTerm::ToBeAgreed,
                deadline: DeadlineTerm::Date(date(2024, 9, 9)),
                source,
                by: hod(),
                at: t0(),
            },
        )]);
}

#[test]
fn given_issued_when_amended_with_nothing_then_validation() {
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued()])
        .when(AssignmentCommand::Amend {
            title: None,
            description: None,
            source: ChangeSource::Direct,
        })
        .then_expect_validation_of("title");
}

#[test]
fn given_issued_when_title_amended_then_state_has_new_title() {
    let state = TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued()])
        .when(AssignmentCommand::Amend {
            title: Some("Tobakksstrategi".into()),
            description: None,
            source: ChangeSource::Direct,
        })
        .state_after();
    assert_eq!(state.details.unwrap().title.as_str(), "Tobakksstrategi");
}

// ---- upcaster ------------------------------------------------------------------------------------

#[test]
fn given_v1_status_report_when_loaded_then_upcast_to_v2() {
    let v1 = serde_json::json!({
        "period": {"kind": "tertial1"},
        "traffic_light": "yellow",
        "text": "delayed by EU",
        "by": {"subject": "s", "display_name": "Ola", "organisation": "DMP"},
        "at": "2024-05-02T10:00:00Z"
    });
    let e = AssignmentEvent::from_stored("StatusReported", 1, v1.clone()).unwrap();
    // The replay path reads from the stored text and upcasts the same way.
    let from_text =
        AssignmentEvent::from_stored_text("StatusReported", 1, &v1.to_string()).unwrap();
    assert_eq!(from_text, e);
    let AssignmentEvent::StatusReported(s) = &e else {
        panic!("wrong variant {e:?}")
    };
    assert_eq!(s.light, TrafficLight::Yellow);
    assert_eq!(s.progress.as_str(), "delayed by EU");
    assert_eq!(s.cause_and_consequence, None);
    assert_eq!(e.schema_version(), 2);
    // Old yellow reports without cause still replay into state.
    let state = Assignment::replay(&[issued(), e]);
    assert_eq!(state.details.unwrap().status_reports.len(), 1);
}

#[test]
fn given_v1_without_text_when_loaded_then_malformed() {
    let v1 = serde_json::json!({"period": {"kind": "year"}, "traffic_light": "green"});
    assert!(matches!(
        AssignmentEvent::from_stored("StatusReported", 1, v1),
        Err(EventDecodeError::MalformedPayload { .. })
    ));
}

#[test]
fn given_unknown_type_or_future_version_when_loaded_then_refused() {
    assert!(matches!(
        AssignmentEvent::from_stored("AssignmentExploded", 1, serde_json::json!({})),
        Err(EventDecodeError::UnknownEventType(_))
    ));
    let p = issued().to_payload();
    assert!(matches!(
        AssignmentEvent::from_stored_text("AssignmentIssued", 9, &p.to_string()),
        Err(EventDecodeError::UnsupportedSchemaVersion { .. })
    ));
    assert!(matches!(
        AssignmentEvent::from_stored("AssignmentIssued", 9, p),
        Err(EventDecodeError::UnsupportedSchemaVersion { .. })
    ));
    assert!(matches!(
        AssignmentEvent::from_stored_text("AssignmentExploded", 1, "{}"),
        Err(EventDecodeError::UnknownEventType(_))
    ));
    assert!(matches!(
        AssignmentEvent::from_stored_text("AssignmentIssued", 1, "{not json"),
        Err(EventDecodeError::MalformedPayload { .. })
    ));
}

#[test]
fn event_types_are_past_tense_names_listed_once() {
    let names: Vec<&str> = AssignmentEvent::EVENT_TYPES
        .iter()
        .map(|(n, _)| *n)
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len());
    assert!(
        names
            .iter()
            .all(|n| n.ends_with("ed") || n.ends_with("Over"))
    );
    assert_eq!(Assignment::STREAM_TYPE, "assignment");
}

#[test]
fn given_part_delivered_when_extension_requested_then_rule_violated() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued(), delivered("a", 1, date(2024, 2, 20), None)])
        .when(AssignmentCommand::RequestExtension {
            part: label("a"),
            new_date: date(2024, 4, 1),
            reason: "x".into(),
        })
        .then_expect_error_containing(DomainErrorKind::RuleViolated, "already delivered");
}

#[test]
fn given_issued_when_one_report_answers_several_assignments_then_links_kept() {
    let others = vec![
        AssignmentId(Uuid::from_u128(41)),
        AssignmentId(Uuid::from_u128(42)),
    ];
    let state = TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued()])
        .when(AssignmentCommand::Deliver {
            part: label("a"),
            summary: "Rapport om apotekavanse".into(),
            document_ref: None,
            also_answers: others.clone(),
        })
        .state_after();
    assert_eq!(state.details.unwrap().deliveries[0].also_answers, others);
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued()])
        .when(AssignmentCommand::Deliver {
            part: label("a"),
            summary: "x".into(),
            document_ref: None,
            also_answers: vec![id()],
        })
        .then_expect_validation_of("also_answers");
}

#[test]
fn given_completed_when_year_end_status_reported_then_accepted_but_not_when_carried_over() {
    let completed = AssignmentEvent::AssignmentCompleted(AssignmentCompleted {
        note: None,
        by: hod(),
        at: t0(),
    });
    let year_end = AssignmentCommand::ReportStatus(Box::new(ReportStatus {
        period: Period::Year,
        light: TrafficLight::Green,
        progress: "Fullført".into(),
        cause_and_consequence: None,
        corrective_action: None,
        year_end_phrase: Some("Fullført".into()),
        normalised: Some(NormalisedStatus::Completed),
    }));
    let state = TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued(), completed])
        .when(year_end.clone())
        .state_after();
    assert_eq!(
        state.details.unwrap().status_reports[0].normalised,
        Some(NormalisedStatus::Completed)
    );
    let carried = AssignmentEvent::AssignmentCarriedOver(AssignmentCarriedOver {
        to_assignment: AssignmentId(Uuid::from_u128(2)),
        to_reference: None,
        to_year: Year::new(2025).unwrap(),
        reason: Text::new("reason", "continues").unwrap(),
        by: hod(),
        at: t0(),
    });
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued(), carried])
        .when(year_end)
        .then_expect_error_containing(DomainErrorKind::RuleViolated, "carried over");
}

#[test]
fn given_stored_delivery_without_also_answers_when_loaded_then_empty_list() {
    let mut p = delivered("a", 1, date(2024, 2, 20), None).to_payload();
    p.as_object_mut().unwrap().remove("also_answers");
    let e = AssignmentEvent::from_stored("AssignmentDelivered", 1, p).unwrap();
    assert!(matches!(e, AssignmentEvent::AssignmentDelivered(d) if d.also_answers.is_empty()));
}

// ---- review fixes ---------------------------------------------------------------------------

#[test]
fn given_issued_when_yellow_without_action_then_validation_names_action() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued()])
        .when(status(
            TrafficLight::Yellow,
            Some("the hearing was postponed"),
            None,
        ))
        .then_expect_validation_of("corrective_action");
    // A blank action counts as none.
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued()])
        .when(status(
            TrafficLight::Yellow,
            Some("the hearing was postponed"),
            Some("   "),
        ))
        .then_expect_validation_of("corrective_action");
}

fn returned(part: &str, n: u128) -> AssignmentEvent {
    AssignmentEvent::DeliveryReturned(DeliveryReturned {
        delivery_id: DeliveryId(Uuid::from_u128(n)),
        part: label(part),
        reason: Text::new("reason", "the impact assessment is missing").unwrap(),
        by: hod(),
        at: t0(),
    })
}

#[test]
fn given_returned_delivery_when_extension_requested_then_requested() {
    let at = Utc.with_ymd_and_hms(2024, 2, 25, 9, 0, 0).unwrap();
    TestFramework::<Assignment>::with(ctx_at(agency_actor("DMP"), at))
        .given(vec![
            issued(),
            delivered("a", 1, date(2024, 2, 20), Some(date(2024, 3, 1))),
            returned("a", 1),
        ])
        .when(AssignmentCommand::RequestExtension {
            part: label("a"),
            new_date: date(2024, 4, 1),
            reason: "the revision needs Hdir input".into(),
        })
        .then_expect_events(vec![AssignmentEvent::ExtensionRequested(
            ExtensionRequested {
                request_id: ExtensionRequestId(nth_id(1)),
                part: label("a"),
                current_date: date(2024, 3, 1),
                new_date: date(2024, 4, 1),
                reason: Text::new("reason", "the revision needs Hdir input").unwrap(),
                by: dmp(),
                at,
            },
        )]);
}

#[test]
fn given_accepted_delivery_when_extension_requested_then_rule_violated() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![
            issued(),
            delivered("a", 1, date(2024, 2, 20), Some(date(2024, 3, 1))),
            accepted("a", 1),
        ])
        .when(AssignmentCommand::RequestExtension {
            part: label("a"),
            new_date: date(2024, 4, 1),
            reason: "x".into(),
        })
        .then_expect_error_containing(DomainErrorKind::RuleViolated, "already delivered");
}

fn changed_a_to(new: NaiveDate) -> AssignmentEvent {
    AssignmentEvent::PartDeadlineChanged(PartDeadlineChanged {
        part: label("a"),
        previous: DeadlineTerm::Date(date(2024, 3, 1)),
        deadline: DeadlineTerm::Date(new),
        source: ChangeSource::Supplement {
            supplement_id: SupplementId(Uuid::from_u128(8)),
            number: 2,
        },
        by: hod(),
        at: t0(),
    })
}

#[test]
fn given_pending_request_when_supplement_moves_the_deadline_then_request_lapses() {
    let state = Assignment::replay(&[
        issued(),
        requested(date(2024, 4, 1)),
        changed_a_to(date(2024, 6, 1)),
    ]);
    assert_eq!(state.details.as_ref().unwrap().pending_extension, None);
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![
            issued(),
            requested(date(2024, 4, 1)),
            changed_a_to(date(2024, 6, 1)),
        ])
        .when(AssignmentCommand::GrantExtension {
            request_id: ExtensionRequestId(Uuid::from_u128(77)),
        })
        .then_expect_error(DomainError::rule("no extension request is pending"));
}

#[test]
fn given_pending_request_on_other_part_when_deadline_changes_then_request_kept() {
    let mut ev = issued();
    if let AssignmentEvent::AssignmentIssued(e) = &mut ev {
        e.parts[1].deadline = DeadlineTerm::Date(date(2024, 5, 1));
    }
    let b_changed = AssignmentEvent::PartDeadlineChanged(PartDeadlineChanged {
        part: label("b"),
        previous: DeadlineTerm::Date(date(2024, 5, 1)),
        deadline: DeadlineTerm::Date(date(2024, 9, 1)),
        source: ChangeSource::Direct,
        by: hod(),
        at: t0(),
    });
    let state = Assignment::replay(&[ev, requested(date(2024, 4, 1)), b_changed]);
    assert_eq!(
        state
            .details
            .unwrap()
            .pending_extension
            .map(|r| r.request_id),
        Some(ExtensionRequestId(Uuid::from_u128(77)))
    );
}

#[test]
fn given_request_against_a_deadline_no_longer_in_force_when_granted_then_rule_violated() {
    // A request stored before requests lapsed on deadline changes: it was made against
    // 1 February, but the deadline in force is 1 March.
    let stale = AssignmentEvent::ExtensionRequested(ExtensionRequested {
        request_id: ExtensionRequestId(Uuid::from_u128(77)),
        part: label("a"),
        current_date: date(2024, 2, 1),
        new_date: date(2024, 2, 20),
        reason: Text::new("reason", "x").unwrap(),
        by: dmp(),
        at: t0(),
    });
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued(), stale])
        .when(AssignmentCommand::GrantExtension {
            request_id: ExtensionRequestId(Uuid::from_u128(77)),
        })
        .then_expect_error(DomainError::rule(
            "the request was made against the deadline 2024-02-01, but the deadline in force is 2024-03-01; the agency must ask again",
        ));
}

// ---- corrections ----------------------------------------------------------------------

fn reported_green() -> AssignmentEvent {
    let ctx = agency_ctx("DMP");
    let state = Assignment::replay(&[issued()]);
    state
        .decide(status(TrafficLight::Green, None, None), &ctx)
        .unwrap()
        .remove(0)
}

fn correction(light: TrafficLight, reason: &str) -> AssignmentCommand {
    let AssignmentCommand::ReportStatus(report) = status(
        light,
        Some("input from Hdir is late"),
        Some("weekly follow-up meetings"),
    ) else {
        unreachable!()
    };
    AssignmentCommand::CorrectStatus {
        report,
        reason: reason.into(),
    }
}

#[test]
fn given_green_report_when_agency_corrects_it_to_yellow_then_corrected_and_original_kept() {
    let original = reported_green();
    let state = TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued(), original.clone()])
        .when(correction(
            TrafficLight::Yellow,
            "the T2 report understated the delay",
        ))
        .state_after();
    let d = state.details.unwrap();
    assert_eq!(
        d.status_reports.len(),
        1,
        "a correction amends, it does not add"
    );
    assert_eq!(d.status_reports[0].light, TrafficLight::Yellow);
    let AssignmentEvent::StatusReported(o) = original else {
        unreachable!()
    };
    assert_eq!(d.status_reports[0].at, o.at, "the report keeps its time");
}

#[test]
fn given_report_when_corrected_then_event_names_the_report_and_reason() {
    let events = TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued(), reported_green()])
        .when(correction(TrafficLight::Red, "wrong light"))
        .inspect_result()
        .unwrap();
    let [AssignmentEvent::StatusCorrected(c)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(c.period, Period::Tertial2);
    assert_eq!(c.corrects_report_of, t0());
    assert_eq!(c.reason.as_str(), "wrong light");
    assert_round_trips(&events[0]);
}

#[test]
fn given_no_report_for_the_period_when_corrected_then_not_found() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued()])
        .when(correction(TrafficLight::Yellow, "x"))
        .then_expect_error_kind(DomainErrorKind::NotFound);
}

#[test]
fn given_report_when_corrected_without_reason_or_by_ministry_then_refused() {
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued(), reported_green()])
        .when(correction(TrafficLight::Yellow, " "))
        .then_expect_validation_of("reason");
    TestFramework::<Assignment>::with(ministry_ctx("HOD"))
        .given(vec![issued(), reported_green()])
        .when(correction(TrafficLight::Yellow, "x"))
        .then_expect_error_kind(DomainErrorKind::Forbidden);
}

#[test]
fn given_report_when_correction_changes_nothing_or_breaks_the_light_rule_then_refused() {
    let AssignmentCommand::ReportStatus(same) = status(TrafficLight::Green, None, None) else {
        unreachable!()
    };
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued(), reported_green()])
        .when(AssignmentCommand::CorrectStatus {
            report: same,
            reason: "typo".into(),
        })
        .then_expect_error_kind(DomainErrorKind::RuleViolated);
    let AssignmentCommand::ReportStatus(red_bare) = status(TrafficLight::Red, None, None) else {
        unreachable!()
    };
    TestFramework::<Assignment>::with(agency_ctx("DMP"))
        .given(vec![issued(), reported_green()])
        .when(AssignmentCommand::CorrectStatus {
            report: red_bare,
            reason: "worse than thought".into(),
        })
        .then_expect_validation_of("cause_and_consequence");
}
