//! Command handling: load the aggregate from its stream (or start from the state this
//! process's last command left it in, see `states.rs`), let the domain decide, append the
//! events with the version that was loaded, and retry from the stream on a version conflict.
//!
//! Every command has an id (the client's, or a fresh one). It is the causation id of every
//! event the command writes and the seed of every id the domain draws, so:
//! - a command whose id already has events is not run again: the first result is returned;
//! - two racing deliveries of the same command draw the same ids, touch the same streams, and
//!   the loser's append conflicts, after which it finds the winner's events.

use std::time::Duration;

use chrono::{DateTime, Utc};
use styr_domain::assignment::Assignment;
use styr_domain::deadline::{
    Deadline, DeadlineCommand, calendar_follow_ups, follow_ups, letter_follow_ups,
};
use styr_domain::values::DeadlineId;
use styr_domain::values::ItemId;
use styr_domain::{Actor, Aggregate, CommandContext, DomainEvent, Role};
use styr_eventstore::{
    EventMetadata, ExpectedVersion, NewEvent, RecordedEvent, StoreError, StreamAppend, StreamId,
};
use uuid::Uuid;

use crate::Workflow;
use crate::error::WorkflowError;

/// How often a command is re-run after losing a race for its stream before giving up.
pub const MAX_ATTEMPTS: u32 = 40;

/// Who sends a command, and why: everything besides the command itself.
#[derive(Debug, Clone)]
pub struct CommandMeta {
    pub actor: Actor,
    /// Safe retries: the same id never acts twice. `None` draws a fresh one.
    pub command_id: Option<Uuid>,
    /// Groups the commands of one user request (defaults to the command id).
    pub correlation_id: Option<Uuid>,
    /// Why, in the user's words; stored with every event.
    pub reason: Option<String>,
    /// When it took effect in the real world, if not now (a late registration).
    pub effective_at: Option<DateTime<Utc>>,
}

impl CommandMeta {
    pub fn new(actor: Actor) -> Self {
        Self {
            actor,
            command_id: None,
            correlation_id: None,
            reason: None,
            effective_at: None,
        }
    }

    pub fn with_command_id(mut self, id: Uuid) -> Self {
        self.command_id = Some(id);
        self
    }

    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// What a command did.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandOutcome {
    pub command_id: Uuid,
    /// The events written (or, for a repeat, written the first time), in log order.
    pub events: Vec<RecordedEvent>,
    /// True when the command id had already acted and nothing new was written.
    pub repeated: bool,
}

impl CommandOutcome {
    /// The log position of the last event; a reader that has seen it sees the command's effect.
    pub fn position(&self) -> u64 {
        self.events.iter().map(|e| e.position).max().unwrap_or(0)
    }

    /// The version the given stream reached.
    pub fn version_of(&self, stream: &StreamId) -> Option<u64> {
        self.events
            .iter()
            .filter(|e| &e.stream == stream)
            .map(|e| e.version)
            .max()
    }
}

/// Other streams an aggregate's events oblige the workflow to update in the same append.
/// Every dated obligation — an assignment part, an agency's calendar item, a reporting
/// requirement of an issued letter — has a Deadline stream kept in step this way.
pub trait FollowUps: Aggregate + Send + 'static {
    /// Whose dialogue the stream is, for titling the copies its correspondence owes.
    fn parties(&self, _stream_id: &str) -> Option<crate::copies::Parties> {
        None
    }

    /// The deadline commands implied by `event` on the stream `stream_id`, given the state
    /// before it.
    fn deadline_follow_ups(
        _stream_id: &str,
        _before: &Self,
        _event: &Self::Event,
    ) -> Vec<(DeadlineId, DeadlineCommand)> {
        Vec::new()
    }
}

impl FollowUps for Assignment {
    fn parties(&self, stream_id: &str) -> Option<crate::copies::Parties> {
        crate::copies::DialogueParties::dialogue_parties(self, stream_id)
    }

    fn deadline_follow_ups(
        _stream_id: &str,
        before: &Self,
        event: &Self::Event,
    ) -> Vec<(DeadlineId, DeadlineCommand)> {
        follow_ups(before, event)
    }
}

impl FollowUps for styr_domain::calendar::SteeringCalendarItem {
    fn parties(&self, stream_id: &str) -> Option<crate::copies::Parties> {
        crate::copies::DialogueParties::dialogue_parties(self, stream_id)
    }

    fn deadline_follow_ups(
        stream_id: &str,
        before: &Self,
        event: &Self::Event,
    ) -> Vec<(DeadlineId, DeadlineCommand)> {
        // Calendar items live in streams named by their uuid (see the GraphQL layer).
        match Uuid::parse_str(stream_id) {
            Ok(id) => calendar_follow_ups(ItemId(id), before, event),
            Err(_) => Vec::new(),
        }
    }
}

impl FollowUps for styr_domain::allocation_letter::AllocationLetter {
    fn parties(&self, stream_id: &str) -> Option<crate::copies::Parties> {
        crate::copies::DialogueParties::dialogue_parties(self, stream_id)
    }

    fn deadline_follow_ups(
        _stream_id: &str,
        before: &Self,
        event: &Self::Event,
    ) -> Vec<(DeadlineId, DeadlineCommand)> {
        letter_follow_ups(before, event)
    }
}

macro_rules! no_follow_ups {
    ($($t:ty),*) => { $(impl FollowUps for $t {})* };
}
impl FollowUps for styr_domain::supplement::Supplement {
    fn parties(&self, stream_id: &str) -> Option<crate::copies::Parties> {
        crate::copies::DialogueParties::dialogue_parties(self, stream_id)
    }
}

impl FollowUps for styr_domain::deviation::DeviationReport {
    fn parties(&self, stream_id: &str) -> Option<crate::copies::Parties> {
        crate::copies::DialogueParties::dialogue_parties(self, stream_id)
    }
}

no_follow_ups!(
    Deadline,
    styr_domain::reference_data::ReferenceData,
    styr_domain::correspondence::Correspondence
);

/// The role as the event log records it.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Ministry => "ministry",
        Role::Agency => "agency",
        Role::Auditor => "auditor",
        Role::Admin => "admin",
    }
}

impl Workflow {
    /// Loads an aggregate: its state and the version it is at (0: the stream does not exist).
    pub async fn load<A: Aggregate>(&self, stream_id: &str) -> Result<(A, u64), WorkflowError> {
        let stream = stream_of::<A>(stream_id)?;
        let recorded = self.store().read_stream_unparsed(&stream, 0).await?;
        crate::audit::fold::<A>(&recorded)
    }

    /// Runs one command against the aggregate in `stream_id`, with its follow-ups on other
    /// streams, in one atomic append. Retries from a fresh load when another writer got there
    /// first; a domain refusal is returned at once and writes nothing.
    pub async fn execute<A>(
        &self,
        stream_id: &str,
        command: A::Command,
        meta: &CommandMeta,
    ) -> Result<CommandOutcome, WorkflowError>
    where
        A: FollowUps,
        A::Command: Clone,
    {
        Ok(self
            .execute_loaded::<A>(stream_id, command, meta, None)
            .await?
            .0)
    }

    /// Loads an aggregate for a command: the state this process's last command on the stream
    /// left it in, if kept (taken out: pass it on to [`Self::execute_loaded`], which keeps the
    /// state it leaves), else from the stream. `true` when it was kept, and so possibly stale:
    /// a refusal based on it must be checked on a fresh load (see `states.rs`).
    pub async fn load_for_command<A: Aggregate + Send + 'static>(
        &self,
        stream_id: &str,
    ) -> Result<((A, u64), bool), WorkflowError> {
        let stream = stream_of::<A>(stream_id)?;
        match self.states.take::<A>(&stream) {
            Some(kept) => Ok((kept, true)),
            None => Ok((self.load::<A>(stream_id).await?, false)),
        }
    }

    /// [`Self::execute`], starting from a state the caller has just loaded (to check what the
    /// user may see) instead of reading the stream again; a stale one costs a retry, nothing
    /// more. Also returns the aggregate's state after the command when this call wrote it
    /// (`None` for a repeat or a command that changed nothing).
    ///
    /// Without a loaded state it starts from the state kept from this process's last command
    /// on the stream, if any; the state the command leaves is kept for the next.
    pub async fn execute_loaded<A>(
        &self,
        stream_id: &str,
        command: A::Command,
        meta: &CommandMeta,
        mut loaded: Option<(A, u64)>,
    ) -> Result<(CommandOutcome, Option<A>), WorkflowError>
    where
        A: FollowUps,
        A::Command: Clone,
    {
        // A command id drawn here has never acted: only a client's id needs the repeat check.
        let (command_id, may_repeat) = match meta.command_id {
            Some(id) => (id, true),
            None => (Uuid::now_v7(), false),
        };
        let stream = stream_of::<A>(stream_id)?;
        for attempt in 1..=MAX_ATTEMPTS {
            if may_repeat && let Some(done) = self.already_done(command_id).await? {
                return Ok((done, None));
            }
            // The same seed on every attempt: a retry draws the same ids.
            let ctx = CommandContext::new(meta.actor.clone(), self.now(), command_id);
            // The first attempt may start from a kept state; a retry reads the stream (or what
            // a racing command of this process has just left).
            let (state, version) = match loaded.take() {
                Some(loaded) => loaded,
                None => match self.states.take::<A>(&stream) {
                    Some(kept) => kept,
                    None => self.load::<A>(stream_id).await?,
                },
            };
            let decided = match state.decide(command.clone(), &ctx) {
                Ok(events) => self
                    .deadline_appends::<A>(stream_id, &state, &events, &ctx, meta, command_id)
                    .await
                    .map(|follow_on| (events, follow_on)),
                Err(e) => Err(e.into()),
            };
            let (events, mut follow_on) = match decided {
                Ok(decided) => decided,
                // Streams are loaded one after another; a refusal may rest on a snapshot that
                // another writer (perhaps a racing copy of this very command) made stale.
                Err(WorkflowError::Domain(refusal)) => {
                    if may_repeat && let Some(done) = self.already_done(command_id).await? {
                        return Ok((done, None));
                    }
                    if self.store().stream_version(&stream).await? != version {
                        backoff_after_first(attempt).await;
                        continue;
                    }
                    // The state was current: keep it for the next command.
                    self.states.put(stream, state, version);
                    return Err(refusal.into());
                }
                Err(other) => return Err(other),
            };
            if events.is_empty() {
                // "Nothing to do" is an answer too: give it only on a state the stream's
                // version shows is current (a kept one may be stale).
                if self.store().stream_version(&stream).await? != version {
                    backoff_after_first(attempt).await;
                    continue;
                }
                self.states.put(stream, state, version);
                let outcome = CommandOutcome {
                    command_id,
                    events: Vec::new(),
                    repeated: false,
                };
                return Ok((outcome, None));
            }
            let mut batch = Vec::new();
            batch.push(StreamAppend {
                stream: stream.clone(),
                expected: ExpectedVersion(version),
                events: events
                    .iter()
                    .map(|e| new_event(e, meta, command_id))
                    .collect(),
            });
            batch.append(&mut follow_on);
            let known = Some((stream.clone(), state.parties(stream_id)));
            let copies = self
                .copy_obligations(&batch, meta, command_id, known)
                .await?;
            batch.extend(copies);
            match self.store().append(batch).await {
                Ok(outcome) => {
                    let after = (!outcome.already_stored).then(|| {
                        let mut after = state;
                        for e in &events {
                            after.evolve(e);
                        }
                        let written = version + events.len() as u64;
                        self.states.put(stream.clone(), after.clone(), written);
                        after
                    });
                    let outcome = CommandOutcome {
                        command_id,
                        events: outcome.events,
                        repeated: outcome.already_stored,
                    };
                    return Ok((outcome, after));
                }
                Err(StoreError::Conflict { .. }) => backoff_after_first(attempt).await,
                Err(e) => return Err(e.into()),
            }
        }
        Err(WorkflowError::Contention {
            stream: stream.to_string(),
            attempts: MAX_ATTEMPTS,
        })
    }

    /// Appends for the Deadline streams that `events` oblige, at the versions loaded now.
    pub(crate) async fn deadline_appends<A: FollowUps>(
        &self,
        stream_id: &str,
        before: &A,
        events: &[A::Event],
        ctx: &CommandContext,
        meta: &CommandMeta,
        command_id: Uuid,
    ) -> Result<Vec<StreamAppend>, WorkflowError> {
        let mut state = before.clone();
        // Deadline id → (state, loaded version, events so far), in first-touched order.
        let mut touched: Vec<(
            DeadlineId,
            Deadline,
            u64,
            Vec<<Deadline as Aggregate>::Event>,
        )> = Vec::new();
        for event in events {
            for (deadline_id, command) in A::deadline_follow_ups(stream_id, &state, event) {
                let index = match touched.iter().position(|t| t.0 == deadline_id) {
                    Some(i) => i,
                    None => {
                        let (d, v) = self.load::<Deadline>(&deadline_id.to_string()).await?;
                        touched.push((deadline_id, d, v, Vec::new()));
                        touched.len() - 1
                    }
                };
                let entry = &mut touched[index];
                let produced = entry.1.decide(command, ctx)?;
                for e in &produced {
                    entry.1.evolve(e);
                }
                entry.3.extend(produced);
            }
            state.evolve(event);
        }
        touched
            .into_iter()
            .filter(|t| !t.3.is_empty())
            .map(|(id, _, version, events)| {
                Ok(StreamAppend {
                    stream: stream_of::<Deadline>(&id.to_string())?,
                    expected: ExpectedVersion(version),
                    events: events
                        .iter()
                        .map(|e| new_event(e, meta, command_id))
                        .collect(),
                })
            })
            .collect()
    }

    pub(crate) async fn already_done(
        &self,
        command_id: Uuid,
    ) -> Result<Option<CommandOutcome>, WorkflowError> {
        let events = self.store().read_by_causation(command_id).await?;
        Ok((!events.is_empty()).then_some(CommandOutcome {
            command_id,
            events,
            repeated: true,
        }))
    }
}

pub(crate) fn stream_of<A: Aggregate>(stream_id: &str) -> Result<StreamId, WorkflowError> {
    StreamId::new(A::STREAM_TYPE, stream_id).map_err(|e| WorkflowError::BadStreamId(e.to_string()))
}

pub(crate) fn new_event<E: DomainEvent>(
    event: &E,
    meta: &CommandMeta,
    command_id: Uuid,
) -> NewEvent {
    envelope(
        event.event_type(),
        event.schema_version(),
        event.to_payload(),
        meta,
        command_id,
    )
}

/// An event with the command's who, why and ids around it.
pub(crate) fn envelope(
    event_type: &str,
    schema_version: u32,
    payload: serde_json::Value,
    meta: &CommandMeta,
    command_id: Uuid,
) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: event_type.to_owned(),
        schema_version,
        payload,
        metadata: EventMetadata {
            actor: styr_eventstore::Actor {
                subject: meta.actor.subject.clone(),
                display_name: meta.actor.display_name.clone(),
                role: role_name(meta.actor.role).to_owned(),
                organisation: meta.actor.organisation.to_string(),
            },
            reason: meta.reason.clone(),
            correlation_id: meta.correlation_id.unwrap_or(command_id),
            causation_id: Some(command_id),
            effective_at: meta.effective_at,
        },
    }
}

/// An event the service writes on its own account (the deadline monitor, the copy worker):
/// a system actor instead of a user, the pass or attempt as correlation and causation.
pub(crate) fn system_event<E: DomainEvent>(
    event: &E,
    subject: &str,
    display_name: &str,
    reason: Option<&str>,
    correlation: Uuid,
) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: event.event_type().to_owned(),
        schema_version: event.schema_version(),
        payload: event.to_payload(),
        metadata: EventMetadata {
            actor: styr_eventstore::Actor {
                subject: subject.to_owned(),
                display_name: display_name.to_owned(),
                role: "system".to_owned(),
                organisation: "STYR".to_owned(),
            },
            reason: reason.map(str::to_owned),
            correlation_id: correlation,
            causation_id: Some(correlation),
            effective_at: None,
        },
    }
}

/// The first retry of a command runs at once: its first attempt may have started from a kept
/// state that was merely stale (see `states.rs`), which the fresh load of the retry mends.
/// Later retries mean real contention and wait.
async fn backoff_after_first(attempt: u32) {
    if attempt > 1 {
        backoff(attempt - 1).await;
    }
}

/// Short, jittered waits so racing writers spread out instead of colliding again.
pub(crate) async fn backoff(attempt: u32) {
    let jitter = u64::from(Uuid::new_v4().as_bytes()[0]) % 4;
    let millis = (1u64 << attempt.min(5)).min(20) + jitter;
    tokio::time::sleep(Duration::from_millis(millis)).await;
}
