//! A process-wide budget for request bodies held in memory: the bodies being read, parsed, queued and
//! written. A request whose body does not fit gets `503 overloaded` at once, so memory stays bounded
//! however many senders push at the same time (the queue bounds requests; this bounds bytes).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The budget is counted in KiB so that a large budget fits the semaphore's permit count.
const UNIT: usize = 1024;

#[derive(Clone)]
pub struct BodyBudget {
    units: Arc<Semaphore>,
}

/// Bytes of the budget held by one request; given back when dropped (when the request is done).
pub struct BodyPermit {
    held: Option<OwnedSemaphorePermit>,
    units: u32,
}

impl BodyBudget {
    pub fn new(max_bytes: usize) -> BodyBudget {
        BodyBudget {
            units: Arc::new(Semaphore::new(max_bytes.div_ceil(UNIT))),
        }
    }

    pub fn empty_permit(&self) -> BodyPermit {
        BodyPermit {
            held: None,
            units: 0,
        }
    }

    /// Grows `permit` to cover `bytes` in total; false when the budget has no room.
    pub fn reserve(&self, permit: &mut BodyPermit, bytes: usize) -> bool {
        let wanted = bytes.div_ceil(UNIT) as u32;
        if wanted <= permit.units {
            return true;
        }
        match self
            .units
            .clone()
            .try_acquire_many_owned(wanted - permit.units)
        {
            Ok(more) => {
                match permit.held.as_mut() {
                    Some(held) => held.merge(more),
                    None => permit.held = Some(more),
                }
                permit.units = wanted;
                true
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_grow_until_the_budget_is_spent_and_come_back_when_dropped() {
        let budget = BodyBudget::new(4 * UNIT);
        let mut first = budget.empty_permit();
        assert!(budget.reserve(&mut first, 1));
        assert!(budget.reserve(&mut first, 3 * UNIT));
        let mut second = budget.empty_permit();
        assert!(budget.reserve(&mut second, UNIT));
        assert!(!budget.reserve(&mut second, 2 * UNIT), "only 4 KiB in all");
        drop(first);
        assert!(budget.reserve(&mut second, 4 * UNIT));
    }
}
