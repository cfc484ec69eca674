//! Clients that keep sending status reports and remember exactly which ones the server
//! acknowledged, and the checks that every acknowledged one is stored once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::bail;
use serde_json::{Value, json};
use styr_eventstore::{EventStore, StoreOptions};
use uuid::Uuid;

use crate::server::{Target, gql};

/// A status report the server acknowledged.
#[derive(Debug, Clone)]
pub struct Ack {
    pub command_id: Uuid,
    pub tag: String,
}

/// How requests failed while the clients ran.
#[derive(Debug, Default, Clone)]
pub struct Failures {
    /// Connection refused or reset, timeouts: the server was away.
    pub transport: usize,
    /// Answers that said "retry" (HTTP 503, or `extensions.retryable`).
    pub retryable: usize,
    /// Anything else: a refusal or an internal error the client cannot act on.
    pub unclear: Vec<String>,
}

const REPORT: &str = r#"mutation($id: ID!, $p: String!, $c: ID!) {
    reportStatus(id: $id, input: { period: { kind: TERTIAL_1 }, trafficLight: GREEN, progress: $p },
                 options: { commandId: $c }) { position } }"#;

/// Sends reports on `assignments` (round robin) until `stop`, retrying each command with
/// the same id until it is acknowledged.
pub fn run_client(
    target: Arc<Target>,
    token: String,
    assignments: Vec<String>,
    stop: Arc<AtomicBool>,
    acks: Arc<Mutex<Vec<Ack>>>,
    failures: Arc<Mutex<Failures>>,
) {
    let mut n = 0usize;
    while !stop.load(Ordering::SeqCst) {
        let command_id = Uuid::now_v7();
        let tag = format!("report {command_id}");
        let id = &assignments[n % assignments.len()];
        n += 1;
        loop {
            let vars = json!({ "id": id, "p": tag, "c": command_id.to_string() });
            match gql(target.get(), &token, REPORT, vars) {
                Ok((200, body)) if body["data"]["reportStatus"]["position"].is_u64() => {
                    acks.lock().unwrap().push(Ack {
                        command_id,
                        tag: tag.clone(),
                    });
                    break;
                }
                Ok((status, body)) => {
                    let retryable = status == 503
                        || body["errors"][0]["extensions"]["retryable"] == Value::Bool(true);
                    let mut f = failures.lock().unwrap();
                    if retryable {
                        f.retryable += 1;
                    } else {
                        f.unclear.push(format!("{status}: {body}"));
                    }
                }
                Err(_) => failures.lock().unwrap().transport += 1,
            }
            if stop.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Starts `clients` threads, each on its own slice of `assignments` (or all on the same one
/// when `assignments` has a single id).
pub struct Clients {
    pub stop: Arc<AtomicBool>,
    pub acks: Arc<Mutex<Vec<Ack>>>,
    pub failures: Arc<Mutex<Failures>>,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl Clients {
    pub fn start(
        target: &Arc<Target>,
        token: &str,
        assignments: &[String],
        clients: usize,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let acks = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(Mutex::new(Failures::default()));
        let handles = (0..clients)
            .map(|i| {
                let mine: Vec<String> = assignments
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| assignments.len() == 1 || j % clients == i)
                    .map(|(_, a)| a.clone())
                    .collect();
                let (target, token, stop, acks, failures) = (
                    target.clone(),
                    token.to_owned(),
                    stop.clone(),
                    acks.clone(),
                    failures.clone(),
                );
                std::thread::spawn(move || run_client(target, token, mine, stop, acks, failures))
            })
            .collect();
        Clients {
            stop,
            acks,
            failures,
            handles,
        }
    }

    pub fn acked(&self) -> usize {
        self.acks.lock().unwrap().len()
    }

    pub fn finish(self) -> (Vec<Ack>, Failures) {
        self.stop.store(true, Ordering::SeqCst);
        for h in self.handles {
            let _ = h.join();
        }
        let acks = self.acks.lock().unwrap().clone();
        let failures = self.failures.lock().unwrap().clone();
        (acks, failures)
    }
}

/// Every acknowledged report is stored exactly once, and no command is stored twice.
pub async fn check_acks(store: &EventStore, acks: &[Ack]) -> anyhow::Result<()> {
    let mut by_command: HashMap<Uuid, Vec<String>> = HashMap::new();
    let mut after = 0;
    loop {
        let page = store.read_all(after, 5000).await?;
        let Some(last) = page.last() else { break };
        after = last.position;
        for e in page.iter().filter(|e| e.event_type == "StatusReported") {
            if let Some(c) = e.causation_id {
                by_command
                    .entry(c)
                    .or_default()
                    .push(e.payload["progress"].as_str().unwrap_or("").to_owned());
            }
        }
    }
    if let Some((c, v)) = by_command.iter().find(|(_, v)| v.len() > 1) {
        bail!("command {c} is stored {} times", v.len());
    }
    for a in acks {
        match by_command.get(&a.command_id) {
            Some(v) if v[0] == a.tag => {}
            Some(v) => bail!(
                "command {} is stored as {:?}, not {:?}",
                a.command_id,
                v[0],
                a.tag
            ),
            None => bail!("acknowledged command {} is missing", a.command_id),
        }
    }
    Ok(())
}

/// The hash chain verifies and the read model equals a rebuild from the log.
pub async fn check_log_and_read_model(database_url: &str) -> anyhow::Result<()> {
    let store = EventStore::connect(database_url, StoreOptions::default()).await?;
    let report = store.verify_chain(1, |_, _| {}).await?;
    if let Some(b) = report.first_break {
        bail!("the chain is broken: {b}");
    }
    let projections = styr_workflow::projections::Projections::new(store.clone());
    projections.catch_up().await?;
    let incremental = projections.dump_board().await?;
    projections.rebuild().await?;
    let rebuilt = projections.dump_board().await?;
    store.close().await;
    if incremental != rebuilt {
        bail!(
            "the read model ({} rows) differs from a rebuild ({} rows)",
            incremental.len(),
            rebuilt.len()
        );
    }
    Ok(())
}

pub async fn open(database_url: &str) -> anyhow::Result<EventStore> {
    Ok(EventStore::connect(database_url, StoreOptions::default()).await?)
}
