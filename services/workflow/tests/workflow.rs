//! Command handling against the real store, once on SQLite and once on PostgreSQL:
//! load → decide → append, follow-ups in the same append, races, retries and refusals.

use std::collections::HashSet;
use std::sync::Arc;
use styr_eventstore::on_both_backends;

use chrono::{NaiveDate, TimeZone, Utc};
use styr_domain::assignment::{
    Assignment, AssignmentCommand, AssignmentSource, IssueAssignment, PartSpec, ReportStatus,
};
use styr_domain::correspondence::{Correspondence, CorrespondenceCommand};
use styr_domain::deadline::Deadline;
use styr_domain::values::{
    AssignmentId, AssignmentReference, DeadlineTerm, DepartmentCode, OrgCode, PartLabel, Period,
    TrafficLight, Year,
};
use styr_domain::{Actor, DomainError, Role};
use styr_eventstore::testing::TestDatabase;
use styr_eventstore::{EventStore, StoreOptions, StreamId};
use styr_workflow::{CommandMeta, DeadlineMonitor, ManualClock, Workflow, WorkflowError};
use uuid::Uuid;

on_both_backends!(
    issuing_an_assignment_sets_its_deadlines_in_the_same_append,
    sixteen_concurrent_status_reports_land_with_contiguous_versions,
    a_retried_command_id_acts_once,
    racing_deliveries_of_one_command_act_once,
    refusals_write_nothing,
    the_deadline_monitor_marks_a_missed_deadline_once,
    a_monitor_kept_between_passes_reads_only_what_is_new,
    a_kept_state_never_decides_after_another_server_wrote,
    every_event_records_who_when_and_why,
    issuing_a_supplement_changes_every_stream_in_one_append,
    a_refused_supplement_changes_nothing,
    agency_calendar_items_and_requirements_are_deadlines,
);

fn org(code: &str) -> OrgCode {
    OrgCode::parse(code).unwrap()
}

fn desk_officer() -> Actor {
    Actor::new(
        "ola",
        "Ola Nordmann",
        Role::Ministry,
        org("HOD"),
        Some(DepartmentCode::parse("SHA").unwrap()),
    )
}

fn coordinator() -> Actor {
    Actor::new("kari", "Kari Nordmann", Role::Agency, org("DMP"), None)
}

fn march(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, day).unwrap()
}

async fn setup(db: &TestDatabase) -> (Workflow, Arc<ManualClock>) {
    let store = EventStore::connect(db.url(), StoreOptions::default())
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2024, 2, 5, 9, 0, 0).unwrap(),
    ));
    (Workflow::with_clock(store, clock.clone()), clock)
}

/// Issues TB2024-12 with part a due 1 March and part b to be agreed; returns its stream id.
async fn issue(wf: &Workflow) -> String {
    let id = AssignmentId(Uuid::now_v7());
    let command = AssignmentCommand::Issue(Box::new(IssueAssignment {
        assignment_id: id,
        reference: Some(AssignmentReference::parse("TB2024-12").unwrap()),
        ministry: org("HOD"),
        agency: org("DMP"),
        year: Year::new(2024).unwrap(),
        department: Some(DepartmentCode::parse("SHA").unwrap()),
        title: "Oppfølging av nasjonal tobakksstrategi".into(),
        description: "Utrede regulering av e-sigaretter".into(),
        goal: Some("2.2".into()),
        source: AssignmentSource::Letter,
        parts: vec![
            PartSpec {
                label: Some(PartLabel::parse("a").unwrap()),
                title: None,
                deadline: DeadlineTerm::Date(march(1)),
            },
            PartSpec {
                label: Some(PartLabel::parse("b").unwrap()),
                title: None,
                deadline: DeadlineTerm::ToBeAgreed,
            },
        ],
        collaborators: vec![org("HDIR")],
        carried_over_from: None,
    }));
    let stream_id = id.to_string();
    wf.execute::<Assignment>(
        &stream_id,
        command,
        &CommandMeta::new(desk_officer()).with_reason("tildelingsbrev 2024"),
    )
    .await
    .unwrap();
    stream_id
}

fn green_report(n: usize) -> AssignmentCommand {
    AssignmentCommand::ReportStatus(Box::new(ReportStatus {
        period: Period::Tertial1,
        light: TrafficLight::Green,
        progress: format!("report {n}: on track"),
        cause_and_consequence: None,
        corrective_action: None,
        year_end_phrase: None,
        normalised: None,
    }))
}

fn deliver_a() -> AssignmentCommand {
    AssignmentCommand::Deliver {
        part: Some(PartLabel::parse("a").unwrap()),
        summary: "Utredning levert".into(),
        document_ref: Some("24/1234-5".into()),
        also_answers: vec![],
    }
}

async fn issuing_an_assignment_sets_its_deadlines_in_the_same_append(db: TestDatabase) {
    let (wf, _) = setup(&db).await;
    let id = issue(&wf).await;
    let log = wf.store().read_all(0, 100).await.unwrap();
    let types: Vec<_> = log
        .iter()
        .map(|e| (e.stream.stream_type().to_owned(), e.event_type.clone()))
        .collect();
    assert_eq!(
        types,
        vec![
            ("assignment".into(), "AssignmentIssued".into()),
            ("deadline".into(), "DeadlineSet".into())
        ],
        "one dated part, one deadline stream; the open part gets one when agreed"
    );
    assert_eq!(
        log[0].causation_id, log[1].causation_id,
        "one command, one append"
    );
    let (assignment, version) = wf.load::<Assignment>(&id).await.unwrap();
    assert_eq!(version, 1);
    assert!(assignment.details.is_some());
    let (deadline, _) = wf.load::<Deadline>(log[1].stream.id()).await.unwrap();
    assert!(deadline.details.is_some());
}

async fn sixteen_concurrent_status_reports_land_with_contiguous_versions(db: TestDatabase) {
    let (wf, _) = setup(&db).await;
    let id = issue(&wf).await;
    let mut tasks = Vec::new();
    for n in 0..16 {
        let (wf, id) = (wf.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            wf.execute::<Assignment>(&id, green_report(n), &CommandMeta::new(coordinator()))
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().expect("every report lands");
    }
    let stream = StreamId::new("assignment", &id).unwrap();
    let events = wf.store().read_stream(&stream, 0).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.version).collect::<Vec<_>>(),
        (1..=17).collect::<Vec<u64>>()
    );
    let texts: HashSet<String> = events[1..]
        .iter()
        .map(|e| e.payload["progress"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts.len(), 16, "no report lost or doubled");
}

async fn a_retried_command_id_acts_once(db: TestDatabase) {
    let (wf, _) = setup(&db).await;
    let id = issue(&wf).await;
    let meta = CommandMeta::new(coordinator()).with_command_id(Uuid::now_v7());
    let first = wf
        .execute::<Assignment>(&id, deliver_a(), &meta)
        .await
        .unwrap();
    assert!(!first.repeated);
    let head = wf.log_head().await.unwrap();
    // The same delivery again would be refused as a second delivery; as a retry it is not.
    let again = wf
        .execute::<Assignment>(&id, deliver_a(), &meta)
        .await
        .unwrap();
    assert!(again.repeated);
    assert_eq!(again.events, first.events);
    assert_eq!(wf.log_head().await.unwrap(), head, "nothing written");
    let fresh = wf
        .execute::<Assignment>(&id, deliver_a(), &CommandMeta::new(coordinator()))
        .await;
    assert!(
        matches!(
            fresh,
            Err(WorkflowError::Domain(DomainError::RuleViolated(_)))
        ),
        "{fresh:?}"
    );
}

async fn racing_deliveries_of_one_command_act_once(db: TestDatabase) {
    let (wf, _) = setup(&db).await;
    let id = issue(&wf).await;
    let meta = CommandMeta::new(coordinator()).with_command_id(Uuid::now_v7());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (wf, id, meta) = (wf.clone(), id.clone(), meta.clone());
        tasks.push(tokio::spawn(async move {
            wf.execute::<Assignment>(&id, deliver_a(), &meta).await
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap().expect("a retry is never refused"));
    }
    assert_eq!(
        outcomes.iter().filter(|o| !o.repeated).count(),
        1,
        "exactly one acted"
    );
    assert!(outcomes.iter().all(|o| o.events == outcomes[0].events));
    let delivered = wf
        .store()
        .read_all(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == "AssignmentDelivered")
        .count();
    assert_eq!(delivered, 1);
}

async fn refusals_write_nothing(db: TestDatabase) {
    let (wf, _) = setup(&db).await;
    let id = issue(&wf).await;
    let head = wf.log_head().await.unwrap();
    let cancel = AssignmentCommand::Cancel {
        reason: "not needed".into(),
        source: styr_domain::assignment::ChangeSource::Direct,
    };
    let err = wf
        .execute::<Assignment>(&id, cancel, &CommandMeta::new(coordinator()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, WorkflowError::Domain(DomainError::Forbidden(_))),
        "{err}"
    );
    let err = wf
        .execute::<Assignment>(&id, green_report(0), &CommandMeta::new(desk_officer()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, WorkflowError::Domain(DomainError::Forbidden(_))),
        "{err}"
    );
    let yellow = AssignmentCommand::ReportStatus(Box::new(ReportStatus {
        period: Period::Tertial1,
        light: TrafficLight::Yellow,
        progress: "delayed".into(),
        cause_and_consequence: Some("staff shortage".into()),
        corrective_action: None,
        year_end_phrase: None,
        normalised: None,
    }));
    let err = wf
        .execute::<Assignment>(&id, yellow, &CommandMeta::new(coordinator()))
        .await
        .unwrap_err();
    match err {
        WorkflowError::Domain(DomainError::Validation { field, .. }) => {
            assert_eq!(field, "corrective_action")
        }
        other => panic!("expected a validation error, got {other}"),
    }
    let missing = AssignmentId(Uuid::now_v7()).to_string();
    let err = wf
        .execute::<Assignment>(&missing, green_report(0), &CommandMeta::new(coordinator()))
        .await
        .unwrap_err();
    assert!(
        matches!(err, WorkflowError::Domain(DomainError::NotFound(_))),
        "{err}"
    );
    assert_eq!(wf.log_head().await.unwrap(), head);
}

async fn the_deadline_monitor_marks_a_missed_deadline_once(db: TestDatabase) {
    let (wf, clock) = setup(&db).await;
    issue(&wf).await;
    // 1 March 23:30 UTC is already 2 March in Oslo... but still 1 March + 1h: not yet on the 1st.
    clock.set(Utc.with_ymd_and_hms(2024, 3, 1, 22, 30, 0).unwrap());
    assert!(
        wf.detect_missed_deadlines()
            .await
            .unwrap()
            .marked_missed
            .is_empty(),
        "the due day itself is not missed"
    );
    clock.set(Utc.with_ymd_and_hms(2024, 3, 1, 23, 30, 0).unwrap());
    let report = wf.detect_missed_deadlines().await.unwrap();
    assert_eq!(report.deadlines_checked, 1);
    assert_eq!(report.marked_missed.len(), 1, "2 March in Oslo: missed");
    let again = wf.detect_missed_deadlines().await.unwrap();
    assert!(again.marked_missed.is_empty(), "idempotent");
    let missed = wf
        .store()
        .read_all(0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == "DeadlineMissed")
        .collect::<Vec<_>>();
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0].actor.role, "system");
}

async fn every_event_records_who_when_and_why(db: TestDatabase) {
    let (wf, _) = setup(&db).await;
    let id = issue(&wf).await;
    let mut meta = CommandMeta::new(coordinator()).with_reason("tertial report T1");
    meta.effective_at = Some(Utc.with_ymd_and_hms(2024, 4, 30, 12, 0, 0).unwrap());
    let outcome = wf
        .execute::<Assignment>(&id, green_report(1), &meta)
        .await
        .unwrap();
    let e = &outcome.events[0];
    assert_eq!(e.actor.subject, "kari");
    assert_eq!(e.actor.role, "agency");
    assert_eq!(e.actor.organisation, "DMP");
    assert_eq!(e.reason.as_deref(), Some("tertial report T1"));
    assert_eq!(e.causation_id, Some(outcome.command_id));
    assert_eq!(e.effective_at, meta.effective_at.unwrap());
    assert!(
        e.recorded_at > e.effective_at,
        "a late registration shows both times"
    );
}

mod supplements {
    use styr_domain::allocation_letter::{
        AllocationLetter, BudgetLine, LetterCommand, letter_stream_id,
    };
    use styr_domain::supplement::{
        AdjustmentPart, IssueSupplement, NewAssignment, Supplement, SupplementChange,
        SupplementCommand,
    };
    use styr_domain::values::{Chapter, NokThousands, Post};

    use super::*;

    pub async fn issued_letter(wf: &Workflow) -> String {
        let id = letter_stream_id(&org("HOD"), &org("DMP"), Year::new(2024).unwrap());
        let meta = CommandMeta::new(desk_officer());
        let commands = vec![
            LetterCommand::Draft {
                ministry: org("HOD"),
                agency: org("DMP"),
                year: Year::new(2024).unwrap(),
                title: "Tildelingsbrev 2024".into(),
                case_ref: Some("23/3412".into()),
            },
            LetterCommand::AddBudgetLine(BudgetLine {
                chapter: Chapter::new(746).unwrap(),
                post: Post::new(1).unwrap(),
                amount: NokThousands(429_548),
                text: "Driftsutgifter".into(),
            }),
            LetterCommand::Issue {
                issued_on: NaiveDate::from_ymd_opt(2024, 2, 5).unwrap(),
            },
        ];
        for c in commands {
            wf.execute::<AllocationLetter>(&id, c, &meta).await.unwrap();
        }
        id
    }

    /// Drafts Tillegg nr. 1: a new assignment due 7 May, +1 289 on 746/01, and cancels `cancel`.
    pub async fn drafted_supplement(wf: &Workflow, cancel: &str) -> (String, AssignmentId) {
        let id = Uuid::now_v7().to_string();
        let new_assignment = AssignmentId(Uuid::now_v7());
        let meta = CommandMeta::new(desk_officer());
        let commands = vec![
            SupplementCommand::Draft {
                ministry: org("HOD"),
                agency: org("DMP"),
                year: Year::new(2024).unwrap(),
                title: "Tillegg nr. 1: gebyr for laboratorietjenester".into(),
            },
            SupplementCommand::AddChange(Box::new(SupplementChange::AddAssignment(Box::new(
                NewAssignment {
                    assignment_id: new_assignment,
                    reference: Some(AssignmentReference::parse("TB2024-20").unwrap()),
                    department: Some(DepartmentCode::parse("SHA").unwrap()),
                    title: "Mulig gebyr for laboratorietjenester".into(),
                    description: "Vurdere gebyr".into(),
                    goal: None,
                    parts: vec![PartSpec {
                        label: None,
                        title: None,
                        deadline: DeadlineTerm::Date(NaiveDate::from_ymd_opt(2024, 5, 7).unwrap()),
                    }],
                    collaborators: vec![],
                },
            )))),
            SupplementCommand::AddChange(Box::new(SupplementChange::BudgetAdjustment {
                chapter: Chapter::new(746).unwrap(),
                post: Post::new(1).unwrap(),
                stated_total: NokThousands(1_289),
                parts: vec![AdjustmentPart {
                    amount: NokThousands(1_289),
                    reason: "overført fra 2023".into(),
                    effective: None,
                }],
                reason: "overført bevilgning".into(),
                printed: Some("1,289 mill. kroner".into()),
            })),
            SupplementCommand::AddChange(Box::new(SupplementChange::CancelAssignment {
                assignment_id: AssignmentId(Uuid::parse_str(cancel).unwrap()),
                reason: "erstattet av nytt oppdrag".into(),
            })),
        ];
        for c in commands {
            wf.execute::<Supplement>(&id, c, &meta).await.unwrap();
        }
        (id, new_assignment)
    }

    pub fn issue_command(id: &str) -> IssueSupplement {
        IssueSupplement {
            supplement_id: styr_domain::values::SupplementId(Uuid::parse_str(id).unwrap()),
            number: Some(1),
            issued_on: NaiveDate::from_ymd_opt(2024, 3, 20).unwrap(),
        }
    }
}

async fn issuing_a_supplement_changes_every_stream_in_one_append(db: TestDatabase) {
    let (wf, _) = setup(&db).await;
    let letter = supplements::issued_letter(&wf).await;
    let old = issue(&wf).await;
    let (supplement, new_assignment) = supplements::drafted_supplement(&wf, &old).await;
    let head = wf.log_head().await.unwrap().position;
    let outcome = wf
        .issue_supplement(
            &supplement,
            supplements::issue_command(&supplement),
            &CommandMeta::new(desk_officer()),
        )
        .await
        .unwrap();
    let positions: Vec<u64> = outcome.events.iter().map(|e| e.position).collect();
    assert_eq!(
        positions,
        ((head + 1)..=(head + positions.len() as u64)).collect::<Vec<_>>(),
        "one transaction"
    );
    let streams: HashSet<&str> = outcome
        .events
        .iter()
        .map(|e| e.stream.stream_type())
        .collect();
    assert_eq!(
        streams,
        // The supplement is correspondence: its copy to Riksrevisjonen is owed in the same
        // transaction.
        HashSet::from([
            "supplement",
            "allocation_letter",
            "assignment",
            "deadline",
            "correspondence"
        ])
    );

    let (l, _) = wf
        .load::<styr_domain::allocation_letter::AllocationLetter>(&letter)
        .await
        .unwrap();
    let allocation = l.details.as_ref().unwrap().allocation(
        styr_domain::values::Chapter::new(746).unwrap(),
        styr_domain::values::Post::new(1).unwrap(),
    );
    assert_eq!(
        allocation,
        styr_domain::values::NokThousands(429_548 + 1_289)
    );
    let (cancelled, _) = wf.load::<Assignment>(&old).await.unwrap();
    assert!(format!("{:?}", cancelled.details.unwrap().lifecycle).contains("Cancelled"));
    let (added, _) = wf
        .load::<Assignment>(&new_assignment.to_string())
        .await
        .unwrap();
    assert!(added.details.is_some());
    // Numbers are fixed: issuing it again is refused.
    let again = wf
        .issue_supplement(
            &supplement,
            supplements::issue_command(&supplement),
            &CommandMeta::new(desk_officer()),
        )
        .await;
    assert!(
        matches!(again, Err(WorkflowError::Domain(DomainError::Conflict(_)))),
        "{again:?}"
    );
}

async fn a_refused_supplement_changes_nothing(db: TestDatabase) {
    let (wf, _) = setup(&db).await;
    supplements::issued_letter(&wf).await;
    let old = issue(&wf).await;
    let (supplement, _) = supplements::drafted_supplement(&wf, &old).await;
    // The assignment is cancelled directly first: the supplement's cancel is now refused.
    let cancel = AssignmentCommand::Cancel {
        reason: "dropped".into(),
        source: styr_domain::assignment::ChangeSource::Direct,
    };
    wf.execute::<Assignment>(&old, cancel, &CommandMeta::new(desk_officer()))
        .await
        .unwrap();
    let head = wf.log_head().await.unwrap();
    let err = wf
        .issue_supplement(
            &supplement,
            supplements::issue_command(&supplement),
            &CommandMeta::new(desk_officer()),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, WorkflowError::Domain(_)), "{err}");
    assert_eq!(wf.log_head().await.unwrap(), head, "no stream changed");
}

async fn agency_calendar_items_and_requirements_are_deadlines(db: TestDatabase) {
    use styr_domain::allocation_letter::{AllocationLetter, LetterCommand, letter_stream_id};
    use styr_domain::calendar::{
        CalendarCommand, CalendarKind, ReportKind, Side, SteeringCalendarItem,
    };
    use styr_domain::deadline::{DeadlineStatus, deadline_id_for_item};
    use styr_domain::values::ItemId;

    let (wf, _) = setup(&db).await;
    // A report the agency owes, in the steering calendar.
    let item = Uuid::now_v7();
    let schedule = CalendarCommand::Schedule {
        ministry: org("HOD"),
        agency: org("DMP"),
        date: NaiveDate::from_ymd_opt(2024, 9, 20).unwrap(),
        kind: CalendarKind::ReportDue(ReportKind::Tertial),
        title: "Rapportering per andre tertial".into(),
        responsible: Side::Agency,
    };
    let outcome = wf
        .execute::<SteeringCalendarItem>(
            &item.to_string(),
            schedule,
            &CommandMeta::new(desk_officer()),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome
            .events
            .iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>(),
        vec!["CalendarItemScheduled", "DeadlineSet"]
    );
    let deadline = deadline_id_for_item(ItemId(item)).to_string();
    let complete = CalendarCommand::Complete {
        document_ref: "24/9-2".into(),
    };
    wf.execute::<SteeringCalendarItem>(
        &item.to_string(),
        complete,
        &CommandMeta::new(coordinator()),
    )
    .await
    .unwrap();
    let (d, _) = wf.load::<Deadline>(&deadline).await.unwrap();
    assert_eq!(
        d.details.unwrap().status,
        DeadlineStatus::Met,
        "delivering the report meets its deadline"
    );

    // A dated reporting requirement becomes a deadline when the letter is issued.
    let letter = letter_stream_id(&org("HOD"), &org("DMP"), Year::new(2024).unwrap());
    let meta = CommandMeta::new(desk_officer());
    for command in [
        LetterCommand::Draft {
            ministry: org("HOD"),
            agency: org("DMP"),
            year: Year::new(2024).unwrap(),
            title: "Tildelingsbrev 2024".into(),
            case_ref: None,
        },
        LetterCommand::AddReportingRequirement {
            text: "Øvelsesrapport".into(),
            due: DeadlineTerm::Date(NaiveDate::from_ymd_opt(2024, 8, 15).unwrap()),
        },
        LetterCommand::AddGoal(Box::new(styr_domain::allocation_letter::Goal {
            section: "2.3".into(),
            title: styr_domain::values::Text::new("title", "Forsyningssikkerhet").unwrap(),
            assessment_criteria: vec![],
            steering_parameters: vec![],
            key_figures: vec![],
        })),
    ] {
        let outcome = wf
            .execute::<AllocationLetter>(&letter, command, &meta)
            .await
            .unwrap();
        assert!(
            outcome
                .events
                .iter()
                .all(|e| e.stream.stream_type() == "allocation_letter"),
            "a draft obliges nothing"
        );
    }
    let issued = wf
        .execute::<AllocationLetter>(
            &letter,
            LetterCommand::Issue {
                issued_on: NaiveDate::from_ymd_opt(2024, 2, 5).unwrap(),
            },
            &meta,
        )
        .await
        .unwrap();
    let set: Vec<_> = issued
        .events
        .iter()
        .filter(|e| e.event_type == "DeadlineSet")
        .collect();
    assert_eq!(set.len(), 1);
    assert_eq!(set[0].payload["due"], "2024-08-15");
}

async fn a_monitor_kept_between_passes_reads_only_what_is_new(db: TestDatabase) {
    let (wf, clock) = setup(&db).await;
    issue(&wf).await;
    let mut monitor = DeadlineMonitor::new();
    // Given one assignment (part a due 1 March, part b to be agreed) on 5 February: nothing due.
    let report = monitor.pass(&wf).await.unwrap();
    assert_eq!(
        report.deadlines_checked, 1,
        "part b has no date: no deadline"
    );
    assert!(report.marked_missed.is_empty());
    assert_eq!(monitor.position(), wf.log_head().await.unwrap().position);
    // When a second is issued and 2 March comes, the next pass reads only the new events and
    // marks both.
    let read_to = monitor.position();
    issue(&wf).await;
    clock.set(Utc.with_ymd_and_hms(2024, 3, 2, 9, 0, 0).unwrap());
    let report = monitor.pass(&wf).await.unwrap();
    assert!(monitor.position() > read_to);
    assert_eq!(report.deadlines_checked, 2);
    assert_eq!(report.marked_missed.len(), 2, "{report:?}");
    let mut marked = report.marked_missed.clone();
    // Then the next pass has read its own marks and writes nothing; a fresh monitor, reading
    // the whole log, agrees.
    let head = wf.log_head().await.unwrap();
    assert!(monitor.pass(&wf).await.unwrap().marked_missed.is_empty());
    assert!(
        wf.detect_missed_deadlines()
            .await
            .unwrap()
            .marked_missed
            .is_empty()
    );
    assert_eq!(wf.log_head().await.unwrap(), head);
    let missed: Vec<String> = wf
        .store()
        .read_all(0, 1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == "DeadlineMissed")
        .map(|e| e.stream.id().to_owned())
        .collect();
    let mut missed = missed;
    missed.sort();
    marked.sort();
    assert_eq!(missed, marked, "once each, as reported");
    assert_ne!(missed[0], missed[1], "one per assignment");
}

fn request_extension(to: NaiveDate) -> AssignmentCommand {
    AssignmentCommand::RequestExtension {
        part: Some(PartLabel::parse("a").unwrap()),
        new_date: to,
        reason: "Venter på data".into(),
    }
}

/// Each server keeps the state its last command left an assignment in and starts the next
/// command there; another server's write must make that state lose, never win.
async fn a_kept_state_never_decides_after_another_server_wrote(db: TestDatabase) {
    let (one, _) = setup(&db).await;
    let (two, _) = setup(&db).await;
    let agency = CommandMeta::new(coordinator());
    let ministry = CommandMeta::new(desk_officer());

    // Given a state kept by server one (after its report), when server two cancels the
    // assignment, then server one's next report is refused as on a fresh load, writing nothing.
    let id = issue(&one).await;
    one.execute::<Assignment>(&id, green_report(1), &agency)
        .await
        .unwrap();
    let cancel = AssignmentCommand::Cancel {
        reason: "Ikke lenger aktuelt".into(),
        source: styr_domain::assignment::ChangeSource::Direct,
    };
    two.execute::<Assignment>(&id, cancel, &ministry)
        .await
        .unwrap();
    let head = one.log_head().await.unwrap();
    let err = one
        .execute::<Assignment>(&id, green_report(2), &agency)
        .await
        .unwrap_err();
    assert!(matches!(err, WorkflowError::Domain(_)), "{err}");
    assert_eq!(one.log_head().await.unwrap(), head);

    // Given server one's kept state with an extension pending, when server two grants it,
    // then a new request through server one is not refused on the stale "one is pending":
    // it is decided again on the stream and written after the grant.
    let id = issue(&one).await;
    one.execute::<Assignment>(&id, request_extension(march(15)), &agency)
        .await
        .unwrap();
    let (state, _) = two.load::<Assignment>(&id).await.unwrap();
    let request_id = state.details.unwrap().pending_extension.unwrap().request_id;
    two.execute::<Assignment>(
        &id,
        AssignmentCommand::GrantExtension { request_id },
        &ministry,
    )
    .await
    .unwrap();
    one.execute::<Assignment>(&id, request_extension(march(25)), &agency)
        .await
        .unwrap();
    let stream = StreamId::new("assignment", id.clone()).unwrap();
    let kinds: Vec<String> = one
        .store()
        .read_stream(&stream, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    let tail = &kinds[kinds.len() - 3..];
    assert_eq!(
        tail,
        [
            "ExtensionRequested",
            "ExtensionGranted",
            "ExtensionRequested"
        ],
        "{kinds:?}"
    );
    let (state, _) = one.load::<Assignment>(&id).await.unwrap();
    assert_eq!(
        state.details.unwrap().pending_extension.unwrap().new_date,
        march(25)
    );

    // Given server one's kept state of a correspondence item marked exempt, when server two
    // lifts the exemption, then marking it exempt again through server one is not answered
    // "nothing to do" from the stale state: it is written.
    let item = one
        .store()
        .read_all(0, 1_000)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.stream.stream_type() == "correspondence")
        .expect("issuing an assignment registers its correspondence")
        .stream;
    let exempt = || CorrespondenceCommand::MarkExempt {
        legal_basis: "offentleglova § 15".into(),
    };
    one.execute::<Correspondence>(item.id(), exempt(), &ministry)
        .await
        .unwrap();
    let lift = CorrespondenceCommand::LiftExemption {
        reason: "Ikke lenger internt".into(),
    };
    two.execute::<Correspondence>(item.id(), lift, &ministry)
        .await
        .unwrap();
    let outcome = one
        .execute::<Correspondence>(item.id(), exempt(), &ministry)
        .await
        .unwrap();
    assert_eq!(outcome.events.len(), 1, "written, not a no-op");
    let (state, _) = two.load::<Correspondence>(item.id()).await.unwrap();
    assert!(state.details.unwrap().exemption.is_some());
}
