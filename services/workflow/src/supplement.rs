//! Issuing a supplement (*tillegg*): one decision over the supplement, its letter and every
//! assignment it touches, appended in one transaction — all of it or none of it — together
//! with the deadline streams those assignment changes oblige.

use std::collections::{BTreeMap, HashMap};

use styr_domain::allocation_letter::AllocationLetter;
use styr_domain::assignment::Assignment;
use styr_domain::multi::AnyEvent;
use styr_domain::supplement::{IssueSupplement, Supplement, issue_supplement};
use styr_domain::values::AssignmentId;
use styr_domain::{Aggregate, CommandContext, DomainError};
use styr_eventstore::{ExpectedVersion, StoreError, StreamAppend, StreamId};
use uuid::Uuid;

use crate::error::WorkflowError;
use crate::handler::{MAX_ATTEMPTS, backoff, envelope, stream_of};
use crate::{CommandMeta, CommandOutcome, Workflow};

/// Everything one supplement decision reads, with the versions it read.
struct Snapshot {
    supplement: Supplement,
    letter: AllocationLetter,
    assignments: BTreeMap<AssignmentId, Assignment>,
    versions: HashMap<StreamId, u64>,
}

impl Workflow {
    /// Issues the drafted supplement in stream `supplement_id`: numbers it, records it on the
    /// letter and applies every change to its assignments, atomically.
    pub async fn issue_supplement(
        &self,
        supplement_id: &str,
        command: IssueSupplement,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, WorkflowError> {
        let command_id = meta.command_id.unwrap_or_else(Uuid::now_v7);
        let supplement_stream = stream_of::<Supplement>(supplement_id)?;
        for attempt in 1..=MAX_ATTEMPTS {
            if let Some(done) = self.already_done(command_id).await? {
                return Ok(done);
            }
            let ctx = CommandContext::new(meta.actor.clone(), self.now(), command_id);
            let snapshot = self.snapshot(supplement_id).await?;
            let decided = issue_supplement(
                &snapshot.supplement,
                &snapshot.letter,
                &snapshot.assignments,
                command.clone(),
                &ctx,
            );
            let batch = match decided {
                Ok(appends) => {
                    self.to_batch(appends, &snapshot, &ctx, meta, command_id)
                        .await
                }
                Err(e) => Err(e.into()),
            };
            let batch = match batch {
                Ok(batch) => batch,
                Err(WorkflowError::Domain(refusal)) => {
                    if let Some(done) = self.already_done(command_id).await? {
                        return Ok(done);
                    }
                    if self.moved_since(&snapshot).await? {
                        backoff(attempt).await;
                        continue;
                    }
                    return Err(refusal.into());
                }
                Err(other) => return Err(other),
            };
            match self.store().append(batch).await {
                Ok(outcome) => {
                    return Ok(CommandOutcome {
                        command_id,
                        events: outcome.events,
                        repeated: false,
                    });
                }
                Err(StoreError::Conflict { .. }) => backoff(attempt).await,
                Err(e) => return Err(e.into()),
            }
        }
        Err(WorkflowError::Contention {
            stream: supplement_stream.to_string(),
            attempts: MAX_ATTEMPTS,
        })
    }

    async fn snapshot(&self, supplement_id: &str) -> Result<Snapshot, WorkflowError> {
        let mut versions = HashMap::new();
        let (supplement, v) = self.load::<Supplement>(supplement_id).await?;
        versions.insert(stream_of::<Supplement>(supplement_id)?, v);
        let mut letter = AllocationLetter::default();
        let mut assignments = BTreeMap::new();
        if let Some(details) = &supplement.details {
            let letter_id = details.letter_stream_id();
            let (l, v) = self.load::<AllocationLetter>(&letter_id).await?;
            letter = l;
            versions.insert(stream_of::<AllocationLetter>(&letter_id)?, v);
            for id in details.affected_assignments() {
                let (a, v) = self.load::<Assignment>(&id.to_string()).await?;
                assignments.insert(id, a);
                versions.insert(stream_of::<Assignment>(&id.to_string())?, v);
            }
        }
        Ok(Snapshot {
            supplement,
            letter,
            assignments,
            versions,
        })
    }

    async fn moved_since(&self, snapshot: &Snapshot) -> Result<bool, WorkflowError> {
        for (stream, version) in &snapshot.versions {
            if self.store().stream_version(stream).await? != *version {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Turns the domain's per-stream events into store appends at the loaded versions, adding
    /// the deadline follow-ups of each assignment's events.
    async fn to_batch(
        &self,
        appends: Vec<styr_domain::multi::StreamAppend>,
        snapshot: &Snapshot,
        ctx: &CommandContext,
        meta: &CommandMeta,
        command_id: Uuid,
    ) -> Result<Vec<StreamAppend>, WorkflowError> {
        let mut batch = Vec::new();
        for append in appends {
            let stream = StreamId::new(append.stream_type, &append.stream_id)
                .map_err(|e| WorkflowError::BadStreamId(e.to_string()))?;
            let expected = *snapshot.versions.get(&stream).ok_or_else(|| {
                WorkflowError::Domain(DomainError::rule(format!(
                    "the supplement would change {stream}, which it did not read"
                )))
            })?;
            if append.stream_type == Assignment::STREAM_TYPE {
                let events: Vec<_> = append
                    .events
                    .iter()
                    .filter_map(|e| match e {
                        AnyEvent::Assignment(a) => Some(a.clone()),
                        _ => None,
                    })
                    .collect();
                let before = snapshot
                    .assignments
                    .iter()
                    .find(|(id, _)| id.to_string() == append.stream_id)
                    .map(|(_, a)| a.clone())
                    .unwrap_or_default();
                let follow_on = self
                    .deadline_appends::<Assignment>(&before, &events, ctx, meta, command_id)
                    .await?;
                batch.push(to_append(
                    stream,
                    expected,
                    &append.events,
                    meta,
                    command_id,
                ));
                batch.extend(follow_on);
            } else {
                batch.push(to_append(
                    stream,
                    expected,
                    &append.events,
                    meta,
                    command_id,
                ));
            }
        }
        Ok(batch)
    }
}

fn to_append(
    stream: StreamId,
    expected: u64,
    events: &[AnyEvent],
    meta: &CommandMeta,
    command_id: Uuid,
) -> StreamAppend {
    StreamAppend {
        stream,
        expected: ExpectedVersion(expected),
        events: events
            .iter()
            .map(|e| {
                envelope(
                    e.event_type(),
                    e.schema_version(),
                    e.to_payload(),
                    meta,
                    command_id,
                )
            })
            .collect(),
    }
}
