//! Integration tests of the `vigil` binary: real processes on loopback, driven through the CLI
//! and the HTTP API, with on-disk storage in temporary directories.

mod abuse;
mod alert_routes;
mod bad_input;
mod crash;
mod disclosures;
mod first_hour;
mod flood;
mod flow;
mod formats;
mod harness;
mod immunity;
mod import_memory;
mod intel;
mod misp;
mod onchain;
mod oz_import;
mod pre_execution;
mod replay;
mod respond;
mod respond_channels;
mod respond_webhooks;
mod router;
mod simulate;
mod smtp;
mod streams;
mod taxii_pull;
mod verdicts;
