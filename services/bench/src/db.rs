//! Scratch databases for one benchmark each: a PostgreSQL database named `styr_bench_…` or a
//! SQLite file in its own temporary directory, removed when the benchmark is done (and, as a
//! fallback, when the value is dropped).

use std::path::PathBuf;

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use styr_eventstore::BackendKind;

/// The maintenance database of the PostgreSQL server the benchmarks create databases on.
pub const POSTGRES_ADMIN_URL_VAR: &str = "STYR_BENCH_POSTGRES_URL";
const DEFAULT_POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub fn admin_url() -> String {
    std::env::var(POSTGRES_ADMIN_URL_VAR).unwrap_or_else(|_| DEFAULT_POSTGRES_ADMIN_URL.to_owned())
}

pub struct Scratch {
    url: String,
    cleanup: Option<Cleanup>,
}

enum Cleanup {
    Directory(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl Scratch {
    /// A new, empty database; `label` becomes part of its name.
    pub async fn new(kind: BackendKind, label: &str) -> anyhow::Result<Self> {
        let tag = format!("{}_{label}", std::process::id());
        match kind {
            BackendKind::Sqlite => {
                let dir = std::env::temp_dir().join(format!("styr-bench-{tag}"));
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir)?;
                Ok(Self {
                    url: format!("sqlite://{}", dir.join("styr.db").display()),
                    cleanup: Some(Cleanup::Directory(dir)),
                })
            }
            BackendKind::Postgres => {
                let admin_url = admin_url();
                let name = format!("styr_bench_{tag}");
                let mut admin = PgConnection::connect(&admin_url).await.map_err(|e| {
                    anyhow::anyhow!(
                        "cannot connect to PostgreSQL at {admin_url} ({e}); set {POSTGRES_ADMIN_URL_VAR}"
                    )
                })?;
                for sql in [
                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    format!("CREATE DATABASE {name}"),
                ] {
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut admin)
                        .await?;
                }
                let _ = admin.close().await;
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(base, _)| base.to_owned())
                    .unwrap_or_else(|| admin_url.clone());
                Ok(Self {
                    url: format!("{base}/{name}"),
                    cleanup: Some(Cleanup::Postgres { admin_url, name }),
                })
            }
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Removes the database now. Connections to it must be closed first (PostgreSQL drops
    /// with FORCE anyway).
    pub async fn remove(mut self) {
        if let Some(c) = self.cleanup.take() {
            remove(c).await;
        }
    }
}

async fn remove(cleanup: Cleanup) {
    match cleanup {
        Cleanup::Directory(dir) => {
            let _ = std::fs::remove_dir_all(dir);
        }
        Cleanup::Postgres { admin_url, name } => {
            if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await;
                let _ = admin.close().await;
            }
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Only after an error cut a benchmark short; the normal path calls `remove`.
        if let Some(c) = self.cleanup.take() {
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(remove(c));
                }
            })
            .join();
        }
    }
}

/// Lets the machine go quiet before a benchmark starts, so that it does not pay for the last
/// one's after-effects (PostgreSQL writing out a million events' dirty buffers, the kernel
/// flushing dropped files): a PostgreSQL `CHECKPOINT` when `kind` is PostgreSQL, a `sync`,
/// then waiting until the CPUs are at least 90 % idle for a whole second (at most two
/// minutes, then it goes on and says so).
pub async fn settle_machine(kind: BackendKind) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    if kind == BackendKind::Postgres {
        let mut admin = PgConnection::connect(&admin_url()).await?;
        sqlx::query("CHECKPOINT").execute(&mut admin).await?;
        let _ = admin.close().await;
    }
    tokio::task::spawn_blocking(|| std::process::Command::new("sync").status()).await??;
    let give_up = started + std::time::Duration::from_secs(120);
    let mut before = cpu_times();
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let now = cpu_times();
        let (busy, idle) = (now.0 - before.0, now.1 - before.1);
        if idle >= 9 * busy {
            crate::progress(format!(
                "  machine settled in {:.1} s",
                started.elapsed().as_secs_f64()
            ));
            return Ok(());
        }
        if std::time::Instant::now() >= give_up {
            crate::progress(format!(
                "  the machine stayed busy ({busy} of {} ticks) for two minutes; going on",
                busy + idle
            ));
            return Ok(());
        }
        before = now;
    }
}

/// Busy and idle clock ticks of all CPUs since boot (`/proc/stat`); I/O wait counts as busy,
/// since a flush still going on is what there is to wait for.
fn cpu_times() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        // user, nice, system, idle, iowait, irq, softirq, steal (guest time is in user).
        .take(8)
        .filter_map(|v| v.parse().ok())
        .collect();
    let idle = fields.get(3).copied().unwrap_or(0);
    (fields.iter().sum::<u64>() - idle, idle)
}
