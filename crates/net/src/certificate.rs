//! Commit certificates: the proof, stored next to each block, that the block was decided.
//!
//! A solo block carries its proposer's signature over the block hash. A BFT block carries the
//! precommit signatures of validators holding more than two thirds of the voting power. Both
//! sign Vigil messages (`domain tag ‖ chain id ‖ borsh(...)`), so a certificate from one network
//! or for one purpose is useless anywhere else, and anyone holding the validator set can check
//! a certificate without running consensus.

use std::collections::BTreeSet;

use borsh::{BorshDeserialize, BorshSerialize};
use vigil_core::consensus::VoteStatement;
use vigil_core::encoding::{decode, encode, signing_message};
use vigil_core::{AccountId, BlockHash, ChainId, Keypair, Signature, SignatureError};

/// Domain tag of a solo proposer's signature over a block hash.
pub const SOLO_COMMIT_DOMAIN: &str = "vigil/solo-commit/v1";

/// Domain tag of consensus votes (prevotes and precommits); a quorum certificate is made of
/// precommits signed under it.
pub const COMMIT_DOMAIN: &str = vigil_core::consensus::VOTE_DOMAIN;

/// Why a certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The bytes are not a certificate.
    #[error("certificate does not decode: {0}")]
    Decode(String),
    /// The signer is not in the validator set of the height.
    #[error("certificate signer {0} is not a validator at this height")]
    NotAValidator(AccountId),
    /// A validator signed twice.
    #[error("validator {0} appears twice in the certificate")]
    Duplicate(AccountId),
    /// A signature does not verify.
    #[error("certificate signature invalid: {0}")]
    Signature(#[from] SignatureError),
    /// The signers hold two thirds of the voting power or less.
    #[error("certificate signers hold {signed} of {total} voting power; more than 2/3 is needed")]
    NoQuorum {
        /// Power that signed.
        signed: u128,
        /// Total power of the set.
        total: u128,
    },
}

/// One validator's signature inside a quorum certificate.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ValidatorSignature {
    /// The validator.
    pub validator: AccountId,
    /// Its precommit signature.
    pub signature: Signature,
}

/// What was signed in a consensus vote (also the message a quorum certificate's signatures
/// cover): the ledger's [`VoteStatement`], so equivocation evidence made of votes is checked by
/// the ledger against the very bytes validators sign.
pub(crate) type VoteSignBytes = VoteStatement;

/// The proof that a block was decided, as stored next to it and passed to
/// [`crate::ConsensusApp::commit_block`] in its borsh encoding.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum CommitCertificate {
    /// A solo node's signature over `SOLO_COMMIT_DOMAIN ‖ chain id ‖ block hash`.
    Solo {
        /// The proposer (the solo validator).
        proposer: AccountId,
        /// Its signature.
        signature: Signature,
    },
    /// Precommits for the block by more than 2/3 of the voting power, in `round`.
    Quorum {
        /// The consensus round that decided the block.
        round: u32,
        /// The precommit signatures, sorted by validator.
        signatures: Vec<ValidatorSignature>,
    },
}

impl CommitCertificate {
    /// A solo certificate for `block` signed by `key`.
    pub fn solo(chain_id: &ChainId, block: &BlockHash, key: &Keypair) -> Self {
        let message = signing_message(SOLO_COMMIT_DOMAIN, chain_id, block.as_bytes());
        Self::Solo { proposer: key.account_id(), signature: key.sign_raw(&message) }
    }

    /// The canonical bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes canonical bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CertificateError> {
        decode(bytes).map_err(|e| CertificateError::Decode(e.to_string()))
    }

    /// Checks that this certificate proves `block` (at `height`) was decided on `chain_id` by
    /// `validators` (account, power), the set of that height.
    pub fn verify(
        &self,
        chain_id: &ChainId,
        height: u64,
        block: &BlockHash,
        validators: &[(AccountId, u64)],
    ) -> Result<(), CertificateError> {
        let power_of = |who: &AccountId| {
            validators.iter().find(|(v, p)| v == who && *p > 0).map(|(_, p)| u128::from(*p))
        };
        match self {
            Self::Solo { proposer, signature } => {
                power_of(proposer).ok_or(CertificateError::NotAValidator(*proposer))?;
                let message = signing_message(SOLO_COMMIT_DOMAIN, chain_id, block.as_bytes());
                proposer.verify(&message, signature)?;
                Ok(())
            }
            Self::Quorum { round, signatures } => {
                let total: u128 = validators.iter().map(|(_, p)| u128::from(*p)).sum();
                let mut seen = BTreeSet::new();
                let mut signed: u128 = 0;
                for s in signatures {
                    if !seen.insert(s.validator) {
                        return Err(CertificateError::Duplicate(s.validator));
                    }
                    let power = power_of(&s.validator)
                        .ok_or(CertificateError::NotAValidator(s.validator))?;
                    let vote = VoteSignBytes {
                        kind: VoteSignBytes::PRECOMMIT,
                        height,
                        round: *round,
                        value: Some(*block),
                        validator: s.validator,
                    };
                    s.validator.verify(&vote.message(chain_id), &s.signature)?;
                    signed = signed.saturating_add(power);
                }
                if signed.saturating_mul(3) <= total.saturating_mul(2) {
                    return Err(CertificateError::NoQuorum { signed, total });
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> ChainId {
        "vigil-test".parse().unwrap()
    }

    fn precommit(key: &Keypair, height: u64, round: u32, block: BlockHash) -> ValidatorSignature {
        let vote = VoteSignBytes {
            kind: VoteSignBytes::PRECOMMIT,
            height,
            round,
            value: Some(block),
            validator: key.account_id(),
        };
        ValidatorSignature {
            validator: key.account_id(),
            signature: key.sign_raw(&vote.message(&chain())),
        }
    }

    #[test]
    fn solo_certificate_verifies_only_for_its_block_chain_and_validator() {
        let key = Keypair::from_seed(&[1; 32]);
        let block = BlockHash::of_bytes(b"block");
        let set = vec![(key.account_id(), 10)];
        let cert = CommitCertificate::solo(&chain(), &block, &key);
        let cert = CommitCertificate::from_bytes(&cert.to_bytes()).unwrap();
        cert.verify(&chain(), 1, &block, &set).unwrap();
        let other_block = BlockHash::of_bytes(b"other");
        assert!(matches!(
            cert.verify(&chain(), 1, &other_block, &set),
            Err(CertificateError::Signature(_))
        ));
        let other_chain: ChainId = "vigil-other".parse().unwrap();
        assert!(cert.verify(&other_chain, 1, &block, &set).is_err());
        let stranger = Keypair::from_seed(&[2; 32]).account_id();
        assert_eq!(
            cert.verify(&chain(), 1, &block, &[(stranger, 10)]),
            Err(CertificateError::NotAValidator(key.account_id()))
        );
    }

    #[test]
    fn quorum_needs_more_than_two_thirds_of_power() {
        let keys: Vec<Keypair> = (1..=4).map(|i| Keypair::from_seed(&[i; 32])).collect();
        let set: Vec<(AccountId, u64)> = keys.iter().map(|k| (k.account_id(), 25)).collect();
        let block = BlockHash::of_bytes(b"b");
        let sigs = |n: usize| keys[..n].iter().map(|k| precommit(k, 7, 2, block)).collect();
        let three = CommitCertificate::Quorum { round: 2, signatures: sigs(3) };
        three.verify(&chain(), 7, &block, &set).unwrap();
        let two = CommitCertificate::Quorum { round: 2, signatures: sigs(2) };
        assert_eq!(
            two.verify(&chain(), 7, &block, &set),
            Err(CertificateError::NoQuorum { signed: 50, total: 100 })
        );
        // Signatures for another round or height do not count.
        assert!(three.verify(&chain(), 8, &block, &set).is_err());
        let wrong_round = CommitCertificate::Quorum { round: 3, signatures: sigs(3) };
        assert!(wrong_round.verify(&chain(), 7, &block, &set).is_err());
        // The same validator twice is refused.
        let mut dup: Vec<ValidatorSignature> = sigs(2);
        dup.push(dup[0].clone());
        let dup = CommitCertificate::Quorum { round: 2, signatures: dup };
        assert_eq!(
            dup.verify(&chain(), 7, &block, &set),
            Err(CertificateError::Duplicate(keys[0].account_id()))
        );
    }

    proptest::proptest! {
        #[test]
        fn certificates_round_trip(
            round in 0u32..100,
            sigs in proptest::collection::vec((proptest::array::uniform32(0u8..), 0u8..), 0..8),
        ) {
            let signatures = sigs
                .into_iter()
                .map(|(v, s)| ValidatorSignature { validator: AccountId(v), signature: Signature([s; 64]) })
                .collect();
            let cert = CommitCertificate::Quorum { round, signatures };
            proptest::prop_assert_eq!(CommitCertificate::from_bytes(&cert.to_bytes()).unwrap(), cert);
        }
    }

    #[test]
    fn garbage_is_a_decode_error() {
        assert!(matches!(
            CommitCertificate::from_bytes(&[9, 9, 9]),
            Err(CertificateError::Decode(_))
        ));
    }
}
