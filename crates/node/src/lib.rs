//! `vigil-node`: the `vigil` binary's library half — key files, configuration, persistence
//! (redb), the mempool, the HTTP API, the development network of `vigil up`, and the wiring of
//! ledger, consensus driver and API into a running node. All of Vigil's I/O lives here or in
//! the adapter crates (`vigil-chain`, `vigil-net`).

pub mod api;
pub mod app;
pub mod client;
pub mod config;
pub mod consensus;
pub mod devnet;
pub mod gossip;
pub mod handles;
pub mod intel;
pub mod keyfile;
pub mod mempool;
pub mod metrics;
pub mod node;
pub mod replay;
pub mod respond;
pub mod store;
pub mod testnet;
pub mod watch;
