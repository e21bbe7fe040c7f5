//! Ed25519 identities. An account id is the 32-byte public key; a [`Keypair`] holds the secret
//! and never prints it.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde_with::{DeserializeFromStr, SerializeDisplay};
use zeroize::Zeroizing;

/// Why a signature, key or identity was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The bytes are not a valid Ed25519 public key, or it is a weak (small-order) key.
    #[error("account {0} is not a valid Ed25519 public key")]
    InvalidAccount(AccountId),
    /// The signature does not verify for this signer and message.
    #[error(
        "signature by {signer} does not verify (wrong key, chain id, domain or a changed byte)"
    )]
    BadSignature {
        /// Who claimed to sign.
        signer: AccountId,
    },
    /// A batch failed; `index` is the first item that fails alone.
    #[error("signature {index} in the batch does not verify")]
    BatchItem {
        /// Position of the first failing item.
        index: usize,
    },
}

/// Why a text is not an account id or signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Wrong number of hex digits.
    #[error("{what} must be {expected} hex digits, found {found}")]
    WrongLength {
        /// "account id" or "signature".
        what: &'static str,
        /// Digits expected.
        expected: usize,
        /// Digits found.
        found: usize,
    },
    /// Not hex.
    #[error("{what} is not hex")]
    NotHex {
        /// "account id" or "signature".
        what: &'static str,
    },
}

fn parse_hex<const N: usize>(what: &'static str, s: &str) -> Result<[u8; N], IdError> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    if s.len() != N * 2 {
        return Err(IdError::WrongLength { what, expected: N * 2, found: s.len() });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).map_err(|_| IdError::NotHex { what })?;
    Ok(out)
}

/// A participant: the 32 bytes of its Ed25519 public key, shown as 64 lower-case hex digits.
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
    SerializeDisplay,
    DeserializeFromStr,
)]
pub struct AccountId(pub [u8; 32]);

impl AccountId {
    /// The public key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The Ed25519 key, refusing invalid and weak (small-order) keys.
    pub fn verifying_key(&self) -> Result<VerifyingKey, SignatureError> {
        let key =
            VerifyingKey::from_bytes(&self.0).map_err(|_| SignatureError::InvalidAccount(*self))?;
        if key.is_weak() {
            return Err(SignatureError::InvalidAccount(*self));
        }
        Ok(key)
    }

    /// Verifies `signature` over `message` with strict Ed25519 rules (no malleable encodings).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), SignatureError> {
        let key = self.verifying_key()?;
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        key.verify_strict(message, &sig).map_err(|_| SignatureError::BadSignature { signer: *self })
    }

    /// A short form for logs: the first 8 hex digits.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

impl FromStr for AccountId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex::<32>("account id", s).map(AccountId)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.short())
    }
}

/// A 64-byte Ed25519 signature.
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
    SerializeDisplay,
    DeserializeFromStr,
)]
pub struct Signature(pub [u8; 64]);

impl FromStr for Signature {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex::<64>("signature", s).map(Signature)
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}…)", hex::encode(&self.0[..6]))
    }
}

/// An Ed25519 secret key and its account id. `Debug` never shows the secret.
#[derive(Clone)]
pub struct Keypair {
    signing: SigningKey,
}

impl Keypair {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut())?;
        Ok(Self::from_seed(&seed))
    }

    /// The key whose 32-byte secret seed is `seed` (deterministic; for key files and tests).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self { signing: SigningKey::from_bytes(seed) }
    }

    /// The secret seed, for writing a key file. Handle with care; it is wiped when dropped.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// This key's account id (its public key).
    pub fn account_id(&self) -> AccountId {
        AccountId(self.signing.verifying_key().to_bytes())
    }

    /// Signs raw bytes. Prefer [`crate::Signed::sign`] or [`crate::SignedTx::sign`], which add
    /// the domain tag and chain id.
    pub fn sign_raw(&self, message: &[u8]) -> Signature {
        Signature(self.signing.sign(message).to_bytes())
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({}, secret redacted)", self.account_id().short())
    }
}

/// Something that carries a signature over a message by an account.
pub trait Verifiable {
    /// The exact bytes that were signed.
    fn signed_message(&self) -> Vec<u8>;
    /// The claimed signer.
    fn signer(&self) -> AccountId;
    /// The signature.
    fn signature(&self) -> &Signature;

    /// Verifies this one item.
    fn verify_signature(&self) -> Result<(), SignatureError> {
        self.signer().verify(&self.signed_message(), self.signature())
    }
}

/// Verifies many signatures at once, several times faster than one by one. When the batch
/// fails, the items are checked singly so the error names the first bad one.
pub fn verify_batch<V: Verifiable>(items: &[V]) -> Result<(), SignatureError> {
    if items.is_empty() {
        return Ok(());
    }
    let messages: Vec<Vec<u8>> = items.iter().map(Verifiable::signed_message).collect();
    let mut keys = Vec::with_capacity(items.len());
    for item in items {
        keys.push(item.signer().verifying_key()?);
    }
    let sigs: Vec<ed25519_dalek::Signature> =
        items.iter().map(|i| ed25519_dalek::Signature::from_bytes(&i.signature().0)).collect();
    let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    if ed25519_dalek::verify_batch(&refs, &sigs, &keys).is_ok() {
        return Ok(());
    }
    for (index, (item, message)) in items.iter().zip(&messages).enumerate() {
        if item.signer().verify(message, item.signature()).is_err() {
            return Err(SignatureError::BatchItem { index });
        }
    }
    // The batch equation failed but each item verifies strictly on its own; treat as valid,
    // the single-item check being the rule.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let key = Keypair::from_seed(&[7; 32]);
        let shown = format!("{key:?}");
        assert!(!shown.contains(&hex::encode([7u8; 32])));
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn account_id_text_round_trip_and_errors() {
        let id = Keypair::from_seed(&[1; 32]).account_id();
        assert_eq!(id.to_string().parse::<AccountId>().unwrap(), id);
        assert_eq!(
            "abcd".parse::<AccountId>(),
            Err(IdError::WrongLength { what: "account id", expected: 64, found: 4 })
        );
        assert_eq!(
            "zz".repeat(32).parse::<AccountId>(),
            Err(IdError::NotHex { what: "account id" })
        );
    }

    #[test]
    fn weak_keys_are_refused() {
        // The identity point is a small-order public key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            AccountId(identity).verifying_key(),
            Err(SignatureError::InvalidAccount(_))
        ));
    }
}
