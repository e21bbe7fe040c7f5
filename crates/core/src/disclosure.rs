//! Embargoed vulnerability disclosures, bounty programs and whitehat recovery terms.
//!
//! A protocol's registration may carry a [`BountyProgram`] — the `age` X25519 keys disclosures
//! are encrypted to and an Immunefi-style payout table — and [`SafeHarbor`] terms in the manner
//! of SEAL's Safe Harbor: the share of rescued funds a whitehat earns, its caps, and whether
//! the bounty may be kept out of the rescued funds.
//!
//! A researcher proves priority without telling anyone by committing to the report:
//! [`commitment`] hashes a random salt and the plaintext, and only that hash reaches the
//! ledger. What is encrypted to the protocol is a [`DisclosureEnvelope`] (the report and its
//! salt), so the protocol can check the commitment after decrypting, and anyone can check a
//! reveal.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use serde_with::{DeserializeFromStr, SerializeDisplay};

use crate::amount::Amount;
use crate::encoding::ContentId;
use crate::report::Severity;

/// Most disclosure keys one program lists (the protocol's and its guardians').
pub const MAX_DISCLOSURE_RECIPIENTS: usize = 16;
/// Largest encrypted report a node stores (256 KiB of `age` ciphertext, armored).
pub const MAX_CIPHERTEXT_BYTES: usize = 256 * 1024;
/// Largest report that can be revealed on the ledger (64 KiB).
pub const MAX_REPORT_BYTES: usize = 64 * 1024;
/// Longest written reason for a downgrade or dispute.
pub const MAX_REASON_BYTES: usize = 4096;
/// Most on-chain transactions a recovery claim cites as evidence.
pub const MAX_RECOVERY_EVIDENCE: usize = 32;
/// Basis points in one whole.
const BPS: u32 = 10_000;
/// The commitment's BLAKE3 key-derivation context.
const COMMITMENT_CONTEXT: &str = "vigil 2026 disclosure commitment v1";

/// An `age` X25519 recipient (`age1…`, Bech32 of a 32-byte public key), in lower case.
#[derive(
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    SerializeDisplay,
    DeserializeFromStr,
)]
pub struct DisclosureKey(String);

/// Why a text is not an `age` X25519 recipient.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{got:?} is not an age X25519 recipient (age1… , 32 bytes in Bech32): {why}")]
pub struct DisclosureKeyError {
    /// The text, shortened.
    pub got: String,
    /// What is wrong.
    pub why: String,
}

impl DisclosureKey {
    /// The recipient as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for DisclosureKey {
    type Err = DisclosureKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = |why: String| DisclosureKeyError { got: s.chars().take(80).collect(), why };
        let (hrp, data) = bech32::decode(s).map_err(|e| fail(e.to_string()))?;
        if hrp.as_str() != "age" {
            return Err(fail(format!("prefix is {:?}, not \"age\"", hrp.as_str())));
        }
        if data.len() != 32 {
            return Err(fail(format!("the key is {} bytes", data.len())));
        }
        Ok(Self(s.to_ascii_lowercase()))
    }
}

impl BorshDeserialize for DisclosureKey {
    fn deserialize_reader<R: borsh::io::Read>(reader: &mut R) -> borsh::io::Result<Self> {
        crate::encoding::decode_normal_text(reader)
    }
}

impl fmt::Display for DisclosureKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DisclosureKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DisclosureKey({})", self.0)
    }
}

fn ten_percent() -> u32 {
    1_000
}

/// A protocol's bug bounty program, in the manner of Immunefi's v2.3 severity table: critical
/// pays a share of the funds directly at risk between a floor and a cap, the lower levels pay
/// fixed amounts. Payouts come from the protocol's escrow (its bounty pool) and never exceed
/// it.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BountyProgram {
    /// Who can read disclosures: the protocol's key and, optionally, its guardians'.
    pub recipients: Vec<DisclosureKey>,
    /// Share of the funds directly at risk a critical finding earns, in basis points (10% by
    /// default).
    #[serde(default = "ten_percent")]
    pub critical_bps: u32,
    /// Least a critical finding pays.
    pub critical_floor: Amount,
    /// Most a critical finding pays.
    pub critical_cap: Amount,
    /// What a high finding pays.
    pub high: Amount,
    /// What a medium finding pays.
    pub medium: Amount,
    /// What a low finding pays.
    pub low: Amount,
}

impl BountyProgram {
    /// What a finding of `severity` with `funds_at_risk` earns under the table (before the
    /// escrow caps it); `None` for a severity the program does not pay (informational).
    pub fn payout(&self, severity: Severity, funds_at_risk: Amount) -> Option<Amount> {
        match severity {
            Severity::Critical => {
                let share = u128::from(funds_at_risk.0)
                    .saturating_mul(u128::from(self.critical_bps))
                    .checked_div(u128::from(BPS))
                    .unwrap_or(0);
                let share = u64::try_from(share).unwrap_or(u64::MAX);
                Some(Amount(share.clamp(self.critical_floor.0, self.critical_cap.0)))
            }
            Severity::High => Some(self.high),
            Severity::Medium => Some(self.medium),
            Severity::Low => Some(self.low),
            Severity::Info => None,
        }
    }

    fn check_shape(&self) -> Result<(), String> {
        if self.recipients.is_empty() || self.recipients.len() > MAX_DISCLOSURE_RECIPIENTS {
            return Err(format!(
                "a bounty program lists 1 to {MAX_DISCLOSURE_RECIPIENTS} disclosure keys"
            ));
        }
        let distinct: std::collections::BTreeSet<_> = self.recipients.iter().collect();
        if distinct.len() != self.recipients.len() {
            return Err("a bounty program lists a disclosure key twice".into());
        }
        if self.critical_bps == 0 || self.critical_bps > BPS {
            return Err(format!("critical_bps must be 1-10000, got {}", self.critical_bps));
        }
        if self.critical_floor > self.critical_cap {
            return Err("the critical floor is above the critical cap".into());
        }
        if !(self.low <= self.medium && self.medium <= self.high && self.high <= self.critical_cap)
        {
            return Err(
                "payouts must not fall with severity (low ≤ medium ≤ high ≤ critical cap)".into()
            );
        }
        Ok(())
    }
}

/// A protocol's whitehat terms in the manner of SEAL's Safe Harbor: a rescuer of funds from
/// an active exploit earns `bounty_bps` of what it returns, up to a cap per whitehat and a cap
/// for all whitehats of the protocol together.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafeHarbor {
    /// Share of the recovered funds paid as the bounty (10% recommended).
    #[serde(default = "ten_percent")]
    pub bounty_bps: u32,
    /// Most one whitehat earns for one rescue.
    pub cap_per_whitehat: Amount,
    /// Most all whitehats earn together.
    pub cap_total: Amount,
    /// Whether the whitehat may keep its bounty out of the rescued funds (`false`: everything
    /// must be returned and the bounty is paid afterwards).
    #[serde(default)]
    pub retainable: bool,
}

impl SafeHarbor {
    /// The bounty for returning `recovered`, capped per whitehat (not yet by the aggregate).
    pub fn bounty(&self, recovered: Amount) -> Amount {
        let share = u128::from(recovered.0)
            .saturating_mul(u128::from(self.bounty_bps))
            .checked_div(u128::from(BPS))
            .unwrap_or(0);
        Amount(u64::try_from(share).unwrap_or(u64::MAX).min(self.cap_per_whitehat.0))
    }

    fn check_shape(&self) -> Result<(), String> {
        if self.bounty_bps == 0 || self.bounty_bps > BPS {
            return Err(format!("bounty_bps must be 1-10000, got {}", self.bounty_bps));
        }
        if self.cap_per_whitehat > self.cap_total {
            return Err("the cap per whitehat is above the aggregate cap".into());
        }
        Ok(())
    }
}

/// Checks a program and terms, for [`crate::ProtocolSpec::check_shape`].
pub(crate) fn check_terms(
    program: Option<&BountyProgram>,
    harbor: Option<&SafeHarbor>,
) -> Result<(), String> {
    if let Some(p) = program {
        p.check_shape()?;
    }
    if let Some(h) = harbor {
        h.check_shape()?;
    }
    Ok(())
}

/// The commitment to a report: keyed BLAKE3 of `salt ‖ report`. It reveals nothing of the
/// report without the salt, and binds the researcher to exactly this text.
pub fn commitment(report: &str, salt: &[u8; 32]) -> ContentId {
    let mut h = blake3::Hasher::new_derive_key(COMMITMENT_CONTEXT);
    h.update(salt);
    h.update(report.as_bytes());
    ContentId(*h.finalize().as_bytes())
}

/// What a disclosure encrypts: the report and the salt of its commitment (JSON).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosureEnvelope {
    /// Format version (1).
    pub version: u8,
    /// The commitment's salt, hex.
    #[serde(with = "hex32")]
    pub salt: [u8; 32],
    /// The report, as written.
    pub report: String,
}

impl DisclosureEnvelope {
    /// A new envelope of `report` with a fresh random salt.
    pub fn seal(report: String) -> Result<Self, getrandom::Error> {
        let mut salt = [0u8; 32];
        getrandom::fill(&mut salt)?;
        Ok(Self { version: 1, salt, report })
    }

    /// The commitment it opens.
    pub fn commitment(&self) -> ContentId {
        commitment(&self.report, &self.salt)
    }
}

/// `[u8; 32]` as 64 hex characters in JSON.
pub mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the bytes as hex.
    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    /// Reads 64 hex characters.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(text.strip_prefix("0x").unwrap_or(&text))
            .map_err(serde::de::Error::custom)?;
        bytes.try_into().map_err(|_| serde::de::Error::custom("expected 32 bytes (64 hex digits)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A well-formed recipient (Bech32 of 32 bytes with the hrp `age`), from the age spec.
    const KEY: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

    #[test]
    fn an_age_recipient_parses_and_anything_else_is_named() {
        let k: DisclosureKey = KEY.parse().unwrap();
        assert_eq!(k.as_str(), KEY);
        let e = "age1qqqq".parse::<DisclosureKey>().unwrap_err();
        assert!(e.to_string().contains("not an age X25519 recipient"), "{e}");
        let e = "npub1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqwazaq2"
            .parse::<DisclosureKey>()
            .unwrap_err();
        assert!(e.to_string().contains("age1"), "{e}");
    }

    #[test]
    fn critical_pays_its_share_between_floor_and_cap_and_lower_levels_are_fixed() {
        let p = BountyProgram {
            recipients: vec![KEY.parse().unwrap()],
            critical_bps: 1_000,
            critical_floor: Amount(50),
            critical_cap: Amount(1_000),
            high: Amount(40),
            medium: Amount(10),
            low: Amount(1),
        };
        assert_eq!(p.payout(Severity::Critical, Amount(100)), Some(Amount(50)));
        assert_eq!(p.payout(Severity::Critical, Amount(5_000)), Some(Amount(500)));
        assert_eq!(p.payout(Severity::Critical, Amount(u64::MAX)), Some(Amount(1_000)));
        assert_eq!(p.payout(Severity::High, Amount(u64::MAX)), Some(Amount(40)));
        assert_eq!(p.payout(Severity::Info, Amount(5)), None);
        assert!(p.check_shape().is_ok());
        let falling = BountyProgram { medium: Amount(100), ..p };
        assert!(falling.check_shape().unwrap_err().contains("must not fall"));
    }

    #[test]
    fn the_commitment_binds_report_and_salt() {
        let e = DisclosureEnvelope::seal("reentrancy in withdraw()".into()).unwrap();
        assert_eq!(e.commitment(), commitment("reentrancy in withdraw()", &e.salt));
        assert_ne!(e.commitment(), commitment("reentrancy in withdraw() ", &e.salt));
        assert_ne!(e.commitment(), commitment("reentrancy in withdraw()", &[0; 32]));
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<DisclosureEnvelope>(&json).unwrap(), e);
    }
}
