//! What can go wrong running a command: a refusal by the domain (tell the user), a store
//! failure (maybe retry later), or damage in the log (tell an operator).

use styr_domain::{DomainError, EventDecodeError};
use styr_eventstore::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum WorkflowError {
    /// The domain refused the command; the message is for the user.
    #[error(transparent)]
    Domain(#[from] DomainError),

    #[error(transparent)]
    Store(#[from] StoreError),

    /// A stored event no longer decodes: an upcaster is missing or the row is damaged.
    #[error("event {version} of stream {stream} cannot be read: {source}")]
    Undecodable {
        stream: String,
        version: u64,
        #[source]
        source: EventDecodeError,
    },

    /// Other writers kept changing the stream; the command was not applied.
    #[error("stream {stream} is too busy: gave up after {attempts} attempts")]
    Contention { stream: String, attempts: u32 },

    #[error(transparent)]
    Checkpoint(#[from] crate::checkpoint::CheckpointError),

    #[error("invalid stream id: {0}")]
    BadStreamId(String),
}

impl WorkflowError {
    /// True when sending the same command again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            WorkflowError::Store(e) => e.is_retryable(),
            WorkflowError::Contention { .. } => true,
            _ => false,
        }
    }
}
