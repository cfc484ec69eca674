//! `styr backup` and `styr restore`.
//!
//! SQLite: the backup is a consistent copy taken while the service runs (`VACUUM INTO`); a
//! restore verifies the backup's hash chain, replaces the database file (the service must be
//! stopped) and verifies again. PostgreSQL: the same commands run `pg_dump --format=custom` and
//! `pg_restore`, which must be on the PATH, in the version of the server.
//!
//! A restore never overwrites a database that holds events unless `--force` is given, and it
//! ends with a chain verification: exit 0 only when the restored log is intact.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};
use styr_eventstore::{BackendKind, EventStore, StoreOptions, redact_url, sqlite_file};

use crate::settings::Settings;

pub async fn backup(settings: &Settings, out: &Path) -> anyhow::Result<ExitCode> {
    if out.exists() {
        bail!("{} exists already; choose a new file", out.display());
    }
    if BackendKind::from_url(&settings.database_url)? == BackendKind::Sqlite
        && !sqlite_file(&settings.database_url)?.exists()
    {
        bail!(
            "there is no database at {} to back up",
            settings.database_url_redacted()
        );
    }
    let store = open(&settings.database_url).await?;
    let head = store.head().await?;
    match store.backend_kind() {
        BackendKind::Sqlite => {
            store
                .backup_sqlite_to(out)
                .await
                .with_context(|| format!("cannot write the backup to {}", out.display()))?;
        }
        BackendKind::Postgres => {
            run(Command::new("pg_dump")
                .arg("--format=custom")
                .arg("--no-owner")
                .arg("--file")
                .arg(out)
                .arg("--dbname")
                .arg(&settings.database_url))?;
        }
    }
    store.close().await;
    println!(
        "backup of {} written to {} (log position {}, head hash {})",
        settings.database_url_redacted(),
        out.display(),
        head.position,
        head.hash
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn restore(settings: &Settings, from: &Path, force: bool) -> anyhow::Result<ExitCode> {
    if !from.is_file() {
        bail!("{} is not a backup file", from.display());
    }
    let kind = BackendKind::from_url(&settings.database_url)?;
    refuse_to_overwrite(settings, kind, force).await?;
    match kind {
        BackendKind::Sqlite => restore_sqlite(settings, from).await?,
        BackendKind::Postgres => {
            let mut restore = Command::new("pg_restore");
            restore.arg("--no-owner").arg("--exit-on-error");
            if force {
                restore.arg("--clean").arg("--if-exists");
            }
            run(restore
                .arg("--dbname")
                .arg(&settings.database_url)
                .arg(from))?;
        }
    }
    let store = EventStore::connect_without_migrating(&settings.database_url, options()).await?;
    store
        .readiness()
        .await
        .context("the restored database is not a complete Styringsdialog database")?;
    let report = store.verify_chain(1, |_, _| {}).await?;
    store.close().await;
    match report.first_break {
        None => {
            println!(
                "restored {} from {}: chain intact, {} events",
                settings.database_url_redacted(),
                from.display(),
                report.events_checked
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(b) => {
            println!("restored, but the restored log does not verify: {b}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A restore replaces everything: refuse when the target already holds events, unless forced.
async fn refuse_to_overwrite(
    settings: &Settings,
    kind: BackendKind,
    force: bool,
) -> anyhow::Result<()> {
    if force {
        return Ok(());
    }
    if kind == BackendKind::Sqlite && !sqlite_file(&settings.database_url)?.exists() {
        return Ok(());
    }
    let store = open(&settings.database_url).await?;
    let events = match store.readiness().await {
        Ok(()) => store.head().await?.position,
        // An empty database (no schema yet) holds nothing to lose.
        Err(_) => 0,
    };
    store.close().await;
    if events > 0 {
        bail!(
            "{} holds {events} events; restoring would replace them. Stop the service, back it up, and run again with --force",
            settings.database_url_redacted()
        );
    }
    Ok(())
}

async fn restore_sqlite(settings: &Settings, from: &Path) -> anyhow::Result<()> {
    let target = sqlite_file(&settings.database_url)?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    // Copy beside the target and check the copy before touching the target (the backup
    // itself stays untouched: opening a SQLite file writes to it).
    let staging = with_suffix(&target, ".restoring");
    remove_if_present(&[
        staging.clone(),
        with_suffix(&staging, "-wal"),
        with_suffix(&staging, "-shm"),
    ])?;
    std::fs::copy(from, &staging)
        .with_context(|| format!("cannot copy {} to {}", from.display(), staging.display()))?;
    let staged_url = format!("sqlite://{}", staging.display());
    let checked = async {
        let staged = EventStore::connect_without_migrating(&staged_url, options())
            .await
            .with_context(|| format!("{} is not a SQLite database", from.display()))?;
        let report = staged
            .verify_chain(1, |_, _| {})
            .await
            .with_context(|| format!("{} is not a Styringsdialog backup", from.display()));
        staged.close().await;
        match report?.first_break {
            Some(b) => bail!("the backup {} does not verify: {b}", from.display()),
            None => Ok(()),
        }
    }
    .await;
    if let Err(e) = checked {
        let _ = remove_if_present(&[
            staging.clone(),
            with_suffix(&staging, "-wal"),
            with_suffix(&staging, "-shm"),
        ]);
        return Err(e);
    }
    std::fs::File::open(&staging)?.sync_all()?;
    // A stale write-ahead log of the old database must not be replayed onto the restored one.
    remove_if_present(&[
        with_suffix(&staging, "-wal"),
        with_suffix(&staging, "-shm"),
        with_suffix(&target, "-wal"),
        with_suffix(&target, "-shm"),
    ])?;
    std::fs::rename(&staging, &target)?;
    Ok(())
}

fn remove_if_present(paths: &[PathBuf]) -> anyhow::Result<()> {
    for path in paths {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", path.display())),
        }
    }
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn options() -> StoreOptions {
    StoreOptions {
        max_connections: 2,
        ..StoreOptions::default()
    }
}

async fn open(url: &str) -> anyhow::Result<EventStore> {
    EventStore::connect_without_migrating(url, options())
        .await
        .with_context(|| format!("cannot open {}", redact_url(url)))
}

/// Runs an external tool; its own error output explains a failure.
fn run(command: &mut Command) -> anyhow::Result<()> {
    let program = command.get_program().to_string_lossy().into_owned();
    let status = command
        .status()
        .with_context(|| format!("cannot run {program}; is it installed and on the PATH?"))?;
    if !status.success() {
        bail!("{program} failed ({status})");
    }
    Ok(())
}
