//! Property tests over random transaction sequences: conservation of supply, no negative
//! balance, no slash above what is slashable, deterministic and incremental app hashes, and
//! rejected transactions changing nothing but (where that is the rule) the signer's nonce.

use std::collections::BTreeMap;

use proptest::prelude::*;
use vigil_core::{Amount, Report, SignedTx, Stance, Tx, TxBody};
use vigil_ledger::{Event, Ledger, MemoryStore, SlashReason, app_hash_from_scratch};

use crate::harness::{Net, chain, genesis, key, params, report};

const ACCOUNTS: u8 = 5;

#[derive(Debug, Clone)]
enum Op {
    Transfer { from: u8, to: u8, amount: u64 },
    Bond { who: u8, amount: u64 },
    Unbond { who: u8, amount: u64 },
    Submit { who: u8, report: u8, bond: u64 },
    Attest { who: u8, report: u8, confirm: bool, stake: u64 },
    WrongNonce { who: u8, ahead: bool },
    BadSignature { who: u8 },
}

fn pool() -> Vec<Report> {
    vec![
        report("exploiter", &["0x098B716B8Aaf21512996dC57EB0615e2383E2f96"]),
        report("phishing", &["myetherwa11et.com", "0x42b0b77c"]),
        report("drainer", &["eip155:1:0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D"]),
        report(
            "attacker contract",
            &["codehash:0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"],
        ),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..ACCOUNTS;
    // Amounts in VGL; some exceed what accounts hold, to exercise refusals.
    let amount = prop_oneof![0u64..20, 0u64..700, Just(1_501u64)];
    let who = who.boxed();
    prop_oneof![
        1 => (who.clone(), who.clone(), amount.clone()).prop_map(|(from, to, amount)| Op::Transfer { from, to, amount }),
        1 => (who.clone(), amount.clone()).prop_map(|(who, amount)| Op::Bond { who, amount }),
        1 => (who.clone(), amount.clone()).prop_map(|(who, amount)| Op::Unbond { who, amount }),
        2 => (who.clone(), 0u8..4, 5u64..40).prop_map(|(who, report, bond)| Op::Submit { who, report, bond }),
        // Attestations weighted up, with stakes big enough to reach quorum and settle.
        3 => (who.clone(), 0u8..4, proptest::bool::weighted(0.2), prop_oneof![0u64..20, 100u64..450])
            // Most attesters agree (reports 0-1 are true, 2-3 false), some dissent.
            .prop_map(|(who, report, dissent, stake)| Op::Attest { who, report, confirm: (report < 2) != dissent, stake }),
        1 => (who.clone(), any::<bool>()).prop_map(|(who, ahead)| Op::WrongNonce { who, ahead }),
        1 => who.prop_map(|who| Op::BadSignature { who }),
    ]
}

/// Builds the signed transaction for `op`, with nonces following `nonces` (updated).
fn build(op: &Op, ledger: &Ledger<MemoryStore>, nonces: &mut BTreeMap<u8, u64>) -> SignedTx {
    let reports = pool();
    let (who, body) = match op {
        Op::Transfer { from, to, amount } => {
            (*from, TxBody::Transfer { to: key(*to).account_id(), amount: Amount::vgl(*amount) })
        }
        Op::Bond { who, amount } => (*who, TxBody::Bond { amount: Amount::vgl(*amount) }),
        Op::Unbond { who, amount } => (*who, TxBody::Unbond { amount: Amount::vgl(*amount) }),
        Op::Submit { who, report, bond } => (
            *who,
            TxBody::SubmitReport {
                report: reports[*report as usize].clone(),
                bond: Amount::vgl(*bond),
            },
        ),
        Op::Attest { who, report, confirm, stake } => (
            *who,
            TxBody::Attest {
                report: reports[*report as usize].id(),
                stance: if *confirm { Stance::Confirm } else { Stance::Dispute },
                stake: Amount::vgl(*stake),
            },
        ),
        Op::WrongNonce { who, .. } | Op::BadSignature { who } => {
            (*who, TxBody::Bond { amount: Amount::vgl(1) })
        }
    };
    let k = key(who);
    let next = nonces.entry(who).or_insert_with(|| ledger.next_nonce(&k.account_id()));
    let nonce = match op {
        Op::WrongNonce { ahead: true, .. } => *next + 3,
        Op::WrongNonce { ahead: false, .. } if *next > 0 => *next - 1,
        Op::WrongNonce { .. } => *next + 1,
        _ => {
            *next += 1;
            *next - 1
        }
    };
    let mut tx = Tx { chain_id: chain(), signer: k.account_id(), nonce, body }.sign(&k);
    if matches!(op, Op::BadSignature { .. }) {
        tx.signature.0[0] ^= 0x40;
        *nonces.get_mut(&who).unwrap() -= 1;
    }
    tx
}

/// Random blocks after an opening block that submits every report of the pool, so that
/// attestations meet open reports and verdicts of every kind happen.
fn blocks() -> impl Strategy<Value = Vec<Vec<Op>>> {
    let opening: Vec<Op> = (0..4).map(|i| Op::Submit { who: i, report: i, bond: 20 }).collect();
    proptest::collection::vec(proptest::collection::vec(op(), 0..7), 1..12).prop_map(
        move |mut b| {
            b.insert(0, opening.clone());
            b
        },
    )
}

fn prop_genesis() -> vigil_ledger::Genesis {
    genesis(ACCOUNTS, vigil_ledger::Params { challenge_window: 8, ..params() })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn supply_is_conserved_and_app_hashes_agree(blocks in blocks()) {
        let mut net = Net::with(prop_genesis());
        // A second ledger fed the same blocks, restarted from its store before every block.
        let mut twin = Net::with(prop_genesis());
        let window = prop_genesis().params.challenge_window as usize + 2;
        let trailing = std::iter::repeat_n(Vec::new(), window);
        for ops in blocks.into_iter().chain(trailing) {
            let mut nonces = BTreeMap::new();
            let txs: Vec<SignedTx> = ops.iter().map(|o| build(o, &net.ledger, &mut nonces)).collect();
            let block = net.block_of(txs);
            let before = net.ledger.clone();
            let out = net.ledger.finalize_block(&block).unwrap();
            net.ledger.commit().unwrap();
            // Supply conserved, locks within stake (so no negative free stake).
            prop_assert_eq!(net.ledger.check_invariants(), Ok(()));
            // No slash above what was slashable: a losing attestation loses at most the stake
            // it locked, out of the account's stake; a rejected report at most its bond, which
            // sits in escrow since submission (taken from the liquid balance, so stake the
            // reporter unbonded meanwhile does not shelter it).
            for e in &out.events {
                if let Event::Slashed { account, amount, reason, report } = e {
                    let had = before.state().account(account).and_then(|a| a.slashable()).unwrap_or_default();
                    let limit = match reason {
                        SlashReason::LosingAttestation => net.ledger.state().attestation(report, account).unwrap().stake.min(had),
                        SlashReason::RejectedReport => before.report(report).unwrap().bond,
                        SlashReason::FalseFastPath => had,
                    };
                    prop_assert!(*amount <= limit, "{:?} slashed {:?} of {:?}", reason, amount, limit);
                }
            }
            // Incremental commitment equals a from-scratch one.
            prop_assert_eq!(app_hash_from_scratch(net.ledger.state()).unwrap(), out.app_hash);
            // The twin, reopened from its store, reaches the same app hash.
            let store = twin.ledger.store().clone();
            twin.ledger = Ledger::open(store, &prop_genesis()).unwrap();
            let twin_out = twin.ledger.finalize_block(&block).unwrap();
            twin.ledger.commit().unwrap();
            prop_assert_eq!(twin_out.app_hash, out.app_hash);
            prop_assert_eq!(twin_out.tx_results, out.tx_results);
        }
    }

    #[test]
    fn rejected_transactions_change_nothing_but_the_nonce(setup in blocks(), probe in op()) {
        let mut net = Net::with(prop_genesis());
        for ops in setup {
            let mut nonces = BTreeMap::new();
            let txs = ops.iter().map(|o| build(o, &net.ledger, &mut nonces)).collect();
            net.block(txs);
        }
        let tx = build(&probe, &net.ledger, &mut BTreeMap::new());
        let mut with_tx = net.ledger.clone();
        let mut without = net.ledger.clone();
        let block = net.block_of(vec![tx.clone()]);
        let empty = net.block_of(vec![]);
        let result = with_tx.finalize_block(&block).unwrap().tx_results.remove(0);
        without.finalize_block(&empty).unwrap();
        if result.outcome.is_err() {
            let signer = tx.tx.signer;
            for k in with_tx.state().all_keys() {
                let a = with_tx.state().encoded(&k);
                let b = without.state().encoded(&k);
                if k == vigil_ledger::StateKey::Account(signer) {
                    let mut mine = with_tx.state().account(&signer).cloned().unwrap_or_default();
                    let theirs = without.state().account(&signer).cloned().unwrap_or_default();
                    let bump = u64::from(result.nonce_consumed);
                    prop_assert_eq!(mine.nonce, theirs.nonce + bump);
                    mine.nonce = theirs.nonce;
                    prop_assert_eq!(mine, theirs);
                } else {
                    prop_assert_eq!(a, b, "{:?} changed by a rejected transaction", k);
                }
            }
            prop_assert_eq!(with_tx.state().all_keys().len(), without.state().all_keys().len()
                + usize::from(result.nonce_consumed && without.state().account(&signer).is_none()));
        }
    }
}
