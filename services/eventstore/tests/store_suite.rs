//! The store's contract, run against both backends: every test below exists once as
//! `sqlite::<name>` and once as `postgres::<name>`, each on its own fresh database.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use styr_eventstore::on_both_backends;

use serde_json::json;
use styr_eventstore::testing::TestDatabase;
use styr_eventstore::{
    ChainFault, EventStore, ExpectedVersion, RecordedEvent, StoreError, StoreOptions, StreamAppend,
    StreamId, recompute_hash,
};

use common::{event, exec_raw, open, stream, with_reason};

on_both_backends!(
    appended_events_read_back_with_their_metadata,
    stale_expected_version_conflicts_and_writes_nothing,
    concurrent_writers_on_one_stream_get_contiguous_versions,
    concurrent_appends_share_commits_and_each_gets_its_own_answer,
    two_processes_racing_on_the_same_streams_keep_versions_contiguous,
    an_append_whose_caller_gave_up_while_it_waited_is_not_written,
    appends_go_on_after_the_runtime_that_started_the_writer_ended,
    the_same_append_racing_from_two_processes_is_a_repeat_not_a_conflict,
    recorded_at_never_decreases_along_the_log_even_when_a_clock_is_behind,
    reappending_stored_event_ids_returns_the_original_and_writes_nothing,
    partially_stored_event_ids_are_refused,
    multi_stream_append_is_all_or_nothing,
    reader_racing_sixteen_writers_sees_every_event_once_in_order,
    invalid_appends_are_refused_before_writing,
    the_log_refuses_updates_and_deletes,
    intact_chain_verifies_from_any_position,
    changed_payload_is_detected,
    changed_metadata_is_detected,
    deleted_row_is_detected,
    inserted_row_is_detected,
    swapped_rows_are_detected,
    cut_tail_is_detected,
    forged_row_after_the_head_is_detected,
    a_break_early_in_a_long_log_stops_verification_and_the_store_goes_on,
    subscription_is_woken_by_a_commit,
    subscription_sees_commits_of_another_process,
    migrations_are_idempotent_and_readiness_reports_them,
    an_older_binary_starts_on_a_schema_a_newer_one_migrated,
    events_are_found_by_their_command_and_streams_by_type,
    an_extract_imports_verbatim_into_an_empty_store_and_verifies,
    a_large_extract_imports_in_chunks_with_one_head,
    imports_that_do_not_continue_the_chain_exactly_are_refused_and_write_nothing,
);

async fn events_are_found_by_their_command_and_streams_by_type(db: TestDatabase) {
    let store = open(&db).await;
    let command = uuid::Uuid::now_v7();
    let caused = |t: &str| {
        let mut e = event(t, json!({}));
        e.metadata.causation_id = Some(command);
        e
    };
    common::append_one(&store, &stream("assignment", "b"), 0)
        .await
        .unwrap();
    store
        .append(vec![
            StreamAppend {
                stream: stream("assignment", "a"),
                expected: ExpectedVersion::NO_STREAM,
                events: vec![caused("AssignmentIssued")],
            },
            StreamAppend {
                stream: stream("deadline", "d"),
                expected: ExpectedVersion::NO_STREAM,
                events: vec![caused("DeadlineSet")],
            },
        ])
        .await
        .unwrap();
    common::append_one(&store, &stream("assignment", "a"), 1)
        .await
        .unwrap();
    let found = store.read_by_causation(command).await.unwrap();
    assert_eq!(
        found.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert!(
        store
            .read_by_causation(uuid::Uuid::now_v7())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.stream_ids("assignment").await.unwrap(),
        vec!["a", "b"]
    );
    assert_eq!(store.stream_ids("deadline").await.unwrap(), vec!["d"]);
    assert!(store.stream_ids("supplement").await.unwrap().is_empty());
}

async fn appended_events_read_back_with_their_metadata(db: TestDatabase) {
    let store = open(&db).await;
    let s = stream("assignment", "HOD:DMP:2024:TB2024-12");
    let effective = chrono::DateTime::parse_from_rfc3339("2024-04-30T10:00:00.123456789Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let mut late = with_reason(
        event("StatusReported", json!({"light": "green"})),
        "late registration",
    );
    late.metadata.effective_at = Some(effective);
    let outcome = store
        .append(vec![StreamAppend {
            stream: s.clone(),
            expected: ExpectedVersion::NO_STREAM,
            events: vec![
                event(
                    "AssignmentIssued",
                    json!({"title": "Tobakk", "parts": ["a", "b"]}),
                ),
                late.clone(),
            ],
        }])
        .await
        .unwrap();
    assert!(!outcome.already_stored);
    assert_eq!(outcome.stream_version(&s), Some(2));

    let read = store.read_stream(&s, 0).await.unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!(read, outcome.events, "what was returned is what is stored");
    assert_eq!(
        read.iter().map(|e| e.version).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(
        read.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(
        read[0].effective_at, read[0].recorded_at,
        "effective defaults to recorded"
    );
    assert_eq!(
        read[1].effective_at,
        styr_eventstore::truncate_to_micros(effective)
    );
    assert_eq!(read[1].reason.as_deref(), Some("late registration"));
    assert_eq!(read[1].actor, late.metadata.actor);
    assert_eq!(read[1].correlation_id, late.metadata.correlation_id);
    assert_eq!(read[1].payload, json!({"light": "green"}));
    assert_eq!(read[1].prev_hash, read[0].hash);
    assert_eq!(store.read_stream(&s, 1).await.unwrap().len(), 1);
    assert_eq!(store.stream_version(&s).await.unwrap(), 2);
    assert_eq!(store.head().await.unwrap().hash, read[1].hash);
}

async fn stale_expected_version_conflicts_and_writes_nothing(db: TestDatabase) {
    let store = open(&db).await;
    let s = stream("assignment", "a1");
    common::append_one(&store, &s, 0).await.unwrap();
    let err = common::append_one(&store, &s, 0).await.unwrap_err();
    match err {
        StoreError::Conflict {
            expected, actual, ..
        } => assert_eq!((expected, actual), (0, 1)),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let err = common::append_one(&store, &s, 5).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                expected: 5,
                actual: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(store.head().await.unwrap().position, 1);
}

async fn concurrent_writers_on_one_stream_get_contiguous_versions(db: TestDatabase) {
    const TASKS: usize = 32;
    const APPENDS_EACH: usize = 4;
    let store = open(&db).await;
    let s = stream("assignment", "contended");
    let mut handles = Vec::new();
    for _ in 0..TASKS {
        let (store, s) = (store.clone(), s.clone());
        handles.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for _ in 0..APPENDS_EACH {
                loop {
                    let version = store.stream_version(&s).await.unwrap();
                    let e = event("StatusReported", json!({}));
                    let id = e.event_id;
                    match store
                        .append(vec![StreamAppend {
                            stream: s.clone(),
                            expected: ExpectedVersion(version),
                            events: vec![e],
                        }])
                        .await
                    {
                        Ok(_) => {
                            ids.push(id);
                            break;
                        }
                        Err(StoreError::Conflict { .. }) => tokio::task::yield_now().await,
                        Err(other) => panic!("unexpected error under contention: {other:?}"),
                    }
                }
            }
            ids
        }));
    }
    let mut written = HashSet::new();
    for h in handles {
        written.extend(h.await.unwrap());
    }
    let events = store.read_stream(&s, 0).await.unwrap();
    let n = (TASKS * APPENDS_EACH) as u64;
    assert_eq!(
        events.iter().map(|e| e.version).collect::<Vec<_>>(),
        (1..=n).collect::<Vec<_>>()
    );
    let stored: HashSet<_> = events.iter().map(|e| e.event_id).collect();
    assert_eq!(
        stored, written,
        "every acknowledged append is stored, nothing else"
    );
    assert!(store.verify_chain(1, |_, _| {}).await.unwrap().is_intact());
}

async fn concurrent_appends_share_commits_and_each_gets_its_own_answer(db: TestDatabase) {
    // Given a stream at version 1 and an append already stored
    let store = open(&db).await;
    let busy = stream("assignment", "busy");
    common::append_one(&store, &busy, 0).await.unwrap();
    let stored = vec![StreamAppend {
        stream: stream("assignment", "stored"),
        expected: ExpectedVersion(0),
        events: vec![event("AssignmentIssued", json!({}))],
    }];
    let original = store.append(stored.clone()).await.unwrap();

    // When 40 fresh appends, 5 stale ones and 5 repeats arrive at once
    enum Kind {
        Fresh,
        Stale,
        Repeat,
    }
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (store, busy, stored) = (store.clone(), busy.clone(), stored.clone());
        let kind = match i % 10 {
            3 => Kind::Stale,
            7 => Kind::Repeat,
            _ => Kind::Fresh,
        };
        tasks.push(tokio::spawn(async move {
            let batch = match kind {
                Kind::Fresh => vec![StreamAppend {
                    stream: stream("assignment", &format!("fresh-{i}")),
                    expected: ExpectedVersion(0),
                    events: vec![event("AssignmentIssued", json!({ "i": i }))],
                }],
                Kind::Stale => vec![StreamAppend {
                    stream: busy,
                    expected: ExpectedVersion(0),
                    events: vec![event("StatusReported", json!({}))],
                }],
                Kind::Repeat => stored,
            };
            (kind, store.append(batch).await)
        }));
    }

    // Then each gets the answer its own append deserves
    let mut written = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (Kind::Fresh, Ok(outcome)) => {
                assert!(!outcome.already_stored);
                written.extend(outcome.events);
            }
            (Kind::Stale, Err(StoreError::Conflict { actual, .. })) => assert_eq!(actual, 1),
            (Kind::Repeat, Ok(outcome)) => {
                assert!(outcome.already_stored);
                assert_eq!(outcome.events, original.events);
            }
            (_, other) => panic!("unexpected answer: {other:?}"),
        }
    }
    assert_eq!(written.len(), 40);
    assert_eq!(store.head().await.unwrap().position, 42);
    assert_eq!(store.stream_version(&busy).await.unwrap(), 1);
    // ... and they shared commits: a group's events carry one recorded_at.
    let commits: HashSet<_> = written.iter().map(|e| e.recorded_at).collect();
    assert!(
        commits.len() < written.len(),
        "40 concurrent appends were committed one by one"
    );
    assert!(store.verify_chain(1, |_, _| {}).await.unwrap().is_intact());
}

async fn two_processes_racing_on_the_same_streams_keep_versions_contiguous(db: TestDatabase) {
    // Two stores on one database stand in for two server processes, each committing groups;
    // a group that loses a race to the other process is retried append by append.
    let stores = [open(&db).await, open(&db).await];
    let streams: Vec<StreamId> = (0..4)
        .map(|i| stream("assignment", &format!("shared-{i}")))
        .collect();
    let mut tasks = Vec::new();
    for t in 0..16 {
        let store = stores[t % 2].clone();
        let streams = streams.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for n in 0..6 {
                let s = &streams[(t + n) % streams.len()];
                loop {
                    let version = store.stream_version(s).await.unwrap();
                    let e = event("StatusReported", json!({ "t": t, "n": n }));
                    let id = e.event_id;
                    let batch = vec![StreamAppend {
                        stream: s.clone(),
                        expected: ExpectedVersion(version),
                        events: vec![e],
                    }];
                    match store.append(batch).await {
                        Ok(_) => {
                            ids.push(id);
                            break;
                        }
                        Err(StoreError::Conflict { .. }) => tokio::task::yield_now().await,
                        Err(other) => panic!("unexpected error: {other:?}"),
                    }
                }
            }
            ids
        }));
    }
    let mut acknowledged = HashSet::new();
    for task in tasks {
        acknowledged.extend(task.await.unwrap());
    }
    let mut stored = HashSet::new();
    for s in &streams {
        let events = stores[0].read_stream(s, 0).await.unwrap();
        let versions: Vec<u64> = events.iter().map(|e| e.version).collect();
        assert_eq!(versions, (1..=events.len() as u64).collect::<Vec<_>>());
        stored.extend(events.iter().map(|e| e.event_id));
    }
    assert_eq!(stored, acknowledged);
    assert_eq!(stored.len(), 16 * 6);
    assert!(
        stores[1]
            .verify_chain(1, |_, _| {})
            .await
            .unwrap()
            .is_intact()
    );
}

/// Holds the log's write lock from outside the store (another process mid-commit) until the
/// returned sender is used or dropped.
async fn hold_write_lock(db: &TestDatabase) -> tokio::sync::oneshot::Sender<()> {
    use sqlx::Connection as _;
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let (locked_tx, locked) = tokio::sync::oneshot::channel::<()>();
    let url = db.url().to_owned();
    let kind = db.kind();
    tokio::spawn(async move {
        match kind {
            styr_eventstore::BackendKind::Postgres => {
                let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
                sqlx::query("BEGIN").execute(&mut c).await.unwrap();
                sqlx::query("SELECT position FROM log_head WHERE id = 1 FOR UPDATE")
                    .execute(&mut c)
                    .await
                    .unwrap();
                let _ = locked_tx.send(());
                let _ = released.await;
                sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
            }
            styr_eventstore::BackendKind::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut c)
                    .await
                    .unwrap();
                let _ = locked_tx.send(());
                let _ = released.await;
                sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
            }
        }
    });
    locked.await.unwrap();
    release
}

async fn an_append_whose_caller_gave_up_while_it_waited_is_not_written(db: TestDatabase) {
    // Given a store whose writer waits for the log's lock, held by another process
    let store = open(&db).await;
    common::append_one(&store, &stream("assignment", "warm"), 0)
        .await
        .unwrap();
    let release = hold_write_lock(&db).await;

    // When one caller gives up while its append waits for the lock in the writer, and another
    // while its append is queued behind it (request timeouts)
    let give_up = |id: &'static str| {
        let store = store.clone();
        async move {
            tokio::time::timeout(
                Duration::from_millis(400),
                common::append_one(&store, &stream("assignment", id), 0),
            )
            .await
        }
    };
    let in_flight = tokio::spawn(give_up("in-flight"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let queued = give_up("queued").await;
    assert!(
        queued.is_err(),
        "the queued append should still have been waiting"
    );
    assert!(
        in_flight.await.unwrap().is_err(),
        "the append in flight should still have been waiting"
    );
    drop(release);
    common::append_one(&store, &stream("assignment", "after"), 0)
        .await
        .unwrap();

    // Then neither is written behind its caller's back later, as an ungrouped append whose
    // future was dropped while it waited for the lock was rolled back
    for id in ["in-flight", "queued"] {
        assert_eq!(
            store
                .stream_version(&stream("assignment", id))
                .await
                .unwrap(),
            0,
            "the append {id}, which nobody waited for any more, was written"
        );
    }
    assert_eq!(store.head().await.unwrap().position, 2);
    assert!(store.verify_chain(1, |_, _| {}).await.unwrap().is_intact());
}

async fn appends_go_on_after_the_runtime_that_started_the_writer_ended(db: TestDatabase) {
    // Given a store connected (and its writer started) on a runtime that has since ended, as
    // with a store shared by tests that each run on their own runtime
    let url = db.url().to_owned();
    let store = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let store = rt.block_on(async {
            let store = EventStore::connect(&url, StoreOptions::default())
                .await
                .unwrap();
            common::append_one(&store, &stream("assignment", "a"), 0)
                .await
                .unwrap();
            store
        });
        drop(rt);
        store
    })
    .join()
    .unwrap();

    // When this runtime appends, concurrently
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                common::append_one(&store, &stream("assignment", &format!("b{i}")), 0).await
            })
        })
        .collect();

    // Then a new writer serves them
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(store.head().await.unwrap().position, 9);
    assert!(store.verify_chain(1, |_, _| {}).await.unwrap().is_intact());
}

async fn the_same_append_racing_from_two_processes_is_a_repeat_not_a_conflict(db: TestDatabase) {
    // Given two processes that both send the same append (same event ids: a retry of one whose
    // answer was lost), both past their checks while a third holds the log's lock
    let stores = [open(&db).await, open(&db).await];
    let batch = vec![StreamAppend {
        stream: stream("assignment", "a"),
        expected: ExpectedVersion(0),
        events: vec![event("AssignmentIssued", json!({}))],
    }];
    let release = hold_write_lock(&db).await;
    let tasks: Vec<_> = stores
        .iter()
        .map(|store| {
            let (store, batch) = (store.clone(), batch.clone());
            tokio::spawn(async move { store.append(batch).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(release);

    // Then one writes it and the other is told it is stored: "a concurrent duplicate that
    // slips past the check hits the unique index and is resolved the same way"
    let mut repeats = 0;
    for t in tasks {
        let outcome = t
            .await
            .unwrap()
            .expect("the same append is a repeat, not a conflict");
        assert_eq!(outcome.events[0].event_id, batch[0].events[0].event_id);
        repeats += usize::from(outcome.already_stored);
    }
    assert_eq!(repeats, 1);
    assert_eq!(stores[0].head().await.unwrap().position, 1);
}

async fn recorded_at_never_decreases_along_the_log_even_when_a_clock_is_behind(db: TestDatabase) {
    // Given a log whose last event was recorded by a clock ahead of this one (another server
    // whose clock runs fast, or a log moved here from one)
    let source_db = TestDatabase::new(db.kind()).await;
    let source = open(&source_db).await;
    let mut first = common::append_one(&source, &stream("assignment", "a"), 0)
        .await
        .unwrap()
        .events
        .remove(0);
    first.recorded_at += chrono::Duration::hours(1);
    first.effective_at = first.recorded_at;
    first.hash = recompute_hash(&first);
    let store = open(&db).await;
    store.import_verbatim(&[first.clone()]).await.unwrap();

    // When this process appends
    common::append_one(&store, &stream("assignment", "b"), 0)
        .await
        .unwrap();

    // Then its event is not recorded before the one it follows: "recorded_at is taken under
    // the lock, so it never decreases along the log", and as-of views are prefixes
    let log = store.read_all(0, 10).await.unwrap();
    assert!(
        log[1].recorded_at >= log[0].recorded_at,
        "position 2 recorded at {} before position 1 at {}",
        log[1].recorded_at,
        log[0].recorded_at
    );
    assert_eq!(store.position_at(log[0].recorded_at).await.unwrap(), 2);
    assert!(store.verify_chain(1, |_, _| {}).await.unwrap().is_intact());
}

async fn reappending_stored_event_ids_returns_the_original_and_writes_nothing(db: TestDatabase) {
    let store = open(&db).await;
    let (a, b) = (stream("assignment", "a"), stream("deadline", "d"));
    let batch = vec![
        StreamAppend {
            stream: a.clone(),
            expected: ExpectedVersion::NO_STREAM,
            events: vec![event("X", json!({"n": 1}))],
        },
        StreamAppend {
            stream: b.clone(),
            expected: ExpectedVersion::NO_STREAM,
            events: vec![event("Y", json!({"n": 2}))],
        },
    ];
    let first = store.append(batch.clone()).await.unwrap();
    // The retry arrives after the streams moved on: still recognised as a repeat.
    common::append_one(&store, &a, 1).await.unwrap();
    let head = store.head().await.unwrap();
    let again = store.append(batch).await.unwrap();
    assert!(again.already_stored);
    assert_eq!(again.events, first.events);
    assert_eq!(store.head().await.unwrap(), head, "nothing was written");
}

async fn partially_stored_event_ids_are_refused(db: TestDatabase) {
    let store = open(&db).await;
    let a = stream("assignment", "a");
    let first = event("X", json!({}));
    store
        .append(vec![StreamAppend {
            stream: a.clone(),
            expected: ExpectedVersion::NO_STREAM,
            events: vec![first.clone()],
        }])
        .await
        .unwrap();
    let err = store
        .append(vec![StreamAppend {
            stream: a.clone(),
            expected: ExpectedVersion(1),
            events: vec![first, event("Y", json!({}))],
        }])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyMismatch(_)), "{err:?}");
    // The same id in another stream is not a repeat either.
    let stored = store.read_stream(&a, 0).await.unwrap();
    let mut elsewhere = event("X", json!({}));
    elsewhere.event_id = stored[0].event_id;
    let err = store
        .append(vec![StreamAppend {
            stream: stream("assignment", "b"),
            expected: ExpectedVersion::NO_STREAM,
            events: vec![elsewhere],
        }])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyMismatch(_)), "{err:?}");
    assert_eq!(store.head().await.unwrap().position, 1);
}

async fn multi_stream_append_is_all_or_nothing(db: TestDatabase) {
    let store = open(&db).await;
    let (letter, a1, a2) = (
        stream("supplement", "s1"),
        stream("assignment", "a1"),
        stream("assignment", "a2"),
    );
    common::append_one(&store, &a2, 0).await.unwrap();
    let head = store.head().await.unwrap();
    let err = store
        .append(vec![
            StreamAppend {
                stream: letter.clone(),
                expected: ExpectedVersion::NO_STREAM,
                events: vec![event("SupplementIssued", json!({}))],
            },
            StreamAppend {
                stream: a1.clone(),
                expected: ExpectedVersion::NO_STREAM,
                events: vec![event("AssignmentIssued", json!({}))],
            },
            // Stale: a2 is at version 1.
            StreamAppend {
                stream: a2.clone(),
                expected: ExpectedVersion::NO_STREAM,
                events: vec![event("AssignmentAmended", json!({}))],
            },
        ])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict { stream, .. } if *stream == a2),
        "{err:?}"
    );
    assert_eq!(store.head().await.unwrap(), head);
    assert!(store.read_stream(&letter, 0).await.unwrap().is_empty());
    assert!(store.read_stream(&a1, 0).await.unwrap().is_empty());

    let ok = store
        .append(vec![
            StreamAppend {
                stream: letter.clone(),
                expected: ExpectedVersion::NO_STREAM,
                events: vec![event("SupplementIssued", json!({}))],
            },
            StreamAppend {
                stream: a1.clone(),
                expected: ExpectedVersion::NO_STREAM,
                events: vec![event("AssignmentIssued", json!({}))],
            },
            StreamAppend {
                stream: a2.clone(),
                expected: ExpectedVersion(1),
                events: vec![event("AssignmentAmended", json!({}))],
            },
        ])
        .await
        .unwrap();
    assert_eq!(
        ok.events.iter().map(|e| e.position).collect::<Vec<_>>(),
        vec![2, 3, 4]
    );
    assert_eq!(ok.stream_version(&a2), Some(2));
}

async fn reader_racing_sixteen_writers_sees_every_event_once_in_order(db: TestDatabase) {
    const WRITERS: usize = 16;
    const APPENDS_EACH: usize = 20;
    let store = open(&db).await;
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (store, done) = (store.clone(), done.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut after = 0;
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let page = store.read_all(after, 7).await.unwrap();
                for e in &page {
                    seen.push((e.position, e.event_id));
                    after = e.position;
                }
                if page.is_empty() {
                    if finished {
                        return seen;
                    }
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let s = stream("assignment", &format!("w{w}"));
            let mut ids = Vec::new();
            for i in 0..APPENDS_EACH {
                let events: Vec<_> = (0..=(i % 3))
                    .map(|_| event("E", json!({"w": w, "i": i})))
                    .collect();
                ids.extend(events.iter().map(|e| e.event_id));
                let version = store.stream_version(&s).await.unwrap();
                store
                    .append(vec![StreamAppend {
                        stream: s.clone(),
                        expected: ExpectedVersion(version),
                        events,
                    }])
                    .await
                    .unwrap();
            }
            ids
        }));
    }
    let mut written = HashSet::new();
    for w in writers {
        written.extend(w.await.unwrap());
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.unwrap();
    let positions: Vec<u64> = seen.iter().map(|(p, _)| *p).collect();
    assert_eq!(
        positions,
        (1..=written.len() as u64).collect::<Vec<_>>(),
        "in order, no gaps, no repeats"
    );
    let ids: HashSet<_> = seen.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids, written);
}

async fn invalid_appends_are_refused_before_writing(db: TestDatabase) {
    let store = open(&db).await;
    assert!(matches!(
        store.append(vec![]).await,
        Err(StoreError::InvalidArgument(_))
    ));
    let s = stream("assignment", "a");
    let dup = event("X", json!({}));
    let cases = vec![
        vec![StreamAppend {
            stream: s.clone(),
            expected: ExpectedVersion::NO_STREAM,
            events: vec![],
        }],
        vec![StreamAppend {
            stream: s.clone(),
            expected: ExpectedVersion::NO_STREAM,
            events: vec![dup.clone(), dup.clone()],
        }],
        vec![
            StreamAppend {
                stream: s.clone(),
                expected: ExpectedVersion::NO_STREAM,
                events: vec![event("X", json!({}))],
            },
            StreamAppend {
                stream: s.clone(),
                expected: ExpectedVersion::NO_STREAM,
                events: vec![event("X", json!({}))],
            },
        ],
        vec![StreamAppend {
            stream: s.clone(),
            expected: ExpectedVersion::NO_STREAM,
            events: vec![event("bad type!", json!({}))],
        }],
    ];
    for batch in cases {
        let err = store.append(batch).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidArgument(_)), "{err:?}");
    }
    assert!(StreamId::new("Assignment", "x").is_err());
    assert!(StreamId::new("assignment", "").is_err());
    assert!(StreamId::new("assignment", "a\nb").is_err());
    assert_eq!(store.head().await.unwrap().position, 0);
}

async fn the_log_refuses_updates_and_deletes(db: TestDatabase) {
    let store = open(&db).await;
    common::append_one(&store, &stream("assignment", "a"), 0)
        .await
        .unwrap();
    let update = exec_raw(&db, "UPDATE events SET reason = 'x' WHERE position = 1").await;
    assert!(update.unwrap_err().contains("append-only"));
    let delete = exec_raw(&db, "DELETE FROM events WHERE position = 1").await;
    assert!(delete.unwrap_err().contains("append-only"));
    assert!(store.verify_chain(1, |_, _| {}).await.unwrap().is_intact());
}

async fn intact_chain_verifies_from_any_position(db: TestDatabase) {
    let store = open(&db).await;
    let empty = store.verify_chain(1, |_, _| {}).await.unwrap();
    assert!(empty.is_intact());
    assert_eq!(empty.events_checked, 0);
    common::fill(&store, 25).await;
    let mut calls = 0;
    let all = store.verify_chain(1, |_, _| calls += 1).await.unwrap();
    assert!(all.is_intact(), "{:?}", all.first_break);
    assert_eq!((all.events_checked, all.verified_to), (25, 25));
    assert!(calls >= 1, "progress is reported");
    let tail = store.verify_chain(20, |_, _| {}).await.unwrap();
    assert!(tail.is_intact(), "{:?}", tail.first_break);
    assert_eq!(tail.events_checked, 6);
}

async fn changed_payload_is_detected(db: TestDatabase) {
    let store = tampered(
        &db,
        &["UPDATE events SET payload = '{\"amount\":1}' WHERE position = 3"],
    )
    .await;
    expect_break(&store, 3, |f| matches!(f, ChainFault::HashMismatch { .. })).await;
}

async fn changed_metadata_is_detected(db: TestDatabase) {
    let store = tampered(
        &db,
        &["UPDATE events SET actor_org = 'HOD', reason = 'forged' WHERE position = 4"],
    )
    .await;
    expect_break(&store, 4, |f| matches!(f, ChainFault::HashMismatch { .. })).await;
}

async fn deleted_row_is_detected(db: TestDatabase) {
    let store = tampered(&db, &["DELETE FROM events WHERE position = 3"]).await;
    expect_break(&store, 3, |f| {
        matches!(
            f,
            ChainFault::PositionGap {
                expected: 3,
                found: 4
            }
        )
    })
    .await;
}

async fn inserted_row_is_detected(db: TestDatabase) {
    // Make room after position 2 and insert a copy of event 2 there, in another stream.
    let store = tampered(
        &db,
        &[
            "UPDATE events SET position = position + 1000000 WHERE position > 2",
            "UPDATE events SET position = position - 999999 WHERE position > 1000000",
            "INSERT INTO events SELECT 'assignment', 'forged', 1, 3, correlation_id, event_type, \
             schema_version, payload, actor_subject, actor_name, actor_role, actor_org, reason, \
             correlation_id, causation_id, recorded_at, effective_at, hash, hash \
             FROM events WHERE position = 2",
            "UPDATE log_head SET position = position + 1",
        ],
    )
    .await;
    expect_break(&store, 3, |f| matches!(f, ChainFault::HashMismatch { .. })).await;
}

async fn swapped_rows_are_detected(db: TestDatabase) {
    let store = tampered(
        &db,
        &[
            "UPDATE events SET position = 1000000 WHERE position = 2",
            "UPDATE events SET position = 2 WHERE position = 3",
            "UPDATE events SET position = 3 WHERE position = 1000000",
        ],
    )
    .await;
    expect_break(&store, 2, |f| matches!(f, ChainFault::BrokenLink { .. })).await;
}

async fn cut_tail_is_detected(db: TestDatabase) {
    let store = tampered(&db, &["DELETE FROM events WHERE position = 5"]).await;
    expect_break(&store, 5, |f| {
        matches!(
            f,
            ChainFault::HeadMismatch {
                head_position: 5,
                last_position: 4,
                ..
            }
        )
    })
    .await;
}

async fn forged_row_after_the_head_is_detected(db: TestDatabase) {
    let store = tampered(
        &db,
        &[
            "INSERT INTO events SELECT stream_type, stream_id, version + 1, 6, correlation_id, \
           event_type, schema_version, payload, actor_subject, actor_name, actor_role, actor_org, \
           reason, correlation_id, causation_id, recorded_at, effective_at, hash, hash \
           FROM events WHERE position = 5",
        ],
    )
    .await;
    expect_break(&store, 6, |f| {
        matches!(
            f,
            ChainFault::HeadMismatch {
                head_position: 5,
                last_position: 6,
                ..
            }
        )
    })
    .await;
}

/// 6,000 events of about 450 bytes (2.7 MB): more than one page, and more than one batch of
/// what PostgreSQL sends for verification.
async fn long_log(store: &EventStore) {
    let padding = "ø".repeat(200);
    for chunk in 0..12 {
        let events = (0..500)
            .map(|i| event("StatusReported", json!({"n": i, "text": padding})))
            .collect();
        store
            .append(vec![StreamAppend {
                stream: stream("assignment", &format!("long-{chunk}")),
                expected: ExpectedVersion::NO_STREAM,
                events,
            }])
            .await
            .unwrap();
    }
}

async fn a_break_early_in_a_long_log_stops_verification_and_the_store_goes_on(db: TestDatabase) {
    let store = open(&db).await;
    long_log(&store).await;
    let mut reports = 0;
    let intact = store.verify_chain(1, |_, _| reports += 1).await.unwrap();
    assert!(intact.is_intact(), "{:?}", intact.first_break);
    assert_eq!(intact.events_checked, 6000);
    assert!(
        reports >= 2,
        "progress is reported as verification goes ({reports})"
    );
    common::disable_append_only(&db).await;
    exec_raw(
        &db,
        "UPDATE events SET reason = 'forged' WHERE position IN (10, 5990)",
    )
    .await
    .unwrap();
    // Stopping at the first break leaves the rest unread; every connection the store hands
    // out afterwards must still work, so verify more times than the pool has connections.
    for _ in 0..12 {
        let report = store.verify_chain(1, |_, _| {}).await.unwrap();
        let b = report.first_break.expect("the change is found");
        assert_eq!((b.position, report.verified_to), (10, 9), "{b}");
        assert!(matches!(b.fault, ChainFault::HashMismatch { .. }), "{b}");
    }
    let tail = store.verify_chain(11, |_, _| {}).await.unwrap();
    assert_eq!(tail.first_break.map(|b| b.position), Some(5990));
    common::append_one(&store, &stream("assignment", "after"), 0)
        .await
        .unwrap();
    assert_eq!(store.read_all(6000, 10).await.unwrap().len(), 1);
}

async fn subscription_is_woken_by_a_commit(db: TestDatabase) {
    let store = EventStore::connect(
        db.url(),
        StoreOptions {
            poll_interval: Duration::from_secs(60),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    common::append_one(&store, &stream("assignment", "a"), 0)
        .await
        .unwrap();
    let mut sub = store.subscribe(0);
    assert_eq!(
        sub.next_batch().await.unwrap().len(),
        1,
        "catches up on what is there"
    );
    let writer = store.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        common::append_one(&writer, &stream("assignment", "a"), 1)
            .await
            .unwrap();
    });
    // The poll interval is a minute: only a wake-up can deliver this in time.
    let next = tokio::time::timeout(Duration::from_secs(10), sub.next_batch()).await;
    let batch = next.expect("woken by the commit, not by polling").unwrap();
    assert_eq!(batch[0].position, 2);
    assert_eq!(sub.position(), 2);
}

async fn subscription_sees_commits_of_another_process(db: TestDatabase) {
    // Two stores on one database stand in for two server processes.
    let options = StoreOptions {
        poll_interval: Duration::from_millis(300),
        ..Default::default()
    };
    let reader = EventStore::connect(db.url(), options.clone())
        .await
        .unwrap();
    let writer = EventStore::connect(db.url(), options).await.unwrap();
    let mut sub = reader.subscribe(0);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        common::append_one(&writer, &stream("assignment", "a"), 0)
            .await
            .unwrap();
    });
    let batch = tokio::time::timeout(Duration::from_secs(10), sub.next_batch())
        .await
        .expect("the other process's commit arrives")
        .unwrap();
    assert_eq!(batch.len(), 1);
}

async fn migrations_are_idempotent_and_readiness_reports_them(db: TestDatabase) {
    let store = open(&db).await;
    store.migrate().await.unwrap();
    store.readiness().await.unwrap();
    let bare = EventStore::connect_without_migrating(db.url(), StoreOptions::default())
        .await
        .unwrap();
    bare.readiness().await.unwrap();
    exec_raw(&db, "DELETE FROM _sqlx_migrations").await.unwrap();
    assert!(matches!(
        bare.readiness().await,
        Err(StoreError::Unavailable(_))
    ));
}

/// Five events in two streams, then raw SQL with the append-only triggers out of the way.
async fn tampered(db: &TestDatabase, statements: &[&str]) -> EventStore {
    let store = open(db).await;
    common::fill(&store, 5).await;
    assert!(store.verify_chain(1, |_, _| {}).await.unwrap().is_intact());
    common::disable_append_only(db).await;
    for sql in statements {
        exec_raw(db, sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    store
}

async fn expect_break(store: &EventStore, position: u64, fault: impl Fn(&ChainFault) -> bool) {
    let report = store.verify_chain(1, |_, _| {}).await.unwrap();
    let b = report.first_break.expect("tampering must be detected");
    assert_eq!(b.position, position, "first broken position ({b})");
    assert!(fault(&b.fault), "unexpected fault: {b}");
    assert_eq!(
        report.verified_to,
        position.min(5) - 1 + u64::from(position > 5)
    );
}

/// A log with the awkward cases: several streams in one append, a reason, a late effective
/// time, no causation id, and text that needs escaping.
async fn varied_log(store: &EventStore) -> Vec<RecordedEvent> {
    common::fill(store, 6).await;
    let mut late = with_reason(
        event(
            "StatusReported",
            json!({"text": "«ø» \"quoted\"\n", "n": 1.5}),
        ),
        "late registration",
    );
    late.metadata.effective_at = Some(chrono::Utc::now() - chrono::Duration::days(30));
    late.metadata.causation_id = None;
    store
        .append(vec![
            StreamAppend {
                stream: stream("assignment", "a"),
                expected: ExpectedVersion(3),
                events: vec![
                    late,
                    event("AssignmentDelivered", json!({"b": [1, {"z": null}]})),
                ],
            },
            StreamAppend {
                stream: stream("supplement", "s"),
                expected: ExpectedVersion::NO_STREAM,
                events: vec![event("SupplementIssued", json!({"number": 1}))],
            },
        ])
        .await
        .unwrap();
    store.read_all(0, 1000).await.unwrap()
}

async fn an_extract_imports_verbatim_into_an_empty_store_and_verifies(db: TestDatabase) {
    let a = open(&db).await;
    let events = varied_log(&a).await;
    assert_eq!(events.len(), 9);
    let db_b = TestDatabase::new(db.kind()).await;
    let b = open(&db_b).await;

    // In two parts: the second continues where the first left the head.
    assert_eq!(b.import_verbatim(&events[..4]).await.unwrap(), 4);
    assert_eq!(b.import_verbatim(&events[4..]).await.unwrap(), 5);

    let report = b.verify_chain(1, |_, _| {}).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.first_break);
    assert_eq!(report.events_checked, 9);
    assert_eq!(b.head().await.unwrap(), a.head().await.unwrap());
    assert_eq!(
        b.read_all(0, 1000).await.unwrap(),
        events,
        "every field, the payload text included, as recorded"
    );
    assert_eq!(*b.watch_head().borrow(), 9, "subscribers are woken");
    // The imported store carries on like any other.
    common::append_one(&b, &stream("deadline", "d"), 3)
        .await
        .unwrap();
    assert!(b.verify_chain(1, |_, _| {}).await.unwrap().is_intact());
}

async fn imports_that_do_not_continue_the_chain_exactly_are_refused_and_write_nothing(
    db: TestDatabase,
) {
    let a = open(&db).await;
    let events = varied_log(&a).await;
    let db_b = TestDatabase::new(db.kind()).await;
    let b = open(&db_b).await;
    b.import_verbatim(&events[..3]).await.unwrap();
    let head = b.head().await.unwrap();

    let with = |i: usize, change: &dyn Fn(&mut RecordedEvent)| {
        let mut v = events[3..].to_vec();
        change(&mut v[i]);
        v
    };
    let mut gap = events[3..].to_vec();
    gap.remove(1);
    let mut rehashed_version = events[3..4].to_vec();
    rehashed_version[0].version += 5;
    rehashed_version[0].hash = recompute_hash(&rehashed_version[0]);
    let cases: Vec<(&str, Vec<RecordedEvent>, &str)> = vec![
        ("nothing", vec![], "no events"),
        ("a gap", gap, "consecutive"),
        (
            "a wrong prev_hash",
            with(2, &|e| e.prev_hash = "ab".repeat(32)),
            "does not link",
        ),
        (
            "a tampered payload",
            with(1, &|e| {
                e.payload = json!({"n": 999});
                e.payload_text = styr_eventstore::canonical_json(&e.payload);
            }),
            "hashes to",
        ),
        (
            "a payload that is not its text",
            with(1, &|e| e.payload = json!({"n": 999})),
            "differ",
        ),
        (
            "changed metadata",
            with(0, &|e| e.reason = Some("forged".into())),
            "hashes to",
        ),
        (
            "events the store holds already",
            events[1..].to_vec(),
            "head is at position 3",
        ),
        (
            "a later piece",
            events[5..].to_vec(),
            "head is at position 3",
        ),
        (
            "a rehashed stream version",
            rehashed_version,
            "is at version",
        ),
    ];
    for (what, extract, message) in cases {
        let err = b.import_verbatim(&extract).await.unwrap_err();
        match &err {
            StoreError::InvalidArgument(m) => assert!(m.contains(message), "{what}: {m}"),
            other => panic!("{what}: expected InvalidArgument, got {other:?}"),
        }
        assert_eq!(b.head().await.unwrap(), head, "{what}: head unchanged");
        assert_eq!(
            b.read_all(0, 1000).await.unwrap().len(),
            3,
            "{what}: nothing written"
        );
    }

    // An extract from position 1 into a store that has its own history.
    let db_c = TestDatabase::new(db.kind()).await;
    let c = open(&db_c).await;
    common::append_one(&c, &stream("assignment", "own"), 0)
        .await
        .unwrap();
    let err = c.import_verbatim(&events).await.unwrap_err();
    assert!(matches!(err, StoreError::InvalidArgument(_)), "{err:?}");
    assert_eq!(c.read_all(0, 1000).await.unwrap().len(), 1);
    assert!(c.verify_chain(1, |_, _| {}).await.unwrap().is_intact());

    // The rest of the chain still goes in.
    b.import_verbatim(&events[3..]).await.unwrap();
    assert!(b.verify_chain(1, |_, _| {}).await.unwrap().is_intact());
    assert_eq!(b.head().await.unwrap(), a.head().await.unwrap());
}

/// A rolling upgrade: the newer version applied a migration this binary does not know. The
/// older binary must still start (and report ready), not crash-loop.
async fn an_older_binary_starts_on_a_schema_a_newer_one_migrated(db: TestDatabase) {
    let store = open(&db).await;
    store.close().await;
    let checksum = match db.kind() {
        styr_eventstore::BackendKind::Postgres => "'\\x00'::bytea",
        styr_eventstore::BackendKind::Sqlite => "x'00'",
    };
    exec_raw(
        &db,
        &format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99990101, 'from a newer release', TRUE, {checksum}, 1)"
        ),
    )
    .await
    .unwrap();
    let again = EventStore::connect(db.url(), StoreOptions::default())
        .await
        .expect("starts on a newer schema");
    again.readiness().await.unwrap();
}

/// More rows than one INSERT may carry (PostgreSQL's bind-parameter limit): written in
/// chunks, the head moved once, to the last.
async fn a_large_extract_imports_in_chunks_with_one_head(db: TestDatabase) {
    let a = open(&db).await;
    let s = stream("assignment", "big");
    let batch: Vec<_> = (0..2500)
        .map(|i| event("StatusReported", json!({ "n": i })))
        .collect();
    a.append(vec![StreamAppend {
        stream: s.clone(),
        expected: ExpectedVersion(0),
        events: batch,
    }])
    .await
    .unwrap();
    let mut events = Vec::new();
    while events.len() < 2500 {
        events.extend(a.read_all(events.len() as u64, 1000).await.unwrap());
    }
    let db_b = TestDatabase::new(db.kind()).await;
    let b = open(&db_b).await;
    assert_eq!(b.import_verbatim(&events).await.unwrap(), 2500);
    assert_eq!(b.head().await.unwrap(), a.head().await.unwrap());
    assert!(b.verify_chain(1, |_, _| {}).await.unwrap().is_intact());
}
