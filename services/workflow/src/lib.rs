//! The application layer: loads aggregates from the event store, lets the pure domain decide,
//! and appends the resulting events — with optimistic-concurrency retries, safe command
//! retries by command id, and follow-up events on other streams in the same atomic append.
//! Everything above it (GraphQL, HTTP, CLI) talks to [`Workflow`], never to SQL.

pub mod audit;
pub mod checkpoint;
mod clock;
pub mod copies;
mod cross;
pub mod delivery;
pub mod demo;
mod error;
pub mod export;
mod handler;
pub mod import;
mod monitor;
pub mod projections;
mod states;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use styr_eventstore::{EventStore, LogHead, StoreError};
use tokio::sync::watch;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::WorkflowError;
pub use handler::{CommandMeta, CommandOutcome, FollowUps, MAX_ATTEMPTS, role_name};
pub use monitor::{DeadlineMonitor, MONITOR_SUBJECT, MonitorReport};
pub use styr_domain as domain;

/// The service facade shared by every request. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Workflow {
    store: EventStore,
    clock: Arc<dyn Clock>,
    projections: Arc<projections::Projections>,
    copy_channels: Arc<Vec<delivery::Channel>>,
    /// States this process's commands left aggregates in (see `states.rs`).
    states: Arc<states::States>,
}

impl Workflow {
    pub fn new(store: EventStore) -> Self {
        Self::with_clock(store, Arc::new(SystemClock))
    }

    pub fn with_clock(store: EventStore, clock: Arc<dyn Clock>) -> Self {
        Self {
            projections: Arc::new(projections::Projections::new(store.clone())),
            store,
            clock,
            copy_channels: Arc::new(Vec::new()),
            states: Arc::new(states::States::default()),
        }
    }

    /// The channels copies to Riksrevisjonen (and to ministries) are delivered on; reports
    /// judge completeness against them.
    pub fn with_copy_channels(mut self, channels: Vec<delivery::Channel>) -> Self {
        self.copy_channels = Arc::new(channels);
        self
    }

    pub fn copy_channels(&self) -> &[delivery::Channel] {
        &self.copy_channels
    }

    /// The read models (board and friends).
    pub fn projections(&self) -> &Arc<projections::Projections> {
        &self.projections
    }

    /// Returns once the read models include everything `outcome` wrote, so the caller's next
    /// query sees its own command (read-your-writes).
    pub async fn settle(&self, outcome: &CommandOutcome) -> Result<(), WorkflowError> {
        self.projections
            .wait_for(outcome.position(), std::time::Duration::from_secs(10))
            .await
    }

    /// The underlying store, for the server's operational commands (verify, metrics).
    pub fn store(&self) -> &EventStore {
        &self.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
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
