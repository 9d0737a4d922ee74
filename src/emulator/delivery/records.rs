//! What was delivered, for `GET /emulator/deliveries` and `GET /emulator/calls/{id}`.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::emulator::config::{CallbackAuth, CallbackFormat};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not yet answered with a 2xx, and attempts are left.
    Pending,
    Delivered,
    /// Every attempt failed.
    Dropped,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    pub id: u64,
    pub call_id: String,
    /// The URL posted to (the call's callbackUri, or the operation's `operationCallbackUri` when
    /// the events are an operation's that gave one), with the value of a `secret` query parameter
    /// hidden.
    pub callback_uri: String,
    pub format: CallbackFormat,
    pub auth: CallbackAuth,
    pub event_types: Vec<String>,
    /// A second delivery of the same body, sent on purpose (the duplicate fault).
    pub duplicate: bool,
    pub state: DeliveryState,
    pub attempts: Vec<Attempt>,
    pub body: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status; `None` when nothing came back (or nothing was sent).
    pub status: Option<u16>,
    pub error: Option<String>,
    /// The fault applied to this attempt, if any.
    pub fault: Option<&'static str>,
}

/// The most recent deliveries, at most `cap` of them; ids count up from 1.
#[derive(Debug)]
pub struct Records {
    items: VecDeque<DeliveryRecord>,
    next_id: u64,
    cap: usize,
}

impl Records {
    pub fn new(cap: usize) -> Records {
        Records {
            items: VecDeque::new(),
            next_id: 1,
            cap: cap.max(1),
        }
    }

    pub fn add(&mut self, mut record: DeliveryRecord) -> u64 {
        record.id = self.next_id;
        self.next_id += 1;
        if self.items.len() == self.cap {
            self.items.pop_front();
        }
        self.items.push_back(record);
        self.next_id - 1
    }

    /// A record still kept (the oldest are forgotten).
    pub fn get_mut(&mut self, id: u64) -> Option<&mut DeliveryRecord> {
        let first = self.items.front()?.id;
        let offset = usize::try_from(id.checked_sub(first)?).ok()?;
        self.items.get_mut(offset)
    }

    pub fn iter(&self) -> impl Iterator<Item = &DeliveryRecord> {
        self.items.iter()
    }
}

/// Hides the value of a `secret` query parameter.
pub fn redact(uri: &str) -> String {
    let Ok(mut url) = url::Url::parse(uri) else {
        return uri.to_owned();
    };
    if url.query().is_none() {
        return uri.to_owned();
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "secret" {
                "***".to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.into()
}
