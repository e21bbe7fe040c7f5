//! Protocols, guardians and circuit breakers.
//!
//! A breaker is Armed → Tripped { reason, at_height, by } → Armed. It trips on a guardian's
//! transaction, on a Confirmed report that touches the protocol and meets its policy, or on an
//! authorised monitor's signed alert (the fast path, which opens a report of the alert with the
//! monitor as reporter: if that report is rejected, the monitor is slashed). Only M distinct
//! guardian approvals or a passed governance proposal re-arm it.

use std::collections::BTreeSet;

use vigil_core::{
    AccountId, Alert, Amount, Category, ChainId, Evidence, EvmAddress, Indicator, MAX_SUMMARY_LEN,
    ProtocolId, ProtocolSpec, Report, ReportId, Severity, Signed,
};

use crate::effects::{Effects, account, add, sub_balance};
use crate::error::TxError;
use crate::events::{Event, ResetBy};
use crate::state::{
    BreakerState, ProtocolRecord, ReportOrigin, ReportRecord, ReportStatus, State, Tally,
    TripReason,
};

fn protocol(state: &State, id: &ProtocolId) -> Result<ProtocolRecord, TxError> {
    state.protocol(id).cloned().ok_or_else(|| TxError::UnknownProtocol { protocol: id.clone() })
}

pub(crate) fn register(
    state: &State,
    height: u64,
    owner: AccountId,
    spec: &ProtocolSpec,
    deposit: Amount,
) -> Result<Effects, TxError> {
    if state.protocol(&spec.id).is_some() {
        return Err(TxError::ProtocolExists { protocol: spec.id.clone() });
    }
    let mut acct = account(state, &owner);
    acct.balance = sub_balance(acct.balance, deposit)?;
    let record = ProtocolRecord {
        spec: spec.clone(),
        owner,
        registered_at: height,
        breaker: BreakerState::Armed,
        trips: 0,
        reset_approvals: BTreeSet::new(),
        bounty_pool: deposit,
        recovery_granted: Amount::ZERO,
    };
    Ok(Effects {
        accounts: vec![(owner, acct)],
        protocols: vec![(spec.id.clone(), record)],
        events: vec![Event::ProtocolRegistered { protocol: spec.id.clone(), owner }],
        ..Effects::default()
    })
}

/// The record tripped at `height` for `reason` by `by`, and the event announcing it.
pub(crate) fn tripped(
    mut record: ProtocolRecord,
    height: u64,
    by: AccountId,
    reason: TripReason,
) -> (ProtocolRecord, Event) {
    record.breaker = BreakerState::Tripped { reason: reason.clone(), at_height: height, by };
    record.trips = record.trips.saturating_add(1);
    record.reset_approvals.clear();
    let event = Event::BreakerTripped {
        protocol: record.spec.id.clone(),
        reason,
        by,
        action: record.spec.policy.action.clone(),
        chain: record.spec.chain,
    };
    (record, event)
}

/// The record re-armed by `by`, and the event announcing it.
pub(crate) fn reset(mut record: ProtocolRecord, by: ResetBy) -> (ProtocolRecord, Event) {
    record.breaker = BreakerState::Armed;
    record.reset_approvals.clear();
    let event = Event::BreakerReset {
        protocol: record.spec.id.clone(),
        by,
        action: record.spec.policy.action.clone(),
        chain: record.spec.chain,
    };
    (record, event)
}

pub(crate) fn trip(
    state: &State,
    height: u64,
    guardian: AccountId,
    id: &ProtocolId,
    note: &str,
) -> Result<Effects, TxError> {
    let record = protocol(state, id)?;
    if !record.spec.guardians.contains(&guardian) {
        return Err(TxError::NotGuardian { protocol: id.clone(), account: guardian });
    }
    if record.breaker.is_tripped() {
        return Err(TxError::AlreadyTripped { protocol: id.clone() });
    }
    let (record, event) =
        tripped(record, height, guardian, TripReason::Guardian { note: note.to_owned() });
    Ok(Effects { protocols: vec![(id.clone(), record)], events: vec![event], ..Effects::default() })
}

pub(crate) fn approve_reset(
    state: &State,
    guardian: AccountId,
    id: &ProtocolId,
) -> Result<Effects, TxError> {
    let mut record = protocol(state, id)?;
    if !record.spec.guardians.contains(&guardian) {
        return Err(TxError::NotGuardian { protocol: id.clone(), account: guardian });
    }
    if !record.breaker.is_tripped() {
        return Err(TxError::NotTripped { protocol: id.clone() });
    }
    if !record.reset_approvals.insert(guardian) {
        return Err(TxError::AlreadyApproved { protocol: id.clone(), account: guardian });
    }
    let approvals = u32::try_from(record.reset_approvals.len()).unwrap_or(u32::MAX);
    let threshold = record.spec.threshold;
    let mut events =
        vec![Event::ResetApproved { protocol: id.clone(), guardian, approvals, threshold }];
    if approvals >= u32::from(threshold) {
        let guardians = record.reset_approvals.iter().copied().collect();
        let (armed, event) = reset(record, ResetBy::Guardians { guardians });
        record = armed;
        events.push(event);
    }
    Ok(Effects { protocols: vec![(id.clone(), record)], events, ..Effects::default() })
}

/// Whether `addresses` (on `chain`) touch any of the protocol's contracts.
fn touches(spec: &ProtocolSpec, chain: vigil_core::EvmChainId, addresses: &[EvmAddress]) -> bool {
    chain == spec.chain && addresses.iter().any(|a| spec.contracts.contains(a))
}

/// The report a fast-path trip opens: the alert's indicators, its sender and every address it
/// names that is not the protocol's own, and the transaction.
fn alert_report(spec: &ProtocolSpec, alert: &Alert) -> Report {
    let chain = alert.tx.chain;
    let mut indicators: Vec<Indicator> = Vec::new();
    let mut push = |i: Indicator| {
        if !indicators.contains(&i) {
            indicators.push(i);
        }
    };
    for i in &alert.indicators {
        push(i.clone());
    }
    let others = std::iter::once(alert.tx.from).chain(alert.addresses.iter().copied());
    for a in others.filter(|a| !spec.contracts.contains(a)) {
        push(Indicator::Address { chain: Some(chain), address: a });
    }
    push(Indicator::TxHash { chain, hash: alert.tx.hash });
    indicators.truncate(vigil_core::MAX_REPORT_INDICATORS);
    let mut summary = format!("[{}] {}", alert.detector, alert.description);
    if summary.len() > MAX_SUMMARY_LEN {
        let mut cut = MAX_SUMMARY_LEN;
        while !summary.is_char_boundary(cut) {
            cut = cut.saturating_sub(1);
        }
        summary.truncate(cut);
    }
    Report {
        indicators,
        severity: alert.severity,
        category: Category::Exploit,
        summary,
        evidence: vec![Evidence::Tx { chain, hash: alert.tx.hash }],
        affected_protocols: vec![spec.id.to_string()],
        detection: alert.detection.clone(),
        revokes: Vec::new(),
    }
}

/// Whether `alert` may trip `spec`'s breaker on the fast path (leaving aside who signed it):
/// severe and confident enough for the policy, and naming one of the protocol's contracts on
/// its chain. The error says what falls short. Nodes use it to act before the ledger does.
pub fn alert_meets_policy(spec: &ProtocolSpec, alert: &Alert) -> Result<(), String> {
    if alert.severity < spec.policy.min_severity {
        return Err(format!("severity {} < {}", alert.severity, spec.policy.min_severity));
    }
    if alert.confidence < spec.policy.min_confidence {
        return Err(format!("confidence {} < {}", alert.confidence, spec.policy.min_confidence));
    }
    let mut named: Vec<EvmAddress> = alert.addresses.clone();
    named.extend(alert.tx.to);
    if !touches(spec, alert.tx.chain, &named) {
        return Err("the alert names none of the protocol's contracts on its chain".into());
    }
    Ok(())
}

pub(crate) fn fast_path(
    state: &State,
    height: u64,
    chain_id: &ChainId,
    sender: AccountId,
    id: &ProtocolId,
    alert: &Signed<Alert>,
) -> Result<Effects, TxError> {
    let record = protocol(state, id)?;
    if record.breaker.is_tripped() {
        return Err(TxError::AlreadyTripped { protocol: id.clone() });
    }
    alert.verify(chain_id)?;
    let monitor = alert.signer;
    if monitor != sender {
        return Err(TxError::AlertSenderMismatch);
    }
    let spec = &record.spec;
    if !spec.policy.monitors.contains(&monitor) {
        return Err(TxError::NotMonitor { protocol: id.clone(), monitor });
    }
    let a = &alert.payload;
    alert_meets_policy(spec, a)
        .map_err(|why| TxError::AlertBelowPolicy { protocol: id.clone(), why })?;
    let mut acct = account(state, &monitor);
    if acct.bonded.is_zero() {
        return Err(TxError::MonitorWithoutStake { monitor });
    }
    let report = alert_report(spec, a);
    report.check_shape()?;
    let report_id = report.id();
    let alert_id = a.id();
    let mut effects = Effects::default();
    if state.report(&report_id).is_none() {
        let bond = state.params().min_report_bond;
        acct.balance = sub_balance(acct.balance, bond)?;
        let deadline =
            height.checked_add(state.params().challenge_window).ok_or(TxError::Overflow)?;
        effects.events.push(Event::ReportSubmitted {
            report: report_id,
            reporter: monitor,
            bond,
            deadline,
        });
        effects.reports.push((
            report_id,
            ReportRecord {
                report,
                reporter: monitor,
                bond,
                submitted_at: height,
                deadline,
                status: ReportStatus::Open,
                tally: Tally::default(),
                settlement: None,
                origin: ReportOrigin::FastPath { protocol: id.clone(), alert: alert_id },
            },
        ));
        effects.accounts.push((monitor, acct));
    }
    let reason = TripReason::FastPath { alert: alert_id, report: report_id };
    let (record, event) = tripped(record, height, monitor, reason);
    effects.protocols.push((id.clone(), record));
    effects.events.push(event);
    Ok(effects)
}

/// After a report is confirmed at `height`: trip every armed breaker whose policy it meets and
/// whose protocol it touches (named in `affected_protocols`, or flagging one of its contracts),
/// and pay a confirmed vulnerability's reporter from the protocol's bounty pool.
pub(crate) fn on_confirmed(
    state: &mut State,
    height: u64,
    id: ReportId,
    events: &mut Vec<Event>,
) -> Result<(), crate::LedgerError> {
    let Some(record) = state.report(&id).cloned() else { return Ok(()) };
    let confidence = state
        .account(&record.reporter)
        .map(|a| a.reputation.confidence(height, state.params()))
        .unwrap_or(0);
    let protocols: Vec<ProtocolRecord> = state.protocols().map(|(_, p)| p.clone()).collect();
    for mut p in protocols {
        let spec = p.spec.clone();
        let named = record.report.affected_protocols.iter().any(|n| n == spec.id.as_str());
        let flags_contract = record.report.indicators.iter().any(|i| match i {
            Indicator::Address { chain, address } => {
                chain.is_none_or(|c| c == spec.chain) && spec.contracts.contains(address)
            }
            _ => false,
        });
        if !(named || flags_contract) {
            continue;
        }
        if record.report.category == Category::Vulnerability && named {
            p = pay_bounty(state, p, &record, id, events)?;
        }
        let meets = record.report.severity >= spec.policy.min_severity
            && confidence >= spec.policy.min_confidence;
        if meets && !p.breaker.is_tripped() {
            let (tripped, event) =
                tripped(p, height, record.reporter, TripReason::ConfirmedReport { report: id });
            p = tripped;
            events.push(event);
        }
        state.put_protocol(p.spec.id.clone(), p);
    }
    Ok(())
}

/// Bounty tiers: the share of the pool a confirmed vulnerability of each severity earns.
fn bounty_bps(severity: Severity) -> u32 {
    match severity {
        Severity::Critical => 5_000,
        Severity::High => 2_500,
        Severity::Medium => 1_000,
        Severity::Low => 200,
        Severity::Info => 0,
    }
}

fn pay_bounty(
    state: &mut State,
    mut p: ProtocolRecord,
    report: &ReportRecord,
    id: ReportId,
    events: &mut Vec<Event>,
) -> Result<ProtocolRecord, crate::LedgerError> {
    let overflow = crate::LedgerError::Overflow("bounty");
    let amount = p.bounty_pool.bps(bounty_bps(report.report.severity)).ok_or(overflow)?;
    if amount.is_zero() {
        return Ok(p);
    }
    p.bounty_pool =
        p.bounty_pool.checked_sub(amount).ok_or(crate::LedgerError::Overflow("bounty"))?;
    let mut acct = state.account(&report.reporter).cloned().unwrap_or_default();
    acct.balance = add(acct.balance, amount).map_err(|_| crate::LedgerError::Overflow("bounty"))?;
    state.put_account(report.reporter, acct);
    events.push(Event::Rewarded {
        account: report.reporter,
        amount,
        reason: crate::RewardReason::Bounty,
        report: id,
    });
    Ok(p)
}
