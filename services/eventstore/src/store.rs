//! [`EventStore`]: one API over both backends, the live feed and chain verification.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use sqlx::sqlite::SqlitePool;
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use crate::chain::{ChainBreak, ChainFault, ChainReport, ChainVerifier};
use crate::error::StoreError;
use crate::types::{
    AppendOutcome, GENESIS_HASH, LogHead, RecordedEvent, StreamAppend, StreamId, validate_batch,
};
use crate::{group, postgres, sqlite};

static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");
static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("../../migrations/sqlite");

/// How a backend's append attempt ended, before the store resolves repeats and races.
pub(crate) enum AppendAttempt {
    Written(Vec<RecordedEvent>),
    /// Some event ids are stored already: a repeat of an earlier append, or a misuse.
    AlreadyStored,
    /// A concurrent writer took a version this append expected to write.
    VersionRace,
}

/// The store's connection pool, for the read models that live beside the log in the same
/// database (projections). Writes to the log itself go through [`EventStore::append`] only.
#[derive(Debug, Clone, Copy)]
pub enum Pool<'a> {
    Postgres(&'a PgPool),
    Sqlite(&'a SqlitePool),
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Postgres,
    Sqlite,
}

impl BackendKind {
    /// Chooses the backend from the URL scheme: `sqlite:` or `postgres://` / `postgresql://`.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(BackendKind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(BackendKind::Postgres)
        } else {
            Err(StoreError::InvalidArgument(format!(
                "database URL {} must start with sqlite: or postgres://",
                redact_url(url)
            )))
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Postgres => "postgres",
            BackendKind::Sqlite => "sqlite",
        }
    }
}

/// How an append ended, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendResult {
    Written,
    AlreadyStored,
    Conflict,
    Failed,
}

impl AppendResult {
    pub fn as_str(self) -> &'static str {
        match self {
            AppendResult::Written => "written",
            AppendResult::AlreadyStored => "already_stored",
            AppendResult::Conflict => "conflict",
            AppendResult::Failed => "failed",
        }
    }
}

/// Told about every append; the server turns this into metrics. The store knows no metrics
/// library.
pub trait StoreObserver: Send + Sync + 'static {
    fn append_finished(
        &self,
        backend: BackendKind,
        events: usize,
        elapsed: Duration,
        result: AppendResult,
    );
}

/// Tuning knobs; the defaults suit the service.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// How long a waiting subscriber sleeps before it polls even without a wake-up.
    pub poll_interval: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            poll_interval: Duration::from_secs(1),
        }
    }
}

#[derive(Clone)]
enum Backend {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// The writer task's side of the store: the backend, and the head watch it moves on every
/// commit itself, so subscribers and the projector hear of an append whose caller stopped
/// waiting for it just the same. Weak, so the task does not keep a dropped store alive.
struct LogWriter {
    backend: Backend,
    inner: std::sync::Weak<Inner>,
    /// PostgreSQL: the head this writer wrote last (see `postgres::append_group`).
    last_written: postgres::LastWritten,
}

impl group::GroupWriter for LogWriter {
    async fn write_group(
        &self,
        batches: &[&[StreamAppend]],
        waited_for: group::WaitedFor<'_>,
    ) -> Result<Vec<Result<AppendAttempt, StoreError>>, StoreError> {
        let answers = match &self.backend {
            Backend::Postgres(p) => {
                postgres::append_group(p, batches, waited_for, &self.last_written).await
            }
            Backend::Sqlite(p) => sqlite::append_group(p, batches, waited_for).await,
        }?;
        if let (Some(last), Some(inner)) = (group::last_written(&answers), self.inner.upgrade()) {
            advance(&inner.head_tx, last.position);
        }
        Ok(answers)
    }
}

struct Inner {
    backend: Backend,
    /// The highest position known to be committed; woken on every commit.
    head_tx: watch::Sender<u64>,
    options: StoreOptions,
    observer: std::sync::RwLock<Option<Arc<dyn StoreObserver>>>,
    listener: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// PostgreSQL: the writer task's own connection pool (see `postgres::writer_pool`), made
    /// anew with each writer: a writer stops when its runtime ends, and the connections it
    /// opened belong to that runtime.
    writer_pool: std::sync::Mutex<Option<PgPool>>,
    /// The queue of the writer task every append goes through (see [`crate::group`]).
    writer: std::sync::Mutex<Option<mpsc::UnboundedSender<group::Job>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(task) = self.listener.lock().ok().and_then(|mut l| l.take()) {
            task.abort();
        }
    }
}

/// A connection idle longer than this is pinged before it is handed out.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// Pool settings for PostgreSQL. sqlx by default pings every connection before handing it
/// out: a round trip before every query, a third of those of a status report (mutations over
/// HTTP went from 1,660 to 1,930 a second without it). Instead, a connection is checked only
/// when it may have died while nobody used it:
///
/// - a tokio runtime that opened connections of this pool ended since the connection went idle:
///   the connection is closed and a new one opened. Its socket may belong to that runtime,
///   whose I/O driver is gone, and a ping cannot tell: tokio tries a read or write on the
///   socket directly while its last readiness says it can, so a ping answered quickly passes,
///   and the next query that has to wait fails ("the Tokio context is being shut down"). This
///   happens to a store shared by tests on their own runtimes, or when a worker restarts.
/// - it has been idle for [`PING_WHEN_IDLE_FOR`]: it is pinged (a database restart cuts idle
///   connections, and a cut connection fails its ping).
///
/// A connection cut while in use (the database restarted, or its runtime ended) fails its query,
/// which reaches the caller as `Unavailable` (safe to retry); sqlx pings it when it is released
/// and discards it if the ping fails.
pub(crate) fn pg_pool_options() -> PgPoolOptions {
    let runtimes = Arc::new(RuntimeWatch::new());
    let on_connect = runtimes.clone();
    PgPoolOptions::new()
        .test_before_acquire(false)
        .after_connect(move |_, _| {
            on_connect.watch_current();
            Box::pin(async { Ok(()) })
        })
        .before_acquire(move |conn, meta| {
            let keep = !runtimes.one_ended_in_the_last(meta.idle_for);
            let ping = keep && meta.idle_for >= PING_WHEN_IDLE_FOR;
            Box::pin(async move {
                if ping {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(keep)
            })
        })
}

/// Which tokio runtimes opened connections of a pool, and when one of them last ended.
struct RuntimeWatch {
    watched: std::sync::Mutex<HashSet<tokio::runtime::Id>>,
    since: Instant,
    /// Microseconds from `since` to the last end seen, plus one; 0: none yet.
    last_end_us: std::sync::atomic::AtomicU64,
}

impl RuntimeWatch {
    fn new() -> Self {
        Self {
            watched: Default::default(),
            since: Instant::now(),
            last_end_us: Default::default(),
        }
    }

    fn now_us(&self) -> u64 {
        self.since.elapsed().as_micros() as u64 + 1
    }

    /// Starts watching the current runtime unless it is watched already: a task that never
    /// finishes, dropped (and so noting the end) when its runtime shuts down.
    fn watch_current(self: &Arc<Self>) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let id = handle.id();
        let mut watched = self
            .watched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !watched.insert(id) {
            return;
        }
        struct Ended(std::sync::Weak<RuntimeWatch>, tokio::runtime::Id);
        impl Drop for Ended {
            fn drop(&mut self) {
                if let Some(watch) = self.0.upgrade() {
                    let now = watch.now_us();
                    watch
                        .last_end_us
                        .store(now, std::sync::atomic::Ordering::Relaxed);
                    if let Ok(mut watched) = watch.watched.lock() {
                        watched.remove(&self.1);
                    }
                }
            }
        }
        let guard = Ended(Arc::downgrade(self), id);
        handle.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        });
    }

    /// Whether a watched runtime ended within `window` from now (a millisecond more, so that
    /// an end and an idle start read off different clocks a moment apart count as overlapping).
    fn one_ended_in_the_last(&self, window: Duration) -> bool {
        let last = self.last_end_us.load(std::sync::atomic::Ordering::Relaxed);
        let window = window.as_micros() as u64 + 1_000;
        last != 0 && self.now_us().saturating_sub(last) <= window
    }
}

/// The append-only, hash-chained event log. Cheap to clone; clones share one pool.
#[derive(Clone)]
pub struct EventStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStore")
            .field("backend", &self.backend_kind())
            .finish_non_exhaustive()
    }
}

impl EventStore {
    /// Connects, applies pending migrations, and starts the live feed.
    pub async fn connect(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
        let store = Self::connect_without_migrating(url, options).await?;
        store.migrate().await?;
        store.start_feed().await?;
        // On the connecting runtime (the server's main one), not on whichever runtime
        // happens to append first.
        store.writer();
        Ok(store)
    }

    /// Connects without touching the schema (for `readyz` checks and tools).
    pub async fn connect_without_migrating(
        url: &str,
        options: StoreOptions,
    ) -> Result<Self, StoreError> {
        let backend = match BackendKind::from_url(url)? {
            BackendKind::Postgres => Backend::Postgres(
                pg_pool_options()
                    .max_connections(options.max_connections)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect(url)
                    .await?,
            ),
            BackendKind::Sqlite => {
                Backend::Sqlite(sqlite::connect(url, options.max_connections).await?)
            }
        };
        let (head_tx, _) = watch::channel(0);
        Ok(Self {
            inner: Arc::new(Inner {
                backend,
                head_tx,
                options,
                observer: std::sync::RwLock::new(None),
                listener: std::sync::Mutex::new(None),
                writer_pool: std::sync::Mutex::new(None),
                writer: std::sync::Mutex::new(None),
            }),
        })
    }

    pub fn backend_kind(&self) -> BackendKind {
        match self.inner.backend {
            Backend::Postgres(_) => BackendKind::Postgres,
            Backend::Sqlite(_) => BackendKind::Sqlite,
        }
    }

    /// The pool, for projections that keep their rows in the same database.
    pub fn pool(&self) -> Pool<'_> {
        match &self.inner.backend {
            Backend::Postgres(p) => Pool::Postgres(p),
            Backend::Sqlite(p) => Pool::Sqlite(p),
        }
    }

    pub fn set_observer(&self, observer: Arc<dyn StoreObserver>) {
        if let Ok(mut o) = self.inner.observer.write() {
            *o = Some(observer);
        }
    }

    /// Applies the embedded migrations for this backend (idempotent). Migrations a newer
    /// version of the service has applied are tolerated: they are forward-only and additive,
    /// so during a rolling upgrade (or a rollback) an older binary keeps running on them.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.inner.backend {
            Backend::Postgres(p) => {
                let mut m = sqlx::migrate!("../../migrations/postgres");
                m.set_ignore_missing(true);
                m.run(p).await?
            }
            Backend::Sqlite(p) => {
                let mut m = sqlx::migrate!("../../migrations/sqlite");
                m.set_ignore_missing(true);
                m.run(p).await?
            }
        }
        Ok(())
    }

    /// Ready means: the database answers and every embedded migration is applied.
    pub async fn readiness(&self) -> Result<(), StoreError> {
        let (applied, migrator) = match &self.inner.backend {
            Backend::Postgres(p) => (postgres::applied_migrations(p).await?, &POSTGRES_MIGRATOR),
            Backend::Sqlite(p) => (sqlite::applied_migrations(p).await?, &SQLITE_MIGRATOR),
        };
        let missing: Vec<i64> = migrator
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Unavailable(format!(
                "migrations not applied: {missing:?}"
            )))
        }
    }

    /// Appends events to one or more streams in one transaction: all of them or none.
    ///
    /// Each stream must be at its expected version, else [`StoreError::Conflict`] and nothing is
    /// written. If every event id is stored already, this is a repeat: the events as first
    /// recorded are returned with `already_stored = true` and nothing is written.
    ///
    /// Appends of one process are committed in groups (see [`crate::group`]): what arrives
    /// while a commit is in flight shares the next one.
    pub async fn append(&self, batch: Vec<StreamAppend>) -> Result<AppendOutcome, StoreError> {
        let started = Instant::now();
        let count = batch.iter().map(|s| s.events.len()).sum();
        let result = self.append_inner(batch.into()).await;
        let kind = match &result {
            Ok(o) if o.already_stored => AppendResult::AlreadyStored,
            Ok(_) => AppendResult::Written,
            Err(StoreError::Conflict { .. }) => AppendResult::Conflict,
            Err(_) => AppendResult::Failed,
        };
        let observer = self.inner.observer.read().ok().and_then(|o| o.clone());
        if let Some(o) = observer {
            o.append_finished(self.backend_kind(), count, started.elapsed(), kind);
        }
        result
    }

    async fn append_inner(&self, batch: Arc<[StreamAppend]>) -> Result<AppendOutcome, StoreError> {
        validate_batch(&batch)?;
        let (reply, answer) = oneshot::channel();
        self.writer()
            .send(group::Job {
                batch: batch.clone(),
                reply,
            })
            .map_err(|_| StoreError::Unavailable("the store's writer has stopped".into()))?;
        // A writer that dies mid-group (its runtime shut down) drops the reply: the outcome is
        // unknown, and a retry with the same event ids is safe.
        let attempt = answer.await.map_err(|_| {
            StoreError::Unavailable("the append was interrupted; retry it".into())
        })??;
        let batch = &*batch;
        match attempt {
            AppendAttempt::Written(events) => {
                let last = events.last().map(|e| e.position).unwrap_or(0);
                advance(&self.inner.head_tx, last);
                Ok(AppendOutcome {
                    events,
                    already_stored: false,
                })
            }
            AppendAttempt::AlreadyStored => self.resolve_repeat(batch).await,
            // The version may have been taken by this very append, committed by another
            // process or by an earlier attempt whose answer was lost: on PostgreSQL the primary
            // key is checked before `event_id`, so a duplicate that slipped past the check
            // surfaces as a version race. Stored ids make it a repeat, not a conflict.
            AppendAttempt::VersionRace => {
                if self
                    .events_by_id(&group::event_ids(&[batch]))
                    .await?
                    .is_empty()
                {
                    Err(self.resolve_race(batch).await)
                } else {
                    self.resolve_repeat(batch).await
                }
            }
        }
    }

    /// The writer task's queue, starting a writer on the current runtime if there is none or
    /// the last one stopped (its runtime ended).
    fn writer(&self) -> mpsc::UnboundedSender<group::Job> {
        let mut slot = self
            .inner
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match slot.as_ref() {
            Some(tx) if !tx.is_closed() => tx.clone(),
            _ => {
                let backend = match &self.inner.backend {
                    Backend::Postgres(p) => {
                        let pool = postgres::writer_pool(p);
                        if let Ok(mut slot) = self.inner.writer_pool.lock() {
                            *slot = Some(pool.clone());
                        }
                        Backend::Postgres(pool)
                    }
                    Backend::Sqlite(p) => Backend::Sqlite(p.clone()),
                };
                let tx = group::spawn_writer(LogWriter {
                    backend,
                    inner: Arc::downgrade(&self.inner),
                    last_written: Default::default(),
                });
                *slot = Some(tx.clone());
                tx
            }
        }
    }

    /// Appends already-recorded events exactly as they were recorded elsewhere — position,
    /// ids, stream and version, type, schema version, the canonical payload text, actor,
    /// reason, correlation and causation ids, both timestamps, `prev_hash` and `hash` — for
    /// re-importing an audit extract or moving a log between databases. Returns the number of
    /// events written.
    ///
    /// Refused with [`StoreError::InvalidArgument`], writing nothing, unless: the events have
    /// consecutive positions; each hash matches its recomputed content hash
    /// ([`crate::recompute_hash`]) and each `prev_hash` the hash before it; each stream's
    /// versions continue the version stored for it; and the store's head is at exactly
    /// `events[0].position - 1` with the hash `events[0].prev_hash` (so an empty store accepts an
    /// extract that starts at position 1). The content is checked before a transaction starts,
    /// the head and stream versions under the head lock; all rows and the new head are written
    /// in one transaction.
    pub async fn import_verbatim(&self, events: &[RecordedEvent]) -> Result<u64, StoreError> {
        crate::import::check_extract(events)?;
        match &self.inner.backend {
            Backend::Postgres(p) => postgres::import_verbatim(p, events).await?,
            Backend::Sqlite(p) => sqlite::import_verbatim(p, events).await?,
        }
        let last = events.last().map(|e| e.position).unwrap_or(0);
        advance(&self.inner.head_tx, last);
        Ok(events.len() as u64)
    }

    /// A repeat is accepted only if it is the same append: every id stored, each in the stream
    /// the batch names.
    async fn resolve_repeat(&self, batch: &[StreamAppend]) -> Result<AppendOutcome, StoreError> {
        let ids = group::event_ids(&[batch]);
        let stored = self.events_by_id(&ids).await?;
        let same_streams = batch.iter().all(|s| {
            s.events.iter().all(|e| {
                stored
                    .iter()
                    .any(|r| r.event_id == e.event_id && r.stream == s.stream)
            })
        });
        if stored.len() == ids.len() && same_streams {
            Ok(AppendOutcome {
                events: stored,
                already_stored: true,
            })
        } else {
            Err(StoreError::IdempotencyMismatch(format!(
                "{} of {} event ids are stored, not all in the streams named",
                stored.len(),
                ids.len()
            )))
        }
    }

    async fn resolve_race(&self, batch: &[StreamAppend]) -> StoreError {
        for s in batch {
            match self.stream_version(&s.stream).await {
                Ok(actual) if actual != s.expected.0 => {
                    return StoreError::Conflict {
                        stream: s.stream.clone(),
                        expected: s.expected.0,
                        actual,
                    };
                }
                Ok(_) => {}
                Err(e) => return e,
            }
        }
        let s = &batch[0];
        StoreError::Conflict {
            stream: s.stream.clone(),
            expected: s.expected.0,
            actual: s.expected.0,
        }
    }

    async fn events_by_id(&self, ids: &[Uuid]) -> Result<Vec<RecordedEvent>, StoreError> {
        match &self.inner.backend {
            Backend::Postgres(p) => postgres::events_by_id(p, ids).await,
            Backend::Sqlite(p) => sqlite::events_by_id(p, ids).await,
        }
    }

    /// The current version of a stream; 0 if it has no events.
    pub async fn stream_version(&self, stream: &StreamId) -> Result<u64, StoreError> {
        match &self.inner.backend {
            Backend::Postgres(p) => postgres::stream_version(p, stream).await,
            Backend::Sqlite(p) => sqlite::stream_version(p, stream).await,
        }
    }

    /// A stream's events with a version above `after_version`, in version order.
    pub async fn read_stream(
        &self,
        stream: &StreamId,
        after_version: u64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_stream_as(stream, after_version, true).await
    }

    /// [`Self::read_stream`] without parsing the payloads: each event's `payload` is
    /// `Value::Null` and `payload_text` holds its JSON. For replay, which decodes the text
    /// straight into domain events (parsing into a `Value` first costs as much as the read).
    pub async fn read_stream_unparsed(
        &self,
        stream: &StreamId,
        after_version: u64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_stream_as(stream, after_version, false).await
    }

    async fn read_stream_as(
        &self,
        stream: &StreamId,
        after_version: u64,
        parse_payload: bool,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        match &self.inner.backend {
            Backend::Postgres(p) => {
                postgres::read_stream(p, stream, after_version, parse_payload).await
            }
            Backend::Sqlite(p) => {
                sqlite::read_stream(p, stream, after_version, parse_payload).await
            }
        }
    }

    /// Every event written by one command (its id is their causation id), in position order.
    pub async fn read_by_causation(
        &self,
        causation_id: Uuid,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        match &self.inner.backend {
            Backend::Postgres(p) => postgres::read_by_causation(p, causation_id).await,
            Backend::Sqlite(p) => sqlite::read_by_causation(p, causation_id).await,
        }
    }

    /// The ids of every stream of a type, sorted.
    pub async fn stream_ids(&self, stream_type: &str) -> Result<Vec<String>, StoreError> {
        match &self.inner.backend {
            Backend::Postgres(p) => postgres::stream_ids(p, stream_type).await,
            Backend::Sqlite(p) => sqlite::stream_ids(p, stream_type).await,
        }
    }

    /// Up to `limit` events of the global log after `after_position`, in position order.
    /// Gap-free: once a position has been returned, no event at a lower one appears later.
    pub async fn read_all(
        &self,
        after_position: u64,
        limit: u32,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_page(after_position, limit, true).await
    }

    /// [`Self::read_all`] without parsing the payloads (see [`Self::read_stream_unparsed`]).
    pub async fn read_all_unparsed(
        &self,
        after_position: u64,
        limit: u32,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_page(after_position, limit, false).await
    }

    async fn read_page(
        &self,
        after_position: u64,
        limit: u32,
        parse_payload: bool,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        match &self.inner.backend {
            Backend::Postgres(p) => {
                postgres::read_all(p, after_position, limit, parse_payload).await
            }
            Backend::Sqlite(p) => sqlite::read_all(p, after_position, limit, parse_payload).await,
        }
    }

    /// The last position recorded at or before `t` (0: none). `recorded_at` never decreases
    /// along the log, so the events up to this position are exactly those recorded by `t`.
    pub async fn position_at(&self, t: chrono::DateTime<chrono::Utc>) -> Result<u64, StoreError> {
        match &self.inner.backend {
            Backend::Postgres(p) => postgres::position_at(p, t).await,
            Backend::Sqlite(p) => sqlite::position_at(p, t).await,
        }
    }

    /// The tip of the chain: the last position and its hash (0 and the genesis hash when empty).
    pub async fn head(&self) -> Result<LogHead, StoreError> {
        match &self.inner.backend {
            Backend::Postgres(p) => postgres::head(p).await,
            Backend::Sqlite(p) => sqlite::head(p).await,
        }
    }

    /// The highest committed position this process knows of; changes on every commit here, and
    /// on commits elsewhere as notifications or polls arrive.
    pub fn watch_head(&self) -> watch::Receiver<u64> {
        self.inner.head_tx.subscribe()
    }

    /// A catch-up subscription to the global log starting after `after_position`.
    pub fn subscribe(&self, after_position: u64) -> crate::feed::Subscription {
        crate::feed::Subscription::new(
            self.clone(),
            after_position,
            self.inner.options.poll_interval,
        )
    }

    /// Seeds the head watch and keeps it current with commits of other processes: on
    /// PostgreSQL by LISTEN/NOTIFY (re-reading the head whenever the listener reconnects), on
    /// SQLite by polling the head row every poll interval.
    async fn start_feed(&self) -> Result<(), StoreError> {
        let head = self.head().await?;
        self.inner.head_tx.send_replace(head.position);
        let weak = Arc::downgrade(&self.inner);
        let task = match &self.inner.backend {
            Backend::Postgres(pool) => {
                let mut listener = PgListener::connect_with(pool).await?;
                listener.listen(postgres::NOTIFY_CHANNEL).await?;
                tokio::spawn(async move {
                    loop {
                        let note = listener.try_recv().await;
                        let Some(inner) = weak.upgrade() else { return };
                        match note {
                            Ok(Some(n)) => {
                                if let Ok(p) = n.payload().parse::<u64>() {
                                    advance(&inner.head_tx, p);
                                }
                            }
                            // The connection dropped and notifications may be lost.
                            Ok(None) | Err(_) => {
                                let store = EventStore { inner };
                                match store.head().await {
                                    Ok(h) => advance(&store.inner.head_tx, h.position),
                                    Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                                }
                            }
                        }
                    }
                })
            }
            Backend::Sqlite(_) => {
                let interval = self.inner.options.poll_interval;
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(interval).await;
                        let Some(inner) = weak.upgrade() else { return };
                        let store = EventStore { inner };
                        if let Ok(h) = store.head().await {
                            advance(&store.inner.head_tx, h.position);
                        }
                    }
                })
            }
        };
        if let Ok(mut l) = self.inner.listener.lock() {
            *l = Some(task);
        }
        Ok(())
    }

    /// Checks the hash chain and stream versions from `from` (1 = the whole log) to the head.
    /// `progress(checked, total)` is called after every page. Reading failures other than
    /// damaged rows are returned as errors; damage is reported in the [`ChainReport`].
    pub async fn verify_chain(
        &self,
        from: u64,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<ChainReport, StoreError> {
        let from = from.max(1);
        let head = self.head().await?;
        let report = |verifier: &ChainVerifier, first_break| ChainReport {
            from,
            verified_to: verifier.last_position(),
            events_checked: verifier.checked(),
            first_break,
        };
        let verifier = if from == 1 {
            ChainVerifier::new(1, GENESIS_HASH.to_owned(), Default::default())
        } else {
            let (prev, versions) = match &self.inner.backend {
                Backend::Postgres(p) => postgres::chain_state_before(p, from).await?,
                Backend::Sqlite(p) => sqlite::chain_state_before(p, from).await?,
            };
            let Some(prev) = prev else {
                let v = ChainVerifier::new(from, String::new(), versions);
                return Ok(report(
                    &v,
                    Some(ChainBreak {
                        position: from - 1,
                        fault: ChainFault::PositionGap {
                            expected: from - 1,
                            found: 0,
                        },
                    }),
                ));
            };
            ChainVerifier::new(from, prev, versions)
        };
        let total = head.position.saturating_sub(from - 1);
        let (verifier, fault) = match &self.inner.backend {
            Backend::Postgres(pool) => {
                crate::pgcopy::verify(pool, verifier, head.position, total, &mut progress).await?
            }
            Backend::Sqlite(_) => {
                self.verify_by_pages(verifier, head.position, total, &mut progress)
                    .await?
            }
        };
        if fault.is_some() {
            return Ok(report(&verifier, fault));
        }
        // Rows past the head, or a head past the rows, mean the tail was cut or forged.
        let tail = self.read_all(head.position, 1).await;
        let extra = match tail {
            Ok(rows) => rows.first().map(|e| (e.position, e.hash.clone())),
            Err(StoreError::Corrupt(_)) => Some((head.position + 1, String::new())),
            Err(e) => return Err(e),
        };
        let current_head = self.head().await?;
        let forged_tail = extra.filter(|(p, _)| *p > current_head.position);
        if verifier.last_position() != head.position
            || verifier.last_hash() != head.hash
            || forged_tail.is_some()
        {
            let (last_position, last_hash) = forged_tail
                .unwrap_or_else(|| (verifier.last_position(), verifier.last_hash().to_owned()));
            return Ok(report(
                &verifier,
                Some(ChainBreak {
                    position: last_position.max(head.position),
                    fault: ChainFault::HeadMismatch {
                        head_position: head.position,
                        head_hash: head.hash,
                        last_position,
                        last_hash,
                    },
                }),
            ));
        }
        Ok(report(&verifier, None))
    }

    /// Chain verification by pages of [`RecordedEvent`]s (SQLite): the next page is read while
    /// this one is hashed on a blocking thread, so the database and the hashing work side by
    /// side. Checks the events after `verifier.last_position()` up to `to`.
    async fn verify_by_pages(
        &self,
        mut verifier: ChainVerifier,
        to: u64,
        total: u64,
        progress: &mut impl FnMut(u64, u64),
    ) -> Result<(ChainVerifier, Option<ChainBreak>), StoreError> {
        const PAGE: u32 = 5000;
        let mut page = if verifier.last_position() < to {
            // The hash covers the payload's text: verifying never needs it parsed.
            self.read_page(verifier.last_position(), PAGE, false).await
        } else {
            Ok(Vec::new())
        };
        loop {
            let current = match page {
                Ok(p) => p,
                Err(StoreError::Corrupt(msg)) => {
                    let position = verifier.last_position() + 1;
                    let fault = ChainFault::Unreadable(msg);
                    return Ok((verifier, Some(ChainBreak { position, fault })));
                }
                Err(e) => return Err(e),
            };
            let Some(last) = current.last().map(|e| e.position) else {
                break;
            };
            let more = last < to;
            let check = tokio::task::spawn_blocking(move || {
                let outcome = current
                    .iter()
                    .take_while(|e| e.position <= to)
                    .try_for_each(|e| verifier.check(e));
                (verifier, outcome)
            });
            let next = async {
                if more {
                    self.read_page(last, PAGE, false).await
                } else {
                    Ok(Vec::new())
                }
            };
            let (checked, next) = tokio::join!(check, next);
            let (checked_verifier, outcome) = checked
                .map_err(|e| StoreError::Unavailable(format!("chain verification stopped: {e}")))?;
            verifier = checked_verifier;
            if let Err(b) = outcome {
                return Ok((verifier, Some(b)));
            }
            progress(verifier.checked(), total);
            if !more {
                break;
            }
            page = next;
        }
        Ok((verifier, None))
    }

    /// SQLite only: writes a transactionally consistent copy of the whole database to `path`
    /// while the service keeps running (`VACUUM INTO`). The file must not exist yet.
    pub async fn backup_sqlite_to(&self, path: &std::path::Path) -> Result<(), StoreError> {
        let Backend::Sqlite(pool) = &self.inner.backend else {
            return Err(StoreError::InvalidArgument(
                "backup_sqlite_to is for SQLite; back PostgreSQL up with pg_dump".into(),
            ));
        };
        let target = path.to_str().ok_or_else(|| {
            StoreError::InvalidArgument(format!("{} is not a UTF-8 path", path.display()))
        })?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(pool)
            .await?;
        Ok(())
    }

    /// Stops the live feed and closes the pool; in-flight queries finish first.
    pub async fn close(&self) {
        // The PostgreSQL listener holds a pooled connection; closing waits for it otherwise.
        if let Some(task) = self.inner.listener.lock().ok().and_then(|mut l| l.take()) {
            task.abort();
            let _ = task.await;
        }
        if let Ok(mut writer) = self.inner.writer.lock() {
            writer.take();
        }
        let writer_pool = self
            .inner
            .writer_pool
            .lock()
            .ok()
            .and_then(|mut p| p.take());
        if let Some(p) = writer_pool {
            p.close().await;
        }
        match &self.inner.backend {
            Backend::Postgres(p) => p.close().await,
            Backend::Sqlite(p) => p.close().await,
        }
    }
}

/// The database file of a `sqlite:` URL.
pub fn sqlite_file(url: &str) -> Result<std::path::PathBuf, StoreError> {
    use std::str::FromStr;
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::InvalidArgument(format!("bad SQLite URL: {e}")))?;
    Ok(options.get_filename().to_path_buf())
}

/// Moves the known head forward (never back) and wakes subscribers if it moved.
fn advance(head_tx: &watch::Sender<u64>, position: u64) {
    head_tx.send_if_modified(|h| {
        let newer = position > *h;
        if newer {
            *h = position;
        }
        newer
    });
}

/// Masks the password in a database URL, for logs and error messages.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}://{}:***@{}",
                    &url[..scheme_end],
                    &userinfo[..colon],
                    &rest[at + 1..]
                ),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_idle_across_the_end_of_a_runtime_that_opened_connections_is_replaced() {
        // Given a pool's watch that saw a runtime open a connection, and that runtime ended
        let watch = Arc::new(RuntimeWatch::new());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async { watch.watch_current() });
        let idle_since_before_the_end = Instant::now();
        std::thread::sleep(Duration::from_millis(5));
        drop(runtime);
        std::thread::sleep(Duration::from_millis(5));

        // Then a connection idle since before the end is not kept
        assert!(watch.one_ended_in_the_last(idle_since_before_the_end.elapsed()));
        // And one that went idle after it (it was released, and so checked, since) is kept
        std::thread::sleep(Duration::from_millis(5));
        assert!(!watch.one_ended_in_the_last(Duration::from_micros(100)));
        // And a watch that saw no runtime end keeps everything
        assert!(!RuntimeWatch::new().one_ended_in_the_last(Duration::from_secs(3600)));
    }

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact_url("postgres://styr:s3cret@db:5432/styr"),
            "postgres://styr:***@db:5432/styr"
        );
        assert_eq!(
            redact_url("postgres://styr@db/styr"),
            "postgres://styr@db/styr"
        );
        assert_eq!(
            redact_url("sqlite://./data/styr.db"),
            "sqlite://./data/styr.db"
        );
    }

    #[test]
    fn backend_follows_url_scheme() {
        assert_eq!(
            BackendKind::from_url("sqlite://x.db").unwrap(),
            BackendKind::Sqlite
        );
        assert_eq!(
            BackendKind::from_url("postgresql://h/db").unwrap(),
            BackendKind::Postgres
        );
        assert!(BackendKind::from_url("mysql://h/db").is_err());
    }
}
