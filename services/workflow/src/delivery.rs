//! Delivery of copies: sends every registered [`Correspondence`] item through the configured
//! channels and records the outcome as events.
//!
//! The order of one attempt is: record `CopyDispatchStarted` (an append that only one worker
//! can win, so two servers never send the same attempt), send, record `CopyDelivered` with the
//! recipient's receipt or `CopyDeliveryFailed` with a retry time. A worker that dies after
//! sending leaves a started attempt with no outcome; once its lease runs out the attempt is
//! repeated with the **same idempotency key**, and both channels are idempotent per key (the
//! directory drop finds its package already in place; a webhook recipient deduplicates by the
//! `Idempotency-Key` header). So no obligation is lost and nothing is sent unrecorded.
//!
//! Channels:
//! - **directory drop**: `DIR/<item id>/` holding `metadata.json`, `content.json` and
//!   `SHA256SUMS`, written to a temporary directory and renamed into place (atomic);
//! - **webhook**: an HTTPS `POST` of `{"metadata": …, "content": …}` with headers
//!   `Idempotency-Key`, `X-Styr-Content-SHA256` and an optional bearer token; any 2xx is a
//!   receipt (its id from the JSON body's `receipt_id` or the `X-Receipt-Id` header).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use styr_domain::Aggregate;
use styr_domain::correspondence::{
    Correspondence, CorrespondenceDetails, CorrespondenceEvent, RIKSREVISJONEN,
};
use styr_eventstore::{ExpectedVersion, StoreError, StreamAppend};
use uuid::Uuid;

use crate::Workflow;
use crate::copies::content_sha256;
use crate::error::WorkflowError;
use crate::handler::{stream_of, system_event};

/// The identity the delivery worker's events are recorded under.
pub const DELIVERY_SUBJECT: &str = "system:copy-delivery";

/// Who a channel delivers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// Copies of the steering dialogue for Riksrevisjonen.
    Riksrevisjonen,
    /// Copies of agencies' correspondence with Riksrevisjonen, for their ministry.
    Ministry,
}

impl Recipient {
    fn serves(self, d: &CorrespondenceDetails) -> bool {
        let to_rr = d.registered.copy_to.as_str() == RIKSREVISJONEN;
        match self {
            Recipient::Riksrevisjonen => to_rr,
            Recipient::Ministry => !to_rr,
        }
    }
}

/// How a channel sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelKind {
    Directory {
        dir: PathBuf,
    },
    Webhook {
        url: String,
        bearer_token: Option<String>,
        timeout: Duration,
    },
}

/// A configured delivery channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Recorded with every attempt and receipt, e.g. `rr-webhook`.
    pub name: String,
    pub recipient: Recipient,
    pub kind: ChannelKind,
}

/// Which of `channels` an item must be delivered on.
pub fn channels_for<'a>(
    channels: &'a [Channel],
    d: &'a CorrespondenceDetails,
) -> impl Iterator<Item = &'a Channel> + 'a {
    channels.iter().filter(move |c| c.recipient.serves(d))
}

/// What one delivery pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub attempted: usize,
    pub delivered: usize,
    pub failed: usize,
    /// Items still owed on at least one of their channels after the pass.
    pub backlog: usize,
}

/// The worker's memory between passes. The first pass lists every item; later passes read
/// only the log written since, so a pass costs the new events plus the items still owed.
/// Items delivered everywhere are forgotten; items no configured channel serves are counted
/// but not loaded again (the channels are fixed for the life of the process).
#[derive(Debug, Default)]
pub struct DeliveryState {
    scanned_to: Option<u64>,
    pending: BTreeSet<String>,
    unserved: BTreeSet<String>,
}

impl DeliveryState {
    /// Items owed on some channel (or on none configured), as of the last pass.
    pub fn backlog(&self) -> usize {
        self.pending.len() + self.unserved.len()
    }
}

impl Workflow {
    /// Finds the items registered since the last pass.
    async fn discover(&self, state: &mut DeliveryState) -> Result<(), WorkflowError> {
        let Some(mut after) = state.scanned_to else {
            // First pass: the head first, so nothing registered meanwhile is missed.
            let head = self.store().head().await?.position;
            state
                .pending
                .extend(self.store().stream_ids(Correspondence::STREAM_TYPE).await?);
            state.scanned_to = Some(head);
            return Ok(());
        };
        loop {
            // Only stream and event type are looked at: the payloads stay unparsed.
            let page = self.store().read_all_unparsed(after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.position;
            state.pending.extend(
                page.iter()
                    .filter(|e| {
                        e.stream.stream_type() == Correspondence::STREAM_TYPE
                            && e.event_type == "CorrespondenceRegistered"
                    })
                    .map(|e| e.stream.id().to_owned()),
            );
        }
        state.scanned_to = Some(after);
        Ok(())
    }

    /// One pass: every item due on a channel is attempted once. Safe to run from several
    /// servers at once (the start of an attempt is an append only one of them wins).
    pub async fn deliver_copies(
        &self,
        channels: &[Channel],
        state: &mut DeliveryState,
    ) -> Result<DeliveryReport, WorkflowError> {
        self.discover(state).await?;
        let mut report = DeliveryReport::default();
        if channels.is_empty() {
            // Nothing to send through: every item is owed all the same and stays in the
            // backlog, without reading its stream to learn so.
            let pending = std::mem::take(&mut state.pending);
            state.unserved.extend(pending);
        }
        for id in state.pending.clone() {
            let (item, _) = self.load::<Correspondence>(&id).await?;
            let Some(d) = item.details else { continue };
            if channels_for(channels, &d).next().is_none() {
                // Owed all the same: it stays in the backlog.
                state.pending.remove(&id);
                state.unserved.insert(id);
                continue;
            }
            let mut attempted = false;
            for channel in channels_for(channels, &d) {
                if d.delivered_on(&channel.name).is_some() || !d.due_on(&channel.name, self.now()) {
                    continue;
                }
                match self.attempt(&id, channel).await? {
                    Attempt::Delivered => report.delivered += 1,
                    Attempt::Failed => report.failed += 1,
                    Attempt::Skipped => continue,
                }
                attempted = true;
                report.attempted += 1;
            }
            let complete = |d: &CorrespondenceDetails| {
                channels_for(channels, d).all(|c| d.delivered_on(&c.name).is_some())
            };
            let done = if attempted {
                let (after, _) = self.load::<Correspondence>(&id).await?;
                after.details.as_ref().is_some_and(complete)
            } else {
                complete(&d)
            };
            if done {
                state.pending.remove(&id);
            }
        }
        report.backlog = state.backlog();
        Ok(report)
    }

    /// One attempt on one channel: start (recorded), send, record the outcome.
    async fn attempt(&self, id: &str, channel: &Channel) -> Result<Attempt, WorkflowError> {
        let (item, version) = self.load::<Correspondence>(id).await?;
        let Some(d) = item.details else {
            return Ok(Attempt::Skipped);
        };
        let Ok(start) = d.start_dispatch(id, &channel.name, self.now()) else {
            return Ok(Attempt::Skipped);
        };
        let key = match &start {
            CorrespondenceEvent::CopyDispatchStarted(s) => s.idempotency_key.clone(),
            _ => unreachable!("start_dispatch returns a start"),
        };
        match self.append_system(id, version, &start).await {
            Ok(()) => {}
            // Another worker started it first.
            Err(WorkflowError::Store(StoreError::Conflict { .. })) => return Ok(Attempt::Skipped),
            Err(e) => return Err(e),
        }
        let package = Package::of(id, &d, &key);
        let sent = send(channel, package).await;
        tracing::info!(item = id, channel = %channel.name, ok = sent.is_ok(), "copy delivery attempt");
        // Record the outcome; retry on conflicts (an exemption may be marked meanwhile).
        for _ in 0..crate::handler::MAX_ATTEMPTS {
            let (item, version) = self.load::<Correspondence>(id).await?;
            let Some(d) = item.details else {
                return Ok(Attempt::Skipped);
            };
            let outcome = match &sent {
                Ok(receipt) => d.record_delivery(&channel.name, receipt.clone(), self.now()),
                Err(error) => d.record_failure(&channel.name, error, self.now()),
            };
            // The lease ran out and another worker took over: its outcome stands.
            let Ok(outcome) = outcome else {
                return Ok(Attempt::Skipped);
            };
            match self.append_system(id, version, &outcome).await {
                Ok(()) => {
                    return Ok(if sent.is_ok() {
                        Attempt::Delivered
                    } else {
                        Attempt::Failed
                    });
                }
                Err(WorkflowError::Store(StoreError::Conflict { .. })) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(WorkflowError::Contention {
            stream: format!("correspondence/{id}"),
            attempts: crate::handler::MAX_ATTEMPTS,
        })
    }

    async fn append_system(
        &self,
        id: &str,
        version: u64,
        event: &CorrespondenceEvent,
    ) -> Result<(), WorkflowError> {
        let append = StreamAppend {
            stream: stream_of::<Correspondence>(id)?,
            expected: ExpectedVersion(version),
            events: vec![system_event(
                event,
                DELIVERY_SUBJECT,
                "Kopiutsending (copy delivery)",
                None,
                Uuid::now_v7(),
            )],
        };
        self.store().append(vec![append]).await?;
        Ok(())
    }
}

enum Attempt {
    Delivered,
    Failed,
    Skipped,
}

/// What is sent: the registry metadata and the content.
#[derive(Debug, Clone)]
pub struct Package {
    pub item_id: String,
    pub idempotency_key: String,
    pub content_sha256: String,
    pub metadata: Value,
    pub content: Value,
}

impl Package {
    pub fn of(item_id: &str, d: &CorrespondenceDetails, idempotency_key: &str) -> Self {
        let r = &d.registered;
        Package {
            item_id: item_id.to_owned(),
            idempotency_key: idempotency_key.to_owned(),
            content_sha256: r.content_sha256.clone(),
            metadata: json!({
                "format": "styr-copy/1",
                "item_id": item_id,
                "kind": r.kind,
                "title": r.title,
                "ministry": r.ministry,
                "agency": r.agency,
                "from": r.from,
                "to": r.to,
                "copy_to": r.copy_to,
                "occurred_at": styr_eventstore::format_timestamp(&r.occurred_at),
                "source": r.source,
                "content_sha256": r.content_sha256,
                "content_file": "content.json",
                "exempt_from_public_disclosure": d.exemption.as_ref().map(|e| json!({
                    "legal_basis": e.legal_basis.as_str(),
                })),
                "idempotency_key": idempotency_key,
            }),
            content: r.content.clone(),
        }
    }
}

/// Sends a package; `Ok` carries the recipient's receipt id, `Err` a one-line reason.
pub async fn send(channel: &Channel, package: Package) -> Result<Option<String>, String> {
    let kind = channel.kind.clone();
    tokio::task::spawn_blocking(move || match kind {
        ChannelKind::Directory { dir } => drop_into(&dir, &package),
        ChannelKind::Webhook {
            url,
            bearer_token,
            timeout,
        } => post(&url, bearer_token.as_deref(), timeout, &package),
    })
    .await
    .map_err(|e| format!("the sender stopped: {e}"))?
}

/// Writes the package as `dir/<item id>/`; finding the same package there already counts as
/// delivered (an earlier attempt got this far before its worker stopped).
fn drop_into(dir: &Path, p: &Package) -> Result<Option<String>, String> {
    let io = |what: &str, e: std::io::Error| format!("{what}: {e}");
    std::fs::create_dir_all(dir).map_err(|e| io(&format!("cannot create {}", dir.display()), e))?;
    let target = dir.join(&p.item_id);
    let content = pretty(&p.content);
    let metadata = pretty(&p.metadata);
    if target.exists() {
        let existing = std::fs::read(target.join("content.json"))
            .map_err(|e| io(&format!("cannot read {}", target.display()), e))?;
        let existing: Value = serde_json::from_slice(&existing)
            .map_err(|e| format!("{} holds an unreadable package: {e}", target.display()))?;
        return if content_sha256(&existing) == p.content_sha256 {
            Ok(Some(p.item_id.clone()))
        } else {
            Err(format!(
                "{} holds a different package; refusing to overwrite it",
                target.display()
            ))
        };
    }
    let tmp = dir.join(format!(".tmp-{}-{}", p.item_id, Uuid::new_v4()));
    let write = || -> std::io::Result<()> {
        std::fs::create_dir(&tmp)?;
        let sums = format!(
            "{}  content.json\n{}  metadata.json\n",
            sha256_hex(content.as_bytes()),
            sha256_hex(metadata.as_bytes())
        );
        for (name, body) in [
            ("content.json", content.as_bytes()),
            ("metadata.json", metadata.as_bytes()),
            ("SHA256SUMS", sums.as_bytes()),
        ] {
            let mut f = std::fs::File::create(tmp.join(name))?;
            std::io::Write::write_all(&mut f, body)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &target)?;
        // Make the rename itself durable.
        std::fs::File::open(dir)?.sync_all()
    };
    write().map_err(|e| {
        let _ = std::fs::remove_dir_all(&tmp);
        io(&format!("cannot write {}", target.display()), e)
    })?;
    Ok(Some(p.item_id.clone()))
}

fn post(
    url: &str,
    bearer_token: Option<&str>,
    timeout: Duration,
    p: &Package,
) -> Result<Option<String>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let body = serde_json::to_vec(&json!({"metadata": p.metadata, "content": p.content}))
        .map_err(|e| e.to_string())?;
    let mut request = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("Idempotency-Key", &p.idempotency_key)
        .header("X-Styr-Content-SHA256", &p.content_sha256);
    if let Some(token) = bearer_token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    let mut response = request.send(&body[..]).map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let header_receipt = response
        .headers()
        .get("x-receipt-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_string()
        .unwrap_or_default();
    if !(200..300).contains(&status) {
        let snippet: String = text.chars().take(200).collect();
        return Err(format!("HTTP {status}: {snippet}"));
    }
    let body_receipt = serde_json::from_str::<Value>(&text).ok().and_then(|v| {
        v.get("receipt_id")
            .and_then(|r| r.as_str().map(str::to_owned))
    });
    Ok(body_receipt.or(header_receipt))
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Runs delivery passes every `interval` until `stop` fires; logs failures and keeps going.
pub async fn run_delivery(
    workflow: Workflow,
    channels: Vec<Channel>,
    interval: Duration,
    backlog: impl Fn(usize) + Send + 'static,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut state = DeliveryState::default();
    let mut head = workflow.watch_log_head();
    loop {
        match workflow.deliver_copies(&channels, &mut state).await {
            Ok(r) => {
                backlog(r.backlog);
                if r.attempted > 0 {
                    tracing::info!(
                        delivered = r.delivered,
                        failed = r.failed,
                        backlog = r.backlog,
                        "copy delivery pass"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "copy delivery pass failed; will retry"),
        }
        // New events may bring new items; but under a write burst, wake at most once a second.
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = async {
                let _ = head.changed().await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            } => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}
