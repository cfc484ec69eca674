//! Measurements and the table they are printed as: one row per benchmark and backend, with
//! the raw ceiling measured in the same run, the ratio to it, latencies, the target and
//! whether it was met.

use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use styr_eventstore::BackendKind;

/// What a timed run saw: operations, the events they carried, how long it took, and the
/// latency of every operation (or, from an outside load generator, its p50 and p99).
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub ops: u64,
    pub events: u64,
    pub elapsed: Duration,
    pub latencies: Vec<Duration>,
    /// p50 and p99 as reported by a load generator that keeps its own histogram (wrk);
    /// used when `latencies` is empty.
    pub reported: Option<(Duration, Duration)>,
    /// Operations that failed (HTTP errors, GraphQL errors); they are not in `ops`.
    pub errors: u64,
    pub first_error: Option<String>,
}

impl Measured {
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn events_per_sec(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn percentile(&self, p: f64) -> Option<Duration> {
        if self.latencies.is_empty() {
            return None;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        Some(sorted[rank.clamp(1, sorted.len()) - 1])
    }

    pub fn p50(&self) -> Option<Duration> {
        self.percentile(50.0).or(self.reported.map(|r| r.0))
    }

    pub fn p99(&self) -> Option<Duration> {
        self.percentile(99.0).or(self.reported.map(|r| r.1))
    }

    /// One run of `f` timed as a single operation carrying `events`.
    pub fn once(elapsed: Duration, events: u64) -> Self {
        Self {
            ops: 1,
            events,
            elapsed,
            latencies: vec![elapsed],
            ..Self::default()
        }
    }
}

/// Runs `workers` concurrent loops of `op(worker, iteration)` for `warmup + duration`; only
/// operations started after the warm-up count. `op` returns how many events it carried.
pub async fn run_for<F, Fut>(
    workers: usize,
    warmup: Duration,
    duration: Duration,
    op: F,
) -> anyhow::Result<Measured>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<u64>> + Send + 'static,
{
    let op = Arc::new(op);
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let mut tasks = Vec::with_capacity(workers);
    for w in 0..workers {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut events = 0;
            let mut i = 0;
            let mut last_end = measure_from;
            loop {
                let started = Instant::now();
                if started >= end {
                    break;
                }
                let n = op(w, i).await?;
                let finished = Instant::now();
                if started >= measure_from {
                    latencies.push(finished - started);
                    events += n;
                    last_end = finished;
                }
                i += 1;
            }
            anyhow::Ok((latencies, events, last_end))
        }));
    }
    let mut measured = Measured::default();
    let mut last = measure_from;
    for t in tasks {
        let (latencies, events, last_end) = t.await??;
        measured.ops += latencies.len() as u64;
        measured.events += events;
        measured.latencies.extend(latencies);
        last = last.max(last_end);
    }
    measured.elapsed = last.saturating_duration_since(measure_from);
    Ok(measured)
}

/// What a benchmark must reach on PostgreSQL (the targets).
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// A rate of at least this much.
    AtLeast(f64),
    /// A rate of at least this much with a p99 latency of at most this.
    AtLeastWithP99(f64, Duration),
    /// At least this fraction of the raw ceiling.
    RatioAtLeast(f64),
}

impl Target {
    fn describe(self, unit: &str) -> String {
        match self {
            Target::AtLeast(v) => format!("≥ {} {unit}", thousands(v)),
            Target::AtLeastWithP99(v, p99) => {
                format!("≥ {} {unit}, p99 ≤ {} ms", thousands(v), p99.as_millis())
            }
            Target::RatioAtLeast(r) => format!("≥ {r:.1}× raw"),
        }
    }

    fn met(self, row: &Row) -> bool {
        match self {
            Target::AtLeast(v) => row.value >= v,
            Target::AtLeastWithP99(v, p99) => row.value >= v && row.p99.is_some_and(|p| p <= p99),
            Target::RatioAtLeast(r) => row.ratio().is_some_and(|x| x >= r),
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: &'static str,
    pub name: String,
    pub backend: BackendKind,
    pub value: f64,
    pub unit: &'static str,
    pub raw: Option<f64>,
    pub p50: Option<Duration>,
    pub p99: Option<Duration>,
    /// The target; it applies to PostgreSQL rows only.
    pub target: Option<Target>,
    pub note: String,
}

impl Row {
    pub fn new(id: &'static str, name: impl Into<String>, backend: BackendKind) -> Self {
        Self {
            id,
            name: name.into(),
            backend,
            value: 0.0,
            unit: "ops/s",
            raw: None,
            p50: None,
            p99: None,
            target: None,
            note: String::new(),
        }
    }

    pub fn rate(mut self, value: f64, unit: &'static str) -> Self {
        self.value = value;
        self.unit = unit;
        self
    }

    pub fn raw(mut self, raw: f64) -> Self {
        self.raw = Some(raw);
        self
    }

    pub fn latency(mut self, m: &Measured) -> Self {
        self.p50 = m.p50();
        self.p99 = m.p99();
        self
    }

    pub fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    pub fn ratio(&self) -> Option<f64> {
        self.raw.filter(|r| *r > 0.0).map(|r| self.value / r)
    }

    fn applicable_target(&self) -> Option<Target> {
        self.target
            .filter(|_| self.backend == BackendKind::Postgres)
    }
}

/// Formats 12345.6 as "12,346".
pub fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

pub fn ms(d: Option<Duration>) -> String {
    match d {
        Some(d) if d < Duration::from_millis(10) => format!("{:.2}", d.as_secs_f64() * 1e3),
        Some(d) => format!("{:.1}", d.as_secs_f64() * 1e3),
        None => "—".to_owned(),
    }
}

/// The rows as a Markdown table.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str(
        "| # | benchmark | backend | result | raw ceiling | ratio | p50 ms | p99 ms | target (PostgreSQL) | met? |\n",
    );
    out.push_str("|---|---|---|---:|---:|---:|---:|---:|---|---|\n");
    for r in rows {
        let target = r.applicable_target();
        let name = if r.note.is_empty() {
            r.name.clone()
        } else {
            format!("{} ({})", r.name, r.note)
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} {} | {} | {} | {} | {} | {} | {} |",
            r.id,
            name,
            r.backend.as_str(),
            thousands(r.value),
            r.unit,
            r.raw.map(thousands).unwrap_or_else(|| "—".into()),
            r.ratio()
                .map(|x| format!("{x:.2}"))
                .unwrap_or_else(|| "—".into()),
            ms(r.p50),
            ms(r.p99),
            target
                .map(|t| t.describe(r.unit))
                .unwrap_or_else(|| "—".into()),
            match target {
                Some(t) if t.met(r) => "yes",
                Some(_) => "**no**",
                None => "—",
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let m = Measured {
            latencies: (1..=100).map(Duration::from_millis).collect(),
            ..Measured::default()
        };
        assert_eq!(m.p50(), Some(Duration::from_millis(50)));
        assert_eq!(m.p99(), Some(Duration::from_millis(99)));
        assert_eq!(Measured::default().p99(), None);
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(0.2), "0");
    }
}
