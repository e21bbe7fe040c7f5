//! The signed envelope for everything that is not a ledger transaction: alerts, intel and
//! messages spread by gossip. A [`Signed<T>`] is valid only for its payload type's domain tag
//! and one chain id.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::ChainId;
use crate::encoding::{ContentId, encode, signing_message};
use crate::identity::{AccountId, Keypair, Signature, SignatureError, Verifiable};

/// A payload type that can be signed: it names the domain tag its signatures use.
pub trait SignedPayload: BorshSerialize {
    /// The domain tag, unique per payload type, e.g. `vigil/alert/v1`.
    const DOMAIN: &'static str;
}

/// A payload with its author's signature over `DOMAIN ‖ chain_id ‖ borsh(payload)`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Signed<T> {
    /// The network this signature is valid on.
    pub chain_id: ChainId,
    /// What was signed.
    pub payload: T,
    /// The author.
    pub signer: AccountId,
    /// The author's signature.
    pub signature: Signature,
}

impl<T: SignedPayload> Signed<T> {
    /// Signs `payload` for `chain_id` with `key`.
    pub fn sign(payload: T, chain_id: ChainId, key: &Keypair) -> Self {
        let message = signing_message(T::DOMAIN, &chain_id, &encode(&payload));
        Self { signature: key.sign_raw(&message), signer: key.account_id(), payload, chain_id }
    }

    /// Verifies the signature and that it was made for `expected_chain`.
    pub fn verify(&self, expected_chain: &ChainId) -> Result<(), SignatureError> {
        if &self.chain_id != expected_chain {
            return Err(SignatureError::BadSignature { signer: self.signer });
        }
        self.verify_signature()
    }

    /// The content id of the payload alone: two signers of one payload share it.
    pub fn payload_id(&self) -> ContentId {
        ContentId::of(&self.payload)
    }
}

impl<T: SignedPayload> Verifiable for Signed<T> {
    fn signed_message(&self) -> Vec<u8> {
        signing_message(T::DOMAIN, &self.chain_id, &encode(&self.payload))
    }

    fn signer(&self) -> AccountId {
        self.signer
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }
}
