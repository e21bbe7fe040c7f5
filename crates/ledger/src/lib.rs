//! `vigil-ledger`: the deterministic state machine every Vigil node replicates.
//!
//! It owns accounts, staking, reports, attestations, verdicts, reputation, slashing and (later)
//! governance, guardians and circuit breakers, behind an ABCI-2.0-shaped API
//! (`check_tx`, `finalize_block`, `commit`). Every transition is a pure function of
//! (state, block): no clock, no floats, no hash-ordered maps, checked arithmetic only.
