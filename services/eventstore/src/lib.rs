//! The event store: an append-only, hash-chained log of domain events on PostgreSQL or SQLite.
//!
//! Guarantees (see `ARCHITECTURE.md` for how each is kept):
//! - each stream has versions 1, 2, 3 … without gaps; a stale expected version is a
//!   [`StoreError::Conflict`] and writes nothing;
//! - an append may span several streams and is all-or-nothing;
//! - re-appending stored event ids writes nothing and returns the events as first recorded;
//! - one global position orders all events, and reads of the global log are gap-free;
//! - every event's hash covers its content, metadata, position and the previous hash;
//!   [`EventStore::verify_chain`] finds the first changed, deleted, inserted or swapped row.
//!
//! This crate knows nothing of the domain, GraphQL or HTTP.

mod chain;
mod error;
mod feed;
mod group;
mod import;
mod pgcopy;
mod postgres;
mod seal;
mod sqlite;
mod store;
pub mod testing;
mod types;

pub use chain::{ChainBreak, ChainFault, ChainReport, canonical_json, recompute_hash};
pub use error::StoreError;
pub use feed::Subscription;
pub use store::{
    AppendResult, BackendKind, EventStore, Pool, StoreObserver, StoreOptions, redact_url,
    sqlite_file,
};
pub use types::{
    Actor, AppendOutcome, EventMetadata, ExpectedVersion, GENESIS_HASH, LogHead, NewEvent,
    RecordedEvent, StreamAppend, StreamId, format_timestamp, truncate_to_micros,
};
