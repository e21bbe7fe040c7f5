//! `vigil-node`: the `vigil` binary's library half — key files, configuration, persistence,
//! the HTTP API and the pipeline that wires collectors, detectors, the ledger and executors.
//! All I/O of Vigil lives here or in the adapter crates (`vigil-chain`, `vigil-net`).

pub mod keyfile;
