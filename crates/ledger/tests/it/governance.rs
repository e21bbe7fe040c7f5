//! Governance: quorum, threshold, timelock, execution, and the breaker-reset property.

use proptest::prelude::*;
use vigil_core::{Amount, ProposalAction, TxBody, VoteChoice};
use vigil_ledger::{BreakerState, Event, Params, ProposalStatus, ReportStatus, ResetBy, TxError};

use crate::breakers::{GUARDIANS, breaker, pid, registered};
use crate::harness::{Net, key};

fn propose(
    net: &Net,
    who: u8,
    action: ProposalAction,
    not_before: Option<u64>,
) -> vigil_core::SignedTx {
    net.tx(who, TxBody::Propose { action, description: "test proposal".into(), not_before })
}

fn vote(net: &Net, who: u8, proposal: u64, choice: VoteChoice) -> vigil_core::SignedTx {
    net.tx(who, TxBody::Vote { proposal, choice })
}

fn status(net: &Net, id: u64) -> ProposalStatus {
    net.ledger.state().proposal(id).unwrap().status
}

#[test]
fn a_proposal_without_quorum_fails_and_its_deposit_goes_to_the_treasury() {
    let mut net = Net::new(9);
    let treasury = net.ledger.state().globals().treasury;
    let to = key(1).account_id();
    net.block(vec![propose(
        &net,
        0,
        ProposalAction::TreasurySpend { to, amount: Amount::vgl(5) },
        None,
    )]);
    // One of nine equal stakes is 11%, below the 33.4% quorum.
    net.block(vec![vote(&net, 1, 1, VoteChoice::Yes)]);
    net.run_to(4);
    assert_eq!(status(&net, 1), ProposalStatus::Rejected);
    let expected = treasury.checked_add(Amount::vgl(100)).unwrap();
    assert_eq!(net.ledger.state().globals().treasury, expected, "deposit forfeited");
}

#[test]
fn a_proposal_meeting_quorum_and_threshold_executes_after_the_timelock() {
    let mut net = Net::new(9);
    let to = key(8).account_id();
    let before = net.ledger.account(&to).unwrap().state.balance;
    net.block(vec![propose(
        &net,
        0,
        ProposalAction::TreasurySpend { to, amount: Amount::vgl(250) },
        None,
    )]);
    net.block(vec![
        vote(&net, 1, 1, VoteChoice::Yes),
        vote(&net, 2, 1, VoteChoice::Yes),
        vote(&net, 3, 1, VoteChoice::Yes),
        vote(&net, 4, 1, VoteChoice::No),
    ]);
    // Submitted at 1, voting ends at 3, timelock 1: executes at height 4, not before.
    net.run_to(3);
    assert_eq!(status(&net, 1), ProposalStatus::Passed);
    assert_eq!(net.ledger.account(&to).unwrap().state.balance, before);
    let out = net.block(vec![]);
    assert_eq!(status(&net, 1), ProposalStatus::Executed);
    assert!(
        out.events.iter().any(
            |e| matches!(e, Event::TreasurySpent { amount, .. } if *amount == Amount::vgl(250))
        )
    );
    assert_eq!(
        net.ledger.account(&to).unwrap().state.balance,
        before.checked_add(Amount::vgl(250)).unwrap()
    );
    // Deposit returned to the proposer.
    assert_eq!(net.ledger.account(&key(0).account_id()).unwrap().state.balance, Amount::vgl(1_000));
}

#[test]
fn yes_below_the_threshold_does_not_pass() {
    let mut net = Net::new(9);
    let to = key(8).account_id();
    net.block(vec![propose(
        &net,
        0,
        ProposalAction::TreasurySpend { to, amount: Amount::vgl(1) },
        None,
    )]);
    // 3 yes : 2 no = 60% < 66.67%.
    net.block(
        (1..=5)
            .map(|i| vote(&net, i, 1, if i <= 3 { VoteChoice::Yes } else { VoteChoice::No }))
            .collect(),
    );
    net.run_to(4);
    assert_eq!(status(&net, 1), ProposalStatus::Rejected);
    let again = vote(&net, 6, 1, VoteChoice::Yes);
    assert!(net.ledger.check_tx(&again).is_err(), "voting is closed");
}

#[test]
fn a_breaker_reset_by_proposal_works() {
    let mut net = registered();
    net.block(vec![net.tx(5, TxBody::TripBreaker { protocol: pid(), reason: "paused".into() })]);
    assert!(breaker(&net).is_tripped());
    net.block(vec![propose(&net, 0, ProposalAction::BreakerReset { protocol: pid() }, None)]);
    net.block((1..=4).map(|i| vote(&net, i, 1, VoteChoice::Yes)).collect());
    let mut reset = false;
    for _ in 0..3 {
        reset |= net.block(vec![]).events.iter().any(|e| {
            matches!(e, Event::BreakerReset { by: ResetBy::Proposal { proposal: 1 }, .. })
        });
    }
    assert!(reset);
    assert_eq!(breaker(&net), BreakerState::Armed);
}

#[test]
fn a_parameter_change_takes_effect_at_the_stated_height() {
    let mut net = Net::new(9);
    let new = Params { min_report_bond: Amount::vgl(25), ..net.ledger.params().clone() };
    let encoded = vigil_core::encoding::encode(&new);
    net.block(vec![propose(&net, 0, ProposalAction::ParameterChange { params: encoded }, Some(8))]);
    net.block((1..=4).map(|i| vote(&net, i, 1, VoteChoice::Yes)).collect());
    net.run_to(7);
    assert_eq!(status(&net, 1), ProposalStatus::Passed);
    assert_eq!(net.ledger.params().min_report_bond, Amount::vgl(10), "not before height 8");
    net.block(vec![]);
    assert_eq!(status(&net, 1), ProposalStatus::Executed);
    assert_eq!(net.ledger.params().min_report_bond, Amount::vgl(25));
    // An invalid parameter set is refused at submission.
    let bad = Params { verdict_threshold_bps: 4_000, ..new };
    let tx = propose(
        &net,
        1,
        ProposalAction::ParameterChange { params: vigil_core::encoding::encode(&bad) },
        None,
    );
    let err = net.ledger.check_tx(&tx).unwrap_err();
    assert!(err.to_string().contains("verdict_threshold_bps"), "{err}");
    let epoch = Params { epoch_length: 7, ..net.ledger.params().clone() };
    let tx = propose(
        &net,
        1,
        ProposalAction::ParameterChange { params: vigil_core::encoding::encode(&epoch) },
        None,
    );
    assert!(net.ledger.check_tx(&tx).unwrap_err().to_string().contains("epoch_length"));
}

#[test]
fn proposals_that_could_not_have_an_effect_are_refused_with_the_reason() {
    let mut net = registered();
    // Resetting an armed breaker.
    let reset = propose(&net, 0, ProposalAction::BreakerReset { protocol: pid() }, None);
    assert_eq!(net.ledger.check_tx(&reset).unwrap_err(), TxError::NotTripped { protocol: pid() });
    // The parameters in force, proposed again.
    let same = vigil_core::encoding::encode(net.ledger.params());
    let tx = propose(&net, 0, ProposalAction::ParameterChange { params: same }, None);
    assert_eq!(net.ledger.check_tx(&tx).unwrap_err(), TxError::ParamsUnchanged);
    // Resolving an open report, then a confirmed one.
    let report =
        crate::harness::report("a drainer", &["0x098B716B8Aaf21512996dC57EB0615e2383E2f96"]);
    let id = report.id();
    net.block(vec![net.tx(1, TxBody::SubmitReport { report, bond: Amount::vgl(10) })]);
    let resolve =
        propose(&net, 0, ProposalAction::ResolveReport { report: id, confirm: true }, None);
    let err = net.ledger.check_tx(&resolve).unwrap_err();
    assert_eq!(err, TxError::ReportNotEscalated { report: id, status: ReportStatus::Open });
    assert!(err.to_string().contains("governance decides only escalated reports"), "{err}");
    // A refused proposal committed in a block fails and takes no deposit.
    let before = net.ledger.account(&key(0).account_id()).unwrap().state.balance;
    let out = net.block(vec![reset]);
    assert!(out.tx_results[0].outcome.is_err());
    assert_eq!(net.ledger.account(&key(0).account_id()).unwrap().state.balance, before);
    assert_eq!(net.ledger.state().globals().next_proposal, 1);
}

#[test]
fn a_parameter_change_is_measured_against_the_set_it_replaced() {
    let mut net = Net::new(9);
    let genesis = net.ledger.params().clone();
    let first = Params { min_report_bond: Amount::vgl(25), ..genesis.clone() };
    let second = Params { timelock: 3, ..first.clone() };
    for (proposal, params) in [(1u64, &first), (2, &second)] {
        let encoded = vigil_core::encoding::encode(params);
        net.block(vec![propose(
            &net,
            0,
            ProposalAction::ParameterChange { params: encoded },
            None,
        )]);
        assert_eq!(net.ledger.params_before(proposal).as_ref(), Some(net.ledger.params()));
        net.block((1..=4).map(|i| vote(&net, i, proposal, VoteChoice::Yes)).collect());
        for _ in 0..4 {
            net.block(vec![]);
        }
        assert_eq!(status(&net, proposal), ProposalStatus::Executed);
    }
    assert_eq!(net.ledger.params(), &second);
    assert_eq!(net.ledger.params_before(1), Some(genesis.clone()));
    assert_eq!(net.ledger.params_before(2), Some(first.clone()));
    let shown = net.ledger.params_before(2).unwrap().changes_to(&second);
    assert_eq!(shown.len(), 1);
    assert_eq!(
        format!("{} {} {}", shown[0].name, shown[0].from, shown[0].to),
        "timelock 1 block 3 blocks"
    );
    assert_eq!(net.ledger.params_before(9), None);
}

#[test]
fn a_slash_proposal_takes_at_most_what_is_slashable() {
    let mut net = Net::new(9);
    let target = key(8).account_id();
    net.block(vec![propose(
        &net,
        0,
        ProposalAction::Slash { account: target, amount: Amount::vgl(10_000) },
        None,
    )]);
    net.block((1..=4).map(|i| vote(&net, i, 1, VoteChoice::Yes)).collect());
    net.run_to(5);
    assert_eq!(status(&net, 1), ProposalStatus::Executed);
    let a = net.ledger.account(&target).unwrap().state;
    assert_eq!(a.bonded, Amount::ZERO, "all 500 bonded taken, no more");
    assert_eq!(a.balance, Amount::vgl(1_000), "liquid balance is not slashable");
}

/// How each of the nine accounts votes in a round.
#[derive(Debug, Clone, Copy)]
enum Ballot {
    Yes,
    No,
    Abstain,
    Silent,
}

fn ballot() -> impl Strategy<Value = Ballot> {
    prop_oneof![Just(Ballot::Yes), Just(Ballot::No), Just(Ballot::Abstain), Just(Ballot::Silent)]
}

/// Whether votes of nine equal stakes (500 VGL each, 4,500 bonded) pass: turnout ≥ 33.4%
/// quorum and yes ≥ 66.67% of yes + no. Computed here independently of the ledger.
fn passes(ballots: &[Ballot]) -> bool {
    let count = |b: fn(&Ballot) -> bool| ballots.iter().filter(|x| b(x)).count() as u128;
    let (yes, no, abstain) = (
        count(|b| matches!(b, Ballot::Yes)),
        count(|b| matches!(b, Ballot::No)),
        count(|b| matches!(b, Ballot::Abstain)),
    );
    let unit = 500_000_000u128;
    let turnout = (yes + no + abstain) * unit;
    let quorum = (4_500_000_000u128 * 3_340).div_ceil(10_000);
    turnout > 0 && turnout >= quorum && yes > 0 && yes * unit * 10_000 >= (yes + no) * unit * 6_667
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A tripped breaker is re-armed exactly when M distinct guardians approve or a reset
    /// proposal gathers quorum and the governance threshold: so no sequence of transactions by
    /// fewer than M guardians and with less than the threshold resets it.
    #[test]
    fn only_m_guardians_or_a_passing_vote_reset_a_tripped_breaker(
        rounds in proptest::collection::vec(
            (proptest::collection::vec(any::<bool>(), 3), proptest::collection::vec(ballot(), 9)),
            1..5,
        ),
    ) {
        let mut net = registered();
        // Distinct guardians that approved resetting the current trip (approvals accumulate
        // until the breaker is re-armed).
        let mut approved = std::collections::BTreeSet::new();
        for (approvers, ballots) in rounds {
            if !breaker(&net).is_tripped() {
                net.block(vec![net.tx(GUARDIANS[0], TxBody::TripBreaker { protocol: pid(), reason: "paused".into() })]);
                approved.clear();
            }
            prop_assert!(breaker(&net).is_tripped());
            let proposal = net.ledger.state().globals().next_proposal;
            let mut txs: Vec<_> = GUARDIANS
                .iter()
                .zip(&approvers)
                .filter(|(_, approve)| **approve)
                .map(|(g, _)| net.tx(*g, TxBody::ApproveReset { protocol: pid() }))
                .collect();
            txs.push(propose(&net, 0, ProposalAction::BreakerReset { protocol: pid() }, None));
            net.block(txs);
            let votes = ballots
                .iter()
                .enumerate()
                .filter_map(|(i, b)| {
                    let choice = match b {
                        Ballot::Yes => VoteChoice::Yes,
                        Ballot::No => VoteChoice::No,
                        Ballot::Abstain => VoteChoice::Abstain,
                        Ballot::Silent => return None,
                    };
                    Some(vote(&net, i as u8, proposal, choice))
                })
                .collect();
            net.block(votes);
            // Voting ends two blocks after the proposal, then a one-block timelock.
            for _ in 0..3 {
                net.block(vec![]);
            }
            approved.extend(approvers.iter().enumerate().filter(|(_, a)| **a).map(|(i, _)| i));
            let guardians_reset = approved.len() >= 2;
            let expected_armed = guardians_reset || passes(&ballots);
            prop_assert_eq!(
                !breaker(&net).is_tripped(),
                expected_armed,
                "approvers {:?} ballots {:?} proposal {:?}",
                approvers,
                ballots,
                net.ledger.state().proposal(proposal)
            );
        }
    }
}
