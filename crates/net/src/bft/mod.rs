//! Multi-validator consensus on the Malachite BFT engine (`arc-malachitebft-*` 0.8.2,
//! Tendermint family), behind the same [`crate::ConsensusDriver`] seam as the solo driver.
//!
//! - [`context`]: Vigil's types for the engine (height, address = account id, value = block
//!   hash, proposals, parts, votes, validator set and the stake-weighted proposer rule).
//! - [`signing`]: votes, proposals and validator proofs signed with Vigil keys over Vigil
//!   signing messages; a decided block's precommits form a [`crate::CommitCertificate`].
//! - [`codec`]: borsh on the wire and in the engine's WAL.
//! - [`parts`]: blocks streamed as proposal parts (`Init`, `Data`…, signed `Fin`).
//! - [`BftDriver`]: starts the engine and answers it with the [`crate::ConsensusApp`].
//!
//! Persistence: the engine's WAL only holds votes in flight. Blocks are the app's: it commits
//! each decided block durably (with its certificate) before the driver acknowledges it, starts
//! again at `last_commit().height + 1`, and serves `decided_block` to peers that catch up.
//!
//! Validator set: asked of the app for each height (`validator_set(h)`), as bonded stake; the
//! app changes it only at epoch boundaries (see the crate README), so all validators agree.

pub mod codec;
pub mod context;
mod driver;
pub mod parts;
pub mod signing;

pub use driver::{BftConfig, BftDriver, BftTimeouts};
