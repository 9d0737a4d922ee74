//! calltrail: receives Azure Communication Services Call Automation callbacks, authenticates and
//! parses them, stores them exactly once in PostgreSQL, and serves call history.
//!
//! Data flows one way: `http` (the edge) → `auth` (verify the raw bytes) → `events` (parse into the
//! typed model) → `ingest` (group commit) → `store` (the append-only event log) → `projection`
//! (the call model derived from it); `api` serves what was stored.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod emulator;
pub mod error;
pub mod events;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod projection;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod ui;
