//! EVM primitive values: 20-byte addresses with EIP-55 checksums, 32-byte hashes and 4-byte
//! function selectors.
//!
//! Parsing is strict about shape and lenient about case. Data that comes in (feeds, lookups,
//! reports, API requests) is parsed with [`FromStr`]: a mixed-case address whose EIP-55
//! checksum is wrong still names the same 20 bytes — real lists contain such entries — so it is
//! accepted, and [`EvmAddress::checksum_mismatch`] tells a caller to count or warn about it.
//! What an operator writes by hand (rules, config) goes through [`EvmAddress::parse_strict`],
//! where a wrong checksum most likely means a typo and is an error.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use serde_with::{DeserializeFromStr, SerializeDisplay};
use sha3::{Digest, Keccak256};

/// Why a hex value (address, hash, selector) could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexValueError {
    /// The text does not start with `0x`.
    #[error("{what} must start with 0x")]
    MissingPrefix {
        /// What was being parsed ("address", "hash", "selector").
        what: &'static str,
    },
    /// The number of hex digits after `0x` is wrong.
    #[error("{what} must have {expected} hex digits after 0x, found {found}")]
    WrongLength {
        /// What was being parsed.
        what: &'static str,
        /// Hex digits a value of this kind has.
        expected: usize,
        /// Hex digits found.
        found: usize,
    },
    /// A character is not a hex digit.
    #[error("{what} has a non-hex character {found:?} at position {position}")]
    NonHex {
        /// What was being parsed.
        what: &'static str,
        /// The offending character.
        found: char,
        /// Its character position in the input, counting the `0x` prefix.
        position: usize,
    },
    /// A mixed-case address whose case does not match its EIP-55 checksum.
    #[error("address {input} has a wrong EIP-55 checksum (expected {expected})")]
    BadChecksum {
        /// The address as given.
        input: String,
        /// The correctly checksummed form.
        expected: String,
    },
}

/// Keccak-256 of `data`, the hash the EVM uses for code hashes, tx hashes and selectors.
pub fn keccak256(data: impl AsRef<[u8]>) -> [u8; 32] {
    Keccak256::digest(data.as_ref()).into()
}

/// Decodes `0x`-prefixed hex of exactly `N` bytes into an array, naming `what` in errors.
fn decode_prefixed<const N: usize>(what: &'static str, s: &str) -> Result<[u8; N], HexValueError> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or(HexValueError::MissingPrefix { what })?;
    let found = digits.chars().count();
    if let Some((i, c)) = digits.chars().enumerate().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(HexValueError::NonHex { what, found: c, position: i + 2 });
    }
    if found != N * 2 {
        return Err(HexValueError::WrongLength { what, expected: N * 2, found });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out).map_err(|_| HexValueError::WrongLength {
        what,
        expected: N * 2,
        found,
    })?;
    Ok(out)
}

/// A 20-byte EVM account or contract address. Displays in EIP-55 checksummed form.
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
    SerializeDisplay,
    DeserializeFromStr,
)]
pub struct EvmAddress(pub [u8; 20]);

impl EvmAddress {
    /// The zero address.
    pub const ZERO: Self = Self([0; 20]);

    /// The address as raw bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// The EIP-55 checksummed text form, `0x` followed by 40 mixed-case hex digits.
    pub fn to_checksummed(&self) -> String {
        let lower = hex::encode(self.0);
        let hash = keccak256(lower.as_bytes());
        let mut out = String::with_capacity(42);
        out.push_str("0x");
        for (i, c) in lower.chars().enumerate() {
            let byte = hash[i / 2];
            let nibble = if i % 2 == 0 { byte >> 4 } else { byte & 0x0f };
            out.push(if c.is_ascii_alphabetic() && nibble >= 8 {
                c.to_ascii_uppercase()
            } else {
                c
            });
        }
        out
    }

    /// The address of the contract `deployer` creates with `CREATE` at `nonce`:
    /// the last 20 bytes of `keccak256(rlp([deployer, nonce]))`.
    pub fn create_address(deployer: &EvmAddress, nonce: u64) -> EvmAddress {
        let nonce_rlp: Vec<u8> = match nonce {
            0 => vec![0x80],
            1..=0x7f => vec![nonce as u8],
            _ => {
                let bytes = nonce.to_be_bytes();
                let skip = bytes.iter().take_while(|b| **b == 0).count();
                let mut v = vec![0x80 + (8 - skip) as u8];
                v.extend_from_slice(&bytes[skip..]);
                v
            }
        };
        let payload_len = 21 + nonce_rlp.len();
        let mut rlp = Vec::with_capacity(1 + payload_len);
        rlp.push(0xc0 + payload_len as u8);
        rlp.push(0x94);
        rlp.extend_from_slice(&deployer.0);
        rlp.extend_from_slice(&nonce_rlp);
        let hash = keccak256(&rlp);
        let mut out = [0u8; 20];
        out.copy_from_slice(&hash[12..]);
        EvmAddress(out)
    }
}

impl EvmAddress {
    /// Parses an address and also checks its EIP-55 checksum: for text an operator wrote by
    /// hand, where a mixed-case address with a wrong checksum is most likely a typo.
    pub fn parse_strict(s: &str) -> Result<Self, HexValueError> {
        let address: EvmAddress = s.parse()?;
        if Self::checksum_mismatch(s) {
            return Err(HexValueError::BadChecksum {
                input: s.to_owned(),
                expected: address.to_checksummed(),
            });
        }
        Ok(address)
    }

    /// Whether `s`, a well-formed address, is written in mixed case with a case pattern that
    /// is not its EIP-55 checksum. All-lower and all-upper forms carry no checksum.
    pub fn checksum_mismatch(s: &str) -> bool {
        let s = s.trim();
        // The case scan first: feeds are mostly lower case, and those need no decoding.
        let digits = s.get(2..).unwrap_or_default();
        let has_lower = digits.bytes().any(|b| b.is_ascii_lowercase());
        let has_upper = digits.bytes().any(|b| b.is_ascii_uppercase());
        if !(has_lower && has_upper) {
            return false;
        }
        let Ok(bytes) = decode_prefixed::<20>("address", s) else { return false };
        EvmAddress(bytes).to_checksummed()[2..] != *digits
    }
}

impl FromStr for EvmAddress {
    type Err = HexValueError;

    /// Parses `0x` + 40 hex digits in any case; see the module docs on checksums.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        decode_prefixed::<20>("address", s).map(EvmAddress)
    }
}

/// Serde for an address field written by hand (config): the checksum is checked.
pub mod strict_address {
    use serde::{Deserialize, Deserializer};

    use super::EvmAddress;

    /// Deserialises with [`EvmAddress::parse_strict`].
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<EvmAddress, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        EvmAddress::parse_strict(&text).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for EvmAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_checksummed())
    }
}

impl fmt::Debug for EvmAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EvmAddress({self})")
    }
}

impl From<[u8; 20]> for EvmAddress {
    fn from(bytes: [u8; 20]) -> Self {
        Self(bytes)
    }
}

/// A 32-byte hash (transaction hash, contract code hash, block hash). Displays as `0x` + lower hex.
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
    SerializeDisplay,
    DeserializeFromStr,
)]
pub struct B256(pub [u8; 32]);

impl B256 {
    /// The all-zero hash.
    pub const ZERO: Self = Self([0; 32]);

    /// Keccak-256 of `data`.
    pub fn keccak(data: impl AsRef<[u8]>) -> Self {
        Self(keccak256(data))
    }

    /// The hash as raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl FromStr for B256 {
    type Err = HexValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        decode_prefixed::<32>("hash", s).map(B256)
    }
}

impl fmt::Display for B256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for B256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "B256({self})")
    }
}

impl From<[u8; 32]> for B256 {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

/// A 4-byte function selector: the first four bytes of the keccak-256 of a function signature.
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
    SerializeDisplay,
    DeserializeFromStr,
)]
pub struct Selector(pub [u8; 4]);

impl Selector {
    /// The selector of a canonical function signature such as `transfer(address,uint256)`.
    pub fn of_signature(signature: &str) -> Self {
        let h = keccak256(signature.as_bytes());
        Self([h[0], h[1], h[2], h[3]])
    }

    /// The selector at the start of `calldata`, if it has at least four bytes.
    pub fn from_calldata(calldata: &[u8]) -> Option<Self> {
        calldata.first_chunk::<4>().map(|b| Self(*b))
    }
}

impl FromStr for Selector {
    type Err = HexValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        decode_prefixed::<4>("selector", s).map(Selector)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Selector({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vectors of EIP-55 itself.
    const EIP55_VECTORS: [&str; 8] = [
        // All caps
        "0x52908400098527886E0F7030069857D2E4169EE7",
        "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
        // All lower
        "0xde709f2102306220921060314715629080e2fb77",
        "0x27b1fdb04752bbc536007a920d24acb045561c26",
        // Normal
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ];

    #[test]
    fn eip55_vectors_parse_and_checksum() {
        for v in EIP55_VECTORS {
            let a: EvmAddress = v.parse().unwrap();
            let mixed = v[2..].bytes().any(|b| b.is_ascii_lowercase())
                && v[2..].bytes().any(|b| b.is_ascii_uppercase());
            if mixed {
                assert_eq!(a.to_string(), v, "mixed-case vector must round-trip exactly");
            } else {
                assert_eq!(a.to_string().to_lowercase(), v.to_lowercase());
            }
        }
    }

    #[test]
    fn wrong_checksum_is_accepted_as_data_and_refused_by_the_strict_parser() {
        // Flip the case of one letter in a valid checksummed address.
        let bad = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
        let good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        assert_eq!(bad.parse::<EvmAddress>().unwrap(), good.parse::<EvmAddress>().unwrap());
        assert!(EvmAddress::checksum_mismatch(bad));
        assert!(!EvmAddress::checksum_mismatch(good));
        assert!(!EvmAddress::checksum_mismatch(&good.to_lowercase()));
        assert!(!EvmAddress::checksum_mismatch("0xnothex"));
        let err = EvmAddress::parse_strict(bad).unwrap_err();
        assert_eq!(
            err,
            HexValueError::BadChecksum {
                input: bad.into(),
                expected: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".into()
            }
        );
        assert!(err.to_string().contains("checksum"));
    }

    #[test]
    fn shape_errors_name_the_problem() {
        assert_eq!(
            "5aaeb6053f3e94c9b9a09f33669435e7ef1beaed".parse::<EvmAddress>().unwrap_err(),
            HexValueError::MissingPrefix { what: "address" }
        );
        assert_eq!(
            "0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea".parse::<EvmAddress>().unwrap_err(),
            HexValueError::WrongLength { what: "address", expected: 40, found: 38 }
        );
        assert_eq!(
            "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beazz".parse::<EvmAddress>().unwrap_err(),
            HexValueError::NonHex { what: "address", found: 'z', position: 40 }
        );
        assert!(matches!(
            "0x".parse::<EvmAddress>(),
            Err(HexValueError::WrongLength { found: 0, .. })
        ));
        assert!(matches!("0xé".parse::<B256>(), Err(HexValueError::NonHex { found: 'é', .. })));
    }

    #[test]
    fn selector_of_known_signatures() {
        assert_eq!(Selector::of_signature("transfer(address,uint256)").to_string(), "0xa9059cbb");
        // Aave V3 Pool.flashLoanSimple
        assert_eq!(
            Selector::of_signature("flashLoanSimple(address,address,uint256,bytes,uint16)")
                .to_string(),
            "0x42b0b77c"
        );
        assert_eq!(Selector::from_calldata(&[0xa9, 0x05, 0x9c]), None);
    }

    #[test]
    fn create_address_matches_known_deployment() {
        // Nonce 0 of the first anvil dev account deploys to this well-known address.
        let deployer: EvmAddress = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".parse().unwrap();
        assert_eq!(
            EvmAddress::create_address(&deployer, 0).to_string(),
            "0x5FbDB2315678afecb367f032d93F642f64180aa3"
        );
        assert_eq!(
            EvmAddress::create_address(&deployer, 1).to_string(),
            "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
        );
    }

    #[test]
    fn keccak_of_empty_code() {
        assert_eq!(
            B256::keccak([]).to_string(),
            "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }
}
