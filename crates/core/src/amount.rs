//! Token amounts in the ledger's base unit, with checked arithmetic only.

use std::fmt;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Base units per whole VGL token.
pub const UNITS_PER_VGL: u64 = 1_000_000;

/// A non-negative amount of the ledger's token, in base units (1 VGL = 10^6 units).
/// All arithmetic is checked: an overflow is a `None`, never a wrap.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
)]
#[serde(transparent)]
pub struct Amount(pub u64);

/// Reads base units as a number, or any text form [`Amount::from_str`] accepts
/// (`"12.5 VGL"`, `"12500000u"`), so config files can say what they mean.
impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Units(u64),
            Text(String),
        }
        match Repr::deserialize(d)? {
            Repr::Units(u) => Ok(Amount(u)),
            Repr::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl Amount {
    /// Zero.
    pub const ZERO: Self = Self(0);

    /// `n` whole VGL.
    pub const fn vgl(n: u64) -> Self {
        Self(n.saturating_mul(UNITS_PER_VGL))
    }

    /// Checked addition.
    pub fn checked_add(self, other: Self) -> Option<Self> {
        self.0.checked_add(other.0).map(Self)
    }

    /// Checked subtraction.
    pub fn checked_sub(self, other: Self) -> Option<Self> {
        self.0.checked_sub(other.0).map(Self)
    }

    /// `self × numerator / denominator`, rounded down, computed without intermediate overflow.
    /// `None` when `denominator` is zero or the result does not fit.
    pub fn mul_div(self, numerator: u64, denominator: u64) -> Option<Self> {
        if denominator == 0 {
            return None;
        }
        let wide = u128::from(self.0).checked_mul(u128::from(numerator))?;
        u64::try_from(wide.checked_div(u128::from(denominator))?).ok().map(Self)
    }

    /// The fraction `bps / 10_000` of this amount, rounded down.
    pub fn bps(self, bps: u32) -> Option<Self> {
        self.mul_div(u64::from(bps), 10_000)
    }

    /// Whether this is zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Amount {
    /// Shows whole and fractional VGL, e.g. `12.5 VGL`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / UNITS_PER_VGL;
        let frac = self.0 % UNITS_PER_VGL;
        if frac == 0 {
            write!(f, "{whole} VGL")
        } else {
            let frac = format!("{frac:06}");
            write!(f, "{whole}.{} VGL", frac.trim_end_matches('0'))
        }
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Amount({})", self.0)
    }
}

/// Why a text is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "amount {0:?} must be a number of VGL with at most 6 decimals (e.g. 12.5) or of units (e.g. 12500000u)"
)]
pub struct AmountError(pub String);

impl std::str::FromStr for Amount {
    type Err = AmountError;

    /// Parses `12.5`, `12.5 VGL` or `12500000u` (base units).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || AmountError(s.chars().take(40).collect());
        let t = s.trim();
        if let Some(units) = t.strip_suffix('u') {
            return units.trim().parse::<u64>().map(Self).map_err(|_| err());
        }
        let t = t.strip_suffix("VGL").or_else(|| t.strip_suffix("vgl")).unwrap_or(t).trim();
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if whole.is_empty() || frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let whole: u64 = whole.parse().map_err(|_| err())?;
        let frac_units: u64 =
            if frac.is_empty() { 0 } else { format!("{frac:0<6}").parse().map_err(|_| err())? };
        whole
            .checked_mul(UNITS_PER_VGL)
            .and_then(|w| w.checked_add(frac_units))
            .map(Self)
            .ok_or_else(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse() {
        assert_eq!(Amount(12_500_000).to_string(), "12.5 VGL");
        assert_eq!(Amount::vgl(3).to_string(), "3 VGL");
        assert_eq!("12.5".parse::<Amount>().unwrap(), Amount(12_500_000));
        assert_eq!("12.5 VGL".parse::<Amount>().unwrap(), Amount(12_500_000));
        assert_eq!("7u".parse::<Amount>().unwrap(), Amount(7));
        assert!("1.1234567".parse::<Amount>().is_err());
        assert!("-1".parse::<Amount>().is_err());
        assert!("abc".parse::<Amount>().is_err());
    }

    #[test]
    fn deserialises_from_units_or_text() {
        assert_eq!(serde_json::from_str::<Amount>("42").unwrap(), Amount(42));
        assert_eq!(serde_json::from_str::<Amount>("\"1.5 VGL\"").unwrap(), Amount(1_500_000));
        assert!(serde_json::from_str::<Amount>("\"lots\"").is_err());
    }

    #[test]
    fn mul_div_does_not_overflow_in_between() {
        assert_eq!(Amount(u64::MAX).mul_div(3, 4), Some(Amount(u64::MAX / 4 * 3 + 2)));
        assert_eq!(Amount(10).mul_div(1, 0), None);
        assert_eq!(Amount(10_000).bps(2_500), Some(Amount(2_500)));
    }
}
