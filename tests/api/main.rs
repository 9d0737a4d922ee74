//! End-to-end tests: the real app on a real port, against a real PostgreSQL (scripts/test.sh).

mod auth;
mod call_model;
mod campaign;
mod corpus;
mod emulator;
mod errors;
mod eventgrid;
mod fixtures;
mod health;
mod helpers;
mod hostile;
mod ingest;
mod instances;
#[path = "../shared/model_tables.rs"]
mod model_tables;
mod outage;
mod replica;
mod reporting;
mod retention;
mod ui;
