//! Fresh, throw-away databases for tests: one per test, so tests run in parallel without
//! sharing state. PostgreSQL tests never skip: if the server cannot be reached they fail with
//! a message saying which URL was tried.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::store::BackendKind;

/// Where the test PostgreSQL server is; a maintenance database on it is used to create and drop
/// the per-test databases.
pub const POSTGRES_ADMIN_URL_VAR: &str = "STYR_TEST_POSTGRES_URL";
const DEFAULT_POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// Databases left behind by crashed test runs are dropped once they are this old.
const STALE_AFTER_SECS: u64 = 2 * 60 * 60;

/// A database that exists for the lifetime of this value.
pub struct TestDatabase {
    url: String,
    kind: BackendKind,
    cleanup: Cleanup,
}

enum Cleanup {
    Directory(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    pub async fn new(kind: BackendKind) -> Self {
        match kind {
            BackendKind::Sqlite => Self::sqlite(),
            BackendKind::Postgres => Self::postgres().await,
        }
    }

    /// A new SQLite file in its own temporary directory.
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("styr-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("create a temporary directory for a test database");
        Self {
            url: format!("sqlite://{}", dir.join("styr.db").display()),
            kind: BackendKind::Sqlite,
            cleanup: Cleanup::Directory(dir),
        }
    }

    /// A new, empty PostgreSQL database on the test server.
    pub async fn postgres() -> Self {
        let admin_url = admin_url();
        let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL tests need a server: cannot connect to {admin_url} ({e}). \
                 Start PostgreSQL or set {POSTGRES_ADMIN_URL_VAR}."
            )
        });
        drop_stale_databases(&mut admin).await;
        let now = unix_now();
        let name = format!("styr_t_{now}_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("create test database {name}: {e}"));
        let _ = admin.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map(|(base, _)| base)
            .unwrap_or(&admin_url);
        Self {
            url: format!("{base}/{name}"),
            kind: BackendKind::Postgres,
            cleanup: Cleanup::Postgres { admin_url, name },
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn kind(&self) -> BackendKind {
        self.kind
    }

    /// The PostgreSQL database's name; `None` for SQLite.
    pub fn postgres_name(&self) -> Option<&str> {
        match &self.cleanup {
            Cleanup::Postgres { name, .. } => Some(name),
            Cleanup::Directory(_) => None,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Directory(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop runs inside the test's runtime; a separate thread with its own runtime
                // can block on the DROP without stalling it.
                let dropper = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build();
                    if let Ok(rt) = rt {
                        rt.block_on(async {
                            if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                                let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                                    .execute(&mut admin)
                                    .await;
                            }
                        });
                    }
                });
                let _ = dropper.join();
            }
        }
    }
}

/// The maintenance database URL of the test PostgreSQL server.
pub fn admin_url() -> String {
    std::env::var(POSTGRES_ADMIN_URL_VAR).unwrap_or_else(|_| DEFAULT_POSTGRES_ADMIN_URL.to_owned())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn drop_stale_databases(admin: &mut PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'styr\\_t\\_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    let cutoff = unix_now().saturating_sub(STALE_AFTER_SECS);
    for name in names {
        let created = name
            .split('_')
            .nth(2)
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(u64::MAX);
        if created < cutoff {
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut *admin)
                .await;
        }
    }
}

/// Generates every listed `async fn name(db: TestDatabase)` test twice, as `sqlite::name` and
/// `postgres::name`, each on its own fresh database.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::testing::TestDatabase::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::testing::TestDatabase::postgres().await).await;
                }
            )*
        }
    };
}

/// A directory of its own under the system's temporary directory, removed with everything in
/// it when dropped: the working directory of a test that runs the `styr` binary. Derefs to
/// its path.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// A new, empty directory named `<label>-<uuid>`.
    pub fn new(label: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{label}-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("create a scratch directory");
        Self(dir)
    }
}

impl std::ops::Deref for ScratchDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for ScratchDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestDatabase {
    /// Runs one SQL statement on a connection of its own, outside the store: how tests play
    /// an attacker with database access.
    pub async fn exec_raw(&self, sql: &str) -> Result<u64, String> {
        use sqlx::Connection as _;
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self.kind() {
            BackendKind::Postgres => {
                let mut c = PgConnection::connect(self.url())
                    .await
                    .map_err(|e| e.to_string())?;
                let r = sqlx::query(sql).execute(&mut c).await;
                let _ = c.close().await;
                r.map(|r| r.rows_affected()).map_err(|e| e.to_string())
            }
            BackendKind::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(self.url())
                    .await
                    .map_err(|e| e.to_string())?;
                let r = sqlx::query(sql).execute(&mut c).await;
                let _ = c.close().await;
                r.map(|r| r.rows_affected()).map_err(|e| e.to_string())
            }
        }
    }

    /// What an attacker with database access would do first: drop the append-only guards.
    pub async fn disable_append_only(&self) {
        let statements: &[&str] = match self.kind() {
            BackendKind::Postgres => &["ALTER TABLE events DISABLE TRIGGER USER"],
            BackendKind::Sqlite => &[
                "DROP TRIGGER events_no_update",
                "DROP TRIGGER events_no_delete",
            ],
        };
        for sql in statements {
            self.exec_raw(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }

    /// A *consistent* rewrite: replaces the payload of the event at `position` and recomputes
    /// every hash from there to the head, so the chain alone still verifies. Only a signed
    /// checkpoint taken before shows it.
    pub async fn rewrite_history(
        &self,
        store: &crate::EventStore,
        position: u64,
        payload: serde_json::Value,
    ) {
        self.disable_append_only().await;
        let head = store.head().await.expect("head");
        let mut events = Vec::new();
        let mut after = position - 1;
        while after < head.position {
            let page = store.read_all(after, 1000).await.expect("read");
            after = page.last().map_or(head.position, |e| e.position);
            events.extend(page);
        }
        let mut prev = events[0].prev_hash.clone();
        for (i, e) in events.iter_mut().enumerate() {
            if i == 0 {
                e.payload_text = crate::canonical_json(&payload);
                e.payload = payload.clone();
            }
            e.prev_hash = prev;
            e.hash = crate::recompute_hash(e);
            prev = e.hash.clone();
            let sql = format!(
                "UPDATE events SET payload = '{}', prev_hash = '{}', hash = '{}' WHERE position = {}",
                e.payload_text.replace('\'', "''"),
                e.prev_hash,
                e.hash,
                e.position
            );
            self.exec_raw(&sql).await.expect("rewrite");
        }
        self.exec_raw(&format!("UPDATE log_head SET hash = '{prev}' WHERE id = 1"))
            .await
            .expect("rewrite head");
    }
}
