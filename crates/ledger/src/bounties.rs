//! Embargoed disclosures and recovery bounties, paid from a protocol's escrow (its bounty pool).
//!
//! **Disclosures** (Immunefi-style, made binding): a researcher commits to a report (only the
//! hash reaches the ledger; the report, encrypted to the protocol's keys, stays with the nodes)
//! with a bond. The protocol's owner accepts (the table's tier for the claimed severity is paid
//! and the bond returned), downgrades (a written reason is required and recorded; the lower
//! tier is paid) or disputes (a reason again; the bond stays). A downgrade or dispute opens
//! the challenge window, in which the researcher may escalate to a governance vote (a
//! `decide_disclosure` proposal, whose deposit is the escalation bond): yes pays the claimed
//! tier less what was paid, no upholds the protocol. A dispute nobody escalates lapses and its
//! bond goes to the treasury. A disclosure unanswered past its deadline can be revealed by its
//! researcher: the ledger checks report and salt against the commitment and publishes it.
//!
//! **Recovery bounties** (SEAL Safe Harbor): a whitehat who rescued and returned funds files a
//! claim citing the on-chain transactions (each can be cited once); the bounty is the terms'
//! share of what was recovered, capped per whitehat and in aggregate, less what the whitehat
//! kept (only where the terms allow keeping it). The owner confirms (paid) or disputes (the
//! claimant may escalate, as may one whose claim goes unanswered for the response window).
//!
//! Every payout is the lesser of what is owed and what the escrow holds: the escrow never pays
//! more than was deposited into it.

use vigil_core::disclosure::{MAX_REASON_BYTES, MAX_RECOVERY_EVIDENCE, MAX_REPORT_BYTES};
use vigil_core::{
    AccountId, Amount, B256, BountyProgram, ContentId, ProtocolId, SafeHarbor, Severity, TxBody,
};

use crate::effects::{Effects, account, add, sub_balance};
use crate::error::TxError;
use crate::events::Event;
use crate::state::{
    DisclosureRecord, DisclosureStatus, ProtocolRecord, RecoveryRecord, RecoveryStatus, State,
};

/// Checks of the disclosure and recovery transactions that need no state.
pub(crate) fn check_shape(body: &TxBody) -> Result<(), TxError> {
    let shape = |reason: &str| Err(TxError::DisclosureShape { reason: reason.into() });
    match body {
        TxBody::FundBounty { amount, .. } if amount.is_zero() => Err(TxError::ZeroAmount),
        TxBody::Disclose { bond, .. } if bond.is_zero() => Err(TxError::ZeroAmount),
        TxBody::Disclose { severity: Severity::Info, .. } => shape(
            "a disclosure is critical, high, medium or low; informational findings are not paid",
        ),
        TxBody::DisclosureDowngrade { reason, .. }
        | TxBody::DisclosureDispute { reason, .. }
        | TxBody::RecoveryDispute { reason, .. } => written_reason(reason),
        TxBody::DisclosureReveal { report, .. } => {
            if report.trim().is_empty() || report.len() > MAX_REPORT_BYTES {
                return shape("a revealed report is 1 byte to 64 KiB");
            }
            Ok(())
        }
        TxBody::RecoveryClaim { recovered, evidence, note, .. } => {
            if recovered.is_zero() {
                return Err(TxError::ZeroAmount);
            }
            let distinct: std::collections::BTreeSet<&B256> = evidence.iter().collect();
            if evidence.is_empty()
                || evidence.len() > MAX_RECOVERY_EVIDENCE
                || distinct.len() != evidence.len()
            {
                return shape("a recovery claim cites 1 to 32 distinct on-chain transactions");
            }
            if note.len() > MAX_REASON_BYTES {
                return shape("a recovery note is at most 4096 bytes");
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn written_reason(reason: &str) -> Result<(), TxError> {
    if reason.trim().is_empty() {
        return Err(TxError::DisclosureShape {
            reason: "a written reason is required (it is recorded for the researcher and voters)"
                .into(),
        });
    }
    if reason.len() > MAX_REASON_BYTES {
        return Err(TxError::DisclosureShape { reason: "a reason is at most 4096 bytes".into() });
    }
    Ok(())
}

fn protocol(state: &State, id: &ProtocolId) -> Result<ProtocolRecord, TxError> {
    state.protocol(id).cloned().ok_or_else(|| TxError::UnknownProtocol { protocol: id.clone() })
}

fn program(p: &ProtocolRecord) -> Result<&BountyProgram, TxError> {
    p.spec.bounty.as_ref().ok_or_else(|| TxError::NoProgram {
        protocol: p.spec.id.clone(),
        what: "bug bounty program".into(),
    })
}

fn harbor(p: &ProtocolRecord) -> Result<&SafeHarbor, TxError> {
    p.spec.safe_harbor.as_ref().ok_or_else(|| TxError::NoProgram {
        protocol: p.spec.id.clone(),
        what: "Safe Harbor terms".into(),
    })
}

fn owner_only(p: &ProtocolRecord, signer: AccountId, what: &str) -> Result<(), TxError> {
    if p.owner == signer {
        Ok(())
    } else {
        Err(TxError::NotEntitled {
            account: signer,
            what: what.into(),
            role: format!("the owner of {}", p.spec.id),
        })
    }
}

fn window_end(state: &State, height: u64) -> Result<u64, TxError> {
    height.checked_add(state.params().disclosure_challenge_window).ok_or(TxError::Overflow)
}

/// Takes `owed` from the escrow, as far as it goes: `(paid, shortfall)`.
fn draw(pool: &mut Amount, owed: Amount) -> (Amount, Amount) {
    let paid = Amount(owed.0.min(pool.0));
    *pool = Amount(pool.0.saturating_sub(paid.0));
    (paid, Amount(owed.0.saturating_sub(paid.0)))
}

/// `FundBounty`: anyone adds to a protocol's escrow.
pub(crate) fn fund(
    state: &State,
    signer: AccountId,
    id: &ProtocolId,
    amount: Amount,
) -> Result<Effects, TxError> {
    let mut p = protocol(state, id)?;
    let mut acct = account(state, &signer);
    acct.balance = sub_balance(acct.balance, amount)?;
    p.bounty_pool = add(p.bounty_pool, amount)?;
    Ok(Effects {
        accounts: vec![(signer, acct)],
        protocols: vec![(id.clone(), p)],
        events: vec![Event::BountyFunded { protocol: id.clone(), from: signer, amount }],
        ..Effects::default()
    })
}

/// What `Disclose` carries.
pub(crate) struct Disclosure<'a> {
    pub(crate) protocol: &'a ProtocolId,
    pub(crate) commitment: ContentId,
    pub(crate) ciphertext: ContentId,
    pub(crate) severity: Severity,
    pub(crate) funds_at_risk: Amount,
    pub(crate) bond: Amount,
}

/// `Disclose`: records the commitment and holds the bond.
pub(crate) fn disclose(
    state: &State,
    height: u64,
    signer: AccountId,
    d: Disclosure<'_>,
) -> Result<Effects, TxError> {
    let p = protocol(state, d.protocol)?;
    program(&p)?;
    if p.owner == signer {
        return Err(TxError::NotEntitled {
            account: signer,
            what: format!("disclose to {}, its own protocol", p.spec.id),
            role: "a researcher other than the owner".into(),
        });
    }
    let min = state.params().min_disclosure_bond;
    if d.bond < min {
        return Err(TxError::BondTooSmall { min, got: d.bond });
    }
    if let Some(first) = state.disclosure_by_commitment(&d.commitment) {
        return Err(TxError::CommitmentTaken { disclosure: first });
    }
    let mut acct = account(state, &signer);
    acct.balance = sub_balance(acct.balance, d.bond)?;
    let deadline =
        height.checked_add(state.params().disclosure_response_window).ok_or(TxError::Overflow)?;
    let id = state.next_disclosure_id();
    let record = DisclosureRecord {
        protocol: d.protocol.clone(),
        researcher: signer,
        commitment: d.commitment,
        ciphertext: d.ciphertext,
        severity: d.severity,
        funds_at_risk: d.funds_at_risk,
        bond: d.bond,
        submitted_at: height,
        deadline,
        status: DisclosureStatus::Open,
        assessed_severity: None,
        assessed_funds_at_risk: None,
        reason: None,
        paid: Amount::ZERO,
        window_ends: None,
        escalation: None,
        revealed: None,
    };
    Ok(Effects {
        accounts: vec![(signer, acct)],
        disclosures: vec![(id, record)],
        events: vec![Event::Disclosed {
            disclosure: id,
            protocol: d.protocol.clone(),
            researcher: signer,
            severity: d.severity,
            deadline,
        }],
        ..Effects::default()
    })
}

fn load_disclosure(state: &State, id: u64) -> Result<DisclosureRecord, TxError> {
    state.disclosure(id).cloned().ok_or(TxError::UnknownDisclosure { disclosure: id })
}

fn disclosure_refused(id: u64, d: &DisclosureRecord, reason: &str) -> TxError {
    TxError::DisclosureState {
        disclosure: id,
        status: d.status.as_str().into(),
        reason: reason.into(),
    }
}

/// The disclosure and its protocol, for an answer by the owner to an open disclosure.
fn for_answer(
    state: &State,
    signer: AccountId,
    id: u64,
    what: &str,
) -> Result<(DisclosureRecord, ProtocolRecord), TxError> {
    let d = load_disclosure(state, id)?;
    let p = protocol(state, &d.protocol)?;
    owner_only(&p, signer, what)?;
    if d.status != DisclosureStatus::Open {
        return Err(disclosure_refused(id, &d, "it has been answered already"));
    }
    Ok((d, p))
}

/// What a payment to a researcher changes: its account and the protocol's escrow.
struct Payout {
    researcher: crate::state::Account,
    protocol: ProtocolRecord,
    paid: Amount,
    shortfall: Amount,
}

/// Pays `owed` to the researcher from the escrow and returns the bond held.
fn pay_researcher(
    state: &State,
    d: &mut DisclosureRecord,
    mut p: ProtocolRecord,
    owed: Amount,
) -> Result<Payout, TxError> {
    let (paid, shortfall) = draw(&mut p.bounty_pool, owed);
    let mut acct = account(state, &d.researcher);
    acct.balance = add(add(acct.balance, paid)?, d.bond)?;
    d.bond = Amount::ZERO;
    d.paid = add(d.paid, paid)?;
    Ok(Payout { researcher: acct, protocol: p, paid, shortfall })
}

/// The effects of the protocol's answer `d` (its status set), with what it paid.
fn answered(id: u64, d: DisclosureRecord, payout: Option<Payout>) -> Effects {
    let (paid, shortfall) =
        payout.as_ref().map_or((Amount::ZERO, Amount::ZERO), |p| (p.paid, p.shortfall));
    let mut effects = Effects {
        events: vec![Event::DisclosureAnswered {
            disclosure: id,
            status: d.status,
            paid,
            shortfall,
            window_ends: d.window_ends,
        }],
        ..Effects::default()
    };
    if let Some(p) = payout {
        effects.accounts.push((d.researcher, p.researcher));
        effects.protocols.push((p.protocol.spec.id.clone(), p.protocol));
    }
    effects.disclosures.push((id, d));
    effects
}

/// `DisclosureAccept`: the claimed tier is paid and the bond returned.
pub(crate) fn accept(state: &State, signer: AccountId, id: u64) -> Result<Effects, TxError> {
    let (mut d, p) = for_answer(state, signer, id, "answer this disclosure")?;
    let owed = program(&p)?.payout(d.severity, d.funds_at_risk).unwrap_or(Amount::ZERO);
    let payout = pay_researcher(state, &mut d, p, owed)?;
    d.status = DisclosureStatus::Accepted;
    Ok(answered(id, d, Some(payout)))
}

/// `DisclosureDowngrade`: the lower tier is paid, the bond returned, the window opens.
pub(crate) fn downgrade(
    state: &State,
    height: u64,
    signer: AccountId,
    id: u64,
    severity: Severity,
    funds_at_risk: Option<Amount>,
    reason: &str,
) -> Result<Effects, TxError> {
    let (mut d, p) = for_answer(state, signer, id, "answer this disclosure")?;
    let funds = funds_at_risk.unwrap_or(d.funds_at_risk);
    if severity > d.severity || funds > d.funds_at_risk {
        return Err(TxError::DisclosureShape {
            reason: "a downgrade cannot raise the severity or the funds at risk".into(),
        });
    }
    let table = program(&p)?;
    let claimed = table.payout(d.severity, d.funds_at_risk).unwrap_or(Amount::ZERO);
    let owed = table.payout(severity, funds).unwrap_or(Amount::ZERO);
    if owed >= claimed {
        return Err(TxError::DisclosureShape {
            reason: format!(
                "this assessment pays {owed}, as much as the claim ({claimed}): accept it instead"
            ),
        });
    }
    let payout = pay_researcher(state, &mut d, p, owed)?;
    d.status = DisclosureStatus::Downgraded;
    d.assessed_severity = Some(severity);
    d.assessed_funds_at_risk = Some(funds);
    d.reason = Some(reason.to_owned());
    d.window_ends = Some(window_end(state, height)?);
    Ok(answered(id, d, Some(payout)))
}

/// `DisclosureDispute`: nothing is paid, the bond stays, the window opens.
pub(crate) fn dispute(
    state: &State,
    height: u64,
    signer: AccountId,
    id: u64,
    reason: &str,
) -> Result<Effects, TxError> {
    let (mut d, _) = for_answer(state, signer, id, "answer this disclosure")?;
    d.status = DisclosureStatus::Disputed;
    d.reason = Some(reason.to_owned());
    d.window_ends = Some(window_end(state, height)?);
    Ok(answered(id, d, None))
}

/// `DisclosureReveal`: after an unanswered deadline, the researcher publishes the report; it
/// must open the commitment.
pub(crate) fn reveal(
    state: &State,
    height: u64,
    signer: AccountId,
    id: u64,
    report: &str,
    salt: &[u8; 32],
) -> Result<Effects, TxError> {
    let mut d = load_disclosure(state, id)?;
    if d.researcher != signer {
        return Err(TxError::NotEntitled {
            account: signer,
            what: format!("reveal disclosure {id}"),
            role: "its researcher".into(),
        });
    }
    if d.status != DisclosureStatus::Open {
        return Err(disclosure_refused(id, &d, "only an unanswered disclosure can be revealed"));
    }
    if height <= d.deadline {
        return Err(disclosure_refused(
            id,
            &d,
            &format!("the protocol has until height {} to answer", d.deadline),
        ));
    }
    if vigil_core::disclosure::commitment(report, salt) != d.commitment {
        return Err(TxError::CommitmentMismatch { disclosure: id });
    }
    let mut acct = account(state, &signer);
    acct.balance = add(acct.balance, d.bond)?;
    d.bond = Amount::ZERO;
    d.status = DisclosureStatus::Revealed;
    d.revealed = Some(report.to_owned());
    Ok(Effects {
        accounts: vec![(signer, acct)],
        disclosures: vec![(id, d)],
        events: vec![Event::DisclosureRevealed { disclosure: id }],
        ..Effects::default()
    })
}

/// Whether `signer` may escalate disclosure `id` at `height` (a `decide_disclosure` proposal).
pub(crate) fn check_disclosure_escalation(
    state: &State,
    height: u64,
    signer: AccountId,
    id: u64,
) -> Result<DisclosureRecord, TxError> {
    let d = load_disclosure(state, id)?;
    if d.researcher != signer {
        return Err(TxError::NotEntitled {
            account: signer,
            what: format!("escalate disclosure {id}"),
            role: "its researcher".into(),
        });
    }
    if !matches!(d.status, DisclosureStatus::Downgraded | DisclosureStatus::Disputed) {
        return Err(disclosure_refused(id, &d, "only a downgrade or a dispute can be escalated"));
    }
    if d.window_ends.is_none_or(|end| height > end) {
        return Err(disclosure_refused(id, &d, "its challenge window has closed"));
    }
    Ok(d)
}

/// A passed or failed `decide_disclosure` proposal: `upheld` pays the claimed tier less what
/// was paid and returns the bond; otherwise the protocol's answer stands and a held bond goes
/// to the treasury.
pub(crate) fn decide_disclosure(
    state: &State,
    id: u64,
    proposal: u64,
    upheld: bool,
) -> Result<Effects, TxError> {
    let mut d = load_disclosure(state, id)?;
    if d.status != DisclosureStatus::Escalated || d.escalation != Some(proposal) {
        return Err(disclosure_refused(
            id,
            &d,
            &format!("it is not escalated to proposal {proposal}"),
        ));
    }
    let p = protocol(state, &d.protocol)?;
    let mut effects = Effects::default();
    let (paid, shortfall) = if upheld {
        let claimed = program(&p)?.payout(d.severity, d.funds_at_risk).unwrap_or(Amount::ZERO);
        let owed = Amount(claimed.0.saturating_sub(d.paid.0));
        let payout = pay_researcher(state, &mut d, p, owed)?;
        effects.accounts.push((d.researcher, payout.researcher));
        effects.protocols.push((payout.protocol.spec.id.clone(), payout.protocol));
        d.status = DisclosureStatus::Upheld;
        (payout.paid, payout.shortfall)
    } else {
        let mut globals = state.globals().clone();
        globals.treasury = add(globals.treasury, d.bond)?;
        effects.globals = Some(globals);
        d.bond = Amount::ZERO;
        d.status = DisclosureStatus::Overruled;
        (Amount::ZERO, Amount::ZERO)
    };
    effects.events.push(Event::DisclosureDecided {
        disclosure: id,
        proposal,
        status: d.status,
        paid,
        shortfall,
    });
    effects.disclosures.push((id, d));
    Ok(effects)
}

/// Disputes not escalated by the end of their window at `height`: the bond goes to the
/// treasury.
pub(crate) fn lapse_disputes(
    state: &mut State,
    height: u64,
    events: &mut Vec<Event>,
) -> Result<(), crate::LedgerError> {
    for id in state.lapsed_disclosures(height) {
        let Some(mut d) = state.disclosure(id).cloned() else { continue };
        if d.status != DisclosureStatus::Disputed {
            continue;
        }
        let forfeited = d.bond;
        let mut globals = state.globals().clone();
        globals.treasury = globals
            .treasury
            .checked_add(forfeited)
            .ok_or(crate::LedgerError::Overflow("lapsed bond"))?;
        *state.globals_mut() = globals;
        d.bond = Amount::ZERO;
        d.status = DisclosureStatus::Lapsed;
        state.put_disclosure(id, d);
        events.push(Event::DisclosureLapsed { disclosure: id, forfeited });
    }
    Ok(())
}

/// What `RecoveryClaim` carries.
pub(crate) struct Claim<'a> {
    pub(crate) protocol: &'a ProtocolId,
    pub(crate) recovered: Amount,
    pub(crate) retained: Amount,
    pub(crate) evidence: &'a [B256],
    pub(crate) note: &'a str,
}

/// `RecoveryClaim`: records the claim with the bounty the terms give.
pub(crate) fn claim_recovery(
    state: &State,
    height: u64,
    signer: AccountId,
    c: Claim<'_>,
) -> Result<Effects, TxError> {
    let p = protocol(state, c.protocol)?;
    let terms = harbor(&p)?;
    if let Some((tx, claim)) =
        c.evidence.iter().find_map(|tx| state.recovery_citing(tx).map(|claim| (*tx, claim)))
    {
        return Err(TxError::EvidenceClaimed { tx, claim });
    }
    let bounty = terms.bounty(c.recovered);
    let allowed = if terms.retainable { bounty } else { Amount::ZERO };
    if c.retained > allowed {
        return Err(TxError::RetainedTooMuch { retained: c.retained, allowed });
    }
    let id = state.next_recovery_id();
    let record = RecoveryRecord {
        protocol: c.protocol.clone(),
        claimant: signer,
        recovered: c.recovered,
        retained: c.retained,
        bounty,
        evidence: c.evidence.to_vec(),
        note: c.note.to_owned(),
        filed_at: height,
        status: RecoveryStatus::Pending,
        paid: Amount::ZERO,
        reason: None,
        window_ends: None,
        escalation: None,
    };
    Ok(Effects {
        recoveries: vec![(id, record)],
        events: vec![Event::RecoveryClaimed {
            claim: id,
            protocol: c.protocol.clone(),
            claimant: signer,
            bounty,
        }],
        ..Effects::default()
    })
}

fn load_recovery(state: &State, id: u64) -> Result<RecoveryRecord, TxError> {
    state.recovery(id).cloned().ok_or(TxError::UnknownRecovery { claim: id })
}

fn recovery_refused(id: u64, r: &RecoveryRecord, reason: &str) -> TxError {
    TxError::RecoveryState { claim: id, status: r.status.as_str().into(), reason: reason.into() }
}

/// Pays a granted claim: the bounty within the aggregate cap, less what was retained, from the
/// escrow as far as it goes.
fn settle_recovery(
    state: &State,
    id: u64,
    mut r: RecoveryRecord,
    status: RecoveryStatus,
) -> Result<Effects, TxError> {
    let mut p = protocol(state, &r.protocol)?;
    let terms = harbor(&p)?;
    let room = terms.cap_total.0.saturating_sub(p.recovery_granted.0);
    let granted = Amount(r.bounty.0.min(room).max(r.retained.0));
    p.recovery_granted = add(p.recovery_granted, granted)?;
    let owed = Amount(granted.0.saturating_sub(r.retained.0));
    let (paid, pool_short) = draw(&mut p.bounty_pool, owed);
    let shortfall = Amount(r.bounty.0.saturating_sub(granted.0).saturating_add(pool_short.0));
    let mut acct = account(state, &r.claimant);
    acct.balance = add(acct.balance, paid)?;
    r.paid = add(r.paid, paid)?;
    r.status = status;
    Ok(Effects {
        accounts: vec![(r.claimant, acct)],
        protocols: vec![(p.spec.id.clone(), p)],
        events: vec![Event::RecoverySettled { claim: id, status, paid, shortfall }],
        recoveries: vec![(id, r)],
        ..Effects::default()
    })
}

/// `RecoveryConfirm`: the owner grants a pending claim.
pub(crate) fn confirm_recovery(
    state: &State,
    signer: AccountId,
    id: u64,
) -> Result<Effects, TxError> {
    let r = load_recovery(state, id)?;
    let p = protocol(state, &r.protocol)?;
    owner_only(&p, signer, "answer this recovery claim")?;
    if r.status != RecoveryStatus::Pending {
        return Err(recovery_refused(id, &r, "it has been answered already"));
    }
    settle_recovery(state, id, r, RecoveryStatus::Confirmed)
}

/// `RecoveryDispute`: the owner contests a pending claim; the window opens.
pub(crate) fn dispute_recovery(
    state: &State,
    height: u64,
    signer: AccountId,
    id: u64,
    reason: &str,
) -> Result<Effects, TxError> {
    let mut r = load_recovery(state, id)?;
    let p = protocol(state, &r.protocol)?;
    owner_only(&p, signer, "answer this recovery claim")?;
    if r.status != RecoveryStatus::Pending {
        return Err(recovery_refused(id, &r, "it has been answered already"));
    }
    r.status = RecoveryStatus::Disputed;
    r.reason = Some(reason.to_owned());
    r.window_ends = Some(window_end(state, height)?);
    Ok(Effects {
        events: vec![Event::RecoverySettled {
            claim: id,
            status: r.status,
            paid: Amount::ZERO,
            shortfall: Amount::ZERO,
        }],
        recoveries: vec![(id, r)],
        ..Effects::default()
    })
}

/// Whether `signer` may escalate claim `id` at `height`: its claimant, within the window of a
/// dispute, or once the protocol has left it unanswered for the response window.
pub(crate) fn check_recovery_escalation(
    state: &State,
    height: u64,
    signer: AccountId,
    id: u64,
) -> Result<RecoveryRecord, TxError> {
    let r = load_recovery(state, id)?;
    if r.claimant != signer {
        return Err(TxError::NotEntitled {
            account: signer,
            what: format!("escalate recovery claim {id}"),
            role: "its claimant".into(),
        });
    }
    match r.status {
        RecoveryStatus::Disputed if r.window_ends.is_some_and(|end| height <= end) => Ok(r),
        RecoveryStatus::Disputed => {
            Err(recovery_refused(id, &r, "its challenge window has closed"))
        }
        RecoveryStatus::Pending => {
            let due = r.filed_at.saturating_add(state.params().disclosure_response_window);
            if height > due {
                Ok(r)
            } else {
                Err(recovery_refused(
                    id,
                    &r,
                    &format!("the protocol has until height {due} to answer"),
                ))
            }
        }
        _ => Err(recovery_refused(id, &r, "only a disputed or unanswered claim can be escalated")),
    }
}

/// A passed or failed `decide_recovery` proposal.
pub(crate) fn decide_recovery(
    state: &State,
    id: u64,
    proposal: u64,
    upheld: bool,
) -> Result<Effects, TxError> {
    let mut r = load_recovery(state, id)?;
    if r.status != RecoveryStatus::Escalated || r.escalation != Some(proposal) {
        return Err(recovery_refused(
            id,
            &r,
            &format!("it is not escalated to proposal {proposal}"),
        ));
    }
    if upheld {
        return settle_recovery(state, id, r, RecoveryStatus::Upheld);
    }
    r.status = RecoveryStatus::Overruled;
    Ok(Effects {
        events: vec![Event::RecoverySettled {
            claim: id,
            status: r.status,
            paid: Amount::ZERO,
            shortfall: Amount::ZERO,
        }],
        recoveries: vec![(id, r)],
        ..Effects::default()
    })
}
