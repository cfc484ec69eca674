//! `styr-bench`: benchmarks of the event store, the read models and the GraphQL API over HTTP,
//! each on PostgreSQL and on SQLite and each next to a raw ceiling measured in the same run
//! (the same writes or reads done directly through sqlx). Prints a Markdown table; the
//! results and how to read them are kept in `BENCHMARKS.md`.
//!
//! ```text
//! cargo run --release -p styr-bench -- [--backend sqlite|postgres|both] [--quick] [--only 1,5]
//! ```
//!
//! 1. append, one event per transaction, 1 and 16 writers
//! 2. append, ten events per transaction, 1 and 16 writers
//! 3. `read_all` paging and aggregate loads on a large log
//! 4. projection rebuild from position 0
//! 5. GraphQL `reportStatus` over HTTP, 16 clients
//! 6. GraphQL board query over HTTP, 16 clients
//! 7. hash-chain verification
//! 8. board query latency as the board grows (1k → 100k assignments), with query plans

/// The allocator `styr` runs with, so that the in-process server is measured as it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod db;
mod http;
mod raw;
mod report;
mod seed;
mod store;
mod wrk;

use std::time::Duration;

use clap::{Parser, ValueEnum};
use styr_eventstore::BackendKind;

use crate::report::{Row, ms, thousands};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backends {
    Sqlite,
    Postgres,
    Both,
}

#[derive(Debug, Parser)]
#[command(about = "Benchmarks Styringsdialog against raw SQL ceilings")]
struct Cli {
    /// Which database(s) to run on. PostgreSQL is found through STYR_BENCH_POSTGRES_URL
    /// (default postgres://postgres@127.0.0.1:5432/postgres); databases named styr_bench_*
    /// are created there and dropped afterwards.
    #[arg(long, value_enum, default_value = "both")]
    backend: Backends,
    /// Shorter runs and smaller data sets (100k instead of 1M events; boards up to 10k).
    #[arg(long)]
    quick: bool,
    /// Only these benchmarks (1–8), comma-separated.
    #[arg(long, value_delimiter = ',')]
    only: Vec<u8>,
}

/// Sizes and durations of one run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Measured time of each throughput run.
    pub duration: Duration,
    /// Time run before measuring (connections, caches).
    pub warmup: Duration,
    /// Assignments of ten events each in the large log (benchmarks 3, 4, 7).
    pub big_assignments: usize,
    /// Status reports on the one long stream of the large log.
    pub long_stream: usize,
    /// Assignments the mutations of benchmark 5 spread over.
    pub http_assignments: usize,
    /// Board sizes of benchmark 6.
    pub board_sizes_6: Vec<usize>,
    /// Board sizes of benchmark 8, and how long each is measured.
    pub board_sizes: Vec<usize>,
    pub scale_duration: Duration,
}

impl Plan {
    fn new(quick: bool) -> Self {
        if quick {
            Plan {
                duration: Duration::from_secs(3),
                warmup: Duration::from_millis(500),
                big_assignments: 10_000,
                long_stream: 2_000,
                http_assignments: 10_000,
                board_sizes_6: vec![1_000, 10_000],
                board_sizes: vec![1_000, 10_000],
                scale_duration: Duration::from_secs(2),
            }
        } else {
            Plan {
                duration: Duration::from_secs(5),
                warmup: Duration::from_secs(1),
                big_assignments: 100_000,
                long_stream: 2_000,
                http_assignments: 20_000,
                board_sizes_6: vec![1_000, 10_000],
                board_sizes: vec![1_000, 10_000, 100_000],
                scale_duration: Duration::from_secs(5),
            }
        }
    }
}

/// Progress goes to stderr, the results to stdout.
pub fn progress(line: impl AsRef<str>) {
    eprintln!(
        "[{}] {}",
        chrono::Utc::now().format("%H:%M:%S"),
        line.as_ref()
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let plan = Plan::new(cli.quick);
    let runs = |n: u8| cli.only.is_empty() || cli.only.contains(&n);
    let backends = match cli.backend {
        Backends::Postgres => vec![BackendKind::Postgres],
        Backends::Sqlite => vec![BackendKind::Sqlite],
        Backends::Both => vec![BackendKind::Postgres, BackendKind::Sqlite],
    };
    let started = std::time::Instant::now();
    let load_at_start = load_average();
    let mut rows: Vec<Row> = Vec::new();
    let mut scale = Vec::new();
    let mut plans = Vec::new();
    let mut settings = Vec::new();
    for kind in backends {
        settings.push((kind, durability(kind).await?));
        if runs(1) || runs(2) {
            // The other benchmarks settle after seeding, just before they measure
            // (`Raw::settle`); these seed nothing.
            db::settle_machine(kind).await?;
            rows.extend(store::appends(kind, &plan, runs(1), runs(2)).await?);
        }
        if runs(3) || runs(4) || runs(7) {
            let which = store::LargeLog {
                reads: runs(3),
                rebuild: runs(4),
                verify: runs(7),
            };
            rows.extend(store::large_log(kind, &plan, which).await?);
        }
        if runs(5) {
            rows.extend(http::mutations(kind, &plan).await?);
        }
        if runs(6) || runs(8) {
            let b = http::board(kind, &plan, runs(6), runs(8)).await?;
            rows.extend(b.rows);
            scale.extend(b.scale);
            plans.extend(b.plans);
        }
    }
    rows.sort_by_key(|r| (r.id, r.backend != BackendKind::Postgres));

    println!("# styr-bench results\n");
    println!(
        "- date: {}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    println!(
        "- command: `{}`",
        std::env::args().collect::<Vec<_>>().join(" ")
    );
    println!(
        "- machine: {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory()
    );
    println!(
        "- load average (1/5/15 min) at start: {load_at_start}; at the end: {}",
        load_average()
    );
    println!(
        "- mode: {} (timed runs {} s after {} ms warm-up)",
        if cli.quick { "--quick" } else { "full" },
        plan.duration.as_secs(),
        plan.warmup.as_millis()
    );
    for (kind, s) in &settings {
        println!("- {}: {s}", kind.as_str());
    }
    println!("- total time: {:.0} s\n", started.elapsed().as_secs_f64());
    if !rows.is_empty() {
        println!("{}", report::table(&rows));
    }
    if !scale.is_empty() {
        println!("## Board query latency by board size (1 client)\n");
        println!(
            "| backend | assignments on the board | matching the filter | requests | p50 ms | p99 ms | raw SQL p50 ms |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|");
        for s in &scale {
            println!(
                "| {} | {} | {} | {} | {} | {} | {} |",
                s.backend.as_str(),
                thousands(s.rows as f64),
                thousands(s.matching as f64),
                s.measured.ops,
                ms(s.measured.p50()),
                ms(s.measured.p99()),
                ms(s.raw_p50)
            );
        }
        println!();
    }
    for (kind, size, plan) in &plans {
        println!(
            "### Board query plan, {} with {} assignments\n\n```\n{plan}```\n",
            kind.as_str(),
            thousands(*size as f64)
        );
    }
    Ok(())
}

/// The durability settings the store runs with, read from a scratch database.
async fn durability(kind: BackendKind) -> anyhow::Result<String> {
    let db = db::Scratch::new(kind, "settings").await?;
    let store =
        styr_eventstore::EventStore::connect(db.url(), styr_eventstore::StoreOptions::default())
            .await?;
    let raw = raw::Raw::connect(db.url(), kind).await?;
    let text = raw.durability().await?;
    raw.close().await;
    store.close().await;
    db.remove().await;
    Ok(format!(
        "{text}; pool of {} connections (store and raw alike)",
        styr_eventstore::StoreOptions::default().max_connections
    ))
}

fn memory() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| format!("{:.0} GiB memory", kb / 1024.0 / 1024.0))
        .unwrap_or_else(|| "memory unknown".to_owned())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}
