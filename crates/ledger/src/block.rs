//! The end of a block, at the top of the state machine: verdicts for reports whose challenge
//! window closed, then governance (proposals closing and executing), then disputed disclosures
//! whose escalation window closed, then the release of
//! unbonded stake, then validator-set changes at epoch boundaries — in exactly this order,
//! which the app hash depends on.

use crate::error::LedgerError;
use crate::events::Event;
use crate::state::State;
use crate::{bounties, governance, settle};

/// Runs all end-of-block work at `height`, returning its events.
pub(crate) fn end_block(state: &mut State, height: u64) -> Result<Vec<Event>, LedgerError> {
    let mut events = Vec::new();
    for id in state.due_reports(height) {
        settle::settle_report(state, height, id, None, &mut events)?;
    }
    governance::end_block(state, height, &mut events)?;
    bounties::lapse_disputes(state, height, &mut events)?;
    settle::release_unbonding(state, height, &mut events)?;
    settle::rotate_validators(state, height, &mut events);
    Ok(events)
}
