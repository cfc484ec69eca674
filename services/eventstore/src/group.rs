//! Group commit: appends that arrive while a commit is in flight are written together in the
//! next transaction, so one hold of the log head and one durable commit (one fsync) serve many
//! writers.
//!
//! Every append of a process goes to one writer task. It takes the first waiting append and,
//! without waiting for more, every other append already queued (up to [`GROUP_EVENTS`] events),
//! and hands them to the backend as a group. The backend decides each append of the group in
//! arrival order with [`plan`] — as if the accepted ones before it were already written — so
//! an append that conflicts, or repeats stored ids, is answered on its own while the others
//! are written. The accepted ones are sealed one after another onto the head ([`seal_group`])
//! and written in one transaction. If that transaction fails as a whole (a concurrent writer in
//! another process took a version between the check and the insert, or the database went
//! away), each append of the group is retried as a group of one, so every caller gets the
//! answer its own append deserves.
//!
//! With no concurrency a group is a single append and costs what an ungrouped append did; under
//! load the commit rate stays the same while each commit carries many appends.
//!
//! An append whose caller stopped waiting (its future was dropped: a request timeout, a
//! cancelled task) before the writer holds the log's lock is not written, as an ungrouped
//! append's transaction was rolled back when its future was dropped; only one that is already
//! being committed can still land without anyone hearing of it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::error::StoreError;
use crate::seal::seal;
use crate::store::AppendAttempt;
use crate::types::{LogHead, RecordedEvent, StreamAppend, StreamId};

/// The most events one group carries (one append larger than this is a group by itself).
pub(crate) const GROUP_EVENTS: usize = 1000;

/// One caller's append, waiting for the writer.
pub(crate) struct Job {
    pub batch: Arc<[StreamAppend]>,
    pub reply: oneshot::Sender<Result<AppendAttempt, StoreError>>,
}

impl Job {
    fn events(&self) -> usize {
        self.batch.iter().map(|s| s.events.len()).sum()
    }

    /// Whether its caller still waits for the answer.
    fn waited_for(&self) -> bool {
        !self.reply.is_closed()
    }
}

/// What the writer does with one append of a group.
#[derive(Debug)]
pub(crate) enum Verdict {
    Accept,
    /// Some of its event ids are stored already (or written by an earlier append of this
    /// group): the store resolves whether it is a repeat.
    AlreadyStored,
    Conflict(StoreError),
    /// Its caller stopped waiting before the group was written: nothing is written for it.
    Abandoned,
}

/// Every stream the group touches, each once, in first-seen order.
pub(crate) fn streams<'a>(batches: &[&'a [StreamAppend]]) -> Vec<&'a StreamId> {
    let mut seen = HashSet::new();
    batches
        .iter()
        .flat_map(|b| b.iter().map(|s| &s.stream))
        .filter(|s| seen.insert(*s))
        .collect()
}

/// Every event id of the group.
pub(crate) fn event_ids(batches: &[&[StreamAppend]]) -> Vec<Uuid> {
    batches
        .iter()
        .flat_map(|b| b.iter().flat_map(|s| s.events.iter().map(|e| e.event_id)))
        .collect()
}

/// Whether the caller of the group's `i`-th append still waits for it.
pub(crate) type WaitedFor<'a> = &'a (dyn Fn(usize) -> bool + Sync);

/// Decides each append in order against the stored stream versions (a stream absent from
/// `versions` has none) and the stored event ids, as if the accepted appends before it had
/// been written. An append nobody waits for any more is abandoned and does not count.
pub(crate) fn plan(
    batches: &[&[StreamAppend]],
    versions: &HashMap<StreamId, u64>,
    known: &HashSet<Uuid>,
    waited_for: WaitedFor<'_>,
) -> Vec<Verdict> {
    let mut current: HashMap<&StreamId, u64> = HashMap::new();
    let mut written: HashSet<Uuid> = HashSet::new();
    batches
        .iter()
        .enumerate()
        .map(|(i, batch)| {
            if !waited_for(i) {
                return Verdict::Abandoned;
            }
            let ids = || {
                batch
                    .iter()
                    .flat_map(|s| s.events.iter().map(|e| e.event_id))
            };
            if ids().any(|id| known.contains(&id) || written.contains(&id)) {
                return Verdict::AlreadyStored;
            }
            for s in batch.iter() {
                let actual = current
                    .get(&s.stream)
                    .copied()
                    .unwrap_or_else(|| versions.get(&s.stream).copied().unwrap_or(0));
                if actual != s.expected.0 {
                    return Verdict::Conflict(StoreError::Conflict {
                        stream: s.stream.clone(),
                        expected: s.expected.0,
                        actual,
                    });
                }
            }
            for s in batch.iter() {
                current.insert(&s.stream, s.expected.0 + s.events.len() as u64);
            }
            written.extend(ids());
            Verdict::Accept
        })
        .collect()
}

/// Seals the accepted appends one after another onto `head`: the result holds, per append of
/// the group, its recorded events (empty for one not accepted).
pub(crate) fn seal_group(
    batches: &[&[StreamAppend]],
    verdicts: &[Verdict],
    head: &LogHead,
    recorded_at: DateTime<Utc>,
) -> Vec<Vec<RecordedEvent>> {
    let mut head = head.clone();
    batches
        .iter()
        .zip(verdicts)
        .map(|(batch, verdict)| {
            if !matches!(verdict, Verdict::Accept) {
                return Vec::new();
            }
            let sealed = seal(batch, &head, recorded_at);
            if let Some(last) = sealed.last() {
                head = LogHead {
                    position: last.position,
                    hash: last.hash.clone(),
                };
            }
            sealed
        })
        .collect()
}

/// Each append's answer once the group's transaction committed (or wrote nothing because no
/// append was accepted).
pub(crate) fn answers(
    verdicts: Vec<Verdict>,
    sealed: Vec<Vec<RecordedEvent>>,
) -> Vec<Result<AppendAttempt, StoreError>> {
    verdicts
        .into_iter()
        .zip(sealed)
        .map(|(verdict, events)| match verdict {
            Verdict::Accept => Ok(AppendAttempt::Written(events)),
            Verdict::AlreadyStored => Ok(AppendAttempt::AlreadyStored),
            Verdict::Conflict(e) => Err(e),
            Verdict::Abandoned => Err(StoreError::Unavailable(
                "the caller stopped waiting; nothing was written".into(),
            )),
        })
        .collect()
}

/// The last event a group wrote (the new head), if it wrote any.
pub(crate) fn last_written(
    answers: &[Result<AppendAttempt, StoreError>],
) -> Option<&RecordedEvent> {
    answers
        .iter()
        .filter_map(|a| match a {
            Ok(AppendAttempt::Written(events)) => events.last(),
            _ => None,
        })
        .max_by_key(|e| e.position)
}

/// Writes one group and returns each append's answer, or fails as a whole.
pub(crate) trait GroupWriter: Send + Sync + 'static {
    /// `waited_for` is asked again once the log's lock is held, so an append whose caller left
    /// while the group waited for the lock is not written.
    fn write_group(
        &self,
        batches: &[&[StreamAppend]],
        waited_for: WaitedFor<'_>,
    ) -> impl Future<Output = Result<Vec<Result<AppendAttempt, StoreError>>, StoreError>> + Send;
}

/// Starts a writer task on the current runtime; it ends when every sender is dropped.
pub(crate) fn spawn_writer(writer: impl GroupWriter) -> mpsc::UnboundedSender<Job> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut events = first.events();
            let mut jobs = vec![first];
            while events < GROUP_EVENTS {
                match rx.try_recv() {
                    Ok(job) => {
                        events += job.events();
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            write_jobs(&writer, jobs).await;
        }
    });
    tx
}

async fn write_jobs(writer: &impl GroupWriter, jobs: Vec<Job>) {
    // Callers that stopped waiting while their appends were queued are not written for.
    let jobs: Vec<Job> = jobs.into_iter().filter(Job::waited_for).collect();
    if jobs.is_empty() {
        return;
    }
    let batches: Vec<&[StreamAppend]> = jobs.iter().map(|j| &*j.batch).collect();
    let waited_for = |i: usize| jobs.get(i).is_some_and(Job::waited_for);
    match writer.write_group(&batches, &waited_for).await {
        Ok(answers) => {
            for (job, answer) in jobs.into_iter().zip(answers) {
                let _ = job.reply.send(answer);
            }
        }
        Err(e) if jobs.len() == 1 => {
            if let Some(job) = jobs.into_iter().next() {
                let _ = job.reply.send(Err(e));
            }
        }
        // The database is away: every append of the group gets that answer at once (the same
        // event ids make a retry safe), rather than each waiting out its own timeout here
        // while every other append of the process queues behind.
        Err(StoreError::Unavailable(why)) => {
            for job in jobs {
                let _ = job.reply.send(Err(StoreError::Unavailable(why.clone())));
            }
        }
        // The group failed as a whole on something one of its appends did (a unique
        // violation): each append on its own gets the answer it deserves.
        Err(_) => {
            for job in jobs {
                if !job.waited_for() {
                    continue;
                }
                let waited_for = |_: usize| job.waited_for();
                let answer = match writer.write_group(&[&job.batch], &waited_for).await {
                    Ok(mut answers) => answers.pop().unwrap_or_else(|| {
                        Err(StoreError::Unavailable("the append got no answer".into()))
                    }),
                    Err(e) => Err(e),
                };
                let _ = job.reply.send(answer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Actor, EventMetadata, ExpectedVersion, NewEvent};

    fn stream(id: &str) -> StreamId {
        StreamId::new("assignment", id).unwrap()
    }

    fn append(id: &str, expected: u64, events: usize) -> StreamAppend {
        StreamAppend {
            stream: stream(id),
            expected: ExpectedVersion(expected),
            events: (0..events)
                .map(|_| NewEvent {
                    event_id: Uuid::now_v7(),
                    event_type: "Happened".into(),
                    schema_version: 1,
                    payload: serde_json::json!({}),
                    metadata: EventMetadata {
                        actor: Actor {
                            subject: "s".into(),
                            display_name: "S".into(),
                            role: "ministry".into(),
                            organisation: "HOD".into(),
                        },
                        reason: None,
                        correlation_id: Uuid::now_v7(),
                        causation_id: None,
                        effective_at: None,
                    },
                })
                .collect(),
        }
    }

    #[test]
    fn later_appends_are_checked_against_the_earlier_ones_of_the_group() {
        // Given stream a at version 2 and b new
        let versions = HashMap::from([(stream("a"), 2)]);
        let first = [append("a", 2, 2)];
        let stale = [append("a", 2, 1)];
        let follows = [append("a", 4, 1), append("b", 0, 1)];
        let batches: Vec<&[StreamAppend]> = vec![&first, &stale, &follows];
        // When the group is planned
        let verdicts = plan(&batches, &versions, &HashSet::new(), &|_| true);
        // Then the stale one conflicts at the version the first one wrote, the others pass
        assert!(matches!(verdicts[0], Verdict::Accept));
        assert!(matches!(
            &verdicts[1],
            Verdict::Conflict(StoreError::Conflict {
                expected: 2,
                actual: 4,
                ..
            })
        ));
        assert!(matches!(verdicts[2], Verdict::Accept));
    }

    #[test]
    fn repeated_ids_inside_a_group_or_in_the_store_are_not_written_twice() {
        let once = [append("a", 0, 1)];
        let again = once.clone();
        let stored = [append("b", 0, 1)];
        let known = HashSet::from([stored[0].events[0].event_id]);
        let batches: Vec<&[StreamAppend]> = vec![&once, &again, &stored];
        let verdicts = plan(&batches, &HashMap::new(), &known, &|_| true);
        assert!(matches!(verdicts[0], Verdict::Accept));
        assert!(matches!(verdicts[1], Verdict::AlreadyStored));
        assert!(matches!(verdicts[2], Verdict::AlreadyStored));
    }

    #[test]
    fn an_append_nobody_waits_for_is_abandoned_and_does_not_count() {
        // Given a stream at version 2, an append to it whose caller left, and one that expects
        // the version the abandoned one would have written
        let versions = HashMap::from([(stream("a"), 2)]);
        let left = [append("a", 2, 1)];
        let after_left = [append("a", 3, 1)];
        let fresh = [append("a", 2, 1)];
        let batches: Vec<&[StreamAppend]> = vec![&left, &after_left, &fresh];
        let verdicts = plan(&batches, &versions, &HashSet::new(), &|i| i != 0);
        assert!(matches!(verdicts[0], Verdict::Abandoned));
        assert!(matches!(
            &verdicts[1],
            Verdict::Conflict(StoreError::Conflict { actual: 2, .. })
        ));
        assert!(matches!(verdicts[2], Verdict::Accept));
    }

    #[test]
    fn accepted_appends_chain_one_after_another_and_skip_the_refused() {
        let a = [append("a", 0, 2)];
        let b = [append("b", 5, 1)];
        let c = [append("c", 0, 1)];
        let batches: Vec<&[StreamAppend]> = vec![&a, &b, &c];
        let verdicts = plan(&batches, &HashMap::new(), &HashSet::new(), &|_| true);
        let head = LogHead {
            position: 7,
            hash: crate::types::GENESIS_HASH.into(),
        };
        let sealed = seal_group(&batches, &verdicts, &head, Utc::now());
        let positions: Vec<Vec<u64>> = sealed
            .iter()
            .map(|s| s.iter().map(|e| e.position).collect())
            .collect();
        assert_eq!(positions, vec![vec![8, 9], vec![], vec![10]]);
        assert_eq!(sealed[2][0].prev_hash, sealed[0][1].hash);
        assert_eq!(sealed[0][0].prev_hash, crate::types::GENESIS_HASH);
    }
}
