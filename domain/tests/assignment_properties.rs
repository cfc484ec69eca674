//! Property: for random, mostly valid command sequences on an Assignment (the right actor for
//! each command, parts that exist and are in the state the command needs, dates after the
//! deadline in force), driven with their Deadline follow-ups the way the workflow drives them:
//!
//! - most commands are accepted (so the sequences reach deep states, not just refusals);
//! - the state rebuilt from the stored (serialized) events equals the decided state;
//! - invariants hold that are checked against a model kept by the test, not against the
//!   aggregate's own `evolve`: status reports equal the accepted `ReportStatus` commands, a part
//!   has at most one delivery outstanding, at most one extension request is pending and it is
//!   the one the model expects, agency work is accepted only from the agency responsible on
//!   that Oslo date, a grant never moves a deadline backwards, and every deadline follow-up is
//!   accepted by its Deadline stream, whose status matches the part's.

use std::cell::Cell;
use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use styr_domain::assignment::*;
use styr_domain::deadline::{Deadline, DeadlineStatus, follow_ups};
use styr_domain::testing::{agency_actor, auditor_actor, ministry_actor, org};
use styr_domain::*;
use uuid::Uuid;

/// What the generated step tries to do; [`plan`] turns it into a command fitting the state.
#[derive(Debug, Clone)]
enum Intent {
    Agree(u8, u16),
    Status(u8, bool),
    Request(u8, u16),
    Grant,
    Reject,
    Deliver(u8),
    Accept(u8),
    Return(u8),
    Complete,
    Cancel,
    Transfer(u8, u16),
    ChangeDeadline(u8, u8, u16),
    Amend,
    CarryOver,
}

fn intent() -> impl Strategy<Value = Intent> {
    prop_oneof![
        3 => (0u8..3, 1u16..120).prop_map(|(p, d)| Intent::Agree(p, d)),
        6 => (0u8..3, proptest::bool::weighted(0.1)).prop_map(|(l, m)| Intent::Status(l, m)),
        4 => (0u8..3, 1u16..60).prop_map(|(p, d)| Intent::Request(p, d)),
        3 => Just(Intent::Grant),
        2 => Just(Intent::Reject),
        5 => (0u8..3).prop_map(Intent::Deliver),
        3 => (0u8..3).prop_map(Intent::Accept),
        3 => (0u8..3).prop_map(Intent::Return),
        2 => (0u8..3, 0u16..40).prop_map(|(a, d)| Intent::Transfer(a, d)),
        3 => (0u8..3, 0u8..4, 1u16..120).prop_map(|(p, k, d)| Intent::ChangeDeadline(p, k, d)),
        1 => Just(Intent::Amend),
    ]
}

/// The intents that end the assignment's life; generated only near the end of a sequence,
/// so that most of it runs on an active assignment.
fn terminal() -> impl Strategy<Value = Intent> {
    prop_oneof![
        Just(Intent::Complete),
        Just(Intent::Cancel),
        Just(Intent::CarryOver),
    ]
}

/// A sequence: mostly ordinary steps, then perhaps an ending and a few steps after it (which
/// must be refused, except a year-end status after completion).
fn sequence() -> impl Strategy<Value = Vec<(Intent, bool, u32)>> {
    (
        proptest::collection::vec(step(), 0..60),
        proptest::option::of((terminal(), proptest::bool::weighted(0.08), 0u32..6000)),
        proptest::collection::vec(step(), 0..3),
    )
        .prop_map(|(mut steps, end, after)| {
            if let Some(end) = end {
                steps.push(end);
                steps.extend(after);
            }
            steps
        })
}

/// One step: an intent, whether to send it as a wrong actor, and how far the clock moves
/// (minutes, up to about four days, so Oslo midnights and effective dates are crossed).
fn step() -> impl Strategy<Value = (Intent, bool, u32)> {
    (intent(), proptest::bool::weighted(0.08), 0u32..6000)
}

fn label(p: u8) -> Option<PartLabel> {
    match p {
        0 => Some(PartLabel::parse("a").unwrap()),
        1 => Some(PartLabel::parse("b").unwrap()),
        _ => None,
    }
}

fn day(d: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + Duration::days(d)
}

const AGENCIES: [&str; 3] = ["DMP", "HDIR", "FHI"];

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
                label: label(0),
                title: None,
                deadline: DeadlineTerm::Date(day(60)),
            },
            PartSpec {
                label: label(1),
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

/// The test's own model of who answers for the assignment: the issued agency and each
/// transfer's (effective date, receiving agency), as commanded.
#[derive(Default)]
struct Model {
    transfers: Vec<(NaiveDate, OrgCode)>,
    /// (request id, part) of the pending request, kept from accepted commands only.
    pending: Option<(ExtensionRequestId, Option<PartLabel>)>,
    status_reports: usize,
}

impl Model {
    fn agency_on(&self, date: NaiveDate) -> OrgCode {
        self.transfers
            .iter()
            .rev()
            .find(|(effective, _)| *effective <= date)
            .map_or(org("DMP"), |(_, a)| a.clone())
    }
}

/// The first part (starting at `p`) that satisfies `fits`, else part `p` itself.
fn pick(d: &AssignmentDetails, p: u8, fits: impl Fn(&Part) -> bool) -> Option<PartLabel> {
    (0..3)
        .map(|i| label((p + i) % 3))
        .find(|l| d.part(l).is_some_and(&fits))
        .unwrap_or_else(|| label(p))
}

fn open_for_delivery(p: &Part) -> bool {
    matches!(
        p.delivery,
        PartDelivery::NotDelivered | PartDelivery::Returned(_)
    )
}

/// The command an intent becomes in `d` on Oslo date `today`, and who sends it.
fn plan(
    intent: &Intent,
    wrong_actor: bool,
    d: &AssignmentDetails,
    model: &Model,
    today: NaiveDate,
) -> (Actor, AssignmentCommand) {
    let ministry = ministry_actor("HOD");
    let agency = agency_actor(model.agency_on(today).as_str());
    let pending = model
        .pending
        .as_ref()
        .map_or(ExtensionRequestId(Uuid::nil()), |(id, _)| *id);
    // An intent with nothing to act on becomes the step that makes it possible.
    let awaiting = |x: &Part| matches!(x.delivery, PartDelivery::AwaitingReview(_));
    let intent = match intent.clone() {
        Intent::Grant | Intent::Reject if model.pending.is_none() => Intent::Request(0, 14),
        Intent::Request(..) if model.pending.is_some() => Intent::Grant,
        Intent::Accept(p) | Intent::Return(p) if !d.parts.iter().any(awaiting) => {
            Intent::Deliver(p)
        }
        Intent::Agree(p, _)
            if !d
                .parts
                .iter()
                .any(|x| x.deadline == DeadlineTerm::ToBeAgreed) =>
        {
            Intent::ChangeDeadline(p, 0, 0)
        }
        other => other,
    };
    let (right, command) = match intent {
        Intent::Agree(p, days) => (
            ministry,
            AssignmentCommand::AgreeDeadline {
                part: pick(d, p, |x| x.deadline == DeadlineTerm::ToBeAgreed),
                date: today + Duration::days(i64::from(days)),
            },
        ),
        Intent::Status(light, missing) => {
            let light =
                [TrafficLight::Green, TrafficLight::Yellow, TrafficLight::Red][usize::from(light)];
            let explained = light != TrafficLight::Green && !missing;
            (
                agency,
                AssignmentCommand::ReportStatus(Box::new(ReportStatus {
                    period: Period::Tertial1,
                    light,
                    progress: "progress".into(),
                    cause_and_consequence: explained.then(|| "cause".to_string()),
                    corrective_action: explained.then(|| "action".to_string()),
                    year_end_phrase: None,
                    normalised: None,
                })),
            )
        }
        Intent::Request(p, days) => {
            let part = pick(d, p, |x| {
                x.deadline.date().is_some() && open_for_delivery(x)
            });
            let current = d
                .part(&part)
                .and_then(|x| x.deadline.date())
                .unwrap_or(today);
            (
                agency,
                AssignmentCommand::RequestExtension {
                    part,
                    new_date: current + Duration::days(i64::from(days)),
                    reason: "need time".into(),
                },
            )
        }
        Intent::Grant => (
            ministry,
            AssignmentCommand::GrantExtension {
                request_id: pending,
            },
        ),
        Intent::Reject => (
            ministry,
            AssignmentCommand::RejectExtension {
                request_id: pending,
                reason: "no".into(),
            },
        ),
        Intent::Deliver(p) => (
            agency,
            AssignmentCommand::Deliver {
                part: pick(d, p, open_for_delivery),
                summary: "sent".into(),
                document_ref: None,
                also_answers: vec![],
            },
        ),
        Intent::Accept(p) => (
            ministry,
            AssignmentCommand::AcceptDelivery {
                part: pick(d, p, |x| {
                    matches!(x.delivery, PartDelivery::AwaitingReview(_))
                }),
            },
        ),
        Intent::Return(p) => (
            ministry,
            AssignmentCommand::ReturnDelivery {
                part: pick(d, p, |x| {
                    matches!(x.delivery, PartDelivery::AwaitingReview(_))
                }),
                reason: "incomplete".into(),
            },
        ),
        Intent::Complete => (ministry, AssignmentCommand::Complete { note: None }),
        Intent::Cancel => (
            ministry,
            AssignmentCommand::Cancel {
                reason: "stop".into(),
                source: ChangeSource::Direct,
            },
        ),
        Intent::Transfer(a, days) => {
            let to = (0..3)
                .map(|i| org(AGENCIES[usize::from((a + i) % 3)]))
                .find(|o| *o != d.agency)
                .unwrap();
            let earliest = model
                .transfers
                .last()
                .map_or(today, |(e, _)| *e.max(&today));
            (
                ministry,
                AssignmentCommand::Transfer {
                    to_agency: to,
                    reason: "moved".into(),
                    effective: earliest + Duration::days(i64::from(days)),
                    source: ChangeSource::Direct,
                },
            )
        }
        Intent::ChangeDeadline(p, kind, days) => (
            ministry,
            AssignmentCommand::ChangeDeadline {
                part: label(p),
                deadline: match kind {
                    0 => DeadlineTerm::ToBeAgreed,
                    1 => DeadlineTerm::NoDeadline,
                    _ => DeadlineTerm::Date(today + Duration::days(i64::from(days))),
                },
                source: ChangeSource::Direct,
            },
        ),
        Intent::Amend => (
            ministry,
            AssignmentCommand::Amend {
                title: Some("Helsedata (amended)".into()),
                description: None,
                source: ChangeSource::Direct,
            },
        ),
        Intent::CarryOver => (
            ministry,
            AssignmentCommand::CarryOver {
                new_assignment_id: AssignmentId(Uuid::from_u128(2)),
                new_reference: None,
                reason: "continues".into(),
            },
        ),
    };
    if !wrong_actor {
        return (right, command);
    }
    let wrong = if right.role == Role::Ministry {
        agency_actor(model.agency_on(today).as_str())
    } else if today.day0().is_multiple_of(2) {
        auditor_actor()
    } else {
        // An agency that does not answer for the assignment today.
        let responsible = model.agency_on(today);
        agency_actor(AGENCIES.iter().find(|a| org(a) != responsible).unwrap())
    };
    (wrong, command)
}

/// Applies `events`, deciding their deadline follow-ups the way the workflow does; every
/// follow-up must be accepted by its Deadline stream. Stores each event in serialized form.
fn commit(
    state: &mut Assignment,
    deadlines: &mut BTreeMap<DeadlineId, Deadline>,
    stored: &mut Vec<(String, u32, String)>,
    events: Vec<AssignmentEvent>,
    ctx: &CommandContext,
) -> Result<(), TestCaseError> {
    for e in events {
        for (id, cmd) in follow_ups(state, &e) {
            let d = deadlines.entry(id).or_default();
            let produced = d.decide(cmd.clone(), ctx).map_err(|err| {
                TestCaseError::fail(format!(
                    "deadline follow-up {cmd:?} of {e:?} refused: {err}"
                ))
            })?;
            for de in &produced {
                d.evolve(de);
            }
        }
        let payload = serde_json::to_string(&e.to_payload()).unwrap();
        stored.push((e.event_type().to_string(), e.schema_version(), payload));
        state.evolve(&e);
    }
    Ok(())
}

#[derive(Default)]
struct Totals {
    commands: Cell<usize>,
    accepted: Cell<usize>,
}

/// Runs one sequence and returns (commands sent, commands accepted).
fn run_sequence(steps: &[(Intent, bool, u32)]) -> Result<(usize, usize), TestCaseError> {
    let start: DateTime<Utc> = Utc.with_ymd_and_hms(2024, 2, 5, 9, 0, 0).unwrap();
    let mut state = Assignment::default();
    let mut deadlines: BTreeMap<DeadlineId, Deadline> = BTreeMap::new();
    let mut stored: Vec<(String, u32, String)> = Vec::new();
    let mut model = Model::default();
    let mut accepted = 0;

    let ctx = CommandContext::new(ministry_actor("HOD"), start, Uuid::from_u128(7));
    let events = state.decide(issue(), &ctx).unwrap();
    commit(&mut state, &mut deadlines, &mut stored, events, &ctx)?;

    let mut now = start;
    for (i, (intent, wrong_actor, minutes)) in steps.iter().enumerate() {
        now += Duration::minutes(i64::from(*minutes));
        let today = oslo_date(now);
        let before = state.clone();
        let d = before.details.as_ref().unwrap();
        let (actor, command) = plan(intent, *wrong_actor, d, &model, today);
        let ctx = CommandContext::new(actor.clone(), now, Uuid::from_u128(100 + i as u128));
        match state.decide(command.clone(), &ctx) {
            Ok(events) => {
                prop_assert!(!events.is_empty());
                accepted += 1;
                prop_assert!(
                    actor.role != Role::Auditor,
                    "an auditor's command was accepted"
                );
                if actor.role == Role::Agency {
                    prop_assert_eq!(
                        &actor.organisation,
                        &model.agency_on(today),
                        "agency work accepted from an agency not responsible on {}",
                        today
                    );
                }
                let pending_before = model.pending.clone();
                match &command {
                    AssignmentCommand::ReportStatus(_) => model.status_reports += 1,
                    AssignmentCommand::RequestExtension { part, .. } => {
                        prop_assert!(pending_before.is_none(), "a second request was accepted");
                        let [AssignmentEvent::ExtensionRequested(r)] = &events[..] else {
                            return Err(TestCaseError::fail(format!("request gave {events:?}")));
                        };
                        model.pending = Some((r.request_id, part.clone()));
                    }
                    AssignmentCommand::GrantExtension { .. } => {
                        let [AssignmentEvent::ExtensionGranted(g)] = &events[..] else {
                            return Err(TestCaseError::fail(format!("grant gave {events:?}")));
                        };
                        let current = d.part(&g.part).and_then(|p| p.deadline.date());
                        prop_assert!(
                            current.is_some_and(|c| g.new_date > c),
                            "a grant moved {:?} to {} (not later)",
                            current,
                            g.new_date
                        );
                        model.pending = None;
                    }
                    AssignmentCommand::RejectExtension { .. }
                    | AssignmentCommand::Cancel { .. }
                    | AssignmentCommand::CarryOver { .. } => model.pending = None,
                    AssignmentCommand::Transfer {
                        to_agency,
                        effective,
                        ..
                    } => {
                        model.transfers.push((*effective, to_agency.clone()));
                        model.pending = None;
                    }
                    AssignmentCommand::AgreeDeadline { part, .. }
                    | AssignmentCommand::ChangeDeadline { part, .. }
                        if pending_before.as_ref().is_some_and(|(_, p)| p == part) =>
                    {
                        model.pending = None;
                    }
                    _ => {}
                }
                commit(&mut state, &mut deadlines, &mut stored, events, &ctx)?;
            }
            Err(_) => prop_assert_eq!(&state, &before),
        }

        // Invariants, against the model and the Deadline streams.
        let d = state.details.as_ref().unwrap();
        prop_assert_eq!(d.status_reports.len(), model.status_reports);
        prop_assert_eq!(
            d.pending_extension
                .as_ref()
                .map(|r| (r.request_id, r.part.clone())),
            model.pending.clone()
        );
        for r in &d.status_reports {
            if r.light != TrafficLight::Green {
                prop_assert!(r.cause_and_consequence.is_some() && r.corrective_action.is_some());
            }
        }
        for p in &d.parts {
            let delivered = d.deliveries.iter().filter(|x| x.part == p.label).count();
            let returned = stored
                .iter()
                .filter(|(t, _, payload)| {
                    t == "DeliveryReturned"
                        && serde_json::from_str::<serde_json::Value>(payload).unwrap()["part"]
                            == serde_json::to_value(&p.label).unwrap()
                })
                .count();
            prop_assert!(
                delivered <= returned + 1,
                "{:?}: {} deliveries, {} returned",
                p.label,
                delivered,
                returned
            );
            match (p.deadline_status, deadlines.get(&p.deadline_id)) {
                (None, stream) => prop_assert!(stream.is_none()),
                (Some(status), Some(stream)) => {
                    let s = stream.details.as_ref().unwrap();
                    prop_assert_eq!(s.status, status);
                    if status == DeadlineStatus::Met {
                        prop_assert!(!open_for_delivery(p));
                    }
                    if status == DeadlineStatus::Open {
                        prop_assert_eq!(Some(s.due), p.deadline.date());
                    }
                }
                (Some(status), None) => {
                    return Err(TestCaseError::fail(format!(
                        "{:?} is {status:?} but its deadline stream does not exist",
                        p.label
                    )));
                }
            }
        }
    }

    let loaded: Vec<AssignmentEvent> = stored
        .iter()
        .map(|(t, v, p)| {
            AssignmentEvent::from_stored(t, *v, serde_json::from_str(p).unwrap()).unwrap()
        })
        .collect();
    prop_assert_eq!(&Assignment::replay(&loaded), &state);
    // Read straight from the stored text (the replay path), every event decodes the same.
    let from_text: Vec<AssignmentEvent> = stored
        .iter()
        .map(|(t, v, p)| AssignmentEvent::from_stored_text(t, *v, p).unwrap())
        .collect();
    prop_assert_eq!(&from_text, &loaded);
    Ok((steps.len(), accepted))
}

#[test]
fn mostly_valid_sequences_are_accepted_keep_their_invariants_and_replay() {
    let totals = Totals::default();
    let mut runner = TestRunner::new(Config {
        cases: 256,
        ..Config::default()
    });
    runner
        .run(&sequence(), |steps| {
            let (sent, accepted) = run_sequence(&steps)?;
            totals.commands.set(totals.commands.get() + sent);
            totals.accepted.set(totals.accepted.get() + accepted);
            Ok(())
        })
        .unwrap();
    let (sent, accepted) = (totals.commands.get(), totals.accepted.get());
    eprintln!("{accepted} of {sent} generated commands accepted");
    assert!(sent > 1000, "only {sent} commands were generated");
    assert!(
        accepted * 2 >= sent,
        "only {accepted} of {sent} generated commands were accepted"
    );
}
