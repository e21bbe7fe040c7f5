//! Indicators of compromise: the things a report flags and a detector matches.
//!
//! Each indicator has one text form, used by the CLI, the HTTP API and STIX patterns:
//!
//! | kind | text form | example |
//! |---|---|---|
//! | address on any EVM chain | `0x` + 40 hex | `0x098B716B8Aaf21512996dC57EB0615e2383E2f96` |
//! | address on one chain (CAIP-10) | `eip155:<chain>:0x…` | `eip155:1:0x098B…2f96` |
//! | contract code hash | `codehash:0x` + 64 hex | `codehash:0xc5d2…a470` |
//! | function selector | `selector:0x` + 8 hex, or `0x` + 8 hex | `selector:0x42b0b77c` |
//! | domain | `domain:<name>` or the bare name | `myetherwa11et.com` |
//! | transaction | `tx:<chain>:0x` + 64 hex | `tx:1:0x…` |
//! | web page | `http(s)://…`, or `url:` + it | `https://opensae.io/login` |

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use serde_with::{DeserializeFromStr, SerializeDisplay};

use crate::chain_id::EvmChainId;
use crate::domain::{Domain, DomainError};
use crate::evm::{B256, EvmAddress, HexValueError, Selector};
use crate::url::{WebUrl, WebUrlError};

/// One indicator of compromise.
#[derive(
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    SerializeDisplay,
    DeserializeFromStr,
)]
pub enum Indicator {
    /// An EVM account or contract; `chain: None` means the same address on every EVM chain.
    Address {
        /// The chain it applies to, or every chain.
        chain: Option<EvmChainId>,
        /// The address.
        address: EvmAddress,
    },
    /// The keccak-256 hash of a contract's runtime bytecode (the same on every chain).
    CodeHash(B256),
    /// A 4-byte function selector.
    Selector(Selector),
    /// A DNS name (phishing site, drainer host).
    Domain(Domain),
    /// A transaction on one chain.
    TxHash {
        /// The chain the transaction is on.
        chain: EvmChainId,
        /// The transaction hash.
        hash: B256,
    },
    /// A web page (a phishing page, a drainer script), matched by its full URL and its host.
    Url(WebUrl),
}

/// The kind of an indicator, without its value.
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
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum IndicatorKind {
    /// [`Indicator::Address`].
    Address,
    /// [`Indicator::CodeHash`].
    CodeHash,
    /// [`Indicator::Selector`].
    Selector,
    /// [`Indicator::Domain`].
    Domain,
    /// [`Indicator::TxHash`].
    TxHash,
    /// [`Indicator::Url`].
    Url,
}

impl Indicator {
    /// An address on every EVM chain.
    pub fn address(address: EvmAddress) -> Self {
        Self::Address { chain: None, address }
    }

    /// This indicator's kind.
    pub fn kind(&self) -> IndicatorKind {
        match self {
            Self::Address { .. } => IndicatorKind::Address,
            Self::CodeHash(_) => IndicatorKind::CodeHash,
            Self::Selector(_) => IndicatorKind::Selector,
            Self::Domain(_) => IndicatorKind::Domain,
            Self::TxHash { .. } => IndicatorKind::TxHash,
            Self::Url(_) => IndicatorKind::Url,
        }
    }
}

/// Why a text is not an indicator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndicatorError {
    /// The hex value inside is malformed.
    #[error("{0}")]
    Hex(#[from] HexValueError),
    /// The domain is malformed.
    #[error("{0}")]
    Domain(#[from] DomainError),
    /// The URL is malformed.
    #[error("{0}")]
    Url(#[from] WebUrlError),
    /// A 32-byte hash without a prefix could be a tx hash or a code hash.
    #[error("a bare 32-byte hash is ambiguous: write codehash:0x… or tx:<chain id>:0x…")]
    AmbiguousHash,
    /// `0x…` of a length that is no indicator.
    #[error("0x value with {0} hex digits is not an address (40), selector (8) or hash (64)")]
    UnknownHexLength(usize),
    /// A chain id that is not a number.
    #[error("chain id {0:?} is not a number")]
    BadChainId(String),
    /// Another chain's address (Vigil's indicators are EVM addresses).
    #[error("{value:?} looks like a {kind}; Vigil's address indicators are EVM addresses (0x…)")]
    OtherChain {
        /// The value (shortened).
        value: String,
        /// What it looks like, e.g. `Bitcoin address`.
        kind: &'static str,
    },
    /// A `prefix:` that is not one of the indicator kinds.
    #[error(
        "unknown indicator prefix {0:?}; expected eip155:, codehash:, selector:, domain:, tx:, \
         url: or http(s)://"
    )]
    UnknownPrefix(String),
}

fn parse_chain(s: &str) -> Result<EvmChainId, IndicatorError> {
    s.parse::<u64>().map(EvmChainId).map_err(|_| IndicatorError::BadChainId(s.to_owned()))
}

impl FromStr for Indicator {
    type Err = IndicatorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Self::parse_text(s).map_err(|e| match other_chain_address(s) {
            Some(kind) if !matches!(e, IndicatorError::Hex(_)) => {
                IndicatorError::OtherChain { value: s.chars().take(64).collect(), kind }
            }
            _ => e,
        })
    }
}

impl Indicator {
    fn parse_text(s: &str) -> Result<Self, IndicatorError> {
        if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            return match hex.len() {
                40 => Ok(Self::address(s.parse()?)),
                8 => Ok(Self::Selector(s.parse()?)),
                64 => {
                    // Surface a malformed value before the ambiguity.
                    s.parse::<B256>()?;
                    Err(IndicatorError::AmbiguousHash)
                }
                // Let the address parser name bad characters; else report the length.
                n => match s.parse::<EvmAddress>() {
                    Err(e @ HexValueError::NonHex { .. }) => Err(e.into()),
                    _ => Err(IndicatorError::UnknownHexLength(n)),
                },
            };
        }
        let Some((prefix, rest)) = s.split_once(':') else {
            return Ok(Self::Domain(s.parse()?));
        };
        match prefix.to_ascii_lowercase().as_str() {
            "eip155" => {
                let (chain, address) = rest
                    .split_once(':')
                    .ok_or_else(|| IndicatorError::BadChainId(rest.to_owned()))?;
                Ok(Self::Address { chain: Some(parse_chain(chain)?), address: address.parse()? })
            }
            "codehash" => Ok(Self::CodeHash(rest.parse()?)),
            "selector" => Ok(Self::Selector(rest.parse()?)),
            "domain" => Ok(Self::Domain(rest.parse()?)),
            "http" | "https" => Ok(Self::Url(s.parse()?)),
            "url" => Ok(Self::Url(rest.parse()?)),
            "tx" => {
                let (chain, hash) = rest
                    .split_once(':')
                    .ok_or_else(|| IndicatorError::BadChainId(rest.to_owned()))?;
                Ok(Self::TxHash { chain: parse_chain(chain)?, hash: hash.parse()? })
            }
            other => Err(IndicatorError::UnknownPrefix(other.chars().take(32).collect())),
        }
    }
}

const BASE58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

fn is_base58(s: &str) -> bool {
    s.bytes().all(|b| BASE58.contains(&b))
}

fn is_bech32_data(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
        && !s.bytes().any(|b| matches!(b, b'1' | b'b' | b'i' | b'o'))
}

/// The kind of a cryptocurrency address of another chain (`Bitcoin address`, `Tron address`,
/// …), recognised by its shape (prefix, alphabet, length), or `None`. Meant for values that are
/// not Vigil indicators, to say what they are instead: it does not verify checksums.
pub fn other_chain_address(value: &str) -> Option<&'static str> {
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    for (hrp, kind) in [
        ("bc1", "Bitcoin address"),
        ("tb1", "Bitcoin testnet address"),
        ("ltc1", "Litecoin address"),
        ("bitcoincash:", "Bitcoin Cash address"),
        ("cosmos1", "Cosmos address"),
        ("terra1", "Terra address"),
        ("osmo1", "Osmosis address"),
        ("addr1", "Cardano address"),
    ] {
        if let Some(data) = lower.strip_prefix(hrp)
            && (v == lower || v == v.to_ascii_uppercase())
            && (20..=100).contains(&data.len())
            && is_bech32_data(data)
        {
            return Some(kind);
        }
    }
    if !is_base58(v) {
        return match v.as_bytes() {
            [b'0', b'x' | b'X', ..] => None,
            _ if v.len() == 56
                && v.starts_with('G')
                && v.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                Some("Stellar address")
            }
            _ if v.len() == 95 && v.starts_with('4') => Some("Monero address"),
            _ => None,
        };
    }
    let len = v.len();
    let first = v.as_bytes().first().copied()?;
    match (first, len) {
        (b'1' | b'3', 25..=35) => Some("Bitcoin address"),
        (b'T', 34) => Some("Tron address"),
        (b'L' | b'M', 33..=35) => Some("Litecoin address"),
        (b'D', 34) => Some("Dogecoin address"),
        (b'r', 25..=35) => Some("XRP address"),
        (b'X', 34) => Some("Dash address"),
        (b'4', 95) => Some("Monero address"),
        (_, 32..=44) => Some("Solana address"),
        _ => None,
    }
}

impl fmt::Display for Indicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address { chain: None, address } => write!(f, "{address}"),
            Self::Address { chain: Some(chain), address } => write!(f, "eip155:{chain}:{address}"),
            Self::CodeHash(hash) => write!(f, "codehash:{hash}"),
            Self::Selector(selector) => write!(f, "selector:{selector}"),
            // A name such as `0x.io` would read back as hex: keep its prefix.
            Self::Domain(domain) if domain.as_str().starts_with("0x") => {
                write!(f, "domain:{domain}")
            }
            Self::Domain(domain) => write!(f, "{domain}"),
            Self::TxHash { chain, hash } => write!(f, "tx:{chain}:{hash}"),
            Self::Url(url) => write!(f, "{url}"),
        }
    }
}

impl fmt::Debug for Indicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Indicator({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_form_parses_to_its_kind() {
        let cases = [
            ("0x098b716b8aaf21512996dc57eb0615e2383e2f96", IndicatorKind::Address),
            ("eip155:1:0x098B716B8Aaf21512996dC57EB0615e2383E2f96", IndicatorKind::Address),
            (
                "codehash:0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
                IndicatorKind::CodeHash,
            ),
            ("selector:0x42b0b77c", IndicatorKind::Selector),
            ("0x42b0b77c", IndicatorKind::Selector),
            ("domain:example.com", IndicatorKind::Domain),
            ("myetherwa11et.com", IndicatorKind::Domain),
            (
                "tx:1:0x0000000000000000000000000000000000000000000000000000000000000001",
                IndicatorKind::TxHash,
            ),
            ("https://opensae.io/login", IndicatorKind::Url),
            ("url:HTTP://OpenSae.io/login?x=1", IndicatorKind::Url),
        ];
        for (text, kind) in cases {
            let ind: Indicator = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(ind.kind(), kind, "{text}");
            assert_eq!(ind.to_string().parse::<Indicator>().unwrap(), ind, "{text}");
        }
    }

    #[test]
    fn errors_name_the_problem() {
        let hash = "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470";
        assert_eq!(hash.parse::<Indicator>(), Err(IndicatorError::AmbiguousHash));
        assert_eq!("0x1234".parse::<Indicator>(), Err(IndicatorError::UnknownHexLength(4)));
        assert!(matches!("0xzz".parse::<Indicator>(), Err(IndicatorError::Hex(_))));
        assert_eq!(
            "eip155:main:0x098b716b8aaf21512996dc57eb0615e2383e2f96".parse::<Indicator>(),
            Err(IndicatorError::BadChainId("main".into()))
        );
        assert_eq!(
            "ipfs:bafy".parse::<Indicator>(),
            Err(IndicatorError::UnknownPrefix("ipfs".into()))
        );
        assert!(matches!("not a domain".parse::<Indicator>(), Err(IndicatorError::Domain(_))));
        let e = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa".parse::<Indicator>().unwrap_err();
        assert!(matches!(e, IndicatorError::OtherChain { kind: "Bitcoin address", .. }), "{e}");
        assert!(e.to_string().contains("EVM addresses"), "{e}");
    }

    #[test]
    fn a_domain_that_looks_like_hex_keeps_its_prefix() {
        let ind: Indicator = "domain:0x.aa".parse().unwrap();
        assert_eq!(ind.to_string(), "domain:0x.aa");
        assert_eq!(ind.to_string().parse::<Indicator>().unwrap(), ind);
    }

    #[test]
    fn json_form_is_the_text_form() {
        let ind: Indicator = "selector:0x42b0b77c".parse().unwrap();
        assert_eq!(serde_json::to_string(&ind).unwrap(), "\"selector:0x42b0b77c\"");
    }
}
