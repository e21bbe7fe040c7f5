//! Reputation: a Beta-style score from an account's confirmed versus rejected history, whose
//! weight decays with age (in blocks). With no history the score is one half.
//!
//! History is kept as two accumulators in micro-units (one outcome = 1,000,000). Decay is
//! applied lazily: every `reputation_decay_period` blocks both lose `reputation_decay_bps` of
//! their value. The score is `(1 + good) / (2 + good + bad)`, the mean of a Beta(1 + good,
//! 1 + bad) distribution, in parts per million. Integer arithmetic only.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::params::{BPS, Params};

/// One outcome, in accumulator units.
pub const OUTCOME: u64 = 1_000_000;
/// Parts per million in a whole score.
pub const PPM: u64 = 1_000_000;
/// Decay steps after which history is treated as gone (0.95^400 ≈ 1e-9).
const MAX_DECAY_STEPS: u64 = 400;

/// An account's track record.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct Reputation {
    /// Decayed weight of outcomes that proved the account right.
    pub good: u64,
    /// Decayed weight of outcomes that proved the account wrong.
    pub bad: u64,
    /// Height at which `good` and `bad` were last decayed.
    pub updated_at: u64,
}

fn decay(value: u64, steps: u64, keep_bps: u64) -> u64 {
    let mut v = u128::from(value);
    for _ in 0..steps.min(MAX_DECAY_STEPS) {
        if v == 0 {
            break;
        }
        v = v.saturating_mul(u128::from(keep_bps)).checked_div(u128::from(BPS)).unwrap_or(0);
    }
    u64::try_from(v).unwrap_or(u64::MAX)
}

impl Reputation {
    /// The record as seen at `height`, decayed.
    pub fn at(&self, height: u64, params: &Params) -> Reputation {
        let elapsed = height.saturating_sub(self.updated_at);
        let steps = elapsed.checked_div(params.reputation_decay_period).unwrap_or(0);
        if steps == 0 {
            return *self;
        }
        let keep = u64::from(BPS.saturating_sub(params.reputation_decay_bps));
        let advanced =
            self.updated_at.saturating_add(steps.saturating_mul(params.reputation_decay_period));
        Reputation {
            good: decay(self.good, steps, keep),
            bad: decay(self.bad, steps, keep),
            updated_at: advanced,
        }
    }

    /// Records one outcome at `height`.
    pub fn record(&mut self, height: u64, params: &Params, right: bool) {
        let mut now = self.at(height, params);
        if right {
            now.good = now.good.saturating_add(OUTCOME);
        } else {
            now.bad = now.bad.saturating_add(OUTCOME);
        }
        *self = now;
    }

    /// The score in parts per million at `height`.
    pub fn score_ppm(&self, height: u64, params: &Params) -> u64 {
        let r = self.at(height, params);
        let num = u128::from(OUTCOME).saturating_add(u128::from(r.good));
        let den = u128::from(OUTCOME)
            .saturating_mul(2)
            .saturating_add(u128::from(r.good))
            .saturating_add(u128::from(r.bad));
        let ppm = num.saturating_mul(u128::from(PPM)).checked_div(den).unwrap_or(0);
        u64::try_from(ppm).unwrap_or(PPM)
    }

    /// The score as a 0–100 confidence at `height`.
    pub fn confidence(&self, height: u64, params: &Params) -> u8 {
        u8::try_from(self.score_ppm(height, params) / 10_000).unwrap_or(100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newcomers_score_one_half() {
        assert_eq!(Reputation::default().score_ppm(0, &Params::default()), 500_000);
        assert_eq!(Reputation::default().confidence(12345, &Params::default()), 50);
    }

    #[test]
    fn history_moves_the_score_and_decays_back_towards_one_half() {
        let p = Params {
            reputation_decay_bps: 5_000,
            reputation_decay_period: 10,
            ..Params::default()
        };
        let mut r = Reputation::default();
        for h in 0..4 {
            r.record(h, &p, true);
        }
        // (1 + 4) / (2 + 4) = 0.8333
        assert_eq!(r.score_ppm(4, &p), 833_333);
        // Ten blocks later half the history is gone: (1 + 2) / (2 + 2) = 0.75.
        assert_eq!(r.score_ppm(13, &p), 750_000);
        assert!(r.score_ppm(1_000_000, &p) <= 500_001);
        let mut bad = Reputation::default();
        bad.record(0, &p, false);
        assert_eq!(bad.confidence(0, &p), 33);
    }

    #[test]
    fn decay_is_the_same_lazily_or_stepwise() {
        let p =
            Params { reputation_decay_bps: 700, reputation_decay_period: 7, ..Params::default() };
        let mut r = Reputation::default();
        r.record(3, &p, true);
        r.record(5, &p, false);
        let direct = r.at(100, &p);
        let stepwise = r.at(50, &p).at(100, &p);
        assert_eq!(direct, stepwise);
    }
}
