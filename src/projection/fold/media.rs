//! Play and recognize operations: one per (operation context, operation), its row following the
//! events that update it until one ends it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::delta::Delta;
use super::order::Event;
use crate::projection::model::{MediaKind, MediaOperation, TERMINAL_MEDIA};

/// The call's media operations, in the order they started. Stored as a JSON array.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub(super) struct Media(Vec<MediaGroup>);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct MediaGroup {
    /// A hash of the operation context, which is the application's own state and often hundreds
    /// of bytes: the events that update the group carry the context itself.
    context: String,
    operation: MediaKind,
    started_at: DateTime<Utc>,
    latest_outcome: String,
    terminal: Option<Terminal>,
    count: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Terminal {
    at: DateTime<Utc>,
    pub(super) outcome: String,
    code: Option<i64>,
    sub_code: Option<i64>,
    message: Option<String>,
}

impl Media {
    /// One event of a play or recognize operation.
    pub(super) fn fold(
        &mut self,
        e: &Event<'_>,
        operation: MediaKind,
        outcome: &str,
        delta: &mut Delta,
    ) {
        let context = e.stored.operation_context.as_deref().unwrap_or_default();
        let key = context_key(context);
        let groups = &mut self.0;
        let (index, is_new) = match groups
            .iter()
            .position(|g| g.context == key && g.operation == operation)
        {
            Some(i) => (i, false),
            None => {
                groups.push(MediaGroup {
                    context: key,
                    operation,
                    started_at: e.at(),
                    latest_outcome: String::new(),
                    terminal: None,
                    count: 0,
                });
                (groups.len() - 1, true)
            }
        };
        let group = &mut groups[index];
        group.count = group.count.saturating_add(1);
        outcome.clone_into(&mut group.latest_outcome);
        if TERMINAL_MEDIA.contains(&outcome) {
            group.terminal = Some(Terminal {
                at: e.at(),
                outcome: outcome.to_owned(),
                code: e.stored.result_code,
                sub_code: e.stored.result_sub_code,
                message: e.stored.result_message.clone(),
            });
        }
        delta.media(index, group.row(context), is_new);
    }

    /// The ends of the operations that ended.
    pub(super) fn terminals(&self) -> impl Iterator<Item = &Terminal> + Clone {
        self.0.iter().filter_map(|g| g.terminal.as_ref())
    }

    /// One group per (context, operation), each with the events that made it.
    pub(super) fn check(&self) {
        debug_assert!(
            self.0
                .iter()
                .enumerate()
                .all(|(i, g)| self.0[..i]
                    .iter()
                    .all(|h| (&h.context, h.operation) != (&g.context, g.operation))),
            "one media group per operation context and operation"
        );
        debug_assert!(
            self.0.iter().all(|g| g.count > 0),
            "a media group has its events"
        );
    }
}

impl MediaGroup {
    fn row(&self, context: &str) -> MediaOperation {
        let terminal = self.terminal.as_ref();
        let finished_at = terminal.map(|t| t.at);
        MediaOperation {
            operation_context: context.to_owned(),
            operation: self.operation,
            outcome: terminal
                .map_or(&self.latest_outcome, |t| &t.outcome)
                .clone(),
            result_code: terminal.and_then(|t| t.code),
            result_sub_code: terminal.and_then(|t| t.sub_code),
            result_message: terminal.and_then(|t| t.message.clone()),
            started_at: Some(self.started_at),
            finished_at,
            duration_ms: finished_at.map(|f| (f - self.started_at).num_milliseconds()),
            event_count: self.count,
        }
    }
}

/// 128 bits of SHA-256 of an operation context: stable across versions, unlike the standard
/// library's hasher, because it is stored.
fn context_key(context: &str) -> String {
    hex::encode(&Sha256::digest(context.as_bytes())[..16])
}
