//! Protocols protected by Vigil: their contracts, guardians (M of N), breaker policy and the
//! on-chain action a tripped breaker takes; and governance proposals and votes.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use serde_with::{DeserializeFromStr, SerializeDisplay};

use crate::amount::Amount;
use crate::chain_id::EvmChainId;
use crate::evm::{EvmAddress, Selector};
use crate::identity::AccountId;
use crate::report::{ReportId, Severity};

/// Most contracts, guardians or monitors one protocol may list.
pub const MAX_PROTOCOL_MEMBERS: usize = 64;

/// A protocol's id: its registered name, 1–64 characters of `a-z`, `0-9` and `-`.
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
pub struct ProtocolId(String);

/// Why a text is not a protocol id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("protocol id {0:?} must be 1-64 characters of a-z, 0-9 and '-'")]
pub struct ProtocolIdError(pub String);

impl ProtocolId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ProtocolId {
    type Err = ProtocolIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok { Ok(Self(s.to_owned())) } else { Err(ProtocolIdError(s.chars().take(80).collect())) }
    }
}

impl BorshDeserialize for ProtocolId {
    fn deserialize_reader<R: borsh::io::Read>(reader: &mut R) -> borsh::io::Result<Self> {
        crate::encoding::decode_normal_text(reader)
    }
}

impl fmt::Display for ProtocolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ProtocolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProtocolId({})", self.0)
    }
}

/// The call a tripped breaker makes on chain: `target.call(calldata)` from a guardian key.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct OnChainAction {
    /// The contract to call.
    pub target: EvmAddress,
    /// The calldata, `0x`-hex in JSON (default `pause()`).
    #[serde(with = "hex_bytes")]
    pub calldata: Vec<u8>,
    /// The calldata that undoes it when the breaker is reset (default `unpause()`).
    #[serde(with = "hex_bytes")]
    pub reset_calldata: Vec<u8>,
}

impl OnChainAction {
    /// OpenZeppelin Pausable's `pause()` / `unpause()` on `target`.
    pub fn pausable(target: EvmAddress) -> Self {
        Self {
            target,
            calldata: Selector::of_signature("pause()").0.to_vec(),
            reset_calldata: Selector::of_signature("unpause()").0.to_vec(),
        }
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", hex::encode(bytes)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text.strip_prefix("0x").unwrap_or(&text)).map_err(serde::de::Error::custom)
    }
}

/// When a protocol's breaker trips by itself, and who may trip it on the fast path.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct BreakerPolicy {
    /// Least severity of a confirmed report or monitor alert that trips the breaker.
    pub min_severity: Severity,
    /// Least confidence (0–100) of such a report or alert.
    pub min_confidence: u8,
    /// Monitors whose signed alerts trip the breaker at once (the fast path). Each must have
    /// bonded stake: a fast-path trip judged false slashes it.
    pub monitors: Vec<AccountId>,
    /// What to do on chain.
    pub action: OnChainAction,
}

/// A protocol's registration.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ProtocolSpec {
    /// Its id.
    pub id: ProtocolId,
    /// A display name.
    pub name: String,
    /// The EVM chain its contracts are on.
    pub chain: EvmChainId,
    /// Its contracts.
    pub contracts: Vec<EvmAddress>,
    /// Its guardians.
    pub guardians: Vec<AccountId>,
    /// Approvals of distinct guardians a reset needs (M of N).
    pub threshold: u8,
    /// The value it declares protected, in VGL base units (the unit stake is counted in), for
    /// the cost-of-corruption comparison.
    pub protected_value: Amount,
    /// The breaker policy.
    pub policy: BreakerPolicy,
    /// Its bug bounty program: disclosure keys and payout table (none: no disclosures).
    #[serde(default)]
    pub bounty: Option<crate::disclosure::BountyProgram>,
    /// Its whitehat recovery terms (none: no recovery bounties).
    #[serde(default)]
    pub safe_harbor: Option<crate::disclosure::SafeHarbor>,
}

/// Why a protocol registration is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolShapeError {
    /// No contracts, or too many.
    #[error("a protocol lists 1 to 64 contracts")]
    Contracts,
    /// No guardians, too many, or a guardian twice.
    #[error("a protocol lists 1 to 64 distinct guardians")]
    Guardians,
    /// M outside 1..=N.
    #[error(
        "the reset threshold must be between 1 and the number of guardians ({guardians}), got {threshold}"
    )]
    Threshold {
        /// M.
        threshold: u8,
        /// N.
        guardians: usize,
    },
    /// Too many monitors or a monitor twice.
    #[error("a protocol lists at most 64 distinct monitors")]
    Monitors,
    /// Confidence above 100.
    #[error("minimum confidence must be 0-100, got {0}")]
    Confidence(u8),
    /// Name empty or too long.
    #[error("name must be 1-128 bytes")]
    Name,
    /// Calldata too long.
    #[error("action calldata must be at most 4096 bytes")]
    Calldata,
    /// The bounty program or Safe Harbor terms are malformed.
    #[error("{0}")]
    Terms(String),
}

fn distinct<T: Ord>(items: &[T]) -> bool {
    let set: std::collections::BTreeSet<&T> = items.iter().collect();
    set.len() == items.len()
}

impl ProtocolSpec {
    /// Checks the limits every registration must respect.
    pub fn check_shape(&self) -> Result<(), ProtocolShapeError> {
        if self.name.is_empty() || self.name.len() > 128 {
            return Err(ProtocolShapeError::Name);
        }
        if self.contracts.is_empty() || self.contracts.len() > MAX_PROTOCOL_MEMBERS {
            return Err(ProtocolShapeError::Contracts);
        }
        if self.guardians.is_empty()
            || self.guardians.len() > MAX_PROTOCOL_MEMBERS
            || !distinct(&self.guardians)
        {
            return Err(ProtocolShapeError::Guardians);
        }
        if self.threshold == 0 || usize::from(self.threshold) > self.guardians.len() {
            return Err(ProtocolShapeError::Threshold {
                threshold: self.threshold,
                guardians: self.guardians.len(),
            });
        }
        if self.policy.monitors.len() > MAX_PROTOCOL_MEMBERS || !distinct(&self.policy.monitors) {
            return Err(ProtocolShapeError::Monitors);
        }
        if self.policy.min_confidence > 100 {
            return Err(ProtocolShapeError::Confidence(self.policy.min_confidence));
        }
        if self.policy.action.calldata.len() > 4096
            || self.policy.action.reset_calldata.len() > 4096
        {
            return Err(ProtocolShapeError::Calldata);
        }
        crate::disclosure::check_terms(self.bounty.as_ref(), self.safe_harbor.as_ref())
            .map_err(ProtocolShapeError::Terms)?;
        Ok(())
    }
}

/// What a governance proposal would do.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ProposalAction {
    /// Replace the protocol parameters (borsh of the ledger's `Params`, opaque here).
    ParameterChange {
        /// The complete new parameter set, encoded.
        #[serde(with = "hex_bytes")]
        params: Vec<u8>,
    },
    /// Pay from the treasury.
    TreasurySpend {
        /// Recipient.
        to: AccountId,
        /// Amount.
        amount: Amount,
    },
    /// Re-arm a tripped breaker.
    BreakerReset {
        /// The protocol.
        protocol: ProtocolId,
    },
    /// Slash an account's stake to the treasury.
    Slash {
        /// The account.
        account: AccountId,
        /// How much (capped at what is slashable).
        amount: Amount,
    },
    /// Decide an escalated report.
    ResolveReport {
        /// The report.
        report: ReportId,
        /// `true` to confirm it, `false` to reject it.
        confirm: bool,
    },
    /// Withdraw a shared fingerprint or rule file: every node stops matching it.
    RevokeDetection {
        /// The item.
        detection: crate::detection::DetectionId,
    },
    /// Decide an escalated disclosure: yes pays the researcher's claimed severity from the
    /// protocol's escrow (less what was paid already); no upholds the protocol's answer.
    DecideDisclosure {
        /// The disclosure.
        disclosure: u64,
    },
    /// Decide a disputed recovery claim: yes pays the bounty as if the protocol confirmed it.
    DecideRecovery {
        /// The claim.
        claim: u64,
    },
}

impl ProposalAction {
    /// A short name of the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ParameterChange { .. } => "parameter_change",
            Self::TreasurySpend { .. } => "treasury_spend",
            Self::BreakerReset { .. } => "breaker_reset",
            Self::Slash { .. } => "slash",
            Self::ResolveReport { .. } => "resolve_report",
            Self::RevokeDetection { .. } => "revoke_detection",
            Self::DecideDisclosure { .. } => "decide_disclosure",
            Self::DecideRecovery { .. } => "decide_recovery",
        }
    }
}

/// A voter's choice.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum VoteChoice {
    /// For.
    Yes,
    /// Against.
    No,
    /// Counts towards quorum only.
    Abstain,
}

impl FromStr for VoteChoice {
    type Err = crate::report::UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "yes" => Ok(Self::Yes),
            "no" => Ok(Self::No),
            "abstain" => Ok(Self::Abstain),
            _ => Err(crate::report::UnknownName {
                what: "vote",
                got: s.to_owned(),
                expected: "yes, no, abstain".into(),
            }),
        }
    }
}
