//! Given / when / then tests for correspondence items: registration, exemption from public
//! disclosure, and the delivery bookkeeping of copies.

use chrono::Duration;
use serde_json::json;

use super::*;
use crate::error::DomainErrorKind;
use crate::testing::*;

const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn registered() -> CorrespondenceEvent {
    register_copy(
        CorrespondenceKind::StatusReport,
        "Statusrapport T1: TB2024-12".into(),
        Some(org("HOD")),
        Some(org("DMP")),
        org("DMP"),
        org("HOD"),
        None,
        json!({"progress": "on track"}),
        SHA.into(),
        t0(),
        agency_actor("DMP").by(),
    )
}

fn details(events: &[CorrespondenceEvent]) -> CorrespondenceDetails {
    let mut c = Correspondence::default();
    for e in events {
        assert_round_trips(e);
        c.evolve(e);
    }
    c.details.expect("registered")
}

#[test]
fn classification_covers_the_correspondence_of_the_dialogue() {
    use CorrespondenceKind as K;
    assert_eq!(
        classify("allocation_letter", "LetterIssued"),
        Some(K::LetterIssued)
    );
    assert_eq!(
        classify("supplement", "SupplementIssued"),
        Some(K::SupplementIssued)
    );
    assert_eq!(
        classify("assignment", "StatusReported"),
        Some(K::StatusReport)
    );
    assert_eq!(
        classify("assignment", "StatusCorrected"),
        Some(K::StatusReport)
    );
    assert_eq!(
        classify("assignment", "AssignmentDelivered"),
        Some(K::Delivery)
    );
    assert_eq!(
        classify("assignment", "DeliveryReturned"),
        Some(K::MinistryFeedback)
    );
    assert_eq!(
        classify("deviation_report", "DeviationSubmitted"),
        Some(K::DeviationReport)
    );
    assert_eq!(
        classify("calendar_item", "MinutesRecorded"),
        Some(K::MeetingMinutes)
    );
    // Drafts and internal bookkeeping are not correspondence.
    assert_eq!(classify("allocation_letter", "GoalAdded"), None);
    assert_eq!(classify("deviation_report", "DeviationDrafted"), None);
    assert_eq!(classify("deadline", "DeadlineMissed"), None);
    assert_eq!(classify("correspondence", "CopyDelivered"), None);
}

#[test]
fn copies_of_the_dialogue_go_to_riksrevisjonen() {
    let d = details(&[registered()]);
    assert_eq!(d.registered.copy_to, org("RR"));
    assert!(d.channels.is_empty());
}

#[test]
fn given_nothing_when_agency_registers_its_letter_to_riksrevisjonen_then_copy_goes_to_ministry() {
    let state = TestFramework::<Correspondence>::with(agency_ctx("DMP"))
        .given_no_previous_events()
        .when(CorrespondenceCommand::RegisterWithRiksrevisjonen {
            ministry: org("HOD"),
            agency: org("DMP"),
            outgoing: true,
            title: "Svar på revisjonsbrev 2024".into(),
            content: json!({"text": "..."}),
            content_sha256: SHA.into(),
            occurred_at: t0() - Duration::days(1),
        })
        .state_after();
    let r = state.details.expect("registered").registered;
    assert_eq!(r.kind, CorrespondenceKind::WithRiksrevisjonen);
    assert_eq!(
        (r.from, r.to, r.copy_to),
        (org("DMP"), org("RR"), org("HOD"))
    );
}

#[test]
fn given_nothing_when_other_agency_or_bad_hash_registers_then_refused() {
    let cmd = |agency: &str, sha: &str| CorrespondenceCommand::RegisterWithRiksrevisjonen {
        ministry: org("HOD"),
        agency: org(agency),
        outgoing: false,
        title: "Revisjonsbrev".into(),
        content: json!({}),
        content_sha256: sha.into(),
        occurred_at: t0(),
    };
    TestFramework::<Correspondence>::with(agency_ctx("DMP"))
        .given_no_previous_events()
        .when(cmd("FHI", SHA))
        .then_expect_error_kind(DomainErrorKind::Forbidden);
    TestFramework::<Correspondence>::with(agency_ctx("DMP"))
        .given_no_previous_events()
        .when(cmd("DMP", "not-a-hash"))
        .then_expect_validation_of("content_sha256");
    TestFramework::<Correspondence>::with(ministry_ctx("HOD"))
        .given_no_previous_events()
        .when(cmd("DMP", SHA))
        .then_expect_error_kind(DomainErrorKind::Forbidden);
}

#[test]
fn given_item_when_ministry_marks_it_exempt_then_marking_recorded() {
    let state = TestFramework::<Correspondence>::with(ministry_ctx("HOD"))
        .given(vec![registered()])
        .when(CorrespondenceCommand::MarkExempt {
            legal_basis: "offl. § 15 første ledd".into(),
        })
        .state_after();
    let d = state.details.expect("registered");
    assert!(d.is_exempt());
    assert_eq!(
        d.exemption.expect("marked").legal_basis.as_str(),
        "offl. § 15 første ledd"
    );
}

#[test]
fn given_item_when_auditor_or_stranger_marks_it_exempt_then_forbidden() {
    for ctx in [auditor_ctx(), ministry_ctx("FIN"), agency_ctx("FHI")] {
        TestFramework::<Correspondence>::with(ctx)
            .given(vec![registered()])
            .when(CorrespondenceCommand::MarkExempt {
                legal_basis: "offl. § 13".into(),
            })
            .then_expect_error_kind(DomainErrorKind::Forbidden);
    }
}

#[test]
fn given_item_when_marked_without_legal_basis_then_validation_error() {
    TestFramework::<Correspondence>::with(agency_ctx("DMP"))
        .given(vec![registered()])
        .when(CorrespondenceCommand::MarkExempt {
            legal_basis: "  ".into(),
        })
        .then_expect_validation_of("legal_basis");
}

#[test]
fn given_exempt_item_when_lifted_then_public_again_and_lifting_twice_refused() {
    let marked = CorrespondenceEvent::ExemptionMarked(ExemptionMarked {
        legal_basis: Text::new("legal_basis", "offl. § 15").unwrap(),
        by: ministry_actor("HOD").by(),
        at: t0(),
    });
    let state = TestFramework::<Correspondence>::with(ministry_ctx("HOD"))
        .given(vec![registered(), marked])
        .when(CorrespondenceCommand::LiftExemption {
            reason: "the matter is concluded".into(),
        })
        .state_after();
    assert!(!state.details.as_ref().unwrap().is_exempt());
    TestFramework::<Correspondence>::with(ministry_ctx("HOD"))
        .given(vec![registered()])
        .when(CorrespondenceCommand::LiftExemption { reason: "x".into() })
        .then_expect_error_kind(DomainErrorKind::RuleViolated);
}

#[test]
fn given_no_item_when_marked_then_not_found() {
    TestFramework::<Correspondence>::with(ministry_ctx("HOD"))
        .given_no_previous_events()
        .when(CorrespondenceCommand::MarkExempt {
            legal_basis: "offl. § 15".into(),
        })
        .then_expect_error_kind(DomainErrorKind::NotFound);
}

#[test]
fn delivery_is_started_before_it_is_recorded_and_failures_back_off() {
    let now = t0();
    let d = details(&[registered()]);
    assert!(d.due_on("webhook", now));
    // A receipt without a recorded start is refused: nothing is sent unrecorded.
    assert!(d.record_delivery("webhook", None, now).is_err());

    let start = d.start_dispatch("item-1", "webhook", now).unwrap();
    let CorrespondenceEvent::CopyDispatchStarted(s) = &start else {
        panic!("{start:?}")
    };
    assert_eq!(
        (s.attempt, s.idempotency_key.as_str()),
        (1, "styr-copy:item-1:webhook")
    );
    let d = details(&[registered(), start.clone()]);
    assert!(!d.due_on("webhook", now), "in flight");
    assert!(d.start_dispatch("item-1", "webhook", now).is_err());

    let failed = d.record_failure("webhook", "HTTP 503", now).unwrap();
    let d = details(&[registered(), start.clone(), failed.clone()]);
    assert!(!d.due_on("webhook", now + Duration::seconds(9)));
    assert!(d.due_on("webhook", now + Duration::seconds(10)));

    let later = now + Duration::seconds(10);
    let start2 = d.start_dispatch("item-1", "webhook", later).unwrap();
    let CorrespondenceEvent::CopyDispatchStarted(s2) = &start2 else {
        panic!()
    };
    assert_eq!(s2.attempt, 2);
    assert_eq!(
        s2.idempotency_key, s.idempotency_key,
        "same key every attempt"
    );
    let d = details(&[registered(), start, failed, start2.clone()]);
    let receipt = d
        .record_delivery("webhook", Some("rr-77".into()), later)
        .unwrap();
    let CorrespondenceEvent::CopyDelivered(r) = &receipt else {
        panic!()
    };
    assert_eq!((r.attempt, r.content_sha256.as_str()), (2, SHA));
    let mut c = Correspondence::default();
    c.evolve(&registered());
    c.evolve(&start2);
    c.evolve(&receipt);
    let d = c.details.unwrap();
    assert!(!d.due_on("webhook", later + Duration::days(1)));
    assert!(d.start_dispatch("item-1", "webhook", later).is_err());
    assert!(
        d.record_delivery("webhook", None, later).is_err(),
        "one receipt only"
    );
    // Other channels are independent.
    assert!(d.due_on("directory", later));
}

#[test]
fn an_attempt_whose_sender_died_is_retried_after_the_lease() {
    let now = t0();
    let d = details(&[registered()]);
    let start = d.start_dispatch("i", "directory", now).unwrap();
    let d = details(&[registered(), start]);
    assert!(!d.due_on("directory", now + DISPATCH_LEASE - Duration::seconds(1)));
    assert!(d.due_on("directory", now + DISPATCH_LEASE));
    let again = d
        .start_dispatch("i", "directory", now + DISPATCH_LEASE)
        .unwrap();
    assert!(matches!(again, CorrespondenceEvent::CopyDispatchStarted(s) if s.attempt == 2));
}

#[test]
fn retry_delays_double_and_are_capped() {
    assert_eq!(retry_delay(1), Duration::seconds(10));
    assert_eq!(retry_delay(2), Duration::seconds(20));
    assert_eq!(retry_delay(3), Duration::seconds(40));
    assert_eq!(retry_delay(30), Duration::hours(1));
}

#[test]
fn channel_names_are_checked() {
    let d = details(&[registered()]);
    assert!(d.start_dispatch("i", "Web Hook", t0()).is_err());
    assert!(valid_channel("webhook"));
    assert!(valid_channel("dir-2"));
}
