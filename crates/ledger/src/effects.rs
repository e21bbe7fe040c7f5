//! The bottom of the state machine: [`Effects`] (the new versions of the entities one
//! transaction changes, and its events, applied all at once or not at all), the nonce bump,
//! and the checked arithmetic and account lookup every handler uses. Imports nothing of the
//! handlers above it (`breakers`, `settle`, `governance`, `exec`, `block`).

use vigil_core::{AccountId, Amount, ProtocolId, ReportId};

use crate::error::TxError;
use crate::events::Event;
use crate::state::{
    Account, Attestation, DisclosureRecord, Globals, ProposalRecord, ProtocolRecord,
    RecoveryRecord, ReportRecord, State, StreamRecord, VoteRecord,
};

/// The writes and events of one executed transaction.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    pub(crate) accounts: Vec<(AccountId, Account)>,
    pub(crate) reports: Vec<(ReportId, ReportRecord)>,
    pub(crate) attestations: Vec<(ReportId, AccountId, Attestation)>,
    pub(crate) protocols: Vec<(ProtocolId, ProtocolRecord)>,
    pub(crate) proposals: Vec<(u64, ProposalRecord)>,
    pub(crate) votes: Vec<(u64, AccountId, VoteRecord)>,
    pub(crate) streams: Vec<(u64, StreamRecord)>,
    pub(crate) disclosures: Vec<(u64, DisclosureRecord)>,
    pub(crate) recoveries: Vec<(u64, RecoveryRecord)>,
    pub(crate) globals: Option<Globals>,
    pub(crate) events: Vec<Event>,
}

impl Effects {
    /// Consumes the signer's nonce as part of these effects.
    pub(crate) fn with_nonce_bump(mut self, state: &State, signer: AccountId) -> Self {
        match self.accounts.iter_mut().find(|(id, _)| *id == signer) {
            Some((_, account)) => account.nonce = account.nonce.saturating_add(1),
            None => {
                let mut account = state.account(&signer).cloned().unwrap_or_default();
                account.nonce = account.nonce.saturating_add(1);
                self.accounts.push((signer, account));
            }
        }
        self
    }

    /// Charges `fee` to `signer` (after whatever these effects already take from it) and
    /// credits the treasury. Refused when the balance left cannot pay it.
    pub(crate) fn with_fee(
        mut self,
        state: &State,
        signer: AccountId,
        fee: Amount,
    ) -> Result<Self, TxError> {
        if fee.is_zero() {
            return Ok(self);
        }
        if !self.accounts.iter().any(|(id, _)| *id == signer) {
            self.accounts.push((signer, account(state, &signer)));
        }
        let Some((_, payer)) = self.accounts.iter_mut().find(|(id, _)| *id == signer) else {
            return Err(TxError::Overflow);
        };
        payer.balance = payer
            .balance
            .checked_sub(fee)
            .ok_or(TxError::FeeUnpaid { fee, available: payer.balance })?;
        let mut globals = self.globals.take().unwrap_or_else(|| state.globals().clone());
        globals.treasury = add(globals.treasury, fee)?;
        self.globals = Some(globals);
        self.events.push(Event::FeePaid { account: signer, amount: fee });
        Ok(self)
    }

    /// Writes the effects into the state and returns their events.
    pub(crate) fn apply(self, state: &mut State) -> Vec<Event> {
        for (id, account) in self.accounts {
            state.put_account(id, account);
        }
        for (id, record) in self.reports {
            state.put_report(id, record);
        }
        for (report, attester, a) in self.attestations {
            state.put_attestation(report, attester, a);
        }
        for (id, p) in self.protocols {
            state.put_protocol(id, p);
        }
        for (id, p) in self.proposals {
            state.put_proposal(id, p);
        }
        for (id, voter, v) in self.votes {
            state.put_vote(id, voter, v);
        }
        for (id, st) in self.streams {
            state.put_stream(id, st);
        }
        for (id, d) in self.disclosures {
            state.put_disclosure(id, d);
        }
        for (id, r) in self.recoveries {
            state.put_recovery(id, r);
        }
        if let Some(g) = self.globals {
            *state.globals_mut() = g;
        }
        self.events
    }
}

pub(crate) fn add(a: Amount, b: Amount) -> Result<Amount, TxError> {
    a.checked_add(b).ok_or(TxError::Overflow)
}

pub(crate) fn sub_balance(a: Amount, b: Amount) -> Result<Amount, TxError> {
    a.checked_sub(b).ok_or(TxError::InsufficientBalance { needed: b, available: a })
}

/// The account `id`, or an empty one.
pub(crate) fn account(state: &State, id: &AccountId) -> Account {
    state.account(id).cloned().unwrap_or_default()
}
