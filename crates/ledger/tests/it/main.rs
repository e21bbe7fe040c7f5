//! Integration tests of the ledger through its public, ABCI-shaped API.

mod abuse;
mod app_hash;
mod bounties;
mod breakers;
mod governance;
mod harness;
mod properties;
mod scenarios;
mod streams;
