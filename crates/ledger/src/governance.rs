//! Governance: stake-weighted proposals with quorum, threshold, voting period and timelock, and
//! the cost of corrupting a protocol's controls.
//!
//! A proposal is open for `voting_period` blocks. It passes when the power that voted (yes, no
//! or abstain) reaches `governance_quorum_bps` of all bonded stake and yes reaches
//! `governance_threshold_bps` of yes + no. A passed proposal executes automatically at
//! `max(end of voting + timelock, not_before)`. The deposit is returned when quorum was reached
//! and goes to the treasury otherwise.

use serde::Serialize;
use vigil_core::{AccountId, Amount, ProposalAction, ProtocolId, VoteChoice};

use crate::effects::{Effects, account, add, sub_balance};
use crate::error::{LedgerError, TxError};
use crate::events::{Event, ResetBy};
use crate::params::{BPS, Params};
use crate::stake::slash_stake;
use crate::state::{
    Account, ProposalRecord, ProposalStatus, ReportStatus, State, VoteRecord, VoteTally,
};

/// Furthest in the future a proposal may ask to execute (about a year at one block a second).
const MAX_NOT_BEFORE_AHEAD: u64 = 32_000_000;

pub(crate) fn propose(
    state: &State,
    height: u64,
    proposer: AccountId,
    action: &ProposalAction,
    description: &str,
    not_before: Option<u64>,
) -> Result<Effects, TxError> {
    let shape = |why: String| TxError::ProposalShape { reason: why };
    match action {
        ProposalAction::ParameterChange { params } => {
            let p: Params = vigil_core::encoding::decode(params)
                .map_err(|e| shape(format!("parameters do not decode: {e}")))?;
            p.validate().map_err(|e| shape(e.to_string()))?;
            // Validator sets of past heights are derived with the epoch length; changing it
            // would rewrite history for nodes catching up.
            if p.epoch_length != state.params().epoch_length {
                return Err(shape("epoch_length cannot change by governance".into()));
            }
            if p == *state.params() {
                return Err(TxError::ParamsUnchanged);
            }
        }
        ProposalAction::TreasurySpend { amount, .. } | ProposalAction::Slash { amount, .. } => {
            if amount.is_zero() {
                return Err(TxError::ZeroAmount);
            }
        }
        ProposalAction::BreakerReset { protocol } => {
            let p = state
                .protocol(protocol)
                .ok_or(TxError::UnknownProtocol { protocol: protocol.clone() })?;
            // Re-arming an armed breaker would do nothing; a trip after the vote is a new
            // incident that deserves its own proposal.
            if !p.breaker.is_tripped() {
                return Err(TxError::NotTripped { protocol: protocol.clone() });
            }
        }
        // Any id may be revoked: an item can be in force through a feed as well as a report,
        // and revoking one before it is seen anywhere keeps it from ever loading.
        ProposalAction::RevokeDetection { .. } => {}
        ProposalAction::DecideDisclosure { disclosure } => {
            crate::bounties::check_disclosure_escalation(state, height, proposer, *disclosure)?;
        }
        ProposalAction::DecideRecovery { claim } => {
            crate::bounties::check_recovery_escalation(state, height, proposer, *claim)?;
        }
        ProposalAction::ResolveReport { report, .. } => {
            let r = state.report(report).ok_or(TxError::UnknownReport { report: *report })?;
            if r.status != ReportStatus::Escalated {
                return Err(TxError::ReportNotEscalated { report: *report, status: r.status });
            }
        }
    }
    if not_before.is_some_and(|n| n > height.saturating_add(MAX_NOT_BEFORE_AHEAD)) {
        return Err(shape("not_before is too far in the future".into()));
    }
    let params = state.params();
    let mut acct = account(state, &proposer);
    acct.balance = sub_balance(acct.balance, params.proposal_deposit)?;
    let mut globals = state.globals().clone();
    let id = globals.next_proposal;
    globals.next_proposal = id.checked_add(1).ok_or(TxError::Overflow)?;
    let voting_ends = height.checked_add(params.voting_period).ok_or(TxError::Overflow)?;
    let record = ProposalRecord {
        action: action.clone(),
        description: description.to_owned(),
        proposer,
        deposit: params.proposal_deposit,
        submitted_at: height,
        voting_ends,
        not_before,
        status: ProposalStatus::Voting,
        tally: VoteTally::default(),
        quorum: None,
        execute_at: None,
        failure: None,
    };
    let mut effects = Effects {
        accounts: vec![(proposer, acct)],
        proposals: vec![(id, record)],
        globals: Some(globals),
        events: vec![Event::ProposalSubmitted {
            proposal: id,
            proposer,
            kind: action.kind().into(),
            voting_ends,
        }],
        ..Effects::default()
    };
    // An escalation marks what it escalates, so it is escalated once.
    match action {
        ProposalAction::DecideDisclosure { disclosure } => {
            let mut d =
                crate::bounties::check_disclosure_escalation(state, height, proposer, *disclosure)?;
            d.status = crate::state::DisclosureStatus::Escalated;
            d.escalation = Some(id);
            effects.disclosures.push((*disclosure, d));
        }
        ProposalAction::DecideRecovery { claim } => {
            let mut r =
                crate::bounties::check_recovery_escalation(state, height, proposer, *claim)?;
            r.status = crate::state::RecoveryStatus::Escalated;
            r.escalation = Some(id);
            effects.recoveries.push((*claim, r));
        }
        _ => {}
    }
    Ok(effects)
}

/// Carries out an escalation's decision; `Some(reason)` when it could not be.
fn decide_escalation(
    state: &mut State,
    id: u64,
    action: &ProposalAction,
    upheld: bool,
    events: &mut Vec<Event>,
) -> Option<String> {
    let decided = match action {
        ProposalAction::DecideDisclosure { disclosure } => {
            crate::bounties::decide_disclosure(state, *disclosure, id, upheld)
        }
        ProposalAction::DecideRecovery { claim } => {
            crate::bounties::decide_recovery(state, *claim, id, upheld)
        }
        _ => return None,
    };
    match decided {
        Ok(effects) => {
            events.extend(effects.apply(state));
            None
        }
        Err(e) => Some(e.to_string()),
    }
}

pub(crate) fn vote(
    state: &State,
    height: u64,
    voter: AccountId,
    id: u64,
    choice: VoteChoice,
) -> Result<Effects, TxError> {
    let mut p = state.proposal(id).cloned().ok_or(TxError::UnknownProposal { proposal: id })?;
    if p.status != ProposalStatus::Voting || height > p.voting_ends {
        return Err(TxError::VotingClosed { proposal: id, status: p.status.to_string() });
    }
    if state.vote(id, &voter).is_some() {
        return Err(TxError::AlreadyVoted { proposal: id, account: voter });
    }
    let power = state.account(&voter).map(|a| a.bonded.0).unwrap_or(0);
    if power == 0 {
        return Err(TxError::NoVotingPower { account: voter });
    }
    let slot = match choice {
        VoteChoice::Yes => &mut p.tally.yes,
        VoteChoice::No => &mut p.tally.no,
        VoteChoice::Abstain => &mut p.tally.abstain,
    };
    *slot = slot.checked_add(power).ok_or(TxError::Overflow)?;
    Ok(Effects {
        proposals: vec![(id, p)],
        votes: vec![(id, voter, VoteRecord { choice, power, at_height: height })],
        events: vec![Event::Voted { proposal: id, voter, choice, power }],
        ..Effects::default()
    })
}

fn overflow(what: &'static str) -> LedgerError {
    LedgerError::Overflow(what)
}

/// `value × num / den`, rounded up; `u64::MAX` when it does not fit or `den` is zero.
fn mul_div_ceil(value: u64, num: u64, den: u64) -> u64 {
    if den == 0 {
        return u64::MAX;
    }
    let n = u128::from(value).saturating_mul(u128::from(num));
    let d = u128::from(den);
    let q = n.checked_div(d).unwrap_or(u128::MAX);
    let q = if n.checked_rem(d).unwrap_or(0) > 0 { q.saturating_add(1) } else { q };
    u64::try_from(q).unwrap_or(u64::MAX)
}

/// Closes votes and executes passed proposals that are due at `height`.
pub(crate) fn end_block(
    state: &mut State,
    height: u64,
    events: &mut Vec<Event>,
) -> Result<(), LedgerError> {
    for id in state.due_proposals(height) {
        let Some(p) = state.proposal(id).cloned() else { continue };
        if p.status == ProposalStatus::Voting && p.voting_ends <= height {
            close(state, height, id, p, events)?;
        }
        if let Some(p) = state.proposal(id).cloned()
            && p.status == ProposalStatus::Passed
            && p.execute_at.is_some_and(|h| h <= height)
        {
            execute(state, height, id, p, events)?;
        }
    }
    Ok(())
}

fn close(
    state: &mut State,
    height: u64,
    id: u64,
    mut p: ProposalRecord,
    events: &mut Vec<Event>,
) -> Result<(), LedgerError> {
    let params = state.params().clone();
    let t = p.tally;
    let turnout = t
        .yes
        .checked_add(t.no)
        .and_then(|s| s.checked_add(t.abstain))
        .ok_or(overflow("turnout"))?;
    let quorum = mul_div_ceil(
        state.globals().total_bonded.0,
        u64::from(params.governance_quorum_bps),
        u64::from(BPS),
    );
    let quorate = turnout > 0 && turnout >= quorum;
    let decided = t.yes.checked_add(t.no).ok_or(overflow("votes"))?;
    let passes = quorate
        && t.yes > 0
        && u128::from(t.yes).saturating_mul(u128::from(BPS))
            >= u128::from(decided).saturating_mul(u128::from(params.governance_threshold_bps));
    // The deposit comes back when enough stake took the proposal seriously.
    let mut globals = state.globals().clone();
    if quorate {
        let mut acct = state.account(&p.proposer).cloned().unwrap_or_default();
        acct.balance = acct.balance.checked_add(p.deposit).ok_or(overflow("deposit"))?;
        state.put_account(p.proposer, acct);
    } else {
        globals.treasury = globals.treasury.checked_add(p.deposit).ok_or(overflow("deposit"))?;
        *state.globals_mut() = globals;
    }
    p.quorum = Some(quorum);
    if passes {
        let earliest = height.checked_add(params.timelock).ok_or(overflow("timelock"))?;
        p.execute_at = Some(earliest.max(p.not_before.unwrap_or(0)));
        p.status = ProposalStatus::Passed;
    } else {
        p.status = ProposalStatus::Rejected;
        // A rejected escalation is a decision too: the protocol's answer stands.
        decide_escalation(state, id, &p.action, false, events);
    }
    events.push(Event::ProposalClosed {
        proposal: id,
        status: p.status,
        yes: t.yes,
        no: t.no,
        abstain: t.abstain,
        quorum,
        execute_at: p.execute_at,
    });
    state.put_proposal(id, p);
    Ok(())
}

fn execute(
    state: &mut State,
    height: u64,
    id: u64,
    mut p: ProposalRecord,
    events: &mut Vec<Event>,
) -> Result<(), LedgerError> {
    let failure: Option<String> = match &p.action {
        ProposalAction::ParameterChange { params } => {
            match vigil_core::encoding::decode::<Params>(params) {
                Ok(new) => match new.validate() {
                    Ok(()) => {
                        state.set_params(new);
                        None
                    }
                    Err(e) => Some(e.to_string()),
                },
                Err(e) => Some(e.to_string()),
            }
        }
        ProposalAction::TreasurySpend { to, amount } => {
            let mut globals = state.globals().clone();
            match globals.treasury.checked_sub(*amount) {
                None => {
                    Some(format!("the treasury holds {}, less than {amount}", globals.treasury))
                }
                Some(rest) => {
                    globals.treasury = rest;
                    *state.globals_mut() = globals;
                    let mut acct = state.account(to).cloned().unwrap_or_default();
                    acct.balance = add(acct.balance, *amount).map_err(|_| overflow("spend"))?;
                    state.put_account(*to, acct);
                    events.push(Event::TreasurySpent { to: *to, amount: *amount, proposal: id });
                    None
                }
            }
        }
        ProposalAction::BreakerReset { protocol } => match state.protocol(protocol).cloned() {
            Some(record) if record.breaker.is_tripped() => {
                let (armed, event) =
                    crate::breakers::reset(record, ResetBy::Proposal { proposal: id });
                state.put_protocol(protocol.clone(), armed);
                events.push(event);
                None
            }
            Some(_) => Some(format!("the breaker of {protocol} is not tripped")),
            None => Some(format!("unknown protocol {protocol}")),
        },
        ProposalAction::Slash { account, amount } => {
            let taken = slash_stake(state, account, *amount)?;
            let mut globals = state.globals().clone();
            globals.treasury = globals.treasury.checked_add(taken).ok_or(overflow("slash"))?;
            *state.globals_mut() = globals;
            events.push(Event::ProposalSlash { account: *account, amount: taken, proposal: id });
            None
        }
        ProposalAction::ResolveReport { report, confirm } => {
            match state.report(report).map(|r| r.status) {
                Some(ReportStatus::Escalated) => {
                    let outcome =
                        if *confirm { ReportStatus::Confirmed } else { ReportStatus::Rejected };
                    crate::settle::settle_report(state, height, *report, Some(outcome), events)?;
                    None
                }
                Some(other) => Some(format!("report {report} is {other}, not escalated")),
                None => Some(format!("unknown report {report}")),
            }
        }
        ProposalAction::DecideDisclosure { .. } | ProposalAction::DecideRecovery { .. } => {
            decide_escalation(state, id, &p.action.clone(), true, events)
        }
        // Nodes read the executed proposal (and this event) and stop matching the item.
        ProposalAction::RevokeDetection { detection } => {
            events.push(Event::DetectionRevoked { detection: *detection, proposal: id });
            None
        }
    };
    p.status = if failure.is_some() { ProposalStatus::Failed } else { ProposalStatus::Executed };
    p.failure = failure.clone();
    events.push(Event::ProposalExecuted { proposal: id, status: p.status, failure });
    state.put_proposal(id, p);
    Ok(())
}

/// What it takes to corrupt a protocol's controls, from live state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SecurityReport {
    /// The protocol.
    pub protocol: ProtocolId,
    /// Value it declares protected.
    pub protected_value: Amount,
    /// Guardians and the threshold M.
    pub guardians: usize,
    /// Approvals a reset needs.
    pub threshold: u8,
    /// Bonded stake of the M least-staked guardians: what an attacker must corrupt (and see
    /// slashed) to reset the breaker through guardians.
    pub guardian_path_cost: Amount,
    /// Stake an attacker must bond to pass a proposal against the protocol when nobody else
    /// votes (only quorum stands in the way).
    pub governance_cost_unopposed: Amount,
    /// Stake an attacker must bond to pass it when every other bonded account votes no.
    pub governance_cost_opposed: Amount,
    /// The cheapest way in: the lesser of the guardian path and the unopposed governance path.
    pub cost_of_corruption: Amount,
    /// Whether the cost of corruption exceeds the value protected (the stability condition).
    pub stable: bool,
    /// The corruption margin γ = cost of corruption / value protected − 1, in basis points
    /// (10,000 = γ of 1), rounded down; `None` when nothing is protected (γ is unbounded).
    /// Stable ⇔ γ > 0.
    pub margin_bps: Option<i64>,
    /// All bonded stake now.
    pub total_bonded: Amount,
}

impl SecurityReport {
    /// The most stake a shock of size `shock` can destroy in total when every attack costs at
    /// least (1 + γ) times its profit: (1 + 1/γ)·ψ (Durvasula and Roughgarden, "Robust
    /// Restaking Networks", 2024), which is ψ·cost / (cost − value), rounded up. `None` when
    /// γ ≤ 0: no bound holds, the controls are cheaper to corrupt than what they protect.
    pub fn loss_bound(&self, shock: Amount) -> Option<Amount> {
        let cost = self.cost_of_corruption.0;
        let excess = cost.checked_sub(self.protected_value.0).filter(|e| *e > 0)?;
        Some(Amount(mul_div_ceil(shock.0, cost, excess)))
    }
}

/// γ in basis points: (cost − value)·10,000 / value, rounded down (toward −∞).
fn margin_bps(cost: u64, value: u64) -> Option<i64> {
    if value == 0 {
        return None;
    }
    let diff = i128::from(cost).checked_sub(i128::from(value))?;
    let scaled = diff.checked_mul(i128::from(BPS))?;
    let q = scaled.checked_div_euclid(i128::from(value))?;
    Some(i64::try_from(q).unwrap_or(if q > 0 { i64::MAX } else { i64::MIN }))
}

/// The cost of corruption of `id` from the current state.
pub fn security(state: &State, id: &ProtocolId) -> Option<SecurityReport> {
    let p = state.protocol(id)?;
    let params = state.params();
    let total = state.globals().total_bonded.0;
    let mut stakes: Vec<u64> = p
        .spec
        .guardians
        .iter()
        .map(|g| state.account(g).map(|a: &Account| a.bonded.0).unwrap_or(0))
        .collect();
    stakes.sort_unstable();
    let guardian_cost = stakes
        .iter()
        .take(usize::from(p.spec.threshold))
        .fold(0u64, |acc, s| acc.saturating_add(*s));
    let q = u64::from(params.governance_quorum_bps);
    let t = u64::from(params.governance_threshold_bps);
    let bps = u64::from(BPS);
    // X ≥ q·(T + X) ⇔ X ≥ q·T / (1 − q); and X / (X + T) ≥ t ⇔ X ≥ t·T / (1 − t).
    let unopposed = mul_div_ceil(total, q, bps.saturating_sub(q)).max(1);
    let opposed = mul_div_ceil(total, t, bps.saturating_sub(t)).max(1);
    let cost = guardian_cost.min(unopposed);
    Some(SecurityReport {
        protocol: id.clone(),
        protected_value: p.spec.protected_value,
        guardians: p.spec.guardians.len(),
        threshold: p.spec.threshold,
        guardian_path_cost: Amount(guardian_cost),
        governance_cost_unopposed: Amount(unopposed),
        governance_cost_opposed: Amount(opposed),
        cost_of_corruption: Amount(cost),
        stable: cost > p.spec.protected_value.0,
        margin_bps: margin_bps(cost, p.spec.protected_value.0),
        total_bonded: Amount(total),
    })
}
