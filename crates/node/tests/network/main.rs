//! Tests that run whole networks of `vigil` processes or hammer one node for minutes: the
//! 4-validator testnet, the chaos run, Schemathesis, and the dashboard in Chromium. They live in their own test binary,
//! and take [`ONE_AT_A_TIME`] so they run one after another: cargo runs test binaries one at a
//! time, so their load no longer starves the timing of the single-node tests in `it` (a
//! 150 ms-block governance vote, pre-execution's RPC deadlines) on a 2-core machine.

#[allow(dead_code)]
#[path = "../it/harness.rs"]
mod harness;

mod chaos;
mod dashboard;
mod disclosures;
mod immunity;
mod schemathesis;
mod testnet;

/// Held by each test of this binary for its whole run.
pub(crate) static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
