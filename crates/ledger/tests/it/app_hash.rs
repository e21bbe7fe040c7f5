//! The app hash after one scenario that crosses every part of the state machine (a protocol
//! registered, a fast-path trip, its report disputed and the monitor slashed, a treasury
//! proposal voted and executed, a breaker reset by proposal, epochs passing), asserted against
//! a recorded value: the same blocks must give the same hash on every node, and a version that
//! changes it changes the protocol (new state fields or parameters) and must say so here.

use vigil_core::{Amount, ProposalAction, Severity, Stance, TxBody, VoteChoice};

use crate::breakers::{exploit_alert, fast_path, pid, registered, vault};
use crate::harness::key;

/// Recorded on 2026-12-04 after issue 19 added disclosure parameters
/// (`disclosure_response_window`, `disclosure_challenge_window`, `min_disclosure_bond`), a
/// protocol's bounty program and Safe Harbor terms to its registration, and
/// `recovery_granted` to its record. Before it:
/// 425e91b1579900018fdbc85bbf6b959db09114bc4a23dfa8a140180b72597f96 (issue 18's detection
/// content in reports and alerts), e0cc860184f1005b5ce4f8f99d9d79d56996160bc480e6053f9fb75adf73e307
/// (issue 15's fee and evidence parameters), and
/// c7edacd47d35a475ed39e8ca81285953440573b6c444ac02c1fdb213c879763c.
const RECORDED: &str = "ff95aefe03f3802f1bf996663af8dc3fd36234799afe8ed359a75fc09438d8f6";

#[test]
fn the_app_hash_of_a_scenario_across_the_state_machine_is_the_recorded_one() {
    let mut net = registered();
    net.block(vec![fast_path(&net, exploit_alert(Severity::Critical, 90, vault()))]);
    let report = *net.ledger.state().reports().next().map(|(id, _)| id).unwrap();
    net.block(vec![
        net.tx(1, TxBody::Attest { report, stance: Stance::Dispute, stake: Amount::vgl(300) }),
        net.tx(2, TxBody::Attest { report, stance: Stance::Dispute, stake: Amount::vgl(300) }),
    ]);
    let to = key(8).account_id();
    let spend = ProposalAction::TreasurySpend { to, amount: Amount::vgl(250) };
    let reset = ProposalAction::BreakerReset { protocol: pid() };
    net.block(vec![
        net.tx(0, TxBody::Propose { action: spend, description: "spend".into(), not_before: None }),
        net.tx(1, TxBody::Propose { action: reset, description: "reset".into(), not_before: None }),
    ]);
    // One vote per account and block (a block's transactions of one sender need their nonces).
    for proposal in [1, 2] {
        let votes = (1..=4u8)
            .map(|who| {
                let choice = if who == 4 { VoteChoice::No } else { VoteChoice::Yes };
                net.tx(who, TxBody::Vote { proposal, choice })
            })
            .collect();
        net.block(votes);
    }
    net.block(vec![net.tx(3, TxBody::Bond { amount: Amount::vgl(10) })]);
    net.run_to(40);
    // The scenario did what it says.
    let state = net.ledger.state();
    assert_eq!(state.report(&report).unwrap().status, vigil_ledger::ReportStatus::Rejected);
    for id in [1, 2] {
        assert_eq!(state.proposal(id).unwrap().status, vigil_ledger::ProposalStatus::Executed);
    }
    assert!(!crate::breakers::breaker(&net).is_tripped(), "reset by the proposal");
    let hash = net.block(vec![]).app_hash;
    assert_eq!(hash.to_string(), RECORDED, "the app hash changed: {hash}");
}
