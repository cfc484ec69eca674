//! Catch-up subscriptions to the global log: read what is there, then wait for the next commit
//! (woken by the store's head watch, fed by LISTEN/NOTIFY on PostgreSQL and by the appending
//! process on SQLite) or for the poll interval, whichever comes first.

use std::time::Duration;

use futures_util::Stream;
use tokio::sync::watch;

use crate::error::StoreError;
use crate::store::EventStore;
use crate::types::RecordedEvent;

/// Reads the global log in order from a position, waiting for new events when caught up.
pub struct Subscription {
    store: EventStore,
    after: u64,
    head: watch::Receiver<u64>,
    poll_interval: Duration,
    page_size: u32,
}

impl Subscription {
    pub(crate) fn new(store: EventStore, after: u64, poll_interval: Duration) -> Self {
        let head = store.watch_head();
        Self {
            store,
            after,
            head,
            poll_interval,
            page_size: 500,
        }
    }

    /// The position of the last event handed out.
    pub fn position(&self) -> u64 {
        self.after
    }

    /// The next events after the current position; waits until there is at least one.
    pub async fn next_batch(&mut self) -> Result<Vec<RecordedEvent>, StoreError> {
        loop {
            // Mark the current head as seen before reading, so a commit that lands between the
            // read and the wait still wakes us.
            self.head.borrow_and_update();
            let batch = self.store.read_all(self.after, self.page_size).await?;
            if let Some(last) = batch.last() {
                self.after = last.position;
                return Ok(batch);
            }
            match tokio::time::timeout(self.poll_interval, self.head.changed()).await {
                Ok(Ok(())) | Err(_) => {}
                // The store is gone; fall back to polling.
                Ok(Err(_)) => tokio::time::sleep(self.poll_interval).await,
            }
        }
    }

    /// The subscription as a stream of single events.
    pub fn into_stream(self) -> impl Stream<Item = Result<RecordedEvent, StoreError>> + Send {
        futures_util::stream::unfold(
            (self, std::collections::VecDeque::new()),
            |(mut sub, mut buffered)| async move {
                if buffered.is_empty() {
                    match sub.next_batch().await {
                        Ok(batch) => buffered.extend(batch),
                        Err(e) => return Some((Err(e), (sub, buffered))),
                    }
                }
                let next = buffered.pop_front()?;
                Some((Ok(next), (sub, buffered)))
            },
        )
    }
}
