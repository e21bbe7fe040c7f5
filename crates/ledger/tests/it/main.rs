//! Integration tests of the ledger through its public, ABCI-shaped API.

mod harness;
mod properties;
mod scenarios;
