//! Transaction execution. Each handler reads the state and returns [`Effects`] — new versions
//! of the entities it changes — without writing anything, so a refused transaction changes
//! nothing and `check_tx` can run the same code as `finalize_block`.

use vigil_core::{AccountId, Amount, Report, ReportId, Stance, Tx, TxBody};

use crate::effects::{Effects, account, add, sub_balance};
use crate::error::TxError;
use crate::events::Event;
use crate::reputation::PPM;
use crate::state::{
    Attestation, ReportOrigin, ReportRecord, ReportStatus, State, Tally, Unbonding,
};

fn positive(amount: Amount) -> Result<(), TxError> {
    if amount.is_zero() { Err(TxError::ZeroAmount) } else { Ok(()) }
}

/// Checks that need no state: amounts, report shape.
pub(crate) fn check_body_shape(body: &TxBody) -> Result<(), TxError> {
    match body {
        TxBody::Transfer { amount, .. } | TxBody::Bond { amount } | TxBody::Unbond { amount } => {
            positive(*amount)
        }
        TxBody::SubmitReport { report, bond } => {
            report.check_shape()?;
            positive(*bond)
        }
        TxBody::Attest { stake, .. } => positive(*stake),
        TxBody::RegisterProtocol { spec, .. } => {
            spec.check_shape().map_err(|e| TxError::ProtocolShape { reason: e.to_string() })
        }
        TxBody::TripBreaker { reason, .. } => {
            if reason.len() > 512 {
                return Err(TxError::ProtocolShape {
                    reason: "trip reason is longer than 512 bytes".into(),
                });
            }
            Ok(())
        }
        TxBody::Propose { description, .. } => {
            if description.trim().is_empty() || description.len() > 4096 {
                return Err(TxError::ProposalShape {
                    reason: "description must be 1-4096 bytes".into(),
                });
            }
            Ok(())
        }
        // The report a fast-path trip opens carries the alert's detection content.
        TxBody::FastPathTrip { alert, .. } => {
            vigil_core::detection::check_detection(&alert.payload.detection)
                .map_err(|e| vigil_core::ReportShapeError::from(e).into())
        }
        TxBody::OpenStream { rate, .. } => positive(*rate),
        TxBody::StreamTopUp { amount, .. } => positive(*amount),
        TxBody::StreamRestart { rate: Some(rate), .. } => positive(*rate),
        TxBody::FundBounty { .. }
        | TxBody::Disclose { .. }
        | TxBody::DisclosureAccept { .. }
        | TxBody::DisclosureDowngrade { .. }
        | TxBody::DisclosureDispute { .. }
        | TxBody::DisclosureReveal { .. }
        | TxBody::RecoveryClaim { .. }
        | TxBody::RecoveryConfirm { .. }
        | TxBody::RecoveryDispute { .. } => crate::bounties::check_shape(body),
        TxBody::ApproveReset { .. }
        | TxBody::Vote { .. }
        | TxBody::SubmitEvidence { .. }
        | TxBody::StreamRestart { rate: None, .. }
        | TxBody::StreamPause { .. }
        | TxBody::StreamClose { .. }
        | TxBody::StreamClaim { .. }
        | TxBody::StreamVoid { .. } => Ok(()),
    }
}

/// Plans the execution of `tx` at `height`: its effects, or why it is refused.
pub(crate) fn plan(state: &State, height: u64, tx: &Tx) -> Result<Effects, TxError> {
    check_body_shape(&tx.body)?;
    let signer = tx.signer;
    match &tx.body {
        TxBody::Transfer { to, amount } => transfer(state, signer, *to, *amount),
        TxBody::Bond { amount } => bond(state, signer, *amount),
        TxBody::Unbond { amount } => unbond(state, height, signer, *amount),
        TxBody::SubmitReport { report, bond } => submit(state, height, signer, report, *bond),
        TxBody::Attest { report, stance, stake } => {
            attest(state, height, signer, *report, *stance, *stake)
        }
        TxBody::RegisterProtocol { spec, bounty_deposit } => {
            crate::breakers::register(state, height, signer, spec, *bounty_deposit)
        }
        TxBody::TripBreaker { protocol, reason } => {
            crate::breakers::trip(state, height, signer, protocol, reason)
        }
        TxBody::FastPathTrip { protocol, alert } => {
            crate::breakers::fast_path(state, height, &tx.chain_id, signer, protocol, alert)
        }
        TxBody::ApproveReset { protocol } => {
            crate::breakers::approve_reset(state, signer, protocol)
        }
        TxBody::Propose { action, description, not_before } => {
            crate::governance::propose(state, height, signer, action, description, *not_before)
        }
        TxBody::Vote { proposal, choice } => {
            crate::governance::vote(state, height, signer, *proposal, *choice)
        }
        TxBody::SubmitEvidence { evidence } => {
            crate::evidence::submit(state, &tx.chain_id, height, signer, evidence)
        }
        TxBody::OpenStream { recipient, rate, deposit } => {
            crate::streams::open(state, height, signer, *recipient, *rate, *deposit)
        }
        TxBody::StreamTopUp { stream, amount } => {
            crate::streams::top_up(state, signer, *stream, *amount)
        }
        TxBody::StreamPause { stream } => crate::streams::pause(state, height, signer, *stream),
        TxBody::StreamRestart { stream, rate } => {
            crate::streams::restart(state, height, signer, *stream, *rate)
        }
        TxBody::StreamClose { stream } => crate::streams::close(state, height, signer, *stream),
        TxBody::StreamClaim { stream } => crate::streams::claim(state, height, signer, *stream),
        TxBody::StreamVoid { stream } => crate::streams::void(state, height, signer, *stream),
        TxBody::FundBounty { protocol, amount } => {
            crate::bounties::fund(state, signer, protocol, *amount)
        }
        TxBody::Disclose { protocol, commitment, ciphertext, severity, funds_at_risk, bond } => {
            let d = crate::bounties::Disclosure {
                protocol,
                commitment: *commitment,
                ciphertext: *ciphertext,
                severity: *severity,
                funds_at_risk: *funds_at_risk,
                bond: *bond,
            };
            crate::bounties::disclose(state, height, signer, d)
        }
        TxBody::DisclosureAccept { disclosure } => {
            crate::bounties::accept(state, signer, *disclosure)
        }
        TxBody::DisclosureDowngrade { disclosure, severity, funds_at_risk, reason } => {
            crate::bounties::downgrade(
                state,
                height,
                signer,
                *disclosure,
                *severity,
                *funds_at_risk,
                reason,
            )
        }
        TxBody::DisclosureDispute { disclosure, reason } => {
            crate::bounties::dispute(state, height, signer, *disclosure, reason)
        }
        TxBody::DisclosureReveal { disclosure, report, salt } => {
            crate::bounties::reveal(state, height, signer, *disclosure, report, salt)
        }
        TxBody::RecoveryClaim { protocol, recovered, retained, evidence, note } => {
            let c = crate::bounties::Claim {
                protocol,
                recovered: *recovered,
                retained: *retained,
                evidence,
                note,
            };
            crate::bounties::claim_recovery(state, height, signer, c)
        }
        TxBody::RecoveryConfirm { claim } => {
            crate::bounties::confirm_recovery(state, signer, *claim)
        }
        TxBody::RecoveryDispute { claim, reason } => {
            crate::bounties::dispute_recovery(state, height, signer, *claim, reason)
        }
    }
}

/// The most liquid balance `tx` can take from its signer besides the fee: what it transfers,
/// bonds, escrows or deposits. The mempool checks queued transactions against it.
pub(crate) fn balance_spent(state: &State, tx: &Tx) -> Amount {
    match &tx.body {
        TxBody::Transfer { amount, .. } | TxBody::Bond { amount } => *amount,
        TxBody::SubmitReport { bond, .. } => *bond,
        TxBody::RegisterProtocol { bounty_deposit, .. } => *bounty_deposit,
        TxBody::Propose { .. } => state.params().proposal_deposit,
        TxBody::OpenStream { deposit, .. } => *deposit,
        TxBody::StreamTopUp { amount, .. } | TxBody::FundBounty { amount, .. } => *amount,
        TxBody::Disclose { bond, .. } => *bond,
        TxBody::Unbond { .. }
        | TxBody::Attest { .. }
        | TxBody::TripBreaker { .. }
        | TxBody::FastPathTrip { .. }
        | TxBody::ApproveReset { .. }
        | TxBody::Vote { .. }
        | TxBody::SubmitEvidence { .. }
        | TxBody::StreamPause { .. }
        | TxBody::StreamRestart { .. }
        | TxBody::StreamClose { .. }
        | TxBody::StreamClaim { .. }
        | TxBody::StreamVoid { .. }
        | TxBody::DisclosureAccept { .. }
        | TxBody::DisclosureDowngrade { .. }
        | TxBody::DisclosureDispute { .. }
        | TxBody::DisclosureReveal { .. }
        | TxBody::RecoveryClaim { .. }
        | TxBody::RecoveryConfirm { .. }
        | TxBody::RecoveryDispute { .. } => Amount::ZERO,
    }
}

fn transfer(
    state: &State,
    from: AccountId,
    to: AccountId,
    amount: Amount,
) -> Result<Effects, TxError> {
    if from == to {
        return Err(TxError::SelfTransfer);
    }
    let mut sender = account(state, &from);
    let mut recipient = account(state, &to);
    sender.balance = sub_balance(sender.balance, amount)?;
    recipient.balance = add(recipient.balance, amount)?;
    Ok(Effects {
        accounts: vec![(from, sender), (to, recipient)],
        events: vec![Event::Transfer { from, to, amount }],
        ..Effects::default()
    })
}

fn bond(state: &State, who: AccountId, amount: Amount) -> Result<Effects, TxError> {
    let mut acct = account(state, &who);
    acct.balance = sub_balance(acct.balance, amount)?;
    acct.bonded = add(acct.bonded, amount)?;
    let mut globals = state.globals().clone();
    globals.total_bonded = add(globals.total_bonded, amount)?;
    Ok(Effects {
        accounts: vec![(who, acct)],
        globals: Some(globals),
        events: vec![Event::Bonded { account: who, amount }],
        ..Effects::default()
    })
}

fn unbond(state: &State, height: u64, who: AccountId, amount: Amount) -> Result<Effects, TxError> {
    let mut acct = account(state, &who);
    let free = acct.free_stake();
    if free < amount {
        return Err(TxError::InsufficientStake { needed: amount, available: free });
    }
    acct.bonded = acct.bonded.checked_sub(amount).ok_or(TxError::Overflow)?;
    let release_height =
        height.checked_add(state.params().unbonding_delay).ok_or(TxError::Overflow)?;
    acct.unbonding.push(Unbonding { amount, release_height });
    let mut globals = state.globals().clone();
    globals.total_bonded = globals.total_bonded.checked_sub(amount).ok_or(TxError::Overflow)?;
    Ok(Effects {
        accounts: vec![(who, acct)],
        globals: Some(globals),
        events: vec![Event::UnbondingStarted { account: who, amount, release_height }],
        ..Effects::default()
    })
}

fn submit(
    state: &State,
    height: u64,
    reporter: AccountId,
    report: &Report,
    bond: Amount,
) -> Result<Effects, TxError> {
    let min = state.params().min_report_bond;
    if bond < min {
        return Err(TxError::BondTooSmall { min, got: bond });
    }
    let id = report.id();
    if state.report(&id).is_some() {
        return Err(TxError::ReportExists { report: id });
    }
    let mut acct = account(state, &reporter);
    acct.balance = sub_balance(acct.balance, bond)?;
    let deadline = height.checked_add(state.params().challenge_window).ok_or(TxError::Overflow)?;
    let record = ReportRecord {
        report: report.clone(),
        reporter,
        bond,
        submitted_at: height,
        deadline,
        status: ReportStatus::Open,
        tally: Tally::default(),
        settlement: None,
        origin: ReportOrigin::Submitted,
    };
    Ok(Effects {
        accounts: vec![(reporter, acct)],
        reports: vec![(id, record)],
        events: vec![Event::ReportSubmitted { report: id, reporter, bond, deadline }],
        ..Effects::default()
    })
}

fn attest(
    state: &State,
    height: u64,
    attester: AccountId,
    report_id: ReportId,
    stance: Stance,
    stake: Amount,
) -> Result<Effects, TxError> {
    let mut record =
        state.report(&report_id).cloned().ok_or(TxError::UnknownReport { report: report_id })?;
    if record.status != ReportStatus::Open || height > record.deadline {
        return Err(TxError::ReportClosed { report: report_id, status: record.status });
    }
    if record.reporter == attester {
        return Err(TxError::SelfAttestation);
    }
    if state.attestation(&report_id, &attester).is_some() {
        return Err(TxError::AlreadyAttested { report: report_id, account: attester });
    }
    let min = state.params().min_attestation_stake;
    if stake < min {
        return Err(TxError::StakeTooSmall { min, got: stake });
    }
    let mut acct = account(state, &attester);
    let free = acct.free_stake();
    if free < stake {
        return Err(TxError::InsufficientStake { needed: stake, available: free });
    }
    acct.locked = add(acct.locked, stake)?;
    let score = acct.reputation.score_ppm(height, state.params());
    let weighted =
        u128::from(stake.0).saturating_mul(u128::from(score)).checked_div(u128::from(PPM));
    let weight = weighted.and_then(|w| u64::try_from(w).ok()).ok_or(TxError::Overflow)?;
    let tally = &mut record.tally;
    match stance {
        Stance::Confirm => {
            tally.confirm_weight =
                tally.confirm_weight.checked_add(weight).ok_or(TxError::Overflow)?;
            tally.confirm_stake = add(tally.confirm_stake, stake)?;
        }
        Stance::Dispute => {
            tally.dispute_weight =
                tally.dispute_weight.checked_add(weight).ok_or(TxError::Overflow)?;
            tally.dispute_stake = add(tally.dispute_stake, stake)?;
        }
    }
    tally.attestations = tally.attestations.checked_add(1).ok_or(TxError::Overflow)?;
    let attestation = Attestation { stance, stake, weight, at_height: height, outcome: None };
    Ok(Effects {
        accounts: vec![(attester, acct)],
        reports: vec![(report_id, record)],
        attestations: vec![(report_id, attester, attestation)],
        events: vec![Event::Attested { report: report_id, attester, stance, stake, weight }],
        ..Effects::default()
    })
}
