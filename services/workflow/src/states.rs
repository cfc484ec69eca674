//! The states this process's own commands left aggregates in, kept for the next command on the
//! same stream so it can start without reading the stream.
//!
//! A kept state may be stale: another server, or another path in this one (a supplement's
//! issue, an import), may have appended since. That never decides anything, because every use
//! is checked against the log:
//! - a command appends with the version its state was at, so a stale state costs a version
//!   conflict and a retry from the stream, never a write on top of what it did not see (and
//!   the domain's own authorization runs again on the fresh state);
//! - a refusal, or "nothing to do", is only answered once the stream's version shows the state
//!   was current;
//! - callers that check visibility on a kept state check again on a fresh load before saying
//!   "not found".
//!
//! Reads (queries) never use it: they load from the log. A state is taken out while a command
//! runs on it and put back after, so two commands on one stream never share one; the second
//! simply loads. At most [`CAPACITY`] states are kept, the oldest put back dropped first.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use styr_eventstore::StreamId;

/// States kept at most (an assignment's state is a few kilobytes).
pub const CAPACITY: usize = 10_000;

struct Kept {
    state: Box<dyn Any + Send>,
    version: u64,
    /// Which put this was, so the eviction queue's older entries for the stream are ignored.
    stamp: u64,
}

#[derive(Default)]
struct Inner {
    kept: HashMap<StreamId, Kept>,
    /// Streams in the order their states were put back, with the put's stamp.
    order: VecDeque<(StreamId, u64)>,
    next_stamp: u64,
}

#[derive(Default)]
pub struct States {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for States {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.inner.lock().map(|i| i.kept.len()).unwrap_or(0);
        f.debug_struct("States").field("kept", &kept).finish()
    }
}

impl States {
    /// Takes the state kept for `stream` out (with its version), if one of type `A` is kept.
    pub fn take<A: Any>(&self, stream: &StreamId) -> Option<(A, u64)> {
        let mut inner = self.inner.lock().ok()?;
        let kept = inner.kept.remove(stream)?;
        let version = kept.version;
        kept.state.downcast::<A>().ok().map(|s| (*s, version))
    }

    /// Keeps `state` as `stream` stood at `version` (unless a later one is kept), dropping the
    /// oldest beyond [`CAPACITY`].
    pub fn put<A: Any + Send>(&self, stream: StreamId, state: A, version: u64) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        // Another command of this process may have put a later state meanwhile: keep that.
        if inner.kept.get(&stream).is_some_and(|k| k.version > version) {
            return;
        }
        inner.next_stamp += 1;
        let stamp = inner.next_stamp;
        inner.order.push_back((stream.clone(), stamp));
        inner.kept.insert(
            stream,
            Kept {
                state: Box::new(state),
                version,
                stamp,
            },
        );
        while inner.kept.len() > CAPACITY {
            let Some((oldest, stamp)) = inner.order.pop_front() else {
                break;
            };
            if inner.kept.get(&oldest).is_some_and(|k| k.stamp == stamp) {
                inner.kept.remove(&oldest);
            }
        }
        // Entries for states since taken or put again are skipped above; keep the queue from
        // growing without bound when streams are taken and put many times.
        if inner.order.len() > 2 * CAPACITY {
            let Inner { kept, order, .. } = &mut *inner;
            order.retain(|(s, stamp)| kept.get(s).is_some_and(|k| k.stamp == *stamp));
        }
    }

    /// How many states are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().map(|i| i.kept.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(n: usize) -> StreamId {
        StreamId::new("assignment", format!("a{n}")).unwrap()
    }

    #[test]
    fn a_state_is_taken_once_and_only_as_its_own_type() {
        let states = States::default();
        states.put(stream(1), String::from("state"), 3);
        assert!(states.take::<u32>(&stream(1)).is_none(), "another type");
        // A wrong-typed take drops it: the next command loads from the log.
        assert!(states.take::<String>(&stream(1)).is_none());
        states.put(stream(1), String::from("state"), 3);
        assert_eq!(states.take::<String>(&stream(1)), Some(("state".into(), 3)));
        assert_eq!(states.take::<String>(&stream(1)), None, "taken");
        // An earlier state never replaces a later one.
        states.put(stream(1), String::from("later"), 5);
        states.put(stream(1), String::from("earlier"), 4);
        assert_eq!(states.take::<String>(&stream(1)), Some(("later".into(), 5)));
    }

    #[test]
    fn the_oldest_put_is_dropped_beyond_capacity() {
        let states = States::default();
        for n in 0..=CAPACITY {
            states.put(stream(n), n, 1);
        }
        assert_eq!(states.len(), CAPACITY);
        assert_eq!(states.take::<usize>(&stream(0)), None, "the oldest");
        assert_eq!(states.take::<usize>(&stream(1)), Some((1, 1)));
        // Put again, a state counts as new: stream 2 outlives streams 3 and 4.
        let (two, v) = states.take::<usize>(&stream(2)).unwrap();
        states.put(stream(2), two, v);
        states.put(stream(CAPACITY + 1), 0usize, 1);
        states.put(stream(CAPACITY + 2), 0usize, 1);
        states.put(stream(CAPACITY + 3), 0usize, 1);
        assert_eq!(states.take::<usize>(&stream(2)), Some((2, 1)));
        assert_eq!(states.take::<usize>(&stream(3)), None);
    }

    #[test]
    fn taking_and_putting_one_stream_many_times_keeps_the_queue_bounded() {
        let states = States::default();
        for v in 0..(5 * CAPACITY as u64) {
            states.put(stream(7), 0u8, v);
            states.take::<u8>(&stream(7));
        }
        states.put(stream(7), 0u8, 1);
        let queued = states.inner.lock().unwrap().order.len();
        assert!(queued <= 2 * CAPACITY + 1, "{queued}");
    }
}
