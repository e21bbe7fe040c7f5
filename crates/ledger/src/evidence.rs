//! Equivocation evidence: a validator that signed two conflicting consensus messages for one
//! height and round loses `equivocation_slash_bps` of its slashable stake and its candidacy, so
//! it leaves the validator set at the next epoch boundary. Whoever submits the evidence earns
//! `evidence_reward_bps` of the slash; the rest goes to the treasury.
//!
//! Removal from the candidates is permanent (a "tombstone", as in Cosmos): the same
//! misbehaviour can be punished once, and a second piece of evidence against the same validator
//! is refused, so evidence submitted by every node that saw it slashes exactly once.

use vigil_core::{AccountId, ChainId, Equivocation};

use crate::effects::{Effects, account, add};
use crate::error::TxError;
use crate::events::Event;
use crate::stake::slash_account;
use crate::state::State;

/// Plans slashing the validator `evidence` accuses, on `chain_id` at `height`.
pub(crate) fn submit(
    state: &State,
    chain_id: &ChainId,
    height: u64,
    reporter: AccountId,
    evidence: &Equivocation,
) -> Result<Effects, TxError> {
    evidence.verify(chain_id).map_err(|e| TxError::BadEvidence { reason: e.to_string() })?;
    let offender = evidence.offender();
    if offender == reporter {
        return Err(TxError::SelfEvidence);
    }
    let (at_height, round) = evidence.slot();
    let max_age = state.params().evidence_max_age.min(state.params().unbonding_delay);
    let oldest = height.saturating_sub(max_age);
    if at_height < oldest {
        return Err(TxError::EvidenceTooOld { height: at_height, oldest });
    }
    if at_height > height {
        return Err(TxError::BadEvidence {
            reason: format!("height {at_height} has not been reached (the chain is at {height})"),
        });
    }
    let mut globals = state.globals().clone();
    if !globals.validator_candidates.remove(&offender) {
        return Err(TxError::NotAValidator { account: offender });
    }
    let mut guilty = account(state, &offender);
    let cut_amount = guilty
        .slashable()
        .and_then(|s| s.bps(state.params().equivocation_slash_bps))
        .ok_or(TxError::Overflow)?;
    let cut = slash_account(&mut guilty, cut_amount).ok_or(TxError::Overflow)?;
    let reward = cut.taken.bps(state.params().evidence_reward_bps).ok_or(TxError::Overflow)?;
    let to_treasury = cut.taken.checked_sub(reward).ok_or(TxError::Overflow)?;
    globals.total_bonded =
        globals.total_bonded.checked_sub(cut.from_bonded).ok_or(TxError::Overflow)?;
    globals.treasury = add(globals.treasury, to_treasury)?;
    let mut finder = account(state, &reporter);
    finder.balance = add(finder.balance, reward)?;
    Ok(Effects {
        accounts: vec![(offender, guilty), (reporter, finder)],
        globals: Some(globals),
        events: vec![Event::ValidatorSlashed {
            validator: offender,
            height: at_height,
            round,
            slashed: cut.taken,
            reporter,
            reward,
        }],
        ..Effects::default()
    })
}
