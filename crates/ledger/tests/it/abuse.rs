//! Transaction fees and equivocation evidence (issue 15): spam costs its sender, and a
//! validator that signs two conflicting consensus messages is slashed and leaves the set.

use vigil_core::consensus::{ProposalStatement, VoteStatement};
use vigil_core::{Amount, ContentId, Equivocation, Keypair, SignedStatement, TxBody};
use vigil_ledger::{Event, Params, TxError};

use crate::harness::{Net, chain, genesis, key, params};

fn fee_params() -> Params {
    Params { tx_fee: Amount::vgl(1), tx_fee_per_kib: Amount(500_000), ..params() }
}

fn proposal(k: &Keypair, height: u64, round: u32, block: &[u8]) -> SignedStatement {
    let proposal = ProposalStatement {
        height,
        round,
        pol_round: None,
        value: ContentId::of_bytes(block),
        proposer: k.account_id(),
    };
    let signature = k.sign_raw(&proposal.message(&chain()));
    SignedStatement::Proposal { proposal, signature }
}

fn double_proposal(k: &Keypair, height: u64) -> Box<Equivocation> {
    Box::new(Equivocation {
        first: proposal(k, height, 0, b"block a"),
        second: proposal(k, height, 0, b"block b"),
    })
}

#[test]
fn every_executed_transaction_pays_its_fee_to_the_treasury_success_or_failure() {
    let mut net = Net::with(genesis(3, fee_params()));
    let treasury = net.ledger.state().globals().treasury;
    let before = net.ledger.account(&net.id(0)).unwrap().state.balance;
    let ok = net.tx(0, TxBody::Transfer { to: net.id(1), amount: Amount::vgl(10) });
    let fee = net.ledger.fee_of(&ok).unwrap();
    assert_eq!(fee, Amount(1_500_000), "1 VGL + 0.5 VGL for one started KiB");
    let out = net.block(vec![ok]);
    assert!(out.tx_results[0].outcome.is_ok());
    assert!(
        out.events.iter().any(|e| matches!(e, Event::FeePaid { amount, .. } if *amount == fee))
    );
    let after = net.ledger.account(&net.id(0)).unwrap().state.balance;
    assert_eq!(before.0 - after.0, Amount::vgl(10).0 + fee.0);

    // A failing transaction (attesting an unknown report) still pays and consumes its nonce.
    let failing = net.tx(
        0,
        TxBody::Attest {
            report: ContentId::of_bytes(b"nothing"),
            stance: vigil_core::Stance::Confirm,
            stake: Amount::vgl(1),
        },
    );
    let out = net.block(vec![failing]);
    assert!(matches!(out.tx_results[0].outcome, Err(TxError::UnknownReport { .. })));
    assert!(out.tx_results[0].nonce_consumed);
    let treasury_after = net.ledger.state().globals().treasury;
    assert_eq!(treasury_after.0 - treasury.0, 2 * fee.0, "both fees reached the treasury");
    net.ledger.check_invariants().unwrap();
}

#[test]
fn a_sender_that_cannot_pay_the_fee_is_refused_at_admission_and_not_executed() {
    let mut net = Net::with(genesis(3, fee_params()));
    let broke = Keypair::from_seed(&[99; 32]);
    // Give the new account exactly the transfer amount, nothing for the fee.
    let fund = net.tx(0, TxBody::Transfer { to: broke.account_id(), amount: Amount::vgl(5) });
    net.block(vec![fund]);
    let tx = vigil_core::Tx {
        chain_id: chain(),
        signer: broke.account_id(),
        nonce: 0,
        body: TxBody::Transfer { to: net.id(1), amount: Amount::vgl(5) },
    }
    .sign(&broke);
    assert!(matches!(net.ledger.check_tx(&tx), Err(TxError::FeeUnpaid { .. })));
    // Even if a proposer includes it, the transfer fails; the fee is paid from what is left.
    let out = net.block(vec![tx]);
    assert!(matches!(out.tx_results[0].outcome, Err(TxError::FeeUnpaid { .. })));
    assert!(out.tx_results[0].nonce_consumed);
    assert_eq!(net.ledger.account(&broke.account_id()).unwrap().state.balance.0, 3_500_000);
    net.ledger.check_invariants().unwrap();
}

#[test]
fn max_spend_counts_the_fee_and_what_the_body_takes() {
    let net = Net::with(genesis(3, fee_params()));
    let bond = net.tx(0, TxBody::Bond { amount: Amount::vgl(7) });
    let fee = net.ledger.fee_of(&bond).unwrap();
    assert_eq!(net.ledger.max_spend(&bond).unwrap().0, Amount::vgl(7).0 + fee.0);
    let vote = net.tx(0, TxBody::Unbond { amount: Amount::vgl(7) });
    assert_eq!(net.ledger.max_spend(&vote).unwrap(), net.ledger.fee_of(&vote).unwrap());
}

#[test]
fn equivocation_evidence_slashes_once_pays_the_finder_and_removes_the_validator_next_epoch() {
    let mut net = Net::new(4);
    let offender = key(1);
    net.run_to(2);
    assert!(net.ledger.validator_set().iter().any(|(v, _)| *v == offender.account_id()));
    let slashable = net.ledger.account(&offender.account_id()).unwrap().state.bonded;
    let treasury = net.ledger.state().globals().treasury;
    let finder_before = net.ledger.account(&net.id(2)).unwrap().state.balance;

    let evidence = net.tx(2, TxBody::SubmitEvidence { evidence: double_proposal(&offender, 2) });
    net.ledger.check_tx(&evidence).unwrap();
    let out = net.block(vec![evidence]);
    assert!(out.tx_results[0].outcome.is_ok(), "{:?}", out.tx_results[0]);
    let slashed = slashable.bps(500).unwrap();
    let reward = slashed.bps(1_000).unwrap();
    assert!(out.events.iter().any(|e| matches!(
        e,
        Event::ValidatorSlashed { validator, slashed: s, reward: r, .. }
            if *validator == offender.account_id() && *s == slashed && *r == reward
    )));
    let after = net.ledger.account(&offender.account_id()).unwrap().state.bonded;
    assert_eq!(after.0, slashable.0 - slashed.0);
    assert_eq!(net.ledger.account(&net.id(2)).unwrap().state.balance.0, finder_before.0 + reward.0);
    assert_eq!(
        net.ledger.state().globals().treasury.0,
        treasury.0 + slashed.0 - reward.0,
        "the rest of the slash went to the treasury"
    );

    // The same (or any further) evidence against it is refused: it is no longer a candidate.
    let again = net.tx(3, TxBody::SubmitEvidence { evidence: double_proposal(&offender, 2) });
    assert_eq!(
        net.ledger.check_tx(&again),
        Err(TxError::NotAValidator { account: offender.account_id() })
    );

    // It still validates until the epoch ends (epoch_length 5), then it is gone.
    assert!(net.ledger.validator_set().iter().any(|(v, _)| *v == offender.account_id()));
    net.run_to(5);
    assert!(
        !net.ledger.validator_set().iter().any(|(v, _)| *v == offender.account_id()),
        "{:?}",
        net.ledger.validator_set()
    );
}

#[test]
fn evidence_that_proves_nothing_is_refused_with_the_reason() {
    let mut net = Net::new(4);
    net.run_to(3);
    let v = key(1);
    let same = Box::new(Equivocation {
        first: proposal(&v, 2, 0, b"a"),
        second: proposal(&v, 2, 0, b"a"),
    });
    let tx = net.tx(2, TxBody::SubmitEvidence { evidence: same });
    assert!(
        matches!(net.ledger.check_tx(&tx), Err(TxError::BadEvidence { reason: m }) if m.contains("agree"))
    );

    let vote = |value: &[u8]| {
        let vote = VoteStatement {
            kind: VoteStatement::PREVOTE,
            height: 2,
            round: 0,
            value: Some(ContentId::of_bytes(value)),
            validator: v.account_id(),
        };
        let signature = v.sign_raw(&vote.message(&chain()));
        SignedStatement::Vote { vote, signature }
    };
    let own = net.tx(
        1,
        TxBody::SubmitEvidence {
            evidence: Box::new(Equivocation { first: vote(b"a"), second: vote(b"b") }),
        },
    );
    assert_eq!(net.ledger.check_tx(&own), Err(TxError::SelfEvidence));

    // Not a validator: key 3 is funded and bonded but not a candidate.
    let outsider = net.tx(2, TxBody::SubmitEvidence { evidence: double_proposal(&key(3), 2) });
    assert_eq!(
        net.ledger.check_tx(&outsider),
        Err(TxError::NotAValidator { account: key(3).account_id() })
    );

    // Too old: older than the unbonding delay (2 blocks in the test parameters).
    net.run_to(8);
    let old = net.tx(2, TxBody::SubmitEvidence { evidence: double_proposal(&v, 2) });
    assert!(matches!(net.ledger.check_tx(&old), Err(TxError::EvidenceTooOld { height: 2, .. })));

    // From the future.
    let ahead = net.tx(2, TxBody::SubmitEvidence { evidence: double_proposal(&v, 50) });
    assert!(matches!(net.ledger.check_tx(&ahead), Err(TxError::BadEvidence { .. })));
}
