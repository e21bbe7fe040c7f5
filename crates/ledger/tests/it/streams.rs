//! Audit streams through the ledger: accrual per block, claims, pause and restart, close with
//! refund, debt beyond the deposit and its void, refusals that change nothing, and a property
//! test over random operations: a stream never pays more than was deposited, supply is
//! conserved (checked after every block by the harness) and no balance goes negative.

use proptest::prelude::*;
use vigil_core::{Amount, TxBody};
use vigil_ledger::{StreamStatus, TxError};

use crate::harness::Net;

/// The refusal of the `i`-th transaction of the last block, if it was refused.
fn refusal(block: &vigil_ledger::FinalizedBlock, i: usize) -> Option<TxError> {
    block.tx_results[i].outcome.clone().err()
}

fn open(net: &mut Net, rate: u64, deposit: u64) -> u64 {
    let recipient = net.id(1);
    let b = net.block(vec![net.tx(
        0,
        TxBody::OpenStream { recipient, rate: Amount::vgl(rate), deposit: Amount::vgl(deposit) },
    )]);
    assert_eq!(refusal(&b, 0), None);
    net.ledger.state().next_stream_id() - 1
}

fn balance(net: &Net, i: u8) -> Amount {
    net.ledger.state().account(&net.id(i)).unwrap().balance
}

#[test]
fn a_stream_accrues_per_block_pays_claims_pauses_restarts_and_refunds_on_close() {
    let mut net = Net::new(3);
    let sender_before = balance(&net, 0);
    let id = open(&mut net, 2, 100);
    let opened = net.ledger.height();
    let s = net.ledger.state().stream(id).unwrap().clone();
    assert_eq!((s.balance, s.status), (Amount::vgl(100), StreamStatus::Streaming));
    net.run_to(opened + 5);
    let s = net.ledger.state().stream(id).unwrap();
    assert_eq!(s.debt_at(net.ledger.height()), Amount::vgl(10), "2 VGL per block for 5 blocks");

    // The claim lands in the next block: 6 blocks accrued by then.
    let recipient_before = balance(&net, 1);
    let fee = net.ledger.params().tx_fee;
    let b = net.block(vec![net.tx(1, TxBody::StreamClaim { stream: id })]);
    assert_eq!(refusal(&b, 0), None);
    let paid = Amount::vgl(12);
    assert_eq!(balance(&net, 1), Amount(recipient_before.0 + paid.0 - fee.0));
    let s = net.ledger.state().stream(id).unwrap().clone();
    assert_eq!((s.balance, s.withdrawn), (Amount::vgl(88), paid));

    // Paused: nothing accrues; restarted at a new rate.
    let b = net.block(vec![net.tx(0, TxBody::StreamPause { stream: id })]);
    assert_eq!(refusal(&b, 0), None);
    let paused_debt = net.ledger.state().stream(id).unwrap().debt_at(net.ledger.height());
    assert_eq!(paused_debt, Amount::vgl(2));
    net.run_to(net.ledger.height() + 10);
    let s = net.ledger.state().stream(id).unwrap();
    assert_eq!(s.debt_at(net.ledger.height()), paused_debt, "no accrual while paused");
    let b = net.block(vec![net.tx(1, TxBody::StreamPause { stream: id })]);
    assert!(matches!(refusal(&b, 0), Some(TxError::NotStreamParty { .. })), "only the sender");
    let b = net
        .block(vec![net.tx(0, TxBody::StreamRestart { stream: id, rate: Some(Amount::vgl(5)) })]);
    assert_eq!(refusal(&b, 0), None);
    net.run_to(net.ledger.height() + 3);
    let s = net.ledger.state().stream(id).unwrap();
    assert_eq!(s.debt_at(net.ledger.height()), Amount::vgl(2 + 15));

    // Closed: the sender gets back the deposit beyond the debt; the debt stays claimable.
    let b = net.block(vec![net.tx(0, TxBody::StreamClose { stream: id })]);
    assert_eq!(refusal(&b, 0), None);
    let s = net.ledger.state().stream(id).unwrap().clone();
    assert_eq!(s.status, StreamStatus::Closed);
    let owed = Amount::vgl(2 + 20);
    assert_eq!(s.balance, owed, "what is owed stays in the stream");
    net.run_to(net.ledger.height() + 4);
    assert_eq!(net.ledger.state().stream(id).unwrap().debt_at(net.ledger.height()), owed);
    let b = net.block(vec![net.tx(1, TxBody::StreamClaim { stream: id })]);
    assert_eq!(refusal(&b, 0), None);
    let s = net.ledger.state().stream(id).unwrap().clone();
    assert_eq!((s.balance, s.withdrawn), (Amount::ZERO, Amount(paid.0 + owed.0)));
    // The sender paid exactly what the recipient withdrew (and its fees).
    let fees = Amount(fee.0 * 4);
    assert_eq!(balance(&net, 0), Amount(sender_before.0 - s.withdrawn.0 - fees.0));
    let b = net.block(vec![net.tx(1, TxBody::StreamClaim { stream: id })]);
    assert!(matches!(refusal(&b, 0), Some(TxError::StreamEmpty { .. })), "a double claim");
    let b = net.block(vec![net.tx(0, TxBody::StreamTopUp { stream: id, amount: Amount::vgl(1) })]);
    assert!(matches!(refusal(&b, 0), Some(TxError::StreamState { .. })), "closed");
}

#[test]
fn debt_beyond_the_deposit_is_tracked_paid_after_a_top_up_and_can_be_voided() {
    let mut net = Net::new(3);
    let id = open(&mut net, 10, 30);
    let opened = net.ledger.height();
    net.run_to(opened + 5);
    let h = net.ledger.height();
    let s = net.ledger.state().stream(id).unwrap().clone();
    assert_eq!((s.withdrawable_at(h), s.uncovered_at(h)), (Amount::vgl(30), Amount::vgl(20)));
    // A top-up covers part of the debt; the claim takes everything the deposit covers.
    let b = net.block(vec![
        net.tx(0, TxBody::StreamTopUp { stream: id, amount: Amount::vgl(15) }),
        net.tx(1, TxBody::StreamClaim { stream: id }),
    ]);
    assert_eq!((refusal(&b, 0), refusal(&b, 1)), (None, None));
    let h = net.ledger.height();
    let s = net.ledger.state().stream(id).unwrap().clone();
    assert_eq!((s.withdrawn, s.balance), (Amount::vgl(45), Amount::ZERO));
    assert_eq!(s.uncovered_at(h), Amount::vgl(15), "60 accrued, 45 paid");
    // A stranger cannot void; the recipient can, and the stream pauses.
    let b = net.block(vec![net.tx(2, TxBody::StreamVoid { stream: id })]);
    assert!(matches!(refusal(&b, 0), Some(TxError::NotStreamParty { .. })));
    let b = net.block(vec![net.tx(1, TxBody::StreamVoid { stream: id })]);
    assert_eq!(refusal(&b, 0), None);
    let h = net.ledger.height();
    let s = net.ledger.state().stream(id).unwrap().clone();
    assert_eq!((s.status, s.debt_at(h)), (StreamStatus::Paused, Amount::ZERO));
    let b = net.block(vec![net.tx(1, TxBody::StreamVoid { stream: id })]);
    assert!(matches!(refusal(&b, 0), Some(TxError::StreamEmpty { .. })), "nothing left to void");
}

#[test]
fn bad_stream_transactions_are_refused_with_the_reason_and_change_nothing() {
    let mut net = Net::new(3);
    let recipient = net.id(1);
    let too_much = Amount::vgl(1_000_000);
    let cases = [
        TxBody::OpenStream { recipient, rate: Amount::ZERO, deposit: Amount::vgl(1) },
        TxBody::OpenStream { recipient, rate: Amount::vgl(1), deposit: too_much },
        TxBody::OpenStream { recipient: net.id(0), rate: Amount::vgl(1), deposit: Amount::vgl(1) },
        TxBody::StreamClaim { stream: 7 },
    ];
    let mut refused = Vec::new();
    for body in cases {
        let b = net.block(vec![net.tx(0, body)]);
        refused.push(refusal(&b, 0));
    }
    assert!(matches!(refused[0], Some(TxError::ZeroAmount)), "{refused:?}");
    assert!(matches!(refused[1], Some(TxError::InsufficientBalance { .. })), "{refused:?}");
    assert!(matches!(refused[2], Some(TxError::SelfTransfer)), "{refused:?}");
    assert!(matches!(refused[3], Some(TxError::UnknownStream { stream: 7 })), "{refused:?}");
    assert_eq!(net.ledger.state().streams().count(), 0);
    let id = open(&mut net, 1, 5);
    let b = net.block(vec![net.tx(0, TxBody::StreamRestart { stream: id, rate: None })]);
    let why = refusal(&b, 0).unwrap();
    assert!(why.to_string().contains("only a paused stream can be restarted"), "{why}");
}

#[derive(Debug, Clone)]
enum Op {
    Open { rate: u64, deposit: u64 },
    TopUp { stream: u64, amount: u64 },
    Pause { stream: u64 },
    Restart { stream: u64, rate: Option<u64> },
    Close { stream: u64 },
    Claim { stream: u64 },
    Void { stream: u64, by_sender: bool },
    Wait { blocks: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    let stream = 1..5u64;
    prop_oneof![
        (1..50u64, 0..400u64).prop_map(|(rate, deposit)| Op::Open { rate, deposit }),
        (stream.clone(), 1..300u64).prop_map(|(stream, amount)| Op::TopUp { stream, amount }),
        stream.clone().prop_map(|stream| Op::Pause { stream }),
        (stream.clone(), proptest::option::of(1..50u64))
            .prop_map(|(stream, rate)| Op::Restart { stream, rate }),
        stream.clone().prop_map(|stream| Op::Close { stream }),
        stream.clone().prop_map(|stream| Op::Claim { stream }),
        (stream, any::<bool>()).prop_map(|(stream, by_sender)| Op::Void { stream, by_sender }),
        (1..8u64).prop_map(|blocks| Op::Wait { blocks }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever the sequence: every stream's withdrawals never exceed its deposits, its balance
    /// is deposits less withdrawals and refunds, and supply is conserved (the harness checks the
    /// invariants after every block).
    #[test]
    fn streams_never_pay_more_than_was_deposited(ops in proptest::collection::vec(op(), 1..40)) {
        let mut net = Net::new(3);
        let recipient = net.id(1);
        let v = Amount::vgl;
        let mut events = Vec::new();
        for op in ops {
            let tx = match op {
                Op::Open { rate, deposit } => net.tx(0, TxBody::OpenStream { recipient, rate: v(rate), deposit: v(deposit) }),
                Op::TopUp { stream, amount } => net.tx(0, TxBody::StreamTopUp { stream, amount: v(amount) }),
                Op::Pause { stream } => net.tx(0, TxBody::StreamPause { stream }),
                Op::Restart { stream, rate } => net.tx(0, TxBody::StreamRestart { stream, rate: rate.map(v) }),
                Op::Close { stream } => net.tx(0, TxBody::StreamClose { stream }),
                Op::Claim { stream } => net.tx(1, TxBody::StreamClaim { stream }),
                Op::Void { stream, by_sender } => net.tx(if by_sender { 0 } else { 1 }, TxBody::StreamVoid { stream }),
                Op::Wait { blocks } => {
                    net.run_to(net.ledger.height() + blocks);
                    continue;
                }
            };
            events.extend(net.block(vec![tx]).events);
        }
        // Deposits, refunds and withdrawals per stream, from the events of every block.
        let mut deposited = std::collections::BTreeMap::<u64, u64>::new();
        let mut out = std::collections::BTreeMap::<u64, u64>::new();
        {
            for e in events {
                match e {
                    vigil_ledger::Event::StreamOpened { stream, deposit, .. } => *deposited.entry(stream).or_default() += deposit.0,
                    vigil_ledger::Event::StreamToppedUp { stream, amount } => *deposited.entry(stream).or_default() += amount.0,
                    vigil_ledger::Event::StreamClaimed { stream, amount } => *out.entry(stream).or_default() += amount.0,
                    vigil_ledger::Event::StreamClosed { stream, refund } => *out.entry(stream).or_default() += refund.0,
                    _ => {}
                }
            }
        }
        for (id, s) in net.ledger.state().streams() {
            let d = deposited.get(id).copied().unwrap_or(0);
            let o = out.get(id).copied().unwrap_or(0);
            prop_assert!(s.withdrawn.0 <= d, "stream {id} paid {} of {d} deposited", s.withdrawn.0);
            prop_assert_eq!(s.balance.0, d - o, "stream {} balance", id);
        }
    }
}
