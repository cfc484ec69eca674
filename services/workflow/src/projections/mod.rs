//! Read models built from the event log: the projector and the assignment board.
//!
//! The projector reads the global log from its stored checkpoint. Each batch runs in one
//! transaction that first locks the checkpoint row (PostgreSQL `FOR UPDATE`, SQLite
//! `BEGIN IMMEDIATE`), re-reads the checkpoint, applies the events after it, and moves the
//! checkpoint — so every event takes effect exactly once, also after a crash and also with
//! several servers projecting at the same time. A rebuild empties the rows, resets the
//! checkpoint to 0 and projects again; rows are derived from aggregate state alone, so the
//! result is the same as building incrementally.

mod board;
mod sql;

use std::collections::HashMap;
use std::time::Duration;

use chrono::NaiveDate;
use styr_domain::Aggregate;
use styr_domain::assignment::Assignment;
use styr_eventstore::{EventStore, RecordedEvent, StreamId};
use tokio::sync::{Mutex, watch};

pub use board::{BoardRow, BoardStatus, light_name};

use crate::error::WorkflowError;

/// How many log events one projector transaction applies.
const BATCH: u32 = 500;

/// Who may see which rows: the same rule for lists, counts and single rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Auditors: everything.
    All,
    /// A ministry user: the agencies their ministry steers.
    Ministry(String),
    /// An agency user: their own agency.
    Agency(String),
}

impl Scope {
    /// What an actor may read: auditors everything, ministry users their ministry's agencies,
    /// agency users their own agency; administrators (reference data only) nothing.
    pub fn of(actor: &styr_domain::Actor) -> Option<Scope> {
        use styr_domain::Role;
        match actor.role {
            Role::Auditor => Some(Scope::All),
            Role::Ministry => Some(Scope::Ministry(actor.organisation.to_string())),
            Role::Agency => Some(Scope::Agency(actor.organisation.to_string())),
            Role::Admin => None,
        }
    }

    /// Whether a document of `ministry` and `agency` is visible.
    pub fn can_see(&self, ministry: &str, agency: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Ministry(m) => m == ministry,
            Scope::Agency(a) => a == agency,
        }
    }
}

/// The board's filters; `None` or empty means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoardFilter {
    pub year: Option<i32>,
    pub ministry: Option<String>,
    pub agency: Option<String>,
    pub department: Option<String>,
    pub goal: Option<String>,
    pub statuses: Vec<BoardStatus>,
    pub traffic_light: Option<String>,
    /// Only overdue (or only not overdue) assignments, relative to `today`.
    pub overdue: Option<bool>,
    pub deadline_from: Option<NaiveDate>,
    pub deadline_to: Option<NaiveDate>,
    /// Case-insensitive search in reference, title and description.
    pub text: Option<String>,
    /// Only these assignments (empty: any).
    pub ids: Vec<String>,
}

impl BoardFilter {
    /// The same test the board's SQL applies, for rows computed in memory (as-of views).
    pub fn matches(&self, row: &BoardRow, today: NaiveDate) -> bool {
        let eq = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have == Some(w))
        };
        let active_overdue =
            row.lifecycle == "active" && row.next_deadline.is_some_and(|d| d < today);
        self.year.is_none_or(|y| i64::from(y) == row.year)
            && eq(&self.ministry, Some(&row.ministry))
            && eq(&self.agency, Some(&row.agency))
            && eq(&self.department, row.department.as_deref())
            && eq(&self.goal, row.goal.as_deref())
            && eq(&self.traffic_light, row.traffic_light.as_deref())
            && (self.statuses.is_empty() || self.statuses.contains(&row.status))
            && self.overdue.is_none_or(|o| o == active_overdue)
            && self
                .deadline_from
                .is_none_or(|f| row.next_deadline.is_some_and(|d| d >= f))
            && self
                .deadline_to
                .is_none_or(|t| row.next_deadline.is_some_and(|d| d <= t))
            && (self.ids.is_empty() || self.ids.contains(&row.assignment_id))
            && self
                .text
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .is_none_or(|t| row.search_text.contains(&t.to_lowercase()))
    }
}

/// Sorts rows as the board's SQL does: by the key with missing values last, then by id.
pub fn sort_rows(rows: &mut [BoardRow], sort: BoardSort, descending: bool) {
    rows.sort_by(|a, b| {
        let key = |r: &BoardRow| -> Option<String> {
            match sort {
                BoardSort::NextDeadline => r.next_deadline.map(|d| d.to_string()),
                BoardSort::Reference => r.reference.clone(),
                BoardSort::Title => Some(r.title.clone()),
                BoardSort::Updated => Some(format!("{:020}", r.updated_position)),
            }
        };
        let (ka, kb) = (key(a), key(b));
        let by_key = match (&ka, &kb) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Greater,
            (Some(_), None) => return std::cmp::Ordering::Less,
            (Some(x), Some(y)) => x.cmp(y),
        };
        let ord = by_key.then_with(|| a.assignment_id.cmp(&b.assignment_id));
        if descending { ord.reverse() } else { ord }
    });
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BoardSort {
    #[default]
    NextDeadline,
    Reference,
    Title,
    Updated,
}

/// One page of the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardQuery {
    pub scope: Scope,
    pub filter: BoardFilter,
    pub sort: BoardSort,
    pub descending: bool,
    pub offset: u64,
    pub limit: u32,
    /// "Overdue" means a deadline before this Oslo date.
    pub today: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardPage {
    pub rows: Vec<BoardRow>,
    /// All rows matching the filter, across pages.
    pub total: u64,
}

/// Builds and queries the read models. One per process; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Projections {
    store: EventStore,
    /// Aggregate states as of the last event projected, so a batch does not re-read streams.
    cache: Mutex<HashMap<StreamId, (Assignment, u64)>>,
    projected: watch::Sender<u64>,
}

impl Projections {
    pub fn new(store: EventStore) -> Self {
        Self {
            store,
            cache: Mutex::new(HashMap::new()),
            projected: watch::channel(0).0,
        }
    }

    /// Applies every event after the checkpoint; returns the new checkpoint.
    ///
    /// Each batch is read and turned into rows *before* the checkpoint is locked, so the
    /// locked write needs no second connection: on SQLite the lock is the database's single
    /// write lock, and writers queued behind it hold pooled connections, so a lock holder that
    /// asked the pool for another could wait for ever. The rows are written only if the
    /// checkpoint is still where the batch began; if another projector moved it meanwhile,
    /// the batch is dropped and read again from there (the cached states stay valid: they are
    /// a function of the log).
    pub async fn catch_up(&self) -> Result<u64, WorkflowError> {
        self.catch_up_past(None).await
    }

    /// [`Self::catch_up`], or nothing if, once this projector's turn comes, another caller
    /// has already projected `enough` (many requests waiting for their own writes would
    /// otherwise each ask the database for a batch that is not there).
    async fn catch_up_past(&self, enough: Option<u64>) -> Result<u64, WorkflowError> {
        let mut cache = self.cache.lock().await;
        let projected = *self.projected.borrow();
        if enough.is_some_and(|e| projected >= e) {
            return Ok(projected);
        }
        // Where this process got to; the stored checkpoint is never behind it. If another
        // projector went further, the first batch is refused and the stored one is read.
        let mut checkpoint = match projected {
            0 => sql::checkpoint(self.store.pool()).await?,
            p => p,
        };
        loop {
            let events = self.store.read_all_unparsed(checkpoint, BATCH).await?;
            let Some(last) = events.last().map(|e| e.position) else {
                self.projected.send_if_modified(|p| advance(p, checkpoint));
                return Ok(checkpoint);
            };
            // Each assignment's row once per batch, as of its last event in the batch.
            let mut touched: HashMap<&StreamId, &RecordedEvent> = HashMap::new();
            for event in &events {
                if self.advance_state(&mut cache, event).await? {
                    touched.insert(&event.stream, event);
                }
            }
            let mut rows: Vec<BoardRow> = touched
                .into_iter()
                .filter_map(|(stream, event)| {
                    let details = cache.get(stream)?.0.details.as_ref()?;
                    Some(BoardRow::derive(details, event.position, event.recorded_at))
                })
                .collect();
            rows.sort_by(|a, b| a.assignment_id.cmp(&b.assignment_id));
            if sql::commit_batch(self.store.pool(), checkpoint, last, &rows).await? {
                checkpoint = last;
                self.projected.send_if_modified(|p| advance(p, last));
            } else {
                checkpoint = sql::checkpoint(self.store.pool()).await?;
            }
        }
    }

    /// Empties every read model and projects the whole log again.
    pub async fn rebuild(&self) -> Result<u64, WorkflowError> {
        {
            let mut cache = self.cache.lock().await;
            cache.clear();
            sql::reset(self.store.pool()).await?;
        }
        self.projected.send_replace(0);
        self.catch_up().await
    }

    /// The checkpoint as stored (other processes may have moved it).
    pub async fn checkpoint(&self) -> Result<u64, WorkflowError> {
        Ok(sql::checkpoint(self.store.pool()).await?)
    }

    /// Waits until the read models include `position` (read-your-writes), projecting here if
    /// needed. Gives up after `timeout`.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> Result<(), WorkflowError> {
        if *self.projected.borrow() >= position {
            return Ok(());
        }
        let result = tokio::time::timeout(timeout, async {
            loop {
                if self.catch_up_past(Some(position)).await? >= position {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        match result {
            Ok(r) => r,
            Err(_) => Err(WorkflowError::Store(
                styr_eventstore::StoreError::Unavailable(format!(
                    "the read models did not reach position {position} in {timeout:?}"
                )),
            )),
        }
    }

    /// Keeps the read models current in the background: woken by every commit the store
    /// hears of, with a periodic pass as a fallback. Errors are logged and retried.
    pub fn spawn(self: std::sync::Arc<Self>) -> tokio::task::JoinHandle<()> {
        let mut head = self.store.watch_head();
        tokio::spawn(async move {
            loop {
                if let Err(e) = self.catch_up().await {
                    tracing::warn!(error = %e, "projector pass failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                let _ = tokio::time::timeout(Duration::from_secs(5), head.changed()).await;
            }
        })
    }

    /// The highest position this process has projected.
    pub fn projected(&self) -> u64 {
        *self.projected.borrow()
    }

    pub async fn board(&self, query: &BoardQuery) -> Result<BoardPage, WorkflowError> {
        Ok(sql::board(self.store.pool(), query).await?)
    }

    /// Rows per status for the dashboard, with the query's scope and filters except status.
    pub async fn status_counts(
        &self,
        query: &BoardQuery,
    ) -> Result<Vec<(BoardStatus, u64)>, WorkflowError> {
        Ok(sql::status_counts(self.store.pool(), query).await?)
    }

    /// One row, if it exists and the scope may see it.
    pub async fn board_row_by_id(
        &self,
        scope: &Scope,
        assignment_id: &str,
    ) -> Result<Option<BoardRow>, WorkflowError> {
        Ok(sql::row_by_id(self.store.pool(), scope, assignment_id).await?)
    }

    /// Every board row in id order (for comparing a rebuild with an incremental build).
    pub async fn dump_board(&self) -> Result<Vec<BoardRow>, WorkflowError> {
        Ok(sql::dump(self.store.pool()).await?)
    }

    /// Brings the cached state of `event`'s assignment to just after `event`: from the cache
    /// when it is exactly one version behind, from nothing when `event` is the stream's first
    /// (a rebuild meets every stream so, and reads none of them), else from the stream read
    /// up to the event's version. False for events of other streams.
    async fn advance_state(
        &self,
        cache: &mut HashMap<StreamId, (Assignment, u64)>,
        event: &RecordedEvent,
    ) -> Result<bool, WorkflowError> {
        if event.stream.stream_type() != Assignment::STREAM_TYPE {
            return Ok(false);
        }
        let decode = crate::audit::decode::<Assignment>;
        match cache.get_mut(&event.stream) {
            Some((state, version)) if *version + 1 == event.version => {
                state.evolve(&decode(event)?);
                *version = event.version;
            }
            None if event.version == 1 => {
                let mut state = Assignment::default();
                state.evolve(&decode(event)?);
                cache.insert(event.stream.clone(), (state, 1));
            }
            _ => {
                let mut state = Assignment::default();
                for r in self.store.read_stream_unparsed(&event.stream, 0).await? {
                    if r.version > event.version {
                        break;
                    }
                    state.evolve(&decode(&r)?);
                }
                cache.insert(event.stream.clone(), (state, event.version));
            }
        }
        Ok(true)
    }
}

fn advance(current: &mut u64, to: u64) -> bool {
    let moved = to > *current;
    if moved {
        *current = to;
    }
    moved
}
