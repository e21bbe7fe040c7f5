//! Canonical encoding and content addressing.
//!
//! Every signed or hashed payload is encoded with borsh, which has exactly one encoding per
//! value. A [`ContentId`] is the BLAKE3 hash of those bytes, so the same report reached through
//! two feeds has one id. Signatures cover `domain tag ‖ chain id ‖ bytes` (see
//! [`signing_message`]) so a signature made for one purpose or one network is useless elsewhere.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use serde_with::{DeserializeFromStr, SerializeDisplay};

use crate::ChainId;

/// Largest canonical payload Vigil will decode (1 MiB): bigger inputs are refused before parsing.
pub const MAX_ENCODED_LEN: usize = 1 << 20;

/// Why bytes could not be decoded into a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input is larger than [`MAX_ENCODED_LEN`].
    #[error("encoded value is {len} bytes; at most {max} are accepted")]
    TooLarge {
        /// Input length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not a valid encoding (truncated, trailing bytes, unknown variant, ...).
    #[error("invalid encoding: {0}")]
    Invalid(String),
}

/// The canonical (borsh) bytes of a value.
pub fn encode<T: BorshSerialize + ?Sized>(value: &T) -> Vec<u8> {
    borsh::to_vec(value).expect("writing borsh into a Vec cannot fail")
}

/// Decodes canonical bytes, refusing oversized input and trailing bytes.
pub fn decode<T: BorshDeserialize>(bytes: &[u8]) -> Result<T, DecodeError> {
    if bytes.len() > MAX_ENCODED_LEN {
        return Err(DecodeError::TooLarge { len: bytes.len(), max: MAX_ENCODED_LEN });
    }
    borsh::from_slice(bytes).map_err(|e| DecodeError::Invalid(e.to_string()))
}

/// Decodes a borsh string into a text newtype through its parser, accepting only text already in
/// its normal form (`parse(text).to_string() == text`), so every decoded value is one the parser
/// could have produced: a `Domain` never arrives as `EXAMPLE.com`.
pub(crate) fn decode_normal_text<T, R>(reader: &mut R) -> borsh::io::Result<T>
where
    T: FromStr + fmt::Display,
    T::Err: fmt::Display,
    R: borsh::io::Read,
{
    use borsh::io::{Error, ErrorKind};
    let text = String::deserialize_reader(reader)?;
    let value = text.parse::<T>().map_err(|e| Error::new(ErrorKind::InvalidData, e.to_string()))?;
    if value.to_string() != text {
        return Err(Error::new(ErrorKind::InvalidData, "value is not in normal form"));
    }
    Ok(value)
}

/// The bytes an Ed25519 signature covers: `len(tag) ‖ tag ‖ len(chain) ‖ chain ‖ payload`, the
/// lengths as little-endian u16 so no tag/chain pair can be confused with another.
pub fn signing_message(domain_tag: &str, chain_id: &ChainId, payload: &[u8]) -> Vec<u8> {
    let tag = domain_tag.as_bytes();
    let chain = chain_id.as_str().as_bytes();
    let mut msg = Vec::with_capacity(4 + tag.len() + chain.len() + payload.len());
    msg.extend_from_slice(&(tag.len() as u16).to_le_bytes());
    msg.extend_from_slice(tag);
    msg.extend_from_slice(&(chain.len() as u16).to_le_bytes());
    msg.extend_from_slice(chain);
    msg.extend_from_slice(payload);
    msg
}

/// A BLAKE3 content id: the hash of a value's canonical bytes. Shown as 64 hex digits.
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
pub struct ContentId(pub [u8; 32]);

impl ContentId {
    /// The content id of a value.
    pub fn of<T: BorshSerialize + ?Sized>(value: &T) -> Self {
        Self::of_bytes(&encode(value))
    }

    /// The content id of already-encoded bytes.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }

    /// The id as raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A short form for logs: the first 12 hex digits.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..6])
    }
}

/// Why a text is not a content id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("id must be 64 hex digits (a BLAKE3 content id), got {0:?}")]
pub struct ContentIdError(pub String);

impl FromStr for ContentId {
    type Err = ContentIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix("0x").unwrap_or(s);
        let mut out = [0u8; 32];
        if digits.len() != 64 || hex::decode_to_slice(digits, &mut out).is_err() {
            return Err(ContentIdError(s.chars().take(80).collect()));
        }
        Ok(Self(out))
    }
}

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentId({})", self.short())
    }
}
