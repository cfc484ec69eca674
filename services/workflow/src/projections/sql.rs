//! The read models' SQL, written once and expanded for each backend by `backend_sql!`:
//! only the placeholder style (chosen by `QueryBuilder`) and the locking statement differ.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Postgres, Sqlite, Transaction};
use styr_eventstore::{Pool, StoreError};

use super::{BoardPage, BoardQuery, BoardRow, BoardSort, BoardStatus, Scope};

const NAME: &str = "board";
const ON_CONFLICT: &str = " ON CONFLICT (assignment_id) DO UPDATE SET \
     reference = excluded.reference, title = excluded.title, year = excluded.year, \
     ministry = excluded.ministry, agency = excluded.agency, department = excluded.department, \
     goal = excluded.goal, status = excluded.status, lifecycle = excluded.lifecycle, \
     traffic_light = excluded.traffic_light, next_deadline = excluded.next_deadline, \
     deadline_to_be_agreed = excluded.deadline_to_be_agreed, search_text = excluded.search_text, \
     updated_position = excluded.updated_position, updated_at = excluded.updated_at";
const ROW_COLUMNS: &str = "assignment_id, reference, title, year, ministry, agency, department, \
     goal, status, lifecycle, traffic_light, next_deadline, deadline_to_be_agreed, search_text, \
     updated_position, updated_at";

/// One projector transaction, holding the checkpoint lock until commit or rollback.
pub(super) struct Batch {
    tx: BatchTx,
    pub checkpoint: u64,
}

enum BatchTx {
    Postgres(Transaction<'static, Postgres>),
    Sqlite(Transaction<'static, Sqlite>),
}

pub(super) async fn begin_batch(pool: Pool<'_>) -> Result<Batch, StoreError> {
    let select = "SELECT position FROM projection_checkpoints WHERE name = ";
    match pool {
        Pool::Postgres(p) => {
            let mut tx = p.begin().await?;
            // The rows and the checkpoint commit together and are derived from the log alone:
            // if a crash loses this commit, both go back to the last durable checkpoint and the
            // projector redoes the batch. So this commit need not wait for its WAL flush.
            sqlx::query("SET LOCAL synchronous_commit = off")
                .execute(&mut *tx)
                .await?;
            let position: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("{select}$1 FOR UPDATE")))
                    .bind(NAME)
                    .fetch_one(&mut *tx)
                    .await?;
            Ok(Batch {
                tx: BatchTx::Postgres(tx),
                checkpoint: position as u64,
            })
        }
        Pool::Sqlite(p) => {
            let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
            let position: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("{select}?")))
                .bind(NAME)
                .fetch_one(&mut *tx)
                .await?;
            Ok(Batch {
                tx: BatchTx::Sqlite(tx),
                checkpoint: position as u64,
            })
        }
    }
}

impl Batch {
    /// Inserts or replaces rows; each assignment at most once.
    pub async fn upsert(&mut self, rows: &[BoardRow]) -> Result<(), StoreError> {
        // 16 bound parameters a row, well inside both databases' limits.
        for chunk in rows.chunks(1000) {
            match &mut self.tx {
                BatchTx::Postgres(tx) => pg::upsert(tx, chunk).await?,
                BatchTx::Sqlite(tx) => lite::upsert(tx, chunk).await?,
            }
        }
        Ok(())
    }

    /// Moves the checkpoint to `position` and commits the rows with it.
    pub async fn commit(self, position: u64) -> Result<(), StoreError> {
        let update = "UPDATE projection_checkpoints SET position = ";
        match self.tx {
            BatchTx::Postgres(mut tx) => {
                sqlx::query(sqlx::AssertSqlSafe(format!("{update}$1 WHERE name = $2")))
                    .bind(position as i64)
                    .bind(NAME)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            BatchTx::Sqlite(mut tx) => {
                sqlx::query(sqlx::AssertSqlSafe(format!("{update}? WHERE name = ?")))
                    .bind(position as i64)
                    .bind(NAME)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.tx {
            BatchTx::Postgres(tx) => tx.rollback().await?,
            BatchTx::Sqlite(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}

/// Writes a batch's rows and moves the checkpoint from `expected` to `last`, if the
/// checkpoint is still at `expected`; false (and nothing written) if another projector moved
/// it. On PostgreSQL one autocommitted statement that locks the checkpoint row, checks it,
/// upserts the rows and moves it, and does not wait for its WAL flush (see `begin_batch`);
/// on SQLite a `BEGIN IMMEDIATE` transaction.
pub(super) async fn commit_batch(
    pool: Pool<'_>,
    expected: u64,
    last: u64,
    rows: &[BoardRow],
) -> Result<bool, StoreError> {
    match pool {
        Pool::Postgres(p) if rows.len() <= 1000 => {
            pg_batch::commit_batch(p, expected, last, rows).await
        }
        _ => {
            let mut batch = begin_batch(pool).await?;
            if batch.checkpoint != expected {
                batch.rollback().await?;
                return Ok(false);
            }
            batch.upsert(rows).await?;
            batch.commit(last).await?;
            Ok(true)
        }
    }
}

pub(super) async fn reset(pool: Pool<'_>) -> Result<(), StoreError> {
    let mut batch = begin_batch(pool).await?;
    match &mut batch.tx {
        BatchTx::Postgres(tx) => {
            sqlx::query("DELETE FROM board_assignments")
                .execute(&mut **tx)
                .await?;
        }
        BatchTx::Sqlite(tx) => {
            sqlx::query("DELETE FROM board_assignments")
                .execute(&mut **tx)
                .await?;
        }
    }
    batch.commit(0).await
}

pub(super) async fn checkpoint(pool: Pool<'_>) -> Result<u64, StoreError> {
    let sql = "SELECT position FROM projection_checkpoints WHERE name = 'board'";
    let position: i64 = match pool {
        Pool::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await?,
        Pool::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await?,
    };
    Ok(position as u64)
}

pub(super) async fn board(pool: Pool<'_>, q: &BoardQuery) -> Result<BoardPage, StoreError> {
    match pool {
        Pool::Postgres(p) => pg::board(p, q).await,
        Pool::Sqlite(p) => lite::board(p, q).await,
    }
}

pub(super) async fn status_counts(
    pool: Pool<'_>,
    q: &BoardQuery,
) -> Result<Vec<(BoardStatus, u64)>, StoreError> {
    match pool {
        Pool::Postgres(p) => pg::status_counts(p, q).await,
        Pool::Sqlite(p) => lite::status_counts(p, q).await,
    }
}

pub(super) async fn row_by_id(
    pool: Pool<'_>,
    scope: &Scope,
    id: &str,
) -> Result<Option<BoardRow>, StoreError> {
    match pool {
        Pool::Postgres(p) => pg::row_by_id(p, scope, id).await,
        Pool::Sqlite(p) => lite::row_by_id(p, scope, id).await,
    }
}

pub(super) async fn dump(pool: Pool<'_>) -> Result<Vec<BoardRow>, StoreError> {
    match pool {
        Pool::Postgres(p) => pg::dump(p).await,
        Pool::Sqlite(p) => lite::dump(p).await,
    }
}

fn parse_date(s: Option<String>) -> Result<Option<NaiveDate>, StoreError> {
    // `FromStr` reads exactly `YYYY-MM-DD` without interpreting a format string each time.
    s.map(|s| {
        s.parse::<NaiveDate>()
            .map_err(|e| StoreError::Corrupt(format!("board date {s:?}: {e}")))
    })
    .transpose()
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("board time {s:?}: {e}")))
}

fn like_pattern(text: &str) -> String {
    let escaped: String = text
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    format!("%{escaped}%")
}

fn order_by(sort: BoardSort, descending: bool) -> String {
    let dir = if descending { "DESC" } else { "ASC" };
    // Rows without the sort key go last either way; the id breaks ties so pages are stable.
    // Not `{key} NULLS LAST`, which orders the same: PostgreSQL then walks the index on the key
    // and filters, reading the whole board for one agency's page (measured: half the boards
    // per second at 10,000 assignments), while the count alongside needs every match anyway.
    let key = match sort {
        BoardSort::NextDeadline => "next_deadline",
        BoardSort::Reference => "reference",
        BoardSort::Title => "title",
        BoardSort::Updated => "updated_position",
    };
    format!(" ORDER BY ({key} IS NULL), {key} {dir}, assignment_id {dir}")
}

macro_rules! backend_sql {
    ($module:ident, $db:ty, $pool:ty) => {
        mod $module {
            use sqlx::{QueryBuilder, Row};

            use super::*;

            pub(super) async fn upsert(
                tx: &mut Transaction<'static, $db>,
                rows: &[BoardRow],
            ) -> Result<(), StoreError> {
                if rows.is_empty() {
                    return Ok(());
                }
                let mut q = QueryBuilder::<$db>::new(format!(
                    "INSERT INTO board_assignments ({ROW_COLUMNS}) "
                ));
                push_rows(&mut q, rows);
                q.push(ON_CONFLICT);
                q.build().execute(&mut **tx).await?;
                Ok(())
            }

            /// `VALUES (…), (…)` of board rows, in `ROW_COLUMNS` order.
            pub(super) fn push_rows(q: &mut QueryBuilder<$db>, rows: &[BoardRow]) {
                q.push_values(rows, |mut b, r| {
                    b.push_bind(r.assignment_id.clone())
                        .push_bind(r.reference.clone())
                        .push_bind(r.title.clone())
                        .push_bind(r.year)
                        .push_bind(r.ministry.clone())
                        .push_bind(r.agency.clone())
                        .push_bind(r.department.clone())
                        .push_bind(r.goal.clone())
                        .push_bind(r.status.as_str())
                        .push_bind(r.lifecycle.clone())
                        .push_bind(r.traffic_light.clone())
                        .push_bind(r.next_deadline.map(|d| d.to_string()))
                        .push_bind(r.deadline_to_be_agreed)
                        .push_bind(r.search_text.clone())
                        .push_bind(r.updated_position)
                        .push_bind(styr_eventstore::format_timestamp(&r.updated_at));
                });
            }

            fn push_scope(q: &mut QueryBuilder<$db>, scope: &Scope) {
                match scope {
                    Scope::All => q.push(" WHERE 1 = 1"),
                    Scope::Ministry(m) => q.push(" WHERE ministry = ").push_bind(m.clone()),
                    Scope::Agency(a) => q.push(" WHERE agency = ").push_bind(a.clone()),
                };
            }

            fn push_filters(q: &mut QueryBuilder<$db>, query: &BoardQuery, with_status: bool) {
                push_scope(q, &query.scope);
                let f = &query.filter;
                if let Some(y) = f.year {
                    q.push(" AND year = ").push_bind(i64::from(y));
                }
                let text_filters = [
                    ("ministry", &f.ministry),
                    ("agency", &f.agency),
                    ("department", &f.department),
                    ("goal", &f.goal),
                    ("traffic_light", &f.traffic_light),
                ];
                for (column, value) in text_filters {
                    if let Some(v) = value {
                        q.push(format!(" AND {column} = ")).push_bind(v.clone());
                    }
                }
                if with_status && !f.statuses.is_empty() {
                    q.push(" AND status IN (");
                    let mut list = q.separated(", ");
                    for s in &f.statuses {
                        list.push_bind(s.as_str());
                    }
                    q.push(")");
                }
                let today = query.today.to_string();
                match f.overdue {
                    Some(true) => {
                        q.push(" AND lifecycle = 'active' AND next_deadline < ")
                            .push_bind(today);
                    }
                    Some(false) => {
                        q.push(" AND NOT (lifecycle = 'active' AND next_deadline IS NOT NULL AND next_deadline < ")
                            .push_bind(today)
                            .push(")");
                    }
                    None => {}
                }
                if let Some(from) = f.deadline_from {
                    q.push(" AND next_deadline >= ").push_bind(from.to_string());
                }
                if let Some(to) = f.deadline_to {
                    q.push(" AND next_deadline <= ").push_bind(to.to_string());
                }
                if !f.ids.is_empty() {
                    q.push(" AND assignment_id IN (");
                    let mut list = q.separated(", ");
                    for id in &f.ids {
                        list.push_bind(id.clone());
                    }
                    q.push(")");
                }
                if let Some(text) = f.text.as_deref().filter(|t| !t.trim().is_empty()) {
                    q.push(" AND search_text LIKE ")
                        .push_bind(like_pattern(text.trim()))
                        .push(" ESCAPE '\\'");
                }
            }

            /// A row selected as [`ROW_COLUMNS`] (possibly with more columns after them), read
            /// by position: looking every column up by name was a tenth of a board request.
            fn decode(row: &<$db as sqlx::Database>::Row) -> Result<BoardRow, StoreError> {
                let status: String = row.try_get(8)?;
                Ok(BoardRow {
                    assignment_id: row.try_get(0)?,
                    reference: row.try_get(1)?,
                    title: row.try_get(2)?,
                    year: row.try_get(3)?,
                    ministry: row.try_get(4)?,
                    agency: row.try_get(5)?,
                    department: row.try_get(6)?,
                    goal: row.try_get(7)?,
                    status: BoardStatus::parse(&status).ok_or_else(|| {
                        StoreError::Corrupt(format!("unknown board status {status:?}"))
                    })?,
                    lifecycle: row.try_get(9)?,
                    traffic_light: row.try_get(10)?,
                    next_deadline: parse_date(row.try_get(11)?)?,
                    deadline_to_be_agreed: row.try_get(12)?,
                    search_text: row.try_get(13)?,
                    updated_position: row.try_get(14)?,
                    updated_at: parse_time(&row.try_get::<String, _>(15)?)?,
                })
            }

            pub(super) async fn board(pool: &$pool, query: &BoardQuery) -> Result<BoardPage, StoreError> {
                // The total rides along with the page (the sort reads every matching row
                // anyway); only a page past the end needs a count of its own.
                let mut q = QueryBuilder::<$db>::new(format!(
                    "SELECT {ROW_COLUMNS}, count(*) OVER () AS total FROM board_assignments"
                ));
                push_filters(&mut q, query, true);
                q.push(order_by(query.sort, query.descending));
                q.push(" LIMIT ").push_bind(i64::from(query.limit));
                q.push(" OFFSET ").push_bind(i64::try_from(query.offset).unwrap_or(i64::MAX));
                let rows = q.build().fetch_all(pool).await?;
                let total: i64 = match rows.first() {
                    Some(r) => r.try_get("total")?,
                    None => {
                        let mut count =
                            QueryBuilder::<$db>::new("SELECT count(*) FROM board_assignments");
                        push_filters(&mut count, query, true);
                        count.build_query_scalar().fetch_one(pool).await?
                    }
                };
                let rows = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
                Ok(BoardPage { rows, total: total as u64 })
            }

            pub(super) async fn status_counts(
                pool: &$pool,
                query: &BoardQuery,
            ) -> Result<Vec<(BoardStatus, u64)>, StoreError> {
                let mut q = QueryBuilder::<$db>::new("SELECT status, count(*) FROM board_assignments");
                push_filters(&mut q, query, false);
                q.push(" GROUP BY status");
                let rows = q.build().fetch_all(pool).await?;
                let mut counts = Vec::new();
                for r in rows {
                    let status: String = r.try_get(0)?;
                    let n: i64 = r.try_get(1)?;
                    if let Some(s) = BoardStatus::parse(&status) {
                        counts.push((s, n as u64));
                    }
                }
                counts.sort();
                Ok(counts)
            }

            pub(super) async fn row_by_id(
                pool: &$pool,
                scope: &Scope,
                id: &str,
            ) -> Result<Option<BoardRow>, StoreError> {
                let mut q = QueryBuilder::<$db>::new(format!("SELECT {ROW_COLUMNS} FROM board_assignments"));
                push_scope(&mut q, scope);
                q.push(" AND assignment_id = ").push_bind(id.to_owned());
                q.build().fetch_optional(pool).await?.as_ref().map(decode).transpose()
            }

            pub(super) async fn dump(pool: &$pool) -> Result<Vec<BoardRow>, StoreError> {
                let sql = format!("SELECT {ROW_COLUMNS} FROM board_assignments ORDER BY assignment_id");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(decode)
                    .collect()
            }
        }
    };
}

backend_sql!(pg, Postgres, sqlx::PgPool);

mod pg_batch {
    use sqlx::QueryBuilder;

    use super::*;

    /// See [`super::commit_batch`]. Under READ COMMITTED the locking read of the checkpoint
    /// returns its latest committed value, and the guarded update re-checks it, so a batch
    /// another projector overtook writes nothing.
    pub(in super::super) async fn commit_batch(
        pool: &sqlx::PgPool,
        expected: u64,
        last: u64,
        rows: &[BoardRow],
    ) -> Result<bool, StoreError> {
        let mut q = QueryBuilder::<Postgres>::new(
            "WITH cp AS (SELECT position FROM projection_checkpoints WHERE name = ",
        );
        q.push_bind(NAME)
            .push(" FOR UPDATE), ok AS (SELECT 1 FROM cp WHERE position = ")
            .push_bind(expected as i64)
            .push("), ");
        if !rows.is_empty() {
            q.push(format!(
                "upserted AS (INSERT INTO board_assignments ({ROW_COLUMNS}) SELECT * FROM ("
            ));
            super::pg::push_rows(&mut q, rows);
            q.push(format!(
                ") AS v({ROW_COLUMNS}) WHERE EXISTS (SELECT 1 FROM ok){ON_CONFLICT} RETURNING 1), "
            ));
        }
        q.push("moved AS (UPDATE projection_checkpoints SET position = ")
            .push_bind(last as i64)
            .push(" WHERE name = ")
            .push_bind(NAME)
            .push(" AND position = ")
            .push_bind(expected as i64)
            .push(" AND EXISTS (SELECT 1 FROM ok) RETURNING 1) ")
            // The commit of this statement's implicit transaction need not wait for its WAL
            // flush (see `begin_batch`).
            .push(
                "SELECT (SELECT count(*) FROM moved) AS moved, \
                   set_config('synchronous_commit', 'off', true) AS relaxed",
            );
        let moved: i64 = q.build_query_scalar().fetch_one(pool).await?;
        Ok(moved == 1)
    }
}
backend_sql!(lite, Sqlite, sqlx::SqlitePool);
