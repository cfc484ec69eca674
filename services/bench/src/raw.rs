//! The raw ceilings: the same writes and reads done directly through sqlx, without the store,
//! the workflow or the server — on tables shaped like ours (`LIKE … INCLUDING ALL` on
//! PostgreSQL, the same DDL on SQLite), over a pool with the same size and the same
//! durability settings as the store's (PostgreSQL's `synchronous_commit` as the server has
//! it; SQLite in WAL mode with `synchronous = FULL` and the same busy timeout).

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Postgres, QueryBuilder, Row, Sqlite};
use styr_eventstore::{BackendKind, StoreOptions, format_timestamp, truncate_to_micros};
use uuid::Uuid;

/// The column list of `events`, in the store's order.
const EVENT_COLUMNS: &str = "position, event_id, stream_type, stream_id, version, event_type, \
     schema_version, payload, actor_subject, actor_name, actor_role, actor_org, reason, \
     correlation_id, causation_id, recorded_at, effective_at, prev_hash, hash";
const BOARD_COLUMNS: &str = "assignment_id, reference, title, year, ministry, agency, department, \
     goal, status, lifecycle, traffic_light, next_deadline, deadline_to_be_agreed, search_text, \
     updated_position, updated_at";

/// A row of `events` with the same widths as the store writes.
#[derive(Debug, Clone)]
pub struct RawEvent {
    pub position: i64,
    pub event_id: Uuid,
    pub stream_type: String,
    pub stream_id: String,
    pub version: i64,
    pub event_type: String,
    pub schema_version: i32,
    pub payload: String,
    pub actor: [String; 4],
    pub reason: Option<String>,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
    pub effective_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

impl RawEvent {
    /// A row for `stream_id` at `version` and `position`, carrying `payload` (canonical JSON
    /// text) and the given actor, with 64-character hex hashes like the chain's.
    pub fn new(
        position: i64,
        stream_id: &str,
        version: i64,
        payload: &str,
        actor: &[String; 4],
    ) -> Self {
        let now = truncate_to_micros(Utc::now());
        let id = Uuid::now_v7();
        Self {
            position,
            event_id: id,
            stream_type: "bench".to_owned(),
            stream_id: stream_id.to_owned(),
            version,
            event_type: "StatusReported".to_owned(),
            schema_version: 2,
            payload: payload.to_owned(),
            actor: actor.clone(),
            reason: None,
            correlation_id: id,
            causation_id: Some(id),
            recorded_at: now,
            effective_at: now,
            prev_hash: hex::encode(Sha256::digest((position - 1).to_be_bytes())),
            hash: hex::encode(Sha256::digest(position.to_be_bytes())),
        }
    }
}

/// A pool on the benchmark's database, for raw SQL.
#[derive(Clone)]
pub enum Raw {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl Raw {
    /// A pool like the store's: same size, same SQLite pragmas.
    pub async fn connect(url: &str, kind: BackendKind) -> anyhow::Result<Self> {
        let max = StoreOptions::default().max_connections;
        Ok(match kind {
            BackendKind::Postgres => Raw::Postgres(
                PgPoolOptions::new()
                    // As the store's pools: no ping before every query.
                    .test_before_acquire(false)
                    .max_connections(max)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect(url)
                    .await?,
            ),
            BackendKind::Sqlite => {
                // As services/eventstore/src/sqlite.rs `connect`.
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(30))
                    .foreign_keys(true);
                Raw::Sqlite(
                    SqlitePoolOptions::new()
                        .test_before_acquire(false)
                        .max_connections(max)
                        .acquire_timeout(Duration::from_secs(30))
                        .connect_with(options)
                        .await?,
                )
            }
        })
    }

    pub async fn close(&self) {
        match self {
            Raw::Postgres(p) => p.close().await,
            Raw::Sqlite(p) => p.close().await,
        }
    }

    /// The durability settings in force, for the report.
    pub async fn durability(&self) -> anyhow::Result<String> {
        Ok(match self {
            Raw::Postgres(p) => {
                let mut out = Vec::new();
                for name in [
                    "synchronous_commit",
                    "fsync",
                    "wal_sync_method",
                    "shared_buffers",
                    "commit_delay",
                ] {
                    let v: String = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SHOW {name}")))
                        .fetch_one(p)
                        .await?;
                    out.push(format!("{name}={v}"));
                }
                out.join(", ")
            }
            Raw::Sqlite(p) => {
                let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                    .fetch_one(p)
                    .await?;
                let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                    .fetch_one(p)
                    .await?;
                let sync = match sync {
                    0 => "OFF",
                    1 => "NORMAL",
                    2 => "FULL",
                    _ => "EXTRA",
                };
                format!("journal_mode={mode}, synchronous={sync}, busy_timeout=30s")
            }
        })
    }

    /// `raw_events` and `raw_board` shaped like `events` and `board_assignments` (the store
    /// must have migrated the database), and a checkpoint row for the raw projector.
    pub async fn create_tables(&self) -> anyhow::Result<()> {
        match self {
            Raw::Postgres(p) => {
                for sql in [
                    "CREATE TABLE IF NOT EXISTS raw_events (LIKE events INCLUDING ALL)",
                    "CREATE TABLE IF NOT EXISTS raw_board (LIKE board_assignments INCLUDING ALL)",
                    "CREATE TABLE IF NOT EXISTS raw_checkpoint (id INT PRIMARY KEY, position BIGINT NOT NULL)",
                    "INSERT INTO raw_checkpoint VALUES (1, 0) ON CONFLICT DO NOTHING",
                ] {
                    sqlx::query(sql).execute(p).await?;
                }
            }
            Raw::Sqlite(p) => {
                let ddl: Vec<String> = sqlx::query_scalar(
                    "SELECT sql FROM sqlite_master WHERE tbl_name IN ('events', 'board_assignments') \
                     AND type IN ('table', 'index') AND sql IS NOT NULL \
                     ORDER BY type = 'index', name",
                )
                .fetch_all(p)
                .await?;
                for sql in ddl {
                    let sql = sql
                        .replace("board_assignments", "raw_board")
                        .replace("INDEX board_", "INDEX raw_board_")
                        .replace("events", "raw_events")
                        .replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ")
                        .replace("CREATE INDEX IF NOT EXISTS ", "CREATE INDEX ")
                        .replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ");
                    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(p).await?;
                }
                for sql in [
                    "CREATE TABLE IF NOT EXISTS raw_checkpoint (id INTEGER PRIMARY KEY, position INTEGER NOT NULL)",
                    "INSERT OR IGNORE INTO raw_checkpoint VALUES (1, 0)",
                ] {
                    sqlx::query(sql).execute(p).await?;
                }
            }
        }
        Ok(())
    }

    /// Inserts `rows` into `raw_events` with one statement in its own (implicit) transaction:
    /// the least a durable append can do.
    pub async fn insert(&self, rows: &[RawEvent]) -> anyhow::Result<()> {
        let head = format!("INSERT INTO raw_events ({EVENT_COLUMNS}) ");
        match self {
            Raw::Postgres(p) => {
                let mut q = QueryBuilder::<Postgres>::new(head);
                q.push_values(rows, |mut b, e| {
                    b.push_bind(e.position)
                        .push_bind(e.event_id)
                        .push_bind(&e.stream_type)
                        .push_bind(&e.stream_id)
                        .push_bind(e.version)
                        .push_bind(&e.event_type)
                        .push_bind(e.schema_version)
                        .push_bind(&e.payload)
                        .push_bind(&e.actor[0])
                        .push_bind(&e.actor[1])
                        .push_bind(&e.actor[2])
                        .push_bind(&e.actor[3])
                        .push_bind(&e.reason)
                        .push_bind(e.correlation_id)
                        .push_bind(e.causation_id)
                        .push_bind(e.recorded_at)
                        .push_bind(e.effective_at)
                        .push_bind(&e.prev_hash)
                        .push_bind(&e.hash);
                });
                q.build().execute(p).await?;
            }
            Raw::Sqlite(p) => {
                let mut q = QueryBuilder::<Sqlite>::new(head);
                q.push_values(rows, |mut b, e| {
                    b.push_bind(e.position)
                        .push_bind(e.event_id.to_string())
                        .push_bind(e.stream_type.clone())
                        .push_bind(e.stream_id.clone())
                        .push_bind(e.version)
                        .push_bind(e.event_type.clone())
                        .push_bind(e.schema_version)
                        .push_bind(e.payload.clone())
                        .push_bind(e.actor[0].clone())
                        .push_bind(e.actor[1].clone())
                        .push_bind(e.actor[2].clone())
                        .push_bind(e.actor[3].clone())
                        .push_bind(e.reason.clone())
                        .push_bind(e.correlation_id.to_string())
                        .push_bind(e.causation_id.map(|c| c.to_string()))
                        .push_bind(format_timestamp(&e.recorded_at))
                        .push_bind(format_timestamp(&e.effective_at))
                        .push_bind(e.prev_hash.clone())
                        .push_bind(e.hash.clone());
                });
                q.build().execute(p).await?;
            }
        }
        Ok(())
    }

    /// Up to `limit` rows of `events` after `after`, every column read into its native Rust
    /// type (no JSON parsing, no validation). Returns the rows' positions.
    pub async fn read_page(&self, after: i64, limit: i64) -> anyhow::Result<Vec<i64>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2"
        );
        Ok(match self {
            Raw::Postgres(p) => sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(after)
                .bind(limit)
                .fetch_all(p)
                .await?
                .iter()
                .map(touch_pg)
                .collect::<Result<_, _>>()?,
            Raw::Sqlite(p) => sqlx::query(sqlx::AssertSqlSafe(sql.replace('$', "?")))
                .bind(after)
                .bind(limit)
                .fetch_all(p)
                .await?
                .iter()
                .map(touch_lite)
                .collect::<Result<_, _>>()?,
        })
    }

    /// Reads the whole log in pages of `page`; returns the rows read.
    pub async fn read_all(&self, page: i64) -> anyhow::Result<u64> {
        let mut after = 0;
        let mut rows = 0;
        loop {
            let positions = self.read_page(after, page).await?;
            let Some(last) = positions.last() else {
                return Ok(rows);
            };
            after = *last;
            rows += positions.len() as u64;
        }
    }

    /// What chain verification reads, without the checking: on PostgreSQL the whole log as
    /// one binary `COPY` in position order, its bytes received and dropped (one message per
    /// row); on SQLite [`Raw::read_all`] in pages of 5,000. Returns the rows read.
    pub async fn read_for_verification(&self) -> anyhow::Result<u64> {
        let Raw::Postgres(p) = self else {
            return self.read_all(5000).await;
        };
        let sql = format!(
            "COPY (SELECT {EVENT_COLUMNS} FROM events WHERE position > 0 ORDER BY position) \
             TO STDOUT (FORMAT binary)"
        );
        let mut conn = p.acquire().await?;
        let mut messages = conn.copy_out_raw(&sql).await?;
        let (mut rows, mut bytes) = (0_u64, 0_usize);
        while let Some(message) = messages.next().await {
            bytes += message?.len();
            rows += 1;
        }
        anyhow::ensure!(bytes > 0, "the COPY sent nothing");
        // The last message is the trailer.
        Ok(rows.saturating_sub(1))
    }

    /// One stream's rows in version order, read like [`Raw::read_page`].
    pub async fn read_stream(&self, stream_type: &str, stream_id: &str) -> anyhow::Result<u64> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE stream_type = $1 AND stream_id = $2 \
             AND version > $3 ORDER BY version"
        );
        Ok(match self {
            Raw::Postgres(p) => sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(stream_type)
                .bind(stream_id)
                .bind(0_i64)
                .fetch_all(p)
                .await?
                .iter()
                .map(touch_pg)
                .collect::<Result<Vec<_>, _>>()?
                .len() as u64,
            Raw::Sqlite(p) => sqlx::query(sqlx::AssertSqlSafe(sql.replace('$', "?")))
                .bind(stream_type)
                .bind(stream_id)
                .bind(0_i64)
                .fetch_all(p)
                .await?
                .iter()
                .map(touch_lite)
                .collect::<Result<Vec<_>, _>>()?
                .len() as u64,
        })
    }

    /// The projector's database work without the projector: pages of `batch` rows of the
    /// log, each applied in one transaction that locks a checkpoint row, upserts one board-wide
    /// row per assignment event and moves the checkpoint. Returns the events read.
    pub async fn project_all(&self, batch: i64) -> anyhow::Result<u64> {
        sqlx_exec(self, "DELETE FROM raw_board").await?;
        sqlx_exec(self, "UPDATE raw_checkpoint SET position = 0").await?;
        let mut events = 0;
        loop {
            let done = match self {
                Raw::Postgres(p) => {
                    let mut tx = p.begin().await?;
                    // The same durability as the projector's commits.
                    sqlx::query("SET LOCAL synchronous_commit = off")
                        .execute(&mut *tx)
                        .await?;
                    let after: i64 = sqlx::query_scalar(
                        "SELECT position FROM raw_checkpoint WHERE id = 1 FOR UPDATE",
                    )
                    .fetch_one(&mut *tx)
                    .await?;
                    let rows = self.read_rows(after, batch).await?;
                    let Some(last) = rows.last().map(|r| r.0) else {
                        tx.rollback().await?;
                        return Ok(events);
                    };
                    let touched = last_per_assignment(&rows);
                    if !touched.is_empty() {
                        board_upsert_pg(&touched).build().execute(&mut *tx).await?;
                    }
                    sqlx::query("UPDATE raw_checkpoint SET position = $1 WHERE id = 1")
                        .bind(last)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    rows.len()
                }
                Raw::Sqlite(p) => {
                    let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                    let after: i64 =
                        sqlx::query_scalar("SELECT position FROM raw_checkpoint WHERE id = 1")
                            .fetch_one(&mut *tx)
                            .await?;
                    let rows = self.read_rows(after, batch).await?;
                    let Some(last) = rows.last().map(|r| r.0) else {
                        tx.rollback().await?;
                        return Ok(events);
                    };
                    let touched = last_per_assignment(&rows);
                    if !touched.is_empty() {
                        board_upsert_lite(&touched)
                            .build()
                            .execute(&mut *tx)
                            .await?;
                    }
                    sqlx::query("UPDATE raw_checkpoint SET position = ? WHERE id = 1")
                        .bind(last)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    rows.len()
                }
            };
            events += done as u64;
        }
    }

    /// Full rows read like [`Raw::read_page`], keeping what the raw projector needs.
    async fn read_rows(
        &self,
        after: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<(i64, String, String)>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2"
        );
        let keep = |position: i64, row_type: String, row_id: String| (position, row_type, row_id);
        Ok(match self {
            Raw::Postgres(p) => {
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(after)
                    .bind(limit)
                    .fetch_all(p)
                    .await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    touch_pg(r)?;
                    out.push(keep(r.try_get(0)?, r.try_get(2)?, r.try_get(3)?));
                }
                out
            }
            Raw::Sqlite(p) => {
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql.replace('$', "?")))
                    .bind(after)
                    .bind(limit)
                    .fetch_all(p)
                    .await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    touch_lite(r)?;
                    out.push(keep(r.try_get(0)?, r.try_get(2)?, r.try_get(3)?));
                }
                out
            }
        })
    }

    /// The board query's statement (the page with the total alongside) for a ministry user
    /// filtering on agency and year, as `services/workflow/src/projections/sql.rs` builds it
    /// when per-status counts are not asked for. Returns the rows on the page.
    pub async fn board(&self, agency: &str, year: i64, first: i64) -> anyhow::Result<usize> {
        let page = board_page_sql();
        let ministry = crate::seed::MINISTRY;
        Ok(match self {
            Raw::Postgres(p) => {
                let rows = sqlx::query(sqlx::AssertSqlSafe(page))
                    .bind(ministry)
                    .bind(year)
                    .bind(agency)
                    .bind(first)
                    .bind(0_i64)
                    .fetch_all(p)
                    .await?;
                for r in &rows {
                    touch_board_pg(r)?;
                    let _: i64 = r.try_get("total")?;
                }
                rows.len()
            }
            Raw::Sqlite(p) => {
                let rows = sqlx::query(sqlx::AssertSqlSafe(page.replace('$', "?")))
                    .bind(ministry)
                    .bind(year)
                    .bind(agency)
                    .bind(first)
                    .bind(0_i64)
                    .fetch_all(p)
                    .await?;
                for r in &rows {
                    touch_board_lite(r)?;
                    let _: i64 = r.try_get("total")?;
                }
                rows.len()
            }
        })
    }

    /// The plan of the board's statement for the filter above.
    pub async fn explain_board(&self, agency: &str, year: i64) -> anyhow::Result<String> {
        let filter = format!(
            "WHERE ministry = '{}' AND year = {year} AND agency = '{agency}'",
            crate::seed::MINISTRY
        );
        let page = format!(
            "SELECT {BOARD_COLUMNS}, count(*) OVER () AS total FROM board_assignments {filter} \
             ORDER BY (next_deadline IS NULL), next_deadline ASC, assignment_id ASC LIMIT 50 OFFSET 0"
        );
        let mut out = String::new();
        for (what, sql) in [("page", page)] {
            out.push_str(&format!("-- {what}\n"));
            let lines: Vec<String> = match self {
                Raw::Postgres(p) => {
                    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}"
                    )))
                    .fetch_all(p)
                    .await?
                }
                Raw::Sqlite(p) => {
                    sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                        .fetch_all(p)
                        .await?
                        .iter()
                        .map(|r| r.try_get::<String, _>("detail"))
                        .collect::<Result<_, _>>()?
                }
            };
            for l in lines {
                out.push_str(&l);
                out.push('\n');
            }
        }
        Ok(out)
    }

    /// `VACUUM ANALYZE` on PostgreSQL (what autovacuum would do by itself a little later),
    /// a WAL checkpoint on SQLite, then [`crate::db::settle_machine`]; run after seeding so
    /// none of it happens mid-measurement.
    pub async fn settle(&self) -> anyhow::Result<()> {
        let kind = match self {
            Raw::Postgres(p) => {
                sqlx::query("VACUUM ANALYZE").execute(p).await?;
                BackendKind::Postgres
            }
            Raw::Sqlite(p) => {
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(p)
                    .await?;
                BackendKind::Sqlite
            }
        };
        crate::db::settle_machine(kind).await
    }
}

async fn sqlx_exec(raw: &Raw, sql: &'static str) -> anyhow::Result<()> {
    match raw {
        Raw::Postgres(p) => {
            sqlx::query(sql).execute(p).await?;
        }
        Raw::Sqlite(p) => {
            sqlx::query(sql).execute(p).await?;
        }
    }
    Ok(())
}

/// Each assignment of a batch once, at its last position in the batch (what the projector
/// writes), in id order.
fn last_per_assignment(rows: &[(i64, String, String)]) -> Vec<(&str, i64)> {
    let mut last = std::collections::BTreeMap::new();
    for (position, stream_type, stream_id) in rows {
        if stream_type == "assignment" {
            last.insert(stream_id.as_str(), *position);
        }
    }
    last.into_iter().collect()
}

/// One upsert of board rows as wide as real ones (at most 500 rows: a projector batch), for
/// each backend.
macro_rules! board_upsert {
    ($name:ident, $db:ty) => {
        fn $name(rows: &[(&str, i64)]) -> QueryBuilder<$db> {
            let mut q = QueryBuilder::<$db>::new(format!("INSERT INTO raw_board ({BOARD_COLUMNS}) "));
            q.push_values(rows, |mut b, (assignment_id, position)| {
                b.push_bind((*assignment_id).to_owned())
                    .push_bind(Some("TB2026-123".to_owned()))
                    .push_bind("Utrede tiltak 12345 for bedre folkehelse og forebygging".to_owned())
                    .push_bind(2026_i64)
                    .push_bind("HOD".to_owned())
                    .push_bind("AG03".to_owned())
                    .push_bind(Some("FHA".to_owned()))
                    .push_bind(Some("2.3".to_owned()))
                    .push_bind("in_progress_on_track".to_owned())
                    .push_bind("active".to_owned())
                    .push_bind(Some("green".to_owned()))
                    .push_bind(Some("2027-01-15".to_owned()))
                    .push_bind(true)
                    .push_bind(
                        "tb2026-123 utrede tiltak 12345 for bedre folkehelse og forebygging \
                         utrede og foreslå regulering, med vurdering av økonomiske og \
                         administrative konsekvenser, i samarbeid med berørte etater."
                            .to_owned(),
                    )
                    .push_bind(*position)
                    .push_bind("2026-12-02T03:00:00.000000Z".to_owned());
            });
            q.push(
                " ON CONFLICT (assignment_id) DO UPDATE SET reference = excluded.reference, \
                 title = excluded.title, year = excluded.year, ministry = excluded.ministry, \
                 agency = excluded.agency, department = excluded.department, goal = excluded.goal, \
                 status = excluded.status, lifecycle = excluded.lifecycle, \
                 traffic_light = excluded.traffic_light, next_deadline = excluded.next_deadline, \
                 deadline_to_be_agreed = excluded.deadline_to_be_agreed, \
                 search_text = excluded.search_text, updated_position = excluded.updated_position, \
                 updated_at = excluded.updated_at",
            );
            q
        }
    };
}

board_upsert!(board_upsert_pg, Postgres);
board_upsert!(board_upsert_lite, Sqlite);

/// Reads every column of an `events` row into its native type; returns the position.
fn touch_pg(r: &PgRow) -> Result<i64, sqlx::Error> {
    let position: i64 = r.try_get(0)?;
    let _: Uuid = r.try_get(1)?;
    let _: String = r.try_get(2)?;
    let _: String = r.try_get(3)?;
    let _: i64 = r.try_get(4)?;
    let _: String = r.try_get(5)?;
    let _: i32 = r.try_get(6)?;
    let _: String = r.try_get(7)?;
    for i in 8..12 {
        let _: String = r.try_get(i)?;
    }
    let _: Option<String> = r.try_get(12)?;
    let _: Uuid = r.try_get(13)?;
    let _: Option<Uuid> = r.try_get(14)?;
    let _: DateTime<Utc> = r.try_get(15)?;
    let _: DateTime<Utc> = r.try_get(16)?;
    let _: String = r.try_get(17)?;
    let _: String = r.try_get(18)?;
    Ok(position)
}

fn touch_lite(r: &SqliteRow) -> Result<i64, sqlx::Error> {
    let position: i64 = r.try_get(0)?;
    for i in [1, 2, 3, 5, 7, 8, 9, 10, 11, 13, 15, 16, 17, 18] {
        let _: String = r.try_get(i)?;
    }
    let _: i64 = r.try_get(4)?;
    let _: i64 = r.try_get(6)?;
    let _: Option<String> = r.try_get(12)?;
    let _: Option<String> = r.try_get(14)?;
    Ok(position)
}

fn touch_board_pg(r: &PgRow) -> Result<(), sqlx::Error> {
    for i in [0, 2, 4, 5, 8, 9, 13, 15] {
        let _: String = r.try_get(i)?;
    }
    for i in [1, 6, 7, 10, 11] {
        let _: Option<String> = r.try_get(i)?;
    }
    let _: i64 = r.try_get(3)?;
    let _: bool = r.try_get(12)?;
    let _: i64 = r.try_get(14)?;
    Ok(())
}

fn touch_board_lite(r: &SqliteRow) -> Result<(), sqlx::Error> {
    for i in [0, 2, 4, 5, 8, 9, 13, 15] {
        let _: String = r.try_get(i)?;
    }
    for i in [1, 6, 7, 10, 11] {
        let _: Option<String> = r.try_get(i)?;
    }
    let _: i64 = r.try_get(3)?;
    let _: bool = r.try_get(12)?;
    let _: i64 = r.try_get(14)?;
    Ok(())
}

/// The board's page statement with the total alongside, for a ministry user filtering on
/// agency and year (`$1` ministry, `$2` year, `$3` agency, `$4` limit, `$5` offset).
fn board_page_sql() -> String {
    format!(
        "SELECT {BOARD_COLUMNS}, count(*) OVER () AS total FROM board_assignments \
         WHERE ministry = $1 AND year = $2 AND agency = $3 \
         ORDER BY (next_deadline IS NULL), next_deadline ASC, assignment_id ASC LIMIT $4 OFFSET $5"
    )
}
