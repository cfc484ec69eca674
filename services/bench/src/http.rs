//! Benchmarks 5, 6 and 8 against the real server, started in this process on a random port
//! (`styr::Application::build`, as `tests/src/lib.rs` does), and driven over HTTP by wrk
//! (see [`crate::wrk`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use serde_json::json;
use styr::auth::{TokenKeys, TokenRequest};
use styr::settings::JwtSecretSource;
use styr_eventstore::{BackendKind, EventStore, StoreOptions};

use crate::Plan;
use crate::db::Scratch;
use crate::raw::{Raw, RawEvent};
use crate::report::{Measured, Row, Target, run_for, thousands};
use crate::{seed, wrk};

const JWT_SECRET: &str = "benchmark-secret-0123456789abcdef-0123456789";

/// Concurrent clients of benchmarks 5 and 6.
pub const CLIENTS: usize = 16;

/// The server, running on its own task.
struct Server {
    port: u16,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Builds and starts the server on `url` with default settings but for the listener,
    /// the token secret and short shutdown/connect timeouts.
    async fn start(url: &str) -> anyhow::Result<Self> {
        // Any STYR_* setting in the benchmark's own environment reaches the server too
        // (e.g. STYR_DATABASE_MAX_CONNECTIONS), except the ones fixed below.
        let mut env: BTreeMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("STYR_") && !k.starts_with("STYR_BENCH_"))
            .collect();
        env.extend([
            ("STYR_DATABASE_URL".to_owned(), url.to_owned()),
            ("STYR_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
            ("STYR_JWT_SECRET".to_owned(), JWT_SECRET.to_owned()),
            ("STYR_SHUTDOWN_TIMEOUT_SECS".to_owned(), "5".to_owned()),
            (
                "STYR_DATABASE_CONNECT_TIMEOUT_SECS".to_owned(),
                "5".to_owned(),
            ),
        ]);
        let settings = styr::Settings::from_sources(&env)?;
        let app = styr::Application::build(&settings).await?;
        let port = app.port();
        let handle = app.handle();
        let task = tokio::spawn(app.run_until_stopped());
        let server = Self { port, handle, task };
        // The deadline monitor and the copy worker make a pass over every stream of their
        // kind at start; measure after they are done.
        wait_idle().await;
        Ok(server)
    }

    async fn stop(self) -> anyhow::Result<()> {
        self.handle.stop(true).await;
        self.task.await??;
        Ok(())
    }
}

/// Waits until this process has used less than 5% of a core for a whole second (at most ten
/// minutes).
async fn wait_idle() {
    let give_up = Instant::now() + Duration::from_secs(600);
    let mut before = cpu_ticks();
    while Instant::now() < give_up {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = cpu_ticks();
        // Clock ticks are 1/100 s on Linux.
        if now.saturating_sub(before) <= 5 {
            return;
        }
        before = now;
    }
}

/// User plus system CPU time of this process, in clock ticks.
fn cpu_ticks() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0;
    };
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `rest` starts at field 3.
    let field = |n: usize| {
        fields
            .get(n - 3)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(14) + field(15)
}

fn token(role: &str, org: &str) -> anyhow::Result<String> {
    let keys = TokenKeys::from_source(&JwtSecretSource::Value(JWT_SECRET.to_owned().into()))?;
    Ok(keys.issue(&TokenRequest {
        role: role.into(),
        org: org.into(),
        sub: None,
        name: None,
        dept: None,
        ttl: Duration::from_secs(3600),
    })?)
}

/// The server's Prometheus text (`GET /metrics`).
async fn scrape(port: u16) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
        let mut text = String::new();
        s.read_to_string(&mut text)?;
        Ok(text)
    })
    .await?
}

/// The sum of every sample of `metric` (its name ends so) whose labels contain `label`.
fn sample_sum(text: &str, metric: &str, label: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let name = series.split('{').next()?;
            (name.ends_with(metric) && series.contains(label)).then(|| value.parse::<f64>().ok())?
        })
        .sum::<f64>()
        // An empty sum is -0.0.
        + 0.0
}

/// Where a mutation's time goes, from the server's own metrics: the mean append against the
/// mean request, and how many appends lost a race.
fn breakdown(metrics: &str) -> String {
    let appends = sample_sum(metrics, "store_append_duration_seconds_count", "");
    let append_secs = sample_sum(metrics, "store_append_duration_seconds_sum", "");
    let requests = sample_sum(metrics, "http_request_duration_seconds_count", "/graphql");
    let request_secs = sample_sum(metrics, "http_request_duration_seconds_sum", "/graphql");
    let conflicts = sample_sum(metrics, "store_appends_total", "conflict");
    format!(
        "server metrics: mean request {:.1} ms, mean append {:.1} ms, {} appends, {} conflicts",
        request_secs / requests.max(1.0) * 1e3,
        append_secs / appends.max(1.0) * 1e3,
        appends,
        conflicts
    )
}

fn errors_note(m: &Measured) -> String {
    if m.errors == 0 {
        String::new()
    } else {
        format!("; {} FAILED requests", m.errors)
    }
}

const REPORT_STATUS: &str = "mutation Report($id: ID!) { reportStatus(id: $id, input: { \
     period: { kind: TERTIAL_2 }, trafficLight: GREEN, progress: \"Arbeidet går etter planen; \
     delrapport er oversendt departementet.\" }) { position } }";

/// Benchmark 5: `reportStatus` by 16 clients, each on its own share of the assignments.
pub async fn mutations(kind: BackendKind, plan: &Plan) -> anyhow::Result<Vec<Row>> {
    let db = Scratch::new(kind, "mutations").await?;
    let n = plan.http_assignments;
    {
        let store = EventStore::connect(db.url(), StoreOptions::default()).await?;
        crate::progress(format!("{}: 5 seeding {n} assignments", kind.as_str()));
        seed::seed(
            &store,
            seed::Shape {
                assignments: 0..n,
                reports: 1,
            },
        )
        .await?;
        store.close().await;
    }
    let raw = Raw::connect(db.url(), kind).await?;
    raw.create_tables().await?;
    raw.settle().await?;
    let server = Server::start(db.url()).await?;
    let tokens: Vec<String> = (0..seed::AGENCIES)
        .map(|a| token("agency", &seed::agency(a)))
        .collect::<anyhow::Result<_>>()?;
    crate::progress(format!("{}: 5 reportStatus over HTTP", kind.as_str()));
    // Every assignment in turn, each by its own agency's coordinator: no two requests in
    // flight address the same assignment.
    let requests: Vec<wrk::Request> = (0..n)
        .map(|index| wrk::Request {
            token: tokens[index % seed::AGENCIES].clone(),
            body: json!({ "query": REPORT_STATUS, "variables": { "id": seed::assignment_id(index) } }),
        })
        .collect();
    let ours = wrk::load(server.port, CLIENTS, plan.warmup, plan.duration, &requests).await?;
    let metrics = breakdown(&scrape(server.port).await?);
    crate::progress(format!("  {metrics}"));
    server.stop().await?;

    // The ceiling of one durable write per command at the same concurrency.
    let ceiling = {
        let raw = raw.clone();
        let payload = serde_json::to_string(&json!({ "progress": "x".repeat(380) }))?;
        let actor = [
            "bench-agency-coordinator".to_owned(),
            "Ola Koordinator".to_owned(),
            "agency".to_owned(),
            "AG03".to_owned(),
        ];
        let next = Arc::new(std::sync::atomic::AtomicI64::new(1));
        run_for(CLIENTS, plan.warmup, plan.duration, move |w, i| {
            let raw = raw.clone();
            let position = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let row = RawEvent::new(position, &format!("w{w}"), i as i64 + 1, &payload, &actor);
            async move {
                raw.insert(&[row]).await?;
                Ok(1)
            }
        })
        .await?
    };
    raw.close().await;
    db.remove().await;
    Ok(vec![
        Row::new(
            "5",
            format!("GraphQL reportStatus over HTTP, {CLIENTS} clients"),
            kind,
        )
        .rate(ours.ops_per_sec(), "commands/s")
        .raw(ceiling.ops_per_sec())
        .latency(&ours)
        .target(Target::AtLeastWithP99(2_000.0, Duration::from_millis(25)))
        .note(format!(
            "{} assignments; raw = 1 INSERT per tx, {CLIENTS} writers; {metrics}{}",
            thousands(n as f64),
            errors_note(&ours)
        )),
    ])
}

/// One line of the board-size table (benchmark 8).
#[derive(Debug, Clone)]
pub struct ScaleRow {
    pub backend: BackendKind,
    pub rows: usize,
    pub matching: usize,
    pub measured: Measured,
    pub raw_p50: Option<Duration>,
}

const BOARD: &str = "query Board($filter: BoardFilterInput) { board(filter: $filter, first: 50) { \
     totalCount edges { node { id reference title status trafficLight nextDeadline overdue } } } }";

/// The board of each agency in turn, as the ministry sees it.
fn board_requests(ministry: &str) -> Vec<wrk::Request> {
    (0..seed::AGENCIES)
        .map(|agency| wrk::Request {
            token: ministry.to_owned(),
            body: json!({ "query": BOARD, "variables": { "filter": { "agency": seed::agency(agency), "year": seed::year() } } }),
        })
        .collect()
}

/// What [`board`] found.
pub struct BoardResults {
    pub rows: Vec<Row>,
    pub scale: Vec<ScaleRow>,
    /// The plan of the board query at each size.
    pub plans: Vec<(BackendKind, usize, String)>,
}

/// Benchmarks 6 (16 clients at each of `plan.board_sizes_6`) and 8 (one client at each of
/// `plan.board_sizes`), growing one database from the smallest size to the largest.
pub async fn board(
    kind: BackendKind,
    plan: &Plan,
    run_6: bool,
    run_8: bool,
) -> anyhow::Result<BoardResults> {
    let db = Scratch::new(kind, "board").await?;
    let store = EventStore::connect(db.url(), StoreOptions::default()).await?;
    let raw = Raw::connect(db.url(), kind).await?;
    let mut sizes: Vec<usize> = if run_8 {
        plan.board_sizes.clone()
    } else {
        Vec::new()
    };
    if run_6 {
        let more: Vec<usize> = plan
            .board_sizes_6
            .iter()
            .copied()
            .filter(|s| !sizes.contains(s))
            .collect();
        sizes.extend(more);
        sizes.sort_unstable();
    }
    let requests = board_requests(&token("ministry", seed::MINISTRY)?);
    let year = i64::from(seed::year());
    let mut results = BoardResults {
        rows: Vec::new(),
        scale: Vec::new(),
        plans: Vec::new(),
    };
    let mut seeded = 0;
    for size in sizes {
        crate::progress(format!("{}: board with {size} assignments", kind.as_str()));
        seed::seed(
            &store,
            seed::Shape {
                assignments: seeded..size,
                reports: 1,
            },
        )
        .await?;
        seeded = size;
        raw.settle().await?;
        let server = Server::start(db.url()).await?;
        // The server projected the new rows while starting; on PostgreSQL, autovacuum would
        // analyze the board table within a minute or so — do it now so the plan is the
        // steady-state one. SQLite has nothing that analyzes by itself, so neither do we.
        raw.settle().await?;
        if run_8 && plan.board_sizes.contains(&size) {
            let measured =
                wrk::load(server.port, 1, plan.warmup, plan.scale_duration, &requests).await?;
            let ceiling = {
                let raw = raw.clone();
                run_for(1, plan.warmup, plan.scale_duration, move |_, i| {
                    let raw = raw.clone();
                    async move {
                        raw.board(&seed::agency(i as usize), year, 50).await?;
                        Ok(1)
                    }
                })
                .await?
            };
            results
                .plans
                .push((kind, size, raw.explain_board(&seed::agency(3), year).await?));
            results.scale.push(ScaleRow {
                backend: kind,
                rows: size,
                matching: size / seed::AGENCIES,
                measured,
                raw_p50: ceiling.p50(),
            });
        }
        if run_6 && plan.board_sizes_6.contains(&size) {
            crate::progress(format!("{}: 6 board query over HTTP", kind.as_str()));
            let ours =
                wrk::load(server.port, CLIENTS, plan.warmup, plan.duration, &requests).await?;
            let ceiling = {
                let raw = raw.clone();
                run_for(CLIENTS, plan.warmup, plan.duration, move |c, i| {
                    let raw = raw.clone();
                    async move {
                        raw.board(&seed::agency(c + i as usize), year, 50).await?;
                        Ok(1)
                    }
                })
                .await?
            };
            results.rows.push(
                Row::new(
                    "6",
                    format!("GraphQL board (first: 50, agency + year filter), {CLIENTS} clients"),
                    kind,
                )
                .rate(ours.ops_per_sec(), "requests/s")
                .raw(ceiling.ops_per_sec())
                .latency(&ours)
                .target(Target::AtLeastWithP99(3_000.0, Duration::from_millis(20)))
                .note(format!(
                    "{} rows, {} match; raw = the board's SQL statement{}",
                    thousands(size as f64),
                    thousands((size / seed::AGENCIES) as f64),
                    errors_note(&ours)
                )),
            );
        }
        server.stop().await?;
    }
    store.close().await;
    raw.close().await;
    db.remove().await;
    Ok(results)
}
