//! The application layer: loads aggregates from the event store, lets the pure domain decide,
//! and appends the resulting events. Everything above it (GraphQL, HTTP) talks to [`Workflow`]
//! and never to the store directly.

use styr_eventstore::{EventStore, LogHead, StoreError};
use tokio::sync::watch;

/// The service facade shared by every request. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Workflow {
    store: EventStore,
}

impl Workflow {
    pub fn new(store: EventStore) -> Self {
        Self { store }
    }

    /// The underlying store, for the server's operational commands (verify, metrics).
    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// Ready when the database answers and the schema is current.
    pub async fn readiness(&self) -> Result<(), StoreError> {
        self.store.readiness().await
    }

    /// The tip of the event log.
    pub async fn log_head(&self) -> Result<LogHead, StoreError> {
        self.store.head().await
    }

    /// Changes whenever an event commits.
    pub fn watch_log_head(&self) -> watch::Receiver<u64> {
        self.store.watch_head()
    }
}
