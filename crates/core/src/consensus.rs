//! What validators sign in consensus, and the evidence that one of them signed two conflicting
//! things.
//!
//! A validator signs a [`VoteStatement`] for each prevote and precommit and a
//! [`ProposalStatement`] for each block it proposes, over `domain tag ‖ chain id ‖ borsh`. Two
//! valid signatures by one validator over statements of the same kind for the same height and
//! round but different values are an [`Equivocation`]: proof of misbehaviour that anyone holding
//! the two messages can check without running consensus, and that the ledger slashes.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::encoding::{encode, signing_message};
use crate::identity::{AccountId, Signature, SignatureError};
use crate::{BlockHash, ChainId};

/// Domain tag of consensus votes (prevotes and precommits). A block's quorum certificate is
/// made of precommits signed under it.
pub const VOTE_DOMAIN: &str = "vigil/vote/v1";

/// Domain tag of a proposer's signature over the block it proposes.
pub const PROPOSAL_DOMAIN: &str = "vigil/proposal/v1";

/// A prevote or precommit as signed. `value` is `None` for a vote for nil.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct VoteStatement {
    /// [`VoteStatement::PREVOTE`] or [`VoteStatement::PRECOMMIT`].
    pub kind: u8,
    /// The height voted on.
    pub height: u64,
    /// The round voted in.
    pub round: u32,
    /// The block voted for, or nil.
    pub value: Option<BlockHash>,
    /// The voter.
    pub validator: AccountId,
}

impl VoteStatement {
    /// Kind byte of a prevote.
    pub const PREVOTE: u8 = 0;
    /// Kind byte of a precommit.
    pub const PRECOMMIT: u8 = 1;

    /// The bytes the vote's signature covers on `chain_id`.
    pub fn message(&self, chain_id: &ChainId) -> Vec<u8> {
        signing_message(VOTE_DOMAIN, chain_id, &encode(self))
    }
}

/// A proposal as signed: the block a proposer puts forward for a height and round.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ProposalStatement {
    /// The height proposed for.
    pub height: u64,
    /// The round proposed in.
    pub round: u32,
    /// The proof-of-lock round, `None` for a fresh value.
    pub pol_round: Option<u32>,
    /// The proposed block's hash.
    pub value: BlockHash,
    /// The proposer.
    pub proposer: AccountId,
}

impl ProposalStatement {
    /// The bytes the proposer's signature covers on `chain_id`.
    pub fn message(&self, chain_id: &ChainId) -> Vec<u8> {
        signing_message(PROPOSAL_DOMAIN, chain_id, &encode(self))
    }
}

/// One signed consensus message.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum SignedStatement {
    /// A signed prevote or precommit.
    Vote {
        /// What was signed.
        vote: VoteStatement,
        /// The validator's signature over [`VoteStatement::message`].
        signature: Signature,
    },
    /// A signed proposal.
    Proposal {
        /// What was signed.
        proposal: ProposalStatement,
        /// The proposer's signature over [`ProposalStatement::message`].
        signature: Signature,
    },
}

impl SignedStatement {
    /// The validator that signed.
    pub fn signer(&self) -> AccountId {
        match self {
            Self::Vote { vote, .. } => vote.validator,
            Self::Proposal { proposal, .. } => proposal.proposer,
        }
    }

    /// The (height, round) the statement is about.
    pub fn slot(&self) -> (u64, u32) {
        match self {
            Self::Vote { vote, .. } => (vote.height, vote.round),
            Self::Proposal { proposal, .. } => (proposal.height, proposal.round),
        }
    }

    /// Checks the signature against the signer named in the statement.
    pub fn verify(&self, chain_id: &ChainId) -> Result<(), SignatureError> {
        match self {
            Self::Vote { vote, signature } => {
                vote.validator.verify(&vote.message(chain_id), signature)
            }
            Self::Proposal { proposal, signature } => {
                proposal.proposer.verify(&proposal.message(chain_id), signature)
            }
        }
    }
}

/// Why two statements are not proof of equivocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EquivocationError {
    /// Signed by two different validators.
    #[error("the two statements are signed by different validators ({first} and {second})")]
    DifferentSigners {
        /// Signer of the first.
        first: AccountId,
        /// Signer of the second.
        second: AccountId,
    },
    /// Not the same kind of message (a vote and a proposal, or a prevote and a precommit).
    #[error(
        "the two statements are of different kinds; both must be proposals, prevotes or precommits"
    )]
    DifferentKinds,
    /// About different heights or rounds.
    #[error("the statements are for different slots ({first:?} and {second:?} as (height, round))")]
    DifferentSlots {
        /// (height, round) of the first.
        first: (u64, u32),
        /// (height, round) of the second.
        second: (u64, u32),
    },
    /// The two statements sign the same value: no conflict.
    #[error("the two statements agree on the value; that is not equivocation")]
    SameValue,
    /// A signature does not verify.
    #[error("statement {which} has an invalid signature: {error}")]
    Signature {
        /// `first` or `second`.
        which: &'static str,
        /// Why.
        error: SignatureError,
    },
}

/// Two conflicting statements signed by one validator for one height and round.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Equivocation {
    /// One statement.
    pub first: SignedStatement,
    /// The conflicting one.
    pub second: SignedStatement,
}

impl Equivocation {
    /// The validator the evidence accuses.
    pub fn offender(&self) -> AccountId {
        self.first.signer()
    }

    /// The (height, round) of the conflict.
    pub fn slot(&self) -> (u64, u32) {
        self.first.slot()
    }

    /// Checks that this is proof of equivocation on `chain_id`: one signer, same kind, same
    /// height and round, different values, both signatures valid.
    pub fn verify(&self, chain_id: &ChainId) -> Result<(), EquivocationError> {
        let (first, second) = (self.first.signer(), self.second.signer());
        if first != second {
            return Err(EquivocationError::DifferentSigners { first, second });
        }
        let same_value = match (&self.first, &self.second) {
            (SignedStatement::Vote { vote: a, .. }, SignedStatement::Vote { vote: b, .. }) => {
                if a.kind != b.kind {
                    return Err(EquivocationError::DifferentKinds);
                }
                a.value == b.value
            }
            (
                SignedStatement::Proposal { proposal: a, .. },
                SignedStatement::Proposal { proposal: b, .. },
            ) => a.value == b.value,
            _ => return Err(EquivocationError::DifferentKinds),
        };
        if self.first.slot() != self.second.slot() {
            return Err(EquivocationError::DifferentSlots {
                first: self.first.slot(),
                second: self.second.slot(),
            });
        }
        if same_value {
            return Err(EquivocationError::SameValue);
        }
        self.first
            .verify(chain_id)
            .map_err(|error| EquivocationError::Signature { which: "first", error })?;
        self.second
            .verify(chain_id)
            .map_err(|error| EquivocationError::Signature { which: "second", error })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ContentId, Keypair};

    fn chain() -> ChainId {
        "vigil-test".parse().unwrap()
    }

    fn proposal(key: &Keypair, value: &[u8]) -> SignedStatement {
        let proposal = ProposalStatement {
            height: 7,
            round: 0,
            pol_round: None,
            value: ContentId::of(&value.to_vec()),
            proposer: key.account_id(),
        };
        let signature = key.sign_raw(&proposal.message(&chain()));
        SignedStatement::Proposal { proposal, signature }
    }

    fn vote(key: &Keypair, kind: u8, value: Option<&[u8]>) -> SignedStatement {
        let vote = VoteStatement {
            kind,
            height: 7,
            round: 1,
            value: value.map(|v| ContentId::of(&v.to_vec())),
            validator: key.account_id(),
        };
        let signature = key.sign_raw(&vote.message(&chain()));
        SignedStatement::Vote { vote, signature }
    }

    #[test]
    fn two_proposals_or_votes_for_one_slot_are_equivocation() {
        let key = Keypair::from_seed(&[3; 32]);
        let e = Equivocation { first: proposal(&key, b"a"), second: proposal(&key, b"b") };
        assert_eq!(e.verify(&chain()), Ok(()));
        assert_eq!(e.offender(), key.account_id());
        let nil = Equivocation {
            first: vote(&key, VoteStatement::PRECOMMIT, Some(b"a")),
            second: vote(&key, VoteStatement::PRECOMMIT, None),
        };
        assert_eq!(nil.verify(&chain()), Ok(()));
    }

    #[test]
    fn refuses_what_is_not_a_conflict() {
        let key = Keypair::from_seed(&[3; 32]);
        let other = Keypair::from_seed(&[4; 32]);
        let same = Equivocation { first: proposal(&key, b"a"), second: proposal(&key, b"a") };
        assert_eq!(same.verify(&chain()), Err(EquivocationError::SameValue));
        let two = Equivocation { first: proposal(&key, b"a"), second: proposal(&other, b"b") };
        assert!(matches!(two.verify(&chain()), Err(EquivocationError::DifferentSigners { .. })));
        let kinds = Equivocation {
            first: vote(&key, VoteStatement::PREVOTE, Some(b"a")),
            second: vote(&key, VoteStatement::PRECOMMIT, Some(b"b")),
        };
        assert_eq!(kinds.verify(&chain()), Err(EquivocationError::DifferentKinds));
        let mixed = Equivocation {
            first: proposal(&key, b"a"),
            second: vote(&key, VoteStatement::PREVOTE, Some(b"b")),
        };
        assert_eq!(mixed.verify(&chain()), Err(EquivocationError::DifferentKinds));
        let mut slots = Equivocation { first: proposal(&key, b"a"), second: proposal(&key, b"b") };
        if let SignedStatement::Proposal { proposal, signature } = &mut slots.second {
            proposal.round = 1;
            *signature = key.sign_raw(&proposal.message(&chain()));
        }
        assert!(matches!(slots.verify(&chain()), Err(EquivocationError::DifferentSlots { .. })));
        let mut forged = Equivocation { first: proposal(&key, b"a"), second: proposal(&key, b"b") };
        if let SignedStatement::Proposal { signature, .. } = &mut forged.second {
            *signature = other.sign_raw(b"something else");
        }
        assert!(matches!(
            forged.verify(&chain()),
            Err(EquivocationError::Signature { which: "second", .. })
        ));
        let elsewhere = Equivocation { first: proposal(&key, b"a"), second: proposal(&key, b"b") };
        assert!(elsewhere.verify(&"vigil-other".parse().unwrap()).is_err());
    }
}
