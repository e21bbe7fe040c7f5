//! `vigil-ledger`: the deterministic state machine every Vigil node replicates.
//!
//! It owns accounts, staking, reports, attestations, verdicts, reputation, slashing,
//! governance, guardians and circuit breakers behind an ABCI-2.0-shaped API:
//! [`Ledger::check_tx`], [`Ledger::finalize_block`], [`Ledger::commit`], plus queries.
//!
//! Modules are layered; each imports only from layers below its own (checked by
//! `scripts/check-layers.py` in CI, where each module's layer is listed with why):
//!
//! | layer | modules |
//! |---|---|
//! | 0–1 leaves | `params`, `governance_state` (records), `reputation`, `error` |
//! | 2 state | `events`, `state` |
//! | 3 building blocks | `store`, `effects` (Effects, nonce bump, checked helpers), `stake` (slashing) |
//! | 4–6 handlers | `breakers` and `evidence` (equivocation slashing), then `settle`, then `governance` (which may settle an escalated report) |
//! | 7 orchestration | `exec` (transaction dispatch), `block` (end-of-block work, in its fixed order) |
//! | 8 | `ledger` (the [`Ledger`]) |
//!
//! Invariants, enforced by construction and checked by property tests:
//! - every transition is a pure function of (state, block): no clock, no floats, no
//!   hash-ordered collections (clippy's `disallowed-types` bans them here), checked arithmetic;
//! - total supply is conserved: balances + stake + escrowed bonds + treasury + reward pool
//!   always equal the genesis supply;
//! - no balance is negative and no slash exceeds what is slashable;
//! - the app hash is the root of a Jellyfish Merkle tree over every state entry, so a lookup
//!   can be proven against it ([`Ledger::prove`]).
#![deny(
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::float_arithmetic
)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

mod block;
mod bounties;
mod breakers;
pub use breakers::alert_meets_policy;
mod effects;
mod error;
mod events;
mod evidence;
mod exec;
mod governance;
mod governance_state;
mod ledger;
mod params;
mod reputation;
mod settle;
mod stake;
mod state;
mod store;
mod streams;

pub use error::{LedgerError, StoreError, TxError};
pub use events::{Event, ResetBy, RewardReason, SlashReason, TxResult};
pub use governance::{SecurityReport, security};
pub use ledger::{
    AccountView, CheckMatch, FinalizedBlock, Ledger, app_hash_from_scratch, block_hash,
};
pub use params::{
    BPS, Genesis, GenesisAccount, GenesisError, ParamChange, ParamError, ParamValue, Params,
};
pub use reputation::Reputation;
pub use settle::{attestation_quorum, verdict_of};
pub use state::{
    Account, Attestation, AttestationOutcome, BreakerState, DisclosureRecord, DisclosureStatus,
    Globals, ProposalRecord, ProposalStatus, ProtocolRecord, RecoveryRecord, RecoveryStatus,
    ReportOrigin, ReportRecord, ReportStatus, Settlement, State, StateKey, StreamRecord,
    StreamStatus, Tally, TripReason, Unbonding, VoteRecord, VoteTally, index_key,
};
pub use store::{AppHash, CommitBatch, CommitInfo, EntryVisitor, MemoryStore, StateWrite, Store};

/// Re-exported Merkle tree types a [`Store`] implementation needs.
pub mod tree {
    pub use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
    pub use jmt::{KeyHash, OwnedValue, Version};
}
