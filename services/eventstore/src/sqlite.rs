//! SQLite backend (the embedded default).
//!
//! Ordering: every append runs in a `BEGIN IMMEDIATE` transaction, which takes SQLite's single
//! write lock before the first read, so checks, position assignment, chaining and commit happen
//! for one writer at a time, also across processes sharing the file. WAL mode lets readers go
//! on meanwhile; `synchronous = FULL` makes a commit durable before it is acknowledged.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use crate::error::StoreError;
use crate::seal::{EVENT_COLUMNS, recorded_after};
use crate::store::AppendAttempt;
use crate::types::{
    Actor, LogHead, RecordedEvent, StreamAppend, StreamId, format_timestamp, parse_timestamp,
    truncate_to_micros,
};
use crate::{group, import};

pub(crate) async fn connect(url: &str, max_connections: u32) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::InvalidArgument(format!("bad SQLite URL: {e}")))?;
    let path = options.get_filename().to_path_buf();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Unavailable(format!("cannot create directory {}: {e}", dir.display()))
        })?;
    }
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(30))
        .foreign_keys(true)
        // SQLite plans from table statistics only once ANALYZE has gathered them; without
        // them it picks, for instance, the ministry index for an agency filter on the board.
        // Connections open as the pool grows, so statistics stay roughly current; the limit
        // keeps the pass to milliseconds on a large log.
        .pragma("analysis_limit", "400")
        .pragma("optimize", "0x10002");
    Ok(SqlitePoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await?)
}

/// Writes a group of appends (see [`crate::group`]) in one `BEGIN IMMEDIATE` transaction: the
/// stored version of every stream the group touches and which of its event ids are stored are
/// read under the write lock, each append is decided against them, and the accepted ones are
/// chained onto the head and inserted together.
pub(crate) async fn append_group(
    pool: &SqlitePool,
    batches: &[&[StreamAppend]],
    waited_for: group::WaitedFor<'_>,
) -> Result<Vec<Result<AppendAttempt, StoreError>>, StoreError> {
    let streams = group::streams(batches);
    let ids = group::event_ids(batches);
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;

    let mut versions = HashMap::with_capacity(streams.len());
    // SQLite allows 32766 bound parameters per statement.
    for chunk in streams.chunks(5000) {
        let mut q = QueryBuilder::<Sqlite>::new("WITH s(n, t, i) AS (VALUES ");
        let mut rows = q.separated(", ");
        for (n, stream) in chunk.iter().enumerate() {
            rows.push("(")
                .push_bind_unseparated(n as i64)
                .push_unseparated(", ")
                .push_bind_unseparated(stream.stream_type().to_owned())
                .push_unseparated(", ")
                .push_bind_unseparated(stream.id().to_owned())
                .push_unseparated(")");
        }
        q.push(
            ") SELECT s.n, (SELECT max(e.version) FROM events e \
                WHERE e.stream_type = s.t AND e.stream_id = s.i) FROM s",
        );
        for row in q.build().fetch_all(&mut *tx).await? {
            let n = usize::try_from(row.try_get::<i64, _>(0)?).unwrap_or(usize::MAX);
            let version = row.try_get::<Option<i64>, _>(1)?.unwrap_or(0);
            if let Some(stream) = chunk.get(n) {
                versions.insert((*stream).clone(), version as u64);
            }
        }
    }
    let mut known = HashSet::new();
    for chunk in ids.chunks(10_000) {
        let mut q = QueryBuilder::<Sqlite>::new("SELECT event_id FROM events WHERE event_id IN (");
        let mut sep = q.separated(", ");
        for id in chunk {
            sep.push_bind(id.to_string());
        }
        q.push(")");
        for row in q.build().fetch_all(&mut *tx).await? {
            let id: String = row.try_get(0)?;
            known.insert(
                Uuid::parse_str(&id)
                    .map_err(|e| StoreError::Corrupt(format!("event id {id:?}: {e}")))?,
            );
        }
    }
    // Decided under the write lock (taken by BEGIN IMMEDIATE, perhaps after a wait): an append
    // whose caller stopped waiting meanwhile is not written.
    let verdicts = group::plan(batches, &versions, &known, waited_for);
    if !verdicts.iter().any(|v| matches!(v, group::Verdict::Accept)) {
        tx.rollback().await?;
        return Ok(group::answers(verdicts, vec![Vec::new(); batches.len()]));
    }

    let head = head_of(&mut *tx).await?;
    // Read under the write lock: the head event's recorded_at, which ours may not precede.
    let last_at: Option<String> =
        sqlx::query_scalar("SELECT recorded_at FROM events WHERE position = ?")
            .bind(head.position as i64)
            .fetch_optional(&mut *tx)
            .await?;
    let last_at = last_at.as_deref().map(parse_timestamp).transpose()?;
    let sealed = group::seal_group(batches, &verdicts, &head, recorded_after(last_at));
    let all: Vec<&RecordedEvent> = sealed.iter().flatten().collect();
    match write_events(&mut tx, &all).await {
        Ok(()) => {}
        Err(err) if batches.len() == 1 => return Ok(vec![classify_insert_error(err)]),
        Err(err) => return Err(err.into()),
    }
    tx.commit().await?;
    Ok(group::answers(verdicts, sealed))
}

/// Appends already-recorded events exactly as they are (see
/// [`crate::EventStore::import_verbatim`]); the extract itself was checked by the caller.
pub(crate) async fn import_verbatim(
    pool: &SqlitePool,
    events: &[RecordedEvent],
) -> Result<(), StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let head = head_of(&mut *tx).await?;
    import::check_continues(&head, events)?;
    for (stream, expected) in import::stream_starts(events) {
        let actual = version_of(&mut *tx, stream).await?;
        import::check_stream_version(stream, expected, actual)?;
    }
    let rows: Vec<&RecordedEvent> = events.iter().collect();
    write_events(&mut tx, &rows)
        .await
        .map_err(import::insert_error)?;
    tx.commit().await?;
    Ok(())
}

/// Inserts recorded events and moves the head to the last of them. The caller holds the write
/// lock and has chained the events onto the head.
async fn write_events(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    events: &[&RecordedEvent],
) -> Result<(), sqlx::Error> {
    let Some(last) = events.last() else {
        return Ok(());
    };
    // SQLite allows 32766 bound parameters per statement; 19 per row.
    for chunk in events.chunks(1000) {
        let mut insert =
            QueryBuilder::<Sqlite>::new(format!("INSERT INTO events ({EVENT_COLUMNS}) "));
        insert.push_values(chunk, |mut row, e| {
            row.push_bind(e.position as i64)
                .push_bind(e.event_id.to_string())
                .push_bind(e.stream.stream_type().to_owned())
                .push_bind(e.stream.id().to_owned())
                .push_bind(e.version as i64)
                .push_bind(e.event_type.clone())
                .push_bind(i64::from(e.schema_version))
                .push_bind(e.payload_text.clone())
                .push_bind(e.actor.subject.clone())
                .push_bind(e.actor.display_name.clone())
                .push_bind(e.actor.role.clone())
                .push_bind(e.actor.organisation.clone())
                .push_bind(e.reason.clone())
                .push_bind(e.correlation_id.to_string())
                .push_bind(e.causation_id.map(|c| c.to_string()))
                .push_bind(format_timestamp(&e.recorded_at))
                .push_bind(format_timestamp(&e.effective_at))
                .push_bind(e.prev_hash.clone())
                .push_bind(e.hash.clone());
        });
        insert.build().execute(&mut **tx).await?;
    }
    sqlx::query("UPDATE log_head SET position = ?, hash = ? WHERE id = 1")
        .bind(last.position as i64)
        .bind(&last.hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// With the write lock held these cannot race, but a second process on the same file, or a
/// bug, must still surface as the right error rather than a generic one.
fn classify_insert_error(err: sqlx::Error) -> Result<AppendAttempt, StoreError> {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            if db.message().contains("events.event_id") {
                Ok(AppendAttempt::AlreadyStored)
            } else {
                Ok(AppendAttempt::VersionRace)
            }
        }
        _ => Err(err.into()),
    }
}

async fn version_of<'c, E>(executor: E, stream: &StreamId) -> Result<u64, StoreError>
where
    E: sqlx::Executor<'c, Database = Sqlite>,
{
    let v: Option<i64> = sqlx::query_scalar(
        "SELECT max(version) FROM events WHERE stream_type = ? AND stream_id = ?",
    )
    .bind(stream.stream_type())
    .bind(stream.id())
    .fetch_one(executor)
    .await?;
    Ok(v.unwrap_or(0) as u64)
}

async fn head_of<'c, E>(executor: E) -> Result<LogHead, StoreError>
where
    E: sqlx::Executor<'c, Database = Sqlite>,
{
    let row = sqlx::query("SELECT position, hash FROM log_head WHERE id = 1")
        .fetch_one(executor)
        .await?;
    Ok(LogHead {
        position: row.try_get::<i64, _>("position")? as u64,
        hash: row.try_get("hash")?,
    })
}

pub(crate) async fn stream_version(
    pool: &SqlitePool,
    stream: &StreamId,
) -> Result<u64, StoreError> {
    version_of(pool, stream).await
}

pub(crate) async fn head(pool: &SqlitePool) -> Result<LogHead, StoreError> {
    head_of(pool).await
}

pub(crate) async fn position_at(
    pool: &SqlitePool,
    t: chrono::DateTime<chrono::Utc>,
) -> Result<u64, StoreError> {
    let row =
        sqlx::query("SELECT COALESCE(MAX(position), 0) AS p FROM events WHERE recorded_at <= ?")
            .bind(format_timestamp(&truncate_to_micros(t)))
            .fetch_one(pool)
            .await?;
    Ok(u64::try_from(row.try_get::<i64, _>("p")?).unwrap_or(0))
}

pub(crate) async fn events_by_id(
    pool: &SqlitePool,
    ids: &[Uuid],
) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut q = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE event_id IN ("
    ));
    let mut sep = q.separated(", ");
    for id in ids {
        sep.push_bind(id.to_string());
    }
    q.push(") ORDER BY position");
    q.build()
        .fetch_all(pool)
        .await?
        .iter()
        .map(decode)
        .collect()
}

pub(crate) async fn read_by_causation(
    pool: &SqlitePool,
    causation_id: Uuid,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let sql =
        format!("SELECT {EVENT_COLUMNS} FROM events WHERE causation_id = ? ORDER BY position");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(causation_id.to_string())
        .fetch_all(pool)
        .await?
        .iter()
        .map(decode)
        .collect()
}

pub(crate) async fn stream_ids(
    pool: &SqlitePool,
    stream_type: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT stream_id FROM events WHERE stream_type = ? ORDER BY stream_id",
    )
    .bind(stream_type)
    .fetch_all(pool)
    .await?)
}

pub(crate) async fn read_stream(
    pool: &SqlitePool,
    stream: &StreamId,
    after_version: u64,
    parse_payload: bool,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE stream_type = ? AND stream_id = ? \
         AND version > ? ORDER BY version"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(stream.stream_type())
        .bind(stream.id())
        .bind(after_version as i64)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| decode_with(row, parse_payload))
        .collect()
}

pub(crate) async fn read_all(
    pool: &SqlitePool,
    after_position: u64,
    limit: u32,
    parse_payload: bool,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let sql =
        format!("SELECT {EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(after_position as i64)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| decode_with(row, parse_payload))
        .collect()
}

pub(crate) async fn chain_state_before(
    pool: &SqlitePool,
    position: u64,
) -> Result<(Option<String>, HashMap<StreamId, u64>), StoreError> {
    let prev: Option<String> = sqlx::query_scalar("SELECT hash FROM events WHERE position = ?")
        .bind(position.saturating_sub(1) as i64)
        .fetch_optional(pool)
        .await?;
    let rows = sqlx::query(
        "SELECT stream_type, stream_id, max(version) AS version FROM events \
         WHERE position < ? GROUP BY stream_type, stream_id",
    )
    .bind(position as i64)
    .fetch_all(pool)
    .await?;
    let mut versions = HashMap::with_capacity(rows.len());
    for r in rows {
        let stream = StreamId::new(r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        versions.insert(stream, r.try_get::<i64, _>(2)? as u64);
    }
    Ok((prev, versions))
}

pub(crate) async fn applied_migrations(pool: &SqlitePool) -> Result<Vec<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await?,
    )
}

fn decode(row: &SqliteRow) -> Result<RecordedEvent, StoreError> {
    decode_with(row, true)
}

/// Decodes a row selected as [`EVENT_COLUMNS`], by column position; without `parse_payload`
/// the payload stays text only (`payload` is null), for chain verification, which hashes the
/// text and never looks inside it.
fn decode_with(row: &SqliteRow, parse_payload: bool) -> Result<RecordedEvent, StoreError> {
    let corrupt = |what: &str, e: &dyn std::fmt::Display| {
        StoreError::Corrupt(format!("{what} does not parse: {e}"))
    };
    let uuid = |index: usize, col: &str| -> Result<Uuid, StoreError> {
        let s: String = row.try_get(index)?;
        Uuid::parse_str(&s).map_err(|e| corrupt(col, &e))
    };
    let payload_text: String = row.try_get(7)?;
    let payload = if parse_payload {
        serde_json::from_str(&payload_text).map_err(|e| corrupt("payload", &e))?
    } else {
        serde_json::Value::Null
    };
    let causation_id = row
        .try_get::<Option<String>, _>(14)?
        .map(|s| Uuid::parse_str(&s).map_err(|e| corrupt("causation_id", &e)))
        .transpose()?;
    Ok(RecordedEvent {
        position: row.try_get::<i64, _>(0)? as u64,
        event_id: uuid(1, "event_id")?,
        stream: StreamId::new(row.try_get::<String, _>(2)?, row.try_get::<String, _>(3)?)
            .map_err(|e| corrupt("stream", &e))?,
        version: row.try_get::<i64, _>(4)? as u64,
        event_type: row.try_get(5)?,
        schema_version: row.try_get::<i64, _>(6)? as u32,
        payload,
        payload_text,
        actor: Actor {
            subject: row.try_get(8)?,
            display_name: row.try_get(9)?,
            role: row.try_get(10)?,
            organisation: row.try_get(11)?,
        },
        reason: row.try_get(12)?,
        correlation_id: uuid(13, "correlation_id")?,
        causation_id,
        recorded_at: parse_timestamp(&row.try_get::<String, _>(15)?)?,
        effective_at: parse_timestamp(&row.try_get::<String, _>(16)?)?,
        prev_hash: row.try_get(17)?,
        hash: row.try_get(18)?,
    })
}
