//! Integration tests of switchboard-engine: flows driven step by step with a scripted clock
//! and scripted answers, with the commands, trace and state of every step snapshotted
//! (`tests/it/snapshots`, insta; review changes with `cargo insta review`).

extern crate switchboard_engine as engine;

mod durability;
mod errors;
mod events;
mod harness;
mod pinning;
mod scenarios;
mod secure;
mod seeds;
mod subflows;
