//! Signing and verifying consensus messages with Vigil keys.
//!
//! Votes are signed over [`crate::certificate`]'s vote bytes (so precommits form a Vigil
//! [`crate::CommitCertificate`] as they are), proposals over the ledger's
//! [`vigil_core::consensus::ProposalStatement`] (as the proposer's `Fin` part does); everything
//! is bound to the chain id, and both are what equivocation evidence is made of.

use async_trait::async_trait;
use malachitebft_app_channel::{Signer, Verifier};
use malachitebft_core_types::{
    NilOrVal, SignedMessage, ValidatorProof, VoteExtensionScope, VoteType,
};
use malachitebft_signing::{Error as SigningError, VerificationResult};
use vigil_core::encoding::{encode, signing_message};
use vigil_core::{AccountId, ChainId, Keypair, Signature};

use super::context::{Proposal, VigilContext, Vote};
use crate::certificate::VoteSignBytes;

const EXTENSION_DOMAIN: &str = "vigil/vote-extension/v1";
const VALIDATOR_PROOF_DOMAIN: &str = "vigil/validator-proof/v1";

/// The exact bytes a vote's signature covers.
pub fn vote_bytes(chain_id: &ChainId, vote: &Vote) -> Vec<u8> {
    let value = match vote.value {
        NilOrVal::Nil => None,
        NilOrVal::Val(hash) => Some(hash),
    };
    let kind = match vote.vote_type {
        VoteType::Prevote => VoteSignBytes::PREVOTE,
        VoteType::Precommit => VoteSignBytes::PRECOMMIT,
    };
    VoteSignBytes {
        kind,
        height: vote.height.0,
        round: vote.round.as_u32().unwrap_or(u32::MAX),
        value,
        validator: vote.validator.0,
    }
    .message(chain_id)
}

/// The bytes a proposal's signature covers: the same statement a proposer's `Fin` part signs.
fn proposal_bytes(chain_id: &ChainId, proposal: &Proposal) -> Vec<u8> {
    super::context::parts_signing_bytes(
        chain_id,
        proposal.height,
        proposal.round,
        proposal.pol_round,
        &proposal.value.0,
        proposal.proposer,
    )
}

fn extension_bytes(chain_id: &ChainId, scope: &VoteExtensionScope<VigilContext>) -> Vec<u8> {
    let body = encode(&(scope.height, scope.round, scope.value_id, scope.validator_address));
    signing_message(EXTENSION_DOMAIN, chain_id, &body)
}

fn proof_bytes(chain_id: &ChainId, public_key: &[u8], peer_id: &[u8]) -> Vec<u8> {
    let body = ValidatorProof::<VigilContext>::signing_bytes(public_key, peer_id);
    signing_message(VALIDATOR_PROOF_DOMAIN, chain_id, &body)
}

fn verified(key: &AccountId, message: &[u8], signature: &Signature) -> VerificationResult {
    VerificationResult::from_bool(key.verify(message, signature).is_ok())
}

/// Signs consensus messages with a validator's Vigil key.
#[derive(Clone, Debug)]
pub struct VigilSigner {
    key: Keypair,
    chain_id: ChainId,
}

impl VigilSigner {
    /// A signer for `key` on `chain_id`.
    pub fn new(key: Keypair, chain_id: ChainId) -> Self {
        Self { key, chain_id }
    }

    /// Signs raw bytes (already domain-tagged by the caller).
    pub fn sign_raw(&self, message: &[u8]) -> Signature {
        self.key.sign_raw(message)
    }
}

#[async_trait]
impl Signer<VigilContext> for VigilSigner {
    async fn sign_vote(
        &self,
        vote: Vote,
    ) -> Result<SignedMessage<VigilContext, Vote>, SigningError> {
        let signature = self.key.sign_raw(&vote_bytes(&self.chain_id, &vote));
        Ok(SignedMessage::new(vote, signature))
    }

    async fn sign_proposal(
        &self,
        proposal: Proposal,
    ) -> Result<SignedMessage<VigilContext, Proposal>, SigningError> {
        let signature = self.key.sign_raw(&proposal_bytes(&self.chain_id, &proposal));
        Ok(SignedMessage::new(proposal, signature))
    }

    async fn sign_vote_extension(
        &self,
        scope: VoteExtensionScope<VigilContext>,
        extension: (),
    ) -> Result<SignedMessage<VigilContext, ()>, SigningError> {
        let signature = self.key.sign_raw(&extension_bytes(&self.chain_id, &scope));
        Ok(SignedMessage::new(extension, signature))
    }

    async fn sign_validator_proof(
        &self,
        public_key: Vec<u8>,
        peer_id: Vec<u8>,
    ) -> Result<ValidatorProof<VigilContext>, SigningError> {
        let signature = self.key.sign_raw(&proof_bytes(&self.chain_id, &public_key, &peer_id));
        Ok(ValidatorProof::new(public_key, peer_id, signature))
    }
}

/// Verifies consensus messages against Vigil account keys.
#[derive(Clone, Debug)]
pub struct VigilVerifier {
    chain_id: ChainId,
}

impl VigilVerifier {
    /// A verifier for `chain_id`.
    pub fn new(chain_id: ChainId) -> Self {
        Self { chain_id }
    }
}

#[async_trait]
impl Verifier<VigilContext> for VigilVerifier {
    async fn verify_signed_vote(
        &self,
        vote: &Vote,
        signature: &Signature,
        public_key: &AccountId,
    ) -> Result<VerificationResult, SigningError> {
        Ok(verified(public_key, &vote_bytes(&self.chain_id, vote), signature))
    }

    async fn verify_signed_proposal(
        &self,
        proposal: &Proposal,
        signature: &Signature,
        public_key: &AccountId,
    ) -> Result<VerificationResult, SigningError> {
        Ok(verified(public_key, &proposal_bytes(&self.chain_id, proposal), signature))
    }

    async fn verify_signed_vote_extension(
        &self,
        scope: &VoteExtensionScope<VigilContext>,
        _extension: &(),
        signature: &Signature,
        public_key: &AccountId,
    ) -> Result<VerificationResult, SigningError> {
        Ok(verified(public_key, &extension_bytes(&self.chain_id, scope), signature))
    }

    async fn verify_validator_proof(
        &self,
        proof: &ValidatorProof<VigilContext>,
    ) -> Result<VerificationResult, SigningError> {
        let Ok(key) = <[u8; 32]>::try_from(proof.public_key.as_slice()) else {
            return Ok(VerificationResult::Invalid);
        };
        let message = proof_bytes(&self.chain_id, &proof.public_key, &proof.peer_id);
        Ok(verified(&AccountId(key), &message, &proof.signature))
    }
}
