//! The report → attest → verdict flows of issue 3, with exact figures.

use vigil_core::{Amount, Indicator, Stance, TxBody};
use vigil_ledger::{
    Event, Genesis, Ledger, ReportStatus, RewardReason, SlashReason, StateKey, TxError,
    app_hash_from_scratch,
};

use crate::harness::{Net, genesis, key, params, report};

/// The Ronin bridge exploiter (on the OFAC list).
const RONIN: &str = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";

fn submit(net: &Net, who: u8, r: &vigil_core::Report, bond: u64) -> vigil_core::SignedTx {
    net.tx(who, TxBody::SubmitReport { report: r.clone(), bond: Amount::vgl(bond) })
}

fn attest(
    net: &Net,
    who: u8,
    r: &vigil_core::Report,
    stance: Stance,
    stake: u64,
) -> vigil_core::SignedTx {
    net.tx(who, TxBody::Attest { report: r.id(), stance, stake: Amount::vgl(stake) })
}

fn balance(net: &Net, i: u8) -> Amount {
    net.ledger.account(&net.id(i)).unwrap().state.balance
}

fn bonded(net: &Net, i: u8) -> Amount {
    net.ledger.account(&net.id(i)).unwrap().state.bonded
}

#[test]
fn an_honest_report_confirmed_by_the_majority_pays_its_reporter_and_confirmers() {
    let mut net = Net::new(5);
    let r = report("Ronin bridge exploiter draining funds", &[RONIN]);
    let out = net.block(vec![submit(&net, 0, &r, 10)]);
    assert!(out.tx_results[0].outcome.is_ok());
    assert_eq!(balance(&net, 0), Amount::vgl(990));
    // Two confirmers with 100 VGL each, one disputer with 50. Newcomers' reputation is one
    // half, so 125 of weight is cast: exactly the quorum (5% of 2,500 VGL bonded).
    net.block(vec![
        attest(&net, 1, &r, Stance::Confirm, 100),
        attest(&net, 2, &r, Stance::Confirm, 100),
        attest(&net, 3, &r, Stance::Dispute, 50),
    ]);
    let before_pool = net.ledger.state().globals().reward_pool;
    let before_treasury = net.ledger.state().globals().treasury;
    // Submitted at height 1, window 3: the verdict is at the end of height 4.
    net.run_to(3);
    assert_eq!(net.ledger.report(&r.id()).unwrap().status, ReportStatus::Open);
    let verdict = net.block(vec![]);
    let record = net.ledger.report(&r.id()).unwrap();
    assert_eq!(record.status, ReportStatus::Confirmed);

    // Disputer loses 20% of its 50 VGL: 10 VGL.
    assert!(verdict.events.contains(&Event::Slashed {
        account: net.id(3),
        amount: Amount::vgl(10),
        reason: SlashReason::LosingAttestation,
        report: r.id(),
    }));
    assert_eq!(bonded(&net, 3), Amount::vgl(490));
    // Reporter: bond back + 20% of the 10 slashed + 5 VGL from the reward pool.
    assert_eq!(balance(&net, 0), Amount::vgl(1_000 + 2 + 5));
    assert_eq!(
        net.ledger.state().globals().reward_pool,
        before_pool.checked_sub(Amount::vgl(5)).unwrap()
    );
    // Winners share 60% of 10 = 6 VGL equally (same stake, same reputation).
    assert_eq!(balance(&net, 1), Amount::vgl(1_003));
    assert_eq!(balance(&net, 2), Amount::vgl(1_003));
    // The remaining 2 VGL go to the treasury.
    assert_eq!(
        net.ledger.state().globals().treasury,
        before_treasury.checked_add(Amount::vgl(2)).unwrap()
    );
    let settlement = record.settlement.unwrap();
    assert_eq!(settlement.slashed, Amount::vgl(10));
    assert_eq!(settlement.to_treasury, Amount::vgl(2));
    // Locks are released and reputations move.
    assert_eq!(net.ledger.account(&net.id(1)).unwrap().state.locked, Amount::ZERO);
    assert!(net.ledger.account(&net.id(0)).unwrap().reputation_score > 50);
    assert!(net.ledger.account(&net.id(3)).unwrap().reputation_score < 50);
    // The indicator is now flagged, with the reporter's reputation as confidence.
    let hits = net.ledger.check(&RONIN.to_lowercase().parse::<Indicator>().unwrap());
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].status, ReportStatus::Confirmed);
    assert_eq!(hits[0].confidence, 66);
    assert!(
        verdict
            .events
            .iter()
            .any(|e| matches!(e, Event::Rewarded { reason: RewardReason::ConfirmedReport, .. }))
    );
}

#[test]
fn a_false_report_is_rejected_and_its_bond_slashed() {
    let mut net = Net::new(5);
    let r = report("Uniswap router is malicious", &["0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D"]);
    net.block(vec![submit(&net, 0, &r, 20)]);
    net.block(vec![
        attest(&net, 1, &r, Stance::Dispute, 150),
        attest(&net, 2, &r, Stance::Dispute, 150),
        attest(&net, 3, &r, Stance::Confirm, 10),
    ]);
    net.run_to(4);
    let record = net.ledger.report(&r.id()).unwrap();
    assert_eq!(record.status, ReportStatus::Rejected);
    // The whole 20 VGL bond is slashed, and the confirmer loses 2 VGL: 22 in all.
    assert_eq!(balance(&net, 0), Amount::vgl(980));
    assert_eq!(bonded(&net, 3), Amount::vgl(498));
    assert_eq!(record.settlement.unwrap().slashed, Amount::vgl(22));
    // Disputers share 60% of 22 = 13.2 VGL.
    assert_eq!(balance(&net, 1), Amount(1_006_600_000));
    assert!(net.ledger.account(&net.id(0)).unwrap().reputation_score < 50);
    // Nothing is flagged with confidence.
    let hits = net.ledger.check(&r.indicators[0]);
    assert_eq!(hits[0].status, ReportStatus::Rejected);
    assert_eq!(hits[0].confidence, 0);
}

#[test]
fn an_evenly_split_report_escalates_and_keeps_its_bond_and_locks() {
    let mut net = Net::new(5);
    let r = report("disputed drainer", &["drainer-example.com"]);
    net.block(vec![submit(&net, 0, &r, 10)]);
    net.block(vec![
        attest(&net, 1, &r, Stance::Confirm, 100),
        attest(&net, 2, &r, Stance::Dispute, 100),
    ]);
    net.run_to(4);
    let record = net.ledger.report(&r.id()).unwrap();
    assert_eq!(record.status, ReportStatus::Escalated);
    assert_eq!(record.settlement, None);
    assert_eq!(balance(&net, 0), Amount::vgl(990));
    assert_eq!(net.ledger.account(&net.id(1)).unwrap().state.locked, Amount::vgl(100));
    // Escalated reports stay queryable.
    assert_eq!(net.ledger.check(&r.indicators[0])[0].status, ReportStatus::Escalated);
}

#[test]
fn a_report_without_quorum_escalates() {
    let mut net = Net::new(5);
    let r = report("nobody looked", &["0x42b0b77c"]);
    net.block(vec![submit(&net, 0, &r, 10)]);
    net.run_to(4);
    assert_eq!(net.ledger.report(&r.id()).unwrap().status, ReportStatus::Escalated);
}

#[test]
fn replayed_and_wrong_chain_transactions_are_rejected_with_a_reason() {
    let mut net = Net::new(3);
    let tx = net.tx(0, TxBody::Transfer { to: net.id(1), amount: Amount::vgl(1) });
    net.block(vec![tx.clone()]);
    let err = net.ledger.check_tx(&tx).unwrap_err();
    assert!(matches!(err, TxError::NonceUsed { expected: 1, got: 0, .. }), "{err}");
    assert!(err.to_string().contains("replayed"), "{err}");
    let out = net.block(vec![tx]);
    assert!(matches!(out.tx_results[0].outcome, Err(TxError::NonceUsed { .. })));
    assert!(!out.tx_results[0].nonce_consumed);
    assert_eq!(balance(&net, 1), Amount::vgl(1_001));

    let k = key(0);
    let foreign = vigil_core::Tx {
        chain_id: "vigil-other".parse().unwrap(),
        signer: k.account_id(),
        nonce: net.ledger.next_nonce(&k.account_id()),
        body: TxBody::Bond { amount: Amount::vgl(1) },
    }
    .sign(&k);
    let err = net.ledger.check_tx(&foreign).unwrap_err();
    assert!(err.to_string().contains("vigil-other"), "{err}");
    let mut forged = net.tx(0, TxBody::Bond { amount: Amount::vgl(1) });
    forged.tx.body = TxBody::Bond { amount: Amount::vgl(100) };
    assert!(matches!(net.ledger.check_tx(&forged), Err(TxError::BadSignature { .. })));
}

#[test]
fn attestation_rules() {
    let mut net = Net::new(4);
    let r = report("rules", &["0x42b0b77c"]);
    net.block(vec![submit(&net, 0, &r, 10)]);
    let own = attest(&net, 0, &r, Stance::Confirm, 5);
    assert_eq!(net.ledger.check_tx(&own), Err(TxError::SelfAttestation));
    net.block(vec![attest(&net, 1, &r, Stance::Confirm, 5)]);
    let again = attest(&net, 1, &r, Stance::Dispute, 5);
    assert!(matches!(net.ledger.check_tx(&again), Err(TxError::AlreadyAttested { .. })));
    let too_much = attest(&net, 2, &r, Stance::Confirm, 501);
    assert!(matches!(net.ledger.check_tx(&too_much), Err(TxError::InsufficientStake { .. })));
    let dust =
        net.tx(2, TxBody::Attest { report: r.id(), stance: Stance::Confirm, stake: Amount(1) });
    assert!(matches!(net.ledger.check_tx(&dust), Err(TxError::StakeTooSmall { .. })));
    let dup = submit(&net, 2, &r, 10);
    assert_eq!(net.ledger.check_tx(&dup), Err(TxError::ReportExists { report: r.id() }));
    let cheap = submit(&net, 2, &report("cheap", &["0x12345678"]), 1);
    assert!(matches!(net.ledger.check_tx(&cheap), Err(TxError::BondTooSmall { .. })));
    net.run_to(4);
    let late = attest(&net, 3, &r, Stance::Confirm, 5);
    assert!(matches!(net.ledger.check_tx(&late), Err(TxError::ReportClosed { .. })));
    // Locked stake cannot be unbonded while the report is open.
    let mut net = Net::new(3);
    net.block(vec![submit(&net, 0, &r, 10)]);
    net.block(vec![attest(&net, 1, &r, Stance::Confirm, 500)]);
    let unbond = net.tx(1, TxBody::Unbond { amount: Amount::vgl(1) });
    assert!(matches!(net.ledger.check_tx(&unbond), Err(TxError::InsufficientStake { .. })));
}

#[test]
fn a_failing_transaction_consumes_its_nonce_and_nothing_else() {
    let mut net = Net::new(2);
    let too_much = net.tx(0, TxBody::Transfer { to: net.id(1), amount: Amount::vgl(5_000) });
    let before = net.ledger.account(&net.id(0)).unwrap().state;
    let out = net.block(vec![too_much]);
    assert!(matches!(out.tx_results[0].outcome, Err(TxError::InsufficientBalance { .. })));
    assert!(out.tx_results[0].nonce_consumed);
    let after = net.ledger.account(&net.id(0)).unwrap().state;
    assert_eq!(after.nonce, before.nonce + 1);
    assert_eq!(after.balance, before.balance);
}

#[test]
fn unbonded_stake_stays_slashable_until_released_after_the_delay() {
    let mut net = Net::new(2);
    net.block(vec![net.tx(1, TxBody::Unbond { amount: Amount::vgl(200) })]);
    let a = net.ledger.account(&net.id(1)).unwrap().state;
    assert_eq!(a.bonded, Amount::vgl(300));
    assert_eq!(a.slashable(), Some(Amount::vgl(500)));
    assert_eq!(a.unbonding[0].release_height, 3);
    net.run_to(2);
    assert_eq!(balance(&net, 1), Amount::vgl(1_000));
    let out = net.block(vec![]);
    assert!(
        out.events
            .contains(&Event::UnbondingReleased { account: net.id(1), amount: Amount::vgl(200) })
    );
    let a = net.ledger.account(&net.id(1)).unwrap().state;
    assert_eq!(a.balance, Amount::vgl(1_200));
    assert!(a.unbonding.is_empty());
}

#[test]
fn restart_from_the_store_gives_the_same_state_and_app_hash() {
    let mut net = Net::new(4);
    let r = report("restart", &[RONIN]);
    net.block(vec![submit(&net, 0, &r, 10)]);
    net.block(vec![attest(&net, 1, &r, Stance::Confirm, 100)]);
    let store = net.ledger.store().clone();
    let reopened = Ledger::open(store, &genesis(4, params())).unwrap();
    assert_eq!(reopened.last_commit(), net.ledger.last_commit());
    assert_eq!(reopened.report(&r.id()), net.ledger.report(&r.id()));
    assert_eq!(app_hash_from_scratch(reopened.state()).unwrap(), reopened.last_commit().app_hash);
    // A store for another chain is refused.
    let mut other: Genesis = genesis(4, params());
    other.chain_id = "vigil-elsewhere".parse().unwrap();
    let err = Ledger::open(net.ledger.store().clone(), &other).err().unwrap();
    assert!(err.to_string().contains("vigil-elsewhere"), "{err}");
}

#[test]
fn a_lookup_can_be_proven_against_the_app_hash() {
    let mut net = Net::new(3);
    net.block(vec![net.tx(0, TxBody::Bond { amount: Amount::vgl(7) })]);
    let key = StateKey::Account(net.id(0));
    let (value, proof) = net.ledger.prove(&key).unwrap();
    let value = value.unwrap();
    let root = jmt::RootHash(net.ledger.last_commit().app_hash.0);
    let key_hash = jmt::KeyHash::with::<sha2::Sha256>(vigil_core::encoding::encode(&key));
    proof.verify_existence(root, key_hash, &value).unwrap();
    let account: vigil_ledger::Account = vigil_core::encoding::decode(&value).unwrap();
    assert_eq!(account.bonded, Amount::vgl(507));
    // A tampered value does not verify.
    let mut tampered = value.clone();
    tampered[0] ^= 1;
    assert!(proof.verify_existence(root, key_hash, &tampered).is_err());
}

#[test]
fn blocks_out_of_order_are_refused() {
    let mut net = Net::new(2);
    let mut block = net.block_of(vec![]);
    block.height = 5;
    assert!(net.ledger.finalize_block(&block).is_err());
    let mut block = net.block_of(vec![]);
    block.parent = vigil_core::ContentId([9; 32]);
    assert!(net.ledger.finalize_block(&block).is_err());
    assert!(net.ledger.commit().is_err());
}

#[test]
fn validator_set_follows_bonded_stake_at_epoch_boundaries() {
    let mut net = Net::new(3);
    let initial = net.ledger.validator_set().to_vec();
    assert_eq!(initial.len(), 2);
    net.block(vec![net.tx(1, TxBody::Bond { amount: Amount::vgl(100) })]);
    assert_eq!(net.ledger.validator_set(), initial.as_slice(), "changes wait for the epoch end");
    net.run_to(5);
    let set = net.ledger.validator_set();
    assert_eq!(set[0], (net.id(1), Amount::vgl(600).0));
    assert_eq!(net.ledger.state().globals().validators_since, 6);
}

#[test]
fn genesis_toml_errors_name_the_field() {
    let err = Genesis::from_toml("chain_id = \"vigil-x\"\nbogus = 1\n").unwrap_err();
    assert!(err.to_string().contains("bogus"), "{err}");
    let err =
        Genesis::from_toml("chain_id = \"vigil-x\"\n[params]\nchallenge_window = 0\n").unwrap_err();
    assert!(err.to_string().contains("challenge_window"), "{err}");
    let g = Genesis::from_toml(
        "chain_id = \"vigil-x\"\ntreasury = \"100 VGL\"\n[[accounts]]\naccount = \"0000000000000000000000000000000000000000000000000000000000000000\"\n",
    );
    assert!(g.is_err(), "the all-zero key is not a valid Ed25519 key");
    let text = genesis(2, params()).to_toml();
    assert_eq!(Genesis::from_toml(&text).unwrap(), genesis(2, params()));
}
