//! Decisions that span streams: issuing a supplement (*tillegg*) decides over the supplement,
//! its letter and every assignment it touches; carrying an assignment over to next year writes
//! to the old and the new assignment. Each is appended in one transaction — all of it or none —
//! together with the deadline streams the assignment events oblige, and retried from a fresh
//! read when another writer got there first.

use std::collections::{BTreeMap, HashMap};

use styr_domain::allocation_letter::AllocationLetter;
use styr_domain::assignment::Assignment;
use styr_domain::multi::{self, AnyEvent};
use styr_domain::supplement::{IssueSupplement, Supplement, issue_supplement};
use styr_domain::values::{AssignmentId, AssignmentReference};
use styr_domain::{Aggregate, CommandContext, DomainError};
use styr_eventstore::{ExpectedVersion, StoreError, StreamAppend, StreamId};
use uuid::Uuid;

use crate::error::WorkflowError;
use crate::handler::{MAX_ATTEMPTS, backoff, envelope, stream_of};
use crate::{CommandMeta, CommandOutcome, Workflow};

/// A cross-stream command.
#[derive(Debug, Clone)]
enum CrossCommand {
    IssueSupplement {
        supplement_id: String,
        command: IssueSupplement,
    },
    CarryOver {
        assignment_id: String,
        new_reference: Option<AssignmentReference>,
        reason: String,
    },
}

/// What a decision read: the assignments it may change and every stream's version.
#[derive(Default)]
struct Read {
    assignments: BTreeMap<AssignmentId, Assignment>,
    letter: Option<(String, AllocationLetter)>,
    versions: HashMap<StreamId, u64>,
}

impl Read {
    async fn load<A: Aggregate>(
        &mut self,
        workflow: &Workflow,
        stream_id: &str,
    ) -> Result<A, WorkflowError> {
        let (state, version) = workflow.load::<A>(stream_id).await?;
        self.versions.insert(stream_of::<A>(stream_id)?, version);
        Ok(state)
    }
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
        let what = CrossCommand::IssueSupplement {
            supplement_id: supplement_id.to_owned(),
            command,
        };
        self.run_cross(&what, stream_of::<Supplement>(supplement_id)?, meta)
            .await
    }

    /// Carries the assignment in `assignment_id` over to next year: the old one records where
    /// it went, a new one (with the returned id) records where it came from. Its open parts
    /// get deadlines to be agreed.
    pub async fn carry_over(
        &self,
        assignment_id: &str,
        new_reference: Option<AssignmentReference>,
        reason: String,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, WorkflowError> {
        let what = CrossCommand::CarryOver {
            assignment_id: assignment_id.to_owned(),
            new_reference,
            reason,
        };
        self.run_cross(&what, stream_of::<Assignment>(assignment_id)?, meta)
            .await
    }

    async fn run_cross(
        &self,
        what: &CrossCommand,
        main_stream: StreamId,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, WorkflowError> {
        let command_id = meta.command_id.unwrap_or_else(Uuid::now_v7);
        for attempt in 1..=MAX_ATTEMPTS {
            if let Some(done) = self.already_done(command_id).await? {
                return Ok(done);
            }
            // The same seed on every attempt: new ids are the same on a retry.
            let ctx = CommandContext::new(meta.actor.clone(), self.now(), command_id);
            let mut read = Read::default();
            let decided = match self.decide_cross(what, &mut read, &ctx).await {
                Ok(appends) => self.to_batch(appends, &read, &ctx, meta, command_id).await,
                Err(e) => Err(e),
            };
            let batch = match decided {
                Ok(batch) => batch,
                // A refusal may rest on streams another writer has since moved.
                Err(WorkflowError::Domain(refusal)) => {
                    if let Some(done) = self.already_done(command_id).await? {
                        return Ok(done);
                    }
                    if self.moved_since(&read).await? {
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
            stream: main_stream.to_string(),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Reads what the command needs (recording versions in `read`) and lets the domain decide.
    async fn decide_cross(
        &self,
        what: &CrossCommand,
        read: &mut Read,
        ctx: &CommandContext,
    ) -> Result<Vec<multi::StreamAppend>, WorkflowError> {
        match what {
            CrossCommand::IssueSupplement {
                supplement_id,
                command,
            } => {
                let supplement: Supplement = read.load(self, supplement_id).await?;
                let mut letter = AllocationLetter::default();
                if let Some(details) = &supplement.details {
                    let letter_id = details.letter_stream_id();
                    letter = read.load(self, &letter_id).await?;
                    read.letter = Some((letter_id, letter.clone()));
                    for id in details.affected_assignments() {
                        let a: Assignment = read.load(self, &id.to_string()).await?;
                        read.assignments.insert(id, a);
                    }
                }
                Ok(issue_supplement(
                    &supplement,
                    &letter,
                    &read.assignments,
                    command.clone(),
                    ctx,
                )?)
            }
            CrossCommand::CarryOver {
                assignment_id,
                new_reference,
                reason,
            } => {
                let old: Assignment = read.load(self, assignment_id).await?;
                let new_id = AssignmentId(ctx.next_id());
                let new: Assignment = read.load(self, &new_id.to_string()).await?;
                if let Some(d) = &old.details {
                    read.assignments.insert(d.id, old.clone());
                }
                read.assignments.insert(new_id, new);
                Ok(multi::carry_over(
                    &old,
                    new_id,
                    new_reference.clone(),
                    reason.clone(),
                    ctx,
                )?)
            }
        }
    }

    async fn moved_since(&self, read: &Read) -> Result<bool, WorkflowError> {
        for (stream, version) in &read.versions {
            if self.store().stream_version(stream).await? != *version {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Turns the domain's per-stream events into store appends at the versions read, adding
    /// the deadline follow-ups of each assignment's events.
    async fn to_batch(
        &self,
        appends: Vec<multi::StreamAppend>,
        read: &Read,
        ctx: &CommandContext,
        meta: &CommandMeta,
        command_id: Uuid,
    ) -> Result<Vec<StreamAppend>, WorkflowError> {
        let mut batch = Vec::new();
        for append in appends {
            let stream = StreamId::new(append.stream_type, &append.stream_id)
                .map_err(|e| WorkflowError::BadStreamId(e.to_string()))?;
            let expected = *read.versions.get(&stream).ok_or_else(|| {
                WorkflowError::Domain(DomainError::rule(format!(
                    "the command would change {stream}, which it did not read"
                )))
            })?;
            batch.push(to_append(
                stream,
                expected,
                &append.events,
                meta,
                command_id,
            ));
            let id = append.stream_id.as_str();
            let follow_on = if append.stream_type == Assignment::STREAM_TYPE {
                let events: Vec<_> = append
                    .events
                    .iter()
                    .filter_map(|e| match e {
                        AnyEvent::Assignment(a) => Some(a.clone()),
                        _ => None,
                    })
                    .collect();
                let before = read
                    .assignments
                    .iter()
                    .find(|(a, _)| a.to_string() == id)
                    .map(|(_, a)| a.clone())
                    .unwrap_or_default();
                self.deadline_appends::<Assignment>(id, &before, &events, ctx, meta, command_id)
                    .await?
            } else if append.stream_type == AllocationLetter::STREAM_TYPE {
                let events: Vec<_> = append
                    .events
                    .iter()
                    .filter_map(|e| match e {
                        AnyEvent::Letter(l) => Some(l.clone()),
                        _ => None,
                    })
                    .collect();
                let before = read
                    .letter
                    .as_ref()
                    .filter(|(l, _)| l == id)
                    .map(|(_, l)| l.clone())
                    .unwrap_or_default();
                self.deadline_appends::<AllocationLetter>(
                    id, &before, &events, ctx, meta, command_id,
                )
                .await?
            } else {
                Vec::new()
            };
            batch.extend(follow_on);
        }
        let copies = self
            .copy_obligations(&batch, meta, command_id, None)
            .await?;
        batch.extend(copies);
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
