//! Detector configuration: the protected contracts and each detector's thresholds. Every field
//! has a default; unknown fields are errors. Amounts are decimal strings (they do not fit TOML
//! integers), fractions are basis points (1 bp = 0.01 %).

use std::collections::BTreeMap;

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};
use vigil_core::EvmAddress;

/// A contract this node protects (a vault, pool, treasury).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtectedContract {
    /// A name for people, e.g. `LendingVault`.
    pub name: String,
    /// Its address.
    #[serde(deserialize_with = "vigil_core::strict_address::deserialize")]
    pub address: EvmAddress,
    /// The share of one of its balances, in basis points, that a single pending transaction
    /// may be predicted to take before the drain detector fires (default: `[detect.drain]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_loss_bps: Option<u16>,
}

/// Indicator matching.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IndicatorMatchConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// Entries below this confidence are ignored.
    pub min_confidence: u8,
}

impl Default for IndicatorMatchConfig {
    fn default() -> Self {
        Self { enabled: true, min_confidence: 30 }
    }
}

/// ERC-7265-style outflow rate limit.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutflowConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// Length of the sliding window, seconds.
    pub window_secs: u64,
    /// Net outflow over the window above this share of the balance at the window's start trips
    /// the limit.
    pub max_outflow_bps: u32,
}

impl Default for OutflowConfig {
    fn default() -> Self {
        Self { enabled: true, window_secs: 3_600, max_outflow_bps: 2_000 }
    }
}

/// Flash-loan exploit pattern.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlashLoanConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// A profit in the borrowed token of at least this share of the loan is large.
    pub min_profit_bps: u32,
    /// A net outflow from a protected contract of at least this share of its balance is large.
    pub min_protected_outflow_bps: u32,
    /// Absolute amounts that are large per token (decimal strings of base units), for profits in
    /// tokens other than the one borrowed.
    pub large_amounts: BTreeMap<EvmAddress, U256>,
}

impl Default for FlashLoanConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            min_profit_bps: 100,
            min_protected_outflow_bps: 1_000,
            large_amounts: BTreeMap::new(),
        }
    }
}

/// Volume anomaly (EWMA and z-score of per-block volumes).
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VolumeConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// EWMA smoothing factor in (0, 1]: the weight of the newest block.
    pub alpha: f64,
    /// A block whose volume is this many standard deviations above the mean is a spike.
    pub z_threshold: f64,
    /// Blocks a series must have seen before it can alert.
    pub warmup_blocks: u32,
    /// A withdrawal spike must also move at least this share of the protected contract's balance.
    pub min_share_bps: u32,
}

impl Default for VolumeConfig {
    fn default() -> Self {
        Self { enabled: true, alpha: 0.1, z_threshold: 4.0, warmup_blocks: 10, min_share_bps: 500 }
    }
}

/// Suspicious governance proposals.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GovernanceConfig {
    /// Whether the detector runs.
    pub enabled: bool,
}

impl Default for GovernanceConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// Fresh attacker contracts.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FreshContractConfig {
    /// Whether the detector runs.
    pub enabled: bool,
    /// A contract is fresh for this many blocks after its creation.
    pub max_age_blocks: u64,
    /// Fresh contracts remembered at most (the oldest are forgotten first).
    pub max_tracked: usize,
}

impl Default for FreshContractConfig {
    fn default() -> Self {
        Self { enabled: true, max_age_blocks: 100, max_tracked: 100_000 }
    }
}

/// Configuration of the built-in detectors.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Contracts this node protects.
    pub protected: Vec<ProtectedContract>,
    /// Seconds during which further findings of one incident are folded into its first alert.
    pub cooldown_secs: Option<u64>,
    /// Indicator matching.
    pub indicators: IndicatorMatchConfig,
    /// Outflow rate limit.
    pub outflow: OutflowConfig,
    /// Flash-loan exploit pattern.
    pub flash_loan: FlashLoanConfig,
    /// Volume anomaly.
    pub volume: VolumeConfig,
    /// Suspicious governance proposals.
    pub governance: GovernanceConfig,
    /// Fresh attacker contracts.
    pub fresh_contract: FreshContractConfig,
    /// Reentrancy (needs call traces).
    pub reentrancy: ReentrancyConfig,
    /// Price manipulation (needs call traces).
    pub price_manipulation: PriceManipulationConfig,
    /// Predicted drains of protected contracts (needs pre-executed pending transactions).
    pub drain: DrainConfig,
}

/// The pre-execution drain detector.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DrainConfig {
    /// Whether it runs.
    pub enabled: bool,
    /// The share of a protected contract's balance of one asset, in basis points, a pending
    /// transaction may be predicted to take before it fires (a protected contract's own
    /// `max_loss_bps` wins).
    pub max_loss_bps: u16,
}

impl Default for DrainConfig {
    fn default() -> Self {
        Self { enabled: true, max_loss_bps: 1_000 }
    }
}

/// The reentrancy detector.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReentrancyConfig {
    /// Whether it runs.
    pub enabled: bool,
}

impl Default for ReentrancyConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// The price-manipulation detector.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PriceManipulationConfig {
    /// Whether it runs.
    pub enabled: bool,
}

impl Default for PriceManipulationConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// The cooldown when none is configured: ten minutes.
pub const DEFAULT_COOLDOWN_SECS: u64 = 600;

impl DetectConfig {
    /// The cooldown in seconds.
    pub fn cooldown(&self) -> u64 {
        self.cooldown_secs.unwrap_or(DEFAULT_COOLDOWN_SECS)
    }

    /// Parses the TOML form.
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_with_defaults_and_unknown_fields() {
        let c = DetectConfig::from_toml(
            r#"
            cooldown_secs = 60
            [[protected]]
            name = "Vault"
            address = "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9"
            [flash_loan.large_amounts]
            "0x5FbDB2315678afecb367f032d93F642f64180aa3" = "100000000000000000000000"
            "#,
        )
        .unwrap();
        assert_eq!(c.cooldown(), 60);
        assert_eq!(c.protected.len(), 1);
        assert_eq!(c.outflow, OutflowConfig::default());
        assert_eq!(
            c.flash_loan.large_amounts.values().next(),
            Some(&U256::from(10u64).pow(U256::from(23)))
        );
        let err = DetectConfig::from_toml("cooldwn_secs = 1").unwrap_err();
        assert!(err.to_string().contains("cooldwn_secs"), "{err}");
        let err = DetectConfig::from_toml(
            "[[protected]]\nname = \"x\"\naddress = \"0xDc64a140Aa3E981100a9becA4E685f962f0cF6C8\"",
        )
        .unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");
    }
}
