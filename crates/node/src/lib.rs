//! `vigil-node`: the `vigil` binary's library half — key files, configuration, persistence
//! (redb), the mempool, the HTTP API, the development network of `vigil up`, and the wiring of
//! ledger, consensus driver and API into a running node. All of Vigil's I/O lives here or in
//! the adapter crates (`vigil-chain`, `vigil-net`).
//!
//! Modules are layered, each importing only from layers below its own, or its own parent and
//! children (`scripts/check-layers.py` holds each module's layer and why, and runs in CI):
//!
//! | layer | modules |
//! |---|---|
//! | 0–1 leaves | `metrics` (every metric family), `mempool`, `store`, `keyfile`, `disclosure` (age encryption of disclosures), `replay`, `intel` (the indicator book, its errors, `admin`, `check`), `handles` (the gossip bridge, `NetState`) |
//! | 2 state | `app`: `NodeState` holds data and handles, never services |
//! | 3–4 services | `consensus` (`NodeApp`), `gossip`, `respond` (+ `onchain`, `webhook`), `intel::export`, `intel::service`; then `watch`, `intel::taxii_feed` — each takes the state and its own settings section, never `NodeConfig`, never `api` |
//! | 5 api | every HTTP handler and error mapping (`api::alerts`, `api::intel`, …) |
//! | 6–9 wiring | `config` (the `NodeConfig` aggregate), `client`, `node`, `devnet`, `testnet` |
//! | 10–13 | the `vigil` binary's `cli`, through the client and the library |

pub mod api;
pub mod app;
pub mod client;
pub mod config;
pub mod consensus;
pub mod devnet;
pub mod disclosure;
pub mod gossip;
pub mod handles;
pub mod immunity;
pub mod intel;
pub mod journal;
pub mod keyfile;
pub mod mempool;
pub mod metrics;
pub mod node;
pub mod replay;
pub mod respond;
pub mod store;
pub mod testnet;
pub mod watch;
