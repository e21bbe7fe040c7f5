//! What travels on Vigil's gossip topics and how a message is judged before it is forwarded.
//!
//! Validation is a pure function of the bytes and the chain id, so every honest node reaches
//! the same verdict: a size limit per kind, a canonical borsh decode (no trailing bytes, one
//! encoding per value), the author's signature for this network, and the payload's own shape
//! checks. The message id is the BLAKE3 content id of the bytes, so a message is carried once
//! however many peers relay it.

use std::fmt;

use vigil_core::encoding::{decode, encode};
use vigil_core::{Alert, ChainId, ContentId, MAX_TX_BYTES, Report, Signed, SignedTx};

/// The gossip topics. Each carries one message type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GossipKind {
    /// Signed detector alerts ([`Signed<Alert>`]): the fast path for circuit breakers.
    Alert,
    /// Signed threat reports shared as intel ([`Signed<Report>`]).
    Intel,
    /// Signed ledger transactions ([`SignedTx`]), so a transaction sent to any validator
    /// reaches the proposer.
    Tx,
    /// Encrypted disclosures ([`DisclosureUpload`]), each on its protocol's own topic, which
    /// only the nodes serving that protocol subscribe to: the ciphertext reaches the
    /// protocol's nodes and no others.
    Disclosure,
}

impl GossipKind {
    /// Every kind every node subscribes to (disclosures travel on per-protocol topics).
    pub const ALL: [GossipKind; 3] = [GossipKind::Alert, GossipKind::Intel, GossipKind::Tx];

    /// The largest encoded message of this kind that is accepted.
    pub const fn max_bytes(self) -> usize {
        match self {
            Self::Alert => 64 * 1024,
            Self::Intel => 256 * 1024,
            Self::Tx => MAX_TX_BYTES,
            Self::Disclosure => {
                vigil_core::disclosure::MAX_CIPHERTEXT_BYTES + DISCLOSURE_TX_BYTES + 64
            }
        }
    }

    /// A short name, used in topic names and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Alert => "alerts",
            Self::Intel => "intel",
            Self::Tx => "txs",
            Self::Disclosure => "disclosures",
        }
    }

    /// The gossipsub topic of this kind on `chain_id`: nodes of different networks never share
    /// a topic.
    pub fn topic(self, chain_id: &ChainId) -> String {
        format!("/vigil/{}/{}/1", chain_id.as_str(), self.as_str())
    }
}

impl fmt::Display for GossipKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Largest `disclose` transaction carried with a ciphertext (it holds ids and amounts only).
const DISCLOSURE_TX_BYTES: usize = 4096;

/// The topic of `protocol`'s disclosures on `chain_id`.
pub fn disclosure_topic(chain_id: &ChainId, protocol: &vigil_core::ProtocolId) -> String {
    format!("/vigil/{}/disclosures/{}/1", chain_id.as_str(), protocol.as_str())
}

/// A signed `disclose` transaction with the encrypted report it names.
#[derive(Clone, Debug, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct DisclosureUpload {
    /// The researcher's signed `disclose` transaction.
    pub tx: SignedTx,
    /// The `age` ciphertext whose content id the transaction names.
    pub ciphertext: Vec<u8>,
}

impl DisclosureUpload {
    /// The protocol the disclosure is for, if the transaction is a `disclose`.
    pub fn protocol(&self) -> Option<&vigil_core::ProtocolId> {
        match &self.tx.tx.body {
            vigil_core::TxBody::Disclose { protocol, .. } => Some(protocol),
            _ => None,
        }
    }
}

/// A validated gossip message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GossipMessage {
    /// A signed alert.
    Alert(Signed<Alert>),
    /// Signed intel.
    Intel(Signed<Report>),
    /// A signed transaction.
    Tx(SignedTx),
    /// An encrypted disclosure for its protocol's nodes.
    Disclosure(DisclosureUpload),
}

impl GossipMessage {
    /// The topic this message travels on.
    pub fn kind(&self) -> GossipKind {
        match self {
            Self::Alert(_) => GossipKind::Alert,
            Self::Intel(_) => GossipKind::Intel,
            Self::Tx(_) => GossipKind::Tx,
            Self::Disclosure(_) => GossipKind::Disclosure,
        }
    }

    /// The topic it is published on: its kind's, or its protocol's for a disclosure.
    pub fn topic(&self, chain_id: &ChainId) -> String {
        match self {
            Self::Disclosure(d) => match d.protocol() {
                Some(p) => disclosure_topic(chain_id, p),
                None => self.kind().topic(chain_id),
            },
            other => other.kind().topic(chain_id),
        }
    }

    /// The canonical bytes sent on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Self::Alert(m) => encode(m),
            Self::Intel(m) => encode(m),
            Self::Tx(m) => encode(m),
            Self::Disclosure(m) => encode(m),
        }
    }

    /// The content id: the message id on the wire and the dedup key.
    pub fn content_id(&self) -> ContentId {
        ContentId::of_bytes(&self.to_bytes())
    }
}

/// Why a gossip message was rejected (and its forwarder penalised).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    /// Larger than the kind's limit.
    #[error("{kind} message is {len} bytes; at most {max} are accepted")]
    TooLarge {
        /// The topic.
        kind: GossipKind,
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not a valid encoding of the topic's type.
    #[error("{kind} message does not decode: {reason}")]
    Decode {
        /// The topic.
        kind: GossipKind,
        /// What the decoder said.
        reason: String,
    },
    /// Decodes, but not from its one canonical encoding.
    #[error("{0} message is not canonically encoded")]
    NotCanonical(GossipKind),
    /// Signed for another network.
    #[error("{kind} message is signed for chain {got}, this network is {expected}")]
    WrongChain {
        /// The topic.
        kind: GossipKind,
        /// The chain in the message.
        got: ChainId,
        /// This node's chain.
        expected: ChainId,
    },
    /// The signature does not verify.
    #[error("{0} message signature does not verify")]
    BadSignature(GossipKind),
    /// The payload breaks its type's limits.
    #[error("{kind} message is malformed: {reason}")]
    Malformed {
        /// The topic.
        kind: GossipKind,
        /// What is wrong.
        reason: String,
    },
}

fn decode_canonical<T>(kind: GossipKind, bytes: &[u8]) -> Result<T, RejectReason>
where
    T: borsh::BorshDeserialize + borsh::BorshSerialize,
{
    let value: T =
        decode(bytes).map_err(|e| RejectReason::Decode { kind, reason: e.to_string() })?;
    if encode(&value) != bytes {
        return Err(RejectReason::NotCanonical(kind));
    }
    Ok(value)
}

fn check_chain(kind: GossipKind, got: &ChainId, expected: &ChainId) -> Result<(), RejectReason> {
    if got != expected {
        return Err(RejectReason::WrongChain {
            kind,
            got: got.clone(),
            expected: expected.clone(),
        });
    }
    Ok(())
}

/// Judges the bytes of a message received on `kind`'s topic for `chain_id`.
pub fn validate(
    kind: GossipKind,
    bytes: &[u8],
    chain_id: &ChainId,
) -> Result<GossipMessage, RejectReason> {
    if bytes.len() > kind.max_bytes() {
        return Err(RejectReason::TooLarge { kind, len: bytes.len(), max: kind.max_bytes() });
    }
    let bad_signature = |_| RejectReason::BadSignature(kind);
    match kind {
        GossipKind::Alert => {
            let alert: Signed<Alert> = decode_canonical(kind, bytes)?;
            check_chain(kind, &alert.chain_id, chain_id)?;
            if alert.payload.confidence > 100 {
                return Err(RejectReason::Malformed {
                    kind,
                    reason: format!("confidence {} is above 100", alert.payload.confidence),
                });
            }
            alert.verify(chain_id).map_err(bad_signature)?;
            Ok(GossipMessage::Alert(alert))
        }
        GossipKind::Intel => {
            let intel: Signed<Report> = decode_canonical(kind, bytes)?;
            check_chain(kind, &intel.chain_id, chain_id)?;
            intel
                .payload
                .check_shape()
                .map_err(|e| RejectReason::Malformed { kind, reason: e.to_string() })?;
            intel.verify(chain_id).map_err(bad_signature)?;
            Ok(GossipMessage::Intel(intel))
        }
        GossipKind::Tx => {
            let tx: SignedTx = decode_canonical(kind, bytes)?;
            check_chain(kind, &tx.tx.chain_id, chain_id)?;
            if let vigil_core::TxBody::SubmitReport { report, .. } = &tx.tx.body {
                report
                    .check_shape()
                    .map_err(|e| RejectReason::Malformed { kind, reason: e.to_string() })?;
            }
            tx.verify().map_err(bad_signature)?;
            Ok(GossipMessage::Tx(tx))
        }
        GossipKind::Disclosure => {
            let upload: DisclosureUpload = decode_canonical(kind, bytes)?;
            check_chain(kind, &upload.tx.tx.chain_id, chain_id)?;
            let malformed = |reason: String| RejectReason::Malformed { kind, reason };
            let vigil_core::TxBody::Disclose { ciphertext, .. } = &upload.tx.tx.body else {
                return Err(malformed("the transaction is not a disclose".into()));
            };
            if upload.ciphertext.len() > vigil_core::disclosure::MAX_CIPHERTEXT_BYTES {
                return Err(malformed("the ciphertext is too large".into()));
            }
            if ContentId::of_bytes(&upload.ciphertext) != *ciphertext {
                return Err(malformed(
                    "the ciphertext is not the one the transaction names".into(),
                ));
            }
            upload.tx.verify().map_err(bad_signature)?;
            Ok(GossipMessage::Disclosure(upload))
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use vigil_core::{AlertKind, B256, EvmAddress, EvmChainId, Keypair, Severity, TxRef};

    use super::*;

    pub(crate) fn chain() -> ChainId {
        "vigil-gossip-test".parse().unwrap()
    }

    pub(crate) fn alert(n: u64, description_len: usize) -> Alert {
        Alert {
            detector: "flash-loan-exploit".into(),
            severity: Severity::Critical,
            kind: AlertKind::Exploit,
            confidence: 90,
            tx: TxRef {
                chain: EvmChainId::MAINNET,
                hash: B256([n as u8; 32]),
                from: EvmAddress([1; 20]),
                to: Some(EvmAddress([2; 20])),
                block: Some(n),
            },
            addresses: vec![EvmAddress([3; 20])],
            indicators: vec![],
            labels: vec![format!("n{n}")],
            description: "x".repeat(description_len),
            time: 0,
            metadata: Default::default(),
            detection: Vec::new(),
        }
    }

    pub(crate) fn signed_alert(key: &Keypair, n: u64) -> Signed<Alert> {
        Signed::sign(alert(n, 16), chain(), key)
    }

    #[test]
    fn accepts_a_signed_alert_and_rejects_every_kind_of_bad_one() {
        let key = Keypair::from_seed(&[5; 32]);
        let good = signed_alert(&key, 1);
        let bytes = encode(&good);
        assert_eq!(
            validate(GossipKind::Alert, &bytes, &chain()),
            Ok(GossipMessage::Alert(good.clone()))
        );

        let mut forged = good.clone();
        forged.payload.confidence = 10;
        assert_eq!(
            validate(GossipKind::Alert, &encode(&forged), &chain()),
            Err(RejectReason::BadSignature(GossipKind::Alert))
        );

        let other: ChainId = "vigil-other".parse().unwrap();
        let elsewhere = Signed::sign(alert(1, 16), other.clone(), &key);
        assert!(matches!(
            validate(GossipKind::Alert, &encode(&elsewhere), &chain()),
            Err(RejectReason::WrongChain { got, .. }) if got == other
        ));

        let big = Signed::sign(alert(1, 70 * 1024), chain(), &key);
        assert!(matches!(
            validate(GossipKind::Alert, &encode(&big), &chain()),
            Err(RejectReason::TooLarge { kind: GossipKind::Alert, .. })
        ));

        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            validate(GossipKind::Alert, &trailing, &chain()),
            Err(RejectReason::Decode { .. })
        ));
        // An alert on the transaction topic is not a transaction.
        assert!(matches!(
            validate(GossipKind::Tx, &bytes, &chain()),
            Err(RejectReason::Decode { kind: GossipKind::Tx, .. })
        ));
    }

    #[test]
    fn content_id_is_the_hash_of_the_wire_bytes() {
        let key = Keypair::from_seed(&[5; 32]);
        let msg = GossipMessage::Alert(signed_alert(&key, 2));
        assert_eq!(msg.content_id(), ContentId::of_bytes(&msg.to_bytes()));
        assert_eq!(msg.kind(), GossipKind::Alert);
        assert_eq!(GossipKind::Alert.topic(&chain()), "/vigil/vigil-gossip-test/alerts/1");
    }
}
