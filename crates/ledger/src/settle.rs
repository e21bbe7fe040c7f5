//! End-of-block work: verdicts for reports whose challenge window closed, release of unbonded
//! stake, and validator-set changes at epoch boundaries.
//!
//! Verdict rule (DESIGN.md): with `cast = confirm + dispute` weight and `quorum` a fraction of
//! all bonded stake, a report is Confirmed when `cast ≥ quorum` and `confirm ≥ threshold × cast`,
//! Rejected when `cast ≥ quorum` and `dispute ≥ threshold × cast`, and Escalated to governance
//! otherwise. Losers are slashed; the reporter (when right) and the winning attesters are paid
//! from the slashed funds (and the reporter from the reward pool); the rest goes to the treasury.

use vigil_core::{AccountId, Amount, ReportId, Stance};

use crate::error::LedgerError;
use crate::events::{Event, RewardReason, SlashReason};
use crate::params::{BPS, Params};
use crate::state::{
    AttestationOutcome, ReportOrigin, ReportStatus, Settlement, State, Tally, Unbonding,
};

fn overflow(what: &'static str) -> LedgerError {
    LedgerError::Overflow(what)
}

fn add(a: Amount, b: Amount, what: &'static str) -> Result<Amount, LedgerError> {
    a.checked_add(b).ok_or(overflow(what))
}

fn sub(a: Amount, b: Amount, what: &'static str) -> Result<Amount, LedgerError> {
    a.checked_sub(b).ok_or(overflow(what))
}

/// `value × num / den` in u128, rounded down.
fn mul_div(value: u64, num: u64, den: u64) -> u64 {
    let wide = u128::from(value).saturating_mul(u128::from(num)).checked_div(u128::from(den));
    wide.and_then(|w| u64::try_from(w).ok()).unwrap_or(0)
}

/// Whether `side` weight reaches `threshold_bps` of `cast`.
fn reaches(side: u64, cast: u64, threshold_bps: u32) -> bool {
    u128::from(side).saturating_mul(u128::from(BPS))
        >= u128::from(cast).saturating_mul(u128::from(threshold_bps))
}

/// The weight that must be cast on a report for a verdict when `total_bonded` is bonded: the
/// `attestation_quorum_bps` share of it, rounded down.
pub fn attestation_quorum(total_bonded: Amount, params: &Params) -> u64 {
    mul_div(total_bonded.0, u64::from(params.attestation_quorum_bps), u64::from(BPS))
}

/// The verdict the rule gives a tally: Confirmed or Rejected when some weight was cast, it
/// reaches `quorum` and one side has `threshold_bps` of it; Escalated otherwise.
pub fn verdict_of(tally: &Tally, quorum: u64, threshold_bps: u32) -> ReportStatus {
    let Some(cast) = tally.confirm_weight.checked_add(tally.dispute_weight) else {
        return ReportStatus::Escalated;
    };
    let decided = cast > 0 && cast >= quorum;
    if decided && reaches(tally.confirm_weight, cast, threshold_bps) {
        ReportStatus::Confirmed
    } else if decided && reaches(tally.dispute_weight, cast, threshold_bps) {
        ReportStatus::Rejected
    } else {
        ReportStatus::Escalated
    }
}

/// Settles a report whose window closed (or, with `forced`, an escalated report that governance
/// decided).
pub(crate) fn settle_report(
    state: &mut State,
    height: u64,
    id: ReportId,
    forced: Option<ReportStatus>,
    events: &mut Vec<Event>,
) -> Result<(), LedgerError> {
    let Some(mut record) = state.report(&id).cloned() else {
        return Err(LedgerError::Corrupt(format!("deadline index names unknown report {id}")));
    };
    let params = state.params().clone();
    let tally = record.tally;
    tally.confirm_weight.checked_add(tally.dispute_weight).ok_or(overflow("tally"))?;
    let quorum = attestation_quorum(state.globals().total_bonded, &params);
    let status = forced.unwrap_or_else(|| verdict_of(&tally, quorum, params.verdict_threshold_bps));
    events.push(Event::Verdict {
        report: id,
        status,
        confirm_weight: tally.confirm_weight,
        dispute_weight: tally.dispute_weight,
        quorum,
    });
    record.status = status;
    if status == ReportStatus::Escalated {
        // Bond and locks stay until governance decides.
        state.put_report(id, record);
        return Ok(());
    }
    let winning = if status == ReportStatus::Confirmed { Stance::Confirm } else { Stance::Dispute };
    let attestations: Vec<(AccountId, Stance, Amount, u64)> =
        state.attestations_on(&id).map(|(who, a)| (*who, a.stance, a.stake, a.weight)).collect();

    // 1. Slash the losers and unlock everyone.
    let mut slashed = Amount::ZERO;
    let mut slashes = Vec::new();
    for (who, stance, stake, _) in &attestations {
        let mut acct = state.account(who).cloned().unwrap_or_default();
        acct.locked = sub(acct.locked, *stake, "unlock")?;
        let mut cut = Amount::ZERO;
        if *stance != winning {
            cut = stake.bps(params.attester_slash_bps).ok_or(overflow("slash"))?;
            acct.bonded = sub(acct.bonded, cut, "slash")?;
            slashed = add(slashed, cut, "slashed")?;
            events.push(Event::Slashed {
                account: *who,
                amount: cut,
                reason: SlashReason::LosingAttestation,
                report: id,
            });
        }
        acct.reputation.record(height, &params, *stance == winning);
        state.put_account(*who, acct);
        slashes.push(cut);
    }
    let total_slashed_stake = slashed;
    let mut globals = state.globals().clone();
    globals.total_bonded = sub(globals.total_bonded, total_slashed_stake, "total bonded")?;

    // 2. The reporter: bond back (confirmed) or slashed (rejected); reputation.
    let mut reporter = state.account(&record.reporter).cloned().unwrap_or_default();
    let mut reporter_reward = Amount::ZERO;
    if status == ReportStatus::Confirmed {
        reporter.balance = add(reporter.balance, record.bond, "bond return")?;
        reporter_reward = slashed.bps(params.reporter_reward_bps).ok_or(overflow("reward"))?;
        let from_pool = params.confirmed_report_reward.min(globals.reward_pool);
        globals.reward_pool = sub(globals.reward_pool, from_pool, "reward pool")?;
        reporter_reward = add(reporter_reward, from_pool, "reward")?;
        reporter.balance = add(reporter.balance, reporter_reward, "reward")?;
        reporter.reputation.record(height, &params, true);
        if !reporter_reward.is_zero() {
            events.push(Event::Rewarded {
                account: record.reporter,
                amount: reporter_reward,
                reason: RewardReason::ConfirmedReport,
                report: id,
            });
        }
    } else {
        let cut = record.bond.bps(params.reporter_slash_bps).ok_or(overflow("bond slash"))?;
        let back = sub(record.bond, cut, "bond")?;
        reporter.balance = add(reporter.balance, back, "bond return")?;
        slashed = add(slashed, cut, "slashed")?;
        reporter.reputation.record(height, &params, false);
        if !cut.is_zero() {
            events.push(Event::Slashed {
                account: record.reporter,
                amount: cut,
                reason: SlashReason::RejectedReport,
                report: id,
            });
        }
    }
    state.put_account(record.reporter, reporter);

    // 3. Winners share their part of the slashed funds by weight.
    let winners_pot = slashed.bps(params.winner_reward_bps).ok_or(overflow("pot"))?;
    let winning_weight = match winning {
        Stance::Confirm => tally.confirm_weight,
        Stance::Dispute => tally.dispute_weight,
    };
    let mut winners_paid = Amount::ZERO;
    for ((who, stance, _, weight), cut) in attestations.iter().zip(&slashes) {
        let won = *stance == winning;
        let reward = if won && winning_weight > 0 {
            Amount(mul_div(winners_pot.0, *weight, winning_weight))
        } else {
            Amount::ZERO
        };
        if !reward.is_zero() {
            let mut acct = state.account(who).cloned().unwrap_or_default();
            acct.balance = add(acct.balance, reward, "winner reward")?;
            state.put_account(*who, acct);
            winners_paid = add(winners_paid, reward, "winners paid")?;
            events.push(Event::Rewarded {
                account: *who,
                amount: reward,
                reason: RewardReason::WinningAttestation,
                report: id,
            });
        }
        if let Some(mut a) = state.attestation(&id, who).copied() {
            a.outcome = Some(AttestationOutcome { won, slashed: *cut, reward });
            state.put_attestation(id, *who, a);
        }
    }

    // 4. The rest of the slashed funds go to the treasury.
    let reporter_share = if status == ReportStatus::Confirmed {
        slashed.bps(params.reporter_reward_bps).ok_or(overflow("reward"))?
    } else {
        Amount::ZERO
    };
    let to_treasury = sub(sub(slashed, reporter_share, "treasury")?, winners_paid, "treasury")?;
    globals.treasury = add(globals.treasury, to_treasury, "treasury")?;
    *state.globals_mut() = globals;
    record.settlement = Some(Settlement {
        at_height: height,
        quorum_weight: quorum,
        slashed,
        reporter_reward,
        winners_reward: winners_paid,
        to_treasury,
    });
    let origin = record.origin.clone();
    let reporter_id = record.reporter;
    state.put_report(id, record);
    match status {
        ReportStatus::Confirmed => crate::breakers::on_confirmed(state, height, id, events)?,
        ReportStatus::Rejected => {
            if let ReportOrigin::FastPath { .. } = origin {
                // A false fast-path trip costs the monitor part of its stake as well.
                let slashable = state.account(&reporter_id).and_then(|a| {
                    a.free_stake().checked_add(
                        a.unbonding
                            .iter()
                            .try_fold(Amount::ZERO, |s, u| s.checked_add(u.amount))?,
                    )
                });
                let cut = slashable
                    .unwrap_or_default()
                    .bps(params.monitor_slash_bps)
                    .ok_or(overflow("monitor slash"))?;
                let taken = crate::stake::slash_stake(state, &reporter_id, cut)?;
                if !taken.is_zero() {
                    let mut g = state.globals().clone();
                    g.treasury = add(g.treasury, taken, "treasury")?;
                    *state.globals_mut() = g;
                    events.push(Event::Slashed {
                        account: reporter_id,
                        amount: taken,
                        reason: SlashReason::FalseFastPath,
                        report: id,
                    });
                }
            }
        }
        _ => {}
    }
    Ok(())
}

pub(crate) fn release_unbonding(
    state: &mut State,
    height: u64,
    events: &mut Vec<Event>,
) -> Result<(), LedgerError> {
    for who in state.due_releases(height) {
        let Some(mut acct) = state.account(&who).cloned() else { continue };
        let (due, later): (Vec<Unbonding>, Vec<Unbonding>) =
            acct.unbonding.iter().partition(|u| u.release_height <= height);
        let mut released = Amount::ZERO;
        for u in &due {
            released = add(released, u.amount, "release")?;
        }
        acct.unbonding = later;
        acct.balance = add(acct.balance, released, "release")?;
        state.put_account(who, acct);
        if !released.is_zero() {
            events.push(Event::UnbondingReleased { account: who, amount: released });
        }
    }
    Ok(())
}

/// The validator set bonded stake gives: candidates with stake, most stake first (ties by id),
/// at most `max_validators`.
pub(crate) fn validator_set_from_stake(state: &State) -> Vec<(AccountId, u64)> {
    let mut set: Vec<(AccountId, u64)> = state
        .globals()
        .validator_candidates
        .iter()
        .filter_map(|id| state.account(id).map(|a| (*id, a.bonded.0)))
        .filter(|(_, power)| *power > 0)
        .collect();
    set.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    set.truncate(usize::try_from(state.params().max_validators).unwrap_or(usize::MAX));
    set
}

pub(crate) fn rotate_validators(state: &mut State, height: u64, events: &mut Vec<Event>) {
    let epoch = state.params().epoch_length;
    if epoch == 0 || height.checked_rem(epoch) != Some(0) {
        return;
    }
    let next = validator_set_from_stake(state);
    if next.is_empty() || next == state.globals().validators {
        return;
    }
    let from_height = height.saturating_add(1);
    let globals = state.globals_mut();
    globals.validators = next.clone();
    globals.validators_since = from_height;
    events.push(Event::ValidatorSetChanged { validators: next, from_height });
}
