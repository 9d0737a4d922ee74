//! `calltrail emulator`: the seed's Call Automation In-Call API served locally, with simulated
//! calls whose callbacks are delivered for real. It needs no database.
//!
//! Data flows one way: `api` (signed HTTP requests and control endpoints) → `sim` (the call
//! simulation, which knows nothing of HTTP) → `delivery` (renders each event in the call's
//! callback format, signs it, POSTs it with retries and faults). `runtime` owns the simulation
//! and its clock and connects the three. `campaign` drives the same simulation and renderers from
//! the command line instead of the API, as fast as a receiver takes the callbacks.

pub mod api;
pub mod campaign;
pub mod config;
pub mod delivery;
pub mod runtime;
pub mod sim;
