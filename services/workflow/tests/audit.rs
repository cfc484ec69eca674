//! The audit trail against the real store, on SQLite and on PostgreSQL: copy obligations
//! written with the correspondence, their delivery (a flaky webhook, a worker killed
//! mid-delivery, a directory drop), completeness, as-of views on both time axes, corrections,
//! and signed checkpoints against a consistent rewrite of the log.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use styr_domain::assignment::{
    Assignment, AssignmentCommand, AssignmentSource, IssueAssignment, PartSpec, ReportStatus,
};
use styr_domain::correspondence::Correspondence;
use styr_domain::values::{
    AssignmentId, AssignmentReference, DeadlineTerm, OrgCode, Period, TrafficLight, Year,
};
use styr_domain::{Actor, Role};
use styr_eventstore::on_both_backends;
use styr_eventstore::testing::TestDatabase;
use styr_eventstore::{EventStore, StoreOptions, StreamId};
use styr_workflow::audit::{AsOf, CopyState};
use styr_workflow::checkpoint::{CheckpointCheck, generate_key_hex, signing_key};
use styr_workflow::copies::content_sha256;
use styr_workflow::delivery::{Channel, ChannelKind, DeliveryState, Recipient};
use styr_workflow::projections::{BoardFilter, BoardSort, Scope};
use styr_workflow::{CommandMeta, ManualClock, Workflow};
use uuid::Uuid;

on_both_backends!(
    a_status_report_registers_its_copy_in_the_same_append,
    a_webhook_failing_three_times_then_succeeding_gives_one_receipt,
    a_worker_killed_mid_delivery_loses_nothing,
    with_no_channel_every_copy_stays_owed_and_a_channel_added_later_serves_them,
    directory_drop_and_completeness_list_exactly_the_undelivered,
    late_registration_and_correction_show_on_both_axes,
    checkpoint_detects_a_consistent_rewrite,
    the_board_as_of_an_instant_equals_a_board_built_from_the_events_before_it,
);

fn at(month: u32, day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, month, day, 10, 0, 0).unwrap()
}

fn org(code: &str) -> OrgCode {
    OrgCode::parse(code).unwrap()
}

fn officer() -> Actor {
    Actor::new("ola", "Ola Nordmann", Role::Ministry, org("HOD"), None)
}

fn coordinator() -> Actor {
    Actor::new("kari", "Kari Nordmann", Role::Agency, org("DMP"), None)
}

async fn setup(db: &TestDatabase) -> (Workflow, Arc<ManualClock>) {
    let store = EventStore::connect(db.url(), StoreOptions::default())
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(at(2, 5)));
    (Workflow::with_clock(store, clock.clone()), clock)
}

async fn issue(wf: &Workflow, n: u32) -> String {
    issue_effective(wf, n, None).await
}

async fn issue_effective(wf: &Workflow, n: u32, effective: Option<DateTime<Utc>>) -> String {
    let id = AssignmentId(Uuid::now_v7());
    let cmd = AssignmentCommand::Issue(Box::new(IssueAssignment {
        assignment_id: id,
        reference: Some(AssignmentReference::parse(&format!("TB2024-{n}")).unwrap()),
        ministry: org("HOD"),
        agency: org("DMP"),
        year: Year::new(2024).unwrap(),
        department: None,
        title: format!("Oppdrag {n}"),
        description: "beskrivelse".into(),
        goal: None,
        source: AssignmentSource::Letter,
        parts: vec![PartSpec {
            label: None,
            title: None,
            deadline: DeadlineTerm::Date(at(9, 1).date_naive()),
        }],
        collaborators: vec![],
        carried_over_from: None,
    }));
    let sid = id.to_string();
    let mut meta = CommandMeta::new(officer());
    meta.effective_at = effective;
    wf.execute::<Assignment>(&sid, cmd, &meta).await.unwrap();
    sid
}

/// An instant strictly between the events recorded before and after it.
async fn instant() -> DateTime<Utc> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    let t = Utc::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    t
}

fn report(light: TrafficLight, progress: &str) -> Box<ReportStatus> {
    let amber = light != TrafficLight::Green;
    Box::new(ReportStatus {
        period: Period::Tertial1,
        light,
        progress: progress.into(),
        cause_and_consequence: amber.then(|| "late input".into()),
        corrective_action: amber.then(|| "weekly meetings".into()),
        year_end_phrase: None,
        normalised: None,
    })
}

async fn report_status(wf: &Workflow, sid: &str, effective: Option<DateTime<Utc>>) {
    let mut meta = CommandMeta::new(coordinator());
    meta.effective_at = effective;
    wf.execute::<Assignment>(
        sid,
        AssignmentCommand::ReportStatus(report(TrafficLight::Green, "on track")),
        &meta,
    )
    .await
    .unwrap();
}

/// A tiny HTTP server: answers each request with the next status from `script` (then 200),
/// optionally hanging on the first request, and records every `Idempotency-Key`.
struct FakeRecipient {
    url: String,
    keys: Arc<Mutex<Vec<String>>>,
}

fn fake_recipient(script: Vec<u16>, hang_first: bool) -> FakeRecipient {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/copies", listener.local_addr().unwrap());
    let keys = Arc::new(Mutex::new(Vec::new()));
    let seen = keys.clone();
    std::thread::spawn(move || {
        let mut n = 0usize;
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            let mut key = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("idempotency-key:") {
                    key = line["idempotency-key:".len()..].trim().to_owned();
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            seen.lock().unwrap().push(key);
            n += 1;
            if hang_first && n == 1 {
                // Hold the connection without answering, and serve the next ones meanwhile.
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_secs(3));
                    drop(stream);
                });
                continue;
            }
            let status = script
                .get(n - 1 - usize::from(hang_first))
                .copied()
                .unwrap_or(200);
            let body = if status == 200 {
                format!("{{\"receipt_id\":\"rr-{n}\"}}")
            } else {
                "try later".to_owned()
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    FakeRecipient { url, keys }
}

fn webhook(url: &str) -> Channel {
    Channel {
        name: "rr-webhook".into(),
        recipient: Recipient::Riksrevisjonen,
        kind: ChannelKind::Webhook {
            url: url.to_owned(),
            bearer_token: None,
            timeout: Duration::from_secs(1),
        },
    }
}

async fn items(wf: &Workflow) -> Vec<(String, styr_domain::correspondence::CorrespondenceDetails)> {
    let mut out = Vec::new();
    for id in wf.store().stream_ids("correspondence").await.unwrap() {
        let (c, _) = wf.load::<Correspondence>(&id).await.unwrap();
        out.push((id, c.details.unwrap()));
    }
    out
}

async fn a_status_report_registers_its_copy_in_the_same_append(db: TestDatabase) {
    let (wf, _) = setup(&db).await;
    let sid = issue(&wf, 12).await;
    assert!(items(&wf).await.is_empty(), "issuing is not correspondence");
    let outcome = wf
        .execute::<Assignment>(
            &sid,
            AssignmentCommand::ReportStatus(report(TrafficLight::Green, "on track")),
            &CommandMeta::new(coordinator()).with_reason("T1"),
        )
        .await
        .unwrap();
    let types: Vec<&str> = outcome
        .events
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(types, ["StatusReported", "CorrespondenceRegistered"]);
    let source = &outcome.events[0];
    let item = &outcome.events[1];
    assert_eq!(
        item.causation_id, source.causation_id,
        "one command, one append"
    );
    let [(_, d)] = items(&wf).await.try_into().unwrap();
    let r = &d.registered;
    assert_eq!(r.source.as_ref().unwrap().event_id, source.event_id);
    assert_eq!(
        (r.from.as_str(), r.to.as_str(), r.copy_to.as_str()),
        ("DMP", "HOD", "RR")
    );
    assert_eq!(r.content_sha256, content_sha256(&r.content));
    assert_eq!(r.content["event"], source.payload);
    assert!(r.title.contains("TB2024-12"), "{}", r.title);
}

async fn a_webhook_failing_three_times_then_succeeding_gives_one_receipt(db: TestDatabase) {
    let (wf, clock) = setup(&db).await;
    let sid = issue(&wf, 1).await;
    report_status(&wf, &sid, None).await;
    let recipient = fake_recipient(vec![503, 500, 502], false);
    let channels = [webhook(&recipient.url)];
    let mut state = DeliveryState::default();
    for pass in 1..=4 {
        let r = wf.deliver_copies(&channels, &mut state).await.unwrap();
        assert_eq!(r.attempted, 1, "pass {pass}");
        assert_eq!(r.delivered, usize::from(pass == 4), "pass {pass}");
        // Not retried before its time.
        let again = wf.deliver_copies(&channels, &mut state).await.unwrap();
        assert_eq!(again.attempted, 0);
        clock.set(wf.now() + chrono::Duration::hours(1));
    }
    let [(item, d)] = items(&wf).await.try_into().unwrap();
    let c = &d.channels["rr-webhook"];
    assert_eq!(c.attempts, 4);
    assert_eq!(
        c.delivered.as_ref().unwrap().remote_receipt_id.as_deref(),
        Some("rr-4")
    );
    let keys = recipient.keys.lock().unwrap().clone();
    assert_eq!(keys.len(), 4);
    assert!(
        keys.iter()
            .all(|k| k == &format!("styr-copy:{item}:rr-webhook"))
    );
    let stream = StreamId::new("correspondence", &item).unwrap();
    let history = wf.history(&stream, None).await.unwrap();
    let count = |t: &str| history.iter().filter(|e| e.event_type == t).count();
    assert_eq!(
        (count("CopyDeliveryFailed"), count("CopyDelivered")),
        (3, 1)
    );
    // Delivered items are done: later passes send nothing.
    clock.set(wf.now() + chrono::Duration::days(1));
    assert_eq!(
        wf.deliver_copies(&channels, &mut state)
            .await
            .unwrap()
            .attempted,
        0
    );
}

async fn with_no_channel_every_copy_stays_owed_and_a_channel_added_later_serves_them(
    db: TestDatabase,
) {
    // Given two status reports, and a worker with no channel configured
    let (wf, _clock) = setup(&db).await;
    let sid = issue(&wf, 2).await;
    report_status(&wf, &sid, None).await;
    let mut state = DeliveryState::default();
    let r = wf.deliver_copies(&[], &mut state).await.unwrap();
    assert_eq!((r.attempted, r.backlog), (0, 1));
    report_status(&wf, &sid, None).await;
    // When it passes again, the new copy is owed too, and nothing is sent or recorded
    let r = wf.deliver_copies(&[], &mut state).await.unwrap();
    assert_eq!((r.attempted, r.delivered, r.backlog), (0, 0, 2));
    assert!(
        items(&wf).await.iter().all(|(_, d)| d.channels.is_empty()),
        "no attempt is recorded without a channel"
    );
    // Then a worker started with a channel delivers both
    let recipient = fake_recipient(vec![], false);
    let channels = vec![webhook(&recipient.url)];
    let r = wf
        .deliver_copies(&channels, &mut DeliveryState::default())
        .await
        .unwrap();
    assert_eq!((r.delivered, r.backlog), (2, 0));
}

async fn a_worker_killed_mid_delivery_loses_nothing(db: TestDatabase) {
    let (wf, clock) = setup(&db).await;
    let sid = issue(&wf, 2).await;
    report_status(&wf, &sid, None).await;
    let recipient = fake_recipient(vec![], true);
    let channels = vec![webhook(&recipient.url)];
    let worker = {
        let (wf, channels) = (wf.clone(), channels.clone());
        tokio::spawn(async move {
            wf.deliver_copies(&channels, &mut DeliveryState::default())
                .await
        })
    };
    // Kill the worker once the copy is on the wire.
    for _ in 0..200 {
        if !recipient.keys.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    worker.abort();
    let _ = worker.await;
    let [(_, d)] = items(&wf).await.try_into().unwrap();
    let c = &d.channels["rr-webhook"];
    assert!(c.in_flight.is_some() && c.delivered.is_none(), "{c:?}");

    // A restarted worker leaves the attempt alone while its lease runs, then repeats it.
    let mut state = DeliveryState::default();
    let r = wf.deliver_copies(&channels, &mut state).await.unwrap();
    assert_eq!((r.attempted, r.backlog), (0, 1));
    clock.set(wf.now() + chrono::Duration::minutes(3));
    let r = wf.deliver_copies(&channels, &mut state).await.unwrap();
    assert_eq!((r.delivered, r.backlog), (1, 0));
    let [(_, d)] = items(&wf).await.try_into().unwrap();
    assert_eq!(d.channels["rr-webhook"].attempts, 2);
    let keys = recipient.keys.lock().unwrap().clone();
    assert_eq!(keys.len(), 2);
    assert_eq!(
        keys[0], keys[1],
        "the repeat carries the same idempotency key"
    );
}

async fn directory_drop_and_completeness_list_exactly_the_undelivered(db: TestDatabase) {
    let (wf, clock) = setup(&db).await;
    let dir = std::env::temp_dir().join(format!("styr-drop-{}", Uuid::new_v4()));
    let channels = [Channel {
        name: "rr-dir".into(),
        recipient: Recipient::Riksrevisjonen,
        kind: ChannelKind::Directory { dir: dir.clone() },
    }];
    let a = issue(&wf, 3).await;
    let b = issue(&wf, 4).await;
    report_status(&wf, &a, None).await;
    report_status(&wf, &b, None).await;
    let mut state = DeliveryState::default();
    let r = wf.deliver_copies(&channels, &mut state).await.unwrap();
    assert_eq!((r.delivered, r.backlog), (2, 0));
    clock.set(wf.now() + chrono::Duration::days(1));
    report_status(&wf, &a, None).await; // a third item, not yet delivered

    let report = wf
        .completeness(
            &Scope::All,
            Some("DMP"),
            at(1, 1).date_naive(),
            at(12, 31).date_naive(),
            &channels,
        )
        .await
        .unwrap();
    assert_eq!(report.rows.len(), 3);
    assert_eq!(report.delivered, 2);
    let undelivered: Vec<_> = report
        .rows
        .iter()
        .filter(|r| r.state != CopyState::Delivered)
        .collect();
    assert_eq!(report.missing, vec![undelivered[0].item_id.clone()]);
    assert_eq!(undelivered[0].state, CopyState::Pending);
    // Each delivered package is self-describing and its checksums hold.
    for row in report
        .rows
        .iter()
        .filter(|r| r.state == CopyState::Delivered)
    {
        let pkg = dir.join(&row.item_id);
        let content = std::fs::read(pkg.join("content.json")).unwrap();
        let sums = std::fs::read_to_string(pkg.join("SHA256SUMS")).unwrap();
        use sha2::Digest;
        assert!(sums.contains(&hex::encode(sha2::Sha256::digest(&content))));
        let v: serde_json::Value = serde_json::from_slice(&content).unwrap();
        assert_eq!(content_sha256(&v), row.content_sha256);
        assert_eq!(row.receipts[0].content_sha256, row.content_sha256);
    }
    // Another agency sees none of it; with no channel the items are owed all the same.
    let other = wf
        .completeness(
            &Scope::Agency("FHI".into()),
            None,
            at(1, 1).date_naive(),
            at(12, 31).date_naive(),
            &channels,
        )
        .await
        .unwrap();
    assert!(other.rows.is_empty());
    let none = wf
        .completeness(
            &Scope::All,
            None,
            at(1, 1).date_naive(),
            at(12, 31).date_naive(),
            &[],
        )
        .await
        .unwrap();
    assert_eq!(none.missing.len(), 3);
    assert!(none.rows.iter().all(|r| r.state == CopyState::NoChannel));
    let _ = std::fs::remove_dir_all(dir);
}

async fn late_registration_and_correction_show_on_both_axes(db: TestDatabase) {
    // `recorded_at` is the log's own clock (now); `effective_at` is what the user says.
    let (wf, clock) = setup(&db).await;
    let sid = issue_effective(&wf, 5, Some(at(2, 5))).await;
    let issued = instant().await;
    // A status effective 30 April, registered late.
    clock.set(at(5, 10));
    report_status(&wf, &sid, Some(at(4, 30))).await;
    let reported_late = instant().await;
    // Corrected later: it was yellow, not green.
    clock.set(at(5, 15));
    wf.execute::<Assignment>(
        &sid,
        AssignmentCommand::CorrectStatus {
            report: report(TrafficLight::Yellow, "behind plan"),
            reason: "the report understated the delay".into(),
        },
        &CommandMeta::new(coordinator()),
    )
    .await
    .unwrap();
    let light_at = |recorded: DateTime<Utc>, effective: Option<DateTime<Utc>>| {
        let (wf, sid) = (wf.clone(), sid.clone());
        async move {
            let position = wf.position_at(recorded).await.unwrap();
            let asof = AsOf {
                position,
                effective_by: effective,
            };
            let (a, _) = wf.load_as_of::<Assignment>(&sid, &asof).await.unwrap();
            a.details.unwrap().status_reports.last().map(|r| r.light)
        }
    };
    // What the log knew right after the issue: nothing reported.
    assert_eq!(light_at(issued, None).await, None);
    // After the late registration: green, effective 30 April (not before).
    assert_eq!(
        light_at(reported_late, None).await,
        Some(TrafficLight::Green)
    );
    assert_eq!(
        light_at(reported_late, Some(at(4, 30))).await,
        Some(TrafficLight::Green)
    );
    assert_eq!(light_at(reported_late, Some(at(4, 29))).await, None);
    // Now: the correction; the original stays in the history.
    assert_eq!(light_at(Utc::now(), None).await, Some(TrafficLight::Yellow));
    let stream = StreamId::new("assignment", &sid).unwrap();
    let history = wf.history(&stream, None).await.unwrap();
    let reported = history
        .iter()
        .find(|e| e.event_type == "StatusReported")
        .unwrap();
    assert_eq!(reported.effective_at, at(4, 30));
    assert!(reported.recorded_at > issued && reported.recorded_at < reported_late);
    let trail = wf
        .decision_trail(
            &sid,
            &AsOf {
                position: u64::MAX,
                effective_by: None,
            },
        )
        .await
        .unwrap();
    let kinds: Vec<&str> = trail.iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["deadline_set", "status_reported", "status_corrected"]
    );
    assert_eq!(trail[0].deadline_after.as_deref(), Some("2024-09-01"));
    assert_eq!(trail[0].source.as_deref(), Some("tildelingsbrev"));
    assert!(
        trail[2].detail.contains("understated"),
        "{}",
        trail[2].detail
    );
    // The correction is correspondence too.
    assert_eq!(items(&wf).await.len(), 2);
    // The board as of just after the late registration shows green; now it is yellow.
    let p = wf.position_at(reported_late).await.unwrap();
    let board = wf
        .board_as_of(
            &AsOf {
                position: p,
                effective_by: None,
            },
            &Scope::All,
            &BoardFilter::default(),
            BoardSort::Reference,
            at(5, 11).date_naive(),
        )
        .await
        .unwrap();
    assert_eq!(board[0].traffic_light.as_deref(), Some("green"));
    // Field-level difference between the two instants.
    let changes = wf
        .diff::<Assignment>(
            &sid,
            &AsOf {
                position: p,
                effective_by: None,
            },
            &AsOf {
                position: u64::MAX,
                effective_by: None,
            },
        )
        .await
        .unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c.path == "/details/status_reports/0/light"
                && c.before == Some(serde_json::json!("green"))
                && c.after == Some(serde_json::json!("yellow"))),
        "{changes:?}"
    );
}

async fn checkpoint_detects_a_consistent_rewrite(db: TestDatabase) {
    let (wf, _) = setup(&db).await;
    let sid = issue(&wf, 6).await;
    report_status(&wf, &sid, None).await;
    let key = signing_key(&generate_key_hex().unwrap()).unwrap();
    let checkpoint = wf.checkpoint(&key).await.unwrap();
    checkpoint.verify_signature(&key.verifying_key()).unwrap();
    let check = wf.verify_checkpoint(&checkpoint, |_, _| {}).await.unwrap();
    assert!(check.is_intact(), "{check}");
    // Later events do not disturb it.
    report_status(&wf, &sid, None).await;
    assert!(
        wf.verify_checkpoint(&checkpoint, |_, _| {})
            .await
            .unwrap()
            .is_intact()
    );

    // Someone with database access rewrites the first event and recomputes the whole chain.
    let first = wf.store().read_all(0, 1).await.unwrap().remove(0);
    let mut payload = first.payload.clone();
    payload["title"] = serde_json::json!("Et annet oppdrag");
    db.rewrite_history(wf.store(), 1, payload).await;
    let chain = wf.store().verify_chain(1, |_, _| {}).await.unwrap();
    assert!(
        chain.is_intact(),
        "the rewrite is consistent: the chain alone cannot tell"
    );
    let check = wf.verify_checkpoint(&checkpoint, |_, _| {}).await.unwrap();
    assert!(
        matches!(check, CheckpointCheck::Rewritten { position, .. } if position == checkpoint.position),
        "{check}"
    );
}

async fn the_board_as_of_an_instant_equals_a_board_built_from_the_events_before_it(
    db: TestDatabase,
) {
    let (wf, clock) = setup(&db).await;
    let a = issue(&wf, 7).await;
    let b = issue(&wf, 8).await;
    report_status(&wf, &a, None).await;
    let t = instant().await;
    // After T: another report, a new assignment, a correction.
    clock.set(at(6, 1));
    report_status(&wf, &b, None).await;
    issue(&wf, 9).await;
    wf.execute::<Assignment>(
        &a,
        AssignmentCommand::CorrectStatus {
            report: report(TrafficLight::Red, "stopped"),
            reason: "worse than reported".into(),
        },
        &CommandMeta::new(coordinator()),
    )
    .await
    .unwrap();

    let position = wf.position_at(t).await.unwrap();
    assert!(position > 0 && position < wf.log_head().await.unwrap().position);
    let as_of = wf
        .board_as_of(
            &AsOf {
                position,
                effective_by: None,
            },
            &Scope::All,
            &BoardFilter::default(),
            BoardSort::Reference,
            at(6, 1).date_naive(),
        )
        .await
        .unwrap();

    // A second store holding only the events recorded by T, projected as usual.
    let mut prefix = Vec::new();
    while (prefix.len() as u64) < position {
        let page = wf
            .store()
            .read_all(prefix.len() as u64, 1000)
            .await
            .unwrap();
        prefix.extend(page.into_iter().filter(|e| e.position <= position));
    }
    let other_db = TestDatabase::new(db.kind()).await;
    let other = EventStore::connect(other_db.url(), StoreOptions::default())
        .await
        .unwrap();
    other.import_verbatim(&prefix).await.unwrap();
    let replay = Workflow::new(other);
    replay.projections().catch_up().await.unwrap();
    let mut built = replay.projections().dump_board().await.unwrap();
    styr_workflow::projections::sort_rows(&mut built, BoardSort::Reference, false);
    assert_eq!(as_of, built);
    assert_eq!(as_of.len(), 2, "TB2024-9 came later");
    assert_eq!(
        as_of[0].traffic_light.as_deref(),
        Some("green"),
        "before the correction"
    );
}
