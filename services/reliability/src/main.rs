//! The reliability harness:
//! `cargo run -p styr-reliability -- [--long] [--only a,b] [--backend sqlite|postgres] [--with-db-restart]`.
//!
//! Each scenario runs the real `styr serve` binary against a fresh database and prints
//! `name: passed N/N`; a closing summary says whether everything held. The quick run (the
//! default, part of `.ci/run`) takes a minute or two; `--long` is the on-demand soak.
//!
//! - **crash** (both backends): 16 clients send status reports; the server is killed with
//!   SIGKILL at random moments (5 times quick, 20 long) and restarted. Every acknowledged
//!   report is stored exactly once, no command twice, the chain verifies, and the read model
//!   equals a rebuild.
//! - **contention** (both): 32 writers on one assignment: every acknowledged report stored
//!   once, stream versions contiguous.
//! - **bad-input** (SQLite): ≥ 1000 generated malformed bodies, documents and variables: no
//!   5xx, the server stays up, the log does not move; oversized and deep requests refused.
//! - **sqlite-second-process**: another process holds the database's write lock for seconds
//!   while clients write; they wait or get retryable errors; nothing is corrupted or lost.
//! - **two-servers** (PostgreSQL): two `styr serve` on one database under load: both serve
//!   the same board, every acknowledged report is stored once, the read model equals a rebuild.
//! - **db-restart** (PostgreSQL, `--with-db-restart`; needs root): PostgreSQL is restarted
//!   (stopped with `-m immediate`, started 2 s later) under load: the server reports not-ready, recovers by itself, clients
//!   only ever see retryable errors, nothing acknowledged is lost.

mod clients;
mod fuzz;
mod server;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::json;
use styr_eventstore::BackendKind;
use styr_eventstore::testing::TestDatabase;

use clients::{Clients, check_acks, check_log_and_read_model, open};
use server::{Server, Target, seed_assignments, token};

/// `Ok` when `holds`, else the message.
fn ensure(holds: bool, message: impl FnOnce() -> String) -> anyhow::Result<()> {
    if holds {
        Ok(())
    } else {
        Err(anyhow::anyhow!(message()))
    }
}

/// One scenario's result line.
struct Outcome {
    name: String,
    passed: usize,
    total: usize,
    problems: Vec<String>,
}

impl Outcome {
    fn new(name: impl Into<String>) -> Self {
        Outcome {
            name: name.into(),
            passed: 0,
            total: 0,
            problems: Vec::new(),
        }
    }

    fn check(&mut self, ok: anyhow::Result<()>) {
        self.total += 1;
        match ok {
            Ok(()) => self.passed += 1,
            Err(e) => self.problems.push(format!("{e:#}")),
        }
    }
}

#[derive(Clone, Copy)]
struct Plan {
    kills: usize,
    contention_reports: usize,
    fuzz_inputs: usize,
    two_server_secs: u64,
}

const QUICK: Plan = Plan {
    kills: 5,
    contention_reports: 96,
    fuzz_inputs: 1200,
    two_server_secs: 4,
};
const LONG: Plan = Plan {
    kills: 20,
    contention_reports: 640,
    fuzz_inputs: 6000,
    two_server_secs: 30,
};

fn random_below(n: u64) -> u64 {
    u64::from_le_bytes(
        uuid::Uuid::new_v4().as_bytes()[..8]
            .try_into()
            .unwrap_or([0; 8]),
    ) % n.max(1)
}

fn wait_for_acks(clients: &Clients, at_least: usize, within: Duration) {
    let started = Instant::now();
    while clients.acked() < at_least && started.elapsed() < within {
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn crash(kind: BackendKind, plan: Plan) -> anyhow::Result<Outcome> {
    let mut out = Outcome::new(format!("crash ({})", kind.as_str()));
    let db = TestDatabase::new(kind).await;
    let mut server = Server::start(db.url(), &[])?;
    let ids = seed_assignments(server.port, 16)?;
    let target = Arc::new(Target::new(server.port));
    let clients = Clients::start(&target, &token("agency", "DMP")?, &ids, 16);
    for _ in 0..plan.kills {
        let before = clients.acked();
        wait_for_acks(&clients, before + 16, Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(random_below(400)));
        server.restart()?;
        target.set(server.port);
        let acks = clients.acks.lock().unwrap().clone();
        let store = open(db.url()).await?;
        out.check(check_acks(&store, &acks).await);
        store.close().await;
    }
    wait_for_acks(&clients, clients.acked() + 16, Duration::from_secs(20));
    let (acks, _) = clients.finish();
    server.stop();
    let store = open(db.url()).await?;
    out.check(check_acks(&store, &acks).await);
    store.close().await;
    out.check(check_log_and_read_model(db.url()).await);
    println!(
        "  crash ({}): {} reports acknowledged across {} kills",
        kind.as_str(),
        acks.len(),
        plan.kills
    );
    Ok(out)
}

async fn contention(kind: BackendKind, plan: Plan) -> anyhow::Result<Outcome> {
    let mut out = Outcome::new(format!("contention ({})", kind.as_str()));
    let db = TestDatabase::new(kind).await;
    let mut server = Server::start(db.url(), &[])?;
    let ids = seed_assignments(server.port, 1)?;
    let target = Arc::new(Target::new(server.port));
    let clients = Clients::start(&target, &token("agency", "DMP")?, &ids, 32);
    wait_for_acks(&clients, plan.contention_reports, Duration::from_secs(120));
    let (acks, failures) = clients.finish();
    server.stop();
    let store = open(db.url()).await?;
    out.check(check_acks(&store, &acks).await);
    let stream = styr_eventstore::StreamId::new("assignment", &ids[0])?;
    let versions: Vec<u64> = store
        .read_stream(&stream, 0)
        .await?
        .iter()
        .map(|e| e.version)
        .collect();
    let contiguous = versions.iter().enumerate().all(|(i, v)| *v == i as u64 + 1);
    out.check(ensure(contiguous, || {
        format!("versions are not contiguous: {versions:?}")
    }));
    out.check(ensure(failures.unclear.is_empty(), || {
        format!("non-retryable errors: {:?}", &failures.unclear[..1])
    }));
    store.close().await;
    println!(
        "  contention ({}): {} reports on one assignment by 32 writers, {} retried answers",
        kind.as_str(),
        acks.len(),
        failures.retryable
    );
    Ok(out)
}

async fn bad_input(plan: Plan) -> anyhow::Result<Outcome> {
    let mut out = Outcome::new("bad-input (sqlite)");
    let db = TestDatabase::new(BackendKind::Sqlite).await;
    let mut server = Server::start(db.url(), &[("STYR_MAX_BODY_BYTES", "65536")])?;
    let ids = seed_assignments(server.port, 2)?;
    let store = open(db.url()).await?;
    let head = store.head().await?;
    let agency = token("agency", "DMP")?;
    for input in fuzz::inputs(plan.fuzz_inputs, &ids) {
        let token = input.authenticated.then_some(agency.as_str());
        let result = server::post_raw(server.port, token, &input.body, Duration::from_secs(20));
        out.check(match result {
            Ok((status, _)) if status < 500 => Ok(()),
            Ok((status, body)) => Err(anyhow::anyhow!("{status} for {:?}: {body}", input.what)),
            Err(e) => Err(anyhow::anyhow!("no answer for {:?}: {e}", input.what)),
        });
    }
    // The limits refuse what is too big or too deep, with their codes.
    let big = format!(
        "{{\"query\":\"{{ version }}\",\"x\":\"{}\"}}",
        "a".repeat(70_000)
    );
    let (status, _) = server::post_raw(server.port, None, big.as_bytes(), Duration::from_secs(20))?;
    out.check(ensure(status == 413, || {
        format!("an oversized body got {status}, not 413")
    }));
    let deep = format!("{{ {}version{} }}", "me { ".repeat(60), " }".repeat(60));
    let body = serde_json::to_vec(&json!({ "query": deep }))?;
    let (_, answer) = server::post_raw(server.port, Some(&agency), &body, Duration::from_secs(20))?;
    out.check(
        if answer["errors"][0]["extensions"]["code"] == "LIMIT_EXCEEDED"
            || answer["errors"][0]["extensions"]["code"] == "VALIDATION"
        {
            Ok(())
        } else {
            Err(anyhow::anyhow!("a deep query got {answer}"))
        },
    );
    out.check(match server::get(server.port, "/healthz") {
        Ok((200, _)) => Ok(()),
        other => Err(anyhow::anyhow!(
            "the server is not healthy after the fuzzing: {other:?}"
        )),
    });
    let after = store.head().await?;
    out.check(ensure(after == head, || {
        format!("the log moved from {} to {}", head.position, after.position)
    }));
    store.close().await;
    server.stop();
    Ok(out)
}

async fn sqlite_second_process() -> anyhow::Result<Outcome> {
    use sqlx::Connection;
    let mut out = Outcome::new("sqlite-second-process");
    let db = TestDatabase::new(BackendKind::Sqlite).await;
    let mut server = Server::start(db.url(), &[])?;
    let ids = seed_assignments(server.port, 4)?;
    let target = Arc::new(Target::new(server.port));
    let clients = Clients::start(&target, &token("agency", "DMP")?, &ids, 4);
    wait_for_acks(&clients, 8, Duration::from_secs(20));
    // Another process takes the write lock and sits on it.
    let mut other = sqlx::SqliteConnection::connect(db.url()).await?;
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut other).await?;
    let during = clients.acked();
    std::thread::sleep(Duration::from_secs(3));
    let stalled = clients.acked() - during;
    sqlx::query("ROLLBACK").execute(&mut other).await?;
    other.close().await?;
    let resumed = clients.acked();
    wait_for_acks(&clients, resumed + 8, Duration::from_secs(20));
    out.check(ensure(clients.acked() >= resumed + 8, || {
        "writes did not resume after the lock was released".to_owned()
    }));
    // A second `styr` process reading the same file while the server writes.
    let verify = std::process::Command::new(server::styr_binary()?)
        .args(["audit", "verify"])
        .env_clear()
        .env("STYR_DATABASE_URL", db.url())
        .env("STYR_JWT_SECRET", server::SECRET)
        .output()?;
    out.check(ensure(verify.status.success(), || {
        format!(
            "a second process could not verify: {}",
            String::from_utf8_lossy(&verify.stderr)
        )
    }));
    let (acks, failures) = clients.finish();
    server.stop();
    out.check(ensure(failures.unclear.is_empty(), || {
        format!("unclear errors while locked: {:?}", &failures.unclear[..1])
    }));
    let store = open(db.url()).await?;
    out.check(check_acks(&store, &acks).await);
    let integrity: (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(match store.pool() {
            styr_eventstore::Pool::Sqlite(p) => p,
            styr_eventstore::Pool::Postgres(_) => bail!("not SQLite"),
        })
        .await?;
    out.check(ensure(integrity.0 == "ok", || {
        format!("integrity_check: {}", integrity.0)
    }));
    store.close().await;
    out.check(check_log_and_read_model(db.url()).await);
    println!(
        "  sqlite-second-process: {stalled} reports acknowledged while locked for 3 s, {} retryable answers",
        failures.retryable
    );
    Ok(out)
}

async fn two_servers(plan: Plan) -> anyhow::Result<Outcome> {
    let mut out = Outcome::new("two-servers (postgres)");
    let db = TestDatabase::new(BackendKind::Postgres).await;
    let mut a = Server::start(db.url(), &[])?;
    let mut b = Server::start(db.url(), &[])?;
    let ids = seed_assignments(a.port, 16)?;
    let agency = token("agency", "DMP")?;
    let (ta, tb) = (Arc::new(Target::new(a.port)), Arc::new(Target::new(b.port)));
    let left = Clients::start(&ta, &agency, &ids[..8], 8);
    let right = Clients::start(&tb, &agency, &ids[8..], 8);
    std::thread::sleep(Duration::from_secs(plan.two_server_secs));
    let (mut acks, _) = left.finish();
    acks.extend(right.finish().0);
    // Both servers' read models catch up with the same log: they must show the same board.
    let board = |port| -> anyhow::Result<serde_json::Value> {
        let hod = token("ministry", "HOD")?;
        let q = "{ board(first: 100, sort: REFERENCE) { edges { node { id trafficLight } } } }";
        Ok(server::gql(port, &hod, q, json!({}))?.1["data"].clone())
    };
    let started = Instant::now();
    let mut same = false;
    while started.elapsed() < Duration::from_secs(20) {
        if board(a.port)? == board(b.port)? {
            same = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    out.check(ensure(same, || {
        "the two servers show different boards".to_owned()
    }));
    a.stop();
    b.stop();
    let store = open(db.url()).await?;
    out.check(check_acks(&store, &acks).await);
    store.close().await;
    out.check(check_log_and_read_model(db.url()).await);
    println!(
        "  two-servers: {} reports acknowledged by two servers",
        acks.len()
    );
    Ok(out)
}

async fn db_restart() -> anyhow::Result<Outcome> {
    let mut out = Outcome::new("db-restart (postgres)");
    let db = TestDatabase::new(BackendKind::Postgres).await;
    let mut server = Server::start(db.url(), &[])?;
    let ids = seed_assignments(server.port, 16)?;
    let target = Arc::new(Target::new(server.port));
    let clients = Clients::start(&target, &token("agency", "DMP")?, &ids, 16);
    wait_for_acks(&clients, 32, Duration::from_secs(20));
    let version = std::fs::read_dir("/etc/postgresql")
        .context("PostgreSQL's configuration is not in /etc/postgresql")?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .max()
        .context("no PostgreSQL cluster")?;
    let port = server.port;
    let watcher = std::thread::spawn(move || {
        // Did /readyz say "not ready" at some point during the restart?
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if server::get(port, "/readyz").is_ok_and(|(s, _)| s == 503) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    });
    // Down for two seconds (an immediate stop, like a crash), then up again: long enough that
    // the server must notice, whatever the machine's speed.
    let pg = |action: &str| {
        let mut args = vec![
            "--skip-systemctl-redirect",
            version.as_str(),
            "main",
            action,
        ];
        if action == "stop" {
            args.extend(["-m", "immediate"]);
        }
        std::process::Command::new("pg_ctlcluster")
            .args(&args)
            .status()
    };
    if !pg("stop").context("pg_ctlcluster")?.success() {
        bail!("pg_ctlcluster stop failed (this scenario needs root)");
    }
    std::thread::sleep(Duration::from_secs(2));
    if !pg("start").context("pg_ctlcluster")?.success() {
        bail!("pg_ctlcluster start failed: PostgreSQL is down");
    }
    let saw_not_ready = watcher.join().unwrap_or(false);
    out.check(ensure(saw_not_ready, || {
        "/readyz never reported not-ready during the restart".to_owned()
    }));
    out.check(server.wait_ready(Duration::from_secs(60)));
    let after = clients.acked();
    wait_for_acks(&clients, after + 32, Duration::from_secs(30));
    out.check(ensure(clients.acked() >= after + 32, || {
        "writes did not resume after the restart".to_owned()
    }));
    let (acks, failures) = clients.finish();
    server.stop();
    out.check(ensure(failures.unclear.is_empty(), || {
        format!(
            "{} answers were not retryable, e.g. {}",
            failures.unclear.len(),
            failures.unclear[0]
        )
    }));
    let store = open(db.url()).await?;
    out.check(check_acks(&store, &acks).await);
    store.close().await;
    out.check(check_log_and_read_model(db.url()).await);
    println!(
        "  db-restart: {} reports acknowledged; {} transport errors and {} retryable answers during the restart",
        acks.len(),
        failures.transport,
        failures.retryable
    );
    Ok(out)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let plan = if args.iter().any(|a| a == "--long") {
        LONG
    } else {
        QUICK
    };
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.split(',').map(str::to_owned).collect());
    let with_db_restart = args.iter().any(|a| a == "--with-db-restart");
    let backend = args
        .iter()
        .position(|a| a == "--backend")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let backends: Vec<BackendKind> = [BackendKind::Sqlite, BackendKind::Postgres]
        .into_iter()
        .filter(|k| backend.as_deref().is_none_or(|b| b == k.as_str()))
        .collect();
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == name));
    let started = Instant::now();
    let mut outcomes: Vec<anyhow::Result<Outcome>> = Vec::new();
    for &kind in &backends {
        if wanted("crash") {
            outcomes.push(crash(kind, plan).await);
        }
    }
    for &kind in &backends {
        if wanted("contention") {
            outcomes.push(contention(kind, plan).await);
        }
    }
    if wanted("bad-input") {
        outcomes.push(bad_input(plan).await);
    }
    if wanted("sqlite-second-process") {
        outcomes.push(sqlite_second_process().await);
    }
    if wanted("two-servers") {
        outcomes.push(two_servers(plan).await);
    }
    if with_db_restart && wanted("db-restart") {
        outcomes.push(db_restart().await);
    }
    let mut all_ok = true;
    for o in &outcomes {
        match o {
            Ok(o) => {
                println!("{}: passed {}/{}", o.name, o.passed, o.total);
                for p in &o.problems {
                    println!("  problem: {p}");
                }
                all_ok &= o.passed == o.total;
            }
            Err(e) => {
                println!("scenario failed to run: {e:#}");
                all_ok = false;
            }
        }
    }
    println!(
        "reliability: {} scenarios, {} in {:.0} s",
        outcomes.len(),
        if all_ok { "all passed" } else { "FAILURES" },
        started.elapsed().as_secs_f64()
    );
    if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
