//! The wire and WAL encoding of consensus messages: borsh throughout. Malachite's `borsh`
//! feature covers most of its types; the sync response (whose certificate type has no borsh
//! impl) and the validator proof are mapped to Vigil wire structs here.

use borsh::{BorshDeserialize, BorshSerialize};
use bytes::Bytes;
use malachitebft_app_channel::app::types::codec::{Codec, HasEncodedLen};
use malachitebft_app_channel::app::types::streaming::StreamMessage;
use malachitebft_app_channel::app::types::sync::{RawDecidedValue, Request, Response, Status};
use malachitebft_app_channel::app::types::{ProposedValue, SignedConsensusMsg};
use malachitebft_core_consensus::LivenessMsg;
use malachitebft_core_types::{
    ExtendedCommitCertificate, ExtendedCommitSignature, PolkaCertificate, Round, SignedMessage,
    ValidatorProof,
};
use malachitebft_sync::ValueResponse;
use vigil_core::{BlockHash, Signature};

use super::context::{Address, Height, ProposalPart, VigilContext};

/// Largest consensus or sync message decoded (16 MiB); bigger input is refused unread.
pub const MAX_WIRE_BYTES: usize = 16 << 20;

/// Why consensus bytes could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Larger than [`MAX_WIRE_BYTES`].
    #[error("consensus message is {0} bytes, above the limit")]
    TooLarge(usize),
    /// Not a valid encoding.
    #[error("invalid consensus message encoding: {0}")]
    Invalid(String),
}

/// Borsh codec for every type the engine sends, stores or syncs.
#[derive(Clone, Copy, Debug, Default)]
pub struct VigilCodec;

fn encode_value<T: BorshSerialize>(value: &T) -> Result<Bytes, CodecError> {
    borsh::to_vec(value).map(Bytes::from).map_err(|e| CodecError::Invalid(e.to_string()))
}

fn decode_value<T: BorshDeserialize>(bytes: &[u8]) -> Result<T, CodecError> {
    if bytes.len() > MAX_WIRE_BYTES {
        return Err(CodecError::TooLarge(bytes.len()));
    }
    borsh::from_slice(bytes).map_err(|e| CodecError::Invalid(e.to_string()))
}

macro_rules! borsh_codec {
    ($($ty:ty),* $(,)?) => {$(
        impl Codec<$ty> for VigilCodec {
            type Error = CodecError;

            fn decode(&self, bytes: Bytes) -> Result<$ty, CodecError> {
                decode_value(&bytes)
            }

            fn encode(&self, msg: &$ty) -> Result<Bytes, CodecError> {
                encode_value(msg)
            }
        }
    )*};
}

borsh_codec!(
    ProposalPart,
    SignedConsensusMsg<VigilContext>,
    LivenessMsg<VigilContext>,
    StreamMessage<ProposalPart>,
    ProposedValue<VigilContext>,
    PolkaCertificate<VigilContext>,
    Status<VigilContext>,
    Request<VigilContext>,
);

#[derive(BorshSerialize, BorshDeserialize)]
struct WireProof {
    public_key: Vec<u8>,
    peer_id: Vec<u8>,
    signature: Signature,
}

impl Codec<ValidatorProof<VigilContext>> for VigilCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<ValidatorProof<VigilContext>, CodecError> {
        let w: WireProof = decode_value(&bytes)?;
        Ok(ValidatorProof::new(w.public_key, w.peer_id, w.signature))
    }

    fn encode(&self, msg: &ValidatorProof<VigilContext>) -> Result<Bytes, CodecError> {
        encode_value(&WireProof {
            public_key: msg.public_key.clone(),
            peer_id: msg.peer_id.clone(),
            signature: msg.signature,
        })
    }
}

#[derive(BorshSerialize, BorshDeserialize)]
struct WireCommitSignature {
    address: Address,
    signature: Signature,
    extension: Option<SignedMessage<VigilContext, ()>>,
}

#[derive(BorshSerialize, BorshDeserialize)]
struct WireCertificate {
    height: Height,
    round: Round,
    value_id: BlockHash,
    signatures: Vec<WireCommitSignature>,
}

#[derive(BorshSerialize, BorshDeserialize)]
struct WireDecided {
    value_bytes: Vec<u8>,
    certificate: WireCertificate,
}

#[derive(BorshSerialize, BorshDeserialize)]
struct WireResponse {
    start_height: Height,
    values: Vec<WireDecided>,
}

fn to_wire(response: &Response<VigilContext>) -> WireResponse {
    let Response::ValueResponse(r) = response;
    WireResponse {
        start_height: r.start_height,
        values: r
            .values
            .iter()
            .map(|v| WireDecided {
                value_bytes: v.value_bytes.to_vec(),
                certificate: WireCertificate {
                    height: v.certificate.height,
                    round: v.certificate.round,
                    value_id: v.certificate.value_id,
                    signatures: v
                        .certificate
                        .commit_signatures
                        .iter()
                        .map(|s| WireCommitSignature {
                            address: s.address,
                            signature: s.signature,
                            extension: s.extension.clone(),
                        })
                        .collect(),
                },
            })
            .collect(),
    }
}

fn from_wire(w: WireResponse) -> Response<VigilContext> {
    Response::ValueResponse(ValueResponse {
        start_height: w.start_height,
        values: w
            .values
            .into_iter()
            .map(|v| RawDecidedValue {
                value_bytes: Bytes::from(v.value_bytes),
                certificate: ExtendedCommitCertificate {
                    height: v.certificate.height,
                    round: v.certificate.round,
                    value_id: v.certificate.value_id,
                    commit_signatures: v
                        .certificate
                        .signatures
                        .into_iter()
                        .map(|s| ExtendedCommitSignature::new(s.address, s.signature, s.extension))
                        .collect(),
                },
            })
            .collect(),
    })
}

impl Codec<Response<VigilContext>> for VigilCodec {
    type Error = CodecError;

    fn decode(&self, bytes: Bytes) -> Result<Response<VigilContext>, CodecError> {
        decode_value(&bytes).map(from_wire)
    }

    fn encode(&self, msg: &Response<VigilContext>) -> Result<Bytes, CodecError> {
        encode_value(&to_wire(msg))
    }
}

impl HasEncodedLen<Response<VigilContext>> for VigilCodec {
    fn encoded_len(&self, msg: &Response<VigilContext>) -> Result<usize, CodecError> {
        borsh::object_length(&to_wire(msg)).map_err(|e| CodecError::Invalid(e.to_string()))
    }
}

/// Decodes untrusted consensus-network bytes as each message type the engine accepts; used by
/// the fuzz target. Never panics; returns how many types accepted the bytes.
pub fn decode_any(bytes: &[u8]) -> usize {
    let b = Bytes::copy_from_slice(bytes);
    let c = VigilCodec;
    let mut ok = 0;
    ok += usize::from(Codec::<ProposalPart>::decode(&c, b.clone()).is_ok());
    ok += usize::from(Codec::<SignedConsensusMsg<VigilContext>>::decode(&c, b.clone()).is_ok());
    ok += usize::from(Codec::<LivenessMsg<VigilContext>>::decode(&c, b.clone()).is_ok());
    ok += usize::from(Codec::<StreamMessage<ProposalPart>>::decode(&c, b.clone()).is_ok());
    ok += usize::from(Codec::<ValidatorProof<VigilContext>>::decode(&c, b.clone()).is_ok());
    ok += usize::from(Codec::<Status<VigilContext>>::decode(&c, b.clone()).is_ok());
    ok += usize::from(Codec::<Request<VigilContext>>::decode(&c, b.clone()).is_ok());
    if let Ok(response) = Codec::<Response<VigilContext>>::decode(&c, b.clone()) {
        ok += 1;
        // What decodes re-encodes to the same bytes.
        let again = Codec::<Response<VigilContext>>::encode(&c, &response).map(|e| e == b);
        debug_assert!(again.unwrap_or(false));
    }
    ok += usize::from(Codec::<ProposedValue<VigilContext>>::decode(&c, b).is_ok());
    ok
}

#[cfg(test)]
mod tests {
    use malachitebft_core_types::NilOrVal;
    use vigil_core::{AccountId, Keypair};

    use super::*;
    use crate::bft::context::{BlockValue, Vote};

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = decode_any(&bytes);
        }
    }

    #[test]
    fn sync_response_round_trips() {
        let key = Keypair::from_seed(&[1; 32]);
        let response = Response::ValueResponse(ValueResponse {
            start_height: Height(5),
            values: vec![RawDecidedValue {
                value_bytes: Bytes::from_static(b"block"),
                certificate: ExtendedCommitCertificate {
                    height: Height(5),
                    round: Round::new(1),
                    value_id: BlockHash::of_bytes(b"block"),
                    commit_signatures: vec![ExtendedCommitSignature::new(
                        Address(key.account_id()),
                        key.sign_raw(b"x"),
                        None,
                    )],
                },
            }],
        });
        let bytes = Codec::<Response<VigilContext>>::encode(&VigilCodec, &response).unwrap();
        assert_eq!(
            HasEncodedLen::<Response<VigilContext>>::encoded_len(&VigilCodec, &response).unwrap(),
            bytes.len()
        );
        let back: Response<VigilContext> = VigilCodec.decode(bytes).unwrap();
        assert_eq!(back, response);
    }

    #[test]
    fn votes_and_proposed_values_round_trip_and_garbage_fails_cleanly() {
        let vote = Vote {
            vote_type: malachitebft_core_types::VoteType::Precommit,
            height: Height(3),
            round: Round::new(0),
            value: NilOrVal::Val(BlockHash::of_bytes(b"b")),
            validator: Address(AccountId([2; 32])),
            extension: None,
        };
        let msg = SignedConsensusMsg::Vote(SignedMessage::new(vote, Signature([7; 64])));
        let bytes = Codec::<SignedConsensusMsg<VigilContext>>::encode(&VigilCodec, &msg).unwrap();
        let back: SignedConsensusMsg<VigilContext> = VigilCodec.decode(bytes).unwrap();
        assert_eq!(back, msg);
        let value = ProposedValue::<VigilContext> {
            height: Height(3),
            round: Round::new(2),
            valid_round: Round::Nil,
            proposer: Address(AccountId([2; 32])),
            value: BlockValue(BlockHash::of_bytes(b"b")),
            validity: malachitebft_core_types::Validity::Valid,
        };
        let bytes = Codec::<ProposedValue<VigilContext>>::encode(&VigilCodec, &value).unwrap();
        assert_eq!(
            Codec::<ProposedValue<VigilContext>>::decode(&VigilCodec, bytes).unwrap(),
            value
        );
        for garbage in [&[][..], &[0xff; 7][..], &[1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff][..]] {
            let _ = decode_any(garbage);
        }
    }
}
