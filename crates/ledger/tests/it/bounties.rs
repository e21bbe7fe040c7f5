//! Disclosures and recovery bounties through the ledger: the tiers paid on acceptance, a
//! downgrade needing a reason, escalation decided by a binding vote, lapsed disputes, reveals
//! checked against the commitment, Safe Harbor claims with their caps, refusals that change
//! nothing, and a property test: the escrow never pays more than was deposited, supply is
//! conserved and no balance goes negative (the harness checks the invariants after every
//! block).

use proptest::prelude::*;
use vigil_core::disclosure::commitment;
use vigil_core::{
    Amount, B256, BountyProgram, ContentId, ProposalAction, ProtocolSpec, SafeHarbor, Severity,
    SignedTx, TxBody, VoteChoice,
};
use vigil_ledger::{DisclosureStatus, Event, FinalizedBlock, RecoveryStatus, TxError};

use crate::breakers::pid;
use crate::harness::{Net, genesis, params};

const KEY: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
const OWNER: u8 = 0;
const RESEARCHER: u8 = 1;
const SALT: [u8; 32] = [9; 32];
const REPORT: &str = "withdraw() re-enters before the balance is cleared";
/// Blocks the protocol has to answer, and to escalate a downgrade or dispute, in these tests.
const RESPONSE: u64 = 6;
const CHALLENGE: u64 = 4;

fn program() -> BountyProgram {
    BountyProgram {
        recipients: vec![KEY.parse().unwrap()],
        critical_bps: 1_000,
        critical_floor: Amount::vgl(50),
        critical_cap: Amount::vgl(400),
        high: Amount::vgl(40),
        medium: Amount::vgl(10),
        low: Amount::vgl(2),
    }
}

fn harbor(retainable: bool) -> SafeHarbor {
    SafeHarbor {
        bounty_bps: 1_000,
        cap_per_whitehat: Amount::vgl(100),
        cap_total: Amount::vgl(150),
        retainable,
    }
}

fn spec(retainable: bool) -> ProtocolSpec {
    ProtocolSpec {
        bounty: Some(program()),
        safe_harbor: Some(harbor(retainable)),
        ..crate::breakers::spec(1_000)
    }
}

/// Transactions for one block, with consecutive nonces for a signer that appears twice.
fn batch(net: &Net, items: Vec<(u8, TxBody)>) -> Vec<SignedTx> {
    let mut next = std::collections::BTreeMap::new();
    items
        .into_iter()
        .map(|(who, body)| {
            let k = crate::harness::key(who);
            let nonce = next.entry(who).or_insert_with(|| net.ledger.next_nonce(&k.account_id()));
            let tx = vigil_core::Tx {
                chain_id: crate::harness::chain(),
                signer: k.account_id(),
                nonce: *nonce,
                body,
            };
            *nonce += 1;
            tx.sign(&k)
        })
        .collect()
}

fn refusal(block: &FinalizedBlock, i: usize) -> Option<TxError> {
    block.tx_results[i].outcome.clone().err()
}

/// Nine accounts; account 0 registers the protocol with `escrow` VGL.
fn net_with(escrow: u64, retainable: bool) -> Net {
    let p = vigil_ledger::Params {
        disclosure_response_window: RESPONSE,
        disclosure_challenge_window: CHALLENGE,
        ..params()
    };
    let mut net = Net::with(genesis(9, p));
    let b = net.block(vec![net.tx(
        OWNER,
        TxBody::RegisterProtocol { spec: spec(retainable), bounty_deposit: Amount::vgl(escrow) },
    )]);
    assert_eq!(refusal(&b, 0), None);
    net
}

fn disclose_tx(net: &Net, who: u8, report: &str, severity: Severity, at_risk: u64) -> SignedTx {
    net.tx(
        who,
        TxBody::Disclose {
            protocol: pid(),
            commitment: commitment(report, &SALT),
            ciphertext: ContentId::of_bytes(b"ciphertext"),
            severity,
            funds_at_risk: Amount::vgl(at_risk),
            bond: Amount::vgl(10),
        },
    )
}

fn disclose(net: &mut Net, severity: Severity, at_risk: u64) -> u64 {
    let tx = disclose_tx(net, RESEARCHER, REPORT, severity, at_risk);
    let b = net.block(vec![tx]);
    assert_eq!(refusal(&b, 0), None);
    net.ledger.state().next_disclosure_id() - 1
}

fn balance(net: &Net, i: u8) -> u64 {
    net.ledger.state().account(&net.id(i)).unwrap().balance.0
}

fn escrow(net: &Net) -> u64 {
    net.ledger.state().protocol(&pid()).unwrap().bounty_pool.0
}

fn status(net: &Net, id: u64) -> DisclosureStatus {
    net.ledger.state().disclosure(id).unwrap().status
}

/// Votes yes (or no) with four of the nine equal stakes: quorum and threshold are met.
fn decide(net: &mut Net, proposal: u64, choice: VoteChoice) {
    let votes = (2..6).map(|i| net.tx(i, TxBody::Vote { proposal, choice })).collect();
    net.block(votes);
    let p = net.ledger.state().proposal(proposal).unwrap().clone();
    net.run_to(p.voting_ends + 3);
}

fn escalate(net: &mut Net, who: u8, action: ProposalAction) -> Result<u64, TxError> {
    let b = net.block(vec![net.tx(
        who,
        TxBody::Propose { action, description: "pay the claimed tier".into(), not_before: None },
    )]);
    refusal(&b, 0).map_or_else(|| Ok(net.ledger.state().globals().next_proposal - 1), Err)
}

#[test]
fn acceptance_pays_the_tier_from_escrow_and_returns_the_bond() {
    let mut net = net_with(1_000, false);
    let before = balance(&net, RESEARCHER);
    let id = disclose(&mut net, Severity::Critical, 2_000);
    let d = net.ledger.state().disclosure(id).unwrap().clone();
    assert_eq!(d.commitment, commitment(REPORT, &SALT), "only the commitment is on the ledger");
    assert_eq!((d.bond, d.status), (Amount::vgl(10), DisclosureStatus::Open));
    assert_eq!(balance(&net, RESEARCHER), before - Amount::vgl(10).0);

    let b = net.block(vec![net.tx(RESEARCHER, TxBody::DisclosureAccept { disclosure: id })]);
    assert!(matches!(refusal(&b, 0), Some(TxError::NotEntitled { .. })), "only the owner answers");
    let b = net.block(vec![net.tx(OWNER, TxBody::DisclosureAccept { disclosure: id })]);
    assert_eq!(refusal(&b, 0), None);
    // 10% of 2,000 VGL at risk is 200 VGL, between the floor (50) and the cap (400).
    assert_eq!(balance(&net, RESEARCHER), before + Amount::vgl(200).0);
    assert_eq!(escrow(&net), Amount::vgl(800).0);
    assert_eq!(status(&net, id), DisclosureStatus::Accepted);
    let b = net.block(vec![net.tx(OWNER, TxBody::DisclosureAccept { disclosure: id })]);
    assert!(matches!(refusal(&b, 0), Some(TxError::DisclosureState { .. })), "paid once");
    assert_eq!(escrow(&net), Amount::vgl(800).0);
}

#[test]
fn a_payout_never_exceeds_the_escrow_and_top_ups_refill_it() {
    let mut net = net_with(30, false);
    let id = disclose(&mut net, Severity::High, 0);
    let b = net.block(vec![net.tx(OWNER, TxBody::DisclosureAccept { disclosure: id })]);
    assert_eq!(refusal(&b, 0), None);
    let answered = b.events.iter().find_map(|e| match e {
        Event::DisclosureAnswered { paid, shortfall, .. } => Some((*paid, *shortfall)),
        _ => None,
    });
    assert_eq!(answered, Some((Amount::vgl(30), Amount::vgl(10))), "high pays 40; 30 escrowed");
    assert_eq!(escrow(&net), 0);
    let b = net.block(batch(
        &net,
        vec![
            (7, TxBody::FundBounty { protocol: pid(), amount: Amount::vgl(25) }),
            (7, TxBody::FundBounty { protocol: "nobody".parse().unwrap(), amount: Amount(1) }),
        ],
    ));
    assert_eq!(refusal(&b, 0), None);
    assert!(matches!(refusal(&b, 1), Some(TxError::UnknownProtocol { .. })));
    assert_eq!(escrow(&net), Amount::vgl(25).0);
}

#[test]
fn a_downgrade_needs_a_reason_and_an_escalation_is_decided_by_a_binding_vote() {
    let mut net = net_with(1_000, false);
    let before = balance(&net, RESEARCHER);
    let id = disclose(&mut net, Severity::Critical, 2_000);
    let downgrade = |reason: &str| TxBody::DisclosureDowngrade {
        disclosure: id,
        severity: Severity::Medium,
        funds_at_risk: None,
        reason: reason.into(),
    };
    let b = net.block(vec![net.tx(OWNER, downgrade("  "))]);
    assert!(
        matches!(&refusal(&b, 0), Some(TxError::DisclosureShape { reason }) if reason.contains("written reason")),
        "{:?}",
        refusal(&b, 0)
    );
    assert_eq!(status(&net, id), DisclosureStatus::Open, "nothing changed");
    let raise = TxBody::DisclosureDowngrade {
        disclosure: id,
        severity: Severity::Critical,
        funds_at_risk: Some(Amount::vgl(9_000)),
        reason: "more".into(),
    };
    let b = net.block(vec![net.tx(OWNER, raise)]);
    assert!(matches!(refusal(&b, 0), Some(TxError::DisclosureShape { .. })));

    let b = net.block(vec![net.tx(OWNER, downgrade("only reachable by the admin role"))]);
    assert_eq!(refusal(&b, 0), None);
    let d = net.ledger.state().disclosure(id).unwrap().clone();
    assert_eq!(d.status, DisclosureStatus::Downgraded);
    assert_eq!(
        d.reason.as_deref(),
        Some("only reachable by the admin role"),
        "the reason is recorded"
    );
    assert_eq!(d.paid, Amount::vgl(10), "the medium tier is paid at once");
    assert_eq!(balance(&net, RESEARCHER), before + Amount::vgl(10).0, "and the bond returned");

    // Only the researcher escalates, once, within the window; the deposit is the bond.
    let action = ProposalAction::DecideDisclosure { disclosure: id };
    assert!(matches!(escalate(&mut net, 2, action.clone()), Err(TxError::NotEntitled { .. })));
    let proposal = escalate(&mut net, RESEARCHER, action.clone()).unwrap();
    assert_eq!(status(&net, id), DisclosureStatus::Escalated);
    assert!(matches!(escalate(&mut net, RESEARCHER, action), Err(TxError::DisclosureState { .. })));
    decide(&mut net, proposal, VoteChoice::Yes);
    let d = net.ledger.state().disclosure(id).unwrap().clone();
    assert_eq!(d.status, DisclosureStatus::Upheld);
    assert_eq!(d.paid, Amount::vgl(200), "the vote pays the claimed tier less what was paid");
    assert_eq!(escrow(&net), Amount::vgl(800).0);
    // The deposit came back (quorum was reached): the researcher has the tier, nothing else.
    assert_eq!(balance(&net, RESEARCHER), before + Amount::vgl(200).0);
}

#[test]
fn a_dispute_lapses_unescalated_or_stands_when_the_vote_says_no() {
    let mut net = net_with(1_000, false);
    let treasury = |net: &Net| net.ledger.state().globals().treasury.0;
    let id = disclose(&mut net, Severity::High, 0);
    let b = net.block(vec![net.tx(
        OWNER,
        TxBody::DisclosureDispute { disclosure: id, reason: "known issue #12".into() },
    )]);
    assert_eq!(refusal(&b, 0), None);
    let before = treasury(&net);
    let end = net.ledger.state().disclosure(id).unwrap().window_ends.unwrap();
    net.run_to(end);
    let d = net.ledger.state().disclosure(id).unwrap().clone();
    assert_eq!((d.status, d.bond.0), (DisclosureStatus::Lapsed, 0));
    assert_eq!(treasury(&net), before + Amount::vgl(10).0, "the bond went to the treasury");
    assert!(matches!(
        escalate(&mut net, RESEARCHER, ProposalAction::DecideDisclosure { disclosure: id }),
        Err(TxError::DisclosureState { .. })
    ));

    let tx = disclose_tx(&net, RESEARCHER, "second finding", Severity::Low, 0);
    net.block(vec![tx]);
    let id = net.ledger.state().next_disclosure_id() - 1;
    net.block(vec![
        net.tx(OWNER, TxBody::DisclosureDispute { disclosure: id, reason: "out of scope".into() }),
    ]);
    let proposal =
        escalate(&mut net, RESEARCHER, ProposalAction::DecideDisclosure { disclosure: id })
            .unwrap();
    decide(&mut net, proposal, VoteChoice::No);
    let d = net.ledger.state().disclosure(id).unwrap().clone();
    assert_eq!((d.status, d.paid.0, d.bond.0), (DisclosureStatus::Overruled, 0, 0));
    assert_eq!(escrow(&net), Amount::vgl(1_000).0, "nothing was paid");
}

#[test]
fn a_reveal_after_the_deadline_publishes_the_report_and_a_wrong_one_fails() {
    let mut net = net_with(1_000, false);
    let id = disclose(&mut net, Severity::Critical, 2_000);
    let reveal = |report: &str, salt: [u8; 32]| TxBody::DisclosureReveal {
        disclosure: id,
        report: report.into(),
        salt,
    };
    let b = net.block(vec![net.tx(RESEARCHER, reveal(REPORT, SALT))]);
    assert!(
        matches!(&refusal(&b, 0), Some(TxError::DisclosureState { reason, .. }) if reason.contains("until height")),
        "{:?}",
        refusal(&b, 0)
    );
    let deadline = net.ledger.state().disclosure(id).unwrap().deadline;
    net.run_to(deadline);
    let b = net.block(batch(
        &net,
        vec![
            (RESEARCHER, reveal("a different report", SALT)),
            (RESEARCHER, reveal(REPORT, [0; 32])),
            (2, reveal(REPORT, SALT)),
        ],
    ));
    assert_eq!(refusal(&b, 0), Some(TxError::CommitmentMismatch { disclosure: id }));
    assert_eq!(refusal(&b, 1), Some(TxError::CommitmentMismatch { disclosure: id }));
    assert!(matches!(refusal(&b, 2), Some(TxError::NotEntitled { .. })), "reveal by someone else");
    assert_eq!(status(&net, id), DisclosureStatus::Open, "nothing changed");

    let before = balance(&net, RESEARCHER);
    let b = net.block(vec![net.tx(RESEARCHER, reveal(REPORT, SALT))]);
    assert_eq!(refusal(&b, 0), None);
    let d = net.ledger.state().disclosure(id).unwrap().clone();
    assert_eq!((d.status, d.revealed.as_deref()), (DisclosureStatus::Revealed, Some(REPORT)));
    assert_eq!(balance(&net, RESEARCHER), before + Amount::vgl(10).0, "the bond came back");
    let b = net.block(vec![net.tx(OWNER, TxBody::DisclosureAccept { disclosure: id })]);
    assert!(matches!(refusal(&b, 0), Some(TxError::DisclosureState { .. })));
}

#[test]
fn the_first_commitment_has_priority_and_bad_disclosures_change_nothing() {
    let mut net = net_with(1_000, false);
    let first = disclose(&mut net, Severity::High, 0);
    let escrow_before = escrow(&net);
    let info = TxBody::Disclose {
        protocol: pid(),
        commitment: commitment("other", &SALT),
        ciphertext: ContentId::of_bytes(b"x"),
        severity: Severity::Info,
        funds_at_risk: Amount::ZERO,
        bond: Amount::vgl(10),
    };
    let small = TxBody::Disclose {
        protocol: pid(),
        commitment: commitment("other", &SALT),
        ciphertext: ContentId::of_bytes(b"x"),
        severity: Severity::Low,
        funds_at_risk: Amount::ZERO,
        bond: Amount::vgl(1),
    };
    let mut txs = vec![
        disclose_tx(&net, 2, REPORT, Severity::High, 0),
        disclose_tx(&net, OWNER, "mine", Severity::High, 0),
    ];
    txs.extend([net.tx(3, info), net.tx(6, small)]);
    let b = net.block(txs);
    assert_eq!(refusal(&b, 0), Some(TxError::CommitmentTaken { disclosure: first }));
    assert!(matches!(refusal(&b, 1), Some(TxError::NotEntitled { .. })), "not to its own protocol");
    assert!(matches!(refusal(&b, 2), Some(TxError::DisclosureShape { .. })));
    assert!(matches!(refusal(&b, 3), Some(TxError::BondTooSmall { .. })));
    assert_eq!(net.ledger.state().next_disclosure_id(), first + 1, "nothing was recorded");
    assert_eq!(escrow(&net), escrow_before);
}

fn claim_body(recovered: u64, retained: u64, tx: u8) -> TxBody {
    TxBody::RecoveryClaim {
        protocol: pid(),
        recovered: Amount::vgl(recovered),
        retained: Amount::vgl(retained),
        evidence: vec![B256([tx; 32])],
        note: "rescued through the same bug, returned in 0xab…".into(),
    }
}

fn claim(net: &Net, who: u8, recovered: u64, retained: u64, tx: u8) -> SignedTx {
    net.tx(who, claim_body(recovered, retained, tx))
}

#[test]
fn a_confirmed_recovery_pays_its_share_within_the_caps_once() {
    let mut net = net_with(1_000, true);
    let whitehat = 4;
    let before = balance(&net, whitehat);
    // 10% of 600 is 60, of which 20 was kept out of the rescued funds.
    let b = net.block(vec![claim(&net, whitehat, 600, 20, 1)]);
    assert_eq!(refusal(&b, 0), None);
    let id = net.ledger.state().next_recovery_id() - 1;
    let b = net.block(batch(
        &net,
        vec![
            (5, claim_body(600, 0, 1)),
            (whitehat, TxBody::RecoveryConfirm { claim: id }),
            (OWNER, TxBody::RecoveryConfirm { claim: id }),
            (OWNER, TxBody::RecoveryConfirm { claim: id }),
        ],
    ));
    assert_eq!(refusal(&b, 0), Some(TxError::EvidenceClaimed { tx: B256([1; 32]), claim: id }));
    assert!(matches!(refusal(&b, 1), Some(TxError::NotEntitled { .. })));
    assert_eq!(refusal(&b, 2), None);
    assert!(matches!(refusal(&b, 3), Some(TxError::RecoveryState { .. })), "no double payment");
    assert_eq!(balance(&net, whitehat), before + Amount::vgl(40).0);
    let r = net.ledger.state().recovery(id).unwrap().clone();
    assert_eq!(
        (r.status, r.bounty, r.paid),
        (RecoveryStatus::Confirmed, Amount::vgl(60), Amount::vgl(40))
    );

    // The next whitehat's 10% of 5,000 is capped at 100 per whitehat, and at the 90 left of
    // the 150 aggregate.
    let b = net.block(vec![claim(&net, 5, 5_000, 0, 2)]);
    assert_eq!(refusal(&b, 0), None);
    let id = net.ledger.state().next_recovery_id() - 1;
    assert_eq!(net.ledger.state().recovery(id).unwrap().bounty, Amount::vgl(100));
    net.block(vec![net.tx(OWNER, TxBody::RecoveryConfirm { claim: id })]);
    assert_eq!(net.ledger.state().recovery(id).unwrap().paid, Amount::vgl(90));
    let p = net.ledger.state().protocol(&pid()).unwrap().clone();
    assert_eq!(p.recovery_granted, Amount::vgl(150));
    assert_eq!(p.bounty_pool, Amount::vgl(1_000 - 40 - 90));
}

#[test]
fn a_disputed_recovery_goes_to_governance_and_retention_follows_the_terms() {
    let mut net = net_with(1_000, false);
    let b = net.block(vec![claim(&net, 4, 600, 1, 1)]);
    assert_eq!(
        refusal(&b, 0),
        Some(TxError::RetainedTooMuch { retained: Amount::vgl(1), allowed: Amount::ZERO }),
        "everything must be returned first"
    );
    net.block(vec![claim(&net, 4, 600, 0, 1)]);
    let id = net.ledger.state().next_recovery_id() - 1;
    let b =
        net.block(vec![net.tx(OWNER, TxBody::RecoveryDispute { claim: id, reason: "".into() })]);
    assert!(
        matches!(refusal(&b, 0), Some(TxError::DisclosureShape { .. })),
        "a reason is required"
    );
    net.block(vec![net.tx(
        OWNER,
        TxBody::RecoveryDispute {
            claim: id,
            reason: "the funds came back from the attacker".into(),
        },
    )]);
    let proposal = escalate(&mut net, 4, ProposalAction::DecideRecovery { claim: id }).unwrap();
    decide(&mut net, proposal, VoteChoice::Yes);
    let r = net.ledger.state().recovery(id).unwrap().clone();
    assert_eq!((r.status, r.paid), (RecoveryStatus::Upheld, Amount::vgl(60)));
}

#[derive(Clone, Debug)]
enum Op {
    Fund(u64),
    Disclose { severity: Severity, at_risk: u64, salt: u8 },
    Accept(u64),
    Downgrade(u64, Severity),
    Dispute(u64),
    Escalate(u64),
    Vote(u64, bool),
    Claim { recovered: u64, retained: u64, tx: u8 },
    Confirm(u64),
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let severity = proptest::sample::select(vec![
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ]);
    prop_oneof![
        (1u64..200).prop_map(Op::Fund),
        (severity.clone(), 0u64..10_000, any::<u8>())
            .prop_map(|(severity, at_risk, salt)| Op::Disclose { severity, at_risk, salt }),
        (1u64..6).prop_map(Op::Accept),
        ((1u64..6), severity).prop_map(|(d, s)| Op::Downgrade(d, s)),
        (1u64..6).prop_map(Op::Dispute),
        (1u64..6).prop_map(Op::Escalate),
        ((1u64..4), any::<bool>()).prop_map(|(p, yes)| Op::Vote(p, yes)),
        (1u64..5_000, 0u64..200, 0u8..6).prop_map(|(recovered, retained, tx)| Op::Claim {
            recovered,
            retained,
            tx
        }),
        (1u64..6).prop_map(Op::Confirm),
        (1u64..5).prop_map(Op::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever the sequence: the escrow pays out at most what was deposited into it, what it
    /// holds is deposits less payouts, and supply is conserved with no balance negative (the
    /// harness checks the invariants after every block).
    #[test]
    fn the_escrow_never_pays_more_than_was_deposited(
        escrow0 in 0u64..500,
        retainable in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let mut net = net_with(escrow0, retainable);
        let mut events = Vec::new();
        for op in ops {
            let txs = match op {
                Op::Fund(v) => vec![net.tx(7, TxBody::FundBounty { protocol: pid(), amount: Amount::vgl(v) })],
                Op::Disclose { severity, at_risk, salt } => vec![net.tx(RESEARCHER, TxBody::Disclose {
                    protocol: pid(),
                    commitment: commitment(REPORT, &[salt; 32]),
                    ciphertext: ContentId::of_bytes(&[salt]),
                    severity,
                    funds_at_risk: Amount::vgl(at_risk),
                    bond: Amount::vgl(10),
                })],
                Op::Accept(d) => vec![net.tx(OWNER, TxBody::DisclosureAccept { disclosure: d })],
                Op::Downgrade(d, severity) => vec![net.tx(OWNER, TxBody::DisclosureDowngrade {
                    disclosure: d, severity, funds_at_risk: None, reason: "lower".into(),
                })],
                Op::Dispute(d) => vec![net.tx(OWNER, TxBody::DisclosureDispute { disclosure: d, reason: "no".into() })],
                Op::Escalate(d) => vec![net.tx(RESEARCHER, TxBody::Propose {
                    action: ProposalAction::DecideDisclosure { disclosure: d },
                    description: "escalate".into(),
                    not_before: None,
                })],
                Op::Vote(p, yes) => {
                    let choice = if yes { VoteChoice::Yes } else { VoteChoice::No };
                    (2..6).map(|i| net.tx(i, TxBody::Vote { proposal: p, choice })).collect()
                }
                Op::Claim { recovered, retained, tx } => vec![claim(&net, 4, recovered, retained, tx)],
                Op::Confirm(c) => vec![net.tx(OWNER, TxBody::RecoveryConfirm { claim: c })],
                Op::Wait(n) => {
                    let h = net.ledger.height() + n;
                    while net.ledger.height() < h {
                        events.extend(net.block(vec![]).events);
                    }
                    continue;
                }
            };
            events.extend(net.block(txs).events);
        }
        let mut deposited = Amount::vgl(escrow0).0;
        let mut paid = 0u64;
        for e in &events {
            match e {
                Event::BountyFunded { amount, .. } => deposited += amount.0,
                Event::DisclosureAnswered { paid: p, .. }
                | Event::DisclosureDecided { paid: p, .. }
                | Event::RecoverySettled { paid: p, .. } => paid += p.0,
                _ => {}
            }
        }
        prop_assert!(paid <= deposited, "paid {paid} of {deposited}");
        prop_assert_eq!(escrow(&net), deposited - paid);
        let state = net.ledger.state();
        for (_, r) in state.recoveries() {
            prop_assert!(r.paid.0 + r.retained.0 <= r.bounty.0.max(r.retained.0));
        }
        let p = state.protocol(&pid()).unwrap();
        let cap = harbor(retainable).cap_total.0;
        let retained: u64 = state.recoveries().map(|(_, r)| r.retained.0).sum();
        prop_assert!(p.recovery_granted.0 <= cap + retained, "granted beyond the aggregate cap");
    }
}
