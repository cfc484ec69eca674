//! Property: for random command sequences on an Assignment, the state built by deciding and
//! evolving equals the state rebuilt from the stored (serialized) events, and the rules hold
//! in every reachable state.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use styr_domain::assignment::*;
use styr_domain::testing::{agency_actor, auditor_actor, ministry_actor};
use styr_domain::*;
use uuid::Uuid;

#[derive(Debug, Clone)]
enum Op {
    Agree(u8, u16),
    Status(u8, bool, bool),
    Request(u8, u16),
    Grant(bool),
    Reject,
    Deliver(u8),
    Accept(u8),
    Return(u8),
    Complete,
    Cancel,
    Transfer,
    ChangeDeadline(u8, u16),
    Amend,
    CarryOver,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..3, 0u16..400).prop_map(|(p, d)| Op::Agree(p, d)),
        (0u8..3, any::<bool>(), any::<bool>()).prop_map(|(l, c, a)| Op::Status(l, c, a)),
        (0u8..3, 0u16..400).prop_map(|(p, d)| Op::Request(p, d)),
        any::<bool>().prop_map(Op::Grant),
        Just(Op::Reject),
        (0u8..3).prop_map(Op::Deliver),
        (0u8..3).prop_map(Op::Accept),
        (0u8..3).prop_map(Op::Return),
        Just(Op::Complete),
        Just(Op::Cancel),
        Just(Op::Transfer),
        (0u8..3, 0u16..400).prop_map(|(p, d)| Op::ChangeDeadline(p, d)),
        Just(Op::Amend),
        Just(Op::CarryOver),
    ]
}

fn part(p: u8) -> Option<PartLabel> {
    match p {
        0 => Some(PartLabel::parse("a").unwrap()),
        1 => Some(PartLabel::parse("b").unwrap()),
        _ => None,
    }
}

fn day(d: u16) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + Duration::days(i64::from(d))
}

fn org(s: &str) -> OrgCode {
    OrgCode::parse(s).unwrap()
}

fn issue() -> AssignmentCommand {
    AssignmentCommand::Issue(Box::new(IssueAssignment {
        assignment_id: AssignmentId(Uuid::from_u128(1)),
        reference: Some(AssignmentReference::parse("TB2024-7").unwrap()),
        ministry: org("HOD"),
        agency: org("DMP"),
        year: Year::new(2024).unwrap(),
        department: None,
        title: "Helsedata".into(),
        description: "A. and B. and an unlabelled sentence".into(),
        goal: None,
        source: AssignmentSource::Letter,
        parts: vec![
            PartSpec {
                label: part(0),
                title: None,
                deadline: DeadlineTerm::Date(day(60)),
            },
            PartSpec {
                label: part(1),
                title: None,
                deadline: DeadlineTerm::ToBeAgreed,
            },
            PartSpec {
                label: None,
                title: None,
                deadline: DeadlineTerm::NoDeadline,
            },
        ],
        collaborators: vec![],
        carried_over_from: None,
    }))
}

fn command(op: &Op, state: &Assignment) -> AssignmentCommand {
    let pending = state
        .details
        .as_ref()
        .and_then(|d| d.pending_extension.as_ref())
        .map(|p| p.request_id)
        .unwrap_or(ExtensionRequestId(Uuid::nil()));
    match op.clone() {
        Op::Agree(p, d) => AssignmentCommand::AgreeDeadline {
            part: part(p),
            date: day(d),
        },
        Op::Status(l, c, a) => AssignmentCommand::ReportStatus(Box::new(ReportStatus {
            period: Period::Tertial1,
            light: [TrafficLight::Green, TrafficLight::Yellow, TrafficLight::Red][l as usize],
            progress: "progress".into(),
            cause_and_consequence: c.then(|| "cause".to_string()),
            corrective_action: a.then(|| "action".to_string()),
            year_end_phrase: None,
            normalised: None,
        })),
        Op::Request(p, d) => AssignmentCommand::RequestExtension {
            part: part(p),
            new_date: day(d),
            reason: "need time".into(),
        },
        Op::Grant(right) => AssignmentCommand::GrantExtension {
            request_id: if right {
                pending
            } else {
                ExtensionRequestId(Uuid::from_u128(999))
            },
        },
        Op::Reject => AssignmentCommand::RejectExtension {
            request_id: pending,
            reason: "no".into(),
        },
        Op::Deliver(p) => AssignmentCommand::Deliver {
            part: part(p),
            summary: "sent".into(),
            document_ref: None,
            also_answers: vec![],
        },
        Op::Accept(p) => AssignmentCommand::AcceptDelivery { part: part(p) },
        Op::Return(p) => AssignmentCommand::ReturnDelivery {
            part: part(p),
            reason: "incomplete".into(),
        },
        Op::Complete => AssignmentCommand::Complete { note: None },
        Op::Cancel => AssignmentCommand::Cancel {
            reason: "stop".into(),
            source: ChangeSource::Direct,
        },
        Op::Transfer => AssignmentCommand::Transfer {
            to_agency: org("HDIR"),
            reason: "moved".into(),
            effective: day(365),
            source: ChangeSource::Direct,
        },
        Op::ChangeDeadline(p, d) => AssignmentCommand::ChangeDeadline {
            part: part(p),
            deadline: DeadlineTerm::Date(day(d)),
            source: ChangeSource::Direct,
        },
        Op::Amend => AssignmentCommand::Amend {
            title: Some("Helsedata (amended)".into()),
            description: None,
            source: ChangeSource::Direct,
        },
        Op::CarryOver => AssignmentCommand::CarryOver {
            new_assignment_id: AssignmentId(Uuid::from_u128(2)),
            new_reference: None,
            reason: "continues".into(),
        },
    }
}

fn actor(a: u8) -> Actor {
    match a {
        0 => ministry_actor("HOD"),
        1 => agency_actor("DMP"),
        2 => agency_actor("HDIR"),
        _ => auditor_actor(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn replaying_stored_events_rebuilds_the_decided_state(
        steps in proptest::collection::vec((0u8..4, op(), 0u16..400), 0..40)
    ) {
        let start = Utc.with_ymd_and_hms(2024, 2, 5, 9, 0, 0).unwrap();
        let mut state = Assignment::default();
        let mut stored: Vec<(String, u32, String)> = Vec::new();
        let mut apply = |state: &mut Assignment, events: Vec<AssignmentEvent>| {
            for e in events {
                let payload = serde_json::to_string(&e.to_payload()).unwrap();
                stored.push((e.event_type().to_string(), e.schema_version(), payload));
                state.evolve(&e);
            }
        };
        let ctx = CommandContext::new(ministry_actor("HOD"), start, Uuid::from_u128(7));
        let events = state.decide(issue(), &ctx).unwrap();
        apply(&mut state, events);

        for (i, (a, op, offset)) in steps.iter().enumerate() {
            let now = start + Duration::days(i64::from(*offset));
            let ctx = CommandContext::new(actor(*a), now, Uuid::from_u128(100 + i as u128));
            let before = state.clone();
            match state.decide(command(op, &state), &ctx) {
                Ok(events) => {
                    prop_assert!(!events.is_empty());
                    apply(&mut state, events);
                }
                Err(_) => prop_assert_eq!(&state, &before),
            }
            // Rules that must hold in every reachable state.
            let d = state.details.as_ref().unwrap();
            if *a == 3 {
                prop_assert_eq!(&state, &before, "an auditor changed the state");
            }
            for r in &d.status_reports {
                if r.light != TrafficLight::Green {
                    prop_assert!(r.cause_and_consequence.is_some() && r.corrective_action.is_some());
                }
            }
        }

        let loaded: Vec<AssignmentEvent> = stored
            .iter()
            .map(|(t, v, p)| {
                AssignmentEvent::from_stored(t, *v, serde_json::from_str(p).unwrap()).unwrap()
            })
            .collect();
        let rebuilt = Assignment::replay(&loaded);
        prop_assert_eq!(&rebuilt, &state);

        // A part is delivered again only after the previous delivery was returned.
        let mut delivered_per_part = std::collections::HashMap::new();
        let mut returned_per_part = std::collections::HashMap::new();
        for e in &loaded {
            match e {
                AssignmentEvent::AssignmentDelivered(x) => {
                    *delivered_per_part.entry(x.part.clone()).or_insert(0) += 1
                }
                AssignmentEvent::DeliveryReturned(x) => {
                    *returned_per_part.entry(x.part.clone()).or_insert(0) += 1
                }
                _ => {}
            }
        }
        for (p, n) in delivered_per_part {
            prop_assert!(n <= 1 + returned_per_part.get(&p).copied().unwrap_or(0));
        }
    }
}
