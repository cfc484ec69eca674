//! The deadline monitor: marks every open deadline whose Oslo calendar date has passed as
//! missed. Idempotent — a deadline is marked once per due date — and safe to run from several
//! servers at once (a racing monitor's append conflicts and, on reload, finds nothing to do).
//!
//! A [`DeadlineMonitor`] kept between passes follows the log: each pass reads only the events
//! appended since the last one and keeps every deadline's state in memory, so a pass costs the
//! new events plus a check in memory, not a read of every deadline stream. The state in memory
//! only nominates candidates; each is loaded again from its stream before anything is written,
//! so a decision never rests on it.

use std::collections::HashMap;

use styr_domain::Aggregate;
use styr_domain::deadline::Deadline;
use styr_eventstore::{ExpectedVersion, StoreError, StreamAppend};
use uuid::Uuid;

use crate::Workflow;
use crate::audit::decode;
use crate::error::WorkflowError;
use crate::handler::{stream_of, system_event};

/// The identity the monitor's events are recorded under.
pub const MONITOR_SUBJECT: &str = "system:deadline-monitor";

/// Events read from the log per page while catching up.
const PAGE: u32 = 2_000;

/// What one pass of the monitor did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorReport {
    pub deadlines_checked: usize,
    /// Stream ids of the deadlines newly marked missed.
    pub marked_missed: Vec<String>,
}

/// The monitor between passes: the log position it has read to and every deadline's state.
#[derive(Debug, Default)]
pub struct DeadlineMonitor {
    position: u64,
    deadlines: HashMap<String, Deadline>,
}

impl DeadlineMonitor {
    pub fn new() -> Self {
        Self::default()
    }

    /// The log position this monitor has read to.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Reads the events appended since the last pass, then marks every deadline whose due
    /// date has passed (by the workflow's clock) as missed.
    pub async fn pass(&mut self, workflow: &Workflow) -> Result<MonitorReport, WorkflowError> {
        self.catch_up(workflow).await?;
        let now = workflow.now();
        let mut candidates: Vec<&String> = self
            .deadlines
            .iter()
            .filter(|(_, d)| !d.detect_missed(now).is_empty())
            .map(|(id, _)| id)
            .collect();
        candidates.sort();
        let mut report = MonitorReport {
            deadlines_checked: self.deadlines.len(),
            ..Default::default()
        };
        let pass = Uuid::now_v7();
        for id in candidates {
            if workflow.mark_missed(id, pass).await? {
                report.marked_missed.push(id.clone());
            }
        }
        // What this pass wrote is read on the next one, like anyone else's events.
        Ok(report)
    }

    async fn catch_up(&mut self, workflow: &Workflow) -> Result<(), WorkflowError> {
        loop {
            let page = workflow
                .store()
                .read_all_unparsed(self.position, PAGE)
                .await?;
            if page.is_empty() {
                return Ok(());
            }
            let full = page.len() as u32 == PAGE;
            // The position moves past an event only once it is applied: an event this version
            // cannot decode (one written by a newer server, say) stops the monitor there, with
            // the error, instead of being skipped for good.
            for e in &page {
                if e.stream.stream_type() == Deadline::STREAM_TYPE {
                    let event = decode::<Deadline>(e)?;
                    self.deadlines
                        .entry(e.stream.id().to_owned())
                        .or_default()
                        .evolve(&event);
                }
                self.position = e.position;
            }
            if !full {
                return Ok(());
            }
        }
    }
}

impl Workflow {
    /// One pass over every deadline, using the workflow's clock, from a monitor that has read
    /// nothing yet (it reads the whole log once). A server keeps a [`DeadlineMonitor`] instead.
    pub async fn detect_missed_deadlines(&self) -> Result<MonitorReport, WorkflowError> {
        DeadlineMonitor::new().pass(self).await
    }

    /// Marks the deadline `id` missed if, loaded from its stream now, it is; `false` when it
    /// is not (met, moved, already marked, or another monitor got there first).
    async fn mark_missed(&self, id: &str, pass: Uuid) -> Result<bool, WorkflowError> {
        for _attempt in 0..crate::handler::MAX_ATTEMPTS {
            let (state, version) = self.load::<Deadline>(id).await?;
            let events = state.detect_missed(self.now());
            if events.is_empty() {
                return Ok(false);
            }
            let append = StreamAppend {
                stream: stream_of::<Deadline>(id)?,
                expected: ExpectedVersion(version),
                events: events
                    .iter()
                    .map(|e| {
                        system_event(
                            e,
                            MONITOR_SUBJECT,
                            "Fristovervåking (deadline monitor)",
                            Some("the deadline passed without a delivery"),
                            pass,
                        )
                    })
                    .collect(),
            };
            match self.store().append(vec![append]).await {
                Ok(_) => return Ok(true),
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(false)
    }
}
