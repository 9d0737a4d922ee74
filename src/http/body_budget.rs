//! A process-wide budget for request bodies held in memory: the bodies being read, parsed, queued and
//! written, and the events parsed from them. A request whose body does not fit gets `503 overloaded`
//! at once, so memory stays bounded however many senders push at the same time (the queue bounds
//! requests; this bounds bytes).
//!
//! A body is counted as it arrives, not by the length it declares: a sender that declares a large
//! body and sends it slowly holds only what it has sent. Bodies whose sender is not authenticated
//! yet (a Standard Webhooks signature can only be checked once the whole body is in) draw on a
//! smaller share of the budget as well, so strangers can never hold all of it: senders whose
//! credentials were checked before the body (query secret, JWT) always find the rest.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The budget is counted in KiB so that a large budget fits the semaphore's permit count.
const UNIT: usize = 1024;

#[derive(Clone)]
pub struct BodyBudget {
    total: Arc<Semaphore>,
    /// The share that bodies of senders not yet authenticated may hold, within the total.
    unverified: Arc<Semaphore>,
}

/// Bytes of the budget held by one request; given back when dropped (when the request is done).
pub struct BodyPermit {
    total: Option<OwnedSemaphorePermit>,
    /// Held while the sender is not authenticated; released by [`BodyPermit::verified`].
    unverified: Option<OwnedSemaphorePermit>,
    units: u32,
    checked: bool,
    budget: BodyBudget,
}

impl BodyBudget {
    pub fn new(max_bytes: usize, max_unverified_bytes: usize) -> BodyBudget {
        BodyBudget {
            total: Arc::new(Semaphore::new(max_bytes.div_ceil(UNIT))),
            unverified: Arc::new(Semaphore::new(
                max_unverified_bytes.min(max_bytes).div_ceil(UNIT),
            )),
        }
    }

    /// A permit holding nothing yet, for a sender already authenticated (`true`) or not.
    pub fn permit(&self, authenticated: bool) -> BodyPermit {
        BodyPermit {
            total: None,
            unverified: None,
            units: 0,
            checked: authenticated,
            budget: self.clone(),
        }
    }
}

impl BodyPermit {
    /// Grows the permit to cover `bytes` in total; false when the budget (or, for a sender not yet
    /// authenticated, its share) has no room.
    pub fn reserve(&mut self, bytes: usize) -> bool {
        let wanted = u32::try_from(bytes.div_ceil(UNIT)).unwrap_or(u32::MAX);
        if wanted <= self.units {
            return true;
        }
        let more = wanted - self.units;
        let unverified = if self.checked {
            None
        } else {
            match self.budget.unverified.clone().try_acquire_many_owned(more) {
                Ok(permit) => Some(permit),
                Err(_) => return false,
            }
        };
        let Ok(total) = self.budget.total.clone().try_acquire_many_owned(more) else {
            return false;
        };
        merge(&mut self.total, total);
        if let Some(unverified) = unverified {
            merge(&mut self.unverified, unverified);
        }
        self.units = wanted;
        true
    }

    /// The sender is authenticated: its bytes no longer count against the share of strangers.
    pub fn verified(&mut self) {
        self.checked = true;
        self.unverified = None;
    }
}

fn merge(held: &mut Option<OwnedSemaphorePermit>, more: OwnedSemaphorePermit) {
    match held.as_mut() {
        Some(held) => held.merge(more),
        None => *held = Some(more),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_grow_until_the_budget_is_spent_and_come_back_when_dropped() {
        let budget = BodyBudget::new(4 * UNIT, 4 * UNIT);
        let mut first = budget.permit(true);
        assert!(first.reserve(1));
        assert!(first.reserve(3 * UNIT));
        let mut second = budget.permit(true);
        assert!(second.reserve(UNIT));
        assert!(!second.reserve(2 * UNIT), "only 4 KiB in all");
        drop(first);
        assert!(second.reserve(4 * UNIT));
    }

    #[test]
    fn strangers_hold_at_most_their_share_and_leave_the_rest_to_authenticated_senders() {
        let budget = BodyBudget::new(8 * UNIT, 2 * UNIT);
        let mut stranger = budget.permit(false);
        assert!(stranger.reserve(2 * UNIT));
        let mut another = budget.permit(false);
        assert!(!another.reserve(1), "the share is spent");
        let mut known = budget.permit(true);
        assert!(known.reserve(6 * UNIT), "the rest is there for them");
        assert!(!known.reserve(7 * UNIT), "but not more than the total");

        // Once verified, a body no longer counts against the share, only against the total.
        stranger.verified();
        assert!(
            !another.reserve(UNIT),
            "the share is free again, but the total is spent"
        );
        drop(known);
        assert!(another.reserve(2 * UNIT));
    }
}
