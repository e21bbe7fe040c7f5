//! Audit streams: open-ended payment streams in the manner of Sablier Flow. A protocol (any
//! account) streams `rate` per block to an auditor from a deposit; what has accrued is debt,
//! and the recipient withdraws what the deposit covers at any time. The sender tops up, pauses,
//! restarts (at a new rate if it likes) or closes — a close refunds the deposit beyond what is
//! owed, which stays claimable. Debt beyond the deposit is tracked, and either party can void
//! it (the stream pauses). An auditor who missed a critical bug in audited code is slashed the
//! usual way, by a `slash` proposal.
//!
//! Money only moves between the sender's balance, the stream's balance and the recipient's
//! balance: a stream never pays more than was deposited into it.

use vigil_core::{AccountId, Amount};

use crate::effects::{Effects, account, add, sub_balance};
use crate::error::TxError;
use crate::events::Event;
use crate::state::{State, StreamRecord, StreamStatus};

fn status_name(s: StreamStatus) -> &'static str {
    match s {
        StreamStatus::Streaming => "streaming",
        StreamStatus::Paused => "paused",
        StreamStatus::Closed => "closed",
    }
}

fn load(state: &State, stream: u64) -> Result<StreamRecord, TxError> {
    state.stream(stream).cloned().ok_or(TxError::UnknownStream { stream })
}

fn only(stream: u64, signer: AccountId, allowed: &[AccountId], role: &str) -> Result<(), TxError> {
    if allowed.contains(&signer) {
        Ok(())
    } else {
        Err(TxError::NotStreamParty { stream, account: signer, role: role.into() })
    }
}

fn refuse(stream: u64, s: &StreamRecord, reason: &str) -> TxError {
    TxError::StreamState { stream, status: status_name(s.status).into(), reason: reason.into() }
}

/// `OpenStream`: moves `deposit` from the signer into a new stream to `recipient`.
pub(crate) fn open(
    state: &State,
    height: u64,
    signer: AccountId,
    recipient: AccountId,
    rate: Amount,
    deposit: Amount,
) -> Result<Effects, TxError> {
    if recipient == signer {
        return Err(TxError::SelfTransfer);
    }
    let mut sender = account(state, &signer);
    sender.balance = sub_balance(sender.balance, deposit)?;
    let id = state.next_stream_id();
    let record = StreamRecord {
        sender: signer,
        recipient,
        rate,
        balance: deposit,
        snapshot_debt: Amount::ZERO,
        snapshot_height: height,
        status: StreamStatus::Streaming,
        opened_at: height,
        withdrawn: Amount::ZERO,
    };
    Ok(Effects {
        accounts: vec![(signer, sender)],
        streams: vec![(id, record)],
        events: vec![Event::StreamOpened { stream: id, sender: signer, recipient, rate, deposit }],
        ..Effects::default()
    })
}

/// `StreamTopUp`: the sender adds `amount` to the deposit.
pub(crate) fn top_up(
    state: &State,
    signer: AccountId,
    stream: u64,
    amount: Amount,
) -> Result<Effects, TxError> {
    let mut s = load(state, stream)?;
    only(stream, signer, &[s.sender], "the sender")?;
    if s.status == StreamStatus::Closed {
        return Err(refuse(stream, &s, "a closed stream takes no deposits"));
    }
    let mut sender = account(state, &signer);
    sender.balance = sub_balance(sender.balance, amount)?;
    s.balance = add(s.balance, amount)?;
    Ok(Effects {
        accounts: vec![(signer, sender)],
        streams: vec![(stream, s)],
        events: vec![Event::StreamToppedUp { stream, amount }],
        ..Effects::default()
    })
}

/// `StreamPause`: accrual stops; the debt so far stays.
pub(crate) fn pause(
    state: &State,
    height: u64,
    signer: AccountId,
    stream: u64,
) -> Result<Effects, TxError> {
    let s = load(state, stream)?;
    only(stream, signer, &[s.sender], "the sender")?;
    if s.status != StreamStatus::Streaming {
        return Err(refuse(stream, &s, "only a streaming stream can be paused"));
    }
    let s = StreamRecord { status: StreamStatus::Paused, ..s.snapshot(height) };
    Ok(Effects {
        streams: vec![(stream, s)],
        events: vec![Event::StreamPaused { stream }],
        ..Effects::default()
    })
}

/// `StreamRestart`: a paused stream accrues again from this block, at `rate` if given.
pub(crate) fn restart(
    state: &State,
    height: u64,
    signer: AccountId,
    stream: u64,
    rate: Option<Amount>,
) -> Result<Effects, TxError> {
    let s = load(state, stream)?;
    only(stream, signer, &[s.sender], "the sender")?;
    if s.status != StreamStatus::Paused {
        return Err(refuse(stream, &s, "only a paused stream can be restarted"));
    }
    let rate = rate.unwrap_or(s.rate);
    let s = StreamRecord { status: StreamStatus::Streaming, rate, snapshot_height: height, ..s };
    Ok(Effects {
        streams: vec![(stream, s)],
        events: vec![Event::StreamRestarted { stream, rate }],
        ..Effects::default()
    })
}

/// `StreamClose`: accrual stops for good and the deposit beyond the debt goes back to the
/// sender; the debt the deposit covers stays claimable.
pub(crate) fn close(
    state: &State,
    height: u64,
    signer: AccountId,
    stream: u64,
) -> Result<Effects, TxError> {
    let s = load(state, stream)?;
    only(stream, signer, &[s.sender], "the sender")?;
    if s.status == StreamStatus::Closed {
        return Err(refuse(stream, &s, "it is closed already"));
    }
    let s = s.snapshot(height);
    let refund = s.refundable_at(height);
    let mut sender = account(state, &signer);
    sender.balance = add(sender.balance, refund)?;
    let balance = sub_balance(s.balance, refund)?;
    let s = StreamRecord { status: StreamStatus::Closed, balance, ..s };
    Ok(Effects {
        accounts: vec![(signer, sender)],
        streams: vec![(stream, s)],
        events: vec![Event::StreamClosed { stream, refund }],
        ..Effects::default()
    })
}

/// `StreamClaim`: the recipient withdraws everything the deposit covers of the debt.
pub(crate) fn claim(
    state: &State,
    height: u64,
    signer: AccountId,
    stream: u64,
) -> Result<Effects, TxError> {
    let s = load(state, stream)?;
    only(stream, signer, &[s.recipient], "the recipient")?;
    let s = s.snapshot(height);
    let amount = s.withdrawable_at(height);
    if amount.is_zero() {
        return Err(TxError::StreamEmpty { stream, what: "claim".into() });
    }
    let mut recipient = account(state, &signer);
    recipient.balance = add(recipient.balance, amount)?;
    let s = StreamRecord {
        balance: sub_balance(s.balance, amount)?,
        snapshot_debt: sub_balance(s.snapshot_debt, amount)?,
        withdrawn: add(s.withdrawn, amount)?,
        ..s
    };
    Ok(Effects {
        accounts: vec![(signer, recipient)],
        streams: vec![(stream, s)],
        events: vec![Event::StreamClaimed { stream, amount }],
        ..Effects::default()
    })
}

/// `StreamVoid`: the debt the deposit does not cover is forfeited and the stream pauses (a
/// closed one stays closed).
pub(crate) fn void(
    state: &State,
    height: u64,
    signer: AccountId,
    stream: u64,
) -> Result<Effects, TxError> {
    let s = load(state, stream)?;
    only(stream, signer, &[s.sender, s.recipient], "the sender or the recipient")?;
    let s = s.snapshot(height);
    let forfeited = s.uncovered_at(height);
    if forfeited.is_zero() {
        return Err(TxError::StreamEmpty {
            stream,
            what: "void (the deposit covers the debt)".into(),
        });
    }
    let status =
        if s.status == StreamStatus::Closed { StreamStatus::Closed } else { StreamStatus::Paused };
    let s = StreamRecord { snapshot_debt: sub_balance(s.snapshot_debt, forfeited)?, status, ..s };
    Ok(Effects {
        streams: vec![(stream, s)],
        events: vec![Event::StreamVoided { stream, forfeited }],
        ..Effects::default()
    })
}
