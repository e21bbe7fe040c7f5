//! Confidence that fades with age, after MISP's polynomial decay model:
//!
//! `score(t) = base × (1 − (t / τ)^(1/δ))`, for `t` the time since the indicator was last seen,
//! `τ` the lifetime and `δ` the decay speed; zero once `t ≥ τ`. An indicator whose score falls
//! below the threshold is expired. Each source has its own parameters.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Seconds in a day.
const DAY: u64 = 86_400;

/// How one source's confidence decays.
#[derive(
    Clone, Copy, PartialEq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct DecayPolicy {
    /// Confidence (0–100) of a fresh sighting, unless the feed states its own.
    pub base_score: u8,
    /// Seconds after the last sighting at which the score reaches zero (τ).
    pub lifetime_secs: u64,
    /// The decay speed δ: below 1 the score holds up and then drops, above 1 it drops early.
    pub decay_speed: f64,
    /// Scores below this (0–100) count as expired.
    pub threshold: u8,
}

/// Why a decay policy is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    /// A score above 100.
    #[error("{what} is {got}; scores are 0 to 100")]
    ScoreRange {
        /// Which field.
        what: &'static str,
        /// The value given.
        got: u8,
    },
    /// A zero lifetime.
    #[error("lifetime_secs must be positive")]
    ZeroLifetime,
    /// A decay speed that is not a positive finite number.
    #[error("decay_speed must be a positive finite number, got {0}")]
    DecaySpeed(f64),
}

impl DecayPolicy {
    /// Sanctions lists: designations change by decision, not by age; fade over five years.
    pub const SANCTIONS: Self =
        Self { base_score: 95, lifetime_secs: 5 * 365 * DAY, decay_speed: 0.3, threshold: 20 };
    /// Labelled address datasets (Forta): slow decay over two years.
    pub const LABELLED_ADDRESSES: Self =
        Self { base_score: 70, lifetime_secs: 2 * 365 * DAY, decay_speed: 0.5, threshold: 20 };
    /// Phishing domain lists: phishing hosts churn; linear decay over one year.
    pub const PHISHING_DOMAINS: Self =
        Self { base_score: 80, lifetime_secs: 365 * DAY, decay_speed: 1.0, threshold: 20 };
    /// Anything else (generic lists, STIX bundles without their own confidence).
    pub const DEFAULT: Self =
        Self { base_score: 50, lifetime_secs: 180 * DAY, decay_speed: 1.0, threshold: 20 };

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), PolicyError> {
        for (what, got) in [("base_score", self.base_score), ("threshold", self.threshold)] {
            if got > 100 {
                return Err(PolicyError::ScoreRange { what, got });
            }
        }
        if self.lifetime_secs == 0 {
            return Err(PolicyError::ZeroLifetime);
        }
        if !(self.decay_speed.is_finite() && self.decay_speed > 0.0) {
            return Err(PolicyError::DecaySpeed(self.decay_speed));
        }
        Ok(())
    }

    /// The decayed score (0–100, rounded down) of a sighting `age_secs` old whose fresh score is
    /// `base` (the feed's own confidence) or, when `None`, this policy's base score.
    pub fn score(&self, base: Option<u8>, age_secs: u64) -> u8 {
        let base = f64::from(base.unwrap_or(self.base_score).min(100));
        if age_secs >= self.lifetime_secs {
            return 0;
        }
        let fraction = age_secs as f64 / self.lifetime_secs as f64;
        let kept = 1.0 - fraction.powf(1.0 / self.decay_speed);
        let score = (base * kept).floor();
        if score.is_finite() { score.clamp(0.0, 100.0) as u8 } else { 0 }
    }

    /// Whether a score has fallen below this policy's threshold.
    pub fn is_expired(&self, score: u8) -> bool {
        score < self.threshold
    }
}

impl Default for DecayPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_decay_halves_at_half_life() {
        let p = DecayPolicy { base_score: 80, lifetime_secs: 100, decay_speed: 1.0, threshold: 10 };
        assert_eq!(p.score(None, 0), 80);
        assert_eq!(p.score(None, 50), 40);
        assert_eq!(p.score(None, 100), 0);
        assert_eq!(p.score(None, u64::MAX), 0);
        assert_eq!(p.score(Some(100), 50), 50);
    }

    #[test]
    fn slow_speed_holds_then_drops() {
        let p = DecayPolicy { decay_speed: 0.3, ..DecayPolicy::SANCTIONS };
        let half = p.lifetime_secs / 2;
        assert!(p.score(None, half) > 80, "{}", p.score(None, half));
        let fast = DecayPolicy { decay_speed: 3.0, ..p };
        assert!(fast.score(None, half) < 30, "{}", fast.score(None, half));
    }

    #[test]
    fn bad_parameters_are_named() {
        let p = DecayPolicy { decay_speed: 0.0, ..DecayPolicy::DEFAULT };
        assert_eq!(p.validate(), Err(PolicyError::DecaySpeed(0.0)));
        let p = DecayPolicy { base_score: 101, ..DecayPolicy::DEFAULT };
        assert!(matches!(p.validate(), Err(PolicyError::ScoreRange { what: "base_score", .. })));
        let p = DecayPolicy { lifetime_secs: 0, ..DecayPolicy::DEFAULT };
        assert_eq!(p.validate(), Err(PolicyError::ZeroLifetime));
        for p in [
            DecayPolicy::SANCTIONS,
            DecayPolicy::LABELLED_ADDRESSES,
            DecayPolicy::PHISHING_DOMAINS,
            DecayPolicy::DEFAULT,
        ] {
            p.validate().unwrap();
        }
    }

    proptest::proptest! {
        #[test]
        fn score_never_rises_with_age(a in 0u64..10_000_000, b in 0u64..10_000_000, speed in 0.05f64..5.0) {
            let p = DecayPolicy { base_score: 90, lifetime_secs: 5_000_000, decay_speed: speed, threshold: 10 };
            let (young, old) = if a <= b { (a, b) } else { (b, a) };
            proptest::prop_assert!(p.score(None, young) >= p.score(None, old));
            proptest::prop_assert!(p.score(None, young) <= 90);
        }
    }
}
