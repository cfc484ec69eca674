//! The audit export against the real store, on SQLite and PostgreSQL: a history built through
//! commands is exported; the manifest's checksums match the files, the XML parses and has the
//! case files and registry entries it must, and the JSON Lines re-import into an empty store
//! whose chain verifies with the same head. Periods are chosen by Oslo calendar dates, and a
//! bad request or a damaged log leaves no package behind.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use styr_domain::aggregate::DomainEvent;
use styr_domain::allocation_letter::{AllocationLetter, BudgetLine, LetterCommand};
use styr_domain::assignment::{
    Assignment, AssignmentCommand, AssignmentSource, IssueAssignment, PartSpec, ReportStatus,
};
use styr_domain::calendar::{
    CalendarCommand, CalendarKind, ReportKind, Side, SteeringCalendarItem,
};
use styr_domain::correspondence::{
    CopyDelivered, CopyDispatchStarted, CorrespondenceEvent, CorrespondenceKind, ExemptionLifted,
    ExemptionMarked, SourceRef, register_copy,
};
use styr_domain::deviation::{
    DeviationCategory, DeviationCommand, DeviationReport, DeviationSubject,
};
use styr_domain::supplement::{
    IssueSupplement, NewAssignment, Supplement, SupplementChange, SupplementCommand,
};
use styr_domain::values::{
    AssignmentId, AssignmentReference, Chapter, DeadlineTerm, DepartmentCode, NokThousands,
    OrgCode, Period, Post, SupplementId, Text, TrafficLight, Year,
};
use styr_domain::{Actor, By, Role};
use styr_eventstore::testing::TestDatabase;
use styr_eventstore::{
    BackendKind, EventMetadata, EventStore, ExpectedVersion, GENESIS_HASH, NewEvent, RecordedEvent,
    StoreOptions, StreamAppend, StreamId, canonical_json, on_both_backends, recompute_hash,
};
use styr_workflow::export::{
    ARCHIVE_FILE, EVENTS_FILE, ExportError, ExportRequest, MANIFEST_FILE, Manifest, NAMESPACE,
    OTHER_CASE_FILE_TITLE, README_FILE, read_events_jsonl, write_package,
};
use styr_workflow::{CommandMeta, ManualClock, Workflow};
use uuid::Uuid;

on_both_backends!(
    an_export_describes_the_period_and_reimports_into_a_verified_chain,
    a_period_is_the_events_recorded_on_its_oslo_dates,
    a_bad_request_or_a_damaged_log_leaves_no_package,
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

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

async fn setup(db: &TestDatabase) -> Workflow {
    let store = EventStore::connect(db.url(), StoreOptions::default())
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2024, 2, 5, 9, 0, 0).unwrap(),
    ));
    Workflow::with_clock(store, clock)
}

/// A fresh directory to export into, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("styr-export-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn entries(&self) -> BTreeSet<String> {
        names_in(&self.0)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn names_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn oslo_today() -> NaiveDate {
    styr_domain::oslo_date(Utc::now())
}

/// The ids of the events one command wrote, by event type.
fn written(outcome: &styr_workflow::CommandOutcome) -> BTreeMap<String, &RecordedEvent> {
    outcome
        .events
        .iter()
        .map(|e| (e.event_type.clone(), e))
        .collect()
}

fn source(e: &RecordedEvent) -> Option<SourceRef> {
    Some(SourceRef {
        stream_type: e.stream.stream_type().to_owned(),
        stream_id: e.stream.id().to_owned(),
        event_id: e.event_id,
        event_type: e.event_type.clone(),
    })
}

fn by(actor: &Actor) -> By {
    actor.by()
}

/// Correspondence events go in through the store: the workflow does not write them yet.
async fn append_item(
    store: &EventStore,
    id: &str,
    actor: &Actor,
    events: Vec<CorrespondenceEvent>,
) {
    let stream = StreamId::new("correspondence", id).unwrap();
    let version = store.stream_version(&stream).await.unwrap();
    let events = events
        .into_iter()
        .map(|e| NewEvent {
            event_id: Uuid::now_v7(),
            event_type: e.event_type().to_owned(),
            schema_version: e.schema_version(),
            payload: e.to_payload(),
            metadata: EventMetadata {
                actor: styr_eventstore::Actor {
                    subject: actor.subject.clone(),
                    display_name: actor.display_name.clone(),
                    role: styr_workflow::role_name(actor.role).to_owned(),
                    organisation: actor.organisation.to_string(),
                },
                reason: Some("copy to Riksrevisjonen".into()),
                correlation_id: Uuid::now_v7(),
                causation_id: None,
                effective_at: None,
            },
        })
        .collect();
    store
        .append(vec![StreamAppend {
            stream,
            expected: ExpectedVersion(version),
            events,
        }])
        .await
        .unwrap();
}

fn registration(
    kind: CorrespondenceKind,
    title: &str,
    from: &str,
    to: &str,
    src: Option<SourceRef>,
    actor: &Actor,
) -> CorrespondenceEvent {
    let content = json!({"title": title, "body": "innhold <med> & tegn"});
    let sha = hex::encode(Sha256::digest(canonical_json(&content).as_bytes()));
    register_copy(
        kind,
        title.to_owned(),
        Some(org("HOD")),
        Some(org("DMP")),
        org(from),
        org(to),
        src,
        content,
        sha,
        Utc.with_ymd_and_hms(2024, 2, 5, 9, 0, 0).unwrap(),
        by(actor),
    )
}

/// What the history below put where.
struct History {
    letter: String,
    first_assignment: String,
    second_assignment: String,
    exempt_item: String,
}

/// A letter, an assignment with a status report, a supplement that adds a second assignment
/// and cancels the first, a calendar report delivered, a deviation report on the second
/// assignment, and six correspondence items: the letter, the status report (exempt, copy
/// delivered), the supplement, the calendar report, the deviation report, and a letter to
/// Riksrevisjonen whose exemption was lifted.
async fn build_history(wf: &Workflow) -> History {
    let store = wf.store();
    let ministry = CommandMeta::new(desk_officer());
    let agency = CommandMeta::new(coordinator());

    let letter = styr_domain::allocation_letter::letter_stream_id(
        &org("HOD"),
        &org("DMP"),
        Year::new(2024).unwrap(),
    );
    let mut letter_issued = None;
    for c in [
        LetterCommand::Draft {
            ministry: org("HOD"),
            agency: org("DMP"),
            year: Year::new(2024).unwrap(),
            title: "Tildelingsbrev 2024 – «DMP» & co".into(),
            case_ref: Some("23/3412".into()),
        },
        LetterCommand::AddBudgetLine(BudgetLine {
            chapter: Chapter::new(746).unwrap(),
            post: Post::new(1).unwrap(),
            amount: NokThousands(429_548),
            text: "Driftsutgifter".into(),
        }),
        LetterCommand::Issue {
            issued_on: date(2024, 2, 5),
        },
    ] {
        let outcome = wf
            .execute::<AllocationLetter>(&letter, c, &ministry)
            .await
            .unwrap();
        if let Some(e) = written(&outcome).get("LetterIssued") {
            letter_issued = Some((*e).clone());
        }
    }

    let first = AssignmentId(Uuid::now_v7());
    wf.execute::<Assignment>(
        &first.to_string(),
        AssignmentCommand::Issue(Box::new(IssueAssignment {
            assignment_id: first,
            reference: Some(AssignmentReference::parse("TB2024-12").unwrap()),
            ministry: org("HOD"),
            agency: org("DMP"),
            year: Year::new(2024).unwrap(),
            department: Some(DepartmentCode::parse("SHA").unwrap()),
            title: "Oppfølging av nasjonal tobakksstrategi".into(),
            description: "Utrede regulering av e-sigaretter".into(),
            goal: Some("2.2".into()),
            source: AssignmentSource::Letter,
            parts: vec![PartSpec {
                label: None,
                title: None,
                deadline: DeadlineTerm::Date(date(2024, 3, 1)),
            }],
            collaborators: vec![],
            carried_over_from: None,
        })),
        &ministry.clone().with_reason("tildelingsbrev 2024"),
    )
    .await
    .unwrap();
    let report = wf
        .execute::<Assignment>(
            &first.to_string(),
            AssignmentCommand::ReportStatus(Box::new(ReportStatus {
                period: Period::Tertial1,
                light: TrafficLight::Green,
                progress: "i rute".into(),
                cause_and_consequence: None,
                corrective_action: None,
                year_end_phrase: None,
                normalised: None,
            })),
            &agency,
        )
        .await
        .unwrap();
    let status_reported = written(&report)["StatusReported"].clone();

    let supplement = Uuid::now_v7();
    let second = AssignmentId(Uuid::now_v7());
    for c in [
        SupplementCommand::Draft {
            ministry: org("HOD"),
            agency: org("DMP"),
            year: Year::new(2024).unwrap(),
            title: "Tillegg nr. 1".into(),
        },
        SupplementCommand::AddChange(Box::new(SupplementChange::AddAssignment(Box::new(
            NewAssignment {
                assignment_id: second,
                reference: Some(AssignmentReference::parse("TB2024-20").unwrap()),
                department: Some(DepartmentCode::parse("SHA").unwrap()),
                title: "Mulig gebyr for laboratorietjenester".into(),
                description: "Vurdere gebyr".into(),
                goal: None,
                parts: vec![PartSpec {
                    label: None,
                    title: None,
                    deadline: DeadlineTerm::Date(date(2024, 5, 7)),
                }],
                collaborators: vec![],
            },
        )))),
        SupplementCommand::AddChange(Box::new(SupplementChange::CancelAssignment {
            assignment_id: first,
            reason: "erstattet".into(),
        })),
    ] {
        wf.execute::<Supplement>(&supplement.to_string(), c, &ministry)
            .await
            .unwrap();
    }
    let issued = wf
        .issue_supplement(
            &supplement.to_string(),
            IssueSupplement {
                supplement_id: SupplementId(supplement),
                number: Some(1),
                issued_on: date(2024, 3, 20),
            },
            &ministry,
        )
        .await
        .unwrap();
    let supplement_issued = written(&issued)["SupplementIssued"].clone();

    let item = Uuid::now_v7().to_string();
    wf.execute::<SteeringCalendarItem>(
        &item,
        CalendarCommand::Schedule {
            ministry: org("HOD"),
            agency: org("DMP"),
            date: date(2024, 9, 20),
            kind: CalendarKind::ReportDue(ReportKind::Tertial),
            title: "Rapportering per andre tertial".into(),
            responsible: Side::Agency,
        },
        &ministry,
    )
    .await
    .unwrap();
    let completed = wf
        .execute::<SteeringCalendarItem>(
            &item,
            CalendarCommand::Complete {
                document_ref: "24/9-2".into(),
            },
            &agency,
        )
        .await
        .unwrap();
    let calendar_completed = written(&completed)["CalendarItemCompleted"].clone();

    let deviation = Uuid::now_v7().to_string();
    wf.execute::<DeviationReport>(
        &deviation,
        DeviationCommand::Draft {
            ministry: org("HOD"),
            agency: org("DMP"),
            subject: DeviationSubject::Assignment {
                assignment_id: second,
                category: DeviationCategory::GoalAchievement,
                significant: true,
            },
            explanation: "Forsinket".into(),
            measures: None,
            discovered_on: date(2024, 2, 1),
            letter_threshold: None,
        },
        &agency,
    )
    .await
    .unwrap();
    let submitted = wf
        .execute::<DeviationReport>(&deviation, DeviationCommand::Submit, &agency)
        .await
        .unwrap();
    let deviation_submitted = written(&submitted)["DeviationSubmitted"].clone();

    let (hod, dmp) = (desk_officer(), coordinator());
    let at = Utc.with_ymd_and_hms(2024, 2, 6, 10, 0, 0).unwrap();
    append_item(
        store,
        &Uuid::now_v7().to_string(),
        &hod,
        vec![registration(
            CorrespondenceKind::LetterIssued,
            "Tildelingsbrev 2024",
            "HOD",
            "DMP",
            letter_issued.as_ref().and_then(source),
            &hod,
        )],
    )
    .await;
    let exempt_item = Uuid::now_v7().to_string();
    append_item(
        store,
        &exempt_item,
        &dmp,
        vec![registration(
            CorrespondenceKind::StatusReport,
            "Statusrapport T1: tobakk",
            "DMP",
            "HOD",
            source(&status_reported),
            &dmp,
        )],
    )
    .await;
    append_item(
        store,
        &exempt_item,
        &dmp,
        vec![
            CorrespondenceEvent::ExemptionMarked(ExemptionMarked {
                legal_basis: Text::new("legal_basis", "offl. § 15 første ledd").unwrap(),
                by: by(&dmp),
                at,
            }),
            CorrespondenceEvent::CopyDispatchStarted(CopyDispatchStarted {
                channel: "directory".into(),
                attempt: 1,
                idempotency_key: format!("styr-copy:{exempt_item}:directory"),
                at,
            }),
            CorrespondenceEvent::CopyDelivered(CopyDelivered {
                channel: "directory".into(),
                attempt: 1,
                content_sha256: "ab".repeat(32),
                remote_receipt_id: Some("rr-0001.json".into()),
                at,
            }),
        ],
    )
    .await;
    for (kind, title, from, to, src) in [
        (
            CorrespondenceKind::SupplementIssued,
            "Tillegg nr. 1",
            "HOD",
            "DMP",
            source(&supplement_issued),
        ),
        (
            CorrespondenceKind::ReportSubmitted,
            "Rapport per andre tertial",
            "DMP",
            "HOD",
            source(&calendar_completed),
        ),
        (
            CorrespondenceKind::DeviationReport,
            "Avviksrapport",
            "DMP",
            "HOD",
            source(&deviation_submitted),
        ),
    ] {
        append_item(
            store,
            &Uuid::now_v7().to_string(),
            &dmp,
            vec![registration(kind, title, from, to, src, &dmp)],
        )
        .await;
    }
    append_item(
        store,
        &Uuid::now_v7().to_string(),
        &dmp,
        vec![
            registration(
                CorrespondenceKind::WithRiksrevisjonen,
                "Brev til Riksrevisjonen",
                "DMP",
                "RR",
                None,
                &dmp,
            ),
            CorrespondenceEvent::ExemptionMarked(ExemptionMarked {
                legal_basis: Text::new("legal_basis", "offl. § 13").unwrap(),
                by: by(&dmp),
                at,
            }),
            CorrespondenceEvent::ExemptionLifted(ExemptionLifted {
                reason: Text::new("reason", "ikke lenger taushetsbelagt").unwrap(),
                by: by(&dmp),
                at,
            }),
        ],
    )
    .await;
    History {
        letter,
        first_assignment: first.to_string(),
        second_assignment: second.to_string(),
        exempt_item,
    }
}

fn sha256_of(path: &Path) -> (u64, String) {
    let bytes = std::fs::read(path).unwrap();
    (bytes.len() as u64, hex::encode(Sha256::digest(&bytes)))
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn text<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> Option<&'a str> {
    child(node, name).and_then(|c| c.text())
}

fn elements<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    name: &'static str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

async fn an_export_describes_the_period_and_reimports_into_a_verified_chain(db: TestDatabase) {
    let wf = setup(&db).await;
    let history = build_history(&wf).await;
    let store = wf.store();
    let head = store.head().await.unwrap();
    let log = store.read_all(0, 10_000).await.unwrap();
    assert_eq!(log.len() as u64, head.position);

    let scratch = Scratch::new();
    let out = scratch.0.join("uttrekk");
    let today = oslo_today();
    let request = ExportRequest::new(today - Duration::days(1), today + Duration::days(1), &out);
    let mut calls = Vec::new();
    let summary = write_package(store, &request, |done, total| calls.push((done, total)))
        .await
        .unwrap();
    assert_eq!(calls.last(), Some(&(head.position, head.position)));
    assert_eq!(
        scratch.entries(),
        BTreeSet::from(["uttrekk".to_owned()]),
        "no staging left"
    );
    assert_eq!(
        names_in(&out),
        BTreeSet::from([EVENTS_FILE, ARCHIVE_FILE, MANIFEST_FILE, README_FILE].map(str::to_owned))
    );

    // The manifest: the period's ends, the chain head, and every other file's checksum.
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(out.join(MANIFEST_FILE)).unwrap()).unwrap();
    assert_eq!(manifest, summary.manifest);
    assert_eq!(manifest.format_version, 1);
    assert_eq!(manifest.chain_head, head);
    assert_eq!(manifest.events.count, head.position);
    assert_eq!(manifest.events.first_position, Some(1));
    assert_eq!(manifest.events.last_position, Some(head.position));
    assert_eq!(
        manifest.events.first_prev_hash.as_deref(),
        Some(GENESIS_HASH)
    );
    assert_eq!(
        manifest.events.last_hash.as_deref(),
        Some(head.hash.as_str())
    );
    let listed: BTreeSet<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        listed,
        BTreeSet::from([EVENTS_FILE, ARCHIVE_FILE, README_FILE])
    );
    for f in &manifest.files {
        assert_eq!(
            sha256_of(&out.join(&f.name)),
            (f.size, f.sha256.clone()),
            "{}",
            f.name
        );
    }

    // The JSON Lines are the log, verbatim, and rebuild it in an empty store.
    let events = read_events_jsonl(&out.join(EVENTS_FILE)).unwrap();
    assert_eq!(
        events, log,
        "every field as recorded, payload text included"
    );
    let fresh_db = TestDatabase::new(db.kind()).await;
    let fresh = EventStore::connect(fresh_db.url(), StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(fresh.import_verbatim(&events).await.unwrap(), head.position);
    let report = fresh.verify_chain(1, |_, _| {}).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    assert_eq!(report.events_checked, head.position);
    assert_eq!(fresh.head().await.unwrap(), head);

    // The XML: well-formed, one case file per letter and per assignment, one registry entry
    // per registered correspondence item, each in the case file it belongs to.
    let xml = std::fs::read_to_string(out.join(ARCHIVE_FILE)).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "arkivuttrekk");
    assert_eq!(root.tag_name().namespace(), Some(NAMESPACE));
    let header = child(root, "uttrekk").unwrap();
    assert_eq!(text(header, "kjedehodeHash"), Some(head.hash.as_str()));
    assert_eq!(text(header, "forrigeHash"), Some(GENESIS_HASH));
    let arkivdel = child(child(root, "arkiv").unwrap(), "arkivdel").unwrap();
    let mapper: Vec<_> = elements(arkivdel, "mappe").collect();
    let of_kind = |kind: &str| {
        mapper
            .iter()
            .copied()
            .filter(|m| m.attribute("kilde") == Some(kind))
            .collect::<Vec<_>>()
    };
    let letters = store.stream_ids("allocation_letter").await.unwrap();
    let assignments = store.stream_ids("assignment").await.unwrap();
    assert_eq!(letters, vec![history.letter.clone()]);
    assert_eq!(assignments.len(), 2);
    assert_eq!(of_kind("allocation_letter").len(), letters.len());
    assert_eq!(of_kind("assignment").len(), assignments.len());
    assert_eq!(of_kind("ovrig").len(), 1);
    assert_eq!(mapper.len(), 4);
    assert_eq!(summary.case_files, 4);
    let mappe = |id: &str| {
        *mapper
            .iter()
            .find(|m| text(**m, "mappeID") == Some(id))
            .unwrap_or_else(|| panic!("no case file {id}"))
    };

    let registered: Vec<&RecordedEvent> = log
        .iter()
        .filter(|e| e.event_type == "CorrespondenceRegistered")
        .collect();
    // Six registered by the test itself, plus one for every piece of correspondence the
    // workflow wrote (it registers each copy in the same append).
    let automatic = log
        .iter()
        .filter(|e| {
            styr_domain::correspondence::classify(e.stream.stream_type(), &e.event_type).is_some()
        })
        .count();
    assert!(automatic > 0);
    assert_eq!(registered.len(), 6 + automatic);
    let entries: Vec<_> = doc
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "registrering")
        .collect();
    assert_eq!(entries.len(), registered.len());
    assert_eq!(summary.registry_entries, registered.len());
    let titles = |m: roxmltree::Node| -> BTreeSet<String> {
        elements(m, "registrering")
            .map(|r| text(r, "tittel").unwrap().to_owned())
            .collect()
    };
    let letter_file = mappe(&history.letter);
    assert_eq!(
        text(letter_file, "tittel"),
        Some("Tildelingsbrev 2024 – «DMP» & co")
    );
    let extra = |m| child(m, "virksomhetsspesifikkeMetadata").unwrap();
    assert_eq!(text(extra(letter_file), "vaarReferanse"), Some("23/3412"));
    // The workflow's own registrations (the letter and the supplement as issued) sit beside
    // the test's.
    assert_eq!(
        titles(letter_file),
        BTreeSet::from([
            "Tildelingsbrev 2024".to_owned(),
            "Tillegg nr. 1".to_owned(),
            "Tildelingsbrev: 2024 fra HOD til DMP".to_owned(),
            "Supplerende tildelingsbrev: Tillegg nr. 1".to_owned(),
        ]),
        "a supplement's correspondence belongs to its letter"
    );
    let first = mappe(&history.first_assignment);
    assert_eq!(text(extra(first), "oppdragsreferanse"), Some("TB2024-12"));
    assert_eq!(
        text(child(first, "kryssreferanse").unwrap(), "referanseTilMappe"),
        Some(format!("allocation_letter/{}", history.letter).as_str())
    );
    assert_eq!(text(first, "administrativEnhet"), Some("HOD/SHA"));
    assert!(
        titles(first).contains("Statusrapport T1: tobakk"),
        "{:?}",
        titles(first)
    );
    assert!(
        titles(mappe(&history.second_assignment)).contains("Avviksrapport"),
        "a deviation report about an assignment belongs to the assignment"
    );
    let other = of_kind("ovrig")[0];
    assert_eq!(text(other, "tittel"), Some(OTHER_CASE_FILE_TITLE));
    let other_titles = titles(other);
    assert!(
        other_titles.contains("Brev til Riksrevisjonen")
            && other_titles.contains("Rapport per andre tertial"),
        "{other_titles:?}"
    );

    // The exempt item carries its legal basis and its copy's receipt; a lifted exemption is
    // gone from the entry but shows in its change log.
    let exempt = entries
        .iter()
        .find(|r| {
            text(**r, "systemID")
                == Some(format!("correspondence/{}", history.exempt_item).as_str())
        })
        .unwrap();
    let skjerming = child(*exempt, "skjerming").expect("marked exempt");
    assert_eq!(
        text(skjerming, "tilgangsrestriksjon"),
        Some("Unntatt offentlighet")
    );
    assert_eq!(
        text(skjerming, "skjermingshjemmel"),
        Some("offl. § 15 første ledd")
    );
    let receipt = child(extra(*exempt), "forsendelse").expect("copy delivered");
    assert_eq!(text(receipt, "mottakersKvitteringID"), Some("rr-0001.json"));
    assert_eq!(
        elements(child(*exempt, "endringslogg").unwrap(), "endring").count(),
        4
    );
    let lifted = entries
        .iter()
        .find(|r| text(**r, "tittel") == Some("Brev til Riksrevisjonen"))
        .unwrap();
    assert!(child(*lifted, "skjerming").is_none());
    let lifted_log: Vec<_> = elements(child(*lifted, "endringslogg").unwrap(), "endring")
        .map(|e| text(e, "hendelsestype").unwrap())
        .collect();
    assert_eq!(
        lifted_log,
        vec![
            "CorrespondenceRegistered",
            "ExemptionMarked",
            "ExemptionLifted"
        ]
    );
    let document = child(
        child(*lifted, "dokumentbeskrivelse").unwrap(),
        "dokumentobjekt",
    )
    .unwrap();
    assert_eq!(text(document, "referanseDokumentfil"), Some(EVENTS_FILE));

    // Each case file's change log is its stream's events, in order.
    for (kind, id) in [
        ("allocation_letter", &history.letter),
        ("assignment", &history.first_assignment),
        ("assignment", &history.second_assignment),
    ] {
        let expected: Vec<String> = log
            .iter()
            .filter(|e| e.stream.stream_type() == kind && e.stream.id() == id)
            .map(|e| e.position.to_string())
            .collect();
        let logged: Vec<String> = elements(child(mappe(id), "endringslogg").unwrap(), "endring")
            .map(|e| text(e, "posisjon").unwrap().to_owned())
            .collect();
        assert_eq!(logged, expected, "{kind} {id}");
    }
    let issue = elements(child(first, "endringslogg").unwrap(), "endring")
        .next()
        .unwrap();
    assert_eq!(text(issue, "hendelsestype"), Some("AssignmentIssued"));
    assert_eq!(text(issue, "begrunnelse"), Some("tildelingsbrev 2024"));
    assert_eq!(text(issue, "referanseEndretAv"), Some("ola"));
    assert_eq!(
        text(issue, "referanseArkivenhet"),
        Some(format!("assignment/{}", history.first_assignment).as_str())
    );
}

/// A chain of plain events recorded at the given instants, hashed as the store would.
fn recorded_at(times: &[&str]) -> Vec<RecordedEvent> {
    let mut prev = GENESIS_HASH.to_owned();
    times
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let at: DateTime<Utc> = t.parse().unwrap();
            let payload = json!({"n": i});
            let mut e = RecordedEvent {
                position: i as u64 + 1,
                event_id: Uuid::now_v7(),
                stream: StreamId::new("deadline", "d").unwrap(),
                version: i as u64 + 1,
                event_type: "DeadlineNoted".into(),
                schema_version: 1,
                payload_text: canonical_json(&payload),
                payload,
                actor: styr_eventstore::Actor {
                    subject: "system".into(),
                    display_name: "System".into(),
                    role: "system".into(),
                    organisation: "HOD".into(),
                },
                reason: None,
                correlation_id: Uuid::now_v7(),
                causation_id: None,
                recorded_at: at,
                effective_at: at,
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            e.hash = recompute_hash(&e);
            prev = e.hash.clone();
            e
        })
        .collect()
}

async fn a_period_is_the_events_recorded_on_its_oslo_dates(db: TestDatabase) {
    let store = EventStore::connect(db.url(), StoreOptions::default())
        .await
        .unwrap();
    let log = recorded_at(&[
        "2024-02-28T12:00:00Z",
        "2024-02-29T22:59:59.999999Z", // 23:59:59 on 29 February in Oslo
        "2024-02-29T23:00:00Z",        // midnight: 1 March in Oslo
        "2024-03-01T22:30:00Z",        // 23:30 on 1 March in Oslo
        "2024-03-01T23:30:00Z",        // 2 March in Oslo
        "2024-03-05T10:00:00Z",
    ]);
    store.import_verbatim(&log).await.unwrap();
    let scratch = Scratch::new();
    let export = |name: &str, from: NaiveDate, to: NaiveDate| {
        let request = ExportRequest::new(from, to, scratch.0.join(name));
        let store = store.clone();
        async move { write_package(&store, &request, |_, _| {}).await.unwrap() }
    };

    let march_1 = export("m1", date(2024, 3, 1), date(2024, 3, 1)).await;
    let events = &march_1.manifest.events;
    assert_eq!(
        (events.first_position, events.last_position),
        (Some(3), Some(4))
    );
    assert_eq!(events.count, 2);
    assert_eq!(
        events.first_prev_hash.as_deref(),
        Some(log[1].hash.as_str())
    );
    assert_eq!(events.last_hash.as_deref(), Some(log[3].hash.as_str()));
    let extract = read_events_jsonl(&scratch.0.join("m1").join(EVENTS_FILE)).unwrap();
    assert_eq!(extract, log[2..4]);

    // The extract continues a store that holds the events before it, and no other.
    let other_db = TestDatabase::new(db.kind()).await;
    let other = EventStore::connect(other_db.url(), StoreOptions::default())
        .await
        .unwrap();
    assert!(
        other.import_verbatim(&extract).await.is_err(),
        "empty store: starts at 3"
    );
    other.import_verbatim(&log[..2]).await.unwrap();
    other.import_verbatim(&extract).await.unwrap();
    assert!(other.verify_chain(1, |_, _| {}).await.unwrap().is_intact());

    let late_february = export("feb", date(2024, 2, 1), date(2024, 2, 29)).await;
    assert_eq!(
        (
            late_february.manifest.events.first_position,
            late_february.manifest.events.last_position
        ),
        (Some(1), Some(2))
    );
    let tail = export("tail", date(2024, 3, 2), date(2030, 1, 1)).await;
    assert_eq!(
        (
            tail.manifest.events.first_position,
            tail.manifest.events.last_position
        ),
        (Some(5), Some(6))
    );
    let gap = export("gap", date(2024, 3, 3), date(2024, 3, 4)).await;
    assert_eq!(gap.manifest.events.count, 0);
    assert_eq!(gap.manifest.events.first_position, None);
    assert_eq!(gap.manifest.chain_head.position, 6);
    assert_eq!(
        std::fs::metadata(scratch.0.join("gap").join(EVENTS_FILE))
            .unwrap()
            .len(),
        0
    );
    let xml = std::fs::read_to_string(scratch.0.join("gap").join(ARCHIVE_FILE)).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    assert!(!doc.descendants().any(|n| n.tag_name().name() == "mappe"));

    // The anchor is checked against the log: a rewritten hash just before the period is found
    // although that event is not exported.
    let tamper: &[&str] = match db.kind() {
        BackendKind::Postgres => &[
            "ALTER TABLE events DISABLE TRIGGER USER",
            "UPDATE events SET hash = repeat('0', 64) WHERE position = 2",
        ],
        BackendKind::Sqlite => &[
            "DROP TRIGGER events_no_update",
            "UPDATE events SET hash = '0000000000000000000000000000000000000000000000000000000000000000' WHERE position = 2",
        ],
    };
    raw(&db, tamper).await;
    let request = ExportRequest::new(date(2024, 3, 1), date(2024, 3, 1), scratch.0.join("m1b"));
    match write_package(&store, &request, |_, _| {}).await {
        Err(ExportError::Damaged(m)) => assert!(m.contains("position 3 does not link"), "{m}"),
        other => panic!("expected damage, got {other:?}"),
    }
    assert!(!scratch.0.join("m1b").exists());
}

async fn a_bad_request_or_a_damaged_log_leaves_no_package(db: TestDatabase) {
    let wf = setup(&db).await;
    build_history(&wf).await;
    let store = wf.store();
    let scratch = Scratch::new();
    let today = oslo_today();
    let request = |out: PathBuf| {
        ExportRequest::new(today - Duration::days(1), today + Duration::days(1), out)
    };
    let refused = |r: Result<_, ExportError>| match r {
        Err(ExportError::InvalidRequest(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    };

    let backwards = ExportRequest::new(today, today - Duration::days(1), scratch.0.join("a"));
    let m = refused(write_package(store, &backwards, |_, _| {}).await);
    assert!(m.contains("period is empty"), "{m}");
    let busy = scratch.0.join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("keep.txt"), "mine").unwrap();
    let m = refused(write_package(store, &request(busy.clone()), |_, _| {}).await);
    assert!(m.contains("not empty"), "{m}");
    assert_eq!(names_in(&busy), BTreeSet::from(["keep.txt".to_owned()]));
    let m = refused(write_package(store, &request(scratch.0.join("no/such/dir")), |_, _| {}).await);
    assert!(m.contains("does not exist"), "{m}");
    assert_eq!(
        scratch.entries(),
        BTreeSet::from(["busy".to_owned()]),
        "nothing written"
    );

    // An empty directory is fine.
    let empty = scratch.0.join("empty");
    std::fs::create_dir(&empty).unwrap();
    write_package(store, &request(empty.clone()), |_, _| {})
        .await
        .unwrap();
    assert_eq!(names_in(&empty).len(), 4);

    // A changed row: the export stops and leaves neither a package nor its staging directory.
    let tamper: &[&str] = match db.kind() {
        BackendKind::Postgres => &[
            "ALTER TABLE events DISABLE TRIGGER USER",
            "UPDATE events SET reason = 'rewritten' WHERE position = 3",
        ],
        BackendKind::Sqlite => &[
            "DROP TRIGGER events_no_update",
            "UPDATE events SET reason = 'rewritten' WHERE position = 3",
        ],
    };
    raw(&db, tamper).await;
    let err = write_package(store, &request(scratch.0.join("damaged")), |_, _| {})
        .await
        .unwrap_err();
    match err {
        ExportError::Damaged(m) => assert!(m.contains("position 3"), "{m}"),
        other => panic!("expected damage, got {other:?}"),
    }
    assert_eq!(
        scratch.entries(),
        BTreeSet::from(["busy".to_owned(), "empty".to_owned()])
    );
}

async fn raw(db: &TestDatabase, statements: &[&str]) {
    use sqlx::Connection;
    match db.kind() {
        BackendKind::Postgres => {
            let mut c = sqlx::PgConnection::connect(db.url()).await.unwrap();
            for s in statements {
                sqlx::query(sqlx::AssertSqlSafe(s.to_string()))
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
        }
        BackendKind::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
            for s in statements {
                sqlx::query(sqlx::AssertSqlSafe(s.to_string()))
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
        }
    }
}
