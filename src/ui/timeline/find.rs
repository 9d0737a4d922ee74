//! Finding the stored event behind a mark, by what the call model kept of it.

use chrono::{DateTime, Utc};

use crate::api::events::EventSummary;

/// Where each stored event can be found by what the call model kept of it.
pub struct Events<'a> {
    pub events: &'a [EventSummary],
}

/// The sender's time, else the receipt time: the call model orders events by this.
pub fn effective_time(event: &EventSummary) -> DateTime<Utc> {
    event.event_time.unwrap_or(event.received_at)
}

impl Events<'_> {
    /// By ACS sequence number within a family, else by time (within the families, else any).
    pub fn find(
        &self,
        at: DateTime<Utc>,
        sequence: Option<i64>,
        families: &[&str],
        context: Option<&str>,
    ) -> Option<i64> {
        let in_family = |e: &&EventSummary| families.contains(&e.family.as_str());
        let in_context = |e: &&EventSummary| {
            context.map_or(true, |c| e.operation_context.as_deref().unwrap_or("") == c)
        };
        if let Some(sequence) = sequence {
            if let Some(e) = self
                .events
                .iter()
                .filter(in_family)
                .find(|e| e.sequence_number == Some(sequence))
            {
                return Some(e.event_seq);
            }
        }
        let at_time = |e: &&EventSummary| effective_time(e) == at;
        self.events
            .iter()
            .filter(in_family)
            .filter(in_context)
            .find(at_time)
            .or_else(|| self.events.iter().filter(in_context).find(at_time))
            .map(|e| e.event_seq)
    }
}
