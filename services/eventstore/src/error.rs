//! The store's error type: rule-like refusals (conflict, bad input) apart from infrastructure
//! failures (database unreachable), so callers know what to retry.

use thiserror::Error;

use crate::types::StreamId;

#[derive(Debug, Error)]
pub enum StoreError {
    /// Optimistic concurrency: the stream moved on since the writer read it. Reload and retry.
    #[error("stream {stream} is at version {actual}, but the append expected {expected}")]
    Conflict {
        stream: StreamId,
        expected: u64,
        actual: u64,
    },

    /// Some, but not all, of the appended event ids are stored already, or they are stored in
    /// other streams: this is not a retry of an earlier append.
    #[error("event ids of this append are already stored for a different append: {0}")]
    IdempotencyMismatch(String),

    #[error("invalid append: {0}")]
    InvalidArgument(String),

    /// The database cannot be reached or timed out; retrying later may succeed.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),

    /// Stored data that cannot be read back as written (a damaged or tampered row).
    #[error("stored data is damaged: {0}")]
    Corrupt(String),

    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),

    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// True for failures where the same request may succeed later unchanged.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable(_) | StoreError::Conflict { .. }
        )
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
            sqlx::Error::Database(ref db) if is_unavailable_code(db.code().as_deref()) => {
                StoreError::Unavailable(e.to_string())
            }
            other => StoreError::Database(other),
        }
    }
}

/// PostgreSQL SQLSTATEs that mean "the server is going away or not accepting us right now"
/// (class 08 connection exceptions, 57P01-57P03 shutdown/cannot connect now, 53300 too many
/// connections), and SQLite's SQLITE_BUSY (5) / SQLITE_LOCKED (6).
fn is_unavailable_code(code: Option<&str>) -> bool {
    match code {
        Some(c) => {
            c.starts_with("08") || matches!(c, "57P01" | "57P02" | "57P03" | "53300" | "5" | "6")
        }
        None => false,
    }
}
