//! Benchmarks 1–4 and 7: the event store's appends, reads, aggregate loads, the projection
//! rebuild and chain verification, each next to its raw ceiling.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use styr_domain::assignment::Assignment;
use styr_eventstore::{
    Actor, BackendKind, EventMetadata, EventStore, ExpectedVersion, NewEvent, StoreOptions,
    StreamAppend, StreamId, canonical_json,
};
use styr_workflow::Workflow;
use uuid::Uuid;

use crate::Plan;
use crate::db::Scratch;
use crate::raw::{Raw, RawEvent};
use crate::report::{Measured, Row, Target, run_for};
use crate::seed;

/// A status report's payload and actor, as the workflow writes them (about 400 bytes).
fn sample_event() -> (serde_json::Value, [String; 4]) {
    let payload = serde_json::json!({
        "period": "tertial1",
        "light": "green",
        "progress": "Arbeidet går etter planen; delrapport 3 er oversendt departementet og \
                     innspill fra høringsinstansene er innarbeidet.",
        "cause_and_consequence": null,
        "corrective_action": null,
        "year_end_phrase": null,
        "normalised": null,
        "by": {
            "subject": "bench-agency-coordinator",
            "display_name": "Ola Koordinator",
            "organisation": "AG03"
        },
        "at": "2026-12-02T03:47:01.123456Z"
    });
    let actor = [
        "bench-agency-coordinator".to_owned(),
        "Ola Koordinator".to_owned(),
        "agency".to_owned(),
        "AG03".to_owned(),
    ];
    (payload, actor)
}

fn new_event(payload: &serde_json::Value, actor: &[String; 4]) -> NewEvent {
    let id = Uuid::now_v7();
    NewEvent {
        event_id: id,
        event_type: "StatusReported".to_owned(),
        schema_version: 2,
        payload: payload.clone(),
        metadata: EventMetadata {
            actor: Actor {
                subject: actor[0].clone(),
                display_name: actor[1].clone(),
                role: actor[2].clone(),
                organisation: actor[3].clone(),
            },
            reason: None,
            correlation_id: id,
            causation_id: Some(id),
            effective_at: None,
        },
    }
}

/// Benchmarks 1 and 2: appends of `batch` events per transaction by 1 and by 16 writers,
/// each on its own stream, against single INSERT statements of as many rows.
pub async fn appends(
    kind: BackendKind,
    plan: &Plan,
    run_1: bool,
    run_2: bool,
) -> anyhow::Result<Vec<Row>> {
    let db = Scratch::new(kind, "append").await?;
    let store = EventStore::connect(db.url(), StoreOptions::default()).await?;
    let raw = Raw::connect(db.url(), kind).await?;
    raw.create_tables().await?;
    let (payload, actor) = sample_event();
    let payload_text = canonical_json(&payload);
    let next_position = Arc::new(AtomicI64::new(1));
    let mut rows = Vec::new();
    let mut cases = Vec::new();
    if run_1 {
        cases.push(("1", 1, 1));
        cases.push(("1", 1, 16));
    }
    if run_2 {
        cases.push(("2", 10, 1));
        cases.push(("2", 10, 16));
    }
    for (run, (id, batch, writers)) in cases.into_iter().enumerate() {
        crate::progress(format!(
            "{}: {id} append {batch}/tx, {writers} writer(s)",
            kind.as_str()
        ));
        let ours = {
            let store = store.clone();
            let payload = payload.clone();
            let actor = actor.clone();
            run_for(writers, plan.warmup, plan.duration, move |w, i| {
                let store = store.clone();
                let events = (0..batch).map(|_| new_event(&payload, &actor)).collect();
                async move {
                    let stream = StreamId::new("bench", format!("r{run}-w{w}"))?;
                    store
                        .append(vec![StreamAppend {
                            stream,
                            expected: ExpectedVersion(i * batch as u64),
                            events,
                        }])
                        .await?;
                    Ok(batch as u64)
                }
            })
            .await?
        };
        let ceiling = {
            let raw = raw.clone();
            let payload_text = payload_text.clone();
            let actor = actor.clone();
            let next_position = next_position.clone();
            run_for(writers, plan.warmup, plan.duration, move |w, i| {
                let raw = raw.clone();
                let first = next_position.fetch_add(batch as i64, Ordering::Relaxed);
                let stream = format!("r{run}-w{w}");
                let rows: Vec<RawEvent> = (0..batch as i64)
                    .map(|k| {
                        RawEvent::new(
                            first + k,
                            &stream,
                            i as i64 * batch as i64 + k + 1,
                            &payload_text,
                            &actor,
                        )
                    })
                    .collect();
                async move {
                    raw.insert(&rows).await?;
                    Ok(batch as u64)
                }
            })
            .await?
        };
        let name = format!(
            "append, {batch} event{}/tx, {writers} writer{}",
            if batch == 1 { "" } else { "s" },
            if writers == 1 { "" } else { "s" }
        );
        let row = Row::new(id, name, kind)
            .rate(ours.events_per_sec(), "events/s")
            .raw(ceiling.events_per_sec())
            .latency(&ours)
            .target(if id == "1" {
                Target::RatioAtLeast(0.8)
            } else {
                Target::AtLeast(20_000.0)
            })
            .note(format!(
                "raw p50/p99 {}/{} ms",
                crate::report::ms(ceiling.p50()),
                crate::report::ms(ceiling.p99())
            ));
        rows.push(row);
    }
    store.close().await;
    raw.close().await;
    db.remove().await;
    Ok(rows)
}

/// Which of benchmarks 3, 4 and 7 to run on the large log.
pub struct LargeLog {
    pub reads: bool,
    pub rebuild: bool,
    pub verify: bool,
}

/// Benchmarks 3, 4 and 7 on a log of about `plan.big_assignments × 10` events.
pub async fn large_log(
    kind: BackendKind,
    plan: &Plan,
    which: LargeLog,
) -> anyhow::Result<Vec<Row>> {
    let db = Scratch::new(kind, "large").await?;
    let store = EventStore::connect(db.url(), StoreOptions::default()).await?;
    let raw = Raw::connect(db.url(), kind).await?;
    raw.create_tables().await?;
    crate::progress(format!(
        "{}: seeding {} assignments × 10 events",
        kind.as_str(),
        plan.big_assignments
    ));
    let seeded = seed::seed(
        &store,
        seed::Shape {
            assignments: 0..plan.big_assignments,
            reports: 8,
        },
    )
    .await?;
    let long_index = plan.big_assignments + 1;
    seed::seed_long_stream(&store, long_index, plan.long_stream).await?;
    // The issue and the reports; its Deadline stream is another stream.
    let long_events = plan.long_stream + 1;
    raw.settle().await?;
    let head = store.head().await?.position;
    crate::progress(format!(
        "{}: seeded {} events in {:.1} s ({:.0} events/s through batch appends), {} in total",
        kind.as_str(),
        seeded.events,
        seeded.elapsed.as_secs_f64(),
        seeded.events as f64 / seeded.elapsed.as_secs_f64(),
        head
    ));
    let size = format!("{} events", crate::report::thousands(head as f64));
    let mut rows = Vec::new();
    let workflow = Workflow::new(store.clone());

    if which.reads {
        // A first pass warms the caches for everyone.
        raw.read_all(5000).await?;
        // Parsed payloads (what history, exports and subscriptions read), and payload text
        // only (what the projector's replay reads: it decodes the text into domain events).
        for (page, parsed) in [(5000_u32, true), (500, true), (500, false)] {
            let what = if parsed {
                format!("read_all, pages of {page}")
            } else {
                format!("read_all_unparsed (the projector's read), pages of {page}")
            };
            crate::progress(format!("{}: 3 {what}", kind.as_str()));
            let started = Instant::now();
            let mut after = 0;
            let mut read = 0;
            loop {
                let events = if parsed {
                    store.read_all(after, page).await?
                } else {
                    store.read_all_unparsed(after, page).await?
                };
                let Some(last) = events.last() else { break };
                after = last.position;
                read += events.len() as u64;
            }
            let ours = Measured::once(started.elapsed(), read);
            let started = Instant::now();
            let raw_read = raw.read_all(i64::from(page)).await?;
            let ceiling = Measured::once(started.elapsed(), raw_read);
            rows.push(
                Row::new("3", what, kind)
                    .rate(ours.events_per_sec(), "events/s")
                    .raw(ceiling.events_per_sec())
                    .target(Target::AtLeast(200_000.0))
                    .note(size.clone()),
            );
        }

        crate::progress(format!(
            "{}: 3 load an Assignment (10 events)",
            kind.as_str()
        ));
        let n = plan.big_assignments;
        let ours = {
            let workflow = workflow.clone();
            run_for(1, plan.warmup, plan.duration, move |_, i| {
                let workflow = workflow.clone();
                async move {
                    let id = seed::assignment_id(scatter(i, n));
                    let (_state, version) = workflow.load::<Assignment>(&id).await?;
                    Ok(version)
                }
            })
            .await?
        };
        let ceiling = {
            let raw = raw.clone();
            run_for(1, plan.warmup, plan.duration, move |_, i| {
                let raw = raw.clone();
                async move {
                    let id = seed::assignment_id(scatter(i, n));
                    raw.read_stream("assignment", &id).await
                }
            })
            .await?
        };
        rows.push(
            Row::new("3", "load an Assignment of 10 events, 1 client", kind)
                .rate(ours.events_per_sec(), "events/s")
                .raw(ceiling.events_per_sec())
                .latency(&ours)
                .target(Target::AtLeast(200_000.0))
                .note(format!(
                    "{:.0} loads/s; raw p50 {} ms",
                    ours.ops_per_sec(),
                    crate::report::ms(ceiling.p50())
                )),
        );

        crate::progress(format!(
            "{}: 3 load an Assignment of {} events",
            kind.as_str(),
            long_events
        ));
        let long_id = seed::assignment_id(long_index);
        let ours = {
            let workflow = workflow.clone();
            let id = long_id.clone();
            run_for(1, plan.warmup, plan.duration, move |_, _| {
                let workflow = workflow.clone();
                let id = id.clone();
                async move {
                    let (_state, version) = workflow.load::<Assignment>(&id).await?;
                    Ok(version)
                }
            })
            .await?
        };
        let ceiling = {
            let raw = raw.clone();
            let id = long_id.clone();
            run_for(1, plan.warmup, plan.duration, move |_, _| {
                let raw = raw.clone();
                let id = id.clone();
                async move { raw.read_stream("assignment", &id).await }
            })
            .await?
        };
        rows.push(
            Row::new(
                "3",
                format!("load an Assignment of {long_events} events"),
                kind,
            )
            .rate(ours.events_per_sec(), "events/s")
            .raw(ceiling.events_per_sec())
            .latency(&ours)
            .target(Target::AtLeast(200_000.0)),
        );
    }

    if which.rebuild {
        crate::progress(format!("{}: 4 projection rebuild", kind.as_str()));
        let started = Instant::now();
        let checkpoint = workflow.projections().rebuild().await?;
        let ours = Measured::once(started.elapsed(), checkpoint);
        let started = Instant::now();
        let projected = raw.project_all(500).await?;
        let ceiling = Measured::once(started.elapsed(), projected);
        rows.push(
            Row::new("4", "projection rebuild from 0", kind)
                .rate(ours.events_per_sec(), "events/s")
                .raw(ceiling.events_per_sec())
                .target(Target::AtLeast(20_000.0))
                .note(format!(
                    "{size}, {} board rows",
                    crate::report::thousands(plan.big_assignments as f64 + 1.0)
                )),
        );
    }

    if which.verify {
        crate::progress(format!("{}: 7 verify_chain", kind.as_str()));
        let started = Instant::now();
        let report = store.verify_chain(1, |_, _| {}).await?;
        let ours = Measured::once(started.elapsed(), report.events_checked);
        anyhow::ensure!(
            report.first_break.is_none(),
            "the seeded chain does not verify: {:?}",
            report.first_break
        );
        let started = Instant::now();
        let raw_read = raw.read_for_verification().await?;
        let ceiling = Measured::once(started.elapsed(), raw_read);
        let raw_is = match kind {
            BackendKind::Postgres => "the same binary COPY, bytes received only",
            BackendKind::Sqlite => "reading the rows only",
        };
        rows.push(
            Row::new("7", "verify_chain", kind)
                .rate(ours.events_per_sec(), "events/s")
                .raw(ceiling.events_per_sec())
                .target(Target::AtLeast(500_000.0))
                .note(format!("{size}; raw = {raw_is}")),
        );
    }

    store.close().await;
    raw.close().await;
    db.remove().await;
    Ok(rows)
}

/// The `i`th pick out of `n`, spread over the whole range so loads do not walk the cache in
/// order.
pub fn scatter(i: u64, n: usize) -> usize {
    (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % n as u64) as usize
}
