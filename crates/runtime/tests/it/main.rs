//! Integration tests of switchboard-runtime: flows run end to end through the driver, with
//! real custom functions from a SQLite store, a real HTTP receiver on loopback, the virtual
//! clock and a scripted caller.

extern crate switchboard_runtime as runtime;

mod caller;
mod checkpoints;
mod functions;
mod harness;
mod http;
mod runner;
mod timers;
