//! The deadline monitor: marks every open deadline whose Oslo calendar date has passed as
//! missed. Idempotent — a deadline is marked once per due date — and safe to run from several
//! servers at once (a racing monitor's append conflicts and, on reload, finds nothing to do).

use styr_domain::Aggregate;
use styr_domain::deadline::Deadline;
use styr_eventstore::{ExpectedVersion, StoreError, StreamAppend};
use uuid::Uuid;

use crate::Workflow;
use crate::error::WorkflowError;
use crate::handler::{stream_of, system_event};

/// The identity the monitor's events are recorded under.
pub const MONITOR_SUBJECT: &str = "system:deadline-monitor";

/// What one pass of the monitor did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorReport {
    pub deadlines_checked: usize,
    /// Stream ids of the deadlines newly marked missed.
    pub marked_missed: Vec<String>,
}

impl Workflow {
    /// One pass over every deadline stream, using the workflow's clock.
    pub async fn detect_missed_deadlines(&self) -> Result<MonitorReport, WorkflowError> {
        let ids = self.store().stream_ids(Deadline::STREAM_TYPE).await?;
        let mut report = MonitorReport {
            deadlines_checked: ids.len(),
            ..Default::default()
        };
        let pass = Uuid::now_v7();
        for id in ids {
            for _attempt in 0..crate::handler::MAX_ATTEMPTS {
                let (state, version) = self.load::<Deadline>(&id).await?;
                let events = state.detect_missed(self.now());
                if events.is_empty() {
                    break;
                }
                let append = StreamAppend {
                    stream: stream_of::<Deadline>(&id)?,
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
                    Ok(_) => {
                        report.marked_missed.push(id.clone());
                        break;
                    }
                    Err(StoreError::Conflict { .. }) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(report)
    }
}
