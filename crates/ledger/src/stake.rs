//! Stake taken away: slashing, free bonded stake first, then unbonding entries, never stake
//! locked in attestations. Used by settlement and by governance; imports neither.

use vigil_core::{AccountId, Amount};

use crate::error::LedgerError;
use crate::state::{Account, State};

fn overflow(what: &'static str) -> LedgerError {
    LedgerError::Overflow(what)
}

/// Slashes up to `amount` of `who`'s stake that is not locked in attestations: free bonded
/// stake first, then unbonding entries, latest first. Returns what was taken (never more than
/// was slashable).
pub(crate) fn slash_stake(
    state: &mut State,
    who: &AccountId,
    amount: Amount,
) -> Result<Amount, LedgerError> {
    let Some(mut acct) = state.account(who).cloned() else { return Ok(Amount::ZERO) };
    let cut = slash_account(&mut acct, amount).ok_or(overflow("slash"))?;
    let mut globals = state.globals().clone();
    globals.total_bonded =
        globals.total_bonded.checked_sub(cut.from_bonded).ok_or(overflow("slash"))?;
    *state.globals_mut() = globals;
    state.put_account(*who, acct);
    Ok(cut.taken)
}

/// What [`slash_account`] took.
pub(crate) struct Cut {
    /// Everything taken.
    pub(crate) taken: Amount,
    /// The part of it that was bonded (the rest came from unbonding entries).
    pub(crate) from_bonded: Amount,
}

/// Takes up to `amount` from `acct`'s stake that is not locked: free bonded stake first, then
/// unbonding entries, latest first. `None` only on an arithmetic impossibility.
pub(crate) fn slash_account(acct: &mut Account, amount: Amount) -> Option<Cut> {
    let from_bonded = acct.free_stake().min(amount);
    acct.bonded = acct.bonded.checked_sub(from_bonded)?;
    let mut rest = amount.checked_sub(from_bonded)?;
    for entry in acct.unbonding.iter_mut().rev() {
        let cut = entry.amount.min(rest);
        entry.amount = entry.amount.checked_sub(cut)?;
        rest = rest.checked_sub(cut)?;
    }
    acct.unbonding.retain(|u| !u.amount.is_zero());
    Some(Cut { taken: amount.checked_sub(rest)?, from_bonded })
}
