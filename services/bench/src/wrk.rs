//! The load generator of benchmarks 5, 6 and 8: [wrk](https://github.com/wg/wrk) (Debian's
//! `wrk` package), driven by `services/bench/wrk/graphql.lua`. The bench writes the requests
//! (a bearer token and a GraphQL body each) to a file; wrk's threads send them in turn over
//! keep-alive connections, each connection sending its next request when the last one was
//! answered, and count a response as failed unless it is HTTP 200 without `errors`.
//!
//! wrk runs as its own process on the cores the server and the database share, as any load
//! generator here must; it is written in C and spends far less of them than a client built
//! from the server's own HTTP stack.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::report::Measured;

const SCRIPT: &str = include_str!("../wrk/graphql.lua");

/// One request: the bearer token it carries and its GraphQL body.
pub struct Request {
    pub token: String,
    pub body: Value,
}

/// `clients` connections POSTing `requests` in turn to `/graphql` on `port`: a warm-up of
/// `warmup` (its failures are reported, its numbers dropped), then `duration` measured.
/// wrk counts whole seconds, so both are rounded up to one.
pub async fn load(
    port: u16,
    clients: usize,
    warmup: Duration,
    duration: Duration,
    requests: &[Request],
) -> anyhow::Result<Measured> {
    let threads = clients.min(
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(2),
    );
    anyhow::ensure!(
        requests.len() >= threads,
        "wrk needs at least one request per thread ({threads}), got {}",
        requests.len()
    );
    let files = Files::write(requests)?;
    let pass = |time: Duration| {
        let args = Args {
            port,
            clients,
            threads,
            seconds: time.as_secs_f64().ceil().max(1.0) as u64,
        };
        let (script, data) = (files.script.clone(), files.requests.clone());
        async move { tokio::task::spawn_blocking(move || run(&args, &script, &data)).await? }
    };
    let warm = pass(warmup).await?;
    report_failures("warm-up", &warm);
    let measured = pass(duration).await?;
    report_failures("measured run", &measured);
    Ok(measured)
}

fn report_failures(what: &str, m: &Measured) {
    if m.errors > 0 {
        crate::progress(format!(
            "  {what}: {} request(s) failed; first: {}",
            m.errors,
            m.first_error.as_deref().unwrap_or("?")
        ));
    }
}

struct Args {
    port: u16,
    clients: usize,
    threads: usize,
    seconds: u64,
}

fn run(args: &Args, script: &Path, requests: &Path) -> anyhow::Result<Measured> {
    let output = Command::new("wrk")
        .arg(format!("--threads={}", args.threads))
        .arg(format!("--connections={}", args.clients))
        .arg(format!("--duration={}s", args.seconds))
        .arg("--timeout=30s")
        .arg(format!("--script={}", script.display()))
        .arg(format!("http://127.0.0.1:{}/graphql", args.port))
        .arg("--")
        .arg(requests)
        .arg(args.threads.to_string())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => anyhow::anyhow!(
                "wrk is not installed; benchmarks 5, 6 and 8 load the server with it \
                 (Debian: apt-get install wrk)"
            ),
            _ => anyhow::anyhow!("starting wrk: {e}"),
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    anyhow::ensure!(
        output.status.success(),
        "wrk failed ({}): {}{}",
        output.status,
        stdout.trim(),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    parse(&stdout)
}

/// Reads the `styr-wrk` line the script's `done()` prints.
fn parse(stdout: &str) -> anyhow::Result<Measured> {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("styr-wrk "))
        .ok_or_else(|| anyhow::anyhow!("wrk printed no result line: {stdout}"))?;
    let (numbers, first_failure) = line.split_once(" first_failure=").unwrap_or((line, ""));
    let value = |key: &str| -> anyhow::Result<u64> {
        numbers
            .split(' ')
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
            .ok_or_else(|| anyhow::anyhow!("wrk's result line has no {key}: {line}"))?
            .parse()
            .map_err(|e| anyhow::anyhow!("wrk's {key}: {e}"))
    };
    let requests = value("requests")?;
    let failed = value("failed")?;
    let errors = failed + value("socket_errors")?;
    let ok = requests.saturating_sub(failed);
    Ok(Measured {
        ops: ok,
        events: ok,
        elapsed: Duration::from_micros(value("duration_us")?),
        latencies: Vec::new(),
        reported: Some((
            Duration::from_micros(value("p50_us")?),
            Duration::from_micros(value("p99_us")?),
        )),
        errors,
        first_error: (errors > 0).then(|| match first_failure {
            "" => "a socket error (connect, read, write or timeout)".to_owned(),
            f => f.to_owned(),
        }),
    })
}

/// The script and the requests, in files of their own, removed when dropped.
struct Files {
    script: PathBuf,
    requests: PathBuf,
}

impl Files {
    fn write(requests: &[Request]) -> anyhow::Result<Self> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let stem = std::env::temp_dir().join(format!(
            "styr-bench-{}-wrk-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let files = Self {
            script: stem.with_extension("lua"),
            requests: stem.with_extension("tsv"),
        };
        std::fs::write(&files.script, SCRIPT)?;
        let mut text = String::new();
        for r in requests {
            anyhow::ensure!(
                !r.token.contains(['\t', '\n']),
                "a token with a tab or newline cannot go into wrk's request file"
            );
            text.push_str(&r.token);
            text.push('\t');
            // serde_json writes no raw newline: one body per line.
            text.push_str(&serde_json::to_string(&r.body)?);
            text.push('\n');
        }
        std::fs::write(&files.requests, text)?;
        Ok(files)
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.script);
        let _ = std::fs::remove_file(&self.requests);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_line_becomes_a_measurement() {
        let m = parse(
            "Running 5s test\nstyr-wrk requests=1000 duration_us=5000000 p50_us=1200 \
             p99_us=9000 failed=3 socket_errors=1 first_failure=HTTP 200: {\"errors\": [x]}\n",
        )
        .unwrap();
        assert_eq!((m.ops, m.errors), (997, 4));
        assert_eq!(m.ops_per_sec(), 199.4);
        assert_eq!(m.p50(), Some(Duration::from_micros(1200)));
        assert_eq!(m.p99(), Some(Duration::from_micros(9000)));
        assert_eq!(
            m.first_error.as_deref(),
            Some("HTTP 200: {\"errors\": [x]}")
        );
    }

    #[test]
    fn a_run_without_failures_has_no_first_error_and_no_result_line_is_an_error() {
        let m = parse(
            "styr-wrk requests=10 duration_us=1000000 p50_us=1 p99_us=2 failed=0 \
             socket_errors=0 first_failure=\n",
        )
        .unwrap();
        assert_eq!((m.ops, m.errors, m.first_error), (10, 0, None));
        assert!(parse("Running 5s test\n").is_err());
    }
}
