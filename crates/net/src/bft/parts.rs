//! Proposal parts: a block cut into chunks between a signed `Init` and `Fin`, and the
//! reassembly of streams received from peers (bounded in count and size, so a peer cannot make
//! a validator hold unbounded data).

use std::collections::BTreeMap;

use bytes::Bytes;
use malachitebft_app_channel::app::streaming::{StreamContent, StreamId, StreamMessage};
use malachitebft_core_types::Round;
use vigil_core::encoding::encode;
use vigil_core::{Block, ChainId};

use super::context::{Address, Height, ProposalPart, ValidatorSet, parts_signing_bytes};
use super::signing::VigilSigner;

/// Bytes of block per `Data` part.
pub const CHUNK_BYTES: usize = 128 * 1024;

/// Streams being reassembled at once; the oldest is dropped past this.
const MAX_OPEN_STREAMS: usize = 256;

/// The parts of one proposal, in order: `Init`, `Data`…, `Fin`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProposalParts {
    /// Height.
    pub height: Height,
    /// Round the parts were signed for.
    pub round: Round,
    /// Proof-of-lock round.
    pub pol_round: Round,
    /// The proposer.
    pub proposer: Address,
    /// All parts.
    pub parts: Vec<ProposalPart>,
}

/// Why received parts do not make a valid proposal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartsError {
    /// Parts out of shape (no `Init` first, no `Fin` last, ...).
    #[error("proposal parts are malformed: {0}")]
    Malformed(&'static str),
    /// The block bytes do not decode canonically.
    #[error("proposed block does not decode: {0}")]
    BadBlock(String),
    /// The block says another height or proposer than its `Init` part.
    #[error("proposed block disagrees with its Init part")]
    Mismatch,
    /// Not the proposer of that height and round.
    #[error("{got} is not the proposer of this height and round ({expected} is)")]
    WrongProposer {
        /// Who sent it.
        got: Address,
        /// Who should have.
        expected: Address,
    },
    /// The `Fin` signature does not verify.
    #[error("proposal signature does not verify")]
    BadSignature,
}

/// Builds the signed parts of `block`, proposed by `signer`'s validator.
pub fn build(
    signer: &VigilSigner,
    chain_id: &ChainId,
    round: Round,
    pol_round: Round,
    proposer: Address,
    block: &Block,
) -> ProposalParts {
    let height = Height(block.height);
    let bytes = encode(block);
    let mut parts = Vec::with_capacity(bytes.len() / CHUNK_BYTES + 3);
    parts.push(ProposalPart::Init { height, round, pol_round, proposer });
    for chunk in bytes.chunks(CHUNK_BYTES) {
        parts.push(ProposalPart::Data(chunk.to_vec()));
    }
    let message = parts_signing_bytes(chain_id, height, round, pol_round, &block.hash(), proposer);
    parts.push(ProposalPart::Fin(signer.sign_raw(&message)));
    ProposalParts { height, round, pol_round, proposer, parts }
}

/// The stream messages that carry `parts`, under `stream_id`.
pub fn stream(parts: &ProposalParts, stream_id: &StreamId) -> Vec<StreamMessage<ProposalPart>> {
    let mut out: Vec<StreamMessage<ProposalPart>> = parts
        .parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            StreamMessage::new(stream_id.clone(), i as u64, StreamContent::Data(p.clone()))
        })
        .collect();
    out.push(StreamMessage::new(stream_id.clone(), parts.parts.len() as u64, StreamContent::Fin));
    out
}

/// A stream id unique to this proposer: height, round and a local counter.
pub fn stream_id(height: Height, round: Round, counter: u64) -> StreamId {
    let mut bytes = Vec::with_capacity(20);
    bytes.extend_from_slice(&height.0.to_be_bytes());
    bytes.extend_from_slice(&round.as_u32().unwrap_or(u32::MAX).to_be_bytes());
    bytes.extend_from_slice(&counter.to_be_bytes());
    StreamId::new(Bytes::from(bytes))
}

/// Checks parts and recovers their block: shape, canonical block bytes, agreement with `Init`,
/// the expected proposer for (height, round), and the `Fin` signature.
pub fn assemble(
    parts: &ProposalParts,
    chain_id: &ChainId,
    validators: &ValidatorSet,
    max_block_bytes: usize,
) -> Result<Block, PartsError> {
    let (Some(ProposalPart::Init { .. }), Some(ProposalPart::Fin(signature))) =
        (parts.parts.first(), parts.parts.last())
    else {
        return Err(PartsError::Malformed("Init must come first and Fin last"));
    };
    let mut bytes = Vec::new();
    for part in &parts.parts[1..parts.parts.len() - 1] {
        let ProposalPart::Data(chunk) = part else {
            return Err(PartsError::Malformed("only Data parts may come between Init and Fin"));
        };
        if bytes.len() + chunk.len() > max_block_bytes {
            return Err(PartsError::Malformed("block larger than the limit"));
        }
        bytes.extend_from_slice(chunk);
    }
    let block: Block =
        borsh::from_slice(&bytes).map_err(|e| PartsError::BadBlock(e.to_string()))?;
    if encode(&block) != bytes {
        return Err(PartsError::BadBlock("not canonically encoded".into()));
    }
    if block.height != parts.height.0 || block.proposer != parts.proposer.0 {
        return Err(PartsError::Mismatch);
    }
    let expected = validators.proposer(parts.height.0, parts.round.as_u32().unwrap_or(0)).address;
    if expected != parts.proposer {
        return Err(PartsError::WrongProposer { got: parts.proposer, expected });
    }
    let message = parts_signing_bytes(
        chain_id,
        parts.height,
        parts.round,
        parts.pol_round,
        &block.hash(),
        parts.proposer,
    );
    parts.proposer.0.verify(&message, signature).map_err(|_| PartsError::BadSignature)?;
    Ok(block)
}

struct OpenStream {
    opened: u64,
    messages: BTreeMap<u64, StreamContent<ProposalPart>>,
    fin_at: Option<u64>,
    bytes: usize,
}

/// Streams of parts being received, keyed by (publisher, stream id).
pub struct PartStreams {
    streams: BTreeMap<(Vec<u8>, StreamId), OpenStream>,
    counter: u64,
    max_stream_bytes: usize,
}

impl PartStreams {
    /// Reassembly that refuses any stream carrying more than `max_stream_bytes`.
    pub fn new(max_stream_bytes: usize) -> Self {
        Self { streams: BTreeMap::new(), counter: 0, max_stream_bytes }
    }

    /// Adds one message; returns the parts once the stream is complete.
    pub fn insert(
        &mut self,
        publisher: Vec<u8>,
        message: StreamMessage<ProposalPart>,
    ) -> Option<ProposalParts> {
        let key = (publisher, message.stream_id.clone());
        if !self.streams.contains_key(&key) && self.streams.len() >= MAX_OPEN_STREAMS {
            let oldest = self.streams.iter().min_by_key(|(_, s)| s.opened).map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.streams.remove(&oldest);
            }
        }
        self.counter += 1;
        let opened = self.counter;
        let stream = self.streams.entry(key.clone()).or_insert_with(|| OpenStream {
            opened,
            messages: BTreeMap::new(),
            fin_at: None,
            bytes: 0,
        });
        let size = match &message.content {
            StreamContent::Data(ProposalPart::Data(chunk)) => chunk.len(),
            _ => 0,
        };
        stream.bytes = stream.bytes.saturating_add(size);
        let too_many = message.sequence > (self.max_stream_bytes / CHUNK_BYTES + 4) as u64;
        if stream.bytes > self.max_stream_bytes || too_many {
            self.streams.remove(&key);
            return None;
        }
        if message.content.is_fin() {
            stream.fin_at = Some(message.sequence);
        }
        stream.messages.insert(message.sequence, message.content);
        let fin_at = stream.fin_at?;
        if stream.messages.len() as u64 != fin_at + 1 {
            return None;
        }
        let stream = self.streams.remove(&key)?;
        let parts: Vec<ProposalPart> =
            stream.messages.into_values().filter_map(StreamContent::into_data).collect();
        let Some(ProposalPart::Init { height, round, pol_round, proposer }) =
            parts.first().cloned()
        else {
            return None;
        };
        Some(ProposalParts { height, round, pol_round, proposer, parts })
    }
}

#[cfg(test)]
mod tests {
    use vigil_core::{AccountId, BlockHash, Keypair};

    use super::*;

    fn chain() -> ChainId {
        "vigil-parts".parse().unwrap()
    }

    fn setup() -> (Vec<Keypair>, ValidatorSet) {
        let keys: Vec<Keypair> = (1..=4).map(|i| Keypair::from_seed(&[i; 32])).collect();
        let set = ValidatorSet::new(&keys.iter().map(|k| (k.account_id(), 1)).collect::<Vec<_>>())
            .unwrap();
        (keys, set)
    }

    fn proposer_key<'a>(keys: &'a [Keypair], set: &ValidatorSet, h: u64) -> &'a Keypair {
        let who = set.proposer(h, 0).public_key;
        keys.iter().find(|k| k.account_id() == who).unwrap()
    }

    fn block(h: u64, proposer: AccountId, filler: usize) -> Block {
        let user = Keypair::from_seed(&[99; 32]);
        let txs = (0..filler)
            .map(|n| {
                vigil_core::Tx {
                    chain_id: chain(),
                    signer: user.account_id(),
                    nonce: n as u64,
                    body: vigil_core::TxBody::Bond { amount: vigil_core::Amount(1) },
                }
                .sign(&user)
            })
            .collect();
        Block { height: h, time: 1, proposer, parent: BlockHash::default(), txs }
    }

    #[test]
    fn parts_stream_out_of_order_and_reassemble() {
        let (keys, set) = setup();
        let key = proposer_key(&keys, &set, 3);
        let signer = VigilSigner::new(key.clone(), chain());
        let b = block(3, key.account_id(), 2000); // ~ 400 KiB: several chunks
        let parts =
            build(&signer, &chain(), Round::new(0), Round::Nil, Address(key.account_id()), &b);
        assert!(parts.parts.len() > 3);
        let mut msgs = stream(&parts, &stream_id(Height(3), Round::new(0), 1));
        msgs.reverse();
        let mut streams = PartStreams::new(4 << 20);
        let mut done = None;
        for m in msgs {
            if let Some(p) = streams.insert(b"peer".to_vec(), m) {
                done = Some(p);
            }
        }
        let done = done.expect("complete");
        assert_eq!(done, parts);
        assert_eq!(assemble(&done, &chain(), &set, 4 << 20).unwrap(), b);
    }

    #[test]
    fn wrong_proposer_bad_signature_and_oversize_are_refused() {
        let (keys, set) = setup();
        let key = proposer_key(&keys, &set, 5);
        let other = keys.iter().find(|k| k.account_id() != key.account_id()).unwrap();
        let b = block(5, other.account_id(), 1);
        let signer = VigilSigner::new(other.clone(), chain());
        let parts =
            build(&signer, &chain(), Round::new(0), Round::Nil, Address(other.account_id()), &b);
        assert!(matches!(
            assemble(&parts, &chain(), &set, 1 << 20),
            Err(PartsError::WrongProposer { .. })
        ));

        let good = block(5, key.account_id(), 1);
        let mut parts = build(
            &VigilSigner::new(key.clone(), chain()),
            &chain(),
            Round::new(0),
            Round::Nil,
            Address(key.account_id()),
            &good,
        );
        assemble(&parts, &chain(), &set, 1 << 20).unwrap();
        assert_eq!(
            assemble(&parts, &chain(), &set, 10),
            Err(PartsError::Malformed("block larger than the limit"))
        );
        parts.round = Round::new(4); // signature was for round 0 (and round 4 has a proposer)
        let who = set.proposer(5, 4).address;
        parts.proposer = who;
        assert!(assemble(&parts, &chain(), &set, 1 << 20).is_err());

        let mut streams = PartStreams::new(1000);
        let big = build(
            &VigilSigner::new(key.clone(), chain()),
            &chain(),
            Round::new(0),
            Round::Nil,
            Address(key.account_id()),
            &block(5, key.account_id(), 100),
        );
        let mut complete = false;
        for m in stream(&big, &stream_id(Height(5), Round::new(0), 2)) {
            complete |= streams.insert(b"p".to_vec(), m).is_some();
        }
        assert!(!complete, "a stream above the byte limit is dropped");
    }
}
