//! What the GA routes remember beside the simulation: each call's connection properties (the
//! simulation knows nothing of callback URIs or caller ids), the answers to creates already made
//! (by `Repeatability-Request-ID`) and incoming calls not yet answered. Each is bounded: the oldest
//! entries are forgotten first, so memory stays bounded however many calls are placed.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;

use serde_json::Value;

use crate::emulator::sim::model::Identifier;

/// Entries kept of each kind.
const KEPT: usize = 100_000;

/// A call's properties as `CallConnectionProperties` reports them.
#[derive(Debug, Clone)]
pub struct CallProps {
    pub targets: Vec<Identifier>,
    pub callback_uri: String,
    pub source: Option<Identifier>,
    pub source_caller_id: Option<String>,
    pub source_display_name: Option<String>,
    pub answered_by: Option<Identifier>,
}

/// An answer already given: status and body.
#[derive(Debug, Clone)]
pub struct Stored {
    pub status: u16,
    pub body: Value,
}

/// An incoming call sent to the Event Grid endpoint, until it is answered, rejected or
/// redirected.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub from: Identifier,
    pub to: Identifier,
    pub server_call_id: String,
    pub correlation_id: String,
}

#[derive(Default)]
pub struct Registry {
    calls: Mutex<Bounded<String, CallProps>>,
    answers: Mutex<Bounded<String, Stored>>,
    incoming: Mutex<Bounded<String, Incoming>>,
    /// Event Grid endpoints that passed the validation handshake.
    validated: Mutex<HashSet<String>>,
}

impl Registry {
    pub fn add_call(&self, call_id: &str, props: CallProps) {
        lock(&self.calls).insert(call_id.to_owned(), props);
    }

    pub fn call(&self, call_id: &str) -> Option<CallProps> {
        lock(&self.calls).get(call_id).cloned()
    }

    /// The answer given to the request with this repeatability id, if any.
    pub fn repeated(&self, request_id: &str) -> Option<Stored> {
        lock(&self.answers).get(request_id).cloned()
    }

    pub fn remember_answer(&self, request_id: &str, stored: Stored) {
        lock(&self.answers).insert(request_id.to_owned(), stored);
    }

    pub fn add_incoming(&self, context: &str, incoming: Incoming) {
        lock(&self.incoming).insert(context.to_owned(), incoming);
    }

    pub fn is_validated(&self, endpoint: &str) -> bool {
        lock(&self.validated).contains(endpoint)
    }

    pub fn mark_validated(&self, endpoint: &str) {
        lock(&self.validated).insert(endpoint.to_owned());
    }

    /// Takes the incoming call: a context is used once.
    pub fn take_incoming(&self, context: &str) -> Option<Incoming> {
        lock(&self.incoming).remove(context)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every update is one step: a panic elsewhere leaves consistent data.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A map that forgets its oldest entries past `KEPT`.
struct Bounded<K, V> {
    map: HashMap<K, V>,
    order: VecDeque<K>,
}

impl<K, V> Default for Bounded<K, V> {
    fn default() -> Self {
        Bounded {
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<K: Hash + Eq + Clone, V> Bounded<K, V> {
    fn insert(&mut self, key: K, value: V) {
        if self.map.insert(key.clone(), value).is_none() {
            self.order.push_back(key);
        }
        // The queue bounds the map (every key in the map is in it), including keys already
        // removed, which are simply gone when their turn comes.
        while self.order.len() > KEPT {
            if let Some(oldest) = self.order.pop_front() {
                self.map.remove(&oldest);
            }
        }
    }

    fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(key)
    }

    fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.remove(key)
    }
}
