//! The simulation's timer queue: what is due when, in simulated time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::emulator::sim::clock::SimTime;

#[derive(Debug, Clone)]
pub(crate) enum Timer {
    /// A rung target answers, declines, is busy or gives up.
    Ring { call_id: String, ring_id: u64 },
    /// A scenario step of a participant.
    Step {
        call_id: String,
        participant_id: String,
        step: usize,
    },
    /// A play reaches the end of its audio.
    PlayDone { call_id: String, play_id: String },
    /// A recognition's prompt has played: listening starts.
    PromptDone { call_id: String, recognize: u64 },
    /// A recognition heard nothing for its silence timeout.
    RecognizeTimeout {
        call_id: String,
        recognize: u64,
        generation: u64,
    },
}

/// Timers by due time; equal times fire in the order they were scheduled. Timers whose subject
/// is gone (answered by hand, cancelled, call ended) are not removed: they find nothing to do.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    queue: BinaryHeap<Reverse<(SimTime, u64)>>,
    timers: HashMap<u64, Timer>,
    next: u64,
}

impl Timers {
    pub fn schedule(&mut self, at: SimTime, timer: Timer) {
        self.next += 1;
        self.queue.push(Reverse((at, self.next)));
        self.timers.insert(self.next, timer);
    }

    pub fn next_due(&self) -> Option<SimTime> {
        self.queue.peek().map(|Reverse((at, _))| *at)
    }

    /// The next timer due at or before `now`, with its due time.
    pub fn pop_due(&mut self, now: SimTime) -> Option<(SimTime, Timer)> {
        let Reverse((at, _)) = self.queue.peek()?;
        if *at > now {
            return None;
        }
        let Reverse((at, id)) = self.queue.pop().expect("peeked");
        let timer = self
            .timers
            .remove(&id)
            .expect("every queued id has a timer");
        Some((at, timer))
    }
}
