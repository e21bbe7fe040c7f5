//! Network identifiers: Vigil's own chain id (part of every signature) and EVM chain ids.

use std::fmt;
use std::str::FromStr;

use borsh::io::Read;
use borsh::{BorshDeserialize, BorshSerialize};
use serde_with::{DeserializeFromStr, SerializeDisplay};

/// The id of a Vigil network, e.g. `vigil-devnet`. Every signature covers it, so a transaction
/// for one network is refused by every other. 1 to 64 characters of `a-z`, `0-9`, `-`, `.`.
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
pub struct ChainId(String);

/// Why a text is not a chain id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chain id {0:?} must be 1-64 characters of a-z, 0-9, '-' and '.'")]
pub struct ChainIdError(pub String);

impl ChainId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ChainId {
    type Err = ChainIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if ok { Ok(Self(s.to_owned())) } else { Err(ChainIdError(s.chars().take(80).collect())) }
    }
}

/// Decoding validates like parsing and accepts only the normal form.
impl BorshDeserialize for ChainId {
    fn deserialize_reader<R: Read>(reader: &mut R) -> borsh::io::Result<Self> {
        crate::encoding::decode_normal_text(reader)
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainId({})", self.0)
    }
}

/// An EVM chain id (EIP-155): 1 for Ethereum mainnet, 31337 for anvil.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct EvmChainId(pub u64);

impl EvmChainId {
    /// Ethereum mainnet.
    pub const MAINNET: Self = Self(1);
}

impl fmt::Display for EvmChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for EvmChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EvmChainId({})", self.0)
    }
}
