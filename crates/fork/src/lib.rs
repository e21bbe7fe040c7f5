//! `vigil-fork`: pre-execution. A pending transaction runs with revm (the EVM of reth and
//! Foundry) on the chain's latest state before it is mined, and yields the same call tree, logs
//! and balance changes a mined one would, so detectors see an exploit while it still waits in
//! the mempool.
//!
//! ```text
//! RPC node ──(alloy: balance, nonce, code, storage, block hashes; on a miss)──► StateCache
//!                                                                                 │ warm across blocks;
//!  new block ─► Simulator::advance (touched accounts dropped) ───────────────────┤ touched entries dropped
//!  pending tx ─► Simulator::simulate ─► revm + TracingInspector ─► CallTrace, logs, native diffs
//! ```
//!
//! - [`cache`]: the shared state cache, keyed to the block it holds the state after;
//! - [`source`]: where misses are read from ([`source::RpcSource`] over alloy, with a time
//!   limit per read);
//! - [`sim`]: the [`Simulator`] (block environment, limits, outcome, failures counted);
//! - [`select`]: which pending transactions are worth simulating ([`SimulateConfig`]).
//!
//! Invariants: a simulation never writes to the cache what it changed (only what it read from
//! the node); a read started before a block arrived is not stored after it; every simulation
//! is bounded by its gas cap and its deadline, and a failure is returned, never a stall.

pub mod cache;
mod convert;
pub mod select;
pub mod sim;
pub mod source;

pub use cache::{CacheStats, StateCache};
/// The EVM rules a simulator follows (revm's hardfork ids).
pub use revm::primitives::hardfork::SpecId;
pub use select::{Reason, SimulateConfig};
pub use sim::{Head, NativeChange, Outcome, PendingCall, SimError, Simulator};
pub use source::{ForkError, RpcSource, StateSource};
