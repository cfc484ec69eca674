//! Helpers shared by the store tests.

use serde_json::{Value, json};
use styr_eventstore::testing::TestDatabase;
use styr_eventstore::{
    Actor, AppendOutcome, EventMetadata, EventStore, ExpectedVersion, NewEvent, StoreError,
    StoreOptions, StreamAppend, StreamId,
};
use uuid::Uuid;

pub async fn open(db: &TestDatabase) -> EventStore {
    EventStore::connect(db.url(), StoreOptions::default())
        .await
        .unwrap_or_else(|e| panic!("connect to {}: {e}", db.url()))
}

pub fn stream(stream_type: &str, id: &str) -> StreamId {
    StreamId::new(stream_type, id).unwrap()
}

pub fn event(event_type: &str, payload: Value) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: event_type.to_owned(),
        schema_version: 1,
        payload,
        metadata: EventMetadata {
            actor: Actor {
                subject: "kari".into(),
                display_name: "Kari Nordmann".into(),
                role: "agency".into(),
                organisation: "DMP".into(),
            },
            reason: None,
            correlation_id: Uuid::now_v7(),
            causation_id: Some(Uuid::now_v7()),
            effective_at: None,
        },
    }
}

pub fn with_reason(mut e: NewEvent, reason: &str) -> NewEvent {
    e.metadata.reason = Some(reason.into());
    e
}

pub async fn append_one(
    store: &EventStore,
    s: &StreamId,
    expected: u64,
) -> Result<AppendOutcome, StoreError> {
    store
        .append(vec![StreamAppend {
            stream: s.clone(),
            expected: ExpectedVersion(expected),
            events: vec![event("StatusReported", json!({"n": expected + 1}))],
        }])
        .await
}

/// `n` events alternating between two streams.
pub async fn fill(store: &EventStore, n: u64) {
    let streams = [stream("assignment", "a"), stream("deadline", "d")];
    for i in 0..n {
        let s = &streams[(i % 2) as usize];
        append_one(store, s, i / 2).await.unwrap();
    }
}

pub async fn exec_raw(db: &TestDatabase, sql: &str) -> Result<u64, String> {
    db.exec_raw(sql).await
}

pub async fn disable_append_only(db: &TestDatabase) {
    db.disable_append_only().await
}
