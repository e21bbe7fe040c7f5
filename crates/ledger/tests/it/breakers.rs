//! Protocols, guardians and circuit breakers; the fast path; cost of corruption.

use vigil_core::{
    Alert, AlertKind, Amount, BreakerPolicy, EvmAddress, EvmChainId, OnChainAction, ProtocolId,
    ProtocolSpec, Severity, Signed, Stance, TxBody, TxRef,
};
use vigil_ledger::{
    BreakerState, Event, ReportOrigin, ReportStatus, ResetBy, SlashReason, TripReason, TxError,
};

use crate::harness::{Net, chain, key};

pub const VAULT: &str = "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9";
pub const GUARDIANS: [u8; 3] = [5, 6, 7];
pub const MONITOR: u8 = 8;

pub fn vault() -> EvmAddress {
    VAULT.parse().unwrap()
}

pub fn pid() -> ProtocolId {
    "lendingvault".parse().unwrap()
}

pub fn spec(protected: u64) -> ProtocolSpec {
    ProtocolSpec {
        id: pid(),
        name: "Lending Vault".into(),
        chain: EvmChainId(31337),
        contracts: vec![vault()],
        guardians: GUARDIANS.iter().map(|g| key(*g).account_id()).collect(),
        threshold: 2,
        protected_value: Amount::vgl(protected),
        policy: BreakerPolicy {
            min_severity: Severity::High,
            min_confidence: 60,
            monitors: vec![key(MONITOR).account_id()],
            action: OnChainAction::pausable(vault()),
        },
        bounty: None,
        safe_harbor: None,
    }
}

/// A network of 9 accounts with the vault registered by account 0.
pub fn registered() -> Net {
    let mut net = Net::new(9);
    let out =
        net.block(vec![net.tx(
            0,
            TxBody::RegisterProtocol { spec: spec(1_000), bounty_deposit: Amount::vgl(100) },
        )]);
    assert!(out.tx_results[0].outcome.is_ok(), "{:?}", out.tx_results[0]);
    net
}

pub fn breaker(net: &Net) -> BreakerState {
    net.ledger.state().protocol(&pid()).unwrap().breaker.clone()
}

pub fn exploit_alert(severity: Severity, confidence: u8, to: EvmAddress) -> Alert {
    Alert {
        detector: "flash-loan-exploit".into(),
        severity,
        kind: AlertKind::Exploit,
        confidence,
        tx: TxRef {
            chain: EvmChainId(31337),
            hash: vigil_core::B256([0xab; 32]),
            from: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".parse().unwrap(),
            to: Some(to),
            block: None,
        },
        addresses: vec![to],
        indicators: vec![],
        labels: vec!["flash-loan".into()],
        description: "flash loan and a large outflow from the vault".into(),
        time: 1_700_000_000,
        metadata: Default::default(),
        detection: Vec::new(),
    }
}

#[test]
fn one_guardian_trips_one_cannot_reset_two_can() {
    let mut net = registered();
    let outsider = net.tx(1, TxBody::TripBreaker { protocol: pid(), reason: "x".into() });
    assert!(matches!(net.ledger.check_tx(&outsider), Err(TxError::NotGuardian { .. })));
    let out = net.block(vec![
        net.tx(5, TxBody::TripBreaker { protocol: pid(), reason: "drain seen".into() }),
    ]);
    assert!(matches!(
        breaker(&net),
        BreakerState::Tripped { reason: TripReason::Guardian { .. }, .. }
    ));
    assert!(out.events.iter().any(|e| matches!(e, Event::BreakerTripped { action, .. } if action.calldata == vec![0x84, 0x56, 0xcb, 0x59])));
    // One guardian approves: still tripped; the same guardian again is refused.
    net.block(vec![net.tx(6, TxBody::ApproveReset { protocol: pid() })]);
    assert!(matches!(breaker(&net), BreakerState::Tripped { .. }));
    let again = net.tx(6, TxBody::ApproveReset { protocol: pid() });
    assert!(matches!(net.ledger.check_tx(&again), Err(TxError::AlreadyApproved { .. })));
    let outsider = net.tx(2, TxBody::ApproveReset { protocol: pid() });
    assert!(matches!(net.ledger.check_tx(&outsider), Err(TxError::NotGuardian { .. })));
    // A second guardian re-arms it.
    let out = net.block(vec![net.tx(7, TxBody::ApproveReset { protocol: pid() })]);
    assert_eq!(breaker(&net), BreakerState::Armed);
    assert!(out.events.iter().any(|e| matches!(e, Event::BreakerReset { by: ResetBy::Guardians { guardians }, .. } if guardians.len() == 2)));
    // Approvals do not carry over to the next trip.
    net.block(vec![net.tx(5, TxBody::TripBreaker { protocol: pid(), reason: "again".into() })]);
    net.block(vec![net.tx(5, TxBody::ApproveReset { protocol: pid() })]);
    assert!(breaker(&net).is_tripped());
}

pub fn fast_path(net: &Net, alert: Alert) -> vigil_core::SignedTx {
    let signed = Signed::sign(alert, chain(), &key(MONITOR));
    net.tx(MONITOR, TxBody::FastPathTrip { protocol: pid(), alert: Box::new(signed) })
}

#[test]
fn the_fast_path_checks_monitor_policy_and_target() {
    let net = registered();
    let good = exploit_alert(Severity::Critical, 90, vault());
    assert_eq!(net.ledger.check_tx(&fast_path(&net, good.clone())), Ok(()));
    let low = fast_path(&net, exploit_alert(Severity::Medium, 90, vault()));
    assert!(matches!(net.ledger.check_tx(&low), Err(TxError::AlertBelowPolicy { .. })));
    let unsure = fast_path(&net, exploit_alert(Severity::Critical, 10, vault()));
    assert!(matches!(net.ledger.check_tx(&unsure), Err(TxError::AlertBelowPolicy { .. })));
    let elsewhere = fast_path(&net, exploit_alert(Severity::Critical, 90, EvmAddress([9; 20])));
    assert!(matches!(net.ledger.check_tx(&elsewhere), Err(TxError::AlertBelowPolicy { .. })));
    // An alert signed by someone who is not a monitor.
    let stranger = Signed::sign(good.clone(), chain(), &key(1));
    let tx = net.tx(1, TxBody::FastPathTrip { protocol: pid(), alert: Box::new(stranger) });
    assert!(matches!(net.ledger.check_tx(&tx), Err(TxError::NotMonitor { .. })));
    // A monitor's alert relayed by someone else.
    let relayed = Signed::sign(good.clone(), chain(), &key(MONITOR));
    let tx = net.tx(1, TxBody::FastPathTrip { protocol: pid(), alert: Box::new(relayed) });
    assert_eq!(net.ledger.check_tx(&tx), Err(TxError::AlertSenderMismatch));
    // An alert signed for another network.
    let foreign = Signed::sign(good, "vigil-other".parse().unwrap(), &key(MONITOR));
    let tx = net.tx(MONITOR, TxBody::FastPathTrip { protocol: pid(), alert: Box::new(foreign) });
    assert!(matches!(net.ledger.check_tx(&tx), Err(TxError::BadSignature { .. })));
}

#[test]
fn a_fast_path_trip_opens_a_report_and_a_false_one_slashes_the_monitor() {
    let mut net = registered();
    let out = net.block(vec![fast_path(&net, exploit_alert(Severity::Critical, 90, vault()))]);
    assert!(out.tx_results[0].outcome.is_ok(), "{:?}", out.tx_results[0]);
    let BreakerState::Tripped { reason: TripReason::FastPath { report, .. }, by, .. } =
        breaker(&net)
    else {
        panic!("not tripped by the fast path: {:?}", breaker(&net));
    };
    assert_eq!(by, key(MONITOR).account_id());
    let record = net.ledger.report(&report).unwrap().clone();
    assert!(matches!(record.origin, ReportOrigin::FastPath { .. }));
    // The attacker EOA and the tx are indicators; the protocol's own vault is not.
    let indicators: Vec<String> =
        record.report.indicators.iter().map(ToString::to_string).collect();
    assert!(indicators.iter().any(|i| i.contains("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")));
    assert!(!indicators.iter().any(|i| i.contains(VAULT)));
    // The crowd disputes it: the monitor loses its report bond and 10% of its stake.
    net.block(vec![
        net.tx(1, TxBody::Attest { report, stance: Stance::Dispute, stake: Amount::vgl(300) }),
        net.tx(2, TxBody::Attest { report, stance: Stance::Dispute, stake: Amount::vgl(300) }),
    ]);
    let mut false_slash = None;
    for _ in 0..4 {
        for e in net.block(vec![]).events {
            if let Event::Slashed { account, amount, reason: SlashReason::FalseFastPath, .. } = e {
                false_slash = Some((account, amount));
            }
        }
    }
    assert_eq!(net.ledger.report(&report).unwrap().status, ReportStatus::Rejected);
    assert_eq!(false_slash, Some((key(MONITOR).account_id(), Amount::vgl(50))));
    assert_eq!(
        net.ledger.account(&key(MONITOR).account_id()).unwrap().state.bonded,
        Amount::vgl(450)
    );
}

#[test]
fn a_confirmed_report_that_meets_the_policy_trips_the_breaker() {
    let mut net = registered();
    let mut report = crate::harness::report(
        "vault drained via oracle manipulation",
        &["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"],
    );
    report.affected_protocols = vec!["lendingvault".into()];
    report.severity = Severity::Critical;
    // Give the reporter a track record so its confidence reaches the policy's 60.
    net.block(vec![
        net.tx(3, TxBody::SubmitReport { report: report.clone(), bond: Amount::vgl(10) }),
    ]);
    net.block(vec![
        net.tx(
            1,
            TxBody::Attest {
                report: report.id(),
                stance: Stance::Confirm,
                stake: Amount::vgl(400),
            },
        ),
        net.tx(
            2,
            TxBody::Attest {
                report: report.id(),
                stance: Stance::Confirm,
                stake: Amount::vgl(400),
            },
        ),
    ]);
    net.run_to(5);
    assert_eq!(net.ledger.report(&report.id()).unwrap().status, ReportStatus::Confirmed);
    // A newcomer's reputation after one confirmed report is 66: above the policy's 60.
    assert!(matches!(
        breaker(&net),
        BreakerState::Tripped { reason: TripReason::ConfirmedReport { .. }, .. }
    ));
}

#[test]
fn cost_of_corruption_on_known_numbers_and_the_stability_boundary() {
    // Guardians bond 500 VGL each (harness genesis); M = 2, so the guardian path costs 1,000.
    // 9 accounts × 500 = 4,500 VGL bonded; quorum 33.4% unopposed: X ≥ 0.334·4500/0.666.
    let net = registered();
    let s = net.ledger.security(&pid()).unwrap();
    assert_eq!(s.guardian_path_cost, Amount::vgl(1_000));
    assert_eq!(s.total_bonded, Amount::vgl(4_500));
    let unopposed = (3_340u128 * 4_500_000_000).div_ceil(6_660) as u64;
    assert_eq!(s.governance_cost_unopposed, Amount(unopposed));
    let opposed = (6_667u128 * 4_500_000_000).div_ceil(3_333) as u64;
    assert_eq!(s.governance_cost_opposed, Amount(opposed));
    assert_eq!(s.cost_of_corruption, Amount::vgl(1_000));
    // Protected value 1,000: the cost does not exceed it, so not stable; 999.999999 is.
    assert!(!s.stable);
    // γ = 1,000 / 1,000 − 1 = 0: no loss bound holds.
    assert_eq!(s.margin_bps, Some(0));
    assert_eq!(s.loss_bound(Amount::vgl(10)), None);
    let mut net = Net::new(9);
    let mut cheaper = spec(0);
    cheaper.protected_value = Amount(Amount::vgl(1_000).0 - 1);
    net.block(vec![
        net.tx(0, TxBody::RegisterProtocol { spec: cheaper, bounty_deposit: Amount::ZERO }),
    ]);
    let s = net.ledger.security(&pid()).unwrap();
    assert!(s.stable);
    // γ = 1,000 / 999.999999 − 1 ≈ 1e-9: positive, rounds down to 0 bps; the bound is huge
    // but finite: ψ·cost / (cost − value) = 10 VGL · 1,000 VGL / 1 unit.
    assert_eq!(s.margin_bps, Some(0));
    assert_eq!(s.loss_bound(Amount::vgl(10)), Some(Amount(10_000_000 * 1_000_000_000)));
    // More guardian stake raises the guardian path until governance is the cheaper way in.
    net.block(vec![
        net.tx(5, TxBody::Bond { amount: Amount::vgl(900) }),
        net.tx(6, TxBody::Bond { amount: Amount::vgl(900) }),
        net.tx(7, TxBody::Bond { amount: Amount::vgl(900) }),
    ]);
    let s = net.ledger.security(&pid()).unwrap();
    assert_eq!(s.guardian_path_cost, Amount::vgl(2_800));
    assert_eq!(s.cost_of_corruption, s.governance_cost_unopposed.min(s.guardian_path_cost));
    // Cost 2,800 against 999.999999: γ ≈ 1.8 and a shock ψ loses at most (1 + 1/γ)·ψ.
    let cost = s.cost_of_corruption.0;
    let value = Amount::vgl(1_000).0 - 1;
    assert_eq!(s.margin_bps, Some(((cost - value) as i128 * 10_000 / value as i128) as i64));
    let psi = Amount::vgl(100);
    let bound = s.loss_bound(psi).unwrap();
    assert_eq!(bound.0, (psi.0 as u128 * cost as u128).div_ceil((cost - value) as u128) as u64);
    assert!(bound > psi && bound.0 < psi.0 * 2, "1 + 1/γ lies between 1 and 2 for γ > 1");
}

#[test]
fn registration_errors_name_the_problem() {
    let net = registered();
    let dup = net.tx(1, TxBody::RegisterProtocol { spec: spec(1), bounty_deposit: Amount::ZERO });
    assert!(matches!(net.ledger.check_tx(&dup), Err(TxError::ProtocolExists { .. })));
    let mut bad = spec(1);
    bad.id = "other".parse().unwrap();
    bad.threshold = 4;
    let tx = net.tx(1, TxBody::RegisterProtocol { spec: bad, bounty_deposit: Amount::ZERO });
    let err = net.ledger.check_tx(&tx).unwrap_err();
    assert!(err.to_string().contains("threshold"), "{err}");
}

#[test]
fn a_confirmed_vulnerability_is_paid_from_the_bounty_pool_by_severity() {
    let mut net = registered();
    let mut report = crate::harness::report("reentrancy in withdraw()", &[VAULT]);
    report.category = vigil_core::Category::Vulnerability;
    report.severity = Severity::High;
    report.affected_protocols = vec!["lendingvault".into()];
    net.block(vec![
        net.tx(3, TxBody::SubmitReport { report: report.clone(), bond: Amount::vgl(10) }),
    ]);
    net.block(vec![net.tx(
        1,
        TxBody::Attest { report: report.id(), stance: Stance::Confirm, stake: Amount::vgl(500) },
    )]);
    let mut paid = None;
    for _ in 0..4 {
        for e in net.block(vec![]).events {
            if let Event::Rewarded { amount, reason: vigil_ledger::RewardReason::Bounty, .. } = e {
                paid = Some(amount);
            }
        }
    }
    // High severity earns 25% of the 100 VGL pool.
    assert_eq!(paid, Some(Amount::vgl(25)));
    assert_eq!(net.ledger.state().protocol(&pid()).unwrap().bounty_pool, Amount::vgl(75));
}
